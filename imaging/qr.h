/* QR codes (ISO/IEC 18004) from libqrencode, drawn as vector paths. */
#ifndef ESEAL_IMAGING_QR_H
#define ESEAL_IMAGING_QR_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "imaging/image.h"

typedef enum img_qr_level { IMG_QR_L, IMG_QR_M, IMG_QR_Q, IMG_QR_H } img_qr_level;

typedef struct img_qr {
    int size;         /* modules per side, without the quiet zone */
    uint8_t *modules; /* size*size, row-major from the top, 1 = dark */
} img_qr;

/* Encodes text (UTF-8, byte mode; at most 2048 bytes) at the given error correction level. */
img_err img_qr_encode(img_qr **out, const char *text, img_qr_level level);
void img_qr_free(img_qr *q);

/* Appends PDF path operators (re for runs of dark modules in a row) drawing the code with its
 * 4-module quiet zone into the square [x, y, x+side, y+side] (y up; the quiet zone is inside
 * the square). The caller fills with black on a white background it draws itself. */
img_err img_qr_path(buf *out, const img_qr *q, double x, double y, double side);

#endif
