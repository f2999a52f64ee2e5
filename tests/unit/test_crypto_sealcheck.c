/* crypto/signer.c and crypto/sealcheck.c: a GB/T 38540 seal carried as a signed attribute of our
 * CMS, judged with the signature. With the test PKI (tests/pki/make-pki.sh): signer rsa2048 or
 * ec256, seal maker rsa3072 (under the RSA root). Each case checks the indication and
 * sub-indication a user would see, and the seal's findings. */
#include <stdlib.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "crypto/der.h"
#include "crypto/ses.h"
#include "crypto/verify.h"

static char pki[1024];
static time_t now;
static const uint8_t content[] = "%PDF-1.7 the signed byte ranges of a document";

static const char *P(const char *name) {
    static char b[4][1100];
    static int i;
    i = (i + 1) % 4;
    snprintf(b[i], sizeof b[i], "%s/%s", pki, name);
    return b[i];
}

static X509 *cert(const char *name) {
    STACK_OF(X509) *s = NULL;
    X509 *x = NULL;
    if (crypto_certs_load(&s, P(name)) == CRYPTO_OK && sk_X509_num(s) > 0)
        x = sk_X509_shift(s);
    sk_X509_pop_free(s, X509_free);
    CHECK(x != NULL);
    return x;
}

typedef struct seal_args {
    const char *signer; /* the certificate the seal lists */
    const char *maker;  /* the maker's files, NAME.pem and NAME.key; NULL: rsa3072 */
    time_t from, to;
    bool digests;
} seal_args;

/* A seal made by rsa3072 (or a->maker) for the given signer: its DER (malloc'd). */
static uint8_t *make_seal(size_t *len, const seal_args *a) {
    static const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 1, 2, 3};
    crypto_key *mk = NULL;
    char mpem[64], mkey[64];
    snprintf(mpem, sizeof mpem, "%s.pem", a->maker ? a->maker : "rsa3072");
    snprintf(mkey, sizeof mkey, "%s.key", a->maker ? a->maker : "rsa3072");
    X509 *mc = cert(mpem);
    STACK_OF(X509) *certs = sk_X509_new_null();
    sk_X509_push(certs, cert(a->signer));
    buf out;
    buf_init(&out, CRYPTO_SES_MAX_DER);
    crypto_ses_spec spec = {.name = "示例科技有限公司",
                            .certs = certs,
                            .list_digests = a->digests,
                            .valid_from = a->from,
                            .valid_to = a->to,
                            .picture = png,
                            .picture_len = sizeof png,
                            .width_mm = 42,
                            .height_mm = 42,
                            .maker_cert = mc};
    CHECK_INT(crypto_key_load(&mk, NULL, NULL, P(mkey), NULL), CRYPTO_OK);
    spec.maker_key = mk;
    crypto_err err = crypto_ses_make(&out, &spec);
    if (err != CRYPTO_OK)
        fprintf(stderr, "making a seal: %s\n", crypto_errdetail());
    CHECK_INT(err, CRYPTO_OK);
    crypto_key_free(mk);
    X509_free(mc);
    sk_X509_pop_free(certs, X509_free);
    return buf_detach(&out, len);
}

/* Our CMS over content by the signer name (rsa2048 / ec256), carrying seal (may be NULL), with
 * the signer's chain and the seal maker's (chain.pem: the RSA issuing CA and root). */
