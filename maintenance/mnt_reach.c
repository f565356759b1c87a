/*
 * mnt_reach.c
 *
 * What snapshot expiry and orphan removal share: sets of file URIs compared
 * on a normalised key (DeleteOrphanFiles' rules: the scheme lower-cased,
 * s3a and s3n equal to s3, "file:/x" equal to "file:///x"), sets of
 * snapshot ids, the files reachable from snapshots (manifest lists, the
 * manifests they list, the live entries of those manifests, statistics
 * files) and from a table's metadata (its current file and metadata-log),
 * the table row as the jobs read it, and batch deletion with figures.
 *
 * Everything lives in the caller's arena, bounded by what the manifests
 * hold.  A manifest already in a set is never read again, so manifests
 * shared by many snapshots are read once.  Not here: choosing what expires
 * (mnt_expire.c) and listing the location (mnt_orphans.c).
 */
#include "maintenance/mnt_int.h"
#include "storage/storage.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DELETE_BATCH 1000       /* URIs per sto_delete_batch call */

/* ------------------------------------------------------------ URI keys */

/*
 * Write the comparison key of `uri` into buf (cap bytes, may be 0): the
 * scheme lower-cased, s3a and s3n mapped to s3, then "://", the authority
 * as written ("" when there is none; file://localhost is file:///) and the
 * path verbatim.  A string without a scheme is its own key.  Returns the
 * key's length (as snprintf: the buffer holds it only when it is shorter
 * than cap); *path_off is where the path part starts.
 */
static size_t key_write(const char *uri, char *buf, size_t cap,
                        size_t *path_off)
{
    char        scheme[32];
    size_t      sl = 0;
    const char *auth = "";
    const char *p;
    const char *slash;
    size_t      alen = 0;
    int         n;

    if (isalpha((unsigned char)uri[0])) {
        while (sl < sizeof(scheme) - 1 &&
               (isalnum((unsigned char)uri[sl]) || uri[sl] == '+' ||
                uri[sl] == '-' || uri[sl] == '.')) {
            scheme[sl] = (char)tolower((unsigned char)uri[sl]);
            sl++;
        }
    }
    if (sl == 0 || uri[sl] != ':') {
        *path_off = 0;
        return (size_t)snprintf(buf, cap, "%s", uri);
    }
    scheme[sl] = '\0';
    if (strcmp(scheme, "s3a") == 0 || strcmp(scheme, "s3n") == 0) {
        scheme[2] = '\0';
    }
    p = uri + sl + 1;
    if (strncmp(p, "//", 2) == 0) {
        auth = p + 2;
        slash = strchr(auth, '/');
        alen = slash != NULL ? (size_t)(slash - auth) : strlen(auth);
        p = auth + alen;
        if (strcmp(scheme, "file") == 0 && alen == 9 &&
            strncmp(auth, "localhost", 9) == 0) {
            alen = 0;
        }
    }
    n = snprintf(buf, cap, "%s://%.*s%s", scheme, (int)alen, auth, p);
    *path_off = strlen(scheme) + 3 + alen;
    return (size_t)n;
}

/*
 * The comparison key of `uri` (see key_write), in arena memory; *path
 * (optional) points at its path part.  "s3a://b/k" and "S3://b/k" are
 * "s3://b/k"; "file:/x" and "file://localhost/x" are "file:///x".
 */
char *mnt_uri_key(struct fl_arena *a, const char *uri, const char **path)
{
    size_t off;
    size_t n = key_write(uri, NULL, 0, &off);
    char  *key = fl_alloc(a, n + 1);

    key_write(uri, key, n + 1, &off);
    if (path != NULL) {
        *path = key + off;
    }
    return key;
}

/*
 * Whether `rel`, a path relative to the table location, is hidden from
 * orphan removal as in DeleteOrphanFiles: some component starts with '_'
 * or '.' ("_SUCCESS", ".x.crc", "_temporary/"), unless that component is a
 * partition directory "field=value".
 */
