/* Reading cross-reference tables and streams (ISO 32000-2 7.5.4, 7.5.5, 7.5.8). */
#include "pdf/xref.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pdf/internal.h"
#include "pdf/lex.h"

static pdf_err bufres(int rc) {
    return rc == BUF_OK ? PDF_OK : rc == BUF_ENOMEM ? PDF_E_NOMEM : PDF_E_LIMIT;
}

/* ISO 32000-2 7.5.5: the last line is %%EOF, preceded by "startxref" and the offset. Readers
 * look in the last 1024 bytes; we allow a little trailing junk beyond that. */
static pdf_err find_startxref(size_t *out, const uint8_t *data, size_t len) {
    const size_t window = 2048;
    size_t from = len > window ? len - window : 0;
    size_t found = SIZE_MAX;
    for (size_t i = len >= 9 ? len - 8 : 0; i > from;) {
        i--;
        if (memcmp(data + i, "startxref", 9) == 0) {
            found = i;
            break;
        }
    }
    if (found == SIZE_MAX)
        return pdf_fail(PDF_E_TRUNCATED, "no 'startxref' near the end of the file");
    size_t p = found + 9;
    pdf_skip_space(data, len, &p);
    unsigned long long v = 0;
    size_t start = p;
    while (p < len && data[p] >= '0' && data[p] <= '9' && p - start < 19)
        v = v * 10 + (unsigned long long)(data[p++] - '0');
    if (p == start)
        return pdf_fail(PDF_E_TRUNCATED, "'startxref' is not followed by an offset");
    bool eof = false;
    for (size_t q = p; q + 5 <= len; q++) {
        if (memcmp(data + q, "%%EOF", 5) == 0) {
            eof = true;
            break;
        }
    }
    if (!eof)
        return pdf_fail(PDF_E_TRUNCATED, "no %%%%EOF marker after the last startxref");
    if (v >= len)
        return pdf_fail(PDF_E_XREF, "startxref %llu points past the end of the file (%zu bytes)", v,
                        len);
    *out = (size_t)v;
    return PDF_OK;
}

static pdf_err add_entry(arena *a, pdf_xref_section *s, size_t *total, pdf_xref_entry e) {
    size_t *cap = &s->entries_cap;
    if (++*total > PDF_MAX_XREF_ENTRIES)
        return pdf_fail(PDF_E_LIMIT, "more than %d cross-reference entries", PDF_MAX_XREF_ENTRIES);
    if (s->n_entries == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        pdf_xref_entry *n = arena_alloc(a, ncap * sizeof *n);
        if (!n)
            return PDF_E_NOMEM;
        if (s->n_entries)
            memcpy(n, s->entries, s->n_entries * sizeof *n);
        s->entries = n;
        *cap = ncap;
    }
    s->entries[s->n_entries++] = e;
    return PDF_OK;
}

static bool read_uint(const uint8_t *data, size_t len, size_t *pos, unsigned long long *out) {
    size_t p = *pos;
    pdf_skip_space(data, len, &p);
    size_t start = p;
    unsigned long long v = 0;
    while (p < len && data[p] >= '0' && data[p] <= '9' && p - start < 19)
        v = v * 10 + (unsigned long long)(data[p++] - '0');
    if (p == start)
        return false;
    *out = v;
    *pos = p;
    return true;
}

/* ISO 32000-2 7.5.4: "xref", subsections "first count", 20-byte entries, then "trailer" and
 * its dictionary. Entries are parsed leniently as three tokens so that 19-byte lines of some
 * producers still read. */
