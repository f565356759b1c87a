/*
 * test_manifest.c
 *
 * catalog/cat_manifest.c: manifest lists and manifests of format versions
 * 1 to 3 written by tests/tools/avro_write.c (uncompressed, deflate and
 * snappy, one and many blocks) and by libavro's own writer, read back
 * through file:// URIs with every field checked, partitioned manifests
 * among them (partition values of every type in their JSON single-value
 * forms, grouping keys, column statistics, referenced data files); then
 * the failures: a missing file, a file that is not Avro, missing, null and
 * mistyped required fields, values the reader refuses (a NUL in a path, an
 * int out of range, a bad status), an unsupported codec, a snappy block
 * too short for its CRC, a broken header, a recursive schema, forged
 * lengths, and every truncation and many byte flips of valid files (which
 * must fail cleanly or read, never crash: run under ASan, with
 * tests/lsan.supp for what libavro 1.11.1 leaks on corrupt records).  Files
 * live in a private directory under /tmp, removed at exit.
 */
#include "catalog/catalog_int.h"
#include "storage/storage.h"

#include "../tools/avro_write.h"
#include "t.h"

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAXGOT 16

static char root[64];           /* the /tmp directory of this run */

/* ---------------------------------------------------------------- helpers */

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void root_remove(void)
{
    if (root[0] != '\0') {
        nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        root[0] = '\0';
    }
}

/* The local path of `name` in the private directory (static buffer). */
static const char *path_of(const char *name)
{
    static char p[256];

    if (root[0] == '\0') {
        snprintf(root, sizeof(root), "/tmp/floe-test-manifest-XXXXXX");
        T_CHECK(mkdtemp(root) != NULL);
        atexit(root_remove);
    }
    snprintf(p, sizeof(p), "%s/%s", root, name);
    return p;
}

static const char *uri_of(const char *name)
{
    static char u[300];

    snprintf(u, sizeof(u), "file://%s", path_of(name));
    return u;
}

static struct sto *file_sto(void)
{
    struct fl_err err = {0};
    struct sto   *s = sto_open("file", &err);

    T_CHECK(s != NULL);
    return s;
}

static void check_ok(bool ok, const struct fl_err *err)
{
    if (!ok) {
        fprintf(stderr, "  %d %s: %s (%s)\n", err->status,
                err->type ? err->type : "-", err->msg, err->log);
    }
    T_CHECK(ok);
    T_CHECK(err->status == 0);
}

/* A 500 whose message is `could not read <what> "<uri>": <reason>...`. */
static void check_500(bool ok, const struct fl_err *err, const char *what,
                      const char *uri, const char *reason)
{
    char want[512];

    T_CHECK(!ok);
    T_CHECK(err->status == 500);
    T_STREQ(err->type, "InternalServerError");
    snprintf(want, sizeof(want), "could not read %s \"%s\": %s", what, uri,
             reason);
    if (strncmp(err->msg, want, strlen(want)) != 0) {
        fprintf(stderr, "  got \"%s\"\n  want \"%s...\"\n", err->msg, want);
    }
    T_CHECK(strncmp(err->msg, want, strlen(want)) == 0);
}

static void write_bytes(const char *name, const void *p, size_t n)
{
    FILE *fp = fopen(path_of(name), "wb");

    T_CHECK(fp != NULL);
    T_CHECK(fwrite(p, 1, n, fp) == n);
    T_CHECK(fclose(fp) == 0);
}

/* The whole local file `name` (heap; free it). */
static unsigned char *read_bytes(const char *name, size_t *n)
{
    FILE          *fp = fopen(path_of(name), "rb");
    unsigned char *p = fl_xmalloc(1 << 20);

    T_CHECK(fp != NULL);
    *n = fread(p, 1, 1 << 20, fp);
    fclose(fp);
    return p;
}

/* ---------------------------------------------------------- collectors */

struct lists {
    int                       n;
    int                       stop_after;   /* 0: never stop */
    struct cat_manifest_entry e[MAXGOT];
    char                      path[MAXGOT][128];
};

static bool on_list(void *ctx, const struct cat_manifest_entry *m)
{
    struct lists *g = ctx;

    if (g->n < MAXGOT) {
        g->e[g->n] = *m;
        snprintf(g->path[g->n], sizeof(g->path[0]), "%s", m->path);
        g->e[g->n].path = g->path[g->n];
    }
    g->n++;
    return g->stop_after == 0 || g->n < g->stop_after;
}

struct files {
    int                  n;
    int                  stop_after;
    struct cat_data_file f[MAXGOT];
    char                 path[MAXGOT][128];
    char                 format[MAXGOT][16];
};

static bool on_file(void *ctx, const struct cat_data_file *f)
{
    struct files *g = ctx;

    if (g->n < MAXGOT) {
        g->f[g->n] = *f;
        snprintf(g->path[g->n], sizeof(g->path[0]), "%s", f->path);
        snprintf(g->format[g->n], sizeof(g->format[0]), "%s", f->format);
        g->f[g->n].path = g->path[g->n];
        g->f[g->n].format = g->format[g->n];
    }
    g->n++;
    return g->stop_after == 0 || g->n < g->stop_after;
}

/* ------------------------------------------------------ manifest lists */

static const struct avw_manifest_file list_in[] = {
    {"s3://bucket/t/metadata/a-m0.avro", 6001, 0, 0, 7, 5, 1001,
     3, 1, 0, 300, 100, 0, -1},
    {"file:///w/t/metadata/b:m1.avro", 7002, 2, 1, 8, 8, 1002,
     1, 0, 2, 10, 0, 20, -1},
    {"gs://b/caf\xc3\xa9-m2.avro", 8003, 1, 0, 9, 6, 1003,
     0, 4, 0, 0, 400, 0, -1},
};

/* Every field of entry `i` against list_in[i] as format `v` stores it. */
static void check_list_entry(const struct lists *g, int i, int v)
{
    const struct cat_manifest_entry *e = &g->e[i];
    const struct avw_manifest_file  *w = &list_in[i];

    T_STREQ(e->path, w->path);
    T_CHECK(e->length == w->length);
    T_CHECK(e->spec_id == w->spec_id);
    T_CHECK(e->content == (v == 1 ? 0 : w->content));
    T_CHECK(e->sequence_number == (v == 1 ? 0 : w->sequence_number));
    T_CHECK(e->min_sequence_number ==
            (v == 1 ? 0 : w->min_sequence_number));
    T_CHECK(e->added_snapshot_id == w->added_snapshot_id);
    T_CHECK(e->added_files == w->added_files);
    T_CHECK(e->existing_files == w->existing_files);
    T_CHECK(e->deleted_files == w->deleted_files);
    T_CHECK(e->added_rows == w->added_rows);
    T_CHECK(e->existing_rows == w->existing_rows);
    T_CHECK(e->deleted_rows == w->deleted_rows);
}

/* Write list_in as format `v` with `l`'s options, read it, check it all. */
static void list_round_trip(struct avw_list *l, const char *name)
{
    struct fl_err err = {0};
    struct lists  g = {0};
    struct sto   *s = file_sto();
    int           i;
    int           n = (int)FL_ARRAY_LEN(list_in);

    check_ok(avw_list_write(path_of(name), l, list_in, (size_t)n, &err),
             &err);
    check_ok(cat_manifest_list_read(s, uri_of(name), on_list, &g, &err),
             &err);
    sto_close(s);
    T_CHECK(g.n == n);
    for (i = 0; i < n; i++) {
        check_list_entry(&g, i, l->format_version);
    }
}

