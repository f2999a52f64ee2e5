/* Validation of CMS signatures and time-stamp tokens as ETSI EN 319 102-1 clause 5 composes
 * its building blocks (see crypto/verify.h): the validation time (5.3, 5.5: best signature
 * time), the X.509 validation of the signer's and the TSA's certificates (5.2.6) with their
 * revocation (5.2.5), and the verdict. The other files of the verifier: signeddata.c (format,
 * signer, integrity, algorithms of one SignedData), trust.c (anchors, document material,
 * paths), revocation.c (CRLs and OCSP), tsp.c (RFC 3161 tokens). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "crypto/internal.h"
#include "crypto/ses.h"
#include "crypto/verify_int.h"

const char *crypto_indication_name(crypto_indication ind) {
    switch (ind) {
    case CRYPTO_TOTAL_PASSED:
        return "TOTAL_PASSED";
    case CRYPTO_INDETERMINATE:
        return "INDETERMINATE";
    case CRYPTO_TOTAL_FAILED:
        return "TOTAL_FAILED";
    }
    return "";
}

const char *crypto_subind_name(crypto_subind sub) {
    static const char *const names[] = {
        [CRYPTO_SUB_NONE] = "",
        [CRYPTO_SUB_FORMAT_FAILURE] = "FORMAT_FAILURE",
        [CRYPTO_SUB_HASH_FAILURE] = "HASH_FAILURE",
        [CRYPTO_SUB_SIG_CRYPTO_FAILURE] = "SIG_CRYPTO_FAILURE",
        [CRYPTO_SUB_REVOKED] = "REVOKED",
        [CRYPTO_SUB_EXPIRED] = "EXPIRED",
        [CRYPTO_SUB_NOT_YET_VALID] = "NOT_YET_VALID",
        [CRYPTO_SUB_SIG_CONSTRAINTS_FAILURE] = "SIG_CONSTRAINTS_FAILURE",
        [CRYPTO_SUB_CHAIN_CONSTRAINTS_FAILURE] = "CHAIN_CONSTRAINTS_FAILURE",
        [CRYPTO_SUB_CERTIFICATE_CHAIN_GENERAL_FAILURE] = "CERTIFICATE_CHAIN_GENERAL_FAILURE",
        [CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE] = "CRYPTO_CONSTRAINTS_FAILURE",
        [CRYPTO_SUB_NO_SIGNING_CERTIFICATE_FOUND] = "NO_SIGNING_CERTIFICATE_FOUND",
        [CRYPTO_SUB_NO_CERTIFICATE_CHAIN_FOUND] = "NO_CERTIFICATE_CHAIN_FOUND",
        [CRYPTO_SUB_REVOKED_NO_POE] = "REVOKED_NO_POE",
        [CRYPTO_SUB_REVOKED_CA_NO_POE] = "REVOKED_CA_NO_POE",
        [CRYPTO_SUB_OUT_OF_BOUNDS_NO_POE] = "OUT_OF_BOUNDS_NO_POE",
        [CRYPTO_SUB_OUT_OF_BOUNDS_NOT_REVOKED] = "OUT_OF_BOUNDS_NOT_REVOKED",
        [CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE_NO_POE] = "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
        [CRYPTO_SUB_TRY_LATER] = "TRY_LATER",
        [CRYPTO_SUB_SIGNED_DATA_NOT_FOUND] = "SIGNED_DATA_NOT_FOUND",
        [CRYPTO_SUB_TIMESTAMP_ORDER_FAILURE] = "TIMESTAMP_ORDER_FAILURE",
    };
    return (unsigned)sub < sizeof names / sizeof names[0] && names[sub] ? names[sub] : "";
}

/* ------------------------------------------------------------------------------------------ */
/* small helpers shared by the verifier's files */

der_in der_in_make(const uint8_t *p, size_t n) {
    der_in in = {p, p + n, false};
    return in;
}

