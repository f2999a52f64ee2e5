/* crypto/ses.c: GB/T 38540 seals made with SM2, RSA and ECDSA makers read back and checked by
 * OpenSSL itself over the bytes of SES_SealInfo; GM/T 0031 seals built here by an encoder of
 * the test's own (DER and BER, each reading of what the maker signed, raw SM2 r||s) read; and
 * every tamper told apart: picture, validity, signer not listed, signature, trailing bytes,
 * truncation at every length, limits, header ID, BIT STRING unused bits, critical extensions.
 * With ESEAL_SES_CORPUS set, the seals are also written there as fuzz seeds. */
#include <stdlib.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "crypto/ca.h"
#include "crypto/der.h"
#include "crypto/ses.h"

#define T_CREATED 1704067200 /* 2024-01-01T00:00:00Z */
#define T_FROM 1704067200
#define T_TO 1893456000 /* 2030-01-01T00:00:00Z */

static const uint8_t PICTURE[] = "\x89PNG\r\n\x1a\n a picture that is only bytes here, unique";

static EVP_PKEY *keygen(const char *alg) {
    if (strcmp(alg, "RSA") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    if (strcmp(alg, "EC") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    return EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
}

/* A self-signed certificate for k, valid from yesterday for a year, read back from its DER. */
static X509 *make_cert(EVP_PKEY *k, const char *cn, bool ca) {
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(strlen(cn) * 7919 + (ca ? 1 : 0)));
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    X509_gmtime_adj(X509_getm_notBefore(x), -86400);
    X509_gmtime_adj(X509_getm_notAfter(x), 365 * 86400L);
    X509_set_pubkey(x, k);
    X509_NAME_free(n);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints,
                                            ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    if (crypto_is_sm2(k)) {
        EVP_MD_CTX *c = crypto_sm2_md_ctx(k, true);
        CHECK(c && X509_sign_ctx(x, c) > 0);
        EVP_MD_CTX_free(c);
    } else {
        CHECK(X509_sign(x, k, EVP_sha256()) > 0);
    }
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    const unsigned char *p = der;
    X509 *y = d2i_X509(NULL, &p, len);
    OPENSSL_free(der);
    X509_free(x);
    CHECK(y != NULL);
    return y;
}

typedef struct party {
    EVP_PKEY *pkey;
    crypto_key *key;
    X509 *cert;
} party;

static party party_new(const char *alg, const char *cn, bool ca) {
    party p = {keygen(alg), NULL, NULL};
    CHECK(p.pkey != NULL);
    p.cert = make_cert(p.pkey, cn, ca);
    EVP_PKEY_up_ref(p.pkey);
    CHECK_INT(crypto_key_from_pkey(&p.key, p.pkey), CRYPTO_OK);
    return p;
}

static void party_free(party *p) {
    crypto_key_free(p->key);
    EVP_PKEY_free(p->pkey);
    X509_free(p->cert);
}

/* Writes a seed for the fuzz target when ESEAL_SES_CORPUS names a directory. */
static void seed(const char *name, const uint8_t *der, size_t len) {
    const char *dir = getenv("ESEAL_SES_CORPUS");
    if (!dir || !*dir)
        return;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.der", dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(der, 1, len, f);
        fclose(f);
    }
}

/* ---- a small DER reader, to find what to tamper with ---- */

/* The value at der[off]: header length and content length. */
static void tlv_at(const uint8_t *der, size_t off, size_t *hdr, size_t *len) {
    uint8_t l0 = der[off + 1];
    *hdr = 2;
    *len = l0;
    if (l0 & 0x80) {
        *len = 0;
        for (size_t i = 0; i < (size_t)(l0 & 0x7f); i++)
            *len = *len << 8 | der[off + 2 + i];
        *hdr += l0 & 0x7f;
    }
}

/* The offset of child k (0-based) of the constructed value at off. */
static size_t child(const uint8_t *der, size_t off, int k) {
    size_t hdr, len;
    tlv_at(der, off, &hdr, &len);
    size_t at = off + hdr;
    for (int i = 0; i < k; i++) {
        size_t h, l;
        tlv_at(der, at, &h, &l);
        at += h + l;
    }
    return at;
}

static size_t find(const uint8_t *hay, size_t n, const void *needle, size_t m) {
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return i;
    return SIZE_MAX;
}

static size_t find_last(const uint8_t *hay, size_t n, const void *needle, size_t m) {
    for (size_t i = n >= m ? n - m + 1 : 0; i-- > 0;)
        if (memcmp(hay + i, needle, m) == 0)
            return i;
    return SIZE_MAX;
}

/* ---- seals made by the library ---- */

static crypto_err make(buf *out, party *maker, STACK_OF(X509) * signers, bool digests) {
    crypto_ses_spec sp = {.name = "测试有限公司合同专用章",
                          .esid = NULL,
                          .vid = NULL,
                          .type = 1,
                          .certs = signers,
                          .list_digests = digests,
                          .valid_from = T_FROM,
                          .valid_to = T_TO,
                          .picture = PICTURE,
                          .picture_len = sizeof PICTURE - 1,
                          .width_mm = 42,
                          .height_mm = 42,
                          .maker_key = maker->key,
                          .maker_cert = maker->cert};
    buf_reset(out);
    return crypto_ses_make(out, &sp);
}

