/* Incremental updates (ISO 32000-2 7.5.6): new and changed objects appended after the last
 * %%EOF, with a cross-reference section of the kind the file already uses (a table, 7.5.4, or
 * a stream, 7.5.8) whose /Prev is the previous startxref. The file's own bytes are never
 * touched. */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "pdf/doc_internal.h"
#include "pdf/internal.h"
#include "pdf/lex.h"

/* Largest update we write: the new objects of one signing, images included. */
#define PDF_MAX_UPDATE_BYTES ((size_t)256 * 1024 * 1024)
#define PDF_MAX_UPDATE_OBJECTS 100000
#define PDF_MAX_ANNOTS 100000

typedef struct upd_obj {
    uint32_t num;
    uint16_t gen;
    pdf_val *val;
    bool is_stream;
    const uint8_t *data;
    size_t len;
} upd_obj;

struct pdf_update {
    pdf_doc *doc;
    arena a;
    upd_obj *objs;
    size_t n, cap;
    uint32_t next_num;
    void *form; /* see update_form_slot */
};

static pdf_err bufres(int rc) {
    return rc == BUF_OK ? PDF_OK : rc == BUF_ENOMEM ? PDF_E_NOMEM : PDF_E_LIMIT;
}

pdf_err pdf_update_begin(pdf_update **out, pdf_doc *doc) {
    pdf_update *u = calloc(1, sizeof *u);
    *out = NULL;
    if (!u)
        return PDF_E_NOMEM;
    u->doc = doc;
    arena_init(&u->a, PDF_MAX_UPDATE_BYTES);
    u->next_num = doc->next_num;
    *out = u;
    return PDF_OK;
}

void pdf_update_free(pdf_update *u) {
    if (u) {
        arena_free(&u->a);
        free(u->objs);
        free(u);
    }
}

void **update_form_slot(pdf_update *u) {
    return &u->form;
}

arena *pdf_update_arena(pdf_update *u) {
    return &u->a;
}

pdf_doc *pdf_update_doc(pdf_update *u) {
    return u->doc;
}

pdf_err pdf_update_new_object(uint32_t *num, pdf_update *u) {
    if (u->next_num >= PDF_MAX_OBJNUM)
        return pdf_fail(PDF_E_LIMIT, "object numbers exhausted");
    *num = u->next_num++;
    return PDF_OK;
}

static upd_obj *find(pdf_update *u, uint32_t num) {
    for (size_t i = 0; i < u->n; i++)
        if (u->objs[i].num == num)
            return &u->objs[i];
    return NULL;
}

static pdf_err slot(upd_obj **out, pdf_update *u, uint32_t num, uint16_t gen) {
    upd_obj *o = find(u, num);
    if (!o) {
        if (u->n == PDF_MAX_UPDATE_OBJECTS)
            return pdf_fail(PDF_E_LIMIT, "more than %d objects in one update",
                            PDF_MAX_UPDATE_OBJECTS);
        if (u->n == u->cap) {
            size_t ncap = u->cap ? u->cap * 2 : 16;
            upd_obj *p = realloc(u->objs, ncap * sizeof *p);
            if (!p)
                return PDF_E_NOMEM;
            u->objs = p;
            u->cap = ncap;
        }
        o = &u->objs[u->n++];
        memset(o, 0, sizeof *o);
        o->num = num;
    }
    o->gen = gen;
    *out = o;
    return PDF_OK;
}

pdf_err pdf_update_put(pdf_update *u, uint32_t num, uint16_t gen, pdf_val *val) {
    upd_obj *o = NULL;
    if (!val)
        return PDF_E_NOMEM;
    pdf_err err = slot(&o, u, num, gen);
    if (err == PDF_OK) {
        o->val = val;
        o->is_stream = false;
    }
    return err;
}

pdf_err pdf_update_put_stream(pdf_update *u, uint32_t num, pdf_val *dict, const uint8_t *data,
                              size_t len) {
    upd_obj *o = NULL;
    if (!dict)
        return PDF_E_NOMEM;
    if (dict->t != PV_DICT)
        return pdf_fail(PDF_E_ARG, "a stream needs a dictionary");
    pdf_err err = slot(&o, u, num, 0);
    if (err == PDF_OK) {
        o->val = dict;
        o->is_stream = true;
        o->data = data;
        o->len = len;
    }
    return err;
}

