/*
 * cat_meta_update.c
 *
 * Applying a commit's TableUpdate actions to table metadata with the
 * semantics of TableMetadata.Builder: ids reused for identical schemas,
 * specs and sort orders, -1 meaning "the last one added in this commit",
 * the add-snapshot checks (two of them retryable), refs moving
 * current-snapshot-id and the snapshot-log, remove-snapshots rewriting the
 * log, and the checks build() makes before metadata may be written.
 *
 * The builder works on a normalized deep copy (cat_meta_normalize) and
 * never modifies the caller's document.  It does not touch metadata-log
 * (cat_meta_log_append does, once the new file's name is known) and knows
 * nothing of the database or storage.
 */
#include "catalog/catalog_int.h"

#include <string.h>
#include <strings.h>

#define BAD(e, ...) FL_ERR((e), 400, "BadRequestException", __VA_ARGS__)
#define ARG(e, ...) FL_ERR((e), 400, "IllegalArgumentException", __VA_ARGS__)
#define VAL(e, ...) FL_ERR((e), 400, "ValidationException", __VA_ARGS__)
#define RETRY(e, ...) FL_ERR((e), 409, "CommitFailedException", \
                             "Validation failed, please retry: " __VA_ARGS__)

#define ONE_MINUTE_MS 60000     /* clock skew the reference tolerates */

struct mb {                     /* the metadata builder of one commit */
    json_t  *m;                 /* the metadata being built (owned) */
    int64_t  now_ms;
    bool     changed;           /* some update had an effect */
    bool     has_schema;        /* last_schema is set ("last added") */
    bool     has_spec;
    bool     has_order;
    int      last_schema;
    int      last_spec;
    int      last_order;
    json_t  *added_schemas;     /* ids added in this commit */
    json_t  *added_specs;
    json_t  *added_orders;
    json_t  *added_snaps;       /* snapshot ids added in this commit */
    json_t  *main_sets;         /* ...of those, the ones main was set to */
    bool     removed;           /* a snapshot was removed */
};

typedef bool (*update_fn)(struct mb *b, json_t *u, struct fl_err *err);

/* ------------------------------------------------------------- helpers */

/* Member `key` of the metadata being built (borrowed). */
static json_t *get(struct mb *b, const char *key)
{
    return json_object_get(b->m, key);
}

