/* The crypto library: keys, certificates and CMS signatures for PAdES (ETSI EN 319 142-1 over
 * CAdES, ETSI EN 319 122-1, and RFC 5652). It knows nothing of PDF. */
#ifndef ESEAL_CRYPTO_CRYPTO_H
#define ESEAL_CRYPTO_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/buf.h"

/* The crypto library's one error type; crypto_errdetail() gives this thread's detail,
 * including what OpenSSL said. */
typedef enum crypto_err {
    CRYPTO_OK = 0,
    CRYPTO_E_NOMEM,
    CRYPTO_E_IO,        /* a file could not be read */
    CRYPTO_E_KEY,       /* the private key could not be read */
    CRYPTO_E_PASSWORD,  /* a password is needed, or the one given is wrong */
    CRYPTO_E_CERT,      /* a certificate could not be read */
    CRYPTO_E_MISMATCH,  /* the key does not belong to the certificate */
    CRYPTO_E_VALIDITY,  /* the certificate is expired or not yet valid */
    CRYPTO_E_USAGE,     /* the certificate's key usage does not allow signing */
    CRYPTO_E_ALGORITHM, /* unsupported or too weak key or algorithm */
    CRYPTO_E_SIGN,      /* the signing operation failed */
    CRYPTO_E_LIMIT,     /* a size exceeds its maximum */
    CRYPTO_E_ARG,
    CRYPTO_E_NETWORK, /* a server could not be reached, or its answer not read */
    CRYPTO_E_TSA,     /* the time-stamping authority refused, or its token does not hold */
    CRYPTO_E_REVOKED, /* a certificate is revoked, or its status cannot be learnt */
    CRYPTO_E_LOCKED,  /* the key is locked after too many wrong PINs */
    CRYPTO_E_TOKEN,   /* a PKCS#11 module or token failed or refused (crypto/p11.h) */
    CRYPTO_E_FORMAT   /* a structure read from outside (a seal, crypto/ses.h) is malformed */
} crypto_err;

const char *crypto_strerror(crypto_err err);
const char *crypto_errdetail(void);

/* ---- private keys ---- */

/* A private key that signs: a file key, or a key in a PKCS#11 token (crypto/p11.h). */
typedef struct crypto_key crypto_key;

/* Reads a private key from a PEM file (PKCS#8, encrypted or not, or traditional) or a PKCS#12
 * file; password may be NULL. A PKCS#12 file also yields its certificate and chain (when the
 * out-parameters are not NULL; the caller frees them). Key files over 1 MiB are refused.
 * A "pkcs11:" URI (RFC 7512) names a key in a token instead: password is then its user PIN
 * (else the URI's pin-value or pin-source), the key signs in the token, and a certificate
 * object with the key's CKA_ID comes back as *cert. */
crypto_err crypto_key_load(crypto_key **out, X509 **cert, STACK_OF(X509) * *chain, const char *path,
                           const char *password);
void crypto_key_free(crypto_key *key);
/* The public half (borrowed). */
EVP_PKEY *crypto_key_public(const crypto_key *key);

/* A compact signature of msg, for tokens that must stay short (the licence QR code): SHA-256
 * with ECDSA as raw r||s of the curve's size (as JOSE "ES256" does), or with RSA PKCS#1 v1.5;
 * SM2 with SM3 and the default ID (CRYPTO_SM2_ID), as raw r||s (64 bytes).
 * sig has room for crypto_key_compact_size(key) bytes. */
crypto_err crypto_key_sign_compact(uint8_t *sig, size_t *sig_len, crypto_key *key,
                                   const uint8_t *msg, size_t n);
size_t crypto_key_compact_size(const crypto_key *key);
/* Checks a compact signature of msg with a public key; CRYPTO_E_SIGN when it does not hold. */
crypto_err crypto_verify_compact(EVP_PKEY *pub, const uint8_t *sig, size_t sig_len,
                                 const uint8_t *msg, size_t n);

/* Reads one or more certificates (PEM or DER) from path. */
crypto_err crypto_certs_load(STACK_OF(X509) * *out, const char *path);

/* Reads a password file: its first line, without the line end. */
crypto_err crypto_read_password(char **out, const char *path);

/* ---- SM2/SM3 (GB/T 32918.2-2016, GB/T 32905-2016) and whole-message signatures ---- */

/* GM/T 0009-2012 5.4.4: the default SM2 user ID, used wherever an SM2 signature is made or
 * checked here (CMS, certificates, CRLs, OCSP, seals). */
#define CRYPTO_SM2_ID "1234567812345678"
#define CRYPTO_OID_SM2_SM3 "1.2.156.10197.1.501" /* GM/T 0006 SM2-with-SM3 */
#define CRYPTO_OID_SM3 "1.2.156.10197.1.401"

/* A key on the SM2 curve (OpenSSL 3.0 types such keys "SM2"). */
bool crypto_is_sm2(const EVP_PKEY *pkey);
/* Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA) for the public key pub. */
crypto_err crypto_sm2_z(uint8_t z[32], const EVP_PKEY *pub, const uint8_t *id, size_t id_len);
/* e = SM3(Z || message) with the default ID: what an SM2 key signs for that message. */
crypto_err crypto_sm2_prehash(uint8_t e[32], const EVP_PKEY *pub, const struct iovec *parts,
                              int nparts);
