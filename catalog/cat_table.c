/*
 * cat_table.c
 *
 * Tables as catalog entities: listing, create (direct and staged), load,
 * existence, drop (with purge), rename and register.  Commits, including
 * create transactions and multi-table transactions, are in cat_commit.c;
 * both share the row shape and the helpers declared in cat_table_int.h.
 *
 * A table row holds the pointer (metadata_location), a version counter for
 * the commit CAS and the current metadata JSON exactly as written to
 * storage, so loads never read object storage; they only check that the
 * current file still exists, because clients rely on a 404 when it is gone
 * (notes/ICEBERG.md 3.6).  Tables and views share one name space per
 * namespace (UNIQUE (namespace_id, name)).
 */
#include "catalog/cat_table_int.h"
#include "storage/storage.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

DB_STMT(TBL_RESOLVE,
    "SELECT c.id, c.storage_config::text, n.id, n.properties->>'location',"
    " t.id, t.kind, t.version, t.metadata_location"
    " FROM catalogs c"
    " LEFT JOIN namespaces n ON n.catalog_id = c.id AND n.path = $3::text[]"
    " LEFT JOIN tables t ON t.namespace_id = n.id AND t.name = $4"
    " WHERE c.realm = $1 AND c.name = $2");
DB_STMT(TBL_ROW,
    "SELECT version, metadata_location, metadata, kind FROM tables"
    " WHERE id = $1");
DB_STMT(TBL_INSERT,
    "INSERT INTO tables (realm, catalog_id, namespace_id, name, kind,"
    " metadata_location, metadata, version, table_uuid, location,"
    " format_version, current_snapshot_id, last_updated_ms, created_ms,"
    " updated_ms)"
    " VALUES ($1, $2, $3, $4, $13, $5, $6, 1, $7::uuid, $8, $9, $10,"
    " $11, $12, $12)"
    " ON CONFLICT (namespace_id, name) DO NOTHING RETURNING id");
DB_STMT(TBL_KIND,
    "SELECT kind FROM tables WHERE namespace_id = $1 AND name = $2");
DB_STMT(TBL_DELETE,
    "DELETE FROM tables WHERE id = $1 AND kind = 'table'"
    " RETURNING metadata_location, metadata");
DB_STMT(TBL_RENAME,
    "UPDATE tables SET namespace_id = $2, name = $3, updated_ms = $4"
    " WHERE id = $1 AND kind = 'table'");
DB_STMT(TBL_LIST,
    "SELECT name FROM tables WHERE namespace_id = $1 AND kind = 'table'"
    " AND name > $2 ORDER BY name LIMIT $3");

/* ------------------------------------------------------------- helpers */

/*
 * Resolve catalog, namespace and table of `id` in one query.  Missing
 * pieces are left 0/NULL in *r; only database failures are errors.
 */
bool cat_tbl_resolve(struct cat_ctx *cx, const char *catalog,
                     const struct cat_ident *id, struct cat_resolved *r,
                     struct fl_err *err)
{
    struct db_rows *rows;
    const char     *v;

    memset(r, 0, sizeof(*r));
    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, &TBL_RESOLVE,
                 DB_ARGS(cx->realm, catalog,
                         cat_pg_array(cx->a, id->ns, id->nns), id->name),
                 cx->a, &rows, err)) {
        return false;
    }
    if (rows->nrows == 0) {
        return true;
    }
    r->catalog_id = db_val(rows, 0, 0);
    r->storage = cat_json_parse(cx->a, db_val(rows, 0, 1));
    r->ns_id = db_val(rows, 0, 2);
    r->ns_location = db_val(rows, 0, 3);
    r->table_id = db_val(rows, 0, 4);
    r->kind = db_val(rows, 0, 5);
    v = db_val(rows, 0, 6);
    r->version = v ? strtoll(v, NULL, 10) : 0;
    r->location = db_val(rows, 0, 7);
    return true;
}

/* 404 NoSuchTableException "Table does not exist: ns.t" (notes 5.3). */
bool cat_tbl_missing(struct cat_ctx *cx, const struct cat_ident *id,
                     struct fl_err *err)
{
    return FL_ERR(err, 404, "NoSuchTableException",
                  "Table does not exist: %s", cat_ident_render(cx->a, id));
}

/*
 * Resolve an existing object of `kind` ("table" or "view"); 404
 * NoSuchTableException / NoSuchViewException otherwise, also for a name
 * that could not exist.
 */
