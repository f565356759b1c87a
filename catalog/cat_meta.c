/*
 * cat_meta.c
 *
 * Table metadata documents as pure JSON functions: building the metadata of
 * a new table (TableMetadata.newTableMetadata), checking commit
 * requirements (UpdateRequirement), checking a document read from a file
 * (TableMetadataParser's rules), the reader's defaults for old documents,
 * the canonical key order of TableMetadataParser.toJson, the metadata-log,
 * the snapshots=refs view and metadata file names.
 *
 * Applying updates is cat_meta_update.c; schemas, specs and sort orders are
 * cat_schema.c.  Nothing here touches the database or object storage, and
 * inputs are never modified: every json_t * returned is a new reference.
 */
#include "catalog/catalog_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define BAD(e, ...) FL_ERR((e), 400, "BadRequestException", __VA_ARGS__)
#define ARG(e, ...) FL_ERR((e), 400, "IllegalArgumentException", __VA_ARGS__)
#define VAL(e, ...) FL_ERR((e), 400, "ValidationException", __VA_ARGS__)
#define FAILED(e, ...) FL_ERR((e), 409, "CommitFailedException", __VA_ARGS__)

#define PREVIOUS_VERSIONS_MAX 100   /* write.metadata.previous-versions-max */

static bool absent(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    return v == NULL || json_is_null(v);
}

