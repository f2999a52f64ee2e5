/* The domain: sign (and, later, stamp) a PDF document. Ties the pdf, crypto and imaging
 * libraries together; the programs call only this. */
#ifndef ESEAL_SEAL_SEAL_H
#define ESEAL_SEAL_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pdf/pdf.h"

/* The domain's one error type. seal_errdetail() is this thread's whole message for the last
 * error, naming its cause ("not a PDF: the file is a PNG image"). */
typedef enum seal_err {
    SEAL_OK = 0,
    SEAL_E_NOMEM,
    SEAL_E_ARG,      /* a request that cannot be met as asked */
    SEAL_E_IO,       /* a file could not be read or written */
    SEAL_E_DOCUMENT, /* the document is refused */
    SEAL_E_KEY,      /* the key or certificate is refused */
    SEAL_E_IMAGE,    /* the appearance image is refused */
    SEAL_E_SIGN,     /* building or placing the signature failed */
    SEAL_E_TEMPLATE, /* the template or the values given for it are refused */
    SEAL_E_SEAL      /* the GB/T 38540 seal is refused for this signer or time */
} seal_err;

const char *seal_strerror(seal_err err);
const char *seal_errdetail(void);

/* PAdES baseline levels (ETSI EN 319 142-1 6.3). */
typedef enum seal_level {
    SEAL_LEVEL_B_B,  /* the signature */
    SEAL_LEVEL_B_T,  /* with a signature time-stamp */
    SEAL_LEVEL_B_LT, /* and the validation data in the document's /DSS */
    SEAL_LEVEL_B_LTA /* and a document time-stamp over it all */
} seal_level;

/* "B-B", "B-T", "B-LT", "B-LTA" into a level; false for anything else. */
bool seal_level_parse(seal_level *out, const char *name);

/* Credentials and appearance, prepared once and reused for many documents. */
typedef struct seal_signer_opts {
    const char *key;      /* PEM or PKCS#12 file */
    const char *cert;     /* signer certificate (PEM/DER); NULL when the PKCS#12 has it */
    const char *chain;    /* further certificates; optional */
    const char *password; /* for the key; optional */
    const char *digest;   /* NULL: chosen by key */
    bool pss;             /* RSA-PSS rather than PKCS#1 v1.5 */
    const char *image;    /* PNG appearance; optional */
    /* A GB/T 38540 seal file (crypto/ses.h): carried by every signature as a signed CMS
     * attribute, its picture the appearance. Loaded once; refused unless its maker's signature
     * holds and it lists the signer's certificate, and each signing refused unless the seal is
     * valid at the signing time. Not with image. Signatures with a seal are visible: an
     * invisible one is refused. */
    const char *seal;
    seal_level level;    /* B-B unless asked */
    const char *tsa_url; /* the RFC 3161 TSA (http) for B-T and above */
    int tsa_timeout_ms;  /* limit on each request to the TSA, OCSP responders, CRLs; 0: 10 s */
} seal_signer_opts;

typedef struct seal_signer seal_signer;

seal_err seal_signer_new(seal_signer **out, const seal_signer_opts *opts);
/* A signer over a key held elsewhere (a remote key of the key process, crypto/keyproc.h):
 * borrows key, copies cert and chain; opts->key, cert, chain and password are not used. */
struct crypto_key;
struct x509_st;
struct stack_st_X509;
seal_err seal_signer_from_key(seal_signer **out, struct crypto_key *key, struct x509_st *cert,
                              struct stack_st_X509 *chain, const seal_signer_opts *opts);
void seal_signer_free(seal_signer *s);
/* A certificate subject's common name as UTF-8 (the whole subject when it has none; "" for
 * NULL), for reports. */
void seal_cert_cn(char *out, size_t n, struct x509_st *cert);
const char *seal_signer_name(const seal_signer *s);

typedef struct seal_sign_opts {
    const char *field;   /* field name (new or existing) */
    bool existing_field; /* sign into the existing empty field named field */
    int page;            /* 1-based page of a visible signature; 0: invisible */
    /* x, y, width, height in mm as the reader sees the page; with a seal, width and height 0
     * mean the seal's own size, and others must be that size (within 0.5 mm) */
    double rect_mm[4];
    int certify; /* 0, or DocMDP /P 1..3 */
    const char *reason, *location, *contact;
    const char *doc_password; /* to open the document; NULL for the empty user password */
    bool no_repair;           /* refuse damaged files rather than rewriting them */
    time_t when;              /* signing time; 0: now */
    bool no_sync;             /* the caller syncs the output (a batch, once per group of files) */
} seal_sign_opts;

/* A signed document in memory: write its parts in order. */
typedef struct seal_result {
    pdf_doc *doc;
    pdf_output out;
    bool repaired;   /* the input was damaged and rewritten whole before signing */
    char notes[256]; /* what the user should know that did not stop the work */
} seal_result;

/* Signs the PDF in data (malloc'd; taken over whatever happens). */
seal_err seal_sign_memory(seal_result *res, seal_signer *s, uint8_t *data, size_t len,
                          const seal_sign_opts *opts);
/* Signs the file in and writes out atomically; nothing is left at out on failure. */
seal_err seal_sign_file(seal_signer *s, const char *in, const char *out, const seal_sign_opts *opts,
                        bool *repaired);
void seal_result_free(seal_result *res);

/* Draws a round seal picture (imaging/seal.h img_seal_draw) of px x px into a PNG. */
seal_err seal_draw_file(const char *out_png, const char *name, const char *code, uint32_t px,
                        const char *font);

#endif
