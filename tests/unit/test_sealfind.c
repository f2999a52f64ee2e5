/* Seals on scans (imaging/sealfind.c, sealextract.c) and the JPEG decoder under them
 * (imaging/jpeg.c, decode.c).
 *
 * JPEG: test files of every colour space are written here with libjpeg itself (grey, YCbCr,
 * RGB, CMYK with and without Adobe's marker, YCCK, progressive), then damaged: truncated,
 * bytes changed, sizes over the limits, a scan script too long. Negative tests check the exact
 * img_err.
 *
 * Seals: the scanned letters of the corpus (ESEAL_CORPUS; skipped with a message when unset)
 * against their MANIFEST.tsv, with the acceptance criterion (centre within 2% of the
 * page width, diameter within 5%), and synthetic pages drawn here to show the search is built
 * for the class of input rather than for those samples: seals of several sizes in random
 * places at 150, 300 and 600 dpi through JPEG, paper with lighting falloff and noise, a
 * rotated page, red printed text and a red logo that are not seals, black handwriting across
 * a seal, tilted, blue, purple, faint and paired seals. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime, strtok_r; CMake defines it for the build */
#endif

#include "imaging/image.h"
#include "imaging/seal.h"

#include "base/fileio.h"
#include "tests/unit/check.h"

#include <jpeglib.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

#define PI 3.14159265358979323846
#define MM_PER_INCH 25.4

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A small reproducible generator (xorshift64*). */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static void rng_seed(uint64_t s) {
    rng_state = s * 0x9E3779B97F4A7C15u + 0x2545F4914F6CDD1Du;
    if (!rng_state)
        rng_state = 1;
}
static uint64_t rng_next(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Du;
}
static double rng_unit(void) {
    return (double)(rng_next() >> 11) / 9007199254740992.0;
}
static double rng_range(double lo, double hi) {
    return lo + (hi - lo) * rng_unit();
}

/* ---- Writing test JPEGs with libjpeg -------------------------------------------------------- */

struct jpeg_spec {
    int w, h, comps;
    J_COLOR_SPACE in, store; /* what the pixels are, and how the file stores them */
    int quality;
    int progressive;
    int adobe;        /* -1: libjpeg's default, 0: no Adobe marker, 1: one */
    int density_unit; /* JFIF: 0 none, 1 dpi, 2 dpcm */
    int density;
    const jpeg_scan_info *scans;
    int nscans;
};

static void test_jpeg_error(j_common_ptr cinfo) {
    char msg[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, msg);
    fprintf(stderr, "test_sealfind: libjpeg failed writing a test image: %s\n", msg);
    exit(2);
}

/* Encodes px (comps bytes per pixel) as s says; the caller frees the result with free(). */
static uint8_t *make_jpeg(size_t *len, uint8_t *px, const struct jpeg_spec *s) {
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    unsigned char *mem = NULL;
    unsigned long size = 0;
    ci.err = jpeg_std_error(&jerr);
    jerr.error_exit = test_jpeg_error;
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, &mem, &size);
    ci.image_width = (JDIMENSION)s->w;
    ci.image_height = (JDIMENSION)s->h;
    ci.input_components = s->comps;
    ci.in_color_space = s->in;
    jpeg_set_defaults(&ci);
    if (s->store != ci.jpeg_color_space)
        jpeg_set_colorspace(&ci, s->store);
    if (s->adobe >= 0)
        ci.write_Adobe_marker = s->adobe ? TRUE : FALSE;
    jpeg_set_quality(&ci, s->quality, TRUE);
    if (s->density_unit) {
        ci.write_JFIF_header = TRUE;
        ci.density_unit = (UINT8)s->density_unit;
        ci.X_density = (UINT16)s->density;
        ci.Y_density = (UINT16)s->density;
    }
    if (s->progressive)
        jpeg_simple_progression(&ci);
    if (s->scans) {
        ci.scan_info = s->scans;
        ci.num_scans = s->nscans;
    }
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = px + (size_t)ci.next_scanline * s->w * s->comps;
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    *len = size;
    return mem;
}

/* An RGBA image as a 4:2:0 JFIF JPEG at quality q and back through img_jpeg_decode. */
static img_rgba *jpeg_roundtrip(const img_rgba *img, int q) {
    size_t n = (size_t)img->width * img->height, len = 0;
    uint8_t *rgb = malloc(n * 3), *jpg;
    img_rgba *back = NULL;
    struct jpeg_spec s = {(int)img->width,
                          (int)img->height,
                          3,
                          JCS_RGB,
                          JCS_YCbCr,
                          q,
                          0,
                          -1,
                          1,
                          (int)lround(img->dpi_x),
                          NULL,
                          0};
    if (!rgb)
        return NULL;
    for (size_t i = 0; i < n; i++)
        memcpy(rgb + 3 * i, img->px + 4 * i, 3);
    jpg = make_jpeg(&len, rgb, &s);
    CHECK_ERR(img_jpeg_decode(&back, jpg, len, NULL), IMG_OK);
    free(rgb);
    free(jpg);
    return back;
}

/* The pixel at (x, y) is within tol of (r, g, b) in every channel, alpha 255. */
static int near_rgb(const img_rgba *img, uint32_t x, uint32_t y, int r, int g, int b, int tol) {
    const uint8_t *p = img->px + ((size_t)y * img->width + x) * 4;
    int ok = abs(p[0] - r) <= tol && abs(p[1] - g) <= tol && abs(p[2] - b) <= tol && p[3] == 255;
    if (!ok)
        fprintf(stderr, "pixel (%u,%u) is %d,%d,%d,%d, expected %d,%d,%d (+-%d)\n", x, y, p[0],
                p[1], p[2], p[3], r, g, b, tol);
    return ok;
}

/* Four 16 x 16 patches in a row, comps bytes each. */
static uint8_t *patches(int comps, const uint8_t colours[4][4]) {
    uint8_t *px = malloc((size_t)64 * 16 * comps);
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 64; x++)
            memcpy(px + ((size_t)y * 64 + x) * comps, colours[x / 16], (size_t)comps);
    return px;
}

