/* SM2/SM3 PDF signatures in the crypto library, end to end: an SM2 CA (crypto/ca.c) certifies an
 * SM2 signer, the CAdES signer (crypto/signer.c) makes SM2-with-SM3 CMS with the ID
 * 1234567812345678, and the verifier (crypto/verify.h) judges it, chain, CRLs and OCSP responses
 * of the SM2 CA included. The signature is also checked by OpenSSL itself (EVP_DigestVerify
 * given the ID, over the signed attributes taken out of the DER here), and OpenSSL's own
 * defaults (an empty ID) are shown to fail where the standard's ID is needed. Refusals: another
 * digest, PSS, requests and CRLs signed with an empty ID. Keys: encrypted PKCS#8, PKCS#12, and
 * the key process (SM3 in its digest table). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "base/buf.h"
#include "base/fileio.h"
#include "crypto/ca.h"
#include "crypto/crypto.h"
#include "crypto/der.h"
#include "crypto/internal.h"
#include "crypto/keyproc.h"
#include "crypto/p11.h"
#include "crypto/verify.h"

#include "check.h"

static char tmp[256];
static uint8_t content[5000];

static const char *T(const char *name) { /* a file of this test's scratch directory */
    static char b[4][400];
    static int i;
    i = (i + 1) % 4;
    snprintf(b[i], sizeof b[i], "%s/%s", tmp, name);
    return b[i];
}

/* ------------------------------------------------------------------------------------------ */
/* DER, read here without the library's reader */

static bool tlv(const uint8_t *p, size_t n, size_t *hdr, size_t *len) {
    if (n < 2)
        return false;
    size_t h = 2, l = p[1];
    if (l & 0x80) {
        size_t k = l & 0x7F;
        if (k == 0 || k > 3 || n < 2 + k)
            return false;
        l = 0;
        for (size_t i = 0; i < k; i++)
            l = l << 8 | p[2 + i];
        h += k;
    }
    if (l > n - h)
        return false;
    *hdr = h;
    *len = l;
    return true;
}

typedef struct span {
    const uint8_t *p;
    size_t n;
} span;

/* The i-th element among the contents of e (-1: the last). */
static span nth(span e, int i) {
    size_t h, l, eh, el;
    span none = {NULL, 0}, last = none;
    if (!e.p || !tlv(e.p, e.n, &h, &l))
        return none;
    const uint8_t *p = e.p + h, *end = e.p + h + l;
    for (int k = 0; p < end && tlv(p, (size_t)(end - p), &eh, &el); k++) {
        span s = {p, eh + el};
        if (k == i)
            return s;
        last = s;
        p += eh + el;
    }
    return i < 0 ? last : none;
}

/* ContentInfo { [0] SignedData { ..., SignerInfos { SignerInfo } } } */
static span signer_info(const buf *cms) {
    span ci = {cms->data, cms->len};
    return nth(nth(nth(nth(ci, 1), 0), -1), 0);
}

/* The SignerInfo's first field with this tag. */
static span signer_field(const buf *cms, uint8_t tag) {
    span si = signer_info(cms), f;
    for (int i = 0; (f = nth(si, i)).p; i++)
        if (f.p[0] == tag)
            return f;
    return f;
}

/* Re-encodes DER, replacing the element from (a span of p) by to; the lengths of the elements
 * around it follow. */
static void reenc(buf *out, const uint8_t *p, size_t n, span from, span to) {
    size_t at = 0, h, l;
    while (at < n && tlv(p + at, n - at, &h, &l)) {
        const uint8_t *e = p + at;
        if (e == from.p && h + l == from.n) {
            buf_append(out, to.p, to.n);
        } else if (e[0] & 0x20) {
            size_t s = der_open(out);
            reenc(out, e + h, l, from, to);
            der_close(out, s, e[0]);
        } else {
            buf_append(out, e, h + l);
        }
        at += h + l;
    }
}

static void replaced(buf *out, const buf *cms, span from, span to) {
    buf_init(out, 1 << 20);
    reenc(out, cms->data, cms->len, from, to);
    CHECK_INT(out->len, cms->len + to.n - from.n);
}

/* ------------------------------------------------------------------------------------------ */
/* an SM2 PKI made with crypto/ca.c */

typedef struct pki {
    crypto_key *root, *iss, *leaf; /* own their EVP_PKEYs */
    X509 *root_c, *iss_c, *leaf_c;
    STACK_OF(X509) * chain; /* issuing, root */
} pki;

