/*
 * cat_common.c
 *
 * What the entity files share: name, property and location validation, and
 * the small encodings between C, JSON and Postgres (text[] literals, jsonb
 * text, page tokens).  Name rules follow Polaris's entity-name validator so that a name
 * Floe accepts is one Polaris would accept: not empty, not "." or "..", no
 * control characters, none of / \ : * ? " < > | # + `, no surrounding
 * whitespace, at most CAT_MAX_NAME bytes of valid UTF-8.
 */
#include "catalog/catalog_int.h"
#include "storage/storage.h"

#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <zlib.h>

/* The request's database connection, taken from the pool on first use. */
struct db_conn *cat_conn(struct cat_ctx *cx, struct fl_err *err)
{
    if (cx->conn == NULL) {
        cx->conn = db_acquire(cx->pool, cx->a, err);
    }
    return cx->conn;
}

static bool has_control_cp(const char *s, unsigned *cp_out)
{
    const unsigned char *p = (const unsigned char *)s;

    for (; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            *cp_out = *p;
            return true;
        }
        /* U+0080..U+009F are C1 controls: UTF-8 C2 80..C2 9F */
        if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            *cp_out = p[1];
            return true;
        }
    }
    return false;
}

/*
 * Check one entity name (a namespace level, a table, view or catalog name).
 * `what` is unused in the message so the text matches Polaris's.  Errors:
 * 400 IllegalArgumentException.
 */
bool cat_name_check(const char *what, const char *name, struct fl_err *err)
{
    static const char banned[] = "/\\:*?\"<>|#+`";
    size_t            n = strlen(name);
    unsigned          cp;
    const char       *b;

    (void)what;
    if (n == 0) {
        return FL_ERR(err, 400, "IllegalArgumentException",
                      "Entity name must not be empty");
    }
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        return FL_ERR(err, 400, "IllegalArgumentException",
                      "Entity name must not be '.' or '..'");
    }
    if (n > CAT_MAX_NAME || !fl_utf8_valid(name, n)) {
        return FL_ERR(err, 400, "IllegalArgumentException",
                      "Entity name must be valid UTF-8 of at most %d bytes",
                      CAT_MAX_NAME);
    }
    if (has_control_cp(name, &cp)) {
        return FL_ERR(err, 400, "IllegalArgumentException",
                      "Entity name must not contain control characters "
                      "(U+%04X): %s", cp, cp < 0x20 ? "(not shown)" : name);
    }
    for (b = banned; *b != '\0'; b++) {
        if (strchr(name, *b) != NULL) {
            return FL_ERR(err, 400, "IllegalArgumentException",
                          "Entity name must not contain '%c': %s", *b, name);
        }
    }
    if (isspace((unsigned char)name[0]) ||
        isspace((unsigned char)name[n - 1])) {
        return FL_ERR(err, 400, "IllegalArgumentException",
                      "Entity name must not have leading or trailing "
                      "whitespace: %s", name);
    }
    return true;
}

/* Check every level of a namespace and the depth limit. */
bool cat_ns_check(const char *const *levels, int n, struct fl_err *err)
{
    int i;

    if (n > CAT_MAX_NS_LEVELS) {
        return FL_ERR(err, 400, "IllegalArgumentException",
                      "a namespace may have at most %d levels",
                      CAT_MAX_NS_LEVELS);
    }
    for (i = 0; i < n; i++) {
        if (!cat_name_check("namespace", levels[i], err)) {
            return false;
        }
    }
    return true;
}

/* Levels joined by "." as Java renders a Namespace: "a.b.c". */
char *cat_ns_render(struct fl_arena *a, const char *const *levels, int n)
{
    struct fl_buf b;
    int           i;

    fl_buf_init(&b, a, 0);
    fl_buf_append(&b, "", 0);
    for (i = 0; i < n; i++) {
        if (i > 0) {
            fl_buf_append(&b, ".", 1);
        }
        fl_buf_append(&b, levels[i], strlen(levels[i]));
    }
    return b.p;
}

/*
 * Check a properties map from a client: an object of strings, bounded in
 * count and size, keys non-empty.  Errors: 400 BadRequestException.
 */
