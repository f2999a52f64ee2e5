/* A map from 64-bit keys to pointers (open addressing, linear probing), for sets of object
 * numbers and caches keyed by file offsets. It grows by doubling up to a maximum number of
 * entries; u64map_put fails with BUF_ETOOBIG past it and BUF_ENOMEM when memory runs out. */
#ifndef ESEAL_BASE_U64MAP_H
#define ESEAL_BASE_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct u64map {
    uint64_t *keys;
    void **vals;
    uint8_t *used;
    size_t n, cap, max;
} u64map;

/* An empty map holding at most max entries. Allocates nothing. */
void u64map_init(u64map *m, size_t max);
void u64map_free(u64map *m);
/* The value of key, or NULL when absent (a present key may also map to NULL: see has). */
void *u64map_get(const u64map *m, uint64_t key);
bool u64map_has(const u64map *m, uint64_t key);
/* Sets key to val, replacing what it had. */
int u64map_put(u64map *m, uint64_t key, void *val);
/* Iteration: for (size_t i = 0; u64map_next(m, &i, &k, &v);) visits every entry once. */
bool u64map_next(const u64map *m, size_t *i, uint64_t *key, void **val);

#endif
