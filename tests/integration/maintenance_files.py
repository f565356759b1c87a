#!/usr/bin/env python3
"""tests/integration/maintenance_files.py: snapshot expiry and orphan-file
removal on real files (maintenance/mnt_expire.c, mnt_orphans.c), driven
through the maintenance API (POST .../maintenance/run).  Stdlib only.

  maintenance_files.py URL WAREHOUSE_DIR

URL is a running floe; WAREHOUSE_DIR a directory it may write (file://
catalogs mf_*_RUN are created under it).  build/mkmanifest (FL_MKMANIFEST,
else $B/mkmanifest) writes every manifest and manifest list; the script
keeps its own record of what each one holds, and computes what should be
reachable, expired and deleted from that record, independently of floe.
Automatic maintenance is held off with namespace policies
(system.snapshot-expiry / system.orphan-file-removal, enable false) while
a table is built, and released for the real runs.  Prints one "ok mf-NAME"
or "not ok mf-NAME - reason" line per scenario; exits 1 when any failed.

  mf-expiry-dry-run      the dry run lists exactly the expiring snapshots,
                         the removed ref and the files a run would delete
                         (manifest lists, manifests, data files, a data file
                         only a DELETED entry still names, delete files,
                         statistics); nothing is deleted or committed
  mf-expiry-gc-disabled  gc.enabled=false: the dry run fails with Iceberg's
                         message, the real run is refused, nothing changes
  mf-expiry-writers      expiry runs over and over while writers append to
                         main and another thread keeps making old snapshots,
                         dropping their branch and tagging them again at
                         once: every acknowledged append and tag survives
                         (a tag may only be refused because its snapshot
                         expired first), exactly the expected snapshots and
                         refs go, exactly the files committed snapshots
                         reached and the final metadata does not are
                         deleted, and every file of a live snapshot exists
  mf-orphans-dry-run     lists exactly the old unreferenced files (planted
                         orphans, metadata files trimmed from the log), not
                         referenced, young (an in-flight metadata file),
                         hidden or neighbouring ones; deletes nothing
  mf-orphans-gc-disabled gc.enabled=false: nothing deleted
  mf-orphans-delete      the real run deletes exactly those; every
                         referenced file, old or not, "file:/" spelling or
                         not, is still there and the table loads
  mf-orphans-mismatch    a manifest naming a listed path under another
                         authority stops the run; nothing deleted
  mf-orphans-shared      a location shared after rename + re-create stops
                         the run; nothing deleted
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

BASE = None
WH = None
MK = None
WORK = None
ENTRIES = False         # mkmanifest writes EXISTING / DELETED entries
FAILED = []
RUN = "%06x" % random.SystemRandom().getrandbits(24)
DAY = 86400000
OLD = 10 * 86400        # seconds: older than any orphan guard
SCHEMA = {"type": "struct", "schema-id": 0, "fields": [
    {"id": 1, "name": "id", "required": True, "type": "long"}]}


class Fail(Exception):
    pass


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    h = {"Content-Type": "application/json"}
    if os.environ.get("FL_TOKEN"):
        h["Authorization"] = "Bearer " + os.environ["FL_TOKEN"]
    req = urllib.request.Request(BASE + path, data=data, method=method,
                                 headers=h)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw) if raw else None
        except ValueError:
            return e.code, raw.decode("utf-8", "replace")


def expect(st, want, body, what):
    if st not in (want if isinstance(want, tuple) else (want,)):
        raise Fail("%s: status %s (wanted %s): %s" % (
            what, st, want, json.dumps(body)[:400]))
    return body


def now_ms():
    return int(time.time() * 1000)


def local(uri):
    """The local path of a file: URI in any spelling."""
    if uri.startswith("file://"):
        return uri[len("file://"):]
    if uri.startswith("file:"):
        return uri[len("file:"):]
    raise Fail("not a file URI: " + uri)


# ------------------------------------------------------- catalog set-up

def new_catalog(name):
    cat = "mf_%s_%s" % (name, RUN)
    st, b = call("POST", "/api/management/v1/catalogs", {"catalog": {
        "type": "INTERNAL", "name": cat,
        "properties": {"default-base-location": "file://%s/%s" % (WH, cat)},
        "storageConfigInfo": {"storageType": "FILE"}}})
    expect(st, 201, b, "create catalog " + cat)
    st, b = call("PUT", "/api/management/v1/catalogs/%s/catalog-roles/"
                 "catalog_admin/grants" % cat, {"grant": {
                     "type": "catalog",
                     "privilege": "CATALOG_MANAGE_CONTENT"}})
    expect(st, 201, b, "grant CATALOG_MANAGE_CONTENT on " + cat)
    new_ns(cat, "pol")
    for name, typ in (("noexp", "system.snapshot-expiry"),
                      ("noorph", "system.orphan-file-removal")):
        st, b = call("POST", "/api/catalog/polaris/v1/%s/namespaces/pol/"
                     "policies" % cat, {"name": name, "type": typ,
                                        "content": '{"enable": false}'})
        expect(st, 200, b, "create policy " + name)
    return cat


def new_ns(cat, ns):
    st, b = call("POST", "/api/catalog/v1/%s/namespaces" % cat,
                 {"namespace": [ns]})
    expect(st, 200, b, "create namespace " + ns)


def hold(cat, ns, policy, on):
    """Attach (on) or detach policy `policy` on namespace `ns`."""
    st, b = call("PUT" if on else "POST",
                 "/api/catalog/polaris/v1/%s/namespaces/pol/policies/%s/"
                 "mappings" % (cat, policy),
                 {"target": {"type": "namespace", "path": [ns]}})
    expect(st, (200, 204), b, "%s %s" % ("attach" if on else "detach",
                                         policy))


def run(cat, ns, table, typ, dry, conflict_retries=0):
    """POST .../maintenance/run; returns (status, body).  A 409 because
    another worker holds the table's job is retried."""
    body = {"namespace": [ns], "table": table, "type": typ, "dryRun": dry}
    for _ in range(conflict_retries + 1):
        st, b = call("POST", "/api/management/v1/catalogs/%s/maintenance/"
                     "run" % cat, body)
        if st != 409 or "is running" not in json.dumps(b):
            return st, b
        time.sleep(0.2)
    return st, b


