/*
 * test_storage.c
 *
 * Unit tests for storage/: the same semantic checks run against mem:// and
 * against file:// in a private directory under /tmp (removed by the last
 * test), then the file backend's own rules (URI spellings, temporary files,
 * concurrent put-if-absent), URI rejection and fault injection.  No network:
 * s3:// is only checked to be refused.
 */
#include "storage/storage.h"

#include "t.h"

#include <dirent.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define NTHREADS 8

static char root[64];               /* the /tmp directory of file:// tests */

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

/* The base URI of one test: "mem://<name>" or "file://<root>/<name>". */
static const char *base_uri(struct fl_arena *a, const char *scheme,
                            const char *name)
{
    if (strcmp(scheme, "mem") == 0) {
        return fl_sprintf(a, "mem://%s", name);
    }
    if (root[0] == '\0') {
        snprintf(root, sizeof(root), "/tmp/floe-test-storage-XXXXXX");
        T_CHECK(mkdtemp(root) != NULL);
        atexit(root_remove);
    }
    return fl_sprintf(a, "file://%s/%s", root, name);
}

static void expect_err(struct fl_err *err, int status, const char *type)
{
    if (err->status != status) {
        fprintf(stderr, "  status %d (%s), want %d\n", err->status,
                err->msg, status);
    }
    T_CHECK(err->status == status);
    T_STREQ(err->type, type);
}

static void put_str(struct sto *s, const char *uri, const char *text)
{
    struct fl_err err = {0};

    if (!sto_put(s, uri, text, strlen(text), &err)) {
        fprintf(stderr, "  put %s: %s (%s)\n", uri, err.msg, err.log);
    }
    T_CHECK(err.status == 0);
}

/* Get `uri` and compare with `want` (NULL: expect 404). */
static void expect_content(struct sto *s, const char *uri, const char *want)
{
    struct fl_arena *a = fl_arena_new(0);
    struct fl_err    err = {0};
    struct fl_buf    b;
    bool             ok;

    ok = sto_get(s, a, uri, 1 << 20, &b, &err);
    if (want == NULL) {
        T_CHECK(!ok);
        expect_err(&err, 404, "NotFoundException");
    } else {
        T_CHECK(ok);
        T_CHECK(b.len == strlen(want));
        T_STREQ(b.p, want);
    }
    fl_arena_free(a);
}

#define LIST_MAX 16

struct listing {
    size_t  n;
    size_t  stop_after;             /* 0: never stop */
    char    uri[LIST_MAX][512];
    int64_t size[LIST_MAX];
    struct sto *del;                /* delete each entry when listed */
};

static bool collect(void *ctx, const struct sto_entry *e)
{
    struct listing *l = ctx;
    struct fl_err   err = {0};

    if (l->n < LIST_MAX) {
        snprintf(l->uri[l->n], sizeof(l->uri[0]), "%s", e->uri);
        l->size[l->n] = e->size;
    }
    l->n++;
    if (l->del != NULL && !sto_delete(l->del, e->uri, &err)) {
        return false;
    }
    return l->stop_after == 0 || l->n < l->stop_after;
}

static void list(struct sto *s, const char *prefix, struct listing *l)
{
    struct fl_err err = {0};

    l->n = 0;
    if (!sto_list(s, prefix, collect, l, &err)) {
        fprintf(stderr, "  list %s: %s (%s)\n", prefix, err.msg, err.log);
    }
    T_CHECK(err.status == 0);
}

static bool listed(const struct listing *l, const char *uri)
{
    size_t i;

    for (i = 0; i < l->n && i < LIST_MAX; i++) {
        if (strcmp(l->uri[i], uri) == 0) {
            return true;
        }
    }
    return false;
}

/* ------------------------------------------- semantics, on both backends */

