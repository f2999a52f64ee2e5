/* Verifying the signatures of a PDF: finding them, checking what each one covers, and handing
 * the bytes to the CMS verifier (ISO 32000-2 12.8, ETSI EN 319 142-1, ETSI EN 319 102-1). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/u64map.h"
#include "seal/internal.h"
#include "seal/verify_internal.h"

/* ---- report helpers ---- */

__attribute__((format(printf, 1, 0))) static char *vfmt(const char *fmt, va_list ap) {
    char *s = NULL;
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (n >= 0 && (s = malloc((size_t)n + 1)) != NULL)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

__attribute__((format(printf, 3, 0))) static seal_err add_errorv(char ***list, size_t *n,
                                                                 const char *fmt, va_list ap) {
    if (*n >= 64)
        return SEAL_OK; /* enough to name the causes */
    char **nl = realloc(*list, (*n + 1) * sizeof *nl);
    if (!nl)
        return SEAL_E_NOMEM;
    *list = nl;
    char *s = vfmt(fmt, ap);
    if (!s)
        return SEAL_E_NOMEM;
    nl[(*n)++] = s;
    return SEAL_OK;
}

seal_err verify_add_error(char ***list, size_t *n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    seal_err err = add_errorv(list, n, fmt, ap);
    va_end(ap);
    return err;
}

seal_err verify_add_mod(seal_mod **list, size_t *n, seal_mod_kind kind, uint32_t object, int page,
                        int revision, const char *fmt, ...) {
    /* one entry per object and kind: a page with ten changed objects is one finding each */
    for (size_t i = 0; i < *n; i++)
        if ((*list)[i].kind == kind && (*list)[i].object == object && object != 0)
            return SEAL_OK;
    if (*n >= 1000)
        return SEAL_OK;
    seal_mod *nl = realloc(*list, (*n + 1) * sizeof *nl);
    if (!nl)
        return SEAL_E_NOMEM;
    *list = nl;
    char *detail = NULL;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        detail = vfmt(fmt, ap);
        va_end(ap);
        if (!detail)
            return SEAL_E_NOMEM;
    }
    nl[(*n)++] = (seal_mod){
        .kind = kind, .object = object, .page = page, .revision = revision, .detail = detail};
    return SEAL_OK;
}

int verify_revision_of(pdf_raw *raw, uint64_t off) {
    size_t n;
    const size_t *ends = pdf_raw_revision_ends(raw, &n);
    for (size_t i = 0; i < n; i++)
        if (off < ends[i])
            return (int)i + 1;
    return 0;
}

const char *seal_mod_kind_name(seal_mod_kind k) {
    static const char *const names[] = {
        [SEAL_MOD_CONTENT] = "content_changed",
        [SEAL_MOD_PAGE_ADDED] = "page_added",
        [SEAL_MOD_PAGE_REMOVED] = "page_removed",
        [SEAL_MOD_ANNOT_ADDED] = "annotation_added",
        [SEAL_MOD_ANNOT_CHANGED] = "annotation_changed",
        [SEAL_MOD_ANNOT_REMOVED] = "annotation_removed",
        [SEAL_MOD_FIELD_ADDED] = "field_added",
        [SEAL_MOD_FIELD_REMOVED] = "field_removed",
        [SEAL_MOD_FIELD_VALUE] = "field_value_changed",
        [SEAL_MOD_SIGDICT] = "signature_dictionary_changed",
        [SEAL_MOD_CATALOG] = "catalog_changed",
        [SEAL_MOD_OBJECT] = "object_changed",
        [SEAL_MOD_UNREADABLE] = "unreadable_object",
        [SEAL_MOD_TRAILING] = "unsigned_trailing_bytes",
    };
    return k <= SEAL_MOD_TRAILING ? names[k] : "?";
}

/* ---- the form's fields (ISO 32000-2 12.7.4) ---- */

typedef struct walk_state {
    pdf_rev *v;
    u64map seen;
    size_t visited;
    size_t *budget;
    form_field_fn fn;
    void *ctx;
} walk_state;

static int walk_field(walk_state *w, pdf_val *ref, const char *prefix, const char *ft, pdf_val *v,
                      int depth) {
    uint32_t num = ref && ref->t == PV_REF ? ref->u.ref.num : 0;
    pdf_val *d = pdf_rev_resolve(w->v, ref);
    if (!d || d->t != PV_DICT || depth > VERIFY_MAX_FIELD_DEPTH ||
        ++w->visited > VERIFY_MAX_FIELDS || *w->budget == 0)
        return 0;
    --*w->budget;
    if (num) {
        if (u64map_has(&w->seen, num))
            return 0; /* a loop in the tree, or a field listed twice */
        if (u64map_put(&w->seen, num, NULL) != BUF_OK)
            return 0;
    }
    /* 12.7.4.2: the partial name /T joins the parent's with a period */
    char *t = pv_text_utf8(pv_dict_get(d, "T"), 512);
    char *name = NULL;
    size_t pl = strlen(prefix), tl = t ? strlen(t) : 0;
    name = malloc(pl + tl + 2);
    int rc = 0;
    if (!name)
        goto out;
    if (pl && tl)
        snprintf(name, pl + tl + 2, "%s.%s", prefix, t);
    else
        snprintf(name, pl + tl + 2, "%s", pl ? prefix : t ? t : "");
    /* 12.7.4.1: /FT and /V are inheritable */
    const char *own_ft = pv_dict_get_name(d, "FT");
    if (own_ft)
        ft = own_ft;
    pdf_val *own_v = pv_dict_get(d, "V");
    if (own_v)
        v = own_v;
    pdf_val *kids = pdf_rev_get(w->v, d, "Kids");
    bool has_field_kids = false;
    if (kids && kids->t == PV_ARRAY) {
        for (size_t i = 0; i < kids->u.arr.n && !rc; i++) {
            pdf_val *kd = pdf_rev_resolve(w->v, kids->u.arr.items[i]);
            /* a kid with /T is a field; one without is a widget of this field (12.7.4.1) */
            if (kd && kd->t == PV_DICT && pv_dict_get(kd, "T")) {
                has_field_kids = true;
                rc = walk_field(w, kids->u.arr.items[i], name, ft, v, depth + 1);
            }
        }
    }
    if (!has_field_kids && !rc) {
        form_field f = {.object = num,
                        .dict = d,
                        .name = name,
                        .ft = ft,
                        .v = v,
                        .lock = pdf_rev_get(w->v, d, "Lock")};
        rc = w->fn(&f, w->ctx);
    }
out:
    free(t);
    free(name);
    return rc;
}

