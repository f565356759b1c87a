/*
 * acc_principals.c
 *
 * Principals of the Polaris management API: create (with generated
 * credentials), read, list, optimistic property updates, delete, and
 * credential rotation and reset.  A secret is stored only hashed
 * (acc_secret_hash); the clear text leaves this file only as the result of
 * create, rotate and reset, which the management API shows once.
 * Rotation keeps the previous secret valid until the next rotation
 * (secret_prev, which acc_client_check accepts too); a reset forgets it.
 *
 * Not here: who may call what (server/ authorizers), assignments of
 * principal roles (acc_grants.c).
 */
#include "access/access.h"
#include "access/acc_int.h"

#include <string.h>

#define MAX_CLIENT 256      /* bytes of a client id or secret given to reset */

DB_STMT(P_INSERT,
    "INSERT INTO principals (realm, name, client_id, secret, properties,"
    " rotation_required, created_ms, updated_ms)"
    " VALUES ($1, $2, $3, $4, $5::jsonb, $6::boolean, $7, $7)"
    " ON CONFLICT DO NOTHING RETURNING " ACC_P_COLS(""));
DB_STMT(P_GET,
    "SELECT " ACC_P_COLS("") " FROM principals WHERE realm = $1 AND name = $2");
DB_STMT(P_LIST,
    "SELECT " ACC_P_COLS("") " FROM principals WHERE realm = $1"
    " ORDER BY name");
DB_STMT(P_VISIBLE,
    "SELECT " ACC_P_COLS("p.") " FROM principals p"
    " WHERE p.realm = $1 AND p.id IN (SELECT g.securable_id FROM grants g"
    "  WHERE g.realm = $1 AND g.grantee_type = 3"
    "   AND g.grantee_id = ANY($2::bigint[]) AND g.securable_type = 2"
    "   AND g.privilege = ANY($3::smallint[]))"
    " ORDER BY p.name");
DB_STMT(P_UPDATE,
    "UPDATE principals SET properties = $3::jsonb,"
    " entity_version = entity_version + 1, updated_ms = $4"
    " WHERE id = $1 AND entity_version = $2 RETURNING " ACC_P_COLS(""));
DB_STMT(P_DELETE, "DELETE FROM principals WHERE id = $1");
/* NB: every right-hand side sees the row before the update */
DB_STMT(P_ROTATE,
    "UPDATE principals SET secret_prev = secret, secret = $2,"
    " entity_version = entity_version + rotation_required::int,"
    " updated_ms = CASE WHEN rotation_required THEN $3 ELSE updated_ms END,"
    " rotation_required = false"
    " WHERE id = $1 RETURNING " ACC_P_COLS(""));
DB_STMT(P_RESET,
    "UPDATE principals SET client_id = $2, secret = $3, secret_prev = NULL,"
    " entity_version = entity_version"
    "  + (rotation_required OR client_id <> $2)::int,"
    " updated_ms = CASE WHEN rotation_required OR client_id <> $2"
    "  THEN $4 ELSE updated_ms END,"
    " rotation_required = false"
    " WHERE id = $1 RETURNING " ACC_P_COLS(""));

static bool one(struct acc_entities *l, struct acc_entity *out)
{
    if (l->n == 0) {
        return false;
    }
    *out = l->items[0];
    return true;
}

static bool not_found(const char *name, struct fl_err *err)
{
    return FL_ERR(err, 404, "NotFoundException", "Principal %s not found",
                  name);
}

/*
 * Create principal q->name (name and properties already checked) with a
 * new client id and secret; q->flag: credentialRotationRequired.  *secret
 * is the clear secret.  Errors: 409 AlreadyExistsException.
 */
bool acc_principal_create(struct cat_ctx *cx, const struct acc_entity_req *q,
                          struct acc_entity *out, const char **secret,
                          struct fl_err *err)
{
    struct acc_entities l;
    json_t             *props = q->properties;

    *secret = acc_new_secret(cx->a);
    if (props == NULL) {
        props = fl_arena_own_json(cx->a, json_object());
    }
    if (!acc_entities_exec(cx, &P_INSERT,
                           DB_ARGS(cx->realm, q->name,
                                   acc_new_client_id(cx->a),
                                   acc_secret_hash(cx->a, *secret),
                                   cat_json_text(cx->a, props),
                                   q->flag ? "true" : "false",
                                   cat_i64(cx->a, fl_now_ms())),
                           ACC_PRINCIPAL, &l, err)) {
        return false;
    }
    /* NB: a clash of the random client id would land here too (2^-64) */
    if (!one(&l, out)) {
        return FL_ERR(err, 409, "AlreadyExistsException",
                      "Cannot create Principal %s. Principal already exists "
                      "or resolution failed", q->name);
    }
    return true;
}

/* Principal `name`.  Errors: 404 NotFoundException. */
bool acc_principal_get(struct cat_ctx *cx, const char *name,
                       struct acc_entity *out, struct fl_err *err)
{
    struct acc_entities l;

