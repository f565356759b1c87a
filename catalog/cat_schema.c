/*
 * cat_schema.c
 *
 * Iceberg schemas, partition specs and sort orders as JSON values: the type
 * grammar (Types.fromTypeName), the column index with full dotted names
 * (IndexByName), identifier-field rules, per-format-version type checks
 * (Schema.checkCompatibility), fresh id assignment for new tables
 * (AssignFreshIds: a struct's own fields first, then each nested type in
 * order), and binding a partition spec or sort order to a schema with the
 * checks of PartitionSpec.Builder and SortOrder.checkCompatibility.
 *
 * Every value returned is canonical: primitive types in Java's spelling
 * ("decimal(10, 2)"), known transforms in lower case, keys in Java's write
 * order.  This file knows nothing of table metadata as a whole; that is
 * cat_meta.c and cat_meta_update.c.  Each call uses a private arena for its
 * scratch index and frees it before returning.
 */
#include "catalog/catalog_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BAD(e, ...) FL_ERR((e), 400, "BadRequestException", __VA_ARGS__)
#define ARG(e, ...) FL_ERR((e), 400, "IllegalArgumentException", __VA_ARGS__)
#define VAL(e, ...) FL_ERR((e), 400, "ValidationException", __VA_ARGS__)

#define PARTITION_ID_START 1000     /* first partition field id */
#define NAME_MAX_BYTES     256      /* longest type or transform string */

enum ptype {
    PT_BOOLEAN, PT_INT, PT_LONG, PT_FLOAT, PT_DOUBLE, PT_DATE, PT_TIME,
    PT_TIMESTAMP, PT_TIMESTAMPTZ, PT_TIMESTAMP_NS, PT_TIMESTAMPTZ_NS,
    PT_STRING, PT_UUID, PT_BINARY, PT_UNKNOWN, PT_VARIANT, PT_GEOMETRY,
    PT_GEOGRAPHY, PT_DECIMAL, PT_FIXED, PT_STRUCT, PT_LIST, PT_MAP
};

#define M(pt) (1u << (pt))
#define TS_MASK (M(PT_TIMESTAMP) | M(PT_TIMESTAMPTZ) | M(PT_TIMESTAMP_NS) | \
                 M(PT_TIMESTAMPTZ_NS))
#define NOT_PRIMITIVE (M(PT_VARIANT) | M(PT_STRUCT) | M(PT_LIST) | M(PT_MAP))

static const struct prim {
    const char *name;
    int         pt;
    int         since;          /* first format version with the type */
} prims[] = {
    {"boolean", PT_BOOLEAN, 1},         {"int", PT_INT, 1},
    {"long", PT_LONG, 1},               {"float", PT_FLOAT, 1},
    {"double", PT_DOUBLE, 1},           {"date", PT_DATE, 1},
    {"time", PT_TIME, 1},               {"timestamp", PT_TIMESTAMP, 1},
    {"timestamptz", PT_TIMESTAMPTZ, 1}, {"timestamp_ns", PT_TIMESTAMP_NS, 3},
    {"timestamptz_ns", PT_TIMESTAMPTZ_NS, 3},
    {"string", PT_STRING, 1},           {"uuid", PT_UUID, 1},
    {"binary", PT_BINARY, 1},           {"unknown", PT_UNKNOWN, 3},
    {"variant", PT_VARIANT, 3},
};

enum transform {
    TR_IDENTITY, TR_BUCKET, TR_TRUNCATE, TR_YEAR, TR_MONTH, TR_DAY, TR_HOUR,
    TR_VOID, TR_UNKNOWN
};

/* Source types each transform accepts (Transform.canTransform). */
static unsigned transform_mask(int tr)
{
    switch (tr) {
    case TR_IDENTITY:
        return ~(NOT_PRIMITIVE | M(PT_GEOMETRY) | M(PT_GEOGRAPHY));
    case TR_BUCKET:
        return M(PT_INT) | M(PT_LONG) | M(PT_DATE) | M(PT_TIME) | TS_MASK |
               M(PT_STRING) | M(PT_BINARY) | M(PT_FIXED) | M(PT_DECIMAL) |
               M(PT_UUID);
    case TR_TRUNCATE:
        return M(PT_INT) | M(PT_LONG) | M(PT_STRING) | M(PT_BINARY) |
               M(PT_DECIMAL);
    case TR_YEAR:
    case TR_MONTH:
    case TR_DAY:
        return M(PT_DATE) | TS_MASK;
    case TR_HOUR:
        return TS_MASK;
    default:
        return ~0u;             /* void and unknown transforms: anything */
    }
}

struct col {                    /* one field, list element or map key/value */
    int         id;
    const char *name;           /* full name: "a.b", "l.element", "m.key" */
    const char *tname;          /* canonical type, or "struct"/"list"/"map" */
    json_t     *field;          /* the struct field (borrowed), else NULL */
    int         pt;             /* enum ptype */
    int         parent;         /* index in cols.v of the enclosing column */
    bool        required;
};

struct cols {
    struct col *v;              /* walk order; parent indexes point here */
    struct col *byid;           /* the same, sorted by id */
    int         n;
    int         cap;
    int         highest;        /* highest id, 0 when there are none */
};

struct walk {
    struct fl_arena *a;
    struct cols      c;
    struct fl_err   *err;
    bool             fresh;     /* assign new ids from 1 (createTable) */
    int              last;      /* the last fresh id given */
    json_t          *idmap;     /* fresh: {"<old id>": new id} */
};

