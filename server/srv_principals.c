/*
 * srv_principals.c
 *
 * Handlers and authorizers of the Polaris management API for principals
 * (/api/management/v1/principals...), principal roles
 * (/principal-roles...) and the assignment of principal roles to
 * principals: decode, call access/, render Principal, PrincipalRole and
 * PrincipalWithCredentials.  spec: polaris-management-service.yaml.
 *
 * Authorization follows Polaris (RbacOperationSemantics): the privilege of
 * each operation on the entity it names, or on the root container for
 * creates; the entity is resolved first, so a missing one is 404 before
 * any 403, as Polaris resolves before it authorizes.  A principal may
 * rotate its own credentials; only root may reset credentials.  The
 * listings show everything to holders of the LIST privilege and otherwise
 * only the entities the caller may read.
 *
 * Also here, shared with srv_grants.c: request decoding of the entity
 * bodies and the entity authorizer.
 */
#include "server/srv_int.h"

#include <string.h>

/* ------------------------------------------------------------- shared */

/*
 * Decode a create body {"<key>": {name, properties?, federated?}} (and
 * credentialRotationRequired beside it for principals) into *q, checking
 * the name and properties.  Errors: 400.
 */
bool srv_entity_create_req(struct srv_req *req, const char *key,
                           const char *what, struct acc_entity_req *q,
                           struct fl_err *err)
{
    json_t *body = srv_req_body(req, err);
    json_t *v;

    memset(q, 0, sizeof(*q));
    if (body == NULL || !fl_json_obj(body, key, true, &v, err) ||
        !fl_json_str(v, "name", true, &q->name, err) ||
        !fl_json_obj(v, "properties", false, &q->properties, err) ||
        !acc_name_check(what, q->name, err) ||
        (q->properties != NULL && !acc_props_check(q->properties, err))) {
        return false;
    }
    if (strcmp(key, "principal") == 0) {
        return fl_json_bool(body, "credentialRotationRequired", false,
                            &q->flag, err);
    }
    if (strcmp(key, "principalRole") == 0) {
        return fl_json_bool(v, "federated", false, &q->flag, err);
    }
    return true;
}

/* Decode an update body {currentEntityVersion, properties}, both
 * required as in the spec.  Errors: 400. */
bool srv_entity_update_req(struct srv_req *req, struct acc_entity_req *q,
                           struct fl_err *err)
{
    json_t *body = srv_req_body(req, err);

    memset(q, 0, sizeof(*q));
    return body != NULL &&
           fl_json_int(body, "currentEntityVersion", true, &q->version,
                       err) &&
           fl_json_obj(body, "properties", true, &q->properties, err) &&
           acc_props_check(q->properties, err);
}

/* The name of {"<key>": {"name": ...}} in the body (assignments). */
const char *srv_entity_ref(struct srv_req *req, const char *key,
                           struct fl_err *err)
{
    json_t     *body = srv_req_body(req, err);
    json_t     *v;
    const char *name;

    if (body == NULL || !fl_json_obj(body, key, true, &v, err) ||
        !fl_json_str(v, "name", true, &name, err)) {
        return NULL;
    }
    return name;
}

/* {"<key>": [entity JSON...]}.  Returns a new reference. */
json_t *srv_entities_json(const struct acc_entities *l, const char *key)
{
    json_t *arr = json_array();
    int     i;

    for (i = 0; i < l->n; i++) {
        json_array_append_new(arr, acc_entity_to_json(&l->items[i]));
    }
    return json_pack("{so}", key, arr);
}

/*
 * Authorize `priv` on entity (type, id) of catalog `catalog_id` (0: none):
 * grants on it, on its catalog or on the root container.  Else 403.
 */
bool srv_az_entity(struct srv_req *req, int type, int64_t id,
                   int64_t catalog_id, int priv, struct fl_err *err)
{
    bool allowed;

    if (!acc_check_entity(&req->cx, &req->who, type, id, catalog_id, priv,
                          &allowed, err)) {
        return false;
    }
    return allowed || acc_denied(err, &req->who, req->m.route->op, priv);
}

static bool az_root(struct srv_req *req, int priv, struct fl_err *err)
{
    return srv_az_entity(req, ACC_ROOT, 0, 0, priv, err);
}

