/*
 * acc_check.c
 *
 * Authorization checks (Polaris's hasTransitivePrivilege): the caller's
 * grantees are its activated principal roles plus the catalog roles they
 * hold CATALOG_ROLE_USAGE on in the catalog addressed; a privilege is held
 * when any entity on the target's path (root container, catalog,
 * namespaces from the top, the object) carries a grant to one of them of a
 * privilege that satisfies it.  One round trip resolves the path and
 * returns every privilege held on it; subsumption is decided here.
 */
#include "access/access.h"
#include "access/acc_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

DB_STMT(CHECK_PATH,
    "WITH c AS (SELECT id FROM catalogs WHERE realm = $1 AND name = $2),"
    " ns AS (SELECT n.id, k FROM c"
    "  CROSS JOIN generate_series(1, cardinality($3::text[])) AS k"
    "  JOIN namespaces n ON n.catalog_id = c.id"
    "   AND n.path = ($3::text[])[1:k]),"
    " leaf AS (SELECT 7::smallint AS t, tb.id FROM ns"
    "   JOIN tables tb ON tb.namespace_id = ns.id AND tb.name = $4"
    "    AND tb.kind = $5"
    "  WHERE ns.k = cardinality($3::text[]) AND $6::smallint = 7"
    "  UNION ALL SELECT 10::smallint, p.id FROM ns"
    "   JOIN policies p ON p.namespace_id = ns.id AND p.name = $4"
    "  WHERE ns.k = cardinality($3::text[]) AND $6::smallint = 10),"
    " path AS (SELECT 1::smallint AS t, 0::bigint AS id WHERE $7::boolean"
    "  UNION ALL SELECT 4::smallint, id FROM c"
    "  UNION ALL SELECT 6::smallint, id FROM ns"
    "  UNION ALL SELECT t, id FROM leaf),"
    " who AS (SELECT 3::smallint AS t, r AS id FROM unnest($8::bigint[]) r"
    "  UNION ALL SELECT 5::smallint, g.securable_id FROM grants g, c"
    "  WHERE g.realm = $1 AND g.securable_type = 5 AND g.privilege = 3"
    "   AND g.grantee_type = 3 AND g.grantee_id = ANY($8::bigint[])"
    "   AND g.catalog_id = c.id)"
    " SELECT (SELECT id FROM c), (SELECT count(*) FROM ns),"
    "  EXISTS (SELECT 1 FROM leaf),"
    "  (SELECT array_agg(DISTINCT g.privilege) FROM grants g"
    "   JOIN path ON g.securable_type = path.t AND g.securable_id = path.id"
    "   JOIN who ON g.grantee_type = who.t AND g.grantee_id = who.id"
    "   WHERE g.realm = $1)");
DB_STMT(CHECK_ENTITY,
    "WITH who AS (SELECT 3::smallint AS t, r AS id"
    "  FROM unnest($2::bigint[]) r"
    "  UNION ALL SELECT 5::smallint, g.securable_id FROM grants g"
    "  WHERE g.realm = $1 AND g.securable_type = 5 AND g.privilege = 3"
    "   AND g.grantee_type = 3 AND g.grantee_id = ANY($2::bigint[])"
    "   AND g.catalog_id = $5::bigint)"
    " SELECT array_agg(DISTINCT g.privilege) FROM grants g"
    "  JOIN who ON g.grantee_type = who.t AND g.grantee_id = who.id"
    " WHERE g.realm = $1 AND ((g.securable_type = $3 AND g.securable_id = $4)"
    "  OR (g.securable_type = 1 AND g.securable_id = 0)"
    "  OR (g.securable_type = 4 AND g.securable_id = $5::bigint))");
DB_STMT(SEES_CATALOG,
    "SELECT EXISTS (SELECT 1 FROM grants g WHERE g.realm = $1"
    "  AND g.securable_type = 5 AND g.privilege = 3 AND g.grantee_type = 3"
    "  AND g.grantee_id = ANY($2::bigint[]) AND g.catalog_id = $3)"
    " OR EXISTS (SELECT 1 FROM grants g WHERE g.realm = $1"
    "  AND g.securable_type = 1 AND g.grantee_type = 3"
    "  AND g.grantee_id = ANY($2::bigint[]) AND g.privilege = ANY($4))");
DB_STMT(AUDIT_INSERT,
    "INSERT INTO audit_events (realm, at_ms, principal, operation, target,"
    " status, outcome, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");

/* {1,2,3}: a Postgres bigint[] literal of the caller's roles. */
char *acc_roles_array(struct fl_arena *a, const struct acc_caller *who)
{
    struct fl_buf b;
    int           i;

    fl_buf_init(&b, a, 0);
    fl_buf_printf(&b, "{");
    for (i = 0; who != NULL && i < who->nroles; i++) {
        fl_buf_printf(&b, "%s%lld", i ? "," : "", (long long)who->roles[i]);
    }
    fl_buf_printf(&b, "}");
    return b.p;
}

