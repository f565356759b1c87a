/*
 * sto_mem.c
 *
 * The mem:// backend, for unit tests: objects live in one process-global
 * table (URI -> bytes and mtime) behind a mutex, shared by every struct sto
 * opened for "mem" and by all threads.  URIs are "mem://bucket/key"; they
 * follow the same path rules as file:// (storage.c's sto_path_check) and the
 * operations have the same semantics, 409 on put-if-absent included, so
 * code tested against mem:// behaves the same on file://.
 *
 * It is not a cache and not durable: the content lasts until the process
 * exits.  There is no way to clear it; tests use distinct keys.
 */
#include "storage/sto_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Fixed, as the table only ever holds what a unit test writes. */
#define MEM_BUCKETS 256

struct mem_obj {
    struct mem_obj *next;
    char           *uri;
    char           *data;
    size_t          len;
    int64_t         mtime_ms;
};

struct mem_copy {
    char   *uri;
    int64_t size;
    int64_t mtime_ms;
};

static pthread_mutex_t mem_mu = PTHREAD_MUTEX_INITIALIZER;
static struct mem_obj *mem_table[MEM_BUCKETS];
static size_t          mem_count;

/* FNV-1a; plenty for test keys. */
static struct mem_obj **mem_slot(const char *uri)
{
    const unsigned char *p;
    uint32_t             h = 2166136261u;

    for (p = (const unsigned char *)uri; *p != '\0'; p++) {
        h = (h ^ *p) * 16777619u;
    }
    return &mem_table[h % MEM_BUCKETS];
}

/* The link pointing at `uri`'s object, or at the NULL ending its chain. */
static struct mem_obj **mem_find(const char *uri)
{
    struct mem_obj **pp;

    for (pp = mem_slot(uri); *pp != NULL; pp = &(*pp)->next) {
        if (strcmp((*pp)->uri, uri) == 0) {
            break;
        }
    }
    return pp;
}

static bool mem_check(const char *uri, bool object, struct fl_err *err)
{
    const char *path = uri + strlen("mem:");

    if (strncmp(path, "//", 2) != 0 || path[2] == '/'
        || (object && path[2] == '\0')) {
        return FL_ERR(err, 400, STO_BAD_REQUEST,
                      "invalid storage location \"%s\": expected "
                      "mem://bucket/key", uri);
    }
    return sto_path_check(uri, path + 2, object, err);
}

static void mem_obj_free(struct mem_obj *o)
{
    if (o != NULL) {
        free(o->uri);
        free(o->data);
        free(o);
    }
}

/* ------------------------------------------------------------ operations */

static bool mem_get(struct sto *s, struct fl_arena *a, const char *uri,
                    size_t max, struct fl_buf *out, struct fl_err *err)
{
    struct mem_obj *o;
    bool            ok = false;

    (void)s;
    (void)a;
    if (!mem_check(uri, true, err)) {
        return false;
    }
    pthread_mutex_lock(&mem_mu);
    o = *mem_find(uri);
    if (o == NULL) {
        FL_ERR(err, 404, STO_NOT_FOUND,
               "could not read object \"%s\": no such file", uri);
        goto out;
    }
    if (o->len > max || !fl_buf_append(out, o->data, o->len)) {
        FL_ERR(err, 500, STO_INTERNAL,
               "could not read object \"%s\": larger than the limit of %zu "
               "bytes", uri, max);
        goto out;
    }
    ok = true;
out:
    pthread_mutex_unlock(&mem_mu);
    return ok;
}

