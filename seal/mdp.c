/* What changed after a signed revision, and whether the signature permits it (ISO 32000-2
 * 12.8.2.2 DocMDP, 12.8.2.4 FieldMDP; ETSI EN 319 142-1 5.4 validation data).
 *
 * The final revision is walked from its trailer and every object it uses gets the roles it
 * plays: the catalog, a page, an annotation, a field, the appearance of a signature, content
 * (anything else a page or the catalog uses), ... Each object whose value differs from the
 * signed revision's (or that the signed revision did not have) must be a permitted change in
 * every role it plays: an appearance stream that a new signature rewrites but that a page also
 * draws is a content change. Objects nothing uses are not looked at: they change nothing a
 * reader sees.
 *
 * Values are compared resolved, object by object, so an update that only points an object
 * number at other bytes is a change like any other, and an update that rewrites an object
 * identically is none. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/u64map.h"
#include "seal/internal.h"
#include "seal/verify_internal.h"

enum {
    R_CATALOG = 1 << 0,
    R_PAGES = 1 << 1,
    R_PAGE = 1 << 2,
    R_ANNOTS = 1 << 3, /* an indirect /Annots array */
    R_ANNOT = 1 << 4,
    R_ANNOT_SUB = 1 << 5, /* what an annotation uses: appearance, pop-up, ... */
    R_WIDGET_SIG = 1 << 6,
    R_WIDGET_FORM = 1 << 7,
    R_SIG_AP = 1 << 8,  /* appearance of a signature field's widget */
    R_FORM_AP = 1 << 9, /* appearance of another field's widget */
    R_ACROFORM = 1 << 10,
    R_FIELDS = 1 << 11, /* an indirect /Fields or /Kids array */
    R_FIELD_SIG = 1 << 12,
    R_FIELD_FORM = 1 << 13,
    R_SIGDICT = 1 << 14,
    R_VALUE = 1 << 15, /* an indirect value of a form field */
    R_DSS = 1 << 16,
    R_FREE = 1 << 17, /* document information, metadata: free to change */
    R_DR = 1 << 18,   /* the form's default resources */
    R_EXT = 1 << 19,  /* the catalog's /Extensions */
    R_OTHER = 1 << 20,
    R_WEAK = 1 << 21,     /* a page, annotation or field referred to from content */
    R_SIGNED_AP = 1 << 22 /* appearance of a signature already signed in the signed revision */
};

/* Roles whose whole subtree plays the same role. */
#define R_SUBTREE                                                                                  \
    (R_ANNOT_SUB | R_SIG_AP | R_SIGNED_AP | R_FORM_AP | R_VALUE | R_DSS | R_FREE | R_DR | R_EXT |  \
     R_OTHER | R_SIGDICT)

#define MDP_MAX_VISITS 2000000

typedef struct objinfo {
    uint32_t roles;
    int page; /* 1-based page the object is first seen on */
} objinfo;

typedef struct work {
    uint32_t num, role;
    int page;
    bool sig;
} work;

typedef struct mdp {
    const mdp_input *in;
    seal_sig_report *rep;
    pdf_rev *S, *F;
    u64map info;     /* object number -> objinfo */
    u64map page_num; /* page object -> 1-based index in F */
    size_t visits;
    work *work; /* objects whose values are still to be visited */
    size_t n_work, cap_work;
    seal_err err;
} mdp;

/* ---- roles ---- */

static objinfo *info_of(mdp *m, uint32_t num) {
    objinfo *oi = u64map_get(&m->info, num);
    if (oi)
        return oi;
    oi = calloc(1, sizeof *oi);
    if (!oi || u64map_put(&m->info, num, oi) != BUF_OK) {
        free(oi);
        m->err = SEAL_E_NOMEM;
        return NULL;
    }
    return oi;
}

/* A page, annotation, field or signature met inside content: its roles come from the
 * structure walk, not from whatever refers to it (a link's destination, the structure tree). */
static bool structural(const pdf_val *d) {
    if (!d || d->t != PV_DICT)
        return false;
    const char *type = pv_dict_get_name(d, "Type");
    if (type && (strcmp(type, "Page") == 0 || strcmp(type, "Pages") == 0 ||
                 strcmp(type, "Catalog") == 0 || strcmp(type, "Annot") == 0 ||
                 strcmp(type, "Sig") == 0 || strcmp(type, "DocTimeStamp") == 0))
        return true;
    return pv_dict_get(d, "FT") || (pv_dict_get(d, "Subtype") && pv_dict_get(d, "Rect"));
}

static void visit_in(mdp *m, pdf_val *v, uint32_t role, int page, bool sig, bool inner);

static void visit(mdp *m, pdf_val *v, uint32_t role, int page, bool sig) {
    visit_in(m, v, role, page, sig, false);
}

/* Direct values of an object in a subtree role. */
static void visit_children(mdp *m, pdf_val *v, uint32_t role, int page, bool sig) {
    if (v->t == PV_ARRAY) {
        for (size_t i = 0; i < v->u.arr.n; i++)
            visit_in(m, v->u.arr.items[i], role, page, sig, true);
    } else if (v->t == PV_DICT) {
        for (size_t i = 0; i < v->u.dict.n; i++) {
            const char *k = v->u.dict.kv[i].key;
            if (strcmp(k, "Parent") == 0 || strcmp(k, "P") == 0)
                continue; /* back references: the structure walk reaches those */
            visit_in(m, v->u.dict.kv[i].val, role, page, sig, true);
        }
    }
}

static bool is_widget(const pdf_val *d) {
    return pv_is_name(pv_dict_get(d, "Subtype"), "Widget");
}

