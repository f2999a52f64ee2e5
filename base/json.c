/* A strict, bounded JSON parser (RFC 8259) into an arena.
 *
 * References: RFC 8259 (The JavaScript Object Notation Data Interchange Format), cited as "RFC"
 * with its section numbers; RFC 3629 (UTF-8); Unicode 15, table 3-7 (well-formed UTF-8).
 *
 * Choices where the RFC leaves room:
 * - A byte order mark is refused (RFC 8.1 lets a parser ignore it; our templates are written by
 *   our own tools and editors that do not add one, and an error that names it is easy to fix).
 * - Duplicate names in an object are refused (RFC 4: "SHOULD be unique").
 * - \u0000 and unpaired surrogates are refused (RFC 8.2), so every string is valid UTF-8 with no
 *   NUL inside and can be handed on as a C string.
 * - Numbers beyond the range of a double are refused; numbers too small for one become 0 or a
 *   subnormal (RFC 6 allows limits on range and precision).
 * - Nesting, container sizes and the input have maxima (JSON_MAX_*; RFC 9 allows limits).
 * - Messages name the line (counted at LF) and the column (counted in characters, a tab being
 *   one), both from 1, of the first error.
 *
 * Every value, string and array lives in the arena, whose maximum bounds the memory a document
 * can take; the only other allocations are a number's copy for strtod when it is long and the
 * index used to find duplicate keys, both freed before the function that made them returns.
 *
 * Numbers are converted with strtod once their syntax is checked. strtod reads the decimal
 * point of the LC_NUMERIC locale; eseal never calls setlocale, so that is the C locale's '.'. */
#include "base/json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A number's token up to this length is copied on the stack for strtod. */
#define NUM_STACK 64
/* How much of a duplicate key a message quotes. */
#define KEY_QUOTE_MAX 40
/* The first capacity of an array's or object's item list. */
#define ITEMS_FIRST 8

typedef struct parser {
    arena *a;
    const unsigned char *s;
    size_t len;
    size_t pos;
    /* Where line and column were last worked out, so that asking again further on costs only
     * the bytes in between. */
    size_t at_pos, at_line, at_col;
    char *err;
    size_t errlen;
    int failed;
} parser;

/* Line and column (1-based, columns in characters) of byte offset pos. */
static void where(parser *p, size_t pos, size_t *line, size_t *col) {
    if (pos < p->at_pos) {
        p->at_pos = 0;
        p->at_line = 1;
        p->at_col = 1;
    }
    for (size_t i = p->at_pos; i < pos && i < p->len; i++) {
        if (p->s[i] == '\n') {
            p->at_line++;
            p->at_col = 1;
        } else if ((p->s[i] & 0xC0) != 0x80) {
            p->at_col++; /* a UTF-8 continuation byte is part of the character before it */
        }
    }
    p->at_pos = pos;
    *line = p->at_line;
    *col = p->at_col;
}

/* Records the first error, at byte offset pos, as "line L, column C: message". */
__attribute__((format(printf, 3, 4))) static void fail(parser *p, size_t pos, const char *fmt,
                                                       ...) {
    if (!p->failed) {
        size_t line, col;
        p->failed = 1;
        where(p, pos, &line, &col);
        if (p->err && p->errlen) {
            int n = snprintf(p->err, p->errlen, "line %zu, column %zu: ", line, col);
            if (n >= 0 && (size_t)n < p->errlen) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
                va_end(ap);
            }
        }
    }
}

static void fail_nomem(parser *p) {
    fail(p, p->pos, "out of memory (the arena's maximum is %zu bytes)", p->a->max);
}

static int at_end(const parser *p) {
    return p->pos >= p->len;
}

static int peek(const parser *p) {
    return p->pos < p->len ? p->s[p->pos] : -1;
}

