/*
 * mnt_queue.c
 *
 * The job queue in Postgres (maintenance_jobs, migration 0004) and the run
 * history (maintenance_runs): enqueueing (deduplicated by the partial
 * unique index: at most one queued-or-running daemon job per table and
 * type), claiming with FOR UPDATE SKIP LOCKED (a ready queued job, or a
 * running one whose lease expired: takeover), heartbeats, finishing and
 * failing with exponential backoff, each write fenced by (id, lease owner,
 * attempts) so a worker that lost its lease cannot touch the row again.
 * A run is recorded in the same statement that finishes or fails its job.
 *
 * Times in the queue come from the database's clock, so daemons on
 * machines whose clocks disagree still agree on leases and backoff.
 *
 * Also here: loading a table as the jobs see it (mnt_table_load) and the
 * scheduler's walk over every table.  Not here: the threads
 * (mnt_worker.c), the status API's reads (mnt_api.c), what jobs do.
 */
#include "maintenance/mnt_int.h"

#include <stdlib.h>
#include <string.h>

#define NOW "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"
/* compaction planning after a commit is enqueued this much later */
#define PLAN_AFTER_COMMIT_MS 60000
/* the index inference clause of maintenance_jobs_one_pending */
#define ONE_PENDING                                                     \
    " ON CONFLICT (table_id, job_type) WHERE state IN ('queued',"       \
    " 'running') AND job_type <> 'compaction' DO NOTHING"
#define JOB_COLS                                                        \
    " j.id, j.realm, j.job_type, j.table_id, j.dry_run, j.attempts,"    \
    " j.payload::text, j.catalog_id, j.max_attempts"
/* the fence: still ours, still running, the same attempt */
#define FENCE                                                           \
    " WHERE id = $1 AND lease_owner = $2 AND attempts = $3::int"        \
    " AND state = 'running'"
#define RUN_INSERT                                                      \
    " INSERT INTO maintenance_runs (realm, catalog_id, table_id,"       \
    " table_name, job_id, job_type, status, dry_run, started_ms,"       \
    " finished_ms, files_examined, bytes_examined, files_deleted,"      \
    " bytes_deleted, files_planned, bytes_planned, failure_message,"    \
    " details)"

/* Candidates come from the two partial indexes (ready queued jobs, lapsed
 * leases), so done jobs are never scanned; the oldest candidate nobody
 * else has locked is taken, its state checked again under the lock. */
#define CLAIMABLE                                                       \
    "((state = 'queued' AND not_before_ms <= " NOW ") OR"              \
    " (state = 'running' AND lease_expires_ms < " NOW "))"
DB_STMT(JOB_CLAIM,
    "UPDATE maintenance_jobs j SET state = 'running', lease_owner = $2,"
    " lease_expires_ms = " NOW " + $3::bigint, heartbeat_ms = " NOW ","
    " attempts = j.attempts + 1, updated_ms = " NOW
    " WHERE j.id = (SELECT id FROM maintenance_jobs WHERE id IN ("
    "  (SELECT id FROM maintenance_jobs WHERE job_type = $1"
    "   AND state = 'queued' AND not_before_ms <= " NOW
    "   ORDER BY not_before_ms LIMIT 64) UNION ALL"
    "  (SELECT id FROM maintenance_jobs WHERE job_type = $1"
    "   AND state = 'running' AND lease_expires_ms < " NOW
    "   ORDER BY lease_expires_ms LIMIT 64))"
    "  AND job_type = $1 AND " CLAIMABLE
    "  ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)"
    " RETURNING" JOB_COLS);
