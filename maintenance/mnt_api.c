/*
 * mnt_api.c
 *
 * What the maintenance API (server/srv_maintenance.c) asks of this folder:
 * a table's status in the S3 Tables shape (per job type: Successful,
 * Failed, Disabled or Not_Yet_Run, from the last real run and the
 * effective configuration) with that configuration and its sources, the
 * run history (newest first, keyset pages with signed tokens), and a run
 * requested now.  A real run requested now goes through the queue: it
 * takes the table's pending job of that type (or creates one) with a
 * lease, so it never runs beside a worker's run of the same job; a dry run
 * changes nothing and needs no job.
 *
 * Not here: HTTP, authorization (server/), the queue's statements
 * (mnt_queue.c).
 */
#include "maintenance/mnt_int.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_PAGE 100

DB_STMT(STATUS_RUNS,
    "SELECT DISTINCT ON (job_type) job_type, status, finished_ms,"
    " failure_message FROM maintenance_runs"
    " WHERE table_id = $1 AND NOT dry_run"
    " ORDER BY job_type, id DESC");
DB_STMT(STATUS_JOBS,
    "SELECT job_type, state, attempts, max_attempts, not_before_ms,"
    " lease_expires_ms, last_error FROM maintenance_jobs"
    " WHERE table_id = $1 AND state IN ('queued', 'running')"
    " AND job_type <> 'compaction' ORDER BY job_type");
DB_STMT(RUNS_PAGE,
    "SELECT r.id, r.job_id, r.job_type, r.status, r.dry_run, r.started_ms,"
    " r.finished_ms, r.files_examined, r.bytes_examined, r.files_deleted,"
    " r.bytes_deleted, r.files_planned, r.bytes_planned,"
    " r.failure_message, r.table_name, n.path, t.name"
    " FROM maintenance_runs r LEFT JOIN tables t ON t.id = r.table_id"
    " LEFT JOIN namespaces n ON n.id = t.namespace_id"
    " WHERE r.catalog_id = $1 AND r.id < $2"
    " AND ($3::bigint IS NULL OR r.table_id = $3)"
    " AND ($4::bigint IS NULL OR t.namespace_id = $4)"
    " ORDER BY r.id DESC LIMIT $5");

/* The S3 Tables names of the daemon job types. */
static const struct {
    const char *type;
    const char *s3;
} kinds[] = {
    {MNT_EXPIRY, "icebergSnapshotManagement"},
    {MNT_ORPHANS, "icebergUnreferencedFileRemoval"},
    {MNT_PLAN, "icebergCompaction"},
};

static int64_t i64(const char *s)
{
    return s != NULL ? strtoll(s, NULL, 10) : 0;
}

/* The levels as a JSON array.  Returns a new reference. */
static json_t *levels_json(const char *const *ns, int n)
{
    json_t *arr = json_array();
    int     i;

    for (i = 0; i < n; i++) {
        json_array_append_new(arr, json_string(ns[i]));
    }
    return arr;
}

/* {"namespace": [..], "name"}.  Returns a new reference. */
static json_t *table_json(const char *const *ns, int nns, const char *name)
{
    return json_pack("{so ss}", "namespace", levels_json(ns, nns), "name",
                     name);
}

/* {status, lastRunTimestamp?, failureMessage?} of one job type. */
static json_t *type_status(const struct db_rows *r, const char *type,
                           bool enabled)
{
    int i;

    if (!enabled) {
        return json_pack("{ss}", "status", "Disabled");
    }
    for (i = 0; i < r->nrows; i++) {
        if (strcmp(db_val(r, i, 0), type) != 0) {
            continue;
        }
        return json_pack("{ss sI ss*}", "status", db_val(r, i, 1),
                         "lastRunTimestamp",
                         (json_int_t)i64(db_val(r, i, 2)),
                         "failureMessage", db_val(r, i, 3));
    }
    return json_pack("{ss}", "status", "Not_Yet_Run");
}

