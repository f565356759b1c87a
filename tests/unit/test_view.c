/*
 * test_view.c
 *
 * catalog/ view-metadata semantics as pure functions (cat_view.c):
 * createView metadata (ids, version-log, uuid, location), assert-view-uuid
 * and the refusal of table requirements, every view update action (effect,
 * no-op, each rejection), table actions refused, version id reuse,
 * schema-id -1, dialects, the dialect-drop check, version expiry and
 * version-log trimming, file names, validation of registered documents,
 * canonical key order and round trips.
 *
 * Fixtures are written with single quotes (J() turns them into double
 * quotes).  Every JSON value a test makes is kept in one array that main()
 * releases, so LeakSanitizer sees only what the library leaked.
 */
#include "catalog/catalog_int.h"

#include <stdlib.h>
#include <string.h>

#include "t.h"

#define NOW 1800000000000LL

static json_t *keep;

/* Keep `v` until exit; returns it (borrowed). */
static json_t *K(json_t *v)
{
    if (v != NULL) {
        json_array_append_new(keep, v);
    }
    return v;
}

/* Parse fixture text written with ' for " (borrowed result). */
static json_t *J(const char *text)
{
    char        *s = strdup(text);
    char        *p;
    json_error_t je;
    json_t      *v;

    for (p = s; *p != '\0'; p++) {
        *p = *p == '\'' ? '"' : *p;
    }
    v = json_loads(s, JSON_DECODE_ANY, &je);
    if (v == NULL) {
        fprintf(stderr, "bad fixture: %s (col %d): %s\n", je.text,
                je.column, s);
        abort();
    }
    free(s);
    return K(v);
}

/* The member at slash-separated `path` ("versions/0/version-id"). */
static json_t *at(json_t *v, const char *path)
{
    char        seg[128];
    const char *p = path;
    size_t      n;

    while (*p != '\0' && v != NULL) {
        n = strcspn(p, "/");
        snprintf(seg, sizeof(seg), "%.*s", (int)n, p);
        p += n + (p[n] == '/');
        if (json_is_array(v)) {
            v = json_array_get(v, strtoul(seg, NULL, 10));
        } else {
            v = json_object_get(v, seg);
        }
    }
    return v;
}

static json_int_t I(json_t *v, const char *path)
{
    json_t *x = at(v, path);

    if (!json_is_integer(x)) {
        fprintf(stderr, "  %s is not an integer\n", path);
    }
    return json_integer_value(x);
}

static const char *S(json_t *v, const char *path)
{
    return json_string_value(at(v, path));
}

static size_t N(json_t *v, const char *path)
{
    json_t *x = at(v, path);

    return json_is_object(x) ? json_object_size(x) : json_array_size(x);
}

#define T_PREFIX(s, pre)                                                \
    do {                                                                \
        const char *t_s_ = (s);                                         \
        if (strncmp(t_s_, (pre), strlen(pre)) != 0) {                   \
            fprintf(stderr, "  got \"%s\", want prefix \"%s\"\n", t_s_, \
                    (pre));                                             \
            T_CHECK(!"wrong prefix");                                   \
        }                                                               \
    } while (0)

static const char *keys_of(json_t *v, char *buf, size_t n)
{
    const char *k;
    json_t     *x;
    size_t      used = 0;

    buf[0] = '\0';
    json_object_foreach(v, k, x) {
        used += (size_t)snprintf(buf + used, n - used, "%s%s",
                                 used ? "," : "", k);
        if (used >= n) {
            break;
        }
    }
    return buf;
}

/* The ids of the objects of array `arr` under `key`, "1,2,3". */
static const char *ids_of(json_t *arr, const char *key, char *buf, size_t n)
{
    json_t *x;
    size_t  i;
    size_t  used = 0;

    buf[0] = '\0';
    json_array_foreach(arr, i, x) {
        used += (size_t)snprintf(buf + used, n - used,
                                 "%s%" JSON_INTEGER_FORMAT, used ? "," : "",
                                 I(x, key));
        if (used >= n) {
            break;
        }
    }
    return buf;
}

/* Apply `updates`: must succeed, with *changed == want_changed. */
static json_t *upd(json_t *base, const char *updates, bool want_changed)
{
    struct fl_err err;
    bool          changed = !want_changed;
    json_t       *copy = K(json_deep_copy(base));
    json_t       *out;

    fl_err_clear(&err);
    out = K(cat_view_update(base, J(updates), NOW, &changed, &err));
    if (out == NULL) {
        fprintf(stderr, "  update failed: %d %s: %s\n", err.status,
                err.type, err.msg);
    }
    T_CHECK(out != NULL);
    T_CHECK(changed == want_changed);
    T_CHECK(json_equal(base, copy));        /* base is never modified */
    if (!want_changed) {
        T_CHECK(json_equal(out, base));
    }
    return out;
}

/* Apply `updates`: must fail with `status` and a message starting `msg`. */
static void upd_err(json_t *base, const char *updates, int status,
                    const char *msg)
{
    struct fl_err err;
    bool          changed = true;
    json_t       *out;

    fl_err_clear(&err);
    out = K(cat_view_update(base, J(updates), NOW, &changed, &err));
    T_CHECK(out == NULL);
    T_CHECK(!changed);
    if (err.status != status) {
        fprintf(stderr, "  status %d (%s)\n", err.status, err.msg);
    }
    T_CHECK(err.status == status);
    T_PREFIX(err.msg, msg);
}

static void req_ok(json_t *base, const char *reqs)
{
    struct fl_err err;

    fl_err_clear(&err);
    if (!cat_view_check(base, reqs ? J(reqs) : NULL, &err)) {
        fprintf(stderr, "  %d %s\n", err.status, err.msg);
    }
    T_CHECK(err.status == 0);
}

static void req_err(json_t *base, const char *reqs, int status,
                    const char *type, const char *msg)
{
    struct fl_err err;

    fl_err_clear(&err);
    T_CHECK(!cat_view_check(base, J(reqs), &err));
    T_CHECK(err.status == status);
    T_STREQ(err.type, type);
    if (status == 409) {
        T_STREQ(err.msg, msg);
    } else {
        T_PREFIX(err.msg, msg);
    }
}

/* ------------------------------------------------------------ fixtures */

#define UUIDV "6a1f5c2e-0d3b-4c8e-9f7a-2b4d6e8f0a1c"

#define SCHEMA_FIELDS                                                   \
    "'fields':[{'id':3,'name':'id','required':true,'type':'int',"       \
    "'doc':'unique ID'},{'id':4,'name':'data','required':true,"         \
    "'type':'string'}]"

/* ViewCatalogTests' SCHEMA (id 5) and OTHER_SCHEMA (id 7) */
#define SCHEMA "{'type':'struct','schema-id':5," SCHEMA_FIELDS "}"
#define OTHER_SCHEMA                                                    \
    "{'type':'struct','schema-id':7,'fields':[{'id':1,"                 \
    "'name':'some_id','required':false,'type':'int'}]}"

