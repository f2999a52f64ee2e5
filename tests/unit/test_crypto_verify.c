/* The signature verifier (crypto/verify.h) against signatures made by real tools: the openssl
 * command line (cms -sign with and without signed attributes, with a subject key identifier,
 * encapsulated, without certificates, with SHA-1, RSA-PSS; ts -query/-reply for time-stamps;
 * ocsp for responses, offline and as a live responder on a local port), the crypto library's
 * own CAdES signer (eseal's signatures must pass against the test root), and CMS built here
 * byte by byte for what the tools cannot make (EdDSA, unknown algorithms, a signing-certificate
 * attribute naming another certificate, OCSP responses inside the CMS and in Adobe's
 * revocation attribute). The test PKI is tests/pki/make-pki.sh's. Each case checks what a user
 * reads: the indication, the sub-indication, integrity, and the facts reported. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "base/buf.h"
#include "base/fileio.h"
#include "crypto/crypto.h"
#include "crypto/der.h"
#include "crypto/verify.h"

#include "check.h"

static char pki[1024], tmp[1024];
static uint8_t content[6000];
static time_t t_start;

/* ------------------------------------------------------------------------------------------ */
/* files and commands */

static const char *path_in(char *out, size_t n, const char *dir, const char *name) {
    snprintf(out, n, "%s/%s", dir, name);
    return out;
}

static const char *P(const char *name) { /* a file of the test PKI */
    static char b[8][1200];
    static int i;
    i = (i + 1) % 8;
    return path_in(b[i], sizeof b[i], pki, name);
}

static const char *T(const char *name) { /* a file of this test's scratch directory */
    static char b[8][1200];
    static int i;
    i = (i + 1) % 8;
    return path_in(b[i], sizeof b[i], tmp, name);
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...) {
    buf cmd;
    va_list ap;
    buf_init(&cmd, 1 << 16);
    buf_printf(&cmd, "cd '%s' && { ", tmp);
    va_start(ap, fmt);
    buf_vprintf(&cmd, fmt, ap);
    va_end(ap);
    int rc = buf_printf(&cmd, " ; } >>'%s/log' 2>&1", tmp) == BUF_OK && buf_putc(&cmd, 0) == BUF_OK
                 ? system((const char *)cmd.data)
                 : -1;
    if (rc != 0)
        fprintf(stderr, "command failed (%d): %s\n", rc, cmd.data ? (char *)cmd.data : "");
    buf_free(&cmd);
    return rc;
}

static void write_file(const char *path, const void *p, size_t n) {
    struct iovec part = {(void *)(uintptr_t)p, n};
    CHECK_INT(file_write_atomic_nosync(path, &part, 1, 0644), 0);
}

static uint8_t *read_file(const char *path, size_t *len) {
    uint8_t *d = NULL;
    *len = 0;
    if (file_read_all(&d, len, path, 64 * 1024 * 1024) != 0)
        fprintf(stderr, "cannot read %s\n", path);
    return d;
}