def ok_run(cat, ns, table, typ, dry, retries=0):
    st, b = run(cat, ns, table, typ, dry, retries)
    r = expect(st, 200, b, "%s run (dry %s)" % (typ, dry))["run"]
    if r["status"] != "Successful":
        raise Fail("%s run (dry %s) failed: %s" % (
            typ, dry, r.get("failureMessage")))
    return r


# ------------------------------------------------------------- a table

class Table:
    """A table and a record of every manifest list and manifest written
    for it: list -> manifests, manifest -> [(file, status)]."""

    def __init__(self, cat, ns, name, props):
        self.cat, self.ns, self.name = cat, ns, name
        st, b = call("POST", "/api/catalog/v1/%s/namespaces/%s/tables" % (
            cat, ns), {"name": name, "schema": SCHEMA, "properties": props})
        self.loc = expect(st, 200, b, "create table " + name)[
            "metadata"]["location"]
        self.lists = {}
        self.mans = {}
        self.content = {}
        self.committed = {}     # snapshot id -> manifest list
        self.lock = threading.Lock()
        os.makedirs(local(self.loc) + "/data", exist_ok=True)
        os.makedirs(local(self.loc) + "/metadata", exist_ok=True)

    def path(self):
        return "/api/catalog/v1/%s/namespaces/%s/tables/%s" % (
            self.cat, self.ns, self.name)

    def load(self):
        st, b = call("GET", self.path())
        return expect(st, 200, b, "load " + self.name)

    def commit(self, reqs, ups, what):
        st, b = call("POST", self.path(), {"requirements": reqs,
                                           "updates": ups})
        return expect(st, 200, b, what)

    def set_props(self, props, remove=()):
        ups = []
        if props:
            ups.append({"action": "set-properties", "updates": props})
        if remove:
            ups.append({"action": "remove-properties",
                        "removals": list(remove)})
        self.commit([], ups, "properties")

    def files(self, n, spell="file://"):
        """n new stand-in data files; [(uri, size)]."""
        out = []
        for _ in range(n):
            p = "%s/data/%016x.parquet" % (local(self.loc),
                                           random.getrandbits(64))
            data = os.urandom(random.randint(20, 200))
            with open(p, "wb") as f:
                f.write(data)
            out.append(("%s%s" % (spell, p), len(data)))
        return out

    def manifest(self, sid, entries, deletes=False):
        """A manifest of [(uri, size, status)]; returns its URI."""
        uri = "%s/metadata/%016x-m0.avro" % (self.loc,
                                              random.getrandbits(64))
        args = [MK, "manifest", local(uri), "--format-version", "2",
                "--snapshot-id", str(sid), "--spec-id", "0",
                "--content", "deletes" if deletes else "data"]
        if ENTRIES:
            ej = os.path.join(WORK, "%016x.json" % random.getrandbits(64))
            with open(ej, "w") as f:
                json.dump([{"path": u, "records": 5, "size": s,
                            "status": st} for u, s, st in entries], f)
            args += ["--entries", ej]
        else:
            args += ["%s:5:%d" % (u, s) for u, s, st in entries if st != 2]
        subprocess.run(args, check=True, capture_output=True)
        with self.lock:
            self.mans[uri] = [(u, st) for u, s, st in entries
                              if ENTRIES or st != 2]
            self.content[uri] = deletes
        return uri

    def manifest_list(self, sid, parent, seq, manifests):
        uri = "%s/metadata/snap-%d-1-%016x.avro" % (self.loc, sid,
                                                    random.getrandbits(64))
        args = [MK, "list", local(uri), "--format-version", "2",
                "--snapshot-id", str(sid), "--sequence-number", str(seq)]
        if parent is not None:
            args += ["--parent-id", str(parent)]
        with self.lock:
            for m in manifests:
                args.append("%s:%d:0:1:5" % (m, os.path.getsize(local(m))))
            self.lists[uri] = list(manifests)
        subprocess.run(args, check=True, capture_output=True)
        return uri

    def snapshot(self, ref, ts, make, ref_props=None, stats=None,
                 fork=None):
        """Commit a snapshot on branch `ref` taken at `ts` (a new branch
        starts from snapshot `fork`); make(sid, parent_manifests) gives its
        manifests.  Retries lost races like a client.  Returns the snapshot
        id."""
        for _ in range(200):
            meta = self.load()["metadata"]
            head = meta.get("refs", {}).get(ref)
            parent = head["snapshot-id"] if head else fork
            plist = None
            for s in meta.get("snapshots", []):
                if s["snapshot-id"] == parent:
                    plist = s["manifest-list"]
            sid = random.getrandbits(62)
            seq = meta.get("last-sequence-number", 0) + 1
            with self.lock:
                pmans = list(self.lists.get(plist, []))
            lst = self.manifest_list(sid, parent, seq, make(sid, pmans))
            snap = {"snapshot-id": sid, "sequence-number": seq,
                    "timestamp-ms": ts, "manifest-list": lst,
                    "summary": {"operation": "append"}, "schema-id": 0}
            if parent is not None:
                snap["parent-snapshot-id"] = parent
            ref_obj = {"action": "set-snapshot-ref", "ref-name": ref,
                       "type": "branch", "snapshot-id": sid}
            ref_obj.update(ref_props or {})
            ups = [{"action": "add-snapshot", "snapshot": snap}, ref_obj]
            if stats:
                ups += stats(sid)
            st, b = call("POST", self.path(), {"requirements": [
                {"type": "assert-table-uuid", "uuid": meta["table-uuid"]},
                {"type": "assert-ref-snapshot-id", "ref": ref,
                 "snapshot-id": head["snapshot-id"] if head else None}],
                "updates": ups})
            if st == 200:
                with self.lock:
                    self.committed[sid] = lst
                return sid
            if st != 409:
                raise Fail("commit on %s: %s %s" % (ref, st, b))
            time.sleep(random.random() * 0.02)
        raise Fail("commit on %s: too many lost races: %s" % (ref, b))

    # what the snapshots do to the manifests of their parent

    def append(self, n=2, spell="file://"):
        def make(sid, pmans):
            return pmans + [self.manifest(sid, [(u, s, 1) for u, s in
                                                self.files(n, spell)])]
        return make

    def add_deletes(self):
        def make(sid, pmans):
            d = self.files(1)
            return pmans + [self.manifest(sid, [(d[0][0], d[0][1], 1)],
                                          deletes=True)]
        return make

    def rewrite(self):
        """Removes one data file: its manifest is replaced by one holding
        the others as EXISTING and it as DELETED."""
        def make(sid, pmans):
            for m in pmans:
                live = [u for u, st in self.mans[m] if st != 2]
                if not self.content[m] and len(live) >= 2:
                    ents = [(live[0], 10, 2)] + [(u, 10, 0) for u in live[1:]]
                    return [x for x in pmans if x != m] + [
                        self.manifest(sid, ents)]
            raise Fail("nothing to rewrite")
        return make

    def drop_deletes(self):
        def make(sid, pmans):
            return [m for m in pmans if not self.content[m]]
        return make

    def stats_file(self, sid, kind):
        p = "%s/metadata/%s-%d.stats" % (local(self.loc), kind, sid)
        with open(p, "wb") as f:
            f.write(os.urandom(64))
        return "file://" + p

    def with_stats(self, partition=False):
        def ups(sid):
            if partition:
                return [{"action": "set-partition-statistics",
                         "partition-statistics": {
                             "snapshot-id": sid, "file-size-in-bytes": 64,
                             "statistics-path": self.stats_file(sid,
                                                                "pstats")}}]
            return [{"action": "set-statistics", "statistics": {
                "snapshot-id": sid, "file-size-in-bytes": 64,
                "file-footer-size-in-bytes": 8, "blob-metadata": [],
                "statistics-path": self.stats_file(sid, "stats")}}]
        return ups

    # independent bookkeeping

    def reach(self, snaps, meta, stats=True):
        """Local paths reachable from `snaps` (Snapshot objects), plus the
        statistics files of `meta` for them."""
        out = set()
        ids = set(s["snapshot-id"] for s in snaps)
        with self.lock:
            for s in snaps:
                out.add(local(s["manifest-list"]))
                for m in self.lists[s["manifest-list"]]:
                    out.add(local(m))
                    out.update(local(u) for u, st in self.mans[m] if st != 2)
        for key in ("statistics", "partition-statistics"):
            for e in meta.get(key, []) if stats else []:
                if e["snapshot-id"] in ids:
                    out.add(local(e["statistics-path"]))
        return out

    def referenced(self, meta, location):
        """Everything orphan removal must keep: all snapshots' files, all
        statistics, the current metadata file and the metadata-log."""
        out = self.reach(meta.get("snapshots", []), meta)
        for key in ("statistics", "partition-statistics"):
            out.update(local(e["statistics-path"]) for e in meta.get(key, []))
        out.add(local(location))
        out.update(local(e["metadata-file"])
                   for e in meta.get("metadata-log", []))
        return out

    def created(self):
        """Every list, manifest and data file written (lost races too)."""
        with self.lock:
            out = set(local(u) for u in self.lists)
            for m, ents in self.mans.items():
                out.add(local(m))
                out.update(local(u) for u, _ in ents)
        return out

    def disk(self):
        out = set()
        for d, _, fs in os.walk(local(self.loc)):
            out.update(os.path.join(d, f) for f in fs
                       if not f.startswith(".floe-tmp-"))
        return out