bool mnt_path_hidden(const char *rel)
{
    const char *p = rel;
    const char *end;
    size_t      n;

    while (*p != '\0') {
        end = strchr(p, '/');
        n = end != NULL ? (size_t)(end - p) : strlen(p);
        if (n > 0 && (p[0] == '_' || p[0] == '.') &&
            (end == NULL || memchr(p, '=', n) == NULL)) {
            return true;
        }
        if (end == NULL) {
            break;
        }
        p = end + 1;
    }
    return false;
}

/* ------------------------------------------------------------ file sets */

struct mnt_files {
    struct fl_arena *a;
    struct mnt_file *v;         /* entries in insertion order */
    size_t           n;
    size_t           cap;
    size_t          *slot;      /* index + 1 into v; 0 is empty */
    size_t           nslot;     /* a power of two */
};

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    }
    return h;
}

/* An empty file set in arena `a`. */
struct mnt_files *mnt_files_new(struct fl_arena *a)
{
    struct mnt_files *s = fl_alloc(a, sizeof(*s));

    s->a = a;
    return s;
}

/* The slot of `key`: where it is, or the empty slot where it would go. */
static size_t files_slot(const struct mnt_files *s, const char *key)
{
    size_t i = (size_t)str_hash(key) & (s->nslot - 1);

    while (s->slot[i] != 0 && strcmp(s->v[s->slot[i] - 1].uri, key) != 0) {
        i = (i + 1) & (s->nslot - 1);
    }
    return i;
}

static void files_grow(struct mnt_files *s)
{
    struct mnt_file *v;
    size_t           i;

    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        v = fl_alloc(s->a, sizeof(*v) * s->cap);
        if (s->n > 0) {
            memcpy(v, s->v, sizeof(*v) * s->n);
        }
        s->v = v;
    }
    if (2 * (s->n + 1) <= s->nslot) {
        return;
    }
    s->nslot = s->nslot ? s->nslot * 2 : 128;
    s->slot = fl_alloc(s->a, sizeof(size_t) * s->nslot);
    for (i = 0; i < s->n; i++) {
        s->slot[files_slot(s, s->v[i].uri)] = i + 1;
    }
}

/*
 * Add `uri` (copied, stored as its key) with its size and mtime (-1 when
 * unknown).  Returns the entry, new or existing; *added (optional) says
 * which.  An empty or NULL uri is ignored (NULL is returned).
 */
const struct mnt_file *mnt_files_put(struct mnt_files *s, const char *uri,
                                     int64_t size, int64_t mtime_ms,
                                     bool *added)
{
    char  *key;
    size_t i;

    if (added != NULL) {
        *added = false;
    }
    if (uri == NULL || uri[0] == '\0') {
        return NULL;
    }
    key = mnt_uri_key(s->a, uri, NULL);
    files_grow(s);
    i = files_slot(s, key);
    if (s->slot[i] != 0) {
        return &s->v[s->slot[i] - 1];
    }
    s->v[s->n].uri = key;
    s->v[s->n].size = size;
    s->v[s->n].mtime_ms = mtime_ms;
    s->slot[i] = ++s->n;
    if (added != NULL) {
        *added = true;
    }
    return &s->v[s->n - 1];
}

/* mnt_files_put without an mtime; true when `uri` was new. */
bool mnt_files_add(struct mnt_files *s, const char *uri, int64_t size)
{
    bool added;

    mnt_files_put(s, uri, size, -1, &added);
    return added;
}

/* The entry of `uri` (compared on its key), or NULL. */
const struct mnt_file *mnt_files_get(const struct mnt_files *s,
                                     const char *uri)
{
    char   buf[1024];
    char  *key = buf;
    size_t off;
    size_t n;
    size_t i;

    if (s == NULL || s->n == 0 || uri == NULL) {
        return NULL;
    }
    n = key_write(uri, buf, sizeof(buf), &off);
    if (n >= sizeof(buf)) {
        key = fl_xmalloc(n + 1);
        key_write(uri, key, n + 1, &off);
    }
    i = files_slot(s, key);
    if (key != buf) {
        free(key);
    }
    return s->slot[i] != 0 ? &s->v[s->slot[i] - 1] : NULL;
}

