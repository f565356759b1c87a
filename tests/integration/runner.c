/*
 * runner.c
 *
 * The integration-test runner: reads data-driven `.case` files, sends each
 * exchange's request to a running floe with libcurl and checks the response
 * against the expectation (status, headers, a JSON subset or exact text).
 * It prints one TAP-like line per case ("ok", "skip", "not ok ... reason"),
 * which tests/run.sh counts.  The case format is described in
 * tests/integration/README.md.
 *
 * With --record FILE it also appends one JSON line per exchange (request
 * path and query, response status, Content-Type and body) for
 * tests/integration/spec_check.py, which checks the responses against the
 * OpenAPI specs; the runner itself knows nothing about the specs.
 *
 * It is deliberately standalone: it links libcurl and jansson only and never
 * includes floe's headers, so it tests the server from the outside and keeps
 * working while the server's internals change.  It does not start servers or
 * databases (tests/integration/run.sh does that).  Test tooling is the one
 * place outside storage/ allowed to use libcurl.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <curl/curl.h>
#include <jansson.h>

#if defined(__GNUC__)
#define R_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define R_PRINTF(f, a)
#endif

#define MAX_BODY      (64u * 1024u * 1024u) /* response bodies we keep      */
#define SHOW_BODY     600                   /* actual body in failure lines */
#define SHOW_VALUE    200                   /* one JSON value in a message  */
#define SHOW_VERBOSE  4000                  /* body printed by --verbose    */
#define NO_OWNER      SIZE_MAX