/* OpenSSL alone checks the maker's signature over the bytes of SES_SealInfo. */
static bool openssl_verifies(EVP_PKEY *pub, const uint8_t *der, size_t len) {
    size_t info = child(der, 0, 0), sig = child(der, 0, 3), ih, il, sh, sl;
    tlv_at(der, info, &ih, &il);
    tlv_at(der, sig, &sh, &sl);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    bool sm2 = crypto_is_sm2(pub), ok = false;
    if (EVP_DigestVerifyInit(c, &pc, sm2 ? EVP_sm3() : EVP_sha256(), NULL, pub) > 0 &&
        (!sm2 || EVP_PKEY_CTX_set1_id(pc, CRYPTO_SM2_ID, strlen(CRYPTO_SM2_ID)) > 0))
        ok = der[sig + sh] == 0 && sig + sh + sl == len &&
             EVP_DigestVerify(c, der + sig + sh + 1, sl - 1, der + info, ih + il) == 1;
    EVP_MD_CTX_free(c);
    return ok;
}

static void test_round_trip(const char *alg, const char *want_oid) {
    party maker = party_new(alg, "Seal maker", false);
    party a = party_new("SM2", "Signer A", false), b = party_new("EC", "Signer B", false),
          c = party_new("RSA", "Not listed", false);
    STACK_OF(X509) *signers = sk_X509_new_null();
    sk_X509_push(signers, a.cert);
    sk_X509_push(signers, b.cert);
    buf out;
    buf_init(&out, CRYPTO_SES_MAX_DER);
    CHECK_INT(make(&out, &maker, signers, false), CRYPTO_OK);
    CHECK(openssl_verifies(X509_get0_pubkey(maker.cert), out.data, out.len));
    char name[64];
    snprintf(name, sizeof name, "made-%s", alg);
    seed(name, out.data, out.len);

    crypto_ses *s = NULL;
    CHECK_INT(crypto_ses_parse(&s, out.data, out.len), CRYPTO_OK);
    if (s) {
        CHECK_INT(s->version, 4);
        CHECK_STR(s->vid, "eseal");
        CHECK(strlen(s->esid) == 31 && s->esid[14] == '-');
        CHECK_INT(s->type, 1);
        CHECK_STR(s->name, "测试有限公司合同专用章");
        CHECK(s->created > T_CREATED && s->created <= time(NULL));
        CHECK_INT(s->valid_from, T_FROM);
        CHECK_INT(s->valid_to, T_TO);
        CHECK_INT(s->cert_list_type, 1);
        CHECK_INT(s->n_listed, 2);
        CHECK_INT(sk_X509_num(s->certs), 2);
        CHECK_STR(s->picture_type, "PNG");
        CHECK_INT(s->picture_len, sizeof PICTURE - 1);
        CHECK(s->picture && memcmp(s->picture, PICTURE, s->picture_len) == 0);
        CHECK_INT(s->width_mm, 42);
        CHECK_INT(s->height_mm, 42);
        CHECK(X509_cmp(s->maker, maker.cert) == 0);
        CHECK_STR(s->sig_alg, want_oid);
        size_t dl = 0;
        CHECK(crypto_ses_der(s, &dl) != NULL && dl == out.len);
        CHECK(crypto_ses_signed_over(s) == NULL);
        CHECK_INT(crypto_ses_check_maker(s), CRYPTO_OK);
        CHECK_STR(crypto_ses_signed_over(s), "SES_SealInfo");
        CHECK(crypto_ses_lists(s, a.cert));
        CHECK(crypto_ses_lists(s, b.cert));
        CHECK(!crypto_ses_lists(s, c.cert));
        CHECK(!crypto_ses_lists(s, maker.cert));
        CHECK_INT(crypto_ses_when(s, T_FROM - 1), -1);
        CHECK_INT(crypto_ses_when(s, T_FROM), 0);
        CHECK_INT(crypto_ses_when(s, T_TO), 0);
        CHECK_INT(crypto_ses_when(s, T_TO + 1), 1);
        CHECK_INT(crypto_ses_ext_count(s), 0);
    }
    crypto_ses_free(s);

    /* certListType 2: SM3 digests of the certificates */
    CHECK_INT(make(&out, &maker, signers, true), CRYPTO_OK);
    snprintf(name, sizeof name, "made-%s-digests", alg);
    seed(name, out.data, out.len);
    s = NULL;
    CHECK_INT(crypto_ses_parse(&s, out.data, out.len), CRYPTO_OK);
    if (s) {
        CHECK_INT(s->cert_list_type, 2);
        CHECK(s->certs == NULL);
        CHECK_INT(s->n_listed, 2);
        const char *type = NULL;
        const uint8_t *v = NULL;
        size_t vl = 0;
        CHECK(crypto_ses_digest(s, 1, &type, &v, &vl));
        CHECK_STR(type, "SM3");
        CHECK_INT(vl, 32);
        CHECK(!crypto_ses_digest(s, 2, &type, &v, &vl));
        CHECK_INT(crypto_ses_check_maker(s), CRYPTO_OK);
        CHECK(crypto_ses_lists(s, a.cert));
        CHECK(crypto_ses_lists(s, b.cert));
        CHECK(!crypto_ses_lists(s, c.cert));
    }
    crypto_ses_free(s);
    buf_free(&out);
    sk_X509_free(signers);
    party_free(&maker);
    party_free(&a);
    party_free(&b);
    party_free(&c);
}