/* A certificate, a private key or a CRL from a PEM file. */
static void *load_pem(const char *path, char kind) {
    FILE *f = fopen(path, "r");
    void *o = NULL;
    if (f) {
        o = kind == 'c'   ? (void *)PEM_read_X509(f, NULL, NULL, NULL)
            : kind == 'k' ? (void *)PEM_read_PrivateKey(f, NULL, NULL, NULL)
                          : (void *)PEM_read_X509_CRL(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (!o)
        fprintf(stderr, "cannot read %s\n", path);
    return o;
}

static X509 *load_cert(const char *path) {
    return load_pem(path, 'c');
}

static EVP_PKEY *load_key(const char *path) {
    return load_pem(path, 'k');
}

/* A DER file made by an openssl command (the name is in the scratch directory). */
static uint8_t *made(const char *name, size_t *len) {
    return read_file(T(name), len);
}

/* ------------------------------------------------------------------------------------------ */
/* verifying */

static crypto_trust *trust_root, *trust_ec_root, *trust_empty;

static crypto_verify_result *verify_opts(const uint8_t *cms, size_t len, crypto_sig_kind kind,
                                         const uint8_t *data, size_t dlen,
                                         const crypto_verify_opts *o) {
    struct iovec parts[2] = {{(void *)(uintptr_t)data, dlen / 3},
                             {(void *)(uintptr_t)(data + dlen / 3), dlen - dlen / 3}};
    crypto_verify_result *r = NULL;
    crypto_err err = crypto_verify_signature(&r, cms, len, kind, parts, 2, o);
    CHECK_INT(err, CRYPTO_OK);
    if (err != CRYPTO_OK)
        fprintf(stderr, "crypto_verify_signature: %s\n", crypto_errdetail());
    return r;
}

static crypto_verify_result *verify(const uint8_t *cms, size_t len, crypto_sig_kind kind,
                                    const crypto_trust *t) {
    crypto_verify_opts o = {.trust = t};
    return verify_opts(cms, len, kind, content, sizeof content, &o);
}

/* Checks indication and sub-indication, printing the cause when they are not as expected. */
static void expect_at(int line, const crypto_verify_result *r, crypto_indication ind,
                      crypto_subind sub) {
    CHECK(r != NULL);
    if (!r)
        return;
    if (r->indication != ind || r->sub != sub)
        fprintf(stderr, "line %d: got %s/%s, want %s/%s: %s\n", line,
                crypto_indication_name(r->indication), crypto_subind_name(r->sub),
                crypto_indication_name(ind), crypto_subind_name(sub),
                r->cause ? r->cause : "(no cause)");
    CHECK_INT(r->indication, ind);
    CHECK_INT(r->sub, sub);
    CHECK((r->cause == NULL) == (ind == CRYPTO_TOTAL_PASSED));
}
#define EXPECT(r, ind, sub) expect_at(__LINE__, (r), (ind), (sub))

/* Verifies over content with one byte changed: a failure, and no integrity. */
static void expect_changed(int line, const uint8_t *cms, size_t len, crypto_sig_kind kind,
                           const crypto_trust *t, size_t at, crypto_subind sub) {
    content[at] ^= 0x20;
    crypto_verify_result *r = verify(cms, len, kind, t);
    expect_at(line, r, CRYPTO_TOTAL_FAILED, sub);
    if (r)
        CHECK(!r->integrity);
    crypto_verify_result_free(r);
    content[at] ^= 0x20;
}

/* Verifies over content and checks the verdict only. */
static void expect_verify(int line, const uint8_t *cms, size_t len, crypto_sig_kind kind,
                          const crypto_trust *t, crypto_indication ind, crypto_subind sub) {
    crypto_verify_result *r = verify(cms, len, kind, t);
    expect_at(line, r, ind, sub);
    crypto_verify_result_free(r);
}

/* ------------------------------------------------------------------------------------------ */
/* CMS built here (RFC 5652 5), for what the tools cannot make */

typedef struct spec {
    EVP_PKEY *key;
    X509 *cert;
    X509 *extra_cert;       /* also in certificates (the issuing CA) */
    bool no_certs;          /* certificates left out */
    const char *digest_oid; /* digestAlgorithm */
    const EVP_MD *md;       /* the message digest (and the prehash of RSA/ECDSA) */
    const char *sig_oid;    /* signatureAlgorithm */
    bool sig_null;          /* with NULL parameters (RSA) */
    bool eddsa;             /* PureEdDSA: sign the message itself */
    bool attrs;             /* with signed attributes */
    bool no_content_type;
    bool ess;              /* signing-certificate-v2 */
    bool ess_wrong;        /* ... with the hash of another certificate */
    const buf *extra_attr; /* one more signed attribute, DER */
    const buf *crls;       /* the elements of SignedData's crls [1] */
    const uint8_t *data;
    size_t data_len;
} spec;

static int put_algo(buf *b, const char *oid, bool null) {
    size_t s = der_open(b);
    int rc = der_put_oid(b, oid);
    if (rc == BUF_OK && null)
        rc = der_put(b, DER_NULL, "", 0);
    return rc == BUF_OK ? der_close(b, s, DER_SEQUENCE) : rc;
}

static int put_attr(buf *b, const char *oid, const buf *value) {
    size_t s = der_open(b);
    int rc = der_put_oid(b, oid);
    size_t set = der_open(b);
    if (rc == BUF_OK)
        rc = der_put_raw(b, value->data, value->len);
    if (rc == BUF_OK)
        rc = der_close(b, set, DER_SET);
    return rc == BUF_OK ? der_close(b, s, DER_SEQUENCE) : rc;
}

static int put_i2d_cert(buf *b, X509 *c) {
    unsigned char *d = NULL;
    int n = i2d_X509(c, &d);
    int rc = n > 0 ? der_put_raw(b, d, (size_t)n) : BUF_ENOMEM;
    OPENSSL_free(d);
    return rc;
}

static uint8_t *build_cms(const spec *s, size_t *out_len) {
    buf attrs, out, v, tmpb;
    buf_init(&attrs, 1 << 20);
    buf_init(&out, 1 << 22);
    buf_init(&v, 1 << 16);
    buf_init(&tmpb, 1 << 16);
    uint8_t md[EVP_MAX_MD_SIZE], sig[1024];
    unsigned mdlen = 0;
    size_t siglen = sizeof sig;
    int rc = BUF_OK;
    /* the signed attributes, in DER order (X.690 11.6) */
    if (s->attrs) {
        const uint8_t *elems[4];
        size_t lens[4], n = 0;
        buf a[4];
        for (int i = 0; i < 4; i++)
            buf_init(&a[i], 1 << 16);
        if (EVP_MD_get_flags(s->md) & EVP_MD_FLAG_XOF) { /* SHAKE256: 512 bits, RFC 8419 */
            EVP_MD_CTX *x = EVP_MD_CTX_new();
            mdlen = 64;
            if (!x || !EVP_DigestInit_ex(x, s->md, NULL) ||
                !EVP_DigestUpdate(x, s->data, s->data_len) || !EVP_DigestFinalXOF(x, md, 64))
                mdlen = 0;
            EVP_MD_CTX_free(x);
        } else {
            EVP_Digest(s->data, s->data_len, md, &mdlen, s->md, NULL);
        }
        if (!s->no_content_type) {
            buf_reset(&v);
            der_put_oid(&v, "1.2.840.113549.1.7.1");
            put_attr(&a[n], "1.2.840.113549.1.9.3", &v);
            n++;
        }
        buf_reset(&v);
        der_put(&v, DER_OCTET_STRING, md, mdlen);
        put_attr(&a[n], "1.2.840.113549.1.9.4", &v);
        n++;
        if (s->ess) {
            uint8_t h[32];
            unsigned hl = 0;
            X509_digest(s->ess_wrong ? s->extra_cert : s->cert, EVP_sha256(), h, &hl);
            buf_reset(&v);
            size_t sc = der_open(&v), ids = der_open(&v), id = der_open(&v);
            der_put(&v, DER_OCTET_STRING, h, hl); /* hashAlgorithm: the default SHA-256 */
            der_close(&v, id, DER_SEQUENCE);
            der_close(&v, ids, DER_SEQUENCE);
            der_close(&v, sc, DER_SEQUENCE);
            put_attr(&a[n], "1.2.840.113549.1.9.16.2.47", &v);
            n++;
        }
        if (s->extra_attr) {
            buf_append(&a[n], s->extra_attr->data, s->extra_attr->len);
            n++;
        }
        for (size_t i = 0; i < n; i++) {
            elems[i] = a[i].data;
            lens[i] = a[i].len;
        }
        der_sort_set(elems, lens, n);
        size_t set = der_open(&attrs);
        for (size_t i = 0; i < n; i++)
            der_put_raw(&attrs, elems[i], lens[i]);
        der_close(&attrs, set, DER_SET);
        for (int i = 0; i < 4; i++)
            buf_free(&a[i]);
    }
    /* the signature: over the signed attributes' SET, else over the content (RFC 5652 5.4) */
    const uint8_t *tbs = s->attrs ? attrs.data : s->data;
    size_t tbs_len = s->attrs ? attrs.len : s->data_len;
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    if (!mc || EVP_DigestSignInit(mc, NULL, s->eddsa ? NULL : s->md, NULL, s->key) <= 0 ||
        EVP_DigestSign(mc, sig, &siglen, tbs, tbs_len) <= 0) {
        fprintf(stderr, "build_cms: signing failed\n");
        ERR_print_errors_fp(stderr);
        siglen = 0;
    }
    EVP_MD_CTX_free(mc);
    /* ContentInfo { signedData, [0] SignedData } */
    size_t ci = der_open(&out);
    rc = der_put_oid(&out, "1.2.840.113549.1.7.2");
    size_t ex = der_open(&out), sd = der_open(&out);
    der_put_uint(&out, 1);
    size_t algs = der_open(&out);
    put_algo(&out, s->digest_oid, false);
    der_close(&out, algs, DER_SET);
    size_t eci = der_open(&out);
    der_put_oid(&out, "1.2.840.113549.1.7.1");
    der_close(&out, eci, DER_SEQUENCE);
    if (!s->no_certs) {
        size_t certs = der_open(&out);
        put_i2d_cert(&out, s->cert);
        if (s->extra_cert)
            put_i2d_cert(&out, s->extra_cert);
        der_close(&out, certs, DER_CTX0);
    }
    if (s->crls) {
        size_t crls = der_open(&out);
        der_put_raw(&out, s->crls->data, s->crls->len);
        der_close(&out, crls, DER_CTX1);
    }
    size_t sis = der_open(&out), si = der_open(&out);
    der_put_uint(&out, 1);
    size_t isn = der_open(&out);
    unsigned char *d = NULL;
    int n = i2d_X509_NAME(X509_get_issuer_name(s->cert), &d);
    der_put_raw(&out, d, (size_t)n);
    OPENSSL_free(d);
    d = NULL;
    n = i2d_ASN1_INTEGER(X509_get0_serialNumber(s->cert), &d);
    der_put_raw(&out, d, (size_t)n);
    OPENSSL_free(d);
    der_close(&out, isn, DER_SEQUENCE);
    put_algo(&out, s->digest_oid, false);
    if (s->attrs) {
        size_t at = out.len;
        der_put_raw(&out, attrs.data, attrs.len);
        out.data[at] = DER_CTX0; /* SET -> [0] IMPLICIT */
    }
    put_algo(&out, s->sig_oid, s->sig_null);
    der_put(&out, DER_OCTET_STRING, sig, siglen);
    der_close(&out, si, DER_SEQUENCE);
    der_close(&out, sis, DER_SET);
    der_close(&out, sd, DER_SEQUENCE);
    der_close(&out, ex, DER_CTX0);
    rc = der_close(&out, ci, DER_SEQUENCE);
    CHECK_INT(rc, BUF_OK);
    buf_free(&attrs);
    buf_free(&v);
    buf_free(&tmpb);
    return buf_detach(&out, out_len);
}

/* build_cms over content unless the spec names other data. */
static uint8_t *build_with(spec *s, size_t *len) {
    s->data = s->data ? s->data : content;
    s->data_len = s->data_len ? s->data_len : sizeof content;
    return build_cms(s, len);
}

/* ------------------------------------------------------------------------------------------ */
/* signatures made by the openssl command line */

/* openssl cms -sign over content.bin with the PKI's NAME.pem/NAME.key; extra options after. */
static uint8_t *cms_sign(size_t *len, const char *out, const char *name, const char *extra) {
    char pem[64], key[64];
    snprintf(pem, sizeof pem, "%s.pem", name);
    snprintf(key, sizeof key, "%s.key", name);
    run("openssl cms -sign -binary -in content.bin -signer '%s' -inkey '%s' -outform DER -out %s "
        "%s",
        P(pem), P(key), out, extra);
    return made(out, len);
}

/* The same CMS with a CRL added to SignedData's crls (not signed, so the signature holds). */
static uint8_t *with_crl(const uint8_t *cms, size_t len, const char *crl_path, size_t *out_len) {
    const unsigned char *p = cms;
    CMS_ContentInfo *ci = d2i_CMS_ContentInfo(NULL, &p, (long)len);
    X509_CRL *crl = load_pem(crl_path, 'l');
    unsigned char *der = NULL;
    int n = ci && crl && CMS_add1_crl(ci, crl) ? i2d_CMS_ContentInfo(ci, &der) : -1;
    uint8_t *copy = n > 0 ? malloc((size_t)n) : NULL;
    if (copy)
        memcpy(copy, der, (size_t)n);
    *out_len = n > 0 ? (size_t)n : 0;
    OPENSSL_free(der);
    X509_CRL_free(crl);
    CMS_ContentInfo_free(ci);
    CHECK(copy != NULL);
    return copy;
}

/* An RFC 3161 token from `openssl ts -reply` by the PKI's TSA over the file data_name, with
 * the imprint digest given (sha256, sha512, sha1). */
static uint8_t *ts_token(size_t *len, const char *data_name, const char *dgst) {
    run("rm -f q.tsq tok.der && openssl ts -query -data %s -%s -cert -no_nonce -out q.tsq && "
        "openssl ts -reply -config tsa.cnf -queryfile q.tsq -inkey '%s' -signer '%s' -chain '%s' "
        "-token_out -out tok.der",
        data_name, dgst, P("tsa.key"), P("tsa.pem"), P("chain.pem"));
    return made("tok.der", len);
}

/* The CMS with a signature time-stamp (ETSI EN 319 122-1 5.3) over its signature value, or,
 * wrong, over content.bin. */
static uint8_t *with_timestamp(const uint8_t *cms, size_t len, bool wrong, size_t *out_len) {
    const unsigned char *p = cms;
    CMS_ContentInfo *ci = d2i_CMS_ContentInfo(NULL, &p, (long)len);
    CMS_SignerInfo *si = ci ? sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(ci), 0) : NULL;
    uint8_t *copy = NULL;
    unsigned char *der = NULL;
    size_t tl = 0;
    *out_len = 0;
    if (!si)
        goto out;
    ASN1_OCTET_STRING *sv = CMS_SignerInfo_get0_signature(si);
    write_file(T("sigval.bin"), ASN1_STRING_get0_data(sv), (size_t)ASN1_STRING_length(sv));
    uint8_t *tok = ts_token(&tl, wrong ? "content.bin" : "sigval.bin", "sha256");
    if (tok && CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE,
                                             tok, (int)tl)) {
        int n = i2d_CMS_ContentInfo(ci, &der);
        if (n > 0 && (copy = malloc((size_t)n)) != NULL) {
            memcpy(copy, der, (size_t)n);
            *out_len = (size_t)n;
        }
    }
    free(tok);
out:
    OPENSSL_free(der);
    CMS_ContentInfo_free(ci);
    CHECK(copy != NULL);
    return copy;
}

static void flip_last(uint8_t *d, size_t n) {
    d[n - 1] ^= 0x01;
}

static bool near_now(time_t t) {
    return t >= t_start - 5 && t <= time(NULL) + 5;
}

/* ------------------------------------------------------------------------------------------ */
/* the cases */

/* eseal's own signatures (crypto_cms_sign), made with the test PKI, verified against its
 * root: TOTAL_PASSED, as the brief requires. */
