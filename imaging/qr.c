/* QR codes (ISO/IEC 18004:2015) from libqrencode 4, drawn as PDF path operators.
 *
 * References: ISO/IEC 18004:2015, cited as "QR" with its clause numbers; ISO 32000-1:2008,
 * cited as "PDF".
 *
 * Encoding: the text is taken as bytes (QR 7.4.5, byte mode) with no ECI, so UTF-8 goes into the
 * symbol unchanged; libqrencode picks the smallest version (1 to 40) that holds it at the given
 * error correction level (QR 7.5.1). Its result is copied into our own type and freed at once,
 * so callers never see libqrencode's memory. libqrencode is thread-safe when built with
 * pthreads, as Debian's is.
 *
 * Drawing: one rectangle per horizontal run of dark modules (PDF 8.5.2.1, "re"), which the
 * caller fills with the nonzero rule. Coordinates are rounded to thousandths of a unit on a
 * fixed grid of module edges, so neighbouring runs share their edges exactly and no hairline
 * gap or overlap appears between rows. */
#include "imaging/qr.h"

#include "imaging/internal.h"

#include <errno.h>
#include <math.h>
#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

/* The most text bytes we encode: a verification URL with its token is a few hundred bytes; the
 * largest symbol (version 40-L) holds 2953 bytes, at level H only 1273 (QR Table 7). */
#define IMG_QR_MAX_TEXT 2048u
/* QR 6.3.8: the quiet zone is 4 modules wide on every side. */
#define QR_QUIET 4
/* QR 6.3.1: version 1 is 21 modules wide, version 40 is 177. */
#define QR_MIN_WIDTH 21
#define QR_MAX_WIDTH 177
/* The largest coordinate or side we draw: far beyond any page (PDF annex C.2 suggests 14400
 * units), small enough that thousandths fit in a long long with room to spare. */
#define QR_MAX_COORD 1e7
/* Coordinates are written with three decimals. */
#define QR_SCALE 1000.0

static const char level_names[] = {'L', 'M', 'Q', 'H'};

static QRecLevel to_qrencode_level(img_qr_level level) {
    switch (level) {
    case IMG_QR_L:
        return QR_ECLEVEL_L;
    case IMG_QR_M:
        return QR_ECLEVEL_M;
    case IMG_QR_Q:
        return QR_ECLEVEL_Q;
    case IMG_QR_H:
        return QR_ECLEVEL_H;
    }
    return QR_ECLEVEL_M; /* not reached: the caller checks the level */
}

img_err img_qr_encode(img_qr **out, const char *text, img_qr_level level) {
    img_err rc = IMG_OK;
    QRcode *code = NULL;
    img_qr *q = NULL;
    size_t len, n;
    if (out)
        *out = NULL;
    if (!out || !text) {
        rc = img_fail(IMG_E_ARG, "QR code: %s is NULL", !out ? "out" : "text");
        goto out;
    }
    if ((unsigned)level > IMG_QR_H) {
        rc = img_fail(IMG_E_ARG, "QR code: unknown error correction level %d", (int)level);
        goto out;
    }
    /* strnlen: a missing terminator costs at most the maximum plus one byte of reading. */
    len = strnlen(text, IMG_QR_MAX_TEXT + 1);
    if (len > IMG_QR_MAX_TEXT) {
        rc = img_fail(IMG_E_LIMIT, "QR code: text over the maximum of %u bytes", IMG_QR_MAX_TEXT);
        goto out;
    }
    if (len == 0) {
        rc = img_fail(IMG_E_ARG, "QR code: the text is empty");
        goto out;
    }
    errno = 0;
    code = QRcode_encodeData((int)len, (const unsigned char *)text, 0, to_qrencode_level(level));
    if (!code) {
        int e = errno;
        if (e == ERANGE)
            rc = img_fail(IMG_E_LIMIT, "QR code: %zu bytes are too long for a QR code at level %c",
                          len, level_names[level]);
        else if (e == ENOMEM)
            rc = img_fail(IMG_E_NOMEM, "QR code: libqrencode ran out of memory");
        else
            rc = img_fail(IMG_E_ARG, "QR code: libqrencode refused the input (errno %d)", e);
        goto out;
    }
    if (code->width < QR_MIN_WIDTH || code->width > QR_MAX_WIDTH || !code->data) {
        rc = img_fail(IMG_E_UNSUPPORTED, "QR code: libqrencode returned a %d-module symbol",
                      code->width);
        goto out;
    }
    n = (size_t)code->width * (size_t)code->width;
    q = calloc(1, sizeof *q);
    if (!q || !(q->modules = malloc(n))) {
        rc = img_fail(IMG_E_NOMEM, NULL);
        goto out;
    }
    q->size = code->width;
    /* libqrencode: bit 0 of each byte is the module's colour (1 = dark); the other bits say
     * which function pattern it belongs to. */
    for (size_t i = 0; i < n; i++)
        q->modules[i] = code->data[i] & 1u;
    *out = q;
    q = NULL;
out:
    QRcode_free(code);
    img_qr_free(q);
    return rc;
}

