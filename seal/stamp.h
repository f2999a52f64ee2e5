/* Stamping licences from a template (DESIGN.md "Licence stamp layers"): the bureau's seal
 * (the signature's own appearance), its fogged rendering for the screen, a QR code leading to
 * the public verification page with a token signed by the bureau, and a watermark, all added
 * with the signature in one incremental update; the page's own content is untouched. */
#ifndef ESEAL_SEAL_STAMP_H
#define ESEAL_SEAL_STAMP_H

#include "seal/seal.h"
#include "seal/template.h"

typedef struct seal_stamper seal_stamper;

typedef struct seal_stamper_opts {
    const char *seal_picture;      /* PNG; NULL: the template's */
    const char *qr_key;            /* key that signs the QR token; NULL: the signer's key */
    struct crypto_key *qr_key_obj; /* or that key itself (borrowed), e.g. a remote key */
    const char *qr_password;
    const char *font; /* glyph outlines of the watermark; NULL: a Debian CJK font */
} seal_stamper_opts;

/* Prepares what all documents stamped with the template share: the seal picture and its fog,
 * the font, the QR token key. Borrows t and s. */
seal_err seal_stamper_new(seal_stamper **out, const seal_template *t, seal_signer *s,
                          const seal_stamper_opts *o);
void seal_stamper_free(seal_stamper *st);

/* Stamps and signs one document. v must have passed seal_template_check_values. Notes that do
 * not stop the stamping (e.g. "PDF/A: no fog") are appended to res->notes. */
seal_err seal_stamp_memory(seal_result *res, seal_stamper *st, const seal_values *v, uint8_t *data,
                           size_t len, const seal_sign_opts *o);
seal_err seal_stamp_file(seal_stamper *st, const seal_values *v, const char *in, const char *out,
                         const seal_sign_opts *o, char *notes, size_t notes_len);

/* The QR token: the compact signature (base64url) over "eseal-qr-v1\n" and the licence_id,
 * credit_code, valid_from and valid_to values, each followed by "\n" (empty when absent). */
seal_err seal_qr_token(char *out, size_t n, seal_stamper *st, const seal_values *v);
/* The message the token signs (for verifiers). */
size_t seal_qr_message(char *out, size_t n, const seal_values *v);

#endif