static void check_round_trip(const char *scheme)
{
    struct fl_arena *a = fl_arena_new(0);
    struct sto      *s = sto_open(scheme, NULL);
    struct fl_err    err = {0};
    struct fl_buf    b;
    const char      *uri = fl_sprintf(a, "%s/t/metadata/v1.json",
                                      base_uri(a, scheme, "round"));
    const char       bin[] = {'a', '\0', 'b', '\n', (char)0xff};

    T_CHECK(s != NULL);
    put_str(s, uri, "{\"format-version\":2}");
    expect_content(s, uri, "{\"format-version\":2}");
    put_str(s, uri, "replaced");
    expect_content(s, uri, "replaced");

    T_CHECK(sto_put(s, uri, bin, sizeof(bin), &err));
    T_CHECK(sto_get(s, NULL, uri, 64, &b, &err));
    T_CHECK(b.len == sizeof(bin) && memcmp(b.p, bin, sizeof(bin)) == 0);
    T_CHECK(b.p[b.len] == '\0');
    fl_buf_release(&b);

    T_CHECK(sto_put(s, uri, NULL, 0, &err));
    T_CHECK(sto_get(s, a, uri, 1, &b, &err));
    T_CHECK(b.len == 0);
    sto_close(s);
    fl_arena_free(a);
}

static void check_get_missing(const char *scheme)
{
    struct fl_arena *a = fl_arena_new(0);
    struct sto      *s = sto_open(scheme, NULL);
    struct fl_err    err = {0};
    struct fl_buf    b;
    const char      *uri = fl_sprintf(a, "%s/nope/x.json",
                                      base_uri(a, scheme, "missing"));

    T_CHECK(!sto_get(s, a, uri, 100, &b, &err));
    expect_err(&err, 404, "NotFoundException");
    T_STREQ(err.msg, fl_sprintf(a, "could not read object \"%s\": no such "
                                   "file", uri));
    sto_close(s);
    fl_arena_free(a);
}

static void check_cap(const char *scheme)
{
    struct fl_arena *a = fl_arena_new(0);
    struct sto      *s = sto_open(scheme, NULL);
    struct fl_err    err = {0};
    struct fl_buf    b;
    char             data[100];
    const char      *uri = fl_sprintf(a, "%s/big", base_uri(a, scheme, "cap"));

    memset(data, 'x', sizeof(data));
    T_CHECK(sto_put(s, uri, data, sizeof(data), &err));
    T_CHECK(!sto_get(s, a, uri, 99, &b, &err));
    expect_err(&err, 500, "InternalServerError");
    T_CHECK(strstr(err.msg, "larger than the limit of 99 bytes") != NULL);
    T_CHECK(b.len == 0);
    fl_err_clear(&err);
    T_CHECK(sto_get(s, a, uri, 100, &b, &err));
    T_CHECK(b.len == 100 && b.p[99] == 'x');
    sto_close(s);
    fl_arena_free(a);
}

static void check_put_if_absent(const char *scheme)
{
    struct fl_arena *a = fl_arena_new(0);
    struct sto      *s = sto_open(scheme, NULL);
    struct fl_err    err = {0};
    const char      *uri = fl_sprintf(a, "%s/m/00001.metadata.json",
                                      base_uri(a, scheme, "pia"));

    T_CHECK(sto_put_if_absent(s, uri, "first", 5, &err));
    T_CHECK(!sto_put_if_absent(s, uri, "second!", 7, &err));
    expect_err(&err, 409, "AlreadyExistsException");
    T_STREQ(err.msg, fl_sprintf(a, "object \"%s\" already exists", uri));
    expect_content(s, uri, "first");
    sto_close(s);
    fl_arena_free(a);
}

static void check_delete(const char *scheme)
{
    struct fl_arena *a = fl_arena_new(0);
    struct sto      *s = sto_open(scheme, NULL);
    struct fl_err    err = {0};
    struct sto_stat  st;
    bool             exists = true;
    const char      *uri = fl_sprintf(a, "%s/d/x", base_uri(a, scheme, "del"));

    put_str(s, uri, "x");
    T_CHECK(sto_delete(s, uri, &err));
    T_CHECK(sto_delete(s, uri, &err));
    T_CHECK(sto_head(s, uri, &st, &exists, &err));
    T_CHECK(!exists);
    expect_content(s, uri, NULL);
    /* Gone objects can be created again, also with put-if-absent. */
    T_CHECK(sto_put_if_absent(s, uri, "y", 1, &err));
    expect_content(s, uri, "y");
    T_CHECK(err.status == 0);
    sto_close(s);
    fl_arena_free(a);
}

