/* The pdf library: open a PDF (qpdf C API), read its pages, and append an incremental update
 * holding new and changed objects and, optionally, a signature placeholder that is patched
 * afterwards. It knows PDF structure, not cryptography: the caller hashes the byte ranges and
 * supplies the signature value.
 *
 * A signed file is never rewritten: only a damaged, unsigned file may be rewritten whole, and
 * only when the caller allows it (pdf_open_opts.repair). */
#ifndef ESEAL_PDF_PDF_H
#define ESEAL_PDF_PDF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <time.h>

#include "pdf/pdf_err.h"
#include "pdf/val.h"

typedef struct pdf_doc pdf_doc;

typedef struct pdf_open_opts {
    size_t max_bytes;     /* largest file accepted; 0 means PDF_DEFAULT_MAX_BYTES */
    const char *password; /* NULL or "" for the empty user password */
    bool repair;          /* rewrite a damaged, unsigned file whole instead of refusing it */
} pdf_open_opts;

#define PDF_DEFAULT_MAX_BYTES ((size_t)512 * 1024 * 1024)
/* Pages in a document, levels of the page tree, fields in a form that eseal walks. */
#define PDF_MAX_PAGES 100000
#define PDF_MAX_TREE_DEPTH 64
#define PDF_MAX_FIELDS 100000

/* Opens a PDF held in memory. The document takes ownership of data (allocated with malloc)
 * whatever the outcome. Refuses, with the cause named: empty files, non-PDFs, truncated files,
 * password-protected files, unsupported encryption, page-tree loops, and a damaged
 * cross-reference table (unless opts->repair and the file carries no signature, in which case
 * the file is rewritten whole by qpdf and the document is the rewritten file). */
pdf_err pdf_doc_open(pdf_doc **out, uint8_t *data, size_t len, const pdf_open_opts *opts);
pdf_err pdf_doc_open_file(pdf_doc **out, const char *path, const pdf_open_opts *opts);
void pdf_doc_free(pdf_doc *doc);

/* The bytes an update is appended to (the input, or its repaired rewrite). */
const uint8_t *pdf_doc_bytes(const pdf_doc *doc, size_t *len);
/* True when the input was damaged and rewritten whole on opening. */
bool pdf_doc_repaired(const pdf_doc *doc);
bool pdf_doc_encrypted(const pdf_doc *doc);
int pdf_doc_page_count(const pdf_doc *doc);
/* PDF/A part claimed by the document's XMP metadata (1, 2, 3), 0 when none. */
int pdf_doc_pdfa_part(const pdf_doc *doc);
/* PDF_E_PERMISSION, naming the denied permission, when an encrypted document's /P does not let
 * a signature be added: a new signature field needs "annotate and fill forms" (bit 6);
 * filling an existing one needs bit 6 or "fill forms" (bit 9). ISO 32000-2 Table 22 asks bit 4
 * too for creating fields; like Acrobat's "commenting, filling in forms and signing", eseal
 * treats a signature as permitted annotation. */
pdf_err pdf_doc_may_sign(const pdf_doc *doc, bool new_field);

/* ---- pages (ISO 32000-2 7.7.3.3, 14.11.2) ---- */

typedef struct pdf_page_geom {
    double media[4]; /* normalised: x0 < x1, y0 < y1 */
    double crop[4];  /* CropBox clipped to the MediaBox */
    int rotate;      /* 0, 90, 180 or 270: clockwise turn when displayed */
    double user_unit;
} pdf_page_geom;

/* Geometry of page index (0-based), with inherited MediaBox, CropBox and Rotate resolved. */
pdf_err pdf_page_geometry(pdf_page_geom *out, pdf_doc *doc, int index);

/* Converts a rectangle given as the reader sees the page (x, y of the lower-left corner, width,
 * height, in millimetres from the lower-left corner of the displayed, rotated crop box) into
 * default user space [x0 y0 x1 y1]. */
void pdf_page_view_mm_to_user(double user[4], const pdf_page_geom *g, const double view_mm[4]);

