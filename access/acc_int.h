/*
 * acc_int.h
 *
 * Private to access/: helpers shared by its files.
 */
#ifndef FL_ACC_INT_H
#define FL_ACC_INT_H

#include "access/access.h"
#include "db/db.h"

bool acc_grant_add(struct cat_ctx *cx, int stype, int64_t sid, int gtype,
                   int64_t gid, int priv, int64_t catalog_id,
                   struct fl_err *err);
char *acc_roles_array(struct fl_arena *a, const struct acc_caller *who);

/* acc_cache.c: values copied in and out; stamp from acc_cache_epoch()
 * before the query that computed them (0: uncacheable) */
uint64_t acc_cache_epoch(void);
void *acc_cache_get(struct fl_arena *a, const char *key, size_t *len);
void acc_cache_put(const char *key, const void *val, size_t len,
                   uint64_t stamp);

/* ------------------------------------------------------------------------
 * The management API's entities (acc_principals.c, acc_roles.c,
 * acc_grants.c).  Every entity query selects these eight columns, in this
 * order, for acc_entity_from_row: id, name, properties, entity_version,
 * created_ms, updated_ms, then two per kind.
 */
#define ACC_P_COLS(t) \
    t "id, " t "name, " t "properties::text, " t "entity_version, " \
    t "created_ms, " t "updated_ms, " t "client_id, " t "rotation_required"
#define ACC_R_COLS(t) \
    t "id, " t "name, " t "properties::text, " t "entity_version, " \
    t "created_ms, " t "updated_ms, " t "federated, NULL"
#define ACC_C_COLS(t) \
    t "id, " t "name, " t "properties::text, " t "entity_version, " \
    t "created_ms, " t "updated_ms, " t "catalog_id, NULL"

void acc_entity_from_row(struct cat_ctx *cx, const struct db_rows *r,
                         int row, int col, int type, struct acc_entity *e);
bool acc_entities_exec(struct cat_ctx *cx, struct db_stmt *st,
                       const char *const *params, int n, int type,
                       struct acc_entities *out, struct fl_err *err);
bool acc_entity_cas(struct cat_ctx *cx, struct db_stmt *st, const char *label,
                    const struct acc_entity *cur,
                    const struct acc_entity_req *q, struct acc_entity *out,
                    struct fl_err *err);
char *acc_supers_array(struct fl_arena *a, int priv);

#endif /* FL_ACC_INT_H */
