/* Validation of the CMS signatures and RFC 3161 time-stamp tokens a PDF carries, as the
 * building blocks of ETSI EN 319 102-1 clause 5 apply them: format checking (5.2.2),
 * identification of the signing certificate (5.2.3), X.509 certificate validation (5.2.6),
 * cryptographic verification (5.2.7), signature acceptance (5.2.8), and, with time-stamps,
 * the proof of existence they give (5.6.2.1). It knows nothing of PDF: the caller hands over
 * the CMS blob, the signed bytes, and the validation material it found in the document.
 *
 * A malformed or failing signature is a result, not an error: crypto_verify_signature returns
 * CRYPTO_OK with the indication and the cause in the result; an error is only returned when
 * the check could not be made at all (out of memory, invalid argument). */
#ifndef ESEAL_CRYPTO_VERIFY_H
#define ESEAL_CRYPTO_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <time.h>

#include "crypto/crypto.h"

/* ETSI EN 319 102-1 Table 5: the main indication and its sub-indication. */
typedef enum crypto_indication {
    CRYPTO_TOTAL_PASSED,
    CRYPTO_INDETERMINATE,
    CRYPTO_TOTAL_FAILED
} crypto_indication;

typedef enum crypto_subind {
    CRYPTO_SUB_NONE,
    /* with TOTAL_FAILED */
    CRYPTO_SUB_FORMAT_FAILURE,
    CRYPTO_SUB_HASH_FAILURE,
    CRYPTO_SUB_SIG_CRYPTO_FAILURE,
    CRYPTO_SUB_REVOKED,
    CRYPTO_SUB_EXPIRED,       /* also INDETERMINATE */
    CRYPTO_SUB_NOT_YET_VALID, /* also INDETERMINATE */
    /* with INDETERMINATE */
    CRYPTO_SUB_SIG_CONSTRAINTS_FAILURE,
    CRYPTO_SUB_CHAIN_CONSTRAINTS_FAILURE,
    CRYPTO_SUB_CERTIFICATE_CHAIN_GENERAL_FAILURE,
    CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE,
    CRYPTO_SUB_NO_SIGNING_CERTIFICATE_FOUND,
    CRYPTO_SUB_NO_CERTIFICATE_CHAIN_FOUND,
    CRYPTO_SUB_REVOKED_NO_POE,
    CRYPTO_SUB_REVOKED_CA_NO_POE,
    CRYPTO_SUB_OUT_OF_BOUNDS_NO_POE,
    CRYPTO_SUB_OUT_OF_BOUNDS_NOT_REVOKED,
    CRYPTO_SUB_CRYPTO_CONSTRAINTS_FAILURE_NO_POE,
    CRYPTO_SUB_TRY_LATER,
    CRYPTO_SUB_SIGNED_DATA_NOT_FOUND,
    CRYPTO_SUB_TIMESTAMP_ORDER_FAILURE
} crypto_subind;

/* "TOTAL_PASSED", "HASH_FAILURE", ... as ETSI EN 319 102-1 spells them; "" for
 * CRYPTO_SUB_NONE. */
const char *crypto_indication_name(crypto_indication ind);
const char *crypto_subind_name(crypto_subind sub);

/* ---- trust anchors ---- */

/* The certificates a verifier trusts as roots of a chain. Immutable once loaded: one store
 * may be shared by threads and inherited by forked workers. */
typedef struct crypto_trust crypto_trust;

crypto_err crypto_trust_new(crypto_trust **out);
/* Adds the certificates of path: a file of PEM certificates (one or more) or one DER
 * certificate, or a directory whose regular files are read so (not recursively; files that
 * hold no certificate are skipped, a directory with none at all is CRYPTO_E_CERT). Files
 * over 16 MiB and more than 10,000 certificates in all are refused (CRYPTO_E_LIMIT). */
crypto_err crypto_trust_add(crypto_trust *t, const char *path);
size_t crypto_trust_count(const crypto_trust *t);
void crypto_trust_free(crypto_trust *t);

