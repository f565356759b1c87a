#!/usr/bin/env python3
"""tests/integration/rbac.py: the RBAC matrix.  Stdlib only.

  rbac.py URL WAREHOUSE_DIR

For every operation of the Iceberg REST API and the catalog routes of the
management API: a principal holding exactly the privilege(s) the operation
requires (through principal role -> catalog role -> grant, as Polaris
models it) succeeds, whether the grant sits on the object itself, on its
namespace or on the catalog; the same principal is refused (403) before
the grant, and so is one holding an unrelated privilege, or the privilege
on a sibling namespace.  FL_TOKEN is root's token.  Prints one
"ok rbac-OP-LEVEL" / "not ok rbac-OP-LEVEL - why" line per case.
"""
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

BASE = WH = None
ROOT = None
RUN = "%x" % (os.getpid() & 0xffffff)
CAT = "rbac_" + RUN
FAILED = []
N = [0]

SCHEMA = {"type": "struct", "schema-id": 0, "fields": [
    {"id": 1, "name": "id", "required": True, "type": "long"}]}
VIEW_VERSION = {"version-id": 1, "timestamp-ms": 1750000000000,
                "schema-id": 0, "summary": {}, "default-namespace": ["x"],
                "representations": [{"type": "sql", "sql": "select 1",
                                     "dialect": "spark"}]}


class Fail(Exception):
    pass


def expect(cond, why):
    if not cond:
        raise Fail(why)


def call(method, path, body=None, tok=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method,
                                 headers={"Content-Type": "application/json",
                                          "Authorization": "Bearer " +
                                          (tok or ROOT)})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            b = r.read()
            return r.status, (json.loads(b) if b else None)
    except urllib.error.HTTPError as e:
        b = e.read()
        try:
            return e.code, (json.loads(b) if b else None)
        except ValueError:
            return e.code, b


def ok(st, b, want, what):
    expect(st in (want if isinstance(want, tuple) else (want,)),
           "%s: %s %s" % (what, st, json.dumps(b)[:300] if b else b))
    return b


def mgmt(method, path, body=None):
    return call(method, "/api/management/v1" + path, body)


def irc(path):
    return "/api/catalog/v1/%s/%s" % (CAT, path)


def token(cid, secret):
    form = urllib.parse.urlencode({
        "grant_type": "client_credentials", "client_id": cid,
        "client_secret": secret, "scope": "PRINCIPAL_ROLE:ALL"}).encode()
    req = urllib.request.Request(BASE + "/api/catalog/v1/oauth/tokens",
                                 data=form, method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())["access_token"]


def principal(with_catalog_role=True):
    """A new principal with its own principal role and catalog role in
    CAT (assigned, no grants yet).  Returns (token, catalog role)."""
    N[0] += 1
    n = "%s_%d" % (RUN, N[0])
    st, b = mgmt("POST", "/principals", {"principal": {"name": "p_" + n}})
    b = ok(st, b, 201, "create principal")
    cred = b["credentials"]
    ok(*mgmt("POST", "/principal-roles",
             {"principalRole": {"name": "pr_" + n}}), 201, "principal role")
    ok(*mgmt("PUT", "/principals/p_%s/principal-roles" % n,
             {"principalRole": {"name": "pr_" + n}}), 201, "assign pr")
    if not with_catalog_role:
        return token(cred["clientId"], cred["clientSecret"]), None
    ok(*mgmt("POST", "/catalogs/%s/catalog-roles" % CAT,
             {"catalogRole": {"name": "cr_" + n}}), 201, "catalog role")
    ok(*mgmt("PUT", "/principal-roles/pr_%s/catalog-roles/%s" % (n, CAT),
             {"catalogRole": {"name": "cr_" + n}}), 201, "assign cr")
    return token(cred["clientId"], cred["clientSecret"]), "cr_" + n


def grant(cr, level, priv, ns, obj=None, kind="table"):
    """Grant `priv` to catalog role `cr` on the catalog, namespace `ns` or
    the object `obj` (a table or view) in it."""
    if level == "cat":
        g = {"type": "catalog", "privilege": priv}
    elif level == "ns":
        g = {"type": "namespace", "namespace": [ns], "privilege": priv}
    else:
        g = {"type": kind, "namespace": [ns], "privilege": priv,
             ("tableName" if kind == "table" else "viewName"): obj}
    ok(*mgmt("PUT", "/catalogs/%s/catalog-roles/%s/grants" % (CAT, cr),
             {"grant": g}), 201, "grant %s on %s" % (priv, level))


