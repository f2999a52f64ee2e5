/* Revisions and their objects read from the raw bytes (ISO 32000-2 7.5). */
#include "pdf/raw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/u64map.h"
#include "pdf/crypt.h"
#include "pdf/internal.h"
#include "pdf/lex.h"
#include "pdf/xref.h"

/* A parsed object, or why it could not be parsed; busy while it is being parsed, so that a
 * stream whose /Length refers back to itself is caught. */
typedef struct robj_entry {
    pdf_robj o;
    pdf_err err;
    bool busy, done;
} robj_entry;

/* A decoded object stream (7.5.7): its data and the offsets of its N objects. */
typedef struct objstm {
    pdf_err err;
    uint8_t *data;
    size_t len;
    size_t n;
    uint32_t *nums;
    size_t *offs; /* absolute in data, n + 1 of them (the last is len) */
} objstm;

typedef struct objhdr {
    uint32_t num;
    uint16_t gen;
    size_t off;
} objhdr;

typedef struct rev_entry {
    uint32_t num;
    uint16_t gen;
    uint8_t type;
    uint64_t f2;
    uint32_t f3;
} rev_entry;

struct pdf_rev {
    pdf_raw *raw;
    size_t end;
    pdf_xref *xref;
    rev_entry *entries; /* sorted by number, one per number (the newest) */
    size_t n;
    uint32_t *nums;
};

struct pdf_raw {
    const uint8_t *data;
    size_t len;
    arena a;
    size_t *ends;
    size_t n_ends;
    size_t trailing;
    pdf_rev **views;
    size_t n_views, cap_views;
    pdf_rev *final;
    u64map objs;            /* location key -> robj_entry */
    u64map objstms;         /* offset of the object stream -> objstm */
    size_t decoded;         /* bytes decoded from streams so far */
    struct objhdr *headers; /* every "num gen obj" of the file, by number then offset */
    size_t n_headers;
    bool headers_done;
    size_t repaired; /* objects found by searching, not where the table says */
    uint32_t first_repaired;
    size_t *endstreams; /* offsets of every "endstream" in the file, found on first need */
    size_t n_endstreams;
    bool endstreams_done;
    int depth; /* objects being parsed on the way to this one (/Length, object streams) */
    size_t xref_sections, xref_entries; /* read for all views so far */
    bool encrypted;
    pdf_crypt crypt;
    uint32_t encrypt_num;
    bool encrypt_metadata;
};

static pdf_err bufres(int rc) {
    return rc == BUF_OK ? PDF_OK : rc == BUF_ENOMEM ? PDF_E_NOMEM : PDF_E_LIMIT;
}

/* ---- revisions (7.5.5 file trailer, 7.5.6 incremental updates) ---- */

/* True when "startxref", an offset and white space come right before pos. */
static bool after_startxref(const uint8_t *d, size_t pos) {
    size_t p = pos;
    while (p > 0 && pdf_is_space(d[p - 1]))
        p--;
    size_t digits = p;
    while (p > 0 && d[p - 1] >= '0' && d[p - 1] <= '9' && digits - p < 20)
        p--;
    if (p == digits)
        return false;
    while (p > 0 && pdf_is_space(d[p - 1]))
        p--;
    return p >= 9 && memcmp(d + p - 9, "startxref", 9) == 0;
}

/* The end of the revision whose "%%EOF" is at pos: after the marker and its end-of-line. */
static size_t eof_end(const uint8_t *d, size_t len, size_t pos) {
    size_t e = pos + 5;
    if (e < len && d[e] == '\r')
        e++;
    if (e < len && d[e] == '\n')
        e++;
    return e;
}

static pdf_err find_revisions(pdf_raw *r) {
    const uint8_t *d = r->data;
    size_t len = r->len, cap = 16;
    pdf_err err = PDF_OK;
    r->ends = malloc(cap * sizeof *r->ends);
    if (!r->ends)
        return PDF_E_NOMEM;
    for (size_t i = 0; i + 5 <= len;) {
        const uint8_t *hit = memchr(d + i, '%', len - i);
        if (!hit)
            break;
        size_t p = (size_t)(hit - d);
        if (p + 5 <= len && memcmp(hit, "%%EOF", 5) == 0 && after_startxref(d, p)) {
            if (r->n_ends == PDF_RAW_MAX_REVISIONS)
                return pdf_fail(PDF_E_LIMIT, "more than %d revisions (%%%%EOF markers)",
                                PDF_RAW_MAX_REVISIONS);
            if (r->n_ends == cap) {
                size_t *n = realloc(r->ends, 2 * cap * sizeof *n);
                if (!n)
                    return PDF_E_NOMEM;
                r->ends = n;
                cap *= 2;
            }
            r->ends[r->n_ends++] = eof_end(d, len, p);
            i = p + 5;
        } else {
            i = p + 1;
        }
    }
    if (r->n_ends == 0)
        return pdf_fail(PDF_E_TRUNCATED, "no 'startxref' and %%%%EOF marker: the file is "
                                         "truncated or not a PDF");
    /* The final revision: the last whose cross-reference chain can be read. */
    pdf_err first = PDF_OK;
    char first_detail[256] = "";
    size_t tries = 0;
    for (size_t k = r->n_ends; k-- > 0 && tries < 16; tries++) {
        err = pdf_raw_rev(&r->final, r, r->ends[k]);
        if (err == PDF_OK) {
            r->n_ends = k + 1;
            break;
        }
        if (err == PDF_E_NOMEM || (err == PDF_E_LIMIT && r->xref_sections > 0))
            return err;
        if (first == PDF_OK) {
            first = err;
            snprintf(first_detail, sizeof first_detail, "%s", pdf_errdetail());
        }
    }
    if (!r->final)
        return pdf_fail(first, "no readable revision: %s", first_detail);
    /* Earlier markers whose prefix has no readable chain (the first-page trailer of a
     * linearized file, F.3.4) end no revision. */
    size_t kept = 0;
    for (size_t k = 0; k + 1 < r->n_ends; k++) {
        pdf_rev *v;
        err = pdf_raw_rev(&v, r, r->ends[k]);
        if (err == PDF_E_NOMEM || err == PDF_E_LIMIT)
            return err;
        if (err == PDF_OK)
            r->ends[kept++] = r->ends[k];
    }
    r->ends[kept++] = r->ends[r->n_ends - 1];
    r->n_ends = kept;
    size_t fend = r->ends[r->n_ends - 1];
    for (size_t i = fend; i < len; i++) {
        if (!pdf_is_space(d[i])) {
            r->trailing = len - fend;
            break;
        }
    }
    return PDF_OK;
}