int form_walk(pdf_rev *v, size_t *budget, form_field_fn fn, void *ctx) {
    pdf_val *root = pdf_rev_get(v, pdf_rev_trailer(v), "Root");
    pdf_val *form = pdf_rev_get(v, root, "AcroForm");
    pdf_val *fields = pdf_rev_get(v, form, "Fields");
    walk_state w = {.v = v, .fn = fn, .ctx = ctx, .budget = budget};
    u64map_init(&w.seen, VERIFY_MAX_FIELDS);
    int rc = 0;
    if (fields && fields->t == PV_ARRAY)
        for (size_t i = 0; i < fields->u.arr.n && !rc; i++)
            rc = walk_field(&w, fields->u.arr.items[i], "", NULL, NULL, 0);
    u64map_free(&w.seen);
    return rc;
}

/* ---- pages (ISO 32000-2 7.7.3.2, 7.7.3.3) ---- */

static void problem(pagelist *pl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(pagelist *pl, const char *fmt, ...) {
    if (pl->problem[0])
        return; /* the first one found is enough to name */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pl->problem, sizeof pl->problem, fmt, ap);
    va_end(ap);
}

static void pages_walk(pdf_rev *v, pdf_val *ref, pagelist *pl, u64map *seen, int depth) {
    if (!ref || ref->t != PV_REF) {
        problem(pl, "the page tree holds a direct object or nothing where a page should be");
        return;
    }
    uint32_t num = ref->u.ref.num;
    if (depth > VERIFY_MAX_PAGE_DEPTH) {
        problem(pl, "the page tree is more than %d levels deep", VERIFY_MAX_PAGE_DEPTH);
        return;
    }
    if (pl->n >= VERIFY_MAX_PAGES) {
        problem(pl, "the document has more than %d pages", VERIFY_MAX_PAGES);
        return;
    }
    if (u64map_has(seen, num)) {
        problem(pl, "the page tree loops back to object %u", num);
        return;
    }
    if (u64map_put(seen, num, NULL) != BUF_OK)
        return;
    pdf_val *d = pdf_rev_resolve(v, ref);
    if (!d || d->t != PV_DICT) {
        problem(pl, "page tree node %u is not a dictionary", num);
        return;
    }
    pdf_val *kids = pdf_rev_get(v, d, "Kids");
    if (pv_is_name(pv_dict_get(d, "Type"), "Pages") || (kids && kids->t == PV_ARRAY)) {
        if (!kids || kids->t != PV_ARRAY)
            problem(pl, "page tree node %u has no /Kids array", num);
        for (size_t i = 0; kids && kids->t == PV_ARRAY && i < kids->u.arr.n; i++)
            pages_walk(v, kids->u.arr.items[i], pl, seen, depth + 1);
        return;
    }
    if (pl->n == pl->cap) {
        size_t ncap = pl->cap ? 2 * pl->cap : 16;
        uint32_t *n = realloc(pl->nums, ncap * sizeof *n);
        if (!n)
            return;
        pl->nums = n;
        pl->cap = ncap;
    }
    pl->nums[pl->n++] = num;
}

void pages_list(pdf_rev *v, pagelist *pl) {
    u64map seen;
    u64map_init(&seen, VERIFY_MAX_PAGES * 2);
    pdf_val *root = pdf_rev_get(v, pdf_rev_trailer(v), "Root");
    if (!root || root->t != PV_DICT)
        problem(pl, "the catalog (/Root) cannot be read");
    else
        pages_walk(v, pv_dict_get(root, "Pages"), pl, &seen, 0);
    u64map_free(&seen);
}

/* ---- finding the signatures ---- */

typedef struct sig_cand {
    uint32_t object;  /* the signature dictionary */
    bool ranges_ok;   /* /ByteRange is two ranges around a gap, inside the file */
    char *field;      /* as named in the newest revision that has it */
    size_t found_end; /* end of that revision */
    seal_sig_report *rep;
    bool structure_ok;
    size_t gap_start, end;
    pdf_val *crypto_sd; /* the signature dictionary whose CMS is to be checked; NULL: none */
} sig_cand;

typedef struct find_ctx {
    sig_cand *c;
    size_t n, cap;
    u64map index; /* signature dictionary -> 1 + its place in c */
    size_t end;
    seal_err err;
} find_ctx;

#define VERIFY_MAX_SIGNATURES 1000

static int collect_sig(const form_field *f, void *vctx) {
    find_ctx *fc = vctx;
    if (!f->ft || strcmp(f->ft, "Sig") != 0 || !f->v || f->v->t != PV_REF)
        return 0;
    uint32_t obj = f->v->u.ref.num;
    size_t at = (size_t)(uintptr_t)u64map_get(&fc->index, obj);
    if (at) {
        sig_cand *c = &fc->c[at - 1];
        if (fc->end >= c->found_end) { /* the newest name wins */
            char *nm = strdup(f->name);
            if (!nm) {
                fc->err = SEAL_E_NOMEM;
                return 1;
            }
            free(c->field);
            c->field = nm;
            c->found_end = fc->end;
        }
        return 0;
    }
    if (fc->n == VERIFY_MAX_SIGNATURES)
        return 0;
    if (fc->n == fc->cap) {
        size_t ncap = fc->cap ? 2 * fc->cap : 8;
        sig_cand *nc = realloc(fc->c, ncap * sizeof *nc);
        if (!nc) {
            fc->err = SEAL_E_NOMEM;
            return 1;
        }
        fc->c = nc;
        fc->cap = ncap;
    }
    sig_cand *c = &fc->c[fc->n];
    memset(c, 0, sizeof *c);
    c->object = obj;
    c->found_end = fc->end;
    c->field = strdup(f->name);
    if (!c->field || u64map_put(&fc->index, obj, (void *)(uintptr_t)(fc->n + 1)) != BUF_OK) {
        free(c->field);
        fc->err = SEAL_E_NOMEM;
        return 1;
    }
    fc->n++;
    return 0;
}

/* Is the signature dictionary obj the value of a signature field of revision v? */
typedef struct holds_ctx {
    uint32_t obj;
    pdf_val *lock;
    char *name;
} holds_ctx;

static int holds_sig(const form_field *f, void *vctx) {
    holds_ctx *h = vctx;
    if (f->ft && strcmp(f->ft, "Sig") == 0 && f->v && f->v->t == PV_REF &&
        f->v->u.ref.num == h->obj) {
        h->lock = f->lock;
        h->name = strdup(f->name);
        return 1;
    }
    return 0;
}

/* ---- one signature ---- */