#define SPARK "{'type':'sql','sql':'select * from ns.tbl','dialect':'spark'}"
#define TRINO                                                           \
    "{'type':'sql','sql':'select * from prod.ns.tbl','dialect':'trino'}"

/* A view in Java's write order: two versions, the second current. */
static const char view_text[] =
    "{'view-uuid':'" UUIDV "','format-version':1,"
    "'location':'s3://bucket/wh/ns/v','properties':{'owner':'alice'},"
    "'schemas':[{'type':'struct','schema-id':0," SCHEMA_FIELDS "}],"
    "'current-version-id':2,'versions':["
    "{'version-id':1,'timestamp-ms':1700000001000,'schema-id':0,"
    "'summary':{'engine-name':'spark'},'default-namespace':['ns'],"
    "'representations':[" SPARK "]},"
    "{'version-id':2,'timestamp-ms':1700000002000,'schema-id':0,"
    "'summary':{'engine-name':'trino'},'default-catalog':'prod',"
    "'default-namespace':['ns'],'representations':[" SPARK "," TRINO "]}],"
    "'version-log':[{'timestamp-ms':1700000001000,'version-id':1},"
    "{'timestamp-ms':1700000002000,'version-id':2}]}";

static json_t *view(void)
{
    return J(view_text);
}

/* view() with replace.drop-dialect.allowed, so a spark-only version may
 * become current */
static json_t *view_drop(void)
{
    json_t *m = K(json_deep_copy(view()));

    json_object_set_new(json_object_get(m, "properties"),
                        "replace.drop-dialect.allowed", json_string("true"));
    return m;
}

static const char create_text[] =
    "{'name':'view','location':'s3://ignored','schema':" SCHEMA ","
    "'view-version':{'version-id':7,'timestamp-ms':1700000000000,"
    "'schema-id':5,'summary':{'engine-name':'spark'},"
    "'default-namespace':['ns'],'representations':[" SPARK "]},"
    "'properties':{'prop1':'val1'}}";

/* A view version update with `sql` for `dialect` and `schema_id`. */
static const char *add_version(char *buf, size_t n, int id, int schema_id,
                               const char *dialect, const char *sql)
{
    snprintf(buf, n, "{'action':'add-view-version','view-version':{"
             "'version-id':%d,'timestamp-ms':1750000000000,'schema-id':%d,"
             "'summary':{},'default-namespace':['ns'],'representations':["
             "{'type':'sql','sql':'%s','dialect':'%s'}]}}", id, schema_id,
             sql, dialect);
    return buf;
}

/* `base` with member `key` set to `v` (stolen) or removed (NULL). */
static json_t *mod(json_t *base, const char *key, json_t *v)
{
    json_t *m = K(json_deep_copy(base));

    if (v == NULL) {
        json_object_del(m, key);
    } else {
        json_object_set_new(m, key, v);
    }
    return m;
}

/* ---------------------------------------------------------------- create */

static json_t *create_ok(json_t *req, const char *location)
{
    struct fl_err err;
    json_t       *copy = K(json_deep_copy(req));
    json_t       *m;

    fl_err_clear(&err);
    m = K(cat_view_create(req, location, NOW, &err));
    if (m == NULL) {
        fprintf(stderr, "  create failed: %d %s\n", err.status, err.msg);
    }
    T_CHECK(m != NULL);
    T_CHECK(json_equal(req, copy));
    T_CHECK(cat_view_validate(m, &err));
    return m;
}

static void create_err(json_t *req, const char *location, const char *msg)
{
    struct fl_err err;

    fl_err_clear(&err);
    T_CHECK(K(cat_view_create(req, location, NOW, &err)) == NULL);
    if (err.status != 400) {
        fprintf(stderr, "  status %d (%s)\n", err.status, err.msg);
    }
    T_CHECK(err.status == 400);
    T_PREFIX(err.msg, msg);
}

/* create_text with member `key` of the request (path "a" or "a/b")
 * replaced by `v` (stolen) or removed. */
static json_t *req_mod(const char *path, json_t *v)
{
    json_t     *r = K(json_deep_copy(J(create_text)));
    json_t     *obj = r;
    const char *slash = strchr(path, '/');
    char        first[64];

    if (slash != NULL) {
        snprintf(first, sizeof(first), "%.*s", (int)(slash - path), path);
        obj = json_object_get(r, first);
        path = slash + 1;
    }
    if (v == NULL) {
        json_object_del(obj, path);
    } else {
        json_object_set_new(obj, path, v);
    }
    return r;
}

static void test_create(void)
{
    char        buf[512];
    json_t     *m = create_ok(J(create_text), "s3://bucket/wh/ns/view//");
    json_t     *m2;
    const char *u;

    T_STREQ(keys_of(m, buf, sizeof(buf)),
            "view-uuid,format-version,location,properties,schemas,"
            "current-version-id,versions,version-log");
    u = S(m, "view-uuid");
    T_CHECK(fl_uuid_valid(u));
    T_CHECK(I(m, "format-version") == 1);
    T_STREQ(S(m, "location"), "s3://bucket/wh/ns/view");
    T_STREQ(S(m, "properties/prop1"), "val1");
    T_CHECK(N(m, "properties") == 1);
    /* the schema is stored as id 0 with the client's field ids */
    T_CHECK(N(m, "schemas") == 1);
    T_CHECK(I(m, "schemas/0/schema-id") == 0);
    T_CHECK(I(m, "schemas/0/fields/0/id") == 3);
    T_CHECK(I(m, "schemas/0/fields/1/id") == 4);
    T_STREQ(S(m, "schemas/0/fields/0/doc"), "unique ID");
    /* version 1 on schema 0, whatever the client sent */
    T_CHECK(I(m, "current-version-id") == 1);
    T_CHECK(N(m, "versions") == 1);
    T_STREQ(keys_of(at(m, "versions/0"), buf, sizeof(buf)),
            "version-id,timestamp-ms,schema-id,summary,default-namespace,"
            "representations");
    T_CHECK(I(m, "versions/0/version-id") == 1);
    T_CHECK(I(m, "versions/0/schema-id") == 0);
    T_CHECK(I(m, "versions/0/timestamp-ms") == 1700000000000LL);
    T_STREQ(S(m, "versions/0/summary/engine-name"), "spark");
    T_STREQ(S(m, "versions/0/default-namespace/0"), "ns");
    T_STREQ(S(m, "versions/0/representations/0/dialect"), "spark");
    T_CHECK(N(m, "version-log") == 1);
    T_CHECK(I(m, "version-log/0/timestamp-ms") == 1700000000000LL);
    T_CHECK(I(m, "version-log/0/version-id") == 1);
    /* a fresh uuid every time */
    m2 = create_ok(J(create_text), "s3://bucket/wh/ns/view");
    T_CHECK(strcmp(S(m2, "view-uuid"), u) != 0);
}

