/*
 * cat_catalog.c
 *
 * Catalogs: the Polaris management objects that own a warehouse location
 * and a storage configuration.  Validation follows Polaris's CatalogEntity
 * (default-base-location required and inside allowedLocations, which
 * defaults to it; no location overlap between catalogs of a realm) and its
 * messages.  Updates are optimistic: the client's currentEntityVersion must
 * still be current, checked by the UPDATE itself.
 *
 * Not here: the grants Polaris creates with a catalog (access/), the HTTP
 * shapes beyond the Catalog object (server/).
 */
#include "catalog/catalog_int.h"

#include <stdlib.h>
#include <string.h>

#define CATALOG_COLS \
    "id, name, type, properties::text, storage_config::text, " \
    "entity_version, created_ms, updated_ms"

DB_STMT(CATALOG_INSERT,
    "INSERT INTO catalogs (realm, name, type, properties, storage_config,"
    " entity_version, created_ms, updated_ms)"
    " VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, 1, $6, $6)"
    " ON CONFLICT (realm, name) DO NOTHING RETURNING id");
DB_STMT(CATALOG_GET,
    "SELECT " CATALOG_COLS " FROM catalogs WHERE realm = $1 AND name = $2");
DB_STMT(CATALOG_LIST,
    "SELECT " CATALOG_COLS " FROM catalogs WHERE realm = $1 ORDER BY name");
DB_STMT(CATALOG_LOCK,
    "SELECT pg_advisory_xact_lock(hashtext('floe.catalogs'), hashtext($1))");
DB_STMT(CATALOG_OTHER_LOCATIONS,
    "SELECT storage_config->'allowedLocations' FROM catalogs"
    " WHERE realm = $1 AND name <> $2");
DB_STMT(CATALOG_UPDATE,
    "UPDATE catalogs SET properties = $3::jsonb, storage_config = $4::jsonb,"
    " entity_version = entity_version + 1, updated_ms = $5"
    " WHERE realm = $1 AND name = $2 AND entity_version = $6"
    " RETURNING " CATALOG_COLS);
DB_STMT(CATALOG_DELETE,
    "DELETE FROM catalogs WHERE realm = $1 AND name = $2");

/* Fields of S3 storage configuration: name and JSON type. */
static const struct {
    const char *name;
    char        type;   /* 's' string, 'b' boolean, 'a' array of strings */
} s3_fields[] = {
    {"roleArn", 's'}, {"externalId", 's'}, {"userArn", 's'},
    {"region", 's'}, {"endpoint", 's'}, {"stsEndpoint", 's'},
    {"endpointInternal", 's'}, {"stsUnavailable", 'b'},
    {"pathStyleAccess", 'b'}, {"kmsUnavailable", 'b'},
    {"currentKmsKey", 's'}, {"allowedKmsKeys", 'a'},
};

static bool scheme_ok(const char *type, const char *loc)
{
    if (strcmp(type, "FILE") == 0) {
        return strncmp(loc, "file:/", 6) == 0;
    }
    return strncmp(loc, "s3://", 5) == 0 || strncmp(loc, "s3a://", 6) == 0 ||
           strncmp(loc, "s3n://", 6) == 0;
}

static bool location_check(const char *type, const char *loc,
                           const char *what, struct fl_err *err)
{
    if (!cat_location_valid(loc)) {
        return FL_ERR(err, 400, "BadRequestException",
                      "%s must be a non-empty location of at most 2048 "
                      "bytes without control characters or \".\" and "
                      "\"..\" segments", what);
    }
    if (!scheme_ok(type, loc)) {
        return FL_ERR(err, 400, "BadRequestException",
                      "%s \"%s\" does not suit storage type %s (expected %s)",
                      what, loc, type,
                      strcmp(type, "FILE") == 0 ? "file://..." : "s3://...");
    }
    return true;
}

