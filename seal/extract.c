/* Taking the seal out of a scanned confirmation letter (DESIGN.md, system 1).
 *
 * The imaging library finds and extracts; this decides. A scan is accepted only when it holds
 * exactly one seal, red and clearly stamped: the picture becomes the enterprise's seal, so a
 * doubtful scan is refused with its cause, for the applicant to upload a better one, rather
 * than guessed at. */
#include "seal/extract.h"

#include "imaging/image.h"
#include "seal/internal.h"

#include <stdio.h>
#include <string.h>

/* An imaging error as the domain's, "cause: detail". */
static seal_err from_img(img_err e, const char *cause) {
    seal_err se = e == IMG_E_NOMEM ? SEAL_E_NOMEM
                  : e == IMG_E_IO  ? SEAL_E_IO
                  : e == IMG_E_ARG ? SEAL_E_ARG
                                   : SEAL_E_IMAGE;
    return seal_fail_lib(se, cause, img_errdetail());
}

/* The refusal for a scan whose findings carry a flag, naming the cause. */
static seal_err refuse(const img_seal_scan *s) {
    seal_err err = SEAL_E_IMAGE;
    if (s->flags & IMG_SEAL_NO_SEAL)
        err = seal_fail(SEAL_E_IMAGE, "no seal found on the scan%s",
                        s->flags & IMG_SEAL_FAINT
                            ? " (only a faint, patchy red ring: stamp again with more ink)"
                            : ": stamp the letter with the enterprise's seal and scan it again");
    else if (s->flags & IMG_SEAL_SEVERAL)
        err = seal_fail(SEAL_E_IMAGE,
                        "several seals found on the scan (%zu): upload a letter bearing only the "
                        "enterprise's seal",
                        s->n);
    else if (s->flags & IMG_SEAL_NOT_RED)
        err = seal_fail(SEAL_E_IMAGE,
                        "the seal on the scan is not red (%s): an enterprise seal "
                        "is stamped in red ink",
                        s->n ? s->seals[0].colour : "other");
    else if (s->flags & IMG_SEAL_FAINT)
        err = seal_fail(SEAL_E_IMAGE,
                        "the seal on the scan is too faint to extract (ink strength %.2f): "
                        "stamp again with more ink",
                        s->n ? s->seals[0].ink : 0.0);
    return err;
}

seal_err seal_extract_file(seal_extract_report *out, const char *scan_path, const char *out_png,
                           double dpi) {
    seal_err err = SEAL_OK;
    img_rgba *scan = NULL, *pic = NULL;
    img_err ie;
    if (!out || !scan_path) {
        err = seal_fail(SEAL_E_ARG, "seal_extract_file: NULL %s", out ? "scan path" : "report");
        goto out;
    }
    memset(out, 0, sizeof *out);
    ie = img_read_file(&scan, scan_path, NULL);
    if (ie != IMG_OK) {
        err = from_img(ie, ie == IMG_E_IO ? "cannot read the scan" : "scan refused");
        goto out;
    }
    out->width = scan->width;
    out->height = scan->height;
    ie = img_seal_find(&out->scan, scan, dpi);
    if (ie != IMG_OK) {
        err = from_img(ie, "cannot search the scan for seals");
        goto out;
    }
    if (out->scan.flags || out->scan.n != 1) {
        err = refuse(&out->scan);
        goto out;
    }
    if (!out_png)
        goto out;
    ie = img_seal_extract(&pic, scan, &out->scan.seals[0], out->scan.dpi, SEAL_EXTRACT_DIAMETER_MM);
    if (ie != IMG_OK) {
        err = from_img(ie, "cannot extract the seal");
        goto out;
    }
    ie = img_png_write_file(out_png, pic);
    if (ie != IMG_OK) {
        err = from_img(ie, "cannot write the seal picture");
        goto out;
    }
    out->written = true;
out:
    img_rgba_free(scan);
    img_rgba_free(pic);
    return err;
}

void seal_extract_report_free(seal_extract_report *r) {
    if (!r)
        return;
    img_seal_scan_free(&r->scan);
    memset(r, 0, sizeof *r);
}

/* A colour name as a JSON string: the names are plain ASCII words; anything else is "other". */
static const char *colour_json(const char *c) {
    for (const char *p = c; *p; p++)
        if (!(*p >= 'a' && *p <= 'z'))
            return "other";
    return *c ? c : "other";
}

seal_err seal_extract_report_json(buf *out, const seal_extract_report *r) {
    static const struct {
        unsigned flag;
        const char *name;
    } names[] = {{IMG_SEAL_NO_SEAL, "no-seal"},
                 {IMG_SEAL_SEVERAL, "several-seals"},
                 {IMG_SEAL_NOT_RED, "not-red"},
                 {IMG_SEAL_FAINT, "faint"}};
    seal_err err = SEAL_OK;
    int be = BUF_OK;
    const char *sep = "";
    if (!out || !r) {
        err = seal_fail(SEAL_E_ARG, "seal_extract_report_json: NULL argument");
        goto out;
    }
    be = buf_puts(out, "{\"seals\":[");
    for (size_t i = 0; be == BUF_OK && i < r->scan.n; i++) {
        const img_seal_candidate *c = &r->scan.seals[i];
        be = buf_printf(out,
                        "%s{\"cx\":%.1f,\"cy\":%.1f,\"diameter\":%.1f,\"confidence\":%.3f,"
                        "\"colour\":\"%s\"}",
                        i ? "," : "", c->cx, c->cy, c->diameter, c->confidence,
                        colour_json(c->colour));
    }
    if (be == BUF_OK)
        be = buf_puts(out, "],\"flags\":[");
    for (size_t i = 0; be == BUF_OK && i < sizeof names / sizeof names[0]; i++) {
        if (r->scan.flags & names[i].flag) {
            be = buf_printf(out, "%s\"%s\"", sep, names[i].name);
            sep = ",";
        }
    }
    if (be == BUF_OK)
        be = buf_puts(out, "]}");
    if (be != BUF_OK)
        err = seal_fail(be == BUF_ENOMEM ? SEAL_E_NOMEM : SEAL_E_ARG,
                        "cannot render the seal report as JSON: %s", buf_strerror(be));
out:
    return err;
}
