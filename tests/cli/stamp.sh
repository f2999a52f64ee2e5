#!/usr/bin/env bash
# eseal stamp beyond the export template the corpus tests use: the seal in a named form field,
# a multi-page register, template and value mistakes named precisely, and the QR token checked
# by openssl against the definition in templates/README.md.
source "$(dirname "$0")/../lib.sh"
T="$ESEAL_SOURCE_DIR/templates"
key=(--key "$PKI/rsa2048.key" --cert "$PKI/rsa2048.pem" --chain "$PKI/chain.pem")
id=1.2.156.3005.2.11100000000013338W011.11990000MB0001234L.20240000128.001.A
vals=(--set licence_id=$id --set enterprise=示例科技有限公司 --set credit_code=91990000MA0000001B
    --set valid_from=2024-03-15 --set valid_to=2024-12-31)

# 1. An enterprise seals its application form: the seal goes into the empty field "seal".
form="$CORPUS/inputs/p07_appform_lo_sigfield_seal.pdf"
if "$ESEAL" stamp "$form" "$tmp/form.pdf" -q --template "$T/application-form.json" \
    --seal-image "$SEAL_PNG" "${key[@]}" --set enterprise=示例科技有限公司 \
    --set credit_code=91990000MA0000001B; then
    pdfsig_check "$tmp/form.pdf" 1 && grep -q "Signature Field Name: seal" <<<"$(pdfsig "$tmp/form.pdf")" &&
        pass "signed into the form's seal field"
    gs -q -dNOPAUSE -dBATCH -dSAFER -dUseCropBox -sDEVICE=png16m -r100 -dPrinted -sOutputFile="$tmp/f1.png" "$tmp/form.pdf"
    gs -q -dNOPAUSE -dBATCH -dSAFER -dUseCropBox -sDEVICE=png16m -r100 -dPrinted -sOutputFile="$tmp/f0.png" "$form"
    # the field's /Rect [333.2 244.06 452.26 363.11] in mm: 117.5 86.1, 42 x 42
    got=$("$FIND_RED" --in 116,84,45,45 "$tmp/f1.png" 100 "$tmp/f0.png")
    awk -v g="$got" 'BEGIN { split(g, a, " "); exit !(a[1] != "none" && a[5] > 1500 &&
        a[1] >= 116.5 && a[3] <= 160.5 && a[2] >= 85 && a[4] <= 129.2) }' &&
        pass "printed seal fills the field: [$got]" || fail "printed seal not in the field: [$got]"
    pdftoppm -cropbox -r 100 -png -singlefile "$tmp/form.pdf" "$tmp/s1"
    pdftoppm -cropbox -r 100 -png -singlefile "$form" "$tmp/s0"
    red=$("$FIND_RED" --in 116,84,45,45 "$tmp/s1.png" 100 "$tmp/s0.png")
    fog=$("$FIND_RED" --in 116,84,45,45 --fog "$tmp/s1.png" 100 "$tmp/s0.png")
    awk -v r="$red" -v f="$fog" 'BEGIN { split(r, a, " "); split(f, b, " ");
        exit !(a[2] + 0 < 20 && b[5] > 1000) }' && pass "screen shows fog in the field" ||
        fail "screen: red [$red] fog [$fog]"
else
    fail "stamp into the form's field"
fi

