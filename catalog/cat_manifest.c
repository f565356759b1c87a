/*
 * cat_manifest.c
 *
 * Reads Iceberg manifest lists and manifests (notes/ICEBERG.md sections 4.2
 * and 4.3): Avro object container files fetched whole from the object store,
 * decoded by Apache Avro C (libavro) and handed to a callback one record at
 * a time, with only the fields the catalog needs (paths, counts, sequence
 * numbers, snapshot ids).  Fields are matched by name, so v1, v2 and v3
 * files all read; what a version lacks gets the default documented in
 * catalog_int.h.  Inheritance (null snapshot ids and sequence numbers) is
 * left to the caller, which knows the manifest list row.
 *
 * libavro decodes all of it.  The header's key-value metadata is read first,
 * as the map<bytes> value the container format defines, because libavro's
 * file reader exposes neither partition-spec-id nor the name of a codec it
 * rejects; the records then come from avro_file_reader over an fmemopen
 * stream of the fetched bytes.  What is judged here, none of it by decoding
 * bytes: the size cap, the magic, the codec, the writer's schema before any
 * record is read (required fields and their types, and a nesting limit, as
 * libavro's decoder recurses once per level of the data), and the values
 * handed out (NUL bytes in paths, int ranges, status).
 *
 * NB: libavro 1.11.1 trusts lengths in the data and leaks on corrupt input,
 * so it allocates through avro_alloc below, which refuses what no manifest
 * can need and frees what a failed read left behind.  Two of its faults
 * remain, for libavro to fix rather than a hand-written decoder here
 * (DESIGN section 6): a deflate block that inflates past that cap makes it
 * write through the failed allocation (a crash), and a block that claims
 * zero records ends the file early, silently.
 *
 * Not here: writing manifests, partition values, column statistics, the
 * snappy, lzma and zstd codecs (a 500 names the codec), and v3 row lineage.
 */
#include "catalog/catalog_int.h"
#include "storage/storage.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>

/* Manifests of very large tables reach tens of MiB; refuse the absurd. */
#define MANIFEST_MAX_BYTES ((size_t)256 * 1024 * 1024)
/*
 * The largest single allocation libavro may make.  No block, string or
 * inflated block of a real manifest comes near the file cap, so a request
 * above it comes from a forged length (or a deflate bomb: see above).
 */
#define AVRO_MAX_ALLOC     (MANIFEST_MAX_BYTES + 64)
/* Iceberg's schemas nest about six deep; this bounds libavro's recursion. */
#define MAX_DEPTH          32
/* Types visited when checking a schema (named types are visited per use). */
#define SCHEMA_MAX_NODES   100000

enum fkind { K_INT, K_LONG, K_STRING, K_RECORD };

struct fspec {                  /* one field the reader wants */
    const char          *name;
    const char          *alt;   /* its v1 name, or NULL */
    enum fkind           kind;
    bool                 required;
    int64_t              dflt;  /* when absent or null */
    const struct fspec  *sub;   /* K_RECORD: the wanted fields inside */
    size_t               nsub;
};

struct fval {                   /* one wanted value of the current record */
    bool        present;        /* in the record and not null */
    int64_t     i;
    const char *s;              /* K_STRING: owned by libavro's value */
};

/* How one record schema of the file maps onto the wanted fields. */
struct plan {
    const struct fspec *want;
    size_t              nwant;
    int                *idx;        /* per wanted field: writer index, -1 */
    struct fval        *vals;       /* per wanted field, this record */
    struct plan        *sub;        /* the K_RECORD field's plan */
};

struct rd;
typedef bool (*emit_fn)(struct rd *m);

struct rd {                     /* one read in progress */
    const char      *uri;
    const char      *what;      /* "manifest" or "manifest list" */
    struct fl_arena *a;
    struct plan      top;
    emit_fn          emit;
    cat_manifest_fn  list_fn;
    cat_data_file_fn file_fn;
    void            *ctx;
    bool             stopped;   /* the callback returned false */
    int32_t          spec_id;   /* partition-spec-id of a manifest, or -1 */
    int64_t          recno;     /* 1-based number of the current record */
    char             why[200];  /* the first failure, for the client */
    char             log[200];  /* libavro's detail, log only */
};

