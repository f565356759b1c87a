/*
 * cat_cache.c
 *
 * The load cache: serialized LoadTableResult bodies keyed by (table id,
 * snapshots mode) and tagged with the table's version, so an entry is valid
 * exactly while the table row still has that version (DESIGN section 10).
 * A hit costs one indexed version lookup and a copy.  Bounded by a byte
 * budget; when full, the entry in the slot being filled is replaced and
 * other entries are evicted round-robin.  Safe for concurrent use.
 *
 * Also the ETag of a table state: a hash of its metadata location and the
 * snapshots mode, so different versions and different modes never share
 * one (spec: loadTable, ETag).
 */
#include "catalog/catalog_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 4096

struct slot {
    int64_t id;
    int64_t version;
    int     mode;
    char   *body;
    size_t  len;
};

static struct slot     slots[CACHE_SLOTS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static size_t          used;
static size_t          budget = 64 * 1024 * 1024;
static size_t          sweep;

/* Set the cache's byte budget (0 disables caching). */
void cat_cache_budget(size_t bytes)
{
    pthread_mutex_lock(&mu);
    budget = bytes;
    pthread_mutex_unlock(&mu);
}

static size_t slot_of(int64_t id, int mode)
{
    uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ULL + (uint64_t)mode;

    return (size_t)(h >> 52) % CACHE_SLOTS;
}

static void slot_clear(struct slot *s)
{
    used -= s->len;
    free(s->body);
    memset(s, 0, sizeof(*s));
}

/*
 * Copy the cached body for (id, version, mode) into the arena.  Returns
 * false on a miss.
 */
bool cat_cache_get(int64_t id, int64_t version, int mode, struct fl_arena *a,
                   const char **body, size_t *len)
{
    struct slot *s = &slots[slot_of(id, mode)];
    bool         hit = false;

    pthread_mutex_lock(&mu);
    if (s->body != NULL && s->id == id && s->version == version &&
        s->mode == mode) {
        char *copy = fl_alloc(a, s->len + 1);

        memcpy(copy, s->body, s->len);
        *body = copy;
        *len = s->len;
        hit = true;
    }
    pthread_mutex_unlock(&mu);
    return hit;
}

/* Remember `body` for (id, version, mode); newer versions win. */
void cat_cache_put(int64_t id, int64_t version, int mode, const char *body,
                   size_t len)
{
    struct slot *s = &slots[slot_of(id, mode)];

    pthread_mutex_lock(&mu);
    if (len > budget / 8 || (s->body != NULL && s->id == id &&
                             s->version > version)) {
        pthread_mutex_unlock(&mu);
        return;
    }
    if (s->body != NULL) {
        slot_clear(s);
    }
    while (used + len > budget) {
        sweep = (sweep + 1) % CACHE_SLOTS;
        if (slots[sweep].body != NULL) {
            slot_clear(&slots[sweep]);
        }
    }
    s->body = fl_xmalloc(len);
    memcpy(s->body, body, len);
    s->len = len;
    s->id = id;
    s->version = version;
    s->mode = mode;
    used += len;
    pthread_mutex_unlock(&mu);
}

/* Drop every entry (tests, shutdown). */
void cat_cache_clear(void)
{
    size_t i;

    pthread_mutex_lock(&mu);
    for (i = 0; i < CACHE_SLOTS; i++) {
        if (slots[i].body != NULL) {
            slot_clear(&slots[i]);
        }
    }
    pthread_mutex_unlock(&mu);
}

/* The quoted strong ETag of a metadata location in a snapshots mode. */
void cat_etag(const char *location, int mode, char out[24])
{
    uint64_t             h = 1469598103934665603ULL;
    const unsigned char *p;

    for (p = (const unsigned char *)location; *p != '\0'; p++) {
        h = (h ^ *p) * 1099511628211ULL;
    }
    h = (h ^ (unsigned)(mode + 1)) * 1099511628211ULL;
    snprintf(out, 24, "\"%016llx\"", (unsigned long long)h);
}
