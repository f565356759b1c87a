/*
 * mnt_compact.c
 *
 * Compaction planning (DESIGN 6, notes/ICEBERG.md 4.6): read the current
 * snapshot's data and delete manifests, count the delete files that apply
 * to each live data file, pick the candidates of each partition (files
 * below 75 % or above 180 % of the target size, files with at least
 * delete-file-threshold deletes), bin-pack them first-fit decreasing into
 * groups of about one target file, keep the groups worth rewriting, and
 * record each as a 'compaction' job for an outside executor.  Files
 * already in a pending job are left out, so jobs never overlap.
 *
 * And settling: after a commit, a pending job whose files a `replace`
 * snapshot committed since its planning removed is done; one whose files
 * went another way is obsolete.  Only snapshots that can remove files are
 * looked at (an append never does), and manifests are read only then.
 *
 * Not here: the executor API (mnt_cjobs.c), the queue of daemon jobs
 * (mnt_queue.c), rewriting anything.
 */
#include "maintenance/mnt_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOW "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"
/* pg_advisory_xact_lock class of planning, per table: 'Floe' */
#define PLAN_LOCK "1181511525"
/* Snapshots settling walks back at most, to attribute removed files. */
#define MAX_WALK 100

DB_STMT(CJ_PLAN_LOCK,
    "SELECT pg_advisory_xact_lock(" PLAN_LOCK ", $1::int)");
DB_STMT(CJ_INSERT,
    "INSERT INTO maintenance_jobs (realm, catalog_id, table_id, job_type,"
    " state, not_before_ms, payload, created_ms, updated_ms)"
    " VALUES ($1, $2, $3, 'compaction', 'queued', " NOW ", $4::jsonb, "
    NOW ", " NOW ") RETURNING id");
DB_STMT(CJ_PENDING,
    "SELECT id, payload::text FROM maintenance_jobs WHERE table_id = $1"
    " AND realm = $2 AND job_type = 'compaction'"
    " AND state IN ('queued', 'running') ORDER BY id");
DB_STMT(CJ_SETTLE,
    "UPDATE maintenance_jobs SET state = $2, result = $3::jsonb,"
    " lease_expires_ms = NULL, updated_ms = " NOW
    " WHERE id = $1 AND job_type = 'compaction'"
    " AND state IN ('queued', 'running')");

/* ------------------------------------------------------------ string map */

/* A map from arena strings to pointers (open addressing, arena memory). */
struct smap {
    struct fl_arena *a;
    const char     **key;
    void           **val;
    size_t           cap;           /* a power of two, or 0 */
    size_t           n;
};

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    }
    return h;
}

static void **smap_find(struct smap *m, const char *key, bool add);

static void smap_grow(struct smap *m)
{
    const char **okey = m->key;
    void       **oval = m->val;
    size_t       ocap = m->cap;
    size_t       i;

    m->cap = ocap ? ocap * 2 : 64;
    m->key = fl_alloc(m->a, m->cap * sizeof(*m->key));
    m->val = fl_alloc(m->a, m->cap * sizeof(*m->val));
    m->n = 0;
    for (i = 0; i < ocap; i++) {
        if (okey[i] != NULL) {
            *smap_find(m, okey[i], true) = oval[i];
        }
    }
}

/* The value slot of `key` (which must outlive the map when added), or
 * NULL when it is absent and `add` is false. */
static void **smap_find(struct smap *m, const char *key, bool add)
{
    size_t i;

    if (add && 2 * (m->n + 1) > m->cap) {
        smap_grow(m);
    }
    if (m->cap == 0) {
        return NULL;
    }
    for (i = str_hash(key) & (m->cap - 1); m->key[i] != NULL;
         i = (i + 1) & (m->cap - 1)) {
        if (strcmp(m->key[i], key) == 0) {
            return &m->val[i];
        }
    }
    if (!add) {
        return NULL;
    }
    m->key[i] = key;
    m->n++;
    return &m->val[i];
}

static void *smap_get(struct smap *m, const char *key)
{
    void **v = smap_find(m, key, false);

    return v != NULL ? *v : NULL;
}

static void smap_init(struct smap *m, struct fl_arena *a)
{
    memset(m, 0, sizeof(*m));
    m->a = a;
}

/* ------------------------------------------------------------ bin-packing */

/* Candidates in plan order: partition (spec id, key), then size
 * descending, then path, so the plan never depends on input order. */
static int cand_cmp(const void *x, const void *y)
{
    const struct mnt_cfile *a = *(const struct mnt_cfile *const *)x;
    const struct mnt_cfile *b = *(const struct mnt_cfile *const *)y;
    int                     c;

    if (a->spec_id != b->spec_id) {
        return a->spec_id < b->spec_id ? -1 : 1;
    }
    c = strcmp(a->partition_key, b->partition_key);
    if (c != 0) {
        return c;
    }
    if (a->size != b->size) {
        return a->size > b->size ? -1 : 1;
    }
    return strcmp(a->path, b->path);
}

static bool same_partition(const struct mnt_cfile *a,
                           const struct mnt_cfile *b)
{
    return a->spec_id == b->spec_id &&
           strcmp(a->partition_key, b->partition_key) == 0;
}

/*
 * First-fit decreasing of the `n` candidates of one partition (sorted)
 * into bins of `target` bytes, appended to `bins` (*nbins).  `binof` is
 * scratch for n entries: a first pass places the files, a second fills
 * the bins' file arrays at their exact sizes.
 */
