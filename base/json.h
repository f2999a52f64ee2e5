/* A strict, bounded JSON parser (RFC 8259) for templates and metadata: depth, size and counts
 * have maxima, numbers are checked, strings are valid UTF-8 with escapes decoded (\u0000 and
 * unpaired surrogates refused), duplicate keys refused. Values live in an arena. */
#ifndef ESEAL_BASE_JSON_H
#define ESEAL_BASE_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"

typedef enum json_type {
    JSON_NULL,
    JSON_BOOL,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
} json_type;

typedef struct json json;
struct json {
    json_type type;
    bool b;
    double num;
    const char *str;   /* NUL-terminated UTF-8 (no NULs inside) */
    size_t len;        /* string length; items of an array or object */
    json **items;      /* array items, or object values */
    const char **keys; /* object keys, in document order */
    size_t line, col;  /* where the value starts, for messages */
};

#define JSON_MAX_DEPTH 64
#define JSON_MAX_ITEMS 100000
#define JSON_MAX_BYTES (16u * 1024 * 1024)

/* Parses text; on failure returns NULL and writes a message naming line, column and cause
 * ("line 3, column 14: expected ',' or '}'") to err. */
json *json_parse(arena *a, const char *text, size_t len, char *err, size_t errlen);

/* The member key of an object, or NULL. */
const json *json_get(const json *obj, const char *key);
/* A JSON string as JSON text (quoted, escaped), appended to a NUL-terminated buffer owned by the
 * caller: writes at most n bytes; returns the length it needed. */
size_t json_quote(char *out, size_t n, const char *utf8);

#endif
