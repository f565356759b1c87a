/*
 * acc_cache.c
 *
 * Cached callers and authorization decisions, so a request's
 * authentication and authorization do no database work when nothing they
 * depend on changed (DESIGN 10).  Entries carry the epoch current when
 * their query started; the epoch moves on every notification of channel
 * floe_grants (grant changes, principals dropped, tables moved: see
 * migrations/0003_access.sql), and while the listener is not connected
 * nothing is trusted.  A direct-mapped table: a new entry replaces what
 * hashed to its slot, so memory is bounded.
 */
#include "access/access.h"
#include "access/acc_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 4096

struct slot {
    char    *key;
    uint64_t epoch;
    void    *val;
    size_t   len;
};

static struct slot     slots[SLOTS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint_fast64_t epoch = 1;
static atomic_bool     live;

/* The listener's callback (server/srv_serve.c starts it). */
void acc_cache_event(void *arg, bool is_live)
{
    (void)arg;
    atomic_fetch_add(&epoch, 1);
    atomic_store(&live, is_live);
}

/* Forget every entry now: this server changed something a decision may
 * depend on (other servers learn it from the notification). */
void acc_cache_invalidate(void)
{
    atomic_fetch_add(&epoch, 1);
}

/* The epoch to stamp an entry about to be computed with; 0: don't cache. */
uint64_t acc_cache_epoch(void)
{
    return atomic_load(&live) ? atomic_load(&epoch) : 0;
}

static size_t slot_of(const char *key)
{
    uint64_t h = 1469598103934665603ULL;        /* FNV-1a */

    for (; *key; key++) {
        h = (h ^ (unsigned char)*key) * 1099511628211ULL;
    }
    return (size_t)(h % SLOTS);
}

/* A copy of the value cached for `key` in the arena, or NULL. */
void *acc_cache_get(struct fl_arena *a, const char *key, size_t *len)
{
    uint64_t     now = acc_cache_epoch();
    struct slot *s = &slots[slot_of(key)];
    void        *out = NULL;

    if (now == 0) {
        return NULL;
    }
    pthread_mutex_lock(&mu);
    if (s->key != NULL && s->epoch == now && strcmp(s->key, key) == 0) {
        out = fl_alloc(a, s->len ? s->len : 1);
        memcpy(out, s->val, s->len);
        *len = s->len;
    }
    pthread_mutex_unlock(&mu);
    return out;
}

/* Cache `val` for `key`, computed from a state no older than `stamp`. */
void acc_cache_put(const char *key, const void *val, size_t len,
                   uint64_t stamp)
{
    struct slot *s = &slots[slot_of(key)];
    char        *k;
    void        *v;

    if (stamp == 0 || stamp != acc_cache_epoch()) {
        return;
    }
    k = strdup(key);
    v = malloc(len ? len : 1);
    if (k == NULL || v == NULL) {
        free(k);
        free(v);
        return;
    }
    memcpy(v, val, len);
    pthread_mutex_lock(&mu);
    free(s->key);
    free(s->val);
    s->key = k;
    s->val = v;
    s->len = len;
    s->epoch = stamp;
    pthread_mutex_unlock(&mu);
}

/* Free every entry (shutdown, tests). */
void acc_cache_clear(void)
{
    size_t i;

    pthread_mutex_lock(&mu);
    for (i = 0; i < SLOTS; i++) {
        free(slots[i].key);
        free(slots[i].val);
        memset(&slots[i], 0, sizeof(slots[i]));
    }
    pthread_mutex_unlock(&mu);
}