static crypto_key *genkey(const char *type) {
    EVP_PKEY *k = NULL;
    crypto_key *key = NULL;
    CHECK_INT(crypto_keygen(&k, type), CRYPTO_OK);
    CHECK_INT(crypto_key_from_pkey(&key, k), CRYPTO_OK);
    return key;
}

static X509 *issue(crypto_key *ca, X509 *ca_cert, crypto_profile prof, const char *dn,
                   EVP_PKEY *pub, const char *crl_url) {
    X509_NAME *name = NULL;
    X509 *c = NULL;
    CHECK_INT(crypto_name_parse(&name, dn), CRYPTO_OK);
    /* each shorter than its issuer's, which the CA requires */
    int days = prof == CRYPTO_PROFILE_ROOT ? 3650 : prof == CRYPTO_PROFILE_ISSUING ? 1825 : 365;
    crypto_cert_spec spec = {prof, name, pub, 0, days, crl_url, NULL};
    crypto_err err = crypto_ca_issue(&c, ca, ca_cert, &spec);
    if (err != CRYPTO_OK)
        fprintf(stderr, "crypto_ca_issue: %s\n", crypto_errdetail());
    CHECK_INT(err, CRYPTO_OK);
    X509_NAME_free(name);
    return c;
}

static void pki_make(pki *p, const char *leaf_type, const char *crl_url) {
    memset(p, 0, sizeof *p);
    p->root = genkey("sm2");
    p->iss = genkey("sm2");
    p->leaf = genkey(leaf_type);
    p->root_c =
        issue(p->root, NULL, CRYPTO_PROFILE_ROOT, "/CN=SM2 Root", crypto_key_public(p->root), NULL);
    p->iss_c = issue(p->root, p->root_c, CRYPTO_PROFILE_ISSUING, "/CN=SM2 Issuing",
                     crypto_key_public(p->iss), NULL);
    p->leaf_c = issue(p->iss, p->iss_c, CRYPTO_PROFILE_ENTERPRISE, "/C=CN/O=SM2 Ent/CN=SM2 Signer",
                      crypto_key_public(p->leaf), crl_url);
    p->chain = sk_X509_new_null();
    X509_up_ref(p->iss_c);
    sk_X509_push(p->chain, p->iss_c);
}

static void pki_free(pki *p) {
    crypto_key_free(p->root);
    crypto_key_free(p->iss);
    crypto_key_free(p->leaf);
    X509_free(p->root_c);
    X509_free(p->iss_c);
    X509_free(p->leaf_c);
    sk_X509_pop_free(p->chain, X509_free);
}

static crypto_trust *trust_of(X509 *root, const char *file) {
    buf pem;
    crypto_trust *t = NULL;
    buf_init(&pem, 1 << 16);
    CHECK_INT(crypto_cert_pem(&pem, root), CRYPTO_OK);
    struct iovec part = {pem.data, pem.len};
    CHECK_INT(file_write_atomic_nosync(T(file), &part, 1, 0644), 0);
    CHECK_INT(crypto_trust_new(&t), CRYPTO_OK);
    CHECK_INT(crypto_trust_add(t, T(file)), CRYPTO_OK);
    buf_free(&pem);
    return t;
}

/* ------------------------------------------------------------------------------------------ */
/* signing and verifying */

static struct iovec parts[2];

static crypto_err sign_with(buf *cms, crypto_key *key, X509 *cert, STACK_OF(X509) * chain,
                            const crypto_signer_opts *o) {
    crypto_signer *s = NULL;
    uint8_t md[EVP_MAX_MD_SIZE];
    size_t mdl = 0;
    buf_init(cms, 1 << 20);
    crypto_err err = crypto_signer_new(&s, key, cert, chain, o);
    if (err == CRYPTO_OK)
        err = crypto_signer_digest(md, &mdl, s, parts, 2);
    if (err == CRYPTO_OK)
        err = crypto_cms_sign(cms, s, md, mdl);
    if (err == CRYPTO_OK) {
        CHECK(cms->len <= crypto_signer_max_size(s));
        CHECK_STR(crypto_signer_digest_name(s), "SM3");
    }
    crypto_signer_free(s);
    return err;
}

static crypto_verify_result *verify_with(const buf *cms, const crypto_trust *t,
                                         const crypto_vdata *vd) {
    crypto_verify_result *r = NULL;
    crypto_verify_opts o = {.trust = t, .vdata = vd};
    CHECK_INT(crypto_verify_signature(&r, cms->data, cms->len, CRYPTO_SIG_CADES, parts, 2, &o),
              CRYPTO_OK);
    return r;
}

