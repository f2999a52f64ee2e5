/* Keys in PKCS#11 tokens (crypto/p11.h): the module loaded with dlopen and driven directly
 * through its function list (PKCS#11 v2.40 base specification, section 5), RFC 7512 URIs, and
 * the count of wrong PINs that locks a key. */
#define _DEFAULT_SOURCE /* flock(2) */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "base/fileio.h"
#include "crypto/internal.h"
#include "crypto/p11.h"

/* Last: its compatibility macros rename common words (value, count, ...). */
#include <p11-kit/pkcs11.h>

/* SoftHSM2 and other modules use OpenSSL in our process and leave its error queue full: what
 * they leave is not ours to report. */
#define p11_fail(...) (ERR_clear_error(), crypto_fail(__VA_ARGS__))

#define MAX_MODULES 4
#define MAX_SLOTS 256
#define MAX_OBJECTS 256
#define MAX_PIN 256
#define MAX_ATTR (64 * 1024)
#define MAX_PATH_VALUE 4096

/* ---- modules ---- */

typedef struct p11_module {
    char path[PATH_MAX];
    void *dl;
    CK_FUNCTION_LIST *f;
    int refs;
    bool ours; /* we called C_Initialize, so we call C_Finalize */
} p11_module;

static p11_module modules[MAX_MODULES];
static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *rv_name(CK_RV rv) {
    switch (rv) {
    case CKR_OK:
        return "CKR_OK";
    case CKR_PIN_INCORRECT:
        return "CKR_PIN_INCORRECT";
    case CKR_PIN_LOCKED:
        return "CKR_PIN_LOCKED";
    case CKR_PIN_LEN_RANGE:
        return "CKR_PIN_LEN_RANGE";
    case CKR_PIN_INVALID:
        return "CKR_PIN_INVALID";
    case CKR_USER_PIN_NOT_INITIALIZED:
        return "CKR_USER_PIN_NOT_INITIALIZED";
    case CKR_TOKEN_NOT_PRESENT:
        return "CKR_TOKEN_NOT_PRESENT";
    case CKR_TOKEN_NOT_RECOGNIZED:
        return "CKR_TOKEN_NOT_RECOGNIZED";
    case CKR_MECHANISM_INVALID:
        return "CKR_MECHANISM_INVALID";
    case CKR_MECHANISM_PARAM_INVALID:
        return "CKR_MECHANISM_PARAM_INVALID";
    case CKR_KEY_TYPE_INCONSISTENT:
        return "CKR_KEY_TYPE_INCONSISTENT";
    case CKR_KEY_FUNCTION_NOT_PERMITTED:
        return "CKR_KEY_FUNCTION_NOT_PERMITTED";
    case CKR_USER_NOT_LOGGED_IN:
        return "CKR_USER_NOT_LOGGED_IN";
    case CKR_SESSION_HANDLE_INVALID:
        return "CKR_SESSION_HANDLE_INVALID";
    case CKR_TEMPLATE_INCONSISTENT:
        return "CKR_TEMPLATE_INCONSISTENT";
    case CKR_ATTRIBUTE_VALUE_INVALID:
        return "CKR_ATTRIBUTE_VALUE_INVALID";
    case CKR_DEVICE_MEMORY:
        return "CKR_DEVICE_MEMORY";
    case CKR_DEVICE_ERROR:
        return "CKR_DEVICE_ERROR";
    case CKR_GENERAL_ERROR:
        return "CKR_GENERAL_ERROR";
    case CKR_FUNCTION_FAILED:
        return "CKR_FUNCTION_FAILED";
    case CKR_ARGUMENTS_BAD:
        return "CKR_ARGUMENTS_BAD";
    case CKR_SESSION_EXISTS:
        return "CKR_SESSION_EXISTS";
    default:
        return "a PKCS#11 error";
    }
}

static crypto_err token_fail(CK_RV rv, const char *what) {
    return p11_fail(CRYPTO_E_TOKEN, "%s: %s (0x%lx)", what, rv_name(rv), (unsigned long)rv);
}

/* PKCS#11 v2.40 section 5.4: C_GetFunctionList, then C_Initialize with CKF_OS_LOCKING_OK so
 * that the module may be used from several threads. */
static crypto_err module_get(p11_module **out, const char *path) {
    crypto_err err = CRYPTO_OK;
    p11_module *m = NULL;
    void *dl = NULL;
    *out = NULL;
    if (!path || !*path)
        path = getenv("ESEAL_PKCS11_MODULE");
    if (!path || !*path)
        path = CRYPTO_P11_DEFAULT_MODULE;
    if (strlen(path) >= PATH_MAX)
        return p11_fail(CRYPTO_E_LIMIT, "PKCS#11 module path longer than %d bytes", PATH_MAX);
    pthread_mutex_lock(&modules_lock);
    for (int i = 0; i < MAX_MODULES; i++) {
        if (modules[i].f && strcmp(modules[i].path, path) == 0) {
            modules[i].refs++;
            *out = &modules[i];
            goto out;
        }
    }
    for (int i = 0; i < MAX_MODULES && !m; i++)
        if (!modules[i].f)
            m = &modules[i];
    if (!m) {
        err = p11_fail(CRYPTO_E_LIMIT, "more than %d PKCS#11 modules", MAX_MODULES);
        goto out;
    }
    if (!(dl = dlopen(path, RTLD_NOW | RTLD_LOCAL))) {
        const char *e = dlerror();
        err = p11_fail(CRYPTO_E_TOKEN, "cannot load the PKCS#11 module %s: %s", path,
                       e ? e : "unknown error");
        goto out;
    }
    void *sym = dlsym(dl, "C_GetFunctionList");
    CK_C_GetFunctionList get = NULL;
    CK_FUNCTION_LIST *f = NULL;
    if (!sym) {
        err = p11_fail(CRYPTO_E_TOKEN, "%s is not a PKCS#11 module (no C_GetFunctionList)", path);
        goto out;
    }
    memcpy(&get, &sym, sizeof get);
    CK_RV rv = get(&f);
    if (rv != CKR_OK || !f) {
        err = token_fail(rv, "C_GetFunctionList");
        goto out;
    }
    CK_C_INITIALIZE_ARGS args;
    memset(&args, 0, sizeof args);
    args.flags = CKF_OS_LOCKING_OK;
    rv = f->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        err = token_fail(rv, "C_Initialize");
        goto out;
    }
    snprintf(m->path, sizeof m->path, "%s", path);
    m->dl = dl;
    m->f = f;
    m->refs = 1;
    m->ours = rv == CKR_OK;
    dl = NULL;
    *out = m;
out:
    if (dl)
        dlclose(dl);
    pthread_mutex_unlock(&modules_lock);
    return err;
}

/* C_Finalize and C_Initialize again, so that the module reads its tokens afresh; only when we
 * initialised it and nothing else holds it. */
static bool module_reload(p11_module *m) {
    bool ok = false;
    pthread_mutex_lock(&modules_lock);
    if (m->ours && m->refs == 1) {
        CK_C_INITIALIZE_ARGS args;
        memset(&args, 0, sizeof args);
        args.flags = CKF_OS_LOCKING_OK;
        m->f->C_Finalize(NULL);
        ok = m->f->C_Initialize(&args) == CKR_OK;
        if (!ok)
            m->ours = false; /* nothing to finalise */
    }
    pthread_mutex_unlock(&modules_lock);
    return ok;
}

/* The module stays mapped: modules register handlers (OpenSSL's among them) that outlive
 * C_Finalize, so only the PKCS#11 state is torn down. */
static void module_put(p11_module *m) {
    if (!m)
        return;
    pthread_mutex_lock(&modules_lock);
    if (--m->refs == 0) {
        if (m->ours)
            m->f->C_Finalize(NULL);
        m->f = NULL;
        m->path[0] = '\0';
    }
    pthread_mutex_unlock(&modules_lock);
}

/* ---- RFC 7512 URIs ---- */

bool crypto_p11_is_uri(const char *s) {
    return s && strncmp(s, "pkcs11:", 7) == 0;
}

void crypto_p11_uri_clear(crypto_p11_uri *u) {
    free(u->token);
    free(u->manufacturer);
    free(u->serial);
    free(u->model);
    free(u->object);
    free(u->module_path);
    free(u->pin_source);
    if (u->pin_value) {
        OPENSSL_cleanse(u->pin_value, strlen(u->pin_value));
        free(u->pin_value);
    }
    memset(u, 0, sizeof *u);
    u->slot_id = -1;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* RFC 7512 section 2.3: values are pct-encoded (RFC 3986 section 2.1) where they are not
 * pchar. Decodes [p, p+n) into out (room for max bytes); refuses a '%' not followed by two
 * hex digits, a space or control character, and more than max bytes. */
static crypto_err pct_decode(uint8_t *out, size_t *len, const char *p, size_t n, size_t max,
                             const char *name) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)p[i];
        if (c == '%') {
            int hi = i + 1 < n ? hexval(p[i + 1]) : -1, lo = i + 2 < n ? hexval(p[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return p11_fail(CRYPTO_E_ARG,
                                "PKCS#11 URI: '%s' has a '%%' not followed by two hex digits",
                                name);
            c = hi << 4 | lo;
            i += 2;
        } else if (c <= 0x20 || c >= 0x7f) {
            return p11_fail(CRYPTO_E_ARG,
                            "PKCS#11 URI: '%s' holds a space or control character (write "
                            "it %%-encoded)",
                            name);
        }
        if (o == max)
            return p11_fail(CRYPTO_E_LIMIT, "PKCS#11 URI: '%s' is longer than %zu bytes", name,
                            max);
        out[o++] = (uint8_t)c;
    }
    *len = o;
    return CRYPTO_OK;
}

/* A text value: decoded, at most max bytes, no NUL inside. */
static crypto_err text_attr(char **out, const char *p, size_t n, size_t max, const char *name) {
    uint8_t *b = malloc(max + 1);
    size_t len = 0;
    crypto_err err = b ? pct_decode(b, &len, p, n, max, name) : CRYPTO_E_NOMEM;
    if (err == CRYPTO_OK && memchr(b, 0, len))
        err = p11_fail(CRYPTO_E_ARG, "PKCS#11 URI: '%s' holds a NUL byte", name);
    if (err == CRYPTO_OK && *out)
        err = p11_fail(CRYPTO_E_ARG, "PKCS#11 URI: '%s' appears twice", name);
    if (err == CRYPTO_OK) {
        b[len] = '\0';
        *out = (char *)b;
        b = NULL;
    }
    free(b);
    return err;
}

static bool name_is(const char *p, size_t n, const char *name) {
    return strlen(name) == n && memcmp(p, name, n) == 0;
}

