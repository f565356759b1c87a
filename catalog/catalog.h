/*
 * catalog.h
 *
 * The public interface of catalog/: Iceberg and Polaris semantics over the
 * stored entities.  Catalogs (the Polaris management objects), namespaces
 * and, later, tables, views and the commit engine.  Functions take a
 * struct cat_ctx (the request's arena, database pool and realm), decoded C
 * values from server/, and fill structs whose memory lives in the arena.
 * JSON values inside those structs are borrowed from the arena.
 *
 * Error types and messages follow what Iceberg and Polaris clients expect
 * (notes/ICEBERG.md section 5, notes/POLARIS.md section b).
 */
#ifndef FL_CATALOG_H
#define FL_CATALOG_H

#include "core/core.h"
#include "db/db.h"

#define CAT_MAX_NAME       256     /* bytes in one name or namespace level */
#define CAT_MAX_NS_LEVELS  16
#define CAT_MAX_PROPS      1000    /* properties per entity */
#define CAT_MAX_PROP_BYTES 65536   /* bytes in one property value */
#define CAT_MAX_LOCATIONS  64      /* allowedLocations per catalog */
#define CAT_MAX_PAGE       1000    /* largest pageSize honoured */

struct cat_settings {
    bool        allow_file;             /* accept FILE storage */
    int         commit_retries;         /* CAS retries of one commit */
    size_t      metadata_max_bytes;     /* cap on metadata files read */
    const char *default_base_location;  /* for catalogs without one, or "" */
    const char *const *realms;          /* accepted realms; [0] is default */
    int         nrealms;
    const unsigned char *token_key;     /* signs page tokens */
    size_t      token_key_len;
};

unsigned char *cat_secret_load(struct db_pool *pool, const char *name,
                               size_t *len, struct fl_err *err);

/* Per-request context.  The connection is taken from the pool lazily. */
struct cat_ctx {
    struct fl_arena           *a;
    struct db_pool            *pool;
    struct db_conn            *conn;
    const char                *realm;
    const struct cat_settings *settings;
};

struct db_conn *cat_conn(struct cat_ctx *cx, struct fl_err *err);

/* ------------------------------------------------------------ encodings */

/* shared with access/: Postgres text[] literals, jsonb text, int64 params,
 * signed page tokens (scope binds a token to its listing) */
char *cat_pg_array(struct fl_arena *a, const char *const *levels, int n);
const char **cat_pg_array_parse(struct fl_arena *a, const char *s, int *n);
char *cat_token_encode(const struct cat_ctx *cx, const char *scope,
                       const char *name);
char *cat_token_decode(const struct cat_ctx *cx, const char *scope,
                       const char *token, struct fl_err *err);
json_t *cat_json_parse(struct fl_arena *a, const char *text);
char *cat_json_text(struct fl_arena *a, json_t *v);
char *cat_i64(struct fl_arena *a, int64_t v);

/* ---------------------------------------------------------------- names */

bool cat_name_check(const char *what, const char *name, struct fl_err *err);
bool cat_ns_check(const char *const *levels, int n, struct fl_err *err);
char *cat_ns_render(struct fl_arena *a, const char *const *levels, int n);
bool cat_props_check(json_t *props, struct fl_err *err);
bool cat_location_within(const char *loc, const char *base);
bool cat_location_valid(const char *loc);

/* -------------------------------------------------------------- catalogs */

struct cat_catalog {
    int64_t     id;
    const char *name;
    const char *type;           /* "INTERNAL" or "EXTERNAL" */
    json_t     *properties;     /* string map; has default-base-location */
    json_t     *storage;        /* storageConfigInfo, allowedLocations set */
    json_t     *connection;     /* connectionConfigInfo or NULL */
    int         version;        /* entityVersion, from 1 */
    int64_t     created_ms;
    int64_t     updated_ms;
};

