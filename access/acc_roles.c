/*
 * acc_roles.c
 *
 * Principal roles and catalog roles, the entities of the Polaris management
 * API that grants are made to, and what the three management entities
 * (principals too, acc_principals.c) share: the name rules of the
 * management spec, property checks, row decoding, the JSON objects, and
 * optimistic updates (the client's currentEntityVersion must still be
 * current; the UPDATE itself checks it).
 *
 * Not here: role assignments and grants (acc_grants.c), who may call what
 * (server/ authorizers with acc_check.c).
 */
#include "access/access.h"
#include "access/acc_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RESERVED_PREFIX "polaris."

DB_STMT(PROLE_INSERT,
    "INSERT INTO principal_roles (realm, name, federated, properties,"
    " created_ms, updated_ms) VALUES ($1, $2, $3::boolean, $4::jsonb, $5, $5)"
    " ON CONFLICT (realm, name) DO NOTHING RETURNING " ACC_R_COLS(""));
DB_STMT(PROLE_GET,
    "SELECT " ACC_R_COLS("") " FROM principal_roles"
    " WHERE realm = $1 AND name = $2");
DB_STMT(PROLE_LIST,
    "SELECT " ACC_R_COLS("") " FROM principal_roles WHERE realm = $1"
    " ORDER BY name");
DB_STMT(PROLE_VISIBLE,
    "SELECT " ACC_R_COLS("r.") " FROM principal_roles r"
    " WHERE r.realm = $1 AND r.id IN (SELECT g.securable_id FROM grants g"
    "  WHERE g.realm = $1 AND g.grantee_type = 3"
    "   AND g.grantee_id = ANY($2::bigint[]) AND g.securable_type = 3"
    "   AND g.privilege = ANY($3::smallint[]))"
    " ORDER BY r.name");
DB_STMT(PROLE_UPDATE,
    "UPDATE principal_roles SET properties = $3::jsonb,"
    " entity_version = entity_version + 1, updated_ms = $4"
    " WHERE id = $1 AND entity_version = $2 RETURNING " ACC_R_COLS(""));
DB_STMT(PROLE_DELETE, "DELETE FROM principal_roles WHERE id = $1");

DB_STMT(CATALOG_ID, "SELECT id FROM catalogs WHERE realm = $1 AND name = $2");
DB_STMT(CROLE_INSERT,
    "INSERT INTO catalog_roles (realm, catalog_id, name, properties,"
    " created_ms, updated_ms) VALUES ($1, $2, $3, $4::jsonb, $5, $5)"
    " ON CONFLICT (catalog_id, name) DO NOTHING RETURNING " ACC_C_COLS(""));
DB_STMT(CROLE_GET,
    "SELECT c.id, " ACC_C_COLS("r.") " FROM catalogs c"
    " LEFT JOIN catalog_roles r ON r.catalog_id = c.id AND r.name = $3"
    " WHERE c.realm = $1 AND c.name = $2");
DB_STMT(CROLE_LIST,
    "SELECT " ACC_C_COLS("") " FROM catalog_roles WHERE catalog_id = $1"
    " ORDER BY name");
/* the caller's grantees in the catalog: its principal roles and the
 * catalog roles they hold (as acc_check.c computes them) */
DB_STMT(CROLE_VISIBLE,
    "WITH who AS (SELECT 3::smallint AS t, r AS id"
    "  FROM unnest($2::bigint[]) r"
    "  UNION ALL SELECT 5::smallint, g.securable_id FROM grants g"
    "  WHERE g.realm = $1 AND g.securable_type = 5 AND g.privilege = 3"
    "   AND g.grantee_type = 3 AND g.grantee_id = ANY($2::bigint[])"
    "   AND g.catalog_id = $3)"
    " SELECT " ACC_C_COLS("r.") " FROM catalog_roles r"
    " WHERE r.catalog_id = $3 AND r.id IN (SELECT g.securable_id"
    "  FROM who JOIN grants g ON g.grantee_type = who.t"
    "   AND g.grantee_id = who.id"
    "  WHERE g.realm = $1 AND g.securable_type = 5"
    "   AND g.privilege = ANY($4::smallint[]))"
    " ORDER BY r.name");
