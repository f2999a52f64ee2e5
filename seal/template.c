/* Loading and checking stamp templates (templates/README.md), and filling their placeholders. */
#include "seal/template.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/json.h"
#include "seal/internal.h"
#include "seal/licence.h"

#define MAX_TEMPLATE_BYTES (1024 * 1024)
#define MAX_VALUE_BYTES 1024
#define MAX_VALUES 64

typedef struct tctx {
    seal_template *t;
    const char *file;
} tctx;

static seal_err bad(const tctx *c, const json *at, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "FILE: line L: KEY: message" */
static seal_err bad(const tctx *c, const json *at, const char *key, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (at)
        return seal_fail(SEAL_E_TEMPLATE, "%s: line %zu: %s: %s", c->file, at->line, key, msg);
    return seal_fail(SEAL_E_TEMPLATE, "%s: %s: %s", c->file, key, msg);
}

/* "path.key" (or "key" at the top), cut to fit: key paths only name template keys. */
static void keypath(char *out, size_t n, const char *path, const char *key) {
    size_t o = 0;
    for (const char *parts[] = {path, *path ? "." : "", key}, **q = parts; q < parts + 3; q++)
        for (const char *c = *q; *c && o + 1 < n; c++)
            out[o++] = *c;
    out[o] = '\0';
}

static const char *type_name(json_type t) {
    static const char *names[] = {"null",     "true or false", "a number",
                                  "a string", "an array",      "an object"};
    return names[t];
}

/* The keys of obj must be among allowed (NULL-terminated). */
static seal_err only_keys(const tctx *c, const json *obj, const char *path,
                          const char *const *allowed) {
    for (size_t i = 0; i < obj->len; i++) {
        bool ok = false;
        for (const char *const *k = allowed; *k && !ok; k++)
            ok = strcmp(*k, obj->keys[i]) == 0;
        if (!ok) {
            char list[256] = "";
            for (const char *const *k = allowed; *k; k++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                         k == allowed ? "" : ", ", *k);
            char where[128];
            keypath(where, sizeof where, path, obj->keys[i]);
            return bad(c, obj->items[i], where, "unknown key (expected one of: %s)", list);
        }
    }
    return SEAL_OK;
}

static seal_err want_type(const tctx *c, const json *v, const char *path, json_type t) {
    if (v->type != t)
        return bad(c, v, path, "expected %s, got %s", type_name(t), type_name(v->type));
    return SEAL_OK;
}

static seal_err get_number(double *out, const tctx *c, const json *obj, const char *key,
                           const char *path, double lo, double hi, double dflt, bool required) {
    char where[128];
    keypath(where, sizeof where, path, key);
    const json *v = json_get(obj, key);
    *out = dflt;
    if (!v)
        return required ? bad(c, obj, where, "missing (a number from %g to %g)", lo, hi) : SEAL_OK;
    if (v->type != JSON_NUMBER || !(v->num >= lo && v->num <= hi))
        return bad(c, v, where, "expected a number from %g to %g", lo, hi);
    *out = v->num;
    return SEAL_OK;
}

static seal_err get_string(const char **out, const tctx *c, const json *obj, const char *key,
                           const char *path, bool required) {
    char where[128];
    keypath(where, sizeof where, path, key);
    const json *v = json_get(obj, key);
    *out = NULL;
    if (!v)
        return required ? bad(c, obj, where, "missing (a string)") : SEAL_OK;
    if (v->type != JSON_STRING || v->len == 0)
        return bad(c, v, where, "expected a non-empty string");
    *out = v->str;
    return SEAL_OK;
}

static seal_err get_bool(bool *out, const tctx *c, const json *obj, const char *key,
                         const char *path, bool dflt) {
    char where[128];
    keypath(where, sizeof where, path, key);
    const json *v = json_get(obj, key);
    *out = dflt;
    if (!v)
        return SEAL_OK;
    seal_err err = want_type(c, v, where, JSON_BOOL);
    if (err == SEAL_OK)
        *out = v->b;
    return err;
}

static bool is_field(const seal_template *t, const char *name, size_t n) {
    for (size_t i = 0; i < t->nfields; i++)
        if (strlen(t->fields[i].name) == n && strncmp(t->fields[i].name, name, n) == 0)
            return true;
    return false;
}

/* Every {placeholder} of s names a field of the template (or {token} where allowed). */
static seal_err check_placeholders(const tctx *c, const json *at, const char *path, const char *s,
                                   bool token_ok) {
    for (const char *p = s; *p; p++) {
        if (*p == '}')
            return bad(c, at, path, "a '}' without its '{'");
        if (*p != '{')
            continue;
        const char *end = strchr(p, '}');
        if (!end)
            return bad(c, at, path, "a '{' without its '}'");
        size_t n = (size_t)(end - p - 1);
        bool token = n == 5 && strncmp(p + 1, "token", 5) == 0;
        if (token && !token_ok)
            return bad(c, at, path, "{token} is only allowed in qr.content");
        if (!token && !is_field(c->t, p + 1, n))
            return bad(c, at, path, "unknown placeholder {%.*s} (not in \"fields\")", (int)n,
                       p + 1);
        p = end;
    }
    return SEAL_OK;
}

static seal_err get_pages(seal_pages *out, const tctx *c, const json *obj, const char *key,
                          const char *path, seal_pages_kind dflt) {
    char where[128];
    keypath(where, sizeof where, path, key);
    const json *v = json_get(obj, key);
    memset(out, 0, sizeof *out);
    out->kind = dflt;
    if (!v)
        return SEAL_OK;
    if (v->type == JSON_STRING) {
        if (strcmp(v->str, "first") == 0)
            out->kind = SEAL_PAGES_FIRST;
        else if (strcmp(v->str, "last") == 0)
            out->kind = SEAL_PAGES_LAST;
        else if (strcmp(v->str, "all") == 0)
            out->kind = SEAL_PAGES_ALL;
        else
            return bad(c, v, where,
                       "expected \"first\", \"last\", \"all\" or a list of page "
                       "numbers, got \"%s\"",
                       v->str);
        return SEAL_OK;
    }
    if (v->type != JSON_ARRAY || v->len == 0 || v->len > 1000)
        return bad(c, v, where,
                   "expected \"first\", \"last\", \"all\" or a list of 1 to 1000 "
                   "page numbers");
    out->kind = SEAL_PAGES_LIST;
    out->list = arena_alloc(&c->t->a, v->len * sizeof *out->list);
    if (!out->list)
        return SEAL_E_NOMEM;
    for (size_t i = 0; i < v->len; i++) {
        const json *it = v->items[i];
        if (it->type != JSON_NUMBER || it->num != floor(it->num) || it->num == 0 ||
            fabs(it->num) > 100000)
            return bad(c, it, where,
                       "page numbers are whole numbers from 1 (or from -1, the last "
                       "page, backwards)");
        out->list[out->n++] = (int)it->num;
    }
    return SEAL_OK;
}

static seal_err get_place(seal_place *out, const tctx *c, const json *obj, const char *path,
                          bool field_ok) {
    char where[128];
    keypath(where, sizeof where, path, "at");
    const json *at = json_get(obj, "at");
    static const char *const keys[] = {"corner", "x_mm", "y_mm", "field", NULL};
    memset(out, 0, sizeof *out);
    if (!at)
        return bad(c, obj, where,
                   "missing (where the layer goes: {\"corner\": ..., \"x_mm\": "
                   "..., \"y_mm\": ...}%s)",
                   field_ok ? " or {\"field\": NAME}" : "");
    seal_err err = want_type(c, at, where, JSON_OBJECT);
    if (err == SEAL_OK)
        err = only_keys(c, at, where, keys);
    if (err != SEAL_OK)
        return err;
    if (json_get(at, "field")) {
        if (!field_ok)
            return bad(c, at, where, "this layer cannot be placed on a form field");
        return get_string(&out->field, c, at, "field", where, true);
    }
    const char *corner;
    err = get_string(&corner, c, at, "corner", where, true);
    if (err != SEAL_OK)
        return err;
    static const char *const corners[] = {"top-left", "top-right", "bottom-left", "bottom-right"};
    int k = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(corner, corners[i]) == 0)
            k = i;
    if (k < 0) {
        char key[160];
        keypath(key, sizeof key, where, "corner");
        return bad(c, json_get(at, "corner"), key,
                   "expected top-left, top-right, bottom-left or bottom-right, got \"%s\"", corner);
    }
    out->corner = (seal_corner)k;
    err = get_number(&out->x_mm, c, at, "x_mm", where, 0, 2000, 0, true);
    if (err == SEAL_OK)
        err = get_number(&out->y_mm, c, at, "y_mm", where, 0, 2000, 0, true);
    return err;
}

