/* Page geometry: inherited page attributes (ISO 32000-2 7.7.3.4), page boundaries (14.11.2),
 * rotation (Table 31 /Rotate) and /UserUnit (Table 31). */
#include <math.h>
#include <string.h>

#include "pdf/doc_internal.h"
#include "pdf/internal.h"

static bool read_box(double out[4], qpdf_data q, qpdf_oh box) {
    if (!qpdf_oh_is_array(q, box) || qpdf_oh_get_array_n_items(q, box) != 4)
        return false;
    double v[4];
    for (int i = 0; i < 4; i++) {
        qpdf_oh it = qpdf_oh_get_array_item(q, box, i);
        bool ok = qpdf_oh_get_value_as_number(q, it, &v[i]) && isfinite(v[i]) && fabs(v[i]) < 1e7;
        qpdf_oh_release(q, it);
        if (!ok)
            return false;
    }
    out[0] = fmin(v[0], v[2]);
    out[1] = fmin(v[1], v[3]);
    out[2] = fmax(v[0], v[2]);
    out[3] = fmax(v[1], v[3]);
    return out[2] > out[0] && out[3] > out[1];
}

/* The value of an inheritable key: on the page or the nearest ancestor that has it. */
static qpdf_oh inherited(qpdf_data q, qpdf_oh page, const char *key) {
    qpdf_oh node = qpdf_oh_new_object(q, page);
    for (int depth = 0; depth <= PDF_MAX_TREE_DEPTH; depth++) {
        if (qpdf_oh_has_key(q, node, key)) {
            qpdf_oh v = qpdf_oh_get_key(q, node, key);
            qpdf_oh_release(q, node);
            return v;
        }
        qpdf_oh parent = qpdf_oh_get_key(q, node, "/Parent");
        qpdf_oh_release(q, node);
        if (!qpdf_oh_is_dictionary(q, parent)) {
            qpdf_oh_release(q, parent);
            break;
        }
        node = parent;
    }
    return qpdf_oh_new_null(q);
}

pdf_err pdf_page_geometry(pdf_page_geom *out, pdf_doc *doc, int index) {
    if (index < 0 || index >= doc->npages)
        return pdf_fail(PDF_E_NO_PAGE, "page %d does not exist (the document has %d)", index + 1,
                        doc->npages);
    qpdf_data q = doc->q;
    qpdf_oh page = qpdf_get_object_by_id(q, (int)doc->pages[index].num, doc->pages[index].gen);
    qpdf_oh media = inherited(q, page, "/MediaBox");
    qpdf_oh crop = inherited(q, page, "/CropBox");
    qpdf_oh rot = inherited(q, page, "/Rotate");
    qpdf_oh uu = qpdf_oh_get_key(q, page, "/UserUnit");
    pdf_err err = PDF_OK;
    memset(out, 0, sizeof *out);
    /* A missing or broken MediaBox: readers fall back to US Letter or A4; we take A4. */
    if (!read_box(out->media, q, media)) {
        const double a4[4] = {0, 0, 595.276, 841.89};
        memcpy(out->media, a4, sizeof a4);
    }
    double c[4];
    if (read_box(c, q, crop)) {
        /* 14.11.2: the crop box is clipped to the media box. */
        out->crop[0] = fmax(c[0], out->media[0]);
        out->crop[1] = fmax(c[1], out->media[1]);
        out->crop[2] = fmin(c[2], out->media[2]);
        out->crop[3] = fmin(c[3], out->media[3]);
        if (out->crop[2] <= out->crop[0] || out->crop[3] <= out->crop[1])
            memcpy(out->crop, out->media, sizeof out->crop);
    } else {
        memcpy(out->crop, out->media, sizeof out->crop);
    }
    long long r = qpdf_oh_is_integer(q, rot) ? qpdf_oh_get_int_value(q, rot) : 0;
    r %= 360;
    if (r < 0)
        r += 360;
    out->rotate = r % 90 == 0 ? (int)r : 0; /* Rotate shall be a multiple of 90 */
    double unit = 1;
    if (!qpdf_oh_get_value_as_number(q, uu, &unit) || !(unit > 0.01 && unit < 1000))
        unit = 1;
    out->user_unit = unit;
    qpdf_oh_release(q, uu);
    qpdf_oh_release(q, rot);
    qpdf_oh_release(q, crop);
    qpdf_oh_release(q, media);
    qpdf_oh_release(q, page);
    if (qpdf_has_error(q))
        err = doc_qpdf_check(doc, "reading the page's boxes");
    return err;
}

/* The displayed page is the crop box turned clockwise by /Rotate. A point (vx, vy) from the
 * displayed lower-left corner maps back to user space relative to the crop box origin:
 *   0: ( vx,     vy     )      90: ( W - vy, vx     )
 * 180: ( W - vx, H - vy )     270: ( vy,     H - vx )   with W, H the crop box's size. */
static void view_to_user(double *x, double *y, const pdf_page_geom *g, double vx, double vy) {
    double W = g->crop[2] - g->crop[0], H = g->crop[3] - g->crop[1];
    double ux, uy;
    switch (g->rotate) {
    case 90:
        ux = W - vy;
        uy = vx;
        break;
    case 180:
        ux = W - vx;
        uy = H - vy;
        break;
    case 270:
        ux = vy;
        uy = H - vx;
        break;
    default:
        ux = vx;
        uy = vy;
    }
    *x = g->crop[0] + ux;
    *y = g->crop[1] + uy;
}

void pdf_page_view_mm_to_user(double user[4], const pdf_page_geom *g, const double view_mm[4]) {
    /* 1 mm = 72 / 25.4 points; a user unit is user_unit points (Table 31). */
    double k = 72.0 / 25.4 / g->user_unit;
    double x0, y0, x1, y1;
    view_to_user(&x0, &y0, g, view_mm[0] * k, view_mm[1] * k);
    view_to_user(&x1, &y1, g, (view_mm[0] + view_mm[2]) * k, (view_mm[1] + view_mm[3]) * k);
    user[0] = fmin(x0, x1);
    user[1] = fmin(y0, y1);
    user[2] = fmax(x0, x1);
    user[3] = fmax(y0, y1);
}