bool cat_tbl_resolve_kind(struct cat_ctx *cx, const char *catalog,
                          const struct cat_ident *id, const char *kind,
                          struct cat_resolved *r, struct fl_err *err)
{
    bool          view = strcmp(kind, "view") == 0;
    struct fl_err e;

    fl_err_clear(&e);
    if (!cat_name_check(kind, id->name, &e) ||
        !cat_ns_check(id->ns, id->nns, &e)) {
        return view ? cat_view_missing(cx, id, err)
                    : cat_tbl_missing(cx, id, err);
    }
    if (!cat_tbl_resolve(cx, catalog, id, r, err)) {
        return false;
    }
    if (r->table_id == NULL || strcmp(r->kind, kind) != 0) {
        return view ? cat_view_missing(cx, id, err)
                    : cat_tbl_missing(cx, id, err);
    }
    return true;
}

static bool resolve_table(struct cat_ctx *cx, const char *catalog,
                          const struct cat_ident *id, struct cat_resolved *r,
                          struct fl_err *err)
{
    return cat_tbl_resolve_kind(cx, catalog, id, "table", r, err);
}

/*
 * Resolve the namespace a new table goes into.  Errors: 400 for an invalid
 * name, 404 NoSuchNamespaceException when the catalog or namespace is
 * missing.
 */
bool cat_tbl_resolve_ns(struct cat_ctx *cx, const char *catalog,
                        const struct cat_ident *id, struct cat_resolved *r,
                        struct fl_err *err)
{
    if (!cat_name_check("table", id->name, err) ||
        !cat_ns_check(id->ns, id->nns, err) ||
        !cat_tbl_resolve(cx, catalog, id, r, err)) {
        return false;
    }
    if (r->catalog_id == NULL) {
        return FL_ERR(err, 404, "NoSuchNamespaceException",
                      "Catalog does not exist: %s", catalog);
    }
    if (r->ns_id == NULL || id->nns == 0) {
        return FL_ERR(err, 404, "NoSuchNamespaceException",
                      "Namespace does not exist: %s",
                      cat_ns_render(cx->a, id->ns, id->nns));
    }
    return true;
}

/*
 * 409 AlreadyExistsException for a name taken by a table or a view in
 * namespace `ns_id`, with the reference's messages.  `kind` is what the
 * caller wanted to put there ("table" or "view"); `from`, when not NULL,
 * names the object being renamed.  `found` is the kind already there, or
 * NULL to look it up (a concurrent winner).
 */
bool cat_tbl_taken(struct cat_ctx *cx, const char *ns_id,
                   const struct cat_ident *id, const char *kind,
                   const struct cat_ident *from, const char *found,
                   struct fl_err *err)
{
    struct db_rows *r;
    const char     *to = cat_ident_render(cx->a, id);
    bool            view;

    if (found == NULL) {
        found = kind;
        if (db_exec(cx->conn, &TBL_KIND, DB_ARGS(ns_id, id->name), cx->a,
                    &r, err) && r->nrows > 0) {
            found = db_val(r, 0, 0);
        }
        fl_err_clear(err);
    }
    view = strcmp(found, "view") == 0;
    if (from != NULL && (view || strcmp(kind, "view") == 0)) {
        return FL_ERR(err, 409, "AlreadyExistsException",
                      "Cannot rename %s to %s. %s already exists",
                      cat_ident_render(cx->a, from), to,
                      view ? "View" : "Table");
    }
    if (strcmp(found, kind) == 0) {
        return FL_ERR(err, 409, "AlreadyExistsException",
                      "%s already exists: %s", view ? "View" : "Table", to);
    }
    return FL_ERR(err, 409, "AlreadyExistsException",
                  "%s with same name already exists: %s",
                  view ? "View" : "Table", to);
}

/* The default location of a new table: the namespace's, plus its name. */
char *cat_tbl_default_location(struct cat_ctx *cx,
                               const struct cat_resolved *r,
                               const char *name)
{
    const char *base = r->ns_location ? r->ns_location : "";
    size_t      n = strlen(base);

    while (n > 0 && base[n - 1] == '/') {
        n--;
    }
    return fl_sprintf(cx->a, "%.*s/%s", (int)n, base, name);
}