struct cat_catalog_update {
    json_int_t  version;        /* currentEntityVersion the client saw */
    json_t     *properties;     /* replacement map, or NULL to keep */
    json_t     *storage;        /* replacement storageConfigInfo, or NULL */
};

bool cat_catalog_from_json(struct cat_ctx *cx, json_t *v,
                           struct cat_catalog *out, struct fl_err *err);
json_t *cat_catalog_to_json(const struct cat_catalog *c);
bool cat_catalog_create(struct cat_ctx *cx, struct cat_catalog *c,
                        struct fl_err *err);
bool cat_catalog_get(struct cat_ctx *cx, const char *name,
                     struct cat_catalog *out, struct fl_err *err);
bool cat_catalog_list(struct cat_ctx *cx, struct cat_catalog **out, int *n,
                      struct fl_err *err);
bool cat_catalog_update(struct cat_ctx *cx, const char *name,
                        const struct cat_catalog_update *u,
                        struct cat_catalog *out, struct fl_err *err);
bool cat_catalog_delete(struct cat_ctx *cx, const char *name,
                        struct fl_err *err);

/* ------------------------------------------------------------ namespaces */

struct cat_ns {
    int64_t      id;
    int64_t      catalog_id;
    const char **levels;        /* NULL-terminated */
    int          nlevels;
    json_t      *properties;    /* string map, includes "location" */
    int          version;
};

struct cat_ns_page {
    struct cat_ns *items;
    int            n;
    const char    *next_token;  /* NULL on the last page */
};

struct cat_ns_changes {
    json_t *updated;            /* array of keys */
    json_t *removed;            /* array of keys */
    json_t *missing;            /* array of keys */
};

bool cat_warehouse_get(struct cat_ctx *cx, const char *warehouse,
                       struct cat_catalog *out, struct fl_err *err);
bool cat_ns_create(struct cat_ctx *cx, const char *catalog,
                   const char *const *levels, int n, json_t *props,
                   struct cat_ns *out, struct fl_err *err);
bool cat_ns_get(struct cat_ctx *cx, const char *catalog,
                const char *const *levels, int n, struct cat_ns *out,
                struct fl_err *err);
bool cat_ns_drop(struct cat_ctx *cx, const char *catalog,
                 const char *const *levels, int n, struct fl_err *err);
bool cat_ns_update(struct cat_ctx *cx, const char *catalog,
                   const char *const *levels, int n, json_t *updates,
                   json_t *removals, struct cat_ns_changes *out,
                   struct fl_err *err);
bool cat_ns_list(struct cat_ctx *cx, const char *catalog,
                 const char *const *parent, int nparent,
                 const char *page_token, int page_size,
                 struct cat_ns_page *out, struct fl_err *err);

/* ---------------------------------------------------------------- tables */

/* A table or view identifier inside a catalog. */
struct cat_ident {
    const char *const *ns;      /* namespace levels */
    int                nns;
    const char        *name;
};

enum cat_snapshots { CAT_SNAPSHOTS_ALL = 0, CAT_SNAPSHOTS_REFS = 1 };

/*
 * A table's current state as a LoadTableResult body.  `body` is the whole
 * serialized response ({"metadata-location", "metadata", "config"}), ready
 * to send; `metadata` is parsed only when a caller asked for it.
 */
struct cat_table_state {
    int64_t     id;
    int64_t     version;
    const char *location;       /* metadata-location; NULL when staged */
    const char *body;           /* LoadTableResult JSON text */
    size_t      len;
    char        etag[24];       /* quoted strong ETag */
    bool        not_modified;   /* If-None-Match matched: no body */
};

struct cat_table_page {
    const char **names;
    int          n;
    const char  *next_token;
};

bool cat_table_list(struct cat_ctx *cx, const char *catalog,
                    const char *const *ns, int nns, const char *page_token,
                    int page_size, struct cat_table_page *out,
                    struct fl_err *err);
