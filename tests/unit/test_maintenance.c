/*
 * test_maintenance.c
 *
 * maintenance/mnt_config.c without a database: the effective
 * configuration of a table from its applicable policies, its properties
 * and the server's defaults, in that order; the 24 h orphan-age floor;
 * gc.enabled; values that do not parse; the JSON the status API shows.
 */
#include "maintenance/mnt_int.h"

#include <string.h>

#include "t.h"

static const char *ns_ops[] = {"ops"};

static void settings(struct mnt_settings *ms)
{
    memset(ms, 0, sizeof(*ms));
    ms->max_snapshot_age_ms = 432000000;
    ms->min_snapshots_to_keep = 1;
    ms->max_ref_age_ms = INT64_MAX;
    ms->orphan_age_ms = 259200000;
    ms->target_file_size = 536870912;
    ms->min_input_files = 5;
    ms->delete_file_threshold = INT32_MAX;
}

static struct cat_policy policy(const char *type, const char *name,
                                const char *content)
{
    struct cat_policy p;

    memset(&p, 0, sizeof(p));
    p.type = type;
    p.name = name;
    p.content = content;
    p.ns = ns_ops;
    p.nns = 1;
    p.inheritable = true;
    return p;
}

static json_t *props(struct fl_arena *a, const char *text)
{
    return fl_arena_own_json(a, json_loads(text, 0, NULL));
}

static void test_defaults(void)
{
    struct fl_arena    *a = fl_arena_new(0);
    struct mnt_settings ms;
    struct mnt_config   c;

    settings(&ms);
    mnt_config_compute(a, NULL, 0, NULL, &ms, &c);
    T_CHECK(c.gc_enabled.v == 1 && c.gc_enabled.src == MNT_SRC_DEFAULT);
    T_CHECK(c.expiry_enabled.v == 1 && c.orphan_enabled.v == 1);
    T_CHECK(c.compaction_enabled.v == 1);
    T_CHECK(c.metadata_compaction_enabled.v == 0);
    T_CHECK(c.max_snapshot_age_ms.v == 432000000);
    T_CHECK(c.max_snapshot_age_ms.src == MNT_SRC_DEFAULT);
    T_CHECK(c.max_snapshot_age_ms.from == NULL);
    T_CHECK(c.min_snapshots_to_keep.v == 1);
    T_CHECK(c.max_ref_age_ms.v == INT64_MAX);
    T_CHECK(c.orphan_age_ms.v == 259200000);
    T_CHECK(c.orphan_age_ms.src == MNT_SRC_DEFAULT);
    T_CHECK(c.target_file_size.v == 536870912);
    T_CHECK(c.min_input_files.v == 5);
    T_CHECK(mnt_config_allows(&c, MNT_EXPIRY));
    T_CHECK(mnt_config_allows(&c, MNT_ORPHANS));
    T_CHECK(mnt_config_allows(&c, MNT_PLAN));
    T_CHECK(!mnt_config_allows(&c, MNT_COMPACTION));
    T_STREQ(mnt_source_name(MNT_SRC_DEFAULT), "default");
    T_STREQ(mnt_source_name(MNT_SRC_PROPERTY), "property");
    T_STREQ(mnt_source_name(MNT_SRC_POLICY), "policy");
    T_STREQ(mnt_source_name(MNT_SRC_FLOOR), "floor");
    fl_arena_free(a);
}

/* table properties beat the server's defaults */
static void test_properties(void)
{
    struct fl_arena    *a = fl_arena_new(0);
    struct mnt_settings ms;
    struct mnt_config   c;

    settings(&ms);
    mnt_config_compute(a, NULL, 0, props(a,
        "{\"history.expire.max-snapshot-age-ms\": \"60000\","
        " \"history.expire.min-snapshots-to-keep\": \"3\","
        " \"history.expire.max-ref-age-ms\": \"86400000\","
        " \"write.target-file-size-bytes\": \"134217728\","
        " \"unrelated\": \"x\"}"), &ms, &c);
    T_CHECK(c.max_snapshot_age_ms.v == 60000);
    T_CHECK(c.max_snapshot_age_ms.src == MNT_SRC_PROPERTY);
    T_STREQ(c.max_snapshot_age_ms.from, "history.expire.max-snapshot-age-ms");
    T_CHECK(c.min_snapshots_to_keep.v == 3);
    T_STREQ(c.min_snapshots_to_keep.from,
            "history.expire.min-snapshots-to-keep");
    T_CHECK(c.max_ref_age_ms.v == 86400000);
    T_CHECK(c.target_file_size.v == 134217728);
    T_STREQ(c.target_file_size.from, "write.target-file-size-bytes");
    T_CHECK(c.gc_enabled.v == 1 && c.gc_enabled.src == MNT_SRC_DEFAULT);
    fl_arena_free(a);
}

