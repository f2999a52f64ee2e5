/* Whether the page shows a seal's picture where the signature that carries the seal is
 * (DESIGN.md "Seals": the verifier checks that the picture shown on the page is the seal's
 * picture). GB/T 38540-2020 binds the picture (SES_ESPictrueInfo) to the signer under the seal
 * maker's signature; a PDF reader shows and prints whatever the signature's widget draws, so
 * the verifier reads that widget in the document's last revision -- what a reader shows now,
 * whatever later updates did -- and compares the pixels it paints with the seal's own.
 *
 * The widget (ISO 32000-2 12.5.6.19) must be on a page (its /Annots), not hidden and shown on
 * screen or in print (12.5.3 /F), outside optional content (8.11), with a non-empty /Rect; its
 * normal appearance (12.5.5) a form XObject whose content, and that of the forms it calls, does
 * nothing but q, Q, cm and Do: no path, text, clip, inline image or graphics state that could
 * hide, cover or change the picture. Every image it paints (8.9.5) must be the seal's picture:
 * the same width and height in pixels, 8-bit DeviceRGB or DeviceGray samples (Flate or no
 * filter) equal to the picture's, and its /SMask (11.6.5.3) equal to the picture's alpha (or,
 * in PDF/A-1, its 1-bit /Mask to the alpha's halves); pixels fully transparent in both may
 * differ. A JPEG picture may differ by a few levels per sample (decoders round their IDCT
 * differently). Painted upright and undistorted, inside the widget and the page's crop box,
 * at least half the seal's size in millimetres.
 *
 * What else a reader may show there (ISO 32000-2 12.5.5, 12.5.2):
 * - the widget's rollover (/R) and down (/D) appearances, shown when the pointer is over it or
 *   presses it, must be absent, the very stream of its normal appearance, or pass the same
 *   check; an appearance given as a subdictionary of states (keyed by /AS) must have /AS select
 *   one, and every state of it must pass (a reader's state is not the verifier's to guess);
 * - an annotation on the same page whose rectangle (or its pop-up's) meets the widget's, that
 *   is displayed or printed (12.5.3), whatever its type or appearance (readers draw some types
 *   without one), must be as the signed revision had it: there, unchanged in it and in all it
 *   uses (compared object by object), with the widget where it was, and not moved from under
 *   the widget to above it in /Annots (12.5.1: annotations are drawn in that order). An
 *   annotation added or changed after signing that is drawn over the seal replaces its picture
 *   on screen or in print; one drawn under it shows through the picture's transparent parts,
 *   and readers that draw some annotations in a layer above the page (pop-ups, icons) put it on
 *   top. An approval signature without DocMDP permits annotation changes (seal/mdp.c lets them
 *   through), so this is the check that catches them; the page's own content cannot change
 *   unnoticed there. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/u64map.h"
#include "imaging/image.h"
#include "pdf/lex.h"
#include "seal/internal.h"
#include "seal/verify_internal.h"

#define PIC_MAX_FORM_DEPTH 4               /* forms calling forms */
#define PIC_MAX_CONTENT (1u << 20)         /* decoded bytes of one content stream */
#define PIC_MAX_OPS 10000                  /* operators in all the content read */
#define PIC_MAX_IMAGES 4                   /* images painted (a seal's appearance paints one) */
#define PIC_MAX_FORMS 16                   /* form XObjects run, the appearance's own included */
#define PIC_MAX_Q 28                       /* nesting of q (ISO 32000-2 Annex C) */
#define PIC_MAX_WIDGETS 16                 /* widgets of one signature field */
#define PIC_MAX_ANNOTS 10000               /* annotations looked at on one page */
#define PIC_MAX_PIXELS (16u * 1000 * 1000) /* the seal's picture (992 px at 600 dpi, 42 mm) */
#define PIC_JPEG_TOLERANCE 3
#define PIC_MAX_STATES 4                          /* appearance states of one of /N, /R, /D */
#define PIC_MAX_STREAMS (3 * PIC_MAX_STATES)      /* appearance streams checked for one widget */
#define PIC_MAX_STREAMS_ALL 16                    /* appearance streams checked for all widgets */
#define PIC_MAX_IMAGES_ALL 16                     /* images compared for all of them */
#define PIC_MAX_COMPARE 100000                    /* objects compared with the signed revision */
#define PIC_MAX_COMPARE_STREAM ((size_t)64 << 20) /* decoded bytes of one stream compared */

static const double PT_PER_MM = 72.0 / 25.4;

/* [a b c d e f], ISO 32000-2 8.3.4: a point [x y 1] maps to [x y 1] x M. */
typedef struct mat {
    double m[6];
} mat;

static mat mat_mul(mat a, mat b) { /* a then b */
    mat r = {{a.m[0] * b.m[0] + a.m[1] * b.m[2], a.m[0] * b.m[1] + a.m[1] * b.m[3],
              a.m[2] * b.m[0] + a.m[3] * b.m[2], a.m[2] * b.m[1] + a.m[3] * b.m[3],
              a.m[4] * b.m[0] + a.m[5] * b.m[2] + b.m[4],
              a.m[4] * b.m[1] + a.m[5] * b.m[3] + b.m[5]}};
    return r;
}

static void mat_apply(double *x, double *y, mat a, double px, double py) {
    *x = px * a.m[0] + py * a.m[2] + a.m[4];
    *y = px * a.m[1] + py * a.m[3] + a.m[5];
}

/* The bounding box of rectangle r mapped by a. */
static void box_of(double out[4], mat a, const double r[4]) {
    const double xs[2] = {r[0], r[2]}, ys[2] = {r[1], r[3]};
    for (int i = 0; i < 4; i++) {
        double x, y;
        mat_apply(&x, &y, a, xs[i & 1], ys[i >> 1]);
        if (i == 0 || x < out[0])
            out[0] = x;
        if (i == 0 || y < out[1])
            out[1] = y;
        if (i == 0 || x > out[2])
            out[2] = x;
        if (i == 0 || y > out[3])
            out[3] = y;
    }
}

