/*
 * storage.c
 *
 * The front of storage/: picks a backend by URI scheme, checks that every
 * URI handed to a struct sto belongs to its backend, and injects faults into
 * object writes in debug builds (FL_FAULT=sto:N, sto_fault_set).  It also
 * holds the URI path rules and errno wording that all backends share, so a
 * "..", a control character or an ENOSPC reads the same from every backend.
 *
 * It does no I/O of its own: that is sto_file.c, sto_mem.c and, later, the
 * S3 backend.  It keeps no per-request state; a struct sto is immutable
 * after sto_open() and may be shared by all threads.
 */
#include "storage/storage.h"

#include "storage/sto_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const struct sto_ops *const backends[] = {
    &sto_file_ops,
    &sto_mem_ops,
};

/* ------------------------------------------------------------- dispatch */

/*
 * Length of the RFC 3986 scheme at the start of `s` (the part before ':'),
 * or 0 when `s` does not start with one.
 */
static size_t scheme_len(const char *s)
{
    size_t i;

    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) {
        return 0;
    }
    for (i = 1; s[i] != '\0' && s[i] != ':'; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-'
              || s[i] == '.')) {
            return 0;
        }
    }
    return s[i] == ':' ? i : 0;
}

static const struct sto_ops *backend_find(const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < FL_ARRAY_LEN(backends); i++) {
        if (strlen(backends[i]->scheme) == len
            && memcmp(backends[i]->scheme, name, len) == 0) {
            return backends[i];
        }
    }
    return NULL;
}

/* 400 unless `uri` is a URI of the backend behind `s`. */
static bool scheme_check(struct sto *s, const char *uri, struct fl_err *err)
{
    size_t len;

    if (uri == NULL) {
        return FL_ERR(err, 400, STO_BAD_REQUEST, "missing storage location");
    }
    len = scheme_len(uri);
    if (len == 0 || backend_find(uri, len) != s->ops) {
        return FL_ERR(err, 400, STO_BAD_REQUEST,
                      "unsupported storage scheme in \"%s\"", uri);
    }
    return true;
}

/*
 * Open the backend for `scheme`, given either as a bare scheme name ("file",
 * "mem") or as any URI or location of that scheme ("file:///w/wh"), so a
 * catalog can pass its warehouse location as is.  Returns a heap object the
 * caller releases with sto_close(); it holds no other resources and may be
 * used by any number of threads at once.  An unknown scheme (including s3
 * for now) sets 400 BadRequestException and returns NULL.
 */
struct sto *sto_open(const char *scheme, struct fl_err *err)
{
    const struct sto_ops *ops;
    struct sto           *s;
    size_t                len;

    if (scheme == NULL) {
        FL_ERR(err, 400, STO_BAD_REQUEST, "missing storage scheme");
        return NULL;
    }
    len = scheme_len(scheme);
    ops = len > 0 ? backend_find(scheme, len)
                  : backend_find(scheme, strlen(scheme));
    if (ops == NULL) {
        FL_ERR(err, 400, STO_BAD_REQUEST,
               "unsupported storage scheme in \"%s\"", scheme);
        return NULL;
    }
    s = fl_xcalloc(1, sizeof(*s));
    s->ops = ops;
    return s;
}

/* Release a struct sto from sto_open(); NULL is allowed. */
void sto_close(struct sto *s)
{
    free(s);
}

/*
 * True when `uri` starts with the scheme of a backend this build has.  It
 * says nothing about the rest of the URI, which each operation checks.
 */
bool sto_supports(const char *uri)
{
    size_t len;

    if (uri == NULL) {
        return false;
    }
    len = scheme_len(uri);
    return len > 0 && backend_find(uri, len) != NULL;
}

/* ------------------------------------------------------ fault injection */

#ifdef FL_DEBUG
static pthread_once_t  fault_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t fault_mu = PTHREAD_MUTEX_INITIALIZER;
static long            fault_left;  /* writes up to the failing one; 0: off */

/*
 * Read FL_FAULT once: a comma-separated list such as "db:3,sto:2", of which
 * only the "sto:" item is ours.  A malformed value is logged and ignored.
 */
static void fault_init(void)
{
    const char *env = getenv("FL_FAULT");
    const char *p;
    const char *end;
    char        num[24];
    int64_t     v;

    for (p = env; p != NULL && *p != '\0'; p = *end ? end + 1 : end) {
        end = strchr(p, ',');
        if (end == NULL) {
            end = p + strlen(p);
        }
        if (strncmp(p, "sto:", 4) != 0) {
            continue;
        }
        if ((size_t)(end - p - 4) >= sizeof(num)) {
            v = 0;
        } else {
            memcpy(num, p + 4, (size_t)(end - p - 4));
            num[end - p - 4] = '\0';
            if (!fl_parse_i64(num, 1, INT32_MAX, &v)) {
                v = 0;
            }
        }
        if (v == 0) {
            fl_log(FL_LOG_WARN, "ignoring malformed FL_FAULT item in \"%s\"",
                   env);
            continue;
        }
        fault_left = (long)v;
        fl_log(FL_LOG_WARN, "FL_FAULT: storage write %ld will fail",
               fault_left);
    }
}