static void test_list_v1(void)
{
    struct avw_list l = {1, 1001, -1, 0, 0, NULL, 0, false, 0};

    list_round_trip(&l, "list-v1.avro");
}

static void test_list_v1_null_counts(void)
{
    struct avw_list          l = {1, 1001, -1, 0, 0, NULL, 0, false, 0};
    struct avw_manifest_file m = {"m.avro", 10, 0, 0, 0, 0, 1001,
                                  -1, -1, -1, -1, -1, -1, -1};
    struct fl_err            err = {0};
    struct lists             g = {0};
    struct sto              *s = file_sto();

    check_ok(avw_list_write(path_of("list-v1-null.avro"), &l, &m, 1, &err),
             &err);
    check_ok(cat_manifest_list_read(s, uri_of("list-v1-null.avro"),
                                    on_list, &g, &err), &err);
    sto_close(s);
    T_CHECK(g.n == 1);
    T_STREQ(g.e[0].path, "m.avro");
    T_CHECK(g.e[0].added_files == -1 && g.e[0].existing_files == -1 &&
            g.e[0].deleted_files == -1);
    T_CHECK(g.e[0].added_rows == -1 && g.e[0].existing_rows == -1 &&
            g.e[0].deleted_rows == -1);
}

static void test_list_v2_blocks(void)
{
    struct avw_list l = {2, 1003, 1002, 9, 0, NULL, 2, false, 0};

    list_round_trip(&l, "list-v2.avro");
}

static void test_list_v2_deflate(void)
{
    struct avw_list l = {2, 1003, 1002, 9, 0, "deflate", 1, false, 0};

    list_round_trip(&l, "list-v2-deflate.avro");
}

static void test_list_v3_deflate(void)
{
    struct avw_list l = {3, 1003, 1002, 9, 500, "deflate", 0, false, 0};

    list_round_trip(&l, "list-v3.avro");
}

static void test_list_libavro_writer(void)
{
    struct avw_list l = {2, 1003, 1002, 9, 0, "deflate", 0, true, 64};
    struct avw_list n = {1, 1003, 1002, 9, 0, "null", 0, true, 0};

    list_round_trip(&l, "list-libavro-deflate.avro");
    list_round_trip(&n, "list-libavro-null.avro");
}

static void test_list_empty(void)
{
    struct avw_list l = {2, 1, -1, 1, 0, NULL, 0, false, 0};
    struct fl_err   err = {0};
    struct lists    g = {0};
    struct sto     *s = file_sto();

    check_ok(avw_list_write(path_of("list-empty.avro"), &l, NULL, 0, &err),
             &err);
    check_ok(cat_manifest_list_read(s, uri_of("list-empty.avro"), on_list,
                                    &g, &err), &err);
    sto_close(s);
    T_CHECK(g.n == 0);
}

/* ----------------------------------------------------------- manifests */

static const struct avw_data_file files_in[] = {
    {1, 1003, -1, -1, 0, "s3://b/t/data/00000-0.parquet", NULL, 100, 4096,
     NULL, NULL, 0, NULL},
    {0, 1001, 4, 4, 0, "file:///w/t/data/x:1.orc", "ORC", 7, 333, NULL, NULL,
     0, NULL},
    {2, 1002, 5, 5, 0, "data/caf\xc3\xa9.avro", "AVRO", 0, 1, NULL, NULL, 0,
     NULL},
    {1, -1, -1, -1, 0, "s3://b/t/data/inherit.parquet", NULL, 1, 2, NULL,
     NULL, 0, NULL},
};

/* Every field of entry `i` against files_in[i] as format `v` stores it. */
static void check_file_entry(const struct files *g, int i, int v,
                             int32_t content, int32_t spec_id)
{
    const struct cat_data_file *f = &g->f[i];
    const struct avw_data_file *w = &files_in[i];

    T_CHECK(f->status == w->status);
    T_CHECK(f->snapshot_id == w->snapshot_id);
    T_CHECK(f->sequence_number == (v == 1 ? -1 : w->sequence_number));
    T_CHECK(f->content == (v == 1 ? 0 : content));
    T_STREQ(f->path, w->path);
    T_STREQ(f->format, w->format ? w->format : "PARQUET");
    T_CHECK(f->record_count == w->records);
    T_CHECK(f->file_size == w->size);
    T_CHECK(f->spec_id == spec_id);
}

/*
 * Write files_in (the first `n`; a v1 snapshot id is never null) as the
 * manifest `m` describes, read it back and check every field.
 */
static void manifest_round_trip(const struct avw_manifest *m,
                                const char *name, size_t n)
{
    struct avw_data_file in[FL_ARRAY_LEN(files_in)];
    struct fl_err        err = {0};
    struct files         g = {0};
    struct sto          *s = file_sto();
    size_t               i;

    memcpy(in, files_in, sizeof(in));
    for (i = 0; i < n; i++) {
        in[i].content = m->content ? 1 : 0;
    }
    check_ok(avw_manifest_write(path_of(name), m, in, n, &err), &err);
    check_ok(cat_manifest_read(s, uri_of(name), on_file, &g, &err), &err);
    sto_close(s);
    T_CHECK(g.n == (int)n);
    for (i = 0; i < n; i++) {
        check_file_entry(&g, (int)i, m->format_version, m->content ? 1 : 0,
                         m->libavro ? -1 : m->spec_id);
    }
}

static void test_manifest_v1(void)
{
    struct avw_manifest m = {1, 3, 0, NULL, 0, false, 0, NULL, 0, NULL};

    manifest_round_trip(&m, "manifest-v1.avro", 3);
}

static void test_manifest_v2(void)
{
    struct avw_manifest m = {2, 0, 0, NULL, 3, false, 0, NULL, 0, NULL};

    manifest_round_trip(&m, "manifest-v2.avro", FL_ARRAY_LEN(files_in));
}

static void test_manifest_v2_deletes_deflate(void)
{
    struct avw_manifest m = {2, 7, 1, "deflate", 1, false, 0, NULL, 0, NULL};

    manifest_round_trip(&m, "manifest-v2-deletes.avro",
                        FL_ARRAY_LEN(files_in));
}

static void test_manifest_v3(void)
{
    struct avw_manifest m = {3, 12, 0, "deflate", 0, false, 0, NULL, 0, NULL};

    manifest_round_trip(&m, "manifest-v3.avro", FL_ARRAY_LEN(files_in));
}

static void test_manifest_libavro_writer(void)
{
    struct avw_manifest m = {2, 5, 0, "deflate", 0, true, 256, NULL, 0, NULL};

    manifest_round_trip(&m, "manifest-libavro.avro", FL_ARRAY_LEN(files_in));
}

static void test_manifest_v2_snappy(void)
{
    struct avw_manifest m = {2, 4, 0, "snappy", 2, false, 0, NULL, 0, NULL};
    struct avw_list     l = {2, 1003, 1002, 9, 0, "snappy", 2, false, 0};

    manifest_round_trip(&m, "manifest-v2-snappy.avro",
                        FL_ARRAY_LEN(files_in));
    list_round_trip(&l, "list-v2-snappy.avro");
}

