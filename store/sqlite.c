/* The store on SQLite: one file, write-ahead log (readers never wait for the writer), a busy
 * timeout for writers, prepared statements only, and a schema version checked on open. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/store.h"

#define SCHEMA_VERSION 1

static _Thread_local char detail[512];

struct store {
    sqlite3 *db;
};

const char *store_strerror(store_err err) {
    switch (err) {
    case STORE_OK:
        return "success";
    case STORE_E_NOMEM:
        return "out of memory";
    case STORE_E_OPEN:
        return "cannot open the database";
    case STORE_E_SCHEMA:
        return "the database has another schema version";
    case STORE_E_DB:
        return "database error";
    case STORE_E_BUSY:
        return "the database is busy";
    case STORE_E_EXISTS:
        return "the record exists";
    case STORE_E_NOTFOUND:
        return "no such record";
    case STORE_E_STATE:
        return "the record does not allow this";
    case STORE_E_LIMIT:
        return "a value is too large";
    case STORE_E_ARG:
        return "invalid argument";
    }
    return "unknown store error";
}

const char *store_errdetail(void) {
    return detail;
}

static store_err fail(store_err err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static store_err fail(store_err err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return err;
}

/* A SQLite result code as ours, with SQLite's message. */
static store_err db_fail(store *s, int rc, const char *what) {
    store_err e = rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? STORE_E_BUSY
                  : rc == SQLITE_NOMEM                     ? STORE_E_NOMEM
                  : rc == SQLITE_CONSTRAINT                ? STORE_E_EXISTS
                                                           : STORE_E_DB;
    return fail(e, "%s: %s", what, s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
}

static const char *const schema[] = {
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS certs ("
    " serial TEXT PRIMARY KEY NOT NULL,"
    " subject TEXT NOT NULL,"
    " not_before INTEGER NOT NULL,"
    " not_after INTEGER NOT NULL,"
    " issued_at INTEGER NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('good', 'revoked')),"
    " revoked_at INTEGER,"
    " reason INTEGER,"
    " profile TEXT NOT NULL,"
    " der BLOB NOT NULL,"
    " reissue_of TEXT REFERENCES certs(serial))",
    "CREATE INDEX IF NOT EXISTS certs_not_after ON certs (not_after)",
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT "
    "NULL)",
};

static store_err exec(store *s, const char *sql) {
    char *msg = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
    store_err e = STORE_OK;
    if (rc != SQLITE_OK)
        e = db_fail(s, rc, msg ? msg : sql);
    sqlite3_free(msg);
    return e;
}

static store_err prepare(sqlite3_stmt **st, store *s, const char *sql) {
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    return rc == SQLITE_OK ? STORE_OK : db_fail(s, rc, "prepare");
}

/* The schema version, 0 for a database without one. */
static store_err version(int *out, store *s) {
    sqlite3_stmt *st = NULL;
    *out = 0;
    store_err e = prepare(&st, s, "SELECT version FROM schema_version");
    if (e == STORE_OK) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            *out = sqlite3_column_int(st, 0);
        else if (rc != SQLITE_DONE)
            e = db_fail(s, rc, "schema version");
    }
    sqlite3_finalize(st);
    return e;
}

static store_err create_schema(store *s) {
    int v = 0;
    store_err e = exec(s, "BEGIN IMMEDIATE");
    if (e != STORE_OK)
        return e;
    for (size_t i = 0; i < sizeof schema / sizeof *schema && e == STORE_OK; i++)
        e = exec(s, schema[i]);
    if (e == STORE_OK)
        e = version(&v, s);
    if (e == STORE_OK && v == 0)
        e = exec(s, "INSERT INTO schema_version (version) VALUES (1)");
    if (e == STORE_OK)
        e = exec(s, "COMMIT");
    else
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return e;
}

store_err store_open(store **out, const char *path, bool create) {
    store *s = calloc(1, sizeof *s);
    int v = 0;
    store_err e = STORE_OK;
    *out = NULL;
    if (!s)
        return fail(STORE_E_NOMEM, "out of memory");
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        e = fail(STORE_E_OPEN, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        goto out;
    }
    sqlite3_extended_result_codes(s->db, 0);
    sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
    if ((e = exec(s, "PRAGMA journal_mode=WAL")) != STORE_OK ||
        (e = exec(s, "PRAGMA foreign_keys=ON")) != STORE_OK ||
        (e = exec(s, "PRAGMA synchronous=NORMAL")) != STORE_OK)
        goto out;
    if (create && (e = create_schema(s)) != STORE_OK)
        goto out;
    if ((e = version(&v, s)) != STORE_OK) {
        e = fail(STORE_E_SCHEMA, "%s is not an eseal store (%s)", path, store_errdetail());
        goto out;
    }
    if (v != SCHEMA_VERSION) {
        e = fail(STORE_E_SCHEMA, "%s has schema version %d, this program knows %d", path, v,
                 SCHEMA_VERSION);
        goto out;
    }
    *out = s;
    s = NULL;
out:
    store_close(s);
    return e;
}

void store_close(store *s) {
    if (s) {
        sqlite3_close(s->db);
        free(s);
    }
}

void store_cert_clear(store_cert *c) {
    free(c->subject);
    free(c->der);
    c->subject = NULL;
    c->der = NULL;
    c->der_len = 0;
}

static store_err bind_text(store *s, sqlite3_stmt *st, int i, const char *v) {
    int rc = v && *v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
    return rc == SQLITE_OK ? STORE_OK : db_fail(s, rc, "bind");
}

/* Revokes serial if good; STORE_E_NOTFOUND or STORE_E_STATE when it cannot be. */
static store_err revoke(store *s, const char *serial, int64_t when, int reason) {
    sqlite3_stmt *st = NULL;
    store_err e = prepare(&st, s,
                          "UPDATE certs SET status = 'revoked', revoked_at = ?2, reason = ?3 "
                          "WHERE serial = ?1 AND status = 'good'");
    if (e == STORE_OK && (e = bind_text(s, st, 1, serial)) == STORE_OK) {
        sqlite3_bind_int64(st, 2, when);
        sqlite3_bind_int(st, 3, reason);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            e = db_fail(s, rc, "revoke");
    }
    sqlite3_finalize(st);
    if (e == STORE_OK && sqlite3_changes(s->db) == 0) {
        store_cert c = {0};
        e = store_cert_get(&c, s, serial);
        if (e == STORE_OK)
            e = fail(STORE_E_STATE, "%s is revoked already", serial);
        store_cert_clear(&c);
    }
    return e;
}

store_err store_cert_add(store *s, const store_cert *c) {
    sqlite3_stmt *st = NULL;
    store_err e = STORE_OK;
    if (!c->subject || strlen(c->subject) > STORE_MAX_TEXT || !c->serial[0] || !c->der ||
        c->der_len > STORE_MAX_CERT_DER)
        return fail(STORE_E_ARG,
                    "a certificate record needs a serial, a subject of at most %d "
                    "bytes and a certificate of at most %d bytes",
                    STORE_MAX_TEXT, STORE_MAX_CERT_DER);
    if ((e = exec(s, "BEGIN IMMEDIATE")) != STORE_OK)
        return e;
    e = prepare(&st, s,
                "INSERT INTO certs (serial, subject, not_before, not_after, issued_at, status, "
                "profile, der, reissue_of) VALUES (?1, ?2, ?3, ?4, ?5, 'good', ?6, ?7, ?8)");
    if (e == STORE_OK && (e = bind_text(s, st, 1, c->serial)) == STORE_OK &&
        (e = bind_text(s, st, 2, c->subject)) == STORE_OK &&
        (e = bind_text(s, st, 6, c->profile)) == STORE_OK &&
        (e = bind_text(s, st, 8, c->reissue_of)) == STORE_OK) {
        sqlite3_bind_int64(st, 3, c->not_before);
        sqlite3_bind_int64(st, 4, c->not_after);
        sqlite3_bind_int64(st, 5, c->issued_at);
        sqlite3_bind_blob(st, 7, c->der, (int)c->der_len, SQLITE_TRANSIENT);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_CONSTRAINT)
            e = fail(c->reissue_of[0] ? STORE_E_NOTFOUND : STORE_E_EXISTS,
                     c->reissue_of[0] ? "serial %s exists, or %s does not" : "serial %s exists",
                     c->serial, c->reissue_of);
        else if (rc != SQLITE_DONE)
            e = db_fail(s, rc, "insert");
    }
    sqlite3_finalize(st);
    /* a re-issue supersedes what it replaces (RFC 5280 5.3.1 superseded) */
    if (e == STORE_OK && c->reissue_of[0]) {
        e = revoke(s, c->reissue_of, c->issued_at, 4);
        if (e == STORE_E_STATE)
            e = STORE_OK; /* revoked before for another reason: that reason stands */
    }
    if (e == STORE_OK)
        e = exec(s, "COMMIT");
    if (e != STORE_OK)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return e;
}