/* ---- views of a revision ---- */

static int cmp_entry(const void *pa, const void *pb) {
    const rev_entry *a = pa, *b = pb;
    return a->num < b->num ? -1 : a->num > b->num;
}

/* 7.5.6: the newest section that mentions an object decides. Within a hybrid section
 * (7.5.8.4), a free table entry gives way to the stream's entry for the same object. */
static pdf_err build_index(pdf_rev *v) {
    pdf_xref *x = v->xref;
    size_t total = 0;
    for (size_t s = 0; s < x->n_sections; s++)
        total += x->sections[s].n_entries;
    rev_entry *all = arena_alloc(&v->raw->a, (total ? total : 1) * sizeof *all);
    u64map seen;
    u64map_init(&seen, total + 1);
    pdf_err err = all ? PDF_OK : PDF_E_NOMEM;
    size_t n = 0;
    for (size_t s = 0; err == PDF_OK && s < x->n_sections; s++) {
        const pdf_xref_section *sec = &x->sections[s];
        for (size_t i = 0; err == PDF_OK && i < sec->n_entries; i++) {
            const pdf_xref_entry *e = &sec->entries[i];
            if (e->num == 0)
                continue;
            void *slot = u64map_get(&seen, e->num);
            if (slot) {
                rev_entry *old = &all[(uintptr_t)slot - 1];
                /* same section, free entry first: the hybrid stream's entry wins */
                if (sec->hybrid && old->type == 0 && e->type == 2 && (size_t)old->f3 == s) {
                    old->type = 2;
                    old->f2 = e->field2;
                    old->f3 = e->field3;
                    old->gen = 0;
                }
                continue;
            }
            all[n] = (rev_entry){
                .num = e->num,
                .type = e->type,
                .f2 = e->field2,
                .f3 = e->type == 0 ? (uint32_t)s : e->field3,
                .gen = e->type == 1 && e->field3 <= PDF_MAX_GEN ? (uint16_t)e->field3 : 0};
            err = bufres(u64map_put(&seen, e->num, (void *)(uintptr_t)(n + 1)));
            n++;
        }
    }
    u64map_free(&seen);
    if (err == PDF_OK) {
        qsort(all, n, sizeof *all, cmp_entry);
        v->entries = all;
        v->n = n;
        v->nums = arena_alloc(&v->raw->a, (n ? n : 1) * sizeof *v->nums);
        if (!v->nums)
            err = PDF_E_NOMEM;
        for (size_t i = 0; err == PDF_OK && i < n; i++)
            v->nums[i] = all[i].num;
    }
    return err;
}

pdf_err pdf_raw_rev(pdf_rev **out, pdf_raw *r, size_t end) {
    *out = NULL;
    for (size_t i = 0; i < r->n_views; i++) {
        if (r->views[i]->end == end) {
            *out = r->views[i];
            return PDF_OK;
        }
    }
    if (end > r->len)
        return pdf_fail(PDF_E_ARG, "revision end %zu beyond the file (%zu bytes)", end, r->len);
    if (r->n_views == r->cap_views) {
        size_t ncap = r->cap_views ? 2 * r->cap_views : 8;
        if (ncap > 4 * PDF_RAW_MAX_REVISIONS)
            return pdf_fail(PDF_E_LIMIT, "too many revision views");
        pdf_rev **n = realloc(r->views, ncap * sizeof *n);
        if (!n)
            return PDF_E_NOMEM;
        r->views = n;
        r->cap_views = ncap;
    }
    pdf_rev *v = arena_alloc(&r->a, sizeof *v);
    if (!v)
        return PDF_E_NOMEM;
    v->raw = r;
    v->end = end;
    pdf_err err = pdf_xref_read_lenient(&v->xref, r->data, end);
    if (err == PDF_OK) {
        /* each revision reads its whole chain again: bound the sum over all of them */
        r->xref_sections += v->xref->n_sections;
        for (size_t i = 0; i < v->xref->n_sections; i++)
            r->xref_entries += v->xref->sections[i].n_entries;
        if (r->xref_sections > PDF_RAW_MAX_SECTIONS || r->xref_entries > PDF_RAW_MAX_ENTRIES)
            err = pdf_fail(PDF_E_LIMIT,
                           "the revisions' cross-reference chains hold more than %d sections or "
                           "%d entries in all",
                           PDF_RAW_MAX_SECTIONS, PDF_RAW_MAX_ENTRIES);
    }
    if (err == PDF_OK)
        err = build_index(v);
    if (err != PDF_OK) {
        pdf_xref_free(v->xref);
        return err;
    }
    r->views[r->n_views++] = v;
    *out = v;
    return PDF_OK;
}