static void test_create_variants(void)
{
    char    buf[512];
    json_t *m;

    /* no properties: none written; no timestamp: now */
    m = create_ok(req_mod("properties", NULL), "s3://b/v");
    T_STREQ(keys_of(m, buf, sizeof(buf)),
            "view-uuid,format-version,location,schemas,"
            "current-version-id,versions,version-log");
    m = create_ok(req_mod("view-version/timestamp-ms", NULL), "s3://b/v");
    T_CHECK(I(m, "versions/0/timestamp-ms") == NOW);
    T_CHECK(I(m, "version-log/0/timestamp-ms") == NOW);
    /* two dialects in the given order, a default catalog, an empty
     * default namespace, a representation type in upper case */
    m = create_ok(req_mod("view-version/representations",
                          J("[" TRINO ",{'type':'SQL','sql':'s',"
                            "'dialect':'spark','x':1}]")), "s3://b/v");
    T_STREQ(S(m, "versions/0/representations/0/dialect"), "trino");
    T_STREQ(S(m, "versions/0/representations/1/type"), "sql");
    T_STREQ(keys_of(at(m, "versions/0/representations/1"), buf,
                    sizeof(buf)), "type,sql,dialect");
    m = create_ok(req_mod("view-version/default-catalog", json_string("c")),
                  "s3://b/v");
    T_STREQ(S(m, "versions/0/default-catalog"), "c");
    T_STREQ(keys_of(at(m, "versions/0"), buf, sizeof(buf)),
            "version-id,timestamp-ms,schema-id,summary,default-catalog,"
            "default-namespace,representations");
    m = create_ok(req_mod("view-version/default-namespace", J("[]")),
                  "s3://b/v");
    T_CHECK(N(m, "versions/0/default-namespace") == 0);
    /* the schema-id and version-id the client sent do not matter */
    m = create_ok(req_mod("view-version/schema-id", NULL), "s3://b/v");
    T_CHECK(I(m, "versions/0/schema-id") == 0);
    /* v3-only types are fine in a view schema */
    m = create_ok(req_mod("schema", J("{'type':'struct','fields':[{'id':1,"
                                      "'name':'v','required':false,"
                                      "'type':'variant'}]}")), "s3://b/v");
    T_STREQ(S(m, "schemas/0/fields/0/type"), "variant");
}

static void test_create_errors(void)
{
    create_err(J("[]"), "s3://b/v", "the request body must be a JSON object");
    create_err(J(create_text), "", "invalid view location");
    create_err(J(create_text), NULL, "invalid view location");
    create_err(J(create_text), "s3://b/../v", "invalid view location");
    create_err(req_mod("name", NULL), "s3://b/v",
               "missing required field \"name\"");
    create_err(req_mod("schema", NULL), "s3://b/v",
               "missing required field \"schema\"");
    create_err(req_mod("view-version", NULL), "s3://b/v",
               "missing required field \"view-version\"");
    create_err(req_mod("view-version", J("[]")), "s3://b/v",
               "field \"view-version\" must be an object");
    create_err(req_mod("schema", J("{'type':'struct','fields':[{'id':1,"
                                   "'name':'a','required':true,"
                                   "'type':'int128'}]}")), "s3://b/v",
               "Cannot parse type string to primitive: int128");
    create_err(req_mod("schema", J("{'type':'list'}")), "s3://b/v",
               "invalid schema: a schema must be a struct type");
    create_err(req_mod("view-version/representations", NULL), "s3://b/v",
               "invalid view version: missing required field "
               "\"representations\"");
    create_err(req_mod("view-version/representations", J("{}")), "s3://b/v",
               "invalid view version: field \"representations\" must be an "
               "array");
    create_err(req_mod("view-version/representations", J("[]")), "s3://b/v",
               "invalid view version: at least one representation is "
               "required");
    create_err(req_mod("view-version/representations", J("['x']")),
               "s3://b/v",
               "invalid view version: a representation must be an object");
    create_err(req_mod("view-version/representations",
                       J("[{'type':'substrait','plan':'x'}]")), "s3://b/v",
               "invalid view version: unsupported representation type "
               "\"substrait\"");
    create_err(req_mod("view-version/representations",
                       J("[{'type':'sql','dialect':'spark'}]")), "s3://b/v",
               "invalid view version: missing required field \"sql\"");
    create_err(req_mod("view-version/representations",
                       J("[{'type':'sql','sql':'s'}]")), "s3://b/v",
               "invalid view version: missing required field \"dialect\"");
    create_err(req_mod("view-version/representations",
                       J("[{'sql':'s','dialect':'d'}]")), "s3://b/v",
               "invalid view version: missing required field \"type\"");
    create_err(req_mod("view-version/representations",
                       J("[" SPARK "," TRINO ",{'type':'sql','sql':'x',"
                         "'dialect':'Trino'}]")), "s3://b/v",
               "Invalid view version: Cannot add multiple queries for "
               "dialect trino");
    create_err(req_mod("view-version/default-namespace", NULL), "s3://b/v",
               "invalid view version: missing required field "
               "\"default-namespace\"");
    create_err(req_mod("view-version/default-namespace", J("['ns',1]")),
               "s3://b/v",
               "invalid view version: field \"default-namespace\" must be "
               "an array of strings");
    create_err(req_mod("view-version/default-namespace", J("'ns'")),
               "s3://b/v",
               "invalid view version: field \"default-namespace\" must be "
               "an array");
    create_err(req_mod("view-version/summary", NULL), "s3://b/v",
               "invalid view version: missing required field \"summary\"");
    create_err(req_mod("view-version/summary", J("{'a':1}")), "s3://b/v",
               "invalid view version: value of \"a\" in \"summary\" must be "
               "a string");
    create_err(req_mod("view-version/default-catalog", json_integer(1)),
               "s3://b/v",
               "invalid view version: field \"default-catalog\" must be a "
               "string");
    create_err(req_mod("view-version/timestamp-ms", json_string("x")),
               "s3://b/v",
               "invalid view version: field \"timestamp-ms\" must be an "
               "integer");
    create_err(req_mod("properties", J("{'a':1}")), "s3://b/v",
               "value of \"a\" in \"properties\" must be a string");
    create_err(req_mod("properties", J("{'version.history.num-entries':"
                                       "'0'}")), "s3://b/v",
               "version.history.num-entries must be positive but was 0");
    create_err(req_mod("properties", J("{'replace.drop-dialect.allowed':"
                                       "'true','replace.append-dialect."
                                       "allowed':'TRUE'}")), "s3://b/v",
               "Cannot set both replace.drop-dialect.allowed and "
               "replace.append-dialect.allowed to true");
}

/* ---------------------------------------------------------- requirements */

