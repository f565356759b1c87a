/*
 * srv_http.c
 *
 * libmicrohttpd glue and the request lifecycle.  MHD runs its own thread pool
 * (epoll); each request gets an arena on the first access-handler call, kept
 * in MHD's per-request pointer and freed when MHD reports the request
 * complete, which also returns its database connection.  Bodies are read into
 * the arena up to server.max_body_bytes (413 beyond).  Then: realm, route,
 * handler, one rendering of the response or the error, one access log line.
 *
 * Paths are kept percent-encoded (an identity unescape callback), because
 * the route layer must split namespaces on %1F before decoding.
 *
 * Not here: what the handlers do, the route table (srv_routes.c).
 */
#include "server/srv_int.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#define RID_MAX 64

static size_t identity_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

/* ------------------------------------------------------- request helpers */

/* A decoded path parameter of the matched route, or NULL. */
const char *srv_req_param(struct srv_req *req, const char *name)
{
    int i;

    for (i = 0; i < req->m.nparams; i++) {
        if (strcmp(req->m.params[i].name, name) == 0) {
            return req->m.params[i].value;
        }
    }
    return NULL;
}

/* The decoded levels of the {namespace} parameter (NULL-terminated). */
const char *const *srv_req_ns(struct srv_req *req, int *n)
{
    int i;

    for (i = 0; i < req->m.nparams; i++) {
        if (strcmp(req->m.params[i].name, "namespace") == 0) {
            *n = req->m.params[i].nlevels;
            return req->m.params[i].levels;
        }
    }
    *n = 0;
    return NULL;
}

/*
 * A decoded query parameter, or NULL when absent.  Errors: 400 for a
 * malformed escape, NUL or invalid UTF-8.
 */
const char *srv_req_query(struct srv_req *req, const char *name,
                          struct fl_err *err)
{
    const char *raw = MHD_lookup_connection_value(req->conn,
                                                  MHD_GET_ARGUMENT_KIND, name);

    if (raw == NULL) {
        return NULL;
    }
    return srv_url_decode(req->a, raw, strlen(raw), true, err);
}

/* A request header (case-insensitive name), or NULL. */
const char *srv_req_header(struct srv_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

/* Add a response header; both strings must live as long as the request. */
void srv_req_header_add(struct srv_req *req, const char *name,
                        const char *value)
{
    struct srv_hdr *h = fl_alloc(req->a, sizeof(*h));

    h->name = name;
    h->value = value;
    h->next = req->headers;
    req->headers = h;
}

/*
 * The request body parsed as a JSON object.  Returns a borrowed reference
 * owned by the request arena.  Errors: 400 BadRequestException for a
 * missing, malformed or non-object body, or duplicate keys.
 */
json_t *srv_req_body(struct srv_req *req, struct fl_err *err)
{
    json_error_t je;
    json_t      *v;

    if (req->json != NULL) {
        return req->json;
    }
    if (req->body.len == 0) {
        FL_ERR(err, 400, "BadRequestException", "a JSON request body is "
               "required");
        return NULL;
    }
    v = json_loadb(req->body.p, req->body.len, JSON_REJECT_DUPLICATES, &je);
    if (v == NULL) {
        FL_ERR(err, 400, "BadRequestException",
               "malformed JSON request body: %s (line %d, column %d)",
               je.text, je.line, je.column);
        return NULL;
    }
    fl_arena_own_json(req->a, v);
    if (!json_is_object(v)) {
        FL_ERR(err, 400, "BadRequestException",
               "the request body must be a JSON object");
        return NULL;
    }
    req->json = v;
    return v;
}

/* -------------------------------------------------------------- lifecycle */

static bool rid_ok(const char *s)
{
    size_t n = strlen(s);
    size_t i;

    if (n == 0 || n >= RID_MAX) {
        return false;
    }
    for (i = 0; i < n; i++) {
        if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                   "0123456789-_.:", s[i]) == NULL) {
            return false;
        }
    }
    return true;
}

