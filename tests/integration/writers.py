#!/usr/bin/env python3
"""tests/integration/writers.py: Iceberg writers racing on a real floe.

Each writer behaves like an Iceberg client appending data: it writes a real
manifest and manifest list (Avro, with build/mkmanifest), loads the table,
and commits add-snapshot + set-snapshot-ref main with the requirements the
Java client sends (assert-table-uuid, assert-ref-snapshot-id main), retrying
on 409 with a fresh load.  Stdlib only.

  writers.py race URL CATALOG NS TABLE WRITERS COMMITS MKMANIFEST WORKDIR
      every writer appends COMMITS snapshots; then checks that the table's
      snapshot-log and snapshots hold all WRITERS*COMMITS, none lost or
      duplicated, as one linear chain with sequence numbers 1..N.
      Prints "ok ..." / "not ok ..." lines.
  writers.py storm URL CATALOG NS TABLES WRITERS MKMANIFEST WORKDIR ACKFILE
      writers append to TABLES tables until killed; every acknowledged
      (200) snapshot id is appended to ACKFILE as "table id" lines.
  writers.py verify URL CATALOG NS ACKFILE
      every table of ACKFILE loads and holds every acknowledged snapshot.
"""
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request


def auth(h):
    """Adds the bearer token run.sh passes in FL_TOKEN."""
    tok = os.environ.get("FL_TOKEN")
    if tok and "Authorization" not in h:
        h["Authorization"] = "Bearer " + tok
    return h


def call(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers=auth({"Content-Type": "application/json"}))
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode("utf-8", "replace")


def table_url(base, catalog, ns, table):
    return "%s/api/catalog/v1/%s/namespaces/%s/tables/%s" % (
        base, catalog, ns, table)


def write_files(mk, workdir, location, snap_id, parent, seq):
    """A real manifest and manifest list for one appended data file."""
    data = "%s/data/%d.parquet" % (location, snap_id)
    if data.startswith("file://"):
        # a stand-in data file, so purge can be seen deleting it
        os.makedirs(os.path.dirname(data[7:]), exist_ok=True)
        with open(data[7:], "wb") as f:
            f.write(b"PAR1 stand-in PAR1")
    man = os.path.join(workdir, "m-%d.avro" % snap_id)
    lst = os.path.join(workdir, "snap-%d.avro" % snap_id)
    subprocess.run([mk, "manifest", man, "--format-version", "2",
                    "--snapshot-id", str(snap_id), "--spec-id", "0",
                    "--content", "data", "%s:10:1000" % data],
                   check=True, capture_output=True)
    args = [mk, "list", lst, "--format-version", "2",
            "--snapshot-id", str(snap_id), "--sequence-number", str(seq)]
    if parent is not None:
        args += ["--parent-id", str(parent)]
    size = os.path.getsize(man)
    args.append("file://%s:%d:0:1:10" % (man, size))
    subprocess.run(args, check=True, capture_output=True)
    return "file://" + lst


def append_once(url, mk, workdir, stats):
    """One append with retry-on-409; returns the committed snapshot id."""
    snap_id = random.randint(1, 2**62)
    for attempt in range(1000):
        st, t = call("GET", url)
        if st != 200:
            raise RuntimeError("load failed: %s %s" % (st, t))
        meta = t["metadata"]
        parent = meta.get("current-snapshot-id")
        if parent is not None and parent < 0:
            parent = None
        seq = meta.get("last-sequence-number", 0) + 1
        mlist = write_files(mk, workdir, meta["location"], snap_id, parent,
                            seq)
        snap = {"snapshot-id": snap_id, "sequence-number": seq,
                "timestamp-ms": int(time.time() * 1000),
                "manifest-list": mlist,
                "summary": {"operation": "append", "added-data-files": "1",
                            "added-records": "10"},
                "schema-id": meta.get("current-schema-id", 0)}
        if parent is not None:
            snap["parent-snapshot-id"] = parent
        body = {"requirements": [
                    {"type": "assert-table-uuid", "uuid": meta["table-uuid"]},
                    {"type": "assert-ref-snapshot-id", "ref": "main",
                     "snapshot-id": parent}],
                "updates": [
                    {"action": "add-snapshot", "snapshot": snap},
                    {"action": "set-snapshot-ref", "ref-name": "main",
                     "type": "branch", "snapshot-id": snap_id}]}
        st, r = call("POST", url, body)
        if st == 200:
            return snap_id
        if st == 409:
            stats["retries"] += 1
            time.sleep(random.random() * 0.01)
            continue
        raise RuntimeError("commit failed: %s %s" % (st, r))
    raise RuntimeError("gave up after 1000 attempts")


