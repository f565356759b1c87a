/*
 * srv_grants.c
 *
 * Handlers and authorizers of the Polaris management API for catalog
 * roles (/api/management/v1/catalogs/{c}/catalog-roles...), their
 * assignment to principal roles (/principal-roles/{r}/catalog-roles...)
 * and the grants they hold (.../catalog-roles/{cr}/grants).  spec:
 * polaris-management-service.yaml.
 *
 * Authorization follows Polaris (RbacOperationSemantics): CATALOG_ROLE_*
 * on the catalog role (which CATALOG_MANAGE_ACCESS on its catalog
 * satisfies), *_MANAGE_GRANTS_ON_SECURABLE on the securable of a grant
 * (inherited from its namespaces and catalog), and for revocations also
 * CATALOG_ROLE_MANAGE_GRANTS_FOR_GRANTEE on the role.  Missing catalogs,
 * roles and securables are 404 before any 403, as Polaris resolves them
 * before it authorizes.
 */
#include "server/srv_int.h"

#include <string.h>

static const char *catalog(struct srv_req *req)
{
    return srv_req_param(req, "catalogName");
}

static const char *crname(struct srv_req *req)
{
    return srv_req_param(req, "catalogRoleName");
}

static const char *rname(struct srv_req *req)
{
    return srv_req_param(req, "principalRoleName");
}

/* The catalog role of the path. */
static bool crole(struct srv_req *req, struct acc_entity *out,
                  struct fl_err *err)
{
    return acc_crole_get(&req->cx, catalog(req), crname(req), out, err);
}

/* ------------------------------------------------------- catalog roles */

/*
 * Does the caller hold `priv` on catalog `name` (rooted)?  Sets *cid, and
 * fails 404 when there is no such catalog.
 */
static bool holds_catalog(struct srv_req *req, const char *name, int priv,
                          bool *allowed, int64_t *cid, struct fl_err *err)
{
    struct acc_target   t;
    struct acc_resolved r;

    memset(&t, 0, sizeof(t));
    t.catalog = name;
    t.rooted = true;
    if (!acc_check(&req->cx, &req->who, &t, &priv, 1, allowed, &r, err)) {
        return false;
    }
    *cid = r.catalog_id;
    return r.catalog_id != 0 ||
           FL_ERR(err, 404, "NotFoundException", "Catalog not found: %s",
                  name);
}

/* spec: listCatalogRoles -> 200 {"roles": [CatalogRole]} */
json_t *srv_h_crole_list(struct srv_req *req, struct fl_err *err)
{
    struct acc_entities l;
    bool                all;
    int64_t             cid;

    if (!holds_catalog(req, catalog(req), ACC_CATALOG_ROLE_LIST, &all, &cid,
                       err) ||
        !acc_crole_list(&req->cx, cid, &req->who, all, &l, err)) {
        return NULL;
    }
    return srv_entities_json(&l, "roles");
}

/* spec: createCatalogRole -> 201 CatalogRole; 404, 409 */
json_t *srv_h_crole_create(struct srv_req *req, struct fl_err *err)
{
    struct acc_entity_req q;
    struct acc_entity     r;

    if (!srv_entity_create_req(req, "catalogRole", "catalog role", &q,
                               err) ||
        !acc_crole_create(&req->cx, catalog(req), &q, &r, err)) {
        return NULL;
    }
    req->status = 201;
    return acc_entity_to_json(&r);
}

/* spec: getCatalogRole -> 200 CatalogRole */
json_t *srv_h_crole_get(struct srv_req *req, struct fl_err *err)
{
    struct acc_entity r;

    if (!crole(req, &r, err)) {
        return NULL;
    }
    return acc_entity_to_json(&r);
}

/* spec: updateCatalogRole -> 200 CatalogRole; 409 */
json_t *srv_h_crole_update(struct srv_req *req, struct fl_err *err)
{
    struct acc_entity_req q;
    struct acc_entity     r;

    if (!srv_entity_update_req(req, &q, err) ||
        !acc_crole_update(&req->cx, catalog(req), crname(req), &q, &r,
                          err)) {
        return NULL;
    }
    return acc_entity_to_json(&r);
}

/* spec: deleteCatalogRole -> 204 (its grants go with it) */
json_t *srv_h_crole_delete(struct srv_req *req, struct fl_err *err)
{
    if (acc_crole_delete(&req->cx, catalog(req), crname(req), err)) {
        req->status = 204;
    }
    return NULL;
}

/* spec: listAssigneePrincipalRolesForCatalogRole -> 200 PrincipalRoles */
json_t *srv_h_crole_proles(struct srv_req *req, struct fl_err *err)
{
    struct acc_entity   r;
    struct acc_entities l;

    if (!crole(req, &r, err) ||
        !acc_proles_of_crole(&req->cx, r.id, &l, err)) {
        return NULL;
    }
    return srv_entities_json(&l, "roles");
}

