/*
 * srv_config.c
 *
 * Configuration: one YAML file read with libyaml through one static table of
 * keys (Redis's standardConfig, nginx's ngx_command_t).  Nested mappings
 * give dotted keys ("db:\n  url: x" is "db.url").  Every key can be
 * overridden by an environment variable FLOE_<KEY> with dots as underscores
 * (FLOE_DB_URL).  Unknown keys, wrong types and out-of-range values stop
 * startup with the file, line and column.  Once the daemon serves, the
 * configuration is immutable.
 *
 * Not here: what the values mean (srv_main.c and the folders they feed).
 */
#include "server/server.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define OFF(f) offsetof(struct srv_config, f)

static const struct srv_config_key keys[] = {
    {"listen.address", SRV_CFG_STR, OFF(listen_address), "127.0.0.1", 0, 0,
     false, "address to listen on"},
    {"listen.port", SRV_CFG_INT, OFF(listen_port), "8181", 0, 65535, false,
     "TCP port; 0 picks a free one (see --port-file)"},
    {"server.threads", SRV_CFG_INT, OFF(threads), "8", 1, 256, false,
     "HTTP worker threads"},
    {"server.max_body_bytes", SRV_CFG_INT, OFF(max_body_bytes), "8388608",
     1024, 1073741824, false, "largest request body accepted (413 beyond)"},
    {"server.connection_timeout_s", SRV_CFG_INT, OFF(connection_timeout_s),
     "60", 1, 3600, false, "idle connection timeout"},
    {"server.max_connections", SRV_CFG_INT, OFF(max_connections), "1024", 1,
     65535, false, "concurrent client connections"},
    {"db.url", SRV_CFG_STR, OFF(db_url), "", 0, 0, true,
     "libpq connection string or URI of the catalog database"},
    {"db.pool_size", SRV_CFG_INT, OFF(db_pool_size), "0", 0, 1000, false,
     "database connections; 0 means one per HTTP thread"},
    {"db.acquire_timeout_ms", SRV_CFG_INT, OFF(db_acquire_timeout_ms),
     "5000", 1, 600000, false, "wait for a free connection before 503"},
    {"db.statement_timeout_ms", SRV_CFG_INT, OFF(db_statement_timeout_ms),
     "30000", 0, 3600000, false, "per-statement timeout; 0 disables"},
    {"db.migrations_dir", SRV_CFG_STR, OFF(db_migrations_dir), "", 0, 0,
     false, "migrations directory; empty finds it next to the binary"},
    {"log.level", SRV_CFG_LOGLEVEL, OFF(log_level), "info", 0, 0, false,
     "error, warn, info or debug"},
    {"realms", SRV_CFG_LIST, OFF(realms), "POLARIS", 0, 0, false,
     "accepted Polaris-Realm values; the first is the default"},
    {"warehouse.default_base_location", SRV_CFG_STR,
     OFF(warehouse_default_base_location), "", 0, 0, false,
     "base for catalogs created without default-base-location"},
    {"warehouse.allow_file", SRV_CFG_BOOL, OFF(warehouse_allow_file), "true",
     0, 0, false, "accept FILE storage (file:// locations) for catalogs"},
    {"catalog.commit_retries", SRV_CFG_INT, OFF(catalog_commit_retries), "4",
     0, 100, false, "server-side retries of a commit that lost a race"},
    {"catalog.metadata_max_bytes", SRV_CFG_INT,
     OFF(catalog_metadata_max_bytes), "67108864", 65536, 1073741824, false,
     "largest metadata file read (registerTable)"},
    {"catalog.load_cache_bytes", SRV_CFG_INT, OFF(catalog_load_cache_bytes),
     "67108864", 0, 17179869184, false,
     "memory for cached loadTable responses; 0 disables the cache"},
    {"idempotency.lifetime_s", SRV_CFG_INT, OFF(idempotency_lifetime_s),
     "1800", 0, 604800, false,
     "how long Idempotency-Key outcomes are kept; 0 turns keys off"},
    {"metrics.retention_h", SRV_CFG_INT, OFF(metrics_retention_h), "168", 1,
     87600, false, "hours reportMetrics reports are kept"},
    {"janitor.interval_s", SRV_CFG_INT, OFF(janitor_interval_s), "60", 1,
     86400, false, "how often expired keys and old reports are purged"},
    {"maintenance.enabled", SRV_CFG_BOOL, OFF(maintenance_enabled), "true",
     0, 0, false, "run the maintenance workers and scheduler in this daemon"},
    {"maintenance.expiry_workers", SRV_CFG_INT,
     OFF(maintenance_expiry_workers), "1", 0, 64, false,
     "snapshot-expiry worker threads"},
    {"maintenance.orphan_workers", SRV_CFG_INT,
     OFF(maintenance_orphan_workers), "1", 0, 64, false,
     "orphan-removal worker threads"},
    {"maintenance.plan_workers", SRV_CFG_INT, OFF(maintenance_plan_workers),
     "1", 0, 64, false, "compaction-plan worker threads"},
    {"maintenance.lease_s", SRV_CFG_INT, OFF(maintenance_lease_s), "60", 1,
     86400, false, "a claimed job is taken over after this long without a"
     " heartbeat (renewed every third of it)"},
    {"maintenance.interval_s", SRV_CFG_INT, OFF(maintenance_interval_s),
     "3600", 1, 604800, false, "how often every table is scheduled for"
     " orphan removal and compaction planning (and expiry)"},
    {"maintenance.poll_ms", SRV_CFG_INT, OFF(maintenance_poll_ms), "1000",
     10, 600000, false, "idle workers look for jobs this often"},
    {"maintenance.max_attempts", SRV_CFG_INT, OFF(maintenance_max_attempts),
     "5", 1, 100, false, "a failing job is retried until it failed this"
     " often"},
    {"maintenance.backoff_s", SRV_CFG_INT, OFF(maintenance_backoff_s), "30",
     0, 86400, false, "first retry delay, doubling with every attempt"},
    {"maintenance.max_snapshot_age_ms", SRV_CFG_INT,
     OFF(maintenance_max_snapshot_age_ms), "432000000", 0,
     9000000000000000000, false, "default snapshot age before expiry, below"
     " policies and history.expire.max-snapshot-age-ms"},
    {"maintenance.min_snapshots_to_keep", SRV_CFG_INT,
     OFF(maintenance_min_snapshots_to_keep), "1", 1, 1000000, false,
     "default snapshots kept per branch"},
    {"maintenance.orphan_age_ms", SRV_CFG_INT, OFF(maintenance_orphan_age_ms),
     "259200000", 86400000, 9000000000000000000, false,
     "default age before an unreferenced file is removed (at least 24 h)"},
    {"maintenance.target_file_size_bytes", SRV_CFG_INT,
     OFF(maintenance_target_file_size_bytes), "536870912", 1,
     1099511627776, false, "default compaction target file size"},
    {"maintenance.min_input_files", SRV_CFG_INT,
     OFF(maintenance_min_input_files), "5", 1, 1000000, false,
     "default fewest files a compaction group rewrites"},
    {"auth.token_secret", SRV_CFG_STR, OFF(auth_token_secret), "", 0, 0,
     true, "HS256 key for tokens (32+ characters); empty: RS256 keys below,"
     " else an ephemeral key"},
    {"auth.private_key_file", SRV_CFG_STR, OFF(auth_private_key_file), "", 0,
     0, false, "PEM RSA private key: tokens are signed RS256"},
    {"auth.public_key_file", SRV_CFG_STR, OFF(auth_public_key_file), "", 0,
     0, false, "PEM RSA public key verifying them (default: from the private"
     " key)"},
    {"auth.token_lifetime_s", SRV_CFG_INT, OFF(auth_token_lifetime_s),
     "3600", 1, 86400, false, "lifetime of issued tokens (expires_in)"},
    {"bootstrap.credentials", SRV_CFG_STR, OFF(bootstrap_credentials), "", 0,
     0, true, "realm,clientId,clientSecret[;...]: root principals created at"
     " startup when missing (FLOE_BOOTSTRAP_CREDENTIALS)"},
};

