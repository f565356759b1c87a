/*
 * cat_namespace.c
 *
 * Namespaces: a tree per catalog, any depth up to CAT_MAX_NS_LEVELS.  A
 * namespace exists only under an existing parent and can be dropped only
 * when nothing lives in it; both rules are enforced by foreign keys, so they
 * hold against concurrent requests without locks.  Every namespace carries
 * a `location` property: the client's (inside the catalog's allowed
 * locations) or, as Polaris derives it, the nearest ancestor's location (or
 * the catalog's default-base-location) plus the remaining levels, with a
 * trailing slash.
 *
 * Messages are those Iceberg's and Polaris's clients and tests compare
 * (notes/ICEBERG.md 3.7): "Namespace does not exist: a.b", ...
 */
#include "catalog/catalog_int.h"

#include <stdlib.h>
#include <string.h>

/* The catalog plus the namespace at exactly path $3 (NULLs when absent). */
DB_STMT(NS_RESOLVE,
    "SELECT c.id, c.storage_config::text, n.id, n.properties::text,"
    " n.entity_version"
    " FROM catalogs c LEFT JOIN namespaces n"
    " ON n.catalog_id = c.id AND n.path = $3::text[]"
    " WHERE c.realm = $1 AND c.name = $2");
/* The catalog plus every existing ancestor-or-self of path $3. */
DB_STMT(NS_ANCESTORS,
    "SELECT c.id, c.properties->>'default-base-location',"
    " c.storage_config::text, n.id, cardinality(n.path),"
    " n.properties->>'location'"
    " FROM catalogs c LEFT JOIN namespaces n"
    " ON n.catalog_id = c.id AND n.path IN"
    "  (SELECT ($3::text[])[1:k]"
    "   FROM generate_series(1, cardinality($3::text[])) k)"
    " WHERE c.realm = $1 AND c.name = $2");
DB_STMT(NS_INSERT,
    "INSERT INTO namespaces (realm, catalog_id, parent_id, path, name,"
    " properties, created_ms, updated_ms)"
    " VALUES ($1, $2, $3, $4::text[], $5, $6::jsonb, $7, $7)"
    " ON CONFLICT (catalog_id, path) DO NOTHING RETURNING id");
DB_STMT(NS_DELETE, "DELETE FROM namespaces WHERE id = $1");
DB_STMT(NS_CONTENTS,
    "SELECT (SELECT count(*) FROM (SELECT 1 FROM namespaces"
    "         WHERE parent_id = $1 LIMIT 1000) s),"
    " (SELECT count(*) FROM (SELECT 1 FROM tables"
    "   WHERE namespace_id = $1 AND kind = 'table' LIMIT 1000) t),"
    " (SELECT count(*) FROM (SELECT 1 FROM tables"
    "   WHERE namespace_id = $1 AND kind = 'view' LIMIT 1000) v),"
    " (SELECT count(*) FROM (SELECT 1 FROM policies"
    "   WHERE namespace_id = $1 LIMIT 1000) p)");
DB_STMT(NS_UPDATE,
    "WITH old AS (SELECT id, properties FROM namespaces WHERE id = $1"
    "             FOR UPDATE)"
    " UPDATE namespaces n SET properties ="
    "  (old.properties - $2::text[]) || $3::jsonb,"
    "  entity_version = n.entity_version + 1, updated_ms = $4"
    " FROM old WHERE n.id = old.id RETURNING old.properties::text");
DB_STMT(NS_LIST_TOP,
    "SELECT path FROM namespaces"
    " WHERE catalog_id = $1 AND parent_id IS NULL AND name > $2"
    " ORDER BY name LIMIT $3");
DB_STMT(NS_LIST_CHILDREN,
    "SELECT path FROM namespaces"
    " WHERE catalog_id = $1 AND parent_id = $4 AND name > $2"
    " ORDER BY name LIMIT $3");

static bool ns_missing(struct cat_ctx *cx, const char *const *levels, int n,
                       struct fl_err *err)
{
    return FL_ERR(err, 404, "NoSuchNamespaceException",
                  "Namespace does not exist: %s",
                  cat_ns_render(cx->a, levels, n));
}

static bool catalog_missing(const char *catalog, struct fl_err *err)
{
    return FL_ERR(err, 404, "NoSuchNamespaceException",
                  "Catalog does not exist: %s", catalog);
}

/*
 * The row of catalog + namespace at `levels`.  Fails with 404 when either
 * is missing; the caller reads columns of NS_RESOLVE from *r.
 */
