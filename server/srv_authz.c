/*
 * srv_authz.c
 *
 * One authorizer per served operation: the privilege Polaris requires for
 * it (notes/POLARIS.md c, RbacOperationSemantics) on the object the request
 * names, inherited from its namespaces and catalog.  Runs after
 * authentication and before the handler.  A target that does not exist is
 * checked on the part of its path that does (a grant there would cover
 * it), and the handler then answers its own 404; a missing catalog is the
 * handler's 404 too, except where the check must see the catalog.
 */
#include "server/srv_int.h"

#include <string.h>

#define N(a) ((int)FL_ARRAY_LEN(a))

static const char *prefix(struct srv_req *req)
{
    return srv_req_param(req, "prefix");
}

bool srv_az_require(struct srv_req *req, const struct acc_target *t,
                    const int *privs, int n, struct acc_resolved *r,
                    struct fl_err *err)
{
    struct acc_resolved local;
    bool                allowed;
    int                 i;

    if (r == NULL) {
        r = &local;
    }
    if (!acc_check(&req->cx, &req->who, t, privs, n, &allowed, r, err)) {
        return false;
    }
    /* an unknown catalog is the handler's 404, as Polaris resolves the
     * path before it authorizes */
    if (allowed || (t->catalog != NULL && r->catalog_id == 0)) {
        return true;
    }
    /* name the first privilege missing */
    for (i = 0; i < n - 1; i++) {
        if (!acc_check(&req->cx, &req->who, t, &privs[i], 1, &allowed, NULL,
                       err)) {
            return false;
        }
        if (!allowed) {
            break;
        }
    }
    return acc_denied(err, &req->who, req->m.route->op, privs[i]);
}

bool srv_az_table_scope(struct srv_req *req, const char *catalog,
                        const char *const *ns, int nns, const char *table,
                        int priv, struct fl_err *err)
{
    struct acc_target t;

    memset(&t, 0, sizeof(t));
    t.catalog = catalog;
    t.rooted = true;
    if (nns > 0) {
        t.ns = ns;
        t.nns = nns;
    }
    if (nns > 0 && table != NULL) {
        t.leaf = table;
        t.leaf_type = ACC_TABLE_LIKE;
        t.leaf_kind = "table";
    }
    return srv_az_require(req, &t, &priv, 1, NULL, err);
}

/* one privilege on a catalog-rooted target */
static bool need(struct srv_req *req, struct acc_target *t, int priv,
                 struct fl_err *err)
{
    return srv_az_require(req, t, &priv, 1, NULL, err);
}

static void target_ns(struct srv_req *req, struct acc_target *t)
{
    memset(t, 0, sizeof(*t));
    t->catalog = prefix(req);
    t->ns = srv_req_ns(req, &t->nns);
    t->rooted = true;
}

static void target_obj(struct srv_req *req, struct acc_target *t,
                       const char *param, const char *kind)
{
    target_ns(req, t);
    t->leaf = srv_req_param(req, param);
    t->leaf_type = ACC_TABLE_LIKE;
    t->leaf_kind = kind;
}

/* A table/view identifier {namespace:[..], name} from a request body. */
static bool target_ident(struct srv_req *req, json_t *v, const char *what,
                         const char *kind, struct acc_target *t,
                         struct fl_err *err)
{
    struct cat_ident id;

    if (!srv_table_ident(req, v, what, &id, err)) {
        return false;
    }
    memset(t, 0, sizeof(*t));
    t->catalog = prefix(req);
    t->ns = id.ns;
    t->nns = id.nns;
    t->leaf = id.name;
    t->leaf_type = ACC_TABLE_LIKE;
    t->leaf_kind = kind;
    t->rooted = true;
    return true;
}

bool srv_az_authenticated(struct srv_req *req, struct fl_err *err)
{
    (void)req;
    (void)err;
    return true;
}

/*
 * getConfig: a caller who holds nothing in the catalog may not learn it
 * exists: 404 as for an unknown warehouse.
 */