static void pack_partition(struct fl_arena *a, const struct mnt_cfile **c,
                           int n, const struct mnt_cparams *p,
                           struct mnt_cgroup *bins, int *nbins, int *binof)
{
    struct mnt_cgroup *g;
    int                first = *nbins;
    int                i;
    int                k;

    for (i = 0; i < n; i++) {
        for (k = first; k < *nbins; k++) {
            if (bins[k].bytes + c[i]->size <= p->target) {
                break;
            }
        }
        g = &bins[k];
        if (k == *nbins) {
            (*nbins)++;
            g->spec_id = c[i]->spec_id;
            g->partition_key = c[i]->partition_key;
            g->partition = c[i]->partition;
        }
        binof[i] = k;
        g->nfiles++;
        g->bytes += c[i]->size;
        g->deletes = g->deletes ||
                     (p->delete_threshold > 0 &&
                      c[i]->deletes >= p->delete_threshold);
    }
    for (k = first; k < *nbins; k++) {
        bins[k].files = fl_alloc(a, (size_t)bins[k].nfiles *
                                        sizeof(*bins[k].files));
        bins[k].nfiles = 0;
    }
    for (i = 0; i < n; i++) {
        g = &bins[binof[i]];
        g->files[g->nfiles++] = c[i];
    }
}

/*
 * Plan the compaction groups of the live data files `files` (n of them)
 * under `p`: candidates are files under 75 % of the target size, over
 * 180 % of it (to be split), or with at least p->delete_threshold deletes;
 * per partition they are bin-packed first-fit decreasing (size descending,
 * then path) into bins of at most p->target bytes (a larger file gets a
 * bin of its own).  A bin becomes a group when it has more than one file
 * and at least p->min_input_files, or holds a delete-heavy file, or is
 * over 180 % of the target (a file to split), as Iceberg's
 * RewriteDataFiles keeps them.  Pure: the result depends only on the
 * files as a set.  Groups and their file arrays live in `a`.
 */
int mnt_compaction_pack(struct fl_arena *a, const struct mnt_cfile *files,
                        int n, const struct mnt_cparams *p,
                        struct mnt_cgroup **out, int *candidates)
{
    const struct mnt_cfile **c = fl_alloc(a, (size_t)(n + 1) * sizeof(*c));
    int                     *binof = fl_alloc(a, (size_t)(n + 1) *
                                                 sizeof(*binof));
    struct mnt_cgroup       *bins;
    int64_t                  min = (int64_t)((double)p->target * 0.75);
    int64_t                  max = (int64_t)((double)p->target * 1.8);
    int                      nc = 0;
    int                      nbins = 0;
    int                      ngroups = 0;
    int                      i;
    int                      j;

    for (i = 0; i < n; i++) {
        if (files[i].size < min || files[i].size > max ||
            (p->delete_threshold > 0 &&
             files[i].deletes >= p->delete_threshold)) {
            c[nc++] = &files[i];
        }
    }
    *candidates = nc;
    qsort(c, (size_t)nc, sizeof(*c), cand_cmp);
    bins = fl_alloc(a, (size_t)(nc + 1) * sizeof(*bins));
    for (i = 0; i < nc; i = j) {
        for (j = i + 1; j < nc && same_partition(c[i], c[j]); j++) {
        }
        pack_partition(a, c + i, j - i, p, bins, &nbins, binof);
    }
    for (i = 0; i < nbins; i++) {
        if ((bins[i].nfiles > 1 && bins[i].nfiles >= p->min_input_files) ||
            bins[i].deletes || bins[i].bytes > max) {
            bins[ngroups++] = bins[i];
        }
    }
    *out = bins;
    return ngroups;
}

/* ------------------------------------------------- the current snapshot */

/* The snapshot `id` of `meta`, or NULL. */
static json_t *snapshot_of(json_t *meta, int64_t id)
{
    json_t *s;
    size_t  i;

    json_array_foreach(json_object_get(meta, "snapshots"), i, s) {
        if (json_integer_value(json_object_get(s, "snapshot-id")) == id) {
            return s;
        }
    }
    return NULL;
}

/* The current snapshot's id, or -1 (v1 tables write -1 for none). */
static int64_t current_id(json_t *meta)
{
    json_t *v = json_object_get(meta, "current-snapshot-id");

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static const char *operation(json_t *snap)
{
    const char *op = json_string_value(
        json_object_get(json_object_get(snap, "summary"), "operation"));

    return op != NULL ? op : "overwrite";   /* Java's default */
}

/* One manifest of a manifest list, as planning and settling need it. */
struct mref {
    const char *path;
    int32_t     spec_id;
    int32_t     content;            /* 0 data, 1 deletes */
    int64_t     seq;
};

struct mrefs {
    struct fl_arena *a;
    struct mref     *v;
    size_t           n;
    size_t           cap;
};

static bool on_manifest(void *ctx, const struct cat_manifest_entry *e)
{
    struct mrefs *m = ctx;
    struct mref  *bigger;

    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        bigger = fl_alloc(m->a, m->cap * sizeof(*bigger));
        if (m->n > 0) {
            memcpy(bigger, m->v, m->n * sizeof(*bigger));
        }
        m->v = bigger;
    }
    m->v[m->n].path = fl_strdup(m->a, e->path);
    m->v[m->n].spec_id = e->spec_id;
    m->v[m->n].content = e->content;
    m->v[m->n].seq = e->sequence_number;
    m->n++;
    return true;
}

