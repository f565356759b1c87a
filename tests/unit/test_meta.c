/*
 * test_meta.c
 *
 * catalog/ table-metadata semantics as pure functions (cat_meta.c,
 * cat_meta_update.c, cat_schema.c): every commit requirement and its
 * failure texts, every update action (effect, no-op, each rejection),
 * createTable metadata and id reassignment, the create-transaction update
 * sequence, snapshot and metadata logs, file names, the snapshots=refs
 * view, canonical key order and v1/v2/v3 JSON round trips.
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

/* The member at slash-separated `path` ("snapshots/0/snapshot-id"). */
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

/* Apply `updates`: must succeed, with *changed == want_changed. */
static json_t *upd(json_t *base, const char *updates, bool want_changed)
{
    struct fl_err err;
    bool          changed = !want_changed;
    json_t       *out;

    fl_err_clear(&err);
    out = K(cat_meta_update(base, J(updates), NOW, &changed, &err));
    if (out == NULL) {
        fprintf(stderr, "  update failed: %d %s: %s\n", err.status,
                err.type, err.msg);
    }
    T_CHECK(out != NULL);
    T_CHECK(changed == want_changed);
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
    out = K(cat_meta_update(base, J(updates), NOW, &changed, &err));
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
    if (!cat_meta_check(base, J(reqs), &err)) {
        fprintf(stderr, "  %d %s\n", err.status, err.msg);
    }
    T_CHECK(err.status == 0);
}

static void req_err(json_t *base, const char *reqs, int status,
                    const char *msg)
{
    struct fl_err err;

    fl_err_clear(&err);
    T_CHECK(!cat_meta_check(base, J(reqs), &err));
    T_CHECK(err.status == status);
    if (status == 409) {
        T_STREQ(err.type, "CommitFailedException");
        T_STREQ(err.msg, msg);
    } else {
        T_PREFIX(err.msg, msg);
    }
}

/* ------------------------------------------------------------ fixtures */

#define UUID2 "9c12d441-03fe-4693-9a96-a0705ddf69c1"

static const char v2_text[] =
    "{'format-version':2,'table-uuid':'" UUID2 "',"
    "'location':'s3://bucket/wh/db/t','last-sequence-number':2,"
    "'last-updated-ms':1700000002000,'last-column-id':3,"
    "'current-schema-id':0,'schemas':[{'type':'struct','schema-id':0,"
    "'identifier-field-ids':[1],'fields':["
    "{'id':1,'name':'id','required':true,'type':'long'},"
    "{'id':2,'name':'data','required':false,'type':'string',"
    "'doc':'payload'},"
    "{'id':3,'name':'ts','required':false,'type':'timestamptz'}]}],"
    "'default-spec-id':0,'partition-specs':[{'spec-id':0,'fields':["
    "{'name':'ts_day','transform':'day','source-id':3,'field-id':1000}]}],"
    "'last-partition-id':1000,'default-sort-order-id':1,"
    "'sort-orders':[{'order-id':0,'fields':[]},{'order-id':1,'fields':["
    "{'transform':'identity','source-id':1,'direction':'asc',"
    "'null-order':'nulls-first'}]}],"
    "'properties':{'write.parquet.compression-codec':'zstd',"
    "'owner':'alice'},"
    "'current-snapshot-id':102,"
    "'refs':{'main':{'snapshot-id':102,'type':'branch'},"
    "'audit':{'snapshot-id':101,'type':'tag','max-ref-age-ms':86400000}},"
    "'snapshots':["
    "{'sequence-number':1,'snapshot-id':101,'timestamp-ms':1700000001000,"
    "'summary':{'operation':'append','added-data-files':'1'},"
    "'manifest-list':'s3://bucket/wh/db/t/metadata/snap-101-1-a.avro',"
    "'schema-id':0},"
    "{'sequence-number':2,'snapshot-id':102,'parent-snapshot-id':101,"
    "'timestamp-ms':1700000002000,'summary':{'operation':'append'},"
    "'manifest-list':'s3://bucket/wh/db/t/metadata/snap-102-1-b.avro',"
    "'schema-id':0}],"
    "'statistics':[{'snapshot-id':102,"
    "'statistics-path':'s3://bucket/wh/db/t/metadata/102.stats',"
    "'file-size-in-bytes':413,'file-footer-size-in-bytes':42,"
    "'blob-metadata':[{'type':'apache-datasketches-theta-v1',"
    "'snapshot-id':102,'sequence-number':2,'fields':[1]}]}],"
    "'partition-statistics':[{'snapshot-id':101,"
    "'statistics-path':'s3://bucket/wh/db/t/metadata/101.pstats',"
    "'file-size-in-bytes':99}],"
    "'snapshot-log':[{'timestamp-ms':1700000001000,'snapshot-id':101},"
    "{'timestamp-ms':1700000002000,'snapshot-id':102}],"
    "'metadata-log':[{'timestamp-ms':1700000000000,"
    "'metadata-file':'s3://bucket/wh/db/t/metadata/00000-a.metadata.json'},"
    "{'timestamp-ms':1700000001000,"
    "'metadata-file':'s3://bucket/wh/db/t/metadata/00001-b.metadata.json'}]}";

/* A v1 table as Java writes it: legacy "schema"/"partition-spec" too. */
static const char v1_text[] =
    "{'format-version':1,'table-uuid':'0b4c5d1c-5a8e-4f7e-9d0e-5c3b1a2f4e60',"
    "'location':'s3://bucket/wh/db/v1','last-updated-ms':1600000000000,"
    "'last-column-id':2,"
    "'schema':{'type':'struct','schema-id':0,'fields':["
    "{'id':1,'name':'x','required':true,'type':'long'},"
    "{'id':2,'name':'y','required':false,'type':'decimal(10, 2)'}]},"
    "'current-schema-id':0,'schemas':[{'type':'struct','schema-id':0,"
    "'fields':[{'id':1,'name':'x','required':true,'type':'long'},"
    "{'id':2,'name':'y','required':false,'type':'decimal(10, 2)'}]}],"
    "'partition-spec':[{'name':'x','transform':'identity','source-id':1,"
    "'field-id':1000}],"
    "'default-spec-id':0,'partition-specs':[{'spec-id':0,'fields':["
    "{'name':'x','transform':'identity','source-id':1,'field-id':1000}]}],"
    "'last-partition-id':1000,'default-sort-order-id':0,"
    "'sort-orders':[{'order-id':0,'fields':[]}],'properties':{},"
    "'current-snapshot-id':-1,'refs':{},'snapshots':[],'statistics':[],"
    "'partition-statistics':[],'snapshot-log':[],'metadata-log':[]}";

/* A v1 document from an old writer: no lists, no field ids. */
static const char v1_legacy_text[] =
    "{'format-version':1,'location':'s3://bucket/old/','last-updated-ms':5,"
    "'last-column-id':2,'schema':{'type':'struct','fields':["
    "{'id':1,'name':'x','required':true,'type':'int'},"
    "{'id':2,'name':'y','required':false,'type':'string'}]},"
    "'partition-spec':[{'name':'y_trunc','transform':'truncate[4]',"
    "'source-id':2}],'properties':{'k':'v'}}";

static const char v3_text[] =
    "{'format-version':3,'table-uuid':'5f7a4b0e-2c1d-4e3f-8a9b-0c1d2e3f4a5b',"
    "'location':'s3://bucket/wh/db/t3','last-sequence-number':1,"
    "'last-updated-ms':1750000000000,'last-column-id':3,"
    "'current-schema-id':0,'schemas':[{'type':'struct','schema-id':0,"
    "'fields':[{'id':1,'name':'id','required':true,'type':'long'},"
    "{'id':2,'name':'v','required':false,'type':'variant'},"
    "{'id':3,'name':'t','required':false,'type':'timestamp_ns',"
    "'initial-default':'2024-01-01T00:00:00.000000001'}]}],"
    "'default-spec-id':0,'partition-specs':[{'spec-id':0,'fields':[]}],"
    "'last-partition-id':999,'default-sort-order-id':0,"
    "'sort-orders':[{'order-id':0,'fields':[]}],'properties':{},"
    "'current-snapshot-id':201,'next-row-id':100,"
    "'encryption-keys':[{'key-id':'k1','encrypted-key-metadata':'AAEC'}],"
    "'refs':{'main':{'snapshot-id':201,'type':'branch'}},"
    "'snapshots':[{'sequence-number':1,'snapshot-id':201,"
    "'timestamp-ms':1750000000000,'summary':{'operation':'append'},"
    "'manifest-list':'s3://bucket/wh/db/t3/metadata/snap-201.avro',"
    "'schema-id':0,'first-row-id':0,'added-rows':100}],"
    "'statistics':[],'partition-statistics':[],"
    "'snapshot-log':[{'timestamp-ms':1750000000000,'snapshot-id':201}],"
    "'metadata-log':[]}";

/* A v3 table with no snapshot yet. */
static const char v3_empty_text[] =
    "{'format-version':3,'table-uuid':'5f7a4b0e-2c1d-4e3f-8a9b-0c1d2e3f4a5c',"
    "'location':'s3://bucket/wh/db/t4','last-sequence-number':0,"
    "'last-updated-ms':1750000000000,'last-column-id':1,"
    "'current-schema-id':0,'schemas':[{'type':'struct','schema-id':0,"
    "'fields':[{'id':1,'name':'id','required':true,'type':'long'}]}],"
    "'default-spec-id':0,'partition-specs':[{'spec-id':0,'fields':[]}],"
    "'last-partition-id':999,'default-sort-order-id':0,"
    "'sort-orders':[{'order-id':0,'fields':[]}],'properties':{},"
    "'next-row-id':0,'refs':{},'snapshots':[],"
    "'statistics':[],'partition-statistics':[],'snapshot-log':[],"
    "'metadata-log':[]}";

static json_t *v2(void)
{
    return J(v2_text);
}

static json_t *v1(void)
{
    return J(v1_text);
}

static json_t *v3(void)
{
    return J(v3_text);
}

/* An append snapshot in single-quote JSON. */
static const char *snap(char *buf, size_t n, long id, long parent, long seq,
                        long ts)
{
    char par[64] = "";

    if (parent > 0) {
        snprintf(par, sizeof(par), "'parent-snapshot-id':%ld,", parent);
    }
    snprintf(buf, n, "{'snapshot-id':%ld,%s'sequence-number':%ld,"
             "'timestamp-ms':%ld,'manifest-list':'s3://m/%ld.avro',"
             "'summary':{'operation':'append'},'schema-id':0}",
             id, par, seq, ts, id);
    return buf;
}

/* -------------------------------------------------------- requirements */

static void test_req_create(void)
{
    json_t *b = v2();

    req_ok(NULL, "[{'type':'assert-create'}]");
    req_ok(NULL, "[{'type':'ASSERT-CREATE'}]");
    req_ok(b, "[]");
    req_ok(b, "null");
    req_err(b, "[{'type':'assert-create'}]", 409,
            "Requirement failed: table already exists");
    req_err(NULL, "[{'type':'assert-create'},"
            "{'type':'assert-table-uuid','uuid':'" UUID2 "'}]", 400,
            "Invalid create requirements");
}