static seal_err load_fields(const tctx *c, const json *root) {
    seal_template *t = c->t;
    const json *f = json_get(root, "fields");
    if (!f)
        return bad(c, root, "fields", "missing (the placeholders the template uses)");
    seal_err err = want_type(c, f, "fields", JSON_OBJECT);
    if (err != SEAL_OK)
        return err;
    if (f->len > MAX_VALUES)
        return bad(c, f, "fields", "more than %d fields", MAX_VALUES);
    t->fields = arena_alloc(&t->a, (f->len ? f->len : 1) * sizeof *t->fields);
    if (!t->fields)
        return SEAL_E_NOMEM;
    for (size_t i = 0; i < f->len && err == SEAL_OK; i++) {
        char path[128];
        const char *name = f->keys[i];
        const json *d = f->items[i];
        keypath(path, sizeof path, "fields", name);
        for (const char *p = name; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
                return bad(c, d, path, "field names are lower-case letters, digits and '_'");
        if (strcmp(name, "token") == 0)
            return bad(c, d, path, "\"token\" is reserved for the QR code's signed token");
        static const char *const keys[] = {"required", "format", "default", "max_length", NULL};
        seal_tfield *tf = &t->fields[t->nfields];
        tf->name = name;
        double maxlen = MAX_VALUE_BYTES;
        err = want_type(c, d, path, JSON_OBJECT);
        if (err == SEAL_OK)
            err = only_keys(c, d, path, keys);
        if (err == SEAL_OK)
            err = get_bool(&tf->required, c, d, "required", path, false);
        if (err == SEAL_OK)
            err = get_string(&tf->format, c, d, "format", path, false);
        if (err == SEAL_OK)
            err = get_string(&tf->dflt, c, d, "default", path, false);
        if (err == SEAL_OK)
            err = get_number(&maxlen, c, d, "max_length", path, 1, MAX_VALUE_BYTES, MAX_VALUE_BYTES,
                             false);
        if (err == SEAL_OK && tf->format && strcmp(tf->format, "licence-id") != 0 &&
            strcmp(tf->format, "credit-code") != 0 && strcmp(tf->format, "date") != 0)
            err = bad(c, json_get(d, "format"), path,
                      "format: expected \"licence-id\", \"credit-code\" or \"date\", got \"%s\"",
                      tf->format);
        tf->max_length = (size_t)maxlen;
        t->nfields++;
    }
    return err;
}

static seal_err load_layers(const tctx *c, const json *root, const char *dir) {
    seal_template *t = c->t;
    seal_err err = SEAL_OK;
    const json *s = json_get(root, "seal");
    if (!s)
        return bad(c, root, "seal", "missing (where the seal goes)");
    static const char *const seal_keys[] = {"picture", "file", "diameter_mm", "at", "pages", NULL};
    const char *pic = NULL, *file = NULL;
    err = want_type(c, s, "seal", JSON_OBJECT);
    if (err == SEAL_OK)
        err = only_keys(c, s, "seal", seal_keys);
    if (err == SEAL_OK)
        err = get_string(&pic, c, s, "picture", "seal", false);
    if (err == SEAL_OK)
        err = get_string(&file, c, s, "file", "seal", false);
    t->seal_mm_given = json_get(s, "diameter_mm") != NULL;
    if (err == SEAL_OK)
        err = get_number(&t->seal_mm, c, s, "diameter_mm", "seal", 10, 100, 42, false);
    if (err == SEAL_OK)
        err = get_place(&t->seal_at, c, s, "seal", true);
    if (err == SEAL_OK)
        err = get_pages(&t->seal_pages, c, s, "pages", "seal", SEAL_PAGES_LAST);
    if (err == SEAL_OK && pic) {
        char full[4096];
        snprintf(full, sizeof full, "%s%s", pic[0] == '/' ? "" : dir, pic);
        if (!(t->seal_picture = arena_strdup(&t->a, full)))
            err = SEAL_E_NOMEM;
    }
    if (err == SEAL_OK && file) {
        char full[4096];
        snprintf(full, sizeof full, "%s%s", file[0] == '/' ? "" : dir, file);
        if (!(t->seal_file = arena_strdup(&t->a, full)))
            err = SEAL_E_NOMEM;
    }
    if (err == SEAL_OK)
        err = get_bool(&t->fog, c, root, "fog", "", true);

    const json *q = json_get(root, "qr");
    if (err == SEAL_OK && q) {
        static const char *const qr_keys[] = {"content", "at", "size_mm", "level", "pages", NULL};
        const char *level = NULL;
        t->qr = true;
        err = want_type(c, q, "qr", JSON_OBJECT);
        if (err == SEAL_OK)
            err = only_keys(c, q, "qr", qr_keys);
        if (err == SEAL_OK)
            err = get_string(&t->qr_content, c, q, "content", "qr", true);
        if (err == SEAL_OK)
            err = check_placeholders(c, json_get(q, "content"), "qr.content", t->qr_content, true);
        if (err == SEAL_OK)
            err = get_place(&t->qr_at, c, q, "qr", false);
        if (err == SEAL_OK)
            err = get_number(&t->qr_mm, c, q, "size_mm", "qr", 10, 100, 25, false);
        if (err == SEAL_OK)
            err = get_string(&level, c, q, "level", "qr", false);
        if (err == SEAL_OK && level) {
            const char *lv = strchr("LMQH", level[0]);
            if (!lv || level[1])
                err = bad(c, json_get(q, "level"), "qr.level",
                          "expected \"L\", \"M\", \"Q\" or \"H\", got \"%s\"", level);
            else
                t->qr_level = (int)(lv - "LMQH");
        } else {
            t->qr_level = 1;
        }
        if (err == SEAL_OK)
            err = get_pages(&t->qr_pages, c, q, "pages", "qr", SEAL_PAGES_FIRST);
    }

    const json *w = json_get(root, "watermark");
    if (err == SEAL_OK && w) {
        static const char *const wm_keys[] = {"text",    "font_size_pt", "angle_deg",
                                              "opacity", "colour",       "spacing_mm",
                                              "pages",   "border",       NULL};
        t->watermark = true;
        err = want_type(c, w, "watermark", JSON_OBJECT);
        if (err == SEAL_OK)
            err = only_keys(c, w, "watermark", wm_keys);
        if (err == SEAL_OK)
            err = get_string(&t->wm_text, c, w, "text", "watermark", true);
        if (err == SEAL_OK)
            err = check_placeholders(c, json_get(w, "text"), "watermark.text", t->wm_text, false);
        if (err == SEAL_OK)
            err = get_number(&t->wm_size_pt, c, w, "font_size_pt", "watermark", 2, 72, 10, false);
        if (err == SEAL_OK)
            err = get_number(&t->wm_angle, c, w, "angle_deg", "watermark", -90, 90, 30, false);
        if (err == SEAL_OK)
            err = get_number(&t->wm_opacity, c, w, "opacity", "watermark", 0.02, 1, 0.12, false);
        const double grey[3] = {0.5, 0.5, 0.5};
        memcpy(t->wm_colour, grey, sizeof grey);
        const json *col = json_get(w, "colour");
        if (err == SEAL_OK && col) {
            if (col->type != JSON_ARRAY || col->len != 3)
                err = bad(c, col, "watermark.colour", "expected [red, green, blue] from 0 to 1");
            for (size_t i = 0; err == SEAL_OK && i < 3; i++) {
                const json *it = col->items[i];
                if (it->type != JSON_NUMBER || it->num < 0 || it->num > 1)
                    err = bad(c, it, "watermark.colour", "expected [red, green, blue] from 0 to 1");
                else
                    t->wm_colour[i] = it->num;
            }
        }
        t->wm_spacing_mm[0] = 70;
        t->wm_spacing_mm[1] = 40;
        const json *sp = json_get(w, "spacing_mm");
        if (err == SEAL_OK && sp) {
            if (sp->type != JSON_ARRAY || sp->len != 2)
                err = bad(c, sp, "watermark.spacing_mm", "expected [across, down] in mm");
            for (size_t i = 0; err == SEAL_OK && i < 2; i++) {
                const json *it = sp->items[i];
                if (it->type != JSON_NUMBER || it->num < 5 || it->num > 500)
                    err = bad(c, it, "watermark.spacing_mm", "expected numbers from 5 to 500");
                else
                    t->wm_spacing_mm[i] = it->num;
            }
        }
        if (err == SEAL_OK)
            err = get_pages(&t->wm_pages, c, w, "pages", "watermark", SEAL_PAGES_ALL);
        const json *b = json_get(w, "border");
        if (err == SEAL_OK && b) {
            static const char *const b_keys[] = {"text", "font_size_pt", NULL};
            err = want_type(c, b, "watermark.border", JSON_OBJECT);
            if (err == SEAL_OK)
                err = only_keys(c, b, "watermark.border", b_keys);
            if (err == SEAL_OK)
                err = get_string(&t->border_text, c, b, "text", "watermark.border", true);
            if (err == SEAL_OK)
                err = check_placeholders(c, json_get(b, "text"), "watermark.border.text",
                                         t->border_text, false);
            if (err == SEAL_OK)
                err = get_number(&t->border_size_pt, c, b, "font_size_pt", "watermark.border", 1, 8,
                                 2.5, false);
        }
    }

    const json *sg = json_get(root, "signature");
    if (err == SEAL_OK && sg) {
        static const char *const sig_keys[] = {"certify", "reason", "location", "contact", NULL};
        double certify = 0;
        err = want_type(c, sg, "signature", JSON_OBJECT);
        if (err == SEAL_OK)
            err = only_keys(c, sg, "signature", sig_keys);
        if (err == SEAL_OK)
            err = get_number(&certify, c, sg, "certify", "signature", 0, 3, 0, false);
        if (err == SEAL_OK && certify != floor(certify))
            err = bad(c, json_get(sg, "certify"), "signature.certify", "expected 0, 1, 2 or 3");
        t->certify = (int)certify;
        if (err == SEAL_OK)
            err = get_string(&t->reason, c, sg, "reason", "signature", false);
        if (err == SEAL_OK)
            err = get_string(&t->location, c, sg, "location", "signature", false);
        if (err == SEAL_OK)
            err = get_string(&t->contact, c, sg, "contact", "signature", false);
        const char *const texts[] = {t->reason, t->location, t->contact};
        const char *const names[] = {"signature.reason", "signature.location", "signature.contact"};
        for (int i = 0; i < 3 && err == SEAL_OK; i++)
            if (texts[i])
                err = check_placeholders(c, sg, names[i], texts[i], false);
    }
    return err;
}

seal_err seal_template_load(seal_template **out, const char *path) {
    uint8_t *data = NULL;
    size_t len = 0;
    char msg[256];
    seal_err err = SEAL_OK;
    *out = NULL;
    seal_template *t = calloc(1, sizeof *t);
    if (!t)
        return SEAL_E_NOMEM;
    arena_init(&t->a, (size_t)64 * 1024 * 1024);
    tctx c = {t, path};
    int e = file_read_all(&data, &len, path, MAX_TEMPLATE_BYTES);
    if (e) {
        err = e == EFBIG ? seal_fail(SEAL_E_TEMPLATE, "%s is larger than %d bytes", path,
                                     MAX_TEMPLATE_BYTES)
                         : seal_fail(SEAL_E_IO, "%s: %s", path, strerror(e));
        goto out;
    }
    json *root = json_parse(&t->a, (const char *)data, len, msg, sizeof msg);
    if (!root) {
        err = seal_fail(SEAL_E_TEMPLATE, "%s: not valid JSON: %s", path, msg);
        goto out;
    }
    static const char *const keys[] = {"eseal_template", "name",      "title", "description",
                                       "fields",         "seal",      "fog",   "qr",
                                       "watermark",      "signature", NULL};
    if ((err = want_type(&c, root, "(top level)", JSON_OBJECT)) != SEAL_OK ||
        (err = only_keys(&c, root, "", keys)) != SEAL_OK)
        goto out;
    const json *v = json_get(root, "eseal_template");
    if (!v || v->type != JSON_NUMBER || v->num != 1) {
        err = bad(&c, v ? v : root, "eseal_template", "expected 1 (the format version)");
        goto out;
    }
    if ((err = get_string(&t->name, &c, root, "name", "", true)) != SEAL_OK ||
        (err = get_string(&t->title, &c, root, "title", "", false)) != SEAL_OK)
        goto out;
    char dir[4096];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path + 1) : 0, path);
    t->path = arena_strdup(&t->a, path);
    if ((err = load_fields(&c, root)) != SEAL_OK || (err = load_layers(&c, root, dir)) != SEAL_OK)
        goto out;
