/* The seal on a scanned confirmation letter (DESIGN.md, system 1): the registry finds the
 * enterprise's red seal on the uploaded scan and takes it out as the seal picture a reviewer
 * approves. */
#ifndef ESEAL_SEAL_EXTRACT_H
#define ESEAL_SEAL_EXTRACT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "imaging/seal.h"
#include "seal/seal.h"

/* Enterprise seals are 42 mm across (DESIGN.md "Licence stamp layers"). */
#define SEAL_EXTRACT_DIAMETER_MM 42.0

/* What was found on a scan. */
typedef struct seal_extract_report {
    img_seal_scan scan;     /* the seals (pixels of the scan: x right, y down, from the top-left
                               corner), IMG_SEAL_* flags and the resolution used */
    uint32_t width, height; /* of the scan, pixels */
    bool written;           /* the seal picture was written to out_png */
} seal_extract_report;

/* Reads the scan (PNG or JPEG) at scan_path, finds its seals and, when it holds exactly one
 * seal, red and not faint (no IMG_SEAL_* flag), writes that seal atomically to out_png as a
 * PNG picture SEAL_EXTRACT_DIAMETER_MM across at the scan's resolution (paper transparent, ink
 * in one seal red). out_png NULL: find only. dpi 0: the file's, else the page taken as A4.
 *
 * Returns SEAL_OK, or SEAL_E_IMAGE for a scan refused, with seal_errdetail() naming the
 * cause ("no seal found", "several seals", "not red", "too faint", or why the file is not a
 * usable picture); *out then still holds what was found (for the refusals about seals).
 * SEAL_E_IO when a file cannot be read or written, SEAL_E_NOMEM, SEAL_E_ARG. The caller frees
 * *out with seal_extract_report_free() whatever is returned. */
seal_err seal_extract_file(seal_extract_report *out, const char *scan_path, const char *out_png,
                           double dpi);
void seal_extract_report_free(seal_extract_report *r);

/* The report as the JSON the CLI prints, appended to out:
 * {"seals":[{"cx":1775.0,"cy":1615.2,"diameter":496.1,"confidence":0.998,"colour":"red"}],
 *  "flags":["no-seal","several-seals","not-red","faint"]} (only the flags that are set). */
seal_err seal_extract_report_json(buf *out, const seal_extract_report *r);

#endif
