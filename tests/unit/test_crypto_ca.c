/* crypto/ca.c: the OCSP responder's limits and answers on requests openssl's command line cannot
 * make (long nonces, many CertIDs, trailing bytes), names and serial numbers. */
#include <openssl/ocsp.h>

#include "check.h"
#include "crypto/ca.h"

static bool lookup_good(crypto_ocsp_answer *out, const char *serial, void *ctx) {
    (void)ctx;
    out->status = strcmp(serial, "0A") == 0 ? CRYPTO_OCSP_REVOKED : CRYPTO_OCSP_GOOD;
    out->rev_time = 1700000000;
    out->reason = CRYPTO_REASON_KEY_COMPROMISE;
    return true;
}

static bool lookup_down(crypto_ocsp_answer *out, const char *serial, void *ctx) {
    (void)out, (void)serial, (void)ctx;
    return false;
}

/* The DER of a request for n serials under issuer, with a nonce of nonce_len bytes (0: none). */
static size_t make_request(uint8_t *der, size_t cap, X509 *issuer, int n, int nonce_len) {
    OCSP_REQUEST *req = OCSP_REQUEST_new();
    for (int i = 0; i < n; i++) {
        ASN1_INTEGER *serial = ASN1_INTEGER_new();
        ASN1_INTEGER_set(serial, 10 + i);
        OCSP_CERTID *id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer),
                                           X509_get0_pubkey_bitstr(issuer), serial);
        OCSP_request_add0_id(req, id);
        ASN1_INTEGER_free(serial);
    }
    if (nonce_len)
        OCSP_request_add1_nonce(req, NULL, nonce_len);
    unsigned char *p = NULL;
    int len = i2d_OCSP_REQUEST(req, &p);
    OCSP_REQUEST_free(req);
    if (len <= 0 || (size_t)len > cap) {
        OPENSSL_free(p);
        return 0;
    }
    memcpy(der, p, (size_t)len);
    OPENSSL_free(p);
    return (size_t)len;
}

/* The response status of answering der; *bs gets the basic response when successful. */
static int respond(const crypto_ocsp_responder *r, const uint8_t *der, size_t len,
                   OCSP_BASICRESP **bs) {
    buf out;
    int status = -1;
    buf_init(&out, 1 << 20);
    if (crypto_ocsp_respond(&out, r, der, len, time(NULL)) == CRYPTO_OK) {
        const unsigned char *p = out.data;
        OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)out.len);
        status = resp ? OCSP_response_status(resp) : -1;
        if (bs)
            *bs = resp && status == 0 ? OCSP_response_get1_basic(resp) : NULL;
        OCSP_RESPONSE_free(resp);
    }
    buf_free(&out);
    return status;
}