static void check_delete_batch(const char *scheme)
{
    struct fl_arena *a = fl_arena_new(0);
    struct sto      *s = sto_open(scheme, NULL);
    struct fl_err    err = {0};
    const char      *base = base_uri(a, scheme, "batch");
    const char      *uris[5];
    size_t           deleted = 99;
    size_t           i;

    for (i = 0; i < 5; i++) {
        uris[i] = fl_sprintf(a, "%s/f%zu", base, i);
        if (i % 2 == 0) {
            put_str(s, uris[i], "data");
        }
    }
    T_CHECK(sto_delete_batch(s, uris, 5, &deleted, &err));
    T_CHECK(deleted == 3);
    T_CHECK(sto_delete_batch(s, uris, 5, &deleted, &err));
    T_CHECK(deleted == 0);
    T_CHECK(sto_delete_batch(s, uris, 0, NULL, &err));
    for (i = 0; i < 5; i++) {
        expect_content(s, uris[i], NULL);
    }
    /* A foreign URI fails the batch before anything is deleted. */
    put_str(s, uris[0], "data");
    uris[1] = "s3://bucket/key";
    T_CHECK(!sto_delete_batch(s, uris, 2, &deleted, &err));
    expect_err(&err, 400, "BadRequestException");
    T_CHECK(deleted == 0);
    expect_content(s, uris[0], "data");
    sto_close(s);
    fl_arena_free(a);
}

static void check_list(const char *scheme)
{
    struct fl_arena *a = fl_arena_new(0);
    struct sto      *s = sto_open(scheme, NULL);
    struct listing  *l = fl_alloc(a, sizeof(*l));
    const char      *base = base_uri(a, scheme, "list");
    const char      *v1 = fl_sprintf(a, "%s/t/metadata/v1.json", base);
    const char      *v2 = fl_sprintf(a, "%s/t/metadata/v2.json", base);
    const char      *meta = fl_sprintf(a, "%s/t/meta.txt", base);
    const char      *deep = fl_sprintf(a, "%s/t/data/x=1/y=2/z.parquet", base);
    const char      *other = fl_sprintf(a, "%s/u/a", base);

    put_str(s, v1, "one");
    put_str(s, v2, "two!");
    put_str(s, meta, "m");
    put_str(s, deep, "deep");
    put_str(s, other, "o");

    list(s, fl_sprintf(a, "%s/t/meta", base), l);
    T_CHECK(l->n == 3);
    T_CHECK(listed(l, v1) && listed(l, v2) && listed(l, meta));
    list(s, fl_sprintf(a, "%s/t/metadata/", base), l);
    T_CHECK(l->n == 2 && listed(l, v1) && listed(l, v2));
    T_CHECK((l->size[0] == 3 && l->size[1] == 4)
            || (l->size[0] == 4 && l->size[1] == 3));
    list(s, fl_sprintf(a, "%s/t/", base), l);
    T_CHECK(l->n == 4 && listed(l, deep) && !listed(l, other));
    list(s, fl_sprintf(a, "%s/t/data/x", base), l);
    T_CHECK(l->n == 1 && listed(l, deep));
    list(s, v1, l);
    T_CHECK(l->n == 1 && listed(l, v1));
    list(s, base, l);
    T_CHECK(l->n == 5);
    list(s, fl_sprintf(a, "%s/none/", base), l);
    T_CHECK(l->n == 0);
    list(s, fl_sprintf(a, "%s/t/metadata/v9", base), l);
    T_CHECK(l->n == 0);

    l->stop_after = 2;
    list(s, base, l);
    T_CHECK(l->n == 2);
    /* The callback may write to storage: delete everything as listed. */
    l->stop_after = 0;
    l->del = s;
    list(s, base, l);
    T_CHECK(l->n == 5);
    l->del = NULL;
    list(s, base, l);
    T_CHECK(l->n == 0);
    sto_close(s);
    fl_arena_free(a);
}

static void check_head(const char *scheme)
{
    struct fl_arena *a = fl_arena_new(0);
    struct sto      *s = sto_open(scheme, NULL);
    struct fl_err    err = {0};
    struct sto_stat  st = {-1, -1};
    bool             exists = false;
    const char      *uri = fl_sprintf(a, "%s/h/x", base_uri(a, scheme, "head"));
    int64_t          now = fl_now_ms();

    put_str(s, uri, "12345");
    T_CHECK(sto_head(s, uri, &st, &exists, &err));
    T_CHECK(exists);
    T_CHECK(st.size == 5);
    T_CHECK(st.mtime_ms > now - 60000 && st.mtime_ms < now + 60000);
    T_CHECK(sto_head(s, fl_sprintf(a, "%s/h/y", base_uri(a, scheme, "head")),
                     &st, &exists, &err));
    T_CHECK(!exists);
    /* A "directory" is not an object. */
    T_CHECK(sto_head(s, fl_sprintf(a, "%s/h", base_uri(a, scheme, "head")),
                     &st, &exists, &err));
    T_CHECK(!exists);
    T_CHECK(err.status == 0);
    sto_close(s);
    fl_arena_free(a);
}

