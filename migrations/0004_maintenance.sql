-- 0004_maintenance: the job queue of the built-in table maintenance and
-- its run history (DESIGN 6).
--
-- Job types: snapshot-expiry, orphan-removal, compaction-plan (run by the
-- daemon's workers) and compaction (one planned group of files, run by an
-- outside executor that claims it through the API).  Workers claim with
-- FOR UPDATE SKIP LOCKED and hold a lease they renew by heartbeat; a job
-- whose lease expired is claimed again by anyone (takeover).  Failures are
-- retried with backoff (not_before_ms) up to max_attempts.

CREATE TABLE maintenance_jobs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    realm           text    NOT NULL,
    catalog_id      bigint  NOT NULL REFERENCES catalogs (id) ON DELETE CASCADE,
    table_id        bigint  NOT NULL REFERENCES tables (id) ON DELETE CASCADE,
    job_type        text    NOT NULL CHECK (job_type IN ('snapshot-expiry',
                        'orphan-removal', 'compaction-plan', 'compaction')),
    state           text    NOT NULL CHECK (state IN ('queued', 'running',
                        'done', 'failed', 'obsolete')),
    dry_run         boolean NOT NULL DEFAULT false,
    attempts        integer NOT NULL DEFAULT 0,
    max_attempts    integer NOT NULL DEFAULT 5,
    not_before_ms   bigint  NOT NULL,           -- queued: not before (backoff)
    lease_owner     text,                       -- running: who holds it
    lease_expires_ms bigint,                    -- running: takeover after
    heartbeat_ms    bigint,
    payload         jsonb   NOT NULL DEFAULT '{}',  -- compaction: the group
    result          jsonb,
    last_error      text,
    created_ms      bigint  NOT NULL,
    updated_ms      bigint  NOT NULL
);
-- what workers poll: ready queued jobs and expired leases, per type
CREATE INDEX maintenance_jobs_ready ON maintenance_jobs
    (job_type, not_before_ms) WHERE state = 'queued';
CREATE INDEX maintenance_jobs_leased ON maintenance_jobs
    (job_type, lease_expires_ms) WHERE state = 'running';
-- at most one pending daemon job per table and type (the scheduler's
-- enqueue is an INSERT ... ON CONFLICT DO NOTHING)
CREATE UNIQUE INDEX maintenance_jobs_one_pending ON maintenance_jobs
    (table_id, job_type) WHERE state IN ('queued', 'running')
    AND job_type <> 'compaction';
CREATE INDEX maintenance_jobs_table ON maintenance_jobs (table_id, job_type, id);
CREATE INDEX maintenance_jobs_catalog ON maintenance_jobs (catalog_id, state, id);

CREATE TABLE maintenance_runs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    realm           text    NOT NULL,
    catalog_id      bigint  NOT NULL REFERENCES catalogs (id) ON DELETE CASCADE,
    table_id        bigint  NOT NULL,           -- kept after a drop
    table_name      text    NOT NULL,           -- ns.table when it ran
    job_id          bigint,
    job_type        text    NOT NULL,
    status          text    NOT NULL CHECK (status IN ('Successful', 'Failed')),
    dry_run         boolean NOT NULL,
    started_ms      bigint  NOT NULL,
    finished_ms     bigint  NOT NULL,
    files_examined  bigint  NOT NULL DEFAULT 0,
    bytes_examined  bigint  NOT NULL DEFAULT 0,
    files_deleted   bigint  NOT NULL DEFAULT 0,
    bytes_deleted   bigint  NOT NULL DEFAULT 0,
    files_planned   bigint  NOT NULL DEFAULT 0,
    bytes_planned   bigint  NOT NULL DEFAULT 0,
    failure_message text,
    details         jsonb   NOT NULL DEFAULT '{}'
);
CREATE INDEX maintenance_runs_table ON maintenance_runs (table_id, job_type, id);
CREATE INDEX maintenance_runs_catalog ON maintenance_runs (catalog_id, id);
