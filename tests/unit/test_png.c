/* PNG decoding and encoding (imaging/png.c).
 *
 * Test images of every colour type, bit depth and interlace method are written here with libpng
 * itself, together with the RGBA the decoder must produce; real scans come from the corpus
 * (ESEAL_CORPUS, else /work/shared/corpus; skipped with a message when absent). Negative tests
 * check the exact img_err. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkdtemp, strtok_r; CMake defines it for the whole build */
#endif

#include "imaging/image.h"

#include "base/buf.h"
#include "base/fileio.h"
#include "tests/unit/check.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <threads.h>
#include <unistd.h>
#include <zlib.h>

#define CHECK_ERR(expr, want)                                                                      \
    do {                                                                                           \
        img_err check_got_ = (expr);                                                               \
        if (check_got_ != (want)) {                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%s != %s; detail: %s)\n", __FILE__,    \
                    __LINE__, #expr, #want, img_strerror(check_got_), img_strerror(want),          \
                    img_errdetail());                                                              \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

#define CHECK_DETAIL(needle)                                                                       \
    do {                                                                                           \
        if (!strstr(img_errdetail(), (needle))) {                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: detail \"%s\" lacks \"%s\"\n", __FILE__,         \
                    __LINE__, img_errdetail(), (needle));                                          \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

/* ---- Writing test PNGs with libpng ---------------------------------------------------------- */

static void test_png_error(png_structp png, png_const_charp msg) {
    (void)png;
    fprintf(stderr, "test_png: libpng failed writing a test image: %s\n", msg);
    exit(2);
}

static void test_png_warning(png_structp png, png_const_charp msg) {
    (void)png;
    fprintf(stderr, "test_png: libpng warning writing a test image: %s\n", msg);
}

static void test_png_write(png_structp png, png_bytep p, size_t n) {
    if (buf_append(png_get_io_ptr(png), p, n) != BUF_OK)
        png_error(png, "test buffer full");
}

static void test_png_flush(png_structp png) {
    (void)png;
}

/* A well-mixed value for pixel (x, y), channel c. */
static uint32_t mix(uint32_t x, uint32_t y, uint32_t c) {
    uint32_t h = x * 0x9E3779B1u ^ (y + 0x7F4A7C15u) * 0x85EBCA77u ^ (c + 1) * 0xC2B2AE3Du;
    h ^= h >> 15;
    h *= 0x2C1B3C6Du;
    h ^= h >> 12;
    return h;
}

/* A sample of depth bits scaled to 8, as png_set_expand / png_set_strip_16 do. */
static uint8_t to8(uint32_t v, int depth) {
    if (depth == 16)
        return (uint8_t)(v >> 8);
    if (depth == 8)
        return (uint8_t)v;
    return (uint8_t)(v * 255u / ((1u << depth) - 1));
}

static void put_sample(uint8_t *row, size_t idx, int depth, uint32_t v) {
    if (depth == 16) {
        row[2 * idx] = (uint8_t)(v >> 8);
        row[2 * idx + 1] = (uint8_t)v;
    } else if (depth == 8) {
        row[idx] = (uint8_t)v;
    } else {
        size_t per_byte = (size_t)(8 / depth);
        unsigned shift = (unsigned)(8 - depth * (int)(idx % per_byte + 1));
        row[idx / per_byte] |= (uint8_t)(v << shift);
    }
}

struct spec {
    const char *name;
    int colour_type, bit_depth, interlace;
    uint32_t w, h;
    int trns;      /* add tRNS */
    int extras;    /* add tEXt, zTXt, gAMA and a private chunk, which the decoder skips */
    int phys_unit; /* -1: no pHYs */
    png_uint_32 phys_x, phys_y;
};

/* Writes the PNG s describes into *png and the RGBA the decoder must give into *rgba. */
static void make_png(uint8_t **png_out, size_t *png_len, uint8_t **rgba, const struct spec *s) {
    int ch = s->colour_type == PNG_COLOR_TYPE_GRAY         ? 1
             : s->colour_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
             : s->colour_type == PNG_COLOR_TYPE_PALETTE    ? 1
             : s->colour_type == PNG_COLOR_TYPE_RGB        ? 3
                                                           : 4;
    int depth = s->bit_depth;
    uint32_t maxv = depth == 16 ? 0xffffu : (1u << depth) - 1;
    size_t rowbytes = ((size_t)s->w * (size_t)ch * (size_t)depth + 7) / 8;
    uint8_t *data = calloc(s->h, rowbytes);
    png_bytep *rows = calloc(s->h, sizeof *rows);
    uint8_t *exp = calloc((size_t)s->w * s->h, 4);
    png_color pal[256];
    png_byte pal_alpha[256];
    int npal = 0, ntrans = 0;
    png_color_16 tc;
    buf out;
    buf_init(&out, (size_t)256 << 20);
    if (!data || !rows || !exp) {
        fprintf(stderr, "test_png: out of memory\n");
        exit(2);
    }
    memset(&tc, 0, sizeof tc);
    if (s->colour_type == PNG_COLOR_TYPE_PALETTE) {
        npal = depth == 8 ? 200 : 1 << depth;
        for (int i = 0; i < npal; i++) {
            pal[i].red = (png_byte)(i * 37 + 11);
            pal[i].green = (png_byte)(i * 91 + 3);
            pal[i].blue = (png_byte)(255 - i);
            pal_alpha[i] = (png_byte)(i * 51);
        }
        ntrans = s->trns ? (npal < 6 ? npal : 6) : 0;
    }
    /* The transparent colour of grey and RGB images is pixel (0, 0)'s, so it occurs. */
    uint32_t t0 = mix(0, 0, 0) & maxv, t1 = mix(0, 0, 1) & maxv, t2 = mix(0, 0, 2) & maxv;
    tc.gray = (png_uint_16)t0;
    tc.red = (png_uint_16)t0;
    tc.green = (png_uint_16)t1;
    tc.blue = (png_uint_16)t2;

    for (uint32_t y = 0; y < s->h; y++) {
        uint8_t *row = data + (size_t)y * rowbytes;
        rows[y] = row;
        for (uint32_t x = 0; x < s->w; x++) {
            uint8_t *e = exp + ((size_t)y * s->w + x) * 4;
            uint32_t v[4] = {0, 0, 0, 0};
            for (int c = 0; c < ch; c++) {
                v[c] = mix(x, y, (uint32_t)c) & maxv;
                if (s->colour_type == PNG_COLOR_TYPE_PALETTE)
                    v[c] = mix(x, y, 0) % (uint32_t)npal;
                put_sample(row, (size_t)x * (size_t)ch + (size_t)c, depth, v[c]);
            }
            switch (s->colour_type) {
            case PNG_COLOR_TYPE_GRAY:
                e[0] = e[1] = e[2] = to8(v[0], depth);
                e[3] = s->trns && v[0] == t0 ? 0 : 255;
                break;
            case PNG_COLOR_TYPE_GRAY_ALPHA:
                e[0] = e[1] = e[2] = to8(v[0], depth);
                e[3] = to8(v[1], depth);
                break;
            case PNG_COLOR_TYPE_PALETTE:
                e[0] = pal[v[0]].red;
                e[1] = pal[v[0]].green;
                e[2] = pal[v[0]].blue;
                e[3] = (int)v[0] < ntrans ? pal_alpha[v[0]] : 255;
                break;
            case PNG_COLOR_TYPE_RGB:
                e[0] = to8(v[0], depth);
                e[1] = to8(v[1], depth);
                e[2] = to8(v[2], depth);
                e[3] = s->trns && v[0] == t0 && v[1] == t1 && v[2] == t2 ? 0 : 255;
                break;
            default:
                for (int c = 0; c < 4; c++)
                    e[c] = to8(v[c], depth);
                break;
            }
        }
    }

    png_structp png =
        png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, test_png_error, test_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        fprintf(stderr, "test_png: png_create_write_struct failed\n");
        exit(2);
    }
    png_set_write_fn(png, &out, test_png_write, test_png_flush);
    png_set_IHDR(png, info, s->w, s->h, depth, s->colour_type, s->interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (npal)
        png_set_PLTE(png, info, pal, npal);
    if (s->trns)
        png_set_tRNS(png, info, ntrans ? pal_alpha : NULL, ntrans, ntrans ? NULL : &tc);
    if (s->phys_unit >= 0)
        png_set_pHYs(png, info, s->phys_x, s->phys_y, s->phys_unit);
    if (s->extras) {
        static char k1[] = "Title", t1s[] = "a test image", k2[] = "Comment",
                    t2s[] = "compressed text, compressed text, compressed text";
        png_text text[2];
        memset(text, 0, sizeof text);
        text[0].compression = PNG_TEXT_COMPRESSION_NONE;
        text[0].key = k1;
        text[0].text = t1s;
        text[1].compression = PNG_TEXT_COMPRESSION_zTXt;
        text[1].key = k2;
        text[1].text = t2s;
        png_set_text(png, info, text, 2);
        png_set_gAMA_fixed(png, info, 45455);
        static png_byte prv_data[] = "private data";
        png_unknown_chunk prv;
        memset(&prv, 0, sizeof prv);
        memcpy(prv.name, "prVt", 5);
        prv.data = prv_data;
        prv.size = sizeof prv_data;
        prv.location = PNG_HAVE_IHDR;
        png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_ALWAYS, NULL, 0);
        png_set_unknown_chunks(png, info, &prv, 1);
    }
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(data);
    *png_out = buf_detach(&out, png_len);
    *rgba = exp;
}

/* ---- Chunk surgery -------------------------------------------------------------------------- */

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Offset of the n-th (from 0) chunk of the given type, or 0 when there is none. */
static size_t find_chunk(const uint8_t *p, size_t len, const char *type, int n) {
    size_t off = 8;
    while (off + 12 <= len) {
        uint32_t clen = be32(p + off);
        if (memcmp(p + off + 4, type, 4) == 0 && n-- == 0)
            return off;
        if (clen > len - off - 12)
            break;
        off += 12 + clen;
    }
    return 0;
}

/* Recomputes the CRC of the chunk at off (PNG 5.3: over type and data). */
static void fix_crc(uint8_t *p, size_t off) {
    uint32_t clen = be32(p + off);
    uLong crc = crc32(crc32(0L, Z_NULL, 0), p + off + 4, (uInt)(4 + clen));
    put_be32(p + off + 8 + clen, (uint32_t)crc);
}

/* A copy of p with a chunk inserted at offset at; declared is its length field, n the data
 * actually given (n < declared makes a chunk that runs past the end of the file). */
static uint8_t *insert_chunk(size_t *out_len, const uint8_t *p, size_t len, size_t at,
                             const char *type, const uint8_t *data, uint32_t declared, size_t n) {
    int whole = n == declared;
    size_t clen = 8 + n + (whole ? 4 : 0);
    uint8_t *q = malloc(len + clen);
    if (!q) {
        fprintf(stderr, "test_png: out of memory\n");
        exit(2);
    }
    memcpy(q, p, at);
    put_be32(q + at, declared);
    memcpy(q + at + 4, type, 4);
    if (n)
        memcpy(q + at + 8, data, n);
    if (whole)
        fix_crc(q, at);
    memcpy(q + at + clen, p + at, len - at);
    *out_len = len + clen;
    return q;
}

/* The signature and a 13-byte IHDR (with a correct CRC) for the given size. */
static void make_header(uint8_t out[33], uint32_t w, uint32_t h) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    memcpy(out, sig, 8);
    put_be32(out + 8, 13);
    memcpy(out + 12, "IHDR", 4);
    put_be32(out + 16, w);
    put_be32(out + 20, h);
    out[24] = 8; /* bit depth */
    out[25] = 6; /* RGBA */
    out[26] = out[27] = out[28] = 0;
    fix_crc(out, 8);
}