/* policies beat properties, which beat defaults, value by value */
static void test_policy_first(void)
{
    struct fl_arena    *a = fl_arena_new(0);
    struct mnt_settings ms;
    struct mnt_config   c;
    struct cat_policy   p[2];

    settings(&ms);
    p[0] = policy("system.snapshot-expiry", "keep2days",
                  "{\"enable\": true, \"config\": {\"max_snapshot_age_days\":"
                  " 2, \"min_snapshot_to_keep\": \"4\"}}");
    p[1] = policy("system.data-compaction", "dc",
                  "{\"enable\": false, \"config\": {\"target_file_size_bytes\":"
                  " \"1048576\", \"min-input-files\": 2}}");
    mnt_config_compute(a, p, 2, props(a,
        "{\"history.expire.max-snapshot-age-ms\": \"60000\","
        " \"history.expire.max-ref-age-ms\": \"1000\","
        " \"write.target-file-size-bytes\": \"134217728\"}"), &ms, &c);
    T_CHECK(c.max_snapshot_age_ms.v == 2 * 86400000LL);
    T_CHECK(c.max_snapshot_age_ms.src == MNT_SRC_POLICY);
    T_STREQ(c.max_snapshot_age_ms.from, "ops.keep2days");
    T_CHECK(c.min_snapshots_to_keep.v == 4);
    T_CHECK(c.min_snapshots_to_keep.src == MNT_SRC_POLICY);
    /* the policy says nothing of refs: the property holds */
    T_CHECK(c.max_ref_age_ms.v == 1000);
    T_CHECK(c.max_ref_age_ms.src == MNT_SRC_PROPERTY);
    T_CHECK(c.expiry_enabled.v == 1 && c.expiry_enabled.src == MNT_SRC_POLICY);
    T_CHECK(c.compaction_enabled.v == 0);
    T_STREQ(c.compaction_enabled.from, "ops.dc");
    T_CHECK(!mnt_config_allows(&c, MNT_PLAN));
    T_CHECK(mnt_config_allows(&c, MNT_EXPIRY));
    T_CHECK(c.target_file_size.v == 1048576);
    T_CHECK(c.target_file_size.src == MNT_SRC_POLICY);
    T_CHECK(c.min_input_files.v == 2);
    fl_arena_free(a);
}

/* no setting lowers the orphan age below 24 hours */
static void test_orphan_floor(void)
{
    struct fl_arena    *a = fl_arena_new(0);
    struct mnt_settings ms;
    struct mnt_config   c;
    struct cat_policy   p;

    settings(&ms);
    p = policy("system.orphan-file-removal", "half",
               "{\"enable\": true, \"max_orphan_file_age_in_days\": 0.5}");
    mnt_config_compute(a, &p, 1, NULL, &ms, &c);
    T_CHECK(c.orphan_age_ms.v == MNT_ORPHAN_FLOOR_MS);
    T_CHECK(c.orphan_age_ms.src == MNT_SRC_FLOOR);
    T_STREQ(c.orphan_age_ms.from, "ops.half");

    p = policy("system.orphan-file-removal", "week",
               "{\"enable\": true, \"max_orphan_file_age_in_days\": 7}");
    mnt_config_compute(a, &p, 1, NULL, &ms, &c);
    T_CHECK(c.orphan_age_ms.v == 7 * 86400000LL);
    T_CHECK(c.orphan_age_ms.src == MNT_SRC_POLICY);

    /* even a server default below the floor (the config refuses one) */
    ms.orphan_age_ms = 1000;
    mnt_config_compute(a, NULL, 0, NULL, &ms, &c);
    T_CHECK(c.orphan_age_ms.v == MNT_ORPHAN_FLOOR_MS);
    T_CHECK(c.orphan_age_ms.src == MNT_SRC_FLOOR);
    T_CHECK(c.orphan_age_ms.from == NULL);

    p = policy("system.orphan-file-removal", "off",
               "{\"enable\": false}");
    mnt_config_compute(a, &p, 1, NULL, &ms, &c);
    T_CHECK(!mnt_config_allows(&c, MNT_ORPHANS));
    T_CHECK(mnt_config_allows(&c, MNT_EXPIRY));
    fl_arena_free(a);
}