pdf_rev *pdf_raw_final(pdf_raw *r) {
    return r->final;
}

size_t pdf_rev_end(const pdf_rev *v) {
    return v->end;
}

pdf_val *pdf_rev_trailer(const pdf_rev *v) {
    return v->xref->sections[0].trailer;
}

const uint32_t *pdf_rev_numbers(const pdf_rev *v, size_t *n) {
    *n = v->n;
    return v->nums;
}

static const rev_entry *lookup(const pdf_rev *v, uint32_t num) {
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->entries[mid].num < num)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < v->n && v->entries[lo].num == num ? &v->entries[lo] : NULL;
}

static int cmp_hdr(const void *pa, const void *pb) {
    const objhdr *a = pa, *b = pb;
    if (a->num != b->num)
        return a->num < b->num ? -1 : 1;
    return a->off < b->off ? -1 : a->off > b->off;
}

static bool is_digit(uint8_t c) {
    return c >= '0' && c <= '9';
}

/* Every object header of the file, as a reader rebuilding a damaged table finds them
 * (ISO 32000-2 7.5.4 leaves such repair to readers): "num gen obj" after white space. */
static void index_headers(pdf_raw *r) {
    const uint8_t *d = r->data;
    size_t cap = 0;
    r->headers_done = true;
    for (size_t i = 0; i + 3 <= r->len;) {
        const uint8_t *hit = memchr(d + i, 'o', r->len - i);
        if (!hit)
            break;
        size_t k = (size_t)(hit - d);
        i = k + 1;
        if (k + 3 > r->len || memcmp(hit, "obj", 3) != 0 || k < 4 ||
            (k + 3 < r->len && !pdf_is_space(d[k + 3]) && !pdf_is_delim(d[k + 3])))
            continue;
        size_t p = k;
        if (!pdf_is_space(d[p - 1]))
            continue;
        while (p > 0 && pdf_is_space(d[p - 1]))
            p--;
        size_t ge = p;
        while (p > 0 && is_digit(d[p - 1]) && ge - p < 5)
            p--;
        if (p == ge || p == 0 || !pdf_is_space(d[p - 1]))
            continue;
        unsigned long long gen = 0, num = 0;
        for (size_t j = p; j < ge; j++)
            gen = gen * 10 + (unsigned)(d[j] - '0');
        while (p > 0 && pdf_is_space(d[p - 1]))
            p--;
        size_t ne = p;
        while (p > 0 && is_digit(d[p - 1]) && ne - p < 8)
            p--;
        if (p == ne || (p > 0 && !pdf_is_space(d[p - 1]) && !pdf_is_delim(d[p - 1])))
            continue;
        for (size_t j = p; j < ne; j++)
            num = num * 10 + (unsigned)(d[j] - '0');
        if (num == 0 || num > PDF_MAX_OBJNUM || gen > PDF_MAX_GEN)
            continue;
        if (r->n_headers == PDF_RAW_MAX_HEADERS)
            break; /* a file of nothing but headers: the rest stay unindexed */
        if (r->n_headers == cap) {
            size_t ncap = cap ? 2 * cap : 256;
            objhdr *n = realloc(r->headers, ncap * sizeof *n);
            if (!n)
                break;
            r->headers = n;
            cap = ncap;
        }
        r->headers[r->n_headers++] = (objhdr){.num = (uint32_t)num, .gen = (uint16_t)gen, .off = p};
    }
    if (r->n_headers)
        qsort(r->headers, r->n_headers, sizeof *r->headers, cmp_hdr);
}

/* Where object num gen really is when the table's offset does not hold it: its last header
 * before the revision's end, as a rebuilding reader would take it (gen UINT16_MAX: any
 * generation); SIZE_MAX when none. */
static size_t search_header(pdf_raw *r, uint32_t num, uint16_t gen, size_t limit) {
    if (!r->headers_done)
        index_headers(r);
    size_t lo = 0, hi = r->n_headers, found = SIZE_MAX;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->headers[mid].num < num)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < r->n_headers && r->headers[lo].num == num && r->headers[lo].off < limit; lo++)
        if (r->headers[lo].gen == gen || gen == UINT16_MAX)
            found = r->headers[lo].off;
    return found;
}

/* A type 1 location, checked: the table's offset when "num gen obj" is there, else where a
 * search finds it. */
static uint64_t checked_offset(const pdf_rev *v, uint32_t num, uint16_t gen, uint64_t off) {
    pdf_raw *r = v->raw;
    size_t p = (size_t)off;
    uint32_t hn;
    uint16_t hg;
    if (off < v->end && pdf_parse_obj_header(&hn, &hg, r->data, v->end, &p) == PDF_OK &&
        hn == num && hg == gen)
        return off;
    size_t found = search_header(r, num, gen, v->end);
    return found == SIZE_MAX ? off : found;
}

