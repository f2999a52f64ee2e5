/* The strict JSON parser (base/json.c): RFC 8259's examples, every kind of value, exact error
 * messages for malformed input, json_get and json_quote, and a sweep over every truncation and
 * many byte flips of a sample document (run under AddressSanitizer in the sanitizer build; each
 * input is copied into a buffer of exactly its length, so any read past it is caught). */
#include "base/json.h"

#include "tests/unit/check.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_MAX ((size_t)256 * 1024 * 1024)

static arena A;
static char msg[512];

/* Parses len bytes copied into a buffer of exactly that size. */
static const json *parse_n(const char *text, size_t len) {
    char *copy = malloc(len ? len : 1);
    const json *v;
    memcpy(copy, text, len);
    v = json_parse(&A, copy, len, msg, sizeof msg);
    free(copy); /* values never point into the text */
    return v;
}

static const json *parse(const char *text) {
    return parse_n(text, strlen(text));
}

/* The parse fails with exactly this message. */
static void check_error_n(const char *text, size_t len, const char *want, int line) {
    const json *v = parse_n(text, len);
    if (v || strcmp(msg, want) != 0) {
        fprintf(stderr, "test_json.c:%d: input \"%.*s\": got %s \"%s\", want \"%s\"\n", line,
                (int)len, text, v ? "a value and" : "error", msg, want);
        check_failures++;
    }
}

#define CHECK_ERROR(text, want) check_error_n((text), strlen(text), (want), __LINE__)
#define CHECK_ERROR_N(text, len, want) check_error_n((text), (len), (want), __LINE__)

/* ---- RFC 8259 section 13, and the scalar texts it allows --------------------------------- */

static const char rfc_example1[] =
    "{\n"
    "  \"Image\": {\n"
    "      \"Width\":  800,\n"
    "      \"Height\": 600,\n"
    "      \"Title\":  \"View from 15th Floor\",\n"
    "      \"Thumbnail\": {\n"
    "          \"Url\":    \"http://www.example.com/image/481989943\",\n"
    "          \"Height\": 125,\n"
    "          \"Width\":  100\n"
    "      },\n"
    "      \"Animated\" : false,\n"
    "      \"IDs\": [116, 943, 234, 38793]\n"
    "    }\n"
    "}";

static const char rfc_example2[] = "[\n"
                                   "  {\n"
                                   "     \"precision\": \"zip\",\n"
                                   "     \"Latitude\":  37.7668,\n"
                                   "     \"Longitude\": -122.3959,\n"
                                   "     \"Address\":   \"\",\n"
                                   "     \"City\":      \"SAN FRANCISCO\",\n"
                                   "     \"State\":     \"CA\",\n"
                                   "     \"Zip\":       \"94107\",\n"
                                   "     \"Country\":   \"US\"\n"
                                   "  },\n"
                                   "  {\n"
                                   "     \"precision\": \"zip\",\n"
                                   "     \"Latitude\":  37.371991,\n"
                                   "     \"Longitude\": -122.026020,\n"
                                   "     \"Address\":   \"\",\n"
                                   "     \"City\":      \"SUNNYVALE\",\n"
                                   "     \"State\":     \"CA\",\n"
                                   "     \"Zip\":       \"94085\",\n"
                                   "     \"Country\":   \"US\"\n"
                                   "  }\n"
                                   "]";