DB_STMT(CROLE_UPDATE,
    "UPDATE catalog_roles SET properties = $3::jsonb,"
    " entity_version = entity_version + 1, updated_ms = $4"
    " WHERE id = $1 AND entity_version = $2 RETURNING " ACC_C_COLS(""));
DB_STMT(CROLE_DELETE, "DELETE FROM catalog_roles WHERE id = $1");

/* ------------------------------------------------------------- shared */

static size_t utf8_chars(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++) {
        n += ((unsigned char)*s & 0xc0) != 0x80;
    }
    return n;
}

/* Java's line terminators, which the spec's `.*$` does not match. */
static bool has_line_break(const char *s)
{
    return strpbrk(s, "\n\r") != NULL || strstr(s, "\xc2\x85") != NULL ||
           strstr(s, "\xe2\x80\xa8") != NULL ||
           strstr(s, "\xe2\x80\xa9") != NULL;
}

/*
 * The management spec's name rules: 1 to 256 characters matching
 * ^(?!\s*[sS][yY][sS][tT][eE][mM]\$).*$, i.e. not "system" in any case
 * after optional whitespace (nor followed by a literal '$', as the
 * pattern's escaped dollar says), and no line breaks.  Errors: 400
 * BadRequestException.
 */
bool acc_name_check(const char *what, const char *name, struct fl_err *err)
{
    const char *p = name;
    size_t      n = utf8_chars(name);

    if (n < 1 || n > CAT_MAX_NAME) {
        return FL_ERR(err, 400, "BadRequestException",
                      "Invalid value: %s name must have 1 to %d characters",
                      what, CAT_MAX_NAME);
    }
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
           *p == '\f' || *p == '\v') {
        p++;
    }
    if (strncasecmp(p, "system", 6) == 0 && (p[6] == '\0' || p[6] == '$')) {
        return FL_ERR(err, 400, "BadRequestException",
                      "Invalid value: %s name \"%s\" is reserved", what,
                      name);
    }
    if (has_line_break(name)) {
        return FL_ERR(err, 400, "BadRequestException",
                      "Invalid value: %s name must not contain line breaks",
                      what);
    }
    return true;
}

/*
 * A client's properties map: strings only, bounded, and no key with the
 * reserved prefix (Polaris's ReservedProperties, which throws).  Errors:
 * 400 BadRequestException / IllegalArgumentException.
 */
bool acc_props_check(json_t *props, struct fl_err *err)
{
    const char *k;
    json_t     *v;

    if (!cat_props_check(props, err)) {
        return false;
    }
    json_object_foreach(props, k, v) {
        if (strncmp(k, RESERVED_PREFIX, strlen(RESERVED_PREFIX)) == 0) {
            return FL_ERR(err, 400, "IllegalArgumentException",
                          "Property '%s' matches reserved prefix '%s'", k,
                          RESERVED_PREFIX);
        }
    }
    return true;
}

/* {1,2,3}: the privileges that satisfy `priv`, as a smallint[] literal. */
char *acc_supers_array(struct fl_arena *a, int priv)
{
    int           supers[ACC_PRIV_MAX + 1];
    int           n = acc_priv_supers(priv, supers);
    int           i;
    struct fl_buf b;

    fl_buf_init(&b, a, 0);
    fl_buf_printf(&b, "{");
    for (i = 0; i < n; i++) {
        fl_buf_printf(&b, "%s%d", i ? "," : "", supers[i]);
    }
    fl_buf_printf(&b, "}");
    return b.p;
}

/* Decode the eight entity columns starting at `col` of row `row`. */
void acc_entity_from_row(struct cat_ctx *cx, const struct db_rows *r,
                         int row, int col, int type, struct acc_entity *e)
{
    const char *x = db_val(r, row, col + 6);
    const char *y = db_val(r, row, col + 7);

    memset(e, 0, sizeof(*e));
    e->type = type;
    e->id = strtoll(db_val(r, row, col), NULL, 10);
    e->name = db_val(r, row, col + 1);
    e->properties = cat_json_parse(cx->a, db_val(r, row, col + 2));
    e->version = (int)strtol(db_val(r, row, col + 3), NULL, 10);
    e->created_ms = strtoll(db_val(r, row, col + 4), NULL, 10);
    e->updated_ms = strtoll(db_val(r, row, col + 5), NULL, 10);
    if (type == ACC_PRINCIPAL) {
        e->client_id = x;
        e->rotation_required = y != NULL && strcmp(y, "t") == 0;
    } else if (type == ACC_PRINCIPAL_ROLE) {
        e->federated = x != NULL && strcmp(x, "t") == 0;
    } else {
        e->catalog_id = x ? strtoll(x, NULL, 10) : 0;
    }
}

