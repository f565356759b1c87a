/*
 * server.h
 *
 * The public interface of server/: configuration, routing and error
 * rendering as the unit tests and main.c see them.  libmicrohttpd and libyaml
 * stay inside the .c files of server/; nothing here mentions them.
 */
#ifndef FL_SERVER_H
#define FL_SERVER_H

#include "core/core.h"

/* ---------------------------------------------------------- configuration */

struct srv_config {
    char *listen_address;
    long  listen_port;
    long  threads;
    long  max_body_bytes;
    long  connection_timeout_s;
    long  max_connections;
    char *db_url;
    long  db_pool_size;
    long  db_acquire_timeout_ms;
    long  db_statement_timeout_ms;
    char *db_migrations_dir;
    long  log_level;
    char *realms;
    char *warehouse_default_base_location;
    bool  warehouse_allow_file;
    long  catalog_commit_retries;
    long  catalog_metadata_max_bytes;
    long  catalog_load_cache_bytes;
    long  idempotency_lifetime_s;
    long  metrics_retention_h;
    long  janitor_interval_s;
    bool  maintenance_enabled;
    long  maintenance_expiry_workers;
    long  maintenance_orphan_workers;
    long  maintenance_plan_workers;
    long  maintenance_lease_s;
    long  maintenance_interval_s;
    long  maintenance_poll_ms;
    long  maintenance_max_attempts;
    long  maintenance_backoff_s;
    long  maintenance_max_snapshot_age_ms;
    long  maintenance_min_snapshots_to_keep;
    long  maintenance_orphan_age_ms;
    long  maintenance_target_file_size_bytes;
    long  maintenance_min_input_files;
    char *auth_token_secret;
    char *auth_private_key_file;
    char *auth_public_key_file;
    long  auth_token_lifetime_s;
    char *bootstrap_credentials;
};

enum srv_config_type {
    SRV_CFG_STR,
    SRV_CFG_INT,
    SRV_CFG_BOOL,
    SRV_CFG_LOGLEVEL,
    SRV_CFG_LIST            /* YAML sequence or comma-separated string */
};

struct srv_config_key {
    const char          *key;       /* dotted YAML path, e.g. "db.url" */
    enum srv_config_type type;
    size_t               offset;    /* into struct srv_config */
    const char          *def;       /* default, as text */
    long                 min;       /* SRV_CFG_INT bounds */
    long                 max;
    bool                 secret;    /* redacted when logged */
    const char          *help;
};

const struct srv_config_key *srv_config_keys(size_t *n);
void srv_config_defaults(struct srv_config *c);
bool srv_config_set(struct srv_config *c, const char *key, const char *value,
                    struct fl_err *err);
bool srv_config_load(struct srv_config *c, const char *path,
                     struct fl_err *err);
bool srv_config_env(struct srv_config *c, struct fl_err *err);
char *srv_config_env_name(const char *key, struct fl_arena *a);
json_t *srv_config_effective(const struct srv_config *c);
char *srv_redact_url(const char *url, struct fl_arena *a);
void srv_config_free(struct srv_config *c);

/* ---------------------------------------------------------------- routing */

struct srv_req;
typedef json_t *(*srv_handler_fn)(struct srv_req *req, struct fl_err *err);
/* Authorizes a request before its handler runs: false with err set (403,
 * or 404 where the caller must not learn the object exists). */
typedef bool (*srv_authz_fn)(struct srv_req *req, struct fl_err *err);

struct srv_route {
    const char     *method;     /* "GET", "POST", ... */
    const char     *path;       /* template: /api/catalog/v1/{prefix}/... */
    const char     *op;         /* OpenAPI operationId */
    srv_handler_fn  fn;
    const char     *iceberg;    /* Iceberg endpoint string for /config, or NULL */
    bool            idempotent; /* honours Idempotency-Key */
    srv_authz_fn    authz;      /* NULL only for the open routes */
    bool            open;       /* no token needed (token endpoint, probes) */
};

#define SRV_MAX_PARAMS 6

/* One decoded path parameter; {namespace} is split into its levels. */
struct srv_param {
    const char  *name;          /* "prefix", "namespace", "table" ... */
    const char  *value;         /* decoded; for {namespace}: levels joined by 0x1F */
    const char **levels;        /* {namespace} only: NULL-terminated */
    int          nlevels;
};

struct srv_match {
    const struct srv_route *route;
    struct srv_param        params[SRV_MAX_PARAMS];
    int                     nparams;
    const char             *allow;  /* when the path matched but not the method */
};

const struct srv_route *srv_routes(size_t *n);
bool srv_route_match(const char *method, const char *path,
                     struct fl_arena *a, struct srv_match *m,
                     struct fl_err *err);
char *srv_url_decode(struct fl_arena *a, const char *s, size_t n,
                     bool plus_is_space, struct fl_err *err);
bool srv_ns_split(struct fl_arena *a, const char *raw, const char ***levels,
                  int *n, struct fl_err *err);

/* ---------------------------------------------------------------- errors */

char *srv_error_body(const struct fl_err *err);

#endif /* FL_SERVER_H */