static void test_req_uuid(void)
{
    json_t *b = v2();

    req_ok(b, "[{'type':'assert-table-uuid','uuid':'" UUID2 "'}]");
    req_ok(b, "[{'type':'assert-table-uuid',"
           "'uuid':'9C12D441-03FE-4693-9A96-A0705DDF69C1'}]");
    req_err(b, "[{'type':'assert-table-uuid',"
            "'uuid':'00000000-0000-4000-8000-000000000000'}]", 409,
            "Requirement failed: UUID does not match: expected " UUID2
            " != 00000000-0000-4000-8000-000000000000");
    req_err(b, "[{'type':'assert-table-uuid','uuid':null}]", 400,
            "Invalid required UUID: null");
    req_err(b, "[{'type':'assert-table-uuid','uuid':5}]", 400,
            "field \"uuid\" must be a string");
}

static void test_req_ref(void)
{
    json_t *b = v2();

    req_ok(b, "[{'type':'assert-ref-snapshot-id','ref':'main',"
           "'snapshot-id':102}]");
    req_ok(b, "[{'type':'assert-ref-snapshot-id','ref':'dev',"
           "'snapshot-id':null}]");
    req_ok(b, "[{'type':'assert-ref-snapshot-id','ref':'dev'}]");
    req_err(b, "[{'type':'assert-ref-snapshot-id','ref':'main',"
            "'snapshot-id':null}]", 409,
            "Requirement failed: branch main was created concurrently");
    req_err(b, "[{'type':'assert-ref-snapshot-id','ref':'main',"
            "'snapshot-id':101}]", 409,
            "Requirement failed: branch main has changed: expected id 101 "
            "!= 102");
    req_err(b, "[{'type':'assert-ref-snapshot-id','ref':'audit',"
            "'snapshot-id':102}]", 409,
            "Requirement failed: tag audit has changed: expected id 102 != "
            "101");
    req_err(b, "[{'type':'assert-ref-snapshot-id','ref':'audit',"
            "'snapshot-id':null}]", 409,
            "Requirement failed: tag audit was created concurrently");
    req_err(b, "[{'type':'assert-ref-snapshot-id','ref':'dev',"
            "'snapshot-id':5}]", 409,
            "Requirement failed: branch or tag dev is missing, expected 5");
    req_err(b, "[{'type':'assert-ref-snapshot-id','snapshot-id':5}]", 400,
            "missing required field \"ref\"");
    req_err(b, "[{'type':'assert-ref-snapshot-id','ref':'main',"
            "'snapshot-id':'x'}]", 400, "field \"snapshot-id\" must be");
}

static void test_req_ids(void)
{
    static const struct {
        const char *type;
        const char *field;
        int         good;
        const char *msg;
    } t[] = {
        {"assert-last-assigned-field-id", "last-assigned-field-id", 3,
         "Requirement failed: last assigned field id changed: expected id "
         "7 != 3"},
        {"assert-current-schema-id", "current-schema-id", 0,
         "Requirement failed: current schema changed: expected id 7 != 0"},
        {"assert-last-assigned-partition-id", "last-assigned-partition-id",
         1000, "Requirement failed: last assigned partition id changed: "
         "expected id 7 != 1000"},
        {"assert-default-spec-id", "default-spec-id", 0,
         "Requirement failed: default partition spec changed: expected id "
         "7 != 0"},
        {"assert-default-sort-order-id", "default-sort-order-id", 1,
         "Requirement failed: default sort order changed: expected id 7 != "
         "1"},
    };
    json_t *b = v2();
    char    r[256];
    size_t  i;

    for (i = 0; i < FL_ARRAY_LEN(t); i++) {
        snprintf(r, sizeof(r), "[{'type':'%s','%s':%d}]", t[i].type,
                 t[i].field, t[i].good);
        req_ok(b, r);
        snprintf(r, sizeof(r), "[{'type':'%s','%s':7}]", t[i].type,
                 t[i].field);
        req_err(b, r, 409, t[i].msg);
        snprintf(r, sizeof(r), "[{'type':'%s'}]", t[i].type);
        req_err(b, r, 400, "missing required field");
        snprintf(r, sizeof(r), "[{'type':'%s','%s':'x'}]", t[i].type,
                 t[i].field);
        req_err(b, r, 400, "field");
    }
    /* with no table, the last-assigned checks pass (create transactions) */
    req_ok(NULL, "[{'type':'assert-last-assigned-field-id',"
           "'last-assigned-field-id':9}]");
    req_ok(NULL, "[{'type':'assert-last-assigned-partition-id',"
           "'last-assigned-partition-id':9}]");
    req_err(NULL, "[{'type':'assert-current-schema-id',"
            "'current-schema-id':0}]", 409,
            "Requirement failed: table does not exist");
}

static void test_req_malformed(void)
{
    json_t *b = v2();

    req_err(b, "{}", 400, "field \"requirements\" must be an array");
    req_err(b, "[5]", 400, "a requirement must be an object");
    req_err(b, "[{}]", 400, "missing required field \"type\"");
    req_err(b, "[{'type':'assert-nothing'}]", 400,
            "unknown requirement type \"assert-nothing\"");
    req_err(b, "[{'type':'assert-view-uuid','uuid':'x'}]", 400,
            "Cannot validate AssertViewUUID against a table");
    /* all are parsed first: a malformed one after a failing one is a 400 */
    req_err(b, "[{'type':'assert-current-schema-id','current-schema-id':9},"
            "{'type':'assert-default-spec-id'}]", 400,
            "missing required field");
    /* in order: the first failure is reported */
    req_err(b, "[{'type':'assert-current-schema-id','current-schema-id':9},"
            "{'type':'assert-default-spec-id','default-spec-id':9}]", 409,
            "Requirement failed: current schema changed: expected id 9 != 0");
}

/* ------------------------------------------------------------ updates */

/* A copy of `base` with `key` set to `v` (stolen), or removed if NULL. */
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

#define SCHEMA0_FIELDS                                                  \
    "{'id':1,'name':'id','required':true,'type':'long'},"               \
    "{'id':2,'name':'data','required':false,'type':'string',"           \
    "'doc':'payload'},"                                                 \
    "{'id':3,'name':'ts','required':false,'type':'timestamptz'}"

#define SCHEMA1                                                         \
    "{'type':'struct','schema-id':0,'identifier-field-ids':[1],"        \
    "'fields':[" SCHEMA0_FIELDS ",{'id':4,'name':'price',"              \
    "'required':false,'type':'decimal(9,2)'}]}"

static void test_up_assign_uuid(void)
{
    json_t *b = v2();
    json_t *m;

    upd(b, "[{'action':'assign-uuid','uuid':'" UUID2 "'}]", false);
    m = upd(b, "[{'action':'assign-uuid',"
            "'uuid':'11111111-2222-4333-8444-555555555555'}]", true);
    T_STREQ(S(m, "table-uuid"), "11111111-2222-4333-8444-555555555555");
    T_CHECK(I(m, "last-updated-ms") == NOW);
    upd_err(b, "[{'action':'assign-uuid','uuid':null}]", 400,
            "Cannot set uuid to null");
    upd_err(b, "[{'action':'assign-uuid'}]", 400, "Cannot set uuid to null");
    upd_err(b, "[{'action':'assign-uuid','uuid':'nope'}]", 400,
            "invalid table uuid");
}

static json_t *simple_table(int fv)
{
    struct fl_err err;
    char          req[512];
    json_t       *m;

    snprintf(req, sizeof(req),
             "{'name':'t','schema':{'type':'struct','fields':["
             "{'id':1,'name':'id','required':true,'type':'long'}]},"
             "'properties':{'format-version':'%d'}}", fv);
    fl_err_clear(&err);
    m = K(cat_meta_create(J(req), "s3://b/t", NOW - 1000, &err));
    T_CHECK(m != NULL);
    return m;
}

static void test_up_format_version(void)
{
    json_t *b = v2();
    json_t *m;

    upd(b, "[{'action':'upgrade-format-version','format-version':2}]",
        false);
    m = upd(b, "[{'action':'upgrade-format-version','format-version':3}]",
            true);
    T_CHECK(I(m, "format-version") == 3);
    T_CHECK(I(m, "next-row-id") == 0);
    upd_err(b, "[{'action':'upgrade-format-version','format-version':1}]",
            400, "Cannot downgrade v2 table to v1");
    upd_err(b, "[{'action':'upgrade-format-version','format-version':4}]",
            400, "Cannot upgrade table to unsupported format version: v4 "
            "(supported: v3)");
    upd_err(b, "[{'action':'upgrade-format-version'}]", 400,
            "missing required field \"format-version\"");
    /* v1 -> v2: the legacy keys go, last-sequence-number appears */
    m = upd(v1(), "[{'action':'upgrade-format-version','format-version':2}]",
            true);
    T_CHECK(at(m, "schema") == NULL && at(m, "partition-spec") == NULL);
    T_CHECK(I(m, "last-sequence-number") == 0);
    T_CHECK(I(m, "current-snapshot-id") == -1);
    /* v2 -> v3 without a snapshot: current-snapshot-id is left out */
    m = upd(simple_table(2),
            "[{'action':'upgrade-format-version','format-version':3}]", true);
    T_CHECK(at(m, "current-snapshot-id") == NULL);   /* absent */
    T_CHECK(I(m, "next-row-id") == 0);
}

static void test_up_add_schema(void)
{
    json_t *b = v2();
    json_t *m;

    /* the same fields (spelling aside) as schema 0: a no-op */
    upd(b, "[{'action':'add-schema','schema':{'type':'struct','schema-id':5,"
        "'identifier-field-ids':[1],'fields':["
        "{'id':1,'name':'id','required':true,'type':'LONG'},"
        "{'id':2,'name':'data','required':false,'type':'string',"
        "'doc':'payload'},"
        "{'id':3,'name':'ts','required':false,'type':'timestamptz'}]}}]",
        false);
    m = upd(b, "[{'action':'add-schema','schema':" SCHEMA1 ","
            "'last-column-id':99}]", true);
    T_CHECK(N(m, "schemas") == 2);
    T_CHECK(I(m, "schemas/1/schema-id") == 1);
    T_CHECK(I(m, "last-column-id") == 4);
    T_CHECK(I(m, "current-schema-id") == 0);
    T_STREQ(S(m, "schemas/1/fields/3/type"), "decimal(9, 2)");
    /* added twice in one commit: still one schema, and -1 finds it */
    m = upd(b, "[{'action':'add-schema','schema':" SCHEMA1 "},"
            "{'action':'add-schema','schema':" SCHEMA1 "},"
            "{'action':'set-current-schema','schema-id':-1}]", true);
    T_CHECK(N(m, "schemas") == 2);
    T_CHECK(I(m, "current-schema-id") == 1);
}