/* an API run takes the table's pending job, whatever its backoff */
DB_STMT(JOB_CLAIM_TABLE,
    "UPDATE maintenance_jobs j SET state = 'running', lease_owner = $3,"
    " lease_expires_ms = " NOW " + $4::bigint, heartbeat_ms = " NOW ","
    " attempts = j.attempts + 1, updated_ms = " NOW
    " WHERE j.id = (SELECT id FROM maintenance_jobs"
    "  WHERE table_id = $1 AND job_type = $2 AND NOT dry_run"
    "  AND (state = 'queued' OR (state = 'running' AND lease_expires_ms < "
    NOW ")) LIMIT 1 FOR UPDATE SKIP LOCKED)"
    " RETURNING" JOB_COLS);
DB_STMT(JOB_CREATE_RUNNING,
    "INSERT INTO maintenance_jobs AS j (realm, catalog_id, table_id,"
    " job_type, state, attempts, max_attempts, not_before_ms, lease_owner,"
    " lease_expires_ms, heartbeat_ms, created_ms, updated_ms)"
    " VALUES ($1, $2, $3, $4, 'running', 1, $5, " NOW ", $6, " NOW
    " + $7::bigint, " NOW ", " NOW ", " NOW ")" ONE_PENDING
    " RETURNING" JOB_COLS);
DB_STMT(JOB_HEARTBEAT,
    "UPDATE maintenance_jobs SET lease_expires_ms = " NOW " + $4::bigint,"
    " heartbeat_ms = " NOW ", updated_ms = " NOW FENCE);
DB_STMT(JOB_FINISH,
    "WITH f AS (UPDATE maintenance_jobs SET state = 'done',"
    "  result = $4::jsonb, lease_expires_ms = NULL, updated_ms = " NOW
    FENCE " RETURNING realm, catalog_id, table_id, id, job_type)"
    RUN_INSERT
    " SELECT realm, catalog_id, table_id, $5, id, job_type, 'Successful',"
    " $6::boolean, $7, $8, $9, $10, $11, $12, $13, $14, $16, $15::jsonb"
    " FROM f RETURNING id");
/* back to queued after backoff * 2^(attempts-1) (capped at a day), or
 * failed after max_attempts */
DB_STMT(JOB_FAIL,
    "WITH f AS (UPDATE maintenance_jobs SET state = CASE WHEN attempts >="
    "  max_attempts THEN 'failed' ELSE 'queued' END,"
    "  not_before_ms = " NOW " + LEAST($4::bigint *"
    "  (1::bigint << LEAST(attempts - 1, 20)), 86400000),"
    "  lease_expires_ms = NULL, last_error = $16, updated_ms = " NOW
    FENCE " RETURNING realm, catalog_id, table_id, id, job_type)"
    RUN_INSERT
    " SELECT realm, catalog_id, table_id, $5, id, job_type, 'Failed',"
    " $6::boolean, $7, $8, $9, $10, $11, $12, $13, $14, $16, $15::jsonb"
    " FROM f RETURNING id");
DB_STMT(JOB_SKIP,
    "UPDATE maintenance_jobs SET state = 'done', result = $4::jsonb,"
    " lease_expires_ms = NULL, updated_ms = " NOW FENCE);
DB_STMT(RUN_RECORD,
    RUN_INSERT
    " VALUES ($1, $2, $3, $4, NULL, $5, $6, $7::boolean, $8, $9, $10, $11,"
    " $12, $13, $14, $15, $16, $17::jsonb) RETURNING id");
/* the scheduler's enqueue: the types of $4 not enqueued for this table in
 * the last $6 ms (several daemons schedule; one job per interval is
 * enough) */
DB_STMT(JOB_SCHEDULE,
    "INSERT INTO maintenance_jobs (realm, catalog_id, table_id, job_type,"
    " state, max_attempts, not_before_ms, created_ms, updated_ms)"
    " SELECT $1, $2, $3, ty, 'queued', $5, " NOW ", " NOW ", " NOW
    " FROM unnest($4::text[]) ty WHERE NOT EXISTS (SELECT 1 FROM"
    "  maintenance_jobs j WHERE j.table_id = $3 AND j.job_type = ty"
    "  AND j.created_ms > " NOW " - $6::bigint)" ONE_PENDING);