static bool resolve(struct cat_ctx *cx, const char *catalog,
                    const char *const *levels, int n, struct db_rows **r,
                    struct fl_err *err)
{
    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, &NS_RESOLVE,
                 DB_ARGS(cx->realm, catalog,
                         cat_pg_array(cx->a, levels, n)),
                 cx->a, r, err)) {
        return false;
    }
    if ((*r)->nrows == 0) {
        return catalog_missing(catalog, err);
    }
    if (n > 0 && db_val(*r, 0, 2) == NULL) {
        return ns_missing(cx, levels, n, err);
    }
    return true;
}

/*
 * The location a new namespace gets when the client sets none: the nearest
 * existing ancestor's location (else the catalog's base) plus the levels
 * below it.  `r` is the result of NS_ANCESTORS for the parent path.
 */
static char *derive_location(struct cat_ctx *cx, const struct db_rows *r,
                             const char *const *levels, int n)
{
    const char *base = db_val(r, 0, 1);
    int         from = 0;
    int         i;
    char       *loc;

    for (i = 0; i < r->nrows; i++) {
        const char *depth = db_val(r, i, 4);
        const char *l = db_val(r, i, 5);
        int         d = depth ? (int)strtol(depth, NULL, 10) : 0;

        if (l != NULL && l[0] != '\0' && d > from) {
            from = d;
            base = l;
        }
    }
    loc = cat_location_dir(cx->a, base);
    for (i = from; i < n; i++) {
        loc = fl_sprintf(cx->a, "%s%s/", loc, levels[i]);
    }
    return loc;
}

static bool location_set(struct cat_ctx *cx, json_t *props, json_t *storage,
                         const char *loc, struct fl_err *err)
{
    if (!cat_location_valid(loc) || !cat_storage_allows(storage, loc)) {
        return FL_ERR(err, 400, "BadRequestException",
                      "namespace location '%s' is not within the catalog's "
                      "allowed locations", loc);
    }
    json_object_set_new(props, "location",
                        json_string(cat_location_dir(cx->a, loc)));
    return true;
}

/* Find the parent row among NS_ANCESTORS results; NULL id when missing. */
static const char *parent_id(const struct db_rows *r, int n)
{
    int i;

    for (i = 0; i < r->nrows; i++) {
        const char *depth = db_val(r, i, 4);

        if (depth != NULL && strtol(depth, NULL, 10) == n - 1) {
            return db_val(r, i, 3);
        }
    }
    return NULL;
}

/*
 * Create namespace `levels` in `catalog` with properties `props` (borrowed;
 * not modified).  Fills *out with what was stored, location included.
 * Errors: 404 NoSuchNamespaceException (catalog or parent missing), 409
 * AlreadyExistsException, 400 for invalid names, properties or location.
 */
bool cat_ns_create(struct cat_ctx *cx, const char *catalog,
                   const char *const *levels, int n, json_t *props,
                   struct cat_ns *out, struct fl_err *err)
{
    struct db_rows *r;
    struct db_rows *ins;
    json_t         *stored;
    json_t         *storage;
    const char     *loc;
    const char     *parent = NULL;
    const char     *ms = cat_i64(cx->a, fl_now_ms());

    if (n == 0) {
        return FL_ERR(err, 409, "AlreadyExistsException",
                      "Cannot create root namespace, as it already exists "
                      "implicitly.");
    }
    if (!cat_ns_check(levels, n, err) || !cat_props_check(props, err) ||
        cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, &NS_ANCESTORS,
                 DB_ARGS(cx->realm, catalog,
                         cat_pg_array(cx->a, levels, n - 1)),
                 cx->a, &r, err)) {
        return false;
    }
    if (r->nrows == 0) {
        return catalog_missing(catalog, err);
    }
    if (n > 1 && (parent = parent_id(r, n)) == NULL) {
        return ns_missing(cx, levels, n - 1, err);
    }
    stored = fl_arena_own_json(cx->a, json_deep_copy(props));
    storage = cat_json_parse(cx->a, db_val(r, 0, 2));
    loc = json_string_value(json_object_get(props, "location"));
    if (!location_set(cx, stored, storage,
                      loc ? loc : derive_location(cx, r, levels, n), err) ||
        !db_exec(cx->conn, &NS_INSERT,
                 DB_ARGS(cx->realm, db_val(r, 0, 0), parent,
                         cat_pg_array(cx->a, levels, n), levels[n - 1],
                         cat_json_text(cx->a, stored), ms),
                 cx->a, &ins, err)) {
        if (err->status == 409 && strcmp(err->type, "ConflictException") == 0) {
            /* the parent was dropped under us (foreign key) */
            fl_err_clear(err);
            return ns_missing(cx, levels, n - 1, err);
        }
        return false;
    }
    if (ins->nrows == 0) {
        return FL_ERR(err, 409, "AlreadyExistsException",
                      "Namespace already exists: %s",
                      cat_ns_render(cx->a, levels, n));
    }
    memset(out, 0, sizeof(*out));
    out->id = strtoll(db_val(ins, 0, 0), NULL, 10);
    out->levels = (const char **)levels;
    out->nlevels = n;
    out->properties = stored;
    out->version = 1;
    return true;
}

