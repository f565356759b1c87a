/*
 * srv_namespaces.c
 *
 * Handlers of the Iceberg REST catalog API for configuration and
 * namespaces (/api/catalog/v1/...): decode the request, call catalog/,
 * render the spec's response.  spec: getConfig, listNamespaces,
 * createNamespace, loadNamespaceMetadata, namespaceExists, dropNamespace,
 * updateProperties.
 */
#include "server/srv_int.h"

#include <string.h>

/* The namespace levels as a JSON array.  Returns a new reference. */
static json_t *ns_json(const char *const *levels, int n)
{
    json_t *arr = json_array();
    int     i;

    for (i = 0; i < n; i++) {
        json_array_append_new(arr, json_string(levels[i]));
    }
    return arr;
}

/* Every Iceberg endpoint this server routes.  Returns a new reference. */
static json_t *endpoints(void)
{
    const struct srv_route *r;
    size_t                  n;
    size_t                  i;
    json_t                 *arr = json_array();

    r = srv_routes(&n);
    for (i = 0; i < n; i++) {
        if (r[i].iceberg != NULL) {
            json_array_append_new(arr, json_string(r[i].iceberg));
        }
    }
    return arr;
}

/* An ISO-8601 duration for `s` seconds: PT30M, PT2H, PT90S. */
static const char *iso_duration(struct fl_arena *a, long s)
{
    if (s % 3600 == 0) {
        return fl_sprintf(a, "PT%ldH", s / 3600);
    }
    if (s % 60 == 0) {
        return fl_sprintf(a, "PT%ldM", s / 60);
    }
    return fl_sprintf(a, "PT%ldS", s);
}

/*
 * spec: getConfig.  `warehouse` names the catalog; the response points
 * clients at it through the `prefix` override.
 */
json_t *srv_h_config(struct srv_req *req, struct fl_err *err)
{
    const char        *wh = srv_req_query(req, "warehouse", err);
    struct cat_catalog c;
    json_t            *cfg;
    long               life;

    if (fl_err_isset(err)) {
        return NULL;
    }
    if (wh == NULL || wh[0] == '\0') {
        FL_ERR(err, 400, "BadRequestException", "Please specify a warehouse");
        return NULL;
    }
    if (!cat_warehouse_get(&req->cx, wh, &c, err)) {
        return NULL;
    }
    cfg = json_pack("{sO s{ss ss} so}",
                    "defaults", c.properties,
                    "overrides", "prefix", c.name,
                    "namespace-separator", "%1F",
                    "endpoints", endpoints());
    life = req->srv->cfg->idempotency_lifetime_s;
    if (life > 0) {
        json_object_set_new(cfg, "idempotency-key-lifetime",
                            json_string(iso_duration(req->a, life)));
    }
    return cfg;
}

/* pageSize: absent is 0 (everything); else 1.. capped at CAT_MAX_PAGE. */
bool srv_page_size(struct srv_req *req, int *out, struct fl_err *err)
{
    const char *s = srv_req_query(req, "pageSize", err);
    int64_t     n;

    *out = 0;
    if (s == NULL) {
        return !fl_err_isset(err);
    }
    if (!fl_parse_i64(s, 1, INT32_MAX, &n)) {
        return FL_ERR(err, 400, "BadRequestException",
                      "Invalid page size: pageSize must be a positive "
                      "integer");
    }
    *out = n > CAT_MAX_PAGE ? CAT_MAX_PAGE : (int)n;
    return true;
}

/*
 * A table-like target named by the query: `namespace` (levels joined by
 * 0x1F) and the table under `table_key`; an empty value is an absent one.
 */
bool srv_query_target(struct srv_req *req, const char *table_key,
                      const char ***ns, int *nns, const char **table,
                      struct fl_err *err)
{
    const char *nsq = srv_req_query(req, "namespace", err);

    *ns = NULL;
    *nns = 0;
    *table = srv_req_query(req, table_key, err);
    if (fl_err_isset(err)) {
        return false;
    }
    if (*table != NULL && (*table)[0] == '\0') {
        *table = NULL;
    }
    if (nsq != NULL && nsq[0] != '\0') {
        *ns = srv_parent_levels(req, nsq, nns);
    }
    return true;
}

/* Split a decoded `parent` query value on 0x1F into levels. */
const char **srv_parent_levels(struct srv_req *req, const char *parent,
                                       int *n)
{
    const char **lv = fl_alloc(req->a, sizeof(char *) * (strlen(parent) + 2));
    char        *p = fl_strdup(req->a, parent);

    *n = 0;
    for (;;) {
        char *sep = strchr(p, 0x1f);

        lv[(*n)++] = p;
        if (sep == NULL) {
            break;
        }
        *sep = '\0';
        p = sep + 1;
    }
    lv[*n] = NULL;
    return lv;
}

/*
 * spec: listNamespaces.  Paginated by name when pageSize is given;
 * next-page-token is null on the last page.
 */
