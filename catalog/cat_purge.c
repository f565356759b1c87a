/*
 * cat_purge.c
 *
 * Dropping a table with purgeRequested=true: delete exactly the files its
 * metadata references, never the location prefix (a renamed table and a
 * re-created one may share a directory; notes/ICEBERG.md 3.5).  That is:
 * the data and delete files of every manifest of every snapshot (only when
 * gc.enabled is not false), the manifests, the manifest lists, statistics
 * and partition statistics files, the metadata files of the metadata-log,
 * and the current metadata file.  Best effort: the table row is already
 * gone, so failures are logged, not returned.
 */
#include "catalog/cat_table_int.h"
#include "storage/storage.h"

#include <string.h>

/* A set of file URIs (open addressing, arena memory). */
struct fileset {
    struct fl_arena *a;
    const char     **slot;
    size_t           cap;
    size_t           n;
    bool             gc;        /* delete data files too */
    struct sto      *sto;
};

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    }
    return h;
}

/* Add `uri` (copied); returns false when it was already present. */
static bool set_add(struct fileset *fs, const char *uri)
{
    size_t i;

    if (uri == NULL || uri[0] == '\0') {
        return false;
    }
    if (2 * (fs->n + 1) > fs->cap) {
        const char **old = fs->slot;
        size_t       oldcap = fs->cap;

        fs->cap = fs->cap ? fs->cap * 2 : 256;
        fs->slot = fl_alloc(fs->a, sizeof(char *) * fs->cap);
        fs->n = 0;
        for (i = 0; i < oldcap; i++) {
            if (old[i] != NULL) {
                set_add(fs, old[i]);
            }
        }
    }
    for (i = str_hash(uri) % fs->cap; fs->slot[i] != NULL;
         i = (i + 1) % fs->cap) {
        if (strcmp(fs->slot[i], uri) == 0) {
            return false;
        }
    }
    fs->slot[i] = fl_strdup(fs->a, uri);
    fs->n++;
    return true;
}

static bool on_data_file(void *ctx, const struct cat_data_file *f)
{
    set_add(ctx, f->path);
    return true;
}

static void manifest(struct fileset *fs, const char *path)
{
    struct fl_err err;

    if (!set_add(fs, path) || !fs->gc) {
        return;
    }
    fl_err_clear(&err);
    if (!cat_manifest_read(fs->sto, path, on_data_file, fs, &err)) {
        fl_log(FL_LOG_WARN, "purge: skipping the files of manifest %s: %s",
               path, err.msg);
    }
}

/* Manifest paths of one list, collected first: reads are not nested. */
struct paths {
    struct fl_arena *a;
    const char     **v;
    size_t           n;
    size_t           cap;
};

static bool on_manifest(void *ctx, const struct cat_manifest_entry *m)
{
    struct paths *p = ctx;

    if (p->n == p->cap) {
        const char **bigger;

        p->cap = p->cap ? p->cap * 2 : 64;
        bigger = fl_alloc(p->a, sizeof(char *) * p->cap);
        if (p->n > 0) {
            memcpy(bigger, p->v, sizeof(char *) * p->n);
        }
        p->v = bigger;
    }
    p->v[p->n++] = fl_strdup(p->a, m->path);
    return true;
}

static void snapshot_files(struct fileset *fs, json_t *snap)
{
    const char   *list = json_string_value(json_object_get(snap,
                                                           "manifest-list"));
    struct fl_err err;
    struct paths  paths = {fs->a, NULL, 0, 0};
    size_t        i;
    json_t       *m;

    fl_err_clear(&err);
    if (list != NULL && set_add(fs, list) &&
        !cat_manifest_list_read(fs->sto, list, on_manifest, &paths, &err)) {
        fl_log(FL_LOG_WARN, "purge: skipping manifest list %s: %s", list,
               err.msg);
    }
    for (i = 0; i < paths.n; i++) {
        manifest(fs, paths.v[i]);
    }
    json_array_foreach(json_object_get(snap, "manifests"), i, m) {
        manifest(fs, json_string_value(m));
    }
}

static void collect(struct fileset *fs, json_t *meta)
{
    size_t  i;
    json_t *v;

    json_array_foreach(json_object_get(meta, "snapshots"), i, v) {
        snapshot_files(fs, v);
    }
    json_array_foreach(json_object_get(meta, "statistics"), i, v) {
        set_add(fs, json_string_value(json_object_get(v, "statistics-path")));
    }
    json_array_foreach(json_object_get(meta, "partition-statistics"), i, v) {
        set_add(fs, json_string_value(json_object_get(v, "statistics-path")));
    }
    json_array_foreach(json_object_get(meta, "metadata-log"), i, v) {
        set_add(fs, json_string_value(json_object_get(v, "metadata-file")));
    }
}

/*
 * Delete every file reachable from `meta`, whose current file is
 * `metadata_location`.  Logs what it did; never fails the request.
 */
void cat_purge_files(struct cat_ctx *cx, const char *metadata_location,
                     json_t *meta)
{
    struct fileset fs;
    struct fl_err  err;
    const char    *gc;
    size_t         i;
    size_t         gone = 0;

    memset(&fs, 0, sizeof(fs));
    fl_err_clear(&err);
    fs.a = cx->a;
    fs.sto = cat_sto(metadata_location, &err);
    gc = json_string_value(json_object_get(json_object_get(meta,
                                                           "properties"),
                                           "gc.enabled"));
    fs.gc = gc == NULL || strcasecmp(gc, "false") != 0;
    if (fs.sto == NULL) {
        fl_log(FL_LOG_WARN, "purge: %s", err.msg);
        return;
    }
    collect(&fs, meta);
    set_add(&fs, metadata_location);
    for (i = 0; i < fs.cap; i++) {
        struct sto *s;

        if (fs.slot[i] == NULL) {
            continue;
        }
        fl_err_clear(&err);
        s = cat_sto(fs.slot[i], &err);
        if (s != NULL && sto_delete(s, fs.slot[i], &err)) {
            gone++;
        } else {
            fl_log(FL_LOG_WARN, "purge: could not delete %s: %s",
                   fs.slot[i], err.msg);
        }
    }
    fl_log(FL_LOG_INFO, "purge: deleted %zu of %zu files of %s", gone, fs.n,
           metadata_location);
}
