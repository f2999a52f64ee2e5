#!/usr/bin/env bash
# GB/T 38540 seals inside PDF signatures: eseal sign --seal, stamp templates naming a seal and
# autoseal batch carry the seal as a signed CMS attribute and show its picture; eseal verify
# reports the seal and fails what does not hold. Judged from outside where it can be: pdfsig
# for the signature, openssl cms for the signed attribute, pdftoppm for the picture on the
# page. Seals are made with eseal seal make; those that do not hold are put in by a rogue
# signer (tests/tools/resign.c: the enterprise's key, a bad seal, the same placeholder), as an
# attacker would.
source "$(dirname "$0")/../lib.sh"

in="$ESEAL_SOURCE_DIR/samples/licence.pdf"
rsa=(--key "$PKI/rsa2048.key" --cert "$PKI/rsa2048.pem" --chain "$PKI/chain.pem")
ec=(--key "$PKI/ec256.key" --cert "$PKI/ec256.pem" --chain "$PKI/ec-chain.pem")
anchors=(--trust "$PKI/root-ca.pem" --trust "$PKI/ec-root-ca.pem" --maker-trust maker.pem)
cd "$tmp"

# The seal maker: a P-256 key certified by the EC root itself (a seal carries the maker's
# certificate alone, so an intermediate would have to reach the verifier some other way).
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt \
    -out maker.key
openssl req -new -key maker.key -subj "/C=CN/O=eseal test/CN=eseal Test Seal Maker" -out maker.csr
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n' >maker.ext
openssl x509 -req -in maker.csr -CA "$PKI/ec-root-ca.pem" -CAkey "$PKI/ec-root-ca.key" \
    -days 365 -extfile maker.ext -out maker.pem 2>/dev/null