/* ---------------------------------------------------------------- memory */

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (q == NULL) {
        fputs("runner: out of memory\n", stderr);
        abort();
    }
    return q;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = xrealloc(NULL, n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* A growable, always NUL-terminated byte buffer. */
struct buf {
    char   *p;
    size_t  len;
    size_t  cap;
};

static void buf_reserve(struct buf *b, size_t n)
{
    size_t cap;

    if (b->len + n + 1 <= b->cap) {
        return;
    }
    cap = b->cap ? b->cap : 64;
    while (cap < b->len + n + 1) {
        cap *= 2;
    }
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

static void buf_add(struct buf *b, const void *s, size_t n)
{
    buf_reserve(b, n);
    if (n > 0) {
        memcpy(b->p + b->len, s, n);
    }
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_adds(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void buf_addf(struct buf *b, const char *fmt, ...) R_PRINTF(2, 3);
static void buf_addf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int     n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static const char *buf_str(const struct buf *b)
{
    return b->p ? b->p : "";
}

static void buf_trunc(struct buf *b, size_t len)
{
    if (b->p != NULL && len < b->len) {
        b->len = len;
        b->p[len] = '\0';
    }
}

static void buf_free(struct buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/* Appends s[0..n) with control characters shown as spaces, cut at max. */
static void buf_add_shown(struct buf *b, const char *s, size_t n, size_t max)
{
    size_t i;

    for (i = 0; i < n && i < max; i++) {
        char c = s[i];

        buf_add(b, (unsigned char)c < 0x20 ? " " : &c, 1);
    }
    if (n > max) {
        buf_adds(b, "...");
    }
}

/* A list of owned strings. */
struct strs {
    char  **v;
    size_t  n;
    size_t  cap;
};

static void strs_push(struct strs *s, char *owned)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = owned;
}

static void strs_free(struct strs *s)
{
    size_t i;

    for (i = 0; i < s->n; i++) {
        free(s->v[i]);
    }
    free(s->v);
    memset(s, 0, sizeof(*s));
}

/* Name/value pairs: variables, and response headers. */
struct pair {
    char *name;
    char *value;
};

struct pairs {
    struct pair *v;
    size_t       n;
    size_t       cap;
};

static void pairs_add(struct pairs *ps, const char *name, size_t nlen,
                      const char *value, size_t vlen)
{
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 16;
        ps->v = xrealloc(ps->v, ps->cap * sizeof(*ps->v));
    }
    ps->v[ps->n].name = xstrndup(name, nlen);
    ps->v[ps->n].value = xstrndup(value, vlen);
    ps->n++;
}

static struct pair *pairs_find(const struct pairs *ps, const char *name,
                               size_t nlen)
{
    size_t i;

    for (i = 0; i < ps->n; i++) {
        if (strlen(ps->v[i].name) == nlen &&
            memcmp(ps->v[i].name, name, nlen) == 0) {
            return &ps->v[i];
        }
    }
    return NULL;
}

/* Sets a variable, replacing an earlier value. */
static void pairs_set(struct pairs *ps, const char *name, size_t nlen,
                      const char *value, size_t vlen)
{
    struct pair *p = pairs_find(ps, name, nlen);

    if (p == NULL) {
        pairs_add(ps, name, nlen, value, vlen);
        return;
    }
    free(p->value);
    p->value = xstrndup(value, vlen);
}

static void pairs_clear(struct pairs *ps)
{
    size_t i;

    for (i = 0; i < ps->n; i++) {
        free(ps->v[i].name);
        free(ps->v[i].value);
    }
    ps->n = 0;
}

static void pairs_free(struct pairs *ps)
{
    pairs_clear(ps);
    free(ps->v);
    memset(ps, 0, sizeof(*ps));
}

/* ------------------------------------------------------------ small text */

static bool is_blank(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (!isspace((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

/* Trims whitespace on both sides of s[0..*n); returns the new start. */
static const char *trim(const char *s, size_t *n)
{
    while (*n > 0 && isspace((unsigned char)s[*n - 1])) {
        (*n)--;
    }
    while (*n > 0 && isspace((unsigned char)*s)) {
        s++;
        (*n)--;
    }
    return s;
}

static bool is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

static bool is_uuid(const char *s)
{
    size_t i;

    if (strlen(s) != 36) {
        return false;
    }
    for (i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;

        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

static void uuid_new(char out[37])
{
    unsigned char b[16];

    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
        fprintf(stderr, "runner: getrandom: %s\n", strerror(errno));
        abort();
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
             b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/*
 * ${CASE}: the file's basename without extension and without a leading
 * "NNNN-", with every non-alphanumeric character replaced by '_'.
 */
static void case_name(const char *file, char *out, size_t outsz)
{
    const char *base = strrchr(file, '/');
    const char *dot;
    size_t      len;
    size_t      i;

    base = base ? base + 1 : file;
    dot = strrchr(base, '.');
    len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    for (i = 0; i < len && isdigit((unsigned char)base[i]); i++) {
        continue;
    }
    if (i > 0 && i + 1 < len && base[i] == '-') {
        base += i + 1;
        len -= i + 1;
    }
    for (i = 0; i < len && i + 1 < outsz; i++) {
        out[i] = isalnum((unsigned char)base[i]) ? base[i] : '_';
    }
    out[i] = '\0';
}

/* ------------------------------------------------------------- case file */

struct line {
    const char *p;
    size_t      len;        /* without the '\n' */
    int         no;         /* 1-based line number */
};

/* One request and its expectation, as written (variables unexpanded). */
struct exch {
    int          line;      /* line number of the request line */
    char        *request;   /* "METHOD target" */
    struct strs  req_h;     /* "Name: value" */
    char        *req_body;  /* NULL when the request has no body */
    char        *status;    /* expected status, e.g. "200" */
    struct strs  exp_h;     /* "Name: value" and "@capture NAME = path" */
    char        *exp_body;  /* NULL when the body is not checked */
};

struct casefile {
    struct buf   text;
    struct line *lines;
    size_t       n_lines;
    struct exch *ex;
    size_t       n_ex;
    struct strs  needs;     /* tags from "# needs: TAG" */
};

static bool line_is(const struct line *l, const char *s)
{
    size_t n = l->len;

    while (n > 0 && isspace((unsigned char)l->p[n - 1])) {
        n--;
    }
    return n == strlen(s) && memcmp(l->p, s, n) == 0;
}

static bool line_blank(const struct line *l)
{
    return is_blank(l->p, l->len);
}

static bool line_comment(const struct line *l)
{
    return l->len > 0 && l->p[0] == '#';
}

static char *line_dup(const struct line *l)
{
    size_t      n = l->len;
    const char *s = trim(l->p, &n);

    return xstrndup(s, n);
}

/* Text from the start of line lo to the end of line hi - 1, no final '\n'. */
static char *span_dup(const struct line *lines, size_t lo, size_t hi)
{
    const char *s = lines[lo].p;
    const char *e = lines[hi - 1].p + lines[hi - 1].len;

    return xstrndup(s, (size_t)(e - s));
}

static void split_lines(struct casefile *cf)
{
    const char *p = buf_str(&cf->text);
    const char *end = p + cf->text.len;
    size_t      cap = 0;
    int         no = 1;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t      len = nl ? (size_t)(nl - p) : (size_t)(end - p);

        if (cf->n_lines == cap) {
            cap = cap ? cap * 2 : 64;
            cf->lines = xrealloc(cf->lines, cap * sizeof(*cf->lines));
        }
        cf->lines[cf->n_lines].p = p;
        cf->lines[cf->n_lines].len = len;
        cf->lines[cf->n_lines].no = no++;
        cf->n_lines++;
        p += len + (nl ? 1 : 0);
    }
}

/* Collects the tags of every "# needs: a b, c" comment in the file. */
static void scan_needs(struct casefile *cf)
{
    size_t i;

    for (i = 0; i < cf->n_lines; i++) {
        const char *p = cf->lines[i].p;
        const char *end = p + cf->lines[i].len;

        if (!line_comment(&cf->lines[i])) {
            continue;
        }
        p++;
        while (p < end && isspace((unsigned char)*p)) {
            p++;
        }
        if ((size_t)(end - p) < 6 || memcmp(p, "needs:", 6) != 0) {
            continue;
        }
        p += 6;
        while (p < end) {
            const char *t;

            while (p < end && (isspace((unsigned char)*p) || *p == ',')) {
                p++;
            }
            t = p;
            while (p < end && !isspace((unsigned char)*p) && *p != ',') {
                p++;
            }
            if (p > t) {
                strs_push(&cf->needs, xstrndup(t, (size_t)(p - t)));
            }
        }
    }
}

/*
 * Reads header lines from *i until a blank line, "---" (when stop_at_sep) or
 * hi.  Comment lines are skipped; anything else must be "Name: value" or,
 * when allow_capture, "@capture ...".
 */
static bool parse_headers(const struct casefile *cf, size_t *i, size_t hi,
                          bool stop_at_sep, bool allow_capture,
                          struct strs *out, struct buf *why)
{
    const struct line *L = cf->lines;

    for (; *i < hi && !line_blank(&L[*i]); (*i)++) {
        const struct line *l = &L[*i];

        if (stop_at_sep && line_is(l, "---")) {
            break;
        }
        if (line_comment(l)) {
            continue;
        }
        if (allow_capture && l->len >= 8 && memcmp(l->p, "@capture", 8) == 0) {
            strs_push(out, line_dup(l));
            continue;
        }
        if (memchr(l->p, ':', l->len) == NULL ||
            isspace((unsigned char)l->p[0])) {
            buf_addf(why, "line %d: expected \"Name: value\", got \"%.*s\"",
                     l->no, (int)l->len, l->p);
            return false;
        }
        strs_push(out, line_dup(l));
    }
    return true;
}

/* Parses the request half of an exchange: from the request line to "---". */
static bool parse_request(const struct casefile *cf, size_t *i, size_t hi,
                          struct exch *e, struct buf *why)
{
    const struct line *L = cf->lines;
    size_t             body_lo;
    size_t             sep;

    e->line = L[*i].no;
    e->request = line_dup(&L[*i]);
    if (strchr(e->request, ' ') == NULL) {
        buf_addf(why, "line %d: expected \"METHOD /path\", got \"%s\"",
                 e->line, e->request);
        return false;
    }
    (*i)++;
    if (!parse_headers(cf, i, hi, true, false, &e->req_h, why)) {
        return false;
    }
    if (*i < hi && line_blank(&L[*i])) {
        (*i)++;
    }
    body_lo = *i;
    for (sep = body_lo; sep < hi && !line_is(&L[sep], "---"); sep++) {
        continue;
    }
    if (sep == hi) {
        buf_addf(why, "line %d: exchange has no \"---\" line", e->line);
        return false;
    }
    if (sep > body_lo) {
        e->req_body = span_dup(L, body_lo, sep);
    }
    *i = sep + 1;
    return true;
}

/* Parses the expectation half of an exchange: from after "---" to hi. */
static bool parse_expect(const struct casefile *cf, size_t *i, size_t hi,
                         struct exch *e, struct buf *why)
{
    const struct line *L = cf->lines;
    size_t             n;

    while (*i < hi && line_blank(&L[*i])) {
        (*i)++;
    }
    if (*i == hi) {
        buf_addf(why, "line %d: exchange has no expected status", e->line);
        return false;
    }
    e->status = line_dup(&L[*i]);
    (*i)++;
    if (!parse_headers(cf, i, hi, false, true, &e->exp_h, why)) {
        return false;
    }
    while (*i < hi && line_blank(&L[*i])) {
        (*i)++;
    }
    if (*i < hi) {
        e->exp_body = span_dup(L, *i, hi);
        n = strlen(e->exp_body);
        while (n > 0 && isspace((unsigned char)e->exp_body[n - 1])) {
            n--;
        }
        e->exp_body[n] = '\0';
    }
    return true;
}

static void exch_free(struct exch *e)
{
    free(e->request);
    strs_free(&e->req_h);
    free(e->req_body);
    free(e->status);
    strs_free(&e->exp_h);
    free(e->exp_body);
    memset(e, 0, sizeof(*e));
}

/* Parses lines [lo, hi) into one exchange; comment-only ranges are skipped. */
static bool parse_exchange(struct casefile *cf, size_t lo, size_t hi,
                           struct buf *why)
{
    struct exch e;
    size_t      i = lo;

    memset(&e, 0, sizeof(e));
    while (i < hi && (line_blank(&cf->lines[i]) ||
                      line_comment(&cf->lines[i]))) {
        i++;
    }
    if (i == hi) {
        return true;
    }
    if (!parse_request(cf, &i, hi, &e, why) ||
        !parse_expect(cf, &i, hi, &e, why)) {
        exch_free(&e);
        return false;
    }
    cf->ex = xrealloc(cf->ex, (cf->n_ex + 1) * sizeof(*cf->ex));
    cf->ex[cf->n_ex++] = e;
    return true;
}

static bool read_file(const char *path, struct buf *out, struct buf *why)
{
    FILE  *f = fopen(path, "rb");
    char   chunk[8192];
    size_t n;
    bool   ok;

    if (f == NULL) {
        buf_addf(why, "could not open: %s", strerror(errno));
        return false;
    }
    do {
        n = fread(chunk, 1, sizeof(chunk), f);
        buf_add(out, chunk, n);
    } while (n > 0);
    ok = !ferror(f);
    fclose(f);
    if (!ok) {
        buf_addf(why, "could not read: %s", strerror(errno));
        return false;
    }
    buf_add(out, "", 0);
    return true;
}

static bool case_load(const char *path, struct casefile *cf, struct buf *why)
{
    size_t lo = 0;
    size_t i;

    if (!read_file(path, &cf->text, why)) {
        return false;
    }
    split_lines(cf);
    scan_needs(cf);
    for (i = 0; i <= cf->n_lines; i++) {
        if (i < cf->n_lines && !line_is(&cf->lines[i], "====")) {
            continue;
        }
        if (!parse_exchange(cf, lo, i, why)) {
            return false;
        }
        lo = i + 1;
    }
    if (cf->n_ex == 0) {
        buf_adds(why, "case has no exchanges");
        return false;
    }
    return true;
}

static void case_free(struct casefile *cf)
{
    size_t i;

    for (i = 0; i < cf->n_ex; i++) {
        exch_free(&cf->ex[i]);
    }
    free(cf->ex);
    free(cf->lines);
    strs_free(&cf->needs);
    buf_free(&cf->text);
    memset(cf, 0, sizeof(*cf));
}

/* ------------------------------------------------------------- variables */

struct opts {
    const char   *url;          /* base URL, no trailing '/' */
    struct pairs  vars;         /* --var */
    const char  **skip;         /* --tag-skip, borrowed from argv */
    size_t        n_skip;
    const char  **hdr;          /* --header "Name: value", borrowed */
    size_t        n_hdr;
    bool          verbose;
    const char   *record_path;  /* --record, borrowed from argv */
    FILE         *record;       /* open when --record was given */
};

/* What one case run needs; vars starts as a copy of --var. */
struct rctx {
    const struct opts *o;
    CURL              *curl;
    const char        *file;
    struct pairs       vars;
    char               case_name[256];
    char               uuid[37];
};

static const char *var_get(const struct rctx *cx, const char *name, size_t n)
{
    const struct pair *p;

    if (n == 4 && memcmp(name, "CASE", 4) == 0) {
        return cx->case_name;
    }
    if (n == 4 && memcmp(name, "UUID", 4) == 0) {
        return cx->uuid;
    }
    if (n == 3 && memcmp(name, "URL", 3) == 0) {
        return cx->o->url;
    }
    p = pairs_find(&cx->vars, name, n);
    return p ? p->value : NULL;
}

/*
 * Expands every ${NAME} of s into out (which is reset first).  Returns false
 * and says why when a variable is undefined.  A '$' not followed by a
 * complete "{...}" is literal.
 */
static bool subst(const struct rctx *cx, const char *s, struct buf *out,
                  struct buf *why)
{
    size_t n = strlen(s);
    size_t i = 0;

    buf_trunc(out, 0);
    buf_add(out, "", 0);
    while (i < n) {
        const char *name;
        const char *end = NULL;
        const char *val;

        if (s[i] == '$' && i + 2 < n && s[i + 1] == '{') {
            end = memchr(s + i + 2, '}', n - i - 2);
        }
        if (end == NULL) {
            buf_add(out, s + i, 1);
            i++;
            continue;
        }
        name = s + i + 2;
        val = var_get(cx, name, (size_t)(end - name));
        if (val == NULL) {
            buf_addf(why, "undefined variable ${%.*s}",
                     (int)(end - name), name);
            return false;
        }
        buf_adds(out, val);
        i = (size_t)(end - s) + 1;
    }
    return true;
}

/* ---------------------------------------------------------- JSON matching */

static void show_json(struct buf *b, json_t *v, size_t max)
{
    char *s;

    if (v == NULL) {
        buf_adds(b, "(absent)");
        return;
    }
    s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s == NULL) {
        buf_adds(b, "(unprintable)");
        return;
    }
    buf_add_shown(b, s, strlen(s), max);
    free(s);
}

static void path_key(struct buf *path, const char *key)
{
    size_t i;
    bool   plain = key[0] != '\0';

    for (i = 0; key[i] != '\0'; i++) {
        if (!is_name_char(key[i]) && key[i] != '-') {
            plain = false;
        }
    }
    buf_addf(path, plain ? ".%s" : ".\"%s\"", key);
}

static bool mismatch(struct buf *path, struct buf *why, const char *what,
                     json_t *exp, json_t *act)
{
    buf_addf(why, "body at %s: %s", path->len ? buf_str(path) : ".", what);
    if (exp != NULL) {
        buf_adds(why, "expected ");
        show_json(why, exp, SHOW_VALUE);
        buf_adds(why, ", got ");
        show_json(why, act, SHOW_VALUE);
    }
    return false;
}

/*
 * Returns 1 or 0 when pat is a "<type>" pattern that act does or does not
 * match (act NULL means the key is absent), or -1 when pat is no pattern.
 */
static int pattern_match(const char *pat, json_t *act)
{
    static const struct {
        const char *pat;
        int         type;
    } types[] = {
        {"<string>", JSON_STRING}, {"<array>", JSON_ARRAY},
        {"<object>", JSON_OBJECT}, {"<integer>", JSON_INTEGER},
    };
    size_t i;

    if (strcmp(pat, "<any>") == 0) {
        return act != NULL;
    }
    if (strcmp(pat, "<absent>") == 0) {
        return act == NULL;
    }
    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(pat, types[i].pat) == 0) {
            return act != NULL && (int)json_typeof(act) == types[i].type;
        }
    }
    if (strcmp(pat, "<number>") == 0) {
        return json_is_number(act);
    }
    if (strcmp(pat, "<boolean>") == 0) {
        return json_is_boolean(act);
    }
    if (strcmp(pat, "<uuid>") == 0) {
        return json_is_string(act) && is_uuid(json_string_value(act));
    }
    return -1;
}

static bool is_str(json_t *v, const char *s)
{
    return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

static bool match(json_t *exp, json_t *act, struct buf *path,
                  struct buf *why);

static bool match_object(json_t *exp, json_t *act, struct buf *path,
                         struct buf *why)
{
    const char *key;
    json_t     *ev;

    if (!json_is_object(act)) {
        return mismatch(path, why, "", exp, act);
    }
    json_object_foreach(exp, key, ev) {
        json_t *av = json_object_get(act, key);
        size_t  mark = path->len;

        path_key(path, key);
        if (av == NULL && !is_str(ev, "<absent>")) {
            return mismatch(path, why, "missing key; ", ev, NULL);
        }
        if (av != NULL && !match(ev, av, path, why)) {
            return false;
        }
        buf_trunc(path, mark);
    }
    return true;
}

/* Kuhn's augmenting path: can expected row i take some actual element? */
struct bip {
    const unsigned char *ok;    /* n x n: ok[i * n + j] */
    size_t               n;
    size_t              *owner; /* actual j -> expected i, or NO_OWNER */
    unsigned char       *seen;
};

static bool augment(struct bip *b, size_t i)
{
    size_t j;

    for (j = 0; j < b->n; j++) {
        if (!b->ok[i * b->n + j] || b->seen[j]) {
            continue;
        }
        b->seen[j] = 1;
        if (b->owner[j] == NO_OWNER || augment(b, b->owner[j])) {
            b->owner[j] = i;
            return true;
        }
    }
    return false;
}

/* "<unordered>": a one-to-one assignment of expected to actual elements. */
static bool match_unordered(json_t *exp, json_t *act, struct buf *path,
                            struct buf *why)
{
    size_t         n = json_array_size(exp) - 1;
    struct bip     b;
    struct buf     sp = {0};
    struct buf     sw = {0};
    unsigned char *ok;
    size_t         i;
    size_t         j;
    bool           res = true;

    if (json_array_size(act) != n) {
        buf_addf(why, "body at %s: expected %zu elements (unordered), got "
                 "%zu: ", path->len ? buf_str(path) : ".", n,
                 json_array_size(act));
        show_json(why, act, SHOW_VALUE);
        return false;
    }
    ok = xrealloc(NULL, n * n);
    b.ok = ok;
    b.n = n;
    b.owner = xrealloc(NULL, n * sizeof(*b.owner));
    b.seen = xrealloc(NULL, n);
    for (i = 0; i < n; i++) {
        b.owner[i] = NO_OWNER;
        for (j = 0; j < n; j++) {
            ok[i * n + j] = match(json_array_get(exp, i + 1),
                                  json_array_get(act, j), &sp, &sw);
            buf_trunc(&sp, 0);
            buf_trunc(&sw, 0);
        }
    }
    for (i = 0; i < n && res; i++) {
        memset(b.seen, 0, n);
        if (!augment(&b, i)) {
            res = mismatch(path, why, "no distinct element matches ",
                           NULL, NULL);
            show_json(why, json_array_get(exp, i + 1), SHOW_VALUE);
            buf_adds(why, "; got ");
            show_json(why, act, SHOW_VALUE);
        }
    }
    free(ok);
    free(b.owner);
    free(b.seen);
    buf_free(&sp);
    buf_free(&sw);
    return res;
}

/* "<contains>": every expected element matches some actual element. */
static bool match_contains(json_t *exp, json_t *act, struct buf *path,
                           struct buf *why)
{
    struct buf sp = {0};
    struct buf sw = {0};
    size_t     i;
    size_t     j;
    bool       found = true;

    for (i = 1; i < json_array_size(exp) && found; i++) {
        found = false;
        for (j = 0; j < json_array_size(act) && !found; j++) {
            found = match(json_array_get(exp, i), json_array_get(act, j),
                          &sp, &sw);
            buf_trunc(&sp, 0);
            buf_trunc(&sw, 0);
        }
        if (!found) {
            mismatch(path, why, "no element matches ", NULL, NULL);
            show_json(why, json_array_get(exp, i), SHOW_VALUE);
            buf_adds(why, "; got ");
            show_json(why, act, SHOW_VALUE);
        }
    }
    buf_free(&sp);
    buf_free(&sw);
    return found;
}

static bool match_array(json_t *exp, json_t *act, struct buf *path,
                        struct buf *why)
{
    json_t *first = json_array_get(exp, 0);
    size_t  i;

    if (!json_is_array(act)) {
        return mismatch(path, why, "", exp, act);
    }
    if (is_str(first, "<unordered>")) {
        return match_unordered(exp, act, path, why);
    }
    if (is_str(first, "<contains>")) {
        return match_contains(exp, act, path, why);
    }
    if (json_array_size(exp) != json_array_size(act)) {
        buf_addf(why, "body at %s: expected %zu elements, got %zu: ",
                 path->len ? buf_str(path) : ".", json_array_size(exp),
                 json_array_size(act));
        show_json(why, act, SHOW_VALUE);
        return false;
    }
    for (i = 0; i < json_array_size(exp); i++) {
        size_t mark = path->len;

        buf_addf(path, "[%zu]", i);
        if (!match(json_array_get(exp, i), json_array_get(act, i), path,
                   why)) {
            return false;
        }
        buf_trunc(path, mark);
    }
    return true;
}

static bool match_scalar(json_t *exp, json_t *act)
{
    if (json_is_integer(exp) && json_is_integer(act)) {
        return json_integer_value(exp) == json_integer_value(act);
    }
    if (json_is_number(exp) && json_is_number(act)) {
        return json_number_value(exp) == json_number_value(act);
    }
    if (json_is_string(exp) && json_is_string(act)) {
        return json_string_length(exp) == json_string_length(act) &&
               memcmp(json_string_value(exp), json_string_value(act),
                      json_string_length(exp)) == 0;
    }
    return json_typeof(exp) == json_typeof(act);
}

/*
 * Checks that act (borrowed, non-NULL) matches the subset pattern exp.  On a
 * mismatch, appends to why where (path, ".a[2].b") and what differs.
 */
static bool match(json_t *exp, json_t *act, struct buf *path,
                  struct buf *why)
{
    int pm;

    if (json_is_string(exp)) {
        pm = pattern_match(json_string_value(exp), act);
        if (pm == 0) {
            return mismatch(path, why, "", exp, act);
        }
        if (pm == 1) {
            return true;
        }
    }
    switch (json_typeof(exp)) {
    case JSON_OBJECT:
        return match_object(exp, act, path, why);
    case JSON_ARRAY:
        return match_array(exp, act, path, why);
    default:
        if (!match_scalar(exp, act)) {
            return mismatch(path, why, "", exp, act);
        }
        return true;
    }
}

/* ------------------------------------------------------------------ HTTP */

struct resp {
    long          status;
    struct buf    body;
    struct pairs  h;
    bool          too_big;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct resp *rs = ud;
    size_t       len = size * n;

    if (rs->body.len + len > MAX_BODY) {
        rs->too_big = true;
        return 0;
    }
    buf_add(&rs->body, p, len);
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct resp *rs = ud;
    size_t       len = size * n;
    const char  *colon = memchr(p, ':', len);
    const char  *name = p;
    const char  *value;
    size_t       nlen;
    size_t       vlen;

    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        pairs_clear(&rs->h);    /* a new response (1xx, redirect) */
        return len;
    }
    if (colon == NULL) {
        return len;
    }
    nlen = (size_t)(colon - p);
    vlen = len - nlen - 1;
    name = trim(name, &nlen);
    value = trim(colon + 1, &vlen);
    pairs_add(&rs->h, name, nlen, value, vlen);
    return len;
}

/* Appends the response body for a failure line: compact JSON or raw text. */
static void show_body(struct buf *why, const struct resp *rs, size_t max)
{
    json_t *v = json_loadb(buf_str(&rs->body), rs->body.len,
                           JSON_DECODE_ANY, NULL);

    if (v != NULL) {
        show_json(why, v, max);
        json_decref(v);
        return;
    }
    if (rs->body.len == 0) {
        buf_adds(why, "(empty)");
        return;
    }
    buf_add_shown(why, buf_str(&rs->body), rs->body.len, max);
}

/*
 * Builds the request's header list from the expanded "Name: value" lines.
 * Returns a new list owned by the caller, or NULL with why set.
 */
static struct curl_slist *request_headers(const struct rctx *cx,
                                          const struct exch *e, bool body,
                                          bool *has_ct, struct buf *why)
{
    struct curl_slist *hl = NULL;
    struct buf         line = {0};
    struct buf         h = {0};
    size_t             i;

    *has_ct = false;
    for (i = 0; i < e->req_h.n; i++) {
        const char *colon;
        const char *value;
        size_t      nlen;
        size_t      vlen;

        if (!subst(cx, e->req_h.v[i], &line, why)) {
            curl_slist_free_all(hl);
            hl = NULL;
            goto out;
        }
        colon = strchr(buf_str(&line), ':');
        if (colon == NULL) {
            buf_addf(why, "bad header line \"%s\"", buf_str(&line));
            curl_slist_free_all(hl);
            hl = NULL;
            goto out;
        }
        nlen = (size_t)(colon - line.p);
        vlen = strlen(colon + 1);
        value = trim(colon + 1, &vlen);
        if (nlen == 12 && strncasecmp(line.p, "Content-Type", 12) == 0) {
            *has_ct = true;
        }
        buf_trunc(&h, 0);
        /* NB: curl drops "Name:"; "Name;" is how it sends an empty value */
        buf_addf(&h, vlen ? "%.*s: %.*s" : "%.*s;", (int)nlen, line.p,
                 (int)vlen, value);
        hl = curl_slist_append(hl, buf_str(&h));
    }
    /* --header defaults, unless the exchange sets that header itself */
    for (i = 0; i < cx->o->n_hdr; i++) {
        const char *d = cx->o->hdr[i];
        size_t      dn = strcspn(d, ":");
        size_t      j;
        bool        set = false;

        for (j = 0; j < e->req_h.n && !set; j++) {
            set = strncasecmp(e->req_h.v[j], d, dn) == 0 &&
                  e->req_h.v[j][dn] == ':';
        }
        if (!set) {
            hl = curl_slist_append(hl, d);
        }
    }
    hl = curl_slist_append(hl, "Expect:");
    if (!*has_ct) {
        hl = curl_slist_append(hl, body ? "Content-Type: application/json"
                                        : "Content-Type:");
    }
out:
    buf_free(&line);
    buf_free(&h);
    return hl;
}

static void set_method(CURL *c, const char *method, const struct buf *body)
{
    bool post = strcmp(method, "POST") == 0;

    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        return;
    }
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, buf_str(body));
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)body->len);
    } else if (post) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        return;
    }
    if (!post) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
}

