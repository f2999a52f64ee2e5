/* The standard security handler (ISO 32000-2 7.6.4; RC4 and AES-128 per ISO 32000-1 7.6.2-7.6.3,
 * AES-256 R5 per Adobe Extension Level 3 and R6 per ISO 32000-2 7.6.4.3.3-4): the file key from
 * the encryption dictionary and a password, the permissions, and the encryption of the strings
 * and streams an incremental update adds.
 *
 * This module knows bytes, not qpdf: the caller copies the encryption dictionary's values into
 * pdf_crypt_params. */
#ifndef ESEAL_PDF_CRYPT_H
#define ESEAL_PDF_CRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "pdf/pdf_err.h"

typedef enum pdf_crypt_method {
    PDF_CM_NONE,  /* /Identity crypt filter: data left as is */
    PDF_CM_RC4,   /* /V2, or V 1-3 */
    PDF_CM_AESV2, /* AES-128-CBC */
    PDF_CM_AESV3  /* AES-256-CBC */
} pdf_crypt_method;

typedef struct pdf_crypt_params {
    int V;           /* /V */
    int R;           /* /R */
    int length_bits; /* /Length (40..128 for RC4; default 40) */
    int32_t P;       /* /P as a signed 32-bit integer */
    const uint8_t *O, *U, *OE, *UE, *Perms;
    size_t O_len, U_len, OE_len, UE_len, Perms_len;
    bool encrypt_metadata; /* /EncryptMetadata, default true */
    pdf_crypt_method stm;  /* method of /StmF's crypt filter (V 4/5); RC4 below V 4 */
    pdf_crypt_method str;  /* method of /StrF's crypt filter */
    const uint8_t *id0;    /* first element of the trailer's /ID */
    size_t id0_len;
} pdf_crypt_params;

typedef struct pdf_crypt {
    uint8_t key[32];
    size_t key_len;
    int R;
    uint32_t P;
    pdf_crypt_method stm, str;
    bool owner; /* the password given was the owner password */
} pdf_crypt;

/* Derives the file key from password (UTF-8; "" for the empty user password), trying it as the
 * user password, then as the owner password. PDF_E_PASSWORD when it is neither;
 * PDF_E_ENCRYPTION for an unsupported V/R/method or an inconsistent dictionary (for R 6, /Perms
 * must decrypt to the same /P). */
pdf_err pdf_crypt_init(pdf_crypt *out, const pdf_crypt_params *params, const char *password);

/* Permission bits of /P (ISO 32000-2 Table 22), numbered from 1 as the standard does. */
enum {
    PDF_PERM_PRINT = 3,
    PDF_PERM_MODIFY = 4,
    PDF_PERM_COPY = 5,
    PDF_PERM_ANNOTATE = 6,
    PDF_PERM_FILL_FORM = 9,
    PDF_PERM_ASSEMBLE = 11,
    PDF_PERM_PRINT_HIGH = 12
};
bool pdf_crypt_allows(const pdf_crypt *c, int bit);

/* Appends the encryption of n bytes of a string (is_stream false) or a stream's data to out,
 * with the key of object num/gen (algorithm 1; for AES a random 16-byte IV first and PKCS#5
 * padding; for AESV3 the file key itself). */
pdf_err pdf_crypt_encrypt(buf *out, const pdf_crypt *c, bool is_stream, uint32_t num, uint16_t gen,
                          const uint8_t *p, size_t n);
/* The inverse, for reading; PDF_E_ENCRYPTION on bad padding or a short AES input. */
pdf_err pdf_crypt_decrypt(buf *out, const pdf_crypt *c, bool is_stream, uint32_t num, uint16_t gen,
                          const uint8_t *p, size_t n);

#endif
