#include "imaging/internal.h"

#include <inttypes.h>
#include <stdlib.h>

/* 64 MiB of encoded input, 20000 x 20000, 100 megapixels: an A4 page at 600 dpi is about
 * 4961 x 7016 (35 Mpx), so the defaults leave room for any scan the registry accepts. */
const img_limits IMG_DEFAULT_LIMITS = {
    .max_bytes = (size_t)64 << 20,
    .max_width = 20000,
    .max_height = 20000,
    .max_pixels = 100000000,
};

img_err img_rgba_new(img_rgba **out, uint32_t width, uint32_t height) {
    img_err rc = IMG_OK;
    img_rgba *img = NULL;
    if (!out)
        return img_fail(IMG_E_ARG, "img_rgba_new: out is NULL");
    *out = NULL;
    if (width == 0 || height == 0) {
        rc = img_fail(IMG_E_ARG, "img_rgba_new: empty image %" PRIu32 " x %" PRIu32, width, height);
        goto out;
    }
    /* 4 * width * height must fit in size_t; width * height < 2^64 cannot overflow. */
    if ((uint64_t)width * height > SIZE_MAX / 4) {
        rc = img_fail(IMG_E_LIMIT,
                      "img_rgba_new: %" PRIu32 " x %" PRIu32 " pixels do not fit in memory", width,
                      height);
        goto out;
    }
    img = calloc(1, sizeof *img);
    if (!img) {
        rc = img_fail(IMG_E_NOMEM, "img_rgba_new: no memory for the image header");
        goto out;
    }
    img->width = width;
    img->height = height;
    img->px = calloc((size_t)height, (size_t)width * 4);
    if (!img->px) {
        rc = img_fail(IMG_E_NOMEM,
                      "img_rgba_new: no memory for %" PRIu32 " x %" PRIu32 " RGBA pixels", width,
                      height);
        goto out;
    }
    *out = img;
    img = NULL;
out:
    img_rgba_free(img);
    return rc;
}

void img_rgba_free(img_rgba *img) {
    if (!img)
        return;
    free(img->px);
    free(img);
}

img_err img_rgba_downscale(img_rgba **out, const img_rgba *in, uint32_t max_side) {
    *out = NULL;
    if (!in || max_side == 0)
        return img_fail(IMG_E_ARG, "img_rgba_downscale: no image or zero size");
    uint32_t side = in->width > in->height ? in->width : in->height;
    double f = side > max_side ? (double)max_side / side : 1.0;
    uint32_t w = (uint32_t)(in->width * f + 0.5), h = (uint32_t)(in->height * f + 0.5);
    if (w == 0)
        w = 1;
    if (h == 0)
        h = 1;
    img_rgba *o;
    img_err err = img_rgba_new(&o, w, h);
    if (err != IMG_OK)
        return err;
    o->dpi_x = in->dpi_x * w / in->width;
    o->dpi_y = in->dpi_y * h / in->height;
    for (uint32_t y = 0; y < h; y++) {
        uint32_t sy0 = (uint32_t)((uint64_t)y * in->height / h);
        uint32_t sy1 = (uint32_t)((uint64_t)(y + 1) * in->height / h);
        if (sy1 <= sy0)
            sy1 = sy0 + 1;
        for (uint32_t x = 0; x < w; x++) {
            uint32_t sx0 = (uint32_t)((uint64_t)x * in->width / w);
            uint32_t sx1 = (uint32_t)((uint64_t)(x + 1) * in->width / w);
            if (sx1 <= sx0)
                sx1 = sx0 + 1;
            double acc[4] = {0, 0, 0, 0};
            double n = 0;
            for (uint32_t sy = sy0; sy < sy1; sy++) {
                const uint8_t *p = in->px + 4 * ((size_t)sy * in->width + sx0);
                for (uint32_t sx = sx0; sx < sx1; sx++, p += 4) {
                    double a = p[3] / 255.0;
                    acc[0] += p[0] * a;
                    acc[1] += p[1] * a;
                    acc[2] += p[2] * a;
                    acc[3] += a;
                    n++;
                }
            }
            uint8_t *q = o->px + 4 * ((size_t)y * w + x);
            for (int c = 0; c < 3; c++)
                q[c] = acc[3] > 0 ? (uint8_t)(acc[c] / acc[3] + 0.5) : 255;
            q[3] = (uint8_t)(acc[3] / n * 255 + 0.5);
        }
    }
    *out = o;
    return IMG_OK;
}