/* One "name=value" of the path (query false) or the query (query true). */
static crypto_err uri_attr(crypto_p11_uri *u, const char *p, size_t n, bool query) {
    const char *eq = memchr(p, '=', n);
    char name[40];
    if (!eq || eq == p)
        return p11_fail(CRYPTO_E_ARG, "PKCS#11 URI: '%.*s' is not name=value",
                        (int)(n > 60 ? 60 : n), p);
    size_t nl = (size_t)(eq - p), vl = n - nl - 1;
    const char *v = eq + 1;
    snprintf(name, sizeof name, "%.*s", (int)(nl < 39 ? nl : 39), p);
    if (!query) {
        /* RFC 7512 section 2.3, pk11-path-attr; sizes of the CK_TOKEN_INFO fields. */
        if (name_is(p, nl, "token"))
            return text_attr(&u->token, v, vl, 32, "token");
        if (name_is(p, nl, "manufacturer"))
            return text_attr(&u->manufacturer, v, vl, 32, "manufacturer");
        if (name_is(p, nl, "serial"))
            return text_attr(&u->serial, v, vl, 16, "serial");
        if (name_is(p, nl, "model"))
            return text_attr(&u->model, v, vl, 16, "model");
        if (name_is(p, nl, "object"))
            return text_attr(&u->object, v, vl, CRYPTO_P11_MAX_LABEL, "object");
        if (name_is(p, nl, "id")) {
            if (u->has_id)
                return p11_fail(CRYPTO_E_ARG, "PKCS#11 URI: 'id' appears twice");
            crypto_err e = pct_decode(u->id, &u->id_len, v, vl, CRYPTO_P11_MAX_ID, "id");
            if (e == CRYPTO_OK && u->id_len == 0)
                e = p11_fail(CRYPTO_E_ARG, "PKCS#11 URI: 'id' is empty");
            u->has_id = e == CRYPTO_OK;
            return e;
        }
        if (name_is(p, nl, "type")) {
            static const char *const types[] = {"private", "public", "cert", "secret-key", "data"};
            if (u->type != CRYPTO_P11_ANY)
                return p11_fail(CRYPTO_E_ARG, "PKCS#11 URI: 'type' appears twice");
            for (int i = 0; i < 5; i++)
                if (name_is(v, vl, types[i])) {
                    u->type = (crypto_p11_type)(i + 1);
                    return CRYPTO_OK;
                }
            return p11_fail(CRYPTO_E_ARG,
                            "PKCS#11 URI: type must be private, public, cert, secret-key or "
                            "data");
        }
        if (name_is(p, nl, "slot-id")) {
            char *end;
            char num[24];
            if (u->slot_id >= 0)
                return p11_fail(CRYPTO_E_ARG, "PKCS#11 URI: 'slot-id' appears twice");
            if (vl == 0 || vl >= sizeof num)
                return p11_fail(CRYPTO_E_ARG, "PKCS#11 URI: slot-id is not a number");
            memcpy(num, v, vl);
            num[vl] = '\0';
            errno = 0;
            long s = strtol(num, &end, 10);
            if (errno || *end || s < 0)
                return p11_fail(CRYPTO_E_ARG, "PKCS#11 URI: slot-id is not a number");
            u->slot_id = s;
            return CRYPTO_OK;
        }
        /* Attributes that narrow the library or slot: accepted, as they select nothing we
         * could get wrong by ignoring them with one module loaded. */
        if (name_is(p, nl, "library-manufacturer") || name_is(p, nl, "library-description") ||
            name_is(p, nl, "library-version") || name_is(p, nl, "slot-description") ||
            name_is(p, nl, "slot-manufacturer"))
            return CRYPTO_OK;
    } else {
        /* RFC 7512 section 2.3, pk11-query-attr. */
        if (name_is(p, nl, "module-path"))
            return text_attr(&u->module_path, v, vl, MAX_PATH_VALUE, "module-path");
        if (name_is(p, nl, "pin-source"))
            return text_attr(&u->pin_source, v, vl, MAX_PATH_VALUE, "pin-source");
        if (name_is(p, nl, "pin-value"))
            return text_attr(&u->pin_value, v, vl, MAX_PIN, "pin-value");
        if (name_is(p, nl, "module-name"))
            return p11_fail(CRYPTO_E_ARG,
                            "PKCS#11 URI: module-name is not supported; give module-path");
    }
    /* RFC 7512 section 2.3: vendor-specific attributes start with "x-". */
    if (nl > 2 && memcmp(p, "x-", 2) == 0)
        return CRYPTO_OK;
    return p11_fail(CRYPTO_E_ARG, "PKCS#11 URI: unknown attribute '%s'", name);
}

crypto_err crypto_p11_uri_parse(crypto_p11_uri *out, const char *uri) {
    crypto_err err = CRYPTO_OK;
    memset(out, 0, sizeof *out);
    out->slot_id = -1;
    if (!crypto_p11_is_uri(uri))
        return p11_fail(CRYPTO_E_ARG, "not a PKCS#11 URI (it must begin with pkcs11:)");
    size_t len = strlen(uri);
    if (len > CRYPTO_P11_MAX_URI)
        return p11_fail(CRYPTO_E_LIMIT, "PKCS#11 URI longer than %d bytes", CRYPTO_P11_MAX_URI);
    const char *p = uri + 7, *end = uri + len;
    const char *q = memchr(p, '?', (size_t)(end - p));
    const char *path_end = q ? q : end;
    /* pk11-path = [ pk11-pattr *(";" pk11-pattr) ] */
    while (err == CRYPTO_OK && p < path_end) {
        const char *semi = memchr(p, ';', (size_t)(path_end - p));
        const char *e = semi ? semi : path_end;
        if (e == p)
            err = p11_fail(CRYPTO_E_ARG, "PKCS#11 URI: an empty attribute (';;')");
        else
            err = uri_attr(out, p, (size_t)(e - p), false);
        p = semi ? e + 1 : e;
        if (semi && p == path_end && err == CRYPTO_OK)
            err = p11_fail(CRYPTO_E_ARG, "PKCS#11 URI: it ends with ';'");
    }
    /* pk11-query = [ pk11-qattr *("&" pk11-qattr) ] */
    if (q) {
        p = q + 1;
        while (err == CRYPTO_OK && p < end) {
            const char *amp = memchr(p, '&', (size_t)(end - p));
            const char *e = amp ? amp : end;
            if (e == p)
                err = p11_fail(CRYPTO_E_ARG, "PKCS#11 URI: an empty query attribute");
            else
                err = uri_attr(out, p, (size_t)(e - p), true);
            p = amp ? e + 1 : e;
        }
    }
    if (err != CRYPTO_OK)
        crypto_p11_uri_clear(out);
    return err;
}

/* ---- helpers ---- */

/* A blank-padded CK_TOKEN_INFO field as a C string. */
static void unpad(char *dst, size_t dstsz, const unsigned char *src, size_t n) {
    while (n > 0 && (src[n - 1] == ' ' || src[n - 1] == '\0'))
        n--;
    if (n >= dstsz)
        n = dstsz - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void pad(unsigned char *dst, size_t n, const char *src) {
    size_t l = strlen(src);
    memset(dst, ' ', n);
    memcpy(dst, src, l < n ? l : n);
}

typedef struct token_ref {
    CK_SLOT_ID slot;
    CK_TOKEN_INFO info;
    char label[33], serial[17], manufacturer[33], model[17];
} token_ref;

static void token_names(token_ref *t) {
    unpad(t->label, sizeof t->label, t->info.label, sizeof t->info.label);
    unpad(t->serial, sizeof t->serial, t->info.serialNumber, sizeof t->info.serialNumber);
    unpad(t->manufacturer, sizeof t->manufacturer, t->info.manufacturerID,
          sizeof t->info.manufacturerID);
    unpad(t->model, sizeof t->model, t->info.model, sizeof t->info.model);
}

static crypto_err slots(CK_SLOT_ID *list, CK_ULONG *n, p11_module *m) {
    CK_ULONG got = 0;
    CK_RV rv = m->f->C_GetSlotList(CK_TRUE, NULL, &got);
    if (rv != CKR_OK)
        return token_fail(rv, "C_GetSlotList");
    if (got > MAX_SLOTS)
        return p11_fail(CRYPTO_E_LIMIT, "the module has more than %d slots", MAX_SLOTS);
    if (got == 0) {
        *n = 0;
        return CRYPTO_OK;
    }
    rv = m->f->C_GetSlotList(CK_TRUE, list, &got);
    if (rv != CKR_OK)
        return token_fail(rv, "C_GetSlotList");
    *n = got;
    return CRYPTO_OK;
}

static bool token_matches(const token_ref *t, const crypto_p11_uri *u) {
    return (!u->token || strcmp(u->token, t->label) == 0) &&
           (!u->serial || strcmp(u->serial, t->serial) == 0) &&
           (!u->manufacturer || strcmp(u->manufacturer, t->manufacturer) == 0) &&
           (!u->model || strcmp(u->model, t->model) == 0) &&
           (u->slot_id < 0 || (CK_SLOT_ID)u->slot_id == t->slot);
}

/* The one initialised token the URI's token attributes name. */
static crypto_err find_token(token_ref *out, p11_module *m, const crypto_p11_uri *u, bool *none) {
    CK_SLOT_ID list[MAX_SLOTS];
    CK_ULONG n = 0;
    int found = 0;
    crypto_err err = slots(list, &n, m);
    for (CK_ULONG i = 0; err == CRYPTO_OK && i < n; i++) {
        token_ref t = {.slot = list[i]};
        if (m->f->C_GetTokenInfo(list[i], &t.info) != CKR_OK ||
            !(t.info.flags & CKF_TOKEN_INITIALIZED))
            continue;
        token_names(&t);
        if (!token_matches(&t, u))
            continue;
        if (found++ == 0)
            *out = t;
    }
    if (err != CRYPTO_OK)
        return err;
    *none = found == 0;
    if (found == 0)
        return p11_fail(CRYPTO_E_KEY, "no PKCS#11 token matches%s%s%s (module %s)",
                        u->token ? " token '" : "", u->token ? u->token : "", u->token ? "'" : "",
                        m->path);
    if (found > 1)
        return p11_fail(CRYPTO_E_KEY,
                        "%d PKCS#11 tokens match; name one with token= or serial=", found);
    return CRYPTO_OK;
}

/* The PIN of a URI: pin-value, else the first line of pin-source (a file: URI or a path). */
static crypto_err uri_pin(char **out, const crypto_p11_uri *u) {
    *out = NULL;
    if (u->pin_value) {
        if (!(*out = strdup(u->pin_value)))
            return CRYPTO_E_NOMEM;
        return CRYPTO_OK;
    }
    if (u->pin_source) {
        const char *path = u->pin_source;
        if (strncmp(path, "file:", 5) == 0)
            path += 5;
        if (strncmp(path, "//", 2) == 0)
            path += 2; /* file:///path */
        if (*path != '/')
            return p11_fail(CRYPTO_E_ARG,
                            "PKCS#11 URI: pin-source must be a file: URI or an absolute path");
        return crypto_read_password(out, path);
    }
    return CRYPTO_OK;
}

static crypto_err pin_copy(CK_UTF8CHAR *dst, CK_ULONG *len, const char *pin) {
    size_t n = strlen(pin);
    if (n > MAX_PIN)
        return p11_fail(CRYPTO_E_LIMIT, "a PIN longer than %d bytes", MAX_PIN);
    memcpy(dst, pin, n);
    *len = (CK_ULONG)n;
    return CRYPTO_OK;
}

/* ---- the count of wrong PINs ---- */

static crypto_err state_dir(char *out, size_t n) {
    const char *d = getenv("ESEAL_KEYSTATE_DIR");
    int w;
    if (d && *d) {
        w = snprintf(out, n, "%s", d);
    } else if ((d = getenv("XDG_STATE_HOME")) && *d) {
        w = snprintf(out, n, "%s/eseal", d);
    } else if ((d = getenv("HOME")) && *d) {
        w = snprintf(out, n, "%s/.local/state/eseal", d);
    } else {
        return p11_fail(CRYPTO_E_IO,
                        "no directory for the PIN counts: set ESEAL_KEYSTATE_DIR or HOME");
    }
    if (w < 0 || (size_t)w >= n)
        return p11_fail(CRYPTO_E_LIMIT, "the key state directory's path is too long");
    /* mkdir -p, private to the user */
    for (char *p = out + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(out, 0700) != 0 && errno != EEXIST) {
                int e = errno;
                *p = c;
                return p11_fail(CRYPTO_E_IO, "cannot create %s: %s", out, strerror(e));
            }
            *p = c;
            if (!c)
                break;
        }
    }
    /* the counts are only as safe as their directory: ours, and writable by nobody else */
    struct stat st;
    if (lstat(out, &st) != 0 || !S_ISDIR(st.st_mode))
        return p11_fail(CRYPTO_E_IO, "the key state directory %s is not a directory", out);
    if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
        return p11_fail(CRYPTO_E_IO,
                        "the key state directory %s must belong to this user and be writable by "
                        "nobody else (mode 0700)",
                        out);
    return CRYPTO_OK;
}

