/* Licence stamp layers (DESIGN.md "Licence stamp layers"), one incremental update with the
 * signature:
 *   watermark  /Watermark annotation over each chosen page: tiled, turned, low-opacity text
 *              drawn as glyph outlines (no font embedded), and an optional micro-text border;
 *   QR code    /Stamp annotation: white square, dark modules as vector paths, 4-module quiet
 *              zone, encoding the template's content with a token the bureau signs;
 *   seal       the signature's widget shows the crisp seal; with fog it is Print|NoView, so it
 *              prints but is never displayed, and a /Stamp annotation without the Print flag
 *              shows a fogged rendering on screen (ISO 32000-2 12.5.3 annotation flags).
 * PDF/A forbids annotations that do not print or are NoView (ISO 19005-1 6.5.3, 19005-2
 * 6.3.2) and PDF/A-1 forbids transparency: there the seal prints and shows crisp, without fog,
 * and the watermark is opaque in a pale colour; the result says so in its notes. */
#include "seal/stamp.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "imaging/glyph.h"
#include "imaging/qr.h"
#include "seal/internal.h"

struct seal_stamper {
    const seal_template *t;
    seal_signer *s;
    pdf_image *crisp, *fog;
    double w_mm, h_mm; /* the seal's size as stamped */
    img_font *font;
    crypto_key *qr_key; /* owned when not the signer's */
    bool own_qr_key;
};

#define MAX_TILES 4000

static const double PT_PER_MM = 72.0 / 25.4;

/* The seal layer when the signature carries a GB/T 38540 seal: the seal's own picture at the
 * seal's own size (SES_ESPictrueInfo), so that what is printed is what the seal binds. A
 * picture the template also names must be that picture, byte for byte. */
static seal_err seal_layer_of(seal_stamper *st, const seal_template *t,
                              const seal_stamper_opts *o) {
    const crypto_ses *ses = st->s->ses;
    seal_err err = SEAL_OK;
    if (o && o->seal_picture)
        return seal_fail(SEAL_E_ARG,
                         "seal \"%s\" brings its own picture: --seal-image cannot "
                         "replace it",
                         ses->name);
    if (t->seal_picture) {
        uint8_t *bytes = NULL;
        size_t len = 0;
        int e = file_read_all(&bytes, &len, t->seal_picture, CRYPTO_SES_MAX_DER);
        if (e == 0 && (len != ses->picture_len || memcmp(bytes, ses->picture, len) != 0))
            err = seal_fail(SEAL_E_TEMPLATE,
                            "template %s: seal.picture %s is not the picture of seal \"%s\" "
                            "(leave seal.picture out: the seal's own is stamped)",
                            t->name, t->seal_picture, ses->name);
        else if (e)
            err = e == EFBIG ? seal_fail(SEAL_E_TEMPLATE,
                                         "template %s: seal.picture %s is larger than any seal's",
                                         t->name, t->seal_picture)
                             : seal_fail(SEAL_E_IO, "%s: %s", t->seal_picture, strerror(e));
        free(bytes);
        if (err != SEAL_OK)
            return err;
    }
    if (t->seal_mm_given &&
        (fabs(t->seal_mm - ses->width_mm) > 0.5 || fabs(t->seal_mm - ses->height_mm) > 0.5))
        return seal_fail(SEAL_E_TEMPLATE,
                         "template %s: seal.diameter_mm is %g but seal \"%s\" is %dx%d mm (leave "
                         "diameter_mm out: the seal's own size is used)",
                         t->name, t->seal_mm, ses->name, ses->width_mm, ses->height_mm);
    st->w_mm = ses->width_mm;
    st->h_mm = ses->height_mm;
    err = seal_image_load_memory(&st->crisp, t->fog ? &st->fog : NULL, ses->picture,
                                 ses->picture_len);
    if (err != SEAL_OK && err != SEAL_E_NOMEM)
        err = seal_fail(SEAL_E_SEAL, "seal \"%s\": its picture cannot be shown: %s", ses->name,
                        seal_errdetail());
    return err;
}

