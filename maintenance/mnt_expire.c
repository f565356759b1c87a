/*
 * mnt_expire.c
 *
 * Snapshot expiry (DESIGN 6; notes/ICEBERG.md 4.4): choose the refs and
 * snapshots that expire as Iceberg's RemoveSnapshots does, commit
 * remove-snapshot-ref / remove-snapshots through the commit engine, then
 * delete the files only the expired snapshots reached, as
 * ReachableFileCleanup does: their manifest lists, the manifests no
 * retained snapshot lists, the live files of those manifests that no
 * retained manifest holds, and statistics files the metadata dropped.
 *
 * Racing writers: the table row is locked (FOR UPDATE) from the read the
 * choice is made on until the commit engine has swapped the pointer, in one
 * transaction, so the removal is applied to exactly the metadata it was
 * chosen from.  A writer's commit in that window waits for the lock, loses
 * its compare-and-swap and is retried by the engine on the new metadata:
 * it is never lost, and no snapshot becomes a parent or a ref target
 * between choosing and committing.  The commit also carries the
 * requirements a client would send (assert-table-uuid and
 * assert-ref-snapshot-id for every ref as seen).  Files are chosen after
 * the commit against the metadata current then, so whatever a writer
 * committed meanwhile is retained.
 *
 * Not here: metadata files.  The commit engine deletes the ones the
 * metadata-log drops when write.metadata.delete-after-commit.enabled is set
 * (this commit included); the others are left to orphan removal, as in
 * Iceberg.  Nor cleanExpiredMetadata (unused specs and schemas).
 */
#include "maintenance/mnt_int.h"
#include "storage/storage.h"

#include <stdio.h>
#include <string.h>

#define DETAILS_MAX 10000       /* file URIs listed in a run's details */

/* ------------------------------------------------------------ choosing */

/* What RemoveSnapshots works from while choosing. */
struct pick {
    json_t                  *snaps;     /* the metadata's snapshots */
    struct mnt_ids          *byid;      /* id -> Snapshot (json_t *) */
    struct mnt_ids          *retain;
    struct mnt_ids          *reached;   /* in a kept branch or tag */
    const struct mnt_config *c;
    int64_t                  now;
};

/* The integer `key` of `o`, if it has one. */
static bool ifield(json_t *o, const char *key, int64_t *out)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_integer(v)) {
        return false;
    }
    *out = json_integer_value(v);
    return true;
}

static int64_t nonneg(int64_t v)
{
    return v < 0 ? 0 : v;
}

static int64_t snap_ts(json_t *snap)
{
    int64_t ts = 0;

    ifield(snap, "timestamp-ms", &ts);
    return ts;
}

/* The parent of `snap` if the table still has it, else NULL. */
static json_t *snap_parent(const struct pick *p, json_t *snap)
{
    int64_t parent;

    if (!ifield(snap, "parent-snapshot-id", &parent)) {
        return NULL;
    }
    return mnt_ids_get(p->byid, parent);
}

static bool is_tag(json_t *ref)
{
    const char *t = json_string_value(json_object_get(ref, "type"));

    return t != NULL && strcasecmp(t, "tag") == 0;
}

/*
 * The refs of `meta`: its "refs", plus main at current-snapshot-id when
 * the document has none (as TableMetadataParser reads it).  Returns a new
 * reference.
 */
static json_t *refs_of(json_t *meta)
{
    json_t *refs = json_object_get(meta, "refs");
    int64_t cur;

    refs = json_is_object(refs) ? json_copy(refs) : json_object();
    if (json_object_get(refs, "main") == NULL &&
        ifield(meta, "current-snapshot-id", &cur) && cur >= 0) {
        json_object_set_new(refs, "main",
                            json_pack("{sIss}", "snapshot-id",
                                      (json_int_t)cur, "type", "branch"));
    }
    return refs;
}

/*
 * spec: Snapshot Retention Policy.  Whether ref `name` survives: main
 * always; any other only while its snapshot exists and is no older than
 * its max-ref-age-ms (the ref's own, else the configured one).
 */
static bool ref_kept(const struct pick *p, const char *name, json_t *ref)
{
    int64_t sid = -1;
    int64_t age;
    json_t *snap;

    if (strcmp(name, "main") == 0) {
        return true;
    }
    ifield(ref, "snapshot-id", &sid);
    snap = mnt_ids_get(p->byid, sid);
    if (snap == NULL) {
        return false;           /* RemoveSnapshots drops invalid refs */
    }
    if (!ifield(ref, "max-ref-age-ms", &age)) {
        age = p->c->max_ref_age_ms.v;
    }
    return p->now - snap_ts(snap) <= nonneg(age);
}

