/*
 * srv_janitor.c
 *
 * A background thread that keeps the bookkeeping tables small: it deletes
 * expired Idempotency-Key records and metrics reports older than their
 * retention, in batches, every janitor.interval_s.  Safe with several
 * replicas (each delete is idempotent).  Table maintenance proper (expiry,
 * orphans, compaction) is maintenance/'s job, not this.
 */
#include "server/srv_int.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

static pthread_t       thread;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t  cv = PTHREAD_COND_INITIALIZER;
static bool            stopping;
static bool            running;

static void sweep(struct srv *s)
{
    struct fl_arena *a = fl_arena_new(0);
    struct cat_ctx   cx = {a, s->pool, NULL, NULL, &s->settings};
    struct fl_err    err;
    long             n;
    long             keys = 0;
    long             reports = 0;
    int64_t          before = fl_now_ms() -
                              s->cfg->metrics_retention_h * 3600000LL;

    fl_err_clear(&err);
    while ((n = cat_idem_purge(&cx, &err)) > 0) {
        keys += n;
    }
    while (n >= 0 && (n = cat_metrics_purge(&cx, before, &err)) > 0) {
        reports += n;
    }
    if (n < 0) {
        fl_log(FL_LOG_WARN, "janitor: %s", err.msg);
    } else if (keys + reports > 0) {
        fl_log(FL_LOG_INFO, "janitor: purged %ld idempotency keys and %ld "
               "metrics reports", keys, reports);
    }
    fl_arena_free(a);
}

static void *loop(void *arg)
{
    struct srv     *s = arg;
    struct timespec until;

    fl_log_context(NULL, "janitor");
    pthread_mutex_lock(&mu);
    for (;;) {
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += s->cfg->janitor_interval_s;
        while (!stopping &&
               pthread_cond_timedwait(&cv, &mu, &until) != ETIMEDOUT) {
        }
        if (stopping) {
            break;
        }
        pthread_mutex_unlock(&mu);
        sweep(s);
        pthread_mutex_lock(&mu);
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

/* Start the janitor for daemon `s` (its pool must outlive srv_janitor_stop). */
void srv_janitor_start(struct srv *s)
{
    stopping = false;
    running = pthread_create(&thread, NULL, loop, s) == 0;
    if (!running) {
        fl_log(FL_LOG_WARN, "janitor: could not start its thread");
    }
}

void srv_janitor_stop(void)
{
    if (!running) {
        return;
    }
    pthread_mutex_lock(&mu);
    stopping = true;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(thread, NULL);
    running = false;
}