/* The file's key-value metadata, decoded by libavro. */
struct hdr {
    avro_value_iface_t *iface;
    avro_value_t        meta;   /* map<bytes>; iface NULL until created */
};

/* Record the reason of the first failure; always returns false. */
static bool bad(struct rd *m, const char *fmt, ...) FL_PRINTF(2, 3);
static bool bad(struct rd *m, const char *fmt, ...)
{
    va_list ap;

    if (m->why[0] == '\0') {
        va_start(ap, fmt);
        vsnprintf(m->why, sizeof(m->why), fmt, ap);
        va_end(ap);
    }
    return false;
}

/* Keep libavro's last error text for the log (the first one wins). */
static void avro_detail(struct rd *m)
{
    if (m->log[0] == '\0') {
        snprintf(m->log, sizeof(m->log), "libavro: %s", avro_strerror());
    }
}

/* ------------------------------------------------------------ allocator */

/*
 * The blocks libavro allocated during the current read on this thread: an
 * open-addressing set of addresses (linear probing, backward-shift delete).
 * NB: addresses as integers, as a pointer's value is indeterminate once
 * realloc has moved the block.
 */
struct track {
    uintptr_t *slot;            /* 0: empty */
    size_t     cap;             /* a power of two, or 0 */
    size_t     n;
};

static _Thread_local struct track *tracking;

static size_t addr_hash(uintptr_t p, size_t mask)
{
    uint64_t x = (uint64_t)p;

    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x & mask;
}

static void track_put(struct track *t, uintptr_t p)
{
    size_t mask = t->cap - 1;
    size_t i;

    for (i = addr_hash(p, mask); t->slot[i] != 0; i = (i + 1) & mask) {
        continue;
    }
    t->slot[i] = p;
    t->n++;
}

static void track_add(struct track *t, uintptr_t p)
{
    uintptr_t *old = t->slot;
    size_t     n = t->cap;
    size_t     i;

    if ((t->n + 1) * 2 > t->cap) {
        t->cap = t->cap ? t->cap * 2 : 256;
        t->slot = fl_xcalloc(t->cap, sizeof(*t->slot));
        t->n = 0;
        for (i = 0; i < n; i++) {
            if (old[i] != 0) {
                track_put(t, old[i]);
            }
        }
        free(old);
    }
    track_put(t, p);
}

/* Forget `p`; false when it is not in the set. */
static bool track_del(struct track *t, uintptr_t p)
{
    size_t mask = t->cap - 1;
    size_t i;
    size_t j;
    size_t k;

    if (t->cap == 0) {
        return false;
    }
    for (i = addr_hash(p, mask); t->slot[i] != p; i = (i + 1) & mask) {
        if (t->slot[i] == 0) {
            return false;
        }
    }
    /* NB: move back each later entry of the run whose home is not in (i, j] */
    for (j = (i + 1) & mask; t->slot[j] != 0; j = (j + 1) & mask) {
        k = addr_hash(t->slot[j], mask);
        if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
            t->slot[i] = t->slot[j];
            i = j;
        }
    }
    t->slot[i] = 0;
    t->n--;
    return true;
}

/* Free the blocks still in the set, then the set; the count freed. */
static size_t track_end(struct track *t)
{
    size_t i;
    size_t n = t->n;

    for (i = 0; i < t->cap; i++) {
        free((void *)t->slot[i]);
    }
    free(t->slot);
    memset(t, 0, sizeof(*t));
    return n;
}

/*
 * libavro's allocator: its default (realloc and free) with a cap, and with
 * the blocks of a read remembered.
 *
 * NB: libavro 1.11.1 allocates the length it decoded before it checks that
 * the bytes are there, so a forged length would reach malloc (2^63 bytes,
 * or a negative one made huge); refused here, it becomes the decoding error
 * libavro reports for a failed allocation.  And on a truncated or corrupt
 * file its decoder and file reader return without freeing what they had
 * allocated (the value being decoded, the writer's schema, the block
 * buffer, up to the cap each time); read_common frees what remains once
 * everything it created is released.  Process-wide: only this file (and the
 * test tools) use libavro, and outside a read blocks are not tracked.
 */