static void copy_text(char *dst, size_t n, const unsigned char *src) {
    snprintf(dst, n, "%s", src ? (const char *)src : "");
}

#define CERT_COLUMNS                                                                               \
    "serial, subject, not_before, not_after, issued_at, status, revoked_at, reason, profile, "     \
    "reissue_of"

/* A row of CERT_COLUMNS (and der as column 10 when with_der) into c. */
static store_err read_row(store_cert *c, sqlite3_stmt *st, bool with_der) {
    memset(c, 0, sizeof *c);
    copy_text(c->serial, sizeof c->serial, sqlite3_column_text(st, 0));
    const unsigned char *subj = sqlite3_column_text(st, 1);
    c->subject = strdup(subj ? (const char *)subj : "");
    c->not_before = sqlite3_column_int64(st, 2);
    c->not_after = sqlite3_column_int64(st, 3);
    c->issued_at = sqlite3_column_int64(st, 4);
    const unsigned char *status = sqlite3_column_text(st, 5);
    c->revoked = status && strcmp((const char *)status, "revoked") == 0;
    c->revoked_at = c->revoked ? sqlite3_column_int64(st, 6) : 0;
    c->reason = c->revoked ? sqlite3_column_int(st, 7) : -1;
    copy_text(c->profile, sizeof c->profile, sqlite3_column_text(st, 8));
    copy_text(c->reissue_of, sizeof c->reissue_of, sqlite3_column_text(st, 9));
    if (!c->subject)
        return fail(STORE_E_NOMEM, "out of memory");
    if (with_der) {
        int n = sqlite3_column_bytes(st, 10);
        const void *p = sqlite3_column_blob(st, 10);
        if (n > 0 && p && (size_t)n <= STORE_MAX_CERT_DER && (c->der = malloc((size_t)n))) {
            memcpy(c->der, p, (size_t)n);
            c->der_len = (size_t)n;
        } else {
            store_cert_clear(c);
            return fail(STORE_E_DB, "the record of %s holds no certificate", c->serial);
        }
    }
    return STORE_OK;
}

