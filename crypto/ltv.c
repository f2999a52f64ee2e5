/* Validation data for PAdES baseline B-LT (ETSI EN 319 142-1 5.4, 6.3): the certificates of
 * the signer's and the TSAs' paths, and for each certificate of a path but its root the
 * revocation status its issuer publishes: an OCSP response (RFC 6960) from the responder the
 * certificate names (RFC 5280 4.2.2.1), else a CRL from its distribution point (RFC 5280
 * 4.2.1.13); the seal maker's path too when the signature carries a GB/T 38540 seal. Signing
 * refuses a revoked certificate here, before the data is embedded. */
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "crypto/internal.h"
#include "crypto/ses.h"
#include "crypto/verify_int.h"

#define LTV_MAX_PATH 10               /* certificates in one path */
#define LTV_MAX_ITEMS 256             /* certificates, responses, CRLs gathered */
#define LTV_MAX_CMS (4 * 1024 * 1024) /* bytes of the CMS read */
#define LTV_MAX_URLS 2                /* services asked per certificate and kind */
#define OID_SIGNATURE_TST "1.2.840.113549.1.9.16.2.14"

struct crypto_ltv {
    STACK_OF(X509) * certs;
    buf ocsps[LTV_MAX_ITEMS];
    size_t n_ocsps;
    buf crls[LTV_MAX_ITEMS];
    size_t n_crls;
    int timeout_ms;
};

crypto_err crypto_ltv_new(crypto_ltv **out) {
    crypto_ltv *l = calloc(1, sizeof *l);
    *out = NULL;
    if (!l || !(l->certs = sk_X509_new_null())) {
        free(l);
        return CRYPTO_E_NOMEM;
    }
    *out = l;
    return CRYPTO_OK;
}

void crypto_ltv_free(crypto_ltv *l) {
    if (!l)
        return;
    sk_X509_pop_free(l->certs, X509_free);
    for (size_t i = 0; i < l->n_ocsps; i++)
        buf_free(&l->ocsps[i]);
    for (size_t i = 0; i < l->n_crls; i++)
        buf_free(&l->crls[i]);
    free(l);
}

const STACK_OF(X509) * crypto_ltv_certs(const crypto_ltv *l) {
    return l->certs;
}

const buf *crypto_ltv_ocsps(const crypto_ltv *l, size_t *n) {
    *n = l->n_ocsps;
    return l->ocsps;
}

const buf *crypto_ltv_crls(const crypto_ltv *l, size_t *n) {
    *n = l->n_crls;
    return l->crls;
}

static char *name_of(X509 *c) {
    char *s = X509_NAME_oneline(X509_get_subject_name(c), NULL, 0);
    return s ? s : OPENSSL_strdup("?");
}

static crypto_err add_cert(crypto_ltv *l, X509 *c) {
    for (int i = 0; i < sk_X509_num(l->certs); i++)
        if (X509_cmp(sk_X509_value(l->certs, i), c) == 0)
            return CRYPTO_OK;
    if (sk_X509_num(l->certs) >= LTV_MAX_ITEMS)
        return crypto_fail(CRYPTO_E_LIMIT, "more than %d certificates of validation data",
                           LTV_MAX_ITEMS);
    if (!X509_up_ref(c))
        return CRYPTO_E_NOMEM;
    if (!sk_X509_push(l->certs, c)) {
        X509_free(c);
        return CRYPTO_E_NOMEM;
    }
    return CRYPTO_OK;
}

static crypto_err add_der(buf *items, size_t *n, const uint8_t *p, size_t len) {
    for (size_t i = 0; i < *n; i++)
        if (items[i].len == len && memcmp(items[i].data, p, len) == 0)
            return CRYPTO_OK;
    if (*n >= LTV_MAX_ITEMS)
        return crypto_fail(CRYPTO_E_LIMIT, "more than %d revocation items", LTV_MAX_ITEMS);
    buf_init(&items[*n], len);
    if (buf_append(&items[*n], p, len) != BUF_OK)
        return CRYPTO_E_NOMEM;
    (*n)++;
    return CRYPTO_OK;
}

static bool self_signed(X509 *c) {
    return X509_check_issued(c, c) == X509_V_OK;
}

/* The issuer of c among pool, whose signature on c holds. */
static X509 *issuer_in(STACK_OF(X509) * pool, X509 *c) {
    for (int i = 0; i < sk_X509_num(pool); i++) {
        X509 *cand = sk_X509_value(pool, i);
        if (X509_check_issued(cand, c) == X509_V_OK && X509_verify(c, X509_get0_pubkey(cand)) == 1)
            return cand;
    }
    ERR_clear_error();
    return NULL;
}

