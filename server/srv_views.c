/*
 * srv_views.c
 *
 * Handlers of the Iceberg REST catalog API for views: decode the request,
 * call catalog/, render.  loadView answers with an ETag; If-None-Match
 * gives 304.  spec: listViews, createView, registerView, loadView,
 * replaceView, dropView, viewExists, renameView.
 */
#include "server/srv_int.h"

#include <string.h>

static void ident(struct srv_req *req, struct cat_ident *id)
{
    id->ns = srv_req_ns(req, &id->nns);
    id->name = srv_req_param(req, "view");
}

/* spec: listViews -> ListTablesResponse */
json_t *srv_h_view_list(struct srv_req *req, struct fl_err *err)
{
    return srv_list_names(req, cat_view_list, err);
}

/* spec: createView -> LoadViewResult */
json_t *srv_h_view_create(struct srv_req *req, struct fl_err *err)
{
    json_t                *body = srv_req_body(req, err);
    struct cat_ident       id;
    struct cat_table_state st;
    const char            *loc;

    if (body == NULL ||
        !fl_json_str(body, "name", true, &id.name, err) ||
        !fl_json_str(body, "location", false, &loc, err)) {
        return NULL;
    }
    id.ns = srv_req_ns(req, &id.nns);
    if (!cat_view_create_entity(&req->cx, srv_req_param(req, "prefix"), &id,
                                body, &st, err)) {
        return NULL;
    }
    return srv_send_state(req, &st);
}

/* spec: registerView -> LoadViewResult pointing at the given file */
json_t *srv_h_view_register(struct srv_req *req, struct fl_err *err)
{
    json_t                *body = srv_req_body(req, err);
    struct cat_ident       id;
    struct cat_table_state st;
    const char            *loc;

    if (body == NULL ||
        !fl_json_str(body, "name", true, &id.name, err) ||
        !fl_json_str(body, "metadata-location", true, &loc, err)) {
        return NULL;
    }
    if (loc[0] == '\0') {
        FL_ERR(err, 400, "BadRequestException",
               "Invalid metadata file location: empty");
        return NULL;
    }
    id.ns = srv_req_ns(req, &id.nns);
    if (!cat_view_register(&req->cx, srv_req_param(req, "prefix"), &id, loc,
                           &st, err)) {
        return NULL;
    }
    return srv_send_state(req, &st);
}

/* spec: loadView -> LoadViewResult, ETag; 304 on a matching If-None-Match */
json_t *srv_h_view_load(struct srv_req *req, struct fl_err *err)
{
    struct cat_ident       id;
    struct cat_table_state st;

    ident(req, &id);
    if (!cat_view_load(&req->cx, srv_req_param(req, "prefix"), &id,
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

/* spec: replaceView -> LoadViewResult */
json_t *srv_h_view_replace(struct srv_req *req, struct fl_err *err)
{
    json_t                *body = srv_req_body(req, err);
    json_t                *reqs;
    json_t                *updates;
    json_t                *idv;
    struct cat_ident       id;
    struct cat_ident       given;
    struct cat_table_state st;

    if (body == NULL ||
        !fl_json_arr(body, "requirements", false, &reqs, err) ||
        !fl_json_arr(body, "updates", true, &updates, err)) {
        return NULL;
    }
    idv = json_object_get(body, "identifier");
    if (idv != NULL && !json_is_null(idv) &&
        !srv_table_ident(req, idv, "identifier", &given, err)) {
        return NULL;
    }
    ident(req, &id);
    if (!cat_view_commit(&req->cx, srv_req_param(req, "prefix"), &id, reqs,
                         updates, &st, err)) {
        return NULL;
    }
    return srv_send_state(req, &st);
}

/* spec: dropView -> 204 */
json_t *srv_h_view_drop(struct srv_req *req, struct fl_err *err)
{
    struct cat_ident id;

    ident(req, &id);
    if (cat_view_drop(&req->cx, srv_req_param(req, "prefix"), &id, err)) {
        req->status = 204;
    }
    return NULL;
}

/* spec: viewExists -> 204 / 404 */
json_t *srv_h_view_exists(struct srv_req *req, struct fl_err *err)
{
    struct cat_ident id;

    ident(req, &id);
    if (cat_view_exists(&req->cx, srv_req_param(req, "prefix"), &id, err)) {
        req->status = 204;
    }
    return NULL;
}

/* spec: renameView -> 204 */
json_t *srv_h_view_rename(struct srv_req *req, struct fl_err *err)
{
    json_t          *body = srv_req_body(req, err);
    struct cat_ident from;
    struct cat_ident to;

    if (body == NULL ||
        !srv_table_ident(req, json_object_get(body, "source"), "source",
                         &from, err) ||
        !srv_table_ident(req, json_object_get(body, "destination"),
                         "destination", &to, err)) {
        return NULL;
    }
    if (cat_view_rename(&req->cx, srv_req_param(req, "prefix"), &from, &to,
                        err)) {
        req->status = 204;
    }
    return NULL;
}