store_err store_cert_get(store_cert *out, store *s, const char *serial) {
    sqlite3_stmt *st = NULL;
    memset(out, 0, sizeof *out);
    store_err e = prepare(&st, s, "SELECT " CERT_COLUMNS ", der FROM certs WHERE serial = ?1");
    if (e == STORE_OK && (e = bind_text(s, st, 1, serial)) == STORE_OK) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            e = read_row(out, st, true);
        else if (rc == SQLITE_DONE)
            e = fail(STORE_E_NOTFOUND, "no certificate with serial %s", serial);
        else
            e = db_fail(s, rc, "select");
    }
    sqlite3_finalize(st);
    return e;
}

store_err store_cert_revoke(store *s, const char *serial, int64_t when, int reason) {
    store_err e = exec(s, "BEGIN IMMEDIATE");
    if (e != STORE_OK)
        return e;
    e = revoke(s, serial, when, reason);
    if (e == STORE_OK)
        e = exec(s, "COMMIT");
    if (e != STORE_OK)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return e;
}

store_err store_cert_each(store *s, const store_query *q, store_cert_fn fn, void *ctx) {
    sqlite3_stmt *st = NULL;
    store_err e = prepare(&st, s,
                          "SELECT " CERT_COLUMNS " FROM certs WHERE"
                          " (?1 = 0 OR status = 'revoked') AND (?2 = 0 OR status = 'good')"
                          " AND (?3 = 0 OR not_after >= ?3) AND (?4 = 0 OR not_after <= ?4)"
                          " ORDER BY not_after, serial");
    if (e != STORE_OK)
        return e;
    sqlite3_bind_int(st, 1, q->revoked_only);
    sqlite3_bind_int(st, 2, q->good_only);
    sqlite3_bind_int64(st, 3, q->not_after_from);
    sqlite3_bind_int64(st, 4, q->not_after_to);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_cert c;
        e = read_row(&c, st, false);
        int stop = e == STORE_OK ? fn(&c, ctx) : 1;
        store_cert_clear(&c);
        if (stop)
            break;
    }
    if (e == STORE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
        e = db_fail(s, rc, "select");
    sqlite3_finalize(st);
    return e;
}

store_err store_next_number(int64_t *out, store *s, const char *name) {
    sqlite3_stmt *st = NULL;
    store_err e = exec(s, "BEGIN IMMEDIATE");
    *out = 0;
    if (e != STORE_OK)
        return e;
    e = prepare(&st, s,
                "INSERT INTO counters (name, value) VALUES (?1, 1) ON CONFLICT (name) DO UPDATE "
                "SET value = value + 1 RETURNING value");
    if (e == STORE_OK && (e = bind_text(s, st, 1, name)) == STORE_OK) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            *out = sqlite3_column_int64(st, 0);
        else
            e = db_fail(s, rc, "counter");
        while (rc == SQLITE_ROW)
            rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (e == STORE_OK)
        e = exec(s, "COMMIT");
    if (e != STORE_OK)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return e;
}
