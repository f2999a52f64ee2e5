/* Opening a document: the checks that decide whether eseal may append to it, on raw bytes
 * (header, cross-reference chain) and through the qpdf C API (objects, pages, encryption). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "pdf/doc_internal.h"
#include "pdf/internal.h"
#include "pdf/lex.h"

static const char *magic_name(const uint8_t *d, size_t n) {
    static const struct {
        const char *magic;
        size_t len;
        const char *name;
    } known[] = {{"\x89PNG\r\n\x1a\n", 8, "a PNG image"},
                 {"\xff\xd8\xff", 3, "a JPEG image"},
                 {"GIF8", 4, "a GIF image"},
                 {"PK\x03\x04", 4, "a ZIP archive (an Office document?)"},
                 {"\xd0\xcf\x11\xe0", 4, "an old Office document"},
                 {"II*\0", 4, "a TIFF image"},
                 {"MM\0*", 4, "a TIFF image"},
                 {"%!PS", 4, "a PostScript file"},
                 {"{\\rtf", 5, "an RTF document"},
                 {"<html", 5, "an HTML page"},
                 {"<!DOCTYPE", 9, "an HTML page"}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (n >= known[i].len && memcmp(d, known[i].magic, known[i].len) == 0)
            return known[i].name;
    return NULL;
}

/* ISO 32000-2 7.5.2: the header %PDF-x.y; readers accept it within the first 1024 bytes. */
static pdf_err check_header(const uint8_t *d, size_t n) {
    if (n == 0)
        return pdf_fail(PDF_E_EMPTY, "the file is empty (0 bytes)");
    size_t window = n < 1024 ? n : 1024;
    for (size_t i = 0; i + 5 <= window; i++)
        if (memcmp(d + i, "%PDF-", 5) == 0)
            return PDF_OK;
    const char *what = magic_name(d, n);
    if (what)
        return pdf_fail(PDF_E_NOT_PDF, "not a PDF: the file is %s", what);
    return pdf_fail(PDF_E_NOT_PDF, "not a PDF: no %%PDF- header in the first 1024 bytes");
}

pdf_err doc_qpdf_check(pdf_doc *doc, const char *what) {
    if (!qpdf_has_error(doc->q))
        return PDF_OK;
    qpdf_error e = qpdf_get_error(doc->q);
    enum qpdf_error_code_e code = qpdf_get_error_code(doc->q, e);
    /* qpdf's message without its "input (offset N):" prefix, which names our buffer */
    const char *msg = qpdf_get_error_message_detail(doc->q, e);
    if (!msg || !*msg)
        msg = qpdf_get_error_full_text(doc->q, e);
    pdf_err err = code == qpdf_e_password      ? PDF_E_PASSWORD
                  : code == qpdf_e_damaged_pdf ? PDF_E_DAMAGED
                                               : PDF_E_QPDF;
    return pdf_fail(err, "%s (%s)", msg ? msg : "unknown qpdf error", what);
}

static pdf_err objid_of(pdf_objid *out, const pdf_val *v) {
    if (!v || v->t != PV_REF)
        return PDF_E_SYNTAX;
    out->num = v->u.ref.num;
    out->gen = v->u.ref.gen;
    return PDF_OK;
}

/* ---- qpdf objects to arena values ---- */

