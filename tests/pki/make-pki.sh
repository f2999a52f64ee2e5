#!/usr/bin/env bash
# make-pki.sh OUTDIR — generate the eseal test PKI with the openssl (3.0) command line only.
#
# Idempotent: if OUTDIR/.done exists and is newer than this script, nothing is done. Otherwise
# everything is generated in a scratch directory inside OUTDIR, moved into place, and OUTDIR/.done
# is touched last. Prints one line on success, errors on stderr with a non-zero exit.
#
# All keys are unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY") unless stated; all certificates are PEM,
# signed with SHA-256 (SHA-384 in the EC hierarchy), with random 128-bit serial numbers.
#
# Certification authorities
#   root-ca.pem / root-ca.key          RSA-3072 self-signed root, "eseal Test Root CA", 10 years,
#                                      basicConstraints critical CA:TRUE, keyUsage critical
#                                      keyCertSign,cRLSign, SKI (+ AKI keyid).
#   issuing-ca.pem / issuing-ca.key    RSA-2048 "eseal Test Issuing CA", signed by root-ca, 10 years,
#                                      CA:TRUE,pathlen:0 (critical), keyCertSign,cRLSign, SKI + AKI.
#   ec-root-ca.pem / ec-root-ca.key    P-384 self-signed root "eseal Test EC Root CA", same profile.
#   ec-issuing-ca.pem / .key           P-384 "eseal Test EC Issuing CA", signed by ec-root-ca, pathlen:0.
#   chain.pem                          issuing-ca.pem then root-ca.pem (signer's chain, leaf excluded).
#   ec-chain.pem                       ec-issuing-ca.pem then ec-root-ca.pem.
#
# Signers (end entity, 3 years, basicConstraints CA:FALSE, keyUsage critical
# digitalSignature,nonRepudiation, no extendedKeyUsage, SKI + AKI; subject C=CN, O, CN)
#   rsa2048.pem / rsa2048.key          RSA-2048, issued by issuing-ca.
#   rsa3072.pem / rsa3072.key          RSA-3072, issued by issuing-ca.
#   rsa4096.pem / rsa4096.key          RSA-4096, issued by issuing-ca.
#   rsa2048-pss.pem / rsa2048-pss.key  RSA-PSS key (genpkey -algorithm RSA-PSS, 2048 bits, no parameter
#                                      restrictions; SPKI algorithm id-RSASSA-PSS), issued by issuing-ca
#                                      (the certificate itself is signed sha256WithRSAEncryption).
#   ec256.pem / ec256.key              ECDSA P-256, issued by ec-issuing-ca.
#   ec384.pem / ec384.key              ECDSA P-384, issued by ec-issuing-ca.
#   rsa2048-cn.pem / rsa2048-cn.key    RSA-2048, issued by issuing-ca, UTF-8 Chinese subject
#                                      CN=O=示例科技有限公司 (UTF8String), to exercise UTF-8 names.
#
# Key containers (password in pass.txt)
#   pass.txt                           "test-pass-1234" followed by one newline; readers must strip
#                                      one trailing newline.
#   rsa2048-enc.key                    rsa2048.key as encrypted PKCS#8 ("BEGIN ENCRYPTED PRIVATE KEY"),
#                                      PBES2 / PBKDF2-HMAC-SHA256 / AES-256-CBC.
#   rsa2048.p12                        PKCS#12: rsa2048 key + rsa2048.pem + chain.pem, friendly name
#                                      "rsa2048", OpenSSL 3 defaults (AES-256-CBC, PBKDF2, SHA-256 MAC).
#   ec256.p12                          PKCS#12: ec256 key + ec256.pem + ec-chain.pem, same settings.
#
# Negative cases
#   expired.pem / expired.key          RSA-2048 signer issued by issuing-ca with a validity entirely in
#                                      the past (2020-01-01 to 2021-01-01), made with `openssl ca`.
#   mismatch.pem                       a copy of rsa3072.pem; use it with rsa2048.key (or mismatch.key)
#                                      to test "private key does not match certificate".
#   mismatch.key                       a copy of rsa2048.key (the key that does NOT match mismatch.pem).
#
# Time-stamping and revocation (for the verifier)
#   tsa.pem / tsa.key                  RSA-2048 "eseal Test TSA", issued by issuing-ca, 3 years, keyUsage critical
#                                      digitalSignature, extendedKeyUsage critical timeStamping only (RFC 3161 2.3),
#                                      SKI + AKI; usable with `openssl ts -reply`.
#   revoked.pem / revoked.key          RSA-2048 signer "eseal test signer revoked" issued by issuing-ca with
#                                      `openssl ca`, 3 years, the v3_signer profile plus a CRL distribution point
#                                      http://crl.eseal.test/issuing-ca.crl and an OCSP responder
#                                      http://ocsp.eseal.test in its AIA (neither name resolves: the pointers only
#                                      say that revocation can be checked), then revoked (keyCompromise) at the
#                                      time the PKI is made.
#   issuing-ca.crl                     PEM CRL (v2, CRL number) signed by issuing-ca listing revoked.pem, issued
#                                      when the PKI is made, nextUpdate 10 years later.
#
# Check a signer:  openssl verify -CAfile root-ca.pem -untrusted issuing-ca.pem rsa2048.pem
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
out=$1
script=${BASH_SOURCE[0]}

