#!/usr/bin/env python3
"""tests/integration/spec_check.py

Checks the responses that build/runner recorded (--record FILE, one JSON line
per exchange) against the upstream OpenAPI documents in ../shared/spec:
paths under /api/catalog against the Iceberg REST spec (its /v1/...), the
policy store under /api/catalog/polaris against the bundled Polaris catalog
spec, paths under /api/management/v1 against the Polaris management spec, Floe's
own maintenance paths there against openapi/floe.yaml.  Everything else
(/healthz, /readyz) is not in a spec and is skipped silently.

    spec_check.py --spec-dir DIR RECORD.jsonl

It prints one line per (method, path template, status), like the case
runner: "ok spec GET /api/catalog/v1/{prefix}/namespaces 200", or "not ok
spec ... - reason" from the first failing instance, and exits 1 when any
failed.  Checks: the path and method are in the spec, the status is
documented (exact, else 4XX/5XX, else default), a documented JSON body is JSON
with a JSON Content-Type and matches the schema, and 204 and HEAD bodies are
empty.  A path in no spec template, or a method the template lacks, is
reported unless the server answered 404/405 (a case probing routing).

The schema validator is deliberately small (stdlib + PyYAML): type (3.0
nullable and 3.1 type arrays), enum, const, required, properties,
additionalProperties, items, min/max(Length|Items), minimum/maximum,
uniqueItems, pattern, format uuid, allOf, anyOf/oneOf (at least one matches;
not "exactly one", the Iceberg spec's alternatives overlap), not, and
discriminator dispatch through propertyName and mapping.  Only local $refs
are resolved.  It does not check request bodies, parameters or headers.
"""

import json
import os
import re
import sys

# (path prefix, part of it the spec's paths leave out, spec file); the
# first matching prefix wins
SPECS = (
    ("/api/catalog/polaris", "/api/catalog",
     "polaris-catalog-service-bundled.yaml"),
    ("/api/catalog", "/api/catalog", "iceberg-rest-catalog-open-api.yaml"),
    ("/api/management/v1", "/api/management/v1",
     "polaris-management-service.yaml"),
)
# Floe's own operations under the management API (table maintenance),
# which no upstream spec has: checked against openapi/floe.yaml instead
FLOE_OWN = re.compile(r"^/api/management/v1/catalogs/[^/]+/maintenance(/|$)")
FLOE_SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         "..", "..", "openapi", "floe.yaml")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
SHOW = 120                      # characters of a JSON value in a reason


class SpecError(Exception):
    """The spec itself cannot be used (missing file, unresolvable $ref)."""


def yaml_loader():
    """A SafeLoader with YAML 1.2 booleans and no timestamps: "no" and
    "2024-01-01" stay strings, as a JSON-minded spec author means them."""
    import yaml

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        pass

    drop = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    Loader.yaml_implicit_resolvers = {
        ch: [(tag, rx) for tag, rx in rs if tag not in drop]
        for ch, rs in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|"
                                             r"False|FALSE)$"),
        list("tTfF"))
    return Loader


# ------------------------------------------------------------------ spec

class Spec:
    """One OpenAPI document: path templates and $ref resolution."""

    def __init__(self, path, loader):
        import yaml
        try:
            with open(path, encoding="utf-8") as f:
                self.doc = yaml.load(f, Loader=loader)
        except OSError as e:
            raise SpecError("could not read %s: %s" % (path, e.strerror))
        self.name = os.path.basename(path)
        self.templates = []
        for tpl in self.doc.get("paths") or {}:
            rx = "".join("[^/]+" if p.startswith("{") else re.escape(p)
                         for p in re.split(r"(\{[^}/]+\})", tpl))
            literal = len(re.sub(r"\{[^}/]+\}", "", tpl))
            self.templates.append((re.compile("^" + rx + "$"), literal, tpl))

    def match(self, path):
        """The template matching path, preferring more literal text."""
        found = [(lit, tpl) for rx, lit, tpl in self.templates
                 if rx.match(path)]
        return max(found)[1] if found else None

    def resolve(self, ref):
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise SpecError("%s: unsupported $ref %r" % (self.name, ref))
        v = self.doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(v, dict) or part not in v:
                raise SpecError("%s: unresolvable $ref %s" % (self.name, ref))
            v = v[part]
        return v

    def deref(self, v):
        """Follows a chain of $ref objects (responses, media, schemas)."""
        seen = 0
        while isinstance(v, dict) and "$ref" in v:
            v = self.resolve(v["$ref"])
            seen += 1
            if seen > 50:
                raise SpecError("%s: $ref loop" % self.name)
        return v