/* RFC 2: ws = *( %x20 / %x09 / %x0A / %x0D ) */
static void skip_ws(parser *p) {
    while (p->pos < p->len) {
        unsigned char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

/* "expected X", or "unexpected end of input, expected X" at the end. */
static void expected(parser *p, const char *what) {
    if (at_end(p))
        fail(p, p->pos, "unexpected end of input, expected %s", what);
    else
        fail(p, p->pos, "expected %s", what);
}

static json *new_value(parser *p, json_type type, size_t pos) {
    json *v = arena_alloc(p->a, sizeof *v);
    if (!v) {
        fail_nomem(p);
    } else {
        v->type = type;
        where(p, pos, &v->line, &v->col);
    }
    return v;
}

/* ---- Strings (RFC 7, RFC 8.1) ---------------------------------------------------------------- */

static int hex4(const unsigned char *s, unsigned *out) {
    unsigned v = 0;
    int ok = 1;
    for (int i = 0; i < 4 && ok; i++) {
        unsigned c = s[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            d = 16;
        if (d < 16)
            v = v << 4 | d;
        else
            ok = 0;
    }
    *out = v;
    return ok;
}

static size_t put_utf8(unsigned char *o, unsigned long cp) {
    size_t n;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        o[0] = (unsigned char)(0xF0 | cp >> 18);
        o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return n;
}

/* The length of the well-formed UTF-8 sequence at s (at most n bytes), or 0 (Unicode table 3-7:
 * no overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_len(const unsigned char *s, size_t n) {
    size_t len = 0;
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF; /* the range of the second byte */
    if (c < 0x80) {
        len = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    }
    if (len > n)
        len = 0;
    if (len > 1 && (s[1] < lo || s[1] > hi))
        len = 0;
    for (size_t i = 2; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            len = 0;
    }
    return len;
}

/* Decodes one escape at s[i] = '\\' (RFC 7), with end the string's closing quote; writes the
 * character to o and returns the bytes of input it took, 0 after an error. */
static size_t unescape(parser *p, size_t i, size_t end, unsigned char *o, size_t *olen) {
    const unsigned char *s = p->s;
    size_t used = 0;
    unsigned hi, lo;
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *e = i + 1 < end && s[i + 1] ? strchr(from, s[i + 1]) : NULL;
    if (e) {
        o[0] = (unsigned char)to[e - from];
        *olen = 1;
        used = 2;
    } else if (i + 1 >= end || s[i + 1] != 'u') {
        if (i + 1 < end && s[i + 1] >= 0x20 && s[i + 1] < 0x7F)
            fail(p, i, "invalid escape '\\%c'", s[i + 1]);
        else
            fail(p, i, "invalid escape");
    } else if (end - i < 6 || !hex4(s + i + 2, &hi)) {
        fail(p, i, "expected 4 hex digits after '\\u'");
    } else if (hi == 0) {
        fail(p, i, "\\u0000 is not allowed in a string");
    } else if (hi >= 0xDC00 && hi <= 0xDFFF) {
        fail(p, i, "unpaired surrogate \\u%04X", hi);
    } else if (hi < 0xD800 || hi > 0xDBFF) {
        *olen = put_utf8(o, hi);
        used = 6;
    } else if (end - i < 12 || s[i + 6] != '\\' || s[i + 7] != 'u' || !hex4(s + i + 8, &lo) ||
               lo < 0xDC00 || lo > 0xDFFF) {
        fail(p, i, "unpaired surrogate \\u%04X", hi); /* RFC 7: a pair is high, then low */
    } else {
        *olen = put_utf8(o, 0x10000 + ((unsigned long)(hi - 0xD800) << 10) + (lo - 0xDC00));
        used = 12;
    }
    return used;
}

/* Parses the string at p->pos (a '"'); *out is its decoded, NUL-terminated text. */
static int parse_string(parser *p, const char **out, size_t *outlen) {
    const unsigned char *s = p->s;
    size_t start = p->pos, end = start + 1, n = 0;
    unsigned char *o = NULL;
    int ok = 0;
    /* First pass: where the string ends (or the first control character, an error found in the
     * second pass). Escapes only ever shrink, so the decoded text fits in the bytes between. */
    while (end < p->len && s[end] != '"' && s[end] >= 0x20)
        end += s[end] == '\\' ? 2 : 1;
    if (end >= p->len) {
        fail(p, start, "unterminated string");
        goto out;
    }
    o = arena_alloc(p->a, end - start);
    if (!o) {
        fail_nomem(p);
        goto out;
    }
    for (size_t i = start + 1; i < end;) {
        size_t k, olen = 0;
        if (s[i] == '\\') {
            k = unescape(p, i, end, o + n, &olen);
            if (!k)
                goto out;
            n += olen;
        } else {
            k = utf8_len(s + i, end - i);
            if (!k) {
                fail(p, i, "invalid UTF-8 in a string");
                goto out;
            }
            memcpy(o + n, s + i, k);
            n += k;
        }
        i += k;
    }
    if (s[end] != '"') {
        fail(p, end, "unescaped control character U+%04X in a string", s[end]);
        goto out;
    }
    o[n] = '\0';
    *out = (const char *)o;
    *outlen = n;
    p->pos = end + 1;
    ok = 1;
out:
    return ok;
}

/* ---- Numbers (RFC 6) --------------------------------------------------------------------------
 * number = [ minus ] int [ frac ] [ exp ]; int = zero / ( digit1-9 *DIGIT );
 * frac = decimal-point 1*DIGIT; exp = e [ minus / plus ] 1*DIGIT */

static int is_digit(int c) {
    return c >= '0' && c <= '9';
}

static void skip_digits(parser *p) {
    while (is_digit(peek(p)))
        p->pos++;
}

static json *parse_number(parser *p) {
    size_t start = p->pos, n;
    char stack[NUM_STACK], *copy = NULL, *end = NULL;
    json *v = NULL;
    double d;
    if (peek(p) == '-')
        p->pos++;
    if (!is_digit(peek(p))) {
        expected(p, "a digit after '-'");
        goto out;
    }
    if (peek(p) == '0') {
        p->pos++;
        if (is_digit(peek(p))) {
            fail(p, start, "leading zero in a number");
            goto out;
        }
    } else {
        skip_digits(p);
    }
    if (peek(p) == '.') {
        p->pos++;
        if (!is_digit(peek(p))) {
            expected(p, "a digit after '.'");
            goto out;
        }
        skip_digits(p);
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        p->pos++;
        if (peek(p) == '+' || peek(p) == '-')
            p->pos++;
        if (!is_digit(peek(p))) {
            expected(p, "a digit in the exponent");
            goto out;
        }
        skip_digits(p);
    }
    /* The token is checked: strtod reads all of it, and nothing else. */
    n = p->pos - start;
    copy = n < sizeof stack ? stack : malloc(n + 1);
    if (!copy) {
        fail(p, start, "out of memory");
        goto out;
    }
    memcpy(copy, p->s + start, n);
    copy[n] = '\0';
    errno = 0;
    d = strtod(copy, &end);
    if (end != copy + n) {
        fail(p, start, "number not understood"); /* not reached with a C-locale strtod */
        goto out;
    }
    if (isinf(d)) {
        fail(p, start, "number out of range");
        goto out;
    }
    v = new_value(p, JSON_NUMBER, start);
    if (v)
        v->num = d;
out:
    if (copy != stack)
        free(copy);
    return v;
}

/* ---- Values, arrays and objects (RFC 3, 4, 5) ------------------------------------------------ */

static json *parse_value(parser *p, size_t depth);

/* A container's items while it is parsed: arrays that double in the arena. */
typedef struct items {
    json **v;
    const char **k; /* objects only */
    size_t *kpos;   /* objects only: where each key starts */
    size_t n, cap;
} items;

static int items_push(parser *p, items *it, json *v, const char *key, size_t kpos) {
    int ok = 1;
    if (it->n == it->cap) {
        size_t cap = it->cap ? 2 * it->cap : ITEMS_FIRST;
        json **nv;
        const char **nk = NULL;
        size_t *np = NULL;
        if (cap > JSON_MAX_ITEMS)
            cap = JSON_MAX_ITEMS;
        nv = arena_alloc(p->a, cap * sizeof *nv);
        if (nv && key) {
            nk = arena_alloc(p->a, cap * sizeof *nk);
            np = arena_alloc(p->a, cap * sizeof *np);
        }
        if (!nv || (key && (!nk || !np))) {
            fail_nomem(p);
            ok = 0;
        } else {
            if (it->n) {
                memcpy(nv, it->v, it->n * sizeof *nv);
                if (key) {
                    memcpy(nk, it->k, it->n * sizeof *nk);
                    memcpy(np, it->kpos, it->n * sizeof *np);
                }
            }
            it->v = nv;
            it->k = nk;
            it->kpos = np;
            it->cap = cap;
        }
    }
    if (ok) {
        it->v[it->n] = v;
        if (key) {
            it->k[it->n] = key;
            it->kpos[it->n] = kpos;
        }
        it->n++;
    }
    return ok;
}

static json *parse_array(parser *p, size_t depth) {
    items it = {0};
    json *v = new_value(p, JSON_ARRAY, p->pos), *item, *rc = NULL;
    if (!v)
        goto out;
    p->pos++; /* '[' */
    skip_ws(p);
    if (peek(p) == ']') {
        p->pos++;
    } else {
        for (;;) {
            size_t ipos = p->pos;
            if (!(item = parse_value(p, depth)))
                goto out;
            if (it.n == JSON_MAX_ITEMS) {
                fail(p, ipos, "more than %d items in an array", JSON_MAX_ITEMS);
                goto out;
            }
            if (!items_push(p, &it, item, NULL, 0))
                goto out;
            skip_ws(p);
            if (peek(p) == ']') {
                p->pos++;
                break;
            }
            if (peek(p) != ',') {
                expected(p, "',' or ']'");
                goto out;
            }
            size_t comma = p->pos++;
            skip_ws(p);
            if (peek(p) == ']') {
                fail(p, comma, "trailing comma before ']'");
                goto out;
            }
        }
    }
    v->items = it.v;
    v->len = it.n;
    rc = v;
out:
    return rc;
}

/* A key for a message: at most KEY_QUOTE_MAX bytes of it, cut between characters, quoted. */
static void quote_key(char *out, size_t n, const char *key) {
    char cut[KEY_QUOTE_MAX + 1];
    size_t len = strlen(key);
    const char *more = "";
    if (len > KEY_QUOTE_MAX) {
        len = KEY_QUOTE_MAX;
        while (len > 0 && ((unsigned char)key[len] & 0xC0) == 0x80)
            len--;
        more = "...";
    }
    memcpy(cut, key, len);
    cut[len] = '\0';
    size_t q = json_quote(out, n, cut);
    if (q < n)
        snprintf(out + q, n - q, "%s", more);
}

struct key_ref {
    const char *key;
    size_t i;
};

static int cmp_key_ref(const void *a, const void *b) {
    const struct key_ref *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c == 0)
        c = x->i < y->i ? -1 : x->i > y->i;
    return c;
}

/* RFC 4: names SHOULD be unique; here they must be. Sorting finds duplicates in O(n log n) even
 * for 100000 keys; the one reported is the first key, in document order, that repeats one
 * before it. */
static int check_duplicates(parser *p, const items *it) {
    struct key_ref *r = NULL;
    size_t dup = SIZE_MAX;
    int ok = 0;
    if (it->n < 2) {
        ok = 1;
        goto out;
    }
    r = malloc(it->n * sizeof *r);
    if (!r) {
        fail(p, p->pos, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < it->n; i++)
        r[i] = (struct key_ref){it->k[i], i};
    qsort(r, it->n, sizeof *r, cmp_key_ref);
    for (size_t i = 1; i < it->n; i++) {
        if (strcmp(r[i - 1].key, r[i].key) == 0 && r[i].i < dup)
            dup = r[i].i;
    }
    if (dup != SIZE_MAX) {
        char q[6 * KEY_QUOTE_MAX + 8]; /* every byte may become \u00XX */
        quote_key(q, sizeof q, it->k[dup]);
        fail(p, it->kpos[dup], "duplicate key %s", q);
        goto out;
    }
    ok = 1;
out:
    free(r);
    return ok;
}

static json *parse_object(parser *p, size_t depth) {
    items it = {0};
    json *v = new_value(p, JSON_OBJECT, p->pos), *item, *rc = NULL;
    int first = 1;
    if (!v)
        goto out;
    p->pos++; /* '{' */
    skip_ws(p);
    if (peek(p) == '}') {
        p->pos++;
    } else {
        for (;;) {
            size_t kpos = p->pos, klen;
            const char *key;
            if (peek(p) == '\'') {
                fail(p, p->pos, "strings take double quotes, not single");
                goto out;
            }
            if (peek(p) != '"') {
                expected(p, first ? "a string key or '}'" : "a string key");
                goto out;
            }
            if (!parse_string(p, &key, &klen))
                goto out;
            skip_ws(p);
            if (peek(p) != ':') {
                expected(p, "':' after the key");
                goto out;
            }
            p->pos++;
            skip_ws(p);
            if (!(item = parse_value(p, depth)))
                goto out;
            if (it.n == JSON_MAX_ITEMS) {
                fail(p, kpos, "more than %d members in an object", JSON_MAX_ITEMS);
                goto out;
            }
            if (!items_push(p, &it, item, key, kpos))
                goto out;
            first = 0;
            skip_ws(p);
            if (peek(p) == '}') {
                p->pos++;
                break;
            }
            if (peek(p) != ',') {
                expected(p, "',' or '}'");
                goto out;
            }
            size_t comma = p->pos++;
            skip_ws(p);
            if (peek(p) == '}') {
                fail(p, comma, "trailing comma before '}'");
                goto out;
            }
        }
    }
    if (!check_duplicates(p, &it))
        goto out;
    v->items = it.v;
    v->keys = it.k;
    v->len = it.n;
    rc = v;
out:
    return rc;
}

/* RFC 3: false, null, true, in lower case. */
static json *parse_literal(parser *p) {
    static const struct {
        const char *word;
        json_type type;
        bool b;
    } lit[] = {{"true", JSON_BOOL, true}, {"false", JSON_BOOL, false}, {"null", JSON_NULL, false}};
    size_t start = p->pos, n = 0;
    json *v = NULL;
    while (p->pos + n < p->len && ((p->s[p->pos + n] >= 'a' && p->s[p->pos + n] <= 'z') ||
                                   (p->s[p->pos + n] >= 'A' && p->s[p->pos + n] <= 'Z')))
        n++;
    for (size_t i = 0; i < sizeof lit / sizeof *lit && !v && !p->failed; i++) {
        if (strlen(lit[i].word) == n && memcmp(p->s + start, lit[i].word, n) == 0) {
            p->pos += n;
            v = new_value(p, lit[i].type, start);
            if (v)
                v->b = lit[i].b;
        }
    }
    if (!v && !p->failed)
        fail(p, start, "unknown literal (only true, false and null)");
    return v;
}

static json *parse_value(parser *p, size_t depth) {
    json *v = NULL;
    int c = peek(p);
    if (c == '{' || c == '[') {
        if (depth >= JSON_MAX_DEPTH)
            fail(p, p->pos, "nesting deeper than %d", JSON_MAX_DEPTH);
        else
            v = c == '{' ? parse_object(p, depth + 1) : parse_array(p, depth + 1);
    } else if (c == '"') {
        size_t start = p->pos, n;
        const char *str;
        if (parse_string(p, &str, &n) && (v = new_value(p, JSON_STRING, start))) {
            v->str = str;
            v->len = n;
        }
    } else if (c == '-' || is_digit(c)) {
        v = parse_number(p);
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        v = parse_literal(p);
    } else if (c == '\'') {
        fail(p, p->pos, "strings take double quotes, not single");
    } else if (c == '+') {
        fail(p, p->pos, "a number may not start with '+'");
    } else if (c == '.') {
        fail(p, p->pos, "a number must start with a digit");
    } else {
        expected(p, "a value");
    }
    return v;
}

json *json_parse(arena *a, const char *text, size_t len, char *err, size_t errlen) {
    parser p = {.a = a,
                .s = (const unsigned char *)text,
                .len = len,
                .at_line = 1,
                .at_col = 1,
                .err = err,
                .errlen = errlen};
    json *v = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (!a || (!text && len)) {
        if (err && errlen)
            snprintf(err, errlen, "invalid argument: %s is NULL", !a ? "the arena" : "the text");
        goto out;
    }
    if (len > JSON_MAX_BYTES) {
        if (err && errlen)
            snprintf(err, errlen, "the input is %zu bytes, over the maximum of %u", len,
                     JSON_MAX_BYTES);
        goto out;
    }
    /* RFC 8.1: a parser MAY ignore a byte order mark; this one refuses it. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        fail(&p, 0, "byte order mark (U+FEFF) before the JSON text");
        goto out;
    }
    skip_ws(&p);
    v = parse_value(&p, 0);
    if (v) {
        skip_ws(&p);
        if (!at_end(&p)) {
            fail(&p, p.pos, "unexpected content after the value");
            v = NULL;
        }
    }
out:
    return v;
}

const json *json_get(const json *obj, const char *key) {
    const json *v = NULL;
    if (obj && key && obj->type == JSON_OBJECT) {
        for (size_t i = 0; i < obj->len && !v; i++) {
            if (strcmp(obj->keys[i], key) == 0)
                v = obj->items[i];
        }
    }
    return v;
}

/* json_quote's output: n bytes at out, len the bytes needed so far, wrote those written. */
typedef struct quoted {
    char *out;
    size_t n, len, wrote;
    int full;
} quoted;

/* Appends a unit (a character or an escape) if it and a NUL after it fit; once one does not,
 * nothing more is written, so a truncated result is a clean prefix that cuts no character. */
static void quote_put(quoted *q, const void *unit, size_t k) {
    if (!q->full && q->len + k < q->n) {
        memcpy(q->out + q->len, unit, k);
        q->wrote = q->len + k;
    } else {
        q->full = 1;
    }
    q->len += k;
}

/* RFC 7: '"', '\' and the control characters U+0000 to U+001F must be escaped (here all as
 * \u00XX); the rest of UTF-8 is kept as is. A byte that is not part of well-formed UTF-8 becomes
 * U+FFFD, so the result is always valid JSON. Like snprintf: out gets at most n bytes including
 * its NUL, and the return value is the length of the whole quoted text (without the NUL), so
 * the text was cut if it is n or more. A NULL utf8 writes "" and returns 0. */
size_t json_quote(char *out, size_t n, const char *utf8) {
    quoted q = {.out = out, .n = out ? n : 0};
    const unsigned char *s = (const unsigned char *)utf8;
    if (!utf8)
        goto out;
    quote_put(&q, "\"", 1);
    for (size_t i = 0; s[i];) {
        size_t k = 1;
        if (s[i] == '"' || s[i] == '\\') {
            char esc[2] = {'\\', (char)s[i]};
            quote_put(&q, esc, 2);
        } else if (s[i] < 0x20) {
            static const char hex[] = "0123456789abcdef";
            char esc[6] = {'\\', 'u', '0', '0', hex[s[i] >> 4], hex[s[i] & 15]};
            quote_put(&q, esc, 6);
        } else if ((k = utf8_len(s + i, strnlen(utf8 + i, 4))) == 0) {
            quote_put(&q, "\xEF\xBF\xBD", 3);
            k = 1;
        } else {
            quote_put(&q, s + i, k);
        }
        i += k;
    }
    quote_put(&q, "\"", 1);
out:
    if (q.n)
        out[q.wrote] = '\0';
    return q.len;
}
