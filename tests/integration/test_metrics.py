"""metrics.listen: /metrics and /healthz of the running daemon.

The counters are checked against what the results and dead-letter topics
and the reference API saw, consumer lag against the committed offsets, the
gauges against a Retry-After hold; /healthz answers 200 while the daemon
consumes and 503 once its broker is gone. check-config and run refuse a
listen address that cannot work. promtool (Debian's prometheus package)
accepts a scrape in which every family has samples: process_*, failures
by code, retries by reason."""

import collections
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import harness as h
from events import CLIENT, OAUTH, customer, native, outcomes

TOPIC = "erp.customers"
PARTITIONS = h.DEFAULT_TOPICS[TOPIC]
BAD_JSON = b'{"event_id": "bad", "op": "create", "key": "KB"'  # cut short

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
                   r'(,|$)')
COUNTER_SUFFIXES = ("_total", "_bucket", "_sum", "_count")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metrics_yaml(port):
    return f'metrics:\n  listen: "127.0.0.1:{port}"\n'


def parse(text):
    """Text format 0.0.4 -> {(name, frozenset(labels)): value}. Every
    sample must follow a # TYPE of its family and be well formed."""
    typed, out = set(), {}
    assert text.endswith("\n"), text[-200:]
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split(" ")[2])
            continue
        if line.startswith("# HELP "):
            continue
        m = SAMPLE.match(line)
        assert m, f"malformed sample line {line!r}"
        name, labels, value = m.groups()
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in typed or family in typed, f"no # TYPE for {line!r}"
        lab, pos = {}, 0
        while labels and pos < len(labels):
            lm = LABEL.match(labels, pos)
            assert lm, f"malformed labels in {line!r}"
            lab[lm.group(1)] = lm.group(2)
            pos = lm.end()
        key = (name, frozenset(lab.items()))
        assert key not in out, f"duplicate series {line!r}"
        out[key] = float(value)
    return out


def scrape(port):
    status, hdrs, body = h.http("GET", f"http://127.0.0.1:{port}/metrics",
                                timeout=5)
    assert status == 200, (status, body[:300])
    assert hdrs["Content-Type"] == \
        "text/plain; version=0.0.4; charset=utf-8", hdrs["Content-Type"]
    return parse(body.decode())


def scrape_if_up(port):
    """scrape(), or None while nothing listens yet."""
    try:
        return scrape(port)
    except OSError:  # urllib's URLError included
        return None


def healthz(port):
    """-> (status, body) or (None, error) when nothing answers."""
    try:
        status, _, body = h.http(
            "GET", f"http://127.0.0.1:{port}/healthz", timeout=5)
    except OSError as e:
        return None, str(e)
    return status, body.decode().strip()


def series(samples, name):
    """-> [(labels dict, value)] of one metric name."""
    return [(dict(k[1]), v) for k, v in samples.items() if k[0] == name]


def one(samples, name, **labels):
    v = samples.get((name, frozenset(labels.items())))
    assert v is not None, f"no {name}{labels} in the scrape"
    return v


def lags(samples):
    return {(lb["topic"], int(lb["partition"])): v
            for lb, v in series(samples, "custsync_consumer_lag")}


def events_done(samples):
    return sum(v for _, v in series(samples, "custsync_events_total"))


def check_monotonic(before, after):
    """Counters never go down between two scrapes."""
    for key, v in before.items():
        if key[0].endswith(COUNTER_SUFFIXES):
            assert after.get(key, 0) >= v, (key, v, after.get(key))


def check_events(samples, outs):
    want = collections.Counter((o["status"], o["action"]) for o in outs)
    got = {}
    for lb, v in series(samples, "custsync_events_total"):
        assert lb["profile"] == "alvys", lb
        if v:
            got[(lb["status"], lb["action"])] = int(v)
    assert got == dict(want), (got, want)


def check_http(samples, api):
    """Requests by method and status class, as the API counted them."""
    want = collections.Counter()
    seen = api.requests()
    for k, v in seen["counts"].items():
        parts = k.split(" ")  # "METHOD route status"; others are notes
        if len(parts) == 3:
            want[(parts[0], parts[2][0] + "xx")] += v
    assert sum(want.values()) == seen["total"], seen["counts"]
    got = {(lb["method"], lb["class"]): int(v)
           for lb, v in series(samples, "custsync_http_requests_total")
           if v}
    assert got == dict(want), (got, want)
    total = sum(want.values())
    buckets = sorted(((float(lb["le"]), v) for lb, v in
                      series(samples,
                             "custsync_http_request_duration_seconds_bucket")),
                     key=lambda b: b[0])
    counts = [v for _, v in buckets]
    assert counts == sorted(counts), buckets  # cumulative
    assert buckets[-1] == (float("inf"), total), buckets
    assert one(samples, "custsync_http_request_duration_seconds_count") \
        == total
    return total


