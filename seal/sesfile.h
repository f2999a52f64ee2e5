/* Seal files (GB/T 38540-2020 SES_Seal, crypto/ses.h): made from a picture, the signers'
 * certificates and the seal maker's key (DESIGN.md, system 1: "make"), and shown. The file
 * work is here: reading and checking the picture, the certificates and the key, writing the
 * seal atomically; the programs only parse their options. */
#ifndef ESEAL_SEAL_SESFILE_H
#define ESEAL_SEAL_SESFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "base/buf.h"
#include "seal/seal.h"

/* Enterprise seals are 42 mm across (DESIGN.md, "Licence stamp layers"). */
#define SEAL_SES_DEFAULT_MM 42
/* The picture's pixels: a 42 mm seal at 600 dpi is 992 pixels; more than this is refused. */
#define SEAL_SES_MAX_PX 4096

typedef struct seal_ses_make_opts {
    const char *picture;      /* PNG or JPEG file: it must decode */
    const char *name;         /* the seal's name, UTF-8 */
    const char *const *certs; /* the signers' certificate files (PEM or DER), each holding */
    size_t n_certs;           /* one certificate or more */
    bool cert_digests;        /* list SM3 digests of the certificates (certListType 2) */
    time_t valid_from;        /* 0: now */
    time_t valid_to;          /* after valid_from */
    const char *maker_key;    /* the seal maker's key: PEM, PKCS#12 or a pkcs11: URI */
    const char *maker_cert;   /* its certificate; NULL when the key file or token holds it */
    const char *maker_pass;   /* a file whose first line is the key's password or PIN */
    const char *esid;         /* NULL: made up from the time and random bytes */
    const char *vid;          /* NULL: "eseal" */
    int type;                 /* 1 an organisation's seal (default), 2 a person's */
    int width_mm, height_mm;  /* 0: SEAL_SES_DEFAULT_MM */
} seal_ses_make_opts;

/* Makes the seal and writes its DER to out atomically: nothing is left at out on failure.
 * Refused, with seal_errdetail() naming the cause: a picture that is not a PNG or JPEG that
 * decodes (SEAL_E_IMAGE), no signer certificate, a CA certificate as a signer, a maker key that
 * does not belong to the maker certificate (SEAL_E_KEY), a validity that does not end after it
 * starts (SEAL_E_ARG). */
seal_err seal_ses_make_file(const char *out, const seal_ses_make_opts *o);

/* What showing a seal found. */
typedef struct seal_ses_shown {
    bool maker_ok; /* the maker's signature holds */
} seal_ses_shown;

/* Reads the seal file at path and appends to out a description of it, as text for a person or
 * (json) one JSON object: format and version, vid, esID, type, name, dates, the signers listed
 * (subject, common name, serial, SHA-256 fingerprint; or the digests), the picture (type, bytes,
 * size in mm, pixels when it decodes), the maker's certificate, the signature algorithm and
 * whether the maker's signature holds. With picture_out, the picture is written there too.
 * SEAL_OK whenever the seal could be read, whether its signature holds or not (shown->maker_ok
 * says); SEAL_E_DOCUMENT for a file that is not a seal. */
seal_err seal_ses_show(buf *out, seal_ses_shown *shown, const char *path, bool json,
                       const char *picture_out);

#endif
