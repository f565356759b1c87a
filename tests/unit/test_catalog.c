/*
 * test_catalog.c
 *
 * catalog/ pure functions: entity-name rules (Polaris's validator), the
 * location containment test, the Postgres text[] encoding round trip, page
 * tokens, and Catalog object validation (no database: decoding only).
 */
#include "catalog/catalog_int.h"

#include <string.h>

#include "t.h"

static void test_names(void)
{
    static const char *const good[] = {
        "a", "db.schema", "caf\xc3\xa9", "with space", "x-y_z", "123",
    };
    static const char *const bad[] = {
        "", ".", "..", "a/b", "a\\b", "a:b", "a*b", "a?b", "a\"b", "a<b",
        "a>b", "a|b", "a#b", "a+b", "a`b", " lead", "trail ", "tab\there",
        "nl\n", "del\x7f", "c1\xc2\x85", "bad\xc3",
    };
    struct fl_err err;
    size_t        i;
    char          longname[CAT_MAX_NAME + 2];

    for (i = 0; i < FL_ARRAY_LEN(good); i++) {
        fl_err_clear(&err);
        T_CHECK(cat_name_check("x", good[i], &err));
    }
    for (i = 0; i < FL_ARRAY_LEN(bad); i++) {
        fl_err_clear(&err);
        if (cat_name_check("x", bad[i], &err)) {
            fprintf(stderr, "  accepted bad name #%zu\n", i);
        }
        T_CHECK(err.status == 400);
        T_STREQ(err.type, "IllegalArgumentException");
    }
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    fl_err_clear(&err);
    T_CHECK(!cat_name_check("x", longname, &err));
    longname[CAT_MAX_NAME] = '\0';
    fl_err_clear(&err);
    T_CHECK(cat_name_check("x", longname, &err));
    fl_err_clear(&err);
    T_CHECK(!cat_name_check("x", "", &err));
    T_STREQ(err.msg, "Entity name must not be empty");
}

static void test_ns_levels(void)
{
    const char   *deep[CAT_MAX_NS_LEVELS + 1];
    struct fl_err err;
    int           i;

    for (i = 0; i <= CAT_MAX_NS_LEVELS; i++) {
        deep[i] = "l";
    }
    fl_err_clear(&err);
    T_CHECK(cat_ns_check(deep, CAT_MAX_NS_LEVELS, &err));
    T_CHECK(!cat_ns_check(deep, CAT_MAX_NS_LEVELS + 1, &err));
}

static void test_render(void)
{
    struct fl_arena  *a = fl_arena_new(0);
    const char *const lv[] = {"a", "b.c", "d"};

    T_STREQ(cat_ns_render(a, lv, 3), "a.b.c.d");
    T_STREQ(cat_ns_render(a, lv, 0), "");
    fl_arena_free(a);
}

static void test_location_within(void)
{
    T_CHECK(cat_location_within("s3://b/wh", "s3://b/wh"));
    T_CHECK(cat_location_within("s3://b/wh/", "s3://b/wh"));
    T_CHECK(cat_location_within("s3://b/wh/t/x", "s3://b/wh/"));
    T_CHECK(!cat_location_within("s3://b/wh2", "s3://b/wh"));
    T_CHECK(!cat_location_within("s3://b/w", "s3://b/wh"));
    T_CHECK(!cat_location_within("s3://b/wh", ""));
    T_CHECK(cat_location_within("file:///tmp/a/b", "file:///tmp/a"));
}

static void test_location_valid(void)
{
    T_CHECK(cat_location_valid("s3://b/wh/t"));
    T_CHECK(cat_location_valid("file:///tmp/a.b/..c/x."));
    T_CHECK(!cat_location_valid(""));
    T_CHECK(!cat_location_valid("s3://b/wh/../other"));
    T_CHECK(!cat_location_valid("s3://b/wh/.."));
    T_CHECK(!cat_location_valid("file:///tmp/./x"));
    T_CHECK(!cat_location_valid("file:///tmp/x/."));
    T_CHECK(!cat_location_valid("s3://b/a\nb"));
}