static json_t *walk_type(struct walk *w, json_t *t, int col);

/*
 * Read integer member `key` of object `obj` into *out when it fits an int
 * (field, schema, spec and order ids are Java ints).  *out is left alone
 * when the member is absent or null and not required.  Errors: 400
 * BadRequestException.
 */
bool cat_json_i32(json_t *obj, const char *key, bool required, int *out,
                  struct fl_err *err)
{
    json_int_t v = 0;
    json_t    *x = json_is_object(obj) ? json_object_get(obj, key) : NULL;

    if (x == NULL || json_is_null(x)) {
        if (required) {
            return BAD(err, "missing required field \"%s\"", key);
        }
        return true;
    }
    if (!fl_json_int(obj, key, required, &v, err)) {
        return false;
    }
    if (v < INT32_MIN || v > INT32_MAX) {
        return BAD(err, "field \"%s\" is out of range", key);
    }
    *out = (int)v;
    return true;
}

/* ------------------------------------------------------------ type names */

/* Skip blanks, read a decimal of at most 9 digits, skip blanks. */
static const char *scan_uint(const char *p, unsigned *v)
{
    int n = 0;

    while (*p == ' ') {
        p++;
    }
    *v = 0;
    while (isdigit((unsigned char)*p) && n < 9) {
        *v = *v * 10 + (unsigned)(*p++ - '0');
        n++;
    }
    if (n == 0 || isdigit((unsigned char)*p)) {
        return NULL;
    }
    while (*p == ' ') {
        p++;
    }
    return p;
}

/*
 * geometry[(crs)] and geography[(crs[, algorithm])], case-insensitive.
 * The parameters are kept as written; only the keyword is lower-cased.
 */
static bool geo_parse(struct fl_arena *a, const char *s, int *pt,
                      const char **canon)
{
    const char *kw = strncasecmp(s, "geometry", 8) == 0    ? "geometry"
                     : strncasecmp(s, "geography", 9) == 0 ? "geography"
                                                           : NULL;
    const char *p;
    size_t      n;

    if (kw == NULL) {
        return false;
    }
    p = s + strlen(kw);
    while (*p == ' ') {
        p++;
    }
    *pt = kw[3] == 'm' ? PT_GEOMETRY : PT_GEOGRAPHY;
    if (*p == '\0') {
        *canon = kw;
        return true;
    }
    n = strlen(p);
    if (p[0] != '(' || p[n - 1] != ')' || memchr(p + 1, ')', n - 2)) {
        return false;
    }
    *canon = fl_sprintf(a, "%s%s", kw, p);
    return true;
}

/*
 * Parse primitive type name `s` as Types.fromTypeName does (the name is
 * case-insensitive) into its kind and Java's canonical spelling.
 */
static bool prim_parse(struct fl_arena *a, const char *s, int *pt,
                       const char **canon)
{
    char        low[NAME_MAX_BYTES];
    size_t      n = strlen(s);
    size_t      i;
    unsigned    p, q;
    const char *r;

    if (geo_parse(a, s, pt, canon)) {
        return true;
    }
    if (n >= sizeof(low)) {
        return false;
    }
    for (i = 0; i <= n; i++) {
        low[i] = (char)tolower((unsigned char)s[i]);
    }
    for (i = 0; i < FL_ARRAY_LEN(prims); i++) {
        if (strcmp(low, prims[i].name) == 0) {
            *pt = prims[i].pt;
            *canon = prims[i].name;
            return true;
        }
    }
    if (strncmp(low, "fixed[", 6) == 0 &&
        (r = scan_uint(low + 6, &p)) != NULL && strcmp(r, "]") == 0) {
        *pt = PT_FIXED;
        *canon = fl_sprintf(a, "fixed[%u]", p);
        return true;
    }
    if (strncmp(low, "decimal(", 8) != 0 ||
        (r = scan_uint(low + 8, &p)) == NULL || *r != ',' ||
        (r = scan_uint(r + 1, &q)) == NULL || strcmp(r, ")") != 0 ||
        p > 38) {
        return false;       /* NB: Java allows precision 38 at most */
    }
    *pt = PT_DECIMAL;
    *canon = fl_sprintf(a, "decimal(%u, %u)", p, q);
    return true;
}

static int prim_since(int pt)
{
    size_t i;

    if (pt == PT_GEOMETRY || pt == PT_GEOGRAPHY) {
        return 3;
    }
    for (i = 0; i < FL_ARRAY_LEN(prims); i++) {
        if (prims[i].pt == pt) {
            return prims[i].since;
        }
    }
    return 1;
}

/* ------------------------------------------------------------ transforms */

/* bucket[N] / truncate[W]: `low` is the lower-cased transform. */
static bool width_parse(const char *low, const char *kw, char *out, size_t n,
                        struct fl_err *err)
{
    size_t      k = strlen(kw);
    const char *p = low + k;
    json_int_t  w = 0;

    if (*p != '[' || !isdigit((unsigned char)p[1])) {
        return ARG(err, "Invalid transform: %s", low);
    }
    for (p++; isdigit((unsigned char)*p) && w <= INT32_MAX; p++) {
        w = w * 10 + (*p - '0');
    }
    if (strcmp(p, "]") != 0 || w > INT32_MAX) {
        return ARG(err, "Invalid transform: %s", low);
    }
    if (w == 0) {
        return ARG(err, "%s: 0 (must be > 0)", kw[0] == 'b'
                   ? "Invalid number of buckets" : "Invalid truncate width");
    }
    snprintf(out, n, "%s[%d]", kw, (int)w);
    return true;
}