/*
 * Retain the ancestors of branch head `ref` (the head first) while fewer
 * than min-snapshots-to-keep are retained or the ancestor is no older than
 * max-snapshot-age-ms, both the branch's own or else configured; stop at
 * the first that is neither.  Every ancestor counts as reached.
 */
static void branch_walk(struct pick *p, json_t *ref)
{
    int64_t sid = -1;
    int64_t age;
    int64_t min_keep;
    int64_t kept = 0;
    bool    keeping = true;
    size_t  steps = 0;
    json_t *s;

    ifield(ref, "snapshot-id", &sid);
    if (!ifield(ref, "max-snapshot-age-ms", &age)) {
        age = p->c->max_snapshot_age_ms.v;
    }
    if (!ifield(ref, "min-snapshots-to-keep", &min_keep)) {
        min_keep = p->c->min_snapshots_to_keep.v;
    }
    /* NB: bounded by the number of snapshots, so a parent cycle ends */
    for (s = mnt_ids_get(p->byid, sid);
         s != NULL && steps <= json_array_size(p->snaps);
         s = snap_parent(p, s), steps++) {
        int64_t id = json_integer_value(json_object_get(s, "snapshot-id"));

        keeping = keeping && (kept < min_keep ||
                              snap_ts(s) >= p->now - nonneg(age));
        if (keeping) {
            mnt_ids_put(p->retain, id, s);
            kept++;
        }
        mnt_ids_put(p->reached, id, s);
    }
}

/* The requirements a client would send: the uuid, every ref as seen. */
static json_t *requirements(json_t *meta)
{
    json_t     *reqs = json_array();
    json_t     *uuid = json_object_get(meta, "table-uuid");
    json_t     *ref;
    const char *name;

    if (json_is_string(uuid)) {
        json_array_append_new(reqs, json_pack("{sssO}", "type",
                                              "assert-table-uuid", "uuid",
                                              uuid));
    }
    json_object_foreach(json_object_get(meta, "refs"), name, ref) {
        json_array_append_new(reqs, json_pack(
            "{sssssO}", "type", "assert-ref-snapshot-id", "ref", name,
            "snapshot-id", json_object_get(ref, "snapshot-id")));
    }
    return reqs;
}

static json_t *updates(const struct mnt_expiry *e)
{
    json_t *ups = json_array();
    json_t *v;
    size_t  i;

    json_array_foreach(e->removed_refs, i, v) {
        json_array_append_new(ups, json_pack("{sssO}", "action",
                                             "remove-snapshot-ref",
                                             "ref-name", v));
    }
    if (json_array_size(e->expired) > 0) {
        json_array_append_new(ups, json_pack("{sssO}", "action",
                                             "remove-snapshots",
                                             "snapshot-ids", e->expired));
    }
    return ups;
}

/*
 * Choose what expires in table metadata `meta` at time `now_ms` under
 * configuration `c`, as RemoveSnapshots does (notes/ICEBERG.md 4.4):
 * refs other than main past their max-ref-age-ms (or pointing at no
 * snapshot) are removed; each remaining branch retains its head and the
 * ancestors its min-snapshots-to-keep / max-snapshot-age-ms keep; each tag
 * retains its snapshot; a snapshot in no kept branch's ancestry and in no
 * tag is retained while younger than max-snapshot-age-ms; every other
 * snapshot expires.  Fills *out (JSON owned by `a`), including the commit's
 * requirements and updates (empty updates: nothing to do).  Pure: no
 * database, no storage.  Errors: 400 when `meta` has no snapshot list.
 */
bool mnt_expire_select(struct fl_arena *a, json_t *meta,
                       const struct mnt_config *c, int64_t now_ms,
                       struct mnt_expiry *out, struct fl_err *err)
{
    struct pick p = {json_object_get(meta, "snapshots"), mnt_ids_new(a),
                     mnt_ids_new(a), mnt_ids_new(a), c, now_ms};
    json_t     *refs = fl_arena_own_json(a, refs_of(meta));
    json_t     *v;
    const char *name;
    size_t      i;

