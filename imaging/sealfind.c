/* Finding the seals stamped on a scanned page.
 *
 * A Chinese enterprise seal (GB/T 38540-2020 5.2 and the Ministry of Public Security's seal
 * rules, GA 241) is a ring 38-45 mm across (ovals up to 50 mm wide) in red ink, with the
 * enterprise's name along the upper arc, a five-point star and the seal's purpose inside. What
 * marks it on a scan is the ring: a circle of coloured ink of the expected size with paper just
 * outside. The search, all of it bounded by the page size and none of it quadratic:
 *
 *  1. Resolution: the caller's, else the file's (when it gives a plausible page), else the page
 *     taken as A4 (210 x 297 mm, portrait or landscape), so sizes can be worked in millimetres.
 *  2. A working copy at about 75 dpi (area averaging), at most MAX_WORK_PIXELS pixels.
 *  3. Paper: a large-scale estimate of the paper's colour (a high percentile per channel in
 *     8 mm blocks, the brightest block of each 3 x 3, interpolated), which every pixel is divided
 *     by, so lighting falloff, tinted paper and colour casts are taken out.
 *  4. Ink classes against that paper: "red" strength min(Ag, Ab) - Ar, "blue" (blue to purple)
 *     min(Ar, Ag) - Ab, where Ac = 1 - c/paper_c is how much light of channel c the ink
 *     absorbs. Grey and black ink (printed text, signatures in black) absorb all channels
 *     alike and count for neither; a blue signature counts only as blue.
 *  5. Candidates: a circle Hough transform on each strength map, voting along the gradient
 *     (Ballard 1981; the 2-1 Hough transform of Yuen et al. 1990) for the centres of rings of
 *     30-55 mm, then for each peak the ring radius from sector profiles: a radius is kept when
 *     enough of 72 sectors hold ink there with clear paper just outside it, and the inside is
 *     not a solid disc (a logo).
 *  6. Refinement at full resolution: 720 rays from the centre find the ring's outer edge (the
 *     half-way crossing between the ring's ink and the paper outside), and a robust circle fit
 *     (Kasa 1976, iteratively trimmed) on those edge points gives centre and diameter; rays
 *     where the edge is missing (overlapping strokes, patchy ink, text outside) drop out.
 *  7. Confidence from the size match, the share of rays that found the ring, the fit residual
 *     and the ink strength; colour from the mean hue of the ring's ink.
 */
#include "imaging/internal.h"
#include "imaging/seal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MM_PER_INCH 25.4
#define PI 3.14159265358979323846
/* A resolution from a file is believed when the page it gives is between these sizes. */
#define DPI_MIN 50.0
#define DPI_MAX 2400.0

/* The working copy: about WORK_DPI, never more than MAX_WORK_PIXELS. */
#define WORK_DPI 75.0
#define MAX_WORK_PIXELS ((uint64_t)2 << 20)
/* Paper blocks, and how far the paper estimate may fall under the page's typical paper. */
#define PAPER_BLOCK_MM 8.0
#define PAPER_FLOOR 0.55

/* Seal sizes (outer diameter): the expected range, and the range the search looks in. */
#define SEAL_MIN_MM 38.0
#define SEAL_MAX_MM 50.0
#define SEARCH_MIN_MM 30.0
#define SEARCH_MAX_MM 56.0
#define RING_HALF_MM 0.9 /* half a ring's width, about */

#define MAX_PEAKS 8  /* Hough peaks examined per ink class */
#define MAX_SEALS 8  /* seals reported at most */
#define N_SECTORS 72 /* 5-degree sectors for the ring test at working resolution */
#define N_RAYS 720   /* rays for the full-resolution fit */

/* Strength thresholds (ink strength as above, 0..1), and a good stamp's ring strength. */
#define INK_MIN 0.045
#define INK_FAINT_MIN 0.012
#define INK_GOOD_RED 0.40
#define INK_GOOD_BLUE 0.22
/* Ring coverage (share of sectors) for a seal, and for a faint one. */
#define COVER_SEAL 0.50
#define COVER_FAINT 0.30
#define FAINT_INK 0.45   /* ink strength under which a seal is too faint to trust */
#define MIN_GEO 0.45     /* shape-and-size score a ring needs to be reported at all */
#define FAINT_RMS_MM 0.5 /* how round a weak ring must be to be flagged as a faint seal */

enum { INK_RED, INK_BLUE, INK_CLASSES };

struct work {
    const img_rgba *scan;
    double dpi;  /* of the scan */
    int guessed; /* dpi from the A4 assumption */
    uint32_t f;  /* scan pixels per working pixel, each way */
    uint32_t w, h;
    double wdpi;     /* working resolution */
    float *rgb;      /* working copy, 3 floats per pixel, 0..255 */
    uint32_t bs;     /* paper block size, working pixels */
    uint32_t bw, bh; /* blocks across and down */
    float *paper;    /* 3 per block */
    float *ink[INK_CLASSES];
    float noise[INK_CLASSES]; /* a strength paper reaches by noise alone */
    float *tmp, *acc;
    int32_t *lut; /* ring test: dx, dy, radial bin, sector, per offset */
    size_t nlut;
    int lut_rmax;
};

/* One candidate as the search carries it. */
struct cand {
    int cls;
    double x, y, r;        /* working pixels; r: the ring's middle */
    double cover, cover_w; /* ring coverage at the ink and the faint threshold */
    int faint_only;        /* found only at the faint threshold */
    /* after refinement, in scan pixels */
    double cx, cy, rout, rms, rays, peak;
    double hue;
    double geo, conf, ink;
    int ok;
};