static void test_jpeg_colour_spaces(void) {
    /* YCbCr (JFIF) from RGB, with the resolution in dots per inch, then per cm */
    static const uint8_t rgb[4][4] = {{200, 30, 40}, {20, 60, 200}, {250, 250, 250}, {0, 0, 0}};
    uint8_t *px = patches(3, rgb), *jpg;
    size_t len;
    img_rgba *img = NULL;
    struct jpeg_spec s = {64, 16, 3, JCS_RGB, JCS_YCbCr, 95, 0, -1, 1, 300, NULL, 0};
    jpg = make_jpeg(&len, px, &s);
    CHECK_ERR(img_jpeg_decode(&img, jpg, len, NULL), IMG_OK);
    if (img) {
        CHECK_INT(img->width, 64);
        CHECK_INT(img->height, 16);
        CHECK(img->dpi_x == 300 && img->dpi_y == 300);
        for (int i = 0; i < 4; i++)
            CHECK(near_rgb(img, 16 * i + 8, 8, rgb[i][0], rgb[i][1], rgb[i][2], 8));
    }
    img_rgba_free(img);
    free(jpg);
    s.density_unit = 2;
    s.density = 118; /* dots per cm: 299.72 dpi */
    jpg = make_jpeg(&len, px, &s);
    CHECK_ERR(img_decode(&img, jpg, len, NULL), IMG_OK); /* by content */
    if (img)
        CHECK(fabs(img->dpi_x - 118 * 2.54) < 1e-9);
    img_rgba_free(img);
    free(jpg);
    /* unit 0: an aspect ratio, no resolution */
    s.density_unit = 0;
    jpg = make_jpeg(&len, px, &s);
    CHECK_ERR(img_jpeg_decode(&img, jpg, len, NULL), IMG_OK);
    if (img)
        CHECK(img->dpi_x == 0 && img->dpi_y == 0);
    img_rgba_free(img);
    free(jpg);
    /* stored as RGB (Adobe transform 0), and progressive */
    s.store = JCS_RGB;
    s.progressive = 1;
    jpg = make_jpeg(&len, px, &s);
    CHECK_ERR(img_jpeg_decode(&img, jpg, len, NULL), IMG_OK);
    if (img)
        for (int i = 0; i < 4; i++)
            CHECK(near_rgb(img, 16 * i + 8, 8, rgb[i][0], rgb[i][1], rgb[i][2], 8));
    img_rgba_free(img);
    free(jpg);
    free(px);

    /* grey */
    {
        static const uint8_t grey[4][4] = {{0}, {90}, {180}, {255}};
        struct jpeg_spec g = {64, 16, 1, JCS_GRAYSCALE, JCS_GRAYSCALE, 95, 0, -1, 0, 0, NULL, 0};
        px = patches(1, grey);
        jpg = make_jpeg(&len, px, &g);
        CHECK_ERR(img_jpeg_decode(&img, jpg, len, NULL), IMG_OK);
        if (img)
            for (int i = 0; i < 4; i++)
                CHECK(near_rgb(img, 16 * i + 8, 8, grey[i][0], grey[i][0], grey[i][0], 4));
        img_rgba_free(img);
        free(jpg);
        free(px);
    }

    /* CMYK. Adobe's convention (its APP14 marker; libjpeg writes one for CMYK by default)
     * stores the inks inverted, 255 = no ink; without the marker 0 = no ink. Red is full
     * magenta and yellow; the last patch is half black. */
    {
        static const uint8_t inv[4][4] = {
            {255, 0, 0, 255}, {0, 255, 255, 255}, {255, 255, 255, 0}, {255, 255, 255, 127}};
        static const uint8_t plain[4][4] = {
            {0, 255, 255, 0}, {255, 0, 0, 0}, {0, 0, 0, 255}, {0, 0, 0, 128}};
        static const int want[4][3] = {{255, 0, 0}, {0, 255, 255}, {0, 0, 0}, {127, 127, 127}};
        struct jpeg_spec c = {64, 16, 4, JCS_CMYK, JCS_CMYK, 95, 0, 1, 0, 0, NULL, 0};
        px = patches(4, inv);
        jpg = make_jpeg(&len, px, &c);
        CHECK_ERR(img_jpeg_decode(&img, jpg, len, NULL), IMG_OK);
        if (img)
            for (int i = 0; i < 4; i++)
                CHECK(near_rgb(img, 16 * i + 8, 8, want[i][0], want[i][1], want[i][2], 6));
        img_rgba_free(img);
        free(jpg);
        /* YCCK: Adobe's, always inverted */
        c.store = JCS_YCCK;
        jpg = make_jpeg(&len, px, &c);
        CHECK_ERR(img_jpeg_decode(&img, jpg, len, NULL), IMG_OK);
        if (img)
            for (int i = 0; i < 4; i++)
                CHECK(near_rgb(img, 16 * i + 8, 8, want[i][0], want[i][1], want[i][2], 8));
        img_rgba_free(img);
        free(jpg);
        free(px);
        /* plain CMYK, no Adobe marker */
        c.store = JCS_CMYK;
        c.adobe = 0;
        px = patches(4, plain);
        jpg = make_jpeg(&len, px, &c);
        CHECK_ERR(img_jpeg_decode(&img, jpg, len, NULL), IMG_OK);
        if (img)
            for (int i = 0; i < 4; i++)
                CHECK(near_rgb(img, 16 * i + 8, 8, want[i][0], want[i][1], want[i][2], 6));
        img_rgba_free(img);
        free(jpg);
        free(px);
    }
}

/* A valid 64 x 48 baseline JPEG of a gradient. */
static uint8_t *gradient_jpeg(size_t *len, int progressive) {
    uint8_t *px = malloc(64 * 48 * 3), *jpg;
    struct jpeg_spec s = {64, 48, 3, JCS_RGB, JCS_YCbCr, 85, progressive, -1, 1, 150, NULL, 0};
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 64; x++) {
            uint8_t *p = px + (y * 64 + x) * 3;
            p[0] = (uint8_t)(x * 4);
            p[1] = (uint8_t)(y * 5);
            p[2] = (uint8_t)((x * y) & 255);
        }
    jpg = make_jpeg(len, px, &s);
    free(px);
    return jpg;
}

/* The offset of the frame header (SOF0 or SOF2) in a JPEG: its height is at +5, width +7. */
static size_t find_sof(const uint8_t *d, size_t len) {
    for (size_t i = 2; i + 9 < len; i++)
        if (d[i] == 0xFF && (d[i + 1] == 0xC0 || d[i + 1] == 0xC2))
            return i;
    return 0;
}

static void test_jpeg_damage(void) {
    size_t len = 0, sof;
    uint8_t *jpg = gradient_jpeg(&len, 0), *bad = malloc(len);
    img_rgba *img = NULL;
    img_limits lim = IMG_DEFAULT_LIMITS;

    CHECK_ERR(img_jpeg_decode(&img, jpg, len, NULL), IMG_OK);
    img_rgba_free(img);

    /* truncated: anywhere after SOI */
    CHECK_ERR(img_jpeg_decode(&img, jpg, len / 2, NULL), IMG_E_CORRUPT);
    CHECK(img == NULL);
    CHECK_DETAIL("Premature end");
    CHECK_ERR(img_jpeg_decode(&img, jpg, len - 2, NULL), IMG_E_CORRUPT); /* EOI cut off */
    CHECK_ERR(img_jpeg_decode(&img, jpg, 40, NULL), IMG_E_CORRUPT);      /* in the header */
    CHECK_ERR(img_jpeg_decode(&img, jpg, 2, NULL), IMG_E_CORRUPT);       /* SOI only */
    CHECK_ERR(img_decode(&img, jpg, len / 3, NULL), IMG_E_CORRUPT);
    {
        size_t plen = 0;
        uint8_t *prog = gradient_jpeg(&plen, 1);
        CHECK_ERR(img_jpeg_decode(&img, prog, plen, NULL), IMG_OK);
        img_rgba_free(img);
        CHECK_ERR(img_jpeg_decode(&img, prog, plen * 2 / 3, NULL), IMG_E_CORRUPT);
        free(prog);
    }

    /* bytes changed: refused as corrupt, or decoded (JPEG has no checksum), never a crash */
    for (int seed = 0; seed < 300; seed++) {
        img_err rc;
        rng_seed((uint64_t)seed + 1000);
        memcpy(bad, jpg, len);
        for (int k = 0; k < 1 + seed % 8; k++) {
            size_t at = 2 + (size_t)(rng_next() % (len - 2));
            bad[at] = (uint8_t)rng_next();
        }
        rc = img_jpeg_decode(&img, bad, len, NULL);
        CHECK(rc == IMG_OK || rc == IMG_E_CORRUPT || rc == IMG_E_UNSUPPORTED || rc == IMG_E_LIMIT);
        CHECK((rc == IMG_OK) == (img != NULL));
        img_rgba_free(img);
        img = NULL;
    }

    /* sizes over the limits, refused from the header before anything is allocated for it (a
     * JPEG's frame header holds 16-bit sizes, so 65535 is the most it can claim) */
    sof = find_sof(jpg, len);
    CHECK(sof != 0);
    memcpy(bad, jpg, len);
    bad[sof + 5] = 0xFD; /* 65000 x 65000 */
    bad[sof + 6] = 0xE8;
    bad[sof + 7] = 0xFD;
    bad[sof + 8] = 0xE8;
    CHECK_ERR(img_jpeg_decode(&img, bad, len, NULL), IMG_E_LIMIT);
    CHECK_DETAIL("65000");
    bad[sof + 5] = bad[sof + 6] = bad[sof + 7] = bad[sof + 8] = 0xFF; /* 65535: libjpeg's limit */
    CHECK_ERR(img_jpeg_decode(&img, bad, len, NULL), IMG_E_LIMIT);
    bad[sof + 5] = 0x4E; /* 20000 high, 65535 wide: the pixel limit */
    bad[sof + 6] = 0x20;
    bad[sof + 7] = 0x4E;
    bad[sof + 8] = 0x20;
    lim.max_pixels = 1000000;
    CHECK_ERR(img_jpeg_decode(&img, bad, len, &lim), IMG_E_LIMIT);
    CHECK_DETAIL("max_pixels");
    lim = IMG_DEFAULT_LIMITS;
    lim.max_width = 63;
    CHECK_ERR(img_jpeg_decode(&img, jpg, len, &lim), IMG_E_LIMIT);
    CHECK_DETAIL("max_width");
    lim = IMG_DEFAULT_LIMITS;
    lim.max_bytes = len - 1;
    CHECK_ERR(img_jpeg_decode(&img, jpg, len, &lim), IMG_E_LIMIT);
    CHECK_DETAIL("max_bytes");
    CHECK_ERR(img_decode(&img, jpg, len, &lim), IMG_E_LIMIT);

    /* not JPEG */
    CHECK_ERR(img_jpeg_decode(&img, (const uint8_t *)"\x89PNG\r\n\x1a\n", 8, NULL), IMG_E_FORMAT);
    CHECK_ERR(img_jpeg_decode(&img, (const uint8_t *)"", 0, NULL), IMG_E_FORMAT);
    CHECK_ERR(img_decode(&img, (const uint8_t *)"%PDF-1.7\n", 9, NULL), IMG_E_FORMAT);
    CHECK_DETAIL("PDF");
    CHECK_ERR(img_decode(&img, (const uint8_t *)"GIF89a\1\0\1\0", 10, NULL), IMG_E_FORMAT);
    CHECK_DETAIL("GIF");
    CHECK_ERR(img_decode(&img,
                         (const uint8_t *)"\0\0\0\x18"
                                          "ftypheic",
                         12, NULL),
              IMG_E_FORMAT);
    CHECK_DETAIL("HEIF");
    CHECK_ERR(img_decode(&img, (const uint8_t *)"hello, world", 12, NULL), IMG_E_FORMAT);
    CHECK_DETAIL("68 65 6c 6c");
    CHECK_ERR(img_decode(NULL, jpg, len, NULL), IMG_E_ARG);
    CHECK_ERR(img_read_file(&img, "/nonexistent/scan.jpg", NULL), IMG_E_IO);
    CHECK_DETAIL("/nonexistent/scan.jpg");
    free(bad);
    free(jpg);
}