# at now+N|now-N : that many seconds from now, as eseal seal make takes times
at() { date -u -d "@$(($(date +%s) ${1#now}))" +%Y-%m-%dT%H:%M:%SZ; }
# mkseal OUT FROM TO CERT... [-- MAKE-OPTIONS] : a 42 x 42 mm seal of SEAL_PNG by eseal seal make
mkseal() {
    local out=$1 from=$2 to=$3 certs=()
    shift 3
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        certs+=(--cert "$1")
        shift
    done
    [ $# -gt 0 ] && shift
    "$ESEAL" seal make --picture "$SEAL_PNG" --name "示例科技有限公司合同专用章" "${certs[@]}" \
        --valid-from "$(at "$from")" --valid-to "$(at "$to")" --maker-key maker.key \
        --maker-cert maker.pem "$@" "$out" >/dev/null
}
mkseal ok.seal now-86400 now+31536000 "$PKI/rsa2048.pem" "$PKI/ec256.pem"
mkseal ec-only.seal now-86400 now+31536000 "$PKI/ec256.pem"
mkseal expired.seal now-864000 now-86400 "$PKI/rsa2048.pem" "$PKI/ec256.pem"
mkseal future.seal now+86400 now+864000 "$PKI/rsa2048.pem" "$PKI/ec256.pem"
mkseal hour.seal now-86400 now+3600 "$PKI/rsa2048.pem" "$PKI/ec256.pem"
# a seal that lists a third certificate: a document signed with it has room for any of the
# others in its placeholder, for the rogue signer
mkseal wide.seal now-86400 now+31536000 "$PKI/rsa2048.pem" "$PKI/ec256.pem" "$PKI/rsa3072.pem"
openssl asn1parse -inform DER -in ok.seal >/dev/null && pass "the seal parses with openssl asn1parse" ||
    fail "openssl asn1parse ok.seal"

# seal_edit IN OUT WHAT : the seal with one byte changed, its size kept: its esID's last
# character (esid), or the year of validEnd moved on (validity)
seal_edit() {
    python3 - "$1" "$2" "$3" <<'EOF'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
if sys.argv[3] == "esid":
    # SES_SealInfo: header SEQUENCE, then esID IA5String (tag 0x16)
    i = d.index(b"\x16", d.index(b"ES") + 2 + 3 + 2)  # past "ES", version, Vid
    n = d[i + 1]
    c = i + 2 + n - 1
    d[c] = ord("0") if d[c] != ord("0") else ord("1")
else:
    # the third GeneralizedTime (tag 0x18) of SES_ESPropertyInfo is validEnd
    at = [k for k in range(len(d) - 17) if d[k] == 0x18 and d[k + 1] == 15 and d[k + 16] == ord("Z")]
    e = at[2] + 2
    d[e + 3] = ord("9") if d[e + 3] != ord("9") else ord("8")
open(sys.argv[2], "wb").write(d)
EOF
}
seal_edit ok.seal broken-esid.seal esid
seal_edit ok.seal broken-validity.seal validity

# red_count PNG DPI [BEFORE] : strongly red pixels (tests/tools/find_red.c)
red_count() { "$FIND_RED" "$@" | awk '{print $5}'; }
seal_red=$(red_count "$SEAL_PNG" "$(awk 'BEGIN { printf "%.3f", 496 / 42 * 25.4 }')")

# vjson PDF [ARGS] : eseal verify --json
vjson() {
    local f=$1
    shift
    "$ESEAL" verify --json -q "$@" "$f" 2>/dev/null || true
}
# jcheck LABEL JSON PYTHON-EXPRESSION : the expression holds for the report r (and s, its first
# signature; seal, its seal)
jcheck() {
    local label=$1 json=$2 expr=$3
    if python3 -c '
import json, re, sys
r = json.loads(sys.argv[1]); s = r["signatures"][0] if r["signatures"] else {}
seal = s.get("seal") or {}
sys.exit(0 if eval(sys.argv[2]) else 1)' "$json" "$expr" 2>/dev/null; then
        pass "$label"
    else
        fail "$label: $expr is false in: $json"
    fi
}

# ---- signing with a seal: RSA and ECDSA
for who in rsa ec; do
    if [ $who = rsa ]; then key=("${rsa[@]}"); else key=("${ec[@]}"); fi
    out=$who.pdf
    if ! sign "$in" "$out" "${key[@]}" --seal ok.seal --rect 120,40; then
        fail "$who: eseal sign --seal"
        continue
    fi
    pdfsig_check "$out" 1 && pass "$who: pdfsig: Signature is Valid." || true
    qpdf_check "$out" && prefix_kept "$in" "$out" || true
    openssl_verify "$out" "$([ $who = rsa ] && echo "$PKI/root-ca.pem" || echo "$PKI/ec-root-ca.pem")" &&
        pass "$who: openssl cms -verify" || true
    # the seal among the SIGNED attributes, its one value the seal file itself
    rm -f dump.pdf dump.pdf.sig*
    cp "$out" dump.pdf
    pdfsig -dump dump.pdf >/dev/null 2>&1 || true
    attrs=$(openssl cms -cmsout -print -inform DER -in dump.pdf.sig0 2>/dev/null |
        awk '/signedAttrs:/{on=1} /signatureAlgorithm:|unsignedAttrs:/{on=0} on')
    grep -q 'object: undefined (2.25.30852577225667587897435140861070771898.2.1)' <<<"$attrs" &&
        pass "$who: the seal attribute is a signed attribute" ||
        fail "$who: no seal OID among the signed attributes"
    seal_hex=$(xxd -p ok.seal | tr -d '\n')
    xxd -p dump.pdf.sig0 | tr -d '\n' | grep -q "$seal_hex" &&
        pass "$who: the attribute holds the seal's DER" || fail "$who: the seal's DER is not in the CMS"
    ver=$(vjson "$out" "${anchors[@]}")
    jcheck "$who: eseal verify TOTAL_PASSED" "$ver" \
        'r["indication"] == "TOTAL_PASSED" and s["indication"] == "TOTAL_PASSED"'
    jcheck "$who: seal reported" "$ver" \
        'seal["readable"] and seal["name"] == "示例科技有限公司合同专用章" and seal["type"] == 1 and seal["version"] == 4 and len(seal["esid"]) > 0 and seal["maker"] == "eseal Test Seal Maker" and seal["maker_algorithm"] is not None and seal["valid_from"] < s["signing_time"] < seal["valid_to"] and seal["certificates_listed"] == 2'
    jcheck "$who: seal checks" "$ver" \
        'seal["maker_signature"] and seal["maker_trusted"] and seal["signer_listed"] and seal["validity"] == "valid" and seal["valid_at_signing"] and seal["cause"] is None'
    size=$(stat -c %s "$SEAL_PNG")
    jcheck "$who: seal picture reported and shown" "$ver" \
        "seal['picture'] == {'type': 'PNG', 'bytes': $size, 'width_mm': 42, 'height_mm': 42, 'width_px': 496, 'height_px': 496, 'shown': True, 'cause': None}"
    # what a reader shows: the seal's red ink where asked, 42 mm across, as much of it as the
    # picture has (pixel counts scaled from the picture's 300 dpi to the rendering's 100)
    seal_at "$out" "$in" 120 40 42 42 && pass "$who: pdftoppm shows the seal at 120,40, 42 mm" || true
    page_red=$(red_count after.png 100 before.png)
    awk -v p="$page_red" -v s="$seal_red" 'BEGIN { e = s / 9; exit (p > e * 0.8 && p < e * 1.25) ? 0 : 1 }' &&
        pass "$who: red ink on the page matches the picture's ($page_red vs $seal_red/9)" ||
        fail "$who: $page_red red pixels on the page, the picture has $seal_red at 3x the resolution"
done
# into an existing visible field (the application form's "seal", 42 mm square)
form="$CORPUS/inputs/p07_appform_lo_sigfield_seal.pdf"
if sign "$form" field.pdf "${rsa[@]}" --field seal --seal ok.seal; then
    pdfsig_check field.pdf 1 && pass "into field 'seal': pdfsig: Signature is Valid." || true
    ver=$(vjson field.pdf "${anchors[@]}")
    jcheck "into field 'seal': TOTAL_PASSED, the seal shown" "$ver" \
        's["indication"] == "TOTAL_PASSED" and s["field"] == "seal" and seal["picture"]["shown"]'
    seal_at field.pdf "$form" 117.5 86.1 42 42 && pass "into field 'seal': the seal fills it" || true
else
    fail "sign --field seal --seal"
fi

# PDF/A-1, which forbids soft masks: the picture goes with a 1-bit /Mask, compared as such
a1="$CORPUS/inputs/p02_licence_lo_pdfa1b.pdf"
if sign "$a1" pdfa1.pdf "${rsa[@]}" --seal ok.seal --rect 100,50; then
    ver=$(vjson pdfa1.pdf "${anchors[@]}")
    jcheck "PDF/A-1: TOTAL_PASSED, the seal shown" "$ver" \
        's["indication"] == "TOTAL_PASSED" and seal["picture"]["shown"]'
else
    fail "sign a PDF/A-1 file with a seal"
fi

# a seal that lists certificate digests (certListType 2)
mkseal digests.seal now-86400 now+31536000 "$PKI/rsa2048.pem" -- --cert-digests
if sign "$in" digests.pdf "${rsa[@]}" --seal digests.seal --rect 120,40; then
    ver=$(vjson digests.pdf "${anchors[@]}")
    jcheck "a seal listing digests: TOTAL_PASSED" "$ver" \
        's["indication"] == "TOTAL_PASSED" and seal["listed_by"] == "digest" and seal["signer_listed"]'
else
    fail "sign with a seal listing digests"
fi
refused "does not list the signer's certificate" "$tmp/refused.pdf" "$ESEAL" sign "$in" \
    "$tmp/refused.pdf" "${ec[@]}" --seal digests.seal --rect 120,40

# a seal whose picture is a JPEG (a page rendered by pdftoppm), 50 x 70 mm
pdftoppm -r 30 -jpeg -singlefile "$in" pic
"$ESEAL" seal make --picture pic.jpg --name "JPEG" --cert "$PKI/rsa2048.pem" --size-mm 50x70 \
    --valid-to "$(at now+31536000)" --maker-key maker.key --maker-cert maker.pem jpeg.seal >/dev/null
if sign "$in" jpeg.pdf "${rsa[@]}" --seal jpeg.seal --rect 20,20; then
    pdfsig_check jpeg.pdf 1 && pass "JPEG seal: pdfsig: Signature is Valid." || true
    ver=$(vjson jpeg.pdf "${anchors[@]}")
    jcheck "JPEG seal: TOTAL_PASSED, the picture shown" "$ver" \
        's["indication"] == "TOTAL_PASSED" and seal["picture"]["type"] == "JPG" and seal["picture"]["width_mm"] == 50 and seal["picture"]["height_mm"] == 70 and seal["picture"]["shown"]'
else
    fail "sign with a JPEG seal"
fi

txt=$("$ESEAL" verify "${anchors[@]}" rsa.pdf 2>&1 || true)
grep -q 'seal:     "示例科技有限公司合同专用章", an organisation.s seal' <<<"$txt" &&
    grep -q 'picture: PNG, .* 42x42 mm, 496x496 px; shown on the page' <<<"$txt" &&
    pass "the table shows the seal" || fail "the table: $txt"

# ---- SM2: an SM2 enterprise key and an SM2 seal maker, both certified by an SM2 CA of eseal ca;
# the maker signs the seal SM2-with-SM3, the enterprise the document
# (the CA's CRL served over http for --online: its certificates name it)
echo "sm2-seal-pass-2468" >pass.txt
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if "$ESEAL" ca init --ca sm2ca --base-url "http://127.0.0.1:$port" --pass-file pass.txt --key-type sm2 \
    --root-subject "/C=CN/O=Bureau/CN=SM2 Root CA" \
    --issuing-subject "/C=CN/O=Bureau/CN=SM2 Issuing CA" >/dev/null &&
    "$ESEAL" ca issue --ca sm2ca --genkey sm2ent.key --key-pass-file pass.txt --key-type sm2 \
        --subject "/C=CN/O=示例科技有限公司/CN=SM2 Enterprise" --out sm2ent.pem >/dev/null &&
    "$ESEAL" ca issue --ca sm2ca --genkey sm2maker.key --key-pass-file pass.txt --key-type sm2 \
        --subject "/C=CN/O=Bureau/CN=SM2 Seal Maker" --out sm2maker.pem >/dev/null &&
    "$ESEAL" seal make --picture "$SEAL_PNG" --name "示例科技有限公司合同专用章" --cert sm2ent.pem \
        --valid-to "$(at now+31536000)" --maker-key sm2maker.key --maker-pass-file pass.txt \
        --maker-cert sm2maker.pem sm2.seal >/dev/null &&
    sign "$in" sm2.pdf --key sm2ent.key --pass-file pass.txt --cert sm2ent.pem \
        --chain sm2ca/issuing.pem --seal sm2.seal --rect 120,40; then
    "$ESEAL" ca crl --ca sm2ca >/dev/null
    python3 -m http.server "$port" --bind 127.0.0.1 --directory sm2ca >/dev/null 2>&1 &
    http_pid=$!
    for i in $(seq 50); do curl -sf "http://127.0.0.1:$port/crl/issuing.crl" -o /dev/null && break; sleep 0.1; done
    ver=$(vjson sm2.pdf --trust sm2ca/root.pem --maker-trust sm2maker.pem --online --timeout 5)
    kill $http_pid 2>/dev/null || true
    jcheck "SM2: TOTAL_PASSED, an SM2 maker's seal shown" "$ver" \
        's["indication"] == "TOTAL_PASSED" and s["algorithm"] == "SM2" and seal["maker"] == "SM2 Seal Maker" and seal["maker_signature"] and seal["maker_trusted"] and seal["signer_listed"] and seal["picture"]["shown"]'
    refused "does not list the signer's certificate" "$tmp/refused.pdf" "$ESEAL" sign "$in" \
        "$tmp/refused.pdf" "${rsa[@]}" --seal sm2.seal --rect 120,40
else
    fail "SM2: CA, keys, seal or signature"
fi

# ---- usage errors and refusals: nothing written
o=$tmp/refused.pdf
rc=0
"$ESEAL" sign "$in" "$o" "${rsa[@]}" --seal ok.seal --rect 120,40 --image "$SEAL_PNG" 2>/dev/null || rc=$?
[ $rc -eq 2 ] && [ ! -e "$o" ] && pass "--image with --seal: usage error" || fail "--image with --seal"
rc=0
"$ESEAL" sign "$in" "$o" "${rsa[@]}" --rect 120,40 2>/dev/null || rc=$?
[ $rc -eq 2 ] && [ ! -e "$o" ] && pass "--rect X,Y without --seal: usage error" || fail "--rect X,Y alone"
refused "does not list the signer's certificate" "$o" "$ESEAL" sign "$in" "$o" "${rsa[@]}" \
    --seal ec-only.seal --rect 120,40
refused "expired at the signing time" "$o" "$ESEAL" sign "$in" "$o" "${rsa[@]}" \
    --seal expired.seal --rect 120,40
refused "not yet valid at the signing time" "$o" "$ESEAL" sign "$in" "$o" "${rsa[@]}" \
    --seal future.seal --rect 120,40
refused "maker's signature does not hold" "$o" "$ESEAL" sign "$in" "$o" "${rsa[@]}" \
    --seal broken-esid.seal --rect 120,40
refused "maker's signature does not hold" "$o" "$ESEAL" sign "$in" "$o" "${rsa[@]}" \
    --seal broken-validity.seal --rect 120,40
refused "must show it" "$o" "$ESEAL" sign "$in" "$o" "${rsa[@]}" --seal ok.seal
refused "give its position alone" "$o" "$ESEAL" sign "$in" "$o" "${rsa[@]}" --seal ok.seal \
    --rect 120,40,30,30
sign "$in" sized.pdf "${rsa[@]}" --seal ok.seal --rect 120,40,42,42 &&
    pass "--rect with the seal's own size" || fail "--rect 120,40,42,42"
printf 'not a seal' >junk.seal
refused "not a seal" "$o" "$ESEAL" sign "$in" "$o" "${rsa[@]}" --seal junk.seal \
    --rect 120,40
refused "no such file" "$o" "$ESEAL" sign "$in" "$o" "${rsa[@]}" --seal missing.seal --rect 120,40

# ---- tampered: the verifier fails each with its reason
sign "$in" base.pdf "${rsa[@]}" --seal wide.seal --rect 120,40 || fail "sign with wide.seal"
# (a) the picture swapped in a later update
"$PDF_TAMPER" sealpic rsa.pdf swapped.pdf "$BUREAU_PNG"
ver=$(vjson swapped.pdf "${anchors[@]}")
jcheck "(a) picture swapped: TOTAL_FAILED" "$ver" 'r["indication"] == "TOTAL_FAILED"'
jcheck "(a) picture swapped: the cause named" "$ver" \
    'any("is not the seal" in e and "picture" in e for e in s["errors"]) and seal["picture"]["shown"] is False and seal["maker_signature"] and seal["signer_listed"]'
# (a') the same swap on a signature that shows a plain picture (no seal): a signed signature's
# appearance redrawn after signing is a change signing does not permit (seal/mdp.c)
sign "$in" plain.pdf "${rsa[@]}" --image "$SEAL_PNG" --page 1 --rect 120,40,42,42 ||
    fail "sign with --image"
ver=$(vjson plain.pdf "${anchors[@]}")
jcheck "(a') a plain picture signature: TOTAL_PASSED before" "$ver" 's["indication"] == "TOTAL_PASSED"'
"$PDF_TAMPER" sealpic plain.pdf plain-swapped.pdf "$BUREAU_PNG"
ver=$(vjson plain-swapped.pdf "${anchors[@]}")
jcheck "(a') its picture swapped in a later update: not TOTAL_PASSED" "$ver" \
    's["indication"] != "TOTAL_PASSED" and r["indication"] != "TOTAL_PASSED"'
jcheck "(a') the change named" "$ver" \
    'any("signed signature" in m["detail"] for m in s["modifications"])'
# (a'') another picture drawn over the seal: a /Stamp annotation added by a later update on top
# of the widget, which is left as it was. pdfsig still finds the signature valid; the picture a
# reader shows is no longer the seal's. After an approval signature the added annotation is
# also a change it does not permit (seal/mdp.c); a certification signature with P=3 permits
# annotations, so there the picture check alone catches it
"$PDF_TAMPER" overseal rsa.pdf covered.pdf "$BUREAU_PNG" || fail "pdf_tamper overseal"
pdfsig covered.pdf 2>&1 | grep -q 'Signature Validation: Signature is Valid\.' &&
    pass "(a'') covered: pdfsig still finds the signature valid" ||
    fail "(a'') covered: pdfsig: $(pdfsig covered.pdf 2>&1)"
ver=$(vjson covered.pdf "${anchors[@]}")
jcheck "(a'') a stamp over the seal: TOTAL_FAILED, the cause named" "$ver" \
    'r["indication"] == "TOTAL_FAILED" and s["indication"] == "TOTAL_FAILED" and any(re.search(r"an annotation added after signing \(object [0-9]+, a /Stamp\) is drawn over the seal.s picture", e) for e in s["errors"]) and seal["picture"]["shown"] is False and seal["maker_signature"] and seal["signer_listed"]'
if sign "$in" cert3.pdf "${rsa[@]}" --seal ok.seal --rect 120,40 --certify 3; then
    ver=$(vjson cert3.pdf "${anchors[@]}")
    jcheck "(a'') certified P=3 with a seal: TOTAL_PASSED" "$ver" \
        's["indication"] == "TOTAL_PASSED" and s["docmdp"] == 3 and seal["picture"]["shown"]'
    "$PDF_TAMPER" overseal cert3.pdf cert3-covered.pdf "$BUREAU_PNG" || fail "pdf_tamper overseal"
    ver=$(vjson cert3-covered.pdf "${anchors[@]}")
    jcheck "(a'') certified P=3, a stamp over the seal: TOTAL_FAILED, FORMAT_FAILURE" "$ver" \
        'r["indication"] == "TOTAL_FAILED" and s["indication"] == "TOTAL_FAILED" and s["sub_indication"] == "FORMAT_FAILURE"'
    jcheck "(a'') certified P=3: the picture check names the cause, the annotation itself permitted" "$ver" \
        're.search(r"an annotation added after signing \(object [0-9]+, a /Stamp\) is drawn over the seal.s picture", s["errors"][0]) and seal["picture"]["shown"] is False and not s["modifications"] and any(m["kind"] == "annotation_added" for m in s["permitted_changes"])'
    txt=$("$ESEAL" verify "${anchors[@]}" cert3-covered.pdf 2>&1 || true)
    grep -q 'is drawn over the seal' <<<"$txt" && pass "(a'') the table names the cause" ||
        fail "(a'') the table: $txt"
    # an annotation added by the same kind of update away from the seal changes nothing here
    "$PDF_TAMPER" annot cert3.pdf cert3-annot.pdf || fail "pdf_tamper annot"
    ver=$(vjson cert3-annot.pdf "${anchors[@]}")
    jcheck "(a'') certified P=3, a square added away from the seal: still TOTAL_PASSED" "$ver" \
        's["indication"] == "TOTAL_PASSED" and seal["picture"]["shown"] and s["permitted_changes"]'
else
    fail "sign --certify 3 --seal"
fi
# (b) the maker's signature broken (esID changed; validity changed)
for what in esid validity; do
    "$RESIGN" base.pdf b-$what.pdf "$PKI/rsa2048.key" "$PKI/rsa2048.pem" broken-$what.seal "$PKI/chain.pem"
    pdfsig_check b-$what.pdf 1 || true # the CMS itself holds
    ver=$(vjson b-$what.pdf "${anchors[@]}")
    jcheck "(b) maker signature broken ($what): TOTAL_FAILED" "$ver" \
        's["indication"] == "TOTAL_FAILED" and s["sub_indication"] == "SIG_CRYPTO_FAILURE"'
    jcheck "(b) maker signature broken ($what): the cause named" "$ver" \
        'seal["maker_signature"] is False and "maker" in seal["cause"] and any("maker" in e for e in s["errors"])'
done
# (c) a seal that does not list the signer
"$RESIGN" base.pdf c.pdf "$PKI/rsa2048.key" "$PKI/rsa2048.pem" ec-only.seal "$PKI/chain.pem"
ver=$(vjson c.pdf "${anchors[@]}")
jcheck "(c) signer not listed: TOTAL_FAILED" "$ver" 's["indication"] == "TOTAL_FAILED"'
jcheck "(c) signer not listed: the cause named" "$ver" \
    'seal["signer_listed"] is False and seal["maker_signature"] and "not one of the seal" in seal["cause"]'
# (d) a seal not valid at the signing time: expired, not yet valid
for what in expired future; do
    "$RESIGN" base.pdf d-$what.pdf "$PKI/rsa2048.key" "$PKI/rsa2048.pem" $what.seal "$PKI/chain.pem"
    ver=$(vjson d-$what.pdf "${anchors[@]}")
    want=$([ $what = expired ] && echo expired || echo not_yet_valid)
    jcheck "(d) seal $what at the signing time: TOTAL_FAILED" "$ver" 's["indication"] == "TOTAL_FAILED"'
    jcheck "(d) seal $what: the cause named" "$ver" \
        "seal['validity'] == '$want' and not seal['valid_at_signing'] and seal['signer_listed'] and seal['maker_signature']"
done
# (e) the maker not trusted: the signers' roots given, no seal maker anchor
ver=$(vjson rsa.pdf --trust "$PKI/root-ca.pem" --trust "$PKI/ec-root-ca.pem")
jcheck "(e) maker not trusted: not TOTAL_PASSED" "$ver" 's["indication"] == "INDETERMINATE"'
jcheck "(e) maker not trusted: the cause named" "$ver" \
    'seal["maker_trusted"] is False and seal["maker_signature"] and "maker" in seal["cause"] and s["chain_trusted"]'
# (f) an enterprise makes its own seal: its certificate chains to --trust, so the signature holds,
# but it is no seal maker: only --maker-trust makes one
"$ESEAL" seal make --picture "$BUREAU_PNG" --name "Licensing Bureau" --cert "$PKI/rsa2048.pem" \
    --valid-to "$(at now+31536000)" --maker-key "$PKI/rsa2048.key" --maker-cert "$PKI/rsa2048.pem" \
    own.seal >/dev/null || fail "seal make by an enterprise"
sign "$in" own.pdf "${rsa[@]}" --seal own.seal --rect 120,40 || fail "sign with own.seal"
ver=$(vjson own.pdf "${anchors[@]}")
jcheck "(f) a seal its own signer made: INDETERMINATE, the maker not trusted" "$ver" \
    's["indication"] == "INDETERMINATE" and s["chain_trusted"] and seal["maker_signature"] and seal["signer_listed"] and seal["maker_trusted"] is False and "seal maker anchor" in seal["cause"]'

# ---- a seal valid when signed, expired later: without a time-stamp nothing proves the
# signing time (INDETERMINATE); with one, it stays TOTAL_PASSED (ETSI EN 319 102-1 5.6.2.1)
later=$(date -u -d '+2 days' +%Y-%m-%dT%H:%M:%SZ)
sign "$in" hour.pdf "${rsa[@]}" --seal hour.seal --rect 120,40 || fail "sign with hour.seal"
ver=$(vjson hour.pdf "${anchors[@]}")
jcheck "a seal valid for another hour: TOTAL_PASSED now" "$ver" 's["indication"] == "TOTAL_PASSED"'
ver=$(vjson hour.pdf "${anchors[@]}" --at "$later")
jcheck "two days later, no time-stamp: INDETERMINATE, OUT_OF_BOUNDS_NO_POE" "$ver" \
    's["indication"] == "INDETERMINATE" and s["sub_indication"] == "OUT_OF_BOUNDS_NO_POE"'
python3 "$ESEAL_SOURCE_DIR/tests/tools/openssl_tsa.py" --pki "$PKI" --dir "$tmp/ots" \
    --port-file "$tmp/ots.port" >"$tmp/ots.log" 2>&1 &
ots_pid=$!
trap 'kill $ots_pid 2>/dev/null || true; cleanup' EXIT
for i in $(seq 100); do [ -s "$tmp/ots.port" ] && break; sleep 0.1; done
sign "$in" hour-t.pdf "${rsa[@]}" --seal hour.seal --rect 120,40 \
    --tsa "http://127.0.0.1:$(cat "$tmp/ots.port")/tsa" || fail "sign B-T with hour.seal"
ver=$(vjson hour-t.pdf "${anchors[@]}" --at "$later")
jcheck "two days later, time-stamped within the seal's validity: TOTAL_PASSED" "$ver" \
    's["indication"] == "TOTAL_PASSED" and s["signing_time_source"] == "timestamp" and seal["validity"] == "valid"'

# ---- stamp templates naming a seal; autoseal batch
tpl=$tmp/sealed-licence.json
python3 - "$ESEAL_SOURCE_DIR/templates/export-licence.json" "$tpl" "$tmp/ok.seal" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))
t["name"] = "sealed-export-licence"
t["seal"] = {"file": sys.argv[3], "at": t["seal"]["at"], "pages": "last"}
json.dump(t, open(sys.argv[2], "w"), ensure_ascii=False)
EOF
vals=(--set licence_id=1.2.156.3005.2.11100000000013338W011.11990000MB0001234L.20240000128.001.A
    --set enterprise=示例科技有限公司 --set credit_code=91990000MA0000001B
    --set valid_from=2026-01-01 --set valid_to=2027-12-31)
