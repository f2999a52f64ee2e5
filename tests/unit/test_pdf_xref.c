/* The cross-reference reader (pdf/xref.h) on files built here byte by byte, and on the corpus.
 *
 * Built in memory: (a) a file with a classic table (ISO 32000-2 7.5.4), in the forms producers
 * write it; (b) the same after an incremental update (7.5.6: two sections chained by /Prev);
 * (c) files whose cross-reference is a stream (7.5.8) with /W [1 2 1] and other widths, with and
 * without /Index, uncompressed, Flate-compressed and PNG-predicted (/Predictor 12, every PNG
 * filter type); (d) a hybrid file (7.5.8.4: a table whose trailer names an /XRefStm). For each
 * the test checks the sections, their kind and offset, every entry, the trailer values and
 * startxref, and that pdf_xref_check_offsets accepts it; then damaged variants fail with the
 * exact error code: no startxref, no %%EOF, offsets past the end, /Prev loops, impossible
 * subsections, bad /W and /Index, broken streams, offsets shifted as in the corpus's p27.
 * Every prefix of the built files is read from an exactly sized heap block (ASan catches a
 * stray read). Last, every file of $ESEAL_CORPUS/inputs and /attacks is read and checked, and
 * the MANIFEST expectations hold. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/buf.h"
#include "pdf/pdf_err.h"
#include "pdf/val.h"
#include "pdf/xref.h"

#include "check.h"

enum { MAXOBJ = 16, FILE_MAX = 1 << 26 };

/* ------------------------------------------------------------------------------------------ */
/* building files */

typedef struct gen {
    buf b;
    size_t off[MAXOBJ]; /* where "N 0 obj" of each object starts */
} gen;

static void gen_init(gen *g) {
    memset(g, 0, sizeof *g);
    buf_init(&g->b, FILE_MAX);
    buf_puts(&g->b, "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n");
}

static void obj(gen *g, unsigned num, const char *body) {
    g->off[num] = g->b.len;
    buf_printf(&g->b, "%u 0 obj\n%s\nendobj\n", num, body);
}

/* Catalog 1, page tree 2, page 3. */
static void base_objects(gen *g) {
    obj(g, 1, "<</Type/Catalog/Pages 2 0 R>>");
    obj(g, 2, "<</Type/Pages/Kids[3 0 R]/Count 1>>");
    obj(g, 3, "<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>");
}

/* One table subsection: object 0 free (65535), the others in use at offs[num]. */
static void table_sub(gen *g, unsigned first, unsigned count, const size_t *offs) {
    buf_printf(&g->b, "%u %u\n", first, count);
    for (unsigned n = first; n < first + count; n++) {
        if (n == 0)
            buf_puts(&g->b, "0000000000 65535 f\r\n");
        else
            buf_printf(&g->b, "%010zu 00000 n\r\n", offs[n]);
    }
}

static void tail(gen *g, size_t xref_at) {
    buf_printf(&g->b, "startxref\n%zu\n%%%%EOF\n", xref_at);
}

/* (a): objects 1-3 and a table "0 4". Returns the offset of "xref". */
static size_t classic(gen *g) {
    gen_init(g);
    base_objects(g);
    size_t x = g->b.len;
    buf_puts(&g->b, "xref\n");
    table_sub(g, 0, 4, g->off);
    buf_puts(&g->b, "trailer\n<</Size 4/Root 1 0 R/ID[<0102><0304>]>>\n");
    tail(g, x);
    return x;
}

/* (b): (a) plus an update changing object 2 and adding object 4. */
static size_t update(gen *g, size_t prev, const size_t *offs) {
    obj(g, 2, "<</Type/Pages/Kids[3 0 R]/Count 1/Changed true>>");
    obj(g, 4, "(added)");
    size_t x = g->b.len;
    buf_puts(&g->b, "xref\n");
    table_sub(g, 0, 1, offs ? offs : g->off);
    table_sub(g, 2, 1, offs ? offs : g->off);
    table_sub(g, 4, 1, offs ? offs : g->off);
    buf_printf(&g->b, "trailer\n<</Size 5/Root 1 0 R/Prev %zu>>\n", prev);
    tail(g, x);
    return x;
}

/* Replaces the first occurrence of from (same length as to) in g's bytes. */
static bool patch(gen *g, const char *from, const char *to) {
    size_t n = strlen(from);
    if (strlen(to) != n || g->b.len < n)
        return false;
    for (size_t i = 0; i + n <= g->b.len; i++) {
        if (memcmp(g->b.data + i, from, n) == 0) {
            memcpy(g->b.data + i, to, n);
            return true;
        }
    }
    return false;
}

/* Cross-reference stream rows. */
typedef struct row {
    unsigned type;
    unsigned long long f2, f3;
} row;

static size_t put_rows(uint8_t *out, const row *rows, size_t n, const int w[3]) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned long long f[3] = {rows[i].type, rows[i].f2, rows[i].f3};
        for (int j = 0; j < 3; j++)
            for (int b = w[j] - 1; b >= 0; b--)
                out[o++] = (uint8_t)(f[j] >> (8 * b));
    }
    return o;
}