/* Run `st` and decode every row as an entity of `type` (arena array). */
bool acc_entities_exec(struct cat_ctx *cx, struct db_stmt *st,
                       const char *const *params, int n, int type,
                       struct acc_entities *out, struct fl_err *err)
{
    struct db_rows *r;
    int             i;

    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, st, params, n, cx->a, &r, err)) {
        return false;
    }
    out->items = fl_alloc(cx->a, sizeof(*out->items) *
                                     (size_t)(r->nrows + 1));
    for (i = 0; i < r->nrows; i++) {
        acc_entity_from_row(cx, r, i, 0, type, &out->items[i]);
    }
    out->n = r->nrows;
    return true;
}

/*
 * The JSON object of the management spec: Principal {name, clientId,
 * properties, createTimestamp, lastUpdateTimestamp, entityVersion},
 * PrincipalRole (federated instead of clientId) or CatalogRole (neither).
 * Never a secret.  Returns a new reference.
 */
json_t *acc_entity_to_json(const struct acc_entity *e)
{
    json_t *v = json_pack("{ss}", "name", e->name);

    if (e->type == ACC_PRINCIPAL) {
        json_object_set_new(v, "clientId", json_string(e->client_id));
    } else if (e->type == ACC_PRINCIPAL_ROLE) {
        json_object_set_new(v, "federated", json_boolean(e->federated));
    }
    json_object_set(v, "properties", e->properties);
    json_object_set_new(v, "createTimestamp",
                        json_integer((json_int_t)e->created_ms));
    json_object_set_new(v, "lastUpdateTimestamp",
                        json_integer((json_int_t)e->updated_ms));
    json_object_set_new(v, "entityVersion", json_integer(e->version));
    return v;
}

/*
 * Replace the properties of `cur` if q->version is still its version, with
 * `st` (params: id, version, properties, now; returning the entity).
 * `label` names the kind in messages as Polaris does.  Errors: 409
 * CommitConflictException for a stale version or a concurrent change.
 */
bool acc_entity_cas(struct cat_ctx *cx, struct db_stmt *st, const char *label,
                    const struct acc_entity *cur,
                    const struct acc_entity_req *q, struct acc_entity *out,
                    struct fl_err *err)
{
    struct db_rows *r;
    json_t         *props = q->properties ? q->properties : cur->properties;

    if (cur->version != q->version) {
        return FL_ERR(err, 409, "CommitConflictException",
                      "Failed to update %s; currentEntityVersion '%d', "
                      "expected '%lld'", label, cur->version,
                      (long long)q->version);
    }
    if (!db_exec(cx->conn, st,
                 DB_ARGS(cat_i64(cx->a, cur->id),
                         cat_i64(cx->a, cur->version),
                         cat_json_text(cx->a, props),
                         cat_i64(cx->a, fl_now_ms())),
                 cx->a, &r, err)) {
        return false;
    }
    if (r->nrows == 0) {
        return FL_ERR(err, 409, "CommitConflictException",
                      "Concurrent modification on %s '%s'; retry later",
                      label, cur->name);
    }
    acc_entity_from_row(cx, r, 0, 0, cur->type, out);
    return true;
}

static json_t *props_or_empty(struct cat_ctx *cx, json_t *props)
{
    return props ? props : fl_arena_own_json(cx->a, json_object());
}

/* ----------------------------------------------------- principal roles */

/*
 * Create principal role q->name (name and properties already checked).
 * Errors: 409 AlreadyExistsException.
 */
bool acc_prole_create(struct cat_ctx *cx, const struct acc_entity_req *q,
                      struct acc_entity *out, struct fl_err *err)
{
    struct acc_entities l;

    if (!acc_entities_exec(cx, &PROLE_INSERT,
                           DB_ARGS(cx->realm, q->name,
                                   q->flag ? "true" : "false",
                                   cat_json_text(cx->a,
                                                 props_or_empty(cx,
                                                     q->properties)),
                                   cat_i64(cx->a, fl_now_ms())),
                           ACC_PRINCIPAL_ROLE, &l, err)) {
        return false;
    }
    if (l.n == 0) {
        return FL_ERR(err, 409, "AlreadyExistsException",
                      "Cannot create PrincipalRole %s. PrincipalRole "
                      "already exists or resolution failed", q->name);
    }
    *out = l.items[0];
    return true;
}