seal_err seal_stamper_new(seal_stamper **out, const seal_template *t, seal_signer *s,
                          const seal_stamper_opts *o) {
    seal_err err = SEAL_OK;
    seal_stamper *st = calloc(1, sizeof *st);
    *out = NULL;
    if (!st)
        return SEAL_E_NOMEM;
    st->t = t;
    st->s = s;
    st->w_mm = st->h_mm = t->seal_mm;
    const char *pic = o && o->seal_picture ? o->seal_picture : t->seal_picture;
    if (t->seal_file && !s->ses) {
        err = seal_fail(SEAL_E_ARG, "template %s names seal %s, but the signer carries no seal",
                        t->name, t->seal_file);
        goto out;
    }
    if (s->ses) {
        err = seal_layer_of(st, t, o);
        if (err != SEAL_OK)
            goto out;
    } else if (!pic) {
        err = seal_fail(SEAL_E_ARG,
                        "template %s names no seal picture: give one with "
                        "--seal-image",
                        t->name);
        goto out;
    } else if ((err = seal_image_load(&st->crisp, t->fog ? &st->fog : NULL, pic)) != SEAL_OK) {
        goto out;
    }
    if (t->watermark) {
        /* face -1: the Simplified Chinese face of a collection, else the first */
        img_err ie = img_font_open(&st->font, o ? o->font : NULL, -1);
        if (ie != IMG_OK) {
            err = seal_fail_lib(SEAL_E_ARG, img_strerror(ie), img_errdetail());
            goto out;
        }
    }
    if (t->qr && o && o->qr_key_obj) {
        st->qr_key = o->qr_key_obj;
    } else if (t->qr && o && o->qr_key) {
        crypto_err ce = crypto_key_load(&st->qr_key, NULL, NULL, o->qr_key, o->qr_password);
        if (ce != CRYPTO_OK) {
            err = seal_fail_lib(SEAL_E_KEY, crypto_strerror(ce), crypto_errdetail());
            goto out;
        }
        st->own_qr_key = true;
    } else {
        st->qr_key = s->key;
    }
out:
    if (err == SEAL_OK)
        *out = st;
    else
        seal_stamper_free(st);
    return err;
}

void seal_stamper_free(seal_stamper *st) {
    if (!st)
        return;
    pdf_image_free(st->crisp);
    pdf_image_free(st->fog);
    img_font_free(st->font);
    if (st->own_qr_key)
        crypto_key_free(st->qr_key);
    free(st);
}

/* ---- the QR token ---- */

size_t seal_qr_message(char *out, size_t n, const seal_values *v) {
    static const char *const keys[] = {"licence_id", "credit_code", "valid_from", "valid_to"};
    size_t len = 0;
    int w = snprintf(out, n, "eseal-qr-v1\n");
    len = w > 0 ? (size_t)w : 0;
    for (int i = 0; i < 4; i++) {
        const char *val = seal_values_get(v, keys[i]);
        w = snprintf(out + (len < n ? len : n), len < n ? n - len : 0, "%s\n", val ? val : "");
        len += w > 0 ? (size_t)w : 0;
    }
    return len;
}

/* RFC 4648 section 5, without padding. */
static size_t base64url(char *out, size_t n, const uint8_t *p, size_t len) {
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < len ? p[i + 2] : 0);
        size_t chars = i + 2 < len ? 4 : i + 1 < len ? 3 : 2;
        for (size_t k = 0; k < chars && o + 1 < n; k++)
            out[o++] = a[(v >> (18 - 6 * k)) & 63];
    }
    out[o < n ? o : n - 1] = '\0';
    return o;
}