json_t *srv_h_ns_list(struct srv_req *req, struct fl_err *err)
{
    const char        *parent = srv_req_query(req, "parent", err);
    const char        *token = NULL;
    const char       **lv = NULL;
    int                nlv = 0;
    int                size;
    struct cat_ns_page page;
    json_t            *arr;
    int                i;

    if (fl_err_isset(err) || !srv_page_size(req, &size, err)) {
        return NULL;
    }
    token = srv_req_query(req, "pageToken", err);
    if (fl_err_isset(err)) {
        return NULL;
    }
    if (parent != NULL && parent[0] != '\0') {
        lv = srv_parent_levels(req, parent, &nlv);
    }
    if (!cat_ns_list(&req->cx, srv_req_param(req, "prefix"), lv, nlv, token,
                     size, &page, err)) {
        return NULL;
    }
    arr = json_array();
    for (i = 0; i < page.n; i++) {
        json_array_append_new(arr, ns_json(page.items[i].levels,
                                           page.items[i].nlevels));
    }
    return json_pack("{so so}", "namespaces", arr, "next-page-token",
                     page.next_token ? json_string(page.next_token)
                                     : json_null());
}

/* Decode a JSON array of strings into a NULL-terminated arena array. */
const char **srv_strings(struct srv_req *req, json_t *arr, int *n,
                         const char *what, struct fl_err *err)
{
    const char **out = fl_alloc(req->a, sizeof(char *) *
                                        (json_array_size(arr) + 1));
    size_t       i;
    json_t      *v;

    json_array_foreach(arr, i, v) {
        if (!json_is_string(v)) {
            FL_ERR(err, 400, "BadRequestException",
                   "every element of \"%s\" must be a string", what);
            return NULL;
        }
        out[i] = json_string_value(v);
    }
    *n = (int)json_array_size(arr);
    return out;
}

/* spec: createNamespace -> 200 {namespace, properties} */
json_t *srv_h_ns_create(struct srv_req *req, struct fl_err *err)
{
    json_t       *body = srv_req_body(req, err);
    json_t       *arr;
    json_t       *props = NULL;
    const char  **lv;
    int           n;
    struct cat_ns ns;

    if (body == NULL || !fl_json_arr(body, "namespace", true, &arr, err) ||
        !fl_json_obj(body, "properties", false, &props, err) ||
        (lv = srv_strings(req, arr, &n, "namespace", err)) == NULL) {
        return NULL;
    }
    if (props == NULL) {
        props = fl_arena_own_json(req->a, json_object());
    }
    if (!cat_ns_create(&req->cx, srv_req_param(req, "prefix"), lv, n, props,
                       &ns, err)) {
        return NULL;
    }
    return json_pack("{so sO}", "namespace", ns_json(lv, n),
                     "properties", ns.properties);
}

/* spec: loadNamespaceMetadata -> 200 {namespace, properties} */
json_t *srv_h_ns_load(struct srv_req *req, struct fl_err *err)
{
    int                n;
    const char *const *lv = srv_req_ns(req, &n);
    struct cat_ns      ns;

    if (!cat_ns_get(&req->cx, srv_req_param(req, "prefix"), lv, n, &ns,
                    err)) {
        return NULL;
    }
    return json_pack("{so sO}", "namespace", ns_json(lv, n),
                     "properties", ns.properties);
}

/* spec: namespaceExists -> 204, or 404 */
json_t *srv_h_ns_exists(struct srv_req *req, struct fl_err *err)
{
    int                n;
    const char *const *lv = srv_req_ns(req, &n);
    struct cat_ns      ns;

    if (cat_ns_get(&req->cx, srv_req_param(req, "prefix"), lv, n, &ns,
                   err)) {
        req->status = 204;
    }
    return NULL;
}

/* spec: dropNamespace -> 204; 404; 409 NamespaceNotEmptyException */
json_t *srv_h_ns_drop(struct srv_req *req, struct fl_err *err)
{
    int                n;
    const char *const *lv = srv_req_ns(req, &n);

    if (cat_ns_drop(&req->cx, srv_req_param(req, "prefix"), lv, n, err)) {
        req->status = 204;
    }
    return NULL;
}

/*
 * spec: updateProperties -> 200 {updated, removed, missing}; 422 when a
 * key is both set and removed.
 */
json_t *srv_h_ns_update(struct srv_req *req, struct fl_err *err)
{
    json_t               *body = srv_req_body(req, err);
    json_t               *updates = NULL;
    json_t               *removals = NULL;
    int                   n;
    int                   nrem;
    const char *const    *lv = srv_req_ns(req, &n);
    struct cat_ns_changes ch;

    if (body == NULL ||
        !fl_json_obj(body, "updates", false, &updates, err) ||
        !fl_json_arr(body, "removals", false, &removals, err) ||
        (removals != NULL &&
         srv_strings(req, removals, &nrem, "removals", err) == NULL)) {
        return NULL;
    }
    if (updates == NULL) {
        updates = fl_arena_own_json(req->a, json_object());
    }
    if (removals == NULL) {
        removals = fl_arena_own_json(req->a, json_array());
    }
    if (!cat_ns_update(&req->cx, srv_req_param(req, "prefix"), lv, n,
                       updates, removals, &ch, err)) {
        return NULL;
    }
    return json_pack("{sO sO sO}", "updated", ch.updated,
                     "removed", ch.removed, "missing", ch.missing);
}
