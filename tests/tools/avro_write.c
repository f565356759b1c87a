/*
 * avro_write.c
 *
 * Test tooling: writes Avro object container files the way Iceberg writers
 * do, so the manifest reader (catalog/cat_manifest.c) can be tested against
 * conformant files without a JVM.
 *
 * NB: libavro's own file writer is not used.  It cannot write key-value
 * metadata (Iceberg puts the partition spec, schema and format version
 * there), and it re-renders the schema with avro_schema_to_json, which drops
 * the "field-id" attributes Iceberg readers rely on.  So the container
 * framing (magic, metadata map, sync markers, blocks, deflate and snappy)
 * is written here, the schema text is stored exactly as given, and libavro
 * only parses that text and binary-encodes each record (avro_value_write).
 *
 * Snappy blocks are compressed by a small greedy encoder here (literals and
 * two-byte-offset copies, the raw format's simplest elements), followed by
 * the big-endian CRC-32 of the uncompressed block, as the Avro spec's
 * snappy codec defines; the reader decodes them with libavro (libsnappy).
 * A codec other than "null", "deflate" and "snappy" is recorded in the
 * header as given over uncompressed blocks: a hook for tests of
 * unsupported codecs.
 *
 * Schemas follow the Iceberg spec's manifest_file and manifest_entry tables
 * (notes/ICEBERG.md sections 4.2 and 4.3) for format versions 1 to 3; a
 * manifest's partition struct has the spec's fields (optional, with their
 * field ids and the Avro logical types Iceberg writes: date, time-micros,
 * timestamp-micros with adjust-to-utc, uuid and decimal on fixed), and
 * data files may carry metrics for any columns.  The manifest list's
 * partition summaries stay empty.  Not deliberately covered: key metadata,
 * deletion vectors.
 */
#include "avro_write.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#define DEFAULT_BLOCK_RECORDS 100

struct avw_file {
    avro_schema_t       schema;
    avro_value_iface_t *iface;
    avro_value_t        rec;            /* the record being filled */
    char               *codec;
    size_t              block_records;
    struct fl_buf       meta;           /* encoded user metadata entries */
    long                nmeta;
    struct fl_buf       recs;           /* encoded records, back to back */
    size_t             *ends;           /* end offset of each record */
    size_t              nrecs;
    size_t              cap;
};

static bool fail(struct fl_err *err, const char *what, const char *detail)
{
    return FL_ERR(err, 500, "InternalServerError", "could not %s: %s", what,
                  detail);
}

/* ------------------------------------------------------------ encoding */

static void put_long(struct fl_buf *b, int64_t v)
{
    uint64_t      u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    unsigned char out[10];
    size_t        n = 0;

    while (u >= 0x80) {
        out[n++] = (unsigned char)(u | 0x80);
        u >>= 7;
    }
    out[n++] = (unsigned char)u;
    fl_buf_append(b, out, n);
}

static void put_bytes(struct fl_buf *b, const void *p, size_t n)
{
    put_long(b, (int64_t)n);
    fl_buf_append(b, p, n);
}

/* Raw deflate (RFC 1951), as the Avro "deflate" codec specifies. */
static bool deflate_raw(const char *in, size_t n, struct fl_buf *out)
{
    z_stream z;
    uLong    bound;
    char    *p;
    bool     ok;

    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        return false;
    }
    bound = deflateBound(&z, (uLong)n);
    p = fl_xmalloc(bound);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)p;
    z.avail_out = (uInt)bound;
    ok = deflate(&z, Z_FINISH) == Z_STREAM_END;
    if (ok) {
        fl_buf_append(out, p, z.total_out);
    }
    deflateEnd(&z);
    free(p);
    return ok;
}

/* -------------------------------------------------------------- snappy */

static void snappy_literal(struct fl_buf *b, const unsigned char *p, size_t n)
{
    unsigned char tag[3];
    size_t        k;

    while (n > 0) {
        k = n < 65536 ? n : 65536;
        if (k <= 60) {
            tag[0] = (unsigned char)((k - 1) << 2);
            fl_buf_append(b, tag, 1);
        } else if (k <= 256) {
            tag[0] = 60 << 2;
            tag[1] = (unsigned char)(k - 1);
            fl_buf_append(b, tag, 2);
        } else {
            tag[0] = 61 << 2;
            tag[1] = (unsigned char)((k - 1) & 0xff);
            tag[2] = (unsigned char)((k - 1) >> 8);
            fl_buf_append(b, tag, 3);
        }
        fl_buf_append(b, p, k);
        p += k;
        n -= k;
    }
}

/* Copies with a two-byte offset: up to 64 bytes each. */
static void snappy_copy(struct fl_buf *b, size_t off, size_t len)
{
    unsigned char tag[3];
    size_t        k;

    while (len > 0) {
        k = len < 64 ? len : 64;
        tag[0] = (unsigned char)(((k - 1) << 2) | 2);
        tag[1] = (unsigned char)(off & 0xff);
        tag[2] = (unsigned char)(off >> 8);
        fl_buf_append(b, tag, 3);
        len -= k;
    }
}

/*
 * The raw snappy form of `in`: the uncompressed length as a varint, then
 * literals and copies found by a greedy match on 4-byte prefixes.
 */