seal_err seal_qr_token(char *out, size_t n, seal_stamper *st, const seal_values *v) {
    char msg[8192];
    size_t len = seal_qr_message(msg, sizeof msg, v);
    if (len >= sizeof msg)
        return seal_fail(SEAL_E_TEMPLATE, "the QR token's values are too long");
    uint8_t sig[1024];
    size_t sig_len = sizeof sig;
    if (crypto_key_compact_size(st->qr_key) > sizeof sig)
        return seal_fail(SEAL_E_KEY, "the QR token key's signatures are too long");
    crypto_err ce = crypto_key_sign_compact(sig, &sig_len, st->qr_key, (const uint8_t *)msg, len);
    if (ce != CRYPTO_OK)
        return seal_fail_lib(SEAL_E_SIGN, crypto_strerror(ce), crypto_errdetail());
    if (n < sig_len * 4 / 3 + 4)
        return seal_fail(SEAL_E_ARG, "token buffer too small");
    base64url(out, n, sig, sig_len);
    return SEAL_OK;
}

/* ---- geometry ---- */

/* The page as the reader sees it, in millimetres. */
static void view_size_mm(double *w, double *h, const pdf_page_geom *g) {
    double cw = (g->crop[2] - g->crop[0]) * g->user_unit / PT_PER_MM;
    double ch = (g->crop[3] - g->crop[1]) * g->user_unit / PT_PER_MM;
    bool turned = g->rotate == 90 || g->rotate == 270;
    *w = turned ? ch : cw;
    *h = turned ? cw : ch;
}

/* A box of w x h mm placed by corner distances, in default user space. */
static void place_rect(double user[4], const pdf_page_geom *g, const seal_place *p, double w,
                       double h) {
    double pw, ph, v[4];
    view_size_mm(&pw, &ph, g);
    bool right = p->corner == SEAL_TOP_RIGHT || p->corner == SEAL_BOTTOM_RIGHT;
    bool top = p->corner == SEAL_TOP_LEFT || p->corner == SEAL_TOP_RIGHT;
    v[0] = right ? pw - p->x_mm - w : p->x_mm;
    v[1] = top ? ph - p->y_mm - h : p->y_mm;
    v[2] = w;
    v[3] = h;
    pdf_page_view_mm_to_user(user, g, v);
}

/* The 0-based pages a layer goes on, in order, without repeats. */
static seal_err resolve_pages(int **out, size_t *n, const seal_pages *p, int npages,
                              const char *layer) {
    size_t cap = p->kind == SEAL_PAGES_ALL ? (size_t)npages : p->kind == SEAL_PAGES_LIST ? p->n : 1;
    int *list = calloc(cap ? cap : 1, sizeof *list);
    *out = NULL;
    *n = 0;
    if (!list)
        return SEAL_E_NOMEM;
    if (p->kind == SEAL_PAGES_FIRST)
        list[(*n)++] = 0;
    else if (p->kind == SEAL_PAGES_LAST)
        list[(*n)++] = npages - 1;
    else if (p->kind == SEAL_PAGES_ALL)
        for (int i = 0; i < npages; i++)
            list[(*n)++] = i;
    else
        for (size_t i = 0; i < p->n; i++) {
            int pg = p->list[i] > 0 ? p->list[i] - 1 : npages + p->list[i];
            if (pg < 0 || pg >= npages) {
                free(list);
                return seal_fail(SEAL_E_DOCUMENT,
                                 "the template puts the %s on page %d; the "
                                 "document has %d",
                                 layer, p->list[i], npages);
            }
            bool dup = false;
            for (size_t k = 0; k < *n; k++)
                dup |= list[k] == pg;
            if (!dup)
                list[(*n)++] = pg;
        }
    *out = list;
    return SEAL_OK;
}

/* ---- layers ---- */

static seal_err from_img(img_err e) {
    return seal_fail_lib(e == IMG_E_NOMEM ? SEAL_E_NOMEM : SEAL_E_TEMPLATE, img_strerror(e),
                         img_errdetail());
}