/* The manifests of snapshot `snap`: its manifest list, or the v1
 * "manifests" array (data manifests, spec from their headers). */
static bool snapshot_manifests(struct fl_arena *a, json_t *snap,
                               struct mrefs *out, struct fl_err *err)
{
    const char *list = json_string_value(json_object_get(snap,
                                                         "manifest-list"));
    struct sto *s;
    json_t     *v;
    size_t      i;
    struct cat_manifest_entry e;

    memset(out, 0, sizeof(*out));
    out->a = a;
    if (list != NULL) {
        s = cat_sto(list, err);
        return s != NULL && cat_manifest_list_read(s, list, on_manifest, out,
                                                   err);
    }
    memset(&e, 0, sizeof(e));
    e.spec_id = -1;
    json_array_foreach(json_object_get(snap, "manifests"), i, v) {
        e.path = json_string_value(v);
        if (e.path != NULL) {
            on_manifest(out, &e);
        }
    }
    return true;
}

/* ------------------------------------------------------------- planning */

/* A delete file of the current snapshot. */
struct dfile {
    int32_t     content;            /* 1 position, 2 equality */
    int32_t     spec_id;
    const char *key;
    const char *ref;                /* referenced_data_file, or NULL */
    int64_t     seq;
};

/* Reading the current snapshot for planning. */
struct scan {
    struct fl_arena  *a;
    const struct mref *m;           /* the manifest being read */
    struct smap       parts;        /* "spec|key" -> its partition JSON */
    struct mnt_cfile *files;
    int64_t          *fseq;         /* data sequence number per file */
    size_t            nfiles;
    size_t            capfiles;
    struct dfile     *dels;
    size_t            ndels;
    size_t            capdels;
};

static const char *part_id(struct fl_arena *a, int32_t spec, const char *key)
{
    return fl_sprintf(a, "%" PRId32 "|%s", spec, key);
}

/* The partition JSON of (spec, key), copied once per partition. */
static json_t *part_json(struct scan *sc, int32_t spec,
                         const struct cat_data_file *f)
{
    const char *id = part_id(sc->a, spec, f->partition_key);
    void      **v = smap_find(&sc->parts, id, true);

    if (*v == NULL) {
        *v = fl_arena_own_json(sc->a, json_deep_copy(f->partition));
    }
    return *v;
}

static void data_add(struct scan *sc, int32_t spec, int64_t seq,
                     const struct cat_data_file *f)
{
    struct mnt_cfile *nf;
    int64_t          *ns;
    struct mnt_cfile *c;

    if (sc->nfiles == sc->capfiles) {
        sc->capfiles = sc->capfiles ? sc->capfiles * 2 : 256;
        nf = fl_alloc(sc->a, sc->capfiles * sizeof(*nf));
        ns = fl_alloc(sc->a, sc->capfiles * sizeof(*ns));
        if (sc->nfiles > 0) {
            memcpy(nf, sc->files, sc->nfiles * sizeof(*nf));
            memcpy(ns, sc->fseq, sc->nfiles * sizeof(*ns));
        }
        sc->files = nf;
        sc->fseq = ns;
    }
    c = &sc->files[sc->nfiles];
    c->path = fl_strdup(sc->a, f->path);
    c->size = f->file_size;
    c->spec_id = spec;
    c->partition_key = fl_strdup(sc->a, f->partition_key);
    c->partition = part_json(sc, spec, f);
    c->deletes = 0;
    sc->fseq[sc->nfiles++] = seq;
}

static void delete_add(struct scan *sc, int32_t spec, int64_t seq,
                       const struct cat_data_file *f)
{
    struct dfile *nd;
    struct dfile *d;

    if (sc->ndels == sc->capdels) {
        sc->capdels = sc->capdels ? sc->capdels * 2 : 64;
        nd = fl_alloc(sc->a, sc->capdels * sizeof(*nd));
        if (sc->ndels > 0) {
            memcpy(nd, sc->dels, sc->ndels * sizeof(*nd));
        }
        sc->dels = nd;
    }
    d = &sc->dels[sc->ndels++];
    d->content = f->content;
    d->spec_id = spec;
    d->key = fl_strdup(sc->a, f->partition_key);
    d->ref = f->referenced_data_file != NULL
                 ? fl_strdup(sc->a, f->referenced_data_file) : NULL;
    d->seq = seq;
}

/* One manifest entry: live data and delete files, with the spec and the
 * sequence number they inherit from the manifest list when null. */
static bool on_entry(void *ctx, const struct cat_data_file *f)
{
    struct scan *sc = ctx;
    int32_t      spec = sc->m->spec_id >= 0 ? sc->m->spec_id : f->spec_id;
    int64_t      seq = f->sequence_number >= 0 ? f->sequence_number
                                               : sc->m->seq;

    if (f->status == 2) {
        return true;                /* deleted in that snapshot */
    }
    if (f->content == 0) {
        data_add(sc, spec, seq, f);
    } else {
        delete_add(sc, spec, seq, f);
    }
    return true;
}

/* The indexes of the data files of one partition. */
struct ilist {
    size_t *v;
    size_t  n;
    size_t  cap;
};