static pdf_err oh_to_val(pdf_val **out, arena *a, pdf_doc *doc, qpdf_oh oh, int depth) {
    qpdf_data q = doc->q;
    pdf_err err = PDF_OK;
    pdf_val *v = NULL;
    if (depth > PDF_MAX_DEPTH)
        return pdf_fail(PDF_E_LIMIT, "objects nested deeper than %d", PDF_MAX_DEPTH);
    if (depth > 0 && qpdf_oh_is_indirect(q, oh)) {
        int num = qpdf_oh_get_object_id(q, oh), gen = qpdf_oh_get_generation(q, oh);
        if (num <= 0 || (unsigned)num > PDF_MAX_OBJNUM || gen < 0 || gen > (int)PDF_MAX_GEN)
            return pdf_fail(PDF_E_SYNTAX, "reference to object %d %d out of range", num, gen);
        *out = pv_ref(a, (uint32_t)num, (uint16_t)gen);
        return *out ? PDF_OK : PDF_E_NOMEM;
    }
    switch (qpdf_oh_get_type_code(q, oh)) {
    case ot_null:
    case ot_uninitialized:
    case ot_reserved:
    case ot_destroyed:
        v = pv_null(a);
        break;
    case ot_boolean:
        v = pv_bool(a, qpdf_oh_get_bool_value(q, oh));
        break;
    case ot_integer:
        v = pv_int(a, qpdf_oh_get_int_value(q, oh));
        break;
    case ot_real:
        v = pv_real(a, strtod(qpdf_oh_get_real_value(q, oh), NULL));
        break;
    case ot_name: {
        const char *n = qpdf_oh_get_name(q, oh);
        v = pv_name(a, n[0] == '/' ? n + 1 : n);
        break;
    }
    case ot_string: {
        size_t n = 0;
        const char *s = qpdf_oh_get_binary_string_value(q, oh, &n);
        v = pv_string(a, s, n);
        break;
    }
    case ot_array: {
        int n = qpdf_oh_get_array_n_items(q, oh);
        v = pv_array(a);
        for (int i = 0; v && i < n && err == PDF_OK; i++) {
            qpdf_oh item = qpdf_oh_get_array_item(q, oh, i);
            pdf_val *iv;
            err = oh_to_val(&iv, a, doc, item, depth + 1);
            if (err == PDF_OK)
                err = pv_array_push(a, v, iv);
            qpdf_oh_release(q, item);
        }
        break;
    }
    case ot_stream:
    case ot_dictionary: {
        qpdf_oh dict = qpdf_oh_get_type_code(q, oh) == ot_stream ? qpdf_oh_get_dict(q, oh) : oh;
        /* qpdf iterates one dictionary at a time: take the keys first, then recurse. */
        size_t nkeys = 0, cap = 16;
        const char **keys = arena_alloc(a, cap * sizeof *keys);
        if (!keys) {
            err = PDF_E_NOMEM;
            break;
        }
        qpdf_oh_begin_dict_key_iter(q, dict);
        while (err == PDF_OK && qpdf_oh_dict_more_keys(q)) {
            const char *k = qpdf_oh_dict_next_key(q);
            if (nkeys == cap) {
                if (cap >= PDF_MAX_ITEMS) {
                    err = pdf_fail(PDF_E_LIMIT, "dictionary with more than %d keys", PDF_MAX_ITEMS);
                    break;
                }
                const char **nk = arena_alloc(a, 2 * cap * sizeof *nk);
                if (!nk) {
                    err = PDF_E_NOMEM;
                    break;
                }
                memcpy(nk, keys, nkeys * sizeof *nk);
                keys = nk;
                cap *= 2;
            }
            if (!(keys[nkeys++] = arena_strdup(a, k[0] == '/' ? k + 1 : k)))
                err = PDF_E_NOMEM;
        }
        v = pv_dict(a);
        for (size_t i = 0; v && i < nkeys && err == PDF_OK; i++) {
            char slashed[512];
            if (strlen(keys[i]) + 2 > sizeof slashed) {
                err = pdf_fail(PDF_E_LIMIT, "dictionary key longer than %zu bytes",
                               sizeof slashed - 2);
                break;
            }
            slashed[0] = '/';
            strcpy(slashed + 1, keys[i]);
            qpdf_oh item = qpdf_oh_get_key(q, dict, slashed);
            pdf_val *iv;
            err = oh_to_val(&iv, a, doc, item, depth + 1);
            /* ISO 32000-2 7.3.7: a null value is the same as an absent key. */
            if (err == PDF_OK && iv->t != PV_NULL)
                err = pv_dict_set(a, v, keys[i], iv);
            qpdf_oh_release(q, item);
        }
        if (dict != oh)
            qpdf_oh_release(q, dict);
        break;
    }
    default:
        err = pdf_fail(PDF_E_SYNTAX, "unexpected object type %s", qpdf_oh_get_type_name(q, oh));
    }
    if (err == PDF_OK && !v)
        err = PDF_E_NOMEM;
    if (err == PDF_OK)
        err = doc_qpdf_check(doc, "reading an object");
    if (err == PDF_OK)
        *out = v;
    return err;
}

pdf_err doc_oh_to_val(pdf_val **out, arena *a, pdf_doc *doc, qpdf_oh oh) {
    return oh_to_val(out, a, doc, oh, 0);
}