static void snappy_raw(const unsigned char *in, size_t n, struct fl_buf *out)
{
    size_t        table[4096];          /* position + 1 per prefix hash */
    unsigned char pre[5];
    size_t        np = 0;
    size_t        i = 0;
    size_t        lit = 0;
    size_t        cand;
    size_t        len;
    uint32_t      h;
    uint64_t      v = n;

    do {
        pre[np++] = (unsigned char)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
        v >>= 7;
    } while (v != 0);
    fl_buf_append(out, pre, np);
    memset(table, 0, sizeof(table));
    while (i + 4 <= n) {
        h = (uint32_t)((in[i] | in[i + 1] << 8 | in[i + 2] << 16 |
                        (uint32_t)in[i + 3] << 24) * 2654435761u) >> 20;
        cand = table[h];
        table[h] = i + 1;
        if (cand == 0 || i - (cand - 1) > 65535 ||
            memcmp(in + cand - 1, in + i, 4) != 0) {
            i++;
            continue;
        }
        cand--;
        snappy_literal(out, in + lit, i - lit);
        for (len = 4; i + len < n && in[cand + len] == in[i + len]; len++) {
        }
        snappy_copy(out, i - cand, len);
        i += len;
        lit = i;
    }
    snappy_literal(out, in + lit, n - lit);
}

/* ----------------------------------------------------- container files */

/*
 * Start a container file in memory whose records follow `schema_json`
 * (borrowed; stored in the header verbatim).  `codec` is "null", "deflate"
 * or, for tests, any other name (see the file comment).  Returns NULL and
 * sets a 500 in `err` when libavro rejects the schema.
 */
struct avw_file *avw_file_new(const char *schema_json, const char *codec,
                              struct fl_err *err)
{
    struct avw_file *f = fl_xcalloc(1, sizeof(*f));

    if (avro_schema_from_json_length(schema_json, strlen(schema_json),
                                     &f->schema) != 0) {
        fail(err, "parse Avro schema", avro_strerror());
        free(f);
        return NULL;
    }
    f->iface = avro_generic_class_from_schema(f->schema);
    if (f->iface == NULL || avro_generic_value_new(f->iface, &f->rec) != 0) {
        fail(err, "create Avro value", avro_strerror());
        if (f->iface != NULL) {
            avro_value_iface_decref(f->iface);
        }
        avro_schema_decref(f->schema);
        free(f);
        return NULL;
    }
    fl_buf_init(&f->meta, NULL, 0);
    fl_buf_init(&f->recs, NULL, 0);
    f->codec = fl_xstrdup(codec != NULL ? codec : "null");
    f->block_records = DEFAULT_BLOCK_RECORDS;
    put_bytes(&f->meta, "avro.schema", strlen("avro.schema"));
    put_bytes(&f->meta, schema_json, strlen(schema_json));
    put_bytes(&f->meta, "avro.codec", strlen("avro.codec"));
    put_bytes(&f->meta, f->codec, strlen(f->codec));
    f->nmeta = 2;
    return f;
}

/* Add one key-value metadata entry (both strings borrowed). */
void avw_file_meta(struct avw_file *f, const char *key, const char *value)
{
    put_bytes(&f->meta, key, strlen(key));
    put_bytes(&f->meta, value, strlen(value));
    f->nmeta++;
}

/* Records per data block when saving; 0 puts them all in one block. */
void avw_file_block_records(struct avw_file *f, size_t n)
{
    f->block_records = n;
}

/* Set every union of `v` (and of records nested in it) to its branch 0. */
static void null_unions(avro_value_t *v)
{
    avro_value_t child;
    size_t       i;
    size_t       n = 0;

    if (avro_value_get_type(v) == AVRO_UNION) {
        avro_value_set_branch(v, 0, &child);
        return;
    }
    if (avro_value_get_type(v) != AVRO_RECORD) {
        return;
    }
    avro_value_get_size(v, &n);
    for (i = 0; i < n; i++) {
        if (avro_value_get_by_index(v, i, &child, NULL) == 0) {
            null_unions(&child);
        }
    }
}

/*
 * The record to fill for the next avw_file_append: reset, with every union
 * on its first branch (null in Iceberg's schemas).  Borrowed from `f`.
 */
avro_value_t *avw_file_record(struct avw_file *f)
{
    avro_value_reset(&f->rec);
    null_unions(&f->rec);
    return &f->rec;
}

/* Encode the current record and add it to the file. */
bool avw_file_append(struct avw_file *f, struct fl_err *err)
{
    size_t        size = 0;
    char         *p;
    avro_writer_t w;
    int           rc;

    if (avro_value_sizeof(&f->rec, &size) != 0) {
        return fail(err, "size Avro record", avro_strerror());
    }
    p = fl_xmalloc(size + 1);
    w = avro_writer_memory(p, (int64_t)size);
    rc = avro_value_write(w, &f->rec);
    avro_writer_free(w);
    if (rc != 0) {
        free(p);
        return fail(err, "encode Avro record", avro_strerror());
    }
    fl_buf_append(&f->recs, p, size);
    free(p);
    if (f->nrecs == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 16;
        f->ends = fl_xrealloc(f->ends, f->cap * sizeof(*f->ends));
    }
    f->ends[f->nrecs++] = f->recs.len;
    return true;
}

/* Append records [from, to) as one data block with its sync marker. */
static bool put_block(struct avw_file *f, struct fl_buf *out, size_t from,
                      size_t to, const unsigned char sync[16])
{
    size_t        lo = from == 0 ? 0 : f->ends[from - 1];
    size_t        hi = f->ends[to - 1];
    struct fl_buf z;
    bool          ok = true;
    unsigned char crc[4];
    uLong         c;

    put_long(out, (int64_t)(to - from));
    if (strcmp(f->codec, "deflate") == 0) {
        fl_buf_init(&z, NULL, 0);
        ok = deflate_raw(f->recs.p + lo, hi - lo, &z);
        put_bytes(out, z.p, z.len);
        fl_buf_release(&z);
    } else if (strcmp(f->codec, "snappy") == 0) {
        fl_buf_init(&z, NULL, 0);
        snappy_raw((const unsigned char *)f->recs.p + lo, hi - lo, &z);
        c = crc32(0, (const Bytef *)f->recs.p + lo, (uInt)(hi - lo));
        crc[0] = (unsigned char)(c >> 24);
        crc[1] = (unsigned char)(c >> 16);
        crc[2] = (unsigned char)(c >> 8);
        crc[3] = (unsigned char)c;
        fl_buf_append(&z, crc, 4);
        put_bytes(out, z.p, z.len);
        fl_buf_release(&z);
    } else {
        put_bytes(out, f->recs.p + lo, hi - lo);
    }
    fl_buf_append(out, sync, 16);
    return ok;
}