/* after a commit: expiry for a table with snapshots; are compaction jobs
 * pending (then they may have been settled by this commit)? */
DB_STMT(JOB_AFTER_COMMIT,
    "WITH ins AS (INSERT INTO maintenance_jobs (realm, catalog_id,"
    "  table_id, job_type, state, max_attempts, not_before_ms, created_ms,"
    "  updated_ms)"
    "  SELECT t.realm, t.catalog_id, t.id, k.type, 'queued', $2,"
    "  " NOW " + k.delay, " NOW ", " NOW " FROM tables t,"
    "  (VALUES ('snapshot-expiry', 0), ('compaction-plan', $3::bigint))"
    "   AS k (type, delay) WHERE t.id = $1"
    "  AND t.kind = 'table' AND t.current_snapshot_id IS NOT NULL"
    ONE_PENDING " RETURNING id)"
    " SELECT EXISTS (SELECT 1 FROM maintenance_jobs WHERE table_id = $1"
    " AND job_type = 'compaction' AND state IN ('queued', 'running'))");
DB_STMT(JOBS_PURGE,
    "DELETE FROM maintenance_jobs WHERE id IN (SELECT id FROM"
    " maintenance_jobs WHERE state IN ('done', 'failed')"
    " AND job_type IN ('snapshot-expiry', 'orphan-removal',"
    " 'compaction-plan') AND updated_ms < " NOW " - $1::bigint LIMIT 10000)");
DB_STMT(TABLE_LOAD,
    "SELECT t.catalog_id, c.name, n.path, t.name, t.location,"
    " c.storage_config::text, t.metadata, t.kind"
    " FROM tables t JOIN catalogs c ON c.id = t.catalog_id"
    " JOIN namespaces n ON n.id = t.namespace_id"
    " WHERE t.id = $1 AND t.realm = $2");
DB_STMT(TABLE_FIND,
    "SELECT c.id, n.id, t.id, t.kind FROM catalogs c"
    " LEFT JOIN namespaces n ON n.catalog_id = c.id AND n.path = $3::text[]"
    " LEFT JOIN tables t ON t.namespace_id = n.id AND t.name = $4"
    " WHERE c.realm = $1 AND c.name = $2");
/* every realm; properties extracted server-side (metadata is text) */
DB_STMT(TABLES_WALK,
    "SELECT t.id, t.realm, t.catalog_id, c.name, n.path, t.name,"
    " t.location, (t.metadata::json -> 'properties')::text,"
    " t.current_snapshot_id IS NOT NULL"
    " FROM tables t JOIN catalogs c ON c.id = t.catalog_id"
    " JOIN namespaces n ON n.id = t.namespace_id"
    " WHERE t.id > $1 AND t.kind = 'table' AND t.metadata IS NOT NULL"
    " AND c.type = 'INTERNAL' ORDER BY t.id LIMIT $2");
static int64_t i64(const char *s)
{
    return s != NULL ? strtoll(s, NULL, 10) : 0;
}

static bool is_true(const char *s)
{
    return s != NULL && strcmp(s, "t") == 0;
}

/* A job from JOB_COLS at row 0 of `r`. */
static void job_row(struct cat_ctx *cx, const struct db_rows *r,
                    struct mnt_job *j)
{
    memset(j, 0, sizeof(*j));
    j->id = i64(db_val(r, 0, 0));
    j->realm = db_val(r, 0, 1);
    j->type = db_val(r, 0, 2);
    j->table_id = i64(db_val(r, 0, 3));
    j->dry_run = is_true(db_val(r, 0, 4));
    j->attempts = (int)i64(db_val(r, 0, 5));
    j->payload = cat_json_parse(cx->a, db_val(r, 0, 6));
    j->catalog_id = i64(db_val(r, 0, 7));
    j->max_attempts = (int)i64(db_val(r, 0, 8));
}

