/*
 * cat_commit.c
 *
 * The commit engine (DESIGN section 4; the protocol is in README.md here).
 * One path serves updateTable, the create transaction (assert-create),
 * commitTransaction and registerTable:
 *
 *   1. read the row: pointer, version, metadata;
 *   2. check every requirement against it (409, no retry);
 *   3. apply every update (400, or 409 for retryable validation);
 *      a commit that changes nothing writes nothing;
 *   4. write the new metadata file with put-if-absent;
 *   5. swap the pointer: UPDATE ... WHERE id = $id AND version = $base.
 *      Lost the race: delete the file, re-read, go to 2 (bounded, jitter).
 *   6. 409 CommitFailedException only after a confirmed rollback; a lost
 *      connection while the UPDATE or COMMIT was in flight is 500
 *      CommitStateUnknownException and the file stays for orphan cleanup.
 *
 * A storage failure in step 4 happens before anything is committed; it is
 * reported as 503 (retry) and no pointer ever names a file that was not
 * written.  Multi-table commits lock every row (FOR UPDATE, in id order)
 * in one transaction instead of retrying.
 */
#include "catalog/cat_table_int.h"
#include "storage/storage.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

DB_STMT(CMT_ROW,
    "SELECT version, metadata_location, metadata, kind FROM tables"
    " WHERE id = $1");
DB_STMT(CMT_LOCK,
    "SELECT version, metadata_location, metadata, kind FROM tables"
    " WHERE id = $1 FOR UPDATE");
DB_STMT(CMT_SWAP,
    "UPDATE tables SET metadata_location = $3, metadata = $4,"
    " version = version + 1, table_uuid = $5::uuid, location = $6,"
    " format_version = $7, current_snapshot_id = $8, last_updated_ms = $9,"
    " updated_ms = $10"
    " WHERE id = $1 AND version = $2");

/* One table's commit in progress. */
struct pending {
    const struct cat_kind *k;
    const char *table_id;
    json_t     *storage;        /* the catalog's storageConfigInfo */
    int64_t     version;        /* base version */
    const char *base_file;      /* base metadata-location */
    json_t     *base;           /* base metadata (arena) */
    json_t     *meta;           /* new metadata (arena); base when no change */
    bool        changed;
    const char *file;           /* new metadata file, once written */
    const char *text;
    json_t     *trimmed;        /* metadata files trimmed from the log */
};

static void jitter(int attempt)
{
    struct timespec ts;
    unsigned        r;

    fl_random_bytes(&r, sizeof(r));
    ts.tv_sec = 0;
    ts.tv_nsec = (long)((1 + r % 10) * 1000000L) << (attempt < 5 ? attempt : 5);
    nanosleep(&ts, NULL);
}

/* Read row `p->table_id` (optionally locking it) into p. */
static bool base_read(struct cat_ctx *cx, struct pending *p, bool lock,
                      bool *gone, struct fl_err *err)
{
    struct db_rows *r;

    *gone = false;
    if (!db_exec(cx->conn, lock ? &CMT_LOCK : &CMT_ROW, DB_ARGS(p->table_id),
                 cx->a, &r, err)) {
        return false;
    }
    if (r->nrows == 0 || strcmp(db_val(r, 0, 3), p->k->kind) != 0) {
        *gone = true;
        return true;
    }
    p->version = strtoll(db_val(r, 0, 0), NULL, 10);
    p->base_file = db_val(r, 0, 1);
    p->base = cat_json_parse(cx->a, db_val(r, 0, 2));
    return true;
}

/*
 * Steps 2 and 3 for one change on top of p->meta (the base, or the result
 * of an earlier change to the same table in this transaction).
 */
static bool apply(struct cat_ctx *cx, struct pending *p, json_t *reqs,
                  json_t *updates, int64_t now, struct fl_err *err)
{
    json_t *next;
    bool    changed = false;

    if (!p->k->check(p->meta, reqs, err)) {
        return false;
    }
    next = p->k->update(p->meta, updates, now, &changed, err);
    if (next == NULL) {
        return false;
    }
    p->meta = fl_arena_own_json(cx->a, next);
    p->changed = p->changed || changed;
    return true;
}

/* Step 4: log the base, name and write the new file. */
static bool write_new(struct cat_ctx *cx, struct pending *p,
                      struct fl_err *err)
{
    json_t *trimmed = NULL;
    json_t *logged;
    json_t *v = json_object_get(p->base, "last-updated-ms");