typedef enum { ST_NONE, ST_GOOD, ST_REVOKED } st_kind;

/* RFC 6960 4.2.2.2: signed by the issuer itself, or by a responder the issuer gave
 * id-kp-OCSPSigning (SM2 signatures with the default ID, crypto/sm2.c). */
static bool ocsp_signed_by(OCSP_BASICRESP *bs, X509 *issuer) {
    STACK_OF(X509) *one = sk_X509_new_null();
    X509 *signer = NULL;
    bool ok = false;
    if (!one || !sk_X509_push(one, issuer))
        goto out;
    if (!OCSP_resp_get0_signer(bs, &signer, one))
        goto out;
    if (X509_cmp(signer, issuer) != 0 && (X509_check_issued(issuer, signer) != X509_V_OK ||
                                          X509_verify(signer, X509_get0_pubkey(issuer)) != 1 ||
                                          !(X509_get_extension_flags(signer) & EXFLAG_XKUSAGE) ||
                                          !(X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN)))
        goto out;
    ok = crypto_ocsp_signed_by(bs, signer);
out:
    sk_X509_free(one);
    ERR_clear_error();
    return ok;
}

/* RFC 6960 A.1: asks the responders cert names about cert (crypto/fetch.c); keeps a response
 * signed for the issuer that says "good". */
static crypto_err ask_ocsp(st_kind *st, crypto_ltv *l, X509 *cert, X509 *issuer, time_t *rev_time) {
    crypto_err err = CRYPTO_OK;
    OCSP_RESPONSE *resp = crypto_fetch_ocsp(cert, issuer, l->timeout_ms, LTV_MAX_URLS, true);
    OCSP_BASICRESP *bs = resp ? OCSP_response_get1_basic(resp) : NULL;
    OCSP_CERTID *want = OCSP_cert_to_id(NULL, cert, issuer);
    unsigned char *der = NULL;
    int status = -1, reason = -1;
    ASN1_GENERALIZEDTIME *rt = NULL, *tu = NULL, *nu = NULL;
    *st = ST_NONE;
    if (bs)
        crypto_sm2_ocsp_prepare(bs);
    /* RFC 6960 4.2.2.1: thisUpdate not in the future (5 minutes' leeway), nextUpdate not past */
    if (!bs || !want || !ocsp_signed_by(bs, issuer) ||
        OCSP_resp_find_status(bs, want, &status, &reason, &rt, &tu, &nu) != 1 ||
        OCSP_check_validity(tu, nu, 300, -1) != 1)
        goto out;
    if (status == V_OCSP_CERTSTATUS_REVOKED) {
        *st = ST_REVOKED;
        if (!time_from_asn1(rev_time, rt))
            *rev_time = 0;
    } else if (status == V_OCSP_CERTSTATUS_GOOD) {
        int len = i2d_OCSP_RESPONSE(resp, &der);
        err = len > 0 ? add_der(l->ocsps, &l->n_ocsps, der, (size_t)len) : CRYPTO_E_NOMEM;
        /* a delegated responder's certificate, to check the response later */
        const STACK_OF(X509) *rc = OCSP_resp_get0_certs(bs);
        for (int k = 0; k < sk_X509_num(rc) && err == CRYPTO_OK; k++)
            err = add_cert(l, sk_X509_value(rc, k));
        if (err == CRYPTO_OK)
            *st = ST_GOOD;
    }
out:
    OPENSSL_free(der);
    OCSP_CERTID_free(want);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    ERR_clear_error();
    return err;
}

/* RFC 5280 6.3.3 (a), (f), (g): a current CRL of the issuer (its nextUpdate still ahead),
 * signed by it (an SM2 issuer with the default ID). */
static bool crl_of(X509_CRL *crl, void *issuer) {
    const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
    return next && X509_cmp_current_time(next) > 0 &&
           X509_cmp_time(X509_CRL_get0_lastUpdate(crl), &(time_t){time(NULL) + 300}) < 0 &&
           X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) == 0 &&
           crypto_crl_signed_by(crl, X509_get0_pubkey(issuer));
}

