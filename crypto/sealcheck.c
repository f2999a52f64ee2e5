/* The GB/T 38540 seal a signature carries (crypto/ses.h), judged with the signature: the seal is
 * a signed attribute, so the one signature binds seal, signer and document; the verifier then
 * checks what GB/T 38540-2020 clause 8 (verification of an electronic seal and of a signature
 * made with it) asks of the seal itself: the maker's signature and certificate, that the
 * signer's certificate is one the seal lists, and that the seal was valid when the signature
 * was made. Whether the picture shown is the seal's is for the caller, who knows the page. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "crypto/ca.h"
#include "crypto/internal.h"
#include "crypto/ses.h"
#include "crypto/verify_int.h"

/* Notes a finding on the signature and keeps the first one as the seal's cause. */
static void seal_note(sig_eval *e, crypto_seal_check *sc, crypto_indication ind, crypto_subind sub,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void seal_note(sig_eval *e, crypto_seal_check *sc, crypto_indication ind, crypto_subind sub,
                      const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!sc->cause)
        sc->cause = strdup(msg);
    vnote(&e->v, ind, sub, "%s", msg);
}

/* The maker's certificate: a key whose usage allows signing and that is strong enough, a path
 * to a trust anchor at time at made of strong enough keys and signatures, and known not to be
 * revoked as far as its certificates name a CRL or OCSP service (GB/T 38540-2020 8 asks the
 * maker's certificate to be valid; its status is checked with what the document and the CMS
 * carry, and online when asked; an unknown status is INDETERMINATE, as the signer's). */
static void check_maker(sig_eval *e, crypto_seal_check *sc, vctx *vc, time_t at, bool poe) {
    crypto_ses *ses = sc->ses;
    chain_res cr;
    memset(&cr, 0, sizeof cr);
    crypto_sm2_cert_prepare(ses->maker);
    /* RFC 5280 4.2.1.3: the maker's key signs the seal, so its usage must allow signatures (a
     * CA's or an encryption certificate does not make seals) */
    uint32_t ku = X509_get_key_usage(ses->maker);
    if (ku != UINT32_MAX && !(ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION))) {
        seal_note(e, sc, CRYPTO_INDETERMINATE, CRYPTO_SUB_CHAIN_CONSTRAINTS_FAILURE,
                  "the seal maker's certificate's key usage allows neither digitalSignature nor "
                  "nonRepudiation (RFC 5280 4.2.1.3)");
        goto out;
    }
    /* ETSI TS 119 312, as for signers and as crypto_ses_make asks of makers: RSA of 2048 bits
     * and more, P-256, P-384, P-521, SM2 */
    if (crypto_key_strength(X509_get0_pubkey(ses->maker)) != CRYPTO_OK) {
        seal_note(e, sc, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE,
                  "the seal maker's key is too weak or not accepted: %s (ETSI TS 119 312)",
                  crypto_errdetail());
        crypto_clear_detail();
        goto out;
    }
    /* GB/T 38540-2020 8: the maker must be one trusted to make seals, not merely a holder of
     * a certificate the document's signers' anchors vouch for */
    const crypto_trust *makers = vc->opts->maker_trust;
    if (chain_build(&cr, makers, ses->maker, vc->certs, at) != CRYPTO_OK) {
        vc->oom = true;
        goto out;
    }
    if (!cr.chain) {
        seal_note(e, sc, CRYPTO_INDETERMINATE, CRYPTO_SUB_NO_CERTIFICATE_CHAIN_FOUND,
                  "the seal maker's certificate does not lead to a seal maker anchor: %s",
                  crypto_trust_count(makers)
                      ? X509_verify_cert_error_string(cr.err)
                      : "no seal maker anchors were given, so no seal maker is trusted");
        goto out;
    }
    if (cr.weak_err != X509_V_OK) {
        seal_note(e, sc, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE,
                  "the seal maker's certificate path is too weak at depth %d: %s (ETSI TS 119 "
                  "312)",
                  cr.weak_depth, X509_verify_cert_error_string(cr.weak_err));
        goto out;
    }
    if (cr.time_err != X509_V_OK) {
        seal_note(e, sc, CRYPTO_INDETERMINATE, CRYPTO_SUB_OUT_OF_BOUNDS_NO_POE,
                  "the seal maker's certificate path is not valid at the signing time: %s",
                  X509_verify_cert_error_string(cr.time_err));
        goto out;
    }
    rev_res rr;
    rev_check(&rr, vc, cr.chain, at, poe);
    if (rr.status == CRYPTO_REV_REVOKED) {
        seal_note(e, sc, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_REVOKED,
                  "the seal maker's certificate path is revoked (depth %d)", rr.depth);
        goto out;
    }
    if (rr.status == CRYPTO_REV_UNKNOWN) {
        seal_note(e, sc, CRYPTO_INDETERMINATE, CRYPTO_SUB_TRY_LATER,
                  "no revocation information was found for the seal maker's certificate path "
                  "(depth %d), which names a CRL or OCSP service%s",
                  rr.depth,
                  vc->opts->online ? " that could not be asked"
                                   : "; verify with --online to ask it");
        goto out;
    }
    sc->maker_trusted = true;
