/*
 * db_pool.c
 *
 * The connection pool and query execution.  A fixed array of connections,
 * handed out one per request and returned by an arena cleanup, so a request
 * can never leak one.  Statements are prepared lazily per connection.
 *
 * Recovery after a Postgres restart: a query that finds its connection dead
 * answers 503 and bumps the pool's generation; every connection from an older
 * generation is re-established before it is handed out again, so the request
 * after the failed one works without spending the rest of the pool on dead
 * sockets.  Connections are opened lazily, so the daemon starts (and reports
 * not-ready) while the database is down.
 *
 * Not here: what the statements mean (catalog/), the schema (migrations/).
 */
#include "db/db.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#define DB_MAX_STMTS 512

/* Work to run when the outermost transaction commits (db_on_commit). */
struct hook {
    struct hook *next;
    int          level;         /* transaction level it was queued at */
    void       (*fn)(void *);
    void        *arg;
};

struct db_conn {
    PGconn         *pg;
    struct db_pool *pool;
    unsigned        gen;
    bool            broken;
    int             depth;      /* open transaction levels (savepoints) */
    struct hook    *hooks;      /* newest first */
    unsigned char   prepared[DB_MAX_STMTS];
};

struct db_pool {
    pthread_mutex_t  mu;
    pthread_cond_t   cv;
    struct db_conn  *conns;
    struct db_conn **free;
    int              nfree;
    int              size;
    unsigned         gen;
    char            *url;
    int              acquire_ms;
    int              statement_ms;
};

static atomic_int  next_stmt_id;
static atomic_long fault_at;
static atomic_long fault_count;

/* FL_FAULT=db:N makes the Nth statement fail as if the connection died. */
void db_fault_set(long n)
{
    atomic_store(&fault_at, n);
    atomic_store(&fault_count, 0);
}

static void fault_from_env(void)
{
#ifdef FL_DEBUG
    const char *f = getenv("FL_FAULT");
    int64_t     n;

    if (f != NULL && strncmp(f, "db:", 3) == 0 &&
        fl_parse_i64(f + 3, 1, INT64_MAX, &n)) {
        db_fault_set((long)n);
    }
#endif
}

/*
 * Create a pool of opt->size connections to opt->url.  Nothing is connected
 * yet.  The caller owns the pool and frees it with db_pool_free() after every
 * connection has been returned.
 */
struct db_pool *db_pool_new(const struct db_options *opt, struct fl_err *err)
{
    struct db_pool *p;
    int             i;

    if (opt->size < 1 || opt->size > 1000) {
        FL_ERR(err, 500, "InternalServerError",
               "database pool size %d is out of range", opt->size);
        return NULL;
    }
    p = fl_xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->size = opt->size;
    p->url = fl_xstrdup(opt->url);
    p->acquire_ms = opt->acquire_ms > 0 ? opt->acquire_ms : 5000;
    p->statement_ms = opt->statement_ms;
    p->conns = fl_xcalloc((size_t)p->size, sizeof(*p->conns));
    p->free = fl_xcalloc((size_t)p->size, sizeof(*p->free));
    for (i = 0; i < p->size; i++) {
        p->conns[i].pool = p;
        p->free[p->nfree++] = &p->conns[i];
    }
    fault_from_env();
    return p;
}

void db_pool_free(struct db_pool *p)
{
    int i;

    if (p == NULL) {
        return;
    }
    for (i = 0; i < p->size; i++) {
        if (p->conns[i].pg != NULL) {
            PQfinish(p->conns[i].pg);
        }
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->conns);
    free(p->free);
    free(p->url);
    free(p);
}

int db_pool_size(const struct db_pool *p)
{
    return p->size;
}

static void pool_put(struct db_conn *c)
{
    struct db_pool *p = c->pool;

    pthread_mutex_lock(&p->mu);
    p->free[p->nfree++] = c;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* Arena cleanup: end any open transaction and return the connection. */
static void conn_release(void *arg)
{
    struct db_conn *c = arg;

    c->depth = 0;
    c->hooks = NULL;            /* arena memory, freed with the request */
    if (c->pg != NULL && !c->broken && PQstatus(c->pg) == CONNECTION_OK) {
        PGTransactionStatusType ts = PQtransactionStatus(c->pg);

        if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
            PQclear(PQexec(c->pg, "ROLLBACK"));
        } else if (ts != PQTRANS_IDLE) {
            c->broken = true;
        }
    }
    pool_put(c);
}

