#!/usr/bin/env bash
# eseal ca: a CA of its own and an imported one; certificates from a CSR made by openssl req, a
# public key and a key made in place, checked by openssl (verify, x509 -text); re-issue, revoke,
# list, status; a CRL that openssl crl -verify accepts and openssl verify -crl_check uses.
source "$(dirname "$0")/../lib.sh"
base=http://127.0.0.1:8099
ca=$tmp/ca
echo "ca-pass-5678" >"$tmp/pass.txt"
echo "user-pass-9012" >"$tmp/user-pass.txt"

# days_of CERT : its validity in days (notAfter - notBefore)
days_of() {
    local nb na
    nb=$(openssl x509 -in "$1" -noout -startdate | cut -d= -f2)
    na=$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)
    echo $((($(date -d "$na" +%s) - $(date -d "$nb" +%s)) / 86400))
}
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
chain_ok() {
    local out
    if out=$(openssl verify -CAfile "$ca/root.pem" -untrusted "$ca/issuing.pem" "$@" 2>&1); then
        pass "openssl verify ${*: -1}"
    else
        fail "openssl verify ${*: -1}: $out"
    fi
}
has() { grep -q -- "$1" <<<"$2" && pass "$3" || fail "$3: '$1' not in: $2"; }

# ---- init
"$ESEAL" ca init --ca "$ca" --base-url "$base" --pass-file "$tmp/pass.txt" >/dev/null ||
    fail "ca init"
grep -q "BEGIN ENCRYPTED PRIVATE KEY" "$ca/private/issuing.key" &&
    grep -q "BEGIN ENCRYPTED PRIVATE KEY" "$ca/private/root.key" &&
    pass "CA keys are encrypted PKCS#8" || fail "CA keys are not encrypted PKCS#8"
openssl pkey -in "$ca/private/issuing.key" -passin "file:$tmp/pass.txt" -noout 2>/dev/null &&
    pass "openssl opens the issuing key with the password" || fail "issuing key password"
[ "$(stat -c %a "$ca/private/issuing.key")" = 600 ] && pass "key mode 600" || fail "key mode"
chain_ok "$ca/issuing.pem"
t=$(openssl x509 -in "$ca/issuing.pem" -noout -text)
has "CA:TRUE, pathlen:0" "$t" "issuing CA: pathlen 0"
has "Certificate Sign, CRL Sign" "$t" "issuing CA: keyCertSign, cRLSign"
refused "holds a CA" "$tmp/none" "$ESEAL" ca init --ca "$ca" --base-url "$base" \
    --pass-file "$tmp/pass.txt"
refused "base URL" "$tmp/none" "$ESEAL" ca init --ca "$tmp/ca-bad" --base-url "ftp://x,y" \
    --pass-file "$tmp/pass.txt"

# ---- issue from a CSR made by openssl req
openssl req -new -newkey rsa:2048 -nodes -keyout "$tmp/a.key" -out "$tmp/a.csr" \
    -subj "/C=CN/O=Example Trading Ltd/CN=Example Trading" 2>/dev/null
"$ESEAL" ca issue --ca "$ca" --csr "$tmp/a.csr" --out "$tmp/a.pem" >"$tmp/out" || fail "issue"
chain_ok "$tmp/a.pem"
t=$(openssl x509 -in "$tmp/a.pem" -noout -text)
has "URI:$base/crl/issuing.crl" "$t" "CRL distribution point of the base URL"
has "OCSP - URI:$base/ocsp" "$t" "OCSP address of the base URL"
has "Digital Signature, Non Repudiation" "$t" "enterprise: digitalSignature, nonRepudiation"
has "CA:FALSE" "$t" "enterprise: CA:FALSE"
has "Subject: C = CN, O = Example Trading Ltd, CN = Example Trading" "$t" "subject of the CSR"
d=$(days_of "$tmp/a.pem")
[ "$d" -eq 1095 ] && pass "3 years (1095 days) by default" || fail "validity $d days, want 1095"
[ "$(openssl x509 -in "$tmp/a.pem" -noout -pubkey)" = \
    "$(openssl pkey -in "$tmp/a.key" -pubout)" ] && pass "the CSR's key" || fail "not the CSR's key"