/* Write the whole container file to the local file `path` (replaced). */
bool avw_file_save(struct avw_file *f, const char *path, struct fl_err *err)
{
    struct fl_buf out;
    unsigned char sync[16];
    size_t        i;
    size_t        step = f->block_records ? f->block_records : f->nrecs;
    FILE         *fp = NULL;
    bool          ok = false;

    fl_buf_init(&out, NULL, 0);
    fl_random_bytes(sync, sizeof(sync));
    fl_buf_append(&out, "Obj\x01", 4);
    put_long(&out, f->nmeta);
    fl_buf_append(&out, f->meta.p, f->meta.len);
    put_long(&out, 0);
    fl_buf_append(&out, sync, sizeof(sync));
    for (i = 0; i < f->nrecs; i += step) {
        if (!put_block(f, &out, i, i + step < f->nrecs ? i + step : f->nrecs,
                       sync)) {
            fail(err, "compress Avro block", "zlib failed");
            goto out;
        }
    }
    fp = fopen(path, "wb");
    if (fp == NULL || fwrite(out.p, 1, out.len, fp) != out.len) {
        fail(err, "write Avro file", strerror(errno));
        goto out;
    }
    ok = true;
out:
    if (fp != NULL && fclose(fp) != 0 && ok) {
        ok = fail(err, "write Avro file", strerror(errno));
    }
    fl_buf_release(&out);
    return ok;
}

/*
 * Write the file with libavro's own writer instead, for interoperability
 * tests: the codec is libavro's, and the header keeps neither the key-value
 * metadata nor the field ids (see the file comment).  `block_bytes` is
 * libavro's block buffer size (0: its default of 16 KiB).
 */
bool avw_file_save_libavro(struct avw_file *f, const char *path,
                           size_t block_bytes, struct fl_err *err)
{
    avro_file_writer_t w;
    size_t             i;
    size_t             lo = 0;

    remove(path);
    if (avro_file_writer_create_with_codec(path, f->schema, &w, f->codec,
                                           block_bytes) != 0) {
        return fail(err, "create Avro file", avro_strerror());
    }
    for (i = 0; i < f->nrecs; i++) {
        if (avro_file_writer_append_encoded(w, f->recs.p + lo,
                                            (int64_t)(f->ends[i] - lo)) != 0) {
            fail(err, "append Avro record", avro_strerror());
            avro_file_writer_close(w);
            return false;
        }
        lo = f->ends[i];
    }
    if (avro_file_writer_close(w) != 0) {
        return fail(err, "write Avro file", avro_strerror());
    }
    return true;
}

void avw_file_free(struct avw_file *f)
{
    if (f == NULL) {
        return;
    }
    avro_value_decref(&f->rec);
    avro_value_iface_decref(f->iface);
    avro_schema_decref(f->schema);
    fl_buf_release(&f->meta);
    fl_buf_release(&f->recs);
    free(f->ends);
    free(f->codec);
    free(f);
}

/* ------------------------------------------------------ field setters */

/*
 * The field `name` of `rec`, seen through a ["null", T] union: the union is
 * switched to its non-null branch.  False when there is no such field.
 */
static bool field_value(avro_value_t *rec, const char *name, avro_value_t *out)
{
    avro_value_t f;

    if (avro_value_get_by_name(rec, name, &f, NULL) != 0) {
        return false;
    }
    if (avro_value_get_type(&f) == AVRO_UNION) {
        return avro_value_set_branch(&f, 1, out) == 0;
    }
    *out = f;
    return true;
}

bool avw_set_null(avro_value_t *rec, const char *name)
{
    avro_value_t f;
    avro_value_t b;

    return avro_value_get_by_name(rec, name, &f, NULL) == 0 &&
           avro_value_set_branch(&f, 0, &b) == 0;
}

bool avw_set_int(avro_value_t *rec, const char *name, int32_t v)
{
    avro_value_t f;

    return field_value(rec, name, &f) && avro_value_set_int(&f, v) == 0;
}

bool avw_set_long(avro_value_t *rec, const char *name, int64_t v)
{
    avro_value_t f;

    return field_value(rec, name, &f) && avro_value_set_long(&f, v) == 0;
}

bool avw_set_string(avro_value_t *rec, const char *name, const char *v)
{
    avro_value_t f;

    return field_value(rec, name, &f) && avro_value_set_string(&f, v) == 0;
}

/* A record, array or map field (non-null branch), to fill in place. */
bool avw_child(avro_value_t *rec, const char *name, avro_value_t *out)
{
    return field_value(rec, name, out);
}

/* -------------------------------------------------------------- schemas */

#define V1   (1u << 1)
#define V2   (1u << 2)
#define V3   (1u << 3)
#define V23  (V2 | V3)
#define VALL (V1 | V2 | V3)

struct fdef {
    int         id;
    const char *name;
    const char *name_v1;    /* the v1 name when it differs */
    const char *type;       /* JSON; NULL: the nested record given */
    unsigned    in;         /* versions that have the field */
    unsigned    opt;        /* versions where it is optional */
};

/* An int-keyed map as Iceberg writes it: an array of key/value records. */
#define INT_MAP(k, v, vt)                                                  \
    "{\"type\":\"array\",\"logicalType\":\"map\",\"items\":{"              \
    "\"type\":\"record\",\"name\":\"k" #k "_v" #v "\",\"fields\":["        \
    "{\"name\":\"key\",\"type\":\"int\",\"field-id\":" #k "},"             \
    "{\"name\":\"value\",\"type\":\"" vt "\",\"field-id\":" #v "}]}}"