/*
 * Parse a transform string (Transforms.fromString: case-insensitive) into
 * its kind and canonical text in `out`.  Unknown names are tolerated and
 * kept as written; a malformed bucket[N] or truncate[W] is a 400.
 */
static bool transform_parse(const char *s, char *out, size_t n, int *kind,
                            struct fl_err *err)
{
    static const char *const simple[] = {
        "identity", NULL, NULL, "year", "month", "day", "hour", "void",
    };
    char   low[NAME_MAX_BYTES];
    size_t len = strlen(s);
    size_t i;

    if (len == 0 || len >= sizeof(low) || len >= n) {
        return ARG(err, "Invalid transform: \"%s\"", len ? "(too long)" : "");
    }
    for (i = 0; i <= len; i++) {
        low[i] = (char)tolower((unsigned char)s[i]);
    }
    for (i = 0; i < FL_ARRAY_LEN(simple); i++) {
        if (simple[i] != NULL && strcmp(low, simple[i]) == 0) {
            *kind = (int)i;
            snprintf(out, n, "%s", simple[i]);
            return true;
        }
    }
    if (strncmp(low, "bucket", 6) == 0) {
        *kind = TR_BUCKET;
        return width_parse(low, "bucket", out, n, err);
    }
    if (strncmp(low, "truncate", 8) == 0) {
        *kind = TR_TRUNCATE;
        return width_parse(low, "truncate", out, n, err);
    }
    *kind = TR_UNKNOWN;
    snprintf(out, n, "%s", s);
    return true;
}

/* --------------------------------------------------------- schema walker */

static int col_add(struct walk *w, int id, const char *name, int parent,
                   bool required, json_t *field)
{
    struct cols *c = &w->c;
    struct col  *v;

    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        v = fl_alloc(w->a, sizeof(*v) * (size_t)c->cap);
        if (c->n > 0) {
            memcpy(v, c->v, sizeof(*v) * (size_t)c->n);
        }
        c->v = v;
    }
    v = &c->v[c->n];
    v->id = id;
    v->name = name;
    v->tname = "struct";
    v->field = field;
    v->pt = PT_STRUCT;
    v->parent = parent;
    v->required = required;
    if (id > c->highest) {
        c->highest = id;
    }
    return c->n++;
}

/* The id a column gets in the output: its own, or the next fresh one. */
static int col_new_id(struct walk *w, int old)
{
    char key[16];

    if (!w->fresh) {
        return old;
    }
    snprintf(key, sizeof(key), "%d", old);
    json_object_set_new(w->idmap, key, json_integer(++w->last));
    return w->last;
}

static const char *child_name(struct walk *w, int parent, const char *name)
{
    if (parent < 0) {
        return fl_strdup(w->a, name);
    }
    return fl_sprintf(w->a, "%s.%s", w->c.v[parent].name, name);
}

/* Check one struct field's own members and index it. */
static bool field_add(struct walk *w, json_t *f, int parent, int *ix,
                      int *new_id)
{
    const char *name;
    const char *doc;
    bool        req = false;
    int         id = 0;

    if (!json_is_object(f)) {
        return BAD(w->err, "invalid schema: a struct field is not an object");
    }
    if (!cat_json_i32(f, "id", true, &id, w->err) ||
        !fl_json_str(f, "name", true, &name, w->err) ||
        !fl_json_bool(f, "required", true, &req, w->err) ||
        !fl_json_str(f, "doc", false, &doc, w->err)) {
        return false;
    }
    if (name[0] == '\0') {
        return BAD(w->err, "invalid schema: field %d has an empty name", id);
    }
    if (json_object_get(f, "type") == NULL) {
        return BAD(w->err, "invalid schema: field \"%s\" has no type", name);
    }
    *ix = col_add(w, id, child_name(w, parent, name), parent, req, f);
    *new_id = col_new_id(w, id);
    return true;
}

/* A struct field in canonical form, with its type walked (new). */
static json_t *field_build(struct walk *w, json_t *f, int ix, int new_id)
{
    json_t *t = walk_type(w, json_object_get(f, "type"), ix);
    json_t *out;
    json_t *v;

    if (t == NULL) {
        return NULL;
    }
    out = json_object();
    json_object_set_new(out, "id", json_integer(new_id));
    json_object_set(out, "name", json_object_get(f, "name"));
    json_object_set(out, "required", json_object_get(f, "required"));
    json_object_set_new(out, "type", t);
    v = json_object_get(f, "doc");
    if (json_is_string(v)) {
        json_object_set(out, "doc", v);
    }
    v = json_object_get(f, "initial-default");
    if (v != NULL && !json_is_null(v)) {
        json_object_set(out, "initial-default", v);
    }
    v = json_object_get(f, "write-default");
    if (v != NULL && !json_is_null(v)) {
        json_object_set(out, "write-default", v);
    }
    return out;
}

/*
 * A struct: every field is indexed (and given its fresh id) before any
 * nested type is walked, which is the AssignFreshIds order.  Returns the
 * canonical struct type (new reference) or NULL.
 */
