#ifndef ESEAL_SEAL_INTERNAL_H
#define ESEAL_SEAL_INTERNAL_H

#include "seal/seal.h"

seal_err seal_fail(seal_err err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
seal_err seal_fail_lib(seal_err err, const char *cause, const char *libdetail);

/* The PDF image streams of a PNG picture, from the cache when it has them. */
seal_err seal_image_load(pdf_image **out, const char *path);

#endif
