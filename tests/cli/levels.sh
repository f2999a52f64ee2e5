#!/usr/bin/env bash
# PAdES levels (ETSI EN 319 142-1 6.3) with our TSA behind a real nginx (deploy/start.sh):
# B-B, B-T, B-LT and B-LTA for RSA and ECDSA signers, each judged from outside — pdfsig for the
# signature, OpenSSL (openssl ts -verify) for the signature time-stamp over the signature value
# and for the document time-stamp over the byte ranges, qpdf for the structure and the /DSS —
# and by eseal verify; refusals that leave nothing behind; a batch at B-LTA run twice.
source "$(dirname "$0")/../lib.sh"

bin=$(dirname "$ESEAL")
run=$(mktemp -d /tmp/eseal-lv.XXXXXX) # short: UNIX socket paths must fit in 108 bytes
shutdown() {
    "$ESEAL_SOURCE_DIR/deploy/stop.sh" "$run" >/dev/null 2>&1 || true
    rm -rf "$run"
    cleanup
}
trap shutdown EXIT
url=$("$ESEAL_SOURCE_DIR/deploy/start.sh" --run "$run" --port auto --tsa-cert "$PKI/tsa.pem" \
    --tsa-key "$PKI/tsa.key" --tsa-chain "$PKI/issuing-ca.pem" --bin "$bin") ||
    { fail "deploy/start.sh did not start"; finish; }
tsa=$url/tsa
in="$ESEAL_SOURCE_DIR/samples/licence.pdf"
rsa=(--key "$PKI/rsa2048.key" --cert "$PKI/rsa2048.pem" --chain "$PKI/chain.pem")
ec=(--key "$PKI/ec256.key" --cert "$PKI/ec256.pem" --chain "$PKI/ec-chain.pem")
anchors=(--trust "$PKI/root-ca.pem" --trust "$PKI/ec-root-ca.pem")
cd "$tmp"

# signed_bytes PDF N OUT : the bytes signature N's /ByteRange covers
signed_bytes() {
    local a b c d
    read -r a b c d <<<"$(grep -a -o '/ByteRange *\[ *[0-9]* *[0-9]* *[0-9]* *[0-9]* *\]' "$1" |
        sed -n "$2p" | tr -dc '0-9 ' | xargs)"
    { head -c "$b" "$1"; tail -c +"$((c + 1))" "$1" | head -c "$d"; } >"$3"
}
# dump PDF : pdfsig -dump, the blobs as dump.pdf.sig0, sig1, ...
dump() {
    rm -f dump.pdf dump.pdf.sig*
    cp "$1" dump.pdf
    pdfsig -dump dump.pdf >/dev/null 2>&1 || true
}
# dss_of PDF : the /DSS dictionary as qpdf shows it (empty when there is none)
dss_of() {
    local root cat dss
    root=$(qpdf --show-object=trailer "$1" 2>/dev/null | sed -n 's/.*\/Root \([0-9]*\) 0 R.*/\1/p')
    cat=$(qpdf --show-object="$root" "$1" 2>/dev/null)
    dss=$(sed -n 's/.*\/DSS \([0-9]*\) 0 R.*/\1/p' <<<"$cat")
    [ -n "$dss" ] && qpdf --show-object="$dss" "$1" 2>/dev/null
    return 0
}
ts_ok() { # TOKEN DATA LABEL : openssl ts -verify accepts the token for the data
    local out
    out=$(openssl ts -verify -token_in -in "$1" -data "$2" -CAfile "$PKI/root-ca.pem" \
        -untrusted "$PKI/issuing-ca.pem" 2>&1 || true)
    grep -q '^Verification: OK' <<<"$out" && pass "$3" || fail "$3: $out"
}