/* Each change to a made seal, read and judged. */
static void test_tampers(void) {
    party maker = party_new("SM2", "Seal maker", false);
    party a = party_new("SM2", "Signer A", false);
    STACK_OF(X509) *signers = sk_X509_new_null();
    sk_X509_push(signers, a.cert);
    buf out;
    buf_init(&out, CRYPTO_SES_MAX_DER);
    CHECK_INT(make(&out, &maker, signers, false), CRYPTO_OK);
    size_t n = out.len;
    uint8_t *t = malloc(n + 1);
    crypto_ses *s = NULL;

    /* the picture's bytes */
    memcpy(t, out.data, n);
    size_t at = find(t, n, PICTURE, sizeof PICTURE - 1);
    CHECK(at != SIZE_MAX);
    t[at + 20] ^= 0x20;
    CHECK_INT(crypto_ses_parse(&s, t, n), CRYPTO_OK);
    CHECK_INT(crypto_ses_check_maker(s), CRYPTO_E_SIGN);
    CHECK(strstr(crypto_errdetail(), "does not verify") != NULL);
    crypto_ses_free(s);

    /* validEnd, 2030 made 2031: still a valid time, no longer the maker's */
    memcpy(t, out.data, n);
    at = find(t, n, "20300101000000Z", 15);
    CHECK(at != SIZE_MAX);
    t[at + 3] = '1';
    s = NULL;
    CHECK_INT(crypto_ses_parse(&s, t, n), CRYPTO_OK);
    if (s) {
        CHECK_INT(s->valid_to, T_TO + 365 * 86400);
        CHECK_INT(crypto_ses_check_maker(s), CRYPTO_E_SIGN);
    }
    crypto_ses_free(s);
    /* and made an invalid time (month 13) */
    t[at + 4] = '1';
    t[at + 5] = '3';
    s = NULL;
    CHECK_INT(crypto_ses_parse(&s, t, n), CRYPTO_E_FORMAT);
    CHECK(strstr(crypto_errdetail(), "validEnd") != NULL);
    CHECK(s == NULL);

    /* one bit of the signature */
    memcpy(t, out.data, n);
    t[n - 5] ^= 0x01;
    s = NULL;
    CHECK_INT(crypto_ses_parse(&s, t, n), CRYPTO_OK);
    CHECK_INT(crypto_ses_check_maker(s), CRYPTO_E_SIGN);
    crypto_ses_free(s);

    /* the BIT STRING's unused-bits octet */
    memcpy(t, out.data, n);
    size_t sig = child(t, 0, 3), sh, sl;
    tlv_at(t, sig, &sh, &sl);
    CHECK_INT(t[sig], 0x03);
    CHECK_INT(t[sig + sh], 0);
    t[sig + sh] = 1;
    s = NULL;
    CHECK_INT(crypto_ses_parse(&s, t, n), CRYPTO_E_FORMAT);
    CHECK(strstr(crypto_errdetail(), "unused bits") != NULL);

    /* the header's ID */
    memcpy(t, out.data, n);
    at = find(t, n,
              "\x16\x02"
              "ES",
              4);
    CHECK(at != SIZE_MAX);
    t[at + 3] = 'X';
    CHECK_INT(crypto_ses_parse(&s, t, n), CRYPTO_E_FORMAT);
    CHECK(strstr(crypto_errdetail(), "SES_Header.ID") != NULL);

    /* the version */
    memcpy(t, out.data, n);
    at = find(t, n,
              "\x02\x01\x04\x16\x05"
              "eseal",
              10);
    CHECK(at != SIZE_MAX);
    t[at + 2] = 2;
    CHECK_INT(crypto_ses_parse(&s, t, n), CRYPTO_E_FORMAT);
    CHECK(strstr(crypto_errdetail(), "version") != NULL);

    /* a byte after the seal */
    memcpy(t, out.data, n);
    t[n] = 0;
    CHECK_INT(crypto_ses_parse(&s, t, n + 1), CRYPTO_E_FORMAT);
    CHECK(strstr(crypto_errdetail(), "follow") != NULL);

    /* cut short anywhere: refused, never read past */
    int refused = 0;
    for (size_t k = 0; k < n; k++) {
        uint8_t *cut = malloc(k ? k : 1); /* exactly k bytes, for ASan */
        memcpy(cut, out.data, k);
        s = NULL;
        crypto_err e = crypto_ses_parse(&s, cut, k);
        refused += e == CRYPTO_E_FORMAT && s == NULL;
        crypto_ses_free(s);
        free(cut);
    }
    CHECK_INT(refused, (long long)n);

    /* every byte of SES_SealInfo or of the signature changed: never a seal whose signature
     * holds (the maker's certificate is not under the signature: its chain is checked) */
    int held = 0;
    size_t ih, il;
    tlv_at(out.data, child(out.data, 0, 0), &ih, &il);
    for (size_t k = 0; k < n; k++) {
        if (k >= child(out.data, 0, 0) + ih + il && k < child(out.data, 0, 3))
            continue;
        memcpy(t, out.data, n);
        t[k] ^= 0x55;
        s = NULL;
        if (crypto_ses_parse(&s, t, n) == CRYPTO_OK && crypto_ses_check_maker(s) == CRYPTO_OK)
            held++;
        crypto_ses_free(s);
    }
    CHECK_INT(held, 0);

    /* too large */
    uint8_t *big = calloc(1, (size_t)CRYPTO_SES_MAX_DER + 1);
    s = NULL;
    CHECK_INT(crypto_ses_parse(&s, big, (size_t)CRYPTO_SES_MAX_DER + 1), CRYPTO_E_LIMIT);
    free(big);
    CHECK_INT(crypto_ses_parse(&s, out.data, 0), CRYPTO_E_FORMAT);

    free(t);
    buf_free(&out);
    sk_X509_free(signers);
    party_free(&maker);
    party_free(&a);
}

