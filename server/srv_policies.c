/*
 * srv_policies.c
 *
 * The Polaris policy store under /api/catalog/polaris/v1/{prefix}: the
 * handlers (decode the request, call catalog/, render the spec's shapes)
 * and their authorizers, with the privileges Polaris requires
 * (notes/POLARIS.md c, "Policies").  spec: createPolicy, listPolicies,
 * loadPolicy, updatePolicy, dropPolicy, attachPolicy, detachPolicy,
 * getApplicablePolicies.
 *
 * Floe extension: getApplicablePolicies on a table also takes
 * `floe-principal-roles` (comma-separated role names) and then adds
 * "floe-rules", the row filters and column masks in force for those roles
 * (cat_policy_rules_for, what scan planning applies).  It reveals nothing
 * the policies' content in the same response does not already show.
 */
#include "server/srv_int.h"

#include <string.h>
#include <strings.h>

static const char *prefix(struct srv_req *req)
{
    return srv_req_param(req, "prefix");
}

static void ident(struct srv_req *req, struct cat_ident *id)
{
    id->ns = srv_req_ns(req, &id->nns);
    id->name = srv_req_param(req, "policy-name");
}

/* The namespace levels as a JSON array.  Returns a new reference. */
static json_t *levels_json(const char *const *levels, int n)
{
    json_t *arr = json_array();
    int     i;

    for (i = 0; i < n; i++) {
        json_array_append_new(arr, json_string(levels[i]));
    }
    return arr;
}

/* spec: Policy, in Polaris's member order.  Returns a new reference. */
static json_t *policy_json(const struct cat_policy *p)
{
    json_t *v = json_object();

    json_object_set_new(v, "policy-type", json_string(p->type));
    json_object_set_new(v, "inheritable", json_boolean(p->inheritable));
    json_object_set_new(v, "name", json_string(p->name));
    if (p->description != NULL) {
        json_object_set_new(v, "description", json_string(p->description));
    }
    json_object_set_new(v, "content", json_string(p->content));
    json_object_set_new(v, "version", json_integer(p->version));
    return v;
}

/* spec: LoadPolicyResponse.  Returns a new reference. */
static json_t *load_response(const struct cat_policy *p)
{
    return json_pack("{so}", "policy", policy_json(p));
}

/* ------------------------------------------------------------- handlers */

/* spec: createPolicy -> 200 {"policy": Policy} */
json_t *srv_h_policy_create(struct srv_req *req, struct fl_err *err)
{
    json_t           *body = srv_req_body(req, err);
    struct cat_ident  id;
    const char       *type;
    const char       *desc;
    const char       *content;
    struct cat_policy p;

    if (body == NULL ||
        !fl_json_str(body, "name", true, &id.name, err) ||
        !fl_json_str(body, "type", true, &type, err) ||
        !fl_json_str(body, "description", false, &desc, err) ||
        !fl_json_str(body, "content", false, &content, err)) {
        return NULL;
    }
    id.ns = srv_req_ns(req, &id.nns);
    if (!cat_policy_create(&req->cx, prefix(req), &id, type, desc, content,
                           &p, err)) {
        return NULL;
    }
    return load_response(&p);
}

/* policyType: absent or empty is no filter. */
static const char *policy_type_param(struct srv_req *req, struct fl_err *err)
{
    const char *type = srv_req_query(req, "policyType", err);

    return type != NULL && type[0] != '\0' ? type : NULL;
}

/* spec: listPolicies -> {"identifiers": [...], "next-page-token"} */
json_t *srv_h_policy_list(struct srv_req *req, struct fl_err *err)
{
    int                   n;
    const char *const    *ns = srv_req_ns(req, &n);
    const char           *token;
    const char           *type;
    int                   size;
    struct cat_table_page page;

    if (!srv_page_size(req, &size, err)) {
        return NULL;
    }
    token = srv_req_query(req, "pageToken", err);
    type = policy_type_param(req, err);
    if (fl_err_isset(err) ||
        !cat_policy_list(&req->cx, prefix(req), ns, n, type, token, size,
                         &page, err)) {
        return NULL;
    }
    return srv_identifiers(ns, n, &page);
}

