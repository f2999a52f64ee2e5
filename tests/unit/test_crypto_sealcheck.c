/* crypto/signer.c and crypto/sealcheck.c: a GB/T 38540 seal carried as a signed attribute of our
 * CMS, judged with the signature. With the test PKI (tests/pki/make-pki.sh): signer rsa2048 or
 * ec256, seal maker rsa3072 (under the RSA root). Each case checks the indication and
 * sub-indication a user would see, and the seal's findings. */
#include <stdlib.h>
#include <time.h>

#include <openssl/pem.h>

#include "check.h"
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
    time_t from, to;
    bool digests;
} seal_args;

/* A seal made by rsa3072 for the given signer: its DER (malloc'd). */
static uint8_t *make_seal(size_t *len, const seal_args *a) {
    static const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 1, 2, 3};
    crypto_key *mk = NULL;
    X509 *mc = cert("rsa3072.pem");
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
    CHECK_INT(crypto_key_load(&mk, NULL, NULL, P("rsa3072.key"), NULL), CRYPTO_OK);
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

/* Verifies with the anchors named (space-separated file names of the PKI). */
static crypto_verify_result *verify(const uint8_t *cms, size_t len, const char *anchors,
                                    time_t claimed, time_t at) {
    crypto_trust *t = NULL;
    crypto_verify_result *r = NULL;
    char names[256];
    snprintf(names, sizeof names, "%s", anchors);
    CHECK_INT(crypto_trust_new(&t), CRYPTO_OK);
    for (char *tok = strtok(names, " "); tok; tok = strtok(NULL, " "))
        CHECK_INT(crypto_trust_add(t, P(tok)), CRYPTO_OK);
    crypto_verify_opts o = {.trust = t, .claimed_time = claimed, .now = at};
    struct iovec part = {(void *)(uintptr_t)content, sizeof content - 1};
    CHECK_INT(crypto_verify_signature(&r, cms, len, CRYPTO_SIG_CADES, &part, 1, &o), CRYPTO_OK);
    crypto_trust_free(t);
    return r;
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
    test_validity();
    test_malformed();
    return check_failures ? 1 : 0;
}
