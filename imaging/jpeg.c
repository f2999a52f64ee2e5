/* Bounded JPEG decoding with libjpeg-turbo.
 *
 * References: ITU-T T.81 | ISO/IEC 10918-1 (JPEG), cited as "T.81" with its annex; JFIF 1.02
 * (ITU-T T.871 | ISO/IEC 10918-5), cited as "JFIF"; Adobe Technical Note #5116 (the APP14
 * "Adobe" marker and its colour transform); libjpeg's libjpeg.txt and libjpeg-turbo's
 * jpeglib.h (JCS_EXT_RGBA) and djpeg.c (-maxscans, -strict), whose guards this file applies.
 *
 * Order of checks: the input size against max_bytes, the SOI marker (T.81 B.1.1.3), then
 * jpeg_read_header(), which reads only the markers up to the first SOS and allocates only
 * tables; the width, height and pixel count from the frame header are checked against the
 * limits there, before jpeg_start_decompress() allocates anything in proportion to the image.
 * libjpeg's own memory is capped as well (max_memory_to_use), and the number of scans of a
 * progressive file is bounded, so a small file cannot make the decoder work without end.
 *
 * setjmp/longjmp: libjpeg reports errors by calling error_exit, which longjmps back to the
 * setjmp in dec_run(). Everything dec_run() changes after setjmp and needs after a longjmp
 * lives in the context struct owned by img_jpeg_decode() (C17 7.13.2.1p3), whose one exit path
 * frees whatever was allocated, as in png.c. */
#include "imaging/internal.h"

#include "base/fileio.h"

#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#if !defined(JCS_ALPHA_EXTENSIONS)
#error "libjpeg-turbo 1.2.1 or later is needed (JCS_EXT_RGBA)"
#endif

/* The most scans a progressive JPEG may have. A well-formed progressive file has about ten
 * (libjpeg's default script has 10 for colour); libjpeg-turbo's djpeg suggests -maxscans for
 * untrusted input because each scan re-reads the whole coefficient buffer. */
#define IMG_JPEG_MAX_SCANS 500
/* libjpeg's working memory beyond the coefficient buffers: tables, row buffers, IDCT state. */
#define IMG_JPEG_MEM_SLACK ((uint64_t)32 << 20)
/* JFIF: density units 1 = dots per inch, 2 = dots per cm; an inch is 2.54 cm. */
#define CM_PER_INCH 2.54

/* Decoder state. Owned by img_jpeg_decode(); dec_run() changes it only through a pointer.
 * err must be first: libjpeg's callbacks get &err (cinfo->err) and cast it back. */
struct jpeg_dec {
    struct jpeg_error_mgr err;
    jmp_buf jmp;
    struct jpeg_progress_mgr progress;
    struct jpeg_decompress_struct cinfo;
    int created;               /* cinfo was created (jpeg_destroy_decompress is due) */
    img_err fail;              /* set before a longjmp that is not libjpeg's own error */
    char msg[JMSG_LENGTH_MAX]; /* libjpeg's message behind the longjmp */
    int msg_code;              /* its message code (jerror.h) */
    const img_limits *lim;
    img_rgba *img;
    uint8_t *row; /* one CMYK row */
};

static void on_jpeg_error(j_common_ptr cinfo) {
    struct jpeg_dec *d = (struct jpeg_dec *)(void *)cinfo->err;
    d->msg_code = cinfo->err->msg_code;
    (*cinfo->err->format_message)(cinfo, d->msg);
    longjmp(d->jmp, 1);
}

/* Warnings a well-formed file never causes and that cannot change what it shows. Every other
 * warning (jerror.h JWRN_*: premature end of file, extraneous bytes before a marker, bad
 * Huffman or arithmetic code, a resync, an inconsistent progression) means libjpeg is
 * guessing at damaged data, and the file is refused as corrupt (djpeg -strict and TurboJPEG's
 * TJFLAG_STOPONWARNING do the same, the latter by a longjmp from emit_message as here). */