/* Text as a form XObject of filled glyph outlines, baseline at 0. */
static seal_err text_form(uint32_t *num, double *width, pdf_update *u, img_font *font,
                          const char *text, double size, size_t *missing) {
    arena *a = pdf_update_arena(u);
    buf path;
    buf_init(&path, 16 * 1024 * 1024);
    size_t miss = 0;
    img_err ie = img_font_text_path(&path, font, text, size, 0, 0, width, &miss);
    seal_err err = ie == IMG_OK ? SEAL_OK : from_img(ie);
    if (err == SEAL_OK && buf_puts(&path, "f\n") != BUF_OK)
        err = SEAL_E_NOMEM;
    uint8_t *data = err == SEAL_OK ? arena_memdup(a, path.data, path.len) : NULL;
    if (err == SEAL_OK && !data)
        err = SEAL_E_NOMEM;
    if (err == SEAL_OK) {
        /* BBox generous around the glyphs: descenders and accents reach beyond the em box. */
        pdf_val *d = pv_dict(a);
        double bbox[4] = {-size, -0.5 * size, *width + size, 1.5 * size};
        pdf_err pe = pv_dict_set(a, d, "Type", pv_name(a, "XObject"));
        if (pe == PDF_OK)
            pe = pv_dict_set(a, d, "Subtype", pv_name(a, "Form"));
        if (pe == PDF_OK)
            pe = pv_dict_set(a, d, "BBox", pv_rect(a, bbox));
        if (pe == PDF_OK)
            pe = pdf_update_new_object(num, u);
        if (pe == PDF_OK)
            pe = pdf_update_put_stream(u, *num, d, data, path.len);
        if (pe != PDF_OK)
            err = seal_from_pdf(pe);
    }
    if (missing)
        *missing += miss;
    buf_free(&path);
    return err;
}

typedef struct wm_ctx {
    uint32_t tile, border_h, border_v; /* text forms; border 0 when none */
    double tile_w, border_h_w, border_v_w;
} wm_ctx;

/* The watermark of one page: its form is the page as the reader sees it (w x h user units). */
static seal_err watermark_page(pdf_update *u, const seal_template *t, const wm_ctx *wc, int page,
                               const pdf_page_geom *g, bool opaque) {
    arena *a = pdf_update_arena(u);
    double k = PT_PER_MM / g->user_unit;
    double wmm, hmm;
    view_size_mm(&wmm, &hmm, g);
    double w = wmm * k, h = hmm * k;
    double sx = t->wm_spacing_mm[0] * k, sy = t->wm_spacing_mm[1] * k;
    double rad = t->wm_angle * 3.14159265358979323846 / 180;
    double c = cos(rad), s = sin(rad);
    double col[3];
    for (int i = 0; i < 3; i++) /* opaque: the colour the translucent one would look like */
        col[i] = opaque ? 1 - t->wm_opacity * (1 - t->wm_colour[i]) : t->wm_colour[i];
    buf b;
    buf_init(&b, 4 * 1024 * 1024);
    int rc =
        buf_printf(&b, "q %s%.3f %.3f %.3f rg\n", opaque ? "" : "/G0 gs ", col[0], col[1], col[2]);
    /* Tiles over a margin around the page so the turned rows reach every edge; every other
     * row offset by half a step. */
    long tiles = 0;
    for (int j = 0; rc == BUF_OK && -h * 0.5 + j * sy < h * 1.5; j++) {
        double y = -h * 0.5 + j * sy;
        for (double x = -w * 0.5 + (j % 2) * sx / 2; rc == BUF_OK && x < w * 1.5; x += sx) {
            if (++tiles > MAX_TILES)
                break;
            rc = buf_printf(&b, "q %.4f %.4f %.4f %.4f %.2f %.2f cm /W0 Do Q\n", c, s, -s, c, x, y);
        }
    }
    if (rc == BUF_OK && wc->border_h) {
        /* Micro-text along the four edges, 4 mm in. */
        double in = 4 * k, bs = t->border_size_pt / g->user_unit;
        rc = buf_printf(&b,
                        "q 1 0 0 1 %.2f %.2f cm /B0 Do Q q 1 0 0 1 %.2f %.2f cm /B0 Do Q\n"
                        "q 0 1 -1 0 %.2f %.2f cm /B1 Do Q q 0 1 -1 0 %.2f %.2f cm /B1 Do Q\n",
                        in, in, in, h - in - bs, in + bs, in, w - in, in);
    }
    if (rc == BUF_OK)
        rc = buf_puts(&b, "Q\n");
    uint8_t *data = rc == BUF_OK ? arena_memdup(a, b.data, b.len) : NULL;
    size_t len = b.len;
    buf_free(&b);
    if (!data)
        return SEAL_E_NOMEM;
    pdf_val *res = pv_dict(a), *xo = pv_dict(a), *gs = pv_dict(a), *g0 = pv_dict(a);
    pdf_err pe = pv_dict_set(a, xo, "W0", pv_ref(a, wc->tile, 0));
    if (pe == PDF_OK && wc->border_h)
        pe = pv_dict_set(a, xo, "B0", pv_ref(a, wc->border_h, 0));
    if (pe == PDF_OK && wc->border_h)
        pe = pv_dict_set(a, xo, "B1", pv_ref(a, wc->border_v, 0));
    if (pe == PDF_OK)
        pe = pv_dict_set(a, res, "XObject", xo);
    if (pe == PDF_OK && !opaque) {
        pe = pv_dict_set(a, g0, "Type", pv_name(a, "ExtGState"));
        if (pe == PDF_OK)
            pe = pv_dict_set(a, g0, "ca", pv_real(a, t->wm_opacity));
        if (pe == PDF_OK)
            pe = pv_dict_set(a, gs, "G0", g0);
        if (pe == PDF_OK)
            pe = pv_dict_set(a, res, "ExtGState", gs);
    }
    uint32_t form, annot;
    if (pe == PDF_OK)
        pe = pdf_update_add_form(&form, u, w, h, g->rotate, res, data, len);
    if (pe == PDF_OK)
        pe = pdf_update_add_annotation(
            &annot, u, page, "Watermark", g->crop,
            PDF_ANNOT_PRINT | PDF_ANNOT_LOCKED | PDF_ANNOT_LOCKED_CONTENTS, form, NULL);
    return pe == PDF_OK ? SEAL_OK : seal_from_pdf(pe);
}

