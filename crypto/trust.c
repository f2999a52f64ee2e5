/* Trust anchors, the validation material a document carries, and certification path
 * validation (RFC 5280 6.1, as ETSI EN 319 102-1 5.2.6 applies it). */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base/fileio.h"
#include "crypto/internal.h"
#include "crypto/verify_int.h"

#define MAX_TRUST_FILE (16 * 1024 * 1024)
#define MAX_ANCHORS 10000
#define MAX_VDATA_ITEM (16 * 1024 * 1024)
#define MAX_DEPTH 16

/* ------------------------------------------------------------------------------------------ */
/* certificates parsed once */

/* OpenSSL 3.0 decodes a certificate's public key through its generic decoder, which makes
 * d2i_X509 cost over 100 us, the bulk of a verification; batch verification meets the same
 * CA certificates in every document. A direct-mapped cache of parsed certificates keyed by
 * their DER (a certificate is its encoding: the same bytes are the same certificate). */
#define CACHE_SLOTS 1024
#define CACHE_MAX_DER (64 * 1024)

typedef struct cache_slot {
    uint64_t hash;
    uint8_t *der;
    size_t len;
    X509 *cert;
} cache_slot;

static cache_slot cache[CACHE_SLOTS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

X509 *cert_from_der(const uint8_t *der, size_t len) {
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ der[i]) * 1099511628211ULL;
    cache_slot *slot = &cache[h % CACHE_SLOTS];
    X509 *c = NULL;
    pthread_mutex_lock(&cache_lock);
    if (slot->cert && slot->hash == h && slot->len == len && memcmp(slot->der, der, len) == 0 &&
        X509_up_ref(slot->cert))
        c = slot->cert;
    pthread_mutex_unlock(&cache_lock);
    if (c)
        return c;
    const unsigned char *p = der;
    c = d2i_X509(NULL, &p, (long)len);
    ERR_clear_error();
    /* an SM2-signed certificate is given the default ID here, once, before it is shared */
    if (!c || p != der + len || !crypto_sm2_cert_prepare(c)) {
        X509_free(c);
        return NULL;
    }
    uint8_t *copy = len <= CACHE_MAX_DER ? malloc(len) : NULL;
    if (copy && X509_up_ref(c)) {
        memcpy(copy, der, len);
        pthread_mutex_lock(&cache_lock);
        cache_slot old = *slot;
        slot->hash = h;
        slot->der = copy;
        slot->len = len;
        slot->cert = c;
        pthread_mutex_unlock(&cache_lock);
        X509_free(old.cert);
        free(old.der);
    } else {
        free(copy);
    }
    return c;
}

/* ------------------------------------------------------------------------------------------ */
/* trust anchors */

crypto_err crypto_trust_new(crypto_trust **out) {
    crypto_trust *t = calloc(1, sizeof *t);
    *out = NULL;
    if (!t)
        return CRYPTO_E_NOMEM;
    t->store = X509_STORE_new();
    t->certs = sk_X509_new_null();
    if (!t->store || !t->certs) {
        crypto_trust_free(t);
        return CRYPTO_E_NOMEM;
    }
    *out = t;
    return CRYPTO_OK;
}

void crypto_trust_free(crypto_trust *t) {
    if (!t)
        return;
    X509_STORE_free(t->store);
    sk_X509_pop_free(t->certs, X509_free);
    free(t->by_serial);
    free(t);
}

size_t crypto_trust_count(const crypto_trust *t) {
    return t ? (size_t)sk_X509_num(t->certs) : 0;
}

static int cmp_serial(const void *a, const void *b) {
    X509 *const *x = a, *const *y = b;
    return ASN1_INTEGER_cmp(X509_get0_serialNumber(*x), X509_get0_serialNumber(*y));
}

/* By serial number, then by content, so that duplicates end up side by side. */
static int cmp_serial_cert(const void *a, const void *b) {
    X509 *const *x = a, *const *y = b;
    int c = cmp_serial(a, b);
    return c ? c : X509_cmp(*x, *y);
}

/* Adds cert (taken over); duplicates are dropped when the index is made. An SM2-signed anchor
 * gets the default ID (GM/T 0009 5.4.4), should its own signature be checked. */