/* Whether `uri` (on its key) is in `s`; a NULL set holds nothing. */
bool mnt_files_has(const struct mnt_files *s, const char *uri)
{
    return mnt_files_get(s, uri) != NULL;
}

/* The number of files in `s`. */
size_t mnt_files_count(const struct mnt_files *s)
{
    return s->n;
}

/* The i-th entry in insertion order (i < mnt_files_count). */
const struct mnt_file *mnt_files_at(const struct mnt_files *s, size_t i)
{
    fl_assert(i < s->n);
    return &s->v[i];
}

/* The first `max` URIs, in insertion order.  Returns a new reference. */
json_t *mnt_files_json(const struct mnt_files *s, size_t max)
{
    json_t *arr = json_array();
    size_t  i;

    for (i = 0; i < s->n && i < max; i++) {
        json_array_append_new(arr, json_string(s->v[i].uri));
    }
    return arr;
}

/* ------------------------------------------------------------- id sets */

struct mnt_ids {
    struct fl_arena *a;
    int64_t         *key;
    void           **val;
    bool            *used;
    size_t           n;
    size_t           cap;       /* a power of two */
};

/* An empty id map in arena `a`. */
struct mnt_ids *mnt_ids_new(struct fl_arena *a)
{
    struct mnt_ids *s = fl_alloc(a, sizeof(*s));

    s->a = a;
    return s;
}

static size_t ids_slot(const struct mnt_ids *s, int64_t id)
{
    uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ULL;
    size_t   i = (size_t)(h >> 17) & (s->cap - 1);

    while (s->used[i] && s->key[i] != id) {
        i = (i + 1) & (s->cap - 1);
    }
    return i;
}

/* Map `id` to `v` (replacing an earlier value). */
void mnt_ids_put(struct mnt_ids *s, int64_t id, void *v)
{
    size_t i;

    if (2 * (s->n + 1) > s->cap) {
        struct mnt_ids old = *s;

        s->cap = s->cap ? s->cap * 2 : 64;
        s->key = fl_alloc(s->a, sizeof(int64_t) * s->cap);
        s->val = fl_alloc(s->a, sizeof(void *) * s->cap);
        s->used = fl_alloc(s->a, sizeof(bool) * s->cap);
        s->n = 0;
        for (i = 0; i < old.cap; i++) {
            if (old.used[i]) {
                mnt_ids_put(s, old.key[i], old.val[i]);
            }
        }
    }
    i = ids_slot(s, id);
    if (!s->used[i]) {
        s->used[i] = true;
        s->key[i] = id;
        s->n++;
    }
    s->val[i] = v;
}

/* Whether `id` is in `s` (whatever its value); a NULL map holds none. */
bool mnt_ids_has(const struct mnt_ids *s, int64_t id)
{
    return s != NULL && s->n > 0 && s->used[ids_slot(s, id)];
}

/* The value of `id`, or NULL when absent. */
void *mnt_ids_get(const struct mnt_ids *s, int64_t id)
{
    size_t i;

    if (s == NULL || s->n == 0) {
        return NULL;
    }
    i = ids_slot(s, id);
    return s->used[i] ? s->val[i] : NULL;
}

/* The number of ids in `s`. */
size_t mnt_ids_count(const struct mnt_ids *s)
{
    return s->n;
}

/* ------------------------------------------------------ reachable files */

/* One read that failed: fail the call (strict) or log and count it. */
static bool read_failed(struct mnt_reader *r, const char *what,
                        const char *uri, struct fl_err *e, struct fl_err *err)
{
    if (r->strict) {
        FL_ERR(err, e->status ? e->status : 500,
               e->type ? e->type : "InternalServerError",
               "could not read %s \"%.200s\": %s", what, uri, e->msg);
        return false;
    }
    fl_log(FL_LOG_WARN, "maintenance: skipping %s %s: %s", what, uri,
           e->msg);
    r->failures++;
    return true;
}

struct list_ctx {
    struct mnt_files       *manifests;
    const struct mnt_files *skip;
};