static void *avro_alloc(void *ud, void *p, size_t osize, size_t nsize)
{
    uintptr_t old = (uintptr_t)p;
    void     *q;

    (void)ud;
    (void)osize;
    if (nsize == 0) {
        if (tracking != NULL && p != NULL) {
            track_del(tracking, old);
        }
        free(p);
        return NULL;
    }
    if (nsize > AVRO_MAX_ALLOC) {
        return NULL;
    }
    q = realloc(p, nsize);
    if (q != NULL && tracking != NULL &&
        (old == 0 || track_del(tracking, old))) {
        track_add(tracking, (uintptr_t)q);
    }
    return q;
}

static pthread_once_t avro_once = PTHREAD_ONCE_INIT;

static void avro_setup(void)
{
    avro_set_allocator(avro_alloc, NULL);
}

/* -------------------------------------------------------------- header */

/* Magic, then the metadata map; the sync marker and blocks are libavro's. */
static bool header_read(struct rd *m, const struct fl_buf *buf,
                        struct hdr *h)
{
    avro_schema_t bytes = NULL;
    avro_schema_t map = NULL;
    avro_reader_t r = NULL;
    bool          ok = false;

    if (buf->len < 4 || memcmp(buf->p, "Obj\x01", 4) != 0) {
        return bad(m, "not an Avro object container file");
    }
    bytes = avro_schema_bytes();
    map = avro_schema_map(bytes);
    h->iface = avro_generic_class_from_schema(map);
    if (h->iface == NULL ||
        avro_generic_value_new(h->iface, &h->meta) != 0) {
        avro_detail(m);
        bad(m, "could not read the file header");
        goto out;
    }
    r = avro_reader_memory(buf->p + 4, (int64_t)(buf->len - 4));
    if (r == NULL || avro_value_read(r, &h->meta) != 0) {
        avro_detail(m);
        bad(m, "truncated or corrupt file header");
        goto out;
    }
    ok = true;
out:
    if (r != NULL) {
        avro_reader_free(r);
    }
    if (map != NULL) {
        avro_schema_decref(map);
    }
    avro_schema_decref(bytes);
    return ok;
}

static void header_free(struct hdr *h)
{
    if (h->meta.iface != NULL) {
        avro_value_decref(&h->meta);
    }
    if (h->iface != NULL) {
        avro_value_iface_decref(h->iface);
    }
}

/* The bytes of metadata entry `key` (borrowed from `h`); false if absent. */
static bool header_get(struct hdr *h, const char *key, const char **p,
                       size_t *n)
{
    avro_value_t v;
    const void  *b;

    if (avro_value_get_by_name(&h->meta, key, &v, NULL) != 0 ||
        avro_value_get_bytes(&v, &b, n) != 0) {
        return false;
    }
    *p = b;
    return true;
}

/* Accept the null and deflate codecs; name any other that is printable. */
static bool header_codec(struct rd *m, struct hdr *h)
{
    const char *c;
    size_t      n;
    size_t      i;

    if (!header_get(h, "avro.codec", &c, &n) ||
        (n == 4 && memcmp(c, "null", 4) == 0) ||
        (n == 7 && memcmp(c, "deflate", 7) == 0)) {
        return true;
    }
    for (i = 0; i < n && i < 32; i++) {
        if (c[i] < 0x21 || c[i] > 0x7e || c[i] == '"') {
            break;
        }
    }
    if (i == n) {
        return bad(m, "unsupported Avro codec \"%.*s\"", (int)n, c);
    }
    return bad(m, "unsupported Avro codec");
}

/* The manifest's partition-spec-id metadata; m->spec_id stays -1 without. */
static bool header_spec_id(struct rd *m, struct hdr *h)
{
    const char *p;
    char        num[24];
    size_t      n;
    int64_t     v;

    if (!header_get(h, "partition-spec-id", &p, &n)) {
        return true;
    }
    if (n == 0 || n >= sizeof(num)) {
        return bad(m, "invalid partition-spec-id in file header");
    }
    memcpy(num, p, n);
    num[n] = '\0';
    if (!fl_parse_i64(num, 0, INT32_MAX, &v)) {
        return bad(m, "invalid partition-spec-id in file header");
    }
    m->spec_id = (int32_t)v;
    return true;
}

