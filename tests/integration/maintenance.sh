# tests/integration/maintenance.sh: sourced by run.sh.  Built-in table
# maintenance with real daemons sharing one private database (mnt):
#   - two daemons drain one queue and never run a job twice; their
#     schedulers enqueue each table once, following gc.enabled, the
#     system.* policies and whether the table has snapshots;
#   - a job in hand keeps its lease through heartbeats; kill -9 of its
#     daemon lets another take it over once the lease lapses;
#   - a worker whose lease was taken records nothing;
#   - a failing job is retried with exponential backoff, then failed;
#   - SIGTERM lets the job in hand finish and claims nothing more;
#   - a commit enqueues snapshot expiry.
# Slow jobs come from FL_MNT_DELAY_MS (debug builds).  The suite's other
# daemons run with maintenance off (FLOE_MAINTENANCE_ENABLED=false, run.sh):
# its case files use old snapshot timestamps expiry would act on.

MNT_DB=""

mnt_sql() {  # mnt_sql SQL: one query on the mnt database, unaligned
    psql "$MNT_DB" -XAtq -v ON_ERROR_STOP=1 -c "$1" 2>&1
}

# mnt_config NAME EXPIRY ORPHAN PLAN [INTERVAL_S]: workers per job type,
# 2 s leases, 1 s first backoff, 3 attempts
mnt_config() {
    write_config "$tmp/$1.yaml" 0 "$MNT_DB" "maintenance:" \
        "  expiry_workers: $2" "  orphan_workers: $3" "  plan_workers: $4" \
        "  interval_s: ${5:-3600}" "  lease_s: 2" "  poll_ms: 50" \
        "  backoff_s: 1" "  max_attempts: 3"
}

# mnt_start NAME DELAY_MS: floe serve with maintenance on; FLOE_PID
mnt_start() {
    FLOE_MAINTENANCE_ENABLED=true FL_MNT_DELAY_MS=$2 \
        start_floe "$1" "$tmp/$1.yaml"
}

# mnt_wait SQL WANT [SECONDS]: poll until the query prints WANT
mnt_wait() {
    local i
    for i in $(seq 1 $((${3:-20} * 10))); do
        [ "$(mnt_sql "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

mnt_tid() {  # mnt_tid TABLE: its id
    mnt_sql "SELECT id FROM tables WHERE name = '$1'"
}

# mnt_job TYPE TABLE: the table's pending job of TYPE, enqueued if none
mnt_job() {
    mnt_sql "WITH ins AS (INSERT INTO maintenance_jobs (realm, catalog_id,
        table_id, job_type, state, max_attempts, not_before_ms, created_ms,
        updated_ms) SELECT realm, catalog_id, id, '$1', 'queued', 3, 0,
        (extract(epoch FROM now()) * 1000)::bigint,
        (extract(epoch FROM now()) * 1000)::bigint FROM tables
        WHERE name = '$2' ON CONFLICT (table_id, job_type) WHERE state IN
        ('queued', 'running') AND job_type <> 'compaction' DO NOTHING
        RETURNING id)
        SELECT id FROM ins UNION ALL (SELECT id FROM maintenance_jobs
        WHERE table_id = $(mnt_tid "$2") AND job_type = '$1'
        AND state IN ('queued', 'running') LIMIT 1) LIMIT 1"
}

# mnt_table NAME: an empty table in mnt.ns
mnt_table() {
    http POST /api/catalog/v1/mnt/namespaces/ns/tables -d "{\"name\":\"$1\",
        \"schema\":{\"type\":\"struct\",\"fields\":[{\"id\":1,\"name\":\"x\",
        \"type\":\"long\",\"required\":false}]}}" >/dev/null
}