int main(void) {
    EVP_PKEY *pk = NULL;
    crypto_key *key = NULL;
    X509_NAME *name = NULL;
    X509 *root = NULL;
    uint8_t der[16384];
    OCSP_BASICRESP *bs = NULL;

    CHECK_INT(crypto_keygen(&pk, "ec"), CRYPTO_OK);
    EVP_PKEY *pub = pk;
    CHECK_INT(crypto_key_from_pkey(&key, pk), CRYPTO_OK);
    CHECK_INT(crypto_name_parse(&name, "/C=CN/O=Test\\/Unit/CN=Root"), CRYPTO_OK);
    char *s = crypto_name_string(name);
    CHECK_STR(s, "CN=Root,O=Test/Unit,C=CN");
    free(s);
    crypto_cert_spec spec = {CRYPTO_PROFILE_ROOT, name, pub, 0, 365, NULL, NULL};
    CHECK_INT(crypto_ca_issue(&root, key, NULL, &spec), CRYPTO_OK);
    /* only a root is self-signed */
    X509 *bad = NULL;
    spec.profile = CRYPTO_PROFILE_ENTERPRISE;
    CHECK_INT(crypto_ca_issue(&bad, key, NULL, &spec), CRYPTO_E_ARG);
    CHECK(bad == NULL);
    spec.profile = CRYPTO_PROFILE_ROOT;
    spec.days = 0;
    CHECK_INT(crypto_ca_issue(&bad, key, NULL, &spec), CRYPTO_E_ARG);

    X509_NAME *n2 = NULL;
    CHECK_INT(crypto_name_parse(&n2, "C=CN, bogus=x"), CRYPTO_E_ARG);
    CHECK_INT(crypto_name_parse(&n2, ""), CRYPTO_E_ARG);
    CHECK(n2 == NULL);

    char hex[CRYPTO_SERIAL_HEX];
    CHECK(crypto_serial_norm(hex, "0x00ab"));
    CHECK_STR(hex, "AB");
    CHECK(crypto_serial_norm(hex, "1abc"));
    CHECK_STR(hex, "1ABC");
    CHECK(!crypto_serial_norm(hex, "12g4"));
    CHECK(!crypto_serial_norm(hex, ""));
    CHECK(!crypto_serial_norm(hex, "-12"));
    CHECK_INT(crypto_reason_from_name("keycompromise"), 1);
    CHECK_INT(crypto_reason_from_name("removeFromCRL"), -1);

    crypto_ocsp_responder r = {root, key, NULL, 3600, lookup_good, NULL};
    size_t len = make_request(der, sizeof der, root, 2, 16);
    CHECK(len > 0);
    CHECK_INT(respond(&r, der, len, &bs), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    CHECK(bs && OCSP_resp_count(bs) == 2);
    if (bs) {
        STACK_OF(X509) *one = sk_X509_new_null();
        sk_X509_push(one, root);
        CHECK_INT(OCSP_basic_verify(bs, one, NULL, OCSP_NOVERIFY), 1);
        sk_X509_free(one);
        int reason = -2,
            st = OCSP_single_get0_status(OCSP_resp_get0(bs, 0), &reason, NULL, NULL, NULL);
        CHECK_INT(st, V_OCSP_CERTSTATUS_REVOKED); /* serial 10 = 0A */
        CHECK_INT(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
        st = OCSP_single_get0_status(OCSP_resp_get0(bs, 1), NULL, NULL, NULL, NULL);
        CHECK_INT(st, V_OCSP_CERTSTATUS_GOOD);
    }
    OCSP_BASICRESP_free(bs);
    bs = NULL;

    /* RFC 8954: a nonce of 32 bytes is taken, 33 is not */
    len = make_request(der, sizeof der, root, 1, 32);
    CHECK_INT(respond(&r, der, len, NULL), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    len = make_request(der, sizeof der, root, 1, 33);
    CHECK_INT(respond(&r, der, len, NULL), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
    /* at most CRYPTO_OCSP_MAX_IDS certificates a request */
    len = make_request(der, sizeof der, root, CRYPTO_OCSP_MAX_IDS, 0);
    CHECK_INT(respond(&r, der, len, NULL), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    len = make_request(der, sizeof der, root, CRYPTO_OCSP_MAX_IDS + 1, 0);
    CHECK_INT(respond(&r, der, len, NULL), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
    /* no CertID at all, trailing bytes, truncation, nothing, too much */
    len = make_request(der, sizeof der, root, 0, 0);
    CHECK_INT(respond(&r, der, len, NULL), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
    len = make_request(der, sizeof der, root, 1, 0);
    der[len] = 0;
    CHECK_INT(respond(&r, der, len + 1, NULL), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
    CHECK_INT(respond(&r, der, len - 1, NULL), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
    CHECK_INT(respond(&r, der, 0, NULL), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
    CHECK_INT(respond(&r, der, CRYPTO_OCSP_MAX_REQUEST + 1, NULL),
              OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
    /* the store cannot be read: tryLater */
    r.lookup = lookup_down;
    CHECK_INT(respond(&r, der, len, NULL), OCSP_RESPONSE_STATUS_TRYLATER);

    /* a CRL with an entry, read back */
    buf crl;
    buf_init(&crl, 1 << 20);
    crypto_revoked rv[2] = {{"0A", 1700000000, 1, 1690000000}, {"0B", 1700000001, 0, 0}};
    CHECK_INT(crypto_ca_crl(&crl, key, root, rv, 2, 7, time(NULL), time(NULL) + 86400), CRYPTO_OK);
    const unsigned char *p = crl.data;
    X509_CRL *c = d2i_X509_CRL(NULL, &p, (long)crl.len);
    CHECK(c != NULL);
    if (c) {
        CHECK_INT(X509_CRL_verify(c, X509_get0_pubkey(root)), 1);
        CHECK_INT(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(c)), 2);
        ASN1_INTEGER *num = X509_CRL_get_ext_d2i(c, NID_crl_number, NULL, NULL);
        CHECK(num && ASN1_INTEGER_get(num) == 7);
        ASN1_INTEGER_free(num);
        X509_CRL_free(c);
    }
    buf_free(&crl);

    X509_free(root);
    X509_NAME_free(name);
    crypto_key_free(key);
    return check_failures ? 1 : 0;
}