static void expect_at(int line, const crypto_verify_result *r, crypto_indication ind,
                      crypto_subind sub) {
    CHECK(r != NULL);
    if (r && (r->indication != ind || r->sub != sub)) {
        fprintf(stderr, "line %d: got %s/%s, want %s/%s: %s\n", line,
                crypto_indication_name(r->indication), crypto_subind_name(r->sub),
                crypto_indication_name(ind), crypto_subind_name(sub),
                r->cause ? r->cause : "(no cause)");
        check_failures++;
    }
}
#define EXPECT(r, ind, sub) expect_at(__LINE__, r, ind, sub)

/* OpenSSL checks an SM2 signature of msg, given the ID (NULL: its default, none). */
static int openssl_verify(EVP_PKEY *k, const char *id, span sig, span msg) {
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    int rc = -1;
    if (EVP_DigestVerifyInit(c, &pc, EVP_sm3(), NULL, k) > 0 &&
        (!id || EVP_PKEY_CTX_set1_id(pc, id, strlen(id)) > 0))
        rc = EVP_DigestVerify(c, sig.p, sig.n, msg.p, msg.n);
    EVP_MD_CTX_free(c);
    ERR_clear_error();
    return rc;
}

static size_t openssl_sign(uint8_t *sig, size_t cap, EVP_PKEY *k, const char *id, span msg) {
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    size_t len = cap;
    if (EVP_DigestSignInit(c, &pc, EVP_sm3(), NULL, k) <= 0 ||
        (id && EVP_PKEY_CTX_set1_id(pc, id, strlen(id)) <= 0) ||
        EVP_DigestSign(c, sig, &len, msg.p, msg.n) <= 0)
        len = 0;
    EVP_MD_CTX_free(c);
    return len;
}

/* GM/T 0010 / GB/T 35275: SM3 and SM2-with-SM3 AlgorithmIdentifiers have no parameters. */
static void algorithms_bare(const buf *cms) {
    const uint8_t sm3[] = {0x30, 0x0A, 0x06, 0x08, 0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x83, 0x11};
    const uint8_t sm2sm3[] = {0x30, 0x0A, 0x06, 0x08, 0x2A, 0x81,
                              0x1C, 0xCF, 0x55, 0x01, 0x83, 0x75};
    /* SignerInfo: version, sid (issuerAndSerialNumber), digestAlgorithm, [0], signatureAlgorithm */
    span si = signer_info(cms), ci = {cms->data, cms->len};
    span dig = nth(si, 2), sigalg = nth(si, 4);
    CHECK(dig.n == sizeof sm3 && memcmp(dig.p, sm3, sizeof sm3) == 0);
    CHECK(sigalg.n == sizeof sm2sm3 && memcmp(sigalg.p, sm2sm3, sizeof sm2sm3) == 0);
    /* and SignedData's digestAlgorithms */
    span algs = nth(nth(nth(ci, 1), 0), 1);
    span first = nth(algs, 0);
    CHECK(first.n == sizeof sm3 && memcmp(first.p, sm3, sizeof sm3) == 0);
}

static void test_ca(const pki *p) {
    /* the certificates are SM2-with-SM3 without parameters, over the TBS with the default ID */
    X509 *certs[3] = {p->root_c, p->iss_c, p->leaf_c};
    crypto_key *issuers[3] = {p->root, p->root, p->iss};
    for (int i = 0; i < 3; i++) {
        const X509_ALGOR *alg = NULL;
        const ASN1_BIT_STRING *sig = NULL;
        int ptype = 0;
        X509_get0_signature(&sig, &alg, certs[i]);
        X509_ALGOR_get0(NULL, &ptype, NULL, alg);
        CHECK(crypto_alg_is_sm2(alg));
        CHECK_INT(ptype, V_ASN1_UNDEF);
        unsigned char *tbs = NULL;
        int n = i2d_re_X509_tbs(certs[i], &tbs);
        span t = {tbs, (size_t)n}, s = {sig->data, (size_t)sig->length};
        EVP_PKEY *ik = crypto_key_public(issuers[i]);
        CHECK_INT(openssl_verify(ik, CRYPTO_SM2_ID, s, t), 1);
        CHECK(openssl_verify(ik, NULL, s, t) != 1); /* OpenSSL's empty ID */
        OPENSSL_free(tbs);
    }
    /* OpenSSL's X509_verify needs the ID given (crypto_sm2_cert_prepare) */
    X509 *c = X509_dup(p->leaf_c);
    CHECK(X509_verify(c, crypto_key_public(p->iss)) != 1);
    CHECK(crypto_sm2_cert_prepare(c));
    CHECK_INT(X509_verify(c, crypto_key_public(p->iss)), 1);
    X509_free(c);
    ERR_clear_error();
    CHECK_INT(crypto_key_strength(crypto_key_public(p->leaf)), CRYPTO_OK);
}