/* Sends one request; fills rs.  Returns false with why set on a failure. */
static bool send_request(const struct rctx *cx, const char *method,
                         const char *target, struct curl_slist *hl,
                         const struct buf *body, struct resp *rs,
                         struct buf *why)
{
    CURL      *c = cx->curl;
    struct buf url = {0};
    char       errbuf[CURL_ERROR_SIZE];
    CURLcode   rc;

    errbuf[0] = '\0';
    buf_adds(&url, cx->o->url);
    buf_adds(&url, target);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, buf_str(&url));
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, rs);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, rs);
    set_method(c, method, body);
    rc = curl_easy_perform(c);
    buf_free(&url);
    if (rs->too_big) {
        buf_addf(why, "response body larger than %u bytes", MAX_BODY);
        return false;
    }
    if (rc != CURLE_OK) {
        buf_addf(why, "request failed: %s",
                 errbuf[0] ? errbuf : curl_easy_strerror(rc));
        return false;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs->status);
    return true;
}

/* ----------------------------------------------------------- expectation */

static bool check_status(const char *want, const struct resp *rs,
                         struct buf *why)
{
    char *end;
    long  st;

    errno = 0;
    st = strtol(want, &end, 10);
    if (errno != 0 || end == want || *end != '\0' || st < 100 || st > 599) {
        buf_addf(why, "bad expected status \"%s\"", want);
        return false;
    }
    if (st == rs->status) {
        return true;
    }
    buf_addf(why, "status: expected %ld, got %ld; body: ", st, rs->status);
    show_body(why, rs, SHOW_BODY);
    return false;
}

