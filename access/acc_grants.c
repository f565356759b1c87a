/*
 * acc_grants.c
 *
 * Role assignments and grants to catalog roles, all rows of `grants`
 * (migrations/0003_access.sql).  Assigning principal role R to principal P
 * is PRINCIPAL_ROLE_USAGE on (3, R) held by (2, P); assigning catalog role
 * C to principal role R is CATALOG_ROLE_USAGE on (5, C) held by (3, R),
 * with the catalog's id.  A GrantResource of the management API names a
 * catalog, namespace, table, view or policy and one privilege of that
 * type's enum in the spec; it becomes a grant on the securable's row held
 * by (5, catalog role).
 *
 * Adding a grant locks the rows it names (FOR KEY SHARE) in its
 * transaction, so a concurrent drop of the role or the securable waits and
 * then takes the grant with it (the tables' triggers) instead of leaving
 * it dangling.  Revoking a grant that does not exist is Polaris's 400
 * GRANT_NOT_FOUND.  Revoking with cascade also revokes, from the same
 * role, the grants below the securable (namespaces under it, tables,
 * views and policies in them) of every privilege the revoked one
 * satisfies (Polaris answers 501 to cascade).
 *
 * Not here: who may assign or grant (server/ authorizers).
 */
#include "access/access.h"
#include "access/acc_int.h"

#include <stdlib.h>
#include <string.h>

DB_STMT(LOCK_PRINCIPAL, "SELECT 1 FROM principals WHERE id = $1 FOR KEY SHARE");
DB_STMT(LOCK_PROLE,
    "SELECT 1 FROM principal_roles WHERE id = $1 FOR KEY SHARE");
DB_STMT(LOCK_CROLE, "SELECT 1 FROM catalog_roles WHERE id = $1 FOR KEY SHARE");
DB_STMT(GRANT_DELETE,
    "DELETE FROM grants WHERE realm = $1 AND securable_type = $2"
    " AND securable_id = $3 AND grantee_type = $4 AND grantee_id = $5"
    " AND privilege = $6");
DB_STMT(ROLES_OF_PRINCIPAL,
    "SELECT " ACC_R_COLS("r.") " FROM grants g"
    " JOIN principal_roles r ON r.id = g.securable_id"
    " WHERE g.realm = $1 AND g.grantee_type = 2 AND g.grantee_id = $2"
    "  AND g.securable_type = 3 AND g.privilege = 4 ORDER BY r.name");
DB_STMT(PRINCIPALS_OF_ROLE,
    "SELECT " ACC_P_COLS("p.") " FROM grants g"
    " JOIN principals p ON p.id = g.grantee_id"
    " WHERE g.realm = $1 AND g.securable_type = 3 AND g.securable_id = $2"
    "  AND g.grantee_type = 2 AND g.privilege = 4 ORDER BY p.name");
DB_STMT(CROLES_OF_PROLE,
    "SELECT " ACC_C_COLS("c.") " FROM grants g"
    " JOIN catalog_roles c ON c.id = g.securable_id"
    " WHERE g.realm = $1 AND g.grantee_type = 3 AND g.grantee_id = $2"
    "  AND g.securable_type = 5 AND g.privilege = 3 AND g.catalog_id = $3"
    " ORDER BY c.name");
DB_STMT(PROLES_OF_CROLE,
    "SELECT " ACC_R_COLS("r.") " FROM grants g"
    " JOIN principal_roles r ON r.id = g.grantee_id"
    " WHERE g.realm = $1 AND g.securable_type = 5 AND g.securable_id = $2"
    "  AND g.grantee_type = 3 AND g.privilege = 3 ORDER BY r.name");
DB_STMT(SEC_NS,
    "SELECT id FROM namespaces WHERE catalog_id = $1 AND path = $2::text[]"
    " FOR KEY SHARE");
DB_STMT(SEC_TABLE,
    "SELECT t.id FROM namespaces n JOIN tables t ON t.namespace_id = n.id"
    "  AND t.name = $3 AND t.kind = $4"
    " WHERE n.catalog_id = $1 AND n.path = $2::text[] FOR KEY SHARE OF t");
DB_STMT(SEC_POLICY,
    "SELECT p.id FROM namespaces n JOIN policies p ON p.namespace_id = n.id"
    "  AND p.name = $3"
    " WHERE n.catalog_id = $1 AND n.path = $2::text[] FOR KEY SHARE OF p");