/* The state file of a token: named by the hexadecimal of its serial number and of its label
 * (serial 16 and label 32 bytes at most, PKCS#11 v2.40 CK_TOKEN_INFO), so that no two tokens
 * share a count. Not by module path: the same token through another path to its module keeps
 * its count. */
static crypto_err state_path(char *out, size_t n, const token_ref *t, const char *suffix) {
    static const char hex[] = "0123456789abcdef";
    char dir[PATH_MAX], name[2 * (sizeof t->serial + sizeof t->label) + 2];
    size_t k = 0;
    crypto_err err = state_dir(dir, sizeof dir);
    if (err != CRYPTO_OK)
        return err;
    for (const char *p = t->serial; *p && k + 2 < sizeof name; p++) {
        name[k++] = hex[(unsigned char)*p >> 4];
        name[k++] = hex[(unsigned char)*p & 15];
    }
    name[k++] = '-';
    for (const char *p = t->label; *p && k + 2 < sizeof name; p++) {
        name[k++] = hex[(unsigned char)*p >> 4];
        name[k++] = hex[(unsigned char)*p & 15];
    }
    name[k] = '\0';
    int w = snprintf(out, n, "%s/token-%s%s", dir, name, suffix);
    if (w < 0 || (size_t)w >= n)
        return p11_fail(CRYPTO_E_LIMIT, "the key state path is too long");
    return CRYPTO_OK;
}

typedef struct pin_guard {
    int lockfd;
    char path[PATH_MAX];
    int failures;
} pin_guard;

static int read_failures(const char *path) {
    uint8_t *d = NULL;
    size_t len = 0;
    int v = 0;
    int e = file_read_all(&d, &len, path, 256);
    if (e == ENOENT)
        return 0; /* no file yet: no failures */
    if (e)
        return CRYPTO_P11_MAX_TRIES; /* unreadable, too large, a directory: fail closed */
    char s[257];
    memcpy(s, d, len);
    s[len] = '\0';
    free(d);
    if (sscanf(s, "failures %d", &v) != 1 || v < 0)
        v = CRYPTO_P11_MAX_TRIES; /* a damaged count counts as locked: fail closed */
    return v > 1000 ? 1000 : v;
}

static crypto_err write_failures(const char *path, int failures) {
    char s[64];
    int n = snprintf(s, sizeof s, "failures %d\n", failures);
    struct iovec v = {s, (size_t)n};
    int e = file_write_atomic(path, &v, 1, 0600);
    if (e)
        return p11_fail(CRYPTO_E_IO, "cannot record the PIN count in %s: %s", path, strerror(e));
    return CRYPTO_OK;
}

/* Takes the token's lock (a file beside the count: the count itself is replaced by rename, so
 * it cannot carry the lock) and reads the count. Held across the whole attempt, so parallel
 * attempts go one at a time and cannot exceed the limit between them. */
static crypto_err guard_begin(pin_guard *g, const token_ref *t) {
    char lock[PATH_MAX];
    g->lockfd = -1;
    crypto_err err = state_path(g->path, sizeof g->path, t, "");
    if (err == CRYPTO_OK)
        err = state_path(lock, sizeof lock, t, ".lock");
    if (err != CRYPTO_OK)
        return err;
    g->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (g->lockfd < 0)
        return p11_fail(CRYPTO_E_IO, "cannot open %s: %s", lock, strerror(errno));
    while (flock(g->lockfd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            int e = errno;
            close(g->lockfd);
            g->lockfd = -1;
            return p11_fail(CRYPTO_E_IO, "cannot lock %s: %s", lock, strerror(e));
        }
    }
    g->failures = read_failures(g->path);
    return CRYPTO_OK;
}

static void guard_end(pin_guard *g) {
    if (g->lockfd >= 0)
        close(g->lockfd); /* releases the flock */
    g->lockfd = -1;
}

static crypto_err locked_error(const token_ref *t) {
    return p11_fail(CRYPTO_E_LOCKED,
                    "token '%s': key locked after %d wrong PINs; an administrator must "
                    "unlock it",
                    t->label, CRYPTO_P11_MAX_TRIES);
}

/* PKCS#11 v2.40 5.6: a login holds for every session of the application with the token, so
 * once a key of a token is open a further C_Login answers CKR_USER_ALREADY_LOGGED_IN without
 * looking at the PIN. The PIN that did log in is remembered here as a salted SHA-256 (in this
 * process's memory only), and a later PIN for the same token is checked against it. */
#define MAX_LOGINS 64
typedef struct login_rec {
    bool used;
    CK_FUNCTION_LIST *f; /* the module */
    char serial[17], label[33];
    uint8_t salt[16], hash[32];
} login_rec;
static login_rec logins[MAX_LOGINS];
static pthread_mutex_t logins_lock = PTHREAD_MUTEX_INITIALIZER;

static bool pin_hash(uint8_t out[32], const uint8_t salt[16], const CK_UTF8CHAR *pin,
                     CK_ULONG len) {
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned n = 0;
    bool ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) && EVP_DigestUpdate(c, salt, 16) &&
              EVP_DigestUpdate(c, pin, len) && EVP_DigestFinal_ex(c, out, &n) && n == 32;
    EVP_MD_CTX_free(c);
    return ok;
}

static login_rec *login_find(const p11_module *m, const token_ref *t) {
    for (int i = 0; i < MAX_LOGINS; i++)
        if (logins[i].used && logins[i].f == m->f && strcmp(logins[i].serial, t->serial) == 0 &&
            strcmp(logins[i].label, t->label) == 0)
            return &logins[i];
    return NULL;
}

static void login_remember(const p11_module *m, const token_ref *t, const CK_UTF8CHAR *pin,
                           CK_ULONG len) {
    pthread_mutex_lock(&logins_lock);
    login_rec *r = login_find(m, t);
    for (int i = 0; !r && i < MAX_LOGINS; i++)
        if (!logins[i].used)
            r = &logins[i];
    if (r) {
        memset(r, 0, sizeof *r);
        r->f = m->f;
        snprintf(r->serial, sizeof r->serial, "%s", t->serial);
        snprintf(r->label, sizeof r->label, "%s", t->label);
        r->used = RAND_bytes(r->salt, sizeof r->salt) == 1 && pin_hash(r->hash, r->salt, pin, len);
    }
    pthread_mutex_unlock(&logins_lock);
}

/* 1: the PIN is the one that logged in; 0: it is not; -1: nobody here logged in with one. */
static int login_check(const p11_module *m, const token_ref *t, const CK_UTF8CHAR *pin,
                       CK_ULONG len) {
    uint8_t h[32];
    int res = -1;
    pthread_mutex_lock(&logins_lock);
    login_rec *r = login_find(m, t);
    if (r)
        res = pin_hash(h, r->salt, pin, len) && CRYPTO_memcmp(h, r->hash, sizeof h) == 0;
    pthread_mutex_unlock(&logins_lock);
    return res;
}

/* Records what the token said of the PIN and turns it into our error. */
static crypto_err guard_result(pin_guard *g, const token_ref *t, CK_RV rv, const char *what) {
    crypto_err err = CRYPTO_OK;
    if (rv == CKR_OK) {
        if (g->failures != 0)
            err = write_failures(g->path, 0);
        g->failures = 0;
        return err;
    }
    if (rv == CKR_PIN_LOCKED)
        return locked_error(t);
    if (rv != CKR_PIN_INCORRECT)
        return token_fail(rv, what);
    g->failures++;
    if ((err = write_failures(g->path, g->failures)) != CRYPTO_OK)
        return err;
    int left = CRYPTO_P11_MAX_TRIES - g->failures;
    if (left <= 0)
        return p11_fail(CRYPTO_E_LOCKED,
                        "wrong PIN for token '%s'; key locked after %d wrong PINs; an "
                        "administrator must unlock it",
                        t->label, CRYPTO_P11_MAX_TRIES);
    return p11_fail(CRYPTO_E_PASSWORD, "wrong PIN for token '%s': %d attempt%s left", t->label,
                    left, left == 1 ? "" : "s");
}

/* PKCS#11 v2.40 section 5.6, C_Login as the user, with the count in front: a locked key is
 * refused without calling C_Login. */