pdf_loc pdf_rev_loc(const pdf_rev *v, uint32_t num) {
    pdf_loc loc = {0};
    const rev_entry *e = lookup(v, num);
    if (!e && v->xref->broken) {
        /* the chain was cut: an object it does not list is taken from its last header */
        size_t found = search_header(v->raw, num, UINT16_MAX, v->end);
        if (found != SIZE_MAX) {
            loc.type = 1;
            loc.where = found;
            loc.repaired = true;
        }
        return loc;
    }
    if (!e || e->type == 0)
        return loc;
    if (e->type == 1) {
        loc.type = 1;
        loc.where = checked_offset(v, num, e->gen, e->f2);
        loc.repaired = loc.where != e->f2;
        return loc;
    }
    /* 7.5.7: an object stream is itself never compressed */
    const rev_entry *s = e->f2 <= PDF_MAX_OBJNUM ? lookup(v, (uint32_t)e->f2) : NULL;
    if (s && s->type == 1) {
        loc.type = 2;
        loc.where = checked_offset(v, (uint32_t)e->f2, s->gen, s->f2);
        loc.repaired = loc.where != s->f2;
        loc.index = e->f3;
    }
    return loc;
}

/* ---- parsing objects ---- */

/* 7.6.2: every string of an indirect object is encrypted, except the /Contents of a
 * signature dictionary; values nest at most PDF_MAX_DEPTH deep (the parser saw to it). */
static pdf_err decrypt_strings(pdf_raw *r, pdf_val *v, uint32_t num, uint16_t gen) {
    pdf_err err = PDF_OK;
    if (v->t == PV_STRING) {
        buf b;
        buf_init(&b, v->u.str.n + 16);
        err = pdf_crypt_decrypt(&b, &r->crypt, false, num, gen, v->u.str.p, v->u.str.n);
        if (err == PDF_OK) {
            uint8_t *p = arena_memdup(&r->a, b.data ? b.data : (const uint8_t *)"", b.len);
            if (!p)
                err = PDF_E_NOMEM;
            v->u.str.p = p;
            v->u.str.n = b.len;
        }
        buf_free(&b);
    } else if (v->t == PV_ARRAY) {
        for (size_t i = 0; err == PDF_OK && i < v->u.arr.n; i++)
            err = decrypt_strings(r, v->u.arr.items[i], num, gen);
    } else if (v->t == PV_DICT) {
        bool sig = pv_dict_get(v, "ByteRange") != NULL;
        for (size_t i = 0; err == PDF_OK && i < v->u.dict.n; i++) {
            if (sig && strcmp(v->u.dict.kv[i].key, "Contents") == 0)
                continue;
            err = decrypt_strings(r, v->u.dict.kv[i].val, num, gen);
        }
    }
    return err;
}

static pdf_err get_entry(robj_entry **out, pdf_rev *v, uint32_t num);

/* 7.3.8.1: the stream's /Length, direct or as an indirect integer. */
static bool stream_length(pdf_rev *v, pdf_val *dict, long long *len) {
    pdf_val *l = pv_dict_get(dict, "Length");
    if (l && l->t == PV_REF) {
        robj_entry *e;
        if (get_entry(&e, v, l->u.ref.num) != PDF_OK || e->o.stream)
            return false;
        l = e->o.val;
    }
    if (!l || l->t != PV_INT || l->u.i < 0)
        return false;
    *len = l->u.i;
    return true;
}

static bool at_keyword(const uint8_t *d, size_t len, size_t p, const char *kw) {
    return pdf_match_keyword(d, len, &p, kw);
}

/* Every "endstream" keyword of the file, once, so that streams with a wrong /Length cost a
 * binary search each rather than a scan. */
static pdf_err index_endstreams(pdf_raw *r) {
    if (r->endstreams_done)
        return PDF_OK;
    size_t cap = 0;
    for (size_t i = 0; i + 9 <= r->len;) {
        const uint8_t *hit = memchr(r->data + i, 'e', r->len - i);
        if (!hit)
            break;
        i = (size_t)(hit - r->data);
        if (i + 9 <= r->len && memcmp(hit, "endstream", 9) == 0) {
            if (r->n_endstreams == cap) {
                cap = cap ? 2 * cap : 64;
                size_t *n = realloc(r->endstreams, cap * sizeof *n);
                if (!n)
                    return PDF_E_NOMEM;
                r->endstreams = n;
            }
            r->endstreams[r->n_endstreams++] = i;
            i += 9;
        } else {
            i++;
        }
    }
    r->endstreams_done = true;
    return PDF_OK;
}

/* Where the data of a stream starting at p ends: at /Length when "endstream" follows it,
 * otherwise before the first "endstream" (as readers do when /Length is wrong). */
static pdf_err stream_span(size_t *data_len, pdf_rev *v, pdf_val *dict, size_t p, size_t limit) {
    const uint8_t *d = v->raw->data;
    long long length;
    if (stream_length(v, dict, &length) && (unsigned long long)length <= limit - p &&
        at_keyword(d, limit, p + (size_t)length, "endstream")) {
        *data_len = (size_t)length;
        return PDF_OK;
    }
    pdf_err err = index_endstreams(v->raw);
    if (err != PDF_OK)
        return err;
    size_t lo = 0, hi = v->raw->n_endstreams;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->raw->endstreams[mid] < p)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < v->raw->n_endstreams && v->raw->endstreams[lo] + 9 <= limit) {
        size_t e = v->raw->endstreams[lo];
        if (e > p && d[e - 1] == '\n')
            e--;
        if (e > p && d[e - 1] == '\r')
            e--;
        *data_len = e - p;
        return PDF_OK;
    }
    return pdf_fail(PDF_E_SYNTAX, "stream at offset %zu has no end", p);
}

