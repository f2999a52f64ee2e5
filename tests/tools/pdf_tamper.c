/* Changes a (signed) PDF the way an attacker or a careless tool would, with an incremental
 * update appended by eseal's own writer, for the verifier's tests:
 *
 *   pdf_tamper content IN OUT   page 1 draws a new content stream (a red box, "ALTERED")
 *   pdf_tamper annot IN OUT     a square annotation is added to page 1
 *   pdf_tamper page IN OUT      a blank page is appended
 *   pdf_tamper reason IN OUT    the last signature's /Reason is rewritten in place
 *   pdf_tamper noop IN OUT      the catalog is saved again unchanged (no change at all)
 *   pdf_tamper sneaky IN OUT    an unsigned signature field whose widget draws a red box
 *   pdf_tamper repoint IN OUT   page 1's object number is pointed back at its first version
 *                               in the file by a new cross-reference section alone (no new
 *                               object: the bytes were there when the file was signed)
 *   pdf_tamper sealpic IN OUT PNG  the appearance of the last signature's widget is replaced
 *                               by one showing PNG instead (a seal's picture swapped)
 *   pdf_tamper overseal IN OUT PNG  a /Stamp annotation showing PNG is added over the last
 *                               signature's widget, drawn on top of it (a seal's picture
 *                               covered; the widget and its appearance untouched)
 *
 * Exit 0 on success, 1 on failure with a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "imaging/image.h"
#include "pdf/pdf.h"
#include "pdf/xref.h"

static int fail(const char *what) {
    fprintf(stderr, "pdf_tamper: %s: %s\n", what, pdf_errdetail());
    return 1;
}

static pdf_val *resolve_get(pdf_update *u, pdf_val *d, const char *key) {
    pdf_val *v = d ? pv_dict_get(d, key) : NULL;
    if (v && v->t == PV_REF && pdf_update_read(&v, u, v->u.ref.num, v->u.ref.gen) != PDF_OK)
        return NULL;
    return v;
}

/* The /V reference of the last signature field of the form. */
static bool last_sig(pdf_update *u, uint32_t *num, uint16_t *gen) {
    uint32_t cn;
    uint16_t cg;
    pdf_val *cat, *fields;
    if (pdf_update_catalog(&cn, &cg, u) != PDF_OK || pdf_update_read(&cat, u, cn, cg) != PDF_OK)
        return false;
    fields = resolve_get(u, resolve_get(u, cat, "AcroForm"), "Fields");
    bool found = false;
    for (size_t i = 0; fields && fields->t == PV_ARRAY && i < fields->u.arr.n; i++) {
        pdf_val *f = fields->u.arr.items[i];
        if (f->t == PV_REF && pdf_update_read(&f, u, f->u.ref.num, f->u.ref.gen) != PDF_OK)
            continue;
        pdf_val *v = pv_dict_get(f, "V");
        if (v && v->t == PV_REF) {
            *num = v->u.ref.num;
            *gen = v->u.ref.gen;
            found = true;
        }
    }
    return found;
}

/* The last signature field of the form (a field with a /V reference). */
static bool last_sig_field(pdf_update *u, uint32_t *num, uint16_t *gen, pdf_val **field) {
    uint32_t cn;
    uint16_t cg;
    pdf_val *cat, *fields;
    if (pdf_update_catalog(&cn, &cg, u) != PDF_OK || pdf_update_read(&cat, u, cn, cg) != PDF_OK)
        return false;
    fields = resolve_get(u, resolve_get(u, cat, "AcroForm"), "Fields");
    bool found = false;
    for (size_t i = 0; fields && fields->t == PV_ARRAY && i < fields->u.arr.n; i++) {
        pdf_val *ref = fields->u.arr.items[i], *f;
        if (ref->t != PV_REF || pdf_update_read(&f, u, ref->u.ref.num, ref->u.ref.gen) != PDF_OK)
            continue;
        pdf_val *v = pv_dict_get(f, "V");
        if (v && v->t == PV_REF) {
            *num = ref->u.ref.num;
            *gen = ref->u.ref.gen;
            *field = f;
            found = true;
        }
    }
    return found;
}

/* "sealpic": the widget's normal appearance (same object number) rewritten to show png. The
 * image's streams must outlive the update (freed at the end). */
static pdf_image *swapped;