/* ---- the page tree (ISO 32000-2 7.7.3), walked here with a depth bound and loop detection:
 * qpdf's own walk recurses without a bound. ---- */

typedef struct walk_ctx {
    pdf_doc *doc;
    pdf_objid *visited; /* page tree nodes on the current path and done */
    size_t nvisited, cap_visited;
    size_t cap_pages;
} walk_ctx;

static bool visited(walk_ctx *w, pdf_objid id) {
    for (size_t i = 0; i < w->nvisited; i++)
        if (w->visited[i].num == id.num && w->visited[i].gen == id.gen)
            return true;
    return false;
}

static pdf_err push_id(pdf_objid **arr, size_t *n, size_t *cap, pdf_objid id) {
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        pdf_objid *p = realloc(*arr, ncap * sizeof *p);
        if (!p)
            return PDF_E_NOMEM;
        *arr = p;
        *cap = ncap;
    }
    (*arr)[(*n)++] = id;
    return PDF_OK;
}

static pdf_err walk_node(walk_ctx *w, qpdf_oh node, int depth) {
    pdf_doc *doc = w->doc;
    qpdf_data q = doc->q;
    pdf_err err = PDF_OK;
    qpdf_oh kids = 0;
    if (depth > PDF_MAX_TREE_DEPTH)
        return pdf_fail(PDF_E_PAGE_TREE, "page tree deeper than %d levels", PDF_MAX_TREE_DEPTH);
    if (!qpdf_oh_is_indirect(q, node))
        return pdf_fail(PDF_E_PAGE_TREE, "a page tree node is a direct object");
    pdf_objid id = {(uint32_t)qpdf_oh_get_object_id(q, node),
                    (uint16_t)qpdf_oh_get_generation(q, node)};
    if (!qpdf_oh_is_dictionary(q, node))
        return pdf_fail(PDF_E_PAGE_TREE, "page tree node %u %u is not a dictionary", id.num,
                        id.gen);
    if (visited(w, id))
        return pdf_fail(PDF_E_PAGE_TREE, "page tree loop: object %u %u is reached twice", id.num,
                        id.gen);
    size_t capv = w->cap_visited;
    if ((err = push_id(&w->visited, &w->nvisited, &capv, id)) != PDF_OK)
        return err;
    w->cap_visited = capv;
    kids = qpdf_oh_get_key(q, node, "/Kids");
    qpdf_oh type = qpdf_oh_get_key(q, node, "/Type");
    bool is_pages = qpdf_oh_is_name_and_equals(q, type, "/Pages");
    qpdf_oh_release(q, type);
    if (!is_pages && !qpdf_oh_is_array(q, kids)) {
        /* A leaf: a page (7.7.3.3), whether or not /Type says so. */
        size_t n = (size_t)doc->npages;
        if (n >= PDF_MAX_PAGES) {
            err = pdf_fail(PDF_E_LIMIT, "more than %d pages", PDF_MAX_PAGES);
            goto out;
        }
        err = push_id(&doc->pages, &n, &w->cap_pages, id);
        doc->npages = (int)n;
        goto out;
    }
    if (!qpdf_oh_is_array(q, kids)) {
        err = pdf_fail(PDF_E_PAGE_TREE, "page tree node %u %u has no /Kids array", id.num, id.gen);
        goto out;
    }
    int n = qpdf_oh_get_array_n_items(q, kids);
    for (int i = 0; i < n && err == PDF_OK; i++) {
        qpdf_oh kid = qpdf_oh_get_array_item(q, kids, i);
        err = walk_node(w, kid, depth + 1);
        qpdf_oh_release(q, kid);
    }
out:
    if (kids)
        qpdf_oh_release(q, kids);
    if (err == PDF_OK)
        err = doc_qpdf_check(doc, "reading the page tree");
    return err;
}

static pdf_err walk_pages(pdf_doc *doc) {
    qpdf_data q = doc->q;
    walk_ctx w = {.doc = doc};
    qpdf_oh root = qpdf_get_root(q);
    qpdf_oh pages = qpdf_oh_get_key(q, root, "/Pages");
    pdf_err err = doc_qpdf_check(doc, "reading the catalog");
    if (err == PDF_OK && !qpdf_oh_is_dictionary(q, pages))
        err = pdf_fail(PDF_E_PAGE_TREE, "the catalog has no /Pages dictionary");
    if (err == PDF_OK)
        err = walk_node(&w, pages, 0);
    if (err == PDF_OK && doc->npages == 0)
        err = pdf_fail(PDF_E_PAGE_TREE, "the document has no pages");
    qpdf_oh_release(q, pages);
    qpdf_oh_release(q, root);
    free(w.visited);
    return err;
}

