/* Signature fields and signature dictionaries: ISO 32000-2 12.7.5.5 (signature fields),
 * 12.8.1 (signature dictionary, Table 255), 12.8.2.2 (DocMDP), 12.7.3 (/SigFlags), 12.5.6.19
 * (widget annotations). */
#include <stdio.h>
#include <string.h>

#include "pdf/doc_internal.h"
#include "pdf/internal.h"

/* ---- reading the form ---- */

typedef struct field_info {
    const char *name; /* fully qualified, UTF-8 */
    pdf_objid id;
    bool is_sig, has_value;
    pdf_objid widget; /* widget.num 0 when the field has no widget */
} field_info;

typedef struct form_info {
    pdf_val *catalog;
    pdf_val *acroform; /* resolved, or NULL */
    field_info *fields;
    size_t n, cap;
    pdf_objid *seen;
    size_t nseen, capseen;
    size_t missing_ap; /* widgets without an /AP /N */
} form_info;

/* A text string (7.9.2.2) as UTF-8: UTF-16BE with a BOM, else PDFDocEncoding read as
 * Latin-1 (the two agree on printable ASCII, which field names almost always are). */
static char *text_to_utf8(arena *a, const pdf_val *s) {
    if (!s || s->t != PV_STRING)
        return arena_strdup(a, "");
    const uint8_t *p = s->u.str.p;
    size_t n = s->u.str.n;
    char *out = arena_alloc(a, 3 * n + 1);
    size_t o = 0;
    if (!out)
        return NULL;
    if (n >= 2 && p[0] == 0xFE && p[1] == 0xFF) {
        for (size_t i = 2; i + 1 < n; i += 2) {
            uint32_t c = (uint32_t)p[i] << 8 | p[i + 1];
            if (c >= 0xD800 && c < 0xDC00 && i + 3 < n) {
                uint32_t lo = (uint32_t)p[i + 2] << 8 | p[i + 3];
                if (lo >= 0xDC00 && lo < 0xE000) {
                    c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                    i += 2;
                }
            }
            if (c < 0x80) {
                out[o++] = (char)c;
            } else if (c < 0x800) {
                out[o++] = (char)(0xC0 | c >> 6);
                out[o++] = (char)(0x80 | (c & 0x3F));
            } else if (c < 0x10000) {
                out[o++] = (char)(0xE0 | c >> 12);
                out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
                out[o++] = (char)(0x80 | (c & 0x3F));
            } else {
                /* 4 bytes: room is 3 per input byte, and this took 4 input bytes */
                out[o++] = (char)(0xF0 | c >> 18);
                out[o++] = (char)(0x80 | ((c >> 12) & 0x3F));
                out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
                out[o++] = (char)(0x80 | (c & 0x3F));
            }
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            if (p[i] < 0x80) {
                out[o++] = (char)p[i];
            } else {
                out[o++] = (char)(0xC0 | p[i] >> 6);
                out[o++] = (char)(0x80 | (p[i] & 0x3F));
            }
        }
    }
    out[o] = '\0';
    return out;
}

/* Resolves v when it is a reference (one level). */
static pdf_err resolve(pdf_val **out, pdf_update *u, pdf_val *v) {
    if (v && v->t == PV_REF)
        return pdf_update_read(out, u, v->u.ref.num, v->u.ref.gen);
    *out = v;
    return PDF_OK;
}

