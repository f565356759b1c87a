/*
 * test_compact.c
 *
 * maintenance/mnt_compact.c's bin-packing (mnt_compaction_pack), a pure
 * function, against plans computed by hand: several partitions and specs,
 * the exact groups first-fit decreasing makes, which groups are kept
 * (min-input-files, delete-heavy files, files to split), the 75 % / 180 %
 * bounds and the capacity at their edges, the delete threshold on and off,
 * ties broken by path, and the same plan whatever the input order.
 */
#include "maintenance/mnt_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"

/* A plan as text: "spec|key:path,path(bytes)" per group, ";" between. */
static const char *plan_text(struct fl_arena *a, const struct mnt_cfile *f,
                             int n, const struct mnt_cparams *p, int *cand)
{
    struct mnt_cgroup *g;
    struct fl_buf      b;
    int                ng = mnt_compaction_pack(a, f, n, p, &g, cand);
    int                i;
    int                k;

    fl_buf_init(&b, a, 0);
    fl_buf_append(&b, "", 0);
    for (i = 0; i < ng; i++) {
        fl_buf_printf(&b, "%s%d|%s:", i ? ";" : "", (int)g[i].spec_id,
                      g[i].partition_key);
        for (k = 0; k < g[i].nfiles; k++) {
            fl_buf_printf(&b, "%s%s", k ? "," : "", g[i].files[k]->path);
        }
        fl_buf_printf(&b, "(%lld)", (long long)g[i].bytes);
    }
    return b.p;
}

#define F(path, size, spec, key, dels) {path, size, spec, key, NULL, dels}

/* target 100: candidates are under 75 or over 180 */
static const struct mnt_cfile mixed[] = {
    F("a10", 10, 0, "[\"a\"]", 0),
    F("a20", 20, 0, "[\"a\"]", 0),
    F("a30", 30, 0, "[\"a\"]", 0),
    F("a40", 40, 0, "[\"a\"]", 0),
    F("a50", 50, 0, "[\"a\"]", 0),
    F("a60", 60, 0, "[\"a\"]", 0),
    F("a80", 80, 0, "[\"a\"]", 0),          /* in range: stays */
    F("a200", 200, 0, "[\"a\"]", 0),        /* over 180: to split */
    F("b70x", 70, 0, "[\"b\"]", 0),
    F("b70y", 70, 0, "[\"b\"]", 0),
    F("b70z", 70, 0, "[\"b\"]", 0),
    F("b90", 90, 0, "[\"b\"]", 3),          /* in range, 3 deletes */
    F("s1a", 5, 1, "[\"a\"]", 0),           /* same key, another spec */
    F("s1b", 5, 1, "[\"a\"]", 0),
    F("s1c", 5, 1, "[\"a\"]", 0),
    F("n2", 10, 0, "[null]", 0),
    F("n1", 10, 0, "[null]", 0),
};

/*
 * Partition "a" of spec 0, first-fit by size 200 60 50 40 30 20 10 into
 * bins of 100: a200 alone | a60+a40 (a50 would make 110) | a50+a30+a20 |
 * a10 alone (dropped: one file).  "b": the three 70s fit no bin together
 * (one file each: dropped); b90 is no candidate while the threshold is
 * off.  [null] and spec 1 are partitions of their own; equal sizes go by
 * path.
 */
static const char want_mixed[] =
    "0|[\"a\"]:a200(200);"
    "0|[\"a\"]:a60,a40(100);"
    "0|[\"a\"]:a50,a30,a20(100);"
    "0|[null]:n1,n2(20);"
    "1|[\"a\"]:s1a,s1b,s1c(15)";

static void test_partitions(void)
{
    struct fl_arena   *a = fl_arena_new(0);
    struct mnt_cparams p = {100, 2, 0};
    int                cand;

    T_STREQ(plan_text(a, mixed, FL_ARRAY_LEN(mixed), &p, &cand), want_mixed);
    T_CHECK(cand == 15);
    fl_arena_free(a);
}

/* A file with at least delete_threshold deletes is a candidate whatever
 * its size, and its group is kept even alone. */
static void test_delete_threshold(void)
{
    struct fl_arena   *a = fl_arena_new(0);
    struct mnt_cparams p = {100, 2, 3};
    int                cand;

    T_STREQ(plan_text(a, mixed, FL_ARRAY_LEN(mixed), &p, &cand),
            "0|[\"a\"]:a200(200);"
            "0|[\"a\"]:a60,a40(100);"
            "0|[\"a\"]:a50,a30,a20(100);"
            "0|[\"b\"]:b90(90);"
            "0|[null]:n1,n2(20);"
            "1|[\"a\"]:s1a,s1b,s1c(15)");
    T_CHECK(cand == 16);
    p.delete_threshold = 4;
    T_STREQ(plan_text(a, mixed, FL_ARRAY_LEN(mixed), &p, &cand), want_mixed);
    T_CHECK(cand == 15);
    fl_arena_free(a);
}

/* min-input-files 3 drops the two-file groups; a file to split stays. */
static void test_min_input_files(void)
{
    struct fl_arena   *a = fl_arena_new(0);
    struct mnt_cparams p = {100, 3, 0};
    int                cand;

    T_STREQ(plan_text(a, mixed, FL_ARRAY_LEN(mixed), &p, &cand),
            "0|[\"a\"]:a200(200);"
            "0|[\"a\"]:a50,a30,a20(100);"
            "1|[\"a\"]:s1a,s1b,s1c(15)");
    p.min_input_files = 50;
    T_STREQ(plan_text(a, mixed, FL_ARRAY_LEN(mixed), &p, &cand),
            "0|[\"a\"]:a200(200)");
    fl_arena_free(a);
}

