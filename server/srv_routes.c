/*
 * srv_routes.c
 *
 * The route table: every path Floe serves, its OpenAPI operationId, its
 * handler, for Iceberg REST routes the endpoint string advertised in GET
 * /v1/config (which therefore lists exactly what is served), and whether it
 * honours Idempotency-Key (the operations the spec marks).  Operations of
 * the Iceberg spec that Floe does not serve yet are routed to 406
 * UnsupportedOperationException and not advertised.  Templates never
 * overlap, so order only matters for reading.
 */
#include "server/srv_int.h"

#define IRC  "/api/catalog/v1"
#define MGMT "/api/management/v1"
#define NS   "/{prefix}/namespaces/{namespace}"
#define TBL  NS "/tables/{table}"
#define VIEW NS "/views/{view}"

/* A served Iceberg route: advertised; `idem` honours Idempotency-Key. */
#define ICE(m, path, op, fn, idem) \
    {m, IRC path, op, fn, m " /v1" path, idem}
/* An Iceberg operation not served yet: 406, not advertised. */
#define NOT_YET(m, path, op) \
    {m, IRC path, op, srv_h_unsupported, NULL, false}
/* Anything else (management API, probes). */
#define OTHER(m, path, op, fn) {m, path, op, fn, NULL, false}

static const struct srv_route routes[] = {
    OTHER("GET", "/healthz", "healthz", srv_h_healthz),
    OTHER("GET", "/readyz", "readyz", srv_h_readyz),

    /* Iceberg REST catalog API */
    OTHER("GET", IRC "/config", "getConfig", srv_h_config),
    NOT_YET("POST", "/oauth/tokens", "getToken"),
    ICE("GET", "/{prefix}/namespaces", "listNamespaces", srv_h_ns_list,
        false),
    ICE("POST", "/{prefix}/namespaces", "createNamespace", srv_h_ns_create,
        true),
    ICE("GET", NS, "loadNamespaceMetadata", srv_h_ns_load, false),
    ICE("HEAD", NS, "namespaceExists", srv_h_ns_exists, false),
    ICE("DELETE", NS, "dropNamespace", srv_h_ns_drop, true),
    ICE("POST", NS "/properties", "updateProperties", srv_h_ns_update, true),
    ICE("GET", NS "/tables", "listTables", srv_h_table_list, false),
    ICE("POST", NS "/tables", "createTable", srv_h_table_create, true),
    ICE("POST", NS "/register", "registerTable", srv_h_table_register,
        true),
    ICE("GET", TBL, "loadTable", srv_h_table_load, false),
    ICE("POST", TBL, "updateTable", srv_h_table_commit, true),
    ICE("DELETE", TBL, "dropTable", srv_h_table_drop, true),
    ICE("HEAD", TBL, "tableExists", srv_h_table_exists, false),
    ICE("POST", TBL "/unregister", "unregisterTable",
        srv_h_table_unregister, true),
    ICE("POST", TBL "/metrics", "reportMetrics", srv_h_table_metrics,
        false),
    ICE("POST", "/{prefix}/tables/rename", "renameTable",
        srv_h_table_rename, true),
    ICE("POST", "/{prefix}/transactions/commit", "commitTransaction",
        srv_h_transaction, true),
    NOT_YET("GET", NS "/functions", "listFunctions"),
    NOT_YET("GET", NS "/functions/{function}", "loadFunction"),
    NOT_YET("POST", TBL "/plan", "planTableScan"),
    NOT_YET("GET", TBL "/plan/{plan-id}", "fetchPlanningResult"),
    NOT_YET("DELETE", TBL "/plan/{plan-id}", "cancelPlanning"),
    NOT_YET("POST", TBL "/tasks", "fetchScanTasks"),
    NOT_YET("GET", TBL "/credentials", "loadCredentials"),
    NOT_YET("POST", TBL "/sign", "signRequest"),
    ICE("GET", NS "/views", "listViews", srv_h_view_list, false),
    ICE("POST", NS "/views", "createView", srv_h_view_create, false),
    ICE("POST", NS "/register-view", "registerView", srv_h_view_register,
        true),
    ICE("GET", VIEW, "loadView", srv_h_view_load, false),
    ICE("POST", VIEW, "replaceView", srv_h_view_replace, true),
    ICE("DELETE", VIEW, "dropView", srv_h_view_drop, true),
    ICE("HEAD", VIEW, "viewExists", srv_h_view_exists, false),
    ICE("POST", "/{prefix}/views/rename", "renameView", srv_h_view_rename,
        true),

    /* Polaris management API */
    OTHER("GET", MGMT "/catalogs", "listCatalogs", srv_h_catalog_list),
    OTHER("POST", MGMT "/catalogs", "createCatalog", srv_h_catalog_create),
    OTHER("GET", MGMT "/catalogs/{catalogName}", "getCatalog",
          srv_h_catalog_get),
    OTHER("PUT", MGMT "/catalogs/{catalogName}", "updateCatalog",
          srv_h_catalog_update),
    OTHER("DELETE", MGMT "/catalogs/{catalogName}", "deleteCatalog",
          srv_h_catalog_delete),
};

const struct srv_route *srv_routes(size_t *n)
{
    *n = FL_ARRAY_LEN(routes);
    return routes;
}

/* spec: any operation Floe does not serve yet -> 406 */
json_t *srv_h_unsupported(struct srv_req *req, struct fl_err *err)
{
    FL_ERR(err, 406, "UnsupportedOperationException",
           "%s is not supported by this server", req->m.route->op);
    return NULL;
}