static pdf_err load(pdf_val **out, pdf_update *u, uint32_t num, uint16_t gen) {
    pdf_doc *doc = u->doc;
    qpdf_oh oh = qpdf_get_object_by_id(doc->q, (int)num, gen);
    pdf_err err = doc_qpdf_check(doc, "reading an object");
    if (err == PDF_OK)
        err = doc_oh_to_val(out, &u->a, doc, oh);
    qpdf_oh_release(doc->q, oh);
    return err;
}

pdf_err pdf_update_read(pdf_val **out, pdf_update *u, uint32_t num, uint16_t gen) {
    upd_obj *o = find(u, num);
    if (o) {
        *out = o->val;
        return PDF_OK;
    }
    return load(out, u, num, gen);
}

pdf_err pdf_update_edit(pdf_val **out, pdf_update *u, uint32_t num, uint16_t gen) {
    upd_obj *o = find(u, num);
    if (o) {
        if (o->is_stream)
            return pdf_fail(PDF_E_ARG, "object %u is a stream", num);
        *out = o->val;
        return PDF_OK;
    }
    qpdf_data q = u->doc->q;
    qpdf_oh oh = qpdf_get_object_by_id(q, (int)num, gen);
    bool stream = qpdf_oh_is_stream(q, oh);
    qpdf_oh_release(q, oh);
    if (stream)
        return pdf_fail(PDF_E_ARG, "object %u is a stream and cannot be edited here", num);
    pdf_val *v;
    pdf_err err = load(&v, u, num, gen);
    if (err == PDF_OK)
        err = pdf_update_put(u, num, gen, v);
    if (err == PDF_OK)
        *out = v;
    return err;
}

pdf_err pdf_update_catalog(uint32_t *num, uint16_t *gen, pdf_update *u) {
    *num = u->doc->root.num;
    *gen = u->doc->root.gen;
    return PDF_OK;
}

pdf_err pdf_update_page(uint32_t *num, uint16_t *gen, pdf_update *u, int index) {
    if (index < 0 || index >= u->doc->npages)
        return pdf_fail(PDF_E_NO_PAGE, "page %d does not exist (the document has %d)", index + 1,
                        u->doc->npages);
    *num = u->doc->pages[index].num;
    *gen = u->doc->pages[index].gen;
    return PDF_OK;
}

/* ISO 32000-2 7.7.3.3: /Annots is an array of annotations, in the page or referenced. */
pdf_err pdf_update_add_annot(pdf_update *u, int index, uint32_t annot) {
    uint32_t num = 0;
    uint16_t gen = 0;
    pdf_val *page, *arr = NULL;
    pdf_err err = pdf_update_page(&num, &gen, u, index);
    if (err == PDF_OK)
        err = pdf_update_edit(&page, u, num, gen);
    if (err != PDF_OK)
        return err;
    pdf_val *annots = pv_dict_get(page, "Annots");
    if (annots && annots->t == PV_REF) {
        pdf_val *target;
        err = pdf_update_read(&target, u, annots->u.ref.num, annots->u.ref.gen);
        if (err != PDF_OK)
            return err;
        if (target->t == PV_ARRAY) {
            err = pdf_update_edit(&arr, u, annots->u.ref.num, annots->u.ref.gen);
            if (err != PDF_OK)
                return err;
        } else {
            annots = NULL; /* not an array: the page had no usable /Annots */
        }
    } else {
        arr = annots;
    }
    if (!annots || (annots->t != PV_ARRAY && annots->t != PV_REF)) {
        arr = pv_array(&u->a);
        err = pv_dict_set(&u->a, page, "Annots", arr);
        if (err != PDF_OK)
            return err;
    }
    if (arr->u.arr.n >= PDF_MAX_ANNOTS)
        return pdf_fail(PDF_E_LIMIT, "page %d has more than %d annotations", index + 1,
                        PDF_MAX_ANNOTS);
    return pv_array_push(&u->a, arr, pv_ref(&u->a, annot, 0));
}

pdf_err pdf_update_add_annotation(uint32_t *num, pdf_update *u, int index, const char *subtype,
                                  const double rect[4], int flags, uint32_t appearance,
                                  const char *contents) {
    arena *a = &u->a;
    uint32_t pnum = 0;
    uint16_t pgen = 0;
    pdf_val *d = pv_dict(a), *ap = pv_dict(a);
    pdf_err err = pdf_update_page(&pnum, &pgen, u, index);
    if (err == PDF_OK)
        err = pdf_update_new_object(num, u);
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "Type", pv_name(a, "Annot"));
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "Subtype", pv_name(a, subtype));
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "Rect", pv_rect(a, rect));
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "F", pv_int(a, flags));
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "P", pv_ref(a, pnum, pgen));
    if (err == PDF_OK && contents) {
        pdf_val *t = pv_text(a, contents);
        err = t ? pv_dict_set(a, d, "Contents", t) : pdf_fail(PDF_E_ARG, "contents not UTF-8");
    }
    if (err == PDF_OK)
        err = pv_dict_set(a, ap, "N", pv_ref(a, appearance, 0));
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "AP", ap);
    if (err == PDF_OK)
        err = pdf_update_put(u, *num, 0, d);
    if (err == PDF_OK)
        err = pdf_update_add_annot(u, index, *num);
    return err;
}