def race(base, catalog, ns, table, writers, commits, mk, workdir):
    url = table_url(base, catalog, ns, table)
    done, errors = [], []
    stats = {"retries": 0}
    lock = threading.Lock()

    def writer():
        try:
            for _ in range(commits):
                sid = append_once(url, mk, workdir, stats)
                with lock:
                    done.append(sid)
        except Exception as e:          # reported below
            errors.append(str(e))

    threads = [threading.Thread(target=writer) for _ in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    name = "race-%dx%d" % (writers, commits)
    if errors:
        print("not ok %s - %s" % (name, errors[0]))
        return 1
    st, t = call("GET", url)
    meta = t["metadata"]
    log = [e["snapshot-id"] for e in meta.get("snapshot-log", [])]
    snaps = {s["snapshot-id"]: s for s in meta.get("snapshots", [])}
    want = writers * commits
    problems = []
    if len(done) != want or len(set(done)) != want:
        problems.append("%d acknowledged commits" % len(set(done)))
    if len(log) != want or set(log) != set(done):
        problems.append("snapshot-log holds %d of %d" % (len(set(log)), want))
    if set(snaps) != set(done):
        problems.append("snapshots hold %d of %d" % (len(snaps), want))
    seqs = sorted(s.get("sequence-number") for s in snaps.values())
    if seqs != list(range(1, want + 1)):
        problems.append("sequence numbers are not 1..%d" % want)
    cur, chain = meta.get("current-snapshot-id"), 0
    while cur in snaps and chain <= want:
        chain += 1
        cur = snaps[cur].get("parent-snapshot-id")
    if chain != want:
        problems.append("parent chain has %d links" % chain)
    if problems:
        print("not ok %s - %s" % (name, "; ".join(problems)))
        return 1
    print("ok %s (%d retries on 409)" % (name, stats["retries"]))
    return 0


def storm(base, catalog, ns, tables, writers, mk, workdir, ackfile):
    lock = threading.Lock()
    ack = open(ackfile, "a", buffering=1)
    stats = {"retries": 0}

    def writer(i):
        table = "t%d" % (i % tables)
        url = table_url(base, catalog, ns, table)
        while True:
            try:
                sid = append_once(url, mk, workdir, stats)
            except Exception:
                time.sleep(0.05)        # the daemon is gone or restarting
                continue
            with lock:
                ack.write("%s %d\n" % (table, sid))
                ack.flush()
                os.fsync(ack.fileno())

    for i in range(writers):
        threading.Thread(target=writer, args=(i,), daemon=True).start()
    while True:
        time.sleep(1)


def verify(base, catalog, ns, ackfile):
    acked = {}
    for line in open(ackfile):
        table, sid = line.split()
        acked.setdefault(table, set()).add(int(sid))
    bad = []
    for table, ids in sorted(acked.items()):
        st, t = call("GET", table_url(base, catalog, ns, table))
        if st != 200:
            bad.append("%s does not load (%s)" % (table, st))
            continue
        have = {s["snapshot-id"] for s in t["metadata"].get("snapshots", [])}
        lost = ids - have
        if lost:
            bad.append("%s lost %d acknowledged commits" % (table, len(lost)))
    total = sum(len(v) for v in acked.values())
    if bad:
        print("not ok kill9-storm - %s" % "; ".join(bad))
        return 1
    print("ok kill9-storm (%d acknowledged commits on %d tables kept)"
          % (total, len(acked)))
    return 0


def main(argv):
    if len(argv) == 10 and argv[1] == "race":
        return race(argv[2], argv[3], argv[4], argv[5], int(argv[6]),
                    int(argv[7]), argv[8], argv[9])
    if len(argv) == 10 and argv[1] == "storm":
        return storm(argv[2], argv[3], argv[4], int(argv[5]), int(argv[6]),
                     argv[7], argv[8], argv[9])
    if len(argv) == 6 and argv[1] == "verify":
        return verify(argv[2], argv[3], argv[4], argv[5])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
