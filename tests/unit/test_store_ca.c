/* store/sqlite.c: certificate records, re-issue superseding, revocation states, counters, and a
 * database of another schema refused. */
#include <stdlib.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "store/store.h"

static int count(const store_cert *c, void *ctx) {
    (void)c;
    (*(int *)ctx)++;
    return 0;
}

static store_cert make(const char *serial, int64_t not_after, const char *reissue_of) {
    static uint8_t der[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    store_cert c = {0};
    snprintf(c.serial, sizeof c.serial, "%s", serial);
    c.subject = (char *)(uintptr_t) "CN=Test";
    c.not_before = 1000;
    c.not_after = not_after;
    c.issued_at = 2000;
    snprintf(c.profile, sizeof c.profile, "enterprise");
    c.der = der;
    c.der_len = sizeof der;
    snprintf(c.reissue_of, sizeof c.reissue_of, "%s", reissue_of ? reissue_of : "");
    return c;
}

int main(void) {
    char dir[] = "/tmp/test_store_XXXXXX", path[64], other[64];
    store *s = NULL;
    store_cert c;
    int n = 0;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/ca.db", dir);
    snprintf(other, sizeof other, "%s/other.db", dir);

    CHECK_INT(store_open(&s, path, false), STORE_E_OPEN); /* not created without asking */
    CHECK_INT(store_open(&s, path, true), STORE_OK);

    c = make("0A", 5000, NULL);
    CHECK_INT(store_cert_add(s, &c), STORE_OK);
    CHECK_INT(store_cert_add(s, &c), STORE_E_EXISTS);
    c = make("0B", 9000, "0A");
    CHECK_INT(store_cert_add(s, &c), STORE_OK);
    c = make("0C", 9000, "FF"); /* replaces nothing we know */
    CHECK(store_cert_add(s, &c) != STORE_OK);

    CHECK_INT(store_cert_get(&c, s, "0A"), STORE_OK);
    CHECK(c.revoked && c.reason == 4 && c.revoked_at == 2000);
    CHECK(c.der_len == 5);
    store_cert_clear(&c);
    CHECK_INT(store_cert_get(&c, s, "0B"), STORE_OK);
    CHECK(!c.revoked && c.reason == -1);
    CHECK_STR(c.reissue_of, "0A");
    store_cert_clear(&c);
    CHECK_INT(store_cert_get(&c, s, "0C"), STORE_E_NOTFOUND);

    CHECK_INT(store_cert_revoke(s, "0B", 3000, 1), STORE_OK);
    CHECK_INT(store_cert_revoke(s, "0B", 3001, 5), STORE_E_STATE);
    CHECK_INT(store_cert_revoke(s, "99", 3001, 5), STORE_E_NOTFOUND);

    store_query all = {0}, revoked = {.revoked_only = true}, soon = {.not_after_to = 6000};
    CHECK_INT(store_cert_each(s, &all, count, &n), STORE_OK);
    CHECK_INT(n, 2);
    n = 0;
    CHECK_INT(store_cert_each(s, &revoked, count, &n), STORE_OK);
    CHECK_INT(n, 2);
    n = 0;
    CHECK_INT(store_cert_each(s, &soon, count, &n), STORE_OK);
    CHECK_INT(n, 1);

    int64_t v = 0;
    CHECK_INT(store_next_number(&v, s, "crl"), STORE_OK);
    CHECK_INT(v, 1);
    CHECK_INT(store_next_number(&v, s, "crl"), STORE_OK);
    CHECK_INT(v, 2);
    store_close(s);
    s = NULL;

    /* reopened: the records stay */
    CHECK_INT(store_open(&s, path, false), STORE_OK);
    CHECK_INT(store_cert_get(&c, s, "0B"), STORE_OK);
    CHECK(c.revoked && c.reason == 1);
    store_cert_clear(&c);
    store_close(s);
    s = NULL;

    /* another program's SQLite database */
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(other, &db), SQLITE_OK);
    CHECK_INT(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    CHECK_INT(store_open(&s, other, false), STORE_E_SCHEMA);
    CHECK(s == NULL);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT(system(cmd), 0);
    return check_failures ? 1 : 0;
}