if [[ -f "$out/.done" && "$out/.done" -nt "$script" ]]; then
    exit 0
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/.done"
work=$(mktemp -d "$out/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

export LC_ALL=C.UTF-8
umask 077

# ---------------------------------------------------------------- configuration
cat > pki.cnf <<'EOF'
# Used by `openssl req` (CSRs, self-signed roots), `openssl x509 -req -extfile` and `openssl ca`.
[ req ]
distinguished_name = req_dn
string_mask        = utf8only
utf8               = yes
prompt             = no

[ req_dn ]
CN = placeholder

[ v3_root ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_issuing ]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_signer ]
basicConstraints       = CA:FALSE
keyUsage               = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_signer_pointers ]
basicConstraints       = CA:FALSE
keyUsage               = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints  = URI:http://crl.eseal.test/issuing-ca.crl
authorityInfoAccess    = OCSP;URI:http://ocsp.eseal.test

[ v3_tsa ]
basicConstraints       = CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = critical, timeStamping
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ crl_ext ]
authorityKeyIdentifier = keyid:always

# Minimal CA for `openssl ca`: the expired signer (x509 -req cannot backdate), the revoked signer
# and issuing-ca's CRL.
[ ca ]
default_ca = test_ca

[ test_ca ]
dir              = .
database         = ./index.txt
new_certs_dir    = ./newcerts
serial           = ./serial.txt
default_md       = sha256
policy           = policy_any
unique_subject   = no
copy_extensions  = none
crlnumber        = ./crlnumber.txt
default_crl_days = 3650
email_in_dn      = no

[ policy_any ]
countryName            = optional
organizationName       = optional
commonName             = supplied
EOF
: > index.txt
echo 01 > crlnumber.txt
mkdir newcerts

