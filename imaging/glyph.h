/* Text as glyph outlines (FreeType), so that text in a PDF needs no embedded font: the
 * watermark and the seal's own text are drawn as filled paths. */
#ifndef ESEAL_IMAGING_GLYPH_H
#define ESEAL_IMAGING_GLYPH_H

#include <stddef.h>

#include "base/buf.h"
#include "imaging/image.h"

typedef struct img_font img_font;

/* Opens a font file (TrueType, OpenType/CFF, or a face of a TTC collection). face_index >= 0
 * takes that face; negative picks the first face whose family names "SC" (Simplified Chinese),
 * else face 0. path NULL: the first found of Debian's CJK fonts (fonts-noto-cjk: Noto Sans CJK
 * SC, Noto Serif CJK SC; fonts-wqy-microhei; fonts-wqy-zenhei), with a negative face_index only.
 * Font files over 64 MiB are refused. */
img_err img_font_open(img_font **out, const char *path, int face_index);
void img_font_free(img_font *f);

/* Appends the outline of UTF-8 text as PDF path-construction operators (ISO 32000-2 8.5.2:
 * m, l, c, h; quadratic curves raised to cubics) to out, for text of size units per em with
 * its baseline starting at (x, y), y up. The caller fills (f) or clips. *advance receives
 * the width. Characters the font lacks are drawn as its .notdef glyph and counted in
 * *missing (may be NULL). At most 4096 characters. */
img_err img_font_text_path(buf *out, img_font *f, const char *utf8, double size, double x, double y,
                           double *advance, size_t *missing);
/* Width of the text at size, without drawing it. */
img_err img_font_text_width(double *advance, img_font *f, const char *utf8, double size);

#endif
