/*
 * srv_token.c
 *
 * The OAuth2 token endpoint (POST /api/catalog/v1/oauth/tokens, Polaris's
 * internal token broker) and the bearer-token check every other route
 * makes.  Tokens are JWTs signed HS256 with auth.token_secret, or RS256
 * with auth.private_key_file / auth.public_key_file; with neither, an
 * ephemeral HS256 key is drawn at startup (tokens then die with the
 * process).  The accepted algorithm is the configured one only: "none",
 * and HS256 tokens when RS256 is configured (key confusion), are refused.
 *
 * Claims: iss "floe", sub (principal name), principalId, client_id, scope
 * (the activated scope), realm, iat, exp, jti, active.
 */
#include "server/srv_int.h"

#include <string.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#define GRANT_CC       "client_credentials"
#define GRANT_EXCHANGE "urn:ietf:params:oauth:grant-type:token-exchange"
#define TOKEN_TYPE_AT  "urn:ietf:params:oauth:token-type:access_token"

static struct {
    bool           rs256;
    unsigned char  hs_key[64];
    size_t         hs_len;
    EVP_PKEY      *priv;
    EVP_PKEY      *pub;
    long           lifetime_s;
} tk;

static EVP_PKEY *pem_read(const char *path, bool private_key,
                          struct fl_err *err)
{
    FILE     *f = fopen(path, "r");
    EVP_PKEY *k;

    if (f == NULL) {
        FL_ERR(err, 500, "ConfigError", "cannot open key file %s", path);
        return NULL;
    }
    k = private_key ? PEM_read_PrivateKey(f, NULL, NULL, NULL)
                    : PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    if (k == NULL || EVP_PKEY_base_id(k) != EVP_PKEY_RSA) {
        EVP_PKEY_free(k);
        FL_ERR(err, 500, "ConfigError", "%s is not a PEM RSA %s key", path,
               private_key ? "private" : "public");
        return NULL;
    }
    return k;
}

bool srv_token_init(struct srv *s, struct fl_err *err)
{
    const struct srv_config *c = s->cfg;

    memset(&tk, 0, sizeof(tk));
    tk.lifetime_s = c->auth_token_lifetime_s;
    if (c->auth_private_key_file[0] != '\0') {
        tk.rs256 = true;
        tk.priv = pem_read(c->auth_private_key_file, true, err);
        if (tk.priv == NULL) {
            return false;
        }
        if (c->auth_public_key_file[0] != '\0') {
            tk.pub = pem_read(c->auth_public_key_file, false, err);
            if (tk.pub == NULL) {
                return false;
            }
        } else {
            EVP_PKEY_up_ref(tk.priv);
            tk.pub = tk.priv;
        }
        return true;
    }
    if (c->auth_token_secret[0] != '\0') {
        if (strlen(c->auth_token_secret) < 32) {
            return FL_ERR(err, 500, "ConfigError",
                          "auth.token_secret must be at least 32 characters");
        }
        /* the configured text, hashed to a fixed-size HMAC key */
        fl_hmac_sha256("floe-jwt", 8, c->auth_token_secret,
                       strlen(c->auth_token_secret), tk.hs_key);
        tk.hs_len = 32;
        return true;
    }
    fl_random_bytes(tk.hs_key, 32);
    tk.hs_len = 32;
    fl_log(FL_LOG_WARN, "no auth.token_secret or auth.private_key_file: "
           "tokens are signed with an ephemeral key and end with this "
           "process");
    return true;
}

/* ------------------------------------------------------------------ JWT */

static bool sign(struct fl_arena *a, const char *input, char **sig)
{
    unsigned char  mac[32];
    unsigned char *buf;
    size_t         n = 0;
    EVP_MD_CTX    *ctx;
    bool           ok;

    if (!tk.rs256) {
        fl_hmac_sha256(tk.hs_key, tk.hs_len, input, strlen(input), mac);
        *sig = fl_base64url(a, mac, sizeof(mac));
        return true;
    }
    ctx = EVP_MD_CTX_new();
    ok = ctx != NULL &&
         EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, tk.priv) == 1 &&
         EVP_DigestSign(ctx, NULL, &n, (const unsigned char *)input,
                        strlen(input)) == 1;
    buf = ok ? fl_alloc(a, n) : NULL;
    ok = ok && EVP_DigestSign(ctx, buf, &n, (const unsigned char *)input,
                              strlen(input)) == 1;
    EVP_MD_CTX_free(ctx);
    if (ok) {
        *sig = fl_base64url(a, buf, n);
    }
    return ok;
}

