#!/usr/bin/env bash
# Keys in a PKCS#11 token (SoftHSM2, a private one per run): a token initialised, RSA-2048 and
# P-256 keys generated in it and never extractable, certificate requests signed in the token and
# issued by the test CA, the certificates stored beside the keys, PDFs signed with
# --key pkcs11:… and checked by pdfsig and openssl cms; the PIN lockout after 6 wrong PINs,
# kept across processes and parallel attempts, the administrator's unlock, PIN change; autoseal's
# key process signing a batch with a token key.
source "$(dirname "$0")/../lib.sh"
in="$ESEAL_SOURCE_DIR/samples/licence.pdf"

# Not skipped when SoftHSM2 is missing: that is a failure of the machine's set-up.
if ! command -v softhsm2-util >/dev/null || [ ! -f /usr/lib/softhsm/libsofthsm2.so ]; then
    fail "SoftHSM2 is not installed (scripts/install-deps.sh installs softhsm2)"
    finish
fi
mkdir -p "$tmp/tokens" "$tmp/state"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$tmp" \
    >"$tmp/softhsm2.conf"
export SOFTHSM2_CONF="$tmp/softhsm2.conf" ESEAL_KEYSTATE_DIR="$tmp/state"
export ESEAL_PKCS11_MODULE=/usr/lib/softhsm/libsofthsm2.so
echo 246810 >"$tmp/pin"
echo 13579135 >"$tmp/so"
echo 000000 >"$tmp/bad"
echo 864200 >"$tmp/new"

# ---- token and keys ----
"$ESEAL" key init-token --label ent-0001 --so-pin-file "$tmp/so" --pin-file "$tmp/pin" >/dev/null ||
    fail "key init-token"
slots=$(softhsm2-util --show-slots)
grep -q "Label: *ent-0001 *$" <<<"$slots" && grep -q "User PIN init.: *yes" <<<"$slots" &&
    pass "softhsm2-util sees the initialised token" || fail "softhsm2-util --show-slots: $slots"
refused "exists already" "$tmp/none" "$ESEAL" key init-token --label ent-0001 \
    --so-pin-file "$tmp/so" --pin-file "$tmp/pin"

"$ESEAL" key generate --token ent-0001 --label seal --id 01 --type rsa2048 --pin-file "$tmp/pin" \
    --pubout "$tmp/seal.pub" >/dev/null || fail "key generate rsa2048"
"$ESEAL" key generate --token ent-0001 --label qr --id 02 --type p256 --pin-file "$tmp/pin" \
    --pubout "$tmp/qr.pub" >/dev/null || fail "key generate p256"
openssl pkey -pubin -in "$tmp/seal.pub" -noout -text | grep -q "Public-Key: (2048 bit)" &&
    openssl pkey -pubin -in "$tmp/qr.pub" -noout -text | grep -q "NIST CURVE: P-256" &&
    pass "openssl reads the public keys (RSA-2048, P-256)" || fail "public keys"
refused "already" "$tmp/none" "$ESEAL" key generate --token ent-0001 --label seal --type p256 \
    --pin-file "$tmp/pin"
list=$("$ESEAL" key list --token ent-0001 --pin-file "$tmp/pin")
grep -q "key 'seal'  id 01  RSA-2048  private: sensitive, not extractable" <<<"$list" &&
    grep -q "key 'qr'  id 02  EC P-256  private: sensitive, not extractable" <<<"$list" &&
    pass "private keys are sensitive and not extractable (CKA_EXTRACTABLE false)" ||
    fail "key list: $list"

# ---- certificates: request signed in the token, issued by the test CA, stored in the token ----
printf '[v3_signer]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n' \
    >"$tmp/ext.cnf"