static img_rgba *noise_image(uint32_t w, uint32_t h, uint32_t seed) {
    img_rgba *img = NULL;
    if (img_rgba_new(&img, w, h) != IMG_OK) {
        fprintf(stderr, "test_png: img_rgba_new: %s\n", img_errdetail());
        exit(2);
    }
    for (size_t i = 0; i < (size_t)w * h * 4; i++)
        img->px[i] = (uint8_t)mix((uint32_t)i, seed, 7);
    return img;
}

/* Within what pHYs can hold: half a pixel per metre is 0.0127 dpi. */
static int near(double a, double b) {
    return a - b < 0.013 && b - a < 0.013;
}

/* ---- Tests ---------------------------------------------------------------------------------- */

static void test_rgba_new(void) {
    img_rgba *img = NULL;
    CHECK_ERR(img_rgba_new(&img, 3, 2), IMG_OK);
    CHECK(img && img->px && img->width == 3 && img->height == 2);
    CHECK(img && img->dpi_x == 0 && img->dpi_y == 0);
    img_rgba_free(img);
    img = (img_rgba *)&img; /* must be reset on failure */
    CHECK_ERR(img_rgba_new(&img, 0, 5), IMG_E_ARG);
    CHECK(img == NULL);
    CHECK_ERR(img_rgba_new(NULL, 1, 1), IMG_E_ARG);
    img_rgba_free(NULL);
    CHECK_STR(img_strerror(IMG_E_CORRUPT), "corrupt or truncated image");
    CHECK(strlen(img_strerror((img_err)99)) > 0);
    CHECK_INT(IMG_DEFAULT_LIMITS.max_bytes, 64u << 20);
    CHECK_INT(IMG_DEFAULT_LIMITS.max_width, 20000);
    CHECK_INT(IMG_DEFAULT_LIMITS.max_height, 20000);
    CHECK_INT(IMG_DEFAULT_LIMITS.max_pixels, 100000000);
}

