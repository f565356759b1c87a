/*
 * srv_bootstrap.c
 *
 * Root credentials per realm (Polaris's bootstrap): `floe bootstrap`, and
 * `bootstrap.credentials` / FLOE_BOOTSTRAP_CREDENTIALS
 * ("realm,clientId,clientSecret[;...]") applied when the server starts.
 * Idempotent: a realm that has its root principal is left alone.
 */
#include "server/srv_int.h"

#include <stdio.h>
#include <string.h>

static bool realm_known(const struct srv *s, const char *realm)
{
    int i;

    for (i = 0; i < s->settings.nrealms; i++) {
        if (strcmp(s->settings.realms[i], realm) == 0) {
            return true;
        }
    }
    return false;
}

/* Bootstrap one realm; prints what happened when `print`. */
static bool one(struct srv *s, const char *realm, const char *id,
                const char *secret, bool print, struct fl_err *err)
{
    struct fl_arena *a = fl_arena_new(0);
    struct cat_ctx   cx = {a, s->pool, NULL, realm, &s->settings};
    const char      *oid, *osecret;
    bool             created, ok;

    ok = acc_bootstrap(&cx, id, secret, &created, &oid, &osecret, err);
    if (ok && print) {
        if (!created) {
            printf("realm: %s already bootstrapped\n", realm);
        } else if (id == NULL) {
            printf("realm: %s root principal credentials: %s:%s\n", realm,
                   oid, osecret);
        } else {
            printf("realm: %s root principal created (client id %s)\n",
                   realm, oid);
        }
    } else if (ok && created) {
        fl_log(FL_LOG_INFO, "realm %s bootstrapped: root principal created",
               realm);
    }
    fl_arena_free(a);
    return ok;
}

/*
 * Apply "realm,id,secret;..." (each realm must be configured).  With
 * `spec` empty, bootstrap every realm of `only` (or all when NULL) with
 * generated credentials, printed once.
 */
bool srv_bootstrap(struct srv *s, const char *spec, const char *only,
                   bool print, struct fl_err *err)
{
    struct fl_arena *a = fl_arena_new(0);
    char            *list = fl_strdup(a, spec ? spec : "");
    char            *item, *save = NULL, *f[3], *p;
    int              i, n;
    bool             ok = true;

    for (item = strtok_r(list, ";", &save); ok && item != NULL;
         item = strtok_r(NULL, ";", &save)) {
        for (n = 0, p = item; n < 3 && p != NULL; n++) {
            f[n] = p;
            p = strchr(p, ',');
            if (p != NULL) {
                *p++ = '\0';
            }
        }
        if (n != 3 || p != NULL || f[0][0] == '\0' || f[1][0] == '\0' ||
            f[2][0] == '\0') {
            ok = FL_ERR(err, 400, "ConfigError",
                        "bootstrap credentials must be "
                        "realm,clientId,clientSecret[;...]");
        } else if (!realm_known(s, f[0])) {
            ok = FL_ERR(err, 400, "ConfigError",
                        "bootstrap credentials name realm \"%s\", which is "
                        "not in `realms`", f[0]);
        } else if (only == NULL || strcmp(only, f[0]) == 0) {
            ok = one(s, f[0], f[1], f[2], print, err);
        }
    }
    for (i = 0; ok && (spec == NULL || spec[0] == '\0') &&
                i < s->settings.nrealms; i++) {
        if (only == NULL || strcmp(only, s->settings.realms[i]) == 0) {
            ok = one(s, s->settings.realms[i], NULL, NULL, print, err);
        }
    }
    fl_arena_free(a);
    return ok;
}