static int benign_warning(int code) {
    return code == JWRN_JFIF_MAJOR || code == JWRN_BOGUS_ICC || code == JWRN_ADOBE_XFORM;
}

/* msg_level -1 is a warning; 0 and above are trace messages, which a server drops. */
static void on_jpeg_message(j_common_ptr cinfo, int msg_level) {
    if (msg_level < 0 && !benign_warning(cinfo->err->msg_code)) {
        struct jpeg_dec *d = (struct jpeg_dec *)(void *)cinfo->err;
        d->fail = IMG_E_CORRUPT;
        on_jpeg_error(cinfo);
    }
}

/* Called by libjpeg between passes and scans; bounds the number of scans (djpeg -maxscans). */
static void on_jpeg_progress(j_common_ptr cinfo) {
    if (cinfo->is_decompressor) {
        j_decompress_ptr dc = (j_decompress_ptr)cinfo;
        struct jpeg_dec *d = (struct jpeg_dec *)(void *)cinfo->err;
        if (dc->input_scan_number > IMG_JPEG_MAX_SCANS) {
            d->fail = IMG_E_LIMIT;
            snprintf(d->msg, sizeof d->msg, "more than %d scans", IMG_JPEG_MAX_SCANS);
            longjmp(d->jmp, 1);
        }
    }
}

/* The one place the size limits are applied, before any allocation for the image. */
static img_err check_size(uint32_t width, uint32_t height, const img_limits *lim) {
    img_err rc = IMG_OK;
    uint64_t pixels = (uint64_t)width * height;
    if (width == 0 || height == 0)
        rc = img_fail(IMG_E_CORRUPT, "corrupt JPEG: empty frame %" PRIu32 " x %" PRIu32, width,
                      height);
    else if (width > lim->max_width)
        rc = img_fail(IMG_E_LIMIT,
                      "JPEG width %" PRIu32 " is over the maximum of %" PRIu32 " (max_width)",
                      width, lim->max_width);
    else if (height > lim->max_height)
        rc = img_fail(IMG_E_LIMIT,
                      "JPEG height %" PRIu32 " is over the maximum of %" PRIu32 " (max_height)",
                      height, lim->max_height);
    else if (pixels > lim->max_pixels)
        rc = img_fail(IMG_E_LIMIT,
                      "JPEG is %" PRIu32 " x %" PRIu32 " = %" PRIu64
                      " pixels, over the maximum of %" PRIu64 " (max_pixels)",
                      width, height, pixels, lim->max_pixels);
    else if (pixels > SIZE_MAX / 4)
        rc = img_fail(IMG_E_LIMIT, "JPEG is %" PRIu32 " x %" PRIu32 " pixels: too large for memory",
                      width, height);
    return rc;
}

/* Turns the libjpeg error behind a longjmp into ours. */
static img_err dec_failed(const struct jpeg_dec *d) {
    if (d->fail == IMG_E_LIMIT)
        return img_fail(IMG_E_LIMIT, "JPEG over a limit: %s", d->msg);
    if (d->fail == IMG_E_CORRUPT)
        return img_fail(IMG_E_CORRUPT, "corrupt JPEG: %s", d->msg);
    switch (d->msg_code) {
    case JERR_OUT_OF_MEMORY:
        return img_fail(IMG_E_NOMEM, "libjpeg: %s", d->msg);
    case JERR_IMAGE_TOO_BIG:
    case JERR_WIDTH_OVERFLOW:
        return img_fail(IMG_E_LIMIT, "JPEG over libjpeg's limit: %s", d->msg);
    case JERR_NO_BACKING_STORE: /* the coefficient buffers would pass max_memory_to_use */
    case JERR_VIRTUAL_BUG:
        return img_fail(IMG_E_LIMIT, "JPEG needs more decoder memory than allowed (%s)", d->msg);
    case JERR_NO_SOI:
        return img_fail(IMG_E_FORMAT, "not a JPEG: %s", d->msg);
    case JERR_ARITH_NOTIMPL:
    case JERR_NOTIMPL:
    case JERR_NOT_COMPILED:
    case JERR_CONVERSION_NOTIMPL:
    case JERR_BAD_PRECISION:
        return img_fail(IMG_E_UNSUPPORTED, "unsupported JPEG: %s", d->msg);
    default:
        return img_fail(IMG_E_CORRUPT, "corrupt JPEG: %s", d->msg);
    }
}