static void test_up_add_schema_errors(void)
{
    json_t *b = v2();
    json_t *m;

    /* v3-only types and defaults are rejected before v3 */
    upd_err(b, "[{'action':'add-schema','schema':{'type':'struct','fields':["
            "{'id':1,'name':'id','required':true,'type':'long'},"
            "{'id':4,'name':'v','required':false,'type':'variant'}]}}]",
            400, "Invalid schema for v2: Invalid type for v: variant is not "
            "supported until v3");
    upd_err(b, "[{'action':'add-schema','schema':{'type':'struct','fields':["
            "{'id':4,'name':'l','required':false,'type':{'type':'list',"
            "'element-id':5,'element':'timestamp_ns',"
            "'element-required':true}}]}}]", 400,
            "Invalid schema for v2: Invalid type for l.element: "
            "timestamp_ns is not supported until v3");
    upd_err(b, "[{'action':'add-schema','schema':{'type':'struct','fields':["
            "{'id':4,'name':'x','required':false,'type':'int',"
            "'initial-default':5}]}}]", 400,
            "Invalid schema for v2: Invalid initial default for x: non-null "
            "default (5) is not supported until v3");
    upd_err(b, "[{'action':'add-schema','schema':{'type':'struct','fields':["
            "{'id':4,'name':'x','required':false,'type':'int'},"
            "{'id':5,'name':'x','required':false,'type':'int'}]}}]", 400,
            "Invalid schema: multiple fields for name x");
    upd_err(b, "[{'action':'add-schema','schema':{'type':'struct','fields':["
            "{'id':4,'name':'x','required':false,'type':'int'},"
            "{'id':4,'name':'y','required':false,'type':'int'}]}}]", 400,
            "Invalid schema: multiple fields for id 4");
    upd_err(b, "[{'action':'add-schema','schema':{'type':'struct','fields':["
            "{'id':4,'name':'x','required':false,'type':'varchar'}]}}]", 400,
            "Cannot parse type string to primitive: varchar");
    upd_err(b, "[{'action':'add-schema','schema':{'type':'struct',"
            "'identifier-field-ids':[4],'fields':["
            "{'id':4,'name':'x','required':false,'type':'int'}]}}]", 400,
            "Cannot add field x as an identifier field: not a required "
            "field");
    upd_err(b, "[{'action':'add-schema'}]", 400,
            "missing required field \"schema\"");
    /* ...and accepted from v3 */
    m = upd(v3(), "[{'action':'add-schema','schema':{'type':'struct',"
            "'fields':[{'id':1,'name':'id','required':true,'type':'long'},"
            "{'id':4,'name':'g','required':false,'type':'geometry'}]}}]",
            true);
    T_CHECK(I(m, "schemas/1/schema-id") == 1 && I(m, "last-column-id") == 4);
}

static void test_up_current_schema(void)
{
    json_t *b = v2();
    json_t *m;

    upd(b, "[{'action':'set-current-schema','schema-id':0}]", false);
    upd_err(b, "[{'action':'set-current-schema','schema-id':-1}]", 400,
            "Cannot set last added schema: no schema has been added");
    upd_err(b, "[{'action':'set-current-schema','schema-id':7}]", 400,
            "Cannot set current schema to unknown schema: 7");
    m = upd(b, "[{'action':'add-schema','schema':" SCHEMA1 "},"
            "{'action':'set-current-schema','schema-id':-1}]", true);
    T_CHECK(I(m, "current-schema-id") == 1);
    m = upd(m, "[{'action':'set-current-schema','schema-id':0}]", true);
    T_CHECK(I(m, "current-schema-id") == 0);
    /* -1 means added in *this* commit: an existing schema does not count */
    upd_err(m, "[{'action':'add-schema','schema':" SCHEMA1 "},"
            "{'action':'set-current-schema','schema-id':-1}]", 400,
            "Cannot set last added schema");
    /* dropping the default spec's source column fails the build checks */
    upd_err(b, "[{'action':'add-schema','schema':{'type':'struct','fields':["
            "{'id':1,'name':'id','required':true,'type':'long'}]}},"
            "{'action':'set-current-schema','schema-id':-1}]", 400,
            "Cannot find source column for partition field: 1000: ts_day: "
            "day(3)");
}

static void test_up_remove_schemas(void)
{
    json_t *m = upd(v2(), "[{'action':'add-schema','schema':" SCHEMA1 "},"
                    "{'action':'set-current-schema','schema-id':-1}]", true);
    json_t *r;

    r = upd(m, "[{'action':'remove-schemas','schema-ids':[0]}]", true);
    T_CHECK(N(r, "schemas") == 1 && I(r, "schemas/0/schema-id") == 1);
    upd(m, "[{'action':'remove-schemas','schema-ids':[]}]", false);
    upd(m, "[{'action':'remove-schemas','schema-ids':[42]}]", false);
    upd_err(m, "[{'action':'remove-schemas','schema-ids':[0,1]}]", 400,
            "Cannot remove the current schema");
    upd_err(m, "[{'action':'remove-schemas','schema-ids':['x']}]", 400,
            "field \"schema-ids\" must be an array of integers");
    upd_err(m, "[{'action':'remove-schemas'}]", 400,
            "missing required field \"schema-ids\"");
}

static void test_up_add_spec(void)
{
    json_t *b = v2();
    json_t *m;

    /* compatible with spec 0: same source, transform and name */
    upd(b, "[{'action':'add-spec','spec':{'spec-id':9,'fields':[{"
        "'name':'ts_day','transform':'DAY','source-id':3,"
        "'field-id':1005}]}}]", false);
    m = upd(b, "[{'action':'add-spec','spec':{'fields':["
            "{'name':'ts_day','transform':'day','source-id':3,"
            "'field-id':1000},{'name':'id_bucket','transform':'bucket[16]',"
            "'source-id':1,'field-id':1001}]}}]", true);
    T_CHECK(I(m, "partition-specs/1/spec-id") == 1);
    T_CHECK(I(m, "last-partition-id") == 1001);
    T_CHECK(I(m, "default-spec-id") == 0);
    /* no field ids: reuse (source, transform)'s, else last + 1 */
    m = upd(b, "[{'action':'add-spec','spec':{'fields':["
            "{'name':'day','transform':'day','source-id':3},"
            "{'name':'data_trunc','transform':'truncate[4]',"
            "'source-id':2}]}}]", true);
    T_CHECK(I(m, "partition-specs/1/fields/0/field-id") == 1000);
    T_CHECK(I(m, "partition-specs/1/fields/1/field-id") == 1001);
    T_CHECK(I(m, "last-partition-id") == 1001);
}

static void test_up_add_spec_errors(void)
{
    json_t *b = v2();
    json_t *m;

    /* unknown transforms are tolerated */
    upd(b, "[{'action':'add-spec','spec':{'fields':[{'name':'z',"
        "'transform':'zorder','source-id':1,'field-id':1001}]}}]", true);
    upd_err(b, "[{'action':'add-spec','spec':{'fields':[{'name':'b',"
            "'transform':'bucket[x]','source-id':1}]}}]", 400,
            "Invalid transform: bucket[x]");
    upd_err(b, "[{'action':'add-spec','spec':{'fields':[{'name':'b',"
            "'transform':'bucket[0]','source-id':1}]}}]", 400,
            "Invalid number of buckets: 0 (must be > 0)");
    upd_err(b, "[{'action':'add-spec','spec':{'fields':[{'name':'z',"
            "'transform':'identity','source-id':42,'field-id':1001}]}}]",
            400, "Cannot find source column for partition field: 1001: z: "
            "identity(42)");
    upd_err(b, "[{'action':'add-spec','spec':{'fields':[{'name':'d',"
            "'transform':'day','source-id':2}]}}]", 400,
            "Invalid source type string for transform: day");
    upd_err(b, "[{'action':'add-spec','spec':{'fields':[{'name':'data',"
            "'transform':'bucket[2]','source-id':1}]}}]", 400,
            "Cannot create identity partition sourced from different field "
            "in schema: data");
    upd_err(b, "[{'action':'add-spec','spec':{'fields':["
            "{'name':'p','transform':'identity','source-id':1},"
            "{'name':'p','transform':'bucket[2]','source-id':2}]}}]", 400,
            "Cannot use partition name more than once: p");
    upd_err(b, "[{'action':'add-spec','spec':{'fields':["
            "{'name':'p','transform':'identity','source-id':1},"
            "{'name':'q','transform':'bucket[2]','source-id':2,"
            "'field-id':1002}]}}]", 400,
            "Cannot parse spec with missing field IDs: 1 missing of 2 "
            "fields.");
    upd_err(b, "[{'action':'add-spec'}]", 400,
            "missing required field \"spec\"");
    /* v1: ids must run 1000, 1001, ...; without ids they do */
    upd_err(v1(), "[{'action':'add-spec','spec':{'fields':[{'name':'y',"
            "'transform':'identity','source-id':2,'field-id':1001}]}}]", 400,
            "Spec does not use sequential IDs that are required in v1");
    m = upd(v1(), "[{'action':'add-spec','spec':{'fields':[{'name':'y',"
            "'transform':'identity','source-id':2}]}}]", true);
    T_CHECK(I(m, "partition-specs/1/fields/0/field-id") == 1000);
}

static void test_up_default_spec(void)
{
    json_t *b = v2();
    json_t *m;

    upd(b, "[{'action':'set-default-spec','spec-id':0}]", false);
    upd_err(b, "[{'action':'set-default-spec','spec-id':-1}]", 400,
            "Cannot set last added spec: no spec has been added");
    upd_err(b, "[{'action':'set-default-spec','spec-id':9}]", 400,
            "Cannot set default partition spec to unknown spec: 9");
    m = upd(b, "[{'action':'add-spec','spec':{'fields':[]}},"
            "{'action':'set-default-spec','spec-id':-1}]", true);
    T_CHECK(I(m, "default-spec-id") == 1);
    T_CHECK(I(m, "last-partition-id") == 1000);
    m = upd(m, "[{'action':'set-default-spec','spec-id':0}]", true);
    T_CHECK(I(m, "default-spec-id") == 0);
}

static void test_up_remove_specs(void)
{
    json_t *m = upd(v2(), "[{'action':'add-spec','spec':{'fields':[]}},"
                    "{'action':'set-default-spec','spec-id':-1}]", true);
    json_t *r;

    r = upd(m, "[{'action':'remove-partition-specs','spec-ids':[0]}]", true);
    T_CHECK(N(r, "partition-specs") == 1);
    T_CHECK(I(r, "partition-specs/0/spec-id") == 1);
    upd(m, "[{'action':'remove-partition-specs','spec-ids':[]}]", false);
    upd(m, "[{'action':'remove-partition-specs','spec-ids':[7]}]", false);
    upd_err(m, "[{'action':'remove-partition-specs','spec-ids':[1]}]", 400,
            "Cannot remove the default partition spec");
    upd_err(m, "[{'action':'remove-partition-specs'}]", 400,
            "missing required field \"spec-ids\"");
}

static void test_up_add_order(void)
{
    json_t *b = v2();
    json_t *m;

    upd(b, "[{'action':'add-sort-order','sort-order':{'fields':[]}}]",
        false);
    upd(b, "[{'action':'add-sort-order','sort-order':{'order-id':7,"
        "'fields':[{'transform':'IDENTITY','source-id':1,"
        "'direction':'ASC','null-order':'NULLS-FIRST'}]}}]", false);
    m = upd(b, "[{'action':'add-sort-order','sort-order':{'fields':[{"
            "'transform':'hour','source-id':3,'direction':'desc',"
            "'null-order':'nulls-last'}]}}]", true);
    T_CHECK(I(m, "sort-orders/2/order-id") == 2);
    T_STREQ(S(m, "sort-orders/2/fields/0/direction"), "desc");
    T_CHECK(I(m, "default-sort-order-id") == 1);
    upd_err(b, "[{'action':'add-sort-order','sort-order':{'fields':[{"
            "'transform':'identity','source-id':1,'direction':'up',"
            "'null-order':'nulls-last'}]}}]", 400,
            "Invalid sort direction: up");
    upd_err(b, "[{'action':'add-sort-order','sort-order':{'fields':[{"
            "'transform':'identity','source-id':1,'direction':'asc',"
            "'null-order':'x'}]}}]", 400, "Unexpected null order: x");
    upd_err(b, "[{'action':'add-sort-order','sort-order':{'fields':[{"
            "'transform':'identity','source-id':42,'direction':'asc',"
            "'null-order':'nulls-last'}]}}]", 400,
            "Cannot find source column for sort field: identity(42) asc "
            "nulls-last");
    upd_err(b, "[{'action':'add-sort-order','sort-order':{'fields':[{"
            "'transform':'hour','source-id':2,'direction':'asc',"
            "'null-order':'nulls-last'}]}}]", 400,
            "Invalid source type string for transform: hour");
    upd_err(b, "[{'action':'add-sort-order'}]", 400,
            "missing required field \"sort-order\"");
}

