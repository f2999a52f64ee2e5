/* Draws a red round test seal (ring, inner ring, five-point star) with a transparent
 * background into a PNG, for the signing tests' --image. Usage: make_test_seal OUT.png [PX] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "imaging/image.h"

#define PI 3.14159265358979323846

/* Inside the five-point star of radius r centred at 0 (a point-in-polygon test). */
static int in_star(double x, double y, double r) {
    double px[10], py[10];
    for (int i = 0; i < 10; i++) {
        double a = PI / 2 + i * PI / 5, rr = i % 2 ? r * 0.382 : r;
        px[i] = rr * cos(a);
        py[i] = rr * sin(a);
    }
    int in = 0;
    for (int i = 0, j = 9; i < 10; j = i++)
        if ((py[i] > y) != (py[j] > y) &&
            x < (px[j] - px[i]) * (y - py[i]) / (py[j] - py[i]) + px[i])
            in = !in;
    return in;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: make_test_seal OUT.png [PIXELS]\n");
        return 2;
    }
    int n = argc > 2 ? atoi(argv[2]) : 400;
    if (n < 16 || n > 4000)
        return 2;
    img_rgba *img;
    if (img_rgba_new(&img, (uint32_t)n, (uint32_t)n) != IMG_OK)
        return 1;
    double c = n / 2.0, R = n / 2.0 - 1;
    for (int y = 0; y < n; y++) {
        for (int x = 0; x < n; x++) {
            double dx = x + 0.5 - c, dy = c - (y + 0.5), d = sqrt(dx * dx + dy * dy);
            int ink = (d <= R && d >= R * 0.92) || (d <= R * 0.86 && d >= R * 0.84) ||
                      in_star(dx, dy - R * 0.05, R * 0.42);
            uint8_t *p = img->px + 4 * ((size_t)y * n + x);
            p[0] = 210;
            p[1] = 20;
            p[2] = 30;
            p[3] = ink ? 255 : 0;
        }
    }
    img->dpi_x = img->dpi_y = n / (42 / 25.4); /* 42 mm across */
    img_err e = img_png_write_file(argv[1], img);
    img_rgba_free(img);
    if (e != IMG_OK) {
        fprintf(stderr, "make_test_seal: %s: %s\n", img_strerror(e), img_errdetail());
        return 1;
    }
    return 0;
}
