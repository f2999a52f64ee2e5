/* SM2 signatures with SM3 (GB/T 32918.2-2016, GB/T 32905-2016; GM/T 0009-2012 for the user ID,
 * GB/T 35275-2017 / GM/T 0010 for CMS), and signatures over whole messages named by a bare
 * algorithm OID (GB/T 38540-2020 signAlgID).
 *
 * OpenSSL 3.0 computes the SM2 "Z" value from an ID only when told one, and X509_sign,
 * X509_verify, X509_CRL_verify and OCSP_basic_verify tell it none: they use an empty ID, where
 * GM/T 0009 fixes 1234567812345678. Here the ID is always given. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>

#include "crypto/internal.h"

#define SM2_FIELD_BYTES 32

bool crypto_is_sm2(const EVP_PKEY *pkey) {
    return pkey && EVP_PKEY_is_a(pkey, "SM2");
}

/* GB/T 32918.2-2016 5.5: Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A),
 * ENTL_A the ID's length in bits as two bytes, each field element 32 bytes big-endian. */
crypto_err crypto_sm2_z(uint8_t z[32], const EVP_PKEY *pub, const uint8_t *id, size_t id_len) {
    crypto_err err = CRYPTO_OK;
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_sm2);
    EC_POINT *q = g ? EC_POINT_new(g) : NULL;
    BN_CTX *bn = BN_CTX_new();
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    BIGNUM *p = BN_new(), *a = BN_new(), *b = BN_new(), *x = BN_new(), *y = BN_new();
    uint8_t pt[2 * SM2_FIELD_BYTES + 1], field[6][SM2_FIELD_BYTES];
    size_t ptlen = 0;
    char group[32] = "";
    uint8_t entl[2] = {(uint8_t)((id_len * 8) >> 8), (uint8_t)(id_len * 8)};
    if (!g || !q || !bn || !c || !p || !a || !b || !x || !y) {
        err = crypto_fail(CRYPTO_E_NOMEM, "out of memory");
        goto out;
    }
    if (id_len > 8191) { /* ENTL is 16 bits of bit length */
        err = crypto_fail(CRYPTO_E_ARG, "an SM2 ID of %zu bytes is too long", id_len);
        goto out;
    }
    if (!crypto_is_sm2(pub) ||
        !EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                        NULL) ||
        OBJ_sn2nid(group) != NID_sm2 ||
        !EVP_PKEY_get_octet_string_param(pub, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt, &ptlen) ||
        !EC_POINT_oct2point(g, q, pt, ptlen, bn)) {
        err = crypto_fail(CRYPTO_E_ALGORITHM, "not an SM2 public key on the SM2 curve");
        goto out;
    }
    if (!EC_GROUP_get_curve(g, p, a, b, bn) ||
        !EC_POINT_get_affine_coordinates(g, EC_GROUP_get0_generator(g), x, y, bn) ||
        BN_bn2binpad(a, field[0], SM2_FIELD_BYTES) < 0 ||
        BN_bn2binpad(b, field[1], SM2_FIELD_BYTES) < 0 ||
        BN_bn2binpad(x, field[2], SM2_FIELD_BYTES) < 0 ||
        BN_bn2binpad(y, field[3], SM2_FIELD_BYTES) < 0 ||
        !EC_POINT_get_affine_coordinates(g, q, x, y, bn) ||
        BN_bn2binpad(x, field[4], SM2_FIELD_BYTES) < 0 ||
        BN_bn2binpad(y, field[5], SM2_FIELD_BYTES) < 0) {
        err = crypto_fail(CRYPTO_E_ALGORITHM, "cannot read the SM2 curve or key");
        goto out;
    }
    if (!EVP_DigestInit_ex2(c, EVP_sm3(), NULL) || !EVP_DigestUpdate(c, entl, 2) ||
        (id_len && !EVP_DigestUpdate(c, id, id_len)) || !EVP_DigestUpdate(c, field, sizeof field) ||
        !EVP_DigestFinal_ex(c, z, NULL))
        err = crypto_fail(CRYPTO_E_SIGN, "SM3 failed");
out:
    BN_free(p);
    BN_free(a);
    BN_free(b);
    BN_free(x);
    BN_free(y);
    EVP_MD_CTX_free(c);
    BN_CTX_free(bn);
    EC_POINT_free(q);
    EC_GROUP_free(g);
    return err;
}

