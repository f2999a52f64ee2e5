/* In-memory PDF objects (ISO 32000-2 clause 7.3) for what eseal writes or parses itself:
 * new objects of an incremental update, copies of the objects it changes, trailers and
 * cross-reference stream dictionaries.
 *
 * Values live in an arena: they are freed all at once with the arena, never one by one.
 * Constructors return NULL when the arena is exhausted; the container functions return
 * PDF_E_NOMEM / PDF_E_LIMIT then. */
#ifndef ESEAL_PDF_VAL_H
#define ESEAL_PDF_VAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "pdf/pdf_err.h"

typedef enum pdf_vtype {
    PV_NULL,
    PV_BOOL,
    PV_INT,
    PV_REAL,
    PV_NAME,   /* without the slash, # escapes decoded */
    PV_STRING, /* raw bytes */
    PV_ARRAY,
    PV_DICT,
    PV_REF,
    /* Placeholders of a signature dictionary, written unencrypted at a fixed width so the
     * signature can be patched in afterwards (ISO 32000-2 12.8.1). */
    PV_SIG_BYTERANGE,
    PV_SIG_CONTENTS
} pdf_vtype;

typedef struct pdf_val pdf_val;
typedef struct pdf_kv {
    const char *key; /* name without slash */
    pdf_val *val;
} pdf_kv;

struct pdf_val {
    pdf_vtype t;
    /* Where a parsed value lies in the data it was parsed from, [off, end); 0, 0 for values
     * built in memory. */
    size_t off, end;
    union {
        bool b;
        long long i;
        double r;
        const char *name;
        struct {
            uint8_t *p;
            size_t n;
        } str;
        struct {
            pdf_val **items;
            size_t n, cap;
        } arr;
        struct {
            pdf_kv *kv;
            size_t n, cap;
        } dict;
        struct {
            uint32_t num;
            uint16_t gen;
        } ref;
        size_t contents_cap; /* PV_SIG_CONTENTS: bytes the /Contents string can hold */
    } u;
};

/* Limits on what is built or parsed: a value nests at most this deep, a container holds
 * at most this many items. */
#define PDF_MAX_DEPTH 64
#define PDF_MAX_ITEMS 1000000
/* Keys of one parsed dictionary (PDF 1.7 Annex C gave 4,095 as a reader's limit); checking each
 * new key against the others keeps parsing quadratic in this, so it stays small. */
#define PDF_MAX_DICT_KEYS 10000

pdf_val *pv_null(arena *a);
pdf_val *pv_bool(arena *a, bool b);
pdf_val *pv_int(arena *a, long long i);
pdf_val *pv_real(arena *a, double r);
pdf_val *pv_name(arena *a, const char *name);
pdf_val *pv_string(arena *a, const void *p, size_t n);
/* A text string (ISO 32000-2 7.9.2.2): PDFDocEncoding when the UTF-8 input is ASCII,
 * otherwise UTF-16BE with a byte order mark. NULL on invalid UTF-8. */
pdf_val *pv_text(arena *a, const char *utf8);
/* The inverse, for display: a text string (PDFDocEncoding, UTF-16BE or UTF-8 with their byte
 * order marks) or a name as UTF-8, with control characters replaced by U+FFFD, cut after
 * about max bytes. Malloc'd (the caller frees it); NULL when v is neither. */
char *pv_text_utf8(const pdf_val *v, size_t max);
pdf_val *pv_array(arena *a);
pdf_val *pv_dict(arena *a);
pdf_val *pv_ref(arena *a, uint32_t num, uint16_t gen);
/* [x0 y0 x1 y1] of reals. */
pdf_val *pv_rect(arena *a, const double r[4]);

pdf_err pv_array_push(arena *a, pdf_val *arr, pdf_val *item);
/* Sets key (replacing an existing entry); key is copied into the arena. */
pdf_err pv_dict_set(arena *a, pdf_val *dict, const char *key, pdf_val *val);
void pv_dict_remove(pdf_val *dict, const char *key);
/* The value of key, or NULL. */
pdf_val *pv_dict_get(const pdf_val *dict, const char *key);
/* Helpers that check the type: NULL / false when absent or of another type. */
const char *pv_dict_get_name(const pdf_val *dict, const char *key);
bool pv_dict_get_int(const pdf_val *dict, const char *key, long long *out);
bool pv_is_name(const pdf_val *v, const char *name);
/* Integer or real as a double. */
bool pv_number(const pdf_val *v, double *out);

/* Writes v in PDF syntax (ISO 32000-2 7.3). Strings go through enc when it is not NULL (the
 * encryption of the enclosing indirect object); placeholders report where they landed
 * (offsets relative to the start of out) through the optional marks. */
typedef struct pdf_string_encoder {
    pdf_err (*encrypt)(void *ctx, buf *out, const uint8_t *p, size_t n);
    void *ctx;
} pdf_string_encoder;
typedef struct pdf_sig_marks {
    size_t byterange_at, byterange_len; /* the bracketed array, padded with spaces */
    size_t contents_at, contents_len;   /* from '<' to '>' inclusive */
} pdf_sig_marks;
pdf_err pv_write(buf *out, const pdf_val *v, const pdf_string_encoder *enc, pdf_sig_marks *marks);

/* Writes a name token (with the slash), escaping as ISO 32000-2 7.3.5 requires. */
pdf_err pv_write_name(buf *out, const char *name);

#endif
