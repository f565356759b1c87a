/*
 * mnt_int.h
 *
 * Private to maintenance/: the job queue (mnt_queue.c), the worker and
 * scheduler threads (mnt_worker.c), and how they call the job kinds
 * (mnt_expire.c, mnt_orphans.c, mnt_compact.c).
 */
#ifndef FL_MNT_INT_H
#define FL_MNT_INT_H

#include "maintenance/maintenance.h"
#include "db/db.h"

/* Job types, as stored in maintenance_jobs.job_type. */
#define MNT_EXPIRY      "snapshot-expiry"
#define MNT_ORPHANS     "orphan-removal"
#define MNT_PLAN        "compaction-plan"
#define MNT_COMPACTION  "compaction"

/* Orphans younger than this are never removed, whatever the settings. */
#define MNT_ORPHAN_FLOOR_MS 86400000LL

/* A claimed job.  (id, lease owner, attempts) fences every later write:
 * a worker whose lease was taken over can no longer touch the row. */
struct mnt_job {
    int64_t     id;
    const char *realm;
    const char *type;
    int64_t     table_id;
    bool        dry_run;
    int         attempts;
    json_t     *payload;
    int64_t     catalog_id;
    int         max_attempts;
};

/* A daemon job kind: what a worker of that type runs. */
typedef bool (*mnt_run_fn)(struct cat_ctx *cx, const struct mnt_table *t,
                           const struct mnt_config *c, bool dry_run,
                           struct mnt_figures *out, struct fl_err *err);

/*
 * After a commit to a table (mnt_after_commit): compaction jobs whose
 * files a committed replace snapshot removed become done; those whose
 * files disappeared otherwise become obsolete (mnt_compact.c).
 */
bool mnt_compaction_settle(struct cat_ctx *cx, int64_t table_id,
                           json_t *meta, struct fl_err *err);

/* ------------------------------------------ compaction (mnt_compact.c) */

/* One live data file as compaction planning sees it. */
struct mnt_cfile {
    const char *path;
    int64_t     size;
    int32_t     spec_id;
    const char *partition_key;      /* cat_data_file.partition_key */
    json_t     *partition;          /* borrowed; may be NULL */
    int64_t     deletes;            /* delete files that apply to it */
};

/* One planned group: files of one partition, about one target file. */
struct mnt_cgroup {
    int32_t                  spec_id;
    const char              *partition_key;
    json_t                  *partition;     /* borrowed from a file */
    const struct mnt_cfile **files;         /* size desc, then path */
    int                      nfiles;
    int64_t                  bytes;
    bool                     deletes;       /* has a delete-heavy file */
};

struct mnt_cparams {
    int64_t target;                 /* target file size, > 0 */
    int64_t min_input_files;
    int64_t delete_threshold;       /* deletes that make a file a
                                     * candidate; <= 0: never */
};

/* Pure: the groups of `files` (n) under `p`, in partition order (spec
 * id, key), into *out (arena); returns their count.  *candidates: how
 * many files were candidates. */
int mnt_compaction_pack(struct fl_arena *a, const struct mnt_cfile *files,
                        int n, const struct mnt_cparams *p,
                        struct mnt_cgroup **out, int *candidates);

/* What became of a compaction job's files in table metadata `meta`. */
enum mnt_cjudge {
    MNT_CJ_PENDING,                 /* all its files are still live */
    MNT_CJ_DONE,                    /* replace snapshots removed them */
    MNT_CJ_OBSOLETE                 /* something else removed some */
};
struct mnt_judge;
struct mnt_judge *mnt_judge_new(struct cat_ctx *cx, json_t *meta);
bool mnt_judge_job(struct mnt_judge *j, json_t *payload,
                   enum mnt_cjudge *out, int64_t *snapshot_id,
                   struct fl_err *err);
bool mnt_compaction_mark(struct cat_ctx *cx, int64_t job_id,
                         enum mnt_cjudge how, int64_t snapshot_id,
                         struct fl_err *err);

/* Load the table row `table_id` of realm cx->realm as a mnt_table with
 * its current metadata (mnt_queue.c). */
bool mnt_table_load(struct cat_ctx *cx, int64_t table_id,
                    struct mnt_table *t, json_t **meta, struct fl_err *err);

/* ------------------------------------------------ configuration (pure) */

/* mnt_config_resolve without the database: `pols` are the applicable
 * policies, `props` the table's properties (mnt_config.c). */