static const char *const conn_keys[] = {
    "dbname", "application_name", "connect_timeout", NULL
};

static bool conn_open(struct db_conn *c, struct fl_err *err)
{
    struct db_pool *p = c->pool;
    const char     *vals[] = {p->url, "floe", "5", NULL};
    PGresult       *res;
    char            ms[32];
    const char     *param[1];

    if (c->pg != NULL) {
        PQfinish(c->pg);
    }
    memset(c->prepared, 0, sizeof(c->prepared));
    c->broken = false;
    c->pg = PQconnectdbParams(conn_keys, vals, 1);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        fl_err_logf(err, "%s", PQerrorMessage(c->pg));
        c->broken = true;
        return FL_ERR(err, 503, "ServiceUnavailableException",
                      "the catalog database is unavailable");
    }
    if (p->statement_ms > 0) {
        snprintf(ms, sizeof(ms), "%d", p->statement_ms);
        param[0] = ms;
        res = PQexecParams(c->pg,
                           "SELECT set_config('statement_timeout', $1, false)",
                           1, NULL, param, NULL, NULL, 0);
        PQclear(res);
    }
    return true;
}

/*
 * Take a connection for the request that owns arena `a`; it is returned to
 * the pool when the arena is freed (rolling back an open transaction).  Waits
 * up to the pool's acquire timeout.  Errors: 503 when no connection frees up
 * in time or the database cannot be reached.
 */
struct db_conn *db_acquire(struct db_pool *p, struct fl_arena *a,
                           struct fl_err *err)
{
    struct db_conn *c;
    struct timespec until;
    unsigned        gen;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += p->acquire_ms / 1000;
    until.tv_nsec += (long)(p->acquire_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->mu);
    while (p->nfree == 0) {
        if (pthread_cond_timedwait(&p->cv, &p->mu, &until) == ETIMEDOUT &&
            p->nfree == 0) {
            pthread_mutex_unlock(&p->mu);
            FL_ERR(err, 503, "ServiceUnavailableException",
                   "no database connection became free in time");
            return NULL;
        }
    }
    c = p->free[--p->nfree];
    gen = p->gen;
    pthread_mutex_unlock(&p->mu);

    if (c->pg == NULL || c->broken || c->gen != gen ||
        PQstatus(c->pg) != CONNECTION_OK) {
        c->gen = gen;
        if (!conn_open(c, err)) {
            pool_put(c);
            return NULL;
        }
    }
    fl_arena_defer(a, conn_release, c);
    return c;
}

/* Mark the pool so every connection is re-established before reuse. */
static void conn_lost(struct db_conn *c)
{
    c->broken = true;
    pthread_mutex_lock(&c->pool->mu);
    c->pool->gen++;
    pthread_mutex_unlock(&c->pool->mu);
}

static bool map_error(struct db_conn *c, PGresult *res, const char *what,
                      struct fl_err *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *text = res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg);

    fl_err_logf(err, "%s: sqlstate %s: %s", what, state ? state : "none",
                text ? text : "");
    if (PQstatus(c->pg) != CONNECTION_OK || state == NULL ||
        strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0) {
        conn_lost(c);
        return FL_ERR(err, 503, "ServiceUnavailableException",
                      "lost the connection to the catalog database");
    }
    if (strcmp(state, "23505") == 0) {
        return FL_ERR(err, 409, "AlreadyExistsException",
                      "the object already exists");
    }
    if (strcmp(state, "23503") == 0) {
        return FL_ERR(err, 409, "ConflictException",
                      "the object is referenced by other objects");
    }
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) {
        return FL_ERR(err, 409, "CommitFailedException",
                      "concurrent change; retry the request");
    }
    if (strcmp(state, "57014") == 0) {
        return FL_ERR(err, 503, "ServiceUnavailableException",
                      "the catalog database did not answer in time");
    }
    return FL_ERR(err, 500, "InternalServerError",
                  "the catalog database failed the request");
}

/* FL_FAULT: true (and err set as for a lost connection) on the Nth call. */
static bool fault_hit(struct db_conn *c, const char *what,
                      struct fl_err *err)
{
    long at = atomic_load(&fault_at);