/* Does the caller hold `priv` on the root container?  (No 403.) */
static bool holds_root(struct srv_req *req, int priv, bool *all,
                       struct fl_err *err)
{
    return acc_check_entity(&req->cx, &req->who, ACC_ROOT, 0, 0, priv, all,
                            err);
}

static const char *pname(struct srv_req *req)
{
    return srv_req_param(req, "principalName");
}

static const char *rname(struct srv_req *req)
{
    return srv_req_param(req, "principalRoleName");
}

/* PrincipalWithCredentials.  Returns a new reference. */
static json_t *with_credentials(const struct acc_entity *p,
                                const char *secret)
{
    return json_pack("{s:o s:{s:s s:s}}",
                     "principal", acc_entity_to_json(p),
                     "credentials", "clientId", p->client_id,
                     "clientSecret", secret);
}

/* ---------------------------------------------------------- principals */

/* spec: listPrincipals -> 200 {"principals": [Principal]} */
json_t *srv_h_principal_list(struct srv_req *req, struct fl_err *err)
{
    struct acc_entities l;
    bool                all;

    if (!holds_root(req, ACC_PRINCIPAL_LIST, &all, err) ||
        !acc_principal_list(&req->cx, &req->who, all, &l, err)) {
        return NULL;
    }
    return srv_entities_json(&l, "principals");
}

/* spec: createPrincipal -> 201 PrincipalWithCredentials; 409 */
json_t *srv_h_principal_create(struct srv_req *req, struct fl_err *err)
{
    struct acc_entity_req q;
    struct acc_entity     p;
    const char           *secret;

    if (!srv_entity_create_req(req, "principal", "principal", &q, err) ||
        !acc_principal_create(&req->cx, &q, &p, &secret, err)) {
        return NULL;
    }
    req->status = 201;
    return with_credentials(&p, secret);
}

/* spec: getPrincipal -> 200 Principal (never the secret) */
json_t *srv_h_principal_get(struct srv_req *req, struct fl_err *err)
{
    struct acc_entity p;

    if (!acc_principal_get(&req->cx, pname(req), &p, err)) {
        return NULL;
    }
    return acc_entity_to_json(&p);
}

/* spec: updatePrincipal -> 200 Principal; 409 on a stale version */
json_t *srv_h_principal_update(struct srv_req *req, struct fl_err *err)
{
    struct acc_entity_req q;
    struct acc_entity     p;

    if (!srv_entity_update_req(req, &q, err) ||
        !acc_principal_update(&req->cx, pname(req), &q, &p, err)) {
        return NULL;
    }
    return acc_entity_to_json(&p);
}

/* spec: deletePrincipal -> 204 */
json_t *srv_h_principal_delete(struct srv_req *req, struct fl_err *err)
{
    if (acc_principal_delete(&req->cx, pname(req), err)) {
        req->status = 204;
    }
    return NULL;
}

/* spec: rotateCredentials -> 200 PrincipalWithCredentials */
json_t *srv_h_principal_rotate(struct srv_req *req, struct fl_err *err)
{
    struct acc_entity p;
    const char       *secret;

    if (!acc_principal_rotate(&req->cx, pname(req), &p, &secret, err)) {
        return NULL;
    }
    return with_credentials(&p, secret);
}

/* spec: resetCredentials -> 200 PrincipalWithCredentials; the body
 * {clientId?, clientSecret?} is optional */
json_t *srv_h_principal_reset(struct srv_req *req, struct fl_err *err)
{
    struct acc_entity p;
    const char       *id = NULL;
    const char       *given = NULL;
    const char       *secret;
    json_t           *body;

    if (req->body.len > 0) {
        body = srv_req_body(req, err);
        if (body == NULL ||
            !fl_json_str(body, "clientId", false, &id, err) ||
            !fl_json_str(body, "clientSecret", false, &given, err)) {
            return NULL;
        }
    }
    if (!acc_principal_reset(&req->cx, pname(req), id, given, &p, &secret,
                             err)) {
        return NULL;
    }
    return with_credentials(&p, secret);
}

/* spec: listPrincipalRolesAssigned -> 200 {"roles": [PrincipalRole]} */
json_t *srv_h_principal_roles(struct srv_req *req, struct fl_err *err)
{
    struct acc_entity   p;
    struct acc_entities l;

    if (!acc_principal_get(&req->cx, pname(req), &p, err) ||
        !acc_roles_of_principal(&req->cx, p.id, &l, err)) {
        return NULL;
    }
    return srv_entities_json(&l, "roles");
}