static json_t *walk_struct(struct walk *w, json_t *t, int col)
{
    json_t *fields = json_object_get(t, "fields");
    json_t *out;
    size_t  i, n;
    int    *ix;
    int    *ids;

    if (!json_is_array(fields)) {
        BAD(w->err, "invalid schema: a struct needs a \"fields\" array");
        return NULL;
    }
    n = json_array_size(fields);
    ix = fl_alloc(w->a, sizeof(int) * (n + 1));
    ids = fl_alloc(w->a, sizeof(int) * (n + 1));
    for (i = 0; i < n; i++) {
        if (!field_add(w, json_array_get(fields, i), col, &ix[i], &ids[i])) {
            return NULL;
        }
    }
    out = json_array();
    for (i = 0; i < n; i++) {
        json_t *f = field_build(w, json_array_get(fields, i), ix[i], ids[i]);

        if (f == NULL) {
            json_decref(out);
            return NULL;
        }
        json_array_append_new(out, f);
    }
    return json_pack("{s:s, s:o}", "type", "struct", "fields", out);
}

/* A list: the element id, then its type.  New reference or NULL. */
static json_t *walk_list(struct walk *w, json_t *t, int col)
{
    json_t *et;
    bool    req = false;
    int     id = 0;
    int     ix;
    int     nid;

    if (!cat_json_i32(t, "element-id", true, &id, w->err) ||
        !fl_json_bool(t, "element-required", true, &req, w->err)) {
        return NULL;
    }
    ix = col_add(w, id, child_name(w, col, "element"), col, req, NULL);
    nid = col_new_id(w, id);
    et = walk_type(w, json_object_get(t, "element"), ix);
    if (et == NULL) {
        return NULL;
    }
    return json_pack("{s:s, s:i, s:o, s:b}", "type", "list", "element-id",
                     nid, "element", et, "element-required", req);
}

/* A map: key and value ids, then their types.  New reference or NULL. */
static json_t *walk_map(struct walk *w, json_t *t, int col)
{
    json_t *kt;
    json_t *vt;
    bool    req = false;
    int     kid = 0, vid = 0;
    int     kix, vix, nk, nv;

    if (!cat_json_i32(t, "key-id", true, &kid, w->err) ||
        !cat_json_i32(t, "value-id", true, &vid, w->err) ||
        !fl_json_bool(t, "value-required", true, &req, w->err)) {
        return NULL;
    }
    kix = col_add(w, kid, child_name(w, col, "key"), col, true, NULL);
    vix = col_add(w, vid, child_name(w, col, "value"), col, req, NULL);
    nk = col_new_id(w, kid);
    nv = col_new_id(w, vid);
    kt = walk_type(w, json_object_get(t, "key"), kix);
    if (kt == NULL) {
        return NULL;
    }
    vt = walk_type(w, json_object_get(t, "value"), vix);
    if (vt == NULL) {
        json_decref(kt);
        return NULL;
    }
    return json_pack("{s:s, s:i, s:o, s:i, s:o, s:b}", "type", "map",
                     "key-id", nk, "key", kt, "value-id", nv, "value", vt,
                     "value-required", req);
}

/* Walk the type of column `col`; returns its canonical form (new). */
static json_t *walk_type(struct walk *w, json_t *t, int col)
{
    const char *kind;
    const char *canon;
    int         pt;

    if (json_is_string(t)) {
        if (!prim_parse(w->a, json_string_value(t), &pt, &canon)) {
            ARG(w->err, "Cannot parse type string to primitive: %s",
                json_string_value(t));
            return NULL;
        }
        w->c.v[col].pt = pt;
        w->c.v[col].tname = canon;
        return json_string(canon);
    }
    kind = json_string_value(json_object_get(t, "type"));
    if (kind == NULL || t == NULL) {
        BAD(w->err, "invalid schema: cannot parse the type of \"%s\"",
            w->c.v[col].name);
        return NULL;
    }
    if (strcmp(kind, "struct") == 0) {
        return walk_struct(w, t, col);
    }
    w->c.v[col].tname = kind;
    if (strcmp(kind, "list") == 0) {
        w->c.v[col].pt = PT_LIST;
        return walk_list(w, t, col);
    }
    if (strcmp(kind, "map") == 0) {
        w->c.v[col].pt = PT_MAP;
        return walk_map(w, t, col);
    }
    BAD(w->err, "invalid schema: unknown type \"%s\" of \"%s\"", kind,
        w->c.v[col].name);
    return NULL;
}

static int cmp_id(const void *x, const void *y)
{
    const struct col *a = x;
    const struct col *b = y;

    return (a->id > b->id) - (a->id < b->id);
}

static int cmp_name(const void *x, const void *y)
{
    const struct col *a = x;
    const struct col *b = y;

    return strcmp(a->name, b->name);
}

/* Sort the index by id and reject duplicate ids and full names. */
static bool cols_finish(struct walk *w)
{
    struct cols *c = &w->c;
    struct col  *byname;
    size_t       sz = sizeof(struct col) * (size_t)(c->n + 1);
    int          i;

    c->byid = fl_alloc(w->a, sz);
    byname = fl_alloc(w->a, sz);
    if (c->n > 0) {
        memcpy(c->byid, c->v, sz - sizeof(struct col));
        memcpy(byname, c->v, sz - sizeof(struct col));
    }
    qsort(c->byid, (size_t)c->n, sizeof(struct col), cmp_id);
    qsort(byname, (size_t)c->n, sizeof(struct col), cmp_name);
    for (i = 1; i < c->n; i++) {
        if (c->byid[i].id == c->byid[i - 1].id) {
            return ARG(w->err, "Invalid schema: multiple fields for id %d",
                       c->byid[i].id);
        }
        if (strcmp(byname[i].name, byname[i - 1].name) == 0) {
            return VAL(w->err, "Invalid schema: multiple fields for name %s",
                       byname[i].name);
        }
    }
    return true;
}