static pdf_err read_table(pdf_xref *x, pdf_xref_section *s, const uint8_t *data, size_t len,
                          size_t *total) {
    size_t p = s->offset + 4;
    for (;;) {
        size_t save = p;
        if (pdf_match_keyword(data, len, &p, "trailer"))
            break;
        p = save;
        unsigned long long first, count;
        if (!read_uint(data, len, &p, &first) || !read_uint(data, len, &p, &count))
            return pdf_fail(PDF_E_XREF, "malformed cross-reference subsection at offset %zu", p);
        if (first > PDF_MAX_OBJNUM || count > PDF_MAX_OBJNUM + 1 - first ||
            count > (len - p) / 18 + 1)
            return pdf_fail(PDF_E_XREF, "cross-reference subsection %llu %llu out of range", first,
                            count);
        for (unsigned long long i = 0; i < count; i++) {
            unsigned long long off, gen;
            if (!read_uint(data, len, &p, &off) || !read_uint(data, len, &p, &gen))
                return pdf_fail(PDF_E_XREF, "malformed cross-reference entry at offset %zu", p);
            pdf_skip_space(data, len, &p);
            if (p >= len || (data[p] != 'n' && data[p] != 'f'))
                return pdf_fail(PDF_E_XREF, "cross-reference entry without n/f at offset %zu", p);
            pdf_xref_entry e = {.num = (uint32_t)(first + i),
                                .type = data[p] == 'n' ? 1 : 0,
                                .field2 = off,
                                .field3 = gen > PDF_MAX_GEN ? PDF_MAX_GEN : (uint32_t)gen};
            p++;
            pdf_err err = add_entry(&x->a, s, total, e);
            if (err != PDF_OK)
                return err;
        }
    }
    pdf_val *trailer;
    pdf_err err = pdf_parse_object(&trailer, &x->a, data, len, &p);
    if (err != PDF_OK)
        return pdf_fail_wrap(PDF_E_XREF, "malformed trailer at offset %zu", p);
    if (trailer->t != PV_DICT)
        return pdf_fail(PDF_E_XREF, "trailer at offset %zu is not a dictionary", p);
    s->trailer = trailer;
    return PDF_OK;
}

/* PNG predictors (RFC 2083 6, used by ISO 32000-2 7.4.4.4) and TIFF predictor 2. */
static pdf_err unpredict(buf *data, const pdf_val *parms) {
    long long pred = 1, colors = 1, bpc = 8, columns = 1;
    pv_dict_get_int(parms, "Predictor", &pred);
    if (pred == 1)
        return PDF_OK;
    pv_dict_get_int(parms, "Colors", &colors);
    pv_dict_get_int(parms, "BitsPerComponent", &bpc);
    pv_dict_get_int(parms, "Columns", &columns);
    if (colors < 1 || colors > 32 || (bpc != 1 && bpc != 2 && bpc != 4 && bpc != 8 && bpc != 16) ||
        columns < 1 || columns > 1 << 24)
        return pdf_fail(PDF_E_SYNTAX, "unsupported predictor parameters");
    size_t bpp = (size_t)((colors * bpc + 7) / 8);
    size_t row = (size_t)((colors * bpc * columns + 7) / 8);
    if (row > data->len)
        return pdf_fail(PDF_E_SYNTAX, "predictor rows of %zu bytes in %zu bytes of data", row,
                        data->len);
    if (pred == 2) {
        if (bpc != 8)
            return pdf_fail(PDF_E_SYNTAX, "TIFF predictor with %lld bits per component", bpc);
        for (size_t r = 0; r + row <= data->len; r += row)
            for (size_t i = bpp; i < row; i++)
                data->data[r + i] = (uint8_t)(data->data[r + i] + data->data[r + i - bpp]);
        return PDF_OK;
    }
    if (pred < 10 || pred > 15)
        return pdf_fail(PDF_E_SYNTAX, "unknown predictor %lld", pred);
    uint8_t *prev = calloc(1, row);
    if (!prev)
        return PDF_E_NOMEM;
    size_t in = 0, outp = 0;
    pdf_err err = PDF_OK;
    while (in + 1 + row <= data->len) {
        uint8_t f = data->data[in];
        uint8_t *cur = data->data + in + 1;
        for (size_t i = 0; i < row; i++) {
            unsigned a = i >= bpp ? cur[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
            unsigned v = cur[i];
            switch (f) {
            case 0:
                break;
            case 1:
                v += a;
                break;
            case 2:
                v += b;
                break;
            case 3:
                v += (a + b) / 2;
                break;
            case 4: {
                int pa = abs((int)b - (int)c), pb = abs((int)a - (int)c),
                    pc = abs((int)a + (int)b - 2 * (int)c);
                v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
                break;
            }
            default:
                err = pdf_fail(PDF_E_SYNTAX, "unknown PNG filter type %u", f);
                goto out;
            }
            cur[i] = (uint8_t)v;
        }
        memcpy(prev, cur, row);
        memmove(data->data + outp, cur, row);
        outp += row;
        in += 1 + row;
    }
    data->len = outp;
out:
    free(prev);
    return err;
}

pdf_err pdf_flate_decode(buf *out, const pdf_val *dict, const uint8_t *p, size_t n, size_t max) {
    pdf_val *filter = pv_dict_get(dict, "Filter");
    pdf_val *parms = pv_dict_get(dict, "DecodeParms");
    if (filter && filter->t == PV_ARRAY && filter->u.arr.n == 1) {
        filter = filter->u.arr.items[0];
        if (parms && parms->t == PV_ARRAY)
            parms = parms->u.arr.n == 1 ? parms->u.arr.items[0] : NULL;
    }
    if (!filter || filter->t == PV_NULL)
        return bufres(buf_append(out, p, n));
    if (!pv_is_name(filter, "FlateDecode"))
        return pdf_fail(PDF_E_ARG, "unsupported stream filter");
    pdf_err err = PDF_OK;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK)
        return PDF_E_NOMEM;
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = n > UINT32_MAX ? UINT32_MAX : (uInt)n;
    for (;;) {
        if (out->len >= max) {
            err = pdf_fail(PDF_E_LIMIT, "stream decodes to more than %zu bytes", max);
            break;
        }
        size_t room = max - out->len < 65536 ? max - out->len : 65536;
        if (buf_reserve(out, room) != BUF_OK) {
            err = pdf_fail(PDF_E_LIMIT, "stream decodes to more than %zu bytes", out->max);
            break;
        }
        z.next_out = out->data + out->len;
        z.avail_out = room > UINT32_MAX ? UINT32_MAX : (uInt)room;
        int rc = inflate(&z, Z_NO_FLUSH);
        out->len += (size_t)(z.next_out - (out->data + out->len));
        if (rc == Z_STREAM_END)
            break;
        if (rc == Z_BUF_ERROR && z.avail_in == 0)
            break; /* truncated stream: keep what decoded, as readers do */
        if (rc != Z_OK) {
            err = pdf_fail(PDF_E_SYNTAX, "corrupt Flate data: %s", z.msg ? z.msg : "error");
            break;
        }
    }
    inflateEnd(&z);
    if (err == PDF_OK && parms && parms->t == PV_DICT)
        err = unpredict(out, parms);
    return err;
}

