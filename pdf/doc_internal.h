/* The document as the pdf library's files see it. */
#ifndef ESEAL_PDF_DOC_INTERNAL_H
#define ESEAL_PDF_DOC_INTERNAL_H

#include <qpdf/qpdf-c.h>

#include "pdf/crypt.h"
#include "pdf/pdf.h"
#include "pdf/xref.h"

typedef struct pdf_objid {
    uint32_t num;
    uint16_t gen;
} pdf_objid;

struct pdf_doc {
    uint8_t *data;
    size_t len;
    qpdf_data q;
    pdf_xref *xref;
    arena a;
    bool repaired;
    bool encrypted;
    pdf_crypt crypt;
    pdf_objid *pages;
    int npages;
    uint32_t next_num;    /* first object number free for new objects */
    pdf_objid root, info; /* info.num 0 when absent */
    pdf_objid encrypt;    /* encrypt.num 0 when absent */
    uint8_t *id0;         /* first /ID element, kept by every update */
    size_t id0_len;
    int pdfa_part;
};

/* Copies the qpdf object oh into an arena value; indirect objects below the top become
 * references. Streams give their dictionary. */
pdf_err doc_oh_to_val(pdf_val **out, arena *a, pdf_doc *doc, qpdf_oh oh);
/* A slot in the update for the signature module's reading of the form, so that locating a
 * field and adding the signature walk the form once. */
void **update_form_slot(pdf_update *u);

/* PDF_E_QPDF (or the cause qpdf names) with qpdf's message, when the last call failed. */
pdf_err doc_qpdf_check(pdf_doc *doc, const char *what);

#endif
