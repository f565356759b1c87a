/*
 * test_policy.c
 *
 * Policy types and content validation (catalog/cat_policy_content.c) as
 * pure functions: the four Polaris maintenance types (enable, version,
 * config, the orphan-file-removal fields, unknown members) and Floe's
 * floe.row-filter (every Iceberg expression shape, strictly) and
 * floe.column-mask, with the rules they hand to policy_rules.
 */
#include "catalog/catalog.h"

#include <string.h>

#include "t.h"

static struct fl_arena *a;

/* Validate `content` (written with ' for ") as `type`; the error type. */
static const char *check(const char *type, const char *content,
                         json_t **rules, struct fl_err *err)
{
    char   *s = content ? fl_strdup(a, content) : NULL;
    char   *p;
    json_t *r;

    for (p = s; p != NULL && *p != '\0'; p++) {
        if (*p == '\'') {
            *p = '"';
        }
    }
    fl_err_clear(err);
    if (cat_policy_validate(a, type, s, rules ? rules : &r, err)) {
        return "ok";
    }
    return err->type;
}

#define OK(type, c)  T_STREQ(check(type, c, NULL, &err), "ok")
#define BAD(type, c) T_STREQ(check(type, c, NULL, &err), \
                             "InvalidPolicyException")

static void test_types(void)
{
    struct fl_err err;

    a = fl_arena_new(0);
    T_CHECK(cat_policy_type_find("system.snapshot-expiry")->inheritable);
    T_CHECK(cat_policy_type_find("system.data-compaction")->rule_kind ==
            NULL);
    T_STREQ(cat_policy_type_find("floe.row-filter")->rule_kind,
            "row-filter");
    T_STREQ(cat_policy_type_find("floe.column-mask")->rule_kind,
            "column-mask");
    T_CHECK(cat_policy_type_find("system.data_compaction") == NULL);
    T_CHECK(cat_policy_type_find(NULL) == NULL);
    T_STREQ(check("custom.type", "{}", NULL, &err), "BadRequestException");
    T_STREQ(err.msg, "Unknown policy type: custom.type");
    T_CHECK(err.status == 400);
    fl_arena_free(a);
}

static void test_maintenance(void)
{
    struct fl_err err;

    a = fl_arena_new(0);
    OK("system.data-compaction", "{'enable': true}");
    OK("system.metadata-compaction", "{'version': '2025-02-03', "
       "'enable': false, 'config': {'spec_id': 1}}");
    OK("system.snapshot-expiry", "{'enable': true, 'config': "
       "{'min_snapshot_to_keep': 1, 'mode': 'x', 'on': true}}");
    OK("system.data-compaction", "{'enable': true, 'version': ''}");
    OK("system.orphan-file-removal", "{'enable': true, "
       "'max_orphan_file_age_in_days': 30, 'locations': ['s3://b/x']}");
    BAD("system.data-compaction", NULL);
    T_STREQ(err.msg, "Policy is empty");
    BAD("system.data-compaction", "");
    BAD("system.data-compaction", "{'enable': tru");
    BAD("system.data-compaction", "[true]");
    BAD("system.data-compaction", "{}");
    T_CHECK(strstr(err.msg, "\"enable\"") != NULL);
    BAD("system.data-compaction", "{'enable': 'true'}");
    BAD("system.data-compaction", "{'enable': null}");
    BAD("system.data-compaction", "{'enable': true, 'version': '2024'}");
    T_STREQ(err.msg, "Invalid policy version: 2024");
    BAD("system.data-compaction", "{'enable': true, 'version': 1}");
    BAD("system.data-compaction", "{'enable': true, 'config': []}");
    BAD("system.data-compaction", "{'enable': true, 'config': {'a': {}}}");
    BAD("system.data-compaction", "{'enable': true, 'config': {'a': null}}");
    OK("system.data-compaction", "{'enable': true, 'config': null}");
    OK("system.orphan-file-removal", "{'enable': true, 'locations': null, "
       "'max_orphan_file_age_in_days': null, 'version': null}");
    BAD("system.snapshot-expiry", "{'enable': true, 'locations': null}");
    BAD("system.data-compaction", "{'enable': true, 'extra': 1}");
    T_CHECK(strstr(err.msg, "unrecognized field \"extra\"") != NULL);
    BAD("system.snapshot-expiry", "{'enable': true, 'locations': []}");
    BAD("system.orphan-file-removal", "{'enable': true, "
        "'max_orphan_file_age_in_days': -1}");
    BAD("system.orphan-file-removal", "{'enable': true, "
        "'max_orphan_file_age_in_days': '3'}");
    BAD("system.orphan-file-removal", "{'enable': true, 'locations': [1]}");
    BAD("system.orphan-file-removal", "{'enable': true, 'locations': 'x'}");
    BAD("system.data-compaction", "{'enable': true, 'enable': false}");
    fl_arena_free(a);
}