# ------------------------------------------------------------- validator

def show(v):
    s = json.dumps(v, separators=(",", ":"))
    return s if len(s) <= SHOW else s[:SHOW] + "..."


def key_path(path, key):
    return path + ("." + key if PLAIN_KEY.match(key) else ".%s" %
                   json.dumps(key))


def at(path):
    return path or "."


def json_type(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def has_type(v, t):
    got = json_type(v)
    if t == "number":
        return got in ("integer", "number")
    if t == "integer":
        return got == "integer" or (got == "number" and v.is_integer())
    return got == t


class Validator:
    """Validates JSON values against one Spec's schemas.  validate()
    returns None or the first error as (json path, message)."""

    def __init__(self, spec):
        self.spec = spec

    def validate(self, schema, v, path="", active=()):
        if schema is True or schema is None:
            return None
        if schema is False:
            return (at(path), "no value is allowed here")
        if not isinstance(schema, dict):
            raise SpecError("%s: schema is not an object at %s"
                            % (self.spec.name, at(path)))
        # NB: Catalog dispatches to PolarisCatalog, which is allOf Catalog:
        # the same schema on the same value is already being checked.
        me = (id(schema), id(v))
        if me in active:
            return None
        active = active + (me,)
        if v is None and schema.get("nullable") is True:
            return None
        if "$ref" in schema:
            err = self.validate(self.spec.resolve(schema["$ref"]), v, path,
                                active)
            if err:
                return err
        for check in (self.check_type, self.check_value, self.check_string,
                      self.check_number, self.check_object,
                      self.check_array, self.check_combined):
            err = check(schema, v, path, active)
            if err:
                return err
        return None

    def check_type(self, schema, v, path, active):
        t = schema.get("type")
        if t is None:
            return None
        types = t if isinstance(t, list) else [t]
        if any(has_type(v, x) for x in types):
            return None
        return (at(path), "expected %s, got %s %s"
                % (" or ".join(types), json_type(v), show(v)))

    def check_value(self, schema, v, path, active):
        if "enum" in schema and not any(same(v, e) for e in schema["enum"]):
            return (at(path), "%s is not one of %s"
                    % (show(v), show(schema["enum"])))
        if "const" in schema and not same(v, schema["const"]):
            return (at(path), "expected %s, got %s"
                    % (show(schema["const"]), show(v)))
        return None

    def check_string(self, schema, v, path, active):
        if not isinstance(v, str):
            return None
        if len(v) < schema.get("minLength", 0):
            return (at(path), "string %s shorter than minLength %d"
                    % (show(v), schema["minLength"]))
        if "maxLength" in schema and len(v) > schema["maxLength"]:
            return (at(path), "string %s longer than maxLength %d"
                    % (show(v), schema["maxLength"]))
        if schema.get("format") == "uuid" and not UUID_RE.match(v):
            return (at(path), "%s is not a uuid" % show(v))
        if "pattern" in schema:
            try:
                rx = re.compile(schema["pattern"])
            except re.error:
                return None         # an ECMA-only regex: not checked
            if not rx.search(v):
                return (at(path), "%s does not match pattern %s"
                        % (show(v), schema["pattern"]))
        return None

    def check_number(self, schema, v, path, active):
        if json_type(v) not in ("integer", "number"):
            return None
        lo, hi = schema.get("minimum"), schema.get("maximum")
        xlo = schema.get("exclusiveMinimum")
        xhi = schema.get("exclusiveMaximum")
        if xlo is True:             # OpenAPI 3.0 spelling
            xlo, lo = lo, None
        if xhi is True:
            xhi, hi = hi, None
        bad = ((lo is not None and v < lo) or (hi is not None and v > hi) or
               (has_num(xlo) and v <= xlo) or (has_num(xhi) and v >= xhi))
        if bad:
            return (at(path), "%s out of range [%s, %s]"
                    % (show(v), lo if lo is not None else xlo,
                       hi if hi is not None else xhi))
        return None

    def check_object(self, schema, v, path, active):
        if not isinstance(v, dict):
            return None
        for k in schema.get("required") or ():
            if k not in v:
                return (at(path), "missing required property %s"
                        % json.dumps(k))
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties", True)
        for k, kv in v.items():
            if k in props:
                err = self.validate(props[k], kv, key_path(path, k), active)
            elif extra is False:
                err = (at(path), "unexpected property %s" % json.dumps(k))
            else:
                err = self.validate(extra, kv, key_path(path, k), active)
            if err:
                return err
        return None

    def check_array(self, schema, v, path, active):
        if not isinstance(v, list):
            return None
        if len(v) < schema.get("minItems", 0):
            return (at(path), "fewer than minItems %d elements"
                    % schema["minItems"])
        if "maxItems" in schema and len(v) > schema["maxItems"]:
            return (at(path), "more than maxItems %d elements"
                    % schema["maxItems"])
        if schema.get("uniqueItems") is True:
            seen = set()
            for i, e in enumerate(v):
                k = json.dumps(e, sort_keys=True)
                if k in seen:
                    return ("%s[%d]" % (path, i), "duplicate element %s "
                            "(uniqueItems)" % show(e))
                seen.add(k)
        if "items" in schema:
            for i, e in enumerate(v):
                err = self.validate(schema["items"], e, "%s[%d]" % (path, i),
                                    active)
                if err:
                    return err
        return None

    def check_combined(self, schema, v, path, active):
        for sub in schema.get("allOf") or ():
            err = self.validate(sub, v, path, active)
            if err:
                return err
        target = self.discriminated(schema, v)
        if target is not None:
            # spec: discriminator; the mapping picks the one alternative
            return self.validate(target, v, path, active)
        for kw in ("anyOf", "oneOf"):
            if kw in schema:
                err = self.any_of(kw, schema[kw], v, path, active)
                if err:
                    return err
        if "not" in schema and self.validate(schema["not"], v, path,
                                             active) is None:
            return (at(path), "must not match %s" % show(schema["not"]))
        return None

    def discriminated(self, schema, v):
        d = schema.get("discriminator")
        if not isinstance(d, dict) or not isinstance(v, dict):
            return None
        val = v.get(d.get("propertyName"))
        if not isinstance(val, str):
            return None
        ref = (d.get("mapping") or {}).get(val)
        if ref is None:
            comps = (self.spec.doc.get("components") or {}).get("schemas", {})
            ref = "#/components/schemas/" + val if val in comps else None
        return self.spec.resolve(ref) if ref else None

    def any_of(self, kw, subs, v, path, active):
        errs = []
        for sub in subs:
            err = self.validate(sub, v, path, active)
            if err is None:
                return None
            errs.append(err)
        # the alternative that got furthest is most likely the intended one
        best = max(errs, key=lambda e: len(e[0])) if errs else (at(path), "")
        return (at(path), "matches none of the %d %s alternatives (closest: "
                "%s: %s)" % (len(subs), kw, best[0], best[1]))


def has_num(x):
    return json_type(x) in ("integer", "number")


def same(a, b):
    """JSON equality: 1 == 1.0, but true != 1 and "1" != 1."""
    if has_num(a) and has_num(b):
        return a == b
    return json_type(a) == json_type(b) and a == b


# ----------------------------------------------------------------- check

def no_dup_keys(pairs):
    d = {}
    for k, val in pairs:
        if k in d:
            raise ValueError("duplicate key %s" % json.dumps(k))
        d[k] = val
    return d


def pick_response(responses, status):
    for key in (str(status), "%dXX" % (status // 100), "default"):
        for k, r in responses.items():
            if str(k).upper() == key.upper():
                return r
    return None


def json_media(content):
    """The JSON media type object of a response's content, or None."""
    for ctype, media in (content or {}).items():
        if ctype == "application/json" or ctype.endswith("+json"):
            return media
    return None


def is_json_ctype(ctype):
    base = (ctype or "").split(";")[0].strip().lower()
    return base == "application/json" or base.endswith("+json")


# Statuses the specs do not list but Floe answers on purpose, because Polaris
# does (its own clients expect them); the body must still be the ErrorModel
# wrapper with the right code.  Documented in openapi/floe.yaml.
UNDOCUMENTED_OK = {
    ("createCatalog", 400): "invalid catalog (Polaris answers 400)",
    ("updateCatalog", 400): "invalid update (Polaris answers 400)",
    ("deleteCatalog", 400): "catalog not empty (Polaris answers 400)",
    ("createNamespace", 404): "parent namespace or catalog missing",
    # principals, roles, grants: malformed bodies and invalid names are
    # 400, duplicates 409, as Polaris answers; GRANT_NOT_FOUND and the
    # undroppable root / service_admin / catalog_admin are Polaris's 400
    ("createPrincipal", 400): "malformed body or invalid name",
    ("createPrincipal", 409): "principal exists",
    ("updatePrincipal", 400): "malformed update",
    ("deletePrincipal", 400): "root cannot be dropped",
    ("resetCredentials", 400): "malformed client id or secret",
    ("resetCredentials", 409): "client id in use",
    ("assignPrincipalRole", 400): "malformed body, federated role",
    ("revokePrincipalRole", 400): "GRANT_NOT_FOUND",
    ("createPrincipalRole", 400): "malformed body or invalid name",
    ("createPrincipalRole", 409): "principal role exists",
    ("updatePrincipalRole", 400): "malformed update",
    ("deletePrincipalRole", 400): "service_admin cannot be dropped",
    ("assignCatalogRoleToPrincipalRole", 400): "malformed body",
    ("assignCatalogRoleToPrincipalRole", 404): "a role or the catalog",
    ("revokeCatalogRoleFromPrincipalRole", 400): "GRANT_NOT_FOUND",
    ("listCatalogRoles", 404): "catalog missing",
    ("createCatalogRole", 400): "malformed body or invalid name",
    ("createCatalogRole", 409): "catalog role exists",
    ("updateCatalogRole", 400): "malformed update",
    ("deleteCatalogRole", 400): "catalog_admin cannot be dropped",
    ("listGrantsForCatalogRole", 403): "CATALOG_ROLE_LIST_GRANTS missing",
    ("listGrantsForCatalogRole", 404): "catalog or catalog role missing",
    ("addGrantToCatalogRole", 400): "malformed grant, privilege of "
                                     "another type",
    ("revokeGrantFromCatalogRole", 400): "malformed grant, GRANT_NOT_FOUND",
}


def error_wrapper_problem(body, status):
    """Why `body` is not {"error": {"message", "type", "code": status}}."""
    try:
        v = json.loads(body or "")
    except ValueError:
        return "body is not JSON: %s" % show(body)
    e = v.get("error") if isinstance(v, dict) else None
    if not isinstance(e, dict) or list(v) != ["error"]:
        return "body is not the ErrorModel wrapper: %s" % show(body)
    if not isinstance(e.get("message"), str) or \
            not isinstance(e.get("type"), str) or e.get("code") != status:
        return "ErrorModel fields wrong: %s" % show(body)
    return None


class Checker:
    def __init__(self, spec_dir):
        loader = yaml_loader()
        self.specs = [(prefix, base,
                       Spec(os.path.join(spec_dir, f), loader))
                      for prefix, base, f in SPECS]
        self.floe = Spec(FLOE_SPEC, loader)
        self.results = {}           # (method, label, status) -> reason|None

    def record(self, key, reason):
        if key not in self.results or (self.results[key] is None and
                                       reason is not None):
            self.results[key] = reason

    def check(self, ex):
        method, path, status = ex["method"], ex["path"], ex["status"]
        if FLOE_OWN.match(path):
            base, spec = "", self.floe
        else:
            for prefix, base, spec in self.specs:
                if path == prefix or path.startswith(prefix + "/"):
                    break
            else:
                return              # /healthz, /readyz: in no spec
        where = " (%s exchange %s)" % (ex.get("case"), ex.get("exchange"))
        tpl = spec.match(path[len(base):])
        item = spec.deref(spec.doc["paths"][tpl]) if tpl else None
        op = item.get(method.lower()) if item else None
        if op is None:
            if status not in (404, 405):
                what = "path" if tpl is None else "method"
                self.record((method, path if tpl is None else base + tpl,
                             status), "%s not in %s%s"
                            % (what, spec.name, where))
            return
        key = (method, base + tpl, status)
        reason = self.check_response(spec, op, ex)
        self.record(key, reason + where if reason else None)

    def check_response(self, spec, op, ex):
        status, body = ex["status"], ex.get("body")
        resp = pick_response(op.get("responses") or {}, status)
        if resp is None:
            opid = op.get("operationId", "the operation")
            body = ex.get("body")
            if opid == "loadView" and status == 304:
                # ETag / If-None-Match on views too (spec gives it tables)
                return "a 304 must have no body" if body else None
            if (opid, status) in UNDOCUMENTED_OK or (
                    status == 404 and body and
                    '"MissingOrInvalidRealm"' in body) or (
                    status == 422 and body and
                    'Idempotency-Key' in body):
                return error_wrapper_problem(body, status)
            return "status %d not documented for %s" % (status, opid)
        resp = spec.deref(resp)
        media = json_media(resp.get("content"))
        schema = media.get("schema") if isinstance(media, dict) else None
        if status == 204 or ex["method"] == "HEAD" or schema is None:
            if (status == 204 or ex["method"] == "HEAD") and body:
                return "expected an empty body, got %s" % show(body)
            return None
        if body is None:
            return "body is not UTF-8"
        if not is_json_ctype(ex.get("content_type")):
            return "Content-Type %s, expected application/json" % (
                show(ex.get("content_type")))
        try:
            v = json.loads(body, object_pairs_hook=no_dup_keys)
        except ValueError as e:
            return "body is not JSON (%s): %s" % (e, show(body))
        # NB: some Iceberg error responses (views, rename) name ErrorModel
        # where their own examples, and every client, use the wrapper
        # {"error": ErrorModel}; the wrapper is what we check there.
        if (schema == {"$ref": "#/components/schemas/ErrorModel"} and
                isinstance(v, dict) and list(v) == ["error"]):
            schema = {"$ref": "#/components/schemas/IcebergErrorResponse"}
        err = Validator(spec).validate(schema, v)
        if err:
            return "body at %s: %s" % err
        return None

    def report(self):
        failed = 0
        for (method, tpl, status), reason in self.results.items():
            if reason is None:
                print("ok spec %s %s %d" % (method, tpl, status))
            else:
                failed += 1
                print("not ok spec %s %s %d - %s"
                      % (method, tpl, status, reason))
        return failed


def main(argv):
    spec_dir = None
    args = argv[1:]
    if len(args) == 3 and args[0] == "--spec-dir":
        spec_dir, record = args[1], args[2]
    else:
        sys.stderr.write("usage: spec_check.py --spec-dir DIR RECORD.jsonl\n")
        return 2
    if not os.path.isdir(spec_dir):
        print("skip spec (no ../shared/spec)")
        return 0
    try:
        import yaml  # noqa: F401
    except ImportError:
        print("skip spec (no python3-yaml)")
        return 0
    try:
        checker = Checker(spec_dir)
        with open(record, encoding="utf-8") as f:
            lines = [json.loads(ln) for ln in f if ln.strip()]
        if not lines:
            print("skip spec (no exchanges recorded)")
            return 0
        for ex in lines:
            checker.check(ex)
    except Exception as e:  # a line run.sh counts, not a lost traceback
        print("not ok spec - %s: %s" % (type(e).__name__, e))
        return 1
    return 1 if checker.report() else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