static void test_pg_array_round_trip(void)
{
    struct fl_arena  *a = fl_arena_new(0);
    const char *const lv[] = {"plain", "with \"quote\"", "back\\slash",
                              "com,ma", "{brace}", "NULL", ""};
    const char      **back;
    char             *lit;
    int               n;
    int               i;

    lit = cat_pg_array(a, lv, 7);
    T_STREQ(cat_pg_array(a, lv, 0), "{}");
    /* what Postgres prints for the same array */
    back = cat_pg_array_parse(a, "{plain,\"with \\\"quote\\\"\","
                              "\"back\\\\slash\",\"com,ma\",\"{brace}\","
                              "\"NULL\",\"\"}", &n);
    T_CHECK(n == 7);
    for (i = 0; i < n; i++) {
        T_STREQ(back[i], lv[i]);
    }
    T_CHECK(back[7] == NULL);
    T_CHECK(strstr(lit, "\"with \\\"quote\\\"\"") != NULL);
    back = cat_pg_array_parse(a, "{}", &n);
    T_CHECK(n == 0 && back[0] == NULL);
    fl_arena_free(a);
}

static void test_tokens(void)
{
    static const unsigned char key[] = "0123456789abcdef0123456789abcdef";
    struct cat_settings st = {.token_key = key, .token_key_len = 32};
    struct cat_ctx      cx = {.settings = &st};
    struct fl_err       err;
    char               *t;
    char               *forged;

    cx.a = fl_arena_new(0);
    t = cat_token_encode(&cx, "ns:1:", "ns_\xc3\xa9");
    fl_err_clear(&err);
    T_STREQ(cat_token_decode(&cx, "ns:1:", t, &err), "ns_\xc3\xa9");
    /* another listing's token is refused */
    T_CHECK(cat_token_decode(&cx, "ns:2:", t, &err) == NULL);
    T_CHECK(err.status == 400);
    T_STREQ(err.msg, "invalid pageToken");
    /* an edited payload is refused: "ns:1:\x1fzz" with the old MAC */
    fl_err_clear(&err);
    forged = fl_sprintf(cx.a, "%s%s", fl_base64url(cx.a, "ns:1:\x1fzz", 8),
                        strchr(t, '.'));
    T_CHECK(cat_token_decode(&cx, "ns:1:", forged, &err) == NULL);
    /* a different key refuses it too */
    st.token_key = (const unsigned char *)"another key, 32 bytes long......";
    fl_err_clear(&err);
    T_CHECK(cat_token_decode(&cx, "ns:1:", t, &err) == NULL);
    st.token_key = key;
    fl_err_clear(&err);
    T_CHECK(cat_token_decode(&cx, "ns:1:", "abc", &err) == NULL);
    fl_err_clear(&err);
    T_CHECK(cat_token_decode(&cx, "ns:1:", "a.b", &err) == NULL);
    fl_err_clear(&err);
    T_CHECK(cat_token_decode(&cx, "ns:1:", ".", &err) == NULL);
    fl_arena_free(cx.a);
}

static void test_base64url(void)
{
    struct fl_arena *a = fl_arena_new(0);
    size_t           n = 0;
    const char      *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char      *want[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE",
                               "Zm9vYmFy"};
    size_t           i;

    for (i = 0; i < FL_ARRAY_LEN(in); i++) {
        T_STREQ(fl_base64url(a, in[i], strlen(in[i])), want[i]);
        T_STREQ(fl_base64url_decode(a, want[i], &n), in[i]);
        T_CHECK(n == strlen(in[i]));
    }
    T_CHECK(fl_base64url_decode(a, "Zh", &n) == NULL);  /* stray bits */
    T_CHECK(fl_base64url_decode(a, "Z", &n) == NULL);
    T_CHECK(fl_base64url_decode(a, "Zm9v=", &n) == NULL);
    T_CHECK(fl_base64url_decode(a, "Zm+v", &n) == NULL);
    fl_arena_free(a);
}

static struct cat_settings settings = {.allow_file = true,
                                       .default_base_location = ""};
static struct fl_arena    *a;

