-- 0003_access: principals, roles, grants and the audit log (Polaris's
-- security model, notes/POLARIS.md c).
--
-- Securables and grantees are named by (type, id) with Polaris's entity
-- type codes: 1 root (id 0), 2 principal, 3 principal role, 4 catalog,
-- 5 catalog role, 6 namespace, 7 table or view, 10 policy.  Ids come from
-- each entity's own table, so a (type, id) pair is unique, an id alone is
-- not.  Role assignments are grants too: PRINCIPAL_ROLE_USAGE (4) on a
-- principal role held by a principal, CATALOG_ROLE_USAGE (3) on a catalog
-- role held by a principal role.

CREATE TABLE principals (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    realm           text    NOT NULL,
    name            text    NOT NULL,
    client_id       text    NOT NULL,
    -- "pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>"; secret_prev is
    -- the secret before the last rotation, still accepted until the next
    secret          text    NOT NULL,
    secret_prev     text,
    properties      jsonb   NOT NULL DEFAULT '{}',
    rotation_required boolean NOT NULL DEFAULT false,
    entity_version  integer NOT NULL DEFAULT 1,
    created_ms      bigint  NOT NULL,
    updated_ms      bigint  NOT NULL,
    CONSTRAINT principals_realm_name UNIQUE (realm, name),
    CONSTRAINT principals_realm_client UNIQUE (realm, client_id)
);

CREATE TABLE principal_roles (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    realm           text    NOT NULL,
    name            text    NOT NULL,
    federated       boolean NOT NULL DEFAULT false,
    properties      jsonb   NOT NULL DEFAULT '{}',
    entity_version  integer NOT NULL DEFAULT 1,
    created_ms      bigint  NOT NULL,
    updated_ms      bigint  NOT NULL,
    CONSTRAINT principal_roles_realm_name UNIQUE (realm, name)
);

CREATE TABLE catalog_roles (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    realm           text    NOT NULL,
    catalog_id      bigint  NOT NULL REFERENCES catalogs (id) ON DELETE CASCADE,
    name            text    NOT NULL,
    properties      jsonb   NOT NULL DEFAULT '{}',
    entity_version  integer NOT NULL DEFAULT 1,
    created_ms      bigint  NOT NULL,
    updated_ms      bigint  NOT NULL,
    CONSTRAINT catalog_roles_catalog_name UNIQUE (catalog_id, name)
);

CREATE TABLE grants (
    realm           text     NOT NULL,
    securable_type  smallint NOT NULL,
    securable_id    bigint   NOT NULL,
    grantee_type    smallint NOT NULL,
    grantee_id      bigint   NOT NULL,
    privilege       smallint NOT NULL,
    -- the catalog a catalog-scoped securable lives in (NULL at root
    -- level); dropping the catalog drops its grants
    catalog_id      bigint   REFERENCES catalogs (id) ON DELETE CASCADE,
    created_ms      bigint   NOT NULL,
    PRIMARY KEY (realm, securable_type, securable_id, grantee_type,
                 grantee_id, privilege)
);
CREATE INDEX grants_grantee ON grants (realm, grantee_type, grantee_id);
CREATE INDEX grants_catalog ON grants (catalog_id);

-- Every change that can alter an authorization decision notifies channel
-- floe_grants: grants, principals dropped, tables and views moved (a
-- decision cached for a path must not follow another object into it).
-- Servers LISTEN and drop their cached callers and decisions (DESIGN 10).
CREATE FUNCTION floe_access_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('floe_grants', '');
    RETURN NULL;
END $$;
CREATE TRIGGER grants_changed AFTER INSERT OR UPDATE OR DELETE ON grants
    FOR EACH STATEMENT EXECUTE FUNCTION floe_access_changed();
CREATE TRIGGER principals_changed AFTER DELETE ON principals
    FOR EACH STATEMENT EXECUTE FUNCTION floe_access_changed();
CREATE TRIGGER tables_moved AFTER UPDATE OF name, namespace_id ON tables
    FOR EACH STATEMENT EXECUTE FUNCTION floe_access_changed();

-- Dropping an entity drops the grants on it and the grants it holds.
CREATE FUNCTION floe_grants_forget() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    t smallint := TG_ARGV[0]::smallint;
BEGIN
    DELETE FROM grants
     WHERE realm = OLD.realm
       AND ((securable_type = t AND securable_id = OLD.id)
            OR (grantee_type = t AND grantee_id = OLD.id));
    RETURN NULL;
END $$;
CREATE TRIGGER principals_forget AFTER DELETE ON principals
    FOR EACH ROW EXECUTE FUNCTION floe_grants_forget(2);