static crypto_err add_anchor(crypto_trust *t, X509 *cert) {
    crypto_err err = CRYPTO_OK;
    if (!crypto_sm2_cert_prepare(cert))
        err = crypto_fail(CRYPTO_E_NOMEM, "cannot add a trust anchor");
    else if (sk_X509_num(t->certs) >= MAX_ANCHORS)
        err = crypto_fail(CRYPTO_E_LIMIT, "more than %d trust anchors", MAX_ANCHORS);
    else if (!X509_STORE_add_cert(t->store, cert) || !sk_X509_push(t->certs, cert))
        err = crypto_fail(CRYPTO_E_NOMEM, "cannot add a trust anchor");
    if (err != CRYPTO_OK)
        X509_free(cert);
    return err;
}

/* Sorts the anchors by serial number (made again for each crypto_trust_add, not for each
 * certificate) and drops the duplicates. */
static crypto_err make_index(crypto_trust *t) {
    size_t n = (size_t)sk_X509_num(t->certs), m = 0;
    X509 **idx = realloc(t->by_serial, (n ? n : 1) * sizeof *idx);
    if (!idx)
        return CRYPTO_E_NOMEM;
    t->by_serial = idx;
    t->n_sorted = 0;
    for (size_t i = 0; i < n; i++)
        idx[i] = sk_X509_value(t->certs, (int)i);
    qsort(idx, n, sizeof *idx, cmp_serial_cert);
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && X509_cmp(idx[m - 1], idx[i]) == 0)
            X509_free(idx[i]);
        else
            idx[m++] = idx[i];
    }
    sk_X509_zero(t->certs);
    for (size_t i = 0; i < m; i++)
        sk_X509_push(t->certs, idx[i]); /* no allocation: the stack only shrank */
    t->n_sorted = m;
    return CRYPTO_OK;
}

/* The certificates of one file: PEM (any number) or one DER certificate. *found counts them. */
static crypto_err add_file(crypto_trust *t, const char *path, size_t *found) {
    uint8_t *data = NULL;
    size_t len = 0;
    BIO *bio = NULL;
    crypto_err err = CRYPTO_OK;
    int e = file_read_all(&data, &len, path, MAX_TRUST_FILE);
    if (e == EFBIG) {
        err = crypto_fail(CRYPTO_E_LIMIT, "%s is larger than %d bytes", path, MAX_TRUST_FILE);
        goto out;
    }
    if (e) {
        err = crypto_fail(CRYPTO_E_IO, "%s: %s", path, strerror(e));
        goto out;
    }
    bio = BIO_new_mem_buf(data, (int)len);
    if (!bio) {
        err = CRYPTO_E_NOMEM;
        goto out;
    }
    X509 *c;
    while (err == CRYPTO_OK && (c = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL)) != NULL) {
        err = add_anchor(t, c);
        ++*found;
    }
    ERR_clear_error(); /* the loop ends on "no start line" */
    if (err == CRYPTO_OK && *found == 0) {
        const unsigned char *p = data;
        c = d2i_X509(NULL, &p, (long)len);
        if (c && p == data + len) {
            err = add_anchor(t, c);
            ++*found;
        } else {
            X509_free(c);
        }
        ERR_clear_error();
    }
out:
    BIO_free(bio);
    free(data);
    return err;
}

