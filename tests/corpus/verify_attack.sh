#!/usr/bin/env bash
# verify_attack.sh NAME : eseal verify on one file of ../shared/corpus/attacks, judged by its
# MANIFEST.tsv row (read here: the rows hold ';'-separated lists):
#   valid                  every signature intact, nothing modified, not TOTAL_FAILED (an
#                          untrusted test CA may leave it INDETERMINATE)
#   invalid                not TOTAL_PASSED, and a cause named
#   modified-after-signing not TOTAL_PASSED, and a modification listed (or coverage partial)
#   not signed             reported cleanly: exit 1, one JSON line, no signature passed, and
#                          the damage named when the row calls the file malformed
# Signatures the row names ("Sig1=valid; Sig2=invalid") are checked one by one too. Every run
# is bounded by a 20 s limit: a hang is a failure.
source "$(dirname "$0")/../lib.sh"
name=$1
file=$CORPUS/attacks/$name
row=$(awk -F'\t' -v n="$name" '$1 == n' "$CORPUS/attacks/MANIFEST.tsv")
expected=$(cut -f2 <<<"$row")
per_sig=$(cut -f3 <<<"$row")
class=$(cut -f4 <<<"$row")
[ -n "$expected" ] || { fail "$name is not in MANIFEST.tsv"; finish; }

rc=0
timeout 20 "$ESEAL" verify --json -q "$file" >"$tmp/out.json" 2>"$tmp/err" || rc=$?
if [ "$rc" -ge 124 ]; then
    fail "$name: eseal verify did not finish (exit $rc)"
    finish
fi
if [ "$(wc -l <"$tmp/out.json")" -ne 1 ] || ! jq -e . "$tmp/out.json" >/dev/null; then
    fail "$name: not one JSON line"
    cat "$tmp/out.json" "$tmp/err" >&2
    finish
fi
j=$tmp/out.json
ind=$(jq -r .indication "$j")
nsig=$(jq '.signatures | length' "$j")
echo "$name: $ind, $nsig signature(s), exit $rc"
jq -c '.signatures[] | {field, indication, sub_indication, integrity, coverage,
    modifications: [.modifications[].kind], errors}' "$j"
jq -c '.errors' "$j"

# the exit status follows the indication
if [ "$ind" = TOTAL_PASSED ]; then want=0; else want=1; fi
[ "$rc" -eq "$want" ] || fail "$name: exit $rc with $ind (want $want)"

# sig_ok FILTER EXPECTATION LABEL : one signature (selected by a jq filter) meets an expectation
sig_ok() {
    local sel=$1 exp=$2 label=$3 s
    s=$(jq -c "[.signatures[] | select($sel)] | first" "$j")
    if [ "$s" = null ]; then
        fail "$name: no signature $label reported"
        return
    fi
    case $exp in
    valid)
        jq -e '.integrity == true and (.modifications | length) == 0 and
               .indication != "TOTAL_FAILED"' <<<"$s" >/dev/null ||
            fail "$name: signature $label should be intact and unmodified: $s"
        ;;
    invalid)
        jq -e '.indication != "TOTAL_PASSED" and (.errors | length) > 0' <<<"$s" >/dev/null ||
            fail "$name: signature $label should fail with a cause: $s"
        ;;
    modified-after-signing)
        jq -e '.indication != "TOTAL_PASSED" and
               ((.modifications | length) > 0 or .coverage == "partial")' <<<"$s" >/dev/null ||
            fail "$name: signature $label should list a modification: $s"
        ;;
    esac
}

case $expected in
valid)
    [ "$nsig" -ge 1 ] || fail "$name: no signature found"
    jq -e '[.signatures[] | .integrity == true and (.modifications | length) == 0 and
            .indication != "TOTAL_FAILED"] | all' "$j" >/dev/null ||
        fail "$name: a signature of a valid file is broken, modified or TOTAL_FAILED"
    ;;
invalid)
    [ "$ind" != TOTAL_PASSED ] || fail "$name: an invalid file reported TOTAL_PASSED"
    jq -e '(.errors | length) > 0 or ([.signatures[] | select(.indication != "TOTAL_PASSED") |
            (.errors | length) > 0] | any)' "$j" >/dev/null ||
        fail "$name: no cause named"
    ;;
modified-after-signing)
    [ "$ind" != TOTAL_PASSED ] || fail "$name: a modified file reported TOTAL_PASSED"
    jq -e '[.signatures[] | (.modifications | length) > 0 or .coverage == "partial"] | any' \
        "$j" >/dev/null || fail "$name: no modification listed"
    ;;
"not signed")
    [ "$ind" != TOTAL_PASSED ] || fail "$name: an unsigned file reported TOTAL_PASSED"
    [ "$rc" -eq 1 ] || fail "$name: exit $rc for an unsigned or unreadable file (want 1)"
    # a malformed file has its damage named
    if [[ $class == *malformed* || $class == *DoS* ]]; then
        jq -e '(.errors | length) > 0' "$j" >/dev/null || fail "$name ($class): damage not named"
    fi
    ;;
*)
    fail "$name: unknown expected verdict '$expected'"
    ;;
esac

# the signatures the row names
IFS=';' read -ra entries <<<"$per_sig"
for e in "${entries[@]}"; do
    e=${e# }
    [[ $e == *=* ]] || continue
    label=${e%%=*} verdict=${e#*=}
    verdict=${verdict%%(*}
    verdict=${verdict% }
    case $verdict in valid | invalid | modified-after-signing) ;; *) continue ;; esac
    [[ $label == *" "* ]] && continue # a description, not a field ("trailing DSS update")
    if [ "$label" = doc-timestamp ]; then
        sig_ok '.type == "document_timestamp"' "$verdict" "$label"
    else
        sig_ok ".field == \"$label\"" "$verdict" "$label"
    fi
done
finish