/* ---- seals built here, GB/T 38540 variants and GM/T 0031 ---- */

typedef struct variant {
    bool gmt;                /* GM/T 0031-2014 layout */
    int version;             /* SES_Header.version */
    const char *id;          /* SES_Header.ID */
    int list_type;           /* certListType (v4) */
    const char *digest_type; /* CertDigestObj.type for list_type 2 */
    int n_listed;            /* entries: the signers given, repeated */
    bool utc;                /* UTCTime rather than GeneralizedTime */
    const char *name;
    int width;
    int ext;         /* 0 none, 1 a non-critical ExtData, 2 a critical one */
    int signed_form; /* GM/T: 0 SEQUENCE { info, cert, alg }, 1 info alone */
    bool raw_sig;    /* SM2 signature as r || s */
    bool indefinite; /* the outer SEQUENCE and SES_SealInfo with indefinite lengths */
} variant;

static void put_str(buf *b, uint8_t tag, const char *s) {
    der_put(b, tag, s, strlen(s));
}

static void put_time(buf *b, time_t t, bool utc) {
    struct tm tm;
    char s[32];
    gmtime_r(&t, &tm);
    strftime(s, sizeof s, "%Y%m%d%H%M%SZ", &tm);
    put_str(b, utc ? 0x17 : 0x18, utc ? s + 2 : s); /* UTCTime: two digits of the year */
}

static void put_cert(buf *b, X509 *x) {
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    der_put(b, DER_OCTET_STRING, der, (size_t)n);
    OPENSSL_free(der);
}

/* SES_SealInfo as the variant says. */
static void build_info(buf *b, const variant *v, STACK_OF(X509) * signers) {
    size_t info = der_open(b), h = der_open(b);
    put_str(b, 0x16, v->id ? v->id : "ES");
    der_put_uint(b, (uint64_t)v->version);
    put_str(b, 0x16, "test vendor");
    der_close(b, h, DER_SEQUENCE);
    put_str(b, 0x16, "ESID-0001");
    size_t pr = der_open(b);
    der_put_uint(b, 1);
    put_str(b, 0x0c, v->name ? v->name : "Test Co. Ltd.");
    if (!v->gmt)
        der_put_uint(b, (uint64_t)v->list_type);
    size_t list = der_open(b);
    for (int i = 0; i < v->n_listed; i++) {
        X509 *x = sk_X509_value(signers, i % sk_X509_num(signers));
        if (v->list_type == 2) {
            unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
            unsigned ml = 0;
            int n = i2d_X509(x, &der);
            const char *dt = v->digest_type;
            EVP_Digest(der, (size_t)n, md, &ml,
                       strstr(dt, "256")  ? EVP_sha256()
                       : strstr(dt, "1")  ? EVP_sha1()
                       : strstr(dt, "MD") ? EVP_md5()
                                          : EVP_sm3(),
                       NULL);
            size_t cd = der_open(b);
            put_str(b, 0x13, dt);
            der_put(b, DER_OCTET_STRING, md, ml);
            der_close(b, cd, DER_SEQUENCE);
            OPENSSL_free(der);
        } else {
            put_cert(b, x);
        }
    }
    der_close(b, list, DER_SEQUENCE);
    put_time(b, T_CREATED, v->utc);
    put_time(b, T_FROM, v->utc);
    put_time(b, T_TO, v->utc);
    der_close(b, pr, DER_SEQUENCE);
    size_t pic = der_open(b);
    put_str(b, 0x16, "PNG");
    der_put(b, DER_OCTET_STRING, PICTURE, sizeof PICTURE - 1);
    der_put_uint(b, (uint64_t)(v->width ? v->width : 40));
    der_put_uint(b, 40);
    der_close(b, pic, DER_SEQUENCE);
    if (v->ext) {
        size_t exts = der_open(b), e = der_open(b);
        der_put_oid(b, "1.2.3.4.5");
        if (v->ext == 2)
            der_put(b, 0x01, "\xff", 1);
        der_put(b, DER_OCTET_STRING, "x", 1);
        der_close(b, e, DER_SEQUENCE);
        der_close(b, exts, DER_SEQUENCE);
    }
    der_close(b, info, DER_SEQUENCE);
}

/* The maker's signature as the variant says. */
static void sign(buf *sigv, const uint8_t *msg, size_t n, party *maker, bool raw) {
    struct iovec part = {(void *)(uintptr_t)msg, n};
    uint8_t *sig = NULL;
    size_t sl = 0;
    const char *oid = NULL;
    CHECK_INT(crypto_key_sign_message(&sig, &sl, &oid, maker->key, &part, 1), CRYPTO_OK);
    if (raw) {
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sl);
        const BIGNUM *r, *s;
        uint8_t rs[64];
        ECDSA_SIG_get0(es, &r, &s);
        BN_bn2binpad(r, rs, 32);
        BN_bn2binpad(s, rs + 32, 32);
        buf_append(sigv, rs, 64);
        ECDSA_SIG_free(es);
    } else {
        buf_append(sigv, sig, sl);
    }
    free(sig);
}