/* Checks a DER SM2 signature of the message with the default ID. */
bool crypto_sm2_verify(const EVP_PKEY *pub, const uint8_t *sig, size_t sig_len,
                       const struct iovec *parts, int nparts);
/* Gives a certificate signed with SM2-with-SM3 the default ID, so that X509_verify and
 * X509_verify_cert check its signature with it (OpenSSL 3.0 uses an empty ID otherwise).
 * Other certificates are left alone. False when out of memory. */
bool crypto_sm2_cert_prepare(X509 *cert);
void crypto_sm2_certs_prepare(STACK_OF(X509) * certs);
/* A digest context that signs (sign true, pkey private) or verifies with SM3 and the default
 * ID, for X509_sign_ctx, X509_CRL_sign_ctx, OCSP_basic_sign_ctx and ASN1_item_verify_ctx;
 * NULL on failure. Freed with EVP_MD_CTX_free. */
EVP_MD_CTX *crypto_sm2_md_ctx(EVP_PKEY *pkey, bool sign);

/* Signs a message as a whole with the key's natural algorithm: SM2-with-SM3 (default ID) for
 * SM2, sha256WithRSAEncryption (PKCS#1 v1.5) for RSA, ecdsa-with-SHA256/384/512 by curve.
 * *sig is malloc'd (DER for SM2 and ECDSA); *alg_oid names the algorithm (static). */
crypto_err crypto_key_sign_message(uint8_t **sig, size_t *sig_len, const char **alg_oid,
                                   crypto_key *key, const struct iovec *parts, int nparts);
/* Checks such a signature: CRYPTO_OK when it holds, CRYPTO_E_SIGN when it does not,
 * CRYPTO_E_ALGORITHM for an unknown algorithm or one the key cannot make. */
crypto_err crypto_verify_message(const EVP_PKEY *pub, const char *alg_oid, const uint8_t *sig,
                                 size_t sig_len, const struct iovec *parts, int nparts);
/* The name of a message signature algorithm OID, or NULL when not supported. */
const char *crypto_msg_alg_name(const char *oid);

/* ---- CAdES signer ---- */

typedef enum crypto_padding { CRYPTO_PAD_AUTO, CRYPTO_PAD_PKCS1, CRYPTO_PAD_PSS } crypto_padding;

typedef struct crypto_signer_opts {
    const char *digest;     /* "sha256", "sha384", "sha512"; NULL: by key (P-384: sha384, ...) */
    crypto_padding padding; /* RSA: PKCS#1 v1.5 unless PSS asked or the key is RSA-PSS */
    time_t now;             /* when the certificate must be valid; 0: the current time */
    /* PAdES B-T (ETSI EN 319 142-1 6.3): a signature time-stamp from the RFC 3161 TSA at
     * this http URL, added as the unsigned attribute id-aa-signatureTimeStampToken
     * (RFC 3161 appendix A, ETSI EN 319 122-1 5.3). NULL: none (B-B). */
    const char *tsa_url;
    int tsa_timeout_ms; /* limit on the request; 0 for 10 s */
    /* A GB/T 38540 seal (crypto/ses.h, SES_Seal DER) carried as the signed attribute
     * CRYPTO_OID_SEAL_ATTR, binding seal, signer and document under one signature; copied.
     * The signer does not judge the seal: the caller checks it first. NULL: none. */
    const uint8_t *seal_der;
    size_t seal_len;
} crypto_signer_opts;

/* Signs CMS SignedData (detached) for one key and certificate. Holds what does not change
 * between signatures, so that signing many documents costs one private-key operation each.
 * Not thread-safe: one signer per thread. */
typedef struct crypto_signer crypto_signer;

/* Checks that key and cert belong together, that cert is valid at opts->now and allows
 * digital signatures, and that the key is strong enough (RSA >= 2048 bits; EC P-256, P-384,
 * P-521). The signer borrows key; it copies cert and chain. */
crypto_err crypto_signer_new(crypto_signer **out, crypto_key *key, X509 *cert,
                             STACK_OF(X509) * chain, const crypto_signer_opts *opts);
void crypto_signer_free(crypto_signer *s);

/* The largest CMS this signer can produce, in bytes: with a TSA, room for a time-stamp token
 * of up to CRYPTO_MAX_TST_RESERVE bytes is included. */
#define CRYPTO_MAX_TST_RESERVE (16 * 1024)
size_t crypto_signer_max_size(const crypto_signer *s);
/* The signer's subject, as UTF-8 common name (or the whole subject when it has none). */
const char *crypto_signer_name(const crypto_signer *s);
/* Name of the digest, e.g. "SHA256". */
const char *crypto_signer_digest_name(const crypto_signer *s);

/* Digest of the concatenated parts with the signer's digest; md has room for
 * EVP_MAX_MD_SIZE bytes. */