    if (at <= 0 || atomic_fetch_add(&fault_count, 1) + 1 != at) {
        return false;
    }
    conn_lost(c);
    fl_err_logf(err, "%s: injected fault (FL_FAULT)", what);
    FL_ERR(err, 503, "ServiceUnavailableException",
           "lost the connection to the catalog database");
    return true;
}

static bool prepare(struct db_conn *c, struct db_stmt *st, int id,
                    const char *name, struct fl_err *err)
{
    PGresult *res;
    bool      ok;

    res = PQprepare(c->pg, name, st->sql, 0, NULL);
    ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) {
        map_error(c, res, st->name, err);
    } else {
        c->prepared[id] = 1;
    }
    PQclear(res);
    return ok;
}

static void copy_rows(PGresult *res, struct fl_arena *a, struct db_rows *r)
{
    int i;
    int j;

    r->nrows = PQntuples(res);
    r->ncols = PQnfields(res);
    r->v = fl_alloc(a, sizeof(char *) * (size_t)(r->nrows * r->ncols + 1));
    for (i = 0; i < r->nrows; i++) {
        for (j = 0; j < r->ncols; j++) {
            if (!PQgetisnull(res, i, j)) {
                r->v[i * r->ncols + j] =
                    fl_strndup(a, PQgetvalue(res, i, j),
                               (size_t)PQgetlength(res, i, j));
            }
        }
    }
}

/*
 * Run prepared statement `st` with `n` text parameters (NULL = SQL NULL) on
 * connection `c`.  When `out` is given, the result rows are copied into `a`
 * and *out points at them.  Errors follow the SQLSTATE map in db.h.
 */
bool db_exec(struct db_conn *c, struct db_stmt *st,
             const char *const *params, int n, struct fl_arena *a,
             struct db_rows **out, struct fl_err *err)
{
    char            name[16];
    PGresult       *res;
    ExecStatusType  rs;
    struct db_rows *r;
    bool            ok = false;
    int             id = atomic_load(&st->id);

    if (id < 0) {
        int mine = atomic_fetch_add(&next_stmt_id, 1);

        fl_assert(mine < DB_MAX_STMTS);
        /* NB: two first uses may race; the loser adopts the winner's id. */
        if (atomic_compare_exchange_strong(&st->id, &id, mine)) {
            id = mine;
        }
    }
    if (fault_hit(c, st->name, err)) {
        return false;
    }
    snprintf(name, sizeof(name), "fl%d", id);
    if (!c->prepared[id] && !prepare(c, st, id, name, err)) {
        return false;
    }
    res = PQexecPrepared(c->pg, name, n, params, NULL, NULL, 0);
    rs = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK) {
        map_error(c, res, st->name, err);
        goto out;
    }
    if (out != NULL) {
        r = fl_alloc(a, sizeof(*r));
        copy_rows(res, a, r);
        r->affected = strtol(PQcmdTuples(res), NULL, 10);
        *out = r;
    }
    ok = true;
out:
    PQclear(res);
    return ok;
}

/* Value at (row, col), or NULL for SQL NULL or out-of-range indexes. */
const char *db_val(const struct db_rows *r, int row, int col)
{
    if (r == NULL || row < 0 || col < 0 || row >= r->nrows ||
        col >= r->ncols) {
        return NULL;
    }
    return r->v[row * r->ncols + col];
}

static bool simple(struct db_conn *c, const char *sql, struct fl_err *err)
{
    PGresult *res = PQexec(c->pg, sql);
    bool      ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;

    if (!ok) {
        map_error(c, res, sql, err);
    }
    PQclear(res);
    return ok;
}

/*
 * Open a transaction, or a savepoint inside an open one, so that catalog
 * operations compose: a request wrapped in a transaction (Idempotency-Key)
 * can run operations that open their own.
 */
bool db_begin(struct db_conn *c, struct fl_err *err)
{
    char sql[32];

    if (fault_hit(c, "BEGIN", err)) {
        return false;
    }
    if (c->depth == 0) {
        snprintf(sql, sizeof(sql), "BEGIN");
    } else {
        snprintf(sql, sizeof(sql), "SAVEPOINT fl_%d", c->depth);
    }
    if (!simple(c, sql, err)) {
        return false;
    }
    c->depth++;
    return true;
}

