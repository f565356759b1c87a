#!/usr/bin/env python3
"""tests/integration/bad_input.py: malformed and hostile input on every
route.  Stdlib plus PyYAML.

  bad_input.py URL WAREHOUSE_DIR OPENAPI

For every method of every path in OPENAPI (openapi/floe.yaml), with real
objects behind the path parameters (a catalog, namespace, table, view,
policy, catalog role created first) and root's token (FL_TOKEN): bodies
that are not JSON, not objects, of the wrong types, invalid UTF-8 or
oversized names, and queries with broken page tokens and sizes.  Every
answer must be below 500 and, when an error, the ErrorModel with its
status; the server must still serve afterwards.  Prints "ok bad-input-..."
or "not ok ..." lines.  Mutating routes run before deleting ones, so the
objects are there for most of the probe.
"""
import json
import os
import sys
import urllib.error
import urllib.request

BODIES = [b"{", b"[]", b'{"a":1}', b'"x"', b"null", b"\xff\xfe{}",
          b'{"namespace":5,"name":[],"catalog":1,"principal":"x",'
          b'"grant":{"type":"nope"},"target":{"type":1},"type":7,'
          b'"content":{},"requirements":5,"updates":{},"table-changes":{},'
          b'"owner":[],"currentEntityVersion":"1"}',
          b'{"name":"' + b"a" * 5000 + b'"}']
QUERIES = ["", "?pageSize=abc&pageToken=%ff&namespace=%1F%1F&table="
           "&parent=%00&purgeRequested=maybe"]


def call(base, tok, method, path, body=None):
    req = urllib.request.Request(base + path, data=body, method=method,
                                 headers={"Authorization": "Bearer " + tok,
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def setup(base, tok, cat, wh):
    schema = {"type": "struct", "fields": [
        {"id": 1, "name": "id", "type": "long", "required": True}]}
    steps = [
        ("POST", "/api/management/v1/catalogs", {"catalog": {
            "type": "INTERNAL", "name": cat,
            "properties": {"default-base-location": "file://%s/%s" % (wh,
                                                                      cat)},
            "storageConfigInfo": {"storageType": "FILE"}}}),
        ("PUT", "/api/management/v1/catalogs/%s/catalog-roles/catalog_admin"
         "/grants" % cat, {"grant": {"type": "catalog",
                                     "privilege": "CATALOG_MANAGE_CONTENT"}}),
        ("POST", "/api/catalog/v1/%s/namespaces" % cat, {"namespace": ["ns"]}),
        ("POST", "/api/catalog/v1/%s/namespaces" % cat,
         {"namespace": ["ns", "x"]}),
        ("POST", "/api/catalog/v1/%s/namespaces/ns/tables" % cat,
         {"name": "x", "schema": schema}),
        ("POST", "/api/catalog/v1/%s/namespaces/ns/views" % cat,
         {"name": "v", "schema": schema, "properties": {},
          "view-version": {"version-id": 1, "timestamp-ms": 1,
                           "schema-id": 0, "summary": {},
                           "default-namespace": ["ns"],
                           "representations": [{"type": "sql",
                                                "sql": "select 1",
                                                "dialect": "spark"}]}}),
        ("POST", "/api/management/v1/catalogs/%s/catalog-roles" % cat,
         {"catalogRole": {"name": "x"}}),
        ("POST", "/api/catalog/polaris/v1/%s/namespaces/ns/policies" % cat,
         {"name": "x", "type": "system.snapshot-expiry",
          "content": json.dumps({"enable": True})}),
    ]
    for m, p, b in steps:
        st, body = call(base, tok, m, p, json.dumps(b).encode())
        if st not in (200, 201):
            raise SystemExit("not ok bad-input-setup - %s %s: %s %s" % (
                m, p, st, body[:200]))


def state(base, tok, cat):
    """What the probe's objects look like: table and view pointers,
    namespace properties, the policy, the catalog."""
    out = []
    for p in ("/api/catalog/v1/%s/namespaces/ns/tables/x",
              "/api/catalog/v1/%s/namespaces/ns/views/v",
              "/api/catalog/v1/%s/namespaces/ns",
              "/api/catalog/polaris/v1/%s/namespaces/ns/policies/x",
              "/api/management/v1/catalogs/%s"):
        st, b = call(base, tok, "GET", p % cat)
        j = json.loads(b) if b else None
        if isinstance(j, dict):
            j.pop("config", None)
        out.append((st, json.dumps(j, sort_keys=True)))
    return out


def main(argv):
    import yaml
    base, wh, openapi = argv[1].rstrip("/"), argv[2], argv[3]
    tok = os.environ["FL_TOKEN"]
    cat = "badin_%x" % (os.getpid() & 0xffffff)
    setup(base, tok, cat, wh)
    with open(openapi) as f:
        doc = yaml.safe_load(f)
    routes = []
    for path, item in doc["paths"].items():
        if "oauth" in path:
            continue
        for m in ("get", "head", "post", "put", "delete"):
            if m in item:
                p = path.replace("{prefix}", cat).replace(
                    "{catalogName}", cat).replace("{namespace}", "ns")
                p = p.replace("{view}", "v").replace("{principalName}", "x")
                while "{" in p:
                    a = p.index("{")
                    p = p[:a] + "x" + p[p.index("}", a) + 1:]
                # actions without a body (unregister, rotate...) may act
                # whatever is sent: they run with the deletes, last
                last = m == "delete" or (m in ("post", "put") and
                                         "requestBody" not in item[m])
                routes.append(("DELETE" if last else m.upper(), path, p,
                               m.upper()))
    routes.sort(key=lambda r: r[0] == "DELETE")
    bad, n = [], 0
    before = state(base, tok, cat)
    for phase, tmpl, p, m in routes:
        if phase == "DELETE" and before is not None:
            # nothing bad input reached may have changed anything
            after = state(base, tok, cat)
            if after != before:
                bad.append("state changed: %s" % [
                    (x, y) for x, y in zip(before, after) if x != y])
            before = None
        for body in (BODIES if m in ("POST", "PUT") else [None]):
            for q in QUERIES:
                n += 1
                st, b = call(base, tok, m, p + q, body)
                why = None
                if st >= 500:
                    why = "status %d" % st
                elif st >= 400 and m != "HEAD":
                    try:
                        e = json.loads(b)["error"]
                        if e["code"] != st or not e["message"] or \
                                not e["type"]:
                            why = "ErrorModel fields"
                    except (ValueError, KeyError, TypeError):
                        why = "not the ErrorModel"
                if why:
                    bad.append("%s %s%s %r: %s %s" % (
                        m, tmpl, q, (body or b"")[:30], why, b[:120]))
    st, _ = call(base, tok, "GET", "/healthz")
    if bad or st != 200:
        print("not ok bad-input-every-route - %d of %d: %s" % (
            len(bad), n, bad[:5]))
        return 1
    print("ok bad-input-every-route (%d requests over %d routes)" % (
        n, len(routes)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
