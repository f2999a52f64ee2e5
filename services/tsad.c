/* tsad: the RFC 3161 time-stamping authority as a FastCGI responder behind nginx.
 *   tsad --cert TSA.pem --key TSA.key [--pass-file F] [--chain CHAIN] [--policy OID]
 *        [--accuracy-ms N] [--socket PATH]
 * RFC 3161 3.4: queries come as POST application/timestamp-query, answers go as
 * application/timestamp-reply; a query the TSA refuses still gets a TimeStampResp (a rejection)
 * with HTTP 200. Without --socket, the listening socket is stdin (a FastCGI child).
 * Exit status: 0 after SIGTERM/SIGINT, 1 when it cannot start, 2 on usage errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/crypto.h"
#include "services/fcgi.h"

#define PROG "tsad"
#define MAX_RESPONSE (64 * 1024)

static void usage(FILE *f) {
    fprintf(f, "usage: tsad --cert TSA.pem --key TSA.key [--pass-file F] [--chain CHAIN.pem]\n"
               "            [--policy OID] [--accuracy-ms N] [--socket PATH]\n"
               "  an RFC 3161 time-stamping authority for nginx's fastcgi_pass; without\n"
               "  --socket the listening socket is stdin\n");
}

static void answer(fcgi_request *r, void *arg) {
    crypto_tsa *tsa = arg;
    buf out;
    bool granted = false;
    buf_init(&out, MAX_RESPONSE);
    crypto_err err = crypto_tsa_respond(&out, &granted, tsa, r->body, r->body_len);
    if (err) {
        fprintf(stderr, "%s: %s\n", PROG, crypto_errdetail());
        fcgi_respond_text(r, 500, "the time-stamp could not be made");
    } else {
        if (!granted)
            fprintf(stderr, "%s: rejected a query from %s\n", PROG, r->remote_addr);
        fcgi_respond(r, 200, "application/timestamp-reply", out.data, out.len);
    }
    buf_free(&out);
}

static bool parse_ms(unsigned *out, const char *s) {
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || !*s || *end || *s == '-' || v == 0 || v > 60000)
        return false;
    *out = (unsigned)v;
    return true;
}

int main(int argc, char **argv) {
    const char *cert_path = NULL, *key_path = NULL, *pass_path = NULL, *chain_path = NULL;
    const char *socket_path = NULL;
    crypto_tsa_config cfg = {0};
    crypto_key *key = NULL;
    STACK_OF(X509) *certs = NULL, *chain = NULL;
    crypto_tsa *tsa = NULL;
    char *password = NULL;
    int rc = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            rc = 0;
            goto out;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value (see tsad --help)\n", PROG, a);
            goto out;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--cert") == 0)
            cert_path = v;
        else if (strcmp(a, "--key") == 0)
            key_path = v;
        else if (strcmp(a, "--pass-file") == 0)
            pass_path = v;
        else if (strcmp(a, "--chain") == 0)
            chain_path = v;
        else if (strcmp(a, "--policy") == 0)
            cfg.policy_oid = v;
        else if (strcmp(a, "--socket") == 0)
            socket_path = v;
        else if (strcmp(a, "--accuracy-ms") == 0) {
            if (!parse_ms(&cfg.accuracy_ms, v)) {
                fprintf(stderr, "%s: --accuracy-ms wants 1 to 60000, not '%s'\n", PROG, v);
                goto out;
            }
        } else {
            fprintf(stderr, "%s: unknown option '%s' (see tsad --help)\n", PROG, a);
            goto out;
        }
    }
    if (!cert_path || !key_path) {
        fprintf(stderr, "%s: --cert and --key are needed (see tsad --help)\n", PROG);
        goto out;
    }
    rc = 1;
    crypto_err err = CRYPTO_OK;
    if (pass_path && (err = crypto_read_password(&password, pass_path)) != CRYPTO_OK)
        goto fail;
    if ((err = crypto_key_load(&key, NULL, NULL, key_path, password)) != CRYPTO_OK)
        goto fail;
    if ((err = crypto_certs_load(&certs, cert_path)) != CRYPTO_OK)
        goto fail;
    if (chain_path && (err = crypto_certs_load(&chain, chain_path)) != CRYPTO_OK)
        goto fail;
    /* the TSA's certificate is the first in its file; any after it belong to the chain */
    X509 *cert = sk_X509_shift(certs);
    if (!chain)
        chain = certs;
    else {
        X509 *c;
        while ((c = sk_X509_shift(certs)) != NULL)
            if (!sk_X509_push(chain, c))
                X509_free(c);
        sk_X509_free(certs);
    }
    certs = NULL;
    err = crypto_tsa_new(&tsa, key, cert, chain, &cfg);
    X509_free(cert);
    if (err)
        goto fail;
    fcgi_config fc = {socket_path, CRYPTO_TSA_MAX_REQUEST, false, "application/timestamp-query"};
    rc = fcgi_run(PROG, &fc, answer, tsa) == 0 ? 0 : 1;
    goto out;
fail:
    fprintf(stderr, "%s: %s\n", PROG,
            *crypto_errdetail() ? crypto_errdetail() : crypto_strerror(err));
out:
    crypto_tsa_free(tsa);
    crypto_key_free(key);
    sk_X509_pop_free(certs, X509_free);
    sk_X509_pop_free(chain, X509_free);
    if (password) {
        OPENSSL_cleanse(password, strlen(password));
        free(password);
    }
    return rc;
}