const struct srv_config_key *srv_config_keys(size_t *n)
{
    *n = FL_ARRAY_LEN(keys);
    return keys;
}

static const struct srv_config_key *key_find(const char *key)
{
    size_t i;

    for (i = 0; i < FL_ARRAY_LEN(keys); i++) {
        if (strcmp(keys[i].key, key) == 0) {
            return &keys[i];
        }
    }
    return NULL;
}

static bool parse_bool(const char *v, bool *out)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 ||
        strcmp(v, "on") == 0 || strcmp(v, "1") == 0) {
        *out = true;
        return true;
    }
    if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0 ||
        strcmp(v, "off") == 0 || strcmp(v, "0") == 0) {
        *out = false;
        return true;
    }
    return false;
}

/* Normalise a list: trim items, drop empties, join with commas. */
static char *list_normalise(const char *v)
{
    struct fl_buf b;
    const char   *p = v;

    fl_buf_init(&b, NULL, 0);
    fl_buf_append(&b, "", 0);
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        size_t      n = end ? (size_t)(end - p) : strlen(p);

        while (n > 0 && isspace((unsigned char)*p)) {
            p++;
            n--;
        }
        while (n > 0 && isspace((unsigned char)p[n - 1])) {
            n--;
        }
        if (n > 0) {
            if (b.len > 0) {
                fl_buf_append(&b, ",", 1);
            }
            fl_buf_append(&b, p, n);
        }
        p = end ? end + 1 : p + strlen(p);
    }
    return b.p;
}