/* ---- writing ---- */

typedef struct enc_ctx {
    const pdf_crypt *c;
    uint32_t num;
    uint16_t gen;
} enc_ctx;

static pdf_err encrypt_string(void *ctx, buf *out, const uint8_t *p, size_t n) {
    const enc_ctx *e = ctx;
    return pdf_crypt_encrypt(out, e->c, false, e->num, e->gen, p, n);
}

static int cmp_obj(const void *a, const void *b) {
    const upd_obj *x = a, *y = b;
    return x->num < y->num ? -1 : x->num > y->num;
}

typedef struct xentry {
    uint32_t num;
    uint16_t gen;
    size_t offset;
} xentry;

static pdf_err write_object(pdf_output *out, pdf_update *u, const upd_obj *o, xentry *xe,
                            pdf_sig_marks *marks, bool *has_marks) {
    pdf_doc *doc = u->doc;
    buf *t = &out->tail;
    enc_ctx ectx = {&doc->crypt, o->num, o->gen};
    pdf_string_encoder enc = {encrypt_string, &ectx};
    const pdf_string_encoder *encp = doc->encrypted ? &enc : NULL;
    pdf_sig_marks m = {0};
    buf sdata;
    buf_init(&sdata, PDF_MAX_UPDATE_BYTES);
    xe->num = o->num;
    xe->gen = o->gen;
    xe->offset = out->base_len + t->len;
    pdf_err err = bufres(buf_printf(t, "%u %u obj\n", o->num, (unsigned)o->gen));
    const uint8_t *data = o->data;
    size_t len = o->len;
    if (err == PDF_OK && o->is_stream && doc->encrypted) {
        err = pdf_crypt_encrypt(&sdata, &doc->crypt, true, o->num, o->gen, o->data, o->len);
        data = sdata.data;
        len = sdata.len;
    }
    if (err == PDF_OK && o->is_stream) {
        err = pv_dict_set(&u->a, o->val, "Length", pv_int(&u->a, (long long)len));
    }
    if (err == PDF_OK)
        err = pv_write(t, o->val, encp, &m);
    if (err == PDF_OK && o->is_stream) {
        err = bufres(buf_puts(t, "\nstream\n"));
        if (err == PDF_OK)
            err = bufres(buf_append(t, data, len));
        if (err == PDF_OK)
            err = bufres(buf_puts(t, "\nendstream"));
    }
    if (err == PDF_OK)
        err = bufres(buf_puts(t, "\nendobj\n"));
    if (err == PDF_OK && m.contents_len) {
        if (*has_marks || !m.byterange_len) {
            err = pdf_fail(PDF_E_ARG, "one signature per update, with both /ByteRange and "
                                      "/Contents");
        } else {
            *has_marks = true;
            /* pv_write reports offsets within the tail */
            marks->byterange_at = out->base_len + m.byterange_at;
            marks->byterange_len = m.byterange_len;
            marks->contents_at = out->base_len + m.contents_at;
            marks->contents_len = m.contents_len;
        }
    }
    buf_free(&sdata);
    return err;
}

/* Trailer entries shared by both kinds of section (ISO 32000-2 Table 15). */
static pdf_err trailer_entries(pdf_val *d, arena *a, pdf_doc *doc, uint32_t size) {
    uint8_t id1[16];
    if (RAND_bytes(id1, sizeof id1) != 1)
        return pdf_fail(PDF_E_NOMEM, "no random bytes for the file identifier");
    pdf_val *id = pv_array(a);
    pdf_err err = pv_dict_set(a, d, "Size", pv_int(a, size));
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "Root", pv_ref(a, doc->root.num, doc->root.gen));
    if (err == PDF_OK && doc->info.num)
        err = pv_dict_set(a, d, "Info", pv_ref(a, doc->info.num, doc->info.gen));
    if (err == PDF_OK && doc->encrypt.num)
        err = pv_dict_set(a, d, "Encrypt", pv_ref(a, doc->encrypt.num, doc->encrypt.gen));
    /* 14.4: the first identifier is permanent, the second changes with each update. */
    if (err == PDF_OK)
        err = pv_array_push(
            a, id, doc->id0 ? pv_string(a, doc->id0, doc->id0_len) : pv_string(a, id1, sizeof id1));
    if (err == PDF_OK)
        err = pv_array_push(a, id, pv_string(a, id1, sizeof id1));
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "ID", id);
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "Prev", pv_int(a, (long long)doc->xref->startxref));
    return err;
}

