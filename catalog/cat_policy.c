/*
 * cat_policy.c
 *
 * The Polaris policy store (notes/POLARIS.md e): policies live in a
 * namespace (table policies), are attached to the catalog, a namespace or
 * an Iceberg table (policy_mappings), and apply down the tree: for each
 * inheritable type the policy attached nearest to the target wins (table,
 * then the deepest namespace, then the catalog).  Every type Floe knows is
 * inheritable, and the one-policy-per-type-and-target rule is the partial
 * unique index policy_mappings_one_per_type, so it holds under concurrent
 * attaches without locks.
 *
 * Floe's floe.row-filter / floe.column-mask policies also keep their rules
 * in policy_rules, one row per principal role (and column), rewritten in
 * the transaction that writes the content; cat_policy_rules_for finds the
 * rules of a table for a set of roles by index, through the same
 * effective-policy lookup that getApplicablePolicies uses.
 *
 * Content validation is in cat_policy_content.c.  Dropping a namespace or
 * table drops its mappings (triggers of migration 0003); a namespace that
 * holds policies cannot be dropped (cat_namespace.c).
 */
#include "catalog/catalog_int.h"

#include <stdlib.h>
#include <string.h>

#define TABLE_DEPTH 1000    /* a table target lies below any namespace */

/* The catalog, the namespace at $3 and the policy named $4 in it. */
DB_STMT(POL_RESOLVE,
    "SELECT c.id, n.id, p.id, p.policy_type, p.inheritable, p.description,"
    " p.content, p.version"
    " FROM catalogs c"
    " LEFT JOIN namespaces n ON n.catalog_id = c.id AND n.path = $3::text[]"
    " LEFT JOIN policies p ON p.namespace_id = n.id AND p.name = $4"
    " WHERE c.realm = $1 AND c.name = $2");
DB_STMT(POL_INSERT,
    "INSERT INTO policies (realm, catalog_id, namespace_id, name,"
    " policy_type, inheritable, description, content, created_ms,"
    " updated_ms)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)"
    " ON CONFLICT (namespace_id, name) DO NOTHING RETURNING id");
DB_STMT(POL_LOCK,
    "SELECT version, description, content FROM policies WHERE id = $1"
    " FOR UPDATE");
DB_STMT(POL_UPDATE,
    "UPDATE policies SET description = $2, content = $3,"
    " version = version + 1, updated_ms = $4 WHERE id = $1"
    " RETURNING version");
DB_STMT(POL_MAPPED,
    "SELECT EXISTS (SELECT 1 FROM policy_mappings WHERE policy_id = $1)");
DB_STMT(POL_DELETE, "DELETE FROM policies WHERE id = $1");
DB_STMT(POL_LIST,
    "SELECT name FROM policies WHERE namespace_id = $1 AND name > $2"
    " ORDER BY name LIMIT $3");
DB_STMT(POL_LIST_TYPE,
    "SELECT name FROM policies WHERE namespace_id = $1 AND name > $2"
    " AND policy_type = $4 ORDER BY name LIMIT $3");
DB_STMT(RULES_DELETE, "DELETE FROM policy_rules WHERE policy_id = $1");
DB_STMT(RULES_INSERT,
    "INSERT INTO policy_rules (policy_id, principal_role, kind,"
    " column_name, rule)"
    " SELECT $1, r->>'principal-role', $2, COALESCE(r->>'column', ''), r"
    " FROM jsonb_array_elements($3::jsonb) r");
/* The catalog, the namespace at $3 and the table or view $4 in it. */
DB_STMT(TARGET_RESOLVE,
    "SELECT c.id, n.id, t.id, t.kind FROM catalogs c"
    " LEFT JOIN namespaces n ON n.catalog_id = c.id AND n.path = $3::text[]"
    " LEFT JOIN tables t ON t.namespace_id = n.id AND t.name = $4"
    " WHERE c.realm = $1 AND c.name = $2");
/* An attach holds its target until commit, so a concurrent drop of the
 * target (whose trigger removes mappings) runs after it, not before. */
DB_STMT(LOCK_NS, "SELECT 1 FROM namespaces WHERE id = $1 FOR KEY SHARE");
DB_STMT(LOCK_TABLE, "SELECT 1 FROM tables WHERE id = $1 FOR KEY SHARE");
DB_STMT(MAP_UPSERT,
    "INSERT INTO policy_mappings (realm, catalog_id, target_type,"
    " target_id, policy_id, policy_type, inheritable, parameters,"
    " created_ms)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)"
    " ON CONFLICT (target_type, target_id, policy_id)"
    " DO UPDATE SET parameters = EXCLUDED.parameters");
DB_STMT(MAP_DELETE,
    "DELETE FROM policy_mappings WHERE target_type = $1 AND target_id = $2"
    " AND policy_id = $3");