static struct srv_req *req_new(struct srv *s, struct MHD_Connection *conn,
                               const char *url, const char *method)
{
    struct fl_arena *a = fl_arena_new(16384);
    struct srv_req  *req = fl_alloc(a, sizeof(*req));
    const char      *rid;

    req->srv = s;
    req->a = a;
    req->conn = conn;
    req->method = fl_strdup(a, method);
    req->path = fl_strdup(a, url);
    req->status = 200;
    req->t0_us = fl_mono_us();
    fl_buf_init(&req->body, a, (size_t)s->cfg->max_body_bytes);
    rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (rid != NULL && rid_ok(rid)) {
        snprintf(req->rid, sizeof(req->rid), "%s", rid);
    } else {
        fl_uuid_v4(req->rid);
    }
    req->cx.a = a;
    req->cx.pool = s->pool;
    req->cx.settings = &s->settings;
    atomic_fetch_add(&s->inflight, 1);
    return req;
}

static bool realm_resolve(struct srv_req *req, struct fl_err *err)
{
    const struct cat_settings *st = &req->srv->settings;
    const char                *h = srv_req_header(req, "Polaris-Realm");
    int                        i;

    if (h == NULL || h[0] == '\0') {
        req->cx.realm = st->realms[0];
        return true;
    }
    for (i = 0; i < st->nrealms; i++) {
        if (strcmp(h, st->realms[i]) == 0) {
            req->cx.realm = st->realms[i];
            return true;
        }
    }
    return FL_ERR(err, 404, "MissingOrInvalidRealm",
                  "Missing or invalid realm");
}

static void access_log(struct srv_req *req, const struct fl_err *err,
                       size_t bytes)
{
    json_t *f;

    if (fl_log_level < FL_LOG_INFO) {
        return;
    }
    f = json_pack("{ss ss ss si sI sf}",
                  "msg", "request",
                  "method", req->method,
                  "route", req->m.route ? req->m.route->path : "-",
                  "status", req->status,
                  "bytes", (json_int_t)bytes,
                  "ms", (double)(fl_mono_us() - req->t0_us) / 1000.0);
    /* NB: json_string() refuses invalid UTF-8; such a path is left out */
    json_object_set_new(f, "path", json_string(req->path));
    if (err->status != 0) {
        json_object_set_new(f, "error", json_string(err->type));
        if (err->status >= 500 || fl_log_level >= FL_LOG_DEBUG) {
            json_object_set_new(f, "detail", json_string(err->log));
            json_object_set_new(f, "at", json_sprintf("%s:%d", err->file,
                                                      err->line));
        }
    }
    if (req->cx.realm != NULL) {
        json_object_set_new(f, "realm", json_string(req->cx.realm));
    }
    fl_log_json(FL_LOG_INFO, f);
    json_decref(f);
}

static enum MHD_Result respond(struct srv_req *req, json_t *body,
                               struct fl_err *err)
{
    struct MHD_Response *r;
    struct srv_hdr      *h;
    char                *text = NULL;
    size_t               len = 0;
    enum MHD_Result      ret;

    if (err->status != 0) {
        req->status = err->status;
        text = srv_error_body(err);
    } else if (body != NULL) {
        text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    }
    json_decref(body);
    len = text ? strlen(text) : 0;
    if (text == NULL && err->status == 0 && req->raw != NULL) {
        /* a body serialized by the handler (loadTable's cached bytes).
         * NB: PERSISTENT is safe: the arena holding it is freed only when
         * MHD reports the request completed, after the last byte is sent */
        len = req->raw_len;
        r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)req->raw,
                                            MHD_RESPMEM_PERSISTENT);
        text = (char *)(uintptr_t)req->raw;
    } else {
        r = MHD_create_response_from_buffer(len, text,
                                            MHD_RESPMEM_MUST_FREE);
    }
    if (text != NULL) {
        MHD_add_response_header(r, "Content-Type", "application/json");
    }
    MHD_add_response_header(r, "X-Request-Id", req->rid);
    if (err->status == 405 && req->m.allow != NULL) {
        MHD_add_response_header(r, "Allow", req->m.allow);
    }
    if (err->status == 503) {
        MHD_add_response_header(r, "Retry-After", "1");
    }
    if (atomic_load(&req->srv->draining)) {
        MHD_add_response_header(r, "Connection", "close");
    }
    for (h = req->headers; h != NULL; h = h->next) {
        MHD_add_response_header(r, h->name, h->value);
    }
    ret = MHD_queue_response(req->conn, (unsigned)req->status, r);
    MHD_destroy_response(r);
    access_log(req, err, len);
    req->done = true;
    return ret;
}

