/*
 * srv_route.c
 *
 * Route matching and path decoding.  The route table itself lives in
 * srv_routes.c; here a raw (still percent-encoded) request path is matched
 * against each template segment by segment, and the captured segments are
 * decoded.  A {namespace} segment is split on the 0x1F separator *before*
 * decoding, so an encoded separator inside a level cannot be confused with
 * one between levels (spec: path parameter `namespace`).
 *
 * Decoding follows the Iceberg reference server: %XX escapes, and '+' as a
 * space in namespace, table and view names (the Java client form-encodes
 * them).  Decoded names may not contain NUL or invalid UTF-8.
 */
#include "server/server.h"

#include <pthread.h>
#include <string.h>
#include <strings.h>

#define SRV_MAX_SEGMENTS 16

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/*
 * Percent-decode `n` bytes of `s` into a new arena string.  Errors (400
 * BadRequestException): a malformed escape, an encoded NUL, invalid UTF-8.
 */
char *srv_url_decode(struct fl_arena *a, const char *s, size_t n,
                     bool plus_is_space, struct fl_err *err)
{
    char  *out = fl_alloc(a, n + 1);
    size_t i;
    size_t j = 0;

    for (i = 0; i < n; i++) {
        if (s[i] == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;

            if (hi < 0 || lo < 0) {
                FL_ERR(err, 400, "BadRequestException",
                       "malformed percent-encoding in request path");
                return NULL;
            }
            out[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (s[i] == '+' && plus_is_space) {
            out[j++] = ' ';
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    if (memchr(out, '\0', j) != NULL || !fl_utf8_valid(out, j)) {
        FL_ERR(err, 400, "BadRequestException",
               "request path holds a NUL byte or invalid UTF-8");
        return NULL;
    }
    return out;
}

/*
 * Split a raw namespace segment on "%1F" (either case) and decode each
 * level.  *levels is a NULL-terminated arena array of *n strings.
 */
bool srv_ns_split(struct fl_arena *a, const char *raw, const char ***levels,
                  int *n, struct fl_err *err)
{
    const char  *p = raw;
    const char **out;
    int          count = 1;
    int          i = 0;

    for (p = raw; (p = strstr(p, "%")) != NULL; p++) {
        if (strncasecmp(p, "%1f", 3) == 0) {
            count++;
        }
    }
    out = fl_alloc(a, sizeof(char *) * (size_t)(count + 1));
    p = raw;
    for (;;) {
        const char *sep = p;
        size_t      len;

        while ((sep = strchr(sep, '%')) != NULL &&
               strncasecmp(sep, "%1f", 3) != 0) {
            sep++;
        }
        len = sep ? (size_t)(sep - p) : strlen(p);
        out[i] = srv_url_decode(a, p, len, true, err);
        if (out[i] == NULL) {
            return false;
        }
        i++;
        if (sep == NULL) {
            break;
        }
        p = sep + 3;
    }
    out[i] = NULL;
    *levels = out;
    *n = i;
    return true;
}

/* Split a raw path into segments, in place in an arena copy. */
static int split(struct fl_arena *a, const char *path, char **seg)
{
    char *p = fl_strdup(a, path);
    int   n = 0;

    if (*p == '/') {
        p++;
    }
    while (n < SRV_MAX_SEGMENTS) {
        char *slash = strchr(p, '/');

        seg[n++] = p;
        if (slash == NULL) {
            return n;
        }
        *slash = '\0';
        p = slash + 1;
    }
    return -1;
}

/* Route templates split into segments once, at first use. */
struct tmpl {
    int   n;
    char *seg[SRV_MAX_SEGMENTS];
};

static struct tmpl    *tmpls;
static pthread_once_t  tmpls_once = PTHREAD_ONCE_INIT;

static void tmpls_build(void)
{
    const struct srv_route *routes;
    size_t                  n;
    size_t                  i;
    struct fl_arena        *a = fl_arena_new(0);

    routes = srv_routes(&n);
    tmpls = fl_xcalloc(n, sizeof(*tmpls));
    for (i = 0; i < n; i++) {
        char *seg[SRV_MAX_SEGMENTS];
        int   k;

        tmpls[i].n = split(a, routes[i].path, seg);
        fl_assert(tmpls[i].n > 0);
        for (k = 0; k < tmpls[i].n; k++) {
            tmpls[i].seg[k] = fl_xstrdup(seg[k]);
        }
    }
    fl_arena_free(a);
}

static bool tmpl_match(const struct tmpl *t, char **seg, int nseg)
{
    int i;

    if (t->n != nseg) {
        return false;
    }
    for (i = 0; i < nseg; i++) {
        if (t->seg[i][0] == '{' ? seg[i][0] == '\0'
                                : strcmp(t->seg[i], seg[i]) != 0) {
            return false;   /* literals equal; parameters non-empty */
        }
    }
    return true;
}

static bool capture(struct srv_match *m, char **seg, char *const *tseg,
                    int n, struct fl_arena *a, struct fl_err *err)
{
    int i;

    m->nparams = 0;
    for (i = 0; i < n; i++) {
        struct srv_param *p;
        size_t            len = strlen(tseg[i]);
        const char       *name;

        if (tseg[i][0] != '{') {
            continue;
        }
        fl_assert(m->nparams < SRV_MAX_PARAMS);
        p = &m->params[m->nparams++];
        name = fl_strndup(a, tseg[i] + 1, len - 2);
        p->name = name;
        if (strcmp(name, "namespace") == 0) {
            if (!srv_ns_split(a, seg[i], &p->levels, &p->nlevels, err)) {
                return false;
            }
            p->value = p->levels[0];
        } else {
            bool plus = strcmp(name, "prefix") != 0 &&
                        strcmp(name, "catalogName") != 0;

            p->value = srv_url_decode(a, seg[i], strlen(seg[i]), plus, err);
            if (p->value == NULL) {
                return false;
            }
        }
    }
    return true;
}

/*
 * Find the route for `method` and raw `path`.  On success m->route is set
 * and the parameters are decoded.  Errors: 404 NotFoundException when no
 * template matches, 405 MethodNotAllowedException (m->allow lists the
 * methods) when one matches with another method, 400 for bad encodings.
 */
bool srv_route_match(const char *method, const char *path,
                     struct fl_arena *a, struct srv_match *m,
                     struct fl_err *err)
{
    char                  **seg = fl_alloc(a, sizeof(char *) * SRV_MAX_SEGMENTS);
    const struct srv_route *routes;
    size_t                  n;
    size_t                  i;
    int                     nseg = split(a, path, seg);
    struct fl_buf           allow;

    memset(m, 0, sizeof(*m));
    pthread_once(&tmpls_once, tmpls_build);
    fl_buf_init(&allow, a, 256);
    routes = srv_routes(&n);
    for (i = 0; nseg > 0 && i < n; i++) {
        if (!tmpl_match(&tmpls[i], seg, nseg)) {
            continue;
        }
        if (strcmp(routes[i].method, method) == 0) {
            m->route = &routes[i];
            return capture(m, seg, tmpls[i].seg, nseg, a, err);
        }
        if (allow.len == 0 || strstr(allow.p, routes[i].method) == NULL) {
            fl_buf_printf(&allow, "%s%s", allow.len ? ", " : "",
                          routes[i].method);
        }
    }
    if (allow.len > 0) {
        m->allow = allow.p;
        return FL_ERR(err, 405, "MethodNotAllowedException",
                      "method %s is not allowed here; allowed: %s", method,
                      allow.p);
    }
    return FL_ERR(err, 404, "NotFoundException", "no route for %s %.150s",
                  method, path);
}