/* The writer's schema from avro.schema (a new reference), or NULL. */
static avro_schema_t header_schema(struct rd *m, struct hdr *h)
{
    avro_schema_t schema = NULL;
    const char   *p;
    size_t        n;

    if (!header_get(h, "avro.schema", &p, &n)) {
        bad(m, "file header has no Avro schema");
        return NULL;
    }
    if (avro_schema_from_json_length(p, n, &schema) != 0) {
        avro_detail(m);
        bad(m, "invalid Avro schema in file header");
        return NULL;
    }
    return schema;
}

/* -------------------------------------------------------------- schema */

static avro_schema_t resolve(avro_schema_t s)
{
    while (is_avro_link(s)) {
        s = avro_schema_link_target(s);
    }
    return s;
}

/*
 * True when no value of `s` nests deeper than MAX_DEPTH.  A recursive
 * schema (a record that contains itself) never passes: libavro would
 * recurse as deep as the data says.
 */
static bool schema_shallow(avro_schema_t s, int depth, long *budget)
{
    size_t i;
    size_t n;

    if (depth > MAX_DEPTH || --*budget < 0) {
        return false;
    }
    s = resolve(s);
    switch (avro_typeof(s)) {
    case AVRO_RECORD:
        n = avro_schema_record_size(s);
        for (i = 0; i < n; i++) {
            if (!schema_shallow(avro_schema_record_field_get_by_index(
                                    s, (int)i), depth + 1, budget)) {
                return false;
            }
        }
        return true;
    case AVRO_UNION:
        n = avro_schema_union_size(s);
        for (i = 0; i < n; i++) {
            if (!schema_shallow(avro_schema_union_branch(s, (int)i),
                                depth + 1, budget)) {
                return false;
            }
        }
        return true;
    case AVRO_ARRAY:
        return schema_shallow(avro_schema_array_items(s), depth + 1, budget);
    case AVRO_MAP:
        return schema_shallow(avro_schema_map_values(s), depth + 1, budget);
    default:
        return true;
    }
}

static bool kind_fits(enum fkind k, avro_schema_t s)
{
    switch (k) {
    case K_INT:
    case K_LONG:
        return is_avro_int32(s) || is_avro_int64(s);
    case K_STRING:
        return is_avro_string(s);
    case K_RECORD:
        return is_avro_record(s);
    }
    return false;
}

/*
 * The type a wanted field is read as: `s` itself, or the one non-null branch
 * of a union with null.  NULL when the writer's type does not fit.
 */
static avro_schema_t field_type(const struct fspec *w, avro_schema_t s)
{
    avro_schema_t b;
    avro_schema_t t = NULL;
    size_t        i;

    s = resolve(s);
    if (!is_avro_union(s)) {
        return kind_fits(w->kind, s) ? s : NULL;
    }
    for (i = 0; i < avro_schema_union_size(s); i++) {
        b = resolve(avro_schema_union_branch(s, (int)i));
        if (is_avro_null(b)) {
            continue;
        }
        if (t != NULL || !kind_fits(w->kind, b)) {
            return NULL;
        }
        t = b;
    }
    return t;
}

static int want_find(const struct fspec *want, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(want[i].name, name) == 0 ||
            (want[i].alt != NULL && strcmp(want[i].alt, name) == 0)) {
            return (int)i;
        }
    }
    return -1;
}

static bool plan_build(struct rd *m, struct plan *pl, avro_schema_t rec,
                       const struct fspec *want, size_t nwant);

/* Map writer field `i` of `rec` onto the wanted fields of `pl`. */
static bool plan_field(struct rd *m, struct plan *pl, avro_schema_t rec,
                       size_t i)
{
    const char         *name = avro_schema_record_field_name(rec, (int)i);
    const struct fspec *w;
    avro_schema_t       t;
    int                 k;

    k = name != NULL ? want_find(pl->want, pl->nwant, name) : -1;
    if (k < 0) {
        return true;
    }
    w = &pl->want[k];
    t = field_type(w, avro_schema_record_field_get_by_index(rec, (int)i));
    if (pl->idx[k] >= 0 || t == NULL) {
        return bad(m, "field \"%s\" has an unexpected type", w->name);
    }
    pl->idx[k] = (int)i;
    if (w->kind == K_RECORD) {
        pl->sub = fl_alloc(m->a, sizeof(*pl->sub));
        return plan_build(m, pl->sub, t, w->sub, w->nsub);
    }
    return true;
}