static pdf_err walk_field(form_info *f, pdf_update *u, pdf_val *ref, const char *parent_name,
                          const char *inherited_ft, int depth) {
    arena *a = pdf_update_arena(u);
    if (depth > PDF_MAX_TREE_DEPTH)
        return pdf_fail(PDF_E_LIMIT, "form fields nested deeper than %d", PDF_MAX_TREE_DEPTH);
    if (!ref || ref->t != PV_REF)
        return PDF_OK; /* fields are indirect (12.7.4); skip anything else */
    pdf_objid id = {ref->u.ref.num, ref->u.ref.gen};
    for (size_t i = 0; i < f->nseen; i++)
        if (f->seen[i].num == id.num)
            return pdf_fail(PDF_E_FIELD, "the form's field tree loops at object %u", id.num);
    if (f->nseen == PDF_MAX_FIELDS)
        return pdf_fail(PDF_E_LIMIT, "more than %d form fields", PDF_MAX_FIELDS);
    if (f->nseen == f->capseen) {
        size_t ncap = f->capseen ? f->capseen * 2 : 64;
        pdf_objid *p = arena_alloc(a, ncap * sizeof *p);
        if (!p)
            return PDF_E_NOMEM;
        if (f->nseen)
            memcpy(p, f->seen, f->nseen * sizeof *p);
        f->seen = p;
        f->capseen = ncap;
    }
    f->seen[f->nseen++] = id;
    pdf_val *d;
    pdf_err err = pdf_update_read(&d, u, id.num, id.gen);
    if (err != PDF_OK || d->t != PV_DICT)
        return err;
    const char *ft = pv_dict_get_name(d, "FT");
    if (!ft)
        ft = inherited_ft;
    pdf_val *t = pv_dict_get(d, "T");
    const char *name = parent_name;
    if (t && t->t == PV_STRING) {
        char *partial = text_to_utf8(a, t);
        if (!partial)
            return PDF_E_NOMEM;
        size_t n = strlen(parent_name) + strlen(partial) + 2;
        char *full = arena_alloc(a, n);
        if (!full)
            return PDF_E_NOMEM;
        snprintf(full, n, "%s%s%s", parent_name, *parent_name ? "." : "", partial);
        name = full;
    }
    pdf_val *kids = pv_dict_get(d, "Kids");
    err = resolve(&kids, u, kids);
    if (err != PDF_OK)
        return err;
    bool has_field_kids = false;
    if (kids && kids->t == PV_ARRAY) {
        for (size_t i = 0; i < kids->u.arr.n && err == PDF_OK; i++) {
            pdf_val *kd;
            err = resolve(&kd, u, kids->u.arr.items[i]);
            if (err == PDF_OK && kd && kd->t == PV_DICT && pv_dict_get(kd, "T")) {
                has_field_kids = true;
                err = walk_field(f, u, kids->u.arr.items[i], name, ft, depth + 1);
            }
        }
    }
    if (err != PDF_OK || has_field_kids || !t)
        return err;
    /* A terminal field: its widget is itself (merged) or its first widget kid (12.7.4). */
    if (f->n == f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : 32;
        field_info *p = arena_alloc(a, ncap * sizeof *p);
        if (!p)
            return PDF_E_NOMEM;
        if (f->n)
            memcpy(p, f->fields, f->n * sizeof *p);
        f->fields = p;
        f->cap = ncap;
    }
    field_info *fi = &f->fields[f->n++];
    memset(fi, 0, sizeof *fi);
    fi->name = name;
    fi->id = id;
    fi->is_sig = ft && strcmp(ft, "Sig") == 0;
    pdf_val *v = pv_dict_get(d, "V");
    fi->has_value = v && v->t != PV_NULL;
    /* Viewers regenerate appearances for text, choice and button fields; an unsigned
     * signature field has nothing to regenerate, so it does not count. */
    bool count_ap = !fi->is_sig;
    if (pv_is_name(pv_dict_get(d, "Subtype"), "Widget")) {
        fi->widget = id;
        f->missing_ap += count_ap && !pv_dict_get(pv_dict_get(d, "AP"), "N");
    } else if (kids && kids->t == PV_ARRAY && kids->u.arr.n > 0 &&
               kids->u.arr.items[0]->t == PV_REF) {
        fi->widget.num = kids->u.arr.items[0]->u.ref.num;
        fi->widget.gen = kids->u.arr.items[0]->u.ref.gen;
    }
    for (size_t i = 0; kids && kids->t == PV_ARRAY && i < kids->u.arr.n && err == PDF_OK; i++) {
        pdf_val *kd;
        err = resolve(&kd, u, kids->u.arr.items[i]);
        if (err == PDF_OK && kd && kd->t == PV_DICT)
            f->missing_ap += count_ap && !pv_dict_get(pv_dict_get(kd, "AP"), "N");
    }
    return err;
}