static void test_rfc_examples(void) {
    const json *v = parse(rfc_example1), *img, *t, *ids;
    CHECK(v && v->type == JSON_OBJECT && v->len == 1);
    img = json_get(v, "Image");
    CHECK(img && img->type == JSON_OBJECT && img->len == 6);
    if (img) {
        const json *w = json_get(img, "Width");
        CHECK(w && w->type == JSON_NUMBER && w->num == 800);
        CHECK(w && w->line == 3 && w->col == 17);
        CHECK(json_get(img, "Height")->num == 600);
        CHECK_STR(json_get(img, "Title")->str, "View from 15th Floor");
        CHECK_INT(json_get(img, "Title")->len, 20);
        t = json_get(img, "Thumbnail");
        CHECK(t && t->type == JSON_OBJECT && t->len == 3);
        CHECK_STR(json_get(t, "Url")->str, "http://www.example.com/image/481989943");
        CHECK(json_get(t, "Width")->num == 100);
        CHECK(json_get(img, "Animated")->type == JSON_BOOL && !json_get(img, "Animated")->b);
        ids = json_get(img, "IDs");
        CHECK(ids && ids->type == JSON_ARRAY && ids->len == 4);
        CHECK(ids && ids->items[3]->num == 38793);
        CHECK(ids && ids->line == 12 && ids->col == 14);
        /* Keys in document order. */
        CHECK_STR(img->keys[0], "Width");
        CHECK_STR(img->keys[5], "IDs");
        CHECK(img->line == 2 && img->col == 12);
    }

    v = parse(rfc_example2);
    CHECK(v && v->type == JSON_ARRAY && v->len == 2);
    if (v && v->len == 2) {
        CHECK(json_get(v->items[0], "Latitude")->num == 37.7668);
        CHECK(json_get(v->items[0], "Longitude")->num == -122.3959);
        CHECK(json_get(v->items[1], "Longitude")->num == -122.026020);
        CHECK_STR(json_get(v->items[1], "City")->str, "SUNNYVALE");
        CHECK_STR(json_get(v->items[1], "Address")->str, "");
        CHECK_INT(json_get(v->items[1], "Address")->len, 0);
        CHECK(v->items[1]->line == 12 && v->items[1]->col == 3);
    }

    /* RFC 13: texts that are only a value. */
    v = parse("\"Hello world!\"");
    CHECK(v && v->type == JSON_STRING && strcmp(v->str, "Hello world!") == 0);
    v = parse("42");
    CHECK(v && v->type == JSON_NUMBER && v->num == 42);
    v = parse("true");
    CHECK(v && v->type == JSON_BOOL && v->b);
}

/* ---- Scalars ------------------------------------------------------------------------------- */

static double num(const char *text) {
    const json *v = parse(text);
    CHECK(v && v->type == JSON_NUMBER);
    if (!v)
        fprintf(stderr, "  number %s: %s\n", text, msg);
    return v ? v->num : NAN;
}

static void check_string(const char *text, const char *want, size_t want_len) {
    const json *v = parse(text);
    if (!v || v->type != JSON_STRING || v->len != want_len || memcmp(v->str, want, want_len) ||
        v->str[want_len] != '\0') {
        fprintf(stderr, "test_json: string %s: %s\n", text, v ? "wrong value" : msg);
        check_failures++;
    }
}

#define CHECK_STRING(text, want) check_string((text), (want), sizeof(want) - 1)

