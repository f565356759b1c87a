/*
 * acc_auth.c
 *
 * Principals' secrets, client-credential checks, the caller's activated
 * principal roles, and the bootstrap of a realm (root, service_admin).
 * Secrets are stored as PBKDF2-HMAC-SHA256 with a random salt, never in
 * clear; the previous secret stays valid until the next rotation.
 */
#include "access/access.h"
#include "access/acc_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PBKDF2_ITER 4096

DB_STMT(PRINCIPAL_BY_CLIENT,
    "SELECT id, name, secret, secret_prev FROM principals"
    " WHERE realm = $1 AND client_id = $2");
DB_STMT(CALLER_ROLES,
    "SELECT p.name, r.id, r.name FROM principals p"
    " LEFT JOIN grants g ON g.realm = p.realm AND g.grantee_type = 2"
    "  AND g.grantee_id = p.id AND g.securable_type = 3 AND g.privilege = 4"
    " LEFT JOIN principal_roles r ON r.id = g.securable_id"
    " WHERE p.realm = $1 AND p.id = $2 ORDER BY r.name");
DB_STMT(ROOT_INSERT,
    "INSERT INTO principals (realm, name, client_id, secret, created_ms,"
    " updated_ms) VALUES ($1, 'root', $2, $3, $4, $4)"
    " ON CONFLICT DO NOTHING RETURNING id");
DB_STMT(ROLE_ENSURE,
    "WITH ins AS (INSERT INTO principal_roles (realm, name, created_ms,"
    " updated_ms) VALUES ($1, $2, $3, $3) ON CONFLICT DO NOTHING"
    " RETURNING id)"
    " SELECT id FROM ins UNION ALL"
    " SELECT id FROM principal_roles WHERE realm = $1 AND name = $2");
DB_STMT(GRANT_ADD,
    "INSERT INTO grants (realm, securable_type, securable_id, grantee_type,"
    " grantee_id, privilege, catalog_id, created_ms)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING");
DB_STMT(CATALOG_ADMIN_INSERT,
    "INSERT INTO catalog_roles (realm, catalog_id, name, created_ms,"
    " updated_ms) VALUES ($1, $2, 'catalog_admin', $3, $3)"
    " ON CONFLICT DO NOTHING RETURNING id");
DB_STMT(SERVICE_ADMIN_ID,
    "SELECT id FROM principal_roles WHERE realm = $1"
    " AND name = 'service_admin'");

char *acc_secret_hash(struct fl_arena *a, const char *secret)
{
    unsigned char salt[16];
    unsigned char h[32];

    fl_random_bytes(salt, sizeof(salt));
    fl_pbkdf2_sha256(secret, salt, sizeof(salt), PBKDF2_ITER, h);
    return fl_sprintf(a, "pbkdf2-sha256$%d$%s$%s", PBKDF2_ITER,
                      fl_hex(a, salt, sizeof(salt)), fl_hex(a, h, sizeof(h)));
}

