/*
 * cat_views.c
 *
 * Views as catalog entities: listing, create, load, existence, replace
 * (through the same commit engine as tables, cat_entity_commit), drop,
 * rename and register.  Views live in the tables relation with kind
 * 'view', so tables and views share one name space per namespace and every
 * name clash is caught by the same unique constraint.  View metadata
 * semantics are in cat_view.c; messages follow the reference
 * (notes/ICEBERG.md 3.7).
 */
#include "catalog/cat_table_int.h"
#include "storage/storage.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

DB_STMT(VIEW_ROW,
    "SELECT version, metadata_location, metadata, kind FROM tables"
    " WHERE id = $1");
DB_STMT(VIEW_DELETE,
    "DELETE FROM tables WHERE id = $1 AND kind = 'view'"
    " RETURNING metadata_location, metadata");
DB_STMT(VIEW_RENAME,
    "UPDATE tables SET namespace_id = $2, name = $3, updated_ms = $4"
    " WHERE id = $1 AND kind = 'view'");
DB_STMT(VIEW_LIST,
    "SELECT name FROM tables WHERE namespace_id = $1 AND kind = 'view'"
    " AND name > $2 ORDER BY name LIMIT $3");

/* 404 NoSuchViewException "View does not exist: ns.v" (notes 5.3). */
bool cat_view_missing(struct cat_ctx *cx, const struct cat_ident *id,
                      struct fl_err *err)
{
    return FL_ERR(err, 404, "NoSuchViewException",
                  "View does not exist: %s", cat_ident_render(cx->a, id));
}

static bool resolve_view(struct cat_ctx *cx, const char *catalog,
                         const struct cat_ident *id, struct cat_resolved *r,
                         struct fl_err *err)
{
    return cat_tbl_resolve_kind(cx, catalog, id, "view", r, err);
}

/*
 * spec: listViews.  View names of namespace `ns`, in name order, one page.
 * Errors: 404 NoSuchNamespaceException, 400 for a foreign page token.
 */
bool cat_view_list(struct cat_ctx *cx, const char *catalog,
                   const char *const *ns, int nns, const char *page_token,
                   int page_size, struct cat_table_page *out,
                   struct fl_err *err)
{
    struct cat_ns n;

    if (!cat_ns_get(cx, catalog, ns, nns, &n, err)) {
        return false;
    }
    return cat_name_page(cx, &VIEW_LIST,
                         fl_sprintf(cx->a, "views:%lld", (long long)n.id),
                         n.id, NULL, page_token, page_size, out, err);
}

/*
 * spec: createView.  Build the view metadata (cat_view_create), write file
 * 00000 and insert the row.  Errors: 404 NoSuchNamespaceException, 409
 * AlreadyExistsException (a view or a table has the name), 400.
 */
bool cat_view_create_entity(struct cat_ctx *cx, const char *catalog,
                            const struct cat_ident *id, json_t *req,
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
        return cat_tbl_taken(cx, r.ns_id, id, "view", NULL, r.kind, err);
    }
    loc = json_string_value(json_object_get(req, "location"));
    if (loc == NULL || loc[0] == '\0') {
        loc = cat_tbl_default_location(cx, &r, id->name);
    }
    if (!cat_tbl_location_check(r.storage, loc, err)) {
        return false;
    }
    meta = fl_arena_own_json(cx->a, cat_view_create(req, loc, fl_now_ms(),
                                                    err));
    if (meta == NULL || !cat_tbl_locations_check(r.storage, meta, err)) {
        return false;
    }
    text = cat_json_text(cx->a, meta);
    return cat_tbl_create_row(cx, &r, id, "view",
                              cat_view_file_next(cx->a, meta, NULL), meta,
                              text, out, err);
}

/*
 * spec: loadView.  The view's current state with an ETag; If-None-Match
 * equal to it gives out->not_modified.  Errors: 404 NoSuchViewException,
 * 404 NotFoundException for a missing metadata file.
 */
bool cat_view_load(struct cat_ctx *cx, const char *catalog,
                   const struct cat_ident *id, const char *if_none_match,
                   struct cat_table_state *out, struct fl_err *err)
{
    struct cat_resolved r;
    struct db_rows     *row;
    int64_t             vid;

    memset(out, 0, sizeof(*out));
    if (!resolve_view(cx, catalog, id, &r, err) ||
        !cat_tbl_file_present(r.location, err)) {
        return false;
    }
    vid = strtoll(r.table_id, NULL, 10);
    cat_etag(r.location, CAT_SNAPSHOTS_ALL, out->etag);
    out->id = vid;
    out->version = r.version;
    out->location = r.location;
    if (if_none_match != NULL && strcmp(if_none_match, out->etag) == 0) {
        out->not_modified = true;
        return true;
    }
    if (cat_cache_get(vid, r.version, CAT_SNAPSHOTS_ALL, cx->a, &out->body,
                      &out->len)) {
        return true;
    }
    if (!db_exec(cx->conn, &VIEW_ROW, DB_ARGS(r.table_id), cx->a, &row,
                 err)) {
        return false;
    }
    if (row->nrows == 0 || strcmp(db_val(row, 0, 3), "view") != 0) {
        return cat_view_missing(cx, id, err);
    }
    cat_tbl_state(cx, vid, strtoll(db_val(row, 0, 0), NULL, 10),
                  db_val(row, 0, 1), db_val(row, 0, 2), CAT_SNAPSHOTS_ALL,
                  out);
    cat_cache_put(vid, out->version, CAT_SNAPSHOTS_ALL, out->body, out->len);
    return true;
}

