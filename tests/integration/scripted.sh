# tests/integration/scripted.sh: the integration tests that a request/response
# case file cannot express (processes, signals, Postgres restarts, races).
# Sourced by run.sh, which provides tmp, FLOE, DBURL, start_floe, http, ok,
# fail, check.

json_field() {  # json_field FILE JQ-LIKE-KEY: prints error.type etc.
    python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    d=d[int(k)] if isinstance(d,list) else d.get(k)
print(d)' "$1" "$2" 2>/dev/null
}

psql_q() {  # psql_q DBURL SQL
    psql "$1" -XAtq -c "$2" 2>&1
}

# ------------------------------------------------------ against main floe

t_access_log() {
    if grep -q '"msg":"request".*"route":"/api/management/v1/catalogs".*"status":' \
        "$tmp/main.log"; then
        ok access-log
    else
        fail access-log "no JSON access line with route and status in the log"
    fi
}

t_body_limit() {
    local st
    head -c 100000 /dev/zero | tr '\0' 'x' >"$tmp/big"
    st=$(http POST /api/management/v1/catalogs --data-binary @"$tmp/big" \
        -H 'Content-Type: application/json')
    if [ "$st" = 413 ] && [ "$(json_field "$tmp/body" error.code)" = 413 ]; then
        ok body-limit-content-length
    else
        fail body-limit-content-length "status $st, body $(head -c 200 "$tmp/body")"
    fi
    st=$(http POST /api/management/v1/catalogs --data-binary @"$tmp/big" \
        -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked')
    if [ "$st" = 413 ]; then
        ok body-limit-chunked
    else
        fail body-limit-chunked "status $st"
    fi
    st=$(http GET /api/management/v1/catalogs)
    check body-limit-then-serves [ "$st" = 200 ]
}

t_concurrent_creates() {
    local i st n200=0 n409=0 wh=$tmp/wh/race
    st=$(http POST /api/management/v1/catalogs -d "{\"catalog\":{\"type\":
        \"INTERNAL\",\"name\":\"race\",\"properties\":{\"default-base-location\":
        \"file://$wh\"},\"storageConfigInfo\":{\"storageType\":\"FILE\"}}}")
    if [ "$st" != 201 ]; then
        fail concurrent-namespace-create "catalog create gave $st"
        return
    fi
    for i in $(seq 1 8); do
        curl -s -o /dev/null -w '%{http_code}\n' -X POST -H "$AUTH" \
            "$FLOE_URL/api/catalog/v1/race/namespaces" \
            -d '{"namespace":["same"]}' >"$tmp/race.$i" &
    done
    wait_children
    for i in $(seq 1 8); do
        st=$(cat "$tmp/race.$i")
        [ "$st" = 200 ] && n200=$((n200 + 1))
        [ "$st" = 409 ] && n409=$((n409 + 1))
    done
    if [ $n200 = 1 ] && [ $n409 = 7 ]; then
        ok concurrent-namespace-create
    else
        fail concurrent-namespace-create "$n200 created, $n409 conflicts of 8"
    fi
    # drop racing a child create: never an orphan child
    http POST /api/catalog/v1/race/namespaces -d '{"namespace":["p"]}' >/dev/null
    curl -s -o /dev/null -X DELETE -H "$AUTH" \
        "$FLOE_URL/api/catalog/v1/race/namespaces/p" &
    curl -s -o /dev/null -X POST -H "$AUTH" \
        "$FLOE_URL/api/catalog/v1/race/namespaces" \
        -d '{"namespace":["p","c"]}' &
    wait_children
    local orphans
    orphans=$(psql_q "$DBURL" "SELECT count(*) FROM namespaces c WHERE
        c.parent_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM namespaces p
        WHERE p.id = c.parent_id)")
    check drop-create-race-no-orphans [ "$orphans" = 0 ]
}

wait_children() {
    local j
    for j in $(jobs -p); do
        case " ${pids[*]} " in *" $j "*) ;; *) wait "$j" ;; esac
    done
}