static pdf_err write_xref_table(pdf_output *out, pdf_update *u, const xentry *xe, size_t n) {
    buf *t = &out->tail;
    size_t xref_at = out->base_len + t->len;
    pdf_err err = bufres(buf_puts(t, "xref\n"));
    for (size_t i = 0; i < n && err == PDF_OK;) {
        size_t j = i + 1;
        while (j < n && xe[j].num == xe[j - 1].num + 1)
            j++;
        err = bufres(buf_printf(t, "%u %zu\n", xe[i].num, j - i));
        for (size_t k = i; k < j && err == PDF_OK; k++)
            err = bufres(buf_printf(t, "%010zu %05u n\r\n", xe[k].offset, (unsigned)xe[k].gen));
        i = j;
    }
    pdf_val *tr = pv_dict(&u->a);
    if (err == PDF_OK)
        err = tr ? trailer_entries(tr, &u->a, u->doc, u->next_num) : PDF_E_NOMEM;
    if (err == PDF_OK)
        err = bufres(buf_puts(t, "trailer\n"));
    if (err == PDF_OK)
        err = pv_write(t, tr, NULL, NULL);
    if (err == PDF_OK)
        err = bufres(buf_printf(t, "\nstartxref\n%zu\n%%%%EOF\n", xref_at));
    return err;
}

/* 7.5.8: the section as a stream object, unencrypted (7.6.2), entries of /W [1 w 2]. */
static pdf_err write_xref_stream(pdf_output *out, pdf_update *u, xentry *xe, size_t n) {
    buf *t = &out->tail;
    arena *a = &u->a;
    uint32_t self = 0;
    pdf_err err = pdf_update_new_object(&self, u);
    if (err != PDF_OK)
        return err;
    size_t self_at = out->base_len + t->len;
    xe[n].num = self;
    xe[n].gen = 0;
    xe[n].offset = self_at;
    n++;
    int w = 1;
    while (w < 8 && (self_at >> (8 * w)) != 0)
        w++;
    size_t rowlen = (size_t)(1 + w + 2);
    uint8_t *rows = arena_alloc(a, n * rowlen);
    pdf_val *index = pv_array(a), *wa = pv_array(a), *d = pv_dict(a);
    if (!rows || !index || !wa || !d)
        return PDF_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        uint8_t *r = rows + i * rowlen;
        r[0] = 1;
        for (int b = 0; b < w; b++)
            r[1 + b] = (uint8_t)(xe[i].offset >> (8 * (w - 1 - b)));
        r[1 + w] = (uint8_t)(xe[i].gen >> 8);
        r[2 + w] = (uint8_t)xe[i].gen;
    }
    for (size_t i = 0; i < n && err == PDF_OK;) {
        size_t j = i + 1;
        while (j < n && xe[j].num == xe[j - 1].num + 1)
            j++;
        err = pv_array_push(a, index, pv_int(a, xe[i].num));
        if (err == PDF_OK)
            err = pv_array_push(a, index, pv_int(a, (long long)(j - i)));
        i = j;
    }
    if (err == PDF_OK)
        err = pv_array_push(a, wa, pv_int(a, 1));
    if (err == PDF_OK)
        err = pv_array_push(a, wa, pv_int(a, w));
    if (err == PDF_OK)
        err = pv_array_push(a, wa, pv_int(a, 2));
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "Type", pv_name(a, "XRef"));
    if (err == PDF_OK)
        err = trailer_entries(d, a, u->doc, u->next_num);
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "Index", index);
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "W", wa);
    if (err == PDF_OK)
        err = pv_dict_set(a, d, "Length", pv_int(a, (long long)(n * rowlen)));
    if (err == PDF_OK)
        err = bufres(buf_printf(t, "%u 0 obj\n", self));
    if (err == PDF_OK)
        err = pv_write(t, d, NULL, NULL);
    if (err == PDF_OK)
        err = bufres(buf_puts(t, "\nstream\n"));
    if (err == PDF_OK)
        err = bufres(buf_append(t, rows, n * rowlen));
    if (err == PDF_OK)
        err = bufres(buf_printf(t, "\nendstream\nendobj\nstartxref\n%zu\n%%%%EOF\n", self_at));
    return err;
}