/* libavro's own snappy (libsnappy's compressor); no metadata, no ids */
static void test_libavro_snappy(void)
{
    struct avw_manifest m = {2, 5, 0, "snappy", 0, true, 128, NULL, 0, NULL};
    struct avw_list     l = {3, 1003, 1002, 9, 500, "snappy", 0, true, 64};

    manifest_round_trip(&m, "manifest-libavro-snappy.avro",
                        FL_ARRAY_LEN(files_in));
    list_round_trip(&l, "list-libavro-snappy.avro");
}

/* ---------------------------------------------- partitions, statistics */

#define MAXST 8

/* What test_partition* keep of each data file. */
struct pfiles {
    int                     n;
    char                    path[MAXGOT][128];
    char                    part[MAXGOT][512];     /* the JSON, compact */
    char                    key[MAXGOT][512];
    char                    ref[MAXGOT][128];      /* "" when NULL */
    int32_t                 spec_id[MAXGOT];
    int                     nst[MAXGOT];
    struct cat_column_stats st[MAXGOT][MAXST];
    unsigned char           lo[MAXGOT][MAXST][16];
    unsigned char           hi[MAXGOT][MAXST][16];
};

static bool on_pfile(void *ctx, const struct cat_data_file *f)
{
    struct pfiles *g = ctx;
    char          *j = json_dumps(f->partition, JSON_COMPACT);
    int            i = g->n;
    int            k;

    T_CHECK(j != NULL && f->partition_key != NULL);
    if (i < MAXGOT) {
        snprintf(g->path[i], sizeof(g->path[0]), "%s", f->path);
        snprintf(g->part[i], sizeof(g->part[0]), "%s", j);
        snprintf(g->key[i], sizeof(g->key[0]), "%s", f->partition_key);
        snprintf(g->ref[i], sizeof(g->ref[0]), "%s",
                 f->referenced_data_file ? f->referenced_data_file : "");
        g->spec_id[i] = f->spec_id;
        g->nst[i] = f->nstats;
        for (k = 0; k < f->nstats && k < MAXST; k++) {
            g->st[i][k] = f->stats[k];
            T_CHECK(f->stats[k].lower_len <= 16 &&
                    f->stats[k].upper_len <= 16);
            if (f->stats[k].lower != NULL) {
                memcpy(g->lo[i][k], f->stats[k].lower,
                       f->stats[k].lower_len);
            }
            if (f->stats[k].upper != NULL) {
                memcpy(g->hi[i][k], f->stats[k].upper,
                       f->stats[k].upper_len);
            }
        }
    }
    free(j);
    g->n++;
    return true;
}

/* identity on a string and an int column, day on a date column */
static const struct avw_part_field pspec[] = {
    {"category", 1000, 2, "identity", "string"},
    {"shard", 1001, 3, "identity", "int"},
    {"ts_day", 1002, 4, "day", "date"},
};

static const char *const pv0[] = {"books", "7", "2024-01-31"};
static const char *const pv1[] = {"caf\xc3\xa9 \"q\"", "-3", "19000"};
static const char *const pv2[] = {NULL, "0", "1969-12-31"};

/* metrics: out of field-id order, some maps without a column */
static const struct avw_stats st0[] = {
    {4, 80, 10, 0, -1, "\x10\x4d\x00\x00", 4, "\x12\x4d\x00\x00", 4},
    {2, 40, 10, 1, -1, "a", 1, "zz", 2},
    {5, -1, 10, 2, 3, NULL, 0, NULL, 0},
};

static const struct avw_data_file pfiles_in[] = {
    {1, 77, -1, -1, 0, "s3://b/t/data/category=books/a.parquet", NULL, 10,
     1000, pv0, st0, FL_ARRAY_LEN(st0), NULL},
    {0, 70, 3, 3, 0, "s3://b/t/data/b.parquet", NULL, 5, 2000, pv1, NULL, 0,
     NULL},
    {2, 66, 2, 2, 0, "s3://b/t/data/c.parquet", NULL, 1, 30, pv2, NULL, 0,
     NULL},
};

/* The files of pfiles_in as read back from `name`. */
static void check_pfiles(const struct pfiles *g)
{
    T_CHECK(g->n == 3);
    T_STREQ(g->path[0], pfiles_in[0].path);
    T_STREQ(g->part[0], "{\"category\":\"books\",\"shard\":7,"
            "\"ts_day\":\"2024-01-31\"}");
    T_STREQ(g->key[0], "[\"books\",7,\"2024-01-31\"]");
    T_STREQ(g->part[1], "{\"category\":\"caf\xc3\xa9 \\\"q\\\"\","
            "\"shard\":-3,\"ts_day\":\"2022-01-08\"}");
    T_STREQ(g->key[1], "[\"caf\xc3\xa9 \\\"q\\\"\",-3,\"2022-01-08\"]");
    T_STREQ(g->part[2], "{\"category\":null,\"shard\":0,"
            "\"ts_day\":\"1969-12-31\"}");
    T_STREQ(g->key[2], "[null,0,\"1969-12-31\"]");
    /* statistics: sorted by field id, absent members -1 / NULL */
    T_CHECK(g->nst[0] == 3);
    T_CHECK(g->st[0][0].field_id == 2 && g->st[0][0].column_size == 40 &&
            g->st[0][0].value_count == 10 && g->st[0][0].null_count == 1 &&
            g->st[0][0].nan_count == -1);
    T_CHECK(g->st[0][0].lower_len == 1 && memcmp(g->lo[0][0], "a", 1) == 0);
    T_CHECK(g->st[0][0].upper_len == 2 && memcmp(g->hi[0][0], "zz", 2) == 0);
    T_CHECK(g->st[0][1].field_id == 4 && g->st[0][1].lower_len == 4 &&
            memcmp(g->lo[0][1], "\x10\x4d\x00\x00", 4) == 0 &&
            memcmp(g->hi[0][1], "\x12\x4d\x00\x00", 4) == 0);
    T_CHECK(g->st[0][2].field_id == 5 && g->st[0][2].column_size == -1 &&
            g->st[0][2].null_count == 2 && g->st[0][2].nan_count == 3 &&
            g->st[0][2].lower == NULL && g->st[0][2].upper == NULL);
    /* the default metrics of the writer: field 1 */
    T_CHECK(g->nst[1] == 1 && g->st[1][0].field_id == 1 &&
            g->st[1][0].column_size == 1000 && g->st[1][0].value_count == 5 &&
            g->st[1][0].null_count == 0 && g->st[1][0].upper_len == 1);
    T_CHECK(g->spec_id[0] == 3 && g->ref[0][0] == '\0');
}

/* A partitioned manifest of format `v` with `codec`, read back. */
static void partitioned_round_trip(int v, const char *codec,
                                   size_t block_records, const char *name)
{
    struct avw_manifest m = {v, 3, 0, codec, block_records, false, 0,
                             pspec, FL_ARRAY_LEN(pspec), NULL};
    struct fl_err       err = {0};
    struct pfiles      *g = fl_xcalloc(1, sizeof(*g));
    struct sto         *s = file_sto();

    check_ok(avw_manifest_write(path_of(name), &m, pfiles_in,
                                FL_ARRAY_LEN(pfiles_in), &err), &err);
    check_ok(cat_manifest_read(s, uri_of(name), on_pfile, g, &err), &err);
    sto_close(s);
    check_pfiles(g);
    free(g);
}