static uint8_t *sign(size_t *len, const char *name, const uint8_t *seal, size_t seal_len) {
    char pem[64], keyf[64];
    crypto_key *key = NULL;
    crypto_signer *s = NULL;
    crypto_signer_opts so = {.seal_der = seal, .seal_len = seal_len};
    uint8_t md[EVP_MAX_MD_SIZE];
    size_t mdlen = 0;
    buf out;
    buf_init(&out, 8u << 20);
    snprintf(pem, sizeof pem, "%s.pem", name);
    snprintf(keyf, sizeof keyf, "%s.key", name);
    X509 *c = cert(pem);
    STACK_OF(X509) *chain = NULL, *more = NULL;
    CHECK_INT(crypto_certs_load(&chain, P("chain.pem")), CRYPTO_OK);
    CHECK_INT(crypto_certs_load(&more, P("ec-chain.pem")), CRYPTO_OK);
    while (sk_X509_num(more) > 0)
        sk_X509_push(chain, sk_X509_shift(more));
    sk_X509_free(more);
    struct iovec part = {(void *)(uintptr_t)content, sizeof content - 1};
    bool ok = crypto_key_load(&key, NULL, NULL, P(keyf), NULL) == CRYPTO_OK &&
              crypto_signer_new(&s, key, c, chain, &so) == CRYPTO_OK &&
              crypto_signer_digest(md, &mdlen, s, &part, 1) == CRYPTO_OK &&
              crypto_cms_sign(&out, s, md, mdlen) == CRYPTO_OK;
    if (!ok)
        fprintf(stderr, "signing with %s: %s\n", name, crypto_errdetail());
    CHECK(ok);
    if (ok)
        CHECK(out.len <= crypto_signer_max_size(s));
    crypto_signer_free(s);
    crypto_key_free(key);
    X509_free(c);
    sk_X509_pop_free(chain, X509_free);
    return buf_detach(&out, len);
}

/* The seal makers' anchors for the next verifications: NULL, the same as the signers'; "" none. */
static const char *maker_anchors;

static crypto_trust *anchors_of(const char *list) {
    crypto_trust *t = NULL;
    char names[256];
    snprintf(names, sizeof names, "%s", list);
    CHECK_INT(crypto_trust_new(&t), CRYPTO_OK);
    for (char *tok = strtok(names, " "); tok; tok = strtok(NULL, " "))
        CHECK_INT(crypto_trust_add(t, P(tok)), CRYPTO_OK);
    return t;
}

/* Verifies with the anchors named (space-separated file names of the PKI) and the validation
 * data vd (may be NULL). */
static crypto_verify_result *verify_vd(const uint8_t *cms, size_t len, const char *anchors,
                                       time_t claimed, time_t at, const crypto_vdata *vd) {
    crypto_verify_result *r = NULL;
    crypto_trust *t = anchors_of(anchors);
    crypto_trust *mt = anchors_of(maker_anchors ? maker_anchors : anchors);
    crypto_verify_opts o = {.trust = t,
                            .maker_trust = crypto_trust_count(mt) ? mt : NULL,
                            .vdata = vd,
                            .claimed_time = claimed,
                            .now = at};
    struct iovec part = {(void *)(uintptr_t)content, sizeof content - 1};
    CHECK_INT(crypto_verify_signature(&r, cms, len, CRYPTO_SIG_CADES, &part, 1, &o), CRYPTO_OK);
    crypto_trust_free(t);
    crypto_trust_free(mt);
    return r;
}

static crypto_verify_result *verify(const uint8_t *cms, size_t len, const char *anchors,
                                    time_t claimed, time_t at) {
    return verify_vd(cms, len, anchors, claimed, at, NULL);
}

#define EXPECT(r, IND, SUB)                                                                        \
    do {                                                                                           \
        CHECK((r) != NULL);                                                                        \
        if (r) {                                                                                   \
            CHECK_STR(crypto_indication_name((r)->indication), crypto_indication_name(IND));       \
            CHECK_STR(crypto_subind_name((r)->sub), crypto_subind_name(SUB));                      \
            if ((r)->indication != (IND))                                                          \
                fprintf(stderr, "  cause: %s\n", (r)->cause ? (r)->cause : "");                    \
        }                                                                                          \
    } while (0)

static const char *BOTH = "root-ca.pem ec-root-ca.pem";