static crypto_err user_login(p11_module *m, CK_SESSION_HANDLE s, token_ref *t, const char *pin) {
    pin_guard g;
    CK_UTF8CHAR pb[MAX_PIN];
    CK_ULONG len = 0;
    if (!pin)
        return p11_fail(CRYPTO_E_PASSWORD, "token '%s' needs its PIN", t->label);
    crypto_err err = pin_copy(pb, &len, pin);
    if (err != CRYPTO_OK)
        return err;
    if ((err = guard_begin(&g, t)) != CRYPTO_OK)
        goto out;
    /* The token's own view, fresh under the lock. */
    if (m->f->C_GetTokenInfo(t->slot, &t->info) == CKR_OK && (t->info.flags & CKF_USER_PIN_LOCKED))
        err = locked_error(t);
    else if (g.failures >= CRYPTO_P11_MAX_TRIES)
        err = locked_error(t);
    /* the count must be recordable before the token is asked, or wrong PINs go uncounted */
    else
        err = write_failures(g.path, g.failures);
    if (err == CRYPTO_OK) {
        CK_RV rv = m->f->C_Login(s, CKU_USER, pb, len);
        if (rv == CKR_USER_ALREADY_LOGGED_IN) {
            /* the token did not look at this PIN: the one that logged in decides */
            int same = login_check(m, t, pb, len);
            if (same < 0)
                err = p11_fail(CRYPTO_E_TOKEN,
                               "token '%s' is already logged in by this process without a PIN "
                               "eseal can check",
                               t->label);
            else
                rv = same ? CKR_OK : CKR_PIN_INCORRECT;
        } else if (rv == CKR_OK) {
            login_remember(m, t, pb, len);
        }
        if (err == CRYPTO_OK)
            err = guard_result(&g, t, rv, "C_Login");
    }
    guard_end(&g);
out:
    OPENSSL_cleanse(pb, sizeof pb);
    return err;
}

/* ---- objects ---- */

static crypto_err find_objects(CK_OBJECT_HANDLE *objs, CK_ULONG *n, p11_module *m,
                               CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG nt) {
    CK_RV rv = m->f->C_FindObjectsInit(s, tmpl, nt);
    CK_ULONG got = 0;
    if (rv != CKR_OK)
        return token_fail(rv, "C_FindObjectsInit");
    rv = m->f->C_FindObjects(s, objs, MAX_OBJECTS, &got);
    m->f->C_FindObjectsFinal(s);
    if (rv != CKR_OK)
        return token_fail(rv, "C_FindObjects");
    *n = got;
    return CRYPTO_OK;
}

/* One attribute's value in a new buffer (at most MAX_ATTR bytes); NULL with *len 0 when the
 * object has none or keeps it secret. */
static uint8_t *get_attr(size_t *len, p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                         CK_ATTRIBUTE_TYPE type) {
    CK_ATTRIBUTE a = {type, NULL, 0};
    uint8_t *v = NULL;
    *len = 0;
    if (m->f->C_GetAttributeValue(s, o, &a, 1) != CKR_OK ||
        a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen == 0 || a.ulValueLen > MAX_ATTR)
        return NULL;
    if (!(v = malloc(a.ulValueLen + 1)))
        return NULL;
    a.pValue = v;
    if (m->f->C_GetAttributeValue(s, o, &a, 1) != CKR_OK) {
        free(v);
        return NULL;
    }
    v[a.ulValueLen] = 0;
    *len = a.ulValueLen;
    return v;
}

static bool get_ulong(CK_ULONG *out, p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                      CK_ATTRIBUTE_TYPE type) {
    CK_ATTRIBUTE a = {type, out, sizeof *out};
    return m->f->C_GetAttributeValue(s, o, &a, 1) == CKR_OK;
}

static bool get_bool(p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                     CK_ATTRIBUTE_TYPE type) {
    CK_BBOOL b = CK_FALSE;
    CK_ATTRIBUTE a = {type, &b, sizeof b};
    return m->f->C_GetAttributeValue(s, o, &a, 1) == CKR_OK && b == CK_TRUE;
}

/* The public key from RSA (CKA_MODULUS, CKA_PUBLIC_EXPONENT) or EC (CKA_EC_PARAMS, CKA_EC_POINT)
 * attributes of a public key object (PKCS#11 v2.40 current mechanisms 2.1.2 and 2.3.3). */
static EVP_PKEY *public_of(p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_KEY_TYPE kt) {
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    BIGNUM *n = NULL, *e = NULL;
    ASN1_OBJECT *curve = NULL;
    ASN1_OCTET_STRING *os = NULL;
    size_t l1 = 0, l2 = 0;
    uint8_t *a1 = NULL, *a2 = NULL;
    if (!bld)
        goto out;
    if (kt == CKK_RSA) {
        a1 = get_attr(&l1, m, s, o, CKA_MODULUS);
        a2 = get_attr(&l2, m, s, o, CKA_PUBLIC_EXPONENT);
        if (!a1 || !a2 || !(n = BN_bin2bn(a1, (int)l1, NULL)) ||
            !(e = BN_bin2bn(a2, (int)l2, NULL)) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
            goto out;
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    } else if (kt == CKK_EC) {
        a1 = get_attr(&l1, m, s, o, CKA_EC_PARAMS);
        a2 = get_attr(&l2, m, s, o, CKA_EC_POINT);
        const unsigned char *p = a1;
        if (!a1 || !a2 || !(curve = d2i_ASN1_OBJECT(NULL, &p, (long)l1)))
            goto out;
        const char *group = OBJ_nid2sn(OBJ_obj2nid(curve));
        /* CKA_EC_POINT is DER of an OCTET STRING (X9.62 ECPoint); some modules give it raw. */
        const uint8_t *pt = a2;
        size_t ptl = l2;
        p = a2;
        if ((os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)l2)) != NULL && p == a2 + l2) {
            pt = ASN1_STRING_get0_data(os);
            ptl = (size_t)ASN1_STRING_length(os);
        }
        if (!group || OBJ_obj2nid(curve) == NID_undef ||
            !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
            !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, ptl))
            goto out;
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    }
    if (!ctx || !(params = OSSL_PARAM_BLD_to_param(bld)) || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
out:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    BN_free(n);
    BN_free(e);
    ASN1_OBJECT_free(curve);
    ASN1_OCTET_STRING_free(os);
    free(a1);
    free(a2);
    ERR_clear_error();
    return pkey;
}

/* An EC key whose CKA_EC_PARAMS name the SM2 curve {1 2 156 10197 1 301} (GB/T 32918.5).
 * PKCS#11 v2.40 defines CKM_ECDSA only: SM2's signature (Z with the signer's ID, GB/T
 * 32918.2 6.1) has no standard mechanism. */
static bool ec_on_sm2(p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o) {
    static const uint8_t sm2[] = {0x06, 0x08, 0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x82, 0x2D};
    size_t len = 0;
    uint8_t *params = get_attr(&len, m, s, o, CKA_EC_PARAMS);
    bool yes = params && len == sizeof sm2 && memcmp(params, sm2, len) == 0;
    free(params);
    return yes;
}

/* Objects of a class with the URI's object label and id (either may be absent). */
static crypto_err find_by_uri(CK_OBJECT_HANDLE *objs, CK_ULONG *n, p11_module *m,
                              CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *label,
                              const uint8_t *id, size_t id_len) {
    CK_ATTRIBUTE t[3];
    CK_ULONG nt = 0;
    t[nt++] = (CK_ATTRIBUTE){CKA_CLASS, &cls, sizeof cls};
    if (label)
        t[nt++] = (CK_ATTRIBUTE){CKA_LABEL, (void *)(uintptr_t)label, strlen(label)};
    if (id && id_len)
        t[nt++] = (CK_ATTRIBUTE){CKA_ID, (void *)(uintptr_t)id, id_len};
    return find_objects(objs, n, m, s, t, nt);
}

static X509 *cert_by_id(p11_module *m, CK_SESSION_HANDLE s, const uint8_t *id, size_t id_len) {
    CK_OBJECT_HANDLE objs[MAX_OBJECTS];
    CK_ULONG n = 0;
    X509 *cert = NULL;
    if (!id_len || find_by_uri(objs, &n, m, s, CKO_CERTIFICATE, NULL, id, id_len) != CRYPTO_OK)
        return NULL;
    for (CK_ULONG i = 0; i < n && !cert; i++) {
        size_t len = 0;
        uint8_t *der = get_attr(&len, m, s, objs[i], CKA_VALUE);
        const unsigned char *p = der;
        if (der)
            cert = d2i_X509(NULL, &p, (long)len);
        free(der);
    }
    ERR_clear_error();
    return cert;
}

/* ---- keys that sign in a token ---- */

struct crypto_p11_key {
    p11_module *m;
    CK_SESSION_HANDLE session;
    bool open;
    CK_OBJECT_HANDLE obj;
    CK_KEY_TYPE kt;
    size_t sig_size; /* RSA: modulus bytes; EC: 2 x order bytes */
    pthread_mutex_t lock;
};

/* Opens a session on the token the URI names. */
static crypto_err open_session(p11_module **mout, CK_SESSION_HANDLE *s, token_ref *t,
                               const crypto_p11_uri *u, const char *module, bool rw) {
    p11_module *m = NULL;
    crypto_err err = module_get(&m, u->module_path ? u->module_path : module);
    /* SoftHSM2 reads its tokens in C_Initialize and rewrites a token's file on a wrong PIN; a
     * process that starts meanwhile does not see the token. When no token matches and no one
     * else uses the module, it is initialised again, a few times. */
    for (int attempt = 0; err == CRYPTO_OK; attempt++) {
        bool none = false;
        err = find_token(t, m, u, &none);
        if (err == CRYPTO_OK || !none || attempt == 9 || !module_reload(m))
            break;
        err = CRYPTO_OK;
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    if (err == CRYPTO_OK) {
        CK_RV rv = m->f->C_OpenSession(t->slot, CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0),
                                       NULL, NULL, s);
        if (rv != CKR_OK)
            err = token_fail(rv, "C_OpenSession");
    }
    if (err != CRYPTO_OK) {
        module_put(m);
        m = NULL;
    }
    *mout = m;
    return err;
}

static void close_session(p11_module *m, CK_SESSION_HANDLE s) {
    if (m) {
        m->f->C_CloseSession(s);
        module_put(m);
    }
}

/* The one private key the URI's object and id name. */
static crypto_err find_private(CK_OBJECT_HANDLE *out, p11_module *m, CK_SESSION_HANDLE s,
                               const crypto_p11_uri *u, const token_ref *t) {
    CK_OBJECT_HANDLE objs[MAX_OBJECTS];
    CK_ULONG n = 0;
    if (u->type != CRYPTO_P11_ANY && u->type != CRYPTO_P11_PRIVATE)
        return p11_fail(CRYPTO_E_ARG, "PKCS#11 URI: a signing key needs type=private");
    crypto_err err = find_by_uri(objs, &n, m, s, CKO_PRIVATE_KEY, u->object,
                                 u->has_id ? u->id : NULL, u->id_len);
    if (err != CRYPTO_OK)
        return err;
    if (n == 0)
        return p11_fail(CRYPTO_E_KEY, "token '%s' holds no private key%s%s%s", t->label,
                        u->object ? " labelled '" : "", u->object ? u->object : "",
                        u->object ? "'" : (u->has_id ? " with that id" : ""));
    if (n > 1)
        return p11_fail(CRYPTO_E_KEY,
                        "token '%s' holds %lu private keys that match; name one with object= "
                        "or id=",
                        t->label, (unsigned long)n);
    *out = objs[0];
    return CRYPTO_OK;
}

/* The public key of a private key object: its public key object (same CKA_ID), else its own
 * RSA attributes, else the certificate's. */