static void test_sign_verify(const pki *p, crypto_trust *t, crypto_trust *wrong) {
    buf cms, bad;
    crypto_verify_result *r;
    CHECK_INT(sign_with(&cms, p->leaf, p->leaf_c, p->chain, NULL), CRYPTO_OK);
    algorithms_bare(&cms);
    r = verify_with(&cms, t, NULL);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    if (r) {
        CHECK(r->integrity && r->chain_trusted);
        CHECK_STR(r->algorithm, "SM2");
        CHECK_STR(r->digest, "SM3");
        CHECK_INT(r->key_bits, 256);
        CHECK_STR(r->signer, "SM2 Signer");
        CHECK_INT(r->chain_len, 3);
    }
    crypto_verify_result_free(r);

    /* OpenSSL agrees, over the signed attributes as signed (RFC 5652 5.4: [0] as SET OF) */
    span attrs = signer_field(&cms, 0xA0), value = signer_field(&cms, 0x04);
    size_t h = 0, l = 0;
    CHECK(attrs.p && value.p && tlv(value.p, value.n, &h, &l));
    uint8_t *set = malloc(attrs.n);
    memcpy(set, attrs.p, attrs.n);
    set[0] = 0x31;
    span msg = {set, attrs.n}, sig = {value.p + h, l};
    EVP_PKEY *pub = crypto_key_public(p->leaf);
    CHECK_INT(openssl_verify(pub, CRYPTO_SM2_ID, sig, msg), 1);
    CHECK(openssl_verify(pub, NULL, sig, msg) != 1);
    CHECK(openssl_verify(pub, "another ID", sig, msg) != 1);

    /* the wrong root: no chain */
    r = verify_with(&cms, wrong, NULL);
    CHECK(r && r->indication != CRYPTO_TOTAL_PASSED && !r->chain_trusted && r->integrity);
    crypto_verify_result_free(r);

    /* other content: HASH_FAILURE */
    content[100] ^= 1;
    r = verify_with(&cms, t, NULL);
    EXPECT(r, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_HASH_FAILURE);
    crypto_verify_result_free(r);
    content[100] ^= 1;

    /* a signature value changed, and one made over the same attributes with an empty ID (of
     * the same length, so that only the value differs) */
    uint8_t other[80];
    size_t on = 0;
    for (int i = 0; i < 64 && on != sig.n; i++)
        on = openssl_sign(other, sizeof other, pub, NULL, msg);
    CHECK_INT(on, sig.n);
    uint8_t *flipped = malloc(value.n), *empty_id = malloc(value.n);
    memcpy(flipped, value.p, value.n);
    flipped[value.n - 5] ^= 0x40;
    memcpy(empty_id, value.p, h);
    memcpy(empty_id + h, other, on);
    span to[2] = {{flipped, value.n}, {empty_id, value.n}};
    for (int i = 0; i < 2; i++) {
        replaced(&bad, &cms, value, to[i]);
        r = verify_with(&bad, t, NULL);
        EXPECT(r, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_SIG_CRYPTO_FAILURE);
        crypto_verify_result_free(r);
        buf_free(&bad);
    }
    free(flipped);
    free(empty_id);

    /* sm2sign {1 2 156 10197 1 301 1} in place of SM2-with-SM3 is taken, with SM3 */
    const uint8_t sm2sm3[] = {0x30, 0x0A, 0x06, 0x08, 0x2A, 0x81,
                              0x1C, 0xCF, 0x55, 0x01, 0x83, 0x75};
    const uint8_t sm2sign[] = {0x30, 0x0B, 0x06, 0x09, 0x2A, 0x81, 0x1C,
                               0xCF, 0x55, 0x01, 0x82, 0x2D, 0x01};
    span sigalg = nth(signer_info(&cms), 4);
    CHECK(sigalg.n == sizeof sm2sm3 && memcmp(sigalg.p, sm2sm3, sigalg.n) == 0);
    replaced(&bad, &cms, sigalg, (span){sm2sign, sizeof sm2sign});
    r = verify_with(&bad, t, NULL);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    if (r)
        CHECK_STR(r->algorithm, "SM2");
    crypto_verify_result_free(r);
    buf_free(&bad);

    /* SM2-with-SM3 with SHA-256 named as the digest: does not go together */
    const uint8_t sha256[] = {0x30, 0x0B, 0x06, 0x09, 0x60, 0x86, 0x48,
                              0x01, 0x65, 0x03, 0x04, 0x02, 0x01};
    replaced(&bad, &cms, nth(signer_info(&cms), 2), (span){sha256, sizeof sha256});
    r = verify_with(&bad, t, NULL);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE);
    crypto_verify_result_free(r);
    buf_free(&bad);
    free(set);
    buf_free(&cms);
}