/* A table location must be valid and inside the catalog's locations. */
bool cat_tbl_location_check(json_t *storage, const char *loc,
                            struct fl_err *err)
{
    if (loc == NULL || !cat_location_valid(loc) ||
        !cat_storage_allows(storage, loc)) {
        return FL_ERR(err, 400, "BadRequestException",
                      "table location '%s' is not within the catalog's "
                      "allowed locations", loc ? loc : "(none)");
    }
    return true;
}

/*
 * Every location a table's metadata names for writing — its location and
 * the write.metadata.path / write.data.path properties — must lie inside
 * the catalog's allowed locations (as Polaris checks).
 */
bool cat_tbl_locations_check(json_t *storage, json_t *meta,
                             struct fl_err *err)
{
    static const char *const keys[] = {"write.metadata.path",
                                       "write.data.path"};
    json_t *props = json_object_get(meta, "properties");
    size_t  i;

    if (!cat_tbl_location_check(storage, json_string_value(
                                    json_object_get(meta, "location")),
                                err)) {
        return false;
    }
    for (i = 0; i < FL_ARRAY_LEN(keys); i++) {
        const char *p = json_string_value(json_object_get(props, keys[i]));

        if (p != NULL && !cat_tbl_location_check(storage, p, err)) {
            return false;
        }
    }
    return true;
}

/*
 * Write metadata text to `file` with put-if-absent, gzipped when the name
 * says so.  Errors: 503 ServiceUnavailableException (nothing was
 * committed), 400 for an unsupported scheme.
 */
bool cat_tbl_write(struct cat_ctx *cx, const char *file, const char *text,
                   struct fl_err *err)
{
    struct sto *s = cat_sto(file, err);
    const char *data = text;
    char       *gz;
    size_t      n = strlen(text);

    if (s == NULL) {
        return false;
    }
    if (strstr(file, ".gz.metadata.json") != NULL &&
        cat_gzip(cx->a, text, n, &gz, &n)) {
        data = gz;
    }
    if (!sto_put_if_absent(s, file, data, n, err)) {
        if (err->status >= 500 || err->status == 409) {
            char *why = fl_strdup(cx->a, err->msg);

            fl_err_retype(err, 503, "ServiceUnavailableException",
                          "could not write metadata file; nothing was "
                          "committed: %s", why);
        }
        return false;
    }
    return true;
}

/* Best-effort removal of a metadata file that no pointer references. */
void cat_tbl_unwrite(const char *file)
{
    struct fl_err e;
    struct sto   *s;

    fl_err_clear(&e);
    s = cat_sto(file, &e);
    if (s != NULL && !sto_delete(s, file, &e)) {
        fl_log(FL_LOG_WARN, "could not delete unused metadata file %s: %s",
               file, e.msg);
    }
}

/*
 * Fill *out with the LoadTableResult of (location, metadata text) in
 * snapshots mode `mode`.  The text is spliced in as is for mode "all", so
 * the bytes clients get are the bytes in storage.
 */
void cat_tbl_state(struct cat_ctx *cx, int64_t id, int64_t version,
                   const char *location, const char *text, int mode,
                   struct cat_table_state *out)
{
    json_t *loc = json_string(location ? location : "");
    char   *qloc = json_dumps(loc, JSON_ENCODE_ANY);
    json_t *meta;
    char   *refs;

    out->id = id;
    out->version = version;
    out->location = location;
    if (mode == CAT_SNAPSHOTS_REFS) {
        meta = cat_meta_refs_only(cat_json_parse(cx->a, text));
        refs = json_dumps(meta, JSON_COMPACT | JSON_PRESERVE_ORDER);
        text = fl_strdup(cx->a, refs);
        free(refs);
        json_decref(meta);
    }
    if (location != NULL) {
        out->body = fl_sprintf(cx->a, "{\"metadata-location\":%s,"
                               "\"metadata\":%s,\"config\":{}}", qloc, text);
        cat_etag(location, mode, out->etag);
    } else {
        out->body = fl_sprintf(cx->a, "{\"metadata\":%s,\"config\":{}}",
                               text);
        out->etag[0] = '\0';
    }
    out->len = strlen(out->body);
    free(qloc);
    json_decref(loc);
}