static pdf_err read_form(form_info *f, pdf_update *u) {
    uint32_t cnum;
    uint16_t cgen;
    memset(f, 0, sizeof *f);
    pdf_err err = pdf_update_catalog(&cnum, &cgen, u);
    if (err == PDF_OK)
        err = pdf_update_read(&f->catalog, u, cnum, cgen);
    if (err == PDF_OK && f->catalog->t != PV_DICT)
        err = pdf_fail(PDF_E_DAMAGED, "the catalog is not a dictionary");
    if (err == PDF_OK)
        err = resolve(&f->acroform, u, pv_dict_get(f->catalog, "AcroForm"));
    if (err != PDF_OK || !f->acroform || f->acroform->t != PV_DICT) {
        f->acroform = NULL;
        return err;
    }
    pdf_val *fields;
    err = resolve(&fields, u, pv_dict_get(f->acroform, "Fields"));
    for (size_t i = 0; err == PDF_OK && fields && fields->t == PV_ARRAY && i < fields->u.arr.n; i++)
        err = walk_field(f, u, fields->u.arr.items[i], "", NULL, 0);
    return err;
}

static const field_info *find_field(const form_info *f, const char *name) {
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->fields[i].name, name) == 0)
            return &f->fields[i];
    return NULL;
}

/* DocMDP permission of an existing certification signature (12.8.2.2): 0 when none. */
static pdf_err docmdp_of(int *p, form_info *f, pdf_update *u) {
    pdf_val *perms, *sig, *refs;
    *p = 0;
    pdf_err err = resolve(&perms, u, pv_dict_get(f->catalog, "Perms"));
    if (err != PDF_OK || !perms || perms->t != PV_DICT || !pv_dict_get(perms, "DocMDP"))
        return err;
    *p = 2; /* Table 257: /P defaults to 2 */
    err = resolve(&sig, u, pv_dict_get(perms, "DocMDP"));
    if (err == PDF_OK)
        err = resolve(&refs, u, pv_dict_get(sig, "Reference"));
    for (size_t i = 0; err == PDF_OK && refs && refs->t == PV_ARRAY && i < refs->u.arr.n; i++) {
        pdf_val *r, *params;
        err = resolve(&r, u, refs->u.arr.items[i]);
        if (err != PDF_OK || !pv_is_name(pv_dict_get(r, "TransformMethod"), "DocMDP"))
            continue;
        err = resolve(&params, u, pv_dict_get(r, "TransformParams"));
        long long v;
        if (err == PDF_OK && pv_dict_get_int(params, "P", &v) && v >= 1 && v <= 3)
            *p = (int)v;
    }
    return err;
}

/* ---- locating the field ---- */

static int page_of(pdf_update *u, pdf_val *widget) {
    pdf_doc *doc = pdf_update_doc(u);
    pdf_val *p = pv_dict_get(widget, "P");
    if (p && p->t == PV_REF)
        for (int i = 0; i < doc->npages; i++)
            if (doc->pages[i].num == p->u.ref.num)
                return i;
    return -1;
}

static bool rect_of(double r[4], const pdf_val *v) {
    if (!v || v->t != PV_ARRAY || v->u.arr.n != 4)
        return false;
    double x[4];
    for (int i = 0; i < 4; i++)
        if (!pv_number(v->u.arr.items[i], &x[i]))
            return false;
    r[0] = x[0] < x[2] ? x[0] : x[2];
    r[2] = x[0] < x[2] ? x[2] : x[0];
    r[1] = x[1] < x[3] ? x[1] : x[3];
    r[3] = x[1] < x[3] ? x[3] : x[1];
    return true;
}

static void set_size(pdf_sig_field *out, const double r[4], int rotate) {
    double w = r[2] - r[0], h = r[3] - r[1];
    memcpy(out->rect, r, sizeof out->rect);
    bool turned = rotate == 90 || rotate == 270;
    out->width = turned ? h : w;
    out->height = turned ? w : h;
    out->rotate = rotate;
    out->visible = w > 0 && h > 0;
}