/* Decode a Catalog object; returns the error status (0 when valid). */
static int decode(const char *text, struct cat_catalog *c)
{
    struct cat_ctx          cx;
    struct fl_err           err;
    json_t                 *v = json_loads(text, 0, NULL);

    fl_arena_free(a);
    a = fl_arena_new(0);
    memset(&cx, 0, sizeof(cx));
    cx.a = a;
    cx.settings = &settings;
    fl_err_clear(&err);
    T_CHECK(v != NULL);
    fl_arena_own_json(a, v);
    cat_catalog_from_json(&cx, v, c, &err);
    return err.status;
}

static void test_catalog_decode(void)
{
    struct cat_catalog c;
    json_t            *locs;

    T_CHECK(decode("{\"type\":\"INTERNAL\",\"name\":\"c\",\"properties\":"
                   "{\"default-base-location\":\"s3://b/c\"},"
                   "\"storageConfigInfo\":{\"storageType\":\"S3\","
                   "\"roleArn\":\"arn:x\",\"pathStyleAccess\":true,"
                   "\"junk\":1}}", &c) == 0);
    locs = json_object_get(c.storage, "allowedLocations");
    T_CHECK(json_array_size(locs) == 1);
    T_STREQ(json_string_value(json_array_get(locs, 0)), "s3://b/c");
    T_CHECK(json_is_true(json_object_get(c.storage, "pathStyleAccess")));
    T_CHECK(json_object_get(c.storage, "junk") == NULL);
    /* invalid ones */
    T_CHECK(decode("{\"type\":\"INTERNAL\",\"name\":\"c\",\"properties\":{},"
                   "\"storageConfigInfo\":{\"storageType\":\"FILE\"}}",
                   &c) == 400);
    T_CHECK(decode("{\"type\":\"OTHER\",\"name\":\"c\",\"properties\":"
                   "{\"default-base-location\":\"file:///x\"},"
                   "\"storageConfigInfo\":{\"storageType\":\"FILE\"}}",
                   &c) == 400);
    T_CHECK(decode("{\"type\":\"INTERNAL\",\"name\":\" System\","
                   "\"properties\":{\"default-base-location\":\"file:///x\"},"
                   "\"storageConfigInfo\":{\"storageType\":\"FILE\"}}",
                   &c) == 400);
    T_CHECK(decode("{\"type\":\"INTERNAL\",\"name\":\"c\",\"properties\":"
                   "{\"default-base-location\":\"s3://b/x\"},"
                   "\"storageConfigInfo\":{\"storageType\":\"FILE\"}}",
                   &c) == 400);
    T_CHECK(decode("{\"type\":\"INTERNAL\",\"name\":\"c\",\"properties\":"
                   "{\"default-base-location\":\"file:///x\"},"
                   "\"storageConfigInfo\":{\"storageType\":\"FILE\","
                   "\"allowedLocations\":[\"file:///y\"]}}", &c) == 400);
    T_CHECK(decode("{\"type\":\"INTERNAL\",\"name\":\"c\",\"properties\":"
                   "{\"default-base-location\":\"gs://x\"},"
                   "\"storageConfigInfo\":{\"storageType\":\"GCS\"}}",
                   &c) == 400);
    settings.allow_file = false;
    T_CHECK(decode("{\"type\":\"INTERNAL\",\"name\":\"c\",\"properties\":"
                   "{\"default-base-location\":\"file:///x\"},"
                   "\"storageConfigInfo\":{\"storageType\":\"FILE\"}}",
                   &c) == 400);
    settings.allow_file = true;
    settings.default_base_location = "file:///base";
    T_CHECK(decode("{\"type\":\"INTERNAL\",\"name\":\"c\",\"properties\":{},"
                   "\"storageConfigInfo\":{\"storageType\":\"FILE\"}}",
                   &c) == 0);
    T_STREQ(json_string_value(json_object_get(c.properties,
                                              "default-base-location")),
            "file:///base/c");
    settings.default_base_location = "";
    fl_arena_free(a);
    a = NULL;
}

T_MAIN(T(test_names), T(test_ns_levels), T(test_render),
       T(test_location_within), T(test_location_valid),
       T(test_pg_array_round_trip), T(test_tokens), T(test_base64url),
       T(test_catalog_decode))