/* ---- encryption (ISO 32000-2 7.6) ---- */

static pdf_crypt_method cf_method(pdf_doc *doc, qpdf_oh enc, const char *which) {
    qpdf_data q = doc->q;
    pdf_crypt_method m = PDF_CM_NONE;
    qpdf_oh name = qpdf_oh_get_key(q, enc, which);
    char n[128];
    snprintf(n, sizeof n, "%s", qpdf_oh_is_name(q, name) ? qpdf_oh_get_name(q, name) : "/Identity");
    if (strcmp(n, "/Identity") != 0) {
        qpdf_oh cf = qpdf_oh_get_key(q, enc, "/CF");
        qpdf_oh filter = qpdf_oh_get_key(q, cf, n);
        qpdf_oh cfm = qpdf_oh_get_key(q, filter, "/CFM");
        const char *mn = qpdf_oh_is_name(q, cfm) ? qpdf_oh_get_name(q, cfm) : "/None";
        m = strcmp(mn, "/V2") == 0      ? PDF_CM_RC4
            : strcmp(mn, "/AESV2") == 0 ? PDF_CM_AESV2
            : strcmp(mn, "/AESV3") == 0 ? PDF_CM_AESV3
                                        : PDF_CM_NONE;
        qpdf_oh_release(q, cfm);
        qpdf_oh_release(q, filter);
        qpdf_oh_release(q, cf);
    }
    qpdf_oh_release(q, name);
    return m;
}

static const uint8_t *bin_key(pdf_doc *doc, qpdf_oh dict, const char *key, size_t *len) {
    qpdf_data q = doc->q;
    qpdf_oh v = qpdf_oh_get_key(q, dict, key);
    const uint8_t *p = NULL;
    *len = 0;
    if (qpdf_oh_is_string(q, v)) {
        size_t n = 0;
        const char *s = qpdf_oh_get_binary_string_value(q, v, &n);
        p = arena_memdup(&doc->a, s, n);
        *len = p ? n : 0;
    }
    qpdf_oh_release(q, v);
    return p;
}

static int int_key(pdf_doc *doc, qpdf_oh dict, const char *key, int dflt) {
    qpdf_data q = doc->q;
    qpdf_oh v = qpdf_oh_get_key(q, dict, key);
    long long r = dflt;
    if (qpdf_oh_is_integer(q, v))
        r = qpdf_oh_get_int_value(q, v);
    qpdf_oh_release(q, v);
    return r < INT32_MIN || r > INT32_MAX ? dflt : (int)r;
}

static pdf_err setup_crypt(pdf_doc *doc, const char *password) {
    qpdf_data q = doc->q;
    qpdf_oh trailer = qpdf_get_trailer(q);
    qpdf_oh enc = qpdf_oh_get_key(q, trailer, "/Encrypt");
    qpdf_oh filter = qpdf_oh_get_key(q, enc, "/Filter");
    pdf_err err = PDF_OK;
    if (!qpdf_oh_is_name_and_equals(q, filter, "/Standard")) {
        err = pdf_fail(PDF_E_ENCRYPTION,
                       "the document is encrypted with a security handler other than /Standard "
                       "(a certificate-based handler?)");
        goto out;
    }
    pdf_crypt_params p = {0};
    p.V = int_key(doc, enc, "/V", 0);
    p.R = int_key(doc, enc, "/R", 0);
    p.length_bits = int_key(doc, enc, "/Length", 40);
    qpdf_oh pv = qpdf_oh_get_key(q, enc, "/P");
    long long P = qpdf_oh_is_integer(q, pv) ? qpdf_oh_get_int_value(q, pv) : 0;
    qpdf_oh_release(q, pv);
    p.P = (int32_t)(uint32_t)(unsigned long long)P;
    p.O = bin_key(doc, enc, "/O", &p.O_len);
    p.U = bin_key(doc, enc, "/U", &p.U_len);
    p.OE = bin_key(doc, enc, "/OE", &p.OE_len);
    p.UE = bin_key(doc, enc, "/UE", &p.UE_len);
    p.Perms = bin_key(doc, enc, "/Perms", &p.Perms_len);
    qpdf_oh em = qpdf_oh_get_key(q, enc, "/EncryptMetadata");
    p.encrypt_metadata = !qpdf_oh_is_bool(q, em) || qpdf_oh_get_bool_value(q, em);
    qpdf_oh_release(q, em);
    if (p.V >= 4) {
        p.stm = cf_method(doc, enc, "/StmF");
        p.str = cf_method(doc, enc, "/StrF");
    } else {
        p.stm = p.str = PDF_CM_RC4;
    }
    p.id0 = doc->id0;
    p.id0_len = doc->id0_len;
    err = pdf_crypt_init(&doc->crypt, &p, password ? password : "");
    doc->encrypted = err == PDF_OK;
out:
    qpdf_oh_release(q, filter);
    qpdf_oh_release(q, enc);
    qpdf_oh_release(q, trailer);
    return err;
}

