/*
 * db_listen.c
 *
 * One background thread holding a dedicated connection that LISTENs on a
 * channel and calls back on every notification.  Caches keyed by a
 * version use it to learn of changes without a round trip per request:
 * the callback runs with `live` true when (re)connected and on each
 * notification, and with `live` false when the connection is lost (then
 * nothing is known, and the caller must stop trusting its caches until
 * the next live call).  It reconnects every second until stopped.
 */
#include "db/db.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

struct db_listener {
    char          *url;
    char          *channel;
    void         (*fn)(void *arg, bool live);
    void          *arg;
    pthread_t      thread;
    atomic_bool    stop;
};

static PGconn *listen_open(struct db_listener *l)
{
    const char *const keys[] = {"dbname", "application_name",
                                "connect_timeout", NULL};
    const char *const vals[] = {l->url, "floe-listen", "5", NULL};
    PGconn           *pg = PQconnectdbParams(keys, vals, 1);
    PGresult         *res;
    char             *q;
    char             *sql;
    size_t            n;

    if (PQstatus(pg) != CONNECTION_OK) {
        PQfinish(pg);
        return NULL;
    }
    q = PQescapeIdentifier(pg, l->channel, strlen(l->channel));
    if (q == NULL) {
        PQfinish(pg);
        return NULL;
    }
    n = strlen(q) + 8;
    sql = malloc(n);
    if (sql == NULL) {
        PQfreemem(q);
        PQfinish(pg);
        return NULL;
    }
    snprintf(sql, n, "LISTEN %s", q);
    PQfreemem(q);
    res = PQexec(pg, sql);
    free(sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        PQclear(res);
        PQfinish(pg);
        return NULL;
    }
    PQclear(res);
    return pg;
}

/* Wait for notifications until the connection fails or we are stopped. */
static void listen_loop(struct db_listener *l, PGconn *pg)
{
    struct pollfd pfd;
    PGnotify     *n;
    bool          any;

    while (!atomic_load(&l->stop)) {
        pfd.fd = PQsocket(pg);
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (pfd.fd < 0) {
            return;
        }
        if (poll(&pfd, 1, 200) < 0 && errno != EINTR) {
            return;
        }
        if (pfd.revents == 0) {
            continue;
        }
        if (!PQconsumeInput(pg) || PQstatus(pg) != CONNECTION_OK) {
            return;
        }
        any = false;
        while ((n = PQnotifies(pg)) != NULL) {
            any = true;
            PQfreemem(n);
        }
        if (any) {
            l->fn(l->arg, true);
        }
    }
}

static void *listen_main(void *arg)
{
    struct db_listener *l = arg;
    PGconn             *pg;
    int                 i;

    while (!atomic_load(&l->stop)) {
        pg = listen_open(l);
        if (pg != NULL) {
            l->fn(l->arg, true);        /* anything may have been missed */
            listen_loop(l, pg);
            PQfinish(pg);
            l->fn(l->arg, false);
        }
        for (i = 0; i < 10 && !atomic_load(&l->stop); i++) {
            usleep(100000);
        }
    }
    return NULL;
}

struct db_listener *db_listen_start(const char *url, const char *channel,
                                    void (*fn)(void *arg, bool live),
                                    void *arg)
{
    struct db_listener *l = calloc(1, sizeof(*l));

    if (l == NULL) {
        return NULL;
    }
    l->url = strdup(url);
    l->channel = strdup(channel);
    l->fn = fn;
    l->arg = arg;
    atomic_init(&l->stop, false);
    if (l->url == NULL || l->channel == NULL ||
        pthread_create(&l->thread, NULL, listen_main, l) != 0) {
        free(l->url);
        free(l->channel);
        free(l);
        return NULL;
    }
    return l;
}

void db_listen_stop(struct db_listener *l)
{
    if (l == NULL) {
        return;
    }
    atomic_store(&l->stop, true);
    pthread_join(l->thread, NULL);
    l->fn(l->arg, false);
    free(l->url);
    free(l->channel);
    free(l);
}