/* CMYK to RGB: R = (1 - C)(1 - K) and so on, the naive conversion without a colour profile
 * (what PDF readers do for DeviceCMYK without one, ISO 32000-1 10.3.5). Files with Adobe's
 * APP14 marker (Photoshop, and every YCCK file) store the inks inverted, 255 meaning none
 * (Adobe TN #5116 and libjpeg.txt "special color spaces"), so there it is R = C K / 255. */
static void cmyk_row(uint8_t *dst, const uint8_t *src, uint32_t width, int inverted) {
    for (uint32_t x = 0; x < width; x++) {
        unsigned c = src[4 * x], m = src[4 * x + 1], y = src[4 * x + 2], k = src[4 * x + 3];
        if (!inverted) {
            c = 255 - c;
            m = 255 - m;
            y = 255 - y;
            k = 255 - k;
        }
        dst[4 * x] = (uint8_t)((c * k + 127) / 255);
        dst[4 * x + 1] = (uint8_t)((m * k + 127) / 255);
        dst[4 * x + 2] = (uint8_t)((y * k + 127) / 255);
        dst[4 * x + 3] = 255;
    }
}

/* The libjpeg memory cap: the coefficient buffers of a progressive or multi-scan file (two
 * bytes per coefficient, a full-resolution plane per component at most, T.81 A.1.1) plus slack;
 * a baseline file needs only the slack. */
static long mem_cap(uint32_t width, uint32_t height, int components) {
    uint64_t need = (uint64_t)width * height * (uint64_t)components * 2 + IMG_JPEG_MEM_SLACK;
    return need > (uint64_t)LONG_MAX ? LONG_MAX : (long)need;
}

/* The part of decoding that runs under libjpeg's setjmp. Returns normally for its own errors
 * (the caller frees what is in d); libjpeg's errors come back through the setjmp. */