static void test_mem_round_trip(void) { check_round_trip("mem"); }
static void test_file_round_trip(void) { check_round_trip("file"); }
static void test_mem_get_missing(void) { check_get_missing("mem"); }
static void test_file_get_missing(void) { check_get_missing("file"); }
static void test_mem_cap(void) { check_cap("mem"); }
static void test_file_cap(void) { check_cap("file"); }
static void test_mem_put_if_absent(void) { check_put_if_absent("mem"); }
static void test_file_put_if_absent(void) { check_put_if_absent("file"); }
static void test_mem_delete(void) { check_delete("mem"); }
static void test_file_delete(void) { check_delete("file"); }
static void test_mem_delete_batch(void) { check_delete_batch("mem"); }
static void test_file_delete_batch(void) { check_delete_batch("file"); }
static void test_mem_list(void) { check_list("mem"); }
static void test_file_list(void) { check_list("file"); }
static void test_mem_head(void) { check_head("mem"); }
static void test_file_head(void) { check_head("file"); }

/* ------------------------------------------------------ URIs and schemes */

static void test_open_and_supports(void)
{
    struct fl_err err = {0};
    struct sto   *s;

    s = sto_open("file", &err);
    T_CHECK(s != NULL);
    sto_close(s);
    s = sto_open("mem://bucket/warehouse", &err);
    T_CHECK(s != NULL);
    sto_close(s);
    sto_close(NULL);
    T_CHECK(sto_open("s3", &err) == NULL);
    expect_err(&err, 400, "BadRequestException");
    T_STREQ(err.msg, "unsupported storage scheme in \"s3\"");

    T_CHECK(sto_supports("file:///w/x"));
    T_CHECK(sto_supports("file:/w/x"));
    T_CHECK(sto_supports("mem://b/k"));
    T_CHECK(!sto_supports("s3://b/k"));
    T_CHECK(!sto_supports("/w/x"));
    T_CHECK(!sto_supports("files:///w/x"));
    T_CHECK(!sto_supports(""));
    T_CHECK(!sto_supports(NULL));
}

#define AS_OBJECT 1
#define AS_PREFIX 2
#define AS_BOTH   3

/* True when a call returned false with 400 BadRequestException; clears. */
static bool bad_request(bool ret, struct fl_err *err)
{
    bool ok = !ret && err->status == 400 && err->type != NULL
              && strcmp(err->type, "BadRequestException") == 0;

    fl_err_clear(err);
    return ok;
}

/*
 * Every operation on `uri` fails with 400 BadRequestException: the object
 * operations if `as` has AS_OBJECT, listing if it has AS_PREFIX.
 */
static void expect_rejected(struct sto *s, const char *uri, int as)
{
    struct fl_arena *a = fl_arena_new(0);
    struct fl_err    err = {0};
    struct fl_buf    b;
    struct sto_stat  st;
    struct listing   l;
    bool             exists;
    bool             ok = true;

    if (as & AS_OBJECT) {
        ok = bad_request(sto_get(s, a, uri, 10, &b, &err), &err)
             && bad_request(sto_put(s, uri, "x", 1, &err), &err)
             && bad_request(sto_put_if_absent(s, uri, "x", 1, &err), &err)
             && bad_request(sto_delete(s, uri, &err), &err)
             && bad_request(sto_head(s, uri, &st, &exists, &err), &err);
    }
    if (ok && (as & AS_PREFIX)) {
        memset(&l, 0, sizeof(l));
        ok = bad_request(sto_list(s, uri, collect, &l, &err), &err)
             && l.n == 0;
    }
    fl_arena_free(a);
    if (!ok) {
        fprintf(stderr, "  not rejected: \"%s\"\n", uri);
    }
    T_CHECK(ok);
}