    if (p->k->logs) {
        logged = cat_meta_log_append(p->meta, p->base_file,
                                     json_is_integer(v)
                                         ? json_integer_value(v)
                                         : fl_now_ms(),
                                     &trimmed);
        p->meta = fl_arena_own_json(cx->a, logged);
        p->trimmed = fl_arena_own_json(cx->a, trimmed);
    }
    p->file = p->k->file_next(cx->a, p->meta, p->base_file);
    p->text = cat_json_text(cx->a, p->meta);
    return cat_tbl_write(cx, p->file, p->text, err);
}

/*
 * Step 5: the conditional update.  *swapped false means the version moved
 * (a lost race, definitely not applied).  Errors are re-typed: a lost
 * connection is 500 CommitStateUnknownException.
 */
static bool swap(struct cat_ctx *cx, struct pending *p, bool *swapped,
                 struct fl_err *err)
{
    struct db_rows *u;
    const char     *uuid, *loc, *fmt, *snap, *upd;

    *swapped = false;
    cat_tbl_columns(cx, p->meta, &uuid, &loc, &fmt, &snap, &upd);
    if (!db_exec(cx->conn, &CMT_SWAP,
                 DB_ARGS(p->table_id, cat_i64(cx->a, p->version), p->file,
                         p->text, uuid, loc, fmt, snap, upd,
                         cat_i64(cx->a, fl_now_ms())),
                 cx->a, &u, err)) {
        if (err->status == 503) {
            fl_err_retype(err, 500, "CommitStateUnknownException",
                          "the commit outcome is unknown: %s", err->msg);
        }
        return false;
    }
    *swapped = u->affected == 1;
    return true;
}

static void trimmed_delete(void *arg)
{
    json_t *f;
    size_t  i;

    json_array_foreach((json_t *)arg, i, f) {
        if (json_is_string(f)) {
            cat_tbl_unwrite(json_string_value(f));
        }
    }
}

/*
 * After a successful swap: delete the metadata files trimmed from the log
 * when the table asks for it — once the change is committed, which inside
 * a request-wide transaction (Idempotency-Key) is later.
 */
static void after_commit(struct cat_ctx *cx, struct pending *p)
{
    json_t     *props = json_object_get(p->meta, "properties");
    const char *del = json_string_value(json_object_get(
        props, "write.metadata.delete-after-commit.enabled"));

    if (del != NULL && strcasecmp(del, "true") == 0 &&
        json_array_size(p->trimmed) > 0) {
        db_on_commit(cx->conn, cx->a, trimmed_delete, p->trimmed);
    }
}

static bool has_assert_create(json_t *reqs)
{
    size_t  i;
    json_t *r;

    json_array_foreach(reqs, i, r) {
        const char *t = json_string_value(json_object_get(r, "type"));

        if (t != NULL && strcmp(t, "assert-create") == 0) {
            return true;
        }
    }
    return false;
}

/*
 * The create transaction: requirements [assert-create], updates building
 * the table from empty metadata (notes/ICEBERG.md 3.3).  No retry.
 */
static bool create_txn(struct cat_ctx *cx, const char *catalog,
                       const struct cat_ident *id, json_t *reqs,
                       json_t *updates, struct cat_table_state *out,
                       struct fl_err *err)
{
    struct cat_resolved r;
    struct pending      p;
    json_t             *all;
    bool                view;

    memset(&p, 0, sizeof(p));
    p.k = &cat_kind_table;
    if (!cat_tbl_resolve_ns(cx, catalog, id, &r, err)) {
        return false;
    }
    /* assert-create fails on a table; a view of that name is reported as
     * the insert would, AlreadyExists with the view message */
    view = r.table_id != NULL && strcmp(r.kind, "view") == 0;
    if (!cat_meta_check(r.table_id && !view
                            ? fl_arena_own_json(cx->a, json_object())
                            : NULL, reqs, err)) {
        return false;
    }
    if (view) {
        return cat_tbl_taken(cx, r.ns_id, id, "table", NULL, r.kind, err);
    }
    /* a client that sends no set-location gets the default location; a
     * later set-location of its own still wins */
    all = fl_arena_own_json(cx->a, json_pack("[{ss ss}]", "action",
                                             "set-location", "location",
                                             cat_tbl_default_location(
                                                 cx, &r, id->name)));
    if (json_is_array(updates)) {
        json_array_extend(all, updates);
    }
    if (!apply(cx, &p, NULL, all, fl_now_ms(), err)) {
        return false;
    }
    if (!cat_tbl_locations_check(r.storage, p.meta, err)) {
        return false;
    }
    return cat_tbl_create_row(cx, &r, id, "table",
                              cat_meta_file_next(cx->a, p.meta, NULL), p.meta,
                              cat_json_text(cx->a, p.meta), out, err);
}

