#!/usr/bin/env python3
"""tests/integration/scenarios_tables.py: the table scenarios of the
scenario suite (notes/ICEBERG.md 6.2) that a case file cannot express:
files on disk, real concurrency, many requests.  Stdlib only.

  scenarios_tables.py URL WAREHOUSE_DIR

URL is a running floe (http://host:port); WAREHOUSE_DIR a local directory
floe may write (file:// catalogs are created under it, one per scenario,
named scn_py_*_RUN).  build/mkmanifest (FL_MKMANIFEST, else $B/mkmanifest, B
defaulting to build) writes the real Avro manifests of the purge scenario.
Prints one "ok scn-NAME" or "not ok scn-NAME - reason" line per scenario;
exits 1 when any failed.

  scn-load-missing-metadata-file  testLoadTableWithMissingMetadataFile
  scn-drop-without-purge-keeps-files
                                  testDropTableWithoutPurge, on disk
  scn-drop-after-rename           dropAfterRenameDoesntCorruptTable
  scn-metadata-file-removal       testMetadataFileLocationsRemovalAfterCommit
  scn-concurrent-same-base        the *ServerSideRetry tests racing for real:
                                  non-conflicting commits from one base all
                                  succeed
  scn-concurrent-properties       80 racing non-conflicting commits, none lost
  scn-concurrent-appends          testConcurrentAppend*: racing appends with
                                  the client's retry on 409 form one chain
  scn-paginate-tables             1,050 tables walked page by page while
                                  tables are created and dropped
  scn-paginate-namespaces         the same for child namespaces
(method names are CatalogTests', notes/ICEBERG.md 6.2)
"""
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request


def auth(h):
    """Adds the bearer token run.sh passes in FL_TOKEN."""
    tok = os.environ.get("FL_TOKEN")
    if tok and "Authorization" not in h:
        h["Authorization"] = "Bearer " + tok
    return h

BASE = None
WH = None
FAILED = []

SCHEMA = {"type": "struct", "schema-id": 0, "fields": [
    {"id": 3, "name": "id", "required": True, "type": "int",
     "doc": "unique ID \U0001F92A"},
    {"id": 4, "name": "data", "required": True, "type": "string"}]}


class Fail(Exception):
    pass


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method,
                                 headers=auth({"Content-Type": "application/json"}))
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw) if raw else None
        except ValueError:
            return e.code, raw.decode("utf-8", "replace")


def expect(st, want, body, what):
    if st != want:
        raise Fail("%s: status %s (wanted %s): %s" % (
            what, st, want, json.dumps(body)[:300]))
    return body


def cat_path(cat):
    return "/api/catalog/v1/" + cat


def tbl(cat, ns, name):
    return "%s/namespaces/%s/tables/%s" % (cat_path(cat), ns, name)


RUN = "%06x" % random.SystemRandom().getrandbits(24)


def new_catalog(name):
    """A fresh FILE catalog scn_py_NAME_RUN under WAREHOUSE_DIR (RUN is
    random per run, so a run against a long-lived server starts clean)."""
    cat = "scn_py_%s_%s" % (name.replace("-", "_"), RUN)
    st, b = call("POST", "/api/management/v1/catalogs", {"catalog": {
        "type": "INTERNAL", "name": cat,
        "properties": {"default-base-location": "file://%s/%s" % (WH, cat)},
        "storageConfigInfo": {"storageType": "FILE"}}})
    expect(st, 201, b, "create catalog " + cat)
    # data access (purge) for catalog_admin, as Polaris's quickstart does
    st, b = call("PUT", "/api/management/v1/catalogs/%s/catalog-roles/"
                 "catalog_admin/grants" % cat, {"grant": {
                     "type": "catalog", "privilege": "CATALOG_MANAGE_CONTENT"}})
    expect(st, 201, b, "grant CATALOG_MANAGE_CONTENT on " + cat)
    return cat


def new_ns(cat, ns):
    st, b = call("POST", cat_path(cat) + "/namespaces",
                 {"namespace": ns.split("\x1f")})
    expect(st, 200, b, "create namespace " + ns)


