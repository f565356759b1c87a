/*
 * mnt_cjobs.c
 *
 * The executor side of compaction jobs (maintenance_jobs rows of type
 * 'compaction', planned by mnt_compact.c): listing them keyset-paginated,
 * claiming one (FOR UPDATE SKIP LOCKED, with a lease; a lapsed lease is
 * taken over, and a job whose holders lapsed max_attempts times fails),
 * heartbeats, completion (verified against the table's history with the
 * same judge that settles jobs after commits) and failure with backoff.
 * Every write after the claim is fenced by the lease owner and the
 * running state, so an executor that lost its lease changes nothing.
 *
 * Queue times come from the database's clock, as in mnt_queue.c.  Its
 * claim serves the daemon's own job types; executors are scoped to a
 * catalog, a namespace or a table (what their grants cover), so these
 * statements are their own.
 *
 * Not here: planning and settling (mnt_compact.c), HTTP and authorization
 * (server/srv_compaction.c).
 */
#include "maintenance/mnt_int.h"

#include <stdlib.h>
#include <string.h>

#define NOW "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"
/* Claims that may find settled jobs first (each is settled, then the
 * next is claimed). */
#define MAX_CLAIM_TRIES 8
#define CJ_COLS                                                         \
    " j.id, n.path, t.name, j.state, j.attempts, j.max_attempts,"       \
    " j.lease_owner, j.lease_expires_ms, j.heartbeat_ms,"               \
    " j.not_before_ms, j.created_ms, j.updated_ms, j.last_error,"       \
    " j.result::text, j.payload::text, j.table_id"
#define CJ_FROM                                                         \
    " FROM maintenance_jobs j JOIN tables t ON t.id = j.table_id"       \
    " JOIN namespaces n ON n.id = t.namespace_id"
/* the fence of every write after a claim */
#define HELD                                                            \
    " WHERE id = $1 AND lease_owner = $2 AND state = 'running'"         \
    " AND job_type = 'compaction'"

enum {
    C_ID, C_PATH, C_TABLE, C_STATE, C_ATTEMPTS, C_MAX, C_OWNER, C_LEASE,
    C_BEAT, C_NOT_BEFORE, C_CREATED, C_UPDATED, C_ERROR, C_RESULT,
    C_PAYLOAD, C_TABLE_ID
};

DB_STMT(CJ_GET,
    "SELECT" CJ_COLS CJ_FROM " JOIN catalogs c ON c.id = j.catalog_id"
    " WHERE c.realm = $1 AND c.name = $2 AND j.id = $3"
    " AND j.job_type = 'compaction'");
DB_STMT(CJ_LIST,
    "SELECT" CJ_COLS CJ_FROM
    " WHERE j.catalog_id = $1 AND j.job_type = 'compaction' AND j.id > $2"
    " AND ($3::text IS NULL OR j.state = $3)"
    " AND ($4::bigint IS NULL OR j.table_id = $4)"
    " AND ($5::text[] IS NULL"
    "  OR n.path[1:cardinality($5::text[])] = $5::text[])"
    " ORDER BY j.id LIMIT $6");
/* holders that kept lapsing: failed, not claimed forever */
DB_STMT(CJ_EXHAUSTED,
    "UPDATE maintenance_jobs SET state = 'failed', last_error ="
    " 'lease lapsed after ' || attempts || ' attempts',"
    " lease_expires_ms = NULL, updated_ms = " NOW
    " WHERE job_type = 'compaction' AND state = 'running'"
    " AND lease_expires_ms < " NOW " AND attempts >= max_attempts"
    " AND catalog_id = $1");
