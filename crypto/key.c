/* Private keys, certificates and passwords from files. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rsa.h>

#include "base/fileio.h"
#include "crypto/ca.h"
#include "crypto/internal.h"

#define MAX_KEY_FILE (1024 * 1024)
#define MAX_CERT_FILE (4 * 1024 * 1024)
#define MAX_CERTS 64
#define MAX_PASSWORD 1024

struct crypto_key {
    EVP_PKEY *pkey; /* a remote key holds only the public key */
    int remote_fd;  /* -1: a local key; else the key process's socket (crypto/keyproc.h) */
    uint8_t remote_index;
    crypto_p11_key *p11; /* a key in a PKCS#11 token: pkey is its public half */
    /* The signing context is made once and reused while the digest and padding stay the
     * same: building it is a good part of the cost of a signature in OpenSSL 3. */
    EVP_PKEY_CTX *ctx;
    const EVP_MD *ctx_md;
    crypto_padding ctx_pad;
};

crypto_err crypto_read_file(uint8_t **data, size_t *len, const char *path, size_t max) {
    int e = file_read_all(data, len, path, max);
    if (e == EFBIG)
        return crypto_fail(CRYPTO_E_LIMIT, "%s is larger than %zu bytes", path, max);
    if (e)
        return crypto_fail(CRYPTO_E_IO, "%s: %s", path, strerror(e));
    return CRYPTO_OK;
}

static bool is_pem(const uint8_t *d, size_t n) {
    static const char tag[] = "-----BEGIN ";
    for (size_t i = 0; i + sizeof tag - 1 <= n && i < 4096; i++)
        if (memcmp(d + i, tag, sizeof tag - 1) == 0)
            return true;
    return false;
}

typedef struct pass_ctx {
    const char *password;
    bool asked;
} pass_ctx;

/* Never prompts: a key that needs a password and has none given fails. */
static int pass_cb(char *out, int size, int rwflag, void *u) {
    pass_ctx *p = u;
    (void)rwflag;
    p->asked = true;
    if (!p->password)
        return -1;
    size_t n = strlen(p->password);
    if (n > (size_t)size)
        return -1;
    memcpy(out, p->password, n);
    return (int)n;
}

/* A PKCS#8 PrivateKeyInfo (RFC 5208) into a key. OpenSSL 3's generic decoding tries every
 * decoder it has and costs about a millisecond; naming the structure and the key type from the
 * AlgorithmIdentifier makes it a tenth of that. */
static EVP_PKEY *from_p8(const PKCS8_PRIV_KEY_INFO *p8) {
    const X509_ALGOR *alg = NULL;
    const ASN1_OBJECT *obj = NULL;
    EVP_PKEY *pkey = NULL;
    unsigned char *der = NULL;
    int len;
    const char *type = NULL;
    if (!PKCS8_pkey_get0(NULL, NULL, NULL, &alg, p8))
        return NULL;
    X509_ALGOR_get0(&obj, NULL, NULL, alg);
    switch (OBJ_obj2nid(obj)) {
    case NID_rsaEncryption:
        type = "RSA";
        break;
    case NID_rsassaPss:
        type = "RSA-PSS";
        break;
    case NID_X9_62_id_ecPublicKey:
        type = "EC";
        break;
    default:
        break;
    }
    if (type && (len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der)) > 0) {
        OSSL_DECODER_CTX *dc = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", "PrivateKeyInfo", type,
                                                             EVP_PKEY_KEYPAIR, NULL, NULL);
        const unsigned char *p = der;
        size_t left = (size_t)len;
        if (!dc || !OSSL_DECODER_from_data(dc, &p, &left)) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
        }
        OSSL_DECODER_CTX_free(dc);
        OPENSSL_clear_free(der, (size_t)len);
    }
    if (!pkey)
        pkey = EVP_PKCS82PKEY(p8); /* other key types: the generic way */
    return pkey;
}

/* The first private key in PEM data: PKCS#8 ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY") read
 * directly; traditional forms ("RSA PRIVATE KEY", ...) through OpenSSL's generic reader. */
