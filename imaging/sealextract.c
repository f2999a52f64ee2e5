/* Taking a seal out of a scan as a clean picture.
 *
 * The picture is a square around the seal's circle with a little margin. Its colour is one
 * seal red everywhere, and its alpha carries the ink: how strongly each pixel holds the seal's
 * colour against the paper around it (the same measure as sealfind.c, against a local
 * estimate of the paper), mapped smoothly from "paper" to "the seal's own good ink", and
 * faded out just beyond the circle so red marks next to the seal stay behind. Black text or
 * strokes across the seal absorb every channel alike and are not seal ink, so they leave
 * the seal (a gap where they crossed it).
 *
 * Resampling is separable, with the Keys cubic convolution kernel (a = -0.5; R. Keys, IEEE
 * Trans. ASSP 29(6), 1981) widened by the reduction factor when the picture is made smaller,
 * so downscaling averages over the area each output pixel covers (as Pillow and ImageMagick
 * resize). Only the alpha channel is resampled: the colour is constant. */
#include "imaging/internal.h"
#include "imaging/seal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MM_PER_INCH 25.4
#define DPI_MIN 50.0
#define DPI_MAX 2400.0

#define MARGIN 0.04        /* each side, as a share of the seal's diameter */
#define MAX_SIDE 5000u     /* the largest picture made, and the largest crop read */
#define PAPER_BLOCK_MM 6.0 /* local paper estimate */
#define FADE_IN_MM 0.4     /* alpha fades out from this far outside the circle ... */
#define FADE_OUT_MM 1.6    /* ... to nothing this far outside */
#define HB 1024            /* histogram bins for strengths 0..1 */

/* The seal red of the picture (the colour seal pictures are drawn in). */
static const uint8_t seal_red[3] = {220, 30, 40};

/* Keys' cubic convolution kernel, a = -0.5. */
static double keys(double x) {
    x = fabs(x);
    if (x < 1)
        return (1.5 * x - 2.5) * x * x + 1;
    if (x < 2)
        return ((-0.5 * x + 2.5) * x - 4) * x + 2;
    return 0;
}

/* Filter taps for resampling n_out samples from positions pos(i) = origin + i / k in the
 * source (index coordinates), source indices clamped to [0, n_in). Each output sample gets
 * taps consecutive source samples starting at first[i], weights w[i * taps ...] summing to 1. */
struct taps {
    int taps;
    long *first;
    double *w;
};

static img_err make_taps(struct taps *t, uint32_t n_out, double origin, double k, long n_in) {
    img_err rc = IMG_OK;
    double support = 2.0 * (k < 1 ? 1 / k : 1), scale = k < 1 ? k : 1;
    t->taps = (int)ceil(2 * support) + 1;
    t->first = malloc((size_t)n_out * sizeof *t->first);
    t->w = calloc((size_t)n_out * t->taps, sizeof *t->w);
    if (!t->first || !t->w) {
        rc = img_fail(IMG_E_NOMEM, "seal extract: no memory for the resampling filter");
        goto out;
    }
    for (uint32_t i = 0; i < n_out; i++) {
        double pos = origin + i / k, sum = 0;
        long first = (long)floor(pos - support) + 1;
        double *w = t->w + (size_t)i * t->taps;
        t->first[i] = first;
        for (int j = 0; j < t->taps; j++) {
            long src = first + j;
            w[j] = src >= 0 && src < n_in ? keys((src - pos) * scale) : 0;
            sum += w[j];
        }
        for (int j = 0; j < t->taps; j++)
            w[j] = sum != 0 ? w[j] / sum : 0;
    }
out:
    return rc;
}

static void free_taps(struct taps *t) {
    free(t->first);
    free(t->w);
}

/* The crop and what is known of it. */
struct crop {
    const img_rgba *scan;
    long x0, y0;   /* top-left scan pixel */
    uint32_t w, h; /* size, inside the scan */
    uint32_t bs, bw, bh;
    float *paper; /* 3 per block */
    int blue;     /* ink class: blue-to-purple rather than red */
};