DB_STMT(CJ_CLAIM,
    "UPDATE maintenance_jobs j SET state = 'running', lease_owner = $4,"
    " lease_expires_ms = " NOW " + $5::bigint, heartbeat_ms = " NOW ","
    " attempts = j.attempts + 1, updated_ms = " NOW
    " WHERE j.id = (SELECT j2.id FROM maintenance_jobs j2"
    "  JOIN tables t ON t.id = j2.table_id"
    "  JOIN namespaces n ON n.id = t.namespace_id"
    "  WHERE j2.catalog_id = $1 AND j2.job_type = 'compaction'"
    "  AND ((j2.state = 'queued' AND j2.not_before_ms <= " NOW ")"
    "   OR (j2.state = 'running' AND j2.lease_expires_ms < " NOW
    "    AND j2.attempts < j2.max_attempts))"
    "  AND ($2::bigint IS NULL OR j2.table_id = $2)"
    "  AND ($3::text[] IS NULL"
    "   OR n.path[1:cardinality($3::text[])] = $3::text[])"
    "  ORDER BY j2.id LIMIT 1 FOR UPDATE OF j2 SKIP LOCKED)"
    " RETURNING j.id");
DB_STMT(CJ_BEAT,
    "UPDATE maintenance_jobs SET lease_expires_ms = " NOW " + $3::bigint,"
    " heartbeat_ms = " NOW ", updated_ms = " NOW HELD " RETURNING id");
DB_STMT(CJ_FINISH,
    "UPDATE maintenance_jobs SET state = $3, result = $4::jsonb,"
    " lease_expires_ms = NULL, updated_ms = " NOW HELD " RETURNING id");
DB_STMT(CJ_REPORT,
    "UPDATE maintenance_jobs SET result = $3::jsonb, updated_ms = " NOW
    HELD " RETURNING id");
/* back to queued after backoff * 2^(attempts-1) (capped at a day), or
 * failed after max_attempts, as mnt_queue.c's daemon jobs */
DB_STMT(CJ_FAIL,
    "UPDATE maintenance_jobs SET state = CASE WHEN attempts >="
    " max_attempts THEN 'failed' ELSE 'queued' END,"
    " not_before_ms = " NOW " + LEAST($4::bigint *"
    " (1::bigint << LEAST(attempts - 1, 20)), 86400000),"
    " lease_expires_ms = NULL, last_error = $3, updated_ms = " NOW HELD
    " RETURNING id");

/* ---------------------------------------------------------------- JSON */

static int64_t i64(const char *s)
{
    return s != NULL ? strtoll(s, NULL, 10) : 0;
}

/* A bigint column as JSON, null when NULL.  Returns a new reference. */
static json_t *num_or_null(const char *s)
{
    return s != NULL ? json_integer(i64(s)) : json_null();
}

/* `s` as a Spark SQL string literal (backslash escapes).  Arena. */
static const char *sql_literal(struct fl_arena *a, const char *s)
{
    struct fl_buf b;

    fl_buf_init(&b, a, 0);
    fl_buf_append(&b, "'", 1);
    for (; *s != '\0'; s++) {
        if (*s == '\'' || *s == '\\') {
            fl_buf_append(&b, "\\", 1);
        }
        fl_buf_append(&b, s, 1);
    }
    fl_buf_append(&b, "'", 1);
    return b.p;
}

/*
 * The Spark procedure call that executes the group: rewrite_data_files
 * on the group's partition (its `where`) with the planned target size
 * and min-input-files 1, the catalog named as in Floe.  NULL without a
 * `where` (a partition no exact predicate selects).  Arena.
 */
static const char *spark_call(struct fl_arena *a, const char *catalog,
                              const char *const *ns, int nns,
                              const char *table, json_t *group)
{
    const char *where = json_string_value(json_object_get(group, "where"));
    json_int_t  target = json_integer_value(json_object_get(
                                                group, "targetFileSize"));

    if (where == NULL) {
        return NULL;
    }
    return fl_sprintf(a, "CALL %s.system.rewrite_data_files(table => %s, "
                      "where => %s, options => map('target-file-size-bytes',"
                      " '%" JSON_INTEGER_FORMAT "', 'min-input-files', '1'))",
                      catalog,
                      sql_literal(a, fl_sprintf(a, "%s.%s",
                                                cat_ns_render(a, ns, nns),
                                                table)),
                      sql_literal(a, where), target);
}

/* spec: floe CompactionJob, from CJ_COLS row `i` of `r`.  Returns a new
 * reference. */
