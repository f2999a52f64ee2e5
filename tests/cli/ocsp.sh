#!/usr/bin/env bash
# The OCSP responder (ocspd) behind a real nginx, started by deploy/start.sh on a free loopback
# port: openssl ocsp gets good, revoked (with reason and time) and unknown answers, its nonce back,
# malformedRequest for garbage, the same over GET (RFC 6960 A.1); the CRL is served at the
# distribution point. eseal verify --online gets the status from it, and from openssl's own
# responder (openssl ocsp -index -port) for a CA whose certificates point there.
source "$(dirname "$0")/../lib.sh"
bin=$(dirname "$ESEAL")
deploy=$ESEAL_SOURCE_DIR/deploy
pdf=$ESEAL_SOURCE_DIR/samples/licence.pdf
run=$(mktemp -d /tmp/eseal-ocsp.XXXXXX) # short: UNIX socket paths must fit in 108 bytes
ossl_pid=""
stop() {
    "$deploy/stop.sh" "$run" >/dev/null 2>&1 || true
    [ -z "$ossl_pid" ] || kill "$ossl_pid" 2>/dev/null || true
    rm -rf "$run"
    cleanup
}
trap stop EXIT
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
has() { grep -q -- "$1" <<<"$2" && pass "$3" || fail "$3: '$1' not in: $2"; }
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }

echo "ca-pass-5678" >"$tmp/pass.txt"
port=$(free_port)
url=http://127.0.0.1:$port
ca=$tmp/ca
"$ESEAL" ca init --ca "$ca" --base-url "$url" --pass-file "$tmp/pass.txt" >/dev/null ||
    fail "ca init"
openssl req -new -newkey rsa:2048 -nodes -keyout "$tmp/x.key" -out "$tmp/x.csr" \
    -subj "/C=CN/O=Example/CN=Example X" 2>/dev/null
"$ESEAL" ca issue --ca "$ca" --csr "$tmp/x.csr" --out "$tmp/x.pem" >/dev/null || fail "issue"
"$ESEAL" ca crl --ca "$ca" >/dev/null || fail "crl"

