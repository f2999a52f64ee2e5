#!/usr/bin/env bash
# eseal verify on files made here: eseal's own signatures pass with the test root as anchor
# (and poppler and OpenSSL agree they hold); each kind of change made after signing is caught
# and named (pdf_tamper appends it with eseal's own update writer), while a save that changes
# nothing is not; broken bytes, wrong anchors, encryption, batches, JSON and exit statuses.
source "$(dirname "$0")/../lib.sh"
in="$ESEAL_SOURCE_DIR/samples/licence.pdf"
rsa=(--key "$PKI/rsa2048.key" --cert "$PKI/rsa2048.pem" --chain "$PKI/chain.pem")
ec=(--key "$PKI/ec256.key" --cert "$PKI/ec256.pem" --chain "$PKI/ec-chain.pem")
trust=(--trust "$PKI/root-ca.pem")

# v FILE [OPTIONS...] : eseal verify --json into $tmp/v.json; sets $rc
v() {
    local f=$1
    shift
    rc=0
    "$ESEAL" verify --json -q "$@" "$f" >"$tmp/v.json" 2>"$tmp/v.err" || rc=$?
}
# is JQ_EXPR LABEL : the last report satisfies JQ_EXPR
is() {
    if jq -e "$1" "$tmp/v.json" >/dev/null 2>&1; then
        pass "$2"
    else
        fail "$2: $1 does not hold for $(cat "$tmp/v.json") $(cat "$tmp/v.err")"
    fi
}
exit_is() { [ "$rc" -eq "$1" ] && pass "$2: exit $rc" || fail "$2: exit $rc, want $1"; }

# ---- eseal's own signatures
sign "$in" "$tmp/signed.pdf" "${rsa[@]}" --reason "Approved" --page 1 --rect 120,40,42,42 \
    --image "$SEAL_PNG" || fail "sign"
pdfsig_check "$tmp/signed.pdf" 1
openssl_verify "$tmp/signed.pdf"
v "$tmp/signed.pdf" "${trust[@]}"
exit_is 0 "own signature, trusted root"
is '.indication == "TOTAL_PASSED" and .sub_indication == null and (.signatures | length) == 1' \
    "TOTAL_PASSED"
is '.signatures[0] | .integrity and .coverage == "entire_file" and .modifications == [] and
    .chain_trusted and (.signer | test("rsa2048")) and .signing_time_source == "claimed" and
    (.signing_time | test("^20[0-9][0-9]-")) and .reason == "Approved" and .field == "Signature1"
    and .indication == "TOTAL_PASSED" and .errors == []' "signature details"
is '.file and .signatures[0].sub_indication == null and .errors == []' "JSON keys"

v "$tmp/signed.pdf"
exit_is 1 "no anchor"
is '.indication == "INDETERMINATE" and .signatures[0].sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"
    and .signatures[0].integrity' "no anchor: INDETERMINATE, NO_CERTIFICATE_CHAIN_FOUND, intact"
v "$tmp/signed.pdf" --trust "$PKI/ec-root-ca.pem"
is '.signatures[0].sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"' "another root is no anchor"

# the table names the verdict and the signer
out=$("$ESEAL" verify "${trust[@]}" "$tmp/signed.pdf" 2>&1) || true
grep -q "TOTAL_PASSED" <<<"$out" && grep -q "eseal test signer rsa2048" <<<"$out" &&
    pass "table" || fail "table: $out"

# a second signature (ECDSA) over the first: both pass, the first signs revision 2 of 3
sign "$tmp/signed.pdf" "$tmp/signed2.pdf" "${ec[@]}" || fail "second signature"
pdfsig_check "$tmp/signed2.pdf" 2
v "$tmp/signed2.pdf" "${trust[@]}" --trust "$PKI/ec-root-ca.pem"
exit_is 0 "two signatures"
is '[.signatures[].indication] == ["TOTAL_PASSED", "TOTAL_PASSED"] and
    [.signatures[].coverage] == ["entire_revision", "entire_file"] and
    .signatures[0].revision == 2 and .revisions == 3 and
    ([.signatures[].modifications | length] | add) == 0' "two signatures pass"

