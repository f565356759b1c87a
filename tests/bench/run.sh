#!/usr/bin/env bash
# tests/bench/run.sh: Floe against its two yardsticks (DESIGN section 10).
#
#   B=build tests/bench/run.sh        (make bench)
#
#   1. loadTable: a table with ~100 snapshots (a ~70 KB metadata document);
#      its loadTable body is saved once and served as a static file by
#      nginx; wrk drives nginx and floe with the same settings.
#      Target: floe/nginx close to 1.
#   2. commits: wrk POSTs set-properties commits (fresh key, no
#      requirements) over K tables; pgbench runs the database part of the
#      same commit (read the row, conditional UPDATE ... WHERE version = $v,
#      same metadata size) with the same client count against the same
#      Postgres.  Target: floe/pgbench close to 1.  Floe also writes and
#      fsyncs a metadata file per commit; pgbench does not.
#
# Everything runs on this machine: a private Postgres (tests/integration/
# pg_tmp.sh; fsync=off), floe on port 0, nginx on a free loopback port.
# Needs wrk, nginx, pgbench, curl; as root, missing wrk/nginx are installed
# with apt-get.  Every process and temporary directory is removed on exit.
#
# Knobs (environment): BENCH_DURATION (s, default 10), BENCH_WARMUP (s, 2),
# BENCH_THREADS (wrk threads, 2), BENCH_CONNECTIONS (loadTable, 32),
# BENCH_COMMIT_CLIENTS (8), BENCH_TABLES (K, 32), BENCH_SNAPSHOTS (100),
# BENCH_FLOE_WRAP (a command floe serve runs under that execs it, e.g.
# eatmydata to see what the metadata fsyncs cost; not strace, whose pid is
# not floe's), KEEP_TMP=1 keeps the temporary directory.

set -u
cd "$(dirname "$0")/../.." || exit 2
top=$(pwd)
B=${B:-build}
FLOE=$top/$B/floe
DUR=${BENCH_DURATION:-10}
WARM=${BENCH_WARMUP:-2}
WT=${BENCH_THREADS:-2}
LC=${BENCH_CONNECTIONS:-32}
CC=${BENCH_COMMIT_CLIENTS:-8}
K=${BENCH_TABLES:-32}
NSNAP=${BENCH_SNAPSHOTS:-100}
NPROC=$(nproc)
FLOE_WRAP=${BENCH_FLOE_WRAP:-}
FT=$((2 * NPROC))

say() { printf '%s\n' "$*" >&2; }
die() {
    say "bench: $*"
    exit 1
}

[ -x "$FLOE" ] || die "$FLOE not found; run make first"

# ------------------------------------------------------------ 1. tools

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "bench: installing ${missing[*]} (apt-get)"
        if ! { DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            "${missing[@]}" >/tmp/floe-bench-apt.log 2>&1 ||
            { apt-get update -q >>/tmp/floe-bench-apt.log 2>&1 &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
                    "${missing[@]}" >>/tmp/floe-bench-apt.log 2>&1; }; }; then
            tail -n 5 /tmp/floe-bench-apt.log >&2
            die "apt-get install ${missing[*]} failed"
        fi
        rm -f /tmp/floe-bench-apt.log
        # Debian starts the packaged nginx on port 80; we use our own.
        if command -v systemctl >/dev/null 2>&1; then
            systemctl stop nginx >/dev/null 2>&1
            systemctl disable nginx >/dev/null 2>&1
        fi
        if [ -f /run/nginx.pid ]; then
            kill -QUIT "$(cat /run/nginx.pid)" 2>/dev/null
        fi
    else
        die "missing ${missing[*]}: install them (Debian: apt-get install ${missing[*]}) or run as root"
    fi
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
command -v curl >/dev/null 2>&1 || die "missing curl"