static void test_scalars(void) {
    const json *v;
    v = parse("null");
    CHECK(v && v->type == JSON_NULL);
    v = parse(" \t\r\n false \n");
    CHECK(v && v->type == JSON_BOOL && !v->b && v->line == 2 && v->col == 2);
    v = parse("true");
    CHECK(v && v->type == JSON_BOOL && v->b && v->str == NULL && v->len == 0);

    CHECK(num("0") == 0 && !signbit(num("0")));
    CHECK(num("-0") == 0 && signbit(num("-0")));
    CHECK(num("1") == 1);
    CHECK(num("-1") == -1);
    CHECK(num("1.5") == 1.5);
    CHECK(num("-0.25") == -0.25);
    CHECK(num("10") == 10);
    CHECK(num("1e2") == 100);
    CHECK(num("1E2") == 100);
    CHECK(num("1e+2") == 100);
    CHECK(num("1e-2") == 0.01);
    CHECK(num("2.5E-3") == 0.0025);
    CHECK(num("0e0") == 0);
    CHECK(num("123456789") == 123456789);
    CHECK(num("9007199254740993") == 9007199254740992.0); /* nearest double */
    CHECK(num("1.7976931348623157e308") == 1.7976931348623157e308);
    CHECK(num("1e-400") == 0); /* underflow: accepted, as close as a double gets */
    /* A long token (beyond the stack copy). */
    {
        char big[256] = "0.";
        memset(big + 2, '0', 200);
        strcpy(big + 202, "1e201");
        CHECK(fabs(num(big) - 1) < 1e-15); /* 1e-201 * 1e201 */
    }

    CHECK_STRING("\"\"", "");
    CHECK_STRING("\"abc\"", "abc");
    /* RFC 7: the two-character escapes, and \u for any character. */
    CHECK_STRING("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", "\" \\ / \b \f \n \r \t");
    CHECK_STRING("\"\\u005C\"", "\\");
    CHECK_STRING("\"\\u0041\\u00e9\\u00E9\\u4e2d\\uFFFF\"",
                 "A\xC3\xA9\xC3\xA9\xE4\xB8\xAD\xEF\xBF\xBF");
    CHECK_STRING("\"\\u0001\\u001f\"", "\x01\x1f");
    /* RFC 7: G clef, U+1D11E, as a surrogate pair; and the ends of the range. */
    CHECK_STRING("\"\\uD834\\uDD1E\"", "\xF0\x9D\x84\x9E");
    CHECK_STRING("\"\\ud834\\udd1e\"", "\xF0\x9D\x84\x9E");
    CHECK_STRING("\"\\uD800\\uDC00\\uDBFF\\uDFFF\"", "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF");
    /* UTF-8 as is: 2, 3 and 4 bytes, the edges of table 3-7, and DEL (not a control). */
    CHECK_STRING("\"\xC2\x80 \xDF\xBF \xE0\xA0\x80 \xED\x9F\xBF \xEE\x80\x80 \xEF\xBF\xBF\"",
                 "\xC2\x80 \xDF\xBF \xE0\xA0\x80 \xED\x9F\xBF \xEE\x80\x80 \xEF\xBF\xBF");
    CHECK_STRING("\"\xF0\x90\x80\x80 \xF4\x8F\xBF\xBF \x7F\"",
                 "\xF0\x90\x80\x80 \xF4\x8F\xBF\xBF \x7F");
    CHECK_STRING("\"营业执照 \xEF\xBB\xBF\"", "营业执照 \xEF\xBB\xBF"); /* U+FEFF inside a string */
}

/* ---- Structures ---------------------------------------------------------------------------- */

static void test_structures(void) {
    const json *v = parse("[]");
    CHECK(v && v->type == JSON_ARRAY && v->len == 0 && v->items == NULL);
    v = parse("{}");
    CHECK(v && v->type == JSON_OBJECT && v->len == 0);
    CHECK(json_get(v, "a") == NULL);
    v = parse(" [ [ ] , { } , [ [ 1 ] ] ] ");
    CHECK(v && v->len == 3 && v->items[0]->type == JSON_ARRAY && v->items[1]->type == JSON_OBJECT);
    CHECK(v && v->items[2]->items[0]->items[0]->num == 1);

    v = parse("{\"a\": {\"b\": [1, {\"c\": null}, \"d\"]}, \"e\": [true, false], \"\": 0}");
    CHECK(v && v->len == 3);
    const json *b = json_get(json_get(v, "a"), "b");
    CHECK(b && b->len == 3 && b->items[1]->type == JSON_OBJECT);
    CHECK(b && json_get(b->items[1], "c")->type == JSON_NULL);
    CHECK(b && strcmp(b->items[2]->str, "d") == 0);
    CHECK(json_get(v, "")->num == 0);
    /* json_get: only objects, exact keys. */
    CHECK(json_get(v, "A") == NULL);
    CHECK(json_get(b, "a") == NULL);
    CHECK(json_get(NULL, "a") == NULL);
    CHECK(json_get(v, NULL) == NULL);
    /* Keys are compared after decoding: "\u0061" is "a". */
    v = parse("{\"\\u0061\": 1}");
    CHECK(json_get(v, "a") && json_get(v, "a")->num == 1);

    /* 64 levels are allowed, in arrays and in objects. */
    char deep[1024];
    memset(deep, '[', 64);
    memset(deep + 64, ']', 64);
    deep[128] = '\0';
    v = parse(deep);
    CHECK(v && v->type == JSON_ARRAY);
    size_t n = 0;
    for (int i = 0; i < 63; i++)
        n += (size_t)snprintf(deep + n, sizeof deep - n, "{\"a\":");
    n += (size_t)snprintf(deep + n, sizeof deep - n, "{}");
    for (int i = 0; i < 63; i++)
        deep[n++] = '}';
    deep[n] = '\0';
    v = parse(deep);
    CHECK(v && v->type == JSON_OBJECT);

    /* JSON_MAX_ITEMS items, and in an object as many members. */
    size_t cap = 16 * (size_t)JSON_MAX_ITEMS + 64;
    char *many = malloc(cap);
    n = 0;
    many[n++] = '[';
    for (int i = 0; i < JSON_MAX_ITEMS; i++) {
        many[n++] = '0';
        many[n++] = ',';
    }
    many[n - 1] = ']';
    v = parse_n(many, n);
    CHECK(v && v->len == JSON_MAX_ITEMS);
    n = 0;
    many[n++] = '{';
    for (int i = 0; i < JSON_MAX_ITEMS; i++)
        n += (size_t)snprintf(many + n, cap - n, "\"k%d\":%d,", i, i);
    many[n - 1] = '}';
    v = parse_n(many, n);
    CHECK(v && v->len == JSON_MAX_ITEMS);
    CHECK(json_get(v, "k99999") && json_get(v, "k99999")->num == 99999);
    free(many);
}