static void visit_field(mdp *m, pdf_val *d, int page, bool sig) {
    const char *ft = pv_dict_get_name(d, "FT");
    if (ft)
        sig = strcmp(ft, "Sig") == 0;
    for (size_t i = 0; i < d->u.dict.n; i++) {
        const char *k = d->u.dict.kv[i].key;
        pdf_val *val = d->u.dict.kv[i].val;
        if (strcmp(k, "Kids") == 0) {
            pdf_val *kids = pdf_rev_resolve(m->F, val);
            if (val->t == PV_REF)
                visit(m, val, R_FIELDS, page, sig);
            for (size_t j = 0; kids && kids->t == PV_ARRAY && j < kids->u.arr.n; j++) {
                pdf_val *kid = kids->u.arr.items[j];
                pdf_val *kd = pdf_rev_resolve(m->F, kid);
                if (!kd || kd->t != PV_DICT)
                    continue;
                /* 12.7.4.1: a kid with /T is a field (maybe merged with its widget); one
                 * without is a widget of this field */
                const char *kft = pv_dict_get_name(kd, "FT");
                bool ksig = kft ? strcmp(kft, "Sig") == 0 : sig;
                if (pv_dict_get(kd, "T") || !is_widget(kd))
                    visit(m, kid, ksig ? R_FIELD_SIG : R_FIELD_FORM, page, ksig);
                if (is_widget(kd))
                    visit(m, kid, ksig ? R_WIDGET_SIG : R_WIDGET_FORM, page, ksig);
            }
        } else if (strcmp(k, "V") == 0 || strcmp(k, "DV") == 0) {
            visit(m, val, sig ? R_SIGDICT : R_VALUE, page, sig);
        } else if (strcmp(k, "Parent") == 0 || strcmp(k, "P") == 0 || strcmp(k, "AP") == 0 ||
                   strcmp(k, "MK") == 0 || strcmp(k, "AS") == 0) {
            /* the widget role handles a merged widget's appearance */
        } else {
            visit(m, val, R_OTHER, page, sig);
        }
    }
}

/* Was object num, in the signed revision, the widget of a signature field that had a value: a
 * signature already made? Its appearance is then what that signer (and every later one) saw
 * signed; signing permits filling empty signature fields, not redrawing signed ones (ISO 32000-2
 * 12.8.2.2.2: the permitted changes are to fill in forms and sign; a signed field is neither). */
static bool signed_in_S(mdp *m, uint32_t num) {
    const pdf_robj *o;
    if (!num || pdf_rev_obj(&o, m->S, num) != PDF_OK || !o->val || o->val->t != PV_DICT)
        return false;
    pdf_val *f = o->val;
    for (int depth = 0; f && f->t == PV_DICT && depth < 32; depth++) {
        pdf_val *v = pdf_rev_get(m->S, f, "V");
        if (v && v->t == PV_DICT)
            return true;
        if (pv_dict_get(f, "FT") || pv_dict_get(f, "T"))
            return false; /* the field itself, unsigned */
        f = pdf_rev_get(m->S, f, "Parent");
    }
    return false;
}

static void visit_widget(mdp *m, pdf_val *d, int page, bool sig, bool signed_before) {
    uint32_t ap = signed_before ? R_SIGNED_AP : sig ? R_SIG_AP : R_FORM_AP;
    for (size_t i = 0; i < d->u.dict.n; i++) {
        const char *k = d->u.dict.kv[i].key;
        pdf_val *val = d->u.dict.kv[i].val;
        if (strcmp(k, "AP") == 0 || strcmp(k, "MK") == 0)
            visit(m, val, ap, page, sig);
        else if (strcmp(k, "A") == 0 || strcmp(k, "AA") == 0)
            visit(m, val, R_OTHER, page, sig);
        /* field keys (merged dictionaries) and back references are the field walk's */
    }
}

static void visit_page(mdp *m, pdf_val *d, int page) {
    for (size_t i = 0; i < d->u.dict.n; i++) {
        const char *k = d->u.dict.kv[i].key;
        pdf_val *val = d->u.dict.kv[i].val;
        if (strcmp(k, "Parent") == 0)
            continue;
        if (strcmp(k, "Annots") == 0) {
            pdf_val *annots = pdf_rev_resolve(m->F, val);
            if (val->t == PV_REF)
                visit(m, val, R_ANNOTS, page, false);
            for (size_t j = 0; annots && annots->t == PV_ARRAY && j < annots->u.arr.n; j++) {
                pdf_val *a = pdf_rev_resolve(m->F, annots->u.arr.items[j]);
                /* widgets get their role (signature or form) from the field walk */
                if (a && a->t == PV_DICT && !is_widget(a))
                    visit(m, annots->u.arr.items[j], R_ANNOT, page, false);
                else if (a && a->t == PV_DICT && annots->u.arr.items[j]->t == PV_REF) {
                    objinfo *oi = info_of(m, annots->u.arr.items[j]->u.ref.num);
                    if (oi && !oi->page)
                        oi->page = page;
                }
            }
        } else {
            visit(m, val, R_OTHER, page, false);
        }
    }
}

