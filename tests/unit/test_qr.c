/* QR codes (imaging/qr.c): encoding with libqrencode and drawing as PDF path operators.
 *
 * The real path: each code is drawn into a one-page PDF written here by hand, rendered with
 * poppler's pdftoppm and read back with zbar's zbarimg; the decoded bytes must equal the input
 * exactly. Skipped with a message when either tool is missing.
 *
 * zbarimg options: `--raw -q -Sdisable -Sqrcode.enable -Sbinary --nodbus`: QR codes only (zbar
 * also "finds" interleaved 2 of 5 barcodes in text and prints them after). Without -Sbinary
 * zbar guesses the character set of a byte-mode symbol that has no ECI and converts it to
 * UTF-8; short UTF-8 text is often
 * taken for Shift-JIS ("日本" comes back as "譌･譛ｬ", "é" as "知"). -Sbinary (ZBAR_CFG_BINARY,
 * zbar 0.23.1 and later) hands back the bytes as they are in the symbol, without the trailing
 * newline; --raw drops the "QR-Code:" prefix; --nodbus keeps zbar from looking for a D-Bus.
 *
 * How small a code still reads (found with this test's PDF, pdftoppm's default anti-aliasing and
 * zbar 0.23.92): zbar needs about 1.7 pixels per module. The verification URL with a 150-byte
 * token (209 bytes, version 10 at level M, 57 + 8 modules) reads at 20 mm from 150 dpi, at 30 mm
 * from 96 dpi and at 40 mm from 72 dpi; at 20 mm and 72 dpi only versions 1 and 2 read (up to 26
 * bytes at level M). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkdtemp, popen; CMake defines it for the whole build */
#endif

#include "imaging/qr.h"

#include "base/buf.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

