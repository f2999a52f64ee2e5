#!/usr/bin/env bash
# A file with a damaged cross-reference table that qpdf can rebuild: by default it is rewritten
# whole and then signed (never an update appended to the broken table); with --no-repair it is
# refused.
source "$(dirname "$0")/../lib.sh"
name=$1
in="$CORPUS/inputs/$name"
err=$("$ESEAL" sign "$in" "$tmp/out.pdf" -q --key "$PKI/rsa2048.key" --cert "$PKI/rsa2048.pem" 2>&1) ||
    fail "repairable file not signed: $err"
if [ -f "$tmp/out.pdf" ]; then
    grep -q "rewritten whole" <<<"$err" || fail "no note that the file was rewritten: $err"
    pdfsig_check "$tmp/out.pdf" 1 && qpdf_check "$tmp/out.pdf" && pass "repaired and signed"
    # the signed file is a clean rewrite: it does not begin with the broken input
    if cmp -s -n "$(stat -c %s "$in")" "$in" "$tmp/out.pdf"; then
        fail "the update was appended to the damaged file"
    else
        pass "not appended to the damaged table"
    fi
fi
refused "cross-reference" "$tmp/out2.pdf" "$ESEAL" sign "$in" "$tmp/out2.pdf" --no-repair \
    --key "$PKI/rsa2048.key" --cert "$PKI/rsa2048.pem"
finish
