/* The fogged seal for the screen (img_fog).
 *
 * DESIGN.md "Licence stamp layers": the crisp seal is printed and never displayed; what the
 * screen shows is this fog, so a screenshot only ever carries a seal that is plainly not a
 * usable one. The fog keeps the seal recognisable (a person sees that it is sealed, and by
 * whom) while taking away what a copy would need:
 *   - colour: a light, greyish pink instead of seal red, never "strongly red" (below);
 *   - contrast: at most FOG_ALPHA_MAX opaque, so the page shows through everywhere;
 *   - edges: blurred (haze), with a faint halo around the strokes and a faint offset ghost;
 *   - texture: per-pixel grain, a mottled ink density, and washed-out blotches.
 * Everything random comes from the seed (splitmix64, and a hash of the seed and the pixel's
 * position for per-pixel noise), so one seed gives the same picture every time.
 *
 * The colour guarantee. The PDF tests tell the crisp seal from the fog by "strongly red"
 * pixels: R > 150, G < 110, B < 110 and R - G > 80. That set's complement is not convex (two
 * allowed colours can blend into a strongly red one), and a reader blends our pixels with each
 * other (resampling) and with the page (alpha). So every pixel here, transparent ones
 * included, is kept inside a convex set well away from it: G >= FOG_MIN_GB, B >= FOG_MIN_GB
 * and R - G <= FOG_MAX_RG. Any blend of such pixels, and any blend of one with a white page,
 * stays inside; the test colour needs G < 110. */
#include "imaging/seal.h"

#include "imaging/internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Pictures up to 4096 x 4096 (a 42 mm seal at 2500 dpi); the fog needs about 16 bytes per
 * pixel while it works. */
#define FOG_MAX_SIDE 4096u
/* Where the ink was fully on: this colour at about FOG_ALPHA_INK opacity. */
#define FOG_R 236.0
#define FOG_G 160.0
#define FOG_B 166.0
#define FOG_ALPHA_INK 0.74
#define FOG_ALPHA_MAX 0.82
/* The convex set every pixel stays in (see the top of the file). */
#define FOG_MIN_GB 128.0
#define FOG_MAX_RG 78.0
#define FOG_MAX_R 246.0

#define PI 3.14159265358979323846

/* ---- Randomness -------------------------------------------------------------------------------
 */

/* splitmix64 (Steele, Lea, Flood: "Fast splittable pseudorandom number generators", 2014). */
static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t next64(uint64_t *state) {
    *state += UINT64_C(0x9e3779b97f4a7c15);
    return mix64(*state);
}

/* Uniform in [0, 1). */
static double unit(uint64_t r) {
    return (double)(r >> 11) * (1.0 / 9007199254740992.0);
}

static double rnd(uint64_t *state) {
    return unit(next64(state));
}

/* Uniform in [-1, 1) for pixel (x, y) and channel k: a hash, so it does not depend on order. */
static double noise(uint64_t seed, uint32_t x, uint32_t y, uint32_t k) {
    uint64_t h =
        mix64(seed ^ ((uint64_t)y << 32 | x) * UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)k << 60);
    return 2 * unit(h) - 1;
}

/* ---- Planes of floats --------------------------------------------------------------------------
 */

