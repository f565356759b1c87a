# tests/integration/tables.sh: scripted table tests that case files cannot
# express: racing writers, transaction atomicity against the files on disk,
# fault injection in storage and database, kill -9 in a commit storm.
# Sourced by run.sh (which provides tmp, FLOE, DBURL, start_floe, http, ok,
# fail, check, psql_q).

SCHEMA='{"type":"struct","fields":[{"id":1,"name":"id","type":"long","required":true},{"id":2,"name":"data","type":"string","required":false}]}'

# mk_catalog NAME: a FILE catalog under $tmp/wh/NAME with namespace "ns".
mk_catalog() {
    http POST /api/management/v1/catalogs -d "{\"catalog\":{\"type\":
        \"INTERNAL\",\"name\":\"$1\",\"properties\":{\"default-base-location\":
        \"file://$tmp/wh/$1\"},\"storageConfigInfo\":{\"storageType\":\"FILE\"}}}" \
        >/dev/null
    # data access (purge) for catalog_admin, as Polaris's quickstart does
    http PUT "/api/management/v1/catalogs/$1/catalog-roles/catalog_admin/grants" \
        -d '{"grant":{"type":"catalog","privilege":"CATALOG_MANAGE_CONTENT"}}' \
        >/dev/null
    http POST "/api/catalog/v1/$1/namespaces" -d '{"namespace":["ns"]}' >/dev/null
}

# mk_table CATALOG TABLE: prints the status
mk_table() {
    http POST "/api/catalog/v1/$1/namespaces/ns/tables" \
        -d "{\"name\":\"$2\",\"schema\":$SCHEMA}"
}

# Every table row's metadata file exists: no pointer without its file.
pointers_have_files() {
    local loc missing=0
    while IFS= read -r loc; do
        [ -z "$loc" ] && continue
        if [ ! -f "${loc#file://}" ]; then
            echo "# pointer without file: $loc"
            missing=$((missing + 1))
        fi
    done < <(psql_q "$DBURL" "SELECT metadata_location FROM tables")
    [ $missing = 0 ]
}

t_race() {
    mk_catalog race16
    mk_table race16 t >/dev/null
    mkdir -p "$tmp/race16-files"
    python3 tests/integration/writers.py race "$FLOE_URL" race16 ns t 16 20 \
        "$top/$B/mkmanifest" "$tmp/race16-files"
}

# A transaction whose second requirement fails changes neither table.
t_transaction_atomic() {
    local before after files_before files_after st
    mk_catalog txn
    mk_table txn a >/dev/null
    mk_table txn b >/dev/null
    before=$(psql_q "$DBURL" "SELECT string_agg(metadata_location, ',' ORDER BY name) FROM tables t JOIN namespaces n ON n.id = t.namespace_id JOIN catalogs c ON c.id = n.catalog_id WHERE c.name = 'txn'")
    files_before=$(find "$tmp/wh/txn" -name '*.metadata.json' | wc -l)
    st=$(http POST /api/catalog/v1/txn/transactions/commit -d '{"table-changes":[
        {"identifier":{"namespace":["ns"],"name":"a"},"requirements":[],
         "updates":[{"action":"set-properties","updates":{"k":"v"}}]},
        {"identifier":{"namespace":["ns"],"name":"b"},
         "requirements":[{"type":"assert-table-uuid","uuid":"00000000-0000-0000-0000-000000000000"}],
         "updates":[{"action":"set-properties","updates":{"k":"v"}}]}]}')
    after=$(psql_q "$DBURL" "SELECT string_agg(metadata_location, ',' ORDER BY name) FROM tables t JOIN namespaces n ON n.id = t.namespace_id JOIN catalogs c ON c.id = n.catalog_id WHERE c.name = 'txn'")
    files_after=$(find "$tmp/wh/txn" -name '*.metadata.json' | wc -l)
    if [ "$st" = 409 ] && [ "$before" = "$after" ] &&
        [ "$files_before" = "$files_after" ]; then
        ok transaction-all-or-nothing
    else
        fail transaction-all-or-nothing "status $st, pointers $before -> $after, files $files_before -> $files_after"
    fi
    st=$(http POST /api/catalog/v1/txn/transactions/commit -d '{"table-changes":[
        {"identifier":{"namespace":["ns"],"name":"a"},
         "updates":[{"action":"set-properties","updates":{"k":"v"}}]},
        {"identifier":{"namespace":["ns"],"name":"b"},
         "updates":[{"action":"set-properties","updates":{"k":"w"}}]}]}')
    after=$(psql_q "$DBURL" "SELECT count(*) FROM tables t JOIN namespaces n ON n.id = t.namespace_id JOIN catalogs c ON c.id = n.catalog_id WHERE c.name = 'txn' AND t.metadata LIKE '%\"k\":\"%'")
    check transaction-commits-both test "$st" = 204 -a "$after" = 2
}