static void crop_pixel(const void *ctx, uint32_t x, uint32_t y, uint8_t rgb[3]) {
    const struct crop *cr = ctx;
    const uint8_t *p =
        cr->scan->px + ((size_t)(cr->y0 + y) * cr->scan->width + (size_t)(cr->x0 + x)) * 4;
    memcpy(rgb, p, 3);
}

/* The paper's colour per block of the crop (imaging/scan.c), never darker than 24. */
static img_err crop_paper(struct crop *cr) {
    size_t nb = (size_t)cr->bw * cr->bh;
    cr->paper = malloc(nb * 3 * sizeof *cr->paper);
    if (!cr->paper)
        return img_fail(IMG_E_NOMEM, "seal extract: no memory for the paper estimate");
    img_err rc = img_paper_blocks(cr->paper, cr->w, cr->h, cr->bs, crop_pixel, cr);
    for (size_t i = 0; rc == IMG_OK && i < nb * 3; i++)
        cr->paper[i] = fmaxf(cr->paper[i], 24.0f);
    return rc;
}

/* The ink strength of one row of the crop (see sealfind.c: min(Ag, Ab) - Ar for red, with
 * Ac = 1 - c / paper_c), paper interpolated between block centres. */
static void strength_row(const struct crop *cr, uint32_t y, float *out) {
    const uint8_t *p = cr->scan->px + ((size_t)(cr->y0 + y) * cr->scan->width + (size_t)cr->x0) * 4;
    double gy = (y + 0.5) / cr->bs - 0.5;
    uint32_t y0, y1;
    float ty;
    gy = gy < 0 ? 0 : gy > cr->bh - 1 ? cr->bh - 1 : gy;
    y0 = (uint32_t)gy;
    y1 = y0 + 1 < cr->bh ? y0 + 1 : y0;
    ty = (float)(gy - y0);
    for (uint32_t x = 0; x < cr->w; x++) {
        double gx = (x + 0.5) / cr->bs - 0.5;
        uint32_t x0, x1;
        float tx, a[3];
        gx = gx < 0 ? 0 : gx > cr->bw - 1 ? cr->bw - 1 : gx;
        x0 = (uint32_t)gx;
        x1 = x0 + 1 < cr->bw ? x0 + 1 : x0;
        tx = (float)(gx - x0);
        for (int c = 0; c < 3; c++) {
            const float *pp = cr->paper;
            float paper = (pp[((size_t)y0 * cr->bw + x0) * 3 + c] * (1 - tx) +
                           pp[((size_t)y0 * cr->bw + x1) * 3 + c] * tx) *
                              (1 - ty) +
                          (pp[((size_t)y1 * cr->bw + x0) * 3 + c] * (1 - tx) +
                           pp[((size_t)y1 * cr->bw + x1) * 3 + c] * tx) *
                              ty;
            float n = p[4 * x + c] / paper;
            a[c] = 1.0f - (n > 1.0f ? 1.0f : n);
        }
        out[x] = cr->blue ? fmaxf(0.0f, fminf(a[0], a[1]) - a[2])
                          : fmaxf(0.0f, fminf(a[1], a[2]) - a[0]);
    }
}

static double percentile(const uint32_t *hist, uint64_t total, double q) {
    uint64_t want = (uint64_t)(q * total), seen = 0;
    int v = 0;
    while (v < HB - 1 && seen + hist[v] <= want)
        seen += hist[v++];
    return (v + 0.5) / HB;
}

/* smoothstep (the C1 cubic Hermite step) of x between lo and hi. */
static double smoothstep(double lo, double hi, double x) {
    double t = (x - lo) / (hi - lo);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return t * t * (3 - 2 * t);
}