static void visit_dict_role(mdp *m, pdf_val *d, uint32_t num, uint32_t role, int page, bool sig) {
    if (d->t != PV_DICT && d->t != PV_ARRAY)
        return;
    switch (role) {
    case R_CATALOG:
        for (size_t i = 0; d->t == PV_DICT && i < d->u.dict.n; i++) {
            const char *k = d->u.dict.kv[i].key;
            pdf_val *val = d->u.dict.kv[i].val;
            uint32_t r = strcmp(k, "Pages") == 0        ? R_PAGES
                         : strcmp(k, "AcroForm") == 0   ? R_ACROFORM
                         : strcmp(k, "DSS") == 0        ? R_DSS
                         : strcmp(k, "Metadata") == 0   ? R_FREE
                         : strcmp(k, "Extensions") == 0 ? R_EXT
                                                        : R_OTHER;
            if (strcmp(k, "Perms") == 0) {
                pdf_val *perms = pdf_rev_resolve(m->F, val);
                for (size_t j = 0; perms && perms->t == PV_DICT && j < perms->u.dict.n; j++)
                    visit(m, perms->u.dict.kv[j].val, R_SIGDICT, 0, true);
                continue;
            }
            visit(m, val, r, 0, false);
        }
        break;
    case R_PAGES:
        for (size_t i = 0; d->t == PV_DICT && i < d->u.dict.n; i++) {
            const char *k = d->u.dict.kv[i].key;
            pdf_val *val = d->u.dict.kv[i].val;
            if (strcmp(k, "Parent") == 0)
                continue;
            if (strcmp(k, "Kids") != 0) {
                visit(m, val, R_OTHER, 0, false);
                continue;
            }
            pdf_val *kids = pdf_rev_resolve(m->F, val);
            if (val->t == PV_REF)
                visit(m, val, R_OTHER, 0, false);
            for (size_t j = 0; kids && kids->t == PV_ARRAY && j < kids->u.arr.n; j++) {
                pdf_val *kid = kids->u.arr.items[j];
                pdf_val *kd = pdf_rev_resolve(m->F, kid);
                bool node =
                    kd && kd->t == PV_DICT &&
                    (pv_is_name(pv_dict_get(kd, "Type"), "Pages") || pdf_rev_get(m->F, kd, "Kids"));
                int pg =
                    kid->t == PV_REF ? (int)(uintptr_t)u64map_get(&m->page_num, kid->u.ref.num) : 0;
                visit(m, kid, node ? R_PAGES : R_PAGE, pg, false);
            }
        }
        break;
    case R_PAGE:
        if (d->t == PV_DICT)
            visit_page(m, d, page);
        break;
    case R_ANNOTS:
        break; /* its items are visited with the page */
    case R_ANNOT:
        for (size_t i = 0; d->t == PV_DICT && i < d->u.dict.n; i++) {
            const char *k = d->u.dict.kv[i].key;
            if (strcmp(k, "P") == 0 || strcmp(k, "Parent") == 0 || strcmp(k, "IRT") == 0)
                continue;
            visit(m, d->u.dict.kv[i].val, strcmp(k, "Popup") == 0 ? R_ANNOT : R_ANNOT_SUB, page,
                  false);
        }
        break;
    case R_WIDGET_SIG:
    case R_WIDGET_FORM:
        if (d->t == PV_DICT)
            visit_widget(m, d, page, role == R_WIDGET_SIG,
                         role == R_WIDGET_SIG && signed_in_S(m, num));
        break;
    case R_ACROFORM:
        for (size_t i = 0; d->t == PV_DICT && i < d->u.dict.n; i++) {
            const char *k = d->u.dict.kv[i].key;
            pdf_val *val = d->u.dict.kv[i].val;
            if (strcmp(k, "Fields") == 0) {
                pdf_val *f = pdf_rev_resolve(m->F, val);
                if (val->t == PV_REF)
                    visit(m, val, R_FIELDS, 0, false);
                for (size_t j = 0; f && f->t == PV_ARRAY && j < f->u.arr.n; j++) {
                    pdf_val *fd = pdf_rev_resolve(m->F, f->u.arr.items[j]);
                    bool s = fd && fd->t == PV_DICT && pv_is_name(pv_dict_get(fd, "FT"), "Sig");
                    visit(m, f->u.arr.items[j], s ? R_FIELD_SIG : R_FIELD_FORM, 0, s);
                    if (fd && is_widget(fd))
                        visit(m, f->u.arr.items[j], s ? R_WIDGET_SIG : R_WIDGET_FORM, 0, s);
                }
            } else {
                visit(m, val, strcmp(k, "DR") == 0 ? R_DR : R_OTHER, 0, false);
            }
        }
        break;
    case R_FIELDS:
        break; /* its items are visited with the field */
    case R_FIELD_SIG:
    case R_FIELD_FORM:
        if (d->t == PV_DICT)
            visit_field(m, d, page, role == R_FIELD_SIG);
        break;
    default:
        visit_children(m, d, role, page, sig);
        break;
    }
}

/* inner: v is met inside a subtree role's object rather than where the structure puts it. */
static void visit_in(mdp *m, pdf_val *v, uint32_t role, int page, bool sig, bool inner) {
    if (!v || m->err != SEAL_OK)
        return;
    if (v->t != PV_REF) {
        visit_dict_role(m, v, 0, role, page, sig);
        return;
    }
    if (++m->visits > MDP_MAX_VISITS) {
        m->err = seal_fail(SEAL_E_DOCUMENT, "the document has too many objects to compare");
        return;
    }
    uint32_t num = v->u.ref.num;
    const pdf_robj *o;
    pdf_err pe = pdf_rev_obj(&o, m->F, num);
    pdf_val *d = pe == PDF_OK ? o->val : NULL;
    if (inner && (role & R_SUBTREE) && d && !o->stream && structural(d))
        role = R_WEAK;
    objinfo *oi = info_of(m, num);
    if (!oi || (oi->roles & role))
        return;
    oi->roles |= role;
    if (!oi->page)
        oi->page = page;
    if (!d || role == R_WEAK)
        return;
    /* what the object refers to is visited from the work list, not by recursion: a chain of
     * references may be as long as the document has objects */
    if (m->n_work == m->cap_work) {
        size_t ncap = m->cap_work ? 2 * m->cap_work : 256;
        work *nw = realloc(m->work, ncap * sizeof *nw);
        if (!nw) {
            m->err = SEAL_E_NOMEM;
            return;
        }
        m->work = nw;
        m->cap_work = ncap;
    }
    m->work[m->n_work++] =
        (work){.num = num, .role = role, .page = page ? page : oi->page, .sig = sig};
}

static void drain(mdp *m) {
    while (m->n_work && m->err == SEAL_OK) {
        work w = m->work[--m->n_work];
        const pdf_robj *o;
        if (pdf_rev_obj(&o, m->F, w.num) == PDF_OK)
            visit_dict_role(m, o->val, w.num, w.role, w.page, w.sig);
    }
}

