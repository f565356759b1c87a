/*
 * test_expire.c
 *
 * maintenance/mnt_expire.c and mnt_reach.c as pure functions: which
 * snapshots and refs expire for given metadata and configuration (main
 * never; refs past their max-ref-age-ms, own or configured; branch
 * retention by min-snapshots-to-keep and max-snapshot-age-ms, own or
 * configured; tags; unreferenced young snapshots; dangling refs; parent
 * cycles), the commit's requirements and updates, the gc.enabled rule,
 * URI normalisation (s3a/s3n, file:/x, localhost), hidden paths as
 * DeleteOrphanFiles skips them, and the file and id sets.  No database,
 * no storage: the reads and deletions are covered by
 * tests/integration/maintenance_files.py.
 */
#include "maintenance/mnt_int.h"

#include "t.h"

#include <stdlib.h>

#define DAY    86400000LL
#define NOW    (1000LL * DAY)

/* One arena for the whole run: the tests are short and few. */
static struct fl_arena *arena(void)
{
    static struct fl_arena *a;

    if (a == NULL) {
        a = fl_arena_new(0);
    }
    return a;
}
#define A arena()

static struct mnt_config cfg(int64_t age, int64_t min_keep, int64_t ref_age)
{
    struct mnt_config c;

    memset(&c, 0, sizeof(c));
    c.gc_enabled.v = 1;
    c.expiry_enabled.v = 1;
    c.max_snapshot_age_ms.v = age;
    c.min_snapshots_to_keep.v = min_keep;
    c.max_ref_age_ms.v = ref_age;
    return c;
}

/* A snapshot `id` (parent 0: none) taken `days_ago` days before NOW. */
static json_t *snap(int64_t id, int64_t parent, double days_ago)
{
    json_t *s = json_pack("{sIsIss}", "snapshot-id", (json_int_t)id,
                          "timestamp-ms",
                          (json_int_t)(NOW - (int64_t)(days_ago * DAY)),
                          "manifest-list", "mem://b/list.avro");

    if (parent != 0) {
        json_object_set_new(s, "parent-snapshot-id", json_integer(parent));
    }
    return s;
}

/* The chain 1 <- 2 <- 3 <- 4 <- 5, taken 9, 8, 7, 6 and 1 days ago. */
static json_t *chain(void)
{
    return json_pack("[ooooo]", snap(1, 0, 9), snap(2, 1, 8), snap(3, 2, 7),
                     snap(4, 3, 6), snap(5, 4, 1));
}

static json_t *meta_of(json_t *snaps, json_t *refs)
{
    return fl_arena_own_json(A, json_pack(
        "{sssisoso}", "table-uuid", "9f0e2a6c-0000-4000-8000-000000000001",
        "format-version", 2, "snapshots", snaps, "refs", refs));
}

static json_t *branch(int64_t id)
{
    return json_pack("{sIss}", "snapshot-id", (json_int_t)id, "type",
                     "branch");
}

static json_t *tag(int64_t id)
{
    return json_pack("{sIss}", "snapshot-id", (json_int_t)id, "type", "tag");
}

/* Whether array `got` holds exactly the ids `want` (n of them), in order. */
static bool ids_are(json_t *got, const int64_t *want, size_t n)
{
    char  *s;
    size_t i;

    for (i = 0; i < n && json_array_size(got) == n; i++) {
        if (json_integer_value(json_array_get(got, i)) != want[i]) {
            break;
        }
    }
    if (i == n && json_array_size(got) == n) {
        return true;
    }
    s = json_dumps(got, JSON_COMPACT);
    fprintf(stderr, "  got %s\n", s);
    free(s);
    return false;
}

static bool names_are(json_t *got, const char *want)
{
    char *s = json_dumps(got, JSON_COMPACT);
    bool  ok = strcmp(s, want) == 0;

    if (!ok) {
        fprintf(stderr, "  got %s, want %s\n", s, want);
    }
    free(s);
    return ok;
}

static struct mnt_expiry pick(json_t *meta, const struct mnt_config *c)
{
    struct mnt_expiry e;
    struct fl_err     err = {0};

