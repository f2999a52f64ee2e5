/* Shared by the crypto library's own files. */
#ifndef ESEAL_CRYPTO_INTERNAL_H
#define ESEAL_CRYPTO_INTERNAL_H

#include "crypto/crypto.h"

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

/* Largest signature the key produces. */
size_t crypto_key_max_sig(const crypto_key *key);

#endif