. tests/integration/pg_tmp.sh
PGBIN=$(_pg_tmp_bindir) || die "PostgreSQL not found (install postgresql)"
PGBENCH=$PGBIN/pgbench
[ -x "$PGBENCH" ] || PGBENCH=$(command -v pgbench) || die "missing pgbench"
PSQL=$PGBIN/psql
[ -x "$PSQL" ] || PSQL=psql

# ------------------------------------------------------------ cleanup

tmp=$(mktemp -d /tmp/floe-bench.XXXXXX)
chmod 755 "$tmp"
pids=()
CUR=

cleanup() {
    local p
    trap - EXIT INT TERM
    [ -z "$CUR" ] || kill -TERM "$CUR" 2>/dev/null
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${pids[@]}"; do
        wait "$p" 2>/dev/null
    done
    pg_tmp_stop "$tmp/pg" >/dev/null 2>&1
    if [ -n "${KEEP_TMP:-}" ]; then
        say "bench: kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'say "bench: interrupted"; exit 130' INT TERM

# ------------------------------------------------------------ helpers

# run OUT CMD...: runs CMD with its output in OUT.  In the background and
# waited for, so that Ctrl-C reaches the trap at once (wrk handles SIGINT
# itself and exits 0, which a foreground wait would take as done).
run() {
    local out=$1 rc
    shift
    "$@" >"$out" 2>&1 &
    CUR=$!
    wait "$CUR"
    rc=$?
    CUR=
    return $rc
}

# A loopback port nothing listens on (the caller still checks its server).
free_port() {
    local p i
    for i in $(seq 1 100); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# http METHOD PATH [curl args...]: prints the status; the body is $tmp/body
http() {
    local m=$1 p=$2
    shift 2
    curl -s -o "$tmp/body" -w '%{http_code}' -X "$m" \
        -H 'Content-Type: application/json' -H "$AUTH" "$FLOE_URL$p" "$@"
}

# expect WANT STATUS WHAT
expect() {
    [ "$2" = "$1" ] && return 0
    say "bench: $3: HTTP $2 (wanted $1): $(head -c 300 "$tmp/body")"
    exit 1
}

psql_q() {
    "$PSQL" -X -A -t -q -v ON_ERROR_STOP=1 -d "$PG_TMP_FLOE_URL" -c "$1"
}

# run_wrk NAME URL CONNECTIONS [wrk args...]: warm-up, then the measured
# run; its output is $tmp/NAME.wrk.
run_wrk() {
    local name=$1 url=$2 c=$3
    shift 3
    run "$tmp/$name.warm" wrk -t"$WT" -c"$c" -d"${WARM}s" "$@" "$url" ||
        die "wrk warm-up $name failed: $(cat "$tmp/$name.warm")"
    run "$tmp/$name.wrk" wrk -t"$WT" -c"$c" -d"${DUR}s" --latency "$@" \
        "$url" || die "wrk $name failed: $(cat "$tmp/$name.wrk")"
}

wrk_rps() { awk '/^Requests\/sec:/ { print $2 }' "$1"; }
wrk_requests() { awk '/ requests in / { print $1; exit }' "$1"; }
wrk_secs() { awk '/ requests in / { sub(/s,$/, "", $4); print $4; exit }' "$1"; }
wrk_non2xx() { awk '/Non-2xx or 3xx responses:/ { print $NF }' "$1" | grep . || echo 0; }
wrk_sockerr() { grep 'Socket errors' "$1" | sed 's/^ *//'; }
wrk_lat() { awk '$1 == "Latency" { print $2; exit }' "$1"; }
wrk_p99() { awk '$1 == "99%" { print $2; exit }' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
fmt() { awk -v a="$1" 'BEGIN { printf "%.0f", a }'; }

# ------------------------------------------------------------ 2. servers

say "bench: starting Postgres"
pg_tmp_start "$tmp/pg" >"$tmp/pg_start.log" 2>&1 ||
    die "could not start Postgres: $(tail -n 5 "$tmp/pg_start.log")"

mkdir -p "$tmp/wh"
cat >"$tmp/floe.yaml" <<EOF
listen:
  address: 127.0.0.1
  port: 0
server:
  threads: $FT
db:
  url: "$PG_TMP_FLOE_URL"
  pool_size: $FT
log:
  level: warn
EOF
"$FLOE" migrate -c "$tmp/floe.yaml" >"$tmp/migrate.out" 2>&1 ||
    die "floe migrate failed: $(tail -n 5 "$tmp/migrate.out")"
export FLOE_BOOTSTRAP_CREDENTIALS="POLARIS,bench-root,bench-root-secret"
export FLOE_AUTH_TOKEN_SECRET="bench-token-secret-0123456789abcdef"
$FLOE_WRAP "$FLOE" serve -c "$tmp/floe.yaml" --port-file "$tmp/floe.port" \
    >"$tmp/floe.out" 2>"$tmp/floe.log" &
pids+=($!)
FLOE_PID=$!
FLOE_URL=
for i in $(seq 1 200); do
    if [ -s "$tmp/floe.port" ] &&
        curl -sf "http://127.0.0.1:$(cat "$tmp/floe.port")/healthz" \
            >/dev/null; then
        FLOE_URL="http://127.0.0.1:$(cat "$tmp/floe.port")"
        break
    fi
    kill -0 "$FLOE_PID" 2>/dev/null || break
    sleep 0.05
done
[ -n "$FLOE_URL" ] || die "floe did not start: $(tail -n 10 "$tmp/floe.log")"
say "bench: floe at $FLOE_URL ($FT threads, pool $FT)"
TOKEN=$(curl -s "$FLOE_URL/api/catalog/v1/oauth/tokens" \
    -d grant_type=client_credentials -d scope=PRINCIPAL_ROLE:ALL \
    -u bench-root:bench-root-secret |
    sed 's/.*"access_token":"\([^"]*\)".*/\1/')
[ -n "$TOKEN" ] || die "no token from floe"
AUTH="Authorization: Bearer $TOKEN"
export BENCH_TOKEN=$TOKEN

# ------------------------------------------------------------ 3. tables

SCHEMA='{"type":"struct","fields":[{"id":1,"name":"id","type":"long","required":true},{"id":2,"name":"ts","type":"timestamptz","required":true},{"id":3,"name":"category","type":"string","required":false},{"id":4,"name":"amount","type":"decimal(18, 2)","required":false},{"id":5,"name":"payload","type":"string","required":false}]}'
T=/api/catalog/v1/bench/namespaces/ns/tables

st=$(http POST /api/management/v1/catalogs -d "{\"catalog\":{\"type\":
    \"INTERNAL\",\"name\":\"bench\",\"properties\":{\"default-base-location\":
    \"file://$tmp/wh/bench\"},\"storageConfigInfo\":{\"storageType\":\"FILE\"}}}")
expect 201 "$st" "create catalog"
st=$(http POST /api/catalog/v1/bench/namespaces -d '{"namespace":["ns"]}')
expect 200 "$st" "create namespace"
st=$(http POST "$T" -d "{\"name\":\"big\",\"schema\":$SCHEMA,
    \"properties\":{\"write.format.default\":\"parquet\",
    \"write.parquet.compression-codec\":\"zstd\",\"owner\":\"bench\"}}")
expect 200 "$st" "create table big"

say "bench: committing $NSNAP snapshots to bench.ns.big"
parent=
total=0
for i in $(seq 1 "$NSNAP"); do
    sid=$((4611686018427387904 + i * 7340033 + RANDOM))
    total=$((total + 40000))
    ts=$((1700000000000 + i * 3600000))
    snap="{\"snapshot-id\":$sid,${parent:+\"parent-snapshot-id\":$parent,}
      \"sequence-number\":$i,\"timestamp-ms\":$ts,
      \"manifest-list\":\"file://$tmp/wh/bench/ns/big/metadata/snap-$sid-1-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0.avro\",
      \"summary\":{\"operation\":\"append\",\"spark.app.id\":\"local-1700000000000\",
        \"added-data-files\":\"4\",\"added-records\":\"40000\",
        \"added-files-size\":\"1843520\",\"changed-partition-count\":\"1\",
        \"total-records\":\"$total\",\"total-files-size\":\"$((i * 1843520))\",
        \"total-data-files\":\"$((i * 4))\",\"total-delete-files\":\"0\",
        \"total-position-deletes\":\"0\",\"total-equality-deletes\":\"0\"},
      \"schema-id\":0}"
    st=$(http POST "$T/big" -d "{\"requirements\":[],\"updates\":[
        {\"action\":\"add-snapshot\",\"snapshot\":$snap},
        {\"action\":\"set-snapshot-ref\",\"ref-name\":\"main\",
         \"type\":\"branch\",\"snapshot-id\":$sid}]}")
    expect 200 "$st" "snapshot commit $i"
    parent=$sid
done

say "bench: creating $K commit tables"
for i in $(seq 0 $((K - 1))); do
    st=$(http POST "$T" -d "{\"name\":\"c$i\",\"schema\":$SCHEMA}")
    expect 200 "$st" "create table c$i"
done

# ------------------------------------------------------------ 4. loadTable

st=$(curl -s -o "$tmp/load.json" -D "$tmp/load.hdr" -w '%{http_code}' \
    -H "$AUTH" "$FLOE_URL$T/big")
[ "$st" = 200 ] || die "loadTable: HTTP $st"
BODY=$(wc -c <"$tmp/load.json")
grep -q '"snapshots"' "$tmp/load.json" || die "loadTable body has no snapshots"

mkdir -p "$tmp/www" "$tmp/nginx/tmp"
cp "$tmp/load.json" "$tmp/www/load.json"
chmod -R a+rX "$tmp/www"
NGX_PORT=
for _ in 1 2 3 4 5; do
    port=$(free_port) || die "no free port for nginx"
    cat >"$tmp/nginx/nginx.conf" <<EOF
$([ "$(id -u)" = 0 ] && echo "user root;")
worker_processes $NPROC;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 4096; }
http {
    types { }
    default_type application/json;
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    client_body_temp_path $tmp/nginx/tmp/body;
    proxy_temp_path $tmp/nginx/tmp/proxy;
    fastcgi_temp_path $tmp/nginx/tmp/fastcgi;
    uwsgi_temp_path $tmp/nginx/tmp/uwsgi;
    scgi_temp_path $tmp/nginx/tmp/scgi;
    server {
        listen 127.0.0.1:$port;
        root $tmp/www;
        location / { }
    }
}
EOF
    "$NGINX" -p "$tmp/nginx" -e "$tmp/nginx/error.log" \
        -c "$tmp/nginx/nginx.conf" >"$tmp/nginx/out" 2>&1 &
    ngx_pid=$!
    for i in $(seq 1 100); do
        if curl -sf -o /dev/null "http://127.0.0.1:$port/load.json"; then
            NGX_PORT=$port
            break
        fi
        kill -0 "$ngx_pid" 2>/dev/null || break
        sleep 0.05
    done
    if [ -n "$NGX_PORT" ]; then
        pids+=("$ngx_pid")
        break
    fi
    kill -TERM "$ngx_pid" 2>/dev/null
    wait "$ngx_pid" 2>/dev/null
done
[ -n "$NGX_PORT" ] ||
    die "nginx did not start: $(tail -n 5 "$tmp/nginx/error.log" "$tmp/nginx/out" 2>/dev/null)"
NGX_URL="http://127.0.0.1:$NGX_PORT/load.json"
cmp -s "$tmp/load.json" <(curl -s "$NGX_URL") ||
    die "nginx does not serve the loadTable bytes"

say "bench: loadTable body $BODY bytes; wrk -t$WT -c$LC -d${DUR}s (+${WARM}s warm-up)"
say "bench:   nginx $NGX_URL"
run_wrk load-nginx "$NGX_URL" "$LC" -H "$AUTH"
say "bench:   floe  $FLOE_URL$T/big"
run_wrk load-floe "$FLOE_URL$T/big" "$LC" -H "$AUTH"

# ------------------------------------------------------------ 5. commits

CPATH=$T/c
say "bench: commits to $K tables; wrk -t$WT -c$CC -d${DUR}s (+${WARM}s warm-up)"
run "$tmp/commit-floe.warm" env BENCH_PATH="$CPATH" BENCH_TABLES="$K" \
    BENCH_RUN=w wrk -t"$WT" -c"$CC" -d"${WARM}s" -s tests/bench/commit.lua \
    "$FLOE_URL" ||
    die "wrk commit warm-up failed: $(cat "$tmp/commit-floe.warm")"
rows_before=$(psql_q "SELECT sum(version) FROM tables t JOIN catalogs c ON c.id = t.catalog_id WHERE c.name = 'bench' AND t.name LIKE 'c%'")
run "$tmp/commit-floe.wrk" env BENCH_PATH="$CPATH" BENCH_TABLES="$K" \
    BENCH_RUN=m wrk -t"$WT" -c"$CC" -d"${DUR}s" --latency \
    -s tests/bench/commit.lua "$FLOE_URL" ||
    die "wrk commit failed: $(cat "$tmp/commit-floe.wrk")"
rows_after=$(psql_q "SELECT sum(version) FROM tables t JOIN catalogs c ON c.id = t.catalog_id WHERE c.name = 'bench' AND t.name LIKE 'c%'")

# The metadata Floe wrote: average size, and the file nearest to it becomes
# the text pgbench writes (same size, same compressibility for TOAST).
find "$tmp/wh/bench/ns" -path '*/c[0-9]*/metadata/*.metadata.json' \
    -printf '%s %p\n' >"$tmp/meta.sizes"
NFILES=$(wc -l <"$tmp/meta.sizes")
AVG=$(awk '{ s += $1 } END { if (NR) printf "%d", s / NR }' "$tmp/meta.sizes")
[ "${NFILES:-0}" -gt 0 ] || die "floe wrote no metadata files"
META=$(awk -v a="$AVG" '{ d = $1 - a; if (d < 0) d = -d;
    if (best == "" || d < best) { best = d; p = $2 } } END { print p }' \
    "$tmp/meta.sizes")
META_SIZE=$(wc -c <"$META")

ids=$(psql_q "SELECT min(t.id) || ' ' || max(t.id) || ' ' || count(*) FROM tables t JOIN catalogs c ON c.id = t.catalog_id WHERE c.name = 'bench' AND t.name ~ '^c[0-9]+\$'")
read -r ID0 IDN NIDS <<<"$ids"
if [ "$NIDS" != "$K" ] || [ $((IDN - ID0 + 1)) != "$K" ]; then
    die "commit table ids are not contiguous: $ids"
fi
uuid=$(psql_q "SELECT table_uuid FROM tables WHERE id = $ID0")
loc=$(psql_q "SELECT metadata_location FROM tables WHERE id = $ID0")
location=$(psql_q "SELECT location FROM tables WHERE id = $ID0")

say "bench: pgbench, $CC clients, same $K rows, metadata $META_SIZE bytes"
pgb() {
    exec "$PGBENCH" -n -M prepared -c "$CC" -j "$WT" -T "$1" \
        -f tests/bench/commit.pgbench \
        -D "id0=$ID0" -D "k=$K" -D "uuid=$uuid" -D "loc=$loc" \
        -D "location=$location" -D "meta=$(cat "$META")" \
        -h "$tmp/pg/sock" -U postgres floe
}
run "$tmp/pgbench.warm" pgb "$WARM" ||
    die "pgbench warm-up failed: $(tail -n 5 "$tmp/pgbench.warm")"
pg_before=$(psql_q "SELECT sum(version) FROM tables WHERE id BETWEEN $ID0 AND $IDN")
run "$tmp/pgbench.out" pgb "$DUR" ||
    die "pgbench failed: $(tail -n 5 "$tmp/pgbench.out")"
pg_after=$(psql_q "SELECT sum(version) FROM tables WHERE id BETWEEN $ID0 AND $IDN")

# ------------------------------------------------------------ 6. results

kill -0 "$FLOE_PID" 2>/dev/null || die "floe died during the run: $(tail -n 10 "$tmp/floe.log")"

n_rps=$(wrk_rps "$tmp/load-nginx.wrk")
f_rps=$(wrk_rps "$tmp/load-floe.wrk")
n_bad=$(wrk_non2xx "$tmp/load-nginx.wrk")
f_bad=$(wrk_non2xx "$tmp/load-floe.wrk")

c_req=$(wrk_requests "$tmp/commit-floe.wrk")
c_secs=$(wrk_secs "$tmp/commit-floe.wrk")
c_bad=$(wrk_non2xx "$tmp/commit-floe.wrk")
c_rps=$(awk -v r="$c_req" -v b="$c_bad" -v s="$c_secs" \
    'BEGIN { printf "%.1f", (r - b) / s }')
p_tps=$(awk '/^tps = / { print $3; exit }' "$tmp/pgbench.out")
p_lat=$(awk '/^latency average/ { print $4 $5; exit }' "$tmp/pgbench.out")
p_fail=$(awk '/number of failed transactions/ { print $5; exit }' "$tmp/pgbench.out")

echo
echo "## Floe benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $NPROC cores, $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo
echo "loadTable: ${BODY}-byte metadata ($NSNAP snapshots); wrk -t$WT -c$LC -d${DUR}s after a ${WARM}s warm-up, same for both."
echo "commits: set-properties with a fresh key, no requirements, over $K tables; $CC clients each side, ${DUR}s after a ${WARM}s warm-up."
echo
echo "| benchmark | Floe | baseline | floe/baseline |"
echo "|---|---:|---:|---:|"
echo "| loadTable req/s | $(fmt "$f_rps") (avg $(wrk_lat "$tmp/load-floe.wrk"), p99 $(wrk_p99 "$tmp/load-floe.wrk")) | nginx, same bytes: $(fmt "$n_rps") (avg $(wrk_lat "$tmp/load-nginx.wrk"), p99 $(wrk_p99 "$tmp/load-nginx.wrk")) | $(ratio "$f_rps" "$n_rps") |"
echo "| commits/s | $(fmt "$c_rps") (avg $(wrk_lat "$tmp/commit-floe.wrk"), p99 $(wrk_p99 "$tmp/commit-floe.wrk")) | pgbench row read + conditional UPDATE: $(fmt "$p_tps") (avg $p_lat) | $(ratio "$c_rps" "$p_tps") |"
echo
echo "Notes:"
echo "- Floe: $FT HTTP threads, pool $FT, log level warn; nginx: $NPROC workers, keepalive, access_log off, sendfile."
echo "- Floe's commit also parses and re-serializes the metadata, writes it to a new file and fsyncs the file and its directory (ext4 here); pgbench does only the database part. Postgres runs with fsync=off, synchronous_commit=off for both."
echo "- Floe commits: $c_req responses, $c_bad not 2xx; table versions advanced by $((rows_after - rows_before)) during the measured run; metadata files average $AVG bytes ($NFILES files); pgbench writes $META_SIZE bytes per UPDATE${p_fail:+, $p_fail failed transactions}, $((pg_after - pg_before)) rows updated (the rest lost a race: 0 rows, as a Floe retry would)."
[ "$n_bad" = 0 ] && [ "$f_bad" = 0 ] ||
    echo "- WARNING: non-2xx loadTable responses: nginx $n_bad, floe $f_bad."
for f in load-nginx load-floe commit-floe; do
    e=$(wrk_sockerr "$tmp/$f.wrk")
    [ -z "$e" ] || echo "- $f: $e"
done
echo "- wrk, pgbench, Postgres and the server share the machine's $NPROC cores."
