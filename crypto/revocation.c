/* Revocation status of the certificates of a path (ETSI EN 319 102-1 5.2.5 and 5.2.6.4): from
 * the CRLs (RFC 5280 5, 6.3) and OCSP responses (RFC 6960) the signature and the document
 * carry, and, when asked, from the OCSP responders and CRL distribution points the
 * certificates name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "crypto/der.h"
#include "crypto/internal.h"
#include "crypto/verify_int.h"

#define MAX_URLS 2                     /* services asked per certificate and kind */
#define NO_NEXT_UPDATE_AGE (24 * 3600) /* how long a status without nextUpdate is fresh */

/* id-ri-ocsp-response {1 3 6 1 5 5 7 16 2} (RFC 5940 4.1) */
static const uint8_t OID_RI_OCSP[] = {0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x10, 0x02};
/* Adobe's adbe-revocationInfoArchival {1 2 840 113583 1 1 8} (ISO 32000-2 12.8.3.3.2) */
static const uint8_t OID_ADBE_REVINFO[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x2F, 0x01, 0x01, 0x08};

/* ------------------------------------------------------------------------------------------ */
/* gathering */

/* An OCSPResponse (RFC 6960 4.2.1) or, basic, a BasicOCSPResponse. */
static void add_ocsp_der(vctx *vc, const uint8_t *p, size_t n, bool basic, const char *source) {
    const unsigned char *q = p;
    OCSP_BASICRESP *bs = NULL;
    if (basic) {
        bs = d2i_OCSP_BASICRESP(NULL, &q, (long)n);
    } else {
        OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &q, (long)n);
        if (resp && OCSP_response_status(resp) == OCSP_RESPONSE_STATUS_SUCCESSFUL)
            bs = OCSP_response_get1_basic(resp);
        OCSP_RESPONSE_free(resp);
    }
    if (bs) {
        crypto_sm2_ocsp_prepare(bs);
        vctx_add_ocsp(vc, bs, source); /* past the limit it is dropped: less is known */
    }
    ERR_clear_error();
}

void rev_from_cms(vctx *vc, CMS_ContentInfo *cms, const uint8_t *raw, size_t raw_len,
                  const char *source) {
    STACK_OF(X509_CRL) *crls = CMS_get1_crls(cms);
    while (sk_X509_CRL_num(crls) > 0)
        vctx_add_crl(vc, sk_X509_CRL_shift(crls), source);
    sk_X509_CRL_free(crls);
    /* RFC 5652 5.1 and 10.2.1: SignedData's crls [1] IMPLICIT SET OF RevocationInfoChoice,
     * of which other [1] IMPLICIT OtherRevocationInfoFormat { id-ri-ocsp-response,
     * OCSPResponse } (RFC 5940 4.1) OpenSSL does not read. BER input is passed over. */
    der_in in = der_in_make(raw, raw_len);
    der_tlv ci, oid, ex, sd, field, item, format, data;
    if (!der_next(&in, &ci) || ci.tag != DER_SEQUENCE || !der_next(&ci.val, &oid) ||
        !der_next(&ci.val, &ex) || ex.tag != DER_CTX0 || !der_next(&ex.val, &sd) ||
        sd.tag != DER_SEQUENCE)
        return;
    while (der_next(&sd.val, &field)) {
        if (field.tag != DER_CTX1)
            continue;
        for (size_t k = 0; k < VERIFY_MAX_ITEMS && der_next(&field.val, &item); k++)
            if (item.tag == DER_CTX1 && der_next(&item.val, &format) && format.tag == DER_OID &&
                der_next(&item.val, &data) &&
                (size_t)(format.val.end - format.val.p) == sizeof OID_RI_OCSP &&
                memcmp(format.val.p, OID_RI_OCSP, sizeof OID_RI_OCSP) == 0)
                add_ocsp_der(vc, data.raw, data.raw_len, false, source);
        break;
    }
}