#define RF(f) "{'rules': [{'principal-role': 'r', 'filter': " f "}]}"

static void test_row_filter(void)
{
    struct fl_err err;
    json_t       *rules;

    a = fl_arena_new(0);
    OK("floe.row-filter", RF("true"));
    OK("floe.row-filter", RF("{'type': 'false'}"));
    OK("floe.row-filter", RF("{'type': 'eq', 'term': 'region', "
                             "'value': 'EU'}"));
    OK("floe.row-filter", RF("{'type': 'and', 'left': {'type': 'gt-eq', "
                             "'term': 'x', 'value': 3}, 'right': {'type': "
                             "'not', 'child': {'type': 'is-null', 'term': "
                             "'y'}}}"));
    OK("floe.row-filter", RF("{'type': 'or', 'left': false, 'right': "
                             "{'type': 'not-in', 'term': 'c', 'values': "
                             "[1, 2.5, 'z', true]}}"));
    OK("floe.row-filter", RF("{'type': 'starts-with', 'term': 'n', "
                             "'value': 'ab'}"));
    OK("floe.row-filter", "{'rules': []}");
    T_STREQ(check("floe.row-filter", RF("{'type': 'not-nan', 'term': 'f'}"),
                  &rules, &err), "ok");
    T_CHECK(json_array_size(rules) == 1);
    T_STREQ(json_string_value(json_object_get(json_array_get(rules, 0),
                                              "principal-role")), "r");
    BAD("floe.row-filter", RF("{'type': 'like', 'term': 'x'}"));
    T_STREQ(err.msg, "Invalid policy content: rules[0].filter: unknown "
                     "expression type \"like\"");
    BAD("floe.row-filter", RF("{'type': 'eq', 'term': 'x'}"));
    BAD("floe.row-filter", RF("{'type': 'eq', 'term': '', 'value': 1}"));
    BAD("floe.row-filter", RF("{'type': 'eq', 'term': {'type': 'bucket'}, "
                              "'value': 1}"));
    BAD("floe.row-filter", RF("{'type': 'eq', 'term': 'x', 'value': null}"));
    BAD("floe.row-filter", RF("{'type': 'eq', 'term': 'x', 'value': [1]}"));
    BAD("floe.row-filter", RF("{'type': 'is-null', 'term': 'x', "
                              "'value': 1}"));
    T_CHECK(strstr(err.msg, "unexpected member \"value\"") != NULL);
    BAD("floe.row-filter", RF("{'type': 'in', 'term': 'x', 'values': []}"));
    BAD("floe.row-filter", RF("{'type': 'in', 'term': 'x', 'values': "
                              "[{}]}"));
    BAD("floe.row-filter", RF("{'type': 'and', 'left': true}"));
    BAD("floe.row-filter", RF("{'type': 'not', 'child': 3}"));
    T_STREQ(err.msg, "Invalid policy content: rules[0].filter.child: an "
                     "expression must be true, false or an object with a "
                     "string \"type\"");
    BAD("floe.row-filter", RF("'x > 3'"));
    BAD("floe.row-filter", RF("{'type': 'true', 'x': 1}"));
    fl_arena_free(a);
}