static void test_req_uuid(void)
{
    json_t *b = view();

    req_ok(b, NULL);
    req_ok(b, "null");
    req_ok(b, "[]");
    req_ok(b, "[{'type':'assert-view-uuid','uuid':'" UUIDV "'}]");
    req_ok(b, "[{'type':'ASSERT-VIEW-UUID','uuid':"
           "'6A1F5C2E-0D3B-4C8E-9F7A-2B4D6E8F0A1C'}]");
    req_err(b, "[{'type':'assert-view-uuid','uuid':'x'}]", 409,
            "CommitFailedException",
            "Requirement failed: view UUID does not match: expected " UUIDV
            " != x");
    req_err(b, "[{'type':'assert-view-uuid','uuid':null}]", 400,
            "IllegalArgumentException", "Invalid required UUID: null");
    req_err(b, "[{'type':'assert-view-uuid'}]", 400,
            "IllegalArgumentException", "Invalid required UUID: null");
    req_err(b, "[{'type':'assert-view-uuid','uuid':1}]", 400,
            "BadRequestException", "field \"uuid\" must be a string");
    /* every requirement is parsed before any is evaluated */
    req_err(b, "[{'type':'assert-view-uuid','uuid':'x'},{'type':'nope'}]",
            400, "BadRequestException", "unknown requirement type \"nope\"");
}

static void test_req_table_refused(void)
{
    static const char *const types[][2] = {
        {"assert-create", "AssertTableDoesNotExist"},
        {"assert-table-uuid", "AssertTableUUID"},
        {"assert-ref-snapshot-id", "AssertRefSnapshotID"},
        {"assert-last-assigned-field-id", "AssertLastAssignedFieldId"},
        {"assert-current-schema-id", "AssertCurrentSchemaID"},
        {"assert-last-assigned-partition-id",
         "AssertLastAssignedPartitionId"},
        {"assert-default-spec-id", "AssertDefaultSpecID"},
        {"assert-default-sort-order-id", "AssertDefaultSortOrderID"},
    };
    json_t *b = view();
    char    r[256];
    char    msg[128];
    size_t  i;

    for (i = 0; i < FL_ARRAY_LEN(types); i++) {
        snprintf(r, sizeof(r), "[{'type':'assert-view-uuid','uuid':'"
                 UUIDV "'},{'type':'%s','uuid':'" UUIDV "'}]", types[i][0]);
        snprintf(msg, sizeof(msg), "Cannot validate %s against a view",
                 types[i][1]);
        req_err(b, r, 400, "ValidationException", msg);
    }
    req_err(b, "{}", 400, "BadRequestException",
            "field \"requirements\" must be an array");
    req_err(b, "['x']", 400, "BadRequestException",
            "a requirement must be an object");
    req_err(b, "[{'uuid':'x'}]", 400, "BadRequestException",
            "missing required field \"type\"");
}

/* --------------------------------------------------------------- updates */

static void test_up_assign_uuid(void)
{
    json_t *b = view();

    upd(b, "[{'action':'assign-uuid','uuid':'" UUIDV "'}]", false);
    upd_err(b, "[{'action':'assign-uuid','uuid':"
            "'0a1f5c2e-0d3b-4c8e-9f7a-2b4d6e8f0a1c'}]", 400,
            "Cannot reassign uuid");
    upd_err(b, "[{'action':'assign-uuid','uuid':null}]", 400,
            "Cannot set uuid to null");
    upd_err(b, "[{'action':'assign-uuid','uuid':5}]", 400,
            "field \"uuid\" must be a string");
}

static void test_up_format_version(void)
{
    json_t *b = view();

    upd(b, "[{'action':'upgrade-format-version','format-version':1}]",
        false);
    upd_err(b, "[{'action':'upgrade-format-version','format-version':0}]",
            400, "Cannot downgrade v1 view to v0");
    upd_err(b, "[{'action':'upgrade-format-version','format-version':2}]",
            400, "Unsupported format version: 2");
    upd_err(b, "[{'action':'upgrade-format-version'}]", 400,
            "missing required field \"format-version\"");
}

static void test_up_add_schema(void)
{
    json_t *b = view();
    json_t *m;

    /* the same schema (other id, other spelling) is a no-op */
    upd(b, "[{'action':'add-schema','schema':" SCHEMA "}]", false);
    /* a new one gets max + 1; given schema-id and last-column-id ignored */
    m = upd(b, "[{'action':'add-schema','schema':" OTHER_SCHEMA ","
            "'last-column-id':99}]", true);
    T_CHECK(N(m, "schemas") == 2);
    T_CHECK(I(m, "schemas/1/schema-id") == 1);
    T_CHECK(I(m, "schemas/1/fields/0/id") == 1);
    T_CHECK(N(m, "versions") == 2);
    T_CHECK(json_equal(at(m, "versions"), at(b, "versions")));
    /* an existing schema is not "last added" */
    upd_err(b, "[{'action':'add-schema','schema':" SCHEMA "},"
            "{'action':'add-view-version','view-version':{'version-id':3,"
            "'timestamp-ms':1,'schema-id':-1,'summary':{},"
            "'default-namespace':[],'representations':[" SPARK "]}}]", 400,
            "Cannot set last added schema: no schema has been added");
    upd_err(b, "[{'action':'add-schema'}]", 400,
            "missing required field \"schema\"");
    upd_err(b, "[{'action':'add-schema','schema':{'type':'struct',"
            "'fields':[{'id':1,'name':'a','required':true,'type':'nope'}]}}]",
            400, "Cannot parse type string to primitive: nope");
}

static void test_up_location(void)
{
    json_t *b = view();
    json_t *m;

    upd(b, "[{'action':'set-location','location':'s3://bucket/wh/ns/v'}]",
        false);
    upd(b, "[{'action':'set-location','location':'s3://bucket/wh/ns/v/'}]",
        false);
    m = upd(b, "[{'action':'set-location','location':'s3://other/v2//'}]",
            true);
    T_STREQ(S(m, "location"), "s3://other/v2");
    T_CHECK(json_equal(at(m, "versions"), at(b, "versions")));
    T_CHECK(json_equal(at(m, "version-log"), at(b, "version-log")));
    upd_err(b, "[{'action':'set-location','location':null}]", 400,
            "Invalid location: null");
    upd_err(b, "[{'action':'set-location'}]", 400, "Invalid location: null");
    upd_err(b, "[{'action':'set-location','location':'s3://b/../x'}]", 400,
            "invalid view location");
}

static void test_up_properties(void)
{
    json_t *b = view();
    json_t *m;
    char    buf[512];

    m = upd(b, "[{'action':'set-properties','updates':{'key1':'a',"
            "'key2':'b'}},{'action':'remove-properties','removals':"
            "['missing']}]", true);
    T_STREQ(S(m, "properties/key1"), "a");
    T_STREQ(S(m, "properties/owner"), "alice");
    T_CHECK(N(m, "versions") == 2);
    T_CHECK(N(m, "version-log") == 2);
    upd(b, "[{'action':'set-properties','updates':{'owner':'alice'}}]",
        false);
    upd(b, "[{'action':'set-properties','updates':{}}]", false);
    upd(b, "[{'action':'remove-properties','removals':['missing']}]", false);
    m = upd(b, "[{'action':'set-properties','updated':{'k':'v'}}]", true);
    T_STREQ(S(m, "properties/k"), "v");
    m = upd(b, "[{'action':'remove-properties','removed':['owner']}]", true);
    T_CHECK(at(m, "properties") == NULL);       /* empty: not written */
    T_STREQ(keys_of(m, buf, sizeof(buf)),
            "view-uuid,format-version,location,schemas,"
            "current-version-id,versions,version-log");
    m = upd(m, "[{'action':'set-properties','updates':{'k':'v'}}]", true);
    T_STREQ(S(m, "properties/k"), "v");
    upd_err(b, "[{'action':'set-properties'}]", 400,
            "missing required field \"updates\"");
    upd_err(b, "[{'action':'set-properties','updates':{'a':1}}]", 400,
            "value of \"a\" in \"properties\" must be a string");
    upd_err(b, "[{'action':'remove-properties','removals':[1]}]", 400,
            "field \"removals\" must be an array of strings");
}

