/* The raw revision reader (pdf/raw.h) on hand-made files: revisions and where they end, what
 * each revision says an object is, trailing bytes, streams with a wrong /Length, object
 * streams, and the bounds that keep hostile structure from costing stack or time. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdf/raw.h"

#include "check.h"
#include "pdfbuild.h"

static const char cat[] = "<</Type/Catalog/Pages 2 0 R>>";
static const char pages[] = "<</Type/Pages/Kids[3 0 R]/Count 1>>";
static const char page[] = "<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]/Contents 4 0 R>>";

static void base(pb *b) {
    pb_begin(b);
    pb_obj(b, 1, cat);
    pb_obj(b, 2, pages);
    pb_obj(b, 3, page);
    pb_stream(b, 4, "", "0 0 m 10 10 l S", 15);
    pb_xref(b, 5, "/Root 1 0 R");
}

static void test_revisions(void) {
    pb b;
    base(&b);
    size_t end1 = b.out.len;
    pb_obj(&b, 5, "(second)");
    pb_obj(&b, 3, "<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 300]/Contents 4 0 R>>");
    pb_xref(&b, 6, "/Root 1 0 R");
    pdf_raw *r;
    CHECK_INT(pdf_raw_open(&r, b.out.data, b.out.len, NULL), PDF_OK);
    size_t n;
    const size_t *ends = pdf_raw_revision_ends(r, &n);
    CHECK_INT(n, 2);
    CHECK_INT(ends[0], end1);
    CHECK_INT(ends[1], b.out.len);
    CHECK_INT(pdf_raw_revision_at(r, end1), 0);
    CHECK_INT(pdf_raw_revision_at(r, end1 - 1), 0); /* before the final EOL */
    CHECK_INT(pdf_raw_revision_at(r, end1 - 10), -1);
    CHECK_INT(pdf_raw_trailing(r), 0);
    pdf_rev *v1, *v2 = pdf_raw_final(r);
    CHECK_INT(pdf_raw_rev(&v1, r, end1), PDF_OK);
    const pdf_robj *a, *c;
    /* object 5 exists in the second revision only; object 3 differs */
    CHECK_INT(pdf_rev_obj(&a, v1, 5), PDF_OK);
    CHECK(a->val->t == PV_NULL);
    CHECK_INT(pdf_rev_obj(&a, v2, 5), PDF_OK);
    CHECK(a->val->t == PV_STRING && a->val->u.str.n == 6);
    CHECK_INT(pdf_rev_obj(&a, v1, 3), PDF_OK);
    CHECK_INT(pdf_rev_obj(&c, v2, 3), PDF_OK);
    CHECK(!pdf_val_equal(a->val, c->val));
    CHECK(a->loc.where != c->loc.where);
    /* the stream of object 4, the same in both */
    CHECK_INT(pdf_rev_obj(&a, v1, 4), PDF_OK);
    CHECK_INT(pdf_rev_obj(&c, v2, 4), PDF_OK);
    CHECK(a == c && a->stream && a->data_len == 15);
    pdf_raw_free(r);
    pb_free(&b);
}

static void test_trailing(void) {
    pb b;
    base(&b);
    size_t end = b.out.len;
    buf_puts(&b.out, "\r\n  \n");
    pdf_raw *r;
    CHECK_INT(pdf_raw_open(&r, b.out.data, b.out.len, NULL), PDF_OK);
    CHECK_INT(pdf_raw_trailing(r), 0); /* white space is not an update */
    pdf_raw_free(r);
    /* an update without its own %%EOF is not a revision: its bytes are trailing */
    buf_puts(&b.out, "3 0 obj\n<</Type/Page>>\nendobj\nxref\n0 1\n0000000000 65535 f \n");
    CHECK_INT(pdf_raw_open(&r, b.out.data, b.out.len, NULL), PDF_OK);
    CHECK_INT(pdf_raw_trailing(r), b.out.len - end);
    size_t n;
    pdf_raw_revision_ends(r, &n);
    CHECK_INT(n, 1);
    pdf_raw_free(r);
    pb_free(&b);
}