static crypto_err add_dir(crypto_trust *t, const char *path, size_t *found) {
    crypto_err err = CRYPTO_OK;
    buf name;
    buf_init(&name, 4096);
    DIR *d = opendir(path);
    if (!d)
        return crypto_fail(CRYPTO_E_IO, "%s: %s", path, strerror(errno));
    struct dirent *ent;
    while (err == CRYPTO_OK && (ent = readdir(d)) != NULL) {
        struct stat st;
        if (ent->d_name[0] == '.')
            continue;
        buf_reset(&name);
        if (buf_printf(&name, "%s/%s", path, ent->d_name) != BUF_OK || buf_putc(&name, 0)) {
            err = crypto_fail(CRYPTO_E_LIMIT, "%s/%s: path too long", path, ent->d_name);
            break;
        }
        if (stat((const char *)name.data, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        size_t here = 0;
        err = add_file(t, (const char *)name.data, &here);
        if (err == CRYPTO_E_IO) /* unreadable files are skipped like those without certs */
            err = CRYPTO_OK;
        *found += here;
    }
    closedir(d);
    buf_free(&name);
    return err;
}

crypto_err crypto_trust_add(crypto_trust *t, const char *path) {
    struct stat st;
    size_t found = 0;
    crypto_err err;
    crypto_clear_detail();
    if (!t || !path)
        return CRYPTO_E_ARG;
    if (stat(path, &st) != 0)
        return crypto_fail(CRYPTO_E_IO, "%s: %s", path, strerror(errno));
    err = S_ISDIR(st.st_mode) ? add_dir(t, path, &found) : add_file(t, path, &found);
    /* the index made again even after an error, so that it holds what the store holds */
    crypto_err ierr = make_index(t);
    if (err == CRYPTO_OK && found == 0)
        err = crypto_fail(CRYPTO_E_CERT, "%s holds no certificate (PEM or DER)", path);
    return err != CRYPTO_OK ? err : ierr;
}

/* RFC 5652 5.3 SignerIdentifier: issuerAndSerialNumber by binary search on the serial number;
 * subjectKeyIdentifier by a scan (rare: a signer whose certificate is itself an anchor). */
X509 *trust_find_signer(const crypto_trust *t, CMS_SignerInfo *si) {
    ASN1_OCTET_STRING *keyid = NULL;
    X509_NAME *issuer = NULL;
    ASN1_INTEGER *serial = NULL;
    if (!t || t->n_sorted == 0 || !CMS_SignerInfo_get0_signer_id(si, &keyid, &issuer, &serial))
        return NULL;
    if (keyid) {
        for (size_t i = 0; i < t->n_sorted; i++)
            if (CMS_SignerInfo_cert_cmp(si, t->by_serial[i]) == 0)
                return t->by_serial[i];
        return NULL;
    }
    size_t lo = 0, hi = t->n_sorted;
    while (lo < hi) { /* the first with a serial not below */
        size_t mid = lo + (hi - lo) / 2;
        if (ASN1_INTEGER_cmp(X509_get0_serialNumber(t->by_serial[mid]), serial) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < t->n_sorted; lo++) {
        X509 *c = t->by_serial[lo];
        if (ASN1_INTEGER_cmp(X509_get0_serialNumber(c), serial) != 0)
            break;
        if (X509_NAME_cmp(X509_get_issuer_name(c), issuer) == 0)
            return c;
    }
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* validation material from the document (ETSI EN 319 142-1 5.4.2 DSS) */

crypto_err crypto_vdata_new(crypto_vdata **out) {
    crypto_vdata *v = calloc(1, sizeof *v);
    *out = NULL;
    if (!v)
        return CRYPTO_E_NOMEM;
    v->certs = sk_X509_new_null();
    v->crls = sk_X509_CRL_new_null();
    v->ocsps = calloc(VERIFY_MAX_ITEMS, sizeof *v->ocsps);
    if (!v->certs || !v->crls || !v->ocsps) {
        crypto_vdata_free(v);
        return CRYPTO_E_NOMEM;
    }
    *out = v;
    return CRYPTO_OK;
}

void crypto_vdata_free(crypto_vdata *v) {
    if (!v)
        return;
    sk_X509_pop_free(v->certs, X509_free);
    sk_X509_CRL_pop_free(v->crls, X509_CRL_free);
    for (size_t i = 0; i < v->n_ocsps; i++)
        OCSP_BASICRESP_free(v->ocsps[i]);
    free(v->ocsps);
    free(v);
}

typedef enum vdata_kind { VD_CERT, VD_CRL, VD_OCSP } vdata_kind;

/* Parses one item into its list; unparsable ones are counted and passed over. OCSP: an
 * OCSPResponse (RFC 6960 4.2.1) as PDF's /OCSPs holds it, or a bare BasicOCSPResponse. */
static crypto_err vdata_add(crypto_vdata *v, vdata_kind kind, const uint8_t *der, size_t len) {
    static const char *const what[] = {"certificate", "CRL", "OCSP response"};
    const unsigned char *p = der;
    if (!v || (!der && len))
        return CRYPTO_E_ARG;
    size_t held = kind == VD_CERT  ? (size_t)sk_X509_num(v->certs)
                  : kind == VD_CRL ? (size_t)sk_X509_CRL_num(v->crls)
                                   : v->n_ocsps;
    if (len > MAX_VDATA_ITEM)
        return crypto_fail(CRYPTO_E_LIMIT, "a %s of %zu bytes (at most %d)", what[kind], len,
                           MAX_VDATA_ITEM);
    if (held >= VERIFY_MAX_ITEMS)
        return crypto_fail(CRYPTO_E_LIMIT, "more than %d %ss", VERIFY_MAX_ITEMS, what[kind]);
    bool parsed = false, nomem = false;
    if (kind == VD_CERT) {
        X509 *c = der ? cert_from_der(der, len) : NULL;
        parsed = c != NULL;
        if (c && !sk_X509_push(v->certs, c)) {
            X509_free(c);
            nomem = true;
        }
    } else if (kind == VD_CRL) {
        X509_CRL *c = d2i_X509_CRL(NULL, &p, (long)len);
        parsed = c != NULL;
        if (c && !sk_X509_CRL_push(v->crls, c)) {
            X509_CRL_free(c);
            nomem = true;
        }
    } else {
        OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
        OCSP_BASICRESP *bs = NULL;
        if (resp && OCSP_response_status(resp) == OCSP_RESPONSE_STATUS_SUCCESSFUL)
            bs = OCSP_response_get1_basic(resp);
        if (!resp) {
            p = der;
            bs = d2i_OCSP_BASICRESP(NULL, &p, (long)len);
        }
        OCSP_RESPONSE_free(resp);
        parsed = bs != NULL;
        if (bs) {
            crypto_sm2_ocsp_prepare(bs);
            v->ocsps[v->n_ocsps++] = bs; /* room for VERIFY_MAX_ITEMS, checked above */
        }
    }
    ERR_clear_error();
    if (nomem)
        return CRYPTO_E_NOMEM;
    if (!parsed)
        v->unparsable++;
    return CRYPTO_OK;
}

crypto_err crypto_vdata_add_cert(crypto_vdata *v, const uint8_t *der, size_t len) {
    return vdata_add(v, VD_CERT, der, len);
}

crypto_err crypto_vdata_add_crl(crypto_vdata *v, const uint8_t *der, size_t len) {
    return vdata_add(v, VD_CRL, der, len);
}

crypto_err crypto_vdata_add_ocsp(crypto_vdata *v, const uint8_t *der, size_t len) {
    return vdata_add(v, VD_OCSP, der, len);
}

/* ------------------------------------------------------------------------------------------ */
/* path validation */

/* Validity and algorithm strength are noted and passed over, so that the path is built to its
 * end and the caller weighs them (ETSI EN 319 102-1 5.2.6.4 needs to know whether an anchor
 * is reachable apart from them). */
static int verify_cb(int ok, X509_STORE_CTX *ctx) {
    chain_res *r = X509_STORE_CTX_get_app_data(ctx);
    if (ok)
        return ok;
    int e = X509_STORE_CTX_get_error(ctx);
    int depth = X509_STORE_CTX_get_error_depth(ctx);
    switch (e) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        if (r->time_err == X509_V_OK) {
            r->time_err = e;
            r->time_depth = depth;
        }
        return 1;
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL:
    case X509_V_ERR_CA_MD_TOO_WEAK:
        if (r->weak_err == X509_V_OK) {
            r->weak_err = e;
            r->weak_depth = depth;
        }
        return 1;
    default:
        return 0;
    }
}

crypto_err chain_build(chain_res *out, const crypto_trust *t, X509 *leaf,
                       STACK_OF(X509) * untrusted, time_t at) {
    crypto_err err = CRYPTO_OK;
    X509_STORE_CTX *ctx = NULL;
    memset(out, 0, sizeof *out);
    out->err = X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
    if (!t || sk_X509_num(t->certs) == 0)
        goto out;
    ctx = X509_STORE_CTX_new();
    if (!ctx || !X509_STORE_CTX_init(ctx, t->store, leaf, untrusted)) {
        err = crypto_fail(CRYPTO_E_NOMEM, "cannot set up path validation");
        goto out;
    }
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    /* Anchors need not be self-signed; no purpose is imposed (the signer's key usage is
     * checked by the caller, and signers need no extended key usage); security level 2
     * (112 bits: RSA >= 2048, no SHA-1 or MD5 signatures) as ETSI TS 119 312 asks. */
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    X509_VERIFY_PARAM_set_time(param, at);
    X509_VERIFY_PARAM_set_depth(param, MAX_DEPTH);
    X509_VERIFY_PARAM_set_auth_level(param, 2);
    X509_STORE_CTX_set_app_data(ctx, out);
    X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
    int rc = X509_verify_cert(ctx);
    out->err = X509_STORE_CTX_get_error(ctx);
    out->err_depth = X509_STORE_CTX_get_error_depth(ctx);
    if (rc > 0) {
        out->err = X509_V_OK;
        out->chain = X509_STORE_CTX_get1_chain(ctx);
        if (!out->chain)
            err = CRYPTO_E_NOMEM;
    } else if (out->err == X509_V_OK) {
        out->err = X509_V_ERR_UNSPECIFIED;
    }
    ERR_clear_error();
out:
    X509_STORE_CTX_free(ctx);
    return err;
}

void chain_res_free(chain_res *r) {
    sk_X509_pop_free(r->chain, X509_free);
    r->chain = NULL;
}