static void test_up_add_version(void)
{
    json_t *b = view_drop();
    json_t *m;
    char    u[4096];
    char    v[512];
    char    buf[64];

    /* a new version: max + 1 whatever the given id; not current yet */
    snprintf(u, sizeof(u), "[%s]",
             add_version(v, sizeof(v), 1, 0, "spark", "select 1"));
    m = upd(b, u, true);
    T_STREQ(ids_of(at(m, "versions"), "version-id", buf, sizeof(buf)),
            "1,2,3");
    T_CHECK(I(m, "current-version-id") == 2);
    T_CHECK(N(m, "version-log") == 2);
    T_CHECK(I(m, "versions/2/timestamp-ms") == 1750000000000LL);
    /* a higher given id is kept */
    snprintf(u, sizeof(u), "[%s]",
             add_version(v, sizeof(v), 10, 0, "spark", "select 1"));
    m = upd(b, u, true);
    T_CHECK(I(m, "versions/2/version-id") == 10);
    /* the same as version 1 (other id, timestamp): reused, a no-op */
    upd(b, "[{'action':'add-view-version','view-version':{'version-id':9,"
        "'timestamp-ms':5,'schema-id':0,'summary':{'engine-name':'spark'},"
        "'default-namespace':['ns'],'representations':[" SPARK "]}}]",
        false);
    /* ...and a reused version not added in this commit is not "last
     * added" */
    upd_err(b, "[{'action':'add-view-version','view-version':{"
            "'version-id':9,'timestamp-ms':5,'schema-id':0,'summary':{"
            "'engine-name':'spark'},'default-namespace':['ns'],"
            "'representations':[" SPARK "]}},{'action':"
            "'set-current-view-version','view-version-id':-1}]", 400,
            "Cannot set last version id: no current version id has been "
            "set");
    /* but one a version added in this commit is */
    snprintf(u, sizeof(u), "[%s,%s,{'action':'set-current-view-version',"
             "'view-version-id':-1}]",
             add_version(v, sizeof(v), 3, 0, "spark", "select 2"), v);
    m = upd(b, u, true);
    T_CHECK(N(m, "versions") == 3);
    T_CHECK(I(m, "current-version-id") == 3);
    /* unknown schema */
    snprintf(u, sizeof(u), "[%s]",
             add_version(v, sizeof(v), 3, 4, "spark", "select 1"));
    upd_err(b, u, 400, "Cannot add version with unknown schema: 4");
    snprintf(u, sizeof(u), "[%s]",
             add_version(v, sizeof(v), 3, -1, "spark", "select 1"));
    upd_err(b, u, 400,
            "Cannot set last added schema: no schema has been added");
    upd_err(b, "[{'action':'add-view-version','view-version':{"
            "'version-id':3,'timestamp-ms':5,'schema-id':0,'summary':{},"
            "'default-namespace':['ns'],'representations':[" SPARK ","
            "{'type':'sql','sql':'x','dialect':'SPARK'}]}}]", 400,
            "Invalid view version: Cannot add multiple queries for dialect "
            "spark");
    upd_err(b, "[{'action':'add-view-version'}]", 400,
            "missing required field \"view-version\"");
    upd_err(b, "[{'action':'add-view-version','view-version':{"
            "'version-id':3,'schema-id':0,'summary':{},"
            "'default-namespace':['ns'],'representations':[" SPARK "]}}]",
            400, "invalid view version: missing required field "
            "\"timestamp-ms\"");
    upd_err(b, "[{'action':'add-view-version','view-version':{"
            "'version-id':3,'timestamp-ms':1,'summary':{},"
            "'default-namespace':['ns'],'representations':[" SPARK "]}}]",
            400, "invalid view version: missing required field "
            "\"schema-id\"");
}

static void test_schema_last_added(void)
{
    json_t *b = view_drop();
    json_t *m;
    char    u[4096];
    char    v[512];

    /* the Java replace: add-schema, add-view-version(-1), current(-1) */
    snprintf(u, sizeof(u), "[{'action':'add-schema','schema':"
             OTHER_SCHEMA "},%s,{'action':'set-current-view-version',"
             "'view-version-id':-1}]",
             add_version(v, sizeof(v), 3, -1, "spark", "select some_id"));
    m = upd(b, u, true);
    T_CHECK(I(m, "versions/2/version-id") == 3);
    T_CHECK(I(m, "versions/2/schema-id") == 1);
    T_CHECK(I(m, "current-version-id") == 3);
    T_CHECK(N(m, "version-log") == 3);
    T_CHECK(I(m, "version-log/2/version-id") == 3);
    T_CHECK(I(m, "version-log/2/timestamp-ms") == 1750000000000LL);
    T_STREQ(S(m, "versions/2/representations/0/dialect"), "spark");
}

static void test_up_current_version(void)
{
    json_t *b = view();
    json_t *m;

    upd(b, "[{'action':'set-current-view-version','view-version-id':2}]",
        false);
    /* back to version 1 (same dialect set shrinks: allowed by property) */
    m = upd(b, "[{'action':'set-properties','updates':{"
            "'replace.drop-dialect.allowed':'true'}},"
            "{'action':'set-current-view-version','view-version-id':1}]",
            true);
    T_CHECK(I(m, "current-version-id") == 1);
    T_CHECK(N(m, "version-log") == 3);
    T_CHECK(I(m, "version-log/2/version-id") == 1);
    T_CHECK(I(m, "version-log/2/timestamp-ms") == NOW);
    /* several moves in one commit leave one entry, for the last */
    m = upd(m, "[{'action':'set-current-view-version','view-version-id':2},"
            "{'action':'set-current-view-version','view-version-id':1},"
            "{'action':'set-current-view-version','view-version-id':2}]",
            true);
    T_CHECK(I(m, "current-version-id") == 2);
    T_CHECK(N(m, "version-log") == 4);
    T_CHECK(I(m, "version-log/3/version-id") == 2);
    upd_err(b, "[{'action':'set-current-view-version','view-version-id':7}]",
            400, "Cannot set current version to unknown version: 7");
    upd_err(b, "[{'action':'set-current-view-version',"
            "'view-version-id':-1}]", 400,
            "Cannot set last version id: no current version id has been "
            "set");
    upd_err(b, "[{'action':'set-current-view-version'}]", 400,
            "missing required field \"view-version-id\"");
    upd_err(b, "[{'action':'set-current-view-version',"
            "'view-version-id':'2'}]", 400,
            "field \"view-version-id\" must be an integer");
}