/* the role's grants of privileges $3 on what lies below namespace path $5
 * ($6 levels; none: the whole catalog $4) */
DB_STMT(GRANT_CASCADE,
    "DELETE FROM grants g WHERE g.realm = $1 AND g.grantee_type = 5"
    " AND g.grantee_id = $2 AND g.privilege = ANY($3::smallint[]) AND ("
    " (g.securable_type = 6 AND EXISTS (SELECT 1 FROM namespaces n"
    "   WHERE n.id = g.securable_id AND n.catalog_id = $4"
    "    AND cardinality(n.path) > $6::int"
    "    AND n.path[1:$6::int] = $5::text[]))"
    " OR (g.securable_type = 7 AND EXISTS (SELECT 1 FROM tables t"
    "   JOIN namespaces n ON n.id = t.namespace_id"
    "   WHERE t.id = g.securable_id AND n.catalog_id = $4"
    "    AND n.path[1:$6::int] = $5::text[]))"
    " OR (g.securable_type = 10 AND EXISTS (SELECT 1 FROM policies p"
    "   JOIN namespaces n ON n.id = p.namespace_id"
    "   WHERE p.id = g.securable_id AND n.catalog_id = $4"
    "    AND n.path[1:$6::int] = $5::text[])))");
/* grouped as Polaris lists them: catalog, namespace, table, view, policy */
DB_STMT(GRANT_LIST,
    "SELECT g.securable_type, g.privilege, n.path::text, t.name, t.kind,"
    "  tn.path::text, p.name, pn.path::text FROM grants g"
    " LEFT JOIN namespaces n ON g.securable_type = 6"
    "  AND n.id = g.securable_id"
    " LEFT JOIN tables t ON g.securable_type = 7 AND t.id = g.securable_id"
    " LEFT JOIN namespaces tn ON tn.id = t.namespace_id"
    " LEFT JOIN policies p ON g.securable_type = 10"
    "  AND p.id = g.securable_id"
    " LEFT JOIN namespaces pn ON pn.id = p.namespace_id"
    " WHERE g.realm = $1 AND g.grantee_type = 5 AND g.grantee_id = $2"
    " ORDER BY CASE g.securable_type WHEN 4 THEN 0 WHEN 6 THEN 1"
    "  WHEN 7 THEN CASE t.kind WHEN 'table' THEN 2 ELSE 3 END ELSE 4 END,"
    "  COALESCE(n.path, tn.path, pn.path), COALESCE(t.name, p.name),"
    "  g.privilege");

/* --------------------------------------------------------- assignments */

static bool lock_row(struct cat_ctx *cx, int type, int64_t id,
                     const char *name, struct fl_err *err)
{
    struct db_stmt *st = type == ACC_PRINCIPAL ? &LOCK_PRINCIPAL
                       : type == ACC_PRINCIPAL_ROLE ? &LOCK_PROLE
                       : &LOCK_CROLE;
    struct db_rows *r;

    if (!db_exec(cx->conn, st, DB_ARGS(cat_i64(cx->a, id)), cx->a, &r,
                 err)) {
        return false;
    }
    return r->nrows > 0 ||
           FL_ERR(err, 404, "NotFoundException", "%s %s not found",
                  type == ACC_PRINCIPAL ? "Principal"
                  : type == ACC_PRINCIPAL_ROLE ? "PrincipalRole"
                  : "CatalogRole", name);
}

static bool not_granted(struct fl_err *err)
{
    return FL_ERR(err, 400, "GRANT_NOT_FOUND",
                  "Operation failed: GRANT_NOT_FOUND");
}

static bool assign_add(struct cat_ctx *cx, const struct acc_entity *role,
                       const struct acc_entity *grantee, int priv,
                       struct fl_err *err)
{
    bool ok;

    if (!db_begin(cx->conn, err)) {
        return false;
    }
    ok = lock_row(cx, role->type, role->id, role->name, err) &&
         lock_row(cx, grantee->type, grantee->id, grantee->name, err) &&
         acc_grant_add(cx, role->type, role->id, grantee->type, grantee->id,
                       priv, role->catalog_id, err) &&
         db_commit(cx->conn, err);
    if (!ok && db_in_transaction(cx->conn)) {
        db_rollback(cx->conn);
    }
    return ok;
}

