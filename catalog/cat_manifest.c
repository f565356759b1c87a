/*
 * cat_manifest.c
 *
 * Reads Iceberg manifest lists and manifests (notes/ICEBERG.md sections 4.2
 * and 4.3): Avro object container files fetched whole from the object store,
 * decoded by Apache Avro C (libavro) and handed to a callback one record at
 * a time, with only the fields the catalog needs (paths, counts, sequence
 * numbers, snapshot ids, and for data files their partition values, column
 * statistics and referenced data file).  Fields are matched by name, so v1,
 * v2 and v3 files all read; what a version lacks gets the default
 * documented in catalog.h.  Inheritance (null snapshot ids and sequence
 * numbers) is left to the caller, which knows the manifest list row.
 *
 * Partition values are rendered in Iceberg's JSON single-value forms, so
 * the reader needs each partition field's Iceberg type: the manifest's
 * partition-spec and schema metadata give it (transform and source column
 * type); without them the Avro type and its logicalType do.  Field ids come
 * from the writer's schema text (libavro drops the "field-id" attributes),
 * parsed with jansson.
 *
 * libavro decodes all of it.  The header's key-value metadata is read first,
 * as the map<bytes> value the container format defines, because libavro's
 * file reader exposes neither partition-spec-id nor the name of a codec it
 * rejects; the records then come from avro_file_reader over an fmemopen
 * stream of the fetched bytes.  What is judged here, none of it by decoding
 * bytes: the size cap, the magic, the codec, the data blocks' sizes (read
 * through libavro before its file reader sees them, see below), the
 * writer's schema before any record is read (required fields and their
 * types, and a nesting limit, as libavro's decoder recurses once per level
 * of the data), and the values handed out (NUL bytes in paths, int ranges,
 * status, the number of columns with statistics).
 *
 * NB: libavro 1.11.1 trusts lengths in the data and leaks on corrupt input,
 * so it allocates through avro_alloc below, which refuses what no manifest
 * can need and frees what a failed read left behind.  Two of its faults
 * remain, for libavro to fix rather than a hand-written decoder here
 * (DESIGN section 6): a deflate block that inflates past that cap makes it
 * write through the failed allocation (a crash), and a block that claims
 * zero records ends the file early, silently.  Its snappy decoder trusts
 * the block size (a block under the 4 bytes of its CRC makes it read
 * outside the block, or through NULL), so every block's size is checked
 * first: the container's block framing is walked with libavro's own
 * decoder over the header's reader.
 *
 * Not here: writing manifests, the lzma and zstd codecs (a 500 names the
 * codec), the manifest list's partition summaries, and v3 row lineage.
 */
#include "catalog/catalog_int.h"
#include "storage/storage.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
/* Columns with statistics in one data file (a forged array is longer). */
#define MAX_STAT_COLUMNS   100000
/* The snappy codec's CRC trails every block (see the file comment). */
#define SNAPPY_CRC_BYTES   4

enum fkind {
    K_INT, K_LONG, K_STRING, K_RECORD,
    K_PARTITION,                /* the partition record, any fields */
    K_COUNTS,                   /* map<int, long>: array of key/value
                                 * records, or an Avro map */
    K_BOUNDS                    /* map<int, bytes>, likewise */
};

/* Which member of struct cat_column_stats a K_COUNTS/K_BOUNDS field fills. */
enum { S_SIZE, S_VALUES, S_NULLS, S_NANS, S_LOWER, S_UPPER };

struct fspec {                  /* one field the reader wants */
    const char          *name;
    const char          *alt;   /* its v1 name, or NULL */
    enum fkind           kind;
    bool                 required;
    int64_t              dflt;  /* when absent or null */
    const struct fspec  *sub;   /* K_RECORD: the wanted fields inside */
    size_t               nsub;
    int                  slot;  /* K_COUNTS, K_BOUNDS: an S_ value */
};

/* How a partition value is rendered beyond its Avro type. */
enum ptype {
    P_AVRO,                     /* as the Avro type says */
    P_DATE, P_TIME, P_TS, P_TSTZ, P_TS_NS, P_TSTZ_NS, P_UUID, P_DECIMAL
};

struct pfield {                 /* one field of the partition record */
    const char *name;           /* the spec's name, else the Avro name */
    int32_t     field_id;       /* -1 when the schema text lacks it */
    enum ptype  type;
    int         scale;          /* P_DECIMAL */
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
    int64_t          min_block; /* smallest data block the codec allows */
    /* manifests: the header's JSON (arena-owned, NULL when absent) */
    json_t          *spec;      /* partition-spec: the fields array */
    json_t          *schema;    /* schema: the table schema */
    json_t          *pjson;     /* the partition record's fields in the
                                 * writer's schema text */
    struct pfield   *pf;        /* the partition record's fields */
    size_t           npf;
    /* the current record's partition and statistics */
    json_t          *part;      /* new reference, or NULL */
    char            *part_key;  /* heap, or NULL */
    struct cat_column_stats *st;    /* heap, nst used of capst */
    size_t           nst;
    size_t           capst;
    char             why[200];  /* the first failure, for the client */
    char             log[200];  /* libavro's detail, log only */
};

