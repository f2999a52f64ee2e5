#ifndef ESEAL_SEAL_INTERNAL_H
#define ESEAL_SEAL_INTERNAL_H

#include "crypto/crypto.h"
#include "crypto/ses.h"
#include "seal/seal.h"

struct seal_signer {
    crypto_key *key;
    bool own_key;
    X509 *cert;
    STACK_OF(X509) * chain;
    crypto_signer *cs;
    pdf_image *image;
    crypto_ses *ses; /* the GB/T 38540 seal the signatures carry; NULL: none */
    seal_level level;
    char *tsa_url;
    int tsa_timeout_ms;
};

seal_err seal_fail(seal_err err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
seal_err seal_fail_lib(seal_err err, const char *cause, const char *libdetail);

/* The PDF image streams of a PNG picture, from the cache when it has them; with fog not NULL,
 * also those of its fogged rendering (imaging/seal.h img_fog). */
seal_err seal_image_load(pdf_image **out, pdf_image **fog, const char *path);
/* The same for a picture in memory (a seal's): PNG or JPEG, by content. */
seal_err seal_image_load_memory(pdf_image **out, pdf_image **fog, const uint8_t *data, size_t len);
/* Whether a seal's picture type is one eseal can show (PNG, JPEG). */
bool seal_picture_type_ok(const char *type);
/* "YYYY-MM-DD HH:MM:SS UTC" */
void seal_time_text(char *out, size_t n, time_t t);

/* The steps every sealing shares. seal_begin opens data (taken over) into res->doc, checks that
 * the document lets annotations or form fields be added (new_field) or filled, and starts the
 * update. seal_finish adds the signature of spec (the caller has added its appearance or the
 * signer's own is built here when spec->appearance is 0 and the field is visible), writes the
 * update and puts the CMS in. */
seal_err seal_begin(seal_result *res, pdf_update **u, uint8_t *data, size_t len,
                    const seal_sign_opts *o, bool new_field);
seal_err seal_finish(seal_result *res, seal_signer *s, pdf_update *u, pdf_sig_spec *spec);
seal_err seal_from_pdf(pdf_err e);
/* After seal_finish, with the update freed: the levels beyond B-T, each in an update of its
 * own (B-LT: the /DSS; B-LTA: then a document time-stamp). res is replaced by the result. */
seal_err seal_extend(seal_result *res, seal_signer *s, const seal_sign_opts *o);

#endif