/*
 * The bounds are strict (75 and 180 of 100 stay), a bin may reach the
 * target exactly but not pass it, and one small file alone is never
 * rewritten, even with min-input-files 1.
 */
static void test_edges(void)
{
    static const struct mnt_cfile f[] = {
        F("e75", 75, 0, "[1]", 0),
        F("e180", 180, 0, "[1]", 0),
        F("e74", 74, 0, "[1]", 0),
        F("e181", 181, 0, "[1]", 0),
        F("e26", 26, 0, "[1]", 0),
        F("f74", 74, 0, "[2]", 0),
        F("f27", 27, 0, "[2]", 0),
        F("g10", 10, 0, "[3]", 0),
        F("h1", 1, 0, "[4]", 0),
        F("h2", 1, 0, "[4]", 0),
    };
    struct fl_arena   *a = fl_arena_new(0);
    struct mnt_cparams p = {100, 1, 0};
    int                cand;

    T_STREQ(plan_text(a, f, FL_ARRAY_LEN(f), &p, &cand),
            "0|[1]:e181(181);0|[1]:e74,e26(100);0|[4]:h1,h2(2)");
    T_CHECK(cand == 8);
    /* target 10: 75 % is 7 (7 stays), 180 % is 18 (18 stays) */
    {
        static const struct mnt_cfile t[] = {
            F("x7", 7, 0, "[]", 0), F("x6", 6, 0, "[]", 0),
            F("x18", 18, 0, "[]", 0), F("x19", 19, 0, "[]", 0),
            F("x3", 3, 0, "[]", 0),
        };
        struct mnt_cparams q = {10, 2, 0};

        T_STREQ(plan_text(a, t, FL_ARRAY_LEN(t), &q, &cand),
                "0|[]:x19(19);0|[]:x6,x3(9)");
        T_CHECK(cand == 3);
    }
    /* nothing at all */
    T_STREQ(plan_text(a, f, 0, &p, &cand), "");
    T_CHECK(cand == 0);
    fl_arena_free(a);
}

/* Big files: 512 MiB target, sizes in the terabytes, no overflow. */
static void test_large(void)
{
    static const struct mnt_cfile f[] = {
        F("big", (int64_t)1 << 41, 0, "[]", 0),
        F("s1", 100 << 20, 0, "[]", 0),
        F("s2", 300 << 20, 0, "[]", 0),
        F("s3", 200 << 20, 0, "[]", 0),
        F("s4", 112 << 20, 0, "[]", 0),
    };
    struct fl_arena   *a = fl_arena_new(0);
    struct mnt_cparams p = {(int64_t)512 << 20, 2, 0};
    int                cand;

    /* 300+200 = 500 MiB, then 112 would pass 512: 112+100 */
    T_STREQ(plan_text(a, f, FL_ARRAY_LEN(f), &p, &cand),
            "0|[]:big(2199023255552);0|[]:s2,s3(524288000);"
            "0|[]:s4,s1(222298112)");
    fl_arena_free(a);
}

/* The groups carry their partition's JSON and the delete-heavy flag. */
static void test_group_fields(void)
{
    json_t            *part = json_pack("{ss}", "category", "books");
    struct mnt_cfile   f[3] = {
        {"p1", 10, 7, "[\"books\"]", NULL, 0},
        {"p2", 20, 7, "[\"books\"]", NULL, 5},
        {"p3", 30, 7, "[\"books\"]", NULL, 0},
    };
    struct fl_arena   *a = fl_arena_new(0);
    struct mnt_cparams p = {100, 5, 5};
    struct mnt_cgroup *g;
    int                cand;

    f[0].partition = f[1].partition = f[2].partition = part;
    T_CHECK(mnt_compaction_pack(a, f, 3, &p, &g, &cand) == 1);
    T_CHECK(g[0].partition == part && g[0].deletes && g[0].nfiles == 3);
    T_CHECK(g[0].spec_id == 7 && g[0].bytes == 60);
    T_STREQ(g[0].files[0]->path, "p3");
    json_decref(part);
    fl_arena_free(a);
}

/* The plan of every permutation tried is the same. */
static void test_order_independent(void)
{
    struct fl_arena   *a = fl_arena_new(0);
    struct mnt_cparams p = {100, 2, 3};
    struct mnt_cfile   f[FL_ARRAY_LEN(mixed)];
    const char        *want;
    unsigned           seed = 12345;
    int                n = (int)FL_ARRAY_LEN(mixed);
    int                round;
    int                i;
    int                k;
    int                cand;
    struct mnt_cfile   tmp;

    want = plan_text(a, mixed, n, &p, &cand);
    for (i = 0; i < n; i++) {                       /* reversed */
        f[i] = mixed[n - 1 - i];
    }
    T_STREQ(plan_text(a, f, n, &p, &cand), want);
    for (round = 0; round < 50; round++) {          /* shuffled */
        for (i = n - 1; i > 0; i--) {
            seed = seed * 1103515245u + 12345u;
            k = (int)((seed >> 16) % (unsigned)(i + 1));
            tmp = f[i];
            f[i] = f[k];
            f[k] = tmp;
        }
        T_STREQ(plan_text(a, f, n, &p, &cand), want);
    }
    fl_arena_free(a);
}

T_MAIN(T(test_partitions), T(test_delete_threshold), T(test_min_input_files),
       T(test_edges), T(test_large), T(test_group_fields),
       T(test_order_independent))