def new_table(cat, ns, name, extra=None):
    body = {"name": name, "schema": SCHEMA}
    body.update(extra or {})
    st, b = call("POST", "%s/namespaces/%s/tables" % (cat_path(cat), ns),
                 body)
    return expect(st, 200, b, "create table %s.%s" % (ns, name))


def local(uri):
    if not uri.startswith("file://"):
        raise Fail("not a file:// location: " + uri)
    return urllib.parse.unquote(uri[len("file://"):])


def scenario(fn):
    name = "scn-" + fn.__name__.replace("_", "-")
    try:
        note = fn()
        print("ok %s%s" % (name, " (%s)" % note if note else ""))
    except Fail as e:
        FAILED.append(name)
        print("not ok %s - %s" % (name, e))
    except Exception as e:             # a broken scenario is a failure too
        FAILED.append(name)
        print("not ok %s - %s: %s" % (name, type(e).__name__, e))
    sys.stdout.flush()


# ------------------------------------------------------------ scenarios

def load_missing_metadata_file():
    """The current metadata file moved away: load is 404 NotFoundException
    'Failed to open input stream for file: <location>'; moved back, the
    table loads again."""
    cat = new_catalog("missing_file")
    new_ns(cat, "ns")
    new_table(cat, "ns", "tbl")
    st, t = call("GET", tbl(cat, "ns", "tbl"))
    loc = expect(st, 200, t, "load")["metadata-location"]
    path = local(loc)
    aside = path + ".moved-away"
    os.rename(path, aside)
    try:
        st, b = call("GET", tbl(cat, "ns", "tbl"))
        e = (b or {}).get("error", {}) if isinstance(b, dict) else {}
        want = "Failed to open input stream for file: " + loc
        if st != 404 or e.get("type") != "NotFoundException" or \
                want not in e.get("message", ""):
            raise Fail("load without its file: %s %s" % (
                st, json.dumps(b)[:300]))
    finally:
        os.rename(aside, path)
    st, t = call("GET", tbl(cat, "ns", "tbl"))
    if expect(st, 200, t, "load after restore")["metadata-location"] != loc:
        raise Fail("the pointer moved")


def drop_without_purge_keeps_files():
    """CatalogTests.testDropTableWithoutPurge on disk: a new table has
    exactly one metadata file; a drop without purge (and one with
    purgeRequested=false) deletes nothing."""
    cat = new_catalog("drop_keeps")
    new_ns(cat, "newdb")
    kept = []
    for name, query in (("plain", ""), ("nopurge", "?purgeRequested=false")):
        b = new_table(cat, "newdb", name)
        mdir = local(b["metadata"]["location"] + "/metadata")
        files = sorted(os.listdir(mdir))
        if files != [os.path.basename(local(b["metadata-location"]))]:
            raise Fail("%s: a new table has metadata files %s" % (
                name, files))
        st, c = call("POST", tbl(cat, "newdb", name), {"updates": [
            {"action": "set-properties", "updates": {"k": "v"}}]})
        expect(st, 200, c, "commit to " + name)
        files = sorted(os.listdir(mdir))
        st, c = call("DELETE", tbl(cat, "newdb", name) + query)
        expect(st, 204, c, "drop %s%s" % (name, query))
        st, c = call("HEAD", tbl(cat, "newdb", name))
        expect(st, 404, c, "dropped " + name)
        if sorted(os.listdir(mdir)) != files or len(files) != 2:
            raise Fail("%s: the drop changed the metadata files: %s -> %s" % (
                name, files, sorted(os.listdir(mdir))))
        kept += files
    return "%d metadata files kept" % len(kept)


