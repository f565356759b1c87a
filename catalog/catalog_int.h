/*
 * catalog_int.h
 *
 * Private to catalog/: helpers shared by the entity files.  Nothing outside
 * this folder includes it.
 */
#ifndef FL_CATALOG_INT_H
#define FL_CATALOG_INT_H

#include "catalog/catalog.h"

char *cat_location_dir(struct fl_arena *a, const char *loc);
struct db_stmt;
bool cat_name_page(struct cat_ctx *cx, struct db_stmt *st, const char *scope,
                   int64_t ns_id, const char *extra, const char *page_token,
                   int page_size, struct cat_table_page *out,
                   struct fl_err *err);
bool cat_storage_allows(json_t *storage, const char *loc);
char *cat_ident_render(struct fl_arena *a, const struct cat_ident *id);
bool cat_gzip(struct fl_arena *a, const char *in, size_t n, char **out,
              size_t *outlen);
bool cat_gunzip(struct fl_arena *a, const char *in, size_t n, size_t max,
                char **out, size_t *outlen, struct fl_err *err);

/* load cache and ETags (cat_cache.c) */
bool cat_cache_get(int64_t id, int64_t version, int mode, struct fl_arena *a,
                   const char **body, size_t *len);
void cat_cache_put(int64_t id, int64_t version, int mode, const char *body,
                   size_t len);
void cat_cache_clear(void);
void cat_etag(const char *location, int mode, char out[24]);

/* dropping a table's files (cat_purge.c) */
void cat_purge_files(struct cat_ctx *cx, const char *metadata_location,
                     json_t *meta);

/* ---------------------------------------------------------------------
 * Table metadata (cat_meta.c): pure functions over TableMetadata JSON, no
 * database, no storage.  Every json_t * returned is a new reference; inputs
 * are borrowed and never modified.  Errors: 400 BadRequestException for
 * malformed input, ValidationException / IllegalArgumentException (as the
 * reference classes them) for invalid input, 409 CommitFailedException for
 * failed requirements ("Requirement failed: ...") and retryable validation
 * ("Validation failed, please retry: ...").
 */
#define CAT_FORMAT_MAX 3        /* newest table format version accepted */

json_t *cat_meta_create(json_t *req, const char *location, int64_t now_ms,
                        struct fl_err *err);
bool cat_meta_check(json_t *base, json_t *requirements, struct fl_err *err);
json_t *cat_meta_update(json_t *base, json_t *updates, int64_t now_ms,
                        bool *changed, struct fl_err *err);
json_t *cat_meta_log_append(json_t *meta, const char *prev_file,
                            int64_t prev_updated_ms, json_t **trimmed);
json_t *cat_meta_refs_only(json_t *meta);
bool cat_meta_validate(json_t *meta, struct fl_err *err);
char *cat_meta_file_next(struct fl_arena *a, json_t *meta,
                         const char *current_file);
char *cat_meta_file_make(struct fl_arena *a, json_t *meta,
                         const char *current_file, bool gzip);
json_t *cat_meta_canonical(json_t *meta);

/* Shared by cat_meta.c, cat_meta_update.c, cat_schema.c and cat_view.c. */
json_t *cat_meta_normalize(json_t *meta);
bool cat_json_i32(json_t *obj, const char *key, bool required, int *out,
                  struct fl_err *err);
bool cat_props_set(json_t *props, json_t *u, bool *changed,
                   struct fl_err *err);
bool cat_props_remove(json_t *props, json_t *u, bool *changed,
                      struct fl_err *err);

enum cat_pid_mode {         /* how cat_spec_bind assigns partition field ids */
    CAT_PID_KEEP,           /* every field carries its field-id */
    CAT_PID_FILL,           /* all or none carry one; none: assign them */
    CAT_PID_SEQ             /* ignore given ids: 1000, 1001, ... */
};

struct cat_bind {           /* what a spec or sort order is bound to */
    json_t *schema;         /* the schema (borrowed) */
    int     id;             /* spec-id / order-id of the result */
    int     fv;             /* table format version */
    int     pid_mode;       /* enum cat_pid_mode (specs only) */
    json_t *specs;          /* CAT_PID_FILL: existing specs, or NULL */
    int     last_pid;       /* CAT_PID_FILL: the table's last-partition-id */
};

json_t *cat_schema_canon(json_t *schema, int schema_id, int fv, int *highest,
                         struct fl_err *err);
json_t *cat_schema_fresh(json_t *schema, int fv, json_t **idmap,
                         int *last_id, struct fl_err *err);
bool cat_schema_same(json_t *a, json_t *b);
json_t *cat_spec_bind(json_t *spec, const struct cat_bind *b,
                      struct fl_err *err);
json_t *cat_order_bind(json_t *order, const struct cat_bind *b,
                       struct fl_err *err);

/* ---------------------------------------------------------------------
 * View metadata (cat_view.c): pure functions over ViewMetadata JSON with
 * the semantics of ViewMetadata.Builder, no database, no storage.  Every
 * json_t * returned is a new reference; inputs are borrowed and never
 * modified.  Errors: 400 (BadRequestException for malformed input,
 * IllegalArgumentException / ValidationException as the reference classes
 * them), 409 CommitFailedException for a failed assert-view-uuid.
 * Canonical key order (ViewMetadataParser.toJson): view-uuid,
 * format-version, location, properties (only when non-empty), schemas,
 * current-version-id, versions, version-log, then unknown keys.
 */
#define CAT_VIEW_FORMAT_MAX 1   /* newest view format version accepted */

json_t *cat_view_create(json_t *req, const char *location, int64_t now_ms,
                        struct fl_err *err);
bool cat_view_check(json_t *base, json_t *requirements, struct fl_err *err);
json_t *cat_view_update(json_t *base, json_t *updates, int64_t now_ms,
                        bool *changed, struct fl_err *err);
bool cat_view_validate(json_t *meta, struct fl_err *err);
char *cat_view_file_next(struct fl_arena *a, json_t *meta,
                         const char *current_file);
json_t *cat_view_canonical(json_t *meta);

#endif /* FL_CATALOG_INT_H */