/* ---- comparing ---- */

#define MDP_MAX_STREAM_COMPARE ((size_t)64 << 20)

static bool streams_equal(mdp *m, const pdf_robj *a, const pdf_robj *b) {
    size_t len;
    const uint8_t *data = pdf_raw_data(m->in->raw, &len);
    if (a->data_len == b->data_len &&
        memcmp(data + a->data_off, data + b->data_off, a->data_len) == 0 &&
        !pdf_raw_encrypted(m->in->raw))
        return true;
    buf x, y;
    buf_init(&x, MDP_MAX_STREAM_COMPARE);
    buf_init(&y, MDP_MAX_STREAM_COMPARE);
    bool eq = pdf_rev_stream_data(&x, m->S, a, MDP_MAX_STREAM_COMPARE) == PDF_OK &&
              pdf_rev_stream_data(&y, m->F, b, MDP_MAX_STREAM_COMPARE) == PDF_OK &&
              x.len == y.len && (x.len == 0 || memcmp(x.data, y.data, x.len) == 0);
    buf_free(&x);
    buf_free(&y);
    return eq;
}

/* The keys whose values differ between two dictionaries (either may be NULL). */
typedef struct keydiff {
    const char *keys[64];
    size_t n;
} keydiff;

static void diff_keys(keydiff *kd, const pdf_val *a, const pdf_val *b) {
    kd->n = 0;
    if ((a && a->t == PV_DICT && a->u.dict.n > 256) ||
        (b && b->t == PV_DICT && b->u.dict.n > 256)) {
        /* no dictionary a role permits changes in is that large: one change, unnamed */
        if (!pdf_val_equal(a, b))
            kd->keys[kd->n++] = "(many keys)";
        return;
    }
    const pdf_val *ds[2] = {a, b}, *others[2] = {b, a};
    for (int s = 0; s < 2; s++) {
        const pdf_val *d = ds[s];
        for (size_t i = 0; d && d->t == PV_DICT && i < d->u.dict.n && kd->n < 64; i++) {
            const char *k = d->u.dict.kv[i].key;
            pdf_val *o = others[s] && others[s]->t == PV_DICT ? pv_dict_get(others[s], k) : NULL;
            if (pdf_val_equal(d->u.dict.kv[i].val, o) || (!o && d->u.dict.kv[i].val->t == PV_NULL))
                continue;
            bool dup = false;
            for (size_t j = 0; j < kd->n && !dup; j++)
                dup = strcmp(kd->keys[j], k) == 0;
            if (!dup)
                kd->keys[kd->n++] = k;
        }
    }
}

static bool key_in(const char *k, const char *const *set) {
    for (; *set; set++)
        if (strcmp(k, *set) == 0)
            return true;
    return false;
}

/* A later signature whose structure holds. */
static bool later_sig(mdp *m, uint32_t num) {
    for (size_t i = 0; i < m->in->n_later; i++)
        if (m->in->later[i].object == num)
            return true;
    return false;
}

static int rev_of(mdp *m, uint32_t num) {
    pdf_loc l = pdf_rev_loc(m->F, num);
    return l.type ? verify_revision_of(m->in->raw, l.where) : 0;
}

static void add_mod(mdp *m, seal_mod_kind kind, uint32_t obj, int page, const char *detail) {
    if (m->err == SEAL_OK)
        m->err = verify_add_mod(&m->rep->mods, &m->rep->n_mods, kind, obj, page,
                                obj ? rev_of(m, obj) : 0, detail ? "%s" : NULL, detail);
}

static void add_permitted(mdp *m, seal_mod_kind kind, uint32_t obj, int page, const char *detail) {
    if (m->err == SEAL_OK)
        m->err = verify_add_mod(&m->rep->permitted, &m->rep->n_permitted, kind, obj, page,
                                obj ? rev_of(m, obj) : 0, detail ? "%s" : NULL, detail);
}

static void keys_text(char *out, size_t n, const keydiff *kd) {
    size_t o = 0;
    out[0] = 0;
    for (size_t i = 0; i < kd->n && o + 2 < n; i++) {
        int w = snprintf(out + o, n - o, "%s/%s", i ? " " : "", kd->keys[i]);
        if (w < 0 || (size_t)w >= n - o)
            break;
        o += (size_t)w;
    }
}

/* The object numbers an array refers to, as a set, so that comparing two arrays is linear. */
typedef struct refset {
    u64map map;
} refset;

static void refset_of(refset *rs, const pdf_val *arr) {
    u64map_init(&rs->map, PDF_MAX_ITEMS);
    for (size_t i = 0; arr && arr->t == PV_ARRAY && i < arr->u.arr.n; i++)
        if (arr->u.arr.items[i]->t == PV_REF)
            u64map_put(&rs->map, arr->u.arr.items[i]->u.ref.num, NULL);
}

static bool refset_has(const refset *rs, uint32_t num) {
    return u64map_has(&rs->map, num);
}

static uint32_t roles_of(mdp *m, uint32_t num) {
    objinfo *oi = u64map_get(&m->info, num);
    return oi ? oi->roles : 0;
}

/* An /Annots array, old and new: removed items and added ones that are not the widgets of
 * signature fields are annotation changes. */
