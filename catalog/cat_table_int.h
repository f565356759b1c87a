/*
 * cat_table_int.h
 *
 * Private to the table files of catalog/ (cat_table.c, cat_commit.c,
 * cat_purge.c): the resolved row shape and the helpers they share.
 */
#ifndef FL_CAT_TABLE_INT_H
#define FL_CAT_TABLE_INT_H

#include "catalog/catalog_int.h"

/* Catalog, namespace and table of an identifier; NULL where missing. */
struct cat_resolved {
    const char *catalog_id;
    json_t     *storage;        /* the catalog's storageConfigInfo */
    const char *ns_id;
    const char *ns_location;
    const char *table_id;
    const char *kind;           /* "table" or "view" */
    int64_t     version;
    const char *location;       /* metadata-location */
};

/*
 * What differs between tables and views in the commit engine: the row
 * kind, the metadata semantics, whether the previous file is logged in
 * metadata-log (tables), the file naming and the "missing" error.
 */
struct cat_kind {
    const char *kind;                   /* "table" or "view" */
    bool      (*check)(json_t *base, json_t *reqs, struct fl_err *err);
    json_t   *(*update)(json_t *base, json_t *updates, int64_t now_ms,
                        bool *changed, struct fl_err *err);
    bool        logs;                   /* append to metadata-log */
    char     *(*file_next)(struct fl_arena *a, json_t *meta,
                           const char *current_file);
    bool      (*missing)(struct cat_ctx *cx, const struct cat_ident *id,
                         struct fl_err *err);
};

extern const struct cat_kind cat_kind_table;
extern const struct cat_kind cat_kind_view;

bool cat_entity_commit(struct cat_ctx *cx, const char *catalog,
                       const struct cat_ident *id,
                       const struct cat_kind *k, json_t *requirements,
                       json_t *updates, struct cat_table_state *out,
                       struct fl_err *err);
bool cat_ident_equal(const struct cat_ident *a, const struct cat_ident *b);
bool cat_view_missing(struct cat_ctx *cx, const struct cat_ident *id,
                      struct fl_err *err);
json_t *cat_read_metadata(struct cat_ctx *cx, const char *file,
                          const char **raw, struct fl_err *err);

bool cat_tbl_resolve(struct cat_ctx *cx, const char *catalog,
                     const struct cat_ident *id, struct cat_resolved *r,
                     struct fl_err *err);
bool cat_tbl_resolve_ns(struct cat_ctx *cx, const char *catalog,
                        const struct cat_ident *id, struct cat_resolved *r,
                        struct fl_err *err);
bool cat_tbl_missing(struct cat_ctx *cx, const struct cat_ident *id,
                     struct fl_err *err);
bool cat_tbl_resolve_kind(struct cat_ctx *cx, const char *catalog,
                          const struct cat_ident *id, const char *kind,
                          struct cat_resolved *r, struct fl_err *err);
bool cat_tbl_file_present(const char *file, struct fl_err *err);
bool cat_tbl_create_row(struct cat_ctx *cx, const struct cat_resolved *r,
                        const struct cat_ident *id, const char *kind,
                        const char *file, json_t *meta, const char *text,
                        struct cat_table_state *out, struct fl_err *err);
bool cat_tbl_taken(struct cat_ctx *cx, const char *ns_id,
                   const struct cat_ident *id, const char *kind,
                   const struct cat_ident *from, const char *found,
                   struct fl_err *err);
char *cat_tbl_default_location(struct cat_ctx *cx,
                               const struct cat_resolved *r,
                               const char *name);
bool cat_tbl_location_check(json_t *storage, const char *loc,
                            struct fl_err *err);
bool cat_tbl_locations_check(json_t *storage, json_t *meta,
                             struct fl_err *err);
bool cat_tbl_write(struct cat_ctx *cx, const char *file, const char *text,
                   struct fl_err *err);
void cat_tbl_unwrite(const char *file);
void cat_tbl_state(struct cat_ctx *cx, int64_t id, int64_t version,
                   const char *location, const char *text, int mode,
                   struct cat_table_state *out);
void cat_tbl_columns(struct cat_ctx *cx, json_t *meta, const char **uuid,
                     const char **location, const char **format,
                     const char **snapshot, const char **updated);
bool cat_tbl_insert(struct cat_ctx *cx, const struct cat_resolved *r,
                    const struct cat_ident *id, const char *kind,
                    const char *file, json_t *meta, const char *text,
                    int64_t *row_id, struct fl_err *err);

#endif /* FL_CAT_TABLE_INT_H */