static json_int_t iget(json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

static bool absent_or_null(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    return v == NULL || json_is_null(v);
}

static int fv_of(struct mb *b)
{
    return (int)iget(b->m, "format-version");
}

static void iset(struct mb *b, const char *key, json_int_t v)
{
    json_object_set_new(b->m, key, json_integer(v));
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

/* The element of `arr` whose integer `key` is `id` (borrowed); *idx its
 * position. */
static json_t *find_id(json_t *arr, const char *key, json_int_t id,
                       size_t *idx)
{
    json_t *v;
    size_t  i;

    json_array_foreach(arr, i, v) {
        json_t *x = json_object_get(v, key);

        if (json_is_integer(x) && json_integer_value(x) == id) {
            if (idx != NULL) {
                *idx = i;
            }
            return v;
        }
    }
    return NULL;
}

/* The current schema (borrowed), NULL when it does not exist. */
static json_t *current_schema(struct mb *b)
{
    return find_id(get(b, "schemas"), "schema-id",
                   iget(b->m, "current-schema-id"), NULL);
}

/* An integer array member: every element an integer. */
static bool int_array(json_t *u, const char *key, json_t **out,
                      struct fl_err *err)
{
    json_t *v;
    size_t  i;

    if (!fl_json_arr(u, key, true, out, err)) {
        return false;
    }
    json_array_foreach(*out, i, v) {
        if (!json_is_integer(v)) {
            return BAD(err, "field \"%s\" must be an array of integers", key);
        }
    }
    return true;
}

/* -1 means the id last added in this commit (TableMetadata LAST_ADDED). */
static bool last_added(int *id, bool has, int last, const char *what,
                       struct fl_err *err)
{
    if (*id != -1) {
        return true;
    }
    if (!has) {
        return VAL(err, "Cannot set last added %s: no %s has been added",
                   what, what);
    }
    *id = last;
    return true;
}

/* --------------------------------------------------- uuid and version */

/* spec: assign-uuid */
static bool up_assign_uuid(struct mb *b, json_t *u, struct fl_err *err)
{
    const char *uuid;
    const char *cur = json_string_value(get(b, "table-uuid"));

    if (!fl_json_str(u, "uuid", false, &uuid, err)) {
        return false;
    }
    if (uuid == NULL) {
        return ARG(err, "Cannot set uuid to null");
    }
    if (!fl_uuid_valid(uuid)) {
        return BAD(err, "invalid table uuid");
    }
    if (cur == NULL || strcmp(cur, uuid) != 0) {
        json_object_set_new(b->m, "table-uuid", json_string(uuid));
        b->changed = true;
    }
    return true;
}

/* spec: upgrade-format-version; a v3 upgrade keeps next-row-id (0). */
static bool up_format_version(struct mb *b, json_t *u, struct fl_err *err)
{
    int v = 0;

    if (!cat_json_i32(u, "format-version", true, &v, err)) {
        return false;
    }
    if (v > CAT_FORMAT_MAX) {
        return ARG(err, "Cannot upgrade table to unsupported format version: "
                   "v%d (supported: v%d)", v, CAT_FORMAT_MAX);
    }
    if (v < fv_of(b)) {
        return ARG(err, "Cannot downgrade v%d table to v%d", fv_of(b), v);
    }
    if (v == fv_of(b)) {
        return true;
    }
    iset(b, "format-version", v);
    if (!json_is_integer(get(b, "next-row-id"))) {
        iset(b, "next-row-id", 0);
    }
    b->changed = true;
    return true;
}

/* ------------------------------------------------------------- schemas */

/* reuseOrCreateNewSchemaId: an identical schema's id, else the next. */
static int schema_id_for(struct mb *b, json_t *schema, bool *found)
{
    json_t    *s;
    size_t     i;
    json_int_t id = iget(b->m, "current-schema-id");

    *found = false;
    json_array_foreach(get(b, "schemas"), i, s) {
        if (cat_schema_same(s, schema)) {
            *found = true;
            return (int)iget(s, "schema-id");
        }
        if (iget(s, "schema-id") >= id) {
            id = iget(s, "schema-id") + 1;
        }
    }
    return (int)id;
}

/*
 * spec: add-schema.  The given schema-id and last-column-id are ignored;
 * last-column-id becomes max(old, highest field id).
 */
static bool up_add_schema(struct mb *b, json_t *u, struct fl_err *err)
{
    json_t    *s;
    json_t    *c;
    json_int_t last = iget(b->m, "last-column-id");
    int        highest = 0;
    int        id;
    bool       found;

    if (!fl_json_obj(u, "schema", true, &s, err)) {
        return false;
    }
    c = cat_schema_canon(s, 0, fv_of(b), &highest, err);
    if (c == NULL) {
        return false;
    }
    id = schema_id_for(b, c, &found);
    if (found && highest <= last) {
        /* already there: "last added" only if it was added in this commit */
        b->has_schema = b->has_schema && in_list(b->added_schemas, id);
        b->last_schema = id;
        json_decref(c);
        return true;
    }
    iset(b, "last-column-id", highest > last ? highest : last);
    if (!found) {
        json_object_set_new(c, "schema-id", json_integer(id));
        json_array_append(get(b, "schemas"), c);
    }
    json_decref(c);
    json_array_append_new(b->added_schemas, json_integer(id));
    b->has_schema = true;
    b->last_schema = id;
    b->changed = true;
    return true;
}

/* spec: set-current-schema (-1: the schema added last in this commit). */
static bool up_current_schema(struct mb *b, json_t *u, struct fl_err *err)
{
    int id = 0;

    if (!cat_json_i32(u, "schema-id", true, &id, err) ||
        !last_added(&id, b->has_schema, b->last_schema, "schema", err)) {
        return false;
    }
    if (id == iget(b->m, "current-schema-id")) {
        return true;
    }
    if (find_id(get(b, "schemas"), "schema-id", id, NULL) == NULL) {
        return ARG(err, "Cannot set current schema to unknown schema: %d",
                   id);
    }
    iset(b, "current-schema-id", id);
    b->changed = true;
    return true;
}

/* spec: remove-schemas (never the current one). */
static bool up_remove_schemas(struct mb *b, json_t *u, struct fl_err *err)
{
    json_t *ids;
    json_t *schemas = get(b, "schemas");
    size_t  i;

    if (!int_array(u, "schema-ids", &ids, err)) {
        return false;
    }
    if (in_list(ids, iget(b->m, "current-schema-id"))) {
        return ARG(err, "Cannot remove the current schema");
    }
    for (i = json_array_size(schemas); i-- > 0;) {
        if (in_list(ids, iget(json_array_get(schemas, i), "schema-id"))) {
            json_array_remove(schemas, i);
            b->changed = true;
        }
    }
    return true;
}

/* --------------------------------------------------------------- specs */

/* PartitionSpec.compatibleWith: same sources, transforms and names. */
static bool spec_compatible(json_t *x, json_t *y)
{
    json_t *fx = json_object_get(x, "fields");
    json_t *fy = json_object_get(y, "fields");
    json_t *a;
    json_t *c;
    size_t  i;

    if (json_array_size(fx) != json_array_size(fy)) {
        return false;
    }
    json_array_foreach(fx, i, a) {
        c = json_array_get(fy, i);
        if (iget(a, "source-id") != iget(c, "source-id") ||
            !json_equal(json_object_get(a, "transform"),
                        json_object_get(c, "transform")) ||
            !json_equal(json_object_get(a, "name"),
                        json_object_get(c, "name"))) {
            return false;
        }
    }
    return true;
}

static bool spec_sequential(json_t *spec)
{
    json_t *f;
    size_t  i;

    json_array_foreach(json_object_get(spec, "fields"), i, f) {
        if (iget(f, "field-id") != 1000 + (json_int_t)i) {
            return false;
        }
    }
    return true;
}

static void spec_append(struct mb *b, json_t *c, int id)
{
    json_t    *f;
    size_t     i;
    json_int_t last = iget(b->m, "last-partition-id");

    last = last < 999 ? 999 : last;
    json_array_foreach(json_object_get(c, "fields"), i, f) {
        last = iget(f, "field-id") > last ? iget(f, "field-id") : last;
    }
    json_object_set_new(c, "spec-id", json_integer(id));
    json_array_append(get(b, "partition-specs"), c);
    iset(b, "last-partition-id", last);
    json_array_append_new(b->added_specs, json_integer(id));
    b->has_spec = true;
    b->last_spec = id;
    b->changed = true;
}

/*
 * spec: add-spec.  Bound to the current schema; a compatible spec's id is
 * reused, else max + 1 from 0.  v1 specs need field ids 1000, 1001, ...
 */
static bool up_add_spec(struct mb *b, json_t *u, struct fl_err *err)
{
    struct cat_bind bd = {NULL, 0, fv_of(b), CAT_PID_FILL, NULL, 0};
    json_t         *spec;
    json_t         *c;
    json_t         *s;
    size_t          i;
    int             id = 0;

    bd.schema = current_schema(b);
    bd.specs = get(b, "partition-specs");
    bd.last_pid = (int)iget(b->m, "last-partition-id");
    if (!fl_json_obj(u, "spec", true, &spec, err)) {
        return false;
    }
    if (bd.schema == NULL) {
        return VAL(err, "Cannot add a partition spec before a schema");
    }
    c = cat_spec_bind(spec, &bd, err);
    if (c == NULL) {
        return false;
    }
    json_array_foreach(bd.specs, i, s) {
        if (spec_compatible(c, s)) {
            /* TableMetadata.Builder's test: was *any* spec added? */
            b->has_spec = b->has_spec && in_list(b->added_specs, b->last_spec);
            b->last_spec = (int)iget(s, "spec-id");
            json_decref(c);
            return true;
        }
        id = iget(s, "spec-id") >= id ? (int)iget(s, "spec-id") + 1 : id;
    }
    if (fv_of(b) == 1 && !spec_sequential(c)) {
        json_decref(c);
        return VAL(err, "Spec does not use sequential IDs that are required "
                   "in v1");
    }
    spec_append(b, c, id);
    json_decref(c);
    return true;
}

/* spec: set-default-spec (-1: the spec added last in this commit). */
static bool up_default_spec(struct mb *b, json_t *u, struct fl_err *err)
{
    int id = 0;

    if (!cat_json_i32(u, "spec-id", true, &id, err) ||
        !last_added(&id, b->has_spec, b->last_spec, "spec", err)) {
        return false;
    }
    if (id == iget(b->m, "default-spec-id")) {
        return true;
    }
    if (find_id(get(b, "partition-specs"), "spec-id", id, NULL) == NULL) {
        return ARG(err, "Cannot set default partition spec to unknown spec: "
                   "%d", id);
    }
    iset(b, "default-spec-id", id);
    b->changed = true;
    return true;
}

/* spec: remove-partition-specs (never the default one). */
static bool up_remove_specs(struct mb *b, json_t *u, struct fl_err *err)
{
    json_t *ids;
    json_t *specs = get(b, "partition-specs");
    size_t  i;

    if (!int_array(u, "spec-ids", &ids, err)) {
        return false;
    }
    if (in_list(ids, iget(b->m, "default-spec-id"))) {
        return ARG(err, "Cannot remove the default partition spec");
    }
    for (i = json_array_size(specs); i-- > 0;) {
        if (in_list(ids, iget(json_array_get(specs, i), "spec-id"))) {
            json_array_remove(specs, i);
            b->changed = true;
        }
    }
    return true;
}

/* --------------------------------------------------------- sort orders */

/*
 * spec: add-sort-order.  An unsorted order is always id 0; an identical
 * order's id is reused; a new one gets max + 1 from 1.
 */
static bool up_add_order(struct mb *b, json_t *u, struct fl_err *err)
{
    struct cat_bind bd = {NULL, 0, fv_of(b), CAT_PID_KEEP, NULL, 0};
    json_t         *order;
    json_t         *c;
    json_t         *o;
    json_t         *orders = get(b, "sort-orders");
    size_t          i;
    int             id = 1;

    bd.schema = current_schema(b);
    if (!fl_json_obj(u, "sort-order", true, &order, err)) {
        return false;
    }
    if (bd.schema == NULL) {
        return VAL(err, "Cannot add a sort order before a schema");
    }
    c = cat_order_bind(order, &bd, err);
    if (c == NULL) {
        return false;
    }
    json_array_foreach(orders, i, o) {
        if (json_equal(json_object_get(o, "fields"),
                       json_object_get(c, "fields"))) {
            id = (int)iget(o, "order-id");
            break;
        }
        id = iget(o, "order-id") >= id ? (int)iget(o, "order-id") + 1 : id;
    }
    id = json_array_size(json_object_get(c, "fields")) == 0 ? 0 : id;
    if (find_id(orders, "order-id", id, NULL) != NULL) {
        b->has_order = b->has_order &&
                       in_list(b->added_orders, b->last_order);
        b->last_order = id;
        json_decref(c);
        return true;
    }
    json_object_set_new(c, "order-id", json_integer(id));
    json_array_append_new(orders, c);
    json_array_append_new(b->added_orders, json_integer(id));
    b->has_order = true;
    b->last_order = id;
    b->changed = true;
    return true;
}

/* spec: set-default-sort-order (-1: the order added last in this commit). */
static bool up_default_order(struct mb *b, json_t *u, struct fl_err *err)
{
    int id = 0;

    if (!cat_json_i32(u, "sort-order-id", true, &id, err) ||
        !last_added(&id, b->has_order, b->last_order, "sort order", err)) {
        return false;
    }
    if (id == iget(b->m, "default-sort-order-id")) {
        return true;
    }
    if (find_id(get(b, "sort-orders"), "order-id", id, NULL) == NULL) {
        return ARG(err, "Cannot set default sort order to unknown sort "
                   "order: %d", id);
    }
    iset(b, "default-sort-order-id", id);
    b->changed = true;
    return true;
}

/* ----------------------------------------------------------- snapshots */

/* Optional members of a snapshot: name, JSON type, minimum when integer. */
static bool snap_members(json_t *s, struct fl_err *err)
{
    static const struct {
        const char *key;
        json_type   type;
    } opt[] = {
        {"sequence-number", JSON_INTEGER}, {"parent-snapshot-id", JSON_INTEGER},
        {"manifest-list", JSON_STRING},    {"manifests", JSON_ARRAY},
        {"schema-id", JSON_INTEGER},       {"first-row-id", JSON_INTEGER},
        {"added-rows", JSON_INTEGER},      {"key-id", JSON_STRING},
    };
    json_int_t v = 0;
    json_t    *x;
    size_t     i;

    if (!fl_json_int(s, "snapshot-id", true, &v, err) ||
        !fl_json_int(s, "timestamp-ms", true, &v, err)) {
        return false;
    }
    if (v < 0) {
        return BAD(err, "invalid snapshot: field \"timestamp-ms\" must not "
                   "be negative");
    }
    for (i = 0; i < FL_ARRAY_LEN(opt); i++) {
        x = json_object_get(s, opt[i].key);
        if (x != NULL && !json_is_null(x) && json_typeof(x) != opt[i].type) {
            return BAD(err, "invalid snapshot: field \"%s\" has the wrong "
                       "type", opt[i].key);
        }
        if (json_is_integer(x) && json_integer_value(x) < 0 &&
            opt[i].type == JSON_INTEGER && i != 1) {
            return BAD(err, "invalid snapshot: field \"%s\" must not be "
                       "negative", opt[i].key);
        }
    }
    if (!json_is_string(json_object_get(s, "manifest-list")) &&
        !json_is_array(json_object_get(s, "manifests"))) {
        return BAD(err, "missing required field \"manifest-list\"");
    }
    x = json_object_get(s, "summary");
    return x == NULL || json_is_null(x) ||
           fl_json_string_map(x, "summary", err);
}

/* The summary as SnapshotParser writes it: operation first (default
 * "overwrite" when there are other keys); NULL when empty.  New reference. */
static json_t *snap_summary(json_t *s)
{
    json_t     *in = json_object_get(s, "summary");
    json_t     *out;
    json_t     *op;
    json_t     *v;
    const char *k;

    if (json_object_size(in) == 0) {
        return NULL;
    }
    op = json_object_get(in, "operation");
    out = json_object();
    json_object_set_new(out, "operation",
                        op ? json_incref(op) : json_string("overwrite"));
    json_object_foreach(in, k, v) {
        if (strcmp(k, "operation") != 0) {
            json_object_set(out, k, v);
        }
    }
    return out;
}

/*
 * Snapshot `s` checked and in SnapshotParser's key order (new reference):
 * sequence-number only when above 0, parent only when set, then unknown
 * members kept at the end.
 */
static json_t *snap_canon(json_t *s, struct fl_err *err)
{
    static const char *const order[] = {
        "sequence-number", "snapshot-id", "parent-snapshot-id",
        "timestamp-ms", "summary", "manifest-list", "manifests", "schema-id",
        "first-row-id", "added-rows", "key-id",
    };
    json_t     *out;
    json_t     *v;
    const char *k;
    size_t      i;

    if (!snap_members(s, err)) {
        return NULL;
    }
    out = json_object();
    for (i = 0; i < FL_ARRAY_LEN(order); i++) {
        v = json_object_get(s, order[i]);
        if (i == 4) {
            v = snap_summary(s);
            if (v != NULL) {
                json_object_set_new(out, "summary", v);
            }
        } else if (v != NULL && !json_is_null(v) &&
                   (i != 0 || json_integer_value(v) > 0)) {
            json_object_set(out, order[i], v);
        }
    }
    json_object_foreach(s, k, v) {
        if (json_object_get(out, k) == NULL && strcmp(k, "summary") != 0 &&
            strcmp(k, "sequence-number") != 0 && !json_is_null(v)) {
            json_object_set(out, k, v);
        }
    }
    return out;
}

/* Row lineage (v3): first-row-id at or after next-row-id, then advance. */
static bool snap_rows(struct mb *b, json_t *c, struct fl_err *err)
{
    json_int_t next = iget(b->m, "next-row-id");
    json_t    *first = json_object_get(c, "first-row-id");
    json_t    *added = json_object_get(c, "added-rows");

    if (fv_of(b) < 3) {
        return true;
    }
    if (first == NULL) {
        return VAL(err, "Cannot add a snapshot: first-row-id is null");
    }
    if (json_integer_value(first) < next) {
        return RETRY(err, "Cannot add a snapshot, first-row-id is behind "
                     "table next-row-id: %" JSON_INTEGER_FORMAT " < %"
                     JSON_INTEGER_FORMAT, json_integer_value(first), next);
    }
    if (added == NULL) {
        return VAL(err, "Cannot add a snapshot: added-rows is null");
    }
    if (json_integer_value(added) > INT64_MAX - next) {
        return VAL(err, "Cannot add a snapshot: next-row-id overflows");
    }
    iset(b, "next-row-id", next + json_integer_value(added));
    return true;
}

/* spec: add-snapshot.  Moves no ref; set-snapshot-ref does that. */
static bool up_add_snapshot(struct mb *b, json_t *u, struct fl_err *err)
{
    json_t    *s;
    json_t    *c;
    json_int_t seq, last = iget(b->m, "last-sequence-number");
    bool       ok;

    if (!fl_json_obj(u, "snapshot", true, &s, err)) {
        return false;
    }
    if (json_array_size(get(b, "schemas")) == 0 ||
        json_array_size(get(b, "partition-specs")) == 0 ||
        json_array_size(get(b, "sort-orders")) == 0) {
        return VAL(err, "Attempting to add a snapshot before a %s is added",
                   json_array_size(get(b, "schemas")) == 0 ? "schema"
                   : json_array_size(get(b, "partition-specs")) == 0
                       ? "partition spec" : "sort order");
    }
    c = snap_canon(s, err);
    if (c == NULL) {
        return false;
    }
    seq = iget(c, "sequence-number");
    if (find_id(get(b, "snapshots"), "snapshot-id", iget(c, "snapshot-id"),
                NULL) != NULL) {
        ok = VAL(err, "Snapshot already exists for id: %" JSON_INTEGER_FORMAT,
                 iget(c, "snapshot-id"));
    } else if (fv_of(b) > 1 && seq <= last &&
               json_object_get(c, "parent-snapshot-id") != NULL) {
        ok = RETRY(err, "Cannot add snapshot with sequence number %"
                   JSON_INTEGER_FORMAT " older than last sequence number %"
                   JSON_INTEGER_FORMAT, seq, last);
    } else {
        ok = snap_rows(b, c, err);
    }
    if (ok) {
        iset(b, "last-sequence-number", seq);
        json_array_append(get(b, "snapshots"), c);
        json_array_append_new(b->added_snaps,
                              json_integer(iget(c, "snapshot-id")));
        b->changed = true;
    }
    json_decref(c);
    return ok;
}

/* The optional positive retention members of a SnapshotReference. */
static bool ref_retention(json_t *u, bool tag, json_t *ref,
                          struct fl_err *err)
{
    static const struct {
        const char *key;
        const char *tag_msg;
        const char *pos_msg;
    } keys[] = {
        {"min-snapshots-to-keep", "minSnapshotsToKeep",
         "Min snapshots to keep must be greater than 0"},
        {"max-snapshot-age-ms", "maxSnapshotAgeMs",
         "Max snapshot age must be greater than 0 ms"},
        {"max-ref-age-ms", NULL, "Max reference age must be greater than 0"},
    };
    json_int_t v = 0;
    size_t     i;
    json_t    *x;

    for (i = 0; i < FL_ARRAY_LEN(keys); i++) {
        x = json_object_get(u, keys[i].key);
        if (x == NULL || json_is_null(x)) {
            continue;
        }
        if (!fl_json_int(u, keys[i].key, true, &v, err)) {
            return false;
        }
        if (i == 0 && v > INT32_MAX) {
            return BAD(err, "field \"%s\" is out of range", keys[i].key);
        }
        if (tag && keys[i].tag_msg != NULL) {
            return ARG(err, "Tags do not support setting %s",
                       keys[i].tag_msg);
        }
        if (v <= 0) {
            return ARG(err, "%s", keys[i].pos_msg);
        }
        json_object_set_new(ref, keys[i].key, json_integer(v));
    }
    return true;
}

/* Setting main moves current-snapshot-id and appends to snapshot-log. */
static void ref_main(struct mb *b, json_t *snap)
{
    json_int_t sid = iget(snap, "snapshot-id");
    bool       added = in_list(b->added_snaps, sid);
    json_int_t ts = added ? iget(snap, "timestamp-ms") : b->now_ms;

    iset(b, "current-snapshot-id", sid);
    json_array_append_new(get(b, "snapshot-log"),
                          json_pack("{s:I, s:I}", "timestamp-ms", ts,
                                    "snapshot-id", sid));
    if (added) {
        json_array_append_new(b->main_sets, json_integer(sid));
    }
}

/*
 * spec: set-snapshot-ref.  The ref is replaced by exactly the given
 * members; an identical ref is a no-op.
 */
static bool up_set_ref(struct mb *b, json_t *u, struct fl_err *err)
{
    const char *name;
    const char *type;
    json_t     *ref = NULL;
    json_t     *snap;
    json_int_t  sid = 0;
    bool        tag;

    if (!fl_json_str(u, "ref-name", true, &name, err) ||
        !fl_json_str(u, "type", true, &type, err) ||
        !fl_json_int(u, "snapshot-id", true, &sid, err)) {
        return false;
    }
    if (strcasecmp(type, "branch") != 0 && strcasecmp(type, "tag") != 0) {
        return ARG(err, "Invalid snapshot ref type: %s", type);
    }
    tag = strcasecmp(type, "tag") == 0;
    ref = json_pack("{s:I, s:s}", "snapshot-id", sid, "type",
                    tag ? "tag" : "branch");
    if (!ref_retention(u, tag, ref, err)) {
        json_decref(ref);
        return false;
    }
    if (json_equal(ref, json_object_get(get(b, "refs"), name))) {
        json_decref(ref);
        return true;
    }
    snap = find_id(get(b, "snapshots"), "snapshot-id", sid, NULL);
    if (snap == NULL || (tag && strcmp(name, "main") == 0)) {
        json_decref(ref);
        return snap == NULL
               ? VAL(err, "Cannot set %s to unknown snapshot: %"
                     JSON_INTEGER_FORMAT, name, sid)
               : VAL(err, "Cannot set main to a tag, it must be a branch");
    }
    if (strcmp(name, "main") == 0) {
        ref_main(b, snap);
    }
    json_object_set_new(get(b, "refs"), name, ref);
    b->changed = true;
    return true;
}

/* Drop ref `name`; dropping main clears current-snapshot-id. */
static void ref_drop(struct mb *b, const char *name)
{
    if (strcmp(name, "main") == 0) {
        iset(b, "current-snapshot-id", -1);
    }
    if (json_object_get(get(b, "refs"), name) != NULL) {
        json_object_del(get(b, "refs"), name);
        b->changed = true;
    }
}

/* spec: remove-snapshot-ref */
static bool up_remove_ref(struct mb *b, json_t *u, struct fl_err *err)
{
    const char *name;

    if (!fl_json_str(u, "ref-name", true, &name, err)) {
        return false;
    }
    ref_drop(b, name);
    return true;
}

/* Remove the entries of list `key` whose snapshot-id is `sid`. */
static void drop_by_snapshot(struct mb *b, const char *key, json_int_t sid)
{
    json_t *arr = get(b, key);
    size_t  i;

    for (i = json_array_size(arr); i-- > 0;) {
        if (iget(json_array_get(arr, i), "snapshot-id") == sid) {
            json_array_remove(arr, i);
        }
    }
}

/*
 * spec: remove-snapshots.  Missing ids are ignored.  Statistics of removed
 * snapshots go with them, and so does every ref left pointing nowhere.
 */
static bool up_remove_snapshots(struct mb *b, json_t *u, struct fl_err *err)
{
    json_t     *ids;
    json_t     *snaps = get(b, "snapshots");
    json_t     *r;
    json_t     *tmp;
    const char *name;
    size_t      i;

    if (absent_or_null(u, "snapshot-ids")) {
        return ARG(err, "Invalid set of snapshot ids to remove: must be "
                   "non-null");
    }
    if (!int_array(u, "snapshot-ids", &ids, err)) {
        return false;
    }
    for (i = json_array_size(snaps); i-- > 0;) {
        json_int_t sid = iget(json_array_get(snaps, i), "snapshot-id");

        if (in_list(ids, sid)) {
            json_array_remove(snaps, i);
            drop_by_snapshot(b, "statistics", sid);
            drop_by_snapshot(b, "partition-statistics", sid);
            b->removed = true;
            b->changed = true;
        }
    }
    json_object_foreach_safe(get(b, "refs"), tmp, name, r) {
        if (find_id(snaps, "snapshot-id", iget(r, "snapshot-id"), NULL) ==
            NULL) {
            ref_drop(b, name);
        }
    }
    return true;
}

/* ------------------------------------------------- location, properties */

/* spec: set-location (a trailing '/' is dropped, as build() does). */
static bool up_set_location(struct mb *b, json_t *u, struct fl_err *err)
{
    const char *loc;
    const char *cur = json_string_value(get(b, "location"));
    size_t      n;

    if (!fl_json_str(u, "location", true, &loc, err)) {
        return false;
    }
    n = strlen(loc);
    while (n > 1 && loc[n - 1] == '/') {
        n--;
    }
    if (cur != NULL && strlen(cur) == n && strncmp(cur, loc, n) == 0) {
        return true;
    }
    json_object_set_new(b->m, "location", json_stringn(loc, n));
    if (!cat_location_valid(json_string_value(get(b, "location")))) {
        return BAD(err, "invalid table location \"%s\"", loc);
    }
    b->changed = true;
    return true;
}

/* The map or list of a properties update, under its legacy name too
 * (borrowed). */
static json_t *legacy_member(json_t *u, const char *key, const char *old)
{
    json_t *v = json_object_get(u, key);

    return v != NULL ? v : json_object_get(u, old);
}

/*
 * spec: set-properties ("updates"; legacy "updated") on the properties
 * object `props` of a table or view being built (modified in place); sets
 * *changed when some value differs.  Errors: 400 BadRequestException.
 */
bool cat_props_set(json_t *props, json_t *u, bool *changed,
                   struct fl_err *err)
{
    json_t     *upd = legacy_member(u, "updates", "updated");
    json_t     *v;
    const char *k;

    if (upd == NULL || json_is_null(upd)) {
        return BAD(err, "missing required field \"updates\"");
    }
    if (!cat_props_check(upd, err)) {
        return false;
    }
    json_object_foreach(upd, k, v) {
        if (!json_equal(json_object_get(props, k), v)) {
            json_object_set(props, k, v);
            *changed = true;
        }
    }
    return true;
}

/*
 * spec: remove-properties ("removals"; legacy "removed") on `props`
 * (modified in place); missing keys are ignored; sets *changed when a key
 * was removed.  Errors: 400 BadRequestException.
 */
bool cat_props_remove(json_t *props, json_t *u, bool *changed,
                      struct fl_err *err)
{
    json_t *rm = legacy_member(u, "removals", "removed");
    json_t *v;
    size_t  i;

    if (!json_is_array(rm)) {
        return BAD(err, "field \"removals\" must be an array of strings");
    }
    json_array_foreach(rm, i, v) {
        if (!json_is_string(v)) {
            return BAD(err, "field \"removals\" must be an array of strings");
        }
    }
    json_array_foreach(rm, i, v) {
        if (json_object_del(props, json_string_value(v)) == 0) {
            *changed = true;
        }
    }
    return true;
}

static bool up_set_props(struct mb *b, json_t *u, struct fl_err *err)
{
    return cat_props_set(get(b, "properties"), u, &b->changed, err);
}

static bool up_remove_props(struct mb *b, json_t *u, struct fl_err *err)
{
    return cat_props_remove(get(b, "properties"), u, &b->changed, err);
}

/* ---------------------------------------------------------- statistics */

static bool blob_check(json_t *bm, struct fl_err *err)
{
    const char *type;
    json_int_t  v = 0;
    json_t     *fields;
    json_t     *f;
    json_t     *props;
    size_t      i;

    if (!json_is_object(bm)) {
        return BAD(err, "a blob-metadata entry must be an object");
    }
    if (!fl_json_str(bm, "type", true, &type, err) ||
        !fl_json_int(bm, "snapshot-id", true, &v, err) ||
        !fl_json_int(bm, "sequence-number", true, &v, err) ||
        !fl_json_arr(bm, "fields", true, &fields, err) ||
        !fl_json_obj(bm, "properties", false, &props, err) ||
        (props != NULL && !fl_json_string_map(props, "properties", err))) {
        return false;
    }
    json_array_foreach(fields, i, f) {
        if (!json_is_integer(f)) {
            return BAD(err, "field \"fields\" must be an array of integers");
        }
    }
    return true;
}

/* A StatisticsFile, or with `part` a PartitionStatisticsFile. */
static bool stats_check(json_t *s, bool part, struct fl_err *err)
{
    const char *path;
    json_int_t  v = 0;
    json_t     *blobs;
    json_t     *bm;
    size_t      i;

    if (!json_is_object(s)) {
        return BAD(err, "a statistics file must be an object");
    }
    if (!fl_json_int(s, "snapshot-id", true, &v, err) ||
        !fl_json_str(s, "statistics-path", true, &path, err) ||
        !fl_json_int(s, "file-size-in-bytes", true, &v, err)) {
        return false;
    }
    if (part) {
        return true;
    }
    if (!fl_json_int(s, "file-footer-size-in-bytes", true, &v, err) ||
        !fl_json_str(s, "key-metadata", false, &path, err) ||
        !fl_json_arr(s, "blob-metadata", true, &blobs, err)) {
        return false;
    }
    json_array_foreach(blobs, i, bm) {
        if (!blob_check(bm, err)) {
            return false;
        }
    }
    return true;
}

/* Replace or append the entry of list `key` for stats file `s`. */
static bool stats_set(struct mb *b, json_t *u, const char *member,
                      const char *key, struct fl_err *err)
{
    json_t *s;
    json_t *arr = get(b, key);
    json_t *old;
    size_t  idx = 0;

    if (!fl_json_obj(u, member, true, &s, err) ||
        !stats_check(s, strcmp(key, "partition-statistics") == 0, err)) {
        return false;
    }
    old = find_id(arr, "snapshot-id", iget(s, "snapshot-id"), &idx);
    if (old != NULL && json_equal(old, s)) {
        return true;
    }
    if (old != NULL) {
        json_array_set(arr, idx, s);
    } else {
        json_array_append(arr, s);
    }
    b->changed = true;
    return true;
}

static bool stats_remove(struct mb *b, json_t *u, const char *key,
                         struct fl_err *err)
{
    json_int_t sid = 0;
    size_t     idx = 0;

    if (!fl_json_int(u, "snapshot-id", true, &sid, err)) {
        return false;
    }
    if (find_id(get(b, key), "snapshot-id", sid, &idx) != NULL) {
        json_array_remove(get(b, key), idx);
        b->changed = true;
    }
    return true;
}

/* spec: set-statistics (the deprecated top-level snapshot-id is ignored) */
static bool up_set_stats(struct mb *b, json_t *u, struct fl_err *err)
{
    return stats_set(b, u, "statistics", "statistics", err);
}

/* spec: remove-statistics */
static bool up_remove_stats(struct mb *b, json_t *u, struct fl_err *err)
{
    return stats_remove(b, u, "statistics", err);
}

/* spec: set-partition-statistics */
static bool up_set_pstats(struct mb *b, json_t *u, struct fl_err *err)
{
    return stats_set(b, u, "partition-statistics", "partition-statistics",
                     err);
}

/* spec: remove-partition-statistics */
static bool up_remove_pstats(struct mb *b, json_t *u, struct fl_err *err)
{
    return stats_remove(b, u, "partition-statistics", err);
}

/* ----------------------------------------------------- encryption keys */

/* spec: add-encryption-key.  A key-id already present is a no-op. */
static bool up_add_key(struct mb *b, json_t *u, struct fl_err *err)
{
    const char *id, *meta, *by;
    json_t     *k;
    json_t     *props;
    json_t     *keys = get(b, "encryption-keys");
    json_t     *e;
    json_t     *out;
    size_t      i;

    k = json_object_get(u, "encryption-key");
    if (!json_is_object(k)) {
        return ARG(err, "Invalid encryption key, must be non-null object");
    }
    if (!fl_json_str(k, "key-id", true, &id, err) ||
        !fl_json_str(k, "encrypted-key-metadata", true, &meta, err) ||
        !fl_json_str(k, "encrypted-by-id", false, &by, err) ||
        !fl_json_obj(k, "properties", false, &props, err) ||
        (props != NULL && !fl_json_string_map(props, "properties", err))) {
        return false;
    }
    json_array_foreach(keys, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "key-id")), id) == 0) {
            return true;
        }
    }
    out = json_pack("{s:s, s:s}", "key-id", id, "encrypted-key-metadata",
                    meta);
    if (by != NULL) {
        json_object_set_new(out, "encrypted-by-id", json_string(by));
    }
    if (props != NULL) {
        json_object_set(out, "properties", props);
    }
    if (!json_is_array(keys)) {
        json_object_set_new(b->m, "encryption-keys", json_array());
    }
    json_array_append_new(get(b, "encryption-keys"), out);
    b->changed = true;
    return true;
}