def fresh_ns():
    N[0] += 1
    ns = "ns_%d" % N[0]
    ok(*call("POST", irc("namespaces"), {"namespace": [ns]}), 200,
       "create " + ns)
    return ns


def mk_table(ns, name="t"):
    return ok(*call("POST", irc("namespaces/%s/tables" % ns),
                    {"name": name, "schema": SCHEMA}), 200, "create table")


def mk_view(ns, name="v"):
    return ok(*call("POST", irc("namespaces/%s/views" % ns),
                    {"name": name, "schema": SCHEMA,
                     "view-version": VIEW_VERSION, "properties": {}}),
              200, "create view")


# Each operation: (name, privileges, levels, object kind, setup, request)
# setup(ns) prepares what the request needs and returns a context;
# request(ns, ctx) returns (method, path, body, wanted statuses).
def ops():
    t = "table"
    v = "view"

    def none(ns):
        return None

    def table(ns):
        return mk_table(ns)

    def view(ns):
        return mk_view(ns)

    def table_and_dest(ns):
        mk_table(ns)
        return fresh_ns()

    def view_and_dest(ns):
        mk_view(ns)
        return fresh_ns()

    def unregistered(ns):
        b = mk_table(ns)
        ok(*call("POST", irc("namespaces/%s/tables/t/unregister" % ns), {}),
           (200, 204), "unregister")
        return b["metadata-location"]

    def dropped_view(ns):
        b = mk_view(ns)
        ok(*call("POST", irc("namespaces/%s/views/v" % ns),
                 {"requirements": [], "updates": [{
                     "action": "set-properties",
                     "updates": {"gc.enabled": "false"}}]}),
           200, "keep view files")
        loc = ok(*call("GET", irc("namespaces/%s/views/v" % ns)), 200,
                 "load view")["metadata-location"]
        ok(*call("DELETE", irc("namespaces/%s/views/v" % ns)), 204,
           "drop view")
        return loc

    scan = {"report-type": "scan-report", "table-name": "t",
            "snapshot-id": 1, "filter": True, "schema-id": 0,
            "projected-field-ids": [1], "projected-field-names": ["id"],
            "metrics": {}}
    return [
        ("listNamespaces", ["NAMESPACE_LIST"], ("ns", "cat"), None, none,
         lambda ns, c: ("GET", irc("namespaces?parent=" + ns), None, 200)),
        ("createNamespace", ["NAMESPACE_CREATE"], ("ns", "cat"), None, none,
         lambda ns, c: ("POST", irc("namespaces"),
                        {"namespace": [ns, "child"]}, 200)),
        ("loadNamespaceMetadata", ["NAMESPACE_READ_PROPERTIES"],
         ("ns", "cat"), None, none,
         lambda ns, c: ("GET", irc("namespaces/" + ns), None, 200)),
        ("namespaceExists", ["NAMESPACE_LIST"], ("ns", "cat"), None, none,
         lambda ns, c: ("HEAD", irc("namespaces/" + ns), None, 204)),
        ("updateProperties", ["NAMESPACE_WRITE_PROPERTIES"], ("ns", "cat"),
         None, none,
         lambda ns, c: ("POST", irc("namespaces/%s/properties" % ns),
                        {"updates": {"k": "v"}}, 200)),
        ("dropNamespace", ["NAMESPACE_DROP"], ("ns", "cat"), None, none,
         lambda ns, c: ("DELETE", irc("namespaces/" + ns), None, 204)),
        ("listTables", ["TABLE_LIST"], ("ns", "cat"), None, table,
         lambda ns, c: ("GET", irc("namespaces/%s/tables" % ns), None, 200)),
        ("createTable", ["TABLE_CREATE"], ("ns", "cat"), None, none,
         lambda ns, c: ("POST", irc("namespaces/%s/tables" % ns),
                        {"name": "made", "schema": SCHEMA}, 200)),
        ("registerTable", ["TABLE_CREATE"], ("ns", "cat"), None,
         unregistered,
         lambda ns, c: ("POST", irc("namespaces/%s/register" % ns),
                        {"name": "t", "metadata-location": c}, 200)),
        ("loadTable", ["TABLE_READ_PROPERTIES"], ("obj", "ns", "cat"), t,
         table,
         lambda ns, c: ("GET", irc("namespaces/%s/tables/t" % ns), None,
                        200)),
        ("tableExists", ["TABLE_LIST"], ("obj", "ns", "cat"), t, table,
         lambda ns, c: ("HEAD", irc("namespaces/%s/tables/t" % ns), None,
                        204)),
        ("updateTable", ["TABLE_SET_PROPERTIES"], ("obj", "ns", "cat"), t,
         table,
         lambda ns, c: ("POST", irc("namespaces/%s/tables/t" % ns),
                        {"requirements": [], "updates": [{
                            "action": "set-properties",
                            "updates": {"k": "v"}}]}, 200)),
        ("updateTable-coarse", ["TABLE_WRITE_PROPERTIES"],
         ("obj", "ns", "cat"), t, table,
         lambda ns, c: ("POST", irc("namespaces/%s/tables/t" % ns),
                        {"requirements": [], "updates": [{
                            "action": "remove-properties",
                            "removals": ["k"]}]}, 200)),
        ("dropTable", ["TABLE_DROP"], ("obj", "ns", "cat"), t, table,
         lambda ns, c: ("DELETE", irc("namespaces/%s/tables/t" % ns), None,
                        204)),
        ("dropTable-purge", ["TABLE_DROP", "TABLE_WRITE_DATA"],
         ("obj", "ns", "cat"), t, table,
         lambda ns, c: ("DELETE",
                        irc("namespaces/%s/tables/t?purgeRequested=true"
                            % ns), None, 204)),
        ("unregisterTable", ["TABLE_DROP"], ("obj", "ns", "cat"), t, table,
         lambda ns, c: ("POST", irc("namespaces/%s/tables/t/unregister"
                                    % ns), {}, 200)),
        ("reportMetrics", ["TABLE_READ_DATA"], ("obj", "ns", "cat"), t,
         table,
         lambda ns, c: ("POST", irc("namespaces/%s/tables/t/metrics" % ns),
                        scan, 204)),
        ("commitTransaction", ["TABLE_SET_PROPERTIES"],
         ("obj", "ns", "cat"), t, table,
         lambda ns, c: ("POST", irc("transactions/commit"),
                        {"table-changes": [{
                            "identifier": {"namespace": [ns], "name": "t"},
                            "requirements": [], "updates": [{
                                "action": "set-properties",
                                "updates": {"k": "v"}}]}]}, 204)),
        ("renameTable", ["TABLE_DROP", "TABLE_LIST", "TABLE_CREATE"],
         ("ns", "cat"), None, table_and_dest,
         lambda ns, c: ("POST", irc("tables/rename"),
                        {"source": {"namespace": [ns], "name": "t"},
                         "destination": {"namespace": [c], "name": "t2"}},
                        204)),
        ("listViews", ["VIEW_LIST"], ("ns", "cat"), None, view,
         lambda ns, c: ("GET", irc("namespaces/%s/views" % ns), None, 200)),
        ("createView", ["VIEW_CREATE"], ("ns", "cat"), None, none,
         lambda ns, c: ("POST", irc("namespaces/%s/views" % ns),
                        {"name": "made", "schema": SCHEMA,
                         "view-version": VIEW_VERSION, "properties": {}},
                        200)),
        ("registerView", ["VIEW_CREATE"], ("ns", "cat"), None, dropped_view,
         lambda ns, c: ("POST", irc("namespaces/%s/register-view" % ns),
                        {"name": "v", "metadata-location": c}, 200)),
        ("loadView", ["VIEW_READ_PROPERTIES"], ("obj", "ns", "cat"), v, view,
         lambda ns, c: ("GET", irc("namespaces/%s/views/v" % ns), None,
                        200)),
        ("viewExists", ["VIEW_LIST"], ("obj", "ns", "cat"), v, view,
         lambda ns, c: ("HEAD", irc("namespaces/%s/views/v" % ns), None,
                        204)),
        ("replaceView", ["VIEW_WRITE_PROPERTIES"], ("obj", "ns", "cat"), v,
         view,
         lambda ns, c: ("POST", irc("namespaces/%s/views/v" % ns),
                        {"requirements": [], "updates": [{
                            "action": "set-properties",
                            "updates": {"k": "v"}}]}, 200)),
        ("dropView", ["VIEW_DROP"], ("obj", "ns", "cat"), v, view,
         lambda ns, c: ("DELETE", irc("namespaces/%s/views/v" % ns), None,
                        204)),
        ("renameView", ["VIEW_DROP", "VIEW_LIST", "VIEW_CREATE"],
         ("ns", "cat"), None, view_and_dest,
         lambda ns, c: ("POST", irc("views/rename"),
                        {"source": {"namespace": [ns], "name": "v"},
                         "destination": {"namespace": [c], "name": "v2"}},
                        204)),
        ("getCatalog", ["CATALOG_READ_PROPERTIES"], ("cat",), None, none,
         lambda ns, c: ("GET", "/api/management/v1/catalogs/" + CAT, None,
                        200)),
        ("updateCatalog", ["CATALOG_WRITE_PROPERTIES"], ("cat",), None,
         lambda ns: ok(*mgmt("GET", "/catalogs/" + CAT), 200, "get"),
         lambda ns, c: ("PUT", "/api/management/v1/catalogs/" + CAT,
                        {"currentEntityVersion": c["entityVersion"],
                         "properties": dict(c["properties"], k=ns)}, 200)),
    ]