out:
    chain_res_free(&cr);
}

/* The seal's validity against the signing time, as the certificate's (ETSI EN 319 102-1
 * 5.2.6.4 applied to the seal): proof is the time the signature is proven to exist (a
 * time-stamp, else the validation time); claimed the time the signer claims, 0 if none. */
static void check_validity(sig_eval *e, crypto_seal_check *sc, time_t proof, bool poe,
                           time_t claimed) {
    const crypto_ses *ses = sc->ses;
    char from[64], to[64], when[64];
    time_format(from, sizeof from, ses->valid_from);
    time_format(to, sizeof to, ses->valid_to);
    int at_proof = crypto_ses_when(ses, proof);
    int at_claim = claimed ? crypto_ses_when(ses, claimed) : 0;
    sc->validity = claimed && !poe ? at_claim : at_proof;
    if (at_proof < 0) {
        time_format(when, sizeof when, proof);
        seal_note(e, sc, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_NOT_YET_VALID,
                  "the seal was not yet valid when the signature was made: the signature "
                  "existed at %s (%s), the seal is valid from %s",
                  when, poe ? "time-stamp" : "now", from);
        sc->validity = -1;
    } else if (claimed && at_claim != 0) {
        time_format(when, sizeof when, claimed);
        seal_note(e, sc, CRYPTO_TOTAL_FAILED,
                  at_claim < 0 ? CRYPTO_SUB_NOT_YET_VALID : CRYPTO_SUB_EXPIRED,
                  "the seal was not valid at the signing time %s the signer gives (valid %s "
                  "to %s)",
                  when, from, to);
        sc->validity = at_claim;
    } else if (at_proof > 0) {
        seal_note(e, sc, CRYPTO_INDETERMINATE, CRYPTO_SUB_OUT_OF_BOUNDS_NO_POE,
                  "the seal expired on %s, and no time-stamp proves the signature was made "
                  "before",
                  to);
    }
}

crypto_err eval_seal(sig_eval *e, crypto_verify_result *r, vctx *vc, CMS_SignerInfo *si, time_t at,
                     bool poe, time_t claimed) {
    crypto_err err = CRYPTO_OK;
    ASN1_OBJECT *oid = OBJ_txt2obj(CRYPTO_OID_SEAL_ATTR, 1);
    crypto_seal_check *sc = NULL;
    if (!oid)
        return CRYPTO_E_NOMEM;
    int idx = CMS_signed_get_attr_by_OBJ(si, oid, -1);
    if (CMS_unsigned_get_attr_by_OBJ(si, oid, -1) >= 0)
        vnote(&e->v, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE,
              "a seal outside the signed attributes is bound to nothing (GB/T 38540 seals "
              "must be signed)");
    if (idx < 0)
        goto out;
    if (!(sc = r->seal = calloc(1, sizeof *sc))) {
        err = CRYPTO_E_NOMEM;
        goto out;
    }
    X509_ATTRIBUTE *a = CMS_signed_get_attr(si, idx);
    ASN1_TYPE *t = X509_ATTRIBUTE_count(a) == 1 ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;
    if (CMS_signed_get_attr_by_OBJ(si, oid, idx) >= 0 || !t || t->type != V_ASN1_SEQUENCE) {
        seal_note(e, sc, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE,
                  "the seal attribute must hold exactly one seal");
        goto out;
    }
    crypto_err pe =
        crypto_ses_parse(&sc->ses, t->value.sequence->data, (size_t)t->value.sequence->length);
    if (pe == CRYPTO_E_NOMEM) {
        err = pe;
        goto out;
    }
    if (pe != CRYPTO_OK) {
        seal_note(e, sc, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_FORMAT_FAILURE,
                  "the seal it carries cannot be read: %s", crypto_errdetail());
        goto out;
    }
    crypto_err me = crypto_ses_check_maker(sc->ses);
    sc->maker_signature = me == CRYPTO_OK;
    if (me == CRYPTO_E_SIGN)
        seal_note(e, sc, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_SIG_CRYPTO_FAILURE,
                  "the seal maker's signature over the seal does not verify: the seal was "
                  "altered or not made by its maker");
    else if (me != CRYPTO_OK)
        seal_note(e, sc, CRYPTO_INDETERMINATE, CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE,
                  "the seal maker's signature cannot be checked: %s", crypto_errdetail());
    if (e->signer) {
        sc->signer_listed = crypto_ses_lists(sc->ses, e->signer);
        if (!sc->signer_listed) {
            char *who = cert_name(e->signer);
            seal_note(e, sc, CRYPTO_TOTAL_FAILED, CRYPTO_SUB_SIG_CONSTRAINTS_FAILURE,
                      "the signer %s is not one of the seal's signers", who ? who : "");
            free(who);
        }
    }
    check_validity(e, sc, at, poe, claimed);
    if (sc->maker_signature)
        check_maker(e, sc, vc, at, poe);
out:
    ASN1_OBJECT_free(oid);
    return err;
}
