#!/usr/bin/env bash
# Every supported key and certificate form signs, and the result is accepted by pdfsig and, for
# each signature, by OpenSSL's own CMS verification with the chain to the test root.
source "$(dirname "$0")/../lib.sh"
in="$ESEAL_SOURCE_DIR/samples/licence.pdf"
openssl pkcs8 -topk8 -nocrypt -in "$PKI/ec256.key" -outform DER -out "$tmp/ec256.der"
openssl pkey -in "$PKI/rsa2048.key" -traditional -out "$tmp/rsa2048-trad.key"

try() { # LABEL ROOT ARGS...
    local label=$1 root=$2 out="$tmp/$1.pdf"
    shift 2
    if sign "$in" "$out" "$@"; then
        pdfsig_check "$out" 1 && openssl_verify "$out" "$root" && pass "$label"
    else
        fail "$label: eseal sign failed"
    fi
}
try rsa2048 "$PKI/root-ca.pem" --key "$PKI/rsa2048.key" --cert "$PKI/rsa2048.pem" --chain "$PKI/chain.pem"
try rsa2048-traditional "$PKI/root-ca.pem" --key "$tmp/rsa2048-trad.key" --cert "$PKI/rsa2048.pem" --chain "$PKI/chain.pem"
try rsa3072 "$PKI/root-ca.pem" --key "$PKI/rsa3072.key" --cert "$PKI/rsa3072.pem" --chain "$PKI/chain.pem"
try rsa4096 "$PKI/root-ca.pem" --key "$PKI/rsa4096.key" --cert "$PKI/rsa4096.pem" --chain "$PKI/chain.pem"
try rsa2048-pss "$PKI/root-ca.pem" --key "$PKI/rsa2048.key" --cert "$PKI/rsa2048.pem" --chain "$PKI/chain.pem" --pss
try rsa2048-sha512 "$PKI/root-ca.pem" --key "$PKI/rsa2048.key" --cert "$PKI/rsa2048.pem" --chain "$PKI/chain.pem" --digest sha512
try rsa2048-encrypted "$PKI/root-ca.pem" --key "$PKI/rsa2048-enc.key" --pass-file "$PKI/pass.txt" --cert "$PKI/rsa2048.pem" --chain "$PKI/chain.pem"
try rsa2048-p12 "$PKI/root-ca.pem" --key "$PKI/rsa2048.p12" --pass-file "$PKI/pass.txt"
try ec256 "$PKI/ec-root-ca.pem" --key "$PKI/ec256.key" --cert "$PKI/ec256.pem" --chain "$PKI/ec-chain.pem"
try ec256-der "$PKI/ec-root-ca.pem" --key "$tmp/ec256.der" --cert "$PKI/ec256.pem" --chain "$PKI/ec-chain.pem"
try ec256-p12 "$PKI/ec-root-ca.pem" --key "$PKI/ec256.p12" --pass-file "$PKI/pass.txt"
try ec384 "$PKI/ec-root-ca.pem" --key "$PKI/ec384.key" --cert "$PKI/ec384.pem" --chain "$PKI/ec-chain.pem"
try rsa2048-cn "$PKI/root-ca.pem" --key "$PKI/rsa2048-cn.key" --cert "$PKI/rsa2048-cn.pem" --chain "$PKI/chain.pem"
grep -q "示例科技有限公司" <<<"$(pdfsig "$tmp/rsa2048-cn.pdf")" && pass "UTF-8 signer name" || fail "pdfsig does not show the UTF-8 signer name"

# A certificate whose key is typed RSASSA-PSS (RFC 4055): poppler 22.12's NSS cannot verify
# these, so OpenSSL is the outside judge here.
out="$tmp/pss-key.pdf"
if sign "$in" "$out" --key "$PKI/rsa2048-pss.key" --cert "$PKI/rsa2048-pss.pem" --chain "$PKI/chain.pem"; then
    qpdf_check "$out" && openssl_verify "$out" && pass "RSASSA-PSS key (checked by openssl cms)"
else
    fail "RSASSA-PSS key: eseal sign failed"
fi

# The CMS is PAdES baseline B-B: signing-certificate-v2 and no signing-time attribute.
openssl cms -cmsout -print -inform DER -in "$(ls "$tmp"/dump.pdf.sig* | sort -V | tail -1)" >"$tmp/cms.txt"
grep -q "id-smime-aa-signingCertificateV2" "$tmp/cms.txt" && pass "signing-certificate-v2 present" ||
    fail "no signing-certificate-v2 attribute"
grep -q "signingTime" "$tmp/cms.txt" && fail "a signing-time attribute is present" || pass "no signing-time attribute"
grep -q "eContent: <ABSENT>" "$tmp/cms.txt" && pass "detached" || fail "the CMS is not detached"
finish