/*
 * Assign (`add`) or revoke `role` (a principal role, or a catalog role)
 * to/from `grantee` (a principal, or a principal role).  Assigning twice is
 * no error.  Errors: 400 ValidationException for federated principal
 * roles, 400 GRANT_NOT_FOUND when revoking what is not assigned, 404 when
 * either is dropped meanwhile.
 */
bool acc_assign(struct cat_ctx *cx, const struct acc_entity *role,
                const struct acc_entity *grantee, bool add,
                struct fl_err *err)
{
    int             priv = role->type == ACC_PRINCIPAL_ROLE
                         ? ACC_PRINCIPAL_ROLE_USAGE : ACC_CATALOG_ROLE_USAGE;
    struct db_rows *r;

    if (role->type == ACC_PRINCIPAL_ROLE && role->federated) {
        return FL_ERR(err, 400, "ValidationException",
                      add ? "Cannot assign a federated role to a principal"
                          : "Cannot revoke a federated role from a "
                            "principal");
    }
    if (cat_conn(cx, err) == NULL) {
        return false;
    }
    if (add) {
        return assign_add(cx, role, grantee, priv, err);
    }
    if (!db_exec(cx->conn, &GRANT_DELETE,
                 DB_ARGS(cx->realm, cat_i64(cx->a, role->type),
                         cat_i64(cx->a, role->id),
                         cat_i64(cx->a, grantee->type),
                         cat_i64(cx->a, grantee->id), cat_i64(cx->a, priv)),
                 cx->a, &r, err)) {
        return false;
    }
    return r->affected > 0 || not_granted(err);
}

/* The principal roles assigned to principal `principal_id`, by name. */
bool acc_roles_of_principal(struct cat_ctx *cx, int64_t principal_id,
                            struct acc_entities *out, struct fl_err *err)
{
    return acc_entities_exec(cx, &ROLES_OF_PRINCIPAL,
                             DB_ARGS(cx->realm,
                                     cat_i64(cx->a, principal_id)),
                             ACC_PRINCIPAL_ROLE, out, err);
}

/* The principals principal role `role_id` is assigned to, by name. */
bool acc_principals_of_role(struct cat_ctx *cx, int64_t role_id,
                            struct acc_entities *out, struct fl_err *err)
{
    return acc_entities_exec(cx, &PRINCIPALS_OF_ROLE,
                             DB_ARGS(cx->realm, cat_i64(cx->a, role_id)),
                             ACC_PRINCIPAL, out, err);
}

/* The catalog roles of `catalog_id` assigned to principal role `role_id`. */
bool acc_croles_of_prole(struct cat_ctx *cx, int64_t role_id,
                         int64_t catalog_id, struct acc_entities *out,
                         struct fl_err *err)
{
    return acc_entities_exec(cx, &CROLES_OF_PROLE,
                             DB_ARGS(cx->realm, cat_i64(cx->a, role_id),
                                     cat_i64(cx->a, catalog_id)),
                             ACC_CATALOG_ROLE, out, err);
}

/* The principal roles catalog role `crole_id` is assigned to. */
bool acc_proles_of_crole(struct cat_ctx *cx, int64_t crole_id,
                         struct acc_entities *out, struct fl_err *err)
{
    return acc_entities_exec(cx, &PROLES_OF_CROLE,
                             DB_ARGS(cx->realm, cat_i64(cx->a, crole_id)),
                             ACC_PRINCIPAL_ROLE, out, err);
}

/* -------------------------------------------------------------- grants */

#define FINE_GRAINED \
    ACC_TABLE_ASSIGN_UUID, ACC_TABLE_UPGRADE_FORMAT_VERSION, \
    ACC_TABLE_ADD_SCHEMA, ACC_TABLE_SET_CURRENT_SCHEMA, \
    ACC_TABLE_ADD_PARTITION_SPEC, ACC_TABLE_ADD_SORT_ORDER, \
    ACC_TABLE_SET_DEFAULT_SORT_ORDER, ACC_TABLE_ADD_SNAPSHOT, \
    ACC_TABLE_SET_SNAPSHOT_REF, ACC_TABLE_REMOVE_SNAPSHOTS, \
    ACC_TABLE_REMOVE_SNAPSHOT_REF, ACC_TABLE_SET_LOCATION, \
    ACC_TABLE_SET_PROPERTIES, ACC_TABLE_REMOVE_PROPERTIES, \
    ACC_TABLE_SET_STATISTICS, ACC_TABLE_REMOVE_STATISTICS, \
    ACC_TABLE_REMOVE_PARTITION_SPECS, ACC_TABLE_MANAGE_STRUCTURE