static json_t *job_json(struct cat_ctx *cx, const char *catalog,
                        const struct db_rows *r, int i)
{
    json_t      *v = json_object();
    json_t      *group = cat_json_parse(cx->a, db_val(r, i, C_PAYLOAD));
    const char **ns;
    const char  *call;
    int          nns;
    int          k;
    json_t      *arr = json_array();

    ns = cat_pg_array_parse(cx->a, db_val(r, i, C_PATH), &nns);
    for (k = 0; k < nns; k++) {
        json_array_append_new(arr, json_string(ns[k]));
    }
    json_object_set_new(v, "id", json_integer(i64(db_val(r, i, C_ID))));
    json_object_set_new(v, "namespace", arr);
    json_object_set_new(v, "table", json_string(db_val(r, i, C_TABLE)));
    json_object_set_new(v, "state", json_string(db_val(r, i, C_STATE)));
    json_object_set_new(v, "attempts",
                        json_integer(i64(db_val(r, i, C_ATTEMPTS))));
    json_object_set_new(v, "maxAttempts",
                        json_integer(i64(db_val(r, i, C_MAX))));
    json_object_set_new(v, "leaseOwner",
                        db_val(r, i, C_OWNER) != NULL
                            ? json_string(db_val(r, i, C_OWNER))
                            : json_null());
    json_object_set_new(v, "leaseExpiresMs",
                        num_or_null(db_val(r, i, C_LEASE)));
    json_object_set_new(v, "heartbeatMs", num_or_null(db_val(r, i, C_BEAT)));
    json_object_set_new(v, "notBeforeMs",
                        num_or_null(db_val(r, i, C_NOT_BEFORE)));
    json_object_set_new(v, "createdMs", num_or_null(db_val(r, i, C_CREATED)));
    json_object_set_new(v, "updatedMs", num_or_null(db_val(r, i, C_UPDATED)));
    json_object_set_new(v, "lastError",
                        db_val(r, i, C_ERROR) != NULL
                            ? json_string(db_val(r, i, C_ERROR))
                            : json_null());
    json_object_set(v, "result",
                    db_val(r, i, C_RESULT) != NULL
                        ? cat_json_parse(cx->a, db_val(r, i, C_RESULT))
                        : json_null());
    json_object_set(v, "group", group);
    call = spark_call(cx->a, catalog, ns, nns, db_val(r, i, C_TABLE), group);
    if (call != NULL) {
        json_object_set_new(v, "sparkCall", json_string(call));
    }
    return v;
}

/* ------------------------------------------------------------ lookups */

/* Job `job_id` of `catalog` (cx->realm) into *r (one row), or 404. */
static bool job_get(struct cat_ctx *cx, const char *catalog, int64_t job_id,
                    struct db_rows **r, struct fl_err *err)
{
    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, &CJ_GET,
                 DB_ARGS(cx->realm, catalog, cat_i64(cx->a, job_id)), cx->a,
                 r, err)) {
        return false;
    }
    if ((*r)->nrows == 0) {
        return FL_ERR(err, 404, "NotFoundException",
                      "Compaction job %lld does not exist in catalog %s",
                      (long long)job_id, catalog);
    }
    return true;
}

/*
 * The namespace and table of compaction job `job_id` of `catalog`
 * (cx->realm), for authorizers; *found is false (and nothing else set)
 * when there is no such job.  Strings live in cx->a.  Errors: the
 * database's.
 */
bool mnt_cjob_table(struct cat_ctx *cx, const char *catalog, int64_t job_id,
                    const char *const **ns, int *nns, const char **table,
                    bool *found, struct fl_err *err)
{
    struct db_rows *r;

    *found = false;
    if (!job_get(cx, catalog, job_id, &r, err)) {
        if (err->status == 404) {
            fl_err_clear(err);
            return true;
        }
        return false;
    }
    *ns = cat_pg_array_parse(cx->a, db_val(r, 0, C_PATH), nns);
    *table = db_val(r, 0, C_TABLE);
    *found = true;
    return true;
}

/* Job `job_id` of `catalog` as JSON.  Returns a new reference, or NULL. */
static json_t *job_load(struct cat_ctx *cx, const char *catalog,
                        int64_t job_id, struct fl_err *err)
{
    struct db_rows *r;

    return job_get(cx, catalog, job_id, &r, err) ? job_json(cx, catalog, r, 0)
                                                 : NULL;
}

