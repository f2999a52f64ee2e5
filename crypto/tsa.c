/* An RFC 3161 time-stamping authority: answers TimeStampReq (2.4.1) with TimeStampResp (2.4.2),
 * through OpenSSL's TS_RESP_CTX, with the checks and bounds RFC 3161 leaves to the TSA done here
 * first. Tokens carry signing-certificate-v2 (RFC 5816) with an ESSCertIDv2 over SHA-256. */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include "crypto/der.h"
#include "crypto/internal.h"
#include "crypto/verify_int.h"

#define MAX_NONCE 64  /* bytes: RFC 3161 bounds the nonce's INTEGER by nothing; we do */
#define SERIAL_LEN 16 /* 128 random bits: unique without keeping state */

/* RFC 3161 2.4.2 PKIFailureInfo bits */
enum { FAIL_BAD_ALG = 0, FAIL_BAD_REQUEST = 2, FAIL_BAD_DATA_FORMAT = 5, FAIL_SYSTEM_FAILURE = 25 };

struct crypto_tsa {
    TS_RESP_CTX *ctx;
    time_t not_before, not_after; /* the certificate's validity */
};

void crypto_tsa_free(crypto_tsa *tsa) {
    if (tsa) {
        TS_RESP_CTX_free(tsa->ctx);
        free(tsa);
    }
}

/* RFC 3161 2.4.2 serialNumber: unique for each token from this TSA. 128 random bits make a
 * collision as unlikely as a guessed key, with no counter to keep across restarts. */
static ASN1_INTEGER *random_serial(TS_RESP_CTX *ctx, void *data) {
    uint8_t r[SERIAL_LEN];
    BIGNUM *bn = NULL;
    ASN1_INTEGER *serial = NULL;
    (void)data;
    if (RAND_bytes(r, sizeof r) == 1) {
        r[0] &= 0x7F; /* positive, at most 16 content bytes */
        r[0] |= 0x01; /* never zero, and always 16 bytes long */
        if ((bn = BN_bin2bn(r, sizeof r, NULL)) != NULL)
            serial = BN_to_ASN1_INTEGER(bn, NULL);
    }
    BN_free(bn);
    if (!serial) {
        TS_RESP_CTX_set_status_info(ctx, TS_STATUS_REJECTION, "cannot make a serial number");
        TS_RESP_CTX_add_failure_info(ctx, TS_INFO_SYSTEM_FAILURE);
    }
    return serial;
}

/* RFC 3161 2.3: the TSA's certificate has exactly one extended key usage, id-kp-timeStamping,
 * and the extension is critical. */
bool crypto_is_tsa_cert(X509 *cert) {
    int crit = 0;
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(cert, NID_ext_key_usage, &crit, NULL);
    bool ok = eku && crit == 1 && sk_ASN1_OBJECT_num(eku) == 1 &&
              OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)) == NID_time_stamp;
    EXTENDED_KEY_USAGE_free(eku);
    return ok;
}

/* The signature's digest: as strong as the key. */
static const EVP_MD *digest_for(EVP_PKEY *pkey) {
    int bits = EVP_PKEY_get_bits(pkey);
    if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC)
        return bits > 384 ? EVP_sha512() : bits > 256 ? EVP_sha384() : EVP_sha256();
    return EVP_sha256();
}