/* gc.enabled=false stops the deleting job types, whatever the policies */
static void test_gc_disabled(void)
{
    struct fl_arena    *a = fl_arena_new(0);
    struct mnt_settings ms;
    struct mnt_config   c;
    struct cat_policy   p[2];

    settings(&ms);
    p[0] = policy("system.snapshot-expiry", "on", "{\"enable\": true}");
    p[1] = policy("system.orphan-file-removal", "on", "{\"enable\": true}");
    mnt_config_compute(a, p, 2, props(a, "{\"gc.enabled\": \"false\"}"),
                       &ms, &c);
    T_CHECK(c.gc_enabled.v == 0);
    T_CHECK(c.gc_enabled.src == MNT_SRC_PROPERTY);
    T_STREQ(c.gc_enabled.from, "gc.enabled");
    T_CHECK(!mnt_config_allows(&c, MNT_EXPIRY));
    T_CHECK(!mnt_config_allows(&c, MNT_ORPHANS));
    T_CHECK(mnt_config_allows(&c, MNT_PLAN));

    /* Java's Boolean.parseBoolean: only "true", in any case, is true */
    mnt_config_compute(a, NULL, 0, props(a, "{\"gc.enabled\": \"TRUE\"}"),
                       &ms, &c);
    T_CHECK(c.gc_enabled.v == 1 && c.gc_enabled.src == MNT_SRC_PROPERTY);
    mnt_config_compute(a, NULL, 0, props(a, "{\"gc.enabled\": \"yes\"}"),
                       &ms, &c);
    T_CHECK(c.gc_enabled.v == 0);
    fl_arena_free(a);
}

/* what does not parse is skipped, and the next source holds */
static void test_bad_values(void)
{
    struct fl_arena    *a = fl_arena_new(0);
    struct mnt_settings ms;
    struct mnt_config   c;
    struct cat_policy   p[3];

    settings(&ms);
    p[0] = policy("system.snapshot-expiry", "bad",
                  "{\"enable\": \"yes\", \"config\": {\"min_snapshot_to_keep\":"
                  " \"many\", \"max_snapshot_age_days\": -1}}");
    p[1] = policy("system.data-compaction", "broken", "{not json");
    p[2] = policy("system.metadata-compaction", "mc", "{\"enable\": true}");
    mnt_config_compute(a, p, 3, props(a,
        "{\"history.expire.min-snapshots-to-keep\": \"0\","
        " \"history.expire.max-snapshot-age-ms\": \"12abc\","
        " \"write.target-file-size-bytes\": \"2048\"}"), &ms, &c);
    T_CHECK(c.expiry_enabled.v == 1 && c.expiry_enabled.src == MNT_SRC_DEFAULT);
    T_CHECK(c.min_snapshots_to_keep.v == 1);
    T_CHECK(c.min_snapshots_to_keep.src == MNT_SRC_DEFAULT);
    T_CHECK(c.max_snapshot_age_ms.v == 432000000);
    T_CHECK(c.max_snapshot_age_ms.src == MNT_SRC_DEFAULT);
    T_CHECK(c.target_file_size.v == 2048);
    T_CHECK(c.target_file_size.src == MNT_SRC_PROPERTY);
    T_CHECK(c.compaction_enabled.v == 1);
    T_CHECK(c.metadata_compaction_enabled.v == 1);
    T_CHECK(c.metadata_compaction_enabled.src == MNT_SRC_POLICY);
    fl_arena_free(a);
}

static void test_json(void)
{
    struct fl_arena    *a = fl_arena_new(0);
    struct mnt_settings ms;
    struct mnt_config   c;
    struct cat_policy   p;
    json_t             *v;
    json_t             *e;

    settings(&ms);
    p = policy("system.snapshot-expiry", "pol",
               "{\"enable\": true, \"config\": {\"min_snapshot_to_keep\": 2}}");
    mnt_config_compute(a, &p, 1, props(a, "{\"gc.enabled\": \"true\"}"),
                       &ms, &c);
    v = fl_arena_own_json(a, mnt_config_json(&c));
    T_CHECK(json_is_true(json_object_get(json_object_get(v, "gcEnabled"),
                                         "value")));
    T_STREQ(json_string_value(json_object_get(
                json_object_get(v, "gcEnabled"), "source")), "property");
    e = json_object_get(v, "icebergSnapshotManagement");
    T_CHECK(json_integer_value(json_object_get(
                json_object_get(e, "minSnapshotsToKeep"), "value")) == 2);
    T_STREQ(json_string_value(json_object_get(
                json_object_get(e, "minSnapshotsToKeep"), "from")),
            "ops.pol");
    T_CHECK(json_is_null(json_object_get(json_object_get(e, "maxRefAgeMs"),
                                         "value")));
    T_CHECK(json_object_get(json_object_get(e, "maxSnapshotAgeMs"),
                            "from") == NULL);
    e = json_object_get(v, "icebergUnreferencedFileRemoval");
    T_CHECK(json_integer_value(json_object_get(
                json_object_get(e, "orphanAgeMs"), "value")) == 259200000);
    T_CHECK(json_object_get(v, "icebergCompaction") != NULL);
    T_CHECK(json_is_false(json_object_get(json_object_get(
        json_object_get(v, "icebergMetadataCompaction"), "enabled"),
        "value")));
    fl_arena_free(a);
}

T_MAIN(T(test_defaults), T(test_properties), T(test_policy_first),
       T(test_orphan_floor), T(test_gc_disabled), T(test_bad_values),
       T(test_json))