static EVP_PKEY *public_for(p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv,
                            CK_KEY_TYPE kt, const uint8_t *id, size_t id_len, X509 *cert) {
    EVP_PKEY *pub = NULL;
    CK_OBJECT_HANDLE objs[MAX_OBJECTS];
    CK_ULONG n = 0;
    if (id_len && find_by_uri(objs, &n, m, s, CKO_PUBLIC_KEY, NULL, id, id_len) == CRYPTO_OK)
        for (CK_ULONG i = 0; i < n && !pub; i++)
            pub = public_of(m, s, objs[i], kt);
    if (!pub && kt == CKK_RSA)
        pub = public_of(m, s, priv, kt);
    if (!pub && cert && (pub = X509_get0_pubkey(cert)) != NULL)
        EVP_PKEY_up_ref(pub);
    return pub;
}

static crypto_err prove_pair(crypto_p11_key *k, EVP_PKEY *pk, const token_ref *t) {
    uint8_t dgst[32], sig[1024];
    size_t sig_len = sizeof sig;
    const EVP_MD *md = EVP_sha256();
    EVP_PKEY_CTX *ctx = NULL;
    bool ok = false;
    if (k->sig_size > sizeof sig || RAND_bytes(dgst, sizeof dgst) != 1)
        return p11_fail(CRYPTO_E_KEY, "token '%s': cannot check the key pair", t->label);
    crypto_err err = crypto_p11_key_sign(sig, &sig_len, k, md, CRYPTO_PAD_PKCS1, dgst, sizeof dgst);
    if (err != CRYPTO_OK)
        return err;
    ok = (ctx = EVP_PKEY_CTX_new(pk, NULL)) != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
         (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA ||
          EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1) &&
         EVP_PKEY_CTX_set_signature_md(ctx, md) == 1 &&
         EVP_PKEY_verify(ctx, sig, sig_len, dgst, sizeof dgst) == 1;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    if (!ok)
        return p11_fail(CRYPTO_E_KEY,
                        "token '%s': the public key found for the key does not belong to it",
                        t->label);
    return CRYPTO_OK;
}

crypto_err crypto_p11_key_open(crypto_p11_key **out, EVP_PKEY **pub, X509 **cert, const char *uri,
                               const char *pin) {
    crypto_p11_uri u;
    crypto_p11_key *k = NULL;
    token_ref t;
    char *upin = NULL;
    uint8_t *id = NULL;
    size_t id_len = 0;
    X509 *c = NULL;
    EVP_PKEY *pk = NULL;
    *out = NULL;
    *pub = NULL;
    if (cert)
        *cert = NULL;
    crypto_err err = crypto_p11_uri_parse(&u, uri);
    if (err != CRYPTO_OK)
        return err;
    if (!pin && (err = uri_pin(&upin, &u)) != CRYPTO_OK)
        goto out;
    if (!(k = calloc(1, sizeof *k))) {
        err = CRYPTO_E_NOMEM;
        goto out;
    }
    pthread_mutex_init(&k->lock, NULL);
    if ((err = open_session(&k->m, &k->session, &t, &u, NULL, false)) != CRYPTO_OK)
        goto out;
    k->open = true;
    if ((err = user_login(k->m, k->session, &t, pin ? pin : upin)) != CRYPTO_OK)
        goto out;
    if ((err = find_private(&k->obj, k->m, k->session, &u, &t)) != CRYPTO_OK)
        goto out;
    if (!get_ulong(&k->kt, k->m, k->session, k->obj, CKA_KEY_TYPE) ||
        (k->kt != CKK_RSA && k->kt != CKK_EC)) {
        err = p11_fail(CRYPTO_E_ALGORITHM, "token '%s': the key is neither RSA nor EC", t.label);
        goto out;
    }
    if (k->kt == CKK_EC && ec_on_sm2(k->m, k->session, k->obj)) {
        err = p11_fail(CRYPTO_E_ALGORITHM,
                       "token '%s': the key is on the SM2 curve, and PKCS#11 has no standard SM2 "
                       "mechanism: the token would sign plain ECDSA, not SM2 with its ID (GB/T "
                       "32918.2); use an SM2 key file",
                       t.label);
        goto out;
    }
    if (!get_bool(k->m, k->session, k->obj, CKA_SIGN)) {
        err =
            p11_fail(CRYPTO_E_USAGE, "token '%s': the key may not sign (CKA_SIGN false)", t.label);
        goto out;
    }
    id = get_attr(&id_len, k->m, k->session, k->obj, CKA_ID);
    c = cert_by_id(k->m, k->session, id, id_len);
    if (!(pk = public_for(k->m, k->session, k->obj, k->kt, id, id_len, c))) {
        err = p11_fail(CRYPTO_E_KEY, "token '%s': no public key object nor certificate for the key",
                       t.label);
        goto out;
    }
    if (c && EVP_PKEY_eq(pk, X509_get0_pubkey(c)) != 1) {
        X509_free(c); /* a certificate of another key under the same id: not ours */
        c = NULL;
    }
    if (k->kt == CKK_RSA)
        k->sig_size = (size_t)EVP_PKEY_get_size(pk);
    else
        k->sig_size = 2 * (((size_t)EVP_PKEY_get_bits(pk) + 7) / 8);
    /* The public half comes from another object (or a certificate) found by CKA_ID, which
     * anyone who may create public objects in the token could plant: one signature made in
     * the token and checked with it proves they belong together. */
    if ((err = prove_pair(k, pk, &t)) != CRYPTO_OK)
        goto out;
    *out = k;
    k = NULL;
    *pub = pk;
    pk = NULL;
    if (cert) {
        *cert = c;
        c = NULL;
    }
out:
    crypto_p11_key_close(k);
    EVP_PKEY_free(pk);
    X509_free(c);
    free(id);
    if (upin) {
        OPENSSL_cleanse(upin, strlen(upin));
        free(upin);
    }
    crypto_p11_uri_clear(&u);
    ERR_clear_error();
    return err;
}

void crypto_p11_key_close(crypto_p11_key *k) {
    if (!k)
        return;
    if (k->open)
        close_session(k->m, k->session);
    pthread_mutex_destroy(&k->lock);
    free(k);
}

/* RFC 8017 section 9.2 step 2: the DER prefix of DigestInfo for each digest. */
static const uint8_t *digest_info_prefix(size_t *len, int nid) {
    static const uint8_t sha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                     0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    static const uint8_t sha384[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                     0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
    static const uint8_t sha512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                     0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};
    *len = sizeof sha256;
    switch (nid) {
    case NID_sha256:
        return sha256;
    case NID_sha384:
        return sha384;
    case NID_sha512:
        return sha512;
    default:
        return NULL;
    }
}

crypto_err crypto_p11_key_sign(uint8_t *sig, size_t *sig_len, crypto_p11_key *k, const EVP_MD *md,
                               crypto_padding padding, const uint8_t *dgst, size_t dgst_len) {
    uint8_t in[32 + EVP_MAX_MD_SIZE], raw[1024];
    CK_ULONG in_len = 0, raw_len = sizeof raw;
    CK_RSA_PKCS_PSS_PARAMS pss;
    CK_MECHANISM mech = {0, NULL, 0};
    crypto_err err = CRYPTO_OK;
    ECDSA_SIG *es = NULL;
    int nid = EVP_MD_get_type(md);
    if (dgst_len != (size_t)EVP_MD_get_size(md) || dgst_len > EVP_MAX_MD_SIZE)
        return p11_fail(CRYPTO_E_ARG, "the digest's length is not its algorithm's");
    if (k->sig_size > sizeof raw || (k->kt == CKK_RSA && *sig_len < k->sig_size))
        return p11_fail(CRYPTO_E_LIMIT, "signature buffer too small");
    if (k->kt == CKK_EC) {
        /* PKCS#11 v2.40 current mechanisms 2.3.6: CKM_ECDSA signs the digest as given. */
        mech.mechanism = CKM_ECDSA;
        memcpy(in, dgst, dgst_len);
        in_len = dgst_len;
    } else if (padding == CRYPTO_PAD_PSS) {
        /* Current mechanisms 2.1.10: CKM_RSA_PKCS_PSS over the digest, with the hash, MGF1 of
         * the same hash and a salt as long as the digest (RFC 4055, as key.c signs). */
        pss.sLen = dgst_len;
        switch (nid) {
        case NID_sha256:
            pss.hashAlg = CKM_SHA256;
            pss.mgf = CKG_MGF1_SHA256;
            break;
        case NID_sha384:
            pss.hashAlg = CKM_SHA384;
            pss.mgf = CKG_MGF1_SHA384;
            break;
        case NID_sha512:
            pss.hashAlg = CKM_SHA512;
            pss.mgf = CKG_MGF1_SHA512;
            break;
        default:
            return p11_fail(CRYPTO_E_ALGORITHM, "RSA-PSS in a token: SHA-2 digests only");
        }
        mech.mechanism = CKM_RSA_PKCS_PSS;
        mech.pParameter = &pss;
        mech.ulParameterLen = sizeof pss;
        memcpy(in, dgst, dgst_len);
        in_len = dgst_len;
    } else {
        /* Current mechanisms 2.1.6: CKM_RSA_PKCS pads what it is given; we give DigestInfo
         * (RFC 8017 section 9.2, EMSA-PKCS1-v1_5). */
        size_t pl = 0;
        const uint8_t *prefix = digest_info_prefix(&pl, nid);
        if (!prefix)
            return p11_fail(CRYPTO_E_ALGORITHM, "RSA in a token: SHA-2 digests only");
        mech.mechanism = CKM_RSA_PKCS;
        memcpy(in, prefix, pl);
        memcpy(in + pl, dgst, dgst_len);
        in_len = pl + dgst_len;
    }
    pthread_mutex_lock(&k->lock);
    CK_RV rv = k->m->f->C_SignInit(k->session, &mech, k->obj);
    if (rv == CKR_OK)
        rv = k->m->f->C_Sign(k->session, in, in_len, raw, &raw_len);
    pthread_mutex_unlock(&k->lock);
    ERR_clear_error();
    if (rv != CKR_OK)
        return token_fail(rv, "signing in the token");
    if (k->kt != CKK_EC) {
        if (raw_len > *sig_len || raw_len > sizeof raw)
            return p11_fail(CRYPTO_E_SIGN, "the token's signature is longer than its key's");
        memcpy(sig, raw, raw_len);
        *sig_len = raw_len;
        return CRYPTO_OK;
    }
    /* ECDSA: the token gives r || s (current mechanisms 2.3.1); CMS wants the DER
     * ECDSA-Sig-Value of RFC 3279 section 2.2.3. */
    BIGNUM *r = NULL, *s = NULL;
    unsigned char *der = NULL;
    int dl;
    size_t half = raw_len / 2;
    if (raw_len % 2 || !(es = ECDSA_SIG_new()) || !(r = BN_bin2bn(raw, (int)half, NULL)) ||
        !(s = BN_bin2bn(raw + half, (int)half, NULL)) || !ECDSA_SIG_set0(es, r, s)) {
        BN_free(r);
        BN_free(s);
        err = p11_fail(CRYPTO_E_SIGN, "the token's ECDSA signature is malformed");
        goto out;
    }
    if ((dl = i2d_ECDSA_SIG(es, &der)) <= 0 || (size_t)dl > *sig_len) {
        err = p11_fail(CRYPTO_E_SIGN, "cannot encode the ECDSA signature");
    } else {
        memcpy(sig, der, (size_t)dl);
        *sig_len = (size_t)dl;
    }
    OPENSSL_free(der);
out:
    ECDSA_SIG_free(es);
    return err;
}