/* Check the writer's record `rec` against `want` once per file. */
static bool plan_build(struct rd *m, struct plan *pl, avro_schema_t rec,
                       const struct fspec *want, size_t nwant)
{
    size_t n = avro_schema_record_size(rec);
    size_t i;

    pl->want = want;
    pl->nwant = nwant;
    pl->idx = fl_alloc(m->a, nwant * sizeof(*pl->idx));
    pl->vals = fl_alloc(m->a, nwant * sizeof(*pl->vals));
    for (i = 0; i < nwant; i++) {
        pl->idx[i] = -1;
    }
    for (i = 0; i < n; i++) {
        if (!plan_field(m, pl, rec, i)) {
            return false;
        }
    }
    for (i = 0; i < nwant; i++) {
        if (want[i].required && pl->idx[i] < 0) {
            return bad(m, "missing field \"%s\"", want[i].name);
        }
    }
    return true;
}

/* ------------------------------------------------------------- records */

static bool record_take(struct rd *m, avro_value_t *rec, struct plan *pl);

/* The scalar `v` of wanted field `w` (a union already resolved) into `out`. */
static bool value_take(struct rd *m, avro_value_t *v, const struct fspec *w,
                       struct fval *out)
{
    int32_t i32;
    size_t  n;

    switch (avro_value_get_type(v)) {
    case AVRO_INT32:
        if (avro_value_get_int(v, &i32) != 0) {
            break;
        }
        out->i = i32;
        return true;
    case AVRO_INT64:
        if (avro_value_get_long(v, &out->i) != 0) {
            break;
        }
        if (w->kind == K_INT && (out->i < INT32_MIN || out->i > INT32_MAX)) {
            return bad(m, "record %" PRId64 ": field \"%s\" is out of range",
                       m->recno, w->name);
        }
        return true;
    case AVRO_STRING:
        /* NB: libavro's size counts the terminating NUL it adds */
        if (avro_value_get_string(v, &out->s, &n) != 0 || n == 0) {
            break;
        }
        if (memchr(out->s, '\0', n - 1) != NULL) {
            return bad(m, "record %" PRId64 ": field \"%s\" contains a NUL "
                       "byte", m->recno, w->name);
        }
        return true;
    default:
        break;
    }
    return bad(m, "record %" PRId64 ": field \"%s\" could not be read",
               m->recno, w->name);
}

/* Wanted field `k` of `pl` from the record `rec`, into pl->vals[k]. */
static bool field_take(struct rd *m, avro_value_t *rec, struct plan *pl,
                       size_t k)
{
    const struct fspec *w = &pl->want[k];
    struct fval        *out = &pl->vals[k];
    avro_value_t        f;
    avro_value_t        b;
    avro_value_t       *v = &f;

    if (avro_value_get_by_index(rec, (size_t)pl->idx[k], &f, NULL) != 0) {
        avro_detail(m);
        return bad(m, "record %" PRId64 ": field \"%s\" could not be read",
                   m->recno, w->name);
    }
    if (avro_value_get_type(v) == AVRO_UNION) {
        if (avro_value_get_current_branch(v, &b) != 0) {
            avro_detail(m);
            return bad(m, "record %" PRId64 ": field \"%s\" could not be "
                       "read", m->recno, w->name);
        }
        v = &b;
    }
    if (avro_value_get_type(v) == AVRO_NULL) {
        return true;
    }
    out->present = true;
    if (w->kind == K_RECORD) {
        return record_take(m, v, pl->sub);
    }
    return value_take(m, v, w, out);
}

/* The wanted values of one record of `pl`, kept in pl->vals. */
static bool record_take(struct rd *m, avro_value_t *rec, struct plan *pl)
{
    size_t k;

    memset(pl->vals, 0, pl->nwant * sizeof(*pl->vals));
    for (k = 0; k < pl->nwant; k++) {
        if (pl->idx[k] >= 0 && !field_take(m, rec, pl, k)) {
            return false;
        }
    }
    for (k = 0; k < pl->nwant; k++) {
        if (pl->want[k].required && !pl->vals[k].present) {
            return bad(m, "record %" PRId64 ": field \"%s\" is null",
                       m->recno, pl->want[k].name);
        }
    }
    return true;
}

