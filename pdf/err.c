#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pdf/internal.h"
#include "pdf/pdf_err.h"

static _Thread_local char detail[512];

const char *pdf_strerror(pdf_err err) {
    switch (err) {
    case PDF_OK:
        return "success";
    case PDF_E_NOMEM:
        return "out of memory";
    case PDF_E_LIMIT:
        return "a size, count or depth exceeds the maximum";
    case PDF_E_IO:
        return "input/output error";
    case PDF_E_EMPTY:
        return "the file is empty";
    case PDF_E_NOT_PDF:
        return "not a PDF";
    case PDF_E_TRUNCATED:
        return "the file is truncated";
    case PDF_E_DAMAGED:
        return "the file is damaged";
    case PDF_E_XREF:
        return "the cross-reference table is damaged";
    case PDF_E_SYNTAX:
        return "malformed PDF syntax";
    case PDF_E_PASSWORD:
        return "the document is password protected";
    case PDF_E_ENCRYPTION:
        return "unsupported or inconsistent encryption";
    case PDF_E_PERMISSION:
        return "the document's permissions forbid modification";
    case PDF_E_PAGE_TREE:
        return "the page tree is broken";
    case PDF_E_NO_PAGE:
        return "no such page";
    case PDF_E_FIELD:
        return "no usable signature field";
    case PDF_E_SIGNED:
        return "an existing signature forbids this change";
    case PDF_E_ARG:
        return "invalid argument";
    case PDF_E_QPDF:
        return "qpdf reported an error";
    }
    return "unknown pdf error";
}

const char *pdf_errdetail(void) {
    return detail;
}

void pdf_clear_detail(void) {
    detail[0] = '\0';
}

pdf_err pdf_fail_wrap(pdf_err err, const char *fmt, ...) {
    char before[sizeof detail], what[256];
    memcpy(before, detail, sizeof detail);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    /* "what: before", cut to fit */
    size_t n = 0;
    for (const char *parts[] = {what, ": ", before}, **q = parts; q < parts + 3; q++)
        for (const char *c = *q; *c && n + 1 < sizeof detail; c++)
            detail[n++] = *c;
    detail[n] = '\0';
    return err;
}

pdf_err pdf_fail(pdf_err err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return err;
}