/* ---- token administration ---- */

/* The key entry with this id in t (added when absent); NULL when there are too many. */
static crypto_p11_keyinfo *key_entry(crypto_p11_tokeninfo *t, const uint8_t *id, size_t id_len) {
    for (size_t i = 0; i < t->nkeys; i++)
        if (t->keys[i].id_len == id_len && memcmp(t->keys[i].id, id, id_len) == 0)
            return &t->keys[i];
    if (t->nkeys == MAX_OBJECTS || id_len > CRYPTO_P11_MAX_ID)
        return NULL;
    crypto_p11_keyinfo *k = realloc(t->keys, (t->nkeys + 1) * sizeof *k);
    if (!k)
        return NULL;
    t->keys = k;
    k = &t->keys[t->nkeys++];
    memset(k, 0, sizeof *k);
    memcpy(k->id, id, id_len);
    k->id_len = id_len;
    return k;
}

static void describe_key(crypto_p11_keyinfo *ki, p11_module *m, CK_SESSION_HANDLE s,
                         CK_OBJECT_HANDLE o) {
    CK_KEY_TYPE kt = 0;
    size_t len = 0;
    uint8_t *label = get_attr(&len, m, s, o, CKA_LABEL);
    if (label && !ki->label[0])
        snprintf(ki->label, sizeof ki->label, "%.*s", (int)len, (const char *)label);
    free(label);
    if (ki->algorithm[0] || !get_ulong(&kt, m, s, o, CKA_KEY_TYPE))
        return;
    EVP_PKEY *pub = kt == CKK_RSA || kt == CKK_EC ? public_of(m, s, o, kt) : NULL;
    if (pub && kt == CKK_RSA) {
        snprintf(ki->algorithm, sizeof ki->algorithm, "RSA-%d", EVP_PKEY_get_bits(pub));
    } else if (pub) {
        char group[32] = "";
        size_t gl = 0;
        EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &gl);
        int nid = OBJ_sn2nid(group);
        const char *nist = nid != NID_undef ? EC_curve_nid2nist(nid) : NULL;
        snprintf(ki->algorithm, sizeof ki->algorithm, "EC %.20s", nist ? nist : group);
    } else if (kt == CKK_RSA || kt == CKK_EC) {
        snprintf(ki->algorithm, sizeof ki->algorithm, kt == CKK_RSA ? "RSA" : "EC");
    }
    EVP_PKEY_free(pub);
}

/* Gathers the keys of a token by CKA_ID: public keys, certificates, and private keys when
 * logged in. */
