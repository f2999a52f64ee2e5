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
    uint8_t *rgb_z; /* deflated 8-bit RGB, white where the picture is fully transparent */
    size_t rgb_z_len;
    uint8_t *alpha_z; /* deflated 8-bit alpha, NULL when fully opaque */
    size_t alpha_z_len;
    /* For PDF/A-1, which forbids soft masks (ISO 19005-1 6.4): a 1-bit explicit mask
     * (ISO 32000-2 8.9.6.3) of the pixels less than half opaque, over the same RGB. */
    uint8_t *mask_z;
    size_t mask_z_len;
};

/* Seal pictures are flat colour on transparency. Level 1 deflates the RGB to about twice the
 * size of level 6 in a third of the time; the alpha, long runs of 0 and 255, goes best with
 * the RLE strategy. */
static pdf_err deflate_buf(uint8_t **out, size_t *out_len, const uint8_t *p, size_t n, int level,
                           int strategy) {
    uLongf cap = compressBound((uLong)n);
    uint8_t *dst = malloc(cap);
    pdf_err err = PDF_OK;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (!dst)
        return PDF_E_NOMEM;
    if (deflateInit2(&z, level, Z_DEFLATED, 15, 8, strategy) != Z_OK) {
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
    size_t mask_row = (width + 7) / 8;
    pdf_image *img = calloc(1, sizeof *img);
    uint8_t *rgb = malloc(3 * npx), *alpha = malloc(npx);
    uint8_t *mask = calloc(mask_row, height);
    if (!img || !rgb || !alpha || !mask) {
        err = PDF_E_NOMEM;
        goto out;
    }
    img->w = width;
    img->h = height;
    bool opaque = true;
    for (size_t y = 0, i = 0; y < height; y++) {
        for (size_t x = 0; x < width; x++, i++) {
            const uint8_t *px = rgba + 4 * i;
            uint8_t al = px[3];
            opaque &= al == 255;
            alpha[i] = al;
            if (al < 128) /* 1 masks the pixel out */
                mask[y * mask_row + x / 8] |= (uint8_t)(0x80 >> (x % 8));
            for (int c = 0; c < 3; c++)
                rgb[3 * i + c] = al ? px[c] : 255;
        }
    }
    err = deflate_buf(&img->rgb_z, &img->rgb_z_len, rgb, 3 * npx, 1, Z_DEFAULT_STRATEGY);
    if (err == PDF_OK && !opaque)
        err = deflate_buf(&img->alpha_z, &img->alpha_z_len, alpha, npx, 6, Z_RLE);
    if (err == PDF_OK && !opaque)
        err = deflate_buf(&img->mask_z, &img->mask_z_len, mask, mask_row * height, 6, Z_RLE);
out:
    free(mask);
    free(rgb);
    free(alpha);
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
        free(img->mask_z);
        free(img);
    }
}

void pdf_image_size(const pdf_image *img, uint32_t *width, uint32_t *height) {
    *width = img->w;
    *height = img->h;
}

/* Serialised form: magic, then little-endian u32 width, height, rgb, alpha and mask lengths and
 * the CRC-32 of what follows, then the three streams. */
static const char image_magic[16] = "eseal-pdfimage1\n";

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

pdf_err pdf_image_serialize(buf *out, const pdf_image *img) {
    uint8_t head[16 + 24];
    memcpy(head, image_magic, 16);
    put_u32(head + 16, img->w);
    put_u32(head + 20, img->h);
    put_u32(head + 24, (uint32_t)img->rgb_z_len);
    put_u32(head + 28, (uint32_t)img->alpha_z_len);
    put_u32(head + 32, (uint32_t)img->mask_z_len);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, img->rgb_z, (uInt)img->rgb_z_len);
    if (img->alpha_z) {
        crc = crc32(crc, img->alpha_z, (uInt)img->alpha_z_len);
        crc = crc32(crc, img->mask_z, (uInt)img->mask_z_len);
    }
    put_u32(head + 36, (uint32_t)crc);
    int rc = buf_append(out, head, sizeof head);
    if (rc == BUF_OK)
        rc = buf_append(out, img->rgb_z, img->rgb_z_len);
    if (rc == BUF_OK && img->alpha_z)
        rc = buf_append(out, img->alpha_z, img->alpha_z_len);
    if (rc == BUF_OK && img->alpha_z)
        rc = buf_append(out, img->mask_z, img->mask_z_len);
    return rc == BUF_OK ? PDF_OK : PDF_E_NOMEM;
}