# One commit sequence under a fault; any status is fine, the invariant is
# checked afterwards.
fault_round() {
    local spec=$1 i
    FLOE_BOOTSTRAP_CREDENTIALS= FL_FAULT=$spec \
        start_floe "fault-$spec" "$tmp/main.yaml" || return 1
    mk_table faults "f${spec//:/_}" >/dev/null
    for i in 1 2 3; do
        http POST "/api/catalog/v1/faults/namespaces/ns/tables/f${spec//:/_}" \
            -d "{\"updates\":[{\"action\":\"set-properties\",\"updates\":{\"i\":\"$i\"}}]}" \
            >/dev/null
    done
    http POST /api/catalog/v1/faults/transactions/commit -d "{\"table-changes\":[
        {\"identifier\":{\"namespace\":[\"ns\"],\"name\":\"f${spec//:/_}\"},
         \"updates\":[{\"action\":\"set-properties\",\"updates\":{\"t\":\"1\"}}]}]}" \
        >/dev/null
    stop_floe "$FLOE_PID"
}

t_faults() {
    local n bad=0
    start_floe faults "$tmp/main.yaml" && mk_catalog faults
    stop_floe "$FLOE_PID"
    for n in 1 2 3 4 5 6; do
        fault_round "sto:$n"
        # 1 and 2 are startup statements; each request also reads the
        # caller's roles and checks its privileges
        fault_round "db:$((n * 3))"
    done
    if pointers_have_files; then
        ok faults-no-pointer-without-file
    else
        fail faults-no-pointer-without-file "a pointer names a missing file"
    fi
    for n in 1 2 3 4 5 6; do
        grep -q 'CommitStateUnknown\|ServiceUnavailable' \
            "$tmp/fault-db:$((n * 3)).log" "$tmp/fault-sto:$n.log" && bad=1
    done
    check faults-reported-as-5xx [ $bad = 1 ]
}

# kill -9 in a commit storm: every acknowledged commit survives.
t_kill9() {
    local storm_pid
    start_floe kill9 "$tmp/main.yaml" || { fail kill9-storm "no start"; return; }
    mk_catalog storm
    for t in t0 t1 t2 t3; do mk_table storm $t >/dev/null; done
    mkdir -p "$tmp/storm-files"
    : >"$tmp/acks"
    python3 tests/integration/writers.py storm "$FLOE_URL" storm ns 4 8 \
        "$top/$B/mkmanifest" "$tmp/storm-files" "$tmp/acks" &
    storm_pid=$!
    sleep 3
    kill -9 "$FLOE_PID"
    wait "$FLOE_PID" 2>/dev/null
    kill "$storm_pid"
    wait "$storm_pid" 2>/dev/null
    start_floe kill9b "$tmp/main.yaml" || { fail kill9-storm "no restart"; return; }
    if [ "$(wc -l <"$tmp/acks")" -lt 10 ]; then
        fail kill9-storm "only $(wc -l <"$tmp/acks") commits before the kill"
    else
        python3 tests/integration/writers.py verify "$FLOE_URL" storm ns \
            "$tmp/acks"
    fi
    check kill9-pointers-have-files pointers_have_files
    stop_floe "$FLOE_PID"
}

# Purge deletes exactly what the metadata references, nothing else.
t_purge() {
    local dir=$tmp/wh/purge/ns/t st left
    mk_catalog purge
    mk_table purge t >/dev/null
    mkdir -p "$tmp/purge-files"
    python3 tests/integration/writers.py race "$FLOE_URL" purge ns t 1 3 \
        "$top/$B/mkmanifest" "$tmp/purge-files" >/dev/null
    echo keep >"$dir/data/unrelated.parquet"
    echo keep >"$dir/metadata/unrelated.metadata.json"
    if [ "$(ls "$dir/data" | wc -l)" != 4 ] ||
        [ "$(ls "$tmp/purge-files" | wc -l)" != 6 ]; then
        fail purge-exact-files "setup: $(ls "$dir/data" "$tmp/purge-files")"
        return
    fi
    st=$(http DELETE "/api/catalog/v1/purge/namespaces/ns/tables/t?purgeRequested=true")
    left=$(cd "$tmp/wh/purge" && find . -type f | sort | tr '\n' ' ')
    if [ "$st" = 204 ] && [ -z "$(ls "$tmp/purge-files")" ] &&
        [ "$left" = "./ns/t/data/unrelated.parquet ./ns/t/metadata/unrelated.metadata.json " ]; then
        ok purge-exact-files
    else
        fail purge-exact-files "status $st, left: $left $(ls "$tmp/purge-files")"
    fi
}

scripted_tables() {
    t_race
    t_transaction_atomic
    t_purge
}

scripted_tables_private() {
    t_faults
    t_kill9
}