/* RFC 5280 4.2.1.13: the CRL of one of cert's distribution points (crypto/fetch.c). */
static crypto_err ask_crl(st_kind *st, crypto_ltv *l, X509 *cert, X509 *issuer, time_t *rev_time) {
    crypto_err err = CRYPTO_OK;
    X509_CRL *crl = crypto_fetch_crl(cert, l->timeout_ms, LTV_MAX_URLS, crl_of, issuer);
    X509_REVOKED *rv = NULL;
    unsigned char *der = NULL;
    *st = ST_NONE;
    if (crl && X509_CRL_get0_by_cert(crl, &rv, cert) == 1) {
        *st = ST_REVOKED;
        if (!time_from_asn1(rev_time, X509_REVOKED_get0_revocationDate(rv)))
            *rev_time = 0;
    } else if (crl) {
        int len = i2d_X509_CRL(crl, &der);
        err = len > 0 ? add_der(l->crls, &l->n_crls, der, (size_t)len) : CRYPTO_E_NOMEM;
        if (err == CRYPTO_OK)
            *st = ST_GOOD;
    }
    OPENSSL_free(der);
    X509_CRL_free(crl);
    ERR_clear_error();
    return err;
}

static bool has_pointers(X509 *cert) {
    STACK_OF(OPENSSL_STRING) *ocsp = X509_get1_ocsp(cert);
    bool yes = sk_OPENSSL_STRING_num(ocsp) > 0 ||
               X509_get_ext_by_NID(cert, NID_crl_distribution_points, -1) >= 0;
    X509_email_free(ocsp);
    return yes;
}

/* The path of leaf as far as pool reaches, each certificate with its status. */
static crypto_err gather_path(crypto_ltv *l, X509 *leaf, STACK_OF(X509) * pool) {
    crypto_err err = CRYPTO_OK;
    X509 *c = leaf;
    for (int depth = 0; c && depth < LTV_MAX_PATH && err == CRYPTO_OK; depth++) {
        if ((err = add_cert(l, c)) != CRYPTO_OK || self_signed(c))
            break;
        X509 *issuer = issuer_in(pool, c);
        if (!issuer && depth > 0)
            break; /* an intermediate whose issuer is the verifier's trust anchor */
        if (!issuer) {
            /* the data would not let the path be built later: say so rather than embed less */
            char *who = name_of(c);
            char *by = X509_NAME_oneline(X509_get_issuer_name(c), NULL, 0);
            err = crypto_fail(CRYPTO_E_CERT,
                              "the issuer of %s (%s) is neither in the signature nor among the "
                              "chain's certificates; validation data needs the whole path (give "
                              "--chain, or the TSA its chain)",
                              who, by ? by : "?");
            OPENSSL_free(who);
            OPENSSL_free(by);
            break;
        }
        if (has_pointers(c)) {
            st_kind st = ST_NONE;
            time_t rev = 0;
            err = ask_ocsp(&st, l, c, issuer, &rev);
            if (err == CRYPTO_OK && st == ST_NONE)
                err = ask_crl(&st, l, c, issuer, &rev);
            if (err == CRYPTO_OK && st != ST_GOOD) {
                char *who = name_of(c), when[32] = "";
                struct tm tm;
                if (st == ST_REVOKED && rev && gmtime_r(&rev, &tm))
                    strftime(when, sizeof when, " on %Y-%m-%d %H:%M:%S UTC", &tm);
                err = st == ST_REVOKED
                          ? crypto_fail(CRYPTO_E_REVOKED, "the certificate of %s was revoked%s",
                                        who, when)
                          : crypto_fail(CRYPTO_E_REVOKED,
                                        "no revocation status could be obtained for the "
                                        "certificate of %s from the OCSP responder or CRL it "
                                        "names",
                                        who);
                OPENSSL_free(who);
            }
        }
        c = issuer;
    }
    return err;
}

/* GB/T 38540-2020 8 with ETSI EN 319 142-1 5.4: a signature carrying a seal (crypto/ses.h, the
 * signed attribute CRYPTO_OID_SEAL_ATTR) is judged with its seal maker's certificate too
 * (crypto/sealcheck.c), so the maker's path and status are gathered as the signer's. A seal
 * carries its maker's certificate alone: a maker whose issuer the signature does not carry and
 * that names no service has no status to gather (the verifier reaches its issuer through its
 * anchors); one that names a service needs its issuer to check the answer. */