static void test_up_default_order(void)
{
    json_t *b = v2();
    json_t *m;

    upd(b, "[{'action':'set-default-sort-order','sort-order-id':1}]", false);
    upd_err(b, "[{'action':'set-default-sort-order','sort-order-id':-1}]",
            400, "Cannot set last added sort order: no sort order has been "
            "added");
    upd_err(b, "[{'action':'set-default-sort-order','sort-order-id':5}]",
            400, "Cannot set default sort order to unknown sort order: 5");
    m = upd(b, "[{'action':'set-default-sort-order','sort-order-id':0}]",
            true);
    T_CHECK(I(m, "default-sort-order-id") == 0);
    m = upd(b, "[{'action':'add-sort-order','sort-order':{'fields':[{"
            "'transform':'bucket[4]','source-id':3,'direction':'asc',"
            "'null-order':'nulls-first'}]}},"
            "{'action':'set-default-sort-order','sort-order-id':-1}]", true);
    T_CHECK(I(m, "default-sort-order-id") == 2);
}

/* ----------------------------------------------------------- snapshots */

static const char *add_snap(char *buf, size_t n, long id, long parent,
                            long seq, long ts)
{
    char s[512];

    snprintf(buf, n, "{'action':'add-snapshot','snapshot':%s}",
             snap(s, sizeof(s), id, parent, seq, ts));
    return buf;
}

static void test_up_add_snapshot(void)
{
    json_t     *b = v2();
    json_t     *m;
    char        u[1024];
    char        a[768];
    const char *k;

    snprintf(u, sizeof(u), "[%s]",
             add_snap(a, sizeof(a), 103, 102, 3, 1700000003000L));
    m = upd(b, u, true);
    T_CHECK(N(m, "snapshots") == 3);
    T_CHECK(I(m, "last-sequence-number") == 3);
    T_CHECK(I(m, "current-snapshot-id") == 102);       /* no ref moved */
    T_CHECK(N(m, "snapshot-log") == 2);
    /* stored in SnapshotParser's key order */
    k = json_object_iter_key(json_object_iter(at(m, "snapshots/2")));
    T_STREQ(k, "sequence-number");
    T_STREQ(S(m, "snapshots/2/summary/operation"), "append");
    /* v2: a snapshot with a parent must move the sequence number on */
    snprintf(u, sizeof(u), "[%s]",
             add_snap(a, sizeof(a), 103, 102, 2, 1700000003000L));
    upd_err(b, u, 409, "Validation failed, please retry: Cannot add snapshot "
            "with sequence number 2 older than last sequence number 2");
    /* without a parent it may, but then older snapshots are "ahead" */
    snprintf(u, sizeof(u), "[%s]",
             add_snap(a, sizeof(a), 104, 0, 1, 1700000003000L));
    upd_err(b, u, 400, "Invalid snapshot with sequence number 2 greater than "
            "last sequence number 1");
    snprintf(u, sizeof(u), "[%s]",
             add_snap(a, sizeof(a), 102, 101, 3, 1700000003000L));
    upd_err(b, u, 400, "Snapshot already exists for id: 102");
    upd_err(b, "[{'action':'add-snapshot','snapshot':{'snapshot-id':5,"
            "'timestamp-ms':1}}]", 400,
            "missing required field \"manifest-list\"");
    upd_err(b, "[{'action':'add-snapshot','snapshot':{'timestamp-ms':1,"
            "'manifest-list':'m'}}]", 400,
            "missing required field \"snapshot-id\"");
    upd_err(b, "[{'action':'add-snapshot'}]", 400,
            "missing required field \"snapshot\"");
    /* a summary without an operation reads as overwrite */
    m = upd(b, "[{'action':'add-snapshot','snapshot':{'snapshot-id':105,"
            "'parent-snapshot-id':102,'sequence-number':3,"
            "'timestamp-ms':1700000003000,'manifest-list':'m',"
            "'summary':{'added-files':'1'}}}]", true);
    k = json_object_iter_key(json_object_iter(at(m, "snapshots/2/summary")));
    T_STREQ(k, "operation");
    T_STREQ(S(m, "snapshots/2/summary/operation"), "overwrite");
    /* a create transaction with no schema yet */
    upd_err(NULL, "[{'action':'add-snapshot','snapshot':{'snapshot-id':1,"
            "'timestamp-ms':1,'manifest-list':'m'}}]", 400,
            "Attempting to add a snapshot before a schema is added");
}

static void test_up_add_snapshot_v3(void)
{
    json_t *b = v3();
    json_t *m;

    upd_err(b, "[{'action':'add-snapshot','snapshot':{'snapshot-id':202,"
            "'parent-snapshot-id':201,'sequence-number':2,"
            "'timestamp-ms':1750000001000,'manifest-list':'m',"
            "'summary':{'operation':'append'}}}]", 400,
            "Cannot add a snapshot: first-row-id is null");
    upd_err(b, "[{'action':'add-snapshot','snapshot':{'snapshot-id':202,"
            "'parent-snapshot-id':201,'sequence-number':2,"
            "'timestamp-ms':1750000001000,'manifest-list':'m',"
            "'first-row-id':50,'added-rows':10}}]", 409,
            "Validation failed, please retry: Cannot add a snapshot, "
            "first-row-id is behind table next-row-id: 50 < 100");
    upd_err(b, "[{'action':'add-snapshot','snapshot':{'snapshot-id':202,"
            "'parent-snapshot-id':201,'sequence-number':2,"
            "'timestamp-ms':1750000001000,'manifest-list':'m',"
            "'first-row-id':100}}]", 400,
            "Cannot add a snapshot: added-rows is null");
    m = upd(b, "[{'action':'add-snapshot','snapshot':{'snapshot-id':202,"
            "'parent-snapshot-id':201,'sequence-number':2,"
            "'timestamp-ms':1750000001000,'manifest-list':'m',"
            "'first-row-id':100,'added-rows':30}},"
            "{'action':'set-snapshot-ref','ref-name':'main','type':'branch',"
            "'snapshot-id':202}]", true);
    T_CHECK(I(m, "next-row-id") == 130);
    T_CHECK(I(m, "current-snapshot-id") == 202);
    T_CHECK(I(m, "snapshots/1/first-row-id") == 100);
}

static void test_up_set_ref(void)
{
    json_t *b = v2();
    json_t *m;
    char    u[1024];
    char    a[768];

    upd(b, "[{'action':'set-snapshot-ref','ref-name':'main',"
        "'type':'branch','snapshot-id':102}]", false);
    /* a snapshot added in this commit: the log gets its timestamp */
    snprintf(u, sizeof(u), "[%s,{'action':'set-snapshot-ref',"
             "'ref-name':'main','type':'branch','snapshot-id':103}]",
             add_snap(a, sizeof(a), 103, 102, 3, 1700000003000L));
    m = upd(b, u, true);
    T_CHECK(I(m, "current-snapshot-id") == 103);
    T_CHECK(I(m, "refs/main/snapshot-id") == 103);
    T_CHECK(N(m, "snapshot-log") == 3);
    T_CHECK(I(m, "snapshot-log/2/timestamp-ms") == 1700000003000L);
    T_CHECK(I(m, "last-updated-ms") == NOW);
    /* a rollback: the log gets the commit time */
    m = upd(b, "[{'action':'set-snapshot-ref','ref-name':'main',"
            "'type':'branch','snapshot-id':101}]", true);
    T_CHECK(I(m, "current-snapshot-id") == 101);
    T_CHECK(I(m, "snapshot-log/2/snapshot-id") == 101);
    T_CHECK(I(m, "snapshot-log/2/timestamp-ms") == NOW);
    /* other branches move neither current-snapshot-id nor the log */
    m = upd(b, "[{'action':'set-snapshot-ref','ref-name':'dev',"
            "'type':'BRANCH','snapshot-id':101,'min-snapshots-to-keep':2}]",
            true);
    T_CHECK(I(m, "current-snapshot-id") == 102);
    T_CHECK(N(m, "snapshot-log") == 2);
    T_CHECK(I(m, "refs/dev/min-snapshots-to-keep") == 2);
    T_STREQ(S(m, "refs/dev/type"), "branch");
    /* the ref is replaced by exactly the given members */
    m = upd(b, "[{'action':'set-snapshot-ref','ref-name':'audit',"
            "'type':'tag','snapshot-id':101}]", true);
    T_CHECK(at(m, "refs/audit/max-ref-age-ms") == NULL);
    upd_err(b, "[{'action':'set-snapshot-ref','ref-name':'dev',"
            "'type':'branch','snapshot-id':999}]", 400,
            "Cannot set dev to unknown snapshot: 999");
    upd_err(b, "[{'action':'set-snapshot-ref','ref-name':'main',"
            "'type':'tag','snapshot-id':101}]", 400,
            "Cannot set main to a tag, it must be a branch");
    upd_err(b, "[{'action':'set-snapshot-ref','ref-name':'t',"
            "'type':'tag','snapshot-id':101,'min-snapshots-to-keep':1}]",
            400, "Tags do not support setting minSnapshotsToKeep");
    upd_err(b, "[{'action':'set-snapshot-ref','ref-name':'t',"
            "'type':'tag','snapshot-id':101,'max-snapshot-age-ms':1}]",
            400, "Tags do not support setting maxSnapshotAgeMs");
    upd_err(b, "[{'action':'set-snapshot-ref','ref-name':'t',"
            "'type':'tag','snapshot-id':101,'max-ref-age-ms':0}]", 400,
            "Max reference age must be greater than 0");
    upd_err(b, "[{'action':'set-snapshot-ref','ref-name':'t',"
            "'type':'bogus','snapshot-id':101}]", 400,
            "Invalid snapshot ref type: bogus");
    upd_err(b, "[{'action':'set-snapshot-ref','type':'tag',"
            "'snapshot-id':101}]", 400, "missing required field \"ref-name\"");
}

static void test_up_remove_ref(void)
{
    json_t *b = v2();
    json_t *m;

    m = upd(b, "[{'action':'remove-snapshot-ref','ref-name':'audit'}]",
            true);
    T_CHECK(N(m, "refs") == 1);
    upd(b, "[{'action':'remove-snapshot-ref','ref-name':'nope'}]", false);
    m = upd(b, "[{'action':'remove-snapshot-ref','ref-name':'main'}]", true);
    T_CHECK(I(m, "current-snapshot-id") == -1);
    T_CHECK(at(m, "refs/main") == NULL);
    T_CHECK(N(m, "snapshot-log") == 2);
    m = upd(v3(), "[{'action':'remove-snapshot-ref','ref-name':'main'}]",
            true);
    T_CHECK(at(m, "current-snapshot-id") == NULL);   /* absent */
    upd_err(b, "[{'action':'remove-snapshot-ref'}]", 400,
            "missing required field \"ref-name\"");
}

