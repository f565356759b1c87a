/*
 * srv_dev.c
 *
 * `floe dev`, the embedded default that `make run` starts: a private
 * Postgres cluster under ./.floe (initdb on first use, reused afterwards),
 * the schema migrated, a `demo` catalog on a file:// warehouse under
 * ./.floe/warehouse, the engine configuration printed, and the catalog served
 * on 127.0.0.1:8181 until Ctrl-C, which drains requests and stops Postgres.
 *
 * Postgres refuses to run as root, so as root the cluster runs as the
 * `postgres` system user (created by Debian's postgresql package).  When
 * that user cannot reach ./.floe (a project under /root), the cluster lives
 * in /var/lib/floe-dev/<hash of the project path> instead, linked from
 * ./.floe/pgdata, so a second `floe dev` still finds the same data.
 */
#include "server/srv_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct dev {
    char           *root;               /* absolute ./.floe */
    char           *pgdata;             /* cluster data directory */
    char           *sock;               /* unix socket directory */
    char            initdb[PATH_MAX];
    char            pg_ctl[PATH_MAX];
    char           *log;
    struct passwd  *pw;                 /* run Postgres as; NULL = as we are */
    uid_t           uid;
    gid_t           gid;
    int             port;
    const char     *cred;               /* root "clientId:clientSecret" */
    struct fl_arena *a;
};

/* ------------------------------------------------------------- binaries */

static bool on_path(const char *name, char *out, size_t n)
{
    const char *path = getenv("PATH");
    char       *copy;
    char       *dir;
    char       *save = NULL;
    bool        found = false;

    if (path == NULL) {
        return false;
    }
    copy = fl_xstrdup(path);
    for (dir = strtok_r(copy, ":", &save); dir != NULL && !found;
         dir = strtok_r(NULL, ":", &save)) {
        snprintf(out, n, "%s/%s", dir, name);
        found = access(out, X_OK) == 0;
    }
    free(copy);
    return found;
}

/* initdb/pg_ctl: on PATH, else the newest /usr/lib/postgresql/N/bin. */
static bool find_pg(const char *name, char *out, size_t n)
{
    DIR           *d;
    struct dirent *e;
    long           best = -1;
    char           cand[PATH_MAX];

    if (on_path(name, out, n)) {
        return true;
    }
    d = opendir("/usr/lib/postgresql");
    if (d == NULL) {
        return false;
    }
    while ((e = readdir(d)) != NULL) {
        int64_t v;

        if (!fl_parse_i64(e->d_name, 1, 1000, &v) || v <= best) {
            continue;
        }
        snprintf(cand, sizeof(cand), "/usr/lib/postgresql/%s/bin/%s",
                 e->d_name, name);
        if (access(cand, X_OK) == 0) {
            best = (long)v;
            snprintf(out, n, "%s", cand);
        }
    }
    closedir(d);
    return best > 0;
}

/* --------------------------------------------------------------- running */

/*
 * Run argv as the cluster's user, in a session of its own (so the
 * terminal's Ctrl-C reaches floe, which then stops Postgres in order),
 * with output appended to the dev log.  Returns the exit status.
 */