bool der_next(der_in *in, der_tlv *out) {
    const uint8_t *p = in->p;
    size_t left = (size_t)(in->end - p), len = 0, hl = 2;
    if (left == 0 || in->bad)
        return false;
    if (left < 2 || (p[0] & 0x1F) == 0x1F) /* high tag numbers are not used here */
        goto bad;
    if (p[1] < 0x80) {
        len = p[1];
    } else {
        size_t nb = p[1] & 0x7F;
        if (nb == 0 || nb > 4 || left < 2 + nb) /* 0: indefinite length (BER) */
            goto bad;
        for (size_t i = 0; i < nb; i++)
            len = len << 8 | p[2 + i];
        hl += nb;
    }
    if (len > left - hl)
        goto bad;
    out->tag = p[0];
    out->raw = p;
    out->raw_len = hl + len;
    out->val = der_in_make(p + hl, len);
    in->p = p + hl + len;
    return true;
bad:
    in->bad = true;
    return false;
}

void vnote(verdict *v, crypto_indication ind, crypto_subind sub, const char *fmt, ...) {
    if (v->ind == CRYPTO_TOTAL_FAILED ||
        (v->ind == CRYPTO_INDETERMINATE && ind != CRYPTO_TOTAL_FAILED))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->cause, sizeof v->cause, fmt, ap);
    va_end(ap);
    v->ind = ind;
    v->sub = sub;
}

/* Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool time_from_asn1(time_t *out, const ASN1_TIME *t) {
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm))
        return false;
    int64_t days = days_from_civil(tm.tm_year + 1900LL, tm.tm_mon + 1LL, tm.tm_mday);
    *out = (time_t)(days * 86400 + tm.tm_hour * 3600LL + tm.tm_min * 60LL + tm.tm_sec);
    return true;
}

void time_format(char *out, size_t n, time_t t) {
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(out, n, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(out, n, "%lld", (long long)t);
}

/* The subject in RFC 2253 form, UTF-8 kept as it is. */
static char *name_text(const X509_NAME *name) {
    BIO *b = BIO_new(BIO_s_mem());
    char *s = NULL, *p = NULL;
    long n;
    if (b && X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
        (n = BIO_get_mem_data(b, &p)) >= 0 && (s = malloc((size_t)n + 1)) != NULL) {
        memcpy(s, p, (size_t)n);
        s[n] = '\0';
    }
    BIO_free(b);
    return s;
}

char *cert_name(X509 *cert) {
    X509_NAME *subj = X509_get_subject_name(cert);
    int idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
    unsigned char *utf8 = NULL;
    char *s = NULL;
    if (idx >= 0 &&
        ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx))) >= 0) {
        s = strdup((char *)utf8);
        OPENSSL_free(utf8);
        return s;
    }
    ERR_clear_error();
    return name_text(subj);
}

void oid_text(char *out, size_t n, const ASN1_OBJECT *o) {
    if (!o || OBJ_obj2txt(out, (int)n, o, 1) <= 0)
        snprintf(out, n, "(none)");
}

bool obj_is(const ASN1_OBJECT *o, const uint8_t *der, size_t n) {
    return o && (size_t)OBJ_length(o) == n && memcmp(OBJ_get0_data(o), der, n) == 0;
}

/* ------------------------------------------------------------------------------------------ */
/* what one verification gathers */

bool vctx_add_cert(vctx *vc, X509 *c) {
    if (sk_X509_num(vc->certs) >= 4 * VERIFY_MAX_ITEMS || !sk_X509_push(vc->certs, c)) {
        X509_free(c);
        return false;
    }
    return true;
}

static bool add_rev(vctx *vc, X509_CRL *crl, OCSP_BASICRESP *bs, const char *source,
                    bool borrowed) {
    if (vc->n_rev == vc->cap_rev) {
        size_t cap = vc->cap_rev ? 2 * vc->cap_rev : 16;
        rev_item *n = cap <= 4 * VERIFY_MAX_ITEMS ? realloc(vc->rev, cap * sizeof *n) : NULL;
        if (!n) {
            if (!borrowed) {
                X509_CRL_free(crl);
                OCSP_BASICRESP_free(bs);
            }
            return false;
        }
        vc->rev = n;
        vc->cap_rev = cap;
    }
    rev_item it = {crl, bs, source, borrowed, NULL, false};
    vc->rev[vc->n_rev++] = it;
    return true;
}

