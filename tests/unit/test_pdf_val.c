/* PDF objects in memory (pdf/val.h) and the bounded object parser (pdf/lex.h).
 *
 * Serialisation is checked byte for byte against ISO 32000-2 7.3: names escape what 7.3.5 says
 * they must as #xx, literal strings escape ( ) \, anything not printable goes in hexadecimal,
 * reals never use an exponent. Text strings (7.9.2.2) stay bytes when ASCII and become UTF-16BE
 * with a byte order mark otherwise. The parser reads every object type, the string escapes of
 * 7.3.4.2 and the hex strings of 7.3.4.3, and what pv_write writes reads back as the same value.
 * Malformed input fails with the exact error code, nesting is bounded, and the parser never
 * reads past its buffer: every prefix and many single-byte mutations of a valid object are
 * parsed from a heap block of exactly that size (run under ASan to catch a stray read). */
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "pdf/lex.h"
#include "pdf/pdf_err.h"
#include "pdf/val.h"

#include "check.h"

#define ARENA_MAX ((size_t)1 << 28)

/* ------------------------------------------------------------------------------------------ */
/* helpers */

/* pv_write into a fresh buffer; returns a NUL-terminated copy in the arena, or NULL on error. */
static const char *wr(arena *a, const pdf_val *v) {
    buf b;
    buf_init(&b, 1 << 24);
    pdf_err err = pv_write(&b, v, NULL, NULL);
    const char *s =
        err == PDF_OK ? arena_strndup(a, b.len ? (const char *)b.data : "", b.len) : NULL;
    buf_free(&b);
    return s;
}

/* Parses the whole C string s; *end gets the position after the object. */
static pdf_err parse_s(pdf_val **out, arena *a, const char *s, size_t *end) {
    size_t pos = 0;
    *out = NULL;
    pdf_err err = pdf_parse_object(out, a, (const uint8_t *)s, strlen(s), &pos);
    if (end)
        *end = pos;
    return err;
}

/* Parses s, which must hold one object and nothing after it but white space. */
static pdf_val *parse_ok(arena *a, const char *s) {
    pdf_val *v;
    size_t end;
    pdf_err err = parse_s(&v, a, s, &end);
    if (err != PDF_OK) {
        fprintf(stderr, "parse of \"%s\" failed: %s (%s)\n", s, pdf_strerror(err), pdf_errdetail());
        return NULL;
    }
    size_t len = strlen(s);
    pdf_skip_space((const uint8_t *)s, len, &end);
    if (end != len) {
        fprintf(stderr, "parse of \"%s\" stopped at %zu of %zu\n", s, end, len);
        return NULL;
    }
    return v;
}

/* ASCII case-insensitive equality (hex digits may be written in either case). */
static bool eq_nocase(const char *x, const char *y) {
    if (!x || !y)
        return false;
    for (; *x && *y; x++, y++) {
        char cx = *x >= 'A' && *x <= 'Z' ? (char)(*x + 32) : *x;
        char cy = *y >= 'A' && *y <= 'Z' ? (char)(*y + 32) : *y;
        if (cx != cy)
            return false;
    }
    return *x == *y;
}

static bool str_is(const pdf_val *v, const void *bytes, size_t n) {
    return v && v->t == PV_STRING && v->u.str.n == n && memcmp(v->u.str.p, bytes, n) == 0;
}

/* Structural equality; numbers compare by value, so a real that pv_write wrote without a
 * fraction ("2") equals the integer it reads back as. */
static bool val_eq(const pdf_val *x, const pdf_val *y) {
    if (!x || !y)
        return false;
    double dx, dy;
    if (pv_number(x, &dx) && pv_number(y, &dy))
        return dx == dy && (x->t == y->t || x->t == PV_REAL || y->t == PV_REAL);
    if (x->t != y->t)
        return false;
    switch (x->t) {
    case PV_NULL:
        return true;
    case PV_BOOL:
        return x->u.b == y->u.b;
    case PV_NAME:
        return strcmp(x->u.name, y->u.name) == 0;
    case PV_STRING:
        return x->u.str.n == y->u.str.n && memcmp(x->u.str.p, y->u.str.p, x->u.str.n) == 0;
    case PV_REF:
        return x->u.ref.num == y->u.ref.num && x->u.ref.gen == y->u.ref.gen;
    case PV_ARRAY:
        if (x->u.arr.n != y->u.arr.n)
            return false;
        for (size_t i = 0; i < x->u.arr.n; i++)
            if (!val_eq(x->u.arr.items[i], y->u.arr.items[i]))
                return false;
        return true;
    case PV_DICT:
        if (x->u.dict.n != y->u.dict.n)
            return false;
        for (size_t i = 0; i < x->u.dict.n; i++)
            if (!val_eq(x->u.dict.kv[i].val, pv_dict_get(y, x->u.dict.kv[i].key)))
                return false;
        return true;
    default:
        return false;
    }
}

#define CHECK_WRITE(a, v, expect) CHECK_STR(wr((a), (v)), (expect))
#define CHECK_PARSE_ERR(a, s, code)                                                                \
    do {                                                                                           \
        pdf_val *check_v_;                                                                         \
        CHECK_INT(parse_s(&check_v_, (a), (s), NULL), (code));                                     \
    } while (0)

/* ------------------------------------------------------------------------------------------ */
/* serialisation */