    memset(&e, 0, sizeof(e));
    T_CHECK(mnt_expire_select(A, meta, c, NOW, &e, &err));
    return e;
}

/* ------------------------------------------------------------ choosing */

static void main_keeps_head_only(void)
{
    struct mnt_config c = cfg(5 * DAY, 1, INT64_MAX);
    struct mnt_expiry e = pick(meta_of(chain(), json_pack("{so}", "main",
                                                          branch(5))), &c);
    static const int64_t want[] = {1, 2, 3, 4};

    T_CHECK(ids_are(e.expired, want, 4));
    T_CHECK(json_array_size(e.removed_refs) == 0);
}

static void min_snapshots_to_keep(void)
{
    struct mnt_config c = cfg(5 * DAY, 3, INT64_MAX);
    struct mnt_expiry e = pick(meta_of(chain(), json_pack("{so}", "main",
                                                          branch(5))), &c);
    static const int64_t want[] = {1, 2};

    T_CHECK(ids_are(e.expired, want, 2));
}

static void max_snapshot_age(void)
{
    /* 7.5 days keeps 5, 4 and 3; the walk stops at 2 */
    struct mnt_config c = cfg(15 * DAY / 2, 1, INT64_MAX);
    struct mnt_expiry e = pick(meta_of(chain(), json_pack("{so}", "main",
                                                          branch(5))), &c);
    static const int64_t want[] = {1, 2};

    T_CHECK(ids_are(e.expired, want, 2));
}

static void walk_stops_at_first_old(void)
{
    /* 2 is young again, but the walk from 5 stopped at 4 */
    json_t           *snaps = json_pack("[ooooo]", snap(1, 0, 9),
                                        snap(2, 1, 0.5), snap(3, 2, 7),
                                        snap(4, 3, 6), snap(5, 4, 1));
    struct mnt_config c = cfg(5 * DAY, 1, INT64_MAX);
    struct mnt_expiry e = pick(meta_of(snaps, json_pack("{so}", "main",
                                                        branch(5))), &c);
    static const int64_t want[] = {1, 2, 3, 4};

    T_CHECK(ids_are(e.expired, want, 4));
}

static void branch_own_retention(void)
{
    json_t           *b = branch(3);
    struct mnt_config c = cfg(5 * DAY, 1, INT64_MAX);
    struct mnt_expiry e;
    static const int64_t want[] = {1, 4};

    json_object_set_new(b, "max-snapshot-age-ms", json_integer(1));
    json_object_set_new(b, "min-snapshots-to-keep", json_integer(2));
    e = pick(meta_of(chain(), json_pack("{soso}", "main", branch(5), "b",
                                        b)), &c);
    T_CHECK(ids_are(e.expired, want, 2));
    T_CHECK(json_array_size(e.removed_refs) == 0);
}

static void branch_own_age_keeps_more(void)
{
    json_t           *m = branch(5);
    struct mnt_config c = cfg(5 * DAY, 1, INT64_MAX);
    struct mnt_expiry e;
    static const int64_t want[] = {1};

    json_object_set_new(m, "max-snapshot-age-ms", json_integer(8 * DAY));
    e = pick(meta_of(chain(), json_pack("{so}", "main", m)), &c);
    T_CHECK(ids_are(e.expired, want, 1));
}

static void tags_and_their_age(void)
{
    json_t           *old = tag(1);
    struct mnt_config c = cfg(5 * DAY, 1, INT64_MAX);
    struct mnt_expiry e;
    static const int64_t want[] = {1, 3, 4};

    json_object_set_new(old, "max-ref-age-ms", json_integer(2 * DAY));
    e = pick(meta_of(chain(), json_pack("{sososo}", "main", branch(5),
                                        "t-old", old, "t-keep", tag(2))),
             &c);
    T_CHECK(ids_are(e.expired, want, 3));
    T_CHECK(names_are(e.removed_refs, "[\"t-old\"]"));
}

