/*
 * cat_view.c
 *
 * View metadata documents as pure JSON functions, with the semantics of
 * ViewMetadata.Builder: building the metadata of a new view (createView),
 * checking view requirements (assert-view-uuid), applying ViewUpdate
 * actions (version and schema id reuse, -1 meaning "the one added last in
 * this commit", the version-log), the checks build() makes before metadata
 * may be written (dialects kept, version expiry by
 * version.history.num-entries), checking a document read from a file
 * (registerView), the canonical key order of ViewMetadataParser.toJson and
 * view metadata file names (gzip by default, unlike tables).
 *
 * Schemas are checked and compared by cat_schema.c (views keep the client's
 * field ids; no format-version type rules apply).  Nothing here touches the
 * database or object storage, and inputs are never modified: every json_t *
 * returned is a new reference.
 */
#include "catalog/catalog_int.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BAD(e, ...) FL_ERR((e), 400, "BadRequestException", __VA_ARGS__)
#define ARG(e, ...) FL_ERR((e), 400, "IllegalArgumentException", __VA_ARGS__)
#define VAL(e, ...) FL_ERR((e), 400, "ValidationException", __VA_ARGS__)
#define FAILED(e, ...) FL_ERR((e), 409, "CommitFailedException", __VA_ARGS__)

#define LAST_ADDED      (-1)    /* "the one added last in this commit" */
#define HISTORY_DEFAULT 10      /* version.history.num-entries */
#define HISTORY_SIZE    "version.history.num-entries"
#define DROP_DIALECT    "replace.drop-dialect.allowed"
#define APPEND_DIALECT  "replace.append-dialect.allowed"

static bool absent(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    return v == NULL || json_is_null(v);
}

static json_int_t iget(json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

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

static bool in_list(json_t *arr, json_int_t v)
{
    json_t *x;
    size_t  i;

    json_array_foreach(arr, i, x) {
        if (json_integer_value(x) == v) {
            return true;
        }
    }
    return false;
}

/* `loc` without trailing '/' (new string), or NULL when it is not a valid
 * location. */
static json_t *location_new(const char *loc)
{
    size_t  n = loc ? strlen(loc) : 0;
    json_t *v;

    while (n > 1 && loc[n - 1] == '/') {
        n--;
    }
    if (n == 0) {
        return NULL;
    }
    v = json_stringn(loc, n);
    if (v != NULL && !cat_location_valid(json_string_value(v))) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

/* PropertyUtil.propertyAsBoolean: "true" in any case, else false. */
static bool prop_true(json_t *props, const char *key)
{
    const char *s = json_string_value(json_object_get(props, key));

    return s != NULL && strcasecmp(s, "true") == 0;
}

/* ------------------------------------------------------------- versions */

static bool string_array(json_t *arr, const char *what, struct fl_err *err)
{
    json_t *v;
    size_t  i;

    json_array_foreach(arr, i, v) {
        if (!json_is_string(v)) {
            return BAD(err, "field \"%s\" must be an array of strings", what);
        }
    }
    return true;
}

/*
 * A SQLViewRepresentation as {type, sql, dialect} (new reference).  The
 * type is matched case-insensitively, as the reference lower-cases it;
 * other representation types are refused: Floe could not write them back.
 */
static json_t *repr_parse(json_t *r, struct fl_err *err)
{
    const char *type;
    const char *s;

    if (!json_is_object(r)) {
        BAD(err, "a representation must be an object");
        return NULL;
    }
    if (!fl_json_str(r, "type", true, &type, err)) {
        return NULL;
    }
    if (strcasecmp(type, "sql") != 0) {
        BAD(err, "unsupported representation type \"%s\"", type);
        return NULL;
    }
    if (!fl_json_str(r, "sql", true, &s, err) ||
        !fl_json_str(r, "dialect", true, &s, err)) {
        return NULL;
    }
    return json_pack("{s:s, s:O, s:O}", "type", "sql", "sql",
                     json_object_get(r, "sql"), "dialect",
                     json_object_get(r, "dialect"));
}

/* The fields of version `v` after its ids and timestamp (new object). */
static json_t *version_body(json_t *v, struct fl_err *err)
{
    json_t     *summary, *ns, *reprs, *out, *r, *x;
    const char *catalog;
    size_t      i;

    if (!fl_json_obj(v, "summary", true, &summary, err) ||
        !fl_json_string_map(summary, "summary", err) ||
        !fl_json_str(v, "default-catalog", false, &catalog, err) ||
        !fl_json_arr(v, "default-namespace", true, &ns, err) ||
        !string_array(ns, "default-namespace", err) ||
        !fl_json_arr(v, "representations", true, &reprs, err)) {
        return NULL;
    }
    if (json_array_size(reprs) == 0) {
        BAD(err, "at least one representation is required");
        return NULL;
    }
    out = json_pack("{s:o}", "summary", json_deep_copy(summary));
    if (catalog != NULL) {
        json_object_set_new(out, "default-catalog", json_string(catalog));
    }
    json_object_set_new(out, "default-namespace", json_deep_copy(ns));
    json_object_set_new(out, "representations", json_array());
    json_array_foreach(reprs, i, r) {
        x = repr_parse(r, err);
        if (x == NULL) {
            json_decref(out);
            return NULL;
        }
        json_array_append_new(json_object_get(out, "representations"), x);
    }
    return out;
}

/*
 * View version `v` as ViewVersionParser reads it, in its write order
 * (new reference): version-id, timestamp-ms, schema-id, summary,
 * default-catalog (only when not null), default-namespace, representations.
 * Unknown members are dropped; at least one representation is required.
 * Errors: 400 BadRequestException "invalid view version: ...".
 */
static json_t *version_read(json_t *v, struct fl_err *err)
{
    struct fl_err e;
    json_t       *body = NULL;
    json_t       *out = NULL;
    json_int_t    ts = 0;
    int           id = 0, sid = 0;

    fl_err_clear(&e);
    if (!json_is_object(v)) {
        BAD(&e, "not an object");
    } else if (cat_json_i32(v, "version-id", true, &id, &e) &&
               cat_json_i32(v, "schema-id", true, &sid, &e) &&
               fl_json_int(v, "timestamp-ms", true, &ts, &e)) {
        body = version_body(v, &e);
    }
    if (body == NULL) {
        FL_ERR(err, e.status, e.type, "invalid view version: %s", e.msg);
        return NULL;
    }
    out = json_pack("{s:i, s:I, s:i}", "version-id", id, "timestamp-ms", ts,
                    "schema-id", sid);
    json_object_update(out, body);
    json_decref(body);
    return out;
}

/* The dialect of representation `i` of `version` (borrowed). */
static const char *dialect_at(json_t *version, size_t i)
{
    json_t *r = json_array_get(json_object_get(version, "representations"),
                               i);

    return json_string_value(json_object_get(r, "dialect"));
}

/* Append `s` lower-cased (ASCII, as Locale.ROOT) to `out` of size `n`. */
static void append_lower(char *out, size_t n, const char *s)
{
    size_t len = strlen(out);

    while (*s != '\0' && len + 1 < n) {
        out[len++] = (char)tolower((unsigned char)*s++);
    }
    out[len] = '\0';
}

/* At most one SQL per dialect, compared case-insensitively. */
static bool dialects_unique(json_t *version, struct fl_err *err)
{
    size_t n = json_array_size(json_object_get(version, "representations"));
    size_t i, j;
    char   d[128];

    for (i = 0; i < n; i++) {
        for (j = 0; j < i; j++) {
            if (strcasecmp(dialect_at(version, i),
                           dialect_at(version, j)) != 0) {
                continue;
            }
            d[0] = '\0';
            append_lower(d, sizeof(d), dialect_at(version, i));
            return ARG(err, "Invalid view version: Cannot add multiple "
                       "queries for dialect %s", d);
        }
    }
    return true;
}

/* Whether `version` has a SQL for `dialect` (case-insensitive). */
static bool has_dialect(json_t *version, const char *dialect)
{
    size_t n = json_array_size(json_object_get(version, "representations"));
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcasecmp(dialect_at(version, i), dialect) == 0) {
            return true;
        }
    }
    return false;
}