/* Run `st` and read the job it returns, if any. */
static bool job_exec(struct cat_ctx *cx, struct db_stmt *st,
                     const char *const *params, int n, struct mnt_job *out,
                     bool *got, struct fl_err *err)
{
    struct db_rows *r;

    *got = false;
    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, st, params, n, cx->a, &r, err)) {
        return false;
    }
    if (r->nrows == 1) {
        job_row(cx, r, out);
        *got = true;
    }
    return true;
}

/*
 * Claim one job of `type` for `owner`: the oldest ready queued job, or a
 * running one whose lease has expired (takeover), as one statement with
 * FOR UPDATE SKIP LOCKED, so concurrent claimers never get the same row.
 * The job becomes running with a lease of `lease_ms` and one more
 * attempt.  *got says whether there was one.  Autocommit on cx's
 * connection; errors are the database's.
 */
bool mnt_job_claim(struct cat_ctx *cx, const char *type, const char *owner,
                   int64_t lease_ms, struct mnt_job *out, bool *got,
                   struct fl_err *err)
{
    return job_exec(cx, &JOB_CLAIM,
                    DB_ARGS(type, owner, cat_i64(cx->a, lease_ms)), out, got,
                    err);
}

/*
 * For a run requested through the API: claim table `t`'s pending job of
 * `type` (queued, even in backoff, or running with an expired lease), or
 * create a running one.  *got is false when another worker holds a live
 * lease on it.  Errors are the database's.
 */
bool mnt_job_claim_table(struct cat_ctx *cx, const struct mnt_table *t,
                         const char *type, const char *owner,
                         int64_t lease_ms, int max_attempts,
                         struct mnt_job *out, bool *got, struct fl_err *err)
{
    const char *tid = cat_i64(cx->a, t->table_id);
    const char *lease = cat_i64(cx->a, lease_ms);
    int         i;

    /* NB: twice, as a worker's or the scheduler's job may appear between
     * the claim and the insert */
    for (i = 0; i < 2; i++) {
        if (!job_exec(cx, &JOB_CLAIM_TABLE, DB_ARGS(tid, type, owner, lease),
                      out, got, err)) {
            return false;
        }
        if (*got) {
            return true;
        }
        if (!job_exec(cx, &JOB_CREATE_RUNNING,
                      DB_ARGS(cx->realm, cat_i64(cx->a, t->catalog_id), tid,
                              type, cat_i64(cx->a, max_attempts), owner,
                              lease),
                      out, got, err)) {
            return false;
        }
        if (*got) {
            return true;
        }
    }
    return true;
}

/*
 * Extend the lease of `j` by `lease_ms` if `owner` still holds it (same
 * attempt, still running).  *held is false when it was taken over or
 * finished.  Errors are the database's.
 */
bool mnt_job_heartbeat(struct cat_ctx *cx, const struct mnt_job *j,
                       const char *owner, int64_t lease_ms, bool *held,
                       struct fl_err *err)
{
    struct db_rows *r;

    *held = false;
    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, &JOB_HEARTBEAT,
                 DB_ARGS(cat_i64(cx->a, j->id), owner,
                         cat_i64(cx->a, j->attempts),
                         cat_i64(cx->a, lease_ms)),
                 cx->a, &r, err)) {
        return false;
    }
    *held = r->affected == 1;
    return true;
}

/* "ns1.ns2.table" as maintenance_runs.table_name keeps it. */
static const char *table_name(struct cat_ctx *cx, const struct mnt_table *t)
{
    if (t == NULL || t->name == NULL) {
        return "";
    }
    if (t->nns == 0) {
        return t->name;
    }
    return fl_sprintf(cx->a, "%s.%s", cat_ns_render(cx->a, t->ns, t->nns),
                      t->name);
}