static bool s3_copy(json_t *in, json_t *out, struct fl_err *err)
{
    size_t i;

    for (i = 0; i < FL_ARRAY_LEN(s3_fields); i++) {
        json_t *v = json_object_get(in, s3_fields[i].name);
        bool    ok;

        if (v == NULL || json_is_null(v)) {
            continue;
        }
        ok = s3_fields[i].type == 's' ? json_is_string(v)
           : s3_fields[i].type == 'b' ? json_is_boolean(v)
           : json_is_array(v);
        if (ok && s3_fields[i].type == 'a') {
            size_t  k;
            json_t *x;

            json_array_foreach(v, k, x) {
                ok = ok && json_is_string(x);
            }
        }
        if (!ok) {
            return FL_ERR(err, 400, "BadRequestException",
                          "storageConfigInfo.%s has the wrong type",
                          s3_fields[i].name);
        }
        json_object_set(out, s3_fields[i].name, v);
    }
    return true;
}

static bool storage_type(struct cat_ctx *cx, json_t *in, const char **type,
                         struct fl_err *err)
{
    if (!json_is_object(in)) {
        return FL_ERR(err, 400, "BadRequestException",
                      "field \"storageConfigInfo\" must be an object");
    }
    if (!fl_json_str(in, "storageType", true, type, err)) {
        return false;
    }
    if (strcmp(*type, "S3") != 0 &&
        !(strcmp(*type, "FILE") == 0 && cx->settings->allow_file)) {
        return FL_ERR(err, 400, "BadRequestException",
                      "Unsupported storage type: %s", *type);
    }
    return true;
}

/*
 * Validate a client's storageConfigInfo against `base` (the catalog's
 * default-base-location) and build the stored form: known fields only,
 * allowedLocations defaulted to [base].  Returns a new reference.
 */
static json_t *storage_build(struct cat_ctx *cx, json_t *in, const char *base,
                             struct fl_err *err)
{
    const char *type;
    json_t     *locs;
    json_t     *out;
    json_t     *x;
    size_t      i;
    bool        inside = false;

    if (!storage_type(cx, in, &type, err) ||
        !fl_json_arr(in, "allowedLocations", false, &locs, err) ||
        !location_check(type, base, "default-base-location", err)) {
        return NULL;
    }
    if (locs != NULL && json_array_size(locs) > CAT_MAX_LOCATIONS) {
        FL_ERR(err, 400, "BadRequestException",
               "at most %d allowedLocations are accepted", CAT_MAX_LOCATIONS);
        return NULL;
    }
    out = json_pack("{ss}", "storageType", type);
    json_array_foreach(locs, i, x) {
        if (!json_is_string(x) ||
            !location_check(type, json_string_value(x), "allowedLocations",
                            err)) {
            FL_ERR(err, 400, "BadRequestException",
                   "allowedLocations must hold locations");
            json_decref(out);
            return NULL;
        }
        inside = inside || cat_location_within(base, json_string_value(x));
    }
    if (locs == NULL || json_array_size(locs) == 0) {
        json_object_set_new(out, "allowedLocations", json_pack("[s]", base));
    } else if (!inside) {
        FL_ERR(err, 400, "BadRequestException",
               "default-base-location '%s' is not within any of the allowed "
               "locations", base);
        json_decref(out);
        return NULL;
    } else {
        json_object_set(out, "allowedLocations", locs);
    }
    x = json_object_get(in, "storageName");
    if (json_is_string(x)) {
        json_object_set(out, "storageName", x);
    }
    if (strcmp(type, "S3") == 0 && !s3_copy(in, out, err)) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static bool name_check(const char *name, struct fl_err *err)
{
    const char *p = name;

    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
        p++;
    }
    if (strcasecmp(p, "system") == 0) {
        return FL_ERR(err, 400, "BadRequestException",
                      "Invalid value: catalog name \"%s\" is reserved", name);
    }
    return cat_name_check("catalog", name, err);
}

/*
 * Decode a Catalog object (Polaris management spec) into *out, validating
 * it as createCatalog does.  Memory and JSON in *out belong to cx->a.
 * Errors: 400 BadRequestException / IllegalArgumentException.
 */
