#!/usr/bin/env bash
# eseal seal make | show: GB/T 38540 seals made with SM2, RSA and ECDSA makers (keys and
# certificates made by openssl), read by openssl asn1parse, the maker's signature checked by
# openssl dgst over SES_SealInfo cut out of the file; seal show --json checked against openssl's
# view of the certificates and files; a picture byte or a date digit changed makes seal show
# exit 1; refusals leave no file.
source "$(dirname "$0")/../lib.sh"
has() { grep -q -- "$1" <<<"$2" && pass "$3" || fail "$3: '$1' not in: $2"; }
name="示例贸易有限公司合同专用章"

# ---- keys and certificates, by openssl
cert_of() { # KEYFILE SUBJECT OUT [openssl req options]: a self-signed end-entity certificate
    local key=$1 subj=$2 out=$3
    shift 3
    openssl req -new -x509 -utf8 -key "$key" -subj "$subj" -days 365 \
        -addext basicConstraints=critical,CA:FALSE -out "$out" "$@" 2>"$tmp/req.err" ||
        fail "openssl req $subj: $(cat "$tmp/req.err")"
}
openssl genpkey -algorithm SM2 -out "$tmp/sm2maker.key" 2>/dev/null
cert_of "$tmp/sm2maker.key" "/C=CN/O=示例省市场监督管理局/CN=电子印章制章系统" "$tmp/sm2maker.pem" \
    -sm3 -sigopt distid:1234567812345678
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/rsamaker.key" 2>/dev/null
cert_of "$tmp/rsamaker.key" "/C=CN/O=Seal Maker/CN=RSA seal maker" "$tmp/rsamaker.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ecmaker.key" 2>/dev/null
cert_of "$tmp/ecmaker.key" "/C=CN/O=Seal Maker/CN=EC seal maker" "$tmp/ecmaker.pem"
openssl genpkey -algorithm SM2 -out "$tmp/ent.key" 2>/dev/null
cert_of "$tmp/ent.key" "/C=CN/O=示例贸易有限公司/CN=示例贸易" "$tmp/ent.pem" -sm3
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ent2.key" 2>/dev/null
cert_of "$tmp/ent2.key" "/C=CN/O=Example Trading/CN=Example Trading (EC)" "$tmp/ent2.pem"
# two signers in one file
cat "$tmp/ent.pem" "$tmp/ent2.pem" >"$tmp/both.pem"
# a CA certificate (openssl req -x509's default extensions)
openssl req -new -x509 -key "$tmp/ent2.key" -subj "/CN=A CA" -days 30 -out "$tmp/ca.pem" 2>/dev/null
# a JPEG picture
pdftoppm -jpeg -r 10 -f 1 -l 1 -singlefile "$ESEAL_SOURCE_DIR/samples/licence.pdf" "$tmp/pic" ||
    fail "pdftoppm -jpeg"

fp_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f; }
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }

# by_hand SEAL MAKERCERT DIGEST: SES_SealInfo and the signature value cut out of SEAL at the
# offsets openssl asn1parse gives, the signature checked by openssl dgst
by_hand() {
    local seal=$1 cert=$2 md=$3 out
    python3 - "$seal" "$tmp/info.bin" "$tmp/sig.bin" <<'EOF' || { fail "cutting $1"; return; }
import re, subprocess, sys
der = open(sys.argv[1], "rb").read()
lines = subprocess.run(["openssl", "asn1parse", "-inform", "DER", "-in", sys.argv[1]],
                       capture_output=True, text=True, check=True).stdout.splitlines()
top = [tuple(int(x) for x in re.match(r"\s*(\d+):d=1\s+hl=\s*(\d+)\s+l=\s*(\d+)", l).groups())
       for l in lines if re.search(r":d=1 ", l)]
assert len(top) == 4, top
o, h, l = top[0]
open(sys.argv[2], "wb").write(der[o:o + h + l])
o, h, l = top[3]
assert der[o] == 0x03 and der[o + h] == 0, "BIT STRING with no unused bits"
open(sys.argv[3], "wb").write(der[o + h + 1:o + h + l])
EOF
    openssl x509 -in "$cert" -noout -pubkey >"$tmp/makerpub.pem"
    local opt=()
    [ "$md" = sm3 ] && opt=(-sigopt distid:1234567812345678)
    out=$(openssl dgst "-$md" -verify "$tmp/makerpub.pem" "${opt[@]}" -signature "$tmp/sig.bin" \
        "$tmp/info.bin" 2>&1) || true
    [ "$out" = "Verified OK" ] && pass "openssl dgst -$md: the maker's signature over SES_SealInfo" ||
        fail "openssl dgst -$md on $(basename "$seal"): $out"
}