s=$(serial_of "$tmp/a.pem")
[ ${#s} -ge 30 ] && pass "serial of ~128 bits ($s)" || fail "short serial $s"
grep -q "$s" "$tmp/out" && pass "issue names the serial" || fail "issue output: $(cat "$tmp/out")"

# --days, and a public key with a subject, as a time-stamping unit
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/tsa.key" 2>/dev/null
openssl pkey -in "$tmp/tsa.key" -pubout -out "$tmp/tsa.pub"
"$ESEAL" ca issue --ca "$ca" --pubkey "$tmp/tsa.pub" --subject "/C=CN/O=Bureau/CN=Bureau TSA" \
    --profile tsa --days 400 --out "$tmp/tsa.pem" >/dev/null || fail "issue tsa"
chain_ok -purpose timestampsign "$tmp/tsa.pem"
t=$(openssl x509 -in "$tmp/tsa.pem" -noout -text)
has "X509v3 Extended Key Usage: critical" "$t" "tsa: EKU critical"
has "Time Stamping" "$t" "tsa: timeStamping"
[ "$(days_of "$tmp/tsa.pem")" -eq 400 ] && pass "--days 400" || fail "--days 400"

# a key made in place, for a delegated OCSP responder
"$ESEAL" ca issue --ca "$ca" --genkey "$tmp/ocsp.key" --key-pass-file "$tmp/user-pass.txt" \
    --subject "CN=eseal OCSP responder" --profile ocsp --out "$tmp/ocsp.pem" >/dev/null ||
    fail "issue ocsp"
chain_ok -purpose ocsphelper "$tmp/ocsp.pem"
grep -q "BEGIN ENCRYPTED PRIVATE KEY" "$tmp/ocsp.key" && pass "generated key encrypted" ||
    fail "generated key not encrypted"
[ "$(openssl pkey -in "$tmp/ocsp.key" -passin "file:$tmp/user-pass.txt" -pubout 2>&1)" = \
    "$(openssl x509 -in "$tmp/ocsp.pem" -noout -pubkey)" ] && pass "generated key matches" ||
    fail "generated key does not match its certificate"
t=$(openssl x509 -in "$tmp/ocsp.pem" -noout -text)
has "OCSP Signing" "$t" "ocsp: OCSPSigning"
has "OCSP No Check" "$t" "ocsp: id-pkix-ocsp-nocheck"
[ "$(days_of "$tmp/ocsp.pem")" -eq 30 ] && pass "ocsp responder: 30 days" || fail "ocsp days"

# refusals: a forged CSR, a weak key, a missing --out, nothing left behind
cp "$tmp/a.csr" "$tmp/forged.csr"
openssl req -in "$tmp/a.csr" -outform DER -out "$tmp/a.csr.der"
python3 - "$tmp/a.csr.der" "$tmp/forged.der" <<'EOF'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
i = d.find(b"Example Trading Ltd")
d[i] ^= 0x01  # Example -> Dxample: the signature no longer covers it
open(sys.argv[2], "wb").write(d)
EOF
refused "signature does not hold" "$tmp/forged.pem" "$ESEAL" ca issue --ca "$ca" \
    --csr "$tmp/forged.der" --out "$tmp/forged.pem"
openssl req -new -newkey rsa:1024 -nodes -keyout "$tmp/weak.key" -out "$tmp/weak.csr" \
    -subj "/CN=weak" 2>/dev/null
refused "too weak" "$tmp/weak.pem" "$ESEAL" ca issue --ca "$ca" --csr "$tmp/weak.csr" \
    --out "$tmp/weak.pem"
refused "outlast" "$tmp/long.pem" "$ESEAL" ca issue --ca "$ca" --csr "$tmp/a.csr" --days 10000 \
    --out "$tmp/long.pem"
rc=0
"$ESEAL" ca issue --ca "$ca" --csr "$tmp/a.csr" 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] && pass "issue without --out: usage (2)" || fail "issue without --out: exit $rc"
echo "wrong" >"$tmp/wrong.txt"
refused "wrong password" "$tmp/w.pem" "$ESEAL" ca issue --ca "$ca" --csr "$tmp/a.csr" \
    --pass-file "$tmp/wrong.txt" --out "$tmp/w.pem"

# ---- reissue: a new key, the same subject, the old one superseded
openssl req -new -newkey rsa:2048 -nodes -keyout "$tmp/b.key" -out "$tmp/b.csr" \
    -subj "/CN=someone else" 2>/dev/null
"$ESEAL" ca reissue --ca "$ca" "$s" --csr "$tmp/b.csr" --out "$tmp/b.pem" >"$tmp/out" ||
    fail "reissue"
chain_ok "$tmp/b.pem"
has "Subject: C = CN, O = Example Trading Ltd, CN = Example Trading" \
    "$(openssl x509 -in "$tmp/b.pem" -noout -text)" "reissue keeps the subject"
has "superseded" "$(cat "$tmp/out")" "reissue says the old one is superseded"
"$ESEAL" ca status --ca "$ca" "$s" --json >"$tmp/st.json" || fail "status"
jq -e '.status == "revoked" and .reason == "superseded"' "$tmp/st.json" >/dev/null &&
    pass "old certificate revoked as superseded" || fail "old status: $(cat "$tmp/st.json")"
s2=$(serial_of "$tmp/b.pem")
"$ESEAL" ca status --ca "$ca" --cert "$tmp/b.pem" --json >"$tmp/st.json" || fail "status --cert"
jq -e --arg s "$s" '.status == "good" and .reissue_of == $s' "$tmp/st.json" >/dev/null &&
    pass "new certificate good, re-issue of the old" || fail "new status: $(cat "$tmp/st.json")"
refused "not issued by this CA" "$tmp/none" "$ESEAL" ca status --ca "$ca" --cert "$PKI/rsa2048.pem"

# ---- revoke
"$ESEAL" ca revoke --ca "$ca" "$s2" --reason keyCompromise >/dev/null || fail "revoke"
refused "revoked already" "$tmp/none" "$ESEAL" ca revoke --ca "$ca" "$s2" --reason superseded
refused "no certificate" "$tmp/none" "$ESEAL" ca revoke --ca "$ca" 0ABCDEF --reason superseded
rc=0
"$ESEAL" ca revoke --ca "$ca" "$s2" --reason lostIt 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] && pass "unknown reason: usage (2)" || fail "unknown reason: exit $rc"
# lower case and 0x are the same serial
"$ESEAL" ca status --ca "$ca" "0x${s2,,}" | grep -q "revoked" && pass "status by 0x serial" ||
    fail "status by lower-case serial"

