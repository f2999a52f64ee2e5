/* Lexical conventions and object syntax of ISO 32000-2 clauses 7.2 and 7.3. */
#include "pdf/lex.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pdf/internal.h"

bool pdf_is_space(uint8_t c) {
    return c == 0 || c == 9 || c == 10 || c == 12 || c == 13 || c == 32;
}

bool pdf_is_delim(uint8_t c) {
    return c == '(' || c == ')' || c == '<' || c == '>' || c == '[' || c == ']' || c == '{' ||
           c == '}' || c == '/' || c == '%';
}

static bool is_regular(uint8_t c) {
    return !pdf_is_space(c) && !pdf_is_delim(c);
}

void pdf_skip_space(const uint8_t *data, size_t len, size_t *pos) {
    size_t p = *pos;
    while (p < len) {
        if (pdf_is_space(data[p])) {
            p++;
        } else if (data[p] == '%') {
            while (p < len && data[p] != '\n' && data[p] != '\r')
                p++;
        } else {
            break;
        }
    }
    *pos = p;
}

bool pdf_match_keyword(const uint8_t *data, size_t len, size_t *pos, const char *kw) {
    size_t p = *pos;
    pdf_skip_space(data, len, &p);
    size_t n = strlen(kw);
    if (len - p < n || memcmp(data + p, kw, n) != 0)
        return false;
    if (p + n < len && is_regular(data[p + n]))
        return false;
    *pos = p + n;
    return true;
}

/* An unsigned decimal integer of at most 19 digits at p; returns digits consumed (0: none). */
static size_t scan_uint(const uint8_t *data, size_t len, size_t p, unsigned long long *out) {
    size_t start = p;
    unsigned long long v = 0;
    while (p < len && data[p] >= '0' && data[p] <= '9' && p - start < 19) {
        v = v * 10 + (unsigned long long)(data[p] - '0');
        p++;
    }
    if (p < len && data[p] >= '0' && data[p] <= '9')
        return 0; /* too many digits */
    *out = v;
    return p - start;
}

pdf_err pdf_parse_obj_header(uint32_t *num, uint16_t *gen, const uint8_t *data, size_t len,
                             size_t *pos) {
    size_t p = *pos;
    unsigned long long n, g;
    pdf_skip_space(data, len, &p);
    size_t d = scan_uint(data, len, p, &n);
    if (d == 0 || p + d >= len || !pdf_is_space(data[p + d]))
        return pdf_fail(PDF_E_SYNTAX, "expected an object number at offset %zu", p);
    p += d;
    pdf_skip_space(data, len, &p);
    d = scan_uint(data, len, p, &g);
    if (d == 0)
        return pdf_fail(PDF_E_SYNTAX, "expected a generation number at offset %zu", p);
    p += d;
    if (!pdf_match_keyword(data, len, &p, "obj"))
        return pdf_fail(PDF_E_SYNTAX, "expected 'obj' at offset %zu", p);
    if (n == 0 || n > PDF_MAX_OBJNUM || g > PDF_MAX_GEN)
        return pdf_fail(PDF_E_SYNTAX, "object number %llu %llu out of range", n, g);
    *num = (uint32_t)n;
    *gen = (uint16_t)g;
    *pos = p;
    return PDF_OK;
}