static const char *alg_of(party *maker) {
    return crypto_is_sm2(maker->pkey)         ? CRYPTO_OID_SM2_SM3
           : EVP_PKEY_is_a(maker->pkey, "EC") ? "1.2.840.10045.4.3.2"
                                              : "1.2.840.113549.1.1.11";
}

/* A whole seal: SES_Seal (v4) or SESeal (GM/T 0031), signed by maker. */
static void build(buf *out, const variant *v, party *maker, STACK_OF(X509) * signers) {
    buf info, tbs, sigv;
    buf_init(&info, CRYPTO_SES_MAX_DER * 2);
    buf_init(&tbs, CRYPTO_SES_MAX_DER * 2);
    buf_init(&sigv, 1024);
    buf_reset(out);
    build_info(&info, v, signers);
    const char *alg = alg_of(maker);
    if (v->gmt && v->signed_form == 0) { /* SEQUENCE { esealInfo, cert, signatureAlgorithm } */
        size_t s = der_open(&tbs);
        der_put_raw(&tbs, info.data, info.len);
        put_cert(&tbs, maker->cert);
        der_put_oid(&tbs, alg);
        der_close(&tbs, s, DER_SEQUENCE);
        sign(&sigv, tbs.data, tbs.len, maker, v->raw_sig);
    } else {
        sign(&sigv, info.data, info.len, maker, v->raw_sig);
    }
    size_t top = der_open(out);
    if (v->indefinite) { /* as BouncyCastle writes a BERSequence */
        size_t h, l;
        tlv_at(info.data, 0, &h, &l);
        buf_append(out, "\x30\x80", 2);
        buf_append(out, info.data + h, l);
        buf_append(out, "\x00\x00", 2);
    } else {
        der_put_raw(out, info.data, info.len);
    }
    size_t si = v->gmt ? der_open(out) : 0;
    put_cert(out, maker->cert);
    der_put_oid(out, alg);
    size_t bs = der_open(out);
    buf_putc(out, 0);
    buf_append(out, sigv.data, sigv.len);
    der_close(out, bs, DER_BIT_STRING);
    if (v->gmt)
        der_close(out, si, DER_SEQUENCE);
    if (v->indefinite) {
        buf tmp;
        buf_init(&tmp, CRYPTO_SES_MAX_DER * 2);
        buf_append(&tmp, "\x30\x80", 2);
        buf_append(&tmp, out->data + top, out->len - top);
        buf_append(&tmp, "\x00\x00", 2);
        buf_reset(out);
        buf_append(out, tmp.data, tmp.len);
        buf_free(&tmp);
    } else {
        der_close(out, top, DER_SEQUENCE);
    }
    buf_free(&info);
    buf_free(&tbs);
    buf_free(&sigv);
}

/* Builds the variant and reads it: the error, and (when read) whether the maker's signature
 * holds and whether probe is listed. */
static crypto_err try_variant(const variant *v, party *maker, STACK_OF(X509) * signers, X509 *probe,
                              crypto_err *maker_err, bool *lists, const char *seed_name) {
    buf out;
    buf_init(&out, CRYPTO_SES_MAX_DER * 2);
    build(&out, v, maker, signers);
    if (seed_name)
        seed(seed_name, out.data, out.len);
    crypto_ses *s = NULL;
    crypto_err e = crypto_ses_parse(&s, out.data, out.len);
    if (s) {
        *maker_err = crypto_ses_check_maker(s);
        *lists = crypto_ses_lists(s, probe);
        CHECK_INT(s->version, v->version);
        CHECK_INT(s->valid_to, T_TO);
        CHECK_INT(s->created, T_CREATED);
        CHECK_INT(s->width_mm, v->width ? v->width : 40);
        CHECK_STR(s->vid, "test vendor");
        CHECK_STR(s->esid, "ESID-0001");
    } else {
        CHECK(e != CRYPTO_OK);
    }
    crypto_ses_free(s);
    buf_free(&out);
    return e;
}

