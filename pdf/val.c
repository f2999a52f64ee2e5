/* PDF objects in memory and their serialisation (ISO 32000-2 clause 7.3). */
#include "pdf/val.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "pdf/internal.h"

static pdf_val *pv_new(arena *a, pdf_vtype t) {
    pdf_val *v = arena_alloc(a, sizeof *v);
    if (v)
        v->t = t;
    return v;
}

pdf_val *pv_null(arena *a) {
    return pv_new(a, PV_NULL);
}

pdf_val *pv_bool(arena *a, bool b) {
    pdf_val *v = pv_new(a, PV_BOOL);
    if (v)
        v->u.b = b;
    return v;
}

pdf_val *pv_int(arena *a, long long i) {
    pdf_val *v = pv_new(a, PV_INT);
    if (v)
        v->u.i = i;
    return v;
}

pdf_val *pv_real(arena *a, double r) {
    pdf_val *v = pv_new(a, PV_REAL);
    if (v)
        v->u.r = r;
    return v;
}

pdf_val *pv_name(arena *a, const char *name) {
    pdf_val *v = pv_new(a, PV_NAME);
    if (v && !(v->u.name = arena_strdup(a, name)))
        v = NULL;
    return v;
}

pdf_val *pv_string(arena *a, const void *p, size_t n) {
    pdf_val *v = pv_new(a, PV_STRING);
    if (v) {
        v->u.str.p = arena_memdup(a, p, n);
        v->u.str.n = n;
        if (!v->u.str.p)
            v = NULL;
    }
    return v;
}

/* Decodes one UTF-8 sequence; returns its length or 0 when invalid. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    if (n == 0)
        return 0;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t len = (s[0] & 0xE0) == 0xC0   ? 2
                 : (s[0] & 0xF0) == 0xE0 ? 3
                 : (s[0] & 0xF8) == 0xF0 ? 4
                                         : 0;
    if (len == 0 || len > n)
        return 0;
    uint32_t c = s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < min[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

/* ISO 32000-2 7.9.2.2: text strings are PDFDocEncoding or UTF-16BE with a BOM. ASCII printable
 * text and common whitespace is the same in PDFDocEncoding; anything else goes as UTF-16BE. */
pdf_val *pv_text(arena *a, const char *utf8) {
    size_t n = strlen(utf8);
    bool ascii = true;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)utf8[i];
        if (c >= 0x7F || (c < 0x20 && c != '\n' && c != '\r' && c != '\t'))
            ascii = false;
    }
    if (ascii)
        return pv_string(a, utf8, n);
    if (n > (SIZE_MAX - 2) / 4)
        return NULL;
    uint8_t *out = arena_alloc(a, 2 + 4 * n);
    if (!out)
        return NULL;
    size_t o = 0;
    out[o++] = 0xFE;
    out[o++] = 0xFF;
    const unsigned char *s = (const unsigned char *)utf8;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = utf8_decode(s + i, n - i, &cp);
        if (len == 0)
            return NULL;
        i += len;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            uint32_t hi = 0xD800 + (cp >> 10), lo = 0xDC00 + (cp & 0x3FF);
            out[o++] = (uint8_t)(hi >> 8);
            out[o++] = (uint8_t)hi;
            out[o++] = (uint8_t)(lo >> 8);
            out[o++] = (uint8_t)lo;
        } else {
            out[o++] = (uint8_t)(cp >> 8);
            out[o++] = (uint8_t)cp;
        }
    }
    pdf_val *v = pv_new(a, PV_STRING);
    if (v) {
        v->u.str.p = out;
        v->u.str.n = o;
    }
    return v;
}

/* ISO 32000-2 Annex D.2: PDFDocEncoding where it differs from ISO 8859-1 (0 = undefined). */
static const uint16_t pdfdoc_18[8] = {0x02D8, 0x02C7, 0x02C6, 0x02D9,
                                      0x02DD, 0x02DB, 0x02DA, 0x02DC};
