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
    CRYPTO_E_LOCKED,    /* the key is locked after too many wrong PINs */
    CRYPTO_E_TOKEN,     /* a PKCS#11 module or token failed or refused (crypto/p11.h) */
    CRYPTO_E_ARG
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
 * with ECDSA as raw r||s of the curve's size (as JOSE "ES256" does), or with RSA PKCS#1 v1.5.
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

/* ---- CAdES signer ---- */

typedef enum crypto_padding { CRYPTO_PAD_AUTO, CRYPTO_PAD_PKCS1, CRYPTO_PAD_PSS } crypto_padding;

typedef struct crypto_signer_opts {
    const char *digest;     /* "sha256", "sha384", "sha512"; NULL: by key (P-384: sha384, ...) */
    crypto_padding padding; /* RSA: PKCS#1 v1.5 unless PSS asked or the key is RSA-PSS */
    time_t now;             /* when the certificate must be valid; 0: the current time */
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

/* The largest CMS this signer can produce, in bytes. */
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
 * PAdES signing time lives in the PDF). Appends the DER to out. */
crypto_err crypto_cms_sign(buf *out, crypto_signer *s, const uint8_t *md, size_t md_len);

#endif
