/* crypto/sm2.c and crypto/msgsig.c: SM2 signatures agree with OpenSSL's own SM2 code given the
 * default ID (both ways), fail with an empty ID or another message, and certificates signed with
 * the ID verify once prepared; whole-message signatures for SM2, RSA and ECDSA. */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "check.h"
#include "crypto/ca.h"
#include "crypto/crypto.h"

static EVP_PKEY *keygen(const char *alg, const char *arg) {
    EVP_PKEY *k = NULL;
    if (arg && strcmp(alg, "RSA") == 0)
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    else if (arg)
        k = EVP_PKEY_Q_keygen(NULL, NULL, alg, arg);
    else
        k = EVP_PKEY_Q_keygen(NULL, NULL, alg);
    return k;
}

/* OpenSSL signs the message with the ID given (NULL: none set). */
static size_t openssl_sign(uint8_t *sig, size_t cap, EVP_PKEY *k, const char *id,
                           const uint8_t *msg, size_t n) {
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    size_t len = cap;
    if (EVP_DigestSignInit(c, &pc, EVP_sm3(), NULL, k) <= 0 ||
        (id && EVP_PKEY_CTX_set1_id(pc, id, strlen(id)) <= 0) ||
        EVP_DigestSign(c, sig, &len, msg, n) <= 0)
        len = 0;
    EVP_MD_CTX_free(c);
    return len;
}

static int openssl_verify(EVP_PKEY *k, const char *id, const uint8_t *sig, size_t slen,
                          const uint8_t *msg, size_t n) {
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    int rc = -1;
    if (EVP_DigestVerifyInit(c, &pc, EVP_sm3(), NULL, k) > 0 &&
        (!id || EVP_PKEY_CTX_set1_id(pc, id, strlen(id)) > 0))
        rc = EVP_DigestVerify(c, sig, slen, msg, n);
    EVP_MD_CTX_free(c);
    return rc;
}

static void test_sm2_against_openssl(void) {
    EVP_PKEY *k = keygen("SM2", NULL);
    CHECK(k != NULL);
    CHECK(crypto_is_sm2(k));
    static const uint8_t msg[] = "the signed attributes";
    size_t n = sizeof msg - 1;
    struct iovec part = {(void *)(uintptr_t)msg, n};

    /* ours -> OpenSSL: e = SM3(Z || M) signed raw, checked by EVP_DigestVerify with the ID */
    uint8_t e[32], sig[128];
    CHECK_INT(crypto_sm2_prehash(e, k, &part, 1), CRYPTO_OK);
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
    size_t slen = sizeof sig;
    CHECK(EVP_PKEY_sign_init(pc) > 0 && EVP_PKEY_sign(pc, sig, &slen, e, sizeof e) > 0);
    EVP_PKEY_CTX_free(pc);
    CHECK_INT(openssl_verify(k, CRYPTO_SM2_ID, sig, slen, msg, n), 1);
    CHECK(openssl_verify(k, NULL, sig, slen, msg, n) != 1); /* empty ID: other Z */
    CHECK(openssl_verify(k, "ALICE123@YAHOO.COM", sig, slen, msg, n) != 1);
    CHECK(crypto_sm2_verify(k, sig, slen, &part, 1));

    /* OpenSSL -> ours */
    slen = openssl_sign(sig, sizeof sig, k, CRYPTO_SM2_ID, msg, n);
    CHECK(slen > 0);
    CHECK(crypto_sm2_verify(k, sig, slen, &part, 1));
    pc = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
    CHECK(EVP_PKEY_verify_init(pc) > 0 && EVP_PKEY_verify(pc, sig, slen, e, sizeof e) == 1);
    EVP_PKEY_CTX_free(pc);
    slen = openssl_sign(sig, sizeof sig, k, NULL, msg, n); /* OpenSSL 3.0's default: no ID */
    CHECK(!crypto_sm2_verify(k, sig, slen, &part, 1));

    /* another message */
    struct iovec other = {(void *)(uintptr_t) "the signed attributez", n};
    slen = openssl_sign(sig, sizeof sig, k, CRYPTO_SM2_ID, msg, n);
    CHECK(!crypto_sm2_verify(k, sig, slen, &other, 1));

    /* Z over an ID of a different length differs */
    uint8_t z1[32], z2[32];
    CHECK_INT(crypto_sm2_z(z1, k, (const uint8_t *)"1234567812345678", 16), CRYPTO_OK);
    CHECK_INT(crypto_sm2_z(z2, k, (const uint8_t *)"123456781234567", 15), CRYPTO_OK);
    CHECK(memcmp(z1, z2, 32) != 0);

    /* not SM2 */
    EVP_PKEY *ec = keygen("EC", "P-256");
    CHECK(!crypto_is_sm2(ec));
    CHECK_INT(crypto_sm2_z(z1, ec, (const uint8_t *)"1", 1), CRYPTO_E_ALGORITHM);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(k);
}