/* ---- Errors -------------------------------------------------------------------------------- */

static void test_errors(void) {
    /* The dozen the brief names first. */
    CHECK_ERROR("[1,2,]", "line 1, column 5: trailing comma before ']'");
    CHECK_ERROR("{\"a\":1,}", "line 1, column 7: trailing comma before '}'");
    CHECK_ERROR("{'a':1}", "line 1, column 2: strings take double quotes, not single");
    CHECK_ERROR("['a']", "line 1, column 2: strings take double quotes, not single");
    CHECK_ERROR("{a:1}", "line 1, column 2: expected a string key or '}'");
    CHECK_ERROR("[01]", "line 1, column 2: leading zero in a number");
    CHECK_ERROR("-01", "line 1, column 1: leading zero in a number");
    CHECK_ERROR("[\"\\ud800\"]", "line 1, column 3: unpaired surrogate \\uD800");
    CHECK_ERROR("[\"\\uDC00\"]", "line 1, column 3: unpaired surrogate \\uDC00");
    CHECK_ERROR("[\"\\uD800\\u0041\"]", "line 1, column 3: unpaired surrogate \\uD800");
    CHECK_ERROR("[\"\\uD800x\"]", "line 1, column 3: unpaired surrogate \\uD800");
    CHECK_ERROR("[\"\\uD800\\uD800\"]", "line 1, column 3: unpaired surrogate \\uD800");
    CHECK_ERROR("[\"a\xFF\"]", "line 1, column 4: invalid UTF-8 in a string");
    CHECK_ERROR("[\"a\tb\"]", "line 1, column 4: unescaped control character U+0009 in a string");
    CHECK_ERROR("[\"a\nb\"]", "line 1, column 4: unescaped control character U+000A in a string");
    char deep[512];
    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    CHECK_ERROR_N(deep, 130, "line 1, column 65: nesting deeper than 64");
    size_t n = 0;
    for (int i = 0; i < 64; i++)
        n += (size_t)snprintf(deep + n, sizeof deep - n, "{\"a\":");
    n += (size_t)snprintf(deep + n, sizeof deep - n, "{}");
    CHECK_ERROR_N(deep, n, "line 1, column 321: nesting deeper than 64");
    CHECK_ERROR("{\"x\": 1,\n \"x\": 2}", "line 2, column 2: duplicate key \"x\"");
    CHECK_ERROR("[\"abc", "line 1, column 2: unterminated string");
    CHECK_ERROR("\"abc\\\"", "line 1, column 1: unterminated string");
    CHECK_ERROR("{} x", "line 1, column 4: unexpected content after the value");
    CHECK_ERROR("[1] [2]", "line 1, column 5: unexpected content after the value");

    /* The message of json.h's example. */
    CHECK_ERROR("{\n  \"name\": \"x\",\n  \"size\": 42 \"next\": 1\n}",
                "line 3, column 14: expected ',' or '}'");

    /* Structure. */
    CHECK_ERROR("", "line 1, column 1: unexpected end of input, expected a value");
    CHECK_ERROR("  \n ", "line 2, column 2: unexpected end of input, expected a value");
    CHECK_ERROR("]", "line 1, column 1: expected a value");
    CHECK_ERROR("[1,,2]", "line 1, column 4: expected a value");
    CHECK_ERROR("[1 2]", "line 1, column 4: expected ',' or ']'");
    CHECK_ERROR("[1", "line 1, column 3: unexpected end of input, expected ',' or ']'");
    CHECK_ERROR("{,}", "line 1, column 2: expected a string key or '}'");
    CHECK_ERROR("{\"a\":1,,}", "line 1, column 8: expected a string key");
    CHECK_ERROR("{\"a\" 1}", "line 1, column 6: expected ':' after the key");
    CHECK_ERROR("{\"a\":1,\"b\"",
                "line 1, column 11: unexpected end of input, expected ':' after the key");
    CHECK_ERROR("{\"a\":}", "line 1, column 6: expected a value");
    CHECK_ERROR("{\"a\":1 \"b\":2}", "line 1, column 8: expected ',' or '}'");
    CHECK_ERROR("{\"a\":1", "line 1, column 7: unexpected end of input, expected ',' or '}'");
    CHECK_ERROR("\xEF\xBB\xBF{}",
                "line 1, column 1: byte order mark (U+FEFF) before the JSON text");
    CHECK_ERROR_N("[1]\0", 4, "line 1, column 4: unexpected content after the value");
    CHECK_ERROR_N("\0", 1, "line 1, column 1: expected a value");
    CHECK_ERROR("[1]\f", "line 1, column 4: unexpected content after the value"); /* not ws */
    CHECK_ERROR("/* c */ 1", "line 1, column 1: expected a value");

    /* Duplicates: compared decoded; the first repeat in document order is named. */
    CHECK_ERROR("{\"a\":1,\"b\":2,\"a\":3}", "line 1, column 14: duplicate key \"a\"");
    CHECK_ERROR("{\"b\":1,\"a\":2,\"a\":3,\"b\":4}", "line 1, column 14: duplicate key \"a\"");
    CHECK_ERROR("{\"a\":1,\"\\u0061\":2}", "line 1, column 8: duplicate key \"a\"");
    CHECK_ERROR("{\"a\\nb\":1,\"a\\nb\":2}", "line 1, column 11: duplicate key \"a\\u000ab\"");
    CHECK_ERROR("{\"a\":{\"b\":1,\"b\":2}}", "line 1, column 13: duplicate key \"b\"");
    CHECK_ERROR("{\"a\":1,\"a\":{\"b\":1,\"b\":2}}", "line 1, column 19: duplicate key \"b\"");
    CHECK_ERROR("{\"0123456789012345678901234567890123456789xyz\":1,"
                "\"0123456789012345678901234567890123456789xyz\":2}",
                "line 1, column 50: duplicate key \"0123456789012345678901234567890123456789\"...");

    /* Numbers: RFC 6 grammar. */
    CHECK_ERROR("NaN", "line 1, column 1: unknown literal (only true, false and null)");
    CHECK_ERROR("[Infinity]", "line 1, column 2: unknown literal (only true, false and null)");
    CHECK_ERROR("-Infinity", "line 1, column 2: expected a digit after '-'");
    CHECK_ERROR("-", "line 1, column 2: unexpected end of input, expected a digit after '-'");
    CHECK_ERROR("0x10", "line 1, column 2: unexpected content after the value");
    CHECK_ERROR("+1", "line 1, column 1: a number may not start with '+'");
    CHECK_ERROR(".5", "line 1, column 1: a number must start with a digit");
    CHECK_ERROR("1.", "line 1, column 3: unexpected end of input, expected a digit after '.'");
    CHECK_ERROR("1.e5", "line 1, column 3: expected a digit after '.'");
    CHECK_ERROR("1e",
                "line 1, column 3: unexpected end of input, expected a digit in the exponent");
    CHECK_ERROR("[1e+]", "line 1, column 5: expected a digit in the exponent");
    CHECK_ERROR("1e400", "line 1, column 1: number out of range");
    CHECK_ERROR("[-1e400]", "line 1, column 2: number out of range");
    CHECK_ERROR("1 000", "line 1, column 3: unexpected content after the value");
    CHECK_ERROR("1,5", "line 1, column 2: unexpected content after the value");

    /* Literals: lower case, whole words. */
    CHECK_ERROR("tru", "line 1, column 1: unknown literal (only true, false and null)");
    CHECK_ERROR("True", "line 1, column 1: unknown literal (only true, false and null)");
    CHECK_ERROR("[nulll]", "line 1, column 2: unknown literal (only true, false and null)");
    CHECK_ERROR("true1", "line 1, column 5: unexpected content after the value");

    /* Strings: escapes and UTF-8 (Unicode table 3-7). */
    CHECK_ERROR("[\"\\u0000\"]", "line 1, column 3: \\u0000 is not allowed in a string");
    CHECK_ERROR("[\"\\x\"]", "line 1, column 3: invalid escape '\\x'");
    CHECK_ERROR("[\"\\'\"]", "line 1, column 3: invalid escape '\\''");
    CHECK_ERROR("[\"\\\n\"]", "line 1, column 3: invalid escape");
    CHECK_ERROR("[\"\\u12G4\"]", "line 1, column 3: expected 4 hex digits after '\\u'");
    CHECK_ERROR("[\"\\u12\"]", "line 1, column 3: expected 4 hex digits after '\\u'");
    CHECK_ERROR("[\"\\U0041\"]", "line 1, column 3: invalid escape '\\U'");
    CHECK_ERROR("[\"\xC0\x80\"]", "line 1, column 3: invalid UTF-8 in a string");     /* overlong */
    CHECK_ERROR("[\"\xC1\xBF\"]", "line 1, column 3: invalid UTF-8 in a string");     /* overlong */
    CHECK_ERROR("[\"\xE0\x80\x80\"]", "line 1, column 3: invalid UTF-8 in a string"); /* overlong */
    CHECK_ERROR("[\"\xF0\x80\x80\x80\"]", "line 1, column 3: invalid UTF-8 in a string");
    CHECK_ERROR("[\"\xED\xA0\x80\"]", "line 1, column 3: invalid UTF-8 in a string"); /* U+D800 */
    CHECK_ERROR("[\"\xF4\x90\x80\x80\"]", "line 1, column 3: invalid UTF-8 in a string");
    CHECK_ERROR("[\"\xF5\x80\x80\x80\"]", "line 1, column 3: invalid UTF-8 in a string");
    CHECK_ERROR("[\"\x80\"]", "line 1, column 3: invalid UTF-8 in a string");
    CHECK_ERROR("[\"\xE4\xB8\"]", "line 1, column 3: invalid UTF-8 in a string"); /* cut short */
    CHECK_ERROR("[\"\xE4\"]", "line 1, column 3: invalid UTF-8 in a string");
    CHECK_ERROR("\"\xE4\xB8", "line 1, column 1: unterminated string");
    CHECK_ERROR_N("[\"a\0\"]", 6,
                  "line 1, column 4: unescaped control character U+0000 in a string");
    /* Columns count characters, not bytes; lines end at LF. */
    CHECK_ERROR("[\"é\t\"]", "line 1, column 4: unescaped control character U+0009 in a string");
    CHECK_ERROR("{\"营业执照\": 1,\r\n  \"名称\": x}",
                "line 2, column 9: unknown literal (only true, false and null)");
    CHECK_ERROR("[\"\xE4\xB8\xAD\xFF\"]", "line 1, column 4: invalid UTF-8 in a string");

    /* Limits. */
    size_t cap = 2 * (size_t)JSON_MAX_ITEMS + 16;
    char *many = malloc(cap);
    n = 0;
    many[n++] = '[';
    for (int i = 0; i <= JSON_MAX_ITEMS; i++) {
        many[n++] = '0';
        many[n++] = ',';
    }
    many[n - 1] = ']';
    CHECK_ERROR_N(many, n, "line 1, column 200002: more than 100000 items in an array");
    free(many);
    cap = 16 * (size_t)JSON_MAX_ITEMS + 64;
    many = malloc(cap);
    n = 0;
    many[n++] = '{';
    for (int i = 0; i <= JSON_MAX_ITEMS; i++)
        n += (size_t)snprintf(many + n, cap - n, "\"%06d\":0,", i);
    many[n - 1] = '}';
    /* The 100001st key starts after '{' and 100000 members of 11 bytes. */
    CHECK_ERROR_N(many, n, "line 1, column 1100002: more than 100000 members in an object");
    free(many);

    char *huge = malloc((size_t)JSON_MAX_BYTES + 1);
    memset(huge, ' ', (size_t)JSON_MAX_BYTES + 1);
    huge[0] = '1';
    CHECK(json_parse(&A, huge, (size_t)JSON_MAX_BYTES + 1, msg, sizeof msg) == NULL);
    CHECK_STR(msg, "the input is 16777217 bytes, over the maximum of 16777216");
    const json *v = json_parse(&A, huge, JSON_MAX_BYTES, msg, sizeof msg);
    CHECK(v && v->num == 1);
    CHECK_STR(msg, "");
    free(huge);

    /* The arena's maximum. */
    arena small;
    arena_init(&small, 1000);
    CHECK(json_parse(&small, rfc_example1, strlen(rfc_example1), msg, sizeof msg) == NULL);
    CHECK(strncmp(msg, "line ", 5) == 0 &&
          strstr(msg, ": out of memory (the arena's maximum is 1000 bytes)") != NULL);
    arena_free(&small);

    /* Arguments, and messages cut to the room given. */
    CHECK(json_parse(NULL, "1", 1, msg, sizeof msg) == NULL);
    CHECK_STR(msg, "invalid argument: the arena is NULL");
    CHECK(json_parse(&A, NULL, 1, msg, sizeof msg) == NULL);
    CHECK_STR(msg, "invalid argument: the text is NULL");
    CHECK(json_parse(&A, "[", 1, NULL, 0) == NULL);
    char tiny[12];
    CHECK(json_parse(&A, "[", 1, tiny, sizeof tiny) == NULL);
    CHECK_STR(tiny, "line 1, col");
}