static int run(struct dev *d, const char *const argv[])
{
    pid_t pid;
    int   st = 0;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0644);

        setsid();
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        if (d->pw != NULL &&
            (setgid(d->gid) != 0 || initgroups(d->pw->pw_name, d->gid) != 0 ||
             setuid(d->uid) != 0)) {
            _exit(126);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Can the cluster's user traverse to `dir`?  Checked in a child. */
static bool reachable(struct dev *d, const char *dir)
{
    pid_t pid;
    int   st = 0;

    if (d->pw == NULL) {
        return true;
    }
    pid = fork();
    if (pid == 0) {
        if (setgid(d->gid) != 0 || setuid(d->uid) != 0) {
            _exit(1);
        }
        _exit(access(dir, X_OK) == 0 ? 0 : 1);
    }
    waitpid(pid, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static bool mkdir_owned(struct dev *d, const char *dir, mode_t mode)
{
    if (mkdir(dir, mode) != 0 && errno != EEXIST) {
        fprintf(stderr, "floe dev: could not create %s: %s\n", dir,
                strerror(errno));
        return false;
    }
    if (d->pw != NULL && chown(dir, d->uid, d->gid) != 0) {
        fprintf(stderr, "floe dev: could not hand %s to user %s: %s\n", dir,
                d->pw->pw_name, strerror(errno));
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ the cluster */

static uint64_t path_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    }
    return h;
}

/* Choose where the data directory and socket live (see file comment). */
static bool place(struct dev *d)
{
    uint64_t    h = path_hash(d->root);
    const char *link = fl_sprintf(d->a, "%s/pgdata", d->root);
    const char *alt;

    d->pgdata = fl_sprintf(d->a, "%s/pgdata", d->root);
    d->sock = fl_sprintf(d->a, "%s/run", d->root);
    if (!reachable(d, d->root)) {
        alt = fl_sprintf(d->a, "/var/lib/floe-dev/%016llx",
                         (unsigned long long)h);
        if (mkdir("/var/lib/floe-dev", 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "floe dev: user %s cannot reach %s and "
                    "/var/lib/floe-dev cannot be created\n", d->pw->pw_name,
                    d->root);
            return false;
        }
        if (!mkdir_owned(d, alt, 0700)) {
            return false;
        }
        d->pgdata = fl_sprintf(d->a, "%s/pgdata", alt);
        d->sock = fl_sprintf(d->a, "%s/run", alt);
        if (symlink(d->pgdata, link) != 0 && errno != EEXIST) {
            fl_log(FL_LOG_WARN, "could not link %s to %s", link, d->pgdata);
        }
        printf("note: user %s cannot reach %s, so the cluster lives in %s\n",
               d->pw->pw_name, d->root, alt);
    }
    if (strlen(d->sock) > 80) {
        d->sock = fl_sprintf(d->a, "/tmp/floe-dev-%016llx",
                             (unsigned long long)h);
    }
    return mkdir_owned(d, d->sock, 0700);
}

static bool cluster_init(struct dev *d)
{
    const char *ver = fl_sprintf(d->a, "%s/PG_VERSION", d->pgdata);
    const char *argv[] = {d->initdb, "-D", d->pgdata, "-U", "postgres",
                          "--auth=trust", "-E", "UTF8", "--locale=C", NULL};

    if (access(ver, F_OK) == 0) {
        return true;
    }
    printf("initialising a private Postgres cluster in %s\n", d->pgdata);
    if (!mkdir_owned(d, d->pgdata, 0700) || run(d, argv) != 0) {
        fprintf(stderr, "floe dev: initdb failed; see %s\n", d->log);
        return false;
    }
    return true;
}

static bool cluster_running(struct dev *d)
{
    const char *argv[] = {d->pg_ctl, "-D", d->pgdata, "status", NULL};

    return run(d, argv) == 0;
}

static bool cluster_start(struct dev *d)
{
    const char *pglog = fl_sprintf(d->a, "%s/postgres.log", d->sock);
    const char *opts = fl_sprintf(d->a, "-c listen_addresses='' "
                                  "-c unix_socket_directories='%s' "
                                  "-c port=%d", d->sock, d->port);
    const char *argv[] = {d->pg_ctl, "-D", d->pgdata, "-l", pglog, "-w",
                          "-t", "60", "-o", opts, "start", NULL};

    if (cluster_running(d)) {
        printf("reusing the running Postgres cluster in %s\n", d->pgdata);
        return true;
    }
    if (run(d, argv) != 0) {
        fprintf(stderr, "floe dev: Postgres did not start; see %s\n", pglog);
        return false;
    }
    return true;
}

static void cluster_stop(struct dev *d)
{
    const char *argv[] = {d->pg_ctl, "-D", d->pgdata, "-m", "fast", "-w",
                          "stop", NULL};

    if (run(d, argv) == 0) {
        printf("stopped the private Postgres cluster\n");
    }
}

/* --------------------------------------------------------- demo catalog */

static bool demo_catalog(struct srv *s, struct dev *d)
{
    struct fl_arena   *a = fl_arena_new(0);
    struct cat_ctx     cx = {a, s->pool, NULL, s->settings.realms[0],
                             &s->settings};
    struct cat_catalog c;
    struct fl_err      err;
    json_t            *v;
    char              *wh = fl_sprintf(a, "%s/warehouse", d->root);
    bool               ok = true;

    fl_err_clear(&err);
    mkdir(wh, 0755);
    if (!cat_catalog_get(&cx, "demo", &c, &err)) {
        if (err.status != 404) {
            fprintf(stderr, "floe dev: %s\n", err.msg);
            fl_arena_free(a);
            return false;
        }
        fl_err_clear(&err);
        v = json_pack("{ss ss s{ss} s{ss}}", "type", "INTERNAL",
                      "name", "demo",
                      "properties", "default-base-location",
                      fl_sprintf(a, "file://%s", wh),
                      "storageConfigInfo", "storageType", "FILE");
        fl_arena_own_json(a, v);
        ok = cat_catalog_from_json(&cx, v, &c, &err) &&
             cat_conn(&cx, &err) != NULL && db_begin(cx.conn, &err) &&
             cat_catalog_create(&cx, &c, &err) &&
             acc_catalog_created(&cx, c.id, true, &err) &&
             db_commit(cx.conn, &err);
        if (!ok && cx.conn != NULL && db_in_transaction(cx.conn)) {
            db_rollback(cx.conn);
        }
        if (!ok) {
            fprintf(stderr, "floe dev: could not create the demo catalog: "
                    "%s\n", err.msg);
        }
    }
    fl_arena_free(a);
    return ok;
}

static void print_engines(const char *host, int port, const char *wh,
                          const char *cred)
{
    printf(
"\n"
"Floe is serving the Iceberg REST catalog at http://%s:%d/api/catalog\n"
"catalog (warehouse) \"demo\" stores tables under file://%s/warehouse\n"
"root principal credentials (client id:secret): %s\n"
"\n"
"Spark:\n"
"  --conf spark.sql.catalog.demo=org.apache.iceberg.spark.SparkCatalog \\\n"
"  --conf spark.sql.catalog.demo.type=rest \\\n"
"  --conf spark.sql.catalog.demo.uri=http://%s:%d/api/catalog \\\n"
"  --conf spark.sql.catalog.demo.warehouse=demo \\\n"
"  --conf spark.sql.catalog.demo.credential=%s \\\n"
"  --conf spark.sql.catalog.demo.scope=PRINCIPAL_ROLE:ALL\n"
"\n"
"Trino (etc/catalog/demo.properties):\n"
"  connector.name=iceberg\n"
"  iceberg.catalog.type=rest\n"
"  iceberg.rest-catalog.uri=http://%s:%d/api/catalog\n"
"  iceberg.rest-catalog.warehouse=demo\n"
"  iceberg.rest-catalog.security=OAUTH2\n"
"  iceberg.rest-catalog.oauth2.credential=%s\n"
"  iceberg.rest-catalog.oauth2.scope=PRINCIPAL_ROLE:ALL\n"
"  fs.native-local.enabled=true\n"
"  local.location=/\n"
"\n"
"PyIceberg:\n"
"  from pyiceberg.catalog import load_catalog\n"
"  cat = load_catalog(\"demo\", type=\"rest\",\n"
"                     uri=\"http://%s:%d/api/catalog\", warehouse=\"demo\",\n"
"                     credential=\"%s\", scope=\"PRINCIPAL_ROLE:ALL\")\n"
"\n"
"curl:\n"
"  TOKEN=$(curl -s http://%s:%d/api/catalog/v1/oauth/tokens \\\n"
"    -d grant_type=client_credentials -d scope=PRINCIPAL_ROLE:ALL \\\n"
"    -u '%s' | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')\n"
"  curl -H \"Authorization: Bearer $TOKEN\" \\\n"
"    'http://%s:%d/api/catalog/v1/config?warehouse=demo'\n"
"\n"
"Press Ctrl-C to stop (Postgres stops too; data stays in .floe/).\n\n",
        host, port, wh, cred, host, port, cred, host, port, cred, host, port,
        cred, host, port, cred, host, port);
    fflush(stdout);
}

static bool on_ready(struct srv *s, void *ctx)
{
    struct dev *d = ctx;

    if (!demo_catalog(s, d)) {
        return false;
    }
    print_engines(s->cfg->listen_address, s->port, d->root, d->cred);
    return true;
}

/* ------------------------------------------------------------- secrets */

/* The first line of `path`, or NULL. */
static char *read_line(struct fl_arena *a, const char *path)
{
    FILE *f = fopen(path, "r");
    char  line[512];

    if (f == NULL) {
        return NULL;
    }
    if (fgets(line, sizeof(line), f) == NULL) {
        line[0] = '\0';
    }
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    return line[0] ? fl_strdup(a, line) : NULL;
}

/* `value` into a new file readable by its owner only. */
static bool write_private(const char *path, const char *value)
{
    int  fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    bool ok;

    if (fd < 0) {
        fprintf(stderr, "floe dev: could not create %s: %s\n", path,
                strerror(errno));
        return false;
    }
    ok = write(fd, value, strlen(value)) == (ssize_t)strlen(value) &&
         write(fd, "\n", 1) == 1;
    close(fd);
    return ok;
}

/* A value kept in .floe/NAME, made by `make` on first use. */
static char *kept(struct dev *d, const char *name, const char *made)
{
    char *path = fl_sprintf(d->a, "%s/%s", d->root, name);
    char *v = read_line(d->a, path);

    if (v == NULL && write_private(path, made)) {
        v = fl_strdup(d->a, made);
    }
    return v;
}

/*
 * Root credentials of the default realm: FLOE_BOOTSTRAP_CREDENTIALS when
 * it names that realm, else kept in .floe/root-credentials so every run
 * prints the same ones; and a token key kept in .floe/token-secret so
 * tokens survive restarts (unless keys are configured).
 */
static bool dev_secrets(struct dev *d, struct srv_config *cfg,
                        struct fl_err *err)
{
    const char *realm = fl_strndup(d->a, cfg->realms,
                                   strcspn(cfg->realms, ","));
    const char *spec = cfg->bootstrap_credentials;
    const char *p = strstr(spec, fl_sprintf(d->a, "%s,", realm));
    char       *cred, *colon, *key;

    if (p != NULL && (p == spec || p[-1] == ';')) {
        cred = fl_strndup(d->a, p + strlen(realm) + 1,
                          strcspn(p + strlen(realm) + 1, ";"));
        colon = strchr(cred, ',');
        if (colon != NULL) {
            *colon = ':';
        }
        d->cred = cred;
    } else {
        d->cred = kept(d, "root-credentials",
                       fl_sprintf(d->a, "%s:%s", acc_new_client_id(d->a),
                                  acc_new_secret(d->a)));
        colon = d->cred ? strchr(d->cred, ':') : NULL;
        if (colon == NULL) {
            return FL_ERR(err, 500, "ConfigError",
                          "%s/root-credentials is not id:secret", d->root);
        }
        if (!srv_config_set(cfg, "bootstrap.credentials",
                            fl_sprintf(d->a, "%s%s%s,%.*s,%s", spec,
                                       spec[0] ? ";" : "", realm,
                                       (int)(colon - d->cred), d->cred,
                                       colon + 1), err)) {
            return false;
        }
    }
    if (cfg->auth_token_secret[0] == '\0' &&
        cfg->auth_private_key_file[0] == '\0') {
        key = kept(d, "token-secret", acc_new_secret(d->a));
        if (key == NULL || strlen(key) < 32 ||
            !srv_config_set(cfg, "auth.token_secret", key, err)) {
            return fl_err_isset(err) ||
                   FL_ERR(err, 500, "ConfigError",
                          "%s/token-secret is unusable", d->root);
        }
    }
    return true;
}

/* --------------------------------------------------------------- command */

static bool dev_setup(struct dev *d, const char *dir)
{
    char *abs;

    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "floe dev: could not create %s: %s\n", dir,
                strerror(errno));
        return false;
    }
    abs = realpath(dir, NULL);
    if (abs == NULL) {
        return false;
    }
    d->root = fl_strdup(d->a, abs);
    free(abs);
    d->log = fl_sprintf(d->a, "%s/postgres-tools.log", d->root);
    if (!find_pg("initdb", d->initdb, sizeof(d->initdb)) ||
        !find_pg("pg_ctl", d->pg_ctl, sizeof(d->pg_ctl))) {
        fprintf(stderr, "floe dev: initdb and pg_ctl were not found on PATH "
                "or under /usr/lib/postgresql/*/bin; install the "
                "postgresql package (apt-get install postgresql)\n");
        return false;
    }
    if (geteuid() == 0) {
        d->pw = getpwnam("postgres");
        if (d->pw == NULL) {
            fprintf(stderr, "floe dev: Postgres refuses to run as root and "
                    "there is no 'postgres' user to run it as; install the "
                    "postgresql package or run floe dev as a normal user\n");
            return false;
        }
        d->uid = d->pw->pw_uid;
        d->gid = d->pw->pw_gid;
    }
    return place(d);
}

/*
 * `floe dev [--dir DIR] [--port N] [-c FILE]`.  Returns the exit status.
 */
int srv_dev_main(int argc, char **argv)
{
    struct dev        d;
    struct srv_config cfg;
    const char       *dir = ".floe";
    const char       *port = "8181";
    const char       *path = NULL;
    struct fl_err     err;
    int               i;
    int               rc = 1;

    memset(&d, 0, sizeof(d));
    fl_err_clear(&err);
    d.port = 5432;
    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = argv[++i];
        } else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else {
            fprintf(stderr, "floe dev: unexpected argument \"%s\"\n",
                    argv[i]);
            return 2;
        }
    }
    if (!srv_config_read(&cfg, path) ||
        !srv_config_set(&cfg, "listen.port", port, &err)) {
        fprintf(stderr, "floe dev: %s\n", err.msg);
        srv_config_free(&cfg);
        return 1;
    }
    d.a = fl_arena_new(0);
    if (dev_setup(&d, dir) && cluster_init(&d) && cluster_start(&d)) {
        char *admin = fl_sprintf(d.a, "host=%s port=%d dbname=postgres "
                                 "user=postgres", d.sock, d.port);
        char *url = fl_sprintf(d.a, "host=%s port=%d dbname=floe "
                               "user=postgres", d.sock, d.port);
        struct db_migration_status st;

        if (!db_database_ensure(admin, "floe", &err) ||
            !db_migrate(url, db_migrations_find(cfg.db_migrations_dir, d.a),
                        true, &st, &err)) {
            fprintf(stderr, "floe dev: %s\n", err.msg);
        } else {
            srv_config_set(&cfg, "db.url", url, &err);
            /* a playground: maintenance checks every minute unless the
             * interval was configured */
            if (cfg.maintenance_interval_s == 3600 &&
                getenv("FLOE_MAINTENANCE_INTERVAL_S") == NULL) {
                srv_config_set(&cfg, "maintenance.interval_s", "60", &err);
            }
            if (dev_secrets(&d, &cfg, &err)) {
                rc = srv_run(&cfg, NULL, on_ready, &d);
            } else {
                fprintf(stderr, "floe dev: %s\n", err.msg);
            }
        }
        cluster_stop(&d);
    }
    fl_arena_free(d.a);
    srv_config_free(&cfg);
    return rc;
}
