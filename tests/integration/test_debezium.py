"""Debezium envelopes (with and without the schema wrapper, JSON keys) and
tombstones."""

import json

import harness as h
from events import by_external_id, customer, outcomes


def dbz(op, after=None, before=None, wrap=False, ts=1795860000000):
    payload = {"before": before, "after": after, "op": op, "ts_ms": ts,
               "source": {"connector": "postgresql", "table": "customers"}}
    return {"schema": {"type": "struct"}, "payload": payload} if wrap \
        else payload


def key(k, wrap=False):
    p = {"id": k}
    return json.dumps({"schema": {"type": "struct"}, "payload": p}
                      if wrap else p)


def test_debezium_stream_and_tombstone():
    with h.Env(api=dict(no_auth=True)) as env:
        env.worker()
        env.produce([
            {"key": key("D1", True), "value": dbz("c", customer("d1", "D-1"),
                                                  wrap=True)},
            {"key": key("D1", True), "value": dbz("u", customer("d1 v2", "D-1"),
                                                  customer("d1", "D-1"))},
            {"key": key("D2"), "value": dbz("r", customer("d2", "D-2"))},
            {"key": key("D2"), "value": dbz("d", None, customer("d2", "D-2"))},
            {"key": key("D2"), "value": None},  # the tombstone after a delete
            {"key": "D3", "value": dbz("c", customer("d3"))},
        ])
        outs = outcomes(env, 6)
        per_key = {}
        for o in outs:
            per_key.setdefault(o["key"], []).append(
                (o["op"], o["status"], o["action"]))
        assert per_key == {
            "D1": [("create", "applied", "create"),
                   ("upsert", "applied", "update")],
            "D2": [("upsert", "applied", "create"),
                   ("delete", "applied", "delete"),
                   ("skip", "skipped", "none")],
            "D3": [("create", "applied", "create")]}, per_key
        o = outs[0]
        src = o["source"]
        assert o["event_id"] == \
            f"erp.customers-{src['partition']}-{src['offset']}", o
        st = by_external_id(env.api)
        assert st["D1"]["Name"] == "d1 v2"
        assert st["D2"]["Status"] == "Inactive"
        assert env.consume("custsync.dead-letter") == []


if __name__ == "__main__":
    h.run_tests(globals())
