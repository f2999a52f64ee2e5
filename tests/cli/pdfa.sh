#!/usr/bin/env bash
# PDF/A-1 forbids soft masks (ISO 19005-1 6.4): in a PDF/A-1 file the seal picture's
# transparency becomes an explicit 1-bit mask, elsewhere an /SMask; both still render the seal
# where asked, and no text appearance with an unembedded font is added to a PDF/A file.
source "$(dirname "$0")/../lib.sh"
key=(--key "$PKI/rsa2048.key" --cert "$PKI/rsa2048.pem")
# update IN OUT: the bytes the update appended, in a file (grep -q in a pipe would SIGPIPE tail)
update() {
    tail -c +"$(($(stat -c %s "$1") + 1))" "$2" >"$tmp/update.bin"
    echo "$tmp/update.bin"
}

a1="$CORPUS/inputs/p02_licence_lo_pdfa1b.pdf" a2="$CORPUS/inputs/p03_licence_lo_pdfa2b.pdf"
sign "$a1" "$tmp/a1.pdf" "${key[@]}" --page 1 --rect 130,40,42,42 --image "$SEAL_PNG" || fail "sign PDF/A-1"
if grep -a -q "/SMask" "$(update "$a1" "$tmp/a1.pdf")"; then
    fail "a soft mask was added to a PDF/A-1 file"
else
    grep -a -q "/ImageMask true" "$(update "$a1" "$tmp/a1.pdf")" && pass "PDF/A-1: explicit mask" ||
        fail "PDF/A-1: no explicit mask"
fi
seal_at "$tmp/a1.pdf" "$a1" 130 40 42 42 && pass "PDF/A-1: seal rendered in place"
sign "$a2" "$tmp/a2.pdf" "${key[@]}" --page 1 --rect 130,40,42,42 --image "$SEAL_PNG" || fail "sign PDF/A-2"
grep -a -q "/SMask" "$(update "$a2" "$tmp/a2.pdf")" && pass "PDF/A-2: soft mask" || fail "PDF/A-2: no soft mask"
sign "$a1" "$tmp/t.pdf" "${key[@]}" --page 1 --rect 20,20,60,20 || fail "sign PDF/A-1 without image"
grep -a -q "/BaseFont" "$(update "$a1" "$tmp/t.pdf")" && fail "an unembedded font was added to PDF/A" ||
    pass "PDF/A: no unembedded font"
finish