/* ---- validation material found in the document ---- */

/* Certificates, CRLs and OCSP responses from outside the CMS (PAdES /DSS, ETSI EN 319 142-1
 * 5.4), in DER as the document holds them. Unparsable items are counted and ignored. */
typedef struct crypto_vdata crypto_vdata;

crypto_err crypto_vdata_new(crypto_vdata **out);
crypto_err crypto_vdata_add_cert(crypto_vdata *v, const uint8_t *der, size_t len);
crypto_err crypto_vdata_add_crl(crypto_vdata *v, const uint8_t *der, size_t len);
crypto_err crypto_vdata_add_ocsp(crypto_vdata *v, const uint8_t *der, size_t len);
void crypto_vdata_free(crypto_vdata *v);

/* ---- signatures ---- */

/* What the signature dictionary's /SubFilter says the blob is (ISO 32000-2 12.8.3.3,
 * ETSI EN 319 142-1 6.1, 5.4.3). */
typedef enum crypto_sig_kind {
    CRYPTO_SIG_CADES,        /* ETSI.CAdES.detached: detached CMS, signed attributes required */
    CRYPTO_SIG_PKCS7,        /* adbe.pkcs7.detached: detached CMS */
    CRYPTO_SIG_PKCS7_SHA1,   /* adbe.pkcs7.sha1: the SHA-1 digest of the ranges encapsulated */
    CRYPTO_SIG_DOC_TIMESTAMP /* ETSI.RFC3161: an RFC 3161 token over the ranges */
} crypto_sig_kind;

typedef enum crypto_time_source {
    CRYPTO_TIME_NONE,
    CRYPTO_TIME_CLAIMED,  /* the signer's word: /M, or a signing-time attribute */
    CRYPTO_TIME_TIMESTAMP /* a verified time-stamp token (a proof of existence) */
} crypto_time_source;

typedef enum crypto_revocation {
    CRYPTO_REV_NOT_CHECKED, /* no trusted chain, so nothing to check */
    CRYPTO_REV_GOOD,        /* every certificate of the chain is known not revoked */
    CRYPTO_REV_REVOKED,     /* a certificate of the chain is revoked */
    CRYPTO_REV_UNKNOWN,     /* revocation is checkable in principle, but no data was found */
    CRYPTO_REV_NO_POINTERS  /* the certificates name no CRL or OCSP service to ask */
} crypto_revocation;

typedef struct crypto_verify_opts {
    const crypto_trust *trust; /* may be NULL: then no chain is trusted */
    /* The anchors of GB/T 38540 seal makers: the certificates (a maker's own, or its CA) whose
     * holders may make seals. Separate from trust, since a certificate that may sign documents
     * may not make seals: a seal maker is trusted only through these. NULL: none is. */
    const crypto_trust *maker_trust;
    const crypto_vdata *vdata; /* may be NULL */
    time_t claimed_time;       /* the signature dictionary's /M; 0 when absent */
    time_t now;                /* the validation time; 0 for the current time */
    bool online;               /* fetch OCSP responses and CRLs the certificates point to */
    int timeout_ms;            /* limit on each online fetch; 0 for 10 s */
    /* A proof of existence from outside the CMS (a later document time-stamp that passed,
     * ETSI EN 319 102-1 5.6.2.1): the signature and its time-stamps existed at this time, so
     * certificates are validated then, and a revocation after it is no failure. 0: none. */
    time_t poe_time;
} crypto_verify_opts;

/* A verified RFC 3161 token: one inside a signature (the signature-time-stamp unsigned
 * attribute, ETSI EN 319 122-1 5.3) or a document time-stamp itself. */
typedef struct crypto_timestamp {
    crypto_indication indication;
    crypto_subind sub;
    bool integrity;  /* imprint matches and the TSA's signature holds */
    time_t gen_time; /* TSTInfo genTime */
    char *tsa;       /* the TSA certificate's subject common name, UTF-8; NULL if unknown */
    char *cause;     /* why it is not TOTAL_PASSED; NULL when it is */
} crypto_timestamp;

