#!/usr/bin/env bash
# Signing into an existing empty signature field, and new named fields.
source "$(dirname "$0")/../lib.sh"
key=(--key "$PKI/rsa2048.key" --cert "$PKI/rsa2048.pem")
form="$CORPUS/inputs/p07_appform_lo_sigfield_seal.pdf"
o="$tmp/out.pdf"
if sign "$form" "$o" "${key[@]}" --field seal --image "$SEAL_PNG"; then
    pdfsig_check "$o" 1 && grep -q "Signature Field Name: seal" <<<"$(pdfsig "$o")" &&
        pass "signed into the existing field 'seal'" || fail "the signature is not in field 'seal'"
    # the field's rectangle (qpdf: /Rect [ 333.2 244.058882 452.255118 363.114 ]) in mm
    seal_at "$o" "$form" 117.5 86.1 42 42 && pass "the seal fills the field"
    refused "already signed" "$tmp/o2.pdf" "$ESEAL" sign "$o" "$tmp/o2.pdf" "${key[@]}" --field seal
else
    fail "signing into field 'seal'"
fi
in="$ESEAL_SOURCE_DIR/samples/licence.pdf"
if sign "$in" "$tmp/n.pdf" "${key[@]}" --field "审批 Approval" --page 1 --rect 20,20,50,20; then
    grep -q "Signature Field Name: 审批 Approval" <<<"$(pdfsig "$tmp/n.pdf")" &&
        pass "new field with a UTF-8 name" || fail "new field name not shown by pdfsig"
    refused "already has a field named" "$tmp/n2.pdf" "$ESEAL" sign "$tmp/n.pdf" "$tmp/n2.pdf" \
        "${key[@]}" --field "审批 Approval" --page 1 --rect 80,20,50,20
else
    fail "new named field"
fi
finish