"$deploy/start.sh" --run "$run" --port "$port" --tsa-cert "$PKI/tsa.pem" --tsa-key "$PKI/tsa.key" \
    --ca "$ca" --bin "$bin" >/dev/null || {
    fail "deploy/start.sh"
    cat "$run"/*.log >&2 || true
    finish
}
[ -S "$run/ocspd.sock" ] && pass "ocspd started behind nginx on port $port" || fail "no ocspd"

# q ARGS... : openssl ocsp against our responder, output in $out
q() {
    out=$(openssl ocsp -issuer "$ca/issuing.pem" -url "$url/ocsp" -CAfile "$ca/root.pem" \
        -resp_text "$@" 2>&1) || true
}

q -cert "$tmp/x.pem"
has "Response verify OK" "$out" "response signed by the CA"
has "x.pem: good" "$out" "good"
has "OCSP Nonce" "$out" "nonce echoed"
grep -q "nonce" <<<"$(grep -iv "OCSP Nonce" <<<"$out")" && fail "nonce problem: $out" ||
    pass "no nonce warning"
has "Next Update:" "$out" "nextUpdate given"
q -sha256 -cert "$tmp/x.pem"
has "Hash Algorithm: sha256" "$out" "SHA-256 CertID"
has "x.pem: good" "$out" "SHA-256 CertID: good"

"$ESEAL" ca revoke --ca "$ca" "$(serial_of "$tmp/x.pem")" --reason keyCompromise >/dev/null ||
    fail "revoke"
q -cert "$tmp/x.pem"
has "x.pem: revoked" "$out" "revoked at once (the store is read per request)"
has "Reason: keyCompromise" "$out" "revocation reason"
has "Revocation Time: $(date -u +'%b %e')" "$out" "revocation time"

q -serial 0x1234567890ABCDEF
has "0x1234567890ABCDEF: unknown" "$out" "unknown serial: unknown"
# a CertID naming another issuer: unknown (checked against our issuing CA's signature)
out=$(openssl ocsp -issuer "$PKI/issuing-ca.pem" -cert "$PKI/rsa2048.pem" -url "$url/ocsp" \
    -VAfile "$ca/issuing.pem" 2>&1) || true
has "rsa2048.pem: unknown" "$out" "another issuer's certificate: unknown"

# garbage, an oversized body, and GET
curl -s -X POST -H 'Content-Type: application/ocsp-request' --data-binary 'not a request' \
    "$url/ocsp" -o "$tmp/g.der"
out=$(openssl ocsp -respin "$tmp/g.der" -resp_text -noverify 2>&1) || true
has "malformedrequest" "$out" "garbage POST: malformedRequest"
head -c 100000 /dev/zero >"$tmp/big"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/ocsp-request' \
    --data-binary @"$tmp/big" "$url/ocsp")
[ "$code" = 413 ] && pass "oversized request: 413" || fail "oversized request: HTTP $code"
openssl ocsp -issuer "$ca/issuing.pem" -cert "$tmp/x.pem" -reqout "$tmp/req.der" >/dev/null 2>&1
enc=$(base64 -w0 "$tmp/req.der" | python3 -c \
    'import sys, urllib.parse; print(urllib.parse.quote(sys.stdin.read(), safe=""))')
res=$(curl -s -o "$tmp/get.der" -w '%{http_code} %{content_type}' "$url/ocsp/$enc")
[ "$res" = "200 application/ocsp-response" ] && pass "GET: $res" || fail "GET: $res"
out=$(openssl ocsp -respin "$tmp/get.der" -no_nonce -issuer "$ca/issuing.pem" \
    -cert "$tmp/x.pem" -CAfile "$ca/root.pem" 2>&1) || true
has "x.pem: revoked" "$out" "GET: revoked"
has "Response verify OK" "$out" "GET: signature"
nonce() { grep -A1 "OCSP Nonce" | tail -1 | tr -d ' '; }
n1=$(openssl ocsp -reqin "$tmp/req.der" -req_text | nonce)
n2=$(openssl ocsp -respin "$tmp/get.der" -resp_text -noverify | nonce)
[ -n "$n1" ] && [ "$n1" = "$n2" ] && pass "GET: nonce echoed" || fail "GET nonce '$n1' '$n2'"

# the CRL at its distribution point
code=$(curl -s -o "$tmp/crl.der" -w '%{http_code}' "$url/crl/issuing.crl")
out=$(openssl crl -inform DER -in "$tmp/crl.der" -CAfile "$ca/issuing.pem" -noout 2>&1) || true
[ "$code" = 200 ] && has "verify OK" "$out" "CRL served at $url/crl/issuing.crl" ||
    fail "CRL: HTTP $code $out"

# ---- a delegated responder (RFC 6960 4.2.2.2) named in ca.conf, ocspd started again
echo "user-pass-1" >"$tmp/user.txt"
"$ESEAL" ca issue --ca "$ca" --genkey "$tmp/resp.key" --key-pass-file "$tmp/user.txt" \
    --subject "/CN=eseal OCSP" --profile ocsp --out "$tmp/resp.pem" >/dev/null || fail "issue resp"
printf 'ocsp_cert = %s\nocsp_key = %s\nocsp_pass_file = %s\n' "$tmp/resp.pem" "$tmp/resp.key" \
    "$tmp/user.txt" >>"$ca/ca.conf"
"$deploy/stop.sh" "$run" >/dev/null 2>&1 || true
"$deploy/start.sh" --run "$run" --port "$port" --tsa-cert "$PKI/tsa.pem" --tsa-key "$PKI/tsa.key" \
    --ca "$ca" --bin "$bin" >/dev/null || fail "deploy/start.sh again"
q -cert "$tmp/x.pem"
has "Responder Id: CN = eseal OCSP" "$out" "delegated responder signs"
has "Response verify OK" "$out" "delegated responder's response verifies to the root"
has "x.pem: revoked" "$out" "delegated responder: revoked"

# ---- eseal verify --online against our responder
"$ESEAL" ca issue --ca "$ca" --genkey "$tmp/s.key" --key-pass-file "$tmp/user.txt" \
    --subject "/C=CN/O=Example/CN=Example Signer" --out "$tmp/s.pem" >/dev/null || fail "issue s"
"$ESEAL" sign "$pdf" "$tmp/s.pdf" -q --key "$tmp/s.key" --pass-file "$tmp/user.txt" \
    --cert "$tmp/s.pem" --chain "$ca/chain.pem" || fail "sign"
rev() {
    { "$ESEAL" verify --json -q --trust "$1" --online "$2" 2>/dev/null || true; } |
        jq -r '.signatures[0].revocation'
}
r=$(rev "$ca/root.pem" "$tmp/s.pdf")
[ "$r" = good ] && pass "eseal verify --online: good from ocspd" || fail "verify --online: $r"
"$ESEAL" ca revoke --ca "$ca" "$(serial_of "$tmp/s.pem")" --reason cessationOfOperation \
    >/dev/null || fail "revoke s"
r=$(rev "$ca/root.pem" "$tmp/s.pdf")
[ "$r" = revoked ] && pass "eseal verify --online: revoked from ocspd" || fail "verify --online: $r"

# ---- our OCSP client against openssl's responder (openssl ocsp -index -port)
port2=$(free_port)
ca2=$tmp/ca2
"$ESEAL" ca init --ca "$ca2" --base-url "http://127.0.0.1:$port2" --pass-file "$tmp/pass.txt" \
    --key-type rsa2048 >/dev/null || fail "ca2 init"
"$ESEAL" ca issue --ca "$ca2" --genkey "$tmp/t.key" --key-pass-file "$tmp/user.txt" \
    --subject "/CN=Signer T" --out "$tmp/t.pem" >/dev/null || fail "issue t"
"$ESEAL" ca issue --ca "$ca2" --genkey "$tmp/r.key" --key-pass-file "$tmp/user.txt" \
    --subject "/CN=OCSP responder" --profile ocsp --out "$tmp/r.pem" >/dev/null || fail "issue r"
# index lines (openssl ca's database): status, expiry, revocation, serial, file, subject
index_line() {
    local status=$1 rev=$2 exp
    exp=$(date -u -d "$(openssl x509 -in "$tmp/t.pem" -noout -enddate | cut -d= -f2)" +%y%m%d%H%M%SZ)
    printf '%s\t%s\t%s\t%s\tunknown\t/CN=Signer T\n' "$status" "$exp" "$rev" "$(serial_of "$tmp/t.pem")"
}
index_line V "" >"$tmp/index.txt"
# start_ossl : openssl's responder on port2 over index.txt, delegating to r.pem
start_ossl() {
    : >"$tmp/ossl.log"
    openssl ocsp -index "$tmp/index.txt" -port "$port2" -CA "$ca2/issuing.pem" \
        -rsigner "$tmp/r.pem" -rkey "$tmp/r.key" -passin "file:$tmp/user.txt" -nmin 5 \
        -ignore_err >"$tmp/ossl.log" 2>&1 &
    ossl_pid=$!
    for _ in $(seq 50); do
        grep -q ACCEPT "$tmp/ossl.log" && break
        sleep 0.1
    done
    grep -q ACCEPT "$tmp/ossl.log" && pass "openssl ocsp -port $port2 listening" ||
        fail "openssl ocsp: $(cat "$tmp/ossl.log")"
}
start_ossl
"$ESEAL" sign "$pdf" "$tmp/t.pdf" -q --key "$tmp/t.key" --pass-file "$tmp/user.txt" \
    --cert "$tmp/t.pem" --chain "$ca2/chain.pem" || fail "sign t"
r=$(rev "$ca2/root.pem" "$tmp/t.pdf")
[ "$r" = good ] && pass "eseal verify --online: good from openssl ocsp (delegated responder)" ||
    fail "verify --online against openssl ocsp: $r"
# revoked in the index, and the responder started again over it
index_line R "$(date -u +%y%m%d%H%M%SZ),keyCompromise" >"$tmp/index.txt"
kill "$ossl_pid"
wait "$ossl_pid" 2>/dev/null || true
start_ossl
r=$(rev "$ca2/root.pem" "$tmp/t.pdf")
[ "$r" = revoked ] && pass "eseal verify --online: revoked from openssl ocsp" ||
    fail "verify --online against openssl ocsp after revocation: $r"
finish