/* The queued and running daemon jobs of the table.  New reference. */
static json_t *jobs_json(const struct db_rows *r)
{
    json_t *arr = json_array();
    json_t *v;
    int     i;

    for (i = 0; i < r->nrows; i++) {
        v = json_pack("{ss ss sI sI sI}", "type", db_val(r, i, 0), "state",
                      db_val(r, i, 1), "attempts",
                      (json_int_t)i64(db_val(r, i, 2)), "maxAttempts",
                      (json_int_t)i64(db_val(r, i, 3)), "notBeforeTimestamp",
                      (json_int_t)i64(db_val(r, i, 4)));
        if (db_val(r, i, 5) != NULL) {
            json_object_set_new(v, "leaseExpiresTimestamp",
                                json_integer(i64(db_val(r, i, 5))));
        }
        if (db_val(r, i, 6) != NULL) {
            json_object_set_new(v, "lastError",
                                json_string(db_val(r, i, 6)));
        }
        json_array_append_new(arr, v);
    }
    return arr;
}

/*
 * The status of table `t` (see maintenance.h).  Errors: those of the
 * configuration lookup and the database.
 */
json_t *mnt_status(struct cat_ctx *cx, const struct mnt_table *t,
                   json_t *meta, const struct mnt_settings *ms,
                   struct fl_err *err)
{
    struct mnt_config c;
    struct db_rows   *runs;
    struct db_rows   *jobs;
    const char       *tid = cat_i64(cx->a, t->table_id);
    json_t           *st;
    size_t            i;

    if (!mnt_config_resolve(cx, t, meta, ms, &c, err) ||
        !db_exec(cx->conn, &STATUS_RUNS, DB_ARGS(tid), cx->a, &runs, err) ||
        !db_exec(cx->conn, &STATUS_JOBS, DB_ARGS(tid), cx->a, &jobs, err)) {
        return NULL;
    }
    st = json_object();
    for (i = 0; i < FL_ARRAY_LEN(kinds); i++) {
        json_object_set_new(st, kinds[i].s3,
                            type_status(runs, kinds[i].type,
                                        mnt_config_allows(&c,
                                                          kinds[i].type)));
    }
    return json_pack("{so so so so}", "table",
                     table_json(t->ns, t->nns, t->name), "maintenanceStatus",
                     st, "configuration", mnt_config_json(&c), "pendingJobs",
                     jobs_json(jobs));
}

/* One RUNS_PAGE row as a run.  Returns a new reference. */
static json_t *run_row_json(struct cat_ctx *cx, const struct db_rows *r,
                            int i)
{
    int64_t started = i64(db_val(r, i, 5));
    int64_t finished = i64(db_val(r, i, 6));
    json_t *v = json_pack(
        "{sI ss ss sb sI sI sI sI sI sI sI sI sI ss}",
        "id", (json_int_t)i64(db_val(r, i, 0)),
        "type", db_val(r, i, 2), "status", db_val(r, i, 3),
        "dryRun", strcmp(db_val(r, i, 4), "t") == 0,
        "startedTimestamp", (json_int_t)started,
        "finishedTimestamp", (json_int_t)finished,
        "durationMs", (json_int_t)(finished - started),
        "filesExamined", (json_int_t)i64(db_val(r, i, 7)),
        "bytesExamined", (json_int_t)i64(db_val(r, i, 8)),
        "filesDeleted", (json_int_t)i64(db_val(r, i, 9)),
        "bytesDeleted", (json_int_t)i64(db_val(r, i, 10)),
        "filesPlanned", (json_int_t)i64(db_val(r, i, 11)),
        "bytesPlanned", (json_int_t)i64(db_val(r, i, 12)),
        "tableName", db_val(r, i, 14));
    const char **ns;
    int          nns;

    if (db_val(r, i, 1) != NULL) {
        json_object_set_new(v, "jobId", json_integer(i64(db_val(r, i, 1))));
    }
    if (db_val(r, i, 13) != NULL) {
        json_object_set_new(v, "failureMessage",
                            json_string(db_val(r, i, 13)));
    }
    if (db_val(r, i, 16) != NULL) {
        ns = cat_pg_array_parse(cx->a, db_val(r, i, 15), &nns);
        json_object_set_new(v, "table",
                            table_json(ns, nns, db_val(r, i, 16)));
    }
    return v;
}