for k in seal qr; do
    U="pkcs11:token=ent-0001;object=$k"
    "$ESEAL" key csr "$U" --subject "/C=CN/O=示例科技有限公司/CN=Token $k" --pin-file "$tmp/pin" \
        "$tmp/$k.csr" >/dev/null || fail "key csr $k"
    openssl req -in "$tmp/$k.csr" -verify -noout 2>/dev/null &&
        cmp -s <(openssl req -in "$tmp/$k.csr" -pubkey -noout) "$tmp/$k.pub" &&
        pass "$k: openssl verifies the request, for the token's key" || fail "$k: request"
    openssl x509 -req -in "$tmp/$k.csr" -CA "$PKI/issuing-ca.pem" -CAkey "$PKI/issuing-ca.key" \
        -set_serial "0x$(openssl rand -hex 8)" -days 365 -extfile "$tmp/ext.cnf" \
        -extensions v3_signer -out "$tmp/$k.pem" 2>/dev/null || fail "CA: $k"
    "$ESEAL" key import-cert "$U" "$tmp/$k.pem" --pin-file "$tmp/pin" >/dev/null ||
        fail "key import-cert $k"
    # no --cert: the token's certificate object is the signer's
    if "$ESEAL" sign "$in" "$tmp/$k.pdf" -q --key "$U" --pin-file "$tmp/pin" --chain "$PKI/chain.pem"; then
        pdfsig_check "$tmp/$k.pdf" 1 && openssl_verify "$tmp/$k.pdf" &&
            pass "$k: signed in the token, valid for pdfsig and openssl cms"
    else
        fail "$k: eseal sign --key $U"
    fi
done
refused "not for the key" "$tmp/none" "$ESEAL" key import-cert "pkcs11:token=ent-0001;object=seal" \
    "$tmp/qr.pem" --pin-file "$tmp/pin"
# an EC certificate for the RSA key: EVP_PKEY_eq says -1 (other types), which is no match
refused "does not belong to the certificate" "$tmp/x.pdf" "$ESEAL" sign "$in" "$tmp/x.pdf" \
    --key "pkcs11:token=ent-0001;object=seal" --pin-file "$tmp/pin" --cert "$tmp/qr.pem"
refused "does not belong to the certificate" "$tmp/x.pdf" "$ESEAL" sign "$in" "$tmp/x.pdf" \
    --key "$PKI/rsa2048.key" --cert "$PKI/ec256.pem"
grep -q "key 'seal'  id 01  RSA-2048  certificate: CN=Token seal" <<<"$("$ESEAL" key list)" &&
    pass "key list shows the stored certificate" || fail "key list: $("$ESEAL" key list)"
S="pkcs11:token=ent-0001;id=%01"
if "$ESEAL" sign "$in" "$tmp/pss.pdf" -q --key "$S" --pin-file "$tmp/pin" --chain "$PKI/chain.pem" \
    --pss --digest sha512; then
    openssl_verify "$tmp/pss.pdf" && pass "RSA-PSS with SHA-512 in the token, key found by id"
else
    fail "sign --pss by id"
fi
if "$ESEAL" sign "$in" "$tmp/src.pdf" -q --key "pkcs11:token=ent-0001;object=seal;type=private?pin-source=file:$tmp/pin"; then
    pdfsig_check "$tmp/src.pdf" 1 && pass "PIN from the URI's pin-source"
else
    fail "sign with pin-source"
fi
"$ESEAL" stamp "$in" "$tmp/stamped.pdf" -q --template "$ESEAL_SOURCE_DIR/templates/export-licence.json" \
    --seal-image "$BUREAU_PNG" --key "pkcs11:token=ent-0001;object=seal" --pin-file "$tmp/pin" \
    --chain "$PKI/chain.pem" --qr-key "$PKI/ec256.key" \
    --set licence_id=1.2.156.3005.2.11100000000013338W011.11990000MB0001234L.20240000128.001.A \
    --set enterprise=示例科技有限公司 --set credit_code=91990000MA0000001B \
    --set valid_from=2024-03-15 --set valid_to=2024-12-31 2>"$tmp/stamp.err" &&
    pdfsig_check "$tmp/stamped.pdf" 1 && pass "eseal stamp with a token key" ||
    fail "eseal stamp with a token key: $(cat "$tmp/stamp.err")"
# a GB/T 38540 seal made by a maker key in the token, its certificate the token's
if "$ESEAL" seal make --picture "$SEAL_PNG" --name 示例科技有限公司 --cert "$PKI/ec256.pem" \
    --valid-to 2030-12-31 --maker-key "pkcs11:token=ent-0001;object=seal" \
    --maker-pass-file "$tmp/pin" "$tmp/token.seal" 2>"$tmp/make.err"; then
    "$ESEAL" seal show --json "$tmp/token.seal" | grep -q '"maker_signature":{"valid":true' &&
        "$ESEAL" seal show --json "$tmp/token.seal" | grep -q '"subject":"CN=Token seal' &&
        pass "seal make with the maker key in the token" || fail "seal show of the token's seal"
else
    fail "seal make with a token key: $(cat "$tmp/make.err")"
fi