#define LIST(e, t) \
    "{\"type\":\"array\",\"items\":\"" t "\",\"element-id\":" #e "}"

static const struct fdef data_file_fields[] = {
    {134, "content", NULL, "\"int\"", V23, 0},
    {100, "file_path", NULL, "\"string\"", VALL, 0},
    {101, "file_format", NULL, "\"string\"", VALL, 0},
    {102, "partition", NULL, NULL, VALL, 0},
    {103, "record_count", NULL, "\"long\"", VALL, 0},
    {104, "file_size_in_bytes", NULL, "\"long\"", VALL, 0},
    {105, "block_size_in_bytes", NULL, "\"long\"", V1, 0},
    {108, "column_sizes", NULL, INT_MAP(117, 118, "long"), VALL, VALL},
    {109, "value_counts", NULL, INT_MAP(119, 120, "long"), VALL, VALL},
    {110, "null_value_counts", NULL, INT_MAP(121, 122, "long"), VALL, VALL},
    {137, "nan_value_counts", NULL, INT_MAP(138, 139, "long"), VALL, VALL},
    {125, "lower_bounds", NULL, INT_MAP(126, 127, "bytes"), VALL, VALL},
    {128, "upper_bounds", NULL, INT_MAP(129, 130, "bytes"), VALL, VALL},
    {131, "key_metadata", NULL, "\"bytes\"", VALL, VALL},
    {132, "split_offsets", NULL, LIST(133, "long"), VALL, VALL},
    {135, "equality_ids", NULL, LIST(136, "int"), V23, V23},
    {140, "sort_order_id", NULL, "\"int\"", VALL, VALL},
    {142, "first_row_id", NULL, "\"long\"", V3, V3},
    {143, "referenced_data_file", NULL, "\"string\"", V23, V23},
    {144, "content_offset", NULL, "\"long\"", V3, V3},
    {145, "content_size_in_bytes", NULL, "\"long\"", V3, V3},
};

static const struct fdef manifest_entry_fields[] = {
    {0, "status", NULL, "\"int\"", VALL, 0},
    {1, "snapshot_id", NULL, "\"long\"", VALL, V23},
    {3, "sequence_number", NULL, "\"long\"", V23, V23},
    {4, "file_sequence_number", NULL, "\"long\"", V23, V23},
    {2, "data_file", NULL, NULL, VALL, 0},
};

static const struct fdef manifest_file_fields[] = {
    {500, "manifest_path", NULL, "\"string\"", VALL, 0},
    {501, "manifest_length", NULL, "\"long\"", VALL, 0},
    {502, "partition_spec_id", NULL, "\"int\"", VALL, 0},
    {517, "content", NULL, "\"int\"", V23, 0},
    {515, "sequence_number", NULL, "\"long\"", V23, 0},
    {516, "min_sequence_number", NULL, "\"long\"", V23, 0},
    {503, "added_snapshot_id", NULL, "\"long\"", VALL, 0},
    {504, "added_files_count", "added_data_files_count", "\"int\"", VALL, V1},
    {505, "existing_files_count", "existing_data_files_count", "\"int\"",
     VALL, V1},
    {506, "deleted_files_count", "deleted_data_files_count", "\"int\"",
     VALL, V1},
    {512, "added_rows_count", NULL, "\"long\"", VALL, V1},
    {513, "existing_rows_count", NULL, "\"long\"", VALL, V1},
    {514, "deleted_rows_count", NULL, "\"long\"", VALL, V1},
    {507, "partitions", NULL,
     "{\"type\":\"array\",\"element-id\":508,\"items\":{\"type\":\"record\","
     "\"name\":\"r508\",\"fields\":["
     "{\"name\":\"contains_null\",\"type\":\"boolean\",\"field-id\":509},"
     "{\"name\":\"contains_nan\",\"type\":[\"null\",\"boolean\"],"
     "\"default\":null,\"field-id\":518},"
     "{\"name\":\"lower_bound\",\"type\":[\"null\",\"bytes\"],"
     "\"default\":null,\"field-id\":510},"
     "{\"name\":\"upper_bound\",\"type\":[\"null\",\"bytes\"],"
     "\"default\":null,\"field-id\":511}]}}", VALL, VALL},
    {519, "key_metadata", NULL, "\"bytes\"", VALL, VALL},
    {520, "first_row_id", NULL, "\"long\"", V3, V3},
};

/* A record schema of the fields of `defs` present in format `v` (heap). */
static char *record_schema(const char *name, const struct fdef *defs,
                           size_t n, int v, const char *nested)
{
    struct fl_buf b;
    unsigned      bit = 1u << v;
    const char   *sep = "";
    size_t        i;

    fl_buf_init(&b, NULL, 0);
    fl_buf_printf(&b, "{\"type\":\"record\",\"name\":\"%s\",\"fields\":[",
                  name);
    for (i = 0; i < n; i++) {
        const struct fdef *d = &defs[i];
        const char        *type = d->type != NULL ? d->type : nested;
        const char        *fname = v == 1 && d->name_v1 ? d->name_v1
                                                        : d->name;

        if (!(d->in & bit)) {
            continue;
        }
        if (d->opt & bit) {
            fl_buf_printf(&b, "%s{\"name\":\"%s\",\"type\":[\"null\",%s],"
                          "\"default\":null,\"field-id\":%d}", sep, fname,
                          type, d->id);
        } else {
            fl_buf_printf(&b, "%s{\"name\":\"%s\",\"type\":%s,"
                          "\"field-id\":%d}", sep, fname, type, d->id);
        }
        sep = ",";
    }
    fl_buf_printf(&b, "]}");
    return b.p;
}