static bool key_apply(struct srv_config *c, const struct srv_config_key *k,
                      const char *v, struct fl_err *err)
{
    char   *base = (char *)c + k->offset;
    int64_t n;
    bool    b;
    int     level;

    switch (k->type) {
    case SRV_CFG_STR:
        free(*(char **)base);
        *(char **)base = fl_xstrdup(v);
        return true;
    case SRV_CFG_LIST:
        free(*(char **)base);
        *(char **)base = list_normalise(v);
        return true;
    case SRV_CFG_INT:
        if (!fl_parse_i64(v, k->min, k->max, &n)) {
            return FL_ERR(err, 400, "ConfigException",
                          "\"%s\" must be an integer from %ld to %ld, "
                          "not \"%s\"", k->key, k->min, k->max, v);
        }
        *(long *)base = (long)n;
        return true;
    case SRV_CFG_BOOL:
        if (!parse_bool(v, &b)) {
            return FL_ERR(err, 400, "ConfigException",
                          "\"%s\" must be true or false, not \"%s\"",
                          k->key, v);
        }
        *(bool *)base = b;
        return true;
    case SRV_CFG_LOGLEVEL:
        if (!fl_log_level_parse(v, &level)) {
            return FL_ERR(err, 400, "ConfigException",
                          "\"%s\" must be error, warn, info or debug, "
                          "not \"%s\"", k->key, v);
        }
        *(long *)base = level;
        return true;
    }
    return FL_ERR(err, 500, "InternalServerError", "bad config key type");
}

/*
 * Set `key` from its text form, checking type and range.  Errors (400
 * ConfigException) name the key and the accepted values.
 */
bool srv_config_set(struct srv_config *c, const char *key, const char *value,
                    struct fl_err *err)
{
    const struct srv_config_key *k = key_find(key);

    if (k == NULL) {
        return FL_ERR(err, 400, "ConfigException",
                      "unknown configuration key \"%s\"", key);
    }
    return key_apply(c, k, value, err);
}

/* Fill `c` with every key's default. */
void srv_config_defaults(struct srv_config *c)
{
    struct fl_err err;
    size_t        i;

    memset(c, 0, sizeof(*c));
    for (i = 0; i < FL_ARRAY_LEN(keys); i++) {
        fl_err_clear(&err);
        if (!key_apply(c, &keys[i], keys[i].def, &err)) {
            fl_assert(!"bad default in the configuration table");
        }
    }
}

void srv_config_free(struct srv_config *c)
{
    size_t i;

    for (i = 0; i < FL_ARRAY_LEN(keys); i++) {
        if (keys[i].type == SRV_CFG_STR || keys[i].type == SRV_CFG_LIST) {
            char **p = (char **)((char *)c + keys[i].offset);

            free(*p);
            *p = NULL;
        }
    }
}