bool cat_catalog_from_json(struct cat_ctx *cx, json_t *v,
                           struct cat_catalog *out, struct fl_err *err)
{
    json_t     *props;
    json_t     *storage;
    const char *base;
    const char *dflt = cx->settings->default_base_location;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(v)) {
        return FL_ERR(err, 400, "BadRequestException",
                      "field \"catalog\" must be an object");
    }
    if (!fl_json_str(v, "type", true, &out->type, err) ||
        !fl_json_str(v, "name", true, &out->name, err) ||
        !fl_json_obj(v, "properties", true, &props, err) ||
        !fl_json_obj(v, "storageConfigInfo", true, &storage, err) ||
        !name_check(out->name, err) || !cat_props_check(props, err)) {
        return false;
    }
    if (strcmp(out->type, "INTERNAL") != 0 &&
        strcmp(out->type, "EXTERNAL") != 0) {
        return FL_ERR(err, 400, "BadRequestException",
                      "field \"type\" must be INTERNAL or EXTERNAL");
    }
    if (json_object_get(v, "connectionConfigInfo") != NULL &&
        !json_is_null(json_object_get(v, "connectionConfigInfo"))) {
        return FL_ERR(err, 400, "BadRequestException",
                      "catalog federation (connectionConfigInfo) is not "
                      "supported");
    }
    props = fl_arena_own_json(cx->a, json_deep_copy(props));
    base = json_string_value(json_object_get(props, "default-base-location"));
    if ((base == NULL || base[0] == '\0') && dflt != NULL && dflt[0] != '\0') {
        base = fl_sprintf(cx->a, "%s/%s", dflt, out->name);
        json_object_set_new(props, "default-base-location",
                            json_string(base));
    }
    if (base == NULL || base[0] == '\0') {
        return FL_ERR(err, 400, "BadRequestException",
                      "Must specify default base location");
    }
    out->properties = props;
    out->storage = fl_arena_own_json(cx->a, storage_build(cx, storage, base,
                                                          err));
    return out->storage != NULL;
}

/* The Catalog object as Polaris renders it.  Returns a new reference. */
json_t *cat_catalog_to_json(const struct cat_catalog *c)
{
    return json_pack("{ss ss sO sI sI si sO}",
                     "type", c->type,
                     "name", c->name,
                     "properties", c->properties,
                     "createTimestamp", (json_int_t)c->created_ms,
                     "lastUpdateTimestamp", (json_int_t)c->updated_ms,
                     "entityVersion", c->version,
                     "storageConfigInfo", c->storage);
}

static void from_row(struct cat_ctx *cx, const struct db_rows *r, int i,
                     struct cat_catalog *c)
{
    memset(c, 0, sizeof(*c));
    c->id = strtoll(db_val(r, i, 0), NULL, 10);
    c->name = db_val(r, i, 1);
    c->type = db_val(r, i, 2);
    c->properties = cat_json_parse(cx->a, db_val(r, i, 3));
    c->storage = cat_json_parse(cx->a, db_val(r, i, 4));
    c->version = (int)strtol(db_val(r, i, 5), NULL, 10);
    c->created_ms = strtoll(db_val(r, i, 6), NULL, 10);
    c->updated_ms = strtoll(db_val(r, i, 7), NULL, 10);
}

/*
 * Fail with 400 when any allowed location of `storage` overlaps one of
 * another catalog in the realm.  Runs inside the caller's transaction,
 * which holds the realm's catalog lock.
 */
static bool overlap_check(struct cat_ctx *cx, const char *name,
                          json_t *storage, struct fl_err *err)
{
    struct db_rows *r;
    json_t         *mine = json_object_get(storage, "allowedLocations");
    int             i;

    if (!db_exec(cx->conn, &CATALOG_OTHER_LOCATIONS,
                 DB_ARGS(cx->realm, name), cx->a, &r, err)) {
        return false;
    }
    for (i = 0; i < r->nrows; i++) {
        json_t *theirs = cat_json_parse(cx->a, db_val(r, i, 0));
        size_t  j;
        size_t  k;
        json_t *x;
        json_t *y;

        json_array_foreach(mine, j, x) {
            json_array_foreach(theirs, k, y) {
                const char *p = json_string_value(x);
                const char *q = json_string_value(y);

                if (p != NULL && q != NULL && (cat_location_within(p, q) ||
                                               cat_location_within(q, p))) {
                    return FL_ERR(err, 400, "ValidationException",
                                  "Cannot create Catalog %s. One or more of "
                                  "its locations overlaps with an existing "
                                  "catalog", name);
                }
            }
        }
    }
    return true;
}

