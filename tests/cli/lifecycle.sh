#!/usr/bin/env bash
# The deployment's own trust services end to end: eseal ca issues the TSA's and the
# enterprises' certificates (pointing at the deployment's OCSP responder and CRL), ocspd and
# tsad run behind a real nginx (deploy/start.sh), and a licence signed at B-LTA keeps
# verifying TOTAL_PASSED after its signer's certificate is revoked, while one signed after the
# revocation is REVOKED; signing at B-LT refuses a revoked certificate. RSA and ECDSA outputs
# hold for pdfsig at every level; the embedded OCSP response is judged by openssl ocsp.
source "$(dirname "$0")/../lib.sh"
bin=$(dirname "$ESEAL")
deploy=$ESEAL_SOURCE_DIR/deploy
in=$ESEAL_SOURCE_DIR/samples/licence.pdf
run=$(mktemp -d /tmp/eseal-lc.XXXXXX) # short: UNIX socket paths must fit in 108 bytes
stop() {
    "$deploy/stop.sh" "$run" >/dev/null 2>&1 || true
    rm -rf "$run"
    cleanup
}
trap stop EXIT
cd "$tmp"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
echo "ca-pass-5678" >pass.txt

# the CA, its TSA, two enterprises (RSA, ECDSA)
"$ESEAL" ca init --ca ca --base-url "$url" --pass-file pass.txt >/dev/null || fail "ca init"
"$ESEAL" ca issue --ca ca --genkey tsa.key --key-pass-file pass.txt --subject "/C=CN/O=Bureau/CN=Bureau TSA" \
    --profile tsa --out tsa.pem >/dev/null || fail "issue the TSA's certificate"
openssl req -new -newkey rsa:2048 -nodes -keyout ent.key -subj "/C=CN/O=Enterprise A/CN=Enterprise A" \
    -out ent.csr 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ent-ec.key \
    -subj "/C=CN/O=Enterprise B/CN=Enterprise B" -out ent-ec.csr 2>/dev/null
"$ESEAL" ca issue --ca ca --csr ent.csr --out ent.pem >/dev/null || fail "issue RSA"
"$ESEAL" ca issue --ca ca --csr ent-ec.csr --out ent-ec.pem >/dev/null || fail "issue ECDSA"
"$ESEAL" ca crl --ca ca >/dev/null || fail "crl"
x=$(openssl x509 -in ent.pem -noout -text)
grep -q "OCSP - URI:$url/ocsp" <<<"$x" && grep -q "URI:$url/crl/" <<<"$x" &&
    pass "the enterprise certificate points at the deployment's OCSP and CRL" ||
    fail "pointers: $x"
cat ca/issuing.pem ca/root.pem >chain.pem