/* ------------------------------------------------------------- listing */

/*
 * One page of the compaction jobs of `catalog` (cx->realm): of the table
 * `table` in namespace `ns`, or of namespace `ns` and its children, or all
 * (nns 0, table NULL); in `state` (NULL: any); by id.  `page_token` is a
 * token this listing issued (same filters).  Returns {"jobs": [...],
 * "next-page-token": token or absent}, a new reference.  Errors: 404 for
 * a missing catalog, namespace or table; 400 BadRequestException for a
 * foreign page token; the database's.
 */
json_t *mnt_cjobs_list(struct cat_ctx *cx, const char *catalog,
                       const char *const *ns, int nns, const char *table,
                       const char *state, const char *page_token,
                       int page_size, struct fl_err *err)
{
    const char     *scope = fl_sprintf(cx->a, "cjobs\x1f%s\x1f%s\x1f%s\x1f%s",
                                       catalog, cat_ns_render(cx->a, ns, nns),
                                       table ? table : "",
                                       state ? state : "");
    const char     *after = "0";
    int64_t         cid, nid, tid;
    struct db_rows *r;
    json_t         *jobs;
    int             i;
    int             n;

    if (page_token != NULL && page_token[0] != '\0') {
        after = cat_token_decode(cx, scope, page_token, err);
        if (after == NULL) {
            return NULL;
        }
    }
    if (!mnt_target_find(cx, catalog, ns, nns, table, &cid, &nid, &tid,
                         err) ||
        !db_exec(cx->conn, &CJ_LIST,
                 DB_ARGS(cat_i64(cx->a, cid), after, state,
                         table ? cat_i64(cx->a, tid) : NULL,
                         nns > 0 && table == NULL
                             ? cat_pg_array(cx->a, ns, nns) : NULL,
                         cat_i64(cx->a, page_size + 1)),
                 cx->a, &r, err)) {
        return NULL;
    }
    jobs = json_array();
    n = r->nrows > page_size ? page_size : r->nrows;
    for (i = 0; i < n; i++) {
        json_array_append_new(jobs, job_json(cx, catalog, r, i));
    }
    if (r->nrows > page_size) {
        return json_pack("{so ss}", "jobs", jobs, "next-page-token",
                         cat_token_encode(cx, scope, db_val(r, n - 1, C_ID)));
    }
    return json_pack("{so}", "jobs", jobs);
}

/* ------------------------------------------------------------ claiming */

static bool job_verdict(struct cat_ctx *cx, const struct db_rows *r,
                        enum mnt_cjudge *how, int64_t *snap,
                        struct fl_err *err);

/*
 * Is the job just claimed (row `r`) still worth running?  One whose files
 * the table's history already settles is marked done or obsolete instead.
 * A history that cannot be read leaves the job to its executor (logged).
 */
static bool claimed_pending(struct cat_ctx *cx, const struct db_rows *r,
                            bool *pending, struct fl_err *err)
{
    struct fl_err   jerr;
    enum mnt_cjudge how;
    int64_t         snap;

    *pending = true;
    fl_err_clear(&jerr);
    if (!job_verdict(cx, r, &how, &snap, &jerr)) {
        fl_log(FL_LOG_WARN, "compaction job %s: not checked against its "
               "table's history: %s", db_val(r, 0, C_ID), jerr.msg);
        return true;
    }
    *pending = how == MNT_CJ_PENDING;
    return *pending ||
           mnt_compaction_mark(cx, i64(db_val(r, 0, C_ID)), how, snap, err);
}

/*
 * Claim one compaction job of `catalog` for `owner` with a lease of
 * `lease_ms`: the oldest job of the catalog (of table `table` in `ns`, or
 * of namespace `ns` and below, when given) that is queued and past its
 * backoff, or running with a lapsed lease and attempts left (takeover).
 * One statement with FOR UPDATE SKIP LOCKED: two claimers never get the
 * same job.  Jobs whose leases lapsed max_attempts times fail first; a
 * claimed job whose files the table's history shows rewritten or gone is
 * settled (done, obsolete) and the next one claimed.  Returns the job
 * (running, attempts + 1), a new reference; NULL with no error set when
 * none is ready.  Errors: 404 for a missing catalog, namespace or table;
 * reading manifests; the database's.  Autocommit.
 */
