/*
 * access/access.h
 *
 * Who may do what: principals and their secrets, principal and catalog
 * roles, grants, Polaris's privilege model (codes, subsumption,
 * inheritance down catalog -> namespace -> table/view/policy) and the
 * checks every route makes.  See access/README.md.
 */
#ifndef FL_ACCESS_H
#define FL_ACCESS_H

#include "catalog/catalog.h"

/* Polaris's privileges; the codes are what `grants.privilege` stores. */
enum acc_priv {
    ACC_SERVICE_MANAGE_ACCESS = 1,
    ACC_CATALOG_MANAGE_ACCESS = 2,
    ACC_CATALOG_ROLE_USAGE = 3,
    ACC_PRINCIPAL_ROLE_USAGE = 4,
    ACC_NAMESPACE_CREATE = 5,
    ACC_TABLE_CREATE = 6,
    ACC_VIEW_CREATE = 7,
    ACC_NAMESPACE_DROP = 8,
    ACC_TABLE_DROP = 9,
    ACC_VIEW_DROP = 10,
    ACC_NAMESPACE_LIST = 11,
    ACC_TABLE_LIST = 12,
    ACC_VIEW_LIST = 13,
    ACC_NAMESPACE_READ_PROPERTIES = 14,
    ACC_TABLE_READ_PROPERTIES = 15,
    ACC_VIEW_READ_PROPERTIES = 16,
    ACC_NAMESPACE_WRITE_PROPERTIES = 17,
    ACC_TABLE_WRITE_PROPERTIES = 18,
    ACC_VIEW_WRITE_PROPERTIES = 19,
    ACC_TABLE_READ_DATA = 20,
    ACC_TABLE_WRITE_DATA = 21,
    ACC_NAMESPACE_FULL_METADATA = 22,
    ACC_TABLE_FULL_METADATA = 23,
    ACC_VIEW_FULL_METADATA = 24,
    ACC_CATALOG_CREATE = 25,
    ACC_CATALOG_DROP = 26,
    ACC_CATALOG_LIST = 27,
    ACC_CATALOG_READ_PROPERTIES = 28,
    ACC_CATALOG_WRITE_PROPERTIES = 29,
    ACC_CATALOG_FULL_METADATA = 30,
    ACC_CATALOG_MANAGE_METADATA = 31,
    ACC_CATALOG_MANAGE_CONTENT = 32,
    ACC_PRINCIPAL_LIST_GRANTS = 33,
    ACC_PRINCIPAL_ROLE_LIST_GRANTS = 34,
    ACC_CATALOG_ROLE_LIST_GRANTS = 35,
    ACC_CATALOG_LIST_GRANTS = 36,
    ACC_NAMESPACE_LIST_GRANTS = 37,
    ACC_TABLE_LIST_GRANTS = 38,
    ACC_VIEW_LIST_GRANTS = 39,
    ACC_CATALOG_MANAGE_GRANTS_ON_SECURABLE = 40,
    ACC_NAMESPACE_MANAGE_GRANTS_ON_SECURABLE = 41,
    ACC_TABLE_MANAGE_GRANTS_ON_SECURABLE = 42,
    ACC_VIEW_MANAGE_GRANTS_ON_SECURABLE = 43,
    ACC_PRINCIPAL_CREATE = 44,
    ACC_PRINCIPAL_DROP = 45,
    ACC_PRINCIPAL_LIST = 46,
    ACC_PRINCIPAL_READ_PROPERTIES = 47,
    ACC_PRINCIPAL_WRITE_PROPERTIES = 48,
    ACC_PRINCIPAL_FULL_METADATA = 49,
    ACC_PRINCIPAL_MANAGE_GRANTS_ON_SECURABLE = 50,
    ACC_PRINCIPAL_MANAGE_GRANTS_FOR_GRANTEE = 51,
    ACC_PRINCIPAL_ROTATE_CREDENTIALS = 52,
    ACC_PRINCIPAL_RESET_CREDENTIALS = 53,
    ACC_PRINCIPAL_ROLE_CREATE = 54,
    ACC_PRINCIPAL_ROLE_DROP = 55,
    ACC_PRINCIPAL_ROLE_LIST = 56,
    ACC_PRINCIPAL_ROLE_READ_PROPERTIES = 57,
    ACC_PRINCIPAL_ROLE_WRITE_PROPERTIES = 58,
    ACC_PRINCIPAL_ROLE_FULL_METADATA = 59,
    ACC_PRINCIPAL_ROLE_MANAGE_GRANTS_ON_SECURABLE = 60,
    ACC_PRINCIPAL_ROLE_MANAGE_GRANTS_FOR_GRANTEE = 61,
    ACC_CATALOG_ROLE_CREATE = 62,
    ACC_CATALOG_ROLE_DROP = 63,
    ACC_CATALOG_ROLE_LIST = 64,
    ACC_CATALOG_ROLE_READ_PROPERTIES = 65,
    ACC_CATALOG_ROLE_WRITE_PROPERTIES = 66,
    ACC_CATALOG_ROLE_FULL_METADATA = 67,
    ACC_CATALOG_ROLE_MANAGE_GRANTS_ON_SECURABLE = 68,
    ACC_CATALOG_ROLE_MANAGE_GRANTS_FOR_GRANTEE = 69,
    ACC_POLICY_CREATE = 70,
    ACC_POLICY_READ = 71,
    ACC_POLICY_DROP = 72,
    ACC_POLICY_WRITE = 73,
    ACC_POLICY_LIST = 74,
    ACC_POLICY_FULL_METADATA = 75,
    ACC_POLICY_ATTACH = 76,
    ACC_POLICY_DETACH = 77,
    ACC_CATALOG_ATTACH_POLICY = 78,
    ACC_NAMESPACE_ATTACH_POLICY = 79,
    ACC_TABLE_ATTACH_POLICY = 80,
    ACC_CATALOG_DETACH_POLICY = 81,
    ACC_NAMESPACE_DETACH_POLICY = 82,
    ACC_TABLE_DETACH_POLICY = 83,
    ACC_POLICY_MANAGE_GRANTS_ON_SECURABLE = 84,
    ACC_TABLE_ASSIGN_UUID = 85,
    ACC_TABLE_UPGRADE_FORMAT_VERSION = 86,
    ACC_TABLE_ADD_SCHEMA = 87,
    ACC_TABLE_SET_CURRENT_SCHEMA = 88,
    ACC_TABLE_ADD_PARTITION_SPEC = 89,
    ACC_TABLE_ADD_SORT_ORDER = 90,
    ACC_TABLE_SET_DEFAULT_SORT_ORDER = 91,
    ACC_TABLE_ADD_SNAPSHOT = 92,
    ACC_TABLE_SET_SNAPSHOT_REF = 93,
    ACC_TABLE_REMOVE_SNAPSHOTS = 94,
    ACC_TABLE_REMOVE_SNAPSHOT_REF = 95,
    ACC_TABLE_SET_LOCATION = 96,
    ACC_TABLE_SET_PROPERTIES = 97,
    ACC_TABLE_REMOVE_PROPERTIES = 98,
    ACC_TABLE_SET_STATISTICS = 99,
    ACC_TABLE_REMOVE_STATISTICS = 100,
    ACC_TABLE_REMOVE_PARTITION_SPECS = 101,
    ACC_TABLE_MANAGE_STRUCTURE = 102,
    ACC_PRIV_MAX = 102
};

