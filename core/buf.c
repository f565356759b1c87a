/*
 * buf.c
 *
 * Growable byte buffers with a cap (curl's dynbuf).  A buffer fed by a client
 * or an object store always has a maximum; appending past it fails and leaves
 * the buffer as it was.  The content is kept NUL-terminated for convenience.
 */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Start an empty buffer; memory comes from `a` if given, else the heap. */
void fl_buf_init(struct fl_buf *b, struct fl_arena *a, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->a = a;
    b->max = max ? max : SIZE_MAX / 2;
}

static bool grow(struct fl_buf *b, size_t need)
{
    size_t cap = b->cap ? b->cap : 256;
    char  *p;

    if (need > b->max) {
        return false;
    }
    while (cap < need + 1) {
        cap *= 2;
    }
    if (cap > b->max + 1) {
        cap = b->max + 1;
    }
    if (b->a != NULL) {
        p = fl_alloc(b->a, cap);
        if (b->len > 0) {
            memcpy(p, b->p, b->len);
        }
    } else {
        p = fl_xrealloc(b->p, cap);
    }
    b->p = p;
    b->cap = cap;
    return true;
}

/* Append `n` bytes; false (buffer unchanged) when the cap would be passed. */
bool fl_buf_append(struct fl_buf *b, const void *data, size_t n)
{
    if (b->len + n + 1 > b->cap && !grow(b, b->len + n)) {
        return false;
    }
    if (n > 0) {
        memcpy(b->p + b->len, data, n);
    }
    b->len += n;
    b->p[b->len] = '\0';
    return true;
}

bool fl_buf_printf(struct fl_buf *b, const char *fmt, ...)
{
    va_list ap;
    int     n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return false;
    }
    if (b->len + (size_t)n + 1 > b->cap && !grow(b, b->len + (size_t)n)) {
        return false;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return true;
}

/* Free heap memory of a buffer without an arena; a no-op for arena ones. */
void fl_buf_release(struct fl_buf *b)
{
    if (b->a == NULL) {
        free(b->p);
    }
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}
