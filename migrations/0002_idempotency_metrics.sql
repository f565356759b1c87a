-- 0002_idempotency_metrics.sql
--
-- Idempotency keys (Iceberg REST Idempotency-Key), metrics reports
-- (reportMetrics) and server-wide secrets (the key that signs page tokens).

-- One finalized outcome per (realm, key).  The row is inserted in the same
-- transaction as the mutation it guards and finalized before COMMIT, so a
-- concurrent duplicate waits on the unique index and then sees the outcome.
CREATE TABLE idempotency_keys (
    realm           text    NOT NULL,
    key             uuid    NOT NULL,
    operation       text    NOT NULL,
    request_hash    text    NOT NULL,
    status          integer,
    response        text,
    etag            text,
    created_ms      bigint  NOT NULL,
    expires_ms      bigint  NOT NULL,
    PRIMARY KEY (realm, key)
);
-- Purging expired keys.
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_ms);

-- Scan and commit reports as clients send them.  table_id has no foreign
-- key: a report may outlive its table; the catalog's removal removes them.
CREATE TABLE metrics_reports (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    realm           text    NOT NULL,
    catalog_id      bigint  NOT NULL REFERENCES catalogs (id) ON DELETE CASCADE,
    table_id        bigint  NOT NULL,
    report_type     text    NOT NULL
                    CHECK (report_type IN ('scan-report', 'commit-report')),
    report          jsonb   NOT NULL,
    received_ms     bigint  NOT NULL
);
-- Retention purge, per-table queries and the catalog foreign key.
CREATE INDEX metrics_reports_received ON metrics_reports (received_ms);
CREATE INDEX metrics_reports_table ON metrics_reports (table_id, received_ms);
CREATE INDEX metrics_reports_catalog ON metrics_reports (catalog_id);

-- Secrets shared by every replica (created once, never logged).
CREATE TABLE server_secrets (
    name            text    PRIMARY KEY,
    value           text    NOT NULL,
    created_ms      bigint  NOT NULL
);