static crypto_err pem_key(EVP_PKEY **out, const uint8_t *data, size_t len, const char *path,
                          const char *password) {
    crypto_err err = CRYPTO_OK;
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    long der_len = 0;
    *out = NULL;
    while (bio && PEM_read_bio(bio, &name, &header, &der, &der_len)) {
        const unsigned char *p = der;
        if (strcmp(name, PEM_STRING_PKCS8INF) == 0) {
            PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, der_len);
            *out = p8 ? from_p8(p8) : NULL;
            PKCS8_PRIV_KEY_INFO_free(p8);
            if (!*out)
                err = crypto_fail(CRYPTO_E_KEY, "%s: cannot read its PKCS#8 private key", path);
            break;
        }
        if (strcmp(name, PEM_STRING_PKCS8) == 0) {
            X509_SIG *sig = d2i_X509_SIG(NULL, &p, der_len);
            PKCS8_PRIV_KEY_INFO *p8 = NULL;
            if (!password)
                err =
                    crypto_fail(CRYPTO_E_PASSWORD, "%s is encrypted: its password is needed", path);
            else if (!sig || !(p8 = PKCS8_decrypt(sig, password, (int)strlen(password))))
                err = crypto_fail(CRYPTO_E_PASSWORD, "wrong password for %s", path);
            else if (!(*out = from_p8(p8)))
                err = crypto_fail(CRYPTO_E_KEY, "%s: cannot read its PKCS#8 private key", path);
            PKCS8_PRIV_KEY_INFO_free(p8);
            X509_SIG_free(sig);
            break;
        }
        if (strstr(name, "PRIVATE KEY")) {
            pass_ctx pc = {password, false};
            BIO *one = BIO_new_mem_buf(data, (int)len);
            *out = one ? PEM_read_bio_PrivateKey(one, NULL, pass_cb, &pc) : NULL;
            BIO_free(one);
            if (!*out && pc.asked && !password)
                err =
                    crypto_fail(CRYPTO_E_PASSWORD, "%s is encrypted: its password is needed", path);
            else if (!*out && pc.asked)
                err = crypto_fail(CRYPTO_E_PASSWORD, "wrong password for %s", path);
            else if (!*out)
                err = crypto_fail(CRYPTO_E_KEY, "%s: cannot read its private key", path);
            break;
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_clear_free(der, (size_t)der_len);
        name = header = NULL;
        der = NULL;
    }
    if (!*out && err == CRYPTO_OK)
        err = crypto_fail(CRYPTO_E_KEY, "%s holds no private key in PEM", path);
    OPENSSL_free(name);
    OPENSSL_free(header);
    if (der)
        OPENSSL_clear_free(der, (size_t)der_len);
    BIO_free(bio);
    ERR_clear_error();
    return err;
}

static crypto_err load_pkcs12(EVP_PKEY **pkey, X509 **cert, STACK_OF(X509) * *chain,
                              const uint8_t *d, size_t n, const char *password) {
    crypto_err err = CRYPTO_OK;
    BIO *bio = BIO_new_mem_buf(d, (int)n);
    PKCS12 *p12 = bio ? d2i_PKCS12_bio(bio, NULL) : NULL;
    if (!p12) {
        err = crypto_fail(CRYPTO_E_KEY, "neither a PEM key nor a PKCS#12 file");
        goto out;
    }
    const char *pass = password ? password : "";
    if (!PKCS12_verify_mac(p12, pass, -1) && !(!password && PKCS12_verify_mac(p12, NULL, 0))) {
        err = crypto_fail(CRYPTO_E_PASSWORD, password ? "wrong password for the PKCS#12 file"
                                                      : "the PKCS#12 file needs a password");
        goto out;
    }
    if (!PKCS12_parse(p12, pass, pkey, cert, chain) || !*pkey) {
        err = crypto_fail(CRYPTO_E_KEY, "cannot read the PKCS#12 file");
        goto out;
    }
out:
    PKCS12_free(p12);
    BIO_free(bio);
    return err;
}

/* A key in a token (crypto/p11.c); the token may hold its certificate, never a chain. */
static crypto_err load_token_key(crypto_key **out, X509 **cert, STACK_OF(X509) * *chain,
                                 const char *uri, const char *pin) {
    crypto_p11_key *p11 = NULL;
    EVP_PKEY *pub = NULL;
    crypto_err err = crypto_p11_key_open(&p11, &pub, cert, uri, pin);
    if (err != CRYPTO_OK)
        return err;
    crypto_key *k = calloc(1, sizeof *k);
    if (!k) {
        crypto_p11_key_close(p11);
        EVP_PKEY_free(pub);
        if (cert) {
            X509_free(*cert);
            *cert = NULL;
        }
        return CRYPTO_E_NOMEM;
    }
    k->remote_fd = -1;
    k->pkey = pub;
    k->p11 = p11;
    if (chain)
        *chain = NULL;
    *out = k;
    return CRYPTO_OK;
}

