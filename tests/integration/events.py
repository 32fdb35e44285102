"""Event builders and outcome checks shared by the integration tests."""

import json

import harness as h

SCHEMA_DIR = h.SOURCE_DIR / "schemas"
CLIENT = {"id": "it", "secret": "it-secret", "tenant": "acme",
          "scopes": ["customer:read", "customer:create", "customer:update",
                     "customer:delete"]}
OAUTH = {"client_id": "it", "client_secret": "it-secret",
         "scopes": CLIENT["scopes"]}


def customer(name, number=None, **kw):
    c = {"name": name, "type": kw.pop("type", "customer")}
    if number is not None:
        c["number"] = number
    c.update(kw)
    return c


def native(op, key, cust=None, event_id=None, kafka_key=None):
    v = {"event_id": event_id or f"{op}-{key}", "op": op, "key": key}
    if cust is not None:
        v["customer"] = cust
    return {"key": kafka_key if kafka_key is not None else key, "value": v}


def outcomes(env, n, timeout=90.0):
    """Waits for n outcome records; returns their parsed values in order."""
    recs = env.wait_for("custsync.results", n, timeout=timeout)
    outs = [r["json"] for r in recs]
    assert len(outs) == n, f"expected exactly {n} outcomes, got {len(outs)}"
    return outs


def by_event(outs):
    return {o["event_id"]: o for o in outs}


def validate(outs):
    """Every outcome against schemas/outcome.schema.json."""
    import jsonschema

    schema = json.loads((SCHEMA_DIR / "outcome.schema.json").read_text())
    v = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.FormatChecker())
    for o in outs:
        errs = sorted(v.iter_errors(o), key=str)
        assert not errs, f"outcome {o} violates the schema: {errs[0]}"


def by_external_id(api):
    return {c.get("ExternalId"): c for c in api.state()}


def counts(api, method=None, route=None, status=None):
    """Requests seen by the reference API, filtered."""
    n = 0
    for k, v in api.requests()["counts"].items():
        parts = k.split(" ")
        if len(parts) != 3:
            continue
        m, r, s = parts
        if method and m != method:
            continue
        if route and r != route:
            continue
        if status and s != str(status):
            continue
        n += v
    return n


def headers(rec):
    return {k: v for k, v in rec.get("headers") or []}