/* assignPrincipalRole (`add`, -> 201) and revokePrincipalRole (-> 204) */
static json_t *assign_common(struct srv_req *req, const char *role, bool add,
                             struct fl_err *err)
{
    struct acc_entity p;
    struct acc_entity r;

    if (role == NULL || !acc_principal_get(&req->cx, pname(req), &p, err) ||
        !acc_prole_get(&req->cx, role, &r, err) ||
        !acc_assign(&req->cx, &r, &p, add, err)) {
        return NULL;
    }
    req->status = add ? 201 : 204;
    return NULL;
}

/* spec: assignPrincipalRole {"principalRole": {"name"}} -> 201 */
json_t *srv_h_principal_assign(struct srv_req *req, struct fl_err *err)
{
    return assign_common(req, srv_entity_ref(req, "principalRole", err),
                         true, err);
}

/* spec: revokePrincipalRole -> 204; 400 GRANT_NOT_FOUND if not assigned */
json_t *srv_h_principal_revoke(struct srv_req *req, struct fl_err *err)
{
    return assign_common(req, rname(req), false, err);
}

/* ---------------------------------------------------- principal roles */

/* spec: listPrincipalRoles -> 200 {"roles": [PrincipalRole]} */
json_t *srv_h_prole_list(struct srv_req *req, struct fl_err *err)
{
    struct acc_entities l;
    bool                all;

    if (!holds_root(req, ACC_PRINCIPAL_ROLE_LIST, &all, err) ||
        !acc_prole_list(&req->cx, &req->who, all, &l, err)) {
        return NULL;
    }
    return srv_entities_json(&l, "roles");
}

/* spec: createPrincipalRole -> 201 PrincipalRole; 409 */
json_t *srv_h_prole_create(struct srv_req *req, struct fl_err *err)
{
    struct acc_entity_req q;
    struct acc_entity     r;

    if (!srv_entity_create_req(req, "principalRole", "principal role", &q,
                               err) ||
        !acc_prole_create(&req->cx, &q, &r, err)) {
        return NULL;
    }
    req->status = 201;
    return acc_entity_to_json(&r);
}

/* spec: getPrincipalRole -> 200 PrincipalRole */
json_t *srv_h_prole_get(struct srv_req *req, struct fl_err *err)
{
    struct acc_entity r;

    if (!acc_prole_get(&req->cx, rname(req), &r, err)) {
        return NULL;
    }
    return acc_entity_to_json(&r);
}

/* spec: updatePrincipalRole -> 200 PrincipalRole; 409 */
json_t *srv_h_prole_update(struct srv_req *req, struct fl_err *err)
{
    struct acc_entity_req q;
    struct acc_entity     r;

    if (!srv_entity_update_req(req, &q, err) ||
        !acc_prole_update(&req->cx, rname(req), &q, &r, err)) {
        return NULL;
    }
    return acc_entity_to_json(&r);
}

/* spec: deletePrincipalRole -> 204 */
json_t *srv_h_prole_delete(struct srv_req *req, struct fl_err *err)
{
    if (acc_prole_delete(&req->cx, rname(req), err)) {
        req->status = 204;
    }
    return NULL;
}

/* spec: listAssigneePrincipalsForPrincipalRole -> 200 Principals */
json_t *srv_h_prole_principals(struct srv_req *req, struct fl_err *err)
{
    struct acc_entity   r;
    struct acc_entities l;

    if (!acc_prole_get(&req->cx, rname(req), &r, err) ||
        !acc_principals_of_role(&req->cx, r.id, &l, err)) {
        return NULL;
    }
    return srv_entities_json(&l, "principals");
}

/* --------------------------------------------------------- authorizers */

/* `priv` on the principal of the path (404 first when it is missing) */
static bool az_principal(struct srv_req *req, int priv, struct fl_err *err)
{
    struct acc_entity p;

    return acc_principal_get(&req->cx, pname(req), &p, err) &&
           srv_az_entity(req, ACC_PRINCIPAL, p.id, 0, priv, err);
}

/* `priv` on the principal role named `name` */
static bool az_prole(struct srv_req *req, const char *name, int priv,
                     struct fl_err *err)
{
    struct acc_entity r;