static X509 *self_signed(EVP_PKEY *k, bool with_id) {
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"SM2 root", -1, -1, 0);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    X509_NAME_free(n);
    if (with_id) {
        EVP_MD_CTX *c = crypto_sm2_md_ctx(k, true);
        CHECK(c && X509_sign_ctx(x, c) > 0);
        EVP_MD_CTX_free(c);
    } else {
        X509_sign(x, k, EVP_sm3());
    }
    return x;
}

static void test_certificates(void) {
    EVP_PKEY *k = keygen("SM2", NULL);
    X509 *x = self_signed(k, true);
    /* the signature is over the TBS with the default ID: our own verification agrees */
    unsigned char *tbs = NULL;
    int tlen = i2d_re_X509_tbs(x, &tbs);
    const ASN1_BIT_STRING *sig = NULL;
    X509_get0_signature(&sig, NULL, x);
    struct iovec part = {tbs, (size_t)tlen};
    CHECK(crypto_sm2_verify(k, sig->data, (size_t)sig->length, &part, 1));
    OPENSSL_free(tbs);
    CHECK(X509_verify(x, k) != 1); /* OpenSSL alone: empty ID */
    CHECK(crypto_sm2_cert_prepare(x));
    CHECK_INT(X509_verify(x, k), 1);
    /* the verifying context checks a signature made with the ID */
    EVP_MD_CTX *vc = crypto_sm2_md_ctx(k, false);
    CHECK(vc != NULL);
    EVP_MD_CTX_free(vc);
    X509_free(x);

    /* a certificate signed OpenSSL's way (empty ID) fails once prepared */
    x = self_signed(k, false);
    CHECK_INT(X509_verify(x, k), 1);
    CHECK(crypto_sm2_cert_prepare(x));
    CHECK(X509_verify(x, k) != 1);
    X509_free(x);

    /* other certificates are left alone */
    EVP_PKEY *ec = keygen("EC", "P-256");
    X509 *y = X509_new();
    X509_set_pubkey(y, ec);
    X509_sign(y, ec, EVP_sha256());
    CHECK(crypto_sm2_cert_prepare(y));
    CHECK_INT(X509_verify(y, ec), 1);
    X509_free(y);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(k);
}

static void test_message(const char *alg, const char *arg, const char *want_oid) {
    EVP_PKEY *k = keygen(alg, arg), *other = keygen(alg, arg);
    EVP_PKEY_up_ref(k);
    crypto_key *key = NULL;
    CHECK_INT(crypto_key_from_pkey(&key, k), CRYPTO_OK);
    static const uint8_t msg[] = "DER of SES_SealInfo";
    struct iovec parts[2] = {{(void *)(uintptr_t)msg, 4},
                             {(void *)(uintptr_t)(msg + 4), sizeof msg - 5}};
    uint8_t *sig = NULL;
    size_t slen = 0;
    const char *oid = NULL;
    CHECK_INT(crypto_key_sign_message(&sig, &slen, &oid, key, parts, 2), CRYPTO_OK);
    CHECK_STR(oid, want_oid);
    CHECK(crypto_msg_alg_name(oid) != NULL);
    struct iovec whole = {(void *)(uintptr_t)msg, sizeof msg - 1};
    CHECK_INT(crypto_verify_message(k, oid, sig, slen, &whole, 1), CRYPTO_OK);
    CHECK_INT(crypto_verify_message(other, oid, sig, slen, &whole, 1), CRYPTO_E_SIGN);
    sig[slen / 2] ^= 1;
    CHECK_INT(crypto_verify_message(k, oid, sig, slen, &whole, 1), CRYPTO_E_SIGN);
    CHECK_INT(crypto_verify_message(k, "1.2.3.4", sig, slen, &whole, 1), CRYPTO_E_ALGORITHM);
    /* an algorithm of another family than the key */
    const char *foreign =
        strcmp(want_oid, CRYPTO_OID_SM2_SM3) == 0 ? "1.2.840.10045.4.3.2" : CRYPTO_OID_SM2_SM3;
    CHECK_INT(crypto_verify_message(k, foreign, sig, slen, &whole, 1), CRYPTO_E_ALGORITHM);
    free(sig);
    crypto_key_free(key);
    EVP_PKEY_free(k);
    EVP_PKEY_free(other);
}

int main(void) {
    test_sm2_against_openssl();
    test_certificates();
    test_message("SM2", NULL, CRYPTO_OID_SM2_SM3);
    test_message("RSA", "2048", "1.2.840.113549.1.1.11");
    test_message("EC", "P-256", "1.2.840.10045.4.3.2");
    test_message("EC", "P-384", "1.2.840.10045.4.3.3");
    return check_failures ? 1 : 0;
}