static pdf_err locate(pdf_sig_field *out, const field_info **found, form_info *f, pdf_update *u,
                      const pdf_sig_spec *spec) {
    /* pdf_sig_locate leaves its reading of the form for pdf_sig_add, which takes it. */
    void **slot = update_form_slot(u);
    pdf_err err = PDF_OK;
    if (*slot) {
        *f = *(form_info *)*slot;
        *slot = NULL;
    } else {
        err = read_form(f, u);
    }
    memset(out, 0, sizeof *out);
    out->page = -1;
    *found = NULL;
    if (err != PDF_OK)
        return err;
    if (spec->existing) {
        const field_info *fi = spec->field ? find_field(f, spec->field) : NULL;
        if (!fi)
            return pdf_fail(PDF_E_FIELD, "the document has no field named '%s'",
                            spec->field ? spec->field : "");
        if (!fi->is_sig)
            return pdf_fail(PDF_E_FIELD, "field '%s' is not a signature field", fi->name);
        if (fi->has_value)
            return pdf_fail(PDF_E_FIELD, "field '%s' is already signed", fi->name);
        *found = fi;
        if (!fi->widget.num)
            return PDF_OK; /* no widget: signs invisibly */
        pdf_val *w;
        double r[4];
        err = pdf_update_read(&w, u, fi->widget.num, fi->widget.gen);
        if (err == PDF_OK && rect_of(r, pv_dict_get(w, "Rect"))) {
            int page = page_of(u, w);
            pdf_page_geom g = {.rotate = 0};
            if (page >= 0)
                err = pdf_page_geometry(&g, pdf_update_doc(u), page);
            set_size(out, r, g.rotate);
            out->page = page;
        }
        return err;
    }
    if (spec->field && find_field(f, spec->field))
        return pdf_fail(PDF_E_FIELD, "the document already has a field named '%s'", spec->field);
    if (spec->page >= 0) {
        pdf_page_geom g;
        err = pdf_page_geometry(&g, pdf_update_doc(u), spec->page);
        if (err == PDF_OK)
            set_size(out, spec->rect, g.rotate);
        out->page = spec->page;
    }
    return err;
}

pdf_err pdf_sig_locate(pdf_sig_field *out, pdf_update *u, const pdf_sig_spec *spec) {
    form_info f;
    const field_info *fi;
    pdf_err err = locate(out, &fi, &f, u, spec);
    if (err == PDF_OK) {
        form_info *keep = arena_alloc(pdf_update_arena(u), sizeof *keep);
        if (keep) {
            *keep = f;
            *update_form_slot(u) = keep;
        }
    }
    return err;
}

/* ---- writing ---- */

/* 7.9.4 dates: D:YYYYMMDDHHmmSSZ in UTC. */
static pdf_val *pdf_date(arena *a, time_t t) {
    struct tm tm;
    char s[32];
    if (!gmtime_r(&t, &tm))
        return NULL;
    strftime(s, sizeof s, "D:%Y%m%d%H%M%SZ", &tm);
    return pv_string(a, s, strlen(s));
}

static pdf_err set_text(arena *a, pdf_val *d, const char *key, const char *utf8) {
    if (!utf8 || !*utf8)
        return PDF_OK;
    pdf_val *v = pv_text(a, utf8);
    if (!v)
        return pdf_fail(PDF_E_ARG, "/%s is not valid UTF-8", key);
    return pv_dict_set(a, d, key, v);
}