static void test_valid(void) {
    size_t sl, cl;
    seal_args a = {.signer = "rsa2048.pem", .from = now - 86400, .to = now + 86400};
    uint8_t *seal = make_seal(&sl, &a);
    uint8_t *cms = sign(&cl, "rsa2048", seal, sl);
    crypto_verify_result *r = verify(cms, cl, "root-ca.pem", now - 60, 0);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    CHECK(r && r->seal && r->seal->ses);
    if (r && r->seal && r->seal->ses) {
        CHECK(r->seal->maker_signature);
        CHECK(r->seal->maker_trusted);
        CHECK(r->seal->signer_listed);
        CHECK_INT(r->seal->validity, 0);
        CHECK(r->seal->cause == NULL);
        CHECK_STR(r->seal->ses->name, "示例科技有限公司");
        CHECK_INT(r->seal->ses->version, 4);
        size_t dl = 0;
        const uint8_t *d = crypto_ses_der(r->seal->ses, &dl);
        CHECK(dl == sl && memcmp(d, seal, sl) == 0);
    }
    crypto_verify_result_free(r);
    free(cms);

    /* a seal listing the signer by digest; an ECDSA signer */
    free(seal);
    a = (seal_args){.signer = "ec256.pem", .from = now - 86400, .to = now + 86400, .digests = 1};
    seal = make_seal(&sl, &a);
    cms = sign(&cl, "ec256", seal, sl);
    r = verify(cms, cl, BOTH, now - 60, 0);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    crypto_verify_result_free(r);
    free(cms);

    /* no seal: no seal report */
    cms = sign(&cl, "rsa2048", NULL, 0);
    r = verify(cms, cl, "root-ca.pem", 0, 0);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    CHECK(r && !r->seal);
    crypto_verify_result_free(r);
    free(cms);
    free(seal);
}

static void test_signer_not_listed(void) {
    size_t sl, cl;
    seal_args a = {.signer = "rsa2048.pem", .from = now - 86400, .to = now + 86400};
    uint8_t *seal = make_seal(&sl, &a);
    uint8_t *cms = sign(&cl, "ec256", seal, sl); /* the seal lists rsa2048 only */
    crypto_verify_result *r = verify(cms, cl, BOTH, 0, 0);
    EXPECT(r, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_SIG_CONSTRAINTS_FAILURE);
    CHECK(r && r->seal && !r->seal->signer_listed && r->seal->maker_signature);
    CHECK(r && r->cause && strstr(r->cause, "not one of the seal's signers"));
    crypto_verify_result_free(r);
    free(cms);
    /* by digest, too */
    free(seal);
    a.digests = true;
    seal = make_seal(&sl, &a);
    cms = sign(&cl, "ec256", seal, sl);
    r = verify(cms, cl, BOTH, 0, 0);
    EXPECT(r, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_SIG_CONSTRAINTS_FAILURE);
    crypto_verify_result_free(r);
    free(cms);
    free(seal);
}

/* The seal's signedValue is its last element: a BIT STRING ending the DER. */
static void test_maker_signature_broken(void) {
    size_t sl, cl;
    seal_args a = {.signer = "rsa2048.pem", .from = now - 86400, .to = now + 86400};
    uint8_t *seal = make_seal(&sl, &a);
    seal[sl - 5] ^= 0x01;
    uint8_t *cms = sign(&cl, "rsa2048", seal, sl);
    crypto_verify_result *r = verify(cms, cl, "root-ca.pem", 0, 0);
    EXPECT(r, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_SIG_CRYPTO_FAILURE);
    CHECK(r && r->integrity); /* the document's signature itself holds */
    CHECK(r && r->seal && !r->seal->maker_signature);
    CHECK(r && r->cause && strstr(r->cause, "seal maker's signature"));
    crypto_verify_result_free(r);
    free(cms);
    free(seal);
}

static void test_maker_untrusted(void) {
    size_t sl, cl;
    seal_args a = {.signer = "ec256.pem", .from = now - 86400, .to = now + 86400};
    uint8_t *seal = make_seal(&sl, &a);
    uint8_t *cms = sign(&cl, "ec256", seal, sl);
    /* the signer's root only: the maker (under the RSA root) is not trusted */
    crypto_verify_result *r = verify(cms, cl, "ec-root-ca.pem", 0, 0);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_NO_CERTIFICATE_CHAIN_FOUND);
    CHECK(r && r->seal && r->seal->maker_signature && !r->seal->maker_trusted);
    CHECK(r && r->cause && strstr(r->cause, "seal maker"));
    crypto_verify_result_free(r);
    free(cms);
    free(seal);
}