"$ESEAL" stamp "$in" stamped.pdf --template "$tpl" "${vals[@]}" "${rsa[@]}" -q ||
    fail "eseal stamp with a template naming a seal"
pdfsig_check stamped.pdf 1 && pass "stamp: pdfsig: Signature is Valid." || true
ver=$(vjson stamped.pdf "${anchors[@]}")
jcheck "stamp: TOTAL_PASSED, the seal carried and its picture the printed one" "$ver" \
    'r["indication"] == "TOTAL_PASSED" and seal["name"] == "示例科技有限公司合同专用章" and seal["picture"]["shown"]'
# the crisp seal prints (Ghostscript -dPrinted) where the template puts it, 42 mm across
# its fog and watermark are drawn over the seal in the signed revision: the signer's own layers.
# Another picture stamped over it later is not
"$PDF_TAMPER" overseal stamped.pdf stamped-covered.pdf "$BUREAU_PNG" || fail "pdf_tamper overseal"
ver=$(vjson stamped-covered.pdf "${anchors[@]}")
jcheck "stamp: a stamp added over the fogged seal later: TOTAL_FAILED, the picture check names it too" "$ver" \
    'r["indication"] == "TOTAL_FAILED" and any("is drawn over the seal" in e for e in s["errors"])'
gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE=png16m -r100 -dPrinted -dUseCropBox -dFirstPage=1 \
    -dLastPage=1 -sOutputFile=printed.png stamped.pdf &&
    gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE=png16m -r100 -dPrinted -dUseCropBox -dFirstPage=1 \
        -dLastPage=1 -sOutputFile=plain.png "$in" || fail "gs"
