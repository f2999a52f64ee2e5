/* Stamp templates: per licence type, where the seal, the QR code and the watermark go, what the
 * QR code says, whether the seal is fogged on screen, and how the document is signed. JSON,
 * validated on load with messages that name the key and what was expected. See
 * templates/README.md for the format. */
#ifndef ESEAL_SEAL_TEMPLATE_H
#define ESEAL_SEAL_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/buf.h"
#include "seal/seal.h"

typedef enum seal_corner {
    SEAL_TOP_LEFT,
    SEAL_TOP_RIGHT,
    SEAL_BOTTOM_LEFT,
    SEAL_BOTTOM_RIGHT
} seal_corner;

/* Where a layer goes: millimetres from a corner of the page as the reader sees it (to the
 * nearest edges of the layer's box), or onto a named form field's rectangle. */
typedef struct seal_place {
    const char *field; /* NULL: by corner */
    seal_corner corner;
    double x_mm, y_mm;
} seal_place;

typedef enum seal_pages_kind {
    SEAL_PAGES_FIRST,
    SEAL_PAGES_LAST,
    SEAL_PAGES_ALL,
    SEAL_PAGES_LIST
} seal_pages_kind;
typedef struct seal_pages {
    seal_pages_kind kind;
    int *list; /* 1-based, negative from the end (-1 the last page) */
    size_t n;
} seal_pages;

typedef struct seal_tfield {
    const char *name;
    bool required;
    const char *format; /* NULL, "licence-id", "credit-code", "date" */
    const char *dflt;
    size_t max_length;
} seal_tfield;

typedef struct seal_template {
    arena a;
    const char *path, *name, *title;
    seal_tfield *fields;
    size_t nfields;
    /* seal */
    const char *seal_picture; /* absolute, or NULL when given at stamping time */
    /* A GB/T 38540 seal file (absolute), or NULL: the signature carries it and its picture is
     * the one stamped, at its own size (seal_signer_opts.seal: the caller hands it to the
     * signer) */
    const char *seal_file;
    double seal_mm;
    bool seal_mm_given; /* diameter_mm was written (with a seal, it must be the seal's size) */
    seal_place seal_at;
    seal_pages seal_pages;
    bool fog;
    /* QR code */
    bool qr;
    const char *qr_content;
    seal_place qr_at;
    double qr_mm;
    int qr_level; /* 0 L, 1 M, 2 Q, 3 H */
    seal_pages qr_pages;
    /* watermark */
    bool watermark;
    const char *wm_text;
    double wm_size_pt, wm_angle, wm_opacity, wm_colour[3], wm_spacing_mm[2];
    seal_pages wm_pages;
    const char *border_text; /* micro-text border, NULL for none */
    double border_size_pt;
    /* signature */
    int certify;
    const char *reason, *location, *contact;
} seal_template;

/* Reads and validates a template file (at most 1 MiB). */
seal_err seal_template_load(seal_template **out, const char *path);
void seal_template_free(seal_template *t);

/* Values for a template's placeholders ({licence_id}, {enterprise}, ...). */
typedef struct seal_values {
    arena a;
    const char **names, **values;
    size_t n, cap;
} seal_values;

void seal_values_init(seal_values *v);
void seal_values_free(seal_values *v);
/* Sets name to value (copied; later sets replace earlier ones). */
seal_err seal_values_set(seal_values *v, const char *name, const char *value);
/* "NAME=VALUE" as given on a command line. */
seal_err seal_values_set_arg(seal_values *v, const char *arg);
const char *seal_values_get(const seal_values *v, const char *name);

/* Fills in defaults and checks the values against the template's fields: required ones present,
 * formats (licence identifier check character, credit code check character, dates), lengths;
 * names not in the template are refused. */
seal_err seal_template_check_values(const seal_template *t, seal_values *v);

/* Appends pattern with its {placeholders} replaced by values; {token} by token. */
seal_err seal_template_expand(buf *out, const char *pattern, const seal_values *v,
                              const char *token);

#endif
