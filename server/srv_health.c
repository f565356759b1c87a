/*
 * srv_health.c
 *
 * Probes.  /healthz answers as long as the process serves HTTP (liveness);
 * /readyz also needs the database to answer and its schema to be at the
 * newest migration this binary knows (readiness).  Both are open to anyone:
 * they reveal nothing but their status.
 */
#include "server/srv_int.h"

#include <stdlib.h>

DB_STMT(READY_VERSION, "SELECT coalesce(max(version), 0) FROM schema_migrations");

json_t *srv_h_healthz(struct srv_req *req, struct fl_err *err)
{
    (void)req;
    (void)err;
    return json_pack("{ss}", "status", "ok");
}

/*
 * 200 when the database answers and no migration is pending; otherwise
 * 503 ServiceUnavailableException saying which.
 */
json_t *srv_h_readyz(struct srv_req *req, struct fl_err *err)
{
    struct db_rows *r;
    long            have;

    if (atomic_load(&req->srv->draining)) {
        FL_ERR(err, 503, "ServiceUnavailableException", "shutting down");
        return NULL;
    }
    if (cat_conn(&req->cx, err) == NULL ||
        !db_exec(req->cx.conn, &READY_VERSION, DB_NOARGS, req->a, &r, err)) {
        return NULL;
    }
    have = strtol(db_val(r, 0, 0), NULL, 10);
    if (have < req->srv->newest_migration) {
        FL_ERR(err, 503, "ServiceUnavailableException",
               "the database schema is at migration %ld; this server needs "
               "%d (run floe migrate)", have, req->srv->newest_migration);
        return NULL;
    }
    return json_pack("{ss si}", "status", "ready", "migration", (int)have);
}