def write_append(mk, meta, data_name, snap_id):
    """What a Java fast-append writes: a data file (stand-in bytes), a
    manifest and a manifest list under the table location; returns the
    commit body."""
    location = meta["location"]
    data = "%s/data/%s" % (location, data_name)
    os.makedirs(os.path.dirname(local(data)), exist_ok=True)
    with open(local(data), "wb") as f:
        f.write(b"PAR1 stand-in PAR1")
    mdir = "%s/metadata" % location
    os.makedirs(local(mdir), exist_ok=True)
    tag = "%x" % random.getrandbits(64)
    man = "%s/%s-m0.avro" % (mdir, tag)
    lst = "%s/snap-%d-1-%s.avro" % (mdir, snap_id, tag)
    parent = meta.get("current-snapshot-id")
    if parent is not None and parent < 0:
        parent = None
    seq = meta.get("last-sequence-number", 0) + 1
    subprocess.run([mk, "manifest", local(man), "--format-version", "2",
                    "--snapshot-id", str(snap_id), "--spec-id", "0",
                    "--content", "data", "%s:2:10" % data],
                   check=True, capture_output=True)
    args = [mk, "list", local(lst), "--format-version", "2",
            "--snapshot-id", str(snap_id), "--sequence-number", str(seq)]
    if parent is not None:
        args += ["--parent-id", str(parent)]
    args.append("%s:%d:0:1:2" % (man, os.path.getsize(local(man))))
    subprocess.run(args, check=True, capture_output=True)
    snap = {"snapshot-id": snap_id, "sequence-number": seq,
            "timestamp-ms": int(time.time() * 1000), "manifest-list": lst,
            "summary": {"operation": "append", "added-data-files": "1",
                        "added-records": "2"},
            "schema-id": meta["current-schema-id"]}
    if parent is not None:
        snap["parent-snapshot-id"] = parent
    body = {"requirements": [
        {"type": "assert-table-uuid", "uuid": meta["table-uuid"]},
        {"type": "assert-ref-snapshot-id", "ref": "main",
         "snapshot-id": parent}],
        "updates": [{"action": "add-snapshot", "snapshot": snap},
                    {"action": "set-snapshot-ref", "ref-name": "main",
                     "type": "branch", "snapshot-id": snap_id}]}
    return body, [data, man, lst]


def drop_after_rename():
    """CatalogTests.dropAfterRenameDoesntCorruptTable: a renamed table and a
    table re-created under the old name share the default location; a
    purge of the renamed one must leave every file of the other alone."""
    top = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    mk = os.environ.get("FL_MKMANIFEST") or os.path.join(
        top, os.environ.get("B", "build"), "mkmanifest")
    if not os.access(mk, os.X_OK):
        raise Fail("no mkmanifest at %s" % mk)
    cat = new_catalog("drop_after_rename")
    new_ns(cat, "newdb")
    meta = new_table(cat, "newdb", "newtable")["metadata"]
    body, _ = write_append(mk, meta, "data-a.parquet", 1)
    st, b = call("POST", tbl(cat, "newdb", "newtable"), body)
    expect(st, 200, b, "append data-a")
    st, b = call("POST", cat_path(cat) + "/tables/rename", {
        "source": {"namespace": ["newdb"], "name": "newtable"},
        "destination": {"namespace": ["newdb"], "name": "table_renamed"}})
    expect(st, 204, b, "rename")
    meta2 = new_table(cat, "newdb", "newtable")["metadata"]
    if meta2["location"] != meta["location"]:
        note = "locations differ"
    else:
        note = "both tables at .../%s" % "/".join(
            meta["location"].rsplit("/", 2)[-2:])
    body, files = write_append(mk, meta2, "data-b.parquet", 2)
    st, b = call("POST", tbl(cat, "newdb", "newtable"), body)
    cur = expect(st, 200, b, "append data-b")["metadata-location"]
    st, b = call("DELETE", tbl(cat, "newdb", "table_renamed") +
                 "?purgeRequested=true")
    expect(st, 204, b, "drop table_renamed with purge")
    st, b = call("HEAD", tbl(cat, "newdb", "table_renamed"))
    expect(st, 404, b, "the purged table is gone")
    st, b = call("HEAD", tbl(cat, "newdb", "newtable"))
    expect(st, 204, b, "the re-created table still exists")
    st, b = call("GET", tbl(cat, "newdb", "newtable"))
    if expect(st, 200, b, "the re-created table loads")[
            "metadata-location"] != cur:
        raise Fail("its pointer changed")
    missing = [f for f in files + [cur] if not os.path.exists(local(f))]
    if missing:
        raise Fail("the purge deleted files of newdb.newtable: %s" % missing)
    return "; ".join([note, "data, manifest, list and metadata intact"])