/* ---- PDF/A identification (ISO 19005: XMP pdfaid:part in the catalog's /Metadata) ---- */

static int find_pdfa_part(pdf_doc *doc) {
    qpdf_data q = doc->q;
    int part = 0;
    qpdf_oh root = qpdf_get_root(q);
    qpdf_oh md = qpdf_oh_get_key(q, root, "/Metadata");
    qpdf_oh dict = 0, filter = 0, length = 0;
    unsigned char *data = NULL;
    size_t len = 0;
    if (!qpdf_oh_is_stream(q, md))
        goto out;
    dict = qpdf_oh_get_dict(q, md);
    filter = qpdf_oh_get_key(q, dict, "/Filter");
    length = qpdf_oh_get_key(q, dict, "/Length");
    /* PDF/A forbids filters on the metadata stream; bound what we read. */
    if (!qpdf_oh_is_null(q, filter) || !qpdf_oh_is_integer(q, length) ||
        qpdf_oh_get_int_value(q, length) > 4 * 1024 * 1024)
        goto out;
    if (qpdf_oh_get_stream_data(q, md, qpdf_dl_none, NULL, &data, &len) != QPDF_SUCCESS)
        goto out;
    static const char *const tags[] = {"pdfaid:part=\"", "pdfaid:part='", "<pdfaid:part>"};
    for (size_t t = 0; t < 3 && !part; t++) {
        size_t tl = strlen(tags[t]);
        for (size_t i = 0; i + tl < len; i++) {
            if (memcmp(data + i, tags[t], tl) == 0) {
                uint8_t c = data[i + tl];
                part = c >= '1' && c <= '4' ? c - '0' : 0;
                break;
            }
        }
    }
out:
    free(data);
    if (length)
        qpdf_oh_release(q, length);
    if (filter)
        qpdf_oh_release(q, filter);
    if (dict)
        qpdf_oh_release(q, dict);
    qpdf_oh_release(q, md);
    qpdf_oh_release(q, root);
    qpdf_has_error(q); /* a damaged metadata stream only means "not PDF/A" */
    return part;
}

/* ---- opening ---- */

static bool contains(const uint8_t *d, size_t n, const char *s) {
    size_t sl = strlen(s);
    for (size_t i = 0; i + sl <= n; i++)
        if (d[i] == (uint8_t)s[0] && memcmp(d + i, s, sl) == 0)
            return true;
    return false;
}