crypto_err crypto_tsa_new(crypto_tsa **out, crypto_key *key, X509 *cert, STACK_OF(X509) * chain,
                          const crypto_tsa_config *cfg) {
    crypto_err err = CRYPTO_OK;
    crypto_tsa *tsa = NULL;
    ASN1_OBJECT *policy = NULL;
    const char *policy_oid = cfg && cfg->policy_oid ? cfg->policy_oid : CRYPTO_TSA_DEFAULT_POLICY;
    unsigned acc = cfg && cfg->accuracy_ms ? cfg->accuracy_ms : 1000;
    *out = NULL;
    if (!key || !cert) {
        err = crypto_fail(CRYPTO_E_ARG, "a TSA needs a key and a certificate");
        goto out;
    }
    EVP_PKEY *priv = crypto_key_file_pkey(key);
    EVP_PKEY *pub = crypto_key_public(key);
    if (!priv) {
        err = crypto_fail(CRYPTO_E_KEY, "the TSA key must be a key file: OpenSSL's TSA signs with "
                                        "the key itself, not through a token");
        goto out;
    }
    if (X509_check_private_key(cert, pub) != 1) {
        err = crypto_fail(CRYPTO_E_MISMATCH, "the TSA key does not belong to its certificate");
        goto out;
    }
    if (!crypto_is_tsa_cert(cert)) {
        err = crypto_fail(CRYPTO_E_USAGE,
                          "the certificate is not a TSA certificate: RFC 3161 2.3 wants its only "
                          "extended key usage to be timeStamping, marked critical");
        goto out;
    }
    if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0 ||
        X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) {
        err = crypto_fail(CRYPTO_E_VALIDITY, "the TSA certificate is not valid now");
        goto out;
    }
    int base = EVP_PKEY_get_base_id(pub), bits = EVP_PKEY_get_bits(pub);
    if (!((base == EVP_PKEY_RSA && bits >= 2048) || (base == EVP_PKEY_EC && bits >= 256))) {
        err = crypto_fail(CRYPTO_E_ALGORITHM,
                          "the TSA key must be RSA of 2048 bits or more, or EC P-256 or larger%s",
                          crypto_is_sm2(pub) ? " (OpenSSL's TSA cannot make SM2 signatures with "
                                               "the SM2 ID; its certificate may come from an SM2 "
                                               "CA)"
                                             : "");
        goto out;
    }
    if (acc > 60 * 1000) {
        err = crypto_fail(CRYPTO_E_ARG, "an accuracy of %u ms is more than a minute", acc);
        goto out;
    }
    if (!(policy = OBJ_txt2obj(policy_oid, 1))) {
        err = crypto_fail(CRYPTO_E_ARG, "%s is not an OID", policy_oid);
        goto out;
    }
    if (!(tsa = calloc(1, sizeof *tsa)) || !(tsa->ctx = TS_RESP_CTX_new())) {
        err = crypto_fail(CRYPTO_E_NOMEM, "out of memory");
        goto out;
    }
    TS_RESP_CTX *c = tsa->ctx;
    if (!time_from_asn1(&tsa->not_before, X509_get0_notBefore(cert)) ||
        !time_from_asn1(&tsa->not_after, X509_get0_notAfter(cert)))
        tsa->not_after = 0; /* unreadable: no token is made */
    /* RFC 3161 2.4.2: the imprint algorithms we accept are the SHA-2 ones (a query with
     * another, SHA-1 or MD5 among them, is rejected with badAlg); genTime with its accuracy;
     * ordering false (the flag unset); RFC 5816: signing-certificate-v2 with SHA-256 */
    if (!TS_RESP_CTX_set_signer_cert(c, cert) || !TS_RESP_CTX_set_signer_key(c, priv) ||
        (chain && !TS_RESP_CTX_set_certs(c, chain)) || !TS_RESP_CTX_set_def_policy(c, policy) ||
        !TS_RESP_CTX_add_md(c, EVP_sha256()) || !TS_RESP_CTX_add_md(c, EVP_sha384()) ||
        !TS_RESP_CTX_add_md(c, EVP_sha512()) ||
        !TS_RESP_CTX_set_accuracy(c, (int)(acc / 1000), (int)(acc % 1000), 0) ||
        !TS_RESP_CTX_set_clock_precision_digits(c, acc < 1000 ? 3 : 0) ||
        !TS_RESP_CTX_set_signer_digest(c, digest_for(pub)) ||
        !TS_RESP_CTX_set_ess_cert_id_digest(c, EVP_sha256())) {
        err = crypto_fail(CRYPTO_E_SIGN, "cannot set up the TSA");
        goto out;
    }
    TS_RESP_CTX_set_serial_cb(c, random_serial, NULL);
    *out = tsa;
    tsa = NULL;
out:
    ASN1_OBJECT_free(policy);
    crypto_tsa_free(tsa);
    return err;
}

/* RFC 3161 2.4.2: a TimeStampResp with status rejection(2), a statusString and one failInfo
 * bit, written here so that it can be made whatever went wrong. */