got=$("$FIND_RED" printed.png 100 plain.png)
awk -v g="$got" 'BEGIN { split(g, a, " "); exit (a[1] != "none" && a[3] - a[1] > 40 && a[3] - a[1] < 44) ? 0 : 1 }' &&
    pass "stamp: the printed seal is 42 mm across ($got)" || fail "stamp: printed seal at [$got]"
cp "$tpl" both.json
python3 - both.json "$BUREAU_PNG" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1])); t["seal"]["picture"] = sys.argv[2]
json.dump(t, open(sys.argv[1], "w"), ensure_ascii=False)
EOF
refused "is not the picture of seal" "$o" "$ESEAL" stamp "$in" "$o" --template both.json \
    "${vals[@]}" "${rsa[@]}"
refused "--seal-image cannot go with a seal" "$o" "$ESEAL" stamp "$in" "$o" --template "$tpl" \
    "${vals[@]}" "${rsa[@]}" --seal-image "$SEAL_PNG"
refused "does not list the signer's certificate" "$o" "$ESEAL" stamp "$in" "$o" --template "$tpl" \
    "${vals[@]}" "${rsa[@]}" --seal ec-only.seal

mkdir -p batch-in
for i in 1 2 3; do cp "$in" batch-in/l$i.pdf; done
"$AUTOSEAL" batch batch-in batch-out --template "$tpl" "${vals[@]}" "${ec[@]}" --jobs 2 -q \
    >batch.log 2>&1 || fail "autoseal batch: $(cat batch.log)"
ver=$("$ESEAL" verify --json -q "${anchors[@]}" batch-out 2>/dev/null || true)
n=$(grep -c '"indication":"TOTAL_PASSED","sub_indication":null' <<<"$ver" || true)
shown=$(grep -c '"shown":true' <<<"$ver" || true)
[ "$n" = 3 ] && [ "$shown" = 3 ] && pass "autoseal batch: 3 sealed, each TOTAL_PASSED with the seal shown" ||
    fail "autoseal batch: $n passed, $shown shown: $ver"
out=$("$AUTOSEAL" batch batch-in batch-bad --template "$tpl" "${vals[@]}" "${rsa[@]}" \
    --seal ec-only.seal --jobs 2 -q 2>&1) && fail "autoseal batch with a seal not listing the signer" ||
    { [ "$(grep -c 'does not list' <<<"$out")" = 1 ] && [ -z "$(ls batch-bad 2>/dev/null)" ] &&
        pass "autoseal batch: a seal not listing the signer refused once, nothing written" ||
        fail "autoseal batch refusal: $out"; }

finish
