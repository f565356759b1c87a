/*
 * srv_int.h
 *
 * Private to server/: the daemon state, the request object handlers see,
 * and the handler prototypes the route table refers to.
 */
#ifndef FL_SRV_INT_H
#define FL_SRV_INT_H

#include "server/server.h"
#include "catalog/catalog.h"
#include "access/access.h"
#include "db/db.h"
#include "maintenance/maintenance.h"

#include <stdatomic.h>

struct srv {
    const struct srv_config *cfg;
    struct db_pool          *pool;
    struct cat_settings      settings;
    const char              *migrations_dir;
    int                      newest_migration;
    void                    *mhd;           /* struct MHD_Daemon */
    int                      port;          /* actual listening port */
    atomic_bool              draining;
    atomic_long              inflight;
    struct db_listener      *listener;      /* floe_grants: access caches */
    struct mnt_settings      mnt_settings;  /* maintenance.* */
    struct db_pool          *mnt_pool;      /* the maintenance threads' */
    struct mnt              *mnt;           /* NULL: maintenance disabled */
    const char              *mnt_owner;     /* host:pid:random, in leases */
};

struct srv_hdr {
    struct srv_hdr *next;
    const char     *name;
    const char     *value;
};

struct srv_req {
    struct srv             *srv;
    struct fl_arena        *a;
    void                   *conn;           /* struct MHD_Connection */
    const char             *method;
    const char             *path;           /* raw, still encoded */
    char                    rid[64];
    struct srv_match        m;
    struct fl_buf           body;
    bool                    body_too_big;
    json_t                 *json;           /* parsed body, arena-owned */
    const char             *raw;            /* pre-serialized response */
    size_t                  raw_len;
    int                     status;         /* response status */
    struct srv_hdr         *headers;        /* extra response headers */
    struct cat_ctx          cx;
    struct acc_caller       who;            /* the authenticated caller */
    bool                    authed;         /* who is set */
    const char             *audit_target;   /* what the request is about */
    int64_t                 t0_us;
    bool                    done;
};

/* request helpers (srv_http.c) */
const char *srv_req_param(struct srv_req *req, const char *name);
const char *const *srv_req_ns(struct srv_req *req, int *n);
const char *srv_req_query(struct srv_req *req, const char *name,
                          struct fl_err *err);
const char *srv_req_header(struct srv_req *req, const char *name);
void srv_req_header_add(struct srv_req *req, const char *name,
                        const char *value);
json_t *srv_req_body(struct srv_req *req, struct fl_err *err);

/* lifecycle (srv_http.c) */
bool srv_start(struct srv *s, struct fl_err *err);
void srv_stop(struct srv *s);

/* handlers: srv_health.c */
json_t *srv_h_healthz(struct srv_req *req, struct fl_err *err);
json_t *srv_h_readyz(struct srv_req *req, struct fl_err *err);

/* handlers: srv_catalogs.c (management API) */
json_t *srv_h_catalog_list(struct srv_req *req, struct fl_err *err);
json_t *srv_h_catalog_create(struct srv_req *req, struct fl_err *err);
json_t *srv_h_catalog_get(struct srv_req *req, struct fl_err *err);
json_t *srv_h_catalog_update(struct srv_req *req, struct fl_err *err);
json_t *srv_h_catalog_delete(struct srv_req *req, struct fl_err *err);

/* handlers: srv_tables.c (Iceberg REST) */
json_t *srv_h_table_list(struct srv_req *req, struct fl_err *err);
json_t *srv_h_table_create(struct srv_req *req, struct fl_err *err);
json_t *srv_h_table_register(struct srv_req *req, struct fl_err *err);
json_t *srv_h_table_load(struct srv_req *req, struct fl_err *err);
json_t *srv_h_table_commit(struct srv_req *req, struct fl_err *err);
json_t *srv_h_table_drop(struct srv_req *req, struct fl_err *err);
json_t *srv_h_table_exists(struct srv_req *req, struct fl_err *err);
json_t *srv_h_table_rename(struct srv_req *req, struct fl_err *err);
json_t *srv_h_transaction(struct srv_req *req, struct fl_err *err);
json_t *srv_h_table_unregister(struct srv_req *req, struct fl_err *err);
json_t *srv_h_table_metrics(struct srv_req *req, struct fl_err *err);
json_t *srv_h_unsupported(struct srv_req *req, struct fl_err *err);