static const char *details_text(struct cat_ctx *cx, const struct mnt_run *run)
{
    json_t *d = run->fig != NULL ? run->fig->details : NULL;

    return json_is_object(d) ? cat_json_text(cx->a, d) : "{}";
}

/* The figures of `run` as parameters $9..$14 (six strings). */
static void figures(struct cat_ctx *cx, const struct mnt_run *run,
                    const char *out[6])
{
    static const struct mnt_figures zero;
    const struct mnt_figures       *f = run->fig ? run->fig : &zero;

    out[0] = cat_i64(cx->a, f->files_examined);
    out[1] = cat_i64(cx->a, f->bytes_examined);
    out[2] = cat_i64(cx->a, f->files_deleted);
    out[3] = cat_i64(cx->a, f->bytes_deleted);
    out[4] = cat_i64(cx->a, f->files_planned);
    out[5] = cat_i64(cx->a, f->bytes_planned);
}

/* JOB_FINISH or JOB_FAIL: *run_id is 0 when the lease was lost. */
static bool settle(struct cat_ctx *cx, struct db_stmt *st,
                   const struct mnt_job *j, const char *owner,
                   const char *fourth, const struct mnt_table *t,
                   const struct mnt_run *run, int64_t *run_id,
                   struct fl_err *err)
{
    struct db_rows *r;
    const char     *f[6];

    *run_id = 0;
    figures(cx, run, f);
    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, st,
                 DB_ARGS(cat_i64(cx->a, j->id), owner,
                         cat_i64(cx->a, j->attempts), fourth,
                         table_name(cx, t), run->dry_run ? "true" : "false",
                         cat_i64(cx->a, run->started_ms),
                         cat_i64(cx->a, run->finished_ms), f[0], f[1], f[2],
                         f[3], f[4], f[5], details_text(cx, run),
                         run->failure),
                 cx->a, &r, err)) {
        return false;
    }
    if (r->nrows == 1) {
        *run_id = i64(db_val(r, 0, 0));
    }
    return true;
}

/*
 * Job `j` succeeded: mark it done with the figures as its result and
 * record a Successful run, in one statement, only if `owner` still holds
 * it.  *run_id is the run's id, or 0 when the lease was lost (nothing
 * written).  `t` names the table (may be NULL).  Errors: the database's.
 */
bool mnt_job_finish(struct cat_ctx *cx, const struct mnt_job *j,
                    const char *owner, const struct mnt_table *t,
                    const struct mnt_run *run, int64_t *run_id,
                    struct fl_err *err)
{
    const struct mnt_figures *fg = run->fig;
    json_t *res = fg == NULL ? json_object() : json_pack(
        "{sI sI sI sI sI sI}",
        "filesExamined", (json_int_t)fg->files_examined,
        "bytesExamined", (json_int_t)fg->bytes_examined,
        "filesDeleted", (json_int_t)fg->files_deleted,
        "bytesDeleted", (json_int_t)fg->bytes_deleted,
        "filesPlanned", (json_int_t)fg->files_planned,
        "bytesPlanned", (json_int_t)fg->bytes_planned);
    const char *text = cat_json_text(cx->a, res);

    json_decref(res);
    return settle(cx, &JOB_FINISH, j, owner, text, t, run, run_id, err);
}

/*
 * Job `j` failed (run->failure says why): back to queued with
 * not_before = now + backoff_ms * 2^(attempts-1), or failed once its
 * attempts reach max_attempts; a Failed run is recorded in the same
 * statement.  Fenced as mnt_job_finish.  Errors: the database's.
 */
bool mnt_job_fail(struct cat_ctx *cx, const struct mnt_job *j,
                  const char *owner, const struct mnt_table *t,
                  const struct mnt_run *run, int64_t backoff_ms,
                  int64_t *run_id, struct fl_err *err)
{
    return settle(cx, &JOB_FAIL, j, owner, cat_i64(cx->a, backoff_ms), t,
                  run, run_id, err);
}