static uint8_t *eseal_sign(size_t *len, const char *name, const char *chain, crypto_padding pad) {
    char pem[64], keyf[64];
    crypto_key *key = NULL;
    STACK_OF(X509) *certs = NULL, *ch = NULL;
    crypto_signer *s = NULL;
    crypto_signer_opts so = {.padding = pad};
    uint8_t md[EVP_MAX_MD_SIZE];
    size_t mdlen = 0;
    buf out;
    buf_init(&out, 1 << 20);
    snprintf(pem, sizeof pem, "%s.pem", name);
    snprintf(keyf, sizeof keyf, "%s.key", name);
    struct iovec parts[2] = {{content, 1000}, {content + 1000, sizeof content - 1000}};
    bool ok = crypto_key_load(&key, NULL, NULL, P(keyf), NULL) == CRYPTO_OK &&
              crypto_certs_load(&certs, P(pem)) == CRYPTO_OK &&
              crypto_certs_load(&ch, P(chain)) == CRYPTO_OK &&
              crypto_signer_new(&s, key, sk_X509_value(certs, 0), ch, &so) == CRYPTO_OK &&
              crypto_signer_digest(md, &mdlen, s, parts, 2) == CRYPTO_OK &&
              crypto_cms_sign(&out, s, md, mdlen) == CRYPTO_OK;
    if (!ok)
        fprintf(stderr, "eseal signing with %s: %s\n", name, crypto_errdetail());
    CHECK(ok);
    crypto_signer_free(s);
    crypto_key_free(key);
    sk_X509_pop_free(certs, X509_free);
    sk_X509_pop_free(ch, X509_free);
    return buf_detach(&out, len);
}

static void test_eseal_signatures(void) {
    size_t len;
    uint8_t *cms = eseal_sign(&len, "rsa2048", "chain.pem", CRYPTO_PAD_AUTO);
    crypto_verify_result *r = verify(cms, len, CRYPTO_SIG_CADES, trust_root);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    if (r) {
        CHECK(r->integrity);
        CHECK_STR(r->signer, "eseal test signer rsa2048");
        CHECK(r->signer_subject && strstr(r->signer_subject, "CN=eseal test signer rsa2048"));
        CHECK(r->issuer && strstr(r->issuer, "CN=eseal Test Issuing CA"));
        CHECK(r->serial && strlen(r->serial) >= 16);
        CHECK(r->signer_cert != NULL);
        CHECK_STR(r->digest, "SHA-256");
        CHECK_STR(r->algorithm, "RSA");
        CHECK_INT(r->key_bits, 2048);
        CHECK(r->chain_trusted);
        CHECK_INT(r->chain_len, 3);
        /* the test PKI names no CRL or OCSP service: no downgrade */
        CHECK_INT(r->revocation, CRYPTO_REV_NO_POINTERS);
        CHECK_INT(r->time_source, CRYPTO_TIME_NONE);
        CHECK(near_now(r->signing_time));
        CHECK_INT(r->n_timestamps, 0);
    }
    crypto_verify_result_free(r);

    /* /M as the claimed time (not before the PKI was made) */
    crypto_verify_opts o = {.trust = trust_root, .claimed_time = time(NULL)};
    r = verify_opts(cms, len, CRYPTO_SIG_CADES, content, sizeof content, &o);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    if (r) {
        CHECK_INT(r->time_source, CRYPTO_TIME_CLAIMED);
        CHECK_INT(r->signing_time, o.claimed_time);
    }
    crypto_verify_result_free(r);

    /* one byte of the signed content changed */
    expect_changed(__LINE__, cms, len, CRYPTO_SIG_CADES, trust_root, 4321, CRYPTO_SUB_HASH_FAILURE);

    /* one byte of the signature value changed (it ends the DER) */
    flip_last(cms, len);
    r = verify(cms, len, CRYPTO_SIG_CADES, trust_root);
    EXPECT(r, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_SIG_CRYPTO_FAILURE);
    if (r) {
        CHECK(!r->integrity);
        CHECK_STR(r->signer, "eseal test signer rsa2048");
    }
    crypto_verify_result_free(r);
    free(cms);

    cms = eseal_sign(&len, "rsa2048", "chain.pem", CRYPTO_PAD_PSS);
    r = verify(cms, len, CRYPTO_SIG_CADES, trust_root);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    if (r)
        CHECK_STR(r->algorithm, "RSA-PSS");
    crypto_verify_result_free(r);
    free(cms);

    cms = eseal_sign(&len, "rsa2048-pss", "chain.pem", CRYPTO_PAD_AUTO);
    expect_verify(__LINE__, cms, len, CRYPTO_SIG_CADES, trust_root, CRYPTO_TOTAL_PASSED,
                  CRYPTO_SUB_NONE);
    free(cms);

    cms = eseal_sign(&len, "ec384", "ec-chain.pem", CRYPTO_PAD_AUTO);
    r = verify(cms, len, CRYPTO_SIG_CADES, trust_ec_root);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    if (r) {
        CHECK_STR(r->algorithm, "ECDSA");
        CHECK_STR(r->digest, "SHA-384");
        CHECK_INT(r->key_bits, 384);
    }
    crypto_verify_result_free(r);
    /* under another root: the math holds, the chain does not */
    r = verify(cms, len, CRYPTO_SIG_CADES, trust_root);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_NO_CERTIFICATE_CHAIN_FOUND);
    if (r) {
        CHECK(r->integrity);
        CHECK(!r->chain_trusted);
        CHECK_INT(r->revocation, CRYPTO_REV_NOT_CHECKED);
    }
    crypto_verify_result_free(r);
    free(cms);

    /* a Chinese UTF-8 subject comes out as UTF-8 */
    cms = eseal_sign(&len, "rsa2048-cn", "chain.pem", CRYPTO_PAD_AUTO);
    r = verify(cms, len, CRYPTO_SIG_CADES, trust_root);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    if (r) {
        CHECK_STR(r->signer, "示例科技有限公司");
        CHECK(r->signer_subject && strstr(r->signer_subject, "O=示例科技有限公司"));
    }
    crypto_verify_result_free(r);
    free(cms);
}