bool vctx_add_crl(vctx *vc, X509_CRL *crl, const char *source) {
    return add_rev(vc, crl, NULL, source, false);
}

bool vctx_add_ocsp(vctx *vc, OCSP_BASICRESP *bs, const char *source) {
    return add_rev(vc, NULL, bs, source, false);
}

static crypto_err vctx_init(vctx *vc, const crypto_verify_opts *o) {
    memset(vc, 0, sizeof *vc);
    vc->opts = o;
    vc->trust = o->trust;
    vc->now = o->now ? o->now : time(NULL);
    vc->certs = sk_X509_new_null();
    if (!vc->certs)
        return CRYPTO_E_NOMEM;
    const crypto_vdata *v = o->vdata;
    for (int i = 0; v && i < sk_X509_num(v->certs); i++) {
        X509 *c = sk_X509_value(v->certs, i);
        if (!X509_up_ref(c) || !vctx_add_cert(vc, c))
            return CRYPTO_E_NOMEM;
    }
    /* the document's CRLs and OCSP responses are only read: borrowed */
    for (int i = 0; v && i < sk_X509_CRL_num(v->crls); i++)
        if (!add_rev(vc, sk_X509_CRL_value(v->crls, i), NULL, "DSS", true))
            return CRYPTO_E_NOMEM;
    for (size_t i = 0; v && i < v->n_ocsps; i++)
        if (!add_rev(vc, NULL, v->ocsps[i], "DSS", true))
            return CRYPTO_E_NOMEM;
    return CRYPTO_OK;
}

static void vctx_free(vctx *vc) {
    sk_X509_pop_free(vc->certs, X509_free);
    for (size_t i = 0; i < vc->n_rev; i++) {
        if (!vc->rev[i].borrowed) {
            X509_CRL_free(vc->rev[i].crl);
            OCSP_BASICRESP_free(vc->rev[i].ocsp);
        }
    }
    free(vc->rev);
}

void sig_eval_clear(sig_eval *e) {
    X509_free(e->signer);
    memset(e, 0, sizeof *e);
    e->digest = "";
    e->algorithm = "";
    e->revocation = CRYPTO_REV_NOT_CHECKED;
}

/* ------------------------------------------------------------------------------------------ */
/* X.509 validation of the signer's or the TSA's certificate (ETSI EN 319 102-1 5.2.6) */

/* Key usage of a signer (RFC 5280 4.2.1.3: digitalSignature or nonRepudiation when the
 * extension is there; no extended key usage required), of a TSA (RFC 3161 2.3: extended key
 * usage timeStamping alone, critical). */
static void check_usage(sig_eval *e, X509 *cert, cert_role role) {
    uint32_t ku = X509_get_key_usage(cert);
    bool ku_ok = ku == UINT32_MAX || (ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION));
    if (role == ROLE_TSA) {
        int crit = 0;
        EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(cert, NID_ext_key_usage, &crit, NULL);
        bool ok = eku && crit == 1 && sk_ASN1_OBJECT_num(eku) == 1 &&
                  OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)) == NID_time_stamp;
        EXTENDED_KEY_USAGE_free(eku);
        ERR_clear_error();
        if (!ok)
            vnote(&e->v, CRYPTO_INDETERMINATE, CRYPTO_SUB_CHAIN_CONSTRAINTS_FAILURE,
                  "the TSA's certificate does not have the extended key usage timeStamping "
                  "alone and critical (RFC 3161 2.3)");
    }
    if (!ku_ok)
        vnote(&e->v, CRYPTO_INDETERMINATE, CRYPTO_SUB_CHAIN_CONSTRAINTS_FAILURE,
              "the %s's certificate's key usage allows neither digitalSignature nor "
              "nonRepudiation (RFC 5280 4.2.1.3)",
              role == ROLE_SIGNER ? "signer" : "TSA");
}