/* spec: remove-encryption-key */
static bool up_remove_key(struct mb *b, json_t *u, struct fl_err *err)
{
    const char *id;
    json_t     *keys = get(b, "encryption-keys");
    size_t      i;

    if (!fl_json_str(u, "key-id", true, &id, err)) {
        return false;
    }
    for (i = json_array_size(keys); i-- > 0;) {
        const char *k = json_string_value(json_object_get(
            json_array_get(keys, i), "key-id"));

        if (k != NULL && strcmp(k, id) == 0) {
            json_array_remove(keys, i);
            b->changed = true;
        }
    }
    return true;
}

/* ------------------------------------------------------------ dispatch */

static const struct action {
    const char *name;
    update_fn   fn;
} actions[] = {
    {"assign-uuid", up_assign_uuid},
    {"upgrade-format-version", up_format_version},
    {"add-schema", up_add_schema},
    {"set-current-schema", up_current_schema},
    {"add-spec", up_add_spec},
    {"set-default-spec", up_default_spec},
    {"add-sort-order", up_add_order},
    {"set-default-sort-order", up_default_order},
    {"add-snapshot", up_add_snapshot},
    {"set-snapshot-ref", up_set_ref},
    {"remove-snapshots", up_remove_snapshots},
    {"remove-snapshot-ref", up_remove_ref},
    {"set-location", up_set_location},
    {"set-properties", up_set_props},
    {"remove-properties", up_remove_props},
    {"set-statistics", up_set_stats},
    {"remove-statistics", up_remove_stats},
    {"set-partition-statistics", up_set_pstats},
    {"remove-partition-statistics", up_remove_pstats},
    {"remove-partition-specs", up_remove_specs},
    {"remove-schemas", up_remove_schemas},
    {"add-encryption-key", up_add_key},
    {"remove-encryption-key", up_remove_key},
};