/* namespace, table and view privileges 5..24, in code order */
#define CONTENT_PRIVS \
    ACC_NAMESPACE_CREATE, ACC_TABLE_CREATE, ACC_VIEW_CREATE, \
    ACC_NAMESPACE_DROP, ACC_TABLE_DROP, ACC_VIEW_DROP, ACC_NAMESPACE_LIST, \
    ACC_TABLE_LIST, ACC_VIEW_LIST, ACC_NAMESPACE_READ_PROPERTIES, \
    ACC_TABLE_READ_PROPERTIES, ACC_VIEW_READ_PROPERTIES, \
    ACC_NAMESPACE_WRITE_PROPERTIES, ACC_TABLE_WRITE_PROPERTIES, \
    ACC_VIEW_WRITE_PROPERTIES, ACC_TABLE_READ_DATA, ACC_TABLE_WRITE_DATA, \
    ACC_NAMESPACE_FULL_METADATA, ACC_TABLE_FULL_METADATA, \
    ACC_VIEW_FULL_METADATA
#define POLICY_PRIVS \
    ACC_POLICY_CREATE, ACC_POLICY_WRITE, ACC_POLICY_READ, ACC_POLICY_DROP, \
    ACC_POLICY_LIST, ACC_POLICY_FULL_METADATA

/* The spec's CatalogPrivilege ... PolicyPrivilege enums (0-terminated). */
static const int catalog_privs[] = {
    ACC_CATALOG_MANAGE_ACCESS, ACC_CATALOG_MANAGE_CONTENT,
    ACC_CATALOG_MANAGE_METADATA, ACC_CATALOG_READ_PROPERTIES,
    ACC_CATALOG_WRITE_PROPERTIES, CONTENT_PRIVS, POLICY_PRIVS,
    ACC_CATALOG_ATTACH_POLICY, ACC_CATALOG_DETACH_POLICY, FINE_GRAINED, 0
};
static const int namespace_privs[] = {
    ACC_CATALOG_MANAGE_ACCESS, ACC_CATALOG_MANAGE_CONTENT,
    ACC_CATALOG_MANAGE_METADATA, CONTENT_PRIVS, POLICY_PRIVS,
    ACC_NAMESPACE_ATTACH_POLICY, ACC_NAMESPACE_DETACH_POLICY, FINE_GRAINED, 0
};
static const int table_privs[] = {
    ACC_CATALOG_MANAGE_ACCESS, ACC_TABLE_DROP, ACC_TABLE_LIST,
    ACC_TABLE_READ_PROPERTIES, ACC_TABLE_WRITE_PROPERTIES,
    ACC_TABLE_READ_DATA, ACC_TABLE_WRITE_DATA, ACC_TABLE_FULL_METADATA,
    ACC_TABLE_ATTACH_POLICY, ACC_TABLE_DETACH_POLICY, FINE_GRAINED, 0
};
static const int view_privs[] = {
    ACC_CATALOG_MANAGE_ACCESS, ACC_VIEW_DROP, ACC_VIEW_LIST,
    ACC_VIEW_READ_PROPERTIES, ACC_VIEW_WRITE_PROPERTIES,
    ACC_VIEW_FULL_METADATA, 0
};
static const int policy_privs[] = {
    ACC_CATALOG_MANAGE_ACCESS, ACC_POLICY_READ, ACC_POLICY_DROP,
    ACC_POLICY_WRITE, ACC_POLICY_LIST, ACC_POLICY_FULL_METADATA,
    ACC_POLICY_ATTACH, ACC_POLICY_DETACH, 0
};