out:
    free(data);
    if (err == SEAL_OK)
        *out = t;
    else
        seal_template_free(t);
    return err;
}

void seal_template_free(seal_template *t) {
    if (t) {
        arena_free(&t->a);
        free(t);
    }
}

/* ---- values ---- */

void seal_values_init(seal_values *v) {
    memset(v, 0, sizeof *v);
    arena_init(&v->a, 1024 * 1024);
}

void seal_values_free(seal_values *v) {
    arena_free(&v->a);
    memset(v, 0, sizeof *v);
}

seal_err seal_values_set(seal_values *v, const char *name, const char *value) {
    if (strlen(value) > MAX_VALUE_BYTES)
        return seal_fail(SEAL_E_TEMPLATE, "the value of %s is longer than %d bytes", name,
                         MAX_VALUE_BYTES);
    const char *val = arena_strdup(&v->a, value);
    if (!val)
        return SEAL_E_NOMEM;
    for (size_t i = 0; i < v->n; i++) {
        if (strcmp(v->names[i], name) == 0) {
            v->values[i] = val;
            return SEAL_OK;
        }
    }
    if (v->n == MAX_VALUES)
        return seal_fail(SEAL_E_TEMPLATE, "more than %d values", MAX_VALUES);
    if (v->n == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 16;
        const char **nn = arena_alloc(&v->a, ncap * sizeof *nn);
        const char **nv = arena_alloc(&v->a, ncap * sizeof *nv);
        if (!nn || !nv)
            return SEAL_E_NOMEM;
        if (v->n) {
            memcpy(nn, v->names, v->n * sizeof *nn);
            memcpy(nv, v->values, v->n * sizeof *nv);
        }
        v->names = nn;
        v->values = nv;
        v->cap = ncap;
    }
    v->names[v->n] = arena_strdup(&v->a, name);
    v->values[v->n] = val;
    if (!v->names[v->n])
        return SEAL_E_NOMEM;
    v->n++;
    return SEAL_OK;
}