/* A wanted integer, or its default when absent or null. */
static int64_t val_int(const struct plan *pl, size_t i)
{
    return pl->vals[i].present ? pl->vals[i].i : pl->want[i].dflt;
}

/*
 * Every record of the container in `buf`, decoded by libavro as `schema`
 * and handed to m->emit, until the end, a failure or a stop.
 */
static bool records_read(struct rd *m, const struct fl_buf *buf,
                         avro_schema_t schema)
{
    avro_file_reader_t  r = NULL;
    avro_value_iface_t *iface = NULL;
    avro_value_t        rec = {NULL, NULL};
    FILE               *fp;
    int                 rc;
    bool                ok = false;

    fp = fmemopen(buf->p, buf->len, "r");
    if (fp == NULL) {
        snprintf(m->log, sizeof(m->log), "fmemopen: %s", strerror(errno));
        return bad(m, "could not open the file in memory");
    }
    /* NB: libavro closes `fp` from here on, on failure too */
    if (avro_file_reader_fp(fp, m->uri, 1, &r) != 0) {
        avro_detail(m);
        return bad(m, "truncated or corrupt data block");
    }
    iface = avro_generic_class_from_schema(schema);
    if (iface == NULL || avro_generic_value_new(iface, &rec) != 0) {
        avro_detail(m);
        bad(m, "the Avro schema is not supported");
        goto out;
    }
    while (!m->stopped) {
        m->recno++;
        rc = avro_file_reader_read_value(r, &rec);
        if (rc == EOF) {
            break;
        }
        if (rc != 0) {
            avro_detail(m);
            bad(m, "record %" PRId64 " is truncated or corrupt", m->recno);
            goto out;
        }
        if (!record_take(m, &rec, &m->top) || !m->emit(m)) {
            goto out;
        }
    }
    ok = true;
out:
    if (rec.iface != NULL) {
        avro_value_decref(&rec);
    }
    if (iface != NULL) {
        avro_value_iface_decref(iface);
    }
    avro_file_reader_close(r);
    return ok;
}

/* -------------------------------------------------------------- files */

/* Header, schema, plan, then the records of the container in `buf`. */
static bool container_read(struct rd *m, const struct fl_buf *buf,
                           const struct fspec *want, size_t nwant)
{
    struct hdr    h = {NULL, {NULL, NULL}};
    avro_schema_t schema = NULL;
    long          budget = SCHEMA_MAX_NODES;
    bool          ok = false;

    /* NB: only manifests carry partition-spec-id; lists are not judged. */
    m->spec_id = -1;
    if (!header_read(m, buf, &h) || !header_codec(m, &h) ||
        (m->file_fn != NULL && !header_spec_id(m, &h))) {
        goto out;
    }
    schema = header_schema(m, &h);
    if (schema == NULL) {
        goto out;
    }
    if (!is_avro_record(resolve(schema))) {
        bad(m, "the Avro schema is not a record");
        goto out;
    }
    if (!schema_shallow(schema, 0, &budget)) {
        bad(m, "the Avro schema is nested too deeply or too large");
        goto out;
    }
    if (plan_build(m, &m->top, resolve(schema), want, nwant)) {
        ok = records_read(m, buf, schema);
    }
out:
    if (schema != NULL) {
        avro_schema_decref(schema);
    }
    header_free(&h);
    return ok;
}

/* Fetch `uri` and read it; the one place that turns m->why into `err`. */
static bool read_common(struct rd *m, struct sto *s,
                        const struct fspec *want, size_t nwant,
                        struct fl_err *err)
{
    struct fl_buf buf;
    struct track  t = {NULL, 0, 0};
    struct track *outer = tracking;
    size_t        leaked;
    bool          ok = false;