/*
 * Load namespace `levels` of `catalog`.  Errors: 404
 * NoSuchNamespaceException "Namespace does not exist: a.b".
 */
bool cat_ns_get(struct cat_ctx *cx, const char *catalog,
                const char *const *levels, int n, struct cat_ns *out,
                struct fl_err *err)
{
    struct db_rows *r;

    if (n == 0) {
        return ns_missing(cx, levels, n, err);
    }
    if (!cat_ns_check(levels, n, err)) {
        /* a name we could never have stored does not exist */
        fl_err_clear(err);
        return ns_missing(cx, levels, n, err);
    }
    if (!resolve(cx, catalog, levels, n, &r, err)) {
        return false;
    }
    memset(out, 0, sizeof(*out));
    out->catalog_id = strtoll(db_val(r, 0, 0), NULL, 10);
    out->id = strtoll(db_val(r, 0, 2), NULL, 10);
    out->levels = (const char **)levels;
    out->nlevels = n;
    out->properties = cat_json_parse(cx->a, db_val(r, 0, 3));
    out->version = (int)strtol(db_val(r, 0, 4), NULL, 10);
    return true;
}

static bool not_empty(struct cat_ctx *cx, const char *id,
                      const char *const *levels, int n, struct fl_err *err)
{
    static const char *const what[] = {"child namespace(s)", "table(s)",
                                       "view(s)", "policy(ies)"};
    struct db_rows *r;
    struct fl_err   e;
    const char     *name = cat_ns_render(cx->a, levels, n);
    int             i;

    fl_err_clear(&e);
    if (db_exec(cx->conn, &NS_CONTENTS, DB_ARGS(id), cx->a, &r, &e)) {
        for (i = 0; i < 4; i++) {
            const char *c = db_val(r, 0, i);

            if (c != NULL && strcmp(c, "0") != 0) {
                return FL_ERR(err, 409, "NamespaceNotEmptyException",
                              "Namespace %s is not empty. Contains %s%s %s.",
                              name, c, strcmp(c, "1000") == 0 ? "+" : "",
                              what[i]);
            }
        }
    }
    return FL_ERR(err, 409, "NamespaceNotEmptyException",
                  "Namespace %s is not empty", name);
}

/*
 * Drop namespace `levels`, which must be empty.  Errors: 404
 * NoSuchNamespaceException, 409 NamespaceNotEmptyException.
 */
bool cat_ns_drop(struct cat_ctx *cx, const char *catalog,
                 const char *const *levels, int n, struct fl_err *err)
{
    struct cat_ns   ns;
    struct db_rows *r;
    const char     *id;

    if (!cat_ns_get(cx, catalog, levels, n, &ns, err)) {
        return false;
    }
    id = cat_i64(cx->a, ns.id);
    if (!db_exec(cx->conn, &NS_DELETE, DB_ARGS(id), cx->a, &r, err)) {
        if (err->status == 409) {
            fl_err_clear(err);
            return not_empty(cx, id, levels, n, err);
        }
        return false;
    }
    if (r->affected == 0) {
        return ns_missing(cx, levels, n, err);
    }
    return true;
}

/* 422 when a key is both updated and removed, naming every such key. */
static bool conflicts(struct cat_ctx *cx, json_t *updates, json_t *removals,
                      struct fl_err *err)
{
    struct fl_buf b;
    size_t        i;
    json_t       *k;

    fl_buf_init(&b, cx->a, 200);
    json_array_foreach(removals, i, k) {
        const char *key = json_string_value(k);

        if (json_object_get(updates, key) != NULL) {
            if (!fl_buf_printf(&b, "%s%s", b.len ? ", " : "", key)) {
                break;
            }
        }
    }
    if (b.len > 0) {
        return FL_ERR(err, 422, "UnprocessableEntityException",
                      "Invalid namespace update, cannot simultaneously set "
                      "and remove keys: [%s]", b.p);
    }
    return true;
}

static void changes(json_t *old, json_t *updates, json_t *removals,
                    struct cat_ns_changes *out)
{
    const char *key;
    json_t     *v;
    size_t      i;