/* spec: loadPolicy -> {"policy": Policy} */
json_t *srv_h_policy_load(struct srv_req *req, struct fl_err *err)
{
    struct cat_ident  id;
    struct cat_policy p;

    ident(req, &id);
    if (!cat_policy_get(&req->cx, prefix(req), &id, &p, err)) {
        return NULL;
    }
    return load_response(&p);
}

/* spec: updatePolicy -> {"policy": Policy}; 409 on a version mismatch */
json_t *srv_h_policy_update(struct srv_req *req, struct fl_err *err)
{
    json_t                  *body = srv_req_body(req, err);
    struct cat_ident         id;
    struct cat_policy_update u;
    struct cat_policy        p;

    memset(&u, 0, sizeof(u));
    if (body == NULL ||
        !fl_json_str(body, "description", false, &u.description, err) ||
        !fl_json_str(body, "content", false, &u.content, err) ||
        !fl_json_int(body, "current-policy-version", false, &u.version,
                     err)) {
        return NULL;
    }
    u.check_version = json_is_integer(json_object_get(
        body, "current-policy-version"));
    ident(req, &id);
    if (!cat_policy_update(&req->cx, prefix(req), &id, &u, &p, err)) {
        return NULL;
    }
    return load_response(&p);
}

/* spec: dropPolicy -> 204; 400 PolicyInUseException unless detach-all */
json_t *srv_h_policy_drop(struct srv_req *req, struct fl_err *err)
{
    const char      *all = srv_req_query(req, "detach-all", err);
    struct cat_ident id;

    if (fl_err_isset(err)) {
        return NULL;
    }
    if (all != NULL && strcasecmp(all, "true") != 0 &&
        strcasecmp(all, "false") != 0) {
        FL_ERR(err, 400, "BadRequestException",
               "Invalid value for detach-all: must be true or false");
        return NULL;
    }
    ident(req, &id);
    if (cat_policy_drop(&req->cx, prefix(req), &id,
                        all != NULL && strcasecmp(all, "true") == 0, err)) {
        req->status = 204;
    }
    return NULL;
}

/*
 * spec: PolicyAttachmentTarget, {"type": "catalog" | "namespace" |
 * "table-like", "path": [...]} in the body's "target".  Errors: 400.
 */
static bool target_decode(struct srv_req *req, struct cat_policy_target *t,
                          struct fl_err *err)
{
    static const char *const names[] = {"catalog", "namespace",
                                        "table-like"};
    json_t                  *body = srv_req_body(req, err);
    json_t                  *tg;
    json_t                  *path = NULL;
    const char              *type;
    size_t                   i;

    memset(t, 0, sizeof(*t));
    if (body == NULL || !fl_json_obj(body, "target", true, &tg, err) ||
        !fl_json_str(tg, "type", true, &type, err) ||
        !fl_json_arr(tg, "path", false, &path, err) ||
        (path != NULL &&
         (t->path = srv_strings(req, path, &t->n, "path", err)) == NULL)) {
        return false;
    }
    for (i = 0; i < FL_ARRAY_LEN(names); i++) {
        if (strcmp(type, names[i]) == 0) {
            t->type = (enum cat_target_type)i;
            return true;
        }
    }
    return FL_ERR(err, 400, "BadRequestException",
                  "Invalid target type '%.64s': expected catalog, namespace "
                  "or table-like", type);
}

/* spec: attachPolicy -> 204 */
json_t *srv_h_policy_attach(struct srv_req *req, struct fl_err *err)
{
    struct cat_ident         id;
    struct cat_policy_target t;
    json_t                  *params = NULL;

    if (!target_decode(req, &t, err) ||
        !fl_json_obj(req->json, "parameters", false, &params, err)) {
        return NULL;
    }
    ident(req, &id);
    if (cat_policy_attach(&req->cx, prefix(req), &id, &t, params, err)) {
        req->status = 204;
    }
    return NULL;
}