crypto_err crypto_signer_digest(uint8_t *md, size_t *md_len, crypto_signer *s,
                                const struct iovec *parts, int nparts);

/* ETSI EN 319 122-1 baseline B-B over a message digest: SignedData, detached, with the signed
 * attributes content-type, message-digest and signing-certificate-v2 and no signing-time (the
 * PAdES signing time lives in the PDF). With a TSA (crypto_signer_opts.tsa_url), baseline B-T:
 * the TSA's token over the signature value is added as an unsigned attribute; a TSA that
 * cannot be reached or whose answer does not check is CRYPTO_E_TSA. Appends the DER to out. */
crypto_err crypto_cms_sign(buf *out, crypto_signer *s, const uint8_t *md, size_t md_len);

/* ---- RFC 3161 time-stamping ---- */

/* The TSA's policy when none is configured: an OID in the project's own 2.25 UUID arc. */
#define CRYPTO_TSA_DEFAULT_POLICY "2.25.30852577225667587897435140861070771898.1"
/* Time-stamp queries longer than this are rejected (a query is a few hundred bytes). */
#define CRYPTO_TSA_MAX_REQUEST 8192

typedef struct crypto_tsa_config {
    const char *policy_oid; /* the TSA policy (RFC 3161 2.4.2); NULL: CRYPTO_TSA_DEFAULT_POLICY */
    unsigned accuracy_ms;   /* the accuracy of genTime; 0: one second */
} crypto_tsa_config;

/* A time-stamping authority (RFC 3161): answers time-stamp queries with tokens signed by key
 * for cert, SHA-256/384/512 imprints only. Not thread-safe: one per thread. */
typedef struct crypto_tsa crypto_tsa;

/* Checks that cert is a TSA certificate (RFC 3161 2.3: extended key usage timeStamping only,
 * critical), valid now, that key belongs to it and is strong enough. key must be a file key
 * (CRYPTO_E_KEY otherwise); the TSA borrows it and copies cert and chain (the chain is sent in
 * tokens when a query asks for certificates). */
crypto_err crypto_tsa_new(crypto_tsa **out, crypto_key *key, X509 *cert, STACK_OF(X509) * chain,
                          const crypto_tsa_config *cfg);
void crypto_tsa_free(crypto_tsa *tsa);

/* Answers a DER TimeStampReq with a DER TimeStampResp appended to out: a token (granted) or a
 * rejection naming the failure (badRequest, badDataFormat, badAlg, unacceptedPolicy,
 * unacceptedExtension, systemFailure). *granted tells which. An error only when no response
 * could be made at all (out of memory). */
crypto_err crypto_tsa_respond(buf *out, bool *granted, crypto_tsa *tsa, const uint8_t *req,
                              size_t len);

typedef struct crypto_tsa_opts {
    int timeout_ms;
    const char *policy_oid;
} crypto_tsa_opts;

/* Asks the TSA at url (http://...) for a token over the digest md (of digest md_type); checks the
 * response: status granted/grantedWithMods, the token is a SignedData over a TSTInfo whose
 * imprint is md and algorithm md_type, the nonce we sent, the TSA certificate included (certReq
 * true) with EKU timeStamping, the signature holds. Appends the TimeStampToken (ContentInfo DER)
 * to out. opts may be NULL (10 s, any policy). Trust in the TSA's chain is the caller's to
 * judge. */
crypto_err crypto_tsa_request(buf *out, const char *url, const EVP_MD *md_type, const uint8_t *md,
                              size_t md_len, const crypto_tsa_opts *opts);

/* ---- validation data for PAdES B-LT (ETSI EN 319 142-1 5.4) ---- */

/* Certificates, OCSP responses and CRLs gathered for a signature, to embed in its /DSS. */
typedef struct crypto_ltv crypto_ltv;

crypto_err crypto_ltv_new(crypto_ltv **out);
void crypto_ltv_free(crypto_ltv *l);
/* Gathers, for the signer of cms (DER CMS SignedData) and the TSA of each signature time-stamp
 * it carries (or, for an RFC 3161 token, its TSA), and the maker of the GB/T 38540 seal it
 * carries as a signed attribute (crypto/ses.h), the certificate path as far as the CMS's
 * certificates and extra reach, and for each certificate of a path but a self-signed root
 * that names an OCSP responder or CRL distribution point (http), a "good" OCSP response from
 * the responder, else the CRL, each checked to be signed for the issuer. Several calls add to
 * the same data. A revoked certificate, or one whose status no service gives, is
 * CRYPTO_E_REVOKED naming it: such a signature must not be made long-term. */
crypto_err crypto_ltv_collect(crypto_ltv *l, const uint8_t *cms, size_t len, STACK_OF(X509) * extra,
                              int timeout_ms);
/* What was gathered (borrowed): certificates, DER OCSPResponses, DER CRLs. */
const STACK_OF(X509) * crypto_ltv_certs(const crypto_ltv *l);
const buf *crypto_ltv_ocsps(const crypto_ltv *l, size_t *n);
const buf *crypto_ltv_crls(const crypto_ltv *l, size_t *n);

#endif
