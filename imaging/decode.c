/* Decoding a picture by its content: PNG or JPEG, whatever the file is called.
 *
 * The format is told by the signature alone (PNG 5.2; JPEG's SOI and next marker, T.81 B.1.1.3);
 * anything else is refused with IMG_E_FORMAT naming what the data looks like, so a user who
 * uploads a PDF or a HEIC photo is told so rather than "bad signature". */
#include "imaging/internal.h"

#include "base/fileio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PNG 5.2; T.81 B.1.1.3 (SOI: whatever follows it, the JPEG decoder judges). */
static const uint8_t sig_png[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
static const uint8_t sig_jpeg[2] = {0xFF, 0xD8};

static int starts(const uint8_t *data, size_t len, const void *sig, size_t n) {
    return len >= n && memcmp(data, sig, n) == 0;
}

/* ISO/IEC 14496-12 4.3: a file-type box, "ftyp" at offset 4, then the major brand. */
static int ftyp_brand(const uint8_t *data, size_t len, const char *brand) {
    return len >= 12 && memcmp(data + 4, "ftyp", 4) == 0 && memcmp(data + 8, brand, 4) == 0;
}

/* What data looks like, for the message when it is neither PNG nor JPEG; NULL when unknown. */
static const char *what_is(const uint8_t *data, size_t len) {
    static const struct {
        const char *sig;
        size_t n;
        const char *name;
    } known[] = {
        {"GIF87a", 6, "a GIF image"},
        {"GIF89a", 6, "a GIF image"},
        {"II*\0", 4, "a TIFF image"},
        {"MM\0*", 4, "a TIFF image"},
        {"BM", 2, "a BMP image"},
        {"%PDF-", 5, "a PDF document"},
        {"%!PS", 4, "a PostScript document"},
        {"\0\0\0\x0cjP  \r\n\x87\n", 12, "a JPEG 2000 image"},
        {"\xff\x4f\xff\x51", 4, "a JPEG 2000 codestream"},
        {"\xff\x0a", 2, "a JPEG XL image"},
        {"\0\0\0\x0cJXL \r\n\x87\n", 12, "a JPEG XL image"},
        {"PK\x03\x04", 4, "a ZIP archive (or an office document)"},
        {"\x1f\x8b", 2, "gzip-compressed data"},
        {"<?xml", 5, "an XML or SVG document"},
        {"<svg", 4, "an SVG image"},
        {"<!DOCTYPE", 9, "an HTML document"},
        {"<html", 5, "an HTML document"},
    };
    const char *name = NULL;
    for (size_t i = 0; !name && i < sizeof known / sizeof known[0]; i++)
        if (starts(data, len, known[i].sig, known[i].n))
            name = known[i].name;
    if (!name && len >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WEBP", 4) == 0)
        name = "a WebP image";
    if (!name && (ftyp_brand(data, len, "heic") || ftyp_brand(data, len, "heix") ||
                  ftyp_brand(data, len, "mif1") || ftyp_brand(data, len, "msf1")))
        name = "a HEIF/HEIC image";
    if (!name && ftyp_brand(data, len, "avif"))
        name = "an AVIF image";
    return name;
}

img_err img_decode(img_rgba **out, const uint8_t *data, size_t len, const img_limits *lim) {
    img_err rc = IMG_OK;
    const char *name;
    if (!out || (!data && len)) {
        rc = img_fail(IMG_E_ARG, "img_decode: NULL %s", out ? "data" : "out");
        goto out;
    }
    *out = NULL;
    if (!lim)
        lim = &IMG_DEFAULT_LIMITS;
    if (len > lim->max_bytes) {
        rc = img_fail(IMG_E_LIMIT, "image input is %zu bytes, over the maximum of %zu (max_bytes)",
                      len, lim->max_bytes);
        goto out;
    }
    if (starts(data, len, sig_png, sizeof sig_png)) {
        rc = img_png_decode(out, data, len, lim);
        goto out;
    }
    if (starts(data, len, sig_jpeg, sizeof sig_jpeg)) {
        rc = img_jpeg_decode(out, data, len, lim);
        goto out;
    }
    if (len == 0) {
        rc = img_fail(IMG_E_FORMAT, "not a PNG or JPEG image: the input is empty");
        goto out;
    }
    name = what_is(data, len);
    if (name) {
        rc = img_fail(IMG_E_FORMAT, "not a PNG or JPEG image: the data is %s", name);
    } else {
        static const char digits[] = "0123456789abcdef";
        char hex[3 * 8] = "";
        size_t n = len < 8 ? len : 8;
        for (size_t i = 0; i < n; i++) {
            hex[3 * i] = digits[data[i] >> 4];
            hex[3 * i + 1] = digits[data[i] & 15];
            hex[3 * i + 2] = i + 1 < n ? ' ' : '\0';
        }
        rc = img_fail(IMG_E_FORMAT, "not a PNG or JPEG image: unrecognised data (starts %s)", hex);
    }
out:
    return rc;
}

img_err img_read_with(img_rgba **out, const char *path, const img_limits *lim,
                      img_err (*decode)(img_rgba **, const uint8_t *, size_t, const img_limits *),
                      const char *what) {
    img_err rc = IMG_OK;
    uint8_t *data = NULL;
    size_t len = 0;
    int err;
    if (!out || !path) {
        rc = img_fail(IMG_E_ARG, "%s: NULL %s", what, out ? "path" : "out");
        goto out;
    }
    *out = NULL;
    if (!lim)
        lim = &IMG_DEFAULT_LIMITS;
    err = file_read_all(&data, &len, path, lim->max_bytes);
    if (err == EFBIG) {
        rc = img_fail(IMG_E_LIMIT, "%s: larger than the maximum of %zu bytes (max_bytes)", path,
                      lim->max_bytes);
        goto out;
    }
    if (err == ENOMEM) {
        rc = img_fail(IMG_E_NOMEM, "%s: no memory to read the file", path);
        goto out;
    }
    if (err) {
        rc = img_fail(IMG_E_IO, "cannot read %s: %s", path, strerror(err));
        goto out;
    }
    rc = decode(out, data, len, lim);
    if (rc != IMG_OK) {
        char detail[512];
        snprintf(detail, sizeof detail, "%s", img_errdetail());
        img_fail(rc, "%s: %s", path, detail);
    }
out:
    free(data);
    return rc;
}

img_err img_read_file(img_rgba **out, const char *path, const img_limits *lim) {
    return img_read_with(out, path, lim, img_decode, "img_read_file");
}