static void test_write_scalars(void) {
    arena a;
    arena_init(&a, ARENA_MAX);
    CHECK_WRITE(&a, pv_null(&a), "null");
    CHECK_WRITE(&a, pv_bool(&a, true), "true");
    CHECK_WRITE(&a, pv_bool(&a, false), "false");
    CHECK_WRITE(&a, pv_int(&a, 0), "0");
    CHECK_WRITE(&a, pv_int(&a, -42), "-42");
    CHECK_WRITE(&a, pv_int(&a, LLONG_MAX), "9223372036854775807");
    CHECK_WRITE(&a, pv_int(&a, LLONG_MIN), "-9223372036854775808");
    CHECK_WRITE(&a, pv_ref(&a, 12, 0), "12 0 R");
    CHECK_WRITE(&a, pv_ref(&a, PDF_MAX_OBJNUM, PDF_MAX_GEN), "8388607 65535 R");

    /* ISO 32000-2 7.3.3: no exponent; six decimals at most, trailing zeros trimmed. */
    CHECK_WRITE(&a, pv_real(&a, 1.5), "1.5");
    CHECK_WRITE(&a, pv_real(&a, 2.0), "2");
    CHECK_WRITE(&a, pv_real(&a, 0.1), "0.1");
    CHECK_WRITE(&a, pv_real(&a, -0.25), "-0.25");
    CHECK_WRITE(&a, pv_real(&a, 595.28), "595.28");
    CHECK_WRITE(&a, pv_real(&a, 100.0), "100");
    CHECK_WRITE(&a, pv_real(&a, 1.0 / 3.0), "0.333333");
    CHECK_WRITE(&a, pv_real(&a, 2.0 / 3.0), "0.666667");
    CHECK_WRITE(&a, pv_real(&a, -2.0 / 3.0), "-0.666667");
    CHECK_WRITE(&a, pv_real(&a, 1e10), "10000000000");
    CHECK_WRITE(&a, pv_real(&a, 1e-7), "0");
    CHECK_WRITE(&a, pv_real(&a, 0.0), "0");
    /* -0 and negatives that round to zero are written "0", never "-0". */
    CHECK_WRITE(&a, pv_real(&a, -0.0), "0");
    CHECK_WRITE(&a, pv_real(&a, -1e-7), "0");
    /* Not-a-number and infinities are not PDF numbers. */
    CHECK_WRITE(&a, pv_real(&a, NAN), "0");
    CHECK_WRITE(&a, pv_real(&a, INFINITY), "0");
    CHECK_WRITE(&a, pv_real(&a, -INFINITY), "0");
    /* Whatever is written for huge values, it has no exponent and reads back as a number. */
    const double huge[] = {1e15, -1e15, 1e20, -1e300, 1e-300};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        const char *s = wr(&a, pv_real(&a, huge[i]));
        CHECK(s && !strpbrk(s, "eE"));
        double d;
        CHECK(s && pv_number(parse_ok(&a, s), &d));
    }
    arena_free(&a);
}

static void test_write_names(void) {
    arena a;
    arena_init(&a, ARENA_MAX);
    CHECK_WRITE(&a, pv_name(&a, "Type"), "/Type");
    CHECK_WRITE(&a, pv_name(&a, "ETSI.CAdES.detached"), "/ETSI.CAdES.detached");
    /* ISO 32000-2 7.3.5: white space, '#', delimiters and bytes outside 0x21..0x7E as #xx. */
    CHECK_WRITE(&a, pv_name(&a, "A B"), "/A#20B");
    CHECK_WRITE(&a, pv_name(&a, "A#B"), "/A#23B");
    CHECK_WRITE(&a, pv_name(&a, "a(b)c<d>e[f]g{h}i/j%k"),
                "/a#28b#29c#3Cd#3Ee#5Bf#5Dg#7Bh#7Di#2Fj#25k");
    CHECK_WRITE(&a, pv_name(&a, "tab\there"), "/tab#09here");
    CHECK_WRITE(&a, pv_name(&a, "del\x7f"), "/del#7F");
    CHECK_WRITE(&a, pv_name(&a, "\xe8\xae\xb8"), "/#E8#AE#B8"); /* UTF-8 of U+8BB8 */
    CHECK_WRITE(&a, pv_name(&a, "!~;:'\"@"), "/!~;:'\"@");
    CHECK_WRITE(&a, pv_name(&a, ""), "/");

    buf b;
    buf_init(&b, 64);
    CHECK_INT(pv_write_name(&b, "Sig Field#1"), PDF_OK);
    CHECK(b.len == strlen("/Sig#20Field#231") && memcmp(b.data, "/Sig#20Field#231", b.len) == 0);
    buf_free(&b);
    arena_free(&a);
}

static void test_write_strings(void) {
    arena a;
    arena_init(&a, ARENA_MAX);
    CHECK_WRITE(&a, pv_string(&a, "Hello", 5), "(Hello)");
    CHECK_WRITE(&a, pv_string(&a, "", 0), "()");
    /* 7.3.4.2: ( ) and \ escaped with a backslash. */
    CHECK_WRITE(&a, pv_string(&a, "a(b)c\\d", 7), "(a\\(b\\)c\\\\d)");
    CHECK_WRITE(&a, pv_string(&a, ")(", 2), "(\\)\\()");
    /* Not printable: hexadecimal (either case is valid PDF). */
    static const uint8_t bin[] = {0x00, 0xff, 0x10, 0x7f, 0x80};
    const char *s = wr(&a, pv_string(&a, bin, sizeof bin));
    CHECK(eq_nocase(s, "<00ff107f80>"));
    /* A newline is not printable either: the bytes must survive any end-of-line conversion. */
    CHECK(eq_nocase(wr(&a, pv_string(&a, "a\nb", 3)), "<610a62>"));
    CHECK(eq_nocase(wr(&a, pv_string(&a, "a\tb", 3)), "<610962>"));

    /* A bounded output buffer fails with PDF_E_LIMIT and never grows past its maximum. */
    buf b;
    buf_init(&b, 5);
    CHECK_INT(pv_write(&b, pv_string(&a, "Hello", 5), NULL, NULL), PDF_E_LIMIT);
    CHECK(b.len <= 5);
    buf_free(&b);
    arena_free(&a);
}