static void check_annots(mdp *m, const pdf_val *old, const pdf_val *new, uint32_t obj, int page) {
    const mdp_perms *p = &m->in->perms;
    refset so, sn;
    refset_of(&so, old);
    refset_of(&sn, new);
    for (size_t i = 0; old && old->t == PV_ARRAY && i < old->u.arr.n; i++) {
        pdf_val *it = old->u.arr.items[i];
        if (it->t == PV_REF && !refset_has(&sn, it->u.ref.num)) {
            char d[64];
            snprintf(d, sizeof d, "annotation %u removed", it->u.ref.num);
            if (p->annots)
                add_permitted(m, SEAL_MOD_ANNOT_REMOVED, obj, page, d);
            else
                add_mod(m, SEAL_MOD_ANNOT_REMOVED, obj, page, d);
        }
    }
    for (size_t i = 0; new &&new->t == PV_ARRAY &&i < new->u.arr.n; i++) {
        pdf_val *it = new->u.arr.items[i];
        if (it->t != PV_REF || refset_has(&so, it->u.ref.num))
            continue;
        uint32_t r = roles_of(m, it->u.ref.num);
        if ((r & R_WIDGET_SIG) && p->sign)
            continue;
        char d[64];
        snprintf(d, sizeof d, "annotation %u added", it->u.ref.num);
        if (p->annots)
            add_permitted(m, SEAL_MOD_ANNOT_ADDED, it->u.ref.num, page, d);
        else
            add_mod(m, SEAL_MOD_ANNOT_ADDED, it->u.ref.num, page, d);
    }
    u64map_free(&so.map);
    u64map_free(&sn.map);
}

/* /Fields or /Kids: fields may be added (checked as fields), never removed. */
static void check_fields_array(mdp *m, const pdf_val *old, const pdf_val *new, uint32_t obj) {
    refset sn;
    refset_of(&sn, new);
    for (size_t i = 0; old && old->t == PV_ARRAY && i < old->u.arr.n; i++) {
        pdf_val *it = old->u.arr.items[i];
        if (it->t != PV_REF || refset_has(&sn, it->u.ref.num))
            continue;
        pdf_val *fd = pdf_rev_resolve(m->S, it);
        char *t = fd && fd->t == PV_DICT ? pv_text_utf8(pv_dict_get(fd, "T"), 200) : NULL;
        char d[256];
        snprintf(d, sizeof d, "field %s (object %u) removed", t ? t : "?", it->u.ref.num);
        free(t);
        add_mod(m, SEAL_MOD_FIELD_REMOVED, obj, 0, d);
    }
    u64map_free(&sn.map);
}

static bool locked(const mdp_perms *p, const char *name) {
    if (p->lock == 1)
        return true;
    bool listed = false;
    for (size_t i = 0; name && i < p->n_lock_fields && !listed; i++)
        listed = strcmp(p->lock_fields[i], name) == 0;
    return p->lock == 2 ? listed : p->lock == 3 ? !listed : false;
}

/* A widget's appearance may be replaced, not unhooked from content that uses it too: an
 * appearance dictionary or stream of the signed revision that the document also uses outside
 * form widgets (a page, the trailer, ...) marks a crafted structure. */
static void check_ap_unhooked(mdp *m, const pdf_val *old_ap, uint32_t widget, int page) {
    uint32_t objs[8];
    size_t n = 0;
    if (old_ap && old_ap->t == PV_REF)
        objs[n++] = old_ap->u.ref.num;
    pdf_val *d = pdf_rev_resolve(m->S, (pdf_val *)(uintptr_t)old_ap);
    static const char *const keys[] = {"N", "R", "D"};
    for (int k = 0; k < 3 && d && d->t == PV_DICT; k++) {
        pdf_val *v = pv_dict_get(d, keys[k]);
        if (v && v->t == PV_REF && n < 8)
            objs[n++] = v->u.ref.num;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t r = roles_of(m, objs[i]) & ~(uint32_t)(R_SIG_AP | R_FORM_AP | R_WEAK);
        if (r) {
            char text[160];
            snprintf(text, sizeof text,
                     "the appearance it replaced (object %u) is also used elsewhere in the "
                     "document",
                     objs[i]);
            add_mod(m, SEAL_MOD_OBJECT, widget, page, text);
        }
    }
}

/* Does a widget draw something: a rectangle of some size and a normal appearance stream with
 * content? */
static bool draws(mdp *m, pdf_val *w) {
    pdf_val *rect = pdf_rev_get(m->F, w, "Rect");
    double r[4];
    for (int i = 0; i < 4; i++)
        if (!rect || rect->t != PV_ARRAY || rect->u.arr.n != 4 ||
            !pv_number(rect->u.arr.items[i], &r[i]))
            return false;
    if ((r[2] - r[0]) * (r[2] - r[0]) < 1 || (r[3] - r[1]) * (r[3] - r[1]) < 1)
        return false;
    pdf_val *n = pv_dict_get(pdf_rev_get(m->F, w, "AP"), "N");
    const pdf_robj *o;
    if (!n || n->t != PV_REF || pdf_rev_obj(&o, m->F, n->u.ref.num) != PDF_OK || !o->stream)
        return false;
    buf b;
    buf_init(&b, (size_t)1 << 20);
    bool content = false;
    if (pdf_rev_stream_data(&b, m->F, o, (size_t)1 << 20) == PDF_OK) {
        for (size_t i = 0; i < b.len && !content; i++) {
            if (b.data[i] == '%') /* a comment, such as Acrobat's "% DSBlank" */
                while (i + 1 < b.len && b.data[i + 1] != '\n' && b.data[i + 1] != '\r')
                    i++;
            else
                content = !(b.data[i] == ' ' || b.data[i] == '\n' || b.data[i] == '\r' ||
                            b.data[i] == '\t' || b.data[i] == 0);
        }
    }
    buf_free(&b);
    return content;
}

/* Signing permits new signature fields; a new one nobody signed that draws an appearance of
 * its own is content slipped in under that permission (the "sneaky signature" of Mladenov et
 * al., USENIX Security 2021). */
