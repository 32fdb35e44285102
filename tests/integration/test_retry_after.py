"""A Retry-After holds the whole endpoint: partitions pause, polling goes
on, one probe when the wait ends, then everything resumes; nothing fails."""

import time

import harness as h
from events import by_external_id, counts, customer, native, outcomes


def run_window(status):
    with h.Env(api=dict(no_auth=True)) as env:
        w = env.worker(max_in_flight=8)
        env.produce([native("create", "W0", customer("w0"))])
        outcomes(env, 1)
        env.api.disable_writes(seconds=3, retry_after=2, status=status)
        t0 = time.monotonic()
        env.produce([native("create", f"W{i}", customer(f"w{i}"))
                     for i in range(1, 21)])
        outs = outcomes(env, 21, timeout=60)
        took = time.monotonic() - t0
        assert all(o["status"] == "applied" for o in outs), \
            [o for o in outs if o["status"] != "applied"]
        assert len(by_external_id(env.api)) == 21
        refused = counts(env.api, "POST", "/customers", status)
        # The first wave (up to max_in_flight) meets the window, then
        # one probe per Retry-After: a handful, never a hammering.
        assert 1 <= refused <= 8 + 3, refused
        assert took >= 2.5, took  # the events did wait
        log = w.log()
        assert "endpoint asked to wait" in log, w.tail()
        assert "probing" in log, w.tail()
        assert "partition revoked" not in log, w.tail()
        assert "consumption paused" in log and "consumption resumed" in log
        assert w.stop() == 0


def test_503_endpoint_disabled():
    run_window(503)


def test_429_rate_limited():
    run_window(429)


if __name__ == "__main__":
    h.run_tests(globals())