/* ------------------------------------------------------------- grants */

/* spec: listGrantsForCatalogRole -> 200 {"grants": [GrantResource]} */
json_t *srv_h_grant_list(struct srv_req *req, struct fl_err *err)
{
    struct acc_entity r;
    struct acc_grant *g;
    json_t           *arr;
    int               n;
    int               i;

    if (!crole(req, &r, err) || !acc_grant_list(&req->cx, &r, &g, &n, err)) {
        return NULL;
    }
    arr = json_array();
    for (i = 0; i < n; i++) {
        json_array_append_new(arr, acc_grant_to_json(&g[i]));
    }
    return json_pack("{so}", "grants", arr);
}

/* The {"grant": GrantResource} of an add or revoke body.  400. */
static bool grant_req(struct srv_req *req, struct acc_grant *g,
                      struct fl_err *err)
{
    json_t *body = srv_req_body(req, err);
    json_t *v;

    return body != NULL && fl_json_obj(body, "grant", true, &v, err) &&
           acc_grant_from_json(req->a, v, g, err);
}

/* spec: revokeGrantFromCatalogRole, ?cascade=true|false */
static bool cascade_param(struct srv_req *req, bool *cascade,
                          struct fl_err *err)
{
    const char *v = srv_req_query(req, "cascade", err);

    *cascade = v != NULL && strcmp(v, "true") == 0;
    if (fl_err_isset(err)) {
        return false;
    }
    return v == NULL || *cascade || strcmp(v, "false") == 0 ||
           FL_ERR(err, 400, "BadRequestException",
                  "query parameter \"cascade\" must be true or false");
}

/* addGrantToCatalogRole (PUT) and revokeGrantFromCatalogRole (POST):
 * both 201 without a body, as Polaris answers */
static json_t *grant_common(struct srv_req *req, bool add,
                            struct fl_err *err)
{
    struct acc_entity r;
    struct acc_grant  g;
    bool              cascade = false;

    if ((!add && !cascade_param(req, &cascade, err)) ||
        !grant_req(req, &g, err) || !crole(req, &r, err) ||
        !acc_grant_change(&req->cx, &r, &g, add, cascade, err)) {
        return NULL;
    }
    req->status = 201;
    return NULL;
}

/* spec: addGrantToCatalogRole -> 201 */
json_t *srv_h_grant_add(struct srv_req *req, struct fl_err *err)
{
    return grant_common(req, true, err);
}

/* spec: revokeGrantFromCatalogRole -> 201; 400 GRANT_NOT_FOUND */
json_t *srv_h_grant_revoke(struct srv_req *req, struct fl_err *err)
{
    return grant_common(req, false, err);
}

/* ------------------------------ catalog roles of principal roles */

/* spec: listCatalogRolesForPrincipalRole -> 200 {"roles": [CatalogRole]} */
json_t *srv_h_prole_croles(struct srv_req *req, struct fl_err *err)
{
    struct acc_entity   r;
    struct acc_entities l;
    int64_t             cid;

    if (!acc_prole_get(&req->cx, rname(req), &r, err) ||
        !acc_catalog_id(&req->cx, catalog(req), &cid, err) ||
        !acc_croles_of_prole(&req->cx, r.id, cid, &l, err)) {
        return NULL;
    }
    return srv_entities_json(&l, "roles");
}

/* assign (-> 201) or revoke (-> 204) catalog role `cr` of the path's
 * catalog to/from the path's principal role */
static json_t *prole_assign_common(struct srv_req *req, const char *cr,
                                   bool add, struct fl_err *err)
{
    struct acc_entity r;
    struct acc_entity c;

    if (cr == NULL || !acc_prole_get(&req->cx, rname(req), &r, err) ||
        !acc_crole_get(&req->cx, catalog(req), cr, &c, err) ||
        !acc_assign(&req->cx, &c, &r, add, err)) {
        return NULL;
    }
    req->status = add ? 201 : 204;
    return NULL;
}

/* spec: assignCatalogRoleToPrincipalRole {"catalogRole": {"name"}} -> 201 */
json_t *srv_h_prole_assign(struct srv_req *req, struct fl_err *err)
{
    return prole_assign_common(req, srv_entity_ref(req, "catalogRole", err),
                               true, err);
}

/* spec: revokeCatalogRoleFromPrincipalRole -> 204 */
json_t *srv_h_prole_unassign(struct srv_req *req, struct fl_err *err)
{
    return prole_assign_common(req, crname(req), false, err);
}

/* --------------------------------------------------------- authorizers */

/* `priv` on the catalog role of the path (404 first) */
static bool az_crole(struct srv_req *req, int priv, struct fl_err *err)
{
    struct acc_entity r;

    return crole(req, &r, err) &&
           srv_az_entity(req, ACC_CATALOG_ROLE, r.id, r.catalog_id, priv,
                         err);
}