static void test_openssl_cms(void) {
    size_t len;
    crypto_verify_result *r;

    /* default signed attributes (content-type, message-digest, signing-time, capabilities) */
    uint8_t *cms = cms_sign(&len, "plain.der", "rsa2048", "-md sha256 -certfile chain.pem");
    r = verify(cms, len, CRYPTO_SIG_PKCS7, trust_root);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    if (r) {
        CHECK_INT(r->time_source, CRYPTO_TIME_CLAIMED); /* the signing-time attribute */
        CHECK(near_now(r->signing_time));
    }
    crypto_verify_result_free(r);
    expect_verify(__LINE__, cms, len, CRYPTO_SIG_CADES, trust_root, CRYPTO_TOTAL_PASSED,
                  CRYPTO_SUB_NONE);

    /* no trust anchors, an empty store, a store of another hierarchy: integrity still true */
    const crypto_trust *untrusting[3] = {NULL, trust_empty, trust_ec_root};
    for (int i = 0; i < 3; i++) {
        r = verify(cms, len, CRYPTO_SIG_PKCS7, untrusting[i]);
        EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_NO_CERTIFICATE_CHAIN_FOUND);
        if (r) {
            CHECK(r->integrity);
            CHECK_STR(r->signer, "eseal test signer rsa2048");
        }
        crypto_verify_result_free(r);
    }

    /* the issuing CA as the only anchor: a shorter path */
    crypto_trust *issuing = NULL;
    CHECK_INT(crypto_trust_new(&issuing), CRYPTO_OK);
    CHECK_INT(crypto_trust_add(issuing, P("issuing-ca.pem")), CRYPTO_OK);
    r = verify(cms, len, CRYPTO_SIG_PKCS7, issuing);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    if (r)
        CHECK_INT(r->chain_len, 2);
    crypto_verify_result_free(r);
    crypto_trust_free(issuing);

    expect_changed(__LINE__, cms, len, CRYPTO_SIG_PKCS7, trust_root, 0, CRYPTO_SUB_HASH_FAILURE);
    flip_last(cms, len);
    expect_verify(__LINE__, cms, len, CRYPTO_SIG_PKCS7, trust_root, CRYPTO_TOTAL_FAILED,
                  CRYPTO_SUB_SIG_CRYPTO_FAILURE);
    flip_last(cms, len);

    /* PDF pads /Contents with zeros after the CMS */
    uint8_t *padded = calloc(1, len + 4096);
    memcpy(padded, cms, len);
    expect_verify(__LINE__, padded, len + 4096, CRYPTO_SIG_PKCS7, trust_root, CRYPTO_TOTAL_PASSED,
                  CRYPTO_SUB_NONE);
    free(padded);
    free(cms);

    /* no signed attributes: the signature is over the content itself */
    cms = cms_sign(&len, "noattr.der", "rsa2048", "-md sha256 -noattr -certfile chain.pem");
    r = verify(cms, len, CRYPTO_SIG_PKCS7, trust_root);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    if (r)
        CHECK_INT(r->time_source, CRYPTO_TIME_NONE);
    crypto_verify_result_free(r);
    r = verify(cms, len, CRYPTO_SIG_CADES, trust_root); /* CAdES requires them */
    EXPECT(r, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE);
    crypto_verify_result_free(r);
    expect_changed(__LINE__, cms, len, CRYPTO_SIG_PKCS7, trust_root, 100,
                   CRYPTO_SUB_SIG_CRYPTO_FAILURE);
    /* without signed attributes there is no claimed time: the certificate at "now" */
    crypto_verify_opts later = {.trust = trust_root, .now = time(NULL) + 4 * 366 * 86400L};
    r = verify_opts(cms, len, CRYPTO_SIG_PKCS7, content, sizeof content, &later);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_OUT_OF_BOUNDS_NO_POE);
    if (r)
        CHECK(r->cause && strstr(r->cause, "expired on"));
    crypto_verify_result_free(r);
    free(cms);

    /* the signer named by subject key identifier */
    cms = cms_sign(&len, "keyid.der", "rsa2048", "-md sha256 -keyid -certfile chain.pem");
    expect_verify(__LINE__, cms, len, CRYPTO_SIG_PKCS7, trust_root, CRYPTO_TOTAL_PASSED,
                  CRYPTO_SUB_NONE);
    free(cms);

    /* CAdES-BES with signing-certificate-v2 */
    cms = cms_sign(&len, "cades.der", "rsa2048", "-md sha256 -cades -certfile chain.pem");
    expect_verify(__LINE__, cms, len, CRYPTO_SIG_CADES, trust_root, CRYPTO_TOTAL_PASSED,
                  CRYPTO_SUB_NONE);
    free(cms);

    /* content encapsulated in a signature that must be detached (pyHanko's rule) */
    cms = cms_sign(&len, "nodetach.der", "rsa2048", "-md sha256 -nodetach -certfile chain.pem");
    r = verify(cms, len, CRYPTO_SIG_PKCS7, trust_root);
    EXPECT(r, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE);
    if (r)
        CHECK(r->cause && strstr(r->cause, "encapsulated"));
    crypto_verify_result_free(r);
    free(cms);

    /* no certificates: the signer cannot be found, unless the document (DSS) has it */
    cms = cms_sign(&len, "nocerts.der", "rsa2048", "-md sha256 -nocerts");
    r = verify(cms, len, CRYPTO_SIG_PKCS7, trust_root);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_NO_SIGNING_CERTIFICATE_FOUND);
    if (r) {
        CHECK(!r->integrity);
        CHECK(r->signer == NULL);
    }
    crypto_verify_result_free(r);
    crypto_vdata *vd = NULL;
    CHECK_INT(crypto_vdata_new(&vd), CRYPTO_OK);
    const char *dss[2] = {"rsa2048.pem", "issuing-ca.pem"};
    for (int i = 0; i < 2; i++) {
        X509 *c = load_cert(P(dss[i]));
        unsigned char *der = NULL;
        int n = c ? i2d_X509(c, &der) : -1;
        CHECK_INT(crypto_vdata_add_cert(vd, der, n > 0 ? (size_t)n : 0), CRYPTO_OK);
        OPENSSL_free(der);
        X509_free(c);
    }
    crypto_verify_opts withdss = {.trust = trust_root, .vdata = vd};
    r = verify_opts(cms, len, CRYPTO_SIG_PKCS7, content, sizeof content, &withdss);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    crypto_verify_result_free(r);
    crypto_vdata_free(vd);
    free(cms);

    /* SHA-1: the math holds, the algorithm is no longer acceptable */
    cms = cms_sign(&len, "sha1.der", "rsa2048", "-md sha1 -certfile chain.pem");
    r = verify(cms, len, CRYPTO_SIG_PKCS7, trust_root);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE);
    if (r) {
        CHECK(r->integrity);
        CHECK_STR(r->digest, "SHA-1");
    }
    crypto_verify_result_free(r);
    free(cms);

    cms = cms_sign(&len, "sha512.der", "rsa4096", "-md sha512 -certfile chain.pem");
    r = verify(cms, len, CRYPTO_SIG_PKCS7, trust_root);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    if (r) {
        CHECK_STR(r->digest, "SHA-512");
        CHECK_INT(r->key_bits, 4096);
    }
    crypto_verify_result_free(r);
    free(cms);

    /* RSA-PSS parameters as openssl writes them (hash, MGF1, salt length) */
    cms = cms_sign(&len, "pss.der", "rsa3072",
                   "-md sha384 -keyopt rsa_padding_mode:pss -keyopt rsa_pss_saltlen:20 "
                   "-certfile chain.pem");
    r = verify(cms, len, CRYPTO_SIG_PKCS7, trust_root);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    if (r) {
        CHECK_STR(r->algorithm, "RSA-PSS");
        CHECK_STR(r->digest, "SHA-384");
    }
    crypto_verify_result_free(r);
    free(cms);

    cms = cms_sign(&len, "ec256.der", "ec256", "-md sha256 -certfile ec-chain.pem");
    expect_verify(__LINE__, cms, len, CRYPTO_SIG_PKCS7, trust_ec_root, CRYPTO_TOTAL_PASSED,
                  CRYPTO_SUB_NONE);
    free(cms);

    /* two signers: a PDF signature has exactly one */
    char two[2048];
    snprintf(two, sizeof two, "-md sha256 -certfile chain.pem -signer '%s' -inkey '%s'",
             P("rsa3072.pem"), P("rsa3072.key"));
    cms = cms_sign(&len, "two.der", "rsa2048", two);
    expect_verify(__LINE__, cms, len, CRYPTO_SIG_PKCS7, trust_root, CRYPTO_TOTAL_FAILED,
                  CRYPTO_SUB_FORMAT_FAILURE);
    free(cms);

    /* adbe.pkcs7.sha1: the SHA-1 digest of the ranges encapsulated */
    uint8_t sha1[20];
    SHA1(content, sizeof content, sha1);
    write_file(T("sha1.bin"), sha1, sizeof sha1);
    run("openssl cms -sign -binary -nodetach -md sha256 -in sha1.bin -signer '%s' -inkey '%s' "
        "-certfile '%s' -outform DER -out pkcs7sha1.der",
        P("rsa2048.pem"), P("rsa2048.key"), P("chain.pem"));
    cms = made("pkcs7sha1.der", &len);
    expect_verify(__LINE__, cms, len, CRYPTO_SIG_PKCS7_SHA1, trust_root, CRYPTO_TOTAL_PASSED,
                  CRYPTO_SUB_NONE);
    expect_changed(__LINE__, cms, len, CRYPTO_SIG_PKCS7_SHA1, trust_root, 5,
                   CRYPTO_SUB_HASH_FAILURE);
    free(cms);
    cms = cms_sign(&len, "detached.der", "rsa2048", "-md sha256 -certfile chain.pem");
    expect_verify(__LINE__, cms, len, CRYPTO_SIG_PKCS7_SHA1, trust_root, CRYPTO_TOTAL_FAILED,
                  CRYPTO_SUB_FORMAT_FAILURE);
    free(cms);
}

static void test_trust_store(void) {
    crypto_trust *t = NULL;
    CHECK_INT(crypto_trust_new(&t), CRYPTO_OK);
    CHECK_INT(crypto_trust_count(t), 0);
    CHECK_INT(crypto_trust_add(t, P("rsa2048.key")), CRYPTO_E_CERT); /* a key, no certificate */
    CHECK_INT(crypto_trust_add(t, T("no-such-file")), CRYPTO_E_IO);
    mkdir(T("empty-dir"), 0755);
    CHECK_INT(crypto_trust_add(t, T("empty-dir")), CRYPTO_E_CERT);
    CHECK_INT(crypto_trust_count(t), 0);
    /* one DER certificate */
    run("openssl x509 -in '%s' -outform DER -out root.der", P("root-ca.pem"));
    CHECK_INT(crypto_trust_add(t, T("root.der")), CRYPTO_OK);
    CHECK_INT(crypto_trust_count(t), 1);
    /* a PEM file of two, one already there */
    CHECK_INT(crypto_trust_add(t, P("chain.pem")), CRYPTO_OK);
    CHECK_INT(crypto_trust_count(t), 2);
    crypto_trust_free(t);

    /* the whole PKI directory: keys, PKCS#12 and CRL files are passed over, copies counted once */
    CHECK_INT(crypto_trust_new(&t), CRYPTO_OK);
    CHECK_INT(crypto_trust_add(t, pki), CRYPTO_OK);
    size_t n = crypto_trust_count(t);
    CHECK(n >= 14);
    CHECK_INT(crypto_trust_add(t, P("chain.pem")), CRYPTO_OK);
    CHECK_INT(crypto_trust_count(t), n);
    size_t len;
    uint8_t *cms = cms_sign(&len, "dirtrust.der", "rsa3072", "-md sha256 -certfile chain.pem");
    crypto_verify_result *r = verify(cms, len, CRYPTO_SIG_PKCS7, t);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    crypto_verify_result_free(r);
    free(cms);
    /* a signer whose certificate is only among the anchors (found by issuer and serial) */
    cms = cms_sign(&len, "anchoronly.der", "rsa3072", "-md sha256 -nocerts");
    expect_verify(__LINE__, cms, len, CRYPTO_SIG_PKCS7, t, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    free(cms);
    crypto_trust_free(t);
}

/* A signer certificate made now by the issuing CA from an extension section. */
static unsigned issued;

static void issue_leaf(const char *name, const char *subject, const char *extensions) {
    char cnf[1024];
    snprintf(cnf, sizeof cnf, "[ e ]\n%s\n", extensions);
    char f[64];
    snprintf(f, sizeof f, "%s.cnf", name);
    write_file(T(f), cnf, strlen(cnf));
    run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s.key && "
        "openssl req -new -key %s.key -subj '%s' -out %s.csr && "
        "openssl x509 -req -in %s.csr -CA '%s' -CAkey '%s' -set_serial 0x%llx -days 30 -sha256 "
        "-extfile %s.cnf -extensions e -out %s.pem",
        name, name, subject, name, name, P("issuing-ca.pem"), P("issuing-ca.key"),
        (unsigned long long)t_start * 256 + (unsigned long long)++issued, name, name);
}

static uint8_t *sign_with(size_t *len, const char *out, const char *name, const char *extra) {
    run("openssl cms -sign -binary -md sha256 -in content.bin -signer %s.pem -inkey %s.key "
        "-certfile '%s' -outform DER -out %s %s",
        name, name, P("chain.pem"), out, extra);
    return made(out, len);
}