/* A progressive file of 694 scans (each AC coefficient alone, refined bit by bit: a valid
 * scan script, T.81 G.1.1.1) is refused: every scan re-reads the coefficient buffer. */
static void test_jpeg_scan_limit(void) {
    enum { NS = 1 + 63 * 11 };
    jpeg_scan_info *scans = calloc(NS, sizeof *scans);
    uint8_t px[16 * 16];
    struct jpeg_spec s = {16, 16, 1, JCS_GRAYSCALE, JCS_GRAYSCALE, 90, 1, -1, 0, 0, NULL, 0};
    size_t len = 0, n = 0;
    uint8_t *jpg;
    img_rgba *img = NULL;
    for (int i = 0; i < 256; i++)
        px[i] = (uint8_t)(i * 7);
    scans[n].comps_in_scan = 1; /* DC */
    n++;
    for (int k = 1; k < 64; k++, n++) {
        scans[n].comps_in_scan = 1;
        scans[n].Ss = scans[n].Se = k;
        scans[n].Al = 10;
    }
    for (int al = 9; al >= 0; al--)
        for (int k = 1; k < 64; k++, n++) {
            scans[n].comps_in_scan = 1;
            scans[n].Ss = scans[n].Se = k;
            scans[n].Ah = al + 1;
            scans[n].Al = al;
        }
    s.scans = scans;
    s.nscans = (int)n;
    jpg = make_jpeg(&len, px, &s);
    CHECK_ERR(img_jpeg_decode(&img, jpg, len, NULL), IMG_E_LIMIT);
    CHECK_DETAIL("scans");
    free(jpg);
    free(scans);
}

/* ---- Synthetic scans ------------------------------------------------------------------------ */

/* A page being drawn: shapes are given in millimetres on the page; the scan may see the page
 * rotated by rot degrees about its centre (and the scanner's dark lid where it does not). */
struct page {
    img_rgba *img;
    double dpi, rot;
    double ca, sa; /* cos and sin of rot */
};

/* Page millimetres at scan pixel (x, y). */
static void to_page(const struct page *pg, double x, double y, double *u, double *v) {
    double k = MM_PER_INCH / pg->dpi, cx = pg->img->width / 2.0, cy = pg->img->height / 2.0;
    double dx = x - cx, dy = y - cy;
    *u = (pg->ca * dx + pg->sa * dy + cx) * k;
    *v = (-pg->sa * dx + pg->ca * dy + cy) * k;
}

/* Scan pixel of page millimetres (u, v). */
static void to_scan(const struct page *pg, double u, double v, double *x, double *y) {
    double k = pg->dpi / MM_PER_INCH, cx = pg->img->width / 2.0, cy = pg->img->height / 2.0;
    double dx = u * k - cx, dy = v * k - cy;
    *x = pg->ca * dx - pg->sa * dy + cx;
    *y = pg->sa * dx + pg->ca * dy + cy;
}

/* Paper of colour paper[] (NULL: cream), darker towards the edges (a scanner's lighting
 * falloff), noisy. */
static struct page new_page_on(double dpi, double rot, int landscape, uint64_t seed,
                               const double *paper) {
    static const double cream[3] = {246, 241, 228};
    struct page pg = {NULL, dpi, rot, cos(rot * PI / 180), sin(rot * PI / 180)};
    uint32_t w = (uint32_t)lround(210 / MM_PER_INCH * dpi),
             h = (uint32_t)lround(297 / MM_PER_INCH * dpi);
    if (landscape) {
        uint32_t t = w;
        w = h;
        h = t;
    }
    CHECK_ERR(img_rgba_new(&pg.img, w, h), IMG_OK);
    pg.img->dpi_x = pg.img->dpi_y = dpi;
    rng_seed(seed);
    if (!paper)
        paper = cream;
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            uint8_t *p = pg.img->px + ((size_t)y * w + x) * 4;
            uint64_t r = rng_next(); /* 16 bits of noise per channel */
            double u = 0, v = 0, ex = (x - w / 2.0) / (w / 2.0), ey = (y - h / 2.0) / (h / 2.0);
            double fall = 1 - 0.10 * (ex * ex + ey * ey) - 0.05 * ex;
            int on = 1;
            if (rot != 0) {
                to_page(&pg, x, y, &u, &v);
                on = u >= 0 && v >= 0 && u < w * MM_PER_INCH / dpi && v < h * MM_PER_INCH / dpi;
            }
            for (int c = 0; c < 3; c++) {
                /* triangular noise of +-10 */
                double n =
                    ((double)(r >> (16 * c) & 255) + (double)(r >> (16 * c + 8) & 255) - 255) * 10 /
                    255;
                double val = on ? paper[c] * fall + n : 60 + n;
                p[c] = (uint8_t)(val < 0 ? 0 : val > 255 ? 255 : val);
            }
            p[3] = 255;
        }
    }
    return pg;
}

static struct page new_page(double dpi, double rot, int landscape, uint64_t seed) {
    return new_page_on(dpi, rot, landscape, seed, NULL);
}

/* Shapes: how much of a page point is inked (0 or 1), tested at 3 x 3 points per pixel. */
typedef int (*inside_fn)(const void *shape, double u, double v);