static void roundtrip_one(uint32_t w, uint32_t h, double dpi_x, double dpi_y, double want_x,
                          double want_y) {
    img_rgba *img = noise_image(w, h, w * 31 + h), *back = NULL;
    uint8_t *png = NULL;
    size_t len = 0;
    img->dpi_x = dpi_x;
    img->dpi_y = dpi_y;
    CHECK_ERR(img_png_encode(&png, &len, img), IMG_OK);
    CHECK(png && len > 8 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
    CHECK((find_chunk(png, len, "pHYs", 0) != 0) == (want_x > 0));
    CHECK_ERR(img_png_decode(&back, png, len, NULL), IMG_OK);
    CHECK(back != NULL);
    if (back) {
        CHECK_INT(back->width, w);
        CHECK_INT(back->height, h);
        CHECK_MEM(back->px, img->px, (size_t)w * h * 4);
        /* Whole dpi values come back exactly, others as near as pHYs allows. */
        CHECK(want_x == (int)want_x ? back->dpi_x == want_x : near(back->dpi_x, want_x));
        CHECK(want_y == (int)want_y ? back->dpi_y == want_y : near(back->dpi_y, want_y));
    }
    img_rgba_free(back);
    img_rgba_free(img);
    free(png);
}

static void test_roundtrip(void) {
    roundtrip_one(37, 23, 300, 300, 300, 300);
    roundtrip_one(1, 1, 0, 0, 0, 0);
    roundtrip_one(5, 200, 150, 0, 150, 150); /* one resolution given: square pixels */
    roundtrip_one(640, 9, 600, 300, 600, 300);
    roundtrip_one(300, 200, 72, 72, 72, 72); /* several IDAT chunks */
    roundtrip_one(3, 3, 96.5, 1200, 96.5, 1200);

    /* Bad arguments. */
    img_rgba *img = noise_image(4, 4, 1);
    uint8_t *png = (uint8_t *)&img;
    size_t len = 99;
    CHECK_ERR(img_png_encode(&png, &len, NULL), IMG_E_ARG);
    CHECK(png == NULL && len == 0);
    img->dpi_x = -1;
    CHECK_ERR(img_png_encode(&png, &len, img), IMG_E_ARG);
    img->dpi_x = NAN;
    CHECK_ERR(img_png_encode(&png, &len, img), IMG_E_ARG);
    img->dpi_x = 0;
    img->width = 0;
    CHECK_ERR(img_png_encode(&png, &len, img), IMG_E_ARG);
    CHECK(png == NULL);
    img->width = 4;
    img_rgba_free(img);
}

static void test_files(void) {
    char dir[] = "/tmp/test_png.XXXXXX";
    char path[256], missing[300];
    if (!mkdtemp(dir)) {
        fprintf(stderr, "test_png: mkdtemp: %s\n", strerror(errno));
        check_failures++;
        return;
    }
    snprintf(path, sizeof path, "%s/seal.png", dir);
    snprintf(missing, sizeof missing, "%s/no/such/dir/seal.png", dir);
    img_rgba *img = noise_image(50, 40, 3), *back = NULL;
    img->dpi_x = img->dpi_y = 300;
    CHECK_ERR(img_png_write_file(path, img), IMG_OK);
    CHECK_ERR(img_png_read_file(&back, path, NULL), IMG_OK);
    if (back) {
        CHECK_INT(back->width, 50);
        CHECK_INT(back->height, 40);
        CHECK_MEM(back->px, img->px, (size_t)50 * 40 * 4);
        CHECK(back->dpi_x == 300 && back->dpi_y == 300);
    }
    img_rgba_free(back);
    back = NULL;
    /* Overwriting is atomic: the old file is replaced whole. */
    img->dpi_x = img->dpi_y = 0;
    CHECK_ERR(img_png_write_file(path, img), IMG_OK);
    CHECK_ERR(img_png_read_file(&back, path, NULL), IMG_OK);
    CHECK(back && back->dpi_x == 0);
    img_rgba_free(back);
    back = NULL;

    img_limits small = IMG_DEFAULT_LIMITS;
    small.max_bytes = 100;
    CHECK_ERR(img_png_read_file(&back, path, &small), IMG_E_LIMIT);
    CHECK_DETAIL("max_bytes");
    CHECK(back == NULL);
    CHECK_ERR(img_png_read_file(&back, missing, NULL), IMG_E_IO);
    CHECK_DETAIL("no/such/dir");
    CHECK_ERR(img_png_write_file(missing, img), IMG_E_IO);
    CHECK_ERR(img_png_read_file(&back, dir, NULL), IMG_E_IO); /* a directory */
    CHECK_ERR(img_png_read_file(NULL, path, NULL), IMG_E_ARG);
    CHECK_ERR(img_png_write_file(NULL, img), IMG_E_ARG);

    /* A corrupt file names the path in the detail. */
    uint8_t junk[] = "GIF89a not a png";
    struct iovec iov = {.iov_base = junk, .iov_len = sizeof junk - 1};
    CHECK_INT(file_write_atomic(path, &iov, 1, 0644), 0);
    CHECK_ERR(img_png_read_file(&back, path, NULL), IMG_E_FORMAT);
    CHECK_DETAIL(path);
    CHECK_DETAIL("not a PNG");

    img_rgba_free(img);
    unlink(path);
    rmdir(dir);
}

static void check_spec(const struct spec *s) {
    uint8_t *png = NULL, *exp = NULL;
    size_t len = 0;
    img_rgba *img = NULL;
    make_png(&png, &len, &exp, s);
    img_err rc = img_png_decode(&img, png, len, NULL);
    if (rc != IMG_OK) {
        fprintf(stderr, "%s: %s: %s\n", s->name, img_strerror(rc), img_errdetail());
        check_failures++;
    } else if (img->width != s->w || img->height != s->h) {
        fprintf(stderr, "%s: decoded as %u x %u\n", s->name, (unsigned)img->width,
                (unsigned)img->height);
        check_failures++;
    } else {
        size_t n = (size_t)s->w * s->h;
        for (size_t i = 0; i < n; i++) {
            if (memcmp(img->px + 4 * i, exp + 4 * i, 4) != 0) {
                const uint8_t *g = img->px + 4 * i, *e = exp + 4 * i;
                fprintf(
                    stderr, "%s: pixel (%zu, %zu) is %02x%02x%02x%02x, expected %02x%02x%02x%02x\n",
                    s->name, i % s->w, i / s->w, g[0], g[1], g[2], g[3], e[0], e[1], e[2], e[3]);
                check_failures++;
                break;
            }
        }
    }
    img_rgba_free(img);
    free(png);
    free(exp);
}

static void test_colour_types(void) {
    enum {
        G = PNG_COLOR_TYPE_GRAY,
        GA = PNG_COLOR_TYPE_GRAY_ALPHA,
        P = PNG_COLOR_TYPE_PALETTE,
        RGB = PNG_COLOR_TYPE_RGB,
        RGBA = PNG_COLOR_TYPE_RGB_ALPHA,
        NI = PNG_INTERLACE_NONE,
        A7 = PNG_INTERLACE_ADAM7
    };
    static const struct spec specs[] = {
        {"grey 1-bit", G, 1, NI, 33, 7, 0, 0, -1, 0, 0},
        {"grey 2-bit", G, 2, NI, 17, 9, 0, 0, -1, 0, 0},
        {"grey 4-bit", G, 4, NI, 31, 5, 0, 0, -1, 0, 0},
        {"grey 8-bit", G, 8, NI, 40, 30, 0, 0, -1, 0, 0},
        {"grey 16-bit", G, 16, NI, 21, 13, 0, 0, -1, 0, 0},
        {"grey 8-bit tRNS", G, 8, NI, 40, 30, 1, 0, -1, 0, 0},
        {"grey 2-bit tRNS", G, 2, NI, 19, 3, 1, 0, -1, 0, 0},
        {"grey 16-bit tRNS", G, 16, NI, 8, 8, 1, 0, -1, 0, 0},
        {"grey+alpha 8-bit", GA, 8, NI, 25, 25, 0, 0, -1, 0, 0},
        {"grey+alpha 16-bit", GA, 16, NI, 25, 25, 0, 0, -1, 0, 0},
        {"palette 1-bit tRNS", P, 1, NI, 29, 4, 1, 0, -1, 0, 0},
        {"palette 2-bit", P, 2, NI, 29, 4, 0, 0, -1, 0, 0},
        {"palette 4-bit tRNS", P, 4, NI, 29, 4, 1, 0, -1, 0, 0},
        {"palette 8-bit tRNS", P, 8, NI, 64, 48, 1, 0, -1, 0, 0},
        {"palette 8-bit", P, 8, NI, 64, 48, 0, 0, -1, 0, 0},
        {"RGB 8-bit", RGB, 8, NI, 45, 20, 0, 0, -1, 0, 0},
        {"RGB 8-bit tRNS", RGB, 8, NI, 45, 20, 1, 0, -1, 0, 0},
        {"RGB 16-bit", RGB, 16, NI, 45, 20, 0, 0, -1, 0, 0},
        {"RGB 16-bit tRNS", RGB, 16, NI, 12, 12, 1, 0, -1, 0, 0},
        {"RGBA 8-bit", RGBA, 8, NI, 45, 20, 0, 0, -1, 0, 0},
        {"RGBA 16-bit", RGBA, 16, NI, 45, 20, 0, 0, -1, 0, 0},
        {"RGBA 8-bit + text, gAMA, private chunk", RGBA, 8, NI, 16, 16, 0, 1, -1, 0, 0},
        /* Adam7 (PNG 8.2), including sizes where some passes are empty. */
        {"interlaced RGBA 8-bit", RGBA, 8, A7, 37, 29, 0, 0, -1, 0, 0},
        {"interlaced RGB 16-bit", RGB, 16, A7, 13, 11, 0, 0, -1, 0, 0},
        {"interlaced grey 2-bit", G, 2, A7, 13, 11, 0, 0, -1, 0, 0},
        {"interlaced grey+alpha 8-bit", GA, 8, A7, 9, 17, 0, 0, -1, 0, 0},
        {"interlaced palette 4-bit tRNS", P, 4, A7, 23, 19, 1, 0, -1, 0, 0},
        {"interlaced 1x1", RGBA, 8, A7, 1, 1, 0, 0, -1, 0, 0},
        {"interlaced 2x1", G, 8, A7, 2, 1, 0, 0, -1, 0, 0},
        {"interlaced 1x5", P, 8, A7, 1, 5, 1, 0, -1, 0, 0},
        {"interlaced 3x3 grey 1-bit", G, 1, A7, 3, 3, 0, 0, -1, 0, 0},
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        check_spec(&specs[i]);
}

static void test_phys(void) {
    struct spec s = {"pHYs", PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE, 4, 4, 0, 0, -1, 0, 0};
    uint8_t *png = NULL, *exp = NULL;
    size_t len = 0;
    img_rgba *img = NULL;

    s.phys_unit = PNG_RESOLUTION_METER; /* 11811 and 5906 px/m: 300 and 150 dpi */
    s.phys_x = 11811;
    s.phys_y = 5906;
    make_png(&png, &len, &exp, &s);
    CHECK_ERR(img_png_decode(&img, png, len, NULL), IMG_OK);
    CHECK(img && img->dpi_x == 300 && img->dpi_y == 150); /* 299.9994, 150.0124 */
    img_rgba_free(img);
    img = NULL;
    free(png);
    free(exp);

    s.phys_x = 3000; /* 76.2 dpi: no whole dpi encodes to 3000 px/m (76: 2992, 77: 3031) */
    s.phys_y = 1;
    make_png(&png, &len, &exp, &s);
    CHECK_ERR(img_png_decode(&img, png, len, NULL), IMG_OK);
    CHECK(img && img->dpi_x == 3000 * 0.0254 && img->dpi_y == 0.0254);
    img_rgba_free(img);
    img = NULL;
    free(png);
    free(exp);

    s.phys_unit = PNG_RESOLUTION_UNKNOWN; /* an aspect ratio only: no dpi */
    make_png(&png, &len, &exp, &s);
    CHECK_ERR(img_png_decode(&img, png, len, NULL), IMG_OK);
    CHECK(img && img->dpi_x == 0 && img->dpi_y == 0);
    img_rgba_free(img);
    free(png);
    free(exp);
}

static void test_not_png(void) {
    img_rgba *img = (img_rgba *)&img;
    static const uint8_t pdf[] = "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n";
    static const uint8_t jpeg[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0};
    static const uint8_t one[] = {'P'};
    /* A PNG with its line-ending bytes mangled by a text-mode transfer (PNG 12.12). */
    static const uint8_t crlf[] = {0x89, 'P', 'N', 'G', 0x0a, 0x1a, 0x0a, 0, 0, 0, 13};

    CHECK_ERR(img_png_decode(&img, (const uint8_t *)"", 0, NULL), IMG_E_FORMAT);
    CHECK_DETAIL("not a PNG");
    CHECK(img == NULL);
    CHECK_ERR(img_png_decode(&img, NULL, 0, NULL), IMG_E_FORMAT);
    CHECK_DETAIL("empty");
    CHECK_ERR(img_png_decode(&img, pdf, sizeof pdf - 1, NULL), IMG_E_FORMAT);
    CHECK_DETAIL("not a PNG");
    CHECK_DETAIL("25 50 44 46");
    CHECK_ERR(img_png_decode(&img, jpeg, sizeof jpeg, NULL), IMG_E_FORMAT);
    CHECK_ERR(img_png_decode(&img, one, sizeof one, NULL), IMG_E_FORMAT);
    CHECK_ERR(img_png_decode(&img, crlf, sizeof crlf, NULL), IMG_E_FORMAT);
    CHECK(img == NULL);
    CHECK_ERR(img_png_decode(&img, NULL, 5, NULL), IMG_E_ARG);
    CHECK_ERR(img_png_decode(NULL, pdf, sizeof pdf - 1, NULL), IMG_E_ARG);
}

static void test_truncated(void) {
    img_rgba *small = noise_image(12, 10, 5), *big = noise_image(300, 200, 6), *img = NULL;
    uint8_t *png = NULL;
    size_t len = 0, bad = 0;

    /* Every possible cut of a small PNG. */
    CHECK_ERR(img_png_encode(&png, &len, small), IMG_OK);
    for (size_t cut = 1; cut < len; cut++) {
        img_err rc = img_png_decode(&img, png, cut, NULL);
        if (rc != IMG_E_CORRUPT || img != NULL || !strstr(img_errdetail(), "truncated")) {
            fprintf(stderr, "cut at %zu of %zu: %s (%s)\n", cut, len, img_strerror(rc),
                    img_errdetail());
            bad++;
        }
        img_rgba_free(img);
        img = NULL;
    }
    CHECK_INT(bad, 0);
    free(png);

    /* Cuts around every chunk boundary of a PNG with many IDAT chunks, and in the middle. */
    CHECK_ERR(img_png_encode(&png, &len, big), IMG_OK);
    CHECK(find_chunk(png, len, "IDAT", 3) != 0);
    for (size_t off = 8; off + 12 <= len; off += 12 + be32(png + off)) {
        size_t cuts[] = {off - 1, off, off + 1, off + 4, off + 8, off + 9, len / 2, len - 1};
        for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
            if (cuts[i] == 0 || cuts[i] >= len)
                continue;
            img_err rc = img_png_decode(&img, png, cuts[i], NULL);
            if (rc != IMG_E_CORRUPT || img != NULL) {
                fprintf(stderr, "cut at %zu of %zu: %s (%s)\n", cuts[i], len, img_strerror(rc),
                        img_errdetail());
                bad++;
            }
            img_rgba_free(img);
            img = NULL;
        }
    }
    CHECK_INT(bad, 0);
    /* The whole file still decodes. */
    CHECK_ERR(img_png_decode(&img, png, len, NULL), IMG_OK);
    img_rgba_free(img);
    free(png);
    img_rgba_free(small);
    img_rgba_free(big);
}

static void test_corrupt(void) {
    img_rgba *src = noise_image(64, 48, 9), *img = NULL;
    uint8_t *png = NULL, *q = NULL;
    size_t len = 0, qlen = 0, bad = 0;
    CHECK_ERR(img_png_encode(&png, &len, src), IMG_OK);
    size_t idat = find_chunk(png, len, "IDAT", 0);
    uint32_t idat_len = be32(png + idat);
    CHECK(idat != 0 && idat_len > 100);
    q = malloc(len);

    /* A flipped byte anywhere in IDAT: libpng inflates a chunk as it reads it, so zlib, the
     * row filters or, at the latest, the chunk's CRC (PNG 13.2) catch it. */
    for (uint32_t i = 0; i < idat_len; i += idat_len / 17 + 1) {
        memcpy(q, png, len);
        q[idat + 8 + i] ^= 0x10;
        img_err rc = img_png_decode(&img, q, len, NULL);
        if (rc != IMG_E_CORRUPT || img != NULL) {
            fprintf(stderr, "IDAT byte %u flipped: %s (%s)\n", (unsigned)i, img_strerror(rc),
                    img_errdetail());
            bad++;
        }
        img_rgba_free(img);
        img = NULL;
    }
    CHECK_INT(bad, 0);
    bad = 0;

    /* The same with the CRC made good again: zlib or libpng must notice the damaged data,
     * including a damaged zlib check value (Adler-32, RFC 1950) at the end of the last IDAT. */
    size_t last = idat;
    for (int n = 1; find_chunk(png, len, "IDAT", n); n++)
        last = find_chunk(png, len, "IDAT", n);
    uint32_t last_len = be32(png + last);
    CHECK(last != idat && last_len > 4);
    for (uint32_t i = 0; i < idat_len + 4; i += i < idat_len ? idat_len / 23 + 1 : 1) {
        /* Spread over the first IDAT, then each byte of the Adler-32. */
        size_t chunk = i < idat_len ? idat : last;
        size_t at = i < idat_len ? i : last_len - 4 + (i - idat_len);
        memcpy(q, png, len);
        q[chunk + 8 + at] ^= 0x01;
        fix_crc(q, chunk);
        img_err rc = img_png_decode(&img, q, len, NULL);
        if (rc != IMG_E_CORRUPT || img != NULL) {
            fprintf(stderr, "IDAT byte %zu flipped, CRC fixed: %s (%s)\n", chunk + 8 + at,
                    img_strerror(rc), img_errdetail());
            bad++;
        }
        img_rgba_free(img);
        img = NULL;
        if (i + 1 == idat_len + 4)
            CHECK_DETAIL("incorrect data check");
    }
    CHECK_INT(bad, 0);

    /* Damage in an ancillary chunk the decoder skips is still corruption. */
    static const uint8_t text[] = "Comment\0hello";
    uint8_t *t = insert_chunk(&qlen, png, len, 33, "tEXt", text, sizeof text - 1, sizeof text - 1);
    CHECK_ERR(img_png_decode(&img, t, qlen, NULL), IMG_OK);
    img_rgba_free(img);
    img = NULL;
    t[33 + 8 + 2] ^= 0x40;
    CHECK_ERR(img_png_decode(&img, t, qlen, NULL), IMG_E_CORRUPT);
    CHECK_DETAIL("CRC");
    free(t);

    /* Damaged IHDR, IEND, chunk order. */
    memcpy(q, png, len);
    q[8 + 8 + 3] ^= 1; /* width, CRC not fixed */
    CHECK_ERR(img_png_decode(&img, q, len, NULL), IMG_E_CORRUPT);
    CHECK_DETAIL("IHDR");
    memcpy(q, png, len);
    q[8 + 8 + 9] = 7; /* colour type 7, CRC fixed */
    fix_crc(q, 8);
    CHECK_ERR(img_png_decode(&img, q, len, NULL), IMG_E_CORRUPT);
    memcpy(q, png, len);
    q[8 + 8 + 8] = 3; /* RGBA at 3 bits, CRC fixed */
    fix_crc(q, 8);
    CHECK_ERR(img_png_decode(&img, q, len, NULL), IMG_E_CORRUPT);
    memcpy(q, png, len);
    memcpy(q + 12, "IHDX", 4);
    CHECK_ERR(img_png_decode(&img, q, len, NULL), IMG_E_CORRUPT);
    CHECK_DETAIL("IHDR");
    memcpy(q, png, len);
    q[len - 1] ^= 0xff; /* IEND's CRC */
    CHECK_ERR(img_png_decode(&img, q, len, NULL), IMG_E_CORRUPT);
    uint8_t zero[33];
    make_header(zero, 0, 10);
    CHECK_ERR(img_png_decode(&img, zero, sizeof zero, NULL), IMG_E_CORRUPT);
    make_header(zero, 0x80000000u, 10);
    CHECK_ERR(img_png_decode(&img, zero, sizeof zero, NULL), IMG_E_CORRUPT);
    CHECK(img == NULL);

    /* A chunk that declares more data than the file holds is truncation, not a limit. */
    t = insert_chunk(&qlen, png, len, 33, "zTXt", text, 0x10000000u, 13);
    CHECK_ERR(img_png_decode(&img, t, qlen, NULL), IMG_E_CORRUPT);
    CHECK_DETAIL("truncated");
    free(t);
    /* An IDAT chunk length over 2^31 - 1 (PNG 5.3). */
    memcpy(q, png, len);
    put_be32(q + idat, 0x80000010u);
    CHECK_ERR(img_png_decode(&img, q, len, NULL), IMG_E_CORRUPT);
    CHECK(img == NULL);

    free(q);
    free(png);
    img_rgba_free(src);
}

static void test_limits(void) {
    img_rgba *img = NULL;
    uint8_t head[33];
    img_limits lim;

    /* IHDR claims 100000 x 100000 (40 GB of RGBA): refused from the header alone. Nothing
     * follows the IHDR, so a decoder that went on to allocate or read would report CORRUPT. */
    make_header(head, 100000, 100000);
    CHECK_ERR(img_png_decode(&img, head, sizeof head, NULL), IMG_E_LIMIT);
    CHECK_DETAIL("width 100000");
    CHECK_DETAIL("20000");
    CHECK_DETAIL("max_width");
    CHECK(img == NULL);
    make_header(head, 100, 100000);
    CHECK_ERR(img_png_decode(&img, head, sizeof head, NULL), IMG_E_LIMIT);
    CHECK_DETAIL("height 100000");
    CHECK_DETAIL("max_height");
    make_header(head, 20000, 20000); /* each side allowed, 400 Mpx is not */
    CHECK_ERR(img_png_decode(&img, head, sizeof head, NULL), IMG_E_LIMIT);
    CHECK_DETAIL("400000000");
    CHECK_DETAIL("max_pixels");
    /* 65536 x 65536 is 2^32 pixels: 0 in 32-bit arithmetic. */
    make_header(head, 65536, 65536);
    lim.max_bytes = 1000;
    lim.max_width = lim.max_height = 100000;
    lim.max_pixels = 1000;
    CHECK_ERR(img_png_decode(&img, head, sizeof head, &lim), IMG_E_LIMIT);
    CHECK_DETAIL("4294967296 pixels");
    CHECK(img == NULL);

    /* Each limit on a real image, and exactly at the limit. */
    img_rgba *src = noise_image(64, 48, 11);
    uint8_t *png = NULL;
    size_t len = 0;
    CHECK_ERR(img_png_encode(&png, &len, src), IMG_OK);
    lim.max_bytes = len;
    lim.max_width = 64;
    lim.max_height = 48;
    lim.max_pixels = 64 * 48;
    CHECK_ERR(img_png_decode(&img, png, len, &lim), IMG_OK);
    img_rgba_free(img);
    img = NULL;
    lim.max_bytes = len - 1;
    CHECK_ERR(img_png_decode(&img, png, len, &lim), IMG_E_LIMIT);
    CHECK_DETAIL("max_bytes");
    lim.max_bytes = len;
    lim.max_width = 63;
    CHECK_ERR(img_png_decode(&img, png, len, &lim), IMG_E_LIMIT);
    CHECK_DETAIL("width 64");
    lim.max_width = 64;
    lim.max_height = 47;
    CHECK_ERR(img_png_decode(&img, png, len, &lim), IMG_E_LIMIT);
    CHECK_DETAIL("height 48");
    lim.max_height = 48;
    lim.max_pixels = 64 * 48 - 1;
    CHECK_ERR(img_png_decode(&img, png, len, &lim), IMG_E_LIMIT);
    CHECK_DETAIL("3072 pixels");
    CHECK(img == NULL);

    /* Ancillary chunks up to png_set_chunk_malloc_max (8 MiB, above libpng's default of
     * 8000000), all of them present; the decoder skips their content. */
    size_t n = ((size_t)8 << 20) + 1, qlen = 0;
    uint8_t *text = malloc(n);
    if (text) {
        memset(text, 'a', n);
        memcpy(text, "Comment", 8);
        uint8_t *q = insert_chunk(&qlen, png, len, 33, "tEXt", text, (uint32_t)n, n);
        CHECK_ERR(img_png_decode(&img, q, qlen, NULL), IMG_E_LIMIT);
        CHECK_DETAIL("8388609 bytes");
        free(q);
        q = insert_chunk(&qlen, png, len, 33, "tEXt", text, (uint32_t)n - 1, n - 1);
        CHECK_ERR(img_png_decode(&img, q, qlen, NULL), IMG_OK);
        img_rgba_free(img);
        img = NULL;
        free(q);
        free(text);
    }
    free(png);
    img_rgba_free(src);
}

/* The detail is per thread: an error in one thread does not change another's. */
static int thread_fail(void *arg) {
    img_rgba *img = NULL;
    (void)arg;
    return img_png_decode(&img, (const uint8_t *)"GIF89a", 6, NULL) == IMG_E_FORMAT &&
           strstr(img_errdetail(), "47 49 46") != NULL;
}

static void test_thread_detail(void) {
    img_rgba *img = NULL;
    uint8_t head[33];
    thrd_t t;
    int ok = 0;
    make_header(head, 100000, 1);
    CHECK_ERR(img_png_decode(&img, head, sizeof head, NULL), IMG_E_LIMIT);
    CHECK(thrd_create(&t, thread_fail, NULL) == thrd_success);
    CHECK(thrd_join(t, &ok) == thrd_success);
    CHECK(ok == 1);
    CHECK_DETAIL("width 100000");
}

/* ---- The corpus ----------------------------------------------------------------------------- */

static const char *corpus_dir(void) {
    const char *d = getenv("ESEAL_CORPUS");
    return d && *d ? d : "/work/shared/corpus";
}

static void check_scan(const char *dir, const char *file, const char *size, const char *colour) {
    char path[1024];
    unsigned w = 0, h = 0;
    img_rgba *img = NULL;
    snprintf(path, sizeof path, "%s/scans/%s", dir, file);
    img_err rc = img_png_read_file(&img, path, NULL);
    if (rc != IMG_OK) {
        fprintf(stderr, "%s: %s: %s\n", path, img_strerror(rc), img_errdetail());
        check_failures++;
        return;
    }
    CHECK(sscanf(size, "%ux%u", &w, &h) == 2);
    CHECK_INT(img->width, w);
    CHECK_INT(img->height, h);
    CHECK(img->dpi_x == 0 && img->dpi_y == 0); /* these files carry no pHYs */
    size_t n = (size_t)img->width * img->height, opaque = 0, red = 0, white = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = img->px + 4 * i;
        opaque += p[3] == 255;
        red += p[0] > 140 && p[1] < 110 && p[2] < 110;
        white += p[0] > 200 && p[1] > 200 && p[2] > 200;
    }
    CHECK_INT(opaque, n); /* RGB: alpha added opaque */
    CHECK(white > n / 2); /* paper */
    if (strstr(colour, "red"))
        CHECK(red > 1000); /* seal ink: channels in RGB order */
    printf("  %s: %ux%u, %zu red pixels\n", file, (unsigned)img->width, (unsigned)img->height, red);
    img_rgba_free(img);
}