static const struct col *cols_find(const struct cols *c, int id)
{
    struct col key;

    key.id = id;
    if (c->n == 0) {
        return NULL;
    }
    return bsearch(&key, c->byid, (size_t)c->n, sizeof(key), cmp_id);
}

static const struct col *cols_find_name(const struct cols *c,
                                        const char *name)
{
    int i;

    for (i = 0; i < c->n; i++) {
        if (strcmp(c->v[i].name, name) == 0) {
            return &c->v[i];
        }
    }
    return NULL;
}

/*
 * Check and index `schema`.  Returns its canonical struct (new reference;
 * {"type":"struct","fields":[...]}) or NULL with `w->err` set.
 */
static json_t *schema_index(struct walk *w, json_t *schema)
{
    const char *kind;
    json_t     *st;

    kind = json_string_value(json_object_get(schema, "type"));
    if (!json_is_object(schema) || kind == NULL ||
        strcmp(kind, "struct") != 0) {
        BAD(w->err, "invalid schema: a schema must be a struct type");
        return NULL;
    }
    st = walk_struct(w, schema, -1);
    if (st != NULL && !cols_finish(w)) {
        json_decref(st);
        return NULL;
    }
    return st;
}

/* --------------------------------------------------- identifier fields */

/* Schema.validateIdentifierField for each of `ids` (given, unmapped). */
static bool ident_check(struct walk *w, json_t *ids)
{
    const struct col *f;
    const struct col *p;
    size_t            i;
    json_t           *v;

    json_array_foreach(ids, i, v) {
        f = cols_find(&w->c, (int)json_integer_value(v));
        if (f == NULL) {
            return ARG(w->err, "Cannot add fieldId %d as an identifier "
                       "field: field does not exist",
                       (int)json_integer_value(v));
        }
        if ((M(f->pt) & NOT_PRIMITIVE) != 0) {
            return ARG(w->err, "Cannot add field %s as an identifier field: "
                       "not a primitive type field", f->name);
        }
        if (!f->required) {
            return ARG(w->err, "Cannot add field %s as an identifier field: "
                       "not a required field", f->name);
        }
        if (f->pt == PT_FLOAT || f->pt == PT_DOUBLE) {
            return ARG(w->err, "Cannot add field %s as an identifier field: "
                       "must not be float or double field", f->name);
        }
        for (p = f; p->parent >= 0;) {
            p = &w->c.v[p->parent];
            if (p->pt != PT_STRUCT) {
                return ARG(w->err, "Cannot add field %s as an identifier "
                           "field: must not be nested in %s", f->name,
                           p->name);
            }
            if (!p->required) {
                return ARG(w->err, "Cannot add field %s as an identifier "
                           "field: must not be nested in an optional field "
                           "%s", f->name, p->name);
            }
        }
    }
    return true;
}

/* identifier-field-ids as a new array of distinct ints, in given order. */
static json_t *ident_read(json_t *schema, struct fl_err *err)
{
    json_t *ids = json_object_get(schema, "identifier-field-ids");
    json_t *out = json_array();
    json_t *v;
    json_t *x;
    size_t  i, j;
    bool    seen;

    if (ids == NULL || json_is_null(ids)) {
        return out;
    }
    if (!json_is_array(ids)) {
        json_decref(out);
        BAD(err, "field \"identifier-field-ids\" must be an array");
        return NULL;
    }
    json_array_foreach(ids, i, v) {
        if (!json_is_integer(v)) {
            json_decref(out);
            BAD(err, "identifier field ids must be integers");
            return NULL;
        }
        seen = false;
        json_array_foreach(out, j, x) {
            seen = seen || json_integer_value(x) == json_integer_value(v);
        }
        if (!seen) {
            json_array_append(out, v);
        }
    }
    return out;
}

/* --------------------------------------------------- format versions */

/* Schema.checkCompatibility: the problem of the lowest field id wins. */
static bool compat_check(struct walk *w, int fv)
{
    const struct col *bad = NULL;
    bool              dflt = false;
    json_t           *d;
    char             *text;
    int               i;

    for (i = 0; i < w->c.n; i++) {
        const struct col *c = &w->c.v[i];
        bool              has_d;

        d = c->field ? json_object_get(c->field, "initial-default") : NULL;
        has_d = d != NULL && !json_is_null(d) && fv < 3;
        if ((prim_since(c->pt) > fv || has_d) &&
            (bad == NULL || c->id < bad->id)) {
            bad = c;
            dflt = prim_since(c->pt) <= fv;
        }
    }
    if (bad == NULL) {
        return true;
    }
    if (!dflt) {
        return VAL(w->err, "Invalid schema for v%d: Invalid type for %s: %s "
                   "is not supported until v%d", fv, bad->name, bad->tname,
                   prim_since(bad->pt));
    }
    d = json_object_get(bad->field, "initial-default");
    text = json_dumps(d, JSON_ENCODE_ANY | JSON_COMPACT);
    VAL(w->err, "Invalid schema for v%d: Invalid initial default for %s: "
        "non-null default (%s) is not supported until v3", fv, bad->name,
        text ? text : "?");
    free(text);
    return false;
}