def metadata_file_removal():
    """CatalogTests.testMetadataFileLocationsRemovalAfterCommit: current +
    metadata-log counts under write.metadata.previous-versions-max, and with
    write.metadata.delete-after-commit.enabled the trimmed files are deleted
    and the kept ones are not."""
    cat = new_catalog("metadata_removal")
    new_ns(cat, "newdb")
    meta = new_table(cat, "newdb", "newtable")["metadata"]
    path = tbl(cat, "newdb", "newtable")
    mdir = local(meta["location"] + "/metadata")
    state = {"cols": 2, "schema": 0}
    cur_fields = [dict(f) for f in meta["schemas"][0]["fields"]]

    def add_column(name):
        st, b = call("POST", path, {
            "requirements": [
                {"type": "assert-table-uuid", "uuid": meta["table-uuid"]},
                {"type": "assert-last-assigned-field-id",
                 "last-assigned-field-id": state["cols"]},
                {"type": "assert-current-schema-id",
                 "current-schema-id": state["schema"]}],
            "updates": [{"action": "add-schema", "schema": {
                "type": "struct", "schema-id": state["schema"] + 1,
                "fields": cur_fields + [{"id": state["cols"] + 1,
                                         "name": name, "required": False,
                                         "type": "long"}]}},
                {"action": "set-current-schema", "schema-id": -1}]})
        b = expect(st, 200, b, "add column " + name)
        state["cols"] += 1
        state["schema"] += 1
        cur_fields.append({"id": state["cols"], "name": name,
                           "required": False, "type": "long"})
        return b

    def set_props(props):
        st, b = call("POST", path, {"requirements": [
            {"type": "assert-table-uuid", "uuid": meta["table-uuid"]}],
            "updates": [{"action": "set-properties", "updates": props}]})
        return expect(st, 200, b, "set properties")

    def check(b, n, deleting, what):
        locs = [b["metadata-location"]] + [
            e["metadata-file"] for e in b["metadata"]["metadata-log"]]
        if len(set(locs)) != n:
            raise Fail("%s: %d metadata file locations, wanted %d" % (
                what, len(set(locs)), n))
        for l in locs:
            if not os.path.exists(local(l)):
                raise Fail("%s: a kept metadata file is gone: %s" % (what, l))
        on_disk = sorted(f for f in os.listdir(mdir)
                         if f.endswith(".metadata.json"))
        if deleting and len(on_disk) != n:
            raise Fail("%s: %d metadata files on disk, wanted %d (the "
                       "trimmed ones deleted)" % (what, len(on_disk), n))

    for col in "abc":
        b = add_column(col)
    check(b, 4, False, "after 3 schema commits")
    b = set_props({"write.metadata.delete-after-commit.enabled": "true",
                   "write.metadata.previous-versions-max": "2"})
    check(b, 3, True, "after setting the max to 2")
    for i in range(1, 6):
        b = add_column("d%d" % i)
        check(b, 3, True, "commit d%d with max 2" % i)
    b = set_props({"write.metadata.previous-versions-max": "4"})
    check(b, 4, True, "after raising the max to 4")
    for i in range(1, 11):
        b = add_column("e%d" % i)
        check(b, 5, True, "commit e%d with max 4" % i)
    st, b = call("GET", path)
    check(expect(st, 200, b, "load"), 5, True, "loaded")


