/* The store: the service's durable records behind one interface. SQLite (WAL) is the embedded
 * implementation; PostgreSQL can implement the same functions for several machines. For now it
 * holds the CA's certificates: what was issued, to whom, until when, and what was revoked. */
#ifndef ESEAL_STORE_STORE_H
#define ESEAL_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum store_err {
    STORE_OK = 0,
    STORE_E_NOMEM,
    STORE_E_OPEN,     /* the database cannot be opened or created */
    STORE_E_SCHEMA,   /* the database is of another schema version */
    STORE_E_DB,       /* a query failed */
    STORE_E_BUSY,     /* another process held the database too long */
    STORE_E_EXISTS,   /* a record with that key exists */
    STORE_E_NOTFOUND, /* no record with that key */
    STORE_E_STATE,    /* the record is not in a state that allows it (already revoked) */
    STORE_E_LIMIT,    /* a value exceeds its maximum */
    STORE_E_ARG
} store_err;

const char *store_strerror(store_err err);
/* This thread's detail of the last failure, with what SQLite said. */
const char *store_errdetail(void);

typedef struct store store;

#define STORE_MAX_CERT_DER (64 * 1024)
#define STORE_MAX_TEXT 2048
#define STORE_BUSY_MS 5000

/* Opens the database at path, creating it (and its schema) when create is set. */
store_err store_open(store **out, const char *path, bool create);
void store_close(store *s);

/* A certificate the CA issued. Strings are NUL-terminated; serial is upper-case hex. */
typedef struct store_cert {
    char serial[48];
    char *subject;      /* RFC 2253, UTF-8 */
    int64_t not_before; /* seconds since the epoch */
    int64_t not_after;
    int64_t issued_at;
    bool revoked;
    int64_t revoked_at; /* when revoked */
    int reason;         /* RFC 5280 5.3.1 code, -1 when not revoked */
    char profile[16];   /* "enterprise", "tsa", "ocsp", ... */
    uint8_t *der;       /* the certificate */
    size_t der_len;
    char reissue_of[48]; /* the serial this certificate replaced; "" if none */
} store_cert;

/* Frees what a store_cert holds (not the struct). */
void store_cert_clear(store_cert *c);

/* Records a newly issued certificate. When c->reissue_of names a certificate that is not yet
 * revoked, it is revoked as superseded at c->issued_at in the same transaction (a re-issue
 * replaces it). STORE_E_EXISTS for a serial already recorded. */
store_err store_cert_add(store *s, const store_cert *c);
/* The certificate with this serial (der included). STORE_E_NOTFOUND if none. */
store_err store_cert_get(store_cert *out, store *s, const char *serial);
/* Marks it revoked. STORE_E_STATE if it already is. */
store_err store_cert_revoke(store *s, const char *serial, int64_t when, int reason);

/* Called for each certificate; a non-zero return stops the walk. der is not loaded. */
typedef int (*store_cert_fn)(const store_cert *c, void *ctx);

typedef struct store_query {
    bool revoked_only;
    bool good_only;
    int64_t not_after_from; /* 0: no lower bound */
    int64_t not_after_to;   /* 0: no upper bound */
} store_query;

/* Walks the certificates the query selects, ordered by not_after then serial. */
store_err store_cert_each(store *s, const store_query *q, store_cert_fn fn, void *ctx);

/* The next value of a named counter (1 the first time), e.g. the CRL number. */
store_err store_next_number(int64_t *out, store *s, const char *name);

#endif
