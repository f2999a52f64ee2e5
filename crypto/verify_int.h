/* Shared by the verifier's files (verify.c, trust.c, tsp.c, revocation.c); not part of the
 * crypto library's interface. */
#ifndef ESEAL_CRYPTO_VERIFY_INT_H
#define ESEAL_CRYPTO_VERIFY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/cms.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "crypto/verify.h"

#define VERIFY_MAX_ITEMS 1000 /* certificates, CRLs, OCSP responses of one source */
#define VERIFY_MAX_TOKENS 16  /* signature time-stamps of one signature */

struct crypto_trust {
    X509_STORE *store;      /* the anchors, for path building */
    STACK_OF(X509) * certs; /* the anchors, in the order added */
    X509 **by_serial;       /* the anchors sorted by serial number, to find a signer */
    size_t n_sorted;
};

struct crypto_vdata {
    STACK_OF(X509) * certs;
    STACK_OF(X509_CRL) * crls;
    OCSP_BASICRESP **ocsps;
    size_t n_ocsps;
    size_t unparsable;
};

/* ---- reading DER (ITU-T X.690 8.1), bounded, definite lengths only ---- */

typedef struct der_in {
    const uint8_t *p, *end;
    bool bad; /* a malformed element was met */
} der_in;

typedef struct der_tlv {
    uint8_t tag;        /* the identifier octet: 0x30, 0xA0, ... (low tag numbers only) */
    const uint8_t *raw; /* the whole element */
    size_t raw_len;
    der_in val; /* its contents */
} der_tlv;

der_in der_in_make(const uint8_t *p, size_t n);
/* The next element; false at the end or on malformed input (then in->bad is set). */
bool der_next(der_in *in, der_tlv *out);

/* ---- a verdict being formed ---- */

/* ETSI EN 319 102-1 5.3: the first finding stands, except that a TOTAL_FAILED finding
 * overrides an INDETERMINATE one. The code calls the checks in the order of their weight. */
typedef struct verdict {
    crypto_indication ind;
    crypto_subind sub;
    char cause[512];
} verdict;

