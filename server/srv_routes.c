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
#define PRN  MGMT "/principals"
#define PRN1 PRN "/{principalName}"
#define PRL  MGMT "/principal-roles"
#define PRL1 PRL "/{principalRoleName}"
#define CRL  MGMT "/catalogs/{catalogName}/catalog-roles"
#define CRL1 CRL "/{catalogRoleName}"
#define PCS  "/api/catalog/polaris/v1"
#define POLS PCS NS "/policies"
#define POL  POLS "/{policy-name}"
#define MAINT MGMT "/catalogs/{catalogName}/maintenance"

/* A served Iceberg route: advertised; `idem` honours Idempotency-Key; `az`
 * authorizes it (srv_authz.c). */
#define ICE(m, path, op, fn, idem, az) \
    {m, IRC path, op, fn, m " /v1" path, idem, az, false}
/* An Iceberg operation not served yet: 406 to any authenticated caller,
 * not advertised. */
#define NOT_YET(m, path, op) \
    {m, IRC path, op, srv_h_unsupported, NULL, false, srv_az_authenticated, \
     false}
/* Anything else (management API, policies): authorized by `az`. */
#define OTHER(m, path, op, fn, az) {m, path, op, fn, NULL, false, az, false}
/* Open to anyone: the token endpoint and the probes. */
#define OPEN(m, path, op, fn) {m, path, op, fn, NULL, false, NULL, true}