static void test_partitioned_codecs(void)
{
    partitioned_round_trip(2, NULL, 0, "part-null.avro");
    partitioned_round_trip(2, "deflate", 1, "part-deflate.avro");
    partitioned_round_trip(2, "snappy", 0, "part-snappy.avro");
    partitioned_round_trip(2, "snappy", 2, "part-snappy-blocks.avro");
    partitioned_round_trip(1, "snappy", 0, "part-v1-snappy.avro");
    partitioned_round_trip(3, "deflate", 0, "part-v3.avro");
}

/* Without the header's spec and schema (libavro's writer keeps neither,
 * nor the field ids): names and renderings from the Avro types. */
static void test_partitioned_libavro(void)
{
    struct avw_manifest m = {2, 3, 0, "snappy", 0, true, 0, pspec,
                             FL_ARRAY_LEN(pspec), NULL};
    struct fl_err       err = {0};
    struct pfiles      *g = fl_xcalloc(1, sizeof(*g));
    struct sto         *s = file_sto();

    check_ok(avw_manifest_write(path_of("part-libavro.avro"), &m, pfiles_in,
                                FL_ARRAY_LEN(pfiles_in), &err), &err);
    check_ok(cat_manifest_read(s, uri_of("part-libavro.avro"), on_pfile, g,
                               &err), &err);
    sto_close(s);
    T_CHECK(g->n == 3 && g->spec_id[0] == -1);
    /* NB: libavro drops logicalType too: the day is a plain int */
    T_STREQ(g->part[0], "{\"category\":\"books\",\"shard\":7,"
            "\"ts_day\":19753}");
    T_CHECK(g->nst[0] == 3 && g->st[0][2].nan_count == 3);
    free(g);
}

/* Every type a partition value can have, with its JSON single-value form. */
static void test_partition_types(void)
{
    static const struct avw_part_field spec[] = {
        {"b", 1000, 2, "identity", "boolean"},
        {"l", 1001, 3, "identity", "long"},
        {"f", 1002, 4, "identity", "float"},
        {"d", 1003, 5, "identity", "double"},
        {"t", 1004, 6, "identity", "time"},
        {"ts", 1005, 7, "identity", "timestamp"},
        {"tz", 1006, 8, "identity", "timestamptz"},
        {"bin", 1007, 9, "identity", "binary"},
        {"u", 1008, 10, "identity", "uuid"},
        {"fx", 1009, 11, "identity", "fixed[3]"},
        {"dec", 1010, 12, "identity", "decimal(9,2)"},
        {"bk", 1011, 13, "bucket[16]", "int"},
        {"hr", 1012, 14, "hour", "int"},
        {"tr", 1013, 15, "truncate[4]", "string"},
        {"v", 1014, 16, "void", "string"},
    };
    static const char *const vals[] = {
        "true", "-9000000000", "1.5", "-0.25", "45296000001",
        "1700000000123456", "-1", "00ff7A", "f79c3e09-677c-4bbd-a479-3f349cb785e7",
        "616263", "-1250", "15", "473000", "abcd", NULL,
    };
    static const char *const vals2[] = {
        "false", "0", "0", "1024.5", "0", "0", "0", "", "00000000000000000000000000000000",
        "000000", "5", "0", "0", "", NULL,
    };
    struct avw_data_file d[2] = {
        {1, 9, -1, -1, 0, "s3://b/t/x.parquet", NULL, 1, 2, vals, NULL, 0,
         NULL},
        {1, 9, -1, -1, 0, "s3://b/t/y.parquet", NULL, 1, 2, vals2, NULL, 0,
         NULL},
    };
    struct avw_manifest m = {2, 1, 0, "snappy", 0, false, 0, spec,
                             FL_ARRAY_LEN(spec), NULL};
    struct fl_err       err = {0};
    struct pfiles      *g = fl_xcalloc(1, sizeof(*g));
    struct sto         *s = file_sto();

    check_ok(avw_manifest_write(path_of("types.avro"), &m, d, 2, &err),
             &err);
    check_ok(cat_manifest_read(s, uri_of("types.avro"), on_pfile, g, &err),
             &err);
    sto_close(s);
    T_CHECK(g->n == 2);
    T_STREQ(g->part[0], "{\"b\":true,\"l\":-9000000000,\"f\":1.5,"
            "\"d\":-0.25,\"t\":\"12:34:56.000001\","
            "\"ts\":\"2023-11-14T22:13:20.123456\","
            "\"tz\":\"1969-12-31T23:59:59.999999+00:00\","
            "\"bin\":\"00FF7A\","
            "\"u\":\"f79c3e09-677c-4bbd-a479-3f349cb785e7\","
            "\"fx\":\"616263\",\"dec\":\"-12.50\",\"bk\":15,"
            "\"hr\":473000,\"tr\":\"abcd\",\"v\":null}");
    T_STREQ(g->part[1], "{\"b\":false,\"l\":0,\"f\":0.0,\"d\":1024.5,"
            "\"t\":\"00:00:00.000000\","
            "\"ts\":\"1970-01-01T00:00:00.000000\","
            "\"tz\":\"1970-01-01T00:00:00.000000+00:00\",\"bin\":\"\","
            "\"u\":\"00000000-0000-0000-0000-000000000000\","
            "\"fx\":\"000000\",\"dec\":\"0.05\",\"bk\":0,\"hr\":0,"
            "\"tr\":\"\",\"v\":null}");
    free(g);
}

/* Delete files name the data file they apply to (v2+). */
static void test_referenced_data_file(void)
{
    static const char *const pv[] = {"books", "7", "2024-01-31"};
    struct avw_data_file d = {1, 9, -1, -1, 1, "s3://b/t/del.parquet", NULL,
                              3, 100, pv, NULL, 0,
                              "s3://b/t/data/category=books/a.parquet"};
    struct avw_manifest  m = {2, 3, 1, "deflate", 0, false, 0, pspec,
                              FL_ARRAY_LEN(pspec), NULL};
    struct fl_err        err = {0};
    struct pfiles       *g = fl_xcalloc(1, sizeof(*g));
    struct sto          *s = file_sto();

    check_ok(avw_manifest_write(path_of("ref.avro"), &m, &d, 1, &err), &err);
    check_ok(cat_manifest_read(s, uri_of("ref.avro"), on_pfile, g, &err),
             &err);
    sto_close(s);
    T_CHECK(g->n == 1);
    T_STREQ(g->ref[0], "s3://b/t/data/category=books/a.parquet");
    T_STREQ(g->key[0], "[\"books\",7,\"2024-01-31\"]");
    free(g);
}

/* ---------------------------------------------------------- callbacks */