def run_parallel(fns):
    """Runs the callables at once (released together); returns results,
    exceptions included."""
    out = [None] * len(fns)
    gate = threading.Barrier(len(fns))

    def run(i):
        gate.wait()
        try:
            out[i] = fns[i]()
        except Exception as e:          # reported by the caller
            out[i] = e

    ts = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def concurrent_same_base():
    """The *ServerSideRetry scenarios under real concurrency: a schema
    change, a spec change, a sort order change and a property change, all
    prepared from the same base and sent at the same instant, each with the
    requirements the Java client sends.  None conflicts, so all succeed,
    and the table has all four changes (20 rounds, 20 tables)."""
    cat = new_catalog("same_base")
    new_ns(cat, "newdb")
    for r in range(20):
        meta = new_table(cat, "newdb", "t%d" % r)["metadata"]
        path = tbl(cat, "newdb", "t%d" % r)
        u = {"type": "assert-table-uuid", "uuid": meta["table-uuid"]}
        fields = meta["schemas"][0]["fields"]
        bodies = [
            {"requirements": [u, {"type": "assert-last-assigned-field-id",
                                  "last-assigned-field-id": 2},
                              {"type": "assert-current-schema-id",
                               "current-schema-id": 0}],
             "updates": [{"action": "add-schema", "schema": {
                 "type": "struct", "schema-id": 1, "fields": fields + [
                     {"id": 3, "name": "new_col", "required": False,
                      "type": "long"}]}},
                 {"action": "set-current-schema", "schema-id": -1}]},
            {"requirements": [u, {"type": "assert-last-assigned-partition-id",
                                  "last-assigned-partition-id": 999},
                              {"type": "assert-default-spec-id",
                               "default-spec-id": 0}],
             "updates": [{"action": "add-spec", "spec": {
                 "spec-id": 1, "fields": [
                     {"name": "shard", "transform": "bucket[16]",
                      "source-id": 1, "field-id": 1000}]}},
                 {"action": "set-default-spec", "spec-id": -1}]},
            {"requirements": [u, {"type": "assert-default-sort-order-id",
                                  "default-sort-order-id": 0}],
             "updates": [{"action": "add-sort-order", "sort-order": {
                 "order-id": 1, "fields": [
                     {"transform": "identity", "source-id": 1,
                      "direction": "asc", "null-order": "nulls-first"}]}},
                 {"action": "set-default-sort-order", "sort-order-id": -1}]},
            {"requirements": [u],
             "updates": [{"action": "set-properties",
                          "updates": {"owner": "round%d" % r}}]}]
        res = run_parallel([lambda b=b: call("POST", path, b)
                            for b in bodies])
        for i, x in enumerate(res):
            if isinstance(x, Exception) or x[0] != 200:
                raise Fail("round %d: commit %d of 4 got %s" % (
                    r, i, x if isinstance(x, Exception)
                    else "%s %s" % (x[0], json.dumps(x[1])[:300])))
        st, t = call("GET", path)
        m = expect(st, 200, t, "load")["metadata"]
        got = (m["current-schema-id"], m["default-spec-id"],
               m["default-sort-order-id"], m["properties"].get("owner"),
               len(m["metadata-log"]))
        if got != (1, 1, 1, "round%d" % r, 4):
            raise Fail("round %d: schema, spec, order, owner, log = %s" % (
                r, got))
    return "20 rounds of 4 racing commits"


