/* The deployment's CA: its directory and configuration, issuing, revoking, CRLs and OCSP answers
 * over the store. */
#define _DEFAULT_SOURCE /* realpath */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "base/fileio.h"
#include "crypto/ca.h"
#include "pki/ca.h"

#define MAX_CONF (64 * 1024)
#define MAX_VALUE 1024
#define CRL_NAME "crl/issuing.crl"

static _Thread_local char detail[1024];

const char *pki_strerror(pki_err err) {
    switch (err) {
    case PKI_OK:
        return "success";
    case PKI_E_NOMEM:
        return "out of memory";
    case PKI_E_CONFIG:
        return "the CA directory is not usable";
    case PKI_E_EXISTS:
        return "the directory holds a CA already";
    case PKI_E_CRYPTO:
        return "refused by the CA's cryptography";
    case PKI_E_STORE:
        return "the CA's store failed";
    case PKI_E_NOTFOUND:
        return "no such certificate";
    case PKI_E_STATE:
        return "the certificate is revoked already";
    case PKI_E_IO:
        return "cannot write a file";
    case PKI_E_ARG:
        return "invalid argument";
    }
    return "unknown pki error";
}

const char *pki_errdetail(void) {
    return detail;
}

static pki_err fail(pki_err err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static pki_err fail(pki_err err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return err;
}

static pki_err crypto_failed(void) {
    return fail(PKI_E_CRYPTO, "%s", crypto_errdetail());
}

static pki_err store_failed(store_err e) {
    pki_err p = e == STORE_E_NOTFOUND ? PKI_E_NOTFOUND
                : e == STORE_E_STATE  ? PKI_E_STATE
                : e == STORE_E_NOMEM  ? PKI_E_NOMEM
                                      : PKI_E_STORE;
    return fail(p, "%s", store_errdetail()[0] ? store_errdetail() : store_strerror(e));
}

/* ------------------------------------------------------------------------------------------ */
/* configuration */

typedef struct conf {
    char base_url[MAX_VALUE], cert[MAX_VALUE], key[MAX_VALUE], key_pass_file[MAX_VALUE];
    char chain[MAX_VALUE], root[MAX_VALUE], store[MAX_VALUE];
    char ocsp_cert[MAX_VALUE], ocsp_key[MAX_VALUE], ocsp_pass_file[MAX_VALUE];
    int days, crl_days, ocsp_next_update;
} conf;

#define MAX_DIR 2048

struct pki_ca {
    char dir[MAX_DIR];
    conf c;
    char crl_url[MAX_VALUE + 32], ocsp_url[MAX_VALUE + 32];
    X509 *cert;
    crypto_key *key;
    X509 *ocsp_cert;
    crypto_key *ocsp_key;
    store *st;
};

static bool int_value(int *out, const char *v, int lo, int hi) {
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi)
        return false;
    *out = (int)n;
    return true;
}

static pki_err conf_set(conf *c, const char *k, const char *v, int line, const char *path) {
    struct {
        const char *name;
        char *dst;
    } strs[] = {{"base_url", c->base_url}, {"cert", c->cert},
                {"key", c->key},           {"key_pass_file", c->key_pass_file},
                {"chain", c->chain},       {"root", c->root},
                {"store", c->store},       {"ocsp_cert", c->ocsp_cert},
                {"ocsp_key", c->ocsp_key}, {"ocsp_pass_file", c->ocsp_pass_file}};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
        if (strcmp(k, strs[i].name) == 0) {
            snprintf(strs[i].dst, MAX_VALUE, "%s", v);
            return PKI_OK;
        }
    if (strcmp(k, "days") == 0 && int_value(&c->days, v, 1, CRYPTO_CA_MAX_DAYS))
        return PKI_OK;
    if (strcmp(k, "crl_days") == 0 && int_value(&c->crl_days, v, 1, 366))
        return PKI_OK;
    if (strcmp(k, "ocsp_next_update") == 0 && int_value(&c->ocsp_next_update, v, 0, 7 * 86400))
        return PKI_OK;
    return fail(PKI_E_CONFIG, "%s line %d: unknown key or bad value '%s'", path, line, k);
}

