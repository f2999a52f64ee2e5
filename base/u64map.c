/* Open addressing with linear probing; the table is kept at most half full. */
#include "base/u64map.h"

#include <stdlib.h>

#include "base/buf.h"

void u64map_init(u64map *m, size_t max) {
    *m = (u64map){.max = max};
}

void u64map_free(u64map *m) {
    free(m->keys);
    free(m->vals);
    free(m->used);
    u64map_init(m, m->max);
}

/* A 64-bit mix (splitmix64's finaliser) so that offsets and small numbers spread. */
static size_t slot_of(uint64_t key, size_t cap) {
    key ^= key >> 30;
    key *= 0xbf58476d1ce4e5b9ULL;
    key ^= key >> 27;
    key *= 0x94d049bb133111ebULL;
    key ^= key >> 31;
    return (size_t)(key & (cap - 1));
}

static size_t find(const u64map *m, uint64_t key) {
    size_t i = slot_of(key, m->cap);
    while (m->used[i] && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    return i;
}

void *u64map_get(const u64map *m, uint64_t key) {
    if (!m->cap)
        return NULL;
    size_t i = find(m, key);
    return m->used[i] ? m->vals[i] : NULL;
}

bool u64map_has(const u64map *m, uint64_t key) {
    return m->cap && m->used[find(m, key)];
}

static int grow(u64map *m) {
    size_t ncap = m->cap ? m->cap * 2 : 16;
    u64map n = {.keys = malloc(ncap * sizeof *n.keys),
                .vals = malloc(ncap * sizeof *n.vals),
                .used = calloc(ncap, 1),
                .cap = ncap,
                .max = m->max};
    int rc = BUF_OK;
    if (!n.keys || !n.vals || !n.used) {
        u64map_free(&n);
        rc = BUF_ENOMEM;
    } else {
        for (size_t i = 0; i < m->cap; i++) {
            if (m->used[i]) {
                size_t j = find(&n, m->keys[i]);
                n.used[j] = 1;
                n.keys[j] = m->keys[i];
                n.vals[j] = m->vals[i];
            }
        }
        n.n = m->n;
        u64map_free(m);
        *m = n;
    }
    return rc;
}

int u64map_put(u64map *m, uint64_t key, void *val) {
    int rc = BUF_OK;
    if (m->cap) {
        size_t i = find(m, key);
        if (m->used[i]) {
            m->vals[i] = val;
            return BUF_OK;
        }
    }
    if (m->n >= m->max)
        return BUF_ETOOBIG;
    if ((m->n + 1) * 2 > m->cap)
        rc = grow(m);
    if (rc == BUF_OK) {
        size_t i = find(m, key);
        m->used[i] = 1;
        m->keys[i] = key;
        m->vals[i] = val;
        m->n++;
    }
    return rc;
}

bool u64map_next(const u64map *m, size_t *i, uint64_t *key, void **val) {
    for (; *i < m->cap; (*i)++) {
        if (m->used[*i]) {
            *key = m->keys[*i];
            *val = m->vals[*i];
            (*i)++;
            return true;
        }
    }
    return false;
}