# json_check SEAL PYTHON-ASSERTIONS...: seal show --json is valid JSON (exit 0) and j satisfies them
json_check() {
    local seal=$1 rc=0
    shift
    "$ESEAL" seal show --json "$seal" >"$tmp/show.json" || rc=$?
    [ "$rc" -eq 0 ] || fail "seal show --json $(basename "$seal"): exit $rc"
    python3 - "$tmp/show.json" "$@" <<'EOF' && pass "seal show --json $(basename "$seal")" ||
import json, sys
j = json.load(open(sys.argv[1]))
for expr in sys.argv[2:]:
    assert eval(expr), expr + " is false; got " + json.dumps(j, ensure_ascii=False)
EOF
        fail "seal show --json $(basename "$seal")"
}

# ---- an SM2 maker, two signers, the PNG picture
"$ESEAL" seal make --picture "$SEAL_PNG" --name "$name" --cert "$tmp/ent.pem" \
    --cert "$tmp/ent2.pem" --valid-from 2025-01-01 --valid-to 2030-12-31 \
    --maker-key "$tmp/sm2maker.key" --maker-cert "$tmp/sm2maker.pem" "$tmp/sm2.seal" ||
    fail "seal make (SM2 maker)"
p=$(openssl asn1parse -inform DER -in "$tmp/sm2.seal" 2>&1) || fail "openssl asn1parse sm2.seal"
has "IA5STRING         :ES" "$p" "asn1parse: SES_Header.ID ES"
has "INTEGER           :04" "$p" "asn1parse: version 4"
has "IA5STRING         :eseal" "$p" "asn1parse: Vid eseal"
has "UTF8STRING        :$name" "$p" "asn1parse: the name as UTF8String"
has "GENERALIZEDTIME   :20250101000000Z" "$p" "asn1parse: validStart GeneralizedTime"
has "GENERALIZEDTIME   :20301231235959Z" "$p" "asn1parse: validEnd, the end of the day given"
[ "$(grep -c GENERALIZEDTIME <<<"$p")" -eq 3 ] && pass "asn1parse: three GeneralizedTimes" ||
    fail "asn1parse: not three GeneralizedTimes"
has "OBJECT            :SM2-with-SM3" "$p" "asn1parse: signAlgID SM2-with-SM3"
by_hand "$tmp/sm2.seal" "$tmp/sm2maker.pem" sm3
json_check "$tmp/sm2.seal" \
    "j['format'] == 'GB/T 38540-2020' and j['version'] == 4 and j['vid'] == 'eseal'" \
    "j['name'] == '$name' and j['type'] == 1 and j['type_name'] == 'organisation'" \
    "j['valid_from'] == '2025-01-01T00:00:00Z' and j['valid_to'] == '2030-12-31T23:59:59Z'" \
    "len(j['esid']) == 31 and j['cert_list_type'] == 1 and j['digests'] == []" \
    "[c['sha256'] for c in j['certificates']] == ['$(fp_of "$tmp/ent.pem")', '$(fp_of "$tmp/ent2.pem")']" \
    "[c['serial'] for c in j['certificates']] == ['$(serial_of "$tmp/ent.pem")', '$(serial_of "$tmp/ent2.pem")']" \
    "j['certificates'][0]['cn'] == '示例贸易' and 'O=示例贸易有限公司' in j['certificates'][0]['subject']" \
    "j['picture'] == {'type': 'PNG', 'bytes': $(stat -c %s "$SEAL_PNG"), 'width_mm': 42, 'height_mm': 42, 'decodes': True, 'width_px': 496, 'height_px': 496}" \
    "j['maker']['subject'] == 'CN=电子印章制章系统,O=示例省市场监督管理局,C=CN' and j['maker']['serial'] == '$(serial_of "$tmp/sm2maker.pem")'" \
    "j['signature_algorithm'] == {'oid': '1.2.156.10197.1.501', 'name': 'SM2-with-SM3'}" \
    "j['maker_signature'] == {'valid': True, 'signed_over': 'SES_SealInfo'}"