static void test_built(void) {
    party sm2 = party_new("SM2", "Maker SM2", false), ec = party_new("EC", "Maker EC", false);
    party a = party_new("SM2", "Signer A", false), other = party_new("SM2", "Other", false);
    STACK_OF(X509) *signers = sk_X509_new_null(), *others = sk_X509_new_null();
    sk_X509_push(signers, a.cert);
    sk_X509_push(others, other.cert);
    crypto_err me;
    bool lists;
    char detail[512];
    variant v4 = {.version = 4, .list_type = 1, .n_listed = 1};

    /* our encoder agrees with the library's */
    me = CRYPTO_E_ARG;
    CHECK_INT(try_variant(&v4, &sm2, signers, a.cert, &me, &lists, NULL), CRYPTO_OK);
    CHECK_INT(me, CRYPTO_OK);
    CHECK(lists);
    /* the signer not listed */
    CHECK_INT(try_variant(&v4, &sm2, others, a.cert, &me, &lists, NULL), CRYPTO_OK);
    CHECK(!lists);

    /* certListType 2 with each digest */
    variant d = v4;
    d.list_type = 2;
    d.digest_type = "SHA-256";
    CHECK_INT(try_variant(&d, &sm2, signers, a.cert, &me, &lists, "v4-sha256"), CRYPTO_OK);
    CHECK_INT(me, CRYPTO_OK);
    CHECK(lists);
    d.digest_type = "sm3";
    CHECK_INT(try_variant(&d, &sm2, signers, a.cert, &me, &lists, NULL), CRYPTO_OK);
    CHECK(lists);
    d.digest_type = "SM3";
    CHECK_INT(try_variant(&d, &sm2, others, a.cert, &me, &lists, NULL), CRYPTO_OK);
    CHECK(!lists);
    d.digest_type = "SHA1"; /* too weak: lists no one */
    CHECK_INT(try_variant(&d, &sm2, signers, a.cert, &me, &lists, NULL), CRYPTO_OK);
    CHECK(!lists);
    d.digest_type = "MD5";
    CHECK_INT(try_variant(&d, &sm2, signers, a.cert, &me, &lists, NULL), CRYPTO_OK);
    CHECK(!lists);
    /* certificates listed where type 2 says digests, and the other way round */
    d.list_type = 1;
    variant mixed = d;
    mixed.list_type = 2;
    mixed.digest_type = "SM3";
    buf out;
    buf_init(&out, CRYPTO_SES_MAX_DER * 2);
    build(&out, &mixed, &sm2, signers);
    size_t at = find(out.data, out.len, "\x02\x01\x02\x30", 4); /* certListType 2, SEQUENCE */
    CHECK(at != SIZE_MAX);
    out.data[at + 2] = 1;
    crypto_ses *s = NULL;
    CHECK_INT(crypto_ses_parse(&s, out.data, out.len), CRYPTO_E_FORMAT);
    CHECK(strstr(crypto_errdetail(), "certList entry 1") != NULL);
    build(&out, &v4, &sm2, signers);
    at = find(out.data, out.len, "\x02\x01\x01\x30", 4);
    CHECK(at != SIZE_MAX);
    out.data[at + 2] = 2;
    CHECK_INT(crypto_ses_parse(&s, out.data, out.len), CRYPTO_E_FORMAT);
    CHECK(strstr(crypto_errdetail(), "CertDigestObj") != NULL);
    out.data[at + 2] = 3;
    CHECK_INT(crypto_ses_parse(&s, out.data, out.len), CRYPTO_E_FORMAT);
    CHECK(strstr(crypto_errdetail(), "certListType") != NULL);

    /* limits: 32 signers read, 33 refused; none refused */
    variant many = v4;
    many.n_listed = 32;
    CHECK_INT(try_variant(&many, &sm2, signers, a.cert, &me, &lists, NULL), CRYPTO_OK);
    CHECK_INT(me, CRYPTO_OK);
    many.n_listed = 33;
    CHECK_INT(try_variant(&many, &sm2, signers, a.cert, &me, &lists, NULL), CRYPTO_E_LIMIT);
    many.n_listed = 0;
    CHECK_INT(try_variant(&many, &sm2, signers, a.cert, &me, &lists, NULL), CRYPTO_E_FORMAT);
    many.n_listed = 65; /* beyond what the walk lets the templates allocate */
    CHECK_INT(try_variant(&many, &sm2, signers, a.cert, &me, &lists, NULL), CRYPTO_E_LIMIT);

    /* fields: width, name, times, extensions */
    variant f = v4;
    f.width = 1001;
    CHECK_INT(try_variant(&f, &sm2, signers, a.cert, &me, &lists, NULL), CRYPTO_E_FORMAT);
    f.width = 1000;
    CHECK_INT(try_variant(&f, &sm2, signers, a.cert, &me, &lists, NULL), CRYPTO_OK);
    f = v4;
    f.name = "bad \xc0\xaf utf-8";
    CHECK_INT(try_variant(&f, &sm2, signers, a.cert, &me, &lists, NULL), CRYPTO_E_FORMAT);
    CHECK(strstr(crypto_errdetail(), "UTF-8") != NULL);
    f = v4;
    f.utc = true; /* UTCTime in a version 4 seal, as some producers write: read */
    CHECK_INT(try_variant(&f, &sm2, signers, a.cert, &me, &lists, NULL), CRYPTO_OK);
    CHECK_INT(me, CRYPTO_OK);
    f = v4;
    f.ext = 1;
    CHECK_INT(try_variant(&f, &sm2, signers, a.cert, &me, &lists, "v4-ext"), CRYPTO_OK);
    CHECK_INT(me, CRYPTO_OK);
    f.ext = 2;
    CHECK_INT(try_variant(&f, &sm2, signers, a.cert, &me, &lists, NULL), CRYPTO_E_FORMAT);
    CHECK(strstr(crypto_errdetail(), "critical extension (1.2.3.4.5)") != NULL);
    f = v4;
    f.id = "EX";
    CHECK_INT(try_variant(&f, &sm2, signers, a.cert, &me, &lists, NULL), CRYPTO_E_FORMAT);
    f = v4;
    f.indefinite = true; /* a version 4 seal is DER */
    CHECK_INT(try_variant(&f, &sm2, signers, a.cert, &me, &lists, NULL), CRYPTO_E_FORMAT);
    CHECK(strstr(crypto_errdetail(), "indefinite") != NULL);
    /* an ECDSA maker */
    CHECK_INT(try_variant(&v4, &ec, signers, a.cert, &me, &lists, NULL), CRYPTO_OK);
    CHECK_INT(me, CRYPTO_OK);
    /* raw r||s is a GM/T 0031 habit, accepted in either layout for SM2 */
    f = v4;
    f.raw_sig = true;
    CHECK_INT(try_variant(&f, &sm2, signers, a.cert, &me, &lists, NULL), CRYPTO_OK);
    CHECK_INT(me, CRYPTO_OK);

    /* GM/T 0031: version 2, UTCTime, signed over SEQUENCE { esealInfo, cert, alg } */
    variant g = {.gmt = true, .version = 2, .list_type = 1, .n_listed = 2, .utc = true};
    s = NULL;
    build(&out, &g, &sm2, signers);
    seed("gmt-v2", out.data, out.len);
    CHECK_INT(crypto_ses_parse(&s, out.data, out.len), CRYPTO_OK);
    if (s) {
        CHECK_INT(s->version, 2);
        CHECK_INT(s->cert_list_type, 1);
        CHECK_INT(s->n_listed, 2);
        CHECK_INT(s->valid_from, T_FROM);
        CHECK_STR(s->name, "Test Co. Ltd.");
        CHECK_INT(crypto_ses_check_maker(s), CRYPTO_OK);
        CHECK_STR(crypto_ses_signed_over(s), "SEQUENCE { esealInfo, cert, signatureAlgorithm }");
        CHECK(crypto_ses_lists(s, a.cert));
        CHECK(!crypto_ses_lists(s, other.cert));
    }
    crypto_ses_free(s);
    /* its picture changed */
    at = find(out.data, out.len, PICTURE, sizeof PICTURE - 1);
    out.data[at + 3] ^= 1;
    s = NULL;
    CHECK_INT(crypto_ses_parse(&s, out.data, out.len), CRYPTO_OK);
    CHECK_INT(crypto_ses_check_maker(s), CRYPTO_E_SIGN);
    crypto_ses_free(s);

    /* the other readings: esealInfo alone; raw r||s; version 3 and 1; GeneralizedTime */
    g.signed_form = 1;
    g.version = 3;
    s = NULL;
    build(&out, &g, &sm2, signers);
    CHECK_INT(crypto_ses_parse(&s, out.data, out.len), CRYPTO_OK);
    CHECK_INT(crypto_ses_check_maker(s), CRYPTO_OK);
    CHECK_STR(crypto_ses_signed_over(s), "esealInfo alone");
    crypto_ses_free(s);
    g.signed_form = 0;
    g.raw_sig = true;
    g.version = 1;
    g.utc = false;
    s = NULL;
    build(&out, &g, &sm2, signers);
    seed("gmt-raw", out.data, out.len);
    CHECK_INT(crypto_ses_parse(&s, out.data, out.len), CRYPTO_OK);
    CHECK_INT(crypto_ses_check_maker(s), CRYPTO_OK);
    CHECK_STR(crypto_ses_signed_over(s),
              "SEQUENCE { esealInfo, cert, signatureAlgorithm } (signature as r||s)");
    crypto_ses_free(s);
    /* BER, as BouncyCastle writes it (ofdrw), signed over DER */
    g.raw_sig = false;
    g.indefinite = true;
    s = NULL;
    build(&out, &g, &sm2, signers);
    seed("gmt-ber", out.data, out.len);
    CHECK(out.data[1] == 0x80);
    CHECK_INT(crypto_ses_parse(&s, out.data, out.len), CRYPTO_OK);
    CHECK_INT(crypto_ses_check_maker(s), CRYPTO_OK);
    CHECK_STR(crypto_ses_signed_over(s), "SEQUENCE { esealInfo, cert, signatureAlgorithm }");
    crypto_ses_free(s);
    /* BER cut short: never read past */
    for (size_t k = 0; k < out.len; k++) {
        uint8_t *cut = malloc(k ? k : 1);
        memcpy(cut, out.data, k);
        s = NULL;
        CHECK(crypto_ses_parse(&s, cut, k) != CRYPTO_OK && s == NULL);
        free(cut);
    }
    /* GM/T layout with version 4, and a signature that is nobody's */
    g.indefinite = false;
    g.version = 4;
    CHECK_INT(try_variant(&g, &sm2, signers, a.cert, &me, &lists, NULL), CRYPTO_E_FORMAT);
    g.version = 2;
    CHECK_INT(try_variant(&g, &sm2, signers, a.cert, &me, &lists, NULL), CRYPTO_OK);
    CHECK_INT(me, CRYPTO_OK);
    /* Vid beyond ASCII (ofdrw writes Chinese there) shown as '?'; a NUL refused */
    build(&out, &v4, &sm2, signers);
    at = find(out.data, out.len, "test vendor", 11);
    CHECK(at != SIZE_MAX);
    out.data[at + 4] = 0xe6;
    s = NULL;
    CHECK_INT(crypto_ses_parse(&s, out.data, out.len), CRYPTO_OK);
    if (s)
        CHECK_STR(s->vid, "test?vendor");
    crypto_ses_free(s);
    out.data[at + 4] = 0;
    s = NULL;
    CHECK_INT(crypto_ses_parse(&s, out.data, out.len), CRYPTO_E_FORMAT);
    CHECK(strstr(crypto_errdetail(), "NUL") != NULL);
    /* a signature algorithm that is not supported */
    build(&out, &v4, &sm2, signers);
    /* signAlgID SM2-with-SM3, after the maker's certificate */
    at = find_last(out.data, out.len, "\x06\x08\x2a\x81\x1c\xcf\x55\x01\x83\x75", 10);
    CHECK(at != SIZE_MAX);
    out.data[at + 9] = 0x76; /* 1.2.156.10197.1.502: not supported */
    s = NULL;
    CHECK_INT(crypto_ses_parse(&s, out.data, out.len), CRYPTO_OK);
    CHECK_INT(crypto_ses_check_maker(s), CRYPTO_E_ALGORITHM);
    snprintf(detail, sizeof detail, "%s", crypto_errdetail());
    CHECK(strstr(detail, "1.2.156.10197.1.502") != NULL);
    crypto_ses_free(s);

    buf_free(&out);
    sk_X509_free(signers);
    sk_X509_free(others);
    party_free(&sm2);
    party_free(&ec);
    party_free(&a);
    party_free(&other);
}

