/* What the seal search and the seal extraction both know about scans: their resolution and the
 * colour of their paper. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "imaging/internal.h"

/* Scanners offer a few resolutions; a resolution guessed from the page size within 1.5% of
 * one of them is taken to be it (2480 px across A4 is 300 dpi, not 299.96). */
static double snap_dpi(double dpi) {
    static const double common[] = {75, 100, 150, 200, 240, 300, 400, 600, 1200, 2400};
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
        if (fabs(dpi - common[i]) <= 0.015 * common[i])
            return common[i];
    return dpi;
}

double img_scan_dpi(const img_rgba *scan, double dpi, int *guessed) {
    const double mm_per_inch = 25.4, a4_short = 210.0, a4_long = 297.0;
    double shortpx = scan->width < scan->height ? scan->width : scan->height;
    double longpx = scan->width < scan->height ? scan->height : scan->width;
    double file = scan->dpi_x > 0 ? scan->dpi_x : scan->dpi_y;
    if (guessed)
        *guessed = 0;
    if (dpi > 0)
        return dpi;
    if (scan->dpi_x > 0 && scan->dpi_y > 0)
        file = sqrt(scan->dpi_x * scan->dpi_y);
    /* the file's resolution, when it makes a page of a plausible size (90-460 mm) */
    if (file >= 50 && file <= 2400 && shortpx / file * mm_per_inch >= 90 &&
        longpx / file * mm_per_inch <= 460)
        return file;
    if (guessed)
        *guessed = 1;
    /* A4 portrait or landscape: the short side is 210 mm. A page cut short along its length
     * still gives the right answer; the long side is the check when the short one is cut. */
    dpi = shortpx / a4_short * mm_per_inch;
    if (longpx / dpi * mm_per_inch < a4_long * 0.8)
        dpi = longpx / a4_long * mm_per_inch;
    return snap_dpi(dpi);
}

img_err img_paper_blocks(float *paper, uint32_t w, uint32_t h, uint32_t bs, img_pixel_fn pixel,
                         const void *ctx) {
    img_err rc = IMG_OK;
    uint32_t bw = (w + bs - 1) / bs, bh = (h + bs - 1) / bs;
    size_t nb = (size_t)bw * bh;
    uint32_t *hist = malloc(3 * 256 * sizeof *hist);
    float *p90 = malloc(nb * 3 * sizeof *p90), *lum = malloc(nb * sizeof *lum);
    if (!hist || !p90 || !lum) {
        rc = img_fail(IMG_E_NOMEM, "no memory for the paper estimate");
        goto out;
    }
    for (uint32_t by = 0; by < bh; by++) {
        for (uint32_t bx = 0; bx < bw; bx++) {
            uint32_t x0 = bx * bs, y0 = by * bs;
            uint32_t x1 = x0 + bs < w ? x0 + bs : w, y1 = y0 + bs < h ? y0 + bs : h;
            uint32_t n = (x1 - x0) * (y1 - y0), want = n - n / 10;
            size_t b = (size_t)by * bw + bx;
            memset(hist, 0, 3 * 256 * sizeof *hist);
            for (uint32_t y = y0; y < y1; y++)
                for (uint32_t x = x0; x < x1; x++) {
                    uint8_t rgb[3];
                    pixel(ctx, x, y, rgb);
                    for (int c = 0; c < 3; c++)
                        hist[c * 256 + rgb[c]]++;
                }
            for (int c = 0; c < 3; c++) {
                uint32_t seen = 0;
                int v = 0;
                while (v < 255 && seen + hist[c * 256 + v] < want)
                    seen += hist[c * 256 + v++];
                p90[b * 3 + c] = (float)v + 0.5f;
            }
            lum[b] = p90[b * 3] + p90[b * 3 + 1] + p90[b * 3 + 2];
        }
    }
    /* The brightest block of each 3 x 3: a block that is mostly ink takes its neighbours'. */
    for (uint32_t by = 0; by < bh; by++) {
        for (uint32_t bx = 0; bx < bw; bx++) {
            size_t best = (size_t)by * bw + bx;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    long nx = (long)bx + dx, ny = (long)by + dy;
                    if (nx < 0 || ny < 0 || nx >= (long)bw || ny >= (long)bh)
                        continue;
                    size_t nbi = (size_t)ny * bw + (size_t)nx;
                    if (lum[nbi] > lum[best])
                        best = nbi;
                }
            memcpy(paper + ((size_t)by * bw + bx) * 3, p90 + best * 3, 3 * sizeof *p90);
        }
    }
out:
    free(hist);
    free(p90);
    free(lum);
    return rc;
}
