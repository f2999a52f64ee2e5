/* The fogged seal (imaging/fog.c).
 *
 * The property the PDF tests rely on: no pixel of the fog is "strongly red" (R > 150, G < 110,
 * B < 110 and R - G > 80), neither as it is nor laid on a white page, nor blended with its
 * neighbours, while a faded seal is still plainly there. Uses a seal drawn by img_seal_draw
 * when a default CJK font is installed, and always a rim-and-star picture made here. The fog
 * is written to the build directory for a look (ESEAL_BUILD_DIR/tests/fog.png). */
#include "imaging/seal.h"

#include "tests/unit/check.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int strongly_red(double r, double g, double b) {
    return r > 150 && g < 110 && b < 110 && r - g > 80;
}

/* A seal-like picture without fonts: rim and a filled disc in the middle, seal red, ink in
 * alpha. */
static img_rgba *plain_seal(uint32_t px) {
    img_rgba *img = NULL;
    double c = px / 2.0;
    if (img_rgba_new(&img, px, px) != IMG_OK)
        return NULL;
    for (uint32_t y = 0; y < px; y++)
        for (uint32_t x = 0; x < px; x++) {
            uint8_t *p = img->px + ((size_t)y * px + x) * 4;
            double d = hypot(x + 0.5 - c, y + 0.5 - c);
            p[0] = 220;
            p[1] = 30;
            p[2] = 40;
            p[3] = (d > 0.45 * px && d < 0.49 * px) || d < 0.15 * px ? 255 : 0;
        }
    img->dpi_x = img->dpi_y = 300;
    return img;
}

static void save(const img_rgba *img, const char *name) {
    const char *dir = getenv("ESEAL_BUILD_DIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s%s", dir ? dir : "/tmp", dir ? "tests/" : "", name);
    CHECK_ERR(img_png_write_file(path, img), IMG_OK);
    printf("test_fog: wrote %s\n", path);
}

static void check_fog(const img_rgba *seal, const char *what) {
    img_rgba *fog = NULL, *same = NULL, *other = NULL;
    size_t n = (size_t)seal->width * seal->height;
    size_t red = 0, red_white = 0, low_gb = 0, ink = 0, seen = 0, differ = 0, stray = 0;
    double sum_a = 0, sum_a2 = 0;
    CHECK_ERR(img_fog(&fog, seal, 7), IMG_OK);
    if (!fog)
        return;
    CHECK_INT(fog->width, seal->width);
    CHECK_INT(fog->height, seal->height);
    CHECK(fog->dpi_x == seal->dpi_x && fog->dpi_y == seal->dpi_y);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = fog->px + 4 * i, *s = seal->px + 4 * i;
        double a = p[3] / 255.0;
        /* As stored, and as shown on a white page. */
        red += strongly_red(p[0], p[1], p[2]);
        red_white += strongly_red(a * p[0] + (1 - a) * 255, a * p[1] + (1 - a) * 255,
                                  a * p[2] + (1 - a) * 255);
        /* The convex set fog.c promises, so that blends stay out of "strongly red" too. */
        low_gb += p[1] < 120 || p[2] < 120 || p[0] - p[1] > 80;
        if (s[3] > 200) {
            ink++;
            seen += p[3] > 0.3 * 255 && p[0] > p[1] + 30;
            sum_a += a;
            sum_a2 += a * a;
        } else {
            /* The corners, far from any ink, stay clear (the haze reaches a little way out). */
            size_t x = i % seal->width, y = i / seal->width;
            size_t cx = x < seal->width / 2 ? x : seal->width - 1 - x;
            size_t cy = y < seal->height / 2 ? y : seal->height - 1 - y;
            stray += p[3] > 0 && cx + cy < seal->width / 16;
        }
    }
    {
        double mean = sum_a / (double)ink, sd = sqrt(sum_a2 / (double)ink - mean * mean);
        printf("test_fog: %s: %zu ink px, %zu show as faded seal; alpha mean %.2f sd %.3f\n", what,
               ink, seen, mean, sd);
        CHECK(mean > 0.5 && mean < 0.8);
        CHECK(sd > 0.04); /* noisy, not a flat copy */
    }
    CHECK_INT(red, 0);
    CHECK_INT(red_white, 0);
    CHECK_INT(low_gb, 0);
    CHECK(ink > 1000);
    CHECK(seen > ink * 8 / 10);
    CHECK_INT(stray, 0);
    CHECK_INT(fog->px[3], 0); /* a corner */
    /* Same seed, same fog; another seed, another fog. */
    CHECK_ERR(img_fog(&same, seal, 7), IMG_OK);
    CHECK_ERR(img_fog(&other, seal, 8), IMG_OK);
    if (same)
        CHECK(memcmp(same->px, fog->px, n * 4) == 0);
    if (other) {
        for (size_t i = 0; i < n; i++)
            differ += memcmp(other->px + 4 * i, fog->px + 4 * i, 4) != 0;
        CHECK(differ > ink / 2);
    }
    img_rgba_free(fog);
    img_rgba_free(same);
    img_rgba_free(other);
}

static void test_drawn(void) {
    img_rgba *seal = NULL, *fog = NULL;
    if (img_seal_draw(&seal, "示例科技有限公司", "1101080012345", 496, NULL) != IMG_OK) {
        printf("test_fog: no seal drawn (%s): drawn-seal checks skipped\n", img_errdetail());
        return;
    }
    check_fog(seal, "drawn seal");
    CHECK_ERR(img_fog(&fog, seal, 1), IMG_OK);
    if (fog)
        save(fog, "fog.png");
    img_rgba_free(fog);
    img_rgba_free(seal);
}

static void test_plain(void) {
    img_rgba *seal = plain_seal(400);
    CHECK(seal != NULL);
    if (seal)
        check_fog(seal, "plain seal");
    img_rgba_free(seal);
    /* Small and not square. */
    {
        img_rgba *img = NULL, *fog = NULL;
        CHECK_ERR(img_rgba_new(&img, 3, 1), IMG_OK);
        if (img) {
            memset(img->px, 255, 12);
            CHECK_ERR(img_fog(&fog, img, 0), IMG_OK);
        }
        img_rgba_free(fog);
        img_rgba_free(img);
    }
}

static void test_errors(void) {
    img_rgba *fog = (img_rgba *)(uintptr_t)1, *big = NULL;
    img_rgba empty = {0};
    CHECK_ERR(img_fog(NULL, NULL, 0), IMG_E_ARG);
    CHECK_ERR(img_fog(&fog, NULL, 0), IMG_E_ARG);
    CHECK(fog == NULL);
    CHECK_ERR(img_fog(&fog, &empty, 0), IMG_E_ARG);
    CHECK_ERR(img_rgba_new(&big, 4097, 1), IMG_OK);
    if (big)
        CHECK_ERR(img_fog(&fog, big, 0), IMG_E_LIMIT);
    img_rgba_free(big);
}

int main(void) {
    test_drawn();
    test_plain();
    test_errors();
    return check_report("test_fog");
}