/* "[spark, trino]": the dialects of `version`, lower-cased. */
static void dialect_list(json_t *version, char *out, size_t n)
{
    size_t m = json_array_size(json_object_get(version, "representations"));
    size_t i;

    out[0] = '\0';
    append_lower(out, n, "[");
    for (i = 0; i < m; i++) {
        append_lower(out, n, i > 0 ? ", " : "");
        append_lower(out, n, dialect_at(version, i));
    }
    append_lower(out, n, "]");
}

/* Members `key` of `a` and `b` are both absent or equal. */
static bool member_equal(json_t *a, json_t *b, const char *key)
{
    json_t *x = json_object_get(a, key);
    json_t *y = json_object_get(b, key);

    return x == NULL ? y == NULL : y != NULL && json_equal(x, y);
}

/*
 * ViewMetadata.Builder.sameViewVersion on read versions: the same summary,
 * representations, default catalog and namespace and schema-id; the
 * version id and timestamp are ignored.
 */
static bool version_same(json_t *a, json_t *b)
{
    return member_equal(a, b, "summary") &&
           member_equal(a, b, "representations") &&
           member_equal(a, b, "default-catalog") &&
           member_equal(a, b, "default-namespace") &&
           member_equal(a, b, "schema-id");
}

/* ------------------------------------------------------------ canonical */

/* Each element of array `arr` that `fn` reads replaced by its result. */
static void norm_each(json_t *arr, json_t *(*fn)(json_t *))
{
    json_t *v;
    json_t *c;
    size_t  i;

    json_array_foreach(arr, i, v) {
        c = fn(v);
        if (c != NULL) {
            json_array_set_new(arr, i, c);
        }
    }
}

static json_t *norm_schema(json_t *s)
{
    struct fl_err e;

    fl_err_clear(&e);
    return cat_schema_canon(s, -1, 0, NULL, &e);
}

static json_t *norm_version(json_t *v)
{
    struct fl_err e;

    fl_err_clear(&e);
    return version_read(v, &e);
}

/* A version-log entry in ViewHistoryEntryParser's order. */
static json_t *norm_entry(json_t *e)
{
    json_t *ts = json_object_get(e, "timestamp-ms");
    json_t *id = json_object_get(e, "version-id");

    if (!json_is_integer(ts) || !json_is_integer(id)) {
        return NULL;
    }
    return json_pack("{s:O, s:O}", "timestamp-ms", ts, "version-id", id);
}

/*
 * The document as the builder works on it (new reference, a deep copy):
 * location without trailing '/', properties {} when absent, and every
 * schema, version and version-log entry that reads in its write order
 * (a schema without schema-id gets 0, SchemaParser's default).  Never
 * fails: what cannot be read is left for cat_view_validate to reject.
 */
