/* Bounded PNG decoding and encoding with libpng 1.6.
 *
 * References: PNG Specification, 2nd edition (ISO/IEC 15948:2004, W3C REC-PNG-20031110),
 * cited below as "PNG" with its section numbers; libpng 1.6 manual (libpng-manual.txt).
 *
 * Decoding reads from memory through a cursor that checks every read against the end of the
 * input (STYLE.md 5). The signature and IHDR are checked here, before libpng is even created,
 * so an image over the limits is refused before anything is allocated for it.
 *
 * setjmp/longjmp: libpng reports errors by calling our error function, which longjmps back to
 * the setjmp in dec_run()/enc_run(). Everything those functions change after setjmp and need
 * after a longjmp lives in the context struct owned by the caller (not in their own automatic
 * variables), so nothing is left indeterminate by the longjmp (C17 7.13.2.1p3) and the caller's
 * single exit path frees whatever was allocated. */
#include "imaging/internal.h"

#include "base/buf.h"
#include "base/fileio.h"

#include <errno.h>
#include <inttypes.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <zlib.h>

/* PNG 5.2: the eight signature bytes. */
static const uint8_t sig_png[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
/* PNG 5.3/11.2.2: signature, then IHDR's length, type, 13 data bytes and CRC. */
enum { SIG_LEN = 8, IHDR_DATA_LEN = 13, HEAD_LEN = SIG_LEN + 8 + IHDR_DATA_LEN + 4 };
/* PNG 5.3: lengths, widths and heights are at most 2^31 - 1. */
#define PNG_MAX_31 UINT32_C(0x7fffffff)
/* The largest ancillary chunk (or decompressed text/profile) libpng may allocate. */
#define IMG_PNG_CHUNK_MALLOC_MAX ((png_alloc_size_t)8 << 20)
/* The most ancillary chunks libpng keeps. */
#define IMG_PNG_CHUNK_CACHE_MAX 128u
/* PNG 11.3.5.3: pHYs counts pixels per metre; an inch is 0.0254 m. */
#define METRES_PER_INCH 0.0254

/* Where libpng's error function leaves the message before it longjmps, and its warning
 * function the last warning (libpng explains some errors only in a warning before them). */
struct png_msg {
    char text[256];
    char warning[256];
};

static void on_png_error(png_structp png, png_const_charp msg) {
    struct png_msg *m = png_get_error_ptr(png);
    snprintf(m->text, sizeof m->text, "%s", msg ? msg : "unknown libpng error");
    png_longjmp(png, 1);
}

/* Warnings are not fatal, and a server has no terminal to print them on: the last one is kept
 * for the error that may follow. Everything that can damage the pixels (CRC errors, zlib
 * errors, benign errors) is made an error in dec_run(). */
static void on_png_warning(png_structp png, png_const_charp msg) {
    struct png_msg *m = png_get_error_ptr(png);
    snprintf(m->warning, sizeof m->warning, "%s", msg ? msg : "");
}

static uint32_t get_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* The one place the size limits are applied, before any allocation. */
static img_err check_size(uint32_t width, uint32_t height, const img_limits *lim) {
    img_err rc = IMG_OK;
    uint64_t pixels = (uint64_t)width * height; /* < 2^64 for any two 32-bit values */
    if (width > lim->max_width)
        rc = img_fail(IMG_E_LIMIT,
                      "PNG width %" PRIu32 " is over the maximum of %" PRIu32 " (max_width)", width,
                      lim->max_width);
    else if (height > lim->max_height)
        rc = img_fail(IMG_E_LIMIT,
                      "PNG height %" PRIu32 " is over the maximum of %" PRIu32 " (max_height)",
                      height, lim->max_height);
    else if (pixels > lim->max_pixels)
        rc = img_fail(IMG_E_LIMIT,
                      "PNG is %" PRIu32 " x %" PRIu32 " = %" PRIu64
                      " pixels, over the maximum of %" PRIu64 " (max_pixels)",
                      width, height, pixels, lim->max_pixels);
    else if (pixels > SIZE_MAX / 4)
        rc = img_fail(IMG_E_LIMIT, "PNG is %" PRIu32 " x %" PRIu32 " pixels: too large for memory",
                      width, height);
    return rc;
}

/* Checks the input size, the signature (PNG 5.2) and the IHDR chunk (PNG 11.2.2) with its CRC,
 * then the size limits. */
static img_err precheck(const uint8_t *data, size_t len, const img_limits *lim) {
    img_err rc = IMG_OK;
    const uint8_t *c; /* the IHDR chunk */
    uint32_t width, height;
    if (len > lim->max_bytes) {
        rc = img_fail(IMG_E_LIMIT, "PNG input is %zu bytes, over the maximum of %zu (max_bytes)",
                      len, lim->max_bytes);
        goto out;
    }
    if (len == 0) {
        rc = img_fail(IMG_E_FORMAT, "not a PNG: the input is empty");
        goto out;
    }
    if (memcmp(data, sig_png, len < SIG_LEN ? len : SIG_LEN) != 0) {
        static const char digits[] = "0123456789abcdef";
        char hex[3 * SIG_LEN] = "";
        for (size_t i = 0; i < SIG_LEN && i < len; i++) {
            hex[3 * i] = digits[data[i] >> 4];
            hex[3 * i + 1] = digits[data[i] & 15];
            hex[3 * i + 2] = i + 1 < SIG_LEN && i + 1 < len ? ' ' : '\0';
        }
        rc = img_fail(IMG_E_FORMAT, "not a PNG: bad signature (starts %s)", hex);
        goto out;
    }
    if (len < HEAD_LEN) {
        rc = img_fail(IMG_E_CORRUPT,
                      "truncated PNG: %zu bytes, too short for the signature and IHDR (%d)", len,
                      HEAD_LEN);
        goto out;
    }
    c = data + SIG_LEN;
    if (get_be32(c) != IHDR_DATA_LEN || memcmp(c + 4, "IHDR", 4) != 0) {
        rc = img_fail(IMG_E_CORRUPT, "corrupt PNG: the first chunk is not a 13-byte IHDR");
        goto out;
    }
    /* PNG 5.3: the CRC covers the chunk type and data. */
    if (crc32(crc32(0L, Z_NULL, 0), c + 4, 4 + IHDR_DATA_LEN) != get_be32(c + 8 + IHDR_DATA_LEN)) {
        rc = img_fail(IMG_E_CORRUPT, "corrupt PNG: IHDR: CRC error");
        goto out;
    }
    width = get_be32(c + 8);
    height = get_be32(c + 12);
    if (width == 0 || height == 0 || width > PNG_MAX_31 || height > PNG_MAX_31) {
        rc = img_fail(IMG_E_CORRUPT, "corrupt PNG: IHDR: invalid size %" PRIu32 " x %" PRIu32,
                      width, height);
        goto out;
    }
    rc = check_size(width, height, lim);
out:
    return rc;
}

/* pHYs pixels per metre to dots per inch (PNG 11.3.5.3). A writer stores 150 dpi as 5906 px/m
 * (150 / 0.0254 = 5905.5, rounded), which is 150.0124 dpi; when the nearest whole dpi is exactly
 * what gives this count, that whole dpi is what the writer meant and is reported. */
static double ppm_to_dpi(png_uint_32 ppm) {
    double dpi = ppm * METRES_PER_INCH;
    double whole = (double)(uint64_t)(dpi + 0.5); /* < 2^27: exact */
    if (whole > 0 && (uint64_t)(whole / METRES_PER_INCH + 0.5) == ppm)
        dpi = whole;
    return dpi;
}

/* Decoder state. Owned by img_png_decode(); dec_run() changes it only through a pointer. */
struct png_dec {
    struct png_msg msg;
    const uint8_t *data; /* input cursor: data[pos..len) is unread */
    size_t len, pos;
    size_t short_by; /* nonzero after a read asked for more than was left */
    const img_limits *lim;
    png_structp png;
    png_infop info;
    img_rgba *img;
    png_bytep *rows;
};

static void dec_read(png_structp png, png_bytep dst, size_t n) {
    struct png_dec *d = png_get_io_ptr(png);
    if (n > d->len - d->pos) {
        d->short_by = n - (d->len - d->pos);
        png_error(png, "unexpected end of data");
    }
    memcpy(dst, d->data + d->pos, n);
    d->pos += n;
}

/* Turns the libpng error behind a longjmp into ours. */
static img_err dec_failed(const struct png_dec *d) {
    const char *m = d->msg.text;
    if (d->short_by)
        return img_fail(IMG_E_CORRUPT,
                        "truncated PNG: %zu byte(s) missing at offset %zu of %zu (%s)", d->short_by,
                        d->pos, d->len, m);
    /* libpng's messages are its only error report: "Out of memory", "Insufficient memory"... */
    if (strstr(m, "emory"))
        return img_fail(IMG_E_NOMEM, "libpng: %s", m);
    /* png_set_chunk_malloc_max: libpng checks a chunk's length right after reading its 8-byte
     * header, so that header ends at pos. A length beyond the end of the input is truncation;
     * a chunk really that large is over our limit. */
    if (strstr(m, "chunk data is too large") && d->pos >= SIG_LEN + 8) {
        uint32_t declared = get_be32(d->data + d->pos - 8);
        if (declared > d->len - d->pos)
            return img_fail(IMG_E_CORRUPT,
                            "truncated PNG: a chunk at offset %zu declares %" PRIu32
                            " bytes, %zu are left",
                            d->pos - 8, declared, d->len - d->pos);
        return img_fail(IMG_E_LIMIT,
                        "PNG chunk of %" PRIu32 " bytes is over the maximum of %zu (%s)", declared,
                        (size_t)IMG_PNG_CHUNK_MALLOC_MAX, m);
    }
    /* png_set_user_limits: libpng warns "Image width exceeds user limit in IHDR", then fails
     * with "Invalid IHDR data" (precheck() refuses such images first; this is the second line). */
    if (strstr(d->msg.warning, "exceeds user limit"))
        return img_fail(IMG_E_LIMIT, "PNG over a libpng limit: %s (%s)", d->msg.warning, m);
    return img_fail(IMG_E_CORRUPT, "corrupt PNG: %s", m);
}

/* The part of decoding that runs under libpng's setjmp. Returns normally for its own errors
 * (the caller frees what is in d); libpng's errors come back through the setjmp. */
static img_err dec_run(struct png_dec *d) {
    /* Chunks libpng still interprets: the critical ones, tRNS (not in libpng's ignore list)
     * and pHYs. All other ancillary chunks (text, iCCP, ...) are skipped after their CRC is
     * checked, so their decompressors never run on uploaded data. */
    static const png_byte keep_phys[] = {'p', 'H', 'Y', 's', '\0'};
    img_err rc = IMG_OK;
    png_uint_32 width = 0, height = 0, res_x = 0, res_y = 0;
    int bit_depth = 0, colour_type = 0, unit = 0;

    if (setjmp(png_jmpbuf(d->png)))
        return dec_failed(d);

    png_set_read_fn(d->png, d, dec_read);
    png_set_sig_bytes(d->png, SIG_LEN); /* precheck() read the signature */
    d->pos = SIG_LEN;
    /* A CRC error in any chunk, critical or ancillary, is corruption (PNG 13.2). */
    png_set_crc_action(d->png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
#ifdef PNG_BENIGN_ERRORS_SUPPORTED
    /* libpng downgrades some damage to warnings by default and carries on (extra image data,
     * a malformed tRNS, a chunk over the size limit skipped); we refuse the file instead. */
    png_set_benign_errors(d->png, 0);
#endif
    png_set_user_limits(d->png, d->lim->max_width, d->lim->max_height);
    png_set_chunk_malloc_max(d->png, IMG_PNG_CHUNK_MALLOC_MAX);
    png_set_chunk_cache_max(d->png, IMG_PNG_CHUNK_CACHE_MAX);
#ifdef PNG_HANDLE_AS_UNKNOWN_SUPPORTED
    png_set_keep_unknown_chunks(d->png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
    png_set_keep_unknown_chunks(d->png, PNG_HANDLE_CHUNK_AS_DEFAULT, keep_phys, 1);
#else
    (void)keep_phys;
#endif

    png_read_info(d->png, d->info);
    png_get_IHDR(d->png, d->info, &width, &height, &bit_depth, &colour_type, NULL, NULL, NULL);
    rc = check_size(width, height, d->lim); /* the same IHDR precheck() saw, parsed by libpng */
    if (rc != IMG_OK)
        return rc;

    /* To 8-bit RGBA (libpng manual, "Transformations you can do"): palette to RGB, grey below
     * 8 bits to 8, tRNS to alpha; 16 bits to 8; grey to RGB; opaque alpha where none. */
    png_set_expand(d->png);
    png_set_strip_16(d->png);
    png_set_gray_to_rgb(d->png);
    png_set_add_alpha(d->png, 0xff, PNG_FILLER_AFTER);
    (void)png_set_interlace_handling(d->png); /* Adam7 (PNG 8.2): png_read_image runs the passes */
    png_read_update_info(d->png, d->info);
    if (png_get_bit_depth(d->png, d->info) != 8 || png_get_channels(d->png, d->info) != 4 ||
        png_get_rowbytes(d->png, d->info) != (size_t)width * 4)
        return img_fail(IMG_E_UNSUPPORTED,
                        "PNG colour type %d, %d-bit: libpng did not give 8-bit RGBA", colour_type,
                        bit_depth);

    rc = img_rgba_new(&d->img, width, height);
    if (rc != IMG_OK)
        return rc;
    if (png_get_pHYs(d->png, d->info, &res_x, &res_y, &unit) && unit == PNG_RESOLUTION_METER) {
        d->img->dpi_x = ppm_to_dpi(res_x);
        d->img->dpi_y = ppm_to_dpi(res_y);
    }
    d->rows = calloc(height, sizeof *d->rows); /* calloc checks the product */
    if (!d->rows)
        return img_fail(IMG_E_NOMEM, "no memory for %" PRIu32 " row pointers", height);
    for (png_uint_32 y = 0; y < height; y++)
        d->rows[y] = d->img->px + (size_t)y * width * 4;
    png_read_image(d->png, d->rows);
    /* Read on to IEND so a file truncated or damaged after the image data is refused too. */
    png_read_end(d->png, NULL);
    return IMG_OK;
}

img_err img_png_decode(img_rgba **out, const uint8_t *data, size_t len, const img_limits *lim) {
    img_err rc = IMG_OK;
    struct png_dec d;
    memset(&d, 0, sizeof d);
    if (!out || (!data && len)) {
        rc = img_fail(IMG_E_ARG, "img_png_decode: NULL %s", out ? "data" : "out");
        goto out;
    }
    *out = NULL;
    d.lim = lim ? lim : &IMG_DEFAULT_LIMITS;
    d.data = data;
    d.len = len;
    rc = precheck(data, len, d.lim);
    if (rc != IMG_OK)
        goto out;
    d.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &d.msg, on_png_error, on_png_warning);
    if (!d.png) {
        rc = img_fail(IMG_E_NOMEM, "png_create_read_struct failed");
        goto out;
    }
    d.info = png_create_info_struct(d.png);
    if (!d.info) {
        rc = img_fail(IMG_E_NOMEM, "png_create_info_struct failed");
        goto out;
    }
    rc = dec_run(&d);
    if (rc != IMG_OK)
        goto out;
    *out = d.img;
    d.img = NULL;
out:
    if (d.png)
        png_destroy_read_struct(&d.png, &d.info, NULL);
    free(d.rows);
    img_rgba_free(d.img);
    return rc;
}

img_err img_png_read_file(img_rgba **out, const char *path, const img_limits *lim) {
    return img_read_with(out, path, lim, img_png_decode, "img_png_read_file");
}

/* Encoder state. Owned by img_png_encode(); enc_run() changes it only through a pointer. */
struct png_enc {
    struct png_msg msg;
    png_structp png;
    png_infop info;
    buf out;
    int buf_err; /* BUF_* from a failed append, 0 otherwise */
};

static void enc_write(png_structp png, png_bytep p, size_t n) {
    struct png_enc *e = png_get_io_ptr(png);
    int err = buf_append(&e->out, p, n);
    if (err) {
        e->buf_err = err;
        png_error(png, buf_strerror(err));
    }
}

static void enc_flush(png_structp png) {
    (void)png;
}

static img_err enc_failed(const struct png_enc *e) {
    if (e->buf_err == BUF_ETOOBIG)
        return img_fail(IMG_E_LIMIT, "encoded PNG larger than its bound of %zu bytes", e->out.max);
    if (e->buf_err || strstr(e->msg.text, "emory"))
        return img_fail(IMG_E_NOMEM, "PNG encoding: %s", e->msg.text);
    return img_fail(IMG_E_ARG, "libpng refused the image: %s", e->msg.text);
}

/* Converts dpi to pHYs pixels per metre (PNG 11.3.5.3); 0 when dpi is 0. */
static img_err dpi_to_ppm(png_uint_32 *ppm, double dpi) {
    img_err rc = IMG_OK;
    *ppm = 0;
    if (!(dpi >= 0.0 && dpi <= 1e7)) /* also refuses NaN */
        rc = img_fail(IMG_E_ARG, "img_png_encode: dpi %g out of range", dpi);
    else if (dpi > 0.0)
        *ppm = (png_uint_32)(dpi / METRES_PER_INCH + 0.5);
    if (dpi > 0.0 && *ppm == 0)
        *ppm = 1; /* under 1/80 dpi: keep "set" distinct from "unknown" */
    return rc;
}

static img_err enc_run(struct png_enc *e, const img_rgba *img, png_uint_32 ppm_x,
                       png_uint_32 ppm_y) {
    if (setjmp(png_jmpbuf(e->png)))
        return enc_failed(e);
    png_set_write_fn(e->png, e, enc_write, enc_flush);
    png_set_user_limits(e->png, PNG_MAX_31, PNG_MAX_31);
    png_set_IHDR(e->png, e->info, img->width, img->height, 8, PNG_COLOR_TYPE_RGB_ALPHA,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (ppm_x || ppm_y)
        png_set_pHYs(e->png, e->info, ppm_x, ppm_y, PNG_RESOLUTION_METER);
    png_write_info(e->png, e->info);
    for (uint32_t y = 0; y < img->height; y++)
        png_write_row(e->png, img->px + (size_t)y * img->width * 4);
    png_write_end(e->png, NULL);
    return IMG_OK;
}

/* A generous bound on the encoded size: the filtered rows, plus what zlib's stored blocks and
 * the chunk headers can add, plus room for the fixed chunks. Saturates at SIZE_MAX. */
static size_t enc_bound(uint32_t width, uint32_t height) {
    uint64_t raw = (uint64_t)width * height * 4 + height; /* w, h < 2^31: no overflow */
    uint64_t slack = raw / 16 + 65536;
    if (slack >= (uint64_t)SIZE_MAX || raw > (uint64_t)SIZE_MAX - slack)
        return SIZE_MAX;
    return (size_t)(raw + slack);
}

img_err img_png_encode(uint8_t **out, size_t *len, const img_rgba *img) {
    img_err rc = IMG_OK;
    png_uint_32 ppm_x = 0, ppm_y = 0;
    struct png_enc e;
    memset(&e, 0, sizeof e);
    buf_init(&e.out, 0);
    if (out)
        *out = NULL;
    if (len)
        *len = 0;
    if (!out || !len || !img || !img->px) {
        rc = img_fail(IMG_E_ARG, "img_png_encode: NULL argument or image without pixels");
        goto out;
    }
    if (img->width == 0 || img->height == 0 || img->width > PNG_MAX_31 ||
        img->height > PNG_MAX_31) {
        rc = img_fail(IMG_E_ARG,
                      "img_png_encode: a PNG cannot be %" PRIu32 " x %" PRIu32
                      " (1 to 2^31-1 each way)",
                      img->width, img->height);
        goto out;
    }
    if ((uint64_t)img->width * img->height > SIZE_MAX / 4) {
        rc = img_fail(IMG_E_ARG, "img_png_encode: %" PRIu32 " x %" PRIu32 " cannot be in memory",
                      img->width, img->height);
        goto out;
    }
    rc = dpi_to_ppm(&ppm_x, img->dpi_x);
    if (rc == IMG_OK)
        rc = dpi_to_ppm(&ppm_y, img->dpi_y);
    if (rc != IMG_OK)
        goto out;
    /* One resolution given: square pixels. */
    if (!ppm_x)
        ppm_x = ppm_y;
    if (!ppm_y)
        ppm_y = ppm_x;
    buf_init(&e.out, enc_bound(img->width, img->height));
    e.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &e.msg, on_png_error, on_png_warning);
    if (!e.png) {
        rc = img_fail(IMG_E_NOMEM, "png_create_write_struct failed");
        goto out;
    }
    e.info = png_create_info_struct(e.png);
    if (!e.info) {
        rc = img_fail(IMG_E_NOMEM, "png_create_info_struct failed");
        goto out;
    }
    rc = enc_run(&e, img, ppm_x, ppm_y);
    if (rc != IMG_OK)
        goto out;
    *out = buf_detach(&e.out, len);
out:
    if (e.png)
        png_destroy_write_struct(&e.png, &e.info);
    buf_free(&e.out);
    return rc;
}

img_err img_png_write_file(const char *path, const img_rgba *img) {
    img_err rc = IMG_OK;
    uint8_t *data = NULL;
    size_t len = 0;
    struct iovec iov;
    int err;
    if (!path) {
        rc = img_fail(IMG_E_ARG, "img_png_write_file: NULL path");
        goto out;
    }
    rc = img_png_encode(&data, &len, img);
    if (rc != IMG_OK)
        goto out;
    iov.iov_base = data;
    iov.iov_len = len;
    err = file_write_atomic(path, &iov, 1, 0644);
    if (err) {
        rc = img_fail(err == ENOMEM ? IMG_E_NOMEM : IMG_E_IO, "cannot write %s: %s", path,
                      strerror(err));
        goto out;
    }
out:
    free(data);
    return rc;
}