/* ---- json_quote ---------------------------------------------------------------------------- */

static void check_round_trip(const char *s) {
    char out[4096];
    size_t n = json_quote(out, sizeof out, s);
    const json *v;
    CHECK(n < sizeof out && n == strlen(out));
    v = parse(out);
    if (!v || v->type != JSON_STRING || strcmp(v->str, s) != 0) {
        fprintf(stderr, "test_json: round trip of \"%s\" via %s: %s\n", s, out,
                v ? "different" : msg);
        check_failures++;
    }
}

/* UTF-8 of a code point (RFC 3629), written here independently of json.c. */
static size_t put_utf8(unsigned char *o, unsigned long cp) {
    size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    static const unsigned char lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
    for (size_t i = n - 1; i > 0; i--, cp >>= 6)
        o[i] = (unsigned char)(0x80 | (cp & 0x3F));
    o[0] = (unsigned char)(n == 1 ? cp : lead[n] | cp);
    return n;
}

static void test_quote(void) {
    char out[64];
    CHECK_INT(json_quote(out, sizeof out, "a\"b\\c\n"), 15);
    CHECK_STR(out, "\"a\\\"b\\\\c\\u000a\"");
    CHECK_INT(json_quote(out, sizeof out, ""), 2);
    CHECK_STR(out, "\"\"");
    CHECK_INT(json_quote(out, sizeof out, "\x01\x1f\x7f/"), 16);
    CHECK_STR(out, "\"\\u0001\\u001f\x7f/\"");
    CHECK_INT(json_quote(out, sizeof out, "营业执照"), 14);
    CHECK_STR(out, "\"营业执照\"");
    /* Bytes that are not UTF-8 become U+FFFD: the result is always valid JSON. */
    CHECK_INT(json_quote(out, sizeof out,
                         "a\xFF"
                         "b\xED\xA0\x80"),
              16);
    CHECK_STR(out, "\"a\xEF\xBF\xBD"
                   "b\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
    CHECK_INT(json_quote(out, sizeof out, "\xE4\xB8"), 8); /* cut short */
    /* Like snprintf: the length needed; what fits, cut between characters and escapes. */
    CHECK_INT(json_quote(NULL, 0, "abc"), 5);
    CHECK_INT(json_quote(out, 0, "abc"), 5);
    memset(out, 'x', sizeof out);
    CHECK_INT(json_quote(out, 1, "abc"), 5);
    CHECK_STR(out, "");
    CHECK_INT(json_quote(out, 5, "abc"), 5);
    CHECK_STR(out, "\"abc");
    CHECK_INT(json_quote(out, 6, "abc"), 5);
    CHECK_STR(out, "\"abc\"");
    CHECK_INT(json_quote(out, 4, "a\nb"), 10);
    CHECK_STR(out, "\"a"); /* not half of \u000a */
    CHECK_INT(json_quote(out, 5, "a营"), 6);
    CHECK_STR(out, "\"a"); /* not part of 营 */
    CHECK_INT(json_quote(out, 6, "a营"), 6);
    CHECK_STR(out, "\"a营");
    CHECK_INT(json_quote(out, 7, "a营"), 6);
    CHECK_STR(out, "\"a营\"");
    CHECK_INT(json_quote(out, sizeof out, NULL), 0);
    CHECK_STR(out, "");

    /* Round trips. */
    check_round_trip("");
    check_round_trip("plain");
    check_round_trip("\"quoted\" \\back\\slash/ and \t tab \r\n lines \b \f");
    check_round_trip("营业执照：北京某某科技有限公司 \xF0\x9F\x94\x8F \xEF\xBB\xBF \x7F");
    char all[64];
    for (int i = 1; i < 0x40; i++)
        all[i - 1] = (char)i;
    all[0x3F] = '\0';
    check_round_trip(all);
    /* Every 97th code point, in strings of eight. */
    char s[64];
    size_t n = 0;
    for (unsigned long cp = 1; cp <= 0x10FFFF; cp += 97) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        n += put_utf8((unsigned char *)s + n, cp);
        if (n > 28) {
            s[n] = '\0';
            check_round_trip(s);
            n = 0;
            arena_free(&A);
        }
    }
}