/* handlers: srv_views.c (Iceberg REST) */
json_t *srv_h_view_list(struct srv_req *req, struct fl_err *err);
json_t *srv_h_view_create(struct srv_req *req, struct fl_err *err);
json_t *srv_h_view_register(struct srv_req *req, struct fl_err *err);
json_t *srv_h_view_load(struct srv_req *req, struct fl_err *err);
json_t *srv_h_view_replace(struct srv_req *req, struct fl_err *err);
json_t *srv_h_view_drop(struct srv_req *req, struct fl_err *err);
json_t *srv_h_view_exists(struct srv_req *req, struct fl_err *err);
json_t *srv_h_view_rename(struct srv_req *req, struct fl_err *err);

/* shared by the table and view handlers (srv_tables.c) */
bool srv_table_ident(struct srv_req *req, json_t *v, const char *what,
                     struct cat_ident *id, struct fl_err *err);
json_t *srv_send_state(struct srv_req *req, struct cat_table_state *st);
json_t *srv_list_names(struct srv_req *req,
                       bool (*list)(struct cat_ctx *, const char *,
                                    const char *const *, int, const char *,
                                    int, struct cat_table_page *,
                                    struct fl_err *),
                       struct fl_err *err);
json_t *srv_identifiers(const char *const *ns, int n,
                        const struct cat_table_page *page);

/* shared by the Iceberg handlers (srv_namespaces.c) */
const char **srv_parent_levels(struct srv_req *req, const char *parent,
                               int *n);
bool srv_query_target(struct srv_req *req, const char *table_key,
                      const char ***ns, int *nns, const char **table,
                      struct fl_err *err);
bool srv_page_size(struct srv_req *req, int *out, struct fl_err *err);
const char **srv_strings(struct srv_req *req, json_t *arr, int *n,
                         const char *what, struct fl_err *err);

/* handlers: srv_namespaces.c (Iceberg REST) */
json_t *srv_h_config(struct srv_req *req, struct fl_err *err);
json_t *srv_h_ns_list(struct srv_req *req, struct fl_err *err);
json_t *srv_h_ns_create(struct srv_req *req, struct fl_err *err);
json_t *srv_h_ns_load(struct srv_req *req, struct fl_err *err);
json_t *srv_h_ns_exists(struct srv_req *req, struct fl_err *err);
json_t *srv_h_ns_drop(struct srv_req *req, struct fl_err *err);
json_t *srv_h_ns_update(struct srv_req *req, struct fl_err *err);

/* token endpoint and JWTs: srv_token.c */
json_t *srv_h_token(struct srv_req *req, struct fl_err *err);
bool srv_authenticate(struct srv_req *req, struct fl_err *err);
bool srv_token_init(struct srv *s, struct fl_err *err);

/* authorizers: srv_authz.c (one per served operation) */
bool srv_az_authenticated(struct srv_req *req, struct fl_err *err);
bool srv_az_config(struct srv_req *req, struct fl_err *err);
#define SRV_AZ(op) bool srv_az_##op(struct srv_req *req, struct fl_err *err)
SRV_AZ(listNamespaces); SRV_AZ(createNamespace);
SRV_AZ(loadNamespaceMetadata); SRV_AZ(namespaceExists);
SRV_AZ(dropNamespace); SRV_AZ(updateProperties);
SRV_AZ(listTables); SRV_AZ(createTable); SRV_AZ(registerTable);
SRV_AZ(loadTable); SRV_AZ(updateTable); SRV_AZ(dropTable);
SRV_AZ(tableExists); SRV_AZ(unregisterTable); SRV_AZ(reportMetrics);
SRV_AZ(renameTable); SRV_AZ(commitTransaction);
SRV_AZ(listViews); SRV_AZ(createView); SRV_AZ(registerView);
SRV_AZ(loadView); SRV_AZ(replaceView); SRV_AZ(dropView);
SRV_AZ(viewExists); SRV_AZ(renameView);
SRV_AZ(listCatalogs); SRV_AZ(createCatalog); SRV_AZ(getCatalog);
SRV_AZ(updateCatalog); SRV_AZ(deleteCatalog);
/* shared by authorizers: `priv` on table `table` of namespace `ns`, on
 * the namespace (no table) or on catalog `catalog` (no namespace) */
