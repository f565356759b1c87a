/*
 * test_core.c
 *
 * core/: the arena (alignment, zeroing, large blocks, cleanups in LIFO
 * order, JSON ownership), the error set-once rule and re-typing, capped
 * buffers, and the text helpers.
 */
#include "core/core.h"

#include <stdint.h>
#include <string.h>

#include "t.h"

static int order[4];
static int norder;

static void record(void *arg)
{
    order[norder++] = (int)(intptr_t)arg;
}

static void test_arena_alloc(void)
{
    struct fl_arena *a = fl_arena_new(256);
    char            *p;
    int              i;

    for (i = 0; i < 100; i++) {
        p = fl_alloc(a, (size_t)i + 1);
        T_CHECK(((uintptr_t)p % 16) == 0);
        T_CHECK(p[i] == 0);
        memset(p, 'x', (size_t)i + 1);
    }
    p = fl_alloc(a, 100000);           /* larger than a chunk */
    T_CHECK(p[99999] == 0);
    p[0] = 1;
    T_CHECK(fl_arena_used(a) >= 100000);
    T_STREQ(fl_sprintf(a, "%s-%d", "a", 42), "a-42");
    T_STREQ(fl_strndup(a, "abcdef", 3), "abc");
    fl_arena_free(a);
}

static void test_arena_defer_lifo(void)
{
    struct fl_arena *a = fl_arena_new(0);

    norder = 0;
    fl_arena_defer(a, record, (void *)1);
    fl_arena_defer(a, record, (void *)2);
    fl_arena_defer(a, record, (void *)3);
    fl_arena_free(a);
    T_CHECK(norder == 3);
    T_CHECK(order[0] == 3 && order[1] == 2 && order[2] == 1);
}

static void test_arena_owns_json(void)
{
    struct fl_arena *a = fl_arena_new(0);
    json_t          *v = fl_arena_own_json(a, json_object());

    json_object_set_new(v, "k", json_string("v"));
    T_CHECK(v->refcount == 1);
    fl_arena_free(a);                   /* ASan reports a leak otherwise */
}

static void test_err_set_once(void)
{
    struct fl_err err;

    fl_err_clear(&err);
    T_CHECK(!fl_err_isset(&err));
    T_CHECK(!FL_ERR(&err, 404, "NoSuchTableException", "table %s", "t"));
    T_CHECK(!FL_ERR(&err, 500, "InternalServerError", "later"));
    T_CHECK(err.status == 404);
    T_STREQ(err.type, "NoSuchTableException");
    T_STREQ(err.msg, "table t");
    T_CHECK(err.line > 0 && strstr(err.file, "test_core.c") != NULL);
}

static void test_err_retype(void)
{
    struct fl_err err;

    fl_err_clear(&err);
    FL_ERR(&err, 409, "AlreadyExistsException", "the object already exists");
    fl_err_logf(&err, "sqlstate %s", "23505");
    fl_err_retype(&err, 409, "AlreadyExistsException", "Table exists: %s",
                  "a.b");
    T_STREQ(err.msg, "Table exists: a.b");
    T_STREQ(err.log, "sqlstate 23505");
    fl_err_retype(&err, 500, "CommitStateUnknownException", NULL);
    T_STREQ(err.msg, "Table exists: a.b");
    T_CHECK(err.status == 500);
}

static void test_err_truncates(void)
{
    struct fl_err err;
    char          big[600];

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    fl_err_clear(&err);
    FL_ERR(&err, 400, "BadRequestException", "%s", big);
    T_CHECK(strlen(err.msg) == sizeof(err.msg) - 1);
}

static void test_buf_cap(void)
{
    struct fl_arena *a = fl_arena_new(0);
    struct fl_buf    b;
    int              i;

    fl_buf_init(&b, a, 10);
    T_CHECK(fl_buf_append(&b, "0123456789", 10));
    T_CHECK(!fl_buf_append(&b, "x", 1));
    T_CHECK(b.len == 10);
    T_STREQ(b.p, "0123456789");
    fl_buf_init(&b, NULL, 0);
    for (i = 0; i < 1000; i++) {
        T_CHECK(fl_buf_printf(&b, "%d,", i));
    }
    T_CHECK(strncmp(b.p, "0,1,2,", 6) == 0);
    fl_buf_release(&b);
    fl_arena_free(a);
}