/* Principal role `name`.  Errors: 404 NotFoundException. */
bool acc_prole_get(struct cat_ctx *cx, const char *name,
                   struct acc_entity *out, struct fl_err *err)
{
    struct acc_entities l;

    if (!acc_entities_exec(cx, &PROLE_GET, DB_ARGS(cx->realm, name),
                           ACC_PRINCIPAL_ROLE, &l, err)) {
        return false;
    }
    if (l.n == 0) {
        return FL_ERR(err, 404, "NotFoundException",
                      "PrincipalRole %s not found", name);
    }
    *out = l.items[0];
    return true;
}

/*
 * Every principal role of the realm when `all`, else those the caller
 * holds PRINCIPAL_ROLE_READ_PROPERTIES (or better) on.
 */
bool acc_prole_list(struct cat_ctx *cx, const struct acc_caller *who,
                    bool all, struct acc_entities *out, struct fl_err *err)
{
    if (all) {
        return acc_entities_exec(cx, &PROLE_LIST, DB_ARGS(cx->realm),
                                 ACC_PRINCIPAL_ROLE, out, err);
    }
    return acc_entities_exec(cx, &PROLE_VISIBLE,
                             DB_ARGS(cx->realm, acc_roles_array(cx->a, who),
                                     acc_supers_array(cx->a,
                                         ACC_PRINCIPAL_ROLE_READ_PROPERTIES)),
                             ACC_PRINCIPAL_ROLE, out, err);
}

/* updatePrincipalRole.  Errors: 404, 409 CommitConflictException. */
bool acc_prole_update(struct cat_ctx *cx, const char *name,
                      const struct acc_entity_req *q, struct acc_entity *out,
                      struct fl_err *err)
{
    struct acc_entity cur;

    return acc_prole_get(cx, name, &cur, err) &&
           acc_entity_cas(cx, &PROLE_UPDATE, "PrincipalRole", &cur, q, out,
                          err);
}

/*
 * Drop principal role `name` with every grant on it and to it (the
 * table's trigger).  service_admin cannot be dropped.  Errors: 404, 400.
 */
bool acc_prole_delete(struct cat_ctx *cx, const char *name,
                      struct fl_err *err)
{
    struct acc_entity cur;
    struct db_rows   *r;

    if (!acc_prole_get(cx, name, &cur, err)) {
        return false;
    }
    if (strcmp(cur.name, "service_admin") == 0) {
        return FL_ERR(err, 400, "BadRequestException",
                      "Polaris service admin principal role cannot be "
                      "dropped");
    }
    if (!db_exec(cx->conn, &PROLE_DELETE,
                 DB_ARGS(cat_i64(cx->a, cur.id)), cx->a, &r, err)) {
        return false;
    }
    return r->affected > 0 ||
           FL_ERR(err, 404, "NotFoundException",
                  "PrincipalRole %s not found", name);
}

/* ------------------------------------------------------- catalog roles */

static bool catalog_missing(const char *catalog, struct fl_err *err)
{
    return FL_ERR(err, 404, "NotFoundException", "Catalog not found: %s",
                  catalog);
}

/* The id of catalog `catalog`.  Errors: 404 NotFoundException. */
bool acc_catalog_id(struct cat_ctx *cx, const char *catalog, int64_t *id,
                    struct fl_err *err)
{
    struct db_rows *r;

    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, &CATALOG_ID, DB_ARGS(cx->realm, catalog), cx->a,
                 &r, err)) {
        return false;
    }
    if (r->nrows == 0) {
        return catalog_missing(catalog, err);
    }
    *id = strtoll(db_val(r, 0, 0), NULL, 10);
    return true;
}

/*
 * Create catalog role q->name in `catalog`.  Errors: 404 for the catalog
 * (also when it is dropped meanwhile), 409 AlreadyExistsException.
 */
bool acc_crole_create(struct cat_ctx *cx, const char *catalog,
                      const struct acc_entity_req *q, struct acc_entity *out,
                      struct fl_err *err)
{
    struct acc_entities l;
    int64_t             cid;