/* key = value lines; '#' starts a comment line. */
static pki_err conf_read(conf *c, const char *path) {
    uint8_t *data = NULL;
    size_t len = 0;
    pki_err err = PKI_OK;
    memset(c, 0, sizeof *c);
    c->days = PKI_DEFAULT_DAYS;
    c->crl_days = PKI_DEFAULT_CRL_DAYS;
    c->ocsp_next_update = PKI_DEFAULT_OCSP_NEXT;
    int e = file_read_all(&data, &len, path, MAX_CONF);
    if (e)
        return fail(PKI_E_CONFIG, "%s: %s", path, e == EFBIG ? "too large" : strerror(e));
    size_t pos = 0;
    for (int line = 1; pos < len && err == PKI_OK; line++) {
        size_t end = pos;
        while (end < len && data[end] != '\n')
            end++;
        char l[2 * MAX_VALUE];
        size_t n = end - pos;
        if (n >= sizeof l) {
            err = fail(PKI_E_CONFIG, "%s line %d is too long", path, line);
            break;
        }
        memcpy(l, data + pos, n);
        l[n] = '\0';
        pos = end + 1;
        char *p = l;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\0' || *p == '\r')
            continue;
        char *eq = strchr(p, '=');
        if (!eq || strlen(eq + 1) >= MAX_VALUE) {
            err = fail(PKI_E_CONFIG, "%s line %d is not 'key = value'", path, line);
            break;
        }
        char *ke = eq;
        while (ke > p && (ke[-1] == ' ' || ke[-1] == '\t'))
            ke--;
        *ke = '\0';
        char *v = eq + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vl = strlen(v);
        while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t' || v[vl - 1] == '\r'))
            v[--vl] = '\0';
        err = conf_set(c, p, v, line, path);
    }
    free(data);
    if (err == PKI_OK && (!c->base_url[0] || !c->cert[0] || !c->key[0] || !c->store[0]))
        err = fail(PKI_E_CONFIG, "%s needs base_url, cert, key and store", path);
    return err;
}

static pki_err write_file(const char *path, const void *data, size_t len, unsigned mode) {
    struct iovec iov = {(void *)(uintptr_t)data, len};
    int e = file_write_atomic(path, &iov, 1, mode);
    return e ? fail(PKI_E_IO, "%s: %s", path, strerror(e)) : PKI_OK;
}

static pki_err conf_write(const char *dir, const conf *c) {
    char path[PATH_MAX];
    buf b;
    pki_err err = PKI_OK;
    buf_init(&b, MAX_CONF);
    snprintf(path, sizeof path, "%s/ca.conf", dir);
    if (buf_printf(&b,
                   "# eseal CA (eseal ca --help). Paths are relative to this directory.\n"
                   "base_url = %s\ncert = %s\nkey = %s\nkey_pass_file = %s\nchain = %s\n"
                   "root = %s\nstore = %s\ndays = %d\ncrl_days = %d\nocsp_next_update = %d\n",
                   c->base_url, c->cert, c->key, c->key_pass_file, c->chain, c->root, c->store,
                   c->days, c->crl_days, c->ocsp_next_update) != BUF_OK)
        err = fail(PKI_E_NOMEM, "out of memory");
    else
        err = write_file(path, b.data, b.len, 0644);
    buf_free(&b);
    return err;
}

/* dir/name, or name when it is absolute. */
static void in_dir(char out[PATH_MAX], const char *dir, const char *name) {
    if (name[0] == '/')
        snprintf(out, PATH_MAX, "%s", name);
    else
        snprintf(out, PATH_MAX, "%s/%s", dir, name);
}

/* http(s)://host[:port][/path], without a trailing slash, and characters a certificate's URI
 * and OpenSSL's extension syntax both take. */
static pki_err check_base_url(const char *u) {
    size_t n = strlen(u);
    bool ok = n > 8 && n < 400 &&
              (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0) && u[n - 1] != '/';
    for (size_t i = 0; ok && i < n; i++)
        ok = (u[i] >= 'a' && u[i] <= 'z') || (u[i] >= 'A' && u[i] <= 'Z') ||
             (u[i] >= '0' && u[i] <= '9') || strchr("-._~:/[]", u[i]);
    return ok ? PKI_OK
              : fail(PKI_E_ARG,
                     "base URL '%s' is not http(s)://host[:port][/path] without a "
                     "trailing slash",
                     u);
}

/* Makes dir (and dir/private, dir/crl); refuses one that holds a ca.conf. */
static pki_err make_dirs(const char *dir) {
    char p[PATH_MAX];
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return fail(PKI_E_IO, "%s: %s", dir, strerror(errno));
    snprintf(p, sizeof p, "%s/ca.conf", dir);
    if (access(p, F_OK) == 0)
        return fail(PKI_E_EXISTS, "%s holds a CA already (ca.conf)", dir);
    snprintf(p, sizeof p, "%s/private", dir);
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
        return fail(PKI_E_IO, "%s: %s", p, strerror(errno));
    snprintf(p, sizeof p, "%s/crl", dir);
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        return fail(PKI_E_IO, "%s: %s", p, strerror(errno));
    return PKI_OK;
}

