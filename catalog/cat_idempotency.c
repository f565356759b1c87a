/*
 * cat_idempotency.c
 *
 * Idempotency-Key (spec: components.parameters.idempotency-key).  A guarded
 * request runs inside one Postgres transaction that first claims the key
 * (INSERT ... ON CONFLICT DO NOTHING) and, before COMMIT, records the final
 * outcome on it; the mutation and its record therefore commit together or
 * not at all.  A duplicate arriving meanwhile waits on the key's unique
 * index and then replays the recorded outcome.  5xx outcomes are rolled
 * back with the mutation, so they are never replayed.  Expired keys count
 * as new and are purged in the background.
 */
#include "catalog/catalog_int.h"

#include <stdlib.h>
#include <string.h>

DB_STMT(IDEM_EXPIRE,
    "DELETE FROM idempotency_keys"
    " WHERE realm = $1 AND key = $2::uuid AND expires_ms < $3");
DB_STMT(IDEM_CLAIM,
    "INSERT INTO idempotency_keys (realm, key, operation, request_hash,"
    " created_ms, expires_ms) VALUES ($1, $2::uuid, $3, $4, $5, $6)"
    " ON CONFLICT (realm, key) DO NOTHING RETURNING 1");
DB_STMT(IDEM_GET,
    "SELECT operation, request_hash, status, response, etag"
    " FROM idempotency_keys WHERE realm = $1 AND key = $2::uuid");
DB_STMT(IDEM_FINISH,
    "UPDATE idempotency_keys SET status = $3, response = $4, etag = $5"
    " WHERE realm = $1 AND key = $2::uuid");
DB_STMT(IDEM_PURGE,
    "DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid"
    " FROM idempotency_keys WHERE expires_ms < $1 LIMIT 10000)");

static bool replay(struct cat_ctx *cx, struct cat_idem *id,
                   const char *op, const char *hash, struct fl_err *err)
{
    struct db_rows *r;

    if (!db_exec(cx->conn, &IDEM_GET, DB_ARGS(cx->realm, id->key), cx->a,
                 &r, err)) {
        return false;
    }
    if (r->nrows == 0 || db_val(r, 0, 2) == NULL) {
        return FL_ERR(err, 503, "ServiceUnavailableException",
                      "Idempotency-Key %s is being processed; retry",
                      id->key);
    }
    if (strcmp(db_val(r, 0, 0), op) != 0 || strcmp(db_val(r, 0, 1), hash)) {
        return FL_ERR(err, 422, "UnprocessableEntityException",
                      "Idempotency-Key %s was already used for a different "
                      "request", id->key);
    }
    id->replay = true;
    id->status = (int)strtol(db_val(r, 0, 2), NULL, 10);
    id->body = db_val(r, 0, 3);
    id->etag = db_val(r, 0, 4);
    return true;
}

/*
 * Start a request guarded by Idempotency-Key `id->key` for operation `op`
 * with request fingerprint `hash`.  Either the key is new: a transaction is
 * open (plus a savepoint for the operation) and the caller runs the
 * operation, then cat_idem_finish(); or the key was finalized: id->replay
 * is set with the recorded status, body and ETag, and no transaction is
 * left open.  Errors: 400 for a key that is not a UUID, 422 when the key
 * was used for a different request, 5xx from db/.
 */
bool cat_idem_begin(struct cat_ctx *cx, struct cat_idem *id, const char *op,
                    const char *hash, int64_t lifetime_ms,
                    struct fl_err *err)
{
    struct db_rows *r;
    int64_t         now = fl_now_ms();

    if (!fl_uuid_valid(id->key)) {
        return FL_ERR(err, 400, "BadRequestException",
                      "Idempotency-Key must be a UUID (36 characters)");
    }
    if (cat_conn(cx, err) == NULL || !db_begin(cx->conn, err)) {
        return false;
    }
    if (!db_exec(cx->conn, &IDEM_EXPIRE,
                 DB_ARGS(cx->realm, id->key, cat_i64(cx->a, now)), cx->a,
                 NULL, err) ||
        !db_exec(cx->conn, &IDEM_CLAIM,
                 DB_ARGS(cx->realm, id->key, op, hash, cat_i64(cx->a, now),
                         cat_i64(cx->a, now + lifetime_ms)),
                 cx->a, &r, err)) {
        db_rollback(cx->conn);
        return false;
    }
    if (r->nrows == 0) {
        bool ok = replay(cx, id, op, hash, err);

        db_rollback(cx->conn);
        return ok;
    }
    if (!db_begin(cx->conn, err)) {
        db_rollback(cx->conn);
        return false;
    }
    return true;
}

/*
 * Finalize a guarded request: keep (`ok`) or undo the operation's effects,
 * record `status`, `body` and `etag` on the key and commit.  Errors: the
 * outermost COMMIT's (503 means the outcome is unknown).
 */
bool cat_idem_finish(struct cat_ctx *cx, struct cat_idem *id, bool ok,
                     int status, const char *body, const char *etag,
                     struct fl_err *err)
{
    if (ok) {
        if (!db_commit(cx->conn, err)) {
            db_rollback(cx->conn);
            return false;
        }
    } else {
        db_rollback(cx->conn);      /* the operation's savepoint */
    }
    if (!db_exec(cx->conn, &IDEM_FINISH,
                 DB_ARGS(cx->realm, id->key, cat_i64(cx->a, status), body,
                         etag), cx->a, NULL, err)) {
        db_rollback(cx->conn);
        return false;
    }
    return db_commit(cx->conn, err);
}

/* Give up a guarded request (5xx): nothing is kept, nothing recorded. */
void cat_idem_abort(struct cat_ctx *cx)
{
    while (cx->conn != NULL && db_in_transaction(cx->conn)) {
        db_rollback(cx->conn);
    }
}

/* Delete expired keys, at most 10,000 per call; the count deleted. */
long cat_idem_purge(struct cat_ctx *cx, struct fl_err *err)
{
    struct db_rows *r;

    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, &IDEM_PURGE,
                 DB_ARGS(cat_i64(cx->a, fl_now_ms())), cx->a, &r, err)) {
        return -1;
    }
    return r->affected;
}
