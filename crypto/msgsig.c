/* Signatures over a whole message, named by a bare algorithm OID with no parameters, as
 * GB/T 38540-2020 and GM/T 0031-2014 name the seal maker's signature (signAlgID): SM2-with-SM3
 * (GM/T 0006), sha*WithRSAEncryption (RFC 5754 3.2) and ecdsa-with-SHA* (RFC 5758 3.2). */
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>
#include <openssl/rsa.h>

#include "crypto/internal.h"

static const struct msg_alg {
    const char *oid;
    const char *name;
    int md_nid;
    int family; /* 0 SM2, 1 RSA, 2 ECDSA */
} ALGS[] = {
    {CRYPTO_OID_SM2_SM3, "SM2-with-SM3", NID_sm3, 0},
    {"1.2.840.113549.1.1.11", "sha256WithRSAEncryption", NID_sha256, 1},
    {"1.2.840.113549.1.1.12", "sha384WithRSAEncryption", NID_sha384, 1},
    {"1.2.840.113549.1.1.13", "sha512WithRSAEncryption", NID_sha512, 1},
    {"1.2.840.10045.4.3.2", "ecdsa-with-SHA256", NID_sha256, 2},
    {"1.2.840.10045.4.3.3", "ecdsa-with-SHA384", NID_sha384, 2},
    {"1.2.840.10045.4.3.4", "ecdsa-with-SHA512", NID_sha512, 2},
};

static int family_of(const EVP_PKEY *pkey) {
    if (crypto_is_sm2(pkey))
        return 0;
    if (EVP_PKEY_is_a(pkey, "RSA"))
        return 1;
    if (EVP_PKEY_is_a(pkey, "EC"))
        return 2;
    return -1;
}

const char *crypto_msg_alg_name(const char *oid) {
    for (size_t i = 0; oid && i < sizeof ALGS / sizeof ALGS[0]; i++)
        if (strcmp(ALGS[i].oid, oid) == 0)
            return ALGS[i].name;
    return NULL;
}

/* The digest a key signs messages with: SM3 for SM2; for ECDSA the curve's size (P-384:
 * SHA-384, P-521: SHA-512); SHA-256 for RSA. */
static const struct msg_alg *alg_for_key(const EVP_PKEY *pkey) {
    int fam = family_of(pkey), md = NID_sha256;
    if (fam == 2 && EVP_PKEY_get_bits(pkey) > 256)
        md = EVP_PKEY_get_bits(pkey) > 384 ? NID_sha512 : NID_sha384;
    for (size_t i = 0; fam >= 0 && i < sizeof ALGS / sizeof ALGS[0]; i++)
        if (ALGS[i].family == fam && (fam == 0 || ALGS[i].md_nid == md))
            return &ALGS[i];
    return NULL;
}

static crypto_err message_digest(uint8_t *h, size_t *hl, const EVP_PKEY *pub,
                                 const struct msg_alg *a, const struct iovec *parts, int n) {
    if (a->family == 0) {
        *hl = 32;
        return crypto_sm2_prehash(h, pub, parts, n);
    }
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned len = 0;
    bool ok = c && EVP_DigestInit_ex2(c, EVP_get_digestbynid(a->md_nid), NULL);
    for (int i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(c, parts[i].iov_base, parts[i].iov_len);
    ok = ok && EVP_DigestFinal_ex(c, h, &len);
    EVP_MD_CTX_free(c);
    *hl = len;
    return ok ? CRYPTO_OK : crypto_fail(CRYPTO_E_SIGN, "digest failed");
}

crypto_err crypto_key_sign_message(uint8_t **sig, size_t *sig_len, const char **alg_oid,
                                   crypto_key *key, const struct iovec *parts, int nparts) {
    EVP_PKEY *pub = crypto_key_public(key);
    const struct msg_alg *a = alg_for_key(pub);
    uint8_t h[EVP_MAX_MD_SIZE];
    size_t hl = 0, len = crypto_key_max_sig(key);
    uint8_t *s = NULL;
    crypto_err err = CRYPTO_OK;
    *sig = NULL;
    *sig_len = 0;
    if (!a) {
        err = crypto_fail(CRYPTO_E_ALGORITHM, "keys of type %s cannot sign here (SM2, RSA, ECDSA)",
                          EVP_PKEY_get0_type_name(pub));
        goto out;
    }
    if (!(s = malloc(len ? len : 1))) {
        err = crypto_fail(CRYPTO_E_NOMEM, "out of memory");
        goto out;
    }
    err = message_digest(h, &hl, pub, a, parts, nparts);
    if (err == CRYPTO_OK)
        err = crypto_key_sign_digest(s, &len, key, EVP_get_digestbynid(a->md_nid),
                                     a->family == 1 ? CRYPTO_PAD_PKCS1 : CRYPTO_PAD_AUTO, h, hl);
out:
    if (err == CRYPTO_OK) {
        *sig = s;
        *sig_len = len;
        *alg_oid = a->oid;
    } else {
        free(s);
    }
    return err;
}

crypto_err crypto_verify_message(const EVP_PKEY *pub, const char *alg_oid, const uint8_t *sig,
                                 size_t sig_len, const struct iovec *parts, int nparts) {
    const struct msg_alg *a = NULL;
    for (size_t i = 0; alg_oid && i < sizeof ALGS / sizeof ALGS[0] && !a; i++)
        if (strcmp(ALGS[i].oid, alg_oid) == 0)
            a = &ALGS[i];
    if (!a)
        return crypto_fail(CRYPTO_E_ALGORITHM, "signature algorithm %s is not supported",
                           alg_oid ? alg_oid : "(none)");
    if (family_of(pub) != a->family)
        return crypto_fail(CRYPTO_E_ALGORITHM, "a %s key cannot make %s signatures",
                           EVP_PKEY_get0_type_name(pub), a->name);
    if (a->family == 0)
        return crypto_sm2_verify(pub, sig, sig_len, parts, nparts)
                   ? CRYPTO_OK
                   : crypto_fail(CRYPTO_E_SIGN, "the SM2 signature does not verify");
    uint8_t h[EVP_MAX_MD_SIZE];
    size_t hl = 0;
    crypto_err err = message_digest(h, &hl, pub, a, parts, nparts);
    EVP_PKEY_CTX *c = err == CRYPTO_OK
                          ? EVP_PKEY_CTX_new_from_pkey(NULL, (EVP_PKEY *)(uintptr_t)pub, NULL)
                          : NULL;
    if (err == CRYPTO_OK &&
        (!c || EVP_PKEY_verify_init(c) <= 0 ||
         EVP_PKEY_CTX_set_signature_md(c, EVP_get_digestbynid(a->md_nid)) <= 0 ||
         (a->family == 1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) <= 0)))
        err = crypto_fail(CRYPTO_E_ALGORITHM, "cannot set up %s verification", a->name);
    if (err == CRYPTO_OK && EVP_PKEY_verify(c, sig, sig_len, h, hl) != 1)
        err = crypto_fail(CRYPTO_E_SIGN, "the %s signature does not verify", a->name);
    EVP_PKEY_CTX_free(c);
    return err;
}