/* ---- incremental update (ISO 32000-2 7.5.6) ---- */

typedef struct pdf_update pdf_update;

pdf_err pdf_update_begin(pdf_update **out, pdf_doc *doc);
void pdf_update_free(pdf_update *u);
/* Values put into the update are allocated here; they live as long as the update. */
arena *pdf_update_arena(pdf_update *u);
pdf_doc *pdf_update_doc(pdf_update *u);

/* A new object number. */
pdf_err pdf_update_new_object(uint32_t *num, pdf_update *u);
/* Sets object num (new, or an existing one it replaces) to a non-stream value. */
pdf_err pdf_update_put(pdf_update *u, uint32_t num, uint16_t gen, pdf_val *val);
/* Sets object num to a stream: dict (its /Length is set here) and data already encoded with
 * the dict's /Filter. data is not copied: it must outlive the update. */
pdf_err pdf_update_put_stream(pdf_update *u, uint32_t num, pdf_val *dict, const uint8_t *data,
                              size_t len);
/* A modifiable copy of existing object num (not a stream); later calls return the same copy,
 * which is written with the update. */
pdf_err pdf_update_edit(pdf_val **out, pdf_update *u, uint32_t num, uint16_t gen);
/* A read-only copy of an existing object's value (indirect references inside stay
 * references). Streams give their dictionary. */
pdf_err pdf_update_read(pdf_val **out, pdf_update *u, uint32_t num, uint16_t gen);
/* Object number and generation of the catalog, and of page index. */
pdf_err pdf_update_catalog(uint32_t *num, uint16_t *gen, pdf_update *u);
pdf_err pdf_update_page(uint32_t *num, uint16_t *gen, pdf_update *u, int index);
/* Adds annotation annot to the /Annots of page index. */
pdf_err pdf_update_add_annot(pdf_update *u, int index, uint32_t annot);

/* Annotation flags (ISO 32000-2 12.5.3, Table 167). */
enum {
    PDF_ANNOT_HIDDEN = 2,
    PDF_ANNOT_PRINT = 4,
    PDF_ANNOT_NOVIEW = 32,
    PDF_ANNOT_READONLY = 64,
    PDF_ANNOT_LOCKED = 128,
    PDF_ANNOT_LOCKED_CONTENTS = 512
};

/* A new annotation of subtype ("Stamp", "Watermark", ...) on page index, over rect (default
 * user space), with flags and appearance (a form XObject for /AP /N), and contents (UTF-8 text
 * for readers and assistive technology, may be NULL), added to the page's /Annots after those it
 * has (annotations are drawn in that order, 12.5.2). */
pdf_err pdf_update_add_annotation(uint32_t *num, pdf_update *u, int index, const char *subtype,
                                  const double rect[4], int flags, uint32_t appearance,
                                  const char *contents);

/* The finished file: the document's bytes followed by tail. When the update holds a signature
 * placeholder, /ByteRange is already filled in and /Contents waits for pdf_output_sign. */
typedef struct pdf_output {
    const uint8_t *base; /* the document's bytes (owned by the document) */
    size_t base_len;
    buf tail;
    bool has_signature;
    size_t byterange[4];
    size_t contents_at, contents_len; /* absolute offsets of the hex string, '<' to '>' */
} pdf_output;

pdf_err pdf_update_write(pdf_output *out, pdf_update *u);
void pdf_output_free(pdf_output *out);
/* The up to three pieces of the file covered by the signature, in order; returns the count. */
int pdf_output_signed_parts(const pdf_output *out, struct iovec parts[3]);
/* Puts the DER signature into /Contents (PDF_E_LIMIT if it does not fit). */
pdf_err pdf_output_sign(pdf_output *out, const uint8_t *der, size_t len);
/* The whole file as at most two pieces (base and tail), for writing. */
int pdf_output_parts(const pdf_output *out, struct iovec parts[2]);

/* ---- signature fields (ISO 32000-2 12.7.5.5, 12.8) ---- */