/* The GB/T 38540 seal a signature carries as its signed attribute CRYPTO_OID_SEAL_ATTR
 * (crypto/ses.h), and what was found of it. The signature's indication includes these
 * findings: a seal that cannot be read is FORMAT_FAILURE; a maker signature that does not hold
 * SIG_CRYPTO_FAILURE; a signer the seal does not list, or a seal not valid when the signature
 * was made, TOTAL_FAILED; a maker not trusted INDETERMINATE. */
struct crypto_ses;
typedef struct crypto_seal_check {
    struct crypto_ses *ses; /* the seal read (owned); NULL when it could not be read */
    bool maker_signature;   /* the maker's signature over the seal holds */
    bool maker_trusted;     /* the maker's certificate has a path to a trust anchor, its key
                               usage allows signing, its key and path are strong enough */
    bool signer_listed;     /* the signing certificate is one the seal lists */
    int validity;           /* the seal at the signing time: -1 not yet valid, 0 valid, 1 expired */
    char *cause;            /* why the seal does not hold; NULL when it does */
} crypto_seal_check;

typedef struct crypto_verify_result {
    crypto_indication indication;
    crypto_subind sub;
    /* The digest of the signed bytes equals the signed message digest (or the token's
     * imprint), and the signature value verifies with the signer's public key. */
    bool integrity;
    char *cause; /* one sentence naming why it is not TOTAL_PASSED; NULL when it is */

    char *signer;          /* the signing certificate's subject common name (or the whole
                              subject when it has none), UTF-8; NULL when not found */
    char *signer_subject;  /* the whole subject, RFC 2253, UTF-8 */
    char *issuer;          /* the issuer, RFC 2253, UTF-8 */
    char *serial;          /* the serial number in hexadecimal */
    X509 *signer_cert;     /* owned by the result; NULL when not found */
    const char *digest;    /* "SHA-256", ..., "SM3"; "" when unknown */
    const char *algorithm; /* "RSA", "RSA-PSS", "ECDSA", "Ed25519", "Ed448", "SM2" */
    int key_bits;

    time_t signing_time; /* the time-stamp's time, else the time the signer claims, else now */
    crypto_time_source time_source;

    bool chain_trusted; /* a path to an anchor was built and checked */
    size_t chain_len;   /* certificates in it, the signer's included */
    crypto_revocation revocation;
    const char *revocation_source; /* "CMS", "DSS", "OCSP", "CRL", ...; NULL when none */

    /* Signature time-stamps of a CAdES signature, or, for CRYPTO_SIG_DOC_TIMESTAMP, the
     * token itself. */
    crypto_timestamp *timestamps;
    size_t n_timestamps;
    crypto_seal_check *seal; /* NULL when the signature carries no seal */
} crypto_verify_result;

/* Verifies cms over the concatenated parts (the bytes the /ByteRange covers). The result is
 * always filled in when CRYPTO_OK is returned; the caller frees it. Blobs over 4 MiB, more
 * than 64 signer infos, certificates or CRLs beyond 1,000 items are FORMAT_FAILURE.
 *
 * Fails closed: an unknown or unsupported digest or signature algorithm, or a digest that
 * does not go with the key (Ed448 with anything but SHAKE256, RFC 8419 3.1) is never
 * TOTAL_PASSED; MD5, SHA-1 (other than CRYPTO_SIG_PKCS7_SHA1's own digest), RSA under 2048
 * bits and EC curves under 256 bits give CRYPTO_CONSTRAINTS_FAILURE. */
crypto_err crypto_verify_signature(crypto_verify_result **out, const uint8_t *cms, size_t cms_len,
                                   crypto_sig_kind kind, const struct iovec *parts, int nparts,
                                   const crypto_verify_opts *opts);
void crypto_verify_result_free(crypto_verify_result *r);

#endif