bool crypto_key_in_token(const crypto_key *key) {
    return key->p11 != NULL;
}

crypto_err crypto_key_load(crypto_key **out, X509 **cert, STACK_OF(X509) * *chain, const char *path,
                           const char *password) {
    uint8_t *data = NULL;
    size_t len = 0;
    EVP_PKEY *pkey = NULL;
    X509 *c = NULL;
    STACK_OF(X509) *ca = NULL;
    BIO *bio = NULL;
    *out = NULL;
    crypto_clear_detail();
    if (strncmp(path, "pkcs11:", 7) == 0)
        return load_token_key(out, cert, chain, path, password);
    crypto_err err = crypto_read_file(&data, &len, path, MAX_KEY_FILE);
    if (err != CRYPTO_OK)
        goto out;
    if (is_pem(data, len)) {
        if ((err = pem_key(&pkey, data, len, path, password)) != CRYPTO_OK)
            goto out;
    } else {
        err = load_pkcs12(&pkey, &c, &ca, data, len, password);
        if (err == CRYPTO_E_KEY) {
            /* A DER private key (PKCS#8 or traditional), unencrypted. */
            const unsigned char *p = data;
            ERR_clear_error();
            pkey = d2i_AutoPrivateKey(NULL, &p, (long)len);
            if (pkey)
                err = CRYPTO_OK;
            else
                err =
                    crypto_fail(CRYPTO_E_KEY, "%s is not a PEM, DER or PKCS#12 private key", path);
        }
        if (err != CRYPTO_OK)
            goto out;
    }
    crypto_key *k = calloc(1, sizeof *k);
    if (!k) {
        err = CRYPTO_E_NOMEM;
        goto out;
    }
    k->remote_fd = -1;
    k->pkey = pkey;
    pkey = NULL;
    *out = k;
    if (cert) {
        *cert = c;
        c = NULL;
    }
    if (chain) {
        *chain = ca;
        ca = NULL;
    }
out:
    EVP_PKEY_free(pkey);
    X509_free(c);
    sk_X509_pop_free(ca, X509_free);
    BIO_free(bio);
    if (data)
        OPENSSL_cleanse(data, len);
    free(data);
    return err;
}

void crypto_key_free(crypto_key *key) {
    if (key) {
        EVP_PKEY_CTX_free(key->ctx);
        EVP_PKEY_free(key->pkey);
        crypto_p11_key_close(key->p11);
        free(key);
    }
}

crypto_key *crypto_key_new_remote(EVP_PKEY *pub, int fd, uint8_t index) {
    crypto_key *k = calloc(1, sizeof *k);
    if (k) {
        k->pkey = pub;
        k->remote_fd = fd;
        k->remote_index = index;
    }
    return k;
}

EVP_PKEY *crypto_key_public(const crypto_key *key) {
    return key->pkey;
}

EVP_PKEY *crypto_key_file_pkey(const crypto_key *key) {
    return key->remote_fd < 0 && !key->p11 ? key->pkey : NULL;
}

crypto_err crypto_key_from_pkey(crypto_key **out, EVP_PKEY *pkey) {
    crypto_key *k = calloc(1, sizeof *k);
    *out = NULL;
    if (!k) {
        EVP_PKEY_free(pkey);
        return crypto_fail(CRYPTO_E_NOMEM, "out of memory");
    }
    k->remote_fd = -1;
    k->pkey = pkey;
    *out = k;
    return CRYPTO_OK;
}

size_t crypto_key_max_sig(const crypto_key *key) {
    int n = EVP_PKEY_get_size(key->pkey);
    return n > 0 ? (size_t)n : 0;
}