static pdf_err swap_picture(pdf_update *u, const char *png) {
    arena *a = pdf_update_arena(u);
    uint32_t fnum, img;
    uint16_t fgen;
    pdf_val *field, *ap, *n, *form;
    img_rgba *rgba = NULL;
    if (!last_sig_field(u, &fnum, &fgen, &field) || !(ap = resolve_get(u, field, "AP")) ||
        !(n = pv_dict_get(ap, "N")) || n->t != PV_REF ||
        pdf_update_read(&form, u, n->u.ref.num, n->u.ref.gen) != PDF_OK) {
        fprintf(stderr, "pdf_tamper: the last signature has no appearance stream\n");
        return PDF_E_ARG;
    }
    if (img_png_read_file(&rgba, png, NULL) != IMG_OK ||
        pdf_image_from_rgba(&swapped, rgba->px, rgba->width, rgba->height) != PDF_OK) {
        img_rgba_free(rgba);
        fprintf(stderr, "pdf_tamper: cannot read %s\n", png);
        return PDF_E_ARG;
    }
    pdf_err err = pdf_update_add_image(&img, u, swapped);
    double w = 0, h = 0;
    pdf_val *bbox = pv_dict_get(form, "BBox");
    if (bbox && bbox->t == PV_ARRAY && bbox->u.arr.n == 4) {
        pv_number(bbox->u.arr.items[2], &w);
        pv_number(bbox->u.arr.items[3], &h);
    }
    char content[128];
    int len = snprintf(content, sizeof content, "q %.4f 0 0 %.4f 0 0 cm /Im0 Do Q\n", w, h);
    uint8_t *data = arena_memdup(a, content, (size_t)len);
    pdf_val *d = pv_dict(a), *res = pv_dict(a), *xo = pv_dict(a);
    pv_dict_set(a, d, "Type", pv_name(a, "XObject"));
    pv_dict_set(a, d, "Subtype", pv_name(a, "Form"));
    pv_dict_set(a, d, "BBox", bbox);
    if (pv_dict_get(form, "Matrix"))
        pv_dict_set(a, d, "Matrix", pv_dict_get(form, "Matrix"));
    pv_dict_set(a, xo, "Im0", pv_ref(a, img, 0));
    pv_dict_set(a, res, "XObject", xo);
    pv_dict_set(a, d, "Resources", res);
    if (err == PDF_OK)
        err = pdf_update_put_stream(u, n->u.ref.num, d, data, (size_t)len);
    img_rgba_free(rgba);
    return err;
}

/* "overseal": a Stamp showing png over the last signature's widget, on its page, displayed and
 * printed, after the widget in /Annots. */