/* Denormalized columns of a metadata document, as text parameters. */
void cat_tbl_columns(struct cat_ctx *cx, json_t *meta, const char **uuid,
                     const char **location, const char **format,
                     const char **snapshot, const char **updated)
{
    json_t *v;

    *uuid = json_string_value(json_object_get(meta, "table-uuid"));
    if (*uuid == NULL) {
        *uuid = json_string_value(json_object_get(meta, "view-uuid"));
    }
    if (*uuid != NULL && !fl_uuid_valid(*uuid)) {
        *uuid = NULL;
    }
    *location = json_string_value(json_object_get(meta, "location"));
    v = json_object_get(meta, "format-version");
    *format = json_is_integer(v) ? cat_i64(cx->a, json_integer_value(v))
                                 : NULL;
    v = json_object_get(meta, "current-snapshot-id");
    *snapshot = json_is_integer(v) && json_integer_value(v) >= 0
        ? cat_i64(cx->a, json_integer_value(v)) : NULL;
    v = json_object_get(meta, "last-updated-ms");
    *updated = json_is_integer(v) ? cat_i64(cx->a, json_integer_value(v))
                                  : NULL;
}

/*
 * Insert a new table row pointing at `file`.  Errors: 409
 * AlreadyExistsException when the name is taken (table or view).
 */
bool cat_tbl_insert(struct cat_ctx *cx, const struct cat_resolved *r,
                    const struct cat_ident *id, const char *kind,
                    const char *file, json_t *meta, const char *text,
                    int64_t *row_id, struct fl_err *err)
{
    struct db_rows *ins;
    const char     *uuid, *loc, *fmt, *snap, *upd;

    cat_tbl_columns(cx, meta, &uuid, &loc, &fmt, &snap, &upd);
    if (!db_exec(cx->conn, &TBL_INSERT,
                 DB_ARGS(cx->realm, r->catalog_id, r->ns_id, id->name, file,
                         text, uuid, loc, fmt, snap, upd,
                         cat_i64(cx->a, fl_now_ms()), kind),
                 cx->a, &ins, err)) {
        if (err->status == 409 && strcmp(err->type, "ConflictException") == 0) {
            fl_err_clear(err);
            return FL_ERR(err, 404, "NoSuchNamespaceException",
                          "Namespace does not exist: %s",
                          cat_ns_render(cx->a, id->ns, id->nns));
        }
        return false;
    }
    if (ins->nrows == 0) {
        return cat_tbl_taken(cx, r->ns_id, id, kind, NULL, NULL, err);
    }
    *row_id = strtoll(db_val(ins, 0, 0), NULL, 10);
    return true;
}

/* ---------------------------------------------------------------- routes */

/*
 * spec: listTables.  Table names of namespace `ns`, in name order, one page
 * (page_size 0 = all).  Errors: 404 NoSuchNamespaceException.
 */
bool cat_table_list(struct cat_ctx *cx, const char *catalog,
                    const char *const *ns, int nns, const char *page_token,
                    int page_size, struct cat_table_page *out,
                    struct fl_err *err)
{
    struct cat_ns n;

    if (!cat_ns_get(cx, catalog, ns, nns, &n, err)) {
        return false;
    }
    return cat_name_page(cx, &TBL_LIST,
                         fl_sprintf(cx->a, "tables:%lld", (long long)n.id),
                         n.id, NULL, page_token, page_size, out, err);
}

/*
 * A staged create records when it was staged in the `created-at` property,
 * before the client's own properties (which may override it), as the
 * reference does.  Returns a borrowed copy of `req` owned by the arena.
 */
static json_t *staged_request(struct cat_ctx *cx, json_t *req)
{
    json_t *copy = fl_arena_own_json(cx->a, json_deep_copy(req));
    json_t *props = json_object_get(copy, "properties");
    json_t *merged = json_object();
    char    ts[32];
    time_t  now = time(NULL);
    struct tm tm;

    if (props != NULL && !json_is_object(props)) {
        json_decref(merged);
        return copy;            /* cat_meta_create reports the bad type */
    }
    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_object_set_new(merged, "created-at", json_string(ts));
    if (json_is_object(props)) {
        json_object_update(merged, props);
    }
    json_object_set_new(copy, "properties", merged);
    return copy;
}

/*
 * spec: createTable.  Build the metadata (cat_meta_create), and unless
 * `stage` write file 00000 and insert the row.  A staged create persists
 * nothing and has no metadata-location.  Errors: 404
 * NoSuchNamespaceException, 409 AlreadyExistsException, 400 for invalid
 * requests or locations outside the catalog.
 */
bool cat_table_create(struct cat_ctx *cx, const char *catalog,
                      const struct cat_ident *id, json_t *req, bool stage,
                      struct cat_table_state *out, struct fl_err *err)
{
    struct cat_resolved r;
    const char         *loc;
    json_t             *meta;
    char               *text;