static void test_table_actions_refused(void)
{
    static const char *const names[] = {
        "set-current-schema", "add-spec", "set-default-spec",
        "add-sort-order", "set-default-sort-order", "add-snapshot",
        "set-snapshot-ref", "remove-snapshots", "remove-snapshot-ref",
        "set-statistics", "remove-statistics", "set-partition-statistics",
        "remove-partition-statistics", "remove-partition-specs",
        "remove-schemas", "add-encryption-key", "remove-encryption-key",
    };
    json_t *b = view();
    char    u[256];
    char    msg[128];
    size_t  i;

    for (i = 0; i < FL_ARRAY_LEN(names); i++) {
        snprintf(u, sizeof(u), "[{'action':'set-properties','updates':"
                 "{'a':'b'}},{'action':'%s','schema-id':0}]", names[i]);
        snprintf(msg, sizeof(msg), "Cannot apply update %s to a view",
                 names[i]);
        upd_err(b, u, 400, msg);
    }
    upd_err(b, "[{'action':'SET-CURRENT-SCHEMA','schema-id':0}]", 400,
            "Cannot apply update set-current-schema to a view");
    upd_err(b, "[{'action':'frobnicate'}]", 400,
            "unknown update action \"frobnicate\"");
    upd_err(b, "[{'updates':{}}]", 400, "missing required field \"action\"");
    upd_err(b, "['x']", 400, "an update must be an object");
    upd_err(b, "{}", 400, "field \"updates\" must be an array");
    /* actions match case-insensitively, like the reference */
    upd(b, "[{'action':'Set-Properties','updates':{'a':'b'}}]", true);
    upd(b, "null", false);
    upd(b, "[]", false);
}

static void test_dialect_drop(void)
{
    json_t *b = view();         /* current version 2: spark + trino */
    json_t *m;
    char    u[4096];
    char    v[512];

    snprintf(u, sizeof(u), "[%s,{'action':'set-current-view-version',"
             "'view-version-id':-1}]",
             add_version(v, sizeof(v), 3, 0, "trino", "select 1"));
    upd_err(b, u, 400, "Cannot replace view due to loss of view dialects "
            "(replace.drop-dialect.allowed=false):\nPrevious dialects: "
            "[spark, trino]\nNew dialects: [trino]");
    /* adding without making it current loses nothing */
    snprintf(u, sizeof(u), "[%s]",
             add_version(v, sizeof(v), 3, 0, "trino", "select 1"));
    upd(b, u, true);
    /* allowed by the property, set in the same commit ("True": any case) */
    snprintf(u, sizeof(u), "[{'action':'set-properties','updates':{"
             "'replace.drop-dialect.allowed':'True'}},%s,"
             "{'action':'set-current-view-version','view-version-id':-1}]",
             add_version(v, sizeof(v), 3, 0, "trino", "select 1"));
    m = upd(b, u, true);
    T_CHECK(I(m, "current-version-id") == 3);
    /* dialects compare case-insensitively */
    upd(b, "[{'action':'add-view-version','view-version':{'version-id':3,"
        "'timestamp-ms':5,'schema-id':0,'summary':{},"
        "'default-namespace':['ns'],'representations':["
        "{'type':'sql','sql':'a','dialect':'TRINO'},"
        "{'type':'sql','sql':'b','dialect':'Spark'},"
        "{'type':'sql','sql':'c','dialect':'flink'}]}},"
        "{'action':'set-current-view-version','view-version-id':-1}]", true);
    upd_err(b, "[{'action':'set-properties','updates':{"
            "'replace.drop-dialect.allowed':'true',"
            "'replace.append-dialect.allowed':'true'}}]", 400,
            "Cannot set both replace.drop-dialect.allowed and "
            "replace.append-dialect.allowed to true");
}

/* A view with versions 1..n (one SQL each), the last current. */
static json_t *view_with(int n, const char *props)
{
    json_t *m = mod(view(), "versions", J("[]"));
    char    u[4096];
    char    v[512];
    char    sql[32];
    int     i;

    json_object_set_new(m, "current-version-id", json_integer(1));
    json_object_set_new(m, "version-log", J("[{'timestamp-ms':1,"
                                             "'version-id':1}]"));
    json_array_append(at(m, "versions"), at(view(), "versions/0"));
    snprintf(u, sizeof(u), "[{'action':'set-properties','updates':%s}]",
             props);
    m = upd(m, u, true);
    for (i = 2; i <= n; i++) {
        snprintf(sql, sizeof(sql), "select %d", i);
        snprintf(u, sizeof(u), "[%s,{'action':'set-current-view-version',"
                 "'view-version-id':-1}]",
                 add_version(v, sizeof(v), i, 0, "spark", sql));
        m = upd(m, u, true);
    }
    return m;
}

static void test_version_expiry(void)
{
    json_t *m;
    char    u[4096];
    char    v1[512];
    char    v2[512];
    char    v3[512];
    char    buf[128];

    /* default: 10 versions, the newest ids */
    m = view_with(12, "{'x':'y'}");
    T_STREQ(ids_of(at(m, "versions"), "version-id", buf, sizeof(buf)),
            "3,4,5,6,7,8,9,10,11,12");
    T_STREQ(ids_of(at(m, "version-log"), "version-id", buf, sizeof(buf)),
            "3,4,5,6,7,8,9,10,11,12");
    /* lowering the limit expires in the same commit */
    m = upd(m, "[{'action':'set-properties','updates':{"
            "'version.history.num-entries':'2'}}]", true);
    T_STREQ(ids_of(at(m, "versions"), "version-id", buf, sizeof(buf)),
            "11,12");
    T_STREQ(ids_of(at(m, "version-log"), "version-id", buf, sizeof(buf)),
            "11,12");
    /* the current version stays even when it is not among the newest */
    snprintf(u, sizeof(u), "[{'action':'set-current-view-version',"
             "'view-version-id':11},%s]",
             add_version(v1, sizeof(v1), 1, 0, "spark", "select 13"));
    m = upd(m, u, true);
    T_STREQ(ids_of(at(m, "versions"), "version-id", buf, sizeof(buf)),
            "11,13");
    T_CHECK(I(m, "current-version-id") == 11);
    /* the log: 11, 12, then 11 again at now; 12 is gone, and with it
     * every entry before it */
    T_STREQ(ids_of(at(m, "version-log"), "version-id", buf, sizeof(buf)),
            "11");
    T_CHECK(I(m, "version-log/0/timestamp-ms") == NOW);
    /* every version added in this commit is kept, over the limit */
    snprintf(u, sizeof(u), "[{'action':'set-properties','updates':{"
             "'version.history.num-entries':'1'}},%s,%s,%s,"
             "{'action':'set-current-view-version','view-version-id':-1}]",
             add_version(v1, sizeof(v1), 1, 0, "spark", "select 14"),
             add_version(v2, sizeof(v2), 1, 0, "spark", "select 15"),
             add_version(v3, sizeof(v3), 1, 0, "spark", "select 16"));
    m = upd(m, u, true);
    T_STREQ(ids_of(at(m, "versions"), "version-id", buf, sizeof(buf)),
            "14,15,16");
    T_STREQ(ids_of(at(m, "version-log"), "version-id", buf, sizeof(buf)),
            "16");
    /* limit 1 afterwards: only the current version */
    m = upd(m, "[{'action':'set-properties','updates':{'z':'1'}}]", true);
    T_STREQ(ids_of(at(m, "versions"), "version-id", buf, sizeof(buf)),
            "16");
    /* invalid limits */
    upd_err(m, "[{'action':'set-properties','updates':{"
            "'version.history.num-entries':'0'}}]", 400,
            "version.history.num-entries must be positive but was 0");
    upd_err(m, "[{'action':'set-properties','updates':{"
            "'version.history.num-entries':'-3'}}]", 400,
            "version.history.num-entries must be positive but was -3");
    upd_err(m, "[{'action':'set-properties','updates':{"
            "'version.history.num-entries':'ten'}}]", 400,
            "version.history.num-entries must be an integer but was ten");
}