static json_t *view_normalize(json_t *meta)
{
    json_t *m = json_deep_copy(meta);
    json_t *loc;

    if (!json_is_object(m)) {
        return m;
    }
    loc = location_new(json_string_value(json_object_get(m, "location")));
    if (loc != NULL) {
        json_object_set_new(m, "location", loc);
    }
    if (absent(m, "properties")) {
        json_object_set_new(m, "properties", json_object());
    }
    norm_each(json_object_get(m, "schemas"), norm_schema);
    norm_each(json_object_get(m, "versions"), norm_version);
    norm_each(json_object_get(m, "version-log"), norm_entry);
    return m;
}

static const char *const view_keys[] = {
    "view-uuid", "format-version", "location", "properties", "schemas",
    "current-version-id", "versions", "version-log",
};

/*
 * `meta` in ViewMetadataParser.toJson's order: view-uuid, format-version,
 * location, properties (only when non-empty, as Java writes it), schemas,
 * current-version-id, versions, version-log; keys Floe does not know keep
 * their order at the end.  Versions are in their own write order (see
 * version_read).  Returns a new reference.
 */
json_t *cat_view_canonical(json_t *meta)
{
    json_t     *m = view_normalize(meta);
    json_t     *out;
    json_t     *v;
    const char *key;
    size_t      i;

    if (!json_is_object(m)) {
        return m;
    }
    out = json_object();
    for (i = 0; i < FL_ARRAY_LEN(view_keys); i++) {
        v = json_object_get(m, view_keys[i]);
        if (v != NULL && !(json_is_object(v) && json_object_size(v) == 0 &&
                           strcmp(view_keys[i], "properties") == 0)) {
            json_object_set(out, view_keys[i], v);
        }
    }
    json_object_foreach(m, key, v) {
        bool known = false;

        for (i = 0; i < FL_ARRAY_LEN(view_keys) && !known; i++) {
            known = strcmp(key, view_keys[i]) == 0;
        }
        if (!known) {
            json_object_set(out, key, v);
        }
    }
    json_decref(m);
    return out;
}

/* ---------------------------------------------------- build() properties */

/*
 * What build() refuses in the view's properties: both dialect options
 * true, and a version.history.num-entries that is not a positive integer.
 * *keep receives that number (default 10).  Errors: 400
 * IllegalArgumentException.
 */
static bool props_check_build(json_t *props, int64_t *keep,
                              struct fl_err *err)
{
    const char *s = json_string_value(json_object_get(props, HISTORY_SIZE));

    *keep = HISTORY_DEFAULT;
    if (prop_true(props, DROP_DIALECT) && prop_true(props, APPEND_DIALECT)) {
        return ARG(err, "Cannot set both %s and %s to true", DROP_DIALECT,
                   APPEND_DIALECT);
    }
    if (s != NULL && !fl_parse_i64(s, INT32_MIN, INT32_MAX, keep)) {
        return ARG(err, "%s must be an integer but was %s", HISTORY_SIZE, s);
    }
    if (*keep <= 0) {
        return ARG(err, "%s must be positive but was %" PRId64, HISTORY_SIZE,
                   *keep);
    }
    return true;
}

/* --------------------------------------------------------------- create */

/*
 * The first version of a new view (new reference): the request's
 * view-version with version-id 1 and schema-id 0 (the ids the server
 * assigns), timestamp-ms `now_ms` when the client sent none, read and
 * checked for duplicate dialects.
 */
static json_t *create_version(json_t *vv, int64_t now_ms, struct fl_err *err)
{
    json_t *c = json_copy(vv);
    json_t *out;

    json_object_set_new(c, "version-id", json_integer(1));
    json_object_set_new(c, "schema-id", json_integer(0));
    if (absent(c, "timestamp-ms")) {
        json_object_set_new(c, "timestamp-ms", json_integer(now_ms));
    }
    out = version_read(c, err);
    json_decref(c);
    if (out != NULL && !dialects_unique(out, err)) {
        json_decref(out);
        out = NULL;
    }
    return out;
}

/* The new view's document (new reference; not yet canonical). */
static json_t *create_assemble(json_t *loc, json_t *schema, json_t *version,
                               json_t *props)
{
    char uuid[37];

    fl_uuid_v4(uuid);
    return json_pack("{s:s, s:i, s:O, s:o, s:[O], s:i, s:[O],"
                     " s:[{s:O, s:i}]}",
                     "view-uuid", uuid, "format-version", 1, "location", loc,
                     "properties",
                     props ? json_deep_copy(props) : json_object(),
                     "schemas", schema, "current-version-id", 1,
                     "versions", version, "version-log", "timestamp-ms",
                     json_object_get(version, "timestamp-ms"), "version-id",
                     1);
}

/*
 * The metadata of a new view from CreateViewRequest `req` (spec:
 * createView; the reference's ViewMetadata.builder()): a random view-uuid,
 * format-version 1, `location` (the caller's choice, authoritative; the
 * request's "location" is not read here; a trailing '/' is dropped), the
 * request's schema with schema-id 0 and its field ids as given, its
 * view-version with version-id 1 and schema-id 0 (timestamp-ms `now_ms`
 * when absent), current-version-id 1, one version-log entry at the
 * version's timestamp, and the request's properties (which must pass
 * build()'s checks).  Returns the canonical document (new reference), or
 * NULL with a 400 in `err` for a malformed request: missing name, schema
 * or view-version, a schema that does not parse, a version without
 * summary, default-namespace (array of strings) or SQL representations,
 * two SQLs for one dialect.
 */