static void test_bad_length(void) {
    pb b;
    pb_begin(&b);
    pb_obj(&b, 1, cat);
    /* /Length says 99; "endstream" says 15 */
    pb_mark(&b, 4);
    buf_puts(&b.out, "4 0 obj\n<</Length 99>>\nstream\n0 0 m 10 10 l S\nendstream\nendobj\n");
    pb_obj(&b, 5, "<</Length 6 0 R>>");
    pb_xref(&b, 6, "/Root 1 0 R");
    pdf_raw *r;
    CHECK_INT(pdf_raw_open(&r, b.out.data, b.out.len, NULL), PDF_OK);
    const pdf_robj *o;
    CHECK_INT(pdf_rev_obj(&o, pdf_raw_final(r), 4), PDF_OK);
    CHECK(o->stream && o->data_len == 15);
    buf d;
    buf_init(&d, 100);
    CHECK_INT(pdf_rev_stream_data(&d, pdf_raw_final(r), o, 100), PDF_OK);
    CHECK(d.len == 15 && memcmp(d.data, "0 0 m 10 10 l S", 15) == 0);
    buf_free(&d);
    pdf_raw_free(r);
    pb_free(&b);
}

/* An object stream; then one whose header lies. */
static void test_objstm(void) {
    pb b;
    pb_begin(&b);
    const char body[] = "7 0 8 8 (seven) [8]";
    char dict[64];
    snprintf(dict, sizeof dict, "/Type/ObjStm/N 2/First %d", 8);
    pb_stream(&b, 6, dict, body, strlen(body));
    pb_obj(&b, 1, cat);
    /* a cross-reference stream is needed for type 2 entries: write one by hand */
    size_t at = b.out.len;
    uint8_t rows[9][4];
    memset(rows, 0, sizeof rows);
    for (uint32_t i = 0; i < b.n; i++) {
        uint32_t num = b.nums[i];
        size_t off = b.offs[i];
        rows[num][0] = 1;
        rows[num][1] = (uint8_t)(off >> 8);
        rows[num][2] = (uint8_t)off;
    }
    rows[7][0] = 2, rows[7][2] = 6, rows[7][3] = 0;
    rows[8][0] = 2, rows[8][2] = 6, rows[8][3] = 1;
    rows[5][0] = 1, rows[5][1] = (uint8_t)(at >> 8), rows[5][2] = (uint8_t)at;
    buf_printf(&b.out, "5 0 obj\n<</Type/XRef/Size 9/W[1 2 1]/Root 1 0 R/Length %zu>>\nstream\n",
               sizeof rows);
    buf_append(&b.out, rows, sizeof rows);
    buf_printf(&b.out, "\nendstream\nendobj\nstartxref\n%zu\n%%%%EOF\n", at);
    pdf_raw *r;
    CHECK_INT(pdf_raw_open(&r, b.out.data, b.out.len, NULL), PDF_OK);
    const pdf_robj *o;
    CHECK_INT(pdf_rev_obj(&o, pdf_raw_final(r), 7), PDF_OK);
    CHECK(o->val->t == PV_STRING && o->val->u.str.n == 5 && o->loc.type == 2);
    CHECK_INT(pdf_rev_obj(&o, pdf_raw_final(r), 8), PDF_OK);
    CHECK(o->val->t == PV_ARRAY && o->loc.index == 1);
    pdf_raw_free(r);
    /* the header names object 9 at index 1: reading object 8 there fails, without a crash */
    size_t hdr = 0;
    while (hdr + 7 <= b.out.len && memcmp(b.out.data + hdr, "7 0 8 8", 7) != 0)
        hdr++;
    b.out.data[hdr + 4] = '9';
    CHECK_INT(pdf_raw_open(&r, b.out.data, b.out.len, NULL), PDF_OK);
    CHECK(pdf_rev_obj(&o, pdf_raw_final(r), 8) != PDF_OK);
    CHECK(o->val->t == PV_NULL);
    pdf_raw_free(r);
    pb_free(&b);
}

/* Streams whose /Length lives in the next object stream, whose /Length lives in the next ...:
 * reading the first needs all of them; the chain is cut at a fixed depth. */
static void test_length_chain(void) {
    pb b;
    base(&b);
    pdf_raw *r;
    /* objects 10..59: stream 10+k has /Length (11+k 0 R), a stream again */
    for (uint32_t k = 0; k < 50; k++) {
        char d[64];
        snprintf(d, sizeof d, "/L %u 0 R", 11 + k);
        pb_mark(&b, 10 + k);
        buf_printf(&b.out, "%u 0 obj\n<</Length %u 0 R>>\nstream\nxx\nendstream\nendobj\n", 10 + k,
                   11 + k);
    }
    pb_obj(&b, 60, "2");
    pb_xref(&b, 61, "/Root 1 0 R");
    CHECK_INT(pdf_raw_open(&r, b.out.data, b.out.len, NULL), PDF_OK);
    const pdf_robj *o;
    /* each /Length is a stream, not an integer: the data is found by "endstream" instead */
    CHECK_INT(pdf_rev_obj(&o, pdf_raw_final(r), 10), PDF_OK);
    CHECK(o->stream && o->data_len == 2);
    pdf_raw_free(r);
    pb_free(&b);
}

