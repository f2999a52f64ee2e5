/* ocspd: the deployment CA's OCSP responder (RFC 6960) as a FastCGI program behind nginx.
 *   ocspd --ca CADIR [--pass-file F] [--socket PATH]
 * RFC 6960 A.1: requests come as POST application/ocsp-request, or as GET with the request,
 * base64 and URL-encoded, after the responder's path (BASE_URL/ocsp/...); answers go as
 * application/ocsp-response. Every answer reads the CA's store as it is then, so a revocation
 * shows at once. A request that is not one gets a malformedRequest response (HTTP 200).
 * Without --socket, the listening socket is stdin (a FastCGI child).
 * Exit status: 0 after SIGTERM/SIGINT, 1 when it cannot start, 2 on usage errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto/ca.h"
#include "pki/ca.h"
#include "services/fcgi.h"

#define PROG "ocspd"
#define MAX_RESPONSE (64 * 1024)
/* a GET request's path: the base64 of at most CRYPTO_OCSP_MAX_REQUEST bytes, URL-encoded */
#define MAX_GET_PATH (CRYPTO_OCSP_MAX_REQUEST / 3 * 4 * 3 + 256)

static void usage(FILE *f) {
    fprintf(f, "usage: ocspd --ca CADIR [--pass-file F] [--socket PATH]\n"
               "  the OCSP responder (RFC 6960) of the CA in CADIR (eseal ca init), for nginx's\n"
               "  fastcgi_pass; without --socket the listening socket is stdin\n");
}

static int hexval(char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* RFC 6960 A.1: GET {url}/{url-encoding of base-64 encoding of the DER encoding of the
 * OCSPRequest}. The request URI as the client sent it (nginx's DOCUMENT_URI would have merged
 * the slashes base64 may hold). Returns the DER length, or 0 when there is none to be read. */
static size_t get_request(uint8_t *der, size_t cap, const char *uri) {
    static const char tag[] = "/ocsp/";
    const char *p = strstr(uri, tag);
    size_t n = 0, len;
    if (!p || (len = strcspn(p += sizeof tag - 1, "?#")) == 0 || len > MAX_GET_PATH)
        return 0;
    unsigned char *b64 = malloc(len + 1);
    if (!b64)
        return 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (p[i] == '%' && i + 2 < len && (hi = hexval(p[i + 1])) >= 0 &&
            (lo = hexval(p[i + 2])) >= 0) {
            b64[n++] = (unsigned char)(hi * 16 + lo);
            i += 2;
        } else {
            b64[n++] = (unsigned char)p[i];
        }
    }
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    int outl = 0, fin = 0;
    size_t got = 0;
    /* base64 of n bytes decodes to at most n / 4 * 3 + 3 */
    if (ctx && n / 4 * 3 + 3 <= cap) {
        EVP_DecodeInit(ctx);
        if (EVP_DecodeUpdate(ctx, der, &outl, b64, (int)n) >= 0 &&
            EVP_DecodeFinal(ctx, der + outl, &fin) == 1)
            got = (size_t)outl + (size_t)fin;
    }
    EVP_ENCODE_CTX_free(ctx);
    free(b64);
    return got;
}

static void answer(fcgi_request *r, void *arg) {
    pki_ca *ca = arg;
    buf out;
    uint8_t *der = NULL;
    const uint8_t *req = r->body;
    size_t len = r->body_len;
    buf_init(&out, MAX_RESPONSE);
    if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0) {
        const char *uri = fcgi_param(r, "REQUEST_URI");
        size_t cap = MAX_GET_PATH;
        der = malloc(cap);
        len = der && uri ? get_request(der, cap, uri) : 0;
        req = der;
        if (len > CRYPTO_OCSP_MAX_REQUEST)
            len = 0;
    }
    /* an empty or undecodable request is answered malformedRequest by the responder */
    if (pki_ocsp_respond(&out, ca, req ? req : (const uint8_t *)"", len) != PKI_OK) {
        fprintf(stderr, "%s: %s\n", PROG, pki_errdetail());
        fcgi_respond_text(r, 500, "the OCSP response could not be made");
    } else {
        fcgi_respond(r, 200, "application/ocsp-response", out.data, out.len);
    }
    free(der);
    buf_free(&out);
}

int main(int argc, char **argv) {
    const char *dir = NULL, *pass = NULL, *socket_path = NULL;
    pki_ca *ca = NULL;
    int rc = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            rc = 0;
            goto out;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value (see ocspd --help)\n", PROG, a);
            goto out;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--ca") == 0)
            dir = v;
        else if (strcmp(a, "--pass-file") == 0)
            pass = v;
        else if (strcmp(a, "--socket") == 0)
            socket_path = v;
        else {
            fprintf(stderr, "%s: unknown option '%s' (see ocspd --help)\n", PROG, a);
            goto out;
        }
    }
    if (!dir) {
        fprintf(stderr, "%s: --ca CADIR is needed (see ocspd --help)\n", PROG);
        goto out;
    }
    rc = 1;
    if (pki_ca_open(&ca, dir, PKI_OPEN_KEY, pass) != PKI_OK) {
        fprintf(stderr, "%s: %s: %s\n", PROG, dir, pki_errdetail());
        goto out;
    }
    fcgi_config fc = {socket_path, CRYPTO_OCSP_MAX_REQUEST, true, "application/ocsp-request"};
    rc = fcgi_run(PROG, &fc, answer, ca) == 0 ? 0 : 1;
out:
    pki_ca_free(ca);
    return rc;
}