def run_case(name, privs, level, kind, setup, request):
    ns = fresh_ns()
    ctx = setup(ns)
    method, path, body, want = request(ns, ctx)
    tok, cr = principal()
    # nothing granted yet: refused
    st, b = call(method, path, body, tok)
    expect(st == 403, "before the grant: %s %s" % (st, b))
    # an unrelated privilege, and the right one on a sibling namespace:
    # still refused
    other = "TABLE_READ_PROPERTIES" if privs[0].startswith("VIEW_") \
        else "VIEW_READ_PROPERTIES"
    grant(cr, "cat", other, ns)
    if not privs[0].startswith("CATALOG_"):
        sib = fresh_ns()
        for p in privs:
            grant(cr, "ns", p, sib)
    st, b = call(method, path, body, tok)
    expect(st == 403, "with %s and a sibling's grant: %s %s" % (other, st, b))
    # all but one of the required privileges: refused
    for p in privs[:-1]:
        grant(cr, level, p, ns, kind and ("t" if kind == "table" else "v"),
              kind or "table")
    if len(privs) > 1:
        st, b = call(method, path, body, tok)
        expect(st == 403, "with %s only: %s %s" % (privs[:-1], st, b))
    grant(cr, level, privs[-1], ns,
          kind and ("t" if kind == "table" else "v"), kind or "table")
    if isinstance(ctx, str) and ctx.startswith("ns_") and level == "ns":
        # renames: the destination side is checked on its own namespace
        for p in privs:
            grant(cr, "ns", p, ctx)
    st, b = call(method, path, body, tok)
    expect(st == want, "with %s on %s: %s %s" % (privs, level, st, b))