/* The grant types: wire name, type, kind, name field, privilege enum. */
static const struct gtype {
    const char *wire;
    int         type;
    const char *kind;
    const char *name_field;
    const char *enum_name;
    const int  *privs;
    int         manage;         /* *_MANAGE_GRANTS_ON_SECURABLE */
} gtypes[] = {
    {"catalog", ACC_CATALOG, NULL, NULL, "CatalogPrivilege", catalog_privs,
     ACC_CATALOG_MANAGE_GRANTS_ON_SECURABLE},
    {"namespace", ACC_NAMESPACE, NULL, NULL, "NamespacePrivilege",
     namespace_privs, ACC_NAMESPACE_MANAGE_GRANTS_ON_SECURABLE},
    {"table", ACC_TABLE_LIKE, "table", "tableName", "TablePrivilege",
     table_privs, ACC_TABLE_MANAGE_GRANTS_ON_SECURABLE},
    {"view", ACC_TABLE_LIKE, "view", "viewName", "ViewPrivilege", view_privs,
     ACC_VIEW_MANAGE_GRANTS_ON_SECURABLE},
    {"policy", ACC_POLICY, NULL, "policyName", "PolicyPrivilege",
     policy_privs, ACC_POLICY_MANAGE_GRANTS_ON_SECURABLE},
};

static const struct gtype *gtype_of(const struct acc_grant *g)
{
    size_t i;

    for (i = 0; i < FL_ARRAY_LEN(gtypes); i++) {
        if (gtypes[i].type == g->type &&
            (g->kind == NULL || gtypes[i].kind == NULL ||
             strcmp(g->kind, gtypes[i].kind) == 0)) {
            return &gtypes[i];
        }
    }
    return &gtypes[0];
}

static bool priv_in(const int *list, int priv)
{
    for (; *list != 0; list++) {
        if (*list == priv) {
            return true;
        }
    }
    return false;
}

/* The namespace of a non-catalog grant: a non-empty array of names. */
static bool grant_ns(struct fl_arena *a, json_t *v, struct acc_grant *out,
                     struct fl_err *err)
{
    json_t      *arr;
    json_t      *x;
    size_t       i;
    const char **levels;

    if (!fl_json_arr(v, "namespace", true, &arr, err)) {
        return false;
    }
    if (json_array_size(arr) == 0 ||
        json_array_size(arr) > CAT_MAX_NS_LEVELS) {
        return FL_ERR(err, 400, "BadRequestException",
                      "field \"namespace\" must have 1 to %d levels",
                      CAT_MAX_NS_LEVELS);
    }
    levels = fl_alloc(a, sizeof(char *) * (json_array_size(arr) + 1));
    json_array_foreach(arr, i, x) {
        if (!json_is_string(x)) {
            return FL_ERR(err, 400, "BadRequestException",
                          "field \"namespace\" must hold strings");
        }
        levels[i] = json_string_value(x);
    }
    out->ns = levels;
    out->nns = (int)json_array_size(arr);
    return true;
}

static bool grant_name(json_t *v, const struct gtype *t,
                       struct acc_grant *out, struct fl_err *err)
{
    if (!fl_json_str(v, t->name_field, true, &out->name, err)) {
        return false;
    }
    if (out->name[0] == '\0' || strlen(out->name) > CAT_MAX_NAME) {
        return FL_ERR(err, 400, "BadRequestException",
                      "field \"%s\" must have 1 to %d bytes", t->name_field,
                      CAT_MAX_NAME);
    }
    return true;
}

/*
 * Decode a GrantResource: {type, namespace?, tableName / viewName /
 * policyName?, privilege}, the privilege one of its type's enum.  Strings
 * are borrowed from `v`.  Errors: 400 BadRequestException.
 */
bool acc_grant_from_json(struct fl_arena *a, json_t *v, struct acc_grant *out,
                         struct fl_err *err)
{
    const struct gtype *t = NULL;
    const char         *type;
    const char         *priv;
    size_t              i;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(v)) {
        return FL_ERR(err, 400, "BadRequestException",
                      "field \"grant\" must be an object");
    }
    if (!fl_json_str(v, "type", true, &type, err) ||
        !fl_json_str(v, "privilege", true, &priv, err)) {
        return false;
    }
    for (i = 0; i < FL_ARRAY_LEN(gtypes) && t == NULL; i++) {
        t = strcmp(type, gtypes[i].wire) == 0 ? &gtypes[i] : NULL;
    }
    if (t == NULL) {
        return FL_ERR(err, 400, "BadRequestException",
                      "Invalid value: grant type \"%s\" is not one of "
                      "catalog, namespace, table, view, policy", type);
    }
    out->type = t->type;
    out->kind = t->kind;
    out->priv = acc_priv_parse(priv);
    if (out->priv < 0 || !priv_in(t->privs, out->priv)) {
        return FL_ERR(err, 400, "BadRequestException",
                      "Invalid value: \"%s\" is not a %s", priv,
                      t->enum_name);
    }
    if (t->type != ACC_CATALOG && !grant_ns(a, v, out, err)) {
        return false;
    }
    return t->name_field == NULL || grant_name(v, t, out, err);
}