/* "Name: value" (exact), "Name: *" (present) or "Name: !" (absent). */
static bool check_header(const char *line, const struct resp *rs,
                         struct buf *why)
{
    const char *colon = strchr(line, ':');
    size_t      nlen;
    size_t      vlen;
    const char *want;
    const char *got = NULL;
    size_t      i;

    if (colon == NULL) {
        buf_addf(why, "bad header expectation \"%s\"", line);
        return false;
    }
    nlen = (size_t)(colon - line);
    vlen = strlen(colon + 1);
    want = trim(colon + 1, &vlen);

    for (i = 0; i < rs->h.n; i++) {
        const struct pair *p = &rs->h.v[i];

        if (strlen(p->name) != nlen || strncasecmp(p->name, line, nlen)) {
            continue;
        }
        if (got == NULL || (strlen(p->value) == vlen &&
                            memcmp(p->value, want, vlen) == 0)) {
            got = p->value;
        }
    }
    if (vlen == 1 && want[0] == '!') {
        if (got == NULL) {
            return true;
        }
        buf_addf(why, "header %.*s: expected absent, got [%s]",
                 (int)nlen, line, got);
        return false;
    }
    if (vlen == 1 && want[0] == '*') {
        if (got != NULL) {
            return true;
        }
        buf_addf(why, "header %.*s: expected present, got (absent)",
                 (int)nlen, line);
        return false;
    }
    if (got != NULL && strlen(got) == vlen && memcmp(got, want, vlen) == 0) {
        return true;
    }
    buf_addf(why, "header %.*s: expected [%.*s], got %s%s%s", (int)nlen,
             line, (int)vlen, want, got ? "[" : "", got ? got : "(absent)",
             got ? "]" : "");
    return false;
}