/*
 * Job `j` had nothing to do (its kind is disabled for the table): done,
 * with {"skipped": why} as its result and no run recorded.
 */
bool mnt_job_skip(struct cat_ctx *cx, const struct mnt_job *j,
                  const char *owner, const char *why, struct fl_err *err)
{
    json_t     *res = json_pack("{ss}", "skipped", why);
    const char *text = cat_json_text(cx->a, res);

    json_decref(res);
    return cat_conn(cx, err) != NULL &&
           db_exec(cx->conn, &JOB_SKIP,
                   DB_ARGS(cat_i64(cx->a, j->id), owner,
                           cat_i64(cx->a, j->attempts), text),
                   cx->a, NULL, err);
}

/*
 * Record a run that belongs to no job (a dry run requested through the
 * API).  Errors: the database's.
 */
bool mnt_run_record(struct cat_ctx *cx, const struct mnt_table *t,
                    const struct mnt_run *run, int64_t *run_id,
                    struct fl_err *err)
{
    struct db_rows *r;
    const char     *f[6];

    figures(cx, run, f);
    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, &RUN_RECORD,
                 DB_ARGS(cx->realm, cat_i64(cx->a, t->catalog_id),
                         cat_i64(cx->a, t->table_id), table_name(cx, t),
                         run->type,
                         run->failure ? "Failed" : "Successful",
                         run->dry_run ? "true" : "false",
                         cat_i64(cx->a, run->started_ms),
                         cat_i64(cx->a, run->finished_ms), f[0], f[1], f[2],
                         f[3], f[4], f[5], run->failure,
                         details_text(cx, run)),
                 cx->a, &r, err)) {
        return false;
    }
    *run_id = i64(db_val(r, 0, 0));
    return true;
}

/*
 * The scheduler's enqueue for one table: each of `types` (n of them) not
 * enqueued for it in the last `recent_ms`, unless one is already pending.
 * cx->realm is the table's realm.  Errors: the database's.
 */
bool mnt_schedule_table(struct cat_ctx *cx, int64_t catalog_id,
                        int64_t table_id, const char *const *types, int n,
                        int64_t recent_ms, int max_attempts,
                        struct fl_err *err)
{
    if (n == 0) {
        return true;
    }
    return cat_conn(cx, err) != NULL &&
           db_exec(cx->conn, &JOB_SCHEDULE,
                   DB_ARGS(cx->realm, cat_i64(cx->a, catalog_id),
                           cat_i64(cx->a, table_id),
                           cat_pg_array(cx->a, types, n),
                           cat_i64(cx->a, max_attempts),
                           cat_i64(cx->a, recent_ms)),
                   cx->a, NULL, err);
}

/* Delete daemon jobs finished more than `older_ms` ago (10,000 at most);
 * the run history keeps what they did.  Returns the count, -1 on error. */
long mnt_jobs_purge(struct cat_ctx *cx, int64_t older_ms, struct fl_err *err)
{
    struct db_rows *r;

    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, &JOBS_PURGE, DB_ARGS(cat_i64(cx->a, older_ms)),
                 cx->a, &r, err)) {
        return -1;
    }
    return r->affected;
}

/* Max attempts of the jobs mnt_after_commit enqueues (mnt_start sets it). */
static _Atomic int after_commit_attempts = 5;

void mnt_after_commit_attempts(int n)
{
    after_commit_attempts = n;
}

/* The work of mnt_after_commit; false with err set. */
static bool after_commit(struct cat_ctx *cx, int64_t table_id,
                         struct fl_err *err)
{
    struct db_rows  *r;
    struct mnt_table t;
    json_t          *meta;