/*
 * The effective policies of a target: the catalog ($1), every namespace
 * on path $2 (a prefix of it; depth = its level count) and the table $3,
 * each mapping ranked by depth; per type the deepest wins.  $4 restricts
 * the types (NULL: all); keyset pagination by type ($5, $6).
 */
DB_STMT(POL_EFFECTIVE,
    "WITH path AS ("
    "  SELECT 4::smallint AS t, $1::bigint AS id, 0 AS depth"
    "  UNION ALL SELECT 6::smallint, n.id, cardinality(n.path)"
    "   FROM namespaces n WHERE n.catalog_id = $1::bigint AND n.path IN"
    "    (SELECT ($2::text[])[1:k]"
    "     FROM generate_series(1, cardinality($2::text[])) k)"
    "  UNION ALL SELECT 7::smallint, $3::bigint, 1000"
    "   WHERE $3::bigint IS NOT NULL),"
    " m AS (SELECT DISTINCT ON (pm.policy_type) pm.policy_id, path.depth"
    "  FROM policy_mappings pm JOIN path"
    "   ON pm.target_type = path.t AND pm.target_id = path.id"
    "  WHERE pm.inheritable AND pm.policy_type > $5"
    "   AND ($4::text[] IS NULL OR pm.policy_type = ANY($4::text[]))"
    "  ORDER BY pm.policy_type, path.depth DESC)"
    " SELECT p.id, p.name, p.policy_type, p.inheritable, p.description,"
    "  p.content, p.version, n.path, m.depth"
    " FROM m JOIN policies p ON p.id = m.policy_id"
    " JOIN namespaces n ON n.id = p.namespace_id"
    " ORDER BY p.policy_type LIMIT $6");
DB_STMT(RULES_FOR,
    "SELECT kind, rule::text FROM policy_rules"
    " WHERE policy_id = ANY($1::bigint[])"
    " AND principal_role = ANY($2::text[])"
    " ORDER BY kind, principal_role, column_name");

/* A policy as resolved by name; NULL ids where something is missing. */
struct pol {
    const char       *catalog_id;
    const char       *ns_id;
    const char       *id;
    struct cat_policy p;
};

/* A resolved attachment target. */
struct target {
    const char        *catalog_id;
    int                type;        /* securable type: 4, 6 or 7 */
    const char        *id;
    const char        *table_id;    /* tables only */
    const char        *kind;        /* tables only: "table" or "view" */
    const char *const *ns;          /* the namespace (of a table) */
    int                nns;
    int                depth;       /* 0 catalog, levels, TABLE_DEPTH */
};

/* ---------------------------------------------------------------- errors */

static bool catalog_missing(const char *catalog, struct fl_err *err)
{
    return FL_ERR(err, 404, "NoSuchNamespaceException",
                  "Catalog does not exist: %s", catalog);
}

static bool ns_missing(struct cat_ctx *cx, const char *const *ns, int nns,
                       struct fl_err *err)
{
    return FL_ERR(err, 404, "NoSuchNamespaceException",
                  "Namespace does not exist: %s",
                  cat_ns_render(cx->a, ns, nns));
}

static bool policy_missing(struct cat_ctx *cx, const struct cat_ident *id,
                           struct fl_err *err)
{
    return FL_ERR(err, 404, "NoSuchPolicyException",
                  "Policy does not exist: %s", cat_ident_render(cx->a, id));
}

static bool table_missing(struct cat_ctx *cx, const struct target *t,
                          const char *name, struct fl_err *err)
{
    return FL_ERR(err, 404, "NoSuchTableException",
                  "Table does not exist: %s.%s",
                  cat_ns_render(cx->a, t->ns, t->nns), name);
}

/* Roll back the caller's transaction level; returns false. */
static bool fail(struct cat_ctx *cx)
{
    db_rollback(cx->conn);
    return false;
}