    if (!acc_catalog_id(cx, catalog, &cid, err)) {
        return false;
    }
    if (!acc_entities_exec(cx, &CROLE_INSERT,
                           DB_ARGS(cx->realm, cat_i64(cx->a, cid), q->name,
                                   cat_json_text(cx->a,
                                                 props_or_empty(cx,
                                                     q->properties)),
                                   cat_i64(cx->a, fl_now_ms())),
                           ACC_CATALOG_ROLE, &l, err)) {
        if (err->status == 409 &&
            strcmp(err->type, "ConflictException") == 0) {
            /* the foreign key: the catalog was dropped meanwhile */
            return fl_err_retype(err, 404, "NotFoundException",
                                 "Catalog not found: %s", catalog);
        }
        return false;
    }
    if (l.n == 0) {
        return FL_ERR(err, 409, "AlreadyExistsException",
                      "Cannot create CatalogRole %s in %s. CatalogRole "
                      "already exists or resolution failed", q->name,
                      catalog);
    }
    *out = l.items[0];
    return true;
}

/* Catalog role `name` of `catalog`.  Errors: 404 for either. */
bool acc_crole_get(struct cat_ctx *cx, const char *catalog, const char *name,
                   struct acc_entity *out, struct fl_err *err)
{
    struct db_rows *r;

    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, &CROLE_GET, DB_ARGS(cx->realm, catalog, name),
                 cx->a, &r, err)) {
        return false;
    }
    if (r->nrows == 0) {
        return catalog_missing(catalog, err);
    }
    if (db_val(r, 0, 1) == NULL) {
        return FL_ERR(err, 404, "NotFoundException",
                      "CatalogRole not found: %s.%s", catalog, name);
    }
    acc_entity_from_row(cx, r, 0, 1, ACC_CATALOG_ROLE, out);
    return true;
}

/*
 * The catalog roles of catalog `catalog_id`: all when `all`, else those
 * the caller (its principal roles, or the catalog roles they hold) holds
 * CATALOG_ROLE_READ_PROPERTIES (or better) on.
 */
bool acc_crole_list(struct cat_ctx *cx, int64_t catalog_id,
                    const struct acc_caller *who, bool all,
                    struct acc_entities *out, struct fl_err *err)
{
    const char *cid = cat_i64(cx->a, catalog_id);

    if (all) {
        return acc_entities_exec(cx, &CROLE_LIST, DB_ARGS(cid),
                                 ACC_CATALOG_ROLE, out, err);
    }
    return acc_entities_exec(cx, &CROLE_VISIBLE,
                             DB_ARGS(cx->realm, acc_roles_array(cx->a, who),
                                     cid,
                                     acc_supers_array(cx->a,
                                         ACC_CATALOG_ROLE_READ_PROPERTIES)),
                             ACC_CATALOG_ROLE, out, err);
}

/* updateCatalogRole.  Errors: 404, 409 CommitConflictException. */
bool acc_crole_update(struct cat_ctx *cx, const char *catalog,
                      const char *name, const struct acc_entity_req *q,
                      struct acc_entity *out, struct fl_err *err)
{
    struct acc_entity cur;

    return acc_crole_get(cx, catalog, name, &cur, err) &&
           acc_entity_cas(cx, &CROLE_UPDATE, "CatalogRole", &cur, q, out,
                          err);
}

/*
 * Drop catalog role `name` with its grants and assignments (trigger).
 * catalog_admin cannot be dropped.  Errors: 404, 400.
 */
bool acc_crole_delete(struct cat_ctx *cx, const char *catalog,
                      const char *name, struct fl_err *err)
{
    struct acc_entity cur;
    struct db_rows   *r;

    if (!acc_crole_get(cx, catalog, name, &cur, err)) {
        return false;
    }
    if (strcmp(cur.name, "catalog_admin") == 0) {
        return FL_ERR(err, 400, "BadRequestException",
                      "Catalog admin role cannot be dropped");
    }
    if (!db_exec(cx->conn, &CROLE_DELETE,
                 DB_ARGS(cat_i64(cx->a, cur.id)), cx->a, &r, err)) {
        return false;
    }
    return r->affected > 0 ||
           FL_ERR(err, 404, "NotFoundException",
                  "CatalogRole not found: %s.%s", catalog, name);
}