/*
 * Store a new catalog decoded by cat_catalog_from_json.  Fills in id,
 * version and timestamps.  Errors: 409 AlreadyExistsException, 400 when its
 * locations overlap another catalog's, 5xx from db/.
 */
bool cat_catalog_create(struct cat_ctx *cx, struct cat_catalog *c,
                        struct fl_err *err)
{
    struct db_rows *r;
    int64_t         now = fl_now_ms();
    const char     *ms = cat_i64(cx->a, now);

    if (cat_conn(cx, err) == NULL || !db_begin(cx->conn, err)) {
        return false;
    }
    if (!db_exec(cx->conn, &CATALOG_LOCK, DB_ARGS(cx->realm), cx->a, NULL,
                 err) ||
        !overlap_check(cx, c->name, c->storage, err) ||
        !db_exec(cx->conn, &CATALOG_INSERT,
                 DB_ARGS(cx->realm, c->name, c->type,
                         cat_json_text(cx->a, c->properties),
                         cat_json_text(cx->a, c->storage), ms),
                 cx->a, &r, err)) {
        db_rollback(cx->conn);
        return false;
    }
    if (r->nrows == 0) {
        db_rollback(cx->conn);
        return FL_ERR(err, 409, "AlreadyExistsException",
                      "Cannot create Catalog %s. Catalog already exists or "
                      "resolution failed", c->name);
    }
    if (!db_commit(cx->conn, err)) {
        return false;
    }
    c->id = strtoll(db_val(r, 0, 0), NULL, 10);
    c->version = 1;
    c->created_ms = now;
    c->updated_ms = now;
    return true;
}

static bool not_found(const char *name, struct fl_err *err)
{
    return FL_ERR(err, 404, "NotFoundException",
                  "Catalog does not exist: %s", name);
}

/* Load catalog `name` of the realm.  Errors: 404 NotFoundException. */
bool cat_catalog_get(struct cat_ctx *cx, const char *name,
                     struct cat_catalog *out, struct fl_err *err)
{
    struct db_rows *r;

    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, &CATALOG_GET, DB_ARGS(cx->realm, name), cx->a, &r,
                 err)) {
        return false;
    }
    if (r->nrows == 0) {
        return not_found(name, err);
    }
    from_row(cx, r, 0, out);
    return true;
}

/* Every catalog of the realm, by name, into an arena array. */
bool cat_catalog_list(struct cat_ctx *cx, struct cat_catalog **out, int *n,
                      struct fl_err *err)
{
    struct db_rows *r;
    int             i;

    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, &CATALOG_LIST, DB_ARGS(cx->realm), cx->a, &r,
                 err)) {
        return false;
    }
    *out = fl_alloc(cx->a, sizeof(**out) * (size_t)(r->nrows + 1));
    for (i = 0; i < r->nrows; i++) {
        from_row(cx, r, i, &(*out)[i]);
    }
    *n = r->nrows;
    return true;
}

/*
 * Build the stored state an update asks for, from the current state `cur`:
 * properties are replaced (keeping default-base-location when the new map
 * lacks it), the storage type may not change.
 */
static bool update_apply(struct cat_ctx *cx, const struct cat_catalog *cur,
                         const struct cat_catalog_update *u, json_t **props,
                         json_t **storage, struct fl_err *err)
{
    const char *base;
    const char *type;
    const char *old = json_string_value(json_object_get(cur->storage,
                                                        "storageType"));

    *props = cur->properties;
    if (u->properties != NULL) {
        if (!cat_props_check(u->properties, err)) {
            return false;
        }
        *props = fl_arena_own_json(cx->a, json_deep_copy(u->properties));
        base = json_string_value(json_object_get(*props,
                                                 "default-base-location"));
        if (base == NULL || base[0] == '\0') {
            json_object_set(*props, "default-base-location",
                            json_object_get(cur->properties,
                                            "default-base-location"));
        }
    }
    base = json_string_value(json_object_get(*props, "default-base-location"));
    if (u->storage == NULL) {
        *storage = fl_arena_own_json(cx->a, storage_build(cx, cur->storage,
                                                          base, err));
        return *storage != NULL;
    }
    if (!storage_type(cx, u->storage, &type, err)) {
        return false;
    }
    if (old != NULL && strcmp(type, old) != 0) {
        return FL_ERR(err, 400, "BadRequestException",
                      "Cannot modify storage type of storage config from %s "
                      "to %s", old, type);
    }
    *storage = fl_arena_own_json(cx->a, storage_build(cx, u->storage, base,
                                                      err));
    return *storage != NULL;
}

