#!/usr/bin/env bash
# The RFC 3161 TSA behind a real nginx (deploy/start.sh), judged by OpenSSL's own client
# (openssl ts -query / -reply / -verify) and curl; and eseal's client (eseal timestamp ->
# crypto_tsa_request) against our TSA and against OpenSSL's TSA (openssl ts -reply behind a
# small HTTP server, tests/tools/openssl_tsa.py), including answers it must refuse.
source "$(dirname "$0")/../lib.sh"

bin=$(dirname "$ESEAL")
run=$tmp/run
ots_pid=""
shutdown() {
    "$ESEAL_SOURCE_DIR/deploy/stop.sh" "$run" >/dev/null 2>&1 || true
    if [ -n "$ots_pid" ]; then kill "$ots_pid" 2>/dev/null || true; fi
    cleanup
}
trap shutdown EXIT

url=$("$ESEAL_SOURCE_DIR/deploy/start.sh" --run "$run" --port auto --tsa-cert "$PKI/tsa.pem" \
    --tsa-key "$PKI/tsa.key" --tsa-chain "$PKI/issuing-ca.pem" --bin "$bin") ||
    { fail "deploy/start.sh did not start"; finish; }
pass "started at $url"
tsa=$url/tsa
cd "$tmp"
printf 'a document to time-stamp\n' >data.txt
printf 'another document\n' >other.txt

# post QUERY OUT: POSTs a query as RFC 3161 3.4 says; prints the HTTP status
post() {
    curl -s -o "$2" -w '%{http_code}' -H 'Content-Type: application/timestamp-query' \
        --data-binary @"$1" "$tsa"
}

# --- OpenSSL's client against our TSA
openssl ts -query -data data.txt -sha256 -cert -out q.tsq 2>/dev/null
code=$(post q.tsq r.tsr)
[ "$code" = 200 ] && pass "a query answered 200" || fail "a query answered $code"
ctype=$(curl -s -o /dev/null -w '%{content_type}' -H 'Content-Type: application/timestamp-query' \
    --data-binary @q.tsq "$tsa")
[ "$ctype" = application/timestamp-reply ] && pass "content type $ctype" ||
    fail "content type '$ctype', not application/timestamp-reply"