static void test_stop(void)
{
    struct avw_manifest m = {2, 0, 0, NULL, 1, false, 0, NULL, 0, NULL};
    struct avw_list     l = {2, 1003, 1002, 9, 0, NULL, 1, false, 0};
    struct fl_err       err = {0};
    struct files        gf = {0};
    struct lists        gl = {0};
    struct sto         *s = file_sto();

    check_ok(avw_manifest_write(path_of("stop-m.avro"), &m, files_in,
                                FL_ARRAY_LEN(files_in), &err), &err);
    check_ok(avw_list_write(path_of("stop-l.avro"), &l, list_in,
                            FL_ARRAY_LEN(list_in), &err), &err);
    gf.stop_after = 2;
    check_ok(cat_manifest_read(s, uri_of("stop-m.avro"), on_file, &gf, &err),
             &err);
    T_CHECK(gf.n == 2);
    gl.stop_after = 1;
    check_ok(cat_manifest_list_read(s, uri_of("stop-l.avro"), on_list, &gl,
                                    &err), &err);
    T_CHECK(gl.n == 1);
    sto_close(s);
}

/* ------------------------------------------------------------ failures */

static void test_missing_file(void)
{
    struct fl_err err = {0};
    struct lists  g = {0};
    struct files  f = {0};
    struct sto   *s = file_sto();

    T_CHECK(!cat_manifest_list_read(s, uri_of("nope.avro"), on_list, &g,
                                    &err));
    T_CHECK(err.status == 404);
    T_STREQ(err.type, "NotFoundException");
    fl_err_clear(&err);
    T_CHECK(!cat_manifest_read(s, uri_of("nope.avro"), on_file, &f, &err));
    T_CHECK(err.status == 404);
    T_STREQ(err.type, "NotFoundException");
    sto_close(s);
    T_CHECK(g.n == 0 && f.n == 0);
}

static void test_not_avro(void)
{
    static const char json[] = "{\"format-version\": 2}";
    struct fl_err     err = {0};
    struct lists      g = {0};
    struct files      f = {0};
    struct sto       *s = file_sto();
    bool              ok;

    write_bytes("not-avro.avro", json, sizeof(json) - 1);
    write_bytes("empty.avro", "", 0);
    ok = cat_manifest_list_read(s, uri_of("not-avro.avro"), on_list, &g,
                                &err);
    check_500(ok, &err, "manifest list", uri_of("not-avro.avro"),
              "not an Avro object container file");
    fl_err_clear(&err);
    ok = cat_manifest_read(s, uri_of("not-avro.avro"), on_file, &f, &err);
    check_500(ok, &err, "manifest", uri_of("not-avro.avro"),
              "not an Avro object container file");
    fl_err_clear(&err);
    ok = cat_manifest_read(s, uri_of("empty.avro"), on_file, &f, &err);
    check_500(ok, &err, "manifest", uri_of("empty.avro"),
              "not an Avro object container file");
    sto_close(s);
    T_CHECK(g.n == 0 && f.n == 0);
}

/* One record of `schema` with manifest_path etc. set where the schema has
 * them; the read of it as a manifest list must fail with `reason`. */
static void list_schema_fails(const char *schema, const char *codec,
                              bool set_path, const char *reason)
{
    struct fl_err    err = {0};
    struct lists     g = {0};
    struct sto      *s = file_sto();
    struct avw_file *f = avw_file_new(schema, codec, &err);
    avro_value_t    *rec;
    bool             ok;

    T_CHECK(f != NULL);
    rec = avw_file_record(f);
    if (set_path) {
        T_CHECK(avw_set_string(rec, "manifest_path", "m.avro"));
    }
    avw_set_long(rec, "manifest_length", 1);
    avw_set_int(rec, "partition_spec_id", 0);
    avw_set_long(rec, "added_snapshot_id", 1);
    T_CHECK(avw_file_append(f, &err));
    T_CHECK(avw_file_save(f, path_of("bad-schema.avro"), &err));
    avw_file_free(f);
    ok = cat_manifest_list_read(s, uri_of("bad-schema.avro"), on_list, &g,
                                &err);
    sto_close(s);
    check_500(ok, &err, "manifest list", uri_of("bad-schema.avro"), reason);
    T_CHECK(g.n == 0);
}

#define REQ_FIELDS                                                        \
    "{\"name\":\"manifest_length\",\"type\":\"long\"},"                   \
    "{\"name\":\"partition_spec_id\",\"type\":\"int\"},"                  \
    "{\"name\":\"added_snapshot_id\",\"type\":\"long\"}"

static void test_required_fields(void)
{
    list_schema_fails("{\"type\":\"record\",\"name\":\"manifest_file\","
                      "\"fields\":[" REQ_FIELDS "]}", NULL, false,
                      "missing field \"manifest_path\"");
    list_schema_fails("{\"type\":\"record\",\"name\":\"manifest_file\","
                      "\"fields\":[{\"name\":\"manifest_path\","
                      "\"type\":\"long\"}," REQ_FIELDS "]}", NULL, false,
                      "field \"manifest_path\" has an unexpected type");
    list_schema_fails("{\"type\":\"record\",\"name\":\"manifest_file\","
                      "\"fields\":[{\"name\":\"manifest_path\","
                      "\"type\":[\"null\",\"string\"]}," REQ_FIELDS "]}",
                      NULL, false,
                      "record 1: field \"manifest_path\" is null");
    list_schema_fails("{\"type\":\"record\",\"name\":\"manifest_file\","
                      "\"fields\":[{\"name\":\"manifest_path\","
                      "\"type\":\"string\"}," REQ_FIELDS "]}", "bzip2",
                      true, "unsupported Avro codec \"bzip2\"");
    list_schema_fails("{\"type\":\"record\",\"name\":\"manifest_file\","
                      "\"fields\":[{\"name\":\"manifest_path\","
                      "\"type\":\"string\"},"
                      "{\"name\":\"manifest_length\",\"type\":\"long\"},"
                      "{\"name\":\"partition_spec_id\",\"type\":\"long\"},"
                      "{\"name\":\"added_snapshot_id\",\"type\":\"long\"},"
                      "{\"name\":\"content\",\"type\":\"string\"}]}",
                      NULL, true, "field \"content\" has an unexpected type");
}

/*
 * One manifest_file with the path `path`, where a '#' is then turned into a
 * NUL byte in the file (libavro's writer refuses to write one), and with a
 * partition_spec_id written as the long `spec_id`; reading it must fail
 * with `reason`.
 */
static void list_value_fails(const char *path, int64_t spec_id,
                             const char *reason)
{
    static const char schema[] =
        "{\"type\":\"record\",\"name\":\"manifest_file\",\"fields\":["
        "{\"name\":\"manifest_path\",\"type\":\"string\"},"
        "{\"name\":\"manifest_length\",\"type\":\"long\"},"
        "{\"name\":\"partition_spec_id\",\"type\":\"long\"},"
        "{\"name\":\"added_snapshot_id\",\"type\":\"long\"}]}";
    struct fl_err    err = {0};
    struct lists     g = {0};
    struct sto      *s = file_sto();
    struct avw_file *f = avw_file_new(schema, NULL, &err);
    avro_value_t    *rec;
    unsigned char   *b;
    unsigned char   *hash;
    size_t           n;
    bool             ok;

    T_CHECK(f != NULL);
    rec = avw_file_record(f);
    T_CHECK(avw_set_string(rec, "manifest_path", path));
    T_CHECK(avw_set_long(rec, "manifest_length", 1));
    T_CHECK(avw_set_long(rec, "partition_spec_id", spec_id));
    T_CHECK(avw_set_long(rec, "added_snapshot_id", 1));
    T_CHECK(avw_file_append(f, &err));
    T_CHECK(avw_file_save(f, path_of("bad-value.avro"), &err));
    avw_file_free(f);
    b = read_bytes("bad-value.avro", &n);
    hash = memmem(b, n, path, strlen(path));
    T_CHECK(hash != NULL);
    hash = memchr(hash, '#', strlen(path));
    if (hash != NULL) {
        *hash = '\0';
    }
    write_bytes("bad-value.avro", b, n);
    free(b);
    ok = cat_manifest_list_read(s, uri_of("bad-value.avro"), on_list, &g,
                                &err);
    sto_close(s);
    check_500(ok, &err, "manifest list", uri_of("bad-value.avro"), reason);
    T_CHECK(g.n == 0);
}

