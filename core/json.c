/*
 * json.c
 *
 * jansson set-up and typed field accessors that report a client error in the
 * caller's struct fl_err.  Accessors return borrowed references that are
 * valid while the parent object lives.  Unknown fields are ignored, as the
 * Iceberg parsers ignore them.
 */
#include "core.h"

#include <stdlib.h>

/* Route jansson's allocations through the aborting allocator (Redis zmalloc). */
void fl_json_init(void)
{
    json_set_alloc_funcs(fl_xmalloc, free);
}

static json_t *field(json_t *obj, const char *key, bool required,
                     struct fl_err *err, bool *ok)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

    *ok = true;
    if (v == NULL || json_is_null(v)) {
        if (required) {
            *ok = FL_ERR(err, 400, "BadRequestException",
                         "missing required field \"%s\"", key);
        }
        return NULL;
    }
    return v;
}

/*
 * Read string field `key` of `obj` into *out (borrowed; NULL when absent and
 * optional).  A missing required field or a non-string is a 400.
 */
bool fl_json_str(json_t *obj, const char *key, bool required,
                 const char **out, struct fl_err *err)
{
    bool    ok;
    json_t *v = field(obj, key, required, err, &ok);

    *out = NULL;
    if (v == NULL) {
        return ok;
    }
    if (!json_is_string(v)) {
        return FL_ERR(err, 400, "BadRequestException",
                      "field \"%s\" must be a string", key);
    }
    *out = json_string_value(v);
    return true;
}

/* Object field; *out is borrowed.  See fl_json_str for the error rules. */
bool fl_json_obj(json_t *obj, const char *key, bool required, json_t **out,
                 struct fl_err *err)
{
    bool    ok;
    json_t *v = field(obj, key, required, err, &ok);

    *out = NULL;
    if (v == NULL) {
        return ok;
    }
    if (!json_is_object(v)) {
        return FL_ERR(err, 400, "BadRequestException",
                      "field \"%s\" must be an object", key);
    }
    *out = v;
    return true;
}

/* Array field; *out is borrowed.  See fl_json_str for the error rules. */
bool fl_json_arr(json_t *obj, const char *key, bool required, json_t **out,
                 struct fl_err *err)
{
    bool    ok;
    json_t *v = field(obj, key, required, err, &ok);

    *out = NULL;
    if (v == NULL) {
        return ok;
    }
    if (!json_is_array(v)) {
        return FL_ERR(err, 400, "BadRequestException",
                      "field \"%s\" must be an array", key);
    }
    *out = v;
    return true;
}

/* Integer field; *out is left alone when absent and optional. */
bool fl_json_int(json_t *obj, const char *key, bool required,
                 json_int_t *out, struct fl_err *err)
{
    bool    ok;
    json_t *v = field(obj, key, required, err, &ok);

    if (v == NULL) {
        return ok;
    }
    if (!json_is_integer(v)) {
        return FL_ERR(err, 400, "BadRequestException",
                      "field \"%s\" must be an integer", key);
    }
    *out = json_integer_value(v);
    return true;
}

/* Boolean field; *out is left alone when absent and optional. */
bool fl_json_bool(json_t *obj, const char *key, bool required, bool *out,
                  struct fl_err *err)
{
    bool    ok;
    json_t *v = field(obj, key, required, err, &ok);

    if (v == NULL) {
        return ok;
    }
    if (!json_is_boolean(v)) {
        return FL_ERR(err, 400, "BadRequestException",
                      "field \"%s\" must be a boolean", key);
    }
    *out = json_is_true(v);
    return true;
}

/*
 * Check that `v` is an object whose values are all strings (the spec's
 * string maps: properties, defaults, overrides).  `what` names the field in
 * the error message.
 */
bool fl_json_string_map(json_t *v, const char *what, struct fl_err *err)
{
    const char *k;
    json_t     *x;

    if (!json_is_object(v)) {
        return FL_ERR(err, 400, "BadRequestException",
                      "field \"%s\" must be an object of strings", what);
    }
    json_object_foreach(v, k, x) {
        if (!json_is_string(x)) {
            return FL_ERR(err, 400, "BadRequestException",
                          "value of \"%s\" in \"%s\" must be a string", k,
                          what);
        }
    }
    return true;
}