static crypto_err list_keys(crypto_p11_tokeninfo *ti, p11_module *m, CK_SESSION_HANDLE s) {
    static const CK_OBJECT_CLASS classes[] = {CKO_PUBLIC_KEY, CKO_PRIVATE_KEY, CKO_CERTIFICATE};
    CK_OBJECT_HANDLE objs[MAX_OBJECTS];
    crypto_err err = CRYPTO_OK;
    for (int c = 0; c < 3 && err == CRYPTO_OK; c++) {
        CK_ULONG n = 0;
        if ((err = find_by_uri(objs, &n, m, s, classes[c], NULL, NULL, 0)) != CRYPTO_OK)
            break;
        for (CK_ULONG i = 0; i < n; i++) {
            size_t id_len = 0;
            uint8_t *id = get_attr(&id_len, m, s, objs[i], CKA_ID);
            crypto_p11_keyinfo *ki = key_entry(ti, id ? id : (const uint8_t *)"", id_len);
            free(id);
            if (!ki) {
                err = p11_fail(CRYPTO_E_LIMIT, "a token with more than %d keys", MAX_OBJECTS);
                break;
            }
            if (classes[c] == CKO_CERTIFICATE) {
                size_t len = 0;
                uint8_t *der = get_attr(&len, m, s, objs[i], CKA_VALUE);
                const unsigned char *p = der;
                X509 *cert = der ? d2i_X509(NULL, &p, (long)len) : NULL;
                ki->has_cert = true;
                BIO *mem = cert ? BIO_new(BIO_s_mem()) : NULL;
                if (mem && X509_NAME_print_ex(mem, X509_get_subject_name(cert), 0,
                                              XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
                    int r = BIO_read(mem, ki->cert_subject, sizeof ki->cert_subject - 1);
                    ki->cert_subject[r > 0 ? r : 0] = '\0';
                }
                BIO_free(mem);
                X509_free(cert);
                free(der);
                ERR_clear_error();
                continue;
            }
            if (classes[c] == CKO_PRIVATE_KEY) {
                ki->has_private = true;
                ki->sensitive = get_bool(m, s, objs[i], CKA_SENSITIVE);
                ki->extractable = get_bool(m, s, objs[i], CKA_EXTRACTABLE);
            } else {
                ki->has_public = true;
            }
            describe_key(ki, m, s, objs[i]);
        }
    }
    return err;
}

static void fill_tokeninfo(crypto_p11_tokeninfo *ti, const token_ref *t) {
    ti->slot = t->slot;
    memcpy(ti->label, t->label, sizeof ti->label);
    memcpy(ti->serial, t->serial, sizeof ti->serial);
    memcpy(ti->manufacturer, t->manufacturer, sizeof ti->manufacturer);
    memcpy(ti->model, t->model, sizeof ti->model);
    ti->initialized = (t->info.flags & CKF_TOKEN_INITIALIZED) != 0;
    ti->token_locked = (t->info.flags & CKF_USER_PIN_LOCKED) != 0;
    if (ti->initialized) {
        char path[PATH_MAX];
        if (state_path(path, sizeof path, t, "") == CRYPTO_OK)
            ti->failures = read_failures(path);
        crypto_clear_detail();
    }
}

crypto_err crypto_p11_list(crypto_p11_tokeninfo **out, size_t *nout, const char *module,
                           const char *token_label, const char *pin) {
    p11_module *m = NULL;
    CK_SLOT_ID list[MAX_SLOTS];
    CK_ULONG n = 0;
    crypto_p11_tokeninfo *ts = NULL;
    size_t nt = 0;
    *out = NULL;
    *nout = 0;
    crypto_err err = module_get(&m, module);
    if (err == CRYPTO_OK)
        err = slots(list, &n, m);
    if (err == CRYPTO_OK && n && !(ts = calloc(n, sizeof *ts)))
        err = CRYPTO_E_NOMEM;
    for (CK_ULONG i = 0; err == CRYPTO_OK && i < n; i++) {
        token_ref t = {.slot = list[i]};
        CK_SESSION_HANDLE s;
        if (m->f->C_GetTokenInfo(list[i], &t.info) != CKR_OK)
            continue;
        token_names(&t);
        crypto_p11_tokeninfo *ti = &ts[nt++];
        fill_tokeninfo(ti, &t);
        if (!ti->initialized)
            continue;
        CK_RV rv = m->f->C_OpenSession(t.slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
        if (rv != CKR_OK) {
            err = token_fail(rv, "C_OpenSession");
            break;
        }
        if (pin && token_label && strcmp(token_label, t.label) == 0) {
            err = user_login(m, s, &t, pin);
            ti->logged_in = err == CRYPTO_OK;
        }
        if (err == CRYPTO_OK)
            err = list_keys(ti, m, s);
        /* no C_Logout: the login is the process's, and other keys of the token may hold it; it
         * ends when the process's last session with the token closes */
        m->f->C_CloseSession(s);
    }
    if (err == CRYPTO_OK) {
        *out = ts;
        *nout = nt;
        ts = NULL;
    }
    crypto_p11_list_free(ts, nt);
    module_put(m);
    return err;
}

void crypto_p11_list_free(crypto_p11_tokeninfo *t, size_t n) {
    for (size_t i = 0; t && i < n; i++)
        free(t[i].keys);
    free(t);
}

/* PKCS#11 v2.40 section 5.5 C_InitToken on a slot whose token is not initialised, then 5.6
 * C_InitPIN as the SO. */
crypto_err crypto_p11_init_token(const char *module, const char *label, const char *so_pin,
                                 const char *user_pin) {
    p11_module *m = NULL;
    CK_SLOT_ID list[MAX_SLOTS];
    CK_ULONG n = 0;
    CK_UTF8CHAR so[MAX_PIN], up[MAX_PIN], lab[32];
    CK_ULONG so_len = 0, up_len = 0;
    CK_SESSION_HANDLE s = 0;
    bool have_session = false, free_slot = false, none = false;
    CK_SLOT_ID slot = 0;
    crypto_err err = CRYPTO_OK;
    if (!label || !*label || strlen(label) > 32)
        return p11_fail(CRYPTO_E_ARG, "a token label has 1 to 32 bytes");
    if ((err = pin_copy(so, &so_len, so_pin)) != CRYPTO_OK ||
        (err = pin_copy(up, &up_len, user_pin)) != CRYPTO_OK)
        goto out;
    pad(lab, sizeof lab, label);
    if ((err = module_get(&m, module)) != CRYPTO_OK || (err = slots(list, &n, m)) != CRYPTO_OK)
        goto out;
    for (CK_ULONG i = 0; i < n; i++) {
        token_ref t = {.slot = list[i]};
        if (m->f->C_GetTokenInfo(list[i], &t.info) != CKR_OK)
            continue;
        token_names(&t);
        if ((t.info.flags & CKF_TOKEN_INITIALIZED) && strcmp(t.label, label) == 0) {
            err = p11_fail(CRYPTO_E_ARG, "a token labelled '%s' exists already", label);
            goto out;
        }
        if (!(t.info.flags & CKF_TOKEN_INITIALIZED) && !free_slot) {
            free_slot = true;
            slot = list[i];
        }
    }
    if (!free_slot) {
        err = p11_fail(CRYPTO_E_TOKEN, "the module has no slot with a free token");
        goto out;
    }
    CK_RV rv = m->f->C_InitToken(slot, so, so_len, lab);
    if (rv != CKR_OK) {
        err = token_fail(rv, "C_InitToken");
        goto out;
    }
    /* Modules may renumber the slot of a token they initialise (SoftHSM2 does): find it again
     * by its label, which is unique. */
    crypto_p11_uri u = {.token = (char *)(uintptr_t)label, .slot_id = -1};
    token_ref t;
    if ((err = find_token(&t, m, &u, &none)) != CRYPTO_OK)
        goto out;
    if ((rv = m->f->C_OpenSession(t.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s)) !=
        CKR_OK) {
        err = token_fail(rv, "C_OpenSession");
        goto out;
    }
    have_session = true;
    if ((rv = m->f->C_Login(s, CKU_SO, so, so_len)) != CKR_OK) {
        err = token_fail(rv, "C_Login as SO");
        goto out;
    }
    rv = m->f->C_InitPIN(s, up, up_len);
    m->f->C_Logout(s);
    if (rv != CKR_OK) {
        err = token_fail(rv, "C_InitPIN");
        goto out;
    }
    char path[PATH_MAX];
    if ((err = state_path(path, sizeof path, &t, "")) == CRYPTO_OK)
        err = write_failures(path, 0);
out:
    if (have_session)
        m->f->C_CloseSession(s);
    module_put(m);
    OPENSSL_cleanse(so, sizeof so);
    OPENSSL_cleanse(up, sizeof up);
    return err;
}

/* A read-write session on the URI's token, logged in as the user. */
static crypto_err user_session(p11_module **m, CK_SESSION_HANDLE *s, token_ref *t,
                               crypto_p11_uri *u, const char *uri, const char *pin) {
    char *upin = NULL;
    *m = NULL;
    crypto_err err = crypto_p11_uri_parse(u, uri);
    if (err == CRYPTO_OK && !pin)
        err = uri_pin(&upin, u);
    if (err == CRYPTO_OK)
        err = open_session(m, s, t, u, NULL, true);
    if (err == CRYPTO_OK && (err = user_login(*m, *s, t, pin ? pin : upin)) != CRYPTO_OK) {
        close_session(*m, *s);
        *m = NULL;
    }
    if (upin) {
        OPENSSL_cleanse(upin, strlen(upin));
        free(upin);
    }
    return err;
}

/* Current mechanisms 2.1.4 (CKM_RSA_PKCS_KEY_PAIR_GEN) and 2.3.5 (CKM_EC_KEY_PAIR_GEN); the
 * private key's attributes after PKCS#11 v2.40 section 4.9: sensitive, never extractable. */
crypto_err crypto_p11_generate(EVP_PKEY **pub, const char *token_uri, const char *pin,
                               crypto_p11_keytype type, const char *label, const uint8_t *id,
                               size_t id_len) {
    static const uint8_t p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    static const uint8_t p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
    static const uint8_t f4[] = {0x01, 0x00, 0x01};
    crypto_p11_uri u = {.slot_id = -1};
    p11_module *m = NULL;
    CK_SESSION_HANDLE s = 0;
    token_ref t;
    uint8_t rid[8];
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ULONG bits = type == CRYPTO_P11_RSA2048   ? 2048
                    : type == CRYPTO_P11_RSA3072 ? 3072
                    : type == CRYPTO_P11_RSA4096 ? 4096
                                                 : 0;
    CK_OBJECT_HANDLE hpub = 0, hpriv = 0, objs[MAX_OBJECTS];
    CK_ULONG n = 0;
    if (pub)
        *pub = NULL;
    if (!label || !*label || strlen(label) > CRYPTO_P11_MAX_LABEL)
        return p11_fail(CRYPTO_E_ARG, "a key label has 1 to %d bytes", CRYPTO_P11_MAX_LABEL);
    if (id_len > CRYPTO_P11_MAX_ID)
        return p11_fail(CRYPTO_E_LIMIT, "a key id has at most %d bytes", CRYPTO_P11_MAX_ID);
    if (!id || !id_len) {
        if (RAND_bytes(rid, sizeof rid) != 1)
            return p11_fail(CRYPTO_E_KEY, "no random bytes for the key id");
        id = rid;
        id_len = sizeof rid;
    }
    crypto_err err = user_session(&m, &s, &t, &u, token_uri, pin);
    if (err != CRYPTO_OK)
        goto out;
    if ((err = find_by_uri(objs, &n, m, s, CKO_PRIVATE_KEY, label, NULL, 0)) != CRYPTO_OK)
        goto out;
    if (n == 0 &&
        (err = find_by_uri(objs, &n, m, s, CKO_PRIVATE_KEY, NULL, id, id_len)) != CRYPTO_OK)
        goto out;
    if (n) {
        err =
            p11_fail(CRYPTO_E_ARG, "token '%s' holds a key with that label or id already", t.label);
        goto out;
    }
    CK_ATTRIBUTE pubt[8], privt[8];
    CK_ULONG np = 0, nv = 0;
    CK_MECHANISM mech = {bits ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, NULL, 0};
    void *lab = (void *)(uintptr_t)label, *idv = (void *)(uintptr_t)id;
    pubt[np++] = (CK_ATTRIBUTE){CKA_TOKEN, &yes, sizeof yes};
    pubt[np++] = (CK_ATTRIBUTE){CKA_VERIFY, &yes, sizeof yes};
    pubt[np++] = (CK_ATTRIBUTE){CKA_LABEL, lab, strlen(label)};
    pubt[np++] = (CK_ATTRIBUTE){CKA_ID, idv, id_len};
    if (bits) {
        pubt[np++] = (CK_ATTRIBUTE){CKA_MODULUS_BITS, &bits, sizeof bits};
        pubt[np++] = (CK_ATTRIBUTE){CKA_PUBLIC_EXPONENT, (void *)(uintptr_t)f4, sizeof f4};
    } else if (type == CRYPTO_P11_P256) {
        pubt[np++] = (CK_ATTRIBUTE){CKA_EC_PARAMS, (void *)(uintptr_t)p256, sizeof p256};
    } else {
        pubt[np++] = (CK_ATTRIBUTE){CKA_EC_PARAMS, (void *)(uintptr_t)p384, sizeof p384};
    }
    privt[nv++] = (CK_ATTRIBUTE){CKA_TOKEN, &yes, sizeof yes};
    privt[nv++] = (CK_ATTRIBUTE){CKA_PRIVATE, &yes, sizeof yes};
    privt[nv++] = (CK_ATTRIBUTE){CKA_SENSITIVE, &yes, sizeof yes};
    privt[nv++] = (CK_ATTRIBUTE){CKA_EXTRACTABLE, &no, sizeof no};
    privt[nv++] = (CK_ATTRIBUTE){CKA_SIGN, &yes, sizeof yes};
    privt[nv++] = (CK_ATTRIBUTE){CKA_DECRYPT, &no, sizeof no};
    privt[nv++] = (CK_ATTRIBUTE){CKA_LABEL, lab, strlen(label)};
    privt[nv++] = (CK_ATTRIBUTE){CKA_ID, idv, id_len};
    CK_RV rv = m->f->C_GenerateKeyPair(s, &mech, pubt, np, privt, nv, &hpub, &hpriv);
    if (rv != CKR_OK) {
        err = token_fail(rv, "C_GenerateKeyPair");
        goto out;
    }
    if (pub && !(*pub = public_of(m, s, hpub, bits ? CKK_RSA : CKK_EC)))
        err = p11_fail(CRYPTO_E_TOKEN, "cannot read the new public key back");
out:
    if (m)
        close_session(m, s); /* no C_Logout: see crypto_p11_list */
    crypto_p11_uri_clear(&u);
    return err;
}

/* PKCS#11 v2.40 section 4.6.3: an X.509 certificate object, with the key's CKA_ID and label. */
crypto_err crypto_p11_import_cert(const char *key_uri, const char *pin, X509 *cert) {
    crypto_p11_uri u = {.slot_id = -1};
    p11_module *m = NULL;
    CK_SESSION_HANDLE s = 0;
    token_ref t;
    CK_OBJECT_HANDLE priv = 0, old[MAX_OBJECTS], hc = 0;
    CK_ULONG nold = 0;
    CK_KEY_TYPE kt = 0;
    uint8_t *id = NULL, *label = NULL;
    size_t id_len = 0, label_len = 0;
    unsigned char *der = NULL, *subj = NULL, *iss = NULL, *ser = NULL;
    int dl, sl, il, snl;
    EVP_PKEY *pk = NULL;
    crypto_err err = user_session(&m, &s, &t, &u, key_uri, pin);
    if (err != CRYPTO_OK)
        goto out;
    if ((err = find_private(&priv, m, s, &u, &t)) != CRYPTO_OK)
        goto out;
    id = get_attr(&id_len, m, s, priv, CKA_ID);
    label = get_attr(&label_len, m, s, priv, CKA_LABEL);
    if (!id) {
        err = p11_fail(CRYPTO_E_KEY, "token '%s': the key has no CKA_ID", t.label);
        goto out;
    }
    get_ulong(&kt, m, s, priv, CKA_KEY_TYPE);
    if (!(pk = public_for(m, s, priv, kt, id, id_len, NULL)) ||
        EVP_PKEY_eq(pk, X509_get0_pubkey(cert)) != 1) { /* -1: other key types */
        err = p11_fail(CRYPTO_E_MISMATCH, "the certificate is not for the key in token '%s'",
                       t.label);
        goto out;
    }
    if ((dl = i2d_X509(cert, &der)) <= 0 ||
        (sl = i2d_X509_NAME(X509_get_subject_name(cert), &subj)) <= 0 ||
        (il = i2d_X509_NAME(X509_get_issuer_name(cert), &iss)) <= 0 ||
        (snl = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &ser)) <= 0) {
        err = p11_fail(CRYPTO_E_CERT, "cannot encode the certificate");
        goto out;
    }
    if ((err = find_by_uri(old, &nold, m, s, CKO_CERTIFICATE, NULL, id, id_len)) != CRYPTO_OK)
        goto out;
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE ct = CKC_X_509;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    uint8_t empty[1] = {0};
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof cls},
        {CKA_CERTIFICATE_TYPE, &ct, sizeof ct},
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &no, sizeof no},
        {CKA_ID, id, id_len},
        {CKA_LABEL, label ? label : empty, label ? label_len : 0},
        {CKA_SUBJECT, subj, (CK_ULONG)sl},
        {CKA_ISSUER, iss, (CK_ULONG)il},
        {CKA_SERIAL_NUMBER, ser, (CK_ULONG)snl},
        {CKA_VALUE, der, (CK_ULONG)dl},
    };
    CK_RV rv = m->f->C_CreateObject(s, tmpl, sizeof tmpl / sizeof tmpl[0], &hc);
    if (rv != CKR_OK) {
        err = token_fail(rv, "C_CreateObject (certificate)");
        goto out;
    }
    for (CK_ULONG i = 0; i < nold; i++) /* the new one replaces them */
        m->f->C_DestroyObject(s, old[i]);
out:
    if (m)
        close_session(m, s); /* no C_Logout: see crypto_p11_list */
    EVP_PKEY_free(pk);
    OPENSSL_free(der);
    OPENSSL_free(subj);
    OPENSSL_free(iss);
    OPENSSL_free(ser);
    free(id);
    free(label);
    crypto_p11_uri_clear(&u);
    return err;
}

/* PKCS#11 v2.40 section 5.6 C_SetPIN: in a read-write session not logged in, it changes the
 * user PIN after checking the old one, so it is counted like a login. */