    if (p.snaps != NULL && !json_is_array(p.snaps)) {
        return FL_ERR(err, 400, "BadRequestException",
                      "table metadata has an invalid snapshot list");
    }
    out->expired = fl_arena_own_json(a, json_array());
    out->removed_refs = fl_arena_own_json(a, json_array());
    json_array_foreach(p.snaps, i, v) {
        mnt_ids_put(p.byid, json_integer_value(json_object_get(
                                v, "snapshot-id")), v);
    }
    json_object_foreach(refs, name, v) {
        int64_t sid = -1;

        if (!ref_kept(&p, name, v)) {
            json_array_append_new(out->removed_refs, json_string(name));
            continue;
        }
        ifield(v, "snapshot-id", &sid);
        if (is_tag(v) && mnt_ids_get(p.byid, sid) != NULL) {
            mnt_ids_put(p.retain, sid, NULL);
            mnt_ids_put(p.reached, sid, NULL);
        } else if (!is_tag(v)) {
            branch_walk(&p, v);
        }
    }
    json_array_foreach(p.snaps, i, v) {
        int64_t id = json_integer_value(json_object_get(v, "snapshot-id"));

        if (mnt_ids_has(p.retain, id) ||
            (!mnt_ids_has(p.reached, id) &&
             snap_ts(v) >= now_ms - nonneg(c->max_snapshot_age_ms.v))) {
            continue;
        }
        json_array_append_new(out->expired, json_integer(id));
    }
    out->requirements = fl_arena_own_json(a, requirements(meta));
    out->updates = fl_arena_own_json(a, updates(out));
    return true;
}

/* ------------------------------------------------------------ the run */

struct run {
    struct cat_ctx          *cx;
    const struct mnt_config *c;
    struct mnt_row           before;    /* the metadata chosen from */
    struct mnt_expiry        sel;
    struct mnt_ids          *expired;
    struct mnt_files        *del;       /* what goes */
    struct mnt_figures      *out;
    int64_t                  unreadable;
    bool                     data_kept; /* a retained manifest unreadable */
};

static bool gc_refused(struct fl_err *err)
{
    return FL_ERR(err, 400, "ValidationException",
                  "Cannot expire snapshots: GC is disabled (deleting files "
                  "may corrupt other tables)");
}

/* The snapshots of `meta` whose ids are (or are not) in `ids`; a new
 * reference holding borrowed snapshots. */
static json_t *snaps_where(json_t *meta, const struct mnt_ids *ids, bool in)
{
    json_t *arr = json_array();
    json_t *v;
    size_t  i;

    json_array_foreach(json_object_get(meta, "snapshots"), i, v) {
        if (mnt_ids_has(ids, json_integer_value(json_object_get(
                                 v, "snapshot-id"))) == in) {
            json_array_append(arr, v);
        }
    }
    return arr;
}

/* What `before` becomes once the expired snapshots and their statistics
 * are gone, as far as the cleanup looks (dry runs).  Arena-owned. */
static json_t *simulate(struct fl_arena *a, json_t *before,
                        const struct mnt_ids *expired)
{
    static const char *const keys[] = {"statistics", "partition-statistics"};
    json_t                  *after = json_object();
    json_t                  *v;
    size_t                   i;
    size_t                   k;

    json_object_set_new(after, "snapshots",
                        snaps_where(before, expired, false));
    json_object_set(after, "metadata-log",
                    json_object_get(before, "metadata-log"));
    for (k = 0; k < 2; k++) {
        json_t *kept = json_array();

        json_array_foreach(json_object_get(before, keys[k]), i, v) {
            if (!mnt_ids_has(expired, json_integer_value(json_object_get(
                                 v, "snapshot-id")))) {
                json_array_append(kept, v);
            }
        }
        json_object_set_new(after, keys[k], kept);
    }
    return fl_arena_own_json(a, after);
}

/*
 * Count every file of `from` as examined (once: `seen`) and add those not
 * in `keep` to r->del.
 */
static void candidates(struct run *r, const struct mnt_files *from,
                       struct mnt_files *seen, const struct mnt_files *keep)
{
    size_t i;

    for (i = 0; i < mnt_files_count(from); i++) {
        const struct mnt_file *f = mnt_files_at(from, i);

        if (!mnt_files_add(seen, f->uri, f->size)) {
            continue;
        }
        r->out->files_examined++;
        r->out->bytes_examined += f->size > 0 ? f->size : 0;
        if (!mnt_files_has(keep, f->uri)) {
            mnt_files_add(r->del, f->uri, f->size);
        }
    }
}