static void test_version_log_trim(void)
{
    json_t *m = view_with(4, "{'version.history.num-entries':'3'}");
    char    buf[128];

    /* versions 2..4; roll back to 2, then forward to 4: log 2,3,4,2,4 */
    m = upd(m, "[{'action':'set-current-view-version','view-version-id':2}]",
            true);
    m = upd(m, "[{'action':'set-current-view-version','view-version-id':4}]",
            true);
    T_STREQ(ids_of(at(m, "version-log"), "version-id", buf, sizeof(buf)),
            "2,3,4,2,4");
    /* a new current version 5 expires 2: the log restarts after it */
    m = upd(m, "[{'action':'add-view-version','view-version':{"
            "'version-id':5,'timestamp-ms':1760000000000,'schema-id':0,"
            "'summary':{},'default-namespace':['ns'],'representations':["
            "{'type':'sql','sql':'select 5','dialect':'spark'}]}},"
            "{'action':'set-current-view-version','view-version-id':-1}]",
            true);
    T_STREQ(ids_of(at(m, "versions"), "version-id", buf, sizeof(buf)),
            "3,4,5");
    T_STREQ(ids_of(at(m, "version-log"), "version-id", buf, sizeof(buf)),
            "4,5");
    T_CHECK(I(m, "version-log/1/timestamp-ms") == 1760000000000LL);
}

/* ViewCatalogTests.concurrentReplaceViewVersion, with a server retry. */
static void test_concurrent_replace(void)
{
    json_t *b = view_with(1, "{'replace.drop-dialect.allowed':'true'}");
    json_t *m;
    char    u[4096];
    char    v[512];

    /* the spark replace commits first */
    snprintf(u, sizeof(u), "[{'action':'add-schema','schema':" OTHER_SCHEMA
             "},%s,{'action':'set-current-view-version',"
             "'view-version-id':-1}]",
             add_version(v, sizeof(v), 2, -1, "spark",
                         "select count(some_id) from ns.tbl"));
    m = upd(b, u, true);
    T_CHECK(I(m, "current-version-id") == 2);
    T_CHECK(I(m, "versions/1/schema-id") == 1);
    /* the trino replace, built on the old base, is applied again on top */
    snprintf(u, sizeof(u), "[%s,{'action':'set-current-view-version',"
             "'view-version-id':-1}]",
             add_version(v, sizeof(v), 2, 0, "trino",
                         "select count(id) from ns.tbl"));
    m = upd(m, u, true);
    T_CHECK(N(m, "versions") == 3);
    T_CHECK(I(m, "versions/2/version-id") == 3);
    T_CHECK(I(m, "versions/2/schema-id") == 0);
    T_CHECK(I(m, "current-version-id") == 3);
    T_STREQ(S(m, "versions/2/representations/0/sql"),
            "select count(id) from ns.tbl");
    T_CHECK(N(m, "schemas") == 2);
}

/* ------------------------------------------------------------ file names */

static void test_file_names(void)
{
    struct fl_arena *a = fl_arena_new(0);
    json_t          *m = view();
    const char      *f;
    const char      *pre = "s3://bucket/wh/ns/v/metadata/00000-";

    f = cat_view_file_next(a, m, NULL);
    T_PREFIX(f, pre);
    T_CHECK(strlen(f) == strlen(pre) + 36 + strlen(".gz.metadata.json"));
    T_STREQ(f + strlen(pre) + 36, ".gz.metadata.json");
    T_CHECK(fl_uuid_valid(fl_strndup(a, f + strlen(pre), 36)));
    f = cat_view_file_next(a, m, "s3://bucket/wh/ns/v/metadata/00004-x-y."
                           "gz.metadata.json");
    T_PREFIX(f, "s3://bucket/wh/ns/v/metadata/00005-");
    f = cat_view_file_next(a, m, "s3://x/v3.metadata.json");
    T_PREFIX(f, pre);
    m = upd(m, "[{'action':'set-properties','updates':{"
            "'write.metadata.compression-codec':'NONE'}}]", true);
    f = cat_view_file_next(a, m, "s3://x/00001-u.gz.metadata.json");
    T_PREFIX(f, "s3://bucket/wh/ns/v/metadata/00002-");
    T_STREQ(f + strlen(f) - strlen(".metadata.json"), ".metadata.json");
    T_CHECK(strstr(f, ".gz.") == NULL);
    m = upd(m, "[{'action':'set-properties','updates':{"
            "'write.metadata.path':'s3://custom/location/',"
            "'write.metadata.compression-codec':'gzip'}}]", true);
    f = cat_view_file_next(a, m, NULL);
    T_PREFIX(f, "s3://custom/location/00000-");
    T_STREQ(f + strlen(f) - strlen(".gz.metadata.json"), ".gz.metadata.json");
    /* the table default is still none */
    f = cat_meta_file_next(a, view(), NULL);
    T_STREQ(f + strlen(f) - strlen(".metadata.json"), ".metadata.json");
    T_CHECK(strstr(f, ".gz.") == NULL);
    fl_arena_free(a);
}

/* -------------------------------------------------- validate, canonical */

static void validate_err(json_t *m, const char *msg)
{
    struct fl_err err;

    fl_err_clear(&err);
    T_CHECK(!cat_view_validate(m, &err));
    T_CHECK(err.status == 400);
    T_STREQ(err.type, "ValidationException");
    T_PREFIX(err.msg, msg);
}