static void test_refusals(const pki *p) {
    buf cms;
    crypto_signer_opts sha = {.digest = "sha256"}, pss = {.padding = CRYPTO_PAD_PSS},
                       sm3 = {.digest = "sm3"};
    CHECK_INT(sign_with(&cms, p->leaf, p->leaf_c, p->chain, &sha), CRYPTO_E_ALGORITHM);
    CHECK(strstr(crypto_errdetail(), "SM3") != NULL);
    buf_free(&cms);
    CHECK_INT(sign_with(&cms, p->leaf, p->leaf_c, p->chain, &pss), CRYPTO_E_ALGORITHM);
    CHECK(strstr(crypto_errdetail(), "PSS") != NULL);
    buf_free(&cms);
    CHECK_INT(sign_with(&cms, p->leaf, p->leaf_c, p->chain, &sm3), CRYPTO_OK);
    buf_free(&cms);
    /* SM3 is for SM2 keys */
    pki ec;
    pki_make(&ec, "ec", NULL);
    crypto_signer *s = NULL;
    CHECK_INT(crypto_signer_new(&s, ec.leaf, ec.leaf_c, NULL, &sm3), CRYPTO_E_ALGORITHM);
    pki_free(&ec);
}

/* A certificate of the SM2 CA signed OpenSSL's way (an empty ID) makes no chain. */
static void test_empty_id_chain(const pki *p, crypto_trust *t) {
    X509 *c = X509_dup(p->leaf_c);
    buf cms;
    CHECK(X509_sign(c, crypto_key_public(p->iss), EVP_sm3()) > 0);
    CHECK_INT(sign_with(&cms, p->leaf, c, p->chain, NULL), CRYPTO_OK);
    crypto_verify_result *r = verify_with(&cms, t, NULL);
    CHECK(r && r->integrity && !r->chain_trusted && r->indication != CRYPTO_TOTAL_PASSED);
    crypto_verify_result_free(r);
    buf_free(&cms);
    X509_free(c);
}

/* ------------------------------------------------------------------------------------------ */
/* CRLs and OCSP responses of the SM2 CA */

static bool revoked_serial;
static char leaf_serial[CRYPTO_SERIAL_HEX];

static bool lookup(crypto_ocsp_answer *a, const char *serial, void *ctx) {
    (void)ctx;
    a->status =
        strcmp(serial, leaf_serial) == 0 && revoked_serial ? CRYPTO_OCSP_REVOKED : CRYPTO_OCSP_GOOD;
    a->rev_time = time(NULL) - 60;
    a->reason = 1;
    return true;
}

static void crl_of(buf *out, const pki *p, bool revoked) {
    crypto_revoked rv = {leaf_serial, time(NULL) - 60, CRYPTO_REASON_KEY_COMPROMISE, 0};
    buf_init(out, 1 << 16);
    CHECK_INT(crypto_ca_crl(out, p->iss, p->iss_c, &rv, revoked ? 1 : 0, 1, time(NULL) - 30,
                            time(NULL) + 86400),
              CRYPTO_OK);
}

static void ocsp_of(buf *out, const pki *p) {
    OCSP_REQUEST *rq = OCSP_REQUEST_new();
    OCSP_CERTID *id = OCSP_cert_to_id(NULL, p->leaf_c, p->iss_c);
    unsigned char *der = NULL;
    CHECK(rq && id && OCSP_request_add0_id(rq, id));
    int n = i2d_OCSP_REQUEST(rq, &der);
    crypto_ocsp_responder r = {p->iss_c, p->iss, NULL, 3600, lookup, NULL};
    buf_init(out, 1 << 16);
    CHECK_INT(crypto_ocsp_respond(out, &r, der, (size_t)n, time(NULL)), CRYPTO_OK);
    OPENSSL_free(der);
    OCSP_REQUEST_free(rq);
}

