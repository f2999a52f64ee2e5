/* Shared by the verifier's files (seal/verify.c, seal/mdp.c, seal/verify_json.c). */
#ifndef ESEAL_SEAL_VERIFY_INTERNAL_H
#define ESEAL_SEAL_VERIFY_INTERNAL_H

#include "pdf/raw.h"
#include "seal/verify.h"

/* What a signature lets later revisions change (ISO 32000-2 12.8.2.2 DocMDP, 12.8.2.4
 * FieldMDP). Signatures, document time-stamps and validation data are always permitted
 * unless sign is false (DocMDP P=1 permits only the latter two). */
typedef struct mdp_perms {
    bool sign;   /* new signatures and signature fields (P >= 2) */
    bool fill;   /* values of other form fields (a certification signature's P >= 2) */
    bool annots; /* annotations (P = 3) */
    int lock;    /* FieldMDP /Action: 0 none, 1 All, 2 Include, 3 Exclude */
    char **lock_fields;
    size_t n_lock_fields;
} mdp_perms;

/* A later signature whose structure holds: the dictionary object and the revision it signs. */
typedef struct mdp_later_sig {
    uint32_t object;
    size_t end;
} mdp_later_sig;

typedef struct mdp_input {
    pdf_raw *raw;
    pdf_rev *signed_rev;
    pdf_rev *final;
    const mdp_later_sig *later;
    size_t n_later;
    mdp_perms perms;
} mdp_input;

/* Fills rep->mods and rep->permitted with what changed between the signed revision and the
 * final one. */
seal_err mdp_analyse(seal_sig_report *rep, const mdp_input *in);

/* The 1-based revision whose bytes hold file offset off (0 when none). */
int verify_revision_of(pdf_raw *raw, uint64_t off);

seal_err verify_add_mod(seal_mod **list, size_t *n, seal_mod_kind kind, uint32_t object, int page,
                        int revision, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
seal_err verify_add_error(char ***list, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- pages (ISO 32000-2 7.7.3) ---- */

#define VERIFY_MAX_PAGES 100000
#define VERIFY_MAX_PAGE_DEPTH 64

/* The page objects of a revision in order, and the first thing wrong with its page tree
 * ("" when nothing): loops, nodes that are not dictionaries, too many pages or levels. The
 * walk is bounded and cycle-safe. nums is malloc'd. */
typedef struct pagelist {
    uint32_t *nums;
    size_t n, cap;
    char problem[160];
} pagelist;
void pages_list(pdf_rev *v, pagelist *pl);

/* ---- the interactive form (ISO 32000-2 12.7) ---- */

/* Limits: fields visited in one walk, in all the walks over one document, depth of the field
 * tree. */
#define VERIFY_MAX_FIELDS 100000
#define VERIFY_MAX_FIELD_VISITS 2000000
#define VERIFY_MAX_FIELD_DEPTH 32

typedef struct form_field {
    uint32_t object; /* 0 for a direct dictionary */
    pdf_val *dict;
    char *name;     /* fully qualified (12.7.4.2), UTF-8, malloc'd */
    const char *ft; /* inherited /FT, or NULL */
    pdf_val *v;     /* /V as written (a reference for signatures), maybe NULL */
    pdf_val *lock;  /* a signature field's /Lock, resolved, maybe NULL */
} form_field;

/* Calls fn for every terminal field of the revision's form, in tree order, cycle-safe and
 * bounded; stops when fn returns non-zero (and returns that). budget counts down the fields
 * visited, across walks; the walk stops when it reaches 0. */
typedef int (*form_field_fn)(const form_field *f, void *ctx);
int form_walk(pdf_rev *v, size_t *budget, form_field_fn fn, void *ctx);

/* ---- the seal's picture (seal/picture.c) ---- */

/* A seal's picture as GB/T 38540 SES_ESPictrueInfo gives it. */
typedef struct seal_picture_ref {
    const char *type; /* "PNG", "JPG", ... */
    const uint8_t *bytes;
    size_t len;
    int width_mm, height_mm;
} seal_picture_ref;

/* Whether the widget of signature sig_object, in the document's last revision, shows pic and
 * nothing else, in every appearance, with nothing added or changed since signed_rev (the
 * revision the signature signs; NULL: unknown, nothing counts as signed) drawn where it is:
 * *cause NULL when it does, else why not (malloc'd). px gets the picture's size in pixels (0
 * when it cannot be decoded). Errors are out of memory only. */
seal_err verify_seal_picture(char **cause, uint32_t px[2], pdf_raw *raw, pdf_rev *signed_rev,
                             uint32_t sig_object, const seal_picture_ref *pic);

#endif
