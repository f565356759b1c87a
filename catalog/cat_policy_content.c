/*
 * cat_policy_content.c
 *
 * Policy types and the validation of policy content, as pure functions (no
 * database).  The four Polaris maintenance types follow the JSON schemas
 * and Jackson content classes of Polaris (notes/POLARIS.md e): content is
 * a JSON object with `enable` (boolean, required), `version` (only
 * "2025-02-03"), `config` (a map of string, number or boolean values),
 * for system.orphan-file-removal also `max_orphan_file_age_in_days` (a
 * number >= 0) and `locations` (strings), and nothing else.
 *
 * Floe's own types carry access rules per principal role, validated
 * strictly so that scan planning never meets a rule it cannot apply:
 *   floe.row-filter   {"rules": [{"principal-role", "filter": <expression>}]}
 *   floe.column-mask  {"rules": [{"principal-role", "column", "mask"}]}
 * where an expression is the Iceberg REST expression JSON: true / false
 * (bare or {"type": "true"}), and / or (left, right), not (child), unary
 * predicates (term), comparisons (term, value) and set predicates (term,
 * values), `term` naming a column.  A role has at most one row filter per
 * policy and one mask per column.  This file does not store anything;
 * cat_policy.c writes the rules to policy_rules.
 */
#include "catalog/catalog_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAINT_VERSION   "2025-02-03"
#define MAX_RULES       1000    /* rules in one Floe policy */
#define MAX_EXPR_DEPTH  32      /* nesting of a row filter */

static const struct cat_policy_type types[] = {
    {"system.data-compaction", true, NULL},
    {"system.metadata-compaction", true, NULL},
    {"system.orphan-file-removal", true, NULL},
    {"system.snapshot-expiry", true, NULL},
    {CAT_POLICY_ROW_FILTER, true, "row-filter"},
    {CAT_POLICY_COLUMN_MASK, true, "column-mask"},
};

/* The type named `name`, or NULL when Floe does not know it. */
const struct cat_policy_type *cat_policy_type_find(const char *name)
{
    size_t i;

    for (i = 0; name != NULL && i < FL_ARRAY_LEN(types); i++) {
        if (strcmp(types[i].name, name) == 0) {
            return &types[i];
        }
    }
    return NULL;
}

/* 400 InvalidPolicyException: "Invalid policy content: <at>: <what>". */
static bool invalid(struct fl_err *err, const char *at, const char *fmt, ...)
    FL_PRINTF(3, 4);