    if (!acc_entities_exec(cx, &P_GET, DB_ARGS(cx->realm, name),
                           ACC_PRINCIPAL, &l, err)) {
        return false;
    }
    return one(&l, out) || not_found(name, err);
}

/*
 * Every principal of the realm when `all`, else those the caller holds
 * PRINCIPAL_READ_PROPERTIES (or better) on.
 */
bool acc_principal_list(struct cat_ctx *cx, const struct acc_caller *who,
                        bool all, struct acc_entities *out,
                        struct fl_err *err)
{
    if (all) {
        return acc_entities_exec(cx, &P_LIST, DB_ARGS(cx->realm),
                                 ACC_PRINCIPAL, out, err);
    }
    return acc_entities_exec(cx, &P_VISIBLE,
                             DB_ARGS(cx->realm, acc_roles_array(cx->a, who),
                                     acc_supers_array(cx->a,
                                         ACC_PRINCIPAL_READ_PROPERTIES)),
                             ACC_PRINCIPAL, out, err);
}

/* updatePrincipal.  Errors: 404, 409 CommitConflictException. */
bool acc_principal_update(struct cat_ctx *cx, const char *name,
                          const struct acc_entity_req *q,
                          struct acc_entity *out, struct fl_err *err)
{
    struct acc_entity cur;

    return acc_principal_get(cx, name, &cur, err) &&
           acc_entity_cas(cx, &P_UPDATE, "Principal", &cur, q, out, err);
}

/*
 * Drop principal `name`, its grants (role assignments) and so its
 * credentials.  The realm's root principal cannot be dropped.  Errors:
 * 404, 400 BadRequestException.
 */
bool acc_principal_delete(struct cat_ctx *cx, const char *name,
                          struct fl_err *err)
{
    struct acc_entity cur;
    struct db_rows   *r;

    if (!acc_principal_get(cx, name, &cur, err)) {
        return false;
    }
    if (strcmp(cur.name, "root") == 0) {
        return FL_ERR(err, 400, "BadRequestException",
                      "Root principal cannot be dropped");
    }
    if (!db_exec(cx->conn, &P_DELETE, DB_ARGS(cat_i64(cx->a, cur.id)),
                 cx->a, &r, err)) {
        return false;
    }
    return r->affected > 0 || not_found(name, err);
}

/*
 * rotateCredentials: a new secret; the current one becomes the previous
 * one (still accepted), the one before is forgotten.  Clears "rotation
 * required".  *secret is the new clear secret.  Errors: 404.
 */
bool acc_principal_rotate(struct cat_ctx *cx, const char *name,
                          struct acc_entity *out, const char **secret,
                          struct fl_err *err)
{
    struct acc_entity   cur;
    struct acc_entities l;

    *secret = acc_new_secret(cx->a);
    if (!acc_principal_get(cx, name, &cur, err) ||
        !acc_entities_exec(cx, &P_ROTATE,
                           DB_ARGS(cat_i64(cx->a, cur.id),
                                   acc_secret_hash(cx->a, *secret),
                                   cat_i64(cx->a, fl_now_ms())),
                           ACC_PRINCIPAL, &l, err)) {
        return false;
    }
    return one(&l, out) || not_found(name, err);
}

static bool credential_check(const char *what, const char *v,
                             struct fl_err *err)
{
    if (v == NULL) {
        return true;
    }
    if (v[0] == '\0' || strlen(v) > MAX_CLIENT || fl_has_control(v)) {
        return FL_ERR(err, 400, "BadRequestException",
                      "%s must have 1 to %d bytes without control "
                      "characters", what, MAX_CLIENT);
    }
    return true;
}

/*
 * resetCredentials: replace the secret (by `new_secret`, else a generated
 * one) and, when `client_id` is given, the client id; the previous secret
 * stops working.  *secret is the clear secret.  Errors: 404, 400 for
 * malformed values, 409 AlreadyExistsException when another principal
 * uses the client id.
 */
bool acc_principal_reset(struct cat_ctx *cx, const char *name,
                         const char *client_id, const char *new_secret,
                         struct acc_entity *out, const char **secret,
                         struct fl_err *err)
{
    struct acc_entity   cur;
    struct acc_entities l;

    if (!credential_check("clientId", client_id, err) ||
        !credential_check("clientSecret", new_secret, err) ||
        !acc_principal_get(cx, name, &cur, err)) {
        return false;
    }
    *secret = new_secret ? new_secret : acc_new_secret(cx->a);
    if (!acc_entities_exec(cx, &P_RESET,
                           DB_ARGS(cat_i64(cx->a, cur.id),
                                   client_id ? client_id : cur.client_id,
                                   acc_secret_hash(cx->a, *secret),
                                   cat_i64(cx->a, fl_now_ms())),
                           ACC_PRINCIPAL, &l, err)) {
        if (err->status == 409 &&
            strcmp(err->type, "AlreadyExistsException") == 0) {
            return fl_err_retype(err, 409, "AlreadyExistsException",
                                 "Client ID already in use: %s", client_id);
        }
        return false;
    }
    return one(&l, out) || not_found(name, err);
}
