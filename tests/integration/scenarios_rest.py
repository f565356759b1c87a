#!/usr/bin/env python3
"""tests/integration/scenarios_rest.py: REST scenarios case files cannot
express (concurrency, volume, files on disk, statuses the spec checker
would flag).  Stdlib only.

    scenarios_rest.py URL WAREHOUSE_DIR

URL is a running floe (http://127.0.0.1:PORT); WAREHOUSE_DIR is a directory
the server can write, used as file://WAREHOUSE_DIR/<catalog>.  Every
catalog gets a fresh name, so the script can run again on the same server.
Prints one "ok scn-NAME" or "not ok scn-NAME - reason" line per scenario
and exits 1 when any failed.  The scenario index is
cases/1500-scn-index.case.

  scn-unsupported-*        operations Floe does not serve: 406
                           UnsupportedOperationException (ErrorModel body),
                           no effect, not advertised in /v1/config
  scn-idempotency-concurrent-*
                           the same request with the same Idempotency-Key
                           sent by many clients at once: exactly one effect,
                           every response equal (status, body, ETag)
  scn-pagination-*         a walk through 1,000+ tables (and namespaces)
                           while others are created: every item that existed
                           before the walk appears exactly once, nothing
                           twice; foreign and tampered tokens are 400
  scn-view-*, scn-load-missing-metadata-file, scn-unregister-files-kept
                           metadata files on disk (custom metadata path,
                           a moved metadata file, unregister and view drop)
"""
import base64
import json
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

BASE = None
WAREHOUSE = None
RUN = "%x" % random.getrandbits(24)
FAILED = []

SCHEMA = {"type": "struct", "schema-id": 0, "fields": [
    {"id": 1, "name": "id", "type": "int", "required": True},
    {"id": 2, "name": "data", "type": "string", "required": False}]}
VIEW_SCHEMA = {"type": "struct", "schema-id": 0, "fields": [
    {"id": 1, "name": "x", "type": "long", "required": False}]}


# ------------------------------------------------------------------ http

class Resp:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.raw = raw
        try:
            self.json = json.loads(raw) if raw else None
        except ValueError:
            self.json = None

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return "%d %s" % (self.status, self.raw[:300].decode("utf-8",
                                                             "replace"))


def call(method, path, body=None, headers=None, raw=None):
    """One request; path is below BASE.  body is JSON, raw is bytes."""
    data = raw if raw is not None else (
        None if body is None else json.dumps(body).encode())
    h = {"Content-Type": "application/json"}
    if os.environ.get("FL_TOKEN"):
        h["Authorization"] = "Bearer " + os.environ["FL_TOKEN"]
    h.update(headers or {})
    req = urllib.request.Request(BASE + path, data=data, method=method,
                                 headers=h)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return Resp(r.status, dict(r.headers), r.read())
    except urllib.error.HTTPError as e:
        return Resp(e.code, dict(e.headers), e.read())


def irc(catalog, rest):
    return "/api/catalog/v1/%s/%s" % (catalog, rest)


class Fail(Exception):
    pass


def expect(cond, why):
    if not cond:
        raise Fail(why)


def want(resp, status, what):
    expect(resp.status == status, "%s: expected %d, got %r"
           % (what, status, resp))
    return resp


def scenario(name):
    """Decorator: runs the function, prints ok / not ok."""
    def wrap(fn):
        def run(*a):
            t0 = time.time()
            try:
                note = fn(*a)
            except Fail as e:
                FAILED.append(name)
                print("not ok scn-%s - %s" % (name, e), flush=True)
                return
            except Exception as e:     # a crash is a failure, not a traceback
                FAILED.append(name)
                print("not ok scn-%s - %s: %s" % (name, type(e).__name__, e),
                      flush=True)
                return
            extra = " (%s)" % note if note else ""
            print("ok scn-%s%s [%.1fs]" % (name, extra, time.time() - t0),
                  flush=True)
        return run
    return wrap


def new_catalog(tag, namespaces=("ns",)):
    name = "scnpy_%s_%s" % (tag, RUN)
    want(call("POST", "/api/management/v1/catalogs", {"catalog": {
        "type": "INTERNAL", "name": name,
        "properties": {"default-base-location":
                       "file://%s/%s" % (WAREHOUSE, name)},
        "storageConfigInfo": {"storageType": "FILE"}}}), 201,
        "create catalog " + name)
    # data access (purge, metrics) for catalog_admin, as Polaris's
    # quickstart does
    want(call("PUT", "/api/management/v1/catalogs/%s/catalog-roles/"
              "catalog_admin/grants" % name, {"grant": {
                  "type": "catalog", "privilege": "CATALOG_MANAGE_CONTENT"}}),
         201, "grant CATALOG_MANAGE_CONTENT on " + name)
    for ns in namespaces:
        want(call("POST", irc(name, "namespaces"), {"namespace": [ns]}), 200,
             "create namespace " + ns)
    return name


def create_table(cat, ns, name, props=None):
    body = {"name": name, "schema": SCHEMA}
    if props:
        body["properties"] = props
    return want(call("POST", irc(cat, "namespaces/%s/tables" % ns), body),
                200, "create table %s.%s" % (ns, name))


def view_version(vid, sql, ns="ns"):
    return {"version-id": vid, "timestamp-ms": 1750000000000 + vid,
            "schema-id": 0, "summary": {"engine-name": "spark"},
            "default-namespace": [ns],
            "representations": [{"type": "sql", "sql": sql,
                                 "dialect": "spark"}]}