static crypto_err make_ctx(crypto_key *key, const EVP_MD *md, crypto_padding pad) {
    EVP_PKEY_CTX_free(key->ctx);
    key->ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
    key->ctx_md = NULL;
    if (!key->ctx || EVP_PKEY_sign_init(key->ctx) <= 0 ||
        EVP_PKEY_CTX_set_signature_md(key->ctx, md) <= 0)
        return crypto_fail(CRYPTO_E_SIGN, "cannot set up signing");
    if (pad == CRYPTO_PAD_PSS) {
        /* RFC 4055 / ETSI TS 119 312: PSS with MGF1 of the same digest and a salt as long. */
        if (EVP_PKEY_CTX_set_rsa_padding(key->ctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(key->ctx, md) <= 0 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(key->ctx, RSA_PSS_SALTLEN_DIGEST) <= 0)
            return crypto_fail(CRYPTO_E_SIGN, "cannot set up RSA-PSS");
    } else if (pad == CRYPTO_PAD_PKCS1) {
        if (EVP_PKEY_CTX_set_rsa_padding(key->ctx, RSA_PKCS1_PADDING) <= 0)
            return crypto_fail(CRYPTO_E_SIGN, "cannot set up RSA PKCS#1 v1.5");
    }
    key->ctx_md = md;
    key->ctx_pad = pad;
    return CRYPTO_OK;
}

crypto_err crypto_key_sign_digest(uint8_t *sig, size_t *sig_len, crypto_key *key, const EVP_MD *md,
                                  crypto_padding padding, const uint8_t *dgst, size_t dgst_len) {
    crypto_err err = CRYPTO_OK;
    if (key->remote_fd >= 0) /* the key process signs (crypto/keyproc.h) */
        return crypto_remote_sign(sig, sig_len, key->remote_fd, key->remote_index, md, padding,
                                  dgst, dgst_len);
    if (key->p11) /* the token signs */
        return crypto_p11_key_sign(sig, sig_len, key->p11, md, padding, dgst, dgst_len);
    if (!key->ctx || key->ctx_md != md || key->ctx_pad != padding)
        err = make_ctx(key, md, padding);
    if (err == CRYPTO_OK && EVP_PKEY_sign(key->ctx, sig, sig_len, dgst, dgst_len) <= 0) {
        err = crypto_fail(CRYPTO_E_SIGN, "the private key operation failed");
        EVP_PKEY_CTX_free(key->ctx);
        key->ctx = NULL;
    }
    return err;
}

/* Bytes of one ECDSA or SM2 integer (the order's size) for an EC or SM2 key, 0 for other keys. */
static size_t ec_half(const EVP_PKEY *pkey) {
    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC && !crypto_is_sm2(pkey))
        return 0;
    return (size_t)(EVP_PKEY_get_bits(pkey) + 7) / 8;
}

size_t crypto_key_compact_size(const crypto_key *key) {
    size_t h = ec_half(key->pkey);
    return h ? 2 * h : crypto_key_max_sig(key);
}

/* SM2 keys sign e = SM3(Z || msg) with the default ID (GB/T 32918.2 6.1), r||s like ECDSA. */
crypto_err crypto_key_sign_compact(uint8_t *sig, size_t *sig_len, crypto_key *key,
                                   const uint8_t *msg, size_t n) {
    uint8_t md[32], der[EVP_MAX_MD_SIZE * 4 + 16];
    unsigned mdlen = 0;
    size_t half = ec_half(key->pkey), dlen = sizeof der;
    ECDSA_SIG *es = NULL;
    crypto_err err = CRYPTO_OK;
    bool sm2 = crypto_is_sm2(key->pkey);
    struct iovec part = {(void *)(uintptr_t)msg, n};
    if (sm2 && crypto_sm2_prehash(md, key->pkey, &part, 1) == CRYPTO_OK)
        mdlen = sizeof md;
    else if (sm2 || !EVP_Digest(msg, n, md, &mdlen, EVP_sha256(), NULL))
        return crypto_fail(CRYPTO_E_SIGN, "digest failed");
    if (!half) {
        if (*sig_len < crypto_key_max_sig(key))
            return crypto_fail(CRYPTO_E_LIMIT, "signature buffer too small");
        return crypto_key_sign_digest(sig, sig_len, key, EVP_sha256(), CRYPTO_PAD_PKCS1, md, mdlen);
    }
    if (dlen < crypto_key_max_sig(key) || *sig_len < 2 * half)
        return crypto_fail(CRYPTO_E_LIMIT, "signature buffer too small");
    err = crypto_key_sign_digest(der, &dlen, key, sm2 ? EVP_sm3() : EVP_sha256(), CRYPTO_PAD_AUTO,
                                 md, mdlen);
    const unsigned char *p = der;
    if (err == CRYPTO_OK && !(es = d2i_ECDSA_SIG(NULL, &p, (long)dlen)))
        err = crypto_fail(CRYPTO_E_SIGN, "ECDSA signature not readable");
    if (err == CRYPTO_OK) {
        const BIGNUM *r, *s;
        ECDSA_SIG_get0(es, &r, &s);
        if (BN_bn2binpad(r, sig, (int)half) < 0 || BN_bn2binpad(s, sig + half, (int)half) < 0)
            err = crypto_fail(CRYPTO_E_SIGN, "ECDSA signature too large");
        *sig_len = 2 * half;
    }
    ECDSA_SIG_free(es);
    return err;
}