/* The trailer values an update repeats (ISO 32000-2 7.5.5, 7.5.6). */
static pdf_err read_trailer(pdf_doc *doc) {
    pdf_xref *x = doc->xref;
    pdf_err err = objid_of(&doc->root, pdf_xref_trailer_get(x, "Root"));
    if (err != PDF_OK)
        return pdf_fail(PDF_E_DAMAGED, "the trailer has no /Root reference");
    objid_of(&doc->info, pdf_xref_trailer_get(x, "Info"));
    objid_of(&doc->encrypt, pdf_xref_trailer_get(x, "Encrypt"));
    pdf_val *id = pdf_xref_trailer_get(x, "ID");
    if (id && id->t == PV_ARRAY && id->u.arr.n == 2 && id->u.arr.items[0]->t == PV_STRING) {
        doc->id0 = id->u.arr.items[0]->u.str.p;
        doc->id0_len = id->u.arr.items[0]->u.str.n;
    }
    long long size = 0;
    pv_dict_get_int(x->sections[0].trailer, "Size", &size);
    uint64_t next = size > 0 ? (uint64_t)size : 1;
    for (size_t i = 0; i < x->n_sections; i++) {
        const pdf_xref_section *s = &x->sections[i];
        if (s->kind == PDF_XREF_STREAM && (uint64_t)s->stream_num + 1 > next)
            next = (uint64_t)s->stream_num + 1;
        for (size_t k = 0; k < s->n_entries; k++)
            if (s->entries[k].type != 0 && (uint64_t)s->entries[k].num + 1 > next)
                next = (uint64_t)s->entries[k].num + 1;
    }
    if (next > PDF_MAX_OBJNUM - 1000)
        return pdf_fail(PDF_E_LIMIT, "object numbers reach the maximum of %u", PDF_MAX_OBJNUM);
    doc->next_num = (uint32_t)next;
    return PDF_OK;
}

static pdf_err open_qpdf(pdf_doc *doc, const char *password) {
    doc->q = qpdf_init();
    if (!doc->q)
        return PDF_E_NOMEM;
    qpdf_silence_errors(doc->q);
    qpdf_set_suppress_warnings(doc->q, QPDF_TRUE);
    qpdf_read_memory(doc->q, "input", (const char *)doc->data, doc->len, password ? password : "");
    if (!qpdf_has_error(doc->q))
        return PDF_OK;
    pdf_err err = doc_qpdf_check(doc, "opening");
    if (err == PDF_E_PASSWORD)
        err = pdf_fail(PDF_E_PASSWORD, "a user password is required to open it");
    return err;
}

static pdf_err open_doc(pdf_doc **out, uint8_t *data, size_t len, const pdf_open_opts *opts,
                        bool repaired);

/* A damaged cross-reference table: rewrite the whole (unsigned) file with qpdf and open that. */
static pdf_err repair(pdf_doc **out, pdf_doc *doc, const pdf_open_opts *opts, pdf_err why) {
    const char *why_detail = pdf_errdetail();
    char saved[512];
    snprintf(saved, sizeof saved, "%s", why_detail);
    if (!opts->repair)
        return pdf_fail(why, "%s", saved);
    if (contains(doc->data, doc->len, "/ByteRange"))
        return pdf_fail(PDF_E_SIGNED,
                        "the cross-reference table is damaged (%s) and the file carries a "
                        "signature, so it cannot be rewritten to repair it",
                        saved);
    qpdf_data q = doc->q;
    qpdf_init_write_memory(q);
    qpdf_set_object_stream_mode(q, qpdf_o_preserve);
    qpdf_set_preserve_encryption(q, QPDF_TRUE);
    qpdf_write(q);
    pdf_err err = doc_qpdf_check(doc, "rewriting the damaged file");
    if (err != PDF_OK)
        return pdf_fail_wrap(why, "%s; qpdf could not rebuild it", saved);
    size_t n = qpdf_get_buffer_length(q);
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        return PDF_E_NOMEM;
    memcpy(copy, qpdf_get_buffer(q), n);
    return open_doc(out, copy, n, opts, true);
}