# mnt_snapshot NAME ID: commit a snapshot whose manifest list is missing
mnt_snapshot() {
    http POST "/api/catalog/v1/mnt/namespaces/ns/tables/$1" -d "{
        \"requirements\":[],\"updates\":[{\"action\":\"add-snapshot\",
        \"snapshot\":{\"snapshot-id\":$2,\"sequence-number\":1,
        \"timestamp-ms\":$(($(date +%s) * 1000)),\"manifest-list\":
        \"file://$tmp/mwh/ns/$1/metadata/snap-$2-missing.avro\",
        \"summary\":{\"operation\":\"append\"},\"schema-id\":0}},
        {\"action\":\"set-snapshot-ref\",\"ref-name\":\"main\",
        \"type\":\"branch\",\"snapshot-id\":$2}]}"
}

# The database, the catalog and its tables, made by a daemon without
# maintenance: q01..q30 for the queue, one table per other test.
mnt_setup() {
    local i st
    psql_q "$PG_TMP_URL" "CREATE DATABASE mnt" >/dev/null
    MNT_DB=${PG_TMP_URL/dbname=postgres/dbname=mnt}
    mnt_config msetup 0 0 0
    "$FLOE" migrate -c "$tmp/msetup.yaml" >"$tmp/msetup.out" 2>&1 &&
        start_floe msetup "$tmp/msetup.yaml" || return 1
    AUTH="Authorization: Bearer $(token "$FLOE_URL")"
    http POST /api/management/v1/catalogs -d "{\"catalog\":{\"type\":
        \"INTERNAL\",\"name\":\"mnt\",\"properties\":{\"default-base-location\":
        \"file://$tmp/mwh\"},\"storageConfigInfo\":{\"storageType\":\"FILE\"}}}" \
        >/dev/null
    http PUT /api/management/v1/catalogs/mnt/catalog-roles/catalog_admin/grants \
        -d '{"grant":{"type":"catalog","privilege":"CATALOG_MANAGE_CONTENT"}}' \
        >/dev/null
    http POST /api/catalog/v1/mnt/namespaces -d '{"namespace":["ns"]}' >/dev/null
    for i in $(seq -w 1 30); do
        mnt_table "q$i"
    done
    for i in slow stolen stopa stopb failing aftercommit plain gcoff poloff \
        snap; do
        mnt_table "$i"
    done
    http POST /api/catalog/v1/mnt/namespaces/ns/tables/gcoff -d '{
        "requirements":[],"updates":[{"action":"set-properties",
        "updates":{"gc.enabled":"false"}}]}' >/dev/null
    http POST /api/catalog/polaris/v1/mnt/namespaces/ns/policies -d '{
        "name":"noorphans","type":"system.orphan-file-removal",
        "content":"{\"enable\": false}"}' >/dev/null
    http PUT /api/catalog/polaris/v1/mnt/namespaces/ns/policies/noorphans/mappings \
        -d '{"target":{"type":"table-like","path":["ns","poloff"]}}' >/dev/null
    st=$(mnt_snapshot snap 101)
    stop_floe "$FLOE_PID"
    # a daemon without workers still enqueues expiry (and, a minute later,
    # planning) after a commit
    [ "$st" = 200 ] && [ "$(mnt_sql "SELECT count(*) FROM tables")" = 40 ] &&
        [ "$(mnt_sql "SELECT string_agg(job_type || ':' || state, ','
            ORDER BY job_type) FROM maintenance_jobs")" = \
            "compaction-plan:queued,snapshot-expiry:queued" ]
}