def concurrent_properties():
    """8 writers x 10 commits of distinct properties, asserting only the
    table uuid: every commit is applied exactly once (one metadata file
    each), none is lost.  A 409 is allowed only as the bounded server retry
    giving up ('lost N races'), which the client retries."""
    cat = new_catalog("properties")
    new_ns(cat, "newdb")
    meta = new_table(cat, "newdb", "newtable")["metadata"]
    path = tbl(cat, "newdb", "newtable")
    u = {"type": "assert-table-uuid", "uuid": meta["table-uuid"]}
    stats = {"409": 0}
    lock = threading.Lock()
    writers, commits = 8, 10

    def writer(w):
        for i in range(commits):
            for _ in range(50):
                st, b = call("POST", path, {"requirements": [u], "updates": [
                    {"action": "set-properties",
                     "updates": {"k.w%d.%d" % (w, i): "v"}}]})
                if st == 200:
                    break
                msg = (b or {}).get("error", {}).get("message", "") \
                    if isinstance(b, dict) else str(b)
                if st == 409 and "races" in msg:
                    with lock:
                        stats["409"] += 1
                    continue
                raise Fail("writer %d commit %d: %s %s" % (w, i, st, msg))
            else:
                raise Fail("writer %d commit %d never went through" % (w, i))

    res = run_parallel([lambda w=w: writer(w) for w in range(writers)])
    for x in res:
        if isinstance(x, Exception):
            raise x if isinstance(x, Fail) else Fail(str(x))
    st, t = call("GET", path)
    m = expect(st, 200, t, "load")["metadata"]
    keys = {k for k in m["properties"] if k.startswith("k.w")}
    want = {"k.w%d.%d" % (w, i) for w in range(writers)
            for i in range(commits)}
    if keys != want:
        raise Fail("%d of %d properties present" % (len(keys & want),
                                                     len(want)))
    n = len(m["metadata-log"])
    if n != writers * commits:
        raise Fail("metadata-log has %d entries for %d commits" % (
            n, writers * commits))
    files = [f for f in os.listdir(local(m["location"] + "/metadata"))
             if f.endswith(".metadata.json")]
    if len(files) != writers * commits + 1:
        raise Fail("%d metadata files for %d commits + the create" % (
            len(files), writers * commits))
    return "%d commits, %d server retries gave up and were retried" % (
        writers * commits, stats["409"])


def concurrent_appends():
    """6 writers x 5 appends to main, as the Java client does them (load,
    add-snapshot + set-snapshot-ref main asserting the uuid and main's
    snapshot; on 409 refresh and retry with the same snapshot id): every
    append lands exactly once, in one linear chain, sequence numbers 1..N."""
    cat = new_catalog("appends")
    new_ns(cat, "newdb")
    meta = new_table(cat, "newdb", "newtable")["metadata"]
    path = tbl(cat, "newdb", "newtable")
    loc = meta["location"]
    done, lock = [], threading.Lock()
    stats = {"409": 0}
    writers, appends = 6, 5

    def append_once(sid):
        for _ in range(200):
            st, t = call("GET", path)
            m = expect(st, 200, t, "load")["metadata"]
            parent = m.get("current-snapshot-id")
            parent = None if parent is None or parent < 0 else parent
            snap = {"snapshot-id": sid,
                    "sequence-number": m["last-sequence-number"] + 1,
                    "timestamp-ms": int(time.time() * 1000),
                    "manifest-list": "%s/metadata/snap-%d.avro" % (loc, sid),
                    "summary": {"operation": "append"}, "schema-id": 0}
            if parent is not None:
                snap["parent-snapshot-id"] = parent
            st, b = call("POST", path, {
                "requirements": [{"type": "assert-table-uuid",
                                  "uuid": m["table-uuid"]},
                                 {"type": "assert-ref-snapshot-id",
                                  "ref": "main", "snapshot-id": parent}],
                "updates": [{"action": "add-snapshot", "snapshot": snap},
                            {"action": "set-snapshot-ref", "ref-name": "main",
                             "type": "branch", "snapshot-id": sid}]})
            if st == 200:
                return
            if st != 409:
                raise Fail("append %d: %s %s" % (sid, st, json.dumps(b)[:300]))
            with lock:
                stats["409"] += 1
            time.sleep(random.random() * 0.005)
        raise Fail("append %d never went through" % sid)

    def writer(w):
        for i in range(appends):
            sid = 1000 * (w + 1) + i
            append_once(sid)
            with lock:
                done.append(sid)

    res = run_parallel([lambda w=w: writer(w) for w in range(writers)])
    for x in res:
        if isinstance(x, Exception):
            raise x if isinstance(x, Fail) else Fail(str(x))
    st, t = call("GET", path)
    m = expect(st, 200, t, "load")["metadata"]
    n = writers * appends
    snaps = {s["snapshot-id"]: s for s in m["snapshots"]}
    if set(snaps) != set(done) or len(done) != n:
        raise Fail("%d snapshots for %d appends" % (len(snaps), n))
    if sorted(s["sequence-number"] for s in snaps.values()) != \
            list(range(1, n + 1)):
        raise Fail("sequence numbers are not 1..%d" % n)
    chain, cur = 0, m["current-snapshot-id"]
    while cur in snaps:
        chain += 1
        cur = snaps[cur].get("parent-snapshot-id")
    if chain != n or len(m["snapshot-log"]) != n:
        raise Fail("chain of %d, snapshot-log of %d, for %d appends" % (
            chain, len(m["snapshot-log"]), n))
    return "%d appends, %d client retries after 409" % (n, stats["409"])


