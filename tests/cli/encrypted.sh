#!/usr/bin/env bash
# Encrypted inputs: with the empty user password and permissions that allow it, the signature
# is added with its strings and streams encrypted as the file requires (RC4-40, RC4-128,
# AES-128, AES-256); a user password given with --doc-pass-file opens a protected file.
source "$(dirname "$0")/../lib.sh"
in="$ESEAL_SOURCE_DIR/samples/licence.pdf"
key=(--key "$PKI/rsa2048.key" --cert "$PKI/rsa2048.pem")
# enc USER_PASSWORD BITS NAME [QPDF OPTIONS...]: an encrypted copy of the sample licence
enc() {
    qpdf --allow-weak-crypto --encrypt "$1" owner-pw "$2" "${@:4}" -- "$in" "$tmp/$3.pdf" ||
        { fail "qpdf could not make $3"; return 1; }
}

check() { # NAME [pdfsig/qpdf password]
    local name=$1 pw=${2:-} o="$tmp/$1-signed.pdf"
    local pargs=() qargs=()
    [ -n "$pw" ] && pargs=(-upw "$pw") qargs=(--password="$pw")
    if sign "$tmp/$name.pdf" "$o" "${key[@]}" --reason "Approved-$name" --page 1 \
        --rect 120,40,42,42 --image "$SEAL_PNG" ${pw:+--doc-pass-file "$tmp/pw.txt"}; then
        local out
        out=$(pdfsig "${pargs[@]}" "$o" 2>&1)
        grep -q "Signature is Valid" <<<"$out" && grep -q "Total document signed" <<<"$out" ||
            { fail "$name: pdfsig: $out"; return; }
        qpdf "${qargs[@]}" --check "$o" >/dev/null 2>&1 || { fail "$name: qpdf --check"; return; }
        # the reason is stored encrypted, and qpdf decrypts it to what was given
        grep -a -q "Approved-$name" "$o" && { fail "$name: /Reason left in clear text"; return; }
        qpdf "${qargs[@]}" --qdf --object-streams=disable --decrypt "$o" "$tmp/$name.qdf" ||
            { fail "$name: qpdf cannot decrypt the result"; return; }
        grep -a -q "Approved-$name" "$tmp/$name.qdf" ||
            { fail "$name: the encrypted /Reason does not decrypt to what was given"; return; }
        pass "$name"
    else
        fail "$name: eseal sign failed"
    fi
}
enc "" 40 rc4-40 && check rc4-40
enc "" 128 rc4-128 --use-aes=n && check rc4-128
enc "" 128 aes-128 --use-aes=y && check aes-128
enc "" 256 aes-256 && check aes-256
enc "" 256 aes-256-r5 --force-R5 && check aes-256-r5
enc "user-pw" 256 aes-256-user && printf 'user-pw\n' >"$tmp/pw.txt" && check aes-256-user user-pw
refused "password protected" "$tmp/x.pdf" "$ESEAL" sign "$tmp/aes-256-user.pdf" "$tmp/x.pdf" "${key[@]}"
enc "" 256 noannot --annotate=n --form=n && refused "permissions forbid" "$tmp/x.pdf" \
    "$ESEAL" sign "$tmp/noannot.pdf" "$tmp/x.pdf" "${key[@]}"
finish