CREATE TRIGGER principal_roles_forget AFTER DELETE ON principal_roles
    FOR EACH ROW EXECUTE FUNCTION floe_grants_forget(3);
CREATE TRIGGER catalog_roles_forget AFTER DELETE ON catalog_roles
    FOR EACH ROW EXECUTE FUNCTION floe_grants_forget(5);
CREATE TRIGGER namespaces_forget AFTER DELETE ON namespaces
    FOR EACH ROW EXECUTE FUNCTION floe_grants_forget(6);
CREATE TRIGGER tables_forget AFTER DELETE ON tables
    FOR EACH ROW EXECUTE FUNCTION floe_grants_forget(7);

-- The Polaris policy store.  A policy lives in a namespace; mappings
-- attach it to a catalog (4), namespace (6) or table (7).  At most one
-- inheritable policy of a type per target.  policy_rules explodes Floe's
-- floe.row-filter / floe.column-mask content per principal role, so the
-- rules of (table, role) are found by index (mappings of the table and its
-- ancestors, then rules of those policies for the role).
CREATE TABLE policies (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    realm           text    NOT NULL,
    catalog_id      bigint  NOT NULL REFERENCES catalogs (id) ON DELETE CASCADE,
    namespace_id    bigint  NOT NULL REFERENCES namespaces (id),
    name            text    NOT NULL,
    policy_type     text    NOT NULL,
    inheritable     boolean NOT NULL,
    description     text,
    content         text    NOT NULL,
    version         integer NOT NULL DEFAULT 0,
    created_ms      bigint  NOT NULL,
    updated_ms      bigint  NOT NULL,
    CONSTRAINT policies_namespace_name UNIQUE (namespace_id, name)
);
CREATE INDEX policies_catalog ON policies (catalog_id);
CREATE INDEX policies_type ON policies (namespace_id, policy_type, name);

CREATE TABLE policy_mappings (
    realm           text     NOT NULL,
    catalog_id      bigint   NOT NULL REFERENCES catalogs (id) ON DELETE CASCADE,
    target_type     smallint NOT NULL CHECK (target_type IN (4, 6, 7)),
    target_id       bigint   NOT NULL,
    policy_id       bigint   NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
    policy_type     text     NOT NULL,
    inheritable     boolean  NOT NULL,
    parameters      jsonb    NOT NULL DEFAULT '{}',
    created_ms      bigint   NOT NULL,
    PRIMARY KEY (target_type, target_id, policy_id)
);
CREATE UNIQUE INDEX policy_mappings_one_per_type
    ON policy_mappings (target_type, target_id, policy_type) WHERE inheritable;
CREATE INDEX policy_mappings_policy ON policy_mappings (policy_id);
CREATE INDEX policy_mappings_catalog ON policy_mappings (catalog_id);

CREATE TABLE policy_rules (
    policy_id       bigint  NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
    principal_role  text    NOT NULL,
    kind            text    NOT NULL CHECK (kind IN ('row-filter', 'column-mask')),
    column_name     text    NOT NULL DEFAULT '',
    rule            jsonb   NOT NULL,
    PRIMARY KEY (policy_id, principal_role, kind, column_name)
);
CREATE INDEX policy_rules_role ON policy_rules (principal_role, policy_id);

CREATE TRIGGER policies_forget AFTER DELETE ON policies
    FOR EACH ROW EXECUTE FUNCTION floe_grants_forget(10);

-- A dropped namespace or table loses the policies attached to it.
CREATE FUNCTION floe_mappings_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM policy_mappings
     WHERE target_type = TG_ARGV[0]::smallint AND target_id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER namespaces_unmap AFTER DELETE ON namespaces
    FOR EACH ROW EXECUTE FUNCTION floe_mappings_forget(6);
CREATE TRIGGER tables_unmap AFTER DELETE ON tables
    FOR EACH ROW EXECUTE FUNCTION floe_mappings_forget(7);

CREATE TABLE audit_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    realm           text    NOT NULL,
    at_ms           bigint  NOT NULL,
    principal       text,               -- NULL: unauthenticated
    operation       text    NOT NULL,   -- the OpenAPI operationId
    target          text,               -- catalog/namespace/object path
    status          integer NOT NULL,   -- the HTTP status answered
    outcome         text    NOT NULL CHECK (outcome IN ('allowed', 'denied',
                                                        'failed')),
    request_id      text    NOT NULL
);
CREATE INDEX audit_events_realm ON audit_events (realm, id);
CREATE INDEX audit_events_at ON audit_events (at_ms);
