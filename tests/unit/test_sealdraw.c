/* Drawing a round seal (imaging/sealdraw.c).
 *
 * The geometry checked here is the one sealdraw.c documents, as fractions of the picture's
 * width D: rim from 0.45 D to 0.49 D from the centre, star of radius 0.15 D, text inside
 * 0.428 D. Needs a default CJK font (fonts-noto-cjk or fonts-wqy-microhei; skipped with a
 * message without one). The pictures are written to the build directory for a look
 * (ESEAL_BUILD_DIR/tests/sealdraw-*.png). Negative tests check the exact img_err. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "imaging/glyph.h"
#include "imaging/seal.h"

#include "base/fileio.h"
#include "tests/unit/check.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

#define PI 3.14159265358979323846
#define NAME "示例科技有限公司"
#define CODE "1101080012345"
#define LONG_NAME "北京市海淀区中关村示例科学技术发展研究有限责任公司第一分公司营业部（筹备）"

/* Geometry, as fractions of D. */
#define R_OUT 0.49
#define R_IN 0.45
#define R_TEXT 0.428
#define R_STAR 0.15

static const uint8_t *pix(const img_rgba *img, uint32_t x, uint32_t y) {
    return img->px + ((size_t)y * img->width + x) * 4;
}

static uint8_t alpha_at(const img_rgba *img, uint32_t x, uint32_t y) {
    return pix(img, x, y)[3];
}

/* The pixel at distance r from the centre at angle deg (counter-clockwise from the right, y
 * up, as on paper). */
static uint8_t alpha_polar(const img_rgba *img, double r, double deg) {
    double c = img->width / 2.0;
    double x = c + r * cos(deg * PI / 180), y = c - r * sin(deg * PI / 180);
    return alpha_at(img, (uint32_t)x, (uint32_t)y);
}

/* Inked pixels (alpha > 0) whose centres are between radii r0 and r1 and angles a0 and a1
 * (degrees, y up, a0 < a1, within -180..360), and the number of pixels there. */
static size_t ink_in(const img_rgba *img, double r0, double r1, double a0, double a1,
                     size_t *area) {
    double c = img->width / 2.0;
    size_t n = 0, all = 0;
    for (uint32_t y = 0; y < img->height; y++)
        for (uint32_t x = 0; x < img->width; x++) {
            double dx = x + 0.5 - c, dy = c - (y + 0.5);
            double r = hypot(dx, dy), a = atan2(dy, dx) * 180 / PI;
            if (a < a0)
                a += 360;
            if (r < r0 || r > r1 || a < a0 || a > a1)
                continue;
            all++;
            n += alpha_at(img, x, y) > 0;
        }
    if (area)
        *area = all;
    return n;
}

/* Nothing outside the rim, nothing between the text and the rim. */
static void check_inside(const img_rgba *img) {
    double D = img->width, c = D / 2;
    size_t outside = 0, gap = 0;
    for (uint32_t y = 0; y < img->height; y++)
        for (uint32_t x = 0; x < img->width; x++) {
            double r = hypot(x + 0.5 - c, y + 0.5 - c);
            uint8_t a = alpha_at(img, x, y);
            if (r > R_OUT * D + 1 && a)
                outside++;
            if (r > (R_TEXT + 0.006) * D && r < R_IN * D - 1 && a)
                gap++;
        }
    CHECK_INT(outside, 0);
    CHECK_INT(gap, 0);
}

static void save(const img_rgba *img, const char *name) {
    const char *dir = getenv("ESEAL_BUILD_DIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s%s", dir ? dir : "/tmp", dir ? "tests/" : "", name);
    CHECK_ERR(img_png_write_file(path, img), IMG_OK);
    printf("test_sealdraw: wrote %s\n", path);
}