/* ISO 32000-2 7.9.2.2 text strings. */
static void test_text(void) {
    arena a;
    arena_init(&a, ARENA_MAX);
    pdf_val *v = pv_text(&a, "Licence No. 42 (copy)");
    CHECK(str_is(v, "Licence No. 42 (copy)", 21));
    CHECK_WRITE(&a, v, "(Licence No. 42 \\(copy\\))");
    CHECK(str_is(pv_text(&a, ""), "", 0));
    CHECK(str_is(pv_text(&a, "line\tone\r\n"), "line\tone\r\n", 10));

    /* 许可 = U+8BB8 U+53EF */
    static const uint8_t xuke[] = {0xFE, 0xFF, 0x8B, 0xB8, 0x53, 0xEF};
    v = pv_text(&a, "\xe8\xae\xb8\xe5\x8f\xaf");
    CHECK(str_is(v, xuke, sizeof xuke));
    CHECK(eq_nocase(wr(&a, v), "<feff8bb853ef>"));
    /* Mixed: the ASCII letters become UTF-16 too. é = U+00E9 */
    static const uint8_t cafe[] = {0xFE, 0xFF, 0x00, 'c', 0x00, 'a', 0x00, 'f', 0x00, 0xE9};
    CHECK(str_is(pv_text(&a, "caf\xc3\xa9"), cafe, sizeof cafe));
    /* U+1F600 outside the BMP: a surrogate pair D83D DE00. */
    static const uint8_t grin[] = {0xFE, 0xFF, 0xD8, 0x3D, 0xDE, 0x00, 0x00, '!'};
    CHECK(str_is(pv_text(&a, "\xf0\x9f\x98\x80!"), grin, sizeof grin));
    /* U+10FFFF, the last code point: DBFF DFFF. U+0800, the first three-byte one. */
    static const uint8_t last[] = {0xFE, 0xFF, 0xDB, 0xFF, 0xDF, 0xFF};
    CHECK(str_is(pv_text(&a, "\xf4\x8f\xbf\xbf"), last, sizeof last));
    static const uint8_t u800[] = {0xFE, 0xFF, 0x08, 0x00};
    CHECK(str_is(pv_text(&a, "\xe0\xa0\x80"), u800, sizeof u800));

    /* Invalid UTF-8 is refused, not passed through. */
    const char *bad[] = {
        "\xc3",                 /* truncated two-byte sequence */
        "ab\xe8\xae",           /* truncated three-byte sequence at the end */
        "\x80",                 /* lone continuation byte */
        "\xc0\xaf",             /* overlong '/' */
        "\xe0\x80\xaf",         /* overlong, three bytes */
        "\xf0\x80\x80\xaf",     /* overlong, four bytes */
        "\xed\xa0\x80",         /* UTF-16 surrogate D800 */
        "\xf4\x90\x80\x80",     /* U+110000, beyond Unicode */
        "\xf8\x88\x80\x80\x80", /* five-byte form */
        "\xff",
        "\xc3\x28", /* second byte not a continuation */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(pv_text(&a, bad[i]) == NULL);
    arena_free(&a);
}

/* Placeholders of a signature dictionary and strings through an encoder. */
static pdf_err xor_encrypt(void *ctx, buf *out, const uint8_t *p, size_t n) {
    int *calls = ctx;
    (*calls)++;
    for (size_t i = 0; i < n; i++)
        if (buf_putc(out, p[i] ^ 0x5A) != BUF_OK)
            return PDF_E_LIMIT;
    return PDF_OK;
}

static void test_write_sig_and_encoder(void) {
    arena a;
    arena_init(&a, ARENA_MAX);
    pdf_val *d = pv_dict(&a);
    pdf_val *br = pv_null(&a), *ct = pv_null(&a);
    br->t = PV_SIG_BYTERANGE;
    ct->t = PV_SIG_CONTENTS;
    ct->u.contents_cap = 8;
    CHECK_INT(pv_dict_set(&a, d, "Type", pv_name(&a, "Sig")), PDF_OK);
    CHECK_INT(pv_dict_set(&a, d, "ByteRange", br), PDF_OK);
    CHECK_INT(pv_dict_set(&a, d, "Contents", ct), PDF_OK);
    CHECK_INT(pv_dict_set(&a, d, "Reason", pv_string(&a, "ok", 2)), PDF_OK);

    buf b;
    buf_init(&b, 4096);
    CHECK_INT(buf_puts(&b, "7 0 obj\n"), BUF_OK); /* marks are relative to the buffer start */
    pdf_sig_marks m;
    memset(&m, 0xff, sizeof m);
    int calls = 0;
    pdf_string_encoder enc = {xor_encrypt, &calls};
    CHECK_INT(pv_write(&b, d, &enc, &m), PDF_OK);
    CHECK(m.byterange_at < b.len && b.data[m.byterange_at] == '[');
    CHECK(m.byterange_len >= strlen("[0 0000000000 0000000000 0000000000]"));
    CHECK(m.byterange_at + m.byterange_len <= b.len);
    /* The placeholder is "[0 0 0 0]" padded with spaces to its fixed width. */
    CHECK(memcmp(b.data + m.byterange_at, "[0 0 0 0]", 9) == 0);
    for (size_t i = m.byterange_at + 9; i < m.byterange_at + m.byterange_len; i++)
        CHECK(b.data[i] == ' ');
    CHECK_INT(m.contents_len, 2 * 8 + 2);
    CHECK(m.contents_at + m.contents_len <= b.len);
    CHECK(memcmp(b.data + m.contents_at, "<0000000000000000>", 18) == 0);
    /* Only the real string went through the encoder; the /Contents placeholder never does. */
    CHECK_INT(calls, 1);
    static const char reason[] = "/Reason <3531>"; /* 'o'^0x5A, 'k'^0x5A */
    CHECK(b.len >= strlen(reason) + 2 &&
          memcmp(b.data + b.len - 2 - strlen(reason), reason, strlen(reason)) == 0);
    CHECK(memcmp(b.data + b.len - 2, ">>", 2) == 0);

    /* Placeholders outside a signature dictionary (no marks) are refused. */
    buf_reset(&b);
    CHECK_INT(pv_write(&b, br, NULL, NULL), PDF_E_ARG);
    CHECK_INT(pv_write(&b, ct, NULL, NULL), PDF_E_ARG);
    buf_free(&b);
    arena_free(&a);
}

/* ------------------------------------------------------------------------------------------ */
/* containers */

static void test_dict(void) {
    arena a;
    arena_init(&a, ARENA_MAX);
    pdf_val *d = pv_dict(&a);
    CHECK(d && d->t == PV_DICT && d->u.dict.n == 0);
    CHECK_WRITE(&a, d, "<<>>");
    char key[8] = "Size";
    CHECK_INT(pv_dict_set(&a, d, key, pv_int(&a, 1)), PDF_OK);
    strcpy(key, "XXXX"); /* the key was copied */
    CHECK_INT(pv_dict_set(&a, d, "Type", pv_name(&a, "XRef")), PDF_OK);
    CHECK_INT(pv_dict_set(&a, d, "Root", pv_ref(&a, 1, 0)), PDF_OK);
    CHECK_INT(d->u.dict.n, 3);
    long long i = 0;
    CHECK(pv_dict_get_int(d, "Size", &i) && i == 1);
    CHECK(pv_dict_get(d, "XXXX") == NULL);

    /* Replacing keeps one entry, in its place. */
    CHECK_INT(pv_dict_set(&a, d, "Size", pv_int(&a, 17)), PDF_OK);
    CHECK_INT(d->u.dict.n, 3);
    CHECK(pv_dict_get_int(d, "Size", &i) && i == 17);
    CHECK_WRITE(&a, d, "<</Size 17/Type /XRef/Root 1 0 R>>");

    /* Typed getters check the type. */
    CHECK_STR(pv_dict_get_name(d, "Type"), "XRef");
    CHECK(pv_dict_get_name(d, "Size") == NULL);
    CHECK(pv_dict_get_name(d, "Missing") == NULL);
    i = 99;
    CHECK(!pv_dict_get_int(d, "Type", &i) && i == 99);
    CHECK(!pv_dict_get_int(d, "Missing", &i) && i == 99);
    CHECK(pv_is_name(pv_dict_get(d, "Type"), "XRef"));
    CHECK(!pv_is_name(pv_dict_get(d, "Type"), "XRe"));
    CHECK(!pv_is_name(pv_dict_get(d, "Size"), "17"));
    CHECK(!pv_is_name(NULL, "XRef"));
    pdf_val *r = pv_dict_get(d, "Root");
    CHECK(r && r->t == PV_REF && r->u.ref.num == 1 && r->u.ref.gen == 0);
    /* Keys are case-sensitive. */
    CHECK(pv_dict_get(d, "size") == NULL);

    /* Removing: the others keep their order; removing what is absent changes nothing. */
    pv_dict_remove(d, "Size");
    CHECK(pv_dict_get(d, "Size") == NULL);
    CHECK_INT(d->u.dict.n, 2);
    CHECK_WRITE(&a, d, "<</Type /XRef/Root 1 0 R>>");
    pv_dict_remove(d, "Size");
    pv_dict_remove(d, "Nothing");
    CHECK_INT(d->u.dict.n, 2);
    pv_dict_remove(d, "Root");
    pv_dict_remove(d, "Type");
    CHECK_INT(d->u.dict.n, 0);
    CHECK_WRITE(&a, d, "<<>>");
    CHECK_INT(pv_dict_set(&a, d, "Size", pv_int(&a, 3)), PDF_OK);
    CHECK_WRITE(&a, d, "<</Size 3>>");

    /* Many keys: lookup still finds each one after the vector grew. */
    for (int k = 0; k < 200; k++) {
        char name[16];
        snprintf(name, sizeof name, "K%d", k);
        CHECK_INT(pv_dict_set(&a, d, name, pv_int(&a, k)), PDF_OK);
    }
    for (int k = 0; k < 200; k++) {
        char name[16];
        snprintf(name, sizeof name, "K%d", k);
        CHECK(pv_dict_get_int(d, name, &i) && i == k);
    }
    CHECK_INT(d->u.dict.n, 201);

    /* Wrong types and missing values. */
    pdf_val *arr = pv_array(&a);
    CHECK_INT(pv_dict_set(&a, arr, "A", pv_null(&a)), PDF_E_ARG);
    CHECK_INT(pv_array_push(&a, d, pv_null(&a)), PDF_E_ARG);
    CHECK_INT(pv_dict_set(&a, d, "A", NULL), PDF_E_NOMEM);
    CHECK_INT(pv_array_push(&a, arr, NULL), PDF_E_NOMEM);
    CHECK(pv_dict_get(arr, "A") == NULL);
    CHECK(pv_dict_get(NULL, "A") == NULL);
    pv_dict_remove(arr, "A");
    pv_dict_remove(NULL, "A");

    /* Numbers. */
    double x = 0;
    CHECK(pv_number(pv_int(&a, -3), &x) && x == -3.0);
    CHECK(pv_number(pv_real(&a, 2.5), &x) && x == 2.5);
    CHECK(!pv_number(pv_name(&a, "3"), &x) && x == 2.5);
    CHECK(!pv_number(NULL, &x));
    arena_free(&a);
}

static void test_array(void) {
    arena a;
    arena_init(&a, ARENA_MAX);
    pdf_val *arr = pv_array(&a);
    CHECK_WRITE(&a, arr, "[]");
    CHECK_INT(pv_array_push(&a, arr, pv_int(&a, 1)), PDF_OK);
    CHECK_INT(pv_array_push(&a, arr, pv_name(&a, "N")), PDF_OK);
    CHECK_INT(pv_array_push(&a, arr, pv_ref(&a, 3, 1)), PDF_OK);
    CHECK_INT(pv_array_push(&a, arr, pv_array(&a)), PDF_OK);
    CHECK_WRITE(&a, arr, "[1 /N 3 1 R []]");

    const double r[4] = {0, 0, 595.28, 841.89};
    CHECK_WRITE(&a, pv_rect(&a, r), "[0 0 595.28 841.89]");

    /* PDF_MAX_ITEMS items fit; the next push is refused with PDF_E_LIMIT, and a refused push
     * leaves the array as it was. */
    pdf_val *big = pv_array(&a), *one = pv_int(&a, 1);
    pdf_err err = PDF_OK;
    for (size_t k = 0; k < PDF_MAX_ITEMS && err == PDF_OK; k++)
        err = pv_array_push(&a, big, one);
    CHECK_INT(err, PDF_OK);
    CHECK_INT(big->u.arr.n, PDF_MAX_ITEMS);
    for (size_t k = 0; k < PDF_MAX_ITEMS && err == PDF_OK; k++)
        err = pv_array_push(&a, big, one);
    CHECK_INT(err, PDF_E_LIMIT);
    CHECK_INT(big->u.arr.n, PDF_MAX_ITEMS);
    CHECK_INT(pv_array_push(&a, big, one), PDF_E_LIMIT);
    CHECK_INT(big->u.arr.n, PDF_MAX_ITEMS);
    arena_free(&a);

    /* An exhausted arena: constructors return NULL, containers PDF_E_NOMEM. */
    arena_init(&a, 256);
    pdf_val *small = pv_array(&a);
    CHECK(small != NULL);
    err = PDF_OK;
    for (int k = 0; k < 100 && err == PDF_OK; k++)
        err = pv_array_push(&a, small, small);
    CHECK_INT(err, PDF_E_NOMEM);
    CHECK(pv_string(&a, "x", 300) == NULL);
    CHECK(pv_name(&a, "a name that does not fit in what is left of the arena, which is "
                      "very little by now: two hundred and fifty six bytes in all minus "
                      "the array and the first vector of pointers") == NULL);
    arena_free(&a);
}

/* Nested arrays: k levels around an integer. */
static pdf_val *nested(arena *a, int k) {
    pdf_val *v = pv_int(a, 7);
    for (int i = 0; i < k && v; i++) {
        pdf_val *arr = pv_array(a);
        if (pv_array_push(a, arr, v) != PDF_OK)
            return NULL;
        v = arr;
    }
    return v;
}

static const char *nested_text(arena *a, int k) {
    char *s = arena_alloc(a, (size_t)(2 * k + 2));
    if (!s)
        return "";
    memset(s, '[', (size_t)k);
    s[k] = '7';
    memset(s + k + 1, ']', (size_t)k);
    return s;
}

static void test_write_depth(void) {
    arena a;
    arena_init(&a, ARENA_MAX);
    buf b;
    buf_init(&b, 1 << 20);
    CHECK_INT(pv_write(&b, nested(&a, PDF_MAX_DEPTH / 2), NULL, NULL), PDF_OK);
    buf_reset(&b);
    CHECK_INT(pv_write(&b, nested(&a, 100), NULL, NULL), PDF_E_LIMIT);
    /* The writer and the parser agree on the limit: what one refuses the other refuses. */
    for (int k = PDF_MAX_DEPTH - 4; k <= PDF_MAX_DEPTH + 4; k++) {
        buf_reset(&b);
        pdf_err we = pv_write(&b, nested(&a, k), NULL, NULL);
        pdf_val *v;
        pdf_err pe = parse_s(&v, &a, nested_text(&a, k), NULL);
        CHECK_INT(we, pe);
        CHECK(we == PDF_OK || we == PDF_E_LIMIT);
    }
    buf_free(&b);
    arena_free(&a);
}

/* ------------------------------------------------------------------------------------------ */
/* parsing */

static void test_parse_types(void) {
    arena a;
    arena_init(&a, ARENA_MAX);
    pdf_val *v;
    size_t end;

    v = parse_ok(&a, "null");
    CHECK(v && v->t == PV_NULL);
    v = parse_ok(&a, "true");
    CHECK(v && v->t == PV_BOOL && v->u.b);
    v = parse_ok(&a, "false");
    CHECK(v && v->t == PV_BOOL && !v->u.b);
    v = parse_ok(&a, "123");
    CHECK(v && v->t == PV_INT && v->u.i == 123);
    v = parse_ok(&a, "-17");
    CHECK(v && v->t == PV_INT && v->u.i == -17);
    v = parse_ok(&a, "+5");
    CHECK(v && v->t == PV_INT && v->u.i == 5);
    v = parse_ok(&a, "0");
    CHECK(v && v->t == PV_INT && v->u.i == 0);
    v = parse_ok(&a, "9223372036854775807");
    CHECK(v && v->t == PV_INT && v->u.i == LLONG_MAX);
    v = parse_ok(&a, "-9223372036854775808");
    CHECK(v && v->t == PV_INT && v->u.i == LLONG_MIN);
    v = parse_ok(&a, "3.25");
    CHECK(v && v->t == PV_REAL && v->u.r == 3.25);
    v = parse_ok(&a, "-.5");
    CHECK(v && v->t == PV_REAL && v->u.r == -0.5);
    v = parse_ok(&a, "4.");
    CHECK(v && v->t == PV_REAL && v->u.r == 4.0);
    v = parse_ok(&a, "+.002");
    CHECK(v && v->t == PV_REAL && v->u.r == 0.002);
    v = parse_ok(&a, "/Name");
    CHECK(v && v->t == PV_NAME && strcmp(v->u.name, "Name") == 0);
    v = parse_ok(&a, "(str)");
    CHECK(str_is(v, "str", 3));
    v = parse_ok(&a, "<48656C6c6F>");
    CHECK(str_is(v, "Hello", 5));

    /* ISO 32000-2 7.3.10: "12 0 R" is one object, a reference. */
    v = parse_ok(&a, "12 0 R");
    CHECK(v && v->t == PV_REF && v->u.ref.num == 12 && v->u.ref.gen == 0);
    v = parse_ok(&a, "8388607 65535 R");
    CHECK(v && v->t == PV_REF && v->u.ref.num == 8388607 && v->u.ref.gen == 65535);
    v = parse_ok(&a, "7\n%c\n2 R");
    CHECK(v && v->t == PV_REF && v->u.ref.num == 7 && v->u.ref.gen == 2);
    /* Two integers not followed by R are two objects: the first stops after its digits. */
    CHECK_INT(parse_s(&v, &a, "12 0 obj", &end), PDF_OK);
    CHECK(v && v->t == PV_INT && v->u.i == 12);
    CHECK_INT(end, 2);
    CHECK_INT(parse_s(&v, &a, "12 0", &end), PDF_OK);
    CHECK(v && v->t == PV_INT && v->u.i == 12 && end == 2);
    CHECK_INT(parse_s(&v, &a, "1 0 RG", &end), PDF_OK); /* "RG" is another keyword */
    CHECK(v && v->t == PV_INT && v->u.i == 1 && end == 1);
    /* Signed numbers, reals and gens beyond 65535 make no reference. */
    CHECK_INT(parse_s(&v, &a, "-1 0 R", &end), PDF_OK);
    CHECK(v && v->t == PV_INT && v->u.i == -1 && end == 2);
    CHECK_INT(parse_s(&v, &a, "1 0.0 R", &end), PDF_OK);
    CHECK(v && v->t == PV_INT && end == 1);
    CHECK_INT(parse_s(&v, &a, "1 65536 R", &end), PDF_OK);
    CHECK(v && v->t == PV_INT && end == 1);

    /* The position is left right after the object, and objects follow one another. */
    const char *seq = "  12 0 R/A(b)<63>[]<<>>true 5";
    const uint8_t *d = (const uint8_t *)seq;
    size_t len = strlen(seq), pos = 0;
    CHECK_INT(pdf_parse_object(&v, &a, d, len, &pos), PDF_OK);
    CHECK(v && v->t == PV_REF && pos == 8);
    CHECK_INT(pdf_parse_object(&v, &a, d, len, &pos), PDF_OK);
    CHECK(pv_is_name(v, "A") && pos == 10);
    CHECK_INT(pdf_parse_object(&v, &a, d, len, &pos), PDF_OK);
    CHECK(str_is(v, "b", 1) && pos == 13);
    CHECK_INT(pdf_parse_object(&v, &a, d, len, &pos), PDF_OK);
    CHECK(str_is(v, "c", 1) && pos == 17);
    CHECK_INT(pdf_parse_object(&v, &a, d, len, &pos), PDF_OK);
    CHECK(v && v->t == PV_ARRAY && v->u.arr.n == 0 && pos == 19);
    CHECK_INT(pdf_parse_object(&v, &a, d, len, &pos), PDF_OK);
    CHECK(v && v->t == PV_DICT && v->u.dict.n == 0 && pos == 23);
    CHECK_INT(pdf_parse_object(&v, &a, d, len, &pos), PDF_OK);
    CHECK(v && v->t == PV_BOOL && v->u.b && pos == 27);
    CHECK_INT(pdf_parse_object(&v, &a, d, len, &pos), PDF_OK);
    CHECK(v && v->t == PV_INT && v->u.i == 5 && pos == len);
    CHECK_INT(pdf_parse_object(&v, &a, d, len, &pos), PDF_E_SYNTAX);
    arena_free(&a);
}

static void test_parse_nested(void) {
    arena a;
    arena_init(&a, ARENA_MAX);
    pdf_val *v = parse_ok(&a, "<</Type/Catalog/Pages 2 0 R/Kids[3 0 R 4 0 R[/A<</B[(c)]>>]]"
                              "/Box[0 0 595.28 841.89]/N null/E<<>>>>");
    CHECK(v && v->t == PV_DICT && v->u.dict.n == 6);
    CHECK_STR(pv_dict_get_name(v, "Type"), "Catalog");
    pdf_val *pages = pv_dict_get(v, "Pages");
    CHECK(pages && pages->t == PV_REF && pages->u.ref.num == 2);
    pdf_val *kids = pv_dict_get(v, "Kids");
    CHECK(kids && kids->t == PV_ARRAY && kids->u.arr.n == 3);
    if (kids && kids->t == PV_ARRAY && kids->u.arr.n == 3) {
        CHECK(kids->u.arr.items[0]->t == PV_REF && kids->u.arr.items[0]->u.ref.num == 3);
        CHECK(kids->u.arr.items[1]->t == PV_REF && kids->u.arr.items[1]->u.ref.num == 4);
        pdf_val *inner = kids->u.arr.items[2];
        CHECK(inner->t == PV_ARRAY && inner->u.arr.n == 2);
        if (inner->t == PV_ARRAY && inner->u.arr.n == 2) {
            CHECK(pv_is_name(inner->u.arr.items[0], "A"));
            pdf_val *b = pv_dict_get(inner->u.arr.items[1], "B");
            CHECK(b && b->t == PV_ARRAY && b->u.arr.n == 1 && str_is(b->u.arr.items[0], "c", 1));
        }
    }
    pdf_val *box = pv_dict_get(v, "Box");
    double x = 0;
    CHECK(box && box->t == PV_ARRAY && box->u.arr.n == 4 && pv_number(box->u.arr.items[3], &x) &&
          x == 841.89);
    CHECK(pv_dict_get(v, "N") && pv_dict_get(v, "N")->t == PV_NULL);
    CHECK(pv_dict_get(v, "E") && pv_dict_get(v, "E")->t == PV_DICT);

    /* A repeated key: one entry (the later value, as pv_dict_set does). */
    v = parse_ok(&a, "<</A 1/A 2>>");
    long long i = 0;
    CHECK(v && v->u.dict.n == 1 && pv_dict_get_int(v, "A", &i) && i == 2);
    /* Nesting up to the limit parses. */
    CHECK(parse_ok(&a, nested_text(&a, PDF_MAX_DEPTH)) != NULL);
    arena_free(&a);
}

static void test_parse_strings(void) {
    arena a;
    arena_init(&a, ARENA_MAX);
    /* ISO 32000-2 7.3.4.2: balanced parentheses need no escape. */
    CHECK(str_is(parse_ok(&a, "(a(b)c)"), "a(b)c", 5));
    CHECK(str_is(parse_ok(&a, "(()(()))"), "()(())", 6));
    CHECK(str_is(parse_ok(&a, "()"), "", 0));
    CHECK(str_is(parse_ok(&a, "(\\(\\)\\\\)"), "()\\", 3));
    CHECK(str_is(parse_ok(&a, "(\\))"), ")", 1));
    CHECK(str_is(parse_ok(&a, "(\\n\\r\\t\\b\\f)"), "\n\r\t\b\f", 5));
    /* Octal: one to three digits. */
    CHECK(str_is(parse_ok(&a, "(\\053)"), "+", 1));
    CHECK(str_is(parse_ok(&a, "(\\53)"), "+", 1));
    CHECK(str_is(parse_ok(&a, "(\\0533)"), "+3", 2));
    CHECK(str_is(parse_ok(&a, "(\\5x)"), "\005x", 2));
    CHECK(str_is(parse_ok(&a, "(\\000)"), "\0", 1));
    CHECK(str_is(parse_ok(&a, "(a\\8b)"), "a8b", 3)); /* not octal: the backslash is dropped */
    CHECK(str_is(parse_ok(&a, "(\\q)"), "q", 1));
    /* A backslash before an end of line continues the string. */
    CHECK(str_is(parse_ok(&a, "(ab\\\ncd)"), "abcd", 4));
    CHECK(str_is(parse_ok(&a, "(ab\\\r\ncd)"), "abcd", 4));
    CHECK(str_is(parse_ok(&a, "(ab\\\rcd)"), "abcd", 4));
    /* Any end of line in the string reads as a single LF. */
    CHECK(str_is(parse_ok(&a, "(a\r\nb)"), "a\nb", 3));
    CHECK(str_is(parse_ok(&a, "(a\rb)"), "a\nb", 3));
    CHECK(str_is(parse_ok(&a, "(a\nb)"), "a\nb", 3));
    CHECK(str_is(parse_ok(&a, "(a\r\n\r\nb)"), "a\n\nb", 4));
    /* '%' in a string is not a comment. */
    CHECK(str_is(parse_ok(&a, "(50% off)"), "50% off", 7));
    static const uint8_t hi[] = {0xe8, 0xae, 0xb8};
    CHECK(str_is(parse_ok(&a, "(\xe8\xae\xb8)"), hi, 3));

    /* 7.3.4.3: hex strings, white space ignored, an odd last digit padded with 0. */
    CHECK(str_is(parse_ok(&a, "<48 65\n6C\t6c\r6F>"), "Hello", 5));
    static const uint8_t odd[] = {0x90, 0x1f, 0xa0};
    CHECK(str_is(parse_ok(&a, "<901FA>"), odd, 3));
    CHECK(str_is(parse_ok(&a, "<7>"), "p", 1));
    CHECK(str_is(parse_ok(&a, "<>"), "", 0));
    CHECK(str_is(parse_ok(&a, "< >"), "", 0));
    static const uint8_t bom[] = {0xfe, 0xff, 0x8b, 0xb8};
    CHECK(str_is(parse_ok(&a, "<FEFF8BB8>"), bom, 4));
    arena_free(&a);
}

static void test_parse_names_comments(void) {
    arena a;
    arena_init(&a, ARENA_MAX);
    pdf_val *v;
    size_t end;
    CHECK(pv_is_name(parse_ok(&a, "/A#20B"), "A B"));
    CHECK(pv_is_name(parse_ok(&a, "/#2F#28#29"), "/()"));
    CHECK(pv_is_name(parse_ok(&a, "/#e8#AE#b8"), "\xe8\xae\xb8"));
    CHECK(pv_is_name(parse_ok(&a, "/A;B.c-1"), "A;B.c-1"));
    CHECK(pv_is_name(parse_ok(&a, "/"), ""));
    /* A name ends at white space or a delimiter. */
    CHECK_INT(parse_s(&v, &a, "/A/B", &end), PDF_OK);
    CHECK(pv_is_name(v, "A") && end == 2);
    CHECK_INT(parse_s(&v, &a, "/Ab(x)", &end), PDF_OK);
    CHECK(pv_is_name(v, "Ab") && end == 3);
    CHECK_INT(parse_s(&v, &a, "/Ab%c", &end), PDF_OK);
    CHECK(pv_is_name(v, "Ab") && end == 3);

    /* ISO 32000-2 7.2.4: a comment runs to the end of the line and counts as white space. */
    v = parse_ok(&a, "% leading comment\r\n[1 % one\n2%two\r3]% trailing");
    CHECK(v && v->t == PV_ARRAY && v->u.arr.n == 3);
    if (v && v->t == PV_ARRAY && v->u.arr.n == 3)
        CHECK(v->u.arr.items[2]->t == PV_INT && v->u.arr.items[2]->u.i == 3);
    v = parse_ok(&a, "<</A%c\n1>>");
    long long i = 0;
    CHECK(v && pv_dict_get_int(v, "A", &i) && i == 1);
    /* All six white-space characters, NUL included. */
    static const uint8_t ws[] = {0, 9, 10, 12, 13, 32, '[', 0, '1', 12, '2', 9, ']'};
    size_t pos = 0;
    CHECK_INT(pdf_parse_object(&v, &a, ws, sizeof ws, &pos), PDF_OK);
    CHECK(v && v->t == PV_ARRAY && v->u.arr.n == 2 && pos == sizeof ws);
    arena_free(&a);
}

static void test_parse_errors(void) {
    arena a;
    arena_init(&a, ARENA_MAX);
    CHECK_PARSE_ERR(&a, "", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "  \n% only a comment", PDF_E_SYNTAX);
    /* Unterminated containers and strings. */
    CHECK_PARSE_ERR(&a, "(abc", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "(a(b)", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "(abc\\)", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "(abc\\", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "<414", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "[1 2", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "[1 [2]", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "<</A 1", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "<</A 1>", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "<</A", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "<</A>>", PDF_E_SYNTAX); /* a key without a value */
    CHECK_PARSE_ERR(&a, "<<", PDF_E_SYNTAX);
    /* A dictionary key that is not a name. */
    CHECK_PARSE_ERR(&a, "<<1 2>>", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "<<(A) 2>>", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "<</A 1 2 3>>", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "<</A 1 /B>>", PDF_E_SYNTAX);
    /* Bad hex digits. */
    CHECK_PARSE_ERR(&a, "<4G>", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "<41-42>", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "<</K <zz>>>", PDF_E_SYNTAX);
    /* A NUL in a name (7.3.5 forbids it). */
    CHECK_PARSE_ERR(&a, "/A#00B", PDF_E_SYNTAX);
    /* Integers beyond 64 bits. */
    CHECK_PARSE_ERR(&a, "9223372036854775808", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "-9223372036854775809", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "99999999999999999999999", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "[1 99999999999999999999]", PDF_E_SYNTAX);
    /* Not numbers, not tokens. */
    CHECK_PARSE_ERR(&a, "-", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, ".", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "+-1", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, ")", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "]", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, ">>", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "{", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "truex", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "nul", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "R", PDF_E_SYNTAX);
    CHECK_PARSE_ERR(&a, "[1 0 R R]", PDF_E_SYNTAX);

    /* Nesting deeper than PDF_MAX_DEPTH: PDF_E_LIMIT, in arrays and in dictionaries. */
    char deep[256];
    memset(deep, '[', 100);
    deep[100] = '\0';
    CHECK_PARSE_ERR(&a, deep, PDF_E_LIMIT);
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    deep[200] = '\0';
    CHECK_PARSE_ERR(&a, deep, PDF_E_LIMIT);
    buf b;
    buf_init(&b, 4096);
    for (int k = 0; k < 100; k++)
        buf_puts(&b, "<</A ");
    buf_puts(&b, "1");
    for (int k = 0; k < 100; k++)
        buf_puts(&b, ">>");
    buf_putc(&b, 0);
    CHECK_PARSE_ERR(&a, (const char *)b.data, PDF_E_LIMIT);
    buf_free(&b);
    /* A million '[' (from the heap, exactly sized) neither crash nor exhaust the stack. */
    size_t n = 1000000;
    uint8_t *many = malloc(n);
    if (many) {
        memset(many, '[', n);
        pdf_val *v;
        size_t pos = 0;
        CHECK_INT(pdf_parse_object(&v, &a, many, n, &pos), PDF_E_LIMIT);
        free(many);
    }
    /* A failure leaves a reason. */
    pdf_val *v;
    CHECK_INT(parse_s(&v, &a, "(abc", NULL), PDF_E_SYNTAX);
    CHECK(pdf_errdetail()[0] != '\0');
    arena_free(&a);
}

/* ------------------------------------------------------------------------------------------ */
/* round trip, bounds */

static pdf_val *rich_value(arena *a) {
    pdf_val *d = pv_dict(a), *arr = pv_array(a), *inner = pv_dict(a), *deep = pv_array(a);
    static const uint8_t bin[] = {0x00, 0x01, 0x0a, 0x0d, 0x28, 0x29, 0x5c, 0x80, 0xfe, 0xff};
    pv_dict_set(a, d, "Type", pv_name(a, "Sig"));
    pv_dict_set(a, d, "Filter", pv_name(a, "Adobe.PPKLite"));
    pv_dict_set(a, d, "Odd Name#1", pv_name(a, "a(b)c<d>e[f]g{h}i/j%k \xe8\xae\xb8\t"));
    pv_dict_set(a, d, "", pv_name(a, ""));
    pv_dict_set(a, d, "Int", pv_int(a, -42));
    pv_dict_set(a, d, "Max", pv_int(a, LLONG_MAX));
    pv_dict_set(a, d, "Min", pv_int(a, LLONG_MIN));
    pv_dict_set(a, d, "Half", pv_real(a, 0.5));
    pv_dict_set(a, d, "Neg", pv_real(a, -3.25));
    pv_dict_set(a, d, "Whole", pv_real(a, 2.0));
    pv_dict_set(a, d, "Reason", pv_string(a, "I (the signer) agree \\ ok", 25));
    pv_dict_set(a, d, "Bin", pv_string(a, bin, sizeof bin));
    pv_dict_set(a, d, "Empty", pv_string(a, "", 0));
    pv_dict_set(a, d, "Name", pv_text(a, "\xe8\xae\xb8\xe5\x8f\xaf\xf0\x9f\x98\x80"));
    pv_dict_set(a, d, "T", pv_bool(a, true));
    pv_dict_set(a, d, "F", pv_bool(a, false));
    pv_dict_set(a, d, "N", pv_null(a));
    pv_dict_set(a, d, "P", pv_ref(a, 12, 0));
    pv_array_push(a, arr, pv_ref(a, 3, 65535));
    pv_array_push(a, arr, pv_int(a, 0));
    pv_array_push(a, arr, pv_array(a));
    pv_array_push(a, arr, pv_dict(a));
    pv_array_push(a, arr, pv_string(a, "((nested))", 10));
    pv_dict_set(a, inner, "Deep", deep);
    pv_array_push(a, deep, nested(a, 10));
    pv_array_push(a, arr, inner);
    pv_dict_set(a, d, "Arr", arr);
    const double r[4] = {-297.652, -420.945, 297.652, 420.945};
    pv_dict_set(a, d, "Rect", pv_rect(a, r));
    return d;
}

static void test_round_trip(void) {
    arena a;
    arena_init(&a, ARENA_MAX);
    pdf_val *v = rich_value(&a);
    CHECK(v && v->u.dict.n == 20);
    const char *s1 = wr(&a, v);
    CHECK(s1 != NULL);
    if (!s1) {
        arena_free(&a);
        return;
    }
    pdf_val *back = parse_ok(&a, s1);
    CHECK(back != NULL);
    CHECK(val_eq(v, back));
    CHECK(val_eq(back, v));
    /* Writing what was read gives the same bytes again. */
    CHECK_STR(wr(&a, back), s1);
    /* The comparison itself can fail: a changed value is noticed. */
    pv_dict_set(&a, back, "Int", pv_int(&a, -41));
    CHECK(!val_eq(v, back));
    arena_free(&a);
}

/* Parses data[0..n) from an exactly sized heap copy. The parse either fails or stops inside. */
static pdf_err parse_exact(arena *a, const uint8_t *data, size_t n, size_t *end) {
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        return PDF_E_NOMEM;
    if (n)
        memcpy(copy, data, n);
    pdf_val *v = NULL;
    size_t pos = 0;
    pdf_err err = pdf_parse_object(&v, a, copy, n, &pos);
    free(copy);
    if (err == PDF_OK)
        CHECK(v != NULL && pos <= n);
    *end = pos;
    return err;
}

static void test_bounds(void) {
    arena a;
    arena_init(&a, ARENA_MAX);
    const char *texts[] = {
        NULL, /* the rich value as written */
        "<</A(a\\\r\nb\\053\\5(x))/B<4 1 42>/C[1 0 R 2.5 -3 .5]/D/x#20y%c\r\n/E true/F null>>",
        "[(\\",
        "(\\0",
        "<</K 12 0 R>>",
        "[12 0 R]",
        "<</A#",
        "[/#4",
        "[-.",
        "<</A<<>>>>",
    };
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        const char *s = texts[t] ? texts[t] : wr(&a, rich_value(&a));
        if (!s)
            continue;
        const uint8_t *d = (const uint8_t *)s;
        size_t len = strlen(s), end = 0;
        bool closed = s[0] == '<' && s[1] == '<' && s[len - 1] == '>' && s[len - 2] == '>';
        for (size_t k = 0; k <= len; k++) {
            pdf_err err = parse_exact(&a, d, k, &end);
            /* A dictionary cut anywhere before its final ">>" is never a dictionary. */
            if (closed && k < len)
                CHECK_INT(err, PDF_E_SYNTAX);
            if (closed && k == len)
                CHECK(err == PDF_OK && end == len);
        }
        /* Single-byte mutations: delimiters, escapes and digits dropped in everywhere. */
        static const char swaps[] = "()<>[]{}/\\#%\r\n0R ";
        uint8_t *m = malloc(len ? len : 1);
        if (!m)
            continue;
        for (size_t k = 0; k < len; k++) {
            for (size_t j = 0; j < sizeof swaps - 1; j++) {
                memcpy(m, d, len);
                m[k] = (uint8_t)swaps[j];
                pdf_err err = parse_exact(&a, m, len, &end);
                CHECK(err == PDF_OK || err == PDF_E_SYNTAX || err == PDF_E_LIMIT);
            }
        }
        free(m);
    }
    arena_free(&a);
}

int main(void) {
    test_write_scalars();
    test_write_names();
    test_write_strings();
    test_text();
    test_write_sig_and_encoder();
    test_dict();
    test_array();
    test_write_depth();
    test_parse_types();
    test_parse_nested();
    test_parse_strings();
    test_parse_names_comments();
    test_parse_errors();
    test_round_trip();
    test_bounds();
    return check_report("test_pdf_val");
}