/* One attempt of a single-table commit; *retry asks for another. */
static bool attempt(struct cat_ctx *cx, struct pending *p, json_t *reqs,
                    json_t *updates, bool *retry, struct fl_err *err)
{
    bool gone;
    bool swapped;

    *retry = false;
    p->changed = false;
    if (!base_read(cx, p, false, &gone, err)) {
        return false;
    }
    if (gone) {
        return FL_ERR(err, 404, "NoSuchTableException",
                      "dropped concurrently");
    }
    p->meta = p->base;
    if (!apply(cx, p, reqs, updates, fl_now_ms(), err)) {
        return false;
    }
    if (!p->changed) {
        p->file = p->base_file;
        return true;
    }
    if (!cat_tbl_locations_check(p->storage, p->meta, err) ||
        !write_new(cx, p, err)) {
        return false;
    }
    if (!swap(cx, p, &swapped, err) || !swapped) {
        if (!fl_err_isset(err) || err->status == 409) {
            fl_err_clear(err);
            *retry = true;
        }
        if (!fl_err_isset(err) || err->status != 500 ||
            strcmp(err->type, "CommitStateUnknownException") != 0) {
            cat_tbl_unwrite(p->file);
        }
        return false;
    }
    if (p->k->logs) {
        after_commit(cx, p);
    }
    return true;
}

/*
 * The commit loop shared by tables (updateTable) and views (replaceView):
 * commit `requirements` and `updates` to entity `id` of kind `k`, retrying
 * lost races on fresh bases.  *out is the resulting state.  Errors: 404
 * (k->missing), 409 CommitFailedException (failed requirement, retryable
 * validation, or too many lost races), 400 invalid updates, 503 when the
 * metadata file could not be written (nothing committed), 500
 * CommitStateUnknownException.
 */
bool cat_entity_commit(struct cat_ctx *cx, const char *catalog,
                       const struct cat_ident *id,
                       const struct cat_kind *k, json_t *requirements,
                       json_t *updates, struct cat_table_state *out,
                       struct fl_err *err)
{
    struct cat_resolved r;
    struct pending      p;
    int                 tries = cx->settings->commit_retries + 1;
    int                 i;
    bool                retry = false;

    memset(&p, 0, sizeof(p));
    p.k = k;
    if (!cat_tbl_resolve(cx, catalog, id, &r, err)) {
        return false;
    }
    if (r.table_id == NULL || strcmp(r.kind, k->kind) != 0) {
        return k->missing(cx, id, err);
    }
    p.table_id = r.table_id;
    p.storage = r.storage;
    for (i = 0; i < tries; i++) {
        if (i > 0) {
            jitter(i);
        }
        if (attempt(cx, &p, requirements, updates, &retry, err)) {
            cat_tbl_state(cx, strtoll(p.table_id, NULL, 10),
                          p.version + (p.changed ? 1 : 0), p.file,
                          p.changed ? p.text : cat_json_text(cx->a, p.base),
                          CAT_SNAPSHOTS_ALL, out);
            return true;
        }
        if (!retry) {
            if (err->status == 404) {
                fl_err_clear(err);
                return k->missing(cx, id, err);
            }
            return false;
        }
    }
    return FL_ERR(err, 409, "CommitFailedException",
                  "Commit to %s lost %d races with concurrent commits; "
                  "retry", cat_ident_render(cx->a, id), tries);
}

const struct cat_kind cat_kind_table = {
    "table", cat_meta_check, cat_meta_update, true, cat_meta_file_next,
    cat_tbl_missing,
};

const struct cat_kind cat_kind_view = {
    "view", cat_view_check, cat_view_update, false, cat_view_file_next,
    cat_view_missing,
};

/*
 * spec: updateTable.  Commit `requirements` and `updates` to table `id`,
 * retrying lost races on fresh bases.  *out is the resulting state.
 * Errors: 404 NoSuchTableException, 409 CommitFailedException (failed
 * requirement, retryable validation, or too many lost races), 400 invalid
 * updates, 503 when the metadata file could not be written (nothing
 * committed), 500 CommitStateUnknownException.
 */
bool cat_table_commit(struct cat_ctx *cx, const char *catalog,
                      const struct cat_ident *id, json_t *requirements,
                      json_t *updates, struct cat_table_state *out,
                      struct fl_err *err)
{
    if (has_assert_create(requirements)) {
        return create_txn(cx, catalog, id, requirements, updates, out, err);
    }
    return cat_entity_commit(cx, catalog, id, &cat_kind_table, requirements,
                             updates, out, err);
}