static bool on_manifest(void *ctx, const struct cat_manifest_entry *m)
{
    struct list_ctx *l = ctx;

    if (!mnt_files_has(l->skip, m->path)) {
        mnt_files_add(l->manifests, m->path, m->length);
    }
    return true;
}

/* The manifests of one snapshot (its list, or the v1 "manifests"). */
static bool snapshot_manifests(struct mnt_reader *r, json_t *snap,
                               struct mnt_files *lists,
                               struct list_ctx *l, struct fl_err *err)
{
    const char   *list = json_string_value(json_object_get(snap,
                                                           "manifest-list"));
    struct fl_err e;
    struct sto   *s;
    json_t       *m;
    size_t        i;

    json_array_foreach(json_object_get(snap, "manifests"), i, m) {
        if (json_is_string(m) && !mnt_files_has(l->skip,
                                                json_string_value(m))) {
            mnt_files_add(l->manifests, json_string_value(m), -1);
        }
    }
    if (list == NULL || mnt_files_has(l->skip, list) ||
        !mnt_files_add(lists, list, -1)) {
        return true;                /* no list, or known already */
    }
    list = mnt_files_at(lists, mnt_files_count(lists) - 1)->uri;
    fl_err_clear(&e);
    s = cat_sto(list, &e);
    if (s == NULL || !cat_manifest_list_read(s, list, on_manifest, l, &e)) {
        return read_failed(r, "manifest list", list, &e, err);
    }
    return true;
}

/*
 * Add the manifest list of every snapshot of `snaps` (an array of
 * Snapshot objects) to `lists`, and every manifest they name to
 * `manifests`, except lists and manifests in `skip` (NULL: none), which
 * are known already.  A list already in `lists` is not read again.
 * Errors: a failed read when r->strict (its status, the message names the
 * file); otherwise failures are logged and counted in r->failures.
 */
bool mnt_reach_manifests(struct mnt_reader *r, json_t *snaps,
                         struct mnt_files *lists,
                         struct mnt_files *manifests,
                         const struct mnt_files *skip, struct fl_err *err)
{
    struct list_ctx l = {manifests, skip};
    json_t         *snap;
    size_t          i;

    json_array_foreach(snaps, i, snap) {
        if (!snapshot_manifests(r, snap, lists, &l, err)) {
            return false;
        }
    }
    return true;
}

static bool on_data_file(void *ctx, const struct cat_data_file *f)
{
    /* spec: manifest_entry status 2 (DELETED) is not live */
    if (f->status != 2) {
        mnt_files_add(ctx, f->path, f->file_size);
    }
    return true;
}

/*
 * Add the live data and delete files (status EXISTING or ADDED) of the
 * manifests of `manifests` from index `from` on to `out`.  Errors as
 * mnt_reach_manifests.
 */
bool mnt_reach_live(struct mnt_reader *r, const struct mnt_files *manifests,
                    size_t from, struct mnt_files *out, struct fl_err *err)
{
    struct fl_err e;
    struct sto   *s;
    const char   *uri;
    size_t        i;

    for (i = from; i < mnt_files_count(manifests); i++) {
        uri = mnt_files_at(manifests, i)->uri;
        fl_err_clear(&e);
        s = cat_sto(uri, &e);
        if ((s == NULL || !cat_manifest_read(s, uri, on_data_file, out, &e))
            && !read_failed(r, "manifest", uri, &e, err)) {
            return false;
        }
    }
    return true;
}

/* Add the statistics and partition-statistics files of `meta` whose
 * snapshot is in `only` (NULL: all of them) to `out`. */
void mnt_reach_stats(json_t *meta, const struct mnt_ids *only,
                     struct mnt_files *out)
{
    static const char *const keys[] = {"statistics", "partition-statistics"};
    json_t                  *v;
    size_t                   i;
    size_t                   k;