static void test_certificates(void) {
    size_t len;
    crypto_verify_result *r;

    /* key usage without digitalSignature or nonRepudiation (RFC 5280 4.2.1.3) */
    issue_leaf("kuleaf", "/CN=key agreement only", "keyUsage = critical, keyAgreement");
    uint8_t *cms = sign_with(&len, "ku.der", "kuleaf", "");
    r = verify(cms, len, CRYPTO_SIG_PKCS7, trust_root);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_CHAIN_CONSTRAINTS_FAILURE);
    if (r)
        CHECK(r->integrity);
    crypto_verify_result_free(r);
    free(cms);

    /* no key usage at all, and an extended key usage that is not for signing: accepted */
    issue_leaf("nokuleaf", "/CN=no key usage", "extendedKeyUsage = emailProtection");
    cms = sign_with(&len, "noku.der", "nokuleaf", "");
    expect_verify(__LINE__, cms, len, CRYPTO_SIG_PKCS7, trust_root, CRYPTO_TOTAL_PASSED,
                  CRYPTO_SUB_NONE);
    free(cms);

    /* an expired signer (2020-2021), its signing-time claimed now */
    cms = cms_sign(&len, "expired.der", "expired", "-md sha256 -certfile chain.pem");
    r = verify(cms, len, CRYPTO_SIG_PKCS7, trust_root);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_OUT_OF_BOUNDS_NO_POE);
    if (r) {
        CHECK(r->integrity);
        CHECK(r->cause && strstr(r->cause, "expired on 2021-01-01"));
    }
    crypto_verify_result_free(r);
    /* claimed back in 2020, inside the signer's validity: a claim proves nothing, so the
     * certificate is still judged now (ETSI EN 319 102-1 5.2.6.4), and the claim reported */
    crypto_verify_opts o = {.trust = trust_root, .claimed_time = 1590969600}; /* 2020-06-01 */
    r = verify_opts(cms, len, CRYPTO_SIG_PKCS7, content, sizeof content, &o);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_OUT_OF_BOUNDS_NO_POE);
    if (r) {
        CHECK_INT(r->time_source, CRYPTO_TIME_CLAIMED);
        CHECK_INT(r->signing_time, 1590969600);
        CHECK(r->cause && strstr(r->cause, "expired on 2021-01-01") &&
              strstr(r->cause, "no time-stamp proves"));
    }
    crypto_verify_result_free(r);
    /* time-stamped after the expiry: proven made after it */
    size_t tl;
    uint8_t *ts = with_timestamp(cms, len, false, &tl);
    r = verify(ts, tl, CRYPTO_SIG_PKCS7, trust_root);
    EXPECT(r, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_EXPIRED);
    if (r)
        CHECK_INT(r->time_source, CRYPTO_TIME_TIMESTAMP);
    crypto_verify_result_free(r);
    free(ts);
    free(cms);

    /* an RSA-1024 signer, trusted as it is: too weak */
    run("openssl req -x509 -newkey rsa:1024 -nodes -keyout weak.key -subj /CN=weak -days 30 "
        "-addext keyUsage=critical,digitalSignature -out weak.pem");
    run("openssl cms -sign -binary -md sha256 -in content.bin -signer weak.pem -inkey weak.key "
        "-outform DER -out weak.der");
    crypto_trust *wt = NULL;
    CHECK_INT(crypto_trust_new(&wt), CRYPTO_OK);
    CHECK_INT(crypto_trust_add(wt, T("weak.pem")), CRYPTO_OK);
    cms = made("weak.der", &len);
    r = verify(cms, len, CRYPTO_SIG_PKCS7, wt);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE);
    if (r) {
        CHECK(r->integrity);
        CHECK_INT(r->key_bits, 1024);
    }
    crypto_verify_result_free(r);
    crypto_trust_free(wt);
    free(cms);
}

static void test_timestamps(void) {
    size_t len, tl;
    crypto_verify_result *r;
    uint8_t *cms = cms_sign(&len, "tsbase.der", "rsa2048", "-md sha256 -certfile chain.pem");

    /* a signature time-stamp over the signature value: the validation time it proves */
    uint8_t *ts = with_timestamp(cms, len, false, &tl);
    r = verify(ts, tl, CRYPTO_SIG_CADES, trust_root);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    if (r) {
        CHECK_INT(r->time_source, CRYPTO_TIME_TIMESTAMP);
        CHECK_INT(r->n_timestamps, 1);
        if (r->n_timestamps == 1) {
            const crypto_timestamp *t = &r->timestamps[0];
            CHECK_INT(t->indication, CRYPTO_TOTAL_PASSED);
            CHECK(t->integrity);
            CHECK(t->cause == NULL);
            CHECK_STR(t->tsa, "eseal Test TSA");
            CHECK(near_now(t->gen_time));
            CHECK_INT(r->signing_time, t->gen_time);
        }
    }
    crypto_verify_result_free(r);
    /* the TSA not trusted either */
    r = verify(ts, tl, CRYPTO_SIG_CADES, NULL);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_NO_CERTIFICATE_CHAIN_FOUND);
    if (r && r->n_timestamps == 1) {
        CHECK_INT(r->timestamps[0].sub, CRYPTO_SUB_NO_CERTIFICATE_CHAIN_FOUND);
        CHECK(r->timestamps[0].integrity);
        CHECK_INT(r->time_source, CRYPTO_TIME_CLAIMED); /* an untrusted token proves nothing */
    }
    crypto_verify_result_free(r);
    free(ts);

    /* a token over something else */
    ts = with_timestamp(cms, len, true, &tl);
    r = verify(ts, tl, CRYPTO_SIG_CADES, trust_root);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_SIG_CONSTRAINTS_FAILURE);
    if (r) {
        CHECK(r->integrity);
        CHECK_INT(r->time_source, CRYPTO_TIME_CLAIMED);
        if (r->n_timestamps == 1) {
            CHECK_INT(r->timestamps[0].indication, CRYPTO_TOTAL_FAILED);
            CHECK_INT(r->timestamps[0].sub, CRYPTO_SUB_HASH_FAILURE);
            CHECK(!r->timestamps[0].integrity);
        }
    }
    crypto_verify_result_free(r);
    free(ts);
    free(cms);

    /* document time-stamps (ETSI.RFC3161) over the ranges */
    uint8_t *tok = ts_token(&tl, "content.bin", "sha256");
    r = verify(tok, tl, CRYPTO_SIG_DOC_TIMESTAMP, trust_root);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    if (r) {
        CHECK(r->integrity);
        CHECK_STR(r->signer, "eseal Test TSA");
        CHECK_INT(r->n_timestamps, 1);
        if (r->n_timestamps == 1)
            CHECK(near_now(r->timestamps[0].gen_time));
    }
    crypto_verify_result_free(r);
    expect_changed(__LINE__, tok, tl, CRYPTO_SIG_DOC_TIMESTAMP, trust_root, 3000,
                   CRYPTO_SUB_HASH_FAILURE);
    expect_verify(__LINE__, tok, tl, CRYPTO_SIG_DOC_TIMESTAMP, trust_empty, CRYPTO_INDETERMINATE,
                  CRYPTO_SUB_NO_CERTIFICATE_CHAIN_FOUND);
    /* a token is not a detached signature of id-data */
    expect_verify(__LINE__, tok, tl, CRYPTO_SIG_CADES, trust_root, CRYPTO_TOTAL_FAILED,
                  CRYPTO_SUB_FORMAT_FAILURE);
    free(tok);
    tok = ts_token(&tl, "content.bin", "sha512");
    expect_verify(__LINE__, tok, tl, CRYPTO_SIG_DOC_TIMESTAMP, trust_root, CRYPTO_TOTAL_PASSED,
                  CRYPTO_SUB_NONE);
    free(tok);
    tok = ts_token(&tl, "content.bin", "sha1");
    expect_verify(__LINE__, tok, tl, CRYPTO_SIG_DOC_TIMESTAMP, trust_root, CRYPTO_INDETERMINATE,
                  CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE);
    free(tok);
    /* a signature is not a time-stamp token */
    cms = cms_sign(&len, "nottoken.der", "rsa2048", "-md sha256 -certfile chain.pem");
    expect_verify(__LINE__, cms, len, CRYPTO_SIG_DOC_TIMESTAMP, trust_root, CRYPTO_TOTAL_FAILED,
                  CRYPTO_SUB_FORMAT_FAILURE);
    free(cms);
}

/* ------------------------------------------------------------------------------------------ */
/* signers for CMS built here */

#define OID_SHA256 "2.16.840.1.101.3.4.2.1"
#define OID_SHA512 "2.16.840.1.101.3.4.2.3"
#define OID_SHAKE256 "2.16.840.1.101.3.4.2.12"
#define OID_RSA_SHA256 "1.2.840.113549.1.1.11"

/* A self-signed signer made now (EdDSA: openssl cms cannot sign with it), trusted as it is. */
typedef struct own_signer {
    crypto_trust *trust;
    X509 *cert, *issuer;
    EVP_PKEY *key;
} own_signer;

static spec self_signed(own_signer *o, const char *name, const char *alg, const char *sig_oid) {
    char pem[64], key[64];
    run("openssl genpkey -algorithm %s -out %s.key && openssl req -x509 -new -key %s.key "
        "-subj /CN=%s -days 30 -addext keyUsage=critical,digitalSignature -out %s.pem",
        alg, name, name, name, name);
    snprintf(pem, sizeof pem, "%s.pem", name);
    snprintf(key, sizeof key, "%s.key", name);
    CHECK_INT(crypto_trust_new(&o->trust), CRYPTO_OK);
    CHECK_INT(crypto_trust_add(o->trust, T(pem)), CRYPTO_OK);
    o->cert = load_cert(T(pem));
    o->issuer = NULL;
    o->key = load_key(T(key));
    spec s = {.key = o->key, .cert = o->cert, .sig_oid = sig_oid, .eddsa = true, .attrs = true};
    return s;
}