/* Count one object write; true (and a 500 in `err`) if it is to fail. */
static bool fault_hit(const char *uri, struct fl_err *err)
{
    bool hit = false;

    pthread_once(&fault_once, fault_init);
    pthread_mutex_lock(&fault_mu);
    if (fault_left > 0) {
        fault_left--;
        hit = fault_left == 0;
    }
    pthread_mutex_unlock(&fault_mu);
    if (!hit) {
        return false;
    }
    FL_ERR(err, 500, STO_INTERNAL, "injected storage fault");
    fl_err_logf(err, "FL_FAULT: failed the write of \"%s\"", uri);
    return true;
}
#else
static bool fault_hit(const char *uri, struct fl_err *err)
{
    (void)uri;
    (void)err;
    return false;
}
#endif

/*
 * Debug builds: make the n-th object write from now (a put, put-if-absent or
 * single-object delete; a batch delete counts each object) fail with 500
 * InternalServerError "injected storage fault" without touching the store.
 * The fault fires once; n <= 0 disarms it.  This overrides FL_FAULT=sto:N,
 * which arms the same counter at the first write of the process.  Writes
 * from all threads count.  Release builds ignore the call.
 */
void sto_fault_set(long n)
{
#ifdef FL_DEBUG
    pthread_once(&fault_once, fault_init);
    pthread_mutex_lock(&fault_mu);
    fault_left = n > 0 ? n : 0;
    pthread_mutex_unlock(&fault_mu);
#else
    (void)n;
#endif
}

/* ------------------------------------------------------------ operations */

/*
 * Read the whole object at `uri` into `out`, which this function initialises
 * with arena `a` (NULL: heap; the caller then calls fl_buf_release) and cap
 * `max` (> 0).  On success out->p holds out->len bytes plus a NUL.  Sets 404
 * NotFoundException when the object does not exist and 500 when it is larger
 * than `max` or cannot be read.
 */
bool sto_get(struct sto *s, struct fl_arena *a, const char *uri, size_t max,
             struct fl_buf *out, struct fl_err *err)
{
    fl_buf_init(out, a, max);
    if (FL_NEVER(max == 0)) {
        return FL_ERR(err, 500, STO_INTERNAL,
                      "could not read object \"%s\": no size limit", uri);
    }
    if (!scheme_check(s, uri, err)) {
        return false;
    }
    return s->ops->get(s, a, uri, max, out, err);
}

/*
 * Create or replace the object at `uri` with `n` bytes of `data` (borrowed).
 * Readers see the old or the new content, never a mix.  On success the new
 * content is durable.  On failure the object holds the old or the new
 * content: callers that must know which treat a 500 as an unknown outcome.
 */
bool sto_put(struct sto *s, const char *uri, const void *data, size_t n,
             struct fl_err *err)
{
    if (!scheme_check(s, uri, err) || fault_hit(uri, err)) {
        return false;
    }
    return s->ops->put(s, uri, data, n, err);
}

/*
 * Create the object at `uri` with `n` bytes of `data` only if no object is
 * there, atomically: of any number of concurrent callers exactly one
 * succeeds, and no reader ever sees a partial object.  Sets 409
 * AlreadyExistsException, leaving the existing object untouched, when the
 * object exists.  On success the object is durable.
 */
bool sto_put_if_absent(struct sto *s, const char *uri, const void *data,
                       size_t n, struct fl_err *err)
{
    if (!scheme_check(s, uri, err) || fault_hit(uri, err)) {
        return false;
    }
    return s->ops->put_if_absent(s, uri, data, n, err);
}

/*
 * Delete the object at `uri`.  A missing object is success: deletes are
 * idempotent.  A delete need not be durable; after a crash the object may
 * be back, as an orphan for maintenance to sweep again.
 */
bool sto_delete(struct sto *s, const char *uri, struct fl_err *err)
{
    bool existed;

    if (!scheme_check(s, uri, err) || fault_hit(uri, err)) {
        return false;
    }
    return s->ops->del(s, uri, &existed, err);
}

/*
 * Delete `n` objects, in order.  Missing objects are skipped; the first real
 * failure stops the batch and sets `err`.  `*deleted` (may be NULL) receives
 * the number of objects actually removed, also on failure.  Every URI's
 * scheme is checked before anything is deleted.
 */