static double clamp(double v, double lo, double hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

/* A box blur of radius r along rows (dx = 1) or columns, edges clamped: one pass of running
 * sums, so its cost does not depend on r. */
static void box_pass(float *dst, const float *src, uint32_t w, uint32_t h, uint32_t r, int rows) {
    uint32_t n = rows ? w : h, lines = rows ? h : w;
    size_t step = rows ? 1 : w;
    for (uint32_t l = 0; l < lines; l++) {
        const float *s = src + (rows ? (size_t)l * w : l);
        float *d = dst + (rows ? (size_t)l * w : l);
        double sum = 0;
        /* The window around i is i-r..i+r, indices clamped to 0..n-1. */
        for (int64_t i = -(int64_t)r; i <= (int64_t)r; i++)
            sum += s[(size_t)(i < 0 ? 0 : i >= n ? n - 1 : i) * step];
        for (uint32_t i = 0; i < n; i++) {
            int64_t out_i = (int64_t)i - r, in_i = (int64_t)i + r + 1;
            d[(size_t)i * step] = (float)(sum / (2 * r + 1));
            sum -= s[(size_t)(out_i < 0 ? 0 : out_i) * step];
            sum += s[(size_t)(in_i >= n ? n - 1 : in_i) * step];
        }
    }
}

/* Two box blurs each way (close to a Gaussian of sigma about 0.8 r). tmp: a plane's room. */
static void blur(float *dst, const float *src, float *tmp, uint32_t w, uint32_t h, uint32_t r) {
    box_pass(tmp, src, w, h, r, 1);
    box_pass(dst, tmp, w, h, r, 0);
    box_pass(tmp, dst, w, h, r, 1);
    box_pass(dst, tmp, w, h, r, 0);
}

/* Bilinear sample of plane p at (x, y), clamped to the edges. */
static double sample(const float *p, uint32_t w, uint32_t h, double x, double y) {
    double fx, fy;
    uint32_t x0, y0, x1, y1;
    x = clamp(x, 0, w - 1);
    y = clamp(y, 0, h - 1);
    x0 = (uint32_t)x;
    y0 = (uint32_t)y;
    x1 = x0 + 1 < w ? x0 + 1 : x0;
    y1 = y0 + 1 < h ? y0 + 1 : y0;
    fx = x - x0;
    fy = y - y0;
    return (1 - fy) * ((1 - fx) * p[(size_t)y0 * w + x0] + fx * p[(size_t)y0 * w + x1]) +
           fy * ((1 - fx) * p[(size_t)y1 * w + x0] + fx * p[(size_t)y1 * w + x1]);
}

/* ---- The fog -----------------------------------------------------------------------------------
 */

/* Washed-out blotches: the ink strength is multiplied by 1 - depth (1 - (d/r)^2)^2 inside. */
enum { BLOTCHES_MAX = 24 };
struct blotch {
    double x, y, r, depth;
};

img_err img_fog(img_rgba **out, const img_rgba *seal, uint32_t seed) {
    img_err rc = IMG_OK;
    img_rgba *img = NULL;
    float *ink = NULL, *soft = NULL, *halo = NULL, *tmp = NULL, *mottle = NULL;
    struct blotch bl[BLOTCHES_MAX];
    uint64_t state = mix64(seed ^ UINT64_C(0x5eed5eed5eed5eed)), pseed;
    uint32_t w, h, s, nb, grid_w, grid_h;
    size_t n;
    double gdx, gdy, cell, ang;
    if (out)
        *out = NULL;
    if (!out || !seal || !seal->px) {
        rc = img_fail(IMG_E_ARG, "img_fog: NULL %s", out ? "seal" : "out");
        goto out;
    }
    w = seal->width;
    h = seal->height;
    if (w == 0 || h == 0 || w > FOG_MAX_SIDE || h > FOG_MAX_SIDE) {
        rc = img_fail(w && h ? IMG_E_LIMIT : IMG_E_ARG,
                      "img_fog: %" PRIu32 " x %" PRIu32 " px (1 to %u each way)", w, h,
                      FOG_MAX_SIDE);
        goto out;
    }
    n = (size_t)w * h;
    s = w < h ? w : h;
    pseed = next64(&state);
    /* The mottle: random values on a coarse grid, interpolated. */
    cell = fmax(4, s / 36.0);
    grid_w = (uint32_t)(w / cell) + 2;
    grid_h = (uint32_t)(h / cell) + 2;
    ink = malloc(n * sizeof *ink);
    soft = malloc(n * sizeof *soft);
    halo = malloc(n * sizeof *halo);
    tmp = malloc(n * sizeof *tmp);
    mottle = malloc((size_t)grid_w * grid_h * sizeof *mottle);
    if (!ink || !soft || !halo || !tmp || !mottle) {
        rc = img_fail(IMG_E_NOMEM, "img_fog: no memory for %" PRIu32 " x %" PRIu32 " px", w, h);
        goto out;
    }
    rc = img_rgba_new(&img, w, h);
    if (rc != IMG_OK)
        goto out;
    img->dpi_x = seal->dpi_x;
    img->dpi_y = seal->dpi_y;

    /* The ink: the seal picture's alpha (img_seal_draw and img_seal_extract give one colour
     * with the ink's strength as alpha). */
    for (size_t i = 0; i < n; i++)
        ink[i] = seal->px[4 * i + 3] / 255.0f;
    /* Haze: soft edges, and a wide faint halo. */
    blur(soft, ink, tmp, w, h, s / 320 + 1);
    blur(halo, ink, tmp, w, h, s / 28 + 2);
    for (size_t i = 0; i < (size_t)grid_w * grid_h; i++)
        mottle[i] = (float)rnd(&state);
    /* A ghost of the strokes, offset a little in a direction from the seed. */
    ang = 2 * PI * rnd(&state);
    gdx = s * 0.011 * cos(ang);
    gdy = s * 0.011 * sin(ang);
    nb = 12 + (uint32_t)(rnd(&state) * 10);
    for (uint32_t k = 0; k < nb; k++) {
        bl[k].x = w * (0.1 + 0.8 * rnd(&state));
        bl[k].y = h * (0.1 + 0.8 * rnd(&state));
        bl[k].r = s * (0.03 + 0.07 * rnd(&state));
        bl[k].depth = 0.35 + 0.4 * rnd(&state);
    }

    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            double v = soft[i], ghost = sample(soft, w, h, x - gdx, y - gdy);
            double m = sample(mottle, grid_w, grid_h, x / cell, y / cell);
            double a, r, g, b;
            uint8_t *p = img->px + 4 * i;
            v = v + 0.35 * ghost * (1 - v);
            for (uint32_t k = 0; k < nb; k++) {
                double dx = x - bl[k].x, dy = y - bl[k].y,
                       q = (dx * dx + dy * dy) / (bl[k].r * bl[k].r);
                if (q < 1)
                    v *= 1 - bl[k].depth * (1 - q) * (1 - q);
            }
            v *= 0.72 + 0.4 * m;                   /* mottled density */
            v *= 1 + 0.22 * noise(pseed, x, y, 0); /* grain */
            a = FOG_ALPHA_INK * clamp(v, 0, 1.1) + 0.22 * halo[i] * (1 - clamp(v, 0, 1));
            if (halo[i] > 0.01)
                a += 0.03 * noise(pseed, x, y, 1) * fmin(1, halo[i] * 8);
            a = clamp(a, 0, FOG_ALPHA_MAX);
            /* A lighter, greyer pink where the ink was weaker; grain in the colour too. */
            r = FOG_R + 6 * noise(pseed, x, y, 2);
            g = FOG_G + 14 * noise(pseed, x, y, 3) + 25 * (1 - clamp(v, 0, 1));
            b = FOG_B + 14 * noise(pseed, x, y, 4) + 25 * (1 - clamp(v, 0, 1));
            /* The guarantee: inside the convex set, whatever the noise did. */
            r = fmin(r, FOG_MAX_R);
            g = fmax(fmax(g, FOG_MIN_GB), r - FOG_MAX_RG);
            b = fmax(b, FOG_MIN_GB);
            p[0] = (uint8_t)lround(r);
            p[1] = (uint8_t)lround(fmin(g, 255));
            p[2] = (uint8_t)lround(fmin(b, 255));
            p[3] = (uint8_t)lround(a * 255);
        }
    }
    *out = img;
    img = NULL;
out:
    free(ink);
    free(soft);
    free(halo);
    free(tmp);
    free(mottle);
    img_rgba_free(img);
    return rc;
}