def expected_expiry(meta, age, min_keep, ref_age, now):
    """RemoveSnapshots' choice, restated from the spec: (expired ids,
    removed refs)."""
    snaps = {s["snapshot-id"]: s for s in meta.get("snapshots", [])}
    kept, removed = {}, []
    for name, r in meta.get("refs", {}).items():
        s = snaps.get(r["snapshot-id"])
        if name == "main":
            kept[name] = r
        elif s is None or now - s["timestamp-ms"] > r.get("max-ref-age-ms",
                                                          ref_age):
            removed.append(name)
        else:
            kept[name] = r
    retain, reached = set(), set()
    for r in kept.values():
        s = snaps.get(r["snapshot-id"])
        if r["type"] == "tag":
            retain.add(r["snapshot-id"])
            reached.add(r["snapshot-id"])
            continue
        a = r.get("max-snapshot-age-ms", age)
        k = r.get("min-snapshots-to-keep", min_keep)
        n, keeping = 0, True
        while s is not None:
            keeping = keeping and (n < k or s["timestamp-ms"] >= now - a)
            if keeping:
                retain.add(s["snapshot-id"])
                n += 1
            reached.add(s["snapshot-id"])
            s = snaps.get(s.get("parent-snapshot-id"))
    for i, s in snaps.items():
        if i not in reached and s["timestamp-ms"] >= now - age:
            retain.add(i)
    return sorted(i for i in snaps if i not in retain), sorted(removed)