/* GB/T 32918.2-2016 6.1 A1-A2: e = SM3(Z_A || M), with the default ID. */
crypto_err crypto_sm2_prehash(uint8_t e[32], const EVP_PKEY *pub, const struct iovec *parts,
                              int nparts) {
    uint8_t z[32];
    crypto_err err = crypto_sm2_z(z, pub, (const uint8_t *)CRYPTO_SM2_ID, strlen(CRYPTO_SM2_ID));
    EVP_MD_CTX *c = err == CRYPTO_OK ? EVP_MD_CTX_new() : NULL;
    if (err == CRYPTO_OK &&
        (!c || !EVP_DigestInit_ex2(c, EVP_sm3(), NULL) || !EVP_DigestUpdate(c, z, sizeof z)))
        err = crypto_fail(CRYPTO_E_SIGN, "SM3 failed");
    for (int i = 0; err == CRYPTO_OK && i < nparts; i++)
        if (!EVP_DigestUpdate(c, parts[i].iov_base, parts[i].iov_len))
            err = crypto_fail(CRYPTO_E_SIGN, "SM3 failed");
    if (err == CRYPTO_OK && !EVP_DigestFinal_ex(c, e, NULL))
        err = crypto_fail(CRYPTO_E_SIGN, "SM3 failed");
    EVP_MD_CTX_free(c);
    return err;
}

/* GB/T 32918.2-2016 7: verification of (r, s), DER SM2Signature (GB/T 35276-2017 7.3), over the
 * message with the default ID, by OpenSSL's own Z computation (independent of crypto_sm2_z). */
bool crypto_sm2_verify(const EVP_PKEY *pub, const uint8_t *sig, size_t sig_len,
                       const struct iovec *parts, int nparts) {
    EVP_MD_CTX *c =
        crypto_is_sm2(pub) ? crypto_sm2_md_ctx((EVP_PKEY *)(uintptr_t)pub, false) : NULL;
    bool ok = c != NULL;
    for (int i = 0; ok && i < nparts; i++)
        ok = EVP_DigestVerifyUpdate(c, parts[i].iov_base, parts[i].iov_len) > 0;
    ok = ok && EVP_DigestVerifyFinal(c, sig, sig_len) == 1;
    EVP_MD_CTX_free(c);
    return ok;
}

/* GM/T 0015-2012 (certificates) with GM/T 0009 5.4.4: a certificate signed with SM2-with-SM3 is
 * checked with the default ID. OpenSSL 3.0 uses the certificate's distinguishing ID when it has
 * one, and an empty ID otherwise; giving every SM2-signed certificate the default ID makes
 * X509_verify and X509_verify_cert check it as the standard says. */
bool crypto_sm2_cert_prepare(X509 *cert) {
    const X509_ALGOR *alg = NULL;
    X509_get0_signature(NULL, &alg, cert);
    const ASN1_OBJECT *oid = NULL;
    if (alg)
        X509_ALGOR_get0(&oid, NULL, NULL, alg);
    if (!oid || OBJ_obj2nid(oid) != NID_SM2_with_SM3)
        return true;
    ASN1_OCTET_STRING *id = ASN1_OCTET_STRING_new();
    if (!id || !ASN1_OCTET_STRING_set(id, (const unsigned char *)CRYPTO_SM2_ID,
                                      (int)strlen(CRYPTO_SM2_ID))) {
        ASN1_OCTET_STRING_free(id);
        return false;
    }
    X509_set0_distinguishing_id(cert, id);
    return true;
}

void crypto_sm2_certs_prepare(STACK_OF(X509) * certs) {
    for (int i = 0; certs && i < sk_X509_num(certs); i++)
        crypto_sm2_cert_prepare(sk_X509_value(certs, i));
}

/* An EVP_MD_CTX ready to sign (with key) or verify (with pub) the SM2 way, with the default
 * ID: for X509_sign_ctx, X509_CRL_sign_ctx, OCSP_basic_sign_ctx and ASN1_item_verify_ctx. The
 * ID is set after the init and before any data: OpenSSL computes Z at the first update. */