/* The GrantResource JSON of `g`.  Returns a new reference. */
json_t *acc_grant_to_json(const struct acc_grant *g)
{
    const struct gtype *t = gtype_of(g);
    json_t             *v = json_pack("{ss}", "type", t->wire);
    json_t             *ns;
    int                 i;

    if (g->type != ACC_CATALOG) {
        ns = json_array();
        for (i = 0; i < g->nns; i++) {
            json_array_append_new(ns, json_string(g->ns[i]));
        }
        json_object_set_new(v, "namespace", ns);
    }
    if (t->name_field != NULL) {
        json_object_set_new(v, t->name_field, json_string(g->name));
    }
    json_object_set_new(v, "privilege", json_string(acc_priv_name(g->priv)));
    return v;
}

/* The privilege granting or revoking `g` needs on its securable. */
int acc_grant_manage_priv(const struct acc_grant *g)
{
    return gtype_of(g)->manage;
}

/*
 * 404 for a grant whose securable does not exist, with the exception
 * Polaris throws for that kind ("Namespace does not exist: a.b").
 */
bool acc_grant_missing(struct fl_arena *a, const struct acc_grant *g,
                       struct fl_err *err)
{
    const char *ns = cat_ns_render(a, g->ns, g->nns);

    switch (g->type) {
    case ACC_NAMESPACE:
        return FL_ERR(err, 404, "NoSuchNamespaceException",
                      "Namespace does not exist: %s", ns);
    case ACC_TABLE_LIKE:
        if (strcmp(g->kind, "view") == 0) {
            return FL_ERR(err, 404, "NoSuchViewException",
                          "View does not exist: %s.%s", ns, g->name);
        }
        return FL_ERR(err, 404, "NoSuchTableException",
                      "Table does not exist: %s.%s", ns, g->name);
    case ACC_POLICY:
        return FL_ERR(err, 404, "NoSuchPolicyException",
                      "Policy does not exist: %s.%s", ns, g->name);
    default:
        return FL_ERR(err, 404, "NotFoundException", "Catalog not found");
    }
}

/* The securable of `g` in catalog `catalog_id`, locked.  404 if none. */
static bool securable(struct cat_ctx *cx, int64_t catalog_id,
                      const struct acc_grant *g, int64_t *id,
                      struct fl_err *err)
{
    const char     *cid = cat_i64(cx->a, catalog_id);
    const char     *path = cat_pg_array(cx->a, g->ns, g->nns);
    struct db_rows *r;
    bool            ok;

    if (g->type == ACC_CATALOG) {
        *id = catalog_id;
        return true;
    }
    ok = g->type == ACC_NAMESPACE
       ? db_exec(cx->conn, &SEC_NS, DB_ARGS(cid, path), cx->a, &r, err)
       : g->type == ACC_POLICY
       ? db_exec(cx->conn, &SEC_POLICY, DB_ARGS(cid, path, g->name), cx->a,
                 &r, err)
       : db_exec(cx->conn, &SEC_TABLE, DB_ARGS(cid, path, g->name, g->kind),
                 cx->a, &r, err);
    if (!ok) {
        return false;
    }
    if (r->nrows == 0) {
        return acc_grant_missing(cx->a, g, err);
    }
    *id = strtoll(db_val(r, 0, 0), NULL, 10);
    return true;
}

/* {p, ...}: every privilege that `priv` satisfies, itself included. */
static char *dependents_array(struct fl_arena *a, int priv)
{
    struct fl_buf b;
    int           p;
    bool          first = true;

    fl_buf_init(&b, a, 0);
    fl_buf_printf(&b, "{");
    for (p = 1; p <= ACC_PRIV_MAX; p++) {
        if (acc_priv_satisfies(priv, p)) {
            fl_buf_printf(&b, "%s%d", first ? "" : ",", p);
            first = false;
        }
    }
    fl_buf_printf(&b, "}");
    return b.p;
}