static void test_up_remove_snapshots(void)
{
    json_t *b = v2();
    json_t *m;
    char    u[1024];
    char    a[768];

    m = upd(b, "[{'action':'remove-snapshots','snapshot-ids':[101]}]", true);
    T_CHECK(N(m, "snapshots") == 1 && I(m, "snapshots/0/snapshot-id") == 102);
    T_CHECK(N(m, "partition-statistics") == 0);     /* 101's stats went */
    T_CHECK(N(m, "statistics") == 1);
    T_CHECK(at(m, "refs/audit") == NULL);           /* dangling tag went */
    T_CHECK(N(m, "snapshot-log") == 1);
    T_CHECK(I(m, "snapshot-log/0/snapshot-id") == 102);
    upd(b, "[{'action':'remove-snapshots','snapshot-ids':[999]}]", false);
    upd(b, "[{'action':'remove-snapshots','snapshot-ids':[]}]", false);
    upd_err(b, "[{'action':'remove-snapshots','snapshot-ids':null}]", 400,
            "Invalid set of snapshot ids to remove: must be non-null");
    upd_err(b, "[{'action':'remove-snapshots'}]", 400,
            "Invalid set of snapshot ids to remove: must be non-null");
    upd_err(b, "[{'action':'remove-snapshots','snapshot-ids':['x']}]", 400,
            "field \"snapshot-ids\" must be an array of integers");
    /* removing the current snapshot drops main and the history */
    m = upd(b, "[{'action':'remove-snapshots','snapshot-ids':[102]}]", true);
    T_CHECK(I(m, "current-snapshot-id") == -1 && at(m, "refs/main") == NULL);
    T_CHECK(N(m, "snapshot-log") == 0);
    T_CHECK(N(m, "statistics") == 0);
    /* log [101, 102, 103], remove 102: 102 and everything before it go */
    snprintf(u, sizeof(u), "[%s,{'action':'set-snapshot-ref',"
             "'ref-name':'main','type':'branch','snapshot-id':103}]",
             add_snap(a, sizeof(a), 103, 102, 3, 1700000003000L));
    m = upd(b, u, true);
    m = upd(m, "[{'action':'remove-snapshots','snapshot-ids':[102]}]", true);
    T_CHECK(N(m, "snapshot-log") == 1);
    T_CHECK(I(m, "snapshot-log/0/snapshot-id") == 103);
    T_CHECK(N(m, "snapshots") == 2);
}

static void test_intermediate_snapshots(void)
{
    json_t *b = v2();
    json_t *m;
    char    u[2048];
    char    a1[768], a2[768];

    /* main moves through 103 to 104 in one commit: 103 leaves no entry */
    snprintf(u, sizeof(u), "[%s,{'action':'set-snapshot-ref',"
             "'ref-name':'main','type':'branch','snapshot-id':103},%s,"
             "{'action':'set-snapshot-ref','ref-name':'main',"
             "'type':'branch','snapshot-id':104}]",
             add_snap(a1, sizeof(a1), 103, 102, 3, 1700000003000L),
             add_snap(a2, sizeof(a2), 104, 103, 4, 1700000004000L));
    m = upd(b, u, true);
    T_CHECK(I(m, "current-snapshot-id") == 104);
    T_CHECK(I(m, "last-sequence-number") == 4);
    T_CHECK(N(m, "snapshots") == 4);
    T_CHECK(N(m, "snapshot-log") == 3);
    T_CHECK(I(m, "snapshot-log/1/snapshot-id") == 102);
    T_CHECK(I(m, "snapshot-log/2/snapshot-id") == 104);
    T_CHECK(I(m, "snapshot-log/2/timestamp-ms") == 1700000004000L);
    /* added, made current, then rolled back to 102: only the rollback */
    snprintf(u, sizeof(u), "[%s,{'action':'set-snapshot-ref',"
             "'ref-name':'main','type':'branch','snapshot-id':103},"
             "{'action':'set-snapshot-ref','ref-name':'main',"
             "'type':'branch','snapshot-id':102}]",
             add_snap(a1, sizeof(a1), 103, 102, 3, 1700000003000L));
    m = upd(b, u, true);
    T_CHECK(N(m, "snapshot-log") == 3);
    T_CHECK(I(m, "snapshot-log/2/snapshot-id") == 102);
    T_CHECK(I(m, "snapshot-log/2/timestamp-ms") == NOW);
    /* last-updated-ms is never before the last log entry */
    snprintf(u, sizeof(u), "[%s,{'action':'set-snapshot-ref',"
             "'ref-name':'main','type':'branch','snapshot-id':103}]",
             add_snap(a1, sizeof(a1), 103, 102, 3, NOW + 5000));
    m = upd(b, u, true);
    T_CHECK(I(m, "last-updated-ms") == NOW + 5000);
}

/* ------------------------------------------- location and properties */

static void test_up_location(void)
{
    json_t *b = v2();
    json_t *m;

    upd(b, "[{'action':'set-location','location':'s3://bucket/wh/db/t/'}]",
        false);
    m = upd(b, "[{'action':'set-location','location':'s3://other/t//'}]",
            true);
    T_STREQ(S(m, "location"), "s3://other/t");
    upd_err(b, "[{'action':'set-location','location':'s3://b/../x'}]", 400,
            "invalid table location");
    upd_err(b, "[{'action':'set-location'}]", 400,
            "missing required field \"location\"");
}

static void test_up_properties(void)
{
    json_t *b = v2();
    json_t *m;

    upd(b, "[{'action':'set-properties','updates':{'owner':'alice'}}]",
        false);
    upd(b, "[{'action':'set-properties','updates':{}}]", false);
    m = upd(b, "[{'action':'set-properties','updates':{'owner':'bob',"
            "'k':'v'}}]", true);
    T_STREQ(S(m, "properties/owner"), "bob");
    T_STREQ(S(m, "properties/k"), "v");
    m = upd(b, "[{'action':'set-properties','updated':{'k':'legacy'}}]",
            true);
    T_STREQ(S(m, "properties/k"), "legacy");
    upd_err(b, "[{'action':'set-properties','updates':{'k':1}}]", 400,
            "value of \"k\" in \"properties\" must be a string");
    upd_err(b, "[{'action':'set-properties'}]", 400,
            "missing required field \"updates\"");
    m = upd(b, "[{'action':'remove-properties','removals':['owner','nope']}]",
            true);
    T_CHECK(at(m, "properties/owner") == NULL);
    m = upd(b, "[{'action':'remove-properties','removed':['owner']}]", true);
    T_CHECK(at(m, "properties/owner") == NULL);
    upd(b, "[{'action':'remove-properties','removals':['nope']}]", false);
    upd(b, "[{'action':'remove-properties','removals':[]}]", false);
    upd_err(b, "[{'action':'remove-properties','removals':'owner'}]", 400,
            "field \"removals\" must be an array of strings");
    upd_err(b, "[{'action':'remove-properties','removals':[1]}]", 400,
            "field \"removals\" must be an array of strings");
}

#define STATS(sid, path)                                                \
    "{'snapshot-id':" #sid ",'statistics-path':'" path "',"            \
    "'file-size-in-bytes':10,'file-footer-size-in-bytes':2,"            \
    "'blob-metadata':[{'type':'t','snapshot-id':" #sid ","              \
    "'sequence-number':1,'fields':[1],'properties':{'a':'b'}}]}"

static void test_up_statistics(void)
{
    json_t *b = v2();
    json_t *m;

    m = upd(b, "[{'action':'set-statistics','snapshot-id':101,"
            "'statistics':" STATS(101, "s3://s/101") "}]", true);
    T_CHECK(N(m, "statistics") == 2);
    m = upd(b, "[{'action':'set-statistics','statistics':"
            STATS(102, "s3://s/new") "}]", true);
    T_CHECK(N(m, "statistics") == 1);
    T_STREQ(S(m, "statistics/0/statistics-path"), "s3://s/new");
    upd(m, "[{'action':'set-statistics','statistics':"
        STATS(102, "s3://s/new") "}]", false);
    upd_err(b, "[{'action':'set-statistics','statistics':{'snapshot-id':1,"
            "'statistics-path':'p','file-size-in-bytes':1,"
            "'file-footer-size-in-bytes':1}}]", 400,
            "missing required field \"blob-metadata\"");
    upd_err(b, "[{'action':'set-statistics'}]", 400,
            "missing required field \"statistics\"");
    m = upd(b, "[{'action':'remove-statistics','snapshot-id':102}]", true);
    T_CHECK(N(m, "statistics") == 0);
    upd(b, "[{'action':'remove-statistics','snapshot-id':999}]", false);
    upd_err(b, "[{'action':'remove-statistics'}]", 400,
            "missing required field \"snapshot-id\"");
}

static void test_up_partition_statistics(void)
{
    json_t *b = v2();
    json_t *m;

    m = upd(b, "[{'action':'set-partition-statistics','partition-statistics':"
            "{'snapshot-id':102,'statistics-path':'s3://p/102',"
            "'file-size-in-bytes':5}}]", true);
    T_CHECK(N(m, "partition-statistics") == 2);
    m = upd(b, "[{'action':'set-partition-statistics','partition-statistics':"
            "{'snapshot-id':101,'statistics-path':'s3://p/101b',"
            "'file-size-in-bytes':5}}]", true);
    T_CHECK(N(m, "partition-statistics") == 1);
    T_STREQ(S(m, "partition-statistics/0/statistics-path"), "s3://p/101b");
    upd(b, "[{'action':'set-partition-statistics','partition-statistics':"
        "{'snapshot-id':101,"
        "'statistics-path':'s3://bucket/wh/db/t/metadata/101.pstats',"
        "'file-size-in-bytes':99}}]", false);
    upd_err(b, "[{'action':'set-partition-statistics','partition-statistics':"
            "{'snapshot-id':101,'file-size-in-bytes':5}}]", 400,
            "missing required field \"statistics-path\"");
    m = upd(b, "[{'action':'remove-partition-statistics','snapshot-id':101}]",
            true);
    T_CHECK(N(m, "partition-statistics") == 0);
    upd(b, "[{'action':'remove-partition-statistics','snapshot-id':7}]",
        false);
    upd_err(b, "[{'action':'remove-partition-statistics'}]", 400,
            "missing required field \"snapshot-id\"");
}

