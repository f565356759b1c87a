/*
 * db_migrate.c
 *
 * The migration runner.  Files named NNNN_name.sql in the migrations
 * directory are applied in version order, each exactly once, each in its own
 * transaction together with its row in schema_migrations.  The whole run
 * holds a Postgres advisory lock, so daemons starting at the same moment
 * apply each migration once and the loser simply finds nothing to do.
 *
 * The file contents are trusted SQL shipped with Floe (not user input), so
 * running them through the simple query protocol is the one place where SQL
 * text is not a prepared statement.
 */
#include "db/db.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

#define MIGRATION_LOCK "4707420901"   /* pg_advisory_lock key: "Floe" */
#define MIGRATION_MAX_BYTES (4 * 1024 * 1024)

struct mig {
    int   version;
    char *name;
    char *path;
};

static int mig_cmp(const void *x, const void *y)
{
    const struct mig *a = x;
    const struct mig *b = y;

    return (a->version > b->version) - (a->version < b->version);
}

static bool mig_name_ok(const char *n)
{
    size_t len = strlen(n);
    int    i;

    if (len < 10 || n[4] != '_' || strcmp(n + len - 4, ".sql") != 0) {
        return false;
    }
    for (i = 0; i < 4; i++) {
        if (n[i] < '0' || n[i] > '9') {
            return false;
        }
    }
    return true;
}

/* List the migration files of `dir`, sorted by version, into the arena. */
static bool mig_list(const char *dir, struct fl_arena *a, struct mig **out,
                     int *n, struct fl_err *err)
{
    DIR           *d = opendir(dir);
    struct dirent *e;
    struct mig    *m = NULL;
    int            cap = 0;
    int            i;

    *n = 0;
    if (d == NULL) {
        return FL_ERR(err, 500, "InternalServerError",
                      "could not open migrations directory \"%s\"", dir);
    }
    while ((e = readdir(d)) != NULL) {
        if (!mig_name_ok(e->d_name)) {
            continue;
        }
        if (*n == cap) {
            struct mig *bigger;

            cap = cap ? cap * 2 : 16;
            bigger = fl_alloc(a, sizeof(*m) * (size_t)cap);
            if (*n > 0) {
                memcpy(bigger, m, sizeof(*m) * (size_t)*n);
            }
            m = bigger;
        }
        m[*n].version = (e->d_name[0] - '0') * 1000 +
                        (e->d_name[1] - '0') * 100 +
                        (e->d_name[2] - '0') * 10 + (e->d_name[3] - '0');
        m[*n].name = fl_strdup(a, e->d_name);
        m[*n].path = fl_sprintf(a, "%s/%s", dir, e->d_name);
        (*n)++;
    }
    closedir(d);
    if (*n > 0) {
        qsort(m, (size_t)*n, sizeof(*m), mig_cmp);
    }
    for (i = 1; i < *n; i++) {
        if (m[i].version == m[i - 1].version) {
            return FL_ERR(err, 500, "InternalServerError",
                          "migrations \"%s\" and \"%s\" share a version",
                          m[i - 1].name, m[i].name);
        }
    }
    *out = m;
    return true;
}

static char *read_file(const char *path, struct fl_arena *a,
                       struct fl_err *err)
{
    FILE         *f = fopen(path, "rb");
    struct fl_buf b;
    char          chunk[8192];
    size_t        got;

    if (f == NULL) {
        FL_ERR(err, 500, "InternalServerError",
               "could not read migration \"%s\"", path);
        return NULL;
    }
    fl_buf_init(&b, a, MIGRATION_MAX_BYTES);
    fl_buf_append(&b, "", 0);
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (!fl_buf_append(&b, chunk, got)) {
            fclose(f);
            FL_ERR(err, 500, "InternalServerError",
                   "migration \"%s\" is too large", path);
            return NULL;
        }
    }
    fclose(f);
    return b.p;
}

/* FNV-1a 64 of the file text: detects a migration edited after it ran. */
static char *checksum(const char *text, struct fl_arena *a)
{
    uint64_t             h = 1469598103934665603ULL;
    const unsigned char *p;

    for (p = (const unsigned char *)text; *p != '\0'; p++) {
        h = (h ^ *p) * 1099511628211ULL;
    }
    return fl_sprintf(a, "%016llx", (unsigned long long)h);
}

static bool run(PGconn *pg, const char *sql, const char *what,
                struct fl_err *err)
{
    PGresult *res = PQexec(pg, sql);
    bool      ok = res != NULL && (PQresultStatus(res) == PGRES_COMMAND_OK ||
                                   PQresultStatus(res) == PGRES_TUPLES_OK);

    if (!ok) {
        FL_ERR(err, 500, "InternalServerError", "%s failed: %s", what,
               PQerrorMessage(pg));
    }
    PQclear(res);
    return ok;
}

static bool apply_one(PGconn *pg, const struct mig *m, struct fl_arena *a,
                      struct fl_err *err)
{
    char       *sql = read_file(m->path, a, err);
    char        ver[16];
    const char *params[3];
    PGresult   *res;
    bool        ok;