static void test_seal(void) {
    img_rgba *img = NULL, *again = NULL;
    uint32_t px = 496;
    double D = px, c = D / 2;
    size_t area = 0, n;
    CHECK_ERR(img_seal_draw(&img, NAME, CODE, px, NULL), IMG_OK);
    if (!img)
        return;
    save(img, "sealdraw.png");
    CHECK_INT(img->width, px);
    CHECK_INT(img->height, px);
    CHECK(fabs(img->dpi_x - 496 / (42 / 25.4)) < 1e-9);
    CHECK(fabs(img->dpi_y - img->dpi_x) < 1e-12);
    /* Transparent corners. */
    CHECK_INT(alpha_at(img, 0, 0), 0);
    CHECK_INT(alpha_at(img, px - 1, 0), 0);
    CHECK_INT(alpha_at(img, 0, px - 1), 0);
    CHECK_INT(alpha_at(img, px - 1, px - 1), 0);
    check_inside(img);
    /* The rim: solid all round its middle, solid red. */
    for (int deg = 0; deg < 360; deg++) {
        double r = (R_IN + R_OUT) / 2 * D;
        uint32_t x = (uint32_t)(c + r * cos(deg * PI / 180)),
                 y = (uint32_t)(c - r * sin(deg * PI / 180));
        const uint8_t *p = pix(img, x, y);
        if (p[3] != 255 || p[0] < 200 || p[1] > 60 || p[2] > 60) {
            fprintf(stderr, "rim at %d deg: %u %u %u %u\n", deg, p[0], p[1], p[2], p[3]);
            CHECK(0);
        }
        /* Its edges are anti-aliased and in place. */
        CHECK(alpha_polar(img, R_OUT * D + 1.5, deg) == 0);
        CHECK(alpha_polar(img, R_OUT * D - 1.5, deg) == 255);
        CHECK(alpha_polar(img, R_IN * D + 1.5, deg) == 255);
    }
    /* Anti-aliasing: partial coverage exists on the rim's edges. */
    n = 0;
    for (uint32_t x = 0; x < px; x++)
        n += alpha_at(img, x, px / 2) > 0 && alpha_at(img, x, px / 2) < 255;
    CHECK(n >= 4);
    /* The star: solid in the centre and along its upper point, empty between the points. */
    CHECK_INT(alpha_at(img, px / 2, px / 2), 255);
    CHECK_INT(alpha_polar(img, 0.13 * D, 90), 255);
    for (int k = 0; k < 5; k++) {
        CHECK_INT(alpha_polar(img, 0.12 * D, 90 + 72 * k), 255);     /* on a point */
        CHECK_INT(alpha_polar(img, 0.10 * D, 126 + 72 * k), 0);      /* between two */
        CHECK_INT(alpha_polar(img, R_STAR * D + 2, 90 + 72 * k), 0); /* beyond its tip */
    }
    /* Nothing between the star and the text, in the gaps at the ends of the name. */
    for (double r = R_STAR * D + 2; r < R_IN * D - 1; r += 1) {
        CHECK_INT(alpha_polar(img, r, 210), 0);
        CHECK_INT(alpha_polar(img, r, 330), 0);
    }
    /* The name along the upper arc: ink all over it, from the left end to the right end. */
    n = ink_in(img, 0.25 * D, R_TEXT * D, 30, 150, &area);
    printf("test_sealdraw: upper arc %zu of %zu px inked\n", n, area);
    CHECK(n > area / 8);
    for (int a = -20; a <= 200; a += 20) /* each 10-degree sector of the arc has some ink */
        CHECK(ink_in(img, 0.25 * D, R_TEXT * D, a - 5, a + 5, NULL) > 20);
    CHECK_INT(ink_in(img, 0.25 * D, R_TEXT * D, 206, 214, NULL), 0); /* between name and code */
    /* The code along the lower arc, smaller: ink nearer the rim only. */
    n = ink_in(img, 0.3 * D, R_TEXT * D, 230, 310, &area);
    printf("test_sealdraw: lower arc %zu of %zu px inked\n", n, area);
    CHECK(n > area / 20);
    CHECK_INT(ink_in(img, R_STAR * D + 2, 0.3 * D, 230, 310, NULL), 0);
    /* All of it one red; the ink is in alpha. */
    n = 0;
    for (size_t i = 0; i < (size_t)px * px; i++)
        n += img->px[4 * i] != 220 || img->px[4 * i + 1] != 30 || img->px[4 * i + 2] != 40;
    CHECK_INT(n, 0);
    /* The same picture every time. */
    CHECK_ERR(img_seal_draw(&again, NAME, CODE, px, NULL), IMG_OK);
    CHECK(again && memcmp(again->px, img->px, (size_t)px * px * 4) == 0);
    img_rgba_free(again);
    img_rgba_free(img);
}

static void test_without_code(void) {
    img_rgba *img = NULL;
    double D = 496;
    CHECK_ERR(img_seal_draw(&img, NAME, NULL, 496, NULL), IMG_OK);
    if (!img)
        return;
    save(img, "sealdraw-nocode.png");
    check_inside(img);
    CHECK_INT(ink_in(img, R_STAR * D + 2, R_IN * D - 1, 240, 300, NULL), 0);
    CHECK(ink_in(img, 0.25 * D, R_TEXT * D, 30, 150, NULL) > 1000);
    img_rgba_free(img);
    /* An empty code is no code. */
    CHECK_ERR(img_seal_draw(&img, NAME, "", 496, NULL), IMG_OK);
    if (img)
        CHECK_INT(ink_in(img, R_STAR * D + 2, R_IN * D - 1, 240, 300, NULL), 0);
    img_rgba_free(img);
}

