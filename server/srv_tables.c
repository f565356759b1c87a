/*
 * srv_tables.c
 *
 * Handlers of the Iceberg REST catalog API for tables and transactions:
 * decode the request, call catalog/, render.  loadTable answers with the
 * bytes catalog/ serialized (and cached) and an ETag; If-None-Match gives
 * 304.  spec: listTables, createTable, registerTable, loadTable,
 * updateTable, dropTable, tableExists, renameTable, commitTransaction.
 */
#include "server/srv_int.h"

#include <string.h>
#include <strings.h>


static void ident(struct srv_req *req, struct cat_ident *id)
{
    id->ns = srv_req_ns(req, &id->nns);
    id->name = srv_req_param(req, "table");
}

/* Send a table or view state: its serialized body and its ETag. */
json_t *srv_send_state(struct srv_req *req, struct cat_table_state *st)
{
    req->raw = st->body;
    req->raw_len = st->len;
    if (st->etag[0] != '\0') {
        srv_req_header_add(req, "ETag", fl_strdup(req->a, st->etag));
    }
    return NULL;
}

/*
 * A ListTablesResponse (tables and views alike): {identifiers:
 * [{namespace, name}], next-page-token}.  Returns a new reference.
 */
json_t *srv_identifiers(const char *const *ns, int n,
                        const struct cat_table_page *page)
{
    json_t *ids = json_array();
    int     i;
    int     k;

    for (i = 0; i < page->n; i++) {
        json_t *lv = json_array();

        for (k = 0; k < n; k++) {
            json_array_append_new(lv, json_string(ns[k]));
        }
        json_array_append_new(ids, json_pack("{so ss}", "namespace", lv,
                                             "name", page->names[i]));
    }
    return json_pack("{so so}", "identifiers", ids, "next-page-token",
                     page->next_token ? json_string(page->next_token)
                                      : json_null());
}

/* listTables and listViews: one page of names of the path's namespace */
json_t *srv_list_names(struct srv_req *req,
                       bool (*list)(struct cat_ctx *, const char *,
                                    const char *const *, int, const char *,
                                    int, struct cat_table_page *,
                                    struct fl_err *),
                       struct fl_err *err)
{
    int                   n;
    const char *const    *ns = srv_req_ns(req, &n);
    const char           *token;
    int                   size;
    struct cat_table_page page;

    if (!srv_page_size(req, &size, err)) {
        return NULL;
    }
    token = srv_req_query(req, "pageToken", err);
    if (fl_err_isset(err) ||
        !list(&req->cx, srv_req_param(req, "prefix"), ns, n, token, size,
              &page, err)) {
        return NULL;
    }
    return srv_identifiers(ns, n, &page);
}

/* spec: listTables -> ListTablesResponse */
json_t *srv_h_table_list(struct srv_req *req, struct fl_err *err)
{
    return srv_list_names(req, cat_table_list, err);
}

/* spec: createTable -> LoadTableResult; stage-create persists nothing */
json_t *srv_h_table_create(struct srv_req *req, struct fl_err *err)
{
    json_t                *body = srv_req_body(req, err);
    struct cat_ident       id;
    struct cat_table_state st;
    json_t                *schema;
    const char            *loc;
    bool                   stage = false;

    if (body == NULL ||
        !fl_json_str(body, "name", true, &id.name, err) ||
        !fl_json_str(body, "location", false, &loc, err) ||
        !fl_json_obj(body, "schema", true, &schema, err) ||
        !fl_json_bool(body, "stage-create", false, &stage, err)) {
        return NULL;
    }
    id.ns = srv_req_ns(req, &id.nns);
    if (!cat_table_create(&req->cx, srv_req_param(req, "prefix"), &id, body,
                          stage, &st, err)) {
        return NULL;
    }
    return srv_send_state(req, &st);
}