/* Inks the pixels whose page points are inside the shape (within the page-millimetre box
 * u0..u1, v0..v1): multiplied in, as ink absorbs light, with opacity alpha. patchy > 0 leaves
 * random gaps in blocks of that many millimetres (a stamp short of ink). */
static void paint(struct page *pg, const void *shape, inside_fn in, double u0, double v0, double u1,
                  double v1, const uint8_t ink[3], double alpha, double patchy) {
    double xs[4], ys[4], x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9;
    double us[4] = {u0, u1, u0, u1}, vs[4] = {v0, v0, v1, v1};
    for (int i = 0; i < 4; i++) {
        to_scan(pg, us[i], vs[i], &xs[i], &ys[i]);
        x0 = fmin(x0, xs[i]);
        y0 = fmin(y0, ys[i]);
        x1 = fmax(x1, xs[i]);
        y1 = fmax(y1, ys[i]);
    }
    for (long y = (long)fmax(0, floor(y0)); y <= (long)fmin(pg->img->height - 1, ceil(y1)); y++) {
        for (long x = (long)fmax(0, floor(x0)); x <= (long)fmin(pg->img->width - 1, ceil(x1));
             x++) {
            int hits = 0;
            double a, u, v;
            uint8_t *p;
            for (int sy = 0; sy < 3; sy++)
                for (int sx = 0; sx < 3; sx++) {
                    to_page(pg, x - 1 / 3.0 + sx / 3.0, y - 1 / 3.0 + sy / 3.0, &u, &v);
                    hits += in(shape, u, v);
                }
            if (!hits)
                continue;
            a = alpha * hits / 9.0;
            if (patchy > 0) {
                /* a fixed pseudo-random field of blocks, some with no ink, some with little */
                to_page(pg, x, y, &u, &v);
                uint64_t h = (uint64_t)(long)floor(u / patchy) * 0x9E3779B97F4A7C15u ^
                             (uint64_t)(long)floor(v / patchy) * 0xC2B2AE3D27D4EB4Fu;
                h ^= h >> 29;
                h *= 0xBF58476D1CE4E5B9u;
                h ^= h >> 32;
                a *= (h % 100) < 35 ? 0 : 0.4 + 0.6 * ((h >> 8) % 100) / 100.0;
            }
            p = pg->img->px + ((size_t)y * pg->img->width + (size_t)x) * 4;
            for (int c = 0; c < 3; c++)
                p[c] = (uint8_t)lround(p[c] * (1 - a + a * ink[c] / 255.0));
        }
    }
}

struct ring {
    double cx, cy, r0, r1;
};
static int in_ring(const void *s, double u, double v) {
    const struct ring *r = s;
    double d = hypot(u - r->cx, v - r->cy);
    return d >= r->r0 && d <= r->r1;
}

/* A five-point star, centre (cx, cy), outer radius r, turned by rot radians: its ten
 * corners, filled by star_at. */
struct star {
    double px[10], py[10];
};
static struct star star_at(double cx, double cy, double r, double rot) {
    struct star st;
    for (int i = 0; i < 10; i++) {
        double rr = i % 2 ? r * 0.382 : r, a = rot - PI / 2 + i * PI / 5;
        st.px[i] = cx + rr * cos(a);
        st.py[i] = cy + rr * sin(a);
    }
    return st;
}
static int in_star(const void *s, double u, double v) {
    const struct star *st = s;
    int in = 0;
    for (int i = 0, j = 9; i < 10; j = i++) /* even-odd rule */
        if ((st->py[i] > v) != (st->py[j] > v) &&
            u < (st->px[j] - st->px[i]) * (v - st->py[i]) / (st->py[j] - st->py[i]) + st->px[i])
            in = !in;
    return in;
}

/* A made-up glyph: a box of strokes like a CJK character, centred at (cx, cy), size mm,
 * turned by rot radians; seed picks its strokes. */
struct glyph {
    double cx, cy, size, rot;
    unsigned seed;
    double c, s; /* cos and sin of -rot, filled by glyph_at */
};
static struct glyph glyph_at(double cx, double cy, double size, double rot, unsigned seed) {
    struct glyph g = {cx, cy, size, rot, seed, cos(-rot), sin(-rot)};
    return g;
}
static int in_glyph(const void *s, double u, double v) {
    const struct glyph *g = s;
    double du = u - g->cx, dv = v - g->cy, c = g->c, sn = g->s;
    double x = (c * du - sn * dv) / g->size + 0.5, y = (sn * du + c * dv) / g->size + 0.5;
    double t = 0.11;
    unsigned h = g->seed * 2654435761u;
    if (x < 0 || y < 0 || x > 1 || y > 1)
        return 0;
    for (int i = 0; i < 3; i++) { /* horizontal strokes */
        double yy = 0.15 + 0.35 * i, a = (h >> (i * 3) & 7) / 20.0,
               b = 1 - (h >> (i * 3 + 9) & 7) / 20.0;
        if (fabs(y - yy) < t / 2 && x > a && x < b)
            return 1;
    }
    for (int i = 0; i < 2; i++) { /* vertical strokes */
        double xx = 0.3 + 0.4 * i + ((h >> (20 + i * 4)) & 3) / 20.0;
        if (fabs(x - xx) < t / 2 && y > 0.1 && y < 0.9)
            return 1;
    }
    return 0;
}

/* A line of glyphs along a straight line from (u, v), each size mm. */
static void paint_text(struct page *pg, double u, double v, int n, double size,
                       const uint8_t ink[3], unsigned seed) {
    for (int i = 0; i < n; i++) {
        struct glyph g = glyph_at(u + i * size * 1.15 + size / 2, v, size, 0, seed + (unsigned)i);
        paint(pg, &g, in_glyph, g.cx - size / 2, v - size / 2, g.cx + size / 2, v + size / 2, ink,
              1, 0);
    }
}

/* A round seal: ring (outer diameter d mm, ring width d/35), star, a name of glyphs along the
 * upper arc and a line of small glyphs below the star, all turned by tilt degrees. */
static void paint_seal(struct page *pg, double cx, double cy, double d, double tilt,
                       const uint8_t ink[3], double alpha, double patchy) {
    double r = d / 2, w = d / 35, t = tilt * PI / 180;
    struct ring ring = {cx, cy, r - w, r};
    struct star st = star_at(cx, cy, r * 0.3, t);
    paint(pg, &ring, in_ring, cx - r, cy - r, cx + r, cy + r, ink, alpha, patchy);
    paint(pg, &st, in_star, cx - r * 0.3, cy - r * 0.3, cx + r * 0.3, cy + r * 0.3, ink, alpha,
          patchy);
    for (int i = 0; i < 12; i++) { /* 12 glyphs over 240 degrees of the upper arc */
        double a = t - PI / 2 - 2 * PI / 3 + i * (4 * PI / 3) / 11, rr = r - w - 1 - d * 0.09;
        struct glyph g =
            glyph_at(cx + rr * cos(a), cy + rr * sin(a), d * 0.15, a + PI / 2, 77 + (unsigned)i);
        paint(pg, &g, in_glyph, g.cx - d * 0.12, g.cy - d * 0.12, g.cx + d * 0.12, g.cy + d * 0.12,
              ink, alpha, patchy);
    }
    for (int i = 0; i < 5; i++) {
        double off = (i - 2) * d * 0.09;
        struct glyph g =
            glyph_at(cx + off * cos(t) - r * 0.55 * sin(t), cy + off * sin(t) + r * 0.55 * cos(t),
                     d * 0.08, t, 300 + (unsigned)i);
        paint(pg, &g, in_glyph, g.cx - d * 0.06, g.cy - d * 0.06, g.cx + d * 0.06, g.cy + d * 0.06,
              ink, alpha, patchy);
    }
}

