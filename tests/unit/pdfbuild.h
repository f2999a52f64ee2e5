/* Hand-made PDFs for the unit tests of the raw reader and the verifier: objects written as
 * given, a cross-reference table per revision with the right offsets, and optionally a
 * signature dictionary whose /ByteRange is patched in afterwards, so that a test can build
 * exactly the malformed or hostile structure it needs. Static functions: include once. */
#ifndef ESEAL_TESTS_PDFBUILD_H
#define ESEAL_TESTS_PDFBUILD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

#define PB_MAX_OBJS 400000

typedef struct pb {
    buf out;
    uint32_t *nums; /* objects written since the last cross-reference section */
    size_t *offs;
    size_t n;
    size_t last_xref; /* 0 before the first */
    size_t br_at;     /* where the pending /ByteRange placeholder is, 0 when none */
    size_t contents_at, contents_len;
} pb;

__attribute__((unused)) static void pb_begin(pb *b) {
    memset(b, 0, sizeof *b);
    buf_init(&b->out, (size_t)256 << 20);
    b->nums = calloc(PB_MAX_OBJS, sizeof *b->nums);
    b->offs = calloc(PB_MAX_OBJS, sizeof *b->offs);
    buf_puts(&b->out, "%PDF-1.7\n%\xE2\xE3\xCF\xD3\n");
}

__attribute__((unused)) static void pb_free(pb *b) {
    buf_free(&b->out);
    free(b->nums);
    free(b->offs);
}

__attribute__((unused)) static void pb_mark(pb *b, uint32_t num) {
    if (b->n < PB_MAX_OBJS) {
        b->nums[b->n] = num;
        b->offs[b->n++] = b->out.len;
    }
}

/* "num 0 obj" body "endobj" */
__attribute__((unused)) static void pb_obj(pb *b, uint32_t num, const char *body) {
    pb_mark(b, num);
    buf_printf(&b->out, "%u 0 obj\n%s\nendobj\n", num, body);
}

/* A stream: dict is the dictionary's inside, without /Length. */
__attribute__((unused)) static void pb_stream(pb *b, uint32_t num, const char *dict,
                                              const void *data, size_t len) {
    pb_mark(b, num);
    buf_printf(&b->out, "%u 0 obj\n<<%s/Length %zu>>\nstream\n", num, dict, len);
    buf_append(&b->out, data, len);
    buf_puts(&b->out, "\nendstream\nendobj\n");
}

/* A signature dictionary (object num) whose /ByteRange is filled in by the next pb_xref to
 * cover the revision but /Contents; contents_hex is the inside of the hex string. */
__attribute__((unused)) static void pb_sig(pb *b, uint32_t num, const char *extra,
                                           const char *contents_hex) {
    pb_mark(b, num);
    buf_printf(&b->out,
               "%u 0 obj\n<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached%s"
               "/ByteRange ",
               num, extra);
    b->br_at = b->out.len;
    buf_puts(&b->out, "[0000000000 0000000000 0000000000 0000000000]/Contents ");
    b->contents_at = b->out.len;
    buf_printf(&b->out, "<%s>", contents_hex);
    b->contents_len = b->out.len - b->contents_at;
    buf_puts(&b->out, ">>\nendobj\n");
}

/* A cross-reference table for the objects written since the last one (one subsection per
 * object, in the order written), a trailer with trailer_extra inside, startxref and %%EOF. */
__attribute__((unused)) static void pb_xref(pb *b, long long size, const char *trailer_extra) {
    size_t at = b->out.len;
    buf_puts(&b->out, "xref\n0 1\n0000000000 65535 f \n");
    for (size_t i = 0; i < b->n; i++)
        buf_printf(&b->out, "%u 1\n%010zu 00000 n \n", b->nums[i], b->offs[i]);
    buf_printf(&b->out, "trailer\n<</Size %lld%s", size, trailer_extra);
    if (b->last_xref)
        buf_printf(&b->out, "/Prev %zu", b->last_xref);
    buf_printf(&b->out, ">>\nstartxref\n%zu\n%%%%EOF\n", at);
    b->last_xref = at;
    b->n = 0;
    if (b->br_at) {
        char br[64];
        size_t gap_end = b->contents_at + b->contents_len;
        snprintf(br, sizeof br, "[%010d %010zu %010zu %010zu]", 0, b->contents_at, gap_end,
                 b->out.len - gap_end);
        memcpy(b->out.data + b->br_at, br, strlen(br));
        b->br_at = 0;
    }
}

#endif
