#!/usr/bin/env bash
# tests/integration/run.sh: integration tests against a real Postgres and the
# real floe binary over real HTTP (STYLE 11).  tests/run.sh calls it and
# counts the "ok" / "not ok" / "skip" lines it prints.
#
#   1. start a private Postgres (pg_tmp.sh), `floe migrate`, `floe serve` on
#      port 0 with --port-file, wait for /healthz;
#   2. feed cases/*.case to build/runner;
#   3. scripted tests: CLI, configuration errors, migrations, concurrency,
#      body limits, reconnect after a Postgres restart, restart of everything,
#      `floe dev`;
#   4. fail if floe's stderr holds a sanitizer report.
#
# FL_TEST_URL / FL_TEST_PGURL point the case files at running servers
# instead; scripted tests that need a private cluster are skipped then.

set -u
cd "$(dirname "$0")/../.." || exit 2
top=$(pwd)
B=${B:-build}
FLOE=$top/$B/floe
RUNNER=$top/$B/runner
. tests/integration/pg_tmp.sh

tmp=$(mktemp -d /tmp/floe-it.XXXXXX)
chmod 755 "$tmp"
pids=()

cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${pids[@]}"; do
        wait "$p" 2>/dev/null
    done
    pg_tmp_stop "$tmp/pg" >/dev/null 2>&1
    pg_tmp_stop "$tmp/pg2" >/dev/null 2>&1
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

# Every server of the suite bootstraps the same root principal and signs
# tokens with the same key, so one root token works across restarts.
export FLOE_BOOTSTRAP_CREDENTIALS="POLARIS,root-client,root-secret-for-tests"
export FLOE_AUTH_TOKEN_SECRET="integration-tests-token-secret-0123456789"
# No background maintenance but in maintenance.sh: the case files commit
# snapshots with old timestamps that expiry would remove under them.
export FLOE_MAINTENANCE_ENABLED=false
AUTH=""

# token URL [ID SECRET [SCOPE]]: prints an access token (root by default)
token() {
    curl -s "$1/api/catalog/v1/oauth/tokens" \
        -d grant_type=client_credentials \
        -d "scope=${4:-PRINCIPAL_ROLE:ALL}" \
        -u "${2:-root-client}:${3:-root-secret-for-tests}" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

ok() { echo "ok integration $1"; }
fail() { echo "not ok integration $1 - $2"; }
skip() { echo "skip integration $1 ($2)"; }

# check NAME CONDITION-COMMAND... : ok when the command succeeds
check() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else fail "$name" "check failed: $*"; fi
}

# write_config FILE PORT DBURL [extra yaml lines...]
write_config() {
    local f=$1 port=$2 url=$3
    shift 3
    {
        echo "listen:"
        echo "  address: 127.0.0.1"
        echo "  port: $port"
        echo "server:"
        echo "  threads: 4"
        echo "  max_body_bytes: 65536"
        echo "db:"
        echo "  url: \"$url\""
        echo "  pool_size: 4"
        echo "  acquire_timeout_ms: 2000"
        echo "log:"
        echo "  level: info"
        local l
        for l in "$@"; do echo "$l"; done
    } >"$f"
}

# start_floe NAME CONFIG: starts floe serve in the background, waits for
# /healthz, sets FLOE_PID and FLOE_URL.  Logs go to $tmp/NAME.log.
start_floe() {
    local name=$1 cfg=$2 i port=""
    rm -f "$tmp/$name.port"
    "$FLOE" serve -c "$cfg" --port-file "$tmp/$name.port" \
        2>>"$tmp/$name.log" >>"$tmp/$name.out" &
    FLOE_PID=$!
    pids+=("$FLOE_PID")
    for i in $(seq 1 200); do
        if [ -s "$tmp/$name.port" ]; then
            port=$(cat "$tmp/$name.port")
            if curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; then
                FLOE_URL="http://127.0.0.1:$port"
                return 0
            fi
        fi
        kill -0 "$FLOE_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "# floe did not start; its log:" >&2
    tail -n 20 "$tmp/$name.log" | sed 's/^/# /' >&2
    return 1
}