static const uint16_t pdfdoc_80[33] = {
    0x2022, 0x2020, 0x2021, 0x2026, 0x2014, 0x2013, 0x0192, 0x2044, 0x2039, 0x203A, 0x2212,
    0x2030, 0x201E, 0x201C, 0x201D, 0x2018, 0x2019, 0x201A, 0x2122, 0xFB01, 0xFB02, 0x0141,
    0x0152, 0x0160, 0x0178, 0x017D, 0x0131, 0x0142, 0x0153, 0x0161, 0x017E, 0,      0x20AC};

/* Control characters would let a document drive the terminal a report is printed on. */
static void put_cp(buf *b, uint32_t cp) {
    if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || (cp >= 0xD800 && cp < 0xE000) || cp > 0x10FFFF)
        cp = 0xFFFD;
    if (cp < 0x80) {
        buf_putc(b, (uint8_t)cp);
    } else if (cp < 0x800) {
        buf_putc(b, (uint8_t)(0xC0 | cp >> 6));
        buf_putc(b, (uint8_t)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        buf_putc(b, (uint8_t)(0xE0 | cp >> 12));
        buf_putc(b, (uint8_t)(0x80 | (cp >> 6 & 0x3F)));
        buf_putc(b, (uint8_t)(0x80 | (cp & 0x3F)));
    } else {
        buf_putc(b, (uint8_t)(0xF0 | cp >> 18));
        buf_putc(b, (uint8_t)(0x80 | (cp >> 12 & 0x3F)));
        buf_putc(b, (uint8_t)(0x80 | (cp >> 6 & 0x3F)));
        buf_putc(b, (uint8_t)(0x80 | (cp & 0x3F)));
    }
}

char *pv_text_utf8(const pdf_val *v, size_t max) {
    if (!v || (v->t != PV_STRING && v->t != PV_NAME))
        return NULL;
    const uint8_t *p = v->t == PV_STRING ? v->u.str.p : (const uint8_t *)v->u.name;
    size_t n = v->t == PV_STRING ? v->u.str.n : strlen(v->u.name);
    buf b;
    buf_init(&b, max + 8);
    if (n >= 2 && p[0] == 0xFE && p[1] == 0xFF) { /* 7.9.2.2.1: UTF-16BE */
        for (size_t i = 2; i + 1 < n && b.len < max; i += 2) {
            uint32_t cp = (uint32_t)p[i] << 8 | p[i + 1];
            if (cp >= 0xD800 && cp < 0xDC00 && i + 3 < n) {
                uint32_t lo = (uint32_t)p[i + 2] << 8 | p[i + 3];
                if (lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 2;
                }
            }
            put_cp(&b, cp);
        }
    } else if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) { /* PDF 2.0 UTF-8 */
        for (size_t i = 3; i < n && b.len < max;) {
            uint32_t cp;
            size_t len = utf8_decode(p + i, n - i, &cp);
            if (len == 0) {
                cp = 0xFFFD;
                len = 1;
            }
            put_cp(&b, cp);
            i += len;
        }
    } else {
        for (size_t i = 0; i < n && b.len < max; i++) {
            uint32_t cp = p[i];
            if (cp >= 0x18 && cp < 0x20)
                cp = pdfdoc_18[cp - 0x18];
            else if (cp >= 0x80 && cp <= 0xA0)
                cp = pdfdoc_80[cp - 0x80] ? pdfdoc_80[cp - 0x80] : 0xFFFD;
            else if (cp == 0xAD)
                cp = 0xFFFD;
            else if (cp == '\t' || cp == '\n' || cp == '\r')
                cp = ' ';
            put_cp(&b, cp);
        }
    }
    buf_putc(&b, 0);
    size_t len;
    char *out = (char *)buf_detach(&b, &len);
    if (!out)
        out = calloc(1, 1);
    return out;
}