t=$("$ESEAL" seal show "$tmp/sm2.seal" --picture-out "$tmp/back.png") || fail "seal show (text)"
has "maker signature   holds" "$t" "seal show: the maker's signature holds"
has "496 x 496 pixels" "$t" "seal show: the picture's pixels"
cmp -s "$tmp/back.png" "$SEAL_PNG" && pass "--picture-out gives the picture back" ||
    fail "--picture-out differs from the picture"

# ---- an RSA maker from PKCS#12 with a password; the JPEG picture, a person's seal, 40x30 mm
echo "p12-pass-4321" >"$tmp/p12pass.txt"
openssl pkcs12 -export -inkey "$tmp/rsamaker.key" -in "$tmp/rsamaker.pem" \
    -passout "file:$tmp/p12pass.txt" -out "$tmp/rsamaker.p12" 2>/dev/null
"$ESEAL" seal make --picture "$tmp/pic.jpg" --name "张三" --cert "$tmp/both.pem" --type personal \
    --size-mm 40x30 --esid "ES-2025-0001" --vid "vendor-x" --valid-to 2031-06-30T12:00:00Z \
    --maker-key "$tmp/rsamaker.p12" --maker-pass-file "$tmp/p12pass.txt" "$tmp/rsa.seal" ||
    fail "seal make (RSA maker, PKCS#12)"
p=$(openssl asn1parse -inform DER -in "$tmp/rsa.seal" 2>&1) || fail "openssl asn1parse rsa.seal"
has "OBJECT            :sha256WithRSAEncryption" "$p" "asn1parse: signAlgID sha256WithRSA"
has "IA5STRING         :JPG" "$p" "asn1parse: picture type JPG"
by_hand "$tmp/rsa.seal" "$tmp/rsamaker.pem" sha256
json_check "$tmp/rsa.seal" "j['type'] == 2 and j['type_name'] == 'personal'" \
    "j['esid'] == 'ES-2025-0001' and j['vid'] == 'vendor-x' and j['name'] == '张三'" \
    "j['valid_to'] == '2031-06-30T12:00:00Z' and len(j['certificates']) == 2" \
    "j['picture']['type'] == 'JPG' and j['picture']['width_mm'] == 40 and j['picture']['height_mm'] == 30" \
    "j['picture']['bytes'] == $(stat -c %s "$tmp/pic.jpg") and j['picture']['decodes']" \
    "j['signature_algorithm']['name'] == 'sha256WithRSAEncryption' and j['maker_signature']['valid']"

# ---- an ECDSA maker; the signers listed by SM3 digest (certListType 2)
"$ESEAL" seal make --picture "$SEAL_PNG" --name "Example Trading Ltd." --cert "$tmp/ent2.pem" \
    --cert-digests --valid-to 2030-01-01 --maker-key "$tmp/ecmaker.key" \
    --maker-cert "$tmp/ecmaker.pem" "$tmp/ec.seal" || fail "seal make (ECDSA maker)"
