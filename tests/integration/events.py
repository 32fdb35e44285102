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


def wait_all_outcomes(env, n_records, timeout=90):
    """Waits until every record of erp.customers (n_records of them) has
    an outcome, however many outcomes a crash made of some."""
    expected = {(r["partition"], r["offset"])
                for r in env.consume("erp.customers", min_count=n_records)}
    assert len(expected) == n_records

    def covered():
        seen = {(o["json"]["source"]["partition"],
                 o["json"]["source"]["offset"])
                for o in env.consume("custsync.results")}
        return expected <= seen
    h.wait_until(covered, timeout=timeout, what="an outcome for every event")


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


def retry_after_window(status, profile, customer_of, create_route, n=12):
    """A disable_writes window of 3 s with Retry-After: 2 (503 or 429)
    while n creates arrive: every event ends applied, the endpoint is held
    (partitions paused, one probe, no rebalance) and only a handful of
    writes meet the window. customer_of(i) is a customer the profile can
    create; create_route its create route in the request counts."""
    import time

    with h.Env(api=dict(no_auth=True, profile=profile)) as env:
        w = env.worker(max_in_flight=8)
        env.produce([native("create", "W0", customer_of(0))])
        outcomes(env, 1)
        env.api.disable_writes(seconds=3, retry_after=2, status=status)
        t0 = time.monotonic()
        env.produce([native("create", f"W{i}", customer_of(i))
                     for i in range(1, n + 1)])
        outs = outcomes(env, n + 1, timeout=60)
        took = time.monotonic() - t0
        validate(outs)
        assert all(o["status"] == "applied" for o in outs), \
            [o for o in outs if o["status"] != "applied"]
        assert len(env.api.state()) == n + 1
        refused = counts(env.api, "POST", create_route, status)
        # The first wave (up to max_in_flight) meets the window, then one
        # probe per Retry-After: a handful, never a hammering.
        assert 1 <= refused <= 8 + 3, refused
        assert took >= 2.5, took  # the events did wait
        log = w.log()
        assert "endpoint asked to wait" in log, w.tail()
        assert "probing" in log, w.tail()
        assert "partition revoked" not in log, w.tail()
        assert "consumption paused" in log and "consumption resumed" in log
        assert w.stop() == 0