static bool read_rect(double out[4], const pdf_val *v) {
    double r[4];
    if (!v || v->t != PV_ARRAY || v->u.arr.n != 4)
        return false;
    for (int i = 0; i < 4; i++)
        if (!pv_number(v->u.arr.items[i], &r[i]) || !isfinite(r[i]) || fabs(r[i]) > 1e7)
            return false;
    out[0] = fmin(r[0], r[2]);
    out[1] = fmin(r[1], r[3]);
    out[2] = fmax(r[0], r[2]);
    out[3] = fmax(r[1], r[3]);
    return true;
}

static bool read_matrix(mat *out, const pdf_val *v) {
    *out = (mat){{1, 0, 0, 1, 0, 0}};
    if (!v)
        return true;
    if (v->t != PV_ARRAY || v->u.arr.n != 6)
        return false;
    for (int i = 0; i < 6; i++)
        if (!pv_number(v->u.arr.items[i], &out->m[i]) || !isfinite(out->m[i]) ||
            fabs(out->m[i]) > 1e7)
            return false;
    return true;
}

typedef struct pic_ctx {
    pdf_raw *raw;
    pdf_rev *v;
    pdf_rev *signed_rev;  /* the revision the signature signs; NULL when unknown */
    const img_rgba *seal; /* the seal's picture, decoded */
    bool jpeg;
    int width_mm, height_mm;
    double user_unit;
    double crop[4]; /* the page's crop box */
    size_t ops;     /* operators read so far */
    size_t images;  /* images painted so far */
    size_t forms;   /* forms run so far */
    size_t streams; /* appearance streams checked */
    size_t images_all;
    uint32_t page;     /* the page object whose /Annots holds the widget */
    u64map same;       /* objects found as the signed revision has them (or being compared) */
    uint32_t *pending; /* objects still to compare (a work stack) */
    size_t n_pending, cap_pending;
    char cause[512]; /* why the widget does not show the seal's picture */
    seal_err err;    /* out of memory */
} pic_ctx;