p=$(openssl asn1parse -inform DER -in "$tmp/ec.seal" 2>&1) || fail "openssl asn1parse ec.seal"
has "OBJECT            :ecdsa-with-SHA256" "$p" "asn1parse: signAlgID ecdsa-with-SHA256"
has "PRINTABLESTRING   :SM3" "$p" "asn1parse: CertDigestObj.type SM3"
by_hand "$tmp/ec.seal" "$tmp/ecmaker.pem" sha256
sm3=$(openssl x509 -in "$tmp/ent2.pem" -outform DER | openssl dgst -sm3 -r | cut -d' ' -f1)
json_check "$tmp/ec.seal" "j['cert_list_type'] == 2 and j['certificates'] == []" \
    "j['digests'] == [{'type': 'SM3', 'value': '$sm3'}]" \
    "j['signature_algorithm']['name'] == 'ecdsa-with-SHA256' and j['maker_signature']['valid']"

# ---- tampered: a byte of the picture, a digit of validEnd
tamper() { # IN OUT PYTHON: OUT is IN with its bytes d changed by PYTHON
    python3 -c "import sys; d = bytearray(open(sys.argv[1], 'rb').read()); $3; open(sys.argv[2], 'wb').write(d)" \
        "$1" "$2"
}
pic=$(stat -c %s "$SEAL_PNG")
tamper "$tmp/sm2.seal" "$tmp/pic-changed.seal" \
    "png = open('$SEAL_PNG', 'rb').read(); i = d.find(png); assert i > 0; d[i + $pic // 2] ^= 1"
tamper "$tmp/sm2.seal" "$tmp/date-changed.seal" \
    "i = d.find(b'20301231235959Z'); assert i > 0; d[i + 3] = ord('1')"
for f in pic-changed date-changed; do
    rc=0
    t=$("$ESEAL" seal show "$tmp/$f.seal" 2>&1) || rc=$?
    if [ "$rc" -eq 1 ] && grep -q "maker signature   does not verify" <<<"$t" &&
        grep -q "^name  *$name" <<<"$t"; then
        pass "seal show $f: exit 1, the maker's signature does not verify, all shown still"
    else
        fail "seal show $f: exit $rc: $t"
    fi
    rc=0
    "$ESEAL" seal show --json "$tmp/$f.seal" >"$tmp/t.json" || rc=$?
    [ "$rc" -eq 1 ] && python3 -c "import json,sys; j = json.load(open(sys.argv[1])); assert not j['maker_signature']['valid'] and 'does not verify' in j['maker_signature']['error']" "$tmp/t.json" &&
        pass "seal show --json $f: valid false" || fail "seal show --json $f: exit $rc"
done
t=$("$ESEAL" seal show --json "$tmp/date-changed.seal") || true
grep -q '"valid_to":"2031-12-31T23:59:59Z"' <<<"$t" &&
    pass "the changed date is what is shown" || fail "the changed date is not shown"

# ---- a name carrying terminal controls: C1 CSI (U+009B, which a terminal takes as ESC [) and a
# bidirectional override (U+202E); shown as '?' in text, kept in JSON
"$ESEAL" seal make --picture "$SEAL_PNG" --name $'Evil\xc2\x9b2J Co\xe2\x80\xae.' \
    --cert "$tmp/ent2.pem" --valid-to 2030-01-01 --maker-key "$tmp/ecmaker.key" \
    --maker-cert "$tmp/ecmaker.pem" "$tmp/ctl.seal" || fail "seal make (controls in the name)"
t=$("$ESEAL" seal show "$tmp/ctl.seal") || fail "seal show ctl.seal"
if LC_ALL=C grep -q $'\xc2\x9b' <<<"$t" || LC_ALL=C grep -q $'\xe2\x80\xae' <<<"$t"; then
    fail "seal show prints the name's controls as they are"
else
    pass "seal show: no C1 control or bidi override reaches the terminal"
fi
has "Evil?2J Co?." "$t" "seal show: the controls shown as '?'"
python3 -c "import json,sys; j = json.load(open(sys.argv[1])); assert j['name'] == 'Evil\u009b2J Co\u202e.', j['name']" \
    <("$ESEAL" seal show --json "$tmp/ctl.seal") && pass "seal show --json: the name as it is" ||
    fail "seal show --json: the name"