static void test_corpus(void) {
    const char *dir = corpus_dir();
    char path[1024];
    uint8_t *man = NULL;
    size_t len = 0, scans = 0;
    img_rgba *img = NULL;

    snprintf(path, sizeof path, "%s/scans/MANIFEST.tsv", dir);
    if (file_read_all(&man, &len, path, 1 << 20) != 0) {
        printf("test_png: SKIP corpus tests: cannot read %s (set ESEAL_CORPUS)\n", path);
        return;
    }
    /* Columns: file, dpi, size_px, format, ..., seal_colour (10th). */
    char *text = realloc(man, len + 1);
    if (!text) {
        free(man);
        check_failures++;
        return;
    }
    text[len] = '\0';
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *col[16] = {0};
        int ncol = 0;
        for (char *p = line; p && ncol < 16;) {
            col[ncol++] = p;
            p = strchr(p, '\t');
            if (p)
                *p++ = '\0';
        }
        if (ncol < 10 || strcmp(col[0], "file") == 0)
            continue;
        size_t fl = strlen(col[0]);
        if (fl > 4 && strcmp(col[0] + fl - 4, ".png") == 0) {
            check_scan(dir, col[0], col[2], col[9]);
            scans++;
        } else {
            /* JPEG scans: real files that are not PNGs. */
            snprintf(path, sizeof path, "%s/scans/%s", dir, col[0]);
            CHECK_ERR(img_png_read_file(&img, path, NULL), IMG_E_FORMAT);
            CHECK_DETAIL("not a PNG");
            CHECK_DETAIL("ff d8 ff");
        }
    }
    free(text);
    CHECK(scans >= 2);

    /* A PNG renamed .pdf: decoded by content; pHYs 2362 px/m is 60 dpi (59.9948). */
    snprintf(path, sizeof path, "%s/inputs/p26_bad_png_renamed.pdf", dir);
    CHECK_ERR(img_png_read_file(&img, path, NULL), IMG_OK);
    if (img) {
        CHECK_INT(img->width, 497);
        CHECK_INT(img->height, 702);
        CHECK(img->dpi_x == 60 && img->dpi_y == 60);
        /* A real file, truncated and with a flipped IDAT byte. */
        uint8_t *data = NULL;
        size_t dlen = 0;
        CHECK_INT(file_read_all(&data, &dlen, path, (size_t)64 << 20), 0);
        if (data) {
            img_rgba *again = NULL;
            size_t cuts[] = {dlen / 3, dlen / 2, dlen - 12, dlen - 1};
            for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
                CHECK_ERR(img_png_decode(&again, data, cuts[i], NULL), IMG_E_CORRUPT);
            size_t idat = find_chunk(data, dlen, "IDAT", 0);
            CHECK(idat != 0);
            data[idat + 8 + be32(data + idat) / 2] ^= 0x80;
            CHECK_ERR(img_png_decode(&again, data, dlen, NULL), IMG_E_CORRUPT);
            CHECK(again == NULL);
            free(data);
        }
    }
    img_rgba_free(img);
    img = NULL;

    /* PDFs are not PNGs, including a truncated and an empty one. */
    const char *pdfs[] = {"p01_licence_lo.pdf", "p25_bad_truncated_60pct.pdf",
                          "p24_bad_zero_length.pdf"};
    for (size_t i = 0; i < sizeof pdfs / sizeof pdfs[0]; i++) {
        snprintf(path, sizeof path, "%s/inputs/%s", dir, pdfs[i]);
        if (access(path, R_OK) == 0)
            CHECK_ERR(img_png_read_file(&img, path, NULL), IMG_E_FORMAT);
    }
    CHECK(img == NULL);
}

int main(void) {
    test_rgba_new();
    test_roundtrip();
    test_files();
    test_colour_types();
    test_phys();
    test_not_png();
    test_truncated();
    test_corrupt();
    test_limits();
    test_thread_detail();
    test_corpus();
    return check_report("test_png");
}