/* ---- Robustness ---------------------------------------------------------------------------- */

static const char sample[] =
    "{\"eseal_template\": 1, \"name\": \"营业执照\", \"fields\": [{\"key\": \"licence_no\", "
    "\"at\": {\"x_mm\": 12.5, \"y_mm\": -3e1}, \"escapes\": \"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9"
    "\\uD834\\uDD1E\"}, [], {}, [true, false, null, 0, -0.5E+3]], \"qr\": {\"level\": \"M\"}}";

/* Every proper prefix of an object is incomplete: each must fail with a message, none crash. */
static void test_truncation(void) {
    size_t len = strlen(sample);
    CHECK(parse(sample) != NULL);
    for (size_t n = 0; n < len; n++) {
        const json *v = parse_n(sample, n);
        if (v || strncmp(msg, "line 1, column ", 15) != 0) {
            fprintf(stderr, "test_json: prefix of %zu bytes: %s\n", n, v ? "parsed" : msg);
            check_failures++;
        }
        arena_free(&A);
    }
}

/* Each byte replaced by a few others: whatever the result, no crash, and a failure has a
 * message. */
static void test_flips(void) {
    static const unsigned char with[] = {0,   '"', '\\', '{',  '}',  '[',  ']', ',',  ':', '0',
                                         'e', '-', 0x80, 0xC3, 0xED, 0xFF, ' ', '\n', 'u', 'D'};
    size_t len = strlen(sample), failed = 0;
    char *copy = malloc(len);
    for (size_t i = 0; i < len; i++) {
        for (size_t k = 0; k < sizeof with; k++) {
            memcpy(copy, sample, len);
            copy[i] = (char)with[k];
            const json *v = parse_n(copy, len);
            if (!v) {
                failed++;
                CHECK(strncmp(msg, "line ", 5) == 0);
            }
            arena_free(&A);
        }
    }
    CHECK(failed > 0);
    free(copy);
}

int main(void) {
    arena_init(&A, ARENA_MAX);
    test_rfc_examples();
    test_scalars();
    test_structures();
    arena_free(&A);
    test_errors();
    arena_free(&A);
    test_quote();
    arena_free(&A);
    test_truncation();
    test_flips();
    arena_free(&A);
    return check_report("test_json");
}