def scenario(name, fn, *a):
    try:
        note = fn(*a)
        print("ok mf-%s%s" % (name, " (%s)" % note if note else ""))
    except Fail as e:
        FAILED.append(name)
        print("not ok mf-%s - %s" % (name, e))
    except Exception as e:             # a broken scenario is a failure too
        FAILED.append(name)
        print("not ok mf-%s - %s: %s" % (name, type(e).__name__, e))
    sys.stdout.flush()


def same(got, want, what):
    got, want = set(got), set(want)
    if got != want:
        raise Fail("%s: %d unexpected %s, %d missing %s" % (
            what, len(got - want), sorted(got - want)[:3],
            len(want - got), sorted(want - got)[:3]))


# ------------------------------------------------------------ expiry

class Expiry:
    """One table with a long history: old snapshots on main (appends,
    delete files, a rewrite, their removal, statistics), a tag that
    keeps an old snapshot, a tag past its max-ref-age-ms, a branch with
    its own retention, and young snapshots that stay."""

    def __init__(self):
        self.cat = new_catalog("expiry")
        self.ns = "e1"
        new_ns(self.cat, self.ns)
        hold(self.cat, self.ns, "noexp", True)
        hold(self.cat, self.ns, "noorph", True)
        self.t = Table(self.cat, self.ns, "t", {
            "history.expire.max-snapshot-age-ms": str(5 * DAY),
            "history.expire.min-snapshots-to-keep": "1"})
        t, now = self.t, now_ms()

        def at(days):
            return now - int(days * DAY)
        t.snapshot("main", at(20), t.append(3))
        m2 = t.snapshot("main", at(19), t.append(2))
        t.snapshot("main", at(18), t.add_deletes(), stats=t.with_stats())
        t.snapshot("main", at(17), t.rewrite(),
                   stats=t.with_stats(partition=True))
        t.snapshot("main", at(16), t.drop_deletes())
        m6 = t.snapshot("main", at(15), t.append(1))
        for d in range(14, 9, -1):
            t.snapshot("main", at(d), t.append(1))
        m12 = t.snapshot("main", at(9), t.append(2))
        # NB: keep-old is after the rewrite, so the file it removed is
        # live only in snapshots that expire
        t.commit([], [
            {"action": "set-snapshot-ref", "ref-name": "keep-old",
             "type": "tag", "snapshot-id": m6},
            {"action": "set-snapshot-ref", "ref-name": "gone", "type": "tag",
             "snapshot-id": m2, "max-ref-age-ms": 2 * DAY},
            {"action": "set-snapshot-ref", "ref-name": "audit",
             "type": "branch", "snapshot-id": m12,
             "min-snapshots-to-keep": 2, "max-snapshot-age-ms": DAY}],
            "refs")
        aud = {"min-snapshots-to-keep": 2, "max-snapshot-age-ms": DAY}
        for d in (8.5, 8, 7.5):
            t.snapshot("audit", at(d), t.append(1), ref_props=aud)
        for d in (4, 3, 2):
            t.snapshot("main", at(d), t.append(1))
        t.snapshot("main", at(1), t.rewrite(), stats=t.with_stats())
        t.snapshot("main", at(0.5), t.append(1))
        self.before = t.load()
        self.disk = t.disk()
        meta = self.before["metadata"]
        self.expired, self.removed = expected_expiry(
            meta, 5 * DAY, 1, 2 ** 63 - 1, now_ms())
        gone = [s for s in meta["snapshots"]
                if s["snapshot-id"] in self.expired]
        kept = [s for s in meta["snapshots"]
                if s["snapshot-id"] not in self.expired]
        self.deleted = t.reach(gone, meta) - t.reach(kept, meta)

    def dry_run(self):
        t = self.t
        if len(self.expired) < 10 or self.removed != ["gone"]:
            raise Fail("the test table is not what the test expects: %d "
                       "expiring, refs %s" % (len(self.expired),
                                              self.removed))
        kinds = [p for p in self.deleted if "stats-" in p or "pstats-" in p]
        if len(kinds) != 2:
            raise Fail("expected the expired snapshots' statistics among "
                       "the deletions: %s" % kinds)
        r = ok_run(self.cat, self.ns, "t", "snapshot-expiry", True)
        d = r["details"]
        if sorted(d["expiredSnapshotIds"]) != self.expired:
            raise Fail("dry run expires %s, expected %s" % (
                sorted(d["expiredSnapshotIds"]), self.expired))
        if sorted(d["removedRefs"]) != self.removed:
            raise Fail("dry run removes refs %s" % d["removedRefs"])
        same([local(f) for f in d["files"]], self.deleted,
             "dry-run file list")
        if d["fileCount"] != len(self.deleted) or r["filesDeleted"] != 0:
            raise Fail("dry run counts: %s / deleted %s" % (
                d["fileCount"], r["filesDeleted"]))
        same(t.disk(), self.disk, "files on disk after the dry run")
        if t.load()["metadata-location"] != \
                self.before["metadata-location"]:
            raise Fail("the dry run committed")
        return "%d snapshots, %d files%s" % (
            len(self.expired), len(self.deleted),
            "" if ENTRIES else "; no DELETED entries (old mkmanifest)")

    def gc_disabled(self):
        t = self.t
        t.set_props({"gc.enabled": "false"})
        st, b = run(self.cat, self.ns, "t", "snapshot-expiry", True)
        r = expect(st, 200, b, "dry run with gc.enabled=false")["run"]
        if r["status"] != "Failed" or "GC is disabled" not in \
                r.get("failureMessage", ""):
            raise Fail("dry run with gc.enabled=false: %s" % r)
        hold(self.cat, self.ns, "noexp", False)
        st, b = run(self.cat, self.ns, "t", "snapshot-expiry", False)
        expect(st, 409, b, "a run with gc.enabled=false")
        time.sleep(1.5)         # background jobs, if any, see gc too
        hold(self.cat, self.ns, "noexp", True)
        t.set_props({}, remove=["gc.enabled"])
        meta = t.load()["metadata"]
        if len(meta["snapshots"]) != len(
                self.before["metadata"]["snapshots"]):
            raise Fail("snapshots changed with gc.enabled=false")
        new = t.disk() - self.disk
        if self.disk - t.disk() or any(not p.endswith(".metadata.json")
                                       for p in new):
            raise Fail("files changed with gc.enabled=false: -%s +%s" % (
                sorted(self.disk - t.disk())[:3], sorted(new)[:3]))
        self.disk = t.disk()
        return "refused: %s" % json.dumps(b)[:80]

    def with_writers(self):
        """Writers append to main; a third thread keeps making old
        snapshots on a branch "tmp" and dropping the branch, so they become
        expirable; expiry runs over and over meanwhile."""
        t = self.t
        acked, noise, errors, runs = [], [], [], []
        revived = {}
        lock = threading.Lock()
        done = threading.Event()

        def writer():
            for _ in range(8):
                sid = t.snapshot("main", now_ms(), t.append(1))
                with lock:
                    acked.append((sid, time.time()))

        def alone(sid, pmans):
            return [t.manifest(sid, [(u, n, 1) for u, n in t.files(1)])]

        def noisy():
            # NB: forked from a snapshot that stays (keep-old): a snapshot
            # without a parent may not be retried with a stale sequence
            # number
            for i in range(12):
                sid = t.snapshot("tmp", now_ms() - 10 * DAY, alone,
                                 fork=self.before["metadata"]["refs"][
                                     "keep-old"]["snapshot-id"])
                t.commit([], [{"action": "remove-snapshot-ref",
                               "ref-name": "tmp"}], "drop branch tmp")
                # tag it again, racing the expiry that wants it: either
                # the tag is refused (it expired first) or it holds
                st, b = call("POST", t.path(), {"requirements": [],
                                                "updates": [{
                    "action": "set-snapshot-ref", "type": "tag",
                    "ref-name": "revived-%d" % i, "snapshot-id": sid}]})
                if st == 200:
                    revived["revived-%d" % i] = sid
                elif st != 400 or "unknown snapshot" not in json.dumps(b):
                    raise Fail("tagging %d: %s %s" % (sid, st, b))
                else:
                    noise.append(sid)

        def expiring():
            while not done.is_set():
                t0 = time.time()
                r = ok_run(self.cat, self.ns, "t", "snapshot-expiry", False,
                           200)
                runs.append((t0, time.time(), r["filesDeleted"]))

        def guarded(fn):
            def go():
                try:
                    fn()
                except Exception as e:  # reported below
                    errors.append(repr(e))
            return threading.Thread(target=go)
        hold(self.cat, self.ns, "noexp", False)
        threads = [guarded(writer) for _ in range(3)] + [guarded(noisy)]
        for th in threads:
            th.start()
        exp = guarded(expiring)
        exp.start()
        for th in threads:
            th.join()
        done.set()
        exp.join()
        if errors:
            raise Fail("a thread failed: %s" % errors[0])
        # a last run once all is quiet (it waits for any job running)
        ok_run(self.cat, self.ns, "t", "snapshot-expiry", False, 200)
        final = t.load()
        meta = final["metadata"]
        ids = set(s["snapshot-id"] for s in meta["snapshots"])
        lost = [i for i, _ in acked if i not in ids]
        if lost:
            raise Fail("%d acknowledged commits lost: %s" % (len(lost),
                                                             lost[:3]))
        left = [i for i in self.expired + noise if i in ids]
        if left:
            raise Fail("%d snapshots not expired: %s" % (len(left), left))
        kept = set(s["snapshot-id"] for s in self.before["metadata"][
            "snapshots"]) - set(self.expired)
        if kept - ids:
            raise Fail("retained snapshots expired: %s" % (kept - ids))
        refs = dict(self.before["metadata"]["refs"])
        for name in self.removed + ["main"]:
            refs.pop(name)
        refs.update((n, {"snapshot-id": i}) for n, i in revived.items())
        for name, ref in refs.items():
            if meta["refs"].get(name, {}).get("snapshot-id") != \
                    ref["snapshot-id"]:
                raise Fail("ref %s changed: %s" % (name,
                                                   meta["refs"].get(name)))
        if set(meta["refs"]) != set(refs) | {"main"}:
            raise Fail("refs are %s" % sorted(meta["refs"]))
        # deleted: exactly what committed snapshots reached and the final
        # metadata does not (files of lost races are not touched)
        committed = [{"snapshot-id": i, "manifest-list": t.committed[i]}
                     for i in t.committed]
        want = t.reach(committed, self.before["metadata"]) - t.reach(
            meta["snapshots"], meta)
        if not self.deleted <= want:
            raise Fail("the test's bookkeeping is off")
        gone = (self.disk | t.created()) - t.disk()
        same(gone, want, "files the expiry runs deleted")
        live = t.reach(meta["snapshots"], meta)
        missing = [p for p in live if not os.path.exists(p)]
        if missing:
            raise Fail("%d files of live snapshots missing: %s" % (
                len(missing), missing[:3]))
        during = len([1 for _, at in acked
                      if any(a <= at <= b for a, b, _ in runs)])
        return "%d runs, %d appends (%d while a run was in flight), %d " \
            "old snapshots made and expired, %d tagged again in time, " \
            "%d files deleted" % (len(runs), len(acked), during, len(noise),
                                  len(revived), len(gone))