static uint8_t *dup_part(const uint8_t *p, size_t n) {
    uint8_t *q = malloc(n ? n : 1);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

pdf_err pdf_image_deserialize(pdf_image **out, const uint8_t *p, size_t n) {
    *out = NULL;
    if (n < 40 || memcmp(p, image_magic, 16) != 0)
        return pdf_fail(PDF_E_SYNTAX, "not a prepared image");
    uint32_t w = get_u32(p + 16), h = get_u32(p + 20);
    uint64_t rl = get_u32(p + 24), al = get_u32(p + 28), ml = get_u32(p + 32);
    if (w == 0 || h == 0 || (uint64_t)w * h > 100000000u || rl == 0 || (al == 0) != (ml == 0) ||
        40 + rl + al + ml != n)
        return pdf_fail(PDF_E_SYNTAX, "prepared image with inconsistent sizes");
    uLong crc = crc32(crc32(0L, Z_NULL, 0), p + 40, (uInt)(n - 40));
    if ((uint32_t)crc != get_u32(p + 36))
        return pdf_fail(PDF_E_SYNTAX, "prepared image fails its CRC");
    pdf_image *img = calloc(1, sizeof *img);
    if (!img)
        return PDF_E_NOMEM;
    img->w = w;
    img->h = h;
    img->rgb_z_len = (size_t)rl;
    img->rgb_z = dup_part(p + 40, (size_t)rl);
    if (al) {
        img->alpha_z_len = (size_t)al;
        img->alpha_z = dup_part(p + 40 + rl, (size_t)al);
        img->mask_z_len = (size_t)ml;
        img->mask_z = dup_part(p + 40 + rl + al, (size_t)ml);
    }
    if (!img->rgb_z || (al && (!img->alpha_z || !img->mask_z))) {
        pdf_image_free(img);
        return PDF_E_NOMEM;
    }
    *out = img;
    return PDF_OK;
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
        err = pdf_update_put_stream(u, *num, d, img->rgb_z, img->rgb_z_len);
    return err;
}

pdf_err pdf_update_add_form(uint32_t *num, pdf_update *u, double width, double height, int rotate,
                            pdf_val *resources, const uint8_t *content, size_t len) {
    arena *a = pdf_update_arena(u);
    /* 12.5.5: the BBox transformed by Matrix is fitted to the widget's /Rect; turning the form
     * by the page's /Rotate makes it read upright. */
    static const double mats[4][6] = {
        {1, 0, 0, 1, 0, 0}, {0, 1, -1, 0, 0, 0}, {-1, 0, 0, -1, 0, 0}, {0, -1, 1, 0, 0, 0}};
    const double *m = mats[(rotate / 90) & 3];
    double bbox[4] = {0, 0, width, height};
    pdf_val *d = pv_dict(a), *mat = pv_array(a);
    if (!d || !mat)
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
    if (err == PDF_OK && rotate % 360)
        err = pv_dict_set(a, d, "Matrix", mat);
    if (err == PDF_OK && resources)
        err = pv_dict_set(a, d, "Resources", resources);
    if (err == PDF_OK)
        err = pdf_update_put_stream(u, *num, d, content, len);
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
    pdf_val *res = pv_dict(a), *xo = pv_dict(a);
    if (!data || !res || !xo)
        return PDF_E_NOMEM;
    pdf_err err = pv_dict_set(a, xo, "Im0", pv_ref(a, image, 0));
    if (err == PDF_OK)
        err = pv_dict_set(a, res, "XObject", xo);
    if (err == PDF_OK)
        err = pdf_update_add_form(num, u, width, height, rotate, res, data, (size_t)n);
    return err;
}