def stream():
    """Creates, updates, a delete of nothing, and three kinds of failure:
    known outcomes with and without dead letters."""
    recs = [native("create", f"K{i}", customer(f"Cust {i}", f"N-{i}"))
            for i in range(30)]
    recs += [native("update", f"K{i}", {"fax": f"555-01{i:02d}"},
                    event_id=f"upd-K{i}") for i in range(5)]
    recs += [native("delete", "GONE1"), native("delete", "GONE2")]
    recs += [{"key": f"KB{i}", "value": BAD_JSON} for i in range(3)]
    recs.append({"key": "KU", "value": {"event_id": "op-1", "op": "merge",
                                        "key": "KU",
                                        "customer": {"name": "x"}}})
    recs.append(native("create", "KV", customer("N" * 201)))
    return recs


def key_on(partition, prefix):
    """A key that produce() puts in partition."""
    for i in range(1000):
        if h.partition_for(f"{prefix}{i}", PARTITIONS) == partition:
            return f"{prefix}{i}"
    raise AssertionError(f"no key for partition {partition}")


def test_counters_match_what_was_seen():
    with h.Env(api=dict(clients=[CLIENT])) as env:
        port = free_port()
        w = env.worker(auth=OAUTH, max_in_flight=2,
                       extra_yaml=metrics_yaml(port))
        first = h.wait_until(lambda: scrape_if_up(port), timeout=15,
                             what="the metrics server")
        assert events_done(first) == 0
        info = series(first, "custsync_build_info")
        assert len(info) == 1 and info[0][1] == 1, info
        assert re.fullmatch(r"\d+\.\d+\.\d+", info[0][0]["version"]), info

        # One event per partition: once they are committed every
        # partition has a lag, so the main run's lag can be watched.
        warm = [native("create", key_on(p, "W"), customer(f"W{p}"))
                for p in range(PARTITIONS)]
        env.produce(warm)
        outcomes(env, len(warm))
        all_parts = {(TOPIC, p) for p in range(PARTITIONS)}
        h.wait_until(lambda: lags(scrape(port)) == dict.fromkeys(
            all_parts, 0), timeout=30, what="lag 0 after the warm-up")
        fast = sum(v for _, v in series(scrape(port),
                                        "custsync_http_requests_total"))

        # Slow requests: the run lasts seconds, long enough to be
        # watched and to outlast a statistics interval.
        env.api.latency(150)
        recs = stream()
        total = len(warm) + len(recs)
        env.produce(recs)
        prev, seen_in_flight, seen_lag, scrapes = first, 0, 0, 0
        deadline = time.monotonic() + 90
        while True:
            s = scrape(port)
            scrapes += 1
            check_monotonic(prev, s)
            assert healthz(port) == (200, "ok"), healthz(port)
            seen_in_flight = max(seen_in_flight,
                                 one(s, "custsync_http_in_flight"))
            seen_lag = max([seen_lag] + list(lags(s).values()))
            prev = s
            if events_done(s) >= total:
                break
            assert time.monotonic() < deadline, \
                f"{events_done(s)} of {total} events after 90 s"
            time.sleep(0.1)
        assert scrapes >= 3, scrapes  # it was scraped during the run
        # max_in_flight events, plus a token request.
        assert 1 <= seen_in_flight <= 3, seen_in_flight
        assert seen_lag > 0, "no lag seen while events were pending"

        outs = outcomes(env, total)
        failed = [o for o in outs if o["status"] == "failed"]
        assert len(failed) == 5, failed  # 3 bad JSON, unknown op, too long
        dead = env.wait_for("custsync.dead-letter", len(failed))
        s = h.wait_until(
            lambda: (lambda x: x if one(x, "custsync_http_in_flight") == 0
                     else None)(scrape(port)),
            timeout=10, what="no request in flight")
        check_events(s, outs)
        assert one(s, "custsync_dead_letters_total") == len(dead) == 5
        n = check_http(s, env.api)
        tokens = env.api.requests()["counts"].get("POST /oauth/token 200")
        assert tokens and one(s, "custsync_token_refreshes_total",
                              result="success") == tokens, tokens
        assert one(s, "custsync_token_refreshes_total",
                   result="failure") == 0
        # Every request since the latency met its 150 ms: none of them
        # is in a faster bucket, and the sum shows it.
        assert one(s, "custsync_http_request_duration_seconds_bucket",
                   le="0.1") <= fast
        assert one(s, "custsync_http_request_duration_seconds_sum") >= \
            0.15 * (n - fast)
        h.wait_until(lambda: lags(scrape(port)) == dict.fromkeys(
            all_parts, 0), timeout=30, what="lag back to 0")

        # A Retry-After hold shows in the gauges while it lasts.
        env.api.latency(0)
        env.api.disable_writes(seconds=3, retry_after=3)
        env.produce([native("create", f"H{i}", customer(f"H{i}"))
                     for i in range(4)])

        def held():
            x = scrape(port)
            return (one(x, "custsync_retry_after_seconds") > 0 and
                    one(x, "custsync_partitions_paused") == PARTITIONS)
        h.wait_until(held, timeout=20, what="the hold in the gauges")
        outs = outcomes(env, total + 4)
        assert all(o["status"] == "applied" for o in outs[-4:]), outs[-4:]

        def released():
            x = scrape(port)
            if one(x, "custsync_retry_after_seconds") == 0 and \
                    one(x, "custsync_partitions_paused") == 0 and \
                    one(x, "custsync_http_in_flight") == 0:
                return x
            return None
        s = h.wait_until(released, timeout=20, what="the hold to end")
        check_events(s, outs)
        check_http(s, env.api)
        assert one(s, "custsync_healthy") == 1
        assert w.stop() == 0, w.tail()