bool cat_table_create(struct cat_ctx *cx, const char *catalog,
                      const struct cat_ident *id, json_t *req, bool stage,
                      struct cat_table_state *out, struct fl_err *err);
bool cat_table_load(struct cat_ctx *cx, const char *catalog,
                    const struct cat_ident *id, enum cat_snapshots mode,
                    const char *if_none_match, struct cat_table_state *out,
                    struct fl_err *err);
bool cat_table_exists(struct cat_ctx *cx, const char *catalog,
                      const struct cat_ident *id, struct fl_err *err);
bool cat_table_drop(struct cat_ctx *cx, const char *catalog,
                    const struct cat_ident *id, bool purge,
                    struct fl_err *err);
bool cat_table_rename(struct cat_ctx *cx, const char *catalog,
                      const struct cat_ident *from,
                      const struct cat_ident *to, struct fl_err *err);
bool cat_table_register(struct cat_ctx *cx, const char *catalog,
                        const struct cat_ident *id, const char *location,
                        bool overwrite, struct cat_table_state *out,
                        struct fl_err *err);
bool cat_table_commit(struct cat_ctx *cx, const char *catalog,
                      const struct cat_ident *id, json_t *requirements,
                      json_t *updates, struct cat_table_state *out,
                      struct fl_err *err);

/* One entry of a multi-table commit (commitTransaction). */
struct cat_change {
    struct cat_ident id;
    json_t          *requirements;  /* borrowed */
    json_t          *updates;       /* borrowed */
    int64_t          table_id;      /* set by cat_tables_commit */
};

void cat_cache_budget(size_t bytes);

/* ----------------------------------------------------------------- views */

bool cat_view_list(struct cat_ctx *cx, const char *catalog,
                   const char *const *ns, int nns, const char *page_token,
                   int page_size, struct cat_table_page *out,
                   struct fl_err *err);
bool cat_view_create_entity(struct cat_ctx *cx, const char *catalog,
                            const struct cat_ident *id, json_t *req,
                            struct cat_table_state *out, struct fl_err *err);
bool cat_view_load(struct cat_ctx *cx, const char *catalog,
                   const struct cat_ident *id, const char *if_none_match,
                   struct cat_table_state *out, struct fl_err *err);
bool cat_view_exists(struct cat_ctx *cx, const char *catalog,
                     const struct cat_ident *id, struct fl_err *err);
bool cat_view_commit(struct cat_ctx *cx, const char *catalog,
                     const struct cat_ident *id, json_t *requirements,
                     json_t *updates, struct cat_table_state *out,
                     struct fl_err *err);
bool cat_view_drop(struct cat_ctx *cx, const char *catalog,
                   const struct cat_ident *id, struct fl_err *err);
bool cat_view_rename(struct cat_ctx *cx, const char *catalog,
                     const struct cat_ident *from,
                     const struct cat_ident *to, struct fl_err *err);
bool cat_view_register(struct cat_ctx *cx, const char *catalog,
                       const struct cat_ident *id, const char *location,
                       struct cat_table_state *out, struct fl_err *err);

/* ------------------------------------------------ idempotency, metrics */

struct cat_idem {
    const char *key;            /* the Idempotency-Key header */
    bool        replay;         /* finalized before: the fields below */
    int         status;
    const char *body;
    const char *etag;
};

bool cat_idem_begin(struct cat_ctx *cx, struct cat_idem *id, const char *op,
                    const char *hash, int64_t lifetime_ms,
                    struct fl_err *err);
bool cat_idem_finish(struct cat_ctx *cx, struct cat_idem *id, bool ok,
                     int status, const char *body, const char *etag,
                     struct fl_err *err);
void cat_idem_abort(struct cat_ctx *cx);
long cat_idem_purge(struct cat_ctx *cx, struct fl_err *err);

bool cat_metrics_report(struct cat_ctx *cx, const char *catalog,
                        const struct cat_ident *id, json_t *report,
                        struct fl_err *err);