static bool verify(struct fl_arena *a, const char *input, size_t n,
                   const char *sig)
{
    unsigned char  mac[32];
    unsigned char *raw;
    size_t         rawlen;
    EVP_MD_CTX    *ctx;
    bool           ok;

    raw = fl_base64url_decode(a, sig, &rawlen);
    if (raw == NULL) {
        return false;
    }
    if (!tk.rs256) {
        fl_hmac_sha256(tk.hs_key, tk.hs_len, input, n, mac);
        return rawlen == sizeof(mac) && CRYPTO_memcmp(raw, mac, 32) == 0;
    }
    ctx = EVP_MD_CTX_new();
    ok = ctx != NULL &&
         EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, tk.pub) == 1 &&
         EVP_DigestVerify(ctx, raw, rawlen, (const unsigned char *)input,
                          n) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static char *b64json(struct fl_arena *a, json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *out = fl_base64url(a, s, strlen(s));

    free(s);
    json_decref(v);
    return out;
}

/* A signed token for the principal with `scope` activated. */
static char *token_issue(struct srv_req *req, int64_t principal_id,
                         const char *name, const char *client_id,
                         const char *scope)
{
    struct fl_arena *a = req->a;
    int64_t          now = fl_now_ms() / 1000;
    char             jti[37];
    char            *input, *sig;

    fl_uuid_v4(jti);
    input = fl_sprintf(a, "%s.%s",
                       b64json(a, json_pack("{ss ss}", "alg",
                                            tk.rs256 ? "RS256" : "HS256",
                                            "typ", "JWT")),
                       b64json(a, json_pack(
                           "{ss ss sI ss ss ss sI sI ss sb}", "iss", "floe",
                           "sub", name, "principalId", (json_int_t)principal_id,
                           "client_id", client_id ? client_id : "",
                           "scope", scope, "realm", req->cx.realm,
                           "iat", (json_int_t)now,
                           "exp", (json_int_t)(now + tk.lifetime_s),
                           "jti", jti, "active", 1)));
    if (!sign(a, input, &sig)) {
        return NULL;
    }
    return fl_sprintf(a, "%s.%s", input, sig);
}

/* The claims of a valid token of this realm, else NULL (reason set). */
static json_t *token_claims(struct srv_req *req, const char *tok,
                            const char **why)
{
    const char *d1 = strchr(tok, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    const char *alg, *realm, *iss;
    json_t     *hdr, *claims;
    json_int_t  exp;
    void       *raw;
    size_t      n;

    *why = "malformed token";
    if (d1 == NULL || d2 == NULL || strchr(d2 + 1, '.') != NULL) {
        return NULL;
    }
    raw = fl_base64url_decode(req->a, fl_strndup(req->a, tok,
                                                 (size_t)(d1 - tok)), &n);
    hdr = raw ? fl_arena_own_json(req->a, json_loadb(raw, n, 0, NULL))
              : NULL;
    alg = hdr ? json_string_value(json_object_get(hdr, "alg")) : NULL;
    if (alg == NULL) {
        return NULL;
    }
    if (strcmp(alg, tk.rs256 ? "RS256" : "HS256") != 0) {
        *why = "token algorithm not accepted";
        return NULL;
    }
    if (!verify(req->a, tok, (size_t)(d2 - tok), d2 + 1)) {
        *why = "token signature does not verify";
        return NULL;
    }
    raw = fl_base64url_decode(req->a, fl_strndup(req->a, d1 + 1,
                                                 (size_t)(d2 - d1 - 1)), &n);
    claims = raw ? fl_arena_own_json(req->a, json_loadb(raw, n, 0, NULL))
                 : NULL;
    if (!json_is_object(claims)) {
        return NULL;
    }
    iss = json_string_value(json_object_get(claims, "iss"));
    realm = json_string_value(json_object_get(claims, "realm"));
    exp = json_integer_value(json_object_get(claims, "exp"));
    if (iss == NULL || strcmp(iss, "floe") != 0 ||
        !json_is_true(json_object_get(claims, "active")) ||
        !json_is_integer(json_object_get(claims, "principalId")) ||
        !json_is_string(json_object_get(claims, "scope"))) {
        *why = "token claims not accepted";
        return NULL;
    }
    if (exp <= fl_now_ms() / 1000) {
        *why = "token expired";
        return NULL;
    }
    if (realm == NULL || strcmp(realm, req->cx.realm) != 0) {
        *why = "token issued for another realm";
        return NULL;
    }
    return claims;
}

static bool unauthorized(struct srv_req *req, const char *why,
                         struct fl_err *err)
{
    srv_req_header_add(req, "WWW-Authenticate", "Bearer");
    return FL_ERR(err, 401, "NotAuthorizedException",
                  "Not authorized: %s", why);
}

/*
 * Authenticate the request's bearer token: req->who is the principal with
 * the token's scope activated.  401 NotAuthorizedException otherwise.
 */
bool srv_authenticate(struct srv_req *req, struct fl_err *err)
{
    const char *h = srv_req_header(req, "Authorization");
    const char *why;
    json_t     *claims;

    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0') {
        return unauthorized(req, "missing bearer token", err);
    }
    claims = token_claims(req, h + 7, &why);
    if (claims == NULL) {
        return unauthorized(req, why, err);
    }
    if (!acc_caller_load(&req->cx,
                         json_integer_value(json_object_get(claims,
                                                            "principalId")),
                         json_string_value(json_object_get(claims, "scope")),
                         false, &req->who, err)) {
        if (err->status == 401) {
            srv_req_header_add(req, "WWW-Authenticate", "Bearer");
        }
        return false;
    }
    req->authed = true;
    return true;
}