/* spec: registerTable -> LoadTableResult pointing at the given file */
json_t *srv_h_table_register(struct srv_req *req, struct fl_err *err)
{
    json_t                *body = srv_req_body(req, err);
    struct cat_ident       id;
    struct cat_table_state st;
    const char            *loc;
    bool                   overwrite = false;

    if (body == NULL ||
        !fl_json_str(body, "name", true, &id.name, err) ||
        !fl_json_str(body, "metadata-location", true, &loc, err) ||
        !fl_json_bool(body, "overwrite", false, &overwrite, err)) {
        return NULL;
    }
    if (loc[0] == '\0') {
        FL_ERR(err, 400, "BadRequestException",
               "Invalid metadata file location: empty");
        return NULL;
    }
    id.ns = srv_req_ns(req, &id.nns);
    if (!cat_table_register(&req->cx, srv_req_param(req, "prefix"), &id, loc,
                            overwrite, &st, err)) {
        return NULL;
    }
    return srv_send_state(req, &st);
}

/*
 * spec: loadTable.  `snapshots` is all (default) or refs; If-None-Match
 * equal to the current ETag gives 304 without a body.
 */
json_t *srv_h_table_load(struct srv_req *req, struct fl_err *err)
{
    const char            *mode = srv_req_query(req, "snapshots", err);
    enum cat_snapshots     m = CAT_SNAPSHOTS_ALL;
    struct cat_ident       id;
    struct cat_table_state st;

    if (fl_err_isset(err)) {
        return NULL;
    }
    if (mode != NULL && strcasecmp(mode, "refs") == 0) {
        m = CAT_SNAPSHOTS_REFS;
    } else if (mode != NULL && strcasecmp(mode, "all") != 0) {
        FL_ERR(err, 400, "BadRequestException",
               "Invalid snapshots mode: %s (expected all or refs)", mode);
        return NULL;
    }
    ident(req, &id);
    if (!cat_table_load(&req->cx, srv_req_param(req, "prefix"), &id, m,
                        srv_req_header(req, "If-None-Match"), &st, err)) {
        return NULL;
    }
    if (st.not_modified) {
        req->status = 304;
        srv_req_header_add(req, "ETag", fl_strdup(req->a, st.etag));
        return NULL;
    }
    return srv_send_state(req, &st);
}

/* Decode {requirements, updates}: arrays, null or absent (= empty). */
static bool changes(json_t *body, json_t **reqs, json_t **updates,
                    struct fl_err *err)
{
    return fl_json_arr(body, "requirements", false, reqs, err) &&
           fl_json_arr(body, "updates", false, updates, err);
}

/* spec: updateTable -> CommitTableResponse {metadata-location, metadata} */
json_t *srv_h_table_commit(struct srv_req *req, struct fl_err *err)
{
    static const char      tail[] = ",\"config\":{}}";
    json_t                *body = srv_req_body(req, err);
    json_t                *reqs;
    json_t                *updates;
    struct cat_ident       id;
    struct cat_table_state st;
    struct cat_ident       given;
    json_t                *idv;
    size_t                 n = sizeof(tail) - 1;

    if (body == NULL || !changes(body, &reqs, &updates, err)) {
        return NULL;
    }
    ident(req, &id);
    idv = json_object_get(body, "identifier");
    if (idv != NULL && !json_is_null(idv) &&
        !srv_table_ident(req, idv, "identifier", &given, err)) {
        return NULL;
    }
    if (!cat_table_commit(&req->cx, srv_req_param(req, "prefix"), &id, reqs,
                          updates, &st, err)) {
        return NULL;
    }
    /* every daemon enqueues, whether it runs workers or not */
    mnt_after_commit(&req->cx, st.id);
    /* the commit response is the load result without `config` */
    fl_assert(st.len > n && memcmp(st.body + st.len - n, tail, n) == 0);
    st.body = fl_sprintf(req->a, "%.*s}", (int)(st.len - n), st.body);
    st.len = strlen(st.body);
    return srv_send_state(req, &st);
}

/* spec: dropTable -> 204; purgeRequested=true deletes the table's files */
json_t *srv_h_table_drop(struct srv_req *req, struct fl_err *err)
{
    const char      *purge = srv_req_query(req, "purgeRequested", err);
    struct cat_ident id;

    if (fl_err_isset(err)) {
        return NULL;
    }
    if (purge != NULL && strcasecmp(purge, "true") != 0 &&
        strcasecmp(purge, "false") != 0) {
        FL_ERR(err, 400, "BadRequestException",
               "Invalid purgeRequested: %s (expected true or false)", purge);
        return NULL;
    }
    ident(req, &id);
    if (cat_table_drop(&req->cx, srv_req_param(req, "prefix"), &id,
                       purge != NULL && strcasecmp(purge, "true") == 0,
                       err)) {
        req->status = 204;
    }
    return NULL;
}

