# Shared by the end-to-end test scripts. Sourced; expects from ctest's environment:
#   ESEAL (the eseal binary), PKI (tests/pki/make-pki.sh output), SEAL_PNG, FIND_RED,
#   CORPUS (../shared/corpus), TEST_TMP (a scratch directory for this test).
set -euo pipefail

fails=0
tmp=$(mktemp -d "${TEST_TMP:-/tmp}/t.XXXXXX")
cleanup() { if [ "$fails" -eq 0 ]; then rm -rf "$tmp"; else echo "kept $tmp"; fi; }
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }
finish() {
    if [ "$fails" -ne 0 ]; then
        echo "$fails check(s) failed" >&2
        exit 1
    fi
    echo "all checks passed"
}

# sign IN OUT ARGS... : runs eseal sign with the RSA-2048 test signer unless ARGS name a key.
sign() {
    local in=$1 out=$2
    shift 2
    "$ESEAL" sign "$in" "$out" -q "$@"
}

# pdfsig_check FILE N : poppler's pdfsig sees exactly N signed signature fields, every one "Signature is
# Valid.", the last one "Total document signed" and the earlier ones not.
pdfsig_check() {
    local f=$1 n=$2 out
    out=$(pdfsig "$f" 2>&1) || true
    local count valid total nottotal
    # fields without a value (an empty signature field) are listed without a validation line
    count=$(grep -c 'Signature Validation:' <<<"$out" || true)
    valid=$(grep -c 'Signature Validation: Signature is Valid\.' <<<"$out" || true)
    total=$(grep -c '  - Total document signed' <<<"$out" || true)
    nottotal=$(grep -c 'Not total document signed' <<<"$out" || true)
    if [ "$count" -ne "$n" ] || [ "$valid" -ne "$n" ] || [ "$total" -ne 1 ] ||
        [ "$nottotal" -ne $((n - 1)) ]; then
        fail "pdfsig on $(basename "$f"): $count signatures, $valid valid, $total total, $nottotal not total (want $n, $n, 1, $((n - 1)))"
        echo "$out" | sed 's/^/    /' >&2
        return 1
    fi
    # the last block is the one that covers the whole file
    if ! awk '/^Signature #/{last=""} {last=last"\n"$0} END{print last}' <<<"$out" |
        grep -q '  - Total document signed'; then
        fail "pdfsig on $(basename "$f"): the last signature does not cover the whole file"
        return 1
    fi
    return 0
}

# qpdf_check FILE : qpdf --check finds no errors and no warnings.
qpdf_check() {
    local out rc=0
    out=$(qpdf --check "$1" 2>&1) || rc=$?
    if [ "$rc" -ne 0 ] || ! grep -q 'No syntax or stream encoding errors found' <<<"$out"; then
        fail "qpdf --check $(basename "$1") (exit $rc)"
        echo "$out" | tail -5 | sed 's/^/    /' >&2
        return 1
    fi
    return 0
}

# prefix_kept IN OUT : OUT begins with every byte of IN (an incremental update, not a rewrite).
prefix_kept() {
    local size
    size=$(stat -c %s "$1")
    if ! cmp -s -n "$size" "$1" "$2"; then
        fail "$(basename "$2") does not begin with the bytes of $(basename "$1")"
        return 1
    fi
    return 0
}

# refused EXPECT_TEXT OUT CMD... : CMD exits non-zero with one line on stderr containing
# EXPECT_TEXT (case-insensitive), and OUT does not exist afterwards. Records a failure and
# returns 0 either way, so a script goes on to its other checks.
refused() {
    local expect=$1 out=$2 err rc=0
    shift 2
    err=$("$@" 2>&1 >/dev/null) || rc=$?
    if [ "$rc" -eq 0 ]; then
        fail "expected a refusal ($expect) from: $*"
        return 0
    fi
    if [ "$(printf '%s\n' "$err" | grep -c .)" -ne 1 ]; then
        fail "expected one line on stderr, got: $err"
        return 0
    fi
    if ! grep -qi -- "$expect" <<<"$err"; then
        fail "message does not name '$expect': $err"
        return 0
    fi
    if [ -e "$out" ]; then
        fail "a refused run left $out behind"
        return 0
    fi
    if ls "$out".* >/dev/null 2>&1; then
        fail "a refused run left a temporary file next to $out"
        return 0
    fi
    pass "refused ($err)"
    return 0
}

# seal_at FILE BEFORE X Y W H : rendered for the screen by pdftoppm (crop box, page 1), the red
# ink that FILE has and BEFORE had not lies in the rectangle given in mm from the lower-left
# corner as the reader sees the page, within 1.5 mm, and fills most of it.
seal_at() {
    local f=$1 before=$2 x=$3 y=$4 w=$5 h=$6 got
    pdftoppm -cropbox -r 100 -png -singlefile -f 1 -l 1 "$f" "$tmp/after" &&
        pdftoppm -cropbox -r 100 -png -singlefile -f 1 -l 1 "$before" "$tmp/before" ||
        { fail "pdftoppm $f"; return 1; }
    got=$("$FIND_RED" "$tmp/after.png" 100 "$tmp/before.png")
    if ! awk -v g="$got" -v x="$x" -v y="$y" -v w="$w" -v h="$h" 'BEGIN {
            split(g, a, " "); if (a[1] == "none") exit 1;
            d = 1.5;
            ok = (a[1] >= x - d && a[2] >= y - d && a[3] <= x + w + d && a[4] <= y + h + d &&
                  a[3] - a[1] > w * 0.8 && a[4] - a[2] > h * 0.8);
            exit ok ? 0 : 1 }'; then
        fail "seal of $(basename "$f") is at [$got], expected x=$x y=$y w=$w h=$h (mm)"
        return 1
    fi
    return 0
}

# openssl_verify FILE [CAFILE] : the last signature of FILE, checked by OpenSSL rather than by us
# or poppler: the CMS from /Contents over the bytes /ByteRange names, the chain to CAFILE.
openssl_verify() {
    local f=$1 ca=${2:-$PKI/root-ca.pem} range a b c d
    range=$(grep -a -o '/ByteRange *\[ *[0-9]* *[0-9]* *[0-9]* *[0-9]* *\]' "$f" | tail -1 |
        tr -dc '0-9 ' | xargs)
    read -r a b c d <<<"$range"
    { head -c "$b" "$f"; tail -c +"$((c + 1))" "$f" | head -c "$d"; } >"$tmp/signed.bin"
    rm -f "$tmp"/dump.pdf.sig*
    cp "$f" "$tmp/dump.pdf"
    (cd "$tmp" && pdfsig -dump dump.pdf >/dev/null 2>&1) || true
    local sig
    sig=$(ls "$tmp"/dump.pdf.sig* 2>/dev/null | sort -V | tail -1)
    if [ -z "$sig" ]; then
        fail "pdfsig -dump found no signature in $(basename "$f")"
        return 1
    fi
    if ! openssl cms -verify -binary -inform DER -in "$sig" -content "$tmp/signed.bin" \
        -CAfile "$ca" -purpose any -out /dev/null 2>"$tmp/ossl.err"; then
        fail "openssl cms -verify on $(basename "$f"): $(cat "$tmp/ossl.err")"
        return 1
    fi
    return 0
}