static seal_err add_watermarks(seal_result *res, pdf_update *u, seal_stamper *st,
                               const seal_values *v, bool opaque) {
    const seal_template *t = st->t;
    buf text;
    buf_init(&text, 4096);
    wm_ctx wc = {0};
    int *pages = NULL;
    size_t npages = 0, missing = 0;
    seal_err err = seal_template_expand(&text, t->wm_text, v, NULL);
    if (err == SEAL_OK && buf_puts(&text, "    ") == BUF_OK && buf_putc(&text, 0) == BUF_OK)
        err = text_form(&wc.tile, &wc.tile_w, u, st->font, (const char *)text.data, t->wm_size_pt,
                        &missing);
    if (err == SEAL_OK)
        err =
            resolve_pages(&pages, &npages, &t->wm_pages, pdf_doc_page_count(res->doc), "watermark");
    for (size_t i = 0; i < npages && err == SEAL_OK; i++) {
        pdf_page_geom g;
        pdf_err pe = pdf_page_geometry(&g, res->doc, pages[i]);
        if (pe != PDF_OK) {
            err = seal_from_pdf(pe);
            break;
        }
        if (t->border_text && !wc.border_h) {
            /* Micro-text rows as long as the first page's edges (less 8 mm). */
            double wmm, hmm, k = PT_PER_MM / g.user_unit;
            view_size_mm(&wmm, &hmm, &g);
            buf unit, row;
            buf_init(&unit, 4096);
            buf_init(&row, 64 * 1024);
            double uw = 0;
            err = seal_template_expand(&unit, t->border_text, v, NULL);
            if (err == SEAL_OK && (buf_puts(&unit, " · ") != BUF_OK || buf_putc(&unit, 0)))
                err = SEAL_E_NOMEM;
            img_err ie = err == SEAL_OK
                             ? img_font_text_width(&uw, st->font, (const char *)unit.data,
                                                   t->border_size_pt / g.user_unit)
                             : IMG_OK;
            if (err == SEAL_OK && ie != IMG_OK)
                err = from_img(ie);
            for (int dir = 0; dir < 2 && err == SEAL_OK && uw > 0; dir++) {
                double len = ((dir ? hmm : wmm) - 8) * k;
                size_t reps = (size_t)(len / uw);
                if (reps > 400)
                    reps = 400;
                buf_reset(&row);
                for (size_t r = 0; r < reps && err == SEAL_OK; r++)
                    if (buf_append(&row, unit.data, unit.len - 1) != BUF_OK)
                        err = SEAL_E_NOMEM;
                if (err == SEAL_OK && reps && buf_putc(&row, 0) == BUF_OK)
                    err = text_form(dir ? &wc.border_v : &wc.border_h,
                                    dir ? &wc.border_v_w : &wc.border_h_w, u, st->font,
                                    (const char *)row.data, t->border_size_pt / g.user_unit,
                                    &missing);
            }
            buf_free(&unit);
            buf_free(&row);
            if (err == SEAL_OK && !wc.border_v)
                wc.border_h = 0; /* page too small for a border */
        }
        if (err == SEAL_OK)
            err = watermark_page(u, t, &wc, pages[i], &g, opaque);
    }
    if (err == SEAL_OK && missing) {
        size_t l = strlen(res->notes);
        snprintf(res->notes + l, sizeof res->notes - l,
                 "%swatermark: %zu character(s) missing from the font", l ? "; " : "", missing);
    }
    free(pages);
    buf_free(&text);
    return err;
}