static json_int_t iget(json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

static void set_default(json_t *m, const char *key, json_t *v)
{
    if (absent(m, key)) {
        json_object_set_new(m, key, v);
    } else {
        json_decref(v);
    }
}

/* ------------------------------------------------------------ normalize */

/* v1: "schema" stands for "schemas" + "current-schema-id". */
static void norm_schemas(json_t *m)
{
    json_t *s = json_object_get(m, "schema");
    json_t *c;

    if (!absent(m, "schemas") || !json_is_object(s)) {
        return;
    }
    c = json_deep_copy(s);
    set_default(c, "schema-id", json_integer(0));
    set_default(m, "current-schema-id",
                json_integer(iget(c, "schema-id")));
    json_object_set_new(m, "schemas", json_pack("[o]", c));
}

/* Old specs without field ids get 1000, 1001, ... (PartitionSpecParser). */
static void norm_spec_ids(json_t *spec)
{
    json_t *fields = json_object_get(spec, "fields");
    json_t *f;
    size_t  i;

    json_array_foreach(fields, i, f) {
        if (json_object_get(f, "field-id") != NULL) {
            return;
        }
    }
    json_array_foreach(fields, i, f) {
        if (json_is_object(f)) {
            json_object_set_new(f, "field-id", json_integer(1000 + (int)i));
        }
    }
}

/* v1: "partition-spec" stands for "partition-specs" + "default-spec-id". */
static void norm_specs(json_t *m)
{
    json_t *legacy = json_object_get(m, "partition-spec");
    json_t *specs;
    json_t *s;
    json_t *f;
    size_t  i, j;
    int     last = 999;

    if (absent(m, "partition-specs") && json_is_array(legacy)) {
        json_object_set_new(m, "partition-specs",
                            json_pack("[{s:i, s:o}]", "spec-id", 0, "fields",
                                      json_deep_copy(legacy)));
        set_default(m, "default-spec-id", json_integer(0));
    }
    specs = json_object_get(m, "partition-specs");
    json_array_foreach(specs, i, s) {
        norm_spec_ids(s);
        json_array_foreach(json_object_get(s, "fields"), j, f) {
            if (iget(f, "field-id") > last && iget(f, "field-id") < INT32_MAX) {
                last = (int)iget(f, "field-id");
            }
        }
    }
    if (json_is_array(specs)) {
        set_default(m, "last-partition-id", json_integer(last));
    }
}

static void norm_refs(json_t *m)
{
    json_int_t cur = iget(m, "current-snapshot-id");

    if (!absent(m, "refs")) {
        return;
    }
    if (cur == -1) {
        json_object_set_new(m, "refs", json_object());
        return;
    }
    json_object_set_new(m, "refs",
                        json_pack("{s:{s:I, s:s}}", "main", "snapshot-id",
                                  cur, "type", "branch"));
}

static void norm_location(json_t *m)
{
    const char *loc = json_string_value(json_object_get(m, "location"));
    size_t      n = loc ? strlen(loc) : 0;

    while (n > 1 && loc[n - 1] == '/') {
        n--;
    }
    if (loc != NULL && n != strlen(loc)) {
        json_object_set_new(m, "location", json_stringn(loc, n));
    }
}

/*
 * The document as TableMetadataParser reads it: v1 "schema" and
 * "partition-spec" turned into their lists, missing field ids, sort orders,
 * last-partition-id, properties, lists and logs filled in, the sequence
 * number and next-row-id 0 when absent, current-snapshot-id -1 for none and
 * a "main" ref synthesized from it when there are no refs.  Never fails:
 * what cannot be filled is left alone for cat_meta_validate to reject.
 * Returns a new reference (a deep copy; `meta` is not modified).
 */
json_t *cat_meta_normalize(json_t *meta)
{
    static const char *const lists[] = {
        "snapshots", "statistics", "partition-statistics", "snapshot-log",
        "metadata-log",
    };
    json_t *m = json_deep_copy(meta);
    size_t  i;

    if (!json_is_object(m)) {
        return m;
    }
    norm_location(m);
    norm_schemas(m);
    norm_specs(m);
    if (absent(m, "sort-orders")) {
        json_object_set_new(m, "sort-orders",
                            json_pack("[{s:i, s:[]}]", "order-id", 0,
                                      "fields"));
        set_default(m, "default-sort-order-id", json_integer(0));
    }
    set_default(m, "properties", json_object());
    set_default(m, "last-sequence-number", json_integer(0));
    set_default(m, "next-row-id", json_integer(0));
    set_default(m, "current-snapshot-id", json_integer(-1));
    for (i = 0; i < FL_ARRAY_LEN(lists); i++) {
        set_default(m, lists[i], json_array());
    }
    norm_refs(m);
    return m;
}

/* ------------------------------------------------------------ canonical */

enum when { ALWAYS, V1_ONLY, V2_UP, V3_UP, NON_EMPTY, SNAP_ID };

static const struct meta_key {
    const char *key;
    int         when;
} meta_keys[] = {
    {"format-version", ALWAYS},         {"table-uuid", ALWAYS},
    {"location", ALWAYS},               {"last-sequence-number", V2_UP},
    {"last-updated-ms", ALWAYS},        {"last-column-id", ALWAYS},
    {"schema", V1_ONLY},                {"current-schema-id", ALWAYS},
    {"schemas", ALWAYS},                {"partition-spec", V1_ONLY},
    {"default-spec-id", ALWAYS},        {"partition-specs", ALWAYS},
    {"last-partition-id", ALWAYS},      {"default-sort-order-id", ALWAYS},
    {"sort-orders", ALWAYS},            {"properties", ALWAYS},
    {"current-snapshot-id", SNAP_ID},   {"next-row-id", V3_UP},
    {"encryption-keys", NON_EMPTY},     {"refs", ALWAYS},
    {"snapshots", ALWAYS},              {"statistics", ALWAYS},
    {"partition-statistics", ALWAYS},   {"snapshot-log", ALWAYS},
    {"metadata-log", ALWAYS},
};

/* The element of array `arr` whose integer `key` is `id` (borrowed). */
static json_t *find_id(json_t *arr, const char *key, json_int_t id)
{
    json_t *v;
    size_t  i;

    json_array_foreach(arr, i, v) {
        json_t *x = json_object_get(v, key);

        if (json_is_integer(x) && json_integer_value(x) == id) {
            return v;
        }
    }
    return NULL;
}

/* The value written for `k` in format version `fv` (borrowed or new). */
static json_t *canon_value(json_t *m, const struct meta_key *k, int fv,
                           bool *is_new)
{
    json_t *v = json_object_get(m, k->key);
    json_t *x;

    *is_new = false;
    switch (k->when) {
    case V1_ONLY:
        x = strcmp(k->key, "schema") == 0
            ? find_id(json_object_get(m, "schemas"), "schema-id",
                      iget(m, "current-schema-id"))
            : json_object_get(find_id(json_object_get(m, "partition-specs"),
                                      "spec-id", iget(m, "default-spec-id")),
                              "fields");
        return fv == 1 ? (x ? x : v) : NULL;
    case V2_UP:
        return fv >= 2 ? v : NULL;
    case V3_UP:
        return fv >= 3 ? v : NULL;
    case NON_EMPTY:
        return json_array_size(v) > 0 ? v : NULL;
    case SNAP_ID:
        if (json_is_integer(v) && json_integer_value(v) != -1) {
            return v;
        }
        if (fv >= 3) {
            /* NB: Java writes null here, but the REST spec's TableMetadata
             * types current-snapshot-id as an integer; absence means no
             * current snapshot to every reader */
            return NULL;
        }
        *is_new = true;
        return json_integer(-1);
    default:
        return v;
    }
}

/*
 * `meta` with its keys in Java's write order (TableMetadataParser.toJson)
 * after the reader's defaults (cat_meta_normalize): v1 also carries
 * "schema" (the current schema) and "partition-spec" (the default spec's
 * fields); v1 has no last-sequence-number; next-row-id only from v3;
 * "encryption-keys" only when non-empty; no current snapshot is -1 before
 * v3 and null from v3.  Keys Floe does not know keep their order at the
 * end.  Returns a new reference.
 */
json_t *cat_meta_canonical(json_t *meta)
{
    json_t     *m = cat_meta_normalize(meta);
    json_t     *out;
    json_t     *v;
    const char *key;
    size_t      i;
    bool        is_new;
    int         fv;

    if (!json_is_object(m)) {
        return m;
    }
    fv = (int)iget(m, "format-version");
    out = json_object();
    for (i = 0; i < FL_ARRAY_LEN(meta_keys); i++) {
        v = canon_value(m, &meta_keys[i], fv, &is_new);
        if (v != NULL && is_new) {
            json_object_set_new(out, meta_keys[i].key, v);
        } else if (v != NULL) {
            json_object_set(out, meta_keys[i].key, v);
        }
    }
    json_object_foreach(m, key, v) {
        bool known = false;

        for (i = 0; i < FL_ARRAY_LEN(meta_keys) && !known; i++) {
            known = strcmp(key, meta_keys[i].key) == 0;
        }
        if (!known) {
            json_object_set(out, key, v);
        }
    }
    json_decref(m);
    return out;
}

/* --------------------------------------------------------------- create */

/*
 * The properties of a new table: the client's, minus the reserved ones,
 * over write.parquet.compression-codec=zstd.  *fv is the format-version
 * property (default 2).  Returns a new object or NULL with a 400.
 */
static json_t *create_props(json_t *req, int *fv, struct fl_err *err)
{
    static const char *const reserved[] = {
        "format-version", "uuid", "snapshot-count", "current-snapshot-id",
        "current-snapshot-summary", "current-snapshot-timestamp-ms",
        "current-schema", "default-partition-spec", "default-sort-order",
    };
    json_t     *p = json_object_get(req, "properties");
    json_t     *out;
    json_t     *v;
    const char *k;
    const char *s;
    int64_t     n;
    size_t      i;

    *fv = 2;
    if (p != NULL && !json_is_null(p) && !cat_props_check(p, err)) {
        return NULL;
    }
    s = json_string_value(json_object_get(p, "format-version"));
    if (s != NULL && !fl_parse_i64(s, INT32_MIN, INT32_MAX, &n)) {
        BAD(err, "property \"format-version\" must be an integer: %s", s);
        return NULL;
    }
    if (s != NULL && (n < 1 || n > CAT_FORMAT_MAX)) {
        ARG(err, "Unsupported format version: v%" PRId64 " (supported: v%d)",
            n, CAT_FORMAT_MAX);
        return NULL;
    }
    *fv = s != NULL ? (int)n : 2;
    out = json_pack("{s:s}", "write.parquet.compression-codec", "zstd");
    json_object_foreach(p, k, v) {
        bool skip = false;

        for (i = 0; i < FL_ARRAY_LEN(reserved); i++) {
            skip = skip || strcmp(k, reserved[i]) == 0;
        }
        if (!skip) {
            json_object_set(out, k, v);
        }
    }
    return out;
}

/*
 * The request's partition or sort fields with source ids moved to the
 * fresh schema's (new {"fields":[...]}); field ids are dropped.
 */
static json_t *remap_fields(json_t *fields, json_t *idmap, const char *what,
                            struct fl_err *err)
{
    json_t *out = json_array();
    json_t *f;
    json_t *c;
    json_t *to;
    size_t  i;
    char    key[24];

    json_array_foreach(fields, i, f) {
        c = json_is_object(f) ? json_copy(f) : json_incref(f);
        json_array_append_new(out, c);
        if (!json_is_object(c) || !json_is_integer(json_object_get(c,
                                                          "source-id"))) {
            continue;
        }
        snprintf(key, sizeof(key), "%" JSON_INTEGER_FORMAT,
                 iget(c, "source-id"));
        to = json_object_get(idmap, key);
        if (to == NULL) {
            json_decref(out);
            VAL(err, "Cannot find source column for %s field: %s", what, key);
            return NULL;
        }
        json_object_set(c, "source-id", to);
        json_object_del(c, "field-id");
    }
    return json_pack("{s:o}", "fields", out);
}

/* The new table's spec (id 0, field ids from 1000) or sort order, bound
 * to the fresh schema.  New reference or NULL. */
static json_t *create_bind(json_t *req, const char *key, json_t *schema,
                           json_t *idmap, int fv, struct fl_err *err)
{
    struct cat_bind b = {schema, 0, fv, CAT_PID_SEQ, NULL, 0};
    bool            spec = strcmp(key, "partition-spec") == 0;
    json_t         *x = json_object_get(req, key);
    json_t         *fields = NULL;
    json_t         *tmp;
    json_t         *out;

    if (x != NULL && !json_is_null(x) &&
        (!json_is_object(x) || !fl_json_arr(x, "fields", true, &fields, err))) {
        if (!json_is_object(x)) {
            BAD(err, "field \"%s\" must be an object", key);
        }
        return NULL;
    }
    b.id = spec || json_array_size(fields) == 0 ? 0 : 1;
    tmp = remap_fields(fields, idmap, spec ? "partition" : "sort", err);
    if (tmp == NULL) {
        return NULL;
    }
    out = spec ? cat_spec_bind(tmp, &b, err) : cat_order_bind(tmp, &b, err);
    json_decref(tmp);
    return out;
}

/* The new table's document (new reference; not yet canonical). */
static json_t *create_assemble(int fv, const char *loc, int64_t now_ms,
                               int last_col, json_t *schema, json_t *spec,
                               json_t *order, json_t *props)
{
    char uuid[37];

    fl_uuid_v4(uuid);
    return json_pack("{s:i, s:s, s:s, s:i, s:I, s:i, s:i, s:[O], s:i, s:[O],"
                     " s:i, s:I, s:[O], s:O, s:i, s:i, s:{}, s:[], s:[],"
                     " s:[], s:[], s:[]}",
                     "format-version", fv, "table-uuid", uuid,
                     "location", loc, "last-sequence-number", 0,
                     "last-updated-ms", (json_int_t)now_ms,
                     "last-column-id", last_col, "current-schema-id", 0,
                     "schemas", schema, "default-spec-id", 0,
                     "partition-specs", spec, "last-partition-id",
                     999 + (int)json_array_size(json_object_get(spec,
                                                                "fields")),
                     "default-sort-order-id", iget(order, "order-id"),
                     "sort-orders", order, "properties", props,
                     "current-snapshot-id", -1, "next-row-id", 0, "refs",
                     "snapshots", "statistics", "partition-statistics",
                     "snapshot-log", "metadata-log");
}

/*
 * The metadata of a new table from CreateTableRequest `req` (spec:
 * createTable; TableMetadata.newTableMetadata).  `location` is the table
 * location the caller chose (the request's "location" is not read here);
 * a trailing '/' is dropped.  The format version is the "format-version"
 * property (default 2); reserved properties are dropped and
 * write.parquet.compression-codec=zstd is added under the client's.
 * Column ids are reassigned from 1, the spec gets id 0 and field ids from
 * 1000, the sort order id 1 (0 when unsorted); last-updated-ms is `now_ms`.
 * Returns the canonical document (new reference), or NULL with a 400 in
 * `err` for a malformed request or a type the format version lacks.
 */
json_t *cat_meta_create(json_t *req, const char *location, int64_t now_ms,
                        struct fl_err *err)
{
    json_t *schema = NULL, *props = NULL, *idmap = NULL, *fresh = NULL;
    json_t *spec = NULL, *order = NULL, *m = NULL, *out = NULL;
    json_t *loc = NULL;
    size_t  n = location ? strlen(location) : 0;
    int     fv = 2, last_col = 0;

    while (n > 1 && location[n - 1] == '/') {
        n--;
    }
    if (!json_is_object(req)) {
        BAD(err, "the request body must be a JSON object");
        goto out;
    }
    loc = n ? json_stringn(location, n) : NULL;
    if (loc == NULL || !cat_location_valid(json_string_value(loc))) {
        BAD(err, "invalid table location \"%s\"", loc ? location : "");
        goto out;
    }
    if (!fl_json_obj(req, "schema", true, &schema, err) ||
        (props = create_props(req, &fv, err)) == NULL ||
        (fresh = cat_schema_fresh(schema, fv, &idmap, &last_col, err)) ==
            NULL ||
        (spec = create_bind(req, "partition-spec", fresh, idmap, fv, err)) ==
            NULL ||
        (order = create_bind(req, "write-order", fresh, idmap, fv, err)) ==
            NULL) {
        goto out;
    }
    m = create_assemble(fv, json_string_value(loc), now_ms, last_col, fresh,
                        spec, order, props);
    out = cat_meta_canonical(m);
out:
    json_decref(loc);
    json_decref(props);
    json_decref(idmap);
    json_decref(fresh);
    json_decref(spec);
    json_decref(order);
    json_decref(m);
    return out;
}

/* --------------------------------------------------------- requirements */

/* The snapshot id and type of ref `name` of normalized metadata `m`. */
static bool ref_get(json_t *m, const char *name, json_int_t *sid,
                    const char **type)
{
    json_t *r = json_object_get(json_object_get(m, "refs"), name);

    if (r == NULL) {
        return false;
    }
    *sid = iget(r, "snapshot-id");
    *type = json_string_value(json_object_get(r, "type"));
    *type = *type != NULL && strcasecmp(*type, "tag") == 0 ? "tag" : "branch";
    return true;
}

static bool req_uuid(json_t *m, json_t *r, bool eval, struct fl_err *err)
{
    const char *want;
    const char *have;

    if (!fl_json_str(r, "uuid", false, &want, err)) {
        return false;
    }
    if (want == NULL) {
        return ARG(err, "Invalid required UUID: null");
    }
    if (!eval) {
        return true;
    }
    have = json_string_value(json_object_get(m, "table-uuid"));
    if (have == NULL || strcasecmp(want, have) != 0) {
        return FAILED(err, "Requirement failed: UUID does not match: "
                      "expected %s != %s", have ? have : "null", want);
    }
    return true;
}

static bool req_ref(json_t *m, json_t *r, bool eval, struct fl_err *err)
{
    const char *name;
    const char *type;
    json_int_t  want = 0, have;
    bool        null_want;

    if (!fl_json_str(r, "ref", true, &name, err) ||
        !fl_json_int(r, "snapshot-id", false, &want, err)) {
        return false;
    }
    null_want = absent(r, "snapshot-id");
    if (!eval) {
        return true;
    }
    if (!ref_get(m, name, &have, &type)) {
        if (null_want) {
            return true;
        }
        return FAILED(err, "Requirement failed: branch or tag %s is missing, "
                      "expected %" JSON_INTEGER_FORMAT, name, want);
    }
    if (null_want) {
        return FAILED(err, "Requirement failed: %s %s was created "
                      "concurrently", type, name);
    }
    if (want != have) {
        return FAILED(err, "Requirement failed: %s %s has changed: expected "
                      "id %" JSON_INTEGER_FORMAT " != %" JSON_INTEGER_FORMAT,
                      type, name, want, have);
    }
    return true;
}

static const struct int_req {
    const char *type;           /* requirement type */
    const char *field;          /* its field */
    const char *meta;           /* the metadata field compared */
    const char *what;           /* the failure text */
} int_reqs[] = {
    {"assert-last-assigned-field-id", "last-assigned-field-id",
     "last-column-id", "last assigned field id changed"},
    {"assert-current-schema-id", "current-schema-id", "current-schema-id",
     "current schema changed"},
    {"assert-last-assigned-partition-id", "last-assigned-partition-id",
     "last-partition-id", "last assigned partition id changed"},
    {"assert-default-spec-id", "default-spec-id", "default-spec-id",
     "default partition spec changed"},
    {"assert-default-sort-order-id", "default-sort-order-id",
     "default-sort-order-id", "default sort order changed"},
};

static bool req_int(json_t *m, json_t *r, const struct int_req *q, bool eval,
                    struct fl_err *err)
{
    int want = 0;

    if (!cat_json_i32(r, q->field, true, &want, err)) {
        return false;
    }
    if (eval && want != iget(m, q->meta)) {
        return FAILED(err, "Requirement failed: %s: expected id %d != %"
                      JSON_INTEGER_FORMAT, q->what, want, iget(m, q->meta));
    }
    return true;
}

/*
 * Check (eval false) or evaluate requirement `r` against normalized
 * metadata `m` (NULL: the table does not exist).  *create is set for
 * assert-create.
 */
static bool req_one(json_t *m, json_t *r, bool eval, bool *create,
                    struct fl_err *err)
{
    const char *type;
    size_t      i;

    if (!json_is_object(r) || !fl_json_str(r, "type", true, &type, err)) {
        return json_is_object(r) ? false
                                 : BAD(err, "a requirement must be an object");
    }
    if (strcasecmp(type, "assert-create") == 0) {
        *create = true;
        return !eval || m == NULL ||
               FAILED(err, "Requirement failed: table already exists");
    }
    if (strcasecmp(type, "assert-view-uuid") == 0) {
        return VAL(err, "Cannot validate AssertViewUUID against a table");
    }
    for (i = 0; i < FL_ARRAY_LEN(int_reqs); i++) {
        if (strcasecmp(type, int_reqs[i].type) == 0) {
            break;
        }
    }
    if (i == FL_ARRAY_LEN(int_reqs) &&
        strcasecmp(type, "assert-table-uuid") != 0 &&
        strcasecmp(type, "assert-ref-snapshot-id") != 0) {
        return BAD(err, "unknown requirement type \"%s\"", type);
    }
    if (eval && m == NULL && i != 0 && i != 2) {
        return FAILED(err, "Requirement failed: table does not exist");
    }
    if (i < FL_ARRAY_LEN(int_reqs)) {
        return req_int(m, r, &int_reqs[i], eval && m != NULL, err);
    }
    if (strcasecmp(type, "assert-table-uuid") == 0) {
        return req_uuid(m, r, eval, err);
    }
    return req_ref(m, r, eval, err);
}

/*
 * Check commit requirements `requirements` (a TableRequirement array; NULL
 * is none) against `base` (NULL: the table does not exist) in request order
 * (spec: updateTable, TableRequirement).  Every requirement is parsed
 * before any is evaluated, so a malformed one is a 400 BadRequestException
 * even after one that would fail; so is an unknown type, and mixing
 * assert-create with any other type ("Invalid create requirements").  The
 * first failing requirement is a 409 CommitFailedException whose message
 * starts "Requirement failed: ", exactly the reference texts.
 * assert-last-assigned-field-id and -partition-id pass when base is NULL.
 */
bool cat_meta_check(json_t *base, json_t *requirements, struct fl_err *err)
{
    json_t *m = NULL;
    json_t *r;
    size_t  i;
    bool    create = false;
    bool    other = false;
    bool    ok = true;

    if (requirements == NULL || json_is_null(requirements)) {
        return true;
    }
    if (!json_is_array(requirements)) {
        return BAD(err, "field \"requirements\" must be an array");
    }
    json_array_foreach(requirements, i, r) {
        bool c = false;

        if (!req_one(NULL, r, false, &c, err)) {
            return false;
        }
        create = create || c;
        other = other || !c;
    }
    if (create && other) {
        return ARG(err, "Invalid create requirements: only assert-create "
                   "may be combined with assert-create");
    }
    m = base ? cat_meta_normalize(base) : NULL;
    json_array_foreach(requirements, i, r) {
        if (ok && !req_one(m, r, true, &create, err)) {
            ok = false;
        }
    }
    json_decref(m);
    return ok;
}

/* ------------------------------------------------------------- validate */

enum kind { K_INT, K_I32, K_NAT, K_STR, K_OBJ, K_ARR };

/*
 * Member `key` of `obj` has kind `kind`: K_I32 is an integer that fits a
 * Java int (ids), K_NAT a non-negative one (counters).
 */
static bool need(json_t *obj, const char *what, const char *key, int kind,
                 bool required, struct fl_err *err)
{
    static const char *const names[] = {
        "an integer", "a 32-bit integer", "a non-negative integer",
        "a string", "an object", "an array",
    };
    json_t    *v = json_object_get(obj, key);
    json_int_t n = json_integer_value(v);
    bool       ok;

    if (v == NULL || json_is_null(v)) {
        return !required || VAL(err, "Invalid %s: missing required field "
                                "\"%s\"", what, key);
    }
    switch (kind) {
    case K_INT:
        ok = json_is_integer(v);
        break;
    case K_I32:
        ok = json_is_integer(v) && n >= INT32_MIN && n <= INT32_MAX;
        break;
    case K_NAT:
        ok = json_is_integer(v) && n >= 0;
        break;
    case K_STR:
        ok = json_is_string(v);
        break;
    case K_OBJ:
        ok = json_is_object(v);
        break;
    default:
        ok = json_is_array(v);
        break;
    }
    return ok || VAL(err, "Invalid %s: field \"%s\" must be %s", what, key,
                     names[kind]);
}

/* Top-level fields present with the right types for format version fv. */
static bool validate_top(json_t *m, int fv, struct fl_err *err)
{
    static const struct {
        const char *key;
        int         kind;
        int         since;      /* required from this version; 0 never */
    } top[] = {
        {"table-uuid", K_STR, 2},           {"location", K_STR, 1},
        {"last-sequence-number", K_NAT, 2}, {"last-updated-ms", K_INT, 1},
        {"last-column-id", K_I32, 1},       {"schemas", K_ARR, 2},
        {"current-schema-id", K_I32, 2},    {"partition-specs", K_ARR, 2},
        {"default-spec-id", K_I32, 2},      {"last-partition-id", K_I32, 2},
        {"sort-orders", K_ARR, 2},          {"default-sort-order-id", K_I32, 2},
        {"properties", K_OBJ, 0},           {"snapshots", K_ARR, 0},
        {"refs", K_OBJ, 0},                 {"snapshot-log", K_ARR, 0},
        {"metadata-log", K_ARR, 0},         {"statistics", K_ARR, 0},
        {"partition-statistics", K_ARR, 0}, {"next-row-id", K_NAT, 3},
        {"encryption-keys", K_ARR, 0},      {"current-snapshot-id", K_INT, 0},
    };
    static const char *const lists[][2] = {   /* a list needs its id */
        {"schemas", "current-schema-id"},
        {"partition-specs", "default-spec-id"},
        {"sort-orders", "default-sort-order-id"},
    };
    size_t i;

    for (i = 0; i < FL_ARRAY_LEN(top); i++) {
        if (!need(m, "table metadata", top[i].key, top[i].kind,
                  top[i].since > 0 && fv >= top[i].since, err)) {
            return false;
        }
    }
    for (i = 0; i < FL_ARRAY_LEN(lists); i++) {
        if (!absent(m, lists[i][0]) &&
            !need(m, "table metadata", lists[i][1], K_I32, true, err)) {
            return false;
        }
    }
    if (fv == 1 && absent(m, "schemas") &&
        !need(m, "table metadata", "schema", K_OBJ, true, err)) {
        return false;
    }
    if (fv == 1 && absent(m, "partition-specs") &&
        !need(m, "table metadata", "partition-spec", K_ARR, true, err)) {
        return false;
    }
    if (!absent(m, "properties") &&
        !fl_json_string_map(json_object_get(m, "properties"), "properties",
                            err)) {
        return false;
    }
    return true;
}

/* Every schema parses; ids are unique; the current one exists. */
static bool validate_schemas(json_t *m, struct fl_err *err)
{
    json_t *s;
    json_t *c;
    size_t  i;

    json_array_foreach(json_object_get(m, "schemas"), i, s) {
        c = cat_schema_canon(s, -1, 0, NULL, err);
        if (c == NULL) {
            return false;
        }
        json_decref(c);
        if (find_id(json_object_get(m, "schemas"), "schema-id",
                    iget(s, "schema-id")) != s) {
            return VAL(err, "Invalid table metadata: duplicate schema id %"
                       JSON_INTEGER_FORMAT, iget(s, "schema-id"));
        }
    }
    if (find_id(json_object_get(m, "schemas"), "schema-id",
                iget(m, "current-schema-id")) == NULL) {
        return VAL(err, "Cannot find schema with current-schema-id=%"
                   JSON_INTEGER_FORMAT " from schemas",
                   iget(m, "current-schema-id"));
    }
    return true;
}

/*
 * Specs (`list` "partition-specs", id "spec-id") or sort orders: each is
 * an object with an id and a fields array, ids are unique, the default
 * exists and binds to the current schema.
 */
static bool validate_bound(json_t *m, const char *list, const char *idkey,
                           const char *defkey, struct fl_err *err)
{
    struct cat_bind b = {NULL, 0, 0, CAT_PID_KEEP, NULL, 0};
    json_t         *x;
    json_t         *d;
    size_t          i;

    json_array_foreach(json_object_get(m, list), i, x) {
        if (!json_is_object(x) || !need(x, list, idkey, K_I32, true, err) ||
            !need(x, list, "fields", K_ARR, true, err)) {
            return json_is_object(x) ? false
                   : VAL(err, "Invalid %s: entries must be objects", list);
        }
        if (find_id(json_object_get(m, list), idkey, iget(x, idkey)) != x) {
            return VAL(err, "Invalid %s: duplicate %s %" JSON_INTEGER_FORMAT,
                       list, idkey, iget(x, idkey));
        }
    }
    d = find_id(json_object_get(m, list), idkey, iget(m, defkey));
    if (d == NULL) {
        return VAL(err, "Invalid table metadata: %s %" JSON_INTEGER_FORMAT
                   " is not in %s", defkey, iget(m, defkey), list);
    }
    b.schema = find_id(json_object_get(m, "schemas"), "schema-id",
                       iget(m, "current-schema-id"));
    b.id = (int)iget(d, idkey);
    b.fv = (int)iget(m, "format-version");
    x = strcmp(idkey, "spec-id") == 0 ? cat_spec_bind(d, &b, err)
                                      : cat_order_bind(d, &b, err);
    json_decref(x);
    return x != NULL;
}

/* Snapshots have ids and times, unique ids, sequence numbers in range. */
static bool validate_snapshots(json_t *m, struct fl_err *err)
{
    json_t    *snaps = json_object_get(m, "snapshots");
    json_t    *s;
    size_t     i;
    json_int_t cur = iget(m, "current-snapshot-id");

    json_array_foreach(snaps, i, s) {
        if (!json_is_object(s) ||
            !need(s, "snapshot", "snapshot-id", K_INT, true, err) ||
            !need(s, "snapshot", "timestamp-ms", K_INT, true, err) ||
            !need(s, "snapshot", "sequence-number", K_NAT, false, err) ||
            !need(s, "snapshot", "summary", K_OBJ, false, err)) {
            return json_is_object(s) ? false
                   : VAL(err, "Invalid snapshot: not an object");
        }
        if (find_id(snaps, "snapshot-id", iget(s, "snapshot-id")) != s) {
            return VAL(err, "Invalid table metadata: duplicate snapshot id %"
                       JSON_INTEGER_FORMAT, iget(s, "snapshot-id"));
        }
        if (iget(s, "sequence-number") > iget(m, "last-sequence-number") &&
            iget(m, "format-version") > 1) {
            return VAL(err, "Invalid snapshot with sequence number %"
                       JSON_INTEGER_FORMAT " greater than last sequence "
                       "number %" JSON_INTEGER_FORMAT,
                       iget(s, "sequence-number"),
                       iget(m, "last-sequence-number"));
        }
    }
    if (cur >= 0 && find_id(snaps, "snapshot-id", cur) == NULL) {
        return VAL(err, "Invalid table metadata: Cannot find current "
                   "version");
    }
    return true;
}

/* Refs point to snapshots; main agrees with current-snapshot-id. */
static bool validate_refs(json_t *m, struct fl_err *err)
{
    json_t     *r;
    json_t     *main_ref = NULL;
    const char *name;
    const char *type;
    json_int_t  cur = iget(m, "current-snapshot-id");

    json_object_foreach(json_object_get(m, "refs"), name, r) {
        if (!json_is_object(r) ||
            !need(r, "snapshot ref", "snapshot-id", K_INT, true, err) ||
            !need(r, "snapshot ref", "type", K_STR, true, err)) {
            return json_is_object(r) ? false
                   : VAL(err, "Invalid snapshot ref: not an object");
        }
        type = json_string_value(json_object_get(r, "type"));
        if (strcasecmp(type, "branch") != 0 && strcasecmp(type, "tag") != 0) {
            return VAL(err, "Invalid snapshot ref type: %s", type);
        }
        if (find_id(json_object_get(m, "snapshots"), "snapshot-id",
                    iget(r, "snapshot-id")) == NULL) {
            return ARG(err, "Snapshot for reference %s does not exist in the "
                       "existing snapshots list", name);
        }
        main_ref = strcmp(name, "main") == 0 ? r : main_ref;
    }
    if (cur != -1 && main_ref != NULL && iget(main_ref, "snapshot-id") != cur) {
        return ARG(err, "Current snapshot ID does not match main branch (%"
                   JSON_INTEGER_FORMAT " != %" JSON_INTEGER_FORMAT ")", cur,
                   iget(main_ref, "snapshot-id"));
    }
    if (cur == -1 && main_ref != NULL) {
        return ARG(err, "Current snapshot is not set, but main branch "
                   "exists");
    }
    return true;
}

/* Each entry of array `list` is an object with these typed fields. */
static bool validate_entries(json_t *m, const char *list, const char *k1,
                             int t1, const char *k2, int t2,
                             struct fl_err *err)
{
    json_t *e;
    size_t  i;

    json_array_foreach(json_object_get(m, list), i, e) {
        if (!json_is_object(e)) {
            return VAL(err, "Invalid %s: entries must be objects", list);
        }
        if (!need(e, list, k1, t1, true, err) ||
            !need(e, list, k2, t2, true, err)) {
            return false;
        }
    }
    return true;
}

/*
 * Check a metadata document read from a file (spec: registerTable) the way
 * TableMetadataParser would: an object, format-version 1..CAT_FORMAT_MAX,
 * required fields present with the right types for the version, schemas
 * that parse, current-schema-id, default-spec-id and default-sort-order-id
 * naming existing entries (the defaults bound to the current schema), unique
 * snapshot ids, refs pointing at snapshots, main agreeing with
 * current-snapshot-id, and well-formed logs, statistics and keys.  Errors:
 * 400 ValidationException (IllegalArgumentException for the reference's
 * precondition texts).
 */
bool cat_meta_validate(json_t *meta, struct fl_err *err)
{
    json_t *m = NULL;
    int     fv;
    bool    ok;

    if (!json_is_object(meta)) {
        return VAL(err, "Cannot parse metadata from a non-object");
    }
    if (!need(meta, "table metadata", "format-version", K_INT, true, err)) {
        return false;
    }
    fv = (int)iget(meta, "format-version");
    if (iget(meta, "format-version") < 1 || fv > CAT_FORMAT_MAX) {
        return VAL(err, "Cannot read unsupported version %" JSON_INTEGER_FORMAT,
                   iget(meta, "format-version"));
    }
    if (!validate_top(meta, fv, err)) {
        return false;
    }
    m = cat_meta_normalize(meta);
    ok = validate_schemas(m, err) &&
         validate_bound(m, "partition-specs", "spec-id", "default-spec-id",
                        err) &&
         validate_bound(m, "sort-orders", "order-id",
                        "default-sort-order-id", err) &&
         validate_snapshots(m, err) && validate_refs(m, err) &&
         validate_entries(m, "snapshot-log", "timestamp-ms", K_NAT,
                          "snapshot-id", K_INT, err) &&
         validate_entries(m, "metadata-log", "timestamp-ms", K_INT,
                          "metadata-file", K_STR, err) &&
         validate_entries(m, "statistics", "snapshot-id", K_INT,
                          "statistics-path", K_STR, err) &&
         validate_entries(m, "partition-statistics", "snapshot-id", K_INT,
                          "statistics-path", K_STR, err) &&
         validate_entries(m, "encryption-keys", "key-id", K_STR,
                          "encrypted-key-metadata", K_STR, err);
    json_decref(m);
    return ok;
}

/* ----------------------------------------------------------- the logs */

/*
 * A copy of `meta` with {timestamp-ms: prev_updated_ms, metadata-file:
 * prev_file} appended to its metadata-log, then the oldest entries dropped
 * so at most max(1, write.metadata.previous-versions-max of meta's own
 * properties; default 100) remain.  A NULL `prev_file` (a new table)
 * appends nothing.  *trimmed receives a new array of the metadata-file
 * strings that were dropped, oldest first.  Returns the canonical document
 * (new reference).
 */
json_t *cat_meta_log_append(json_t *meta, const char *prev_file,
                            int64_t prev_updated_ms, json_t **trimmed)
{
    json_t     *m = cat_meta_canonical(meta);
    json_t     *log = json_object_get(m, "metadata-log");
    const char *s;
    int64_t     max = PREVIOUS_VERSIONS_MAX;

    *trimmed = json_array();
    if (!json_is_array(log)) {
        return m;
    }
    s = json_string_value(json_object_get(json_object_get(m, "properties"),
                          "write.metadata.previous-versions-max"));
    if (s != NULL && !fl_parse_i64(s, INT32_MIN, INT32_MAX, &max)) {
        max = PREVIOUS_VERSIONS_MAX;
    }
    max = max < 1 ? 1 : max;
    if (prev_file != NULL) {
        json_array_append_new(log, json_pack("{s:I, s:s}", "timestamp-ms",
                                             (json_int_t)prev_updated_ms,
                                             "metadata-file", prev_file));
    }
    while ((int64_t)json_array_size(log) > max) {
        json_array_append(*trimmed, json_object_get(json_array_get(log, 0),
                                                    "metadata-file"));
        json_array_remove(log, 0);
    }
    return m;
}

/*
 * A copy of `meta` whose snapshots are only those a branch or tag points
 * at directly (spec: loadTable, snapshots=refs); everything else, the
 * snapshot-log included, is unchanged.  Returns a new reference.
 */
json_t *cat_meta_refs_only(json_t *meta)
{
    json_t     *m = json_deep_copy(meta);
    json_t     *refs = json_object_get(m, "refs");
    json_t     *snaps = json_object_get(m, "snapshots");
    json_t     *keep = json_array();
    json_t     *s;
    json_t     *r;
    const char *name;
    size_t      i;
    json_int_t  cur = iget(m, "current-snapshot-id");

    json_array_foreach(snaps, i, s) {
        bool ref = refs == NULL && json_is_integer(json_object_get(
                       m, "current-snapshot-id")) &&
                   cur == iget(s, "snapshot-id");

        json_object_foreach(refs, name, r) {
            ref = ref || iget(r, "snapshot-id") == iget(s, "snapshot-id");
        }
        if (ref) {
            json_array_append(keep, s);
        }
    }
    if (json_is_array(snaps)) {
        json_object_set(m, "snapshots", keep);
    }
    json_decref(keep);
    return m;
}

/* ------------------------------------------------------------ file names */

/*
 * The version of metadata file `file`: the decimal before the first '-'
 * after the last '/' (BaseMetastoreTableOperations.parseVersion); -1 when
 * there is none.
 */
static int file_version(const char *file)
{
    const char *p;
    const char *dash;
    char        digits[16];
    size_t      n;
    int64_t     v;

    if (file == NULL) {
        return -1;
    }
    p = strrchr(file, '/');
    p = p ? p + 1 : file;
    dash = strchr(p, '-');
    n = dash ? (size_t)(dash - p) : 0;
    if (n == 0 || n >= sizeof(digits) || strspn(p, "0123456789") < n) {
        return -1;
    }
    memcpy(digits, p, n);
    digits[n] = '\0';
    if (!fl_parse_i64(digits, 0, INT32_MAX - 1, &v)) {
        return -1;
    }
    return (int)v;
}

/*
 * The URI of the next metadata file of a table or view `meta` whose current
 * file is `current_file` (NULL for a new one): <dir>/<NNNNN>-<uuid><ext>,
 * where dir is the write.metadata.path property (trailing '/' dropped) or
 * <location>/metadata, NNNNN the current file's version + 1 (%05d), and ext
 * ".gz.metadata.json" when `gzip`, else ".metadata.json".  The caller picks
 * the codec: tables and views default differently.  Returns an arena
 * string.
 */
char *cat_meta_file_make(struct fl_arena *a, json_t *meta,
                         const char *current_file, bool gzip)
{
    json_t     *props = json_object_get(meta, "properties");
    const char *dir = json_string_value(json_object_get(props,
                                        "write.metadata.path"));
    const char *loc = json_string_value(json_object_get(meta, "location"));
    const char *sub = "";
    size_t      n;
    char        uuid[37];

    if (dir == NULL || dir[0] == '\0') {
        dir = loc ? loc : "";
        sub = "/metadata";
    }
    n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') {
        n--;
    }
    fl_uuid_v4(uuid);
    return fl_sprintf(a, "%.*s%s/%05d-%s%s", (int)n, dir, sub,
                      file_version(current_file) + 1, uuid,
                      gzip ? ".gz.metadata.json" : ".metadata.json");
}

/*
 * The URI of the next metadata file of table `meta` (cat_meta_file_make):
 * gzip only when write.metadata.compression-codec is gzip (the table
 * default is none).  Returns an arena string.
 */
char *cat_meta_file_next(struct fl_arena *a, json_t *meta,
                         const char *current_file)
{
    const char *codec = json_string_value(json_object_get(
        json_object_get(meta, "properties"),
        "write.metadata.compression-codec"));

    return cat_meta_file_make(a, meta, current_file,
                              codec != NULL && strcasecmp(codec, "gzip") == 0);
}