static pdf_err cover_seal(pdf_update *u, const char *png) {
    uint32_t fnum, img, form, annot, widget = 0;
    uint16_t fgen;
    pdf_val *field, *w = NULL, *rect;
    img_rgba *rgba = NULL;
    if (!last_sig_field(u, &fnum, &fgen, &field)) {
        fprintf(stderr, "pdf_tamper: no signature field\n");
        return PDF_E_ARG;
    }
    /* ISO 32000-2 12.7.4.1: the field merged with its widget, or its first kid */
    pdf_val *kids = resolve_get(u, field, "Kids");
    if (pv_dict_get(field, "Rect")) {
        widget = fnum;
        w = field;
    } else if (kids && kids->t == PV_ARRAY && kids->u.arr.n && kids->u.arr.items[0]->t == PV_REF) {
        pdf_val *k = kids->u.arr.items[0];
        widget = k->u.ref.num;
        if (pdf_update_read(&w, u, k->u.ref.num, k->u.ref.gen) != PDF_OK)
            w = NULL;
    }
    double r[4];
    rect = w ? resolve_get(u, w, "Rect") : NULL;
    for (int i = 0; i < 4; i++)
        if (!rect || rect->t != PV_ARRAY || rect->u.arr.n != 4 ||
            !pv_number(rect->u.arr.items[i], &r[i])) {
            fprintf(stderr, "pdf_tamper: the last signature has no widget with a /Rect\n");
            return PDF_E_ARG;
        }
    /* the page whose /Annots holds the widget */
    int page = -1;
    for (int i = 0; i < 10000 && page < 0; i++) {
        uint32_t pn;
        uint16_t pg;
        pdf_val *pd, *annots;
        if (pdf_update_page(&pn, &pg, u, i) != PDF_OK)
            break;
        if (pdf_update_read(&pd, u, pn, pg) != PDF_OK)
            continue;
        annots = resolve_get(u, pd, "Annots");
        for (size_t k = 0; annots && annots->t == PV_ARRAY && k < annots->u.arr.n; k++)
            if (annots->u.arr.items[k]->t == PV_REF && annots->u.arr.items[k]->u.ref.num == widget)
                page = i;
    }
    if (page < 0) {
        fprintf(stderr, "pdf_tamper: the last signature's widget is on no page\n");
        return PDF_E_ARG;
    }
    if (img_png_read_file(&rgba, png, NULL) != IMG_OK ||
        pdf_image_from_rgba(&swapped, rgba->px, rgba->width, rgba->height) != PDF_OK) {
        img_rgba_free(rgba);
        fprintf(stderr, "pdf_tamper: cannot read %s\n", png);
        return PDF_E_ARG;
    }
    double x0 = r[0] < r[2] ? r[0] : r[2], y0 = r[1] < r[3] ? r[1] : r[3];
    double x1 = r[0] < r[2] ? r[2] : r[0], y1 = r[1] < r[3] ? r[3] : r[1];
    pdf_err err = pdf_update_add_image(&img, u, swapped);
    if (err == PDF_OK)
        err = pdf_update_add_image_form(&form, u, x1 - x0, y1 - y0, 0, img, rgba->width,
                                        rgba->height);
    if (err == PDF_OK)
        err = pdf_update_add_annotation(&annot, u, page, "Stamp", (const double[4]){x0, y0, x1, y1},
                                        PDF_ANNOT_PRINT, form, "added after signing");
    img_rgba_free(rgba);
    return err;
}