# ---- refusals: one line, non-zero, no output file
mk=(--picture "$SEAL_PNG" --name "X" --valid-to 2030-01-01)
sm2m=(--maker-key "$tmp/sm2maker.key" --maker-cert "$tmp/sm2maker.pem")
refused "does not belong" "$tmp/r.seal" "$ESEAL" seal make "${mk[@]}" --cert "$tmp/ent.pem" \
    --maker-key "$tmp/rsamaker.key" --maker-cert "$tmp/sm2maker.pem" "$tmp/r.seal"
echo "not a picture" >"$tmp/text.png"
refused "not a PNG or JPEG" "$tmp/r.seal" "$ESEAL" seal make --picture "$tmp/text.png" --name X \
    --valid-to 2030-01-01 --cert "$tmp/ent.pem" "${sm2m[@]}" "$tmp/r.seal"
head -c 300 "$SEAL_PNG" >"$tmp/cut.png"
refused "does not decode" "$tmp/r.seal" "$ESEAL" seal make --picture "$tmp/cut.png" --name X \
    --valid-to 2030-01-01 --cert "$tmp/ent.pem" "${sm2m[@]}" "$tmp/r.seal"
refused "validity" "$tmp/r.seal" "$ESEAL" seal make "${mk[@]}" --valid-from 2031-01-01 \
    --cert "$tmp/ent.pem" "${sm2m[@]}" "$tmp/r.seal"
refused "--cert is required" "$tmp/r.seal" "$ESEAL" seal make "${mk[@]}" "${sm2m[@]}" "$tmp/r.seal"
refused "CA certificate" "$tmp/r.seal" "$ESEAL" seal make "${mk[@]}" --cert "$tmp/ca.pem" \
    "${sm2m[@]}" "$tmp/r.seal"
refused "password" "$tmp/r.seal" "$ESEAL" seal make "${mk[@]}" --cert "$tmp/ent.pem" \
    --maker-key "$tmp/rsamaker.p12" "$tmp/r.seal"
refused "no such file" "$tmp/r.seal" "$ESEAL" seal make "${mk[@]}" --cert "$tmp/nothere.pem" \
    "${sm2m[@]}" "$tmp/r.seal"
refused "--type needs" "$tmp/r.seal" "$ESEAL" seal make "${mk[@]}" --type club \
    --cert "$tmp/ent.pem" "${sm2m[@]}" "$tmp/r.seal"
refused "--size-mm" "$tmp/r.seal" "$ESEAL" seal make "${mk[@]}" --size-mm 0x5 \
    --cert "$tmp/ent.pem" "${sm2m[@]}" "$tmp/r.seal"
rc=0
"$ESEAL" seal make "${mk[@]}" --cert "$tmp/ent.pem" "${sm2m[@]}" --bogus "$tmp/r.seal" \
    2>/dev/null || rc=$?
[ "$rc" -eq 2 ] && pass "an unknown option: exit 2" || fail "an unknown option: exit $rc"
refused "not a seal" "$tmp/none" "$ESEAL" seal show "$SEAL_PNG"
head -c 500 "$tmp/sm2.seal" >"$tmp/cut.seal"
refused "truncated" "$tmp/none" "$ESEAL" seal show "$tmp/cut.seal"

# ---- help
grep -q "seal make" <<<"$("$ESEAL" seal --help)" && grep -q "seal show" <<<"$("$ESEAL" seal --help)" &&
    pass "seal --help names make and show" || fail "seal --help"
grep -q -- "--maker-key" <<<"$("$ESEAL" seal make --help)" && pass "seal make --help" ||
    fail "seal make --help"
grep -q -- "--picture-out" <<<"$("$ESEAL" seal show --help)" && pass "seal show --help" ||
    fail "seal show --help"
finish