def test_cache_bounded_by_cache_mb():
    """The response cache holds what worker.cache_mb allows: with 1 MiB,
    2000 customers do not all stay, the estimate stays under the bound,
    and the keys that left cost a GET when they change again, not a
    wrong write."""
    n = 2000
    with h.Env(api=dict(clients=[CLIENT])) as env:
        port = free_port()
        w = env.worker(auth=OAUTH, max_in_flight=16,
                       extra_yaml=metrics_yaml(port) +
                       "worker:\n  cache_mb: 1\n")
        h.wait_until(lambda: scrape_if_up(port), timeout=15,
                     what="the metrics server")
        env.produce([native("create", f"C{i}",
                            customer(f"Cust {i} " + "x" * 150, f"N-{i}"))
                     for i in range(n)])
        outs = outcomes(env, n, timeout=120)
        assert all(o["status"] == "applied" for o in outs), \
            [o for o in outs if o["status"] != "applied"][:3]
        s = h.wait_until(
            lambda: (lambda x: x if events_done(x) >= n else None)(
                scrape(port)), timeout=15, what="the events in /metrics")
        entries = one(s, "custsync_cache_entries")
        size = one(s, "custsync_cache_bytes")
        assert 0 < size <= 1 << 20, size
        # The first hundred fit; all two thousand do not.
        assert 100 < entries < n, entries
        # An update of a key that left the cache reads it first (a GET)
        # and applies; one still cached needs no GET.
        before = env.api.requests()["counts"]
        env.produce([native("update", "C0", {"fax": "555-0100"},
                            event_id="upd-C0")])
        outs = outcomes(env, n + 1)
        assert outs[-1]["status"] == "applied", outs[-1]
        after = env.api.requests()["counts"]
        gets = sum(v - before.get(k, 0) for k, v in after.items()
                   if k.startswith("GET "))
        assert gets >= 1, (before, after)
        assert w.stop() == 0, w.tail()


def test_healthz_503_when_the_broker_is_lost():
    port = free_port()
    with h.Broker() as broker, h.RefApi(no_auth=True) as api:
        w = h.Worker(h.config_text(broker, api,
                                   extra_yaml=metrics_yaml(port)))
        with w:
            h.wait_until(
                lambda: (scrape_if_up(port) or {}).get(
                    ("custsync_consumer_assigned_partitions", frozenset()))
                == PARTITIONS, timeout=30, what="the assignment")
            h.produce(broker.bootstrap, TOPIC,
                      [native("create", "A1", customer("A"))])
            h.wait_for(broker.bootstrap, "custsync.results", 1)
            assert healthz(port) == (200, "ok"), healthz(port)

            os.kill(broker.proc.pid, signal.SIGKILL)
            broker.proc.wait(timeout=10)
            t0 = time.monotonic()
            status, why = h.wait_until(
                lambda: (lambda r: r if r[0] == 503 else None)(
                    healthz(port)),
                timeout=30, what="/healthz 503 after the broker died")
            took = time.monotonic() - t0
            assert "Kafka broker" in why or "coordinator" in why, why
            assert took >= 3, took  # a blink of a connection is no loss
            # The daemon itself goes on, and so do its metrics.
            assert w.alive(), w.tail()
            s = scrape(port)
            assert one(s, "custsync_healthy") == 0
            assert one(s, "custsync_kafka_brokers_up") == 0
            # Nothing to stop cleanly against: no broker.
            w.kill()