t_fresh_request_id() {
    local rid
    rid=$(curl -s -D - -o /dev/null "$FLOE_URL/healthz" |
        tr -d '\r' | sed -n 's/^[Xx]-[Rr]equest-[Ii]d: //p')
    check request-id-generated [ ${#rid} = 36 ]
}

scripted_main() {
    t_access_log
    t_body_limit
    t_concurrent_creates
    t_fresh_request_id
}

# ---------------------------------------------------- own floe instances

t_cli() {
    check cli-version bash -c "'$FLOE' --version | grep -q '^floe '"
    check cli-help bash -c "'$FLOE' --help | grep -q 'serve -c FILE'"
    "$FLOE" bogus >/dev/null 2>&1
    check cli-unknown-command [ $? = 2 ]
}

# config_error NAME EXPECTED-REGEX YAML-LINES...
config_error() {
    local name=$1 want=$2 out
    shift 2
    printf '%s\n' "$@" >"$tmp/bad.yaml"
    out=$("$FLOE" serve -c "$tmp/bad.yaml" 2>&1)
    if [ $? = 1 ] && grep -qE "$want" <<<"$out"; then
        ok "config-$name"
    else
        fail "config-$name" "want /$want/, got: $out"
    fi
}

t_config() {
    local out
    config_error unknown-key 'bad.yaml:3:3: unknown configuration key "db.ur"' \
        'listen:' 'db:' '  ur: x'
    config_error unknown-section 'bad.yaml:1:1: unknown configuration key "lisen"' \
        'lisen:' '  port: 1'
    config_error bad-int 'bad.yaml:2:9: "listen.port" must be an integer from 0 to 65535' \
        'listen:' '  port: 70000'
    config_error bad-bool 'bad.yaml:2:15: "warehouse.allow_file" must be true or false' \
        'warehouse:' '  allow_file: maybe'
    config_error bad-level 'must be error, warn, info or debug' \
        'log:' '  level: loud'
    config_error duplicate 'bad.yaml:3:9: duplicate key "listen.port"' \
        'listen:' '  port: 1' '  port: 2'
    config_error syntax 'bad.yaml:[0-9]+:[0-9]+: ' 'listen: [' '  port: 1'
    config_error scalar-as-section '"db" is a section' 'db: 1'
    out=$(FLOE_LISTEN_PORT=abc "$FLOE" serve 2>&1)
    if grep -q 'environment FLOE_LISTEN_PORT: "listen.port" must be an integer' <<<"$out"; then
        ok config-env-bad-value
    else
        fail config-env-bad-value "$out"
    fi
    out=$(FLOE_DB_UR=x "$FLOE" serve 2>&1)
    check config-env-unknown grep -q 'environment FLOE_DB_UR names no configuration key' <<<"$out"
    out=$(FLOE_DB_URL= "$FLOE" serve 2>&1)
    check config-db-url-required grep -q 'db.url is not set' <<<"$out"
}

t_secret_redaction() {
    write_config "$tmp/secret.yaml" 0 "$DBURL password=hunter2secret"
    if start_floe secret "$tmp/secret.yaml"; then
        stop_floe "$FLOE_PID"
        if grep -q 'hunter2secret' "$tmp/secret.log"; then
            fail config-secret-redacted "the password appears in the log"
        elif grep -q '"db.url":"[^"]*password=\*\*\*' "$tmp/secret.log"; then
            ok config-secret-redacted
        else
            fail config-secret-redacted "no effective configuration logged"
        fi
    else
        fail config-secret-redacted "floe did not start"
    fi
    FLOE_LISTEN_ADDRESS=127.0.0.1 FLOE_LOG_LEVEL=debug \
        start_floe envcfg "$tmp/secret.yaml"
    stop_floe "$FLOE_PID"
    check config-env-override grep -q '"log.level":"debug"' "$tmp/envcfg.log"
}

t_migrations() {
    local base=${PG_TMP_URL} out n files st
    psql_q "$base" "CREATE DATABASE fresh" >/dev/null
    psql_q "$base" "CREATE DATABASE racing" >/dev/null
    local fresh=${base/dbname=postgres/dbname=fresh}
    local racing=${base/dbname=postgres/dbname=racing}
    write_config "$tmp/fresh.yaml" 0 "$fresh"
    out=$("$FLOE" serve -c "$tmp/fresh.yaml" 2>&1)
    st=$?
    if [ $st = 1 ] && grep -q 'unapplied migration.*floe migrate' <<<"$out"; then
        ok serve-refuses-unapplied-migrations
    else
        fail serve-refuses-unapplied-migrations "exit $st: $(tail -n 2 <<<"$out")"
    fi
    write_config "$tmp/racing.yaml" 0 "$racing"
    "$FLOE" migrate -c "$tmp/racing.yaml" >"$tmp/mig1" 2>&1 &
    local p1=$!
    "$FLOE" migrate -c "$tmp/racing.yaml" >"$tmp/mig2" 2>&1 &
    local p2=$!
    wait $p1
    local s1=$?
    wait $p2
    local s2=$?
    files=$(ls migrations/[0-9][0-9][0-9][0-9]_*.sql | wc -l)
    n=$(psql_q "$racing" "SELECT count(*) FROM schema_migrations")
    if [ $s1 = 0 ] && [ $s2 = 0 ] && [ "$n" = "$files" ]; then
        ok migrate-concurrent-once
    else
        fail migrate-concurrent-once "exits $s1/$s2, $n rows for $files files"
    fi
    "$FLOE" migrate -c "$tmp/racing.yaml" >"$tmp/mig3" 2>&1
    n=$(psql_q "$racing" "SELECT count(*) FROM schema_migrations")
    check migrate-again-noop [ "$n" = "$files" ]
}

# Postgres restarts under a running floe: one 503, then service again.
t_reconnect() {
    local st
    pg_tmp_restart "$tmp/pg" >/dev/null 2>&1
    st=$(http GET /api/management/v1/catalogs)
    if [ "$st" = 503 ] &&
        [ "$(json_field "$tmp/body" error.type)" = ServiceUnavailableException ]; then
        ok reconnect-first-request-503
    else
        fail reconnect-first-request-503 "status $st: $(head -c 200 "$tmp/body")"
    fi
    st=$(http GET /api/management/v1/catalogs)
    check reconnect-next-request-works [ "$st" = 200 ]
    st=$(http GET /readyz)
    check readyz-after-reconnect [ "$st" = 200 ]
}

t_fault_injection() {
    local st
    # statements 1 and 2 load the page-token key at startup (no bootstrap)
    FLOE_BOOTSTRAP_CREDENTIALS= FL_FAULT=db:3 start_floe fault "$tmp/main.yaml"
    st=$(http GET /api/management/v1/catalogs)
    if [ "$st" = 503 ] && [ "$(json_field "$tmp/body" error.code)" = 503 ]; then
        ok fault-db-503
    else
        fail fault-db-503 "status $st"
    fi
    st=$(http GET /api/management/v1/catalogs)
    check fault-db-recovers [ "$st" = 200 ]
    stop_floe "$FLOE_PID"
}

# Stop floe and Postgres, start both again: everything is still there.
t_restart() {
    local st wh=$tmp/wh/restart
    start_floe restart "$tmp/main.yaml" || { fail restart "no start"; return; }
    http POST /api/management/v1/catalogs -d "{\"catalog\":{\"type\":
        \"INTERNAL\",\"name\":\"restart\",\"properties\":{\"default-base-location\":
        \"file://$wh\"},\"storageConfigInfo\":{\"storageType\":\"FILE\"}}}" >/dev/null
    http POST /api/catalog/v1/restart/namespaces \
        -d '{"namespace":["kept"],"properties":{"k":"v"}}' >/dev/null
    t_reconnect
    stop_floe "$FLOE_PID"
    pg_tmp_stop "$tmp/pg" >/dev/null 2>&1
    pg_tmp_start "$tmp/pg" >/dev/null 2>&1
    start_floe restart2 "$tmp/main.yaml" || { fail restart "no restart"; return; }
    st=$(http GET /api/catalog/v1/restart/namespaces/kept)
    if [ "$st" = 200 ] && [ "$(json_field "$tmp/body" properties.k)" = v ]; then
        ok restart-keeps-data
    else
        fail restart-keeps-data "status $st: $(head -c 200 "$tmp/body")"
    fi
    st=$(http GET /api/management/v1/catalogs/restart)
    check restart-keeps-catalog [ "$st" = 200 ]
    kill -TERM "$FLOE_PID"
    wait "$FLOE_PID"
    check sigterm-exits-zero [ $? = 0 ]
}

# floe dev: private cluster, demo catalog, reuse on the second start.
dev_start() {
    local i
    "$FLOE" dev --dir "$tmp/dev/.floe" --port 0 >"$tmp/dev.out" 2>"$tmp/dev.log" &
    DEV_PID=$!
    pids+=("$DEV_PID")
    for i in $(seq 1 600); do
        FLOE_URL=$(sed -n 's|^Floe is serving the Iceberg REST catalog at \(http://[0-9.:]*\)/api/catalog$|\1|p' \
            "$tmp/dev.out")
        [ -n "$FLOE_URL" ] && return 0
        kill -0 "$DEV_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

t_dev() {
    local st
    mkdir -p "$tmp/dev"
    if ! dev_start; then
        fail dev-starts "$(tail -n 5 "$tmp/dev.out" "$tmp/dev.log")"
        return
    fi
    ok dev-starts
    st=$(http GET '/api/catalog/v1/config?warehouse=demo')
    check dev-demo-catalog [ "$st" = 200 ]
    check dev-prints-engine-config grep -q 'spark.sql.catalog.demo.uri' "$tmp/dev.out"
    st=$(http POST /api/catalog/v1/demo/namespaces -d '{"namespace":["dev_ns"]}')
    check dev-create-namespace [ "$st" = 200 ]
    check dev-file-warehouse grep -q "file://$tmp/dev/.floe/warehouse/dev_ns/" "$tmp/body"
    kill -INT "$DEV_PID"
    wait "$DEV_PID"
    check dev-ctrl-c-exits-zero [ $? = 0 ]
    if pgrep -f "postgres.*-D $tmp/dev" >/dev/null ||
        [ -e "$tmp/dev/.floe/pgdata/postmaster.pid" ]; then
        fail dev-stops-postgres "Postgres still runs"
    else
        ok dev-stops-postgres
    fi
    if ! dev_start; then
        fail dev-restarts "$(tail -n 5 "$tmp/dev.out" "$tmp/dev.log")"
        return
    fi
    st=$(http GET /api/catalog/v1/demo/namespaces/dev_ns)
    check dev-reuses-data [ "$st" = 200 ]
    kill -TERM "$DEV_PID"
    wait "$DEV_PID"
    check dev-sigterm-exits-zero [ $? = 0 ]
    sanitizer_check dev "$tmp/dev.log"
}

# Idempotency keys expire after their lifetime and the janitor purges them.
t_idempotency_expiry() {
    local st n
    write_config "$tmp/idem.yaml" 0 "$DBURL" "idempotency:" "  lifetime_s: 2" \
        "janitor:" "  interval_s: 1"
    start_floe idem "$tmp/idem.yaml" || { fail idempotency-expiry "no start"; return; }
    http POST /api/management/v1/catalogs -d "{\"catalog\":{\"type\":
        \"INTERNAL\",\"name\":\"idemexp\",\"properties\":{\"default-base-location\":
        \"file://$tmp/wh/idemexp\"},\"storageConfigInfo\":{\"storageType\":\"FILE\"}}}" \
        >/dev/null
    st=$(http GET '/api/catalog/v1/config?warehouse=idemexp')
    check idempotency-lifetime-advertised grep -q '"idempotency-key-lifetime":"PT2S"' "$tmp/body"
    http POST /api/catalog/v1/idemexp/namespaces -H 'Idempotency-Key: 0190f2a6-0000-7000-8000-0000000000aa' \
        -d '{"namespace":["n"]}' >/dev/null
    http DELETE /api/catalog/v1/idemexp/namespaces/n >/dev/null
    st=$(http POST /api/catalog/v1/idemexp/namespaces -H 'Idempotency-Key: 0190f2a6-0000-7000-8000-0000000000aa' \
        -d '{"namespace":["n"]}')
    n=$(http GET /api/catalog/v1/idemexp/namespaces/n)
    check idempotency-replay-within-lifetime test "$st" = 200 -a "$n" = 404
    sleep 3.5
    n=$(psql_q "$DBURL" "SELECT count(*) FROM idempotency_keys WHERE key = '0190f2a6-0000-7000-8000-0000000000aa'")
    check idempotency-janitor-purges test "$n" = 0
    st=$(http POST /api/catalog/v1/idemexp/namespaces -H 'Idempotency-Key: 0190f2a6-0000-7000-8000-0000000000aa' \
        -d '{"namespace":["n"]}')
    n=$(http GET /api/catalog/v1/idemexp/namespaces/n)
    check idempotency-expired-key-is-new test "$st" = 200 -a "$n" = 200
    stop_floe "$FLOE_PID"
    sanitizer_check idem "$tmp/idem.log"
}

scripted_private() {
    if [ -n "${FL_TEST_PGURL:-}" ]; then
        skip scripted-private "needs a private cluster"
        return
    fi
    t_cli
    t_config
    t_secret_redaction
    t_migrations
    t_fault_injection
    t_restart
    t_idempotency_expiry
    scripted_tables_private
    t_dev
    local f
    for f in secret envcfg fault restart restart2; do
        sanitizer_check "$f" "$tmp/$f.log"
    done
}