/* The action of update `u` (matched case-insensitively, as Java does). */
static const struct action *action_of(json_t *u, struct fl_err *err)
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
    if (strcasecmp(name, "add-view-version") == 0 ||
        strcasecmp(name, "set-current-view-version") == 0) {
        BAD(err, "update action \"%s\" applies only to views", name);
        return NULL;
    }
    BAD(err, "unknown update action \"%s\"", name);
    return NULL;
}

/* ------------------------------------------------------------- build() */

/* What build() and the TableMetadata constructor insist on. */
static bool finish_required(struct mb *b, struct fl_err *err)
{
    int fv = fv_of(b);

    if (json_array_size(get(b, "schemas")) == 0) {
        return VAL(err, "Cannot build table metadata: no schema has been "
                   "added");
    }
    if (current_schema(b) == NULL) {
        return VAL(err, "Cannot build table metadata: current schema %"
                   JSON_INTEGER_FORMAT " does not exist",
                   iget(b->m, "current-schema-id"));
    }
    if (json_array_size(get(b, "partition-specs")) == 0) {
        return ARG(err, "Partition specs cannot be null or empty");
    }
    if (json_array_size(get(b, "sort-orders")) == 0) {
        return ARG(err, "Sort orders cannot be null or empty");
    }
    if (!json_is_string(get(b, "location"))) {
        return ARG(err, "Table location is required in format v%d", fv);
    }
    if (fv >= 2 && !json_is_string(get(b, "table-uuid"))) {
        return ARG(err, "UUID is required in format v%d", fv);
    }
    if (fv == 1 && iget(b->m, "last-sequence-number") != 0) {
        return ARG(err, "Sequence number must be 0 in v1: %"
                   JSON_INTEGER_FORMAT, iget(b->m, "last-sequence-number"));
    }
    return true;
}

