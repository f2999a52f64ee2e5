/* Decoded raster images and their bounded decoders. */
#ifndef ESEAL_IMAGING_IMAGE_H
#define ESEAL_IMAGING_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* The imaging library's one error type; img_strerror names it, img_errdetail() gives this
 * thread's detail of the last error. */
typedef enum img_err {
    IMG_OK = 0,
    IMG_E_NOMEM,
    IMG_E_IO,
    IMG_E_FORMAT,  /* not the expected format (bad signature) */
    IMG_E_CORRUPT, /* the decoder found damaged or truncated data */
    IMG_E_LIMIT,   /* bytes, width, height or pixel count over the maximum */
    IMG_E_UNSUPPORTED,
    IMG_E_ARG
} img_err;

const char *img_strerror(img_err err);
const char *img_errdetail(void);

/* 8-bit RGBA, rows top to bottom, no padding (stride = 4 * width). */
typedef struct img_rgba {
    uint32_t width, height;
    double dpi_x, dpi_y; /* from the file (pHYs, JFIF), 0 when unknown */
    uint8_t *px;
} img_rgba;

typedef struct img_limits {
    size_t max_bytes; /* encoded input */
    uint32_t max_width, max_height;
    uint64_t max_pixels;
} img_limits;

/* Defaults: 64 MiB input, 20000 x 20000, 100 megapixels. */
extern const img_limits IMG_DEFAULT_LIMITS;

/* Decodes a PNG of any colour type and bit depth into 8-bit RGBA (16-bit reduced, palette and
 * grey expanded, tRNS applied). lim NULL means IMG_DEFAULT_LIMITS. */
img_err img_png_decode(img_rgba **out, const uint8_t *data, size_t len, const img_limits *lim);
img_err img_png_read_file(img_rgba **out, const char *path, const img_limits *lim);
/* Encodes RGBA as an 8-bit RGBA PNG (with pHYs when dpi is set). */
img_err img_png_encode(uint8_t **out, size_t *len, const img_rgba *img);
img_err img_png_write_file(const char *path, const img_rgba *img);

/* Decodes a baseline or progressive JPEG (libjpeg-turbo) into RGBA (alpha 255): grey, YCbCr,
 * RGB, CMYK and YCCK (Adobe's inverted CMYK handled). dpi from the JFIF density when its unit
 * is dots per inch or per cm. Limits are checked from the header, before decoding. */
img_err img_jpeg_decode(img_rgba **out, const uint8_t *data, size_t len, const img_limits *lim);
/* PNG or JPEG, by content; IMG_E_FORMAT naming what the data is otherwise. */
img_err img_decode(img_rgba **out, const uint8_t *data, size_t len, const img_limits *lim);
img_err img_read_file(img_rgba **out, const char *path, const img_limits *lim);

img_err img_rgba_new(img_rgba **out, uint32_t width, uint32_t height);
/* A copy no larger than max_side pixels on its longer side (area averaging, with alpha
 * premultiplied so that transparent pixels do not darken the edges); dpi scaled with it. */
img_err img_rgba_downscale(img_rgba **out, const img_rgba *in, uint32_t max_side);
void img_rgba_free(img_rgba *img);

#endif