/* ------------------------------------------------------- token endpoint */

struct form {
    const char *grant_type, *client_id, *client_secret, *scope;
    const char *subject_token, *subject_token_type;
};

/* application/x-www-form-urlencoded body -> the fields we know */
static bool form_parse(struct srv_req *req, struct form *f,
                       struct fl_err *err)
{
    const char *p = req->body.p ? req->body.p : "";
    const char *amp, *eq;
    char       *k, *v;

    memset(f, 0, sizeof(*f));
    while (*p != '\0') {
        amp = strchr(p, '&');
        if (amp == NULL) {
            amp = p + strlen(p);
        }
        eq = memchr(p, '=', (size_t)(amp - p));
        if (eq != NULL) {
            k = srv_url_decode(req->a, p, (size_t)(eq - p), true, err);
            v = k ? srv_url_decode(req->a, eq + 1, (size_t)(amp - eq - 1),
                                   true, err)
                  : NULL;
            if (v == NULL) {
                return false;
            }
            if (strcmp(k, "grant_type") == 0) f->grant_type = v;
            else if (strcmp(k, "client_id") == 0) f->client_id = v;
            else if (strcmp(k, "client_secret") == 0) f->client_secret = v;
            else if (strcmp(k, "scope") == 0) f->scope = v;
            else if (strcmp(k, "subject_token") == 0) f->subject_token = v;
            else if (strcmp(k, "subject_token_type") == 0) {
                f->subject_token_type = v;
            }
        }
        p = *amp ? amp + 1 : amp;
    }
    return true;
}

/* Authorization: Basic base64(id:secret), standard base64 */
static bool basic_parse(struct srv_req *req, struct form *f)
{
    const char    *h = srv_req_header(req, "Authorization");
    unsigned char *out;
    char          *colon, *id, *secret;
    int            n;
    size_t         len;

    if (h == NULL || strncasecmp(h, "Basic ", 6) != 0) {
        return false;
    }
    len = strlen(h + 6);
    out = fl_alloc(req->a, len + 1);
    n = EVP_DecodeBlock(out, (const unsigned char *)h + 6, (int)len);
    if (n < 0) {
        return false;
    }
    while (len > 0 && h[6 + len - 1] == '=' && n > 0) {
        n--, len--;
    }
    out[n] = '\0';
    colon = strchr((char *)out, ':');
    if (colon == NULL) {
        return false;
    }
    *colon = '\0';
    id = srv_url_decode(req->a, (char *)out, strlen((char *)out), true, NULL);
    secret = srv_url_decode(req->a, colon + 1, strlen(colon + 1), true, NULL);
    f->client_id = id ? id : (char *)out;
    f->client_secret = secret ? secret : colon + 1;
    if (f->grant_type == NULL) {
        f->grant_type = GRANT_CC;
    }
    return true;
}

