/*
 * srv_catalogs.c
 *
 * Handlers of the Polaris management API for catalogs
 * (/api/management/v1/catalogs): decode the request, call catalog/, render
 * the Catalog object.  spec: polaris-management-service.yaml, createCatalog,
 * listCatalogs, getCatalog, updateCatalog, deleteCatalog.
 */
#include "server/srv_int.h"

#include <string.h>

/* spec: listCatalogs -> 200 {"catalogs": [Catalog]} */
json_t *srv_h_catalog_list(struct srv_req *req, struct fl_err *err)
{
    struct cat_catalog *list;
    int                 n;
    int                 i;
    json_t             *arr;

    struct acc_target t;
    int               priv = ACC_CATALOG_LIST;
    bool              all, sees;

    /* with CATALOG_LIST every catalog; else those the caller holds a
     * catalog role in */
    memset(&t, 0, sizeof(t));
    t.rooted = true;
    if (!acc_check(&req->cx, &req->who, &t, &priv, 1, &all, NULL, err) ||
        !cat_catalog_list(&req->cx, &list, &n, err)) {
        return NULL;
    }
    arr = json_array();
    for (i = 0; i < n; i++) {
        if (!all && (!acc_sees_catalog(&req->cx, &req->who, list[i].id,
                                       &sees, err) || !sees)) {
            if (fl_err_isset(err)) {
                json_decref(arr);
                return NULL;
            }
            continue;
        }
        json_array_append_new(arr, cat_catalog_to_json(&list[i]));
    }
    return json_pack("{so}", "catalogs", arr);
}

/*
 * spec: createCatalog -> 201 Catalog.  The body is {"catalog": Catalog};
 * a bare Catalog is accepted too, as Polaris does.
 */
json_t *srv_h_catalog_create(struct srv_req *req, struct fl_err *err)
{
    json_t            *body = srv_req_body(req, err);
    json_t            *v;
    struct cat_catalog c;

    if (body == NULL) {
        return NULL;
    }
    v = json_object_get(body, "catalog");
    if (v == NULL) {
        v = body;
    }
    /* the catalog and its catalog_admin role, granted to service_admin,
     * in one transaction (Polaris's createCatalog) */
    if (!cat_catalog_from_json(&req->cx, v, &c, err) ||
        cat_conn(&req->cx, err) == NULL || !db_begin(req->cx.conn, err)) {
        return NULL;
    }
    if (!cat_catalog_create(&req->cx, &c, err) ||
        !acc_catalog_created(&req->cx, c.id, false, err) ||
        !db_commit(req->cx.conn, err)) {
        if (db_in_transaction(req->cx.conn)) {
            db_rollback(req->cx.conn);
        }
        return NULL;
    }
    req->status = 201;
    return cat_catalog_to_json(&c);
}

/* spec: getCatalog -> 200 Catalog, 404 */
json_t *srv_h_catalog_get(struct srv_req *req, struct fl_err *err)
{
    struct cat_catalog c;

    if (!cat_catalog_get(&req->cx, srv_req_param(req, "catalogName"), &c,
                         err)) {
        return NULL;
    }
    return cat_catalog_to_json(&c);
}

/*
 * spec: updateCatalog -> 200 Catalog; 409 when currentEntityVersion is
 * stale.  currentEntityVersion is required (Polaris fails without it).
 */
json_t *srv_h_catalog_update(struct srv_req *req, struct fl_err *err)
{
    json_t                   *body = srv_req_body(req, err);
    struct cat_catalog_update u = {0, NULL, NULL};
    struct cat_catalog        c;

    if (body == NULL ||
        !fl_json_int(body, "currentEntityVersion", true, &u.version, err) ||
        !fl_json_obj(body, "properties", false, &u.properties, err) ||
        !fl_json_obj(body, "storageConfigInfo", false, &u.storage, err) ||
        !cat_catalog_update(&req->cx, srv_req_param(req, "catalogName"), &u,
                            &c, err)) {
        return NULL;
    }
    return cat_catalog_to_json(&c);
}

/* spec: deleteCatalog -> 204; 404; 400 when the catalog is not empty */
json_t *srv_h_catalog_delete(struct srv_req *req, struct fl_err *err)
{
    if (cat_catalog_delete(&req->cx, srv_req_param(req, "catalogName"),
                           err)) {
        req->status = 204;
    }
    return NULL;
}
