/*
 * arena.c
 *
 * The per-request arena (nginx's r->pool, PostgreSQL's memory contexts): a
 * bump allocator over a list of chunks, plus a LIFO list of cleanups that run
 * when the arena is freed.  Cleanups are how foreign resources (jansson
 * values, pooled database connections) are tied to a request's lifetime.
 *
 * Allocation never fails: running out of memory aborts (Redis zmalloc).
 * Not thread-safe: an arena belongs to one request on one thread.
 */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16

struct chunk {
    struct chunk *next;
    size_t        size;
    size_t        used;
    /* the data follows, aligned to ARENA_ALIGN */
};

struct defer {
    struct defer *next;
    void        (*fn)(void *);
    void         *arg;
};

struct fl_arena {
    struct chunk *head;
    struct defer *defers;
    size_t        chunk_size;
    size_t        total;
};

#define CHUNK_HDR ((sizeof(struct chunk) + ARENA_ALIGN - 1) & \
                   ~(size_t)(ARENA_ALIGN - 1))

void *fl_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL) {
        fprintf(stderr, "floe: out of memory allocating %zu bytes\n", n);
        abort();
    }
    return p;
}

void *fl_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (p == NULL) {
        fprintf(stderr, "floe: out of memory allocating %zu bytes\n",
                n * size);
        abort();
    }
    return p;
}

void *fl_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (q == NULL) {
        fprintf(stderr, "floe: out of memory allocating %zu bytes\n", n);
        abort();
    }
    return q;
}

char *fl_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char  *p = fl_xmalloc(n);

    memcpy(p, s, n);
    return p;
}

static struct chunk *chunk_new(size_t size)
{
    struct chunk *c = fl_xmalloc(CHUNK_HDR + size);

    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

/*
 * Create an arena whose chunks hold `chunk` bytes (a default is used for 0).
 * The caller owns the result and releases it with fl_arena_free().
 */
struct fl_arena *fl_arena_new(size_t chunk)
{
    struct fl_arena *a = fl_xcalloc(1, sizeof(*a));

    a->chunk_size = chunk ? chunk : 8192;
    a->head = chunk_new(a->chunk_size);
    return a;
}

/*
 * Return `n` zeroed bytes aligned to 16, valid until the arena is freed.
 * Requests larger than a quarter chunk get a chunk of their own, placed
 * behind the current one so the current chunk keeps serving small requests.
 */
void *fl_alloc(struct fl_arena *a, size_t n)
{
    struct chunk *c = a->head;
    size_t        need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    char         *p;

    if (need == 0) {
        need = ARENA_ALIGN;
    }
    if (need > a->chunk_size / 4) {
        struct chunk *big = chunk_new(need);

        big->used = need;
        big->next = c->next;
        c->next = big;
        a->total += need;
        p = (char *)big + CHUNK_HDR;
        memset(p, 0, need);
        return p;
    }
    if (c->size - c->used < need) {
        c = chunk_new(a->chunk_size);
        c->next = a->head;
        a->head = c;
    }
    p = (char *)c + CHUNK_HDR + c->used;
    c->used += need;
    a->total += need;
    memset(p, 0, need);
    return p;
}

char *fl_strndup(struct fl_arena *a, const char *s, size_t n)
{
    char *p = fl_alloc(a, n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *fl_strdup(struct fl_arena *a, const char *s)
{
    return fl_strndup(a, s, strlen(s));
}

char *fl_vsprintf(struct fl_arena *a, const char *fmt, va_list ap)
{
    va_list cp;
    int     n;
    char   *p;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    fl_assert(n >= 0);
    p = fl_alloc(a, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *fl_sprintf(struct fl_arena *a, const char *fmt, ...)
{
    va_list ap;
    char   *p;

    va_start(ap, fmt);
    p = fl_vsprintf(a, fmt, ap);
    va_end(ap);
    return p;
}

/*
 * Run fn(arg) when the arena is freed.  Cleanups run last-registered first,
 * before any memory is released, so a cleanup may still read arena memory.
 */
void fl_arena_defer(struct fl_arena *a, void (*fn)(void *), void *arg)
{
    struct defer *d = fl_alloc(a, sizeof(*d));

    d->fn = fn;
    d->arg = arg;
    d->next = a->defers;
    a->defers = d;
}

static void json_release(void *v)
{
    json_decref(v);
}

/*
 * Tie a jansson value to the arena.  Steals the caller's reference `v` and
 * returns it as a borrowed reference valid while the arena lives.
 */
json_t *fl_arena_own_json(struct fl_arena *a, json_t *v)
{
    if (v != NULL) {
        fl_arena_defer(a, json_release, v);
    }
    return v;
}

size_t fl_arena_used(const struct fl_arena *a)
{
    return a->total;
}

void fl_arena_free(struct fl_arena *a)
{
    struct chunk *c;
    struct defer *d;

    if (a == NULL) {
        return;
    }
    for (d = a->defers; d != NULL; d = d->next) {
        d->fn(d->arg);
    }
    c = a->head;
    while (c != NULL) {
        struct chunk *next = c->next;

        free(c);
        c = next;
    }
    free(a);
}