static bool revoke(struct cat_ctx *cx, const struct acc_entity *crole,
                   const struct acc_grant *g, int stype, int64_t sid,
                   bool cascade, struct fl_err *err)
{
    struct db_rows *r;
    struct db_rows *below = NULL;

    if (!db_exec(cx->conn, &GRANT_DELETE,
                 DB_ARGS(cx->realm, cat_i64(cx->a, stype),
                         cat_i64(cx->a, sid), cat_i64(cx->a, ACC_CATALOG_ROLE),
                         cat_i64(cx->a, crole->id), cat_i64(cx->a, g->priv)),
                 cx->a, &r, err)) {
        return false;
    }
    if (cascade && (g->type == ACC_CATALOG || g->type == ACC_NAMESPACE) &&
        !db_exec(cx->conn, &GRANT_CASCADE,
                 DB_ARGS(cx->realm, cat_i64(cx->a, crole->id),
                         dependents_array(cx->a, g->priv),
                         cat_i64(cx->a, crole->catalog_id),
                         cat_pg_array(cx->a, g->ns, g->nns),
                         cat_i64(cx->a, g->nns)),
                 cx->a, &below, err)) {
        return false;
    }
    return r->affected > 0 || (below != NULL && below->affected > 0) ||
           not_granted(err);
}

/*
 * Grant (`add`) or revoke `g` to/from catalog role `crole`, in one
 * transaction (see the file comment for cascade).  Errors: 404 for a
 * securable or role that does not exist (or is dropped meanwhile), 400
 * GRANT_NOT_FOUND when revoking nothing.
 */
bool acc_grant_change(struct cat_ctx *cx, const struct acc_entity *crole,
                      const struct acc_grant *g, bool add, bool cascade,
                      struct fl_err *err)
{
    int64_t sid = 0;
    int     stype = g->type;
    bool    ok;

    if (cat_conn(cx, err) == NULL || !db_begin(cx->conn, err)) {
        return false;
    }
    ok = lock_row(cx, ACC_CATALOG_ROLE, crole->id, crole->name, err) &&
         securable(cx, crole->catalog_id, g, &sid, err) &&
         (add ? acc_grant_add(cx, stype, sid, ACC_CATALOG_ROLE, crole->id,
                              g->priv, crole->catalog_id, err)
              : revoke(cx, crole, g, stype, sid, cascade, err)) &&
         db_commit(cx->conn, err);
    if (!ok && db_in_transaction(cx->conn)) {
        db_rollback(cx->conn);
    }
    return ok;
}

/* One row of GRANT_LIST into *g; false for a securable gone meanwhile. */
static bool grant_row(struct fl_arena *a, const struct db_rows *r, int i,
                      struct acc_grant *g)
{
    int         type = (int)strtol(db_val(r, i, 0), NULL, 10);
    const char *path = NULL;

    memset(g, 0, sizeof(*g));
    g->type = type;
    g->priv = (int)strtol(db_val(r, i, 1), NULL, 10);
    if (type == ACC_NAMESPACE) {
        path = db_val(r, i, 2);
    } else if (type == ACC_TABLE_LIKE) {
        g->name = db_val(r, i, 3);
        g->kind = db_val(r, i, 4);
        path = db_val(r, i, 5);
    } else if (type == ACC_POLICY) {
        g->name = db_val(r, i, 6);
        path = db_val(r, i, 7);
    } else {
        return type == ACC_CATALOG;
    }
    if (path == NULL) {
        return false;
    }
    g->ns = cat_pg_array_parse(a, path, &g->nns);
    return true;
}

/* The grants catalog role `crole` holds, grouped by securable type. */
bool acc_grant_list(struct cat_ctx *cx, const struct acc_entity *crole,
                    struct acc_grant **out, int *n, struct fl_err *err)
{
    struct db_rows *r;
    int             i;

    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, &GRANT_LIST,
                 DB_ARGS(cx->realm, cat_i64(cx->a, crole->id)), cx->a, &r,
                 err)) {
        return false;
    }
    *out = fl_alloc(cx->a, sizeof(**out) * (size_t)(r->nrows + 1));
    *n = 0;
    for (i = 0; i < r->nrows; i++) {
        if (grant_row(cx->a, r, i, &(*out)[*n])) {
            (*n)++;
        }
    }
    return true;
}