/* The decimal(P,S) of `type` (P, S set), or false. */
static bool decimal_of(const char *type, int *p, int *s)
{
    return sscanf(type, "decimal(%d,%d)", p, s) == 2 && *p > 0 && *p <= 38;
}

/* Bytes of the fixed Iceberg stores decimal(P, _) in: the fewest that
 * hold every P-digit unscaled value. */
static int decimal_bytes(int precision)
{
    int    n = 1;
    double max = 1;
    double cap = 128;                   /* 2^(8n - 1) */
    int    i;

    for (i = 0; i < precision; i++) {
        max *= 10;
    }
    while (cap < max) {
        cap *= 256;
        n++;
    }
    return n;
}

/* The Avro type JSON of a partition field of Iceberg type `t`. */
static void avro_type(struct fl_buf *b, const struct avw_part_field *f)
{
    const char *t = f->type;
    int         p;
    int         sc;
    int         len;

    if (strcmp(t, "date") == 0) {
        fl_buf_printf(b, "{\"type\":\"int\",\"logicalType\":\"date\"}");
    } else if (strcmp(t, "time") == 0) {
        fl_buf_printf(b, "{\"type\":\"long\","
                      "\"logicalType\":\"time-micros\"}");
    } else if (strcmp(t, "timestamp") == 0 || strcmp(t, "timestamptz") == 0) {
        fl_buf_printf(b, "{\"type\":\"long\","
                      "\"logicalType\":\"timestamp-micros\","
                      "\"adjust-to-utc\":%s}",
                      strcmp(t, "timestamptz") == 0 ? "true" : "false");
    } else if (strcmp(t, "uuid") == 0) {
        fl_buf_printf(b, "{\"type\":\"fixed\",\"name\":\"f%d\","
                      "\"size\":16,\"logicalType\":\"uuid\"}",
                      (int)f->field_id);
    } else if (sscanf(t, "fixed[%d]", &len) == 1) {
        fl_buf_printf(b, "{\"type\":\"fixed\",\"name\":\"f%d\","
                      "\"size\":%d}", (int)f->field_id, len);
    } else if (decimal_of(t, &p, &sc)) {
        fl_buf_printf(b, "{\"type\":\"fixed\",\"name\":\"f%d\","
                      "\"size\":%d,\"logicalType\":\"decimal\","
                      "\"precision\":%d,\"scale\":%d}", (int)f->field_id,
                      decimal_bytes(p), p, sc);
    } else if (strcmp(t, "binary") == 0) {
        fl_buf_printf(b, "\"bytes\"");
    } else {
        fl_buf_printf(b, "\"%s\"", t);    /* boolean int long ... string */
    }
}

/* The partition record r102 of the spec `fields` (heap). */
static char *partition_schema(const struct avw_part_field *fields, size_t n)
{
    struct fl_buf b;
    size_t        i;

    fl_buf_init(&b, NULL, 0);
    fl_buf_printf(&b, "{\"type\":\"record\",\"name\":\"r102\","
                  "\"fields\":[");
    for (i = 0; i < n; i++) {
        fl_buf_printf(&b, "%s{\"name\":\"%s\",\"type\":[\"null\",",
                      i ? "," : "", fields[i].name);
        avro_type(&b, &fields[i]);
        fl_buf_printf(&b, "],\"default\":null,\"field-id\":%d}",
                      (int)fields[i].field_id);
    }
    fl_buf_printf(&b, "]}");
    return b.p;
}

/* The manifest_entry schema of format `v` (1..3) with the partition
 * struct of `fields`, as JSON; free() it. */
char *avw_manifest_schema_partitioned(int format_version,
                                      const struct avw_part_field *fields,
                                      size_t n)
{
    char *part = partition_schema(fields, n);
    char *df = record_schema("r2", data_file_fields,
                             FL_ARRAY_LEN(data_file_fields), format_version,
                             part);
    char *s = record_schema("manifest_entry", manifest_entry_fields,
                            FL_ARRAY_LEN(manifest_entry_fields),
                            format_version, df);

    free(part);
    free(df);
    return s;
}

/* The manifest_entry schema of format `v` (1..3), unpartitioned, as JSON;
 * free() it. */
char *avw_manifest_schema(int format_version)
{
    return avw_manifest_schema_partitioned(format_version, NULL, 0);
}

/* The manifest_file schema of format `v` (1..3) as JSON; free() it. */
char *avw_list_schema(int format_version)
{
    return record_schema("manifest_file", manifest_file_fields,
                         FL_ARRAY_LEN(manifest_file_fields), format_version,
                         NULL);
}

/* ------------------------------------------------------------ manifests */

/* One {key, value} item of an int-keyed map field: the bytes `bv` (`bn`
 * long) when not NULL, else the long `lv`. */
static bool map_add(avro_value_t *rec, const char *name, int32_t key,
                    int64_t lv, const void *bv, size_t bn)
{
    avro_value_t arr;
    avro_value_t item;
    avro_value_t f;

    if (!avw_child(rec, name, &arr) ||
        avro_value_append(&arr, &item, NULL) != 0 ||
        avro_value_get_by_name(&item, "key", &f, NULL) != 0 ||
        avro_value_set_int(&f, key) != 0 ||
        avro_value_get_by_name(&item, "value", &f, NULL) != 0) {
        return false;
    }
    if (bv != NULL) {
        return avro_value_set_bytes(&f, (void *)(uintptr_t)bv, bn) == 0;
    }
    return avro_value_set_long(&f, lv) == 0;
}