static void test_file_rejects(void)
{
    struct sto   *s = sto_open("file", NULL);
    struct fl_err err = {0};
    struct fl_buf b;

    expect_rejected(s, "file:relative/x", AS_BOTH);
    expect_rejected(s, "file:", AS_BOTH);
    expect_rejected(s, "file://", AS_BOTH);
    expect_rejected(s, "file://otherhost/w/x", AS_BOTH);
    expect_rejected(s, "file:///w/../etc/passwd", AS_BOTH);
    expect_rejected(s, "file:///w/..", AS_BOTH);
    expect_rejected(s, "file:///w/./x", AS_BOTH);
    expect_rejected(s, "file:///w//x", AS_BOTH);
    expect_rejected(s, "file:///w/x/", AS_OBJECT);
    expect_rejected(s, "file:///w/.floe-tmp-0011", AS_OBJECT);
    expect_rejected(s, "file:///w/a\nb", AS_BOTH);
    expect_rejected(s, "file:///w/a\x7f", AS_BOTH);
    expect_rejected(s, "file:/../x", AS_BOTH);
    expect_rejected(s, "mem://bucket/key", AS_BOTH);
    expect_rejected(s, "s3://bucket/key", AS_BOTH);
    expect_rejected(s, "/w/x", AS_BOTH);
    expect_rejected(s, "file:///w/../", AS_PREFIX);
    expect_rejected(s, "file:///w//", AS_PREFIX);
    expect_rejected(s, "file:w/", AS_PREFIX);

    T_CHECK(!sto_get(s, NULL, "s3://bucket/key", 10, &b, &err));
    T_STREQ(err.msg, "unsupported storage scheme in \"s3://bucket/key\"");
    fl_buf_release(&b);
    sto_close(s);
}

static void test_mem_rejects(void)
{
    struct sto *s = sto_open("mem", NULL);

    expect_rejected(s, "mem://", AS_OBJECT);
    expect_rejected(s, "mem:///x", AS_BOTH);
    expect_rejected(s, "mem:b/x", AS_BOTH);
    expect_rejected(s, "mem://b/../x", AS_BOTH);
    expect_rejected(s, "mem://b/x/", AS_OBJECT);
    expect_rejected(s, "mem://b/\tx", AS_BOTH);
    expect_rejected(s, "file:///w/x", AS_BOTH);
    expect_rejected(s, "mem:///", AS_PREFIX);
    sto_close(s);
}

/* --------------------------------------------------- file:// specifics */

static void test_file_uri_spellings(void)
{
    struct fl_arena *a = fl_arena_new(0);
    struct sto      *s = sto_open("file", NULL);
    struct listing  *l = fl_alloc(a, sizeof(*l));
    const char      *hadoop;
    const char      *local;

    base_uri(a, "file", "x");
    hadoop = fl_sprintf(a, "file:%s/spell/m/v1.json", root);
    local = fl_sprintf(a, "file://localhost%s/spell/m/v1.json", root);
    put_str(s, hadoop, "hadoop");
    expect_content(s, fl_sprintf(a, "file://%s/spell/m/v1.json", root),
                   "hadoop");
    expect_content(s, local, "hadoop");
    /* Listed URIs keep the spelling of the prefix. */
    list(s, fl_sprintf(a, "file:%s/spell/", root), l);
    T_CHECK(l->n == 1 && listed(l, hadoop));
    list(s, fl_sprintf(a, "file://localhost%s/spell/m", root), l);
    T_CHECK(l->n == 1 && listed(l, local));
    sto_close(s);
    fl_arena_free(a);
}

static size_t count_tmp_files(const char *dir)
{
    DIR           *d = opendir(dir);
    struct dirent *de;
    size_t         n = 0;

    T_CHECK(d != NULL);
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, ".floe-tmp-", 10) == 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