    pthread_once(&avro_once, avro_setup);
    m->a = fl_arena_new(4096);
    /* NB: sto_get initialises `buf` first, so it is released on all paths */
    if (!sto_get(s, NULL, m->uri, MANIFEST_MAX_BYTES, &buf, err)) {
        goto out;
    }
    /* NB: a callback may start another read (nested): restore the outer
     * tracker afterwards, or the outer read's frees would go unrecorded */
    tracking = &t;
    ok = container_read(m, &buf, want, nwant);
    tracking = outer;
    leaked = track_end(&t);
    /* libavro leaks only on corrupt input; after a good read it is ours */
    if (FL_NEVER(ok && leaked != 0)) {
        fl_log(FL_LOG_ERROR, "%zu blocks leaked reading %s \"%s\"", leaked,
               m->what, m->uri);
    }
    if (!ok) {
        FL_ERR(err, 500, "InternalServerError", "could not read %s \"%s\": %s",
               m->what, m->uri, m->why[0] ? m->why : "unknown error");
        if (m->log[0] != '\0') {
            fl_err_logf(err, "%s", m->log);
        }
    }
out:
    fl_buf_release(&buf);
    fl_arena_free(m->a);
    return ok;
}

/* ------------------------------------------------------ manifest lists */

enum {
    L_PATH, L_LENGTH, L_SPEC, L_CONTENT, L_SEQ, L_MIN_SEQ, L_SNAPSHOT,
    L_ADDED_FILES, L_EXISTING_FILES, L_DELETED_FILES,
    L_ADDED_ROWS, L_EXISTING_ROWS, L_DELETED_ROWS, L_N
};

/* spec: manifest list, notes/ICEBERG.md 4.2 (v1 defaults in the header) */
static const struct fspec list_want[L_N] = {
    [L_PATH] = {"manifest_path", NULL, K_STRING, true, 0, NULL, 0},
    [L_LENGTH] = {"manifest_length", NULL, K_LONG, true, 0, NULL, 0},
    [L_SPEC] = {"partition_spec_id", NULL, K_INT, true, 0, NULL, 0},
    [L_CONTENT] = {"content", NULL, K_INT, false, 0, NULL, 0},
    [L_SEQ] = {"sequence_number", NULL, K_LONG, false, 0, NULL, 0},
    [L_MIN_SEQ] = {"min_sequence_number", NULL, K_LONG, false, 0, NULL, 0},
    [L_SNAPSHOT] = {"added_snapshot_id", NULL, K_LONG, true, 0, NULL, 0},
    [L_ADDED_FILES] = {"added_files_count", "added_data_files_count", K_INT,
                       false, -1, NULL, 0},
    [L_EXISTING_FILES] = {"existing_files_count",
                          "existing_data_files_count", K_INT, false, -1,
                          NULL, 0},
    [L_DELETED_FILES] = {"deleted_files_count", "deleted_data_files_count",
                         K_INT, false, -1, NULL, 0},
    [L_ADDED_ROWS] = {"added_rows_count", NULL, K_LONG, false, -1, NULL, 0},
    [L_EXISTING_ROWS] = {"existing_rows_count", NULL, K_LONG, false, -1,
                         NULL, 0},
    [L_DELETED_ROWS] = {"deleted_rows_count", NULL, K_LONG, false, -1,
                        NULL, 0},
};

static bool list_emit(struct rd *m)
{
    const struct plan        *pl = &m->top;
    struct cat_manifest_entry e;

    memset(&e, 0, sizeof(e));
    e.path = pl->vals[L_PATH].s;
    e.length = val_int(pl, L_LENGTH);
    e.spec_id = (int32_t)val_int(pl, L_SPEC);
    e.content = (int32_t)val_int(pl, L_CONTENT);
    e.sequence_number = val_int(pl, L_SEQ);
    e.min_sequence_number = val_int(pl, L_MIN_SEQ);
    e.added_snapshot_id = val_int(pl, L_SNAPSHOT);
    e.added_files = (int32_t)val_int(pl, L_ADDED_FILES);
    e.existing_files = (int32_t)val_int(pl, L_EXISTING_FILES);
    e.deleted_files = (int32_t)val_int(pl, L_DELETED_FILES);
    e.added_rows = val_int(pl, L_ADDED_ROWS);
    e.existing_rows = val_int(pl, L_EXISTING_ROWS);
    e.deleted_rows = val_int(pl, L_DELETED_ROWS);
    m->stopped = !m->list_fn(m->ctx, &e);
    return true;
}