static void test_up_encryption_keys(void)
{
    json_t *b = v3();
    json_t *m;

    upd(b, "[{'action':'add-encryption-key','encryption-key':{'key-id':'k1',"
        "'encrypted-key-metadata':'ZZZZ'}}]", false);
    m = upd(b, "[{'action':'add-encryption-key','encryption-key':{"
            "'key-id':'k2','encrypted-key-metadata':'AAAA',"
            "'encrypted-by-id':'k1','properties':{'p':'q'}}}]", true);
    T_CHECK(N(m, "encryption-keys") == 2);
    T_STREQ(S(m, "encryption-keys/1/encrypted-by-id"), "k1");
    upd_err(b, "[{'action':'add-encryption-key'}]", 400,
            "Invalid encryption key, must be non-null object");
    upd_err(b, "[{'action':'add-encryption-key','encryption-key':{"
            "'key-id':'k3'}}]", 400,
            "missing required field \"encrypted-key-metadata\"");
    m = upd(b, "[{'action':'remove-encryption-key','key-id':'k1'}]", true);
    T_CHECK(at(m, "encryption-keys") == NULL);     /* empty: not written */
    upd(b, "[{'action':'remove-encryption-key','key-id':'nope'}]", false);
    upd_err(b, "[{'action':'remove-encryption-key'}]", 400,
            "missing required field \"key-id\"");
    /* the first key of a v2 table */
    m = upd(v2(), "[{'action':'add-encryption-key','encryption-key':{"
            "'key-id':'k1','encrypted-key-metadata':'AAAA'}}]", true);
    T_CHECK(N(m, "encryption-keys") == 1);
}

static void test_up_malformed(void)
{
    json_t       *b = v2();
    json_t       *before = K(json_deep_copy(b));
    json_t       *m;
    struct fl_err err;
    bool          changed = true;

    upd_err(b, "{}", 400, "field \"updates\" must be an array");
    upd_err(b, "[5]", 400, "an update must be an object");
    upd_err(b, "[{}]", 400, "missing required field \"action\"");
    upd_err(b, "[{'action':'frobnicate'}]", 400,
            "unknown update action \"frobnicate\"");
    upd_err(b, "[{'action':'add-view-version','view-version':{}}]", 400,
            "update action \"add-view-version\" applies only to views");
    /* all or nothing: a bad second update undoes the first */
    upd_err(b, "[{'action':'set-properties','updates':{'a':'b'}},"
            "{'action':'set-default-spec','spec-id':9}]", 400,
            "Cannot set default partition spec to unknown spec: 9");
    m = upd(b, "[{'action':'SET-PROPERTIES','updates':{'a':'b'}}]", true);
    T_STREQ(S(m, "properties/a"), "b");
    fl_err_clear(&err);
    m = K(cat_meta_update(b, NULL, NOW, &changed, &err));
    T_CHECK(m != NULL && !changed && json_equal(m, b));
    upd(b, "[]", false);
    T_CHECK(json_equal(b, before));                 /* base never touched */
}

/* ---------------------------------------------------------- createTable */

static json_t *create(const char *req, const char *loc, struct fl_err *err)
{
    fl_err_clear(err);
    return K(cat_meta_create(J(req), loc, NOW, err));
}

static void create_err(const char *req, const char *msg)
{
    struct fl_err err;

    T_CHECK(create(req, "s3://b/t", &err) == NULL);
    T_CHECK(err.status == 400);
    T_PREFIX(err.msg, msg);
}

static const char nested_req[] =
    "{'name':'t','location':'ignored','stage-create':false,"
    "'schema':{'type':'struct','schema-id':7,'identifier-field-ids':[10],"
    "'fields':[{'id':10,'name':'id','required':true,'type':'long'},"
    "{'id':11,'name':'data','required':false,'type':'string'},"
    "{'id':12,'name':'list','required':false,'type':{'type':'list',"
    "'element-id':13,'element':'string','element-required':true}},"
    "{'id':14,'name':'map','required':false,'type':{'type':'map',"
    "'key-id':15,'key':'string','value-id':16,'value':'int',"
    "'value-required':false}},"
    "{'id':17,'name':'struct','required':false,'type':{'type':'struct',"
    "'fields':[{'id':18,'name':'v','required':false,'type':'double'}]}}]},"
    "'partition-spec':{'spec-id':3,'fields':["
    "{'name':'data_trunc','transform':'truncate[8]','source-id':11,"
    "'field-id':5000},"
    "{'name':'id_bucket','transform':'Bucket[4]','source-id':10}]},"
    "'write-order':{'order-id':5,'fields':[{'transform':'identity',"
    "'source-id':18,'direction':'DESC','null-order':'nulls-last'}]},"
    "'properties':{'format-version':'2','owner':'me',"
    "'write.parquet.compression-codec':'snappy','current-snapshot-id':'5'}}";

static void test_create_ids(void)
{
    struct fl_err err;
    json_t       *m = create(nested_req, "s3://b/wh/db/t/", &err);
    json_t       *f;

    T_CHECK(m != NULL);
    f = at(m, "schemas/0/fields");
    T_CHECK(I(f, "0/id") == 1 && I(f, "1/id") == 2 && I(f, "2/id") == 3);
    T_CHECK(I(f, "3/id") == 4 && I(f, "4/id") == 5);
    T_CHECK(I(f, "2/type/element-id") == 6);
    T_CHECK(I(f, "3/type/key-id") == 7 && I(f, "3/type/value-id") == 8);
    T_CHECK(I(f, "4/type/fields/0/id") == 9);
    T_CHECK(I(m, "schemas/0/schema-id") == 0);
    T_CHECK(I(m, "schemas/0/identifier-field-ids/0") == 1);
    T_CHECK(I(m, "last-column-id") == 9);
    /* the spec: sources by name, field ids from 1000, spec id 0 */
    T_CHECK(I(m, "partition-specs/0/spec-id") == 0);
    T_CHECK(I(m, "partition-specs/0/fields/0/source-id") == 2);
    T_CHECK(I(m, "partition-specs/0/fields/0/field-id") == 1000);
    T_CHECK(I(m, "partition-specs/0/fields/1/source-id") == 1);
    T_CHECK(I(m, "partition-specs/0/fields/1/field-id") == 1001);
    T_STREQ(S(m, "partition-specs/0/fields/1/transform"), "bucket[4]");
    T_CHECK(I(m, "last-partition-id") == 1001);
    /* the sort order: id 1, source remapped */
    T_CHECK(N(m, "sort-orders") == 1);
    T_CHECK(I(m, "default-sort-order-id") == 1);
    T_CHECK(I(m, "sort-orders/0/order-id") == 1);
    T_CHECK(I(m, "sort-orders/0/fields/0/source-id") == 9);
    T_STREQ(S(m, "sort-orders/0/fields/0/direction"), "desc");
    /* properties: reserved ones dropped, the client's codec wins */
    T_CHECK(N(m, "properties") == 2);
    T_STREQ(S(m, "properties/write.parquet.compression-codec"), "snappy");
    T_STREQ(S(m, "properties/owner"), "me");
    /* the rest of a new table */
    T_STREQ(S(m, "location"), "s3://b/wh/db/t");
    T_CHECK(I(m, "format-version") == 2);
    T_CHECK(fl_uuid_valid(S(m, "table-uuid")));
    T_CHECK(I(m, "last-sequence-number") == 0);
    T_CHECK(I(m, "last-updated-ms") == NOW);
    T_CHECK(I(m, "current-snapshot-id") == -1);
    T_CHECK(at(m, "next-row-id") == NULL);
    T_CHECK(N(m, "refs") == 0 && N(m, "snapshots") == 0);
    T_CHECK(N(m, "snapshot-log") == 0 && N(m, "metadata-log") == 0);
    T_CHECK(cat_meta_validate(m, &err));
}

static void test_create_versions(void)
{
    struct fl_err err;
    json_t       *m;

    m = create("{'name':'t','schema':{'type':'struct','fields':["
               "{'id':1,'name':'v','required':false,'type':'variant'}]},"
               "'properties':{'format-version':'3'}}", "s3://b/t", &err);
    T_CHECK(m != NULL);
    T_CHECK(I(m, "format-version") == 3 && I(m, "next-row-id") == 0);
    T_CHECK(at(m, "current-snapshot-id") == NULL);   /* absent */
    T_CHECK(I(m, "last-partition-id") == 999);
    T_CHECK(I(m, "default-sort-order-id") == 0);
    T_CHECK(I(m, "sort-orders/0/order-id") == 0);
    T_CHECK(N(m, "sort-orders/0/fields") == 0);
    T_STREQ(S(m, "properties/write.parquet.compression-codec"), "zstd");
    T_CHECK(at(m, "properties/format-version") == NULL);
    m = create("{'name':'t','schema':{'type':'struct','fields':["
               "{'id':1,'name':'x','required':true,'type':'int'}]},"
               "'partition-spec':{'fields':[{'name':'x','transform':"
               "'identity','source-id':1}]},"
               "'properties':{'format-version':'1'}}", "s3://b/t", &err);
    T_CHECK(m != NULL);
    T_CHECK(I(m, "format-version") == 1);
    T_CHECK(at(m, "last-sequence-number") == NULL);
    T_CHECK(I(m, "schema/schema-id") == 0);
    T_CHECK(I(m, "partition-spec/0/field-id") == 1000);
    T_CHECK(cat_meta_validate(m, &err));
}

static void test_create_errors(void)
{
    create_err("{'name':'t'}", "missing required field \"schema\"");
    create_err("{'name':'t','schema':[]}", "field \"schema\" must be an "
               "object");
    create_err("{'name':'t','schema':{'type':'struct','fields':["
               "{'id':1,'name':'a','required':true,"
               "'type':'varchar(10)'}]}}",
               "Cannot parse type string to primitive: varchar(10)");
    create_err("{'name':'t','schema':{'type':'struct','fields':["
               "{'id':1,'name':'a','required':true,'type':'decimal(39,2)'}]}}",
               "Cannot parse type string to primitive");
    create_err("{'name':'t','schema':{'type':'struct','fields':["
               "{'id':1,'name':'a','required':true,'type':'int'},"
               "{'id':2,'name':'a','required':true,'type':'int'}]}}",
               "Invalid schema: multiple fields for name a");
    create_err("{'name':'t','schema':{'type':'struct','fields':["
               "{'id':1,'name':'s','required':true,'type':{'type':'struct',"
               "'fields':[{'id':2,'name':'v','required':true,'type':'int'},"
               "{'id':3,'name':'v','required':true,'type':'int'}]}}]}}",
               "Invalid schema: multiple fields for name s.v");
    create_err("{'name':'t','schema':{'type':'struct','fields':["
               "{'id':1,'name':'a','required':true,'type':'int'}]},"
               "'partition-spec':{'fields':[{'name':'p',"
               "'transform':'identity','source-id':99}]}}",
               "Cannot find source column for partition field: 99");
    create_err("{'name':'t','schema':{'type':'struct','fields':["
               "{'id':1,'name':'a','required':true,'type':'int'}]},"
               "'partition-spec':{'fields':[{'name':'p',"
               "'transform':'bucket[x]','source-id':1}]}}",
               "Invalid transform: bucket[x]");
}