/* The metrics of `st`, each map only with the columns that have a value. */
static bool stats_fill(avro_value_t *df, const struct avw_stats *st, size_t n)
{
    const struct avw_stats *c;
    size_t                  i;
    bool                    ok = true;

    for (i = 0; ok && i < n; i++) {
        c = &st[i];
        ok = (c->column_size < 0 ||
              map_add(df, "column_sizes", c->field_id, c->column_size, NULL,
                      0)) &&
             (c->value_count < 0 ||
              map_add(df, "value_counts", c->field_id, c->value_count, NULL,
                      0)) &&
             (c->null_count < 0 ||
              map_add(df, "null_value_counts", c->field_id, c->null_count,
                      NULL, 0)) &&
             (c->nan_count < 0 ||
              map_add(df, "nan_value_counts", c->field_id, c->nan_count,
                      NULL, 0)) &&
             (c->lower == NULL ||
              map_add(df, "lower_bounds", c->field_id, 0, c->lower,
                      c->lower_len)) &&
             (c->upper == NULL ||
              map_add(df, "upper_bounds", c->field_id, 0, c->upper,
                      c->upper_len));
    }
    return ok;
}

/* Column metrics: those given, else for field 1 as a writer with
 * statistics would add them. */
static bool data_file_metrics(avro_value_t *df, const struct avw_data_file *d)
{
    avro_value_t arr;
    avro_value_t item;

    if (d->nstats > 0 && !stats_fill(df, d->stats, d->nstats)) {
        return false;
    }
    return (d->nstats > 0 ||
            (map_add(df, "column_sizes", 1, d->size / 2, NULL, 0) &&
             map_add(df, "value_counts", 1, d->records, NULL, 0) &&
             map_add(df, "null_value_counts", 1, 0, NULL, 0) &&
             map_add(df, "lower_bounds", 1, 0, "\x01\0\0\0\0\0\0\0", 8) &&
             map_add(df, "upper_bounds", 1, 0, "\x7f", 1))) &&
           avw_child(df, "split_offsets", &arr) &&
           avro_value_append(&arr, &item, NULL) == 0 &&
           avro_value_set_long(&item, 4) == 0;
}

/* Hex text (blanks and dashes skipped) into `out`; the byte count, or -1. */
static long hex_bytes(const char *s, unsigned char *out, size_t max)
{
    size_t n = 0;
    int    hi = -1;
    int    d;

    for (; *s != '\0'; s++) {
        if (*s == '-' || *s == ' ') {
            continue;
        }
        d = *s >= '0' && *s <= '9' ? *s - '0'
          : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
          : *s >= 'A' && *s <= 'F' ? *s - 'A' + 10 : -1;
        if (d < 0 || (hi < 0 && n == max)) {
            return -1;
        }
        if (hi < 0) {
            hi = d;
        } else {
            out[n++] = (unsigned char)(hi << 4 | d);
            hi = -1;
        }
    }
    return hi < 0 ? (long)n : -1;
}

/* "YYYY-MM-DD", or a day number, as days since 1970-01-01. */
static bool date_days(const char *s, int64_t *days)
{
    struct tm tm;
    char     *end;

    if (fl_parse_i64(s, INT32_MIN, INT32_MAX, days)) {
        return true;
    }
    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%d", &tm);
    if (end == NULL || *end != '\0') {
        return false;
    }
    *days = (int64_t)timegm(&tm) / 86400;
    return true;
}

/* The unscaled integer text `s` as a big-endian two's complement of `n`
 * bytes (n <= 16). */
static bool decimal_fill(const char *s, unsigned char *out, int n)
{
    unsigned char mag[16];
    bool          neg = *s == '-';
    unsigned      carry;
    int           i;

    memset(mag, 0, sizeof(mag));
    s += neg;
    if (*s == '\0' || n > 16) {
        return false;
    }
    for (; *s != '\0'; s++) {          /* mag = mag * 10 + digit */
        if (*s < '0' || *s > '9') {
            return false;
        }
        carry = (unsigned)(*s - '0');
        for (i = 15; i >= 0; i--) {
            carry += mag[i] * 10u;
            mag[i] = (unsigned char)carry;
            carry >>= 8;
        }
    }
    for (i = 15, carry = 1; neg && i >= 0; i--) {  /* two's complement */
        carry += (unsigned char)~mag[i];
        mag[i] = (unsigned char)carry;
        carry >>= 8;
    }
    memcpy(out, mag + 16 - n, (size_t)n);
    return true;
}

/* The partition value text `s` into the (non-null branch) value `v`. */
static bool part_value(avro_value_t *v, const struct avw_part_field *f,
                       const char *s)
{
    unsigned char b[64];
    int64_t       i;
    long          n;
    int           p;
    int           sc;

    switch (avro_value_get_type(v)) {
    case AVRO_BOOLEAN:
        return avro_value_set_boolean(v, strcmp(s, "true") == 0) == 0;
    case AVRO_INT32:
        if (strcmp(f->type, "date") == 0) {
            return date_days(s, &i) && avro_value_set_int(v, (int32_t)i) == 0;
        }
        return fl_parse_i64(s, INT32_MIN, INT32_MAX, &i) &&
               avro_value_set_int(v, (int32_t)i) == 0;
    case AVRO_INT64:
        return fl_parse_i64(s, INT64_MIN, INT64_MAX, &i) &&
               avro_value_set_long(v, i) == 0;
    case AVRO_FLOAT:
        return avro_value_set_float(v, strtof(s, NULL)) == 0;
    case AVRO_DOUBLE:
        return avro_value_set_double(v, strtod(s, NULL)) == 0;
    case AVRO_STRING:
        return avro_value_set_string(v, s) == 0;
    case AVRO_BYTES:
        n = hex_bytes(s, b, sizeof(b));
        return n >= 0 && avro_value_set_bytes(v, b, (size_t)n) == 0;
    case AVRO_FIXED:
        if (decimal_of(f->type, &p, &sc)) {
            n = decimal_bytes(p);
            return n <= 16 && decimal_fill(s, b, (int)n) &&
                   avro_value_set_fixed(v, b, (size_t)n) == 0;
        }
        n = hex_bytes(s, b, sizeof(b));
        return n >= 0 && avro_value_set_fixed(v, b, (size_t)n) == 0;
    default:
        return false;
    }
}