/* ISO 32000-2 7.5.8: a cross-reference stream object. Its dictionary holds only direct
 * values (7.5.8.2), so /Length is read directly. */
static pdf_err read_stream_section(pdf_xref *x, pdf_xref_section *s, const uint8_t *data,
                                   size_t len, size_t *total) {
    size_t p = s->offset;
    uint32_t num;
    uint16_t gen;
    pdf_err err = pdf_parse_obj_header(&num, &gen, data, len, &p);
    if (err != PDF_OK)
        return pdf_fail(PDF_E_XREF, "no cross-reference table or stream at offset %zu", s->offset);
    pdf_val *dict;
    err = pdf_parse_object(&dict, &x->a, data, len, &p);
    if (err != PDF_OK || dict->t != PV_DICT || !pv_is_name(pv_dict_get(dict, "Type"), "XRef"))
        return pdf_fail(PDF_E_XREF, "object %u at offset %zu is not a cross-reference stream", num,
                        s->offset);
    s->stream_num = num;
    s->trailer = dict;
    long long length, size;
    if (!pv_dict_get_int(dict, "Length", &length) || length < 0 ||
        !pv_dict_get_int(dict, "Size", &size) || size < 0 || size > PDF_MAX_OBJNUM + 1)
        return pdf_fail(PDF_E_XREF, "cross-reference stream %u lacks a direct /Length or /Size",
                        num);
    if (!pdf_match_keyword(data, len, &p, "stream"))
        return pdf_fail(PDF_E_XREF, "cross-reference stream %u: no 'stream' keyword", num);
    if (p < len && data[p] == '\r')
        p++;
    if (p < len && data[p] == '\n')
        p++;
    if ((unsigned long long)length > len - p)
        return pdf_fail(PDF_E_XREF, "cross-reference stream %u runs past the end of the file", num);
    buf dec;
    buf_init(&dec, PDF_MAX_XREF_STREAM);
    err = pdf_flate_decode(&dec, dict, data + p, (size_t)length, PDF_MAX_XREF_STREAM);
    if (err != PDF_OK) {
        err = pdf_fail_wrap(PDF_E_XREF, "cross-reference stream %u", num);
        goto out;
    }
    pdf_val *w = pv_dict_get(dict, "W");
    long long wv[3];
    if (!w || w->t != PV_ARRAY || w->u.arr.n != 3) {
        err = pdf_fail(PDF_E_XREF, "cross-reference stream %u: bad /W", num);
        goto out;
    }
    size_t rowlen = 0;
    for (int i = 0; i < 3; i++) {
        pdf_val *it = w->u.arr.items[i];
        if (it->t != PV_INT || it->u.i < 0 || it->u.i > 8) {
            err = pdf_fail(PDF_E_XREF, "cross-reference stream %u: bad /W", num);
            goto out;
        }
        wv[i] = it->u.i;
        rowlen += (size_t)it->u.i;
    }
    if (rowlen == 0) {
        err = pdf_fail(PDF_E_XREF, "cross-reference stream %u: /W is all zero", num);
        goto out;
    }
    pdf_val *index = pv_dict_get(dict, "Index");
    size_t npairs = index && index->t == PV_ARRAY ? index->u.arr.n / 2 : 1;
    size_t row = 0;
    for (size_t k = 0; k < npairs; k++) {
        long long first = 0, count = size;
        if (index && index->t == PV_ARRAY) {
            pdf_val *f = index->u.arr.items[2 * k], *c = index->u.arr.items[2 * k + 1];
            if (f->t != PV_INT || c->t != PV_INT || f->u.i < 0 || c->u.i < 0 ||
                f->u.i > PDF_MAX_OBJNUM || c->u.i > PDF_MAX_OBJNUM + 1 - f->u.i) {
                err = pdf_fail(PDF_E_XREF, "cross-reference stream %u: bad /Index", num);
                goto out;
            }
            first = f->u.i;
            count = c->u.i;
            /* ISO 32000-2 7.5.8.2: the subsections lie below /Size */
            if (first + count > size) {
                err = pdf_fail(PDF_E_XREF,
                               "cross-reference stream %u: /Index reaches beyond "
                               "/Size %lld",
                               num, size);
                goto out;
            }
        }
        for (long long i = 0; i < count; i++, row++) {
            if ((row + 1) * rowlen > dec.len) {
                err = pdf_fail(PDF_E_XREF, "cross-reference stream %u is shorter than /Index says",
                               num);
                goto out;
            }
            const uint8_t *r = dec.data + row * rowlen;
            unsigned long long f[3];
            for (int j = 0; j < 3; j++) {
                f[j] = 0;
                for (long long b = 0; b < wv[j]; b++)
                    f[j] = f[j] << 8 | *r++;
            }
            if (wv[0] == 0)
                f[0] = 1; /* 7.5.8.3: type defaults to 1 */
            pdf_xref_entry e = {.num = (uint32_t)(first + i),
                                .type = f[0] > 2 ? 0 : (uint8_t)f[0],
                                .field2 = f[1],
                                .field3 = f[2] > UINT32_MAX ? UINT32_MAX : (uint32_t)f[2]};
            err = add_entry(&x->a, s, total, e);
            if (err != PDF_OK)
                goto out;
        }
    }
out:
    buf_free(&dec);
    return err;
}

