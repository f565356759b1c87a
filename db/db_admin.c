/*
 * db_admin.c
 *
 * Cluster administration for `floe dev`: creating the catalog database in a
 * fresh private cluster.  CREATE DATABASE cannot take its name as a
 * parameter, so the name is checked to be a plain lower-case identifier and
 * quoted; it never comes from a client.
 */
#include "db/db.h"

#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

static bool ident_ok(const char *s)
{
    size_t i;

    if (s[0] == '\0' || strlen(s) > 63 || (s[0] >= '0' && s[0] <= '9')) {
        return false;
    }
    for (i = 0; s[i] != '\0'; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_')) {
            return false;
        }
    }
    return true;
}

/*
 * Create database `name` through the server at `url` (a maintenance
 * database such as "postgres") unless it exists.  Errors: 503 when the
 * server is unreachable, 500 when creation fails.
 */
bool db_database_ensure(const char *url, const char *name, struct fl_err *err)
{
    PGconn     *pg;
    PGresult   *res;
    const char *params[1];
    char        sql[128];
    bool        ok = false;

    if (!ident_ok(name)) {
        return FL_ERR(err, 500, "InternalServerError",
                      "invalid database name \"%s\"", name);
    }
    pg = PQconnectdb(url);
    if (PQstatus(pg) != CONNECTION_OK) {
        FL_ERR(err, 503, "ServiceUnavailableException",
               "could not connect to Postgres: %s", PQerrorMessage(pg));
        goto out;
    }
    params[0] = name;
    res = PQexecParams(pg, "SELECT 1 FROM pg_database WHERE datname = $1", 1,
                       NULL, params, NULL, NULL, 0);
    ok = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK;
    if (ok && PQntuples(res) == 0) {
        PQclear(res);
        snprintf(sql, sizeof(sql), "CREATE DATABASE \"%s\"", name);
        res = PQexec(pg, sql);
        ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;
    }
    if (!ok) {
        FL_ERR(err, 500, "InternalServerError",
               "could not create database \"%s\": %s", name,
               PQerrorMessage(pg));
    }
    PQclear(res);
out:
    PQfinish(pg);
    return ok;
}