/* What crypto_ses_make refuses. */
static void test_make_refusals(void) {
    party maker = party_new("SM2", "Seal maker", false), other = party_new("SM2", "Other", false);
    party ca = party_new("SM2", "A CA", true), a = party_new("EC", "Signer", false);
    STACK_OF(X509) *signers = sk_X509_new_null(), *none = sk_X509_new_null();
    sk_X509_push(signers, a.cert);
    buf out;
    buf_init(&out, CRYPTO_SES_MAX_DER);
    crypto_ses_spec sp = {.name = "Seal",
                          .certs = signers,
                          .valid_from = T_FROM,
                          .valid_to = T_TO,
                          .picture = PICTURE,
                          .picture_len = sizeof PICTURE - 1,
                          .width_mm = 42,
                          .height_mm = 42,
                          .maker_key = maker.key,
                          .maker_cert = maker.cert,
                          .esid = "my-seal-1",
                          .vid = "vendor",
                          .type = 2,
                          .picture_type = "JPG"};
    CHECK_INT(crypto_ses_make(&out, &sp), CRYPTO_OK);
    crypto_ses *s = NULL;
    CHECK_INT(crypto_ses_parse(&s, out.data, out.len), CRYPTO_OK);
    if (s) {
        CHECK_STR(s->esid, "my-seal-1");
        CHECK_STR(s->vid, "vendor");
        CHECK_INT(s->type, 2);
        CHECK_STR(s->picture_type, "JPG");
    }
    crypto_ses_free(s);
    seed("made-jpg", out.data, out.len);

    crypto_ses_spec r = sp;
    r.maker_cert = other.cert;
    CHECK_INT(crypto_ses_make(&out, &r), CRYPTO_E_MISMATCH);
    r = sp;
    r.valid_to = r.valid_from;
    CHECK_INT(crypto_ses_make(&out, &r), CRYPTO_E_ARG);
    CHECK(strstr(crypto_errdetail(), "validity") != NULL);
    r = sp;
    r.certs = none;
    CHECK_INT(crypto_ses_make(&out, &r), CRYPTO_E_ARG);
    r.certs = NULL;
    CHECK_INT(crypto_ses_make(&out, &r), CRYPTO_E_ARG);
    sk_X509_push(none, ca.cert);
    r.certs = none;
    CHECK_INT(crypto_ses_make(&out, &r), CRYPTO_E_USAGE);
    CHECK(strstr(crypto_errdetail(), "CA certificate") != NULL);
    sk_X509_pop(none);
    for (int i = 0; i < 33; i++)
        sk_X509_push(none, a.cert);
    CHECK_INT(crypto_ses_make(&out, &r), CRYPTO_E_LIMIT);
    r = sp;
    r.name = "";
    CHECK_INT(crypto_ses_make(&out, &r), CRYPTO_E_ARG);
    r.name = "\xff";
    CHECK_INT(crypto_ses_make(&out, &r), CRYPTO_E_ARG);
    r = sp;
    r.esid = "with\ttab";
    CHECK_INT(crypto_ses_make(&out, &r), CRYPTO_E_ARG);
    r = sp;
    r.width_mm = 0;
    CHECK_INT(crypto_ses_make(&out, &r), CRYPTO_E_ARG);
    r = sp;
    r.picture_len = 0;
    CHECK_INT(crypto_ses_make(&out, &r), CRYPTO_E_ARG);
    r = sp;
    r.created = T_CREATED; /* the maker's certificate was not valid then */
    CHECK_INT(crypto_ses_make(&out, &r), CRYPTO_E_VALIDITY);
    /* a seal larger than a seal may be: refused, nothing appended */
    uint8_t *pic = calloc(1, CRYPTO_SES_MAX_DER - 100);
    r = sp;
    r.picture = pic;
    r.picture_len = CRYPTO_SES_MAX_DER - 100;
    buf_reset(&out);
    CHECK_INT(crypto_ses_make(&out, &r), CRYPTO_E_LIMIT);
    CHECK_INT(out.len, 0);
    free(pic);

    buf_free(&out);
    sk_X509_free(signers);
    sk_X509_free(none);
    party_free(&maker);
    party_free(&other);
    party_free(&ca);
    party_free(&a);
}

int main(void) {
    test_round_trip("SM2", CRYPTO_OID_SM2_SM3);
    test_round_trip("RSA", "1.2.840.113549.1.1.11");
    test_round_trip("EC", "1.2.840.10045.4.3.2");
    test_tampers();
    test_built();
    test_make_refusals();
    return check_report("test_crypto_ses");
}
