/*
 * srv_compaction.c
 *
 * Floe's compaction-job API for outside executors (Spark's
 * rewrite_data_files, or any client) under /api/management/v1/catalogs/
 * {catalogName}/maintenance/compaction-jobs: list the planned groups,
 * claim one with a lease, keep it with heartbeats, then complete it (the
 * replace commit is verified against the table's history) or fail it
 * (retried with backoff up to max_attempts).  spec: listCompactionJobs,
 * claimCompactionJob, heartbeatCompactionJob, completeCompactionJob,
 * failCompactionJob (openapi/floe.yaml).
 *
 * Listing needs TABLE_READ_PROPERTIES on what it lists (the table, the
 * namespace or the catalog); claiming needs TABLE_WRITE_DATA on what the
 * claim may take from, and the other writes TABLE_WRITE_DATA on the job's
 * table, as an executor rewrites its data.  The work is maintenance/'s
 * (mnt_cjobs.c).
 */
#include "server/srv_int.h"

#include <string.h>

#define DEFAULT_PAGE  100
#define MAX_OWNER     256
#define MAX_MESSAGE   2000
#define MIN_LEASE_MS  1000
#define MAX_LEASE_MS  86400000

static const char *catalog(struct srv_req *req)
{
    return srv_req_param(req, "catalogName");
}

/* `namespace` and `table` from the query (srv_query_target); a table
 * needs its namespace. */
static bool scope_query(struct srv_req *req, const char ***ns, int *nns,
                        const char **table, struct fl_err *err)
{
    if (!srv_query_target(req, "table", ns, nns, table, err)) {
        return false;
    }
    if (*table != NULL && *nns == 0) {
        return FL_ERR(err, 400, "BadRequestException",
                      "a table filter needs its namespace");
    }
    return true;
}

/* The owner naming the executor in the body: 1 to 256 bytes, no control
 * characters. */
static bool body_owner(json_t *body, const char **owner, struct fl_err *err)
{
    if (!fl_json_str(body, "owner", true, owner, err)) {
        return false;
    }
    if ((*owner)[0] == '\0' || strlen(*owner) > MAX_OWNER ||
        fl_has_control(*owner)) {
        return FL_ERR(err, 400, "BadRequestException",
                      "owner must have 1 to %d characters and no control "
                      "characters", MAX_OWNER);
    }
    return true;
}

/* {"owner", "namespace"?, "table"?, "leaseMs"?} of a claim. */
static bool claim_body(struct srv_req *req, const char **owner,
                       const char ***ns, int *nns, const char **table,
                       int64_t *lease_ms, struct fl_err *err)
{
    json_t    *body = srv_req_body(req, err);
    json_t    *arr = NULL;
    json_int_t lease = req->srv->mnt_settings.lease_ms;

    *ns = NULL;
    *nns = 0;
    *table = NULL;
    if (body == NULL || !body_owner(body, owner, err) ||
        !fl_json_arr(body, "namespace", false, &arr, err) ||
        !fl_json_str(body, "table", false, table, err) ||
        !fl_json_int(body, "leaseMs", false, &lease, err)) {
        return false;
    }
    if (arr != NULL) {
        *ns = srv_strings(req, arr, nns, "namespace", err);
        if (*ns == NULL) {
            return false;
        }
    }
    if (*table != NULL && *nns == 0) {
        return FL_ERR(err, 400, "BadRequestException",
                      "a table needs its namespace");
    }
    if (lease < MIN_LEASE_MS || lease > MAX_LEASE_MS) {
        return FL_ERR(err, 400, "BadRequestException",
                      "leaseMs must be between %d and %d", MIN_LEASE_MS,
                      MAX_LEASE_MS);
    }
    *lease_ms = lease;
    return true;
}

/* The {jobId} path parameter. */
static bool job_id(struct srv_req *req, int64_t *id, struct fl_err *err)
{
    const char *s = srv_req_param(req, "jobId");

    if (s == NULL || !fl_parse_i64(s, 1, INT64_MAX, id)) {
        return FL_ERR(err, 400, "BadRequestException",
                      "invalid compaction job id");
    }
    return true;
}

/* ------------------------------------------------------------- handlers */

/* GET ...compaction-jobs?namespace=&table=&state=&pageToken=&pageSize= */
json_t *srv_h_cjob_list(struct srv_req *req, struct fl_err *err)
{
    static const char *const states[] = {"queued", "running", "done",
                                         "failed", "obsolete"};
    const char **ns;
    int          nns;
    const char  *table;
    const char  *state;
    const char  *token;
    int          size;
    size_t       i;

    if (!scope_query(req, &ns, &nns, &table, err) ||
        !srv_page_size(req, &size, err)) {
        return NULL;
    }
    state = srv_req_query(req, "state", err);
    token = srv_req_query(req, "pageToken", err);
    if (fl_err_isset(err)) {
        return NULL;
    }
    for (i = 0; state != NULL && i < FL_ARRAY_LEN(states); i++) {
        if (strcmp(state, states[i]) == 0) {
            break;
        }
    }
    if (state != NULL && i == FL_ARRAY_LEN(states)) {
        FL_ERR(err, 400, "BadRequestException",
               "state must be one of queued, running, done, failed, "
               "obsolete");
        return NULL;
    }
    return mnt_cjobs_list(&req->cx, catalog(req), ns, nns, table, state,
                          token, size > 0 ? size : DEFAULT_PAGE, err);
}