EVP_MD_CTX *crypto_sm2_md_ctx(EVP_PKEY *pkey, bool sign) {
    EVP_PKEY_CTX *pc = NULL; /* owned by c */
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = c && (sign ? EVP_DigestSignInit(c, &pc, EVP_sm3(), NULL, pkey)
                         : EVP_DigestVerifyInit(c, &pc, EVP_sm3(), NULL, pkey)) > 0;
    ok = ok && EVP_PKEY_CTX_set1_id(pc, CRYPTO_SM2_ID, strlen(CRYPTO_SM2_ID)) > 0;
    if (!ok) {
        EVP_MD_CTX_free(c);
        c = NULL;
    }
    return c;
}

bool crypto_alg_is_sm2(const X509_ALGOR *alg) {
    const ASN1_OBJECT *oid = NULL;
    if (alg)
        X509_ALGOR_get0(&oid, NULL, NULL, alg);
    return oid && OBJ_obj2nid(oid) == NID_SM2_with_SM3;
}

/* RFC 5280 5.1.1.3 with GM/T 0015-2012: an SM2-signed CRL's signature is over tbsCertList
 * with the default ID; X509_CRL_verify would give an empty one. The tbsCertList is read from
 * the CRL's own encoding (OpenSSL keeps the bytes it parsed), so nothing is re-encoded or
 * changed in the CRL, which other threads may be reading. */
bool crypto_crl_signed_by(X509_CRL *crl, EVP_PKEY *pub) {
    const ASN1_BIT_STRING *sig = NULL;
    const X509_ALGOR *alg = NULL;
    X509_CRL_get0_signature(crl, &sig, &alg);
    if (!crypto_alg_is_sm2(alg))
        return X509_CRL_verify(crl, pub) == 1;
    unsigned char *der = NULL;
    X509_CRL_INFO *info = NULL;
    EVP_MD_CTX *c = NULL;
    long len = 0;
    int tag = 0, cls = 0, n = crypto_is_sm2(pub) ? i2d_X509_CRL(crl, &der) : 0;
    const unsigned char *p = der;
    /* CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue } */
    if (n > 0 && !(ASN1_get_object(&p, &len, &tag, &cls, n) & 0x80) && tag == V_ASN1_SEQUENCE &&
        cls == V_ASN1_UNIVERSAL)
        info = d2i_X509_CRL_INFO(NULL, &p, len);
    bool ok = info && (c = crypto_sm2_md_ctx(pub, false)) != NULL &&
              ASN1_item_verify_ctx(ASN1_ITEM_rptr(X509_CRL_INFO), alg, sig, info, c) == 1;
    EVP_MD_CTX_free(c);
    X509_CRL_INFO_free(info);
    OPENSSL_free(der);
    return ok;
}

/* RFC 6960 4.2.1 with GM/T 0015: an SM2-signed response's signature is over ResponseData with
 * the default ID; OCSP_basic_verify would give an empty one. */
bool crypto_ocsp_signed_by(OCSP_BASICRESP *bs, X509 *signer) {
    const X509_ALGOR *alg = OCSP_resp_get0_tbs_sigalg(bs);
    EVP_PKEY *pub = X509_get0_pubkey(signer);
    if (!pub)
        return false;
    if (!crypto_alg_is_sm2(alg)) {
        STACK_OF(X509) *one = sk_X509_new_null();
        bool ok = one && sk_X509_push(one, signer) &&
                  OCSP_basic_verify(bs, one, NULL, OCSP_NOVERIFY | OCSP_NOINTERN) == 1;
        sk_X509_free(one);
        return ok;
    }
    EVP_MD_CTX *c = crypto_is_sm2(pub) ? crypto_sm2_md_ctx(pub, false) : NULL;
    bool ok =
        c && ASN1_item_verify_ctx(ASN1_ITEM_rptr(OCSP_RESPDATA), alg, OCSP_resp_get0_signature(bs),
                                  OCSP_resp_get0_respdata(bs), c) == 1;
    EVP_MD_CTX_free(c);
    return ok;
}

void crypto_sm2_ocsp_prepare(OCSP_BASICRESP *bs) {
    crypto_sm2_certs_prepare((STACK_OF(X509) *)(uintptr_t)OCSP_resp_get0_certs(bs));
}