static crypto_verify_result *verify_vdata(const buf *cms, crypto_trust *t, const buf *crl,
                                          const buf *ocsp) {
    crypto_vdata *vd = NULL;
    CHECK_INT(crypto_vdata_new(&vd), CRYPTO_OK);
    if (crl)
        CHECK_INT(crypto_vdata_add_crl(vd, crl->data, crl->len), CRYPTO_OK);
    if (ocsp)
        CHECK_INT(crypto_vdata_add_ocsp(vd, ocsp->data, ocsp->len), CRYPTO_OK);
    crypto_verify_result *r = verify_with(cms, t, vd);
    crypto_vdata_free(vd);
    return r;
}

static void test_revocation(void) {
    pki p;
    buf cms, crl, ocsp;
    pki_make(&p, "sm2", "http://127.0.0.1:9/crl/issuing.crl");
    crypto_trust *t = trust_of(p.root_c, "root2.pem");
    crypto_serial_hex(leaf_serial, X509_get0_serialNumber(p.leaf_c));
    CHECK_INT(sign_with(&cms, p.leaf, p.leaf_c, p.chain, NULL), CRYPTO_OK);

    /* no data: its status is unknown */
    crypto_verify_result *r = verify_vdata(&cms, t, NULL, NULL);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_TRY_LATER);
    crypto_verify_result_free(r);

    /* the SM2 CA's CRL: signed with the ID, which OpenSSL's X509_CRL_verify does not give */
    crl_of(&crl, &p, false);
    const unsigned char *q = crl.data;
    X509_CRL *x = d2i_X509_CRL(NULL, &q, (long)crl.len);
    CHECK(x && crypto_crl_signed_by(x, crypto_key_public(p.iss)));
    CHECK(x && X509_CRL_verify(x, crypto_key_public(p.iss)) != 1);
    CHECK(x && !crypto_crl_signed_by(x, crypto_key_public(p.root)));
    r = verify_vdata(&cms, t, &crl, NULL);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    if (r)
        CHECK_INT(r->revocation, CRYPTO_REV_GOOD);
    crypto_verify_result_free(r);
    /* the same CRL signed OpenSSL's way (empty ID) is not the CA's */
    CHECK(x && X509_CRL_sign(x, crypto_key_public(p.iss), EVP_sm3()) > 0);
    CHECK(x && !crypto_crl_signed_by(x, crypto_key_public(p.iss)));
    unsigned char *der = NULL;
    int dn = x ? i2d_X509_CRL(x, &der) : 0;
    buf empty;
    buf_init(&empty, 1 << 16);
    buf_append(&empty, der, (size_t)dn);
    r = verify_vdata(&cms, t, &empty, NULL);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_TRY_LATER);
    crypto_verify_result_free(r);
    OPENSSL_free(der);
    buf_free(&empty);
    X509_CRL_free(x);
    ERR_clear_error();

    /* the SM2 CA's OCSP response */
    ocsp_of(&ocsp, &p);
    q = ocsp.data;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &q, (long)ocsp.len);
    OCSP_BASICRESP *bs = resp ? OCSP_response_get1_basic(resp) : NULL;
    CHECK(bs && crypto_alg_is_sm2(OCSP_resp_get0_tbs_sigalg(bs)));
    CHECK(bs && crypto_ocsp_signed_by(bs, p.iss_c));
    CHECK(bs && !crypto_ocsp_signed_by(bs, p.root_c));
    STACK_OF(X509) *one = sk_X509_new_null();
    sk_X509_push(one, p.iss_c);
    CHECK(bs && OCSP_basic_verify(bs, one, NULL, OCSP_NOVERIFY | OCSP_NOINTERN) != 1);
    sk_X509_free(one);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    ERR_clear_error();
    r = verify_vdata(&cms, t, NULL, &ocsp);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    crypto_verify_result_free(r);
    buf_free(&ocsp);

    /* revoked, by CRL and by OCSP */
    buf_free(&crl);
    crl_of(&crl, &p, true);
    r = verify_vdata(&cms, t, &crl, NULL);
    CHECK(r && r->revocation == CRYPTO_REV_REVOKED && r->indication != CRYPTO_TOTAL_PASSED);
    crypto_verify_result_free(r);
    revoked_serial = true;
    ocsp_of(&ocsp, &p);
    r = verify_vdata(&cms, t, NULL, &ocsp);
    CHECK(r && r->revocation == CRYPTO_REV_REVOKED && r->indication != CRYPTO_TOTAL_PASSED);
    crypto_verify_result_free(r);
    revoked_serial = false;
    buf_free(&ocsp);
    buf_free(&crl);
    buf_free(&cms);
    crypto_trust_free(t);
    pki_free(&p);
}