/* The partition struct of `d` (fields of `m`), null where no text. */
static bool partition_fill(avro_value_t *df, const struct avw_manifest *m,
                           const struct avw_data_file *d)
{
    avro_value_t part;
    avro_value_t u;
    avro_value_t v;
    size_t       i;

    if (!avw_child(df, "partition", &part)) {
        return false;
    }
    for (i = 0; i < m->nfields; i++) {
        if (d->partition == NULL || d->partition[i] == NULL) {
            continue;               /* left on the null branch */
        }
        if (avro_value_get_by_index(&part, i, &u, NULL) != 0 ||
            avro_value_set_branch(&u, 1, &v) != 0 ||
            !part_value(&v, &m->fields[i], d->partition[i])) {
            return false;
        }
    }
    return true;
}

/* Null fields are left on the null branch set by avw_file_record. */
static bool entry_fill(avro_value_t *rec, const struct avw_manifest *m,
                       const struct avw_data_file *d)
{
    int          v = m->format_version;
    avro_value_t df;
    bool         ok;

    ok = avw_set_int(rec, "status", d->status) &&
         (d->snapshot_id < 0 ||
          avw_set_long(rec, "snapshot_id", d->snapshot_id)) &&
         (v < 2 || d->sequence_number < 0 ||
          avw_set_long(rec, "sequence_number", d->sequence_number)) &&
         (v < 2 || d->file_sequence_number < 0 ||
          avw_set_long(rec, "file_sequence_number",
                       d->file_sequence_number)) &&
         avw_child(rec, "data_file", &df);
    if (!ok) {
        return false;
    }
    return (v < 2 || avw_set_int(&df, "content", d->content)) &&
           avw_set_string(&df, "file_path", d->path) &&
           avw_set_string(&df, "file_format",
                          d->format ? d->format : "PARQUET") &&
           avw_set_long(&df, "record_count", d->records) &&
           avw_set_long(&df, "file_size_in_bytes", d->size) &&
           (v > 1 || avw_set_long(&df, "block_size_in_bytes", 67108864)) &&
           partition_fill(&df, m, d) &&
           (v < 2 || d->referenced_data_file == NULL ||
            avw_set_string(&df, "referenced_data_file",
                           d->referenced_data_file)) &&
           data_file_metrics(&df, d);
}

/* The type of the source column of partition field `f`, as a default
 * table schema gives it. */
static const char *source_type(const struct avw_part_field *f)
{
    if (strcmp(f->transform, "day") == 0 ||
        strcmp(f->transform, "month") == 0 ||
        strcmp(f->transform, "year") == 0) {
        return "date";
    }
    if (strcmp(f->transform, "hour") == 0) {
        return "timestamptz";
    }
    if (strncmp(f->transform, "bucket[", 7) == 0) {
        return "long";
    }
    return f->type;                 /* identity, truncate, void */
}

/* The table schema (unless given) and partition-spec metadata: column 1
 * "id" long, then each partition field's source column "c<id>". */
static void manifest_spec_meta(struct avw_file *f,
                               const struct avw_manifest *m)
{
    struct fl_buf b;
    size_t        i;
    size_t        j;

    fl_buf_init(&b, NULL, 0);
    fl_buf_printf(&b, "{\"type\":\"struct\",\"schema-id\":0,\"fields\":["
                  "{\"id\":1,\"name\":\"id\",\"required\":false,"
                  "\"type\":\"long\"}");
    for (i = 0; i < m->nfields; i++) {
        for (j = 0; j < i && m->fields[j].source_id != m->fields[i].source_id;
             j++) {
        }
        if (j == i && m->fields[i].source_id != 1) {
            fl_buf_printf(&b, ",{\"id\":%d,\"name\":\"c%d\","
                          "\"required\":false,\"type\":\"%s\"}",
                          (int)m->fields[i].source_id,
                          (int)m->fields[i].source_id,
                          source_type(&m->fields[i]));
        }
    }
    fl_buf_printf(&b, "]}");
    avw_file_meta(f, "schema", m->schema_json ? m->schema_json : b.p);
    fl_buf_release(&b);
    fl_buf_init(&b, NULL, 0);
    fl_buf_printf(&b, "[");
    for (i = 0; i < m->nfields; i++) {
        fl_buf_printf(&b, "%s{\"name\":\"%s\",\"transform\":\"%s\","
                      "\"source-id\":%d,\"field-id\":%d}", i ? "," : "",
                      m->fields[i].name, m->fields[i].transform,
                      (int)m->fields[i].source_id,
                      (int)m->fields[i].field_id);
    }
    fl_buf_printf(&b, "]");
    avw_file_meta(f, "partition-spec", b.p);
    fl_buf_release(&b);
}

static void manifest_meta(struct avw_file *f, const struct avw_manifest *m)
{
    char num[32];

    manifest_spec_meta(f, m);
    avw_file_meta(f, "schema-id", "0");
    snprintf(num, sizeof(num), "%" PRId32, m->spec_id);
    avw_file_meta(f, "partition-spec-id", num);
    snprintf(num, sizeof(num), "%d", m->format_version);
    avw_file_meta(f, "format-version", num);
    if (m->format_version >= 2) {
        avw_file_meta(f, "content", m->content ? "deletes" : "data");
    }
}