static pdf_err xref_read(pdf_xref **out, const uint8_t *data, size_t len, bool lenient);

pdf_err pdf_xref_read(pdf_xref **out, const uint8_t *data, size_t len) {
    return xref_read(out, data, len, false);
}

pdf_err pdf_xref_read_lenient(pdf_xref **out, const uint8_t *data, size_t len) {
    return xref_read(out, data, len, true);
}

static pdf_err xref_read(pdf_xref **out, const uint8_t *data, size_t len, bool lenient) {
    pdf_err err = PDF_OK;
    *out = NULL;
    pdf_xref *x = calloc(1, sizeof *x);
    if (!x)
        return PDF_E_NOMEM;
    arena_init(&x->a, (size_t)1 << 30);
    size_t cap = 0, total = 0;
    err = find_startxref(&x->startxref, data, len);
    size_t off = x->startxref;
    size_t *visited = NULL; /* offsets as the chain gave them, before white space is skipped */
    while (err == PDF_OK) {
        for (size_t i = 0; i < x->n_sections; i++) {
            if (visited[i] == off || x->sections[i].offset == off) {
                err = pdf_fail(PDF_E_XREF, "/Prev chain loops back to offset %zu", off);
                goto out;
            }
        }
        if (x->n_sections == PDF_MAX_XREF_SECTIONS) {
            err = pdf_fail(PDF_E_LIMIT, "more than %d cross-reference sections",
                           PDF_MAX_XREF_SECTIONS);
            break;
        }
        if (x->n_sections == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            pdf_xref_section *n = arena_alloc(&x->a, ncap * sizeof *n);
            size_t *nv = arena_alloc(&x->a, ncap * sizeof *nv);
            if (!n || !nv) {
                err = PDF_E_NOMEM;
                break;
            }
            if (x->n_sections) {
                memcpy(n, x->sections, x->n_sections * sizeof *n);
                memcpy(nv, visited, x->n_sections * sizeof *nv);
            }
            x->sections = n;
            visited = nv;
            cap = ncap;
        }
        visited[x->n_sections] = off;
        pdf_xref_section *s = &x->sections[x->n_sections++];
        memset(s, 0, sizeof *s);
        s->offset = off;
        size_t p = off;
        if (pdf_match_keyword(data, len, &p, "xref")) {
            s->kind = PDF_XREF_TABLE;
            s->offset = p - 4;
            err = read_table(x, s, data, len, &total);
            long long xs;
            if (err == PDF_OK && pv_dict_get_int(s->trailer, "XRefStm", &xs)) {
                /* 7.5.8.4 hybrid file: the stream's entries complete the table's. */
                if (xs < 0 || (unsigned long long)xs >= len) {
                    err = pdf_fail(PDF_E_XREF, "/XRefStm %lld outside the file", xs);
                } else {
                    pdf_xref_section hs = {.kind = PDF_XREF_STREAM, .offset = (size_t)xs};
                    err = read_stream_section(x, &hs, data, len, &total);
                    for (size_t i = 0; err == PDF_OK && i < hs.n_entries; i++)
                        err = add_entry(&x->a, s, &total, hs.entries[i]);
                    s->hybrid = true;
                }
            }
        } else {
            s->kind = PDF_XREF_STREAM;
            err = read_stream_section(x, s, data, len, &total);
        }
        if (err != PDF_OK && lenient && x->n_sections > 1 && err != PDF_E_NOMEM &&
            err != PDF_E_LIMIT) {
            /* a /Prev that holds no section ends the chain here */
            x->n_sections--;
            x->broken = true;
            err = PDF_OK;
            break;
        }
        if (err != PDF_OK)
            break;
        long long prev;
        if (!pv_dict_get_int(s->trailer, "Prev", &prev))
            break;
        if (prev < 0 || (unsigned long long)prev >= len) {
            err = pdf_fail(PDF_E_XREF, "/Prev %lld outside the file", prev);
            break;
        }
        off = (size_t)prev;
    }
out:
    if (err == PDF_OK)
        *out = x;
    else
        pdf_xref_free(x);
    return err;
}

