#!/usr/bin/env bash
# The command line: help, version, and usage errors exit 2 with one line naming the problem.
source "$(dirname "$0")/../lib.sh"
in="$ESEAL_SOURCE_DIR/samples/licence.pdf"
key=(--key "$PKI/rsa2048.key" --cert "$PKI/rsa2048.pem")

grep -q "sign" <<<"$("$ESEAL" --help)" && pass "--help" || fail "--help"
grep -q -- "--certify" <<<"$("$ESEAL" sign --help)" && pass "sign --help" || fail "sign --help"
grep -Eq '^eseal [0-9]+\.[0-9]+\.[0-9]+$' <<<"$("$ESEAL" --version)" && pass "--version" || fail "--version"

usage() { # EXPECT_TEXT ARGS...: exit status 2, one line on stderr naming EXPECT_TEXT
    local expect=$1 rc=0 err
    shift
    err=$("$ESEAL" "$@" 2>&1 >/dev/null) || rc=$?
    if [ "$rc" -ne 2 ] || [ "$(grep -c . <<<"$err")" -ne 1 ] || ! grep -qi -- "$expect" <<<"$err"; then
        fail "eseal $* -> exit $rc, '$err' (want exit 2 naming '$expect')"
    else
        pass "usage error: $err"
    fi
}
usage "unknown command" frobnicate
usage "needs IN.pdf and OUT.pdf" sign "$in" "${key[@]}"
usage "--key is required" sign "$in" "$tmp/o.pdf"
usage "unknown option" sign "$in" "$tmp/o.pdf" "${key[@]}" --bogus
usage "--certify needs 1, 2 or 3" sign "$in" "$tmp/o.pdf" "${key[@]}" --certify 4
usage "--rect needs" sign "$in" "$tmp/o.pdf" "${key[@]}" --rect 1,2,3
usage "--rect needs" sign "$in" "$tmp/o.pdf" "${key[@]}" --rect 1,2,3,x
usage "--page needs a page number" sign "$in" "$tmp/o.pdf" "${key[@]}" --page 0
usage "--page needs --rect" sign "$in" "$tmp/o.pdf" "${key[@]}" --page 1
[ ! -e "$tmp/o.pdf" ] || fail "a usage error left an output file"
finish