/* 7.3.10: "num gen obj" value ["stream" data "endstream"] "endobj" at offset. The object
 * must lie inside the revision that names it. */
static pdf_err parse_at(robj_entry *e, pdf_rev *v, uint32_t num, uint16_t gen, size_t offset) {
    pdf_raw *r = v->raw;
    const uint8_t *d = r->data;
    size_t limit = v->end, p = offset;
    uint32_t hn;
    uint16_t hg;
    if (offset >= limit)
        return pdf_fail(PDF_E_XREF, "object %u: offset %zu outside its revision", num, offset);
    pdf_err err = pdf_parse_obj_header(&hn, &hg, d, limit, &p);
    if (err != PDF_OK || hn != num || hg != gen)
        return pdf_fail(PDF_E_XREF, "object %u %u: offset %zu does not hold it", num, gen, offset);
    pdf_val *val;
    err = pdf_parse_object(&val, &r->a, d, limit, &p);
    if (err != PDF_OK)
        return pdf_fail_wrap(err, "object %u", num);
    e->o.off = offset;
    if (pdf_match_keyword(d, limit, &p, "stream")) {
        if (val->t != PV_DICT)
            return pdf_fail(PDF_E_SYNTAX, "object %u: stream without a dictionary", num);
        /* 7.3.8.1: the keyword is followed by CRLF or LF (a lone CR is tolerated) */
        if (p < limit && d[p] == '\r')
            p++;
        if (p < limit && d[p] == '\n')
            p++;
        e->o.stream = true;
        e->o.data_off = p;
        err = stream_span(&e->o.data_len, v, val, p, limit);
        if (err != PDF_OK)
            return pdf_fail_wrap(err, "object %u", num);
        p += e->o.data_len;
        pdf_match_keyword(d, limit, &p, "endstream");
    }
    pdf_match_keyword(d, limit, &p, "endobj");
    e->o.end = p;
    if (r->encrypted && num != r->encrypt_num &&
        !(e->o.stream && pv_is_name(pv_dict_get(val, "Type"), "XRef")))
        err = decrypt_strings(r, val, num, gen);
    e->o.val = val;
    return err;
}

static pdf_err take_decoded(pdf_raw *r, size_t n) {
    if (n > PDF_RAW_MAX_DECODED - r->decoded)
        return pdf_fail(PDF_E_LIMIT, "streams decode to more than %zu bytes in all",
                        PDF_RAW_MAX_DECODED);
    r->decoded += n;
    return PDF_OK;
}

static pdf_err decode_stream(buf *out, pdf_raw *r, const pdf_robj *o, size_t max) {
    const uint8_t *p = r->data + o->data_off;
    size_t n = o->data_len;
    buf plain;
    buf_init(&plain, n + 64);
    pdf_err err = PDF_OK;
    bool crypt = r->encrypted && !pv_is_name(pv_dict_get(o->val, "Type"), "XRef") &&
                 !(!r->encrypt_metadata && pv_is_name(pv_dict_get(o->val, "Type"), "Metadata"));
    if (crypt) {
        err = pdf_crypt_decrypt(&plain, &r->crypt, true, o->num, o->gen, p, n);
        p = plain.data ? plain.data : (const uint8_t *)"";
        n = plain.len;
    }
    size_t before = out->len;
    if (err == PDF_OK)
        err = pdf_flate_decode(out, o->val, p, n, out->len + max);
    if (err == PDF_OK)
        err = take_decoded(r, out->len - before);
    buf_free(&plain);
    return err;
}

/* 7.5.7: the header of N pairs "objnum offset", then the objects from /First. */
static pdf_err load_objstm(objstm **out, pdf_rev *v, uint32_t snum) {
    pdf_raw *r = v->raw;
    const rev_entry *se = lookup(v, snum);
    *out = NULL;
    if (!se || se->type != 1)
        return pdf_fail(PDF_E_XREF, "object stream %u is not an uncompressed object", snum);
    uint64_t where = pdf_rev_loc(v, snum).where;
    objstm *s = u64map_get(&r->objstms, where);
    if (s) {
        *out = s;
        return s->err;
    }
    s = arena_alloc(&r->a, sizeof *s);
    if (!s)
        return PDF_E_NOMEM;
    robj_entry *e;
    buf dec;
    buf_init(&dec, PDF_RAW_MAX_STREAM);
    pdf_err err = get_entry(&e, v, snum);
    long long n, first;
    if (err == PDF_OK &&
        (!e->o.stream || !pv_is_name(pv_dict_get(e->o.val, "Type"), "ObjStm") ||
         !pv_dict_get_int(e->o.val, "N", &n) || !pv_dict_get_int(e->o.val, "First", &first) ||
         n < 0 || n > PDF_RAW_MAX_OBJSTM_N || first < 0))
        err = pdf_fail(PDF_E_SYNTAX, "object %u is not a valid object stream", snum);
    if (err == PDF_OK)
        err = decode_stream(&dec, r, &e->o, PDF_RAW_MAX_STREAM);
    if (err == PDF_OK && (size_t)first > dec.len)
        err = pdf_fail(PDF_E_SYNTAX, "object stream %u: /First beyond its data", snum);
    if (err == PDF_OK) {
        s->len = dec.len;
        s->data = arena_memdup(&r->a, dec.data ? dec.data : (const uint8_t *)"", dec.len);
        s->n = (size_t)n;
        s->nums = arena_alloc(&r->a, ((size_t)n + 1) * sizeof *s->nums);
        s->offs = arena_alloc(&r->a, ((size_t)n + 1) * sizeof *s->offs);
        if (!s->data || !s->nums || !s->offs)
            err = PDF_E_NOMEM;
    }
    size_t p = 0;
    for (size_t i = 0; err == PDF_OK && i < s->n; i++) {
        pdf_val *a, *b;
        if (pdf_parse_object(&a, &r->a, s->data, (size_t)first, &p) != PDF_OK ||
            pdf_parse_object(&b, &r->a, s->data, (size_t)first, &p) != PDF_OK || a->t != PV_INT ||
            b->t != PV_INT || a->u.i <= 0 || a->u.i > PDF_MAX_OBJNUM || b->u.i < 0 ||
            (unsigned long long)b->u.i > s->len - (size_t)first ||
            (i > 0 && (size_t)first + (size_t)b->u.i < s->offs[i - 1])) {
            err = pdf_fail(PDF_E_SYNTAX, "object stream %u: header corrupt at pair %zu", snum, i);
            break;
        }
        s->nums[i] = (uint32_t)a->u.i;
        s->offs[i] = (size_t)first + (size_t)b->u.i;
    }
    if (err == PDF_OK)
        s->offs[s->n] = s->len;
    buf_free(&dec);
    s->err = err;
    int rc = u64map_put(&r->objstms, where, s);
    if (err == PDF_OK)
        err = bufres(rc);
    *out = s;
    return err;
}