for who in rsa ec; do
    if [ $who = rsa ]; then key=("${rsa[@]}"); else key=("${ec[@]}"); fi
    for level in B-B B-T B-LT B-LTA; do
        out=$who-$level.pdf
        if ! sign "$in" "$out" "${key[@]}" --level $level --tsa "$tsa"; then
            fail "$who $level: sign"
            continue
        fi
        qpdf_check "$out" && prefix_kept "$in" "$out" || true
        # pdfsig: the signature holds at every level (poppler does not check /ETSI.RFC3161)
        ps=$(pdfsig "$out" 2>&1 || true)
        first=$(awk '/^Signature #1/{on=1} /^Signature #2/{on=0} on' <<<"$ps")
        grep -q 'Signature Validation: Signature is Valid\.' <<<"$first" &&
            pass "$who $level: pdfsig: Signature is Valid." || fail "$who $level: pdfsig: $ps"
        ver=$("$ESEAL" verify --json -q "${anchors[@]}" "$out" 2>&1 || true)
        jq -e '.indication == "TOTAL_PASSED"' <<<"$ver" >/dev/null &&
            pass "$who $level: eseal verify TOTAL_PASSED" || fail "$who $level: verify: $ver"
        nsig=$(jq '.signatures | length' <<<"$ver")
        nts=$(jq '.signatures[0].timestamps | length' <<<"$ver")
        case $level in
        B-B)
            [ "$nts" = 0 ] && [ "$nsig" = 1 ] && pass "$who B-B: no time-stamp" ||
                fail "$who B-B: $nts time-stamps, $nsig signatures"
            ;;
        B-T | B-LT | B-LTA)
            [ "$nts" = 1 ] && pass "$who $level: one signature time-stamp" ||
                fail "$who $level: $nts signature time-stamps"
            jq -e '.signatures[0].signing_time_source == "timestamp"' <<<"$ver" >/dev/null ||
                fail "$who $level: the signing time is not the time-stamp's"
            # the signature time-stamp is over the signature value (RFC 3161 appendix A)
            dump "$out"
            if python3 "$ESEAL_SOURCE_DIR/tests/tools/cms_tst.py" dump.pdf.sig0 value.bin tst.der; then
                ts_ok tst.der value.bin "$who $level: openssl ts -verify: signature time-stamp"
                printf 'x' >>value.bin
                o=$(openssl ts -verify -token_in -in tst.der -data value.bin -CAfile "$PKI/root-ca.pem" \
                    -untrusted "$PKI/issuing-ca.pem" 2>&1 || true)
                grep -q '^Verification: OK' <<<"$o" && fail "$who $level: token verified for other bytes" || true
            else
                fail "$who $level: no signature time-stamp in the CMS"
            fi
            ;;
        esac
        case $level in
        B-LT | B-LTA)
            # ETSI EN 319 142-1 5.4.2: /DSS with the signer's certificate and a VRI entry keyed
            # by the upper-case SHA-1 of the signature's /Contents, as qpdf reads them
            d=$(dss_of "$out")
            hex=$(grep -a -o '/Contents *<[0-9A-Fa-f]*>' "$out" | sed -n '1{s/.*<//; s/>//; p}')
            want=$(xxd -r -p <<<"$hex" | sha1sum | cut -c1-40 | tr a-f A-F)
            grep -q "/VRI << /$want <<" <<<"$d" && pass "$who $level: VRI key is SHA-1 of /Contents" ||
                fail "$who $level: no VRI /$want in DSS: $d"
            cert=$PKI/rsa2048.pem
            [ $who = ec ] && cert=$PKI/ec256.pem
            der=$(openssl x509 -in "$cert" -outform DER | sha1sum | cut -c1-40)
            found=no
            for num in $(sed 's/.*\/Certs \[\([^]]*\)\].*/\1/; s/ 0 R//g' <<<"$d"); do
                got=$(qpdf --show-object="$num" --raw-stream-data "$out" 2>/dev/null | sha1sum | cut -c1-40)
                [ "$got" = "$der" ] && found=yes
            done
            [ $found = yes ] && pass "$who $level: the signer's certificate is in /DSS /Certs" ||
                fail "$who $level: the signer's certificate is not in /DSS /Certs ($d)"
            ;;
        *)
            [ -z "$(dss_of "$out")" ] || fail "$who $level: a /DSS at a level without one"
            ;;
        esac
        if [ $level = B-LTA ]; then
            [ "$nsig" = 2 ] && jq -e '.signatures[1].type == "document_timestamp" and
                .signatures[1].indication == "TOTAL_PASSED" and
                (.signatures[0].modifications | length) == 0' <<<"$ver" >/dev/null &&
                pass "$who B-LTA: document time-stamp TOTAL_PASSED, no modifications" ||
                fail "$who B-LTA: $ver"
            dump "$out"
            signed_bytes "$out" 2 dts-data.bin
            ts_ok dump.pdf.sig1 dts-data.bin "$who B-LTA: openssl ts -verify: document time-stamp"
        fi
    done
done

# after the signer's certificate expired: a signer certified for one day signs at B-B and at
# B-LTA; judged three days later, the time-stamps prove the signature was made while the
# certificate was valid, and nothing proves that for the B-B one
openssl req -new -newkey rsa:2048 -nodes -keyout short.key -subj "/C=CN/O=eseal Test/CN=one-day signer" \
    -out short.csr 2>/dev/null
printf 'keyUsage=critical,digitalSignature,nonRepudiation\nbasicConstraints=CA:FALSE\n' >short.ext
openssl x509 -req -in short.csr -CA "$PKI/issuing-ca.pem" -CAkey "$PKI/issuing-ca.key" -days 1 \
    -set_serial 0x$(openssl rand -hex 8) -extfile short.ext -out short.pem 2>/dev/null
short=(--key short.key --cert short.pem --chain "$PKI/chain.pem")
later=$(date -u -d '+3 days' +%Y-%m-%d)
if sign "$in" short-lta.pdf "${short[@]}" --level B-LTA --tsa "$tsa" &&
    sign "$in" short-bb.pdf "${short[@]}"; then
    ver=$("$ESEAL" verify --json -q "${anchors[@]}" --at "$later" short-lta.pdf 2>&1 || true)
    jq -e '.indication == "TOTAL_PASSED"' <<<"$ver" >/dev/null &&
        pass "B-LTA judged at $later, its signer's certificate expired: TOTAL_PASSED" ||
        fail "B-LTA at $later: $ver"
    ver=$("$ESEAL" verify --json -q "${anchors[@]}" --at "$later" short-bb.pdf 2>&1 || true)
    jq -e '.indication == "INDETERMINATE" and .signatures[0].sub_indication == "OUT_OF_BOUNDS_NO_POE"' \
        <<<"$ver" >/dev/null && pass "B-B judged at $later: INDETERMINATE, OUT_OF_BOUNDS_NO_POE" ||
        fail "B-B at $later: $ver"