/* A cached decision of acc_check. */
struct decision {
    struct acc_resolved r;
    bool                allowed;
};

/* Everything a decision depends on, as a cache key. */
static const char *decision_key(struct cat_ctx *cx,
                                const struct acc_caller *who,
                                const struct acc_target *t, const int *privs,
                                int n)
{
    struct fl_buf b;
    int           i;

    fl_buf_init(&b, cx->a, 0);
    fl_buf_printf(&b, "check\x1f%s\x1f%s\x1f%s\x1f%d", cx->realm,
                  acc_roles_array(cx->a, who), t->catalog ? t->catalog : "",
                  t->nns);
    for (i = 0; i < t->nns; i++) {
        fl_buf_printf(&b, "\x1f%s", t->ns[i]);
    }
    fl_buf_printf(&b, "\x1f%s\x1f%d\x1f%s\x1f%d", t->leaf ? t->leaf : "",
                  t->leaf ? t->leaf_type : 0,
                  t->leaf_kind ? t->leaf_kind : "", t->rooted);
    for (i = 0; i < n; i++) {
        fl_buf_printf(&b, "\x1f%d", privs[i]);
    }
    return b.p;
}

/* Parse {5,31} into `held` flags (indexed by privilege code). */
static void held_parse(const char *s, bool held[ACC_PRIV_MAX + 1])
{
    char *end;
    long  v;

    memset(held, 0, sizeof(bool) * (ACC_PRIV_MAX + 1));
    while (s != NULL && *s != '\0') {
        v = strtol(s, &end, 10);
        if (end == s) {
            s++;
            continue;
        }
        if (v >= 1 && v <= ACC_PRIV_MAX) {
            held[v] = true;
        }
        s = end;
    }
}