bool cat_props_check(json_t *props, struct fl_err *err)
{
    const char *k;
    json_t     *v;

    if (!fl_json_string_map(props, "properties", err)) {
        return false;
    }
    if (json_object_size(props) > CAT_MAX_PROPS) {
        return FL_ERR(err, 400, "BadRequestException",
                      "at most %d properties are allowed", CAT_MAX_PROPS);
    }
    json_object_foreach(props, k, v) {
        if (k[0] == '\0' || strlen(k) > CAT_MAX_NAME) {
            return FL_ERR(err, 400, "BadRequestException",
                          "property names must have 1 to %d bytes",
                          CAT_MAX_NAME);
        }
        if (json_string_length(v) > CAT_MAX_PROP_BYTES) {
            return FL_ERR(err, 400, "BadRequestException",
                          "property \"%s\" is longer than %d bytes", k,
                          CAT_MAX_PROP_BYTES);
        }
    }
    return true;
}

/*
 * True when location `loc` is `base` or lies under it, comparing whole path
 * segments ("s3://b/wh" contains "s3://b/wh/x" but not "s3://b/wh2").
 */
bool cat_location_within(const char *loc, const char *base)
{
    size_t n = strlen(base);
    size_t m = strlen(loc);

    while (n > 0 && base[n - 1] == '/') {
        n--;
    }
    while (m > 0 && loc[m - 1] == '/') {
        m--;
    }
    if (n == 0 || m < n || strncmp(loc, base, n) != 0) {
        return false;
    }
    return m == n || loc[n] == '/';
}

/*
 * True when `loc` can be stored as a location: non-empty, at most 2048
 * bytes, no control characters, and no "." or ".." path segment (which
 * would let a location that starts with an allowed prefix escape it).
 */
bool cat_location_valid(const char *loc)
{
    const char *p = strstr(loc, "://");
    size_t      n = strlen(loc);

    if (n == 0 || n > 2048 || fl_has_control(loc)) {
        return false;
    }
    p = p ? p + 3 : loc;
    while ((p = strchr(p, '/')) != NULL) {
        p++;
        if ((p[0] == '.' && (p[1] == '/' || p[1] == '\0')) ||
            (p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == '\0'))) {
            return false;
        }
    }
    return true;
}

/* A location with exactly one trailing slash. */
char *cat_location_dir(struct fl_arena *a, const char *loc)
{
    size_t n = strlen(loc);

    while (n > 0 && loc[n - 1] == '/') {
        n--;
    }
    return fl_sprintf(a, "%.*s/", (int)n, loc);
}

/*
 * A Postgres text[] literal for `levels`: {"a","b\"c"}.  This is a parameter
 * value, never SQL text.
 */
char *cat_pg_array(struct fl_arena *a, const char *const *levels, int n)
{
    struct fl_buf b;
    int           i;

    fl_buf_init(&b, a, 0);
    fl_buf_append(&b, "{", 1);
    for (i = 0; i < n; i++) {
        const char *p;

        fl_buf_append(&b, i ? ",\"" : "\"", i ? 2 : 1);
        for (p = levels[i]; *p != '\0'; p++) {
            if (*p == '"' || *p == '\\') {
                fl_buf_append(&b, "\\", 1);
            }
            fl_buf_append(&b, p, 1);
        }
        fl_buf_append(&b, "\"", 1);
    }
    fl_buf_append(&b, "}", 1);
    return b.p;
}

/*
 * Parse a Postgres text[] output value ({a,"b c",NULL}) into a
 * NULL-terminated arena array.  Only what Postgres itself prints is handled.
 */
const char **cat_pg_array_parse(struct fl_arena *a, const char *s, int *n)
{
    size_t       len = strlen(s);
    const char **out = fl_alloc(a, sizeof(char *) * (len / 2 + 2));
    const char  *p = s + 1;
    int          k = 0;

    while (*p != '\0' && *p != '}') {
        struct fl_buf b;

        fl_buf_init(&b, a, 0);
        fl_buf_append(&b, "", 0);
        if (*p == '"') {
            for (p++; *p != '\0' && *p != '"'; p++) {
                if (*p == '\\' && p[1] != '\0') {
                    p++;
                }
                fl_buf_append(&b, p, 1);
            }
            p++;
        } else {
            for (; *p != '\0' && *p != ',' && *p != '}'; p++) {
                fl_buf_append(&b, p, 1);
            }
        }
        out[k++] = b.p;
        if (*p == ',') {
            p++;
        }
    }
    out[k] = NULL;
    *n = k;
    return out;
}

/*
 * Page tokens: base64url of "<scope> 0x1F <last name>", a dot, and the
 * first 16 bytes of its HMAC-SHA256 under the server's token key.  The
 * scope names the listing (which catalog, which parent), so a token is
 * good only for the listing that issued it and cannot be forged or edited.
 */