text=$(openssl ts -reply -in r.tsr -text 2>/dev/null || true)
grep -q 'Status: Granted\.' <<<"$text" && pass "granted" || fail "not granted: $text"
grep -q 'Policy OID: 2\.25\.' <<<"$text" && pass "our policy" || fail "policy: $text"
grep -q 'Accuracy: 0x01 seconds' <<<"$text" && pass "accuracy 1 s" || fail "accuracy: $text"
grep -q 'Ordering: no' <<<"$text" || fail "ordering is not false"
serial=$(sed -n 's/^Serial number: 0x//p' <<<"$text")
[ ${#serial} -ge 30 ] && pass "128-bit serial $serial" || fail "serial '$serial' is not 128 bits"

out=$(openssl ts -verify -data data.txt -in r.tsr -CAfile "$PKI/root-ca.pem" \
    -untrusted "$PKI/issuing-ca.pem" 2>&1 || true)
grep -q '^Verification: OK' <<<"$out" && pass "openssl ts -verify: OK" ||
    fail "openssl ts -verify: $out"
out=$(openssl ts -verify -data other.txt -in r.tsr -CAfile "$PKI/root-ca.pem" \
    -untrusted "$PKI/issuing-ca.pem" 2>&1 || true)
grep -q '^Verification: OK' <<<"$out" && fail "a token verified for other data" ||
    pass "other data fails verification"
# RFC 5816: signing-certificate-v2 in the token's signed attributes
openssl ts -reply -in r.tsr -token_out -out tok.der 2>/dev/null
openssl cms -cmsout -print -inform DER -in tok.der 2>/dev/null | grep -q 'id-smime-aa-signingCertificateV2' &&
    pass "signing-certificate-v2" || fail "no signing-certificate-v2 attribute"
# certReq: the TSA's certificate in the token when asked, not when not
openssl pkcs7 -inform DER -in tok.der -print_certs 2>/dev/null | grep -q 'CN *= *eseal Test TSA' &&
    pass "certReq: certificate included" || fail "certReq true, but no TSA certificate"
openssl ts -query -data data.txt -sha256 -out qn.tsq 2>/dev/null
post qn.tsq rn.tsr >/dev/null
openssl ts -reply -in rn.tsr -token_out -out tokn.der 2>/dev/null
if openssl pkcs7 -inform DER -in tokn.der -print_certs 2>/dev/null | grep -q 'subject'; then
    fail "certReq false, but certificates included"
else
    pass "certReq false: no certificates"
fi

# nonces: each query's own, echoed
openssl ts -query -data data.txt -sha512 -cert -out q2.tsq 2>/dev/null
post q2.tsq r2.tsr >/dev/null
n1=$(openssl ts -query -in q.tsq -text 2>/dev/null | sed -n 's/^Nonce: //p')
n2=$(openssl ts -query -in q2.tsq -text 2>/dev/null | sed -n 's/^Nonce: //p')
e1=$(openssl ts -reply -in r.tsr -text 2>/dev/null | sed -n 's/^Nonce: //p')
e2=$(openssl ts -reply -in r2.tsr -text 2>/dev/null | sed -n 's/^Nonce: //p')
if [ -n "$n1" ] && [ "$n1" != "$n2" ] && [ "$n1" = "$e1" ] && [ "$n2" = "$e2" ]; then
    pass "nonces differ and are echoed ($e1, $e2)"
else
    fail "nonces: queries $n1 $n2, answers $e1 $e2"
fi
grep -q 'Hash Algorithm: sha512' <(openssl ts -reply -in r2.tsr -text 2>/dev/null) &&
    pass "SHA-512 imprint granted" || fail "SHA-512 imprint not granted"

# refusals as RFC 3161 rejections (HTTP 200, a TimeStampResp)
rejected() {
    local what=$1 resp=$2 failinfo=$3 text
    text=$(openssl ts -reply -in "$resp" -text 2>/dev/null || true)
    if grep -q 'Status: Rejected\.' <<<"$text" && grep -qi "Failure info: $failinfo" <<<"$text"; then
        pass "$what rejected ($(sed -n 's/^Failure info: //p' <<<"$text"))"
    else
        fail "$what: $text"
    fi
}
openssl ts -query -data data.txt -sha1 -cert -out q1.tsq 2>/dev/null
post q1.tsq r1.tsr >/dev/null
rejected "a SHA-1 query" r1.tsr "unrecognized or unsupported algorithm"
openssl ts -query -data data.txt -md5 -cert -out qm.tsq 2>/dev/null
post qm.tsq rm.tsr >/dev/null
rejected "an MD5 query" rm.tsr "unrecognized or unsupported algorithm"
openssl ts -query -data data.txt -sha256 -tspolicy 1.2.3.4 -out qp.tsq 2>/dev/null
post qp.tsq rp.tsr >/dev/null
rejected "another policy" rp.tsr "the requested TSA policy is not supported"
head -c 300 /dev/urandom >garbage.bin
code=$(post garbage.bin rg.tsr)
[ "$code" = 200 ] || fail "garbage answered HTTP $code"
rejected "garbage" rg.tsr "the data submitted has the wrong format"
head -c $(($(stat -c %s q.tsq) - 1)) q.tsq >cut.tsq
post cut.tsq rc.tsr >/dev/null
rejected "a query cut short" rc.tsr "the data submitted has the wrong format"
{ cat q.tsq; printf 'x'; } >long.tsq
post long.tsq rl.tsr >/dev/null
rejected "a query with a byte after it" rl.tsr "the data submitted has the wrong format"
# a nonce of 65 bytes (we bound RFC 3161's INTEGER to 64): badRequest
python3 -c '
import sys
def d(t, c): return bytes([t]) + (bytes([len(c)]) if len(c) < 128 else bytes([0x81, len(c)])) + c
alg = d(0x30, d(0x06, bytes.fromhex("608648016503040201")) + d(0x05, b""))
q = d(0x30, d(0x02, b"\x01") + d(0x30, alg + d(0x04, bytes(32))) + d(0x02, b"\x01" * 65))
sys.stdout.buffer.write(q)' >longnonce.tsq
post longnonce.tsq rln.tsr >/dev/null
rejected "a 65-byte nonce" rln.tsr "transaction not permitted or supported"

# HTTP refusals: too large (tsad's limit, then nginx's), method, content type
head -c 9000 /dev/zero >big.bin
code=$(post big.bin /dev/null)
[ "$code" = 413 ] && pass "9000-byte body: 413" || fail "9000-byte body: HTTP $code"
head -c 200000 /dev/zero >huge.bin
code=$(post huge.bin /dev/null)
[ "$code" = 413 ] && pass "200 KB body: 413" || fail "200 KB body: HTTP $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "$tsa")
[ "$code" = 405 ] && pass "GET: 405" || fail "GET: HTTP $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' --data-binary @q.tsq "$tsa")
[ "$code" = 415 ] && pass "text/plain: 415" || fail "text/plain: HTTP $code"
# still answering after all that
code=$(post q.tsq r3.tsr)
grep -q 'Status: Granted\.' <(openssl ts -reply -in r3.tsr -text 2>/dev/null) &&
    pass "still granting" || fail "tsad no longer answers ($code)"

# tsad refuses to start without a TSA certificate (RFC 3161 2.3)
refused "not a TSA certificate" "$tmp/none" "$bin/tsad" --cert "$PKI/rsa2048.pem" \
    --key "$PKI/rsa2048.key" --socket "$tmp/x.sock"
refused "does not belong" "$tmp/none" "$bin/tsad" --cert "$PKI/tsa.pem" \
    --key "$PKI/rsa2048.key" --socket "$tmp/x.sock"

# --- our client against our TSA: the token checked by openssl
"$ESEAL" timestamp --tsa "$tsa" data.txt ours.tst && pass "eseal timestamp from tsad" ||
    fail "eseal timestamp from tsad"
out=$(openssl ts -verify -data data.txt -in ours.tst -token_in -CAfile "$PKI/root-ca.pem" \
    -untrusted "$PKI/issuing-ca.pem" 2>&1 || true)
grep -q '^Verification: OK' <<<"$out" && pass "its token verifies" || fail "its token: $out"
"$ESEAL" timestamp --tsa "$tsa" --digest sha384 data.txt ours384.tst && pass "SHA-384" ||
    fail "eseal timestamp --digest sha384"
refused "unacceptedPolicy" "$tmp/p.tst" "$ESEAL" timestamp --tsa "$tsa" --policy 1.2.3.4 \
    data.txt "$tmp/p.tst"
refused "only http" "$tmp/s.tst" "$ESEAL" timestamp --tsa "https://127.0.0.1:1/tsa" data.txt \
    "$tmp/s.tst"

# --- our client against OpenSSL's TSA
python3 "$ESEAL_SOURCE_DIR/tests/tools/openssl_tsa.py" --pki "$PKI" --dir "$tmp/ots" \
    --port-file "$tmp/ots.port" >"$tmp/ots.log" 2>&1 &
ots_pid=$!
for i in $(seq 100); do [ -s "$tmp/ots.port" ] && break; sleep 0.1; done
ots=http://127.0.0.1:$(cat "$tmp/ots.port")
"$ESEAL" timestamp --tsa "$ots/tsa" data.txt theirs.tst && pass "eseal timestamp from openssl ts -reply" ||
    fail "eseal timestamp from openssl ts -reply"
out=$(openssl ts -verify -data data.txt -in theirs.tst -token_in -CAfile "$PKI/root-ca.pem" \
    -untrusted "$PKI/issuing-ca.pem" 2>&1 || true)
grep -q '^Verification: OK' <<<"$out" && pass "its token verifies" || fail "its token: $out"
"$ESEAL" timestamp --tsa "$ots/tsa" --policy 1.2.3.4.5 data.txt theirs5.tst &&
    pass "a policy asked for and given" || fail "eseal timestamp --policy 1.2.3.4.5"
refused "not over the digest" "$tmp/a.tst" "$ESEAL" timestamp --tsa "$ots/bad-imprint" data.txt "$tmp/a.tst"
refused "nonce" "$tmp/b.tst" "$ESEAL" timestamp --tsa "$ots/bad-nonce" data.txt "$tmp/b.tst"
refused "test TSA refuses" "$tmp/c.tst" "$ESEAL" timestamp --tsa "$ots/reject" data.txt "$tmp/c.tst"
refused "not a TSA" "$tmp/d.tst" "$ESEAL" timestamp --tsa "$ots/not-tsa" data.txt "$tmp/d.tst"
refused "no time-stamp" "$tmp/e.tst" "$ESEAL" timestamp --tsa "$ots/nothing-here" data.txt "$tmp/e.tst"

finish