static int unhex(int c)
{
    return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool acc_secret_matches(const char *stored, const char *secret)
{
    unsigned char salt[64];
    unsigned char h[32];
    char          hex[65];
    const char   *p, *q;
    size_t        n = 0;
    long          iter;
    int           i;

    if (stored == NULL || strncmp(stored, "pbkdf2-sha256$", 14) != 0) {
        return false;
    }
    iter = strtol(stored + 14, (char **)&p, 10);
    if (iter < 1 || iter > 10000000 || *p != '$') {
        return false;
    }
    for (q = p + 1; q[0] != '$' && q[0] != '\0' && q[1] != '\0'; q += 2) {
        if (n == sizeof(salt) || unhex(q[0]) < 0 || unhex(q[1]) < 0) {
            return false;
        }
        salt[n++] = (unsigned char)(unhex(q[0]) << 4 | unhex(q[1]));
    }
    if (*q != '$') {
        return false;
    }
    fl_pbkdf2_sha256(secret, salt, n, (int)iter, h);
    for (i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    }
    return fl_const_eq(q + 1, hex);
}

static char *random_hex(struct fl_arena *a, size_t bytes)
{
    unsigned char b[32];

    fl_random_bytes(b, bytes);
    return fl_hex(a, b, bytes);
}

char *acc_new_client_id(struct fl_arena *a)
{
    return random_hex(a, 8);
}

char *acc_new_secret(struct fl_arena *a)
{
    return random_hex(a, 16);
}

bool acc_client_check(struct cat_ctx *cx, const char *client_id,
                      const char *secret, int64_t *principal_id,
                      const char **name, struct fl_err *err)
{
    struct db_conn *c = cat_conn(cx, err);
    struct db_rows *r;

    if (c == NULL ||
        !db_exec(c, &PRINCIPAL_BY_CLIENT, DB_ARGS(cx->realm, client_id),
                 cx->a, &r, err)) {
        return false;
    }
    if (r->nrows == 0 ||
        (!acc_secret_matches(db_val(r, 0, 2), secret) &&
         !acc_secret_matches(db_val(r, 0, 3), secret))) {
        return FL_ERR(err, 401, "NotAuthorizedException",
                      "Unauthorized: invalid client credentials");
    }
    *principal_id = strtoll(db_val(r, 0, 0), NULL, 10);
    *name = db_val(r, 0, 1);
    return true;
}

bool acc_scope_valid(const char *scope)
{
    const char *p = scope;
    size_t      n;

    if (scope == NULL || *scope == '\0') {
        return false;
    }
    while (*p != '\0') {
        n = strcspn(p, " ");
        if (n <= 15 || strncmp(p, "PRINCIPAL_ROLE:", 15) != 0) {
            return false;
        }
        p += n;
        p += strspn(p, " ");
    }
    return true;
}

/* Does the space-separated `scope` name PRINCIPAL_ROLE:<role>? */
static bool scope_has(const char *scope, const char *role)
{
    const char *p = scope;
    size_t      n, rl = strlen(role);

    while (*p != '\0') {
        n = strcspn(p, " ");
        if (n == 15 + rl && strncmp(p + 15, role, rl) == 0) {
            return true;
        }
        p += n;
        p += strspn(p, " ");
    }
    return false;
}

/* Every role the scope names is one the principal holds. */
static bool scope_held(struct cat_ctx *cx, const char *scope,
                       struct db_rows *r, struct fl_err *err)
{
    const char *p = scope;
    size_t      n;
    int         i;
    bool        found;

    while (*p != '\0') {
        n = strcspn(p, " ");
        found = n == 18 && strncmp(p, "PRINCIPAL_ROLE:ALL", 18) == 0;
        for (i = 0; !found && i < r->nrows; i++) {
            const char *rn = db_val(r, i, 2);

            found = rn != NULL && strlen(rn) == n - 15 &&
                    strncmp(p + 15, rn, n - 15) == 0;
        }
        if (!found) {
            return FL_ERR(err, 400, "invalid_scope",
                          "the principal does not hold %s",
                          fl_strndup(cx->a, p, n));
        }
        p += n;
        p += strspn(p, " ");
    }
    return true;
}

/*
 * Cached callers: "name\0id\0role\0id\0role\0..." under
 * "caller\x1f<realm>\x1f<principal id>\x1f<scope>".
 */
static bool caller_cached(struct cat_ctx *cx, const char *key,
                          struct acc_caller *out)
{
    size_t      len, n = 0, i;
    const char *p = acc_cache_get(cx->a, key, &len), *end;

    if (p == NULL) {
        return false;
    }
    end = p + len;
    for (i = 0; i < len; i++) {
        n += p[i] == '\0';
    }
    out->name = p;
    out->root = strcmp(p, "root") == 0;
    out->roles = fl_alloc(cx->a, sizeof(int64_t) * (n / 2 + 1));
    out->role_names = fl_alloc(cx->a, sizeof(char *) * (n / 2 + 1));
    for (p += strlen(p) + 1; p < end; p += strlen(p) + 1) {
        out->roles[out->nroles] = strtoll(p, NULL, 10);
        p += strlen(p) + 1;
        out->role_names[out->nroles++] = p;
    }
    return true;
}

static void caller_cache(struct cat_ctx *cx, const char *key,
                         const struct acc_caller *c, uint64_t stamp)
{
    struct fl_buf b;
    int           i;

    fl_buf_init(&b, cx->a, 0);
    fl_buf_append(&b, c->name, strlen(c->name) + 1);
    for (i = 0; i < c->nroles; i++) {
        fl_buf_printf(&b, "%lld", (long long)c->roles[i]);
        fl_buf_append(&b, "", 1);
        fl_buf_append(&b, c->role_names[i], strlen(c->role_names[i]) + 1);
    }
    acc_cache_put(key, b.p, b.len, stamp);
}

bool acc_caller_load(struct cat_ctx *cx, int64_t principal_id,
                     const char *scope, bool strict, struct acc_caller *out,
                     struct fl_err *err)
{
    struct db_conn *c;
    struct db_rows *r;
    bool            all;
    int             i;
    uint64_t        stamp = acc_cache_epoch();
    const char     *key = fl_sprintf(cx->a, "caller\x1f%s\x1f%lld\x1f%s",
                                     cx->realm, (long long)principal_id,
                                     scope);

    memset(out, 0, sizeof(*out));
    if (!strict && caller_cached(cx, key, out)) {
        out->principal_id = principal_id;
        return true;
    }
    c = cat_conn(cx, err);
    if (c == NULL ||
        !db_exec(c, &CALLER_ROLES,
                 DB_ARGS(cx->realm, cat_i64(cx->a, principal_id)), cx->a, &r,
                 err)) {
        return false;
    }
    if (r->nrows == 0) {
        return FL_ERR(err, 401, "NotAuthorizedException",
                      "Unauthorized: the principal no longer exists");
    }
    if (strict && !scope_held(cx, scope, r, err)) {
        return false;
    }
    all = scope_has(scope, "ALL");
    out->principal_id = principal_id;
    out->name = db_val(r, 0, 0);
    out->root = strcmp(out->name, "root") == 0;
    out->roles = fl_alloc(cx->a, sizeof(int64_t) * (size_t)r->nrows);
    out->role_names = fl_alloc(cx->a, sizeof(char *) * (size_t)r->nrows);
    for (i = 0; i < r->nrows; i++) {
        const char *rn = db_val(r, i, 2);

        if (rn != NULL && (all || scope_has(scope, rn))) {
            out->roles[out->nroles] = strtoll(db_val(r, i, 1), NULL, 10);
            out->role_names[out->nroles++] = rn;
        }
    }
    caller_cache(cx, key, out, stamp);
    return true;
}

bool acc_grant_add(struct cat_ctx *cx, int stype, int64_t sid, int gtype,
                   int64_t gid, int priv, int64_t catalog_id,
                   struct fl_err *err)
{
    return db_exec(cx->conn, &GRANT_ADD,
                   DB_ARGS(cx->realm, cat_i64(cx->a, stype),
                           cat_i64(cx->a, sid), cat_i64(cx->a, gtype),
                           cat_i64(cx->a, gid), cat_i64(cx->a, priv),
                           catalog_id ? cat_i64(cx->a, catalog_id) : NULL,
                           cat_i64(cx->a, fl_now_ms())),
                   cx->a, NULL, err);
}

bool acc_bootstrap(struct cat_ctx *cx, const char *client_id,
                   const char *secret, bool *created, const char **out_id,
                   const char **out_secret, struct fl_err *err)
{
    struct db_conn *c = cat_conn(cx, err);
    struct db_rows *p, *role;
    const char     *now = cat_i64(cx->a, fl_now_ms());
    int64_t         root, admin;

    *created = false;
    if (client_id == NULL || secret == NULL) {
        client_id = acc_new_client_id(cx->a);
        secret = acc_new_secret(cx->a);
    }
    *out_id = client_id;
    *out_secret = secret;
    if (c == NULL || !db_begin(c, err)) {
        return false;
    }
    if (!db_exec(c, &ROOT_INSERT,
                 DB_ARGS(cx->realm, client_id,
                         acc_secret_hash(cx->a, secret), now),
                 cx->a, &p, err)) {
        goto fail;
    }
    if (p->nrows == 0) {
        db_rollback(c);                 /* already bootstrapped */
        return true;
    }
    root = strtoll(db_val(p, 0, 0), NULL, 10);
    if (!db_exec(c, &ROLE_ENSURE, DB_ARGS(cx->realm, "service_admin", now),
                 cx->a, &role, err) || role->nrows == 0) {
        goto fail;
    }
    admin = strtoll(db_val(role, 0, 0), NULL, 10);
    if (!acc_grant_add(cx, ACC_PRINCIPAL_ROLE, admin, ACC_PRINCIPAL, root,
                       ACC_PRINCIPAL_ROLE_USAGE, 0, err) ||
        !acc_grant_add(cx, ACC_ROOT, 0, ACC_PRINCIPAL_ROLE, admin,
                       ACC_SERVICE_MANAGE_ACCESS, 0, err) ||
        !db_commit(c, err)) {
        goto fail;
    }
    *created = true;
    return true;

fail:
    if (db_in_transaction(c)) {
        db_rollback(c);
    }
    if (!fl_err_isset(err)) {
        FL_ERR(err, 500, "InternalServerError", "bootstrap failed");
    }
    return false;
}

bool acc_catalog_created(struct cat_ctx *cx, int64_t catalog_id,
                         bool content, struct fl_err *err)
{
    struct db_conn *c = cat_conn(cx, err);
    struct db_rows *cr, *sa;
    int64_t         role;

    if (c == NULL ||
        !db_exec(c, &CATALOG_ADMIN_INSERT,
                 DB_ARGS(cx->realm, cat_i64(cx->a, catalog_id),
                         cat_i64(cx->a, fl_now_ms())),
                 cx->a, &cr, err)) {
        return false;
    }
    if (cr->nrows == 0) {
        return true;
    }
    role = strtoll(db_val(cr, 0, 0), NULL, 10);
    if (!acc_grant_add(cx, ACC_CATALOG, catalog_id, ACC_CATALOG_ROLE, role,
                       ACC_CATALOG_MANAGE_ACCESS, catalog_id, err) ||
        !acc_grant_add(cx, ACC_CATALOG, catalog_id, ACC_CATALOG_ROLE, role,
                       ACC_CATALOG_MANAGE_METADATA, catalog_id, err) ||
        (content &&
         !acc_grant_add(cx, ACC_CATALOG, catalog_id, ACC_CATALOG_ROLE, role,
                        ACC_CATALOG_MANAGE_CONTENT, catalog_id, err)) ||
        !db_exec(c, &SERVICE_ADMIN_ID, DB_ARGS(cx->realm), cx->a, &sa,
                 err)) {
        return false;
    }
    return sa->nrows == 0 ||
           acc_grant_add(cx, ACC_CATALOG_ROLE, role, ACC_PRINCIPAL_ROLE,
                         strtoll(db_val(sa, 0, 0), NULL, 10),
                         ACC_CATALOG_ROLE_USAGE, catalog_id, err);
}