# a stamped licence (template: seal, fog, QR code, watermark, signature)
"$ESEAL" stamp "$in" "$tmp/stamped.pdf" --template "$ESEAL_SOURCE_DIR/templates/export-licence.json" \
    --seal-image "$BUREAU_PNG" "${rsa[@]}" --qr-key "$PKI/ec256.key" -q \
    --set licence_id=1.2.156.3005.2.11100000000013338W011.11990000MB0001234L.20240000128.001.A \
    --set enterprise=示例科技有限公司 --set credit_code=91990000MA0000001B \
    --set valid_from=2024-03-15 --set valid_to=2024-12-31 || fail "stamp"
v "$tmp/stamped.pdf" "${trust[@]}"
exit_is 0 "stamped licence"
is '.indication == "TOTAL_PASSED"' "stamped licence passes"

# ---- changes after signing
tamper() { # MODE IN OUT
    "$PDF_TAMPER" "$1" "$2" "$3" || fail "pdf_tamper $1"
}
tamper content "$tmp/signed.pdf" "$tmp/content.pdf"
# poppler only says the signature no longer covers the whole file; it still calls it valid
pdfsig "$tmp/content.pdf" 2>&1 | grep -q "Signature is Valid" || fail "pdfsig on content.pdf"
v "$tmp/content.pdf" "${trust[@]}"
exit_is 1 "content changed"
is '.indication == "TOTAL_FAILED" and .signatures[0].integrity and
    .signatures[0].coverage == "entire_revision" and
    ([.signatures[0].modifications[] | select(.kind == "content_changed" and .page == 1 and
      .revision == 3)] | length) > 0' "content change found on page 1, revision 3"

tamper annot "$tmp/signed.pdf" "$tmp/annot.pdf"
v "$tmp/annot.pdf" "${trust[@]}"
is '.indication == "TOTAL_FAILED" and
    ([.signatures[0].modifications[] | select(.kind == "annotation_added" and .page == 1)] |
     length) > 0' "annotation added"

tamper page "$tmp/signed.pdf" "$tmp/page.pdf"
v "$tmp/page.pdf" "${trust[@]}"
is '[.signatures[0].modifications[] | select(.kind == "page_added" and .page == 2)] | length == 1' \
    "page 2 added"

tamper reason "$tmp/signed.pdf" "$tmp/reason.pdf"
v "$tmp/reason.pdf" "${trust[@]}"
is '.indication == "TOTAL_FAILED" and .signatures[0].reason == "Approved" and
    ([.signatures[0].modifications[] | select(.kind == "signature_dictionary_changed" and
      (.detail | test("Reason")))] | length) == 1' \
    "rewritten /Reason: reported, and the signed one shown"

# an unsigned signature field that draws content ("sneaky signature")
tamper sneaky "$tmp/signed.pdf" "$tmp/sneaky.pdf"
v "$tmp/sneaky.pdf" "${trust[@]}"
is '.indication == "TOTAL_FAILED" and ([.signatures[0].modifications[] |
    select(.kind == "field_added" and (.detail | test("never signed")))] | length) == 1' \
    "unsigned signature field with an appearance"

tamper noop "$tmp/signed.pdf" "$tmp/noop.pdf"
v "$tmp/noop.pdf" "${trust[@]}"
exit_is 0 "a save that changes nothing"
is '.indication == "TOTAL_PASSED" and .signatures[0].coverage == "entire_revision"' \
    "no-op save passes"

# an update that only points page 1's object number back at its first version's bytes
tamper content "$in" "$tmp/pre.pdf"
sign "$tmp/pre.pdf" "$tmp/pre-signed.pdf" "${rsa[@]}" || fail "sign pre.pdf"
tamper repoint "$tmp/pre-signed.pdf" "$tmp/repoint.pdf"
v "$tmp/repoint.pdf" "${trust[@]}"
is '.indication == "TOTAL_FAILED" and ([.signatures[0].modifications[] |
    select(.kind == "content_changed" and .page == 1)] | length) > 0' \
    "re-pointed object number caught"