static pdf_err parse_in_stream(robj_entry *e, pdf_rev *v, uint32_t num, uint32_t snum,
                               uint32_t index) {
    objstm *s;
    pdf_err err = load_objstm(&s, v, snum);
    if (err != PDF_OK)
        return pdf_fail_wrap(err, "object %u (in object stream %u)", num, snum);
    if (index >= s->n || s->nums[index] != num)
        return pdf_fail(PDF_E_XREF, "object %u is not at index %u of object stream %u", num, index,
                        snum);
    size_t p = s->offs[index];
    pdf_val *val;
    err = pdf_parse_object(&val, &v->raw->a, s->data, s->offs[index + 1], &p);
    if (err != PDF_OK)
        return pdf_fail_wrap(err, "object %u (in object stream %u)", num, snum);
    e->o.val = val;
    return PDF_OK;
}

static uint64_t loc_key(pdf_loc loc) {
    return loc.type == 1 ? loc.where : (uint64_t)1 << 63 | loc.where << 20 | loc.index;
}

static pdf_val null_val = {.t = PV_NULL};

static pdf_err get_entry(robj_entry **out, pdf_rev *v, uint32_t num) {
    pdf_raw *r = v->raw;
    static robj_entry free_entry = {.o = {.val = &null_val}, .done = true};
    const rev_entry *re = lookup(v, num);
    pdf_loc loc = pdf_rev_loc(v, num);
    *out = &free_entry;
    /* an object a cut chain does not list, found by its header: as a type 1 entry */
    rev_entry found = {.num = num, .type = 1};
    if (!re && loc.type == 1) {
        size_t p = (size_t)loc.where;
        uint32_t hn;
        if (pdf_parse_obj_header(&hn, &found.gen, r->data, v->end, &p) != PDF_OK)
            return PDF_OK;
        re = &found;
    }
    if (!re || re->type == 0)
        return PDF_OK;
    if (loc.type == 0)
        return pdf_fail(PDF_E_XREF, "object %u: its object stream %llu is missing", num,
                        (unsigned long long)re->f2);
    if (loc.where >= (uint64_t)1 << 42)
        return pdf_fail(PDF_E_XREF, "object %u: offset out of range", num);
    uint64_t key = loc_key(loc);
    robj_entry *e = u64map_get(&r->objs, key);
    if (e) {
        *out = e;
        if (e->busy)
            return pdf_fail(PDF_E_SYNTAX, "object %u refers to itself while being read", num);
        return e->err;
    }
    /* a /Length or an object stream needs another object first, whose own stream may need
     * another: bound the chain rather than the stack (not cached: it depends on the way in) */
    if (r->depth >= 16)
        return pdf_fail(PDF_E_LIMIT, "object %u: more than 16 objects needed to read it", num);
    e = arena_alloc(&r->a, sizeof *e);
    if (!e)
        return PDF_E_NOMEM;
    pdf_err err = bufres(u64map_put(&r->objs, key, e));
    if (err != PDF_OK)
        return err;
    r->depth++;
    e->o.val = &null_val; /* until parsed: a loop back here sees a null object */
    e->busy = true;
    e->o.num = num;
    e->o.gen = re->type == 1 ? re->gen : 0;
    e->o.loc = loc;
    if (loc.repaired && r->repaired++ == 0)
        r->first_repaired = num;
    if (re->type == 1)
        err = parse_at(e, v, num, re->gen, (size_t)loc.where);
    else
        err = parse_in_stream(e, v, num, (uint32_t)re->f2, re->f3);
    if (err != PDF_OK)
        e->o.val = &null_val;
    e->err = err;
    e->busy = false;
    e->done = true;
    r->depth--;
    *out = e;
    return err;
}

pdf_err pdf_rev_obj(const pdf_robj **out, pdf_rev *v, uint32_t num) {
    robj_entry *e;
    pdf_err err = get_entry(&e, v, num);
    *out = &e->o;
    return err;
}

