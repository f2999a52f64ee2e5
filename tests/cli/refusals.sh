#!/usr/bin/env bash
# Requests that cannot be met are refused with one line naming the cause, exit 1, and no output.
source "$(dirname "$0")/../lib.sh"
in="$ESEAL_SOURCE_DIR/samples/licence.pdf"
key=(--key "$PKI/rsa2048.key" --cert "$PKI/rsa2048.pem")
o="$tmp/out.pdf"
openssl genrsa -out "$tmp/rsa1024.key" 1024 2>/dev/null
openssl req -new -x509 -key "$tmp/rsa1024.key" -subj /CN=weak -days 30 -out "$tmp/rsa1024.pem" 2>/dev/null
openssl req -new -x509 -key "$PKI/rsa2048.key" -subj /CN=certsign-only -days 30 \
    -addext "keyUsage=critical,keyCertSign" -out "$tmp/ku.pem" 2>/dev/null
echo "not-the-password" >"$tmp/wrong.txt"

refused "expired" "$o" "$ESEAL" sign "$in" "$o" --key "$PKI/expired.key" --cert "$PKI/expired.pem"
refused "does not belong" "$o" "$ESEAL" sign "$in" "$o" --key "$PKI/rsa2048.key" --cert "$PKI/rsa3072.pem"
refused "password is needed" "$o" "$ESEAL" sign "$in" "$o" --key "$PKI/rsa2048-enc.key" --cert "$PKI/rsa2048.pem"
refused "wrong password" "$o" "$ESEAL" sign "$in" "$o" --key "$PKI/rsa2048-enc.key" --cert "$PKI/rsa2048.pem" --pass-file "$tmp/wrong.txt"
refused "wrong password" "$o" "$ESEAL" sign "$in" "$o" --key "$PKI/rsa2048.p12" --pass-file "$tmp/wrong.txt"
refused "too weak" "$o" "$ESEAL" sign "$in" "$o" --key "$tmp/rsa1024.key" --cert "$tmp/rsa1024.pem"
refused "key usage" "$o" "$ESEAL" sign "$in" "$o" --key "$PKI/rsa2048.key" --cert "$tmp/ku.pem"
refused "private key" "$o" "$ESEAL" sign "$in" "$o" --key "$in" --cert "$PKI/rsa2048.pem"
refused "no certificate" "$o" "$ESEAL" sign "$in" "$o" --key "$PKI/rsa2048.key" --cert "$PKI/rsa2048.key"
refused "No such file" "$o" "$ESEAL" sign "$tmp/missing.pdf" "$o" "${key[@]}"
refused "not a PNG" "$o" "$ESEAL" sign "$in" "$o" "${key[@]}" --page 1 --rect 10,10,40,40 --image "$in"
refused "page 5 does not exist" "$o" "$ESEAL" sign "$in" "$o" "${key[@]}" --page 5 --rect 10,10,40,40
refused "positive width" "$o" "$ESEAL" sign "$in" "$o" "${key[@]}" --page 1 --rect 10,10,0,40
refused "no field named" "$o" "$ESEAL" sign "$in" "$o" "${key[@]}" --field nosuchfield
refused "not a signature field" "$o" "$ESEAL" sign "$CORPUS/inputs/p06_appform_lo_acroform.pdf" "$o" "${key[@]}" --field applicant
refused "No such file" "$tmp/nodir/out.pdf" "$ESEAL" sign "$in" "$tmp/nodir/out.pdf" "${key[@]}"

# A failed run leaves an existing output file as it was.
echo "previous content" >"$o"
"$ESEAL" sign "$in" "$o" --key "$PKI/expired.key" --cert "$PKI/expired.pem" 2>/dev/null &&
    fail "expired certificate accepted"
[ "$(cat "$o")" = "previous content" ] && pass "existing output untouched by a failed run" ||
    fail "a failed run changed the existing output"
rm -f "$o"

# Certification rules (ISO 32000-2 12.8.2.2).
sign "$in" "$tmp/p1.pdf" "${key[@]}" --certify 1 || fail "certify P=1"
refused "no changes allowed" "$o" "$ESEAL" sign "$tmp/p1.pdf" "$o" "${key[@]}"
sign "$in" "$tmp/a.pdf" "${key[@]}" || fail "approval"
refused "first signature" "$o" "$ESEAL" sign "$tmp/a.pdf" "$o" "${key[@]}" --certify 2
finish