"$deploy/start.sh" --run "$run" --port "$port" --tsa-cert tsa.pem --tsa-key tsa.key \
    --tsa-pass-file pass.txt --tsa-chain ca/issuing.pem --ca ca --bin "$bin" >/dev/null || {
    fail "deploy/start.sh"
    cat "$run"/*.log >&2 || true
    finish
}
tsa=$url/tsa
trust=(--trust ca/root.pem)
rsa=(--key ent.key --cert ent.pem --chain chain.pem)
ec=(--key ent-ec.key --cert ent-ec.pem --chain chain.pem)

# an enterprise whose key is generated in a token (SoftHSM2, private to this run) and certified
# by the CA from a request the token signs; it signs at B-LTA without the key leaving the token
mkdir -p tokens state
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$PWD" \
    >softhsm2.conf
export SOFTHSM2_CONF=$PWD/softhsm2.conf ESEAL_KEYSTATE_DIR=$PWD/state
echo 135790 >pin
echo 97531975 >so
tok="pkcs11:token=ent-c;object=sign"
if "$ESEAL" key init-token --label ent-c --so-pin-file so --pin-file pin >/dev/null &&
    "$ESEAL" key generate --token ent-c --label sign --type p256 --pin-file pin >/dev/null &&
    "$ESEAL" key csr "$tok" --subject "/C=CN/O=Enterprise C/CN=Enterprise C" --pin-file pin ent-c.csr \
        >/dev/null &&
    "$ESEAL" ca issue --ca ca --csr ent-c.csr --out ent-c.pem >/dev/null &&
    "$ESEAL" key import-cert "$tok" ent-c.pem --pin-file pin >/dev/null; then
    if sign "$in" token-lta.pdf --key "$tok" --pin-file pin --chain chain.pem --level B-LTA --tsa "$tsa"; then
        ps=$(pdfsig token-lta.pdf 2>&1 | awk '/^Signature #1/{on=1} /^Signature #2/{on=0} on' || true)
        grep -q 'Signature Validation: Signature is Valid\.' <<<"$ps" &&
            pass "token key, certified by eseal ca, B-LTA: pdfsig: Signature is Valid." ||
            fail "token key: pdfsig: $ps"
        v=$("$ESEAL" verify --json -q "${trust[@]}" token-lta.pdf 2>&1 || true)
        jq -e '.indication == "TOTAL_PASSED" and .signatures[0].signer == "Enterprise C"' <<<"$v" \
            >/dev/null && pass "token key B-LTA: TOTAL_PASSED" || fail "token key B-LTA: $v"
    else
        fail "signing with the token key at B-LTA"
    fi
else
    fail "token key: init, generate, request, issue or import"
fi

# every level, both key types: pdfsig and eseal verify agree
for who in rsa ec; do
    if [ $who = rsa ]; then key=("${rsa[@]}"); else key=("${ec[@]}"); fi
    for level in B-B B-T B-LT B-LTA; do
        f=$who-$level.pdf
        sign "$in" "$f" "${key[@]}" --level $level --tsa "$tsa" || { fail "$who $level: sign"; continue; }
        ps=$(pdfsig "$f" 2>&1 | awk '/^Signature #1/{on=1} /^Signature #2/{on=0} on' || true)
        grep -q 'Signature Validation: Signature is Valid\.' <<<"$ps" &&
            pass "$who $level: pdfsig: Signature is Valid." || fail "$who $level: pdfsig: $ps"
        # without embedded validation data the status must be asked for (--online)
        online=""
        case $level in B-B | B-T) online=--online ;; esac
        v=$("$ESEAL" verify --json -q "${trust[@]}" $online "$f" 2>&1 || true)
        jq -e '.indication == "TOTAL_PASSED"' <<<"$v" >/dev/null &&
            pass "$who $level: TOTAL_PASSED ${online:-offline}" || fail "$who $level: $v"
    done
done
# B-LT carries the revocation data: offline, the status comes from the document
v=$("$ESEAL" verify --json -q "${trust[@]}" rsa-B-LT.pdf 2>&1 || true)
jq -e '.signatures[0].revocation == "good" and .signatures[0].timestamps[0].indication == "TOTAL_PASSED"' \
    <<<"$v" >/dev/null && pass "B-LT offline: revocation good from the document" || fail "B-LT offline: $v"
v=$("$ESEAL" verify --json -q "${trust[@]}" rsa-B-T.pdf 2>&1 || true)
jq -e '.indication == "INDETERMINATE" and .signatures[0].sub_indication == "TRY_LATER"' <<<"$v" \
    >/dev/null && pass "B-T offline: no revocation data, TRY_LATER" || fail "B-T offline: $v"
# the embedded OCSP response, judged by openssl: "good" for the signer
root=$(qpdf --show-object=trailer rsa-B-LT.pdf | sed -n 's/.*\/Root \([0-9]*\) 0 R.*/\1/p')
dss=$(qpdf --show-object="$root" rsa-B-LT.pdf | sed -n 's/.*\/DSS \([0-9]*\) 0 R.*/\1/p')
ocsps=$(qpdf --show-object="$dss" rsa-B-LT.pdf | sed -n 's/.*\/OCSPs \[\([^]]*\)\].*/\1/p' | sed 's/ 0 R//g')
judged=no
for n in $ocsps; do
    qpdf --show-object="$n" --raw-stream-data rsa-B-LT.pdf >resp.der 2>/dev/null
    o=$(openssl ocsp -respin resp.der -no_nonce -issuer ca/issuing.pem -cert ent.pem -CAfile ca/root.pem 2>&1 || true)
    grep -q 'ent.pem: good' <<<"$o" && grep -q 'Response verify OK' <<<"$o" && judged=yes
done
[ $judged = yes ] && pass "openssl ocsp -respin: the embedded response says good" ||
    fail "no embedded OCSP response judged good ($ocsps)"

# the enterprise's certificate is revoked after signing
sleep 1
serial=$(openssl x509 -in ent.pem -noout -serial | cut -d= -f2)
"$ESEAL" ca revoke --ca ca "$serial" --reason keyCompromise --pass-file pass.txt >/dev/null ||
    fail "revoke"
# revoking signs the CRL again at once: the CRL nginx serves lists the certificate
curl -s -o now.crl "$url/crl/issuing.crl"
openssl crl -inform DER -in now.crl -noout -text | grep -qi "Serial Number: *$serial" &&
    pass "the CRL served lists the revoked certificate without a separate eseal ca crl" ||
    fail "the served CRL does not list $serial"
o=$(openssl ocsp -issuer ca/issuing.pem -cert ent.pem -url "$url/ocsp" -CAfile ca/root.pem 2>&1 || true)
grep -q 'ent.pem: revoked' <<<"$o" && pass "ocspd now says revoked" || fail "ocspd: $o"
sleep 1

for opt in "" --online; do
    v=$("$ESEAL" verify --json -q "${trust[@]}" $opt rsa-B-LTA.pdf 2>&1 || true)
    jq -e '.indication == "TOTAL_PASSED"' <<<"$v" >/dev/null &&
        pass "B-LTA signed before the revocation: still TOTAL_PASSED ${opt:-offline}" ||
        fail "B-LTA after revocation ${opt:-offline}: $v"
done
refused "revoked" late-lt.pdf "$ESEAL" sign "$in" late-lt.pdf "${rsa[@]}" --level B-LT --tsa "$tsa"
# with the OCSP responder down, the CRL still tells B-LT signing that the certificate is revoked
kill "$(cat "$run/ocspd.pid")" 2>/dev/null || true
sleep 0.3
refused "revoked" late-crl.pdf "$ESEAL" sign "$in" late-crl.pdf "${rsa[@]}" --level B-LT --tsa "$tsa" \
    --net-timeout 3
if sign "$in" late-t.pdf "${rsa[@]}" --level B-T --tsa "$tsa"; then
    v=$("$ESEAL" verify --json -q "${trust[@]}" --online late-t.pdf 2>&1 || true)
    jq -e '.indication == "TOTAL_FAILED" and .signatures[0].sub_indication == "REVOKED"' <<<"$v" \
        >/dev/null && pass "signed after the revocation: TOTAL_FAILED, REVOKED" || fail "late B-T: $v"
    rc=0
    "$ESEAL" verify -q "${trust[@]}" --online late-t.pdf >/dev/null 2>&1 || rc=$?
    [ $rc = 1 ] && pass "exit 1" || fail "exit $rc for a revoked signature"
else
    fail "signing at B-T after the revocation"
fi
finish