/*
 * The run history (see maintenance.h): of catalog `catalog` (nns 0), of
 * the tables now in namespace `ns` (table NULL), or of one table.
 * Errors: 404 for a missing catalog, namespace or table, 400 for a page
 * token of another listing, the database's.
 */
json_t *mnt_runs_list(struct cat_ctx *cx, const char *catalog,
                      const char *const *ns, int nns, const char *table,
                      const char *page_token, int page_size,
                      struct fl_err *err)
{
    int64_t         cid, nid, tid;
    const char     *scope;
    const char     *after = NULL;
    struct db_rows *r;
    json_t         *runs;
    int             size = page_size > 0 ? page_size : DEFAULT_PAGE;
    int             n, i;

    if (table != NULL && nns == 0) {
        FL_ERR(err, 400, "BadRequestException", "table needs its namespace");
        return NULL;
    }
    if (!mnt_target_find(cx, catalog, ns, nns, table, &cid, &nid, &tid,
                         err)) {
        return NULL;
    }
    scope = fl_sprintf(cx->a, "mnt-runs:%lld:%lld:%lld", (long long)cid,
                       (long long)nid, (long long)tid);
    if (page_token != NULL && page_token[0] != '\0' &&
        (after = cat_token_decode(cx, scope, page_token, err)) == NULL) {
        return NULL;
    }
    if (!db_exec(cx->conn, &RUNS_PAGE,
                 DB_ARGS(cat_i64(cx->a, cid),
                         after ? after : cat_i64(cx->a, INT64_MAX),
                         tid ? cat_i64(cx->a, tid) : NULL,
                         nns > 0 && !tid ? cat_i64(cx->a, nid) : NULL,
                         cat_i64(cx->a, size + 1)),
                 cx->a, &r, err)) {
        return NULL;
    }
    n = r->nrows > size ? size : r->nrows;
    runs = json_array();
    for (i = 0; i < n; i++) {
        json_array_append_new(runs, run_row_json(cx, r, i));
    }
    return json_pack("{so so}", "runs", runs, "next-page-token",
                     n < r->nrows ? json_string(cat_token_encode(
                                        cx, scope, db_val(r, n - 1, 0)))
                                  : json_null());
}

/* The run just made, as {"run": {...}}.  Returns a new reference. */
static json_t *run_now_json(const struct mnt_table *t, const char *type,
                            bool dry_run, int64_t job_id,
                            const struct mnt_outcome *o)
{
    const struct mnt_figures *f = &o->fig;
    json_t *v = json_pack(
        "{sI ss ss sb sI sI sI sI sI sI sI sI sI so}",
        "id", (json_int_t)o->run_id, "type", type,
        "status", o->failure ? "Failed" : "Successful", "dryRun", dry_run,
        "startedTimestamp", (json_int_t)o->started_ms,
        "finishedTimestamp", (json_int_t)o->finished_ms,
        "durationMs", (json_int_t)(o->finished_ms - o->started_ms),
        "filesExamined", (json_int_t)f->files_examined,
        "bytesExamined", (json_int_t)f->bytes_examined,
        "filesDeleted", (json_int_t)f->files_deleted,
        "bytesDeleted", (json_int_t)f->bytes_deleted,
        "filesPlanned", (json_int_t)f->files_planned,
        "bytesPlanned", (json_int_t)f->bytes_planned,
        "table", table_json(t->ns, t->nns, t->name));

    if (job_id != 0) {
        json_object_set_new(v, "jobId", json_integer(job_id));
    }
    if (o->failure != NULL) {
        json_object_set_new(v, "failureMessage", json_string(o->failure));
    }
    json_object_set_new(v, "details", json_is_object(f->details)
                                          ? json_incref(f->details)
                                          : json_object());
    return json_pack("{so}", "run", v);
}

/* A dry run: no job, nothing changed; the run is recorded. */
static json_t *dry_run(struct cat_ctx *cx, const struct mnt_table *t,
                       const struct mnt_config *c, const char *type,
                       struct fl_err *err)
{
    struct mnt_outcome o;
    struct mnt_run     run;
    struct fl_err      kerr;

