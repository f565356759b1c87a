/*
 * srv_serve.c
 *
 * Running the daemon: read the configuration, check that the database
 * schema is current (waiting a while for the database to come up), open the
 * pool, start HTTP, and on SIGINT/SIGTERM drain in-flight requests and stop.
 * Shared by `floe serve` and `floe dev`.
 */
#include "server/srv_int.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Load configuration: defaults, then the file (if any), then FLOE_*
 * variables.  Prints the error and returns false on any problem.
 */
bool srv_config_read(struct srv_config *cfg, const char *path)
{
    struct fl_err err;

    fl_err_clear(&err);
    srv_config_defaults(cfg);
    if ((path != NULL && !srv_config_load(cfg, path, &err)) ||
        !srv_config_env(cfg, &err)) {
        fprintf(stderr, "floe: configuration error: %s\n", err.msg);
        return false;
    }
    fl_log_level = (int)cfg->log_level;
    return true;
}

static void log_config(const struct srv_config *cfg)
{
    json_t *f = json_pack("{ss so}", "msg", "effective configuration",
                          "config", srv_config_effective(cfg));

    fl_log_json(FL_LOG_INFO, f);
    json_decref(f);
}

/* Split the realms list into the settings' array, in arena `a`. */
static void settings_init(struct srv *s, const struct srv_config *cfg,
                          struct fl_arena *a)
{
    char        *list = fl_strdup(a, cfg->realms);
    const char **realms = fl_alloc(a, (strlen(list) + 2) * sizeof(char *));
    char       *p = list;
    int         n = 0;

    while (p != NULL && *p != '\0') {
        char *comma = strchr(p, ',');

        if (comma != NULL) {
            *comma = '\0';
        }
        realms[n++] = p;
        p = comma ? comma + 1 : NULL;
    }
    if (n == 0) {
        realms[n++] = "POLARIS";
    }
    s->settings.realms = realms;
    s->settings.nrealms = n;
    s->settings.allow_file = cfg->warehouse_allow_file;
    s->settings.commit_retries = (int)cfg->catalog_commit_retries;
    s->settings.metadata_max_bytes = (size_t)cfg->catalog_metadata_max_bytes;
    cat_cache_budget((size_t)cfg->catalog_load_cache_bytes);
    s->settings.default_base_location = cfg->warehouse_default_base_location;
}

/*
 * Check the schema: wait up to `wait_s` for the database, then refuse
 * pending migrations.  Returns false after printing why.
 */
static bool schema_check(struct srv *s, int wait_s)
{
    struct db_migration_status st;
    struct fl_err              err;
    int                        i;

    for (i = 0;; i++) {
        fl_err_clear(&err);
        if (db_migrate(s->cfg->db_url, s->migrations_dir, false, &st, &err)) {
            break;
        }
        if (err.status != 503 || i >= wait_s) {
            fprintf(stderr, "floe: %s\n", err.msg);
            return false;
        }
        if (i == 0) {
            fl_log(FL_LOG_WARN, "waiting for the database: %s", err.msg);
        }
        sleep(1);
    }
    s->newest_migration = st.newest;
    if (st.pending > 0) {
        fprintf(stderr,
                "floe: the database has %d unapplied migration(s), starting "
                "with %s; run `floe migrate -c <config>` (or set up the "
                "schema) before `floe serve`\n", st.pending,
                st.first_pending);
        return false;
    }
    return true;
}

/* How this daemon names itself in job leases: host:pid:random. */
static const char *lease_owner(struct fl_arena *a)
{
    char          host[256];
    unsigned char r[4];

    if (gethostname(host, sizeof(host)) != 0) {
        snprintf(host, sizeof(host), "localhost");
    }
    host[sizeof(host) - 1] = '\0';
    fl_random_bytes(r, sizeof(r));
    return fl_sprintf(a, "%s:%d:%s", host, (int)getpid(),
                      fl_hex(a, r, sizeof(r)));
}

/*
 * Start the maintenance threads on a pool of their own, so they never
 * starve requests: two connections per worker (its job, its heartbeat)
 * and the scheduler's.  A failure is logged; the daemon serves anyway.
 */
static void maintenance_start(struct srv *s)
{
    const struct mnt_settings *ms = &s->mnt_settings;
    struct db_options          o;
    struct fl_err              err;

    if (!ms->enabled) {
        return;
    }
    memset(&o, 0, sizeof(o));
    o.url = s->cfg->db_url;
    o.size = 2 * (ms->expiry_workers + ms->orphan_workers +
                  ms->plan_workers) + 1;
    o.acquire_ms = (int)s->cfg->db_acquire_timeout_ms;
    o.statement_ms = (int)s->cfg->db_statement_timeout_ms;
    fl_err_clear(&err);
    s->mnt_pool = db_pool_new(&o, &err);
    if (s->mnt_pool == NULL) {
        fl_log(FL_LOG_ERROR, "maintenance: not started: %s", err.msg);
        return;
    }
    s->mnt = mnt_start(s->mnt_pool, &s->settings, ms, s->mnt_owner);
}

