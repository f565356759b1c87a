/*
 * mnt_worker.c
 *
 * The threads of built-in maintenance: per daemon job type, N workers that
 * claim a job, run its kind (mnt_expire, mnt_orphans, mnt_plan_compaction)
 * with the table's effective configuration, and finish or fail it; while a
 * job runs, a heartbeat thread of its own renews the lease every
 * heartbeat_ms.  A scheduler thread enqueues orphan removal, compaction
 * planning and (for tables with snapshots) expiry for every table whose
 * configuration enables them, every interval_ms.
 *
 * Several daemons on one database share the queue: claims are exclusive,
 * a job whose holder died is taken over once its lease lapses, and every
 * write after the claim is fenced (mnt_queue.c), so a worker that lost its
 * lease records nothing.  mnt_stop makes workers stop claiming and waits
 * for the jobs in hand.
 *
 * Each job runs in an arena of its own, on a connection from the pool the
 * daemon gave (sized for the workers, their heartbeats and the scheduler).
 */
#include "maintenance/mnt_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WALK_BATCH 200

struct mnt;

struct worker {
    struct mnt *m;
    pthread_t   th;
    const char *type;
    char        name[64];
    bool        started;
};

struct mnt {
    struct db_pool            *pool;
    const struct cat_settings *cs;
    struct mnt_settings        ms;
    char                      *owner;
    int64_t                    delay_ms;    /* FL_MNT_DELAY_MS (tests) */
    pthread_mutex_t            mu;
    pthread_cond_t             cv;
    bool                       stopping;
    struct worker             *workers;
    int                        nworkers;
    pthread_t                  sched;
    bool                       sched_started;
};

/* ---------------------------------------------------------------- kinds */

mnt_run_fn mnt_kind(const char *type)
{
    if (strcmp(type, MNT_EXPIRY) == 0) {
        return mnt_expire;
    }
    if (strcmp(type, MNT_ORPHANS) == 0) {
        return mnt_orphans;
    }
    if (strcmp(type, MNT_PLAN) == 0) {
        return mnt_plan_compaction;
    }
    return NULL;
}

/* Wait on `cv` until `*flag` or `ms` have passed.  `mu` is held. */
static void wait_ms(pthread_mutex_t *mu, pthread_cond_t *cv, bool *flag,
                    int64_t ms)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (!*flag && pthread_cond_timedwait(cv, mu, &until) != ETIMEDOUT) {
    }
}

/* ------------------------------------------------------------ heartbeat */

struct heartbeat {
    pthread_t                  th;
    pthread_mutex_t            mu;
    pthread_cond_t             cv;
    bool                       stop;
    atomic_bool                lost;
    struct db_pool            *pool;
    const struct cat_settings *cs;
    const struct mnt_job      *job;
    const char                *owner;
    int64_t                    lease_ms;
    int64_t                    every_ms;
};

/* One renewal; false when the lease is gone. */
static bool renew(struct heartbeat *h)
{
    struct fl_arena *a = fl_arena_new(0);
    struct cat_ctx   cx = {a, h->pool, NULL, h->job->realm, h->cs};
    struct fl_err    err;
    bool             held = true;

    fl_err_clear(&err);
    if (!mnt_job_heartbeat(&cx, h->job, h->owner, h->lease_ms, &held,
                           &err)) {
        /* keep trying: the lease may outlive a short outage */
        fl_log(FL_LOG_WARN, "maintenance: heartbeat of job %lld: %s",
               (long long)h->job->id, err.msg);
        held = true;
    }
    fl_arena_free(a);
    return held;
}