bool srv_az_config(struct srv_req *req, struct fl_err *err)
{
    struct acc_target   t;
    struct acc_resolved r;
    const char         *wh = srv_req_query(req, "warehouse", err);
    bool                sees;
    int                 priv = ACC_CATALOG_READ_PROPERTIES;
    bool                allowed;

    if (wh == NULL) {
        return !fl_err_isset(err);      /* the handler answers 400 */
    }
    memset(&t, 0, sizeof(t));
    t.catalog = wh;
    t.rooted = true;
    if (!acc_check(&req->cx, &req->who, &t, &priv, 1, &allowed, &r, err)) {
        return false;
    }
    if (r.catalog_id == 0 || allowed) {
        return true;
    }
    if (!acc_sees_catalog(&req->cx, &req->who, r.catalog_id, &sees, err)) {
        return false;
    }
    return sees || FL_ERR(err, 404, "NotFoundException",
                          "Unable to find warehouse %s", wh);
}

/* ------------------------------------------------------------ namespaces */

SRV_AZ(listNamespaces)
{
    struct acc_target t;
    const char       *parent = srv_req_query(req, "parent", err);

    if (fl_err_isset(err)) {
        return false;
    }
    memset(&t, 0, sizeof(t));
    t.catalog = prefix(req);
    t.rooted = true;
    if (parent != NULL && parent[0] != '\0') {
        t.ns = srv_parent_levels(req, parent, &t.nns);
    }
    return need(req, &t, ACC_NAMESPACE_LIST, err);
}

SRV_AZ(createNamespace)
{
    struct acc_target t;
    json_t           *body = srv_req_body(req, err);
    const char      **levels;
    int               n;

    if (body == NULL) {
        return false;
    }
    levels = srv_strings(req, json_object_get(body, "namespace"), &n,
                         "namespace", err);
    if (levels == NULL) {
        fl_err_clear(err);              /* the handler says what is wrong */
        n = 1;
    }
    memset(&t, 0, sizeof(t));
    t.catalog = prefix(req);
    t.ns = levels;
    t.nns = n - 1;
    t.rooted = true;
    return need(req, &t, ACC_NAMESPACE_CREATE, err);
}

#define NS_AZ(op, priv)                                             \
    SRV_AZ(op)                                                      \
    {                                                               \
        struct acc_target t;                                        \
        target_ns(req, &t);                                         \
        return need(req, &t, priv, err);                            \
    }

NS_AZ(loadNamespaceMetadata, ACC_NAMESPACE_READ_PROPERTIES)
NS_AZ(namespaceExists, ACC_NAMESPACE_LIST)
NS_AZ(dropNamespace, ACC_NAMESPACE_DROP)
NS_AZ(updateProperties, ACC_NAMESPACE_WRITE_PROPERTIES)
NS_AZ(listTables, ACC_TABLE_LIST)
NS_AZ(createTable, ACC_TABLE_CREATE)
NS_AZ(listViews, ACC_VIEW_LIST)
NS_AZ(createView, ACC_VIEW_CREATE)
NS_AZ(registerView, ACC_VIEW_CREATE)

/* ---------------------------------------------------------------- tables */

#define OBJ_AZ(op, param, kind, priv)                               \
    SRV_AZ(op)                                                      \
    {                                                               \
        struct acc_target t;                                        \
        target_obj(req, &t, param, kind);                           \
        return need(req, &t, priv, err);                            \
    }

OBJ_AZ(loadTable, "table", "table", ACC_TABLE_READ_PROPERTIES)
OBJ_AZ(tableExists, "table", "table", ACC_TABLE_LIST)
OBJ_AZ(unregisterTable, "table", "table", ACC_TABLE_DROP)
OBJ_AZ(loadView, "view", "view", ACC_VIEW_READ_PROPERTIES)
OBJ_AZ(viewExists, "view", "view", ACC_VIEW_LIST)
OBJ_AZ(replaceView, "view", "view", ACC_VIEW_WRITE_PROPERTIES)
OBJ_AZ(dropView, "view", "view", ACC_VIEW_DROP)