static crypto_err rejection(buf *out, int bit, const char *text) {
    buf b;
    uint8_t bits[5] = {0};
    size_t nbytes = (size_t)bit / 8 + 1;
    buf_init(&b, 1024);
    bits[0] = (uint8_t)(7 - bit % 8); /* X.690 11.2.2: no trailing zero bits */
    bits[nbytes] = (uint8_t)(0x80 >> (bit % 8));
    size_t resp = der_open(&b);
    size_t si = der_open(&b);
    size_t ft = 0;
    int rc = der_put_uint(&b, 2);
    if (!rc) {
        ft = der_open(&b);
        rc = der_put(&b, 0x0C, text, strlen(text)); /* UTF8String */
    }
    rc = rc ? rc : der_close(&b, ft, DER_SEQUENCE);
    rc = rc ? rc : der_put(&b, DER_BIT_STRING, bits, nbytes + 1);
    rc = rc ? rc : der_close(&b, si, DER_SEQUENCE);
    rc = rc ? rc : der_close(&b, resp, DER_SEQUENCE);
    rc = rc ? rc : buf_append(out, b.data, b.len);
    buf_free(&b);
    return rc ? crypto_fail(CRYPTO_E_NOMEM, "out of memory") : CRYPTO_OK;
}

crypto_err crypto_tsa_respond(buf *out, bool *granted, crypto_tsa *tsa, const uint8_t *req,
                              size_t len) {
    crypto_err err = CRYPTO_OK;
    TS_REQ *q = NULL;
    TS_RESP *resp = NULL;
    BIO *bio = NULL;
    unsigned char *der = NULL;
    const unsigned char *p = req;
    *granted = false;
    /* RFC 3161 2.3 with RFC 5280 4.1.2.5: no token from a certificate outside its validity,
     * however long the responder has been running */
    time_t now = time(NULL);
    if (now < tsa->not_before || now >= tsa->not_after) {
        err = rejection(out, FAIL_SYSTEM_FAILURE, "the TSA's certificate is not valid now");
        goto out;
    }
    if (len > CRYPTO_TSA_MAX_REQUEST) {
        err = rejection(out, FAIL_BAD_REQUEST, "the request is too large");
        goto out;
    }
    /* RFC 3161 2.4.1: one DER TimeStampReq and nothing after it */
    if (len == 0 || !(q = d2i_TS_REQ(NULL, &p, (long)len)) || p != req + len) {
        err = rejection(out, FAIL_BAD_DATA_FORMAT, "the request is not a DER TimeStampReq");
        goto out;
    }
    const ASN1_INTEGER *nonce = TS_REQ_get_nonce(q);
    if (nonce && ASN1_STRING_length(nonce) > MAX_NONCE) {
        err = rejection(out, FAIL_BAD_REQUEST, "the nonce is longer than 64 bytes");
        goto out;
    }
    /* version, imprint algorithm and length, policy, extensions, nonce and certReq: OpenSSL's
     * TSA (ts_rsp_sign.c) checks them as RFC 3161 2.4.1 and 2.4.2 ask, answering rejections
     * (badDataFormat, badAlg, unacceptedPolicy, unacceptedExtension) itself */
    if (!(bio = BIO_new_mem_buf(req, (int)len)) ||
        !(resp = TS_RESP_create_response(tsa->ctx, bio))) {
        err = rejection(out, FAIL_SYSTEM_FAILURE, "the time-stamp could not be made");
        goto out;
    }
    int n = i2d_TS_RESP(resp, &der);
    if (n <= 0) {
        err = rejection(out, FAIL_SYSTEM_FAILURE, "the time-stamp could not be encoded");
        goto out;
    }
    if (buf_append(out, der, (size_t)n)) {
        err = crypto_fail(CRYPTO_E_NOMEM, "out of memory");
        goto out;
    }
    long status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp)));
    *granted = status == TS_STATUS_GRANTED || status == TS_STATUS_GRANTED_WITH_MODS;
out:
    OPENSSL_free(der);
    TS_RESP_free(resp);
    BIO_free(bio);
    TS_REQ_free(q);
    ERR_clear_error();
    return err;
}