bool sto_delete_batch(struct sto *s, const char *const *uris, size_t n,
                      size_t *deleted, struct fl_err *err)
{
    size_t i;
    size_t count = 0;
    bool   existed;
    bool   ok = true;

    for (i = 0; i < n; i++) {
        if (!scheme_check(s, uris[i], err)) {
            ok = false;
            goto out;
        }
    }
    for (i = 0; i < n; i++) {
        existed = false;
        if (fault_hit(uris[i], err) || !s->ops->del(s, uris[i], &existed,
                                                     err)) {
            ok = false;
            goto out;
        }
        if (existed) {
            count++;
        }
    }
out:
    if (deleted != NULL) {
        *deleted = count;
    }
    return ok;
}

/*
 * Call `fn` once for every object whose URI starts with `prefix` as a string
 * ("file:///w/t/meta" also lists "file:///w/t/metadata/v1.json"), in no
 * particular order.  The entry and its URI are valid only during the call;
 * URIs are spelled with the prefix's scheme and authority.  `fn` returning
 * false ends the listing early, which is success.  A prefix matching nothing
 * is success with no calls.  `fn` may call other sto_* functions.
 */
bool sto_list(struct sto *s, const char *prefix, sto_list_fn fn, void *ctx,
              struct fl_err *err)
{
    if (!scheme_check(s, prefix, err)) {
        return false;
    }
    return s->ops->list(s, prefix, fn, ctx, err);
}

/*
 * Look up the object at `uri`.  A missing object is not an error: `*exists`
 * is set false and `st` left alone.  Otherwise `*exists` is true and `st`
 * holds its size and modification time.
 */
bool sto_head(struct sto *s, const char *uri, struct sto_stat *st,
              bool *exists, struct fl_err *err)
{
    *exists = false;
    if (!scheme_check(s, uri, err)) {
        return false;
    }
    return s->ops->head(s, uri, st, exists, err);
}

/* ------------------------------------------------------ shared helpers */

/*
 * Check the path part of `uri` (the file path, or the mem:// bucket and key)
 * against the rules every backend shares: bounded length, no control
 * characters, no "." or ".." segments and no empty segments except a
 * leading '/'.  An `object` path must also name an object: no trailing '/',
 * and not a reserved temporary name; a list prefix may end in '/' or in a
 * partial segment.  Sets 400 BadRequestException quoting `uri`.
 */
bool sto_path_check(const char *uri, const char *path, bool object,
                    struct fl_err *err)
{
    const char *seg;
    const char *end;
    size_t      len;

    if (strlen(path) > STO_PATH_MAX) {
        return FL_ERR(err, 400, STO_BAD_REQUEST,
                      "invalid storage location: longer than %d bytes",
                      STO_PATH_MAX);
    }
    if (fl_has_control(path)) {
        return FL_ERR(err, 400, STO_BAD_REQUEST,
                      "invalid storage location \"%s\": control characters "
                      "are not allowed", uri);
    }
    seg = path[0] == '/' ? path + 1 : path;
    for (;;) {
        end = strchr(seg, '/');
        len = end != NULL ? (size_t)(end - seg) : strlen(seg);
        if ((len == 1 && seg[0] == '.')
            || (len == 2 && seg[0] == '.' && seg[1] == '.')) {
            return FL_ERR(err, 400, STO_BAD_REQUEST,
                          "invalid storage location \"%s\": \".\" and "
                          "\"..\" segments are not allowed", uri);
        }
        if (len == 0 && (end != NULL || object)) {
            return FL_ERR(err, 400, STO_BAD_REQUEST,
                          "invalid storage location \"%s\": empty path "
                          "segment", uri);
        }
        if (end == NULL) {
            break;
        }
        seg = end + 1;
    }
    if (object && strncmp(seg, STO_TMP_PREFIX, strlen(STO_TMP_PREFIX)) == 0) {
        return FL_ERR(err, 400, STO_BAD_REQUEST,
                      "invalid storage location \"%s\": the name is reserved "
                      "for temporary files", uri);
    }
    return true;
}

/*
 * A short, client-safe reason for errno `e` ("no such file"), for the end of
 * a message such as `could not write object "%s": %s`.  The full strerror
 * text goes to err->log through sto_errno_log().
 */
const char *sto_errno_reason(int e)
{
    switch (e) {
    case ENOENT:
        return "no such file";
    case ENOTDIR:
        return "a parent is not a directory";
    case EISDIR:
        return "is a directory";
    case EACCES:
    case EPERM:
        return "permission denied";
    case ENOSPC:
        return "no space left on device";
    case EDQUOT:
        return "disk quota exceeded";
    case EROFS:
        return "read-only file system";
    case ENAMETOOLONG:
        return "name too long";
    case EMFILE:
    case ENFILE:
        return "too many open files";
    default:
        return "input/output error";
    }
}

/*
 * Put operator detail into err->log: `what` (the failed step, "rename"), the
 * local path and the strerror text of `e`.
 */
void sto_errno_log(struct fl_err *err, const char *what, const char *path,
                   int e)
{
    char        buf[128];
    const char *text;

    text = strerror_r(e, buf, sizeof(buf));
    fl_err_logf(err, "%s \"%s\": %s (errno %d)", what, path, text, e);
}