typedef struct pdf_sig_spec {
    const char *field;     /* field name; NULL: a new field named "SignatureN" */
    bool existing;         /* sign into the existing empty signature field named field */
    int page;              /* page of a new visible field, 0-based; -1 for an invisible one */
    double rect[4];        /* its rectangle in default user space */
    uint32_t appearance;   /* form XObject for /AP /N, 0 for an empty appearance */
    int flags;             /* the widget's annotation flags; 0: Print | Locked */
    int docmdp;            /* 0 approval; 1, 2 or 3: certification with DocMDP /P */
    bool doc_timestamp;    /* a document time-stamp (/DocTimeStamp, /ETSI.RFC3161) */
    const char *filter;    /* "Adobe.PPKLite" */
    const char *subfilter; /* "ETSI.CAdES.detached" */
    const char *reason, *location, *contact, *name; /* UTF-8, optional */
    time_t signing_time;                            /* for /M */
    size_t contents_capacity;                       /* bytes reserved for the signature value */
} pdf_sig_spec;

/* What pdf_sig_add found out about the field, for building its appearance before the update
 * is written: size and page rotation of the widget. */
typedef struct pdf_sig_field {
    double width, height; /* of the widget rectangle as the reader sees it, in user units */
    int rotate;           /* rotation of the widget's page */
    bool visible;
    double rect[4]; /* the widget's rectangle in default user space */
    int page;       /* its page (0-based), -1 when it is on none */
} pdf_sig_field;

/* Looks up (existing) or plans (new) the signature field of spec without changing anything. */
pdf_err pdf_sig_locate(pdf_sig_field *out, pdf_update *u, const pdf_sig_spec *spec);
/* Adds the signature dictionary, field and widget, the /AcroForm entry (/SigFlags 3) and, for a
 * certification signature, /Perms /DocMDP. Refuses to add a second certification signature,
 * to sign a document certified with /P 1, or to fill a field that already holds a value. */
pdf_err pdf_sig_add(pdf_update *u, const pdf_sig_spec *spec);

/* ---- images and appearances ---- */

/* An image prepared once (deflated) and added to any number of updates. */
typedef struct pdf_image pdf_image;
/* From 8-bit RGBA rows. The alpha becomes an /SMask unless it is fully opaque. */
pdf_err pdf_image_from_rgba(pdf_image **out, const uint8_t *rgba, uint32_t width, uint32_t height);
void pdf_image_free(pdf_image *img);
void pdf_image_size(const pdf_image *img, uint32_t *width, uint32_t *height);
/* The prepared image as bytes, to keep on disk and read back instead of preparing it again;
 * deserialising checks the format, every length and a CRC and fails with PDF_E_SYNTAX on
 * anything else. */
pdf_err pdf_image_serialize(buf *out, const pdf_image *img);
pdf_err pdf_image_deserialize(pdf_image **out, const uint8_t *p, size_t n);
/* Adds the image XObject (and its soft mask) to the update. In a PDF/A-1 document, where
 * transparency is forbidden, the image is composed onto white instead. */
pdf_err pdf_update_add_image(uint32_t *num, pdf_update *u, const pdf_image *img);
/* A form XObject (ISO 32000-2 8.10) of width x height user units as the reader sees it, drawn
 * upright on a page turned by rotate (its /Matrix turns it back, 12.5.5), painting content with
 * resources (NULL for none). content is not copied: it must outlive the update. */
pdf_err pdf_update_add_form(uint32_t *num, pdf_update *u, double width, double height, int rotate,
                            pdf_val *resources, const uint8_t *content, size_t len);
/* A form XObject of width x height user units (as the reader sees it, upright on a page turned
 * by rotate) showing image num scaled to fit and centred; for /AP /N. */
pdf_err pdf_update_add_image_form(uint32_t *num, pdf_update *u, double width, double height,
                                  int rotate, uint32_t image, uint32_t img_w, uint32_t img_h);

#endif