/* FLOE_ + the key upper-cased with dots as underscores: FLOE_DB_URL. */
char *srv_config_env_name(const char *key, struct fl_arena *a)
{
    char *s = fl_sprintf(a, "FLOE_%s", key);
    char *p;

    for (p = s; *p != '\0'; p++) {
        *p = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
    }
    return s;
}

/* FLOE_ variables that are not configuration keys. */
static bool env_reserved(const char *name, size_t n)
{
    static const char *const reserved[] = {
        "FLOE_BOOTSTRAP_CREDENTIALS", "FLOE_CONFIG",
    };
    size_t i;

    for (i = 0; i < FL_ARRAY_LEN(reserved); i++) {
        if (strlen(reserved[i]) == n && strncmp(name, reserved[i], n) == 0) {
            return true;
        }
    }
    return false;
}

/*
 * Apply FLOE_* environment overrides on top of the file.  An environment
 * variable that starts with FLOE_ but names no key is an error too, so a
 * typo cannot silently fall back to a default.
 */
bool srv_config_env(struct srv_config *c, struct fl_err *err)
{
    extern char    **environ;
    struct fl_arena *a = fl_arena_new(0);
    char           **e;
    size_t           i;
    bool             ok = true;

    for (i = 0; ok && i < FL_ARRAY_LEN(keys); i++) {
        const char *v = getenv(srv_config_env_name(keys[i].key, a));

        if (v != NULL && !key_apply(c, &keys[i], v, err)) {
            char *why = fl_strdup(a, err->msg);

            fl_err_retype(err, err->status, err->type, "environment %s: %s",
                          srv_config_env_name(keys[i].key, a), why);
            ok = false;
        }
    }
    for (e = environ; ok && *e != NULL; e++) {
        const char *eq = strchr(*e, '=');
        bool        known = false;

        if (strncmp(*e, "FLOE_", 5) != 0 || eq == NULL) {
            continue;
        }
        for (i = 0; i < FL_ARRAY_LEN(keys); i++) {
            const char *name = srv_config_env_name(keys[i].key, a);

            if (strlen(name) == (size_t)(eq - *e) &&
                strncmp(*e, name, (size_t)(eq - *e)) == 0) {
                known = true;
            }
        }
        if (!known && !env_reserved(*e, (size_t)(eq - *e))) {
            ok = FL_ERR(err, 400, "ConfigException",
                        "environment %.*s names no configuration key",
                        (int)(eq - *e), *e);
        }
    }
    fl_arena_free(a);
    return ok;
}

/* ------------------------------------------------------------- YAML file */

#define YAML_MAX_DEPTH 8

struct yctx {
    const char        *path;
    struct srv_config *c;
    char               prefix[YAML_MAX_DEPTH][128];
    int                depth;
    char               pending[128];    /* full key awaiting its value */
    bool               have_key;
    char               seen[FL_ARRAY_LEN(keys)];
    struct fl_buf      list;            /* items of a sequence value */
    bool               in_list;
};

static bool key_is_section(const char *key)
{
    size_t i;
    size_t n = strlen(key);

    for (i = 0; i < FL_ARRAY_LEN(keys); i++) {
        if (strncmp(keys[i].key, key, n) == 0 && keys[i].key[n] == '.') {
            return true;
        }
    }
    return false;
}

static bool yerr(struct yctx *y, const yaml_mark_t *m, struct fl_err *err,
                 const char *msg)
{
    fl_err_clear(err);
    return FL_ERR(err, 400, "ConfigException", "%s:%zu:%zu: %s", y->path,
                  m->line + 1, m->column + 1, msg);
}

static bool on_key(struct yctx *y, const yaml_event_t *ev,
                   struct fl_err *err)
{
    const char *k = (const char *)ev->data.scalar.value;
    const char *pre = y->prefix[y->depth - 1];
    char        msg[200];
    int         n;