pdf_val *pdf_rev_resolve(pdf_rev *v, pdf_val *val) {
    for (int hops = 0; val && val->t == PV_REF; hops++) {
        robj_entry *e;
        if (hops == 8 || get_entry(&e, v, val->u.ref.num) != PDF_OK)
            return NULL;
        val = e->o.val;
    }
    return val;
}

pdf_val *pdf_rev_get(pdf_rev *v, const pdf_val *dict, const char *key) {
    return dict && dict->t == PV_DICT ? pdf_rev_resolve(v, pv_dict_get(dict, key)) : NULL;
}

pdf_err pdf_rev_stream_data(buf *out, pdf_rev *v, const pdf_robj *o, size_t max) {
    if (!o->stream)
        return pdf_fail(PDF_E_ARG, "object %u is not a stream", o->num);
    return decode_stream(out, v->raw, o, max);
}

/* ---- equality ---- */

static int cmp_kv(const void *pa, const void *pb) {
    return strcmp(((const pdf_kv *)pa)->key, ((const pdf_kv *)pb)->key);
}

/* The non-null entries of d, sorted by key (malloc'd); *n their count. NULL on no memory. */
static pdf_kv *sorted_entries(const pdf_val *d, size_t *n) {
    pdf_kv *kv = malloc((d->u.dict.n ? d->u.dict.n : 1) * sizeof *kv);
    *n = 0;
    for (size_t i = 0; kv && i < d->u.dict.n; i++)
        if (d->u.dict.kv[i].val->t != PV_NULL)
            kv[(*n)++] = d->u.dict.kv[i];
    if (kv)
        qsort(kv, *n, sizeof *kv, cmp_kv);
    return kv;
}

/* 7.3.7: a null value is the same as no entry. Small dictionaries by lookup, large ones by
 * merging sorted entries, so that equality stays O(n log n). */
static bool dict_equal(const pdf_val *a, const pdf_val *b) {
    if (a->u.dict.n <= 16 && b->u.dict.n <= 16) {
        size_t na = 0, nb = 0;
        for (size_t i = 0; i < a->u.dict.n; i++) {
            const pdf_val *x = a->u.dict.kv[i].val;
            if (x->t == PV_NULL)
                continue;
            na++;
            if (!pdf_val_equal(x, pv_dict_get(b, a->u.dict.kv[i].key)))
                return false;
        }
        for (size_t i = 0; i < b->u.dict.n; i++)
            nb += b->u.dict.kv[i].val->t != PV_NULL;
        return na == nb;
    }
    size_t na, nb;
    pdf_kv *x = sorted_entries(a, &na), *y = sorted_entries(b, &nb);
    bool eq = x && y && na == nb;
    for (size_t i = 0; eq && i < na; i++)
        eq = strcmp(x[i].key, y[i].key) == 0 && pdf_val_equal(x[i].val, y[i].val);
    free(x);
    free(y);
    return eq;
}

bool pdf_val_equal(const pdf_val *a, const pdf_val *b) {
    if (a == b)
        return true;
    if (!a || !b)
        return false;
    if (a->t != b->t) {
        double x, y;
        return pv_number(a, &x) && pv_number(b, &y) && x == y;
    }
    switch (a->t) {
    case PV_NULL:
        return true;
    case PV_BOOL:
        return a->u.b == b->u.b;
    case PV_INT:
        return a->u.i == b->u.i;
    case PV_REAL:
        return a->u.r == b->u.r;
    case PV_NAME:
        return strcmp(a->u.name, b->u.name) == 0;
    case PV_STRING:
        return a->u.str.n == b->u.str.n &&
               (a->u.str.n == 0 || memcmp(a->u.str.p, b->u.str.p, a->u.str.n) == 0);
    case PV_REF:
        return a->u.ref.num == b->u.ref.num && a->u.ref.gen == b->u.ref.gen;
    case PV_ARRAY:
        if (a->u.arr.n != b->u.arr.n)
            return false;
        for (size_t i = 0; i < a->u.arr.n; i++)
            if (!pdf_val_equal(a->u.arr.items[i], b->u.arr.items[i]))
                return false;
        return true;
    case PV_DICT:
        return dict_equal(a, b);
    default:
        return false;
    }
}

/* ---- opening ---- */

static pdf_crypt_method cf_method(pdf_rev *v, pdf_val *enc, const char *which) {
    pdf_val *name = pv_dict_get(enc, which);
    if (!name || name->t != PV_NAME || strcmp(name->u.name, "Identity") == 0)
        return PDF_CM_NONE;
    pdf_val *filter = pdf_rev_get(v, pdf_rev_get(v, enc, "CF"), name->u.name);
    const char *m = pv_dict_get_name(filter, "CFM");
    return !m                        ? PDF_CM_NONE
           : strcmp(m, "V2") == 0    ? PDF_CM_RC4
           : strcmp(m, "AESV2") == 0 ? PDF_CM_AESV2
           : strcmp(m, "AESV3") == 0 ? PDF_CM_AESV3
                                     : PDF_CM_NONE;
}

static const uint8_t *str_key(const pdf_val *d, const char *key, size_t *n) {
    pdf_val *v = pv_dict_get(d, key);
    *n = v && v->t == PV_STRING ? v->u.str.n : 0;
    return v && v->t == PV_STRING ? v->u.str.p : NULL;
}

