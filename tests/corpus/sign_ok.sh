#!/usr/bin/env bash
# A sign-ok input of ../shared/corpus/inputs signs as an incremental update, and signs again and
# again: after each signature pdfsig calls every signature valid and only the last one total,
# qpdf --check is clean and the earlier bytes are untouched. Two chains:
#   approval: RSA-2048 invisible -> ECDSA P-256 visible with the seal image -> RSA-3072 PSS
#             visible without image
#   certification: RSA-2048 certify P=2 with the seal image -> ECDSA P-384 approval
source "$(dirname "$0")/../lib.sh"
name=$1
in="$CORPUS/inputs/$name"
[ -f "$in" ] || { fail "missing $in"; finish; }

s1=$tmp/s1.pdf s2=$tmp/s2.pdf s3=$tmp/s3.pdf
if sign "$in" "$s1" --key "$PKI/rsa2048.key" --cert "$PKI/rsa2048.pem" --chain "$PKI/chain.pem" \
    --reason "Approved" --location "Beijing"; then
    pdfsig_check "$s1" 1 && qpdf_check "$s1" && prefix_kept "$in" "$s1" && pass "first signature"
else
    fail "first signature"
fi
if [ -f "$s1" ] && sign "$s1" "$s2" --key "$PKI/ec256.key" --cert "$PKI/ec256.pem" \
    --chain "$PKI/ec-chain.pem" --page 1 --rect 120,40,42,42 --image "$SEAL_PNG"; then
    pdfsig_check "$s2" 2 && qpdf_check "$s2" && prefix_kept "$s1" "$s2" &&
        seal_at "$s2" "$s1" 120 40 42 42 && pass "second signature (ECDSA, seal image)"
else
    fail "second signature"
fi
if [ -f "$s2" ] && sign "$s2" "$s3" --key "$PKI/rsa3072.key" --cert "$PKI/rsa3072.pem" \
    --chain "$PKI/chain.pem" --pss --page 1 --rect 20,20,60,20 --reason "第三签名"; then
    pdfsig_check "$s3" 3 && qpdf_check "$s3" && prefix_kept "$s2" "$s3" &&
        pass "third signature (RSA-PSS, text appearance)"
else
    fail "third signature"
fi

c1=$tmp/c1.pdf c2=$tmp/c2.pdf
if sign "$in" "$c1" --key "$PKI/rsa2048.key" --cert "$PKI/rsa2048.pem" --certify 2 \
    --page 1 --rect 140,30,42,42 --image "$SEAL_PNG"; then
    pdfsig_check "$c1" 1 && qpdf_check "$c1" && seal_at "$c1" "$in" 140 30 42 42 &&
        pass "certification signature (DocMDP P=2)"
    root=$(qpdf --show-object=trailer "$c1" | sed -n 's/.*\/Root \([0-9]*\) .*/\1/p')
    if ! grep -q '/Perms << /DocMDP' <<<"$(qpdf --show-object="$root" "$c1")"; then
        fail "the catalog of a certified document has no /Perms /DocMDP"
    fi
else
    fail "certification signature"
fi
if [ -f "$c1" ] && sign "$c1" "$c2" --key "$PKI/ec384.key" --cert "$PKI/ec384.pem" \
    --chain "$PKI/ec-chain.pem"; then
    pdfsig_check "$c2" 2 && qpdf_check "$c2" && pass "approval after certification"
else
    fail "approval after certification"
fi
finish