/* The file's key-value metadata, decoded by libavro. */
struct hdr {
    avro_value_iface_t *iface;
    avro_value_t        meta;   /* map<bytes>; iface NULL until created */
    avro_reader_t       r;      /* positioned after the metadata map */
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

/*
 * Magic, then the metadata map; h->r is left after it, for blocks_check.
 * The blocks themselves are read by libavro's file reader.
 */
static bool header_read(struct rd *m, const struct fl_buf *buf,
                        struct hdr *h)
{
    avro_schema_t bytes = NULL;
    avro_schema_t map = NULL;
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
    h->r = avro_reader_memory(buf->p + 4, (int64_t)(buf->len - 4));
    if (h->r == NULL || avro_value_read(h->r, &h->meta) != 0) {
        avro_detail(m);
        bad(m, "truncated or corrupt file header");
        goto out;
    }
    ok = true;
out:
    if (map != NULL) {
        avro_schema_decref(map);
    }
    avro_schema_decref(bytes);
    return ok;
}

static void header_free(struct hdr *h)
{
    if (h->r != NULL) {
        avro_reader_free(h->r);
    }
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

/*
 * Accept the null, deflate and snappy codecs (m->min_block says what a
 * block of the codec holds at least); name any other that is printable.
 */
static bool header_codec(struct rd *m, struct hdr *h)
{
    const char *c;
    size_t      n;
    size_t      i;

    m->min_block = 0;
    if (!header_get(h, "avro.codec", &c, &n) ||
        (n == 4 && memcmp(c, "null", 4) == 0) ||
        (n == 7 && memcmp(c, "deflate", 7) == 0)) {
        return true;
    }
    if (n == 6 && memcmp(c, "snappy", 6) == 0) {
        m->min_block = SNAPPY_CRC_BYTES;
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

/* The Avro long at the reader's position into *v; false at the end too. */
static bool read_long(avro_reader_t r, avro_value_t *lv, int64_t *v)
{
    return avro_value_read(r, lv) == 0 && avro_value_get_long(lv, v) == 0;
}

/*
 * Walk the data blocks after the header (sync marker, then per block a
 * record count, a byte size, the bytes and the sync marker) and refuse a
 * block smaller than the codec allows, before libavro's file reader
 * decodes it (see the file comment).  Where the walk cannot go on (the
 * end, or a truncated or corrupt block) it stops: libavro's reader fails
 * at the same place without decoding the block.
 */
static bool blocks_check(struct rd *m, struct hdr *h)
{
    avro_schema_t       ls = avro_schema_long();
    avro_value_iface_t *iface = avro_generic_class_from_schema(ls);
    avro_value_t        lv = {NULL, NULL};
    int64_t             count;
    int64_t             size;
    int64_t             nblock = 0;
    bool                ok = false;

    if (iface == NULL || avro_generic_value_new(iface, &lv) != 0) {
        avro_detail(m);
        bad(m, "could not read the file header");
        goto out;
    }
    ok = true;
    if (avro_skip(h->r, 16) != 0) {
        goto out;
    }
    while (read_long(h->r, &lv, &count) && read_long(h->r, &lv, &size)) {
        nblock++;
        if (size < m->min_block) {
            ok = bad(m, "data block %" PRId64 " is corrupt (%" PRId64
                     " bytes)", nblock, size);
            goto out;
        }
        if (avro_skip(h->r, size) != 0 || avro_skip(h->r, 16) != 0) {
            goto out;
        }
    }
out:
    if (lv.iface != NULL) {
        avro_value_decref(&lv);
    }
    if (iface != NULL) {
        avro_value_iface_decref(iface);
    }
    avro_schema_decref(ls);
    return ok;
}

/* The JSON metadata entry `key` (arena-owned), or NULL when absent or bad. */
static json_t *header_json(struct rd *m, struct hdr *h, const char *key)
{
    const char *p;
    size_t      n;
    json_t     *v;

    if (!header_get(h, key, &p, &n)) {
        return NULL;
    }
    v = json_loadb(p, n, JSON_DECODE_ANY, NULL);
    return v != NULL ? fl_arena_own_json(m->a, v) : NULL;
}

/* The record of an Avro JSON type: the record itself or a union's. */
static json_t *json_record_of(json_t *type)
{
    json_t *b;
    size_t  i;

    if (json_is_object(type)) {
        b = json_object_get(type, "type");
        return json_is_string(b) &&
               strcmp(json_string_value(b), "record") == 0 ? type : NULL;
    }
    json_array_foreach(type, i, b) {
        if (json_record_of(b) != NULL) {
            return b;
        }
    }
    return NULL;
}

/* The field `name` of the Avro JSON record `rec`, or NULL. */
static json_t *json_field(json_t *rec, const char *name)
{
    json_t     *f;
    size_t      i;
    const char *fname;

    json_array_foreach(json_object_get(rec, "fields"), i, f) {
        fname = json_string_value(json_object_get(f, "name"));
        if (fname != NULL && strcmp(fname, name) == 0) {
            return f;
        }
    }
    return NULL;
}

/*
 * A manifest's JSON metadata: the partition-spec fields and the table
 * schema, and, from the writer's schema text, the partition record's
 * fields with their field ids.  All optional: what is missing or malformed
 * only makes the partition values' rendering fall back to the Avro types.
 */
static void header_partition(struct rd *m, struct hdr *h)
{
    json_t *avro = header_json(m, h, "avro.schema");
    json_t *df;
    json_t *part;

    m->spec = header_json(m, h, "partition-spec");
    if (json_is_object(m->spec)) {
        m->spec = json_object_get(m->spec, "fields");
    }
    if (!json_is_array(m->spec)) {
        m->spec = NULL;
    }
    m->schema = header_json(m, h, "schema");
    df = json_field(json_record_of(avro), "data_file");
    part = json_field(json_record_of(json_object_get(df, "type")),
                      "partition");
    m->pjson = json_object_get(json_record_of(json_object_get(part, "type")),
                               "fields");
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

/* The type of field `name` of the record `rec`, or NULL.  NB: not
 * avro_schema_record_field_get, which reads garbage for a name it lacks. */
static avro_schema_t record_field(avro_schema_t rec, const char *name)
{
    const char *fname;
    size_t      i;

    for (i = 0; i < avro_schema_record_size(rec); i++) {
        fname = avro_schema_record_field_name(rec, (int)i);
        if (fname != NULL && strcmp(fname, name) == 0) {
            return avro_schema_record_field_get_by_index(rec, (int)i);
        }
    }
    return NULL;
}

/* The value type of an int-keyed map: Iceberg's array of key/value
 * records, or an Avro map; NULL when `s` is neither. */
static avro_schema_t map_values(avro_schema_t s)
{
    avro_schema_t item;
    avro_schema_t key;
    avro_schema_t val;

    if (is_avro_map(s)) {
        return resolve(avro_schema_map_values(s));
    }
    if (!is_avro_array(s)) {
        return NULL;
    }
    item = resolve(avro_schema_array_items(s));
    if (!is_avro_record(item)) {
        return NULL;
    }
    key = record_field(item, "key");
    val = record_field(item, "value");
    if (key == NULL || val == NULL || !is_avro_int32(resolve(key))) {
        return NULL;
    }
    return resolve(val);
}

static bool kind_fits(enum fkind k, avro_schema_t s)
{
    avro_schema_t v;

    switch (k) {
    case K_INT:
    case K_LONG:
        return is_avro_int32(s) || is_avro_int64(s);
    case K_STRING:
        return is_avro_string(s);
    case K_RECORD:
    case K_PARTITION:
        return is_avro_record(s);
    case K_COUNTS:
        v = map_values(s);
        return v != NULL && (is_avro_int32(v) || is_avro_int64(v));
    case K_BOUNDS:
        v = map_values(s);
        return v != NULL && is_avro_bytes(v);
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

/* The rendering an Iceberg type name asks for (P_AVRO: none special). */
static enum ptype ptype_of_iceberg(const char *t, int *scale)
{
    static const struct {
        const char *name;
        enum ptype  type;
    } map[] = {
        {"date", P_DATE}, {"time", P_TIME}, {"timestamp", P_TS},
        {"timestamptz", P_TSTZ}, {"timestamp_ns", P_TS_NS},
        {"timestamptz_ns", P_TSTZ_NS}, {"uuid", P_UUID},
    };
    const char *comma;
    size_t      i;
    long        v;

    for (i = 0; t != NULL && i < FL_ARRAY_LEN(map); i++) {
        if (strcmp(t, map[i].name) == 0) {
            return map[i].type;
        }
    }
    if (t == NULL || strncmp(t, "decimal(", 8) != 0) {
        return P_AVRO;
    }
    /* "decimal(P,S)", maybe with a blank after the comma */
    comma = strchr(t, ',');
    v = comma != NULL ? strtol(comma + 1, NULL, 10) : 0;
    *scale = v >= 0 && v <= 76 ? (int)v : 0;
    return P_DECIMAL;
}

/* The rendering an Avro JSON type's logicalType asks for. */
static enum ptype ptype_of_avro(json_t *type, int *scale)
{
    json_t     *b;
    size_t      i;
    const char *lt;
    bool        utc;

    json_array_foreach(type, i, b) {
        if (json_is_object(b)) {
            type = b;
            break;
        }
    }
    lt = json_string_value(json_object_get(type, "logicalType"));
    utc = json_is_true(json_object_get(type, "adjust-to-utc"));
    if (lt == NULL) {
        return P_AVRO;
    }
    if (strcmp(lt, "decimal") == 0) {
        b = json_object_get(type, "scale");
        *scale = json_integer_value(b) >= 0 && json_integer_value(b) <= 76
                     ? (int)json_integer_value(b) : 0;
        return P_DECIMAL;
    }
    return strcmp(lt, "date") == 0 ? P_DATE
         : strcmp(lt, "time-micros") == 0 ? P_TIME
         : strcmp(lt, "timestamp-micros") == 0 ? (utc ? P_TSTZ : P_TS)
         : strcmp(lt, "timestamp-nanos") == 0 ? (utc ? P_TSTZ_NS : P_TS_NS)
         : strcmp(lt, "uuid") == 0 ? P_UUID : P_AVRO;
}

/* The type name of field `id` in the Iceberg struct `st` (nested structs
 * searched), or NULL when it is not there or not a primitive. */
static const char *schema_type(json_t *st, json_int_t id, int depth)
{
    json_t     *f;
    json_t     *t;
    json_t     *fid;
    size_t      i;
    const char *found;

    if (depth > MAX_DEPTH) {
        return NULL;
    }
    json_array_foreach(json_object_get(st, "fields"), i, f) {
        t = json_object_get(f, "type");
        fid = json_object_get(f, "id");
        if (json_is_integer(fid) && json_integer_value(fid) == id) {
            return json_string_value(t);
        }
        found = json_is_object(t) ? schema_type(t, id, depth + 1) : NULL;
        if (found != NULL) {
            return found;
        }
    }
    return NULL;
}

/* The Iceberg result type of the partition-spec field `sf`, or NULL. */
static const char *spec_type(struct rd *m, json_t *sf)
{
    const char *tr = json_string_value(json_object_get(sf, "transform"));
    json_t     *src = json_object_get(sf, "source-id");

    if (tr == NULL) {
        return NULL;
    }
    if (strcmp(tr, "day") == 0) {
        return "date";
    }
    if (strcmp(tr, "year") == 0 || strcmp(tr, "month") == 0 ||
        strcmp(tr, "hour") == 0 || strncmp(tr, "bucket[", 7) == 0) {
        return "int";
    }
    if ((strcmp(tr, "identity") == 0 || strcmp(tr, "void") == 0 ||
         strncmp(tr, "truncate[", 9) == 0) && json_is_integer(src)) {
        return schema_type(m->schema, json_integer_value(src), 0);
    }
    return NULL;
}

/* The partition-spec field with id `id` (without one: named `name`). */
static json_t *spec_field(struct rd *m, int32_t id, const char *name)
{
    json_t     *sf;
    json_t     *fid;
    const char *sname;
    size_t      i;

    json_array_foreach(m->spec, i, sf) {
        fid = json_object_get(sf, "field-id");
        sname = json_string_value(json_object_get(sf, "name"));
        if (id >= 0 ? json_is_integer(fid) && json_integer_value(fid) == id
                    : sname != NULL && strcmp(sname, name) == 0) {
            return sf;
        }
    }
    return NULL;
}

/* The scalar Avro type of a partition field (`s`, or the one non-null
 * branch of a union), or NULL when it is not a primitive Iceberg uses. */
static avro_schema_t value_schema(avro_schema_t s)
{
    avro_schema_t b;
    avro_schema_t t = NULL;
    size_t        i;

    s = resolve(s);
    if (is_avro_union(s)) {
        for (i = 0; i < avro_schema_union_size(s); i++) {
            b = resolve(avro_schema_union_branch(s, (int)i));
            if (is_avro_null(b)) {
                continue;
            }
            if (t != NULL) {
                return NULL;
            }
            t = b;
        }
        s = t != NULL ? t : resolve(avro_schema_union_branch(s, 0));
    }
    return is_avro_null(s) || is_avro_boolean(s) || is_avro_int32(s) ||
           is_avro_int64(s) || is_avro_float(s) || is_avro_double(s) ||
           is_avro_string(s) || is_avro_bytes(s) || is_avro_fixed(s)
               ? s : NULL;
}

/* Field `i` of the partition record `rec`: its name, id and rendering. */
static bool pfield_plan(struct rd *m, avro_schema_t rec, size_t i,
                        struct pfield *pf)
{
    const char *name = avro_schema_record_field_name(rec, (int)i);
    json_t     *jf = json_array_get(m->pjson, i);
    json_t     *fid;
    json_t     *sf;
    const char *it;
    const char *sname;

    if (name == NULL || value_schema(avro_schema_record_field_get_by_index(
                                         rec, (int)i)) == NULL) {
        return bad(m, "partition field \"%s\" has an unsupported type",
                   name != NULL ? name : "?");
    }
    pf->name = fl_strdup(m->a, name);
    pf->field_id = -1;
    pf->type = P_AVRO;
    it = json_string_value(json_object_get(jf, "name"));
    if (it == NULL || strcmp(it, name) != 0) {
        jf = NULL;
    }
    fid = json_object_get(jf, "field-id");
    if (json_is_integer(fid) && json_integer_value(fid) >= 0 &&
        json_integer_value(fid) <= INT32_MAX) {
        pf->field_id = (int32_t)json_integer_value(fid);
    }
    sf = spec_field(m, pf->field_id, name);
    sname = json_string_value(json_object_get(sf, "name"));
    if (sname != NULL) {
        pf->name = fl_strdup(m->a, sname);
    }
    it = sf != NULL ? spec_type(m, sf) : NULL;
    if (it != NULL) {
        pf->type = ptype_of_iceberg(it, &pf->scale);
    } else if (jf != NULL) {
        pf->type = ptype_of_avro(json_object_get(jf, "type"), &pf->scale);
    }
    return true;
}

/* The fields of the partition record `rec` and how to render them. */
static bool partition_plan(struct rd *m, avro_schema_t rec)
{
    size_t n = avro_schema_record_size(rec);
    size_t i;

    m->pf = fl_alloc(m->a, (n > 0 ? n : 1) * sizeof(*m->pf));
    m->npf = n;
    for (i = 0; i < n; i++) {
        if (!pfield_plan(m, rec, i, &m->pf[i])) {
            return false;
        }
    }
    return true;
}

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
    if (w->kind == K_PARTITION) {
        return partition_plan(m, t);
    }
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

/* ---------------------------------------------------- partition values */

/* Days since 1970-01-01 as "YYYY-MM-DD"; NULL when out of range. */
static json_t *date_json(int64_t days)
{
    struct tm tm;
    time_t    t;
    char      b[40];

    if (days < -100000000 || days > 100000000) {
        return NULL;
    }
    t = (time_t)(days * 86400);
    if (gmtime_r(&t, &tm) == NULL) {
        return NULL;
    }
    snprintf(b, sizeof(b), "%04d-%02d-%02d", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday);
    return json_string(b);
}

/*
 * `v` units (1e6: micro-, 1e9: nanoseconds) since midnight as
 * "HH:MM:SS.ffffff" (`day` false), or since the epoch as
 * "YYYY-MM-DDTHH:MM:SS.ffffff" plus `zone`; NULL when out of range.
 */
static json_t *time_json(int64_t v, int64_t unit, bool day,
                         const char *zone)
{
    int       digits = unit == 1000000 ? 6 : 9;
    int64_t   secs = v / unit;
    int64_t   frac = v % unit;
    struct tm tm;
    time_t    t;
    char      b[80];

    if (frac < 0) {
        frac += unit;
        secs--;
    }
    if (!day) {
        if (v < 0 || secs >= 86400) {
            return NULL;
        }
        snprintf(b, sizeof(b), "%02d:%02d:%02d.%0*" PRId64,
                 (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60),
                 digits, frac);
        return json_string(b);
    }
    t = (time_t)secs;
    if (gmtime_r(&t, &tm) == NULL) {
        return NULL;
    }
    snprintf(b, sizeof(b), "%04d-%02d-%02dT%02d:%02d:%02d.%0*" PRId64 "%s",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, digits, frac, zone);
    return json_string(b);
}

/* An unscaled big-endian two's complement integer of `n` bytes with
 * `scale` decimal places as a string ("-12.50"); NULL when too long. */
static json_t *decimal_json(const unsigned char *p, size_t n, int scale)
{
    unsigned char mag[32];
    char          dig[128];
    char          out[140];
    bool          neg = n > 0 && (p[0] & 0x80);
    bool          nonzero = true;
    size_t        nd = 0;
    size_t        i;
    size_t        o = 0;
    unsigned      carry = 1;
    unsigned      cur;

    if (n > sizeof(mag)) {
        return NULL;
    }
    for (i = n; i > 0; i--) {           /* the magnitude */
        cur = neg ? (unsigned)(unsigned char)~p[i - 1] + carry : p[i - 1];
        mag[i - 1] = (unsigned char)cur;
        carry = neg ? cur >> 8 : 0;
    }
    while (nonzero) {                   /* digits, least significant first */
        nonzero = false;
        cur = 0;
        for (i = 0; i < n; i++) {
            cur = cur * 256 + mag[i];
            mag[i] = (unsigned char)(cur / 10);
            cur %= 10;
            nonzero = nonzero || mag[i] != 0;
        }
        dig[nd++] = (char)('0' + cur);
    }
    while (nd <= (size_t)scale) {
        dig[nd++] = '0';
    }
    if (neg) {
        out[o++] = '-';
    }
    for (i = nd; i > 0; i--) {
        out[o++] = dig[i - 1];
        if (i - 1 == (size_t)scale && scale > 0) {
            out[o++] = '.';
        }
    }
    out[o] = '\0';
    return json_string(out);
}

/* Bytes as upper-case hex (Iceberg's binary and fixed JSON form), or as a
 * lower-case UUID when `uuid` and 16 long. */
static json_t *hex_json(const unsigned char *p, size_t n, bool uuid)
{
    static const char up[] = "0123456789ABCDEF";
    static const char low[] = "0123456789abcdef";
    char             *s = fl_xmalloc(2 * n + 5);
    size_t            i;
    size_t            o = 0;
    json_t           *v;

    uuid = uuid && n == 16;
    for (i = 0; i < n; i++) {
        if (uuid && (i == 4 || i == 6 || i == 8 || i == 10)) {
            s[o++] = '-';
        }
        s[o++] = (uuid ? low : up)[p[i] >> 4];
        s[o++] = (uuid ? low : up)[p[i] & 15];
    }
    s[o] = '\0';
    v = json_string(s);
    free(s);
    return v;
}

/* An integer partition value of field `pf`.  Returns a new reference. */
static json_t *int_json(const struct pfield *pf, int64_t v)
{
    unsigned char be[8];
    json_t       *j = NULL;
    int           i;

    switch (pf->type) {
    case P_DATE:
        j = date_json(v);
        break;
    case P_TIME:
        j = time_json(v, 1000000, false, "");
        break;
    case P_TS:
    case P_TSTZ:
        j = time_json(v, 1000000, true, pf->type == P_TSTZ ? "+00:00" : "");
        break;
    case P_TS_NS:
    case P_TSTZ_NS:
        j = time_json(v, 1000000000, true,
                      pf->type == P_TSTZ_NS ? "+00:00" : "");
        break;
    case P_DECIMAL:
        for (i = 0; i < 8; i++) {
            be[i] = (unsigned char)((uint64_t)v >> (56 - 8 * i));
        }
        j = decimal_json(be, 8, pf->scale);
        break;
    default:
        break;
    }
    return j != NULL ? j : json_integer(v);
}

/* A float partition value: a number, or a string for NaN and infinities
 * (JSON has no literal for them).  Returns a new reference. */
static json_t *real_json(double d)
{
    if (isnan(d)) {
        return json_string("NaN");
    }
    if (isinf(d)) {
        return json_string(d > 0 ? "Infinity" : "-Infinity");
    }
    return json_real(d);
}

/* A bytes or fixed partition value.  Returns a new reference. */
static json_t *bytes_json(const struct pfield *pf, const void *p, size_t n)
{
    json_t *j = NULL;

    if (pf->type == P_DECIMAL) {
        j = decimal_json(p, n, pf->scale);
    }
    return j != NULL ? j : hex_json(p, n, pf->type == P_UUID);
}

/*
 * The JSON single-value form of the partition value `v` (a union already
 * resolved) of field `pf`.  Returns a new reference, or NULL with m->why
 * set.
 */
static json_t *pvalue(struct rd *m, avro_value_t *v, const struct pfield *pf)
{
    int32_t     i32;
    int64_t     i64;
    float       f;
    double      d;
    int         b;
    const char *s;
    const void *p;
    size_t      n;
    json_t     *j;

    switch (avro_value_get_type(v)) {
    case AVRO_NULL:
        return json_null();
    case AVRO_BOOLEAN:
        return avro_value_get_boolean(v, &b) == 0 ? json_boolean(b) : NULL;
    case AVRO_INT32:
        return avro_value_get_int(v, &i32) == 0 ? int_json(pf, i32) : NULL;
    case AVRO_INT64:
        return avro_value_get_long(v, &i64) == 0 ? int_json(pf, i64) : NULL;
    case AVRO_FLOAT:
        return avro_value_get_float(v, &f) == 0 ? real_json(f) : NULL;
    case AVRO_DOUBLE:
        return avro_value_get_double(v, &d) == 0 ? real_json(d) : NULL;
    case AVRO_BYTES:
        return avro_value_get_bytes(v, &p, &n) == 0 ? bytes_json(pf, p, n)
                                                    : NULL;
    case AVRO_FIXED:
        return avro_value_get_fixed(v, &p, &n) == 0 ? bytes_json(pf, p, n)
                                                    : NULL;
    case AVRO_STRING:
        /* NB: libavro's size counts the terminating NUL it adds */
        if (avro_value_get_string(v, &s, &n) != 0 || n == 0) {
            break;
        }
        j = memchr(s, '\0', n - 1) == NULL ? json_stringn(s, n - 1) : NULL;
        if (j == NULL) {
            bad(m, "record %" PRId64 ": partition field \"%s\" is not a "
                "valid string", m->recno, pf->name);
        }
        return j;
    default:
        break;
    }
    return NULL;
}

/* The partition record `rec` into m->part and m->part_key. */
static bool partition_take(struct rd *m, avro_value_t *rec)
{
    json_t      *obj = json_object();
    json_t      *arr = json_array();
    json_t      *j;
    avro_value_t f;
    avro_value_t b;
    avro_value_t *v;
    size_t       n = 0;
    size_t       i;
    bool         ok = false;

    if (avro_value_get_size(rec, &n) != 0 || FL_NEVER(n != m->npf)) {
        avro_detail(m);
        goto out;
    }
    for (i = 0; i < n; i++) {
        v = &f;
        if (avro_value_get_by_index(rec, i, &f, NULL) != 0 ||
            (avro_value_get_type(&f) == AVRO_UNION &&
             avro_value_get_current_branch(&f, &b) != 0)) {
            avro_detail(m);
            goto out;
        }
        if (avro_value_get_type(&f) == AVRO_UNION) {
            v = &b;
        }
        j = pvalue(m, v, &m->pf[i]);
        if (j == NULL) {
            goto out;
        }
        json_object_set(obj, m->pf[i].name, j);
        json_array_append_new(arr, j);
    }
    json_decref(m->part);
    free(m->part_key);
    m->part = obj;
    obj = NULL;
    m->part_key = json_dumps(arr, JSON_COMPACT | JSON_ENCODE_ANY);
    ok = FL_ALWAYS(m->part_key != NULL);
out:
    if (!ok) {
        bad(m, "record %" PRId64 ": field \"partition\" could not be read",
            m->recno);
    }
    json_decref(obj);
    json_decref(arr);
    return ok;
}

/* -------------------------------------------------- column statistics */

/* The statistics of column `id` of the current record, added when new;
 * NULL past MAX_STAT_COLUMNS.  m->st stays sorted by field id. */
static struct cat_column_stats *stat_column(struct rd *m, int32_t id)
{
    size_t                   lo = 0;
    size_t                   hi = m->nst;
    size_t                   mid;
    struct cat_column_stats *c;

    if (hi > 0 && m->st[hi - 1].field_id < id) {
        lo = hi;                        /* the usual case: ascending ids */
    }
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (m->st[mid].field_id == id) {
            return &m->st[mid];
        }
        if (m->st[mid].field_id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (m->nst >= MAX_STAT_COLUMNS) {
        return NULL;
    }
    if (m->nst == m->capst) {
        m->capst = m->capst ? m->capst * 2 : 64;
        m->st = fl_xrealloc(m->st, m->capst * sizeof(*m->st));
    }
    memmove(&m->st[lo + 1], &m->st[lo], (m->nst - lo) * sizeof(*m->st));
    m->nst++;
    c = &m->st[lo];
    memset(c, 0, sizeof(*c));
    c->field_id = id;
    c->column_size = c->value_count = c->null_count = c->nan_count = -1;
    return c;
}

/* One map value `val` into the member of `c` that `slot` names. */
static bool stat_set(struct cat_column_stats *c, avro_value_t *val, int slot)
{
    const void *p;
    size_t      n;
    int32_t     i32;
    int64_t     v;

    if (slot == S_LOWER || slot == S_UPPER) {
        if (avro_value_get_bytes(val, &p, &n) != 0) {
            return false;
        }
        *(slot == S_LOWER ? &c->lower : &c->upper) = p;
        *(slot == S_LOWER ? &c->lower_len : &c->upper_len) = n;
        return true;
    }
    if (avro_value_get_type(val) == AVRO_INT32) {
        if (avro_value_get_int(val, &i32) != 0) {
            return false;
        }
        v = i32;
    } else if (avro_value_get_long(val, &v) != 0) {
        return false;
    }
    *(slot == S_SIZE ? &c->column_size : slot == S_VALUES ? &c->value_count
      : slot == S_NULLS ? &c->null_count : &c->nan_count) = v;
    return true;
}

/* An int-keyed metrics map `v` of wanted field `w` into m->st. */
static bool stats_take(struct rd *m, avro_value_t *v, const struct fspec *w)
{
    bool                     arr = avro_value_get_type(v) == AVRO_ARRAY;
    avro_value_t             item;
    avro_value_t             key;
    avro_value_t             val;
    const char              *mkey = NULL;
    struct cat_column_stats *c;
    int32_t                  id = 0;
    int64_t                  num;
    size_t                   n = 0;
    size_t                   i;

    if (avro_value_get_size(v, &n) != 0) {
        goto fail;
    }
    for (i = 0; i < n; i++) {
        if (avro_value_get_by_index(v, i, &item, &mkey) != 0) {
            goto fail;
        }
        if (arr && (avro_value_get_by_name(&item, "key", &key, NULL) != 0 ||
                    avro_value_get_int(&key, &id) != 0 ||
                    avro_value_get_by_name(&item, "value", &val, NULL) != 0)) {
            goto fail;
        }
        if (!arr) {
            if (mkey == NULL || !fl_parse_i64(mkey, INT32_MIN, INT32_MAX,
                                              &num)) {
                goto fail;
            }
            id = (int32_t)num;
            val = item;
        }
        c = stat_column(m, id);
        if (c == NULL) {
            return bad(m, "record %" PRId64 ": too many columns with "
                       "statistics", m->recno);
        }
        if (!stat_set(c, &val, w->slot)) {
            goto fail;
        }
    }
    return true;
fail:
    avro_detail(m);
    return bad(m, "record %" PRId64 ": field \"%s\" could not be read",
               m->recno, w->name);
}

/* Forget the previous record's partition and statistics. */
static void record_reset(struct rd *m)
{
    json_decref(m->part);
    free(m->part_key);
    m->part = NULL;
    m->part_key = NULL;
    m->nst = 0;
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
    switch (w->kind) {
    case K_RECORD:
        return record_take(m, v, pl->sub);
    case K_PARTITION:
        return partition_take(m, v);
    case K_COUNTS:
    case K_BOUNDS:
        return stats_take(m, v, w);
    default:
        return value_take(m, v, w, out);
    }
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
        record_reset(m);
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
    struct hdr    h = {NULL, {NULL, NULL}, NULL};
    avro_schema_t schema = NULL;
    long          budget = SCHEMA_MAX_NODES;
    bool          ok = false;

    /* NB: only manifests carry partition-spec-id; lists are not judged. */
    m->spec_id = -1;
    if (!header_read(m, buf, &h) || !header_codec(m, &h) ||
        !blocks_check(m, &h) ||
        (m->file_fn != NULL && !header_spec_id(m, &h))) {
        goto out;
    }
    if (m->file_fn != NULL) {
        header_partition(m, &h);
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
    record_reset(m);
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
    free(m->st);
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

enum {
    D_CONTENT, D_PATH, D_FORMAT, D_RECORDS, D_SIZE, D_PARTITION,
    D_SIZES, D_VALUES, D_NULLS, D_NANS, D_LOWER, D_UPPER, D_REFERENCED, D_N
};
enum { E_STATUS, E_SNAPSHOT, E_SEQ, E_FILE, E_N };

/* spec: manifest file, notes/ICEBERG.md 4.3 */
static const struct fspec data_file_want[D_N] = {
    [D_CONTENT] = {"content", NULL, K_INT, false, 0, NULL, 0},
    [D_PATH] = {"file_path", NULL, K_STRING, true, 0, NULL, 0},
    [D_FORMAT] = {"file_format", NULL, K_STRING, true, 0, NULL, 0},
    [D_RECORDS] = {"record_count", NULL, K_LONG, true, 0, NULL, 0},
    [D_SIZE] = {"file_size_in_bytes", NULL, K_LONG, true, 0, NULL, 0},
    [D_PARTITION] = {"partition", NULL, K_PARTITION, false, 0, NULL, 0},
    [D_SIZES] = {"column_sizes", NULL, K_COUNTS, false, 0, NULL, 0, S_SIZE},
    [D_VALUES] = {"value_counts", NULL, K_COUNTS, false, 0, NULL, 0,
                  S_VALUES},
    [D_NULLS] = {"null_value_counts", NULL, K_COUNTS, false, 0, NULL, 0,
                 S_NULLS},
    [D_NANS] = {"nan_value_counts", NULL, K_COUNTS, false, 0, NULL, 0,
                S_NANS},
    [D_LOWER] = {"lower_bounds", NULL, K_BOUNDS, false, 0, NULL, 0, S_LOWER},
    [D_UPPER] = {"upper_bounds", NULL, K_BOUNDS, false, 0, NULL, 0, S_UPPER},
    [D_REFERENCED] = {"referenced_data_file", NULL, K_STRING, false, 0,
                      NULL, 0},
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
    if (m->part == NULL) {              /* no partition field: unpartitioned */
        m->part = json_object();
        m->part_key = fl_xstrdup("[]");
    }
    f.partition = m->part;
    f.partition_key = m->part_key;
    f.stats = m->st;
    f.nstats = (int)m->nst;
    f.referenced_data_file = df->vals[D_REFERENCED].present
                                 ? df->vals[D_REFERENCED].s : NULL;
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