/* A private key of the test PKI. */
static EVP_PKEY *pkey(const char *name) {
    FILE *f = fopen(P(name), "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    CHECK(k != NULL);
    return k;
}

/* A certificate for key, issued by the test PKI's RSA issuing CA with the digest md: an end
 * entity whose key usage is digitalSignature; with crl, naming the CA's CRL (the test PKI's
 * issuing-ca.crl; the address does not resolve). */
static X509 *issue_by(EVP_PKEY *key, const char *cn, const EVP_MD *md, bool crl, X509 *ca,
                      EVP_PKEY *ca_key) {
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    X509_EXTENSION *ku =
        X509V3_EXT_conf_nid(NULL, NULL, NID_key_usage, "critical,digitalSignature");
    X509_EXTENSION *dp = crl ? X509V3_EXT_conf_nid(NULL, NULL, NID_crl_distribution_points,
                                                   "URI:http://crl.eseal.test/issuing-ca.crl")
                             : NULL;
    CHECK(!crl || dp);
    if (dp)
        X509_add_ext(x, dp, -1);
    X509_EXTENSION_free(dp);
    BIGNUM *sn = BN_new();
    bool ok =
        x && n && ku && sn && BN_rand(sn, 64, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) &&
        BN_to_ASN1_INTEGER(sn, X509_get_serialNumber(x)) && X509_set_version(x, 2) &&
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) &&
        X509_set_subject_name(x, n) && X509_set_issuer_name(x, X509_get_subject_name(ca)) &&
        X509_time_adj_ex(X509_getm_notBefore(x), -1, 0, NULL) &&
        X509_time_adj_ex(X509_getm_notAfter(x), 365, 0, NULL) && X509_set_pubkey(x, key) &&
        X509_add_ext(x, ku, -1) && X509_sign(x, ca_key, md) > 0;
    CHECK(ok);
    BN_free(sn);
    X509_EXTENSION_free(ku);
    X509_NAME_free(n);
    return x;
}

static X509 *issue_ex(EVP_PKEY *key, const char *cn, const EVP_MD *md, bool crl) {
    X509 *ca = cert("issuing-ca.pem");
    EVP_PKEY *ca_key = pkey("issuing-ca.key");
    X509 *x = issue_by(key, cn, md, crl, ca, ca_key);
    EVP_PKEY_free(ca_key);
    X509_free(ca);
    return x;
}

static X509 *issue(EVP_PKEY *key, const char *cn, const EVP_MD *md) {
    return issue_ex(key, cn, md, false);
}

/* The seal make_seal(a) makes, with its maker's part replaced: SES_SealInfo as made, signed by
 * key (alg, with md) under the maker certificate mc. What crypto_ses_make refuses to make
 * (weak keys) can be tried so. */
static uint8_t *reseal(size_t *len, const seal_args *a, EVP_PKEY *key, X509 *mc, const char *alg,
                       const EVP_MD *md) {
    size_t sl = 0, il = 0, siglen = 0;
    uint8_t *good = make_seal(&sl, a), *sig = NULL;
    crypto_ses *s = NULL;
    unsigned char *cd = NULL;
    buf out;
    buf_init(&out, CRYPTO_SES_MAX_DER);
    CHECK_INT(crypto_ses_parse(&s, good, sl), CRYPTO_OK);
    const uint8_t *info = s ? crypto_ses_info_der(s, &il) : NULL;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = info && c && EVP_DigestSignInit(c, NULL, md, NULL, key) == 1 &&
              EVP_DigestSign(c, NULL, &siglen, info, il) == 1 && (sig = malloc(siglen)) &&
              EVP_DigestSign(c, sig, &siglen, info, il) == 1;
    int cn = i2d_X509(mc, &cd);
    CHECK(ok && cn > 0);
    /* GB/T 38540-2020 7.1: SES_Seal ::= SEQUENCE { eSealInfo, cert, signAlgID, signedValue } */
    size_t top = der_open(&out);
    der_put_raw(&out, info, il);
    der_put(&out, DER_OCTET_STRING, cd, (size_t)cn);
    der_put_oid(&out, alg);
    size_t bs = der_open(&out);
    buf_putc(&out, 0);
    buf_append(&out, sig, siglen);
    der_close(&out, bs, DER_BIT_STRING);
    der_close(&out, top, DER_SEQUENCE);
    OPENSSL_free(cd);
    free(sig);
    EVP_MD_CTX_free(c);
    crypto_ses_free(s);
    free(good);
    return buf_detach(&out, len);
}