/*
 * updateSnapshotLog: when snapshots were removed or main moved through
 * snapshots added in this commit, drop the entries of those intermediate
 * snapshots, and for a removed snapshot drop its entry and every earlier
 * one (no gaps in history).  The last entry must be the current snapshot.
 */
static bool snaplog_rewrite(struct mb *b, struct fl_err *err)
{
    json_t    *snaps = get(b, "snapshots");
    json_t    *log;
    json_t    *e;
    json_int_t cur = iget(b->m, "current-snapshot-id");
    json_int_t sid;
    bool       inter = false;
    size_t     i;

    json_array_foreach(b->main_sets, i, e) {
        inter = inter || json_integer_value(e) != cur;
    }
    if (!inter && !b->removed) {
        return true;
    }
    log = json_array();
    json_array_foreach(get(b, "snapshot-log"), i, e) {
        sid = iget(e, "snapshot-id");
        if (find_id(snaps, "snapshot-id", sid, NULL) == NULL) {
            if (b->removed) {
                json_array_clear(log);
            }
        } else if (!in_list(b->main_sets, sid) || sid == cur) {
            json_array_append(log, e);
        }
    }
    e = json_array_get(log, json_array_size(log) - 1);
    if (find_id(snaps, "snapshot-id", cur, NULL) != NULL &&
        (e == NULL || iget(e, "snapshot-id") != cur)) {
        json_decref(log);
        return VAL(err, "Cannot set invalid snapshot log: latest entry is "
                   "not the current snapshot");
    }
    json_object_set_new(b->m, "snapshot-log", log);
    return true;
}