json_t *mnt_cjob_claim(struct cat_ctx *cx, const char *catalog,
                       const char *const *ns, int nns, const char *table,
                       const char *owner, int64_t lease_ms,
                       struct fl_err *err)
{
    int64_t         cid, nid, tid;
    struct db_rows *r;
    bool            pending = false;
    int             tries;

    if (!mnt_target_find(cx, catalog, ns, nns, table, &cid, &nid, &tid,
                         err) ||
        !db_exec(cx->conn, &CJ_EXHAUSTED, DB_ARGS(cat_i64(cx->a, cid)),
                 cx->a, NULL, err)) {
        return NULL;
    }
    for (tries = 0; !pending && tries < MAX_CLAIM_TRIES; tries++) {
        if (!db_exec(cx->conn, &CJ_CLAIM,
                     DB_ARGS(cat_i64(cx->a, cid),
                             table ? cat_i64(cx->a, tid) : NULL,
                             nns > 0 && table == NULL
                                 ? cat_pg_array(cx->a, ns, nns) : NULL,
                             owner, cat_i64(cx->a, lease_ms)),
                     cx->a, &r, err)) {
            return NULL;
        }
        if (r->nrows == 0) {
            return NULL;
        }
        if (!job_get(cx, catalog, i64(db_val(r, 0, 0)), &r, err) ||
            !claimed_pending(cx, r, &pending, err)) {
            return NULL;
        }
    }
    return pending ? job_json(cx, catalog, r, 0) : NULL;
}

/* 409 for a write the fence refused: who holds job `r` now, if anyone. */
static bool not_held(const struct db_rows *r, const char *owner,
                     struct fl_err *err)
{
    const char *holder = db_val(r, 0, C_OWNER);

    return FL_ERR(err, 409, "CommitConflictException",
                  "Compaction job %s is not held by %s: it is %s%s%s",
                  db_val(r, 0, C_ID), owner, db_val(r, 0, C_STATE),
                  holder != NULL && strcmp(holder, owner) != 0
                      ? ", leased by " : "",
                  holder != NULL && strcmp(holder, owner) != 0 ? holder : "");
}

/* Run the fenced write `st` ($1 id, $2 owner, then `extra`) on job `job_id`
 * of `catalog`; 404 when there is no such job, 409 when the fence holds. */
static bool fenced(struct cat_ctx *cx, const char *catalog, int64_t job_id,
                   const char *owner, struct db_stmt *st,
                   const char *const *extra, int nextra, struct fl_err *err)
{
    const char     *p[4];
    struct db_rows *r;
    struct db_rows *w;
    int             i;

    if (!job_get(cx, catalog, job_id, &r, err)) {
        return false;
    }
    p[0] = db_val(r, 0, C_ID);
    p[1] = owner;
    for (i = 0; i < nextra && i < 2; i++) {
        p[2 + i] = extra[i];
    }
    if (!db_exec(cx->conn, st, p, 2 + nextra, cx->a, &w, err)) {
        return false;
    }
    return w->nrows == 1 || not_held(r, owner, err);
}

/*
 * Extend `owner`'s lease on job `job_id` of `catalog` by `lease_ms` from
 * now.  Returns the job, a new reference.  Errors: 404 for an unknown
 * job; 409 CommitConflictException when `owner` does not hold it (taken
 * over, finished, settled); the database's.
 */
json_t *mnt_cjob_heartbeat(struct cat_ctx *cx, const char *catalog,
                           int64_t job_id, const char *owner,
                           int64_t lease_ms, struct fl_err *err)
{
    if (!fenced(cx, catalog, job_id, owner, &CJ_BEAT,
                DB_ARGS(cat_i64(cx->a, lease_ms)), err)) {
        return NULL;
    }
    return job_load(cx, catalog, job_id, err);
}

