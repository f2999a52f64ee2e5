/* Shared between the imaging library's own files; not part of its interface. */
#ifndef ESEAL_IMAGING_INTERNAL_H
#define ESEAL_IMAGING_INTERNAL_H

#include "imaging/image.h"

/* Records this thread's error detail (printf-style, truncated to fit) and returns err, so a
 * failure reads `rc = img_fail(IMG_E_LIMIT, "width %u ...", w); goto out;`. A NULL fmt records
 * img_strerror(err). */
img_err img_fail(img_err err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