/* Offsets in the table that miss their objects (p27 of the corpus shifts them by 7), and a
 * /Prev that points at nothing: what a repairing reader shows is read, and counted. */
static void test_repair(void) {
    pb b;
    base(&b);
    /* shift every offset of the table by 7 */
    size_t x = b.last_xref;
    for (size_t i = x; i + 10 < b.out.len; i++) {
        if (memcmp(b.out.data + i, " 00000 n ", 9) == 0) {
            char num[11];
            memcpy(num, b.out.data + i - 10, 10);
            num[10] = 0;
            char shifted[32];
            snprintf(shifted, sizeof shifted, "%010lld", atoll(num) + 7);
            memcpy(b.out.data + i - 10, shifted, 10);
        }
    }
    pdf_raw *r;
    CHECK_INT(pdf_raw_open(&r, b.out.data, b.out.len, NULL), PDF_OK);
    const pdf_robj *o;
    CHECK_INT(pdf_rev_obj(&o, pdf_raw_final(r), 3), PDF_OK);
    CHECK(o->val->t == PV_DICT && pv_is_name(pv_dict_get(o->val, "Type"), "Page"));
    CHECK(o->loc.repaired);
    uint32_t first;
    CHECK_INT(pdf_raw_repaired(r, &first), 1);
    CHECK_INT(first, 3);
    pdf_raw_free(r);
    /* an update whose /Prev misses the first table by 3 bytes */
    b.last_xref += 3;
    pb_obj(&b, 5, "(new)");
    pb_xref(&b, 6, "/Root 1 0 R");
    CHECK_INT(pdf_raw_open(&r, b.out.data, b.out.len, NULL), PDF_OK);
    CHECK_INT(pdf_rev_obj(&o, pdf_raw_final(r), 5), PDF_OK);
    CHECK(o->val->t == PV_STRING);
    CHECK_INT(pdf_rev_obj(&o, pdf_raw_final(r), 2), PDF_OK); /* listed only by the lost table */
    CHECK(o->val->t == PV_DICT && o->loc.repaired);
    pdf_raw_free(r);
    pb_free(&b);
}

static void test_limits(void) {
    pb b;
    pb_begin(&b);
    pb_obj(&b, 1, cat);
    buf big;
    buf_init(&big, 1 << 20);
    buf_puts(&big, "<<");
    for (int i = 0; i <= PDF_MAX_DICT_KEYS; i++)
        buf_printf(&big, "/K%d %d", i, i);
    buf_puts(&big, ">>");
    buf_putc(&big, 0);
    pb_obj(&b, 2, (const char *)big.data);
    buf_free(&big);
    pb_xref(&b, 3, "/Root 1 0 R");
    pdf_raw *r;
    CHECK_INT(pdf_raw_open(&r, b.out.data, b.out.len, NULL), PDF_OK);
    const pdf_robj *o;
    CHECK_INT(pdf_rev_obj(&o, pdf_raw_final(r), 2), PDF_E_LIMIT);
    CHECK(o->val->t == PV_NULL);
    pdf_raw_free(r);
    pb_free(&b);
    /* a /Prev loop: the chain of the last revision points back to itself */
    pb_begin(&b);
    pb_obj(&b, 1, cat);
    size_t at = b.out.len;
    buf_printf(&b.out, "xref\n0 2\n0000000000 65535 f \n%010zu 00000 n \n", (size_t)17);
    buf_printf(&b.out, "trailer\n<</Size 2/Root 1 0 R/Prev %zu>>\nstartxref\n%zu\n%%%%EOF\n", at,
               at);
    CHECK(pdf_raw_open(&r, b.out.data, b.out.len, NULL) != PDF_OK);
    pb_free(&b);
    /* not a PDF, empty */
    CHECK_INT(pdf_raw_open(&r, (const uint8_t *)"hello", 5, NULL), PDF_E_TRUNCATED);
    CHECK_INT(pdf_raw_open(&r, (const uint8_t *)"", 0, NULL), PDF_E_EMPTY);
}

int main(void) {
    test_revisions();
    test_trailing();
    test_bad_length();
    test_objstm();
    test_length_chain();
    test_repair();
    test_limits();
    return check_failures ? 1 : 0;
}