static void ilist_add(struct fl_arena *a, struct ilist *l, size_t i)
{
    size_t *bigger;

    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        bigger = fl_alloc(a, l->cap * sizeof(*bigger));
        if (l->n > 0) {
            memcpy(bigger, l->v, l->n * sizeof(*bigger));
        }
        l->v = bigger;
    }
    l->v[l->n++] = i;
}

/*
 * Count the delete files that apply to each data file: a position delete
 * file naming its data file (referenced_data_file) applies to that file;
 * other position deletes apply to the data files of their partition with
 * a data sequence number not above theirs, equality deletes to those
 * strictly below (the spec's scoping rules).
 */
static void deletes_count(struct scan *sc)
{
    struct smap   by_path;          /* path -> index + 1 */
    struct smap   by_part;          /* "spec|key" -> struct ilist */
    struct dfile *d;
    struct ilist *l;
    void        **v;
    size_t        i;
    size_t        k;

    if (sc->ndels == 0) {
        return;
    }
    smap_init(&by_path, sc->a);
    smap_init(&by_part, sc->a);
    for (i = 0; i < sc->nfiles; i++) {
        *smap_find(&by_path, sc->files[i].path, true) = (void *)(i + 1);
        v = smap_find(&by_part, part_id(sc->a, sc->files[i].spec_id,
                                        sc->files[i].partition_key), true);
        if (*v == NULL) {
            *v = fl_alloc(sc->a, sizeof(struct ilist));
        }
        ilist_add(sc->a, *v, i);
    }
    for (k = 0; k < sc->ndels; k++) {
        d = &sc->dels[k];
        if (d->content == 1 && d->ref != NULL) {
            i = (size_t)smap_get(&by_path, d->ref);
            if (i > 0 && sc->fseq[i - 1] <= d->seq) {
                sc->files[i - 1].deletes++;
            }
            continue;
        }
        l = smap_get(&by_part, part_id(sc->a, d->spec_id, d->key));
        for (i = 0; l != NULL && i < l->n; i++) {
            if (d->content == 1 ? sc->fseq[l->v[i]] <= d->seq
                                : sc->fseq[l->v[i]] < d->seq) {
                sc->files[l->v[i]].deletes++;
            }
        }
    }
}

/* Read every manifest of `snap` into `sc`. */
static bool scan_snapshot(struct scan *sc, json_t *snap, struct fl_err *err)
{
    struct mrefs ms;
    struct sto  *s;
    size_t       i;

    if (!snapshot_manifests(sc->a, snap, &ms, err)) {
        return false;
    }
    for (i = 0; i < ms.n; i++) {
        sc->m = &ms.v[i];
        s = cat_sto(ms.v[i].path, err);
        if (s == NULL ||
            !cat_manifest_read(s, ms.v[i].path, on_entry, sc, err)) {
            return false;
        }
    }
    deletes_count(sc);
    return true;
}

/* ------------------------------------------------------- the predicate */

/* A Spark SQL identifier: `name` with backticks doubled. */
static void sql_ident(struct fl_buf *b, const char *name)
{
    fl_buf_append(b, "`", 1);
    for (; *name != '\0'; name++) {
        fl_buf_append(b, name, 1);
        if (*name == '`') {
            fl_buf_append(b, "`", 1);
        }
    }
    fl_buf_append(b, "`", 1);
}

/* `prefix`, then a Spark SQL string literal of `s` (quotes and
 * backslashes escaped with a backslash). */
static void sql_string(struct fl_buf *b, const char *prefix, const char *s)
{
    fl_buf_printf(b, "%s'", prefix);
    for (; *s != '\0'; s++) {
        if (*s == '\'' || *s == '\\') {
            fl_buf_append(b, "\\", 1);
        }
        fl_buf_append(b, s, 1);
    }
    fl_buf_append(b, "'", 1);
}

/* The top-level column `id` of the current schema of `meta`, or NULL. */
static json_t *column_of(json_t *meta, json_int_t id)
{
    json_int_t cur = json_integer_value(json_object_get(meta,
                                                        "current-schema-id"));
    json_t    *sch;
    json_t    *f;
    size_t     i;
    size_t     k;

    json_array_foreach(json_object_get(meta, "schemas"), i, sch) {
        if (json_integer_value(json_object_get(sch, "schema-id")) != cur) {
            continue;
        }
        json_array_foreach(json_object_get(sch, "fields"), k, f) {
            if (json_integer_value(json_object_get(f, "id")) == id) {
                return f;
            }
        }
    }
    return NULL;
}

/* "YYYY-MM-DD" plus one day, or false. */
static bool next_day(const char *day, char out[16])
{
    struct tm tm;
    time_t    t;
    char     *end;

    memset(&tm, 0, sizeof(tm));
    end = strptime(day, "%Y-%m-%d", &tm);
    if (end == NULL || *end != '\0') {
        return false;
    }
    t = timegm(&tm) + 86400;
    return gmtime_r(&t, &tm) != NULL &&
           strftime(out, 16, "%Y-%m-%d", &tm) == 10;
}