    if (!cat_tbl_resolve_ns(cx, catalog, id, &r, err)) {
        return false;
    }
    if (r.table_id != NULL) {
        return cat_tbl_taken(cx, r.ns_id, id, "table", NULL, r.kind, err);
    }
    loc = json_string_value(json_object_get(req, "location"));
    if (loc == NULL || loc[0] == '\0') {
        loc = cat_tbl_default_location(cx, &r, id->name);
    }
    if (!cat_tbl_location_check(r.storage, loc, err)) {
        return false;
    }
    if (stage) {
        req = staged_request(cx, req);
    }
    meta = fl_arena_own_json(cx->a, cat_meta_create(req, loc, fl_now_ms(),
                                                    err));
    if (meta == NULL || !cat_tbl_locations_check(r.storage, meta, err)) {
        return false;
    }
    text = cat_json_text(cx->a, meta);
    if (stage) {
        cat_tbl_state(cx, 0, 0, NULL, text, CAT_SNAPSHOTS_ALL, out);
        return true;
    }
    return cat_tbl_create_row(cx, &r, id, "table",
                              cat_meta_file_next(cx->a, meta, NULL), meta,
                              text, out, err);
}

/*
 * A new table or view: its first metadata file written, then its row
 * inserted (the file removed again when the insert fails).
 */
bool cat_tbl_create_row(struct cat_ctx *cx, const struct cat_resolved *r,
                        const struct cat_ident *id, const char *kind,
                        const char *file, json_t *meta, const char *text,
                        struct cat_table_state *out, struct fl_err *err)
{
    int64_t row;

    if (!cat_tbl_write(cx, file, text, err)) {
        return false;
    }
    if (!cat_tbl_insert(cx, r, id, kind, file, meta, text, &row, err)) {
        cat_tbl_unwrite(file);
        return false;
    }
    cat_tbl_state(cx, row, 1, file, text, CAT_SNAPSHOTS_ALL, out);
    return true;
}

/* 404 NotFoundException when the current metadata file is gone (3.6). */
bool cat_tbl_file_present(const char *file, struct fl_err *err)
{
    struct sto     *s = cat_sto(file, err);
    struct sto_stat st;
    bool            exists = false;

    if (s == NULL || !sto_head(s, file, &st, &exists, err)) {
        return false;
    }
    if (!exists) {
        return FL_ERR(err, 404, "NotFoundException",
                      "Failed to open input stream for file: %s", file);
    }
    return true;
}

/*
 * spec: loadTable.  Serves the cached body of the table's current version
 * when there is one; otherwise reads the row's metadata.  If-None-Match
 * equal to the current ETag gives out->not_modified.  Errors: 404
 * NoSuchTableException, 404 NotFoundException for a missing metadata file.
 */
bool cat_table_load(struct cat_ctx *cx, const char *catalog,
                    const struct cat_ident *id, enum cat_snapshots mode,
                    const char *if_none_match, struct cat_table_state *out,
                    struct fl_err *err)
{
    struct cat_resolved r;
    struct db_rows     *row;
    int64_t             tid;

    memset(out, 0, sizeof(*out));
    if (!resolve_table(cx, catalog, id, &r, err) ||
        !cat_tbl_file_present(r.location, err)) {
        return false;
    }
    tid = strtoll(r.table_id, NULL, 10);
    cat_etag(r.location, (int)mode, out->etag);
    out->id = tid;
    out->version = r.version;
    out->location = r.location;
    if (if_none_match != NULL && strcmp(if_none_match, out->etag) == 0) {
        out->not_modified = true;
        return true;
    }
    if (cat_cache_get(tid, r.version, (int)mode, cx->a, &out->body,
                      &out->len)) {
        return true;
    }
    if (!db_exec(cx->conn, &TBL_ROW, DB_ARGS(r.table_id), cx->a, &row, err)) {
        return false;
    }
    if (row->nrows == 0 || strcmp(db_val(row, 0, 3), "table") != 0) {
        return cat_tbl_missing(cx, id, err);
    }
    cat_tbl_state(cx, tid, strtoll(db_val(row, 0, 0), NULL, 10),
                  db_val(row, 0, 1), db_val(row, 0, 2), (int)mode, out);
    cat_cache_put(tid, out->version, (int)mode, out->body, out->len);
    return true;
}