static crypto_subind chain_sub(int err) {
    switch (err) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
        return CRYPTO_SUB_NO_CERTIFICATE_CHAIN_FOUND;
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
    case X509_V_ERR_INVALID_PURPOSE:
    case X509_V_ERR_INVALID_EXTENSION:
    case X509_V_ERR_INVALID_NON_CA:
    case X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION:
    case X509_V_ERR_PERMITTED_VIOLATION:
    case X509_V_ERR_EXCLUDED_VIOLATION:
    case X509_V_ERR_SUBTREE_MINMAX:
    case X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE:
    case X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX:
    case X509_V_ERR_UNSUPPORTED_NAME_SYNTAX:
    case X509_V_ERR_NO_EXPLICIT_POLICY:
    case X509_V_ERR_INVALID_POLICY_EXTENSION:
        return CRYPTO_SUB_CHAIN_CONSTRAINTS_FAILURE;
    default:
        return CRYPTO_SUB_CERTIFICATE_CHAIN_GENERAL_FAILURE;
    }
}

/* 5.2.6.4 (validity): a certificate of the path is outside its validity at the validation
 * time. With a time-stamp, the signature is proven to exist at that time: a signer's
 * certificate not yet valid then is a proven failure; one expired by then is too, unless the
 * signer claims a time before the expiry, which then only a proof of existence could settle.
 * Without a time-stamp nothing is proven either way. */
static void note_validity(sig_eval *e, vctx *vc, const chain_res *cr, time_t at, bool poe,
                          cert_role role) {
    X509 *c = sk_X509_value(cr->chain, cr->time_depth);
    bool expired = cr->time_err == X509_V_ERR_CERT_HAS_EXPIRED;
    time_t bound = 0;
    char b[40], t[40];
    time_from_asn1(&bound, expired ? X509_get0_notAfter(c) : X509_get0_notBefore(c));
    time_format(b, sizeof b, bound);
    time_format(t, sizeof t, at);
    char *name = cert_name(c);
    const char *who = name ? name : "?";
    if (role == ROLE_SIGNER && cr->time_depth == 0 && poe) {
        time_t claimed = vc->opts->claimed_time ? vc->opts->claimed_time : e->signing_time_attr;
        if (!expired)
            vnote(&e->v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_NOT_YET_VALID,
                  "the signature existed at %s (time-stamp), before the certificate of %s "
                  "became valid on %s",
                  t, who, b);
        else if (claimed && claimed <= bound)
            vnote(&e->v, CRYPTO_INDETERMINATE, CRYPTO_SUB_OUT_OF_BOUNDS_NO_POE,
                  "the certificate of %s expired on %s; the signature is time-stamped only at "
                  "%s, and nothing proves the earlier signing time it claims",
                  who, b, t);
        else
            vnote(&e->v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_EXPIRED,
                  "the certificate of %s expired on %s, before the signature was made "
                  "(time-stamped at %s)",
                  who, b, t);
    } else {
        vnote(&e->v, CRYPTO_INDETERMINATE, CRYPTO_SUB_OUT_OF_BOUNDS_NO_POE,
              expired ? "the certificate of %s expired on %s, before the validation time %s, "
                        "and no time-stamp proves an earlier existence"
                      : "the certificate of %s is not valid before %s, after the validation "
                        "time %s",
              who, b, t);
    }
    free(name);
}

static const char *reason_name(int reason) {
    static const char *const names[] = {
        "unspecified",   "keyCompromise",        "cACompromise",    "affiliationChanged",
        "superseded",    "cessationOfOperation", "certificateHold", "",
        "removeFromCRL", "privilegeWithdrawn",   "aACompromise"};
    return reason >= 0 && (size_t)reason < sizeof names / sizeof names[0] ? names[reason] : "";
}