void img_qr_free(img_qr *q) {
    if (q) {
        free(q->modules);
        free(q);
    }
}

/* A coordinate in thousandths of a unit, to the nearest. */
static long long to_milli(double v) {
    return llround(v * QR_SCALE);
}

/* Appends " " (unless first) and a number given in thousandths, with at most three decimals and
 * no trailing zeros (PDF 7.3.3: a real is digits with an optional point, no exponent). Formatted
 * by hand: a code has a few thousand of these, and printf was a fifth of the stamping time. */
static int put_milli(buf *out, long long milli, int first) {
    char tmp[32], *p = tmp + sizeof tmp;
    unsigned long long a = milli < 0 ? 0ull - (unsigned long long)milli : (unsigned long long)milli;
    unsigned long long whole = a / 1000, frac = a % 1000;
    int decimals = frac == 0 ? 0 : frac % 100 == 0 ? 1 : frac % 10 == 0 ? 2 : 3;
    for (int i = 3; i > decimals; i--)
        frac /= 10;
    for (int i = 0; i < decimals; i++, frac /= 10)
        *--p = (char)('0' + frac % 10);
    if (decimals)
        *--p = '.';
    do {
        *--p = (char)('0' + whole % 10);
        whole /= 10;
    } while (whole);
    if (milli < 0)
        *--p = '-';
    if (!first)
        *--p = ' ';
    return buf_append(out, p, (size_t)(tmp + sizeof tmp - p));
}

/* One "x y w h re" for the dark modules [c0, c1) of row r (0 at the top). Edges come from the
 * grid: edge k of the total+1 edges across is at x0 + k * module. */
static int put_run(buf *out, double x, double top, double module, int r, int c0, int c1) {
    long long left = to_milli(x + (QR_QUIET + c0) * module);
    long long right = to_milli(x + (QR_QUIET + c1) * module);
    long long upper = to_milli(top - (QR_QUIET + r) * module);
    long long lower = to_milli(top - (QR_QUIET + r + 1) * module);
    int err = put_milli(out, left, 1);
    if (!err)
        err = put_milli(out, lower, 0);
    if (!err)
        err = put_milli(out, right - left, 0);
    if (!err)
        err = put_milli(out, upper - lower, 0);
    if (!err)
        err = buf_puts(out, " re\n");
    return err;
}

img_err img_qr_path(buf *out, const img_qr *q, double x, double y, double side) {
    img_err rc = IMG_OK;
    size_t start = out ? out->len : 0;
    int total, err = BUF_OK;
    double module, top;
    if (!out || !q || !q->modules) {
        rc = img_fail(IMG_E_ARG, "QR path: %s is NULL", !out ? "out" : "the code");
        goto out;
    }
    if (q->size < QR_MIN_WIDTH || q->size > QR_MAX_WIDTH) {
        rc = img_fail(IMG_E_ARG, "QR path: %d modules is not a QR code's size", q->size);
        goto out;
    }
    if (!isfinite(x) || !isfinite(y) || !isfinite(side) || fabs(x) > QR_MAX_COORD ||
        fabs(y) > QR_MAX_COORD || !(side > 0) || side > QR_MAX_COORD) {
        rc = img_fail(IMG_E_ARG, "QR path: square at (%g, %g) of side %g is out of range", x, y,
                      side);
        goto out;
    }
    total = q->size + 2 * QR_QUIET;
    module = side / total;
    if (module * QR_SCALE < 1) {
        rc = img_fail(IMG_E_ARG, "QR path: side %g is too small for %d modules", side, total);
        goto out;
    }
    top = y + side;
    for (int r = 0; r < q->size && !err; r++) {
        const uint8_t *row = q->modules + (size_t)r * (size_t)q->size;
        int c = 0;
        while (c < q->size && !err) {
            int c0;
            while (c < q->size && !row[c])
                c++;
            c0 = c;
            while (c < q->size && row[c])
                c++;
            if (c > c0)
                err = put_run(out, x, top, module, r, c0, c);
        }
    }
    if (err) {
        out->len = start; /* all or nothing */
        rc = img_fail(err == BUF_ENOMEM ? IMG_E_NOMEM : IMG_E_LIMIT, "QR path: %s",
                      buf_strerror(err));
    }
out:
    return rc;
}