seal_err seal_values_set_arg(seal_values *v, const char *arg) {
    const char *eq = strchr(arg, '=');
    char name[64];
    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof name)
        return seal_fail(SEAL_E_ARG, "expected NAME=VALUE, got \"%s\"", arg);
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = '\0';
    return seal_values_set(v, name, eq + 1);
}

const char *seal_values_get(const seal_values *v, const char *name) {
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->names[i], name) == 0)
            return v->values[i];
    return NULL;
}

/* ISO 8601 calendar date YYYY-MM-DD. */
static bool valid_date(const char *s) {
    int y, m, d;
    char tail;
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
        sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || y < 1900 || y > 9999 || m < 1 ||
        m > 12 || d < 1)
        return false;
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= days[m - 1] + (m == 2 && leap);
}

static bool valid_utf8(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80             ? 0
                : (*p & 0xE0) == 0xC0 ? 1
                : (*p & 0xF0) == 0xE0 ? 2
                : (*p & 0xF8) == 0xF0 ? 3
                                      : -1;
        if (n < 0 || (*p < 0x20 && *p != '\t'))
            return false;
        p++;
        for (int i = 0; i < n; i++, p++)
            if ((*p & 0xC0) != 0x80)
                return false;
    }
    return true;
}

seal_err seal_template_check_values(const seal_template *t, seal_values *v) {
    for (size_t i = 0; i < v->n; i++) {
        bool known = false;
        for (size_t k = 0; k < t->nfields && !known; k++)
            known = strcmp(t->fields[k].name, v->names[i]) == 0;
        if (!known)
            return seal_fail(SEAL_E_TEMPLATE, "template %s has no field \"%s\"", t->name,
                             v->names[i]);
        if (!valid_utf8(v->values[i]))
            return seal_fail(SEAL_E_TEMPLATE, "%s: not valid UTF-8 text", v->names[i]);
    }
    for (size_t k = 0; k < t->nfields; k++) {
        const seal_tfield *f = &t->fields[k];
        const char *val = seal_values_get(v, f->name);
        char why[256];
        if (!val && f->dflt) {
            seal_err err = seal_values_set(v, f->name, f->dflt);
            if (err != SEAL_OK)
                return err;
            val = f->dflt;
        }
        if (!val) {
            if (f->required)
                return seal_fail(SEAL_E_TEMPLATE,
                                 "%s is required by template %s (give it with "
                                 "--set %s=...)",
                                 f->name, t->name, f->name);
            continue;
        }
        if (strlen(val) > f->max_length)
            return seal_fail(SEAL_E_TEMPLATE, "%s is longer than %zu bytes", f->name,
                             f->max_length);
        if (f->format && strcmp(f->format, "date") == 0 && !valid_date(val))
            return seal_fail(SEAL_E_TEMPLATE, "%s: \"%s\" is not a date (YYYY-MM-DD)", f->name,
                             val);
        if (f->format && strcmp(f->format, "licence-id") == 0 &&
            !seal_licence_id_valid(val, why, sizeof why))
            return seal_fail(SEAL_E_TEMPLATE, "%s: \"%s\" is not a valid licence identifier: %s",
                             f->name, val, why);
        if (f->format && strcmp(f->format, "credit-code") == 0 &&
            !seal_credit_code_valid(val, why, sizeof why))
            return seal_fail(SEAL_E_TEMPLATE, "%s: \"%s\" is not a valid credit code: %s", f->name,
                             val, why);
    }
    return SEAL_OK;
}

seal_err seal_template_expand(buf *out, const char *pattern, const seal_values *v,
                              const char *token) {
    int rc = BUF_OK;
    for (const char *p = pattern; *p && rc == BUF_OK; p++) {
        const char *end;
        if (*p != '{' || !(end = strchr(p, '}'))) {
            rc = buf_putc(out, (uint8_t)*p);
            continue;
        }
        char name[64];
        size_t n = (size_t)(end - p - 1);
        if (n >= sizeof name)
            return seal_fail(SEAL_E_TEMPLATE, "placeholder too long in \"%s\"", pattern);
        memcpy(name, p + 1, n);
        name[n] = '\0';
        const char *val = strcmp(name, "token") == 0 ? token : seal_values_get(v, name);
        if (!val)
            return seal_fail(SEAL_E_TEMPLATE, "no value for {%s}", name);
        rc = buf_puts(out, val);
        p = end;
    }
    return rc == BUF_OK ? SEAL_OK : seal_fail(SEAL_E_TEMPLATE, "expanded text too long");
}
