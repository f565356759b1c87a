-- 0001_init.sql
--
-- The catalog schema of DESIGN.md section 3 that the first issue uses:
-- catalogs, namespaces and the table/view rows that make a namespace
-- non-empty.  Every row carries its realm (Polaris realms).  Every foreign key
-- and every lookup path has an index.  Applied once, inside a transaction, by
-- the migration runner (db/db_migrate.c), which records it in
-- schema_migrations.

CREATE TABLE catalogs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    realm           text    NOT NULL,
    name            text    NOT NULL,
    type            text    NOT NULL CHECK (type IN ('INTERNAL', 'EXTERNAL')),
    properties      jsonb   NOT NULL DEFAULT '{}',
    storage_config  jsonb   NOT NULL,
    connection_config jsonb,
    entity_version  integer NOT NULL DEFAULT 1,
    created_ms      bigint  NOT NULL,
    updated_ms      bigint  NOT NULL,
    CONSTRAINT catalogs_realm_name UNIQUE (realm, name)
);

-- A namespace is one node of the tree: `path` is every level, `name` the
-- last.  Top-level namespaces have no parent.  The foreign keys make "drop
-- only when empty" and "create only under an existing parent" hold under
-- concurrency without extra locking.
CREATE TABLE namespaces (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    realm           text    NOT NULL,
    catalog_id      bigint  NOT NULL REFERENCES catalogs (id),
    parent_id       bigint  REFERENCES namespaces (id),
    path            text[]  NOT NULL,
    name            text    NOT NULL,
    properties      jsonb   NOT NULL DEFAULT '{}',
    entity_version  integer NOT NULL DEFAULT 1,
    created_ms      bigint  NOT NULL,
    updated_ms      bigint  NOT NULL,
    CONSTRAINT namespaces_catalog_path UNIQUE (catalog_id, path),
    CONSTRAINT namespaces_name_is_last CHECK (path[cardinality(path)] = name)
);
-- Children of a parent in name order (listNamespaces, keyset pagination);
-- also serves the catalog_id foreign key.
CREATE INDEX namespaces_children ON namespaces (catalog_id, parent_id, name);
-- The parent_id foreign key (checked when a parent is deleted).
CREATE INDEX namespaces_parent ON namespaces (parent_id);

-- Tables and views share one name space per namespace (`kind` tells them
-- apart).  The row holds the pointer, a version counter for the commit CAS
-- and the current metadata JSON exactly as written to storage.
CREATE TABLE tables (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    realm               text    NOT NULL,
    catalog_id          bigint  NOT NULL REFERENCES catalogs (id),
    namespace_id        bigint  NOT NULL REFERENCES namespaces (id),
    name                text    NOT NULL,
    kind                text    NOT NULL CHECK (kind IN ('table', 'view')),
    metadata_location   text,
    metadata            text,
    version             bigint  NOT NULL DEFAULT 1,
    table_uuid          uuid,
    location            text,
    format_version      integer,
    current_snapshot_id bigint,
    last_updated_ms     bigint,
    created_ms          bigint  NOT NULL,
    updated_ms          bigint  NOT NULL,
    CONSTRAINT tables_namespace_name UNIQUE (namespace_id, name)
);
-- The catalog_id foreign key; tables of a catalog.
CREATE INDEX tables_catalog ON tables (catalog_id);