/* A very long name: squeezed and made smaller, still inside the rim, still all there. */
static void test_long_name(void) {
    img_rgba *img = NULL;
    double D = 496;
    CHECK_ERR(img_seal_draw(&img, LONG_NAME, CODE, 496, NULL), IMG_OK);
    if (!img)
        return;
    save(img, "sealdraw-long.png");
    check_inside(img);
    for (int a = -20; a <= 200; a += 20)
        CHECK(ink_in(img, 0.3 * D, R_TEXT * D, a - 5, a + 5, NULL) > 20);
    /* Nothing strays towards the star. */
    CHECK_INT(ink_in(img, R_STAR * D + 2, 0.3 * D, 0, 360, NULL) > 0, 0);
    img_rgba_free(img);
}

/* Sizes: the smallest and a large one keep the same layout. */
static void test_sizes(void) {
    img_rgba *img = NULL;
    CHECK_ERR(img_seal_draw(&img, NAME, CODE, 64, NULL), IMG_OK);
    if (img) {
        CHECK_INT(alpha_at(img, 32, 32), 255);
        CHECK_INT(alpha_at(img, 0, 0), 0);
    }
    img_rgba_free(img);
    img = NULL;
    CHECK_ERR(img_seal_draw(&img, NAME, CODE, 1240, NULL), IMG_OK); /* about 750 dpi */
    if (img) {
        check_inside(img);
        CHECK(fabs(img->dpi_x - 1240 / (42 / 25.4)) < 1e-9);
    }
    img_rgba_free(img);
}

static void test_errors(void) {
    img_rgba *img = (img_rgba *)(uintptr_t)1;
    char path[64], name[65 * 3 + 1];
    CHECK_ERR(img_seal_draw(NULL, NAME, CODE, 496, NULL), IMG_E_ARG);
    CHECK_ERR(img_seal_draw(&img, NULL, CODE, 496, NULL), IMG_E_ARG);
    CHECK(img == NULL);
    CHECK_ERR(img_seal_draw(&img, NAME, CODE, 63, NULL), IMG_E_ARG);
    CHECK_ERR(img_seal_draw(&img, NAME, CODE, 4097, NULL), IMG_E_ARG);
    CHECK_ERR(img_seal_draw(&img, "", CODE, 496, NULL), IMG_E_ARG);
    CHECK_ERR(img_seal_draw(&img, "   ", CODE, 496, NULL), IMG_E_ARG); /* draws nothing */
    CHECK_ERR(img_seal_draw(&img, "示例\xe4\xb8", CODE, 496, NULL), IMG_E_ARG);
    CHECK_ERR(img_seal_draw(&img, NAME, "\xc0\xaf", 496, NULL), IMG_E_ARG);
    /* 65 characters. */
    for (int i = 0; i < 65; i++)
        memcpy(name + 3 * i, "示", 3);
    name[65 * 3] = '\0';
    CHECK_ERR(img_seal_draw(&img, name, CODE, 496, NULL), IMG_E_LIMIT);
    name[64 * 3] = '\0';
    CHECK_ERR(img_seal_draw(&img, name, CODE, 496, NULL), IMG_OK);
    img_rgba_free(img);
    img = NULL;
    /* A character the font lacks: no .notdef boxes in a seal. */
    CHECK_ERR(img_seal_draw(&img, "示例\xf0\x9f\x98\x80公司", CODE, 496, NULL), IMG_E_UNSUPPORTED);
    CHECK(img == NULL);
    /* Not a font. */
    snprintf(path, sizeof path, "/tmp/test_sealdraw.%ld.ttf", (long)getpid());
    {
        struct iovec iov = {.iov_base = (void *)(uintptr_t) "no font here", .iov_len = 12};
        CHECK_INT(file_write_atomic(path, &iov, 1, 0644), 0);
    }
    CHECK_ERR(img_seal_draw(&img, NAME, CODE, 496, path), IMG_E_FORMAT);
    unlink(path);
    CHECK_ERR(img_seal_draw(&img, NAME, CODE, 496, "/nonexistent.ttf"), IMG_E_IO);
}

int main(void) {
    img_font *f = NULL;
    if (img_font_open(&f, NULL, -1) != IMG_OK) {
        printf("test_sealdraw: no default CJK font (%s): skipped\n", img_errdetail());
        return check_report("test_sealdraw");
    }
    img_font_free(f);
    test_seal();
    test_without_code();
    test_long_name();
    test_sizes();
    test_errors();
    return check_report("test_sealdraw");
}
