/*
 * storage.h
 *
 * The public interface of storage/: one API over object stores.  Objects are
 * named by full URIs as Iceberg writes them ("file:///w/db/t/metadata/x.json",
 * "s3://bucket/key", "mem://bucket/key").  A struct sto is one configured
 * backend; a catalog's storage configuration selects and configures it.
 *
 * Backends: file:// (the embedded default), mem:// (unit tests), and later
 * s3://.  libcurl appears only in this folder.  A struct sto is immutable
 * once open and may be used by any number of threads at once.
 *
 * Error conventions (struct fl_err, last argument):
 *   missing object on get/head-required  404 NotFoundException
 *   put-if-absent on an existing object  409 AlreadyExistsException
 *   object larger than the caller's cap  500 InternalServerError
 *   invalid or unsupported URI           400 BadRequestException
 *   I/O failure                          500 InternalServerError (errno text
 *                                        in err->log)
 */
#ifndef FL_STORAGE_H
#define FL_STORAGE_H

#include "core/core.h"

struct sto;

struct sto_stat {
    int64_t size;
    int64_t mtime_ms;
};

struct sto_entry {
    const char *uri;        /* full URI of the object */
    int64_t     size;
    int64_t     mtime_ms;
};

/*
 * Called once per listed object; return false to stop the listing early.
 * `e` and its URI are valid only during the call.
 */
typedef bool (*sto_list_fn)(void *ctx, const struct sto_entry *e);

/* Open the backend for a scheme ("file") or a URI of it; NULL + 400. */
struct sto *sto_open(const char *scheme, struct fl_err *err);
/* Release a struct sto; NULL is allowed. */
void sto_close(struct sto *s);
/* True when this build has a backend for the scheme of `uri`. */
bool sto_supports(const char *uri);

/* Read a whole object into `out` (initialised here) with a cap of `max`. */
bool sto_get(struct sto *s, struct fl_arena *a, const char *uri, size_t max,
             struct fl_buf *out, struct fl_err *err);
/* Create or atomically replace an object; durable on success. */
bool sto_put(struct sto *s, const char *uri, const void *data, size_t n,
             struct fl_err *err);
/* Create an object only if absent (atomic; 409 otherwise). */
bool sto_put_if_absent(struct sto *s, const char *uri, const void *data,
                       size_t n, struct fl_err *err);
/* Delete an object; a missing one is success. */
bool sto_delete(struct sto *s, const char *uri, struct fl_err *err);
/* Delete many objects, counting those removed; stops at the first error. */
bool sto_delete_batch(struct sto *s, const char *const *uris, size_t n,
                      size_t *deleted, struct fl_err *err);
/* Report every object whose URI starts with the string `prefix`. */
bool sto_list(struct sto *s, const char *prefix, sto_list_fn fn, void *ctx,
              struct fl_err *err);
/* Size and mtime of an object; `*exists` false (no error) when missing. */
bool sto_head(struct sto *s, const char *uri, struct sto_stat *st,
              bool *exists, struct fl_err *err);

/* Debug builds: fail the n-th object write from now once (0 disarms). */
void sto_fault_set(long n);

#endif /* FL_STORAGE_H */
