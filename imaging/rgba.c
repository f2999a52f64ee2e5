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