    if (sql == NULL || !run(pg, "BEGIN", "BEGIN", err)) {
        return false;
    }
    if (!run(pg, sql, fl_sprintf(a, "migration %s", m->name), err)) {
        PQclear(PQexec(pg, "ROLLBACK"));
        return false;
    }
    snprintf(ver, sizeof(ver), "%d", m->version);
    params[0] = ver;
    params[1] = m->name;
    params[2] = checksum(sql, a);
    res = PQexecParams(pg,
                       "INSERT INTO schema_migrations (version, name, checksum)"
                       " VALUES ($1, $2, $3)",
                       3, NULL, params, NULL, NULL, 0);
    ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) {
        FL_ERR(err, 500, "InternalServerError",
               "could not record migration %s: %s", m->name,
               PQerrorMessage(pg));
        PQclear(PQexec(pg, "ROLLBACK"));
        return false;
    }
    if (!run(pg, "COMMIT", fl_sprintf(a, "COMMIT of %s", m->name), err)) {
        return false;
    }
    fl_log(FL_LOG_INFO, "applied migration %s", m->name);
    return true;
}

/* Applied versions and checksums, or an empty result before the first run. */
static PGresult *applied_list(PGconn *pg, struct fl_err *err)
{
    PGresult *res = PQexec(pg,
        "SELECT version, checksum FROM schema_migrations ORDER BY version");

    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        FL_ERR(err, 500, "InternalServerError",
               "could not read schema_migrations: %s", PQerrorMessage(pg));
        PQclear(res);
        return NULL;
    }
    return res;
}

static bool walk(PGconn *pg, struct mig *m, int n, bool apply,
                 struct db_migration_status *st, struct fl_arena *a,
                 struct fl_err *err)
{
    PGresult *res;
    int       i;
    int       j = 0;

    res = applied_list(pg, err);
    if (res == NULL) {
        return false;
    }
    st->applied = PQntuples(res);
    for (i = 0; i < n; i++) {
        bool done = false;

        for (; j < PQntuples(res); j++) {
            int v = (int)strtol(PQgetvalue(res, j, 0), NULL, 10);

            if (v >= m[i].version) {
                done = v == m[i].version;
                break;
            }
        }
        if (done) {
            char *sql = read_file(m[i].path, a, err);

            if (sql != NULL && strcmp(checksum(sql, a),
                                      PQgetvalue(res, j, 1)) != 0) {
                fl_log(FL_LOG_WARN, "migration %s changed after it was "
                       "applied; its new text is ignored", m[i].name);
            }
            continue;
        }
        if (!apply) {
            st->pending++;
            if (st->first_pending[0] == '\0') {
                snprintf(st->first_pending, sizeof(st->first_pending), "%s",
                         m[i].name);
            }
            continue;
        }
        if (!apply_one(pg, &m[i], a, err)) {
            PQclear(res);
            return false;
        }
        st->applied++;
    }
    PQclear(res);
    return true;
}

/*
 * Compare the migrations in `dir` with those recorded in the database at
 * `url` and, when `apply` is set, apply the missing ones in order.  Fills
 * *st.  Holds the migration advisory lock for the duration, on a connection
 * of its own.  Errors: 503 when the database is unreachable, 500 for a
 * failed migration (its name and the database's message in err->msg, since
 * this is an operator command, not a client request).
 */
bool db_migrate(const char *url, const char *dir, bool apply,
                struct db_migration_status *st, struct fl_err *err)
{
    struct fl_arena *a = fl_arena_new(0);
    struct mig      *m = NULL;
    int              n;
    PGconn          *pg = NULL;
    bool             ok = false;

    memset(st, 0, sizeof(*st));
    if (!mig_list(dir, a, &m, &n, err)) {
        goto out;
    }
    st->newest = n > 0 ? m[n - 1].version : 0;
    pg = PQconnectdb(url);
    if (PQstatus(pg) != CONNECTION_OK) {
        fl_err_logf(err, "%s", PQerrorMessage(pg));
        FL_ERR(err, 503, "ServiceUnavailableException",
               "could not connect to the catalog database: %s",
               PQerrorMessage(pg));
        goto out;
    }
    PQclear(PQexec(pg, "SET client_min_messages = warning"));
    if (!run(pg, "SELECT pg_advisory_lock(" MIGRATION_LOCK ")",
             "taking the migration lock", err) ||
        !run(pg, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                 " version integer PRIMARY KEY,"
                 " name text NOT NULL,"
                 " checksum text NOT NULL,"
                 " applied_at timestamptz NOT NULL DEFAULT now())",
             "creating schema_migrations", err)) {
        goto out;
    }
    ok = walk(pg, m, n, apply, st, a, err);
    run(pg, "SELECT pg_advisory_unlock(" MIGRATION_LOCK ")",
        "releasing the migration lock", err);
out:
    if (pg != NULL) {
        PQfinish(pg);
    }
    fl_arena_free(a);
    return ok;
}

static bool is_dir(const char *p)
{
    struct stat sb;

    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/*
 * Find the migrations directory: the configured one when given, else next to
 * the binary (build/floe -> ./migrations; bin/floe ->
 * ../share/floe/migrations), else ./migrations.  Returns an arena string.
 */
const char *db_migrations_find(const char *configured, struct fl_arena *a)
{
    char        exe[PATH_MAX];
    ssize_t     n;
    char       *slash;
    const char *c;

    if (configured != NULL && configured[0] != '\0') {
        return configured;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            c = fl_sprintf(a, "%s/../migrations", exe);
            if (is_dir(c)) {
                return c;
            }
            c = fl_sprintf(a, "%s/../share/floe/migrations", exe);
            if (is_dir(c)) {
                return c;
            }
        }
    }
    return "migrations";
}