/* Handwriting: a thick polyline. */
struct stroke {
    const double *pts; /* u, v pairs */
    int n;
    double width;
};
static int in_stroke(const void *s, double u, double v) {
    const struct stroke *st = s;
    for (int i = 0; i + 1 < st->n; i++) {
        double ax = st->pts[2 * i], ay = st->pts[2 * i + 1], bx = st->pts[2 * i + 2],
               by = st->pts[2 * i + 3];
        double dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy;
        double tt = l2 > 0 ? ((u - ax) * dx + (v - ay) * dy) / l2 : 0;
        tt = tt < 0 ? 0 : tt > 1 ? 1 : tt;
        if (hypot(u - ax - tt * dx, v - ay - tt * dy) <= st->width / 2)
            return 1;
    }
    return 0;
}

/* A letter's body: lines of black glyphs. */
static void paint_letter(struct page *pg, unsigned seed) {
    static const uint8_t black[3] = {20, 20, 25};
    for (int line = 0; line < 8; line++)
        paint_text(pg, 25, 40 + line * 9, 30, 4.5, black, seed + (unsigned)line * 40);
}

static const uint8_t RED[3] = {215, 25, 35};
static const uint8_t BLUE[3] = {30, 50, 170};
static const uint8_t PURPLE[3] = {120, 40, 150};

/* The seal of the scan nearest to (x, y), or NULL. */
static const img_seal_candidate *nearest(const img_seal_scan *s, double x, double y) {
    const img_seal_candidate *best = NULL;
    for (size_t i = 0; i < s->n; i++)
        if (!best ||
            hypot(s->seals[i].cx - x, s->seals[i].cy - y) < hypot(best->cx - x, best->cy - y))
            best = &s->seals[i];
    return best;
}

/* Finds seals on pg and checks there is one of diameter d mm at page mm (u, v), within tol_mm
 * for the centre and tol_d (a share) for the diameter. Returns the scan for more checks. */
static img_seal_scan find_checked(const struct page *pg, const char *what, double u, double v,
                                  double d, double tol_mm, double tol_d, size_t want_n) {
    img_seal_scan s;
    double x, y, t0 = now(), t;
    const img_seal_candidate *c;
    memset(&s, 0, sizeof s);
    CHECK_ERR(img_seal_find(&s, pg->img, 0), IMG_OK);
    t = now() - t0;
    to_scan(pg, u, v, &x, &y);
    c = nearest(&s, x, y);
    if (!c) {
        fprintf(stderr, "%s: no seal found (flags %u)\n", what, s.flags);
        check_failures++;
        return s;
    }
    double dc = hypot(c->cx - x, c->cy - y) / pg->dpi * MM_PER_INCH;
    double dd = c->diameter / (d / MM_PER_INCH * pg->dpi) - 1;
    printf("  %-44s %4.0f dpi: centre off %.2f mm, diameter %+.2f%%, conf %.2f, ink %.2f, %s, "
           "flags %u, n %zu, %.3f s\n",
           what, pg->dpi, dc, dd * 100, c->confidence, c->ink, c->colour, s.flags, s.n, t);
    CHECK(dc <= tol_mm);
    CHECK(fabs(dd) <= tol_d);
    CHECK_INT(s.n, want_n);
    return s;
}

static void test_synthetic_rings(void) {
    static const double dpis[] = {100, 150, 300};
    printf("synthetic pages:\n");
    for (int di = 0; di < 3; di++) {
        for (int k = 0; k < 3; k++) {
            uint64_t seed = 100 + (uint64_t)di * 10 + (uint64_t)k;
            struct page pg = new_page(dpis[di], 0, 0, seed);
            double d, u, v;
            char what[96];
            img_seal_scan s;
            img_rgba *jpg;
            rng_seed(seed * 7);
            d = rng_range(38, 46);
            u = rng_range(d / 2 + 5, 210 - d / 2 - 5);
            v = rng_range(d / 2 + 5, 297 - d / 2 - 5);
            {
                struct ring ring = {u, v, d / 2 - 1.2, d / 2};
                paint(&pg, &ring, in_ring, u - d, v - d, u + d, v + d, RED, 0.9, 0);
            }
            /* through JPEG at quality 75, as a scanner would */
            jpg = jpeg_roundtrip(pg.img, 75);
            img_rgba_free(pg.img);
            pg.img = jpg;
            snprintf(what, sizeof what, "bare ring %.1f mm at (%.0f, %.0f) mm, JPEG", d, u, v);
            s = find_checked(&pg, what, u, v, d, 0.3, 0.01, 1);
            CHECK_INT(s.flags, 0);
            if (s.n)
                CHECK_STR(s.seals[0].colour, "red");
            img_seal_scan_free(&s);
            img_rgba_free(pg.img);
        }
    }
}