static seal_err add_qr(seal_result *res, pdf_update *u, seal_stamper *st, const seal_values *v) {
    const seal_template *t = st->t;
    arena *a = pdf_update_arena(u);
    char token[1024];
    buf content, path;
    buf_init(&content, 4096);
    buf_init(&path, 1024 * 1024);
    img_qr *q = NULL;
    int *pages = NULL;
    size_t npages = 0;
    seal_err err = SEAL_OK;
    if (strstr(t->qr_content, "{token}"))
        err = seal_qr_token(token, sizeof token, st, v);
    if (err == SEAL_OK)
        err = seal_template_expand(&content, t->qr_content, v, token);
    if (err == SEAL_OK && buf_putc(&content, 0) != BUF_OK)
        err = SEAL_E_NOMEM;
    if (err == SEAL_OK) {
        img_err ie = img_qr_encode(&q, (const char *)content.data, (img_qr_level)t->qr_level);
        if (ie != IMG_OK)
            err = from_img(ie);
    }
    if (err == SEAL_OK)
        err = resolve_pages(&pages, &npages, &t->qr_pages, pdf_doc_page_count(res->doc), "QR code");
    for (size_t i = 0; i < npages && err == SEAL_OK; i++) {
        pdf_page_geom g;
        pdf_err pe = pdf_page_geometry(&g, res->doc, pages[i]);
        double rect[4], side = t->qr_mm * PT_PER_MM / g.user_unit;
        /* Drawn in module units (integers, short to write) and scaled by one cm. */
        double units = q->size + 8;
        buf_reset(&path);
        int rc = buf_printf(&path, "1 g 0 0 %.3f %.3f re f q %.5f 0 0 %.5f 0 0 cm 0 g\n", side,
                            side, side / units, side / units);
        if (pe == PDF_OK && rc == BUF_OK) {
            img_err ie = img_qr_path(&path, q, 0, 0, units);
            if (ie != IMG_OK) {
                err = from_img(ie);
                break;
            }
            rc = buf_puts(&path, "f Q\n");
        }
        uint8_t *data = rc == BUF_OK ? arena_memdup(a, path.data, path.len) : NULL;
        if (pe == PDF_OK && !data)
            pe = PDF_E_NOMEM;
        uint32_t form, annot;
        if (pe == PDF_OK)
            pe = pdf_update_add_form(&form, u, side, side, g.rotate, NULL, data, path.len);
        if (pe == PDF_OK) {
            place_rect(rect, &g, &t->qr_at, t->qr_mm, t->qr_mm);
            char alt[600];
            snprintf(alt, sizeof alt, "QR code: %s", (const char *)content.data);
            pe = pdf_update_add_annotation(
                &annot, u, pages[i], "Stamp", rect,
                PDF_ANNOT_PRINT | PDF_ANNOT_LOCKED | PDF_ANNOT_LOCKED_CONTENTS, form, alt);
        }
        if (pe != PDF_OK)
            err = seal_from_pdf(pe);
    }
    img_qr_free(q);
    free(pages);
    buf_free(&content);
    buf_free(&path);
    return err;
}

