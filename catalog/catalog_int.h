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
char *cat_pg_array(struct fl_arena *a, const char *const *levels, int n);
const char **cat_pg_array_parse(struct fl_arena *a, const char *s, int *n);
char *cat_token_encode(struct fl_arena *a, const char *name);
char *cat_token_decode(struct fl_arena *a, const char *t, struct fl_err *err);
json_t *cat_json_parse(struct fl_arena *a, const char *text);
char *cat_json_text(struct fl_arena *a, json_t *v);
char *cat_i64(struct fl_arena *a, int64_t v);
bool cat_storage_allows(json_t *storage, const char *loc);

#endif /* FL_CATALOG_INT_H */