bool srv_az_table_scope(struct srv_req *req, const char *catalog,
                        const char *const *ns, int nns, const char *table,
                        int priv, struct fl_err *err);
/* shared by authorizers: the privileges `privs` on target `t`, else 403 */
bool srv_az_require(struct srv_req *req, const struct acc_target *t,
                    const int *privs, int n, struct acc_resolved *r,
                    struct fl_err *err);

/* handlers: srv_principals.c, srv_grants.c (management API: principals,
 * principal roles, catalog roles, assignments, grants) */
json_t *srv_h_principal_list(struct srv_req *req, struct fl_err *err);
json_t *srv_h_principal_create(struct srv_req *req, struct fl_err *err);
json_t *srv_h_principal_get(struct srv_req *req, struct fl_err *err);
json_t *srv_h_principal_update(struct srv_req *req, struct fl_err *err);
json_t *srv_h_principal_delete(struct srv_req *req, struct fl_err *err);
json_t *srv_h_principal_rotate(struct srv_req *req, struct fl_err *err);
json_t *srv_h_principal_reset(struct srv_req *req, struct fl_err *err);
json_t *srv_h_principal_roles(struct srv_req *req, struct fl_err *err);
json_t *srv_h_principal_assign(struct srv_req *req, struct fl_err *err);
json_t *srv_h_principal_revoke(struct srv_req *req, struct fl_err *err);
json_t *srv_h_prole_list(struct srv_req *req, struct fl_err *err);
json_t *srv_h_prole_create(struct srv_req *req, struct fl_err *err);
json_t *srv_h_prole_get(struct srv_req *req, struct fl_err *err);
json_t *srv_h_prole_update(struct srv_req *req, struct fl_err *err);
json_t *srv_h_prole_delete(struct srv_req *req, struct fl_err *err);
json_t *srv_h_prole_principals(struct srv_req *req, struct fl_err *err);
json_t *srv_h_prole_croles(struct srv_req *req, struct fl_err *err);
json_t *srv_h_prole_assign(struct srv_req *req, struct fl_err *err);
json_t *srv_h_prole_unassign(struct srv_req *req, struct fl_err *err);
json_t *srv_h_crole_list(struct srv_req *req, struct fl_err *err);
json_t *srv_h_crole_create(struct srv_req *req, struct fl_err *err);
json_t *srv_h_crole_get(struct srv_req *req, struct fl_err *err);
json_t *srv_h_crole_update(struct srv_req *req, struct fl_err *err);
json_t *srv_h_crole_delete(struct srv_req *req, struct fl_err *err);
json_t *srv_h_crole_proles(struct srv_req *req, struct fl_err *err);
json_t *srv_h_grant_list(struct srv_req *req, struct fl_err *err);
json_t *srv_h_grant_add(struct srv_req *req, struct fl_err *err);
json_t *srv_h_grant_revoke(struct srv_req *req, struct fl_err *err);
SRV_AZ(listPrincipals); SRV_AZ(createPrincipal); SRV_AZ(getPrincipal);
SRV_AZ(updatePrincipal); SRV_AZ(deletePrincipal);
SRV_AZ(rotateCredentials); SRV_AZ(resetCredentials);
SRV_AZ(listPrincipalRolesAssigned); SRV_AZ(assignPrincipalRole);
SRV_AZ(revokePrincipalRole);
SRV_AZ(listPrincipalRoles); SRV_AZ(createPrincipalRole);
SRV_AZ(getPrincipalRole); SRV_AZ(updatePrincipalRole);
SRV_AZ(deletePrincipalRole); SRV_AZ(listAssigneePrincipalsForPrincipalRole);
SRV_AZ(listCatalogRolesForPrincipalRole);
SRV_AZ(assignCatalogRoleToPrincipalRole);
SRV_AZ(revokeCatalogRoleFromPrincipalRole);
SRV_AZ(listCatalogRoles); SRV_AZ(createCatalogRole); SRV_AZ(getCatalogRole);
SRV_AZ(updateCatalogRole); SRV_AZ(deleteCatalogRole);
SRV_AZ(listAssigneePrincipalRolesForCatalogRole);
SRV_AZ(listGrantsForCatalogRole); SRV_AZ(addGrantToCatalogRole);
SRV_AZ(revokeGrantFromCatalogRole);
/* shared by srv_principals.c and srv_grants.c */
bool srv_entity_create_req(struct srv_req *req, const char *key,
                           const char *what, struct acc_entity_req *q,
                           struct fl_err *err);