static void test_create_errors_more(void)
{
    struct fl_err err;

    create_err("{'name':'t','schema':{'type':'struct','fields':["
               "{'id':1,'name':'a','required':true,'type':'int'}]},"
               "'write-order':{'fields':[{'transform':'identity',"
               "'source-id':5,'direction':'asc','null-order':'nulls-last'}]}}",
               "Cannot find source column for sort field: 5");
    create_err("{'name':'t','schema':{'type':'struct','fields':["
               "{'id':1,'name':'a','required':true,'type':'int'}]},"
               "'properties':{'format-version':'abc'}}",
               "property \"format-version\" must be an integer: abc");
    create_err("{'name':'t','schema':{'type':'struct','fields':["
               "{'id':1,'name':'a','required':true,'type':'int'}]},"
               "'properties':{'format-version':'4'}}",
               "Unsupported format version: v4 (supported: v3)");
    create_err("{'name':'t','schema':{'type':'struct','fields':["
               "{'id':1,'name':'v','required':false,'type':'variant'}]}}",
               "Invalid schema for v2: Invalid type for v: variant is not "
               "supported until v3");
    create_err("{'name':'t','schema':{'type':'struct','fields':["
               "{'id':1,'name':'g','required':false,"
               "'type':'geography(OGC:CRS84, karney)'}]}}",
               "Invalid schema for v2: Invalid type for g: "
               "geography(OGC:CRS84, karney) is not supported until v3");
    create_err("{'name':'t','schema':{'type':'struct','fields':["
               "{'id':1,'name':'u','required':false,'type':'unknown'}]}}",
               "Invalid schema for v2: Invalid type for u: unknown is not "
               "supported until v3");
    create_err("{'name':'t','schema':{'type':'struct','fields':["
               "{'id':1,'name':'a','required':false,'type':'int',"
               "'initial-default':1}]}}",
               "Invalid schema for v2: Invalid initial default for a: "
               "non-null default (1) is not supported until v3");
    create_err("{'name':'t','schema':{'type':'struct','fields':["
               "{'id':1,'name':'a','required':'yes','type':'int'}]}}",
               "field \"required\" must be a boolean");
    create_err("{'name':'t','schema':{'type':'struct','fields':["
               "{'id':1,'name':'a','required':true}]}}",
               "invalid schema: field \"a\" has no type");
    create_err("{'name':'t','schema':{'type':'struct','fields':["
               "{'id':1,'name':'a','required':true,'type':'int'}]},"
               "'properties':{'k':1}}",
               "value of \"k\" in \"properties\" must be a string");
    T_CHECK(create("{'name':'t','schema':{'type':'struct','fields':[]}}",
                   "s3://b/../t", &err) == NULL);
    T_CHECK(err.status == 400);
    T_CHECK(create("{'name':'t','schema':{'type':'struct','fields':[]}}",
                   NULL, &err) == NULL);
    T_CHECK(err.status == 400);
}

/* ------------------------------------------------- create transactions */

/* What the Java client sends after a stage-create (section 3.3). */
#define CREATE_TX(fv, extra)                                            \
    "[{'action':'assign-uuid','uuid':'" UUID2 "'},"                     \
    "{'action':'upgrade-format-version','format-version':" #fv "},"     \
    "{'action':'add-schema','schema':{'type':'struct','schema-id':0,"   \
    "'identifier-field-ids':[1],'fields':[" SCHEMA0_FIELDS "]},"        \
    "'last-column-id':3},"                                              \
    "{'action':'set-current-schema','schema-id':-1},"                   \
    "{'action':'add-spec','spec':{'spec-id':0,'fields':[{"              \
    "'name':'ts_day','transform':'day','source-id':3,"                  \
    "'field-id':1000}]}},"                                              \
    "{'action':'set-default-spec','spec-id':-1},"                       \
    "{'action':'add-sort-order','sort-order':{'order-id':1,'fields':[{" \
    "'transform':'identity','source-id':1,'direction':'asc',"           \
    "'null-order':'nulls-first'}]}},"                                   \
    "{'action':'set-default-sort-order','sort-order-id':-1},"           \
    "{'action':'set-location','location':'s3://b/wh/db/t'},"            \
    "{'action':'set-properties','updates':{'owner':'x'}}" extra "]"

static void test_create_transaction(void)
{
    json_t *m;

    req_ok(NULL, "[{'type':'assert-create'}]");
    m = upd(NULL, CREATE_TX(2, ""), true);
    T_STREQ(S(m, "table-uuid"), UUID2);
    T_CHECK(I(m, "format-version") == 2);
    T_CHECK(N(m, "schemas") == 1 && I(m, "current-schema-id") == 0);
    T_CHECK(N(m, "partition-specs") == 1 && I(m, "default-spec-id") == 0);
    T_CHECK(N(m, "sort-orders") == 1 && I(m, "default-sort-order-id") == 1);
    T_CHECK(I(m, "last-column-id") == 3 && I(m, "last-partition-id") == 1000);
    T_CHECK(N(m, "metadata-log") == 0);
    T_CHECK(I(m, "last-updated-ms") == NOW);
    /* further additions in the same transaction: 1, 1, 2 */
    m = upd(NULL, CREATE_TX(2, ",{'action':'add-schema','schema':" SCHEMA1
                            "},{'action':'set-current-schema','schema-id':-1},"
                            "{'action':'add-spec','spec':{'fields':[]}},"
                            "{'action':'set-default-spec','spec-id':-1},"
                            "{'action':'add-sort-order','sort-order':{"
                            "'fields':[{'transform':'identity','source-id':4,"
                            "'direction':'desc','null-order':'nulls-last'}]}},"
                            "{'action':'set-default-sort-order',"
                            "'sort-order-id':-1}"), true);
    T_CHECK(I(m, "current-schema-id") == 1);
    T_CHECK(I(m, "default-spec-id") == 1);
    T_CHECK(I(m, "default-sort-order-id") == 2);
    /* with a first snapshot */
    m = upd(NULL, CREATE_TX(3, ",{'action':'add-snapshot','snapshot':{"
                            "'snapshot-id':1,'sequence-number':1,"
                            "'timestamp-ms':1700000000000,"
                            "'manifest-list':'s3://m/1.avro',"
                            "'summary':{'operation':'append'},"
                            "'first-row-id':0,'added-rows':5}},"
                            "{'action':'set-snapshot-ref','ref-name':'main',"
                            "'type':'branch','snapshot-id':1}"), true);
    T_CHECK(I(m, "format-version") == 3 && I(m, "next-row-id") == 5);
    T_CHECK(I(m, "current-snapshot-id") == 1);
    T_CHECK(N(m, "snapshot-log") == 1);
    T_CHECK(I(m, "last-sequence-number") == 1);
    /* unsorted */
    m = upd(NULL, "[{'action':'add-schema','schema':{'type':'struct',"
            "'fields':[]}},{'action':'set-current-schema','schema-id':-1},"
            "{'action':'add-spec','spec':{'fields':[]}},"
            "{'action':'set-default-spec','spec-id':-1},"
            "{'action':'add-sort-order','sort-order':{'fields':[]}},"
            "{'action':'set-default-sort-order','sort-order-id':-1},"
            "{'action':'set-location','location':'s3://b/t'}]", true);
    T_CHECK(I(m, "default-sort-order-id") == 0);
    T_CHECK(I(m, "last-partition-id") == 999);
    T_CHECK(I(m, "format-version") == 2);
    upd_err(NULL, "[]", 400,
            "Cannot build table metadata: no schema has been added");
    upd_err(NULL, "[{'action':'add-schema','schema':{'type':'struct',"
            "'fields':[]}},{'action':'add-spec','spec':{'fields':[]}},"
            "{'action':'add-sort-order','sort-order':{'fields':[]}}]", 400,
            "Table location is required in format v2");
    upd_err(NULL, "[{'action':'upgrade-format-version','format-version':9}]",
            400, "Unsupported format version: v9 (supported: v3)");
}

/* ---------------------------------------------------------------- logs */

static void test_metadata_log(void)
{
    json_t *b = v2();
    json_t *before = K(json_deep_copy(b));
    json_t *m;
    json_t *tr;
    json_t *e;

    m = K(cat_meta_log_append(b, "s3://bucket/wh/db/t/metadata/00002-c."
                              "metadata.json", 1700000002000LL, &tr));
    K(tr);
    T_CHECK(N(m, "metadata-log") == 3 && json_array_size(tr) == 0);
    e = at(m, "metadata-log/2");
    T_STREQ(json_object_iter_key(json_object_iter(e)), "timestamp-ms");
    T_CHECK(I(e, "timestamp-ms") == 1700000002000LL);
    T_CHECK(json_equal(b, before));
    /* the new document's limit applies in the same commit */
    b = upd(b, "[{'action':'set-properties','updates':{"
            "'write.metadata.previous-versions-max':'2'}}]", true);
    m = K(cat_meta_log_append(b, "f2", 1, &tr));
    K(tr);
    T_CHECK(N(m, "metadata-log") == 2);
    T_STREQ(S(m, "metadata-log/1/metadata-file"), "f2");
    T_CHECK(json_array_size(tr) == 1);
    T_STREQ(json_string_value(json_array_get(tr, 0)),
            "s3://bucket/wh/db/t/metadata/00000-a.metadata.json");
    /* at least one entry stays */
    b = upd(b, "[{'action':'set-properties','updates':{"
            "'write.metadata.previous-versions-max':'0'}}]", true);
    m = K(cat_meta_log_append(b, "f3", 1, &tr));
    K(tr);
    T_CHECK(N(m, "metadata-log") == 1 && json_array_size(tr) == 2);
    T_STREQ(S(m, "metadata-log/0/metadata-file"), "f3");
    /* unparsable: the default of 100; no previous file: nothing added */
    b = upd(b, "[{'action':'set-properties','updates':{"
            "'write.metadata.previous-versions-max':'lots'}}]", true);
    m = K(cat_meta_log_append(b, "f4", 1, &tr));
    K(tr);
    T_CHECK(N(m, "metadata-log") == 3 && json_array_size(tr) == 0);
    m = K(cat_meta_log_append(b, NULL, 1, &tr));
    K(tr);
    T_CHECK(N(m, "metadata-log") == 2 && json_array_size(tr) == 0);
}

static void test_file_names(void)
{
    struct fl_arena *a = fl_arena_new(0);
    json_t          *m = v2();
    const char      *f;
    const char      *pre = "s3://bucket/wh/db/t/metadata/00000-";

    f = cat_meta_file_next(a, m, NULL);
    T_CHECK(strncmp(f, pre, strlen(pre)) == 0);
    T_CHECK(strlen(f) == strlen(pre) + 36 + strlen(".metadata.json"));
    T_STREQ(f + strlen(pre) + 36, ".metadata.json");
    T_CHECK(fl_uuid_valid(fl_strndup(a, f + strlen(pre), 36)));
    f = cat_meta_file_next(a, m, "s3://bucket/wh/db/t/metadata/00041-x-y."
                           "metadata.json");
    T_PREFIX(f, "s3://bucket/wh/db/t/metadata/00042-");
    f = cat_meta_file_next(a, m, "s3://x/v3.metadata.json");
    T_PREFIX(f, "s3://bucket/wh/db/t/metadata/00000-");
    f = cat_meta_file_next(a, m, "s3://x/abc-def.metadata.json");
    T_PREFIX(f, "s3://bucket/wh/db/t/metadata/00000-");
    f = cat_meta_file_next(a, m, "s3://x/99999-u.metadata.json");
    T_PREFIX(f, "s3://bucket/wh/db/t/metadata/100000-");
    m = upd(m, "[{'action':'set-properties','updates':{"
            "'write.metadata.path':'s3://meta/here/',"
            "'write.metadata.compression-codec':'GZIP'}}]", true);
    f = cat_meta_file_next(a, m, "s3://x/00000-u.metadata.json");
    T_PREFIX(f, "s3://meta/here/00001-");
    T_STREQ(f + strlen(f) - strlen(".gz.metadata.json"), ".gz.metadata.json");
    m = upd(m, "[{'action':'set-properties','updates':{"
            "'write.metadata.compression-codec':'none'}}]", true);
    f = cat_meta_file_next(a, m, NULL);
    T_PREFIX(f, "s3://meta/here/00000-");
    T_STREQ(f + strlen(f) - strlen(".metadata.json"), ".metadata.json");
    T_CHECK(strstr(f, ".gz.") == NULL);
    fl_arena_free(a);
}