static void test_synthetic_seals(void) {
    img_seal_scan s;
    /* a seal over a letter, 300 dpi, JPEG */
    {
        struct page pg = new_page(300, 0, 0, 1);
        img_rgba *j;
        paint_letter(&pg, 1);
        paint_seal(&pg, 140, 95, 42, 0, RED, 0.9, 0);
        j = jpeg_roundtrip(pg.img, 80);
        img_rgba_free(pg.img);
        pg.img = j;
        s = find_checked(&pg, "seal over a letter, JPEG", 140, 95, 42, 0.3, 0.01, 1);
        CHECK_INT(s.flags, 0);
        if (s.n) {
            CHECK(s.seals[0].confidence > 0.8);
            CHECK(s.seals[0].ink > 0.6);
        }
        img_seal_scan_free(&s);
        img_rgba_free(pg.img);
    }
    /* red printed text (a red heading and a red rule) and a red square logo: no seal */
    {
        struct page pg = new_page(150, 0, 0, 2);
        static const uint8_t dark_red[3] = {190, 20, 30};
        paint_letter(&pg, 2);
        paint_text(&pg, 40, 20, 14, 9, dark_red, 5);
        paint_text(&pg, 30, 130, 28, 5, RED, 9);
        paint_text(&pg, 30, 137, 28, 5, RED, 19);
        {
            struct ring box = {170, 255, 0, 12};      /* a solid red disc, 24 mm: a logo */
            struct star st = star_at(30, 260, 12, 0); /* and a red star, 24 mm */
            paint(&pg, &box, in_ring, 155, 240, 185, 270, RED, 1, 0);
            paint(&pg, &st, in_star, 15, 245, 45, 275, RED, 1, 0);
        }
        {
            struct ring disc = {100, 230, 0, 21}; /* a solid red disc of a seal's size */
            paint(&pg, &disc, in_ring, 75, 205, 125, 255, RED, 1, 0);
        }
        CHECK_ERR(img_seal_find(&s, pg.img, 0), IMG_OK);
        printf("  %-44s %4.0f dpi: n %zu, flags %u\n", "red text, red logo, red disc: no seal",
               pg.dpi, s.n, s.flags);
        CHECK_INT(s.n, 0);
        CHECK_INT(s.flags, IMG_SEAL_NO_SEAL);
        img_seal_scan_free(&s);
        img_rgba_free(pg.img);
    }
    /* a blank page, and a letter without a seal */
    {
        struct page pg = new_page(200, 0, 0, 3);
        CHECK_ERR(img_seal_find(&s, pg.img, 0), IMG_OK);
        CHECK_INT(s.n, 0);
        CHECK_INT(s.flags, IMG_SEAL_NO_SEAL);
        CHECK(fabs(s.dpi - 200) < 1e-9);
        img_seal_scan_free(&s);
        paint_letter(&pg, 3);
        CHECK_ERR(img_seal_find(&s, pg.img, 0), IMG_OK);
        CHECK_INT(s.flags, IMG_SEAL_NO_SEAL);
        img_seal_scan_free(&s);
        img_rgba_free(pg.img);
    }
    /* black handwriting across a seal */
    {
        static const double sig[] = {100, 110, 112, 96,  120, 118, 131, 92,  140,
                                     121, 152, 94,  160, 119, 171, 100, 185, 108};
        static const double sig2[] = {105, 100, 175, 120};
        static const uint8_t ink[3] = {25, 25, 40};
        struct stroke a = {sig, 9, 1.0}, b = {sig2, 2, 0.8};
        struct page pg = new_page(300, 0, 0, 4);
        paint_letter(&pg, 4);
        paint_seal(&pg, 142, 108, 42, 0, RED, 0.85, 0);
        paint(&pg, &a, in_stroke, 95, 85, 190, 125, ink, 1, 0);
        paint(&pg, &b, in_stroke, 100, 95, 180, 125, ink, 1, 0);
        s = find_checked(&pg, "black handwriting across the seal", 142, 108, 42, 0.3, 0.015, 1);
        CHECK_INT(s.flags, 0);
        img_seal_scan_free(&s);
        img_rgba_free(pg.img);
    }
    /* a page scanned 4 degrees askew (the lid shows in the corners), a tilted seal, 150 dpi */
    {
        struct page pg = new_page(150, 4, 0, 5);
        img_rgba *j;
        paint_letter(&pg, 5);
        paint_seal(&pg, 60, 200, 40, 33, RED, 0.9, 0);
        j = jpeg_roundtrip(pg.img, 70);
        img_rgba_free(pg.img);
        pg.img = j;
        s = find_checked(&pg, "page 4 deg askew, seal tilted 33 deg, JPEG", 60, 200, 40, 0.4, 0.015,
                         1);
        CHECK_INT(s.flags, 0);
        img_seal_scan_free(&s);
        img_rgba_free(pg.img);
    }
    /* landscape, two seals of two parties, 45 and 38 mm; the resolution from the page size */
    {
        struct page pg = new_page(300, 0, 1, 6);
        double x, y;
        paint_letter(&pg, 6);
        paint_seal(&pg, 80, 140, 45, -10, RED, 0.9, 0);
        paint_seal(&pg, 220, 135, 38, 15, RED, 0.8, 0);
        pg.img->dpi_x = pg.img->dpi_y = 0;
        s = find_checked(&pg, "two seals, landscape, no dpi in the file", 80, 140, 45, 0.3, 0.015,
                         2);
        CHECK(fabs(s.dpi - 300) < 1e-9);
        CHECK_INT(s.flags, IMG_SEAL_SEVERAL);
        to_scan(&pg, 220, 135, &x, &y);
        {
            const img_seal_candidate *c = nearest(&s, x, y);
            CHECK(c && hypot(c->cx - x, c->cy - y) < 0.3 / MM_PER_INCH * 300);
            CHECK(c && fabs(c->diameter / (38 / MM_PER_INCH * 300) - 1) < 0.015);
        }
        img_seal_scan_free(&s);
        img_rgba_free(pg.img);
    }
    /* a blue seal and a purple one: found, flagged not red */
    {
        struct page pg = new_page(300, 0, 0, 7);
        paint_letter(&pg, 7);
        paint_seal(&pg, 150, 100, 42, 0, BLUE, 0.9, 0);
        s = find_checked(&pg, "blue seal", 150, 100, 42, 0.3, 0.015, 1);
        CHECK_INT(s.flags, IMG_SEAL_NOT_RED);
        if (s.n)
            CHECK_STR(s.seals[0].colour, "blue");
        img_seal_scan_free(&s);
        img_rgba_free(pg.img);
        pg = new_page(150, 0, 0, 8);
        paint_letter(&pg, 8);
        paint_seal(&pg, 60, 230, 40, 0, PURPLE, 0.9, 0);
        s = find_checked(&pg, "purple seal", 60, 230, 40, 0.4, 0.015, 1);
        CHECK_INT(s.flags, IMG_SEAL_NOT_RED);
        if (s.n)
            CHECK_STR(s.seals[0].colour, "purple");
        img_seal_scan_free(&s);
        img_rgba_free(pg.img);
    }
    /* a red seal with a blue signature across it: red, and only one seal */
    {
        static const double sig[] = {110, 100, 125, 90, 140, 112, 160, 88, 175, 110};
        struct stroke a = {sig, 5, 0.9};
        struct page pg = new_page(300, 0, 0, 9);
        paint_letter(&pg, 9);
        paint_seal(&pg, 142, 100, 42, 5, RED, 0.9, 0);
        paint(&pg, &a, in_stroke, 100, 80, 185, 120, BLUE, 1, 0);
        s = find_checked(&pg, "blue signature across a red seal", 142, 100, 42, 0.3, 0.015, 1);
        CHECK_INT(s.flags, 0);
        img_seal_scan_free(&s);
        img_rgba_free(pg.img);
    }
    /* a seal stamped over red printed text, and a red pen signature across it */
    {
        static const double sig[] = {115, 190, 130, 176, 142, 198, 158, 172, 172, 195};
        struct stroke a = {sig, 5, 0.7};
        struct page pg = new_page(300, 0, 0, 13);
        paint_letter(&pg, 13);
        paint_text(&pg, 30, 172, 30, 6, RED, 21);
        paint_text(&pg, 30, 180, 30, 6, RED, 51);
        paint_seal(&pg, 140, 180, 42, -20, RED, 0.85, 0);
        paint(&pg, &a, in_stroke, 110, 165, 180, 205, RED, 1, 0);
        s = find_checked(&pg, "seal over red print, red pen across it", 140, 180, 42, 0.4, 0.02, 1);
        CHECK_INT(s.flags, 0);
        img_seal_scan_free(&s);
        img_rgba_free(pg.img);
    }
    /* a double ring (a thin inner ring 1.6 mm inside): the outer ring is the diameter */
    {
        struct page pg = new_page(200, 0, 0, 14);
        struct ring inner = {70, 150, 21 - 1.2 - 1.6 - 0.4, 21 - 1.2 - 1.6};
        paint_letter(&pg, 14);
        paint_seal(&pg, 70, 150, 42, 0, RED, 0.9, 0);
        paint(&pg, &inner, in_ring, 45, 125, 95, 175, RED, 0.9, 0);
        s = find_checked(&pg, "double ring", 70, 150, 42, 0.4, 0.015, 1);
        CHECK_INT(s.flags, 0);
        img_seal_scan_free(&s);
        img_rgba_free(pg.img);
    }
    /* yellowed paper under warm light, through JPEG */
    {
        static const double warm[3] = {238, 222, 170};
        struct page pg = new_page_on(150, -1.5, 0, 15, warm);
        img_rgba *j;
        paint_letter(&pg, 15);
        paint_seal(&pg, 150, 230, 42, 60, RED, 0.8, 0);
        j = jpeg_roundtrip(pg.img, 60);
        img_rgba_free(pg.img);
        pg.img = j;
        s = find_checked(&pg, "yellowed paper, warm light, JPEG q60", 150, 230, 42, 0.5, 0.02, 1);
        CHECK_INT(s.flags, 0);
        img_seal_scan_free(&s);
        img_rgba_free(pg.img);
    }
    /* a faint, patchy stamp: found with low confidence and flagged, or only flagged */
    {
        struct page pg = new_page(300, 0, 0, 10);
        paint_letter(&pg, 10);
        paint_seal(&pg, 140, 100, 42, 0, RED, 0.22, 1.5);
        CHECK_ERR(img_seal_find(&s, pg.img, 0), IMG_OK);
        printf("  %-44s %4.0f dpi: n %zu, flags %u, conf %.2f, ink %.2f\n", "faint patchy seal",
               pg.dpi, s.n, s.flags, s.n ? s.seals[0].confidence : 0, s.n ? s.seals[0].ink : 0);
        CHECK(s.flags & IMG_SEAL_FAINT);
        CHECK(s.n == 0 || s.seals[0].confidence < 0.5);
        img_seal_scan_free(&s);
        img_rgba_free(pg.img);
    }
    /* a seal cut by the page's edge is still found when most of its ring is on the page */
    {
        struct page pg = new_page(150, 0, 0, 11);
        paint_seal(&pg, 200, 150, 42, 0, RED, 0.9, 0);
        s = find_checked(&pg, "seal cut by the page edge", 200, 150, 42, 0.5, 0.02, 1);
        img_seal_scan_free(&s);
        img_rgba_free(pg.img);
    }
    /* bad arguments */
    {
        img_rgba empty = {0, 0, 0, 0, NULL};
        struct page pg = new_page(100, 0, 0, 12);
        CHECK_ERR(img_seal_find(NULL, pg.img, 0), IMG_E_ARG);
        CHECK_ERR(img_seal_find(&s, &empty, 0), IMG_E_ARG);
        CHECK_ERR(img_seal_find(&s, pg.img, 10), IMG_E_ARG);
        CHECK_ERR(img_seal_find(&s, pg.img, -1), IMG_E_ARG);
        CHECK_ERR(img_seal_find(&s, pg.img, NAN), IMG_E_ARG);
        CHECK_ERR(img_seal_find(&s, pg.img, 100), IMG_OK);
        CHECK_INT(s.flags, IMG_SEAL_NO_SEAL);
        img_seal_scan_free(&s);
        img_seal_scan_free(NULL);
        img_rgba_free(pg.img);
    }
}

