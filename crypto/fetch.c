/* Asking the revocation services a certificate names, over http: the OCSP responders of its
 * authority information access extension (RFC 5280 4.2.2.1, RFC 6960 A.1) and the CRLs of its
 * distribution points (RFC 5280 4.2.1.13). Shared by the verifier (--online) and the signer
 * (PAdES B-LT). Answers are bounded in size and time; what they say is the caller's to judge. */
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/x509v3.h>

#include "crypto/internal.h"

#define FETCH_MAX_OCSP (1024 * 1024)
#define FETCH_MAX_CRL (16 * 1024 * 1024)

static bool is_http(const char *url, size_t len) {
    return len > 7 && strlen(url) == len && strncasecmp(url, "http://", 7) == 0;
}

static int seconds(int timeout_ms) {
    int ms = timeout_ms > 0 ? timeout_ms : 10000;
    return ms / 1000 + (ms % 1000 != 0);
}

/* One request for cert's status (a SHA-1 CertID, as responders expect) to one responder. */
static OCSP_RESPONSE *ask(const char *url, X509 *cert, X509 *issuer, int timeout_ms, bool nonce) {
    char *host = NULL, *port = NULL, *path = NULL;
    int ssl = 0;
    OCSP_REQUEST *req = OCSP_REQUEST_new();
    OCSP_CERTID *id = OCSP_cert_to_id(NULL, cert, issuer);
    BIO *rq = BIO_new(BIO_s_mem()), *rsp = NULL;
    OCSP_RESPONSE *resp = NULL;
    unsigned char *der = NULL;
    if (req && id && OCSP_request_add0_id(req, id))
        id = NULL;
    /* RFC 6960 4.4.1 / RFC 8954: a nonce, so that an old answer cannot be replayed as new */
    if (nonce && req && !OCSP_request_add1_nonce(req, NULL, -1)) {
        OCSP_REQUEST_free(req);
        req = NULL;
    }
    /* i2d_OCSP_REQUEST_bio casts away const in OpenSSL's own macro: encode, then write */
    int dl = !id && rq ? i2d_OCSP_REQUEST(req, &der) : -1;
    bool encoded = dl > 0 && BIO_write(rq, der, dl) == dl;
    if (encoded && is_http(url, strlen(url)) &&
        OSSL_HTTP_parse_url(url, &ssl, NULL, &host, &port, NULL, &path, NULL, NULL) && !ssl)
        rsp = OSSL_HTTP_transfer(NULL, host, port, path, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0,
                                 NULL, "application/ocsp-request", rq, "application/ocsp-response",
                                 1, FETCH_MAX_OCSP, seconds(timeout_ms), 0);
    if (rsp && (resp = d2i_OCSP_RESPONSE_bio(rsp, NULL)) != NULL &&
        OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        OCSP_RESPONSE_free(resp);
        resp = NULL;
    }
    if (resp && nonce) {
        /* a responder may answer from a cache without the nonce; one that echoes another nonce
         * is answering someone else */
        OCSP_BASICRESP *bs = OCSP_response_get1_basic(resp);
        if (!bs || OCSP_check_nonce(req, bs) == 0) {
            OCSP_RESPONSE_free(resp);
            resp = NULL;
        }
        OCSP_BASICRESP_free(bs);
    }
    OPENSSL_free(der);
    BIO_free(rsp);
    BIO_free(rq);
    OCSP_CERTID_free(id);
    OCSP_REQUEST_free(req);
    OPENSSL_free(host);
    OPENSSL_free(port);
    OPENSSL_free(path);
    return resp;
}

OCSP_RESPONSE *crypto_fetch_ocsp(X509 *cert, X509 *issuer, int timeout_ms, int max_urls,
                                 bool nonce) {
    STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(cert);
    OCSP_RESPONSE *resp = NULL;
    for (int i = 0; i < sk_OPENSSL_STRING_num(urls) && i < max_urls && !resp; i++)
        resp = ask(sk_OPENSSL_STRING_value(urls, i), cert, issuer, timeout_ms, nonce);
    X509_email_free(urls);
    ERR_clear_error();
    return resp;
}

X509_CRL *crypto_fetch_crl(X509 *cert, int timeout_ms, int max_urls,
                           bool (*accept)(X509_CRL *crl, void *arg), void *arg) {
    STACK_OF(DIST_POINT) *cdp = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
    X509_CRL *got = NULL;
    int tried = 0;
    for (int i = 0; i < sk_DIST_POINT_num(cdp) && tried < max_urls && !got; i++) {
        DIST_POINT *dp = sk_DIST_POINT_value(cdp, i);
        GENERAL_NAMES *names =
            dp->distpoint && dp->distpoint->type == 0 ? dp->distpoint->name.fullname : NULL;
        for (int j = 0; j < sk_GENERAL_NAME_num(names) && tried < max_urls && !got; j++) {
            GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, j);
            if (gn->type != GEN_URI)
                continue;
            const char *url = (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
            if (!is_http(url, (size_t)ASN1_STRING_length(gn->d.uniformResourceIdentifier)))
                continue;
            tried++;
            BIO *b = OSSL_HTTP_get(url, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, 1,
                                   FETCH_MAX_CRL, seconds(timeout_ms));
            X509_CRL *crl = b ? d2i_X509_CRL_bio(b, NULL) : NULL;
            BIO_free(b);
            if (crl && (!accept || accept(crl, arg)))
                got = crl;
            else
                X509_CRL_free(crl);
        }
    }
    sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
    ERR_clear_error();
    return got;
}
