#!/usr/bin/env bash
# autoseal batch: a folder stamped and signed by several workers, one line per failed file and
# the batch goes on, a summary, idempotent reruns, atomic outputs.
source "$(dirname "$0")/../lib.sh"
T="$ESEAL_SOURCE_DIR/templates/export-licence.json"
id=1.2.156.3005.2.11100000000013338W011.11990000MB0001234L.20240000128.001.A
mkdir -p "$tmp/in"
for i in 01 02 03 04 05 06 07 08 09 10; do cp "$ESEAL_SOURCE_DIR/samples/licence.pdf" "$tmp/in/lic$i.pdf"; done
cp "$CORPUS/inputs/p14_licence_rotate90.pdf" "$tmp/in/lic11.pdf"
printf 'not a pdf\n' >"$tmp/in/broken.pdf"
printf 'ignored\n' >"$tmp/in/notes.txt"
{
    printf '{"file": "broken.pdf", "licence_id": "%s", "enterprise": "x", "credit_code": "91990000MA0000001B", "valid_from": "2024-03-15", "valid_to": "2024-12-31"}\n' "$id"
    for i in 01 02 03 04 05 06 07 08 09 11; do
        printf '{"file": "lic%s.pdf", "licence_id": "%s", "enterprise": "示例企业 %s", "credit_code": "91990000MA0000001B", "valid_from": "2024-03-15", "valid_to": "2024-12-31"}\n' "$i" "$id" "$i"
    done
    # lic10: a licence identifier whose check character is wrong
    printf '{"file": "lic10.pdf", "licence_id": "%sB", "enterprise": "x", "credit_code": "91990000MA0000001B", "valid_from": "2024-03-15", "valid_to": "2024-12-31"}\n' "${id%A}"
} >"$tmp/meta.jsonl"
batch() {
    "$AUTOSEAL" batch "$tmp/in" "$tmp/out" --template "$T" --seal-image "$BUREAU_PNG" \
        --key "$PKI/rsa2048.key" --cert "$PKI/rsa2048.pem" --qr-key "$PKI/ec256.key" \
        --meta "$tmp/meta.jsonl" --jobs 3 "$@"
}
rc=0
batch >"$tmp/o1" 2>"$tmp/e1" || rc=$?
[ "$rc" -eq 1 ] && pass "exit 1 when a file failed" || fail "exit $rc with failures"
grep -q "12 file(s): 10 sealed, 0 skipped (already sealed), 2 failed" "$tmp/o1" &&
    pass "summary: $(cat "$tmp/o1")" || fail "summary: $(cat "$tmp/o1")"
grep -q "lic10.pdf: .*check character" "$tmp/e1" && grep -q "broken.pdf: .*not a PDF" "$tmp/e1" &&
    [ "$(grep -c . "$tmp/e1")" -eq 2 ] && pass "one line per failed file" ||
    fail "failure lines: $(cat "$tmp/e1")"
[ -e "$tmp/out/lic10.pdf" ] || [ -e "$tmp/out/broken.pdf" ] && fail "a failed file left an output"
ls "$tmp/out" | grep -v -E '^lic(0[1-9]|11)\.pdf$' | grep -q . && fail "stray files: $(ls "$tmp/out")"
for f in lic01 lic07 lic11; do
    pdfsig_check "$tmp/out/$f.pdf" 1 && prefix_kept "$tmp/in/$f.pdf" "$tmp/out/$f.pdf" || fail "$f"
done
pass "outputs valid"

# A rerun skips what is done and retries what failed.
before=$(stat -c %Y "$tmp/out/lic01.pdf")
sleep 1
rc=0
batch >"$tmp/o2" 2>"$tmp/e2" || rc=$?
grep -q "12 file(s): 0 sealed, 10 skipped (already sealed), 2 failed" "$tmp/o2" &&
    [ "$(stat -c %Y "$tmp/out/lic01.pdf")" = "$before" ] && pass "rerun skips sealed files" ||
    fail "rerun: $(cat "$tmp/o2")"
# A changed input is sealed again.
cp "$CORPUS/inputs/p20_licence_lo_letter.pdf" "$tmp/in/lic02.pdf"
batch -q >"$tmp/o3" 2>/dev/null || true
grep -q "1 sealed, 9 skipped" "$tmp/o3" && prefix_kept "$tmp/in/lic02.pdf" "$tmp/out/lic02.pdf" &&
    pass "a changed input is sealed again" || fail "changed input: $(cat "$tmp/o3")"

# An output cut short (a crash before its group of files was synced) is not taken for sealed.
size=$(stat -c %s "$tmp/out/lic03.pdf")
truncate -s $((size - 100)) "$tmp/out/lic03.pdf"
batch -q >"$tmp/o5" 2>/dev/null || true
grep -q "1 sealed, 9 skipped" "$tmp/o5" && pdfsig_check "$tmp/out/lic03.pdf" 1 &&
    pass "a truncated output is sealed again" || fail "truncated output: $(cat "$tmp/o5")"

# The key is the key process's: a key that cannot be read fails the batch, said once per worker,
# and no file is written.
rc=0
"$AUTOSEAL" batch "$tmp/in" "$tmp/out2" --template "$T" --seal-image "$BUREAU_PNG" \
    --key "$PKI/rsa2048-enc.key" --cert "$PKI/rsa2048.pem" --jobs 2 >"$tmp/o4" 2>"$tmp/e4" || rc=$?
[ "$rc" -eq 1 ] && grep -q "password is needed" "$tmp/e4" && [ -z "$(ls "$tmp/out2")" ] &&
    pass "unreadable key: $(head -1 "$tmp/e4")" || fail "unreadable key: exit $rc, $(cat "$tmp/e4")"
# Usage errors.
rc=0
"$AUTOSEAL" batch "$tmp/in" --template "$T" --key "$PKI/rsa2048.key" 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] && pass "usage error exit 2" || fail "usage error exit $rc"
finish