crypto_err crypto_verify_compact(EVP_PKEY *pub, const uint8_t *sig, size_t sig_len,
                                 const uint8_t *msg, size_t n) {
    uint8_t md[32];
    unsigned mdlen = 0;
    size_t half = ec_half(pub);
    unsigned char *der = NULL;
    int dlen = 0;
    ECDSA_SIG *es = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    crypto_err err = CRYPTO_OK;
    if (!EVP_Digest(msg, n, md, &mdlen, EVP_sha256(), NULL)) {
        err = crypto_fail(CRYPTO_E_SIGN, "digest failed");
        goto out;
    }
    if (half) {
        BIGNUM *r = NULL, *s = NULL;
        if (sig_len != 2 * half || !(es = ECDSA_SIG_new()) ||
            !(r = BN_bin2bn(sig, (int)half, NULL)) ||
            !(s = BN_bin2bn(sig + half, (int)half, NULL)) || !ECDSA_SIG_set0(es, r, s)) {
            BN_free(r);
            BN_free(s);
            err = crypto_fail(CRYPTO_E_SIGN, "not an ECDSA signature of this curve");
            goto out;
        }
        if ((dlen = i2d_ECDSA_SIG(es, &der)) <= 0) {
            err = crypto_fail(CRYPTO_E_NOMEM, "cannot encode the signature");
            goto out;
        }
        sig = der;
        sig_len = (size_t)dlen;
    }
    if (crypto_is_sm2(pub)) {
        struct iovec part = {(void *)(uintptr_t)msg, n};
        if (!crypto_sm2_verify(pub, sig, sig_len, &part, 1))
            err = crypto_fail(CRYPTO_E_SIGN, "the signature does not hold");
        goto out;
    }
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
    if (!ctx || EVP_PKEY_verify_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) <= 0 ||
        (!half && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0)) {
        err = crypto_fail(CRYPTO_E_SIGN, "cannot set up verification");
        goto out;
    }
    if (EVP_PKEY_verify(ctx, sig, sig_len, md, mdlen) != 1)
        err = crypto_fail(CRYPTO_E_SIGN, "the signature does not hold");
out:
    EVP_PKEY_CTX_free(ctx);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    return err;
}

crypto_err crypto_certs_load(STACK_OF(X509) * *out, const char *path) {
    uint8_t *data = NULL;
    size_t len = 0;
    BIO *bio = NULL;
    STACK_OF(X509) *certs = sk_X509_new_null();
    *out = NULL;
    crypto_err err = certs ? crypto_read_file(&data, &len, path, MAX_CERT_FILE) : CRYPTO_E_NOMEM;
    if (err != CRYPTO_OK)
        goto out;
    if (is_pem(data, len)) {
        bio = BIO_new_mem_buf(data, (int)len);
        X509 *c;
        while (bio && (c = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
            if (sk_X509_num(certs) == MAX_CERTS || !sk_X509_push(certs, c)) {
                X509_free(c);
                err = crypto_fail(CRYPTO_E_LIMIT, "%s holds more than %d certificates", path,
                                  MAX_CERTS);
                goto out;
            }
        }
        ERR_clear_error(); /* the loop ends on "no start line" */
    } else {
        const unsigned char *p = data;
        X509 *c = d2i_X509(NULL, &p, (long)len);
        if (c && !sk_X509_push(certs, c))
            X509_free(c);
    }
    if (sk_X509_num(certs) == 0) {
        err = crypto_fail(CRYPTO_E_CERT, "%s holds no certificate (PEM or DER)", path);
        goto out;
    }
    *out = certs;
    certs = NULL;
out:
    sk_X509_pop_free(certs, X509_free);
    BIO_free(bio);
    free(data);
    return err;
}

crypto_err crypto_read_password(char **out, const char *path) {
    uint8_t *data = NULL;
    size_t len = 0;
    *out = NULL;
    crypto_err err = crypto_read_file(&data, &len, path, MAX_PASSWORD);
    if (err != CRYPTO_OK)
        return err;
    size_t n = 0;
    while (n < len && data[n] != '\n' && data[n] != '\r')
        n++;
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, data, n);
        p[n] = '\0';
        *out = p;
    } else {
        err = CRYPTO_E_NOMEM;
    }
    OPENSSL_cleanse(data, len);
    free(data);
    return err;
}
