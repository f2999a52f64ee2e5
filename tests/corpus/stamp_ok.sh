#!/usr/bin/env bash
# A sign-ok input stamped from templates/export-licence.json and signed, then judged by outside
# tools (issue "Licence stamp layers"):
#   pdfsig "Signature is Valid." and "Total document signed"; qpdf --check clean;
#   printed (Ghostscript -dPrinted): the crisp red seal in the template's rectangle (±1 mm) on
#     the last page, and no fog;
#   on screen (pdftoppm): fog there and no crisp seal, unless the file is PDF/A, where fog is
#     not allowed and the crisp seal shows (with a note saying so);
#   zbarimg reads the QR code (QR codes only: zbar also "finds" 2-of-5 barcodes in text) from a
#     150 dpi screen rendering of the first page: the template's URL with this licence's
#     identifier and a token;
#   the watermark changes the page across its whole area.
source "$(dirname "$0")/../lib.sh"
name=$1
in="$CORPUS/inputs/$name"
out="$tmp/stamped.pdf"
id=1.2.156.3005.2.11100000000013338W011.11990000MB0001234L.20240000128.001.A
err=$("$ESEAL" stamp "$in" "$out" -q --template "$ESEAL_SOURCE_DIR/templates/export-licence.json" \
    --seal-image "$BUREAU_PNG" --key "$PKI/rsa2048.key" --cert "$PKI/rsa2048.pem" \
    --chain "$PKI/chain.pem" --qr-key "$PKI/ec256.key" --set licence_id=$id \
    --set enterprise=示例科技有限公司 --set credit_code=91990000MA0000001B \
    --set valid_from=2024-03-15 --set valid_to=2024-12-31 2>&1) || { fail "stamp: $err"; finish; }
pdfsig_check "$out" 1 && qpdf_check "$out" && prefix_kept "$in" "$out" && pass "signed"
pages=$(pdfinfo "$out" | awk '/^Pages:/ {print $2}')
# PDF/A by its XMP identification (ISO 19005: pdfaid:part), read independently of eseal
pdfa=$(grep -a -q -E 'pdfaid:part(="|>)[123]' "$in" && echo yes || true)
if [ -n "$pdfa" ]; then
    grep -q "PDF/A" <<<"$err" && pass "PDF/A note: $err" || fail "no note about PDF/A fog: '$err'"
fi

# Printed and screen renderings of the last page, before and after.
r=100
gs_render() { gs -q -dNOPAUSE -dBATCH -dSAFER -dUseCropBox -sDEVICE=png16m -r$r -dPrinted \
    -dFirstPage="$pages" -dLastPage="$pages" -sOutputFile="$2" "$1"; }
gs_render "$in" "$tmp/print0.png" && gs_render "$out" "$tmp/print1.png" || fail "gs"
pdftoppm -cropbox -r $r -png -singlefile -f "$pages" -l "$pages" "$in" "$tmp/screen0"
pdftoppm -cropbox -r $r -png -singlefile -f "$pages" -l "$pages" "$out" "$tmp/screen1"
read -r _ _ _ _ _ W H <<<"$("$FIND_RED" "$tmp/print1.png" $r "$tmp/print0.png")"
[ -n "${W:-}" ] || W=$("$FIND_RED" "$tmp/print1.png" $r "$tmp/print0.png" | awk '{print $3}')
seal="$(awk -v w="$W" 'BEGIN { printf "%.1f,69,42,42", w - 34 - 42 }')"
wide="$(awk -v w="$W" 'BEGIN { printf "%.1f,67,46,46", w - 34 - 44 }')"

p=$("$FIND_RED" --in "$wide" "$tmp/print1.png" $r "$tmp/print0.png")
pf=$("$FIND_RED" --in "$wide" --fog "$tmp/print1.png" $r "$tmp/print0.png")
if awk -v g="$p" -v f="$pf" -v s="$seal" 'BEGIN {
        split(g, a, " "); split(f, b, " "); split(s, r, ",");
        if (a[1] == "none" || a[5] < 1500) exit 1;                 # crisp seal printed
        if (b[1] != "none" && b[5] > a[5] / 3) exit 1;             # no fog printed
        d = 1.0;                                                   # in the rectangle, 1 mm
        exit !(a[1] >= r[1] - d && a[2] >= r[2] - d && a[3] <= r[1] + r[3] + d &&
               a[4] <= r[2] + r[4] + d && a[3] - a[1] > r[3] - 2 * d && a[4] - a[2] > r[4] - 2 * d) }'; then
    pass "printed: crisp seal at [$p], within 1 mm of [$seal]"
else
    fail "printed: expected the crisp seal in [$seal] and no fog; red [$p], pale [$pf]"
fi
s=$("$FIND_RED" --in "$wide" "$tmp/screen1.png" $r "$tmp/screen0.png")
sf=$("$FIND_RED" --in "$wide" --fog "$tmp/screen1.png" $r "$tmp/screen0.png")
if [ -n "$pdfa" ]; then
    awk -v g="$s" 'BEGIN { split(g, a, " "); exit !(a[1] != "none" && a[5] >= 1500) }' &&
        pass "screen (PDF/A): crisp seal shown" || fail "screen (PDF/A): no crisp seal: [$s]"
elif awk -v g="$s" -v f="$sf" 'BEGIN { split(g, a, " "); split(f, b, " ");
        exit !(a[2] + 0 < 20 && b[1] != "none" && b[5] >= 1500) }'; then
    pass "screen: fog [$sf], no crisp seal"
else
    fail "screen: expected fog and no crisp seal; red [$s], pale [$sf]"
fi

# The QR code, read from the whole first page rendered at 150 dpi.
pdftoppm -r 150 -png -singlefile -f 1 -l 1 "$out" "$tmp/qr"
qr=$(zbarimg --raw -q -Sdisable -Sqrcode.enable -Sbinary --nodbus "$tmp/qr.png" 2>/dev/null || true)
want="https://licence.example.gov.cn/v/$id?to=2024-12-31&t="
if [[ "$qr" == "$want"* ]] && [ ${#qr} -eq $((${#want} + 86)) ]; then
    pass "QR code read: ${qr:0:60}..."
else
    fail "QR code: read '$qr', expected '$want' and an 86-character token"
fi

# The watermark covers the page: at least a quarter of its 10 mm squares change on screen.
pdftoppm -cropbox -r 50 -png -singlefile -f 1 -l 1 "$in" "$tmp/w0"
pdftoppm -cropbox -r 50 -png -singlefile -f 1 -l 1 "$out" "$tmp/w1"
read -r changed cells total <<<"$("$FIND_RED" --changed "$tmp/w1.png" 50 "$tmp/w0.png")"
if [ "$((cells * 4))" -ge "$total" ]; then
    pass "watermark changes $cells of $total 10 mm squares"
else
    fail "watermark changes only $cells of $total 10 mm squares ($changed pixels)"
fi
finish