/* The judge's verdict on job row `r` against its table's metadata. */
static bool job_verdict(struct cat_ctx *cx, const struct db_rows *r,
                        enum mnt_cjudge *how, int64_t *snap,
                        struct fl_err *err)
{
    struct mnt_table t;
    json_t          *meta;

    return mnt_table_load(cx, i64(db_val(r, 0, C_TABLE_ID)), &t, &meta,
                          err) &&
           mnt_judge_job(mnt_judge_new(cx, meta),
                         cat_json_parse(cx->a, db_val(r, 0, C_PAYLOAD)), how,
                         snap, err);
}

/*
 * `owner` says it rewrote job `job_id` of `catalog` and committed the
 * replace snapshot `snapshot_id` (-1: not said).  The table's history
 * decides: done ({"snapshotId", "completedBy"}) when replace snapshots
 * since the planning removed all the job's files, obsolete when something
 * else removed one; otherwise the job stays running with the report in
 * its result, for the commit's settling to finish.  A job already settled
 * done or obsolete while `owner` held it is returned as it is.  Returns
 * the job, a new reference.  Errors: 404, 409 as mnt_cjob_heartbeat;
 * reading manifests; the database's.
 */
json_t *mnt_cjob_complete(struct cat_ctx *cx, const char *catalog,
                          int64_t job_id, const char *owner,
                          int64_t snapshot_id, struct fl_err *err)
{
    struct db_rows *r;
    enum mnt_cjudge how;
    int64_t         snap;
    json_t         *res;
    const char     *state;
    const char     *holder;

    if (!job_get(cx, catalog, job_id, &r, err)) {
        return NULL;
    }
    state = db_val(r, 0, C_STATE);
    holder = db_val(r, 0, C_OWNER);
    if (holder != NULL && strcmp(holder, owner) == 0 &&
        (strcmp(state, "done") == 0 || strcmp(state, "obsolete") == 0)) {
        return job_json(cx, catalog, r, 0);
    }
    if (strcmp(state, "running") != 0 || holder == NULL ||
        strcmp(holder, owner) != 0) {
        not_held(r, owner, err);
        return NULL;
    }
    if (!job_verdict(cx, r, &how, &snap, err)) {
        return NULL;
    }
    res = how == MNT_CJ_DONE
              ? json_pack("{sI ss}", "snapshotId", (json_int_t)snap,
                          "completedBy", owner)
          : how == MNT_CJ_OBSOLETE
              ? json_pack("{ss ss}", "reason", "its files were removed by "
                          "another commit", "completedBy", owner)
              : json_pack("{ss sb}", "reportedBy", owner, "verified", 0);
    if (how == MNT_CJ_PENDING && snapshot_id >= 0) {
        json_object_set_new(res, "reportedSnapshotId",
                            json_integer(snapshot_id));
    }
    if (!(how == MNT_CJ_PENDING
              ? fenced(cx, catalog, job_id, owner, &CJ_REPORT,
                       DB_ARGS(cat_json_text(cx->a, res)), err)
              : fenced(cx, catalog, job_id, owner, &CJ_FINISH,
                       DB_ARGS(how == MNT_CJ_DONE ? "done" : "obsolete",
                               cat_json_text(cx->a, res)), err))) {
        json_decref(res);
        return NULL;
    }
    json_decref(res);
    return job_load(cx, catalog, job_id, err);
}

/*
 * `owner` gave up job `job_id` of `catalog` (`message` says why): queued
 * again after backoff_ms * 2^(attempts-1) (capped at a day), or failed
 * once its attempts reach max_attempts.  Returns the job, a new
 * reference.  Errors: 404, 409 as mnt_cjob_heartbeat; the database's.
 */
json_t *mnt_cjob_fail(struct cat_ctx *cx, const char *catalog,
                      int64_t job_id, const char *owner, const char *message,
                      int64_t backoff_ms, struct fl_err *err)
{
    if (!fenced(cx, catalog, job_id, owner, &CJ_FAIL,
                DB_ARGS(message, cat_i64(cx->a, backoff_ms)), err)) {
        return NULL;
    }
    return job_load(cx, catalog, job_id, err);
}