/* POST ...compaction-jobs/claim {"owner", "namespace"?, "table"?,
 * "leaseMs"?} -> 200 the job, or 204 when none is ready */
json_t *srv_h_cjob_claim(struct srv_req *req, struct fl_err *err)
{
    const char **ns;
    const char  *owner;
    const char  *table;
    int64_t      lease;
    int          nns;
    json_t      *job;

    if (!claim_body(req, &owner, &ns, &nns, &table, &lease, err)) {
        return NULL;
    }
    fl_log_action("claiming a compaction job");
    job = mnt_cjob_claim(&req->cx, catalog(req), ns, nns, table, owner,
                         lease, err);
    if (job == NULL && !fl_err_isset(err)) {
        req->status = 204;
    }
    return job;
}

/* POST ...compaction-jobs/{jobId}/heartbeat {"owner", "leaseMs"?} */
json_t *srv_h_cjob_heartbeat(struct srv_req *req, struct fl_err *err)
{
    json_t     *body = srv_req_body(req, err);
    const char *owner;
    json_int_t  lease = req->srv->mnt_settings.lease_ms;
    int64_t     id;

    if (body == NULL || !job_id(req, &id, err) ||
        !body_owner(body, &owner, err) ||
        !fl_json_int(body, "leaseMs", false, &lease, err)) {
        return NULL;
    }
    if (lease < MIN_LEASE_MS || lease > MAX_LEASE_MS) {
        FL_ERR(err, 400, "BadRequestException",
               "leaseMs must be between %d and %d", MIN_LEASE_MS,
               MAX_LEASE_MS);
        return NULL;
    }
    return mnt_cjob_heartbeat(&req->cx, catalog(req), id, owner, lease, err);
}

/* POST ...compaction-jobs/{jobId}/complete {"owner", "snapshotId"?} ->
 * 200 settled (done or obsolete), 202 left running until the table's
 * history shows the rewrite */
json_t *srv_h_cjob_complete(struct srv_req *req, struct fl_err *err)
{
    json_t     *body = srv_req_body(req, err);
    const char *owner;
    json_int_t  snap = -1;
    int64_t     id;
    json_t     *job;
    const char *state;

    if (body == NULL || !job_id(req, &id, err) ||
        !body_owner(body, &owner, err) ||
        !fl_json_int(body, "snapshotId", false, &snap, err)) {
        return NULL;
    }
    fl_log_action("completing a compaction job");
    job = mnt_cjob_complete(&req->cx, catalog(req), id, owner, snap, err);
    state = json_string_value(json_object_get(job, "state"));
    if (state != NULL && strcmp(state, "running") == 0) {
        req->status = 202;
    }
    return job;
}

/* POST ...compaction-jobs/{jobId}/fail {"owner", "message"?} */
json_t *srv_h_cjob_fail(struct srv_req *req, struct fl_err *err)
{
    json_t     *body = srv_req_body(req, err);
    const char *owner;
    const char *message = NULL;
    int64_t     id;

    if (body == NULL || !job_id(req, &id, err) ||
        !body_owner(body, &owner, err) ||
        !fl_json_str(body, "message", false, &message, err)) {
        return NULL;
    }
    if (message == NULL || message[0] == '\0') {
        message = "the executor failed";
    }
    if (strlen(message) > MAX_MESSAGE) {
        message = fl_strndup(req->a, message, MAX_MESSAGE);
    }
    return mnt_cjob_fail(&req->cx, catalog(req), id, owner, message,
                         req->srv->mnt_settings.backoff_ms, err);
}

/* ----------------------------------------------------------- authorizers */


SRV_AZ(listCompactionJobs)
{
    const char **ns;
    int          nns;
    const char  *table;

    if (!scope_query(req, &ns, &nns, &table, err)) {
        return false;
    }
    return srv_az_table_scope(req, catalog(req),
                              ns, nns, table, ACC_TABLE_READ_PROPERTIES, err);
}

SRV_AZ(claimCompactionJob)
{
    const char **ns;
    const char  *owner;
    const char  *table;
    int64_t      lease;
    int          nns;

    if (!claim_body(req, &owner, &ns, &nns, &table, &lease, err)) {
        return false;
    }
    return srv_az_table_scope(req, catalog(req),
                              ns, nns, table, ACC_TABLE_WRITE_DATA, err);
}

/* TABLE_WRITE_DATA on the job's table; on the catalog when there is no
 * such job (the handler's 404 then reveals nothing to others). */
static bool job_writer(struct srv_req *req, struct fl_err *err)
{
    const char *const *ns = NULL;
    const char        *table = NULL;
    int64_t            id;
    int                nns = 0;
    bool               found;

    if (!job_id(req, &id, err)) {
        fl_err_clear(err);              /* the handler says what is wrong */
        return srv_az_table_scope(req, catalog(req),
                                  NULL, 0, NULL, ACC_TABLE_WRITE_DATA, err);
    }
    if (!mnt_cjob_table(&req->cx, catalog(req), id, &ns, &nns, &table,
                        &found, err)) {
        return false;
    }
    if (!found) {
        ns = NULL;
        nns = 0;
        table = NULL;
    }
    return srv_az_table_scope(req, catalog(req), ns, nns, table,
                              ACC_TABLE_WRITE_DATA, err);
}

SRV_AZ(heartbeatCompactionJob)
{
    return job_writer(req, err);
}

SRV_AZ(completeCompactionJob)
{
    return job_writer(req, err);
}

SRV_AZ(failCompactionJob)
{
    return job_writer(req, err);
}