else
    fail "signing with the one-day certificate"
fi
# once the TSA's own certificate has expired, the last time-stamp proves nothing any more: the
# document needs a newer document time-stamp by then (said, not hidden)
much_later=$(date -u -d '+4 years' +%Y-%m-%d)
ver=$("$ESEAL" verify --json -q "${anchors[@]}" --at "$much_later" rsa-B-LTA.pdf 2>&1 || true)
jq -e '.indication == "INDETERMINATE" and .signatures[1].sub_indication == "OUT_OF_BOUNDS_NO_POE"' \
    <<<"$ver" >/dev/null && pass "B-LTA after its TSA's certificate expired: INDETERMINATE" ||
    fail "B-LTA at $much_later: $ver"

# a second signature over a B-LT file keeps both valid, and adds its own VRI to the same DSS
if sign rsa-B-LT.pdf twice.pdf "${ec[@]}" --level B-LT --tsa "$tsa"; then
    ver=$("$ESEAL" verify --json -q "${anchors[@]}" twice.pdf 2>&1 || true)
    jq -e '.indication == "TOTAL_PASSED" and (.signatures | length) == 2' <<<"$ver" >/dev/null &&
        pass "B-LT over B-LT: both TOTAL_PASSED" || fail "B-LT over B-LT: $ver"
    n=$(dss_of twice.pdf | grep -o '/[0-9A-F]\{40\} <<' | wc -l)
    [ "$n" = 2 ] && pass "one DSS, two VRI entries" || fail "VRI entries: $n"
else
    fail "second B-LT signature"
fi

# refusals: nothing is left behind
refused "time-stamping authority" nots.pdf "$ESEAL" sign "$in" nots.pdf "${rsa[@]}" --level B-T
dead=http://127.0.0.1:9/tsa
refused "time-stamp" dead.pdf "$ESEAL" sign "$in" dead.pdf "${rsa[@]}" --level B-LTA --tsa "$dead" \
    --net-timeout 2
# B-LT needs the path: a signer whose issuer is not given cannot have its validation data
refused "neither in the signature nor among the chain" nochain.pdf "$ESEAL" sign "$in" nochain.pdf \
    --key "$PKI/rsa2048.key" --cert "$PKI/rsa2048.pem" --level B-LT --tsa "$tsa"
rc=0
"$ESEAL" sign "$in" bad.pdf "${rsa[@]}" --level B-X --tsa "$tsa" 2>/dev/null || rc=$?
[ "$rc" = 2 ] && [ ! -e bad.pdf ] && pass "--level B-X: usage error" || fail "--level B-X: exit $rc"

# a batch at B-LT, then run again: the outputs end in their /DSS update and are skipped as
# already sealed
mkdir -p batch-in
cp "$in" batch-in/a.pdf
cp "$in" batch-in/b.pdf
id=1.2.156.3005.2.11100000000013338W011.11990000MB0001234L.20240000128.001.A
for f in a b; do
    printf '{"file": "%s.pdf", "licence_id": "%s", "enterprise": "x", "credit_code": "91990000MA0000001B", "valid_from": "2024-03-15", "valid_to": "2024-12-31"}\n' $f $id
done >meta.jsonl
batch() {
    "$AUTOSEAL" batch batch-in batch-out --template "$ESEAL_SOURCE_DIR/templates/export-licence.json" \
        --seal-image "$BUREAU_PNG" --qr-key "$PKI/ec256.key" --meta meta.jsonl "${rsa[@]}" \
        --level B-LT --tsa "$tsa" --jobs 2
}
if batch >batch1.txt 2>&1; then
    grep -q '2 sealed' batch1.txt && pass "batch at B-LT: 2 sealed" || fail "batch: $(cat batch1.txt)"
    ver=$("$ESEAL" verify --json -q "${anchors[@]}" batch-out/a.pdf 2>&1 || true)
    jq -e '.indication == "TOTAL_PASSED" and (.signatures[0].timestamps | length) == 1' <<<"$ver" \
        >/dev/null && pass "batch output TOTAL_PASSED with a time-stamp" || fail "batch output: $ver"
    [ -n "$(dss_of batch-out/a.pdf)" ] && pass "batch output has a /DSS" || fail "batch output: no /DSS"
    batch >batch2.txt 2>&1 || true
    grep -q '2 skipped' batch2.txt && pass "rerun: 2 skipped" || fail "rerun: $(cat batch2.txt)"
else
    fail "batch at B-LT: $(cat batch1.txt)"
fi
finish