/* "repoint": appends a cross-reference table and trailer by hand. */
static int repoint(const char *in, const char *outp, uint32_t num, uint16_t gen) {
    uint8_t *d;
    size_t len;
    pdf_xref *x = NULL;
    int rc = 1;
    if (file_read_all(&d, &len, in, (size_t)64 << 20) != 0) {
        fprintf(stderr, "pdf_tamper: cannot read %s\n", in);
        return 1;
    }
    char hdr[32];
    int hl = snprintf(hdr, sizeof hdr, "%u %u obj", num, gen);
    size_t first = SIZE_MAX, count = 0;
    for (size_t i = 0; i + (size_t)hl <= len; i++) {
        if (memcmp(d + i, hdr, (size_t)hl) == 0 &&
            (i == 0 || d[i - 1] == '\n' || d[i - 1] == '\r')) {
            if (first == SIZE_MAX)
                first = i;
            count++;
        }
    }
    long long size;
    pdf_val *root, *id;
    if (count < 2) {
        fprintf(stderr, "pdf_tamper: object %u has a single version\n", num);
    } else if (pdf_xref_read(&x, d, len) != PDF_OK || x->sections[0].kind != PDF_XREF_TABLE ||
               !pv_dict_get_int(x->sections[0].trailer, "Size", &size) ||
               !(root = pv_dict_get(x->sections[0].trailer, "Root")) || root->t != PV_REF) {
        fprintf(stderr, "pdf_tamper: needs a file ending with a cross-reference table\n");
    } else {
        buf b;
        buf_init(&b, len + 4096);
        buf_append(&b, d, len);
        size_t at = b.len + 1;
        buf_printf(&b, "\nxref\n0 1\n0000000000 65535 f \n%u 1\n%010zu %05u n \n", num, first, gen);
        buf_printf(&b, "trailer\n<</Size %lld/Root %u %u R/Prev %zu", size, root->u.ref.num,
                   root->u.ref.gen, x->startxref);
        id = pv_dict_get(x->sections[0].trailer, "ID");
        if (id) {
            buf_puts(&b, "/ID ");
            pv_write(&b, id, NULL, NULL);
        }
        buf_printf(&b, ">>\nstartxref\n%zu\n%%%%EOF\n", at);
        struct iovec part = {.iov_base = b.data, .iov_len = b.len};
        rc = file_write_atomic(outp, &part, 1, 0644) != 0;
        buf_free(&b);
    }
    pdf_xref_free(x);
    free(d);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 4 &&
        !(argc == 5 && (strcmp(argv[1], "sealpic") == 0 || strcmp(argv[1], "overseal") == 0))) {
        fprintf(stderr, "usage: pdf_tamper content|annot|page|reason|noop|sneaky|repoint IN OUT\n"
                        "       pdf_tamper sealpic|overseal IN OUT PNG\n");
        return 2;
    }
    const char *mode = argv[1];
    pdf_doc *doc = NULL;
    pdf_update *u = NULL;
    pdf_output out = {0};
    pdf_open_opts oo = {0};
    int rc = 1;
    if (pdf_doc_open_file(&doc, argv[2], &oo) != PDF_OK)
        return fail(argv[2]);
    if (pdf_update_begin(&u, doc) != PDF_OK) {
        rc = fail("update");
        goto done;
    }
    arena *a = pdf_update_arena(u);
    uint32_t pn, num;
    uint16_t pg, gen;
    pdf_val *page;
    if (pdf_update_page(&pn, &pg, u, 0) != PDF_OK) {
        rc = fail("page 1");
        goto done;
    }
    pdf_err err = PDF_OK;
    if (strcmp(mode, "repoint") == 0) {
        rc = repoint(argv[2], argv[3], pn, pg);
        goto done;
    }
    if (strcmp(mode, "content") == 0) {
        static const char text[] =
            "1 0 0 rg 20 20 120 40 re f BT /F1 18 Tf 30 30 Td (ALTERED) Tj ET";
        pdf_val *d = pv_dict(a);
        err = pdf_update_new_object(&num, u);
        if (err == PDF_OK)
            err = pdf_update_put_stream(u, num, d, (const uint8_t *)text, sizeof text - 1);
        if (err == PDF_OK)
            err = pdf_update_edit(&page, u, pn, pg);
        if (err == PDF_OK)
            err = pv_dict_set(a, page, "Contents", pv_ref(a, num, 0));
    } else if (strcmp(mode, "annot") == 0) {
        const double rect[4] = {20, 20, 120, 80};
        uint32_t annot;
        pdf_val *d = pv_dict(a);
        static const char ap[] = "0 0 1 RG 2 w 1 1 98 58 re S";
        err = pdf_update_new_object(&num, u);
        pv_dict_set(a, d, "Type", pv_name(a, "XObject"));
        pv_dict_set(a, d, "Subtype", pv_name(a, "Form"));
        pv_dict_set(a, d, "BBox", pv_rect(a, (const double[4]){0, 0, 100, 60}));
        if (err == PDF_OK)
            err = pdf_update_put_stream(u, num, d, (const uint8_t *)ap, sizeof ap - 1);
        if (err == PDF_OK)
            err = pdf_update_add_annotation(&annot, u, 0, "Square", rect, PDF_ANNOT_PRINT, num,
                                            "added after signing");
    } else if (strcmp(mode, "page") == 0) {
        pdf_val *pages_ref, *pages;
        err = pdf_update_read(&page, u, pn, pg);
        pages_ref = err == PDF_OK ? pv_dict_get(page, "Parent") : NULL;
        if (!pages_ref || pages_ref->t != PV_REF) {
            fprintf(stderr, "pdf_tamper: page 1 has no /Parent\n");
            goto done;
        }
        err = pdf_update_edit(&pages, u, pages_ref->u.ref.num, pages_ref->u.ref.gen);
        pdf_val *kids = err == PDF_OK ? pv_dict_get(pages, "Kids") : NULL;
        long long count = 0;
        if (!kids || kids->t != PV_ARRAY || !pv_dict_get_int(pages, "Count", &count)) {
            fprintf(stderr, "pdf_tamper: the page tree root is not a flat /Kids list\n");
            goto done;
        }
        pdf_val *np = pv_dict(a);
        pv_dict_set(a, np, "Type", pv_name(a, "Page"));
        pv_dict_set(a, np, "Parent", pv_ref(a, pages_ref->u.ref.num, pages_ref->u.ref.gen));
        pv_dict_set(a, np, "MediaBox", pv_rect(a, (const double[4]){0, 0, 595, 842}));
        err = pdf_update_new_object(&num, u);
        if (err == PDF_OK)
            err = pdf_update_put(u, num, 0, np);
        if (err == PDF_OK)
            err = pv_array_push(a, kids, pv_ref(a, num, 0));
        if (err == PDF_OK)
            err = pv_dict_set(a, pages, "Count", pv_int(a, count + 1));
    } else if (strcmp(mode, "reason") == 0) {
        pdf_val *sd;
        if (!last_sig(u, &num, &gen)) {
            fprintf(stderr, "pdf_tamper: no signature to rewrite\n");
            goto done;
        }
        err = pdf_update_edit(&sd, u, num, gen);
        if (err == PDF_OK)
            err = pv_dict_set(a, sd, "Reason", pv_text(a, "approved without reservation"));
    } else if (strcmp(mode, "sneaky") == 0) {
        static const char ap[] = "1 0 0 rg 0 0 100 30 re f";
        uint32_t apn, cn;
        uint16_t cg;
        pdf_val *d = pv_dict(a), *w = pv_dict(a), *apd = pv_dict(a), *cat, *form;
        pv_dict_set(a, d, "Type", pv_name(a, "XObject"));
        pv_dict_set(a, d, "Subtype", pv_name(a, "Form"));
        pv_dict_set(a, d, "BBox", pv_rect(a, (const double[4]){0, 0, 100, 30}));
        err = pdf_update_new_object(&apn, u);
        if (err == PDF_OK)
            err = pdf_update_put_stream(u, apn, d, (const uint8_t *)ap, sizeof ap - 1);
        pv_dict_set(a, apd, "N", pv_ref(a, apn, 0));
        pv_dict_set(a, w, "Type", pv_name(a, "Annot"));
        pv_dict_set(a, w, "Subtype", pv_name(a, "Widget"));
        pv_dict_set(a, w, "FT", pv_name(a, "Sig"));
        pv_dict_set(a, w, "T", pv_text(a, "Sneaky"));
        pv_dict_set(a, w, "F", pv_int(a, 4));
        pv_dict_set(a, w, "Rect", pv_rect(a, (const double[4]){20, 20, 120, 50}));
        pv_dict_set(a, w, "P", pv_ref(a, pn, pg));
        pv_dict_set(a, w, "AP", apd);
        if (err == PDF_OK)
            err = pdf_update_new_object(&num, u);
        if (err == PDF_OK)
            err = pdf_update_put(u, num, 0, w);
        if (err == PDF_OK)
            err = pdf_update_add_annot(u, 0, num);
        if (err == PDF_OK)
            err = pdf_update_catalog(&cn, &cg, u);
        if (err == PDF_OK)
            err = pdf_update_edit(&cat, u, cn, cg);
        form = err == PDF_OK ? pv_dict_get(cat, "AcroForm") : NULL;
        if (form && form->t == PV_REF)
            err = pdf_update_edit(&form, u, form->u.ref.num, form->u.ref.gen);
        pdf_val *fields = err == PDF_OK && form ? pv_dict_get(form, "Fields") : NULL;
        if (!fields || fields->t != PV_ARRAY) {
            fprintf(stderr, "pdf_tamper: the form has no direct /Fields array\n");
            goto done;
        }
        err = pv_array_push(a, fields, pv_ref(a, num, 0));
    } else if (strcmp(mode, "sealpic") == 0) {
        err = swap_picture(u, argv[4]);
    } else if (strcmp(mode, "overseal") == 0) {
        err = cover_seal(u, argv[4]);
    } else if (strcmp(mode, "noop") == 0) {
        pdf_val *cat;
        uint32_t cn;
        uint16_t cg;
        err = pdf_update_catalog(&cn, &cg, u);
        if (err == PDF_OK)
            err = pdf_update_edit(&cat, u, cn, cg);
    } else {
        fprintf(stderr, "pdf_tamper: unknown mode %s\n", mode);
        rc = 2;
        goto done;
    }
    if (err != PDF_OK) {
        rc = fail(mode);
        goto done;
    }
    if (pdf_update_write(&out, u) != PDF_OK) {
        rc = fail("write");
        goto done;
    }
    struct iovec parts[2];
    int n = pdf_output_parts(&out, parts);
    if (file_write_atomic(argv[3], parts, n, 0644) != 0) {
        fprintf(stderr, "pdf_tamper: cannot write %s\n", argv[3]);
        goto done;
    }
    rc = 0;
done:
    pdf_output_free(&out);
    pdf_update_free(u);
    pdf_doc_free(doc);
    pdf_image_free(swapped);
    return rc;
}