# ---- bad URIs and missing PINs: one clear line each ----
refused "unknown attribute 'objekt'" "$tmp/x.pdf" "$ESEAL" sign "$in" "$tmp/x.pdf" \
    --key "pkcs11:token=ent-0001;objekt=seal" --pin-file "$tmp/pin"
refused "two hex digits" "$tmp/x.pdf" "$ESEAL" sign "$in" "$tmp/x.pdf" \
    --key "pkcs11:token=ent%zz" --pin-file "$tmp/pin"
refused "no PKCS#11 token matches token 'nobody'" "$tmp/x.pdf" "$ESEAL" sign "$in" "$tmp/x.pdf" \
    --key "pkcs11:token=nobody;object=seal" --pin-file "$tmp/pin"
refused "holds no private key labelled 'gone'" "$tmp/x.pdf" "$ESEAL" sign "$in" "$tmp/x.pdf" \
    --key "pkcs11:token=ent-0001;object=gone" --pin-file "$tmp/pin"
refused "needs its PIN" "$tmp/x.pdf" "$ESEAL" sign "$in" "$tmp/x.pdf" \
    --key "pkcs11:token=ent-0001;object=seal"
refused "2 private keys that match" "$tmp/x.pdf" "$ESEAL" sign "$in" "$tmp/x.pdf" \
    --key "pkcs11:token=ent-0001" --pin-file "$tmp/pin"

# ---- lockout ----
U="pkcs11:token=ent-0001;object=seal"
sign_with() { "$ESEAL" sign "$in" "$tmp/l.pdf" -q --key "$U" --pin-file "$1"; }
for left in 5 4 3 2 1; do
    refused "wrong PIN for token 'ent-0001': $left attempt" "$tmp/l.pdf" sign_with "$tmp/bad"
done
sign_with "$tmp/pin" && pass "the right PIN after 5 wrong ones signs" || fail "right PIN after 5 wrong"
grep -q "0 wrong PINs of 6; not locked" <<<"$("$ESEAL" key status "$U")" &&
    pass "the right PIN resets the count" || fail "status: $("$ESEAL" key status "$U")"
rm -f "$tmp/l.pdf"
for left in 5 4 3 2 1; do
    refused "$left attempt" "$tmp/l.pdf" sign_with "$tmp/bad"
done
refused "locked after 6 wrong PINs; an administrator must unlock it" "$tmp/l.pdf" sign_with "$tmp/bad"
# every attempt is a new process: the count lives on disk, so this is a restart
refused "locked after 6 wrong PINs" "$tmp/l.pdf" sign_with "$tmp/pin"
refused "locked after 6 wrong PINs" "$tmp/l.pdf" "$ESEAL" key passwd "$U" --pin-file "$tmp/pin" \
    --new-pin-file "$tmp/new"
grep -q "6 wrong PINs of 6; locked" <<<"$("$ESEAL" key status "$U")" &&
    [ "$(cat "$tmp"/state/token-*[0-9a-f])" = "failures 6" ] &&
    pass "status and the state file say locked after 6" || fail "status: $("$ESEAL" key status "$U")"
refused "wrong SO PIN" "$tmp/none" "$ESEAL" key unlock "$U" --so-pin-file "$tmp/bad" \
    --new-pin-file "$tmp/new"
"$ESEAL" key unlock "$U" --so-pin-file "$tmp/so" --new-pin-file "$tmp/new" >/dev/null &&
    pass "the administrator unlocks with the SO PIN" || fail "key unlock"
refused "wrong PIN for token 'ent-0001': 5 attempts left" "$tmp/l.pdf" sign_with "$tmp/pin"
sign_with "$tmp/new" && pdfsig_check "$tmp/l.pdf" 1 && pass "the new PIN signs after the unlock" ||
    fail "new PIN after unlock"

# ---- PIN change ----
refused "wrong PIN for token 'ent-0001': 5 attempts left" "$tmp/none" "$ESEAL" key passwd "$U" --pin-file "$tmp/bad" \
    --new-pin-file "$tmp/pin"
"$ESEAL" key passwd "$U" --pin-file "$tmp/new" --new-pin-file "$tmp/pin" >/dev/null &&
    pass "key passwd" || fail "key passwd"
rm -f "$tmp/l.pdf"
refused "5 attempts left" "$tmp/l.pdf" sign_with "$tmp/new"
sign_with "$tmp/pin" && pass "the changed PIN signs, the old one does not" || fail "after passwd"

# ---- parallel wrong PINs cannot exceed the limit ----
for i in $(seq 12); do
    "$ESEAL" sign "$in" "$tmp/par$i.pdf" -q --key "$U" --pin-file "$tmp/bad" 2>"$tmp/par$i.err" &