/* The predicate of one partition field `sf` = `v`; false: none exact. */
static bool field_predicate(struct fl_buf *b, json_t *meta, json_t *sf,
                            json_t *v)
{
    const char *tr = json_string_value(json_object_get(sf, "transform"));
    json_t     *col = column_of(meta, json_integer_value(
                                          json_object_get(sf, "source-id")));
    const char *name = json_string_value(json_object_get(col, "name"));
    const char *type = json_string_value(json_object_get(col, "type"));
    char        next[16];

    if (tr == NULL || name == NULL || type == NULL) {
        return false;
    }
    sql_ident(b, name);
    if (json_is_null(v)) {
        fl_buf_printf(b, " IS NULL");
        return true;
    }
    if (strcmp(tr, "identity") == 0) {
        if (strcmp(type, "string") == 0 && json_is_string(v)) {
            sql_string(b, " = ", json_string_value(v));
        } else if ((strcmp(type, "int") == 0 || strcmp(type, "long") == 0) &&
                   json_is_integer(v)) {
            fl_buf_printf(b, " = %" JSON_INTEGER_FORMAT, json_integer_value(v));
        } else if (strcmp(type, "boolean") == 0 && json_is_boolean(v)) {
            fl_buf_printf(b, " = %s", json_is_true(v) ? "true" : "false");
        } else if (strcmp(type, "date") == 0 && json_is_string(v)) {
            sql_string(b, " = DATE ", json_string_value(v));
        } else {
            return false;
        }
        return true;
    }
    if (strcmp(tr, "day") != 0 || !json_is_string(v)) {
        return false;
    }
    if (strcmp(type, "date") == 0) {
        sql_string(b, " = DATE ", json_string_value(v));
        return true;
    }
    if (strcmp(type, "timestamptz") != 0 ||
        !next_day(json_string_value(v), next)) {
        return false;
    }
    fl_buf_printf(b, " >= TIMESTAMP '%s 00:00:00+00:00' AND ",
                  json_string_value(v));
    sql_ident(b, name);
    fl_buf_printf(b, " < TIMESTAMP '%s 00:00:00+00:00'", next);
    return true;
}

/*
 * The Spark SQL predicate selecting exactly the partition `part` of spec
 * `spec_id` (for rewrite_data_files' `where`): identity partitions on
 * string, int, long, boolean and date columns, day partitions on date and
 * timestamptz columns, nulls; NULL when a field is none of these (the
 * executor then scopes the rewrite itself).  Arena string.
 */
static const char *where_of(struct fl_arena *a, json_t *meta,
                            int32_t spec_id, json_t *part)
{
    json_t       *spec = NULL;
    json_t       *sf;
    json_t       *s;
    struct fl_buf b;
    size_t        i;
    bool          ok = true;
    int           n = 0;

    json_array_foreach(json_object_get(meta, "partition-specs"), i, s) {
        if (json_integer_value(json_object_get(s, "spec-id")) == spec_id) {
            spec = json_object_get(s, "fields");
        }
    }
    fl_buf_init(&b, a, 0);
    json_array_foreach(spec, i, sf) {
        const char *tr = json_string_value(json_object_get(sf, "transform"));
        const char *nm = json_string_value(json_object_get(sf, "name"));

        if (tr != NULL && strcmp(tr, "void") == 0) {
            continue;
        }
        if (n++ > 0) {
            fl_buf_printf(&b, " AND ");
        }
        ok = ok && nm != NULL && json_object_get(part, nm) != NULL &&
             field_predicate(&b, meta, sf, json_object_get(part, nm));
    }
    return ok && spec != NULL && n > 0 ? b.p : NULL;
}

/* ------------------------------------------------------------- recording */

/* The payload of group `g`.  Returns a new reference. */
static json_t *group_json(struct fl_arena *a, json_t *meta,
                          const struct mnt_cgroup *g, int64_t target,
                          int64_t snapshot_id)
{
    json_t     *files = json_array();
    json_t     *v;
    const char *where = where_of(a, meta, g->spec_id, g->partition);
    int         i;

    for (i = 0; i < g->nfiles; i++) {
        json_array_append_new(files, json_string(g->files[i]->path));
    }
    v = json_pack("{so si so sI sI sI}",
                  "partition", g->partition != NULL
                                   ? json_incref(g->partition)
                                   : json_object(),
                  "specId", (int)g->spec_id, "files", files,
                  "bytes", (json_int_t)g->bytes,
                  "targetFileSize", (json_int_t)target,
                  "snapshotId", (json_int_t)snapshot_id);
    if (where != NULL) {
        json_object_set_new(v, "where", json_string(where));
    }
    return v;
}

/*
 * The files of the table's pending compaction jobs, as a set.  A job the
 * table's history settles (mnt_judge_job) is not pending: its files are
 * free again, and unless `dry_run` it is marked done or obsolete here, as
 * after a commit (which a daemon with maintenance off does not do).
 */
static bool pending_files(struct cat_ctx *cx, int64_t table_id, json_t *meta,
                          bool dry_run, struct smap *out,
                          struct fl_err *err)
{
    struct mnt_judge *j = mnt_judge_new(cx, meta);
    struct db_rows   *r;
    json_t           *payload;
    json_t           *f;
    enum mnt_cjudge   how;
    int64_t           snap;
    size_t            k;
    int               i;

    smap_init(out, cx->a);
    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, &CJ_PENDING,
                 DB_ARGS(cat_i64(cx->a, table_id), cx->realm), cx->a, &r,
                 err)) {
        return false;
    }
    for (i = 0; i < r->nrows; i++) {
        payload = cat_json_parse(cx->a, db_val(r, i, 1));
        if (!mnt_judge_job(j, payload, &how, &snap, err)) {
            return false;
        }
        if (how != MNT_CJ_PENDING) {
            if (!dry_run &&
                !mnt_compaction_mark(cx, strtoll(db_val(r, i, 0), NULL, 10),
                                     how, snap, err)) {
                return false;
            }
            continue;
        }
        json_array_foreach(json_object_get(payload, "files"), k, f) {
            if (json_is_string(f)) {
                *smap_find(out, json_string_value(f), true) = (void *)1;
            }
        }
    }
    return true;
}

