"""SIGKILL at any moment loses nothing: after a restart every event has an
outcome and the API ends exactly where the stream says."""

import signal
import time

import harness as h
from events import (by_external_id, customer, native, outcomes,
                    wait_all_outcomes)


def test_sigkill_mid_stream_then_restart():
    with h.Env(api=dict(no_auth=True)) as env:
        # Slow enough that the kill lands mid-stream: 10 keys, two at a
        # time, 16 events each, 50 ms per request.
        env.api.latency(50)
        w = env.worker(max_in_flight=2)
        recs = []
        for k in range(10):
            recs.append(native("create", f"S{k}", customer(f"s{k}-0")))
            for i in range(1, 16):
                recs.append(native("update", f"S{k}", {"name": f"s{k}-{i}"},
                                   event_id=f"s{k}-{i}"))
        env.produce(recs)
        # Kill while work is in flight.
        h.wait_until(lambda: len(env.consume("custsync.results")) >= 10,
                     timeout=60, what="some outcomes before the kill")
        w.kill()
        before = len(env.consume("custsync.results"))
        assert before < len(recs), "the kill came too late to mean much"
        env.api.latency(0)
        w2 = env.worker(max_in_flight=8)
        wait_all_outcomes(env, len(recs))
        st = by_external_id(env.api)
        assert len(st) == 10, sorted(st)  # no duplicate creates
        for k in range(10):
            assert st[f"S{k}"]["Name"] == f"s{k}-15", st[f"S{k}"]
        outs = [r["json"] for r in env.consume("custsync.results")]
        assert all(o["status"] in ("applied", "unchanged") for o in outs), \
            [o for o in outs if o["status"] not in ("applied", "unchanged")]
        assert w2.stop() == 0, w2.tail()


def test_sigint_also_stops_cleanly():
    with h.Env(api=dict(no_auth=True)) as env:
        w = env.worker()
        env.produce([native("create", "I1", customer("i1"))])
        outcomes(env, 1)
        time.sleep(0.2)
        assert w.stop(sig=signal.SIGINT) == 0, w.tail()


if __name__ == "__main__":
    h.run_tests(globals())
