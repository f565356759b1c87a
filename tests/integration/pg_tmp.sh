#!/usr/bin/env bash
# pg_tmp.sh: a private, throwaway PostgreSQL cluster for the integration tests
# (in the spirit of PostgreSQL's Cluster.pm).
#
# Source it and call the functions, or run it:
#
#   . tests/integration/pg_tmp.sh
#   pg_tmp_start DIR     initdb DIR/pgdata (first time), start, create db floe
#   pg_tmp_stop DIR      fast shutdown; does nothing when it is not running
#   pg_tmp_restart DIR   stop, then start
#
#   tests/integration/pg_tmp.sh start|stop|restart DIR
#       "start" prints shell assignments, for  eval "$(pg_tmp.sh start DIR)"
#
# pg_tmp_start sets and exports
#   PG_TMP_URL       host=DIR/sock dbname=postgres user=postgres
#   PG_TMP_FLOE_URL  host=DIR/sock dbname=floe user=postgres
#
# The server listens on a unix socket in DIR/sock only (no TCP, so no port
# races), with fsync off; its log is DIR/pg.log.  Postgres refuses to run as
# root, so as root the cluster belongs to the "postgres" system user and the
# PostgreSQL programs run through runuser (or su).  DIR must then be reachable
# by that user: a directory under /tmp is.  This file does not apply floe's
# migrations and does not delete DIR; the caller's trap does that.