char *cat_token_encode(const struct cat_ctx *cx, const char *scope,
                       const char *name)
{
    const struct cat_settings *st = cx->settings;
    char                      *payload = fl_sprintf(cx->a, "%s\x1f%s", scope,
                                                    name);
    unsigned char              mac[32];

    fl_hmac_sha256(st->token_key, st->token_key_len, payload,
                   strlen(payload), mac);
    return fl_sprintf(cx->a, "%s.%s",
                      fl_base64url(cx->a, payload, strlen(payload)),
                      fl_base64url(cx->a, mac, 16));
}

/*
 * The last name of a token issued for `scope`.  Errors: 400
 * BadRequestException "invalid pageToken" for anything else.
 */
char *cat_token_decode(const struct cat_ctx *cx, const char *scope,
                       const char *token, struct fl_err *err)
{
    const struct cat_settings *st = cx->settings;
    const char                *dot = strrchr(token, '.');
    char                      *payload;
    unsigned char             *mac;
    unsigned char              want[32];
    size_t                     n;
    size_t                     mlen;
    size_t                     slen = strlen(scope);

    if (dot == NULL || strlen(token) > 4 * CAT_MAX_NAME) {
        goto bad;
    }
    payload = fl_base64url_decode(cx->a, fl_strndup(cx->a, token,
                                                    (size_t)(dot - token)),
                                  &n);
    mac = fl_base64url_decode(cx->a, dot + 1, &mlen);
    if (payload == NULL || mac == NULL || mlen != 16) {
        goto bad;
    }
    fl_hmac_sha256(st->token_key, st->token_key_len, payload, n, want);
    if (CRYPTO_memcmp(mac, want, 16) != 0 || n <= slen ||
        memcmp(payload, scope, slen) != 0 || payload[slen] != 0x1f ||
        memchr(payload, '\0', n) != NULL) {
        goto bad;
    }
    return payload + slen + 1;
bad:
    FL_ERR(err, 400, "BadRequestException", "invalid pageToken");
    return NULL;
}

/*
 * Load (creating it on first use) the server-wide secret `name`: random
 * bytes shared by every replica through Postgres.  Returns heap memory the
 * caller keeps for the life of the process.
 */
unsigned char *cat_secret_load(struct db_pool *pool, const char *name,
                               size_t *len, struct fl_err *err)
{
    DB_STMT(SECRET_PUT,
        "INSERT INTO server_secrets (name, value, created_ms)"
        " VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING");
    DB_STMT(SECRET_GET, "SELECT value FROM server_secrets WHERE name = $1");
    struct fl_arena *a = fl_arena_new(0);
    struct db_conn  *c = db_acquire(pool, a, err);
    struct db_rows  *r;
    unsigned char    raw[32];
    unsigned char   *out = NULL;
    size_t           n;
    void            *dec;

    fl_random_bytes(raw, sizeof(raw));
    if (c != NULL &&
        db_exec(c, &SECRET_PUT,
                DB_ARGS(name, fl_base64url(a, raw, sizeof(raw)),
                        cat_i64(a, fl_now_ms())), a, NULL, err) &&
        db_exec(c, &SECRET_GET, DB_ARGS(name), a, &r, err) &&
        r->nrows == 1 &&
        (dec = fl_base64url_decode(a, db_val(r, 0, 0), &n)) != NULL) {
        out = fl_xmalloc(n);
        memcpy(out, dec, n);
        *len = n;
    } else if (!fl_err_isset(err)) {
        FL_ERR(err, 500, "InternalServerError",
               "server secret \"%s\" is unreadable", name);
    }
    fl_arena_free(a);
    return out;
}

/*
 * Parse JSON text that Postgres returned (trusted: it was stored by us).
 * Returns a borrowed reference owned by the arena, or NULL for NULL text.
 */
json_t *cat_json_parse(struct fl_arena *a, const char *text)
{
    json_error_t je;
    json_t      *v;

    if (text == NULL) {
        return NULL;
    }
    v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    fl_assert(v != NULL);
    return fl_arena_own_json(a, v);
}

/* Compact JSON text of `v` in the arena (for jsonb parameters). */
char *cat_json_text(struct fl_arena *a, json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char *out;

    fl_assert(s != NULL);
    out = fl_strdup(a, s);
    free(s);
    return out;
}

/* Decimal text of `v` in the arena (for bigint parameters). */
char *cat_i64(struct fl_arena *a, int64_t v)
{
    return fl_sprintf(a, "%" PRId64, v);
}

/* "a.b.t": an identifier as Java renders a TableIdentifier. */
char *cat_ident_render(struct fl_arena *a, const struct cat_ident *id)
{
    if (id->nns == 0) {
        return fl_strdup(a, id->name);
    }
    return fl_sprintf(a, "%s.%s", cat_ns_render(a, id->ns, id->nns),
                      id->name);
}

