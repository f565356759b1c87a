/*
 * main.c
 *
 * The floe command: `serve`, `migrate`, `bootstrap`, `dev`, `--version`,
 * `--help`.
 * Reads the configuration, checks the database schema, starts the HTTP
 * daemon and waits for SIGINT/SIGTERM to drain it.  `dev` lives in
 * srv_dev.c; the daemon itself in srv_http.c.
 */
#include "server/srv_int.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: floe <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve -c FILE [--port-file PATH]  serve the catalog (production)\n"
    "  migrate -c FILE                   apply database migrations and exit\n"
    "  bootstrap -c FILE [-r REALM]      create the root principal of each\n"
    "                                    realm (FLOE_BOOTSTRAP_CREDENTIALS=\n"
    "                                    realm,id,secret;..., else printed)\n"
    "  dev [--dir DIR] [--port N]        embedded default: private Postgres\n"
    "                                    under ./.floe, file:// warehouse,\n"
    "                                    demo catalog, on 127.0.0.1:8181\n"
    "  --version                         print the version\n"
    "  --help                            print this help\n"
    "\n"
    "Every configuration key can be set by an environment variable:\n"
    "FLOE_DB_URL, FLOE_LISTEN_PORT, FLOE_LOG_LEVEL ... (see floe.yaml.example)\n";

static int cmd_migrate(const char *path)
{
    struct srv_config          cfg;
    struct db_migration_status st;
    struct fl_err              err;
    struct fl_arena           *a = fl_arena_new(256);
    int                        rc = 0;

    fl_err_clear(&err);
    if (!srv_config_read(&cfg, path)) {
        return 1;
    }
    if (cfg.db_url[0] == '\0') {
        fprintf(stderr, "floe: db.url is not set (FLOE_DB_URL)\n");
        rc = 1;
    } else if (!db_migrate(cfg.db_url,
                           db_migrations_find(cfg.db_migrations_dir, a), true,
                           &st, &err)) {
        fprintf(stderr, "floe: migration failed: %s\n", err.msg);
        rc = 1;
    } else {
        printf("database schema is at migration %d (%d applied)\n",
               st.newest, st.applied);
    }
    srv_config_free(&cfg);
    fl_arena_free(a);
    return rc;
}

static int cmd_serve(int argc, char **argv)
{
    const char       *path = NULL;
    const char       *port_file = NULL;
    struct srv_config cfg;
    int               i;
    int               rc;

    for (i = 0; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)
            && i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc) {
            port_file = argv[++i];
        } else {
            fprintf(stderr, "floe serve: unexpected argument \"%s\"\n%s",
                    argv[i], usage);
            return 2;
        }
    }
    if (path == NULL) {
        path = getenv("FLOE_CONFIG");
    }
    if (!srv_config_read(&cfg, path)) {
        return 1;
    }
    rc = srv_run(&cfg, port_file, NULL, NULL);
    srv_config_free(&cfg);
    return rc;
}

static int cmd_bootstrap(int argc, char **argv)
{
    const char       *path = getenv("FLOE_CONFIG");
    const char       *realm = NULL;
    struct srv_config cfg;
    int               i, rc;

    for (i = 0; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)
            && i + 1 < argc) {
            path = argv[++i];
        } else if ((strcmp(argv[i], "-r") == 0 ||
                    strcmp(argv[i], "--realm") == 0) && i + 1 < argc) {
            realm = argv[++i];
        } else {
            fprintf(stderr, "floe bootstrap: unexpected argument \"%s\"\n%s",
                    argv[i], usage);
            return 2;
        }
    }
    if (!srv_config_read(&cfg, path)) {
        return 1;
    }
    rc = srv_bootstrap_cmd(&cfg, realm);
    srv_config_free(&cfg);
    return rc;
}

static const char *config_arg(int argc, char **argv)
{
    int i;

    for (i = 0; i + 1 < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
            return argv[i + 1];
        }
    }
    return getenv("FLOE_CONFIG");
}

int main(int argc, char **argv)
{
    fl_json_init();
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0 ||
        strcmp(argv[1], "version") == 0) {
        printf("floe %s\n", FL_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "serve") == 0) {
        return cmd_serve(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "migrate") == 0) {
        return cmd_migrate(config_arg(argc - 2, argv + 2));
    }
    if (strcmp(argv[1], "bootstrap") == 0) {
        return cmd_bootstrap(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "dev") == 0) {
        return srv_dev_main(argc - 2, argv + 2);
    }
    fprintf(stderr, "floe: unknown command \"%s\"\n%s", argv[1], usage);
    return 2;
}