/* An A4 page at 600 dpi (4961 x 7016, 35 megapixels): found, and in well under a second. */
static void test_600dpi(void) {
    struct page pg = new_page(600, 0, 0, 20);
    img_seal_scan s;
    double t0, t;
    paint_letter(&pg, 20);
    paint_seal(&pg, 150, 120, 42, 0, RED, 0.9, 0);
    t0 = now();
    s = find_checked(&pg, "A4 at 600 dpi", 150, 120, 42, 0.2, 0.01, 1);
    t = now() - t0;
    CHECK(t < 3.0); /* well under a second on a build without sanitizers */
    img_seal_scan_free(&s);
    img_rgba_free(pg.img);
}

/* Alpha of the extracted picture at (x, y). */
static int alpha_at(const img_rgba *img, double x, double y) {
    long ix = lround(x), iy = lround(y);
    if (ix < 0 || iy < 0 || ix >= (long)img->width || iy >= (long)img->height)
        return -1;
    return img->px[((size_t)iy * img->width + (size_t)ix) * 4 + 3];
}

/* The mean alpha on the circle of radius r about the picture's centre. */
static double ring_alpha(const img_rgba *img, double r) {
    double c = (img->width - 1) / 2.0, sum = 0;
    for (int i = 0; i < 360; i++)
        sum += alpha_at(img, c + r * cos(i * PI / 180), c + r * sin(i * PI / 180));
    return sum / 360 / 255;
}

/* Checks an extracted seal: square, 42 mm (plus margins) at dpi, transparent corners and
 * paper, the ring there, one seal red. */
static void check_extracted(const img_rgba *x, double dpi, double ring_mm) {
    double px_mm = dpi / MM_PER_INCH, side = ceil(42 * px_mm * 1.08);
    double c = (x->width - 1) / 2.0;
    CHECK_INT(x->width, (long long)side);
    CHECK_INT(x->height, (long long)side);
    CHECK(fabs(x->dpi_x - dpi) < 1e-9 && fabs(x->dpi_y - dpi) < 1e-9);
    CHECK(alpha_at(x, 0, 0) <= 2);
    CHECK(alpha_at(x, x->width - 1, 0) <= 2);
    CHECK(alpha_at(x, 0, x->height - 1) <= 2);
    CHECK(alpha_at(x, x->width - 1, x->height - 1) <= 2);
    CHECK(alpha_at(x, c + 21.5 * px_mm, c) <= 16); /* just outside the ring */
    CHECK(ring_alpha(x, (21 - ring_mm / 2) * px_mm) > 0.75);
    CHECK(ring_alpha(x, 21.5 * px_mm) < 0.1);
    CHECK(ring_alpha(x, 8.5 * px_mm) < 0.12); /* paper between star and name */
    CHECK(alpha_at(x, c, c) > 200);           /* the star's middle */
    CHECK(x->px[0] == 220 && x->px[1] == 30 && x->px[2] == 40);
}

static void test_extract(void) {
    struct page pg = new_page(300, 0, 0, 30);
    img_seal_scan s;
    img_rgba *x = NULL;
    paint_letter(&pg, 30);
    paint_seal(&pg, 120, 70, 42, 12, RED, 0.9, 0);
    s = find_checked(&pg, "seal to extract", 120, 70, 42, 0.3, 0.01, 1);
    if (s.n == 1) {
        CHECK_ERR(img_seal_extract(&x, pg.img, &s.seals[0], s.dpi, 42), IMG_OK);
        if (x)
            check_extracted(x, 300, 1.2);
        img_rgba_free(x);
        /* resampled: up to 600 dpi, down to 150 dpi; dpi 0 is the scan's */
        CHECK_ERR(img_seal_extract(&x, pg.img, &s.seals[0], 600, 42), IMG_OK);
        if (x)
            check_extracted(x, 600, 1.2);
        img_rgba_free(x);
        CHECK_ERR(img_seal_extract(&x, pg.img, &s.seals[0], 150, 42), IMG_OK);
        if (x)
            check_extracted(x, 150, 1.2);
        img_rgba_free(x);
        CHECK_ERR(img_seal_extract(&x, pg.img, &s.seals[0], 0, 42), IMG_OK);
        if (x)
            CHECK(x->dpi_x == 300);
        img_rgba_free(x);
        x = NULL;
        /* refused arguments */
        CHECK_ERR(img_seal_extract(&x, pg.img, &s.seals[0], 300, 0), IMG_E_ARG);
        CHECK_ERR(img_seal_extract(&x, pg.img, &s.seals[0], 300, NAN), IMG_E_ARG);
        CHECK_ERR(img_seal_extract(&x, pg.img, NULL, 300, 42), IMG_E_ARG);
        CHECK_ERR(img_seal_extract(&x, pg.img, &s.seals[0], 2400, 190), IMG_E_LIMIT);
        {
            img_seal_candidate off = s.seals[0];
            off.cx = -5;
            CHECK_ERR(img_seal_extract(&x, pg.img, &off, 300, 42), IMG_E_ARG);
            off = s.seals[0];
            off.diameter = 1e9;
            CHECK_ERR(img_seal_extract(&x, pg.img, &off, 300, 42), IMG_E_ARG);
        }
        CHECK(x == NULL);
    }
    img_seal_scan_free(&s);
    img_rgba_free(pg.img);
}

/* The registry's own seal picture (img_seal_draw, with a CJK font) stamped on a letter and
 * scanned: found where it was put, and extracted close to the picture it was stamped from. */