/* SEQUENCE { [0] EXPLICIT SEQUENCE OF CertificateList, [1] EXPLICIT SEQUENCE OF OCSP responses,
 * [2] other } as Adobe's revocationInfoArchival (OCSPResponse) and CAdES revocation-values
 * (ETSI EN 319 122-2 5.5.3, BasicOCSPResponse) both have it. */
static void rev_from_lists(vctx *vc, const ASN1_TYPE *t, bool basic, const char *source) {
    if (!t || t->type != V_ASN1_SEQUENCE)
        return;
    der_in in = der_in_make(t->value.sequence->data, (size_t)t->value.sequence->length);
    der_tlv top, part, list, item;
    if (!der_next(&in, &top) || top.tag != DER_SEQUENCE)
        return;
    while (der_next(&top.val, &part)) {
        if ((part.tag != DER_CTX0 && part.tag != DER_CTX1) || !der_next(&part.val, &list) ||
            list.tag != DER_SEQUENCE)
            continue;
        for (size_t k = 0; k < VERIFY_MAX_ITEMS && der_next(&list.val, &item); k++) {
            if (part.tag == DER_CTX1) {
                add_ocsp_der(vc, item.raw, item.raw_len, basic, source);
                continue;
            }
            const unsigned char *q = item.raw;
            X509_CRL *crl = d2i_X509_CRL(NULL, &q, (long)item.raw_len);
            if (crl)
                vctx_add_crl(vc, crl, source);
            ERR_clear_error();
        }
    }
}

void rev_from_attributes(vctx *vc, CMS_SignerInfo *si) {
    int n = CMS_signed_get_attr_count(si);
    for (int i = 0; i < n; i++) {
        X509_ATTRIBUTE *a = CMS_signed_get_attr(si, i);
        if (obj_is(X509_ATTRIBUTE_get0_object(a), OID_ADBE_REVINFO, sizeof OID_ADBE_REVINFO) &&
            X509_ATTRIBUTE_count(a) == 1)
            rev_from_lists(vc, X509_ATTRIBUTE_get0_type(a, 0), false, "Adobe");
    }
    int idx = CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_ets_revocationValues, -1);
    if (idx >= 0)
        rev_from_lists(vc, X509_ATTRIBUTE_get0_type(CMS_unsigned_get_attr(si, idx), 0), true,
                       "CMS");
    /* ETSI EN 319 122-2 5.5.2 certificate-values: SEQUENCE OF Certificate */
    idx = CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_ets_certValues, -1);
    ASN1_TYPE *t = idx >= 0 ? X509_ATTRIBUTE_get0_type(CMS_unsigned_get_attr(si, idx), 0) : NULL;
    if (t && t->type == V_ASN1_SEQUENCE) {
        der_in in = der_in_make(t->value.sequence->data, (size_t)t->value.sequence->length);
        der_tlv seq, item;
        if (der_next(&in, &seq) && seq.tag == DER_SEQUENCE)
            for (size_t k = 0; k < VERIFY_MAX_ITEMS && der_next(&seq.val, &item); k++) {
                const unsigned char *q = item.raw;
                X509 *c = d2i_X509(NULL, &q, (long)item.raw_len);
                if (c && crypto_sm2_cert_prepare(c))
                    vctx_add_cert(vc, c);
                else
                    X509_free(c);
            }
    }
    ERR_clear_error();
}

/* ------------------------------------------------------------------------------------------ */
/* the status one CRL or OCSP response gives */

typedef enum st_kind { ST_NONE, ST_GOOD, ST_REVOKED } st_kind;

typedef struct cert_st {
    st_kind kind;
    time_t rev_time;
    int reason;
    const char *source;
} cert_st;

/* ETSI EN 319 102-1 5.2.5.4: a "not revoked" status tells of time at when it was issued at or
 * after it, or when at falls before its nextUpdate; without nextUpdate, for a day after it was
 * issued. A revocation needs no freshness: it is not undone (certificateHold aside). */