    /* planning waits a minute, so a burst of commits plans once */
    if (!db_exec(cx->conn, &JOB_AFTER_COMMIT,
                 DB_ARGS(cat_i64(cx->a, table_id),
                         cat_i64(cx->a, after_commit_attempts),
                         cat_i64(cx->a, PLAN_AFTER_COMMIT_MS)),
                 cx->a, &r, err)) {
        return false;
    }
    if (!is_true(db_val(r, 0, 0))) {
        return true;
    }
    return mnt_table_load(cx, table_id, &t, &meta, err) &&
           mnt_compaction_settle(cx, table_id, meta, err);
}

/*
 * After a successful commit to table `table_id` (cx->realm): enqueue its
 * snapshot expiry if it has snapshots (one INSERT, deduplicated), and, if
 * compaction jobs are pending for it, let mnt_compaction_settle see the
 * new metadata.  Inside a transaction (an Idempotency-Key request) the
 * work runs in a savepoint, so its failure never aborts the commit.
 * Failures are logged, never returned: the commit stands.
 */
void mnt_after_commit(struct cat_ctx *cx, int64_t table_id)
{
    struct fl_err err;
    bool          nested;

    fl_err_clear(&err);
    if (cat_conn(cx, &err) == NULL) {
        goto fail;
    }
    nested = db_in_transaction(cx->conn);
    if (nested && !db_begin(cx->conn, &err)) {
        goto fail;
    }
    if (!after_commit(cx, table_id, &err) ||
        (nested && !db_commit(cx->conn, &err))) {
        if (nested) {
            db_rollback(cx->conn);
        }
        goto fail;
    }
    return;
fail:
    fl_log(FL_LOG_WARN, "maintenance: after a commit to table %lld: %s",
           (long long)table_id, err.msg);
}

/* Fill `t` from TABLE_LOAD-shaped columns starting at `col`. */
static void table_fill(struct cat_ctx *cx, const struct db_rows *r, int row,
                       struct mnt_table *t)
{
    t->catalog_id = i64(db_val(r, row, 0));
    t->catalog = db_val(r, row, 1);
    t->ns = cat_pg_array_parse(cx->a, db_val(r, row, 2), &t->nns);
    t->name = db_val(r, row, 3);
    t->location = db_val(r, row, 4);
}

/*
 * Load table `table_id` of realm cx->realm: its catalog, namespace, name,
 * base location, the catalog's storage configuration and the current
 * metadata (*meta, owned by the arena).  Errors: 404 NoSuchTableException
 * when it is gone (or is a view, or staged), 500 when its stored metadata
 * does not parse, the database's.
 */
bool mnt_table_load(struct cat_ctx *cx, int64_t table_id,
                    struct mnt_table *t, json_t **meta, struct fl_err *err)
{
    struct db_rows *r;
    const char     *kind;

    memset(t, 0, sizeof(*t));
    *meta = NULL;
    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, &TABLE_LOAD,
                 DB_ARGS(cat_i64(cx->a, table_id), cx->realm), cx->a, &r,
                 err)) {
        return false;
    }
    kind = r->nrows == 1 ? db_val(r, 0, 7) : NULL;
    if (kind == NULL || strcmp(kind, "table") != 0 ||
        db_val(r, 0, 6) == NULL) {
        return FL_ERR(err, 404, "NoSuchTableException",
                      "Table does not exist: id %lld", (long long)table_id);
    }
    t->table_id = table_id;
    table_fill(cx, r, 0, t);
    t->storage = cat_json_parse(cx->a, db_val(r, 0, 5));
    *meta = cat_json_parse(cx->a, db_val(r, 0, 6));
    if (!json_is_object(*meta)) {
        return FL_ERR(err, 500, "InternalServerError",
                      "could not parse the metadata of table %s",
                      table_name(cx, t));
    }
    if (t->location == NULL) {
        t->location = json_string_value(json_object_get(*meta, "location"));
    }
    return true;
}

/*
 * Find table `name` in namespace `ns` of catalog `catalog` (cx->realm) and
 * load it as mnt_table_load does.  Errors: 404 NotFoundException for the
 * catalog, NoSuchNamespaceException, NoSuchTableException; the database's.
 */