void mnt_config_compute(struct fl_arena *a, const struct cat_policy *pols,
                        int npols, json_t *props,
                        const struct mnt_settings *ms,
                        struct mnt_config *out);
/* Does `c` let daemon job type `type` run?  gc.enabled=false stops the
 * deleting ones. */
bool mnt_config_allows(const struct mnt_config *c, const char *type);

/* ------------------------------------------------------ queue (mnt_queue.c) */

/* What one run did, for maintenance_runs. */
struct mnt_run {
    const char               *type;
    bool                      dry_run;
    int64_t                   started_ms;
    int64_t                   finished_ms;
    const struct mnt_figures *fig;
    const char               *failure;      /* NULL: Successful */
};

/* Claim a ready job of `type`, or one whose lease lapsed (takeover). */
bool mnt_job_claim(struct cat_ctx *cx, const char *type, const char *owner,
                   int64_t lease_ms, struct mnt_job *out, bool *got,
                   struct fl_err *err);
/* Claim (or create) table `t`'s job of `type` for a run on request. */
bool mnt_job_claim_table(struct cat_ctx *cx, const struct mnt_table *t,
                         const char *type, const char *owner,
                         int64_t lease_ms, int max_attempts,
                         struct mnt_job *out, bool *got, struct fl_err *err);
/* Extend the lease of `j` if `owner` still holds it (*held). */
bool mnt_job_heartbeat(struct cat_ctx *cx, const struct mnt_job *j,
                       const char *owner, int64_t lease_ms, bool *held,
                       struct fl_err *err);
/* Done + a Successful run, if still held (*run_id 0 when not). */
bool mnt_job_finish(struct cat_ctx *cx, const struct mnt_job *j,
                    const char *owner, const struct mnt_table *t,
                    const struct mnt_run *run, int64_t *run_id,
                    struct fl_err *err);
/* Back to queued after backoff, or failed; records a Failed run. */
bool mnt_job_fail(struct cat_ctx *cx, const struct mnt_job *j,
                  const char *owner, const struct mnt_table *t,
                  const struct mnt_run *run, int64_t backoff_ms,
                  int64_t *run_id, struct fl_err *err);
/* Done without a run: the table's configuration disables the kind. */
bool mnt_job_skip(struct cat_ctx *cx, const struct mnt_job *j,
                  const char *owner, const char *why, struct fl_err *err);
/* Record a run that belongs to no job (a dry run on request). */
bool mnt_run_record(struct cat_ctx *cx, const struct mnt_table *t,
                    const struct mnt_run *run, int64_t *run_id,
                    struct fl_err *err);
/* The scheduler's enqueue of `types` for one table. */
bool mnt_schedule_table(struct cat_ctx *cx, int64_t catalog_id,
                        int64_t table_id, const char *const *types, int n,
                        int64_t recent_ms, int max_attempts,
                        struct fl_err *err);
/* Delete daemon jobs finished `older_ms` ago; the count or -1. */
long mnt_jobs_purge(struct cat_ctx *cx, int64_t older_ms,
                    struct fl_err *err);

/* One table of the scheduler's walk (mnt_queue.c). */
struct mnt_sched_row {
    struct mnt_table t;
    const char      *realm;
    json_t          *props;         /* the table's properties, or NULL */
    bool             has_snapshot;
};
bool mnt_tables_walk(struct cat_ctx *cx, int64_t after, int limit,
                     struct mnt_sched_row **rows, int *n,
                     struct fl_err *err);

/* --------------------------------------------- running (mnt_worker.c) */

/* What running one job came to. */
struct mnt_outcome {
    bool               ran;         /* the kind ran */
    bool               ok;          /* ... and succeeded */
    bool               skipped;     /* its kind is disabled for the table */
    bool               lost;        /* lease lost: nothing recorded */
    const char        *failure;     /* why it failed, or NULL */
    int64_t            run_id;      /* the recorded run, or 0 */
    int64_t            started_ms;
    int64_t            finished_ms;
    struct mnt_figures fig;
};

/* The kind that runs daemon job type `type`, or NULL. */
mnt_run_fn mnt_kind(const char *type);
/* Run claimed job `j` with a heartbeat thread holding its lease, then
 * finish or fail it and record the run (mnt_worker.c). */
bool mnt_job_execute(struct cat_ctx *cx, const struct mnt_job *j,
                     const char *owner, const struct mnt_settings *ms,
                     int64_t delay_ms, struct mnt_outcome *out,
                     struct fl_err *err);