/* Values libavro decodes but the reader refuses. */
static void test_bad_values(void)
{
    static const struct avw_data_file bad_status = {
        3, 1003, -1, -1, 0, "s3://b/t/data/x.parquet", NULL, 1, 2, NULL, NULL,
        0, NULL};
    struct avw_manifest m = {2, 0, 0, NULL, 0, false, 0, NULL, 0, NULL};
    struct fl_err       err = {0};
    struct files        g = {0};
    struct sto         *s = file_sto();
    bool                ok;

    list_value_fails("m#.avro", 4, "record 1: field \"manifest_path\" "
                     "contains a NUL byte");
    list_value_fails("m.avro", (int64_t)1 << 40, "record 1: field "
                     "\"partition_spec_id\" is out of range");
    check_ok(avw_manifest_write(path_of("bad-status.avro"), &m, &bad_status,
                                1, &err), &err);
    ok = cat_manifest_read(s, uri_of("bad-status.avro"), on_file, &g, &err);
    sto_close(s);
    check_500(ok, &err, "manifest", uri_of("bad-status.avro"),
              "record 1: invalid status 3");
    T_CHECK(g.n == 0);
}

/* Append one metadata entry (short strings: one-byte lengths). */
static size_t put_entry(unsigned char *b, size_t n, const char *k,
                        const char *v)
{
    size_t kn = strlen(k);
    size_t vn = strlen(v);

    T_CHECK(kn < 64 && vn < 64);
    b[n++] = (unsigned char)(kn * 2);
    memcpy(b + n, k, kn);
    n += kn;
    b[n++] = (unsigned char)(vn * 2);
    memcpy(b + n, v, vn);
    return n + vn;
}

/*
 * A header written byte by byte: magic, the entry `k`=`v` plus, unless `k`
 * is avro.schema, a valid schema, then a sync marker and no blocks.
 */
static void header_fails(const char *k, const char *v, const char *reason)
{
    unsigned char b[512];
    size_t        n = 0;
    bool          schema = strcmp(k, "avro.schema") != 0;
    struct fl_err err = {0};
    struct files  g = {0};
    struct sto   *s = file_sto();
    bool          ok;

    memcpy(b, "Obj\x01", 4);
    n = 4;
    b[n++] = schema ? 4 : 2;                    /* entries */
    if (schema) {
        n = put_entry(b, n, "avro.schema",
                      "{\"type\":\"record\",\"name\":\"r\",\"fields\":[]}");
    }
    n = put_entry(b, n, k, v);
    b[n++] = 0;                                 /* end of the map */
    memset(b + n, 0xab, 16);                    /* sync */
    n += 16;
    write_bytes("header.avro", b, n);
    ok = cat_manifest_read(s, uri_of("header.avro"), on_file, &g, &err);
    sto_close(s);
    check_500(ok, &err, "manifest", uri_of("header.avro"), reason);
}

static void test_bad_header(void)
{
    header_fails("avro.schema", "not json",
                 "invalid Avro schema in file header");
    header_fails("avro.schema", "\"string\"",
                 "the Avro schema is not a record");
    header_fails("avro.schema", "{\"type\":\"record\",\"name\":\"r\","
                 "\"fields\":[]}", "missing field \"status\"");
    header_fails("partition-spec-id", "x1",
                 "invalid partition-spec-id in file header");
    header_fails("avro.codec", "zstandard\x01", "unsupported Avro codec");
    header_fails("avro.codec", "zstandard", "unsupported Avro codec "
                 "\"zstandard\"");
}

/* Append the Avro long `v` (a zig-zag varint) at b[n]; the new length. */
static size_t put_long(unsigned char *b, size_t n, int64_t v)
{
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);

    while (u >= 0x80) {
        b[n++] = (unsigned char)(u | 0x80);
        u >>= 7;
    }
    b[n++] = (unsigned char)u;
    return n;
}

/* The offset just past the varint at b[n]. */
static size_t skip_long(const unsigned char *b, size_t n)
{
    while (b[n] & 0x80) {
        n++;
    }
    return n + 1;
}

/* A snappy block shorter than its CRC is refused before libavro sees it
 * (its decoder would read outside the block). */
static void test_snappy_short_block(void)
{
    static const char schema[] =
        "{\"type\":\"record\",\"name\":\"manifest_file\",\"fields\":["
        "{\"name\":\"manifest_path\",\"type\":\"string\"}," REQ_FIELDS "]}";
    static const int64_t sizes[] = {0, 3, -1, -5};
    struct fl_err    err = {0};
    struct lists     g;
    struct sto      *s = file_sto();
    struct avw_file *f = avw_file_new(schema, "snappy", &err);
    unsigned char   *b;
    unsigned char    out[4096];
    size_t           n;
    size_t           hdr;
    size_t           i;
    size_t           k;
    bool             ok;

    T_CHECK(f != NULL);
    T_CHECK(avw_file_save(f, path_of("snappy-empty.avro"), &err));
    avw_file_free(f);
    b = read_bytes("snappy-empty.avro", &hdr);     /* header + sync only */
    T_CHECK(hdr + 40 < sizeof(out));
    for (i = 0; i < FL_ARRAY_LEN(sizes); i++) {
        memcpy(out, b, hdr);
        n = put_long(out, hdr, 1);                  /* one record */
        n = put_long(out, n, sizes[i]);             /* of too few bytes */
        for (k = 0; sizes[i] > 0 && k < (size_t)sizes[i]; k++) {
            out[n++] = 0;
        }
        memcpy(out + n, b + hdr - 16, 16);          /* the sync marker */
        n += 16;
        write_bytes("snappy-short.avro", out, n);
        memset(&g, 0, sizeof(g));
        fl_err_clear(&err);
        ok = cat_manifest_list_read(s, uri_of("snappy-short.avro"), on_list,
                                    &g, &err);
        check_500(ok, &err, "manifest list", uri_of("snappy-short.avro"),
                  "data block 1 is corrupt");
        T_CHECK(g.n == 0);
    }
    free(b);
    sto_close(s);
}

