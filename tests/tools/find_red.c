/* Reports where the red ink is in a rendered page: the bounding box of strongly red pixels in
 * millimetres from the lower-left corner of the image (as a reader sees the page), and their
 * count. Tests use it on pdftoppm/Ghostscript renderings to check a seal's placement.
 *
 * usage: find_red PAGE.png DPI [BEFORE.png]
 *        prints: "x0 y0 x1 y1 count" (mm, mm, mm, mm, pixels), or "none 0"
 * With BEFORE (the same page rendered before the change, same size), only pixels that are red
 * in PAGE and were not red in BEFORE count, so red already on the page is ignored.
 */
#include <stdio.h>
#include <stdlib.h>

#include "imaging/image.h"

static int is_red(const uint8_t *p) {
    return p[0] > 150 && p[1] < 110 && p[2] < 110 && p[0] - p[1] > 80;
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: find_red PAGE.png DPI [BEFORE.png]\n");
        return 2;
    }
    double dpi = atof(argv[2]);
    img_rgba *img, *before = NULL;
    if (dpi <= 0 || img_png_read_file(&img, argv[1], NULL) != IMG_OK) {
        fprintf(stderr, "find_red: cannot read %s: %s\n", argv[1], img_errdetail());
        return 2;
    }
    if (argc == 4 && (img_png_read_file(&before, argv[3], NULL) != IMG_OK ||
                      before->width != img->width || before->height != img->height)) {
        fprintf(stderr, "find_red: %s is not a rendering of the same size\n", argv[3]);
        return 2;
    }
    long count = 0;
    uint32_t x0 = img->width, y0 = img->height, x1 = 0, y1 = 0;
    for (uint32_t y = 0; y < img->height; y++) {
        for (uint32_t x = 0; x < img->width; x++) {
            size_t at = 4 * ((size_t)y * img->width + x);
            if (is_red(img->px + at) && !(before && is_red(before->px + at))) {
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
    double k = 25.4 / dpi;
    if (count == 0)
        printf("none 0\n");
    else /* y measured from the bottom edge */
        printf("%.1f %.1f %.1f %.1f %ld\n", x0 * k, (img->height - 1 - y1) * k, (x1 + 1) * k,
               (img->height - y0) * k, count);
    img_rgba_free(img);
    img_rgba_free(before);
    return 0;
}