pdf_err pdf_update_write(pdf_output *out, pdf_update *u) {
    pdf_doc *doc = u->doc;
    pdf_err err = PDF_OK;
    pdf_sig_marks marks = {0};
    bool has_marks = false;
    memset(out, 0, sizeof *out);
    out->base = doc->data;
    out->base_len = doc->len;
    buf_init(&out->tail, PDF_MAX_UPDATE_BYTES);
    xentry *xe = calloc(u->n + 1, sizeof *xe);
    if (!xe)
        return PDF_E_NOMEM;
    qsort(u->objs, u->n, sizeof *u->objs, cmp_obj);
    /* 7.5.6: the update starts on a new line after the previous %%EOF. */
    if (doc->len && doc->data[doc->len - 1] != '\n' && doc->data[doc->len - 1] != '\r')
        err = bufres(buf_putc(&out->tail, '\n'));
    for (size_t i = 0; i < u->n && err == PDF_OK; i++)
        err = write_object(out, u, &u->objs[i], &xe[i], &marks, &has_marks);
    if (err == PDF_OK)
        err = doc->xref->sections[0].kind == PDF_XREF_STREAM ? write_xref_stream(out, u, xe, u->n)
                                                             : write_xref_table(out, u, xe, u->n);
    if (err == PDF_OK && has_marks) {
        /* 12.8.1: ByteRange covers everything but the /Contents hex string, '<' and '>'. */
        size_t total = out->base_len + out->tail.len;
        size_t after = marks.contents_at + marks.contents_len;
        out->has_signature = true;
        out->byterange[0] = 0;
        out->byterange[1] = marks.contents_at;
        out->byterange[2] = after;
        out->byterange[3] = total - after;
        out->contents_at = marks.contents_at;
        out->contents_len = marks.contents_len;
        char br[64];
        int n = snprintf(br, sizeof br, "[0 %zu %zu %zu]", out->byterange[1], out->byterange[2],
                         out->byterange[3]);
        if (n < 0 || (size_t)n > marks.byterange_len) {
            err = pdf_fail(PDF_E_LIMIT, "file too large for the /ByteRange placeholder");
        } else {
            uint8_t *at = out->tail.data + (marks.byterange_at - out->base_len);
            memset(at, ' ', marks.byterange_len);
            memcpy(at, br, (size_t)n);
        }
    }
    free(xe);
    if (err != PDF_OK)
        pdf_output_free(out);
    return err;
}

void pdf_output_free(pdf_output *out) {
    buf_free(&out->tail);
    memset(out, 0, sizeof *out);
}

int pdf_output_signed_parts(const pdf_output *out, struct iovec parts[3]) {
    if (!out->has_signature)
        return 0;
    size_t gap = out->contents_at - out->base_len;
    size_t after = gap + out->contents_len;
    parts[0].iov_base = (void *)(uintptr_t)out->base;
    parts[0].iov_len = out->base_len;
    parts[1].iov_base = out->tail.data;
    parts[1].iov_len = gap;
    parts[2].iov_base = out->tail.data + after;
    parts[2].iov_len = out->tail.len - after;
    return 3;
}

pdf_err pdf_output_sign(pdf_output *out, const uint8_t *der, size_t len) {
    static const char hex[] = "0123456789ABCDEF";
    if (!out->has_signature)
        return pdf_fail(PDF_E_ARG, "the update has no signature placeholder");
    size_t room = (out->contents_len - 2) / 2;
    if (len > room)
        return pdf_fail(PDF_E_LIMIT, "the signature (%zu bytes) does not fit the %zu reserved", len,
                        room);
    uint8_t *p = out->tail.data + (out->contents_at - out->base_len) + 1;
    for (size_t i = 0; i < len; i++) {
        p[2 * i] = (uint8_t)hex[der[i] >> 4];
        p[2 * i + 1] = (uint8_t)hex[der[i] & 15];
    }
    memset(p + 2 * len, '0', 2 * (room - len));
    return PDF_OK;
}

int pdf_output_parts(const pdf_output *out, struct iovec parts[2]) {
    parts[0].iov_base = (void *)(uintptr_t)out->base;
    parts[0].iov_len = out->base_len;
    parts[1].iov_base = out->tail.data;
    parts[1].iov_len = out->tail.len;
    return 2;
}
