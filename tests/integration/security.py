#!/usr/bin/env python3
"""tests/integration/security.py: tokens, realms and the no-token probe.
Stdlib only (plus PyYAML to read openapi/floe.yaml for the probe).

  security.py URL MODE KEY OPENAPI

URL is a running floe with realms POLARIS and OTHER, each bootstrapped
with root-client / root-secret-for-tests (OTHER: other-client /
other-secret-for-tests), and auth.token_lifetime_s 2.  MODE is "hs" (KEY
is auth.token_secret) or "rs" (KEY is the PEM public key file).  OPENAPI
is openapi/floe.yaml.  Prints "ok sec-NAME" / "not ok sec-NAME - why".
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

BASE = None
FAILED = []
OPEN = {("GET", "/healthz"), ("GET", "/readyz"),
        ("POST", "/api/catalog/v1/oauth/tokens")}


class Fail(Exception):
    pass


def expect(cond, why):
    if not cond:
        raise Fail(why)


def call(method, path, body=None, headers=None, raw=None):
    data = raw if raw is not None else (
        None if body is None else json.dumps(body).encode())
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    req = urllib.request.Request(BASE + path, data=data, method=method,
                                 headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            st, hd, b = r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        st, hd, b = e.code, dict(e.headers), e.read()
    try:
        j = json.loads(b) if b else None
    except ValueError:
        j = None
    return st, hd, j


def token_call(form, headers=None, realm=None):
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    if realm:
        h["Polaris-Realm"] = realm
    h.update(headers or {})
    return call("POST", "/api/catalog/v1/oauth/tokens",
                raw=urllib.parse.urlencode(form).encode(), headers=h)


def token(cid="root-client", secret="root-secret-for-tests",
          scope="PRINCIPAL_ROLE:ALL", realm=None):
    st, _, j = token_call({"grant_type": "client_credentials",
                           "client_id": cid, "client_secret": secret,
                           "scope": scope}, realm=realm)
    expect(st == 200, "token for %s: %s %r" % (cid, st, j))
    return j["access_token"]


def bearer(tok, realm=None):
    h = {"Authorization": "Bearer " + tok}
    if realm:
        h["Polaris-Realm"] = realm
    return h


ROOT = None


def scenario(fn):
    """Runs fn with a fresh root token in ROOT (tokens live 2 s here)."""
    global ROOT
    name = fn.__name__.replace("_", "-")
    try:
        ROOT = token()
        fn()
        print("ok sec-%s" % name)
    except Fail as e:
        FAILED.append(name)
        print("not ok sec-%s - %s" % (name, e))
    except Exception as e:  # noqa: BLE001 - report and go on
        FAILED.append(name)
        print("not ok sec-%s - %s: %s" % (name, type(e).__name__, e))
    return fn


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def forge(header, claims, key):
    """A JWT signed HS256 with `key` (bytes), or unsigned when None."""
    head = b64(json.dumps(header).encode()) + "." + \
        b64(json.dumps(claims).encode())
    sig = "" if key is None else b64(
        hmac.new(key, head.encode(), hashlib.sha256).digest())
    return head + "." + sig


def claims_of(tok):
    return json.loads(unb64(tok.split(".")[1]))


def is_401(st, hd, j, why):
    expect(st == 401, "%s: status %s %r" % (why, st, j))
    expect(isinstance(j, dict) and j.get("error", {}).get("type") ==
           "NotAuthorizedException" and j["error"].get("code") == 401,
           "%s: not an ErrorModel 401: %r" % (why, j))
    expect(hd.get("WWW-Authenticate", "").startswith("Bearer"),
           "%s: no WWW-Authenticate" % why)


def probe_routes(openapi):
    """Every method of every path in floe.yaml, parameters filled in."""
    import yaml
    with open(openapi) as f:
        doc = yaml.safe_load(f)
    out = []
    for path, item in doc["paths"].items():
        for m in ("get", "post", "put", "delete", "head"):
            if m in item:
                p = path
                for k in ("prefix", "catalogName"):
                    p = p.replace("{%s}" % k, "probe_cat")
                p = p.replace("{namespace}", "ns")
                while "{" in p:
                    a = p.index("{")
                    p = p[:a] + "x" + p[p.index("}", a) + 1:]
                out.append((m.upper(), path, p))
    return out


def main(argv):
    global BASE
    BASE = argv[1].rstrip("/")
    mode, key, openapi = argv[2], argv[3], argv[4]

    @scenario
    def no_token_probe():
        # an independent probe: no route but the open ones answers anything
        # but 401 without a token, or with a garbage or unsigned one
        routes = probe_routes(openapi)
        expect(len(routes) > 40, "only %d routes in %s" % (len(routes),
                                                          openapi))
        bad = []
        none_tok = forge({"alg": "none", "typ": "JWT"},
                         claims_of(ROOT), None)
        for m, tmpl, p in routes:
            if (m, tmpl) in OPEN:
                continue
            for h in ({}, {"Authorization": "Bearer garbage"},
                      {"Authorization": "Bearer " + none_tok},
                      {"Authorization": "Basic cm9vdDpyb290"}):
                st, hd, j = call(m, p, body={} if m in ("POST", "PUT")
                                 else None, headers=h)
                if st != 401 or (m != "HEAD" and (
                        not isinstance(j, dict) or
                        j.get("error", {}).get("code") != 401)):
                    bad.append("%s %s %s -> %s" % (m, tmpl, h, st))
        expect(not bad, "%d reachable: %s" % (len(bad), bad[:5]))

    @scenario
    def root_token_works():
        st, _, j = call("GET", "/api/management/v1/catalogs",
                        headers=bearer(ROOT))
        expect(st == 200 and "catalogs" in j, "%s %r" % (st, j))
        c = claims_of(ROOT)
        for k in ("iss", "sub", "principalId", "scope", "iat", "exp", "jti",
                  "realm"):
            expect(k in c, "claim %s missing: %r" % (k, c))
        expect(c["sub"] == "root" and c["scope"] == "PRINCIPAL_ROLE:ALL" and
               c["realm"] == "POLARIS", "claims %r" % c)
        head = json.loads(unb64(ROOT.split(".")[0]))
        expect(head["alg"] == ("HS256" if mode == "hs" else "RS256"),
               "alg %r" % head)

    @scenario
    def token_basic_auth():
        cred = base64.b64encode(b"root-client:root-secret-for-tests").decode()
        st, hd, j = token_call({"grant_type": "client_credentials",
                                "scope": "PRINCIPAL_ROLE:service_admin"},
                               headers={"Authorization": "Basic " + cred})
        expect(st == 200 and j["token_type"] == "bearer" and
               j["issued_token_type"] ==
               "urn:ietf:params:oauth:token-type:access_token" and
               j["expires_in"] == 2, "%s %r" % (st, j))
        expect(claims_of(j["access_token"])["scope"] ==
               "PRINCIPAL_ROLE:service_admin", "scope not kept")

    @scenario
    def token_errors():
        cases = [
            ({"client_id": "root-client",
              "client_secret": "root-secret-for-tests",
              "scope": "PRINCIPAL_ROLE:ALL"}, 400, "invalid_request"),
            ({"grant_type": "password", "client_id": "root-client",
              "client_secret": "x", "scope": "PRINCIPAL_ROLE:ALL"}, 400,
             "unsupported_grant_type"),
            ({"grant_type": "client_credentials", "client_id": "root-client",
              "client_secret": "root-secret-for-tests"}, 400,
             "invalid_scope"),
            ({"grant_type": "client_credentials", "client_id": "root-client",
              "client_secret": "root-secret-for-tests", "scope": "catalog"},
             400, "invalid_scope"),
            ({"grant_type": "client_credentials", "client_id": "root-client",
              "client_secret": "root-secret-for-tests",
              "scope": "PRINCIPAL_ROLE:not_mine"}, 400, "invalid_scope"),
            ({"grant_type": "client_credentials",
              "scope": "PRINCIPAL_ROLE:ALL"}, 400, "invalid_client"),
            ({"grant_type": "client_credentials", "client_id": "root-client",
              "client_secret": "wrong", "scope": "PRINCIPAL_ROLE:ALL"}, 401,
             "unauthorized_client"),
            ({"grant_type": "client_credentials", "client_id": "nobody",
              "client_secret": "wrong", "scope": "PRINCIPAL_ROLE:ALL"}, 401,
             "unauthorized_client"),
        ]
        for form, status, code in cases:
            st, _, j = token_call(form)
            expect(st == status and isinstance(j, dict) and
                   j.get("error") == code and "error_description" in j,
                   "%r -> %s %r (wanted %s %s)" % (form, st, j, status, code))

    @scenario
    def token_exchange():
        st, _, j = token_call({
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": ROOT,
            "subject_token_type":
                "urn:ietf:params:oauth:token-type:access_token",
            "scope": "PRINCIPAL_ROLE:service_admin"})
        expect(st == 200, "%s %r" % (st, j))
        expect(claims_of(j["access_token"])["scope"] ==
               "PRINCIPAL_ROLE:service_admin", "scope")
        st, _, j = token_call({
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": ROOT[:-3] + "AAA",
            "subject_token_type":
                "urn:ietf:params:oauth:token-type:access_token"})
        expect(st == 401 and j["error"] == "unauthorized_client",
               "tampered subject: %s %r" % (st, j))

    @scenario
    def tampered_token():
        h, p, s = ROOT.split(".")
        c = claims_of(ROOT)
        c["sub"] = "someone"
        c["principalId"] = c["principalId"] + 1
        for tok in (h + "." + b64(json.dumps(c).encode()) + "." + s,
                    h + "." + p + "." + s[:-2] + ("AA" if s[-2:] != "AA"
                                                  else "BB"),
                    h + "." + p, ROOT + ".x"):
            is_401(*call("GET", "/api/management/v1/catalogs",
                         headers=bearer(tok)), "tampered")

    @scenario
    def alg_none_refused():
        tok = forge({"alg": "none", "typ": "JWT"}, claims_of(ROOT), None)
        is_401(*call("GET", "/api/management/v1/catalogs",
                     headers=bearer(tok)), "alg none")
        tok = forge({"alg": "HS512", "typ": "JWT"}, claims_of(ROOT),
                    b"whatever")
        is_401(*call("GET", "/api/management/v1/catalogs",
                     headers=bearer(tok)), "alg HS512")

    if mode == "hs":
        hs_key = hmac.new(b"floe-jwt", key.encode(), hashlib.sha256).digest()

        @scenario
        def forged_with_key_works():
            # proves the checks below fail for the claim, not the signature
            tok = forge({"alg": "HS256", "typ": "JWT"}, claims_of(ROOT),
                        hs_key)
            st, _, j = call("GET", "/api/management/v1/catalogs",
                            headers=bearer(tok))
            expect(st == 200, "%s %r" % (st, j))

        @scenario
        def expired_token():
            c = claims_of(ROOT)
            c["exp"] = int(time.time()) - 5
            tok = forge({"alg": "HS256", "typ": "JWT"}, c, hs_key)
            st, hd, j = call("GET", "/api/management/v1/catalogs",
                             headers=bearer(tok))
            is_401(st, hd, j, "expired")
            expect("expired" in j["error"]["message"], "message %r" % j)

        @scenario
        def wrong_issuer_or_inactive():
            for k, v in (("iss", "polaris"), ("active", False)):
                c = claims_of(ROOT)
                c[k] = v
                tok = forge({"alg": "HS256", "typ": "JWT"}, c, hs_key)
                is_401(*call("GET", "/api/management/v1/catalogs",
                             headers=bearer(tok)), "claim " + k)
    else:
        with open(key, "rb") as f:
            pem = f.read()

        @scenario
        def hs_rs_confusion_refused():
            # HS256 "signed" with the server's public key as the secret
            tok = forge({"alg": "HS256", "typ": "JWT"}, claims_of(ROOT), pem)
            is_401(*call("GET", "/api/management/v1/catalogs",
                         headers=bearer(tok)), "HS256 with the RSA key")

    @scenario
    def token_expires():
        tok = token()
        st, _, _ = call("GET", "/api/management/v1/catalogs",
                        headers=bearer(tok))
        expect(st == 200, "fresh token: %s" % st)
        time.sleep(3.1)
        is_401(*call("GET", "/api/management/v1/catalogs",
                     headers=bearer(tok)), "after its lifetime")

    @scenario
    def realms_isolated():
        mine = token()
        other = token("other-client", "other-secret-for-tests", realm="OTHER")
        # a POLARIS token is not good in OTHER, nor the reverse
        is_401(*call("GET", "/api/management/v1/catalogs",
                     headers=bearer(mine, "OTHER")), "POLARIS token in OTHER")
        is_401(*call("GET", "/api/management/v1/catalogs",
                     headers=bearer(other)), "OTHER token in POLARIS")
        # POLARIS credentials do not exist in OTHER
        st, _, j = token_call({"grant_type": "client_credentials",
                               "client_id": "root-client",
                               "client_secret": "root-secret-for-tests",
                               "scope": "PRINCIPAL_ROLE:ALL"}, realm="OTHER")
        expect(st == 401, "POLARIS credentials in OTHER: %s %r" % (st, j))
        name = "iso_%d" % os.getpid()
        st, _, j = call("POST", "/api/management/v1/catalogs", {"catalog": {
            "type": "INTERNAL", "name": name,
            "properties": {"default-base-location": "file:///tmp/" + name},
            "storageConfigInfo": {"storageType": "FILE"}}},
            headers=bearer(other, "OTHER"))
        expect(st == 201, "create in OTHER: %s %r" % (st, j))
        st, _, j = call("GET", "/api/management/v1/catalogs/" + name,
                        headers=bearer(mine))
        expect(st == 404, "OTHER's catalog seen from POLARIS: %s" % st)
        st, _, j = call("GET", "/api/management/v1/catalogs",
                        headers=bearer(mine))
        expect(name not in [c["name"] for c in j["catalogs"]], "listed")
        st, _, j = call("GET", "/api/management/v1/catalogs/" + name,
                        headers=bearer(other, "OTHER"))
        expect(st == 200, "OTHER sees its catalog: %s" % st)
        st, _, j = call("DELETE", "/api/management/v1/catalogs/" + name,
                        headers=bearer(other, "OTHER"))
        expect(st == 204, "drop: %s" % st)

    @scenario
    def unknown_realm_404():
        st, _, j = call("GET", "/api/management/v1/catalogs",
                        headers=bearer(ROOT, "NOPE"))
        expect(st == 404 and j["error"]["code"] == 404, "%s %r" % (st, j))
        st, _, j = token_call({"grant_type": "client_credentials",
                               "client_id": "root-client",
                               "client_secret": "root-secret-for-tests",
                               "scope": "PRINCIPAL_ROLE:ALL"}, realm="NOPE")
        expect(st == 404, "token in an unknown realm: %s" % st)

    @scenario
    def denials_audited():
        tok = token()
        call("GET", "/api/management/v1/catalogs",
             headers={"Authorization": "Bearer nonsense",
                      "X-Request-Id": "audit-probe-1"})
        st, _, j = call("GET", "/api/management/v1/audit-events?pageSize=50",
                        headers=bearer(tok))
        expect(st == 200, "%s %r" % (st, j))
        hits = [e for e in j["events"] if e["requestId"] == "audit-probe-1"]
        expect(hits and hits[0]["outcome"] == "denied" and
               hits[0]["status"] == 401 and hits[0]["principal"] is None and
               hits[0]["operation"] == "listCatalogs", "events %r" % hits)
        # pages chain and never repeat
        seen, page, tokn = set(), 0, None
        while page < 50:
            q = "?pageSize=3" + ("&pageToken=" + tokn if tokn else "")
            st, _, j = call("GET", "/api/management/v1/audit-events" + q,
                            headers=bearer(tok))
            expect(st == 200, "page %d: %s %r" % (page, st, j))
            ids = [e["id"] for e in j["events"]]
            expect(not seen & set(ids), "repeated ids")
            seen |= set(ids)
            tokn = j.get("next-page-token")
            page += 1
            if not tokn:
                break
        st, _, j = call("GET", "/api/management/v1/audit-events?pageToken=x",
                        headers=bearer(tok))
        expect(st == 400, "tampered page token: %s" % st)

    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