static bool check_text(const char *want, const struct resp *rs,
                       struct buf *why)
{
    size_t n = rs->body.len;

    while (n > 0 && isspace((unsigned char)rs->body.p[n - 1])) {
        n--;
    }
    if (n == strlen(want) && memcmp(rs->body.p, want, n) == 0) {
        return true;
    }
    buf_adds(why, "body: expected text \"");
    buf_add_shown(why, want, strlen(want), SHOW_VALUE);
    buf_adds(why, "\", got \"");
    buf_add_shown(why, buf_str(&rs->body), n, SHOW_BODY);
    buf_adds(why, "\"");
    return false;
}

static bool check_body(const char *want, const struct resp *rs,
                       struct buf *why)
{
    json_t    *exp;
    json_t    *act;
    struct buf path = {0};
    bool       ok;

    if (strcmp(want, "<empty>") == 0) {
        if (rs->body.len == 0) {
            return true;
        }
        buf_addf(why, "body: expected empty, got %zu bytes: ", rs->body.len);
        show_body(why, rs, SHOW_BODY);
        return false;
    }
    exp = json_loads(want, JSON_DECODE_ANY, NULL);
    if (exp == NULL) {
        return check_text(want, rs, why);
    }
    act = json_loadb(buf_str(&rs->body), rs->body.len, JSON_DECODE_ANY,
                     NULL);
    if (act == NULL) {
        buf_adds(why, "body: expected JSON, got ");
        show_body(why, rs, SHOW_BODY);
        json_decref(exp);
        return false;
    }
    ok = match(exp, act, &path, why);
    if (!ok) {
        buf_adds(why, "; body: ");
        show_json(why, act, SHOW_BODY);
    }
    json_decref(exp);
    json_decref(act);
    buf_free(&path);
    return ok;
}