    if (pre[0] != '\0') {
        n = snprintf(y->pending, sizeof(y->pending), "%s.%s", pre, k);
    } else {
        n = snprintf(y->pending, sizeof(y->pending), "%s", k);
    }
    if (n < 0 || (size_t)n >= sizeof(y->pending) ||
        (key_find(y->pending) == NULL && !key_is_section(y->pending))) {
        snprintf(msg, sizeof(msg), "unknown configuration key \"%.120s\"",
                 y->pending);
        return yerr(y, &ev->start_mark, err, msg);
    }
    y->have_key = true;
    return true;
}

static bool on_value(struct yctx *y, const char *v, const yaml_mark_t *m,
                     struct fl_err *err)
{
    const struct srv_config_key *k = key_find(y->pending);
    struct fl_err                e;
    char                         msg[300];
    size_t                       idx;

    y->have_key = false;
    if (k == NULL && v[0] == '\0') {
        return true;    /* an empty section ("db:" with nothing under it) */
    }
    if (k == NULL) {
        snprintf(msg, sizeof(msg), "\"%.100s\" is a section, not a value",
                 y->pending);
        return yerr(y, m, err, msg);
    }
    idx = (size_t)(k - keys);
    if (y->seen[idx]) {
        snprintf(msg, sizeof(msg), "duplicate key \"%.100s\"", k->key);
        return yerr(y, m, err, msg);
    }
    y->seen[idx] = 1;
    fl_err_clear(&e);
    if (!key_apply(y->c, k, v, &e)) {
        snprintf(msg, sizeof(msg), "%s", e.msg);
        return yerr(y, m, err, msg);
    }
    return true;
}

static bool on_mapping_start(struct yctx *y, const yaml_event_t *ev,
                             struct fl_err *err)
{
    char msg[200];

    if (y->in_list) {
        return yerr(y, &ev->start_mark, err, "a list holds only scalars");
    }
    if (y->depth == 0) {
        y->prefix[0][0] = '\0';
        y->depth = 1;
        return true;
    }
    if (!y->have_key) {
        return yerr(y, &ev->start_mark, err, "a key must be a scalar");
    }
    if (!key_is_section(y->pending)) {
        snprintf(msg, sizeof(msg), "\"%.100s\" takes a value, not a mapping",
                 y->pending);
        return yerr(y, &ev->start_mark, err, msg);
    }
    if (y->depth == YAML_MAX_DEPTH) {
        return yerr(y, &ev->start_mark, err, "mappings nest too deeply");
    }
    snprintf(y->prefix[y->depth], sizeof(y->prefix[0]), "%s", y->pending);
    y->depth++;
    y->have_key = false;
    return true;
}

static bool on_sequence(struct yctx *y, const yaml_event_t *ev,
                        struct fl_err *err)
{
    const struct srv_config_key *k = y->have_key ? key_find(y->pending)
                                                 : NULL;

    if (y->depth == 0) {
        return yerr(y, &ev->start_mark, err,
                    "the configuration must be a mapping");
    }
    if (ev->type == YAML_SEQUENCE_END_EVENT) {
        y->in_list = false;
        return on_value(y, y->list.p, &ev->start_mark, err);
    }
    if (k == NULL || k->type != SRV_CFG_LIST || y->in_list) {
        return yerr(y, &ev->start_mark, err,
                    "a list is not accepted here");
    }
    fl_buf_release(&y->list);
    fl_buf_init(&y->list, NULL, 64 * 1024);
    fl_buf_append(&y->list, "", 0);
    y->in_list = true;
    return true;
}

static bool on_scalar(struct yctx *y, const yaml_event_t *ev,
                      struct fl_err *err)
{
    const char *v = (const char *)ev->data.scalar.value;

    if (y->in_list) {
        if (strchr(v, ',') != NULL) {
            return yerr(y, &ev->start_mark, err,
                        "list items may not contain commas");
        }
        if ((y->list.len > 0 && !fl_buf_append(&y->list, ",", 1)) ||
            !fl_buf_append(&y->list, v, strlen(v))) {
            return yerr(y, &ev->start_mark, err, "list is too long");
        }
        return true;
    }
    if (y->depth == 0) {
        return yerr(y, &ev->start_mark, err,
                    "the configuration must be a mapping");
    }
    if (!y->have_key) {
        return on_key(y, ev, err);
    }
    return on_value(y, v, &ev->start_mark, err);
}

