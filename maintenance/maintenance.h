/*
 * maintenance/maintenance.h
 *
 * Built-in table maintenance (DESIGN 6): snapshot expiry, orphan-file
 * removal and compaction planning run by worker threads inside the daemon
 * from a job queue in Postgres (maintenance_jobs, migrations/0004), safe
 * with several daemons on one database; compaction groups are executed
 * outside (Spark) through the API.  See maintenance/README.md.
 */
#ifndef FL_MAINTENANCE_H
#define FL_MAINTENANCE_H

#include "catalog/catalog.h"

/* ------------------------------------------------------------- settings */

/* Server defaults and worker counts (server config keys maintenance.*). */
struct mnt_settings {
    bool    enabled;                /* run workers and the scheduler */
    int     expiry_workers;         /* threads per job type; 0 = none */
    int     orphan_workers;
    int     plan_workers;
    int64_t lease_ms;               /* a claim lasts this long unrenewed */
    int64_t heartbeat_ms;           /* renew every (lease/3 by default) */
    int64_t poll_ms;                /* idle workers look again after */
    int64_t interval_ms;            /* scheduler: orphan/plan checks */
    int     max_attempts;           /* then the job is failed */
    int64_t backoff_ms;             /* first retry delay, doubling */
    /* defaults below the policies and table properties */
    int64_t max_snapshot_age_ms;    /* 5 days */
    int     min_snapshots_to_keep;  /* 1 */
    int64_t max_ref_age_ms;         /* INT64_MAX: refs never expire */
    int64_t orphan_age_ms;          /* 3 days; never below 24 h */
    int64_t target_file_size;       /* 512 MiB */
    int     min_input_files;        /* 5 */
    int     delete_file_threshold;  /* a data file with this many deletes */
};

/* ------------------------------------------------- effective configuration */

/* Where a value came from. */
enum mnt_source {
    MNT_SRC_DEFAULT,                /* server default */
    MNT_SRC_PROPERTY,               /* a table property */
    MNT_SRC_POLICY,                 /* an applicable policy */
    MNT_SRC_FLOOR                   /* raised to the server's floor */
};
const char *mnt_source_name(enum mnt_source s);

struct mnt_value {
    int64_t         v;
    enum mnt_source src;
    const char     *from;           /* property key or policy name, or NULL */
};

/* The configuration in force for one table, per job type. */
struct mnt_config {
    struct mnt_value gc_enabled;            /* gc.enabled: false stops all
                                             * deletion */
    struct mnt_value expiry_enabled;
    struct mnt_value max_snapshot_age_ms;
    struct mnt_value min_snapshots_to_keep;
    struct mnt_value max_ref_age_ms;
    struct mnt_value orphan_enabled;
    struct mnt_value orphan_age_ms;
    struct mnt_value compaction_enabled;
    struct mnt_value target_file_size;
    struct mnt_value min_input_files;
    struct mnt_value delete_file_threshold;
    struct mnt_value metadata_compaction_enabled;
};

/* One table, as the jobs see it. */
struct mnt_table {
    int64_t            catalog_id;
    int64_t            table_id;
    const char        *catalog;
    const char *const *ns;
    int                nns;
    const char        *name;
    const char        *location;    /* the table's base location */
    json_t            *storage;     /* the catalog's storageConfigInfo */
};

/*
 * The effective configuration of `t`: applicable Polaris policies
 * (system.snapshot-expiry, system.orphan-file-removal,
 * system.data-compaction, system.metadata-compaction; nearest wins), then
 * the table's properties (history.expire.*, gc.enabled,
 * write.target-file-size-bytes), then `ms`.  `meta` is the table's
 * current metadata.
 */
bool mnt_config_resolve(struct cat_ctx *cx, const struct mnt_table *t,
                        json_t *meta, const struct mnt_settings *ms,
                        struct mnt_config *out, struct fl_err *err);
json_t *mnt_config_json(const struct mnt_config *c);

/* ------------------------------------------------------------ the jobs */

/* What a run examined and did, recorded in maintenance_runs. */
struct mnt_figures {
    int64_t files_examined, bytes_examined;
    int64_t files_deleted, bytes_deleted;
    int64_t files_planned, bytes_planned;
    json_t *details;                /* owned by the caller's arena, or NULL */
};

/*
 * Snapshot expiry: choose expired snapshots and refs as Iceberg does
 * (main never expires, ref retention honoured), commit remove-snapshots /
 * remove-snapshot-ref through the commit engine, then delete the files
 * reachable only from expired snapshots and metadata files beyond
 * write.metadata.previous-versions-max.  `dry_run` commits and deletes
 * nothing and lists what it would do in figures->details.
 */
bool mnt_expire(struct cat_ctx *cx, const struct mnt_table *t,
                const struct mnt_config *c, bool dry_run,
                struct mnt_figures *out, struct fl_err *err);

/*
 * Orphan removal: list the table location, subtract everything reachable
 * from any live snapshot and every metadata file still referenced, delete
 * what is older than the guard.
 */
bool mnt_orphans(struct cat_ctx *cx, const struct mnt_table *t,
                 const struct mnt_config *c, bool dry_run,
                 struct mnt_figures *out, struct fl_err *err);

