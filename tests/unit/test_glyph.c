/* Text as glyph outlines (imaging/glyph.c).
 *
 * The outlines are checked the way a PDF reader sees them: the path goes into a one-page PDF
 * written here by hand, poppler's pdftoppm renders it, and the rendering (decoded with our own
 * PNG decoder) must show ink where each character was placed. Needs a default CJK font
 * (fonts-noto-cjk or fonts-wqy-microhei) and pdftoppm (poppler-utils); without them the
 * affected checks are skipped with a message. Negative tests check the exact img_err. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkdtemp, ftruncate; CMake defines it for the whole build */
#endif

#include "imaging/glyph.h"

#include "base/buf.h"
#include "base/fileio.h"
#include "tests/unit/check.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
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

#define NOTO_SANS "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
#define TEXT "中华人民共和国 ABC"

static char tmpdir[64];

static int write_file(const char *path, const void *p, size_t n) {
    struct iovec iov = {.iov_base = (void *)(uintptr_t)p, .iov_len = n};
    return file_write_atomic(path, &iov, 1, 0644);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Checks the path grammar: numbers, each run of them ended by m, l (2 operands), c (6) or h
 * (0); the first operator m. Returns the number of operators, or -1. */
static long path_ops(const uint8_t *p, size_t n) {
    long ops = 0;
    int operands = 0;
    size_t i = 0;
    while (i < n) {
        if (p[i] == ' ' || p[i] == '\n') {
            i++;
            continue;
        }
        if (p[i] == '-' || p[i] == '.' || isdigit(p[i])) {
            size_t j = i + (p[i] == '-');
            int digits = 0, points = 0;
            for (; j < n && (isdigit(p[j]) || p[j] == '.'); j++) {
                digits += isdigit(p[j]) != 0;
                points += p[j] == '.';
            }
            if (!digits || points > 1)
                return -1;
            operands++;
            i = j;
            continue;
        }
        if ((p[i] == 'm' && operands == 2) || (p[i] == 'l' && operands == 2) ||
            (p[i] == 'c' && operands == 6) || (p[i] == 'h' && operands == 0)) {
            if (ops == 0 && p[i] != 'm')
                return -1;
            ops++;
            operands = 0;
            i++;
            if (i < n && p[i] != ' ' && p[i] != '\n')
                return -1;
            continue;
        }
        return -1;
    }
    return operands == 0 ? ops : -1;
}

/* Writes a one-page PDF (ISO 32000-2 7.5: header, objects, xref table, trailer) whose content
 * fills path in black, and returns 0 on success. */
static int write_pdf(const char *path, const buf *content, double w, double h) {
    buf pdf;
    size_t off[5];
    int rc = 0;
    buf_init(&pdf, (size_t)64 << 20);
    rc |= buf_puts(&pdf, "%PDF-1.4\n");
    off[1] = pdf.len;
    rc |= buf_puts(&pdf, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    off[2] = pdf.len;
    rc |= buf_puts(&pdf, "2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n");
    off[3] = pdf.len;
    rc |= buf_printf(&pdf,
                     "3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.0f %.0f] "
                     "/Resources << >> /Contents 4 0 R >>\nendobj\n",
                     w, h);
    off[4] = pdf.len;
    rc |= buf_printf(&pdf, "4 0 obj\n<< /Length %zu >>\nstream\n", content->len + 8);
    rc |= buf_puts(&pdf, "0 g\n");
    rc |= buf_append(&pdf, content->data, content->len);
    rc |= buf_puts(&pdf, "\nf\n\nendstream\nendobj\n");
    size_t xref = pdf.len;
    rc |= buf_puts(&pdf, "xref\n0 5\n0000000000 65535 f \n");
    for (int i = 1; i <= 4; i++)
        rc |= buf_printf(&pdf, "%010zu 00000 n \n", off[i]);
    rc |= buf_printf(&pdf, "trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n", xref);
    if (rc == 0)
        rc = write_file(path, pdf.data, pdf.len);
    buf_free(&pdf);
    return rc;
}

static int have_pdftoppm(void) {
    return system("pdftoppm -v >/dev/null 2>&1") == 0;
}

/* Renders pdf at 72 dpi in grey with pdftoppm and decodes the PNG. */
static img_rgba *render(const char *pdf, const char *base) {
    char cmd[512], png[256];
    img_rgba *img = NULL;
    snprintf(cmd, sizeof cmd, "pdftoppm -r 72 -gray -png -singlefile '%s' '%s'", pdf, base);
    snprintf(png, sizeof png, "%s.png", base);
    if (system(cmd) != 0) {
        fprintf(stderr, "test_glyph: %s failed\n", cmd);
        return NULL;
    }
    if (img_png_read_file(&img, png, NULL) != IMG_OK)
        fprintf(stderr, "test_glyph: cannot decode %s: %s\n", png, img_errdetail());
    return img;
}

static int dark(const img_rgba *img, uint32_t x, uint32_t y) {
    return img->px[((size_t)y * img->width + x) * 4] < 128;
}

/* The path drawn by a PDF reader: ink in each character's cell, the ink's extent matching the
 * advance. */
static void test_rendered(img_font *f) {
    const double size = 40, x0 = 10, base = 20;
    buf path;
    double adv = 0, w, h = 70;
    size_t missing = 99;
    char pdf[128], out[128];
    img_rgba *img = NULL;
    buf_init(&path, (size_t)16 << 20);
    CHECK_ERR(img_font_text_path(&path, f, TEXT, size, x0, base, &adv, &missing), IMG_OK);
    CHECK(path.len > 1000);
    CHECK(adv > 0);
    CHECK_INT(missing, 0);
    CHECK(path_ops(path.data, path.len) > 50);
    /* 7 ideographs (1 em each), a space and three Latin capitals. */
    CHECK(adv > 7.5 * size && adv < 10 * size);
    w = ceil(x0 + adv + x0);
    snprintf(pdf, sizeof pdf, "%s/text.pdf", tmpdir);
    snprintf(out, sizeof out, "%s/text", tmpdir);
    CHECK_INT(write_pdf(pdf, &path, w, h), 0);
    if (!have_pdftoppm()) {
        printf("test_glyph: pdftoppm not found (poppler-utils): rendering checks skipped\n");
        goto out;
    }
    img = render(pdf, out);
    CHECK(img != NULL);
    if (!img)
        goto out;
    CHECK_INT(img->width, (uint32_t)w);
    CHECK_INT(img->height, (uint32_t)h);
    {
        uint32_t left = img->width, right = 0, top = img->height, bottom = 0;
        size_t ndark = 0;
        for (uint32_t y = 0; y < img->height; y++)
            for (uint32_t x = 0; x < img->width; x++)
                if (dark(img, x, y)) {
                    ndark++;
                    left = x < left ? x : left;
                    right = x > right ? x : right;
                    top = y < top ? y : top;
                    bottom = y > bottom ? y : bottom;
                }
        printf("test_glyph: ink x %u..%u (origin %.0f, advance %.2f), y %u..%u, %zu dark px\n",
               left, right, x0, adv, top, bottom, ndark);
        CHECK(ndark > 1500);
        /* Left: the first ideograph's side bearing is small. Right: C's right bearing. */
        CHECK(left >= x0 - 1 && left <= x0 + 0.15 * size);
        CHECK(right <= x0 + adv + 1 && right >= x0 + adv - 0.25 * size);
        /* y up: ideographs rise about 0.88 em above the baseline and go 0.12 em below. */
        CHECK(top >= h - base - 0.95 * size && top <= h - base - 0.7 * size);
        CHECK(bottom >= h - base - 1 && bottom <= h - base + 0.15 * size);
    }
    /* Every character's cell (from the widths of the prefixes) has ink, the space none. */
    {
        static const char *const prefixes[] = {"",
                                               "中",
                                               "中华",
                                               "中华人",
                                               "中华人民",
                                               "中华人民共",
                                               "中华人民共和",
                                               "中华人民共和国",
                                               "中华人民共和国 ",
                                               "中华人民共和国 A",
                                               "中华人民共和国 AB",
                                               TEXT};
        for (size_t i = 0; i + 1 < sizeof prefixes / sizeof *prefixes; i++) {
            double a = 0, b = 0;
            size_t n = 0;
            CHECK_ERR(img_font_text_width(&a, f, prefixes[i], size), IMG_OK);
            CHECK_ERR(img_font_text_width(&b, f, prefixes[i + 1], size), IMG_OK);
            for (uint32_t y = 0; y < img->height; y++)
                for (uint32_t x = (uint32_t)(x0 + a + 1); x + 1 < x0 + b; x++)
                    n += dark(img, x, y);
            if (i == 7)
                CHECK_INT(n, 0);
            else if (!(n > 40)) {
                fprintf(stderr, "character %zu: %zu dark px in x %.1f..%.1f\n", i, n, x0 + a,
                        x0 + b);
                CHECK(n > 40);
            }
        }
    }
out:
    img_rgba_free(img);
    buf_free(&path);
}

/* The second call comes from the cache and must print the same bytes; so must a fresh font. */
static void test_cache(img_font *f) {
    buf a, b, c;
    double adv_a = 0, adv_b = 0, adv_c = 0, width = 0;
    img_font *g = NULL;
    buf_init(&a, (size_t)16 << 20);
    buf_init(&b, (size_t)16 << 20);
    buf_init(&c, (size_t)16 << 20);
    CHECK_ERR(img_font_text_path(&a, f, "示例科技有限公司 示例", 12.5, 3.25, -7, &adv_a, NULL),
              IMG_OK);
    CHECK_ERR(img_font_text_path(&b, f, "示例科技有限公司 示例", 12.5, 3.25, -7, &adv_b, NULL),
              IMG_OK);
    CHECK(a.len > 0 && a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    CHECK(adv_a == adv_b);
    CHECK_ERR(img_font_text_width(&width, f, "示例科技有限公司 示例", 12.5), IMG_OK);
    CHECK(fabs(width - adv_a) < 1e-9);
    CHECK_ERR(img_font_open(&g, NULL, 0), IMG_OK);
    if (g) {
        CHECK_ERR(img_font_text_path(&c, g, "示例科技有限公司 示例", 12.5, 3.25, -7, &adv_c, NULL),
                  IMG_OK);
        CHECK(a.len == c.len && memcmp(a.data, c.data, a.len) == 0);
    }
    /* Appending: a second path goes after the first, untouched. */
    {
        size_t len = a.len;
        CHECK_ERR(img_font_text_path(&a, f, "示", 12.5, 0, 0, NULL, NULL), IMG_OK);
        CHECK(a.len > len && memcmp(a.data, b.data, len) == 0);
    }
    img_font_free(g);
    buf_free(&a);
    buf_free(&b);
    buf_free(&c);
}

/* Writes n ideographs from U+4E00 + from (all three-byte UTF-8) into text. */
static void ideographs(char *text, uint32_t from, uint32_t n) {
    size_t k = 0;
    for (uint32_t cp = 0x4e00 + from; cp < 0x4e00 + from + n; cp++) {
        text[k++] = (char)(0xe0 | cp >> 12);
        text[k++] = (char)(0x80 | (cp >> 6 & 0x3f));
        text[k++] = (char)(0x80 | (cp & 0x3f));
    }
    text[k] = '\0';
}

/* More distinct glyphs than the cache holds (4096): it must empty itself and go on, giving the
 * same outlines after. */
static void test_cache_churn(img_font *f) {
    static char one[3 * 3000 + 1], two[3 * 3000 + 1];
    buf a, b;
    buf_init(&a, (size_t)256 << 20);
    buf_init(&b, (size_t)256 << 20);
    ideographs(one, 0, 3000);
    ideographs(two, 3000, 3000);
    CHECK_ERR(img_font_text_path(&a, f, one, 10, 0, 0, NULL, NULL), IMG_OK);
    buf_reset(&b);
    CHECK_ERR(img_font_text_path(&b, f, two, 10, 0, 0, NULL, NULL), IMG_OK);
    buf_reset(&b);
    CHECK_ERR(img_font_text_path(&b, f, one, 10, 0, 0, NULL, NULL), IMG_OK);
    CHECK(a.len > 0 && a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    buf_free(&a);
    buf_free(&b);
}

static void test_missing(img_font *f) {
    buf p;
    double adv = 0;
    size_t missing = 0;
    buf_init(&p, (size_t)1 << 20);
    /* U+1F600 (an emoji) and U+10FFFD (private use, plane 16): not in the CJK fonts. */
    CHECK_ERR(img_font_text_path(&p, f,
                                 "A\xf0\x9f\x98\x80"
                                 "B\xf4\x8f\xbf\xbd",
                                 10, 0, 0, &adv, &missing),
              IMG_OK);
    CHECK_INT(missing, 2);
    CHECK(adv > 0);
    buf_free(&p);
}

static void test_bad_utf8(img_font *f) {
    static const char *const bad[] = {
        "\x80",             /* stray continuation byte */
        "A\xc0\x80",        /* overlong NUL */
        "\xc1\xbf",         /* overlong */
        "\xe0\x80\xaf",     /* overlong '/' */
        "\xed\xa0\x80",     /* surrogate U+D800 */
        "\xf4\x90\x80\x80", /* U+110000 */
        "\xf5\x80\x80\x80", /* beyond Unicode */
        "\xe4\xb8",         /* cut short */
        "\xe4\xb8\x41",     /* cut short by an ASCII byte ('A') */
        "\xff",
    };
    buf p;
    double adv = 1;
    size_t missing = 1;
    buf_init(&p, (size_t)1 << 20);
    CHECK(buf_puts(&p, "keep") == BUF_OK);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_ERR(img_font_text_path(&p, f, bad[i], 10, 0, 0, &adv, &missing), IMG_E_ARG);
        CHECK_ERR(img_font_text_width(&adv, f, bad[i], 10), IMG_E_ARG);
    }
    CHECK_INT(p.len, 4); /* nothing appended */
    /* Well-formed edge cases. */
    CHECK_ERR(img_font_text_width(&adv, f, "\xef\xbf\xbf\xf0\x90\x80\x80\xc2\x80", 10), IMG_OK);
    CHECK_ERR(img_font_text_width(&adv, f, "", 10), IMG_OK);
    CHECK(adv == 0);
    buf_free(&p);
}

static void test_args(img_font *f) {
    buf p, small;
    double adv = 0;
    char *long_text = malloc(4098);
    buf_init(&p, (size_t)1 << 20);
    buf_init(&small, 100);
    CHECK_ERR(img_font_text_path(&p, f, "A", 0, 0, 0, &adv, NULL), IMG_E_ARG);
    CHECK_ERR(img_font_text_path(&p, f, "A", NAN, 0, 0, &adv, NULL), IMG_E_ARG);
    CHECK_ERR(img_font_text_path(&p, f, "A", 10, INFINITY, 0, &adv, NULL), IMG_E_ARG);
    CHECK_ERR(img_font_text_path(&p, f, "A", 10, 0, 2e6, &adv, NULL), IMG_E_ARG);
    CHECK_ERR(img_font_text_path(NULL, f, "A", 10, 0, 0, &adv, NULL), IMG_E_ARG);
    CHECK_ERR(img_font_text_path(&p, NULL, "A", 10, 0, 0, &adv, NULL), IMG_E_ARG);
    CHECK_ERR(img_font_text_path(&p, f, NULL, 10, 0, 0, &adv, NULL), IMG_E_ARG);
    CHECK_ERR(img_font_text_width(NULL, f, "A", 10), IMG_E_ARG);
    CHECK_INT(p.len, 0);
    /* The output buffer's maximum: refused, and nothing left behind. */
    CHECK_ERR(img_font_text_path(&small, f, "中华人民共和国", 10, 0, 0, &adv, NULL), IMG_E_LIMIT);
    CHECK_INT(small.len, 0);
    /* 4096 characters at most. */
    if (long_text) {
        memset(long_text, 'i', 4097);
        long_text[4097] = '\0';
        CHECK_ERR(img_font_text_width(&adv, f, long_text, 10), IMG_E_LIMIT);
        long_text[4096] = '\0';
        CHECK_ERR(img_font_text_width(&adv, f, long_text, 10), IMG_OK);
    }
    free(long_text);
    buf_free(&p);
    buf_free(&small);
}

static void test_open_errors(void) {
    img_font *f = (img_font *)(uintptr_t)1;
    char path[128];
    CHECK_ERR(img_font_open(NULL, NULL, 0), IMG_E_ARG);
    CHECK_ERR(img_font_open(&f, "/nonexistent/font.ttf", 0), IMG_E_IO);
    CHECK(f == NULL);
    /* Not a font. */
    snprintf(path, sizeof path, "%s/not-a-font.ttf", tmpdir);
    CHECK_INT(write_file(path, "This is not a font, only some text.\n", 36), 0);
    CHECK_ERR(img_font_open(&f, path, 0), IMG_E_FORMAT);
    CHECK(f == NULL);
    /* Empty. */
    snprintf(path, sizeof path, "%s/empty.ttf", tmpdir);
    CHECK_INT(write_file(path, "", 0), 0);
    CHECK_ERR(img_font_open(&f, path, 0), IMG_E_FORMAT);
    /* Over 64 MiB (a sparse file): refused before it is read. */
    snprintf(path, sizeof path, "%s/huge.ttf", tmpdir);
    {
        FILE *fp = fopen(path, "wb");
        CHECK(fp != NULL);
        if (fp) {
            CHECK_INT(ftruncate(fileno(fp), ((off_t)64 << 20) + 1), 0);
            fclose(fp);
        }
    }
    CHECK_ERR(img_font_open(&f, path, 0), IMG_E_LIMIT);
    unlink(path);
    /* A directory. */
    CHECK_ERR(img_font_open(&f, tmpdir, 0), IMG_E_IO);
    /* A face the collection does not have; the default font with a face number. */
    if (access(NOTO_SANS, R_OK) == 0)
        CHECK_ERR(img_font_open(&f, NOTO_SANS, 10), IMG_E_ARG);
    CHECK_ERR(img_font_open(&f, NULL, 1), IMG_E_ARG);
}

/* Noto Sans CJK's collection: the automatic choice (and the default font) is face 2, SC. "骨"
 * is drawn differently in the Simplified Chinese and Japanese faces. */
static void test_faces(void) {
    img_font *dflt = NULL, *autof = NULL, *sc = NULL, *jp = NULL;
    buf a, b, c, d;
    buf_init(&a, (size_t)1 << 20);
    buf_init(&b, (size_t)1 << 20);
    buf_init(&c, (size_t)1 << 20);
    buf_init(&d, (size_t)1 << 20);
    if (access(NOTO_SANS, R_OK) != 0) {
        printf("test_glyph: %s absent: face choice not checked\n", NOTO_SANS);
        goto out;
    }
    CHECK_ERR(img_font_open(&dflt, NULL, -1), IMG_OK);
    CHECK_ERR(img_font_open(&autof, NOTO_SANS, -1), IMG_OK);
    CHECK_ERR(img_font_open(&sc, NOTO_SANS, 2), IMG_OK);
    CHECK_ERR(img_font_open(&jp, NOTO_SANS, 0), IMG_OK);
    if (!dflt || !autof || !sc || !jp)
        goto out;
    CHECK_ERR(img_font_text_path(&a, dflt, "骨", 100, 0, 0, NULL, NULL), IMG_OK);
    CHECK_ERR(img_font_text_path(&b, autof, "骨", 100, 0, 0, NULL, NULL), IMG_OK);
    CHECK_ERR(img_font_text_path(&c, sc, "骨", 100, 0, 0, NULL, NULL), IMG_OK);
    CHECK_ERR(img_font_text_path(&d, jp, "骨", 100, 0, 0, NULL, NULL), IMG_OK);
    CHECK(a.len == c.len && memcmp(a.data, c.data, a.len) == 0);
    CHECK(b.len == c.len && memcmp(b.data, c.data, b.len) == 0);
    CHECK(!(d.len == c.len && memcmp(d.data, c.data, d.len) == 0));
out:
    img_font_free(dflt);
    img_font_free(autof);
    img_font_free(sc);
    img_font_free(jp);
    buf_free(&a);
    buf_free(&b);
    buf_free(&c);
    buf_free(&d);
}

/* Not a check: how long a 30-character line takes, first from FreeType, then from the cache. */
static void timing(void) {
    const char *text = "示例科技有限公司营业执照副本仅供办理银行开户使用其他用途无效";
    img_font *f = NULL;
    buf p;
    double t0, t1, t2, t3;
    int reps = 1000;
    buf_init(&p, (size_t)16 << 20);
    t0 = now();
    if (img_font_open(&f, NULL, -1) != IMG_OK)
        goto out;
    t1 = now();
    CHECK_ERR(img_font_text_path(&p, f, text, 12, 100, 100, NULL, NULL), IMG_OK);
    t2 = now();
    for (int i = 0; i < reps; i++) {
        buf_reset(&p);
        CHECK_ERR(img_font_text_path(&p, f, text, 12, 100, 100, NULL, NULL), IMG_OK);
    }
    t3 = now();
    printf("test_glyph: open %.2f ms; 30 characters (%zu bytes of path): cold %.3f ms, cached "
           "%.1f us\n",
           (t1 - t0) * 1e3, p.len, (t2 - t1) * 1e3, (t3 - t2) / reps * 1e6);
out:
    img_font_free(f);
    buf_free(&p);
}

int main(void) {
    img_font *f = NULL;
    const char *tmp = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/test_glyph.XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    test_open_errors();
    if (img_font_open(&f, NULL, 0) != IMG_OK) {
        printf("test_glyph: no default CJK font (%s): font checks skipped\n", img_errdetail());
    } else {
        test_rendered(f);
        test_cache(f);
        test_cache_churn(f);
        test_missing(f);
        test_bad_utf8(f);
        test_args(f);
        test_faces();
        timing();
    }
    img_font_free(f);
    {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "test_glyph: could not remove %s\n", tmpdir);
    }
    return check_report("test_glyph");
}