done
wait
errs=$(cat "$tmp"/par*.err)
left=$(grep -c "attempts\? left" <<<"$errs" || true)
sixth=$(grep -c "wrong PIN for token 'ent-0001'; key locked after 6 wrong PINs" <<<"$errs" || true)
locked=$(grep -c "token 'ent-0001': key locked after 6 wrong PINs" <<<"$errs" || true)
[ "$left" -eq 5 ] && [ "$sixth" -eq 1 ] && [ "$locked" -eq 6 ] &&
    [ "$(cat "$tmp"/state/token-*[0-9a-f])" = "failures 6" ] && ! ls "$tmp"/par*.pdf >/dev/null 2>&1 &&
    pass "12 parallel wrong PINs: 5 counted down, the 6th locks, 6 refused unasked; 6 counted" ||
    fail "parallel: $errs; state $(cat "$tmp"/state/token-*[0-9a-f])"
refused "locked" "$tmp/l2.pdf" "$ESEAL" sign "$in" "$tmp/l2.pdf" --key "$U" --pin-file "$tmp/pin"
"$ESEAL" key unlock "$U" --so-pin-file "$tmp/so" --new-pin-file "$tmp/pin" >/dev/null || fail "unlock 2"

# ---- autoseal's key process signs a batch with the token key ----
mkdir -p "$tmp/in"
for i in 1 2 3; do cp "$in" "$tmp/in/lic$i.pdf"; done
if "$AUTOSEAL" batch "$tmp/in" "$tmp/out" --template "$ESEAL_SOURCE_DIR/templates/export-licence.json" \
    --seal-image "$BUREAU_PNG" --key "$U" --pin-file "$tmp/pin" --chain "$PKI/chain.pem" \
    --qr-key "$PKI/ec256.key" --jobs 2 -q \
    --set licence_id=1.2.156.3005.2.11100000000013338W011.11990000MB0001234L.20240000128.001.A \
    --set enterprise=示例科技有限公司 --set credit_code=91990000MA0000001B \
    --set valid_from=2024-03-15 --set valid_to=2024-12-31 >"$tmp/batch.out" 2>&1; then
    ok=1
    for i in 1 2 3; do
        pdfsig_check "$tmp/out/lic$i.pdf" 1 && openssl_verify "$tmp/out/lic$i.pdf" || ok=0
    done
    [ "$ok" -eq 1 ] && pass "autoseal batch signs with the token key"
else
    fail "autoseal batch with a token key: $(cat "$tmp/batch.out")"
fi

# ---- a second key of a token already logged in by the process: its PIN is still checked ----
# (PKCS#11 logins are per process and token: the token itself answers "already logged in"
# without looking at the second PIN)
before=$("$ESEAL" key status "$U")
out=$("$AUTOSEAL" batch "$tmp/in" "$tmp/out2" --template "$ESEAL_SOURCE_DIR/templates/export-licence.json" \
    --seal-image "$BUREAU_PNG" --key "$U" --pin-file "$tmp/pin" --chain "$PKI/chain.pem" \
    --qr-key "pkcs11:token=ent-0001;object=qr?pin-source=file:$tmp/bad" -q \
    --set licence_id=1.2.156.3005.2.11100000000013338W011.11990000MB0001234L.20240000128.001.A \
    --set enterprise=示例科技有限公司 --set credit_code=91990000MA0000001B \
    --set valid_from=2024-03-15 --set valid_to=2024-12-31 2>&1) && rc=0 || rc=$?
if [ "$rc" -ne 0 ] && grep -qi "wrong PIN" <<<"$out" && ! ls "$tmp"/out2/*.pdf >/dev/null 2>&1; then
    pass "a wrong PIN for a second key of a logged-in token is refused and counted"
else
    fail "second key, wrong PIN: exit $rc: $out"
fi
"$ESEAL" key status "$U" | grep -q "1 wrong PIN" && pass "and counted ($before -> 1)" ||
    fail "not counted: $("$ESEAL" key status "$U")"

# ---- the counts are refused in a directory others may write to ----
mkdir -p "$tmp/shared"
chmod 0777 "$tmp/shared"
refused "writable by nobody else" "$tmp/shared.pdf" env ESEAL_KEYSTATE_DIR="$tmp/shared" \
    "$ESEAL" sign "$in" "$tmp/shared.pdf" --key "$U" --pin-file "$tmp/pin"
finish