/*
 * The log must be in time order (one minute of skew allowed); the new
 * last-updated-ms is now, but never before the last log entry or the base
 * document's own last-updated-ms, so it cannot fail that check either.
 */
static bool finish_time(struct mb *b, json_t *base, struct fl_err *err)
{
    json_t    *log = get(b, "snapshot-log");
    json_t    *e;
    json_int_t lum = b->now_ms;
    json_int_t prev = 0;
    size_t     i;

    json_array_foreach(log, i, e) {
        if (i > 0 && iget(e, "timestamp-ms") - prev < -ONE_MINUTE_MS) {
            return ARG(err, "Expected sorted snapshot log entries");
        }
        prev = iget(e, "timestamp-ms");
        lum = prev > lum ? prev : lum;
    }
    if (base != NULL && iget(base, "last-updated-ms") > lum) {
        lum = iget(base, "last-updated-ms");
    }
    iset(b, "last-updated-ms", lum);
    return true;
}

/* The format version of a create transaction: its first upgrade, or 2. */
static bool create_version(json_t *updates, int *fv, struct fl_err *err)
{
    json_t     *u;
    const char *a;
    size_t      i;

    *fv = 2;
    json_array_foreach(updates, i, u) {
        a = json_string_value(json_object_get(u, "action"));
        if (a == NULL || strcasecmp(a, "upgrade-format-version") != 0) {
            continue;
        }
        if (!cat_json_i32(u, "format-version", true, fv, err)) {
            return false;
        }
        if (*fv < 1 || *fv > CAT_FORMAT_MAX) {
            return ARG(err, "Unsupported format version: v%d (supported: "
                       "v%d)", *fv, CAT_FORMAT_MAX);
        }
        break;
    }
    return true;
}

