/* A certification authority's cryptography, without storage: certificates (RFC 5280) from a
 * certification request (PKCS#10, RFC 2986) or a public key, CRLs (RFC 5280 5) and OCSP
 * responses (RFC 6960). What the CA has issued and revoked is the caller's to keep (pki/, over
 * store/); the OCSP responder asks it through a callback. */
#ifndef ESEAL_CRYPTO_CA_H
#define ESEAL_CRYPTO_CA_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "base/buf.h"
#include "crypto/crypto.h"

#define CRYPTO_CA_MAX_CSR (64 * 1024)       /* bytes of a certification request */
#define CRYPTO_CA_MAX_DAYS (30 * 366)       /* validity of any certificate */
#define CRYPTO_CA_MAX_URL 512               /* CRL and OCSP addresses */
#define CRYPTO_OCSP_MAX_REQUEST (16 * 1024) /* bytes of an OCSP request */
#define CRYPTO_OCSP_MAX_IDS 32              /* certificates asked about in one request */
#define CRYPTO_SERIAL_HEX 48                /* room for a serial number in hex, with NUL */

/* What a certificate is for. */
typedef enum crypto_profile {
    CRYPTO_PROFILE_ROOT,       /* self-signed CA, keyCertSign + cRLSign */
    CRYPTO_PROFILE_ISSUING,    /* CA under the root, pathLenConstraint 0 */
    CRYPTO_PROFILE_ENTERPRISE, /* signer: digitalSignature + nonRepudiation */
    CRYPTO_PROFILE_TSA,        /* time-stamping unit: EKU timeStamping (critical) */
    CRYPTO_PROFILE_OCSP        /* delegated OCSP responder: EKU OCSPSigning + ocsp-nocheck */
} crypto_profile;

/* "root", "issuing", "enterprise", "tsa", "ocsp"; false for other names. */
bool crypto_profile_from_name(crypto_profile *out, const char *name);
const char *crypto_profile_name(crypto_profile p);

typedef struct crypto_cert_spec {
    crypto_profile profile;
    const X509_NAME *subject;
    EVP_PKEY *pub;        /* the subject's public key */
    time_t not_before;    /* 0: now */
    int days;             /* 1 .. CRYPTO_CA_MAX_DAYS */
    const char *crl_url;  /* CRL distribution point (end-entity and issuing profiles); NULL: none */
    const char *ocsp_url; /* OCSP responder for the AIA extension; NULL: none */
} crypto_cert_spec;

/* Issues a certificate for spec, signed by ca_key; ca_cert NULL makes a self-signed one (the
 * profile must be ROOT and spec->pub ca_key's public key). The serial number is 128 random
 * bits. The validity must end before the issuer's does. Refuses weak subject keys. */
crypto_err crypto_ca_issue(X509 **out, crypto_key *ca_key, X509 *ca_cert,
                           const crypto_cert_spec *spec);

/* Reads a PKCS#10 request (PEM or DER, at most CRYPTO_CA_MAX_CSR bytes), checks its
 * self-signature (RFC 2986 3: proof that the requester holds the key) and its key's strength. */
crypto_err crypto_csr_load(X509_REQ **out, const char *path);
/* Reads a public key (PEM SubjectPublicKeyInfo, or the key of a certificate). */
crypto_err crypto_pubkey_load(EVP_PKEY **out, const char *path);
/* RSA >= 2048 bits; EC P-256, P-384, P-521 (ETSI TS 119 312); SM2 on the SM2 curve. */
crypto_err crypto_key_strength(EVP_PKEY *pub);

/* A new key pair: "ec" (P-256), "ec384", "rsa" (RSA-3072), "rsa2048" or "sm2" (GB/T 32918). */
crypto_err crypto_keygen(EVP_PKEY **out, const char *type);
/* Writes pkey as encrypted PKCS#8 PEM (PBES2, AES-256-CBC, PBKDF2-HMAC-SHA256), mode 0600,
 * atomically. password must not be empty. */
crypto_err crypto_key_write(const char *path, EVP_PKEY *pkey, const char *password);
/* A signing key from a key pair (takes pkey). */
crypto_err crypto_key_from_pkey(crypto_key **out, EVP_PKEY *pkey);

