"""target.rate_limit and the partner's quota headers against the
reference API's /_control/quota (a per-client fixed window, 429 past it):
custsync paces itself, or holds at remaining 0, instead of meeting 429s;
every event is applied, in key order, and a long wait for a token keeps
the consumer in its group."""

import time

import harness as h
from events import counts, customer, native, outcomes, validate

KEYS = 3
UPDATES = 2  # after each key's create


def _events():
    """A create and UPDATES renames per key, interleaved across keys."""
    evs = [native("create", f"R{k}", customer(f"r{k}-0"))
           for k in range(KEYS)]
    for u in range(1, UPDATES + 1):
        evs += [native("update", f"R{k}", customer(f"r{k}-{u}"))
                for k in range(KEYS)]
    return evs


def _config(env, target_yaml, max_in_flight=8):
    text = env.config(max_in_flight=max_in_flight)
    return text.replace("target:\n", "target:\n" + target_yaml, 1)


def _check_applied_in_order(env, outs):
    validate(outs)
    assert all(o["status"] == "applied" for o in outs), \
        [o for o in outs if o["status"] != "applied"]
    # Per-key order: each customer carries its key's last rename.
    names = sorted(c.get("name") or c.get("Name") or str(c)
                   for c in env.api.state())
    assert len(names) == KEYS, names
    for k in range(KEYS):
        assert any(f"r{k}-{UPDATES}" in n for n in names), names


def _all_429(env):
    return counts(env.api, status=429)


def test_rate_limit_matches_quota():
    """A quota of 4 per second and a rate limit of 4 per 1.1 s (the tenth
    is room for loopback jitter: the quota window starts when the first
    request arrives, the tokens when it was sent): no 429 at all, and the
    limit visibly paced the run."""
    with h.Env(api=dict(no_auth=True, profile="alvys")) as env:
        env.api._control("POST", "quota", {"requests": 4, "window_ms": 1000,
                                           "headers": "none"})
        w = env.worker(config=_config(
            env, "  rate_limit: {requests: 4, per_ms: 1100}\n"))
        t0 = time.monotonic()
        env.produce(_events())
        outs = outcomes(env, KEYS * (UPDATES + 1), timeout=60)
        took = time.monotonic() - t0
        _check_applied_in_order(env, outs)
        assert _all_429(env) == 0, env.api.requests()["counts"]
        sent = env.api.requests()["total"]
        # One token at once, then one every 275 ms.
        assert took >= (sent - 1) * 0.275 - 0.3, (took, sent)
        assert w.stop() == 0


def _quota_headers(form):
    """Quota headers only (no rate_limit): with one request in flight the
    answer that uses the last of the quota says remaining 0 before the
    next request is sent, so the hold until the reset leaves no request
    to meet a 429: exactly zero."""
    with h.Env(api=dict(no_auth=True, profile="alvys")) as env:
        env.api._control("POST", "quota", {"requests": 4, "window_ms": 1000,
                                           "headers": form})
        w = env.worker(max_in_flight=1)
        env.produce(_events())
        outs = outcomes(env, KEYS * (UPDATES + 1), timeout=60)
        _check_applied_in_order(env, outs)
        assert _all_429(env) == 0, env.api.requests()["counts"]
        assert "quota used up" in w.log(), w.tail()
        assert "quota headers ignored" not in w.log(), w.tail()
        assert w.stop() == 0


def test_quota_headers_ietf():
    _quota_headers("ietf")


def test_quota_headers_x():
    _quota_headers("x")


def test_quota_left_caps_requests_in_flight():
    """Up to 8 at once against a quota of 5 per 2 s: once an answer has
    said how many are left, no more than that are sent while answers
    are out, so the rest wait for the reset instead of meeting a 429
    (without it, 8 sent after the first answer get 4)."""
    with h.Env(api=dict(no_auth=True, profile="alvys")) as env:
        env.api.latency(100)
        env.api._control("POST", "quota", {"requests": 5, "window_ms": 2000,
                                           "headers": "ietf"})
        w = env.worker(max_in_flight=8)
        # Before the first answer nothing is known: one event first.
        env.produce([native("create", "Q0", customer("q0"))])
        outcomes(env, 1, timeout=60)
        evs = [native("create", f"Q{i}", customer(f"q{i}"))
               for i in range(1, 12)]
        env.produce(evs)
        outs = outcomes(env, len(evs) + 1, timeout=60)
        assert all(o["status"] == "applied" for o in outs), outs
        assert _all_429(env) == 0, env.api.requests()["counts"]
        assert w.stop() == 0


def _request_times(env, route, method="POST"):
    """Arrival times (s) of the API requests on route, in order."""
    return sorted(e["t_ms"] / 1000.0 for e in env.api.requests()["log"]
                  if e["route"] == route and e["method"] == method)


def test_write_rate_limit_meters_writes_only():
    """One write per 2 s: a dozen look-ups (deletes of keys the partner
    does not have: a search each, nothing to write) go at once, though
    alvys searches with a POST; then three creates go 2 s apart."""
    with h.Env(api=dict(no_auth=True, profile="alvys")) as env:
        w = env.worker(config=_config(
            env, "  write_rate_limit: {requests: 1, per_ms: 2000}\n"))
        reads = [native("delete", f"N{i}") for i in range(12)]
        env.produce(reads)
        outs = outcomes(env, len(reads), timeout=60)
        assert all(o["status"] != "failed" for o in outs), outs
        searches = _request_times(env, "/customers/search")
        assert len(searches) >= len(reads), env.api.requests()["counts"]
        assert counts(env.api, route="/customers") == 0, \
            env.api.requests()["counts"]
        # Metered, the twelve would take 22 s.
        assert searches[-1] - searches[0] < 1.5, searches

        writes = [native("create", f"W{i}", customer(f"w{i}"))
                  for i in range(3)]
        env.produce(writes)
        outs = outcomes(env, len(reads) + len(writes), timeout=60)
        assert all(o["status"] == "applied" for o in outs[len(reads):]), \
            outs[len(reads):]
        creates = _request_times(env, "/customers")
        assert len(creates) == len(writes), env.api.requests()["counts"]
        gaps = [b - a for a, b in zip(creates, creates[1:])]
        # A token every 2 s, less loopback jitter.
        assert all(g >= 1.9 for g in gaps), gaps
        assert _all_429(env) == 0
        assert w.stop() == 0


def test_long_wait_keeps_the_group():
    """One token per 30 s: the second request waits ~30 s, far beyond
    session.timeout.ms (6000); poll goes on, so there is no rebalance,
    and consumption is paused meanwhile."""
    with h.Env(api=dict(no_auth=True, profile="alvys")) as env:
        w = env.worker(config=_config(
            env, "  rate_limit: {requests: 1, per_ms: 30000}\n"))
        t0 = time.monotonic()
        env.produce([native("create", "L0", customer("l0")),
                     native("create", "L1", customer("l1"))])
        outs = outcomes(env, 2, timeout=60)
        took = time.monotonic() - t0
        assert all(o["status"] == "applied" for o in outs), outs
        assert took >= 29, took
        log = w.log()
        assert "partition revoked" not in log, w.tail()
        assert "rate-limit" in log and "consumption resumed" in log, \
            w.tail()
        assert w.stop() == 0


if __name__ == "__main__":
    h.run_tests(globals())