/* What one planning run works with. */
struct plan {
    struct cat_ctx          *cx;
    const struct mnt_table  *t;
    json_t                  *meta;
    int64_t                  snapshot_id;
    struct mnt_cparams       p;
    struct scan              sc;
    bool                     dry_run;
};

/* Pack the files not already pending and record the groups (unless a dry
 * run) with their job ids in `groups`. */
static bool plan_record(struct plan *pl, json_t *groups,
                        struct mnt_figures *out, struct fl_err *err)
{
    struct cat_ctx    *cx = pl->cx;
    struct smap        pend;
    struct mnt_cfile  *free_files;
    struct mnt_cgroup *g;
    struct db_rows    *r;
    json_t            *v;
    int                nfree = 0;
    int                ng;
    int                cand;
    int                i;
    size_t             k;

    if (!pending_files(cx, pl->t->table_id, pl->meta, pl->dry_run, &pend,
                       err)) {
        return false;
    }
    free_files = fl_alloc(cx->a, (pl->sc.nfiles + 1) * sizeof(*free_files));
    for (k = 0; k < pl->sc.nfiles; k++) {
        if (smap_get(&pend, pl->sc.files[k].path) == NULL) {
            free_files[nfree++] = pl->sc.files[k];
        }
    }
    ng = mnt_compaction_pack(cx->a, free_files, nfree, &pl->p, &g, &cand);
    for (i = 0; i < ng; i++) {
        v = group_json(cx->a, pl->meta, &g[i], pl->p.target,
                       pl->snapshot_id);
        json_array_append_new(groups, v);
        out->files_planned += g[i].nfiles;
        out->bytes_planned += g[i].bytes;
        if (pl->dry_run) {
            continue;
        }
        if (!db_exec(cx->conn, &CJ_INSERT,
                     DB_ARGS(cx->realm, cat_i64(cx->a, pl->t->catalog_id),
                             cat_i64(cx->a, pl->t->table_id),
                             cat_json_text(cx->a, v)),
                     cx->a, &r, err)) {
            return false;
        }
        json_object_set_new(v, "jobId",
                            json_integer(strtoll(db_val(r, 0, 0), NULL, 10)));
    }
    json_object_set_new(out->details, "candidates", json_integer(cand));
    json_object_set_new(out->details, "alreadyPending",
                        json_integer((json_int_t)(pl->sc.nfiles -
                                                  (size_t)nfree)));
    return true;
}

/* Record the plan: in one transaction holding the table's planning lock,
 * so two planners never put a file into two jobs. */
static bool plan_commit(struct plan *pl, json_t *groups,
                        struct mnt_figures *out, struct fl_err *err)
{
    struct cat_ctx *cx = pl->cx;

    if (cat_conn(cx, err) == NULL) {
        return false;
    }
    if (pl->dry_run) {
        return plan_record(pl, groups, out, err);
    }
    if (!db_begin(cx->conn, err) ||
        !db_exec(cx->conn, &CJ_PLAN_LOCK,
                 DB_ARGS(cat_i64(cx->a, pl->t->table_id & 0x7fffffff)),
                 cx->a, NULL, err) ||
        !plan_record(pl, groups, out, err) || !db_commit(cx->conn, err)) {
        db_rollback(cx->conn);
        return false;
    }
    return true;
}

/*
 * Plan the compaction of table `t` under configuration `c`: read its
 * current snapshot's manifests, settle the pending jobs the history
 * settles, pick and bin-pack the candidates of each partition
 * (mnt_compaction_pack) leaving out files still in a pending job, and
 * record each group as a queued 'compaction' job whose payload
 * is {"partition", "specId", "files", "bytes", "targetFileSize",
 * "snapshotId", "where"?}.  A dry run records nothing.  `out` gets the
 * files and bytes examined (live data files) and planned, and details
 * {"targetFileSize", "minInputFiles", "deleteFileThreshold", "snapshotId",
 * "candidates", "alreadyPending", "groups": [payload + "jobId"]} (arena).
 * Errors: the manifests' (404, 500), the database's.  Opens and commits
 * its own transaction on cx's connection.
 */
bool mnt_plan_compaction(struct cat_ctx *cx, const struct mnt_table *t,
                         const struct mnt_config *c, bool dry_run,
                         struct mnt_figures *out, struct fl_err *err)
{
    struct plan      pl;
    struct mnt_table row;
    json_t          *snap;
    json_t          *groups = json_array();
    size_t           i;