static bool fresh(time_t issued, const ASN1_TIME *next, time_t at) {
    time_t nu;
    if (issued >= at)
        return true;
    if (next)
        return time_from_asn1(&nu, next) && at < nu;
    return at - issued <= NO_NEXT_UPDATE_AGE;
}

static bool names_meet(GENERAL_NAMES *a, GENERAL_NAMES *b) {
    for (int i = 0; i < sk_GENERAL_NAME_num(a); i++)
        for (int j = 0; j < sk_GENERAL_NAME_num(b); j++)
            if (GENERAL_NAME_cmp(sk_GENERAL_NAME_value(a, i), sk_GENERAL_NAME_value(b, j)) == 0)
                return true;
    return false;
}

/* RFC 5280 6.3.3 (b): does a CRL cover cert? Delta CRLs, indirect CRLs, CRLs for some reasons
 * only and unknown critical extensions are not used; a distribution point of the CRL must be
 * one the certificate names. */
static bool crl_covers(X509_CRL *crl, X509 *cert) {
    int crit = -1;
    bool ok;
    for (int i = 0; i < X509_CRL_get_ext_count(crl); i++) {
        X509_EXTENSION *ex = X509_CRL_get_ext(crl, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ex));
        if (nid == NID_delta_crl ||
            (X509_EXTENSION_get_critical(ex) && nid != NID_issuing_distribution_point &&
             nid != NID_crl_number && nid != NID_authority_key_identifier))
            return false;
    }
    ISSUING_DIST_POINT *idp =
        X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit, NULL);
    if (!idp)
        return crit == -1; /* absent: covers all; present but unreadable: not used */
    bool ca = X509_check_ca(cert) > 0;
    ok = !idp->indirectCRL && !idp->onlysomereasons && !idp->onlyattr && !(idp->onlyCA && !ca) &&
         !(idp->onlyuser && ca);
    if (ok && idp->distpoint) {
        STACK_OF(DIST_POINT) *cdp = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
        ok = false;
        for (int i = 0; idp->distpoint->type == 0 && i < sk_DIST_POINT_num(cdp) && !ok; i++) {
            DIST_POINT *dp = sk_DIST_POINT_value(cdp, i);
            ok = dp->distpoint && dp->distpoint->type == 0 &&
                 names_meet(dp->distpoint->name.fullname, idp->distpoint->name.fullname);
        }
        sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
    }
    ISSUING_DIST_POINT_free(idp);
    return ok;
}

/* RFC 5280 6.3.3 (f), (g): the CRL is signed by the certificate's issuer, whose key usage
 * allows cRLSign (an SM2 issuer's signature with the default ID, crypto/sm2.c). Remembered for
 * the issuer last asked. */
static bool crl_signed(rev_item *it, X509 *issuer) {
    if (it->checked_with != issuer) {
        uint32_t ku = X509_get_key_usage(issuer);
        it->checked_ok = (ku == UINT32_MAX || (ku & KU_CRL_SIGN)) &&
                         crypto_crl_signed_by(it->crl, X509_get0_pubkey(issuer));
        it->checked_with = issuer;
        ERR_clear_error();
    }
    return it->checked_ok;
}

static void crl_status(cert_st *st, rev_item *it, X509 *cert, X509 *issuer, time_t at) {
    X509_CRL *crl = it->crl;
    X509_REVOKED *rv = NULL;
    time_t issued;
    st->kind = ST_NONE;
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(cert)) != 0 ||
        !crl_covers(crl, cert) || !crl_signed(it, issuer))
        return;
    if (X509_CRL_get0_by_cert(crl, &rv, cert) == 1) {
        ASN1_ENUMERATED *why = X509_REVOKED_get_ext_d2i(rv, NID_crl_reason, NULL, NULL);
        st->reason = why ? (int)ASN1_ENUMERATED_get(why) : -1;
        ASN1_ENUMERATED_free(why);
        if (time_from_asn1(&st->rev_time, X509_REVOKED_get0_revocationDate(rv)))
            st->kind = ST_REVOKED;
    } else if (time_from_asn1(&issued, X509_CRL_get0_lastUpdate(crl)) &&
               fresh(issued, X509_CRL_get0_nextUpdate(crl), at)) {
        st->kind = ST_GOOD;
    }
    ERR_clear_error();
}