/* "x509 DN": "/C=CN/O=Example/CN=Name" or "C=CN, O=Example, CN=Name", UTF-8. */
crypto_err crypto_name_parse(X509_NAME **out, const char *dn);
/* The subject as one RFC 2253 line, UTF-8 (caller frees with free()). */
char *crypto_name_string(const X509_NAME *name);

/* The serial number as upper-case hex of whole bytes (as `openssl x509 -serial` shows it). */
void crypto_serial_hex(char out[CRYPTO_SERIAL_HEX], const ASN1_INTEGER *serial);
/* A serial number given by a user (hex, "0x" allowed, any case) in that form; false if it is
 * not one. */
bool crypto_serial_norm(char out[CRYPTO_SERIAL_HEX], const char *in);

/* Appends the certificate's PEM to out. */
crypto_err crypto_cert_pem(buf *out, X509 *cert);
crypto_err crypto_cert_der(buf *out, X509 *cert);

/* RFC 5280 5.3.1 reason codes, the ones a CA gives. */
enum {
    CRYPTO_REASON_UNSPECIFIED = 0,
    CRYPTO_REASON_KEY_COMPROMISE = 1,
    CRYPTO_REASON_CA_COMPROMISE = 2,
    CRYPTO_REASON_AFFILIATION_CHANGED = 3,
    CRYPTO_REASON_SUPERSEDED = 4,
    CRYPTO_REASON_CESSATION = 5,
    CRYPTO_REASON_HOLD = 6,
    CRYPTO_REASON_PRIVILEGE_WITHDRAWN = 9
};
/* "keyCompromise" and so on, as RFC 5280 names them; -1 for an unknown name. */
int crypto_reason_from_name(const char *name);
const char *crypto_reason_name(int reason);

typedef struct crypto_revoked {
    const char *serial; /* hex, as crypto_serial_hex gives it */
    time_t when;        /* revocationDate */
    int reason;         /* RFC 5280 5.3.1; -1: no reason code */
    time_t invalidity;  /* RFC 5280 5.3.2 invalidity date; 0: none */
} crypto_revoked;

/* A v2 CRL (RFC 5280 5.1) over the revoked list, with CRL number and authority key identifier,
 * signed by ca_key (the key of ca_cert), as DER appended to out. */
crypto_err crypto_ca_crl(buf *out, crypto_key *ca_key, X509 *ca_cert, const crypto_revoked *revoked,
                         size_t n, uint64_t number, time_t this_update, time_t next_update);

/* ---- OCSP responder (RFC 6960) ---- */

typedef enum crypto_ocsp_status {
    CRYPTO_OCSP_GOOD,
    CRYPTO_OCSP_REVOKED,
    CRYPTO_OCSP_UNKNOWN
} crypto_ocsp_status;

typedef struct crypto_ocsp_answer {
    crypto_ocsp_status status;
    time_t rev_time;
    int reason; /* -1: none */
} crypto_ocsp_answer;

/* The status of the certificate with this serial (hex) the CA issued; false when it cannot be
 * told now (the response says tryLater). */
typedef bool (*crypto_ocsp_lookup)(crypto_ocsp_answer *out, const char *serial, void *ctx);

typedef struct crypto_ocsp_responder {
    X509 *ca_cert;     /* the issuer whose certificates are answered for */
    crypto_key *key;   /* the CA's key, or the delegated responder's */
    X509 *signer_cert; /* the delegated responder's certificate; NULL: the CA signs */
    int next_update_s; /* nextUpdate = thisUpdate + this; 0: no nextUpdate */
    crypto_ocsp_lookup lookup;
    void *ctx;
} crypto_ocsp_responder;

/* Answers one DER OCSPRequest with a DER OCSPResponse appended to out: a signed basic response
 * for a well-formed request, malformedRequest for one that is not, tryLater when the lookup
 * fails, internalError when signing fails. Fails only when no response could be encoded. */
crypto_err crypto_ocsp_respond(buf *out, const crypto_ocsp_responder *r, const uint8_t *req,
                               size_t len, time_t now);

#endif
