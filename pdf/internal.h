/* Shared by the pdf library's own files; not part of its interface. */
#ifndef ESEAL_PDF_INTERNAL_H
#define ESEAL_PDF_INTERNAL_H

#include "pdf/pdf_err.h"

/* Records the detail of an error for pdf_errdetail() and returns err, so that a failing path
 * reads: return pdf_fail(PDF_E_SYNTAX, "object %u: ...", num); */
pdf_err pdf_fail(pdf_err err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pdf_clear_detail(void);
/* Like pdf_fail, but keeps the detail already recorded after the new text ("what: detail"). */
pdf_err pdf_fail_wrap(pdf_err err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