static const char *header_value(struct srv_req *req, const char *name)
{
    struct srv_hdr *h;

    for (h = req->headers; h != NULL; h = h->next) {
        if (strcasecmp(h->name, name) == 0) {
            return h->value;
        }
    }
    return NULL;
}

/* A fingerprint of the request: a key reused for another one is refused. */
static void request_hash(struct srv_req *req, char out[65])
{
    struct fl_buf b;

    fl_buf_init(&b, req->a, 0);
    fl_buf_printf(&b, "%s\n%s\n", req->method, req->path);
    fl_buf_append(&b, req->body.p ? req->body.p : "", req->body.len);
    fl_sha256_hex(b.p, b.len, out);
}

/* Commit routes report an unknown outcome as the spec's commit responses
 * require; other mutations as a plain 503 (a retry with the key is safe). */
static bool commit_route(const char *op)
{
    return strcmp(op, "updateTable") == 0 ||
           strcmp(op, "commitTransaction") == 0 ||
           strcmp(op, "replaceView") == 0;
}

/*
 * Run the handler inside the request's idempotency transaction: replay a
 * finalized key, or run and record the outcome (2xx and 4xx; 5xx are
 * rolled back and never recorded).  Returns like a handler.
 */
static json_t *run_idempotent(struct srv_req *req, const char *key,
                              struct fl_err *err)
{
    struct cat_idem id;
    struct fl_err   e;
    json_t         *body;
    char            hash[65];
    const char     *text = NULL;
    char           *t;

    memset(&id, 0, sizeof(id));
    id.key = key;
    request_hash(req, hash);
    if (!cat_idem_begin(&req->cx, &id, req->m.route->op, hash,
                        req->srv->cfg->idempotency_lifetime_s * 1000, err)) {
        return NULL;
    }
    if (id.replay) {
        req->status = id.status;
        req->raw = id.body;
        req->raw_len = id.body ? strlen(id.body) : 0;
        if (id.etag != NULL) {
            srv_req_header_add(req, "ETag", id.etag);
        }
        srv_req_header_add(req, "Idempotent-Replayed", "true");
        return NULL;
    }
    body = req->m.route->fn(req, err);
    if (err->status >= 500) {
        json_decref(body);
        cat_idem_abort(&req->cx);
        return NULL;
    }
    if (fl_err_isset(err)) {
        t = srv_error_body(err);
        text = fl_strdup(req->a, t);
        free(t);
    } else if (body != NULL) {
        t = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
        text = fl_strdup(req->a, t);
        free(t);
    } else if (req->raw != NULL) {
        text = fl_strndup(req->a, req->raw, req->raw_len);
    }
    json_decref(body);
    fl_err_clear(&e);
    if (!cat_idem_finish(&req->cx, &id, !fl_err_isset(err),
                         err->status ? err->status : req->status, text,
                         header_value(req, "ETag"), &e)) {
        fl_err_clear(err);
        *err = e;
        if (err->status == 503 && commit_route(req->m.route->op)) {
            fl_err_retype(err, 500, "CommitStateUnknownException",
                          "the commit outcome is unknown: %s", e.msg);
        }
        return NULL;
    }
    if (!fl_err_isset(err) && text != NULL) {
        req->raw = text;
        req->raw_len = strlen(text);
    }
    return NULL;
}

