/* Shared by the crypto library's own files. */
#ifndef ESEAL_CRYPTO_INTERNAL_H
#define ESEAL_CRYPTO_INTERNAL_H

#include <time.h>

#include <openssl/ocsp.h>

#include "crypto/crypto.h"

/* A whole file of at most max bytes (malloc'd); CRYPTO_E_LIMIT beyond, CRYPTO_E_IO when it
 * cannot be read, each naming the file. */
crypto_err crypto_read_file(uint8_t **data, size_t *len, const char *path, size_t max);

/* A UTCTime or GeneralizedTime in seconds since 1970 UTC; false when it is not a valid time. */
bool time_from_asn1(time_t *out, const ASN1_TIME *t);

/* Records the detail (with OpenSSL's error queue appended and cleared) and returns err. */
crypto_err crypto_fail(crypto_err err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void crypto_clear_detail(void);

/* Signs a digest already computed with md (PKCS#1 v1.5 DigestInfo or PSS for RSA, ECDSA). */
crypto_err crypto_key_sign_digest(uint8_t *sig, size_t *sig_len, crypto_key *key, const EVP_MD *md,
                                  crypto_padding padding, const uint8_t *dgst, size_t dgst_len);
/* A key whose signatures the key process makes (crypto/keyproc.h); takes pub. */
crypto_key *crypto_key_new_remote(EVP_PKEY *pub, int fd, uint8_t index);
crypto_err crypto_remote_sign(uint8_t *sig, size_t *sig_len, int fd, uint8_t index,
                              const EVP_MD *md, crypto_padding padding, const uint8_t *dgst,
                              size_t dgst_len);

/* The private key itself, for OpenSSL APIs that sign with an EVP_PKEY (TS_RESP_CTX): a key read
 * from a file has one (borrowed); a key held elsewhere (key process, token) has none: NULL. */
EVP_PKEY *crypto_key_file_pkey(const crypto_key *key);

/* RFC 3161 2.3: the certificate's only extended key usage is timeStamping, marked critical. */
bool crypto_is_tsa_cert(X509 *cert);

/* A key in a PKCS#11 token (crypto/p11.c): one session, logged in once. */
typedef struct crypto_p11_key crypto_p11_key;
/* Opens the key the URI names, logging in with pin (else the URI's pin-value / pin-source);
 * *pub gets its public key, *cert (when not NULL) a certificate with its CKA_ID or NULL. */
crypto_err crypto_p11_key_open(crypto_p11_key **out, EVP_PKEY **pub, X509 **cert, const char *uri,
                               const char *pin);
/* Signs a digest in the token; safe from several threads (one operation at a time). */
crypto_err crypto_p11_key_sign(uint8_t *sig, size_t *sig_len, crypto_p11_key *k, const EVP_MD *md,
                               crypto_padding padding, const uint8_t *dgst, size_t dgst_len);
void crypto_p11_key_close(crypto_p11_key *k);
/* True for a key that signs in a token (the key process then signs through the key itself). */
bool crypto_key_in_token(const crypto_key *key);

/* Largest signature the key produces. */
size_t crypto_key_max_sig(const crypto_key *key);

/* crypto/sm2.c: signatures OpenSSL 3.0 checks with an empty SM2 ID (GM/T 0009 5.4.4 fixes
 * CRYPTO_SM2_ID), checked here with the default ID when they are SM2-with-SM3 and by OpenSSL
 * otherwise. */
/* The algorithm is SM2-with-SM3. */
bool crypto_alg_is_sm2(const X509_ALGOR *alg);
/* The CRL's signature holds for the issuer's key pub (RFC 5280 5.1.1.3). */
bool crypto_crl_signed_by(X509_CRL *crl, EVP_PKEY *pub);
/* The basic OCSP response's signature holds for the signer's key (RFC 6960 4.2.1); who the
 * signer may be is the caller's to judge. */
bool crypto_ocsp_signed_by(OCSP_BASICRESP *bs, X509 *signer);
/* crypto_sm2_cert_prepare for the certificates a response carries (a delegated responder's). */
void crypto_sm2_ocsp_prepare(OCSP_BASICRESP *bs);

/* crypto/fetch.c: the revocation services a certificate names, over http (at most max_urls
 * of each kind asked, each within timeout_ms, 0 for 10 s). The first successful OCSP response
 * about cert (caller frees), or NULL; with nonce, the request carries one and a response that
 * echoes another is not taken. */
OCSP_RESPONSE *crypto_fetch_ocsp(X509 *cert, X509 *issuer, int timeout_ms, int max_urls,
                                 bool nonce);
/* The first CRL from cert's http distribution points that accept (NULL: any) takes; caller
 * frees; NULL when none. */
X509_CRL *crypto_fetch_crl(X509 *cert, int timeout_ms, int max_urls,
                           bool (*accept)(X509_CRL *crl, void *arg), void *arg);

#endif
