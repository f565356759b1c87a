/*
 * mnt_orphans.c
 *
 * Orphan-file removal (DESIGN 6; notes/ICEBERG.md 4.5, DeleteOrphanFiles):
 * list everything under the table location, subtract every file reachable
 * from any snapshot of the table (manifest lists, manifests, live data and
 * delete files, statistics) and every metadata file it still references
 * (the current one and the metadata-log), and delete what is left if it is
 * older than the age guard.
 *
 * The guards, each applied to every candidate:
 *   - age: a file modified at or after now - orphan age (never under the
 *     24 h floor) stays; that protects files of writes not committed yet,
 *     the metadata file of a commit in flight included;
 *   - reachability is read after the listing and read again until the
 *     table's version stands still, so a commit that lands while the job
 *     runs is counted as referencing its files;
 *   - paths are compared on normalised URIs (s3a/s3n = s3, file:/x =
 *     file:///x); a listed file whose path matches a referenced one with a
 *     different scheme or authority stops the run, deleting nothing
 *     (DeleteOrphanFiles' default prefix mismatch mode, ERROR);
 *   - a location shared with another table or view (rename and re-create,
 *     nested locations, a registered table's metadata) stops the run;
 *   - hidden paths ("_" or "." components other than partition directories
 *     "f=v") are not listed, as in DeleteOrphanFiles;
 *   - gc.enabled=false refuses the run.
 * Not here: locations other than the table's (write.data.path and
 * write.metadata.path outside it are not listed, as in Iceberg).
 */
#include "maintenance/mnt_int.h"
#include "storage/storage.h"

#include <stdio.h>
#include <string.h>

#define DETAILS_MAX   10000     /* orphan URIs listed in a run's details */
#define REREAD_MAX    5         /* metadata reads until the version stands */
#define MISMATCH_SHOW 3         /* conflicting files named in the error */

DB_STMT(ORPH_SHARED,
    "SELECT t.realm, c.name, n.path::text, t.name"
    " FROM tables t JOIN namespaces n ON n.id = t.namespace_id"
    " JOIN catalogs c ON c.id = t.catalog_id"
    " WHERE t.id <> $1 AND (t.location = $2::text"
    "  OR starts_with(t.location, $2::text || '/')"
    "  OR starts_with($2::text, t.location || '/')"
    "  OR starts_with(t.metadata_location, $2::text || '/'))"
    " LIMIT 1");

static bool gc_refused(struct fl_err *err)
{
    return FL_ERR(err, 400, "ValidationException",
                  "Cannot delete orphan files: GC is disabled (deleting "
                  "files may corrupt other tables)");
}

/*
 * Refuse a location that another table or view shares (equal, nested
 * either way, or holding its metadata file): its files are not in this
 * table's metadata and would look orphaned.
 */
static bool location_exclusive(struct cat_ctx *cx, int64_t table_id,
                               const char *loc, struct fl_err *err)
{
    struct db_rows *r;
    int             nns;
    const char    **ns;

    if (!db_exec(cat_conn(cx, err), &ORPH_SHARED,
                 DB_ARGS(cat_i64(cx->a, table_id), loc), cx->a, &r, err)) {
        return false;
    }
    if (r->nrows == 0) {
        return true;
    }
    if (strcmp(db_val(r, 0, 0), cx->realm) != 0) {
        return FL_ERR(err, 409, "ValidationException",
                      "table location \"%s\" is shared with a table of "
                      "another realm; orphan removal is not safe there",
                      loc);
    }
    ns = cat_pg_array_parse(cx->a, db_val(r, 0, 2), &nns);
    return FL_ERR(err, 409, "ValidationException",
                  "table location \"%s\" is shared with %s.%s.%s; orphan "
                  "removal is not safe there", loc, db_val(r, 0, 1),
                  cat_ns_render(cx->a, ns, nns), db_val(r, 0, 3));
}

/* ------------------------------------------------------------- listing */