/* Is every one of `privs` satisfied by some privilege in `held`? */
static bool held_all(const bool held[ACC_PRIV_MAX + 1], const int *privs,
                     int n)
{
    int supers[ACC_PRIV_MAX + 1];
    int i, j, ns;
    bool ok;

    for (i = 0; i < n; i++) {
        ns = acc_priv_supers(privs[i], supers);
        ok = false;
        for (j = 0; j < ns && !ok; j++) {
            ok = held[supers[j]];
        }
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool acc_check(struct cat_ctx *cx, const struct acc_caller *who,
               const struct acc_target *t, const int *privs, int n,
               bool *allowed, struct acc_resolved *r, struct fl_err *err)
{
    struct db_conn     *c;
    struct db_rows     *rows;
    struct acc_resolved local;
    struct decision     d, *hit;
    bool                held[ACC_PRIV_MAX + 1];
    uint64_t            stamp = acc_cache_epoch();
    const char         *key = decision_key(cx, who, t, privs, n);
    size_t              len;

    *allowed = false;
    if (r == NULL) {
        r = &local;
    }
    memset(r, 0, sizeof(*r));
    hit = acc_cache_get(cx->a, key, &len);
    if (hit != NULL && len == sizeof(*hit)) {
        *r = hit->r;
        *allowed = hit->allowed;
        return true;
    }
    c = cat_conn(cx, err);
    if (c == NULL ||
        !db_exec(c, &CHECK_PATH,
                 DB_ARGS(cx->realm, t->catalog,
                         cat_pg_array(cx->a, t->ns, t->nns),
                         t->leaf ? t->leaf : "",
                         t->leaf_kind ? t->leaf_kind : "table",
                         cat_i64(cx->a, t->leaf ? t->leaf_type : 0),
                         t->rooted ? "true" : "false",
                         acc_roles_array(cx->a, who)),
                 cx->a, &rows, err)) {
        return false;
    }
    r->catalog_id = db_val(rows, 0, 0) ? strtoll(db_val(rows, 0, 0), NULL, 10)
                                       : 0;
    r->depth = (int)strtol(db_val(rows, 0, 1), NULL, 10);
    r->leaf_found = strcmp(db_val(rows, 0, 2), "t") == 0;
    held_parse(db_val(rows, 0, 3), held);
    *allowed = held_all(held, privs, n);
    /* only a fully resolved path: a missing part may appear without any
     * notification, and callers look at what was resolved */
    if (r->catalog_id != 0 && r->depth == t->nns &&
        (t->leaf == NULL || r->leaf_found)) {
        memset(&d, 0, sizeof(d));
        d.r = *r;
        d.allowed = *allowed;
        acc_cache_put(key, &d, sizeof(d), stamp);
    }
    return true;
}

bool acc_check_entity(struct cat_ctx *cx, const struct acc_caller *who,
                      int type, int64_t id, int64_t catalog_id, int priv,
                      bool *allowed, struct fl_err *err)
{
    struct db_conn *c = cat_conn(cx, err);
    struct db_rows *rows;
    bool            held[ACC_PRIV_MAX + 1];

    *allowed = false;
    if (c == NULL ||
        !db_exec(c, &CHECK_ENTITY,
                 DB_ARGS(cx->realm, acc_roles_array(cx->a, who),
                         cat_i64(cx->a, type), cat_i64(cx->a, id),
                         cat_i64(cx->a, catalog_id)),
                 cx->a, &rows, err)) {
        return false;
    }
    held_parse(db_val(rows, 0, 0), held);
    *allowed = held_all(held, &priv, 1);
    return true;
}

bool acc_sees_catalog(struct cat_ctx *cx, const struct acc_caller *who,
                      int64_t catalog_id, bool *sees, struct fl_err *err)
{
    struct db_conn *c = cat_conn(cx, err);
    struct db_rows *rows;
    int             supers[ACC_PRIV_MAX + 1];
    int             n = acc_priv_supers(ACC_CATALOG_READ_PROPERTIES, supers);
    struct fl_buf   b;
    int             i;
    bool            ok;

    fl_buf_init(&b, cx->a, 0);
    fl_buf_printf(&b, "{");
    for (i = 0; i < n; i++) {
        fl_buf_printf(&b, "%s%d", i ? "," : "", supers[i]);
    }
    fl_buf_printf(&b, "}");
    ok = c != NULL &&
         db_exec(c, &SEES_CATALOG,
                 DB_ARGS(cx->realm, acc_roles_array(cx->a, who),
                         cat_i64(cx->a, catalog_id), b.p),
                 cx->a, &rows, err);
    *sees = ok && strcmp(db_val(rows, 0, 0), "t") == 0;
    return ok;
}

bool acc_denied(struct fl_err *err, const struct acc_caller *who,
                const char *op, int priv)
{
    char roles[512];
    int  i, off = 0;

    roles[0] = '\0';
    for (i = 0; who != NULL && i < who->nroles && off < (int)sizeof(roles);
         i++) {
        off += snprintf(roles + off, sizeof(roles) - (size_t)off, "%s%s",
                        i ? "," : "", who->role_names[i]);
    }
    return FL_ERR(err, 403, "ForbiddenException",
                  "Principal '%s' with activated PrincipalRoles '[%s]' is "
                  "not authorized for op %s (needs %s)",
                  who ? who->name : "", roles, op, acc_priv_name(priv));
}

void acc_audit(struct cat_ctx *cx, const struct acc_audit *e)
{
    struct fl_err err;

    fl_err_clear(&err);
    if (cat_conn(cx, &err) == NULL ||
        !db_exec(cx->conn, &AUDIT_INSERT,
                 DB_ARGS(cx->realm, cat_i64(cx->a, fl_now_ms()), e->principal,
                         e->operation, e->target,
                         cat_i64(cx->a, e->status), e->outcome,
                         e->request_id),
                 cx->a, NULL, &err)) {
        fl_log(FL_LOG_WARN, "audit event not recorded: %s", err.msg);
    }
}

DB_STMT(AUDIT_PAGE,
    "SELECT id, at_ms, principal, operation, target, status, outcome,"
    " request_id FROM audit_events WHERE realm = $1 AND id < $2"
    " ORDER BY id DESC LIMIT $3");

/*
 * One page of the realm's audit events, newest first: keyset on the id,
 * the next page token signed like every listing's.  page_size 0 = 100.
 */
bool acc_audit_page(struct cat_ctx *cx, const char *page_token,
                    int page_size, json_t **events, const char **next,
                    struct fl_err *err)
{
    struct db_rows *r;
    const char     *before = "9223372036854775807";
    int             i, limit = page_size > 0 ? page_size : 100;

    *next = NULL;
    if (page_token != NULL && page_token[0] != '\0' &&
        (before = cat_token_decode(cx, "audit", page_token, err)) == NULL) {
        return false;
    }
    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, &AUDIT_PAGE,
                 DB_ARGS(cx->realm, before, cat_i64(cx->a, limit + 1)),
                 cx->a, &r, err)) {
        return false;
    }
    *events = json_array();
    for (i = 0; i < r->nrows && i < limit; i++) {
        json_array_append_new(*events, json_pack(
            "{sI sI ss? ss ss? si ss ss}",
            "id", (json_int_t)strtoll(db_val(r, i, 0), NULL, 10),
            "timestamp", (json_int_t)strtoll(db_val(r, i, 1), NULL, 10),
            "principal", db_val(r, i, 2),
            "operation", db_val(r, i, 3),
            "target", db_val(r, i, 4),
            "status", (int)strtol(db_val(r, i, 5), NULL, 10),
            "outcome", db_val(r, i, 6), "requestId", db_val(r, i, 7)));
    }
    if (r->nrows > limit) {
        *next = cat_token_encode(cx, "audit", db_val(r, limit - 1, 0));
    }
    return true;
}