/* `orig` with its bytes [at, end) replaced by the long `v`: must be a 500. */
static void forged_fails(const unsigned char *orig, size_t n, size_t at,
                         size_t end, int64_t v)
{
    static const char uri[] = "mem://forged/l.avro";
    unsigned char    *b = fl_xmalloc(n + 16);
    size_t            len;
    struct fl_err     err = {0};
    struct lists      g = {0};
    struct sto       *s = sto_open("mem", &err);
    bool              ok;

    T_CHECK(s != NULL);
    memcpy(b, orig, at);
    len = put_long(b, at, v);
    memcpy(b + len, orig + end, n - end);
    len += n - end;
    T_CHECK(sto_put(s, uri, b, len, &err));
    free(b);
    ok = cat_manifest_list_read(s, uri, on_list, &g, &err);
    sto_close(s);
    check_500(ok, &err, "manifest list", uri, "");
}

/*
 * Lengths no writer produces, in a one-block list: the block's record count
 * and byte size, and a string's length.  libavro allocates what they say
 * before it looks at the bytes; none of it may crash.
 */
static void test_forged_lengths(void)
{
    static const int64_t bad[] = {
        -1, -2, -100, INT64_MIN, INT64_MAX, (int64_t)1 << 40,
        (int64_t)1 << 62, 1000000,
    };
    struct avw_list      l = {2, 1003, 1002, 9, 0, NULL, 0, false, 0};
    struct fl_err        err = {0};
    unsigned char       *orig;
    const unsigned char *p;
    size_t               n;
    size_t               block;
    size_t               size;
    size_t               i;

    check_ok(avw_list_write(path_of("forged.avro"), &l, list_in,
                            FL_ARRAY_LEN(list_in), &err), &err);
    orig = read_bytes("forged.avro", &n);
    T_CHECK(n > 16);
    /* the header ends with the sync marker that also ends the file */
    p = memmem(orig, n, orig + n - 16, 16);
    T_CHECK(p != NULL && p < orig + n - 16);
    block = (size_t)(p - orig) + 16;
    size = skip_long(orig, block);
    p = memmem(orig, n, list_in[0].path, strlen(list_in[0].path));
    T_CHECK(p != NULL && p > orig + size);
    for (i = 0; i < FL_ARRAY_LEN(bad); i++) {
        forged_fails(orig, n, block, size, bad[i]);
        forged_fails(orig, n, size, skip_long(orig, size), bad[i]);
        forged_fails(orig, n, (size_t)(p - orig) - 1, (size_t)(p - orig),
                     bad[i]);
    }
    free(orig);
}

/* Record `i` of test_skip_all_types: every field set. */
static void skip_fill(avro_value_t *rec, int i)
{
    avro_value_t v;
    avro_value_t item;

    T_CHECK(avro_value_get_by_name(rec, "b", &v, NULL) == 0 &&
            avro_value_set_boolean(&v, 1) == 0);
    T_CHECK(avro_value_get_by_name(rec, "f", &v, NULL) == 0 &&
            avro_value_set_float(&v, 1.5f) == 0);
    T_CHECK(avro_value_get_by_name(rec, "d", &v, NULL) == 0 &&
            avro_value_set_double(&v, 2.5) == 0);
    T_CHECK(avro_value_get_by_name(rec, "e", &v, NULL) == 0 &&
            avro_value_set_enum(&v, 1) == 0);
    T_CHECK(avro_value_get_by_name(rec, "x", &v, NULL) == 0 &&
            avro_value_set_fixed(&v, (void *)(uintptr_t)"abc", 3) == 0);
    T_CHECK(avw_set_string(rec, "manifest_path", i ? "two" : "one"));
    T_CHECK(avro_value_get_by_name(rec, "m", &v, NULL) == 0 &&
            avro_value_add(&v, "k", &item, NULL, NULL) == 0 &&
            avro_value_set_bytes(&item, (void *)(uintptr_t)"vv", 2) == 0);
    T_CHECK(avro_value_get_by_name(rec, "a", &v, NULL) == 0 &&
            avro_value_append(&v, &item, NULL) == 0 &&
            avro_value_set_enum(&item, 0) == 0);
    T_CHECK(avro_value_get_by_name(rec, "u", &v, NULL) == 0 &&
            avro_value_set_branch(&v, 2, &item) == 0 &&
            avro_value_set_double(&item, 3.5) == 0);
    T_CHECK(avw_set_long(rec, "manifest_length", 10 + i));
    T_CHECK(avw_set_int(rec, "partition_spec_id", 4));
    T_CHECK(avw_set_long(rec, "added_snapshot_id", 99));
}

/* Every type Avro has, in fields the reader must step over. */
static void test_skip_all_types(void)
{
    static const char schema[] =
        "{\"type\":\"record\",\"name\":\"manifest_file\",\"fields\":["
        "{\"name\":\"b\",\"type\":\"boolean\"},"
        "{\"name\":\"f\",\"type\":\"float\"},"
        "{\"name\":\"d\",\"type\":\"double\"},"
        "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\","
        "\"symbols\":[\"X\",\"Y\"]}},"
        "{\"name\":\"x\",\"type\":{\"type\":\"fixed\",\"name\":\"F\","
        "\"size\":3}},"
        "{\"name\":\"manifest_path\",\"type\":\"string\"},"
        "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"bytes\"}},"
        "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"E\"}},"
        "{\"name\":\"u\",\"type\":[\"null\",\"F\",\"double\"]},"
        REQ_FIELDS "]}";
    struct fl_err    err = {0};
    struct lists     g = {0};
    struct sto      *s = file_sto();
    struct avw_file *f = avw_file_new(schema, NULL, &err);
    int              i;

    T_CHECK(f != NULL);
    for (i = 0; i < 2; i++) {
        skip_fill(avw_file_record(f), i);
        T_CHECK(avw_file_append(f, &err));
    }
    T_CHECK(avw_file_save(f, path_of("skip.avro"), &err));
    avw_file_free(f);
    check_ok(cat_manifest_list_read(s, uri_of("skip.avro"), on_list, &g,
                                    &err), &err);
    sto_close(s);
    T_CHECK(g.n == 2);
    T_STREQ(g.e[0].path, "one");
    T_STREQ(g.e[1].path, "two");
    T_CHECK(g.e[1].length == 11 && g.e[1].spec_id == 4);
    T_CHECK(g.e[1].added_snapshot_id == 99 && g.e[1].added_files == -1);
}

/* A recursive schema: refused before libavro recurses through the data. */
static void test_deep_nesting(void)
{
    static const char schema[] =
        "{\"type\":\"record\",\"name\":\"manifest_file\",\"fields\":["
        "{\"name\":\"manifest_path\",\"type\":\"string\"}," REQ_FIELDS ","
        "{\"name\":\"next\",\"type\":[\"null\",\"manifest_file\"]}]}";
    struct fl_err    err = {0};
    struct lists     g = {0};
    struct sto      *s = file_sto();
    struct avw_file *f = avw_file_new(schema, NULL, &err);
    avro_value_t     v;
    avro_value_t     next;
    int              i;
    bool             ok;

    T_CHECK(f != NULL);
    v = *avw_file_record(f);
    for (i = 0; i < 40; i++) {
        T_CHECK(avw_set_string(&v, "manifest_path", "deep"));
        T_CHECK(avw_child(&v, "next", &next));
        v = next;
    }
    T_CHECK(avw_set_null(&v, "next"));
    T_CHECK(avw_file_append(f, &err));
    T_CHECK(avw_file_save(f, path_of("deep.avro"), &err));
    avw_file_free(f);
    ok = cat_manifest_list_read(s, uri_of("deep.avro"), on_list, &g, &err);
    sto_close(s);
    check_500(ok, &err, "manifest list", uri_of("deep.avro"),
              "the Avro schema is nested too deeply");
    T_CHECK(g.n == 0);
}