/* 5.2.6.4 with 5.2.5: the revocation status of the path. */
static void note_revocation(sig_eval *e, vctx *vc, const chain_res *cr, const rev_res *rr,
                            time_t at, bool poe) {
    if (rr->status != CRYPTO_REV_REVOKED && rr->status != CRYPTO_REV_UNKNOWN)
        return;
    char *name = cert_name(sk_X509_value(cr->chain, rr->depth));
    const char *who = name ? name : "?";
    char rt[40], t[40], why[48] = "";
    time_format(rt, sizeof rt, rr->rev_time);
    time_format(t, sizeof t, at);
    if (rr->reason >= 0 && *reason_name(rr->reason))
        snprintf(why, sizeof why, " (%s)", reason_name(rr->reason));
    if (rr->status == CRYPTO_REV_UNKNOWN)
        vnote(&e->v, CRYPTO_INDETERMINATE, CRYPTO_SUB_TRY_LATER,
              "no revocation information was found for the certificate of %s, which names a CRL "
              "or OCSP service%s",
              who,
              vc->opts->online ? " that could not be asked" : "; verify with --online to ask it");
    else if (rr->on_hold)
        vnote(&e->v, CRYPTO_INDETERMINATE, CRYPTO_SUB_TRY_LATER,
              "the certificate of %s is on hold since %s according to %s", who, rt, rr->source);
    else if (poe)
        vnote(&e->v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_REVOKED,
              "the certificate of %s was revoked on %s%s according to %s, before the "
              "signature's time-stamp at %s",
              who, rt, why, rr->source, t);
    else
        vnote(&e->v, CRYPTO_INDETERMINATE,
              rr->depth == 0 ? CRYPTO_SUB_REVOKED_NO_POE : CRYPTO_SUB_REVOKED_CA_NO_POE,
              "the certificate of %s was revoked on %s%s according to %s, and no time-stamp "
              "proves the signature existed before",
              who, rt, why, rr->source);
    free(name);
}

void eval_certificate(sig_eval *e, vctx *vc, time_t at, bool poe, cert_role role) {
    chain_res cr;
    rev_res rr;
    const char *who = role == ROLE_SIGNER ? "signer" : "TSA";
    check_usage(e, e->signer, role);
    if (chain_build(&cr, vc->trust, e->signer, vc->certs, at) != CRYPTO_OK) {
        vc->oom = true;
        goto out;
    }
    if (!cr.chain) {
        if (crypto_trust_count(vc->trust) == 0)
            vnote(&e->v, CRYPTO_INDETERMINATE, CRYPTO_SUB_NO_CERTIFICATE_CHAIN_FOUND,
                  "no trust anchors were given, so the %s's certificate is not trusted", who);
        else
            vnote(&e->v, CRYPTO_INDETERMINATE, chain_sub(cr.err),
                  "the %s's certificate does not lead to a trust anchor: %s (depth %d)", who,
                  X509_verify_cert_error_string(cr.err), cr.err_depth);
        goto out;
    }
    e->chain_trusted = true;
    e->chain_len = (size_t)sk_X509_num(cr.chain);
    if (cr.weak_err != X509_V_OK)
        vnote(&e->v, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE,
              "the %s's certificate path is too weak at depth %d: %s (ETSI TS 119 312)", who,
              cr.weak_depth, X509_verify_cert_error_string(cr.weak_err));
    if (cr.time_err != X509_V_OK)
        note_validity(e, vc, &cr, at, poe, role);
    rev_check(&rr, vc, cr.chain, at, poe);
    e->revocation = rr.status;
    e->revocation_source = rr.source;
    note_revocation(e, vc, &cr, &rr, at, poe);
out:
    chain_res_free(&cr);
}

/* ------------------------------------------------------------------------------------------ */
/* the result */

static char *serial_hex(X509 *cert) {
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *h = bn ? BN_bn2hex(bn) : NULL;
    char *s = h ? strdup(h) : NULL;
    OPENSSL_free(h);
    BN_free(bn);
    return s;
}

/* What must hold for TOTAL_PASSED (ETSI EN 319 102-1 5.3.4), checked once more here so that no
 * path through the checks above can pass a signature that lacks one of them. */
static void final_check(sig_eval *e) {
    if (e->v.ind == CRYPTO_TOTAL_PASSED &&
        (!e->integrity || !e->signer || !e->chain_trusted ||
         (e->revocation != CRYPTO_REV_GOOD && e->revocation != CRYPTO_REV_NO_POINTERS)))
        vnote(&e->v, CRYPTO_INDETERMINATE, CRYPTO_SUB_CERTIFICATE_CHAIN_GENERAL_FAILURE,
              "the signature could not be validated completely");
}