/*
 * Walks a path like ".a.b[0].c", ."odd.key" or ["odd.key"] from root.
 * Returns a borrowed reference into root, or NULL when it does not resolve.
 */
static json_t *json_path(json_t *root, const char *p)
{
    json_t *v = root;

    while (v != NULL && *p != '\0') {
        const char *k;
        char       *key;
        char       *end;
        bool        quoted;

        if (*p == '[' && isdigit((unsigned char)p[1])) {
            unsigned long idx = strtoul(p + 1, &end, 10);

            if (*end != ']') {
                return NULL;
            }
            v = json_array_get(v, idx);
            p = end + 1;
            continue;
        }
        if (*p != '.' && !(*p == '[' && p[1] == '"')) {
            return NULL;
        }
        quoted = p[1] == '"';
        k = p + 1 + quoted;
        for (p = k; *p != '\0'; p++) {
            if (quoted ? *p == '"' : (*p == '.' || *p == '[')) {
                break;
            }
        }
        if (quoted && *p != '"') {
            return NULL;
        }
        if (p == k && !quoted && *k == '\0' && v == root) {
            break;      /* "." is the whole document */
        }
        key = xstrndup(k, (size_t)(p - k));
        v = json_object_get(v, key);
        free(key);
        p += quoted;
        if (quoted && k[-2] == '[') {
            if (*p != ']') {
                return NULL;
            }
            p++;
        }
    }
    return v;
}

