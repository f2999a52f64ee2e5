/* The key process (DESIGN.md "Processes and trust boundaries"; STYLE.md 1, after OpenBSD
 * acme-client's keyproc): only it opens private keys. Processes that parse documents hold
 * remote keys that ask it for each signature over a socket, with framed, length-checked
 * messages:
 *
 *   frame     u32 big-endian length, then that many bytes (requests at most 256 bytes, replies
 *             at most 4 KiB, the hello at most 1 MiB)
 *   hello     (key process -> client, once) 'H', u8 status (0 ok), then for each key: u32 length
 *             and the SubjectPublicKeyInfo DER, u32 length and the certificates DER one after
 *             the other (the key's own first; may be empty). On failure: 'H', status, message.
 *   request   'S', u8 key index, u8 digest (1 SHA-256, 2 SHA-384, 3 SHA-512, 4 SM3), u8 padding
 *             (0 by key, 1 PKCS#1 v1.5, 2 PSS), u8 digest length, the digest
 *   reply     'R', u8 status (0 ok, else a crypto_err), the signature or a message
 *
 * The key process signs only digests of the sizes the digests have; it never sees documents. */
#ifndef ESEAL_CRYPTO_KEYPROC_H
#define ESEAL_CRYPTO_KEYPROC_H

#include <stddef.h>

#include "crypto/crypto.h"

/* Serves one client on fd until it closes: sends the hello for keys[0..n) with their
 * certificates (cert may be NULL, chain may be NULL), then answers requests. Safe to run in
 * several threads on the same keys, one fd each. Returns CRYPTO_OK when the client closed. */
crypto_err crypto_keyproc_serve(int fd, crypto_key *const *keys, X509 *const *certs,
                                STACK_OF(X509) *const *chains, size_t n);
/* Sends a failed hello (the key process could not load its keys) naming why. */
void crypto_keyproc_refuse(int fd, crypto_err err, const char *msg);

/* The client side: reads the hello from fd. */
typedef struct crypto_remote {
    size_t n;
    crypto_key **keys; /* sign through fd */
    X509 **certs;      /* NULL when the key process had none */
    STACK_OF(X509) * *chains;
} crypto_remote;

crypto_err crypto_remote_open(crypto_remote *out, int fd);
void crypto_remote_close(crypto_remote *r);

#endif