cp "$tmp/signed.pdf" "$tmp/trailing.pdf"
printf '4 0 obj\n<</Type/Page>>\nendobj\n' >>"$tmp/trailing.pdf"
v "$tmp/trailing.pdf" "${trust[@]}"
is '.indication == "TOTAL_FAILED" and .unsigned_trailing_bytes > 0 and
    ([.signatures[0].modifications[] | select(.kind == "unsigned_trailing_bytes")] | length) == 1' \
    "unsigned trailing bytes"
# white space after %%EOF is not a change
cp "$tmp/signed.pdf" "$tmp/ws.pdf"
printf '\n\n  \n' >>"$tmp/ws.pdf"
v "$tmp/ws.pdf" "${trust[@]}"
is '.indication == "TOTAL_PASSED" and .unsigned_trailing_bytes == 0' "trailing white space"

# certification: P=1 forbids everything but validation data
sign "$in" "$tmp/cert1.pdf" "${rsa[@]}" --certify 1 || fail "certify"
v "$tmp/cert1.pdf" "${trust[@]}"
is '.indication == "TOTAL_PASSED" and .signatures[0].type == "certification" and
    .signatures[0].docmdp == 1' "certified P=1"
tamper annot "$tmp/cert1.pdf" "$tmp/cert1-annot.pdf"
v "$tmp/cert1-annot.pdf" "${trust[@]}"
is '.indication == "TOTAL_FAILED"' "P=1 then an annotation"
# P=3 permits annotations: listed as permitted, not as modifications
sign "$in" "$tmp/cert3.pdf" "${rsa[@]}" --certify 3 || fail "certify 3"
tamper annot "$tmp/cert3.pdf" "$tmp/cert3-annot.pdf"
v "$tmp/cert3-annot.pdf" "${trust[@]}"
is '.indication == "TOTAL_PASSED" and .signatures[0].modifications == [] and
    ([.signatures[0].permitted_changes[] | select(.kind == "annotation_added")] | length) > 0' \
    "P=3 then an annotation: permitted"

# ---- broken bytes
# one byte inside the first signed range (in the middle of the original file's streams)
v "$tmp/signed.pdf" "${trust[@]}"
off=$(jq '.signatures[0].byte_range[1] / 2 | floor' "$tmp/v.json")
cp "$tmp/signed.pdf" "$tmp/flip.pdf"
byte=$(dd if="$tmp/flip.pdf" bs=1 skip="$off" count=1 status=none | od -An -tu1 | xargs)
printf "\\$(printf %o $(((byte + 1) % 256)))" |
    dd of="$tmp/flip.pdf" bs=1 seek="$off" conv=notrunc status=none
cmp -s "$tmp/signed.pdf" "$tmp/flip.pdf" && fail "the byte was not changed"
v "$tmp/flip.pdf" "${trust[@]}"
exit_is 1 "a changed byte"
is '.signatures[0] | .indication == "TOTAL_FAILED" and .sub_indication == "HASH_FAILURE" and
    .integrity == false' "a changed byte: HASH_FAILURE"
# one byte of the signature dictionary itself (its /M date)
cp "$tmp/signed.pdf" "$tmp/flip2.pdf"
off=$(grep -a -b -o '/M (D:' "$tmp/flip2.pdf" | tail -1 | cut -d: -f1)
printf '9' | dd of="$tmp/flip2.pdf" bs=1 seek=$((off + 6)) conv=notrunc status=none
v "$tmp/flip2.pdf" "${trust[@]}"
is '.signatures[0] | .indication == "TOTAL_FAILED" and .integrity == false' \
    "a changed byte in the signature dictionary"
head -c 1000 "$in" >"$tmp/cut.pdf"
v "$tmp/cut.pdf"
exit_is 1 "a truncated file"
is '.indication == "TOTAL_FAILED" and .sub_indication == "FORMAT_FAILURE" and (.errors | length) > 0' \
    "truncated: FORMAT_FAILURE with a cause"
printf 'just text\n' >"$tmp/text.pdf"
v "$tmp/text.pdf"
is '.indication == "TOTAL_FAILED" and (.errors[0] | test("not a PDF"))' "not a PDF"
v "$in"
exit_is 1 "unsigned document"
is '.indication == "NO_SIGNATURE" and .signatures == []' "unsigned: NO_SIGNATURE"