def main(argv):
    global BASE, WH, ROOT
    BASE, WH = argv[1].rstrip("/"), argv[2]
    ROOT = os.environ["FL_TOKEN"]
    ok(*mgmt("POST", "/catalogs", {"catalog": {
        "type": "INTERNAL", "name": CAT,
        "properties": {"default-base-location": "file://%s/%s" % (WH, CAT)},
        "storageConfigInfo": {"storageType": "FILE"}}}), 201, "catalog")
    for name, privs, levels, kind, setup, request in ops():
        for level in levels:
            case = "%s-%s" % (name, level)
            try:
                run_case(name, privs, level, kind, setup, request)
                print("ok rbac-" + case)
            except Fail as e:
                FAILED.append(case)
                print("not ok rbac-%s - %s" % (case, e))
            except Exception as e:  # noqa: BLE001
                FAILED.append(case)
                print("not ok rbac-%s - %s: %s" % (case, type(e).__name__, e))
    # getConfig: a caller holding nothing in the catalog cannot learn it
    try:
        tok, _ = principal(with_catalog_role=False)
        st, b = call("GET", "/api/catalog/v1/config?warehouse=" + CAT,
                     None, tok)
        expect(st == 404, "no catalog role: %s %s" % (st, b))
        tok, cr = principal()
        grant(cr, "ns", "TABLE_LIST", fresh_ns())
        st, b = call("GET", "/api/catalog/v1/config?warehouse=" + CAT,
                     None, tok)
        expect(st == 200 and b["overrides"]["prefix"] == CAT,
               "with a grant: %s %s" % (st, b))
        st, b = call("GET", "/api/management/v1/catalogs", None, tok)
        names = [c["name"] for c in b["catalogs"]]
        expect(names == [CAT], "listCatalogs shows %s" % names)
        print("ok rbac-getConfig-and-listCatalogs-visibility")
    except Fail as e:
        FAILED.append("config")
        print("not ok rbac-getConfig-and-listCatalogs-visibility - %s" % e)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