static pki_err write_certs(const char *path, X509 *const *certs, int n) {
    buf b;
    pki_err err = PKI_OK;
    buf_init(&b, 1024 * 1024);
    for (int i = 0; i < n && err == PKI_OK; i++)
        if (crypto_cert_pem(&b, certs[i]) != CRYPTO_OK)
            err = crypto_failed();
    if (err == PKI_OK)
        err = write_file(path, b.data, b.len, 0644);
    buf_free(&b);
    return err;
}

static pki_err abs_path(char out[MAX_VALUE], const char *path) {
    char p[PATH_MAX];
    if (!realpath(path, p))
        return fail(PKI_E_ARG, "%s: %s", path, strerror(errno));
    if (strlen(p) >= MAX_VALUE)
        return fail(PKI_E_ARG, "%s: the path is too long", path);
    memcpy(out, p, strlen(p) + 1);
    return PKI_OK;
}

static pki_err new_store(const char *dir) {
    char p[PATH_MAX];
    store *st = NULL;
    snprintf(p, sizeof p, "%s/ca.db", dir);
    store_err e = store_open(&st, p, true);
    store_close(st);
    return e == STORE_OK ? PKI_OK : store_failed(e);
}

static void conf_defaults(conf *c, const char *base_url) {
    memset(c, 0, sizeof *c);
    snprintf(c->base_url, sizeof c->base_url, "%s", base_url);
    snprintf(c->cert, sizeof c->cert, "issuing.pem");
    snprintf(c->key, sizeof c->key, "private/issuing.key");
    snprintf(c->chain, sizeof c->chain, "chain.pem");
    snprintf(c->root, sizeof c->root, "root.pem");
    snprintf(c->store, sizeof c->store, "ca.db");
    c->days = PKI_DEFAULT_DAYS;
    c->crl_days = PKI_DEFAULT_CRL_DAYS;
    c->ocsp_next_update = PKI_DEFAULT_OCSP_NEXT;
}

pki_err pki_ca_init(const pki_init_opts *o) {
    pki_err err;
    char *password = NULL;
    char p[PATH_MAX];
    EVP_PKEY *rk = NULL, *ik = NULL;
    crypto_key *root_key = NULL, *issuing_key = NULL;
    X509_NAME *rn = NULL, *in = NULL;
    X509 *root = NULL, *issuing = NULL;
    conf c;
    const char *type = o->key_type ? o->key_type : "ec384";
    if ((err = check_base_url(o->base_url)) != PKI_OK)
        goto out;
    conf_defaults(&c, o->base_url);
    if ((err = abs_path(c.key_pass_file, o->pass_file)) != PKI_OK)
        goto out;
    if (crypto_read_password(&password, o->pass_file) != CRYPTO_OK) {
        err = crypto_failed();
        goto out;
    }
    if (!password[0]) {
        err = fail(PKI_E_ARG, "%s: the password is empty", o->pass_file);
        goto out;
    }
    if ((err = make_dirs(o->dir)) != PKI_OK)
        goto out;
    if (crypto_name_parse(&rn, o->root_subject ? o->root_subject : "/CN=eseal Root CA") !=
            CRYPTO_OK ||
        crypto_name_parse(&in, o->issuing_subject ? o->issuing_subject : "/CN=eseal Issuing CA") !=
            CRYPTO_OK ||
        crypto_keygen(&rk, type) != CRYPTO_OK || crypto_keygen(&ik, type) != CRYPTO_OK) {
        err = crypto_failed();
        goto out;
    }
    EVP_PKEY *rk_pub = rk, *ik_pub = ik;
    if (crypto_key_from_pkey(&root_key, rk) != CRYPTO_OK ||
        crypto_key_from_pkey(&issuing_key, ik) != CRYPTO_OK) {
        rk = ik = NULL;
        err = crypto_failed();
        goto out;
    }
    rk = ik = NULL; /* the crypto_keys own them */
    crypto_cert_spec rs = {
        CRYPTO_PROFILE_ROOT, rn, rk_pub, 0, o->root_days ? o->root_days : 7300, NULL, NULL};
    crypto_cert_spec is = {CRYPTO_PROFILE_ISSUING,
                           in,
                           ik_pub,
                           0,
                           o->issuing_days ? o->issuing_days : 3650,
                           NULL,
                           NULL};
    if (crypto_ca_issue(&root, root_key, NULL, &rs) != CRYPTO_OK ||
        crypto_ca_issue(&issuing, root_key, root, &is) != CRYPTO_OK) {
        err = crypto_failed();
        goto out;
    }
    snprintf(p, sizeof p, "%s/private/root.key", o->dir);
    if (crypto_key_write(p, rk_pub, password) != CRYPTO_OK) {
        err = crypto_failed();
        goto out;
    }
    snprintf(p, sizeof p, "%s/private/issuing.key", o->dir);
    if (crypto_key_write(p, ik_pub, password) != CRYPTO_OK) {
        err = crypto_failed();
        goto out;
    }
    X509 *both[2] = {issuing, root};
    snprintf(p, sizeof p, "%s/root.pem", o->dir);
    if ((err = write_certs(p, &root, 1)) != PKI_OK)
        goto out;
    snprintf(p, sizeof p, "%s/issuing.pem", o->dir);
    if ((err = write_certs(p, &issuing, 1)) != PKI_OK)
        goto out;
    snprintf(p, sizeof p, "%s/chain.pem", o->dir);
    if ((err = write_certs(p, both, 2)) != PKI_OK)
        goto out;
    if ((err = new_store(o->dir)) != PKI_OK)
        goto out;
    err = conf_write(o->dir, &c); /* last: a directory without it holds no CA */
out:
    if (password) {
        memset(password, 0, strlen(password));
        free(password);
    }
    EVP_PKEY_free(rk);
    EVP_PKEY_free(ik);
    crypto_key_free(root_key);
    crypto_key_free(issuing_key);
    X509_NAME_free(rn);
    X509_NAME_free(in);
    X509_free(root);
    X509_free(issuing);
    return err;
}