/* Securable and grantee types: Polaris's entity type codes. */
enum acc_type {
    ACC_ROOT = 1,
    ACC_PRINCIPAL = 2,
    ACC_PRINCIPAL_ROLE = 3,
    ACC_CATALOG = 4,
    ACC_CATALOG_ROLE = 5,
    ACC_NAMESPACE = 6,
    ACC_TABLE_LIKE = 7,
    ACC_POLICY = 10
};

const char *acc_priv_name(int priv);
int  acc_priv_parse(const char *name);                 /* -1: unknown */
bool acc_priv_satisfies(int granted, int required);
/* The privileges that satisfy `required` (itself included); returns n. */
int  acc_priv_supers(int required, int out[ACC_PRIV_MAX + 1]);

/* ------------------------------------------------------------- secrets */

/* "pbkdf2-sha256$<iter>$<salt>$<hash>" for `secret` (arena). */
char *acc_secret_hash(struct fl_arena *a, const char *secret);
bool acc_secret_matches(const char *stored, const char *secret);
/* 16 hex characters of client id, 32 of secret, as Polaris generates. */
char *acc_new_client_id(struct fl_arena *a);
char *acc_new_secret(struct fl_arena *a);

/* -------------------------------------------------------------- callers */

/* An authenticated caller with its activated principal roles. */
struct acc_caller {
    int64_t      principal_id;
    const char  *name;
    int64_t     *roles;         /* activated principal role ids */
    const char **role_names;
    int          nroles;
    bool         root;          /* the realm's root principal */
};

