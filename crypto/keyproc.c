/* The key process and its clients (crypto/keyproc.h). */
#include "crypto/keyproc.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "crypto/internal.h"

#define MAX_REQUEST 256
#define MAX_REPLY 4096
#define MAX_HELLO (1024 * 1024)
#define MAX_KEYS 8

static int write_full(int fd, const uint8_t *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* 0, or -1 on error, or 1 on end of file before the first byte. */
static int read_full(int fd, uint8_t *p, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            return got == 0 ? 1 : -1;
        if (r < 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static int send_frame(int fd, const uint8_t *p, size_t n) {
    uint8_t h[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    return write_full(fd, h, 4) == 0 && write_full(fd, p, n) == 0 ? 0 : -1;
}

/* Reads one frame of at most max bytes into a new buffer (STYLE.md 3: the length is checked
 * against the maximum before anything is allocated). 1 on a clean end of file. */
static int recv_frame(int fd, uint8_t **out, size_t *len, size_t max) {
    uint8_t h[4];
    *out = NULL;
    int rc = read_full(fd, h, 4);
    if (rc != 0)
        return rc;
    size_t n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
    if (n == 0 || n > max)
        return -1;
    uint8_t *p = malloc(n);
    if (!p || read_full(fd, p, n) != 0) {
        free(p);
        return -1;
    }
    *out = p;
    *len = n;
    return 0;
}

/* The digests a request may name, by code: SHA-256/384/512 and, for SM2 keys, SM3 (the key
 * then signs e = SM3(Z || M), which the client computes; GB/T 32918.2 6.1). */
static const EVP_MD *md_of(uint8_t code) {
    switch (code) {
    case 1:
        return EVP_sha256();
    case 2:
        return EVP_sha384();
    case 3:
        return EVP_sha512();
    case 4:
        return EVP_sm3();
    default:
        return NULL;
    }
}

static uint8_t code_of(const EVP_MD *md) {
    switch (EVP_MD_get_type(md)) {
    case NID_sha256:
        return 1;
    case NID_sha384:
        return 2;
    case NID_sha512:
        return 3;
    case NID_sm3:
        return 4;
    default:
        return 0;
    }
}

/* ---- the key process ---- */

static int append(buf *b, const void *p, size_t n) {
    return buf_append(b, p, n);
}

static int append_u32(buf *b, size_t n) {
    uint8_t h[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    return append(b, h, 4);
}

static int append_der(buf *b, int (*i2d)(const void *, unsigned char **), const void *obj) {
    unsigned char *der = NULL;
    int n = i2d(obj, &der);
    int rc = n > 0 ? append(b, der, (size_t)n) : BUF_ENOMEM;
    OPENSSL_free(der);
    return rc;
}

static int i2d_pubkey(const void *k, unsigned char **out) {
    return i2d_PUBKEY((const EVP_PKEY *)k, out);
}

static int i2d_cert(const void *c, unsigned char **out) {
    return i2d_X509((const X509 *)c, out);
}

void crypto_keyproc_refuse(int fd, crypto_err err, const char *msg) {
    buf b;
    buf_init(&b, MAX_HELLO);
    uint8_t head[2] = {'H', (uint8_t)(err ? err : CRYPTO_E_KEY)};
    if (append(&b, head, 2) == BUF_OK && append(&b, msg, strlen(msg)) == BUF_OK)
        (void)send_frame(fd, b.data, b.len);
    buf_free(&b);
}

/* One signing context per key for this connection, remade when the digest or padding change. */
typedef struct sign_ctx {
    EVP_PKEY_CTX *ctx;
    uint8_t md, pad;
} sign_ctx;

static crypto_err serve_sign(uint8_t *sig, size_t *sig_len, sign_ctx *sc, EVP_PKEY *pkey,
                             const EVP_MD *md, uint8_t mdc, uint8_t pad, const uint8_t *dgst,
                             size_t dlen) {
    if (!sc->ctx || sc->md != mdc || sc->pad != pad) {
        EVP_PKEY_CTX_free(sc->ctx);
        sc->ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        sc->md = mdc;
        sc->pad = pad;
        bool rsa = EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA;
        if (!sc->ctx || EVP_PKEY_sign_init(sc->ctx) <= 0 ||
            EVP_PKEY_CTX_set_signature_md(sc->ctx, md) <= 0 ||
            (rsa && pad == 1 && EVP_PKEY_CTX_set_rsa_padding(sc->ctx, RSA_PKCS1_PADDING) <= 0) ||
            (rsa && pad == 2 &&
             (EVP_PKEY_CTX_set_rsa_padding(sc->ctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
              EVP_PKEY_CTX_set_rsa_mgf1_md(sc->ctx, md) <= 0 ||
              EVP_PKEY_CTX_set_rsa_pss_saltlen(sc->ctx, RSA_PSS_SALTLEN_DIGEST) <= 0))) {
            EVP_PKEY_CTX_free(sc->ctx);
            sc->ctx = NULL;
            return crypto_fail(CRYPTO_E_SIGN, "cannot set up signing");
        }
    }
    if (EVP_PKEY_sign(sc->ctx, sig, sig_len, dgst, dlen) <= 0) {
        EVP_PKEY_CTX_free(sc->ctx);
        sc->ctx = NULL;
        return crypto_fail(CRYPTO_E_SIGN, "the private key operation failed");
    }
    return CRYPTO_OK;
}

crypto_err crypto_keyproc_serve(int fd, crypto_key *const *keys, X509 *const *certs,
                                STACK_OF(X509) *const *chains, size_t n) {
    crypto_err err = CRYPTO_OK;
    sign_ctx sc[MAX_KEYS] = {{0}};
    /* Each connection signs with its own copy of the keys: OpenSSL serialises the RSA blinding
     * of one key used from several threads, which left all but one worker waiting. */
    EVP_PKEY *own[MAX_KEYS] = {NULL};
    buf b;
    buf_init(&b, MAX_HELLO);
    uint8_t head[2] = {'H', 0};
    if (n == 0 || n > MAX_KEYS)
        return crypto_fail(CRYPTO_E_ARG, "the key process serves 1 to %d keys", MAX_KEYS);
    int rc = append(&b, head, 2);
    for (size_t i = 0; i < n && rc == BUF_OK; i++) {
        size_t at = b.len;
        rc = append_u32(&b, 0);
        if (rc == BUF_OK)
            rc = append_der(&b, i2d_pubkey, crypto_key_public(keys[i]));
        if (rc == BUF_OK) {
            size_t len = b.len - at - 4;
            for (int k = 0; k < 4; k++)
                b.data[at + k] = (uint8_t)(len >> (24 - 8 * k));
        }
        at = b.len;
        if (rc == BUF_OK)
            rc = append_u32(&b, 0);
        if (rc == BUF_OK && certs && certs[i])
            rc = append_der(&b, i2d_cert, certs[i]);
        for (int k = 0; rc == BUF_OK && chains && chains[i] && k < sk_X509_num(chains[i]); k++)
            rc = append_der(&b, i2d_cert, sk_X509_value(chains[i], k));
        if (rc == BUF_OK) {
            size_t len = b.len - at - 4;
            for (int k = 0; k < 4; k++)
                b.data[at + k] = (uint8_t)(len >> (24 - 8 * k));
        }
    }
    if (rc != BUF_OK || send_frame(fd, b.data, b.len) != 0) {
        err = crypto_fail(CRYPTO_E_IO, "cannot send the key process hello");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(own[i] = EVP_PKEY_dup(crypto_key_public(keys[i])))) {
            err = crypto_fail(CRYPTO_E_NOMEM, "cannot copy a key for a connection");
            goto out;
        }
    }
    for (;;) {
        uint8_t *req = NULL, reply[MAX_REPLY];
        size_t len = 0, sig_len = MAX_REPLY - 2;
        int r = recv_frame(fd, &req, &len, MAX_REQUEST);
        if (r == 1)
            break; /* the client is done */
        if (r != 0) {
            err = crypto_fail(CRYPTO_E_IO, "broken request from a client");
            break;
        }
        const EVP_MD *md = len >= 5 ? md_of(req[2]) : NULL;
        crypto_err se;
        if (len < 5 || req[0] != 'S' || req[1] >= n || !md || req[3] > 2 ||
            req[4] != (size_t)EVP_MD_get_size(md) || len != 5u + req[4]) {
            se = crypto_fail(CRYPTO_E_ARG, "malformed signing request");
        } else {
            EVP_PKEY *pkey = own[req[1]];
            if ((size_t)EVP_PKEY_get_size(pkey) > sig_len)
                se = crypto_fail(CRYPTO_E_LIMIT, "signature too large");
            else if (crypto_key_in_token(keys[req[1]])) /* the token signs, one at a time */
                se = crypto_key_sign_digest(reply + 2, &sig_len, keys[req[1]], md,
                                            (crypto_padding)req[3], req + 5, req[4]);
            else
                se = serve_sign(reply + 2, &sig_len, &sc[req[1]], pkey, md, req[2], req[3], req + 5,
                                req[4]);
        }
        free(req);
        reply[0] = 'R';
        reply[1] = (uint8_t)se;
        if (se != CRYPTO_OK) {
            const char *msg = crypto_errdetail();
            sig_len = strlen(msg) < MAX_REPLY - 2 ? strlen(msg) : MAX_REPLY - 2;
            memcpy(reply + 2, msg, sig_len);
        }
        if (send_frame(fd, reply, 2 + sig_len) != 0) {
            err = crypto_fail(CRYPTO_E_IO, "cannot answer a client");
            break;
        }
    }
out:
    for (size_t i = 0; i < MAX_KEYS; i++) {
        EVP_PKEY_CTX_free(sc[i].ctx);
        EVP_PKEY_free(own[i]);
    }
    buf_free(&b);
    return err;
}

/* ---- clients ---- */

crypto_err crypto_remote_sign(uint8_t *sig, size_t *sig_len, int fd, uint8_t index,
                              const EVP_MD *md, crypto_padding padding, const uint8_t *dgst,
                              size_t dgst_len) {
    uint8_t req[5 + EVP_MAX_MD_SIZE], *reply = NULL;
    size_t rlen = 0;
    crypto_err err = CRYPTO_OK;
    if (dgst_len > EVP_MAX_MD_SIZE || !code_of(md))
        return crypto_fail(CRYPTO_E_ARG, "digest not accepted by the key process");
    req[0] = 'S';
    req[1] = index;
    req[2] = code_of(md);
    req[3] = padding == CRYPTO_PAD_PKCS1 ? 1 : padding == CRYPTO_PAD_PSS ? 2 : 0;
    req[4] = (uint8_t)dgst_len;
    memcpy(req + 5, dgst, dgst_len);
    if (send_frame(fd, req, 5 + dgst_len) != 0 || recv_frame(fd, &reply, &rlen, MAX_REPLY) != 0)
        return crypto_fail(CRYPTO_E_IO, "the key process does not answer");
    if (rlen < 2 || reply[0] != 'R') {
        err = crypto_fail(CRYPTO_E_IO, "malformed answer from the key process");
    } else if (reply[1] != CRYPTO_OK) {
        err = crypto_fail(reply[1] <= CRYPTO_E_ARG ? (crypto_err)reply[1] : CRYPTO_E_SIGN,
                          "key process: %.*s", (int)(rlen - 2), (const char *)reply + 2);
    } else if (rlen - 2 > *sig_len) {
        err = crypto_fail(CRYPTO_E_LIMIT, "signature larger than expected");
    } else {
        memcpy(sig, reply + 2, rlen - 2);
        *sig_len = rlen - 2;
    }
    free(reply);
    return err;
}

static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

crypto_err crypto_remote_open(crypto_remote *out, int fd) {
    uint8_t *h = NULL;
    size_t len = 0;
    crypto_err err = CRYPTO_OK;
    memset(out, 0, sizeof *out);
    if (recv_frame(fd, &h, &len, MAX_HELLO) != 0 || len < 2 || h[0] != 'H') {
        err = crypto_fail(CRYPTO_E_IO, "no hello from the key process");
        goto out;
    }
    if (h[1] != 0) {
        err = crypto_fail(h[1] <= CRYPTO_E_ARG ? (crypto_err)h[1] : CRYPTO_E_KEY, "%.*s",
                          (int)(len - 2), (const char *)h + 2);
        goto out;
    }
    out->keys = calloc(MAX_KEYS, sizeof *out->keys);
    out->certs = calloc(MAX_KEYS, sizeof *out->certs);
    out->chains = calloc(MAX_KEYS, sizeof *out->chains);
    if (!out->keys || !out->certs || !out->chains) {
        err = CRYPTO_E_NOMEM;
        goto out;
    }
    size_t p = 2;
    while (p < len && err == CRYPTO_OK) {
        if (out->n == MAX_KEYS || len - p < 4) {
            err = crypto_fail(CRYPTO_E_IO, "malformed hello from the key process");
            break;
        }
        size_t kl = get_u32(h + p);
        p += 4;
        const unsigned char *q = h + p;
        EVP_PKEY *pub = kl <= len - p ? d2i_PUBKEY(NULL, &q, (long)kl) : NULL;
        if (!pub || q != h + p + kl || len - p - kl < 4) {
            EVP_PKEY_free(pub);
            err = crypto_fail(CRYPTO_E_IO, "malformed public key from the key process");
            break;
        }
        p += kl;
        size_t i = out->n++;
        if (!(out->keys[i] = crypto_key_new_remote(pub, fd, (uint8_t)i))) {
            EVP_PKEY_free(pub);
            err = CRYPTO_E_NOMEM;
            break;
        }
        size_t cl = get_u32(h + p);
        p += 4;
        if (cl > len - p) {
            err = crypto_fail(CRYPTO_E_IO, "malformed certificates from the key process");
            break;
        }
        const unsigned char *c = h + p, *end = h + p + cl;
        while (c < end && err == CRYPTO_OK) {
            X509 *x = d2i_X509(NULL, &c, (long)(end - c));
            if (!x) {
                err = crypto_fail(CRYPTO_E_CERT, "malformed certificate from the key process");
            } else if (!out->certs[i]) {
                out->certs[i] = x;
            } else {
                if (!out->chains[i])
                    out->chains[i] = sk_X509_new_null();
                if (!out->chains[i] || !sk_X509_push(out->chains[i], x)) {
                    X509_free(x);
                    err = CRYPTO_E_NOMEM;
                }
            }
        }
        p += cl;
    }
    if (err == CRYPTO_OK && out->n == 0)
        err = crypto_fail(CRYPTO_E_IO, "the key process offers no key");
out:
    free(h);
    if (err != CRYPTO_OK)
        crypto_remote_close(out);
    return err;
}

void crypto_remote_close(crypto_remote *r) {
    for (size_t i = 0; i < r->n; i++) {
        crypto_key_free(r->keys[i]);
        X509_free(r->certs[i]);
        sk_X509_pop_free(r->chains[i], X509_free);
    }
    free(r->keys);
    free(r->certs);
    free(r->chains);
    memset(r, 0, sizeof *r);
}