json_t *cat_view_create(json_t *req, const char *location, int64_t now_ms,
                        struct fl_err *err)
{
    json_t     *loc = NULL, *schema = NULL, *version = NULL, *m = NULL;
    json_t     *out = NULL;
    json_t     *s, *vv, *props;
    const char *name;
    int64_t     keep;

    if (!json_is_object(req)) {
        BAD(err, "the request body must be a JSON object");
        return NULL;
    }
    loc = location_new(location);
    if (loc == NULL) {
        BAD(err, "invalid view location \"%s\"", location ? location : "");
        goto out;
    }
    if (!fl_json_str(req, "name", true, &name, err) ||
        !fl_json_obj(req, "schema", true, &s, err) ||
        !fl_json_obj(req, "view-version", true, &vv, err) ||
        !fl_json_obj(req, "properties", false, &props, err) ||
        (props != NULL && !cat_props_check(props, err)) ||
        !props_check_build(props, &keep, err)) {
        goto out;
    }
    schema = cat_schema_canon(s, 0, 0, NULL, err);
    version = schema ? create_version(vv, now_ms, err) : NULL;
    if (version == NULL) {
        goto out;
    }
    m = create_assemble(loc, schema, version, props);
    out = cat_view_canonical(m);
out:
    json_decref(loc);
    json_decref(schema);
    json_decref(version);
    json_decref(m);
    return out;
}

/* --------------------------------------------------------- requirements */

static const struct {
    const char *type;           /* a TableRequirement type */
    const char *cls;            /* the reference's class, for the message */
} table_reqs[] = {
    {"assert-create", "AssertTableDoesNotExist"},
    {"assert-table-uuid", "AssertTableUUID"},
    {"assert-ref-snapshot-id", "AssertRefSnapshotID"},
    {"assert-last-assigned-field-id", "AssertLastAssignedFieldId"},
    {"assert-current-schema-id", "AssertCurrentSchemaID"},
    {"assert-last-assigned-partition-id", "AssertLastAssignedPartitionId"},
    {"assert-default-spec-id", "AssertDefaultSpecID"},
    {"assert-default-sort-order-id", "AssertDefaultSortOrderID"},
};

/* Check (eval false) or evaluate requirement `r` against view `m`. */
static bool req_one(json_t *m, json_t *r, bool eval, struct fl_err *err)
{
    const char *type;
    const char *want;
    const char *have;
    size_t      i;

    if (!json_is_object(r) || !fl_json_str(r, "type", true, &type, err)) {
        return json_is_object(r) ? false
                                 : BAD(err, "a requirement must be an object");
    }
    for (i = 0; i < FL_ARRAY_LEN(table_reqs); i++) {
        if (strcasecmp(type, table_reqs[i].type) == 0) {
            return VAL(err, "Cannot validate %s against a view",
                       table_reqs[i].cls);
        }
    }
    if (strcasecmp(type, "assert-view-uuid") != 0) {
        return BAD(err, "unknown requirement type \"%s\"", type);
    }
    if (!fl_json_str(r, "uuid", false, &want, err)) {
        return false;
    }
    if (want == NULL) {
        return ARG(err, "Invalid required UUID: null");
    }
    if (!eval) {
        return true;
    }
    have = json_string_value(json_object_get(m, "view-uuid"));
    if (have == NULL || strcasecmp(want, have) != 0) {
        return FAILED(err, "Requirement failed: view UUID does not match: "
                      "expected %s != %s", have ? have : "null", want);
    }
    return true;
}

/*
 * Check view requirements `requirements` (a ViewRequirement array; NULL is
 * none) against view `base` in request order (spec: replaceView,
 * ViewRequirement).  Every requirement is parsed before any is evaluated:
 * a malformed one or an unknown type is a 400 BadRequestException, a
 * table requirement a 400 ValidationException ("Cannot validate
 * AssertTableUUID against a view").  A failing assert-view-uuid (compared
 * case-insensitively) is a 409 CommitFailedException "Requirement failed:
 * view UUID does not match: expected <base> != <requested>".
 */
bool cat_view_check(json_t *base, json_t *requirements, struct fl_err *err)
{
    json_t *r;
    size_t  i;

    if (requirements == NULL || json_is_null(requirements)) {
        return true;
    }
    if (!json_is_array(requirements)) {
        return BAD(err, "field \"requirements\" must be an array");
    }
    json_array_foreach(requirements, i, r) {
        if (!req_one(base, r, false, err)) {
            return false;
        }
    }
    json_array_foreach(requirements, i, r) {
        if (!req_one(base, r, true, err)) {
            return false;
        }
    }
    return true;
}

/* -------------------------------------------------------------- builder */

struct vb {                     /* the view metadata builder of one commit */
    json_t  *m;                 /* the metadata being built (owned) */
    json_t  *prev;              /* the base's current version (owned ref) */
    int64_t  now_ms;
    bool     changed;           /* some update had an effect */
    bool     has_schema;        /* last_schema is set ("last added") */
    bool     has_version;       /* last_version is set */
    int      last_schema;
    int      last_version;
    json_t  *added;             /* ids of versions added in this commit */
    json_t  *entry;             /* the pending version-log entry, or NULL */
};