/*
 * Check client credentials: 401-class failure when the client is unknown
 * or the secret matches neither the current nor the previous one.  On
 * success *principal_id and *name are set.
 */
bool acc_client_check(struct cat_ctx *cx, const char *client_id,
                      const char *secret, int64_t *principal_id,
                      const char **name, struct fl_err *err);

/*
 * The caller `principal_id` with the principal roles `scope` activates:
 * "PRINCIPAL_ROLE:ALL" all granted roles, else the named ones it holds.
 * A principal that no longer exists fails 401 NotAuthorizedException.
 * A scope naming a role the principal does not hold fails 400 (token
 * endpoint: invalid_scope) when `strict`.
 */
bool acc_caller_load(struct cat_ctx *cx, int64_t principal_id,
                     const char *scope, bool strict, struct acc_caller *out,
                     struct fl_err *err);

/* Scope syntax: space-separated PRINCIPAL_ROLE:<name> items. */
bool acc_scope_valid(const char *scope);

/* ------------------------------------------------------------ bootstrap */

/*
 * Bootstrap `realm`: principal root with the given credentials (random
 * when NULL; *out_id and *out_secret then say what they are), principal role
 * service_admin, PRINCIPAL_ROLE_USAGE on it to root, SERVICE_MANAGE_ACCESS
 * on the root container to service_admin.  Idempotent: an existing root is
 * left alone and *created is false.
 */
bool acc_bootstrap(struct cat_ctx *cx, const char *client_id,
                   const char *secret, bool *created, const char **out_id,
                   const char **out_secret, struct fl_err *err);

/*
 * Polaris's createCatalog side effects, in the caller's transaction:
 * catalog role catalog_admin with CATALOG_MANAGE_ACCESS and
 * CATALOG_MANAGE_METADATA on the catalog (and CATALOG_MANAGE_CONTENT when
 * `content`, as `floe dev` wants), CATALOG_ROLE_USAGE on it to
 * service_admin.
 */
bool acc_catalog_created(struct cat_ctx *cx, int64_t catalog_id,
                         bool content, struct fl_err *err);

/* --------------------------------------------------------------- checks */

/*
 * What a check is about: nothing (the root container), a catalog, a
 * namespace in it, or an object (table, view: "table"/"view" kind; or a
 * policy) in a namespace.  Names, not ids: the check resolves them.
 */
struct acc_target {
    const char        *catalog;     /* NULL: root only */
    const char *const *ns;
    int                nns;
    const char        *leaf;        /* NULL: the namespace (or catalog) */
    int                leaf_type;   /* ACC_TABLE_LIKE or ACC_POLICY */
    const char        *leaf_kind;   /* "table" / "view" for ACC_TABLE_LIKE */
    bool               rooted;      /* root container on the path too */
};

/* The outcome of resolving a target. */
struct acc_resolved {
    int64_t catalog_id;     /* 0: no such catalog */
    int     depth;          /* namespace levels found (prefix) */
    bool    leaf_found;
};

/*
 * Does the caller hold every privilege of `privs` (n of them) on the
 * target or any of its ancestors (inheritance)?  When the target, or part
 * of its path, does not exist, the check is made on the part that does
 * (a grant there would cover the object), so the handler may go on and
 * answer its own 404.  A missing catalog is left to the handler too when
 * `r` is given; callers that must not run on a missing catalog look at
 * r->catalog_id.  Sets *allowed; fails only on database errors.
 */
bool acc_check(struct cat_ctx *cx, const struct acc_caller *who,
               const struct acc_target *t, const int *privs, int n,
               bool *allowed, struct acc_resolved *r, struct fl_err *err);