/* ------------------------------------------------------- transactions */

/* A multi-table commit: one pending per distinct table, in id order. */
struct txn {
    struct pending *p;
    int             np;
    const char    **table_of;   /* change -> table id */
};

static struct pending *txn_find(struct txn *t, const char *table_id)
{
    int i;

    for (i = 0; i < t->np; i++) {
        if (strcmp(t->p[i].table_id, table_id) == 0) {
            return &t->p[i];
        }
    }
    return NULL;
}

static int by_id(const void *x, const void *y)
{
    int64_t a = strtoll(((const struct pending *)x)->table_id, NULL, 10);
    int64_t b = strtoll(((const struct pending *)y)->table_id, NULL, 10);

    return (a > b) - (a < b);
}

/* Resolve every table (404 when one is missing) and group the changes. */
static bool txn_resolve(struct cat_ctx *cx, const char *catalog,
                        struct cat_change *c, int n, struct txn *t,
                        struct fl_err *err)
{
    int i;

    t->p = fl_alloc(cx->a, sizeof(*t->p) * (size_t)n);
    t->table_of = fl_alloc(cx->a, sizeof(char *) * (size_t)n);
    for (i = 0; i < n; i++) {
        struct cat_resolved r;

        if (has_assert_create(c[i].requirements)) {
            return FL_ERR(err, 400, "BadRequestException",
                          "Invalid table changes: creating %s inside a "
                          "multi-table transaction is not supported",
                          cat_ident_render(cx->a, &c[i].id));
        }
        if (!cat_tbl_resolve(cx, catalog, &c[i].id, &r, err)) {
            return false;
        }
        if (r.table_id == NULL || strcmp(r.kind, "table") != 0) {
            return cat_tbl_missing(cx, &c[i].id, err);
        }
        t->table_of[i] = r.table_id;
        c[i].table_id = strtoll(r.table_id, NULL, 10);
        if (txn_find(t, r.table_id) == NULL) {
            t->p[t->np].k = &cat_kind_table;
            t->p[t->np].storage = r.storage;
            t->p[t->np++].table_id = r.table_id;
        }
    }
    qsort(t->p, (size_t)t->np, sizeof(*t->p), by_id);
    return true;
}

/* Lock rows in id order, then apply every change in request order. */
static bool txn_apply(struct cat_ctx *cx, struct cat_change *c, int n,
                      struct txn *t, struct fl_err *err)
{
    int64_t now = fl_now_ms();
    bool    gone;
    int     i;

    for (i = 0; i < t->np; i++) {
        if (!base_read(cx, &t->p[i], true, &gone, err)) {
            return false;
        }
        if (gone) {
            return FL_ERR(err, 404, "NoSuchTableException",
                          "a table of the transaction was dropped "
                          "concurrently");
        }
        t->p[i].meta = t->p[i].base;
    }
    for (i = 0; i < n; i++) {
        if (!apply(cx, txn_find(t, t->table_of[i]), c[i].requirements,
                   c[i].updates, now, err)) {
            return false;
        }
    }
    return true;
}

/* Write every changed table's file and swap every pointer. */
static bool txn_write(struct cat_ctx *cx, struct txn *t, struct fl_err *err)
{
    bool swapped;
    int  i;

    for (i = 0; i < t->np; i++) {
        if (t->p[i].changed &&
            (!cat_tbl_locations_check(t->p[i].storage, t->p[i].meta, err) ||
             !write_new(cx, &t->p[i], err))) {
            return false;
        }
    }
    for (i = 0; i < t->np; i++) {
        if (!t->p[i].changed) {
            continue;
        }
        if (!swap(cx, &t->p[i], &swapped, err)) {
            return false;
        }
        fl_assert(swapped);     /* the row is locked */
    }
    return true;
}

static void txn_unwrite(struct txn *t)
{
    int i;

    for (i = 0; i < t->np; i++) {
        if (t->p[i].file != NULL && t->p[i].changed) {
            cat_tbl_unwrite(t->p[i].file);
        }
    }
}

/*
 * spec: commitTransaction.  Apply every change atomically: one Postgres
 * transaction holding every row lock (taken in id order, so concurrent
 * transactions cannot deadlock), all files written before the pointers
 * move, all or nothing.  Errors as cat_table_commit; any failure before
 * COMMIT leaves every table unchanged.
 */
bool cat_tables_commit(struct cat_ctx *cx, const char *catalog,
                       struct cat_change *changes, int n,
                       struct fl_err *err)
{
    struct txn t;
    int        i;