typedef bool (*view_update_fn)(struct vb *b, json_t *u, struct fl_err *err);

/* Member `key` of the metadata being built (borrowed). */
static json_t *get(struct vb *b, const char *key)
{
    return json_object_get(b->m, key);
}

/* spec: assign-uuid.  A view's uuid is set once: only a no-op passes. */
static bool up_assign_uuid(struct vb *b, json_t *u, struct fl_err *err)
{
    const char *uuid;
    const char *cur = json_string_value(get(b, "view-uuid"));

    if (!fl_json_str(u, "uuid", false, &uuid, err)) {
        return false;
    }
    if (uuid == NULL) {
        return ARG(err, "Cannot set uuid to null");
    }
    if (cur == NULL || strcmp(cur, uuid) != 0) {
        return ARG(err, "Cannot reassign uuid");
    }
    return true;
}

/* spec: upgrade-format-version (views have only v1 so far). */
static bool up_format_version(struct vb *b, json_t *u, struct fl_err *err)
{
    int v = 0;
    int fv = (int)iget(b->m, "format-version");

    if (!cat_json_i32(u, "format-version", true, &v, err)) {
        return false;
    }
    if (v < fv) {
        return ARG(err, "Cannot downgrade v%d view to v%d", fv, v);
    }
    if (v == fv) {
        return true;
    }
    if (v > CAT_VIEW_FORMAT_MAX) {
        return ARG(err, "Unsupported format version: %d", v);
    }
    json_object_set_new(b->m, "format-version", json_integer(v));
    b->changed = true;
    return true;
}

/*
 * spec: add-schema.  An identical schema (cat_schema_same) is a no-op that
 * does not count as "last added"; otherwise the id is max + 1 from 0 and
 * the given schema-id and last-column-id are ignored.
 */
static bool up_add_schema(struct vb *b, json_t *u, struct fl_err *err)
{
    json_t *s;
    json_t *c;
    json_t *x;
    size_t  i;
    int     id = 0;

    if (!fl_json_obj(u, "schema", true, &s, err)) {
        return false;
    }
    c = cat_schema_canon(s, 0, 0, NULL, err);
    if (c == NULL) {
        return false;
    }
    json_array_foreach(get(b, "schemas"), i, x) {
        if (cat_schema_same(x, c)) {
            json_decref(c);
            return true;
        }
        if (iget(x, "schema-id") >= id) {
            id = (int)iget(x, "schema-id") + 1;
        }
    }
    json_object_set_new(c, "schema-id", json_integer(id));
    json_array_append_new(get(b, "schemas"), c);
    b->has_schema = true;
    b->last_schema = id;
    b->changed = true;
    return true;
}

/* spec: set-location (non-null; a trailing '/' is dropped). */
static bool up_set_location(struct vb *b, json_t *u, struct fl_err *err)
{
    const char *loc;
    json_t     *v;

    if (!fl_json_str(u, "location", false, &loc, err)) {
        return false;
    }
    if (loc == NULL) {
        return ARG(err, "Invalid location: null");
    }
    v = location_new(loc);
    if (v == NULL) {
        return BAD(err, "invalid view location \"%s\"", loc);
    }
    if (json_equal(v, get(b, "location"))) {
        json_decref(v);
        return true;
    }
    json_object_set_new(b->m, "location", v);
    b->changed = true;
    return true;
}

/* spec: set-properties */
static bool up_set_props(struct vb *b, json_t *u, struct fl_err *err)
{
    return cat_props_set(get(b, "properties"), u, &b->changed, err);
}

/* spec: remove-properties */
static bool up_remove_props(struct vb *b, json_t *u, struct fl_err *err)
{
    return cat_props_remove(get(b, "properties"), u, &b->changed, err);
}

/*
 * reuseOrCreateNewViewVersionId: the id of a version the same as `v`
 * (*found), else the given id raised past every existing one.
 */
static json_int_t version_id_for(struct vb *b, json_t *v, bool *found)
{
    json_t    *x;
    size_t     i;
    json_int_t id = iget(v, "version-id");

    *found = false;
    json_array_foreach(get(b, "versions"), i, x) {
        if (version_same(x, v)) {
            *found = true;
            return iget(x, "version-id");
        }
        if (iget(x, "version-id") >= id) {
            id = iget(x, "version-id") + 1;
        }
    }
    return id;
}

/* The new version `v` gets id `id` and its schema-id resolved; -1 means
 * the schema added last in this commit, which must exist. */
static bool version_prepare(struct vb *b, json_t *v, json_int_t id,
                            struct fl_err *err)
{
    int sid = (int)iget(v, "schema-id");

    if (id > INT32_MAX) {
        return ARG(err, "Cannot add view version: version ids are "
                   "exhausted");
    }
    if (sid == LAST_ADDED) {
        if (!b->has_schema) {
            return VAL(err, "Cannot set last added schema: no schema has "
                       "been added");
        }
        sid = b->last_schema;
    }
    if (find_id(get(b, "schemas"), "schema-id", sid) == NULL) {
        return ARG(err, "Cannot add version with unknown schema: %d", sid);
    }
    if (!dialects_unique(v, err)) {
        return false;
    }
    json_object_set_new(v, "version-id", json_integer(id));
    json_object_set_new(v, "schema-id", json_integer(sid));
    return true;
}

/*
 * spec: add-view-version.  A version the same as an existing one (ignoring
 * id and timestamp; schema-id compared as given) reuses its id and is a
 * no-op that counts as "last added" only if it was added in this commit.
 */