# Prints the directory holding initdb, pg_ctl and postgres: PATH first, then
# the highest /usr/lib/postgresql/*/bin.
_pg_tmp_bindir() {
    local p d
    if p=$(command -v initdb 2>/dev/null) && command -v pg_ctl >/dev/null &&
        command -v postgres >/dev/null; then
        d=$(dirname "$(readlink -f "$p")")
        if [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
            printf '%s\n' "$d"
            return 0
        fi
        dirname "$p"
        return 0
    fi
    d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    if [ -n "$d" ] && [ -x "$d/initdb" ]; then
        printf '%s\n' "$d"
        return 0
    fi
    echo "pg_tmp: initdb not found on PATH or in /usr/lib/postgresql/*/bin" \
        "(install postgresql)" >&2
    return 1
}

# Runs a command as the cluster's owner: ourselves, or "postgres" when root.
# It runs in DIR (the first argument) so the owner never needs our cwd.
_pg_tmp_as() {
    local dir=$1
    shift
    if [ "$(id -u)" != 0 ]; then
        (cd "$dir" && "$@")
    elif command -v runuser >/dev/null 2>&1; then
        (cd "$dir" && runuser -u postgres -- "$@")
    else
        (cd "$dir" && su postgres -s /bin/sh -c "$(printf '%q ' "$@")")
    fi
}

# Creates DIR and its subdirectories with the right owner; prints DIR made
# absolute.  A pgdata without PG_VERSION (a failed initdb) starts over.
_pg_tmp_prepare() {
    local dir
    if [ ! -f "$1/pgdata/PG_VERSION" ]; then
        rm -rf "$1/pgdata"
    fi
    mkdir -p "$1/sock" "$1/pgdata" || return 1
    chmod 700 "$1/pgdata" || return 1
    dir=$(cd "$1" && pwd -P) || return 1
    # sun_path holds 107 bytes: DIR/sock/.s.PGSQL.5432 must fit.
    if [ $((${#dir} + 23)) -gt 107 ]; then
        echo "pg_tmp: $dir is too long for a unix socket path" >&2
        return 1
    fi
    if [ "$(id -u)" = 0 ]; then
        if ! id -u postgres >/dev/null 2>&1; then
            echo "pg_tmp: running as root needs a 'postgres' system user" \
                "(install the postgresql package)" >&2
            return 1
        fi
        chmod 755 "$dir" || return 1
        touch "$dir/pg.log" || return 1
        chown postgres: "$dir/sock" "$dir/pg.log" || return 1
        chown -R postgres: "$dir/pgdata" || return 1
        if ! _pg_tmp_as / test -w "$dir/sock"; then
            echo "pg_tmp: user postgres cannot reach $dir; put it under" \
                "/tmp or make its parents traversable" >&2
            return 1
        fi
    fi
    printf '%s\n' "$dir"
}

_pg_tmp_urls() {
    PG_TMP_URL="host=$1/sock dbname=postgres user=postgres"
    PG_TMP_FLOE_URL="host=$1/sock dbname=floe user=postgres"
    export PG_TMP_URL PG_TMP_FLOE_URL
}

_pg_tmp_fail() {
    echo "pg_tmp: $1; last lines of $2:" >&2
    tail -n 20 "$2" >&2 2>/dev/null
    return 1
}

# pg_tmp_start DIR: initialises DIR/pgdata unless it exists, starts the
# server (a no-op when it is already running), waits until it accepts
# connections and creates database floe.  Sets PG_TMP_URL, PG_TMP_FLOE_URL.
pg_tmp_start() {
    local dir bin psql opts have
    if [ -z "$1" ]; then
        echo "usage: pg_tmp_start DIR" >&2
        return 2
    fi
    bin=$(_pg_tmp_bindir) || return 1
    dir=$(_pg_tmp_prepare "$1") || return 1
    if [ ! -f "$dir/pgdata/PG_VERSION" ]; then
        _pg_tmp_as "$dir" "$bin/initdb" -D "$dir/pgdata" -U postgres \
            --auth=trust -E UTF8 --locale=C --no-sync \
            >"$dir/initdb.log" 2>&1 ||
            _pg_tmp_fail "initdb failed" "$dir/initdb.log" || return 1
    fi
    opts="-c listen_addresses='' -c unix_socket_directories='$dir/sock'"
    opts="$opts -c fsync=off -c synchronous_commit=off"
    opts="$opts -c full_page_writes=off -c max_connections=100"
    if ! _pg_tmp_as "$dir" "$bin/pg_ctl" -D "$dir/pgdata" status \
        >/dev/null 2>&1; then
        _pg_tmp_as "$dir" "$bin/pg_ctl" -D "$dir/pgdata" -l "$dir/pg.log" \
            -w -t 60 -o "$opts" start >/dev/null 2>&1 ||
            _pg_tmp_fail "server did not start" "$dir/pg.log" || return 1
    fi
    _pg_tmp_urls "$dir"
    psql="$bin/psql"
    [ -x "$psql" ] || psql=psql
    have=$("$psql" -X -A -t -q -d "$PG_TMP_URL" \
        -c "SELECT 1 FROM pg_database WHERE datname = 'floe'" 2>&1) ||
        _pg_tmp_fail "could not connect: $have" "$dir/pg.log" || return 1
    if [ "$have" != 1 ]; then
        "$psql" -X -q -v ON_ERROR_STOP=1 -d "$PG_TMP_URL" \
            -c "CREATE DATABASE floe" >&2 ||
            _pg_tmp_fail "could not create database floe" "$dir/pg.log" ||
            return 1
    fi
}

# pg_tmp_stop DIR: fast shutdown; succeeds when nothing is running.
pg_tmp_stop() {
    local dir bin
    if [ -z "$1" ]; then
        echo "usage: pg_tmp_stop DIR" >&2
        return 2
    fi
    dir=$(cd "$1" 2>/dev/null && pwd -P) || return 0
    [ -f "$dir/pgdata/postmaster.pid" ] || return 0
    bin=$(_pg_tmp_bindir) || return 1
    if _pg_tmp_as "$dir" "$bin/pg_ctl" -D "$dir/pgdata" status \
        >/dev/null 2>&1; then
        _pg_tmp_as "$dir" "$bin/pg_ctl" -D "$dir/pgdata" -m fast -w -t 60 \
            stop >/dev/null 2>&1 ||
            _pg_tmp_fail "server did not stop" "$dir/pg.log" || return 1
    fi
    return 0
}

# pg_tmp_restart DIR: stop, then start (data survives).
pg_tmp_restart() {
    pg_tmp_stop "$1" && pg_tmp_start "$1"
}

# Run as a program rather than sourced.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    case "$1" in
    start)
        pg_tmp_start "$2" || exit 1
        printf "PG_TMP_URL='%s'\nPG_TMP_FLOE_URL='%s'\n" \
            "$PG_TMP_URL" "$PG_TMP_FLOE_URL"
        ;;
    stop)
        pg_tmp_stop "$2" || exit 1
        ;;
    restart)
        pg_tmp_restart "$2" || exit 1
        printf "PG_TMP_URL='%s'\nPG_TMP_FLOE_URL='%s'\n" \
            "$PG_TMP_URL" "$PG_TMP_FLOE_URL"
        ;;
    *)
        echo "usage: $0 start|stop|restart DIR" >&2
        exit 2
        ;;
    esac
fi