/* Does the caller hold `priv` on a principal, principal role or catalog
 * role (type, id), or on the root container? */
bool acc_check_entity(struct cat_ctx *cx, const struct acc_caller *who,
                      int type, int64_t id, int64_t catalog_id, int priv,
                      bool *allowed, struct fl_err *err);

/* Does the caller hold any catalog role in `catalog_id` (or service-level
 * access)?  What getConfig and listCatalogs need. */
bool acc_sees_catalog(struct cat_ctx *cx, const struct acc_caller *who,
                      int64_t catalog_id, bool *sees, struct fl_err *err);

/* 403 ForbiddenException naming the principal and the privilege. */
bool acc_denied(struct fl_err *err, const struct acc_caller *who,
                const char *op, int priv);

/* ---------------------------------------------------------------- cache */

/* Callers and decisions are cached while a listener on channel
 * floe_grants is connected: pass acc_cache_event to db_listen_start. */
void acc_cache_event(void *arg, bool live);
void acc_cache_invalidate(void);
void acc_cache_clear(void);

/* ---------------------------------------------------------------- audit */

struct acc_audit {
    const char *principal;      /* NULL: unauthenticated */
    const char *operation;
    const char *target;
    int         status;
    const char *outcome;        /* "allowed", "denied", "failed" */
    const char *request_id;
};

/* Append one audit event (outside any transaction of the request). */
void acc_audit(struct cat_ctx *cx, const struct acc_audit *e);
/* One page of audit events, newest first (*events: new JSON array). */
bool acc_audit_page(struct cat_ctx *cx, const char *page_token,
                    int page_size, json_t **events, const char **next,
                    struct fl_err *err);

/* -------------------------------------------------------- management API */

/*
 * Principals, principal roles and catalog roles as the Polaris management
 * API shows them (acc_principals.c, acc_roles.c); role assignments and
 * grants to catalog roles (acc_grants.c).  Names are looked up in the
 * request's realm; strings and JSON of results live in cx->a.
 */
struct acc_entity {
    int64_t     id;
    int         type;           /* ACC_PRINCIPAL, ACC_PRINCIPAL_ROLE or
                                 * ACC_CATALOG_ROLE */
    const char *name;
    const char *client_id;      /* principals */
    bool        rotation_required; /* principals */
    bool        federated;      /* principal roles */
    int64_t     catalog_id;     /* catalog roles */
    json_t     *properties;     /* string map */
    int         version;        /* entityVersion, from 1 */
    int64_t     created_ms;
    int64_t     updated_ms;
};

/* Entities in name order. */
struct acc_entities {
    struct acc_entity *items;
    int                n;
};

/* What a create or an update asks for (already decoded). */
struct acc_entity_req {
    const char *name;           /* creates */
    json_t     *properties;     /* NULL: {} on create */
    bool        flag;           /* federated / credentialRotationRequired */
    json_int_t  version;        /* updates: currentEntityVersion */
};

/* Principal, PrincipalRole or CatalogRole JSON.  Returns a new reference. */
json_t *acc_entity_to_json(const struct acc_entity *e);
/* Name rules of the management spec; `what` names the kind.  400. */
bool acc_name_check(const char *what, const char *name, struct fl_err *err);
/* A string map without reserved ("polaris.") keys.  400. */
bool acc_props_check(json_t *props, struct fl_err *err);

/* principals (acc_principals.c); secrets in clear only from create,
 * rotate and reset */
bool acc_principal_create(struct cat_ctx *cx, const struct acc_entity_req *q,
                          struct acc_entity *out, const char **secret,
                          struct fl_err *err);
bool acc_principal_get(struct cat_ctx *cx, const char *name,
                       struct acc_entity *out, struct fl_err *err);
bool acc_principal_list(struct cat_ctx *cx, const struct acc_caller *who,
                        bool all, struct acc_entities *out,
                        struct fl_err *err);
bool acc_principal_update(struct cat_ctx *cx, const char *name,
                          const struct acc_entity_req *q,
                          struct acc_entity *out, struct fl_err *err);
bool acc_principal_delete(struct cat_ctx *cx, const char *name,
                          struct fl_err *err);