/* A signer of the test PKI, its issuer among the certificates; SHA-256 with sig_oid. */
static spec pki_signer(own_signer *o, const char *name, const char *issuer, const char *sig_oid) {
    char pem[64], key[64], ipem[64];
    snprintf(pem, sizeof pem, "%s.pem", name);
    snprintf(key, sizeof key, "%s.key", name);
    snprintf(ipem, sizeof ipem, "%s.pem", issuer);
    o->trust = NULL;
    o->cert = load_cert(P(pem));
    o->issuer = load_cert(P(ipem));
    o->key = load_key(P(key));
    spec s = {.key = o->key,
              .cert = o->cert,
              .extra_cert = o->issuer,
              .digest_oid = OID_SHA256,
              .md = EVP_sha256(),
              .sig_oid = sig_oid,
              .sig_null = EVP_PKEY_get_base_id(o->key) == EVP_PKEY_RSA,
              .attrs = true};
    return s;
}

static void own_signer_free(own_signer *o) {
    crypto_trust_free(o->trust);
    X509_free(o->cert);
    X509_free(o->issuer);
    EVP_PKEY_free(o->key);
}

/* ------------------------------------------------------------------------------------------ */
/* revocation */

static char *serial_of(X509 *c) {
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(c), NULL);
    char *h = BN_bn2hex(bn);
    BN_free(bn);
    return h;
}

/* An `openssl ocsp` index: the PKI's revoked signer revoked on 2025-01-01 (keyCompromise),
 * rsa2048 and the online test's leaves good or revoked. */
static void write_index(const char *name, const char *const *good, const char *const *revoked) {
    buf b;
    buf_init(&b, 1 << 16);
    for (int k = 0; k < 2; k++) {
        const char *const *list = k ? revoked : good;
        for (int i = 0; list && list[i]; i++) {
            X509 *c = load_cert(list[i]);
            char *s = c ? serial_of(c) : NULL;
            if (s)
                buf_printf(&b, "%s\t491231235959Z\t%s\t%s\tunknown\t/CN=x\n", k ? "R" : "V",
                           k ? "250101000000Z,keyCompromise" : "", s);
            OPENSSL_free(s);
            X509_free(c);
        }
    }
    write_file(T(name), b.data, b.len);
    buf_free(&b);
}

/* An OCSP response for cert by responder (certificate and key), made offline from the index
 * file given; nextUpdate days later, none when days is "". */
static uint8_t *ocsp_response_from(size_t *len, const char *index, const char *cert,
                                   const char *rsigner, const char *rkey, const char *days) {
    run("rm -f req.der resp.der && openssl ocsp -issuer '%s' -cert '%s' -no_nonce -reqout req.der "
        "&& openssl ocsp -index %s -rsigner '%s' -rkey '%s' -CA '%s' -reqin req.der "
        "-respout resp.der %s%s",
        P("issuing-ca.pem"), cert, index, rsigner, rkey, P("issuing-ca.pem"),
        *days ? "-ndays " : "", days);
    return made("resp.der", len);
}

static uint8_t *ocsp_response(size_t *len, const char *cert, const char *rsigner,
                              const char *rkey) {
    return ocsp_response_from(len, "index.txt", cert, rsigner, rkey, "1");
}

static crypto_verify_result *verify_with_vdata(const uint8_t *cms, size_t len, const uint8_t *crl,
                                               size_t crl_len, const uint8_t *ocsp,
                                               size_t ocsp_len) {
    crypto_vdata *vd = NULL;
    CHECK_INT(crypto_vdata_new(&vd), CRYPTO_OK);
    if (crl)
        CHECK_INT(crypto_vdata_add_crl(vd, crl, crl_len), CRYPTO_OK);
    if (ocsp)
        CHECK_INT(crypto_vdata_add_ocsp(vd, ocsp, ocsp_len), CRYPTO_OK);
    crypto_verify_opts o = {.trust = trust_root, .vdata = vd};
    crypto_verify_result *r = verify_opts(cms, len, CRYPTO_SIG_CADES, content, sizeof content, &o);
    crypto_vdata_free(vd);
    return r;
}

static uint8_t *crl_der(size_t *len) {
    run("openssl crl -in '%s' -outform DER -out crl.der", P("issuing-ca.crl"));
    return made("crl.der", len);
}

/* Adobe's revocationInfoArchival attribute {1 2 840 113583 1 1 8}: SEQUENCE { [0] { SEQUENCE OF
 * CRL } or [1] { SEQUENCE OF OCSPResponse } }. */
static void adobe_attr(buf *attr, const uint8_t *item, size_t n, bool ocsp) {
    buf v;
    buf_init(&v, 1 << 20);
    size_t seq = der_open(&v), tag = der_open(&v), list = der_open(&v);
    der_put_raw(&v, item, n);
    der_close(&v, list, DER_SEQUENCE);
    der_close(&v, tag, ocsp ? DER_CTX1 : DER_CTX0);
    der_close(&v, seq, DER_SEQUENCE);
    CHECK_INT(put_attr(attr, "1.2.840.113583.1.1.8", &v), BUF_OK);
    buf_free(&v);
}

static void test_revocation(void) {
    size_t len, cl, ol, l2;
    crypto_verify_result *r;
    uint8_t *revoked = cms_sign(&len, "revoked.der", "revoked", "-md sha256 -certfile chain.pem");
    uint8_t *good = cms_sign(&l2, "good.der", "rsa2048", "-md sha256 -certfile chain.pem");
    uint8_t *crl = crl_der(&cl);

    /* no data, but pointers to a CRL and an OCSP responder: ask later (or online) */
    r = verify(revoked, len, CRYPTO_SIG_CADES, trust_root);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_TRY_LATER);
    if (r) {
        CHECK_INT(r->revocation, CRYPTO_REV_UNKNOWN);
        CHECK(r->integrity && r->chain_trusted);
        CHECK(r->cause && strstr(r->cause, "--online"));
    }
    crypto_verify_result_free(r);

    /* the issuing CA's CRL in the CMS */
    size_t wl;
    uint8_t *w = with_crl(revoked, len, P("issuing-ca.crl"), &wl);
    r = verify(w, wl, CRYPTO_SIG_CADES, trust_root);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_REVOKED_NO_POE);
    if (r) {
        CHECK_INT(r->revocation, CRYPTO_REV_REVOKED);
        CHECK_STR(r->revocation_source, "CMS");
        CHECK(r->cause && strstr(r->cause, "keyCompromise"));
    }
    crypto_verify_result_free(r);
    /* ... and time-stamped after the revocation: proven made after it */
    size_t tl;
    uint8_t *ts = with_timestamp(w, wl, false, &tl);
    expect_verify(__LINE__, ts, tl, CRYPTO_SIG_CADES, trust_root, CRYPTO_TOTAL_FAILED,
                  CRYPTO_SUB_REVOKED);
    free(ts);
    free(w);

    /* the CRL from the document (DSS) */
    r = verify_with_vdata(revoked, len, crl, cl, NULL, 0);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_REVOKED_NO_POE);
    if (r)
        CHECK_STR(r->revocation_source, "DSS");
    crypto_verify_result_free(r);
    r = verify_with_vdata(good, l2, crl, cl, NULL, 0);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    if (r) {
        CHECK_INT(r->revocation, CRYPTO_REV_GOOD);
        CHECK_STR(r->revocation_source, "DSS");
    }
    crypto_verify_result_free(r);
    /* a CRL whose signature was tampered with is not believed */
    crl[cl - 1] ^= 1;
    r = verify_with_vdata(revoked, len, crl, cl, NULL, 0);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_TRY_LATER);
    crypto_verify_result_free(r);
    crl[cl - 1] ^= 1;

    /* OCSP responses from the document, signed by the CA itself */
    const char *goods[] = {P("rsa2048.pem"), NULL};
    const char *revs[] = {P("revoked.pem"), NULL};
    write_index("index.txt", goods, revs);
    uint8_t *ocsp_rev =
        ocsp_response(&ol, P("revoked.pem"), P("issuing-ca.pem"), P("issuing-ca.key"));
    r = verify_with_vdata(revoked, len, NULL, 0, ocsp_rev, ol);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_REVOKED_NO_POE);
    if (r)
        CHECK(r->cause && strstr(r->cause, "2025-01-01"));
    crypto_verify_result_free(r);
    size_t gl;
    uint8_t *ocsp_good =
        ocsp_response(&gl, P("rsa2048.pem"), P("issuing-ca.pem"), P("issuing-ca.key"));
    r = verify_with_vdata(good, l2, NULL, 0, ocsp_good, gl);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    if (r)
        CHECK_INT(r->revocation, CRYPTO_REV_GOOD);
    crypto_verify_result_free(r);
    /* ... by a responder the CA delegated (id-kp-OCSPSigning) */
    issue_leaf("responder", "/CN=eseal test OCSP responder",
               "keyUsage = critical, digitalSignature\nextendedKeyUsage = OCSPSigning");
    size_t dl;
    uint8_t *ocsp_del =
        ocsp_response(&dl, P("revoked.pem"), T("responder.pem"), T("responder.key"));
    r = verify_with_vdata(revoked, len, NULL, 0, ocsp_del, dl);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_REVOKED_NO_POE);
    crypto_verify_result_free(r);
    free(ocsp_del);
    /* ... by someone the CA did not authorize (no extended key usage; another one): not
     * believed */
    issue_leaf("notresponder", "/CN=eseal test not a responder",
               "keyUsage = critical, digitalSignature\nextendedKeyUsage = emailProtection");
    const char *unauthorized[2][2] = {{P("rsa3072.pem"), P("rsa3072.key")},
                                      {T("notresponder.pem"), T("notresponder.key")}};
    for (int i = 0; i < 2; i++) {
        uint8_t *ocsp_bad =
            ocsp_response(&dl, P("revoked.pem"), unauthorized[i][0], unauthorized[i][1]);
        r = verify_with_vdata(revoked, len, NULL, 0, ocsp_bad, dl);
        EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_TRY_LATER);
        crypto_verify_result_free(r);
        free(ocsp_bad);
    }

    /* Adobe's revocationInfoArchival signed attribute (CRL, OCSP), built here */
    own_signer ors, ogs, ors2;
    spec s = pki_signer(&ors, "revoked", "issuing-ca", OID_RSA_SHA256);
    spec sg = pki_signer(&ogs, "rsa2048", "issuing-ca", OID_RSA_SHA256);
    buf attr;
    buf_init(&attr, 1 << 20);
    adobe_attr(&attr, crl, cl, false);
    s.extra_attr = &attr;
    size_t bl;
    uint8_t *b = build_with(&s, &bl);
    r = verify(b, bl, CRYPTO_SIG_CADES, trust_root);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_REVOKED_NO_POE);
    if (r)
        CHECK_STR(r->revocation_source, "Adobe");
    crypto_verify_result_free(r);
    free(b);
    buf_reset(&attr);
    adobe_attr(&attr, ocsp_good, gl, true);
    sg.extra_attr = &attr;
    b = build_with(&sg, &bl);
    r = verify(b, bl, CRYPTO_SIG_CADES, trust_root);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    if (r) {
        CHECK_INT(r->revocation, CRYPTO_REV_GOOD);
        CHECK_STR(r->revocation_source, "Adobe");
    }
    crypto_verify_result_free(r);
    free(b);

    /* an OCSP response as other revocation information in the CMS (RFC 5940 4.1) */
    buf other;
    buf_init(&other, 1 << 20);
    size_t o = der_open(&other);
    der_put_oid(&other, "1.3.6.1.5.5.7.16.2");
    der_put_raw(&other, ocsp_rev, ol);
    der_close(&other, o, DER_CTX1);
    spec s2 = pki_signer(&ors2, "revoked", "issuing-ca", OID_RSA_SHA256);
    s2.crls = &other;
    b = build_with(&s2, &bl);
    r = verify(b, bl, CRYPTO_SIG_CADES, trust_root);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_REVOKED_NO_POE);
    if (r)
        CHECK_STR(r->revocation_source, "CMS");
    crypto_verify_result_free(r);
    free(b);

    buf_free(&other);
    buf_free(&attr);
    own_signer_free(&ors);
    own_signer_free(&ors2);
    own_signer_free(&ogs);
    free(ocsp_rev);
    free(ocsp_good);
    free(crl);
    free(revoked);
    free(good);
}