/* Shared by put and put_if_absent; the copy is made outside the lock. */
static bool mem_put_common(const char *uri, const void *data, size_t n,
                           bool if_absent, struct fl_err *err)
{
    struct mem_obj **pp;
    struct mem_obj  *o;
    struct mem_obj  *old = NULL;
    bool             ok = false;

    if (!mem_check(uri, true, err)) {
        return false;
    }
    o = fl_xcalloc(1, sizeof(*o));
    o->uri = fl_xstrdup(uri);
    o->data = fl_xmalloc(n > 0 ? n : 1);
    if (n > 0) {
        memcpy(o->data, data, n);
    }
    o->len = n;
    o->mtime_ms = fl_now_ms();
    pthread_mutex_lock(&mem_mu);
    pp = mem_find(uri);
    if (*pp != NULL && if_absent) {
        FL_ERR(err, 409, STO_EXISTS, "object \"%s\" already exists", uri);
        goto out;
    }
    old = *pp;
    o->next = old != NULL ? old->next : NULL;
    *pp = o;
    if (old == NULL) {
        mem_count++;
    }
    o = NULL;
    ok = true;
out:
    pthread_mutex_unlock(&mem_mu);
    mem_obj_free(o);
    mem_obj_free(old);
    return ok;
}

static bool mem_put(struct sto *s, const char *uri, const void *data,
                    size_t n, struct fl_err *err)
{
    (void)s;
    return mem_put_common(uri, data, n, false, err);
}

static bool mem_put_if_absent(struct sto *s, const char *uri,
                              const void *data, size_t n, struct fl_err *err)
{
    (void)s;
    return mem_put_common(uri, data, n, true, err);
}

static bool mem_delete(struct sto *s, const char *uri, bool *existed,
                       struct fl_err *err)
{
    struct mem_obj **pp;
    struct mem_obj  *o;

    (void)s;
    *existed = false;
    if (!mem_check(uri, true, err)) {
        return false;
    }
    pthread_mutex_lock(&mem_mu);
    pp = mem_find(uri);
    o = *pp;
    if (o != NULL) {
        *pp = o->next;
        mem_count--;
        *existed = true;
    }
    pthread_mutex_unlock(&mem_mu);
    mem_obj_free(o);
    return true;
}

static bool mem_head(struct sto *s, const char *uri, struct sto_stat *st,
                     bool *exists, struct fl_err *err)
{
    struct mem_obj *o;

    (void)s;
    if (!mem_check(uri, true, err)) {
        return false;
    }
    pthread_mutex_lock(&mem_mu);
    o = *mem_find(uri);
    if (o != NULL) {
        *exists = true;
        st->size = (int64_t)o->len;
        st->mtime_ms = o->mtime_ms;
    }
    pthread_mutex_unlock(&mem_mu);
    return true;
}

/*
 * Matches are copied under the lock and reported after it is released, so
 * the callback may call back into storage (to delete what it is shown).
 */
static bool mem_list(struct sto *s, const char *prefix, sto_list_fn fn,
                     void *ctx, struct fl_err *err)
{
    struct mem_copy  *v = NULL;
    struct mem_obj   *o;
    struct sto_entry  ent;
    size_t            plen = strlen(prefix);
    size_t            n = 0;
    size_t            i;

    (void)s;
    if (!mem_check(prefix, false, err)) {
        return false;
    }
    pthread_mutex_lock(&mem_mu);
    if (mem_count > 0) {
        v = fl_xcalloc(mem_count, sizeof(*v));
    }
    for (i = 0; i < MEM_BUCKETS; i++) {
        for (o = mem_table[i]; o != NULL; o = o->next) {
            if (strncmp(o->uri, prefix, plen) == 0) {
                v[n].uri = fl_xstrdup(o->uri);
                v[n].size = (int64_t)o->len;
                v[n].mtime_ms = o->mtime_ms;
                n++;
            }
        }
    }
    pthread_mutex_unlock(&mem_mu);
    for (i = 0; i < n; i++) {
        ent.uri = v[i].uri;
        ent.size = v[i].size;
        ent.mtime_ms = v[i].mtime_ms;
        if (!fn(ctx, &ent)) {
            break;
        }
    }
    for (i = 0; i < n; i++) {
        free(v[i].uri);
    }
    free(v);
    return true;
}

const struct sto_ops sto_mem_ops = {
    .scheme = "mem",
    .get = mem_get,
    .put = mem_put,
    .put_if_absent = mem_put_if_absent,
    .del = mem_delete,
    .list = mem_list,
    .head = mem_head,
};