bool acc_principal_rotate(struct cat_ctx *cx, const char *name,
                          struct acc_entity *out, const char **secret,
                          struct fl_err *err);
bool acc_principal_reset(struct cat_ctx *cx, const char *name,
                         const char *client_id, const char *new_secret,
                         struct acc_entity *out, const char **secret,
                         struct fl_err *err);

/* principal roles (acc_roles.c) */
bool acc_prole_create(struct cat_ctx *cx, const struct acc_entity_req *q,
                      struct acc_entity *out, struct fl_err *err);
bool acc_prole_get(struct cat_ctx *cx, const char *name,
                   struct acc_entity *out, struct fl_err *err);
bool acc_prole_list(struct cat_ctx *cx, const struct acc_caller *who,
                    bool all, struct acc_entities *out, struct fl_err *err);
bool acc_prole_update(struct cat_ctx *cx, const char *name,
                      const struct acc_entity_req *q, struct acc_entity *out,
                      struct fl_err *err);
bool acc_prole_delete(struct cat_ctx *cx, const char *name,
                      struct fl_err *err);

/* catalog roles (acc_roles.c) */
bool acc_catalog_id(struct cat_ctx *cx, const char *catalog, int64_t *id,
                    struct fl_err *err);
bool acc_crole_create(struct cat_ctx *cx, const char *catalog,
                      const struct acc_entity_req *q, struct acc_entity *out,
                      struct fl_err *err);
bool acc_crole_get(struct cat_ctx *cx, const char *catalog, const char *name,
                   struct acc_entity *out, struct fl_err *err);
bool acc_crole_list(struct cat_ctx *cx, int64_t catalog_id,
                    const struct acc_caller *who, bool all,
                    struct acc_entities *out, struct fl_err *err);
bool acc_crole_update(struct cat_ctx *cx, const char *catalog,
                      const char *name, const struct acc_entity_req *q,
                      struct acc_entity *out, struct fl_err *err);
bool acc_crole_delete(struct cat_ctx *cx, const char *catalog,
                      const char *name, struct fl_err *err);

/* role assignments (acc_grants.c): `role` is a principal role assigned to
 * a principal, or a catalog role assigned to a principal role */
bool acc_assign(struct cat_ctx *cx, const struct acc_entity *role,
                const struct acc_entity *grantee, bool add,
                struct fl_err *err);
bool acc_roles_of_principal(struct cat_ctx *cx, int64_t principal_id,
                            struct acc_entities *out, struct fl_err *err);
bool acc_principals_of_role(struct cat_ctx *cx, int64_t role_id,
                            struct acc_entities *out, struct fl_err *err);
bool acc_croles_of_prole(struct cat_ctx *cx, int64_t role_id,
                         int64_t catalog_id, struct acc_entities *out,
                         struct fl_err *err);
bool acc_proles_of_crole(struct cat_ctx *cx, int64_t crole_id,
                         struct acc_entities *out, struct fl_err *err);

/* A GrantResource of the management API. */
struct acc_grant {
    int                type;    /* ACC_CATALOG, ACC_NAMESPACE,
                                 * ACC_TABLE_LIKE or ACC_POLICY */
    const char        *kind;    /* ACC_TABLE_LIKE: "table" or "view" */
    const char *const *ns;
    int                nns;
    const char        *name;    /* table, view or policy */
    int                priv;
};

/* grants to catalog roles (acc_grants.c) */
bool acc_grant_from_json(struct fl_arena *a, json_t *v, struct acc_grant *out,
                         struct fl_err *err);
json_t *acc_grant_to_json(const struct acc_grant *g);
int  acc_grant_manage_priv(const struct acc_grant *g);
bool acc_grant_missing(struct fl_arena *a, const struct acc_grant *g,
                       struct fl_err *err);
bool acc_grant_change(struct cat_ctx *cx, const struct acc_entity *crole,
                      const struct acc_grant *g, bool add, bool cascade,
                      struct fl_err *err);
bool acc_grant_list(struct cat_ctx *cx, const struct acc_entity *crole,
                    struct acc_grant **out, int *n, struct fl_err *err);

#endif /* FL_ACCESS_H */