/* A local port nothing listens on now. */
static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &al) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* The responder has said it listens (a bare connection to probe it would hold up its one
 * thread). */
static bool responder_ready(void) {
    size_t n = 0;
    uint8_t *log = NULL;
    static const char want[] = "waiting for OCSP client";
    bool ready = false;
    if (file_read_all(&log, &n, T("responder.log"), 1 << 16) == 0)
        for (size_t i = 0; i + sizeof want - 1 <= n && !ready; i++)
            ready = memcmp(log + i, want, sizeof want - 1) == 0;
    free(log);
    return ready;
}

/* `openssl ocsp -port` as a child: the issuing CA answering from index-online.txt. */
static pid_t start_responder(int port) {
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(T("responder.log"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execlp("openssl", "openssl", "ocsp", "-index", T("index-online.txt"), "-port", portbuf,
               "-rsigner", P("issuing-ca.pem"), "-rkey", P("issuing-ca.key"), "-CA",
               P("issuing-ca.pem"), "-ndays", "1", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; pid > 0 && i < 200 && !responder_ready(); i++)
        nanosleep(&(struct timespec){0, 25 * 1000 * 1000}, NULL);
    return pid;
}

static void test_online(void) {
    int port = free_port();
    CHECK(port > 0);
    char ext[256];
    snprintf(ext, sizeof ext,
             "keyUsage = critical, digitalSignature\n"
             "authorityInfoAccess = OCSP;URI:http://127.0.0.1:%d/",
             port);
    issue_leaf("online-good", "/CN=eseal online good", ext);
    issue_leaf("online-revoked", "/CN=eseal online revoked", ext);
    const char *goods[] = {T("online-good.pem"), NULL};
    const char *revs[] = {T("online-revoked.pem"), NULL};
    write_index("index-online.txt", goods, revs);
    size_t gl, rl;
    uint8_t *good = sign_with(&gl, "online-good.der", "online-good", "");
    uint8_t *revoked = sign_with(&rl, "online-revoked.der", "online-revoked", "");

    /* offline: the certificate says where to ask */
    crypto_verify_result *r = verify(good, gl, CRYPTO_SIG_CADES, trust_root);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_TRY_LATER);
    crypto_verify_result_free(r);

    /* freshness (ETSI EN 319 102-1 5.2.5): a "good" issued before the validation time tells of
     * it until its nextUpdate (7 days: yes, 1 day: no); without nextUpdate, for a day */
    const char *days[3] = {"7", "1", ""};
    for (int i = 0; i < 3; i++) {
        size_t ol;
        uint8_t *ocsp = ocsp_response_from(&ol, "index-online.txt", T("online-good.pem"),
                                           P("issuing-ca.pem"), P("issuing-ca.key"), days[i]);
        crypto_vdata *vd = NULL;
        CHECK_INT(crypto_vdata_new(&vd), CRYPTO_OK);
        CHECK_INT(crypto_vdata_add_ocsp(vd, ocsp, ol), CRYPTO_OK);
        time_t later = time(NULL) + 2 * 86400;
        crypto_verify_opts o = {
            .trust = trust_root, .vdata = vd, .claimed_time = later, .now = later + 3600};
        crypto_verify_result *rf =
            verify_opts(good, gl, CRYPTO_SIG_CADES, content, sizeof content, &o);
        if (i == 0)
            EXPECT(rf, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
        else
            EXPECT(rf, CRYPTO_INDETERMINATE, CRYPTO_SUB_TRY_LATER);
        crypto_verify_result_free(rf);
        crypto_vdata_free(vd);
        free(ocsp);
    }

    pid_t pid = start_responder(port);
    CHECK(pid > 0 && responder_ready());
    crypto_verify_opts o = {.trust = trust_root, .online = true, .timeout_ms = 5000};
    r = verify_opts(good, gl, CRYPTO_SIG_CADES, content, sizeof content, &o);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    if (r) {
        CHECK_INT(r->revocation, CRYPTO_REV_GOOD);
        CHECK_STR(r->revocation_source, "OCSP");
    }
    crypto_verify_result_free(r);
    r = verify_opts(revoked, rl, CRYPTO_SIG_CADES, content, sizeof content, &o);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_REVOKED_NO_POE);
    if (r)
        CHECK_STR(r->revocation_source, "OCSP");
    crypto_verify_result_free(r);
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }

    /* the responder gone: nothing to be learnt, ask later */
    o.timeout_ms = 2000;
    r = verify_opts(good, gl, CRYPTO_SIG_CADES, content, sizeof content, &o);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_TRY_LATER);
    if (r)
        CHECK(r->cause && strstr(r->cause, "could not be asked"));
    crypto_verify_result_free(r);
    free(good);
    free(revoked);
}

/* ------------------------------------------------------------------------------------------ */
/* algorithms and attributes, with CMS built here */

static void check_built(const spec *s, const crypto_trust *t, crypto_indication ind,
                        crypto_subind sub, bool integrity, const char *in_cause) {
    size_t len;
    spec copy = *s;
    uint8_t *cms = build_with(&copy, &len);
    crypto_verify_result *r = verify(cms, len, s->attrs ? CRYPTO_SIG_CADES : CRYPTO_SIG_PKCS7, t);
    EXPECT(r, ind, sub);
    if (r) {
        CHECK_INT(r->integrity, integrity);
        if (in_cause && !(r->cause && strstr(r->cause, in_cause)))
            fprintf(stderr, "cause '%s' does not say '%s'\n", r->cause ? r->cause : "", in_cause);
        CHECK(!in_cause || (r->cause && strstr(r->cause, in_cause)));
    }
    crypto_verify_result_free(r);
    free(cms);
}