static bool bad(pic_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool bad(pic_ctx *c, const char *fmt, ...) {
    if (!c->cause[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->cause, sizeof c->cause, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* ---- images (ISO 32000-2 8.9.5, 11.6.5.3) ---- */

static const pdf_robj *stream_of(pdf_rev *v, const pdf_val *ref) {
    const pdf_robj *o;
    if (!ref || ref->t != PV_REF || pdf_rev_obj(&o, v, ref->u.ref.num) != PDF_OK || !o->stream)
        return NULL;
    return o;
}

/* The decoded samples of an image stream: exactly need bytes (at least need for a 1-bit mask,
 * whose rows are padded). */
static bool samples(pic_ctx *c, buf *out, const pdf_robj *o, size_t need, const char *what) {
    buf_init(out, need + 1);
    pdf_err pe = pdf_rev_stream_data(out, c->v, o, need + 1);
    if (pe == PDF_E_NOMEM) {
        c->err = SEAL_E_NOMEM;
        return false;
    }
    if (pe != PDF_OK)
        return bad(c,
                   "the picture shown is not the seal's picture: %s (object %u) cannot be "
                   "decoded: %s",
                   what, o->num, pdf_errdetail());
    if (out->len != need)
        return bad(c,
                   "the picture shown is not the seal's picture: %s (object %u) holds %s%zu "
                   "bytes of samples, not %zu",
                   what, o->num, out->len > need ? "more than " : "", out->len, need);
    return true;
}

/* /Decode, when present, must be the default (8.9.5.2 Table 90): an inverted or narrowed range
 * changes every colour. */
static bool default_decode(const pdf_val *d, int comps) {
    const pdf_val *dec = pv_dict_get(d, "Decode");
    if (!dec || dec->t == PV_NULL)
        return true;
    if (dec->t != PV_ARRAY || dec->u.arr.n != (size_t)comps * 2)
        return false;
    for (size_t i = 0; i < dec->u.arr.n; i++) {
        double x;
        if (!pv_number(dec->u.arr.items[i], &x) || x != (double)(i & 1))
            return false;
    }
    return true;
}

static bool is_8bit_image(const pdf_val *d, uint32_t w, uint32_t h) {
    long long iw, ih, bpc;
    return pv_is_name(pv_dict_get(d, "Subtype"), "Image") && pv_dict_get_int(d, "Width", &iw) &&
           pv_dict_get_int(d, "Height", &ih) && iw == w && ih == h &&
           pv_dict_get_int(d, "BitsPerComponent", &bpc) && bpc == 8 && !pv_dict_get(d, "ImageMask");
}

static bool near(int a, int b, int tol) {
    return abs(a - b) <= tol;
}

/* The image XObject o, painted with ctm, against the seal's picture. */
static bool check_image(pic_ctx *c, const pdf_robj *o, const char *name, mat ctm,
                        const double clip[4]) {
    const pdf_val *d = o->val;
    const img_rgba *s = c->seal;
    uint32_t w = s->width, h = s->height;
    size_t npx = (size_t)w * h;
    long long iw = 0, ih = 0;
    pv_dict_get_int(d, "Width", &iw);
    pv_dict_get_int(d, "Height", &ih);
    if (++c->images > PIC_MAX_IMAGES)
        return bad(c, "the seal's appearance paints more than %d images", PIC_MAX_IMAGES);
    if (++c->images_all > PIC_MAX_IMAGES_ALL)
        return bad(c, "the seal's appearances paint more than %d images in all",
                   PIC_MAX_IMAGES_ALL);
    if (pv_dict_get(d, "OC"))
        return bad(c, "the seal's picture (image %s) is optional content a reader may hide", name);
    if (iw != w || ih != h)
        return bad(c,
                   "the picture shown is not the seal's picture: image %s is %lldx%lld pixels, "
                   "the seal's %ux%u",
                   name, iw, ih, w, h);
    const char *cs = pv_dict_get_name(d, "ColorSpace");
    int comps = cs && strcmp(cs, "DeviceRGB") == 0    ? 3
                : cs && strcmp(cs, "DeviceGray") == 0 ? 1
                                                      : 0;
    if (!is_8bit_image(d, w, h) || !comps || !default_decode(d, comps))
        return bad(c,
                   "the picture shown is not the seal's picture: image %s is not 8-bit "
                   "DeviceRGB or DeviceGray samples as eseal compares them",
                   name);
    /* the alpha: a soft mask, or (PDF/A-1, ISO 19005-1 6.4) an explicit 1-bit mask */
    const pdf_val *smask_ref = pv_dict_get(d, "SMask"), *mask_ref = pv_dict_get(d, "Mask");
    const pdf_robj *sm = NULL, *mk = NULL;
    if (smask_ref && smask_ref->t != PV_NULL) {
        sm = stream_of(c->v, smask_ref);
        if (!sm || !is_8bit_image(sm->val, w, h) ||
            !pv_is_name(pv_dict_get(sm->val, "ColorSpace"), "DeviceGray") ||
            !default_decode(sm->val, 1) || pv_dict_get(sm->val, "Matte"))
            return bad(c,
                       "the picture shown is not the seal's picture: the soft mask of image %s "
                       "is not the 8-bit grey alpha eseal compares",
                       name);
    } else if (mask_ref && mask_ref->t != PV_NULL) {
        mk = stream_of(c->v, mask_ref);
        long long mw, mh, bpc = 1;
        const pdf_val *im = mk ? pv_dict_get(mk->val, "ImageMask") : NULL;
        if (!mk || !im || im->t != PV_BOOL || !im->u.b || !pv_dict_get_int(mk->val, "Width", &mw) ||
            !pv_dict_get_int(mk->val, "Height", &mh) || mw != w || mh != h ||
            (pv_dict_get_int(mk->val, "BitsPerComponent", &bpc) && bpc != 1) ||
            !default_decode(mk->val, 1))
            return bad(c,
                       "the picture shown is not the seal's picture: the mask of image %s is "
                       "not a 1-bit mask of the picture's size",
                       name);
    }
    buf rgb, alpha;
    buf_init(&alpha, 1);
    bool ok = samples(c, &rgb, o, npx * (size_t)comps, name);
    size_t mask_row = ((size_t)w + 7) / 8;
    if (ok && sm)
        ok = samples(c, &alpha, sm, npx, "its soft mask");
    else if (ok && mk)
        ok = samples(c, &alpha, mk, mask_row * h, "its mask");
    size_t differ = 0;
    int tol = c->jpeg ? PIC_JPEG_TOLERANCE : 0;
    for (size_t y = 0, i = 0; ok && y < h; y++) {
        for (size_t x = 0; x < w; x++, i++) {
            const uint8_t *p = s->px + 4 * i;
            int a = p[3], shown;
            if (sm)
                shown = alpha.data[i];
            else if (mk)
                shown = alpha.data[y * mask_row + x / 8] & (0x80 >> (x % 8)) ? 0 : 255;
            else
                shown = 255;
            bool same;
            if (mk)
                same = (shown == 0) == (a < 128);
            else
                same = near(shown, a, tol);
            if (same && shown > 0 && (mk ? a >= 128 : a > 0)) {
                const uint8_t *q = rgb.data + (size_t)comps * i;
                for (int k = 0; k < 3 && same; k++)
                    same = near(q[comps == 3 ? k : 0], p[k], tol);
            }
            differ += !same;
        }
    }
    buf_free(&rgb);
    buf_free(&alpha);
    if (!ok)
        return false;
    if (differ)
        return bad(c,
                   "the picture shown is not the seal's picture: image %s differs from it in "
                   "%zu of %zu pixels",
                   name, differ, npx);
    /* where it is painted: the unit square mapped by ctm (8.9.5), in page space */
    double ux = ctm.m[0], uy = ctm.m[1], vx = ctm.m[2], vy = ctm.m[3];
    double lu = hypot(ux, uy), lv = hypot(vx, vy);
    if (!(lu > 0 && lv > 0))
        return bad(c, "the seal's picture is not shown: image %s is painted with no area", name);
    if (fabs(ux * vx + uy * vy) > 0.02 * lu * lv || fabs(lu / lv / ((double)w / h) - 1) > 0.05)
        return bad(c,
                   "the seal's picture is not shown as it is: image %s is painted stretched "
                   "or skewed",
                   name);
    double box[4];
    const double unit[4] = {0, 0, 1, 1};
    box_of(box, ctm, unit);
    double tol_pt = 1;
    if (box[0] < clip[0] - tol_pt || box[1] < clip[1] - tol_pt || box[2] > clip[2] + tol_pt ||
        box[3] > clip[3] + tol_pt)
        return bad(c,
                   "the seal's picture is not shown whole: image %s reaches outside the "
                   "signature's rectangle",
                   name);
    if (box[0] < c->crop[0] - tol_pt || box[1] < c->crop[1] - tol_pt ||
        box[2] > c->crop[2] + tol_pt || box[3] > c->crop[3] + tol_pt)
        return bad(c,
                   "the seal's picture is not shown whole: image %s reaches outside the page's "
                   "visible area (crop box)",
                   name);
    double wmm = lu * c->user_unit / PT_PER_MM, hmm = lv * c->user_unit / PT_PER_MM;
    if (wmm < 0.5 * c->width_mm || hmm < 0.5 * c->height_mm)
        return bad(c,
                   "the seal's picture is shown at %.1fx%.1f mm, less than half the seal's "
                   "%dx%d mm",
                   wmm, hmm, c->width_mm, c->height_mm);
    return true;
}

/* ---- appearance streams (ISO 32000-2 8.10, 12.5.5) ---- */

static bool run_form(pic_ctx *c, const pdf_robj *form, mat ctm, const double clip_in[4], int depth);

/* Do: an image or a form of the resources. */
static bool paint(pic_ctx *c, const pdf_val *res, const char *name, mat ctm, const double clip[4],
                  int depth) {
    const pdf_val *xo = pdf_rev_get(c->v, res, "XObject");
    const pdf_val *ref = xo && xo->t == PV_DICT ? pv_dict_get(xo, name) : NULL;
    const pdf_robj *o = stream_of(c->v, ref);
    if (!o)
        return bad(c,
                   "the seal's appearance paints /%s, which its resources do not give as a "
                   "stream",
                   name);
    const char *sub = pv_dict_get_name(o->val, "Subtype");
    if (sub && strcmp(sub, "Image") == 0)
        return check_image(c, o, name, ctm, clip);
    if (sub && strcmp(sub, "Form") == 0) {
        if (depth >= PIC_MAX_FORM_DEPTH)
            return bad(c, "the seal's appearance nests forms more than %d deep",
                       PIC_MAX_FORM_DEPTH);
        return run_form(c, o, ctm, clip, depth + 1);
    }
    return bad(c, "the seal's appearance paints /%s, which is neither an image nor a form", name);
}

/* The form's content with ctm (the form's own /Matrix not yet applied), clipped to clip_in in
 * page space. Only q, Q, cm and Do are allowed. */
static bool run_form(pic_ctx *c, const pdf_robj *form, mat ctm, const double clip_in[4],
                     int depth) {
    const pdf_val *fd = form->val;
    double bbox[4], clip[4];
    mat m;
    if (++c->forms > PIC_MAX_FORMS)
        return bad(c, "the seal's appearance runs more than %d forms", PIC_MAX_FORMS);
    if (pv_dict_get(fd, "OC"))
        return bad(c, "the seal's appearance is optional content a reader may hide");
    if (!read_rect(bbox, pv_dict_get(fd, "BBox")) || !read_matrix(&m, pv_dict_get(fd, "Matrix")))
        return bad(c, "the seal's appearance (object %u) has no valid /BBox or /Matrix", form->num);
    ctm = mat_mul(m, ctm);
    /* 8.10.1: the form is clipped to its BBox */
    box_of(clip, ctm, bbox);
    clip[0] = fmax(clip[0], clip_in[0]);
    clip[1] = fmax(clip[1], clip_in[1]);
    clip[2] = fmin(clip[2], clip_in[2]);
    clip[3] = fmin(clip[3], clip_in[3]);
    const pdf_val *res = pdf_rev_get(c->v, fd, "Resources");
    buf content;
    buf_init(&content, PIC_MAX_CONTENT);
    pdf_err pe = pdf_rev_stream_data(&content, c->v, form, PIC_MAX_CONTENT);
    if (pe == PDF_E_NOMEM) {
        c->err = SEAL_E_NOMEM;
        buf_free(&content);
        return false;
    }
    if (pe != PDF_OK) {
        buf_free(&content);
        return bad(c, "the seal's appearance (object %u) cannot be decoded: %s", form->num,
                   pdf_errdetail());
    }
    arena a;
    arena_init(&a, (size_t)4 << 20);
    const uint8_t *p = content.data ? content.data : (const uint8_t *)"";
    size_t n = content.len, pos = 0, nops = 0;
    pdf_val *ops[8];
    mat stack[PIC_MAX_Q];
    int q = 0;
    bool ok = true;
    while (ok) {
        pdf_skip_space(p, n, &pos);
        if (pos >= n)
            break;
        uint8_t ch = p[pos];
        bool operand = ch == '/' || ch == '(' || ch == '<' || ch == '[' || ch == '+' || ch == '-' ||
                       ch == '.' || (ch >= '0' && ch <= '9');
        if (operand || pdf_match_keyword(p, n, &(size_t){pos}, "true") ||
            pdf_match_keyword(p, n, &(size_t){pos}, "false") ||
            pdf_match_keyword(p, n, &(size_t){pos}, "null")) {
            pdf_val *v;
            if (nops == sizeof ops / sizeof ops[0] ||
                pdf_parse_object(&v, &a, p, n, &pos) != PDF_OK) {
                ok = bad(c,
                         "the seal's appearance (object %u) is not content the verifier can "
                         "read (at byte %zu)",
                         form->num, pos);
                break;
            }
            ops[nops++] = v;
            continue;
        }
        size_t start = pos;
        while (pos < n && !pdf_is_space(p[pos]) && !pdf_is_delim(p[pos]) && pos - start < 16)
            pos++;
        char op[17];
        size_t ol = pos - start;
        memcpy(op, p + start, ol);
        op[ol] = '\0';
        if (ol == 0 || ++c->ops > PIC_MAX_OPS) {
            ok = bad(c, "the seal's appearance (object %u) is not content the verifier can read",
                     form->num);
            break;
        }
        if (strcmp(op, "q") == 0 && nops == 0) {
            if (q == PIC_MAX_Q) {
                ok = bad(c, "the seal's appearance nests q more than %d deep", PIC_MAX_Q);
                break;
            }
            stack[q++] = ctm;
        } else if (strcmp(op, "Q") == 0 && nops == 0 && q > 0) {
            ctm = stack[--q];
        } else if (strcmp(op, "cm") == 0 && nops == 6) {
            mat cm;
            for (int i = 0; i < 6 && ok; i++)
                if (!pv_number(ops[i], &cm.m[i]) || !isfinite(cm.m[i]) || fabs(cm.m[i]) > 1e7)
                    ok = bad(c, "the seal's appearance has a cm operator with bad operands");
            ctm = mat_mul(cm, ctm); /* 8.4.4: cm premultiplies the CTM */
        } else if (strcmp(op, "Do") == 0 && nops == 1 && ops[0]->t == PV_NAME) {
            ok = paint(c, res, ops[0]->u.name, ctm, clip, depth);
        } else {
            ok = bad(c, "the seal's appearance draws more than the seal's picture (operator %s)",
                     op);
        }
        nops = 0;
    }
    if (ok && nops)
        ok = bad(c, "the seal's appearance ends with operands and no operator");
    arena_free(&a);
    buf_free(&content);
    return ok;
}

/* ---- the widget (ISO 32000-2 12.5.2, 12.5.6.19) ---- */

/* The page whose /Annots holds the widget object num; its crop box and user unit. */
static bool find_page(pic_ctx *c, uint32_t num) {
    pagelist pl = {0};
    pages_list(c->v, &pl);
    bool found = false;
    for (size_t i = 0; i < pl.n && !found; i++) {
        const pdf_robj *po;
        if (pdf_rev_obj(&po, c->v, pl.nums[i]) != PDF_OK || po->val->t != PV_DICT)
            continue;
        const pdf_val *annots = pdf_rev_get(c->v, po->val, "Annots");
        for (size_t k = 0;
             annots && annots->t == PV_ARRAY && k < annots->u.arr.n && k < PIC_MAX_ANNOTS && !found;
             k++) {
            const pdf_val *it = annots->u.arr.items[k];
            found = it->t == PV_REF && it->u.ref.num == num;
        }
        if (!found)
            continue;
        c->page = pl.nums[i];
        /* 7.7.3.4: MediaBox and CropBox are inherited */
        double media[4] = {0}, crop[4] = {0};
        bool have_media = false, have_crop = false;
        const pdf_val *node = po->val;
        for (int up = 0; node && node->t == PV_DICT && up < VERIFY_MAX_PAGE_DEPTH; up++) {
            if (!have_media)
                have_media = read_rect(media, pdf_rev_get(c->v, node, "MediaBox"));
            if (!have_crop)
                have_crop = read_rect(crop, pdf_rev_get(c->v, node, "CropBox"));
            node = pdf_rev_get(c->v, node, "Parent");
        }
        if (!have_media)
            return bad(c, "the seal's picture is not shown: the page holding the signature has "
                          "no valid /MediaBox");
        if (have_crop) {
            /* 14.11.2: the crop box is clipped to the media box */
            c->crop[0] = fmax(crop[0], media[0]);
            c->crop[1] = fmax(crop[1], media[1]);
            c->crop[2] = fmin(crop[2], media[2]);
            c->crop[3] = fmin(crop[3], media[3]);
        } else {
            memcpy(c->crop, media, sizeof media);
        }
        double uu = 1;
        if (pv_number(pv_dict_get(po->val, "UserUnit"), &uu) && uu > 0 && uu < 1e4)
            c->user_unit = uu;
    }
    free(pl.nums);
    if (!found)
        return bad(c, "the seal's picture is not shown: the signature's widget is on no page");
    return true;
}

/* One appearance stream of the widget against the seal's picture: 12.5.5, its BBox, turned by
 * its Matrix, is fitted to the Rect. The limits on what it runs are the stream's own. */
static bool check_stream(pic_ctx *c, const pdf_robj *form, const double rect[4]) {
    double bbox[4], tb[4];
    mat m;
    if (!read_rect(bbox, pv_dict_get(form->val, "BBox")) ||
        !read_matrix(&m, pv_dict_get(form->val, "Matrix")))
        return bad(c, "the seal's appearance (object %u) has no valid /BBox or /Matrix", form->num);
    box_of(tb, m, bbox);
    if (!(tb[2] - tb[0] > 0 && tb[3] - tb[1] > 0))
        return bad(c, "the seal's picture is not shown: its appearance has an empty /BBox");
    double sx = (rect[2] - rect[0]) / (tb[2] - tb[0]), sy = (rect[3] - rect[1]) / (tb[3] - tb[1]);
    mat fit = {{sx, 0, 0, sy, rect[0] - tb[0] * sx, rect[1] - tb[1] * sy}};
    c->ops = c->images = c->forms = 0;
    if (++c->streams > PIC_MAX_STREAMS_ALL)
        return bad(c, "the seal's widgets have more than %d appearance streams in all",
                   PIC_MAX_STREAMS_ALL);
    /* run_form applies the Matrix itself; the form's content sees Matrix x fit */
    if (!run_form(c, form, fit, rect, 0))
        return false;
    if (c->images == 0)
        return bad(c, "the seal's picture is not shown: the signature's appearance paints no "
                      "image");
    return true;
}

/* The appearance streams of one widget already checked. */
typedef struct checked {
    uint32_t nums[PIC_MAX_STREAMS];
    size_t n;
} checked;

/* ISO 32000-2 12.5.5 Table 170: the appearance dictionary's /N (normal), /R (rollover) and /D
 * (down) are each a stream or a subdictionary of appearance states, of which the annotation's
 * /AS selects one. A reader shows /N, /R when the pointer is over the widget, /D when it
 * presses it: each state of each must show the seal's picture, unless it is a stream already
 * checked. as is the widget's /AS (NULL when it has none). */
static bool check_ap_entry(pic_ctx *c, const pdf_val *ap, const char *key, const char *as,
                           checked *done, const double rect[4]) {
    bool normal = strcmp(key, "N") == 0;
    const char *what = normal ? "normal" : strcmp(key, "R") == 0 ? "rollover" : "down";
    pdf_val *e = pv_dict_get(ap, key);
    if (!e || e->t == PV_NULL || (e->t == PV_REF && !pdf_rev_resolve(c->v, e)))
        return normal ? bad(c, "the seal's picture is not shown: the signature's widget has no "
                               "normal appearance stream")
                      : true; /* absent, or a reference to nothing (7.3.10: null) */
    const pdf_robj *streams[PIC_MAX_STATES];
    const char *names[PIC_MAX_STATES];
    size_t n = 0;
    bool states = false;
    if ((streams[0] = stream_of(c->v, e))) {
        names[n++] = NULL;
    } else {
        const pdf_val *sd = pdf_rev_resolve(c->v, e);
        states = true;
        if (!sd || sd->t != PV_DICT)
            return bad(c,
                       "the signature's %s appearance (/AP /%s) is neither a stream nor a "
                       "dictionary of appearance states",
                       what, key);
        if (sd->u.dict.n > PIC_MAX_STATES)
            return bad(c, "the signature's %s appearance (/AP /%s) has more than %d states", what,
                       key, PIC_MAX_STATES);
        bool selected = false;
        for (size_t i = 0; i < sd->u.dict.n; i++) {
            const char *state = sd->u.dict.kv[i].key;
            if (!(streams[n] = stream_of(c->v, sd->u.dict.kv[i].val)))
                return bad(c,
                           "the signature's %s appearance in state /%s (/AP /%s) is not a "
                           "stream",
                           what, state, key);
            names[n++] = state;
            selected = selected || (as && strcmp(state, as) == 0);
        }
        if (normal && !selected)
            return bad(c, "the seal's picture is not shown: the signature's widget has appearance "
                          "states and its /AS selects none of them");
    }
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t k = 0; k < done->n && !seen; k++)
            seen = done->nums[k] == streams[i]->num;
        if (seen)
            continue;
        if (done->n < PIC_MAX_STREAMS)
            done->nums[done->n++] = streams[i]->num;
        if (check_stream(c, streams[i], rect))
            continue;
        if ((!normal || states) && c->cause[0]) {
            char inner[sizeof c->cause];
            memcpy(inner, c->cause, sizeof inner);
            snprintf(c->cause, sizeof c->cause,
                     "the signature's %s appearance%s%s (/AP /%s, object %u) does not show the "
                     "seal's picture alone: %.380s",
                     what, names[i] ? " in state /" : "", names[i] ? names[i] : "", key,
                     streams[i]->num, inner);
        }
        return false;
    }
    return true;
}

/* ---- annotations drawn where the seal is (ISO 32000-2 12.5.1-12.5.3) ---- */

/* A rectangle as a reader takes it: four finite numbers, any size. */
static bool any_rect(double out[4], const pdf_val *v) {
    double r[4];
    if (!v || v->t != PV_ARRAY || v->u.arr.n != 4)
        return false;
    for (int i = 0; i < 4; i++)
        if (!pv_number(v->u.arr.items[i], &r[i]) || !isfinite(r[i]))
            return false;
    out[0] = fmin(r[0], r[2]);
    out[1] = fmin(r[1], r[3]);
    out[2] = fmax(r[0], r[2]);
    out[3] = fmax(r[1], r[3]);
    return true;
}

static bool meets(const double a[4], const double b[4]) {
    return fmin(a[2], b[2]) > fmax(a[0], b[0]) && fmin(a[3], b[3]) > fmax(a[1], b[1]);
}

/* Whether annotation d may be drawn over rect: displayed or printed (12.5.3: not Hidden, and
 * Print unless NoView), and its rectangle or its pop-up's (12.5.6.14, which some readers open
 * over the page) meets rect. A rectangle a reader cannot read is taken to meet it. */
static bool drawn_at(pic_ctx *c, const pdf_val *d, const double rect[4]) {
    double f = 0, r[4];
    pv_number(pdf_rev_get(c->v, d, "F"), &f);
    long long flags = isfinite(f) && fabs(f) < 4294967296.0 ? (long long)f : 0;
    if ((flags & PDF_ANNOT_HIDDEN) || ((flags & PDF_ANNOT_NOVIEW) && !(flags & PDF_ANNOT_PRINT)))
        return false;
    if (!any_rect(r, pdf_rev_get(c->v, d, "Rect")) || meets(r, rect))
        return true;
    const pdf_val *popup = pdf_rev_get(c->v, d, "Popup");
    return popup && popup->t == PV_DICT && any_rect(r, pdf_rev_get(c->v, popup, "Rect")) &&
           meets(r, rect);
}

/* Queues the objects v refers to for comparing, but the back references (/P the page, /Parent,
 * /IRT the annotation replied to): those are judged where they are. */
static bool queue_refs(pic_ctx *c, const pdf_val *v, int depth) {
    if (depth > PDF_MAX_DEPTH)
        return false;
    if (v->t == PV_REF) {
        uint32_t num = v->u.ref.num;
        if (u64map_has(&c->same, num))
            return true;
        int rc = u64map_put(&c->same, num, NULL);
        if (rc == BUF_ENOMEM)
            c->err = SEAL_E_NOMEM;
        if (rc != BUF_OK)
            return false;
        if (c->n_pending == c->cap_pending) {
            size_t ncap = c->cap_pending ? 2 * c->cap_pending : 64;
            uint32_t *nt = realloc(c->pending, ncap * sizeof *nt);
            if (!nt) {
                c->err = SEAL_E_NOMEM;
                return false;
            }
            c->pending = nt;
            c->cap_pending = ncap;
        }
        c->pending[c->n_pending++] = num;
    } else if (v->t == PV_ARRAY) {
        for (size_t i = 0; i < v->u.arr.n; i++)
            if (!queue_refs(c, v->u.arr.items[i], depth + 1))
                return false;
    } else if (v->t == PV_DICT) {
        for (size_t i = 0; i < v->u.dict.n; i++) {
            const char *k = v->u.dict.kv[i].key;
            if (strcmp(k, "P") != 0 && strcmp(k, "Parent") != 0 && strcmp(k, "IRT") != 0 &&
                !queue_refs(c, v->u.dict.kv[i].val, depth + 1))
                return false;
        }
    }
    return true;
}

/* Two versions of a stream: the same bytes, or the same decoded data. */
static bool same_stream(pic_ctx *c, const pdf_robj *a, const pdf_robj *b) {
    size_t len;
    const uint8_t *data = pdf_raw_data(c->raw, &len);
    if (a->data_len == b->data_len && !pdf_raw_encrypted(c->raw) &&
        memcmp(data + a->data_off, data + b->data_off, a->data_len) == 0)
        return true;
    buf x, y;
    buf_init(&x, PIC_MAX_COMPARE_STREAM);
    buf_init(&y, PIC_MAX_COMPARE_STREAM);
    pdf_err ea = pdf_rev_stream_data(&x, c->signed_rev, a, PIC_MAX_COMPARE_STREAM);
    pdf_err eb = ea == PDF_OK ? pdf_rev_stream_data(&y, c->v, b, PIC_MAX_COMPARE_STREAM) : ea;
    if (ea == PDF_E_NOMEM || eb == PDF_E_NOMEM)
        c->err = SEAL_E_NOMEM;
    bool eq = ea == PDF_OK && eb == PDF_OK && x.len == y.len &&
              (x.len == 0 || memcmp(x.data, y.data, x.len) == 0);
    buf_free(&x);
    buf_free(&y);
    return eq;
}

/* Whether object num and all it uses are as the signed revision has them: each object at the
 * same place in the file, or equal (references by number, streams by their data). Objects
 * already found so are not compared again. Bounded by PIC_MAX_COMPARE objects in all; past
 * that (or nested too deep) it says no, and *limit says why. */
static bool as_signed(pic_ctx *c, uint32_t num, bool *limit) {
    pdf_val ref = {.t = PV_REF, .u.ref.num = num};
    *limit = false;
    c->n_pending = 0;
    if (!queue_refs(c, &ref, 0)) {
        *limit = c->err == SEAL_OK;
        return false;
    }
    while (c->n_pending && c->err == SEAL_OK) {
        uint32_t o = c->pending[--c->n_pending];
        pdf_loc ls = pdf_rev_loc(c->signed_rev, o), lf = pdf_rev_loc(c->v, o);
        const pdf_robj *os, *of;
        if (pdf_rev_obj(&of, c->v, o) != PDF_OK)
            return false;
        if (!(ls.type == lf.type && ls.where == lf.where && ls.index == lf.index)) {
            if (!ls.type || pdf_rev_obj(&os, c->signed_rev, o) != PDF_OK ||
                os->stream != of->stream || !pdf_val_equal(os->val, of->val) ||
                (of->stream && !same_stream(c, os, of)))
                return false;
        }
        if (!queue_refs(c, of->val, 0)) {
            *limit = c->err == SEAL_OK;
            return false;
        }
    }
    return c->err == SEAL_OK;
}

/* Where each annotation of the signed revision's page was drawn: under the widget or over it.
 * Values in the map: 1 under, 2 over. */
typedef struct signed_page {
    u64map order;
    bool widget_kept; /* the widget was on that page, with the same /Rect */
} signed_page;

static seal_err read_signed_page(signed_page *sp, pic_ctx *c, uint32_t widget) {
    u64map_init(&sp->order, PIC_MAX_ANNOTS);
    sp->widget_kept = false;
    const pdf_robj *po, *ws, *wf;
    if (!c->signed_rev || pdf_rev_obj(&po, c->signed_rev, c->page) != PDF_OK ||
        po->val->t != PV_DICT || pdf_rev_obj(&ws, c->signed_rev, widget) != PDF_OK ||
        pdf_rev_obj(&wf, c->v, widget) != PDF_OK || ws->val->t != PV_DICT)
        return SEAL_OK;
    const pdf_val *annots = pdf_rev_get(c->signed_rev, po->val, "Annots");
    size_t n = annots && annots->t == PV_ARRAY ? annots->u.arr.n : 0, at = SIZE_MAX;
    for (size_t i = 0; i < n && i < PIC_MAX_ANNOTS; i++) {
        const pdf_val *it = annots->u.arr.items[i];
        if (it->t == PV_REF && it->u.ref.num == widget)
            at = i; /* the last time it is drawn is on top */
    }
    if (at == SIZE_MAX)
        return SEAL_OK;
    sp->widget_kept = pdf_val_equal(pdf_rev_get(c->signed_rev, ws->val, "Rect"),
                                    pdf_rev_get(c->v, wf->val, "Rect"));
    for (size_t i = 0; i < n && i < PIC_MAX_ANNOTS; i++) {
        const pdf_val *it = annots->u.arr.items[i];
        if (it->t != PV_REF || it->u.ref.num == widget)
            continue;
        uintptr_t was = (uintptr_t)u64map_get(&sp->order, it->u.ref.num);
        uintptr_t now = i > at ? 2 : 1;
        if (now > was && u64map_put(&sp->order, it->u.ref.num, (void *)now) == BUF_ENOMEM)
            return SEAL_E_NOMEM;
    }
    return SEAL_OK;
}

/* No annotation added or changed after signing is drawn where the widget (object widget,
 * rectangle rect, on page c->page) shows the seal's picture. */
static bool check_covered(pic_ctx *c, uint32_t widget, const double rect[4]) {
    const pdf_robj *po;
    if (pdf_rev_obj(&po, c->v, c->page) != PDF_OK || po->val->t != PV_DICT)
        return true; /* find_page read it */
    const pdf_val *annots = pdf_rev_get(c->v, po->val, "Annots");
    size_t n = annots && annots->t == PV_ARRAY ? annots->u.arr.n : 0, at = 0;
    if (n > PIC_MAX_ANNOTS)
        return bad(c, "the page showing the seal has more than %d annotations", PIC_MAX_ANNOTS);
    for (size_t i = 0; i < n; i++) {
        const pdf_val *it = annots->u.arr.items[i];
        if (it->t == PV_REF && it->u.ref.num == widget)
            at = i;
    }
    signed_page sp;
    seal_err err = read_signed_page(&sp, c, widget);
    bool ok = true;
    if (err != SEAL_OK)
        c->err = err;
    for (size_t i = 0; i < n && ok && c->err == SEAL_OK; i++) {
        pdf_val *it = annots->u.arr.items[i];
        if (it->t == PV_REF && it->u.ref.num == widget)
            continue;
        const pdf_val *d = pdf_rev_resolve(c->v, it);
        if (!d || d->t != PV_DICT || !drawn_at(c, d, rect))
            continue;
        const char *sub = pv_dict_get_name(d, "Subtype");
        const char *where = i > at ? "over" : "under";
        uint32_t num = it->t == PV_REF ? it->u.ref.num : 0;
        uintptr_t was = num ? (uintptr_t)u64map_get(&sp.order, num) : 0;
        bool limit = false;
        if (!num)
            ok = bad(c,
                     "an annotation written into the page's /Annots (not as an object, so not "
                     "comparable with the signed revision), a /%s, is drawn %s the seal's picture",
                     sub ? sub : "?", where);
        else if (!was)
            ok = bad(c,
                     "an annotation added after signing (object %u, a /%s) is drawn %s the "
                     "seal's picture",
                     num, sub ? sub : "?", where);
        else if (i > at && was != 2)
            ok = bad(c,
                     "an annotation drawn under the seal's picture when it was signed (object %u, "
                     "a /%s) is drawn over it now",
                     num, sub ? sub : "?");
        else if (!sp.widget_kept)
            ok = bad(c,
                     "the signature's widget was moved after signing to where an annotation "
                     "(object %u, a /%s) is drawn %s the seal's picture",
                     num, sub ? sub : "?", where);
        else if (!as_signed(c, num, &limit) && c->err == SEAL_OK)
            ok = limit ? bad(c,
                             "the annotations drawn where the seal's picture is use more than %d "
                             "objects or nest too deep to compare with the signed revision",
                             PIC_MAX_COMPARE)
                       : bad(c,
                             "an annotation changed after signing (object %u, a /%s) is drawn %s "
                             "the seal's picture",
                             num, sub ? sub : "?", where);
    }
    u64map_free(&sp.order);
    return ok && c->err == SEAL_OK;
}

/* Whether widget (object num, dict d) is shown, and if so shows the seal's picture and nothing
 * drawn over it; *shown says whether it is shown at all. */
static bool check_widget(pic_ctx *c, uint32_t num, const pdf_val *d, bool *shown) {
    *shown = false;
    long long f = 0;
    double rect[4];
    pv_dict_get_int(d, "F", &f);
    if (f & PDF_ANNOT_HIDDEN)
        return bad(c, "the seal's picture is not shown: the signature's widget is hidden");
    if ((f & PDF_ANNOT_NOVIEW) && !(f & PDF_ANNOT_PRINT))
        return bad(c, "the seal's picture is not shown: the signature's widget is neither "
                      "displayed nor printed");
    if (!read_rect(rect, pdf_rev_get(c->v, d, "Rect")) || rect[2] - rect[0] <= 0 ||
        rect[3] - rect[1] <= 0)
        return bad(c, "the seal's picture is not shown: the signature's widget has an empty "
                      "rectangle");
    if (!num || !find_page(c, num))
        return num ? false
                   : bad(c, "the seal's picture is not shown: the signature's widget is on no "
                            "page");
    *shown = true;
    if (pv_dict_get(d, "OC"))
        return bad(c, "the seal's picture is optional content a reader may hide");
    const pdf_val *ap = pdf_rev_get(c->v, d, "AP");
    if (!ap || ap->t != PV_DICT)
        return bad(c, "the seal's picture is not shown: the signature's widget has no normal "
                      "appearance stream");
    const pdf_val *as = pdf_rev_get(c->v, d, "AS");
    const char *state = as && as->t == PV_NAME ? as->u.name : NULL;
    checked done = {.n = 0};
    return check_ap_entry(c, ap, "N", state, &done, rect) &&
           check_ap_entry(c, ap, "R", state, &done, rect) &&
           check_ap_entry(c, ap, "D", state, &done, rect) && check_covered(c, num, rect);
}

typedef struct find_field {
    uint32_t sig;
    const pdf_val *dict;
    uint32_t object;
    bool found;
} find_field;

static int field_of(const form_field *f, void *vctx) {
    find_field *ff = vctx;
    if (f->ft && strcmp(f->ft, "Sig") == 0 && f->v && f->v->t == PV_REF &&
        f->v->u.ref.num == ff->sig) {
        ff->dict = f->dict;
        ff->object = f->object;
        ff->found = true;
        return 1;
    }
    return 0;
}

seal_err verify_seal_picture(char **cause, uint32_t px[2], pdf_raw *raw, pdf_rev *signed_rev,
                             uint32_t sig_object, const seal_picture_ref *pic) {
    pic_ctx c = {.raw = raw,
                 .v = pdf_raw_final(raw),
                 .signed_rev = signed_rev,
                 .width_mm = pic->width_mm,
                 .height_mm = pic->height_mm,
                 .user_unit = 1};
    img_rgba *img = NULL;
    *cause = NULL;
    px[0] = px[1] = 0;
    u64map_init(&c.same, PIC_MAX_COMPARE);
    if (!seal_picture_type_ok(pic->type)) {
        bad(&c, "the seal's picture is of type %s, which eseal cannot compare with the page",
            pic->type ? pic->type : "(none)");
        goto out;
    }
    img_limits lim = {.max_bytes = CRYPTO_SES_MAX_DER,
                      .max_width = 8000,
                      .max_height = 8000,
                      .max_pixels = PIC_MAX_PIXELS};
    img_err ie = img_decode(&img, pic->bytes, pic->len, &lim);
    if (ie == IMG_E_NOMEM) {
        c.err = SEAL_E_NOMEM;
        goto out;
    }
    if (ie != IMG_OK) {
        bad(&c, "the seal's picture cannot be decoded: %s", img_errdetail());
        goto out;
    }
    px[0] = img->width;
    px[1] = img->height;
    c.seal = img;
    c.jpeg = pic->len >= 2 && pic->bytes[0] == 0xFF && pic->bytes[1] == 0xD8;
    find_field ff = {.sig = sig_object};
    size_t budget = VERIFY_MAX_FIELDS;
    form_walk(c.v, &budget, field_of, &ff);
    if (!ff.found) {
        bad(&c, "the seal's picture is not shown: the document's last revision has no field "
                "holding this signature");
        goto out;
    }
    /* 12.7.4.1: the field and its one widget merged, or widgets as its kids */
    bool any = false, shown;
    if (pv_is_name(pv_dict_get(ff.dict, "Subtype"), "Widget") || pv_dict_get(ff.dict, "Rect")) {
        if (check_widget(&c, ff.object, ff.dict, &shown))
            any = true;
        else if (shown || c.err)
            goto out;
    } else {
        const pdf_val *kids = pdf_rev_get(c.v, ff.dict, "Kids");
        for (size_t i = 0; kids && kids->t == PV_ARRAY && i < kids->u.arr.n; i++) {
            pdf_val *k = kids->u.arr.items[i];
            const pdf_val *kd = pdf_rev_resolve(c.v, k);
            if (!kd || kd->t != PV_DICT || pv_dict_get(kd, "T"))
                continue;
            if (i >= PIC_MAX_WIDGETS) {
                bad(&c, "the signature's field has more than %d widgets", PIC_MAX_WIDGETS);
                goto out;
            }
            char keep[sizeof c.cause];
            memcpy(keep, c.cause, sizeof keep);
            c.cause[0] = '\0';
            if (check_widget(&c, k->t == PV_REF ? k->u.ref.num : 0, kd, &shown)) {
                any = true;
                memcpy(c.cause, keep, sizeof keep);
            } else if (shown || c.err) {
                goto out; /* a widget that shows something else */
            } else if (keep[0]) {
                memcpy(c.cause, keep, sizeof keep); /* the first reason is the one named */
            }
        }
    }
    if (any)
        c.cause[0] = '\0';
    else if (!c.cause[0])
        bad(&c, "the seal's picture is not shown: the signature's field has no widget");
out:
    img_rgba_free(img);
    u64map_free(&c.same);
    free(c.pending);
    if (c.err == SEAL_OK && c.cause[0] && !(*cause = strdup(c.cause)))
        c.err = SEAL_E_NOMEM;
    return c.err;
}