static void configured_ref_age_main_never(void)
{
    struct mnt_config c = cfg(5 * DAY, 1, 3 * DAY);
    struct mnt_expiry e = pick(meta_of(chain(), json_pack(
                                   "{sososo}", "main", branch(3), "dev",
                                   branch(4), "fresh", branch(5))), &c);
    static const int64_t want[] = {1, 2, 4};

    T_CHECK(ids_are(e.expired, want, 3));
    T_CHECK(names_are(e.removed_refs, "[\"dev\"]"));

    c = cfg(5 * DAY, 1, 0);
    e = pick(meta_of(chain(), json_pack("{so}", "main", branch(3))), &c);
    T_CHECK(json_array_size(e.removed_refs) == 0);
}

static void unreferenced_young_kept(void)
{
    json_t           *snaps = json_pack("[ooo]", snap(1, 0, 9),
                                        snap(2, 0, 1), snap(3, 0, 8));
    struct mnt_config c = cfg(5 * DAY, 1, INT64_MAX);
    struct mnt_expiry e = pick(meta_of(snaps, json_pack("{so}", "main",
                                                        branch(3))), &c);
    static const int64_t want[] = {1};

    T_CHECK(ids_are(e.expired, want, 1));
}

static void dangling_ref_removed(void)
{
    struct mnt_config c = cfg(5 * DAY, 1, INT64_MAX);
    struct mnt_expiry e = pick(meta_of(chain(), json_pack(
                                   "{soso}", "main", branch(5), "ghost",
                                   branch(99))), &c);

    T_CHECK(names_are(e.removed_refs, "[\"ghost\"]"));
    T_CHECK(json_array_size(e.expired) == 4);
}

static void commit_shape(void)
{
    json_t           *old = tag(1);
    struct mnt_config c = cfg(5 * DAY, 1, INT64_MAX);
    struct mnt_expiry e;
    char             *s;

    json_object_set_new(old, "max-ref-age-ms", json_integer(DAY));
    e = pick(meta_of(chain(), json_pack("{soso}", "main", branch(5),
                                        "t-old", old)), &c);
    s = json_dumps(e.requirements, JSON_COMPACT);
    T_STREQ(s, "[{\"type\":\"assert-table-uuid\",\"uuid\":"
               "\"9f0e2a6c-0000-4000-8000-000000000001\"},"
               "{\"type\":\"assert-ref-snapshot-id\",\"ref\":\"main\","
               "\"snapshot-id\":5},"
               "{\"type\":\"assert-ref-snapshot-id\",\"ref\":\"t-old\","
               "\"snapshot-id\":1}]");
    free(s);
    s = json_dumps(e.updates, JSON_COMPACT);
    T_STREQ(s, "[{\"action\":\"remove-snapshot-ref\",\"ref-name\":"
               "\"t-old\"},{\"action\":\"remove-snapshots\","
               "\"snapshot-ids\":[1,2,3,4]}]");
    free(s);
}

static void main_from_current_snapshot(void)
{
    json_t           *m = meta_of(chain(), json_object());
    struct mnt_config c = cfg(5 * DAY, 1, INT64_MAX);
    struct mnt_expiry e;
    static const int64_t want[] = {1, 2, 3, 4};

    json_object_del(m, "refs");
    json_object_set_new(m, "current-snapshot-id", json_integer(5));
    e = pick(m, &c);
    T_CHECK(ids_are(e.expired, want, 4));
    /* no refs in the document: only the uuid is asserted */
    T_CHECK(json_array_size(e.requirements) == 1);
}

static void no_refs_everything_old_expires(void)
{
    json_t           *m = meta_of(chain(), json_object());
    struct mnt_config c = cfg(5 * DAY, 1, INT64_MAX);
    struct mnt_expiry e;
    static const int64_t want[] = {1, 2, 3, 4};

    json_object_set_new(m, "current-snapshot-id", json_integer(-1));
    e = pick(m, &c);
    T_CHECK(ids_are(e.expired, want, 4));    /* 5 is young */
}