# ---------------------------------------------------------------- keys (in parallel: RSA keygen is slow)
pids=()
genkey() { # name algorithm [pkeyopt...]
    local name=$1 alg=$2; shift 2
    local opts=()
    for o in "$@"; do opts+=(-pkeyopt "$o"); done
    openssl genpkey -quiet -algorithm "$alg" "${opts[@]}" -out "$name.key" 2> "$name.keygen.log" &
    pids+=($!)
}
genkey root-ca      RSA     rsa_keygen_bits:3072
genkey issuing-ca   RSA     rsa_keygen_bits:2048
genkey ec-root-ca   EC      ec_paramgen_curve:P-384 ec_param_enc:named_curve
genkey ec-issuing-ca EC     ec_paramgen_curve:P-384 ec_param_enc:named_curve
genkey rsa2048      RSA     rsa_keygen_bits:2048
genkey rsa3072      RSA     rsa_keygen_bits:3072
genkey rsa4096      RSA     rsa_keygen_bits:4096
genkey rsa2048-pss  RSA-PSS rsa_keygen_bits:2048
genkey ec256        EC      ec_paramgen_curve:P-256 ec_param_enc:named_curve
genkey ec384        EC      ec_paramgen_curve:P-384 ec_param_enc:named_curve
genkey rsa2048-cn   RSA     rsa_keygen_bits:2048
genkey expired      RSA     rsa_keygen_bits:2048
genkey tsa          RSA     rsa_keygen_bits:2048
genkey revoked      RSA     rsa_keygen_bits:2048
for p in "${pids[@]}"; do
    if ! wait "$p"; then
        cat ./*.keygen.log >&2
        echo "make-pki: key generation failed" >&2
        exit 1
    fi
done

# ---------------------------------------------------------------- certificates
serial() { # random positive 128-bit serial (top bit clear, so it encodes in 16 octets)
    local h
    h=$(openssl rand -hex 16)
    printf '0x%x%s' $(( (0x${h:0:1} & 7) | 1 )) "${h:1}"
}

# selfsign NAME SUBJECT DIGEST
selfsign() {
    openssl req -new -x509 -config pki.cnf -utf8 -key "$1.key" -subj "$2" -"$3" \
        -days 3650 -set_serial "$(serial)" -extensions v3_root -out "$1.pem"
}

# issue NAME SUBJECT CA EXTENSIONS DAYS DIGEST
issue() {
    openssl req -new -config pki.cnf -utf8 -key "$1.key" -subj "$2" -out "$1.csr"
    openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -set_serial "$(serial)" \
        -days "$5" -"$6" -extfile pki.cnf -extensions "$4" -out "$1.pem" 2> "$1.x509.log" \
        || { cat "$1.x509.log" >&2; return 1; }
}

selfsign root-ca    "/C=CN/O=eseal Test PKI/CN=eseal Test Root CA"    sha256
selfsign ec-root-ca "/C=CN/O=eseal Test PKI/CN=eseal Test EC Root CA" sha384
issue issuing-ca    "/C=CN/O=eseal Test PKI/CN=eseal Test Issuing CA"    root-ca    v3_issuing 3650 sha256
issue ec-issuing-ca "/C=CN/O=eseal Test PKI/CN=eseal Test EC Issuing CA" ec-root-ca v3_issuing 3650 sha384

three_years=1095
o="eseal Test Enterprise Co., Ltd."
issue rsa2048     "/C=CN/O=$o/CN=eseal test signer rsa2048"     issuing-ca    v3_signer $three_years sha256
issue rsa3072     "/C=CN/O=$o/CN=eseal test signer rsa3072"     issuing-ca    v3_signer $three_years sha256
issue rsa4096     "/C=CN/O=$o/CN=eseal test signer rsa4096"     issuing-ca    v3_signer $three_years sha256
issue rsa2048-pss "/C=CN/O=$o/CN=eseal test signer rsa2048-pss" issuing-ca    v3_signer $three_years sha256
issue ec256       "/C=CN/O=$o/CN=eseal test signer ec256"       ec-issuing-ca v3_signer $three_years sha384
issue ec384       "/C=CN/O=$o/CN=eseal test signer ec384"       ec-issuing-ca v3_signer $three_years sha384
issue rsa2048-cn  "/C=CN/O=示例科技有限公司/CN=示例科技有限公司" issuing-ca    v3_signer $three_years sha256

# Expired signer: `openssl ca` is the only 3.0 command that takes explicit start and end dates.
openssl req -new -config pki.cnf -utf8 -key expired.key \
    -subj "/C=CN/O=$o/CN=eseal test signer expired" -out expired.csr
openssl ca -config pki.cnf -batch -notext -utf8 -preserveDN -rand_serial \
    -cert issuing-ca.pem -keyfile issuing-ca.key -md sha256 -extensions v3_signer \
    -startdate 20200101000000Z -enddate 20210101000000Z \
    -in expired.csr -out expired.pem 2> expired.ca.log \
    || { cat expired.ca.log >&2; exit 1; }

issue tsa "/C=CN/O=eseal Test PKI/CN=eseal Test TSA" issuing-ca v3_tsa $three_years sha256

# Revoked signer and the issuing CA's CRL, both by `openssl ca` (it keeps the index the CRL is
# made from).
openssl req -new -config pki.cnf -utf8 -key revoked.key \
    -subj "/C=CN/O=$o/CN=eseal test signer revoked" -out revoked.csr
openssl ca -config pki.cnf -batch -notext -utf8 -preserveDN -rand_serial \
    -cert issuing-ca.pem -keyfile issuing-ca.key -md sha256 -extensions v3_signer_pointers \
    -days $three_years -in revoked.csr -out revoked.pem 2> revoked.ca.log \
    || { cat revoked.ca.log >&2; exit 1; }
openssl ca -config pki.cnf -batch -cert issuing-ca.pem -keyfile issuing-ca.key -md sha256 \
    -revoke revoked.pem -crl_reason keyCompromise 2>> revoked.ca.log \
    || { cat revoked.ca.log >&2; exit 1; }
openssl ca -config pki.cnf -batch -cert issuing-ca.pem -keyfile issuing-ca.key -md sha256 \
    -gencrl -crlexts crl_ext -out issuing-ca.crl 2>> revoked.ca.log \
    || { cat revoked.ca.log >&2; exit 1; }

cat issuing-ca.pem root-ca.pem       > chain.pem
cat ec-issuing-ca.pem ec-root-ca.pem > ec-chain.pem
cp rsa3072.pem mismatch.pem
cp rsa2048.key mismatch.key

# ---------------------------------------------------------------- password-protected containers
printf 'test-pass-1234\n' > pass.txt
openssl pkcs8 -topk8 -in rsa2048.key -v2 aes-256-cbc -v2prf hmacWithSHA256 \
    -passout file:pass.txt -out rsa2048-enc.key
openssl pkcs12 -export -inkey rsa2048.key -in rsa2048.pem -certfile chain.pem -name rsa2048 \
    -passout file:pass.txt -out rsa2048.p12
openssl pkcs12 -export -inkey ec256.key -in ec256.pem -certfile ec-chain.pem -name ec256 \
    -passout file:pass.txt -out ec256.p12

# ---------------------------------------------------------------- install
files=(
    root-ca.pem root-ca.key issuing-ca.pem issuing-ca.key
    ec-root-ca.pem ec-root-ca.key ec-issuing-ca.pem ec-issuing-ca.key
    chain.pem ec-chain.pem
    rsa2048.pem rsa2048.key rsa3072.pem rsa3072.key rsa4096.pem rsa4096.key
    rsa2048-pss.pem rsa2048-pss.key ec256.pem ec256.key ec384.pem ec384.key
    rsa2048-cn.pem rsa2048-cn.key expired.pem expired.key mismatch.pem mismatch.key
    pass.txt rsa2048-enc.key rsa2048.p12 ec256.p12
    tsa.pem tsa.key revoked.pem revoked.key issuing-ca.crl
)
chmod 644 "${files[@]}"
mv -f "${files[@]}" "$out"/
cd "$out"
touch .done
echo "make-pki: ${#files[@]} files written to $out"