/*
 * Compaction planning: per partition, small files and files with many
 * deletes, bin-packed into groups recorded as 'compaction' jobs (unless
 * `dry_run`); groups already pending are not planned twice.
 */
bool mnt_plan_compaction(struct cat_ctx *cx, const struct mnt_table *t,
                         const struct mnt_config *c, bool dry_run,
                         struct mnt_figures *out, struct fl_err *err);

/* ------------------------------------------------------ the daemon side */

struct mnt;
/* Start the scheduler and the workers; `owner` names this daemon in
 * leases.  NULL when maintenance is disabled. */
struct mnt *mnt_start(struct db_pool *pool, const struct cat_settings *cs,
                      const struct mnt_settings *ms, const char *owner);
/* Stop: no new claims, running jobs finish (or their lease lapses). */
void mnt_stop(struct mnt *m);

/* After a commit to a table: enqueue its expiry (cheap, deduplicated). */
void mnt_after_commit(struct cat_ctx *cx, int64_t table_id);

/* ------------------------------------------------------------ the API */

/* Table `name` of namespace `ns` in `catalog` (cx->realm), loaded as the
 * jobs see it; *meta is its current metadata.  404s name what is missing. */
bool mnt_table_find(struct cat_ctx *cx, const char *catalog,
                    const char *const *ns, int nns, const char *name,
                    struct mnt_table *t, json_t **meta, struct fl_err *err);
/* {"table", "maintenanceStatus" (S3 Tables shape), "configuration",
 * "pendingJobs"} of `t`.  Returns a new reference, NULL on error. */
json_t *mnt_status(struct cat_ctx *cx, const struct mnt_table *t,
                   json_t *meta, const struct mnt_settings *ms,
                   struct fl_err *err);
/* Run history of a catalog, a namespace's tables or one table (ns/table
 * NULL to widen), newest first: {"runs", "next-page-token"}.  New ref. */
json_t *mnt_runs_list(struct cat_ctx *cx, const char *catalog,
                      const char *const *ns, int nns, const char *table,
                      const char *page_token, int page_size,
                      struct fl_err *err);
/* 400 unless `type` is a job type the API runs (snapshot-expiry,
 * orphan-removal, compaction-plan). */
bool mnt_type_check(const char *type, struct fl_err *err);
/* Run job type `type` on `t` now, in the caller's thread, and record the
 * run: {"run": {...figures, details}}.  A real run takes the table's job
 * of that type through the queue (409 while another daemon holds it).
 * `owner` names the caller in the lease.  Returns a new reference. */
json_t *mnt_run_now(struct cat_ctx *cx, const struct mnt_table *t,
                    json_t *meta, const struct mnt_settings *ms,
                    const char *type, bool dry_run, const char *owner,
                    struct fl_err *err);

/* ---------------------------------- compaction jobs (outside executors) */

/*
 * The executor API of compaction jobs (mnt_cjobs.c): each job is one
 * planned group of files an executor (Spark's rewrite_data_files, or any
 * client) claims, keeps leased by heartbeats, rewrites with a `replace`
 * commit, and completes or fails.  Jobs are JSON objects (see
 * openapi/floe.yaml, CompactionJob); every function returns a new
 * reference or NULL on error.  404 NotFoundException for an unknown
 * catalog or job; 409 CommitConflictException when `owner` does not hold
 * the job.
 */
/* The table of job `job_id` in `catalog`, for authorizers (strings in
 * cx->a); *found is false when there is no such job. */
bool mnt_cjob_table(struct cat_ctx *cx, const char *catalog, int64_t job_id,
                    const char *const **ns, int *nns, const char **table,
                    bool *found, struct fl_err *err);
/* Jobs of `catalog`, of a namespace (and below) or one table, in `state`
 * (NULL: any), by id: {"jobs": [...], "next-page-token"}. */
json_t *mnt_cjobs_list(struct cat_ctx *cx, const char *catalog,
                       const char *const *ns, int nns, const char *table,
                       const char *state, const char *page_token,
                       int page_size, struct fl_err *err);
/* Claim the oldest ready job of `catalog` (of a namespace and below, or
 * one table, when given) for `owner`: queued and past its backoff, or
 * running with a lapsed lease; NULL with no error set when there is
 * none. */
json_t *mnt_cjob_claim(struct cat_ctx *cx, const char *catalog,
                       const char *const *ns, int nns, const char *table,
                       const char *owner, int64_t lease_ms,
                       struct fl_err *err);
json_t *mnt_cjob_heartbeat(struct cat_ctx *cx, const char *catalog,
                           int64_t job_id, const char *owner,
                           int64_t lease_ms, struct fl_err *err);
/* The executor says it committed the rewrite (in `snapshot_id`, or -1):
 * done when the table's history shows it, else left to settle. */
json_t *mnt_cjob_complete(struct cat_ctx *cx, const char *catalog,
                          int64_t job_id, const char *owner,
                          int64_t snapshot_id, struct fl_err *err);
/* The executor gave up: queued again after backoff_ms * 2^(attempts-1),
 * or failed after max_attempts. */
json_t *mnt_cjob_fail(struct cat_ctx *cx, const char *catalog,
                      int64_t job_id, const char *owner, const char *message,
                      int64_t backoff_ms, struct fl_err *err);

#endif /* FL_MAINTENANCE_H */