/* RFC 6960 4.2.2.2: an authorized responder is the CA itself, or one the CA issued a
 * certificate with id-kp-OCSPSigning to, valid when the response was produced. The response's
 * signature is checked with the responder's key. Remembered for the issuer last asked. */
static bool ocsp_signed(vctx *vc, rev_item *it, X509 *issuer) {
    STACK_OF(X509) *one = NULL;
    X509 *signer = NULL;
    time_t at;
    if (it->checked_with == issuer)
        return it->checked_ok;
    it->checked_with = issuer;
    it->checked_ok = false;
    one = sk_X509_new_null();
    if (!one || !sk_X509_push(one, issuer)) {
        vc->oom = true;
        goto out;
    }
    if (!OCSP_resp_get0_signer(it->ocsp, &signer, vc->certs) &&
        !OCSP_resp_get0_signer(it->ocsp, &signer, one))
        goto out;
    if (X509_cmp(signer, issuer) != 0) {
        if (X509_check_issued(issuer, signer) != X509_V_OK ||
            X509_verify(signer, X509_get0_pubkey(issuer)) != 1 ||
            !(X509_get_extension_flags(signer) & EXFLAG_XKUSAGE) ||
            !(X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN) ||
            !time_from_asn1(&at, OCSP_resp_get0_produced_at(it->ocsp)) ||
            X509_cmp_time(X509_get0_notBefore(signer), &at) > 0 ||
            X509_cmp_time(X509_get0_notAfter(signer), &at) < 0)
            goto out;
    }
    it->checked_ok = crypto_ocsp_signed_by(it->ocsp, signer); /* SM2: with the default ID */
out:
    sk_X509_free(one);
    ERR_clear_error();
    return it->checked_ok;
}

static void ocsp_status(cert_st *st, vctx *vc, rev_item *it, X509 *cert, X509 *issuer, time_t at) {
    OCSP_BASICRESP *bs = it->ocsp;
    st->kind = ST_NONE;
    int n = OCSP_resp_count(bs);
    for (int i = 0; i < n && i < VERIFY_MAX_ITEMS && st->kind == ST_NONE; i++) {
        OCSP_SINGLERESP *single = OCSP_resp_get0(bs, i);
        OCSP_CERTID *cid = (OCSP_CERTID *)(uintptr_t)OCSP_SINGLERESP_get0_id(single);
        ASN1_OBJECT *mdo = NULL;
        ASN1_INTEGER *serial = NULL;
        if (!OCSP_id_get0_info(NULL, &mdo, NULL, &serial, cid) ||
            ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(cert)) != 0)
            continue;
        const EVP_MD *md = EVP_get_digestbyobj(mdo);
        OCSP_CERTID *want = md ? OCSP_cert_to_id(md, cert, issuer) : NULL;
        bool same = want && OCSP_id_cmp(want, cid) == 0;
        OCSP_CERTID_free(want);
        if (!same || !ocsp_signed(vc, it, issuer))
            continue;
        int reason = -1;
        ASN1_GENERALIZEDTIME *rt = NULL, *tu = NULL, *nu = NULL;
        time_t issued;
        int status = OCSP_single_get0_status(single, &reason, &rt, &tu, &nu);
        if (status == V_OCSP_CERTSTATUS_REVOKED && time_from_asn1(&st->rev_time, rt)) {
            st->kind = ST_REVOKED;
            st->reason = reason;
        } else if (status == V_OCSP_CERTSTATUS_GOOD && time_from_asn1(&issued, tu) &&
                   fresh(issued, nu, at)) {
            st->kind = ST_GOOD;
        }
    }
    ERR_clear_error();
}