crypto_err crypto_p11_set_pin(const char *uri, const char *old_pin, const char *new_pin) {
    crypto_p11_uri u;
    p11_module *m = NULL;
    CK_SESSION_HANDLE s = 0;
    token_ref t;
    pin_guard g = {.lockfd = -1};
    CK_UTF8CHAR op[MAX_PIN], np[MAX_PIN];
    CK_ULONG ol = 0, nl = 0;
    crypto_err err = crypto_p11_uri_parse(&u, uri);
    if (err != CRYPTO_OK)
        return err;
    if (!old_pin || !new_pin) {
        err = p11_fail(CRYPTO_E_PASSWORD, "the old and the new PIN are needed");
        goto out;
    }
    if ((err = pin_copy(op, &ol, old_pin)) != CRYPTO_OK ||
        (err = pin_copy(np, &nl, new_pin)) != CRYPTO_OK)
        goto out;
    if ((err = open_session(&m, &s, &t, &u, NULL, true)) != CRYPTO_OK)
        goto out;
    if (nl < t.info.ulMinPinLen || nl > t.info.ulMaxPinLen) {
        err = p11_fail(CRYPTO_E_ARG, "token '%s' takes PINs of %lu to %lu characters", t.label,
                       (unsigned long)t.info.ulMinPinLen, (unsigned long)t.info.ulMaxPinLen);
        goto out;
    }
    if ((err = guard_begin(&g, &t)) != CRYPTO_OK)
        goto out;
    if (m->f->C_GetTokenInfo(t.slot, &t.info) == CKR_OK && (t.info.flags & CKF_USER_PIN_LOCKED))
        err = locked_error(&t);
    else if (g.failures >= CRYPTO_P11_MAX_TRIES)
        err = locked_error(&t);
    else
        err = guard_result(&g, &t, m->f->C_SetPIN(s, op, ol, np, nl), "C_SetPIN");
    guard_end(&g);
out:
    if (m)
        close_session(m, s);
    OPENSSL_cleanse(op, sizeof op);
    OPENSSL_cleanse(np, sizeof np);
    crypto_p11_uri_clear(&u);
    return err;
}

/* PKCS#11 v2.40 section 5.6: C_Login as CKU_SO, then C_InitPIN sets the user PIN afresh. */
crypto_err crypto_p11_unlock(const char *uri, const char *so_pin, const char *new_pin) {
    crypto_p11_uri u;
    p11_module *m = NULL;
    CK_SESSION_HANDLE s = 0;
    token_ref t;
    CK_UTF8CHAR sp[MAX_PIN], np[MAX_PIN];
    CK_ULONG sl = 0, nl = 0;
    pin_guard g = {.lockfd = -1};
    crypto_err err = crypto_p11_uri_parse(&u, uri);
    if (err != CRYPTO_OK)
        return err;
    if (!so_pin || !new_pin) {
        err = p11_fail(CRYPTO_E_PASSWORD, "the SO PIN and the new user PIN are needed");
        goto out;
    }
    if ((err = pin_copy(sp, &sl, so_pin)) != CRYPTO_OK ||
        (err = pin_copy(np, &nl, new_pin)) != CRYPTO_OK)
        goto out;
    if ((err = open_session(&m, &s, &t, &u, NULL, true)) != CRYPTO_OK)
        goto out;
    if ((err = guard_begin(&g, &t)) != CRYPTO_OK)
        goto out;
    CK_RV rv = m->f->C_Login(s, CKU_SO, sp, sl);
    if (rv == CKR_PIN_INCORRECT) {
        err = p11_fail(CRYPTO_E_PASSWORD, "wrong SO PIN for token '%s'", t.label);
        goto out;
    }
    if (rv != CKR_OK) {
        err = token_fail(rv, "C_Login as SO");
        goto out;
    }
    rv = m->f->C_InitPIN(s, np, nl);
    m->f->C_Logout(s);
    if (rv != CKR_OK) {
        err = token_fail(rv, "C_InitPIN");
        goto out;
    }
    err = write_failures(g.path, 0);
out:
    guard_end(&g);
    if (m)
        close_session(m, s);
    OPENSSL_cleanse(sp, sizeof sp);
    OPENSSL_cleanse(np, sizeof np);
    crypto_p11_uri_clear(&u);
    return err;
}

crypto_err crypto_p11_status(crypto_p11_tokeninfo *out, const char *uri) {
    crypto_p11_uri u;
    p11_module *m = NULL;
    token_ref t;
    bool none = false;
    memset(out, 0, sizeof *out);
    crypto_err err = crypto_p11_uri_parse(&u, uri);
    if (err != CRYPTO_OK)
        return err;
    if ((err = module_get(&m, u.module_path)) == CRYPTO_OK &&
        (err = find_token(&t, m, &u, &none)) == CRYPTO_OK)
        fill_tokeninfo(out, &t);
    module_put(m);
    crypto_p11_uri_clear(&u);
    return err;
}

/* ---- PKCS#10 ---- */

/* "/C=CN/O=.../CN=..." into a name; "\/" stands for a '/' inside a value. */
static crypto_err parse_subject(X509_NAME **out, const char *subject) {
    X509_NAME *name = X509_NAME_new();
    size_t len = strlen(subject);
    char *tmp = malloc(len + 1);
    crypto_err err = CRYPTO_OK;
    *out = NULL;
    if (!name || !tmp) {
        err = CRYPTO_E_NOMEM;
        goto out;
    }
    if (len > 4096 || subject[0] != '/') {
        err = crypto_fail(CRYPTO_E_ARG, "a subject is written /C=CN/O=.../CN=...");
        goto out;
    }
    const char *p = subject + 1;
    while (*p) {
        size_t k = 0;
        while (*p && *p != '/') {
            if (*p == '\\' && p[1])
                p++;
            tmp[k++] = *p++;
        }
        tmp[k] = '\0';
        if (*p == '/')
            p++;
        char *eq = strchr(tmp, '=');
        if (!eq || eq == tmp || !eq[1]) {
            err = crypto_fail(CRYPTO_E_ARG, "subject: '%.60s' is not TYPE=value", tmp);
            goto out;
        }
        *eq = '\0';
        if (!X509_NAME_add_entry_by_txt(name, tmp, MBSTRING_UTF8, (const unsigned char *)eq + 1, -1,
                                        -1, 0)) {
            err = crypto_fail(CRYPTO_E_ARG, "subject: cannot add %.40s", tmp);
            goto out;
        }
    }
    if (X509_NAME_entry_count(name) == 0) {
        err = crypto_fail(CRYPTO_E_ARG, "the subject is empty");
        goto out;
    }
    *out = name;
    name = NULL;
out:
    X509_NAME_free(name);
    free(tmp);
    return err;
}

/* RFC 2986 section 4: CertificationRequestInfo signed by the key; the signature made through
 * crypto_key_sign_digest so that a token key signs in its token. An SM2 key (a file key, or the
 * key process's) signs SM2-with-SM3 with the default ID (GM/T 0009 5.4.4). */
crypto_err crypto_make_csr(X509_REQ **out, crypto_key *key, const char *subject) {
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = NULL;
    X509_ALGOR *alg = X509_ALGOR_new();
    ASN1_BIT_STRING *bits = ASN1_BIT_STRING_new();
    unsigned char *tbs = NULL;
    uint8_t md[EVP_MAX_MD_SIZE], sig[1200];
    unsigned mdlen = 0;
    size_t sig_len = sizeof sig;
    EVP_PKEY *pub = crypto_key_public(key);
    const EVP_MD *dig = EVP_sha256();
    int nid;
    crypto_err err = CRYPTO_OK;
    *out = NULL;
    if (!req || !alg || !bits) {
        err = CRYPTO_E_NOMEM;
        goto out;
    }
    if ((err = parse_subject(&name, subject)) != CRYPTO_OK)
        goto out;
    bool sm2 = crypto_is_sm2(pub);
    if (sm2) {
        dig = EVP_sm3();
        nid = NID_SM2_with_SM3;
    } else if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_EC) {
        if (EVP_PKEY_get_bits(pub) > 256)
            dig = EVP_sha384();
        nid = dig == EVP_sha384() ? NID_ecdsa_with_SHA384 : NID_ecdsa_with_SHA256;
    } else if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA) {
        nid = NID_sha256WithRSAEncryption;
    } else {
        err = crypto_fail(CRYPTO_E_ALGORITHM, "requests for RSA, EC and SM2 keys only");
        goto out;
    }
    if (!X509_REQ_set_version(req, 0) || !X509_REQ_set_subject_name(req, name) ||
        !X509_REQ_set_pubkey(req, pub) ||
        !X509_ALGOR_set0(alg, OBJ_nid2obj(nid),
                         nid == NID_sha256WithRSAEncryption ? V_ASN1_NULL : V_ASN1_UNDEF, NULL) ||
        !X509_REQ_set1_signature_algo(req, alg)) {
        err = crypto_fail(CRYPTO_E_SIGN, "cannot build the request");
        goto out;
    }
    int tl = i2d_re_X509_REQ_tbs(req, &tbs);
    struct iovec part = {tbs, tl > 0 ? (size_t)tl : 0};
    if (tl > 0 && sm2 && crypto_sm2_prehash(md, pub, &part, 1) == CRYPTO_OK) {
        mdlen = 32; /* e = SM3(Z || tbs), GB/T 32918.2 6.1 */
    } else if (tl <= 0 || sm2 || !EVP_Digest(tbs, (size_t)tl, md, &mdlen, dig, NULL)) {
        err = crypto_fail(CRYPTO_E_SIGN, "cannot encode the request");
        goto out;
    }
    crypto_padding pad = nid == NID_sha256WithRSAEncryption ? CRYPTO_PAD_PKCS1 : CRYPTO_PAD_AUTO;
    if ((err = crypto_key_sign_digest(sig, &sig_len, key, dig, pad, md, mdlen)) != CRYPTO_OK)
        goto out;
    if (!ASN1_BIT_STRING_set(bits, sig, (int)sig_len)) {
        err = CRYPTO_E_NOMEM;
        goto out;
    }
    /* All bits used: the encoder must not trim trailing zero bits off a signature. */
    bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
    bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
    X509_REQ_set0_signature(req, bits);
    bits = NULL;
    ASN1_OCTET_STRING *id = sm2 ? ASN1_OCTET_STRING_new() : NULL;
    if (id &&
        ASN1_OCTET_STRING_set(id, (const unsigned char *)CRYPTO_SM2_ID, (int)strlen(CRYPTO_SM2_ID)))
        X509_REQ_set0_distinguishing_id(req, id); /* for X509_REQ_verify below */
    else
        ASN1_OCTET_STRING_free(id);
    if (X509_REQ_verify(req, pub) != 1) {
        err = crypto_fail(CRYPTO_E_SIGN, "the request's signature does not verify");
        goto out;
    }
    *out = req;
    req = NULL;
out:
    X509_REQ_free(req);
    X509_NAME_free(name);
    X509_ALGOR_free(alg);
    ASN1_BIT_STRING_free(bits);
    OPENSSL_free(tbs);
    return err;
}