/* One store per scheme for the life of the process. */
static struct sto     *file_sto;
static struct sto     *mem_sto;
static pthread_once_t  sto_once = PTHREAD_ONCE_INIT;

static void sto_init(void)
{
    struct fl_err err;

    fl_err_clear(&err);
    file_sto = sto_open("file", &err);
    mem_sto = sto_open("mem", &err);
}

/*
 * The object store that serves `uri`.  Errors: 400 BadRequestException for
 * a scheme this build cannot serve (S3 arrives with its own issue).
 */
struct sto *cat_sto(const char *uri, struct fl_err *err)
{
    pthread_once(&sto_once, sto_init);
    if (strncmp(uri, "file:", 5) == 0 && file_sto != NULL) {
        return file_sto;
    }
    if (strncmp(uri, "mem:", 4) == 0 && mem_sto != NULL) {
        return mem_sto;
    }
    FL_ERR(err, 400, "BadRequestException",
           "storage for \"%.200s\" is not supported by this server", uri);
    return NULL;
}

/* Gzip `n` bytes of `in` into an arena buffer (gzip framing). */
bool cat_gzip(struct fl_arena *a, const char *in, size_t n, char **out,
              size_t *outlen)
{
    z_stream z;
    size_t   cap = n + n / 100 + 64;
    int      rc;

    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        return false;
    }
    *out = fl_alloc(a, cap);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)*out;
    z.avail_out = (uInt)cap;
    rc = deflate(&z, Z_FINISH);
    *outlen = z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END;
}

/*
 * Gunzip `n` bytes into an arena buffer of at most `max` bytes (NUL
 * terminated).  Errors: 400 for data that is not gzip or too large.
 */
bool cat_gunzip(struct fl_arena *a, const char *in, size_t n, size_t max,
                char **out, size_t *outlen, struct fl_err *err)
{
    z_stream      z;
    struct fl_buf b;
    char          chunk[16384];
    int           rc = Z_OK;

    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 15 + 32) != Z_OK) {
        return FL_ERR(err, 500, "InternalServerError", "zlib failed");
    }
    fl_buf_init(&b, a, max);
    fl_buf_append(&b, "", 0);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    while (rc != Z_STREAM_END) {
        z.next_out = (Bytef *)chunk;
        z.avail_out = sizeof(chunk);
        rc = inflate(&z, Z_NO_FLUSH);
        if ((rc != Z_OK && rc != Z_STREAM_END) ||
            !fl_buf_append(&b, chunk, sizeof(chunk) - z.avail_out)) {
            inflateEnd(&z);
            return FL_ERR(err, 400, "BadRequestException",
                          "compressed metadata is corrupt or larger than "
                          "%zu bytes", max);
        }
    }
    inflateEnd(&z);
    *out = b.p;
    *outlen = b.len;
    return true;
}

/*
 * One keyset page of names under namespace `ns_id`: `st` takes ($1
 * namespace id, $2 the last name seen, $3 the limit or NULL for all, and
 * $4 `extra` when it is not NULL) and returns names in order.  The page
 * token is signed for `scope`.  Errors: 400 for a foreign or forged token.
 */
bool cat_name_page(struct cat_ctx *cx, struct db_stmt *st, const char *scope,
                   int64_t ns_id, const char *extra, const char *page_token,
                   int page_size, struct cat_table_page *out,
                   struct fl_err *err)
{
    struct db_rows *l;
    const char     *after = "";
    int             i;

    memset(out, 0, sizeof(*out));
    if (page_token != NULL && page_token[0] != '\0' &&
        (after = cat_token_decode(cx, scope, page_token, err)) == NULL) {
        return false;
    }
    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, st,
                 (const char *const[]){cat_i64(cx->a, ns_id), after,
                                       page_size > 0
                                           ? cat_i64(cx->a, page_size + 1)
                                           : NULL,
                                       extra},
                 extra ? 4 : 3, cx->a, &l, err)) {
        return false;
    }
    out->n = page_size > 0 && l->nrows > page_size ? page_size : l->nrows;
    out->names = fl_alloc(cx->a, sizeof(char *) * (size_t)(out->n + 1));
    for (i = 0; i < out->n; i++) {
        out->names[i] = db_val(l, i, 0);
    }
    if (out->n < l->nrows) {
        out->next_token = cat_token_encode(cx, scope,
                                           out->names[out->n - 1]);
    }
    return true;
}