def walk(list_path, key, page_size, on_page=None):
    """Follows next-page-token; returns the items of every page."""
    items, token, pages = [], None, 0
    while True:
        # the first request carries an empty pageToken, as the Java client
        # sends it
        q = "%spageToken=%s&pageSize=%d" % ("&" if "?" in list_path else "?",
            "" if token is None else urllib.parse.quote(token, safe=""),
            page_size)
        st, b = call("GET", list_path + q)
        expect(st, 200, b, "list page %d" % pages)
        page = b[key]
        if len(page) > page_size:
            raise Fail("page %d holds %d items for pageSize %d" % (
                pages, len(page), page_size))
        items += page
        pages += 1
        if on_page:
            on_page(pages)
        token = b.get("next-page-token")
        if token is None:
            return items, pages
        if pages > 10000:
            raise Fail("more than 10000 pages")


def between_pages(ops, pages_expected):
    """An on_page callback running the next share of `ops` after each page,
    so that the listing changes under the walk at every step."""
    per = max(1, -(-len(ops) // max(1, pages_expected - 1)))
    state = {"i": 0}

    def on_page(p):
        for f in ops[state["i"]:state["i"] + per]:
            f()
        state["i"] += per

    def rest():
        for f in ops[state["i"]:]:
            f()
    return on_page, rest


def paginate_tables():
    """1,050 tables walked with pageSize 37; after every page 200 more
    tables are being created (names interleaved with the existing ones) and
    100 existing ones dropped: every table that existed throughout appears
    exactly once, none twice, every page respects pageSize and the walk
    ends.  Afterwards an unpaged list and a quiet paged walk are exact."""
    cat = new_catalog("paginate_tables")
    new_ns(cat, "big")
    names = ["t%04d" % i for i in range(1050)]
    res = run_parallel([lambda k=k: [new_table(cat, "big", n)
                                     for n in names[k::8]]
                        for k in range(8)])
    for x in res:
        if isinstance(x, Exception):
            raise x if isinstance(x, Fail) else Fail(str(x))
    rnd = random.Random(7)
    dropped = set(rnd.sample(names, 100))
    created = ["%s_new" % n for n in rnd.sample(names, 200)]
    errors = []

    def mk(n):
        st, b = call("POST", cat_path(cat) + "/namespaces/big/tables",
                     {"name": n, "schema": SCHEMA})
        if st != 200:
            errors.append("create %s: %s" % (n, st))

    def rm(n):
        st, b = call("DELETE", tbl(cat, "big", n))
        if st != 204:
            errors.append("drop %s: %s" % (n, st))

    ops = []
    for i, d in enumerate(sorted(dropped)):
        ops += [lambda n=created[2 * i]: mk(n),
                lambda n=created[2 * i + 1]: mk(n), lambda n=d: rm(n)]
    rnd.shuffle(ops)
    on_page, rest = between_pages(ops, 1050 // 37)
    items, pages = walk(cat_path(cat) + "/namespaces/big/tables",
                        "identifiers", 37, on_page)
    rest()
    if errors:
        raise Fail("changes under the walk: %s" % errors[:3])
    if any(i["namespace"] != ["big"] for i in items):
        raise Fail("an identifier with another namespace")
    seen = [i["name"] for i in items]
    dup = sorted({n for n in seen if seen.count(n) > 1})
    if dup:
        raise Fail("listed twice: %s" % dup[:5])
    seen = set(seen)
    lost = [n for n in names if n not in dropped and n not in seen]
    if lost:
        raise Fail("%d tables that existed throughout were skipped: %s" % (
            len(lost), lost[:5]))
    want = (set(names) - dropped) | set(created)
    st, b = call("GET", cat_path(cat) + "/namespaces/big/tables?pageToken=")
    final = [i["name"] for i in expect(st, 200, b, "list all")["identifiers"]]
    if sorted(final) != sorted(want) or b.get("next-page-token") is not None:
        raise Fail("the unpaged list has %d names, wanted %d" % (
            len(final), len(want)))
    items, pages2 = walk(cat_path(cat) + "/namespaces/big/tables",
                         "identifiers", 100)
    if sorted(i["name"] for i in items) != sorted(want):
        raise Fail("a quiet paged walk gave %d names, wanted %d" % (
            len(items), len(want)))
    return "%d pages under changes, %d quiet pages of 100" % (pages, pages2)


def paginate_namespaces():
    """400 child namespaces of p walked with pageSize 23; after every page
    children are being created (interleaved names), dropped, and given
    children of their own (which are not direct children of p): the
    children that existed throughout appear exactly once, as full two-level
    identifiers, and nothing deeper is listed."""
    cat = new_catalog("paginate_namespaces")
    new_ns(cat, "p")
    names = ["c%04d" % i for i in range(400)]
    res = run_parallel([lambda k=k: [new_ns(cat, "p\x1f" + n)
                                     for n in names[k::8]]
                        for k in range(8)])
    for x in res:
        if isinstance(x, Exception):
            raise x if isinstance(x, Fail) else Fail(str(x))
    rnd = random.Random(11)
    dropped = set(rnd.sample(names, 50))
    keep = sorted(set(names) - dropped)
    created = ["%s_new" % n for n in rnd.sample(names, 100)]
    errors = []

    def mk(ns):
        st, b = call("POST", cat_path(cat) + "/namespaces",
                     {"namespace": ns})
        if st != 200:
            errors.append("create %s: %s" % (ns, st))

    def rm(n):
        st, b = call("DELETE", cat_path(cat) + "/namespaces/p%1F" + n)
        if st != 204:
            errors.append("drop %s: %s" % (n, st))

    ops = []
    for i, d in enumerate(sorted(dropped)):
        ops += [lambda n=created[2 * i]: mk(["p", n]),
                lambda n=created[2 * i + 1]: mk(["p", n]),
                lambda n=d: rm(n), lambda n=keep[i]: mk(["p", n, "g"])]
    rnd.shuffle(ops)
    on_page, rest = between_pages(ops, 400 // 23)
    items, pages = walk(cat_path(cat) + "/namespaces?parent=p", "namespaces",
                        23, on_page)
    rest()
    if errors:
        raise Fail("changes under the walk: %s" % errors[:3])
    bad = [ns for ns in items if len(ns) != 2 or ns[0] != "p"]
    if bad:
        raise Fail("not direct children of p: %s" % bad[:3])
    seen = [ns[1] for ns in items]
    dup = sorted({n for n in seen if seen.count(n) > 1})
    if dup:
        raise Fail("listed twice: %s" % dup[:5])
    seen = set(seen)
    lost = [n for n in names if n not in dropped and n not in seen]
    if lost:
        raise Fail("%d namespaces that existed throughout were skipped: %s"
                   % (len(lost), lost[:5]))
    want = (set(names) - dropped) | set(created)
    items, pages2 = walk(cat_path(cat) + "/namespaces?parent=p",
                         "namespaces", 50)
    if sorted(ns[1] for ns in items) != sorted(want):
        raise Fail("a quiet paged walk gave %d children, wanted %d" % (
            len(items), len(want)))
    return "%d pages under changes" % pages


def main(argv):
    global BASE, WH
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    BASE = argv[1].rstrip("/")
    WH = os.path.abspath(argv[2])
    os.makedirs(WH, exist_ok=True)
    random.seed(1)
    for fn in (load_missing_metadata_file, drop_without_purge_keeps_files,
               drop_after_rename,
               metadata_file_removal, concurrent_same_base,
               concurrent_properties, concurrent_appends, paginate_tables,
               paginate_namespaces):
        scenario(fn)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
