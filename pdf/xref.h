/* The cross-reference chain of a file as written (ISO 32000-2 7.5.4 tables, 7.5.8 streams,
 * 7.5.6 incremental updates), read from raw bytes without qpdf: which kind of section the file
 * ends with, the newest trailer, where each section starts, and whether every offset points at
 * the object it claims. The signer uses it to append a matching update and to refuse appending
 * to a broken table; the verifier uses it to split revisions. */
#ifndef ESEAL_PDF_XREF_H
#define ESEAL_PDF_XREF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "pdf/val.h"

typedef enum pdf_xref_kind { PDF_XREF_TABLE, PDF_XREF_STREAM } pdf_xref_kind;

typedef struct pdf_xref_entry {
    uint32_t num;
    uint8_t type;    /* 0 free, 1 in use at offset, 2 compressed in an object stream */
    uint64_t field2; /* type 1: byte offset; type 2: object stream number */
    uint32_t field3; /* type 1: generation; type 2: index in the stream */
} pdf_xref_entry;

typedef struct pdf_xref_section {
    pdf_xref_kind kind;
    size_t offset;       /* of "xref" or of the stream object */
    uint32_t stream_num; /* the xref stream's own object number (PDF_XREF_STREAM) */
    pdf_val *trailer;    /* trailer dictionary, or the stream's dictionary */
    pdf_xref_entry *entries;
    size_t n_entries;
    bool hybrid;        /* a table whose trailer names an /XRefStm (7.5.8.4) */
    size_t entries_cap; /* allocated room of entries */
} pdf_xref_section;

typedef struct pdf_xref {
    arena a;
    size_t startxref;           /* value of the last startxref */
    pdf_xref_section *sections; /* newest first, following /Prev */
    size_t n_sections;
    bool broken; /* (lenient reading) a /Prev held no section: the chain was cut there */
} pdf_xref;

/* Limits: sections in a chain, entries in all sections, decoded bytes of one xref stream. */
#define PDF_MAX_XREF_SECTIONS 4096
#define PDF_MAX_XREF_ENTRIES 10000000
#define PDF_MAX_XREF_STREAM (256u * 1024 * 1024)

/* Reads the chain from the last startxref. PDF_E_TRUNCATED when the file has no startxref or
 * %%EOF near its end; PDF_E_XREF when a section is missing or malformed or /Prev loops. */
pdf_err pdf_xref_read(pdf_xref **out, const uint8_t *data, size_t len);
/* For reading what a damaged file shows, as repairing readers do: a /Prev that holds no
 * section ends the chain there (x->broken) instead of failing. */
pdf_err pdf_xref_read_lenient(pdf_xref **out, const uint8_t *data, size_t len);
void pdf_xref_free(pdf_xref *x);

/* PDF_OK when every in-use uncompressed entry (the newest one per object number) points at
 * "num gen obj"; PDF_E_XREF naming the first object that does not. */
pdf_err pdf_xref_check_offsets(const pdf_xref *x, const uint8_t *data, size_t len);

/* The newest trailer value of key (the trailer of the last section), or NULL. */
pdf_val *pdf_xref_trailer_get(const pdf_xref *x, const char *key);

/* Decodes a stream's data with its /Filter: only /FlateDecode (with PNG or TIFF predictor 2
 * /DecodeParms) or none; PDF_E_ARG for other filters. max bounds the decoded size. */
pdf_err pdf_flate_decode(buf *out, const pdf_val *dict, const uint8_t *p, size_t n, size_t max);

#endif