/* spec: PolicyName, ^[A-Za-z0-9\-_]+$ */
static bool name_valid(const char *name)
{
    size_t n = strlen(name);

    return n > 0 && n <= CAT_MAX_NAME &&
           strspn(name, "abcdefghijklmnopqrstuvwxyz"
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == n;
}

/* A namespace path that could exist (else the caller answers 404). */
static bool ns_valid(const char *const *ns, int nns)
{
    struct fl_err e;

    fl_err_clear(&e);
    return nns > 0 && cat_ns_check(ns, nns, &e);
}

/* ------------------------------------------------------------ resolving */

/* Run POL_RESOLVE for `id`; only database failures are errors. */
static bool lookup(struct cat_ctx *cx, const char *catalog,
                   const struct cat_ident *id, struct pol *out,
                   struct fl_err *err)
{
    struct db_rows *r;

    memset(out, 0, sizeof(*out));
    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, &POL_RESOLVE,
                 DB_ARGS(cx->realm, catalog,
                         cat_pg_array(cx->a, id->ns, id->nns), id->name),
                 cx->a, &r, err)) {
        return false;
    }
    if (r->nrows == 0) {
        return true;
    }
    out->catalog_id = db_val(r, 0, 0);
    out->ns_id = db_val(r, 0, 1);
    out->id = db_val(r, 0, 2);
    out->p.name = id->name;
    out->p.ns = (const char **)id->ns;
    out->p.nns = id->nns;
    if (out->id != NULL) {
        out->p.type = db_val(r, 0, 3);
        out->p.inheritable = strcmp(db_val(r, 0, 4), "t") == 0;
        out->p.description = db_val(r, 0, 5);
        out->p.content = db_val(r, 0, 6);
        out->p.version = (int)strtol(db_val(r, 0, 7), NULL, 10);
    }
    return true;
}

/*
 * Resolve existing policy `id`.  Errors: 404 NoSuchNamespaceException for
 * a missing catalog, 404 NoSuchPolicyException when the namespace or the
 * policy is missing (as Polaris answers).
 */
static bool resolve_policy(struct cat_ctx *cx, const char *catalog,
                           const struct cat_ident *id, struct pol *out,
                           struct fl_err *err)
{
    if (!lookup(cx, catalog, id, out, err)) {
        return false;
    }
    if (out->catalog_id == NULL) {
        return catalog_missing(catalog, err);
    }
    if (out->id == NULL || !name_valid(id->name) ||
        !ns_valid(id->ns, id->nns)) {
        return policy_missing(cx, id, err);
    }
    return true;
}

/* A target's path has the shape its type needs.  Errors: 400. */
static bool target_shape(const struct cat_policy_target *t,
                         struct fl_err *err)
{
    if (t->type == CAT_TARGET_CATALOG && t->n != 0) {
        return FL_ERR(err, 400, "BadRequestException",
                      "a catalog target takes no path");
    }
    if (t->type == CAT_TARGET_NAMESPACE && t->n < 1) {
        return FL_ERR(err, 400, "BadRequestException",
                      "a namespace target needs the namespace's path");
    }
    if (t->type == CAT_TARGET_TABLE && t->n < 2) {
        return FL_ERR(err, 400, "BadRequestException",
                      "a table-like target needs its namespace and name "
                      "as path");
    }
    return true;
}

/* Fill *out from a TARGET_RESOLVE row; 404 for what is missing. */
static bool target_fill(struct cat_ctx *cx, const char *catalog,
                        const struct cat_policy_target *t,
                        const struct db_rows *r, struct target *out,
                        struct fl_err *err)
{
    const char *table = t->type == CAT_TARGET_TABLE ? t->path[t->n - 1]
                                                    : NULL;

    if (r->nrows == 0) {
        return catalog_missing(catalog, err);
    }
    out->catalog_id = db_val(r, 0, 0);
    out->type = 4;
    out->id = out->catalog_id;
    if (t->type == CAT_TARGET_CATALOG) {
        return true;
    }
    if (db_val(r, 0, 1) == NULL || !ns_valid(out->ns, out->nns)) {
        return ns_missing(cx, out->ns, out->nns, err);
    }
    out->type = 6;
    out->id = db_val(r, 0, 1);
    out->depth = out->nns;
    if (table == NULL) {
        return true;
    }
    if (db_val(r, 0, 2) == NULL) {
        return table_missing(cx, out, table, err);
    }
    out->type = 7;
    out->id = out->table_id = db_val(r, 0, 2);
    out->kind = db_val(r, 0, 3);
    out->depth = TABLE_DEPTH;
    return true;
}

/*
 * Resolve target `t` in `catalog`.  A view resolves too (kind "view"); the
 * caller decides.  Errors: 400 for a path that does not fit the type, 404
 * NoSuchNamespaceException (catalog or namespace), NoSuchTableException.
 */
static bool target_resolve(struct cat_ctx *cx, const char *catalog,
                           const struct cat_policy_target *t,
                           struct target *out, struct fl_err *err)
{
    struct db_rows *r;
    bool            table = t->type == CAT_TARGET_TABLE;

    memset(out, 0, sizeof(*out));
    if (!target_shape(t, err)) {
        return false;
    }
    out->ns = t->path;
    out->nns = table ? t->n - 1 : t->n;
    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, &TARGET_RESOLVE,
                 DB_ARGS(cx->realm, catalog,
                         cat_pg_array(cx->a, out->ns, out->nns),
                         table ? t->path[t->n - 1] : ""),
                 cx->a, &r, err)) {
        return false;
    }
    return target_fill(cx, catalog, t, r, out, err);
}