static void test_refs_only(void)
{
    json_t *b = v2();
    json_t *m;
    char    u[1024];
    char    a[768];

    snprintf(u, sizeof(u), "[%s]",
             add_snap(a, sizeof(a), 103, 102, 3, 1700000003000L));
    b = upd(b, u, true);
    m = K(cat_meta_refs_only(b));
    T_CHECK(N(m, "snapshots") == 2);                /* 101 tag, 102 main */
    T_CHECK(I(m, "snapshots/0/snapshot-id") == 101);
    T_CHECK(I(m, "snapshots/1/snapshot-id") == 102);
    T_CHECK(json_equal(at(m, "snapshot-log"), at(b, "snapshot-log")));
    T_CHECK(json_equal(at(m, "refs"), at(b, "refs")));
    T_CHECK(N(b, "snapshots") == 3);
    b = upd(b, "[{'action':'remove-snapshot-ref','ref-name':'audit'}]",
            true);
    m = K(cat_meta_refs_only(b));
    T_CHECK(N(m, "snapshots") == 1);
    T_CHECK(I(m, "snapshots/0/snapshot-id") == 102);
}

/* ------------------------------------------------- canonical documents */

/* The keys of object `v`, comma-separated. */
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

static void test_canonical_order(void)
{
    char    buf[1024];
    json_t *m;
    json_t *x;

    /* an old v1 document: lists, ids and defaults filled in */
    m = K(cat_meta_canonical(J(v1_legacy_text)));
    T_STREQ(keys_of(m, buf, sizeof(buf)),
            "format-version,location,last-updated-ms,last-column-id,schema,"
            "current-schema-id,schemas,partition-spec,default-spec-id,"
            "partition-specs,last-partition-id,default-sort-order-id,"
            "sort-orders,properties,current-snapshot-id,refs,snapshots,"
            "statistics,partition-statistics,snapshot-log,metadata-log");
    T_STREQ(S(m, "location"), "s3://bucket/old");
    T_CHECK(I(m, "partition-specs/0/fields/0/field-id") == 1000);
    T_CHECK(I(m, "partition-spec/0/field-id") == 1000);
    T_CHECK(I(m, "last-partition-id") == 1000);
    T_CHECK(I(m, "current-snapshot-id") == -1);
    T_CHECK(I(m, "sort-orders/0/order-id") == 0);
    T_CHECK(cat_meta_validate(J(v1_legacy_text), &(struct fl_err){0}));
    /* v2 in Java order stays as it is; unknown keys go last */
    x = mod(v2(), "x-vendor", json_string("kept"));
    json_object_del(x, "format-version");
    json_object_set_new(x, "format-version", json_integer(2));
    m = K(cat_meta_canonical(x));
    T_STREQ(keys_of(m, buf, sizeof(buf)),
            "format-version,table-uuid,location,last-sequence-number,"
            "last-updated-ms,last-column-id,current-schema-id,schemas,"
            "default-spec-id,partition-specs,last-partition-id,"
            "default-sort-order-id,sort-orders,properties,"
            "current-snapshot-id,refs,snapshots,statistics,"
            "partition-statistics,snapshot-log,metadata-log,x-vendor");
    /* v3: next-row-id, non-empty encryption keys, null for no snapshot */
    m = K(cat_meta_canonical(J(v3_text)));
    T_STREQ(keys_of(m, buf, sizeof(buf)),
            "format-version,table-uuid,location,last-sequence-number,"
            "last-updated-ms,last-column-id,current-schema-id,schemas,"
            "default-spec-id,partition-specs,last-partition-id,"
            "default-sort-order-id,sort-orders,properties,"
            "current-snapshot-id,next-row-id,encryption-keys,refs,snapshots,"
            "statistics,partition-statistics,snapshot-log,metadata-log");
    m = K(cat_meta_canonical(mod(J(v3_empty_text), "current-snapshot-id",
                                 json_integer(-1))));
    T_CHECK(at(m, "current-snapshot-id") == NULL);   /* absent */
    m = K(cat_meta_canonical(mod(simple_table(2), "current-snapshot-id",
                                 json_null())));
    T_CHECK(I(m, "current-snapshot-id") == -1);
    /* v2 drops what only v1 and v3 write */
    x = mod(v2(), "next-row-id", json_integer(5));
    json_object_set_new(x, "schema", json_object());
    json_object_set_new(x, "encryption-keys", json_array());
    m = K(cat_meta_canonical(x));
    T_CHECK(at(m, "next-row-id") == NULL && at(m, "schema") == NULL);
    T_CHECK(at(m, "encryption-keys") == NULL);
}

/* parse -> canonical -> dump -> parse gives the same document. */
static void round_trip(const char *text)
{
    struct fl_err err;
    json_t       *x = J(text);
    json_t       *c = K(cat_meta_canonical(x));
    json_t       *c2;
    char         *d1 = json_dumps(c, JSON_COMPACT);
    char         *d0 = json_dumps(x, JSON_COMPACT);
    char         *d2;
    json_t       *y;

    y = K(json_loads(d1, 0, NULL));
    c2 = K(cat_meta_canonical(y));
    d2 = json_dumps(c2, JSON_COMPACT);
    fl_err_clear(&err);
    T_CHECK(cat_meta_validate(x, &err));
    T_CHECK(json_equal(y, c));
    T_CHECK(json_equal(c, x));
    T_CHECK(strcmp(d0, d1) == 0);       /* fixtures are in Java order */
    T_CHECK(strcmp(d1, d2) == 0);
    free(d0);
    free(d1);
    free(d2);
}

static void test_round_trips(void)
{
    round_trip(v1_text);
    round_trip(v2_text);
    round_trip(v3_text);
    round_trip(v3_empty_text);
}

static void validate_err(json_t *m, const char *msg)
{
    struct fl_err err;

    fl_err_clear(&err);
    T_CHECK(!cat_meta_validate(m, &err));
    T_CHECK(err.status == 400);
    T_PREFIX(err.msg, msg);
}

static void test_validate(void)
{
    struct fl_err err;
    json_t       *b = v2();

    fl_err_clear(&err);
    T_CHECK(cat_meta_validate(b, &err));
    T_CHECK(cat_meta_validate(v1(), &err));
    T_CHECK(cat_meta_validate(v3(), &err));
    validate_err(J("[]"), "Cannot parse metadata from a non-object");
    validate_err(mod(b, "format-version", json_integer(4)),
                 "Cannot read unsupported version 4");
    validate_err(mod(b, "format-version", NULL),
                 "Invalid table metadata: missing required field "
                 "\"format-version\"");
    validate_err(mod(b, "last-sequence-number", NULL),
                 "Invalid table metadata: missing required field "
                 "\"last-sequence-number\"");
    validate_err(mod(b, "table-uuid", NULL),
                 "Invalid table metadata: missing required field "
                 "\"table-uuid\"");
    validate_err(mod(b, "location", json_integer(1)),
                 "Invalid table metadata: field \"location\" must be a "
                 "string");
    validate_err(mod(b, "current-schema-id", json_integer(5)),
                 "Cannot find schema with current-schema-id=5 from schemas");
    validate_err(mod(b, "default-spec-id", json_integer(3)),
                 "Invalid table metadata: default-spec-id 3 is not in "
                 "partition-specs");
    validate_err(mod(b, "default-sort-order-id", json_integer(3)),
                 "Invalid table metadata: default-sort-order-id 3 is not in "
                 "sort-orders");
    validate_err(mod(b, "current-snapshot-id", json_integer(999)),
                 "Invalid table metadata: Cannot find current version");
    validate_err(mod(b, "current-snapshot-id", json_integer(101)),
                 "Current snapshot ID does not match main branch (101 != "
                 "102)");
    validate_err(mod(b, "refs", J("{'x':{'snapshot-id':7,'type':'tag'}}")),
                 "Snapshot for reference x does not exist in the existing "
                 "snapshots list");
    validate_err(mod(b, "last-sequence-number", json_integer(1)),
                 "Invalid snapshot with sequence number 2 greater than last "
                 "sequence number 1");
    validate_err(mod(b, "schemas", J("[{'type':'struct','schema-id':0,"
                                     "'fields':[{'id':1,'name':'a',"
                                     "'required':true,'type':'str'}]}]")),
                 "Cannot parse type string to primitive: str");
    validate_err(mod(v3(), "next-row-id", NULL),
                 "Invalid table metadata: missing required field "
                 "\"next-row-id\"");
    validate_err(mod(b, "metadata-log", J("[{'timestamp-ms':1}]")),
                 "Invalid metadata-log: missing required field "
                 "\"metadata-file\"");
    validate_err(mod(b, "properties", J("{'a':1}")),
                 "value of \"a\" in \"properties\" must be a string");
    validate_err(mod(b, "last-column-id", json_integer(1LL << 40)),
                 "Invalid table metadata: field \"last-column-id\" must be "
                 "a 32-bit integer");
    validate_err(mod(b, "schemas", J("[{'type':'struct','schema-id':0,"
                                     "'fields':[]},{'type':'struct',"
                                     "'schema-id':0,'fields':[]}]")),
                 "Invalid table metadata: duplicate schema id 0");
    /* an update refuses a base document that does not validate */
    upd_err(mod(b, "current-schema-id", json_integer(5)), "[]", 400,
            "Cannot find schema with current-schema-id=5 from schemas");
}

int main(void)
{
    static const struct t_case cases[] = {
        T(test_req_create),
        T(test_req_uuid),
        T(test_req_ref),
        T(test_req_ids),
        T(test_req_malformed),
        T(test_up_assign_uuid),
        T(test_up_format_version),
        T(test_up_add_schema),
        T(test_up_add_schema_errors),
        T(test_up_current_schema),
        T(test_up_remove_schemas),
        T(test_up_add_spec),
        T(test_up_add_spec_errors),
        T(test_up_default_spec),
        T(test_up_remove_specs),
        T(test_up_add_order),
        T(test_up_default_order),
        T(test_up_add_snapshot),
        T(test_up_add_snapshot_v3),
        T(test_up_set_ref),
        T(test_up_remove_ref),
        T(test_up_remove_snapshots),
        T(test_intermediate_snapshots),
        T(test_up_location),
        T(test_up_properties),
        T(test_up_statistics),
        T(test_up_partition_statistics),
        T(test_up_encryption_keys),
        T(test_up_malformed),
        T(test_create_ids),
        T(test_create_versions),
        T(test_create_errors),
        T(test_create_errors_more),
        T(test_create_transaction),
        T(test_metadata_log),
        T(test_file_names),
        T(test_refs_only),
        T(test_canonical_order),
        T(test_round_trips),
        T(test_validate),
    };
    int rc;

    keep = json_array();
    rc = t_run(__FILE__, cases, FL_ARRAY_LEN(cases));
    json_decref(keep);
    return rc;
}
