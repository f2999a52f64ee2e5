/* A bounded parser of PDF syntax (ISO 32000-2 7.2 lexical conventions, 7.3 objects) over raw
 * bytes: eseal reads trailers, cross-reference streams and, in the verifier, objects of one
 * revision with it. Never reads outside [data, data+len). */
#ifndef ESEAL_PDF_LEX_H
#define ESEAL_PDF_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pdf/val.h"

/* ISO 32000-2 7.2.3: white-space and delimiter characters. */
bool pdf_is_space(uint8_t c);
bool pdf_is_delim(uint8_t c);

/* Skips white space and comments from *pos. */
void pdf_skip_space(const uint8_t *data, size_t len, size_t *pos);

/* Parses one object at *pos (after white space), including "N G R" references, and leaves *pos
 * after it. Nesting deeper than PDF_MAX_DEPTH and containers of more than PDF_MAX_ITEMS fail;
 * a string is bounded by the data it is read from. */
pdf_err pdf_parse_object(pdf_val **out, arena *a, const uint8_t *data, size_t len, size_t *pos);

/* Parses "N G obj" at *pos; leaves *pos after "obj". */
pdf_err pdf_parse_obj_header(uint32_t *num, uint16_t *gen, const uint8_t *data, size_t len,
                             size_t *pos);

/* Matches keyword kw at *pos (after white space) followed by a delimiter, white space or the
 * end; advances *pos past it when it matches. */
bool pdf_match_keyword(const uint8_t *data, size_t len, size_t *pos, const char *kw);

/* Object numbers and generations beyond these are refused (ISO 32000-2 Annex C). */
#define PDF_MAX_OBJNUM 8388607u
#define PDF_MAX_GEN 65535u

#endif