/* `lists` with their sizes (a manifest list does not record its own). */
static struct mnt_files *list_sizes(struct fl_arena *a,
                                    const struct mnt_files *lists)
{
    struct mnt_files *sized = mnt_files_new(a);
    struct sto_stat   st;
    struct fl_err     e;
    struct sto       *s;
    bool              exists;
    size_t            i;

    for (i = 0; i < mnt_files_count(lists); i++) {
        const char *uri = mnt_files_at(lists, i)->uri;
        int64_t     size = -1;

        fl_err_clear(&e);
        s = cat_sto(uri, &e);
        if (s != NULL && sto_head(s, uri, &st, &exists, &e) && exists) {
            size = st.size;
        }
        mnt_files_add(sized, uri, size);
    }
    return sized;
}

/*
 * ReachableFileCleanup: the files of the expired snapshots of r->before
 * that metadata `after` (whose file is `after_file`) no longer reaches,
 * into r->del.  Retained manifest lists must be readable (else nothing is
 * deleted: 500 naming the file); an unreadable expired list or manifest
 * only keeps its files (logged, counted); an unreadable retained manifest
 * keeps every data file (Iceberg skips data-file deletion then).
 */
static bool plan(struct run *r, json_t *after, const char *after_file,
                 struct fl_err *err)
{
    struct fl_arena  *a = r->cx->a;
    struct mnt_reader strict = {a, true, 0};
    struct mnt_reader loose = {a, false, 0};
    struct mnt_files *keep = mnt_files_new(a);
    struct mnt_files *kept_manifests = mnt_files_new(a);
    struct mnt_files *lists = mnt_files_new(a);
    struct mnt_files *seen = mnt_files_new(a);
    struct mnt_files *manifests = mnt_files_new(a);
    struct mnt_files *files = mnt_files_new(a);
    struct mnt_files *stats = mnt_files_new(a);
    struct fl_err     e;
    size_t            i;

    if (!mnt_reach_manifests(&strict, json_object_get(after, "snapshots"),
                             keep, kept_manifests, NULL, err)) {
        return false;
    }
    for (i = 0; i < mnt_files_count(kept_manifests); i++) {
        mnt_files_add(keep, mnt_files_at(kept_manifests, i)->uri, -1);
    }
    mnt_reach_stats(after, NULL, keep);
    mnt_reach_meta_files(after, after_file, keep);
    mnt_reach_meta_files(r->before.meta, r->before.metadata_location, keep);
    if (!mnt_reach_manifests(&loose, fl_arena_own_json(
                                 a, snaps_where(r->before.meta, r->expired,
                                                true)),
                             lists, manifests, keep, err) ||
        !mnt_reach_live(&loose, manifests, 0, files, err)) {
        return false;
    }
    fl_err_clear(&e);
    if (mnt_files_count(files) > 0 &&
        !mnt_reach_live(&strict, kept_manifests, 0, keep, &e)) {
        fl_log(FL_LOG_WARN, "expiry: keeping every data file: %s", e.msg);
        r->data_kept = true;
        files = mnt_files_new(a);
    }
    mnt_reach_stats(r->before.meta, r->expired, stats);
    candidates(r, list_sizes(a, lists), seen, keep);
    candidates(r, manifests, seen, keep);
    candidates(r, files, seen, keep);
    candidates(r, stats, seen, keep);
    r->unreadable = loose.failures;
    return true;
}

static void unwrite(const char *uri)
{
    struct fl_err e;
    struct sto   *s;

    fl_err_clear(&e);
    s = cat_sto(uri, &e);
    if (s == NULL || !sto_delete(s, uri, &e)) {
        fl_log(FL_LOG_WARN, "expiry: could not delete %s: %s", uri, e.msg);
    }
}

/*
 * Lock the row, choose, and commit the choice through the engine inside
 * that transaction.  Nothing to expire: no commit (r->sel.updates empty).
 */
static bool commit(struct run *r, const struct mnt_table *t,
                   struct fl_err *err)
{
    struct cat_ctx        *cx = r->cx;
    struct db_conn        *conn = cat_conn(cx, err);
    struct cat_table_state st;
    struct cat_ident       id;