struct listing {
    const char       *prefix;       /* location + "/" */
    size_t            plen;
    struct mnt_files *files;
    int64_t           hidden;
    struct mnt_figures *out;
};

static bool on_listed(void *ctx, const struct sto_entry *e)
{
    struct listing *l = ctx;
    const char     *rel = e->uri;

    if (strncmp(e->uri, l->prefix, l->plen) == 0) {
        rel += l->plen;
    }
    if (mnt_path_hidden(rel)) {
        l->hidden++;
        return true;
    }
    mnt_files_put(l->files, e->uri, e->size, e->mtime_ms, NULL);
    l->out->files_examined++;
    l->out->bytes_examined += e->size;
    return true;
}

/* -------------------------------------------------------- classifying */

struct verdict {
    struct mnt_files *orphans;
    int64_t           referenced;
    int64_t           young;
    int64_t           mismatched;
    char              conflicts[200];
};

/* The path parts of the keys of `valid`, for the prefix mismatch check. */
static struct mnt_files *paths_of(struct fl_arena *a,
                                  const struct mnt_files *valid)
{
    struct mnt_files *paths = mnt_files_new(a);
    const char       *path;
    size_t            i;

    for (i = 0; i < mnt_files_count(valid); i++) {
        mnt_uri_key(a, mnt_files_at(valid, i)->uri, &path);
        mnt_files_add(paths, path, -1);
    }
    return paths;
}

/* Sort every listed file: referenced, mismatched, too young, or orphan. */
static void classify(struct fl_arena *a, const struct mnt_files *listed,
                     const struct mnt_files *valid, int64_t older_than,
                     struct verdict *v)
{
    struct mnt_files *paths = paths_of(a, valid);
    const char       *path;
    size_t            used = 0;
    size_t            i;

    memset(v, 0, sizeof(*v));
    v->orphans = mnt_files_new(a);
    for (i = 0; i < mnt_files_count(listed); i++) {
        const struct mnt_file *f = mnt_files_at(listed, i);

        if (mnt_files_has(valid, f->uri)) {
            v->referenced++;
            continue;
        }
        mnt_uri_key(a, f->uri, &path);
        if (mnt_files_has(paths, path)) {
            if (v->mismatched++ < MISMATCH_SHOW) {
                used += (size_t)snprintf(v->conflicts + used,
                                         sizeof(v->conflicts) - used,
                                         "%s\"%s\"", used ? ", " : "",
                                         f->uri);
                used = used < sizeof(v->conflicts) ? used
                                                   : sizeof(v->conflicts) - 1;
            }
            continue;
        }
        /* spec: DeleteOrphanFiles olderThan; an unknown mtime is young */
        if (f->mtime_ms < 0 || f->mtime_ms >= older_than) {
            v->young++;
            continue;
        }
        mnt_files_put(v->orphans, f->uri, f->size, f->mtime_ms, NULL);
    }
}

/* -------------------------------------------------------------- the run */

/*
 * Everything the table references, read after the listing and again until
 * two reads see the same version (at most REREAD_MAX), so commits landing
 * meanwhile are included.  Every manifest must be readable (strict).
 */
static bool referenced(struct cat_ctx *cx, int64_t table_id,
                       const struct mnt_config *c, struct mnt_files *valid,
                       struct fl_err *err)
{
    struct mnt_reader r = {cx->a, true, 0};
    struct mnt_row    row;
    int64_t           seen = -1;
    int               i;

    for (i = 0; i < REREAD_MAX; i++) {
        if (!mnt_row_read(cx, table_id, false, &row, err)) {
            return false;
        }
        if (!mnt_gc_allowed(row.meta, c)) {
            return gc_refused(err);
        }
        if (row.version == seen) {
            break;
        }
        if (!mnt_reach_table(&r, row.meta, row.metadata_location, valid,
                             err)) {
            return false;
        }
        seen = row.version;
    }
    return true;
}