static void *heartbeat_main(void *arg)
{
    struct heartbeat *h = arg;

    pthread_mutex_lock(&h->mu);
    for (;;) {
        wait_ms(&h->mu, &h->cv, &h->stop, h->every_ms);
        if (h->stop) {
            break;
        }
        pthread_mutex_unlock(&h->mu);
        if (!renew(h)) {
            fl_log(FL_LOG_WARN, "maintenance: job %lld lost its lease",
                   (long long)h->job->id);
            atomic_store(&h->lost, true);
            pthread_mutex_lock(&h->mu);
            break;
        }
        pthread_mutex_lock(&h->mu);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

static bool heartbeat_start(struct heartbeat *h, struct cat_ctx *cx,
                            const struct mnt_job *j, const char *owner,
                            const struct mnt_settings *ms)
{
    memset(h, 0, sizeof(*h));
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    atomic_init(&h->lost, false);
    h->pool = cx->pool;
    h->cs = cx->settings;
    h->job = j;
    h->owner = owner;
    h->lease_ms = ms->lease_ms;
    h->every_ms = ms->heartbeat_ms > 0 ? ms->heartbeat_ms : ms->lease_ms / 3;
    if (h->every_ms < 1) {
        h->every_ms = 1;
    }
    return pthread_create(&h->th, NULL, heartbeat_main, h) == 0;
}

/* Stop the heartbeat; true when the lease was held throughout. */
static bool heartbeat_stop(struct heartbeat *h)
{
    bool held;

    pthread_mutex_lock(&h->mu);
    h->stop = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->th, NULL);
    held = !atomic_load(&h->lost);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    return held;
}

/* --------------------------------------------------------------- a job */

static void delay(int64_t ms)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Fail `j` with `why` (no kind ran, or it failed) and record the run. */
static bool job_failed(struct cat_ctx *cx, const struct mnt_job *j,
                       const char *owner, const struct mnt_settings *ms,
                       const struct mnt_table *t, struct mnt_run *run,
                       struct mnt_outcome *out, struct fl_err *err)
{
    run->finished_ms = fl_now_ms();
    out->finished_ms = run->finished_ms;
    out->failure = run->failure;
    if (!mnt_job_fail(cx, j, owner, t, run, ms->backoff_ms, &out->run_id,
                      err)) {
        return false;
    }
    out->lost = out->run_id == 0;
    return true;
}

/* Run the kind of `j` under a heartbeat; fill run and out. */
static bool job_run(struct cat_ctx *cx, const struct mnt_job *j,
                    const char *owner, const struct mnt_settings *ms,
                    const struct mnt_table *t, const struct mnt_config *c,
                    int64_t delay_ms, struct mnt_run *run,
                    struct mnt_outcome *out, struct fl_err *err)
{
    struct heartbeat h;
    struct fl_err    kerr;
    bool             ok;
    bool             held;
    bool             beating = heartbeat_start(&h, cx, j, owner, ms);

    if (!beating) {
        fl_log(FL_LOG_WARN, "maintenance: could not start the heartbeat of "
               "job %lld", (long long)j->id);
    }
    if (delay_ms > 0) {
        delay(delay_ms);
    }
    fl_err_clear(&kerr);
    ok = mnt_kind(j->type)(cx, t, c, j->dry_run, &out->fig, &kerr);
    if (cx->conn != NULL && db_in_transaction(cx->conn)) {
        db_rollback(cx->conn);      /* a kind that failed mid-transaction */
    }
    held = !beating || heartbeat_stop(&h);
    out->ran = true;
    run->finished_ms = fl_now_ms();
    out->finished_ms = run->finished_ms;
    if (!held) {
        /* NB: someone else has the job now; write nothing */
        out->lost = true;
        return true;
    }
    if (!ok) {
        run->failure = fl_sprintf(cx->a, "%s", kerr.msg[0] ? kerr.msg
                                                          : "failed");
        return job_failed(cx, j, owner, ms, t, run, out, err);
    }
    out->ok = true;
    if (!mnt_job_finish(cx, j, owner, t, run, &out->run_id, err)) {
        return false;
    }
    out->lost = out->run_id == 0;
    return true;
}

/*
 * Run claimed job `j` for `owner`: load its table and effective
 * configuration, skip it when that disables its kind, else run the kind
 * (after `delay_ms`, a test knob) while a heartbeat holds the lease, then
 * finish or fail it, recording the run.  A job past its max_attempts (its
 * previous holders' leases lapsed) fails without running.  out says what
 * happened; out->lost when the lease was lost (nothing recorded).
 * Returns false only when the outcome could not be written (err).
 */
bool mnt_job_execute(struct cat_ctx *cx, const struct mnt_job *j,
                     const char *owner, const struct mnt_settings *ms,
                     int64_t delay_ms, struct mnt_outcome *out,
                     struct fl_err *err)
{
    struct mnt_table  t;
    struct mnt_config c;
    struct mnt_run    run;
    json_t           *meta;
    struct fl_err     lerr;

    memset(out, 0, sizeof(*out));
    memset(&run, 0, sizeof(run));
    memset(&t, 0, sizeof(t));
    cx->realm = j->realm;
    run.type = j->type;
    run.dry_run = j->dry_run;
    run.fig = &out->fig;
    run.started_ms = fl_now_ms();
    out->started_ms = run.started_ms;
    fl_err_clear(&lerr);
    if (mnt_kind(j->type) == NULL) {
        run.failure = fl_sprintf(cx->a, "unknown job type %s", j->type);
    } else if (j->attempts > j->max_attempts) {
        run.failure = fl_sprintf(cx->a, "gave up after %d attempts whose "
                                 "leases lapsed", j->max_attempts);
    } else if (!mnt_table_load(cx, j->table_id, &t, &meta, &lerr) ||
               !mnt_config_resolve(cx, &t, meta, ms, &c, &lerr)) {
        run.failure = fl_sprintf(cx->a, "%s", lerr.msg);
    }
    if (run.failure != NULL) {
        return job_failed(cx, j, owner, ms, t.name ? &t : NULL, &run, out,
                          err);
    }
    if (!mnt_config_allows(&c, j->type)) {
        out->skipped = true;
        return mnt_job_skip(cx, j, owner, c.gc_enabled.v ? "disabled"
                                                         : "gc.enabled=false",
                            err);
    }
    return job_run(cx, j, owner, ms, &t, &c, delay_ms, &run, out, err);
}

/* ------------------------------------------------------------- workers */

static bool stopping(struct mnt *m)
{
    bool s;

    pthread_mutex_lock(&m->mu);
    s = m->stopping;
    pthread_mutex_unlock(&m->mu);
    return s;
}

static void idle(struct mnt *m, int64_t ms)
{
    pthread_mutex_lock(&m->mu);
    wait_ms(&m->mu, &m->cv, &m->stopping, ms);
    pthread_mutex_unlock(&m->mu);
}

static void log_outcome(const struct mnt_job *j, const struct mnt_outcome *o,
                        const struct fl_err *err, bool written)
{
    if (!written) {
        fl_log(FL_LOG_WARN, "maintenance: %s job %lld: could not record "
               "its outcome: %s", j->type, (long long)j->id, err->msg);
    } else if (o->lost) {
        fl_log(FL_LOG_WARN, "maintenance: %s job %lld lost its lease; "
               "nothing recorded", j->type, (long long)j->id);
    } else if (o->failure != NULL) {
        fl_log(FL_LOG_WARN, "maintenance: %s job %lld (attempt %d) failed: "
               "%s", j->type, (long long)j->id, j->attempts, o->failure);
    } else if (!o->skipped) {
        fl_log(FL_LOG_INFO, "maintenance: %s job %lld done: %lld files "
               "examined, %lld deleted, %lld planned", j->type,
               (long long)j->id, (long long)o->fig.files_examined,
               (long long)o->fig.files_deleted,
               (long long)o->fig.files_planned);
    }
}

/* Claim and run one job; false when there was none (or no database). */
static bool work_once(struct worker *w)
{
    struct mnt        *m = w->m;
    struct fl_arena   *a = fl_arena_new(0);
    struct cat_ctx     cx = {a, m->pool, NULL, NULL, m->cs};
    struct fl_err      err;
    struct mnt_job     j;
    struct mnt_outcome o;
    bool               got = false;
    bool               written;

    fl_err_clear(&err);
    if (!mnt_job_claim(&cx, w->type, m->owner, m->ms.lease_ms, &j, &got,
                       &err)) {
        fl_log(FL_LOG_WARN, "maintenance: could not claim a %s job: %s",
               w->type, err.msg);
    } else if (got) {
        written = mnt_job_execute(&cx, &j, m->owner, &m->ms, m->delay_ms, &o,
                                  &err);
        log_outcome(&j, &o, &err, written);
    }
    fl_arena_free(a);
    return got;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    fl_log_context(NULL, w->name);
    while (!stopping(w->m)) {
        if (!work_once(w)) {
            idle(w->m, w->m->ms.poll_ms);
        }
    }
    return NULL;
}

/* ----------------------------------------------------------- scheduler */

/* Enqueue what table row `s` needs; failures are logged and skipped. */
static void schedule_one(struct mnt *m, struct cat_ctx *cx,
                         const struct mnt_sched_row *s)
{
    static const char *const all[] = {MNT_EXPIRY, MNT_ORPHANS, MNT_PLAN};
    const char              *types[3];
    struct mnt_config        c;
    struct fl_err            err;
    json_t                  *meta = json_object();
    int                      n = 0;
    size_t                   i;

    fl_arena_own_json(cx->a, meta);
    if (s->props != NULL) {
        json_object_set(meta, "properties", s->props);
    }
    cx->realm = s->realm;
    fl_err_clear(&err);
    if (!mnt_config_resolve(cx, &s->t, meta, &m->ms, &c, &err)) {
        goto fail;
    }
    for (i = 0; i < FL_ARRAY_LEN(all); i++) {
        if (mnt_config_allows(&c, all[i]) &&
            (strcmp(all[i], MNT_EXPIRY) != 0 || s->has_snapshot)) {
            types[n++] = all[i];
        }
    }
    if (mnt_schedule_table(cx, s->t.catalog_id, s->t.table_id, types, n,
                           m->ms.interval_ms, m->ms.max_attempts, &err)) {
        return;
    }
fail:
    /* a table dropped during the walk is no news */
    if (err.status != 404) {
        fl_log(FL_LOG_WARN, "maintenance: scheduling table %lld: %s",
               (long long)s->t.table_id, err.msg);
    }
}

/* One pass over every table, in batches; then purge old jobs. */
static void schedule_pass(struct mnt *m)
{
    int64_t after = 0;
    int     n = WALK_BATCH;
    int     i;

    while (n == WALK_BATCH && !stopping(m)) {
        struct fl_arena      *a = fl_arena_new(0);
        struct cat_ctx        cx = {a, m->pool, NULL, NULL, m->cs};
        struct mnt_sched_row *rows;
        struct fl_err         err;

        fl_err_clear(&err);
        if (!mnt_tables_walk(&cx, after, WALK_BATCH, &rows, &n, &err)) {
            fl_log(FL_LOG_WARN, "maintenance: scheduler: %s", err.msg);
            n = 0;
        }
        for (i = 0; i < n; i++) {
            schedule_one(m, &cx, &rows[i]);
            after = rows[i].t.table_id;
        }
        if (n < WALK_BATCH && mnt_jobs_purge(&cx, 2 * m->ms.interval_ms +
                                             86400000LL, &err) < 0) {
            fl_log(FL_LOG_WARN, "maintenance: purging old jobs: %s",
                   err.msg);
        }
        fl_arena_free(a);
    }
}

static void *scheduler_main(void *arg)
{
    struct mnt *m = arg;

    fl_log_context(NULL, "maintenance scheduler");
    while (!stopping(m)) {
        schedule_pass(m);
        idle(m, m->ms.interval_ms);
    }
    return NULL;
}

/* --------------------------------------------------------- start, stop */

static void workers_add(struct mnt *m, const char *type, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        struct worker *w = &m->workers[m->nworkers];

        w->m = m;
        w->type = type;
        snprintf(w->name, sizeof(w->name), "maintenance %s %d", type, i + 1);
        w->started = pthread_create(&w->th, NULL, worker_main, w) == 0;
        if (!w->started) {
            fl_log(FL_LOG_WARN, "maintenance: could not start %s", w->name);
        }
        m->nworkers++;
    }
}