void pdf_xref_free(pdf_xref *x) {
    if (x) {
        arena_free(&x->a);
        free(x);
    }
}

pdf_val *pdf_xref_trailer_get(const pdf_xref *x, const char *key) {
    return x->n_sections ? pv_dict_get(x->sections[0].trailer, key) : NULL;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

pdf_err pdf_xref_check_offsets(const pdf_xref *x, const uint8_t *data, size_t len) {
    /* Newest entry per object number wins: walk sections newest first, skip numbers seen. */
    size_t total = 0;
    for (size_t i = 0; i < x->n_sections; i++)
        total += x->sections[i].n_entries;
    uint32_t *seen = malloc((total ? total : 1) * sizeof *seen);
    if (!seen)
        return PDF_E_NOMEM;
    size_t nseen = 0;
    pdf_err err = PDF_OK;
    for (size_t i = 0; i < x->n_sections && err == PDF_OK; i++) {
        const pdf_xref_section *s = &x->sections[i];
        size_t sorted = nseen;
        qsort(seen, sorted, sizeof *seen, cmp_u32);
        for (size_t k = 0; k < s->n_entries && err == PDF_OK; k++) {
            const pdf_xref_entry *e = &s->entries[k];
            if (bsearch(&e->num, seen, sorted, sizeof *seen, cmp_u32))
                continue;
            seen[nseen++] = e->num;
            if (e->type != 1 || e->num == 0)
                continue;
            size_t p = (size_t)e->field2;
            uint32_t num;
            uint16_t gen;
            if (e->field2 >= len || pdf_parse_obj_header(&num, &gen, data, len, &p) != PDF_OK ||
                num != e->num || gen != e->field3)
                err = pdf_fail(PDF_E_XREF,
                               "cross-reference entry for object %u points at offset %llu, "
                               "where that object is not",
                               e->num, (unsigned long long)e->field2);
        }
    }
    free(seen);
    return err;
}