    for (k = 0; k < 2; k++) {
        json_array_foreach(json_object_get(meta, keys[k]), i, v) {
            json_t *sid = json_object_get(v, "snapshot-id");
            json_t *sz = json_object_get(v, "file-size-in-bytes");

            if (only != NULL && (!json_is_integer(sid) ||
                                 !mnt_ids_has(only,
                                              json_integer_value(sid)))) {
                continue;
            }
            mnt_files_add(out, json_string_value(json_object_get(
                              v, "statistics-path")),
                          json_is_integer(sz) ? json_integer_value(sz) : -1);
        }
    }
}

/* Add the metadata files `meta` still references to `out`: `current`
 * (its own file, may be NULL) and every metadata-log entry. */
void mnt_reach_meta_files(json_t *meta, const char *current,
                          struct mnt_files *out)
{
    json_t *v;
    size_t  i;

    mnt_files_add(out, current, -1);
    json_array_foreach(json_object_get(meta, "metadata-log"), i, v) {
        mnt_files_add(out, json_string_value(json_object_get(
                          v, "metadata-file")), -1);
    }
}

/*
 * Everything reachable from table metadata `meta` whose file is `current`:
 * every snapshot's manifest list, manifests and live files, statistics
 * files, the current file and the metadata-log, added to `out` (manifest
 * lists and manifests already in `out` are not read again, so a second
 * call with newer metadata reads only what is new).  Errors as
 * mnt_reach_manifests.
 */
bool mnt_reach_table(struct mnt_reader *r, json_t *meta, const char *current,
                     struct mnt_files *out, struct fl_err *err)
{
    struct mnt_files *manifests = mnt_files_new(r->a);
    struct mnt_files *lists = mnt_files_new(r->a);
    const char       *loc = json_string_value(json_object_get(meta,
                                                              "location"));
    size_t            i;

    if (!mnt_reach_manifests(r, json_object_get(meta, "snapshots"), lists,
                             manifests, out, err)) {
        return false;
    }
    for (i = 0; i < mnt_files_count(lists); i++) {
        mnt_files_add(out, mnt_files_at(lists, i)->uri, -1);
    }
    if (!mnt_reach_live(r, manifests, 0, out, err)) {
        return false;
    }
    for (i = 0; i < mnt_files_count(manifests); i++) {
        mnt_files_add(out, mnt_files_at(manifests, i)->uri,
                      mnt_files_at(manifests, i)->size);
    }
    mnt_reach_stats(meta, NULL, out);
    mnt_reach_meta_files(meta, current, out);
    /* Hadoop tables' pointer file; DeleteOrphanFiles keeps it too */
    if (loc != NULL) {
        mnt_files_add(out, fl_sprintf(r->a, "%s/metadata/version-hint.text",
                                      loc), -1);
    }
    return true;
}

/* ---------------------------------------------------------- the table row */

DB_STMT(MNT_ROW,
    "SELECT t.version, t.metadata_location, t.metadata, c.name,"
    " n.path::text, t.name"
    " FROM tables t JOIN namespaces n ON n.id = t.namespace_id"
    " JOIN catalogs c ON c.id = t.catalog_id"
    " WHERE t.id = $1 AND t.realm = $2 AND t.kind = 'table'");
DB_STMT(MNT_ROW_LOCK,
    "SELECT t.version, t.metadata_location, t.metadata, c.name,"
    " n.path::text, t.name"
    " FROM tables t JOIN namespaces n ON n.id = t.namespace_id"
    " JOIN catalogs c ON c.id = t.catalog_id"
    " WHERE t.id = $1 AND t.realm = $2 AND t.kind = 'table'"
    " FOR UPDATE OF t");

/*
 * Read table `table_id` of realm cx->realm as it is now: its version,
 * metadata and current name (a rename since the job was queued is seen).
 * With `lock` the row is locked FOR UPDATE until the caller's transaction
 * ends.  A dropped table is 404 NoSuchTableException.  Memory in cx->a.
 */
bool mnt_row_read(struct cat_ctx *cx, int64_t table_id, bool lock,
                  struct mnt_row *out, struct fl_err *err)
{
    struct db_conn *conn = cat_conn(cx, err);
    struct db_rows *r;