    memset(&o, 0, sizeof(o));
    memset(&run, 0, sizeof(run));
    fl_err_clear(&kerr);
    o.started_ms = fl_now_ms();
    if (!mnt_kind(type)(cx, t, c, true, &o.fig, &kerr)) {
        o.failure = fl_sprintf(cx->a, "%s", kerr.msg[0] ? kerr.msg
                                                        : "failed");
    }
    if (cx->conn != NULL && db_in_transaction(cx->conn)) {
        db_rollback(cx->conn);
    }
    o.finished_ms = fl_now_ms();
    run.type = type;
    run.dry_run = true;
    run.started_ms = o.started_ms;
    run.finished_ms = o.finished_ms;
    run.fig = &o.fig;
    run.failure = o.failure;
    if (!mnt_run_record(cx, t, &run, &o.run_id, err)) {
        return NULL;
    }
    return run_now_json(t, type, true, 0, &o);
}

/* Why `type` may not run on a table configured as `c`, or NULL. */
static const char *disabled_why(struct cat_ctx *cx, const char *type,
                                const struct mnt_config *c)
{
    const struct mnt_value *v = &c->compaction_enabled;

    if (mnt_config_allows(c, type)) {
        return NULL;
    }
    if (strcmp(type, MNT_PLAN) != 0 && !c->gc_enabled.v) {
        return "gc.enabled is false";
    }
    if (strcmp(type, MNT_EXPIRY) == 0) {
        v = &c->expiry_enabled;
    } else if (strcmp(type, MNT_ORPHANS) == 0) {
        v = &c->orphan_enabled;
    }
    return fl_sprintf(cx->a, "disabled by %s %s", mnt_source_name(v->src),
                      v->from ? v->from : "");
}

/* Errors: 400 BadRequestException naming the job types. */
bool mnt_type_check(const char *type, struct fl_err *err)
{
    if (mnt_kind(type) != NULL) {
        return true;
    }
    return FL_ERR(err, 400, "BadRequestException",
                  "Invalid type %s: expected snapshot-expiry, orphan-removal "
                  "or compaction-plan", type);
}

/*
 * Run `type` on `t` now (see maintenance.h).  Errors: 400 for an unknown
 * type; 409 ConflictException when the type is disabled for the table
 * (real runs only) or another worker holds its job; 500 when the run lost
 * its lease; the database's.  A run that fails is not an error: the answer
 * says Failed, and the job is retried with backoff like any other.
 */
json_t *mnt_run_now(struct cat_ctx *cx, const struct mnt_table *t,
                    json_t *meta, const struct mnt_settings *ms,
                    const char *type, bool dry, const char *owner,
                    struct fl_err *err)
{
    struct mnt_config  c;
    struct mnt_job     j;
    struct mnt_outcome o;
    const char        *why;
    bool               got;

    if (!mnt_type_check(type, err) ||
        !mnt_config_resolve(cx, t, meta, ms, &c, err)) {
        return NULL;
    }
    if (dry) {
        return dry_run(cx, t, &c, type, err);
    }
    why = disabled_why(cx, type, &c);
    if (why != NULL) {
        FL_ERR(err, 409, "ConflictException",
               "%s is disabled for table %s: %s", type, t->name, why);
        return NULL;
    }
    if (!mnt_job_claim_table(cx, t, type, owner, ms->lease_ms,
                             ms->max_attempts, &j, &got, err)) {
        return NULL;
    }
    if (!got) {
        FL_ERR(err, 409, "ConflictException",
               "a %s job for table %s is running", type, t->name);
        return NULL;
    }
    if (!mnt_job_execute(cx, &j, owner, ms, 0, &o, err)) {
        return NULL;
    }
    if (o.lost || o.skipped) {
        FL_ERR(err, o.lost ? 500 : 409,
               o.lost ? "InternalServerError" : "ConflictException",
               "the %s run of table %s %s", type, t->name,
               o.lost ? "lost its lease" : "was disabled meanwhile");
        return NULL;
    }
    return run_now_json(t, type, false, j.id, &o);
}