static void test_uuid(void)
{
    char a[37];
    char b[37];

    fl_uuid_v4(a);
    fl_uuid_v4(b);
    T_CHECK(fl_uuid_valid(a) && fl_uuid_valid(b));
    T_CHECK(strcmp(a, b) != 0);
    T_CHECK(a[14] == '4');
    fl_uuid_v7(a);
    T_CHECK(fl_uuid_valid(a) && a[14] == '7');
    T_CHECK(!fl_uuid_valid("not-a-uuid"));
    T_CHECK(!fl_uuid_valid("0123456789abcdef0123456789abcdef0123"));
}

static void test_parse_i64(void)
{
    int64_t v;

    T_CHECK(fl_parse_i64("42", 0, 100, &v) && v == 42);
    T_CHECK(fl_parse_i64("-5", -10, 10, &v) && v == -5);
    T_CHECK(!fl_parse_i64("", 0, 100, &v));
    T_CHECK(!fl_parse_i64("12x", 0, 100, &v));
    T_CHECK(!fl_parse_i64("101", 0, 100, &v));
    T_CHECK(!fl_parse_i64("99999999999999999999", 0, INT64_MAX, &v));
}

static void test_utf8(void)
{
    T_CHECK(fl_utf8_valid("caf\xc3\xa9", 5));
    T_CHECK(fl_utf8_valid("\xf0\x9f\x98\x80", 4));
    T_CHECK(!fl_utf8_valid("\xc3", 1));                /* truncated */
    T_CHECK(!fl_utf8_valid("\xc0\xaf", 2));            /* overlong */
    T_CHECK(!fl_utf8_valid("\xed\xa0\x80", 3));        /* surrogate */
    T_CHECK(!fl_utf8_valid("\xf4\x90\x80\x80", 4));    /* > U+10FFFF */
    T_CHECK(fl_has_control("a\tb"));
    T_CHECK(fl_has_control("a\x7f"));
    T_CHECK(!fl_has_control("plain text"));
}

static void test_json_accessors(void)
{
    json_t       *o = json_loads("{\"s\":\"x\",\"i\":3,\"b\":true,"
                                 "\"a\":[1],\"o\":{},\"n\":null}", 0, NULL);
    struct fl_err err;
    const char   *s;
    json_int_t    i = 0;
    bool          b = false;
    json_t       *v;

    fl_err_clear(&err);
    T_CHECK(fl_json_str(o, "s", true, &s, &err) && strcmp(s, "x") == 0);
    T_CHECK(fl_json_int(o, "i", true, &i, &err) && i == 3);
    T_CHECK(fl_json_bool(o, "b", true, &b, &err) && b);
    T_CHECK(fl_json_arr(o, "a", true, &v, &err) && json_is_array(v));
    T_CHECK(fl_json_obj(o, "o", true, &v, &err) && json_is_object(v));
    T_CHECK(fl_json_str(o, "n", false, &s, &err) && s == NULL);
    T_CHECK(!fl_err_isset(&err));
    T_CHECK(!fl_json_str(o, "i", true, &s, &err));
    T_CHECK(err.status == 400);
    T_STREQ(err.msg, "field \"i\" must be a string");
    fl_err_clear(&err);
    T_CHECK(!fl_json_obj(o, "missing", true, &v, &err));
    T_STREQ(err.msg, "missing required field \"missing\"");
    fl_err_clear(&err);
    json_object_set_new(o, "m", json_pack("{ss si}", "k", "v", "x", 1));
    T_CHECK(!fl_json_string_map(json_object_get(o, "m"), "m", &err));
    T_CHECK(err.status == 400);
    json_decref(o);
}

T_MAIN(T(test_arena_alloc), T(test_arena_defer_lifo), T(test_arena_owns_json),
       T(test_err_set_once), T(test_err_retype), T(test_err_truncates),
       T(test_buf_cap), T(test_uuid), T(test_parse_i64), T(test_utf8),
       T(test_json_accessors))