/* spec: detachPolicy -> 204; 404 NoSuchMappingException */
json_t *srv_h_policy_detach(struct srv_req *req, struct fl_err *err)
{
    struct cat_ident         id;
    struct cat_policy_target t;

    if (!target_decode(req, &t, err)) {
        return NULL;
    }
    ident(req, &id);
    if (cat_policy_detach(&req->cx, prefix(req), &id, &t, err)) {
        req->status = 204;
    }
    return NULL;
}


/* Split "a,b" into role names (arena). */
static const char **role_list(struct srv_req *req, const char *s, int *n)
{
    const char **out = fl_alloc(req->a, sizeof(char *) * (strlen(s) + 2));
    char        *p = fl_strdup(req->a, s);
    char        *comma;

    *n = 0;
    for (;;) {
        comma = strchr(p, ',');
        if (comma != NULL) {
            *comma = '\0';
        }
        if (p[0] != '\0') {
            out[(*n)++] = p;
        }
        if (comma == NULL) {
            return out;
        }
        p = comma + 1;
    }
}

/* Floe extension: "floe-rules" for `floe-principal-roles`, on a table. */
static bool floe_rules(struct srv_req *req, const char *const *ns, int nns,
                       const char *table, json_t *res, struct fl_err *err)
{
    const char  *roles = srv_req_query(req, "floe-principal-roles", err);
    const char **names;
    int          n;
    json_t      *rules;

    if (roles == NULL) {
        return !fl_err_isset(err);
    }
    if (table == NULL) {
        return FL_ERR(err, 400, "BadRequestException",
                      "floe-principal-roles needs a table target "
                      "(namespace and target-name)");
    }
    names = role_list(req, roles, &n);
    if (!cat_policy_rules_for(&req->cx, prefix(req), ns, nns, table, names,
                              n, &rules, err)) {
        return false;
    }
    json_object_set_new(res, "floe-rules", rules);
    return true;
}

/* spec: ApplicablePolicy.  Returns a new reference. */
static json_t *applicable_json(const struct cat_policy *p)
{
    json_t *v = policy_json(p);

    json_object_set_new(v, "inherited", json_boolean(p->inherited));
    json_object_set_new(v, "namespace", levels_json(p->ns, p->nns));
    return v;
}

/* spec: getApplicablePolicies -> {"applicable-policies", "next-page-token"} */
json_t *srv_h_policy_applicable(struct srv_req *req, struct fl_err *err)
{
    const char           **ns;
    int                    nns;
    const char            *table;
    const char            *token;
    const char            *type;
    int                    size;
    int                    i;
    struct cat_policy_page page;
    json_t                *arr;
    json_t                *res;

    if (!srv_page_size(req, &size, err) ||
        !srv_query_target(req, "target-name", &ns, &nns, &table, err)) {
        return NULL;
    }
    token = srv_req_query(req, "pageToken", err);
    type = policy_type_param(req, err);
    if (fl_err_isset(err) ||
        !cat_policy_applicable(&req->cx, prefix(req), ns, nns, table, type,
                               token, size, &page, err)) {
        return NULL;
    }
    arr = json_array();
    for (i = 0; i < page.n; i++) {
        json_array_append_new(arr, applicable_json(&page.items[i]));
    }
    res = json_pack("{so so}", "applicable-policies", arr, "next-page-token",
                    page.next_token ? json_string(page.next_token)
                                    : json_null());
    if (!floe_rules(req, ns, nns, table, res, err)) {
        json_decref(res);
        return NULL;
    }
    return res;
}

/* ----------------------------------------------------------- authorizers */

static bool need(struct srv_req *req, const struct acc_target *t, int priv,
                 struct fl_err *err)
{
    return srv_az_require(req, t, &priv, 1, NULL, err);
}