bool srv_entity_update_req(struct srv_req *req, struct acc_entity_req *q,
                           struct fl_err *err);
const char *srv_entity_ref(struct srv_req *req, const char *key,
                           struct fl_err *err);
json_t *srv_entities_json(const struct acc_entities *l, const char *key);
bool srv_az_entity(struct srv_req *req, int type, int64_t id,
                   int64_t catalog_id, int priv, struct fl_err *err);

/* handlers: srv_audit.c (Floe: the audit log) */
SRV_AZ(listAuditEvents);
json_t *srv_h_audit_list(struct srv_req *req, struct fl_err *err);

/* handlers: srv_policies.c (Polaris policy store) */
json_t *srv_h_policy_create(struct srv_req *req, struct fl_err *err);
json_t *srv_h_policy_list(struct srv_req *req, struct fl_err *err);
json_t *srv_h_policy_load(struct srv_req *req, struct fl_err *err);
json_t *srv_h_policy_update(struct srv_req *req, struct fl_err *err);
json_t *srv_h_policy_drop(struct srv_req *req, struct fl_err *err);
json_t *srv_h_policy_attach(struct srv_req *req, struct fl_err *err);
json_t *srv_h_policy_detach(struct srv_req *req, struct fl_err *err);
json_t *srv_h_policy_applicable(struct srv_req *req, struct fl_err *err);
SRV_AZ(createPolicy); SRV_AZ(listPolicies); SRV_AZ(loadPolicy);
SRV_AZ(updatePolicy); SRV_AZ(dropPolicy); SRV_AZ(attachPolicy);
SRV_AZ(detachPolicy); SRV_AZ(getApplicablePolicies);

/* handlers: srv_maintenance.c (Floe: table maintenance status, run
 * history, runs on request) */
json_t *srv_h_mnt_table(struct srv_req *req, struct fl_err *err);
json_t *srv_h_mnt_runs(struct srv_req *req, struct fl_err *err);
json_t *srv_h_mnt_run(struct srv_req *req, struct fl_err *err);
SRV_AZ(getTableMaintenance); SRV_AZ(listMaintenanceRuns);
SRV_AZ(runMaintenance);
void srv_mnt_settings(const struct srv_config *cfg, struct mnt_settings *ms);

/* handlers: srv_compaction.c (Floe: compaction jobs of outside
 * executors) */
json_t *srv_h_cjob_list(struct srv_req *req, struct fl_err *err);
json_t *srv_h_cjob_claim(struct srv_req *req, struct fl_err *err);
json_t *srv_h_cjob_heartbeat(struct srv_req *req, struct fl_err *err);
json_t *srv_h_cjob_complete(struct srv_req *req, struct fl_err *err);
json_t *srv_h_cjob_fail(struct srv_req *req, struct fl_err *err);
SRV_AZ(listCompactionJobs); SRV_AZ(claimCompactionJob);
SRV_AZ(heartbeatCompactionJob); SRV_AZ(completeCompactionJob);
SRV_AZ(failCompactionJob);

/* running: srv_serve.c */
bool srv_config_read(struct srv_config *cfg, const char *path);
int srv_bootstrap_cmd(const struct srv_config *cfg, const char *realm);

/* root credentials per realm: srv_bootstrap.c */
bool srv_bootstrap(struct srv *s, const char *spec, const char *only,
                   bool print, struct fl_err *err);
int srv_run(const struct srv_config *cfg, const char *port_file,
            bool (*on_ready)(struct srv *, void *), void *ctx);

/* background purges: srv_janitor.c */
void srv_janitor_start(struct srv *s);
void srv_janitor_stop(void);

/* the embedded default: srv_dev.c */
int srv_dev_main(int argc, char **argv);

#endif /* FL_SRV_INT_H */