/* Max attempts of the jobs mnt_after_commit enqueues (mnt_queue.c). */
void mnt_after_commit_attempts(int n);
/* Catalog, namespace and table ids by name (mnt_queue.c). */
bool mnt_target_find(struct cat_ctx *cx, const char *catalog,
                     const char *const *ns, int nns, const char *name,
                     int64_t *catalog_id, int64_t *ns_id, int64_t *table_id,
                     struct fl_err *err);

/* ----------------------------- reachable files (mnt_reach.c), shared by
 * expiry (mnt_expire.c) and orphan removal (mnt_orphans.c) */

/* The comparison key of a file URI: s3a/s3n = s3, file:/x = file:///x. */
char *mnt_uri_key(struct fl_arena *a, const char *uri, const char **path);
/* A path below the table location DeleteOrphanFiles leaves alone. */
bool mnt_path_hidden(const char *rel);

/* A set of files keyed by mnt_uri_key, in insertion order (arena). */
struct mnt_file {
    const char *uri;                /* the key */
    int64_t     size;               /* -1 when unknown */
    int64_t     mtime_ms;           /* -1 when unknown */
};
struct mnt_files;
struct mnt_files *mnt_files_new(struct fl_arena *a);
const struct mnt_file *mnt_files_put(struct mnt_files *s, const char *uri,
                                     int64_t size, int64_t mtime_ms,
                                     bool *added);
bool mnt_files_add(struct mnt_files *s, const char *uri, int64_t size);
const struct mnt_file *mnt_files_get(const struct mnt_files *s,
                                     const char *uri);
bool mnt_files_has(const struct mnt_files *s, const char *uri);
size_t mnt_files_count(const struct mnt_files *s);
const struct mnt_file *mnt_files_at(const struct mnt_files *s, size_t i);
json_t *mnt_files_json(const struct mnt_files *s, size_t max);
int64_t mnt_files_delete(struct fl_arena *a, const struct mnt_files *files,
                         struct mnt_figures *out);

/* A map from snapshot ids to pointers (arena). */
struct mnt_ids;
struct mnt_ids *mnt_ids_new(struct fl_arena *a);
void mnt_ids_put(struct mnt_ids *s, int64_t id, void *v);
bool mnt_ids_has(const struct mnt_ids *s, int64_t id);
void *mnt_ids_get(const struct mnt_ids *s, int64_t id);
size_t mnt_ids_count(const struct mnt_ids *s);

/* How manifests are read: strict fails on the first unreadable file,
 * otherwise failures are logged and counted. */
struct mnt_reader {
    struct fl_arena *a;
    bool             strict;
    int64_t          failures;
};
bool mnt_reach_manifests(struct mnt_reader *r, json_t *snaps,
                         struct mnt_files *lists,
                         struct mnt_files *manifests,
                         const struct mnt_files *skip, struct fl_err *err);
bool mnt_reach_live(struct mnt_reader *r, const struct mnt_files *manifests,
                    size_t from, struct mnt_files *out, struct fl_err *err);
void mnt_reach_stats(json_t *meta, const struct mnt_ids *only,
                     struct mnt_files *out);
void mnt_reach_meta_files(json_t *meta, const char *current,
                          struct mnt_files *out);
bool mnt_reach_table(struct mnt_reader *r, json_t *meta, const char *current,
                     struct mnt_files *out, struct fl_err *err);

/* A table row as the file jobs read it (its current name included). */
struct mnt_row {
    int64_t      version;
    const char  *metadata_location;
    json_t      *meta;              /* arena */
    const char  *catalog;
    const char **ns;
    int          nns;
    const char  *name;
};
bool mnt_row_read(struct cat_ctx *cx, int64_t table_id, bool lock,
                  struct mnt_row *out, struct fl_err *err);
bool mnt_gc_allowed(json_t *meta, const struct mnt_config *c);

/* What expiry chooses (mnt_expire.c); the JSON is owned by the arena. */
struct mnt_expiry {
    json_t *expired;                /* snapshot ids, in metadata order */
    json_t *removed_refs;           /* ref names */
    json_t *requirements;           /* the commit's, as a client's */
    json_t *updates;
};
bool mnt_expire_select(struct fl_arena *a, json_t *meta,
                       const struct mnt_config *c, int64_t now_ms,
                       struct mnt_expiry *out, struct fl_err *err);

#endif /* FL_MNT_INT_H */