static json_t *run(struct srv_req *req, struct fl_err *err)
{
    const char *key = srv_req_header(req, "Idempotency-Key");
    json_t     *body;

    if (key != NULL && req->m.route->idempotent &&
        req->srv->cfg->idempotency_lifetime_s > 0) {
        return run_idempotent(req, key, err);
    }
    body = req->m.route->fn(req, err);
    if (err->status != 0) {
        json_decref(body);
        body = NULL;
    }
    return body;
}

/*
 * A change that may alter authorization decisions (grants, roles,
 * principals, drops, moves) drops this server's cached decisions before
 * the client hears of it; other servers follow on the notification.
 */
static void invalidate(struct srv_req *req, const struct fl_err *err)
{
    const char *op;

    if (req->m.route == NULL || err->status != 0 ||
        strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0) {
        return;
    }
    op = req->m.route->op;
    if (strncmp(req->m.route->path, "/api/management/", 16) == 0 ||
        strcmp(req->method, "DELETE") == 0 || strstr(op, "rename") != NULL ||
        strstr(op, "egister") != NULL) {
        acc_cache_invalidate();
    }
}

/*
 * The audit log: every denied request (401, 403) and every mutation, with
 * who, what and the outcome.  Reads and probes are not recorded.
 */
static void audit(struct srv_req *req, const struct fl_err *err)
{
    struct acc_audit e;
    int              status = err->status ? err->status : req->status;
    bool             denied = status == 401 || status == 403;
    bool             mutation = strcmp(req->method, "GET") != 0 &&
                                strcmp(req->method, "HEAD") != 0;

    if (req->m.route == NULL || req->cx.realm == NULL ||
        (!denied && (!mutation || req->m.route->open))) {
        return;
    }
    memset(&e, 0, sizeof(e));
    e.principal = req->authed ? req->who.name : NULL;
    e.operation = req->m.route->op;
    e.target = req->path;
    e.status = status;
    e.outcome = denied ? "denied" : status < 400 ? "allowed" : "failed";
    e.request_id = req->rid;
    acc_audit(&req->cx, &e);
}

static enum MHD_Result dispatch(struct srv_req *req)
{
    struct fl_err err;
    json_t       *body = NULL;

    fl_err_clear(&err);
    fl_log_context(req->rid, NULL);
    if (req->body_too_big) {
        FL_ERR(&err, 413, "BadRequestException",
               "the request body is larger than %ld bytes",
               req->srv->cfg->max_body_bytes);
    } else if (realm_resolve(req, &err) &&
               srv_route_match(req->method, req->path, req->a, &req->m,
                               &err)) {
        fl_log_action(req->m.route->op);
        if (req->m.route->open ||
            (srv_authenticate(req, &err) && req->m.route->authz(req, &err))) {
            body = run(req, &err);
        }
    }
    if (err.status >= 500) {
        fl_log(FL_LOG_ERROR, "%s: %s (%s) at %s:%d", err.type, err.msg,
               err.log, err.file ? err.file : "?", err.line);
    }
    invalidate(req, &err);
    audit(req, &err);
    return respond(req, body, &err);
}