stop_floe() {
    kill -TERM "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

# http METHOD PATH [curl args...]: prints the status code
http() {
    local m=$1 p=$2
    shift 2
    curl -s -o "$tmp/body" -w '%{http_code}' -X "$m" "$FLOE_URL$p" \
        ${AUTH:+-H "$AUTH"} "$@"
}

sanitizer_check() {
    local name=$1 log=$2
    if grep -qE 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' \
        "$log" 2>/dev/null; then
        fail "sanitizer-$name" "sanitizer report in $log:"
        grep -E -A5 'Sanitizer|runtime error' "$log" | head -20 | sed 's/^/# /'
    else
        ok "sanitizer-$name"
    fi
}

. tests/integration/scripted.sh
. tests/integration/tables.sh
. tests/integration/security.sh
. tests/integration/maintenance.sh

# scenarios URL: the scenario suite's scripts (concurrency, volume, files
# on disk) against a running floe whose warehouse root is $tmp/wh
scenarios() {
    local f
    if ! command -v python3 >/dev/null 2>&1; then
        echo "skip scenarios (no python3)"
        return
    fi
    for f in scenarios_tables scenarios_rest rbac maintenance_files \
        compaction; do
        FL_TOKEN=$ROOT_TOKEN FL_MKMANIFEST=$top/$B/mkmanifest \
            python3 "tests/integration/$f.py" "$1" "$tmp/wh" ||
            fail "$f" "exited with an error"
    done
    # bad input on every route of openapi/floe.yaml (prints its own
    # ok / not ok line)
    FL_TOKEN=$ROOT_TOKEN python3 tests/integration/bad_input.py "$1" \
        "$tmp/wh" openapi/floe.yaml
}

# ------------------------------------------------------------ main suite

if [ -n "${FL_TEST_URL:-}" ]; then
    FLOE_URL=$FL_TEST_URL
    ROOT_TOKEN=$(token "$FLOE_URL")
    AUTH="Authorization: Bearer $ROOT_TOKEN"
    "$RUNNER" --url "$FLOE_URL" --var "WAREHOUSE=$tmp/wh" \
        --var "ROOT_TOKEN=$ROOT_TOKEN" --header "$AUTH" \
        --tag-skip private-db tests/integration/cases/*.case
    scenarios "$FLOE_URL"
    exit 0
fi

if ! pg_tmp_start "$tmp/pg" >"$tmp/pg_start.log" 2>&1; then
    fail startup "could not start Postgres: $(tail -n 3 "$tmp/pg_start.log")"
    exit 1
fi
DBURL=${FL_TEST_PGURL:-$PG_TMP_FLOE_URL}
mkdir -p "$tmp/wh"
write_config "$tmp/main.yaml" 0 "$DBURL"

if ! "$FLOE" migrate -c "$tmp/main.yaml" >"$tmp/migrate.out" 2>&1; then
    fail migrate "floe migrate failed: $(tail -n 3 "$tmp/migrate.out")"
    exit 1
fi
if ! start_floe main "$tmp/main.yaml"; then
    fail startup "floe serve did not become healthy"
    exit 1
fi
MAIN_PID=$FLOE_PID
MAIN_URL=$FLOE_URL
ROOT_TOKEN=$(token "$MAIN_URL")
AUTH="Authorization: Bearer $ROOT_TOKEN"
export FL_TOKEN=$ROOT_TOKEN

"$RUNNER" --url "$MAIN_URL" --var "WAREHOUSE=$tmp/wh" \
    --var "ROOT_TOKEN=$ROOT_TOKEN" --header "$AUTH" \
    --record "$tmp/record.jsonl" tests/integration/cases/*.case
# responses against the upstream OpenAPI specs (../shared/spec; a clone
# without it skips)
if command -v python3 >/dev/null 2>&1; then
    python3 tests/integration/spec_check.py \
        --spec-dir "${FL_SPEC_DIR:-$top/../shared/spec}" "$tmp/record.jsonl"
else
    echo "skip spec (no python3)"
fi

scenarios "$MAIN_URL"
FLOE_URL=$MAIN_URL
scripted_main
scripted_tables
t_security
stop_floe "$MAIN_PID"
sanitizer_check main "$tmp/main.log"
scripted_private
t_maintenance
exit 0