img_err img_seal_extract(img_rgba **out, const img_rgba *scan, const img_seal_candidate *c,
                         double dpi, double diameter_mm) {
    img_err rc = IMG_OK;
    struct crop cr;
    struct taps th = {0, NULL, NULL}, tv = {0, NULL, NULL};
    uint32_t *hin = NULL, *hout = NULL;
    float *row = NULL, *mid = NULL;
    img_rgba *img = NULL;
    double d_out, k, r, px_mm, half, lo, hi, ox, oy, fade0, fade1;
    uint64_t nin = 0, nout = 0;
    uint32_t side;
    long x1, y1;
    memset(&cr, 0, sizeof cr);
    if (out)
        *out = NULL;
    if (!out || !scan || !scan->px || !scan->width || !scan->height || !c) {
        rc = img_fail(IMG_E_ARG, "img_seal_extract: NULL argument or empty scan");
        goto out;
    }
    if (!(diameter_mm > 0 && diameter_mm <= 200) || !(dpi >= 0 && dpi <= DPI_MAX) ||
        (dpi > 0 && dpi < DPI_MIN)) {
        rc = img_fail(IMG_E_ARG,
                      "img_seal_extract: diameter %g mm or resolution %g dpi out of "
                      "range (up to 200 mm; %g-%g dpi, or 0)",
                      diameter_mm, dpi, DPI_MIN, DPI_MAX);
        goto out;
    }
    if (!(c->diameter >= 8 && c->diameter <= MAX_SIDE) || !(c->cx >= 0 && c->cx < scan->width) ||
        !(c->cy >= 0 && c->cy < scan->height)) {
        rc = img_fail(IMG_E_ARG,
                      "img_seal_extract: seal at (%g, %g), %g px across, is not on the %ux%u "
                      "scan or not 8-%u px across",
                      c->cx, c->cy, c->diameter, (unsigned)scan->width, (unsigned)scan->height,
                      MAX_SIDE);
        goto out;
    }
    dpi = img_scan_dpi(scan, dpi, NULL);
    px_mm = dpi / MM_PER_INCH;
    d_out = diameter_mm * px_mm; /* the seal across in the picture, pixels */
    k = d_out / c->diameter;     /* picture pixels per scan pixel */
    side = (uint32_t)ceil(d_out * (1 + 2 * MARGIN));
    if (side > MAX_SIDE || side < 8) {
        rc = img_fail(IMG_E_LIMIT,
                      "img_seal_extract: a %g mm seal at %g dpi would be %u px across (8-%u)",
                      diameter_mm, dpi, side, MAX_SIDE);
        goto out;
    }
    r = c->diameter / 2;
    /* The crop: what the picture's filter can reach, inside the scan. */
    half = (side / 2.0) / k + 3 * (k < 1 ? 1 / k : 1) + 2;
    cr.scan = scan;
    cr.x0 = (long)floor(c->cx - half);
    cr.y0 = (long)floor(c->cy - half);
    x1 = (long)ceil(c->cx + half);
    y1 = (long)ceil(c->cy + half);
    cr.x0 = cr.x0 < 0 ? 0 : cr.x0;
    cr.y0 = cr.y0 < 0 ? 0 : cr.y0;
    x1 = x1 > (long)scan->width ? (long)scan->width : x1;
    y1 = y1 > (long)scan->height ? (long)scan->height : y1;
    cr.w = (uint32_t)(x1 - cr.x0);
    cr.h = (uint32_t)(y1 - cr.y0);
    cr.blue = strcmp(c->colour, "blue") == 0 || strcmp(c->colour, "purple") == 0;
    /* the seal's own scale for millimetres: its measured diameter is diameter_mm */
    cr.bs = (uint32_t)fmax(8.0, floor(PAPER_BLOCK_MM * c->diameter / diameter_mm + 0.5));
    cr.bw = (cr.w + cr.bs - 1) / cr.bs;
    cr.bh = (cr.h + cr.bs - 1) / cr.bs;
    rc = crop_paper(&cr);
    if (rc != IMG_OK)
        goto out;

    /* The strengths of the seal's ink (inside the circle) and of the paper around it. */
    hin = calloc(HB, sizeof *hin);
    hout = calloc(HB, sizeof *hout);
    row = malloc((size_t)cr.w * sizeof *row);
    mid = malloc((size_t)cr.h * side * sizeof *mid);
    if (!hin || !hout || !row || !mid) {
        rc = img_fail(IMG_E_NOMEM, "seal extract: no memory for a %ux%u crop", (unsigned)cr.w,
                      (unsigned)cr.h);
        goto out;
    }
    fade0 = r + FADE_IN_MM * c->diameter / diameter_mm;
    fade1 = r + FADE_OUT_MM * c->diameter / diameter_mm;
    for (uint32_t y = 0; y < cr.h; y++) {
        double dy = cr.y0 + (double)y - c->cy;
        strength_row(&cr, y, row);
        for (uint32_t x = 0; x < cr.w; x++) {
            double rho = hypot(cr.x0 + (double)x - c->cx, dy);
            int bin = (int)(row[x] * HB);
            bin = bin >= HB ? HB - 1 : bin;
            if (rho <= r) {
                hin[bin]++;
                nin++;
            } else if (rho >= fade1) {
                hout[bin]++;
                nout++;
            }
        }
    }
    /* alpha 1 at the seal's good ink: most of a seal's disc is paper, its strongest few
     * percent are the ring and strokes; alpha 0 at what the paper around reaches by noise */
    hi = 0.85 * percentile(hin, nin, 0.97);
    lo = nout > 0 ? percentile(hout, nout, 0.99) : 0.02;
    lo = fmax(lo, 0.2 * hi);
    if (!(hi > lo + 0.01))
        hi = lo + 0.01;

    /* Alpha, faded out beyond the circle, resampled: rows first, then columns. */
    ox = c->cx - (side - 1) / 2.0 / k - cr.x0;
    oy = c->cy - (side - 1) / 2.0 / k - cr.y0;
    rc = make_taps(&th, side, ox, k, cr.w);
    if (rc == IMG_OK)
        rc = make_taps(&tv, side, oy, k, cr.h);
    if (rc == IMG_OK)
        rc = img_rgba_new(&img, side, side);
    if (rc != IMG_OK)
        goto out;
    for (uint32_t y = 0; y < cr.h; y++) {
        double dy = cr.y0 + (double)y - c->cy;
        float *m = mid + (size_t)y * side;
        strength_row(&cr, y, row);
        for (uint32_t x = 0; x < cr.w; x++) {
            double rho = hypot(cr.x0 + (double)x - c->cx, dy);
            row[x] = (float)(smoothstep(lo, hi, row[x]) * (1 - smoothstep(fade0, fade1, rho)));
        }
        for (uint32_t i = 0; i < side; i++) {
            const double *w = th.w + (size_t)i * th.taps;
            double v = 0;
            for (int j = 0; j < th.taps; j++) {
                long src = th.first[i] + j;
                if (w[j] != 0)
                    v += w[j] * row[src];
            }
            m[i] = (float)v;
        }
    }
    for (uint32_t yo = 0; yo < side; yo++) {
        const double *w = tv.w + (size_t)yo * tv.taps;
        uint8_t *p = img->px + (size_t)yo * side * 4;
        for (uint32_t i = 0; i < side; i++) {
            double v = 0;
            for (int j = 0; j < tv.taps; j++) {
                long src = tv.first[yo] + j;
                if (w[j] != 0)
                    v += w[j] * mid[(size_t)src * side + i];
            }
            v = v < 0 ? 0 : v > 1 ? 1 : v;
            p[4 * i] = seal_red[0];
            p[4 * i + 1] = seal_red[1];
            p[4 * i + 2] = seal_red[2];
            p[4 * i + 3] = (uint8_t)lround(v * 255);
        }
    }
    img->dpi_x = dpi;
    img->dpi_y = dpi;
    *out = img;
    img = NULL;
out:
    free(cr.paper);
    free_taps(&th);
    free_taps(&tv);
    free(hin);
    free(hout);
    free(row);
    free(mid);
    img_rgba_free(img);
    return rc;
}