seal_err seal_stamp_memory(seal_result *res, seal_stamper *st, const seal_values *v, uint8_t *data,
                           size_t len, const seal_sign_opts *o) {
    const seal_template *t = st->t;
    pdf_update *u = NULL;
    int *pages = NULL;
    size_t npages = 0;
    buf texts[3];
    for (int i = 0; i < 3; i++)
        buf_init(&texts[i], 4096);
    bool by_field = t->seal_at.field != NULL;
    seal_err err = seal_begin(res, &u, data, len, o, true);
    if (err != SEAL_OK)
        goto out;
    int pdfa = pdf_doc_pdfa_part(res->doc);
    bool fog = t->fog && !pdfa;
    if (t->fog && pdfa)
        snprintf(res->notes, sizeof res->notes,
                 "PDF/A-%d: the seal shows crisp on screen too (PDF/A allows no fog layer)", pdfa);
    if (t->watermark && (err = add_watermarks(res, u, st, v, pdfa == 1)) != SEAL_OK)
        goto out;
    if (t->qr && (err = add_qr(res, u, st, v)) != SEAL_OK)
        goto out;

    /* The seal: the signature's widget on the first of its pages (or in the named field),
     * plain stamps on the others, and fog over each. */
    if ((err = resolve_pages(&pages, &npages, &t->seal_pages, pdf_doc_page_count(res->doc),
                             "seal")) != SEAL_OK)
        goto out;
    time_t when = o->when ? o->when : time(NULL);
    const char *const patterns[3] = {t->reason, t->location, t->contact};
    for (int i = 0; i < 3; i++)
        if (patterns[i] &&
            ((err = seal_template_expand(&texts[i], patterns[i], v, NULL)) != SEAL_OK ||
             buf_putc(&texts[i], 0) != BUF_OK))
            goto out;
    pdf_sig_spec spec = {.field = by_field ? t->seal_at.field : NULL,
                         .existing = by_field,
                         .page = by_field ? -1 : pages[0],
                         .docmdp = t->certify,
                         .reason = t->reason ? (const char *)texts[0].data : NULL,
                         .location = t->location ? (const char *)texts[1].data : NULL,
                         .contact = t->contact ? (const char *)texts[2].data : NULL,
                         .signing_time = when,
                         .flags =
                             PDF_ANNOT_PRINT | PDF_ANNOT_LOCKED | (fog ? PDF_ANNOT_NOVIEW : 0)};
    pdf_page_geom g;
    pdf_err pe = PDF_OK;
    if (!by_field) {
        if ((pe = pdf_page_geometry(&g, res->doc, pages[0])) == PDF_OK)
            place_rect(spec.rect, &g, &t->seal_at, st->w_mm, st->h_mm);
    }
    pdf_sig_field where;
    uint32_t crisp = 0, fogged = 0, iw, ih;
    pdf_image_size(st->crisp, &iw, &ih);
    if (pe == PDF_OK)
        pe = pdf_sig_locate(&where, u, &spec);
    if (pe == PDF_OK && !where.visible)
        pe = PDF_E_FIELD;
    if (pe == PDF_OK)
        pe = pdf_update_add_image(&crisp, u, st->crisp);
    if (pe == PDF_OK && fog)
        pe = pdf_update_add_image(&fogged, u, st->fog);
    if (pe == PDF_OK)
        pe = pdf_update_add_image_form(&spec.appearance, u, where.width, where.height, where.rotate,
                                       crisp, iw, ih);
    /* Other pages of the seal, and the fog over every one. */
    for (size_t i = 0; i < npages && pe == PDF_OK; i++) {
        int page = i == 0 && by_field ? where.page : pages[i];
        double rect[4], w = where.width, h = where.height;
        int rotate = where.rotate;
        if (i == 0) {
            memcpy(rect, where.rect, sizeof rect);
        } else {
            if ((pe = pdf_page_geometry(&g, res->doc, page)) != PDF_OK)
                break;
            place_rect(rect, &g, &t->seal_at, st->w_mm, st->h_mm);
            w = st->w_mm * PT_PER_MM / g.user_unit;
            h = st->h_mm * PT_PER_MM / g.user_unit;
            rotate = g.rotate;
            uint32_t form, annot;
            pe = pdf_update_add_image_form(&form, u, w, h, rotate, crisp, iw, ih);
            if (pe == PDF_OK)
                pe = pdf_update_add_annotation(&annot, u, page, "Stamp", rect, spec.flags, form,
                                               "Seal");
        }
        if (pe == PDF_OK && fog && page >= 0) {
            uint32_t form, annot;
            pe = pdf_update_add_image_form(&form, u, w, h, rotate, fogged, iw, ih);
            if (pe == PDF_OK)
                pe = pdf_update_add_annotation(&annot, u, page, "Stamp", rect,
                                               PDF_ANNOT_LOCKED | PDF_ANNOT_LOCKED_CONTENTS, form,
                                               "Seal (screen rendering; the crisp seal prints)");
        }
    }
    if (pe == PDF_E_FIELD && by_field)
        err = seal_fail(SEAL_E_DOCUMENT,
                        "the template puts the seal on field \"%s\", which has "
                        "no visible rectangle in this document",
                        t->seal_at.field);
    else if (pe != PDF_OK)
        err = seal_from_pdf(pe);
    if (err == SEAL_OK)
        err = seal_finish(res, st->s, u, &spec);
out:
    for (int i = 0; i < 3; i++)
        buf_free(&texts[i]);
    free(pages);
    pdf_update_free(u);
    if (err == SEAL_OK)
        err = seal_extend(res, st->s, o);
    if (err != SEAL_OK)
        seal_result_free(res);
    return err;
}