def promtool_or_skip():
    """promtool's path, or None to skip: only outside CI, where the
    package may be missing; in CI a missing promtool fails the test."""
    path = shutil.which("promtool")
    if path:
        return path
    ci = os.environ.get("CI", "")
    assert ci in ("", "0", "false"), \
        "CI is set but promtool is missing: install Debian's prometheus " \
        "package (.ci/deps)"
    print("SKIP test_promtool_accepts_the_scrape: no promtool (Debian "
          "package prometheus)")
    return None


def test_promtool_accepts_the_scrape():
    promtool = promtool_or_skip()
    if not promtool:
        return
    with h.Env(api=dict(clients=[CLIENT])) as env:
        port = free_port()
        env.worker(auth=OAUTH, extra_yaml=metrics_yaml(port))
        h.wait_until(lambda: scrape_if_up(port), timeout=15,
                     what="the metrics server")
        # One write answers 500 (retried), a value that is no JSON
        # fails, and writes get a 429 with Retry-After (held) until the
        # hold has been counted.
        env.api._control("POST", "script", {"status": 500, "count": 1})
        env.produce([native("create", f"P{i}", customer(f"P {i}"))
                     for i in range(4)] +
                    [{"key": "PB", "value": BAD_JSON}])
        outcomes(env, 5)
        env.api.disable_writes(seconds=60, retry_after=1, status=429)
        env.produce([native("create", "PH", customer("P H"))])
        h.wait_until(lambda: one(scrape(port), "custsync_retries_total",
                                 reason="retry_after") >= 1,
                     timeout=20, what="a Retry-After retry counted")
        env.api.disable_writes(seconds=0, retry_after=0)
        outs = outcomes(env, 6)
        assert sorted(o["status"] for o in outs) == \
            ["applied"] * 5 + ["failed"], outs

        def settled():
            x = scrape(port)
            return x if (lags(x) and
                         one(x, "custsync_http_in_flight") == 0) else None
        s = h.wait_until(settled, timeout=30, what="lag and no request "
                         "in flight")
        assert one(s, "custsync_events_failed_total",
                   code="invalid_json") == 1
        assert one(s, "custsync_events_failed_total", code="other") == 0
        assert one(s, "custsync_retries_total", reason="http_5xx") == 1
        assert one(s, "custsync_retries_total", reason="retry_after") >= 1
        assert one(s, "custsync_retries_total", reason="connection") == 0
        # Only combinations an outcome can have.
        events = {(lb["status"], lb["action"])
                  for lb, _ in series(s, "custsync_events_total")}
        assert ("applied", "none") not in events, events
        assert all((st == "applied") == (a != "none") for st, a in events)
        assert not [lb for lb, _ in series(s, "custsync_http_requests_total")
                    if lb["class"] == "1xx"]
        assert one(s, "process_resident_memory_bytes") > 1e6
        assert one(s, "process_virtual_memory_bytes") >= \
            one(s, "process_resident_memory_bytes")
        assert one(s, "process_cpu_seconds_total") > 0
        assert 3 <= one(s, "process_open_fds") <= one(s, "process_max_fds")
        assert abs(one(s, "process_start_time_seconds") - time.time()) < 300

        _, _, body = h.http("GET", f"http://127.0.0.1:{port}/metrics",
                            timeout=5)
        families = {line.split(" ")[2] for line in body.decode().splitlines()
                    if line.startswith("# TYPE ")}
        for name in ("process_cpu_seconds_total", "process_open_fds",
                     "process_max_fds", "process_start_time_seconds",
                     "custsync_events_failed_total",
                     "custsync_retries_total", "custsync_consumer_lag",
                     "custsync_consumer_group_info"):
            assert name in families, (name, sorted(families))
        r = subprocess.run([promtool, "check", "metrics"], input=body,
                           capture_output=True, timeout=30)
        assert r.returncode == 0 and not r.stdout.strip() and \
            not r.stderr.strip(), (r.returncode, r.stdout, r.stderr)


def test_bad_listen_address_refused():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        base = h.config_text("127.0.0.1:9", None)
        w = h.Worker(base + 'metrics:\n  listen: "localhost:9464"\n')
        try:
            rc, out = w.check_config()
            line = base.count("\n") + 2
            assert rc == 78, (rc, out)
            assert f"{w.config_path}:{line}:11: 'metrics.listen' host " \
                "must be" in out, out

            # Valid, but in use: run stops before it consumes anything.
            w.write_config(base + metrics_yaml(port))
            assert w.check_config()[0] == 0
            w.start()
            h.wait_until(lambda: not w.alive(), timeout=15,
                         what="custsync to exit")
            assert w.returncode == 78, (w.returncode, w.tail())
            assert f"cannot listen on 127.0.0.1:{port}: Address already " \
                "in use" in w.log(), w.tail()
        finally:
            w.cleanup()


if __name__ == "__main__":
    h.run_tests(globals())