static img_err dec_run(struct jpeg_dec *d, const uint8_t *data, size_t len) {
    img_err rc = IMG_OK;
    struct jpeg_decompress_struct *ci = &d->cinfo;
    int cmyk, inverted;

    if (setjmp(d->jmp))
        return dec_failed(d);

    d->created = 1; /* jpeg_destroy is safe on a struct that creation left half-made */
    jpeg_create_decompress(ci);
    ci->progress = &d->progress;
    /* The header phase needs only tables: a tight cap until the size is known. */
    ci->mem->max_memory_to_use = (long)IMG_JPEG_MEM_SLACK;
    /* jpeg_mem_src takes an unsigned long length; len fits (checked against max_bytes). */
    jpeg_mem_src(ci, data, (unsigned long)len);
    (void)jpeg_read_header(ci, TRUE); /* TRUE: a tables-only stream is an error */

    rc = check_size(ci->image_width, ci->image_height, d->lim);
    if (rc != IMG_OK)
        return rc;
    ci->mem->max_memory_to_use = mem_cap(ci->image_width, ci->image_height, ci->num_components);

    switch (ci->jpeg_color_space) {
    case JCS_GRAYSCALE:
    case JCS_YCbCr:
    case JCS_RGB:
        cmyk = 0;
        ci->out_color_space = JCS_EXT_RGBA; /* libjpeg-turbo fills alpha with 255 */
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        cmyk = 1;
        ci->out_color_space = JCS_CMYK; /* libjpeg turns YCCK into (inverted) CMYK */
        break;
    default:
        return img_fail(IMG_E_UNSUPPORTED, "unsupported JPEG: %d components in colour space %d",
                        ci->num_components, (int)ci->jpeg_color_space);
    }
    inverted = ci->saw_Adobe_marker || ci->jpeg_color_space == JCS_YCCK;

    jpeg_start_decompress(ci);
    if (ci->output_width != ci->image_width || ci->output_height != ci->image_height ||
        ci->output_components != 4)
        return img_fail(IMG_E_UNSUPPORTED, "libjpeg did not give %" PRIu32 " x %" PRIu32 " x 4",
                        (uint32_t)ci->image_width, (uint32_t)ci->image_height);
    rc = img_rgba_new(&d->img, ci->output_width, ci->output_height);
    if (rc != IMG_OK)
        return rc;
    /* JFIF: density unit 0 gives only the aspect ratio; 1 is dots per inch, 2 per cm. */
    if (ci->saw_JFIF_marker && ci->X_density && ci->Y_density &&
        (ci->density_unit == 1 || ci->density_unit == 2)) {
        double k = ci->density_unit == 2 ? CM_PER_INCH : 1.0;
        d->img->dpi_x = ci->X_density * k;
        d->img->dpi_y = ci->Y_density * k;
    }
    if (cmyk) {
        d->row = malloc((size_t)ci->output_width * 4);
        if (!d->row)
            return img_fail(IMG_E_NOMEM, "no memory for a JPEG row");
    }
    while (ci->output_scanline < ci->output_height) {
        uint8_t *dst = d->img->px + (size_t)ci->output_scanline * ci->output_width * 4;
        JSAMPROW rows[1] = {cmyk ? d->row : dst};
        if (jpeg_read_scanlines(ci, rows, 1) != 1)
            return img_fail(IMG_E_CORRUPT, "corrupt JPEG: no data for row %u",
                            (unsigned)ci->output_scanline);
        if (cmyk)
            cmyk_row(dst, d->row, ci->output_width, inverted);
    }
    /* Reads on to EOI, so damage after the last row is refused too. */
    (void)jpeg_finish_decompress(ci);
    return IMG_OK;
}

img_err img_jpeg_decode(img_rgba **out, const uint8_t *data, size_t len, const img_limits *lim) {
    img_err rc = IMG_OK;
    struct jpeg_dec *d = NULL;
    if (!out || (!data && len)) {
        rc = img_fail(IMG_E_ARG, "img_jpeg_decode: NULL %s", out ? "data" : "out");
        goto out;
    }
    *out = NULL;
    if (!lim)
        lim = &IMG_DEFAULT_LIMITS;
    if (len > lim->max_bytes || len > ULONG_MAX) {
        rc = img_fail(IMG_E_LIMIT, "JPEG input is %zu bytes, over the maximum of %zu (max_bytes)",
                      len, lim->max_bytes);
        goto out;
    }
    /* T.81 B.1.1.3: a JPEG starts with SOI (FF D8). What follows is libjpeg's to judge: a
     * file cut short after it is truncated, not "not a JPEG". */
    if (len < 2 || data[0] != 0xFF || data[1] != 0xD8) {
        rc = len == 0 ? img_fail(IMG_E_FORMAT, "not a JPEG: the input is empty")
                      : img_fail(IMG_E_FORMAT, "not a JPEG: no SOI marker (starts %02x %02x)",
                                 data[0], len > 1 ? data[1] : 0u);
        goto out;
    }
    /* The jmp_buf and libjpeg's structures are large; they live on the heap. */
    d = calloc(1, sizeof *d);
    if (!d) {
        rc = img_fail(IMG_E_NOMEM, "no memory for the JPEG decoder");
        goto out;
    }
    d->lim = lim;
    d->cinfo.err = jpeg_std_error(&d->err);
    d->err.error_exit = on_jpeg_error;
    d->err.emit_message = on_jpeg_message;
    d->progress.progress_monitor = on_jpeg_progress;
    rc = dec_run(d, data, len);
    if (rc != IMG_OK)
        goto out;
    *out = d->img;
    d->img = NULL;
out:
    if (d) {
        if (d->created)
            jpeg_destroy_decompress(&d->cinfo);
        free(d->row);
        img_rgba_free(d->img);
        free(d);
    }
    return rc;
}