/* Resolve a target that must be a catalog, namespace or Iceberg table:
 * a view is 404 NoSuchTableException, as Polaris answers. */
static bool target_table_only(struct cat_ctx *cx, const char *catalog,
                              const struct cat_policy_target *t,
                              struct target *out, struct fl_err *err)
{
    if (!target_resolve(cx, catalog, t, out, err)) {
        return false;
    }
    if (out->kind != NULL && strcmp(out->kind, "table") != 0) {
        return table_missing(cx, out, t->path[t->n - 1], err);
    }
    return true;
}

/* How Polaris names a target in messages: catalog, then the path. */
static const char *target_name(struct cat_ctx *cx, const char *catalog,
                               const struct cat_policy_target *t)
{
    if (t->n == 0) {
        return catalog;
    }
    return fl_sprintf(cx->a, "%s.%s", catalog,
                      cat_ns_render(cx->a, t->path, t->n));
}

/* ---------------------------------------------------------------- writes */

/* Replace the policy_rules rows of policy `id` (Floe's types only). */
static bool rules_replace(struct cat_ctx *cx, const char *id,
                          const struct cat_policy_type *pt, json_t *rules,
                          struct fl_err *err)
{
    if (pt->rule_kind == NULL) {
        return true;
    }
    return db_exec(cx->conn, &RULES_DELETE, DB_ARGS(id), cx->a, NULL, err) &&
           db_exec(cx->conn, &RULES_INSERT,
                   DB_ARGS(id, pt->rule_kind, cat_json_text(cx->a, rules)),
                   cx->a, NULL, err);
}

/* Insert the policy row and its rules; *id is the new row's id. */
static bool insert(struct cat_ctx *cx, const struct pol *at,
                   const struct cat_policy *p, json_t *rules,
                   const char **id, struct fl_err *err)
{
    const struct cat_policy_type *pt = cat_policy_type_find(p->type);
    struct db_rows               *r;
    struct cat_ident              ident = {(const char *const *)p->ns,
                                           p->nns, p->name};

    if (!db_exec(cx->conn, &POL_INSERT,
                 DB_ARGS(cx->realm, at->catalog_id, at->ns_id, p->name,
                         p->type, pt->inheritable ? "true" : "false",
                         p->description, p->content,
                         cat_i64(cx->a, fl_now_ms())),
                 cx->a, &r, err)) {
        if (err->status == 409 &&
            strcmp(err->type, "ConflictException") == 0) {
            fl_err_clear(err);      /* the namespace was dropped under us */
            return ns_missing(cx, p->ns, p->nns, err);
        }
        return false;
    }
    if (r->nrows == 0) {
        return FL_ERR(err, 409, "AlreadyExistsException",
                      "Policy already exists: %s",
                      cat_ident_render(cx->a, &ident));
    }
    *id = db_val(r, 0, 0);
    return rules_replace(cx, *id, pt, rules, err);
}

/*
 * spec: createPolicy.  Create policy `id` of `type` with `content`
 * (validated for the type) and `description` (NULL: none); *out is the
 * policy, version 0.  Errors: 400 for a bad name, an unknown type or
 * invalid content (InvalidPolicyException), 404 NoSuchNamespaceException,
 * 409 AlreadyExistsException.
 */
bool cat_policy_create(struct cat_ctx *cx, const char *catalog,
                       const struct cat_ident *id, const char *type,
                       const char *description, const char *content,
                       struct cat_policy *out, struct fl_err *err)
{
    struct pol  at;
    json_t     *rules;
    const char *pid;

    if (!name_valid(id->name)) {
        return FL_ERR(err, 400, "BadRequestException",
                      "Invalid policy name '%.128s': it must match "
                      "^[A-Za-z0-9\\-_]+$ and have at most %d bytes",
                      id->name, CAT_MAX_NAME);
    }
    if (!lookup(cx, catalog, id, &at, err)) {
        return false;
    }
    if (at.catalog_id == NULL) {
        return catalog_missing(catalog, err);
    }
    if (at.ns_id == NULL || !ns_valid(id->ns, id->nns)) {
        return ns_missing(cx, id->ns, id->nns, err);
    }
    if (at.id != NULL) {
        return FL_ERR(err, 409, "AlreadyExistsException",
                      "Policy already exists: %s",
                      cat_ident_render(cx->a, id));
    }
    if (!cat_policy_validate(cx->a, type, content, &rules, err)) {
        return false;
    }
    at.p.type = type;
    at.p.inheritable = cat_policy_type_find(type)->inheritable;
    at.p.description = description;
    at.p.content = content;
    if (!db_begin(cx->conn, err)) {
        return false;
    }
    if (!insert(cx, &at, &at.p, rules, &pid, err) ||
        !db_commit(cx->conn, err)) {
        return fail(cx);
    }
    *out = at.p;
    return true;
}

