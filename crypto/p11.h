/* Keys in PKCS#11 tokens (PKCS#11 v2.40), named by RFC 7512 URIs. The module is loaded with
 * dlopen: any module path; by default $ESEAL_PKCS11_MODULE, else SoftHSM2's.
 *
 * Model: one token per enterprise key. The token's user PIN is the enterprise's signing PIN,
 * its SO PIN the administrator's. After CRYPTO_P11_MAX_TRIES consecutive wrong user PINs the
 * key locks until an administrator unlocks it; the count is kept by us (SoftHSM2 keeps none) in
 * a state directory ($ESEAL_KEYSTATE_DIR, else $XDG_STATE_HOME/eseal, else
 * ~/.local/state/eseal), one file per token named by its serial number, so it survives restarts.
 *
 * A "pkcs11:" URI given to crypto_key_load() yields a key that signs in the token; this header
 * has the rest: URI parsing and token administration. */
#ifndef ESEAL_CRYPTO_P11_H
#define ESEAL_CRYPTO_P11_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto/crypto.h"

#define CRYPTO_P11_MAX_TRIES 6
#define CRYPTO_P11_DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define CRYPTO_P11_MAX_URI 8192
#define CRYPTO_P11_MAX_ID 64
#define CRYPTO_P11_MAX_LABEL 128

/* ---- RFC 7512 URIs ---- */

typedef enum crypto_p11_type {
    CRYPTO_P11_ANY,
    CRYPTO_P11_PRIVATE,
    CRYPTO_P11_PUBLIC,
    CRYPTO_P11_CERT,
    CRYPTO_P11_SECRET,
    CRYPTO_P11_DATA
} crypto_p11_type;

/* The attributes of a URI, percent-decoded; NULL (or id_len 0, slot_id -1) when absent. */
typedef struct crypto_p11_uri {
    char *token, *manufacturer, *serial, *model; /* token attributes */
    char *object;                                /* CKA_LABEL */
    uint8_t id[CRYPTO_P11_MAX_ID];               /* CKA_ID */
    size_t id_len;
    bool has_id;
    crypto_p11_type type;
    long slot_id;
    char *module_path, *pin_source, *pin_value; /* query attributes */
} crypto_p11_uri;

/* True when s begins with "pkcs11:". */
bool crypto_p11_is_uri(const char *s);
/* Parses an RFC 7512 URI. Refuses what it cannot honour: unknown or repeated attributes, bad
 * percent-encoding, values longer than their PKCS#11 fields, module-name. */
crypto_err crypto_p11_uri_parse(crypto_p11_uri *out, const char *uri);
void crypto_p11_uri_clear(crypto_p11_uri *u);

/* ---- token administration ---- */

typedef enum crypto_p11_keytype {
    CRYPTO_P11_RSA2048,
    CRYPTO_P11_RSA3072,
    CRYPTO_P11_RSA4096,
    CRYPTO_P11_P256,
    CRYPTO_P11_P384
} crypto_p11_keytype;

/* One key of a token, gathered from its objects by CKA_ID. */
typedef struct crypto_p11_keyinfo {
    char label[CRYPTO_P11_MAX_LABEL + 1];
    uint8_t id[CRYPTO_P11_MAX_ID];
    size_t id_len;
    char algorithm[24]; /* "RSA-2048", "EC P-256", ... */
    bool has_private;   /* seen only after logging in */
    bool has_public;    /* a public key object */
    bool has_cert;      /* a certificate object with the same CKA_ID */
    bool sensitive;     /* of the private key, when seen */
    bool extractable;   /* of the private key, when seen */
    char cert_subject[256];
} crypto_p11_keyinfo;

typedef struct crypto_p11_tokeninfo {
    unsigned long slot;
    char label[33], serial[17], manufacturer[33], model[17];
    bool initialized;
    bool token_locked; /* the token reports its user PIN locked */
    int failures;      /* consecutive wrong PINs counted by us */
    bool logged_in;    /* the keys below include private ones */
    crypto_p11_keyinfo *keys;
    size_t nkeys;
} crypto_p11_tokeninfo;

/* Lists the tokens of module (NULL: the default) and their keys. With token_label and pin,
 * logs in to that token (through the PIN count) to list its private keys as well. */
crypto_err crypto_p11_list(crypto_p11_tokeninfo **out, size_t *n, const char *module,
                           const char *token_label, const char *pin);
void crypto_p11_list_free(crypto_p11_tokeninfo *t, size_t n);

/* Initialises the first free token of module with label and SO PIN (C_InitToken) and sets its
 * user PIN (C_InitPIN). Refuses a label another token has. */
crypto_err crypto_p11_init_token(const char *module, const char *label, const char *so_pin,
                                 const char *user_pin);

/* Generates a key pair in the token the URI names (token attributes and module only): the
 * private key sensitive, not extractable, for signing; label and id on both halves. id NULL:
 * 8 random bytes. *pub (may be NULL) gets the public key. */
crypto_err crypto_p11_generate(EVP_PKEY **pub, const char *token_uri, const char *pin,
                               crypto_p11_keytype type, const char *label, const uint8_t *id,
                               size_t id_len);

/* Stores cert as a certificate object with the CKA_ID and label of the key the URI names,
 * replacing one that has that id. Refuses a certificate of another key. */
crypto_err crypto_p11_import_cert(const char *key_uri, const char *pin, X509 *cert);

/* Changes the user PIN (C_SetPIN), counted like a login. */
crypto_err crypto_p11_set_pin(const char *uri, const char *old_pin, const char *new_pin);

/* The administrator's unlock: logs in as SO, sets a new user PIN (C_InitPIN), resets the count. */
crypto_err crypto_p11_unlock(const char *uri, const char *so_pin, const char *new_pin);

/* The count of consecutive wrong PINs of the token the URI names, and whether it is locked
 * (by our count or by the token). */
crypto_err crypto_p11_status(crypto_p11_tokeninfo *out, const char *uri);

/* A PKCS#10 request (RFC 2986) for key with subject "/C=CN/O=.../CN=..." (UTF-8), signed by
 * the key (in its token for a token key). */
crypto_err crypto_make_csr(X509_REQ **out, crypto_key *key, const char *subject);

#endif