static const struct srv_route routes[] = {
    OPEN("GET", "/healthz", "healthz", srv_h_healthz),
    OPEN("GET", "/readyz", "readyz", srv_h_readyz),

    /* Iceberg REST catalog API */
    OTHER("GET", IRC "/config", "getConfig", srv_h_config, srv_az_config),
    OPEN("POST", IRC "/oauth/tokens", "getToken", srv_h_token),
    ICE("GET", "/{prefix}/namespaces", "listNamespaces", srv_h_ns_list,
        false, srv_az_listNamespaces),
    ICE("POST", "/{prefix}/namespaces", "createNamespace", srv_h_ns_create,
        true, srv_az_createNamespace),
    ICE("GET", NS, "loadNamespaceMetadata", srv_h_ns_load, false, srv_az_loadNamespaceMetadata),
    ICE("HEAD", NS, "namespaceExists", srv_h_ns_exists, false, srv_az_namespaceExists),
    ICE("DELETE", NS, "dropNamespace", srv_h_ns_drop, true, srv_az_dropNamespace),
    ICE("POST", NS "/properties", "updateProperties", srv_h_ns_update, true, srv_az_updateProperties),
    ICE("GET", NS "/tables", "listTables", srv_h_table_list, false, srv_az_listTables),
    ICE("POST", NS "/tables", "createTable", srv_h_table_create, true, srv_az_createTable),
    ICE("POST", NS "/register", "registerTable", srv_h_table_register,
        true, srv_az_registerTable),
    ICE("GET", TBL, "loadTable", srv_h_table_load, false, srv_az_loadTable),
    ICE("POST", TBL, "updateTable", srv_h_table_commit, true, srv_az_updateTable),
    ICE("DELETE", TBL, "dropTable", srv_h_table_drop, true, srv_az_dropTable),
    ICE("HEAD", TBL, "tableExists", srv_h_table_exists, false, srv_az_tableExists),
    ICE("POST", TBL "/unregister", "unregisterTable",
        srv_h_table_unregister, true, srv_az_unregisterTable),
    ICE("POST", TBL "/metrics", "reportMetrics", srv_h_table_metrics,
        false, srv_az_reportMetrics),
    ICE("POST", "/{prefix}/tables/rename", "renameTable",
        srv_h_table_rename, true, srv_az_renameTable),
    ICE("POST", "/{prefix}/transactions/commit", "commitTransaction",
        srv_h_transaction, true, srv_az_commitTransaction),
    NOT_YET("GET", NS "/functions", "listFunctions"),
    NOT_YET("GET", NS "/functions/{function}", "loadFunction"),
    NOT_YET("POST", TBL "/plan", "planTableScan"),
    NOT_YET("GET", TBL "/plan/{plan-id}", "fetchPlanningResult"),
    NOT_YET("DELETE", TBL "/plan/{plan-id}", "cancelPlanning"),
    NOT_YET("POST", TBL "/tasks", "fetchScanTasks"),
    NOT_YET("GET", TBL "/credentials", "loadCredentials"),
    NOT_YET("POST", TBL "/sign", "signRequest"),
    ICE("GET", NS "/views", "listViews", srv_h_view_list, false, srv_az_listViews),
    ICE("POST", NS "/views", "createView", srv_h_view_create, false, srv_az_createView),
    ICE("POST", NS "/register-view", "registerView", srv_h_view_register,
        true, srv_az_registerView),
    ICE("GET", VIEW, "loadView", srv_h_view_load, false, srv_az_loadView),
    ICE("POST", VIEW, "replaceView", srv_h_view_replace, true, srv_az_replaceView),
    ICE("DELETE", VIEW, "dropView", srv_h_view_drop, true, srv_az_dropView),
    ICE("HEAD", VIEW, "viewExists", srv_h_view_exists, false, srv_az_viewExists),
    ICE("POST", "/{prefix}/views/rename", "renameView", srv_h_view_rename,
        true, srv_az_renameView),

    /* Polaris policy store (srv_policies.c) */
    OTHER("POST", POLS, "createPolicy", srv_h_policy_create,
          srv_az_createPolicy),
    OTHER("GET", POLS, "listPolicies", srv_h_policy_list,
          srv_az_listPolicies),
    OTHER("GET", POL, "loadPolicy", srv_h_policy_load, srv_az_loadPolicy),
    OTHER("PUT", POL, "updatePolicy", srv_h_policy_update,
          srv_az_updatePolicy),
    OTHER("DELETE", POL, "dropPolicy", srv_h_policy_drop,
          srv_az_dropPolicy),
    OTHER("PUT", POL "/mappings", "attachPolicy", srv_h_policy_attach,
          srv_az_attachPolicy),
    OTHER("POST", POL "/mappings", "detachPolicy", srv_h_policy_detach,
          srv_az_detachPolicy),
    OTHER("GET", PCS "/{prefix}/applicable-policies",
          "getApplicablePolicies", srv_h_policy_applicable,
          srv_az_getApplicablePolicies),

    /* Polaris management API */
    OTHER("GET", MGMT "/catalogs", "listCatalogs", srv_h_catalog_list, srv_az_listCatalogs),
    OTHER("POST", MGMT "/catalogs", "createCatalog", srv_h_catalog_create, srv_az_createCatalog),
    OTHER("GET", MGMT "/catalogs/{catalogName}", "getCatalog",
          srv_h_catalog_get, srv_az_getCatalog),
    OTHER("PUT", MGMT "/catalogs/{catalogName}", "updateCatalog",
          srv_h_catalog_update, srv_az_updateCatalog),
    OTHER("DELETE", MGMT "/catalogs/{catalogName}", "deleteCatalog",
          srv_h_catalog_delete, srv_az_deleteCatalog),

    /* Polaris management API: principals, roles, grants (srv_principals.c,
     * srv_grants.c) */
    OTHER("GET", PRN, "listPrincipals", srv_h_principal_list,
          srv_az_listPrincipals),
    OTHER("POST", PRN, "createPrincipal", srv_h_principal_create,
          srv_az_createPrincipal),
    OTHER("GET", PRN1, "getPrincipal", srv_h_principal_get,
          srv_az_getPrincipal),
    OTHER("PUT", PRN1, "updatePrincipal", srv_h_principal_update,
          srv_az_updatePrincipal),
    OTHER("DELETE", PRN1, "deletePrincipal", srv_h_principal_delete,
          srv_az_deletePrincipal),
    OTHER("POST", PRN1 "/rotate", "rotateCredentials",
          srv_h_principal_rotate, srv_az_rotateCredentials),
    OTHER("POST", PRN1 "/reset", "resetCredentials", srv_h_principal_reset,
          srv_az_resetCredentials),
    OTHER("GET", PRN1 "/principal-roles", "listPrincipalRolesAssigned",
          srv_h_principal_roles, srv_az_listPrincipalRolesAssigned),
    OTHER("PUT", PRN1 "/principal-roles", "assignPrincipalRole",
          srv_h_principal_assign, srv_az_assignPrincipalRole),
    OTHER("DELETE", PRN1 "/principal-roles/{principalRoleName}",
          "revokePrincipalRole", srv_h_principal_revoke,
          srv_az_revokePrincipalRole),
    OTHER("GET", PRL, "listPrincipalRoles", srv_h_prole_list,
          srv_az_listPrincipalRoles),
    OTHER("POST", PRL, "createPrincipalRole", srv_h_prole_create,
          srv_az_createPrincipalRole),
    OTHER("GET", PRL1, "getPrincipalRole", srv_h_prole_get,
          srv_az_getPrincipalRole),
    OTHER("PUT", PRL1, "updatePrincipalRole", srv_h_prole_update,
          srv_az_updatePrincipalRole),
    OTHER("DELETE", PRL1, "deletePrincipalRole", srv_h_prole_delete,
          srv_az_deletePrincipalRole),
    OTHER("GET", PRL1 "/principals",
          "listAssigneePrincipalsForPrincipalRole", srv_h_prole_principals,
          srv_az_listAssigneePrincipalsForPrincipalRole),
    OTHER("GET", PRL1 "/catalog-roles/{catalogName}",
          "listCatalogRolesForPrincipalRole", srv_h_prole_croles,
          srv_az_listCatalogRolesForPrincipalRole),
    OTHER("PUT", PRL1 "/catalog-roles/{catalogName}",
          "assignCatalogRoleToPrincipalRole", srv_h_prole_assign,
          srv_az_assignCatalogRoleToPrincipalRole),
    OTHER("DELETE", PRL1 "/catalog-roles/{catalogName}/{catalogRoleName}",
          "revokeCatalogRoleFromPrincipalRole", srv_h_prole_unassign,
          srv_az_revokeCatalogRoleFromPrincipalRole),
    OTHER("GET", CRL, "listCatalogRoles", srv_h_crole_list,
          srv_az_listCatalogRoles),
    OTHER("POST", CRL, "createCatalogRole", srv_h_crole_create,
          srv_az_createCatalogRole),
    OTHER("GET", CRL1, "getCatalogRole", srv_h_crole_get,
          srv_az_getCatalogRole),
    OTHER("PUT", CRL1, "updateCatalogRole", srv_h_crole_update,
          srv_az_updateCatalogRole),
    OTHER("DELETE", CRL1, "deleteCatalogRole", srv_h_crole_delete,
          srv_az_deleteCatalogRole),
    OTHER("GET", CRL1 "/principal-roles",
          "listAssigneePrincipalRolesForCatalogRole", srv_h_crole_proles,
          srv_az_listAssigneePrincipalRolesForCatalogRole),
    OTHER("GET", CRL1 "/grants", "listGrantsForCatalogRole",
          srv_h_grant_list, srv_az_listGrantsForCatalogRole),
    OTHER("PUT", CRL1 "/grants", "addGrantToCatalogRole", srv_h_grant_add,
          srv_az_addGrantToCatalogRole),
    OTHER("POST", CRL1 "/grants", "revokeGrantFromCatalogRole",
          srv_h_grant_revoke, srv_az_revokeGrantFromCatalogRole),

    /* Floe: the audit log */
    OTHER("GET", MGMT "/audit-events", "listAuditEvents", srv_h_audit_list,
          srv_az_listAuditEvents),

    /* Floe: table maintenance (srv_maintenance.c) */
    OTHER("GET", MAINT "/tables", "getTableMaintenance", srv_h_mnt_table,
          srv_az_getTableMaintenance),
    OTHER("GET", MAINT "/runs", "listMaintenanceRuns", srv_h_mnt_runs,
          srv_az_listMaintenanceRuns),
    OTHER("POST", MAINT "/run", "runMaintenance", srv_h_mnt_run,
          srv_az_runMaintenance),

    /* Floe: compaction jobs of outside executors (srv_compaction.c) */
    OTHER("GET", MAINT "/compaction-jobs", "listCompactionJobs",
          srv_h_cjob_list, srv_az_listCompactionJobs),
    OTHER("POST", MAINT "/compaction-jobs/claim", "claimCompactionJob",
          srv_h_cjob_claim, srv_az_claimCompactionJob),
    OTHER("POST", MAINT "/compaction-jobs/{jobId}/heartbeat",
          "heartbeatCompactionJob", srv_h_cjob_heartbeat,
          srv_az_heartbeatCompactionJob),
    OTHER("POST", MAINT "/compaction-jobs/{jobId}/complete",
          "completeCompactionJob", srv_h_cjob_complete,
          srv_az_completeCompactionJob),
    OTHER("POST", MAINT "/compaction-jobs/{jobId}/fail", "failCompactionJob",
          srv_h_cjob_fail, srv_az_failCompactionJob),
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
