/* Region allocator: many small allocations freed at once (one signature's objects, say).
 * An arena has a hard maximum; arena_alloc returns NULL past it or when memory runs out. */
#ifndef ESEAL_BASE_ARENA_H
#define ESEAL_BASE_ARENA_H

#include <stddef.h>

typedef struct arena_block arena_block;
typedef struct arena {
    arena_block *head;
    size_t used; /* bytes handed out, all blocks */
    size_t max;
} arena;

void arena_init(arena *a, size_t max);
/* Zero-filled, aligned for any type. */
void *arena_alloc(arena *a, size_t n);
void *arena_memdup(arena *a, const void *p, size_t n);
/* NUL-terminated copy of n bytes. */
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_strdup(arena *a, const char *s);
void arena_free(arena *a);

#endif