static void test_validate(void)
{
    struct fl_err err;
    json_t       *b = view();
    json_t       *x;

    fl_err_clear(&err);
    T_CHECK(cat_view_validate(b, &err));
    T_CHECK(cat_view_validate(mod(b, "properties", NULL), &err));
    validate_err(J("[]"), "Cannot parse view metadata from non-object");
    validate_err(NULL, "Cannot parse view metadata from non-object");
    validate_err(mod(b, "view-uuid", NULL), "Invalid view metadata: missing "
                 "required field \"view-uuid\"");
    validate_err(mod(b, "format-version", json_integer(2)),
                 "Invalid view metadata: Unsupported format version: 2");
    validate_err(mod(b, "format-version", json_string("1")),
                 "Invalid view metadata: field \"format-version\" must be an "
                 "integer");
    validate_err(mod(b, "location", NULL), "Invalid view metadata: missing "
                 "required field \"location\"");
    validate_err(mod(b, "properties", J("{'a':1}")), "Invalid view metadata: "
                 "value of \"a\" in \"properties\" must be a string");
    validate_err(mod(b, "schemas", NULL), "Invalid view metadata: missing "
                 "required field \"schemas\"");
    validate_err(mod(b, "schemas", J("[{'type':'struct','fields':[{'id':1,"
                                     "'name':'a','required':true,"
                                     "'type':'bogus'}]}]")),
                 "Invalid view metadata: Cannot parse type string to "
                 "primitive: bogus");
    validate_err(mod(b, "schemas", J("[{'type':'struct','schema-id':0,"
                                     "'fields':[]},{'type':'struct',"
                                     "'fields':[]}]")),
                 "Invalid view metadata: duplicate schema id 0");
    validate_err(mod(b, "current-version-id", json_integer(9)),
                 "Invalid view metadata: Cannot find current version 9 in "
                 "view versions");
    validate_err(mod(b, "current-version-id", NULL), "Invalid view "
                 "metadata: missing required field \"current-version-id\"");
    validate_err(mod(b, "versions", J("{}")), "Invalid view metadata: field "
                 "\"versions\" must be an array");
    validate_err(mod(b, "version-log", NULL), "Invalid view metadata: "
                 "missing required field \"version-log\"");
    validate_err(mod(b, "version-log", J("[1]")), "Invalid view metadata: "
                 "version-log entries must be objects");
    validate_err(mod(b, "version-log", J("[{'timestamp-ms':1}]")),
                 "Invalid view metadata: missing required field "
                 "\"version-id\"");
    x = mod(b, "versions", json_deep_copy(at(b, "versions")));
    json_object_set_new(at(x, "versions/1"), "schema-id", json_integer(3));
    validate_err(x, "Invalid view metadata: Cannot find schema with id 3 "
                 "for view version 2");
    x = mod(b, "versions", json_deep_copy(at(b, "versions")));
    json_object_set_new(at(x, "versions/1"), "version-id", json_integer(1));
    json_object_set_new(x, "current-version-id", json_integer(1));
    validate_err(x, "Invalid view metadata: duplicate view version id 1");
    x = mod(b, "versions", json_deep_copy(at(b, "versions")));
    json_object_del(at(x, "versions/0"), "default-namespace");
    validate_err(x, "Invalid view metadata: invalid view version: missing "
                 "required field \"default-namespace\"");
    /* an update refuses a base document that does not validate */
    upd_err(mod(b, "current-version-id", json_integer(9)), "[]", 400,
            "Invalid view metadata: Cannot find current version 9");
    upd_err(NULL, "[]", 400, "Cannot parse view metadata from non-object");
}

static void test_canonical(void)
{
    char    buf[512];
    json_t *x;
    json_t *m;

    /* a registered document in another order, with defaults to fill */
    x = J("{'x-vendor':1,'version-log':[{'version-id':1,'timestamp-ms':1}],"
          "'versions':[{'representations':[{'dialect':'spark','sql':'s',"
          "'type':'SQL'}],'default-namespace':[],'default-catalog':null,"
          "'summary':{},'schema-id':0,'timestamp-ms':1,'version-id':1,"
          "'operation':'create'}],"
          "'current-version-id':1,'schemas':[{'type':'struct','fields':[]}],"
          "'location':'s3://b/v/','format-version':1,'view-uuid':'" UUIDV
          "'}");
    T_CHECK(cat_view_validate(x, &(struct fl_err){0}));
    m = K(cat_view_canonical(x));
    T_STREQ(keys_of(m, buf, sizeof(buf)),
            "view-uuid,format-version,location,schemas,current-version-id,"
            "versions,version-log,x-vendor");
    T_STREQ(S(m, "location"), "s3://b/v");
    T_CHECK(I(m, "schemas/0/schema-id") == 0);
    T_STREQ(keys_of(at(m, "versions/0"), buf, sizeof(buf)),
            "version-id,timestamp-ms,schema-id,summary,default-namespace,"
            "representations");
    T_STREQ(keys_of(at(m, "versions/0/representations/0"), buf,
                    sizeof(buf)), "type,sql,dialect");
    T_STREQ(S(m, "versions/0/representations/0/type"), "sql");
    /* an update of it keeps the unknown key and writes the new order */
    m = upd(x, "[{'action':'set-properties','updates':{'a':'b'}}]", true);
    T_STREQ(keys_of(m, buf, sizeof(buf)),
            "view-uuid,format-version,location,properties,schemas,"
            "current-version-id,versions,version-log,x-vendor");
    /* not an object: a copy */
    m = K(cat_view_canonical(J("[1]")));
    T_CHECK(json_equal(m, J("[1]")));
}

static void round_trip(json_t *x)
{
    struct fl_err err;
    json_t       *c = K(cat_view_canonical(x));
    char         *d0 = json_dumps(x, JSON_COMPACT);
    char         *d1 = json_dumps(c, JSON_COMPACT);
    char         *d2;
    json_t       *y;

    y = K(json_loads(d1, 0, NULL));
    d2 = json_dumps(K(cat_view_canonical(y)), JSON_COMPACT);
    fl_err_clear(&err);
    T_CHECK(cat_view_validate(x, &err));
    T_CHECK(json_equal(c, x));
    T_CHECK(strcmp(d0, d1) == 0);       /* in Java order already */
    T_CHECK(strcmp(d1, d2) == 0);
    free(d0);
    free(d1);
    free(d2);
}

static void test_round_trips(void)
{
    json_t *m = create_ok(J(create_text), "s3://bucket/wh/ns/view");

    round_trip(view());
    round_trip(m);
    round_trip(view_with(3, "{'k':'v'}"));
    /* a created view takes updates and a no-op returns it unchanged */
    upd(m, "[{'action':'set-properties','updates':{'prop1':'val1'}}]",
        false);
    m = upd(m, "[{'action':'add-schema','schema':" OTHER_SCHEMA "}]", true);
    round_trip(m);
}

int main(void)
{
    static const struct t_case cases[] = {
        T(test_create),
        T(test_create_variants),
        T(test_create_errors),
        T(test_req_uuid),
        T(test_req_table_refused),
        T(test_up_assign_uuid),
        T(test_up_format_version),
        T(test_up_add_schema),
        T(test_up_location),
        T(test_up_properties),
        T(test_up_add_version),
        T(test_schema_last_added),
        T(test_up_current_version),
        T(test_table_actions_refused),
        T(test_dialect_drop),
        T(test_version_expiry),
        T(test_version_log_trim),
        T(test_concurrent_replace),
        T(test_file_names),
        T(test_validate),
        T(test_canonical),
        T(test_round_trips),
    };
    int rc;

    keep = json_array();
    rc = t_run(__FILE__, cases, FL_ARRAY_LEN(cases));
    json_decref(keep);
    return rc;
}
