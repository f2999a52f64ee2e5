#!/usr/bin/env bash
# One scanned confirmation letter of ../shared/corpus/scans, judged against its MANIFEST row:
#   extract          every listed seal found, centre within 2% of the page width and diameter
#                    within 5% (one seal: extracted, 42 mm at the scan's resolution; several:
#                    all found and flagged several-seals, nothing written)
#   reject-or-flag   flagged not-red, nothing written
#   no-seal          flagged no-seal, no seal reported, nothing written
#   extract-or-flag  extracted, or flagged faint with nothing written
# arg: the scan's file name; its row is read from the manifest (columns: file dpi size_px format
# page_rotation_deg seal_count seal_cx_px seal_cy_px seal_diameter_px ... expected (13th)).
source "$(dirname "$0")/../lib.sh"
file=$1
row=$(awk -F'\t' -v f="$file" '$1 == f' "$CORPUS/scans/MANIFEST.tsv")
[ -n "$row" ] || { fail "$file is not in the manifest"; finish; }
IFS=$'\t' read -r _ dpi size _ _ count cxs cys ds _ _ _ expected _ <<<"$row"
width=${size%%x*}
out="$tmp/seal.png"
rc=0
json=$("$ESEAL" seal extract "$CORPUS/scans/$file" "$out" --json 2>"$tmp/err") || rc=$?
jq -e . >/dev/null <<<"$json" || { fail "not JSON: '$json'"; finish; }
flags=$(jq -r '.flags | join(",")' <<<"$json")
found=$(jq '.seals | length' <<<"$json")
echo "found $found seal(s), flags [$flags], exit $rc: $(cat "$tmp/err")"

has_flag() { [[ ",$flags," == *",$1,"* ]]; }
nothing_written() { [ ! -e "$out" ] && [ "$rc" -eq 1 ] && [ "$(grep -c . "$tmp/err")" -eq 1 ]; }
# every manifest seal matched by a found one (2% of the width, 5% of the diameter)
all_found() {
    IFS=';' read -r -a X <<<"$cxs"
    IFS=';' read -r -a Y <<<"$cys"
    IFS=';' read -r -a D <<<"$ds"
    for k in "${!X[@]}"; do
        if ! jq -e --argjson x "${X[$k]}" --argjson y "${Y[$k]}" --argjson d "${D[$k]}" \
            --argjson w "$width" '[.seals[] | select(((.cx - $x) * (.cx - $x) + (.cy - $y) * (.cy - $y)) <= (0.02 * $w) * (0.02 * $w) and ((.diameter - $d) | fabs) <= 0.05 * $d)] | length == 1' \
            >/dev/null <<<"$json"; then
            fail "seal at (${X[$k]}, ${Y[$k]}) d=${D[$k]} not found in $json"
            return 1
        fi
    done
    return 0
}

case "$expected" in
extract)
    if all_found && [ "$found" -eq "$count" ]; then
        pass "all $count seal(s) found within 2% / 5%"
    else
        fail "expected $count seal(s): $json"
    fi
    if [ "$count" -gt 1 ]; then
        has_flag several-seals && nothing_written && pass "several seals flagged, nothing written" ||
            fail "several seals: flags [$flags], exit $rc"
    elif [ "$rc" -eq 0 ] && [ -f "$out" ]; then
        # 42 mm at the scan's resolution, plus a small margin
        px=$(file "$out" | sed -E 's/.* ([0-9]+) x ([0-9]+).*/\1/')
        want=$(awk -v d="$dpi" 'BEGIN { printf "%d", 42 / 25.4 * d }')
        [ "$px" -ge "$want" ] && [ "$px" -le $((want * 115 / 100)) ] &&
            pass "extracted: $px px across (42 mm at $dpi dpi is $want px)" ||
            fail "extracted picture is $px px, expected about $want"
    else
        fail "not extracted: exit $rc"
    fi
    ;;
reject-or-flag)
    has_flag not-red && nothing_written && pass "not-red flagged, nothing written" ||
        fail "expected not-red and no output: flags [$flags], exit $rc"
    ;;
no-seal)
    has_flag no-seal && [ "$found" -eq 0 ] && nothing_written && pass "no-seal flagged" ||
        fail "expected no-seal: flags [$flags], $found seal(s), exit $rc"
    ;;
extract-or-flag)
    if [ "$rc" -eq 0 ] && [ -f "$out" ]; then
        pass "extracted"
    else
        has_flag faint && nothing_written && pass "faint flagged, nothing written" ||
            fail "expected extraction or faint: flags [$flags], exit $rc"
    fi
    ;;
*)
    fail "unknown expectation $expected"
    ;;
esac
finish