static pki_err copy_file(const char *from, const char *to, unsigned mode) {
    uint8_t *data = NULL;
    size_t len = 0;
    int e = file_read_all(&data, &len, from, 4 * 1024 * 1024);
    pki_err err = e ? fail(PKI_E_IO, "%s: %s", from, strerror(e)) : write_file(to, data, len, mode);
    if (data)
        memset(data, 0, len);
    free(data);
    return err;
}

pki_err pki_ca_import(const pki_import_opts *o) {
    pki_err err;
    char p[PATH_MAX];
    char *password = NULL;
    crypto_key *key = NULL;
    STACK_OF(X509) *certs = NULL, *chain = NULL;
    conf c;
    if ((err = check_base_url(o->base_url)) != PKI_OK)
        goto out;
    conf_defaults(&c, o->base_url);
    if (o->pass_file && ((err = abs_path(c.key_pass_file, o->pass_file)) != PKI_OK))
        goto out;
    if (o->pass_file && crypto_read_password(&password, o->pass_file) != CRYPTO_OK) {
        err = crypto_failed();
        goto out;
    }
    if (crypto_certs_load(&certs, o->cert) != CRYPTO_OK ||
        crypto_certs_load(&chain, o->chain) != CRYPTO_OK ||
        crypto_key_load(&key, NULL, NULL, o->key, password) != CRYPTO_OK) {
        err = crypto_failed();
        goto out;
    }
    X509 *ca = sk_X509_value(certs, 0), *top = sk_X509_value(chain, sk_X509_num(chain) - 1);
    if (EVP_PKEY_eq(X509_get0_pubkey(ca), crypto_key_public(key)) != 1) {
        err = fail(PKI_E_CRYPTO, "%s does not belong to %s", o->key, o->cert);
        goto out;
    }
    if (X509_check_ca(ca) < 1 || !(X509_get_key_usage(ca) & KU_KEY_CERT_SIGN)) {
        err = fail(PKI_E_CRYPTO, "%s is not a CA certificate that may sign certificates", o->cert);
        goto out;
    }
    if (X509_check_issued(top, top) != X509_V_OK) {
        err = fail(PKI_E_CRYPTO, "the last certificate of %s is not a self-signed root", o->chain);
        goto out;
    }
    if ((err = make_dirs(o->dir)) != PKI_OK)
        goto out;
    snprintf(p, sizeof p, "%s/issuing.pem", o->dir);
    if ((err = write_certs(p, &ca, 1)) != PKI_OK)
        goto out;
    snprintf(p, sizeof p, "%s/root.pem", o->dir);
    if ((err = write_certs(p, &top, 1)) != PKI_OK)
        goto out;
    if (!sk_X509_insert(chain, X509_dup(ca), 0)) {
        err = fail(PKI_E_NOMEM, "out of memory");
        goto out;
    }
    snprintf(p, sizeof p, "%s/chain.pem", o->dir);
    X509 *all[64];
    int n = 0;
    for (; n < sk_X509_num(chain) && n < 64; n++)
        all[n] = sk_X509_value(chain, n);
    if ((err = write_certs(p, all, n)) != PKI_OK)
        goto out;
    snprintf(p, sizeof p, "%s/private/issuing.key", o->dir);
    if ((err = copy_file(o->key, p, 0600)) != PKI_OK || (err = new_store(o->dir)) != PKI_OK)
        goto out;
    err = conf_write(o->dir, &c);
out:
    if (password) {
        memset(password, 0, strlen(password));
        free(password);
    }
    crypto_key_free(key);
    sk_X509_pop_free(certs, X509_free);
    sk_X509_pop_free(chain, X509_free);
    return err;
}