static bool on_event(struct yctx *y, const yaml_event_t *ev,
                     struct fl_err *err)
{
    switch (ev->type) {
    case YAML_MAPPING_START_EVENT:
        return on_mapping_start(y, ev, err);
    case YAML_MAPPING_END_EVENT:
        y->depth--;
        return true;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_SEQUENCE_END_EVENT:
        return on_sequence(y, ev, err);
    case YAML_SCALAR_EVENT:
        return on_scalar(y, ev, err);
    case YAML_ALIAS_EVENT:
        return yerr(y, &ev->start_mark, err,
                    "aliases are not supported");
    default:
        return true;
    }
}

/*
 * Read the YAML file at `path` into `c` (which holds defaults already).
 * Errors: 400 ConfigException "<path>:<line>:<col>: <what>" for syntax
 * errors, unknown keys, wrong types, out-of-range values and duplicates.
 */
bool srv_config_load(struct srv_config *c, const char *path,
                     struct fl_err *err)
{
    struct yctx   y;
    yaml_parser_t parser;
    yaml_event_t  ev;
    FILE         *f = fopen(path, "rb");
    bool          ok = true;
    bool          done = false;

    if (f == NULL) {
        return FL_ERR(err, 400, "ConfigException",
                      "could not open configuration file \"%s\": %s", path,
                      strerror(errno));
    }
    memset(&y, 0, sizeof(y));
    y.path = path;
    y.c = c;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    while (ok && !done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            ok = yerr(&y, &parser.problem_mark, err,
                      parser.problem ? parser.problem : "invalid YAML");
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        ok = on_event(&y, &ev, err);
        yaml_event_delete(&ev);
    }
    fl_buf_release(&y.list);
    yaml_parser_delete(&parser);
    fclose(f);
    return ok;
}

/* ------------------------------------------------------------- reporting */

/*
 * Hide the password of a libpq URL or keyword string:
 * "postgresql://u:secret@h/db" -> "postgresql://u:***@h/db",
 * "host=h password=secret" -> "host=h password=***".
 */
char *srv_redact_url(const char *url, struct fl_arena *a)
{
    const char *scheme = strstr(url, "://");
    const char *pw = strstr(url, "password=");
    char       *out;

    if (scheme != NULL) {
        const char *at = strchr(scheme + 3, '@');
        const char *colon = strchr(scheme + 3, ':');

        if (at != NULL && colon != NULL && colon < at) {
            out = fl_sprintf(a, "%.*s***%s", (int)(colon + 1 - url), url, at);
            return pw != NULL ? srv_redact_url(out, a) : out;
        }
    }
    if (pw != NULL) {
        const char *end = pw + strlen("password=");

        while (*end != '\0' && *end != ' ' && *end != '&') {
            end++;
        }
        return fl_sprintf(a, "%.*spassword=***%s", (int)(pw - url), url, end);
    }
    return fl_strdup(a, url);
}

/* The effective configuration as a JSON object, secrets redacted.  New ref. */
json_t *srv_config_effective(const struct srv_config *c)
{
    struct fl_arena *a = fl_arena_new(0);
    json_t          *o = json_object();
    size_t           i;

    for (i = 0; i < FL_ARRAY_LEN(keys); i++) {
        const struct srv_config_key *k = &keys[i];
        const char                  *base = (const char *)c + k->offset;
        json_t                      *v = NULL;

        switch (k->type) {
        case SRV_CFG_STR:
        case SRV_CFG_LIST:
            v = json_string(!k->secret ? *(char *const *)base
                : strstr(k->key, "url") != NULL
                ? srv_redact_url(*(char *const *)base, a)
                : **(char *const *)base != '\0' ? "***" : "");
            break;
        case SRV_CFG_INT:
            v = json_integer(*(const long *)base);
            break;
        case SRV_CFG_BOOL:
            v = json_boolean(*(const bool *)base);
            break;
        case SRV_CFG_LOGLEVEL:
            v = json_string(fl_log_level_name((int)*(const long *)base));
            break;
        }
        json_object_set_new(o, k->key, v ? v : json_null());
    }
    fl_arena_free(a);
    return o;
}
