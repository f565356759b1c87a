/*
 * srv_routes.c
 *
 * The route table: every path Floe serves, its OpenAPI operationId, its
 * handler and, for Iceberg REST routes, the endpoint string advertised in
 * GET /v1/config (which therefore lists exactly what is served).  Order
 * matters only for readability: templates never overlap.
 */
#include "server/srv_int.h"

#define IRC "/api/catalog/v1"
#define MGMT "/api/management/v1"

static const struct srv_route routes[] = {
    {"GET", "/healthz", "healthz", srv_h_healthz, NULL},
    {"GET", "/readyz", "readyz", srv_h_readyz, NULL},

    /* Iceberg REST catalog API */
    {"GET", IRC "/config", "getConfig", srv_h_config, NULL},
    {"GET", IRC "/{prefix}/namespaces", "listNamespaces", srv_h_ns_list,
     "GET /v1/{prefix}/namespaces"},
    {"POST", IRC "/{prefix}/namespaces", "createNamespace", srv_h_ns_create,
     "POST /v1/{prefix}/namespaces"},
    {"GET", IRC "/{prefix}/namespaces/{namespace}", "loadNamespaceMetadata",
     srv_h_ns_load, "GET /v1/{prefix}/namespaces/{namespace}"},
    {"HEAD", IRC "/{prefix}/namespaces/{namespace}", "namespaceExists",
     srv_h_ns_exists, "HEAD /v1/{prefix}/namespaces/{namespace}"},
    {"DELETE", IRC "/{prefix}/namespaces/{namespace}", "dropNamespace",
     srv_h_ns_drop, "DELETE /v1/{prefix}/namespaces/{namespace}"},
    {"POST", IRC "/{prefix}/namespaces/{namespace}/properties",
     "updateProperties", srv_h_ns_update,
     "POST /v1/{prefix}/namespaces/{namespace}/properties"},
    {"GET", IRC "/{prefix}/namespaces/{namespace}/tables", "listTables",
     srv_h_table_list, "GET /v1/{prefix}/namespaces/{namespace}/tables"},
    {"POST", IRC "/{prefix}/namespaces/{namespace}/tables", "createTable",
     srv_h_table_create, "POST /v1/{prefix}/namespaces/{namespace}/tables"},
    {"POST", IRC "/{prefix}/namespaces/{namespace}/register", "registerTable",
     srv_h_table_register,
     "POST /v1/{prefix}/namespaces/{namespace}/register"},
    {"GET", IRC "/{prefix}/namespaces/{namespace}/tables/{table}",
     "loadTable", srv_h_table_load,
     "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}"},
    {"POST", IRC "/{prefix}/namespaces/{namespace}/tables/{table}",
     "updateTable", srv_h_table_commit,
     "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}"},
    {"DELETE", IRC "/{prefix}/namespaces/{namespace}/tables/{table}",
     "dropTable", srv_h_table_drop,
     "DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}"},
    {"HEAD", IRC "/{prefix}/namespaces/{namespace}/tables/{table}",
     "tableExists", srv_h_table_exists,
     "HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}"},
    {"POST", IRC "/{prefix}/tables/rename", "renameTable",
     srv_h_table_rename, "POST /v1/{prefix}/tables/rename"},
    {"POST", IRC "/{prefix}/transactions/commit", "commitTransaction",
     srv_h_transaction, "POST /v1/{prefix}/transactions/commit"},

    /* Polaris management API */
    {"GET", MGMT "/catalogs", "listCatalogs", srv_h_catalog_list, NULL},
    {"POST", MGMT "/catalogs", "createCatalog", srv_h_catalog_create, NULL},
    {"GET", MGMT "/catalogs/{catalogName}", "getCatalog", srv_h_catalog_get,
     NULL},
    {"PUT", MGMT "/catalogs/{catalogName}", "updateCatalog",
     srv_h_catalog_update, NULL},
    {"DELETE", MGMT "/catalogs/{catalogName}", "deleteCatalog",
     srv_h_catalog_delete, NULL},
};

const struct srv_route *srv_routes(size_t *n)
{
    *n = FL_ARRAY_LEN(routes);
    return routes;
}
