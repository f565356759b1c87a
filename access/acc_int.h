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

#endif /* FL_ACC_INT_H */