static json_t *oauth_error(struct srv_req *req, int status, const char *code,
                           const char *desc)
{
    req->status = status;
    return json_pack("{ss ss}", "error", code, "error_description", desc);
}

static json_t *issue(struct srv_req *req, int64_t pid, const char *name,
                     const char *client_id, const char *scope)
{
    struct fl_err err;
    char         *tok;

    fl_err_clear(&err);
    if (!acc_caller_load(&req->cx, pid, scope, true, &req->who, &err)) {
        return err.status == 400
                   ? oauth_error(req, 400, "invalid_scope", err.msg)
                   : oauth_error(req, 401, "unauthorized_client", err.msg);
    }
    tok = token_issue(req, pid, name, client_id, scope);
    if (tok == NULL) {
        return oauth_error(req, 500, "server_error", "cannot sign a token");
    }
    req->authed = true;
    srv_req_header_add(req, "Cache-Control", "no-store");
    return json_pack("{ss ss ss sI}", "access_token", tok, "token_type",
                     "bearer", "issued_token_type", TOKEN_TYPE_AT,
                     "expires_in", (json_int_t)tk.lifetime_s);
}

/* token exchange: a valid token of ours, reissued (narrower scope) */
static json_t *exchange(struct srv_req *req, struct form *f)
{
    const char *why;
    json_t     *claims;

    if (f->subject_token == NULL || f->subject_token_type == NULL ||
        strcmp(f->subject_token_type, TOKEN_TYPE_AT) != 0) {
        return oauth_error(req, 400, "invalid_request",
                           "subject_token and subject_token_type "
                           TOKEN_TYPE_AT " are required");
    }
    claims = token_claims(req, f->subject_token, &why);
    if (claims == NULL) {
        return oauth_error(req, 401, "unauthorized_client", why);
    }
    if (f->scope == NULL) {
        f->scope = json_string_value(json_object_get(claims, "scope"));
    }
    return issue(req, json_integer_value(json_object_get(claims,
                                                         "principalId")),
                 json_string_value(json_object_get(claims, "sub")),
                 json_string_value(json_object_get(claims, "client_id")),
                 f->scope);
}

/*
 * spec: getToken (Polaris token broker).  client_credentials with form
 * fields or HTTP Basic, or token exchange.  OAuth error bodies: 401
 * unauthorized_client for bad credentials, 400 for the rest.
 */
json_t *srv_h_token(struct srv_req *req, struct fl_err *err)
{
    struct form f;
    int64_t     pid;
    const char *name;
    struct fl_err e2;

    (void)err;
    fl_err_clear(&e2);
    if (!form_parse(req, &f, &e2)) {
        return oauth_error(req, 400, "invalid_request", e2.msg);
    }
    basic_parse(req, &f);
    if (f.grant_type == NULL) {
        return oauth_error(req, 400, "invalid_request",
                           "grant_type is required");
    }
    if (f.scope != NULL && !acc_scope_valid(f.scope)) {
        return oauth_error(req, 400, "invalid_scope",
                           "scope must be PRINCIPAL_ROLE:ALL or "
                           "PRINCIPAL_ROLE:<name> items");
    }
    if (strcmp(f.grant_type, GRANT_EXCHANGE) == 0) {
        return exchange(req, &f);
    }
    if (strcmp(f.grant_type, GRANT_CC) != 0) {
        return oauth_error(req, 400, "unsupported_grant_type",
                           "grant_type must be client_credentials or "
                           "token exchange");
    }
    if (f.client_id == NULL || f.client_secret == NULL) {
        return oauth_error(req, 400, "invalid_client",
                           "client_id and client_secret are required");
    }
    if (f.scope == NULL) {
        return oauth_error(req, 400, "invalid_scope", "scope is required");
    }
    if (!acc_client_check(&req->cx, f.client_id, f.client_secret, &pid,
                          &name, &e2)) {
        return e2.status == 401
                   ? oauth_error(req, 401, "unauthorized_client",
                                 "invalid client credentials")
                   : oauth_error(req, e2.status, "server_error", e2.msg);
    }
    return issue(req, pid, name, f.client_id, f.scope);
}