/* Stores the value of response header h into variable name[0..nlen). */
static bool capture_header(struct rctx *cx, const char *name, size_t nlen,
                           const char *h, const struct resp *rs,
                           struct buf *why)
{
    size_t hn = strlen(h);
    size_t i;

    h = trim(h, &hn);
    for (i = 0; i < rs->h.n; i++) {
        if (strlen(rs->h.v[i].name) == hn &&
            strncasecmp(rs->h.v[i].name, h, hn) == 0) {
            pairs_set(&cx->vars, name, nlen, rs->h.v[i].value,
                      strlen(rs->h.v[i].value));
            return true;
        }
    }
    buf_addf(why, "capture %.*s: no header %s", (int)nlen, name, h);
    return false;
}

/* "@capture NAME = .json.path" or "@capture NAME = header:Name". */
static bool capture(struct rctx *cx, const char *line, const struct resp *rs,
                    struct buf *why)
{
    const char *name = line + 8;
    const char *path;
    size_t      nlen = 0;
    json_t     *root = NULL;
    json_t     *v;
    char       *s;

    while (isspace((unsigned char)*name)) {
        name++;
    }
    while (is_name_char(name[nlen])) {
        nlen++;
    }
    path = name + nlen;
    while (isspace((unsigned char)*path)) {
        path++;
    }
    if (nlen == 0 || *path != '=') {
        buf_addf(why, "bad capture \"%s\"", line);
        return false;
    }
    path++;
    while (isspace((unsigned char)*path)) {
        path++;
    }
    if (strncmp(path, "header:", 7) == 0) {
        return capture_header(cx, name, nlen, path + 7, rs, why);
    }
    root = json_loadb(buf_str(&rs->body), rs->body.len, JSON_DECODE_ANY,
                      NULL);
    v = root ? json_path(root, path) : NULL;
    if (v == NULL) {
        buf_addf(why, "capture %.*s: %s not found in body: ", (int)nlen,
                 name, path);
        show_body(why, rs, SHOW_BODY);
        json_decref(root);
        return false;
    }
    if (json_is_string(v)) {
        pairs_set(&cx->vars, name, nlen, json_string_value(v),
                  json_string_length(v));
    } else {
        s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        pairs_set(&cx->vars, name, nlen, s ? s : "", s ? strlen(s) : 0);
        free(s);
    }
    json_decref(root);
    return true;
}

static void verbose_exchange(const struct rctx *cx, int no, const char *label,
                             const struct buf *body, const struct resp *rs)
{
    struct buf b = {0};

    buf_addf(&b, "# %s exchange %d: %s\n", cx->file, no, label);
    if (body != NULL) {
        buf_adds(&b, "#   > ");
        buf_add_shown(&b, buf_str(body), body->len, SHOW_VERBOSE);
        buf_adds(&b, "\n");
    }
    buf_addf(&b, "#   < %ld, %zu bytes\n", rs->status, rs->body.len);
    if (rs->body.len > 0) {
        buf_adds(&b, "#   < ");
        buf_add_shown(&b, buf_str(&rs->body), rs->body.len, SHOW_VERBOSE);
        buf_adds(&b, "\n");
    }
    fputs(buf_str(&b), stderr);
    buf_free(&b);
}

/* Checks status, headers and body, then runs the captures. */
static bool check_response(struct rctx *cx, const struct exch *e,
                           const struct resp *rs, struct buf *why)
{
    struct buf s = {0};
    size_t     i;
    bool       ok = false;

    if (!subst(cx, e->status, &s, why) || !check_status(s.p, rs, why)) {
        goto out;
    }
    for (i = 0; i < e->exp_h.n; i++) {
        if (e->exp_h.v[i][0] == '@') {
            continue;
        }
        if (!subst(cx, e->exp_h.v[i], &s, why) ||
            !check_header(s.p, rs, why)) {
            goto out;
        }
    }
    if (e->exp_body != NULL && (!subst(cx, e->exp_body, &s, why) ||
                                !check_body(s.p, rs, why))) {
        goto out;
    }
    for (i = 0; i < e->exp_h.n; i++) {
        if (e->exp_h.v[i][0] != '@') {
            continue;
        }
        if (!subst(cx, e->exp_h.v[i], &s, why) ||
            !capture(cx, s.p, rs, why)) {
            goto out;
        }
    }
    ok = true;
out:
    buf_free(&s);
    return ok;
}

/* Returns the value of response header name, or NULL when it is absent. */
static const char *resp_header(const struct resp *rs, const char *name)
{
    size_t i;

    for (i = 0; i < rs->h.n; i++) {
        if (strcasecmp(rs->h.v[i].name, name) == 0) {
            return rs->h.v[i].value;
        }
    }
    return NULL;
}

/*
 * --record: appends exchange no's response to the record file as one JSON
 * line: case, exchange, method, path (target without its query), query,
 * status, content_type (null when absent) and body (null when it is not
 * UTF-8).  Returns false with why set when the line could not be built.
 */
static bool record_exchange(const struct rctx *cx, int no,
                            const char *method, const char *target,
                            const struct resp *rs, struct buf *why)
{
    const char *q = strchr(target, '?');
    size_t      plen = q ? (size_t)(q - target) : strlen(target);
    json_t     *body;
    json_t     *v;
    char       *s;

    if (cx->o->record == NULL) {
        return true;
    }
    body = json_stringn(buf_str(&rs->body), rs->body.len);
    v = json_pack("{s:s, s:i, s:s, s:s%, s:s, s:i, s:s?, s:o?}",
                  "case", cx->file, "exchange", no, "method", method,
                  "path", target, plen, "query", q ? q + 1 : "",
                  "status", (int)rs->status,
                  "content_type", resp_header(rs, "Content-Type"),
                  "body", body);
    s = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    if (s == NULL) {
        buf_adds(why, "could not record the exchange (request not UTF-8?)");
        return false;
    }
    fputs(s, cx->o->record);
    fputc('\n', cx->o->record);
    free(s);
    return true;
}

/*
 * Runs exchange number no (1-based).  label receives "METHOD target" for the
 * failure line; why receives the reason.
 */
static bool run_exchange(struct rctx *cx, const struct exch *e, int no,
                         struct buf *label, struct buf *why)
{
    struct curl_slist *hl = NULL;
    struct buf         body = {0};
    struct resp        rs;
    char              *sp;
    const char        *target;
    bool               has_ct;
    bool               ok = false;