/*
 * Write a manifest with one manifest_entry per element of `files` to the
 * local file `path`.  Fields a format version lacks are ignored.  The
 * partition value texts: "true"/"false"; integers for int, long, time
 * and timestamps (the stored micros); "YYYY-MM-DD" or a day number for
 * date; the text itself for string; hex for binary, fixed and uuid
 * (dashes ignored); the unscaled integer for decimal.  Errors: 400 for an
 * unknown format version, 500 for encoding or I/O failures (a partition
 * text that does not fit its type among them).
 */
bool avw_manifest_write(const char *path, const struct avw_manifest *m,
                        const struct avw_data_file *files, size_t n,
                        struct fl_err *err)
{
    struct avw_file *f = NULL;
    char            *schema;
    size_t           i;
    bool             ok = false;

    if (m->format_version < 1 || m->format_version > 3) {
        return FL_ERR(err, 400, "BadRequestException",
                      "unsupported format version %d", m->format_version);
    }
    schema = avw_manifest_schema_partitioned(m->format_version, m->fields,
                                             m->nfields);
    f = avw_file_new(schema, m->codec, err);
    if (f == NULL) {
        goto out;
    }
    manifest_meta(f, m);
    avw_file_block_records(f, m->block_records);
    for (i = 0; i < n; i++) {
        if (!entry_fill(avw_file_record(f), m, &files[i])) {
            fail(err, "fill manifest entry", avro_strerror());
            goto out;
        }
        if (!avw_file_append(f, err)) {
            goto out;
        }
    }
    ok = m->libavro ? avw_file_save_libavro(f, path, m->libavro_block, err)
                    : avw_file_save(f, path, err);
out:
    avw_file_free(f);
    free(schema);
    return ok;
}

/* ------------------------------------------------------- manifest lists */

static bool count_set(avro_value_t *rec, int v, const char *name,
                      const char *name_v1, int64_t n, bool is_int)
{
    const char *fname = v == 1 && name_v1 != NULL ? name_v1 : name;

    if (n < 0 && v == 1) {
        return avw_set_null(rec, fname);
    }
    return is_int ? avw_set_int(rec, fname, (int32_t)n)
                  : avw_set_long(rec, fname, n);
}

static bool list_fill(avro_value_t *rec, int v,
                      const struct avw_manifest_file *m)
{
    avro_value_t parts;

    return avw_set_string(rec, "manifest_path", m->path) &&
           avw_set_long(rec, "manifest_length", m->length) &&
           avw_set_int(rec, "partition_spec_id", m->spec_id) &&
           (v < 2 || (avw_set_int(rec, "content", m->content) &&
                      avw_set_long(rec, "sequence_number",
                                   m->sequence_number) &&
                      avw_set_long(rec, "min_sequence_number",
                                   m->min_sequence_number))) &&
           avw_set_long(rec, "added_snapshot_id", m->added_snapshot_id) &&
           count_set(rec, v, "added_files_count", "added_data_files_count",
                     m->added_files, true) &&
           count_set(rec, v, "existing_files_count",
                     "existing_data_files_count", m->existing_files, true) &&
           count_set(rec, v, "deleted_files_count",
                     "deleted_data_files_count", m->deleted_files, true) &&
           count_set(rec, v, "added_rows_count", NULL, m->added_rows,
                     false) &&
           count_set(rec, v, "existing_rows_count", NULL, m->existing_rows,
                     false) &&
           count_set(rec, v, "deleted_rows_count", NULL, m->deleted_rows,
                     false) &&
           avw_child(rec, "partitions", &parts) &&
           (v < 3 || m->first_row_id < 0 ||
            avw_set_long(rec, "first_row_id", m->first_row_id));
}

static void list_meta(struct avw_file *f, const struct avw_list *l)
{
    char num[32];

    snprintf(num, sizeof(num), "%" PRId64, l->snapshot_id);
    avw_file_meta(f, "snapshot-id", num);
    if (l->parent_id >= 0) {
        snprintf(num, sizeof(num), "%" PRId64, l->parent_id);
    } else {
        snprintf(num, sizeof(num), "null");
    }
    avw_file_meta(f, "parent-snapshot-id", num);
    if (l->format_version >= 2) {
        snprintf(num, sizeof(num), "%" PRId64, l->sequence_number);
        avw_file_meta(f, "sequence-number", num);
    }
    if (l->format_version >= 3) {
        snprintf(num, sizeof(num), "%" PRId64, l->first_row_id);
        avw_file_meta(f, "first-row-id", num);
    }
    snprintf(num, sizeof(num), "%d", l->format_version);
    avw_file_meta(f, "format-version", num);
}

/*
 * Write a manifest list with one manifest_file per element of `files` to the
 * local file `path`.  The partitions summary is an empty list (unpartitioned
 * specs).  Errors as avw_manifest_write.
 */
bool avw_list_write(const char *path, const struct avw_list *l,
                    const struct avw_manifest_file *files, size_t n,
                    struct fl_err *err)
{
    struct avw_file *f = NULL;
    char            *schema;
    size_t           i;
    bool             ok = false;

    if (l->format_version < 1 || l->format_version > 3) {
        return FL_ERR(err, 400, "BadRequestException",
                      "unsupported format version %d", l->format_version);
    }
    schema = avw_list_schema(l->format_version);
    f = avw_file_new(schema, l->codec, err);
    if (f == NULL) {
        goto out;
    }
    list_meta(f, l);
    avw_file_block_records(f, l->block_records);
    for (i = 0; i < n; i++) {
        if (!list_fill(avw_file_record(f), l->format_version, &files[i])) {
            fail(err, "fill manifest list entry", avro_strerror());
            goto out;
        }
        if (!avw_file_append(f, err)) {
            goto out;
        }
    }
    ok = l->libavro ? avw_file_save_libavro(f, path, l->libavro_block, err)
                    : avw_file_save(f, path, err);
out:
    avw_file_free(f);
    free(schema);
    return ok;
}