    memset(&t, 0, sizeof(t));
    if (n == 0) {
        return FL_ERR(err, 400, "BadRequestException",
                      "Invalid table changes: empty");
    }
    if (!txn_resolve(cx, catalog, changes, n, &t, err) ||
        !db_begin(cx->conn, err)) {
        return false;
    }
    if (!txn_apply(cx, changes, n, &t, err) || !txn_write(cx, &t, err)) {
        db_rollback(cx->conn);
        if (err->status != 500 ||
            strcmp(err->type, "CommitStateUnknownException") != 0) {
            txn_unwrite(&t);
        }
        return false;
    }
    if (!db_commit(cx->conn, err)) {
        if (err->status == 503) {
            fl_err_retype(err, 500, "CommitStateUnknownException",
                          "the commit outcome is unknown: %s", err->msg);
        } else {
            txn_unwrite(&t);
        }
        return false;
    }
    for (i = 0; i < t.np; i++) {
        if (t.p[i].changed) {
            after_commit(cx, &t.p[i]);
        }
    }
    return true;
}

/* ---------------------------------------------------------- register */

/*
 * Read a metadata file, gunzip it when it is gzipped, and parse it.  *raw
 * is its JSON text.  Errors: 404 for a missing file, 400 for bad JSON.
 */
json_t *cat_read_metadata(struct cat_ctx *cx, const char *file,
                          const char **raw, struct fl_err *err)
{
    struct sto   *s = cat_sto(file, err);
    struct fl_buf b;
    char         *text;
    size_t        n;
    json_error_t  je;
    json_t       *v;
    size_t        max = cx->settings->metadata_max_bytes;

    if (s == NULL || !sto_get(s, cx->a, file, max, &b, err)) {
        return NULL;
    }
    text = b.p;
    n = b.len;
    if (n >= 2 && (unsigned char)text[0] == 0x1f &&
        (unsigned char)text[1] == 0x8b &&
        !cat_gunzip(cx->a, b.p, b.len, max, &text, &n, err)) {
        return NULL;
    }
    v = json_loadb(text, n, 0, &je);
    if (v == NULL) {
        FL_ERR(err, 400, "BadRequestException",
               "metadata file \"%s\" is not valid JSON: %s", file, je.text);
        return NULL;
    }
    fl_arena_own_json(cx->a, v);
    *raw = fl_strndup(cx->a, text, n);  /* jansson refused any NUL */
    return v;
}

/*
 * spec: registerTable.  Point a new table (or, with `overwrite`, an
 * existing one) at an existing metadata file, keeping that exact location
 * as the pointer.  Errors: 404 NoSuchNamespaceException, 409 when the name
 * is taken, 400/404 for a missing or invalid file or one outside the
 * catalog's locations.
 */
bool cat_table_register(struct cat_ctx *cx, const char *catalog,
                        const struct cat_ident *id, const char *location,
                        bool overwrite, struct cat_table_state *out,
                        struct fl_err *err)
{
    struct cat_resolved r;
    struct pending      p;
    json_t             *meta;
    int64_t             row;
    bool                swapped;

    memset(&p, 0, sizeof(p));
    p.k = &cat_kind_table;
    if (!cat_tbl_resolve_ns(cx, catalog, id, &r, err) ||
        !cat_tbl_location_check(r.storage, location, err) ||
        (meta = cat_read_metadata(cx, location, &p.text, err)) == NULL ||
        !cat_meta_validate(meta, err) ||
        !cat_tbl_locations_check(r.storage, meta, err)) {
        return false;
    }
    p.meta = meta;
    p.file = location;
    if (r.table_id != NULL && (!overwrite || strcmp(r.kind, "table") != 0)) {
        return cat_tbl_taken(cx, r.ns_id, id, "table", NULL, r.kind, err);
    }
    if (r.table_id == NULL) {
        if (!cat_tbl_insert(cx, &r, id, "table", location, meta, p.text,
                            &row, err)) {
            return false;
        }
        cat_tbl_state(cx, row, 1, location, p.text, CAT_SNAPSHOTS_ALL, out);
        return true;
    }
    p.table_id = r.table_id;
    p.version = r.version;
    if (!swap(cx, &p, &swapped, err)) {
        return false;
    }
    if (!swapped) {
        return FL_ERR(err, 409, "CommitFailedException",
                      "table %s changed while it was being registered",
                      cat_ident_render(cx->a, id));
    }
    cat_tbl_state(cx, strtoll(r.table_id, NULL, 10), r.version + 1,
                  location, p.text, CAT_SNAPSHOTS_ALL, out);
    return true;
}