static void test_row_filter_rules(void)
{
    struct fl_err err;
    char          deep[2048];
    size_t        i;
    size_t        n = 0;

    a = fl_arena_new(0);
    BAD("floe.row-filter", "{}");
    BAD("floe.row-filter", "{'rules': {}}");
    BAD("floe.row-filter", "{'rules': [], 'version': 1}");
    BAD("floe.row-filter", "{'rules': [{'filter': true}]}");
    BAD("floe.row-filter", "{'rules': [{'principal-role': '', "
        "'filter': true}]}");
    BAD("floe.row-filter", "{'rules': [{'principal-role': 'r', "
        "'filter': true, 'column': 'c'}]}");
    BAD("floe.row-filter", "{'rules': [{'principal-role': 'r', 'filter': "
        "true}, {'principal-role': 'r', 'filter': false}]}");
    T_CHECK(strstr(err.msg, "rules[1]") != NULL);
    BAD("floe.row-filter", "{'rules': ['r']}");
    /* nesting is bounded */
    n += (size_t)snprintf(deep, sizeof(deep), "%s",
                          "{'rules': [{'principal-role': 'r', 'filter': ");
    for (i = 0; i < 40; i++) {
        n += (size_t)snprintf(deep + n, sizeof(deep) - n, "%s",
                              "{'type': 'not', 'child': ");
    }
    n += (size_t)snprintf(deep + n, sizeof(deep) - n, "true");
    for (i = 0; i < 40; i++) {
        n += (size_t)snprintf(deep + n, sizeof(deep) - n, "}");
    }
    snprintf(deep + n, sizeof(deep) - n, "}]}");
    BAD("floe.row-filter", deep);
    T_CHECK(strstr(err.msg, "nested deeper") != NULL);
    fl_arena_free(a);
}

static void test_column_mask(void)
{
    struct fl_err err;
    json_t       *rules;

    a = fl_arena_new(0);
    T_STREQ(check("floe.column-mask", "{'rules': [{'principal-role': 'r', "
                  "'column': 'ssn', 'mask': 'hash'}, {'principal-role': "
                  "'r', 'column': 'name', 'mask': 'redact'}, "
                  "{'principal-role': 's', 'column': 'ssn', 'mask': "
                  "'null'}, {'principal-role': 's', 'column': 'x', "
                  "'mask': 'hide'}]}", &rules, &err), "ok");
    T_CHECK(json_array_size(rules) == 4);
    BAD("floe.column-mask", "{'rules': [{'principal-role': 'r', "
        "'column': 'ssn', 'mask': 'blur'}]}");
    T_STREQ(err.msg, "Invalid policy content: rules[0]: \"mask\" must be "
                     "one of hide, null, hash, redact");
    BAD("floe.column-mask", "{'rules': [{'principal-role': 'r', "
        "'mask': 'hash'}]}");
    BAD("floe.column-mask", "{'rules': [{'principal-role': 'r', "
        "'column': '', 'mask': 'hash'}]}");
    BAD("floe.column-mask", "{'rules': [{'principal-role': 'r', "
        "'column': 'c', 'mask': 'hash', 'filter': true}]}");
    BAD("floe.column-mask", "{'rules': [{'principal-role': 'r', "
        "'column': 'c', 'mask': 'hash'}, {'principal-role': 'r', "
        "'column': 'c', 'mask': 'null'}]}");
    T_CHECK(strstr(err.msg, "same role and column") != NULL);
    fl_arena_free(a);
}

T_MAIN(T(test_types), T(test_maintenance), T(test_row_filter),
       T(test_row_filter_rules), T(test_column_mask))