static json_t *details(bool dry_run, int64_t older_than,
                       const struct verdict *v, int64_t hidden,
                       int64_t failed)
{
    size_t n = mnt_files_count(v->orphans);

    return json_pack("{sbsIsosIsbsIsIsIsI}",
                     "dryRun", dry_run,
                     "olderThanMs", (json_int_t)older_than,
                     "orphans", mnt_files_json(v->orphans, DETAILS_MAX),
                     "orphanCount", (json_int_t)n,
                     "orphansTruncated", n > DETAILS_MAX,
                     "referenced", (json_int_t)v->referenced,
                     "tooYoung", (json_int_t)v->young,
                     "hidden", (json_int_t)hidden,
                     "failedDeletes", (json_int_t)failed);
}

/* The table location without trailing '/'; 400 when there is none. */
static const char *location_of(struct cat_ctx *cx, json_t *meta,
                               struct fl_err *err)
{
    const char *loc = json_string_value(json_object_get(meta, "location"));
    size_t      n;

    if (loc == NULL || loc[0] == '\0') {
        FL_ERR(err, 400, "ValidationException",
               "table metadata has no location to clean");
        return NULL;
    }
    n = strlen(loc);
    while (n > 1 && loc[n - 1] == '/') {
        n--;
    }
    return fl_strndup(cx->a, loc, n);
}

/*
 * Orphan removal for table `t` under configuration `c` (maintenance.h; the
 * guards are in the file comment).  A dry run lists in out->details what
 * would be deleted and deletes nothing.  Figures: files listed (examined)
 * and deleted, with their bytes.  Errors: 400 ValidationException when
 * gc.enabled is false or a path matches a referenced one with another
 * scheme or authority, 409 ValidationException for a shared location, 404
 * when the table is gone, storage and manifest read errors (nothing is
 * deleted then).  Deletion is best effort: failures are counted in the
 * details.
 */
bool mnt_orphans(struct cat_ctx *cx, const struct mnt_table *t,
                 const struct mnt_config *c, bool dry_run,
                 struct mnt_figures *out, struct fl_err *err)
{
    struct mnt_row   row;
    struct listing   l;
    struct verdict   v;
    struct mnt_files *valid = mnt_files_new(cx->a);
    struct sto       *s;
    const char       *loc;
    int64_t          age = c->orphan_age_ms.v;
    int64_t          older_than;
    int64_t          failed = 0;

    if (!mnt_gc_allowed(NULL, c)) {
        return gc_refused(err);
    }
    if (!mnt_row_read(cx, t->table_id, false, &row, err)) {
        return false;
    }
    if (!mnt_gc_allowed(row.meta, c)) {
        return gc_refused(err);
    }
    loc = location_of(cx, row.meta, err);
    if (loc == NULL || !location_exclusive(cx, t->table_id, loc, err) ||
        (s = cat_sto(loc, err)) == NULL) {
        return false;
    }
    /* NB: the floor again, whatever the configuration says */
    older_than = fl_now_ms() - (age > MNT_ORPHAN_FLOOR_MS
                                    ? age : MNT_ORPHAN_FLOOR_MS);
    memset(&l, 0, sizeof(l));
    l.prefix = fl_sprintf(cx->a, "%s/", loc);
    l.plen = strlen(l.prefix);
    l.files = mnt_files_new(cx->a);
    l.out = out;
    if (!sto_list(s, l.prefix, on_listed, &l, err) ||
        !referenced(cx, t->table_id, c, valid, err)) {
        return false;
    }
    classify(cx->a, l.files, valid, older_than, &v);
    if (v.mismatched > 0) {
        return FL_ERR(err, 400, "ValidationException",
                      "Unable to determine which files are orphans: %lld "
                      "listed files match referenced paths with another "
                      "scheme or authority: %s", (long long)v.mismatched,
                      v.conflicts);
    }
    if (!dry_run) {
        failed = mnt_files_delete(cx->a, v.orphans, out);
    }
    out->details = fl_arena_own_json(cx->a, details(dry_run, older_than, &v,
                                                    l.hidden, failed));
    return true;
}