/* registerTable: TABLE_CREATE; overwrite needs TABLE_FULL_METADATA */
SRV_AZ(registerTable)
{
    struct acc_target t;
    json_t           *body = srv_req_body(req, err);
    int               privs[2] = {ACC_TABLE_CREATE, ACC_TABLE_FULL_METADATA};

    if (body == NULL) {
        return false;
    }
    target_ns(req, &t);
    return srv_az_require(req, &t, privs,
                          json_is_true(json_object_get(body, "overwrite"))
                              ? 2 : 1,
                          NULL, err);
}

/* dropTable: TABLE_DROP, and TABLE_WRITE_DATA to purge */
SRV_AZ(dropTable)
{
    struct acc_target t;
    const char       *purge = srv_req_query(req, "purgeRequested", err);
    int               privs[2] = {ACC_TABLE_DROP, ACC_TABLE_WRITE_DATA};

    if (fl_err_isset(err)) {
        return false;
    }
    target_obj(req, &t, "table", "table");
    return srv_az_require(req, &t, privs,
                          purge != NULL && strcmp(purge, "true") == 0 ? 2 : 1,
                          NULL, err);
}

/* reportMetrics: TABLE_READ_DATA for scan reports, WRITE_DATA for commits */
SRV_AZ(reportMetrics)
{
    struct acc_target t;
    json_t           *body = srv_req_body(req, err);
    const char       *type;

    if (body == NULL) {
        return false;
    }
    type = json_string_value(json_object_get(body, "report-type"));
    target_obj(req, &t, "table", "table");
    return need(req, &t,
                type != NULL && strcmp(type, "commit-report") == 0
                    ? ACC_TABLE_WRITE_DATA : ACC_TABLE_READ_DATA,
                err);
}

static const struct {
    const char *action;
    int         priv;
} update_privs[] = {
    {"assign-uuid", ACC_TABLE_ASSIGN_UUID},
    {"upgrade-format-version", ACC_TABLE_UPGRADE_FORMAT_VERSION},
    {"add-schema", ACC_TABLE_ADD_SCHEMA},
    {"set-current-schema", ACC_TABLE_SET_CURRENT_SCHEMA},
    {"add-spec", ACC_TABLE_ADD_PARTITION_SPEC},
    {"add-sort-order", ACC_TABLE_ADD_SORT_ORDER},
    {"set-default-sort-order", ACC_TABLE_SET_DEFAULT_SORT_ORDER},
    {"add-snapshot", ACC_TABLE_ADD_SNAPSHOT},
    {"set-snapshot-ref", ACC_TABLE_SET_SNAPSHOT_REF},
    {"remove-snapshots", ACC_TABLE_REMOVE_SNAPSHOTS},
    {"remove-snapshot-ref", ACC_TABLE_REMOVE_SNAPSHOT_REF},
    {"set-location", ACC_TABLE_SET_LOCATION},
    {"set-properties", ACC_TABLE_SET_PROPERTIES},
    {"remove-properties", ACC_TABLE_REMOVE_PROPERTIES},
    {"set-statistics", ACC_TABLE_SET_STATISTICS},
    {"remove-statistics", ACC_TABLE_REMOVE_STATISTICS},
    {"remove-partition-specs", ACC_TABLE_REMOVE_PARTITION_SPECS},
};

/* The fine-grained privileges of `updates`, deduplicated; an unknown
 * action or no updates at all needs TABLE_WRITE_PROPERTIES. */
static int update_privileges(json_t *updates, int *out, int max)
{
    json_t     *u;
    size_t      i, k;
    int         n = 0, p, j;
    const char *action;

    json_array_foreach(updates, i, u) {
        action = json_string_value(json_object_get(u, "action"));
        p = ACC_TABLE_WRITE_PROPERTIES;
        for (k = 0; action != NULL && k < FL_ARRAY_LEN(update_privs); k++) {
            if (strcmp(action, update_privs[k].action) == 0) {
                p = update_privs[k].priv;
                break;
            }
        }
        for (j = 0; j < n && out[j] != p; j++) {
        }
        if (j == n && n < max) {
            out[n++] = p;
        }
    }
    if (n == 0) {
        out[n++] = ACC_TABLE_WRITE_PROPERTIES;
    }
    return n;
}