/* FL_MNT_DELAY_MS: debug builds hold every job that long (tests). */
static int64_t delay_knob(void)
{
#ifdef FL_DEBUG
    const char *s = getenv("FL_MNT_DELAY_MS");
    int64_t     v;

    if (s != NULL && fl_parse_i64(s, 0, 3600000, &v)) {
        return v;
    }
#endif
    return 0;
}

/*
 * Start maintenance: the scheduler and, per daemon job type, the workers
 * of `ms`, on connections of `pool` (which must have 2 per worker plus 1
 * and outlive mnt_stop); `cs` must live as long.  `owner` names this
 * daemon in leases (unique per process).  NULL when ms->enabled is false.
 */
struct mnt *mnt_start(struct db_pool *pool, const struct cat_settings *cs,
                      const struct mnt_settings *ms, const char *owner)
{
    struct mnt *m;

    if (!ms->enabled) {
        return NULL;
    }
    m = fl_xcalloc(1, sizeof(*m));
    m->pool = pool;
    m->cs = cs;
    m->ms = *ms;
    m->owner = fl_xstrdup(owner);
    m->delay_ms = delay_knob();
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    mnt_after_commit_attempts(ms->max_attempts);
    m->workers = fl_xcalloc((size_t)(ms->expiry_workers + ms->orphan_workers +
                                     ms->plan_workers + 1),
                            sizeof(*m->workers));
    workers_add(m, MNT_EXPIRY, ms->expiry_workers);
    workers_add(m, MNT_ORPHANS, ms->orphan_workers);
    workers_add(m, MNT_PLAN, ms->plan_workers);
    m->sched_started = pthread_create(&m->sched, NULL, scheduler_main, m) == 0;
    if (!m->sched_started) {
        fl_log(FL_LOG_WARN, "maintenance: could not start the scheduler");
    }
    fl_log(FL_LOG_INFO, "maintenance: %d workers as %s", m->nworkers,
           m->owner);
    return m;
}

/*
 * Stop: no new claims or scheduling; wait for the jobs in hand to finish
 * and record their outcome, then free `m` (NULL is fine).
 */
void mnt_stop(struct mnt *m)
{
    int i;

    if (m == NULL) {
        return;
    }
    pthread_mutex_lock(&m->mu);
    m->stopping = true;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    for (i = 0; i < m->nworkers; i++) {
        if (m->workers[i].started) {
            pthread_join(m->workers[i].th, NULL);
        }
    }
    if (m->sched_started) {
        pthread_join(m->sched, NULL);
    }
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    free(m->workers);
    free(m->owner);
    free(m);
}