    return name != NULL && acc_prole_get(&req->cx, name, &r, err) &&
           srv_az_entity(req, ACC_PRINCIPAL_ROLE, r.id, 0, priv, err);
}

/* listPrincipals / listPrincipalRoles filter what the caller sees */
SRV_AZ(listPrincipals)
{
    return srv_az_authenticated(req, err);
}

SRV_AZ(createPrincipal)
{
    return az_root(req, ACC_PRINCIPAL_CREATE, err);
}

SRV_AZ(getPrincipal)
{
    return az_principal(req, ACC_PRINCIPAL_READ_PROPERTIES, err);
}

SRV_AZ(updatePrincipal)
{
    return az_principal(req, ACC_PRINCIPAL_WRITE_PROPERTIES, err);
}

SRV_AZ(deletePrincipal)
{
    return az_principal(req, ACC_PRINCIPAL_DROP, err);
}

/* Polaris lets a principal rotate its own credentials without a grant */
SRV_AZ(rotateCredentials)
{
    struct acc_entity p;

    if (!acc_principal_get(&req->cx, pname(req), &p, err)) {
        return false;
    }
    return p.id == req->who.principal_id ||
           srv_az_entity(req, ACC_PRINCIPAL, p.id, 0,
                         ACC_PRINCIPAL_ROTATE_CREDENTIALS, err);
}

/* Polaris: only the root principal, whatever it holds */
SRV_AZ(resetCredentials)
{
    struct acc_entity p;

    if (!acc_principal_get(&req->cx, pname(req), &p, err)) {
        return false;
    }
    return req->who.root ||
           FL_ERR(err, 403, "ForbiddenException",
                  "Only Root principal(service-admin) can perform "
                  "RESET_CREDENTIALS");
}

SRV_AZ(listPrincipalRolesAssigned)
{
    return az_principal(req, ACC_PRINCIPAL_LIST_GRANTS, err);
}

SRV_AZ(assignPrincipalRole)
{
    const char       *role = srv_entity_ref(req, "principalRole", err);
    struct acc_entity p;
    struct acc_entity r;

    return role != NULL &&
           acc_principal_get(&req->cx, pname(req), &p, err) &&
           acc_prole_get(&req->cx, role, &r, err) &&
           srv_az_entity(req, ACC_PRINCIPAL_ROLE, r.id, 0,
                         ACC_PRINCIPAL_ROLE_MANAGE_GRANTS_ON_SECURABLE, err);
}

/* the role's MANAGE_GRANTS_ON_SECURABLE, and the principal's
 * MANAGE_GRANTS_FOR_GRANTEE (Polaris's secondary privilege) */
SRV_AZ(revokePrincipalRole)
{
    struct acc_entity p;
    struct acc_entity r;

    return acc_principal_get(&req->cx, pname(req), &p, err) &&
           acc_prole_get(&req->cx, rname(req), &r, err) &&
           srv_az_entity(req, ACC_PRINCIPAL_ROLE, r.id, 0,
                         ACC_PRINCIPAL_ROLE_MANAGE_GRANTS_ON_SECURABLE, err) &&
           srv_az_entity(req, ACC_PRINCIPAL, p.id, 0,
                         ACC_PRINCIPAL_MANAGE_GRANTS_FOR_GRANTEE, err);
}

SRV_AZ(listPrincipalRoles)
{
    return srv_az_authenticated(req, err);
}

SRV_AZ(createPrincipalRole)
{
    return az_root(req, ACC_PRINCIPAL_ROLE_CREATE, err);
}

SRV_AZ(getPrincipalRole)
{
    return az_prole(req, rname(req), ACC_PRINCIPAL_ROLE_READ_PROPERTIES, err);
}

SRV_AZ(updatePrincipalRole)
{
    return az_prole(req, rname(req), ACC_PRINCIPAL_ROLE_WRITE_PROPERTIES,
                    err);
}

SRV_AZ(deletePrincipalRole)
{
    return az_prole(req, rname(req), ACC_PRINCIPAL_ROLE_DROP, err);
}

SRV_AZ(listAssigneePrincipalsForPrincipalRole)
{
    return az_prole(req, rname(req), ACC_PRINCIPAL_ROLE_LIST_GRANTS, err);
}