/*
 * spec: loadPolicy.  Errors: 404 NoSuchPolicyException (namespace or
 * policy missing), NoSuchNamespaceException (catalog missing).
 */
bool cat_policy_get(struct cat_ctx *cx, const char *catalog,
                    const struct cat_ident *id, struct cat_policy *out,
                    struct fl_err *err)
{
    struct pol p;

    if (!resolve_policy(cx, catalog, id, &p, err)) {
        return false;
    }
    *out = p.p;
    return true;
}

static bool same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) ||
           (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Lock the policy row and read its current state into p->p. */
static bool lock_policy(struct cat_ctx *cx, const struct cat_ident *id,
                        struct pol *p, struct fl_err *err)
{
    struct db_rows *r;

    if (!db_exec(cx->conn, &POL_LOCK, DB_ARGS(p->id), cx->a, &r, err)) {
        return false;
    }
    if (r->nrows == 0) {
        return policy_missing(cx, id, err);     /* dropped meanwhile */
    }
    p->p.version = (int)strtol(db_val(r, 0, 0), NULL, 10);
    p->p.description = db_val(r, 0, 1);
    p->p.content = db_val(r, 0, 2);
    return true;
}

/* The update itself, inside the caller's transaction. */
static bool update_locked(struct cat_ctx *cx, const struct cat_ident *id,
                          const struct cat_policy_update *u, struct pol *p,
                          struct fl_err *err)
{
    const char     *desc;
    const char     *content;
    json_t         *rules;
    struct db_rows *r;

    if (!lock_policy(cx, id, p, err)) {
        return false;
    }
    if (u->check_version && u->version != p->p.version) {
        return FL_ERR(err, 409, "PolicyVersionMismatchException",
                      "Policy version mismatch. Given version is %lld, "
                      "current version is %d", (long long)u->version,
                      p->p.version);
    }
    desc = u->description ? u->description : p->p.description;
    content = u->content ? u->content : p->p.content;
    if (same(desc, p->p.description) && same(content, p->p.content)) {
        return true;                /* as Polaris: no change, no version */
    }
    if (!cat_policy_validate(cx->a, p->p.type, content, &rules, err) ||
        !db_exec(cx->conn, &POL_UPDATE,
                 DB_ARGS(p->id, desc, content, cat_i64(cx->a, fl_now_ms())),
                 cx->a, &r, err) ||
        !rules_replace(cx, p->id, cat_policy_type_find(p->p.type), rules,
                       err)) {
        return false;
    }
    p->p.description = desc;
    p->p.content = content;
    p->p.version = (int)strtol(db_val(r, 0, 0), NULL, 10);
    return true;
}

/*
 * spec: updatePolicy.  Replace the description and/or content (NULL in
 * `u`: keep) and add 1 to the version, when u->version (if given) is the
 * current one.  Nothing changes, the version included, when both equal
 * the stored ones.  Errors: 404 as cat_policy_get, 409
 * PolicyVersionMismatchException, 400 InvalidPolicyException.
 */
bool cat_policy_update(struct cat_ctx *cx, const char *catalog,
                       const struct cat_ident *id,
                       const struct cat_policy_update *u,
                       struct cat_policy *out, struct fl_err *err)
{
    struct pol p;

    if (!resolve_policy(cx, catalog, id, &p, err) ||
        !db_begin(cx->conn, err)) {
        return false;
    }
    if (!update_locked(cx, id, u, &p, err) || !db_commit(cx->conn, err)) {
        return fail(cx);
    }
    *out = p.p;
    return true;
}

/*
 * spec: dropPolicy.  Drops the policy, its rules and grants on it; with
 * `detach_all` also its mappings.  Errors: 404 as cat_policy_get, 400
 * PolicyInUseException when it is attached and detach_all is false.
 */
bool cat_policy_drop(struct cat_ctx *cx, const char *catalog,
                     const struct cat_ident *id, bool detach_all,
                     struct fl_err *err)
{
    struct pol      p;
    struct db_rows *r;

    if (!resolve_policy(cx, catalog, id, &p, err) ||
        !db_begin(cx->conn, err)) {
        return false;
    }
    /* NB: the row lock waits for attaches in flight (their foreign key
     * check locks the policy row), so POL_MAPPED sees them */
    if (!lock_policy(cx, id, &p, err) ||
        (!detach_all &&
         !db_exec(cx->conn, &POL_MAPPED, DB_ARGS(p.id), cx->a, &r, err))) {
        return fail(cx);
    }
    if (!detach_all && strcmp(db_val(r, 0, 0), "t") == 0) {
        fail(cx);
        return FL_ERR(err, 400, "PolicyInUseException",
                      "Policy %s is still attached to entities",
                      cat_ident_render(cx->a, id));
    }
    if (!db_exec(cx->conn, &POL_DELETE, DB_ARGS(p.id), cx->a, NULL, err) ||
        !db_commit(cx->conn, err)) {
        return fail(cx);
    }
    return true;
}

/*
 * spec: listPolicies.  Names of the policies in namespace `ns` (of `type`
 * when not NULL), in name order, one page (page_size 0: all).  Errors:
 * 404 NoSuchNamespaceException, 400 for an unknown type or a foreign
 * page token.
 */
bool cat_policy_list(struct cat_ctx *cx, const char *catalog,
                     const char *const *ns, int nns, const char *type,
                     const char *page_token, int page_size,
                     struct cat_table_page *out, struct fl_err *err)
{
    struct cat_ns n;

    memset(out, 0, sizeof(*out));
    if (type != NULL && cat_policy_type_find(type) == NULL) {
        return FL_ERR(err, 400, "BadRequestException",
                      "Unknown policy type: %.128s", type);
    }
    if (!cat_ns_get(cx, catalog, ns, nns, &n, err)) {
        return false;
    }
    return cat_name_page(cx, type ? &POL_LIST_TYPE : &POL_LIST,
                         fl_sprintf(cx->a, "policies:%lld:%s",
                                    (long long)n.id, type ? type : ""),
                         n.id, type, page_token, page_size, out, err);
}

/* ------------------------------------------------------------- mappings */

/* Resolve and lock an attach target; views are refused (400). */
static bool attach_target(struct cat_ctx *cx, const char *catalog,
                          const struct pol *p,
                          const struct cat_policy_target *t,
                          struct target *tg, struct fl_err *err)
{
    struct db_rows *r;

    if (!target_resolve(cx, catalog, t, tg, err)) {
        return false;
    }
    if (tg->kind != NULL && strcmp(tg->kind, "table") != 0) {
        return FL_ERR(err, 400, "PolicyAttachException",
                      "Cannot attach policy '%s' to target entity '%s': "
                      "policies of type %s attach to catalogs, namespaces "
                      "and Iceberg tables only, not to views", p->p.name,
                      t->path[t->n - 1], p->p.type);
    }
    if (tg->type == 4) {
        return true;    /* a catalog's mappings go with it (foreign key) */
    }
    if (!db_exec(cx->conn, tg->type == 7 ? &LOCK_TABLE : &LOCK_NS,
                 DB_ARGS(tg->id), cx->a, &r, err)) {
        return false;
    }
    if (r->nrows == 0) {
        return tg->type == 7 ? table_missing(cx, tg, t->path[t->n - 1], err)
                             : ns_missing(cx, tg->ns, tg->nns, err);
    }
    return true;
}

/* The mapping row, with Polaris's 409 for a second inheritable policy of
 * a type, and 404 when the policy was dropped meanwhile. */
static bool map_upsert(struct cat_ctx *cx, const char *catalog,
                       const struct cat_ident *id, const struct pol *p,
                       const struct cat_policy_target *t,
                       const struct target *tg, json_t *params,
                       struct fl_err *err)
{
    if (db_exec(cx->conn, &MAP_UPSERT,
                DB_ARGS(cx->realm, tg->catalog_id, cat_i64(cx->a, tg->type),
                        tg->id, p->id, p->p.type,
                        p->p.inheritable ? "true" : "false",
                        cat_json_text(cx->a, params),
                        cat_i64(cx->a, fl_now_ms())),
                cx->a, NULL, err)) {
        return true;
    }
    if (err->status == 409 &&
        strcmp(err->type, "AlreadyExistsException") == 0) {
        fl_err_clear(err);
        return FL_ERR(err, 409, "ConflictPolicyAttachmentException",
                      "The policy mapping of same type (%s) for %s already "
                      "exists", p->p.type, target_name(cx, catalog, t));
    }
    if (err->status == 409 && strcmp(err->type, "ConflictException") == 0) {
        fl_err_clear(err);
        return policy_missing(cx, id, err);
    }
    return false;
}

/*
 * spec: attachPolicy.  Attach policy `id` to target `t` with `params` (a
 * string map; NULL: none); attaching again replaces the parameters.
 * Errors: 404 (policy, namespace, table), 400 for a bad target or a view,
 * 409 ConflictPolicyAttachmentException when another policy of the same
 * inheritable type is attached to the target.
 */
bool cat_policy_attach(struct cat_ctx *cx, const char *catalog,
                       const struct cat_ident *id,
                       const struct cat_policy_target *t, json_t *params,
                       struct fl_err *err)
{
    struct pol    p;
    struct target tg;

    if (params == NULL) {
        params = fl_arena_own_json(cx->a, json_object());
    }
    if (!fl_json_string_map(params, "parameters", err) ||
        !target_shape(t, err) ||
        !resolve_policy(cx, catalog, id, &p, err) ||
        !db_begin(cx->conn, err)) {
        return false;
    }
    if (!attach_target(cx, catalog, &p, t, &tg, err) ||
        !map_upsert(cx, catalog, id, &p, t, &tg, params, err) ||
        !db_commit(cx->conn, err)) {
        return fail(cx);
    }
    return true;
}

/*
 * spec: detachPolicy.  Errors: 404 (policy, namespace, table),
 * NoSuchMappingException when the policy is not attached to the target,
 * 400 for a bad target.
 */
bool cat_policy_detach(struct cat_ctx *cx, const char *catalog,
                       const struct cat_ident *id,
                       const struct cat_policy_target *t, struct fl_err *err)
{
    struct pol      p;
    struct target   tg;
    struct db_rows *r;

    if (!target_shape(t, err) ||
        !resolve_policy(cx, catalog, id, &p, err) ||
        !target_table_only(cx, catalog, t, &tg, err) ||
        !db_exec(cx->conn, &MAP_DELETE,
                 DB_ARGS(cat_i64(cx->a, tg.type), tg.id, p.id), cx->a, &r,
                 err)) {
        return false;
    }
    if (r->affected == 0) {
        return FL_ERR(err, 404, "NoSuchMappingException",
                      "Policy %s is not attached to %s",
                      cat_ident_render(cx->a, id),
                      target_name(cx, catalog, t));
    }
    return true;
}

/* ------------------------------------------------------------ effective */

/* Run POL_EFFECTIVE for target `t`.  `types`: a text[] literal or NULL;
 * `after`: the last type of the previous page (""); limit 0: all. */
static bool effective(struct cat_ctx *cx, const struct target *t,
                      const char *types, const char *after, int limit,
                      struct db_rows **r, struct fl_err *err)
{
    return db_exec(cx->conn, &POL_EFFECTIVE,
                   DB_ARGS(t->catalog_id, cat_pg_array(cx->a, t->ns, t->nns),
                           t->table_id, types, after,
                           limit > 0 ? cat_i64(cx->a, limit) : NULL),
                   cx->a, r, err);
}

/* A policy from row `i` of POL_EFFECTIVE, seen from target `t`. */
static void effective_row(struct cat_ctx *cx, const struct db_rows *r, int i,
                          const struct target *t, struct cat_policy *p)
{
    memset(p, 0, sizeof(*p));
    p->name = db_val(r, i, 1);
    p->type = db_val(r, i, 2);
    p->inheritable = strcmp(db_val(r, i, 3), "t") == 0;
    p->description = db_val(r, i, 4);
    p->content = db_val(r, i, 5);
    p->version = (int)strtol(db_val(r, i, 6), NULL, 10);
    p->ns = cat_pg_array_parse(cx->a, db_val(r, i, 7), &p->nns);
    p->inherited = strtol(db_val(r, i, 8), NULL, 10) < t->depth;
}

/* The target of getApplicablePolicies and cat_policy_rules_for. */
static bool applicable_target(struct cat_ctx *cx, const char *catalog,
                              const char *const *ns, int nns,
                              const char *table, struct target *tg,
                              struct fl_err *err)
{
    struct cat_policy_target t;
    const char             **path = fl_alloc(cx->a, sizeof(char *) *
                                                    (size_t)(nns + 2));

    if (nns == 0 && table != NULL) {
        return FL_ERR(err, 400, "BadRequestException",
                      "target-name needs the namespace of the target");
    }
    if (nns > 0) {
        memcpy(path, ns, sizeof(char *) * (size_t)nns);
    }
    path[nns] = table;
    t.path = path;
    t.n = table != NULL ? nns + 1 : nns;
    t.type = table != NULL ? CAT_TARGET_TABLE
             : nns > 0 ? CAT_TARGET_NAMESPACE : CAT_TARGET_CATALOG;
    return target_table_only(cx, catalog, &t, tg, err);
}

/*
 * spec: getApplicablePolicies.  The policies that apply to the catalog
 * (nns 0), namespace `ns`, or table `table` in it: per type the one
 * attached nearest to the target, marked inherited when attached to an
 * ancestor; in type order, one page (page_size 0: all).  Errors: 404
 * NoSuchNamespaceException / NoSuchTableException, 400 for an unknown type
 * or a foreign page token.
 */
bool cat_policy_applicable(struct cat_ctx *cx, const char *catalog,
                           const char *const *ns, int nns,
                           const char *table, const char *type,
                           const char *page_token, int page_size,
                           struct cat_policy_page *out, struct fl_err *err)
{
    struct target   tg;
    struct db_rows *r;
    const char     *after = "";
    const char     *scope;
    int             i;

    memset(out, 0, sizeof(*out));
    if (type != NULL && cat_policy_type_find(type) == NULL) {
        return FL_ERR(err, 400, "BadRequestException",
                      "Unknown policy type: %.128s", type);
    }
    if (!applicable_target(cx, catalog, ns, nns, table, &tg, err)) {
        return false;
    }
    scope = fl_sprintf(cx->a, "applicable:%d:%s:%s", tg.type, tg.id,
                       type ? type : "");
    if (page_token != NULL && page_token[0] != '\0' &&
        (after = cat_token_decode(cx, scope, page_token, err)) == NULL) {
        return false;
    }
    if (!effective(cx, &tg, type ? cat_pg_array(cx->a, &type, 1) : NULL,
                   after, page_size > 0 ? page_size + 1 : 0, &r, err)) {
        return false;
    }
    out->n = page_size > 0 && r->nrows > page_size ? page_size : r->nrows;
    out->items = fl_alloc(cx->a, sizeof(*out->items) *
                                 (size_t)(out->n + 1));
    for (i = 0; i < out->n; i++) {
        effective_row(cx, r, i, &tg, &out->items[i]);
    }
    if (out->n < r->nrows) {
        out->next_token = cat_token_encode(cx, scope,
                                           out->items[out->n - 1].type);
    }
    return true;
}

/* {1,2}: a bigint[] literal of the ids in column 0 of `r`. */
static const char *ids_array(struct cat_ctx *cx, const struct db_rows *r)
{
    struct fl_buf b;
    int           i;

    fl_buf_init(&b, cx->a, 0);
    fl_buf_printf(&b, "{");
    for (i = 0; i < r->nrows; i++) {
        fl_buf_printf(&b, "%s%s", i ? "," : "", db_val(r, i, 0));
    }
    fl_buf_printf(&b, "}");
    return b.p;
}

/* {"policies": [{policy-type, namespace, name, inherited}], "row-filter":
 * [], "column-mask": []} from the effective policies.  New reference. */
static json_t *rules_doc(struct cat_ctx *cx, const struct db_rows *r,
                         const struct target *tg)
{
    json_t           *pols = json_array();
    struct cat_policy p;
    json_t           *lv;
    int               i, k;

    for (i = 0; i < r->nrows; i++) {
        effective_row(cx, r, i, tg, &p);
        lv = json_array();
        for (k = 0; k < p.nns; k++) {
            json_array_append_new(lv, json_string(p.ns[k]));
        }
        json_array_append_new(pols, json_pack("{ss so ss sb}", "policy-type",
                                              p.type, "namespace", lv,
                                              "name", p.name, "inherited",
                                              p.inherited));
    }
    return json_pack("{so s[] s[]}", "policies", pols, "row-filter",
                     "column-mask");
}

/*
 * The access rules that apply to table `table` of namespace `ns` for a
 * caller holding principal roles `roles` (names): of the effective
 * floe.row-filter and floe.column-mask policies (per type the nearest
 * attached, as getApplicablePolicies), the rules of those roles.  *out is
 * a new reference: {"policies": [{"policy-type", "namespace", "name",
 * "inherited"}], "row-filter": [{"principal-role", "filter"}],
 * "column-mask": [{"principal-role", "column", "mask"}]}, rules ordered by
 * role (and column).  Errors: 404 NoSuchNamespaceException,
 * NoSuchTableException (views too).
 */
bool cat_policy_rules_for(struct cat_ctx *cx, const char *catalog,
                          const char *const *ns, int nns, const char *table,
                          const char *const *roles, int nroles, json_t **out,
                          struct fl_err *err)
{
    static const char *const floe[] = {CAT_POLICY_COLUMN_MASK,
                                       CAT_POLICY_ROW_FILTER};
    struct target   tg;
    struct db_rows *r;
    struct db_rows *rr;
    int             i;

    *out = NULL;
    if (!applicable_target(cx, catalog, ns, nns, table, &tg, err) ||
        !effective(cx, &tg, cat_pg_array(cx->a, floe, 2), "", 0, &r, err) ||
        !db_exec(cx->conn, &RULES_FOR,
                 DB_ARGS(ids_array(cx, r), cat_pg_array(cx->a, roles, nroles)),
                 cx->a, &rr, err)) {
        return false;
    }
    *out = rules_doc(cx, r, &tg);
    for (i = 0; i < rr->nrows; i++) {
        json_array_append(json_object_get(*out, db_val(rr, i, 0)),
                          cat_json_parse(cx->a, db_val(rr, i, 1)));
    }
    return true;
}