    memset(&pl, 0, sizeof(pl));
    memset(out, 0, sizeof(*out));
    out->details = fl_arena_own_json(cx->a, json_object());
    json_object_set_new(out->details, "groups", groups);
    pl.cx = cx;
    pl.t = t;
    pl.dry_run = dry_run;
    pl.p.target = c->target_file_size.v > 0 ? c->target_file_size.v : 1;
    pl.p.min_input_files = c->min_input_files.v;
    pl.p.delete_threshold = c->delete_file_threshold.v;
    json_object_set_new(out->details, "targetFileSize",
                        json_integer(pl.p.target));
    json_object_set_new(out->details, "minInputFiles",
                        json_integer(pl.p.min_input_files));
    json_object_set_new(out->details, "deleteFileThreshold",
                        json_integer(pl.p.delete_threshold));
    if (!mnt_table_load(cx, t->table_id, &row, &pl.meta, err)) {
        return false;
    }
    pl.snapshot_id = current_id(pl.meta);
    snap = snapshot_of(pl.meta, pl.snapshot_id);
    if (snap == NULL) {
        return true;                /* no data yet */
    }
    json_object_set_new(out->details, "snapshotId",
                        json_integer(pl.snapshot_id));
    pl.sc.a = cx->a;
    smap_init(&pl.sc.parts, cx->a);
    if (!scan_snapshot(&pl.sc, snap, err)) {
        return false;
    }
    out->files_examined = (int64_t)pl.sc.nfiles;
    for (i = 0; i < pl.sc.nfiles; i++) {
        out->bytes_examined += pl.sc.files[i].size;
    }
    return plan_commit(&pl, groups, out, err);
}

/* ------------------------------------------------------------- settling */

/* Live data file paths of one manifest, cached across snapshots. */
struct mlive {
    const char **paths;
    size_t       n;
    size_t       cap;
    struct fl_arena *a;
};

static bool on_live(void *ctx, const struct cat_data_file *f)
{
    struct mlive *m = ctx;
    const char  **bigger;

    if (f->status == 2 || f->content != 0) {
        return true;
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        bigger = fl_alloc(m->a, m->cap * sizeof(*bigger));
        if (m->n > 0) {
            memcpy(bigger, m->paths, m->n * sizeof(*bigger));
        }
        m->paths = bigger;
    }
    m->paths[m->n++] = fl_strdup(m->a, f->path);
    return true;
}

struct mnt_judge {
    struct cat_ctx *cx;
    json_t         *meta;
    struct smap     manifests;      /* path -> struct mlive */
    struct smap     lives;          /* snapshot id -> struct smap (a set) */
};

/*
 * A judge of compaction jobs against table metadata `meta` (borrowed):
 * it reads manifests only when a job's files may have gone, and caches
 * what it read for the next job.  Arena memory.
 */
struct mnt_judge *mnt_judge_new(struct cat_ctx *cx, json_t *meta)
{
    struct mnt_judge *j = fl_alloc(cx->a, sizeof(*j));

    j->cx = cx;
    j->meta = meta;
    smap_init(&j->manifests, cx->a);
    smap_init(&j->lives, cx->a);
    return j;
}

/* The live data files of `snap`, as a set; NULL on error. */
static struct smap *live_of(struct mnt_judge *j, json_t *snap,
                            struct fl_err *err)
{
    struct fl_arena *a = j->cx->a;
    const char      *id = cat_i64(a, json_integer_value(
                                         json_object_get(snap,
                                                         "snapshot-id")));
    struct smap     *set = smap_get(&j->lives, id);
    struct mrefs     ms;
    struct mlive    *ml;
    struct sto      *s;
    size_t           i;
    size_t           k;

    if (set != NULL) {
        return set;
    }
    if (!snapshot_manifests(a, snap, &ms, err)) {
        return NULL;
    }
    set = fl_alloc(a, sizeof(*set));
    smap_init(set, a);
    for (i = 0; i < ms.n; i++) {
        if (ms.v[i].content != 0) {
            continue;
        }
        ml = smap_get(&j->manifests, ms.v[i].path);
        if (ml == NULL) {
            ml = fl_alloc(a, sizeof(*ml));
            ml->a = a;
            s = cat_sto(ms.v[i].path, err);
            if (s == NULL ||
                !cat_manifest_read(s, ms.v[i].path, on_live, ml, err)) {
                return NULL;
            }
            *smap_find(&j->manifests, ms.v[i].path, true) = ml;
        }
        for (k = 0; k < ml->n; k++) {
            *smap_find(set, ml->paths[k], true) = (void *)1;
        }
    }
    *smap_find(&j->lives, id, true) = set;
    return set;
}

static json_t *parent_of(json_t *meta, json_t *snap)
{
    json_t *p = json_object_get(snap, "parent-snapshot-id");

    return json_is_integer(p) ? snapshot_of(meta, json_integer_value(p))
                              : NULL;
}

/* Only appends from `planned` (exclusive) up to `cur`: no file can have
 * gone, and nothing needs reading. */
static bool only_appends(json_t *meta, json_t *cur, int64_t planned)
{
    int steps;

    for (steps = 0; cur != NULL && steps <= MAX_WALK; steps++) {
        if (json_integer_value(json_object_get(cur, "snapshot-id")) ==
            planned) {
            return true;
        }
        if (strcmp(operation(cur), "append") != 0) {
            return false;
        }
        cur = parent_of(meta, cur);
    }
    return false;
}

/*
 * Where the files of `missing` (n, not live in `cur`) went: walking back
 * from `cur`, a snapshot S removed a file when S's parent still had it.
 * *by is the newest replace snapshot that removed one; false in *all_replace
 * when something else removed one, or one could not be placed within
 * MAX_WALK snapshots after `planned`.
 */