pdf_val *pv_array(arena *a) {
    return pv_new(a, PV_ARRAY);
}

pdf_val *pv_dict(arena *a) {
    return pv_new(a, PV_DICT);
}

pdf_val *pv_ref(arena *a, uint32_t num, uint16_t gen) {
    pdf_val *v = pv_new(a, PV_REF);
    if (v) {
        v->u.ref.num = num;
        v->u.ref.gen = gen;
    }
    return v;
}

pdf_val *pv_rect(arena *a, const double r[4]) {
    pdf_val *arr = pv_array(a);
    for (int i = 0; arr && i < 4; i++)
        if (pv_array_push(a, arr, pv_real(a, r[i])) != PDF_OK)
            arr = NULL;
    return arr;
}

/* Grows an arena-backed vector of elem-sized items to hold one more. */
static pdf_err grow(arena *a, void **items, size_t *cap, size_t n, size_t elem) {
    if (n >= PDF_MAX_ITEMS)
        return pdf_fail(PDF_E_LIMIT, "more than %d items in one array or dictionary",
                        PDF_MAX_ITEMS);
    if (n < *cap)
        return PDF_OK;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *p = arena_alloc(a, ncap * elem);
    if (!p)
        return PDF_E_NOMEM;
    if (n)
        memcpy(p, *items, n * elem);
    *items = p;
    *cap = ncap;
    return PDF_OK;
}

pdf_err pv_array_push(arena *a, pdf_val *arr, pdf_val *item) {
    if (!arr || !item)
        return PDF_E_NOMEM;
    if (arr->t != PV_ARRAY)
        return pdf_fail(PDF_E_ARG, "not an array");
    void *items = arr->u.arr.items;
    pdf_err err = grow(a, &items, &arr->u.arr.cap, arr->u.arr.n, sizeof(pdf_val *));
    if (err == PDF_OK) {
        arr->u.arr.items = items;
        arr->u.arr.items[arr->u.arr.n++] = item;
    }
    return err;
}

pdf_err pv_dict_set(arena *a, pdf_val *dict, const char *key, pdf_val *val) {
    if (!dict || !val)
        return PDF_E_NOMEM;
    if (dict->t != PV_DICT)
        return pdf_fail(PDF_E_ARG, "not a dictionary");
    for (size_t i = 0; i < dict->u.dict.n; i++) {
        if (strcmp(dict->u.dict.kv[i].key, key) == 0) {
            dict->u.dict.kv[i].val = val;
            return PDF_OK;
        }
    }
    void *items = dict->u.dict.kv;
    pdf_err err = grow(a, &items, &dict->u.dict.cap, dict->u.dict.n, sizeof(pdf_kv));
    if (err != PDF_OK)
        return err;
    dict->u.dict.kv = items;
    const char *k = arena_strdup(a, key);
    if (!k)
        return PDF_E_NOMEM;
    dict->u.dict.kv[dict->u.dict.n].key = k;
    dict->u.dict.kv[dict->u.dict.n].val = val;
    dict->u.dict.n++;
    return PDF_OK;
}

void pv_dict_remove(pdf_val *dict, const char *key) {
    if (!dict || dict->t != PV_DICT)
        return;
    for (size_t i = 0; i < dict->u.dict.n; i++) {
        if (strcmp(dict->u.dict.kv[i].key, key) == 0) {
            memmove(&dict->u.dict.kv[i], &dict->u.dict.kv[i + 1],
                    (dict->u.dict.n - i - 1) * sizeof(pdf_kv));
            dict->u.dict.n--;
            return;
        }
    }
}

pdf_val *pv_dict_get(const pdf_val *dict, const char *key) {
    if (!dict || dict->t != PV_DICT)
        return NULL;
    for (size_t i = 0; i < dict->u.dict.n; i++)
        if (strcmp(dict->u.dict.kv[i].key, key) == 0)
            return dict->u.dict.kv[i].val;
    return NULL;
}

