/* Image XObjects with soft masks (ISO 32000-2 8.9.5, 11.6.5.3) and the form XObjects that show
 * them in an annotation's appearance (8.10, 12.5.5). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pdf/doc_internal.h"
#include "pdf/internal.h"

struct pdf_image {
    uint32_t w, h;
    uint8_t *rgb_z; /* deflated 8-bit RGB */
    size_t rgb_z_len;
    uint8_t *alpha_z; /* deflated 8-bit alpha, NULL when fully opaque */
    size_t alpha_z_len;
    /* For PDF/A-1, which forbids soft masks (ISO 19005-1 6.4): the RGB composed onto white
     * and a 1-bit explicit mask (ISO 32000-2 8.9.6.3) of the pixels less than half opaque. */
    uint8_t *flat_z, *mask_z;
    size_t flat_z_len, mask_z_len;
};

/* Seal pictures are flat colour on transparency: the RLE strategy deflates them nearly as small
 * as the default and several times faster, which matters once per process. */
static pdf_err deflate_buf(uint8_t **out, size_t *out_len, const uint8_t *p, size_t n) {
    uLongf cap = compressBound((uLong)n);
    uint8_t *dst = malloc(cap);
    pdf_err err = PDF_OK;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (!dst)
        return PDF_E_NOMEM;
    if (deflateInit2(&z, 6, Z_DEFLATED, 15, 8, Z_RLE) != Z_OK) {
        free(dst);
        return PDF_E_NOMEM;
    }
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    z.next_out = dst;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
        err = pdf_fail(PDF_E_NOMEM, "deflate failed");
        free(dst);
    } else {
        *out = dst;
        *out_len = z.total_out;
    }
    deflateEnd(&z);
    return err;
}

pdf_err pdf_image_from_rgba(pdf_image **out, const uint8_t *rgba, uint32_t width, uint32_t height) {
    pdf_err err = PDF_OK;
    *out = NULL;
    if (width == 0 || height == 0 || (uint64_t)width * height > 100000000u)
        return pdf_fail(PDF_E_LIMIT, "image of %ux%u pixels", width, height);
    size_t npx = (size_t)width * height;
    pdf_image *img = calloc(1, sizeof *img);
    size_t mask_row = (width + 7) / 8;
    uint8_t *rgb = malloc(3 * npx), *alpha = malloc(npx), *flat = malloc(3 * npx);
    uint8_t *mask = calloc(mask_row, height);
    if (!img || !rgb || !alpha || !flat || !mask) {
        err = PDF_E_NOMEM;
        goto out;
    }
    img->w = width;
    img->h = height;
    bool opaque = true;
    for (size_t i = 0; i < npx; i++) {
        const uint8_t *px = rgba + 4 * i;
        unsigned al = px[3];
        opaque &= al == 255;
        alpha[i] = px[3];
        if (al < 128) /* 1 masks the pixel out */
            mask[(i / width) * mask_row + (i % width) / 8] |= (uint8_t)(0x80 >> (i % width % 8));
        for (int c = 0; c < 3; c++) {
            rgb[3 * i + c] = px[c];
            flat[3 * i + c] = (uint8_t)((px[c] * al + 255 * (255 - al) + 127) / 255);
        }
    }
    err = deflate_buf(&img->rgb_z, &img->rgb_z_len, rgb, 3 * npx);
    if (err == PDF_OK && !opaque)
        err = deflate_buf(&img->alpha_z, &img->alpha_z_len, alpha, npx);
    if (err == PDF_OK && !opaque)
        err = deflate_buf(&img->flat_z, &img->flat_z_len, flat, 3 * npx);
    if (err == PDF_OK && !opaque)
        err = deflate_buf(&img->mask_z, &img->mask_z_len, mask, mask_row * height);
out:
    free(mask);
    free(rgb);
    free(alpha);
    free(flat);
    if (err == PDF_OK)
        *out = img;
    else
        pdf_image_free(img);
    return err;
}

void pdf_image_free(pdf_image *img) {
    if (img) {
        free(img->rgb_z);
        free(img->alpha_z);
        free(img->flat_z);
        free(img->mask_z);
        free(img);
    }
}

void pdf_image_size(const pdf_image *img, uint32_t *width, uint32_t *height) {
    *width = img->w;
    *height = img->h;
}

static pdf_err image_dict(pdf_val **out, arena *a, const pdf_image *img, const char *cs) {
    pdf_val *d = pv_dict(a);
    pdf_err err = pv_dict_set(a, d, "Type", pv_name(a, "XObject"));
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "Subtype", pv_name(a, "Image"));
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "Width", pv_int(a, img->w));
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "Height", pv_int(a, img->h));
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "ColorSpace", pv_name(a, cs));
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "BitsPerComponent", pv_int(a, 8));
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "Filter", pv_name(a, "FlateDecode"));
    *out = d;
    return err;
}