    memset(out, 0, sizeof(*out));
    if (conn == NULL ||
        !db_exec(conn, lock ? &MNT_ROW_LOCK : &MNT_ROW,
                 DB_ARGS(cat_i64(cx->a, table_id), cx->realm), cx->a, &r,
                 err)) {
        return false;
    }
    if (r->nrows == 0 || db_val(r, 0, 2) == NULL) {
        return FL_ERR(err, 404, "NoSuchTableException",
                      "table %lld no longer exists", (long long)table_id);
    }
    out->version = strtoll(db_val(r, 0, 0), NULL, 10);
    out->metadata_location = db_val(r, 0, 1);
    out->meta = cat_json_parse(cx->a, db_val(r, 0, 2));
    out->catalog = db_val(r, 0, 3);
    out->ns = cat_pg_array_parse(cx->a, db_val(r, 0, 4), &out->nns);
    out->name = db_val(r, 0, 5);
    return true;
}

/*
 * Whether files may be deleted: the configuration's gc.enabled (when `c`
 * is given) and the property gc.enabled of `meta` (when given), read as
 * Java's Boolean.parseBoolean does: absent is true, "true" in any case is
 * true, anything else is false.
 */
bool mnt_gc_allowed(json_t *meta, const struct mnt_config *c)
{
    json_t *gc = json_object_get(json_object_get(meta, "properties"),
                                 "gc.enabled");

    if (c != NULL && c->gc_enabled.v == 0) {
        return false;
    }
    return gc == NULL || (json_is_string(gc) &&
                          strcasecmp(json_string_value(gc), "true") == 0);
}

/* ------------------------------------------------------------- deletion */

/* Delete uris[0..n) on `s`; per file when the batch fails. */
static void delete_batch(struct sto *s, const char *const *uris,
                         const int64_t *sizes, size_t n,
                         struct mnt_figures *out, int64_t *failed)
{
    struct fl_err e;
    size_t        deleted = 0;
    size_t        i;

    fl_err_clear(&e);
    if (sto_delete_batch(s, uris, n, &deleted, &e)) {
        out->files_deleted += (int64_t)deleted;
        for (i = 0; i < n; i++) {
            out->bytes_deleted += sizes[i] > 0 ? sizes[i] : 0;
        }
        return;
    }
    for (i = 0; i < n; i++) {
        fl_err_clear(&e);
        if (sto_delete(s, uris[i], &e)) {
            out->files_deleted++;
            out->bytes_deleted += sizes[i] > 0 ? sizes[i] : 0;
        } else {
            fl_log(FL_LOG_WARN, "maintenance: could not delete %s: %s",
                   uris[i], e.msg);
            (*failed)++;
        }
    }
}

/*
 * Delete every file of `files`, in batches per storage backend, adding
 * what went to out->files_deleted / bytes_deleted.  Best effort, as
 * Iceberg's cleanup: a file that could not be deleted is logged and
 * counted in the result (it is an orphan now, for orphan removal).
 */
int64_t mnt_files_delete(struct fl_arena *a, const struct mnt_files *files,
                         struct mnt_figures *out)
{
    const char **uris = fl_alloc(a, sizeof(char *) * DELETE_BATCH);
    int64_t     *sizes = fl_alloc(a, sizeof(int64_t) * DELETE_BATCH);
    struct sto  *cur = NULL;
    struct sto  *s;
    struct fl_err e;
    size_t       n = 0;
    size_t       i;
    int64_t      failed = 0;

    for (i = 0; i < mnt_files_count(files); i++) {
        const struct mnt_file *f = mnt_files_at(files, i);

        fl_err_clear(&e);
        s = cat_sto(f->uri, &e);
        if (s == NULL) {
            fl_log(FL_LOG_WARN, "maintenance: could not delete %s: %s",
                   f->uri, e.msg);
            failed++;
            continue;
        }
        if (n > 0 && (s != cur || n == DELETE_BATCH)) {
            delete_batch(cur, uris, sizes, n, out, &failed);
            n = 0;
        }
        cur = s;
        uris[n] = f->uri;
        sizes[n++] = f->size;
    }
    if (n > 0) {
        delete_batch(cur, uris, sizes, n, out, &failed);
    }
    return failed;
}