def create_view(cat, ns, name, props=None):
    return want(call("POST", irc(cat, "namespaces/%s/views" % ns), {
        "name": name, "schema": VIEW_SCHEMA,
        "view-version": view_version(1, "select 1", ns),
        "properties": props or {}}), 200, "create view %s.%s" % (ns, name))


def local_path(location):
    expect(location.startswith("file://"), "not a file location: %s"
           % location)
    return location[len("file://"):]


def parallel(n, fn):
    """Runs fn(i) in n threads released together; returns the results."""
    barrier = threading.Barrier(n)
    out = [None] * n

    def run(i):
        try:
            barrier.wait(10)
            out[i] = fn(i)
        except Exception as e:          # reported by the caller
            out[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in out:
        if isinstance(r, Exception):
            raise Fail("a client failed: %s: %s" % (type(r).__name__, r))
    return out


# ------------------------------------------------------ 406 unsupported

UNSUPPORTED = (
    # (scenario, method, path below the catalog, body, endpoint string)
    ("planTableScan", "POST", "namespaces/ns/tables/t/plan",
     {"snapshot-id": 1, "select": ["id"]},
     "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/plan"),
    ("fetchPlanningResult", "GET", "namespaces/ns/tables/t/plan/p1", None,
     "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}/plan/{plan-id}"),
    ("cancelPlanning", "DELETE", "namespaces/ns/tables/t/plan/p1", None,
     "DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}/plan/"
     "{plan-id}"),
    ("fetchScanTasks", "POST", "namespaces/ns/tables/t/tasks",
     {"plan-task": "task-1"},
     "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/tasks"),
    ("loadCredentials", "GET", "namespaces/ns/tables/t/credentials", None,
     "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}/credentials"),
    ("signRequest", "POST", "namespaces/ns/tables/t/sign",
     {"region": "us-east-1", "uri": "s3://bucket/key", "method": "GET",
      "headers": {"host": ["bucket.s3.amazonaws.com"]}},
     "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/sign"),
    ("listFunctions", "GET", "namespaces/ns/functions?pageToken=", None,
     "GET /v1/{prefix}/namespaces/{namespace}/functions"),
    ("loadFunction", "GET", "namespaces/ns/functions/f", None,
     "GET /v1/{prefix}/namespaces/{namespace}/functions/{function}"),
)


def error_model(resp, status, typ=None):
    """The body is exactly {"error": {message, type, code[, stack]}}."""
    expect(resp.status == status, "expected %d, got %r" % (status, resp))
    ct = (resp.header("Content-Type") or "").split(";")[0].strip()
    expect(ct == "application/json", "Content-Type %r" % ct)
    v = resp.json
    expect(isinstance(v, dict) and list(v) == ["error"],
           "not the ErrorModel wrapper: %r" % resp)
    e = v["error"]
    expect(isinstance(e.get("message"), str) and e["message"] != "",
           "no message: %r" % resp)
    expect(e.get("code") == status, "code %r" % e.get("code"))
    expect(isinstance(e.get("type"), str), "no type: %r" % resp)
    if typ is not None:
        expect(e["type"] == typ, "type %s, expected %s" % (e["type"], typ))
    expect(set(e) <= {"message", "type", "code", "stack"},
           "extra members: %r" % resp)


def unsupported_scenarios():
    cat = new_catalog("unsup")
    t = create_table(cat, "ns", "t")
    loc = t.json["metadata-location"]
    etag = t.header("ETag")
    for op, method, path, body, _ in UNSUPPORTED:
        @scenario("unsupported-" + op)
        def one(method=method, path=path, body=body):
            r = call(method, irc(cat, path), body)
            error_model(r, 406, "UnsupportedOperationException")
            # the table is untouched by it
            after = want(call("GET", irc(cat, "namespaces/ns/tables/t")),
                         200, "load after")
            expect(after.json["metadata-location"] == loc,
                   "the table changed")
            expect(after.header("ETag") == etag, "the ETag changed")
        one()

    @scenario("token-wrong-secret-401")
    def token():
        # the OAuth2 endpoint, form-encoded as clients send it: a wrong
        # secret is 401 unauthorized_client in the OAuth error shape
        form = urllib.parse.urlencode({
            "grant_type": "client_credentials", "client_id": "root-client",
            "client_secret": "not-the-secret", "scope": "PRINCIPAL_ROLE:ALL"})
        r = call("POST", "/api/catalog/v1/oauth/tokens", raw=form.encode(),
                 headers={"Content-Type":
                          "application/x-www-form-urlencoded"})
        expect(r.status == 401, "status %s" % r.status)
        expect(r.json == {"error": "unauthorized_client",
                          "error_description": "invalid client credentials"},
               "body %r" % r.json)
    token()

    @scenario("unsupported-missing-table")
    def missing():
        # routed before any lookup: 406 whatever the target
        for _, method, path, body, _ in UNSUPPORTED:
            p = path.replace("tables/t/", "tables/nope/").replace(
                "namespaces/ns/", "namespaces/nope/")
            error_model(call(method, irc(cat, p), body), 406,
                        "UnsupportedOperationException")
    missing()

    @scenario("unsupported-not-advertised")
    def advertised():
        r = want(call("GET", "/api/catalog/v1/config?warehouse=" + cat), 200,
                 "getConfig")
        eps = r.json.get("endpoints")
        expect(isinstance(eps, list) and eps, "no endpoints: %r" % r)
        bad = [ep for *_, ep in UNSUPPORTED if ep in eps]
        expect(not bad, "advertised: %s" % bad)
        expect(not [e for e in eps if "oauth" in e], "oauth advertised")
        # and every advertised endpoint is routed (not 405/406, nor the
        # 404 NotFoundException of an unknown path)
        for ep in eps:
            verb, tpl = ep.split(" ", 1)
            expect(tpl.startswith("/v1/{prefix}/"), "template %s" % tpl)
            # names that do not exist, so the probes change nothing
            p = (tpl[len("/v1/{prefix}/"):].replace("{namespace}", "nons")
                 .replace("{table}", "not").replace("{view}", "nov"))
            body = {} if verb == "POST" else None
            r = call(verb, irc(cat, p), body)
            expect(r.status not in (405, 406) and not (
                r.status == 404 and r.json and r.json["error"]["type"] ==
                "NotFoundException"), "%s is advertised but %r" % (ep, r))
    advertised()


# ---------------------------------------------- concurrent idempotency

DUPS = 12


def dup_requests(method, path, body, key, n=DUPS):
    """n clients send the same request with the same key at once."""
    headers = {"Idempotency-Key": key}
    return parallel(n, lambda i: call(method, path, body, headers))


def same_responses(rs, status):
    """Every response equal: status, body, ETag; one original."""
    for r in rs:
        expect(r.status == status, "expected %d from every client, got %r"
               % (status, r))
    first = rs[0]
    for r in rs[1:]:
        expect(r.json == first.json if first.json is not None
               else r.raw == first.raw,
               "responses differ: %r vs %r" % (first, r))
        expect(r.header("ETag") == first.header("ETag"),
               "ETags differ: %s vs %s" % (first.header("ETag"),
                                           r.header("ETag")))
    originals = [r for r in rs if r.header("Idempotent-Replayed") is None]
    expect(len(originals) == 1, "%d responses were not replays"
           % len(originals))


def meta_log_len(cat, ns, table):
    r = want(call("GET", irc(cat, "namespaces/%s/tables/%s" % (ns, table))),
             200, "load %s" % table)
    return len(r.json["metadata"].get("metadata-log", [])), r


def idempotency_scenarios():
    cat = new_catalog("idem")

    def key():
        return str(uuid.uuid4())

    @scenario("idempotency-concurrent-createNamespace")
    def s1():
        rs = dup_requests("POST", irc(cat, "namespaces"),
                          {"namespace": ["cn"], "properties": {"a": "1"}},
                          key())
        same_responses(rs, 200)
        r = want(call("GET", irc(cat, "namespaces?parent=")), 200, "list")
        expect(r.json["namespaces"].count(["cn"]) == 1, "listing %r" % r)
    s1()

    @scenario("idempotency-concurrent-updateProperties")
    def s2():
        rs = dup_requests("POST", irc(cat, "namespaces/cn/properties"),
                          {"updates": {"b": "2"}, "removals": ["a"]}, key())
        same_responses(rs, 200)
        expect(rs[0].json.get("removed") == ["a"], "first outcome %r" % rs[0])
    s2()

    @scenario("idempotency-concurrent-createTable")
    def s3():
        rs = dup_requests("POST", irc(cat, "namespaces/ns/tables"),
                          {"name": "t", "schema": SCHEMA}, key())
        same_responses(rs, 200)
        r = want(call("GET", irc(cat, "namespaces/ns/tables/t")), 200,
                 "load t")
        expect(r.json["metadata-location"] ==
               rs[0].json["metadata-location"], "another table was created")
        files = os.listdir(os.path.dirname(local_path(
            r.json["metadata-location"])))
        expect(len([f for f in files if f.endswith(".metadata.json")]) == 1,
               "metadata files: %s" % files)
    s3()

    @scenario("idempotency-concurrent-updateTable")
    def s4():
        before, r0 = meta_log_len(cat, "ns", "t")
        uid = r0.json["metadata"]["table-uuid"]
        rs = dup_requests("POST", irc(cat, "namespaces/ns/tables/t"), {
            "requirements": [{"type": "assert-table-uuid", "uuid": uid}],
            "updates": [{"action": "set-properties",
                         "updates": {"k": "v"}}]}, key())
        same_responses(rs, 200)
        after, r1 = meta_log_len(cat, "ns", "t")
        expect(after == before + 1, "%d commits happened" % (after - before))
        expect(r1.json["metadata-location"] ==
               rs[0].json["metadata-location"], "the pointer moved further")
    s4()

    @scenario("idempotency-concurrent-appendSnapshot")
    def s4b():
        # an append as the Java client sends it: the replays must not be
        # 400 "Snapshot already exists"
        _, r0 = meta_log_len(cat, "ns", "t")
        meta = r0.json["metadata"]
        snap = {"snapshot-id": 42, "sequence-number": 1,
                "timestamp-ms": 1700000000000,
                "manifest-list": meta["location"] + "/metadata/snap-42.avro",
                "summary": {"operation": "append"}, "schema-id": 0}
        rs = dup_requests("POST", irc(cat, "namespaces/ns/tables/t"), {
            "requirements": [
                {"type": "assert-table-uuid", "uuid": meta["table-uuid"]},
                {"type": "assert-ref-snapshot-id", "ref": "main",
                 "snapshot-id": None}],
            "updates": [{"action": "add-snapshot", "snapshot": snap},
                        {"action": "set-snapshot-ref", "ref-name": "main",
                         "type": "branch", "snapshot-id": 42}]}, key())
        same_responses(rs, 200)
        _, r1 = meta_log_len(cat, "ns", "t")
        expect(len(r1.json["metadata"]["snapshots"]) == 1 and
               len(r1.json["metadata"]["snapshot-log"]) == 1,
               "snapshots %r" % r1.json["metadata"]["snapshots"])
    s4b()

    @scenario("idempotency-concurrent-commitTransaction")
    def s5():
        create_table(cat, "ns", "t2")
        b1, _ = meta_log_len(cat, "ns", "t")
        b2, _ = meta_log_len(cat, "ns", "t2")
        rs = dup_requests("POST", irc(cat, "transactions/commit"), {
            "table-changes": [
                {"identifier": {"namespace": ["ns"], "name": n},
                 "requirements": [],
                 "updates": [{"action": "set-properties",
                              "updates": {"txn": "1"}}]}
                for n in ("t", "t2")]}, key())
        same_responses(rs, 204)
        a1, _ = meta_log_len(cat, "ns", "t")
        a2, _ = meta_log_len(cat, "ns", "t2")
        expect((a1 - b1, a2 - b2) == (1, 1), "commits: %d, %d"
               % (a1 - b1, a2 - b2))
    s5()

    @scenario("idempotency-concurrent-renameTable")
    def s6():
        rs = dup_requests("POST", irc(cat, "tables/rename"), {
            "source": {"namespace": ["ns"], "name": "t2"},
            "destination": {"namespace": ["cn"], "name": "t2moved"}}, key())
        same_responses(rs, 204)
        want(call("HEAD", irc(cat, "namespaces/cn/tables/t2moved")), 204,
             "the destination")
        want(call("HEAD", irc(cat, "namespaces/ns/tables/t2")), 404,
             "the source")
    s6()

    @scenario("idempotency-concurrent-unregisterTable")
    def s7():
        rs = dup_requests("POST", irc(cat, "namespaces/cn/tables/t2moved/"
                                           "unregister"), None, key())
        same_responses(rs, 200)
        want(call("HEAD", irc(cat, "namespaces/cn/tables/t2moved")), 404,
             "after unregister")
        loc = rs[0].json["metadata-location"]
        expect(os.path.exists(local_path(loc)), "file gone: %s" % loc)
    s7()

    @scenario("idempotency-concurrent-registerTable")
    def s8():
        r = want(call("GET", irc(cat, "namespaces/ns/tables/t")), 200, "t")
        loc = r.json["metadata-location"]
        rs = dup_requests("POST", irc(cat, "namespaces/ns/register"),
                          {"name": "treg", "metadata-location": loc}, key())
        same_responses(rs, 200)
        r = want(call("GET", irc(cat, "namespaces/ns/tables?pageToken=")),
                 200, "list")
        names = [i["name"] for i in r.json["identifiers"]]
        expect(names.count("treg") == 1, "listing %s" % names)
    s8()

    @scenario("idempotency-concurrent-dropTable")
    def s9():
        rs = dup_requests("DELETE", irc(cat, "namespaces/ns/tables/treg"),
                          None, key())
        same_responses(rs, 204)
        want(call("HEAD", irc(cat, "namespaces/ns/tables/treg")), 404,
             "after drop")
        # t (same metadata file) is unaffected
        want(call("GET", irc(cat, "namespaces/ns/tables/t")), 200, "t")
    s9()

    @scenario("idempotency-concurrent-replaceView")
    def s10():
        v = create_view(cat, "ns", "v")
        rs = dup_requests("POST", irc(cat, "namespaces/ns/views/v"), {
            "requirements": [{"type": "assert-view-uuid",
                              "uuid": v.json["metadata"]["view-uuid"]}],
            "updates": [{"action": "add-view-version",
                         "view-version": view_version(2, "select 2")},
                        {"action": "set-current-view-version",
                         "view-version-id": -1}]}, key())
        same_responses(rs, 200)
        r = want(call("GET", irc(cat, "namespaces/ns/views/v")), 200, "v")
        m = r.json["metadata"]
        expect(len(m["versions"]) == 2 and len(m["version-log"]) == 2,
               "versions %r" % m["versions"])
        expect(r.json["metadata-location"] ==
               rs[0].json["metadata-location"], "the pointer moved further")
    s10()

    @scenario("idempotency-concurrent-renameView")
    def s11():
        rs = dup_requests("POST", irc(cat, "views/rename"), {
            "source": {"namespace": ["ns"], "name": "v"},
            "destination": {"namespace": ["ns"], "name": "v2"}}, key())
        same_responses(rs, 204)
        want(call("HEAD", irc(cat, "namespaces/ns/views/v2")), 204, "v2")
    s11()

    @scenario("idempotency-concurrent-dropView")
    def s12():
        want(call("POST", irc(cat, "namespaces/ns/views/v2"), {
            "requirements": [], "updates": [
                {"action": "set-properties",
                 "updates": {"gc.enabled": "false"}}]}), 200, "gc off")
        loc = call("GET", irc(cat, "namespaces/ns/views/v2")).json[
            "metadata-location"]
        rs = dup_requests("DELETE", irc(cat, "namespaces/ns/views/v2"), None,
                          key())
        same_responses(rs, 204)
        want(call("HEAD", irc(cat, "namespaces/ns/views/v2")), 404, "v2")
        s12.loc = loc
    s12()

    @scenario("idempotency-concurrent-registerView")
    def s13():
        loc = getattr(s12, "loc", None)
        expect(loc is not None, "no dropped view to register")
        rs = dup_requests("POST", irc(cat, "namespaces/ns/register-view"),
                          {"name": "v3", "metadata-location": loc}, key())
        same_responses(rs, 200)
        r = want(call("GET", irc(cat, "namespaces/ns/views?pageToken=")),
                 200, "list")
        names = [i["name"] for i in r.json["identifiers"]]
        expect(names == ["v3"], "listing %s" % names)
        want(call("DELETE", irc(cat, "namespaces/ns/views/v3")), 204, "drop")
    s13()

    @scenario("idempotency-concurrent-terminal-4xx")
    def s14():
        # a deterministic 409 is finalized and replayed to every client
        rs = dup_requests("POST", irc(cat, "namespaces/ns/tables"),
                          {"name": "t", "schema": SCHEMA}, key())
        same_responses(rs, 409)
        expect(rs[0].json["error"]["type"] == "AlreadyExistsException",
               "type %r" % rs[0])
    s14()

    @scenario("idempotency-concurrent-conflicting-bodies")
    def s15():
        # one key, two different requests at once: exactly one runs; the
        # same request is replayed, the other refused with 422
        k = key()
        bodies = [{"namespace": ["race_a"]}, {"namespace": ["race_b"]}]
        rs = parallel(DUPS, lambda i: call(
            "POST", irc(cat, "namespaces"), bodies[i % 2],
            {"Idempotency-Key": k}))
        a = call("GET", irc(cat, "namespaces/race_a"))
        b = call("GET", irc(cat, "namespaces/race_b"))
        expect(sorted([a.status, b.status]) == [200, 404],
               "namespaces race_a %d, race_b %d" % (a.status, b.status))
        won = 0 if a.status == 200 else 1
        for i, r in enumerate(rs):
            if i % 2 == won:
                expect(r.status == 200, "the winner's request got %r" % r)
            else:
                expect(r.status == 422, "the other request got %r" % r)
        same_responses([r for i, r in enumerate(rs) if i % 2 == won], 200)
    s15()

    @scenario("idempotency-concurrent-dropNamespace")
    def s16():
        for ns in ("race_a", "race_b"):
            call("DELETE", irc(cat, "namespaces/" + ns))
        want(call("POST", irc(cat, "namespaces"), {"namespace": ["gone"]}),
             200, "create")
        rs = dup_requests("DELETE", irc(cat, "namespaces/gone"), None, key())
        same_responses(rs, 204)
        want(call("HEAD", irc(cat, "namespaces/gone")), 404, "after drop")
    s16()


# ----------------------------------------------------------- pagination

def walk(path, page_size, on_page=None):
    """Follows next-page-token from pageToken= to null; returns the pages."""
    pages = []
    token = ""
    sep = "&" if "?" in path else "?"
    while True:
        r = call("GET", "%s%spageToken=%s&pageSize=%d"
                 % (path, sep, urllib.parse.quote(token, safe=""),
                    page_size))
        expect(r.status == 200, "page %d: %r" % (len(pages) + 1, r))
        pages.append(r.json)
        if on_page:
            on_page(len(pages))
        token = r.json.get("next-page-token")
        if token is None:
            return pages
        expect(isinstance(token, str) and token != "",
               "bad next-page-token %r" % token)
        expect(len(pages) < 10000, "the walk does not end")


def pagination_scenarios():
    cat = new_catalog("page", ("walk", "other"))
    tables = irc(cat, "namespaces/walk/tables")
    pre = ["p%s" % uuid.uuid4().hex[:10] for _ in range(1050)]

    @scenario("pagination-setup-1050-tables")
    def setup():
        def mk(i):
            for n in pre[i::8]:
                r = call("POST", tables, {"name": n, "schema": SCHEMA})
                expect(r.status == 200, "create %s: %r" % (n, r))
        parallel(8, mk)
        return "%d tables" % len(pre)
    setup()

    @scenario("pagination-concurrent-creates")
    def concurrent():
        created = []
        stop = threading.Event()
        errors = []
        lock = threading.Lock()

        def writer(i):
            while not stop.is_set():
                # names sort before, between and after the existing ones
                n = random.choice("aopz") + uuid.uuid4().hex[:10]
                r = call("POST", tables, {"name": n, "schema": SCHEMA})
                if r.status != 200:
                    errors.append("create %s: %r" % (n, r))
                    return
                with lock:
                    created.append(n)

        ws = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
        for w in ws:
            w.start()
        try:
            while len(created) < 10 and not errors:
                time.sleep(0.01)
            def page_hook(n):
                # keep the walk slow enough for creates to interleave
                time.sleep(0.005)

            results = {}

            def walker(size):
                start = len(created)
                results[size] = (walk(tables, size, page_hook), start)

            ts = [threading.Thread(target=walker, args=(s,))
                  for s in (7, 50, 100)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
        finally:
            stop.set()
            for w in ws:
                w.join()
        expect(not errors, errors[0] if errors else "")
        all_known = set(pre) | set(created)
        notes = []
        for size, got in sorted(results.items()):
            pages, start = got
            names = []
            for p in pages:
                ids = p.get("identifiers")
                expect(isinstance(ids, list), "no identifiers: %r" % p)
                expect(len(ids) <= size, "a page of %d for pageSize %d"
                       % (len(ids), size))
                for i in ids:
                    expect(i.get("namespace") == ["walk"],
                           "foreign identifier %r" % i)
                    names.append(i["name"])
            dups = {n for n in names if names.count(n) > 1} \
                if len(names) != len(set(names)) else set()
            expect(not dups, "pageSize %d: listed twice: %s"
                   % (size, sorted(dups)[:5]))
            missing = set(pre) - set(names)
            expect(not missing, "pageSize %d: %d tables that existed before"
                   " the walk are missing, e.g. %s"
                   % (size, len(missing), sorted(missing)[:3]))
            phantom = set(names) - all_known
            expect(not phantom, "unknown names listed: %s"
                   % sorted(phantom)[:3])
            notes.append("pageSize %d: %d pages, %d names" %
                         (size, len(pages), len(names)))
        return "%s; %d tables created during the walks" % (
            "; ".join(notes), len(created))
    concurrent()

    @scenario("pagination-final-listing")
    def final():
        # after the dust settles: one walk sees every table exactly once
        got = []
        for p in walk(tables, 333):
            got += [i["name"] for i in p["identifiers"]]
        everything = [i["name"] for i in want(
            call("GET", tables), 200, "unpaged").json["identifiers"]]
        expect(len(got) == len(set(got)), "duplicates in the final walk")
        expect(sorted(got) == sorted(everything),
               "paged %d, unpaged %d" % (len(got), len(everything)))
        return "%d tables" % len(got)
    final()

    @scenario("pagination-namespaces-concurrent")
    def namespaces():
        ncat = new_catalog("pagens", ())
        pre_ns = ["n%s" % uuid.uuid4().hex[:8] for _ in range(120)]

        def mk(i):
            for n in pre_ns[i::4]:
                want(call("POST", irc(ncat, "namespaces"),
                          {"namespace": [n]}), 200, "create " + n)
        parallel(4, mk)
        stop = threading.Event()
        made = []

        def writer():
            while not stop.is_set():
                n = random.choice("amz") + uuid.uuid4().hex[:8]
                if call("POST", irc(ncat, "namespaces"),
                        {"namespace": [n]}).status == 200:
                    made.append(n)
        w = threading.Thread(target=writer)
        w.start()
        try:
            pages = walk(irc(ncat, "namespaces"), 9,
                         lambda n: time.sleep(0.005))
        finally:
            stop.set()
            w.join()
        names = [ns[0] for p in pages for ns in p["namespaces"]]
        expect(len(names) == len(set(names)), "a namespace listed twice")
        expect(not set(pre_ns) - set(names), "namespaces missing")
        expect(not set(names) - set(pre_ns) - set(made), "unknown names")
        return "%d pages, %d created during the walk" % (len(pages),
                                                         len(made))
    namespaces()

    @scenario("pagination-token-after-drop")
    def after_drop():
        # the item a token points after is dropped: the walk goes on
        r = want(call("GET", irc(cat, "namespaces/walk/tables?pageToken="
                                      "&pageSize=5")), 200, "page 1")
        last = r.json["identifiers"][-1]["name"]
        want(call("DELETE", irc(cat, "namespaces/walk/tables/" + last)), 204,
             "drop " + last)
        r2 = want(call("GET", irc(cat, "namespaces/walk/tables?pageToken=%s"
                                       "&pageSize=5" % urllib.parse.quote(
                                           r.json["next-page-token"]))),
                  200, "page 2")
        first = {i["name"] for i in r.json["identifiers"]}
        second = [i["name"] for i in r2.json["identifiers"]]
        expect(len(second) == 5 and not first & set(second),
               "page 2 after the drop: %s" % second)
    after_drop()

    @scenario("pagination-foreign-and-tampered-tokens")
    def tokens():
        page = want(call("GET", tables + "?pageToken=&pageSize=10"), 200,
                    "page")
        tok = page.json["next-page-token"]
        for i in range(3):
            create_view(cat, "walk", "v%d" % i)
        vpage = want(call("GET", irc(cat, "namespaces/walk/views?pageToken="
                                          "&pageSize=1")), 200, "views")
        vtok = vpage.json["next-page-token"]
        npage = want(call("GET", irc(cat, "namespaces?pageToken=&pageSize="
                                          "1")), 200, "namespaces")
        ntok = npage.json["next-page-token"]
        other = new_catalog("pagex", ("walk",))
        body, _, mac = tok.rpartition(".")
        flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]

        def b64(s):
            return base64.urlsafe_b64encode(s.encode()).decode().rstrip("=")
        forged = b64("tables:1\x1fzzz") + "." + mac
        cases = (
            ("a tables token on another namespace",
             irc(cat, "namespaces/other/tables"), tok),
            ("a tables token on views", irc(cat, "namespaces/walk/views"),
             tok),
            ("a views token on tables", tables, vtok),
            ("a namespaces token on tables", tables, ntok),
            ("a tables token on namespaces", irc(cat, "namespaces"), tok),
            ("a token of another catalog",
             irc(other, "namespaces/walk/tables"), tok),
            ("a token with a changed payload", tables,
             flipped + "." + mac),
            ("a token with a forged payload", tables, forged),
            ("a token without its signature", tables, body),
            ("a truncated token", tables, tok[:-3]),
            ("a token with a doubled signature", tables, tok + "." + mac),
            ("an offset token", tables, "10"),
        )
        for what, path, t in cases:
            r = call("GET", "%s?pageToken=%s&pageSize=10"
                     % (path, urllib.parse.quote(t, safe="")))
            try:
                error_model(r, 400, "BadRequestException")
            except Fail as e:
                raise Fail("%s: %s" % (what, e))
        # the genuine token still works after all that
        want(call("GET", "%s?pageToken=%s&pageSize=10"
                  % (tables, urllib.parse.quote(tok, safe=""))), 200,
             "the genuine token")
        return "%d refused" % len(cases)
    tokens()


# ------------------------------------------------------------------ files

def file_scenarios():
    cat = new_catalog("files")

    @scenario("view-custom-metadata-path")
    def custom():
        # ViewCatalogTests.createViewWithCustomMetadataLocation
        custom = "file://%s/%s/custom-location" % (WAREHOUSE, cat)
        r = create_view(cat, "ns", "vc", {"write.metadata.path": custom})
        loc = r.json["metadata-location"]
        expect(loc.startswith(custom + "/"), "%s is not under %s"
               % (loc, custom))
        expect(os.path.isfile(local_path(loc)), "no file at %s" % loc)
        expect(r.json["metadata"]["properties"]["write.metadata.path"] ==
               custom, "property not kept")
        r2 = want(call("POST", irc(cat, "namespaces/ns/views/vc"), {
            "requirements": [], "updates": [{
                "action": "set-properties", "updates": {"k": "v"}}]}),
            200, "replace")
        loc2 = r2.json["metadata-location"]
        expect(loc2.startswith(custom + "/") and loc2 != loc,
               "the replace wrote %s" % loc2)
    custom()

    @scenario("load-missing-metadata-file")
    def missing():
        # REST.testLoadTableWithMissingMetadataFile: 404 NotFoundException
        loc = create_table(cat, "ns", "tm").json["metadata-location"]
        path = local_path(loc)
        os.rename(path, path + ".moved")
        try:
            r = call("GET", irc(cat, "namespaces/ns/tables/tm"))
            error_model(r, 404, "NotFoundException")
            msg = r.json["error"]["message"]
            expect("Failed to open input stream for file: " + loc in msg,
                   "message %r" % msg)
            # tableExists does not read the file: the table is there
            want(call("HEAD", irc(cat, "namespaces/ns/tables/tm")), 204,
                 "HEAD")
        finally:
            os.rename(path + ".moved", path)
        want(call("GET", irc(cat, "namespaces/ns/tables/tm")), 200,
             "after the file is back")
    missing()

    @scenario("load-missing-view-metadata-file")
    def missing_view():
        loc = create_view(cat, "ns", "vm").json["metadata-location"]
        path = local_path(loc)
        os.rename(path, path + ".moved")
        try:
            r = call("GET", irc(cat, "namespaces/ns/views/vm"))
            error_model(r, 404, "NotFoundException")
            expect(loc in r.json["error"]["message"], "message %r" % r)
        finally:
            os.rename(path + ".moved", path)
        want(call("GET", irc(cat, "namespaces/ns/views/vm")), 200,
             "after the file is back")
    missing_view()

    @scenario("unregister-files-kept")
    def unregister():
        t = create_table(cat, "ns", "tu")
        uid = t.json["metadata"]["table-uuid"]
        for i in range(2):
            want(call("POST", irc(cat, "namespaces/ns/tables/tu"), {
                "requirements": [{"type": "assert-table-uuid", "uuid": uid}],
                "updates": [{"action": "set-properties",
                             "updates": {"i": str(i)}}]}), 200, "commit")
        r = want(call("POST", irc(cat, "namespaces/ns/tables/tu/unregister")),
                 200, "unregister")
        files = [r.json["metadata-location"]] + [
            e["metadata-file"] for e in r.json["metadata"]["metadata-log"]]
        expect(len(files) == 3, "files %s" % files)
        gone = [f for f in files if not os.path.isfile(local_path(f))]
        expect(not gone, "deleted by unregister: %s" % gone)
        # a commit to the name is 404 and writes nothing
        mdir = os.path.dirname(local_path(files[0]))
        before = sorted(os.listdir(mdir))
        error_model(call("POST", irc(cat, "namespaces/ns/tables/tu"), {
            "requirements": [], "updates": [{
                "action": "set-properties", "updates": {"x": "y"}}]}),
            404, "NoSuchTableException")
        expect(sorted(os.listdir(mdir)) == before, "files were written")
        want(call("POST", irc(cat, "namespaces/ns/register"), {
            "name": "tu", "metadata-location": files[0]}), 200, "register")
    unregister()

    @scenario("view-drop-gc")
    def gc():
        # dropView deletes the current metadata file unless gc.enabled=false
        loc = create_view(cat, "ns", "vg").json["metadata-location"]
        want(call("DELETE", irc(cat, "namespaces/ns/views/vg")), 204, "drop")
        expect(not os.path.exists(local_path(loc)), "kept: %s" % loc)
        loc = create_view(cat, "ns", "vk", {"gc.enabled": "false"}).json[
            "metadata-location"]
        want(call("DELETE", irc(cat, "namespaces/ns/views/vk")), 204, "drop")
        expect(os.path.isfile(local_path(loc)), "deleted: %s" % loc)
    gc()


# ---------------------------------------------------- concurrent views

def view_scenarios():
    cat = new_catalog("views")

    @scenario("view-concurrent-replace")
    def concurrent_replace():
        # ViewCatalogTests.concurrentReplaceViewVersion with many writers:
        # every replace built from version 1 either lands (renumbered by
        # the server-side retry) or is a 409; none is lost or doubled
        v = create_view(cat, "ns", "vr",
                        {"replace.drop-dialect.allowed": "true"})
        uid = v.json["metadata"]["view-uuid"]
        n = 8
        rs = parallel(n, lambda i: call(
            "POST", irc(cat, "namespaces/ns/views/vr"), {
                "requirements": [{"type": "assert-view-uuid", "uuid": uid}],
                "updates": [{"action": "add-view-version",
                             "view-version": view_version(
                                 2, "select %d" % (100 + i))},
                            {"action": "set-current-view-version",
                             "view-version-id": -1}]}))
        okays = [r for r in rs if r.status == 200]
        for r in rs:
            if r.status != 200:
                error_model(r, 409, "CommitFailedException")
        m = want(call("GET", irc(cat, "namespaces/ns/views/vr")), 200,
                 "load").json["metadata"]
        ids = [x["version-id"] for x in m["versions"]]
        expect(len(ids) == len(set(ids)), "duplicate version ids %s" % ids)
        sqls = sorted(x["representations"][0]["sql"] for x in m["versions"])
        expect(len(m["versions"]) == 1 + len(okays),
               "%d versions for %d successful replaces" %
               (len(m["versions"]), len(okays)))
        expect(len(sqls) == len(set(sqls)), "a replace applied twice")
        expect(m["current-version-id"] == max(ids), "current %s of %s"
               % (m["current-version-id"], ids))
        return "%d of %d landed" % (len(okays), n)
    concurrent_replace()

    @scenario("view-table-create-race")
    def create_race():
        # tables and views share one name space: clients creating a table
        # and a view of the same name at once; exactly one wins, every
        # loser gets the AlreadyExists message for the winner's kind
        # (ViewCatalogTests createViewThatAlreadyExistsAsTable,
        # createTableThatAlreadyExistsAsView, createViewConflict)
        wins = {"table": 0, "view": 0}
        for rnd in range(10):
            name = "race%d" % rnd

            def one(i):
                if i % 2 == 0:
                    return "table", call("POST", irc(cat, "namespaces/ns/"
                                                          "tables"),
                                         {"name": name, "schema": SCHEMA})
                return "view", call("POST", irc(cat, "namespaces/ns/views"), {
                    "name": name, "schema": VIEW_SCHEMA,
                    "view-version": view_version(1, "select 1"),
                    "properties": {}})
            rs = parallel(8, one)
            winners = [(k, r) for k, r in rs if r.status == 200]
            expect(len(winners) == 1, "round %d: %d creates succeeded"
                   % (rnd, len(winners)))
            kind = winners[0][0]
            wins[kind] += 1
            msgs = {("table", "table"): "Table already exists: ns.%s",
                    ("table", "view"): "View with same name already exists:"
                                       " ns.%s",
                    ("view", "view"): "View already exists: ns.%s",
                    ("view", "table"): "Table with same name already exists:"
                                       " ns.%s"}
            for k, r in rs:
                if r.status == 200:
                    continue
                error_model(r, 409, "AlreadyExistsException")
                expect(r.json["error"]["message"] == msgs[(k, kind)] % name,
                       "a %s create losing to a %s: %r" % (k, kind, r))
            other = "views" if kind == "table" else "tables"
            want(call("HEAD", irc(cat, "namespaces/ns/%s/%s" % (other,
                                                                 name))),
                 404, "the loser's kind")
        return "%d tables, %d views won" % (wins["table"], wins["view"])
    create_race()

    @scenario("rename-create-race")
    def rename_race():
        # a view (table) renamed onto a name a table (view) is being created
        # with: one wins; a losing rename says what holds the name
        # (ViewCatalogTests renameViewTargetAlreadyExistsAsTable,
        # renameTableTargetAlreadyExistsAsView), a losing create likewise
        bad = []
        counts = {"rename": 0, "create": 0}
        for rnd in range(80):
            moving = "view" if rnd % 2 == 0 else "table"
            src, dst = "rs%d" % rnd, "rd%d" % rnd
            if moving == "view":
                create_view(cat, "ns", src)
            else:
                create_table(cat, "ns", src)

            def one(i):
                if i == 0:
                    return call("POST", irc(cat, moving + "s/rename"), {
                        "source": {"namespace": ["ns"], "name": src},
                        "destination": {"namespace": ["ns"], "name": dst}})
                if moving == "view":
                    return call("POST", irc(cat, "namespaces/ns/tables"),
                                {"name": dst, "schema": SCHEMA})
                return call("POST", irc(cat, "namespaces/ns/views"), {
                    "name": dst, "schema": VIEW_SCHEMA,
                    "view-version": view_version(1, "select 1"),
                    "properties": {}})
            ren, cre = parallel(2, one)
            other = "Table" if moving == "view" else "View"
            if ren.status == 204:
                counts["rename"] += 1
                error_model(cre, 409, "AlreadyExistsException")
                want_msg = "%s with same name already exists: ns.%s" % (
                    moving.capitalize(), dst)
                got = cre.json["error"]["message"]
            else:
                counts["create"] += 1
                expect(cre.status == 200, "neither won: %r / %r"
                       % (ren, cre))
                error_model(ren, 409, "AlreadyExistsException")
                want_msg = "Cannot rename ns.%s to ns.%s. %s already exists" \
                    % (src, dst, other)
                got = ren.json["error"]["message"]
            if got != want_msg:
                bad.append("%s: %r instead of %r" % (
                    "a create losing to a " + moving + " rename"
                    if ren.status == 204 else "a " + moving + " rename "
                    "losing to a create", got, want_msg))
        kinds = sorted({b.split(":")[0] for b in bad})
        expect(not bad, "%d wrong messages in 80 races (%s), e.g. %s"
               % (len(bad), ", ".join(kinds),
                  "; ".join(next(b for b in bad if b.startswith(k))
                            for k in kinds)))
        return "renames won %d, creates won %d" % (counts["rename"],
                                                   counts["create"])
    rename_race()


def main(argv):
    global BASE, WAREHOUSE
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    BASE = argv[1].rstrip("/")
    WAREHOUSE = os.path.abspath(argv[2])
    os.makedirs(WAREHOUSE, exist_ok=True)
    for group in (unsupported_scenarios, idempotency_scenarios,
                  file_scenarios, view_scenarios, pagination_scenarios):
        try:
            group()
        except Fail as e:           # the group's setup failed
            FAILED.append(group.__name__)
            print("not ok scn-%s - setup: %s" % (
                group.__name__.replace("_scenarios", ""), e), flush=True)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