pdf_err pdf_update_add_image(uint32_t *num, pdf_update *u, const pdf_image *img) {
    arena *a = pdf_update_arena(u);
    /* ISO 19005-1 6.4: PDF/A-1 forbids soft masks; an explicit mask stands in. */
    bool flatten = img->alpha_z && pdf_doc_pdfa_part(pdf_update_doc(u)) == 1;
    pdf_val *d;
    pdf_err err = pdf_update_new_object(num, u);
    if (err == PDF_OK)
        err = image_dict(&d, a, img, "DeviceRGB");
    if (err == PDF_OK && img->alpha_z && !flatten) {
        uint32_t mnum;
        pdf_val *md;
        err = pdf_update_new_object(&mnum, u);
        if (err == PDF_OK)
            err = image_dict(&md, a, img, "DeviceGray");
        if (err == PDF_OK)
            err = pdf_update_put_stream(u, mnum, md, img->alpha_z, img->alpha_z_len);
        if (err == PDF_OK)
            err = pv_dict_set(a, d, "SMask", pv_ref(a, mnum, 0));
    }
    if (err == PDF_OK && flatten) {
        uint32_t mnum;
        pdf_val *md = pv_dict(a);
        err = pdf_update_new_object(&mnum, u);
        if (err == PDF_OK)
            err = pv_dict_set(a, md, "Type", pv_name(a, "XObject"));
        if (err == PDF_OK)
            err = pv_dict_set(a, md, "Subtype", pv_name(a, "Image"));
        if (err == PDF_OK)
            err = pv_dict_set(a, md, "Width", pv_int(a, img->w));
        if (err == PDF_OK)
            err = pv_dict_set(a, md, "Height", pv_int(a, img->h));
        if (err == PDF_OK)
            err = pv_dict_set(a, md, "ImageMask", pv_bool(a, true));
        if (err == PDF_OK)
            err = pv_dict_set(a, md, "BitsPerComponent", pv_int(a, 1));
        if (err == PDF_OK)
            err = pv_dict_set(a, md, "Filter", pv_name(a, "FlateDecode"));
        if (err == PDF_OK)
            err = pdf_update_put_stream(u, mnum, md, img->mask_z, img->mask_z_len);
        if (err == PDF_OK)
            err = pv_dict_set(a, d, "Mask", pv_ref(a, mnum, 0));
    }
    if (err == PDF_OK)
        err = flatten ? pdf_update_put_stream(u, *num, d, img->flat_z, img->flat_z_len)
                      : pdf_update_put_stream(u, *num, d, img->rgb_z, img->rgb_z_len);
    return err;
}

pdf_err pdf_update_add_image_form(uint32_t *num, pdf_update *u, double width, double height,
                                  int rotate, uint32_t image, uint32_t img_w, uint32_t img_h) {
    arena *a = pdf_update_arena(u);
    if (!(width > 0 && height > 0 && img_w > 0 && img_h > 0))
        return pdf_fail(PDF_E_ARG, "an image appearance needs a non-empty rectangle");
    /* Scale to fit, keeping the aspect ratio, centred. */
    double ar = (double)img_w / img_h;
    double dw = width, dh = width / ar;
    if (dh > height) {
        dh = height;
        dw = height * ar;
    }
    double x = (width - dw) / 2, y = (height - dh) / 2;
    char content[160];
    int n =
        snprintf(content, sizeof content, "q %.4f 0 0 %.4f %.4f %.4f cm /Im0 Do Q\n", dw, dh, x, y);
    uint8_t *data = arena_memdup(a, content, (size_t)n);
    /* 12.5.5: the appearance is turned against the page's /Rotate so it reads upright:
     * BBox transformed by Matrix is fitted to the widget's /Rect. */
    static const double mats[4][6] = {
        {1, 0, 0, 1, 0, 0}, {0, 1, -1, 0, 0, 0}, {-1, 0, 0, -1, 0, 0}, {0, -1, 1, 0, 0, 0}};
    const double *m = mats[(rotate / 90) & 3];
    double bbox[4] = {0, 0, width, height};
    pdf_val *d = pv_dict(a), *res = pv_dict(a), *xo = pv_dict(a), *mat = pv_array(a);
    if (!data || !d || !res || !xo || !mat)
        return PDF_E_NOMEM;
    pdf_err err = pdf_update_new_object(num, u);
    for (int i = 0; i < 6 && err == PDF_OK; i++)
        err = pv_array_push(a, mat, pv_real(a, m[i]));
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "Type", pv_name(a, "XObject"));
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "Subtype", pv_name(a, "Form"));
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "BBox", pv_rect(a, bbox));
    if (err == PDF_OK && rotate)
        err = pv_dict_set(a, d, "Matrix", mat);
    if (err == PDF_OK)
        err = pv_dict_set(a, xo, "Im0", pv_ref(a, image, 0));
    if (err == PDF_OK)
        err = pv_dict_set(a, res, "XObject", xo);
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "Resources", res);
    if (err == PDF_OK)
        err = pdf_update_put_stream(u, *num, d, data, (size_t)n);
    return err;
}