#define CHECK_DETAIL(needle)                                                                       \
    do {                                                                                           \
        if (!strstr(img_errdetail(), (needle))) {                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: detail \"%s\" lacks \"%s\"\n", __FILE__,         \
                    __LINE__, img_errdetail(), (needle));                                          \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

#define MM_TO_PT (72.0 / 25.4)
#define QUIET 4

static const img_qr_level levels[] = {IMG_QR_L, IMG_QR_M, IMG_QR_Q, IMG_QR_H};
static const char level_names[] = "LMQH";

/* The verification URL: licence identifier and a 150-character base64url token. */
static char url[256];
static const char chinese[] =
    "营业执照：北京某某科技有限公司，统一社会信用代码 91110108MA01ABCD2X，"
    "有效期至 2030 年 12 月 31 日。";

static void make_url(void) {
    static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint32_t s = 0x2545F491u;
    int n =
        snprintf(url, sizeof url, "https://verify.eseal.example.gov.cn/l/91110108MA01ABCD2X?t=");
    for (int i = 0; i < 150; i++) {
        s ^= s << 13, s ^= s >> 17, s ^= s << 5; /* xorshift32 */
        url[n + i] = b64url[s & 63];
    }
    url[n + 150] = '\0';
}

/* ---- Encoding ------------------------------------------------------------------------------ */

static int module(const img_qr *q, int r, int c) {
    return q->modules[(size_t)r * (size_t)q->size + (size_t)c];
}

/* QR 6.3.3: a finder pattern is a dark 7x7 ring, a light 5x5 ring and a dark 3x3 centre; the
 * separator around it is light. */
static bool finder_at(const img_qr *q, int r0, int c0) {
    bool ok = true;
    for (int r = 0; r < 7; r++) {
        for (int c = 0; c < 7; c++) {
            int ring = r == 0 || r == 6 || c == 0 || c == 6;
            int inner = r >= 2 && r <= 4 && c >= 2 && c <= 4;
            ok = ok && module(q, r0 + r, c0 + c) == (ring || inner);
        }
    }
    return ok;
}

static void check_structure(const img_qr *q) {
    int n = q->size;
    CHECK(n >= 21 && n <= 177 && (n - 17) % 4 == 0); /* QR 6.3.1: 17 + 4 * version */
    for (size_t i = 0; i < (size_t)n * (size_t)n; i++)
        CHECK(q->modules[i] <= 1);
    CHECK(finder_at(q, 0, 0));
    CHECK(finder_at(q, 0, n - 7));
    CHECK(finder_at(q, n - 7, 0));
    for (int i = 0; i < 8; i++) { /* separators */
        CHECK(!module(q, 7, i) && !module(q, i, 7));
        CHECK(!module(q, 7, n - 1 - i) && !module(q, i, n - 8));
        CHECK(!module(q, n - 8, i) && !module(q, n - 1 - i, 7));
    }
    for (int i = 8; i < n - 8; i++) /* QR 6.3.5: timing patterns alternate from dark */
        CHECK(module(q, 6, i) == !(i & 1) && module(q, i, 6) == !(i & 1));
    CHECK(module(q, n - 8, 8)); /* QR 7.9.1: the dark module */
}

static void test_encode(void) {
    const char *texts[] = {url, chinese, "A"};
    for (size_t t = 0; t < sizeof texts / sizeof *texts; t++) {
        int prev = 0;
        for (size_t l = 0; l < 4; l++) {
            img_qr *q = NULL;
            CHECK_ERR(img_qr_encode(&q, texts[t], levels[l]), IMG_OK);
            if (q) {
                check_structure(q);
                CHECK(q->size >= prev); /* more error correction, never a smaller symbol */
                prev = q->size;
            }
            img_qr_free(q);
        }
    }
    /* Byte mode (QR 7.4.5): 209 bytes are version 10 at level M (Table 7: 213 bytes), not the
     * smaller version alphanumeric or mixed modes could give. */
    img_qr *q = NULL;
    CHECK_INT(strlen(url), 209);
    CHECK_ERR(img_qr_encode(&q, url, IMG_QR_M), IMG_OK);
    CHECK_INT(q ? q->size : 0, 57);
    img_qr_free(q);
    /* A digit string alone would be version 1 in numeric mode; 40 bytes need version 3-L. */
    q = NULL;
    CHECK_ERR(img_qr_encode(&q, "0123456789012345678901234567890123456789", IMG_QR_L), IMG_OK);
    CHECK_INT(q ? q->size : 0, 29);
    img_qr_free(q);
    img_qr_free(NULL);
}

static void test_encode_errors(void) {
    static char big[2050];
    img_qr *q = (img_qr *)&q; /* not NULL, to see it cleared */
    memset(big, 'a', 2049);
    big[2049] = '\0';

    CHECK_ERR(img_qr_encode(NULL, "x", IMG_QR_M), IMG_E_ARG);
    CHECK_DETAIL("out is NULL");
    CHECK_ERR(img_qr_encode(&q, NULL, IMG_QR_M), IMG_E_ARG);
    CHECK_DETAIL("text is NULL");
    CHECK(q == NULL);
    CHECK_ERR(img_qr_encode(&q, "", IMG_QR_M), IMG_E_ARG);
    CHECK_DETAIL("empty");
    CHECK_ERR(img_qr_encode(&q, "x", (img_qr_level)4), IMG_E_ARG);
    CHECK_DETAIL("unknown error correction level 4");
    CHECK_ERR(img_qr_encode(&q, "x", (img_qr_level)-1), IMG_E_ARG);
    CHECK_ERR(img_qr_encode(&q, big, IMG_QR_L), IMG_E_LIMIT);
    CHECK_DETAIL("over the maximum of 2048 bytes");
    CHECK(q == NULL);

    /* 2048 bytes fit at L (2953) and M (2331), not at Q (1663) or H (1273): QR Table 7, version
     * 40. libqrencode says ERANGE. */
    big[2048] = '\0';
    CHECK_ERR(img_qr_encode(&q, big, IMG_QR_L), IMG_OK);
    CHECK_INT(q ? q->size : 0, 149); /* version 33-L holds 2068 bytes, 32-L 1952 */
    img_qr_free(q);
    q = NULL;
    CHECK_ERR(img_qr_encode(&q, big, IMG_QR_M), IMG_OK);
    CHECK_INT(q ? q->size : 0, 169); /* version 38-M holds 2099 bytes, 37-M 1989 */
    img_qr_free(q);
    q = NULL;
    CHECK_ERR(img_qr_encode(&q, big, IMG_QR_Q), IMG_E_LIMIT);
    CHECK_DETAIL("2048 bytes are too long for a QR code at level Q");
    CHECK_ERR(img_qr_encode(&q, big, IMG_QR_H), IMG_E_LIMIT);
    CHECK_DETAIL("too long for a QR code at level H");
    big[1273] = '\0'; /* exactly the capacity of 40-H */
    CHECK_ERR(img_qr_encode(&q, big, IMG_QR_H), IMG_OK);
    CHECK_INT(q ? q->size : 0, 177);
    img_qr_free(q);
    q = NULL;
    big[1273] = 'a';
    big[1274] = '\0'; /* one byte more */
    CHECK_ERR(img_qr_encode(&q, big, IMG_QR_H), IMG_E_LIMIT);
    CHECK(q == NULL);
}

/* ---- Drawing ------------------------------------------------------------------------------- */

/* Reads the path back: every operator is "x y w h re" with numbers of at most three decimals;
 * each rectangle must lie on the module grid of the square (x, y, side), inside the quiet zone,
 * cover one row's run of dark modules, and together they must give back the matrix exactly. */
static void check_path(const img_qr *q, const buf *path, double x, double y, double side) {
    int total = q->size + 2 * QUIET;
    double m = side / total;
    size_t n = (size_t)q->size * (size_t)q->size, runs = 0;
    uint8_t *seen = calloc(n, 1);
    char *text = malloc(path->len + 1);
    char *save = NULL;
    double v[4];
    int nv = 0;
    bool grid = true, quiet = true, overlap = false, format = true;
    if (!seen || !text) {
        check_failures++;
        goto out;
    }
    memcpy(text, path->data, path->len);
    text[path->len] = '\0';
    CHECK(path->len > 0 && text[path->len - 1] == '\n');
    for (char *tok = strtok_r(text, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
        if (strcmp(tok, "re") == 0) {
            double c0, c1, r0, r1; /* module coordinates, rows from the top */
            if (nv != 4) {
                format = false;
                break;
            }
            nv = 0;
            runs++;
            /* Quiet zone (QR 6.3.8): no dark path within 4 modules of the square's edge. */
            if (v[0] < x + QUIET * m - 0.002 || v[1] < y + QUIET * m - 0.002 ||
                v[0] + v[2] > x + side - QUIET * m + 0.002 ||
                v[1] + v[3] > y + side - QUIET * m + 0.002)
                quiet = false;
            c0 = (v[0] - x) / m - QUIET;
            c1 = (v[0] + v[2] - x) / m - QUIET;
            r0 = (y + side - (v[1] + v[3])) / m - QUIET;
            r1 = (y + side - v[1]) / m - QUIET;
            if (fabs(c0 - round(c0)) * m > 0.002 || fabs(c1 - round(c1)) * m > 0.002 ||
                fabs(r0 - round(r0)) * m > 0.002 || fabs(r1 - round(r1)) * m > 0.002 ||
                lround(r1) - lround(r0) != 1 || lround(c1) <= lround(c0) || lround(c0) < 0 ||
                lround(c1) > q->size || lround(r0) < 0 || lround(r1) > q->size) {
                grid = false;
                continue;
            }
            for (long c = lround(c0); c < lround(c1); c++) {
                size_t i = (size_t)lround(r0) * (size_t)q->size + (size_t)c;
                overlap = overlap || seen[i];
                seen[i] = 1;
            }
            /* A run is maximal: the modules on either side of it are light. */
            if (lround(c0) > 0 && module(q, (int)lround(r0), (int)lround(c0) - 1))
                grid = false;
            if (lround(c1) < q->size && module(q, (int)lround(r0), (int)lround(c1)))
                grid = false;
        } else {
            const char *dot = strchr(tok, '.');
            char *end = NULL;
            if (nv == 4 || strspn(tok, "-0123456789.") != strlen(tok) ||
                (dot && strlen(dot + 1) > 3) || (dot && dot[strlen(dot) - 1] == '0')) {
                fprintf(stderr, "test_qr: bad number \"%s\" in the path\n", tok);
                format = false;
                break;
            }
            v[nv++] = strtod(tok, &end);
        }
    }
    CHECK(format && nv == 0);
    CHECK(grid);
    CHECK(quiet);
    CHECK(!overlap);
    CHECK(memcmp(seen, q->modules, n) == 0);
    CHECK(runs > 0);
out:
    free(seen);
    free(text);
}

static void test_path(void) {
    img_qr *q = NULL;
    buf b;
    buf_init(&b, 1 << 20);
    CHECK_ERR(img_qr_encode(&q, url, IMG_QR_M), IMG_OK);
    if (!q)
        goto out;
    /* At the origin, offset, with coordinates that do not divide evenly, and negative. */
    const double squares[][3] = {{0, 0, 40 * MM_TO_PT},
                                 {100, 200, 20 * MM_TO_PT},
                                 {12.3456, 7.891, 33.3333},
                                 {-50, -60.5, 65},
                                 {595.276, 841.89, 200}};
    for (size_t i = 0; i < sizeof squares / sizeof *squares; i++) {
        buf_reset(&b);
        CHECK_ERR(img_qr_path(&b, q, squares[i][0], squares[i][1], squares[i][2]), IMG_OK);
        check_path(q, &b, squares[i][0], squares[i][1], squares[i][2]);
    }
    /* Runs share their edges exactly: for a 65-module square of side 65 at the origin every
     * number is an integer. */
    buf_reset(&b);
    CHECK_ERR(img_qr_path(&b, q, 0, 0, 65), IMG_OK);
    CHECK(memchr(b.data, '.', b.len) == NULL);
    /* The first row of a code starts with the top-left finder's 7 dark modules. */
    CHECK(b.len > 12 && memcmp(b.data, "4 60 7 1 re\n", 12) == 0);

    /* Appends to what is there. */
    buf_reset(&b);
    buf_puts(&b, "0 g\n");
    CHECK_ERR(img_qr_path(&b, q, 0, 0, 65), IMG_OK);
    CHECK(memcmp(b.data, "0 g\n4 60 7 1 re\n", 16) == 0);

    /* Errors: arguments, and a full buffer leaves it as it was. */
    CHECK_ERR(img_qr_path(NULL, q, 0, 0, 10), IMG_E_ARG);
    CHECK_ERR(img_qr_path(&b, NULL, 0, 0, 10), IMG_E_ARG);
    CHECK_ERR(img_qr_path(&b, q, 0, 0, 0), IMG_E_ARG);
    CHECK_DETAIL("out of range");
    CHECK_ERR(img_qr_path(&b, q, 0, 0, -10), IMG_E_ARG);
    CHECK_ERR(img_qr_path(&b, q, NAN, 0, 10), IMG_E_ARG);
    CHECK_ERR(img_qr_path(&b, q, 0, INFINITY, 10), IMG_E_ARG);
    CHECK_ERR(img_qr_path(&b, q, 0, 0, NAN), IMG_E_ARG);
    CHECK_ERR(img_qr_path(&b, q, 1e300, 0, 10), IMG_E_ARG);
    CHECK_ERR(img_qr_path(&b, q, 0, 0, 0.05), IMG_E_ARG);
    CHECK_DETAIL("too small for 65 modules");
    img_qr bad = {.size = 0, .modules = q->modules};
    CHECK_ERR(img_qr_path(&b, &bad, 0, 0, 10), IMG_E_ARG);
    bad.size = 20;
    CHECK_ERR(img_qr_path(&b, &bad, 0, 0, 10), IMG_E_ARG);
    buf small;
    buf_init(&small, 200);
    buf_puts(&small, "keep");
    CHECK_ERR(img_qr_path(&small, q, 0, 0, 100), IMG_E_LIMIT);
    CHECK_INT(small.len, 4);
    CHECK(memcmp(small.data, "keep", 4) == 0);
    buf_free(&small);
out:
    buf_free(&b);
    img_qr_free(q);
}

/* ---- Rendering and reading back ------------------------------------------------------------ */

static char tmpdir[] = "/tmp/test_qr.XXXXXX";

/* A one-page PDF whose page is the square (side in points), white, with the code drawn in black.
 */
static bool write_pdf(const char *path, const img_qr *q, double side) {
    buf content, pdf, ops;
    long off[5];
    long xref;
    bool ok = false;
    FILE *f = NULL;
    buf_init(&content, 1 << 22);
    buf_init(&pdf, 1 << 22);
    buf_init(&ops, 1 << 22);
    if (img_qr_path(&ops, q, 0, 0, side) != IMG_OK)
        goto out;
    buf_printf(&content, "1 g 0 0 %.3f %.3f re f 0 g\n", side, side);
    buf_append(&content, ops.data, ops.len);
    buf_puts(&content, "f\n");
    buf_puts(&pdf, "%PDF-1.4\n");
    off[1] = (long)pdf.len;
    buf_puts(&pdf, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    off[2] = (long)pdf.len;
    buf_puts(&pdf, "2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n");
    off[3] = (long)pdf.len;
    buf_printf(&pdf,
               "3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.3f %.3f] /Contents 4 0 R "
               ">>\nendobj\n",
               side, side);
    off[4] = (long)pdf.len;
    buf_printf(&pdf, "4 0 obj\n<< /Length %zu >>\nstream\n", content.len);
    buf_append(&pdf, content.data, content.len);
    buf_puts(&pdf, "\nendstream\nendobj\n");
    xref = (long)pdf.len;
    buf_puts(&pdf, "xref\n0 5\n0000000000 65535 f \n");
    for (int i = 1; i < 5; i++)
        buf_printf(&pdf, "%010ld 00000 n \n", off[i]);
    if (buf_printf(&pdf, "trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%ld\n%%%%EOF\n", xref))
        goto out;
    f = fopen(path, "wb");
    ok = f && fwrite(pdf.data, 1, pdf.len, f) == pdf.len;
out:
    if (f && fclose(f) != 0)
        ok = false;
    buf_free(&content);
    buf_free(&pdf);
    buf_free(&ops);
    return ok;
}

static bool run(const char *cmd) {
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "test_qr: command failed (%d): %s\n", st, cmd);
        return false;
    }
    return true;
}

/* The standard output of a command; false when it fails. */
static bool capture(buf *out, const char *cmd) {
    uint8_t chunk[4096];
    size_t n;
    FILE *p = popen(cmd, "r");
    if (!p)
        return false;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        buf_append(out, chunk, n);
    int st = pclose(p);
    return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Every pixel wholly inside the quiet zone is white (pixels the code's edge crosses may be grey
 * from anti-aliasing). side is in points; the page is the square, its top at pixel row 0. */
static void check_quiet_pixels(const char *png, int size, double side, int dpi) {
    img_rgba *img = NULL;
    int dark = 0;
    double scale = dpi / 72.0;
    double lo = side * QUIET / (size + 2 * QUIET) * scale - 0.01; /* the code's area, in pixels */
    double hi = side * scale - lo;
    CHECK_ERR(img_png_read_file(&img, png, NULL), IMG_OK);
    if (!img)
        return;
    for (uint32_t r = 0; r < img->height; r++) {
        for (uint32_t c = 0; c < img->width; c++) {
            bool quiet = c + 1.0 <= lo || c >= hi || r + 1.0 <= lo || r >= hi;
            const uint8_t *p = img->px + ((size_t)r * img->width + c) * 4;
            if (quiet && (p[0] < 255 || p[1] < 255 || p[2] < 255))
                dark++;
        }
    }
    if (dark)
        fprintf(stderr, "test_qr: %s: %d dark pixels in the quiet zone\n", png, dark);
    CHECK_INT(dark, 0);
    img_rgba_free(img);
}

/* Draws text at level into a square of mm millimetres, renders it at dpi and reads it back. */
static void check_decode(const char *text, img_qr_level level, double mm, int dpi) {
    char pdf[64], png[64], base[64], cmd[256];
    img_qr *q = NULL;
    buf got;
    buf_init(&got, 1 << 16);
    double side = round(mm * MM_TO_PT * 1000) / 1000;
    snprintf(pdf, sizeof pdf, "%s/qr.pdf", tmpdir);
    snprintf(base, sizeof base, "%s/qr", tmpdir);
    snprintf(png, sizeof png, "%s/qr.png", tmpdir);
    CHECK_ERR(img_qr_encode(&q, text, level), IMG_OK);
    if (!q || !write_pdf(pdf, q, side)) {
        check_failures++;
        goto out;
    }
    snprintf(cmd, sizeof cmd, "pdftoppm -r %d -png -singlefile '%s' '%s'", dpi, pdf, base);
    if (!run(cmd)) {
        check_failures++;
        goto out;
    }
    snprintf(cmd, sizeof cmd,
             "zbarimg --nodbus --raw -q -Sdisable -Sqrcode.enable -Sbinary '%s' 2>/dev/null", png);
    if (!capture(&got, cmd) || got.len != strlen(text) || memcmp(got.data, text, got.len) != 0) {
        fprintf(stderr,
                "test_qr: %zu bytes at level %c in %g mm at %d dpi: zbarimg read %zu bytes "
                "\"%.*s\"\n",
                strlen(text), level_names[level], mm, dpi, got.len, (int)got.len,
                got.data ? (const char *)got.data : "");
        check_failures++;
    }
    check_quiet_pixels(png, q->size, side, dpi);
out:
    unlink(png);
    unlink(pdf);
    buf_free(&got);
    img_qr_free(q);
}

static void test_decode(void) {
    if (system("command -v pdftoppm >/dev/null 2>&1 && command -v zbarimg >/dev/null 2>&1") != 0) {
        printf("test_qr: pdftoppm or zbarimg missing: rendering tests skipped\n");
        return;
    }
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "test_qr: mkdtemp: %s\n", strerror(errno));
        check_failures++;
        return;
    }
    for (size_t l = 0; l < 4; l++) {
        check_decode(url, levels[l], 40, 150);
        check_decode(chinese, levels[l], 40, 150);
        check_decode("日本", levels[l], 40, 150); /* zbar takes it for Shift-JIS unless binary */
    }
    /* Small: 20 mm at 72 dpi reads for a version-2 code (25 + 8 modules, 1.7 pixels each). */
    check_decode("https://v.eseal.cn/l/1234", IMG_QR_M, 20, 72);
    /* The full verification URL at 20 mm needs 150 dpi, at 72 dpi 40 mm. */
    check_decode(url, IMG_QR_M, 20, 150);
    check_decode(url, IMG_QR_M, 40, 72);
    rmdir(tmpdir);
}

int main(void) {
    make_url();
    test_encode();
    test_encode_errors();
    test_path();
    test_decode();
    return check_report("test_qr");
}