static bool is_create(json_t *reqs)
{
    json_t *r;
    size_t  i;

    json_array_foreach(reqs, i, r) {
        const char *t = json_string_value(json_object_get(r, "type"));

        if (t != NULL && strcmp(t, "assert-create") == 0) {
            return true;
        }
    }
    return false;
}

/* One table change: TABLE_CREATE on the namespace for the commit that
 * completes a staged create, else the fine-grained update privileges. */
static bool change_ok(struct srv_req *req, struct acc_target *t,
                      json_t *change, struct fl_err *err)
{
    int privs[FL_ARRAY_LEN(update_privs) + 1];
    int n;

    if (is_create(json_object_get(change, "requirements"))) {
        t->leaf = NULL;
        return need(req, t, ACC_TABLE_CREATE, err);
    }
    n = update_privileges(json_object_get(change, "updates"), privs,
                          N(privs));
    return srv_az_require(req, t, privs, n, NULL, err);
}

SRV_AZ(updateTable)
{
    struct acc_target t;
    json_t           *body = srv_req_body(req, err);

    if (body == NULL) {
        return false;
    }
    target_obj(req, &t, "table", "table");
    return change_ok(req, &t, body, err);
}

SRV_AZ(commitTransaction)
{
    struct acc_target t;
    json_t           *body = srv_req_body(req, err);
    json_t           *v;
    size_t            i;

    if (body == NULL) {
        return false;
    }
    json_array_foreach(json_object_get(body, "table-changes"), i, v) {
        if (!target_ident(req, json_object_get(v, "identifier"),
                          "identifier", "table", &t, err)) {
            fl_err_clear(err);          /* the handler says what is wrong */
            continue;
        }
        if (!change_ok(req, &t, v, err)) {
            return false;
        }
    }
    return true;
}

/* rename: DROP on the source; LIST + CREATE on the destination namespace */
static bool rename_ok(struct srv_req *req, const char *kind, int drop,
                      int list, int create, struct fl_err *err)
{
    struct acc_target t;
    json_t           *body = srv_req_body(req, err);
    int               privs[2] = {list, create};

    if (body == NULL) {
        return false;
    }
    if (!target_ident(req, json_object_get(body, "source"), "source", kind,
                      &t, err) ||
        !need(req, &t, drop, err) ||
        !target_ident(req, json_object_get(body, "destination"),
                      "destination", kind, &t, err)) {
        return false;
    }
    t.leaf = NULL;
    return srv_az_require(req, &t, privs, 2, NULL, err);
}

SRV_AZ(renameTable)
{
    return rename_ok(req, "table", ACC_TABLE_DROP, ACC_TABLE_LIST,
                     ACC_TABLE_CREATE, err);
}

SRV_AZ(renameView)
{
    return rename_ok(req, "view", ACC_VIEW_DROP, ACC_VIEW_LIST,
                     ACC_VIEW_CREATE, err);
}

/* -------------------------------------------------------------- catalogs */

static bool root_need(struct srv_req *req, int priv, struct fl_err *err)
{
    struct acc_target t;

    memset(&t, 0, sizeof(t));
    t.rooted = true;
    return need(req, &t, priv, err);
}

/* listCatalogs filters what the caller sees (srv_catalogs.c) */
SRV_AZ(listCatalogs)
{
    (void)req;
    (void)err;
    return true;
}

SRV_AZ(createCatalog)
{
    return root_need(req, ACC_CATALOG_CREATE, err);
}

static bool catalog_need(struct srv_req *req, int priv, struct fl_err *err)
{
    struct acc_target t;

    memset(&t, 0, sizeof(t));
    t.catalog = srv_req_param(req, "catalogName");
    t.rooted = true;
    return need(req, &t, priv, err);
}

SRV_AZ(getCatalog)
{
    return catalog_need(req, ACC_CATALOG_READ_PROPERTIES, err);
}

SRV_AZ(updateCatalog)
{
    return catalog_need(req, ACC_CATALOG_WRITE_PROPERTIES, err);
}

SRV_AZ(deleteCatalog)
{
    return catalog_need(req, ACC_CATALOG_DROP, err);
}