/* ------------------------------------------------------------- schemas */

/* The schema object around walked struct `st` (new reference). */
static json_t *schema_assemble(json_t *st, int schema_id, json_t *ident)
{
    json_t *out = json_object();

    json_object_set_new(out, "type", json_string("struct"));
    json_object_set_new(out, "schema-id", json_integer(schema_id));
    if (json_array_size(ident) > 0) {
        json_object_set(out, "identifier-field-ids", ident);
    }
    json_object_set(out, "fields", json_object_get(st, "fields"));
    return out;
}

/*
 * Check `schema` and return it in canonical form (new reference) with
 * schema-id `schema_id` (or, when negative, its own schema-id, default 0).
 * With `fv` > 0 the types and initial defaults must be allowed in that
 * format version.  *highest receives the highest field id (0 for none).
 * Errors: 400 (BadRequest-, IllegalArgument- or ValidationException).
 */
json_t *cat_schema_canon(json_t *schema, int schema_id, int fv, int *highest,
                         struct fl_err *err)
{
    struct walk w;
    json_t     *st = NULL;
    json_t     *ident = NULL;
    json_t     *out = NULL;
    int         own = 0;

    memset(&w, 0, sizeof(w));
    w.a = fl_arena_new(0);
    w.err = err;
    st = schema_index(&w, schema);
    if (st == NULL || !cat_json_i32(schema, "schema-id", false, &own, err)) {
        goto out;
    }
    ident = ident_read(schema, err);
    if (ident == NULL || !ident_check(&w, ident) ||
        (fv > 0 && !compat_check(&w, fv))) {
        goto out;
    }
    out = schema_assemble(st, schema_id < 0 ? own : schema_id, ident);
    if (highest != NULL) {
        *highest = w.c.highest;
    }
out:
    json_decref(st);
    json_decref(ident);
    fl_arena_free(w.a);
    return out;
}

/*
 * Check `schema` (types allowed in format version `fv`) and return a copy
 * whose ids are reassigned from 1 in AssignFreshIds order, with schema-id 0
 * and identifier-field-ids remapped (new reference).  *idmap receives a new
 * object {"<old id>": new id}; *last_id the highest id given.  Duplicate
 * input ids are rejected, as they would make the mapping ambiguous.
 */
json_t *cat_schema_fresh(json_t *schema, int fv, json_t **idmap,
                         int *last_id, struct fl_err *err)
{
    struct walk w;
    json_t     *st = NULL;
    json_t     *ident = NULL;
    json_t     *out = NULL;
    json_t     *v;
    size_t      i;
    char        key[16];

    memset(&w, 0, sizeof(w));
    w.a = fl_arena_new(0);
    w.err = err;
    w.fresh = true;
    w.idmap = json_object();
    *idmap = NULL;
    st = schema_index(&w, schema);
    ident = st ? ident_read(schema, err) : NULL;
    if (ident == NULL || !ident_check(&w, ident) || !compat_check(&w, fv)) {
        goto out;
    }
    json_array_foreach(ident, i, v) {
        snprintf(key, sizeof(key), "%d", (int)json_integer_value(v));
        json_array_set(ident, i, json_object_get(w.idmap, key));
    }
    out = schema_assemble(st, 0, ident);
    *idmap = json_incref(w.idmap);
    *last_id = w.last;
out:
    json_decref(st);
    json_decref(ident);
    json_decref(w.idmap);
    fl_arena_free(w.a);
    return out;
}

