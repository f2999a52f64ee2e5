/* The verifier: every signature and document time-stamp of a PDF judged as a careful reviewer
 * would (ETSI EN 319 102-1 indications; ETSI EN 319 142-1 PAdES; ISO 32000-2 12.8):
 *
 * - structure: the /ByteRange covers the whole revision the signature dictionary belongs to,
 *   except exactly its /Contents hex string, and the dictionary and its field are read from
 *   that revision only;
 * - integrity and trust: the CMS or time-stamp token over those bytes (crypto/verify.h);
 * - what changed after the signed revision: every later revision resolved object by object,
 *   against what the signature permits (DocMDP, FieldMDP; later signatures, document
 *   time-stamps and validation data are always permitted). Everything else is listed.
 *
 * The document is read with the raw revision reader (pdf/raw.h), never repaired. */
#ifndef ESEAL_SEAL_VERIFY_H
#define ESEAL_SEAL_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/buf.h"
#include "crypto/verify.h"
#include "seal/seal.h"

typedef enum seal_coverage {
    SEAL_COVER_ENTIRE_FILE,     /* the whole file but the signature value */
    SEAL_COVER_ENTIRE_REVISION, /* a whole revision; later revisions follow */
    SEAL_COVER_PARTIAL          /* anything else */
} seal_coverage;

/* What a change made after the signed revision is (ISO 32000-2 12.8.2.2 permissions). */
typedef enum seal_mod_kind {
    SEAL_MOD_CONTENT, /* page content, resources or an object a page uses */
    SEAL_MOD_PAGE_ADDED,
    SEAL_MOD_PAGE_REMOVED,
    SEAL_MOD_ANNOT_ADDED,
    SEAL_MOD_ANNOT_CHANGED,
    SEAL_MOD_ANNOT_REMOVED,
    SEAL_MOD_FIELD_ADDED,
    SEAL_MOD_FIELD_REMOVED,
    SEAL_MOD_FIELD_VALUE, /* a form field's value or appearance */
    SEAL_MOD_SIGDICT,     /* a signature dictionary rewritten */
    SEAL_MOD_CATALOG,     /* the catalog or the interactive form dictionary */
    SEAL_MOD_OBJECT,      /* any other object the document uses */
    SEAL_MOD_UNREADABLE,  /* an object of a later revision cannot be read */
    SEAL_MOD_TRAILING     /* unsigned bytes after the last revision */
} seal_mod_kind;

/* "content_changed", "page_added", ... as the JSON report spells them. */
const char *seal_mod_kind_name(seal_mod_kind k);

typedef struct seal_mod {
    seal_mod_kind kind;
    uint32_t object; /* 0 when the change is not one object's */
    int page;        /* 1-based; 0 when no page is concerned */
    int revision;    /* 1-based revision that made the change; 0 when unknown */
    char *detail;    /* e.g. "/Reason", "field Amount"; may be NULL */
} seal_mod;

typedef struct seal_sig_report {
    char *field;     /* fully qualified field name, UTF-8 */
    uint32_t object; /* the signature dictionary's object number */
    char *subfilter; /* /SubFilter as written */
    bool doc_timestamp;
    int docmdp; /* a certification signature's /P (1..3), 0 for an approval signature */
    char *reason, *location, *name; /* from the signed revision; NULL when absent */
    char *claimed_time;             /* /M as written, NULL when absent */
    /* When it was signed: a time-stamp's time (a document time-stamp's own), else what the
     * signer claims (/M, or the signing-time attribute); 0 and NONE when nothing says. */
    time_t signing_time;
    crypto_time_source time_source;

    crypto_indication indication;
    crypto_subind sub;
    bool integrity;
    seal_coverage coverage;
    long long byterange[4];
    int revision; /* 1-based revision it signs; 0 when it signs none */

    seal_mod *mods; /* not permitted changes after the signed revision */
    size_t n_mods;
    seal_mod *permitted; /* later changes its permissions allow (informative) */
    size_t n_permitted;
    char **errors; /* causes, most important first */
    size_t n_errors;

    crypto_verify_result *crypto; /* NULL when the CMS was not reached */

    /* With a GB/T 38540 seal (crypto->seal->ses): whether the signature's widget, in the
     * document's last revision, shows the seal's picture and nothing else (seal/picture.c);
     * when it does not, the signature is TOTAL_FAILED (FORMAT_FAILURE). */
    bool seal_picture_checked;
    bool seal_picture_shown;
    char *seal_picture_cause;    /* why not; NULL when shown */
    uint32_t seal_picture_px[2]; /* the picture's pixels; 0 when it cannot be decoded */
} seal_sig_report;

typedef struct seal_verify_report {
    char *file;
    crypto_indication indication; /* the worst of the signatures' */
    crypto_subind sub;
    bool readable; /* the file could be read as a PDF */
    bool encrypted;
    size_t n_revisions;
    size_t n_pages;         /* pages the final revision's page tree gives */
    size_t trailing;        /* unsigned bytes after the last revision */
    bool damaged_signature; /* a signature dictionary lies in those bytes */
    seal_sig_report *sigs;
    size_t n_sigs;
    char **errors; /* about the document as a whole */
    size_t n_errors;
} seal_verify_report;

/* "NO_SIGNATURE" when the document carries none, else the ETSI name of the indication. */
const char *seal_verify_indication(const seal_verify_report *r);
/* True when the document carries at least one signature and every one passed. */
bool seal_verify_passed(const seal_verify_report *r);

typedef struct seal_verify_opts {
    const crypto_trust *trust;       /* anchors; NULL: no chain is trusted */
    const crypto_trust *maker_trust; /* seal makers' anchors (crypto_verify_opts) */
    bool online;                     /* fetch revocation data (crypto_verify_opts.online) */
    int timeout_ms;
    time_t now;           /* validation time; 0: the current time */
    const char *password; /* for encrypted documents; NULL: the empty user password */
    size_t max_bytes;     /* largest file read; 0: PDF_DEFAULT_MAX_BYTES */
} seal_verify_opts;

/* Verifies the PDF in data (borrowed). A document that cannot be read is a report (readable
 * false, TOTAL_FAILED, FORMAT_FAILURE, the cause in errors), not an error: errors are out of
 * memory and invalid arguments. name is the file name to report. */
seal_err seal_verify_memory(seal_verify_report **out, const uint8_t *data, size_t len,
                            const char *name, const seal_verify_opts *opts);
/* Reads path and verifies it; SEAL_E_IO when it cannot be read. */
seal_err seal_verify_file(seal_verify_report **out, const char *path, const seal_verify_opts *opts);
void seal_verify_report_free(seal_verify_report *r);

/* The report as one line of JSON (no newline): file, indication, sub_indication, signatures
 * (field, signer, signing_time, signing_time_source, indication, sub_indication, integrity,
 * coverage, modifications, ...), errors. */
seal_err seal_verify_report_json(buf *out, const seal_verify_report *r);

#endif