static void test_algorithms(void) {
    /* EdDSA (RFC 8419): PureEdDSA over the signed attributes or the content */
    own_signer o25519, o448;
    spec ed = self_signed(&o25519, "ed25519", "ED25519", "1.3.101.112");
    crypto_trust *ted = o25519.trust;
    ed.digest_oid = OID_SHA512;
    ed.md = EVP_sha512();
    check_built(&ed, ted, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE, true, NULL);
    size_t len;
    uint8_t *cms = build_with(&ed, &len);
    crypto_verify_result *r = verify(cms, len, CRYPTO_SIG_CADES, ted);
    if (r) {
        CHECK_STR(r->algorithm, "Ed25519");
        CHECK_STR(r->digest, "SHA-512");
    }
    crypto_verify_result_free(r);
    free(cms);
    ed.attrs = false;
    check_built(&ed, ted, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE, true, NULL);
    cms = build_with(&ed, &len);
    expect_changed(__LINE__, cms, len, CRYPTO_SIG_PKCS7, ted, 77, CRYPTO_SUB_SIG_CRYPTO_FAILURE);
    free(cms);
    ed.attrs = true;
    ed.digest_oid = OID_SHA256; /* Ed25519 goes with SHA-512 only */
    ed.md = EVP_sha256();
    check_built(&ed, ted, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE, true,
                "RFC 8419");

    spec e4 = self_signed(&o448, "ed448", "ED448", "1.3.101.113");
    e4.digest_oid = OID_SHAKE256;
    e4.md = EVP_shake256();
    check_built(&e4, o448.trust, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE, true, NULL);
    e4.digest_oid = OID_SHA512; /* as the corpus's I17 */
    e4.md = EVP_sha512();
    check_built(&e4, o448.trust, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE, true,
                "Ed448");

    /* RSA: algorithm identifiers */
    own_signer orsa, oec;
    spec rsa = pki_signer(&orsa, "rsa2048", "issuing-ca", OID_RSA_SHA256);
    check_built(&rsa, trust_root, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE, true, NULL);
    spec v = rsa;
    v.sig_oid = "1.2.840.113549.1.1.1"; /* rsaEncryption, as many signers write it */
    check_built(&v, trust_root, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE, true, NULL);
    v.sig_oid = "1.2.3.4"; /* unknown: fail closed, name it */
    check_built(&v, trust_root, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE, false,
                "1.2.3.4");
    v = rsa;
    v.digest_oid = "1.2.3.5";
    check_built(&v, trust_root, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE, false,
                "1.2.3.5");
    v = rsa;
    v.sig_oid = "1.2.840.113549.1.1.5"; /* sha1WithRSAEncryption with a SHA-256 digest */
    check_built(&v, trust_root, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE, false,
                "does not go with");
    v = rsa;
    v.digest_oid = "1.2.840.113549.2.5"; /* MD5: the math holds, the algorithm does not */
    v.md = EVP_md5();
    v.sig_oid = "1.2.840.113549.1.1.4";
    check_built(&v, trust_root, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE, true,
                "MD5");
    v = rsa;
    v.sig_oid = "1.2.840.10045.4.3.2"; /* ECDSA claimed for an RSA key */
    check_built(&v, trust_root, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_SIG_CRYPTO_FAILURE, false, NULL);
    v = rsa;
    v.no_content_type = true;
    check_built(&v, trust_root, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE, false,
                "content-type");
    /* the signing-certificate-v2 attribute: the right certificate, then another one */
    v = rsa;
    v.ess = true;
    check_built(&v, trust_root, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE, true, NULL);
    v.ess_wrong = true;
    check_built(&v, trust_root, CRYPTO_INDETERMINATE, CRYPTO_SUB_SIG_CONSTRAINTS_FAILURE, true,
                "signing-certificate");

    /* ECDSA with id-ecPublicKey as the signature algorithm */
    spec ecs = pki_signer(&oec, "ec256", "ec-issuing-ca", "1.2.840.10045.2.1");
    check_built(&ecs, trust_ec_root, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE, true, NULL);

    own_signer_free(&oec);
    own_signer_free(&orsa);
    own_signer_free(&o448);
    own_signer_free(&o25519);
}

static void test_malformed(void) {
    crypto_verify_result *r = NULL;
    struct iovec part = {content, sizeof content};
    uint8_t junk[300];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    CHECK_INT(crypto_verify_signature(NULL, junk, sizeof junk, CRYPTO_SIG_CADES, &part, 1, NULL),
              CRYPTO_E_ARG);
    CHECK_INT(crypto_verify_signature(&r, junk, sizeof junk, CRYPTO_SIG_CADES, &part, -1, NULL),
              CRYPTO_E_ARG);
    CHECK_INT(crypto_verify_signature(&r, junk, sizeof junk, (crypto_sig_kind)9, &part, 1, NULL),
              CRYPTO_E_ARG);
    CHECK_INT(crypto_verify_signature(&r, NULL, 5, CRYPTO_SIG_CADES, &part, 1, NULL), CRYPTO_E_ARG);
    CHECK(r == NULL);

    r = verify(junk, sizeof junk, CRYPTO_SIG_CADES, trust_root);
    EXPECT(r, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE);
    if (r)
        CHECK(!r->integrity && !r->signer);
    crypto_verify_result_free(r);
    expect_verify(__LINE__, NULL, 0, CRYPTO_SIG_CADES, trust_root, CRYPTO_TOTAL_FAILED,
                  CRYPTO_SUB_FORMAT_FAILURE);
    uint8_t zeros[1000] = {0}; /* an unfilled /Contents */
    expect_verify(__LINE__, zeros, sizeof zeros, CRYPTO_SIG_PKCS7, trust_root, CRYPTO_TOTAL_FAILED,
                  CRYPTO_SUB_FORMAT_FAILURE);

    size_t len;
    uint8_t *cms = cms_sign(&len, "m.der", "rsa2048", "-md sha256 -certfile chain.pem");
    for (size_t cut = 1; cut < len; cut += len / 17) { /* every truncation is malformed */
        r = verify(cms, cut, CRYPTO_SIG_CADES, trust_root);
        EXPECT(r, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE);
        crypto_verify_result_free(r);
    }
    uint8_t *big = calloc(1, 4 * 1024 * 1024 + 1);
    if (big) {
        memcpy(big, cms, len);
        r = verify(big, 4 * 1024 * 1024 + 1, CRYPTO_SIG_CADES, trust_root);
        EXPECT(r, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE);
        if (r)
            CHECK(r->cause && strstr(r->cause, "4 MiB"));
        crypto_verify_result_free(r);
        free(big);
    }
    free(cms);
    /* a CMS that is not SignedData */
    run("openssl cms -data_create -binary -in content.bin -outform DER -out data.der");
    cms = made("data.der", &len);
    expect_verify(__LINE__, cms, len, CRYPTO_SIG_CADES, trust_root, CRYPTO_TOTAL_FAILED,
                  CRYPTO_SUB_FORMAT_FAILURE);
    free(cms);

    CHECK_STR(crypto_indication_name(CRYPTO_TOTAL_PASSED), "TOTAL_PASSED");
    CHECK_STR(crypto_indication_name(CRYPTO_INDETERMINATE), "INDETERMINATE");
    CHECK_STR(crypto_indication_name(CRYPTO_TOTAL_FAILED), "TOTAL_FAILED");
    CHECK_STR(crypto_subind_name(CRYPTO_SUB_NONE), "");
    CHECK_STR(crypto_subind_name(CRYPTO_SUB_HASH_FAILURE), "HASH_FAILURE");
    CHECK_STR(crypto_subind_name(CRYPTO_SUB_NO_CERTIFICATE_CHAIN_FOUND),
              "NO_CERTIFICATE_CHAIN_FOUND");
    CHECK_STR(crypto_subind_name(CRYPTO_SUB_TIMESTAMP_ORDER_FAILURE), "TIMESTAMP_ORDER_FAILURE");
}

static void test_vdata_limits(void) {
    crypto_vdata *vd = NULL;
    uint8_t junk[64] = {0x30, 0x03, 0x02, 0x01, 0x05};
    CHECK_INT(crypto_vdata_new(&vd), CRYPTO_OK);
    /* unparsable items are counted and passed over */
    CHECK_INT(crypto_vdata_add_cert(vd, junk, sizeof junk), CRYPTO_OK);
    CHECK_INT(crypto_vdata_add_crl(vd, junk, sizeof junk), CRYPTO_OK);
    CHECK_INT(crypto_vdata_add_ocsp(vd, junk, sizeof junk), CRYPTO_OK);
    CHECK_INT(crypto_vdata_add_cert(vd, junk, 17 * 1024 * 1024), CRYPTO_E_LIMIT);
    X509 *c = load_cert(P("rsa2048.pem"));
    unsigned char *der = NULL;
    int n = c ? i2d_X509(c, &der) : 0;
    crypto_err err = CRYPTO_OK;
    int i;
    for (i = 0; i < 1001 && err == CRYPTO_OK; i++)
        err = crypto_vdata_add_cert(vd, der, (size_t)n);
    CHECK_INT(err, CRYPTO_E_LIMIT);
    CHECK_INT(i, 1001);
    OPENSSL_free(der);
    X509_free(c);
    crypto_vdata_free(vd);
}

int main(void) {
    const char *bd = getenv("ESEAL_BUILD_DIR");
    if (!bd) {
        fprintf(stderr, "ESEAL_BUILD_DIR is not set (run through ctest)\n");
        return 1;
    }
    snprintf(pki, sizeof pki, "%s/testdata/pki", bd);
    char base[512];
    if (snprintf(base, sizeof base, "%s/testdata/tmp", bd) >= (int)sizeof base)
        return 1;
    mkdir(base, 0755);
    if (snprintf(tmp, sizeof tmp, "%s/verify.XXXXXX", base) >= (int)sizeof tmp || !mkdtemp(tmp)) {
        fprintf(stderr, "mkdtemp %s: %s\n", tmp, strerror(errno));
        return 1;
    }
    /* the online test talks to 127.0.0.1 only, never through a proxy */
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    t_start = time(NULL);
    for (size_t i = 0; i < sizeof content; i++)
        content[i] = (uint8_t)((i * 2654435761u) >> 13);
    write_file(T("content.bin"), content, sizeof content);
    run("ln -s '%s'/*.pem '%s'/*.key '%s'/*.crl .", pki, pki, pki); /* for openssl's options */
    char cnf[2048];
    snprintf(cnf, sizeof cnf,
             "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\nserial = %s/tsaserial\n"
             "crypto_device = builtin\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\n"
             "digests = sha1, sha256, sha384, sha512\naccuracy = secs:1\nordering = yes\n"
             "tsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n",
             tmp);
    write_file(T("tsa.cnf"), cnf, strlen(cnf));
    CHECK_INT(crypto_trust_new(&trust_root), CRYPTO_OK);
    CHECK_INT(crypto_trust_add(trust_root, P("root-ca.pem")), CRYPTO_OK);
    CHECK_INT(crypto_trust_new(&trust_ec_root), CRYPTO_OK);
    CHECK_INT(crypto_trust_add(trust_ec_root, P("ec-root-ca.pem")), CRYPTO_OK);
    CHECK_INT(crypto_trust_new(&trust_empty), CRYPTO_OK);

    test_eseal_signatures();
    test_openssl_cms();
    test_trust_store();
    test_certificates();
    test_timestamps();
    test_revocation();
    test_online();
    test_algorithms();
    test_malformed();
    test_vdata_limits();

    crypto_trust_free(trust_root);
    crypto_trust_free(trust_ec_root);
    crypto_trust_free(trust_empty);
    if (check_failures == 0)
        run("cd / && rm -rf '%s'", tmp);
    return check_report("test_crypto_verify");
}