static pdf_err make_sig_dict(pdf_val **out, arena *a, const pdf_sig_spec *spec) {
    pdf_val *d = pv_dict(a);
    pdf_val *contents = arena_alloc(a, sizeof *contents);
    pdf_val *range = arena_alloc(a, sizeof *range);
    if (!d || !contents || !range)
        return PDF_E_NOMEM;
    contents->t = PV_SIG_CONTENTS;
    contents->u.contents_cap = spec->contents_capacity;
    range->t = PV_SIG_BYTERANGE;
    /* ISO 32000-2 12.8.5: a document time-stamp dictionary is /Type /DocTimeStamp with
     * /SubFilter /ETSI.RFC3161; its time is the token's, so it has no /M. */
    pdf_err err =
        pv_dict_set(a, d, "Type", pv_name(a, spec->doc_timestamp ? "DocTimeStamp" : "Sig"));
    if (err == PDF_OK)
        err =
            pv_dict_set(a, d, "Filter", pv_name(a, spec->filter ? spec->filter : "Adobe.PPKLite"));
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "SubFilter",
                          pv_name(a, spec->doc_timestamp ? "ETSI.RFC3161"
                                     : spec->subfilter   ? spec->subfilter
                                                         : "ETSI.CAdES.detached"));
    if (err == PDF_OK && !spec->doc_timestamp)
        err = pv_dict_set(a, d, "M", pdf_date(a, spec->signing_time));
    if (err == PDF_OK)
        err = set_text(a, d, "Name", spec->name);
    if (err == PDF_OK)
        err = set_text(a, d, "Reason", spec->reason);
    if (err == PDF_OK)
        err = set_text(a, d, "Location", spec->location);
    if (err == PDF_OK)
        err = set_text(a, d, "ContactInfo", spec->contact);
    if (err == PDF_OK && spec->docmdp) {
        /* 12.8.2.2 / Table 256-257: the signature reference of a certification signature. */
        pdf_val *params = pv_dict(a), *ref = pv_dict(a), *refs = pv_array(a);
        err = pv_dict_set(a, params, "Type", pv_name(a, "TransformParams"));
        if (err == PDF_OK)
            err = pv_dict_set(a, params, "P", pv_int(a, spec->docmdp));
        if (err == PDF_OK)
            err = pv_dict_set(a, params, "V", pv_name(a, "1.2"));
        if (err == PDF_OK)
            err = pv_dict_set(a, ref, "Type", pv_name(a, "SigRef"));
        if (err == PDF_OK)
            err = pv_dict_set(a, ref, "TransformMethod", pv_name(a, "DocMDP"));
        if (err == PDF_OK)
            err = pv_dict_set(a, ref, "TransformParams", params);
        if (err == PDF_OK)
            err = pv_array_push(a, refs, ref);
        if (err == PDF_OK)
            err = pv_dict_set(a, d, "Reference", refs);
    }
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "ByteRange", range);
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "Contents", contents);
    *out = d;
    return err;
}

/* An empty form XObject of the widget's size: widgets carry an appearance (12.5.5), even
 * invisible ones, which PDF/A requires. */
static pdf_err empty_appearance(uint32_t *num, pdf_update *u, double w, double h) {
    return pdf_update_add_form(num, u, w, h, 0, NULL, (const uint8_t *)"", 0);
}

static pdf_err set_appearance(arena *a, pdf_val *widget, uint32_t ap) {
    pdf_val *apd = pv_dict(a);
    pdf_err err = pv_dict_set(a, apd, "N", pv_ref(a, ap, 0));
    if (err == PDF_OK)
        err = pv_dict_set(a, widget, "AP", apd);
    return err;
}

/* The /AcroForm dictionary to change: in its own object, or inside the catalog. */
static pdf_err edit_acroform(pdf_val **out, pdf_update *u, bool *created) {
    arena *a = pdf_update_arena(u);
    uint32_t cnum;
    uint16_t cgen;
    pdf_val *catalog;
    *created = false;
    pdf_err err = pdf_update_catalog(&cnum, &cgen, u);
    if (err == PDF_OK)
        err = pdf_update_read(&catalog, u, cnum, cgen);
    if (err != PDF_OK)
        return err;
    pdf_val *af = pv_dict_get(catalog, "AcroForm");
    if (af && af->t == PV_REF) {
        pdf_val *target;
        err = pdf_update_read(&target, u, af->u.ref.num, af->u.ref.gen);
        if (err == PDF_OK && target->t == PV_DICT)
            return pdf_update_edit(out, u, af->u.ref.num, af->u.ref.gen);
        if (err != PDF_OK)
            return err;
        af = NULL;
    }
    err = pdf_update_edit(&catalog, u, cnum, cgen);
    if (err != PDF_OK)
        return err;
    af = pv_dict_get(catalog, "AcroForm");
    if (af && af->t == PV_DICT) {
        *out = af;
        return PDF_OK;
    }
    uint32_t num;
    pdf_val *nd = pv_dict(a);
    err = pdf_update_new_object(&num, u);
    if (err == PDF_OK)
        err = pdf_update_put(u, num, 0, nd);
    if (err == PDF_OK)
        err = pv_dict_set(a, catalog, "AcroForm", pv_ref(a, num, 0));
    *created = true;
    *out = nd;
    return err;
}

/* 12.7.3 Table 224: /SigFlags 3 = SignaturesExist | AppendOnly. /NeedAppearances (deprecated
 * in PDF 2.0) makes viewers regenerate widget appearances, which hides a signature's own; it
 * is dropped when every widget already has an appearance, so nothing else changes look. */
