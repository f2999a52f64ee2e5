/* Shared between the imaging library's own files; not part of its interface. */
#ifndef ESEAL_IMAGING_INTERNAL_H
#define ESEAL_IMAGING_INTERNAL_H

#include "imaging/image.h"

/* Records this thread's error detail (printf-style, truncated to fit) and returns err, so a
 * failure reads `rc = img_fail(IMG_E_LIMIT, "width %u ...", w); goto out;`. A NULL fmt records
 * img_strerror(err). */
img_err img_fail(img_err err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads path (at most lim->max_bytes) and decodes it with decode; errors name the file. what
 * names the public function for argument errors. */
img_err img_read_with(img_rgba **out, const char *path, const img_limits *lim,
                      img_err (*decode)(img_rgba **, const uint8_t *, size_t, const img_limits *),
                      const char *what);

/* Scans (imaging/scan.c). The resolution of a scan: dpi when given (> 0), the file's when it
 * makes a page of a plausible size, else the page taken as A4 and snapped to a common scanner
 * resolution within 1.5% (*guessed set then; may be NULL). */
double img_scan_dpi(const img_rgba *scan, double dpi, int *guessed);
/* A pixel of an image being estimated, as 0..255 values. */
typedef void (*img_pixel_fn)(const void *ctx, uint32_t x, uint32_t y, uint8_t rgb[3]);
/* The paper's colour per bs x bs block of a w x h image (3 floats per block, blocks in rows):
 * the 90th percentile of each channel, then the brightest block of each 3 x 3. */
img_err img_paper_blocks(float *paper, uint32_t w, uint32_t h, uint32_t bs, img_pixel_fn pixel,
                         const void *ctx);

#endif