/* ------------------------------------------------------------------------------------------ */
/* requests, key files, the key process */

static void test_csr(const pki *p) {
    EVP_PKEY *k = crypto_key_public(p->leaf);
    /* crypto_make_csr (eseal key csr) with an SM2 key */
    X509_REQ *made = NULL, *back = NULL;
    CHECK_INT(crypto_make_csr(&made, p->leaf, "/C=CN/CN=SM2 made"), CRYPTO_OK);
    if (made) {
        const X509_ALGOR *alg = NULL;
        X509_REQ_get0_signature(made, NULL, &alg);
        CHECK(crypto_alg_is_sm2(alg));
        FILE *f = fopen(T("made.pem"), "w");
        PEM_write_X509_REQ(f, made);
        fclose(f);
        CHECK_INT(crypto_csr_load(&back, T("made.pem")), CRYPTO_OK);
        unlink(T("made.pem"));
    }
    X509_REQ_free(made);
    X509_REQ_free(back);
    for (int with_id = 0; with_id < 2; with_id++) {
        X509_REQ *rq = X509_REQ_new();
        X509_NAME *n = NULL;
        crypto_name_parse(&n, "/CN=SM2 request");
        X509_REQ_set_subject_name(rq, n);
        X509_REQ_set_pubkey(rq, k);
        if (with_id) {
            EVP_MD_CTX *c = crypto_sm2_md_ctx(k, true);
            CHECK(c && X509_REQ_sign_ctx(rq, c) > 0);
            EVP_MD_CTX_free(c);
        } else {
            CHECK(X509_REQ_sign(rq, k, EVP_sm3()) > 0); /* OpenSSL's default: an empty ID */
        }
        FILE *f = fopen(T("req.pem"), "w");
        PEM_write_X509_REQ(f, rq);
        fclose(f);
        X509_REQ *got = NULL;
        CHECK_INT(crypto_csr_load(&got, T("req.pem")), with_id ? CRYPTO_OK : CRYPTO_E_SIGN);
        X509_REQ_free(got);
        X509_REQ_free(rq);
        X509_NAME_free(n);
    }
}

static void test_key_files(const pki *p, crypto_trust *t) {
    crypto_key *k = NULL;
    X509 *c = NULL;
    STACK_OF(X509) *ch = NULL;
    buf cms;
    /* encrypted PKCS#8 as eseal ca writes it */
    EVP_PKEY *priv = crypto_key_file_pkey(p->leaf);
    CHECK_INT(crypto_key_write(T("sm2.key"), priv, "pass word"), CRYPTO_OK);
    CHECK_INT(crypto_key_load(&k, NULL, NULL, T("sm2.key"), "wrong"), CRYPTO_E_PASSWORD);
    CHECK_INT(crypto_key_load(&k, NULL, NULL, T("sm2.key"), "pass word"), CRYPTO_OK);
    CHECK(k && crypto_is_sm2(crypto_key_public(k)));
    CHECK_INT(sign_with(&cms, k, p->leaf_c, p->chain, NULL), CRYPTO_OK);
    crypto_verify_result *r = verify_with(&cms, t, NULL);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    crypto_verify_result_free(r);
    buf_free(&cms);
    crypto_key_free(k);
    k = NULL;

    /* PKCS#12 with the certificate and chain */
    PKCS12 *p12 = PKCS12_create("p12 pass", "sm2", priv, p->leaf_c, p->chain, 0, 0, 0, 0, 0);
    CHECK(p12 != NULL);
    unsigned char *der = NULL;
    int n = p12 ? i2d_PKCS12(p12, &der) : 0;
    struct iovec part = {der, (size_t)n};
    CHECK_INT(file_write_atomic_nosync(T("sm2.p12"), &part, 1, 0600), 0);
    OPENSSL_free(der);
    PKCS12_free(p12);
    CHECK_INT(crypto_key_load(&k, &c, &ch, T("sm2.p12"), "p12 pass"), CRYPTO_OK);
    CHECK(k && c && crypto_is_sm2(crypto_key_public(k)) && X509_cmp(c, p->leaf_c) == 0);
    if (k && c) {
        CHECK_INT(sign_with(&cms, k, c, ch, NULL), CRYPTO_OK);
        r = verify_with(&cms, t, NULL);
        EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
        crypto_verify_result_free(r);
        buf_free(&cms);
    }
    crypto_key_free(k);
    X509_free(c);
    sk_X509_pop_free(ch, X509_free);
}

