"""Stale ETags, per-key order, and a hot key's backlog staying in its
own partition."""

import harness as h
from events import by_event, by_external_id, counts, customer, native, outcomes


def test_stale_etag_rereads_and_keeps_external_edit():
    with h.Env(api=dict(no_auth=True)) as env:
        env.worker()
        env.produce([native("create", "E1", customer("Echo", "E-1"))])
        first = outcomes(env, 1)[0]
        assert first["status"] == "applied", first
        # Someone edits the record in the partner's UI: our cached ETag
        # is now stale.
        env.api.edit(first["target_id"], {"Fax": "999", "Name": "Echo UI"})
        env.produce([native("update", "E1", {"name": "Echo ERP"})])
        out = outcomes(env, 2)[1]
        assert (out["status"], out["action"]) == ("applied", "update"), out
        assert out["conflicts"] == [{"status": 412, "field": None,
                                     "target_id": first["target_id"]}], out
        assert counts(env.api, "PATCH", status=412) == 1
        assert counts(env.api, "GET") == 1  # the re-read after the 412
        assert counts(env.api, status=428) == 0
        rec = by_external_id(env.api)["E1"]
        assert rec["Name"] == "Echo ERP", rec
        assert rec["Fax"] == "999", rec  # the external edit is kept
        assert out["etag"] == rec["ETag"], (out, rec)


def test_forty_updates_of_one_key_end_at_the_last():
    with h.Env(api=dict(no_auth=True)) as env:
        env.api.latency(5)
        env.worker(max_in_flight=16)
        recs = [native("create", "HOT", customer("v0", "HOT-1"))]
        for i in range(1, 41):
            recs.append(native("update", "HOT", {"name": f"v{i}"},
                               event_id=f"hot-{i}"))
            # other keys interleaved, so several requests are in flight
            recs.append(native("create", f"C{i}", customer(f"c{i}")))
        env.produce(recs)
        outs = outcomes(env, 81)
        hot = [o for o in outs if o["key"] == "HOT"]
        assert [o["event_id"] for o in hot] == \
            ["create-HOT"] + [f"hot-{i}" for i in range(1, 41)], hot
        offsets = [o["source"]["offset"] for o in hot]
        assert offsets == sorted(offsets), offsets
        assert all(o["status"] == "applied" for o in outs), \
            [o for o in outs if o["status"] != "applied"]
        assert by_external_id(env.api)["HOT"]["Name"] == "v40"
        # PATCHes of HOT reached the API in event order
        names = []
        hot_id = by_event(outs)["create-HOT"]["target_id"]
        for r in env.api.requests()["log"]:
            if r["method"] == "PATCH" and r["path"].endswith(hot_id):
                names.append(r)
        assert len(names) == 40, len(names)
        t = [r["t_ms"] for r in names]
        assert t == sorted(t), t


def test_hot_key_backlog_pauses_only_its_partition():
    # worker.max_buffered_events 60 over 3 partitions: 20 each. The hot
    # key's 80 updates fill its partition's share; the other partitions
    # must keep flowing instead of waiting for the hot key to drain.
    with h.Env(api=dict(no_auth=True)) as env:
        env.api.latency(100)
        w = env.worker(max_in_flight=16,
                       extra_yaml="worker:\n  max_buffered_events: 60\n")
        hot_p = h.partition_for("HOT", 3)
        others = [k for k in (f"O{i}" for i in range(200))
                  if h.partition_for(k, 3) != hot_p][:20]
        recs = [native("create", "HOT", customer("v0", "HOT-1"))]
        recs += [native("update", "HOT", {"name": f"v{i}"},
                        event_id=f"hot-{i}") for i in range(1, 80)]
        env.produce(recs)
        env.produce([native("create", k, customer(k.lower()))
                     for k in others])
        outs = outcomes(env, 100, timeout=120)
        hot = [o for o in outs if o["key"] == "HOT"]
        assert [o["event_id"] for o in hot] == \
            ["create-HOT"] + [f"hot-{i}" for i in range(1, 80)], hot
        rest = [o for o in outs if o["key"] != "HOT"]
        assert sorted(o["key"] for o in rest) == sorted(others)
        assert all(o["status"] == "applied" for o in outs)
        # With one global pause the others would wait for the hot key to
        # drain 30 events (3 s); here they finish before its 15th.
        last_other = max(o["finished_at"] for o in rest)
        assert last_other < hot[14]["finished_at"], \
            (last_other, [o["finished_at"] for o in hot[:20]])
        log = w.log()
        assert f"partition paused topic=erp.customers partition={hot_p} " \
               "reason=backpressure" in log, w.tail()
        assert "reason=backpressure" not in log.replace(
            f"partition={hot_p} reason=backpressure", ""), w.tail()


if __name__ == "__main__":
    h.run_tests(globals())