/*
 * Apply an updateCatalog request if u->version is still the catalog's
 * entityVersion.  Errors: 404 NotFoundException, 409 CommitConflictException
 * when the version is stale, 400 for invalid changes.
 */
bool cat_catalog_update(struct cat_ctx *cx, const char *name,
                        const struct cat_catalog_update *u,
                        struct cat_catalog *out, struct fl_err *err)
{
    struct cat_catalog cur;
    struct db_rows    *r;
    json_t            *props = NULL;
    json_t            *storage = NULL;

    if (cat_conn(cx, err) == NULL || !db_begin(cx->conn, err)) {
        return false;
    }
    if (!db_exec(cx->conn, &CATALOG_LOCK, DB_ARGS(cx->realm), cx->a, NULL,
                 err) ||
        !cat_catalog_get(cx, name, &cur, err) ||
        !update_apply(cx, &cur, u, &props, &storage, err) ||
        !overlap_check(cx, name, storage, err) ||
        !db_exec(cx->conn, &CATALOG_UPDATE,
                 DB_ARGS(cx->realm, name, cat_json_text(cx->a, props),
                         cat_json_text(cx->a, storage),
                         cat_i64(cx->a, fl_now_ms()),
                         cat_i64(cx->a, u->version)),
                 cx->a, &r, err)) {
        db_rollback(cx->conn);
        return false;
    }
    if (r->nrows == 0) {
        db_rollback(cx->conn);
        return FL_ERR(err, 409, "CommitConflictException",
                      "Failed to update Catalog; currentEntityVersion '%d', "
                      "expected '%lld'", cur.version, (long long)u->version);
    }
    if (!db_commit(cx->conn, err)) {
        return false;
    }
    from_row(cx, r, 0, out);
    return true;
}

/*
 * Delete catalog `name`, which must hold no namespaces (the foreign key
 * decides, so a namespace created concurrently cannot be orphaned).
 * Errors: 404 NotFoundException, 400 BadRequestException when not empty.
 */
bool cat_catalog_delete(struct cat_ctx *cx, const char *name,
                        struct fl_err *err)
{
    struct db_rows *r;

    if (cat_conn(cx, err) == NULL) {
        return false;
    }
    if (!db_exec(cx->conn, &CATALOG_DELETE, DB_ARGS(cx->realm, name), cx->a,
                 &r, err)) {
        if (err->status == 409) {
            return fl_err_retype(err, 400, "BadRequestException",
                                 "Catalog '%s' cannot be dropped, it is not "
                                 "empty", name);
        }
        return false;
    }
    if (r->affected == 0) {
        return not_found(name, err);
    }
    return true;
}

/*
 * Resolve the catalog named by a client's `warehouse` (getConfig).
 * Errors: 404 NoSuchWarehouseException.
 */
bool cat_warehouse_get(struct cat_ctx *cx, const char *warehouse,
                       struct cat_catalog *out, struct fl_err *err)
{
    if (!cat_catalog_get(cx, warehouse, out, err)) {
        if (err->status == 404) {
            fl_err_retype(err, 404, "NoSuchWarehouseException",
                          "Unable to find warehouse %s", warehouse);
        }
        return false;
    }
    return true;
}

/* True when `loc` lies within one of the storage's allowedLocations. */
bool cat_storage_allows(json_t *storage, const char *loc)
{
    json_t *x;
    size_t  i;

    json_array_foreach(json_object_get(storage, "allowedLocations"), i, x) {
        if (json_is_string(x) &&
            cat_location_within(loc, json_string_value(x))) {
            return true;
        }
    }
    return false;
}
