/* A PDF read as its bytes say, revision by revision, for the verifier (ISO 32000-2 7.5.6
 * incremental updates). qpdf shows a document as its newest revision after repair; a verifier
 * must instead see each revision exactly as it was signed and know where it ends, so this
 * reader works on the raw bytes with our own bounded parser:
 *
 * - a revision is the prefix of the file that ends with "%%EOF" (and its end-of-line marker)
 *   after a "startxref"; its objects are those its own cross-reference chain gives, whatever
 *   later bytes say;
 * - the final revision is the last such prefix whose chain can be read; bytes after it are
 *   unsigned trailing bytes, never read as objects;
 * - objects are resolved per revision (7.5.4 tables, 7.5.7 object streams, 7.5.8 streams);
 *   an offset that does not hold its object is corrected as repairing readers do, by the
 *   object's last header before the revision's end, and counted,
 *   strings and streams decrypted with the standard security handler (7.6), except the
 *   /Contents of signature dictionaries (7.6.2).
 *
 * Every count, size and depth has a maximum; a malformed object yields an error, never a
 * read outside the file. Objects are parsed once per location and shared by the revisions
 * that see them; everything lives until pdf_raw_free. Not thread-safe. */
#ifndef ESEAL_PDF_RAW_H
#define ESEAL_PDF_RAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "pdf/pdf_err.h"
#include "pdf/val.h"

typedef struct pdf_raw pdf_raw;
typedef struct pdf_rev pdf_rev;

/* Limits: revisions (%%EOF markers) considered, bytes decoded from streams in all, one
 * stream's decoded bytes, objects in one object stream, memory for parsed objects. */
#define PDF_RAW_MAX_REVISIONS 1024
#define PDF_RAW_MAX_DECODED ((size_t)1 << 30)
#define PDF_RAW_MAX_STREAM ((size_t)256 << 20)
#define PDF_RAW_MAX_OBJSTM_N 100000
#define PDF_RAW_MAX_MEMORY ((size_t)2 << 30)
/* Cross-reference sections and entries read for all revisions together (each revision reads
 * its chain back to the first). */
#define PDF_RAW_MAX_SECTIONS 1000000
#define PDF_RAW_MAX_ENTRIES 10000000
/* Object headers indexed when the tables must be repaired by searching. */
#define PDF_RAW_MAX_HEADERS 10000000

/* Opens data (borrowed: it must outlive the reader). password is for encrypted documents;
 * NULL tries the empty user password. Fails when the file has no %PDF- header in its first
 * 1024 bytes (PDF_E_NOT_PDF), no revision whose cross-reference chain can be read
 * (PDF_E_TRUNCATED, PDF_E_XREF), or is encrypted and the password does not open it
 * (PDF_E_PASSWORD, PDF_E_ENCRYPTION). */
pdf_err pdf_raw_open(pdf_raw **out, const uint8_t *data, size_t len, const char *password);
void pdf_raw_free(pdf_raw *r);

const uint8_t *pdf_raw_data(const pdf_raw *r, size_t *len);
bool pdf_raw_encrypted(const pdf_raw *r);

/* Ends of the revisions, in file order (the last is the final revision's); n is their count. */
const size_t *pdf_raw_revision_ends(const pdf_raw *r, size_t *n);
/* Index of the revision ending at end (with or without its end-of-line marker), -1 when no
 * revision ends there. */
int pdf_raw_revision_at(const pdf_raw *r, size_t end);
/* Objects read so far that the cross-reference table did not point at, found by searching
 * the file for their header as repairing readers do; *first is the first such object. */
size_t pdf_raw_repaired(const pdf_raw *r, uint32_t *first);
/* Bytes after the final revision that are not white space. */
size_t pdf_raw_trailing(const pdf_raw *r);

/* The revision that ends at end: its cross-reference chain is read from the prefix
 * [0, end). Views are cached; the final revision's view is pdf_raw_final. */
pdf_err pdf_raw_rev(pdf_rev **out, pdf_raw *r, size_t end);
pdf_rev *pdf_raw_final(pdf_raw *r);

/* ---- objects of a revision ---- */

/* Where an object lies: type 1 at a byte offset, type 2 in an object stream. Two revisions
 * that give an object the same location give it the same value. */
typedef struct pdf_loc {
    uint8_t type;   /* 0 free or absent, 1 in the file, 2 in an object stream */
    uint64_t where; /* type 1: offset; type 2: the stream's number */
    uint32_t index; /* type 2: index in the stream */
    bool repaired;  /* the table's offset did not hold the object: found by searching */
} pdf_loc;

typedef struct pdf_robj {
    uint32_t num;
    uint16_t gen;
    pdf_val *val;    /* PV_NULL for a free object */
    bool stream;     /* val is a stream's dictionary */
    size_t data_off; /* stream: where its (encoded, maybe encrypted) data lies in the file */
    size_t data_len;
    size_t off, end; /* type 1: "num gen obj" ... "endobj" in the file */
    pdf_loc loc;
} pdf_robj;

size_t pdf_rev_end(const pdf_rev *v);
/* The trailer of the revision's newest section. */
pdf_val *pdf_rev_trailer(const pdf_rev *v);
/* Object numbers the revision's chain defines (free or in use); *n their count. */
const uint32_t *pdf_rev_numbers(const pdf_rev *v, size_t *n);
pdf_loc pdf_rev_loc(const pdf_rev *v, uint32_t num);

/* Object num as this revision gives it. A free or undefined object is PV_NULL (7.3.10);
 * an object that cannot be read (bad offset, wrong header, malformed) is an error naming it. */
pdf_err pdf_rev_obj(const pdf_robj **out, pdf_rev *v, uint32_t num);
/* Follows v while it is a reference (a few hops at most); unreadable objects give NULL, and
 * so does v == NULL. Streams give their dictionary. */
pdf_val *pdf_rev_resolve(pdf_rev *v, pdf_val *val);
/* pv_dict_get then pdf_rev_resolve. */
pdf_val *pdf_rev_get(pdf_rev *v, const pdf_val *dict, const char *key);
/* Appends a stream's decoded data (decrypted; /FlateDecode or no filter) to out, at most max
 * bytes; PDF_E_ARG for other filters. */
pdf_err pdf_rev_stream_data(buf *out, pdf_rev *v, const pdf_robj *o, size_t max);

/* Deep equality of two values from two revisions of the same file: references compare by
 * number, strings by their decrypted bytes, dictionaries regardless of key order. */
bool pdf_val_equal(const pdf_val *a, const pdf_val *b);

#endif