static bool up_add_version(struct vb *b, json_t *u, struct fl_err *err)
{
    json_t    *vv;
    json_t    *v;
    json_int_t id;
    bool       found;

    if (!fl_json_obj(u, "view-version", true, &vv, err)) {
        return false;
    }
    v = version_read(vv, err);
    if (v == NULL) {
        return false;
    }
    id = version_id_for(b, v, &found);
    if (found) {
        b->has_version = in_list(b->added, id);
        b->last_version = (int)id;
        json_decref(v);
        return true;
    }
    if (!version_prepare(b, v, id, err)) {
        json_decref(v);
        return false;
    }
    json_array_append_new(get(b, "versions"), v);
    json_array_append_new(b->added, json_integer(id));
    b->has_version = true;
    b->last_version = (int)id;
    b->changed = true;
    return true;
}

/*
 * spec: set-current-view-version (-1: the version added last in this
 * commit).  The version-log entry build() appends is at the version's
 * timestamp when it was added in this commit, else at now; only the last
 * such update of a commit leaves an entry.
 */
static bool up_current_version(struct vb *b, json_t *u, struct fl_err *err)
{
    json_t    *v;
    json_int_t ts;
    int        id = 0;

    if (!cat_json_i32(u, "view-version-id", true, &id, err)) {
        return false;
    }
    if (id == LAST_ADDED) {
        if (!b->has_version) {
            return VAL(err, "Cannot set last version id: no current version "
                       "id has been set");
        }
        id = b->last_version;
    }
    if (id == iget(b->m, "current-version-id")) {
        return true;
    }
    v = find_id(get(b, "versions"), "version-id", id);
    if (v == NULL) {
        return ARG(err, "Cannot set current version to unknown version: %d",
                   id);
    }
    json_object_set_new(b->m, "current-version-id", json_integer(id));
    ts = in_list(b->added, id) ? iget(v, "timestamp-ms") : b->now_ms;
    json_decref(b->entry);
    b->entry = json_pack("{s:I, s:i}", "timestamp-ms", ts, "version-id", id);
    b->changed = true;
    return true;
}

static const struct view_action {
    const char    *name;
    view_update_fn fn;
} actions[] = {
    {"assign-uuid", up_assign_uuid},
    {"upgrade-format-version", up_format_version},
    {"add-schema", up_add_schema},
    {"set-location", up_set_location},
    {"set-properties", up_set_props},
    {"remove-properties", up_remove_props},
    {"add-view-version", up_add_version},
    {"set-current-view-version", up_current_version},
};

static const char *const table_actions[] = {
    "set-current-schema", "add-spec", "set-default-spec", "add-sort-order",
    "set-default-sort-order", "add-snapshot", "set-snapshot-ref",
    "remove-snapshots", "remove-snapshot-ref", "set-statistics",
    "remove-statistics", "set-partition-statistics",
    "remove-partition-statistics", "remove-partition-specs",
    "remove-schemas", "add-encryption-key", "remove-encryption-key",
};

/* The action of update `u` (matched case-insensitively, as Java does). */
static const struct view_action *action_of(json_t *u, struct fl_err *err)
{
    const char *name;
    size_t      i;

    if (!json_is_object(u)) {
        BAD(err, "an update must be an object");
        return NULL;
    }
    if (!fl_json_str(u, "action", true, &name, err)) {
        return NULL;
    }
    for (i = 0; i < FL_ARRAY_LEN(actions); i++) {
        if (strcasecmp(name, actions[i].name) == 0) {
            return &actions[i];
        }
    }
    for (i = 0; i < FL_ARRAY_LEN(table_actions); i++) {
        if (strcasecmp(name, table_actions[i]) == 0) {
            /* NB: the reference throws UnsupportedOperationException (406) */
            BAD(err, "Cannot apply update %s to a view", table_actions[i]);
            return NULL;
        }
    }
    BAD(err, "unknown update action \"%s\"", name);
    return NULL;
}

/* ------------------------------------------------------------- build() */

/* Whether `now` has a SQL for every dialect of `was`. */
static bool dialects_kept(json_t *was, json_t *now)
{
    size_t n = json_array_size(json_object_get(was, "representations"));
    size_t i;

    for (i = 0; i < n; i++) {
        if (!has_dialect(now, dialect_at(was, i))) {
            return false;
        }
    }
    return true;
}

/*
 * checkIfDialectIsDropped: unless replace.drop-dialect.allowed, the new
 * current version has every dialect of the base's current version.
 * NB: the reference raises IllegalStateException, which its server turns
 * into a 500; the request is what is wrong, so this is a 400.
 */
static bool finish_dialects(struct vb *b, struct fl_err *err)
{
    json_t *cur = find_id(get(b, "versions"), "version-id",
                          iget(b->m, "current-version-id"));
    char    was[100];
    char    now[100];

    if (b->prev == NULL || prop_true(get(b, "properties"), DROP_DIALECT) ||
        dialects_kept(b->prev, cur)) {
        return true;
    }
    dialect_list(b->prev, was, sizeof(was));
    dialect_list(cur, now, sizeof(now));
    return VAL(err, "Cannot replace view due to loss of view dialects "
               "(%s=false):\nPrevious dialects: %s\nNew dialects: %s",
               DROP_DIALECT, was, now);
}

/* What build() and the ViewMetadata constructor insist on; *keep gets
 * version.history.num-entries. */