static seal_err add_err(seal_sig_report *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static seal_err add_err(seal_sig_report *s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    seal_err err = add_errorv(&s->errors, &s->n_errors, fmt, ap);
    va_end(ap);
    return err;
}

/* ETSI EN 319 102-1 5.2.2: a failure of format makes the signature TOTAL_FAILED whatever
 * the cryptography says. */
static void fail_format(seal_sig_report *s) {
    s->indication = CRYPTO_TOTAL_FAILED;
    s->sub = CRYPTO_SUB_FORMAT_FAILURE;
}

/* ISO 32000-2 7.9.4: D:YYYYMMDDHHmmSSOHH'mm', trailing parts optional. */
static time_t pdf_date(const pdf_val *v) {
    if (!v || v->t != PV_STRING)
        return 0;
    const uint8_t *p = v->u.str.p;
    size_t n = v->u.str.n, i = 0;
    if (n >= 2 && p[0] == 'D' && p[1] == ':')
        i = 2;
    int f[6] = {0, 1, 1, 0, 0, 0};
    const int w[6] = {4, 2, 2, 2, 2, 2};
    for (int k = 0; k < 6; k++) {
        if (i + (size_t)w[k] > n || p[i] < '0' || p[i] > '9')
            break;
        int x = 0;
        for (int j = 0; j < w[k]; j++) {
            if (p[i] < '0' || p[i] > '9')
                return 0;
            x = x * 10 + (p[i++] - '0');
        }
        f[k] = x;
    }
    if (f[0] < 1970 || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 ||
        f[5] > 60)
        return 0;
    long off = 0;
    if (i < n && (p[i] == '+' || p[i] == '-') && i + 3 <= n) {
        int sign = p[i] == '-' ? -1 : 1;
        int hh = (p[i + 1] - '0') * 10 + (p[i + 2] - '0'), mm = 0;
        i += 3;
        if (i < n && p[i] == '\'')
            i++;
        if (i + 2 <= n && p[i] >= '0' && p[i] <= '9')
            mm = (p[i] - '0') * 10 + (p[i + 1] - '0');
        if (hh >= 0 && hh < 24 && mm >= 0 && mm < 60)
            off = sign * (hh * 3600L + mm * 60L);
    }
    /* days from the civil date (H. Hinnant's algorithm) */
    int y = f[0] - (f[1] <= 2);
    long era = y / 400;
    long yoe = y - era * 400;
    long doy = (153 * (f[1] + (f[1] > 2 ? -3 : 9)) + 2) / 5 + f[2] - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long days = era * 146097 + doe - 719468;
    return (time_t)(days * 86400L + f[3] * 3600L + f[4] * 60L + f[5] - off);
}

static char *text_of(pdf_val *v) {
    return v && (v->t == PV_STRING || v->t == PV_NAME) ? pv_text_utf8(v, 1024) : NULL;
}

/* The length of the BER/DER value at p (X.690 8.1): tag, then a definite length or, for a
 * constructed value, the indefinite form ended by two zero octets (8.1.3.6), as producers
 * of PKCS#7 still write. 0 when the bytes do not hold a whole value; depth bounds nesting. */
static size_t ber_length(const uint8_t *p, size_t n, int depth) {
    if (n < 2 || depth > 64)
        return 0;
    size_t i = 1;
    if ((p[0] & 0x1F) == 0x1F) { /* high tag number form (8.1.2.4) */
        while (i < n && i < 6 && (p[i] & 0x80))
            i++;
        if (++i >= n)
            return 0;
    }
    uint8_t l = p[i++];
    if (l == 0x80) {
        if (!(p[0] & 0x20))
            return 0; /* the indefinite form is for constructed values only */
        while (i + 2 <= n) {
            if (p[i] == 0 && p[i + 1] == 0)
                return i + 2;
            size_t k = ber_length(p + i, n - i, depth + 1);
            if (k == 0)
                return 0;
            i += k;
        }
        return 0;
    }
    size_t len = 0;
    if (l < 0x80) {
        len = l;
    } else {
        size_t k = l & 0x7F;
        if (k == 0 || k > 4 || n - i < k)
            return 0;
        for (size_t j = 0; j < k; j++)
            len = len << 8 | p[i++];
    }
    return len <= n - i ? i + len : 0;
}

typedef struct doc_ctx {
    pdf_raw *raw;
    const uint8_t *data;
    size_t len;
    const seal_verify_opts *opts;
    crypto_vdata *vdata;
    sig_cand *cands;
    size_t n_cands;
    size_t field_budget; /* fields the walks over this document may still visit */
} doc_ctx;

/* ISO 32000-2 12.8.1 and ETSI EN 319 142-1 5.1: the /ByteRange covers the revision the
 * signature belongs to, but for the /Contents hex string, which the dictionary of that same
 * revision holds. */
static seal_err check_structure(doc_ctx *dc, sig_cand *c, pdf_rev **signed_rev, pdf_val **sd_out,
                                holds_ctx *holder) {
    seal_sig_report *s = c->rep;
    pdf_raw *raw = dc->raw;
    seal_err err = SEAL_OK;
    pdf_rev *found;
    *signed_rev = NULL;
    *sd_out = NULL;
    if (pdf_raw_rev(&found, raw, c->found_end) != PDF_OK)
        return add_err(s, "the revision holding the signature cannot be read");
    const pdf_robj *o;
    if (pdf_rev_obj(&o, found, c->object) != PDF_OK || o->val->t != PV_DICT) {
        fail_format(s);
        return add_err(s, "the signature dictionary (object %u) cannot be read", c->object);
    }
    pdf_val *br = pv_dict_get(o->val, "ByteRange");
    long long r[4];
    if (!br || br->t != PV_ARRAY || br->u.arr.n != 4) {
        fail_format(s);
        return add_err(s, "/ByteRange is not an array of four integers");
    }
    for (int i = 0; i < 4; i++) {
        pdf_val *it = br->u.arr.items[i];
        if (it->t != PV_INT || it->u.i < 0) {
            fail_format(s);
            return add_err(s, "/ByteRange is not an array of four non-negative integers");
        }
        r[i] = s->byterange[i] = it->u.i;
    }
    unsigned long long a = (unsigned long long)r[0], b = (unsigned long long)r[1],
                       cc = (unsigned long long)r[2], d = (unsigned long long)r[3];
    if (a != 0) {
        fail_format(s);
        err = add_err(s, "/ByteRange does not start at byte 0");
    } else if (b == 0 || cc <= b || cc > dc->len || d > dc->len - cc) {
        fail_format(s);
        err = add_err(s,
                      "/ByteRange [%llu %llu %llu %llu] does not describe two ranges around a gap "
                      "inside the file (%zu bytes)",
                      a, b, cc, d, dc->len);
    }
    if (err != SEAL_OK || s->indication == CRYPTO_TOTAL_FAILED)
        return err;
    size_t end = (size_t)(cc + d);
    c->ranges_ok = true;
    c->gap_start = (size_t)b;
    c->end = end;
    s->coverage = SEAL_COVER_PARTIAL;
    /* the signed bytes end where a revision ends (7.5.6) */
    int rev = pdf_raw_revision_at(raw, end);
    pdf_rev *sv = NULL;
    if (rev < 0 || pdf_raw_rev(&sv, raw, end) != PDF_OK) {
        fail_format(s);
        return add_err(s,
                       "the signed bytes end at byte %zu, which is not the end of a readable "
                       "revision (startxref ... %%%%EOF)",
                       end);
    }
    s->revision = rev + 1;
    /* the dictionary of the signed revision, with the same /ByteRange */
    const pdf_robj *so;
    if (pdf_rev_obj(&so, sv, c->object) != PDF_OK || so->val->t != PV_DICT) {
        fail_format(s);
        return add_err(s,
                       "the signature dictionary (object %u) is not part of the revision it "
                       "signs: it was added afterwards",
                       c->object);
    }
    if (so->loc.type != 1) {
        fail_format(s);
        return add_err(s, "the signature dictionary is inside an object stream, so its /Contents "
                          "cannot be the gap of /ByteRange");
    }
    if (!pdf_val_equal(pv_dict_get(so->val, "ByteRange"), br)) {
        fail_format(s);
        return add_err(s, "/ByteRange differs from the one in the revision it signs");
    }
    pdf_val *contents = pv_dict_get(so->val, "Contents");
    if (!contents || contents->t != PV_STRING) {
        fail_format(s);
        return add_err(s, "the signature dictionary has no /Contents string");
    }
    if (contents->off != b || contents->end != cc || dc->data[b] != '<' ||
        dc->data[cc - 1] != '>') {
        fail_format(s);
        return add_err(
            s,
            "the gap of /ByteRange (bytes %llu to %llu) is not exactly the /Contents hex "
            "string (bytes %zu to %zu): bytes outside the signature value are unsigned",
            b, cc, contents->off, contents->end);
    }
    /* the field of the signed revision holds it */
    if (form_walk(sv, &dc->field_budget, holds_sig, holder) == 0) {
        fail_format(s);
        return add_err(s, "no signature field of the revision it signs holds this signature "
                          "(it was copied into the document afterwards)");
    }
    if (!holder->name)
        return SEAL_E_NOMEM;
    s->coverage = end == dc->len ? SEAL_COVER_ENTIRE_FILE : SEAL_COVER_ENTIRE_REVISION;
    c->structure_ok = true;
    *signed_rev = sv;
    *sd_out = so->val;
    return SEAL_OK;
}

/* ISO 32000-2 12.8.2.2: a certification signature's /Reference names DocMDP with /P;
 * 12.8.2.4: FieldMDP (also the field's /Lock, 12.7.5.5) names the fields it locks. */
static void read_transforms(seal_sig_report *s, mdp_perms *p, pdf_rev *v, pdf_val *sd,
                            pdf_val *lock) {
    int docmdp = 0;
    pdf_val *fieldmdp = lock;
    pdf_val *refs = pdf_rev_get(v, sd, "Reference");
    for (size_t i = 0; refs && refs->t == PV_ARRAY && i < refs->u.arr.n && i < 16; i++) {
        pdf_val *r = pdf_rev_resolve(v, refs->u.arr.items[i]);
        const char *tm = pv_dict_get_name(r, "TransformMethod");
        pdf_val *params = pdf_rev_get(v, r, "TransformParams");
        if (tm && strcmp(tm, "DocMDP") == 0) {
            long long P = 2;
            pv_dict_get_int(params, "P", &P);
            docmdp = P >= 1 && P <= 3 ? (int)P : 2;
        } else if (tm && strcmp(tm, "FieldMDP") == 0 && params && params->t == PV_DICT) {
            fieldmdp = params;
        }
    }
    s->docmdp = docmdp;
    /* An approval signature approves the field values it saw: eseal reports later changes
     * to them; a certification signature with P >= 2 permits form filling. */
    p->sign = docmdp != 1;
    p->fill = docmdp >= 2;
    p->annots = docmdp == 3;
    if (fieldmdp && fieldmdp->t == PV_DICT) {
        const char *act = pv_dict_get_name(fieldmdp, "Action");
        p->lock = !act                          ? 0
                  : strcmp(act, "All") == 0     ? 1
                  : strcmp(act, "Include") == 0 ? 2
                  : strcmp(act, "Exclude") == 0 ? 3
                                                : 0;
        pdf_val *fl = pdf_rev_get(v, fieldmdp, "Fields");
        if (fl && fl->t == PV_ARRAY && fl->u.arr.n <= 10000) {
            p->lock_fields = calloc(fl->u.arr.n + 1, sizeof *p->lock_fields);
            for (size_t i = 0; p->lock_fields && i < fl->u.arr.n; i++) {
                char *nm = text_of(pdf_rev_resolve(v, fl->u.arr.items[i]));
                if (nm)
                    p->lock_fields[p->n_lock_fields++] = nm;
            }
        }
    }
}

static crypto_sig_kind sig_kind(const char *subfilter, bool *known) {
    *known = true;
    if (subfilter && strcmp(subfilter, "ETSI.CAdES.detached") == 0)
        return CRYPTO_SIG_CADES;
    if (subfilter && strcmp(subfilter, "adbe.pkcs7.detached") == 0)
        return CRYPTO_SIG_PKCS7;
    if (subfilter && strcmp(subfilter, "adbe.pkcs7.sha1") == 0)
        return CRYPTO_SIG_PKCS7_SHA1;
    if (subfilter && strcmp(subfilter, "ETSI.RFC3161") == 0)
        return CRYPTO_SIG_DOC_TIMESTAMP;
    *known = false;
    return CRYPTO_SIG_PKCS7;
}

static int hexval(uint8_t c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static seal_err check_crypto(doc_ctx *dc, sig_cand *c, pdf_val *sd, time_t poe) {
    seal_sig_report *s = c->rep;
    pdf_val *contents = pv_dict_get(sd, "Contents");
    bool known;
    crypto_sig_kind kind = sig_kind(s->subfilter, &known);
    if (!known) {
        fail_format(s);
        return add_err(s, "unsupported /SubFilter %s", s->subfilter ? s->subfilter : "(none)");
    }
    if (s->doc_timestamp != (kind == CRYPTO_SIG_DOC_TIMESTAMP)) {
        fail_format(s);
        return add_err(s, "/Type %s does not go with /SubFilter %s",
                       s->doc_timestamp ? "DocTimeStamp" : "Sig", s->subfilter);
    }
    /* the hex string as written (the parser decoded it; hex digits are re-read only to know
     * the value is hexadecimal, 12.8.1 requires it) */
    const uint8_t *raw = dc->data + contents->off;
    for (size_t i = 1; i + 1 < contents->end - contents->off; i++) {
        uint8_t ch = raw[i];
        bool space = ch == 0 || ch == 9 || ch == 10 || ch == 12 || ch == 13 || ch == 32;
        if (hexval(ch) < 0 && !space) {
            fail_format(s);
            return add_err(s, "/Contents is not a hexadecimal string");
        }
    }
    const uint8_t *p = contents->u.str.p;
    size_t n = contents->u.str.n, der = n && p[0] == 0x30 ? ber_length(p, n, 0) : 0;
    bool zero = true;
    for (size_t i = 0; i < n && zero; i++)
        zero = p[i] == 0;
    if (zero) {
        fail_format(s);
        return add_err(s, "/Contents holds no signature (only zero bytes): nothing was signed");
    }
    if (der == 0) {
        fail_format(s);
        return add_err(s, "/Contents does not hold a DER-encoded CMS object");
    }
    /* what follows the CMS inside /Contents is padding; it is in the gap, so it changes
     * nothing that is shown or signed */
    struct iovec parts[2] = {
        {.iov_base = (void *)(uintptr_t)dc->data, .iov_len = (size_t)s->byterange[1]},
        {.iov_base = (void *)(uintptr_t)(dc->data + s->byterange[2]),
         .iov_len = (size_t)s->byterange[3]}};
    crypto_verify_opts co = {.trust = dc->opts->trust,
                             .maker_trust = dc->opts->maker_trust,
                             .vdata = dc->vdata,
                             .claimed_time = pdf_date(pv_dict_get(sd, "M")),
                             .now = dc->opts->now,
                             .online = dc->opts->online,
                             .timeout_ms = dc->opts->timeout_ms,
                             .poe_time = poe};
    crypto_err ce = crypto_verify_signature(&s->crypto, p, der, kind, parts, 2, &co);
    if (ce == CRYPTO_E_NOMEM)
        return SEAL_E_NOMEM;
    if (ce != CRYPTO_OK) {
        fail_format(s);
        return add_err(s, "the signature could not be checked: %s", crypto_errdetail());
    }
    s->integrity = s->crypto->integrity;
    const crypto_verify_result *cr = s->crypto;
    if (kind == CRYPTO_SIG_DOC_TIMESTAMP && cr->n_timestamps) {
        /* the token's own time; a proof of existence only when the token passed */
        s->signing_time = cr->timestamps[0].gen_time;
        s->time_source = cr->timestamps[0].indication == CRYPTO_TOTAL_PASSED ? CRYPTO_TIME_TIMESTAMP
                                                                             : CRYPTO_TIME_CLAIMED;
    } else if (cr->time_source != CRYPTO_TIME_NONE) {
        s->signing_time = cr->signing_time;
        s->time_source = cr->time_source;
    } else if (co.claimed_time) {
        s->signing_time = co.claimed_time;
        s->time_source = CRYPTO_TIME_CLAIMED;
    }
    /* format failures found here already set TOTAL_FAILED; the rest comes from the CMS */
    if (s->indication != CRYPTO_TOTAL_FAILED) {
        s->indication = s->crypto->indication;
        s->sub = s->crypto->sub;
    }
    if (s->crypto->cause)
        return add_err(s, "%s", s->crypto->cause);
    return SEAL_OK;
}

/* DESIGN.md "Seals": the picture shown on the page for a signature that carries a GB/T 38540
 * seal must be the seal's picture, in every appearance of its widget, with nothing added or
 * changed after the signed revision drawn over it (seal/picture.c). A signature that fails only
 * this is TOTAL_FAILED, FORMAT_FAILURE, the cause named first. */
static seal_err check_seal_picture(doc_ctx *dc, sig_cand *c, pdf_rev *signed_rev) {
    seal_sig_report *s = c->rep;
    const crypto_seal_check *sc = s->crypto ? s->crypto->seal : NULL;
    if (!sc || !sc->ses)
        return SEAL_OK;
    const crypto_ses *ses = sc->ses;
    seal_picture_ref pic = {.type = ses->picture_type,
                            .bytes = ses->picture,
                            .len = ses->picture_len,
                            .width_mm = ses->width_mm,
                            .height_mm = ses->height_mm};
    seal_err err = verify_seal_picture(&s->seal_picture_cause, s->seal_picture_px, dc->raw,
                                       c->structure_ok ? signed_rev : NULL, c->object, &pic);
    if (err != SEAL_OK)
        return err;
    s->seal_picture_checked = true;
    s->seal_picture_shown = !s->seal_picture_cause;
    if (s->seal_picture_shown)
        return SEAL_OK;
    bool first = s->indication != CRYPTO_TOTAL_FAILED;
    if (first) {
        s->indication = CRYPTO_TOTAL_FAILED;
        s->sub = CRYPTO_SUB_FORMAT_FAILURE;
    }
    err = add_err(s, "%s", s->seal_picture_cause);
    if (err == SEAL_OK && first && s->n_errors > 1) {
        char *last = s->errors[s->n_errors - 1];
        memmove(s->errors + 1, s->errors, (s->n_errors - 1) * sizeof *s->errors);
        s->errors[0] = last;
    }
    return err;
}

/* ---- validation data of the document (ETSI EN 319 142-1 5.4.2 /DSS) ---- */

#define VERIFY_MAX_DSS_ITEMS 10000
#define VERIFY_MAX_DSS_ITEM ((size_t)4 << 20)

static seal_err read_dss(doc_ctx *dc) {
    pdf_rev *v = pdf_raw_final(dc->raw);
    pdf_val *root = pdf_rev_get(v, pdf_rev_trailer(v), "Root");
    pdf_val *dss = pdf_rev_get(v, root, "DSS");
    static const char *const keys[] = {"Certs", "CRLs", "OCSPs"};
    seal_err err = SEAL_OK;
    if (crypto_vdata_new(&dc->vdata) != CRYPTO_OK)
        return SEAL_E_NOMEM;
    size_t count = 0;
    for (int k = 0; k < 3 && err == SEAL_OK; k++) {
        pdf_val *arr = pdf_rev_get(v, dss, keys[k]);
        for (size_t i = 0; arr && arr->t == PV_ARRAY && i < arr->u.arr.n; i++) {
            pdf_val *it = arr->u.arr.items[i];
            const pdf_robj *o;
            if (it->t != PV_REF || pdf_rev_obj(&o, v, it->u.ref.num) != PDF_OK || !o->stream)
                continue;
            if (++count > VERIFY_MAX_DSS_ITEMS)
                break;
            buf b;
            buf_init(&b, VERIFY_MAX_DSS_ITEM);
            if (pdf_rev_stream_data(&b, v, o, VERIFY_MAX_DSS_ITEM) == PDF_OK) {
                crypto_err ce = k == 0   ? crypto_vdata_add_cert(dc->vdata, b.data, b.len)
                                : k == 1 ? crypto_vdata_add_crl(dc->vdata, b.data, b.len)
                                         : crypto_vdata_add_ocsp(dc->vdata, b.data, b.len);
                if (ce == CRYPTO_E_NOMEM)
                    err = SEAL_E_NOMEM;
            }
            buf_free(&b);
        }
    }
    return err;
}

/* ---- the document ---- */

static int rank(crypto_indication i) {
    return i == CRYPTO_TOTAL_FAILED ? 2 : i == CRYPTO_INDETERMINATE ? 1 : 0;
}

static int cmp_cand(const void *pa, const void *pb) {
    const sig_cand *a = pa, *b = pb;
    if (a->end != b->end)
        return a->end < b->end ? -1 : 1;
    return a->object < b->object ? -1 : a->object > b->object;
}

static void free_perms(mdp_perms *p) {
    for (size_t i = 0; i < p->n_lock_fields; i++)
        free(p->lock_fields[i]);
    free(p->lock_fields);
}

static seal_err verify_one(doc_ctx *dc, sig_cand *c, pdf_rev **sv, pdf_val **sd,
                           holds_ctx *holder) {
    seal_sig_report *s = c->rep;
    pdf_rev *found;
    const pdf_robj *o = NULL;
    s->object = c->object;
    s->field = strdup(c->field);
    if (!s->field)
        return SEAL_E_NOMEM;
    s->indication = CRYPTO_INDETERMINATE;
    s->coverage = SEAL_COVER_PARTIAL;
    /* what the newest revision says the signature is, until the signed one is known */
    if (pdf_raw_rev(&found, dc->raw, c->found_end) != PDF_OK ||
        pdf_rev_obj(&o, found, c->object) != PDF_OK)
        o = NULL;
    if (o && o->val->t == PV_DICT) {
        s->subfilter = text_of(pv_dict_get(o->val, "SubFilter"));
        s->doc_timestamp = pv_is_name(pv_dict_get(o->val, "Type"), "DocTimeStamp");
    }
    seal_err err = check_structure(dc, c, sv, sd, holder);
    if (err == SEAL_OK && !*sd && c->ranges_ok && o && o->val->t == PV_DICT &&
        pv_dict_get(o->val, "Contents")) {
        /* the structure failed, but what the bytes say is still worth reporting */
        s->subfilter = s->subfilter ? s->subfilter : text_of(pv_dict_get(o->val, "SubFilter"));
        c->crypto_sd = o->val;
        return SEAL_OK;
    }
    if (err != SEAL_OK || !*sd)
        return err;
    /* from here on, everything is read from the signed revision */
    free(s->field);
    s->field = strdup(holder->name);
    free(s->subfilter);
    s->subfilter = text_of(pv_dict_get(*sd, "SubFilter"));
    s->doc_timestamp = pv_is_name(pv_dict_get(*sd, "Type"), "DocTimeStamp");
    s->reason = text_of(pdf_rev_resolve(*sv, pv_dict_get(*sd, "Reason")));
    s->location = text_of(pdf_rev_resolve(*sv, pv_dict_get(*sd, "Location")));
    s->name = text_of(pdf_rev_resolve(*sv, pv_dict_get(*sd, "Name")));
    s->claimed_time = text_of(pv_dict_get(*sd, "M"));
    if (!s->field)
        return SEAL_E_NOMEM;
    c->crypto_sd = *sd;
    return SEAL_OK;
}

/* ETSI EN 319 102-1 5.6.2.1 / 5.6.3 (long-term validation): the signatures are checked newest
 * first, so that a document time-stamp that passed proves everything it covers existed at its
 * time; a signature it covers, and the time-stamps that signature carries, are then validated
 * at that time rather than now (the earliest such proof counts). */
static seal_err check_all_crypto(doc_ctx *dc, find_ctx *fc) {
    seal_err err = SEAL_OK;
    size_t *order = calloc(fc->n, sizeof *order);
    if (!order)
        return SEAL_E_NOMEM;
    for (size_t i = 0; i < fc->n; i++)
        order[i] = i;
    for (size_t i = 1; i < fc->n; i++) /* insertion sort, latest end first */
        for (size_t j = i; j > 0 && fc->c[order[j - 1]].end < fc->c[order[j]].end; j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (size_t k = 0; k < fc->n && err == SEAL_OK; k++) {
        sig_cand *c = &fc->c[order[k]];
        if (!c->crypto_sd)
            continue;
        time_t poe = 0;
        for (size_t m = 0; m < k; m++) {
            const sig_cand *t = &fc->c[order[m]];
            const seal_sig_report *ts = t->rep;
            if (t->structure_ok && ts->doc_timestamp && ts->indication == CRYPTO_TOTAL_PASSED &&
                ts->time_source == CRYPTO_TIME_TIMESTAMP && c->structure_ok &&
                c->end <= t->gap_start && (!poe || ts->signing_time < poe))
                poe = ts->signing_time;
        }
        err = check_crypto(dc, c, c->crypto_sd, poe);
    }
    free(order);
    return err;
}

static seal_err verify_doc(seal_verify_report *r, doc_ctx *dc) {
    seal_err err = SEAL_OK;
    size_t n_ends;
    const size_t *ends = pdf_raw_revision_ends(dc->raw, &n_ends);
    r->n_revisions = n_ends;
    r->trailing = pdf_raw_trailing(dc->raw);
    r->encrypted = pdf_raw_encrypted(dc->raw);
    /* the document as readers will show it: damage is reported, whatever the signatures say */
    pagelist pl = {0};
    pages_list(pdf_raw_final(dc->raw), &pl);
    r->n_pages = pl.n;
    free(pl.nums);
    if (pl.problem[0])
        err = verify_add_error(&r->errors, &r->n_errors, "%s", pl.problem);
    if (err != SEAL_OK)
        return err;
    /* every revision's fields: a signature whose field a later revision removed is still
     * reported (and its removal listed) */
    find_ctx fc = {0};
    u64map_init(&fc.index, VERIFY_MAX_SIGNATURES);
    for (size_t i = n_ends; i-- > 0 && fc.err == SEAL_OK;) {
        pdf_rev *v;
        if (pdf_raw_rev(&v, dc->raw, ends[i]) != PDF_OK)
            continue;
        fc.end = ends[i];
        form_walk(v, &dc->field_budget, collect_sig, &fc);
    }
    u64map_free(&fc.index);
    dc->cands = fc.c;
    dc->n_cands = fc.n;
    if (fc.err != SEAL_OK)
        return fc.err;
    if (r->trailing) {
        /* 7.5.6: what follows the last readable revision is no revision; readers that repair
         * files may still show it */
        size_t from = dc->len - r->trailing;
        err = verify_add_error(&r->errors, &r->n_errors,
                               "the last %zu bytes (from offset %zu) are not a readable revision: "
                               "no signature covers them, yet repairing readers may show them",
                               r->trailing, from);
        bool sig = false;
        for (size_t i = from; i + 10 <= dc->len && !sig; i++)
            sig = memcmp(dc->data + i, "/ByteRange", 10) == 0;
        if (err == SEAL_OK && sig && fc.n == 0) {
            r->indication = CRYPTO_TOTAL_FAILED;
            r->sub = CRYPTO_SUB_FORMAT_FAILURE;
            r->damaged_signature = true;
            err = verify_add_error(&r->errors, &r->n_errors,
                                   "they hold a signature dictionary, which cannot be verified "
                                   "outside a readable revision");
        }
        if (err != SEAL_OK)
            return err;
    }
    if (fc.n == 0)
        return SEAL_OK;
    err = read_dss(dc);
    r->sigs = calloc(fc.n, sizeof *r->sigs);
    if (!r->sigs)
        return SEAL_E_NOMEM;
    r->n_sigs = fc.n;
    pdf_rev **svs = calloc(fc.n, sizeof *svs);
    pdf_val **sds = calloc(fc.n, sizeof *sds);
    holds_ctx *holders = calloc(fc.n, sizeof *holders);
    mdp_later_sig *later = calloc(fc.n, sizeof *later);
    if (!svs || !sds || !holders || !later)
        err = SEAL_E_NOMEM;
    for (size_t i = 0; err == SEAL_OK && i < fc.n; i++) {
        fc.c[i].rep = &r->sigs[i];
        holders[i].obj = fc.c[i].object;
        err = verify_one(dc, &fc.c[i], &svs[i], &sds[i], &holders[i]);
    }
    if (err == SEAL_OK)
        err = check_all_crypto(dc, &fc);
    for (size_t i = 0; err == SEAL_OK && i < fc.n; i++)
        err = check_seal_picture(dc, &fc.c[i], svs[i]);
    /* ISO 32000-2 12.8.1: signatures in document order; each later one's /Contents lies in
     * bytes no earlier one signs */
    size_t *order = calloc(fc.n, sizeof *order);
    if (err == SEAL_OK && !order)
        err = SEAL_E_NOMEM;
    for (size_t i = 0; err == SEAL_OK && i < fc.n; i++)
        order[i] = i;
    for (size_t i = 1; err == SEAL_OK && i < fc.n; i++) /* insertion sort by signed end */
        for (size_t j = i; j > 0 && cmp_cand(&fc.c[order[j - 1]], &fc.c[order[j]]) > 0; j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    size_t prev = SIZE_MAX, n_later = 0;
    for (size_t k = 0; err == SEAL_OK && k < fc.n; k++) {
        sig_cand *c = &fc.c[order[k]];
        if (!c->structure_ok)
            continue;
        if (prev != SIZE_MAX && (c->gap_start < fc.c[prev].end || c->end == fc.c[prev].end)) {
            c->structure_ok = false;
            fail_format(c->rep);
            err = add_err(c->rep, "its /Contents lies inside the bytes signature %s signs",
                          fc.c[prev].rep->field);
            continue;
        }
        prev = order[k];
        later[n_later++] = (mdp_later_sig){.object = c->object, .end = c->end};
    }
    /* what changed after each signed revision */
    for (size_t i = 0; err == SEAL_OK && i < fc.n; i++) {
        sig_cand *c = &fc.c[i];
        seal_sig_report *s = c->rep;
        if (!c->structure_ok)
            continue;
        mdp_input in = {.raw = dc->raw, .signed_rev = svs[i], .final = pdf_raw_final(dc->raw)};
        read_transforms(s, &in.perms, svs[i], sds[i], holders[i].lock);
        /* the certification signature's permissions bound every later signature's */
        for (size_t j = 0; j < fc.n; j++) {
            if (j != i && fc.c[j].structure_ok && fc.c[j].end <= c->end && r->sigs[j].docmdp) {
                int P = r->sigs[j].docmdp;
                in.perms.sign = in.perms.sign && P != 1;
                in.perms.annots = in.perms.annots && P == 3;
            }
        }
        size_t nl = 0;
        while (nl < n_later && later[nl].end <= c->end)
            nl++;
        in.later = later + nl;
        in.n_later = n_later - nl;
        if (svs[i] != in.final)
            err = mdp_analyse(s, &in);
        if (err == SEAL_E_DOCUMENT) {
            /* too large to compare within the bounds: say so rather than guess */
            if (s->indication == CRYPTO_TOTAL_PASSED)
                s->indication = CRYPTO_INDETERMINATE;
            err = add_err(s, "what changed after this signature was not fully checked: %s",
                          seal_errdetail());
        }
        if (err == SEAL_OK && r->trailing)
            err = verify_add_mod(&s->mods, &s->n_mods, SEAL_MOD_TRAILING, 0, 0, 0,
                                 "%zu bytes after the last revision", r->trailing);
        if (err == SEAL_OK && s->n_mods) {
            if (s->indication != CRYPTO_TOTAL_FAILED) {
                s->indication = CRYPTO_TOTAL_FAILED;
                s->sub = CRYPTO_SUB_FORMAT_FAILURE;
            }
            err = add_err(s,
                          "the document was changed after this signature in ways it does not "
                          "permit (%zu change%s listed)",
                          s->n_mods, s->n_mods == 1 ? "" : "s");
            /* the cause of the verdict goes first */
            if (err == SEAL_OK && s->n_errors > 1) {
                char *last = s->errors[s->n_errors - 1];
                memmove(s->errors + 1, s->errors, (s->n_errors - 1) * sizeof *s->errors);
                s->errors[0] = last;
            }
        }
        if (err == SEAL_OK && c->end != dc->len && s->coverage == SEAL_COVER_ENTIRE_FILE)
            s->coverage = SEAL_COVER_ENTIRE_REVISION;
        free_perms(&in.perms);
    }
    for (size_t i = 0; holders && i < fc.n; i++)
        free(holders[i].name);
    free(order);
    free(svs);
    free(sds);
    free(holders);
    free(later);
    return err;
}

static seal_err new_report(seal_verify_report **out, const char *name) {
    seal_verify_report *r = calloc(1, sizeof *r);
    if (!r)
        return SEAL_E_NOMEM;
    r->file = strdup(name ? name : "-");
    if (!r->file) {
        free(r);
        return SEAL_E_NOMEM;
    }
    *out = r;
    return SEAL_OK;
}

seal_err seal_verify_memory(seal_verify_report **out, const uint8_t *data, size_t len,
                            const char *name, const seal_verify_opts *opts) {
    seal_verify_report *r = NULL;
    doc_ctx dc = {.data = data, .len = len, .opts = opts, .field_budget = VERIFY_MAX_FIELD_VISITS};
    *out = NULL;
    seal_err err = new_report(&r, name);
    if (err != SEAL_OK)
        return err;
    /* ISO 32000-2 7.5.2: "%PDF-" and the version, n.m; readers look in the first 1024 bytes */
    bool header = false, version = false;
    for (size_t i = 0; i + 5 <= len && i < 1024 && !header; i++) {
        header = memcmp(data + i, "%PDF-", 5) == 0;
        version = header && i + 8 <= len && data[i + 5] >= '1' && data[i + 5] <= '9' &&
                  data[i + 6] == '.' && data[i + 7] >= '0' && data[i + 7] <= '9';
    }
    pdf_err pe = pdf_raw_open(&dc.raw, data, len, opts->password);
    if (pe == PDF_E_NOMEM) {
        err = SEAL_E_NOMEM;
        goto out;
    }
    if (pe != PDF_OK) {
        r->indication = pe == PDF_E_PASSWORD ? CRYPTO_INDETERMINATE : CRYPTO_TOTAL_FAILED;
        r->sub =
            pe == PDF_E_PASSWORD ? CRYPTO_SUB_SIGNED_DATA_NOT_FOUND : CRYPTO_SUB_FORMAT_FAILURE;
        err = verify_add_error(&r->errors, &r->n_errors, "%s%s: %s",
                               header ? "" : "not a PDF (no %PDF- header); ", pdf_strerror(pe),
                               pdf_errdetail());
        goto out;
    }
    r->readable = true;
    if (!header)
        err =
            verify_add_error(&r->errors, &r->n_errors, "no %%PDF- header in the first 1024 bytes");
    else if (!version)
        err = verify_add_error(&r->errors, &r->n_errors,
                               "the %%PDF- header names no version (it should read %%PDF-1.x or "
                               "%%PDF-2.0)");
    if (err == SEAL_OK)
        err = verify_doc(r, &dc);
    for (size_t i = 0; err == SEAL_OK && i < r->n_sigs; i++) {
        if (rank(r->sigs[i].indication) > rank(r->indication) || i == 0) {
            r->indication = r->sigs[i].indication;
            r->sub = r->sigs[i].sub;
        }
    }
    uint32_t first_repaired;
    size_t repaired = dc.raw ? pdf_raw_repaired(dc.raw, &first_repaired) : 0;
    if (err == SEAL_OK && repaired)
        err = verify_add_error(&r->errors, &r->n_errors,
                               "the cross-reference table does not point at %zu object%s it lists "
                               "(object %u first): found by searching the file for their headers, "
                               "as repairing readers do",
                               repaired, repaired == 1 ? "" : "s", first_repaired);
    if (err == SEAL_OK && dc.field_budget == 0) {
        /* the walks stopped early: signatures may have been missed */
        err = verify_add_error(&r->errors, &r->n_errors,
                               "the form has more fields than eseal walks (%d in all revisions): "
                               "not every signature may have been found",
                               VERIFY_MAX_FIELD_VISITS);
        if (r->indication == CRYPTO_TOTAL_PASSED) {
            r->indication = CRYPTO_INDETERMINATE;
            r->sub = CRYPTO_SUB_NONE;
        }
    }
    if (err == SEAL_OK && !header && r->indication == CRYPTO_TOTAL_PASSED) {
        r->indication = CRYPTO_TOTAL_FAILED;
        r->sub = CRYPTO_SUB_FORMAT_FAILURE;
    }
out:
    for (size_t i = 0; i < dc.n_cands; i++)
        free(dc.cands[i].field);
    free(dc.cands);
    crypto_vdata_free(dc.vdata);
    pdf_raw_free(dc.raw);
    if (err == SEAL_OK)
        *out = r;
    else
        seal_verify_report_free(r);
    return err;
}

seal_err seal_verify_file(seal_verify_report **out, const char *path,
                          const seal_verify_opts *opts) {
    uint8_t *data = NULL;
    size_t len = 0;
    size_t max = opts->max_bytes ? opts->max_bytes : PDF_DEFAULT_MAX_BYTES;
    *out = NULL;
    int rc = file_read_all(&data, &len, path, max);
    if (rc == EFBIG) {
        /* refused, not unreadable: a verdict like any other malformed input */
        seal_err err = new_report(out, path);
        if (err == SEAL_OK) {
            (*out)->indication = CRYPTO_TOTAL_FAILED;
            (*out)->sub = CRYPTO_SUB_FORMAT_FAILURE;
            err = verify_add_error(&(*out)->errors, &(*out)->n_errors,
                                   "the file is larger than %zu bytes, the most eseal reads", max);
        }
        return err;
    }
    if (rc != 0)
        return seal_fail(SEAL_E_IO, "%s: %s", path, strerror(rc));
    seal_err err = seal_verify_memory(out, data, len, path, opts);
    free(data);
    return err;
}

static void free_mods(seal_mod *m, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(m[i].detail);
    free(m);
}

static void free_strs(char **s, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

void seal_verify_report_free(seal_verify_report *r) {
    if (!r)
        return;
    for (size_t i = 0; i < r->n_sigs; i++) {
        seal_sig_report *s = &r->sigs[i];
        free(s->field);
        free(s->subfilter);
        free(s->reason);
        free(s->location);
        free(s->name);
        free(s->claimed_time);
        free_mods(s->mods, s->n_mods);
        free_mods(s->permitted, s->n_permitted);
        free_strs(s->errors, s->n_errors);
        free(s->seal_picture_cause);
        crypto_verify_result_free(s->crypto);
    }
    free(r->sigs);
    free_strs(r->errors, r->n_errors);
    free(r->file);
    free(r);
}

const char *seal_verify_indication(const seal_verify_report *r) {
    if (r->readable && r->n_sigs == 0 && !r->damaged_signature)
        return "NO_SIGNATURE";
    return crypto_indication_name(r->indication);
}

bool seal_verify_passed(const seal_verify_report *r) {
    return r->readable && r->n_sigs > 0 && r->indication == CRYPTO_TOTAL_PASSED;
}