# a revoked signer whose certificate points to CRL and OCSP services, checked offline
sign "$in" "$tmp/revoked.pdf" --key "$PKI/revoked.key" --cert "$PKI/revoked.pem" \
    --chain "$PKI/chain.pem" || fail "sign with the revoked signer"
v "$tmp/revoked.pdf" "${trust[@]}"
is '.signatures[0] | .indication == "INDETERMINATE" and .sub_indication == "TRY_LATER" and
    .revocation == "unknown"' "revocation unknown offline: TRY_LATER"

# ---- encrypted documents
qpdf --encrypt "" owner-pw 256 -- "$in" "$tmp/aes.pdf"
sign "$tmp/aes.pdf" "$tmp/aes-signed.pdf" "${rsa[@]}" --reason "Encrypted" || fail "sign aes"
v "$tmp/aes-signed.pdf" "${trust[@]}"
is '.indication == "TOTAL_PASSED" and .encrypted and .signatures[0].reason == "Encrypted"' \
    "AES-256, empty user password"
tamper content "$tmp/aes-signed.pdf" "$tmp/aes-content.pdf"
v "$tmp/aes-content.pdf" "${trust[@]}"
is '.indication == "TOTAL_FAILED" and ([.signatures[0].modifications[] |
    select(.kind == "content_changed")] | length) > 0' "AES-256: content change found"
qpdf --encrypt user-pw owner-pw 256 -- "$in" "$tmp/upw.pdf"
printf 'user-pw\n' >"$tmp/pw.txt"
sign "$tmp/upw.pdf" "$tmp/upw-signed.pdf" "${rsa[@]}" --doc-pass-file "$tmp/pw.txt" ||
    fail "sign upw"
v "$tmp/upw-signed.pdf" "${trust[@]}"
is '.indication == "INDETERMINATE" and (.errors[0] | test("password"))' "user password needed"
v "$tmp/upw-signed.pdf" "${trust[@]}" --pass-file "$tmp/pw.txt"
is '.indication == "TOTAL_PASSED"' "--pass-file opens it"

# ---- batches: directories, order, JSON lines, jobs
mkdir -p "$tmp/dir/sub"
cp "$tmp/signed.pdf" "$tmp/dir/a.pdf"
cp "$tmp/content.pdf" "$tmp/dir/sub/b.pdf"
cp "$tmp/text.pdf" "$tmp/dir/c.pdf"
cp "$tmp/signed2.pdf" "$tmp/dir/sub/d.PDF"
printf 'not looked at\n' >"$tmp/dir/notes.txt"
for j in 1 2; do
    rc=0
    "$ESEAL" verify --json -j "$j" "${trust[@]}" --trust "$PKI/ec-root-ca.pem" "$tmp/dir" \
        >"$tmp/batch.json" 2>/dev/null || rc=$?
    exit_is 1 "batch --jobs $j"
    got=$(jq -r '"\(.file | sub(".*/dir/"; "")) \(.indication)"' "$tmp/batch.json" | xargs)
    want="a.pdf TOTAL_PASSED c.pdf TOTAL_FAILED sub/b.pdf TOTAL_FAILED sub/d.PDF TOTAL_PASSED"
    [ "$got" = "$want" ] && pass "batch --jobs $j: one line per file, in order" ||
        fail "batch --jobs $j: got '$got', want '$want'"
done
rc=0
"$ESEAL" verify -q -j 2 "${trust[@]}" "$tmp/dir/a.pdf" "$tmp/signed.pdf" >"$tmp/pass.txt" 2>&1 ||
    rc=$?
exit_is 0 "every document passed"
rc=0
"$ESEAL" verify "$tmp/missing.pdf" >/dev/null 2>&1 || rc=$?
exit_is 2 "a missing file"
rc=0
"$ESEAL" verify --trust "$tmp/missing.pem" "$tmp/signed.pdf" >/dev/null 2>&1 || rc=$?
exit_is 2 "an unreadable anchor"
rc=0
"$ESEAL" verify >/dev/null 2>&1 || rc=$?
exit_is 2 "no file"
finish