static bool unsigned_but_visible(mdp *m, pdf_val *field) {
    pdf_val *v = pv_dict_get(field, "V");
    if (v && v->t != PV_NULL)
        return false;
    if (is_widget(field))
        return draws(m, field);
    pdf_val *kids = pdf_rev_get(m->F, field, "Kids");
    for (size_t i = 0; kids && kids->t == PV_ARRAY && i < kids->u.arr.n && i < 64; i++) {
        pdf_val *k = pdf_rev_resolve(m->F, kids->u.arr.items[i]);
        if (k && k->t == PV_DICT && is_widget(k) && draws(m, k))
            return true;
    }
    return false;
}

static const char *const field_keys[] = {"FT", "Parent", "Kids", "T",  "TU",     "TM", "Ff",
                                         "V",  "DV",     "Lock", "SV", "DA",     "Q",  "DS",
                                         "RV", "Opt",    "TI",   "I",  "MaxLen", NULL};

static void check_object(mdp *m, uint32_t num, const objinfo *oi, const pdf_robj *os,
                         const pdf_robj *of) {
    const mdp_perms *p = &m->in->perms;
    pdf_val *old = os ? os->val : NULL, *new = of->val;
    bool fresh = !os || old->t == PV_NULL;
    uint32_t r = oi->roles;
    int page = oi->page;
    keydiff kd;
    char text[256];
    if ((r & ~(uint32_t)R_WEAK) == 0)
        r = R_OTHER;
    if (r & (R_FREE | R_DSS | R_EXT))
        r &= ~(uint32_t)(R_FREE | R_DSS | R_EXT); /* always permitted (7.7.2, ETSI 5.4) */
    if (r & R_OTHER)
        add_mod(m, page ? SEAL_MOD_CONTENT : SEAL_MOD_OBJECT, num, page,
                fresh ? "object added where the document uses it" : "object changed");
    if (r & R_VALUE) {
        if (p->fill)
            add_permitted(m, SEAL_MOD_FIELD_VALUE, num, page, "field value");
        else
            add_mod(m, SEAL_MOD_FIELD_VALUE, num, page, "field value");
    }
    if (r & R_DR) {
        if (!(p->sign || p->fill))
            add_mod(m, SEAL_MOD_CATALOG, num, 0, "form default resources changed");
    }
    if (r & R_SIG_AP) {
        if (!p->sign)
            add_mod(m, SEAL_MOD_FIELD_VALUE, num, page, "signature appearance changed");
    }
    if (r & R_SIGNED_AP)
        add_mod(m, SEAL_MOD_FIELD_VALUE, num, page,
                fresh ? "a signed signature's appearance given a new part"
                      : "a signed signature's appearance changed");
    if (r & R_FORM_AP) {
        if (p->fill)
            add_permitted(m, SEAL_MOD_FIELD_VALUE, num, page, "field appearance");
        else
            add_mod(m, SEAL_MOD_FIELD_VALUE, num, page, "field appearance changed");
    }
    if (r & (R_ANNOT | R_ANNOT_SUB)) {
        seal_mod_kind k = fresh && (r & R_ANNOT) ? SEAL_MOD_ANNOT_ADDED : SEAL_MOD_ANNOT_CHANGED;
        if (p->annots)
            add_permitted(m, k, num, page, NULL);
        else
            add_mod(m, k, num, page, NULL);
    }
    if (r & R_SIGDICT) {
        bool dts = pv_is_name(pv_dict_get(new, "Type"), "DocTimeStamp");
        if (!fresh) {
            diff_keys(&kd, old, new);
            keys_text(text, sizeof text, &kd);
            add_mod(m, SEAL_MOD_SIGDICT, num, page, text);
        } else if (!p->sign && !(dts && later_sig(m, num))) {
            /* DocMDP P=1 permits document time-stamps only (ISO 32000-2 12.8.2.2.2) */
            add_mod(m, SEAL_MOD_SIGDICT, num, page, "a signature the document does not permit");
        }
        /* a later signature whose own structure fails is reported as such; adding it is only
         * signing */
    }
    if (r & (R_FIELD_SIG | R_FIELD_FORM)) {
        bool sig = r & R_FIELD_SIG;
        char *name = pv_text_utf8(pv_dict_get(new, "T"), 200);
        diff_keys(&kd, fresh ? NULL : old, new);
        if (fresh) {
            if (sig ? !p->sign : true) {
                snprintf(text, sizeof text, "field %s", name ? name : "?");
                add_mod(m, SEAL_MOD_FIELD_ADDED, num, page, text);
            } else if (unsigned_but_visible(m, new)) {
                snprintf(text, sizeof text,
                         "signature field %s: never signed, yet it draws its own appearance",
                         name ? name : "?");
                add_mod(m, SEAL_MOD_FIELD_ADDED, num, page, text);
            }
        } else {
            for (size_t i = 0; i < kd.n; i++) {
                const char *k = kd.keys[i];
                bool widget_key = !key_in(k, field_keys) && is_widget(new);
                if (widget_key)
                    continue; /* the widget role judges those */
                if (strcmp(k, "Kids") == 0) {
                    check_fields_array(m, pdf_rev_get(m->S, old, "Kids"),
                                       pdf_rev_get(m->F, new, "Kids"), num);
                    continue;
                }
                if (strcmp(k, "V") == 0 && sig) {
                    pdf_val *ov = pv_dict_get(old, "V");
                    pdf_val *nv = pv_dict_get(new, "V");
                    bool ok = p->sign && (!ov || ov->t == PV_NULL) && nv && nv->t == PV_REF;
                    if (!ok) {
                        snprintf(text, sizeof text, "signature field %s: value replaced",
                                 name ? name : "?");
                        add_mod(m, SEAL_MOD_SIGDICT, num, page, text);
                    }
                    continue;
                }
                if (!sig && (strcmp(k, "V") == 0 || strcmp(k, "DV") == 0)) {
                    snprintf(text, sizeof text, "field %s", name ? name : "?");
                    if (p->fill && !locked(p, name))
                        add_permitted(m, SEAL_MOD_FIELD_VALUE, num, page, text);
                    else
                        add_mod(m, SEAL_MOD_FIELD_VALUE, num, page, text);
                    continue;
                }
                snprintf(text, sizeof text, "field %s: /%s changed", name ? name : "?", k);
                add_mod(m, SEAL_MOD_OBJECT, num, page, text);
            }
        }
        free(name);
    }
    if (r & (R_WIDGET_SIG | R_WIDGET_FORM)) {
        bool sig = r & R_WIDGET_SIG;
        static const char *const appearance[] = {"AP", "AS", "MK", "F", NULL};
        bool merged = pv_dict_get(new, "FT") || pv_dict_get(new, "T");
        bool was_signed = sig && !fresh && signed_in_S(m, num);
        if (fresh) {
            if (!(sig ? p->sign : p->annots))
                add_mod(m, SEAL_MOD_ANNOT_ADDED, num, page, "widget");
        } else {
            diff_keys(&kd, old, new);
            for (size_t i = 0; i < kd.n; i++) {
                const char *k = kd.keys[i];
                if (merged && key_in(k, field_keys))
                    continue;
                if (strcmp(k, "P") == 0 || strcmp(k, "Parent") == 0)
                    continue; /* where it hangs: the field and page walks judge that */
                if (was_signed && key_in(k, appearance)) {
                    snprintf(text, sizeof text, "a signed signature's widget /%s changed", k);
                    add_mod(m, SEAL_MOD_FIELD_VALUE, num, page, text);
                    continue;
                }
                if (strcmp(k, "AP") == 0 && (sig ? p->sign : p->fill)) {
                    check_ap_unhooked(m, pv_dict_get(old, "AP"), num, page);
                    continue;
                }
                if (key_in(k, appearance) && (sig ? p->sign : p->fill))
                    continue;
                snprintf(text, sizeof text, "widget /%s changed", k);
                if (p->annots)
                    add_permitted(m, SEAL_MOD_ANNOT_CHANGED, num, page, text);
                else
                    add_mod(m, SEAL_MOD_ANNOT_CHANGED, num, page, text);
            }
        }
    }
    if (r & R_ANNOTS)
        check_annots(m, fresh ? NULL : old, new, num, page);
    if (r & R_FIELDS)
        check_fields_array(m, fresh ? NULL : old, new, num);
    if (r & R_PAGE) {
        if (!fresh) {
            diff_keys(&kd, old, new);
            for (size_t i = 0; i < kd.n; i++) {
                if (strcmp(kd.keys[i], "Annots") == 0) {
                    check_annots(m, pdf_rev_get(m->S, old, "Annots"),
                                 pdf_rev_get(m->F, new, "Annots"), num, page);
                } else {
                    snprintf(text, sizeof text, "page /%s changed", kd.keys[i]);
                    add_mod(m, SEAL_MOD_CONTENT, num, page, text);
                }
            }
        }
        /* a new page object is reported by the page lists */
    }
    if (r & R_PAGES) {
        diff_keys(&kd, fresh ? NULL : old, new);
        for (size_t i = 0; i < kd.n; i++) {
            if (strcmp(kd.keys[i], "Kids") == 0 || strcmp(kd.keys[i], "Count") == 0 ||
                strcmp(kd.keys[i], "Parent") == 0)
                continue; /* the page lists show what those changed */
            snprintf(text, sizeof text, "page tree /%s changed", kd.keys[i]);
            add_mod(m, SEAL_MOD_CONTENT, num, 0, text);
        }
    }
    if (r & R_ACROFORM) {
        diff_keys(&kd, fresh ? NULL : old, new);
        static const char *const ok[] = {"SigFlags", "DR", "DA", NULL};
        for (size_t i = 0; i < kd.n; i++) {
            const char *k = kd.keys[i];
            if (strcmp(k, "Fields") == 0) {
                check_fields_array(m, fresh ? NULL : pdf_rev_get(m->S, old, "Fields"),
                                   pdf_rev_get(m->F, new, "Fields"), num);
            } else if (!(key_in(k, ok) && (p->sign || p->fill))) {
                snprintf(text, sizeof text, "interactive form /%s changed", k);
                add_mod(m, SEAL_MOD_CATALOG, num, 0, text);
            }
        }
    }
    if (r & R_CATALOG) {
        /* a catalog under another number is compared with the signed revision's */
        pdf_val *sroot = pdf_rev_get(m->S, pdf_rev_trailer(m->S), "Root");
        pdf_val *oldcat = fresh ? sroot : old;
        diff_keys(&kd, oldcat, new);
        /* 7.7.2: validation data, metadata, extension and version declarations */
        static const char *const ok[] = {"DSS", "Metadata", "Extensions", "Version", NULL};
        for (size_t i = 0; i < kd.n; i++) {
            const char *k = kd.keys[i];
            if (key_in(k, ok))
                continue;
            if (strcmp(k, "AcroForm") == 0) {
                pdf_val *oa = pdf_rev_get(m->S, oldcat, "AcroForm");
                pdf_val *na = pdf_rev_get(m->F, new, "AcroForm");
                if (!oa && !(p->sign || p->fill)) {
                    add_mod(m, SEAL_MOD_CATALOG, num, 0, "interactive form added");
                } else if (pv_dict_get(new, "AcroForm") &&
                           pv_dict_get(new, "AcroForm")->t == PV_DICT) {
                    /* a direct form dictionary: judged here as the form role would */
                    keydiff fk;
                    diff_keys(&fk, oa, na);
                    for (size_t j = 0; j < fk.n; j++) {
                        if (strcmp(fk.keys[j], "Fields") == 0)
                            check_fields_array(m, pdf_rev_get(m->S, oa, "Fields"),
                                               pdf_rev_get(m->F, na, "Fields"), num);
                        else if (!(key_in(fk.keys[j],
                                          (const char *const[]){"SigFlags", "DR", "DA", NULL}) &&
                                   (p->sign || p->fill))) {
                            snprintf(text, sizeof text, "interactive form /%s changed", fk.keys[j]);
                            add_mod(m, SEAL_MOD_CATALOG, num, 0, text);
                        }
                    }
                }
                continue;
            }
            if (strcmp(k, "Perms") == 0) {
                add_mod(m, SEAL_MOD_CATALOG, num, 0, "catalog /Perms changed");
                continue;
            }
            snprintf(text, sizeof text, "catalog /%s changed", k);
            add_mod(m, SEAL_MOD_CATALOG, num, 0, text);
        }
    }
}