# ---- list
"$ESEAL" ca list --ca "$ca" --json >"$tmp/list.json" || fail "list"
jq -e 'length == 4' "$tmp/list.json" >/dev/null && pass "list: 4 certificates" ||
    fail "list: $(cat "$tmp/list.json")"
"$ESEAL" ca list --ca "$ca" --expiring 31 --json >"$tmp/list.json" || fail "list --expiring"
jq -e 'length == 1 and .[0].profile == "ocsp"' "$tmp/list.json" >/dev/null &&
    pass "expiring within 31 days: the 30-day responder only" ||
    fail "list --expiring 31: $(cat "$tmp/list.json")"
"$ESEAL" ca list --ca "$ca" --expiring 500 >"$tmp/list.txt"
[ "$(wc -l <"$tmp/list.txt")" -eq 2 ] && pass "expiring within 500 days: 2 (good ones)" ||
    fail "list --expiring 500: $(cat "$tmp/list.txt")"

# ---- CRL
"$ESEAL" ca crl --ca "$ca" >/dev/null || fail "crl"
crl=$ca/crl/issuing.crl
out=$(openssl crl -inform DER -in "$crl" -CAfile "$ca/issuing.pem" -noout 2>&1) &&
    has "verify OK" "$out" "openssl crl -verify: OK" || fail "openssl crl -verify: $out"
t=$(openssl crl -inform DER -in "$crl" -noout -text)
has "Serial Number: $s" "$t" "CRL lists the superseded certificate"
has "Serial Number: $s2" "$t" "CRL lists the revoked certificate"
has "Superseded" "$t" "CRL reason superseded"
has "Key Compromise" "$t" "CRL reason keyCompromise"
has "X509v3 CRL Number" "$t" "CRL number"
has "X509v3 Authority Key Identifier" "$t" "CRL AKI"
nu=$(openssl crl -inform DER -in "$crl" -noout -nextupdate | cut -d= -f2)
lu=$(openssl crl -inform DER -in "$crl" -noout -lastupdate | cut -d= -f2)
[ $((($(date -d "$nu" +%s) - $(date -d "$lu" +%s)) / 86400)) -eq 7 ] &&
    pass "nextUpdate 7 days on" || fail "nextUpdate $nu after $lu"
openssl crl -inform DER -in "$crl" -out "$tmp/crl.pem"
out=$(openssl verify -crl_check -CRLfile "$tmp/crl.pem" -CAfile "$ca/root.pem" \
    -untrusted "$ca/issuing.pem" "$tmp/b.pem" 2>&1) || true
has "certificate revoked" "$out" "openssl verify -crl_check: revoked"
out=$(openssl verify -crl_check -CRLfile "$tmp/crl.pem" -CAfile "$ca/root.pem" \
    -untrusted "$ca/issuing.pem" "$tmp/tsa.pem" 2>&1) && pass "crl_check: a good one is OK" ||
    fail "crl_check on a good certificate: $out"
n1=$(openssl crl -inform DER -in "$crl" -noout -crlnumber | sed 's/.*=0x//')
"$ESEAL" ca crl --ca "$ca" --days 2 --out "$tmp/again.crl" >/dev/null || fail "crl --out"
n2=$(openssl crl -inform DER -in "$tmp/again.crl" -noout -crlnumber | sed 's/.*=0x//')
[ $((16#$n2)) -gt $((16#$n1)) ] && pass "CRL numbers increase ($n1, $n2)" || fail "CRL $n1 $n2"

# ---- import an external CA (the test PKI's issuing CA)
"$ESEAL" ca import --ca "$tmp/ext" --base-url "$base" --cert "$PKI/issuing-ca.pem" \
    --key "$PKI/issuing-ca.key" --chain "$PKI/root-ca.pem" >/dev/null || fail "import"
"$ESEAL" ca issue --ca "$tmp/ext" --csr "$tmp/a.csr" --out "$tmp/ext.pem" >/dev/null ||
    fail "issue from the imported CA"
out=$(openssl verify -CAfile "$PKI/root-ca.pem" -untrusted "$PKI/issuing-ca.pem" "$tmp/ext.pem" \
    2>&1) && pass "imported CA's certificate verifies to the test root" || fail "$out"
refused "does not belong" "$tmp/ext2/ca.conf" "$ESEAL" ca import --ca "$tmp/ext2" \
    --base-url "$base" --cert "$PKI/issuing-ca.pem" --key "$PKI/rsa2048.key" \
    --chain "$PKI/root-ca.pem"
finish