    json_object_foreach(updates, key, v) {
        json_array_append_new(out->updated, json_string(key));
    }
    json_array_foreach(removals, i, v) {
        json_array_append(json_object_get(old, json_string_value(v))
                              ? out->removed : out->missing, v);
    }
}

/*
 * Set `updates` (string map) and remove `removals` (array of strings) on
 * namespace `levels`, atomically.  Fills *out with updated / removed /
 * missing keys (arena-owned arrays).  Errors: 404, 422 for a key in both,
 * 400 for invalid input or a location outside the catalog.
 */
bool cat_ns_update(struct cat_ctx *cx, const char *catalog,
                   const char *const *levels, int n, json_t *updates,
                   json_t *removals, struct cat_ns_changes *out,
                   struct fl_err *err)
{
    struct db_rows *r;
    struct db_rows *u;
    json_t         *set = fl_arena_own_json(cx->a, json_deep_copy(updates));
    json_t         *old;
    const char     *loc = json_string_value(json_object_get(updates,
                                                            "location"));
    const char    **keys;
    size_t          i;
    json_t         *k;

    if (!cat_props_check(updates, err) ||
        !conflicts(cx, updates, removals, err) ||
        !resolve(cx, catalog, levels, n, &r, err) ||
        (loc != NULL &&
         !location_set(cx, set, cat_json_parse(cx->a, db_val(r, 0, 1)), loc,
                       err))) {
        return false;
    }
    keys = fl_alloc(cx->a, sizeof(char *) * (json_array_size(removals) + 1));
    json_array_foreach(removals, i, k) {
        keys[i] = json_string_value(k);
    }
    if (!db_exec(cx->conn, &NS_UPDATE,
                 DB_ARGS(db_val(r, 0, 2),
                         cat_pg_array(cx->a, keys,
                                      (int)json_array_size(removals)),
                         cat_json_text(cx->a, set),
                         cat_i64(cx->a, fl_now_ms())),
                 cx->a, &u, err)) {
        return false;
    }
    if (u->nrows == 0) {
        return ns_missing(cx, levels, n, err);
    }
    old = cat_json_parse(cx->a, db_val(u, 0, 0));
    out->updated = fl_arena_own_json(cx->a, json_array());
    out->removed = fl_arena_own_json(cx->a, json_array());
    out->missing = fl_arena_own_json(cx->a, json_array());
    changes(old, updates, removals, out);
    return true;
}

/*
 * One page of the direct children of `parent` (the top level when nparent
 * is 0), in name order.  page_size 0 means everything.  Errors: 404 when the
 * parent or catalog is missing, 400 for a token we did not issue.
 */
bool cat_ns_list(struct cat_ctx *cx, const char *catalog,
                 const char *const *parent, int nparent,
                 const char *page_token, int page_size,
                 struct cat_ns_page *out, struct fl_err *err)
{
    struct db_rows *r;
    struct db_rows *l;
    const char     *after = "";
    const char     *limit = NULL;
    const char     *scope;
    int             i;

    memset(out, 0, sizeof(*out));
    if (page_size > 0) {
        limit = cat_i64(cx->a, page_size + 1);
    }
    if (nparent > 0 && !cat_ns_check(parent, nparent, err)) {
        fl_err_clear(err);
        return ns_missing(cx, parent, nparent, err);
    }
    if (!resolve(cx, catalog, parent, nparent, &r, err)) {
        return false;
    }
    scope = fl_sprintf(cx->a, "ns:%s:%s", db_val(r, 0, 0),
                       nparent ? db_val(r, 0, 2) : "");
    if (page_token != NULL && page_token[0] != '\0' &&
        (after = cat_token_decode(cx, scope, page_token, err)) == NULL) {
        return false;
    }
    if (!db_exec(cx->conn, nparent ? &NS_LIST_CHILDREN : &NS_LIST_TOP,
                 (const char *const[]){db_val(r, 0, 0), after, limit,
                                       db_val(r, 0, 2)},
                 nparent ? 4 : 3, cx->a, &l, err)) {
        return false;
    }
    out->n = l->nrows;
    if (page_size > 0 && l->nrows > page_size) {
        out->n = page_size;
    }
    out->items = fl_alloc(cx->a, sizeof(*out->items) * (size_t)(out->n + 1));
    for (i = 0; i < out->n; i++) {
        out->items[i].levels = cat_pg_array_parse(cx->a, db_val(l, i, 0),
                                                  &out->items[i].nlevels);
    }
    if (out->n < l->nrows) {
        struct cat_ns *last = &out->items[out->n - 1];

        out->next_token = cat_token_encode(cx, scope,
                                           last->levels[last->nlevels - 1]);
    }
    return true;
}