/* A maker the seal's signature holds for and whose path leads to the anchor, but whose
 * certificate may not make signatures, or whose key or path is too weak (ETSI TS 119 312, as
 * for signers): never TOTAL_PASSED. */
static void test_maker_weak(void) {
    size_t sl, cl;
    seal_args a = {.signer = "rsa2048.pem", .from = now - 86400, .to = now + 86400};
    static const char *RSA_SHA256 = "1.2.840.113549.1.1.11", *ECDSA_SHA256 = "1.2.840.10045.4.3.2";
    static const struct {
        const char *what, *key_type;
        const EVP_MD *(*md)(void);
        crypto_indication ind;
        crypto_subind sub;
        const char *cause;
    } cases[] = {
        {"RSA-3072, SHA-256 (the control)", "rsa3072", EVP_sha256, CRYPTO_TOTAL_PASSED,
         CRYPTO_SUB_NONE, NULL},
        {"a certificate signed with SHA-1", "rsa3072", EVP_sha1, CRYPTO_INDETERMINATE,
         CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE, "too weak"},
        {"RSA-1024", "rsa1024", EVP_sha256, CRYPTO_INDETERMINATE,
         CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE, "too weak"},
        {"P-224", "P-224", EVP_sha256, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE,
         "too weak"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fprintf(stderr, "maker: %s\n", cases[i].what);
        EVP_PKEY *k = strcmp(cases[i].key_type, "rsa3072") == 0 ? pkey("rsa3072.key")
                      : strcmp(cases[i].key_type, "rsa1024") == 0
                          ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024)
                          : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-224");
        CHECK(k != NULL);
        X509 *mc = issue(k, cases[i].what, cases[i].md());
        bool ec = EVP_PKEY_is_a(k, "EC");
        uint8_t *seal = reseal(&sl, &a, k, mc, ec ? ECDSA_SHA256 : RSA_SHA256, EVP_sha256());
        uint8_t *cms = sign(&cl, "rsa2048", seal, sl);
        crypto_verify_result *r = verify(cms, cl, "root-ca.pem", 0, 0);
        EXPECT(r, cases[i].ind, cases[i].sub);
        CHECK(r && r->seal && r->seal->maker_signature);
        CHECK(r && r->seal && r->seal->maker_trusted == (cases[i].ind == CRYPTO_TOTAL_PASSED));
        if (cases[i].cause)
            CHECK(r && r->cause && strstr(r->cause, "seal maker") &&
                  strstr(r->cause, cases[i].cause));
        crypto_verify_result_free(r);
        free(cms);
        free(seal);
        X509_free(mc);
        EVP_PKEY_free(k);
    }

    /* a CA's certificate as the maker's (keyCertSign and cRLSign only) */
    a.maker = "issuing-ca";
    uint8_t *seal = make_seal(&sl, &a);
    uint8_t *cms = sign(&cl, "rsa2048", seal, sl);
    crypto_verify_result *r = verify(cms, cl, "root-ca.pem", 0, 0);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_CHAIN_CONSTRAINTS_FAILURE);
    CHECK(r && r->seal && r->seal->maker_signature && !r->seal->maker_trusted);
    CHECK(r && r->cause && strstr(r->cause, "seal maker") && strstr(r->cause, "key usage"));
    crypto_verify_result_free(r);
    free(cms);
    free(seal);
}

/* The maker's revocation status, as the signer's (ETSI EN 319 102-1 5.2.5 with GB/T 38540-2020
 * 8): a maker whose certificate names a CRL but whose status is nowhere to be found is not
 * trusted (INDETERMINATE, TRY_LATER); with the CRL it holds, or is revoked. */