/* ------------------------------------------------------------------------------------------ */
/* opening */

/* pass_file as given on a command line is the caller's path; one from ca.conf is relative to the
 * CA directory (conf_pass). */
static pki_err load_key(crypto_key **out, const char *dir, const char *key, const char *pass_file,
                        bool conf_pass, X509 *cert) {
    char p[PATH_MAX], pf[PATH_MAX];
    char *password = NULL;
    pki_err err = PKI_OK;
    in_dir(p, dir, key);
    if (pass_file && *pass_file) {
        if (conf_pass)
            in_dir(pf, dir, pass_file);
        else
            snprintf(pf, sizeof pf, "%s", pass_file);
        if (crypto_read_password(&password, pf) != CRYPTO_OK)
            return crypto_failed();
    }
    if (crypto_key_load(out, NULL, NULL, p, password) != CRYPTO_OK)
        err = crypto_failed();
    else if (EVP_PKEY_eq(X509_get0_pubkey(cert), crypto_key_public(*out)) != 1)
        err = fail(PKI_E_CRYPTO, "%s does not belong to its certificate", p);
    if (password) {
        memset(password, 0, strlen(password));
        free(password);
    }
    return err;
}

static pki_err load_cert(X509 **out, const char *dir, const char *name) {
    char p[PATH_MAX];
    STACK_OF(X509) *certs = NULL;
    in_dir(p, dir, name);
    if (crypto_certs_load(&certs, p) != CRYPTO_OK)
        return crypto_failed();
    *out = sk_X509_shift(certs);
    sk_X509_pop_free(certs, X509_free);
    return PKI_OK;
}

pki_err pki_ca_open(pki_ca **out, const char *dir, unsigned flags, const char *pass_file) {
    char p[PATH_MAX];
    pki_err err;
    pki_ca *ca = calloc(1, sizeof *ca);
    *out = NULL;
    if (!ca)
        return fail(PKI_E_NOMEM, "out of memory");
    if (strlen(dir) >= MAX_DIR) {
        err = fail(PKI_E_ARG, "%s: the path is too long", dir);
        goto out;
    }
    snprintf(ca->dir, sizeof ca->dir, "%s", dir);
    snprintf(p, sizeof p, "%s/ca.conf", dir);
    if ((err = conf_read(&ca->c, p)) != PKI_OK)
        goto out;
    snprintf(ca->crl_url, sizeof ca->crl_url, "%s/" CRL_NAME, ca->c.base_url);
    snprintf(ca->ocsp_url, sizeof ca->ocsp_url, "%s/ocsp", ca->c.base_url);
    if ((err = load_cert(&ca->cert, dir, ca->c.cert)) != PKI_OK)
        goto out;
    in_dir(p, dir, ca->c.store);
    store_err se = store_open(&ca->st, p, false);
    if (se != STORE_OK) {
        err = store_failed(se);
        goto out;
    }
    if ((flags & PKI_OPEN_KEY) &&
        (err = load_key(&ca->key, dir, ca->c.key, pass_file ? pass_file : ca->c.key_pass_file,
                        !pass_file, ca->cert)) != PKI_OK)
        goto out;
    /* RFC 6960 4.2.2.2: a delegated responder, when one is configured */
    if ((flags & PKI_OPEN_KEY) && ca->c.ocsp_cert[0] &&
        ((err = load_cert(&ca->ocsp_cert, dir, ca->c.ocsp_cert)) != PKI_OK ||
         (err = load_key(&ca->ocsp_key, dir, ca->c.ocsp_key,
                         ca->c.ocsp_pass_file[0] ? ca->c.ocsp_pass_file : NULL, true,
                         ca->ocsp_cert)) != PKI_OK))
        goto out;
    *out = ca;
    ca = NULL;
out:
    pki_ca_free(ca);
    return err;
}