static bool finish_required(struct vb *b, int64_t *keep, struct fl_err *err)
{
    if (!json_is_string(get(b, "location"))) {
        return ARG(err, "Invalid location: null");
    }
    if (json_array_size(get(b, "versions")) == 0) {
        return ARG(err, "Invalid view: no versions were added");
    }
    if (b->entry != NULL) {
        json_array_append(get(b, "version-log"), b->entry);
    }
    return props_check_build(get(b, "properties"), keep, err) &&
           finish_dialects(b, err);
}

static int cmp_desc(const void *x, const void *y)
{
    json_int_t a = *(const json_int_t *)x;
    json_int_t c = *(const json_int_t *)y;

    return a < c ? 1 : a > c ? -1 : 0;
}

/* updateHistory: drop the entries of removed versions together with every
 * entry before them, so the log has no gaps. */
static void finish_history(struct vb *b)
{
    json_t *log = json_array();
    json_t *e;
    size_t  i;

    json_array_foreach(get(b, "version-log"), i, e) {
        if (find_id(get(b, "versions"), "version-id",
                    iget(e, "version-id")) != NULL) {
            json_array_append(log, e);
        } else {
            json_array_clear(log);
        }
    }
    json_object_set_new(b->m, "version-log", log);
}

/*
 * Version expiry: keep max(`keep`, the versions added in this commit plus
 * the current one) versions, which are the current one and the newest ids
 * (ids grow with every new version).  Unlike Java's expireVersions, the
 * kept versions stay in their list order instead of current-first.
 */
static void finish_expire(struct vb *b, int64_t keep)
{
    json_t          *versions = get(b, "versions");
    json_int_t       cur = iget(b->m, "current-version-id");
    size_t           n = json_array_size(versions);
    size_t           i, m = 0;
    int64_t          need;
    struct fl_arena *a;
    json_int_t      *ids;
    json_int_t       id;

    need = (int64_t)json_array_size(b->added) + !in_list(b->added, cur);
    keep = need > keep ? need : keep;
    if ((int64_t)n <= keep) {
        return;
    }
    a = fl_arena_new(0);
    ids = fl_alloc(a, n * sizeof(*ids));
    for (i = 0; i < n; i++) {
        id = iget(json_array_get(versions, i), "version-id");
        if (id != cur) {
            ids[m++] = id;
        }
    }
    qsort(ids, m, sizeof(*ids), cmp_desc);
    /* kept: the current version and the keep - 1 newest others; ids are
     * unique and m >= keep, so ids[keep - 2] is the oldest of those */
    for (i = n; i-- > 0;) {
        id = iget(json_array_get(versions, i), "version-id");
        if (id != cur && (keep == 1 || id < ids[keep - 2])) {
            json_array_remove(versions, i);
        }
    }
    fl_arena_free(a);
    finish_history(b);
}

static bool vb_init(struct vb *b, json_t *base, json_t *updates,
                    int64_t now_ms, struct fl_err *err)
{
    memset(b, 0, sizeof(*b));
    b->now_ms = now_ms;
    b->added = json_array();
    if (updates != NULL && !json_is_null(updates) && !json_is_array(updates)) {
        return BAD(err, "field \"updates\" must be an array");
    }
    /* NB: the arithmetic below trusts ids to be in range */
    if (!cat_view_validate(base, err)) {
        return false;
    }
    b->m = view_normalize(base);
    b->prev = json_incref(find_id(get(b, "versions"), "version-id",
                                  iget(b->m, "current-version-id")));
    return true;
}

static void vb_free(struct vb *b)
{
    json_decref(b->m);
    json_decref(b->prev);
    json_decref(b->added);
    json_decref(b->entry);
}

/*
 * Apply ViewUpdate array `updates` (NULL is none) to view `base` in order,
 * with ViewMetadata.Builder's semantics (spec: replaceView, ViewUpdate).
 * `base` must pass cat_view_validate (else 400 ValidationException).
 * Table-only actions are a 400 "Cannot apply update <action> to a view".
 *
 * When no update had an effect, *changed is false and the result is a copy
 * of `base`.  Otherwise *changed is true and the result has passed
 * build()'s checks (location, at least one version, no lost dialect unless
 * replace.drop-dialect.allowed, a positive version.history.num-entries),
 * had old versions expired and the version-log trimmed to match, passed
 * cat_view_validate, and is in canonical order.
 *
 * Returns a new reference, or NULL with a 400 in `err`.  `base` and
 * `updates` are borrowed and never modified.
 */
json_t *cat_view_update(json_t *base, json_t *updates, int64_t now_ms,
                        bool *changed, struct fl_err *err)
{
    struct vb                 b;
    const struct view_action *act;
    json_t                   *u;
    json_t                   *out = NULL;
    size_t                    i;
    int64_t                   keep = HISTORY_DEFAULT;

    *changed = false;
    if (!vb_init(&b, base, updates, now_ms, err)) {
        goto out;
    }
    json_array_foreach(updates, i, u) {
        act = action_of(u, err);
        if (act == NULL || !act->fn(&b, u, err)) {
            goto out;
        }
    }
    if (!b.changed) {
        out = json_deep_copy(base);
        goto out;
    }
    if (!finish_required(&b, &keep, err)) {
        goto out;
    }
    finish_expire(&b, keep);
    out = cat_view_canonical(b.m);
    if (!cat_view_validate(out, err)) {
        json_decref(out);
        out = NULL;
        goto out;
    }
    *changed = true;
out:
    vb_free(&b);
    return out;
}