/* The verdict's parts a result and a time-stamp both report. */
static crypto_err fill_verdict(crypto_indication *ind, crypto_subind *sub, bool *integrity,
                               char **cause, sig_eval *e) {
    final_check(e);
    *ind = e->v.ind;
    *sub = e->v.sub;
    *integrity = e->integrity;
    if (e->v.ind != CRYPTO_TOTAL_PASSED && !(*cause = strdup(e->v.cause)))
        return CRYPTO_E_NOMEM;
    return CRYPTO_OK;
}

static crypto_err fill_timestamp(crypto_timestamp *ts, sig_eval *e) {
    ts->gen_time = e->gen_time;
    if (e->signer && !(ts->tsa = cert_name(e->signer)))
        return CRYPTO_E_NOMEM;
    return fill_verdict(&ts->indication, &ts->sub, &ts->integrity, &ts->cause, e);
}

static crypto_err fill_result(crypto_verify_result *r, sig_eval *e) {
    r->digest = e->digest;
    r->algorithm = e->algorithm;
    r->key_bits = e->key_bits;
    r->chain_trusted = e->chain_trusted;
    r->chain_len = e->chain_len;
    r->revocation = e->revocation;
    r->revocation_source = e->revocation_source;
    if (fill_verdict(&r->indication, &r->sub, &r->integrity, &r->cause, e) != CRYPTO_OK)
        return CRYPTO_E_NOMEM;
    if (e->signer) {
        r->signer = cert_name(e->signer);
        r->signer_subject = name_text(X509_get_subject_name(e->signer));
        r->issuer = name_text(X509_get_issuer_name(e->signer));
        r->serial = serial_hex(e->signer);
        if (X509_up_ref(e->signer))
            r->signer_cert = e->signer;
        if (!r->signer || !r->signer_subject || !r->issuer || !r->serial || !r->signer_cert)
            return CRYPTO_E_NOMEM;
    }
    return CRYPTO_OK;
}

void crypto_verify_result_free(crypto_verify_result *r) {
    if (!r)
        return;
    free(r->cause);
    free(r->signer);
    free(r->signer_subject);
    free(r->issuer);
    free(r->serial);
    X509_free(r->signer_cert);
    for (size_t i = 0; i < r->n_timestamps; i++) {
        free(r->timestamps[i].tsa);
        free(r->timestamps[i].cause);
    }
    free(r->timestamps);
    if (r->seal) {
        crypto_ses_free(r->seal->ses);
        free(r->seal->cause);
        free(r->seal);
    }
    free(r);
}

/* ------------------------------------------------------------------------------------------ */
/* a signature */

/* ETSI EN 319 122-1 5.3 signature-time-stamp attributes (id-aa-signatureTimeStampToken,
 * RFC 3161 Appendix A): each an RFC 3161 token over the signature value. *best gets the
 * earliest genTime of those that pass (EN 319 102-1 5.3.4: the best signature time). */