void pki_ca_free(pki_ca *ca) {
    if (ca) {
        X509_free(ca->cert);
        X509_free(ca->ocsp_cert);
        crypto_key_free(ca->key);
        crypto_key_free(ca->ocsp_key);
        store_close(ca->st);
        free(ca);
    }
}

X509 *pki_ca_cert(const pki_ca *ca) {
    return ca->cert;
}

const char *pki_ca_base_url(const pki_ca *ca) {
    return ca->c.base_url;
}

/* ------------------------------------------------------------------------------------------ */
/* issuing and revoking */

static int64_t epoch_of(const ASN1_TIME *t) {
    int days = 0, secs = 0;
    ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
    bool ok = epoch && ASN1_TIME_diff(&days, &secs, epoch, t);
    ASN1_TIME_free(epoch);
    return ok ? (int64_t)days * 86400 + secs : 0;
}

static pki_err record(pki_ca *ca, X509 *cert, const char *profile, const char *reissue) {
    store_cert c = {0};
    buf der;
    pki_err err = PKI_OK;
    buf_init(&der, STORE_MAX_CERT_DER);
    crypto_serial_hex(c.serial, X509_get0_serialNumber(cert));
    c.subject = crypto_name_string(X509_get_subject_name(cert));
    c.not_before = epoch_of(X509_get0_notBefore(cert));
    c.not_after = epoch_of(X509_get0_notAfter(cert));
    c.issued_at = time(NULL);
    snprintf(c.profile, sizeof c.profile, "%s", profile);
    snprintf(c.reissue_of, sizeof c.reissue_of, "%s", reissue ? reissue : "");
    if (!c.subject || crypto_cert_der(&der, cert) != CRYPTO_OK) {
        err = fail(PKI_E_NOMEM, "cannot encode the certificate");
        goto out;
    }
    c.der = der.data;
    c.der_len = der.len;
    store_err e = store_cert_add(ca->st, &c);
    if (e != STORE_OK)
        err = store_failed(e);
out:
    free(c.subject);
    buf_free(&der);
    return err;
}

/* The subject of a recorded certificate. */
static pki_err recorded_subject(X509_NAME **out, char *profile, size_t plen, pki_ca *ca,
                                const char *serial) {
    store_cert c;
    store_err e = store_cert_get(&c, ca->st, serial);
    pki_err err = PKI_OK;
    X509 *old = NULL;
    *out = NULL;
    if (e != STORE_OK)
        return store_failed(e);
    const unsigned char *p = c.der;
    if (!(old = d2i_X509(NULL, &p, (long)c.der_len)) ||
        !(*out = X509_NAME_dup(X509_get_subject_name(old))))
        err = fail(PKI_E_STORE, "the record of %s holds no readable certificate", serial);
    snprintf(profile, plen, "%s", c.profile);
    X509_free(old);
    store_cert_clear(&c);
    ERR_clear_error();
    return err;
}