/* TableMetadata.buildFromEmpty(fv): nothing but a fresh uuid (new). */
static json_t *empty_meta(int fv)
{
    char uuid[37];

    fl_uuid_v4(uuid);
    return json_pack("{s:i, s:s, s:i, s:i, s:i, s:i, s:[], s:i, s:[], s:i,"
                     " s:i, s:[], s:{}, s:i, s:i, s:{}, s:[], s:[], s:[],"
                     " s:[], s:[]}",
                     "format-version", fv, "table-uuid", uuid,
                     "last-sequence-number", 0, "last-updated-ms", 0,
                     "last-column-id", 0, "current-schema-id", 0, "schemas",
                     "default-spec-id", 0, "partition-specs",
                     "last-partition-id", 0, "default-sort-order-id", 0,
                     "sort-orders", "properties", "current-snapshot-id", -1,
                     "next-row-id", 0, "refs", "snapshots", "statistics",
                     "partition-statistics", "snapshot-log", "metadata-log");
}

static bool mb_init(struct mb *b, json_t *base, json_t *updates,
                    int64_t now_ms, struct fl_err *err)
{
    int v = 2;

    memset(b, 0, sizeof(*b));
    b->now_ms = now_ms;
    b->added_schemas = json_array();
    b->added_specs = json_array();
    b->added_orders = json_array();
    b->added_snaps = json_array();
    b->main_sets = json_array();
    if (updates != NULL && !json_is_null(updates) && !json_is_array(updates)) {
        return BAD(err, "field \"updates\" must be an array");
    }
    if (base != NULL) {
        /* NB: the arithmetic below trusts ids and counters to be in range */
        if (!cat_meta_validate(base, err)) {
            return false;
        }
        b->m = cat_meta_normalize(base);
        return true;
    }
    if (!create_version(updates, &v, err)) {
        return false;
    }
    b->m = empty_meta(v);
    b->changed = true;
    return true;
}