static crypto_err eval_timestamps(time_t *best, sig_eval *e, crypto_verify_result *r, vctx *vc,
                                  CMS_SignerInfo *si) {
    const ASN1_OCTET_STRING *sv = CMS_SignerInfo_get0_signature(si);
    struct iovec iv = {(void *)(uintptr_t)ASN1_STRING_get0_data(sv),
                       (size_t)ASN1_STRING_length(sv)};
    crypto_err err = CRYPTO_OK;
    *best = 0;
    r->timestamps = calloc(VERIFY_MAX_TOKENS, sizeof *r->timestamps);
    if (!r->timestamps)
        return CRYPTO_E_NOMEM;
    bool too_many = false;
    for (int idx = -1;
         err == CRYPTO_OK && !too_many &&
         (idx = CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, idx)) >= 0;) {
        X509_ATTRIBUTE *a = CMS_unsigned_get_attr(si, idx);
        for (int k = 0; err == CRYPTO_OK && !too_many && k < X509_ATTRIBUTE_count(a); k++) {
            too_many = r->n_timestamps == VERIFY_MAX_TOKENS;
            if (too_many)
                break;
            sig_eval te = {0};
            sig_eval_clear(&te);
            ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(a, k);
            if (!t || t->type != V_ASN1_SEQUENCE)
                vnote(&te.v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE,
                      "a signature time-stamp attribute does not hold a ContentInfo");
            else
                tsp_eval(&te, vc, t->value.sequence->data, (size_t)t->value.sequence->length, &iv,
                         1);
            err = fill_timestamp(&r->timestamps[r->n_timestamps++], &te);
            if (te.v.ind == CRYPTO_TOTAL_PASSED && (!*best || te.gen_time < *best))
                *best = te.gen_time;
            sig_eval_clear(&te);
        }
    }
    if (too_many)
        vnote(&e->v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE,
              "the signature carries more than %d time-stamps", VERIFY_MAX_TOKENS);
    return err;
}

static crypto_err eval_signature(sig_eval *e, crypto_verify_result *r, vctx *vc, const uint8_t *raw,
                                 size_t len, crypto_sig_kind kind, const struct iovec *parts,
                                 int nparts) {
    CMS_ContentInfo *cms = NULL;
    crypto_err err = CRYPTO_OK;
    struct iovec inner;
    const struct iovec *content = parts;
    int ncontent = nparts;
    bool sha1_mismatch = false;
    if (!read_signed_data(&cms, &e->v, vc, raw, len))
        goto out;
    /* 5.2.2 format: ISO 32000-2 12.8.3.3 and ETSI EN 319 142-1 6.3 sign id-data, detached
     * except for adbe.pkcs7.sha1 (then the SHA-1 digest of the ranges is encapsulated). */
    if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data) {
        vnote(&e->v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE,
              "the signed content type is not id-data (ISO 32000-2 12.8.3.3)");
        goto out;
    }
    ASN1_OCTET_STRING **pos = CMS_get0_content(cms);
    const ASN1_OCTET_STRING *econt = pos ? *pos : NULL;
    if (kind == CRYPTO_SIG_PKCS7_SHA1) {
        uint8_t sha1[EVP_MAX_MD_SIZE];
        vdigest d;
        X509_ALGOR alg = {OBJ_nid2obj(NID_sha1), NULL};
        if (!econt || ASN1_STRING_length(econt) != 20) {
            vnote(&e->v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE,
                  "an adbe.pkcs7.sha1 signature must encapsulate a SHA-1 digest");
            goto out;
        }
        if (!digest_from_alg(&d, &alg) || !digest_run(sha1, &d, parts, nparts)) {
            vc->oom = true;
            goto out;
        }
        if (memcmp(sha1, ASN1_STRING_get0_data(econt), 20) != 0) {
            sha1_mismatch = true;
            vnote(&e->v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_HASH_FAILURE,
                  "the SHA-1 digest of the signed bytes is not the one signed: the document was "
                  "changed after signing");
        }
        inner.iov_base = (void *)(uintptr_t)ASN1_STRING_get0_data(econt);
        inner.iov_len = 20;
        content = &inner;
        ncontent = 1;
    } else if (econt) {
        /* as pyHanko: a detached signature that carries content signs something else */
        vnote(&e->v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE,
              "a detached signature carries encapsulated content (RFC 5652 5.2)");
        goto out;
    }
    eval_signed_data(e, vc, cms, content, ncontent, kind == CRYPTO_SIG_CADES);
    if (sha1_mismatch)
        e->integrity = false;
    if (!e->integrity)
        goto out;
    CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
    rev_from_attributes(vc, si);

    /* 5.3.4 / 5.5.4: the validation time is the best signature time a time-stamp proves,
     * else now (5.2.6.4: a time the signer only claims proves nothing, so a certificate
     * expired by now is OUT_OF_BOUNDS_NO_POE). The claimed time is reported as such. */
    time_t best = 0, at = vc->now;
    if ((err = eval_timestamps(&best, e, r, vc, si)) != CRYPTO_OK)
        goto out;
    time_t claimed = vc->opts->claimed_time ? vc->opts->claimed_time : e->signing_time_attr;
    bool believed = claimed && claimed <= vc->now;
    r->time_source = best       ? CRYPTO_TIME_TIMESTAMP
                     : believed ? CRYPTO_TIME_CLAIMED
                                : CRYPTO_TIME_NONE;
    /* without a signature time-stamp, a later document time-stamp's proof (5.6.2.1) */
    time_t poe = vc->opts->poe_time && vc->opts->poe_time < vc->now ? vc->opts->poe_time : 0;
    if (!best && poe) {
        best = poe;
        r->time_source = CRYPTO_TIME_TIMESTAMP;
    }
    if (best)
        at = best;
    r->signing_time = best ? best : believed ? claimed : at;
    eval_certificate(e, vc, at, best != 0, ROLE_SIGNER);
    if ((err = eval_seal(e, r, vc, si, at, best != 0, believed ? claimed : 0)) != CRYPTO_OK)
        goto out;
    for (size_t i = 0; i < r->n_timestamps; i++) {
        const crypto_timestamp *ts = &r->timestamps[i];
        if (ts->indication != CRYPTO_TOTAL_PASSED)
            vnote(&e->v, CRYPTO_INDETERMINATE,
                  ts->indication == CRYPTO_INDETERMINATE ? ts->sub
                                                         : CRYPTO_SUB_SIG_CONSTRAINTS_FAILURE,
                  "its signature time-stamp does not hold: %s", ts->cause ? ts->cause : "");
    }