static pdf_err acroform_sign(pdf_update *u, uint32_t new_field, const form_info *f) {
    arena *a = pdf_update_arena(u);
    pdf_val *af;
    bool created;
    pdf_err err = edit_acroform(&af, u, &created);
    if (err != PDF_OK)
        return err;
    long long flags = 0;
    pv_dict_get_int(af, "SigFlags", &flags);
    err = pv_dict_set(a, af, "SigFlags", pv_int(a, flags | 3));
    pdf_val *na = pv_dict_get(af, "NeedAppearances");
    if (na && na->t == PV_BOOL && na->u.b && f->missing_ap == 0)
        pv_dict_remove(af, "NeedAppearances");
    if (err != PDF_OK || !new_field)
        return err;
    pdf_val *fields = pv_dict_get(af, "Fields");
    if (fields && fields->t == PV_REF) {
        pdf_val *target;
        err = pdf_update_read(&target, u, fields->u.ref.num, fields->u.ref.gen);
        if (err == PDF_OK && target->t == PV_ARRAY)
            err = pdf_update_edit(&fields, u, fields->u.ref.num, fields->u.ref.gen);
        else
            fields = NULL;
        if (err != PDF_OK)
            return err;
    }
    if (!fields || fields->t != PV_ARRAY) {
        fields = pv_array(a);
        err = pv_dict_set(a, af, "Fields", fields);
    }
    if (err == PDF_OK)
        err = pv_array_push(a, fields, pv_ref(a, new_field, 0));
    return err;
}

/* 12.8.2.2: the catalog's /Perms /DocMDP names the certification signature. */
static pdf_err catalog_docmdp(pdf_update *u, uint32_t sig) {
    arena *a = pdf_update_arena(u);
    uint32_t cnum;
    uint16_t cgen;
    pdf_val *catalog, *perms;
    pdf_err err = pdf_update_catalog(&cnum, &cgen, u);
    if (err == PDF_OK)
        err = pdf_update_edit(&catalog, u, cnum, cgen);
    if (err != PDF_OK)
        return err;
    perms = pv_dict_get(catalog, "Perms");
    if (perms && perms->t == PV_REF) {
        pdf_val *target;
        err = pdf_update_read(&target, u, perms->u.ref.num, perms->u.ref.gen);
        if (err == PDF_OK && target->t == PV_DICT)
            err = pdf_update_edit(&perms, u, perms->u.ref.num, perms->u.ref.gen);
        else
            perms = NULL;
        if (err != PDF_OK)
            return err;
    }
    if (!perms || perms->t != PV_DICT) {
        perms = pv_dict(a);
        err = pv_dict_set(a, catalog, "Perms", perms);
    }
    if (err == PDF_OK)
        err = pv_dict_set(a, perms, "DocMDP", pv_ref(a, sig, 0));
    return err;
}

static pdf_err unique_name(char *out, size_t n, const form_info *f) {
    for (int i = 1; i < 100000; i++) {
        snprintf(out, n, "Signature%d", i);
        if (!find_field(f, out))
            return PDF_OK;
    }
    return pdf_fail(PDF_E_LIMIT, "no free signature field name");
}