/*
 * Read `name` cut to every length and with every byte flipped: each read
 * must succeed or fail with a 500, never crash (ASan: never touch memory it
 * should not).  NB: libavro checks a block's sync marker only after its
 * records, so a cut file may report records before it fails.  Through
 * mem:// for speed: the reader sees only bytes and a URI.
 */
static void mangle(const char *name, bool is_list)
{
    static const char uri[] = "mem://mangle/m.avro";
    size_t            n;
    size_t            i;
    unsigned char    *orig = read_bytes(name, &n);
    unsigned char    *b = fl_xmalloc(n);
    struct fl_err     err = {0};
    struct sto       *s = sto_open("mem", &err);
    struct lists      gl;
    struct files      gf;
    bool              ok;

    T_CHECK(s != NULL);
    for (i = 0; i < 2 * n; i++) {
        memcpy(b, orig, n);
        if (i >= n) {
            b[i - n] ^= (unsigned char)(i % 2 ? 0xff : 0x01);
        }
        T_CHECK(sto_put(s, uri, b, i < n ? i : n, &err));
        memset(&gl, 0, sizeof(gl));
        memset(&gf, 0, sizeof(gf));
        ok = is_list ? cat_manifest_list_read(s, uri, on_list, &gl, &err)
                     : cat_manifest_read(s, uri, on_file, &gf, &err);
        if (!ok && err.status != 500) {
            fprintf(stderr, "  byte %zu: %d %s\n", i, err.status, err.msg);
        }
        T_CHECK(ok || err.status == 500);
        fl_err_clear(&err);
    }
    sto_close(s);
    free(b);
    free(orig);
}

static void test_truncated_and_flipped(void)
{
    struct avw_list     l = {2, 1003, 1002, 9, 0, NULL, 0, false, 0};
    struct avw_manifest m = {2, 7, 0, "deflate", 0, false, 0, NULL, 0, NULL};
    struct avw_manifest m1 = {1, 7, 0, NULL, 2, false, 0, NULL, 0, NULL};
    struct fl_err       err = {0};

    check_ok(avw_list_write(path_of("cut-l.avro"), &l, list_in,
                            FL_ARRAY_LEN(list_in), &err), &err);
    check_ok(avw_manifest_write(path_of("cut-m.avro"), &m, files_in,
                                FL_ARRAY_LEN(files_in), &err), &err);
    check_ok(avw_manifest_write(path_of("cut-m1.avro"), &m1, files_in, 3,
                                &err), &err);
    mangle("cut-l.avro", true);
    mangle("cut-m.avro", false);
    mangle("cut-m1.avro", false);
}

/* The same for snappy blocks and partitioned manifests with statistics. */
static void test_truncated_and_flipped_snappy(void)
{
    struct avw_list     l = {2, 1003, 1002, 9, 0, "snappy", 2, false, 0};
    struct avw_manifest m = {2, 7, 0, "snappy", 2, false, 0, pspec,
                             FL_ARRAY_LEN(pspec), NULL};
    struct fl_err       err = {0};

    check_ok(avw_list_write(path_of("cut-ls.avro"), &l, list_in,
                            FL_ARRAY_LEN(list_in), &err), &err);
    check_ok(avw_manifest_write(path_of("cut-ms.avro"), &m, pfiles_in,
                                FL_ARRAY_LEN(pfiles_in), &err), &err);
    mangle("cut-ls.avro", true);
    mangle("cut-ms.avro", false);
}

/* What one reader thread of test_threads does, and how often it erred. */
struct mt {
    pthread_t   tid;
    struct sto *s;
    char        ok_uri[300];
    char        cut_uri[300];
    int         bad;
};

static void *mt_run(void *arg)
{
    struct mt    *t = arg;
    struct fl_err err;
    struct files  g;
    int           i;

    for (i = 0; i < 200; i++) {
        memset(&g, 0, sizeof(g));
        memset(&err, 0, sizeof(err));
        if (!cat_manifest_read(t->s, t->ok_uri, on_file, &g, &err) ||
            g.n != (int)FL_ARRAY_LEN(files_in)) {
            t->bad++;
        }
        memset(&err, 0, sizeof(err));
        if (cat_manifest_read(t->s, t->cut_uri, on_file, &g, &err) ||
            err.status != 500) {
            t->bad++;
        }
    }
    return NULL;
}

/*
 * Reads on several threads at once, good and truncated files mixed: the
 * reader's per-thread bookkeeping of libavro's memory must not cross.
 */
static void test_threads(void)
{
    struct avw_manifest m = {2, 7, 0, "deflate", 0, false, 0, NULL, 0, NULL};
    struct fl_err       err = {0};
    struct mt           t[4];
    unsigned char      *b;
    size_t              n;
    size_t              i;

    check_ok(avw_manifest_write(path_of("mt-ok.avro"), &m, files_in,
                                FL_ARRAY_LEN(files_in), &err), &err);
    b = read_bytes("mt-ok.avro", &n);
    T_CHECK(n > 40);
    write_bytes("mt-cut.avro", b, n - 30);
    free(b);
    /* NB: uri_of's buffer is static, so the threads get copies */
    for (i = 0; i < FL_ARRAY_LEN(t); i++) {
        t[i].s = file_sto();
        t[i].bad = 0;
        snprintf(t[i].ok_uri, sizeof(t[i].ok_uri), "%s", uri_of("mt-ok.avro"));
        snprintf(t[i].cut_uri, sizeof(t[i].cut_uri), "%s",
                 uri_of("mt-cut.avro"));
        T_CHECK(pthread_create(&t[i].tid, NULL, mt_run, &t[i]) == 0);
    }
    for (i = 0; i < FL_ARRAY_LEN(t); i++) {
        T_CHECK(pthread_join(t[i].tid, NULL) == 0);
        sto_close(t[i].s);
        T_CHECK(t[i].bad == 0);
    }
}

T_MAIN(T(test_list_v1), T(test_list_v1_null_counts), T(test_list_v2_blocks),
       T(test_list_v2_deflate), T(test_list_v3_deflate),
       T(test_list_libavro_writer), T(test_list_empty),
       T(test_manifest_v1), T(test_manifest_v2),
       T(test_manifest_v2_deletes_deflate), T(test_manifest_v3),
       T(test_manifest_libavro_writer), T(test_manifest_v2_snappy),
       T(test_libavro_snappy), T(test_partitioned_codecs),
       T(test_partitioned_libavro), T(test_partition_types),
       T(test_referenced_data_file), T(test_snappy_short_block),
       T(test_stop), T(test_missing_file),
       T(test_not_avro), T(test_required_fields), T(test_bad_values),
       T(test_bad_header), T(test_forged_lengths),
       T(test_skip_all_types), T(test_deep_nesting),
       T(test_truncated_and_flipped), T(test_truncated_and_flipped_snappy),
       T(test_threads))