static bool invalid(struct fl_err *err, const char *at, const char *fmt, ...)
{
    char    what[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return FL_ERR(err, 400, "InvalidPolicyException",
                  "Invalid policy content: %.60s%s%s%s", at,
                  strlen(at) > 60 ? "..." : "", at[0] ? ": " : "", what);
}

/* ------------------------------------------------------------ maintenance */

static bool version_ok(json_t *v, struct fl_err *err)
{
    const char *s = json_string_value(v);

    /* NB: Polaris treats null and "" as the default version */
    if (json_is_null(v) || (s != NULL && (s[0] == '\0' ||
                                          strcmp(s, MAINT_VERSION) == 0))) {
        return true;
    }
    if (s == NULL) {
        return invalid(err, "version", "must be a string");
    }
    return FL_ERR(err, 400, "InvalidPolicyException",
                  "Invalid policy version: %s", s);
}

static bool config_ok(json_t *v, struct fl_err *err)
{
    const char *k;
    json_t     *x;

    if (!json_is_object(v)) {
        return invalid(err, "config", "must be an object");
    }
    json_object_foreach(v, k, x) {
        if (!json_is_string(x) && !json_is_number(x) && !json_is_boolean(x)) {
            return invalid(err, "config", "value of \"%s\" must be a string, "
                           "a number or a boolean", k);
        }
    }
    return true;
}

static bool locations_ok(json_t *v, struct fl_err *err)
{
    size_t  i;
    json_t *x;

    if (!json_is_array(v)) {
        return invalid(err, "locations", "must be an array of strings");
    }
    json_array_foreach(v, i, x) {
        if (!json_is_string(x)) {
            return invalid(err, "locations", "element %zu must be a string",
                           i);
        }
    }
    return true;
}

static bool max_age_ok(json_t *v, struct fl_err *err)
{
    if (!json_is_number(v)) {
        return invalid(err, "max_orphan_file_age_in_days",
                       "must be a number");
    }
    if (json_number_value(v) < 0) {
        return FL_ERR(err, 400, "InvalidPolicyException",
                      "Invalid max_orphan_file_age_in_days: %g. It must be "
                      "greater than or equal to 0", json_number_value(v));
    }
    return true;
}

/* One top-level field of a maintenance policy other than `enable`.  NB:
 * null stands for absent, as in Polaris's content classes. */
static bool maint_field(const char *k, json_t *v, bool orphan,
                        struct fl_err *err)
{
    bool known = strcmp(k, "version") == 0 || strcmp(k, "config") == 0 ||
                 (orphan && (strcmp(k, "max_orphan_file_age_in_days") == 0 ||
                             strcmp(k, "locations") == 0));

    if (known && json_is_null(v)) {
        return true;
    }
    if (strcmp(k, "version") == 0) {
        return version_ok(v, err);
    }
    if (strcmp(k, "config") == 0) {
        return config_ok(v, err);
    }
    if (orphan && strcmp(k, "max_orphan_file_age_in_days") == 0) {
        return max_age_ok(v, err);
    }
    if (orphan && strcmp(k, "locations") == 0) {
        return locations_ok(v, err);
    }
    return invalid(err, "", "unrecognized field \"%s\"", k);
}

static bool maint_check(json_t *root, bool orphan, struct fl_err *err)
{
    json_t     *en = json_object_get(root, "enable");
    const char *k;
    json_t     *v;

    if (en == NULL || json_is_null(en)) {
        return invalid(err, "", "missing required field \"enable\"");
    }
    if (!json_is_boolean(en)) {
        return invalid(err, "enable", "must be true or false");
    }
    json_object_foreach(root, k, v) {
        if (strcmp(k, "enable") != 0 && !maint_field(k, v, orphan, err)) {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------ expressions */

enum shape { E_CONST, E_BINARY, E_NOT, E_UNARY, E_LITERAL, E_SET };

static const struct {
    const char *type;
    enum shape  shape;
} ops[] = {
    {"true", E_CONST}, {"false", E_CONST},
    {"and", E_BINARY}, {"or", E_BINARY}, {"not", E_NOT},
    {"is-null", E_UNARY}, {"not-null", E_UNARY},
    {"is-nan", E_UNARY}, {"not-nan", E_UNARY},
    {"lt", E_LITERAL}, {"lt-eq", E_LITERAL}, {"gt", E_LITERAL},
    {"gt-eq", E_LITERAL}, {"eq", E_LITERAL}, {"not-eq", E_LITERAL},
    {"starts-with", E_LITERAL}, {"not-starts-with", E_LITERAL},
    {"in", E_SET}, {"not-in", E_SET},
};

/* The members of each shape, every one required. */
static const char *const shape_keys[][3] = {
    [E_CONST] = {"type", NULL, NULL},
    [E_BINARY] = {"type", "left", "right"},
    [E_NOT] = {"type", "child", NULL},
    [E_UNARY] = {"type", "term", NULL},
    [E_LITERAL] = {"type", "term", "value"},
    [E_SET] = {"type", "term", "values"},
};

/* `e` has exactly the members of `shape`. */
static bool members_ok(json_t *e, enum shape s, const char *type,
                       const char *at, struct fl_err *err)
{
    const char *k;
    json_t     *v;
    int         i;

    for (i = 0; i < 3 && shape_keys[s][i] != NULL; i++) {
        if (json_object_get(e, shape_keys[s][i]) == NULL) {
            return invalid(err, at, "\"%s\" expression needs \"%s\"", type,
                           shape_keys[s][i]);
        }
    }
    json_object_foreach(e, k, v) {
        for (i = 0; i < 3 && shape_keys[s][i] != NULL &&
                    strcmp(shape_keys[s][i], k) != 0; i++) {
        }
        if (i == 3 || shape_keys[s][i] == NULL) {
            return invalid(err, at, "unexpected member \"%s\" in a \"%s\" "
                           "expression", k, type);
        }
    }
    return true;
}

static bool literal_ok(json_t *v)
{
    return json_is_string(v) || json_is_number(v) || json_is_boolean(v);
}

/* term (a column name) and value / values of a predicate. */
static bool predicate_ok(json_t *e, enum shape s, const char *at,
                         struct fl_err *err)
{
    json_t *term = json_object_get(e, "term");
    json_t *vals = json_object_get(e, "values");
    json_t *v;
    size_t  i;

    if (!json_is_string(term) || json_string_length(term) == 0) {
        return invalid(err, at, "\"term\" must be a column name (a "
                       "non-empty string)");
    }
    if (s == E_LITERAL && !literal_ok(json_object_get(e, "value"))) {
        return invalid(err, at, "\"value\" must be a string, a number or "
                       "a boolean");
    }
    if (s != E_SET) {
        return true;
    }
    if (!json_is_array(vals) || json_array_size(vals) == 0) {
        return invalid(err, at, "\"values\" must be a non-empty array");
    }
    json_array_foreach(vals, i, v) {
        if (!literal_ok(v)) {
            return invalid(err, at, "\"values\"[%zu] must be a string, a "
                           "number or a boolean", i);
        }
    }
    return true;
}

static bool expr_ok(struct fl_arena *a, json_t *e, const char *at, int depth,
                    struct fl_err *err);

static bool children_ok(struct fl_arena *a, json_t *e, enum shape s,
                        const char *at, int depth, struct fl_err *err)
{
    if (s == E_NOT) {
        return expr_ok(a, json_object_get(e, "child"),
                       fl_sprintf(a, "%s.child", at), depth + 1, err);
    }
    return expr_ok(a, json_object_get(e, "left"),
                   fl_sprintf(a, "%s.left", at), depth + 1, err) &&
           expr_ok(a, json_object_get(e, "right"),
                   fl_sprintf(a, "%s.right", at), depth + 1, err);
}

/* An Iceberg expression (REST spec, Expression), strictly. */
static bool expr_ok(struct fl_arena *a, json_t *e, const char *at, int depth,
                    struct fl_err *err)
{
    const char *type;
    size_t      i;

    if (depth > MAX_EXPR_DEPTH) {
        return invalid(err, at, "expression nested deeper than %d levels",
                       MAX_EXPR_DEPTH);
    }
    if (json_is_boolean(e)) {
        return true;
    }
    type = json_string_value(json_object_get(e, "type"));
    if (!json_is_object(e) || type == NULL) {
        return invalid(err, at, "an expression must be true, false or an "
                       "object with a string \"type\"");
    }
    for (i = 0; i < FL_ARRAY_LEN(ops) && strcmp(ops[i].type, type) != 0;
         i++) {
    }
    if (i == FL_ARRAY_LEN(ops)) {
        return invalid(err, at, "unknown expression type \"%.64s\"", type);
    }
    if (!members_ok(e, ops[i].shape, type, at, err)) {
        return false;
    }
    switch (ops[i].shape) {
    case E_CONST:
        return true;
    case E_BINARY:
    case E_NOT:
        return children_ok(a, e, ops[i].shape, at, depth, err);
    default:
        return predicate_ok(e, ops[i].shape, at, err);
    }
}

/* ------------------------------------------------------------------ rules */

/* A principal role or column name: 1..CAT_MAX_NAME bytes, no controls. */
static bool name_ok(json_t *v, const char *what, const char *at,
                    struct fl_err *err)
{
    const char *s = json_string_value(v);

    if (s == NULL || s[0] == '\0' || strlen(s) > CAT_MAX_NAME ||
        fl_has_control(s)) {
        return invalid(err, at, "\"%s\" must be a non-empty string of at "
                       "most %d bytes without control characters", what,
                       CAT_MAX_NAME);
    }
    return true;
}

/* Exactly the members `keys` (n of them, all required). */
static bool rule_members(json_t *r, const char *const *keys, int n,
                         const char *at, struct fl_err *err)
{
    const char *k;
    json_t     *v;
    int         i;

    if (!json_is_object(r)) {
        return invalid(err, at, "a rule must be an object");
    }
    for (i = 0; i < n; i++) {
        if (json_object_get(r, keys[i]) == NULL) {
            return invalid(err, at, "missing \"%s\"", keys[i]);
        }
    }
    json_object_foreach(r, k, v) {
        for (i = 0; i < n && strcmp(keys[i], k) != 0; i++) {
        }
        if (i == n) {
            return invalid(err, at, "unexpected member \"%.64s\"", k);
        }
    }
    return true;
}

static bool row_filter_ok(struct fl_arena *a, json_t *r, const char *at,
                          struct fl_err *err)
{
    static const char *const keys[] = {"principal-role", "filter"};

    return rule_members(r, keys, 2, at, err) &&
           name_ok(json_object_get(r, "principal-role"), "principal-role",
                   at, err) &&
           expr_ok(a, json_object_get(r, "filter"),
                   fl_sprintf(a, "%s.filter", at), 0, err);
}

static bool column_mask_ok(json_t *r, const char *at, struct fl_err *err)
{
    static const char *const keys[] = {"principal-role", "column", "mask"};
    static const char *const masks[] = {"hide", "null", "hash", "redact"};
    const char              *m;
    size_t                   i;

    if (!rule_members(r, keys, 3, at, err) ||
        !name_ok(json_object_get(r, "principal-role"), "principal-role", at,
                 err) ||
        !name_ok(json_object_get(r, "column"), "column", at, err)) {
        return false;
    }
    m = json_string_value(json_object_get(r, "mask"));
    for (i = 0; m != NULL && i < FL_ARRAY_LEN(masks); i++) {
        if (strcmp(m, masks[i]) == 0) {
            return true;
        }
    }
    return invalid(err, at, "\"mask\" must be one of hide, null, hash, "
                   "redact");
}

/* Same role (and, for masks, same column) as an earlier rule? */
static bool duplicate(json_t *rules, size_t n, json_t *r, bool masks)
{
    const char *role = json_string_value(json_object_get(r, "principal-role"));
    const char *col = json_string_value(json_object_get(r, "column"));
    size_t      i;

    for (i = 0; i < n; i++) {
        json_t *o = json_array_get(rules, i);

        if (strcmp(role, json_string_value(json_object_get(
                             o, "principal-role"))) == 0 &&
            (!masks || strcmp(col, json_string_value(json_object_get(
                                       o, "column"))) == 0)) {
            return true;
        }
    }
    return false;
}

static bool rules_check(struct fl_arena *a, json_t *root, bool masks,
                        json_t **out, struct fl_err *err)
{
    json_t *rules = json_object_get(root, "rules");
    json_t *r;
    size_t  i;

    if (json_object_size(root) != 1 || !json_is_array(rules)) {
        return invalid(err, "", "the content must be an object with one "
                       "member, \"rules\", an array");
    }
    if (json_array_size(rules) > MAX_RULES) {
        return invalid(err, "rules", "at most %d rules are allowed",
                       MAX_RULES);
    }
    json_array_foreach(rules, i, r) {
        const char *at = fl_sprintf(a, "rules[%zu]", i);

        if (!(masks ? column_mask_ok(r, at, err)
                    : row_filter_ok(a, r, at, err))) {
            return false;
        }
        if (duplicate(rules, i, r, masks)) {
            return invalid(err, at, masks
                           ? "a second mask for the same role and column"
                           : "a second row filter for the same role");
        }
    }
    *out = rules;
    return true;
}

/*
 * Validate `content` (a JSON document in a string) as a policy of `type`.
 * For Floe's types *rules receives the "rules" array (borrowed, owned by
 * the arena); for the others it is set to NULL.  Errors: 400
 * BadRequestException "Unknown policy type: x", 400 InvalidPolicyException
 * naming what is wrong.
 */
bool cat_policy_validate(struct fl_arena *a, const char *type,
                         const char *content, json_t **rules,
                         struct fl_err *err)
{
    const struct cat_policy_type *pt = cat_policy_type_find(type);
    json_error_t                  je;
    json_t                       *root;

    *rules = NULL;
    if (pt == NULL) {
        return FL_ERR(err, 400, "BadRequestException",
                      "Unknown policy type: %.128s", type ? type : "");
    }
    if (content == NULL || content[0] == '\0') {
        return FL_ERR(err, 400, "InvalidPolicyException", "Policy is empty");
    }
    root = json_loads(content, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        return invalid(err, "", "not valid JSON: %s (line %d, column %d)",
                       je.text, je.line, je.column);
    }
    fl_arena_own_json(a, root);
    if (!json_is_object(root)) {
        return invalid(err, "", "the content must be a JSON object");
    }
    if (pt->rule_kind != NULL) {
        return rules_check(a, root, strcmp(pt->rule_kind, "column-mask") == 0,
                           rules, err);
    }
    return maint_check(root,
                       strcmp(type, "system.orphan-file-removal") == 0, err);
}