    memset(&rs, 0, sizeof(rs));
    uuid_new(cx->uuid);
    buf_adds(label, e->request);
    if (!subst(cx, e->request, label, why)) {
        buf_trunc(label, 0);
        buf_adds(label, e->request);
        goto out;
    }
    if (e->req_body != NULL && !subst(cx, e->req_body, &body, why)) {
        goto out;
    }
    hl = request_headers(cx, e, e->req_body != NULL, &has_ct, why);
    if (hl == NULL) {
        goto out;
    }
    sp = strchr(label->p, ' ');
    if (sp == NULL) {
        buf_addf(why, "bad request line \"%s\"", label->p);
        goto out;
    }
    *sp = '\0';
    target = sp + 1 + strspn(sp + 1, " \t");
    ok = send_request(cx, label->p, target, hl, e->req_body ? &body : NULL,
                      &rs, why) &&
         record_exchange(cx, no, label->p, target, &rs, why);
    *sp = ' ';
    if (cx->o->verbose) {
        verbose_exchange(cx, no, label->p, e->req_body ? &body : NULL, &rs);
    }
    ok = ok && check_response(cx, e, &rs, why);
out:
    curl_slist_free_all(hl);
    buf_free(&body);
    buf_free(&rs.body);
    pairs_free(&rs.h);
    return ok;
}

/* ------------------------------------------------------------------ main */

static const char *skipped_tag(const struct opts *o, const struct strs *needs)
{
    size_t i;
    size_t j;

    for (i = 0; i < needs->n; i++) {
        for (j = 0; j < o->n_skip; j++) {
            if (strcmp(needs->v[i], o->skip[j]) == 0) {
                return needs->v[i];
            }
        }
    }
    return NULL;
}

/* Runs one case file and prints its line.  Returns false when it failed. */
static bool run_case(const struct opts *o, CURL *curl, const char *file)
{
    struct casefile cf;
    struct rctx     cx;
    struct buf      why = {0};
    struct buf      label = {0};
    const char     *tag;
    size_t          i;
    bool            ok = true;

    memset(&cf, 0, sizeof(cf));
    memset(&cx, 0, sizeof(cx));
    if (!case_load(file, &cf, &why)) {
        printf("not ok %s - %s\n", file, buf_str(&why));
        ok = false;
        goto out;
    }
    tag = skipped_tag(o, &cf.needs);
    if (tag != NULL) {
        printf("skip %s (needs %s)\n", file, tag);
        goto out;
    }
    cx.o = o;
    cx.curl = curl;
    cx.file = file;
    case_name(file, cx.case_name, sizeof(cx.case_name));
    for (i = 0; i < o->vars.n; i++) {
        pairs_set(&cx.vars, o->vars.v[i].name, strlen(o->vars.v[i].name),
                  o->vars.v[i].value, strlen(o->vars.v[i].value));
    }
    for (i = 0; i < cf.n_ex && ok; i++) {
        buf_trunc(&label, 0);
        ok = run_exchange(&cx, &cf.ex[i], (int)i + 1, &label, &why);
        if (!ok) {
            printf("not ok %s - exchange %zu (%s): %s\n", file, i + 1,
                   buf_str(&label), buf_str(&why));
        }
    }
    if (ok) {
        printf("ok %s\n", file);
    }
out:
    fflush(stdout);
    pairs_free(&cx.vars);
    buf_free(&why);
    buf_free(&label);
    case_free(&cf);
    return ok;
}

static void usage(void)
{
    fputs("usage: runner --url http://HOST:PORT [--var NAME=VALUE]... "
          "[--tag-skip TAG]... [--header 'Name: value']... [--record FILE] "
          "[--verbose] FILE.case...\n",
          stderr);
    exit(2);
}

/* Parses argv into o; returns the index of the first case file. */
static int parse_args(int argc, char **argv, struct opts *o)
{
    int i;

    o->skip = xrealloc(NULL, (size_t)argc * sizeof(*o->skip));
    o->hdr = xrealloc(NULL, (size_t)argc * sizeof(*o->hdr));
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        const char *eq;

        if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
            o->verbose = true;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            return i + 1;
        }
        if (i + 1 >= argc) {
            usage();
        }
        if (strcmp(a, "--url") == 0) {
            o->url = argv[++i];
        } else if (strcmp(a, "--record") == 0) {
            o->record_path = argv[++i];
        } else if (strcmp(a, "--tag-skip") == 0) {
            o->skip[o->n_skip++] = argv[++i];
        } else if (strcmp(a, "--header") == 0) {
            o->hdr[o->n_hdr++] = argv[++i];
        } else if (strcmp(a, "--var") == 0) {
            a = argv[++i];
            eq = strchr(a, '=');
            if (eq == NULL || eq == a) {
                usage();
            }
            pairs_set(&o->vars, a, (size_t)(eq - a), eq + 1, strlen(eq + 1));
        } else {
            usage();
        }
    }
    if (o->url == NULL || i >= argc) {
        usage();
    }
    return i;
}

int main(int argc, char **argv)
{
    struct opts o;
    struct buf  url = {0};
    CURL       *curl;
    int         first;
    int         i;
    int         failed = 0;

    memset(&o, 0, sizeof(o));
    first = parse_args(argc, argv, &o);
    if (o.record_path != NULL) {
        o.record = fopen(o.record_path, "a");
        if (o.record == NULL) {
            fprintf(stderr, "runner: could not open \"%s\": %s\n",
                    o.record_path, strerror(errno));
            pairs_free(&o.vars);
            free(o.skip);
            free(o.hdr);
            return 2;
        }
    }
    buf_adds(&url, o.url);
    while (url.len > 0 && url.p[url.len - 1] == '/') {
        buf_trunc(&url, url.len - 1);
    }
    o.url = buf_str(&url);
    curl = NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK) {
        curl = curl_easy_init();
    }
    if (curl == NULL) {
        fputs("runner: could not initialise libcurl\n", stderr);
        return 2;
    }
    for (i = first; i < argc; i++) {
        if (!run_case(&o, curl, argv[i])) {
            failed++;
        }
    }
    if (o.record != NULL) {
        bool bad = ferror(o.record) != 0;

        if (fclose(o.record) != 0 || bad) {
            fprintf(stderr, "runner: could not write \"%s\"\n",
                    o.record_path);
            failed++;
        }
    }
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    pairs_free(&o.vars);
    free(o.skip);
    free(o.hdr);
    buf_free(&url);
    return failed ? 1 : 0;
}