static crypto_err gather_maker(crypto_ltv *l, CMS_SignerInfo *si, STACK_OF(X509) * pool) {
    ASN1_OBJECT *oid = OBJ_txt2obj(CRYPTO_OID_SEAL_ATTR, 1);
    int idx = oid ? CMS_signed_get_attr_by_OBJ(si, oid, -1) : -2;
    crypto_ses *ses = NULL;
    crypto_err err = CRYPTO_OK;
    char d[512];
    ASN1_OBJECT_free(oid);
    if (idx == -2)
        return CRYPTO_E_NOMEM;
    if (idx < 0)
        return CRYPTO_OK;
    X509_ATTRIBUTE *a = CMS_signed_get_attr(si, idx);
    ASN1_TYPE *t = X509_ATTRIBUTE_count(a) == 1 ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;
    if (!t || t->type != V_ASN1_SEQUENCE) {
        err = crypto_fail(CRYPTO_E_ARG, "the seal attribute does not hold one seal");
    } else if ((err = crypto_ses_parse(&ses, t->value.sequence->data,
                                       (size_t)t->value.sequence->length)) != CRYPTO_OK) {
        snprintf(d, sizeof d, "%s", crypto_errdetail());
        err = crypto_fail(err, "the seal the signature carries: %s", d);
    } else if (!self_signed(ses->maker) && !issuer_in(pool, ses->maker) &&
               !has_pointers(ses->maker)) {
        err = add_cert(l, ses->maker);
    } else if ((err = gather_path(l, ses->maker, pool)) != CRYPTO_OK) {
        snprintf(d, sizeof d, "%s", crypto_errdetail());
        err = crypto_fail(err, "the seal maker's certificate path: %s", d);
    }
    crypto_ses_free(ses);
    return err;
}

static crypto_err collect(crypto_ltv *l, const uint8_t *p, size_t len, STACK_OF(X509) * extra,
                          int depth) {
    crypto_err err = CRYPTO_OK;
    const unsigned char *q = p;
    CMS_ContentInfo *cms = len <= LTV_MAX_CMS ? d2i_CMS_ContentInfo(NULL, &q, (long)len) : NULL;
    STACK_OF(X509) *pool = cms ? CMS_get1_certs(cms) : NULL;
    STACK_OF(CMS_SignerInfo) *sis = cms ? CMS_get0_SignerInfos(cms) : NULL;
    CMS_SignerInfo *si = sk_CMS_SignerInfo_num(sis) == 1 ? sk_CMS_SignerInfo_value(sis, 0) : NULL;
    X509 *signer = NULL;
    if (!si) {
        err = crypto_fail(CRYPTO_E_ARG, "the signature is not a CMS SignedData with one signer");
        goto out;
    }
    if (!pool && !(pool = sk_X509_new_null())) {
        err = CRYPTO_E_NOMEM;
        goto out;
    }
    for (int i = 0; i < sk_X509_num(extra); i++) {
        X509 *c = sk_X509_value(extra, i);
        if (!X509_up_ref(c) || !sk_X509_push(pool, c)) {
            err = CRYPTO_E_NOMEM;
            goto out;
        }
    }
    /* SM2-signed certificates are checked with the default ID (issuer_in) */
    crypto_sm2_certs_prepare(pool);
    for (int i = 0; i < sk_X509_num(pool) && !signer; i++)
        if (CMS_SignerInfo_cert_cmp(si, sk_X509_value(pool, i)) == 0)
            signer = sk_X509_value(pool, i);
    if (!signer) {
        err = crypto_fail(CRYPTO_E_CERT, "the signer's certificate is not in the signature");
        goto out;
    }
    if ((err = gather_path(l, signer, pool)) != CRYPTO_OK ||
        (depth == 0 && (err = gather_maker(l, si, pool)) != CRYPTO_OK))
        goto out;
    /* ETSI EN 319 122-1 5.3: each signature time-stamp's TSA too */
    ASN1_OBJECT *oid = OBJ_txt2obj(OID_SIGNATURE_TST, 1);
    for (int i = -1; oid && depth == 0 && err == CRYPTO_OK;) {
        if ((i = CMS_unsigned_get_attr_by_OBJ(si, oid, i)) < 0)
            break;
        X509_ATTRIBUTE *attr = CMS_unsigned_get_attr(si, i);
        for (int k = 0; k < X509_ATTRIBUTE_count(attr) && err == CRYPTO_OK; k++) {
            ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(attr, k);
            if (t && t->type == V_ASN1_SEQUENCE)
                err = collect(l, t->value.sequence->data, (size_t)t->value.sequence->length, extra,
                              depth + 1);
        }
    }
    ASN1_OBJECT_free(oid);
out:
    sk_X509_pop_free(pool, X509_free);
    CMS_ContentInfo_free(cms);
    ERR_clear_error();
    return err;
}

crypto_err crypto_ltv_collect(crypto_ltv *l, const uint8_t *cms, size_t len, STACK_OF(X509) * extra,
                              int timeout_ms) {
    l->timeout_ms = timeout_ms;
    crypto_clear_detail();
    return collect(l, cms, len, extra, 0);
}