static void mb_free(struct mb *b)
{
    json_decref(b->m);
    json_decref(b->added_schemas);
    json_decref(b->added_specs);
    json_decref(b->added_orders);
    json_decref(b->added_snaps);
    json_decref(b->main_sets);
}

/*
 * Apply TableUpdate array `updates` (NULL is none) to `base` in order, with
 * TableMetadata.Builder's semantics (spec: updateTable, TableUpdate).
 * `base` must pass cat_meta_validate (else 400 ValidationException).
 * `base` NULL is a create transaction: the build starts from empty
 * metadata at the format version of the first upgrade-format-version
 * (default 2) and always counts as a change.
 *
 * When no update had an effect, *changed is false and the result is a copy
 * of `base`.  Otherwise *changed is true and the result has
 * last-updated-ms = max(now_ms, the last snapshot-log entry, base's
 * last-updated-ms), has passed build()'s checks and cat_meta_validate, and
 * is in canonical order.  metadata-log is left alone (cat_meta_log_append).
 *
 * Returns a new reference, or NULL with `err` set: 400 for a malformed,
 * unknown or invalid update, 409 CommitFailedException "Validation failed,
 * please retry: ..." for a stale sequence number or first-row-id.  `base`
 * and `updates` are borrowed and never modified.
 */
json_t *cat_meta_update(json_t *base, json_t *updates, int64_t now_ms,
                        bool *changed, struct fl_err *err)
{
    struct mb            b;
    const struct action *act;
    json_t              *u;
    json_t              *out = NULL;
    size_t               i;

    *changed = false;
    if (!mb_init(&b, base, updates, now_ms, err)) {
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
    if (!finish_required(&b, err) || !snaplog_rewrite(&b, err) ||
        !finish_time(&b, base, err)) {
        goto out;
    }
    out = cat_meta_canonical(b.m);
    if (!cat_meta_validate(out, err)) {
        json_decref(out);
        out = NULL;
        goto out;
    }
    *changed = true;
out:
    mb_free(&b);
    return out;
}