const char *pv_dict_get_name(const pdf_val *dict, const char *key) {
    pdf_val *v = pv_dict_get(dict, key);
    return v && v->t == PV_NAME ? v->u.name : NULL;
}

bool pv_dict_get_int(const pdf_val *dict, const char *key, long long *out) {
    pdf_val *v = pv_dict_get(dict, key);
    if (!v || v->t != PV_INT)
        return false;
    *out = v->u.i;
    return true;
}

bool pv_is_name(const pdf_val *v, const char *name) {
    return v && v->t == PV_NAME && strcmp(v->u.name, name) == 0;
}

bool pv_number(const pdf_val *v, double *out) {
    if (v && v->t == PV_INT) {
        *out = (double)v->u.i;
        return true;
    }
    if (v && v->t == PV_REAL) {
        *out = v->u.r;
        return true;
    }
    return false;
}

/* ---- serialisation ---- */

static pdf_err bufres(int rc) {
    return rc == BUF_OK ? PDF_OK : rc == BUF_ENOMEM ? PDF_E_NOMEM : PDF_E_LIMIT;
}

/* ISO 32000-2 7.3.5: a name's bytes outside '!'..'~', the delimiters and '#' are written #xx. */
pdf_err pv_write_name(buf *out, const char *name) {
    pdf_err err = bufres(buf_putc(out, '/'));
    for (const unsigned char *p = (const unsigned char *)name; *p && err == PDF_OK; p++) {
        if (*p < 0x21 || *p > 0x7E || strchr("#()<>[]{}/%", *p))
            err = bufres(buf_printf(out, "#%02X", *p));
        else
            err = bufres(buf_putc(out, *p));
    }
    return err;
}

/* ISO 32000-2 7.3.3: reals have no exponent; six decimals, trailing zeros trimmed. */
static pdf_err write_real(buf *out, double r) {
    char tmp[64];
    if (!isfinite(r) || fabs(r) > 1e15)
        r = 0;
    snprintf(tmp, sizeof tmp, "%.6f", r);
    char *dot = strchr(tmp, '.');
    if (dot) {
        char *end = tmp + strlen(tmp) - 1;
        while (end > dot && *end == '0')
            *end-- = '\0';
        if (end == dot)
            *end = '\0';
    }
    if (strcmp(tmp, "-0") == 0)
        strcpy(tmp, "0");
    return bufres(buf_puts(out, tmp));
}

/* ISO 32000-2 7.3.4.2: printable text as a literal string with \ ( ) escaped; anything else
 * in hexadecimal. */
static pdf_err write_string_plain(buf *out, const uint8_t *p, size_t n) {
    bool printable = true;
    for (size_t i = 0; i < n && printable; i++)
        printable = p[i] >= 0x20 && p[i] < 0x7F;
    pdf_err err;
    if (!printable) {
        err = bufres(buf_putc(out, '<'));
        if (err == PDF_OK)
            err = bufres(buf_put_hex(out, p, n));
        if (err == PDF_OK)
            err = bufres(buf_putc(out, '>'));
        return err;
    }
    err = bufres(buf_putc(out, '('));
    for (size_t i = 0; i < n && err == PDF_OK; i++) {
        if (p[i] == '(' || p[i] == ')' || p[i] == '\\')
            err = bufres(buf_putc(out, '\\'));
        if (err == PDF_OK)
            err = bufres(buf_putc(out, p[i]));
    }
    if (err == PDF_OK)
        err = bufres(buf_putc(out, ')'));
    return err;
}

static pdf_err write_string(buf *out, const uint8_t *p, size_t n, const pdf_string_encoder *enc) {
    if (!enc)
        return write_string_plain(out, p, n);
    buf tmp;
    buf_init(&tmp, out->max);
    pdf_err err = enc->encrypt(enc->ctx, &tmp, p, n);
    if (err == PDF_OK)
        err = bufres(buf_putc(out, '<'));
    if (err == PDF_OK)
        err = bufres(buf_put_hex(out, tmp.data, tmp.len));
    if (err == PDF_OK)
        err = bufres(buf_putc(out, '>'));
    buf_free(&tmp);
    return err;
}