long cat_metrics_purge(struct cat_ctx *cx, int64_t before_ms,
                       struct fl_err *err);

bool cat_table_unregister(struct cat_ctx *cx, const char *catalog,
                          const struct cat_ident *id,
                          struct cat_table_state *out, struct fl_err *err);

bool cat_tables_commit(struct cat_ctx *cx, const char *catalog,
                       struct cat_change *changes, int n,
                       struct fl_err *err);

/* -------------------------------------------------------------- policies */

/* The Polaris policy store (cat_policy.c) and policy content
 * (cat_policy_content.c).  A policy is named by a struct cat_ident: the
 * namespace it lives in and its name. */

#define CAT_POLICY_ROW_FILTER  "floe.row-filter"
#define CAT_POLICY_COLUMN_MASK "floe.column-mask"

struct cat_policy_type {
    const char *name;           /* "system.snapshot-expiry", ... */
    bool        inheritable;
    const char *rule_kind;      /* policy_rules.kind (Floe's types) or NULL */
};

/* A policy (Polaris's Policy; ApplicablePolicy adds ns and inherited). */
struct cat_policy {
    const char  *name;
    const char  *type;
    bool         inheritable;
    const char  *description;   /* NULL when none */
    const char  *content;
    int          version;       /* 0 at creation, +1 per update */
    const char **ns;            /* the namespace it lives in */
    int          nns;
    bool         inherited;     /* applicable: attached to an ancestor */
};

struct cat_policy_update {
    const char *description;    /* NULL: keep */
    const char *content;        /* NULL: keep */
    bool        check_version;  /* current-policy-version was given */
    json_int_t  version;
};

enum cat_target_type {
    CAT_TARGET_CATALOG,
    CAT_TARGET_NAMESPACE,
    CAT_TARGET_TABLE            /* "table-like" */
};

/* What a policy is attached to: path is the namespace, then the table. */
struct cat_policy_target {
    enum cat_target_type type;
    const char *const   *path;
    int                  n;
};

struct cat_policy_page {
    struct cat_policy *items;
    int                n;
    const char        *next_token;  /* NULL on the last page */
};

const struct cat_policy_type *cat_policy_type_find(const char *name);
bool cat_policy_validate(struct fl_arena *a, const char *type,
                         const char *content, json_t **rules,
                         struct fl_err *err);
bool cat_policy_create(struct cat_ctx *cx, const char *catalog,
                       const struct cat_ident *id, const char *type,
                       const char *description, const char *content,
                       struct cat_policy *out, struct fl_err *err);
bool cat_policy_get(struct cat_ctx *cx, const char *catalog,
                    const struct cat_ident *id, struct cat_policy *out,
                    struct fl_err *err);
bool cat_policy_update(struct cat_ctx *cx, const char *catalog,
                       const struct cat_ident *id,
                       const struct cat_policy_update *u,
                       struct cat_policy *out, struct fl_err *err);
bool cat_policy_drop(struct cat_ctx *cx, const char *catalog,
                     const struct cat_ident *id, bool detach_all,
                     struct fl_err *err);
bool cat_policy_list(struct cat_ctx *cx, const char *catalog,
                     const char *const *ns, int nns, const char *type,
                     const char *page_token, int page_size,
                     struct cat_table_page *out, struct fl_err *err);
bool cat_policy_attach(struct cat_ctx *cx, const char *catalog,
                       const struct cat_ident *id,
                       const struct cat_policy_target *t, json_t *params,
                       struct fl_err *err);
bool cat_policy_detach(struct cat_ctx *cx, const char *catalog,
                       const struct cat_ident *id,
                       const struct cat_policy_target *t, struct fl_err *err);
bool cat_policy_applicable(struct cat_ctx *cx, const char *catalog,
                           const char *const *ns, int nns,
                           const char *table, const char *type,
                           const char *page_token, int page_size,
                           struct cat_policy_page *out, struct fl_err *err);