/* What all the data gathered says of cert: a revocation (the earliest) over a good status. */
static void status_of(cert_st *out, vctx *vc, X509 *cert, X509 *issuer, time_t at) {
    memset(out, 0, sizeof *out);
    out->reason = -1;
    for (size_t i = 0; i < vc->n_rev; i++) {
        cert_st st = {ST_NONE, 0, -1, vc->rev[i].source};
        if (vc->rev[i].crl)
            crl_status(&st, &vc->rev[i], cert, issuer, at);
        else
            ocsp_status(&st, vc, &vc->rev[i], cert, issuer, at);
        if (st.kind == ST_REVOKED && (out->kind != ST_REVOKED || st.rev_time < out->rev_time))
            *out = st;
        else if (st.kind == ST_GOOD && out->kind == ST_NONE)
            *out = st;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* asking the services the certificate names */

/* RFC 6960 A.1: the responders of the authority information access extension (crypto/fetch.c) */
static bool fetch_ocsp(vctx *vc, X509 *cert, X509 *issuer) {
    OCSP_RESPONSE *resp = crypto_fetch_ocsp(cert, issuer, vc->opts->timeout_ms, MAX_URLS, true);
    OCSP_BASICRESP *bs = resp ? OCSP_response_get1_basic(resp) : NULL;
    if (bs)
        crypto_sm2_ocsp_prepare(bs);
    bool got = bs && vctx_add_ocsp(vc, bs, "OCSP");
    OCSP_RESPONSE_free(resp);
    ERR_clear_error();
    return got;
}

/* RFC 5280 4.2.1.13: the CRL at an http URI of a distribution point's full name. */
static bool fetch_crl(vctx *vc, X509 *cert) {
    X509_CRL *crl = crypto_fetch_crl(cert, vc->opts->timeout_ms, MAX_URLS, NULL, NULL);
    return crl && vctx_add_crl(vc, crl, "CRL");
}

/* Does the certificate name a CRL distribution point or an OCSP responder? */
static bool has_pointers(X509 *cert) {
    STACK_OF(OPENSSL_STRING) *ocsp = X509_get1_ocsp(cert);
    bool yes = sk_OPENSSL_STRING_num(ocsp) > 0 ||
               X509_get_ext_by_NID(cert, NID_crl_distribution_points, -1) >= 0;
    X509_email_free(ocsp);
    return yes;
}

void rev_check(rev_res *out, vctx *vc, STACK_OF(X509) * chain, time_t at, bool poe) {
    bool good = false, unknown = false, revoked = false;
    memset(out, 0, sizeof *out);
    out->reason = -1;
    for (int i = 0; i + 1 < sk_X509_num(chain) && !revoked; i++) {
        X509 *cert = sk_X509_value(chain, i), *issuer = sk_X509_value(chain, i + 1);
        cert_st st;
        status_of(&st, vc, cert, issuer, at);
        if (st.kind == ST_NONE && vc->opts->online && fetch_ocsp(vc, cert, issuer))
            status_of(&st, vc, cert, issuer, at);
        if (st.kind == ST_NONE && vc->opts->online && fetch_crl(vc, cert))
            status_of(&st, vc, cert, issuer, at);
        bool hold = st.kind == ST_REVOKED && st.reason == OCSP_REVOKED_STATUS_CERTIFICATEHOLD;
        /* revoked after a time-stamp proved the signature: no failure (5.2.6.4) */
        revoked = st.kind == ST_REVOKED && !(poe && !hold && st.rev_time > at);
        if (revoked) {
            out->depth = i;
            out->rev_time = st.rev_time;
            out->reason = st.reason;
            out->on_hold = hold;
            out->source = st.source;
        } else if (st.kind != ST_NONE) {
            good = true;
            if (!out->source)
                out->source = st.source;
        } else if (!unknown && has_pointers(cert)) {
            unknown = true;
            out->depth = i;
        }
    }
    out->status = revoked   ? CRYPTO_REV_REVOKED
                  : unknown ? CRYPTO_REV_UNKNOWN
                  : good    ? CRYPTO_REV_GOOD
                            : CRYPTO_REV_NO_POINTERS;
}