static void test_maker_revocation(void) {
    size_t sl, cl;
    seal_args a = {.signer = "rsa2048.pem", .from = now - 86400, .to = now + 86400};
    /* the CRL of the issuing CA, as validation data */
    crypto_vdata *vd = NULL;
    FILE *f = fopen(P("issuing-ca.crl"), "r");
    X509_CRL *crl = f ? PEM_read_X509_CRL(f, NULL, NULL, NULL) : NULL;
    unsigned char *crl_der = NULL;
    int crl_len = crl ? i2d_X509_CRL(crl, &crl_der) : -1;
    if (f)
        fclose(f);
    CHECK(crl_len > 0);
    CHECK_INT(crypto_vdata_new(&vd), CRYPTO_OK);
    CHECK_INT(crypto_vdata_add_crl(vd, crl_der, (size_t)crl_len), CRYPTO_OK);

    EVP_PKEY *k = pkey("rsa3072.key");
    X509 *mc = issue_ex(k, "maker naming a CRL", EVP_sha256(), true);
    uint8_t *seal = reseal(&sl, &a, k, mc, "1.2.840.113549.1.1.11", EVP_sha256());
    uint8_t *cms = sign(&cl, "rsa2048", seal, sl);
    crypto_verify_result *r = verify(cms, cl, "root-ca.pem", 0, 0);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_TRY_LATER);
    CHECK(r && r->seal && r->seal->maker_signature && !r->seal->maker_trusted);
    CHECK(r && r->cause && strstr(r->cause, "seal maker") && strstr(r->cause, "revocation"));
    crypto_verify_result_free(r);
    r = verify_vd(cms, cl, "root-ca.pem", 0, 0, vd);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    CHECK(r && r->seal && r->seal->maker_trusted);
    crypto_verify_result_free(r);
    free(cms);
    free(seal);
    X509_free(mc);
    EVP_PKEY_free(k);

    /* a revoked maker (the test PKI's revoked.pem): revoked with the CRL, unknown without */
    a.maker = "revoked";
    seal = make_seal(&sl, &a);
    cms = sign(&cl, "rsa2048", seal, sl);
    r = verify_vd(cms, cl, "root-ca.pem", 0, 0, vd);
    EXPECT(r, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_REVOKED);
    CHECK(r && r->seal && !r->seal->maker_trusted);
    crypto_verify_result_free(r);
    r = verify(cms, cl, "root-ca.pem", 0, 0);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_TRY_LATER);
    CHECK(r && r->seal && !r->seal->maker_trusted);
    crypto_verify_result_free(r);
    free(cms);
    free(seal);
    crypto_vdata_free(vd);
    OPENSSL_free(crl_der);
    X509_CRL_free(crl);
}

/* B-LT validation data (crypto_ltv_collect) for a signature that carries a seal: the seal
 * maker's path too, which the verifier judges with the signer's. Offline here: the test PKI's
 * certificates name no service, but revoked.pem, whose services do not resolve. */
