"""The alvys profile end to end: the built daemon, the mock broker and the
reference API. Create, 409 -> update, update, upsert, soft delete,
unknown-key delete and update, malformed input next to good events, a
re-run with a new group that changes nothing."""

import harness as h
from events import (CLIENT, OAUTH, by_event, by_external_id, counts,
                    customer, headers, native, outcomes, validate)

BAD_JSON = b'{"event_id": "bad-1", "op": "create", "key": "KB"'  # cut short
LONG_NAME = "N" * 201


def stream():
    return [
        native("create", "K1", customer("Acme", "N-1", email=["a@x.test"],
               billing_address={"street": ["1 Main", "Unit 4"],
                                "city": "Town", "state": "New York",
                                "state_code": "NY", "postal_code": "10001"})),
        native("create", "K2", customer("Beta", "N-409")),
        native("update", "K1", {"fax": "555-0100"}, event_id="upd-K1"),
        native("upsert", "K3", customer("Gamma", "N-3", type="broker",
                                        status="active")),
        native("delete", "K1", event_id="del-K1"),
        native("delete", "K404"),
        native("update", "K405", {"name": "Nobody"}),
        {"key": "KB", "value": BAD_JSON},
        {"key": "KU", "value": {"event_id": "op-1", "op": "merge",
                                "key": "KU", "customer": {"name": "x"}}},
        native("create", "K6", customer(LONG_NAME)),
        native("create", "K7", customer("Delta", "N-7")),
    ]


def check_first_run(env, outs):
    ev = by_event(outs)
    assert ev["create-K1"]["status"] == "applied", ev["create-K1"]
    assert ev["create-K1"]["action"] == "create"
    assert ev["create-K1"]["http_status"] == 201
    assert ev["create-K1"]["etag"], ev["create-K1"]

    k2 = ev["create-K2"]
    assert (k2["status"], k2["action"]) == ("applied", "update"), k2
    assert k2["conflicts"] == [{"status": 409, "field": "CompanyNumber",
                                "target_id": k2["target_id"]}], k2

    assert (ev["upd-K1"]["status"], ev["upd-K1"]["action"]) == \
        ("applied", "update"), ev["upd-K1"]
    assert (ev["upsert-K3"]["status"], ev["upsert-K3"]["action"]) == \
        ("applied", "create"), ev["upsert-K3"]
    assert (ev["del-K1"]["status"], ev["del-K1"]["action"]) == \
        ("applied", "delete"), ev["del-K1"]
    assert (ev["delete-K404"]["status"], ev["delete-K404"]["action"]) == \
        ("unchanged", "none"), ev["delete-K404"]

    nf = ev["update-K405"]
    assert nf["status"] == "failed" and nf["error"]["code"] == "not_found", nf

    bad = [o for o in outs if o["key"] == "KB"]
    assert len(bad) == 1 and bad[0]["status"] == "failed", bad
    assert bad[0]["error"]["code"] == "invalid_json", bad
    assert bad[0]["op"] is None and bad[0]["error"]["http_status"] is None

    assert ev["op-1"]["error"]["code"] == "unknown_op", ev["op-1"]
    v = ev["create-K6"]
    assert v["error"]["code"] == "validation", v
    assert "Name" in v["error"]["message"] and v["attempts"] == 0, v
    assert ev["create-K7"]["status"] == "applied", ev["create-K7"]

    # The API's state is what the stream says.
    st = by_external_id(env.api)
    assert st["K1"]["Status"] == "Inactive", st["K1"]
    assert st["K1"]["Fax"] == "555-0100", st["K1"]
    assert st["K1"]["BillingAddress"] == {"Street": "1 Main, Unit 4",
                                          "City": "Town", "State": "NY",
                                          "Zip": "10001"}, st["K1"]
    assert st["K2"]["Name"] == "Beta" and st["K2"]["Id"] == k2["target_id"]
    assert st["K3"]["Type"] == "Broker/3PL", st["K3"]
    assert "K6" not in st and "K7" in st
    assert len(st) == 4, sorted(st)  # K1, K2 (the seeded one), K3, K7

    # Dead letters: the four failures, original bytes, error headers.
    dl = env.wait_for("custsync.dead-letter", 4)
    assert len(dl) == 4, dl
    by_key = {r["key"]: r for r in dl}
    assert set(by_key) == {"K405", "KB", "KU", "K6"}, sorted(by_key)
    raw = by_key["KB"]
    assert raw["value"] == BAD_JSON.decode(), raw
    hd = headers(raw)
    assert hd["custsync.error.code"] == "invalid_json", hd
    assert hd["custsync.error.http_status"] == "", hd
    assert hd["custsync.source.topic"] == "erp.customers", hd
    assert hd["custsync.attempts"] == "0", hd
    assert int(hd["custsync.source.offset"]) >= 0
    h405 = headers(by_key["K405"])
    assert h405["custsync.error.code"] == "not_found", h405
    assert h405["custsync.error.http_status"] == "", h405


def test_stream_then_rerun_changes_nothing():
    with h.Env(api=dict(clients=[CLIENT])) as env:
        seeded = env.api.seed({"Name": "Old Beta", "Type": "Customer",
                               "CompanyNumber": "N-409"}, tenant="acme")
        w = env.worker(auth=OAUTH)
        env.produce(stream())
        outs = outcomes(env, 11)
        validate(outs)
        check_first_run(env, outs)
        assert by_event(outs)["create-K2"]["target_id"] == seeded["Id"]

        log = env.api.requests()["log"]
        writes = [r for r in log if r["method"] in ("PATCH", "DELETE")]
        assert writes and all(r["if_match"] for r in writes), writes
        assert all(r["if_match"] != "*" for r in writes), writes
        assert counts(env.api, status=428) == 0
        api_calls = [r for r in log if r["route"] != "/oauth/token"]
        assert all(r["correlation_id"] for r in api_calls), api_calls[:3]
        ctypes = {(r["method"], r["content_type"]) for r in api_calls
                  if r["method"] in ("POST", "PATCH")}
        assert ctypes <= {("POST", "application/json"),
                          ("PATCH", "application/merge-patch+json")}, ctypes
        assert w.stop() == 0, w.tail()

        before = env.api.state()
        writes_before = sum(counts(env.api, m) for m in ("PATCH", "DELETE"))
        # A replay of the whole topic by a new group: idempotent.
        env.worker(auth=OAUTH, group="custsync-rerun")
        again = outcomes(env, 22)[11:]
        validate(again)
        for o in again:
            assert o["status"] in ("unchanged", "failed", "skipped"), o
        assert env.api.state() == before  # same records, same ETags
        assert sum(counts(env.api, m) for m in ("PATCH", "DELETE")) == \
            writes_before


def test_sigterm_commits_and_exits_zero():
    with h.Env(api=dict(no_auth=True)) as env:
        w = env.worker()
        env.produce([native("create", f"T{i}", customer(f"T {i}"))
                     for i in range(12)])
        outcomes(env, 12)
        assert w.stop() == 0, w.tail()
        done = env.committed()
        total = sum(v for v in done.values() if v > 0)
        assert total == 12, done
        assert "stopped events=12" in w.log(), w.tail()


if __name__ == "__main__":
    h.run_tests(globals())