/* Compact signatures (the licence QR token) with an SM2 key: r||s of SM2 with SM3 and the ID. */
static void test_compact(const pki *p) {
    static const uint8_t msg[] = "licence 1.2.156.3005.2.11100000000013338W011";
    uint8_t sig[128];
    size_t n = sizeof sig;
    EVP_PKEY *pub = crypto_key_public(p->leaf);
    CHECK_INT(crypto_key_compact_size(p->leaf), 64);
    CHECK_INT(crypto_key_sign_compact(sig, &n, p->leaf, msg, sizeof msg - 1), CRYPTO_OK);
    CHECK_INT(n, 64);
    CHECK_INT(crypto_verify_compact(pub, sig, n, msg, sizeof msg - 1), CRYPTO_OK);
    CHECK_INT(crypto_verify_compact(pub, sig, n, msg, sizeof msg - 2), CRYPTO_E_SIGN);
    CHECK_INT(crypto_verify_compact(pub, sig, n - 1, msg, sizeof msg - 1), CRYPTO_E_SIGN);
    /* OpenSSL reads it as an SM2 signature with the ID */
    ECDSA_SIG *es = ECDSA_SIG_new();
    unsigned char *der = NULL;
    CHECK(es && ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL)));
    int dl = i2d_ECDSA_SIG(es, &der);
    span d = {der, (size_t)dl}, m = {msg, sizeof msg - 1};
    CHECK_INT(openssl_verify(pub, CRYPTO_SM2_ID, d, m), 1);
    CHECK(openssl_verify(pub, NULL, d, m) != 1);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
}

typedef struct served {
    int fd;
    crypto_key *key;
    X509 *cert;
    crypto_err err;
} served;

static void *serve(void *arg) {
    served *s = arg;
    s->err = crypto_keyproc_serve(s->fd, &s->key, &s->cert, NULL, 1);
    return NULL;
}

static void test_key_process(const pki *p, crypto_trust *t) {
    int sv[2];
    pthread_t th;
    crypto_remote rem;
    buf cms;
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    served s = {sv[0], p->leaf, p->leaf_c, CRYPTO_OK};
    CHECK_INT(pthread_create(&th, NULL, serve, &s), 0);
    CHECK_INT(crypto_remote_open(&rem, sv[1]), CRYPTO_OK);
    CHECK(rem.n == 1 && crypto_is_sm2(crypto_key_public(rem.keys[0])));
    for (int i = 0; i < 3 && rem.n == 1; i++) {
        CHECK_INT(sign_with(&cms, rem.keys[0], rem.certs[0], p->chain, NULL), CRYPTO_OK);
        crypto_verify_result *r = verify_with(&cms, t, NULL);
        EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
        crypto_verify_result_free(r);
        buf_free(&cms);
    }
    crypto_remote_close(&rem);
    close(sv[1]);
    pthread_join(th, NULL);
    close(sv[0]);
    CHECK_INT(s.err, CRYPTO_OK);
}

int main(void) {
    snprintf(tmp, sizeof tmp, "/tmp/eseal-sm2cms.XXXXXX");
    CHECK(mkdtemp(tmp) != NULL);
    for (size_t i = 0; i < sizeof content; i++)
        content[i] = (uint8_t)(i * 7 + 3);
    parts[0] = (struct iovec){content, 1234};
    parts[1] = (struct iovec){content + 1234, sizeof content - 1234};

    pki p, other;
    pki_make(&p, "sm2", NULL);
    pki_make(&other, "sm2", NULL);
    crypto_trust *t = trust_of(p.root_c, "root.pem"), *wrong = trust_of(other.root_c, "wrong.pem");
    test_ca(&p);
    test_sign_verify(&p, t, wrong);
    test_refusals(&p);
    test_empty_id_chain(&p, t);
    test_revocation();
    test_csr(&p);
    test_key_files(&p, t);
    test_key_process(&p, t);
    test_compact(&p);
    crypto_trust_free(t);
    crypto_trust_free(wrong);
    pki_free(&p);
    pki_free(&other);
    const char *files[] = {"root.pem", "wrong.pem", "root2.pem", "req.pem", "sm2.key", "sm2.p12"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        unlink(T(files[i]));
    rmdir(tmp);
    return check_report("test_crypto_sm2_cms");
}