/* listCatalogRoles filters what the caller sees */
SRV_AZ(listCatalogRoles)
{
    return srv_az_authenticated(req, err);
}

SRV_AZ(createCatalogRole)
{
    bool    allowed;
    int64_t cid;

    if (!holds_catalog(req, catalog(req), ACC_CATALOG_ROLE_CREATE, &allowed,
                       &cid, err)) {
        return false;
    }
    return allowed || acc_denied(err, &req->who, req->m.route->op,
                                 ACC_CATALOG_ROLE_CREATE);
}

SRV_AZ(getCatalogRole)
{
    return az_crole(req, ACC_CATALOG_ROLE_READ_PROPERTIES, err);
}

SRV_AZ(updateCatalogRole)
{
    return az_crole(req, ACC_CATALOG_ROLE_WRITE_PROPERTIES, err);
}

SRV_AZ(deleteCatalogRole)
{
    return az_crole(req, ACC_CATALOG_ROLE_DROP, err);
}

SRV_AZ(listAssigneePrincipalRolesForCatalogRole)
{
    return az_crole(req, ACC_CATALOG_ROLE_LIST_GRANTS, err);
}

SRV_AZ(listGrantsForCatalogRole)
{
    return az_crole(req, ACC_CATALOG_ROLE_LIST_GRANTS, err);
}

/* The acc_check target of a grant's securable in the path's catalog. */
static void grant_target(struct srv_req *req, const struct acc_grant *g,
                         struct acc_target *t)
{
    memset(t, 0, sizeof(*t));
    t->catalog = catalog(req);
    t->ns = g->ns;
    t->nns = g->nns;
    t->rooted = true;
    if (g->type == ACC_TABLE_LIKE || g->type == ACC_POLICY) {
        t->leaf = g->name;
        t->leaf_type = g->type;
        t->leaf_kind = g->kind;
    }
}

/*
 * Grants: the securable's MANAGE_GRANTS_ON_SECURABLE (a missing securable
 * is 404 first), and to revoke, the role's MANAGE_GRANTS_FOR_GRANTEE.
 */
static bool az_grant(struct srv_req *req, bool revoke, struct fl_err *err)
{
    struct acc_grant    g;
    struct acc_entity   r;
    struct acc_target   t;
    struct acc_resolved res;
    int                 priv;
    bool                allowed;

    if (!grant_req(req, &g, err) || !crole(req, &r, err)) {
        return false;
    }
    priv = acc_grant_manage_priv(&g);
    grant_target(req, &g, &t);
    if (!acc_check(&req->cx, &req->who, &t, &priv, 1, &allowed, &res,
                   err)) {
        return false;
    }
    if (res.depth < g.nns || (t.leaf != NULL && !res.leaf_found)) {
        return acc_grant_missing(req->a, &g, err);
    }
    if (!allowed) {
        return acc_denied(err, &req->who, req->m.route->op, priv);
    }
    return !revoke ||
           srv_az_entity(req, ACC_CATALOG_ROLE, r.id, r.catalog_id,
                         ACC_CATALOG_ROLE_MANAGE_GRANTS_FOR_GRANTEE, err);
}

SRV_AZ(addGrantToCatalogRole)
{
    return az_grant(req, false, err);
}

SRV_AZ(revokeGrantFromCatalogRole)
{
    bool cascade;

    return cascade_param(req, &cascade, err) && az_grant(req, true, err);
}

SRV_AZ(listCatalogRolesForPrincipalRole)
{
    struct acc_entity r;
    int64_t           cid;

    return acc_prole_get(&req->cx, rname(req), &r, err) &&
           acc_catalog_id(&req->cx, catalog(req), &cid, err) &&
           srv_az_entity(req, ACC_PRINCIPAL_ROLE, r.id, cid,
                         ACC_PRINCIPAL_ROLE_LIST_GRANTS, err);
}

/* CATALOG_ROLE_MANAGE_GRANTS_ON_SECURABLE on catalog role `cr` (both
 * roles resolved first) */
static bool az_prole_crole(struct srv_req *req, const char *cr,
                           struct fl_err *err)
{
    struct acc_entity r;
    struct acc_entity c;

    return cr != NULL && acc_prole_get(&req->cx, rname(req), &r, err) &&
           acc_crole_get(&req->cx, catalog(req), cr, &c, err) &&
           srv_az_entity(req, ACC_CATALOG_ROLE, c.id, c.catalog_id,
                         ACC_CATALOG_ROLE_MANAGE_GRANTS_ON_SECURABLE, err);
}

SRV_AZ(assignCatalogRoleToPrincipalRole)
{
    return az_prole_crole(req, srv_entity_ref(req, "catalogRole", err), err);
}

SRV_AZ(revokeCatalogRoleFromPrincipalRole)
{
    return az_prole_crole(req, crname(req), err);
}