pki_err pki_issue(X509 **out, pki_ca *ca, const pki_issue_req *r) {
    pki_err err = PKI_OK;
    X509_REQ *csr = NULL;
    X509_NAME *subject = NULL;
    EVP_PKEY *pub = NULL, *gen = NULL;
    X509 *cert = NULL;
    crypto_profile profile = CRYPTO_PROFILE_ENTERPRISE;
    char old_profile[16] = "", serial[CRYPTO_SERIAL_HEX] = "";
    bool wrote_key = false;
    *out = NULL;
    int sources = !!r->csr + !!r->pubkey + !!r->genkey;
    if (sources != 1) {
        err = fail(PKI_E_ARG, "give exactly one of a request, a public key or a key to generate");
        goto out;
    }
    if (r->reissue) {
        if (!crypto_serial_norm(serial, r->reissue)) {
            err = fail(PKI_E_ARG, "'%s' is not a serial number in hex", r->reissue);
            goto out;
        }
        if (r->subject) {
            err = fail(PKI_E_ARG, "a re-issue keeps the subject of the certificate it replaces");
            goto out;
        }
        if ((err = recorded_subject(&subject, old_profile, sizeof old_profile, ca, serial)) !=
            PKI_OK)
            goto out;
    }
    const char *pname = r->profile ? r->profile : old_profile[0] ? old_profile : "enterprise";
    if (!crypto_profile_from_name(&profile, pname) || profile == CRYPTO_PROFILE_ROOT ||
        profile == CRYPTO_PROFILE_ISSUING) {
        err = fail(PKI_E_ARG, "unknown profile '%s' (enterprise, tsa, ocsp)", pname);
        goto out;
    }
    if (!subject && r->subject && crypto_name_parse(&subject, r->subject) != CRYPTO_OK) {
        err = crypto_failed();
        goto out;
    }
    if (r->csr) {
        if (crypto_csr_load(&csr, r->csr) != CRYPTO_OK) {
            err = crypto_failed();
            goto out;
        }
        pub = X509_REQ_get_pubkey(csr);
        if (!subject && X509_NAME_entry_count(X509_REQ_get_subject_name(csr)) > 0)
            subject = X509_NAME_dup(X509_REQ_get_subject_name(csr));
    } else if (r->pubkey) {
        if (crypto_pubkey_load(&pub, r->pubkey) != CRYPTO_OK) {
            err = crypto_failed();
            goto out;
        }
    } else {
        if (!r->key_pass) {
            err = fail(PKI_E_ARG, "a generated key is written encrypted: give its password file");
            goto out;
        }
        if (crypto_keygen(&gen, r->key_type ? r->key_type : "ec") != CRYPTO_OK ||
            crypto_key_write(r->genkey, gen, r->key_pass) != CRYPTO_OK) {
            err = crypto_failed();
            goto out;
        }
        wrote_key = true;
        pub = gen;
        gen = NULL;
    }
    if (!subject) {
        err = fail(PKI_E_ARG, "the certificate needs a subject (--subject)");
        goto out;
    }
    int days = r->days ? r->days : profile == CRYPTO_PROFILE_OCSP ? 30 : ca->c.days;
    crypto_cert_spec spec = {profile, subject, pub, 0, days, ca->crl_url, ca->ocsp_url};
    if (!ca->key) {
        err = fail(PKI_E_ARG, "the CA was opened without its key");
        goto out;
    }
    if (crypto_ca_issue(&cert, ca->key, ca->cert, &spec) != CRYPTO_OK) {
        err = crypto_failed();
        goto out;
    }
    if ((err = record(ca, cert, crypto_profile_name(profile), r->reissue ? serial : NULL)) !=
        PKI_OK)
        goto out;
    *out = cert;
    cert = NULL;
    wrote_key = false;
out:
    if (wrote_key)
        unlink(r->genkey);
    X509_REQ_free(csr);
    X509_NAME_free(subject);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(gen);
    X509_free(cert);
    return err;
}

pki_err pki_revoke(pki_ca *ca, const char *serial, int reason) {
    char s[CRYPTO_SERIAL_HEX];
    if (!crypto_serial_norm(s, serial))
        return fail(PKI_E_ARG, "'%s' is not a serial number in hex", serial);
    if (reason < 0 || reason > 10 || reason == 7)
        return fail(PKI_E_ARG, "reason code %d is not one of RFC 5280's", reason);
    store_err e = store_cert_revoke(ca->st, s, time(NULL), reason);
    return e == STORE_OK ? PKI_OK : store_failed(e);
}

pki_err pki_status(store_cert *out, pki_ca *ca, const char *serial) {
    char s[CRYPTO_SERIAL_HEX];
    memset(out, 0, sizeof *out);
    if (!crypto_serial_norm(s, serial))
        return fail(PKI_E_ARG, "'%s' is not a serial number in hex", serial);
    store_err e = store_cert_get(out, ca->st, s);
    return e == STORE_OK ? PKI_OK : store_failed(e);
}

pki_err pki_status_cert(store_cert *out, pki_ca *ca, const char *cert_path) {
    STACK_OF(X509) *certs = NULL;
    char s[CRYPTO_SERIAL_HEX];
    pki_err err = PKI_OK;
    memset(out, 0, sizeof *out);
    if (crypto_certs_load(&certs, cert_path) != CRYPTO_OK)
        return crypto_failed();
    X509 *c = sk_X509_value(certs, 0);
    crypto_sm2_cert_prepare(c); /* an SM2 CA's signature, with the default ID */
    if (X509_check_issued(ca->cert, c) != X509_V_OK ||
        X509_verify(c, X509_get0_pubkey(ca->cert)) != 1) {
        err = fail(PKI_E_NOTFOUND, "%s was not issued by this CA", cert_path);
    } else {
        crypto_serial_hex(s, X509_get0_serialNumber(c));
        store_err e = store_cert_get(out, ca->st, s);
        if (e != STORE_OK)
            err = store_failed(e);
    }
    sk_X509_pop_free(certs, X509_free);
    ERR_clear_error();
    return err;
}