void vnote(verdict *v, crypto_indication ind, crypto_subind sub, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- what one verification has gathered ---- */

typedef struct rev_item {
    X509_CRL *crl; /* one of crl and ocsp */
    OCSP_BASICRESP *ocsp;
    const char *source; /* "CMS", "DSS", "Adobe", "OCSP", "CRL" */
    bool borrowed;      /* the document's (crypto_vdata): not freed with the verification */
    X509 *checked_with; /* the issuer its signature was last checked with (borrowed) */
    bool checked_ok;
} rev_item;

typedef struct vctx {
    const crypto_verify_opts *opts;
    const crypto_trust *trust; /* NULL when none */
    time_t now;                /* the current time of the validation */
    STACK_OF(X509) * certs;    /* untrusted certificates: the CMS's, the tokens', vdata's */
    rev_item *rev;             /* CRLs and OCSP responses from every source */
    size_t n_rev, cap_rev;
    bool oom; /* an allocation failed: the verification cannot be trusted */
} vctx;

/* Adds a certificate (taking a reference) unless too many are held. */
bool vctx_add_cert(vctx *vc, X509 *c);
/* Adds a CRL or an OCSP response (taking a reference). */
bool vctx_add_crl(vctx *vc, X509_CRL *crl, const char *source);
bool vctx_add_ocsp(vctx *vc, OCSP_BASICRESP *bs, const char *source);

/* Everything the evaluation of one SignedData (a signature or a time-stamp token) finds. */
typedef struct sig_eval {
    verdict v;
    bool format_ok; /* 5.2.2 passed and a SignerInfo was read */
    bool integrity;
    X509 *signer; /* a reference, NULL when not found */
    const char *digest;
    const char *algorithm;
    int key_bits;
    time_t signing_time_attr; /* the signing-time signed attribute, 0 when none */
    bool chain_trusted;
    size_t chain_len;
    crypto_revocation revocation;
    const char *revocation_source;
    time_t gen_time; /* time-stamp tokens: TSTInfo genTime */
} sig_eval;

void sig_eval_clear(sig_eval *e);

/* ETSI EN 319 102-1 5.2.2: raw as a ContentInfo holding SignedData, within the limits of
 * crypto/verify.h; its certificates and revocation data join vc's. false with v noted when it
 * is malformed. */
bool read_signed_data(CMS_ContentInfo **out, verdict *v, vctx *vc, const uint8_t *raw, size_t len);

/* Format, signer identification, integrity and algorithm policy of the one SignerInfo of a
 * SignedData whose content is the given parts (ETSI EN 319 102-1 5.2.2, 5.2.3, 5.2.7, 5.2.8).
 * need_attrs: signed attributes are required. */
void eval_signed_data(sig_eval *e, vctx *vc, CMS_ContentInfo *cms, const struct iovec *content,
                      int ncontent, bool need_attrs);

typedef enum cert_role { ROLE_SIGNER, ROLE_TSA } cert_role;

/* X.509 validation of e->signer at time at, with revocation (5.2.6, 5.2.5). poe: a time-stamp
 * proves the signature existed at that time. */
void eval_certificate(sig_eval *e, vctx *vc, time_t at, bool poe, cert_role role);

/* ---- sealcheck.c ---- */

/* The seal the SignerInfo carries as a signed attribute (crypto/ses.h), if any, into r->seal,
 * its findings noted on e: at is the time the signer's certificate was validated at (a
 * time-stamp's when poe, else now), claimed the signing time the signer gives (0: none). */
crypto_err eval_seal(sig_eval *e, crypto_verify_result *r, vctx *vc, CMS_SignerInfo *si, time_t at,
                     bool poe, time_t claimed);

/* ---- trust.c ---- */

/* The certificate of exactly this DER, parsed once per process (a new reference), or NULL. */
X509 *cert_from_der(const uint8_t *der, size_t len);
/* A trust anchor the SignerInfo identifies, or NULL. */
X509 *trust_find_signer(const crypto_trust *t, CMS_SignerInfo *si);

typedef struct chain_res {
    STACK_OF(X509) * chain; /* when a path to an anchor was found: leaf first, anchor last */
    int err;                /* the error that stopped it (X509_V_OK when none) */
    int err_depth;
    int time_err; /* the first validity error, and where */
    int time_depth;
    int weak_err; /* the first key or signature too weak, and where */
    int weak_depth;
} chain_res;

/* RFC 5280 6.1 path validation from leaf to the trust anchors at time at, with the untrusted
 * certificates as intermediates. */
crypto_err chain_build(chain_res *out, const crypto_trust *t, X509 *leaf,
                       STACK_OF(X509) * untrusted, time_t at);
void chain_res_free(chain_res *r);

/* ---- revocation.c ---- */

/* CRLs and other revocation information (OCSP responses) in a SignedData's crls field (RFC
 * 5652 10.2.1, RFC 5940); raw is the DER the CMS was read from. */
void rev_from_cms(vctx *vc, CMS_ContentInfo *cms, const uint8_t *raw, size_t raw_len,
                  const char *source);
/* Adobe's revocationInfoArchival signed attribute and the CAdES revocation-values and
 * certificate-values unsigned attributes of a SignerInfo. */
void rev_from_attributes(vctx *vc, CMS_SignerInfo *si);

typedef struct rev_res {
    crypto_revocation status;
    const char *source; /* of the signer's certificate's status, else the first known */
    int depth;          /* REVOKED/UNKNOWN: the certificate concerned */
    time_t rev_time;
    int reason; /* CRL reason code, -1 when none */
    bool on_hold;
} rev_res;

/* RFC 5280 6.3 / RFC 6960 status of every certificate of chain but its anchor, at time at.
 * poe: a revocation after at is no failure. */
void rev_check(rev_res *out, vctx *vc, STACK_OF(X509) * chain, time_t at, bool poe);

/* ---- tsp.c ---- */

/* The RFC 3161 token in raw over the given parts (the signature value for a signature
 * time-stamp, the signed ranges for a document time-stamp), validated at vc->now. */
void tsp_eval(sig_eval *e, vctx *vc, const uint8_t *raw, size_t len, const struct iovec *imprinted,
              int nimprinted);

/* ---- signeddata.c: digests ---- */

typedef struct md_def {
    int nid;
    const char *name;  /* as reported: "SHA-256" */
    const char *fetch; /* OpenSSL's name */
    bool weak;         /* no longer acceptable for signatures (ETSI TS 119 312) */
} md_def;

typedef struct vdigest {
    const md_def *def;
    const EVP_MD *md;
    size_t len; /* output bytes (SHAKE256: 64, RFC 8419 2.3) */
} vdigest;

/* A digest AlgorithmIdentifier; false when it is unknown here. */
bool digest_from_alg(vdigest *d, const X509_ALGOR *alg);
/* The digest of the concatenated parts into out (d->len bytes). */
bool digest_run(uint8_t *out, const vdigest *d, const struct iovec *parts, int n);

/* ---- helpers ---- */

void oid_text(char *out, size_t n, const ASN1_OBJECT *o);
/* Is o the OID whose DER contents are der? */
bool obj_is(const ASN1_OBJECT *o, const uint8_t *der, size_t n);

/* "2021-01-01 00:00:00 UTC" */
void time_format(char *out, size_t n, time_t t);
/* The common name of the subject, else the whole subject (RFC 2253), malloc'd UTF-8. */
char *cert_name(X509 *cert);

#endif