static bool write_port_file(const char *path, int port)
{
    char  tmp[4096];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f == NULL) {
        return false;
    }
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0) {
        return false;
    }
    return rename(tmp, path) == 0;
}

/*
 * Serve until SIGINT or SIGTERM.  `on_ready` (optional) runs once the
 * daemon listens.  Returns the process exit status.
 */
int srv_run(const struct srv_config *cfg, const char *port_file,
            bool (*on_ready)(struct srv *, void *), void *ctx)
{
    struct srv        s;
    struct fl_err     err;
    struct db_options o;
    struct fl_arena  *life = fl_arena_new(4096);
    unsigned char    *key = NULL;
    sigset_t          set;
    int               sig = 0;
    int               rc = 1;

    memset(&s, 0, sizeof(s));
    fl_err_clear(&err);
    s.cfg = cfg;
    settings_init(&s, cfg, life);
    srv_mnt_settings(cfg, &s.mnt_settings);
    s.mnt_owner = lease_owner(life);
    s.migrations_dir = db_migrations_find(cfg->db_migrations_dir, life);
    log_config(cfg);
    if (cfg->db_url[0] == '\0') {
        fprintf(stderr, "floe: db.url is not set (FLOE_DB_URL)\n");
        goto out;
    }
    if (!schema_check(&s, 30)) {
        goto out;
    }
    o.url = cfg->db_url;
    o.size = (int)(cfg->db_pool_size ? cfg->db_pool_size : cfg->threads);
    o.acquire_ms = (int)cfg->db_acquire_timeout_ms;
    o.statement_ms = (int)cfg->db_statement_timeout_ms;
    s.pool = db_pool_new(&o, &err);
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (s.pool != NULL) {
        key = cat_secret_load(s.pool, "page-token-key", &s.settings.token_key_len,
                              &err);
        s.settings.token_key = key;
    }
    if (s.pool == NULL || key == NULL || !srv_token_init(&s, &err) ||
        (cfg->bootstrap_credentials[0] != '\0' &&
         !srv_bootstrap(&s, cfg->bootstrap_credentials, NULL, false, &err)) ||
        !srv_start(&s, &err)) {
        fprintf(stderr, "floe: %s\n", err.msg);
        goto out;
    }
    /* cached callers and decisions live while this listener is connected */
    s.listener = db_listen_start(cfg->db_url, "floe_grants", acc_cache_event,
                                 NULL);
    fl_log(FL_LOG_INFO, "serving on http://%s:%d", cfg->listen_address,
           s.port);
    if (port_file != NULL && !write_port_file(port_file, s.port)) {
        fprintf(stderr, "floe: could not write port file %s\n", port_file);
        goto stop;
    }
    srv_janitor_start(&s);
    maintenance_start(&s);
    if (on_ready != NULL && !on_ready(&s, ctx)) {
        goto stop;
    }
    sigwait(&set, &sig);
    fl_log(FL_LOG_INFO, "signal %d: draining requests and stopping", sig);
    rc = 0;
stop:
    srv_stop(&s);
    mnt_stop(s.mnt);
    srv_janitor_stop();
    db_listen_stop(s.listener);
    acc_cache_clear();
out:
    db_pool_free(s.mnt_pool);
    db_pool_free(s.pool);
    free(key);
    fl_arena_free(life);
    return rc;
}


/*
 * `floe bootstrap`: root credentials for `realm` (NULL: every configured
 * realm) from bootstrap.credentials, else generated and printed once.
 */
int srv_bootstrap_cmd(const struct srv_config *cfg, const char *realm)
{
    struct srv        s;
    struct fl_err     err;
    struct db_options o;
    struct fl_arena  *life = fl_arena_new(4096);
    int               rc = 1;

    memset(&s, 0, sizeof(s));
    fl_err_clear(&err);
    s.cfg = cfg;
    settings_init(&s, cfg, life);
    s.migrations_dir = db_migrations_find(cfg->db_migrations_dir, life);
    if (cfg->db_url[0] == '\0') {
        fprintf(stderr, "floe: db.url is not set (FLOE_DB_URL)\n");
        goto out;
    }
    if (!schema_check(&s, 0)) {
        goto out;
    }
    memset(&o, 0, sizeof(o));
    o.url = cfg->db_url;
    o.size = 1;
    o.acquire_ms = (int)cfg->db_acquire_timeout_ms;
    s.pool = db_pool_new(&o, &err);
    if (s.pool == NULL ||
        !srv_bootstrap(&s, cfg->bootstrap_credentials, realm, true, &err)) {
        fprintf(stderr, "floe bootstrap: %s\n", err.msg);
        goto out;
    }
    rc = 0;
out:
    db_pool_free(s.pool);
    fl_arena_free(life);
    return rc;
}
