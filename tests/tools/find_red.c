/* What a rendered page shows, for the stamp and signing tests (renderings by pdftoppm or
 * Ghostscript, sizes in millimetres from the lower-left corner as the reader sees the page).
 *
 *   find_red PAGE.png DPI [BEFORE.png]
 *       strongly red ink (a crisp seal): "x0 y0 x1 y1 count W H" or "none 0 W H"
 *   find_red --fog PAGE.png DPI BEFORE.png
 *       pale reddish pixels that are not strongly red (a fogged seal), same output
 *   find_red --changed PAGE.png DPI BEFORE.png
 *       "changed cells total" : pixels that differ, counted in 10 mm squares
 * --in X,Y,W,H (first) counts only inside that rectangle (mm, as the reader sees the page).
 * With BEFORE (the same page rendered before the change, same size) only pixels that changed
 * count, so what the page already had is ignored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imaging/image.h"

static int strongly_red(const uint8_t *p) {
    return p[3] >= 128 && p[0] > 150 && p[1] < 110 && p[2] < 110 && p[0] - p[1] > 80;
}

static int pale_red(const uint8_t *p) {
    return !strongly_red(p) && p[3] >= 128 && p[0] > 170 && p[0] - p[1] > 25 && p[0] - p[2] > 20;
}

static int differs(const uint8_t *a, const uint8_t *b) {
    int d = 0;
    for (int c = 0; c < 3; c++)
        d += abs((int)a[c] - (int)b[c]);
    return d > 24;
}

int main(int argc, char **argv) {
    int mode = 0; /* 0 red, 1 fog, 2 changed */
    int ai = 1;
    double in[4] = {0, 0, 1e9, 1e9};
    if (argc > 2 && strcmp(argv[1], "--in") == 0) {
        if (sscanf(argv[2], "%lf,%lf,%lf,%lf", &in[0], &in[1], &in[2], &in[3]) != 4) {
            fprintf(stderr, "find_red: --in needs X,Y,W,H\n");
            return 2;
        }
        argv += 2;
        argc -= 2;
    }
    if (argc > 1 && strcmp(argv[1], "--fog") == 0)
        mode = 1, ai = 2;
    else if (argc > 1 && strcmp(argv[1], "--changed") == 0)
        mode = 2, ai = 2;
    if (argc - ai < 2 || argc - ai > 3 || (mode && argc - ai != 3)) {
        fprintf(stderr, "usage: find_red [--fog|--changed] PAGE.png DPI [BEFORE.png]\n");
        return 2;
    }
    double dpi = atof(argv[ai + 1]);
    img_rgba *img, *before = NULL;
    if (dpi <= 0 || img_png_read_file(&img, argv[ai], NULL) != IMG_OK) {
        fprintf(stderr, "find_red: cannot read %s: %s\n", argv[ai], img_errdetail());
        return 2;
    }
    if (argc - ai == 3 && (img_png_read_file(&before, argv[ai + 2], NULL) != IMG_OK ||
                           before->width != img->width || before->height != img->height)) {
        fprintf(stderr, "find_red: %s is not a rendering of the same size\n", argv[ai + 2]);
        return 2;
    }
    double k = 25.4 / dpi;
    if (mode == 2) {
        uint32_t cell = (uint32_t)(10 / k) ? (uint32_t)(10 / k) : 1;
        uint32_t cw = (img->width + cell - 1) / cell, ch = (img->height + cell - 1) / cell;
        char *hit = calloc((size_t)cw * ch, 1);
        long changed = 0;
        for (uint32_t y = 0; hit && y < img->height; y++)
            for (uint32_t x = 0; x < img->width; x++) {
                size_t at = 4 * ((size_t)y * img->width + x);
                if (differs(img->px + at, before->px + at)) {
                    changed++;
                    hit[(y / cell) * cw + x / cell] = 1;
                }
            }
        long cells = 0;
        for (size_t i = 0; hit && i < (size_t)cw * ch; i++)
            cells += hit[i];
        printf("%ld %ld %lu\n", changed, cells, (unsigned long)cw * ch);
        free(hit);
    } else {
        long count = 0;
        uint32_t x0 = img->width, y0 = img->height, x1 = 0, y1 = 0;
        for (uint32_t y = 0; y < img->height; y++) {
            for (uint32_t x = 0; x < img->width; x++) {
                size_t at = 4 * ((size_t)y * img->width + x);
                const uint8_t *p = img->px + at;
                int want = mode == 1 ? pale_red(p) : strongly_red(p);
                int had = before && (mode == 1 ? !differs(p, before->px + at)
                                               : strongly_red(before->px + at));
                double mx = x * k, my = (img->height - 1 - y) * k;
                int inside =
                    mx >= in[0] && mx <= in[0] + in[2] && my >= in[1] && my <= in[1] + in[3];
                if (want && !had && inside) {
                    count++;
                    if (x < x0)
                        x0 = x;
                    if (x > x1)
                        x1 = x;
                    if (y < y0)
                        y0 = y;
                    if (y > y1)
                        y1 = y;
                }
            }
        }
        double w = img->width * k, h = img->height * k;
        if (count == 0) /* y measured from the bottom edge */
            printf("none 0 %.1f %.1f\n", w, h);
        else
            printf("%.1f %.1f %.1f %.1f %ld %.1f %.1f\n", x0 * k, (img->height - 1 - y1) * k,
                   (x1 + 1) * k, (img->height - y0) * k, count, w, h);
    }
    img_rgba_free(img);
    img_rgba_free(before);
    return 0;
}