/* spec: tableExists.  Errors: 404 NoSuchTableException. */
bool cat_table_exists(struct cat_ctx *cx, const char *catalog,
                      const struct cat_ident *id, struct fl_err *err)
{
    struct cat_resolved r;

    return resolve_table(cx, catalog, id, &r, err);
}

/*
 * spec: dropTable.  Removes the row; with `purge`, then deletes exactly the
 * files the table's metadata references (best effort, after the row is
 * gone).  Errors: 404 NoSuchTableException.
 */
bool cat_table_drop(struct cat_ctx *cx, const char *catalog,
                    const struct cat_ident *id, bool purge,
                    struct fl_err *err)
{
    struct cat_resolved r;
    struct db_rows     *d;

    if (!resolve_table(cx, catalog, id, &r, err) ||
        !db_exec(cx->conn, &TBL_DELETE, DB_ARGS(r.table_id), cx->a, &d,
                 err)) {
        return false;
    }
    if (d->nrows == 0) {
        return cat_tbl_missing(cx, id, err);
    }
    if (purge) {
        cat_purge_files(cx, db_val(d, 0, 0),
                        cat_json_parse(cx->a, db_val(d, 0, 1)));
    }
    return true;
}

/* True when two identifiers name the same object. */
bool cat_ident_equal(const struct cat_ident *a, const struct cat_ident *b)
{
    int i;

    if (a->nns != b->nns || strcmp(a->name, b->name) != 0) {
        return false;
    }
    for (i = 0; i < a->nns; i++) {
        if (strcmp(a->ns[i], b->ns[i]) != 0) {
            return false;
        }
    }
    return true;
}

/*
 * spec: renameTable.  Moves the row (also across namespaces); metadata and
 * location are untouched.  Errors: 404 NoSuchTableException (source), 404
 * NoSuchNamespaceException (destination namespace), 409 when the
 * destination name is taken.
 */
bool cat_table_rename(struct cat_ctx *cx, const char *catalog,
                      const struct cat_ident *from,
                      const struct cat_ident *to, struct fl_err *err)
{
    struct cat_resolved src;
    struct cat_resolved dst;
    struct db_rows     *u;

    if (!resolve_table(cx, catalog, from, &src, err)) {
        return false;
    }
    if (cat_ident_equal(from, to)) {
        return true;
    }
    if (!cat_tbl_resolve_ns(cx, catalog, to, &dst, err)) {
        return false;
    }
    if (dst.table_id != NULL) {
        return cat_tbl_taken(cx, dst.ns_id, to, "table", from, dst.kind, err);
    }
    if (!db_exec(cx->conn, &TBL_RENAME,
                 DB_ARGS(src.table_id, dst.ns_id, to->name,
                         cat_i64(cx->a, fl_now_ms())),
                 cx->a, &u, err)) {
        if (err->status == 409 &&
            strcmp(err->type, "AlreadyExistsException") == 0) {
            return cat_tbl_taken(cx, dst.ns_id, to, "table", from, NULL, err);
        }
        if (err->status == 409) {
            fl_err_clear(err);
            return FL_ERR(err, 404, "NoSuchNamespaceException",
                          "Namespace does not exist: %s",
                          cat_ns_render(cx->a, to->ns, to->nns));
        }
        return false;
    }
    if (u->affected == 0) {
        return cat_tbl_missing(cx, from, err);
    }
    return true;
}

/*
 * spec: unregisterTable.  Forget table `id` but keep every file; *out is
 * its last state (the response is {metadata-location, metadata}).  Later
 * commits through this catalog find no table.  Errors: 404
 * NoSuchTableException.
 */
bool cat_table_unregister(struct cat_ctx *cx, const char *catalog,
                          const struct cat_ident *id,
                          struct cat_table_state *out, struct fl_err *err)
{
    struct cat_resolved r;
    struct db_rows     *d;

    if (!resolve_table(cx, catalog, id, &r, err) ||
        !db_exec(cx->conn, &TBL_DELETE, DB_ARGS(r.table_id), cx->a, &d,
                 err)) {
        return false;
    }
    if (d->nrows == 0) {
        return cat_tbl_missing(cx, id, err);
    }
    cat_tbl_state(cx, strtoll(r.table_id, NULL, 10), r.version,
                  db_val(d, 0, 0), db_val(d, 0, 1), CAT_SNAPSHOTS_ALL, out);
    return true;
}
