#include "base/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 16384

struct arena_block {
    arena_block *next;
    size_t size;
    size_t off;
    alignas(max_align_t) unsigned char mem[];
};

void arena_init(arena *a, size_t max) {
    a->head = NULL;
    a->used = 0;
    a->max = max;
}

void *arena_alloc(arena *a, size_t n) {
    const size_t align = alignof(max_align_t);
    if (n > a->max || a->used > a->max - n)
        return NULL;
    size_t rounded = (n + align - 1) & ~(align - 1);
    arena_block *b = a->head;
    if (!b || b->size - b->off < rounded) {
        size_t size = rounded > ARENA_BLOCK ? rounded : ARENA_BLOCK;
        b = malloc(sizeof *b + size);
        if (!b)
            return NULL;
        b->next = a->head;
        b->size = size;
        b->off = 0;
        a->head = b;
    }
    void *p = b->mem + b->off;
    b->off += rounded;
    a->used += n;
    memset(p, 0, n);
    return p;
}

void *arena_memdup(arena *a, const void *p, size_t n) {
    void *q = arena_alloc(a, n ? n : 1);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

char *arena_strndup(arena *a, const char *s, size_t n) {
    if (n == SIZE_MAX)
        return NULL;
    char *q = arena_alloc(a, n + 1);
    if (q)
        memcpy(q, s, n);
    return q;
}

char *arena_strdup(arena *a, const char *s) {
    return arena_strndup(a, s, strlen(s));
}

void arena_free(arena *a) {
    arena_block *b = a->head;
    while (b) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used = 0;
}