/*
 * COMMIT, checking that it committed: Postgres answers COMMIT of a
 * transaction that an earlier error aborted with a "ROLLBACK" tag, not an
 * error.
 */
static bool commit_outer(struct db_conn *c, struct fl_err *err)
{
    PGresult *res = PQexec(c->pg, "COMMIT");
    bool      ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;

    if (!ok) {
        map_error(c, res, "COMMIT", err);
    } else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        ok = FL_ERR(err, 500, "InternalServerError",
                    "the transaction was rolled back by an earlier error");
    }
    PQclear(res);
    return ok;
}

static void hooks_run(struct db_conn *c)
{
    struct hook *h = c->hooks;
    struct hook *rev = NULL;

    c->hooks = NULL;
    while (h != NULL) {             /* run in the order they were queued */
        struct hook *next = h->next;

        h->next = rev;
        rev = h;
        h = next;
    }
    for (h = rev; h != NULL; h = h->next) {
        h->fn(h->arg);
    }
}

/* Drop hooks queued at `level` or deeper (that level rolled back). */
static void hooks_drop(struct db_conn *c, int level)
{
    while (c->hooks != NULL && c->hooks->level >= level) {
        c->hooks = c->hooks->next;
    }
}

/*
 * Commit the innermost level: COMMIT at the outermost (then run the
 * db_on_commit hooks), RELEASE SAVEPOINT inside.  NB: a 503 from the
 * outermost COMMIT means the outcome is unknown; callers that must tell
 * "rolled back" from "unknown" rely on this (STYLE section 3, commit rule).
 */
bool db_commit(struct db_conn *c, struct fl_err *err)
{
    char         sql[40];
    struct hook *h;

    fl_assert(c->depth > 0);
    if (c->depth > 1) {
        snprintf(sql, sizeof(sql), "RELEASE SAVEPOINT fl_%d", c->depth - 1);
        if (!simple(c, sql, err)) {
            return false;
        }
        c->depth--;
        for (h = c->hooks; h != NULL && h->level > c->depth; h = h->next) {
            h->level = c->depth;
        }
        return true;
    }
    c->depth = 0;
    if (fault_hit(c, "COMMIT", err) || !commit_outer(c, err)) {
        c->hooks = NULL;
        return false;
    }
    hooks_run(c);
    return true;
}

/* Roll back the innermost level (to its savepoint, or the transaction). */
void db_rollback(struct db_conn *c)
{
    char sql[80];

    if (c->depth == 0 || c->pg == NULL ||
        PQstatus(c->pg) != CONNECTION_OK) {
        c->depth = 0;
        c->hooks = NULL;
        return;
    }
    if (c->depth == 1) {
        PQclear(PQexec(c->pg, "ROLLBACK"));
        c->depth = 0;
        c->hooks = NULL;
        return;
    }
    hooks_drop(c, c->depth);
    c->depth--;
    snprintf(sql, sizeof(sql), "ROLLBACK TO SAVEPOINT fl_%d; "
             "RELEASE SAVEPOINT fl_%d", c->depth, c->depth);
    PQclear(PQexec(c->pg, sql));
}

/*
 * Run fn(arg) once the outermost transaction commits, or now when none is
 * open.  Dropped when the level it was queued in rolls back.  The hook
 * lives in arena `a` (the request's).
 */
void db_on_commit(struct db_conn *c, struct fl_arena *a, void (*fn)(void *),
                  void *arg)
{
    struct hook *h;

    if (c->depth == 0) {
        fn(arg);
        return;
    }
    h = fl_alloc(a, sizeof(*h));
    h->level = c->depth;
    h->fn = fn;
    h->arg = arg;
    h->next = c->hooks;
    c->hooks = h;
}

/* True while a transaction is open on `c`. */
bool db_in_transaction(const struct db_conn *c)
{
    return c->depth > 0;
}

/* Readiness probe: a round trip on a pooled connection. */
bool db_ping(struct db_pool *p, struct fl_arena *a, struct fl_err *err)
{
    DB_STMT(PING, "SELECT 1");
    struct db_conn *c = db_acquire(p, a, err);

    return c != NULL && db_exec(c, &PING, DB_NOARGS, a, NULL, err);
}