static pdf_err open_doc(pdf_doc **out, uint8_t *data, size_t len, const pdf_open_opts *opts,
                        bool repaired) {
    pdf_err err = PDF_OK, xerr = PDF_OK;
    pdf_doc *doc = calloc(1, sizeof *doc);
    *out = NULL;
    if (!doc) {
        free(data);
        return PDF_E_NOMEM;
    }
    doc->data = data;
    doc->len = len;
    doc->repaired = repaired;
    arena_init(&doc->a, (size_t)64 * 1024 * 1024);
    if ((err = check_header(data, len)) != PDF_OK)
        goto out;
    xerr = pdf_xref_read(&doc->xref, data, len);
    if (xerr == PDF_OK)
        xerr = pdf_xref_check_offsets(doc->xref, data, len);
    char xdetail[512];
    snprintf(xdetail, sizeof xdetail, "%s", pdf_errdetail());
    if (xerr == PDF_E_NOMEM || xerr == PDF_E_LIMIT) {
        err = xerr;
        goto out;
    }
    err = open_qpdf(doc, opts->password);
    if (err != PDF_OK) {
        if (err != PDF_E_PASSWORD && xerr == PDF_E_TRUNCATED)
            err = pdf_fail(PDF_E_TRUNCATED,
                           "the file is truncated (%s) and qpdf could not "
                           "recover it",
                           xdetail);
        goto out;
    }
    if (xerr != PDF_OK && repaired) {
        /* qpdf's own rewrite should never be damaged; never rewrite twice */
        err = pdf_fail(PDF_E_DAMAGED, "the file could not be repaired: %s", xdetail);
        goto out;
    }
    if (xerr != PDF_OK) {
        pdf_fail(xerr, "%s", xdetail);
        pdf_doc *fixed = NULL;
        err = repair(&fixed, doc, opts, xerr == PDF_E_TRUNCATED ? PDF_E_TRUNCATED : PDF_E_XREF);
        if (err == PDF_OK) {
            pdf_doc_free(doc);
            *out = fixed;
            return PDF_OK;
        }
        goto out;
    }
    if ((err = read_trailer(doc)) != PDF_OK)
        goto out;
    if (qpdf_is_encrypted(doc->q) && (err = setup_crypt(doc, opts->password)) != PDF_OK)
        goto out;
    if ((err = walk_pages(doc)) != PDF_OK)
        goto out;
    doc->pdfa_part = find_pdfa_part(doc);
out:
    if (err == PDF_OK)
        *out = doc;
    else
        pdf_doc_free(doc);
    return err;
}

pdf_err pdf_doc_open(pdf_doc **out, uint8_t *data, size_t len, const pdf_open_opts *opts) {
    pdf_open_opts dflt = {0};
    if (!opts)
        opts = &dflt;
    pdf_clear_detail();
    size_t max = opts->max_bytes ? opts->max_bytes : PDF_DEFAULT_MAX_BYTES;
    if (len > max) {
        free(data);
        *out = NULL;
        return pdf_fail(PDF_E_LIMIT, "the file is larger than the maximum of %zu bytes", max);
    }
    return open_doc(out, data, len, opts, false);
}

pdf_err pdf_doc_open_file(pdf_doc **out, const char *path, const pdf_open_opts *opts) {
    uint8_t *data;
    size_t len;
    size_t max = opts && opts->max_bytes ? opts->max_bytes : PDF_DEFAULT_MAX_BYTES;
    *out = NULL;
    int e = file_read_all(&data, &len, path, max);
    if (e == EFBIG)
        return pdf_fail(PDF_E_LIMIT, "%s is larger than the maximum of %zu bytes", path, max);
    if (e != 0)
        return pdf_fail(PDF_E_IO, "%s: %s", path, strerror(e));
    return pdf_doc_open(out, data, len, opts);
}

void pdf_doc_free(pdf_doc *doc) {
    if (!doc)
        return;
    if (doc->q)
        qpdf_cleanup(&doc->q);
    pdf_xref_free(doc->xref);
    arena_free(&doc->a);
    free(doc->pages);
    free(doc->data);
    free(doc);
}

const uint8_t *pdf_doc_bytes(const pdf_doc *doc, size_t *len) {
    *len = doc->len;
    return doc->data;
}

bool pdf_doc_repaired(const pdf_doc *doc) {
    return doc->repaired;
}

bool pdf_doc_encrypted(const pdf_doc *doc) {
    return doc->encrypted;
}

int pdf_doc_page_count(const pdf_doc *doc) {
    return doc->npages;
}

int pdf_doc_pdfa_part(const pdf_doc *doc) {
    return doc->pdfa_part;
}

pdf_err pdf_doc_may_sign(const pdf_doc *doc, bool new_field) {
    if (!doc->encrypted || doc->crypt.owner)
        return PDF_OK;
    if (pdf_crypt_allows(&doc->crypt, PDF_PERM_ANNOTATE))
        return PDF_OK;
    if (!new_field && pdf_crypt_allows(&doc->crypt, PDF_PERM_FILL_FORM))
        return PDF_OK;
    return pdf_fail(PDF_E_PERMISSION,
                    "the document's permissions forbid modification: %s is not allowed",
                    new_field ? "adding annotations or form fields" : "filling in form fields");
}