static void parent_cycle_ends(void)
{
    json_t           *snaps = json_pack("[oo]", snap(1, 2, 9),
                                        snap(2, 1, 8));
    struct mnt_config c = cfg(5 * DAY, 100, INT64_MAX);
    struct mnt_expiry e = pick(meta_of(snaps, json_pack("{so}", "main",
                                                        branch(1))), &c);

    T_CHECK(json_array_size(e.expired) == 0);
}

static void nothing_to_do(void)
{
    json_t           *snaps = json_pack("[o]", snap(1, 0, 9));
    struct mnt_config c = cfg(5 * DAY, 1, INT64_MAX);
    struct mnt_expiry e = pick(meta_of(snaps, json_pack("{so}", "main",
                                                        branch(1))), &c);

    T_CHECK(json_array_size(e.expired) == 0);
    T_CHECK(json_array_size(e.updates) == 0);

    e = pick(meta_of(json_array(), json_object()), &c);
    T_CHECK(json_array_size(e.updates) == 0);
}

static void bad_snapshot_list(void)
{
    struct mnt_config c = cfg(5 * DAY, 1, INT64_MAX);
    struct mnt_expiry e;
    struct fl_err     err = {0};
    json_t           *m = fl_arena_own_json(A, json_pack("{ss}", "snapshots",
                                                         "x"));

    T_CHECK(!mnt_expire_select(A, m, &c, NOW, &e, &err));
    T_CHECK(err.status == 400);
}

static void gc_rule(void)
{
    struct mnt_config c = cfg(5 * DAY, 1, INT64_MAX);
    json_t           *m = fl_arena_own_json(A, json_pack("{s{}}",
                                                         "properties"));
    json_t           *p = json_object_get(m, "properties");

    T_CHECK(mnt_gc_allowed(m, &c));
    T_CHECK(mnt_gc_allowed(NULL, &c));
    json_object_set_new(p, "gc.enabled", json_string("TRUE"));
    T_CHECK(mnt_gc_allowed(m, &c));
    json_object_set_new(p, "gc.enabled", json_string("false"));
    T_CHECK(!mnt_gc_allowed(m, &c));
    json_object_set_new(p, "gc.enabled", json_string("no"));
    T_CHECK(!mnt_gc_allowed(m, NULL));
    json_object_del(p, "gc.enabled");
    c.gc_enabled.v = 0;
    T_CHECK(!mnt_gc_allowed(m, &c));
}

/* ---------------------------------------------------------------- URIs */

static void uri_keys(void)
{
    const char *path;

    T_STREQ(mnt_uri_key(A, "s3a://b/k/x.parquet", &path),
            "s3://b/k/x.parquet");
    T_STREQ(path, "/k/x.parquet");
    T_STREQ(mnt_uri_key(A, "S3N://b/k", NULL), "s3://b/k");
    T_STREQ(mnt_uri_key(A, "s3://b/k", NULL), "s3://b/k");
    T_STREQ(mnt_uri_key(A, "file:/w/t/x", &path), "file:///w/t/x");
    T_STREQ(path, "/w/t/x");
    T_STREQ(mnt_uri_key(A, "file:///w/t/x", NULL), "file:///w/t/x");
    T_STREQ(mnt_uri_key(A, "file://localhost/w/t/x", NULL),
            "file:///w/t/x");
    T_STREQ(mnt_uri_key(A, "file://host/w/t/x", &path),
            "file://host/w/t/x");
    T_STREQ(path, "/w/t/x");
    T_STREQ(mnt_uri_key(A, "gs://bucket", &path), "gs://bucket");
    T_STREQ(path, "");
    T_STREQ(mnt_uri_key(A, "data/x.parquet", &path), "data/x.parquet");
    T_STREQ(path, "data/x.parquet");
    T_STREQ(mnt_uri_key(A, "/abs/x", NULL), "/abs/x");
}