static unsigned paeth(unsigned a, unsigned b, unsigned c) {
    int p = (int)a + (int)b - (int)c;
    int pa = abs(p - (int)a), pb = abs(p - (int)b), pc = abs(p - (int)c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* PNG-encodes rows of width bytes (one byte per pixel), filter type r % 5 on row r (RFC 2083
 * 6: a PNG predictor lets each row choose its filter). */
static size_t png_encode(uint8_t *out, const uint8_t *in, size_t len, size_t width) {
    size_t o = 0;
    for (size_t r = 0; r * width < len; r++) {
        const uint8_t *cur = in + r * width, *prev = r ? cur - width : NULL;
        unsigned f = (unsigned)(r % 5);
        out[o++] = (uint8_t)f;
        for (size_t i = 0; i < width; i++) {
            unsigned a = i ? cur[i - 1] : 0, b = prev ? prev[i] : 0;
            unsigned c = i && prev ? prev[i - 1] : 0;
            unsigned p = f == 0   ? 0
                         : f == 1 ? a
                         : f == 2 ? b
                         : f == 3 ? (a + b) / 2
                                  : paeth(a, b, c);
            out[o++] = (uint8_t)(cur[i] - p);
        }
    }
    return o;
}

typedef enum { RAW, FLATE, FLATE_PNG } coding;

/* Writes object num as a cross-reference stream; extra goes into its dictionary. */
static void xref_stream(gen *g, unsigned num, const row *rows, size_t n, const int w[3], coding c,
                        const char *extra) {
    uint8_t raw[1024], pred[1280], z[2048];
    size_t rawlen = put_rows(raw, rows, n, w), len = rawlen;
    const uint8_t *data = raw;
    const char *filter = "";
    char parms[80] = "";
    if (c == FLATE_PNG) {
        size_t width = (size_t)(w[0] + w[1] + w[2]);
        rawlen = png_encode(pred, raw, rawlen, width);
        snprintf(parms, sizeof parms, "/DecodeParms<</Predictor 12/Columns %zu>>", width);
        data = pred;
    }
    if (c != RAW) {
        uLongf zl = sizeof z;
        if (compress2(z, &zl, data, rawlen, 9) != Z_OK)
            zl = 0;
        data = z;
        len = zl;
        filter = "/Filter/FlateDecode";
    }
    g->off[num] = g->b.len;
    buf_printf(&g->b, "%u 0 obj\n<</Type/XRef/W[%d %d %d]/Length %zu%s%s%s>>\nstream\r\n", num,
               w[0], w[1], w[2], len, filter, parms, extra);
    buf_append(&g->b, data, len);
    buf_puts(&g->b, "\nendstream\nendobj\n");
}

/* An object stream 6 holding object 5. */
static void objstm(gen *g) {
    obj(g, 6, "<</Type/ObjStm/N 1/First 4/Length 11>>\nstream\n5 0 (hello)\nendstream");
}

/* (c): objects 1-3, 6 (holding 5) and the xref stream 4 covering 0-6. */
static size_t with_stream(gen *g, const int w[3], coding c, bool index) {
    gen_init(g);
    base_objects(g);
    objstm(g);
    size_t x = g->b.len;
    row rows[7] = {{0, 0, 0}, {1, g->off[1], 0}, {1, g->off[2], 0}, {1, g->off[3], 0},
                   {1, x, 0}, {2, 6, 0},         {1, g->off[6], 0}};
    if (index) {
        /* /Index [0 2 3 4]: objects 0 1, then 3 4 5 6; object 2 is not in this section. */
        row sub[6] = {rows[0], rows[1], rows[3], rows[4], rows[5], rows[6]};
        xref_stream(g, 4, sub, 6, w, c, "/Size 7/Index[0 2 3 4]/Root 1 0 R");
    } else {
        xref_stream(g, 4, rows, 7, w, c, "/Size 7/Root 1 0 R");
    }
    tail(g, x);
    return x;
}

/* ------------------------------------------------------------------------------------------ */
/* reading */

/* Reads from an exactly sized heap copy, so that ASan sees any read past the end. */
static pdf_err read_exact(pdf_xref **x, const uint8_t *data, size_t len, bool check,
                          pdf_err *check_err) {
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return PDF_E_NOMEM;
    if (len)
        memcpy(copy, data, len);
    pdf_err err = pdf_xref_read(x, copy, len);
    if (err != PDF_OK)
        CHECK(*x == NULL);
    if (err == PDF_OK && check)
        *check_err = pdf_xref_check_offsets(*x, copy, len);
    free(copy);
    return err;
}

static pdf_err read_g(const gen *g) {
    pdf_xref *x = NULL;
    pdf_err err = read_exact(&x, g->b.data, g->b.len, false, NULL);
    pdf_xref_free(x);
    return err;
}

static pdf_err check_g(const gen *g) {
    pdf_xref *x = NULL;
    pdf_err cerr = PDF_E_ARG;
    pdf_err err = read_exact(&x, g->b.data, g->b.len, true, &cerr);
    pdf_xref_free(x);
    return err != PDF_OK ? err : cerr;
}

static bool entry_is(const pdf_xref_entry *e, uint32_t num, uint8_t type, uint64_t f2,
                     uint32_t f3) {
    return e->num == num && e->type == type && e->field2 == f2 && e->field3 == f3;
}

static long long tr_int(const pdf_xref *x, const char *key) {
    pdf_val *v = pdf_xref_trailer_get(x, key);
    return v && v->t == PV_INT ? v->u.i : -1;
}

/* ------------------------------------------------------------------------------------------ */
/* (a) and (b) */

static void test_classic(void) {
    gen g;
    size_t xo = classic(&g);
    pdf_xref *x = NULL;
    CHECK_INT(pdf_xref_read(&x, g.b.data, g.b.len), PDF_OK);
    CHECK(x != NULL);
    if (x) {
        CHECK_INT(x->startxref, xo);
        CHECK_INT(x->n_sections, 1);
        const pdf_xref_section *s = &x->sections[0];
        CHECK_INT(s->kind, PDF_XREF_TABLE);
        CHECK_INT(s->offset, xo);
        CHECK(!s->hybrid);
        CHECK_INT(s->n_entries, 4);
        if (s->n_entries == 4) {
            CHECK(entry_is(&s->entries[0], 0, 0, 0, 65535));
            for (uint32_t n = 1; n <= 3; n++)
                CHECK(entry_is(&s->entries[n], n, 1, g.off[n], 0));
        }
        CHECK_INT(tr_int(x, "Size"), 4);
        pdf_val *root = pdf_xref_trailer_get(x, "Root");
        CHECK(root && root->t == PV_REF && root->u.ref.num == 1 && root->u.ref.gen == 0);
        pdf_val *id = pdf_xref_trailer_get(x, "ID");
        CHECK(id && id->t == PV_ARRAY && id->u.arr.n == 2);
        CHECK(pdf_xref_trailer_get(x, "Prev") == NULL);
        CHECK(s->trailer && s->trailer->t == PV_DICT);
        CHECK_INT(pdf_xref_check_offsets(x, g.b.data, g.b.len), PDF_OK);
        pdf_xref_free(x);
    }

    /* Forms producers write: 19-byte entries (space + LF), a trailing space after a subsection
     * header, a CR before "xref", several subsections, a comment, trailing bytes after %%EOF. */
    buf_free(&g.b);
    gen_init(&g);
    base_objects(&g);
    buf_puts(&g.b, "\r");
    xo = g.b.len;
    buf_printf(&g.b,
               "xref\n0 1 \n0000000000 65535 f \n1 1\n%010zu 00000 n \n"
               "2 2\r\n%010zu 00000 n\r\n%010zu 00000 n\r\n",
               g.off[1], g.off[2], g.off[3]);
    buf_printf(&g.b, "trailer %% comment\n<</Size 4/Root 1 0 R>>\nstartxref\n%zu\n%%%%EOF\r\n\n",
               xo);
    x = NULL;
    CHECK_INT(pdf_xref_read(&x, g.b.data, g.b.len), PDF_OK);
    if (x) {
        CHECK_INT(x->sections[0].n_entries, 4);
        if (x->sections[0].n_entries == 4)
            CHECK(entry_is(&x->sections[0].entries[3], 3, 1, g.off[3], 0));
        CHECK_INT(x->sections[0].offset, xo);
        CHECK_INT(pdf_xref_check_offsets(x, g.b.data, g.b.len), PDF_OK);
        pdf_xref_free(x);
    }
    /* An empty section (an incremental save that changed nothing, as in the corpus's V04). */
    buf_free(&g.b);
    size_t x1 = classic(&g);
    size_t x2 = g.b.len;
    buf_printf(&g.b, "xref\n0 0\ntrailer\n<</Size 4/Root 1 0 R/Prev %zu>>\n", x1);
    tail(&g, x2);
    x = NULL;
    CHECK_INT(pdf_xref_read(&x, g.b.data, g.b.len), PDF_OK);
    if (x) {
        CHECK_INT(x->n_sections, 2);
        CHECK_INT(x->sections[0].n_entries, 0);
        CHECK_INT(x->sections[1].n_entries, 4);
        CHECK_INT(pdf_xref_check_offsets(x, g.b.data, g.b.len), PDF_OK);
        pdf_xref_free(x);
    }
    buf_free(&g.b);
}

static void test_incremental(void) {
    gen g;
    size_t x1 = classic(&g);
    size_t old2 = g.off[2];
    size_t x2 = update(&g, x1, NULL);
    pdf_xref *x = NULL;
    CHECK_INT(pdf_xref_read(&x, g.b.data, g.b.len), PDF_OK);
    if (x) {
        CHECK_INT(x->startxref, x2);
        CHECK_INT(x->n_sections, 2);
        if (x->n_sections == 2) {
            const pdf_xref_section *s0 = &x->sections[0], *s1 = &x->sections[1];
            CHECK_INT(s0->kind, PDF_XREF_TABLE);
            CHECK_INT(s1->kind, PDF_XREF_TABLE);
            CHECK_INT(s0->offset, x2); /* newest first */
            CHECK_INT(s1->offset, x1);
            CHECK_INT(s0->n_entries, 3);
            if (s0->n_entries == 3) {
                CHECK(entry_is(&s0->entries[0], 0, 0, 0, 65535));
                CHECK(entry_is(&s0->entries[1], 2, 1, g.off[2], 0));
                CHECK(entry_is(&s0->entries[2], 4, 1, g.off[4], 0));
            }
            CHECK_INT(s1->n_entries, 4);
            if (s1->n_entries == 4)
                CHECK(entry_is(&s1->entries[2], 2, 1, old2, 0));
            long long prev = 0;
            CHECK(pv_dict_get_int(s0->trailer, "Prev", &prev) && prev == (long long)x1);
            CHECK(!pv_dict_get_int(s1->trailer, "Prev", &prev));
            long long size = 0;
            CHECK(pv_dict_get_int(s1->trailer, "Size", &size) && size == 4);
        }
        /* The trailer is the newest one. */
        CHECK_INT(tr_int(x, "Size"), 5);
        CHECK_INT(tr_int(x, "Prev"), x1);
        CHECK_INT(pdf_xref_check_offsets(x, g.b.data, g.b.len), PDF_OK);
        pdf_xref_free(x);
    }
    buf_free(&g.b);

    /* The newest entry of an object is the one checked: a wrong offset for object 2 in the old
     * section is harmless once the update points at the new object 2... */
    gen_init(&g);
    base_objects(&g);
    size_t wrong[MAXOBJ];
    memcpy(wrong, g.off, sizeof wrong);
    wrong[2] += 7;
    x1 = g.b.len;
    buf_puts(&g.b, "xref\n");
    table_sub(&g, 0, 4, wrong);
    buf_puts(&g.b, "trailer\n<</Size 4/Root 1 0 R>>\n");
    tail(&g, x1);
    CHECK_INT(check_g(&g), PDF_E_XREF); /* alone, the old section is wrong */
    update(&g, x1, NULL);
    CHECK_INT(check_g(&g), PDF_OK);
    buf_free(&g.b);
    /* ...and a wrong offset in the update is caught even when the old one was right. */
    x1 = classic(&g);
    obj(&g, 2, "<</Type/Pages/Kids[3 0 R]/Count 1>>");
    obj(&g, 4, "(added)");
    memcpy(wrong, g.off, sizeof wrong);
    wrong[4] += 7;
    size_t x3 = g.b.len;
    buf_puts(&g.b, "xref\n");
    table_sub(&g, 0, 1, wrong);
    table_sub(&g, 2, 1, wrong);
    table_sub(&g, 4, 1, wrong);
    buf_printf(&g.b, "trailer\n<</Size 5/Root 1 0 R/Prev %zu>>\n", x1);
    tail(&g, x3);
    x = NULL;
    CHECK_INT(pdf_xref_read(&x, g.b.data, g.b.len), PDF_OK);
    if (x) {
        CHECK_INT(pdf_xref_check_offsets(x, g.b.data, g.b.len), PDF_E_XREF);
        CHECK(strstr(pdf_errdetail(), "object 4 ") != NULL);
        pdf_xref_free(x);
    }
    buf_free(&g.b);

    /* PDF_MAX_XREF_SECTIONS sections chained by /Prev read; one more is PDF_E_LIMIT. */
    for (int extra = 0; extra <= 1; extra++) {
        gen_init(&g);
        size_t prev = 0;
        for (int k = 0; k < PDF_MAX_XREF_SECTIONS + extra; k++) {
            size_t at = g.b.len;
            if (k == 0)
                buf_puts(&g.b, "xref\ntrailer\n<</Size 1>>\n");
            else
                buf_printf(&g.b, "xref\ntrailer\n<</Size 1/Prev %zu>>\n", prev);
            prev = at;
        }
        tail(&g, prev);
        x = NULL;
        CHECK_INT(pdf_xref_read(&x, g.b.data, g.b.len), extra ? PDF_E_LIMIT : PDF_OK);
        if (x)
            CHECK_INT(x->n_sections, PDF_MAX_XREF_SECTIONS);
        pdf_xref_free(x);
        buf_free(&g.b);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* (c) and (d) */

static void check_stream_file(const gen *g, size_t xo, bool index) {
    pdf_xref *x = NULL;
    CHECK_INT(pdf_xref_read(&x, g->b.data, g->b.len), PDF_OK);
    if (!x)
        return;
    CHECK_INT(x->startxref, xo);
    CHECK_INT(x->n_sections, 1);
    const pdf_xref_section *s = &x->sections[0];
    CHECK_INT(s->kind, PDF_XREF_STREAM);
    CHECK_INT(s->offset, xo);
    CHECK_INT(s->stream_num, 4);
    CHECK(!s->hybrid);
    CHECK(pv_is_name(pv_dict_get(s->trailer, "Type"), "XRef"));
    CHECK_INT(tr_int(x, "Size"), 7);
    pdf_val *root = pdf_xref_trailer_get(x, "Root");
    CHECK(root && root->t == PV_REF && root->u.ref.num == 1);
    if (index) {
        CHECK_INT(s->n_entries, 6);
        if (s->n_entries == 6) {
            CHECK(entry_is(&s->entries[0], 0, 0, 0, 0));
            CHECK(entry_is(&s->entries[1], 1, 1, g->off[1], 0));
            CHECK(entry_is(&s->entries[2], 3, 1, g->off[3], 0));
            CHECK(entry_is(&s->entries[3], 4, 1, xo, 0));
            CHECK(entry_is(&s->entries[4], 5, 2, 6, 0));
            CHECK(entry_is(&s->entries[5], 6, 1, g->off[6], 0));
        }
    } else {
        CHECK_INT(s->n_entries, 7);
        if (s->n_entries == 7) {
            CHECK(entry_is(&s->entries[0], 0, 0, 0, 0));
            for (uint32_t n = 1; n <= 3; n++)
                CHECK(entry_is(&s->entries[n], n, 1, g->off[n], 0));
            CHECK(entry_is(&s->entries[4], 4, 1, xo, 0));
            CHECK(entry_is(&s->entries[5], 5, 2, 6, 0));
            CHECK(entry_is(&s->entries[6], 6, 1, g->off[6], 0));
        }
    }
    CHECK_INT(pdf_xref_check_offsets(x, g->b.data, g->b.len), PDF_OK);
    pdf_xref_free(x);
}

static void test_stream(void) {
    static const int w121[3] = {1, 2, 1}, w132[3] = {1, 3, 2}, w181[3] = {1, 8, 1};
    const coding codings[] = {RAW, FLATE, FLATE_PNG};
    for (size_t c = 0; c < 3; c++) {
        for (int index = 0; index <= 1; index++) {
            gen g;
            size_t xo = with_stream(&g, w121, codings[c], index);
            check_stream_file(&g, xo, index);
            buf_free(&g.b);
            xo = with_stream(&g, w132, codings[c], index);
            check_stream_file(&g, xo, index);
            buf_free(&g.b);
            xo = with_stream(&g, w181, codings[c], index);
            check_stream_file(&g, xo, index);
            buf_free(&g.b);
        }
    }

    /* Multi-byte fields are big-endian; the third field of a free entry is its generation. */
    gen g;
    gen_init(&g);
    base_objects(&g);
    size_t xo = g.b.len;
    static const int w[3] = {1, 3, 2};
    row rows[5] = {{0, 0, 0x0102}, {1, g.off[1], 0}, {1, g.off[2], 0}, {1, g.off[3], 0}, {1, 0, 0}};
    rows[4].f2 = xo;
    xref_stream(&g, 4, rows, 5, w, FLATE_PNG, "/Size 5/Root 1 0 R");
    tail(&g, xo);
    pdf_xref *x = NULL;
    CHECK_INT(pdf_xref_read(&x, g.b.data, g.b.len), PDF_OK);
    if (x) {
        CHECK(x->sections[0].n_entries == 5 &&
              entry_is(&x->sections[0].entries[0], 0, 0, 0, 0x0102));
        pdf_xref_free(x);
    }

    /* Without a type field (/W [0 2 1]) every entry is type 1 (7.5.8.3). */
    buf_free(&g.b);
    gen_init(&g);
    base_objects(&g);
    xo = g.b.len;
    static const int w021[3] = {0, 2, 1};
    row t1[4] = {{0, g.off[1], 0}, {0, g.off[2], 0}, {0, g.off[3], 0}, {0, 0, 0}};
    t1[3].f2 = xo;
    xref_stream(&g, 4, t1, 4, w021, RAW, "/Size 5/Index[1 4]/Root 1 0 R");
    tail(&g, xo);
    x = NULL;
    CHECK_INT(pdf_xref_read(&x, g.b.data, g.b.len), PDF_OK);
    if (x) {
        CHECK_INT(x->sections[0].n_entries, 4);
        for (uint32_t i = 0; i < x->sections[0].n_entries && i < 4; i++)
            CHECK(entry_is(&x->sections[0].entries[i], i + 1, 1, i < 3 ? g.off[i + 1] : xo, 0));
        CHECK_INT(pdf_xref_check_offsets(x, g.b.data, g.b.len), PDF_OK);
        pdf_xref_free(x);
    }
    /* An update as a second stream with /Prev: two stream sections, newest first. */
    obj(&g, 2, "<</Type/Pages/Kids[3 0 R]/Count 1/Changed true>>");
    size_t xo2 = g.b.len;
    row upd[2] = {{1, g.off[2], 0}, {1, xo2, 0}};
    char extra[96];
    snprintf(extra, sizeof extra, "/Size 8/Index[2 1 7 1]/Prev %zu/Root 1 0 R", xo);
    xref_stream(&g, 7, upd, 2, w121, FLATE, extra);
    tail(&g, xo2);
    x = NULL;
    CHECK_INT(pdf_xref_read(&x, g.b.data, g.b.len), PDF_OK);
    if (x) {
        CHECK_INT(x->n_sections, 2);
        if (x->n_sections == 2) {
            CHECK_INT(x->sections[0].kind, PDF_XREF_STREAM);
            CHECK_INT(x->sections[0].stream_num, 7);
            CHECK_INT(x->sections[0].offset, xo2);
            CHECK_INT(x->sections[1].stream_num, 4);
            CHECK_INT(x->sections[1].offset, xo);
            CHECK(x->sections[0].n_entries == 2 &&
                  entry_is(&x->sections[0].entries[0], 2, 1, g.off[2], 0) &&
                  entry_is(&x->sections[0].entries[1], 7, 1, xo2, 0));
        }
        CHECK_INT(tr_int(x, "Size"), 8);
        CHECK_INT(pdf_xref_check_offsets(x, g.b.data, g.b.len), PDF_OK);
        pdf_xref_free(x);
    }
    /* A classic-table update on top of a stream file (mixed chain). */
    obj(&g, 3, "<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>");
    size_t xo3 = g.b.len;
    buf_puts(&g.b, "xref\n");
    table_sub(&g, 3, 1, g.off);
    buf_printf(&g.b, "trailer\n<</Size 8/Root 1 0 R/Prev %zu>>\n", xo2);
    tail(&g, xo3);
    x = NULL;
    CHECK_INT(pdf_xref_read(&x, g.b.data, g.b.len), PDF_OK);
    if (x) {
        CHECK_INT(x->n_sections, 3);
        if (x->n_sections == 3) {
            CHECK_INT(x->sections[0].kind, PDF_XREF_TABLE);
            CHECK_INT(x->sections[1].kind, PDF_XREF_STREAM);
            CHECK_INT(x->sections[2].kind, PDF_XREF_STREAM);
        }
        CHECK_INT(pdf_xref_check_offsets(x, g.b.data, g.b.len), PDF_OK);
        pdf_xref_free(x);
    }
    buf_free(&g.b);
}

/* (d) objects 1-3 and 6 (holding 5) in a table; the stream 7 adds object 5 as compressed. */
static size_t hybrid(gen *g, size_t *stm_at, bool shift_stream, const char *xrefstm) {
    gen_init(g);
    base_objects(g);
    objstm(g);
    size_t so = g->b.len;
    row rows[1] = {{2, 6, 0}};
    static const int w[3] = {1, 2, 1};
    xref_stream(g, 7, rows, 1, w, FLATE, "/Size 8/Index[5 1]");
    size_t offs[MAXOBJ];
    memcpy(offs, g->off, sizeof offs);
    if (shift_stream)
        offs[7] += 7;
    size_t xo = g->b.len;
    buf_puts(&g->b, "xref\n");
    table_sub(g, 0, 4, offs);
    buf_puts(&g->b, "5 1\n0000000000 00001 f\r\n"); /* in the object stream: free here */
    table_sub(g, 6, 2, offs);
    if (xrefstm)
        buf_printf(&g->b, "trailer\n<</Size 8/Root 1 0 R/XRefStm %s>>\n", xrefstm);
    else
        buf_printf(&g->b, "trailer\n<</Size 8/Root 1 0 R/XRefStm %zu>>\n", so);
    tail(g, xo);
    *stm_at = so;
    return xo;
}

static void test_hybrid(void) {
    gen g;
    size_t so, xo = hybrid(&g, &so, false, NULL);
    pdf_xref *x = NULL;
    CHECK_INT(pdf_xref_read(&x, g.b.data, g.b.len), PDF_OK);
    if (x) {
        CHECK_INT(x->startxref, xo);
        CHECK_INT(x->n_sections, 1);
        const pdf_xref_section *s = &x->sections[0];
        CHECK_INT(s->kind, PDF_XREF_TABLE);
        CHECK_INT(s->offset, xo);
        CHECK(s->hybrid);
        CHECK_INT(tr_int(x, "XRefStm"), so);
        CHECK_INT(tr_int(x, "Size"), 8);
        /* The table's seven entries (0-3, 5-7), then the stream's one. */
        CHECK_INT(s->n_entries, 8);
        if (s->n_entries == 8) {
            CHECK(entry_is(&s->entries[4], 5, 0, 0, 1));
            CHECK(entry_is(&s->entries[6], 7, 1, so, 0));
            CHECK(entry_is(&s->entries[7], 5, 2, 6, 0));
        }
        bool found = false;
        for (size_t i = 0; i < s->n_entries; i++)
            found |= entry_is(&s->entries[i], 5, 2, 6, 0);
        CHECK(found);
        CHECK_INT(pdf_xref_check_offsets(x, g.b.data, g.b.len), PDF_OK);
        pdf_xref_free(x);
    }
    buf_free(&g.b);
    /* The stream's own table entry shifted: check_offsets names object 7. */
    hybrid(&g, &so, true, NULL);
    x = NULL;
    CHECK_INT(pdf_xref_read(&x, g.b.data, g.b.len), PDF_OK);
    if (x) {
        CHECK_INT(pdf_xref_check_offsets(x, g.b.data, g.b.len), PDF_E_XREF);
        CHECK(strstr(pdf_errdetail(), "object 7 ") != NULL);
        pdf_xref_free(x);
    }
    buf_free(&g.b);
    /* /XRefStm outside the file, negative, or not at a cross-reference stream. */
    const char *bad[] = {"99999999", "-5", "0", "20"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hybrid(&g, &so, false, bad[i]);
        CHECK_INT(read_g(&g), PDF_E_XREF);
        buf_free(&g.b);
    }
    hybrid(&g, &so, false, "7 0 R"); /* not an integer: no hybrid at all */
    x = NULL;
    CHECK_INT(pdf_xref_read(&x, g.b.data, g.b.len), PDF_OK);
    CHECK(x && !x->sections[0].hybrid && x->sections[0].n_entries == 7);
    pdf_xref_free(x);
    buf_free(&g.b);
}

/* ------------------------------------------------------------------------------------------ */
/* errors */

static void test_trailer_errors(void) {
    gen g;
    size_t xo;
    char from[64], to[64];

    /* No startxref, no offset after it, no %%EOF. */
    classic(&g);
    CHECK(patch(&g, "startxref", "startxreX"));
    CHECK_INT(read_g(&g), PDF_E_TRUNCATED);
    buf_free(&g.b);
    classic(&g);
    g.b.len -= strlen("%%EOF\n");
    CHECK_INT(read_g(&g), PDF_E_TRUNCATED);
    g.b.len -= 2; /* cut inside the offset: still no %%EOF */
    CHECK_INT(read_g(&g), PDF_E_TRUNCATED);
    buf_free(&g.b);
    /* An update cut before its %%EOF: the earlier %%EOF does not count. */
    xo = classic(&g);
    update(&g, xo, NULL);
    g.b.len -= strlen("%%EOF\n");
    CHECK_INT(read_g(&g), PDF_E_TRUNCATED);
    buf_free(&g.b);
    gen_init(&g);
    buf_puts(&g.b, "startxref\nabc\n%%EOF\n");
    CHECK_INT(read_g(&g), PDF_E_TRUNCATED);
    buf_free(&g.b);
    CHECK_INT(pdf_xref_read(&(pdf_xref *){NULL}, (const uint8_t *)"", 0), PDF_E_TRUNCATED);
    CHECK_INT(pdf_xref_read(&(pdf_xref *){NULL}, (const uint8_t *)"%%EOF", 5), PDF_E_TRUNCATED);

    /* startxref past the end, or exactly at it. */
    gen_init(&g);
    buf_puts(&g.b, "startxref\n999999\n%%EOF\n");
    CHECK_INT(read_g(&g), PDF_E_XREF);
    buf_free(&g.b);
    gen_init(&g);
    size_t at = g.b.len + strlen("startxref\n") + 3 + strlen("\n%%EOF\n");
    buf_printf(&g.b, "startxref\n%03zu\n%%%%EOF\n", at);
    CHECK_INT(g.b.len, at);
    CHECK_INT(read_g(&g), PDF_E_XREF);
    buf_free(&g.b);
    /* startxref at an object that is neither a table nor a stream. */
    xo = classic(&g);
    snprintf(from, sizeof from, "startxref\n%zu", xo);
    snprintf(to, sizeof to, "startxref\n%0*zu", (int)(strlen(from) - 10), g.off[2]);
    CHECK(patch(&g, from, to));
    CHECK_INT(read_g(&g), PDF_E_XREF);
    buf_free(&g.b);

    /* /Prev to itself, a loop of two, outside the file, negative, at no section. */
    gen_init(&g);
    base_objects(&g);
    xo = g.b.len;
    buf_puts(&g.b, "xref\n");
    table_sub(&g, 0, 4, g.off);
    buf_printf(&g.b, "trailer\n<</Size 4/Root 1 0 R/Prev %zu>>\n", xo);
    tail(&g, xo);
    CHECK_INT(read_g(&g), PDF_E_XREF);
    buf_free(&g.b);

    gen_init(&g);
    base_objects(&g);
    size_t x1 = g.b.len;
    buf_puts(&g.b, "xref\n");
    table_sub(&g, 0, 4, g.off);
    buf_puts(&g.b, "trailer\n<</Size 4/Root 1 0 R/Prev 0000000000>>\n");
    tail(&g, x1);
    size_t x2 = update(&g, x1, NULL);
    snprintf(to, sizeof to, "/Prev %010zu", x2);
    CHECK(patch(&g, "/Prev 0000000000", to));
    CHECK_INT(read_g(&g), PDF_E_XREF);
    buf_free(&g.b);

    /* A loop whose /Prev points at the white space before "xref": the same section. */
    gen_init(&g);
    base_objects(&g);
    buf_puts(&g.b, "\n\n");
    size_t ws = g.b.len - 2;
    xo = g.b.len;
    buf_puts(&g.b, "xref\n");
    table_sub(&g, 0, 4, g.off);
    buf_printf(&g.b, "trailer\n<</Size 4/Root 1 0 R/Prev %zu>>\n", ws);
    tail(&g, ws);
    CHECK_INT(read_g(&g), PDF_E_XREF);
    CHECK(strstr(pdf_errdetail(), "loops") != NULL);
    buf_free(&g.b);

    const char *bad_prev[] = {"999999999", "-1", "-99999999"};
    for (size_t i = 0; i < sizeof bad_prev / sizeof bad_prev[0]; i++) {
        gen_init(&g);
        base_objects(&g);
        xo = g.b.len;
        buf_puts(&g.b, "xref\n");
        table_sub(&g, 0, 4, g.off);
        buf_printf(&g.b, "trailer\n<</Size 4/Root 1 0 R/Prev %s>>\n", bad_prev[i]);
        tail(&g, xo);
        CHECK_INT(read_g(&g), PDF_E_XREF);
        buf_free(&g.b);
    }
    classic(&g);
    update(&g, g.off[3], NULL); /* /Prev at object 3 */
    CHECK_INT(read_g(&g), PDF_E_XREF);
    buf_free(&g.b);
}

static void test_table_errors(void) {
    /* Each replaces the table of file (a); all must fail with PDF_E_XREF. */
    const char *tables[] = {
        "xref\n0 4000000\n0000000000 65535 f\r\n", /* more entries than the file could hold */
        "xref\n8388607 2\n0000000000 65535 f\r\n0000000000 65535 f\r\n", /* past 8388607 */
        "xref\n99999999999 1\n0000000000 65535 f\r\n",
        "xref\n0 2\n0000000000 65535 f\r\n0000000015 00000 x\r\n", /* neither n nor f */
        "xref\n0 2\n0000000000 65535 f\r\n0000000015\r\n",
        "xref\n0 3\n0000000000 65535 f\r\n0000000015 00000 n\r\n", /* fewer than announced */
        "xref\n0\n0000000000 65535 f\r\n",                         /* no count */
        "xref\nzero one\n",
        "xref\n0 1\n0000000000 65535 f\r\n", /* then no "trailer": see below */
    };
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        gen g;
        gen_init(&g);
        base_objects(&g);
        size_t xo = g.b.len;
        buf_puts(&g.b, tables[i]);
        if (i + 1 < sizeof tables / sizeof tables[0])
            buf_puts(&g.b, "trailer\n<</Size 4/Root 1 0 R>>\n");
        else
            buf_puts(&g.b, "<</Size 4/Root 1 0 R>>\n");
        tail(&g, xo);
        pdf_err err = read_g(&g);
        if (err != PDF_E_XREF)
            fprintf(stderr, "table %zu: %d (%s)\n", i, err, pdf_errdetail());
        CHECK_INT(err, PDF_E_XREF);
        buf_free(&g.b);
    }
    /* Trailers that are not dictionaries, or malformed. */
    const char *trailers[] = {"trailer\n[1 2]\n", "trailer\n<</Size 4/Root 1 0 R\n",
                              "trailer\n(x)\n", "trailer\n<</Size 4 5>>\n"};
    for (size_t i = 0; i < sizeof trailers / sizeof trailers[0]; i++) {
        gen g;
        gen_init(&g);
        base_objects(&g);
        size_t xo = g.b.len;
        buf_puts(&g.b, "xref\n");
        table_sub(&g, 0, 4, g.off);
        buf_puts(&g.b, trailers[i]);
        tail(&g, xo);
        CHECK_INT(read_g(&g), PDF_E_XREF);
        buf_free(&g.b);
    }
}

/* An xref stream file like with_stream (W [1 2 1], raw), with dict as its dictionary's extra
 * keys (it gets /Type /XRef, /W, /Length and /Size 7 unless dict overrides them first). */
static pdf_err stream_variant(const char *dict, const uint8_t *data, size_t n) {
    gen g;
    gen_init(&g);
    base_objects(&g);
    size_t x = g.b.len;
    buf_printf(&g.b, "4 0 obj\n%s\nstream\n", dict);
    buf_append(&g.b, data, n);
    buf_puts(&g.b, "\nendstream\nendobj\n");
    tail(&g, x);
    pdf_err err = read_g(&g);
    buf_free(&g.b);
    return err;
}

static void test_stream_errors(void) {
    uint8_t rows[7 * 4];
    row r[7] = {{0, 0, 0}, {1, 9, 0}, {1, 9, 0}, {1, 9, 0}, {1, 9, 0}, {2, 6, 0}, {1, 9, 0}};
    static const int w[3] = {1, 2, 1};
    size_t n = put_rows(rows, r, 7, w);

    /* The baseline reads, so each failure below is due to its one change. */
    CHECK_INT(stream_variant("<</Type/XRef/Size 7/W[1 2 1]/Length 28>>", rows, n), PDF_OK);
    /* /W: a field of 9 bytes, two fields, negative, all zero, not integers, missing. */
    const char *bad[] = {
        "<</Type/XRef/Size 7/W[1 9 1]/Length 28>>",
        "<</Type/XRef/Size 7/W[9 2 1]/Length 28>>",
        "<</Type/XRef/Size 7/W[1 2]/Length 28>>",
        "<</Type/XRef/Size 7/W[1 2 1 1]/Length 28>>",
        "<</Type/XRef/Size 7/W[-1 2 1]/Length 28>>",
        "<</Type/XRef/Size 7/W[0 0 0]/Length 28>>",
        "<</Type/XRef/Size 7/W[1 2.0 1]/Length 28>>",
        "<</Type/XRef/Size 7/W 4/Length 28>>",
        "<</Type/XRef/Size 7/Length 28>>",
        /* /Index past what the data holds, negative, beyond the largest object number */
        "<</Type/XRef/Size 7/W[1 2 1]/Index[0 8]/Length 28>>",
        "<</Type/XRef/Size 7/W[1 2 1]/Index[0 3 10 5]/Length 28>>",
        "<</Type/XRef/Size 7/W[1 2 1]/Index[-1 7]/Length 28>>",
        "<</Type/XRef/Size 7/W[1 2 1]/Index[0 -7]/Length 28>>",
        /* /Index beyond /Size (ISO 32000-2 7.5.8.2) */
        "<</Type/XRef/Size 3/W[1 2 1]/Index[0 1 10 6]/Length 28>>",
        "<</Type/XRef/Size 7/W[1 2 1]/Index[8388607 2]/Length 28>>",
        "<</Type/XRef/Size 7/W[1 2 1]/Index[(0) 7]/Length 28>>",
        /* /Size missing, negative, more than 8388608 objects; /Size too big for the data */
        "<</Type/XRef/W[1 2 1]/Length 28>>",
        "<</Type/XRef/Size -1/W[1 2 1]/Length 28>>",
        "<</Type/XRef/Size 8388609/W[1 2 1]/Length 28>>",
        "<</Type/XRef/Size 8/W[1 2 1]/Length 28>>",
        /* /Length missing, indirect, negative, past the end of the file */
        "<</Type/XRef/Size 7/W[1 2 1]>>",
        "<</Type/XRef/Size 7/W[1 2 1]/Length 9 0 R>>",
        "<</Type/XRef/Size 7/W[1 2 1]/Length -28>>",
        "<</Type/XRef/Size 7/W[1 2 1]/Length 99999>>",
        /* not a cross-reference stream */
        "<</Type/XRefs/Size 7/W[1 2 1]/Length 28>>",
        "<</Size 7/W[1 2 1]/Length 28>>",
        "[/Type/XRef/Size 7/W[1 2 1]/Length 28]",
        /* filters: one we do not read, and Flate over bytes that are not Flate */
        "<</Type/XRef/Size 7/W[1 2 1]/Length 28/Filter/LZWDecode>>",
        "<</Type/XRef/Size 7/W[1 2 1]/Length 28/Filter/FlateDecode>>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pdf_err err = stream_variant(bad[i], rows, n);
        if (err != PDF_E_XREF)
            fprintf(stderr, "%s: %d (%s)\n", bad[i], err, pdf_errdetail());
        CHECK_INT(err, PDF_E_XREF);
    }
    /* A PNG row with an unknown filter type (5). */
    uint8_t pred[7 * 5], z[256];
    for (size_t i = 0; i < 7; i++) {
        pred[i * 5] = i == 3 ? 5 : 0;
        memcpy(pred + i * 5 + 1, rows + i * 4, 4);
    }
    uLongf zl = sizeof z;
    CHECK_INT(compress2(z, &zl, pred, sizeof pred, 9), Z_OK);
    char dict[160];
    snprintf(dict, sizeof dict,
             "<</Type/XRef/Size 7/W[1 2 1]/Length %lu/Filter/FlateDecode"
             "/DecodeParms<</Predictor 12/Columns 4>>>>",
             (unsigned long)zl);
    CHECK_INT(stream_variant(dict, z, zl), PDF_E_XREF);
    pred[3 * 5] = 2;
    zl = sizeof z;
    CHECK_INT(compress2(z, &zl, pred, sizeof pred, 9), Z_OK);
    snprintf(dict, sizeof dict,
             "<</Type/XRef/Size 7/W[1 2 1]/Length %lu/Filter/FlateDecode"
             "/DecodeParms<</Predictor 12/Columns 4>>>>",
             (unsigned long)zl);
    CHECK_INT(stream_variant(dict, z, zl), PDF_OK);
    /* "obk" where "obj" belongs: not an object header at startxref. */
    gen g;
    gen_init(&g);
    base_objects(&g);
    size_t x = g.b.len;
    buf_puts(&g.b, "4 0 obk\n<</Type/XRef/Size 0/W[1 2 1]/Length 0>>\nstream\n\nendstream\n");
    tail(&g, x);
    CHECK_INT(read_g(&g), PDF_E_XREF);
    buf_free(&g.b);
}

/* pdf_flate_decode, which the stream reader uses. */
static void test_flate(void) {
    arena a;
    arena_init(&a, 1 << 20);
    uint8_t plain[600], z[1024];
    for (size_t i = 0; i < sizeof plain; i++)
        plain[i] = (uint8_t)(i * 7 + i / 13);
    uLongf zl = sizeof z;
    CHECK_INT(compress2(z, &zl, plain, sizeof plain, 9), Z_OK);

    pdf_val *d = pv_dict(&a);
    buf out;
    buf_init(&out, 1 << 20);
    CHECK_INT(pdf_flate_decode(&out, d, plain, 10, 100), PDF_OK); /* no filter: a copy */
    CHECK(out.len == 10 && memcmp(out.data, plain, 10) == 0);
    buf_reset(&out);
    pv_dict_set(&a, d, "Filter", pv_name(&a, "FlateDecode"));
    CHECK_INT(pdf_flate_decode(&out, d, z, zl, 1000), PDF_OK);
    CHECK(out.len == sizeof plain && memcmp(out.data, plain, sizeof plain) == 0);
    /* The limit: decoding more than max is PDF_E_LIMIT. */
    buf_reset(&out);
    CHECK_INT(pdf_flate_decode(&out, d, z, zl, sizeof plain - 1), PDF_E_LIMIT);
    buf_reset(&out);
    CHECK_INT(pdf_flate_decode(&out, d, z, zl, sizeof plain), PDF_OK);
    CHECK_INT(out.len, sizeof plain);
    /* [/FlateDecode] with [<<parms>>]: TIFF predictor 2, 3 colours of 8 bits, 2 columns. */
    uint8_t tiff[12] = {10, 20, 30, 1, 2, 3, 200, 100, 50, 60, 160, 210}, enc[12];
    for (size_t r = 0; r < 2; r++)
        for (size_t i = 0; i < 6; i++)
            enc[r * 6 + i] = (uint8_t)(tiff[r * 6 + i] - (i >= 3 ? tiff[r * 6 + i - 3] : 0));
    zl = sizeof z;
    CHECK_INT(compress2(z, &zl, enc, sizeof enc, 9), Z_OK);
    pdf_val *f = pv_array(&a), *parr = pv_array(&a), *parms = pv_dict(&a);
    pv_array_push(&a, f, pv_name(&a, "FlateDecode"));
    pv_dict_set(&a, parms, "Predictor", pv_int(&a, 2));
    pv_dict_set(&a, parms, "Colors", pv_int(&a, 3));
    pv_dict_set(&a, parms, "Columns", pv_int(&a, 2));
    pv_array_push(&a, parr, parms);
    pdf_val *d2 = pv_dict(&a);
    pv_dict_set(&a, d2, "Filter", f);
    pv_dict_set(&a, d2, "DecodeParms", parr);
    buf_reset(&out);
    CHECK_INT(pdf_flate_decode(&out, d2, z, zl, 1000), PDF_OK);
    CHECK(out.len == sizeof tiff && memcmp(out.data, tiff, sizeof tiff) == 0);
    /* Other filters are PDF_E_ARG; corrupt data PDF_E_SYNTAX. */
    pdf_val *d3 = pv_dict(&a);
    pv_dict_set(&a, d3, "Filter", pv_name(&a, "DCTDecode"));
    buf_reset(&out);
    CHECK_INT(pdf_flate_decode(&out, d3, z, zl, 1000), PDF_E_ARG);
    buf_reset(&out);
    CHECK_INT(pdf_flate_decode(&out, d, plain, sizeof plain, 1000), PDF_E_SYNTAX);
    /* Predictor rows declared far longer than the data (32 colours of 16 bits, 2^24 columns,
     * a row of 1 GiB) over a few bytes: refused before anything of that size is allocated. */
    zl = sizeof z;
    CHECK_INT(compress2(z, &zl, enc, sizeof enc, 9), Z_OK);
    pdf_val *huge = pv_dict(&a), *hp = pv_dict(&a);
    pv_dict_set(&a, hp, "Predictor", pv_int(&a, 12));
    pv_dict_set(&a, hp, "Colors", pv_int(&a, 32));
    pv_dict_set(&a, hp, "BitsPerComponent", pv_int(&a, 16));
    pv_dict_set(&a, hp, "Columns", pv_int(&a, 1 << 24));
    pv_dict_set(&a, huge, "Filter", pv_name(&a, "FlateDecode"));
    pv_dict_set(&a, huge, "DecodeParms", hp);
    buf_reset(&out);
    CHECK_INT(pdf_flate_decode(&out, huge, z, zl, 1000), PDF_E_SYNTAX);
    buf_free(&out);
    arena_free(&a);
}

/* A hybrid file with a large table and a large /XRefStm merges in linear time: 16,000 table
 * entries and 1,600 stream entries read (a quadratic merge ran out of its arena here). */
static void test_hybrid_large(void) {
    enum { TABLE = 16000, STREAM = 1600 };
    buf b;
    buf_init(&b, (size_t)64 << 20);
    buf_puts(&b, "%PDF-1.5\n1 0 obj\n<</Type/Catalog>>\nendobj\n");
    /* the xref stream: STREAM compressed entries (type 2) for objects TABLE.. */
    size_t so = b.len;
    uint8_t *rows = malloc(STREAM * 4);
    for (unsigned i = 0; i < STREAM; i++) {
        rows[4 * i] = 2;
        rows[4 * i + 1] = 0;
        rows[4 * i + 2] = 1;
        rows[4 * i + 3] = (uint8_t)i;
    }
    buf_printf(&b, "%u 0 obj\n<</Type/XRef/Size %u/Index[%u %u]/W[1 2 1]/Length %u>>\nstream\n",
               TABLE + STREAM, TABLE + STREAM + 1, TABLE, STREAM, STREAM * 4);
    buf_append(&b, rows, STREAM * 4);
    buf_puts(&b, "\nendstream\nendobj\n");
    size_t xo = b.len;
    buf_printf(&b, "xref\n0 %u\n", TABLE);
    for (unsigned i = 0; i < TABLE; i++)
        buf_puts(&b, "0000000000 65535 f\r\n");
    buf_printf(&b, "trailer\n<</Size %u/Root 1 0 R/XRefStm %zu>>\nstartxref\n%zu\n%%%%EOF\n",
               TABLE + STREAM + 1, so, xo);
    pdf_xref *x = NULL;
    CHECK_INT(pdf_xref_read(&x, b.data, b.len), PDF_OK);
    if (x) {
        CHECK(x->sections[0].hybrid);
        CHECK_INT(x->sections[0].n_entries, TABLE + STREAM);
        pdf_xref_free(x);
    }
    free(rows);
    buf_free(&b);
}

/* ------------------------------------------------------------------------------------------ */
/* offsets */

static void test_check_offsets(void) {
    gen g;
    /* Every in-use offset shifted by +7 bytes, as in the corpus's p27. */
    gen_init(&g);
    base_objects(&g);
    size_t offs[MAXOBJ];
    for (size_t i = 0; i < MAXOBJ; i++)
        offs[i] = g.off[i] + 7;
    size_t xo = g.b.len;
    buf_puts(&g.b, "xref\n");
    table_sub(&g, 0, 4, offs);
    buf_puts(&g.b, "trailer\n<</Size 4/Root 1 0 R>>\n");
    tail(&g, xo);
    pdf_xref *x = NULL;
    CHECK_INT(pdf_xref_read(&x, g.b.data, g.b.len), PDF_OK); /* reading does not look */
    if (x) {
        CHECK_INT(pdf_xref_check_offsets(x, g.b.data, g.b.len), PDF_E_XREF);
        CHECK(strstr(pdf_errdetail(), "object 1 ") != NULL);
        pdf_xref_free(x);
    }
    buf_free(&g.b);

    /* Only object 3 wrong: named. Then an offset past the end, and a wrong generation. */
    gen_init(&g);
    base_objects(&g);
    memcpy(offs, g.off, sizeof offs);
    offs[3] = g.off[2];
    xo = g.b.len;
    buf_puts(&g.b, "xref\n");
    table_sub(&g, 0, 4, offs);
    buf_puts(&g.b, "trailer\n<</Size 4/Root 1 0 R>>\n");
    tail(&g, xo);
    x = NULL;
    CHECK_INT(pdf_xref_read(&x, g.b.data, g.b.len), PDF_OK);
    if (x) {
        CHECK_INT(pdf_xref_check_offsets(x, g.b.data, g.b.len), PDF_E_XREF);
        CHECK(strstr(pdf_errdetail(), "object 3 ") != NULL);
        x->sections[0].entries[3].field2 = g.b.len + 100;
        CHECK_INT(pdf_xref_check_offsets(x, g.b.data, g.b.len), PDF_E_XREF);
        x->sections[0].entries[3].field2 = g.b.len;
        CHECK_INT(pdf_xref_check_offsets(x, g.b.data, g.b.len), PDF_E_XREF);
        x->sections[0].entries[3].field2 = g.off[3];
        CHECK_INT(pdf_xref_check_offsets(x, g.b.data, g.b.len), PDF_OK);
        x->sections[0].entries[3].field3 = 1;
        CHECK_INT(pdf_xref_check_offsets(x, g.b.data, g.b.len), PDF_E_XREF);
        x->sections[0].entries[3].field3 = 0;
        /* Free and compressed entries are not checked, whatever they hold. */
        x->sections[0].entries[3].type = 0;
        x->sections[0].entries[3].field2 = 5;
        CHECK_INT(pdf_xref_check_offsets(x, g.b.data, g.b.len), PDF_OK);
        x->sections[0].entries[3].type = 2;
        CHECK_INT(pdf_xref_check_offsets(x, g.b.data, g.b.len), PDF_OK);
        pdf_xref_free(x);
    }
    buf_free(&g.b);
}

/* Every prefix of the built files, from exactly sized heap blocks: an error or a result, never
 * a read outside. */
static void test_prefixes(void) {
    gen files[4];
    size_t so;
    size_t xo = classic(&files[0]);
    update(&files[0], xo, NULL);
    static const int w[3] = {1, 2, 1};
    with_stream(&files[1], w, FLATE_PNG, true);
    with_stream(&files[2], w, RAW, false);
    hybrid(&files[3], &so, false, NULL);
    for (size_t f = 0; f < 4; f++) {
        const buf *b = &files[f].b;
        for (size_t k = 0; k <= b->len; k++) {
            pdf_xref *x = NULL;
            pdf_err cerr = PDF_OK;
            pdf_err err = read_exact(&x, b->data, k, true, &cerr);
            if (k == b->len)
                CHECK(err == PDF_OK && cerr == PDF_OK);
            if (err == PDF_OK)
                CHECK(x && x->n_sections >= 1 && x->startxref < k);
            pdf_xref_free(x);
        }
        buf_free(&files[f].b);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* the corpus */

static bool read_file(buf *out, const char *path) {
    FILE *f = fopen(path, "rb");
    bool ok = f != NULL;
    uint8_t chunk[65536];
    size_t n;
    while (ok && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ok = buf_append(out, chunk, n) == BUF_OK;
    if (f && ferror(f))
        ok = false;
    if (f)
        fclose(f);
    return ok;
}

typedef struct result {
    pdf_err read, check;
    char detail[256];
} result;

static bool run_file(result *r, const char *path) {
    buf b;
    buf_init(&b, FILE_MAX);
    bool ok = read_file(&b, path);
    if (ok) {
        pdf_xref *x = NULL;
        r->check = PDF_E_ARG;
        r->read = read_exact(&x, b.data, b.len, true, &r->check);
        snprintf(r->detail, sizeof r->detail, "%s", pdf_errdetail());
        if (r->read == PDF_OK)
            CHECK(x && x->n_sections >= 1 && x->startxref < b.len);
        pdf_xref_free(x);
    }
    buf_free(&b);
    return ok;
}

/* Files of dir/MANIFEST.tsv whose column col is value. */
static size_t manifest(char names[][128], size_t max, const char *dir, int col, const char *value) {
    char path[4096], line[8192];
    snprintf(path, sizeof path, "%s/MANIFEST.tsv", dir);
    FILE *f = fopen(path, "r");
    size_t n = 0;
    if (!f)
        return 0;
    while (n < max && fgets(line, sizeof line, f)) {
        char *save = NULL, *file = strtok_r(line, "\t\n", &save), *field = file;
        for (int c = 0; c < col && field; c++)
            field = strtok_r(NULL, "\t\n", &save);
        if (file && field && strcmp(field, value) == 0 && strlen(file) < 128)
            snprintf(names[n++], 128, "%s", file);
    }
    fclose(f);
    return n;
}

static void test_corpus(void) {
    const char *corpus = getenv("ESEAL_CORPUS");
    if (!corpus || !*corpus) {
        printf("test_pdf_xref: ESEAL_CORPUS not set, corpus checks skipped\n");
        return;
    }
    char dir[4096], path[8192];
    /* Every file: no crash, no read outside (under ASan), a result. */
    size_t files = 0;
    const char *subs[] = {"inputs", "attacks"};
    for (size_t s = 0; s < 2; s++) {
        snprintf(dir, sizeof dir, "%s/%s", corpus, subs[s]);
        DIR *d = opendir(dir);
        CHECK(d != NULL);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            size_t l = strlen(e->d_name);
            if (l < 4 || strcmp(e->d_name + l - 4, ".pdf") != 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            result r;
            CHECK(run_file(&r, path));
            files++;
        }
        if (d)
            closedir(d);
    }
    CHECK(files >= 50);

    /* The inputs a signer must accept have a sound cross-reference chain. */
    static char names[64][128];
    snprintf(dir, sizeof dir, "%s/inputs", corpus);
    size_t n = manifest(names, 64, dir, 4, "sign-ok");
    CHECK(n >= 20);
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        result r;
        CHECK(run_file(&r, path));
        if (r.read != PDF_OK || r.check != PDF_OK)
            fprintf(stderr, "%s: read %d check %d (%s)\n", names[i], r.read, r.check, r.detail);
        CHECK_INT(r.read, PDF_OK);
        CHECK_INT(r.check, PDF_OK);
    }
    /* p24 (empty), p25 (first 60%), p26 (a PNG): none has a startxref. */
    const char *truncated[] = {"p24_bad_zero_length.pdf", "p25_bad_truncated_60pct.pdf",
                               "p26_bad_png_renamed.pdf"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, truncated[i]);
        result r;
        CHECK(run_file(&r, path));
        CHECK_INT(r.read, PDF_E_TRUNCATED);
    }
    /* p27: the table reads, its offsets are 7 bytes off; object 1 is the first named. */
    snprintf(path, sizeof path, "%s/p27_bad_xref_offsets.pdf", dir);
    result r;
    CHECK(run_file(&r, path));
    CHECK_INT(r.read, PDF_OK);
    CHECK_INT(r.check, PDF_E_XREF);
    CHECK(strstr(r.detail, "object 1 ") != NULL);

    /* The attack corpus's valid files are sound too. */
    snprintf(dir, sizeof dir, "%s/attacks", corpus);
    n = manifest(names, 64, dir, 1, "valid");
    CHECK(n >= 10);
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        CHECK(run_file(&r, path));
        if (r.read != PDF_OK || r.check != PDF_OK)
            fprintf(stderr, "%s: read %d check %d (%s)\n", names[i], r.read, r.check, r.detail);
        CHECK_INT(r.read, PDF_OK);
        CHECK_INT(r.check, PDF_OK);
    }
}

int main(void) {
    test_hybrid_large();
    test_classic();
    test_incremental();
    test_stream();
    test_hybrid();
    test_trailer_errors();
    test_table_errors();
    test_stream_errors();
    test_flate();
    test_check_offsets();
    test_prefixes();
    test_corpus();
    return check_report("test_pdf_xref");
}