static void test_drawn_seal(void) {
    img_rgba *seal = NULL, *x = NULL, *j;
    struct page pg;
    img_seal_scan s;
    double px_mm = 300 / MM_PER_INCH, d_px = 42 * px_mm / 0.98; /* the rim is 98% across */
    uint32_t side;
    long ox, oy;
    if (img_seal_draw(&seal, "示例市恒达国际物流有限公司", "3101010012345", (uint32_t)lround(d_px),
                      NULL) != IMG_OK) {
        printf("drawn seal: skipped (img_seal_draw: %s)\n", img_errdetail());
        return;
    }
    side = seal->width;
    pg = new_page(300, 0, 0, 40);
    paint_letter(&pg, 40);
    /* stamped at (130, 90) mm: multiplied in at 90% strength */
    ox = lround(130 * px_mm - (side - 1) / 2.0);
    oy = lround(90 * px_mm - (side - 1) / 2.0);
    for (uint32_t y = 0; y < side; y++)
        for (uint32_t xx = 0; xx < side; xx++) {
            const uint8_t *sp = seal->px + ((size_t)y * side + xx) * 4;
            uint8_t *p = pg.img->px + ((size_t)(oy + y) * pg.img->width + (size_t)(ox + xx)) * 4;
            double a = 0.9 * sp[3] / 255.0;
            for (int c = 0; c < 3; c++)
                p[c] = (uint8_t)lround(p[c] * (1 - a + a * sp[c] / 255.0));
        }
    j = jpeg_roundtrip(pg.img, 85);
    img_rgba_free(pg.img);
    pg.img = j;
    s = find_checked(&pg, "img_seal_draw's seal, stamped and scanned",
                     (ox + (side - 1) / 2.0) / px_mm, (oy + (side - 1) / 2.0) / px_mm, 42, 0.3,
                     0.015, 1);
    CHECK_INT(s.flags, 0);
    if (s.n == 1 && img_seal_extract(&x, pg.img, &s.seals[0], s.dpi, 42) == IMG_OK) {
        /* the extracted alpha against the drawn one, centres aligned: correlation */
        double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0, n = 0, r;
        double off = (x->width - 1) / 2.0 - (side - 1) / 2.0;
        check_extracted(x, 300, 42 * 0.04);
        for (uint32_t y = 0; y < side; y++)
            for (uint32_t xx = 0; xx < side; xx++) {
                int ea = alpha_at(x, xx + off, y + off);
                double a = seal->px[((size_t)y * side + xx) * 4 + 3] / 255.0, b = ea / 255.0;
                if (ea < 0)
                    continue;
                sa += a;
                sb += b;
                saa += a * a;
                sbb += b * b;
                sab += a * b;
                n++;
            }
        r = (sab / n - sa / n * sb / n) /
            sqrt((saa / n - sa / n * sa / n) * (sbb / n - sb / n * sb / n));
        printf("  extracted vs drawn alpha: correlation %.3f\n", r);
        CHECK(r > 0.85); /* 0.99 on a blank page: black text across the seal cuts holes */
    } else {
        CHECK(0);
    }
    img_rgba_free(x);
    img_seal_scan_free(&s);
    img_rgba_free(seal);
    img_rgba_free(pg.img);
}

/* ---- The corpus ----------------------------------------------------------------------------- */

/* Splits s at sep into at most max fields (in place). */
static int split(char *s, char sep, char **f, int max) {
    int n = 0;
    f[n++] = s;
    for (char *p = s; *p && n < max; p++)
        if (*p == sep) {
            *p = '\0';
            f[n++] = p + 1;
        }
    return n;
}

static void test_corpus(void) {
    const char *corpus = getenv("ESEAL_CORPUS");
    char path[4096];
    uint8_t *man = NULL;
    size_t len = 0;
    char *line, *save = NULL;
    int rows = 0;
    if (!corpus || !*corpus) {
        printf("corpus scans: skipped (ESEAL_CORPUS is not set)\n");
        return;
    }
    snprintf(path, sizeof path, "%s/scans/MANIFEST.tsv", corpus);
    if (file_read_all(&man, &len, path, 1 << 20) != 0) {
        fprintf(stderr, "cannot read %s\n", path);
        check_failures++;
        return;
    }
    man = realloc(man, len + 1);
    man[len] = '\0';
    printf("corpus scans (%s):\n", path);
    for (line = strtok_r((char *)man, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[20], *cx[4], *cy[4], *dm[4], *col[4];
        int nf = split(line, '\t', f, 20), nseal;
        unsigned w = 0, h = 0;
        img_rgba *img = NULL, *x = NULL;
        img_seal_scan s;
        double t0, t, page_w;
        if (nf < 13 || strcmp(f[0], "file") == 0)
            continue;
        rows++;
        snprintf(path, sizeof path, "%s/scans/%s", corpus, f[0]);
        CHECK_ERR(img_read_file(&img, path, NULL), IMG_OK);
        if (!img)
            continue;
        CHECK(sscanf(f[2], "%ux%u", &w, &h) == 2 && img->width == w && img->height == h);
        memset(&s, 0, sizeof s);
        t0 = now();
        CHECK_ERR(img_seal_find(&s, img, 0), IMG_OK);
        t = now() - t0;
        page_w = img->width;
        printf("  %-32s %s dpi: found %zu, flags %u, %.3f s\n", f[0], f[1], s.n, s.flags, t);
        if (atoi(f[1]) == 300)
            CHECK(t < 2.0); /* well under a second without sanitizers */
        nseal = atoi(f[5]);
        if (nseal > 0) {
            split(f[6], ';', cx, 4);
            split(f[7], ';', cy, 4);
            split(f[8], ';', dm, 4);
            split(f[9], ';', col, 4);
        }
        for (int i = 0; i < nseal && i < 4; i++) {
            double mx = atof(cx[i]), my = atof(cy[i]), md = atof(dm[i]);
            const img_seal_candidate *c = nearest(&s, mx, my);
            if (!c) {
                if (strcmp(f[12], "extract") == 0) {
                    fprintf(stderr, "%s: seal %d at (%g, %g) not found\n", f[0], i + 1, mx, my);
                    check_failures++;
                }
                continue;
            }
            printf("    seal %d: (%.1f, %.1f) d %.1f vs manifest (%.1f, %.1f) d %.1f: centre off "
                   "%.1f px (%.2f%% of the width), diameter %+.2f%%, conf %.3f, ink %.2f, %s\n",
                   i + 1, c->cx, c->cy, c->diameter, mx, my, md, hypot(c->cx - mx, c->cy - my),
                   100 * hypot(c->cx - mx, c->cy - my) / page_w, 100 * (c->diameter / md - 1),
                   c->confidence, c->ink, c->colour);
            /* the acceptance criterion */
            CHECK(hypot(c->cx - mx, c->cy - my) <= 0.02 * page_w);
            CHECK(fabs(c->diameter / md - 1) <= 0.05);
            if (strcmp(f[12], "extract") == 0) {
                CHECK_STR(c->colour, col[i]);
                CHECK_ERR(img_seal_extract(&x, img, c, s.dpi, 42), IMG_OK);
                if (x) {
                    double side = ceil(42 * s.dpi / MM_PER_INCH * 1.08);
                    CHECK_INT(x->width, (long long)side);
                    CHECK(alpha_at(x, 0, 0) <= 2 && alpha_at(x, x->width - 1, x->height - 1) <= 2);
                    CHECK(ring_alpha(x, (21 - 0.6) * s.dpi / MM_PER_INCH) > 0.6);
                }
                img_rgba_free(x);
                x = NULL;
            }
        }
        if (strcmp(f[12], "extract") == 0) {
            CHECK_INT(s.n, nseal); /* every seal, and nothing else */
            CHECK_INT(s.flags, nseal > 1 ? IMG_SEAL_SEVERAL : 0);
        } else if (strcmp(f[12], "reject-or-flag") == 0) {
            CHECK(s.flags & IMG_SEAL_NOT_RED);
        } else if (strcmp(f[12], "no-seal") == 0) {
            CHECK_INT(s.n, 0);
            CHECK(s.flags & IMG_SEAL_NO_SEAL);
        } else if (strcmp(f[12], "extract-or-flag") == 0) {
            CHECK((s.flags & IMG_SEAL_FAINT) || (s.n == 1 && s.seals[0].confidence < 0.5));
        } else {
            fprintf(stderr, "%s: unknown expectation %s\n", f[0], f[12]);
            check_failures++;
        }
        img_seal_scan_free(&s);
        img_rgba_free(img);
    }
    CHECK(rows >= 7);
    free(man);
}

int main(void) {
    test_jpeg_colour_spaces();
    test_jpeg_damage();
    test_jpeg_scan_limit();
    test_corpus();
    test_synthetic_rings();
    test_synthetic_seals();
    test_extract();
    test_drawn_seal();
    test_600dpi();
    return check_report("test_sealfind");
}