/* Width of the /ByteRange placeholder: "[0 " + three 10-digit numbers + "]". */
#define BYTERANGE_WIDTH 36

static pdf_err write_val(buf *out, const pdf_val *v, const pdf_string_encoder *enc,
                         pdf_sig_marks *marks, int depth) {
    pdf_err err = PDF_OK;
    if (depth > PDF_MAX_DEPTH)
        return pdf_fail(PDF_E_LIMIT, "objects nested deeper than %d", PDF_MAX_DEPTH);
    switch (v->t) {
    case PV_NULL:
        err = bufres(buf_puts(out, "null"));
        break;
    case PV_BOOL:
        err = bufres(buf_puts(out, v->u.b ? "true" : "false"));
        break;
    case PV_INT:
        err = bufres(buf_printf(out, "%lld", v->u.i));
        break;
    case PV_REAL:
        err = write_real(out, v->u.r);
        break;
    case PV_NAME:
        err = pv_write_name(out, v->u.name);
        break;
    case PV_STRING:
        err = write_string(out, v->u.str.p, v->u.str.n, enc);
        break;
    case PV_REF:
        err = bufres(buf_printf(out, "%u %u R", v->u.ref.num, (unsigned)v->u.ref.gen));
        break;
    case PV_ARRAY:
        err = bufres(buf_putc(out, '['));
        for (size_t i = 0; i < v->u.arr.n && err == PDF_OK; i++) {
            if (i)
                err = bufres(buf_putc(out, ' '));
            if (err == PDF_OK)
                err = write_val(out, v->u.arr.items[i], enc, marks, depth + 1);
        }
        if (err == PDF_OK)
            err = bufres(buf_putc(out, ']'));
        break;
    case PV_DICT:
        err = bufres(buf_puts(out, "<<"));
        for (size_t i = 0; i < v->u.dict.n && err == PDF_OK; i++) {
            err = pv_write_name(out, v->u.dict.kv[i].key);
            if (err == PDF_OK)
                err = bufres(buf_putc(out, ' '));
            if (err == PDF_OK)
                err = write_val(out, v->u.dict.kv[i].val, enc, marks, depth + 1);
        }
        if (err == PDF_OK)
            err = bufres(buf_puts(out, ">>"));
        break;
    case PV_SIG_BYTERANGE:
        if (!marks)
            return pdf_fail(PDF_E_ARG, "/ByteRange placeholder outside a signature dictionary");
        marks->byterange_at = out->len;
        marks->byterange_len = BYTERANGE_WIDTH;
        err = bufres(buf_printf(out, "%-*s", BYTERANGE_WIDTH, "[0 0 0 0]"));
        break;
    case PV_SIG_CONTENTS:
        if (!marks)
            return pdf_fail(PDF_E_ARG, "/Contents placeholder outside a signature dictionary");
        if (v->u.contents_cap > SIZE_MAX / 2 - 2)
            return pdf_fail(PDF_E_LIMIT, "signature placeholder too large");
        /* ISO 32000-2 7.6.2: the signature's /Contents is never encrypted. */
        marks->contents_at = out->len;
        marks->contents_len = 2 * v->u.contents_cap + 2;
        err = bufres(buf_reserve(out, marks->contents_len));
        if (err == PDF_OK) {
            out->data[out->len] = '<';
            memset(out->data + out->len + 1, '0', 2 * v->u.contents_cap);
            out->data[out->len + marks->contents_len - 1] = '>';
            out->len += marks->contents_len;
        }
        break;
    }
    return err;
}

pdf_err pv_write(buf *out, const pdf_val *v, const pdf_string_encoder *enc, pdf_sig_marks *marks) {
    return write_val(out, v, enc, marks, 0);
}