static bool same_loc(pdf_loc a, pdf_loc b) {
    return a.type == b.type && a.where == b.where && a.index == b.index;
}

static void compare_pages(mdp *m) {
    pagelist ps = {0}, pf = {0};
    pages_list(m->S, &ps);
    pages_list(m->F, &pf);
    u64map in_s, in_f; /* page object -> 1 + index */
    u64map_init(&in_s, 1000000);
    u64map_init(&in_f, 1000000);
    for (size_t i = 0; i < ps.n; i++)
        if (!u64map_has(&in_s, ps.nums[i]))
            u64map_put(&in_s, ps.nums[i], (void *)(uintptr_t)(i + 1));
    for (size_t i = 0; i < pf.n; i++)
        if (!u64map_has(&in_f, pf.nums[i]))
            u64map_put(&in_f, pf.nums[i], (void *)(uintptr_t)(i + 1));
    char text[64];
    for (size_t i = 0; i < pf.n; i++) {
        if (!u64map_has(&m->page_num, pf.nums[i]) &&
            u64map_put(&m->page_num, pf.nums[i], (void *)(uintptr_t)(i + 1)) != BUF_OK)
            m->err = SEAL_E_NOMEM;
        if (!u64map_has(&in_s, pf.nums[i])) {
            snprintf(text, sizeof text, "page %zu added", i + 1);
            add_mod(m, SEAL_MOD_PAGE_ADDED, pf.nums[i], (int)i + 1, text);
        }
    }
    for (size_t i = 0; i < ps.n; i++) {
        if (!u64map_has(&in_f, ps.nums[i])) {
            snprintf(text, sizeof text, "page %zu of the signed revision removed", i + 1);
            add_mod(m, SEAL_MOD_PAGE_REMOVED, ps.nums[i], (int)i + 1, text);
        }
    }
    if (ps.n == pf.n) {
        for (size_t i = 0; i < ps.n; i++) {
            if (ps.nums[i] != pf.nums[i] && u64map_has(&in_s, pf.nums[i])) {
                snprintf(text, sizeof text, "page order changed at page %zu", i + 1);
                add_mod(m, SEAL_MOD_CONTENT, pf.nums[i], (int)i + 1, text);
                break;
            }
        }
    }
    u64map_free(&in_s);
    u64map_free(&in_f);
    free(ps.nums);
    free(pf.nums);
}

