/*
 * db.h
 *
 * The public interface of db/: Postgres through libpq.  A fixed pool of
 * connections sized to the HTTP threads, named prepared statements,
 * transactions, recovery after the server restarts, and the migration
 * runner.  libpq's types never leave this folder: results are copied into the
 * caller's arena as strings (struct db_rows).
 *
 * Every statement is parameterized ($1, $2 ...); SQL is never assembled from
 * values.  Errors map SQLSTATEs to HTTP-shaped struct fl_err values:
 *   connection lost, admin shutdown, pool exhausted  503 ServiceUnavailable
 *   23505 unique violation                           409 AlreadyExists
 *   23503 foreign-key violation                      409 (caller re-types)
 *   40001 / 40P01 serialization failure, deadlock    409 CommitFailed
 *   anything else                                    500 InternalServerError
 * catalog/ re-types these where it knows better (STYLE §3).
 */
#ifndef FL_DB_H
#define FL_DB_H

#include "core/core.h"

struct db_pool;
struct db_conn;

/*
 * A statement known by name, prepared lazily on each connection the first
 * time it runs there.  Declare with DB_STMT at file scope.
 */
struct db_stmt {
    const char *name;
    const char *sql;
    _Atomic int id;         /* assigned on first use; -1 before */
};

#define DB_STMT(var, text) static struct db_stmt var = {#var, text, -1}

/* Parameters for db_exec: DB_ARGS("a", NULL, x) -> array and count. */
#define DB_ARGS(...)                                                   \
    (const char *const[]){__VA_ARGS__},                                \
    (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))
#define DB_NOARGS NULL, 0

/* Result rows, copied into the caller's arena.  NULL values are NULL. */
struct db_rows {
    int          nrows;
    int          ncols;
    const char **v;         /* v[row * ncols + col] */
    long         affected;  /* rows affected by INSERT/UPDATE/DELETE */
};

struct db_options {
    const char *url;            /* libpq connection string or URI */
    int         size;           /* number of connections */
    int         acquire_ms;     /* wait for a free connection, then 503 */
    int         statement_ms;   /* statement_timeout per connection; 0 off */
};

struct db_pool *db_pool_new(const struct db_options *opt, struct fl_err *err);
void db_pool_free(struct db_pool *p);
int  db_pool_size(const struct db_pool *p);

struct db_conn *db_acquire(struct db_pool *p, struct fl_arena *a,
                           struct fl_err *err);
bool db_exec(struct db_conn *c, struct db_stmt *st,
             const char *const *params, int n, struct fl_arena *a,
             struct db_rows **out, struct fl_err *err);
const char *db_val(const struct db_rows *r, int row, int col);
bool db_begin(struct db_conn *c, struct fl_err *err);
bool db_commit(struct db_conn *c, struct fl_err *err);
void db_rollback(struct db_conn *c);
void db_on_commit(struct db_conn *c, struct fl_arena *a, void (*fn)(void *),
                  void *arg);
bool db_in_transaction(const struct db_conn *c);
bool db_ping(struct db_pool *p, struct fl_arena *a, struct fl_err *err);

/* LISTEN on `channel` in a thread of its own (db_listen.c): fn(arg, true)
 * on connect and on every notification, fn(arg, false) when the
 * connection is lost (it reconnects every second) and on stop. */
struct db_listener;
struct db_listener *db_listen_start(const char *url, const char *channel,
                                    void (*fn)(void *arg, bool live),
                                    void *arg);
void db_listen_stop(struct db_listener *l);

/* Migrations: migrations/NNNN_name.sql, applied in order, once each. */
struct db_migration_status {
    int applied;            /* migrations recorded in schema_migrations */
    int pending;            /* files not yet applied */
    int newest;             /* highest version found on disk */
    char first_pending[256]; /* file name of the first pending, or "" */
};

bool db_migrate(const char *url, const char *dir, bool apply,
                struct db_migration_status *st, struct fl_err *err);
const char *db_migrations_find(const char *configured, struct fl_arena *a);

bool db_database_ensure(const char *url, const char *name,
                        struct fl_err *err);

void db_fault_set(long n);

#endif /* FL_DB_H */