static void test_ltv_maker(void) {
    size_t sl, cl;
    seal_args a = {.signer = "rsa2048.pem", .from = now - 86400, .to = now + 86400};
    uint8_t *seal = make_seal(&sl, &a);
    uint8_t *cms = sign(&cl, "rsa2048", seal, sl);
    X509 *maker = cert("rsa3072.pem"), *signer = cert("rsa2048.pem");
    crypto_ltv *l = NULL;
    CHECK_INT(crypto_ltv_new(&l), CRYPTO_OK);
    CHECK_INT(crypto_ltv_collect(l, cms, cl, NULL, 1000), CRYPTO_OK);
    bool has_maker = false, has_signer = false;
    const STACK_OF(X509) *got = l ? crypto_ltv_certs(l) : NULL;
    for (int i = 0; i < sk_X509_num(got); i++) {
        has_maker |= X509_cmp(sk_X509_value(got, i), maker) == 0;
        has_signer |= X509_cmp(sk_X509_value(got, i), signer) == 0;
    }
    CHECK(has_signer);
    CHECK(has_maker);
    crypto_ltv_free(l);
    free(cms);
    free(seal);

    /* a maker certified by a CA the signature does not carry: without services to ask, its
     * certificate alone is gathered; naming a CRL, its issuer is needed to check the CRL */
    EVP_PKEY *ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), *k = pkey("rsa3072.key");
    X509 *ca = X509_new();
    X509_NAME *cn = X509_NAME_new();
    CHECK(ca_key && ca && cn &&
          X509_NAME_add_entry_by_txt(cn, "CN", MBSTRING_UTF8,
                                     (const unsigned char *)"A CA not in the signature", -1, -1,
                                     0) &&
          X509_set_subject_name(ca, cn) && X509_set_issuer_name(ca, cn));
    X509_NAME_free(cn);
    for (int with_crl = 0; with_crl < 2; with_crl++) {
        X509 *mc = issue_by(k, "maker of another CA", EVP_sha256(), with_crl, ca, ca_key);
        seal = reseal(&sl, &a, k, mc, "1.2.840.113549.1.1.11", EVP_sha256());
        cms = sign(&cl, "rsa2048", seal, sl);
        CHECK_INT(crypto_ltv_new(&l), CRYPTO_OK);
        crypto_err e = crypto_ltv_collect(l, cms, cl, NULL, 300);
        if (!with_crl) {
            CHECK_INT(e, CRYPTO_OK);
            got = crypto_ltv_certs(l);
            has_maker = false;
            for (int i = 0; i < sk_X509_num(got); i++)
                has_maker |= X509_cmp(sk_X509_value(got, i), mc) == 0;
            CHECK(has_maker);
        } else {
            CHECK_INT(e, CRYPTO_E_CERT);
            CHECK(strstr(crypto_errdetail(), "seal maker") != NULL &&
                  strstr(crypto_errdetail(), "issuer") != NULL);
        }
        crypto_ltv_free(l);
        free(cms);
        free(seal);
        X509_free(mc);
    }
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(k);

    /* a maker whose status no service gives: refused, the maker named, as a signer would be */
    a.maker = "revoked";
    seal = make_seal(&sl, &a);
    cms = sign(&cl, "rsa2048", seal, sl);
    CHECK_INT(crypto_ltv_new(&l), CRYPTO_OK);
    CHECK_INT(crypto_ltv_collect(l, cms, cl, NULL, 300), CRYPTO_E_REVOKED);
    fprintf(stderr, "B-LT with a maker of unknown status: %s\n", crypto_errdetail());
    CHECK(strstr(crypto_errdetail(), "seal maker") != NULL);
    crypto_ltv_free(l);
    free(cms);
    free(seal);
    X509_free(maker);
    X509_free(signer);
}

/* A seal maker is trusted through the makers' anchors alone: the signers' roots do not make
 * every certificate under them a seal maker. */
static void test_maker_trust_separate(void) {
    size_t sl, cl;
    seal_args a = {.signer = "rsa2048.pem", .from = now - 86400, .to = now + 86400};
    uint8_t *seal = make_seal(&sl, &a); /* maker rsa3072, under the RSA root */
    uint8_t *cms = sign(&cl, "rsa2048", seal, sl);
    maker_anchors = "";
    crypto_verify_result *r = verify(cms, cl, "root-ca.pem", 0, 0);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_NO_CERTIFICATE_CHAIN_FOUND);
    CHECK(r && r->seal && r->seal->maker_signature && !r->seal->maker_trusted);
    CHECK(r && r->cause && strstr(r->cause, "no seal maker anchors"));
    CHECK(r && r->chain_trusted); /* the signer's chain itself holds */
    crypto_verify_result_free(r);
    maker_anchors = "rsa2048.pem"; /* another certificate as the one maker */
    r = verify(cms, cl, "root-ca.pem", 0, 0);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_NO_CERTIFICATE_CHAIN_FOUND);
    crypto_verify_result_free(r);
    maker_anchors = "rsa3072.pem"; /* the maker's own certificate */
    r = verify(cms, cl, "root-ca.pem", 0, 0);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    CHECK(r && r->seal && r->seal->maker_trusted);
    crypto_verify_result_free(r);
    maker_anchors = NULL;
    free(cms);
    free(seal);
}

