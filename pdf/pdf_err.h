/* The pdf library's one error type. 0 is success; pdf_strerror names the cause and
 * pdf_errdetail() gives this thread's detail for the last error (object number, qpdf's text). */
#ifndef ESEAL_PDF_ERR_H
#define ESEAL_PDF_ERR_H

typedef enum pdf_err {
    PDF_OK = 0,
    PDF_E_NOMEM,      /* out of memory */
    PDF_E_LIMIT,      /* a size, count or depth exceeds the maximum */
    PDF_E_IO,         /* reading or writing a file failed */
    PDF_E_EMPTY,      /* the file is empty */
    PDF_E_NOT_PDF,    /* no %PDF- header: not a PDF */
    PDF_E_TRUNCATED,  /* no end-of-file marker or trailer: truncated */
    PDF_E_DAMAGED,    /* structure damaged beyond repair */
    PDF_E_XREF,       /* cross-reference table damaged (qpdf can rebuild it) */
    PDF_E_SYNTAX,     /* malformed object syntax */
    PDF_E_PASSWORD,   /* a user password is required */
    PDF_E_ENCRYPTION, /* unsupported or inconsistent encryption */
    PDF_E_PERMISSION, /* the document's permissions forbid modification */
    PDF_E_PAGE_TREE,  /* page tree loop or broken page tree */
    PDF_E_NO_PAGE,    /* no such page */
    PDF_E_FIELD,      /* no such field, or not an empty signature field */
    PDF_E_SIGNED,     /* a signature forbids the operation */
    PDF_E_ARG,        /* invalid argument */
    PDF_E_QPDF        /* qpdf reported an error */
} pdf_err;

const char *pdf_strerror(pdf_err err);

/* Detail of the last error raised in this thread by the pdf library ("" when none). */
const char *pdf_errdetail(void);

#endif