/* ------------------------------------------------------------- validate */

/* Top-level members present with the right types; format version 1. */
static bool validate_top(json_t *m, struct fl_err *err)
{
    const char *s;
    json_t     *x;
    json_int_t  fv = 0;
    int         cur = 0;

    if (!fl_json_str(m, "view-uuid", true, &s, err) ||
        !fl_json_int(m, "format-version", true, &fv, err) ||
        !fl_json_str(m, "location", true, &s, err) ||
        !fl_json_obj(m, "properties", false, &x, err) ||
        (x != NULL && !fl_json_string_map(x, "properties", err)) ||
        !fl_json_arr(m, "schemas", true, &x, err) ||
        !cat_json_i32(m, "current-version-id", true, &cur, err) ||
        !fl_json_arr(m, "versions", true, &x, err) ||
        !fl_json_arr(m, "version-log", true, &x, err)) {
        return false;
    }
    if (fv < 1 || fv > CAT_VIEW_FORMAT_MAX) {
        return VAL(err, "Unsupported format version: %" JSON_INTEGER_FORMAT,
                   fv);
    }
    return true;
}

/* Every schema parses and has a unique id; `ids` receives them. */
static bool validate_schemas(json_t *m, json_t *ids, struct fl_err *err)
{
    json_t    *s;
    json_t    *c;
    json_int_t id;
    size_t     i;

    json_array_foreach(json_object_get(m, "schemas"), i, s) {
        c = cat_schema_canon(s, -1, 0, NULL, err);
        if (c == NULL) {
            return false;
        }
        id = iget(c, "schema-id");
        json_decref(c);
        if (in_list(ids, id)) {
            return VAL(err, "duplicate schema id %" JSON_INTEGER_FORMAT, id);
        }
        json_array_append_new(ids, json_integer(id));
    }
    return true;
}

/* Every version reads, has a unique id and a known schema; the current
 * one exists; the log entries are well-formed. */
static bool validate_versions(json_t *m, json_t *schema_ids,
                              struct fl_err *err)
{
    json_t    *versions = json_object_get(m, "versions");
    json_t    *v;
    json_t    *c;
    json_int_t id, sid;
    size_t     i;
    int        n = 0;

    json_array_foreach(versions, i, v) {
        c = version_read(v, err);
        if (c == NULL) {
            return false;
        }
        id = iget(c, "version-id");
        sid = iget(c, "schema-id");
        json_decref(c);
        if (find_id(versions, "version-id", id) != v) {
            return VAL(err, "duplicate view version id %" JSON_INTEGER_FORMAT,
                       id);
        }
        if (!in_list(schema_ids, sid)) {
            return VAL(err, "Cannot find schema with id %" JSON_INTEGER_FORMAT
                       " for view version %" JSON_INTEGER_FORMAT, sid, id);
        }
    }
    if (find_id(versions, "version-id", iget(m, "current-version-id")) ==
        NULL) {
        return VAL(err, "Cannot find current version %" JSON_INTEGER_FORMAT
                   " in view versions", iget(m, "current-version-id"));
    }
    json_array_foreach(json_object_get(m, "version-log"), i, v) {
        if (!json_is_object(v) ||
            !fl_json_int(v, "timestamp-ms", true, &id, err) ||
            !cat_json_i32(v, "version-id", true, &n, err)) {
            return json_is_object(v)
                   ? false : VAL(err, "version-log entries must be objects");
        }
    }
    return true;
}

/*
 * Check a view metadata document read from a file (spec: registerView) the
 * way ViewMetadataParser would, plus what loading it would need: an object
 * with view-uuid, format-version 1, location, string-map properties,
 * schemas that parse with unique ids, versions that read (SQL
 * representations only) with unique ids and existing schema-ids,
 * current-version-id naming a version, and a well-formed version-log.
 * Errors: 400 ValidationException "Invalid view metadata: ...".
 */
bool cat_view_validate(json_t *meta, struct fl_err *err)
{
    struct fl_err e;
    json_t       *ids;
    bool          ok;

    if (!json_is_object(meta)) {
        return VAL(err, "Cannot parse view metadata from non-object");
    }
    fl_err_clear(&e);
    ids = json_array();
    ok = validate_top(meta, &e) && validate_schemas(meta, ids, &e) &&
         validate_versions(meta, ids, &e);
    json_decref(ids);
    if (!ok) {
        VAL(err, "Invalid view metadata: %s", e.msg);
        fl_err_logf(err, "detected at %s:%d", e.file ? e.file : "?", e.line);
    }
    return ok;
}

/* ----------------------------------------------------------- file names */

/*
 * The URI of the next metadata file of view `meta` whose current file is
 * `current_file` (NULL for a new view), as cat_meta_file_make names it:
 * under write.metadata.path or <location>/metadata, version + 1, and
 * ".gz.metadata.json" unless the view property
 * write.metadata.compression-codec is "none" (gzip is the view default;
 * NB: an unknown codec also means gzip, where the reference would fail the
 * commit).  Returns an arena string.
 */
char *cat_view_file_next(struct fl_arena *a, json_t *meta,
                         const char *current_file)
{
    const char *codec = json_string_value(json_object_get(
        json_object_get(meta, "properties"),
        "write.metadata.compression-codec"));

    return cat_meta_file_make(a, meta, current_file,
                              codec == NULL || strcasecmp(codec, "none") != 0);
}