seal_err mdp_analyse(seal_sig_report *rep, const mdp_input *in) {
    mdp m = {.in = in, .rep = rep, .S = in->signed_rev, .F = in->final};
    u64map_init(&m.info, MDP_MAX_VISITS);
    u64map_init(&m.page_num, 1000000);
    compare_pages(&m);
    /* 7.5.5: what the trailer points to */
    pdf_val *trailer = pdf_rev_trailer(m.F);
    for (size_t i = 0; trailer && i < trailer->u.dict.n && m.err == SEAL_OK; i++) {
        const char *k = trailer->u.dict.kv[i].key;
        pdf_val *val = trailer->u.dict.kv[i].val;
        if (strcmp(k, "Root") == 0)
            visit(&m, val, R_CATALOG, 0, false);
        else if (strcmp(k, "Info") == 0)
            visit(&m, val, R_FREE, 0, false);
        else if (strcmp(k, "Prev") != 0 && strcmp(k, "XRefStm") != 0)
            visit(&m, val, R_OTHER, 0, false);
        drain(&m);
    }
    pdf_val *sroot = pv_dict_get(pdf_rev_trailer(m.S), "Root");
    pdf_val *froot = pv_dict_get(trailer, "Root");
    if (!pdf_val_equal(pv_dict_get(pdf_rev_trailer(m.S), "Encrypt"),
                       pv_dict_get(trailer, "Encrypt")))
        add_mod(&m, SEAL_MOD_CATALOG, 0, 0, "encryption changed");
    /* every object the final revision uses, against the signed revision */
    size_t it = 0;
    uint64_t key;
    void *val;
    while (m.err == SEAL_OK && u64map_next(&m.info, &it, &key, &val)) {
        uint32_t num = (uint32_t)key;
        objinfo *oi = val;
        pdf_loc ls = pdf_rev_loc(m.S, num), lf = pdf_rev_loc(m.F, num);
        bool root_moved = (oi->roles & R_CATALOG) && sroot && froot && sroot->t == PV_REF &&
                          froot->t == PV_REF && sroot->u.ref.num != froot->u.ref.num;
        if (same_loc(ls, lf) && !root_moved)
            continue;
        const pdf_robj *os = NULL, *of;
        if (pdf_rev_obj(&of, m.F, num) != PDF_OK) {
            add_mod(&m, SEAL_MOD_UNREADABLE, num, oi->page, NULL);
            continue;
        }
        if (ls.type && pdf_rev_obj(&os, m.S, num) != PDF_OK)
            os = NULL;
        if (os && !root_moved && os->stream == of->stream && pdf_val_equal(os->val, of->val) &&
            (!of->stream || streams_equal(&m, os, of)))
            continue;
        check_object(&m, num, oi, root_moved && (!os || !ls.type) ? NULL : os, of);
    }
    it = 0;
    while (u64map_next(&m.info, &it, &key, &val))
        free(val);
    u64map_free(&m.info);
    u64map_free(&m.page_num);
    free(m.work);
    return m.err;
}