static void hidden_paths(void)
{
    T_CHECK(mnt_path_hidden("_SUCCESS"));
    T_CHECK(mnt_path_hidden("data/.part-0.parquet.crc"));
    T_CHECK(mnt_path_hidden("data/_temporary/0/x.parquet"));
    T_CHECK(mnt_path_hidden(".hidden/x"));
    T_CHECK(!mnt_path_hidden("data/_p=1/x.parquet"));
    T_CHECK(!mnt_path_hidden("data/p=1/x.parquet"));
    T_CHECK(!mnt_path_hidden("metadata/00001-x.metadata.json"));
    T_CHECK(!mnt_path_hidden("data/a_b.parquet"));
    T_CHECK(mnt_path_hidden("data/_x=1"));     /* a file, not a directory */
}

/* ---------------------------------------------------------------- sets */

static void file_set(void)
{
    struct mnt_files      *s = mnt_files_new(A);
    const struct mnt_file *f;
    char                   big[3000];
    char                   uri[64];
    int                    i;

    T_CHECK(mnt_files_add(s, "file:/w/a", 10));
    T_CHECK(!mnt_files_add(s, "file:///w/a", 20));     /* the same key */
    T_CHECK(!mnt_files_add(s, "file://localhost/w/a", 30));
    T_CHECK(mnt_files_add(s, "file://other/w/a", 40));
    T_CHECK(!mnt_files_add(s, "", 1));
    T_CHECK(!mnt_files_add(s, NULL, 1));
    f = mnt_files_get(s, "file:/w/a");
    T_CHECK(f != NULL && f->size == 10);
    T_STREQ(f->uri, "file:///w/a");
    T_CHECK(!mnt_files_has(s, "file:///w/b"));
    T_CHECK(!mnt_files_has(NULL, "file:///w/a"));
    for (i = 0; i < 5000; i++) {
        snprintf(uri, sizeof(uri), "s3a://b/k/%d", i);
        T_CHECK(mnt_files_add(s, uri, i));
    }
    T_CHECK(mnt_files_count(s) == 5002);
    T_STREQ(mnt_files_at(s, 2)->uri, "s3://b/k/0");
    T_STREQ(mnt_files_at(s, 5001)->uri, "s3://b/k/4999");
    T_CHECK(mnt_files_get(s, "s3://b/k/1234")->size == 1234);
    memset(big, 'x', sizeof(big));
    memcpy(big, "file:///", 8);
    big[sizeof(big) - 1] = '\0';
    T_CHECK(mnt_files_add(s, big, 7));
    T_CHECK(mnt_files_get(s, big)->size == 7);
    T_CHECK(json_array_size(fl_arena_own_json(A, mnt_files_json(s, 3))) ==
            3);
}

static void id_set(void)
{
    struct mnt_ids *s = mnt_ids_new(A);
    int64_t         i;
    int             x;

    T_CHECK(!mnt_ids_has(s, 1));
    T_CHECK(mnt_ids_get(s, 1) == NULL);
    for (i = 0; i < 3000; i++) {
        mnt_ids_put(s, i * 7919 - 1000, i == 42 ? &x : NULL);
    }
    mnt_ids_put(s, -1000, NULL);                /* again */
    T_CHECK(mnt_ids_count(s) == 3000);
    T_CHECK(mnt_ids_has(s, 41 * 7919 - 1000));
    T_CHECK(!mnt_ids_has(s, 41 * 7919));
    T_CHECK(mnt_ids_get(s, 42 * 7919 - 1000) == &x);
    T_CHECK(mnt_ids_has(s, INT64_C(-1000)));
}

T_MAIN(T(main_keeps_head_only), T(min_snapshots_to_keep),
       T(max_snapshot_age), T(walk_stops_at_first_old),
       T(branch_own_retention), T(branch_own_age_keeps_more),
       T(tags_and_their_age), T(configured_ref_age_main_never),
       T(unreferenced_young_kept), T(dangling_ref_removed),
       T(commit_shape), T(main_from_current_snapshot),
       T(no_refs_everything_old_expires), T(parent_cycle_ends),
       T(nothing_to_do), T(bad_snapshot_list), T(gc_rule), T(uri_keys),
       T(hidden_paths), T(file_set), T(id_set))