static void test_file_temp_files(void)
{
    struct fl_arena *a = fl_arena_new(0);
    struct sto      *s = sto_open("file", NULL);
    struct listing  *l = fl_alloc(a, sizeof(*l));
    struct fl_err    err = {0};
    const char      *base = base_uri(a, "file", "tmp");
    const char      *dir = fl_sprintf(a, "%s/tmp/m", root);
    const char      *stray = fl_sprintf(a, "%s/.floe-tmp-deadbeef", dir);
    FILE            *f;

    put_str(s, fl_sprintf(a, "%s/m/a", base), "a");
    put_str(s, fl_sprintf(a, "%s/m/a", base), "b");
    T_CHECK(sto_put_if_absent(s, fl_sprintf(a, "%s/m/b", base), "b", 1,
                              &err));
    T_CHECK(!sto_put_if_absent(s, fl_sprintf(a, "%s/m/b", base), "c", 1,
                               &err));
    T_CHECK(count_tmp_files(dir) == 0);
    /* An in-flight (or crashed) write's temp file is not an object. */
    f = fopen(stray, "w");
    T_CHECK(f != NULL);
    fputs("partial", f);
    fclose(f);
    list(s, base, l);
    T_CHECK(l->n == 2);
    /* Nor is a directory or a FIFO. */
    T_CHECK(mkdir(fl_sprintf(a, "%s/sub", dir), 0755) == 0);
    T_CHECK(mkfifo(fl_sprintf(a, "%s/fifo", dir), 0644) == 0);
    expect_content(s, fl_sprintf(a, "%s/m/sub", base), NULL);
    expect_content(s, fl_sprintf(a, "%s/m/fifo", base), NULL);
    list(s, base, l);
    T_CHECK(l->n == 2);
    sto_close(s);
    fl_arena_free(a);
}

static void test_file_errors_stay_short(void)
{
    struct fl_arena *a = fl_arena_new(0);
    struct sto      *s = sto_open("file", NULL);
    struct fl_err    err = {0};
    const char      *base = base_uri(a, "file", "short");

    /* A file where a directory should be. */
    put_str(s, fl_sprintf(a, "%s/f", base), "file");
    T_CHECK(!sto_put(s, fl_sprintf(a, "%s/f/x", base), "x", 1, &err));
    expect_err(&err, 500, "InternalServerError");
    T_CHECK(strstr(err.msg, "could not write object") != NULL);
    T_CHECK(strstr(err.msg, root) != NULL);
    T_CHECK(strstr(err.msg, "a parent is not a directory") != NULL);
    /* strerror text and local paths of temp files stay in the log. */
    T_CHECK(strstr(err.msg, "Not a directory") == NULL);
    T_CHECK(strstr(err.log, "Not a directory") != NULL);
    fl_err_clear(&err);
    expect_content(s, fl_sprintf(a, "%s/f/x", base), NULL);
    T_CHECK(sto_delete(s, fl_sprintf(a, "%s/f/x", base), &err));
    sto_close(s);
    fl_arena_free(a);
}

/* --------------------------------------------------------- concurrency */

struct racer {
    struct sto *s;
    const char *uri;
    char        body[32];
    bool        won;
    int         status;
    pthread_barrier_t *go;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct fl_err err = {0};

    pthread_barrier_wait(r->go);
    r->won = sto_put_if_absent(r->s, r->uri, r->body, strlen(r->body), &err);
    r->status = err.status;
    return NULL;
}

static void check_race(const char *scheme)
{
    struct fl_arena  *a = fl_arena_new(0);
    struct sto       *s = sto_open(scheme, NULL);
    struct racer      r[NTHREADS];
    pthread_t         th[NTHREADS];
    pthread_barrier_t go;
    const char       *base = base_uri(a, scheme, "race");
    const char       *winner;
    int               round;
    int               i;
    int               wins;

    for (round = 0; round < 20; round++) {
        T_CHECK(pthread_barrier_init(&go, NULL, NTHREADS) == 0);
        for (i = 0; i < NTHREADS; i++) {
            r[i].s = s;
            r[i].uri = fl_sprintf(a, "%s/r%d/v1.metadata.json", base, round);
            snprintf(r[i].body, sizeof(r[i].body), "writer %d", i);
            r[i].go = &go;
            T_CHECK(pthread_create(&th[i], NULL, race, &r[i]) == 0);
        }
        wins = 0;
        winner = NULL;
        for (i = 0; i < NTHREADS; i++) {
            pthread_join(th[i], NULL);
            if (r[i].won) {
                wins++;
                winner = r[i].body;
            } else {
                T_CHECK(r[i].status == 409);
            }
        }
        pthread_barrier_destroy(&go);
        T_CHECK(wins == 1);
        expect_content(s, r[0].uri, winner);
    }
    sto_close(s);
    fl_arena_free(a);
}