static int int_key(const pdf_val *d, const char *key, int dflt) {
    long long v;
    return pv_dict_get_int(d, key, &v) && v >= INT32_MIN && v <= INT32_MAX ? (int)v : dflt;
}

/* 7.6.4: the standard security handler, from the final revision's /Encrypt. */
static pdf_err setup_crypt(pdf_raw *r, const char *password) {
    pdf_rev *v = r->final;
    pdf_val *ref = pv_dict_get(pdf_rev_trailer(v), "Encrypt");
    if (!ref)
        return PDF_OK;
    if (ref->t == PV_REF)
        r->encrypt_num = ref->u.ref.num;
    pdf_val *enc = pdf_rev_resolve(v, ref);
    if (enc && enc->t == PV_NULL)
        return PDF_OK; /* 7.3.7: "/Encrypt null" is no entry */
    if (!enc || enc->t != PV_DICT)
        return pdf_fail(PDF_E_ENCRYPTION, "the encryption dictionary cannot be read");
    if (!pv_is_name(pv_dict_get(enc, "Filter"), "Standard"))
        return pdf_fail(PDF_E_ENCRYPTION, "the document is encrypted with a security handler "
                                          "other than /Standard (a certificate-based handler?)");
    pdf_crypt_params p = {0};
    p.V = int_key(enc, "V", 0);
    p.R = int_key(enc, "R", 0);
    p.length_bits = int_key(enc, "Length", 40);
    long long P = 0;
    pv_dict_get_int(enc, "P", &P);
    p.P = (int32_t)(uint32_t)(unsigned long long)P;
    p.O = str_key(enc, "O", &p.O_len);
    p.U = str_key(enc, "U", &p.U_len);
    p.OE = str_key(enc, "OE", &p.OE_len);
    p.UE = str_key(enc, "UE", &p.UE_len);
    p.Perms = str_key(enc, "Perms", &p.Perms_len);
    pdf_val *em = pv_dict_get(enc, "EncryptMetadata");
    p.encrypt_metadata = !em || em->t != PV_BOOL || em->u.b;
    if (p.V >= 4) {
        p.stm = cf_method(v, enc, "StmF");
        p.str = cf_method(v, enc, "StrF");
    } else {
        p.stm = p.str = PDF_CM_RC4;
    }
    pdf_val *id = pv_dict_get(pdf_rev_trailer(v), "ID");
    if (id && id->t == PV_ARRAY && id->u.arr.n >= 1 && id->u.arr.items[0]->t == PV_STRING) {
        p.id0 = id->u.arr.items[0]->u.str.p;
        p.id0_len = id->u.arr.items[0]->u.str.n;
    }
    pdf_err err = pdf_crypt_init(&r->crypt, &p, password ? password : "");
    if (err == PDF_OK) {
        r->encrypted = true;
        r->encrypt_metadata = p.encrypt_metadata;
        /* The encryption dictionary was read before the key was known: objects parsed so
         * far hold encrypted strings. Start again. */
        u64map_free(&r->objs);
        u64map_free(&r->objstms);
    }
    return err;
}

pdf_err pdf_raw_open(pdf_raw **out, const uint8_t *data, size_t len, const char *password) {
    *out = NULL;
    pdf_raw *r = calloc(1, sizeof *r);
    if (!r)
        return PDF_E_NOMEM;
    r->data = data;
    r->len = len;
    arena_init(&r->a, PDF_RAW_MAX_MEMORY);
    u64map_init(&r->objs, PDF_MAX_OBJNUM * 4u);
    u64map_init(&r->objstms, PDF_MAX_OBJNUM);
    pdf_err err = PDF_OK;
    if (len == 0)
        err = pdf_fail(PDF_E_EMPTY, "the file is empty");
    if (err == PDF_OK)
        err = find_revisions(r);
    if (err == PDF_OK)
        err = setup_crypt(r, password);
    if (err == PDF_OK)
        *out = r;
    else
        pdf_raw_free(r);
    return err;
}

void pdf_raw_free(pdf_raw *r) {
    if (!r)
        return;
    for (size_t i = 0; i < r->n_views; i++)
        pdf_xref_free(r->views[i]->xref);
    free(r->views);
    free(r->ends);
    free(r->endstreams);
    free(r->headers);
    u64map_free(&r->objs);
    u64map_free(&r->objstms);
    arena_free(&r->a);
    free(r);
}

const uint8_t *pdf_raw_data(const pdf_raw *r, size_t *len) {
    *len = r->len;
    return r->data;
}

bool pdf_raw_encrypted(const pdf_raw *r) {
    return r->encrypted;
}

const size_t *pdf_raw_revision_ends(const pdf_raw *r, size_t *n) {
    *n = r->n_ends;
    return r->ends;
}

int pdf_raw_revision_at(const pdf_raw *r, size_t end) {
    for (size_t i = 0; i < r->n_ends; i++) {
        size_t e = r->ends[i];
        /* the marker's own end, or after one or both end-of-line characters */
        size_t m = e;
        while (m > 0 && (r->data[m - 1] == '\r' || r->data[m - 1] == '\n') && e - m < 2)
            m--;
        if (end >= m && end <= e)
            return (int)i;
    }
    return -1;
}

size_t pdf_raw_trailing(const pdf_raw *r) {
    return r->trailing;
}

size_t pdf_raw_repaired(const pdf_raw *r, uint32_t *first) {
    *first = r->first_repaired;
    return r->repaired;
}
