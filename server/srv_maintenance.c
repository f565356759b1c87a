/*
 * srv_maintenance.c
 *
 * Floe's table maintenance API under /api/management/v1/catalogs/{c}/
 * maintenance: a table's status in the S3 Tables shape with its effective
 * configuration (getTableMaintenance), the run history
 * (listMaintenanceRuns), and a run on request (runMaintenance, in the
 * request's thread).  Reading needs TABLE_READ_PROPERTIES on the table (or
 * on the namespace or catalog for wider listings); running needs
 * TABLE_WRITE_DATA on the table, as it deletes files.
 *
 * Also the mapping of the maintenance.* configuration keys to the
 * settings maintenance/ works with.  The compaction-job API of external
 * executors is srv_compaction.c.
 */
#include "server/srv_int.h"

#include <string.h>

/* maintenance.* keys as maintenance/ wants them. */
void srv_mnt_settings(const struct srv_config *cfg, struct mnt_settings *ms)
{
    memset(ms, 0, sizeof(*ms));
    ms->enabled = cfg->maintenance_enabled;
    ms->expiry_workers = (int)cfg->maintenance_expiry_workers;
    ms->orphan_workers = (int)cfg->maintenance_orphan_workers;
    ms->plan_workers = (int)cfg->maintenance_plan_workers;
    ms->lease_ms = cfg->maintenance_lease_s * 1000LL;
    ms->heartbeat_ms = ms->lease_ms / 3;
    ms->poll_ms = cfg->maintenance_poll_ms;
    ms->interval_ms = cfg->maintenance_interval_s * 1000LL;
    ms->max_attempts = (int)cfg->maintenance_max_attempts;
    ms->backoff_ms = cfg->maintenance_backoff_s * 1000LL;
    ms->max_snapshot_age_ms = cfg->maintenance_max_snapshot_age_ms;
    ms->min_snapshots_to_keep = (int)cfg->maintenance_min_snapshots_to_keep;
    ms->max_ref_age_ms = INT64_MAX;
    ms->orphan_age_ms = cfg->maintenance_orphan_age_ms;
    ms->target_file_size = cfg->maintenance_target_file_size_bytes;
    ms->min_input_files = (int)cfg->maintenance_min_input_files;
    ms->delete_file_threshold = INT32_MAX;
}

static const char *catalog(struct srv_req *req)
{
    return srv_req_param(req, "catalogName");
}


/* {"namespace": [..], "table", "type", "dryRun"} of runMaintenance. */
static bool run_body(struct srv_req *req, const char ***ns, int *nns,
                     const char **table, const char **type, bool *dry,
                     struct fl_err *err)
{
    json_t *body = srv_req_body(req, err);
    json_t *arr;

    *dry = false;
    if (body == NULL || !fl_json_arr(body, "namespace", true, &arr, err) ||
        !fl_json_str(body, "table", true, table, err) ||
        !fl_json_str(body, "type", true, type, err) ||
        !fl_json_bool(body, "dryRun", false, dry, err) ||
        !mnt_type_check(*type, err)) {
        return false;
    }
    *ns = srv_strings(req, arr, nns, "namespace", err);
    if (*ns == NULL) {
        return false;
    }
    if (*nns == 0) {
        return FL_ERR(err, 400, "BadRequestException",
                      "namespace must have at least one level");
    }
    return true;
}

/* ------------------------------------------------------------- handlers */

/* GET .../maintenance/tables?namespace=&table= */
json_t *srv_h_mnt_table(struct srv_req *req, struct fl_err *err)
{
    const char     **ns;
    int              nns;
    const char      *table;
    struct mnt_table t;
    json_t          *meta;

    if (!srv_query_target(req, "table", &ns, &nns, &table, err)) {
        return NULL;
    }
    if (nns == 0 || table == NULL) {
        FL_ERR(err, 400, "BadRequestException",
               "namespace and table are required");
        return NULL;
    }
    if (!mnt_table_find(&req->cx, catalog(req), ns, nns, table, &t, &meta,
                        err)) {
        return NULL;
    }
    return mnt_status(&req->cx, &t, meta, &req->srv->mnt_settings, err);
}

/* GET .../maintenance/runs?namespace=&table=&pageToken=&pageSize= */
json_t *srv_h_mnt_runs(struct srv_req *req, struct fl_err *err)
{
    const char **ns;
    int          nns;
    const char  *table;
    const char  *token;
    int          size;

    if (!srv_query_target(req, "table", &ns, &nns, &table, err) ||
        !srv_page_size(req, &size, err)) {
        return NULL;
    }
    token = srv_req_query(req, "pageToken", err);
    if (fl_err_isset(err)) {
        return NULL;
    }
    return mnt_runs_list(&req->cx, catalog(req), ns, nns, table, token, size,
                         err);
}

/* POST .../maintenance/run {"namespace", "table", "type", "dryRun"} */
json_t *srv_h_mnt_run(struct srv_req *req, struct fl_err *err)
{
    const char     **ns;
    int              nns;
    const char      *table;
    const char      *type;
    bool             dry;
    struct mnt_table t;
    json_t          *meta;
    const char      *owner;

    if (!run_body(req, &ns, &nns, &table, &type, &dry, err) ||
        !mnt_table_find(&req->cx, catalog(req), ns, nns, table, &t, &meta,
                        err)) {
        return NULL;
    }
    fl_log_action("running table maintenance");
    owner = fl_sprintf(req->a, "%s/%s", req->srv->mnt_owner, req->rid);
    return mnt_run_now(&req->cx, &t, meta, &req->srv->mnt_settings, type,
                       dry, owner, err);
}

/* ----------------------------------------------------------- authorizers */


SRV_AZ(getTableMaintenance)
{
    const char **ns;
    int          nns;
    const char  *table;

    if (!srv_query_target(req, "table", &ns, &nns, &table, err)) {
        return false;
    }
    return srv_az_table_scope(req, catalog(req),
                              ns, nns, table, ACC_TABLE_READ_PROPERTIES, err);
}

SRV_AZ(listMaintenanceRuns)
{
    return srv_az_getTableMaintenance(req, err);
}

/* A malformed body is checked on the catalog; the handler answers 400. */
SRV_AZ(runMaintenance)
{
    const char **ns;
    int          nns;
    const char  *table;
    const char  *type;
    bool         dry;

    if (!run_body(req, &ns, &nns, &table, &type, &dry, err)) {
        if (err->status != 400) {
            return false;
        }
        fl_err_clear(err);
        return srv_az_table_scope(req, catalog(req),
                                  NULL, 0, NULL, ACC_TABLE_WRITE_DATA, err);
    }
    return srv_az_table_scope(req, catalog(req),
                              ns, nns, table, ACC_TABLE_WRITE_DATA, err);
}