pdf_err pdf_sig_add(pdf_update *u, const pdf_sig_spec *spec) {
    arena *a = pdf_update_arena(u);
    form_info f;
    const field_info *fi;
    pdf_sig_field where;
    uint32_t sig_num, ap = spec->appearance;
    pdf_val *sig;
    int mdp;
    if (spec->docmdp < 0 || spec->docmdp > 3)
        return pdf_fail(PDF_E_ARG, "DocMDP permission must be 1, 2 or 3");
    pdf_err err = locate(&where, &fi, &f, u, spec);
    if (err == PDF_OK)
        err = docmdp_of(&mdp, &f, u);
    if (err != PDF_OK)
        return err;
    /* ETSI EN 319 142-1 5.4: validation data and document time-stamps may follow any
     * certification level. */
    if (mdp == 1 && !spec->doc_timestamp)
        return pdf_fail(PDF_E_SIGNED, "the document is certified with no changes allowed "
                                      "(DocMDP /P 1): a further signature would invalidate it");
    if (spec->docmdp) {
        bool signed_before = mdp != 0;
        for (size_t i = 0; i < f.n; i++)
            signed_before |= f.fields[i].is_sig && f.fields[i].has_value;
        if (signed_before)
            return pdf_fail(PDF_E_SIGNED, "a certification signature must be the document's "
                                          "first signature, and this one is already signed");
    }
    err = make_sig_dict(&sig, a, spec);
    if (err == PDF_OK)
        err = pdf_update_new_object(&sig_num, u);
    if (err == PDF_OK)
        err = pdf_update_put(u, sig_num, 0, sig);
    if (err == PDF_OK && !ap)
        err = empty_appearance(&ap, u, where.visible ? where.width : 0,
                               where.visible ? where.height : 0);
    if (err != PDF_OK)
        return err;
    if (fi) {
        /* An existing empty field: give it the value, and its widget the appearance. */
        pdf_val *field, *widget;
        err = pdf_update_edit(&field, u, fi->id.num, fi->id.gen);
        if (err == PDF_OK)
            err = pv_dict_set(a, field, "V", pv_ref(a, sig_num, 0));
        if (err == PDF_OK && fi->widget.num) {
            err = pdf_update_edit(&widget, u, fi->widget.num, fi->widget.gen);
            long long flags = 0;
            pv_dict_get_int(widget, "F", &flags);
            /* 12.5.3: printable, not hidden (1 Invisible, 2 Hidden, 32 NoView), unless the
             * caller gives the flags. */
            if (err == PDF_OK)
                err = pv_dict_set(
                    a, widget, "F",
                    pv_int(a, spec->flags ? spec->flags : (flags | 4) & ~(1LL | 2 | 32)));
            if (err == PDF_OK)
                err = set_appearance(a, widget, ap);
        }
        if (err == PDF_OK)
            err = acroform_sign(u, 0, &f);
    } else {
        /* A new field merged with its widget (12.7.4), on the given page or, invisible, on the
         * first page with an empty rectangle. */
        char name[32];
        uint32_t wnum, pnum;
        uint16_t pgen;
        int page = spec->page >= 0 ? spec->page : 0;
        double zero[4] = {0, 0, 0, 0};
        pdf_val *w = pv_dict(a);
        err = spec->field ? PDF_OK : unique_name(name, sizeof name, &f);
        if (err == PDF_OK)
            err = pdf_update_page(&pnum, &pgen, u, page);
        if (err == PDF_OK)
            err = pdf_update_new_object(&wnum, u);
        if (err == PDF_OK)
            err = pv_dict_set(a, w, "Type", pv_name(a, "Annot"));
        if (err == PDF_OK)
            err = pv_dict_set(a, w, "Subtype", pv_name(a, "Widget"));
        if (err == PDF_OK)
            err = pv_dict_set(a, w, "FT", pv_name(a, "Sig"));
        if (err == PDF_OK)
            err = set_text(a, w, "T", spec->field ? spec->field : name);
        if (err == PDF_OK)
            err = pv_dict_set(a, w, "V", pv_ref(a, sig_num, 0));
        /* 12.5.3: Print (4) | Locked (128) unless asked otherwise. */
        if (err == PDF_OK)
            err = pv_dict_set(
                a, w, "F",
                pv_int(a, spec->flags ? spec->flags : PDF_ANNOT_PRINT | PDF_ANNOT_LOCKED));
        if (err == PDF_OK)
            err = pv_dict_set(a, w, "Rect", pv_rect(a, spec->page >= 0 ? spec->rect : zero));
        if (err == PDF_OK)
            err = pv_dict_set(a, w, "P", pv_ref(a, pnum, pgen));
        if (err == PDF_OK && where.rotate) {
            pdf_val *mk = pv_dict(a);
            err = pv_dict_set(a, mk, "R", pv_int(a, where.rotate));
            if (err == PDF_OK)
                err = pv_dict_set(a, w, "MK", mk);
        }
        if (err == PDF_OK)
            err = set_appearance(a, w, ap);
        if (err == PDF_OK)
            err = pdf_update_put(u, wnum, 0, w);
        if (err == PDF_OK)
            err = pdf_update_add_annot(u, page, wnum);
        if (err == PDF_OK)
            err = acroform_sign(u, wnum, &f);
    }
    if (err == PDF_OK && spec->docmdp)
        err = catalog_docmdp(u, sig_num);
    return err;
}