/*
 * Read the manifest list at `uri` through `s` and call `fn` once per
 * manifest_file record, in file order, until it returns false (a stop, not
 * an error).  The entry and its strings are valid only during the call.
 * Errors: those of sto_get (404 NotFoundException for a missing file), and
 * 500 InternalServerError `could not read manifest list "<uri>": <reason>`
 * for a file that is not Avro, is corrupt, uses an unsupported codec or
 * lacks a required field; records before the failure have been reported.
 * No locks or transactions; any thread.
 */
bool cat_manifest_list_read(struct sto *s, const char *uri,
                            cat_manifest_fn fn, void *ctx,
                            struct fl_err *err)
{
    struct rd m;

    memset(&m, 0, sizeof(m));
    m.uri = uri;
    m.what = "manifest list";
    m.emit = list_emit;
    m.list_fn = fn;
    m.ctx = ctx;
    return read_common(&m, s, list_want, L_N, err);
}

/* ----------------------------------------------------------- manifests */

enum { D_CONTENT, D_PATH, D_FORMAT, D_RECORDS, D_SIZE, D_N };
enum { E_STATUS, E_SNAPSHOT, E_SEQ, E_FILE, E_N };

/* spec: manifest file, notes/ICEBERG.md 4.3 */
static const struct fspec data_file_want[D_N] = {
    [D_CONTENT] = {"content", NULL, K_INT, false, 0, NULL, 0},
    [D_PATH] = {"file_path", NULL, K_STRING, true, 0, NULL, 0},
    [D_FORMAT] = {"file_format", NULL, K_STRING, true, 0, NULL, 0},
    [D_RECORDS] = {"record_count", NULL, K_LONG, true, 0, NULL, 0},
    [D_SIZE] = {"file_size_in_bytes", NULL, K_LONG, true, 0, NULL, 0},
};

static const struct fspec entry_want[E_N] = {
    [E_STATUS] = {"status", NULL, K_INT, true, 0, NULL, 0},
    [E_SNAPSHOT] = {"snapshot_id", NULL, K_LONG, false, -1, NULL, 0},
    [E_SEQ] = {"sequence_number", NULL, K_LONG, false, -1, NULL, 0},
    [E_FILE] = {"data_file", NULL, K_RECORD, true, 0, data_file_want, D_N},
};

static bool entry_emit(struct rd *m)
{
    const struct plan   *pl = &m->top;
    const struct plan   *df = m->top.sub;
    struct cat_data_file f;

    memset(&f, 0, sizeof(f));
    f.status = (int32_t)val_int(pl, E_STATUS);
    if (f.status < 0 || f.status > 2) {
        return bad(m, "record %" PRId64 ": invalid status %" PRId32,
                   m->recno, f.status);
    }
    f.snapshot_id = val_int(pl, E_SNAPSHOT);
    f.sequence_number = val_int(pl, E_SEQ);
    f.content = (int32_t)val_int(df, D_CONTENT);
    f.path = df->vals[D_PATH].s;
    f.format = df->vals[D_FORMAT].s;
    f.record_count = val_int(df, D_RECORDS);
    f.file_size = val_int(df, D_SIZE);
    f.spec_id = m->spec_id;
    m->stopped = !m->file_fn(m->ctx, &f);
    return true;
}

/*
 * Read the manifest at `uri` through `s` and call `fn` once per
 * manifest_entry, in file order, until it returns false (a stop, not an
 * error).  Null snapshot ids and sequence numbers are reported as -1 for
 * the caller to inherit from the manifest list; spec_id comes from the
 * file's partition-spec-id metadata (-1 without it).  The entry and its
 * strings are valid only during the call.  Errors: those of sto_get (404
 * NotFoundException for a missing file), and 500 InternalServerError
 * `could not read manifest "<uri>": <reason>` for a file that is not Avro,
 * is corrupt, uses an unsupported codec or lacks a required field; records
 * before the failure have been reported.  No locks; any thread.
 */
bool cat_manifest_read(struct sto *s, const char *uri, cat_data_file_fn fn,
                       void *ctx, struct fl_err *err)
{
    struct rd m;

    memset(&m, 0, sizeof(m));
    m.uri = uri;
    m.what = "manifest";
    m.emit = entry_emit;
    m.file_fn = fn;
    m.ctx = ctx;
    return read_common(&m, s, entry_want, E_N, err);
}