/* The effective floe.* rules of `table` for principal roles `roles`. */
bool cat_policy_rules_for(struct cat_ctx *cx, const char *catalog,
                          const char *const *ns, int nns, const char *table,
                          const char *const *roles, int nroles, json_t **out,
                          struct fl_err *err);

/* ---------------------------------------------------------------------
 * Manifests (cat_manifest.c): Iceberg manifest lists and manifests, Avro
 * object container files read with Apache Avro C.  The callbacks' strings
 * are valid only during the call.
 */
struct cat_manifest_entry {         /* one manifest_file of a manifest list */
    const char *path;               /* manifest_path (500) */
    int64_t     length;             /* manifest_length (501) */
    int32_t     spec_id;            /* partition_spec_id (502) */
    int32_t     content;            /* 0 data, 1 deletes (517; v1: 0) */
    int64_t     sequence_number;    /* 515; v1: 0 */
    int64_t     min_sequence_number;/* 516; v1: 0 */
    int64_t     added_snapshot_id;  /* 503 */
    int32_t     added_files;        /* 504; -1 when null */
    int32_t     existing_files;     /* 505; -1 when null */
    int32_t     deleted_files;      /* 506; -1 when null */
    int64_t     added_rows;         /* 512; -1 when null */
    int64_t     existing_rows;      /* 513; -1 when null */
    int64_t     deleted_rows;       /* 514; -1 when null */
};

/* One column's metrics in a data file (the int-keyed maps 108-130). */
struct cat_column_stats {
    int32_t              field_id;      /* the column's field id */
    int64_t              column_size;   /* column_sizes (108); -1 absent */
    int64_t              value_count;   /* value_counts (109); -1 absent */
    int64_t              null_count;    /* null_value_counts (110); -1 */
    int64_t              nan_count;     /* nan_value_counts (137); -1 */
    const unsigned char *lower;         /* lower_bounds (125): Iceberg's
                                         * single-value binary form; NULL
                                         * when absent */
    size_t               lower_len;
    const unsigned char *upper;         /* upper_bounds (128), likewise */
    size_t               upper_len;
};

struct cat_data_file {              /* one manifest_entry of a manifest */
    int32_t     status;             /* 0 existing, 1 added, 2 deleted */
    int64_t     snapshot_id;        /* -1 when null (inherited) */
    int64_t     sequence_number;    /* -1 when null (inherited) */
    int32_t     content;            /* 0 data, 1 position, 2 equality */
    const char *path;               /* file_path (100) */
    const char *format;             /* file_format (101) */
    int64_t     record_count;       /* 103 */
    int64_t     file_size;          /* 104 */
    int32_t     spec_id;            /* from the manifest's metadata */
    /* partition (102): {partition field name: value in Iceberg's JSON
     * single-value form (dates "2024-01-31", timestamps ISO-8601, binary
     * and fixed upper-case hex, decimals as strings), null when null};
     * {} when unpartitioned.  Borrowed: valid during the call. */
    json_t     *partition;
    /* the partition values in spec order as compact JSON, ["a",3]: with
     * spec_id, the key that groups the files of one partition */
    const char *partition_key;
    const struct cat_column_stats *stats;   /* by field id, ascending */
    int         nstats;
    const char *referenced_data_file;       /* 143, or NULL */
};

typedef bool (*cat_manifest_fn)(void *ctx, const struct cat_manifest_entry *m);
typedef bool (*cat_data_file_fn)(void *ctx, const struct cat_data_file *f);

struct sto;
struct sto *cat_sto(const char *uri, struct fl_err *err);
bool cat_manifest_list_read(struct sto *s, const char *uri,
                            cat_manifest_fn fn, void *ctx,
                            struct fl_err *err);
bool cat_manifest_read(struct sto *s, const char *uri, cat_data_file_fn fn,
                       void *ctx, struct fl_err *err);

#endif /* FL_CATALOG_H */