out:
    CMS_ContentInfo_free(cms);
    return err;
}

crypto_err crypto_verify_signature(crypto_verify_result **out, const uint8_t *cms, size_t cms_len,
                                   crypto_sig_kind kind, const struct iovec *parts, int nparts,
                                   const crypto_verify_opts *opts) {
    crypto_verify_opts dflt = {0};
    crypto_verify_result *r = NULL;
    sig_eval e = {0};
    vctx vc;
    crypto_err err;
    memset(&vc, 0, sizeof vc);
    sig_eval_clear(&e);
    if (!out)
        return CRYPTO_E_ARG;
    *out = NULL;
    crypto_clear_detail();
    if ((!cms && cms_len) || nparts < 0 || (nparts > 0 && !parts) ||
        (unsigned)kind > CRYPTO_SIG_DOC_TIMESTAMP)
        return crypto_fail(CRYPTO_E_ARG, "invalid arguments to crypto_verify_signature");
    if (!opts)
        opts = &dflt;
    r = calloc(1, sizeof *r);
    err = r ? vctx_init(&vc, opts) : CRYPTO_E_NOMEM;
    if (err != CRYPTO_OK)
        goto out;
    if (kind == CRYPTO_SIG_DOC_TIMESTAMP) {
        /* ETSI EN 319 142-1 5.4.3: the token's imprint is over the signed ranges; validated at
         * the current time (EN 319 102-1 5.4). */
        r->timestamps = calloc(1, sizeof *r->timestamps);
        if (!r->timestamps) {
            err = CRYPTO_E_NOMEM;
            goto out;
        }
        tsp_eval(&e, &vc, cms, cms_len, parts, nparts);
        r->signing_time = vc.now;
        r->time_source = CRYPTO_TIME_NONE;
        r->n_timestamps = 1;
        err = fill_timestamp(&r->timestamps[0], &e);
    } else {
        err = eval_signature(&e, r, &vc, cms, cms_len, kind, parts, nparts);
    }
    if (err == CRYPTO_OK && vc.oom)
        err = crypto_fail(CRYPTO_E_NOMEM, "out of memory while verifying");
    if (err == CRYPTO_OK)
        err = fill_result(r, &e);
out:
    sig_eval_clear(&e);
    vctx_free(&vc);
    ERR_clear_error();
    if (err != CRYPTO_OK) {
        crypto_verify_result_free(r);
        return err;
    }
    *out = r;
    return CRYPTO_OK;
}