seal_err seal_stamp_file(seal_stamper *st, const seal_values *v, const char *in, const char *out,
                         const seal_sign_opts *o, char *notes, size_t notes_len) {
    uint8_t *data;
    size_t len;
    seal_result res;
    int e = file_read_all(&data, &len, in, PDF_DEFAULT_MAX_BYTES);
    if (e == EFBIG)
        return seal_fail(SEAL_E_DOCUMENT, "%s is larger than %zu bytes", in,
                         (size_t)PDF_DEFAULT_MAX_BYTES);
    if (e)
        return seal_fail(SEAL_E_IO, "%s: %s", in, strerror(e));
    seal_err err = seal_stamp_memory(&res, st, v, data, len, o);
    if (err != SEAL_OK)
        return err;
    struct iovec parts[2];
    int n = pdf_output_parts(&res.out, parts);
    e = o->no_sync ? file_write_atomic_nosync(out, parts, n, 0644)
                   : file_write_atomic(out, parts, n, 0644);
    if (e)
        err = seal_fail(SEAL_E_IO, "%s: %s", out, strerror(e));
    if (notes && notes_len) {
        snprintf(notes, notes_len, "%s%s%s",
                 res.repaired ? "damaged cross-reference table "
                                "rewritten whole before signing"
                              : "",
                 res.repaired && res.notes[0] ? "; " : "", res.notes);
    }
    seal_result_free(&res);
    return err;
}