static double clampd(double v, double lo, double hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

/* 1. The scan's resolution: img_scan_dpi (imaging/scan.c). */

/* 2. The working copy by area averaging (each working pixel the mean of f x f scan pixels;
 * those on the right and bottom edges of fewer). */
static img_err make_working(struct work *wk) {
    img_err rc = IMG_OK;
    const img_rgba *s = wk->scan;
    double *row = NULL;
    uint32_t f = (uint32_t)fmax(1.0, floor(wk->dpi / WORK_DPI + 0.5));
    while ((uint64_t)((s->width + f - 1) / f) * ((s->height + f - 1) / f) > MAX_WORK_PIXELS)
        f++;
    wk->f = f;
    wk->w = (s->width + f - 1) / f;
    wk->h = (s->height + f - 1) / f;
    wk->wdpi = wk->dpi / f;
    wk->rgb = malloc((size_t)wk->w * wk->h * 3 * sizeof *wk->rgb);
    row = calloc((size_t)wk->w * 3, sizeof *row);
    if (!wk->rgb || !row) {
        rc = img_fail(IMG_E_NOMEM, "seal search: no memory for a %ux%u working copy",
                      (unsigned)wk->w, (unsigned)wk->h);
        goto out;
    }
    for (uint32_t wy = 0; wy < wk->h; wy++) {
        uint32_t y0 = wy * f, y1 = y0 + f < s->height ? y0 + f : s->height;
        memset(row, 0, (size_t)wk->w * 3 * sizeof *row);
        for (uint32_t y = y0; y < y1; y++) {
            const uint8_t *p = s->px + (size_t)y * s->width * 4;
            for (uint32_t x = 0; x < s->width; x++) {
                double *r = row + (size_t)(x / f) * 3;
                r[0] += p[4 * x];
                r[1] += p[4 * x + 1];
                r[2] += p[4 * x + 2];
            }
        }
        for (uint32_t wx = 0; wx < wk->w; wx++) {
            uint32_t x0 = wx * f, x1 = x0 + f < s->width ? x0 + f : s->width;
            double n = (double)(x1 - x0) * (y1 - y0);
            for (int c = 0; c < 3; c++)
                wk->rgb[((size_t)wy * wk->w + wx) * 3 + c] = (float)(row[wx * 3 + c] / n);
        }
    }
out:
    free(row);
    return rc;
}

/* 3. The paper's colour per block: the 90th percentile of each channel, then the brightest of
 * each 3 x 3 blocks (a block full of ink takes its neighbours' paper), and never below
 * PAPER_FLOOR of the page's median paper (a dark scanner border is not paper). */
static void working_pixel(const void *ctx, uint32_t x, uint32_t y, uint8_t rgb[3]) {
    const struct work *wk = ctx;
    const float *p = wk->rgb + ((size_t)y * wk->w + x) * 3;
    for (int c = 0; c < 3; c++)
        rgb[c] = (uint8_t)p[c];
}

static img_err estimate_paper(struct work *wk) {
    img_err rc = IMG_OK;
    float lum_med, *lums = NULL;
    size_t nb;
    wk->bs = (uint32_t)fmax(6.0, floor(PAPER_BLOCK_MM / MM_PER_INCH * wk->wdpi + 0.5));
    wk->bw = (wk->w + wk->bs - 1) / wk->bs;
    wk->bh = (wk->h + wk->bs - 1) / wk->bs;
    nb = (size_t)wk->bw * wk->bh;
    lums = malloc(nb * sizeof *lums);
    wk->paper = malloc(nb * 3 * sizeof *wk->paper);
    if (!lums || !wk->paper) {
        rc = img_fail(IMG_E_NOMEM, "seal search: no memory for the paper estimate");
        goto out;
    }
    if ((rc = img_paper_blocks(wk->paper, wk->w, wk->h, wk->bs, working_pixel, wk)) != IMG_OK)
        goto out;
    /* The page's median paper (of the block values), as a floor. */
    for (size_t b = 0; b < nb; b++)
        lums[b] = wk->paper[b * 3] + wk->paper[b * 3 + 1] + wk->paper[b * 3 + 2];
    {
        /* nth element by counting: luminance sums are 0..768 */
        uint32_t cnt[770] = {0};
        size_t seen = 0;
        int v = 0;
        for (size_t b = 0; b < nb; b++)
            cnt[(int)lums[b]]++;
        while (v < 769 && seen + cnt[v] <= nb / 2)
            seen += cnt[v++];
        lum_med = (float)v;
    }
    for (size_t b = 0; b < nb; b++) {
        float *p = wk->paper + b * 3;
        if (lums[b] < PAPER_FLOOR * lum_med) {
            float k = (float)(PAPER_FLOOR * lum_med) / (lums[b] > 1 ? lums[b] : 1);
            for (int c = 0; c < 3; c++)
                p[c] = fminf(255.5f, p[c] * k);
        }
        for (int c = 0; c < 3; c++)
            p[c] = fmaxf(p[c], 24.0f);
    }
out:
    free(lums);
    return rc;
}

/* The paper's colour at working position (x, y), interpolated between block centres. */
static void paper_at(const struct work *wk, double x, double y, float out[3]) {
    double gx = clampd(x / wk->bs - 0.5, 0, wk->bw - 1),
           gy = clampd(y / wk->bs - 0.5, 0, wk->bh - 1);
    uint32_t x0 = (uint32_t)gx, y0 = (uint32_t)gy;
    uint32_t x1 = x0 + 1 < wk->bw ? x0 + 1 : x0, y1 = y0 + 1 < wk->bh ? y0 + 1 : y0;
    float tx = (float)(gx - x0), ty = (float)(gy - y0);
    const float *a = wk->paper + ((size_t)y0 * wk->bw + x0) * 3;
    const float *b = wk->paper + ((size_t)y0 * wk->bw + x1) * 3;
    const float *c = wk->paper + ((size_t)y1 * wk->bw + x0) * 3;
    const float *d = wk->paper + ((size_t)y1 * wk->bw + x1) * 3;
    for (int i = 0; i < 3; i++)
        out[i] = (a[i] * (1 - tx) + b[i] * tx) * (1 - ty) + (c[i] * (1 - tx) + d[i] * tx) * ty;
}

/* 4. Ink strengths of a colour against its paper. */
static void strengths(const float rgb[3], const float paper[3], float out[INK_CLASSES]) {
    float a[3];
    for (int c = 0; c < 3; c++) {
        float n = rgb[c] / paper[c];
        a[c] = 1.0f - (n > 1.0f ? 1.0f : n);
    }
    out[INK_RED] = fmaxf(0.0f, fminf(a[1], a[2]) - a[0]);
    out[INK_BLUE] = fmaxf(0.0f, fminf(a[0], a[1]) - a[2]);
}

/* Hue in degrees (HSV) of a colour relative to its paper. */
static double hue_of(const double n[3]) {
    double mx = fmax(n[0], fmax(n[1], n[2])), mn = fmin(n[0], fmin(n[1], n[2]));
    double d = mx - mn, h;
    if (d <= 1e-9)
        return -1;
    if (mx == n[0])
        h = fmod((n[1] - n[2]) / d + 6.0, 6.0);
    else if (mx == n[1])
        h = (n[2] - n[0]) / d + 2.0;
    else
        h = (n[0] - n[1]) / d + 4.0;
    return h * 60.0;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The strength maps, and per class the level paper noise reaches: in each paper block the
 * 98th percentile of the strength, and the median of that over the blocks (a seal, or a page's
 * red letterhead, fills few blocks; JPEG's colour noise around black text is in most). */
static img_err make_ink(struct work *wk) {
    img_err rc = IMG_OK;
    size_t n = (size_t)wk->w * wk->h, nb = (size_t)wk->bw * wk->bh;
    uint32_t *hist = NULL;
    float *blk = NULL;
    enum { HB = 256 };
    const float hscale = (HB - 1) / 0.5f; /* the histogram spans strengths 0..0.5 */
    for (int k = 0; k < INK_CLASSES; k++) {
        wk->ink[k] = malloc(n * sizeof *wk->ink[k]);
        if (!wk->ink[k]) {
            rc = img_fail(IMG_E_NOMEM, "seal search: no memory for the ink maps");
            goto out;
        }
    }
    hist = malloc((size_t)INK_CLASSES * HB * sizeof *hist);
    blk = malloc((size_t)INK_CLASSES * nb * sizeof *blk);
    if (!hist || !blk) {
        rc = img_fail(IMG_E_NOMEM, "seal search: no memory for the ink maps");
        goto out;
    }
    for (uint32_t y = 0; y < wk->h; y++) {
        for (uint32_t x = 0; x < wk->w; x++) {
            size_t i = (size_t)y * wk->w + x;
            float paper[3], s[INK_CLASSES];
            paper_at(wk, x, y, paper);
            strengths(wk->rgb + i * 3, paper, s);
            for (int k = 0; k < INK_CLASSES; k++)
                wk->ink[k][i] = s[k];
        }
    }
    for (uint32_t by = 0; by < wk->bh; by++) {
        for (uint32_t bx = 0; bx < wk->bw; bx++) {
            uint32_t x0 = bx * wk->bs, y0 = by * wk->bs;
            uint32_t x1 = x0 + wk->bs < wk->w ? x0 + wk->bs : wk->w;
            uint32_t y1 = y0 + wk->bs < wk->h ? y0 + wk->bs : wk->h;
            uint32_t cells = (x1 - x0) * (y1 - y0), want = cells - cells / 50;
            memset(hist, 0, (size_t)INK_CLASSES * HB * sizeof *hist);
            for (uint32_t y = y0; y < y1; y++)
                for (uint32_t x = x0; x < x1; x++)
                    for (int k = 0; k < INK_CLASSES; k++) {
                        float v = wk->ink[k][(size_t)y * wk->w + x] * hscale;
                        hist[k * HB + (v < HB - 1 ? (int)v : HB - 1)]++;
                    }
            for (int k = 0; k < INK_CLASSES; k++) {
                uint32_t seen = 0;
                int v = 0;
                while (v < HB - 1 && seen + hist[k * HB + v] < want)
                    seen += hist[k * HB + v++];
                blk[k * nb + (size_t)by * wk->bw + bx] = (v + 1) / hscale;
            }
        }
    }
    for (int k = 0; k < INK_CLASSES; k++) {
        qsort(blk + k * nb, nb, sizeof *blk, cmp_float);
        wk->noise[k] = blk[k * nb + nb / 2];
    }
out:
    free(hist);
    free(blk);
    return rc;
}

/* The ink thresholds of a class: for good ink, and for faint ink, both above the noise. */
static double ink_threshold(const struct work *wk, int cls) {
    return fmax(INK_MIN, 2.5 * wk->noise[cls]);
}

static double faint_threshold(const struct work *wk, int cls) {
    return fmax(INK_FAINT_MIN, 1.3 * wk->noise[cls]);
}

/* 3 x 3 binomial smoothing of src into dst. */
static void smooth3(float *dst, const float *src, uint32_t w, uint32_t h) {
    for (uint32_t y = 0; y < h; y++) {
        uint32_t ym = y ? y - 1 : y, yp = y + 1 < h ? y + 1 : y;
        for (uint32_t x = 0; x < w; x++) {
            uint32_t xm = x ? x - 1 : x, xp = x + 1 < w ? x + 1 : x;
            const float *a = src + (size_t)ym * w, *b = src + (size_t)y * w,
                        *c = src + (size_t)yp * w;
            dst[(size_t)y * w + x] = (a[xm] + 2 * a[x] + a[xp] + 2 * (b[xm] + 2 * b[x] + b[xp]) +
                                      c[xm] + 2 * c[x] + c[xp]) /
                                     16.0f;
        }
    }
}

/* 5a. The circle Hough transform of one ink map, voting along the gradient. */
static void hough(struct work *wk, int cls, int rlo, int rhi) {
    uint32_t w = wk->w, h = wk->h;
    float *s = wk->tmp, *acc = wk->acc;
    double t = faint_threshold(wk, cls);
    float gmin = (float)(t / 3), cap = (float)t;
    smooth3(s, wk->ink[cls], w, h);
    memset(acc, 0, (size_t)w * h * sizeof *acc);
    for (uint32_t y = 1; y + 1 < h; y++) {
        for (uint32_t x = 1; x + 1 < w; x++) {
            const float *a = s + (size_t)(y - 1) * w, *b = s + (size_t)y * w,
                        *c = s + (size_t)(y + 1) * w;
            /* Sobel, scaled to the change per pixel */
            float gx =
                (a[x + 1] + 2 * b[x + 1] + c[x + 1] - a[x - 1] - 2 * b[x - 1] - c[x - 1]) / 8;
            float gy = (c[x - 1] + 2 * c[x] + c[x + 1] - a[x - 1] - 2 * a[x] - a[x + 1]) / 8;
            float m = sqrtf(gx * gx + gy * gy), wt;
            double ux, uy;
            if (m < gmin)
                continue;
            wt = (m < cap ? m : cap) / cap;
            ux = gx / m;
            uy = gy / m;
            for (int r = rlo; r <= rhi; r++) {
                for (int sgn = -1; sgn <= 1; sgn += 2) {
                    long px = lround(x + sgn * r * ux), py = lround(y + sgn * r * uy);
                    if (px >= 0 && py >= 0 && px < (long)w && py < (long)h)
                        acc[(size_t)py * w + (size_t)px] += wt;
                }
            }
        }
    }
    /* Votes scatter by a pixel or two (rounding, a tilted or slightly oval ring). */
    smooth3(s, acc, w, h);
    smooth3(acc, s, w, h);
}

/* 5b. The strongest Hough peaks, at least rsep apart. */
static size_t hough_peaks(const struct work *wk, double minvote, int rsep, double *px, double *py,
                          size_t max) {
    size_t n = 0;
    const float *acc = wk->acc;
    uint32_t w = wk->w, h = wk->h;
    /* Kept sorted, best first; a new peak near a better one is dropped, one near a worse one
     * replaces it. */
    double val[MAX_PEAKS];
    for (uint32_t y = 1; y + 1 < h; y++) {
        for (uint32_t x = 1; x + 1 < w; x++) {
            float v = acc[(size_t)y * w + x];
            int is_max = v >= minvote;
            for (int dy = -1; is_max && dy <= 1; dy++)
                for (int dx = -1; is_max && dx <= 1; dx++)
                    if ((dx || dy) && acc[(size_t)(y + dy) * w + x + dx] > v)
                        is_max = 0;
            if (!is_max)
                continue;
            int near_better = 0;
            for (size_t i = 0; i < n; i++) {
                double d2 = (px[i] - x) * (px[i] - x) + (py[i] - y) * (py[i] - y);
                if (d2 < (double)rsep * rsep) {
                    if (val[i] >= v) {
                        near_better = 1;
                    } else { /* remove the worse one */
                        memmove(px + i, px + i + 1, (n - i - 1) * sizeof *px);
                        memmove(py + i, py + i + 1, (n - i - 1) * sizeof *py);
                        memmove(val + i, val + i + 1, (n - i - 1) * sizeof *val);
                        n--;
                        i--;
                    }
                }
            }
            if (near_better)
                continue;
            size_t at = n;
            while (at > 0 && val[at - 1] < v)
                at--;
            if (at >= max)
                continue;
            if (n == max)
                n--;
            memmove(px + at + 1, px + at, (n - at) * sizeof *px);
            memmove(py + at + 1, py + at, (n - at) * sizeof *py);
            memmove(val + at + 1, val + at, (n - at) * sizeof *val);
            px[at] = x;
            py[at] = y;
            val[at] = v;
            n++;
        }
    }
    return n;
}

/* Offsets within lut_rmax of a centre with their radial bin and sector, for the ring test. */
static img_err make_lut(struct work *wk, int rmax) {
    img_err rc = IMG_OK;
    size_t cap = (size_t)(2 * rmax + 1) * (2 * rmax + 1), n = 0;
    wk->lut = malloc(cap * 4 * sizeof *wk->lut);
    if (!wk->lut) {
        rc = img_fail(IMG_E_NOMEM, "seal search: no memory for the ring test");
        goto out;
    }
    for (int dy = -rmax; dy <= rmax; dy++) {
        for (int dx = -rmax; dx <= rmax; dx++) {
            double rho = sqrt((double)dx * dx + (double)dy * dy);
            double a = atan2(dy, dx) + PI;
            int sector = (int)(a / (2 * PI) * N_SECTORS);
            if (rho >= rmax)
                continue;
            wk->lut[4 * n] = dx;
            wk->lut[4 * n + 1] = dy;
            wk->lut[4 * n + 2] = (int32_t)(rho + 0.5);
            wk->lut[4 * n + 3] = sector >= N_SECTORS ? N_SECTORS - 1 : sector;
            n++;
        }
    }
    wk->nlut = n;
    wk->lut_rmax = rmax;
out:
    return rc;
}

/* Sector profiles around a Hough peak: sum and count of ink per (sector, radial bin). */
struct profile {
    double *sum, *cnt;
    int nb; /* radial bins */
};

/* How a ring of middle radius r shows in the profiles: the share of sectors with ink at r
 * (at the ink threshold t and the faint threshold tw) and clear paper 1-4 mm outside it.
 * Returns 0 when too little of the circle is on the page or the inside is as inked as the
 * ring (a solid disc: a logo, not a seal). */
static int ring_at(const struct work *wk, const struct profile *pf, int r, double t, double tw,
                   double *cov, double *cov_w) {
    int hw = (int)fmax(1.0, floor(RING_HALF_MM / MM_PER_INCH * wk->wdpi + 0.5));
    int gap = (int)fmax(1.0, floor(1.0 / MM_PER_INCH * wk->wdpi + 0.5));
    int outw = (int)fmax(2.0, floor(3.0 / MM_PER_INCH * wk->wdpi + 0.5));
    int on = 0, on_w = 0, sectors = 0;
    double level = 0, inner = 0, inner_n = 0;
    if (r + hw + gap + outw >= pf->nb)
        return 0;
    for (int s = 0; s < N_SECTORS; s++) {
        const double *ss = pf->sum + (size_t)s * pf->nb, *cc = pf->cnt + (size_t)s * pf->nb;
        double ring = 0, out = 0, out_n = 0;
        for (int b = r - hw > 0 ? r - hw : 0; b <= r + hw; b++)
            if (cc[b] > 0 && ss[b] / cc[b] > ring)
                ring = ss[b] / cc[b];
        for (int b = r + hw + gap; b < r + hw + gap + outw; b++) {
            out += ss[b];
            out_n += cc[b];
        }
        if (out_n == 0)
            continue; /* off the page */
        for (int b = r / 5; b < r - hw - gap; b++) {
            inner += ss[b];
            inner_n += cc[b];
        }
        out /= out_n;
        sectors++;
        level += ring;
        if (ring >= t && ring >= 2.0 * out + 0.5 * t)
            on++;
        if (ring >= tw && ring >= 2.0 * out + 0.5 * tw)
            on_w++;
    }
    if (sectors < N_SECTORS / 2)
        return 0;
    level /= sectors;
    if (inner_n > 0 && inner / inner_n > 0.7 * level)
        return 0;
    *cov = (double)on / N_SECTORS;
    *cov_w = (double)on_w / N_SECTORS;
    return 1;
}

/* 5c. The ring test at a Hough peak: the radius in [rlo, rhi] where the most sectors hold a
 * ring (of near-equals the outermost: a seal's outer ring, not an inner one). Fills c and
 * returns 1 when that ring covers enough of the circle, at least at the faint threshold. */
static int ring_test(const struct work *wk, int cls, double x, double y, int rlo, int rhi,
                     struct cand *c, struct profile *pf) {
    double t = ink_threshold(wk, cls), tw = faint_threshold(wk, cls);
    long ix = lround(x), iy = lround(y);
    const float *ink = wk->ink[cls];
    double best = -1, cov, cov_w;
    int best_r = -1;
    memset(pf->sum, 0, (size_t)N_SECTORS * pf->nb * sizeof *pf->sum);
    memset(pf->cnt, 0, (size_t)N_SECTORS * pf->nb * sizeof *pf->cnt);
    for (size_t i = 0; i < wk->nlut; i++) {
        long px = ix + wk->lut[4 * i], py = iy + wk->lut[4 * i + 1];
        size_t at = (size_t)wk->lut[4 * i + 3] * pf->nb + (size_t)wk->lut[4 * i + 2];
        if (px < 0 || py < 0 || px >= (long)wk->w || py >= (long)wk->h)
            continue;
        pf->sum[at] += ink[(size_t)py * wk->w + (size_t)px];
        pf->cnt[at] += 1;
    }
    for (int r = rlo; r <= rhi; r++)
        if (ring_at(wk, pf, r, t, tw, &cov, &cov_w) && cov + 0.5 * cov_w > best)
            best = cov + 0.5 * cov_w;
    for (int r = rhi; r >= rlo && best_r < 0; r--)
        if (ring_at(wk, pf, r, t, tw, &cov, &cov_w) && cov + 0.5 * cov_w >= best - 0.02) {
            best_r = r;
            c->cover = cov;
            c->cover_w = cov_w;
        }
    if (best_r < 0)
        return 0;
    c->cls = cls;
    c->x = x;
    c->y = y;
    c->r = best_r;
    c->faint_only = c->cover < COVER_SEAL;
    return c->cover >= COVER_SEAL || c->cover_w >= COVER_FAINT;
}

/* The ink strength (and the paper-relative colour) at scan position (x, y), bilinear. */
static float strength_at(const struct work *wk, int cls, double x, double y, double n_out[3]) {
    const img_rgba *s = wk->scan;
    double fx = clampd(x, 0, s->width - 1.001), fy = clampd(y, 0, s->height - 1.001);
    uint32_t x0 = (uint32_t)fx, y0 = (uint32_t)fy;
    uint32_t x1 = x0 + 1 < s->width ? x0 + 1 : x0, y1 = y0 + 1 < s->height ? y0 + 1 : y0;
    double tx = fx - x0, ty = fy - y0;
    const uint8_t *a = s->px + ((size_t)y0 * s->width + x0) * 4;
    const uint8_t *b = s->px + ((size_t)y0 * s->width + x1) * 4;
    const uint8_t *c = s->px + ((size_t)y1 * s->width + x0) * 4;
    const uint8_t *d = s->px + ((size_t)y1 * s->width + x1) * 4;
    float rgb[3], paper[3], st[INK_CLASSES];
    for (int i = 0; i < 3; i++)
        rgb[i] =
            (float)((a[i] * (1 - tx) + b[i] * tx) * (1 - ty) + (c[i] * (1 - tx) + d[i] * tx) * ty);
    /* scan to working coordinates: working pixel j covers scan pixels j*f .. j*f+f-1 */
    paper_at(wk, (x - (wk->f - 1) / 2.0) / wk->f, (y - (wk->f - 1) / 2.0) / wk->f, paper);
    strengths(rgb, paper, st);
    if (n_out)
        for (int i = 0; i < 3; i++)
            n_out[i] = fmin(1.0, rgb[i] / paper[i]);
    return st[cls];
}

/* Kasa's algebraic circle fit (I. Kasa, IEEE Trans. Instrum. Meas. 25(1), 1976) on the points
 * with use[i] set, weighted: minimises sum w (x^2 + y^2 + D x + E y + F)^2. Coordinates are
 * taken relative to (ox, oy) for conditioning. Returns 0 when the system is singular. */
static int kasa_fit(const double *px, const double *py, const double *w, const int *use, size_t n,
                    double ox, double oy, double *cx, double *cy, double *r) {
    double m[3][4] = {{0}};
    for (size_t i = 0; i < n; i++) {
        if (!use[i])
            continue;
        double x = px[i] - ox, y = py[i] - oy, z = x * x + y * y, v[3] = {x, y, 1};
        for (int a = 0; a < 3; a++) {
            for (int b = 0; b < 3; b++)
                m[a][b] += w[i] * v[a] * v[b];
            m[a][3] -= w[i] * v[a] * z;
        }
    }
    /* Gaussian elimination with partial pivoting on the 3 x 3 normal equations. */
    for (int col = 0; col < 3; col++) {
        int piv = col;
        for (int row = col + 1; row < 3; row++)
            if (fabs(m[row][col]) > fabs(m[piv][col]))
                piv = row;
        if (fabs(m[piv][col]) < 1e-12)
            return 0;
        for (int k = 0; k < 4; k++) {
            double tmp = m[col][k];
            m[col][k] = m[piv][k];
            m[piv][k] = tmp;
        }
        for (int row = 0; row < 3; row++) {
            if (row == col)
                continue;
            double f = m[row][col] / m[col][col];
            for (int k = col; k < 4; k++)
                m[row][k] -= f * m[col][k];
        }
    }
    double D = m[0][3] / m[0][0], E = m[1][3] / m[1][1], F = m[2][3] / m[2][2];
    double rr = D * D / 4 + E * E / 4 - F;
    if (!(rr > 0))
        return 0;
    *cx = ox - D / 2;
    *cy = oy - E / 2;
    *r = sqrt(rr);
    return 1;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Rays' scratch space, allocated once for all candidates. */
struct rays {
    size_t ns;                           /* samples per ray, at most */
    float *prof;                         /* N_RAYS x ns */
    double *q;                           /* one ray, smoothed */
    double *ex, *ey, *ew, *res, *sorted; /* edge points, their weights and residuals */
    int *use;                            /* per edge point: an inlier of the fit */
    int *onpage;                         /* per ray: its samples are all on the scan */
    double *nrgb; /* the paper-relative colour at each ray's ring peak, 3 per ray */
};

/* Rays sample 6.5 mm across the ring every tenth of a millimetre (every half pixel at most). */
#define RAY_SPAN_MM 6.5
static double ray_step(double px_mm) {
    return fmax(0.5, px_mm / 10);
}

/* 6. The ring at full resolution: the outer edge along N_RAYS rays and a trimmed circle fit. */
static void refine(const struct work *wk, struct cand *c, struct rays *ry) {
    double px_mm = wk->dpi / MM_PER_INCH;
    double step = ray_step(px_mm);
    double cx = (c->x * wk->f) + (wk->f - 1) / 2.0, cy = (c->y * wk->f) + (wk->f - 1) / 2.0;
    double rmid = c->r * wk->f; /* the ring's middle */
    double tw = faint_threshold(wk, c->cls);
    double rout = rmid + RING_HALF_MM * px_mm, rms = 0, peak_med = 0;
    size_t inl = 0;
    double hue_n[3] = {0, 0, 0};
    c->ok = 0;
    for (int pass = 0; pass < 3; pass++) {
        double lo = rmid - 2.5 * px_mm, span = RAY_SPAN_MM * px_mm;
        size_t ns = (size_t)(span / step);
        size_t nedge = 0;
        if (ns > ry->ns)
            ns = ry->ns;
        if (lo < 1)
            lo = 1;
        /* profiles; a ray that leaves the scan has none (a seal cut by the page's edge) */
        for (int k = 0; k < N_RAYS; k++) {
            double th = 2 * PI * k / N_RAYS, ux = cos(th), uy = sin(th);
            double ex = cx + (lo + ns * step) * ux, ey = cy + (lo + ns * step) * uy;
            float *p = ry->prof + (size_t)k * ry->ns;
            ry->onpage[k] =
                ex >= 0 && ey >= 0 && ex <= wk->scan->width - 1 && ey <= wk->scan->height - 1;
            for (size_t j = 0; j < ns && ry->onpage[k]; j++) {
                double rho = lo + j * step;
                p[j] = strength_at(wk, c->cls, cx + rho * ux, cy + rho * uy, NULL);
            }
        }
        /* per ray: average with the neighbouring rays, smooth, find the ring's outer edge */
        for (int k = 0; k < N_RAYS; k++) {
            const float *p0 = ry->prof + (size_t)((k + N_RAYS - 1) % N_RAYS) * ry->ns;
            const float *p1 = ry->prof + (size_t)k * ry->ns;
            const float *p2 = ry->prof + (size_t)((k + 1) % N_RAYS) * ry->ns;
            double *q = ry->q;
            size_t jp = 0, jlo, jhi, jo0, jo1, je;
            double vpk = -1, vout = 0, half;
            if (!ry->onpage[k] || !ry->onpage[(k + 1) % N_RAYS] ||
                !ry->onpage[(k + N_RAYS - 1) % N_RAYS])
                continue;
            for (size_t j = 0; j < ns; j++) {
                size_t jm = j ? j - 1 : j, jq = j + 1 < ns ? j + 1 : j;
                q[j] = (p0[jm] + p1[jm] + p2[jm] + 2 * (p0[j] + p1[j] + p2[j]) + p0[jq] + p1[jq] +
                        p2[jq]) /
                       12.0;
            }
            /* the peak within 2 mm of the ring's middle; paper 2.5-4 mm outside it */
            jlo = (size_t)fmax(0, (rmid - (pass ? 1.0 : 2.0) * px_mm - lo) / step);
            jhi = (size_t)fmin(ns - 1, (rmid + (pass ? 1.5 : 2.0) * px_mm - lo) / step);
            jo0 = (size_t)fmin(ns - 1, (rmid + 2.5 * px_mm - lo) / step);
            jo1 = ns;
            for (size_t j = jlo; j <= jhi; j++)
                if (q[j] > vpk) {
                    vpk = q[j];
                    jp = j;
                }
            for (size_t j = jo0; j < jo1; j++)
                vout += q[j];
            vout /= (double)(jo1 - jo0 > 0 ? jo1 - jo0 : 1);
            /* the outer edge: coming in from the paper, where the ink first reaches half way */
            if (vpk >= tw && vpk - vout >= 0.5 * tw) {
                half = (vpk + vout) / 2;
                for (je = jo0; je > jp; je--)
                    if (q[je - 1] >= half) {
                        double f = (q[je - 1] - half) / (q[je - 1] - q[je]);
                        double rho = lo + (je - 1 + f) * step;
                        double th = 2 * PI * k / N_RAYS;
                        ry->ex[nedge] = cx + rho * cos(th);
                        ry->ey[nedge] = cy + rho * sin(th);
                        ry->ew[nedge] = vpk;
                        strength_at(wk, c->cls, cx + (lo + jp * step) * cos(th),
                                    cy + (lo + jp * step) * sin(th), ry->nrgb + 3 * nedge);
                        ry->use[nedge] = 1;
                        nedge++;
                        break;
                    }
            }
        }
        if (nedge < N_RAYS / 8)
            return;
        /* trimmed fit: drop the points off the circle by more than 3 robust sigmas */
        double fx = cx, fy = cy, fr = rout;
        for (int it = 0; it < 4; it++) {
            double mad;
            if (!kasa_fit(ry->ex, ry->ey, ry->ew, ry->use, nedge, cx, cy, &fx, &fy, &fr))
                return;
            for (size_t i = 0; i < nedge; i++) {
                ry->res[i] = hypot(ry->ex[i] - fx, ry->ey[i] - fy) - fr;
                ry->sorted[i] = fabs(ry->res[i]);
            }
            qsort(ry->sorted, nedge, sizeof *ry->sorted, cmp_double);
            mad = ry->sorted[nedge / 2];
            for (size_t i = 0; i < nedge; i++)
                ry->use[i] = fabs(ry->res[i]) <= fmax(3.0 * 1.4826 * mad, 0.15 * px_mm);
        }
        inl = 0;
        rms = 0;
        for (int i = 0; i < 3; i++)
            hue_n[i] = 0;
        for (size_t i = 0; i < nedge; i++) {
            if (!ry->use[i])
                continue;
            rms += ry->res[i] * ry->res[i];
            ry->sorted[inl] = ry->ew[i];
            for (int j = 0; j < 3; j++)
                hue_n[j] += ry->nrgb[3 * i + j];
            inl++;
        }
        if (inl < N_RAYS / 8)
            return;
        rms = sqrt(rms / inl);
        qsort(ry->sorted, inl, sizeof *ry->sorted, cmp_double);
        peak_med = ry->sorted[inl / 2];
        /* the next pass looks from the fitted centre, around the fitted ring */
        cx = fx;
        cy = fy;
        rout = fr;
        rmid = fr - RING_HALF_MM * px_mm;
    }
    for (int j = 0; j < 3; j++)
        hue_n[j] /= (double)inl;
    c->cx = cx;
    c->cy = cy;
    c->rout = rout;
    c->rms = rms / px_mm;
    c->rays = (double)inl / N_RAYS;
    c->peak = peak_med;
    c->hue = hue_of(hue_n);
    c->ok = 1;
}

/* The colour name of a hue (degrees) found in ink class cls. */
static const char *colour_name(int cls, double hue) {
    if (hue < 0)
        return "other";
    if (hue >= 330 || hue < 45)
        return "red";
    if (hue >= 190 && hue < 255)
        return "blue";
    if (hue >= 255 && hue < 330)
        return "purple";
    return cls == INK_RED ? "red" : "other";
}

/* 7. How surely a refined candidate is a seal (geo: its shape and size alone; conf: also its
 * ink) and its ink strength against a good stamp of its colour. */
static void score(const struct work *wk, struct cand *c) {
    static const double good[INK_CLASSES] = {INK_GOOD_RED, INK_GOOD_BLUE};
    double d_mm = 2 * c->rout / wk->dpi * MM_PER_INCH;
    /* a resolution guessed from the page size may be a few percent off (US Letter, a page
     * cut short): a wider tolerance then */
    double sigma = wk->guessed ? 4.0 : 2.5;
    double size_q = 1.0, fit_q, ray_q, ink_q;
    if (d_mm < SEAL_MIN_MM)
        size_q = exp(-0.5 * pow((SEAL_MIN_MM - d_mm) / sigma, 2));
    else if (d_mm > SEAL_MAX_MM)
        size_q = exp(-0.5 * pow((d_mm - SEAL_MAX_MM) / sigma, 2));
    fit_q = exp(-0.5 * pow(c->rms / 0.35, 2));
    ray_q = clampd((c->rays - 0.25) / 0.55, 0, 1);
    c->geo = size_q * (0.45 * ray_q + 0.25 * fit_q + 0.30 * clampd(c->cover_w, 0, 1));
    c->ink = clampd(c->peak / good[c->cls], 0, 1) * clampd(c->rays / 0.8, 0, 1);
    ink_q = clampd(c->ink / 0.6, 0.15, 1);
    c->conf = c->geo * ink_q;
}

void img_seal_scan_free(img_seal_scan *s) {
    if (!s)
        return;
    free(s->seals);
    s->seals = NULL;
    s->n = 0;
}

img_err img_seal_find(img_seal_scan *out, const img_rgba *scan, double dpi) {
    img_err rc = IMG_OK;
    struct work wk;
    struct rays ry;
    struct cand cands[INK_CLASSES * MAX_PEAKS];
    size_t nc = 0;
    struct profile pf = {NULL, NULL, 0};
    int rlo, rhi, faint_region = 0;
    memset(&wk, 0, sizeof wk);
    memset(&ry, 0, sizeof ry);
    if (out)
        memset(out, 0, sizeof *out);
    if (!out || !scan || !scan->px || !scan->width || !scan->height) {
        rc = img_fail(IMG_E_ARG, "img_seal_find: NULL argument or empty scan");
        goto out;
    }
    if (!(dpi >= 0 && dpi <= DPI_MAX) || (dpi > 0 && dpi < DPI_MIN)) {
        rc = img_fail(IMG_E_ARG, "img_seal_find: resolution %g dpi out of range (%g-%g, or 0)", dpi,
                      DPI_MIN, DPI_MAX);
        goto out;
    }
    wk.scan = scan;
    wk.dpi = img_scan_dpi(scan, dpi, &wk.guessed);
    out->dpi = wk.dpi;
    out->seals = calloc(MAX_SEALS, sizeof *out->seals);
    if (!out->seals) {
        rc = img_fail(IMG_E_NOMEM, "img_seal_find: no memory for the result");
        goto out;
    }
    /* A seal must span some pixels: under 20 across there is nothing to find. */
    if (SEAL_MIN_MM / MM_PER_INCH * wk.dpi < 20 || scan->width < 64 || scan->height < 64)
        goto done;
    rc = make_working(&wk);
    if (rc == IMG_OK)
        rc = estimate_paper(&wk);
    if (rc == IMG_OK)
        rc = make_ink(&wk);
    if (rc != IMG_OK)
        goto out;
    /* Hough radii: the ring's middle for outer diameters SEARCH_MIN_MM..SEARCH_MAX_MM. */
    rlo = (int)floor((SEARCH_MIN_MM / 2 - RING_HALF_MM) / MM_PER_INCH * wk.wdpi);
    rhi = (int)ceil((SEARCH_MAX_MM / 2 - RING_HALF_MM) / MM_PER_INCH * wk.wdpi);
    if (rlo < 4)
        rlo = 4;
    wk.tmp = malloc((size_t)wk.w * wk.h * sizeof *wk.tmp);
    wk.acc = malloc((size_t)wk.w * wk.h * sizeof *wk.acc);
    rc = wk.tmp && wk.acc ? make_lut(&wk, rhi + (int)ceil(6.0 / MM_PER_INCH * wk.wdpi) + 2)
                          : img_fail(IMG_E_NOMEM, "seal search: no memory for the Hough transform");
    if (rc != IMG_OK)
        goto out;
    pf.nb = wk.lut_rmax + 1;
    pf.sum = malloc((size_t)N_SECTORS * pf.nb * sizeof *pf.sum);
    pf.cnt = malloc((size_t)N_SECTORS * pf.nb * sizeof *pf.cnt);
    ry.ns = (size_t)(RAY_SPAN_MM * wk.dpi / MM_PER_INCH / ray_step(wk.dpi / MM_PER_INCH)) + 2;
    ry.prof = malloc((size_t)N_RAYS * ry.ns * sizeof *ry.prof);
    ry.q = malloc(ry.ns * sizeof *ry.q);
    ry.ex = malloc(N_RAYS * sizeof *ry.ex);
    ry.ey = malloc(N_RAYS * sizeof *ry.ey);
    ry.ew = malloc(N_RAYS * sizeof *ry.ew);
    ry.res = malloc(N_RAYS * sizeof *ry.res);
    ry.sorted = malloc(N_RAYS * sizeof *ry.sorted);
    ry.use = malloc(N_RAYS * sizeof *ry.use);
    ry.onpage = malloc(N_RAYS * sizeof *ry.onpage);
    ry.nrgb = malloc(3 * N_RAYS * sizeof *ry.nrgb);
    if (!pf.sum || !pf.cnt || !ry.prof || !ry.q || !ry.ex || !ry.ey || !ry.ew || !ry.res ||
        !ry.sorted || !ry.use || !ry.onpage || !ry.nrgb) {
        rc = img_fail(IMG_E_NOMEM, "seal search: no memory for the ring test");
        goto out;
    }
    for (int cls = 0; cls < INK_CLASSES; cls++) {
        double px[MAX_PEAKS], py[MAX_PEAKS];
        size_t np;
        /* a peak worth testing holds votes from at least a tenth of a ring's edges */
        hough(&wk, cls, rlo, rhi);
        np = hough_peaks(&wk, 0.1 * 2 * PI * rlo, (int)(0.8 * rlo), px, py, MAX_PEAKS);
        for (size_t i = 0; i < np; i++) {
            struct cand *c = &cands[nc];
            memset(c, 0, sizeof *c);
            if (!ring_test(&wk, cls, px[i], py[i], rlo, rhi, c, &pf))
                continue;
            refine(&wk, c, &ry);
            if (c->ok)
                nc++;
        }
    }
    /* Score, then keep the best of candidates that are the same seal. */
    for (size_t i = 0; i < nc; i++)
        score(&wk, &cands[i]);
    for (size_t i = 0; i < nc; i++)
        for (size_t j = i + 1; j < nc; j++)
            if (cands[j].conf > cands[i].conf) {
                struct cand t = cands[i];
                cands[i] = cands[j];
                cands[j] = t;
            }
    for (size_t i = 0; i < nc && out->n < MAX_SEALS; i++) {
        const struct cand *c = &cands[i];
        img_seal_candidate *s;
        int dup = 0, overlaps = 0;
        for (size_t j = 0; j < out->n; j++) {
            double d = hypot(c->cx - out->seals[j].cx, c->cy - out->seals[j].cy);
            dup |= d < 0.35 * (c->rout + out->seals[j].diameter / 2);
            overlaps |= d < c->rout + out->seals[j].diameter / 2;
        }
        if (dup)
            continue;
        if (c->geo < MIN_GEO) {
            /* Not a seal. But a seal-sized ring of weak or patchy red ink, well fitted, away
             * from the seals found, may be a seal stamped short of ink: flagged faint. */
            if (c->cls == INK_RED && c->faint_only && c->ink < FAINT_INK && c->rms < FAINT_RMS_MM &&
                c->geo >= MIN_GEO / 2 && !overlaps)
                faint_region = 1;
            continue;
        }
        s = &out->seals[out->n++];
        s->cx = c->cx;
        s->cy = c->cy;
        s->diameter = 2 * c->rout;
        s->confidence = clampd(c->conf, 0, 1);
        s->ink = clampd(c->ink, 0, 1);
        snprintf(s->colour, sizeof s->colour, "%s", colour_name(c->cls, c->hue));
        if (strcmp(s->colour, "red") != 0)
            out->flags |= IMG_SEAL_NOT_RED;
        else if (s->ink < FAINT_INK || c->faint_only)
            out->flags |= IMG_SEAL_FAINT;
    }
done:
    if (out->n == 0)
        out->flags |= IMG_SEAL_NO_SEAL;
    if (out->n > 1)
        out->flags |= IMG_SEAL_SEVERAL;
    if (faint_region)
        out->flags |= IMG_SEAL_FAINT;
out:
    if (rc != IMG_OK && out)
        img_seal_scan_free(out);
    free(wk.rgb);
    free(wk.paper);
    for (int k = 0; k < INK_CLASSES; k++)
        free(wk.ink[k]);
    free(wk.tmp);
    free(wk.acc);
    free(wk.lut);
    free(pf.sum);
    free(pf.cnt);
    free(ry.prof);
    free(ry.q);
    free(ry.ex);
    free(ry.ey);
    free(ry.ew);
    free(ry.res);
    free(ry.sorted);
    free(ry.use);
    free(ry.onpage);
    free(ry.nrgb);
    return rc;
}