/* spec: tableExists -> 204 / 404 */
json_t *srv_h_table_exists(struct srv_req *req, struct fl_err *err)
{
    struct cat_ident id;

    ident(req, &id);
    if (cat_table_exists(&req->cx, srv_req_param(req, "prefix"), &id, err)) {
        req->status = 204;
    }
    return NULL;
}

/* Decode a TableIdentifier {namespace: [..], name}. */
bool srv_table_ident(struct srv_req *req, json_t *v, const char *what,
                     struct cat_ident *id, struct fl_err *err)
{
    json_t *ns;

    if (!json_is_object(v)) {
        return FL_ERR(err, 400, "BadRequestException",
                      "field \"%s\" must be a table identifier", what);
    }
    if (!fl_json_arr(v, "namespace", true, &ns, err) ||
        !fl_json_str(v, "name", true, &id->name, err)) {
        return false;
    }
    id->ns = srv_strings(req, ns, &id->nns, "namespace", err);
    return id->ns != NULL;
}

/* spec: renameTable -> 204 */
json_t *srv_h_table_rename(struct srv_req *req, struct fl_err *err)
{
    json_t          *body = srv_req_body(req, err);
    struct cat_ident from;
    struct cat_ident to;

    if (body == NULL ||
        !srv_table_ident(req, json_object_get(body, "source"), "source", &from,
                     err) ||
        !srv_table_ident(req, json_object_get(body, "destination"),
                     "destination", &to, err)) {
        return NULL;
    }
    if (cat_table_rename(&req->cx, srv_req_param(req, "prefix"), &from, &to,
                         err)) {
        req->status = 204;
    }
    return NULL;
}

/* spec: commitTransaction -> 204; all table changes or none */
json_t *srv_h_transaction(struct srv_req *req, struct fl_err *err)
{
    json_t            *body = srv_req_body(req, err);
    json_t            *list;
    json_t            *v;
    struct cat_change *c;
    size_t             i;

    if (body == NULL || !fl_json_arr(body, "table-changes", true, &list, err)) {
        return NULL;
    }
    c = fl_alloc(req->a, sizeof(*c) * (json_array_size(list) + 1));
    json_array_foreach(list, i, v) {
        json_t *idv = json_object_get(v, "identifier");

        if (!json_is_object(v)) {
            FL_ERR(err, 400, "BadRequestException",
                   "Invalid table changes: every entry must be an object");
            return NULL;
        }
        if (idv == NULL || json_is_null(idv)) {
            FL_ERR(err, 400, "BadRequestException",
                   "Invalid table changes: table identifier is required");
            return NULL;
        }
        if (!srv_table_ident(req, idv, "identifier", &c[i].id, err) ||
            !changes(v, &c[i].requirements, &c[i].updates, err)) {
            return NULL;
        }
    }
    if (!cat_tables_commit(&req->cx, srv_req_param(req, "prefix"), c,
                           (int)json_array_size(list), err)) {
        return NULL;
    }
    req->status = 204;
    for (i = 0; i < json_array_size(list); i++) {
        mnt_after_commit(&req->cx, c[i].table_id);
    }
    return NULL;
}

/* spec: unregisterTable -> {metadata-location, metadata}; files are kept */
json_t *srv_h_table_unregister(struct srv_req *req, struct fl_err *err)
{
    struct cat_ident       id;
    struct cat_table_state st;
    json_t                *meta;

    ident(req, &id);
    if (!cat_table_unregister(&req->cx, srv_req_param(req, "prefix"), &id,
                              &st, err)) {
        return NULL;
    }
    meta = json_loadb(st.body, st.len, 0, NULL);
    fl_assert(meta != NULL);
    json_object_del(meta, "config");
    return meta;
}

/* spec: reportMetrics -> 204; the report is validated and stored */
json_t *srv_h_table_metrics(struct srv_req *req, struct fl_err *err)
{
    json_t          *body = srv_req_body(req, err);
    struct cat_ident id;

    if (body == NULL) {
        return NULL;
    }
    ident(req, &id);
    if (cat_metrics_report(&req->cx, srv_req_param(req, "prefix"), &id, body,
                           err)) {
        req->status = 204;
    }
    return NULL;
}
