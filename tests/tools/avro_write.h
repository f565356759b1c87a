/*
 * avro_write.h
 *
 * Test tooling: writes Avro object container files, and Iceberg manifests and
 * manifest lists on top of them, for tests/tools/mkmanifest.c and
 * tests/unit/test_manifest.c.  Never linked into floe.
 */
#ifndef FL_AVRO_WRITE_H
#define FL_AVRO_WRITE_H

#include "core/core.h"

#include <avro.h>

/* ------------------------------------------------ generic container files */

struct avw_file;

struct avw_file *avw_file_new(const char *schema_json, const char *codec,
                              struct fl_err *err);
void avw_file_meta(struct avw_file *f, const char *key, const char *value);
void avw_file_block_records(struct avw_file *f, size_t n);
avro_value_t *avw_file_record(struct avw_file *f);
bool avw_file_append(struct avw_file *f, struct fl_err *err);
bool avw_file_save(struct avw_file *f, const char *path, struct fl_err *err);
bool avw_file_save_libavro(struct avw_file *f, const char *path,
                           size_t block_bytes, struct fl_err *err);
void avw_file_free(struct avw_file *f);

bool avw_set_null(avro_value_t *rec, const char *name);
bool avw_set_int(avro_value_t *rec, const char *name, int32_t v);
bool avw_set_long(avro_value_t *rec, const char *name, int64_t v);
bool avw_set_string(avro_value_t *rec, const char *name, const char *v);
bool avw_child(avro_value_t *rec, const char *name, avro_value_t *out);

/* ------------------------------------------------------------ Iceberg */

struct avw_part_field;
char *avw_manifest_schema(int format_version);
char *avw_manifest_schema_partitioned(int format_version,
                                      const struct avw_part_field *fields,
                                      size_t n);
char *avw_list_schema(int format_version);

/* One field of a partition spec. */
struct avw_part_field {
    const char *name;
    int32_t     field_id;               /* 1000, 1001, ... */
    int32_t     source_id;              /* the table column it derives from */
    const char *transform;              /* "identity", "day", "bucket[16]" */
    const char *type;                   /* its Iceberg result type: boolean,
                                         * int, long, float, double, date,
                                         * time, timestamp, timestamptz,
                                         * string, binary, uuid, fixed[L],
                                         * decimal(P,S) */
};

/* One column's metrics of a data file. */
struct avw_stats {
    int32_t     field_id;
    int64_t     column_size;            /* -1: absent, as the counts below */
    int64_t     value_count;
    int64_t     null_count;
    int64_t     nan_count;
    const void *lower;                  /* NULL: absent */
    size_t      lower_len;
    const void *upper;                  /* NULL: absent */
    size_t      upper_len;
};

struct avw_data_file {                  /* one manifest_entry */
    int32_t     status;                 /* 0 existing, 1 added, 2 deleted */
    int64_t     snapshot_id;            /* -1: null (v2+) */
    int64_t     sequence_number;        /* -1: null; v2+ only */
    int64_t     file_sequence_number;   /* -1: null; v2+ only */
    int32_t     content;                /* 0 data, 1 pos, 2 eq; v2+ only */
    const char *path;
    const char *format;                 /* NULL: "PARQUET" */
    int64_t     records;
    int64_t     size;
    /* one text per partition field (avw_manifest.fields), as
     * avw_manifest_write says; a NULL array or entry is null */
    const char *const *partition;
    const struct avw_stats *stats;      /* nstats 0: metrics of field 1 */
    size_t      nstats;
    const char *referenced_data_file;   /* v2+; NULL: null */
};

struct avw_manifest {
    int         format_version;         /* 1..3 */
    int32_t     spec_id;
    int32_t     content;                /* 0 data, 1 deletes (v2+) */
    const char *codec;                  /* NULL: "null"; "null", "deflate",
                                         * "snappy" or a name to record
                                         * over uncompressed blocks */
    size_t      block_records;          /* 0: one block */
    bool        libavro;                /* write with libavro's writer */
    size_t      libavro_block;          /* its block bytes (0: default) */
    const struct avw_part_field *fields;    /* the partition spec */
    size_t      nfields;
    const char *schema_json;            /* table schema; NULL: generated */
};

struct avw_manifest_file {              /* one manifest_file */
    const char *path;
    int64_t     length;
    int32_t     spec_id;
    int32_t     content;                /* v2+ */
    int64_t     sequence_number;        /* v2+ */
    int64_t     min_sequence_number;    /* v2+ */
    int64_t     added_snapshot_id;
    int32_t     added_files;            /* the counts: -1 null (v1 only) */
    int32_t     existing_files;
    int32_t     deleted_files;
    int64_t     added_rows;
    int64_t     existing_rows;
    int64_t     deleted_rows;
    int64_t     first_row_id;           /* -1: null; v3 only */
};

struct avw_list {
    int         format_version;         /* 1..3 */
    int64_t     snapshot_id;
    int64_t     parent_id;              /* -1: none */
    int64_t     sequence_number;        /* v2+ */
    int64_t     first_row_id;           /* v3 */
    const char *codec;                  /* NULL: "null" */
    size_t      block_records;          /* 0: one block */
    bool        libavro;                /* write with libavro's writer */
    size_t      libavro_block;          /* its block bytes (0: default) */
};

bool avw_manifest_write(const char *path, const struct avw_manifest *m,
                        const struct avw_data_file *files, size_t n,
                        struct fl_err *err);
bool avw_list_write(const char *path, const struct avw_list *l,
                    const struct avw_manifest_file *files, size_t n,
                    struct fl_err *err);

#endif /* FL_AVRO_WRITE_H */