static void test_validity(void) {
    size_t sl, cl;
    /* not yet valid: the signature exists now, before the seal's start */
    seal_args a = {.signer = "rsa2048.pem", .from = now + 86400, .to = now + 2 * 86400};
    uint8_t *seal = make_seal(&sl, &a);
    uint8_t *cms = sign(&cl, "rsa2048", seal, sl);
    crypto_verify_result *r = verify(cms, cl, "root-ca.pem", now - 60, 0);
    EXPECT(r, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_NOT_YET_VALID);
    CHECK(r && r->seal && r->seal->validity == -1);
    crypto_verify_result_free(r);
    /* judged at a time within the seal's validity (verify --at) it holds */
    r = verify(cms, cl, "root-ca.pem", now + 86400 + 60, now + 86400 + 120);
    EXPECT(r, CRYPTO_TOTAL_PASSED, CRYPTO_SUB_NONE);
    crypto_verify_result_free(r);
    free(cms);
    free(seal);

    /* expired: valid for the last three days up to an hour ago */
    a = (seal_args){.signer = "rsa2048.pem", .from = now - 3 * 86400, .to = now - 3600};
    seal = make_seal(&sl, &a);
    cms = sign(&cl, "rsa2048", seal, sl);
    /* the signer claims a time within: no proof it was made then */
    r = verify(cms, cl, "root-ca.pem", now - 86400, 0);
    EXPECT(r, CRYPTO_INDETERMINATE, CRYPTO_SUB_OUT_OF_BOUNDS_NO_POE);
    CHECK(r && r->cause && strstr(r->cause, "seal expired"));
    crypto_verify_result_free(r);
    /* the signer claims a time after the seal expired */
    r = verify(cms, cl, "root-ca.pem", now - 60, 0);
    EXPECT(r, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_EXPIRED);
    CHECK(r && r->seal && r->seal->validity == 1);
    crypto_verify_result_free(r);
    /* or before it began */
    r = verify(cms, cl, "root-ca.pem", now - 4 * 86400, 0);
    EXPECT(r, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_NOT_YET_VALID);
    crypto_verify_result_free(r);
    free(cms);
    free(seal);
}

static void test_malformed(void) {
    size_t cl;
    /* one DER SEQUENCE, but no seal inside */
    static const uint8_t junk[] = {0x30, 0x06, 0x16, 0x02, 'E', 'S', 0x02, 0x00};
    uint8_t *cms = sign(&cl, "rsa2048", junk, sizeof junk);
    crypto_verify_result *r = verify(cms, cl, "root-ca.pem", 0, 0);
    EXPECT(r, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE);
    CHECK(r && r->seal && !r->seal->ses && r->seal->cause);
    crypto_verify_result_free(r);
    free(cms);

    /* the signer takes one DER SEQUENCE only */
    crypto_key *key = NULL;
    crypto_signer *s = NULL;
    X509 *c = cert("rsa2048.pem");
    static const uint8_t two[] = {0x30, 0x00, 0x30, 0x00};
    crypto_signer_opts so = {.seal_der = two, .seal_len = sizeof two};
    CHECK_INT(crypto_key_load(&key, NULL, NULL, P("rsa2048.key"), NULL), CRYPTO_OK);
    CHECK_INT(crypto_signer_new(&s, key, c, NULL, &so), CRYPTO_E_FORMAT);
    so.seal_len = 3; /* truncated */
    CHECK_INT(crypto_signer_new(&s, key, c, NULL, &so), CRYPTO_E_FORMAT);
    crypto_key_free(key);
    X509_free(c);
}

int main(void) {
    const char *bd = getenv("ESEAL_BUILD_DIR");
    if (!bd) {
        fprintf(stderr, "ESEAL_BUILD_DIR is not set\n");
        return 1;
    }
    snprintf(pki, sizeof pki, "%s/testdata/pki", bd);
    now = time(NULL);
    test_valid();
    test_signer_not_listed();
    test_maker_signature_broken();
    test_maker_untrusted();
    test_maker_weak();
    test_maker_revocation();
    test_ltv_maker();
    test_maker_trust_separate();
    test_validity();
    test_malformed();
    return check_failures ? 1 : 0;
}