/* The namespace of the path, or the policy in it (`leaf`). */
static void policy_target(struct srv_req *req, struct acc_target *t,
                          bool leaf, bool rooted)
{
    memset(t, 0, sizeof(*t));
    t->catalog = prefix(req);
    t->ns = srv_req_ns(req, &t->nns);
    t->rooted = rooted;
    if (leaf) {
        t->leaf = srv_req_param(req, "policy-name");
        t->leaf_type = ACC_POLICY;
    }
}

#define POLICY_AZ(op, leaf, priv)                                   \
    SRV_AZ(op)                                                      \
    {                                                               \
        struct acc_target t;                                        \
        policy_target(req, &t, leaf, true);                         \
        return need(req, &t, priv, err);                            \
    }

POLICY_AZ(createPolicy, false, ACC_POLICY_CREATE)
POLICY_AZ(listPolicies, false, ACC_POLICY_LIST)
POLICY_AZ(loadPolicy, true, ACC_POLICY_READ)
POLICY_AZ(updatePolicy, true, ACC_POLICY_WRITE)
POLICY_AZ(dropPolicy, true, ACC_POLICY_DROP)

/*
 * attach / detach: POLICY_ATTACH (DETACH) on the policy and
 * {CATALOG,NAMESPACE,TABLE}_ATTACH_POLICY (DETACH) on the target, both
 * catalog-rooted as Polaris resolves them.  A target path too short for
 * its type is checked on the catalog; the handler answers 400.
 */
static bool mapping_az(struct srv_req *req, bool attach, struct fl_err *err)
{
    static const int on_target[2][3] = {
        {ACC_CATALOG_DETACH_POLICY, ACC_NAMESPACE_DETACH_POLICY,
         ACC_TABLE_DETACH_POLICY},
        {ACC_CATALOG_ATTACH_POLICY, ACC_NAMESPACE_ATTACH_POLICY,
         ACC_TABLE_ATTACH_POLICY}};
    struct acc_target        t;
    struct cat_policy_target tg;

    policy_target(req, &t, true, false);
    if (!need(req, &t, attach ? ACC_POLICY_ATTACH : ACC_POLICY_DETACH, err) ||
        !target_decode(req, &tg, err)) {
        return false;
    }
    memset(&t, 0, sizeof(t));
    t.catalog = prefix(req);
    if (tg.type == CAT_TARGET_NAMESPACE) {
        t.ns = tg.path;
        t.nns = tg.n;
    } else if (tg.type == CAT_TARGET_TABLE && tg.n >= 2) {
        t.ns = tg.path;
        t.nns = tg.n - 1;
        t.leaf = tg.path[tg.n - 1];
        t.leaf_type = ACC_TABLE_LIKE;
        t.leaf_kind = "table";
    }
    return need(req, &t, on_target[attach][tg.type], err);
}

SRV_AZ(attachPolicy)
{
    return mapping_az(req, true, err);
}

SRV_AZ(detachPolicy)
{
    return mapping_az(req, false, err);
}

/* getApplicablePolicies: *_READ_PROPERTIES on the target; the catalog
 * level is catalog-rooted (Polaris). */
SRV_AZ(getApplicablePolicies)
{
    struct acc_target t;
    const char      **ns;
    int               nns;
    const char       *table;
    int               priv = ACC_CATALOG_READ_PROPERTIES;

    if (!srv_query_target(req, "target-name", &ns, &nns, &table, err)) {
        return false;
    }
    memset(&t, 0, sizeof(t));
    t.catalog = prefix(req);
    if (nns > 0) {
        t.ns = ns;
        t.nns = nns;
        t.rooted = true;
        priv = ACC_NAMESPACE_READ_PROPERTIES;
    }
    if (nns > 0 && table != NULL) {
        t.leaf = table;
        t.leaf_type = ACC_TABLE_LIKE;
        t.leaf_kind = "table";
        priv = ACC_TABLE_READ_PROPERTIES;
    }
    return need(req, &t, priv, err);
}