static bool too_big(struct MHD_Connection *conn, long max)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 "Content-Length");
    int64_t     n;

    return cl != NULL && fl_parse_i64(cl, 0, INT64_MAX, &n) && n > max;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version,
                                  const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct srv     *s = cls;
    struct srv_req *req = *con_cls;

    (void)version;
    if (req == NULL) {
        req = req_new(s, conn, url, method);
        *con_cls = req;
        if (too_big(conn, s->cfg->max_body_bytes)) {
            /* answer now; MHD closes the connection instead of reading */
            req->body_too_big = true;
            return dispatch(req);
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!req->body_too_big &&
            !fl_buf_append(&req->body, upload_data, *upload_data_size)) {
            req->body_too_big = true;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->done) {
        return MHD_YES;
    }
    return dispatch(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **con_cls, enum MHD_RequestTerminationCode tc)
{
    struct srv     *s = cls;
    struct srv_req *req = *con_cls;

    (void)conn;
    (void)tc;
    if (req == NULL) {
        return;
    }
    *con_cls = NULL;
    fl_log_context(NULL, NULL);
    fl_arena_free(req->a);
    atomic_fetch_sub(&s->inflight, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n') {
        msg[--n] = '\0';
    }
    fl_log(FL_LOG_WARN, "http: %s", msg);
}

static bool resolve_addr(const char *host, long port,
                         struct sockaddr_storage *ss, bool *v6,
                         struct fl_err *err)
{
    struct addrinfo  hints;
    struct addrinfo *res = NULL;
    char             p[16];
    int              rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    snprintf(p, sizeof(p), "%ld", port);
    rc = getaddrinfo(host, p, &hints, &res);
    if (rc != 0 || res == NULL) {
        return FL_ERR(err, 500, "ConfigException",
                      "cannot resolve listen.address \"%s\": %s", host,
                      gai_strerror(rc));
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *v6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return true;
}

static int listen_port(struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *info;
    struct sockaddr_storage     ss;
    socklen_t                   len = sizeof(ss);

    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_LISTEN_FD);
    if (info == NULL ||
        getsockname(info->listen_fd, (struct sockaddr *)&ss, &len) != 0) {
        return -1;
    }
    if (ss.ss_family == AF_INET6) {
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/*
 * Start serving on the configured address with the configured thread pool.
 * Sets s->port to the port actually bound (listen.port may be 0).
 * Errors: 500 when the address cannot be bound.
 */
bool srv_start(struct srv *s, struct fl_err *err)
{
    struct sockaddr_storage ss;
    bool                    v6 = false;
    unsigned                flags = MHD_USE_INTERNAL_POLLING_THREAD |
                                    MHD_USE_EPOLL | MHD_USE_ITC |
                                    MHD_USE_ERROR_LOG;
    struct MHD_Daemon      *d;

    if (!resolve_addr(s->cfg->listen_address, s->cfg->listen_port, &ss, &v6,
                      err)) {
        return false;
    }
    if (v6) {
        flags |= MHD_USE_IPv6;
    }
    d = MHD_start_daemon(flags, (uint16_t)s->cfg->listen_port, NULL, NULL,
                         on_request, s,
                         MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                         MHD_OPTION_THREAD_POOL_SIZE,
                         (unsigned)s->cfg->threads,
                         MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned)s->cfg->max_connections,
                         MHD_OPTION_CONNECTION_TIMEOUT,
                         (unsigned)s->cfg->connection_timeout_s,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                         MHD_OPTION_UNESCAPE_CALLBACK, identity_unescape,
                         NULL,
                         /* NB: no SO_REUSEPORT: a second server on a port
                          * in use must fail, not share it silently */
                         MHD_OPTION_END);
    if (d == NULL) {
        return FL_ERR(err, 500, "InternalServerError",
                      "could not listen on %s port %ld (address in use?)",
                      s->cfg->listen_address, s->cfg->listen_port);
    }
    s->mhd = d;
    s->port = listen_port(d);
    return true;
}

/*
 * Stop accepting connections, let requests in flight finish (up to 30 s),
 * then stop the daemon.
 */
void srv_stop(struct srv *s)
{
    struct MHD_Daemon *d = s->mhd;
    int64_t            deadline = fl_mono_us() + 30 * 1000000LL;
    MHD_socket         fd;

    if (d == NULL) {
        return;
    }
    atomic_store(&s->draining, true);
    fd = MHD_quiesce_daemon(d);
    while (atomic_load(&s->inflight) > 0 && fl_mono_us() < deadline) {
        struct timespec ts = {0, 20 * 1000000L};

        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(d);
    if (fd != MHD_INVALID_SOCKET) {
        close(fd);
    }
    s->mhd = NULL;
}
