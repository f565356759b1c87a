/*
 * test_config.c
 *
 * server/srv_config.c: every key of the configuration table takes its
 * default, a good value and refuses a bad one; YAML files with nested
 * sections, lists, and every kind of error with its line and column;
 * FLOE_* overrides; secret redaction.
 */
#include "server/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t.h"

static char path[64];

static const char *yaml(const char *text)
{
    FILE *f;
    int   fd;

    snprintf(path, sizeof(path), "/tmp/floe-cfg-XXXXXX");
    fd = mkstemp(path);
    T_CHECK(fd >= 0);
    f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_every_key(void)
{
    const struct srv_config_key *k;
    struct srv_config            c;
    struct fl_err                err;
    size_t                       n;
    size_t                       i;

    k = srv_config_keys(&n);
    T_CHECK(n >= 15);
    srv_config_defaults(&c);
    for (i = 0; i < n; i++) {
        const char *good = k[i].def;
        const char *bad = NULL;

        switch (k[i].type) {
        case SRV_CFG_INT:
            good = "1000" ;
            if (1000 < k[i].min || 1000 > k[i].max) {
                good = k[i].def;
            }
            bad = "12abc";
            break;
        case SRV_CFG_BOOL:
            good = "false";
            bad = "maybe";
            break;
        case SRV_CFG_LOGLEVEL:
            good = "debug";
            bad = "loud";
            break;
        default:
            good = "something";
            break;
        }
        fl_err_clear(&err);
        T_CHECK(srv_config_set(&c, k[i].key, k[i].def, &err));
        T_CHECK(srv_config_set(&c, k[i].key, good, &err));
        T_CHECK(k[i].help != NULL && k[i].help[0] != '\0');
        if (bad != NULL) {
            T_CHECK(!srv_config_set(&c, k[i].key, bad, &err));
            T_CHECK(err.status == 400 && strstr(err.msg, k[i].key) != NULL);
        }
    }
    srv_config_free(&c);
}

static void test_int_bounds(void)
{
    struct srv_config c;
    struct fl_err     err;

    srv_config_defaults(&c);
    fl_err_clear(&err);
    T_CHECK(c.listen_port == 8181);
    T_CHECK(srv_config_set(&c, "listen.port", "0", &err));
    T_CHECK(srv_config_set(&c, "listen.port", "65535", &err));
    T_CHECK(!srv_config_set(&c, "listen.port", "65536", &err));
    T_STREQ(err.msg, "\"listen.port\" must be an integer from 0 to 65535, "
                     "not \"65536\"");
    fl_err_clear(&err);
    T_CHECK(!srv_config_set(&c, "server.threads", "0", &err));
    fl_err_clear(&err);
    T_CHECK(!srv_config_set(&c, "no.such.key", "1", &err));
    T_STREQ(err.msg, "unknown configuration key \"no.such.key\"");
    srv_config_free(&c);
}

static void test_yaml_nested(void)
{
    struct srv_config c;
    struct fl_err     err;

    srv_config_defaults(&c);
    fl_err_clear(&err);
    T_CHECK(srv_config_load(&c, yaml(
        "# comment\n"
        "listen:\n"
        "  address: 0.0.0.0\n"
        "  port: 9000\n"
        "db:\n"
        "  url: \"host=/tmp dbname=x\"\n"
        "  pool_size: 3\n"
        "log: {level: warn}\n"
        "realms:\n"
        "  - POLARIS\n"
        "  - other\n"
        "warehouse:\n"
        "  allow_file: no\n"), &err));
    unlink(path);
    T_STREQ(c.listen_address, "0.0.0.0");
    T_CHECK(c.listen_port == 9000);
    T_STREQ(c.db_url, "host=/tmp dbname=x");
    T_CHECK(c.db_pool_size == 3);
    T_CHECK(c.log_level == FL_LOG_WARN);
    T_STREQ(c.realms, "POLARIS,other");
    T_CHECK(!c.warehouse_allow_file);
    srv_config_free(&c);
}

/* Load `text` and expect failure with `want` in the message. */
static void expect_error(const char *text, const char *want)
{
    struct srv_config c;
    struct fl_err     err;
    bool              ok;

    srv_config_defaults(&c);
    fl_err_clear(&err);
    ok = srv_config_load(&c, yaml(text), &err);
    unlink(path);
    srv_config_free(&c);
    if (ok || strstr(err.msg, want) == NULL) {
        fprintf(stderr, "  got \"%s\", want \"%s\"\n", err.msg, want);
    }
    T_CHECK(!ok);
    T_CHECK(strstr(err.msg, want) != NULL);
}

static void test_yaml_errors(void)
{
    expect_error("listen:\n  prot: 1\n",
                 ":2:3: unknown configuration key \"listen.prot\"");
    expect_error("listen:\n  port: x\n",
                 ":2:9: \"listen.port\" must be an integer");
    expect_error("listen:\n  port: 1\n  port: 2\n",
                 ":3:9: duplicate key \"listen.port\"");
    expect_error("listen: 8181\n", ":1:9: \"listen\" is a section");
    expect_error("listen:\n  port:\n    x: 1\n",
                 ":3:5: \"listen.port\" takes a value, not a mapping");
    expect_error("- a\n- b\n", "the configuration must be a mapping");
    expect_error("db:\n  url: [a]\n", ":2:8: a list is not accepted here");
    expect_error("a: &x 1\nb: *x\n", "unknown configuration key \"a\"");
    expect_error("listen: {port: 1\n", ":");
    expect_error("realms: [a, {b: 1}]\n", "a list holds only scalars");
}

static void test_missing_file(void)
{
    struct srv_config c;
    struct fl_err     err;

    srv_config_defaults(&c);
    fl_err_clear(&err);
    T_CHECK(!srv_config_load(&c, "/nonexistent/floe.yaml", &err));
    T_CHECK(strstr(err.msg, "could not open configuration file") != NULL);
    srv_config_free(&c);
}

static void test_env(void)
{
    struct srv_config c;
    struct fl_err     err;
    struct fl_arena  *a = fl_arena_new(0);

    T_STREQ(srv_config_env_name("db.pool_size", a), "FLOE_DB_POOL_SIZE");
    srv_config_defaults(&c);
    fl_err_clear(&err);
    setenv("FLOE_LISTEN_PORT", "1234", 1);
    setenv("FLOE_LOG_LEVEL", "error", 1);
    T_CHECK(srv_config_env(&c, &err));
    T_CHECK(c.listen_port == 1234 && c.log_level == FL_LOG_ERROR);
    setenv("FLOE_LISTEN_PORT", "nope", 1);
    T_CHECK(!srv_config_env(&c, &err));
    T_CHECK(strstr(err.msg, "environment FLOE_LISTEN_PORT:") != NULL);
    unsetenv("FLOE_LISTEN_PORT");
    unsetenv("FLOE_LOG_LEVEL");
    fl_err_clear(&err);
    setenv("FLOE_TYPO", "1", 1);
    T_CHECK(!srv_config_env(&c, &err));
    T_CHECK(strstr(err.msg, "FLOE_TYPO names no configuration key") != NULL);
    unsetenv("FLOE_TYPO");
    srv_config_free(&c);
    fl_arena_free(a);
}

static void test_redaction(void)
{
    struct fl_arena  *a = fl_arena_new(0);
    struct srv_config c;
    struct fl_err     err;
    json_t           *eff;
    char             *s;

    T_STREQ(srv_redact_url("postgresql://u:pw@h:5432/db", a),
            "postgresql://u:***@h:5432/db");
    T_STREQ(srv_redact_url("host=h password=pw dbname=x", a),
            "host=h password=*** dbname=x");
    T_STREQ(srv_redact_url("postgresql://u@h/db?password=pw&x=1", a),
            "postgresql://u@h/db?password=***&x=1");
    T_STREQ(srv_redact_url("host=/tmp dbname=x", a), "host=/tmp dbname=x");
    srv_config_defaults(&c);
    fl_err_clear(&err);
    srv_config_set(&c, "db.url", "postgresql://floe:s3cret@db/floe", &err);
    eff = srv_config_effective(&c);
    s = json_dumps(eff, 0);
    T_CHECK(strstr(s, "s3cret") == NULL);
    T_CHECK(strstr(s, "floe:***@db") != NULL);
    free(s);
    json_decref(eff);
    srv_config_free(&c);
    fl_arena_free(a);
}

/* floe.yaml.example loads cleanly and mentions every key of the table. */
static void test_example_file(void)
{
    const struct srv_config_key *k;
    struct srv_config            c;
    struct fl_err                err;
    FILE                        *f = fopen("floe.yaml.example", "r");
    char                         text[16384];
    size_t                       n;
    size_t                       i;

    T_CHECK(f != NULL);
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    srv_config_defaults(&c);
    fl_err_clear(&err);
    T_CHECK(srv_config_load(&c, "floe.yaml.example", &err));
    srv_config_free(&c);
    k = srv_config_keys(&n);
    for (i = 0; i < n; i++) {
        const char *leaf = strrchr(k[i].key, '.');

        leaf = leaf ? leaf + 1 : k[i].key;
        if (strstr(text, leaf) == NULL) {
            fprintf(stderr, "  %s is not in floe.yaml.example\n", k[i].key);
        }
        T_CHECK(strstr(text, leaf) != NULL);
    }
}

T_MAIN(T(test_every_key), T(test_example_file), T(test_int_bounds), T(test_yaml_nested),
       T(test_yaml_errors), T(test_missing_file), T(test_env),
       T(test_redaction))