# 2. The food business template on a 50-page register: seal and QR code on the last page, the
#    watermark and its micro-text border on every page (checked on page 25).
reg="$CORPUS/inputs/p18_register_lo_50p.pdf"
if "$ESEAL" stamp "$reg" "$tmp/reg.pdf" -q --template "$T/food-business-licence.json" \
    --seal-image "$BUREAU_PNG" "${key[@]}" --qr-key "$PKI/ec256.key" "${vals[@]}"; then
    pdfsig_check "$tmp/reg.pdf" 1 && qpdf_check "$tmp/reg.pdf" && pass "register stamped"
    pdftoppm -cropbox -r 50 -png -singlefile -f 25 -l 25 "$reg" "$tmp/m0"
    pdftoppm -cropbox -r 50 -png -singlefile -f 25 -l 25 "$tmp/reg.pdf" "$tmp/m1"
    read -r _ cells total <<<"$("$FIND_RED" --changed "$tmp/m1.png" 50 "$tmp/m0.png")"
    [ "$((cells * 4))" -ge "$total" ] && pass "page 25 watermarked ($cells of $total squares)" ||
        fail "page 25: watermark changes $cells of $total squares"
    pdftoppm -r 150 -png -singlefile -f 50 -l 50 "$tmp/reg.pdf" "$tmp/q"
    qr=$(zbarimg --raw -q -Sdisable -Sqrcode.enable -Sbinary --nodbus "$tmp/q.png" 2>/dev/null || true)
    [[ "$qr" == "https://scjg.example.gov.cn/sp/$id?t="* ]] && pass "QR on the last page" ||
        fail "QR on the last page: '$qr'"
    # the micro-text border: glyph outlines drawn 4 mm inside the edges; at 600 dpi the bottom
    # strip of page 25 holds ink that the original has not
    pdftoppm -cropbox -r 300 -png -singlefile -f 25 -l 25 -y 3350 -H 150 -x 0 -W 2480 "$reg" "$tmp/b0"
    pdftoppm -cropbox -r 300 -png -singlefile -f 25 -l 25 -y 3350 -H 150 -x 0 -W 2480 "$tmp/reg.pdf" "$tmp/b1"
    read -r changed _ _ <<<"$("$FIND_RED" --changed "$tmp/b1.png" 300 "$tmp/b0.png")"
    [ "$changed" -gt 2000 ] && pass "micro-text border ($changed pixels)" ||
        fail "no micro-text border along the bottom edge ($changed pixels changed)"
    # the QR token: an ECDSA P-256 signature (raw r||s, base64url) over the message of
    # templates/README.md, checked with openssl and the public key
    tok=${qr##*t=}
    printf 'eseal-qr-v1\n%s\n%s\n%s\n%s\n' "$id" 91990000MA0000001B 2024-03-15 2024-12-31 >"$tmp/msg"
    pad=$(((4 - ${#tok} % 4) % 4))
    printf '%s%s' "$(tr '_-' '/+' <<<"$tok")" "$(head -c $pad /dev/zero | tr '\0' '=')" |
        base64 -d >"$tmp/raw" 2>/dev/null || true
    hex=$(od -An -v -tx1 "$tmp/raw" | tr -d ' \n')
    if [ ${#hex} -eq 128 ]; then
        printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' "${hex:0:64}" "${hex:64}" >"$tmp/sig.cnf"
        openssl asn1parse -genconf "$tmp/sig.cnf" -out "$tmp/sig.der" >/dev/null
        openssl pkey -in "$PKI/ec256.key" -pubout -out "$tmp/pub.pem"
        openssl dgst -sha256 -verify "$tmp/pub.pem" -signature "$tmp/sig.der" "$tmp/msg" >/dev/null &&
            pass "QR token verified by openssl" || fail "openssl rejects the QR token"
        printf 'eseal-qr-v1\n%s\n%s\n%s\n%s\n' "$id" 91990000MA0000001B 2024-03-15 2025-12-31 >"$tmp/msg2"
        openssl dgst -sha256 -verify "$tmp/pub.pem" -signature "$tmp/sig.der" "$tmp/msg2" >/dev/null 2>&1 &&
            fail "the token also verifies for another expiry date" || pass "token bound to the dates"
    else
        fail "QR token is not 64 bytes: '$tok'"
    fi
else
    fail "stamp the register"
fi

# 3. Mistakes in templates and values are named.
in="$ESEAL_SOURCE_DIR/samples/licence.pdf"
bad() { # EXPECT TEMPLATE-JSON [VALUES...]
    local expect=$1 json=$2
    shift 2
    printf '%s' "$json" >"$tmp/t.json"
    refused "$expect" "$tmp/o.pdf" "$ESEAL" stamp "$in" "$tmp/o.pdf" --template "$tmp/t.json" \
        --seal-image "$BUREAU_PNG" "${key[@]}" "$@"
}
ok='"eseal_template": 1, "name": "t", "fields": {"licence_id": {"required": true, "format": "licence-id"}}'
bad "line 1, column" '{"eseal_template": 1,'
bad "seal.at.corner: expected top-left" "{$ok, \"seal\": {\"at\": {\"corner\": \"middle\", \"x_mm\": 1, \"y_mm\": 1}}}"
bad "unknown key" "{$ok, \"seal\": {\"at\": {\"field\": \"s\"}}, \"qr\": {\"contnet\": \"x\"}}"
bad "unknown placeholder {enterprise}" "{$ok, \"seal\": {\"at\": {\"field\": \"s\"}}, \"watermark\": {\"text\": \"{enterprise}\"}}"
bad "qr.size_mm: expected a number from 10 to 100" "{$ok, \"seal\": {\"at\": {\"field\": \"s\"}}, \"qr\": {\"content\": \"{licence_id}\", \"at\": {\"corner\": \"top-left\", \"x_mm\": 1, \"y_mm\": 1}, \"size_mm\": 500}}"
bad "expected 1 (the format version)" '{"eseal_template": 2}'
bad "licence_id is required" "{$ok, \"seal\": {\"at\": {\"field\": \"s\"}}}"
bad "check character is 'B'" "{$ok, \"seal\": {\"at\": {\"field\": \"s\"}}}" --set licence_id=${id%A}B
bad "has no field \"colour\"" "{$ok, \"seal\": {\"at\": {\"field\": \"s\"}}}" --set licence_id=$id --set colour=red
bad "not a date" "$(sed 's/"format": "licence-id"/"format": "date"/' <<<"{$ok, \"seal\": {\"at\": {\"field\": \"s\"}}}")" --set licence_id=2024-02-30
finish