static int hexval(uint8_t c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* ISO 32000-2 7.3.4.2 literal strings: balanced parentheses, escapes, octal codes, line
 * continuations; end-of-line sequences read as a single LF. */
static pdf_err parse_literal(pdf_val **out, arena *a, const uint8_t *data, size_t len,
                             size_t *pos) {
    size_t p = *pos + 1;
    buf s;
    buf_init(&s, len);
    int depth = 1;
    pdf_err err = PDF_OK;
    while (err == PDF_OK) {
        if (p >= len) {
            err = pdf_fail(PDF_E_SYNTAX, "unterminated string at offset %zu", *pos);
            break;
        }
        uint8_t c = data[p++];
        if (c == '(') {
            depth++;
        } else if (c == ')') {
            if (--depth == 0)
                break;
        } else if (c == '\r') {
            if (p < len && data[p] == '\n')
                p++;
            c = '\n';
        } else if (c == '\\') {
            if (p >= len)
                continue;
            uint8_t e = data[p++];
            switch (e) {
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case '\r':
                if (p < len && data[p] == '\n')
                    p++;
                continue;
            case '\n':
                continue;
            default:
                if (e >= '0' && e <= '7') {
                    int v = e - '0';
                    for (int k = 0; k < 2 && p < len && data[p] >= '0' && data[p] <= '7'; k++)
                        v = v * 8 + (data[p++] - '0');
                    c = (uint8_t)v;
                } else {
                    c = e;
                }
            }
        }
        if (buf_putc(&s, c) != BUF_OK)
            err = PDF_E_NOMEM;
    }
    if (err == PDF_OK) {
        *out = pv_string(a, s.data ? s.data : (const uint8_t *)"", s.len);
        if (!*out)
            err = PDF_E_NOMEM;
        *pos = p;
    }
    buf_free(&s);
    return err;
}

/* ISO 32000-2 7.3.4.3 hexadecimal strings; white space ignored, odd final digit padded. */
static pdf_err parse_hex(pdf_val **out, arena *a, const uint8_t *data, size_t len, size_t *pos) {
    size_t p = *pos + 1;
    size_t start = p;
    while (p < len && data[p] != '>')
        p++;
    if (p >= len)
        return pdf_fail(PDF_E_SYNTAX, "unterminated hex string at offset %zu", *pos);
    uint8_t *bytes = arena_alloc(a, (p - start) / 2 + 1);
    if (!bytes)
        return PDF_E_NOMEM;
    size_t n = 0;
    int hi = -1;
    for (size_t i = start; i < p; i++) {
        if (pdf_is_space(data[i]))
            continue;
        int v = hexval(data[i]);
        if (v < 0)
            return pdf_fail(PDF_E_SYNTAX, "bad hex digit at offset %zu", i);
        if (hi < 0) {
            hi = v;
        } else {
            bytes[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0)
        bytes[n++] = (uint8_t)(hi << 4);
    pdf_val *v = pv_string(a, "", 0);
    if (!v)
        return PDF_E_NOMEM;
    v->u.str.p = bytes;
    v->u.str.n = n;
    *out = v;
    *pos = p + 1;
    return PDF_OK;
}

/* ISO 32000-2 7.3.5 names: regular characters after '/', #xx escapes decoded. */
static pdf_err parse_name(pdf_val **out, arena *a, const uint8_t *data, size_t len, size_t *pos) {
    size_t p = *pos + 1;
    size_t end = p;
    while (end < len && is_regular(data[end]))
        end++;
    char *name = arena_alloc(a, end - p + 1);
    if (!name)
        return PDF_E_NOMEM;
    size_t n = 0;
    while (p < end) {
        int h1, h2;
        if (data[p] == '#' && end - p >= 3 && (h1 = hexval(data[p + 1])) >= 0 &&
            (h2 = hexval(data[p + 2])) >= 0) {
            if (h1 == 0 && h2 == 0)
                return pdf_fail(PDF_E_SYNTAX, "name with a NUL byte at offset %zu", p);
            name[n++] = (char)(h1 << 4 | h2);
            p += 3;
        } else {
            name[n++] = (char)data[p++];
        }
    }
    pdf_val *v = arena_alloc(a, sizeof *v);
    if (!v)
        return PDF_E_NOMEM;
    v->t = PV_NAME;
    v->u.name = name;
    *out = v;
    *pos = end;
    return PDF_OK;
}

/* ISO 32000-2 7.3.3 numbers. An unsigned integer followed by "G R" is a reference (7.3.10). */
static pdf_err parse_number(pdf_val **out, arena *a, const uint8_t *data, size_t len, size_t *pos) {
    size_t p = *pos;
    size_t start = p;
    bool dot = false, digits = false;
    if (p < len && (data[p] == '+' || data[p] == '-'))
        p++;
    while (p < len && ((data[p] >= '0' && data[p] <= '9') || data[p] == '.')) {
        if (data[p] == '.') {
            if (dot)
                break;
            dot = true;
        } else {
            digits = true;
        }
        p++;
    }
    if (!digits || p - start > 40)
        return pdf_fail(PDF_E_SYNTAX, "malformed number at offset %zu", start);
    char tmp[48];
    memcpy(tmp, data + start, p - start);
    tmp[p - start] = '\0';
    if (dot) {
        *out = pv_real(a, strtod(tmp, NULL));
        *pos = p;
        return *out ? PDF_OK : PDF_E_NOMEM;
    }
    errno = 0;
    long long i = strtoll(tmp, NULL, 10);
    if (errno == ERANGE)
        return pdf_fail(PDF_E_SYNTAX, "integer out of range at offset %zu", start);
    /* A reference: num gen R */
    if (data[start] != '+' && data[start] != '-' && i > 0 && i <= (long long)PDF_MAX_OBJNUM) {
        size_t q = p;
        unsigned long long g;
        pdf_skip_space(data, len, &q);
        if (q > p) {
            size_t d = scan_uint(data, len, q, &g);
            if (d > 0 && g <= PDF_MAX_GEN) {
                q += d;
                if (pdf_match_keyword(data, len, &q, "R")) {
                    *out = pv_ref(a, (uint32_t)i, (uint16_t)g);
                    *pos = q;
                    return *out ? PDF_OK : PDF_E_NOMEM;
                }
            }
        }
    }
    *out = pv_int(a, i);
    *pos = p;
    return *out ? PDF_OK : PDF_E_NOMEM;
}

static pdf_err parse_value(pdf_val **out, arena *a, const uint8_t *data, size_t len, size_t *pos,
                           int depth);

static pdf_err parse_array(pdf_val **out, arena *a, const uint8_t *data, size_t len, size_t *pos,
                           int depth) {
    size_t p = *pos + 1;
    pdf_val *arr = pv_array(a);
    if (!arr)
        return PDF_E_NOMEM;
    for (;;) {
        pdf_skip_space(data, len, &p);
        if (p >= len)
            return pdf_fail(PDF_E_SYNTAX, "unterminated array at offset %zu", *pos);
        if (data[p] == ']')
            break;
        pdf_val *item;
        pdf_err err = parse_value(&item, a, data, len, &p, depth + 1);
        if (err == PDF_OK)
            err = pv_array_push(a, arr, item);
        if (err != PDF_OK)
            return err;
    }
    *out = arr;
    *pos = p + 1;
    return PDF_OK;
}

static pdf_err parse_dict(pdf_val **out, arena *a, const uint8_t *data, size_t len, size_t *pos,
                          int depth) {
    size_t p = *pos + 2;
    pdf_val *dict = pv_dict(a);
    if (!dict)
        return PDF_E_NOMEM;
    for (;;) {
        pdf_skip_space(data, len, &p);
        if (p >= len)
            return pdf_fail(PDF_E_SYNTAX, "unterminated dictionary at offset %zu", *pos);
        if (data[p] == '>') {
            if (p + 1 < len && data[p + 1] == '>')
                break;
            return pdf_fail(PDF_E_SYNTAX, "stray '>' in dictionary at offset %zu", p);
        }
        if (data[p] != '/')
            return pdf_fail(PDF_E_SYNTAX, "dictionary key is not a name at offset %zu", p);
        if (dict->u.dict.n >= PDF_MAX_DICT_KEYS)
            return pdf_fail(PDF_E_LIMIT, "dictionary with more than %d keys at offset %zu",
                            PDF_MAX_DICT_KEYS, *pos);
        pdf_val *key, *val;
        pdf_err err = parse_name(&key, a, data, len, &p);
        if (err == PDF_OK)
            err = parse_value(&val, a, data, len, &p, depth + 1);
        if (err == PDF_OK)
            err = pv_dict_set(a, dict, key->u.name, val);
        if (err != PDF_OK)
            return err;
    }
    *out = dict;
    *pos = p + 2;
    return PDF_OK;
}

static pdf_err parse_value_at(pdf_val **out, arena *a, const uint8_t *data, size_t len, size_t *pos,
                              int depth);

/* A value with the span it was parsed from. */
static pdf_err parse_value(pdf_val **out, arena *a, const uint8_t *data, size_t len, size_t *pos,
                           int depth) {
    pdf_skip_space(data, len, pos);
    size_t start = *pos;
    pdf_err err = parse_value_at(out, a, data, len, pos, depth);
    if (err == PDF_OK) {
        (*out)->off = start;
        (*out)->end = *pos;
    }
    return err;
}

static pdf_err parse_value_at(pdf_val **out, arena *a, const uint8_t *data, size_t len, size_t *pos,
                              int depth) {
    if (depth > PDF_MAX_DEPTH)
        return pdf_fail(PDF_E_LIMIT, "objects nested deeper than %d at offset %zu", PDF_MAX_DEPTH,
                        *pos);
    pdf_skip_space(data, len, pos);
    size_t p = *pos;
    if (p >= len)
        return pdf_fail(PDF_E_SYNTAX, "unexpected end of data at offset %zu", p);
    uint8_t c = data[p];
    if (c == '/')
        return parse_name(out, a, data, len, pos);
    if (c == '(')
        return parse_literal(out, a, data, len, pos);
    if (c == '<')
        return p + 1 < len && data[p + 1] == '<' ? parse_dict(out, a, data, len, pos, depth)
                                                 : parse_hex(out, a, data, len, pos);
    if (c == '[')
        return parse_array(out, a, data, len, pos, depth);
    if (c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9'))
        return parse_number(out, a, data, len, pos);
    if (pdf_match_keyword(data, len, pos, "true"))
        *out = pv_bool(a, true);
    else if (pdf_match_keyword(data, len, pos, "false"))
        *out = pv_bool(a, false);
    else if (pdf_match_keyword(data, len, pos, "null"))
        *out = pv_null(a);
    else
        return pdf_fail(PDF_E_SYNTAX, "unexpected token at offset %zu", p);
    return *out ? PDF_OK : PDF_E_NOMEM;
}

pdf_err pdf_parse_object(pdf_val **out, arena *a, const uint8_t *data, size_t len, size_t *pos) {
    return parse_value(out, a, data, len, pos, 0);
}