# Two daemons, three expiry workers each, 150 ms per job: 30 jobs run
# exactly once, by both; the schedulers enqueued each table once.
t_mnt_exactly_once() {
    local ids pa pb n
    mnt_config mna 3 0 0
    mnt_config mnb 3 0 0
    mnt_start mna 150 || { fail mnt-exactly-once "no start"; return; }
    pa=$FLOE_PID
    mnt_start mnb 150 || { fail mnt-exactly-once "no start"; return; }
    pb=$FLOE_PID
    ids=$(mnt_sql "INSERT INTO maintenance_jobs (realm, catalog_id, table_id,
        job_type, state, max_attempts, not_before_ms, created_ms,
        updated_ms) SELECT realm, catalog_id, id, 'snapshot-expiry',
        'queued', 3, 0, 0, 0 FROM tables WHERE name LIKE 'q%'
        RETURNING id" | paste -sd, -)
    if ! mnt_wait "SELECT count(*) FROM maintenance_jobs WHERE id IN ($ids)
            AND state = 'done'" 30 30; then
        fail mnt-exactly-once "jobs not done: $(mnt_sql "SELECT state,
            count(*) FROM maintenance_jobs WHERE id IN ($ids) GROUP BY 1")"
    fi
    n=$(mnt_sql "SELECT count(*), count(DISTINCT job_id),
        count(*) FILTER (WHERE status = 'Successful') FROM maintenance_runs
        WHERE job_id IN ($ids)")
    check mnt-exactly-once-runs [ "$n" = "30|30|30" ]
    n=$(mnt_sql "SELECT count(*) FROM maintenance_jobs WHERE id IN ($ids)
        AND attempts = 1")
    check mnt-exactly-once-one-attempt [ "$n" = 30 ]
    n=$(mnt_sql "SELECT count(DISTINCT split_part(lease_owner, ':', 2))
        FROM maintenance_jobs WHERE id IN ($ids)
        AND split_part(lease_owner, ':', 2) IN ('$pa', '$pb')")
    check mnt-both-daemons-worked [ "$n" = 2 ]
    # the schedulers: each table once per type however many daemons ran
    n=$(mnt_sql "SELECT count(*) FROM (SELECT 1 FROM maintenance_jobs
        GROUP BY table_id, job_type HAVING count(*) > 1
        AND job_type <> 'snapshot-expiry') d")
    check mnt-scheduled-once [ "$n" = 0 ]
    stop_floe "$pa"
    stop_floe "$pb"
}

# What the startup passes of the schedulers enqueued.
t_mnt_scheduler() {
    local n
    n=$(mnt_sql "SELECT string_agg(t.name || ':' || j.job_type, ','
        ORDER BY t.name, j.job_type) FROM maintenance_jobs j JOIN tables t
        ON t.id = j.table_id WHERE t.name IN ('plain', 'gcoff', 'poloff',
        'snap')")
    check mnt-scheduler-follows-configuration [ "$n" = \
"gcoff:compaction-plan,plain:compaction-plan,plain:orphan-removal,\
poloff:compaction-plan,snap:compaction-plan,snap:orphan-removal,\
snap:snapshot-expiry" ]
}

# A job held by a daemon whose jobs take 4 s: a second daemon waits while
# heartbeats keep the lease (2 s), then takes it over after kill -9.
t_mnt_takeover() {
    local id pc pd
    mnt_config mnc 1 0 0
    mnt_config mnd 1 0 0
    mnt_start mnc 4000 || { fail mnt-takeover "no start"; return; }
    pc=$FLOE_PID
    id=$(mnt_job snapshot-expiry slow)
    if ! mnt_wait "SELECT split_part(lease_owner, ':', 2) FROM
            maintenance_jobs WHERE id = $id AND state = 'running'" "$pc" 10; then
        fail mnt-takeover "job $id not claimed"
        return
    fi
    mnt_start mnd 0 || { fail mnt-takeover "no start"; return; }
    pd=$FLOE_PID
    sleep 3
    check mnt-heartbeat-keeps-lease [ "$(mnt_sql "SELECT state, attempts,
        split_part(lease_owner, ':', 2) FROM maintenance_jobs
        WHERE id = $id")" = "running|1|$pc" ]
    kill -9 "$pc"
    wait "$pc" 2>/dev/null
    if mnt_wait "SELECT state, attempts, split_part(lease_owner, ':', 2)
            FROM maintenance_jobs WHERE id = $id" "done|2|$pd" 10; then
        ok mnt-takeover-after-kill
    else
        fail mnt-takeover-after-kill "job: $(mnt_sql "SELECT state, attempts,
            lease_owner FROM maintenance_jobs WHERE id = $id")"
    fi
    check mnt-takeover-one-run [ "$(mnt_sql "SELECT count(*), min(status)
        FROM maintenance_runs WHERE job_id = $id")" = "1|Successful" ]
    stop_floe "$pd"
}

# A job whose lease another took records nothing; then SIGTERM while a
# job runs: it finishes and is recorded, the next one stays queued.
t_mnt_lost_and_stop() {
    local id a b st
    mnt_config mne 1 0 0
    mnt_start mne 2500 || { fail mnt-lost-lease "no start"; return; }
    id=$(mnt_job snapshot-expiry stolen)
    mnt_wait "SELECT state FROM maintenance_jobs WHERE id = $id" running 10
    mnt_sql "UPDATE maintenance_jobs SET lease_owner = 'thief',
        lease_expires_ms = lease_expires_ms + 600000 WHERE id = $id" >/dev/null
    for st in $(seq 1 80); do
        grep -q "job $id lost its lease; nothing recorded" "$tmp/mne.log" &&
            break
        sleep 0.1
    done
    check mnt-lost-lease-records-nothing [ "$(mnt_sql "SELECT count(*)
        FROM maintenance_runs WHERE job_id = $id"),$(mnt_sql "SELECT state,
        lease_owner FROM maintenance_jobs WHERE id = $id")" = \
        "0,running|thief" ]
    mnt_sql "UPDATE maintenance_jobs SET state = 'failed' WHERE id = $id" \
        >/dev/null
    a=$(mnt_job snapshot-expiry stopa)
    mnt_wait "SELECT state FROM maintenance_jobs WHERE id = $a" running 10
    b=$(mnt_job snapshot-expiry stopb)
    kill -TERM "$FLOE_PID"
    wait "$FLOE_PID"
    st=$?
    check mnt-stop-exits-zero [ "$st" = 0 ]
    check mnt-stop-finishes-job [ "$(mnt_sql "SELECT j.state, r.status FROM
        maintenance_jobs j JOIN maintenance_runs r ON r.job_id = j.id
        WHERE j.id = $a")" = "done|Successful" ]
    check mnt-stop-claims-no-more [ "$(mnt_sql "SELECT state, attempts FROM
        maintenance_jobs WHERE id = $b")" = "queued|0" ]
}

# Orphan removal of a table whose manifest list is missing fails: retried
# after 1 s, then 2 s, then failed after 3 attempts.  Also: the commit
# enqueued snapshot expiry.
t_mnt_retry() {
    local id gaps
    mnt_config mnf 1 1 0
    mnt_start mnf 0 || { fail mnt-retry "no start"; return; }
    AUTH="Authorization: Bearer $(token "$FLOE_URL")"
    # the scheduler's orphan job of the table ran while it was healthy
    mnt_wait "SELECT count(*) FROM maintenance_jobs WHERE job_type =
        'orphan-removal' AND table_id = $(mnt_tid failing)
        AND state IN ('queued', 'running')" 0 20
    check mnt-commit-status [ "$(mnt_snapshot failing 202)" = 200 ]
    check mnt-commit-enqueues-expiry [ "$(mnt_sql "SELECT count(*) FROM
        maintenance_jobs WHERE job_type = 'snapshot-expiry'
        AND table_id = $(mnt_tid failing)")" = 1 ]
    id=$(mnt_job orphan-removal failing)
    if ! mnt_wait "SELECT state, attempts FROM maintenance_jobs
            WHERE id = $id" "failed|3" 20; then
        fail mnt-retry-then-failed "job: $(mnt_sql "SELECT state, attempts,
            last_error FROM maintenance_jobs WHERE id = $id")"
        stop_floe "$FLOE_PID"
        return
    fi
    ok mnt-retry-then-failed
    check mnt-retry-runs-failed [ "$(mnt_sql "SELECT count(*), min(status),
        bool_and(failure_message <> '') FROM maintenance_runs
        WHERE job_id = $id")" = "3|Failed|t" ]
    # each retry waited at least its backoff: 1 s, then 2 s
    gaps=$(mnt_sql "SELECT string_agg((started_ms - prev >= want)::text, ','
        ORDER BY id) FROM (SELECT id, started_ms, lag(finished_ms) OVER
        (ORDER BY id) AS prev, 1000 * (1 << GREATEST(row_number() OVER
        (ORDER BY id) - 2, 0)::int) AS want FROM maintenance_runs
        WHERE job_id = $id) r WHERE prev IS NOT NULL")
    check mnt-retry-backoff [ "$gaps" = "true,true" ]
    stop_floe "$FLOE_PID"
}

t_maintenance() {
    local auth=$AUTH
    if [ -n "${FL_TEST_PGURL:-}" ]; then
        skip maintenance "needs a private cluster"
        return
    fi
    if ! mnt_setup; then
        fail mnt-setup "could not set up the mnt database"
        AUTH=$auth
        return
    fi
    t_mnt_exactly_once
    t_mnt_scheduler
    t_mnt_takeover
    t_mnt_lost_and_stop
    t_mnt_retry
    local f
    for f in mna mnb mnd mne mnf; do
        sanitizer_check "$f" "$tmp/$f.log"
    done
    AUTH=$auth
}