static bool ident_same(json_t *x, json_t *y)
{
    size_t  i, j;
    json_t *u;
    json_t *v;
    bool    found;

    if (json_array_size(x) != json_array_size(y)) {
        return false;
    }
    json_array_foreach(x, i, u) {
        found = false;
        json_array_foreach(y, j, v) {
            found = found || json_equal(u, v);
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

/*
 * Schema.sameSchema: the same fields (ids, names, types, requiredness, docs,
 * defaults) and identifier fields, ignoring schema-id and spelling
 * differences such as "decimal(9,2)" against "decimal(9, 2)".  A schema that
 * does not parse is the same as nothing.
 */
bool cat_schema_same(json_t *a, json_t *b)
{
    struct fl_err err;
    json_t       *x;
    json_t       *y;
    json_t       *ex = NULL;
    json_t       *ey = NULL;
    bool          same = false;

    fl_err_clear(&err);
    x = cat_schema_canon(a, 0, 0, NULL, &err);
    y = cat_schema_canon(b, 0, 0, NULL, &err);
    if (x != NULL && y != NULL) {
        ex = json_object_get(x, "identifier-field-ids");
        ey = json_object_get(y, "identifier-field-ids");
        same = json_equal(json_object_get(x, "fields"),
                          json_object_get(y, "fields")) &&
               json_array_size(ex) == json_array_size(ey) &&
               (ex == NULL || ident_same(ex, ey));
    }
    json_decref(x);
    json_decref(y);
    return same;
}

/* ------------------------------------------------------ partition specs */

/* A field id already used for (source, transform) in any spec; else 0. */
static int spec_reuse_id(json_t *specs, int src, const char *tr)
{
    struct fl_err err;
    json_t       *s;
    json_t       *f;
    size_t        i, j;
    char          canon[NAME_MAX_BYTES];
    int           kind;
    int           best = 0;

    json_array_foreach(specs, i, s) {
        json_array_foreach(json_object_get(s, "fields"), j, f) {
            const char *t = json_string_value(json_object_get(f, "transform"));
            json_int_t  fid;

            fl_err_clear(&err);
            if (t == NULL || !transform_parse(t, canon, sizeof(canon), &kind,
                                              &err) ||
                strcmp(canon, tr) != 0 ||
                json_integer_value(json_object_get(f, "source-id")) != src) {
                continue;
            }
            fid = json_integer_value(json_object_get(f, "field-id"));
            if (fid > best && fid <= INT32_MAX) {
                best = (int)fid;
            }
        }
    }
    return best;
}

/* The partition field id of field `pos`, by the binding's mode. */
static bool spec_field_id(json_t *f, size_t pos, int src, const char *tr,
                          const struct cat_bind *b, int *next, int *pid,
                          struct fl_err *err)
{
    int reuse;

    if (b->pid_mode == CAT_PID_SEQ ||
        (json_object_get(f, "field-id") == NULL && b->fv == 1)) {
        *pid = PARTITION_ID_START + (int)pos;
        return true;
    }
    if (json_object_get(f, "field-id") != NULL) {
        return cat_json_i32(f, "field-id", true, pid, err);
    }
    reuse = spec_reuse_id(b->specs, src, tr);
    *pid = reuse > 0 ? reuse : ++*next;
    return true;
}

/* PartitionSpec.checkCompatibility for one (non-void) field. */
static bool spec_field_compat(const struct cols *c, int src, int pid,
                              const char *name, const char *tr, int kind,
                              struct fl_err *err)
{
    const struct col *s = cols_find(c, src);
    const struct col *p;

    if (kind == TR_VOID) {
        return true;
    }
    if (s == NULL) {
        return VAL(err, "Cannot find source column for partition field: "
                   "%d: %s: %s(%d)", pid, name, tr, src);
    }
    if ((M(s->pt) & NOT_PRIMITIVE) != 0) {
        return VAL(err, "Cannot partition by non-primitive source field: %s",
                   s->tname);
    }
    if ((transform_mask(kind) & M(s->pt)) == 0) {
        return VAL(err, "Invalid source type %s for transform: %s", s->tname,
                   tr);
    }
    for (p = s; p->parent >= 0;) {
        p = &c->v[p->parent];
        if (p->pt != PT_STRUCT) {
            return VAL(err, "Invalid partition field parent: %s", p->tname);
        }
    }
    return true;
}

/* PartitionSpec.Builder.checkAndAddPartitionName. */
static bool spec_field_name(const struct cols *c, json_t *outf,
                            const char *name, int src, int pid,
                            struct fl_err *err)
{
    const struct col *named;
    json_t           *f;
    size_t            i;

    if (name[0] == '\0') {
        return ARG(err, "Cannot use empty partition name: %s", name);
    }
    json_array_foreach(outf, i, f) {
        if (strcmp(json_string_value(json_object_get(f, "name")), name) == 0) {
            return ARG(err, "Cannot use partition name more than once: %s",
                       name);
        }
        if (json_integer_value(json_object_get(f, "field-id")) == pid) {
            return ARG(err, "Cannot use partition field id more than once: "
                       "%d", pid);
        }
    }
    named = cols_find_name(c, name);
    if (cols_find(c, src) != NULL && named != NULL && named->id != src) {
        return ARG(err, "Cannot create identity partition sourced from "
                   "different field in schema: %s", name);
    }
    return true;
}

static bool spec_field(const struct cols *c, json_t *f, size_t pos,
                       const struct cat_bind *b, int *next, json_t *outf,
                       struct fl_err *err)
{
    const char *name;
    const char *tr;
    char        canon[NAME_MAX_BYTES];
    int         kind;
    int         src = 0;
    int         pid = 0;

    if (!json_is_object(f)) {
        return BAD(err, "a partition field must be an object");
    }
    if (!fl_json_str(f, "name", true, &name, err) ||
        !fl_json_str(f, "transform", true, &tr, err) ||
        !cat_json_i32(f, "source-id", true, &src, err) ||
        !transform_parse(tr, canon, sizeof(canon), &kind, err) ||
        !spec_field_id(f, pos, src, canon, b, next, &pid, err) ||
        !spec_field_name(c, outf, name, src, pid, err) ||
        !spec_field_compat(c, src, pid, name, canon, kind, err)) {
        return false;
    }
    json_array_append_new(outf, json_pack("{s:s, s:s, s:i, s:i}", "name",
                                          name, "transform", canon,
                                          "source-id", src, "field-id", pid));
    return true;
}

static bool spec_ids_present(json_t *fields, const struct cat_bind *b,
                             struct fl_err *err)
{
    size_t  i, with = 0;
    size_t  n = json_array_size(fields);
    json_t *f;

    json_array_foreach(fields, i, f) {
        with += json_object_get(f, "field-id") != NULL;
    }
    if ((b->pid_mode == CAT_PID_KEEP && with != n) ||
        (b->pid_mode == CAT_PID_FILL && with != 0 && with != n)) {
        return ARG(err, "Cannot parse spec with missing field IDs: %zu "
                   "missing of %zu fields.", n - with, n);
    }
    return true;
}

/*
 * Bind partition spec `spec` ({"fields":[{name, transform, source-id,
 * field-id}]}) to the binding's schema with PartitionSpec.Builder's checks:
 * names non-empty, unique and not another column's name, each source a
 * primitive column under structs only that the transform accepts (void
 * excepted).  Field ids follow `b->pid_mode`; CAT_PID_FILL without ids uses
 * 1000 + position in v1, else the id an existing spec gives the same
 * (source, transform), else last-partition-id + 1 (so ids stay unique
 * across specs, as the v2 spec requires).  Returns the canonical spec with
 * spec-id `b->id` (new reference), or NULL and a 400 in `err`.
 */
json_t *cat_spec_bind(json_t *spec, const struct cat_bind *b,
                      struct fl_err *err)
{
    struct walk w;
    json_t     *st = NULL;
    json_t     *fields = NULL;
    json_t     *outf = json_array();
    json_t     *out = NULL;
    size_t      i;
    int         next = b->last_pid < 999 ? 999 : b->last_pid;

    memset(&w, 0, sizeof(w));
    w.a = fl_arena_new(0);
    w.err = err;
    if (!json_is_object(spec)) {
        BAD(err, "a partition spec must be an object");
        goto out;
    }
    st = schema_index(&w, b->schema);
    if (st == NULL || !fl_json_arr(spec, "fields", true, &fields, err) ||
        !spec_ids_present(fields, b, err)) {
        goto out;
    }
    for (i = 0; i < json_array_size(fields); i++) {
        if (!spec_field(&w.c, json_array_get(fields, i), i, b, &next, outf,
                        err)) {
            goto out;
        }
    }
    out = json_pack("{s:i, s:O}", "spec-id", b->id, "fields", outf);
out:
    json_decref(outf);
    json_decref(st);
    fl_arena_free(w.a);
    return out;
}

/* ---------------------------------------------------------- sort orders */

/* Lower-case `s` into `out` if it is one of the two allowed words. */
static const char *word_of(const char *s, const char *w1, const char *w2)
{
    if (strcasecmp(s, w1) == 0) {
        return w1;
    }
    if (strcasecmp(s, w2) == 0) {
        return w2;
    }
    return NULL;
}

static bool order_field(const struct cols *c, json_t *f, json_t *outf,
                        struct fl_err *err)
{
    const char       *tr, *dir, *nulls;
    const char       *d, *no;
    const struct col *s;
    char              canon[NAME_MAX_BYTES];
    int               kind, src = 0;

    if (!json_is_object(f)) {
        return BAD(err, "a sort field must be an object");
    }
    if (!fl_json_str(f, "transform", true, &tr, err) ||
        !cat_json_i32(f, "source-id", true, &src, err) ||
        !fl_json_str(f, "direction", true, &dir, err) ||
        !fl_json_str(f, "null-order", true, &nulls, err) ||
        !transform_parse(tr, canon, sizeof(canon), &kind, err)) {
        return false;
    }
    d = word_of(dir, "asc", "desc");
    no = word_of(nulls, "nulls-first", "nulls-last");
    if (d == NULL || no == NULL) {
        return ARG(err, d ? "Unexpected null order: %s"
                          : "Invalid sort direction: %s", d ? nulls : dir);
    }
    s = cols_find(c, src);
    if (s == NULL) {
        return VAL(err, "Cannot find source column for sort field: "
                   "%s(%d) %s %s", canon, src, d, no);
    }
    if ((M(s->pt) & NOT_PRIMITIVE) != 0) {
        return VAL(err, "Cannot sort by non-primitive source field: %s",
                   s->tname);
    }
    if ((transform_mask(kind) & M(s->pt)) == 0) {
        return VAL(err, "Invalid source type %s for transform: %s", s->tname,
                   canon);
    }
    json_array_append_new(outf, json_pack("{s:s, s:i, s:s, s:s}",
                                          "transform", canon, "source-id",
                                          src, "direction", d, "null-order",
                                          no));
    return true;
}

/*
 * Bind sort order `order` ({"fields":[{transform, source-id, direction,
 * null-order}]}) to the binding's schema with SortOrder.checkCompatibility:
 * every source is a primitive column the transform accepts.  Direction and
 * null order are case-insensitive and written in lower case.  Returns the
 * canonical order with order-id `b->id` (new reference), or NULL and a 400.
 */
json_t *cat_order_bind(json_t *order, const struct cat_bind *b,
                       struct fl_err *err)
{
    struct walk w;
    json_t     *st = NULL;
    json_t     *fields = NULL;
    json_t     *outf = json_array();
    json_t     *out = NULL;
    size_t      i;

    memset(&w, 0, sizeof(w));
    w.a = fl_arena_new(0);
    w.err = err;
    if (!json_is_object(order)) {
        BAD(err, "a sort order must be an object");
        goto out;
    }
    st = schema_index(&w, b->schema);
    if (st == NULL || !fl_json_arr(order, "fields", true, &fields, err)) {
        goto out;
    }
    for (i = 0; i < json_array_size(fields); i++) {
        if (!order_field(&w.c, json_array_get(fields, i), outf, err)) {
            goto out;
        }
    }
    out = json_pack("{s:i, s:O}", "order-id", b->id, "fields", outf);
out:
    json_decref(outf);
    json_decref(st);
    fl_arena_free(w.a);
    return out;
}