# ----------------------------------------------------------- orphans

class Orphans:
    """A table whose every file is old, plus planted orphans, young files,
    hidden files and a neighbouring directory."""

    def __init__(self):
        self.cat = new_catalog("orphans")
        self.ns = "o1"
        new_ns(self.cat, self.ns)
        hold(self.cat, self.ns, "noexp", True)
        hold(self.cat, self.ns, "noorph", True)
        self.t = t = Table(self.cat, self.ns, "t", {
            "write.metadata.previous-versions-max": "3"})
        now = now_ms()
        t.snapshot("main", now - 3 * DAY, t.append(3))
        t.snapshot("main", now - 2 * DAY, t.append(2, spell="file:"),
                   stats=t.with_stats())
        t.snapshot("main", now - DAY, t.add_deletes(),
                   stats=t.with_stats(partition=True))
        t.snapshot("main", now - DAY // 2, t.rewrite())
        t.snapshot("main", now - DAY // 4, t.append(1))
        loc = local(t.loc)
        self.old = set()
        for rel in ("data/orphan-a.parquet", "data/p=1/orphan-b.parquet",
                    "metadata/orphan-c.avro", "metadata/snap-9-1-x.avro",
                    "deep/nested/dir/x.bin"):
            self.old.add(self.plant(loc + "/" + rel))
        self.young = set(self.plant(loc + "/" + rel, old=False) for rel in (
            "data/orphan-young.parquet",
            "metadata/00099-%s.metadata.json" % uuid.uuid4()))
        self.hidden = set(self.plant(loc + "/" + rel) for rel in (
            "data/_SUCCESS", "data/.orphan-a.parquet.crc",
            "data/_temporary/0/part-0.parquet"))
        self.outside = self.plant(loc + "-sibling/old.parquet")
        self.age_everything()

    @staticmethod
    def plant(p, old=True):
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(os.urandom(33))
        if old:
            os.utime(p, (time.time() - OLD, time.time() - OLD))
        return p

    def age_everything(self):
        """Every file but the young ones is older than any guard."""
        for p in self.t.disk() | {self.outside}:
            if p not in self.young:
                os.utime(p, (time.time() - OLD, time.time() - OLD))

    def expected(self):
        t = self.t
        st = t.load()
        ref = t.referenced(st["metadata"], st["metadata-location"])
        hidden = set(p for p in t.disk() if any(
            c.startswith(("_", ".")) and "=" not in c
            for c in os.path.relpath(p, local(t.loc)).split("/")))
        return t.disk() - ref - self.young - hidden, ref

    def gc_disabled(self):
        t = self.t
        t.set_props({"gc.enabled": "false"})
        self.age_everything()
        disk = t.disk()
        st, b = run(self.cat, self.ns, "t", "orphan-removal", True)
        r = expect(st, 200, b, "dry run with gc.enabled=false")["run"]
        if r["status"] != "Failed" or "GC is disabled" not in \
                r.get("failureMessage", ""):
            raise Fail("dry run with gc.enabled=false: %s" % r)
        hold(self.cat, self.ns, "noorph", False)
        st, b = run(self.cat, self.ns, "t", "orphan-removal", False)
        expect(st, 409, b, "a run with gc.enabled=false")
        hold(self.cat, self.ns, "noorph", True)
        same(t.disk(), disk, "files on disk with gc.enabled=false")
        t.set_props({}, remove=["gc.enabled"])
        self.age_everything()
        return "refused: %s" % json.dumps(b)[:80]

    def dry_run(self):
        t = self.t
        want, ref = self.expected()
        trimmed = [p for p in want if p.endswith(".metadata.json")]
        if not self.old <= want or not trimmed:
            raise Fail("the test table is not what the test expects")
        disk = t.disk()
        r = ok_run(self.cat, self.ns, "t", "orphan-removal", True)
        d = r["details"]
        same([local(f) for f in d["orphans"]], want, "dry-run orphan list")
        if d["orphanCount"] != len(want) or d["tooYoung"] != len(
                self.young) or d["hidden"] != len(self.hidden):
            raise Fail("dry run counts: %s" % json.dumps(d)[:300])
        if r["filesExamined"] != len(disk) - len(self.hidden):
            raise Fail("examined %d of %d listed files" % (
                r["filesExamined"], len(disk) - len(self.hidden)))
        same(t.disk(), disk, "files on disk after the dry run")
        return "%d orphans (%d trimmed metadata files), %d referenced" % (
            len(want), len(trimmed), len(ref))

    def delete(self):
        t = self.t
        want, ref = self.expected()
        disk = t.disk()
        hold(self.cat, self.ns, "noorph", False)
        r = ok_run(self.cat, self.ns, "t", "orphan-removal", False, 50)
        hold(self.cat, self.ns, "noorph", True)
        same(disk - t.disk(), want, "files the orphan removal deleted")
        if r["filesDeleted"] != len(want):
            raise Fail("filesDeleted %d, expected %d" % (r["filesDeleted"],
                                                         len(want)))
        for p in ref | self.young | self.hidden | {self.outside}:
            if not os.path.exists(p):
                raise Fail("deleted a file it must keep: %s" % p)
        st, b = call("GET", t.path())
        expect(st, 200, b, "the table loads after orphan removal")
        return "%d deleted" % len(want)


def mismatch():
    """A manifest names a listed file under another authority
    (file://otherhost/...): DeleteOrphanFiles' default prefix mismatch
    mode stops, deleting nothing."""
    cat = new_catalog("mismatch")
    new_ns(cat, "m1")
    hold(cat, "m1", "noexp", True)
    t = Table(cat, "m1", "t", {})
    f = t.files(1)[0]
    other = "file://otherhost" + local(f[0])

    def make(sid, pmans):
        return pmans + [t.manifest(sid, [(other, f[1], 1)])]
    t.snapshot("main", now_ms() - DAY, make)
    Orphans.plant(local(t.loc) + "/data/orphan.parquet")
    for p in t.disk():
        os.utime(p, (time.time() - OLD, time.time() - OLD))
    disk = t.disk()
    st, b = run(cat, "m1", "t", "orphan-removal", False)
    r = expect(st, 200, b, "orphan run")["run"]
    if r["status"] != "Failed" or "authority" not in r.get(
            "failureMessage", ""):
        raise Fail("expected a prefix mismatch failure: %s" % r)
    same(t.disk(), disk, "files after a prefix mismatch")
    return r["failureMessage"][:90]


def shared():
    """Rename + re-create: two tables at one location.  Orphan removal on
    either would see the other's files as orphans; it refuses."""
    cat = new_catalog("shared")
    new_ns(cat, "s1")
    hold(cat, "s1", "noexp", True)
    a = Table(cat, "s1", "t", {})
    a.snapshot("main", now_ms() - DAY, a.append(2))
    st, b = call("POST", "/api/catalog/v1/%s/tables/rename" % cat, {
        "source": {"namespace": ["s1"], "name": "t"},
        "destination": {"namespace": ["s1"], "name": "t_old"}})
    expect(st, 204, b, "rename")
    c = Table(cat, "s1", "t", {})
    if c.loc != a.loc:
        return "locations differ; nothing to check"
    for p in c.disk():
        os.utime(p, (time.time() - OLD, time.time() - OLD))
    disk = c.disk()
    st, b = run(cat, "s1", "t", "orphan-removal", False)
    r = expect(st, 200, b, "orphan run")["run"]
    if r["status"] != "Failed" or "shared" not in r.get("failureMessage",
                                                         ""):
        raise Fail("expected a shared-location failure: %s" % r)
    same(c.disk(), disk, "files after a refused run")
    return r["failureMessage"][:90]


def main(argv):
    global BASE, WH, MK, WORK, ENTRIES
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    BASE = argv[1].rstrip("/")
    WH = os.path.abspath(argv[2])
    os.makedirs(WH, exist_ok=True)
    top = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    MK = os.environ.get("FL_MKMANIFEST") or os.path.join(
        top, os.environ.get("B", "build"), "mkmanifest")
    if not os.access(MK, os.X_OK):
        print("not ok mf-setup - no mkmanifest at %s" % MK)
        return 1
    usage = subprocess.run([MK], capture_output=True, text=True).stderr
    ENTRIES = "--entries" in usage
    WORK = tempfile.mkdtemp(prefix="floe-mf-")
    try:
        e = Expiry()
        scenario("expiry-dry-run", e.dry_run)
        scenario("expiry-gc-disabled", e.gc_disabled)
        scenario("expiry-writers", e.with_writers)
        o = Orphans()
        scenario("orphans-gc-disabled", o.gc_disabled)
        scenario("orphans-dry-run", o.dry_run)
        scenario("orphans-delete", o.delete)
        scenario("orphans-mismatch", mismatch)
        scenario("orphans-shared", shared)
    except Fail as e:
        FAILED.append("setup")
        print("not ok mf-setup - %s" % e)
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