/* spec: viewExists.  Errors: 404 NoSuchViewException. */
bool cat_view_exists(struct cat_ctx *cx, const char *catalog,
                     const struct cat_ident *id, struct fl_err *err)
{
    struct cat_resolved r;

    return resolve_view(cx, catalog, id, &r, err);
}

/* spec: replaceView, through the shared commit engine. */
bool cat_view_commit(struct cat_ctx *cx, const char *catalog,
                     const struct cat_ident *id, json_t *requirements,
                     json_t *updates, struct cat_table_state *out,
                     struct fl_err *err)
{
    return cat_entity_commit(cx, catalog, id, &cat_kind_view, requirements,
                             updates, out, err);
}

static void unwrite(void *file)
{
    cat_tbl_unwrite(file);
}

/*
 * spec: dropView.  Removes the row and, when gc.enabled (default true),
 * the current metadata file, as the reference does.  Errors: 404
 * NoSuchViewException.
 */
bool cat_view_drop(struct cat_ctx *cx, const char *catalog,
                   const struct cat_ident *id, struct fl_err *err)
{
    struct cat_resolved r;
    struct db_rows     *d;
    json_t             *meta;
    const char         *gc;

    if (!resolve_view(cx, catalog, id, &r, err) ||
        !db_exec(cx->conn, &VIEW_DELETE, DB_ARGS(r.table_id), cx->a, &d,
                 err)) {
        return false;
    }
    if (d->nrows == 0) {
        return cat_view_missing(cx, id, err);
    }
    meta = cat_json_parse(cx->a, db_val(d, 0, 1));
    gc = json_string_value(json_object_get(json_object_get(meta,
                                                           "properties"),
                                           "gc.enabled"));
    if (gc == NULL || strcasecmp(gc, "false") != 0) {
        db_on_commit(cx->conn, cx->a, unwrite,
                     (void *)(uintptr_t)db_val(d, 0, 0));
    }
    return true;
}

/*
 * spec: renameView.  The reference's order of checks: same name is a
 * no-op; destination namespace missing 404; source view missing 404; a
 * table or a view at the destination 409.
 */
bool cat_view_rename(struct cat_ctx *cx, const char *catalog,
                     const struct cat_ident *from,
                     const struct cat_ident *to, struct fl_err *err)
{
    struct cat_resolved src;
    struct cat_resolved dst;
    struct db_rows     *u;

    if (cat_ident_equal(from, to)) {
        return true;
    }
    if (!cat_tbl_resolve_ns(cx, catalog, to, &dst, err) ||
        !resolve_view(cx, catalog, from, &src, err)) {
        return false;
    }
    if (dst.table_id != NULL) {
        return cat_tbl_taken(cx, dst.ns_id, to, "view", from, dst.kind, err);
    }
    if (!db_exec(cx->conn, &VIEW_RENAME,
                 DB_ARGS(src.table_id, dst.ns_id, to->name,
                         cat_i64(cx->a, fl_now_ms())),
                 cx->a, &u, err)) {
        if (err->status == 409) {
            fl_err_clear(err);
            return cat_tbl_taken(cx, dst.ns_id, to, "view", from, NULL, err);
        }
        return false;
    }
    if (u->affected == 0) {
        return cat_view_missing(cx, from, err);
    }
    return true;
}

/*
 * spec: registerView.  A new view pointing at an existing view metadata
 * file, that exact location kept as the pointer.  Errors: 404
 * NoSuchNamespaceException, 409 when the name is taken, 400/404 for a
 * missing or invalid file or one outside the catalog.
 */
bool cat_view_register(struct cat_ctx *cx, const char *catalog,
                       const struct cat_ident *id, const char *location,
                       struct cat_table_state *out, struct fl_err *err)
{
    struct cat_resolved r;
    json_t             *meta;
    const char         *text;
    int64_t             row;

    if (!cat_tbl_resolve_ns(cx, catalog, id, &r, err)) {
        return false;
    }
    if (r.table_id != NULL) {
        return cat_tbl_taken(cx, r.ns_id, id, "view", NULL, r.kind, err);
    }
    if (!cat_tbl_location_check(r.storage, location, err) ||
        (meta = cat_read_metadata(cx, location, &text, err)) == NULL ||
        !cat_view_validate(meta, err) ||
        !cat_tbl_locations_check(r.storage, meta, err) ||
        !cat_tbl_insert(cx, &r, id, "view", location, meta, text, &row, err)) {
        return false;
    }
    cat_tbl_state(cx, row, 1, location, text, CAT_SNAPSHOTS_ALL, out);
    return true;
}