static void test_file_race_put_if_absent(void) { check_race("file"); }
static void test_mem_race_put_if_absent(void) { check_race("mem"); }

/* ------------------------------------------------------ fault injection */

static void test_fault_injection(void)
{
#ifdef FL_DEBUG
    struct fl_arena *a = fl_arena_new(0);
    struct sto      *s = sto_open("file", NULL);
    struct fl_err    err = {0};
    const char      *base = base_uri(a, "file", "fault");
    const char      *uris[3];
    size_t           deleted;

    uris[0] = fl_sprintf(a, "%s/a", base);
    uris[1] = fl_sprintf(a, "%s/b", base);
    uris[2] = fl_sprintf(a, "%s/c", base);
    sto_fault_set(2);
    put_str(s, uris[0], "a");
    T_CHECK(!sto_put(s, uris[1], "b", 1, &err));
    expect_err(&err, 500, "InternalServerError");
    T_STREQ(err.msg, "injected storage fault");
    expect_content(s, uris[1], NULL);
    put_str(s, uris[1], "b");               /* one-shot: disarmed now */

    fl_err_clear(&err);
    sto_fault_set(1);
    T_CHECK(!sto_put_if_absent(s, uris[2], "c", 1, &err));
    expect_err(&err, 500, "InternalServerError");
    expect_content(s, uris[2], NULL);
    put_str(s, uris[2], "c");

    /* Reads do not count; each object of a batch does. */
    fl_err_clear(&err);
    sto_fault_set(2);
    expect_content(s, uris[0], "a");
    T_CHECK(!sto_delete_batch(s, uris, 3, &deleted, &err));
    expect_err(&err, 500, "InternalServerError");
    T_CHECK(deleted == 1);
    expect_content(s, uris[1], "b");

    fl_err_clear(&err);
    sto_fault_set(1);
    sto_fault_set(0);
    T_CHECK(sto_delete(s, uris[1], &err));
    T_CHECK(sto_delete(s, uris[2], &err));
    expect_content(s, uris[1], NULL);
    sto_close(s);
    fl_arena_free(a);
#endif
}

/*
 * FL_FAULT is read at the first object write of the process, so this test
 * must run before any other test writes.
 */
static void test_fault_env(void)
{
#ifdef FL_DEBUG
    struct fl_arena *a = fl_arena_new(0);
    struct sto      *s = sto_open("mem", NULL);
    struct fl_err    err = {0};
    const char      *base = base_uri(a, "mem", "env");

    T_CHECK(setenv("FL_FAULT", "db:1,sto:3", 1) == 0);
    put_str(s, fl_sprintf(a, "%s/1", base), "1");
    T_CHECK(sto_delete(s, fl_sprintf(a, "%s/1", base), &err));
    T_CHECK(!sto_put(s, fl_sprintf(a, "%s/3", base), "3", 1, &err));
    T_STREQ(err.msg, "injected storage fault");
    put_str(s, fl_sprintf(a, "%s/4", base), "4");
    unsetenv("FL_FAULT");
    sto_close(s);
    fl_arena_free(a);
#endif
}

/* Last: remove the /tmp directory, proving nothing in it is held open. */
static void test_file_cleanup(void)
{
    char dir[sizeof(root)];

    snprintf(dir, sizeof(dir), "%s", root);
    root_remove();
    T_CHECK(dir[0] == '\0' || access(dir, F_OK) != 0);
}

T_MAIN(T(test_fault_env), T(test_open_and_supports),
       T(test_mem_round_trip), T(test_file_round_trip),
       T(test_mem_get_missing), T(test_file_get_missing),
       T(test_mem_cap), T(test_file_cap),
       T(test_mem_put_if_absent), T(test_file_put_if_absent),
       T(test_mem_delete), T(test_file_delete),
       T(test_mem_delete_batch), T(test_file_delete_batch),
       T(test_mem_list), T(test_file_list),
       T(test_mem_head), T(test_file_head),
       T(test_file_rejects), T(test_mem_rejects),
       T(test_file_uri_spellings), T(test_file_temp_files),
       T(test_file_errors_stay_short),
       T(test_file_race_put_if_absent), T(test_mem_race_put_if_absent),
       T(test_fault_injection),
       T(test_file_cleanup))