static bool attribute(struct mnt_judge *j, json_t *cur, int64_t planned,
                      const char **missing, size_t n, bool *all_replace,
                      int64_t *by, struct fl_err *err)
{
    bool        *placed = fl_alloc(j->cx->a, (n + 1) * sizeof(*placed));
    size_t       left = n;
    size_t       i;
    int          steps;
    json_t      *parent;
    struct smap *live;

    *all_replace = true;
    *by = -1;
    for (steps = 0; left > 0 && cur != NULL && steps < MAX_WALK; steps++) {
        if (json_integer_value(json_object_get(cur, "snapshot-id")) ==
            planned) {
            break;
        }
        parent = parent_of(j->meta, cur);
        live = parent != NULL ? live_of(j, parent, err) : NULL;
        if (parent != NULL && live == NULL) {
            return false;
        }
        for (i = 0; i < n && live != NULL; i++) {
            if (placed[i] || smap_get(live, missing[i]) == NULL) {
                continue;
            }
            placed[i] = true;
            left--;
            if (strcmp(operation(cur), "replace") != 0) {
                *all_replace = false;
            } else if (*by < 0) {
                *by = json_integer_value(json_object_get(cur,
                                                         "snapshot-id"));
            }
        }
        cur = parent;
    }
    *all_replace = *all_replace && left == 0 && *by >= 0;
    return true;
}

/*
 * What became of the job with `payload` ({"files", "snapshotId"}): still
 * pending while all its files are live in the current snapshot; done when
 * the ones gone were removed by replace snapshots committed after the
 * planning snapshot (*snapshot_id: the newest of them); obsolete when
 * anything else removed one.  Errors: reading manifests.
 */
bool mnt_judge_job(struct mnt_judge *j, json_t *payload,
                   enum mnt_cjudge *out, int64_t *snapshot_id,
                   struct fl_err *err)
{
    json_t      *files = json_object_get(payload, "files");
    int64_t      planned = json_integer_value(json_object_get(payload,
                                                              "snapshotId"));
    json_t      *cur = snapshot_of(j->meta, current_id(j->meta));
    struct smap *live;
    const char **missing;
    const char  *p;
    size_t       n = 0;
    size_t       i;
    bool         all_replace;

    *out = MNT_CJ_PENDING;
    *snapshot_id = -1;
    if (cur != NULL && only_appends(j->meta, cur, planned)) {
        return true;
    }
    live = cur != NULL ? live_of(j, cur, err) : NULL;
    if (cur != NULL && live == NULL) {
        return false;
    }
    missing = fl_alloc(j->cx->a, (json_array_size(files) + 1) *
                                     sizeof(*missing));
    for (i = 0; i < json_array_size(files); i++) {
        p = json_string_value(json_array_get(files, i));
        if (p != NULL && (live == NULL || smap_get(live, p) == NULL)) {
            missing[n++] = p;
        }
    }
    if (n == 0) {
        return true;
    }
    if (!attribute(j, cur, planned, missing, n, &all_replace, snapshot_id,
                   err)) {
        return false;
    }
    *out = all_replace && n == json_array_size(files) ? MNT_CJ_DONE
                                                      : MNT_CJ_OBSOLETE;
    return true;
}

/*
 * Mark compaction job `job_id` done (result {"snapshotId"}) or obsolete,
 * if it is still queued or running, whoever holds it.  Autocommit on cx's
 * connection (or the caller's transaction).  Errors: the database's.
 */
bool mnt_compaction_mark(struct cat_ctx *cx, int64_t job_id,
                         enum mnt_cjudge how, int64_t snapshot_id,
                         struct fl_err *err)
{
    json_t     *res = how == MNT_CJ_DONE
                          ? json_pack("{sI}", "snapshotId",
                                      (json_int_t)snapshot_id)
                          : json_pack("{ss}", "reason",
                                      "its files were removed by another "
                                      "commit");
    const char *text = cat_json_text(cx->a, res);

    json_decref(res);
    return cat_conn(cx, err) != NULL &&
           db_exec(cx->conn, &CJ_SETTLE,
                   DB_ARGS(cat_i64(cx->a, job_id),
                           how == MNT_CJ_DONE ? "done" : "obsolete", text),
                   cx->a, NULL, err);
}

/*
 * After a commit to table `table_id` (cx->realm) whose metadata is now
 * `meta`: each pending compaction job whose files a replace snapshot
 * committed since its planning removed becomes done ({"snapshotId"} in
 * its result); one that lost a file otherwise becomes obsolete.  Cheap
 * when nothing is pending or only appends happened.  Autocommit on cx's
 * connection.  Errors: the database's, reading manifests.
 */
bool mnt_compaction_settle(struct cat_ctx *cx, int64_t table_id,
                           json_t *meta, struct fl_err *err)
{
    struct db_rows   *r;
    struct mnt_judge *j;
    enum mnt_cjudge   how;
    int64_t           snap;
    int               i;

    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, &CJ_PENDING,
                 DB_ARGS(cat_i64(cx->a, table_id), cx->realm), cx->a, &r,
                 err)) {
        return false;
    }
    if (r->nrows == 0) {
        return true;
    }
    j = mnt_judge_new(cx, meta);
    for (i = 0; i < r->nrows; i++) {
        if (!mnt_judge_job(j, cat_json_parse(cx->a, db_val(r, i, 1)), &how,
                           &snap, err)) {
            return false;
        }
        if (how != MNT_CJ_PENDING &&
            !mnt_compaction_mark(cx, strtoll(db_val(r, i, 0), NULL, 10),
                                 how, snap, err)) {
            return false;
        }
    }
    return true;
}