bool mnt_table_find(struct cat_ctx *cx, const char *catalog,
                    const char *const *ns, int nns, const char *name,
                    struct mnt_table *t, json_t **meta, struct fl_err *err)
{
    int64_t cid, nid, tid;

    if (!mnt_target_find(cx, catalog, ns, nns, name, &cid, &nid, &tid,
                         err)) {
        return false;
    }
    return mnt_table_load(cx, tid, t, meta, err);
}

/*
 * Resolve catalog `catalog`, namespace `ns` (nns 0: none) and table `name`
 * (NULL: none) of cx->realm into ids.  Errors: 404 NotFoundException for a
 * missing catalog, NoSuchNamespaceException, NoSuchTableException (a view
 * is no table); the database's.
 */
bool mnt_target_find(struct cat_ctx *cx, const char *catalog,
                     const char *const *ns, int nns, const char *name,
                     int64_t *catalog_id, int64_t *ns_id, int64_t *table_id,
                     struct fl_err *err)
{
    struct db_rows *r;
    const char     *kind;

    *catalog_id = *ns_id = *table_id = 0;
    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, &TABLE_FIND,
                 DB_ARGS(cx->realm, catalog, cat_pg_array(cx->a, ns, nns),
                         name ? name : ""),
                 cx->a, &r, err)) {
        return false;
    }
    if (r->nrows == 0) {
        return FL_ERR(err, 404, "NotFoundException",
                      "Catalog %s does not exist", catalog);
    }
    *catalog_id = i64(db_val(r, 0, 0));
    if (nns > 0 && db_val(r, 0, 1) == NULL) {
        return FL_ERR(err, 404, "NoSuchNamespaceException",
                      "Namespace does not exist: %s",
                      cat_ns_render(cx->a, ns, nns));
    }
    *ns_id = i64(db_val(r, 0, 1));
    if (name == NULL) {
        return true;
    }
    kind = db_val(r, 0, 3);
    if (kind == NULL || strcmp(kind, "table") != 0) {
        return FL_ERR(err, 404, "NoSuchTableException",
                      "Table does not exist: %s.%s",
                      cat_ns_render(cx->a, ns, nns), name);
    }
    *table_id = i64(db_val(r, 0, 2));
    return true;
}

/*
 * One batch of the scheduler's walk: up to `limit` Iceberg tables of
 * internal catalogs, every realm, with ids above `after`, in id order.
 * Rows live in cx's arena.  Errors: the database's.
 */
bool mnt_tables_walk(struct cat_ctx *cx, int64_t after, int limit,
                     struct mnt_sched_row **rows, int *n,
                     struct fl_err *err)
{
    struct db_rows *r;
    int             i;

    *n = 0;
    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, &TABLES_WALK,
                 DB_ARGS(cat_i64(cx->a, after), cat_i64(cx->a, limit)),
                 cx->a, &r, err)) {
        return false;
    }
    *rows = fl_alloc(cx->a, sizeof(**rows) * (size_t)(r->nrows + 1));
    for (i = 0; i < r->nrows; i++) {
        struct mnt_sched_row *s = &(*rows)[i];

        s->t.table_id = i64(db_val(r, i, 0));
        s->realm = db_val(r, i, 1);
        s->t.catalog_id = i64(db_val(r, i, 2));
        s->t.catalog = db_val(r, i, 3);
        s->t.ns = cat_pg_array_parse(cx->a, db_val(r, i, 4), &s->t.nns);
        s->t.name = db_val(r, i, 5);
        s->t.location = db_val(r, i, 6);
        s->props = db_val(r, i, 7) ? cat_json_parse(cx->a, db_val(r, i, 7))
                                   : NULL;
        s->has_snapshot = is_true(db_val(r, i, 8));
    }
    *n = r->nrows;
    return true;
}