pki_err pki_list(pki_ca *ca, int days, store_cert_fn fn, void *ctx) {
    store_query q = {0};
    if (days >= 0) {
        int64_t now = time(NULL);
        q.good_only = true;
        q.not_after_from = now;
        q.not_after_to = now + (int64_t)days * 86400;
    }
    store_err e = store_cert_each(ca->st, &q, fn, ctx);
    return e == STORE_OK ? PKI_OK : store_failed(e);
}

/* ------------------------------------------------------------------------------------------ */
/* CRL */

typedef struct rev_list {
    crypto_revoked *items;
    char (*serials)[CRYPTO_SERIAL_HEX];
    size_t n, cap;
    bool oom;
} rev_list;

static int collect(const store_cert *c, void *ctx) {
    rev_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        crypto_revoked *items = realloc(l->items, cap * sizeof *items);
        if (items)
            l->items = items;
        char(*serials)[CRYPTO_SERIAL_HEX] = realloc(l->serials, cap * sizeof *serials);
        if (serials)
            l->serials = serials;
        if (!items || !serials) {
            l->oom = true;
            return 1;
        }
        l->cap = cap;
    }
    snprintf(l->serials[l->n], CRYPTO_SERIAL_HEX, "%s", c->serial);
    l->items[l->n] = (crypto_revoked){NULL, (time_t)c->revoked_at, c->reason, 0};
    l->n++;
    return 0;
}

pki_err pki_crl(pki_ca *ca, int days, const char *out_path) {
    rev_list l = {0};
    buf der;
    int64_t number = 0;
    char p[PATH_MAX];
    pki_err err = PKI_OK;
    buf_init(&der, 256u * 1024 * 1024);
    store_query q = {.revoked_only = true};
    store_err e = store_cert_each(ca->st, &q, collect, &l);
    if (e != STORE_OK || l.oom) {
        err = l.oom ? fail(PKI_E_NOMEM, "out of memory") : store_failed(e);
        goto out;
    }
    for (size_t i = 0; i < l.n; i++)
        l.items[i].serial = l.serials[i];
    /* RFC 5280 5.2.3: CRL numbers increase */
    if ((e = store_next_number(&number, ca->st, "crl")) != STORE_OK) {
        err = store_failed(e);
        goto out;
    }
    time_t now = time(NULL);
    int d = days > 0 ? days : ca->c.crl_days;
    if (!ca->key) {
        err = fail(PKI_E_ARG, "the CA was opened without its key");
        goto out;
    }
    if (crypto_ca_crl(&der, ca->key, ca->cert, l.items, l.n, (uint64_t)number, now,
                      now + (time_t)d * 86400) != CRYPTO_OK) {
        err = crypto_failed();
        goto out;
    }
    if (!out_path) {
        snprintf(p, sizeof p, "%s/crl", ca->dir);
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            err = fail(PKI_E_IO, "%s: %s", p, strerror(errno));
            goto out;
        }
        snprintf(p, sizeof p, "%s/" CRL_NAME, ca->dir);
        out_path = p;
    }
    err = write_file(out_path, der.data, der.len, 0644);
out:
    free(l.items);
    free(l.serials);
    buf_free(&der);
    return err;
}

/* ------------------------------------------------------------------------------------------ */
/* OCSP */

static bool lookup(crypto_ocsp_answer *out, const char *serial, void *ctx) {
    pki_ca *ca = ctx;
    store_cert c;
    store_err e = store_cert_get(&c, ca->st, serial);
    out->status = CRYPTO_OCSP_UNKNOWN;
    out->reason = -1;
    if (e == STORE_E_NOTFOUND)
        return true;
    if (e != STORE_OK)
        return false;
    out->status = c.revoked ? CRYPTO_OCSP_REVOKED : CRYPTO_OCSP_GOOD;
    out->rev_time = (time_t)c.revoked_at;
    out->reason = c.revoked ? c.reason : -1;
    store_cert_clear(&c);
    return true;
}

pki_err pki_ocsp_respond(buf *out, pki_ca *ca, const uint8_t *req, size_t len) {
    crypto_ocsp_responder r = {ca->cert,
                               ca->ocsp_key ? ca->ocsp_key : ca->key,
                               ca->ocsp_key ? ca->ocsp_cert : NULL,
                               ca->c.ocsp_next_update,
                               lookup,
                               ca};
    if (!r.key)
        return fail(PKI_E_ARG, "the CA was opened without its key");
    if (crypto_ocsp_respond(out, &r, req, len, time(NULL)) != CRYPTO_OK)
        return crypto_failed();
    return PKI_OK;
}