    memset(&st, 0, sizeof(st));
    if (conn == NULL || !db_begin(conn, err)) {
        return false;
    }
    if (!mnt_row_read(cx, t->table_id, true, &r->before, err)) {
        goto fail;
    }
    if (!mnt_gc_allowed(r->before.meta, r->c)) {
        gc_refused(err);
        goto fail;
    }
    if (!mnt_expire_select(cx->a, r->before.meta, r->c, fl_now_ms(),
                           &r->sel, err)) {
        goto fail;
    }
    if (json_array_size(r->sel.updates) == 0) {
        db_rollback(conn);
        return true;
    }
    id.ns = r->before.ns;
    id.nns = r->before.nns;
    id.name = r->before.name;
    if (!cat_table_commit(cx, r->before.catalog, &id, r->sel.requirements,
                          r->sel.updates, &st, err)) {
        goto fail;
    }
    if (!db_commit(conn, err)) {
        if (err->status == 503) {
            char why[sizeof(err->msg)];

            snprintf(why, sizeof(why), "%s", err->msg);
            fl_err_retype(err, 500, "CommitStateUnknownException",
                          "the expiry commit outcome is unknown: %s", why);
        } else if (st.location != NULL &&
                   strcmp(st.location, r->before.metadata_location) != 0) {
            unwrite(st.location);       /* rolled back: nobody names it */
        }
        return false;
    }
    return true;
fail:
    db_rollback(conn);
    return false;
}

static json_t *details(const struct run *r, bool dry_run, int64_t failed)
{
    size_t n = r->del != NULL ? mnt_files_count(r->del) : 0;

    return json_pack("{sbsOsOsosIsbsIsIsb}",
                     "dryRun", dry_run,
                     "expiredSnapshotIds", r->sel.expired,
                     "removedRefs", r->sel.removed_refs,
                     "files", r->del != NULL
                                  ? mnt_files_json(r->del, DETAILS_MAX)
                                  : json_array(),
                     "fileCount", (json_int_t)n,
                     "filesTruncated", n > DETAILS_MAX,
                     "failedDeletes", (json_int_t)failed,
                     "unreadableFiles", (json_int_t)r->unreadable,
                     "dataFilesKept", r->data_kept);
}

static void ids_of(struct run *r, struct fl_arena *a)
{
    json_t *v;
    size_t  i;

    r->expired = mnt_ids_new(a);
    json_array_foreach(r->sel.expired, i, v) {
        mnt_ids_put(r->expired, json_integer_value(v), NULL);
    }
}

/*
 * Snapshot expiry of table `t` under configuration `c` (maintenance.h).
 * Refused with 400 ValidationException when gc.enabled is false (as
 * Iceberg: nothing committed, nothing deleted).  A dry run reads the
 * metadata, chooses, and lists in out->details what a run would expire
 * and delete, committing and deleting nothing.  Otherwise: commit (see the
 * file comment), then delete; figures count the files the expired
 * snapshots reached that the metadata no longer does (examined) and those
 * deleted.  Deletion is best effort (failures are counted in the details;
 * the files are left to orphan removal).  Errors: 404 when the table is
 * gone, the commit engine's (nothing was deleted), 500 when the expiry was
 * committed but a retained manifest list could not be read (nothing was
 * deleted).  Uses cx->conn, in a transaction of its own.
 */
bool mnt_expire(struct cat_ctx *cx, const struct mnt_table *t,
                const struct mnt_config *c, bool dry_run,
                struct mnt_figures *out, struct fl_err *err)
{
    struct run r;
    struct mnt_row now;
    int64_t    failed = 0;

    memset(&r, 0, sizeof(r));
    r.cx = cx;
    r.c = c;
    r.out = out;
    r.del = mnt_files_new(cx->a);
    if (!mnt_gc_allowed(NULL, c)) {
        return gc_refused(err);
    }
    if (dry_run) {
        if (!mnt_row_read(cx, t->table_id, false, &r.before, err)) {
            return false;
        }
        if (!mnt_gc_allowed(r.before.meta, c)) {
            return gc_refused(err);
        }
        if (!mnt_expire_select(cx->a, r.before.meta, c, fl_now_ms(), &r.sel,
                               err)) {
            return false;
        }
        ids_of(&r, cx->a);
        if (!plan(&r, simulate(cx->a, r.before.meta, r.expired),
                  r.before.metadata_location, err)) {
            return false;
        }
    } else {
        if (!commit(&r, t, err)) {
            return false;
        }
        ids_of(&r, cx->a);
        if (json_array_size(r.sel.expired) > 0 &&
            (!mnt_row_read(cx, t->table_id, false, &now, err) ||
             !plan(&r, now.meta, now.metadata_location, err))) {
            char why[sizeof(err->msg)];

            snprintf(why, sizeof(why), "%s", err->msg);
            return fl_err_retype(err, err->status, err->type,
                                 "snapshots expired, files not deleted: %s",
                                 why);
        }
        failed = mnt_files_delete(cx->a, r.del, out);
    }
    out->details = fl_arena_own_json(cx->a, details(&r, dry_run, failed));
    return true;
}
