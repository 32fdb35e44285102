"""Throughput benchmark of custsync (issue 3/4).

    /usr/bin/python3 tests/bench/bench.py [--quick] [--only A,B,C,...]

Binaries come from $CUSTSYNC_BUILD_DIR (default <repo>/build-bench, a
Release build). Each scenario gets a fresh broker + reference API (alvys,
--no-auth), preloads create events into the 3-partition input topic, then
starts custsync. Scenarios (README "Benchmark" describes the columns):

  A    100k events / 10k keys, 20 ms API, max_in_flight 64 and 256
  Aseq partition-sequential (max_in_flight_per_partition: 1), small slice
  conn A(64) again with target.max_connections 8 (connection limit)
  B    the A stream at 0 ms, beside curlbench (bare libcurl-multi loop)
  C    200k and 1M events preloaded, 50 ms, 30 s then SIGTERM: peak RSS
       with custsync's defaults (median of 3 runs)
  D    one hot key carrying half the events, 20 ms, defaults (median of 3)
  E    a 30 s 503 + Retry-After window in the middle of an A-like run
  cg   instructions per event on the 0 ms path (valgrind callgrind)
  Bavro B with the same events as Avro (input.format: avro, a reference
       Schema Registry) beside B with JSON, and callgrind's instructions
       per event for both
  idle a worker with nothing to do: its CPU and wake-ups over 30 s

  F    a quota of 200 requests/s: rate_limit, quota headers, adaptive,
       fixed 64 (3 runs each, median and min-max)
  G    a server of capacity 16 at 20 ms: adaptive beside fixed 64
  Aad  A with max_in_flight: adaptive beside A(64), alternating runs

A (64 and 256), B, cg and idle run --reps times (3; 1 with --quick) and print
the median with min-max beside it.
"""

import argparse
import base64
import calendar
import functools
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("CUSTSYNC_BUILD_DIR", str(_REPO / "build-bench"))
sys.path.insert(0, str(_REPO / "tests" / "integration"))

import harness as h  # noqa: E402
from schemareg import SchemaRegistry  # noqa: E402

TOPICS = {"erp.customers": 3, "custsync.results": 3,
          "custsync.dead-letter": 1}
INPUT = "erp.customers"
RESULTS = "custsync.results"
GROUP = "custsync-bench"
# The mock cluster keeps at most 5 MiB per partition and drops older
# data silently, so both topics must be compressed: 100k outcomes or 1M
# inputs would not fit otherwise. Properties go to custsync's consumer
# and producer alike; the consumer ignores compression.codec.
PROPERTIES = {"fetch.max.bytes": "52428800",
              "max.partition.fetch.bytes": "4194304",
              "auto.commit.interval.ms": "200",
              "compression.codec": "lz4"}
# Scenarios C and D run with custsync's defaults: the fetch sizes above
# are unset there, so that custsync derives them (and the queue bounds)
# from worker.max_buffered_events.
DEFAULTS = {"fetch.max.bytes": None, "max.partition.fetch.bytes": None}
REPEAT = 3                   # C and D: median of this many runs
PRODUCER_X = ["compression.codec=zstd", "linger.ms=50",
              "batch.num.messages=10000",
              "queue.buffering.max.messages=500000"]
CURL_SECONDS = 5
CURL_START_ID = 100000000    # curlbench ExternalIds never meet event keys
HOT = "HOT"
CLK = os.sysconf("SC_CLK_TCK")
B_GOAL = 0.5                 # B >= this x the bare loop of the same run
A_GOAL = {64: 0.85, 256: 0.9}   # A >= this x max_in_flight / latency
# cg runs with custsync's own compression (none): 6000 outcomes fit the
# mock cluster, and under callgrind's slowdown lz4's per-batch set-up
# (a few events per batch instead of tens) would be counted per event.
CG_PROPS = {"compression.codec": None}
# idle: custsync's own defaults for the group (not the tests' 500 ms
# heartbeat) and librdkafka's commit interval, metrics on as in the
# example config.
IDLE_PROPS = {"session.timeout.ms": None, "heartbeat.interval.ms": None}
IDLE_SETTLE_S = 3


# ---------------------------------------------------------------------------
# Input

def uniform_keys(k):
    return lambda i: f"K{i % k}"


def hot_keys(k):
    """Every other event has the hot key; the rest spread over k keys."""
    return lambda i: HOT if i % 2 == 0 else f"K{(i // 2) % k}"


def record_line(key, i):
    """One kafkatool produce line: a create event for key. Keys and names
    are plain ASCII, so a template is enough (and 1M lines stay fast)."""
    return ('{"key":"%s","value":"{\\"op\\":\\"create\\",\\"key\\":\\"%s\\",'
            '\\"customer\\":{\\"name\\":\\"x %d\\",\\"type\\":\\"customer\\",'
            '\\"external_id\\":\\"%s\\"}}"}\n' % (key, key, i, key))


def _avro_long(v):
    z = (v << 1) ^ (v >> 63)
    out = bytearray()
    while True:
        c = z & 0x7f
        z >>= 7
        out.append(c | (0x80 if z else 0))
        if not z:
            return bytes(out)


def _avro_str(s):
    b = s.encode()
    return _avro_long(len(b)) + b


class AvroInput:
    """The create events of record_line as Avro records in Confluent's
    wire format (the native envelope's shape, so the API sees the same
    requests), with a reference Schema Registry serving their schema."""

    SCHEMA = {"type": "record", "name": "Event", "fields": [
        {"name": "op", "type": "string"},
        {"name": "key", "type": "string"},
        {"name": "customer", "type": {
            "type": "record", "name": "Customer", "fields": [
                {"name": "name", "type": "string"},
                {"name": "type", "type": "string"},
                {"name": "external_id", "type": "string"}]}}]}

    def __enter__(self):
        self.reg = SchemaRegistry().start()
        self.id = self.reg.register(INPUT + "-value", self.SCHEMA)
        self.header = b"\x00" + self.id.to_bytes(4, "big")
        self.extra_yaml = ("input:\n  format: avro\n  schema_registry:\n"
                           f"    url: {self.reg.url}\n")
        return self

    def __exit__(self, *exc):
        self.reg.stop()

    def line(self, key, i):
        # Encoded by hand: python3-avro would take longer than the run.
        v = (self.header + _avro_str("create") + _avro_str(key) +
             _avro_str(f"x {i}") + _avro_str("customer") + _avro_str(key))
        return ('{"key":"%s","value_b64":"%s"}\n'
                % (key, base64.b64encode(v).decode()))


def preload(env, n, keyfn, line=record_line):
    """Streams n events into kafkatool produce (compressed batches)."""
    argv = [h.bin_path("kafkatool"), "produce", "-b", env.bootstrap,
            "-t", INPUT]
    for x in PRODUCER_X:
        argv += ["-X", x]
    t0 = time.monotonic()
    proc = h.spawn(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)
    chunk = []
    for i in range(n):
        chunk.append(line(keyfn(i), i))
        if len(chunk) == 20000:
            proc.stdin.write("".join(chunk).encode())
            chunk = []
    proc.stdin.write("".join(chunk).encode())
    proc.stdin.close()
    err = proc.stderr.read().decode("utf-8", "replace")
    rc = proc.wait(timeout=300)
    h._forget(proc)
    if rc != 0 or f"produced {n}" not in err:
        raise RuntimeError(f"preload of {n} events failed rc={rc}: "
                           f"{err[-1000:]}")
    return time.monotonic() - t0


def stream_topic(env, topic, min_count, timeout_s, each):
    """kafkatool consume, one record at a time into each(record) (the
    whole topic is never held in memory) -> records read."""
    proc = h.spawn([h.bin_path("kafkatool"), "consume", "-b",
                    env.bootstrap, "-t", topic, "--min-count",
                    str(min_count), "--timeout-ms",
                    str(int(timeout_s * 1000))],
                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                   stderr=subprocess.DEVNULL)
    n = 0
    for line in proc.stdout:
        each(json.loads(line))
        n += 1
    rc = proc.wait(timeout=timeout_s + 60)
    h._forget(proc)
    if rc != 0:
        raise RuntimeError(f"consume {topic} rc={rc}")
    return n


def input_timestamps(env, n):
    """-> {partition: [timestamp s by offset]} of the input topic."""
    ts = {}

    def each(r):
        ts.setdefault(r["partition"], {})[r["offset"]] = \
            r["timestamp"] / 1000.0
    stream_topic(env, INPUT, n, 60, each)
    return ts


# ---------------------------------------------------------------------------
# Outcome checks, streaming: memory grows with keys and offsets, not with
# outcome bodies.

class Outcomes:
    """Per key, outcomes in ascending source offset and in one partition;
    every source offset at most once; counts, rates and latencies."""

    MAX_PROBLEMS = 20

    def __init__(self, ts=None, hot=None):
        self.n = 0
        self.statuses = Counter()
        self.last = {}              # key -> (partition, offset)
        self.seen = {}              # partition -> bytearray by offset
        self.problems = []
        self.n_problems = 0
        self.per_sec = Counter()    # whole second of finished_at -> count
        self.first = self.final = None
        self.ts = ts
        self.lat = []
        self.dur = []
        self.hot = hot
        self.hot_n = self.other_n = 0
        self.other_last = None
        self._sec = {}

    def _problem(self, text):
        self.n_problems += 1
        if len(self.problems) < self.MAX_PROBLEMS:
            self.problems.append(text)

    def _time(self, s):
        # "YYYY-MM-DDTHH:MM:SS.mmmZ"; one timegm per distinct second.
        base = self._sec.get(s[:19])
        if base is None:
            base = calendar.timegm(time.strptime(s[:19],
                                                 "%Y-%m-%dT%H:%M:%S"))
            self._sec[s[:19]] = base
        return base + int(s[20:23]) / 1000.0

    def add(self, o):
        src = o.get("source") or {}
        p, off = src.get("partition"), src.get("offset")
        if not isinstance(p, int) or not isinstance(off, int):
            self._problem(f"outcome without a source: {o}")
            return
        bits = self.seen.setdefault(p, bytearray())
        if off >= len(bits):
            bits.extend(bytes(max(off + 1 - len(bits), len(bits))))
        if bits[off]:
            self._problem(f"duplicate outcome for {p}@{off}")
        bits[off] = 1
        key = o.get("key")
        prev = self.last.get(key)
        if prev is not None and (prev[0] != p or prev[1] >= off):
            self._problem(f"key {key}: {p}@{off} after {prev[0]}@{prev[1]}")
        self.last[key] = (p, off)
        self.n += 1
        self.statuses[o.get("status")] += 1
        fin = self._time(o["finished_at"])
        self.per_sec[int(fin)] += 1
        self.first = fin if self.first is None else min(self.first, fin)
        self.final = fin if self.final is None else max(self.final, fin)
        self.dur.append(o.get("duration_ms", 0))
        if self.ts is not None:
            t0 = self.ts.get(p, {}).get(off)
            if t0 is not None:
                self.lat.append((fin - t0) * 1000.0)
        if self.hot is not None:
            if key == self.hot:
                self.hot_n += 1
            else:
                self.other_n += 1
                self.other_last = fin if self.other_last is None \
                    else max(self.other_last, fin)

    def each_record(self, r):
        try:
            self.add(json.loads(r["value"]))
        except (TypeError, ValueError, KeyError) as e:
            self._problem(f"unreadable outcome {r.get('offset')}: {e}")

    def missing(self, n_by_partition):
        """Offsets [0, n_by_partition[p]) without an outcome -> count."""
        miss = 0
        for p, n in n_by_partition.items():
            bits = self.seen.get(p, bytearray())
            miss += sum(1 for i in range(n) if i >= len(bits) or
                        not bits[i])
        return miss

    def ok(self):
        return self.n_problems == 0


def selfcheck_order():
    """The checks must be able to fail."""
    def mk(key, p, off):
        return {"key": key, "source": {"partition": p, "offset": off},
                "finished_at": "2026-11-23T10:00:00.000Z", "status": "ok"}
    good = Outcomes()
    for o in (mk("K1", 0, 1), mk("K1", 0, 2), mk("K2", 0, 0)):
        good.add(o)
    assert good.ok() and good.missing({0: 3}) == 0
    rev = Outcomes()
    rev.add(mk("K1", 0, 2))
    rev.add(mk("K1", 0, 1))
    assert not rev.ok(), "order check cannot fail"
    dup = Outcomes()
    dup.add(mk("K1", 0, 1))
    dup.add(mk("K2", 0, 1))
    assert not dup.ok(), "duplicate check cannot fail"
    assert good.missing({0: 4}) == 1, "loss check cannot fail"


# ---------------------------------------------------------------------------
# Processes: CPU, memory, connections

def proc_cpu_s(pid):
    """utime + stime of pid in seconds (/proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime, stime are fields 14, 15.
    return (int(fields[11]) + int(fields[12])) / CLK


def machine_busy_s():
    """-> (busy CPU s, total CPU s) of the whole machine (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return (sum(v[:8]) - idle) / CLK, sum(v[:8]) / CLK


def proc_status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def api_connections(port):
    """-> local ports of ESTABLISHED client sockets to 127.0.0.1:port."""
    out = set()
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            c = line.split()
            if c[3] == "01" and int(c[2].split(":")[1], 16) == port:
                out.add(int(c[1].split(":")[1], 16))
    return out


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


class Sampler:
    """CPU seconds of every process of a run, the machine's busy time,
    RSS and the connections to the API, sampled while it runs."""

    def __init__(self, env, worker_pid):
        self.env = env
        self.pids = {"custsync": worker_pid,
                     "broker": env.broker.proc.pid,
                     "refapi": env.api.proc.pid,
                     "script": os.getpid()}
        self.port = env.api.port
        self.max_conns = 0
        self.ports = set()
        self.max_rss = 0
        self.rss_trace = []
        self.t0 = time.monotonic()
        self.cpu0 = self.cpu()

    def cpu(self):
        c = {k: proc_cpu_s(p) for k, p in self.pids.items()}
        c["machine"], c["capacity"] = machine_busy_s()
        c["wall"] = time.monotonic()
        return c

    def tick(self):
        conns = api_connections(self.port)
        self.max_conns = max(self.max_conns, len(conns))
        self.ports |= conns
        rss = proc_status_kib(self.pids["custsync"], "VmRSS")
        self.max_rss = max(self.max_rss, rss)
        self.rss_trace.append((round(time.monotonic() - self.t0, 1), rss))

    def cpu_used(self, until=None):
        """-> {process: CPU s} between start and until (a cpu() dict)."""
        c1 = until or self.cpu()
        d = {k: round(c1[k] - self.cpu0[k], 2) for k in c1}
        d["others"] = round(d["machine"] - sum(
            d[k] for k in self.pids), 2)
        return d


def wait_done(env, n, timeout, tick):
    """Cheap end detection: the API saw n requests, then the group's
    committed offsets cover n events (a committed offset implies its
    outcome was acknowledged)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tick()
        if env.api._control("GET", "requests?log=0")["total"] >= n:
            break
        time.sleep(0.25)
    while time.monotonic() < deadline:
        tick()
        c = env.committed(GROUP, INPUT)
        if sum(max(v, 0) for v in c.values()) >= n:
            return True
        time.sleep(0.25)
    return False


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    i = min(len(sorted_vals) - 1, max(0, round(p / 100 * len(sorted_vals)
                                               + 0.5) - 1))
    return sorted_vals[i]


def committed_by_partition(env):
    return {p: max(v, 0) for p, v in env.committed(GROUP, INPUT).items()}


def log_count(w, text):
    return w.log().count(text)


# ---------------------------------------------------------------------------
# Scenarios

def worker_for(env, mif, props=None, target=None, extra_yaml="",
               binary=None):
    p = dict(PROPERTIES)
    p.update(props or {})
    p = {k2: v for k2, v in p.items() if v is not None}  # None: unset
    return env.worker(start=False, group=GROUP, max_in_flight=mif,
                      properties=p, target=target, extra_yaml=extra_yaml,
                      binary=binary)


def summarize(name, n, k, mif, latency_ms, oc, t_start, cpu, smp, extra):
    lat = sorted(oc.lat)
    r = {"name": name, "events": n, "keys": k, "mif": mif,
         "latency_ms": latency_ms, "outcomes": oc.n,
         "eps": oc.n / (oc.final - t_start) if oc.n else 0.0,
         "eps_after_first": ((oc.n - 1) / (oc.final - oc.first)
                             if oc.n > 1 and oc.final > oc.first
                             else float("nan")),
         "first_outcome_s": (oc.first - t_start) if oc.n else None,
         "p50_ms": pct(lat, 50) if lat else None,
         "p99_ms": pct(lat, 99) if lat else None,
         "dur_p50_ms": statistics.median(oc.dur) if oc.dur else None,
         "cpu_s_per_1000": cpu["custsync"] / max(oc.n, 1) * 1000.0,
         "cpu": cpu,
         "rss_mib": proc_status_kib(smp.pids["custsync"], "VmHWM") / 1024.0
         if extra.get("hwm_kib") is None else extra["hwm_kib"] / 1024.0,
         "max_conns": smp.max_conns, "distinct_conns": len(smp.ports),
         "statuses": dict(oc.statuses),
         "order_ok": oc.ok(), "problems": oc.problems[:5],
         "n_problems": oc.n_problems}
    r.update({k2: v for k2, v in extra.items() if k2 != "hwm_kib"})
    return r


def drain(name, n, k, mif, latency_ms, target=None, props=None,
          keyfn=None, timeout=900, avro=None, trace=False):
    """Preload n events, run custsync until all are committed, check.
    avro: an AvroInput, to feed the events as Avro. trace: sample the
    concurrency limit meanwhile, and compare the round trip custsync
    measured (its request histogram) with the time the API took."""
    keyfn = keyfn or uniform_keys(k)
    load0 = loadavg()
    port = free_port() if trace else None
    extra = avro.extra_yaml if avro else ""
    if trace:
        extra += f'metrics:\n  listen: "127.0.0.1:{port}"\n'
    with h.Env(topics=TOPICS, api=dict(no_auth=True)) as env:
        if latency_ms:
            env.api.latency(latency_ms)
        produce_s = preload(env, n, keyfn,
                            avro.line if avro else record_line)
        w = worker_for(env, mif, props=props, target=target,
                       extra_yaml=extra)
        t_start = time.time()
        w.start()
        smp = Sampler(env, w.pid)
        limits = []

        def tick():
            smp.tick()
            if trace:
                g = gauges(port, ["custsync_concurrency_limit"])
                if "custsync_concurrency_limit" in g:
                    limits.append(g["custsync_concurrency_limit"])
        if not wait_done(env, n, timeout, tick):
            raise RuntimeError(f"{name}: not all {n} events done in "
                               f"{timeout}s:\n{w.tail()}")
        cpu = smp.cpu_used()
        hwm = proc_status_kib(w.pid, "VmHWM")
        api = env.api._control("GET", "requests?log=0")
        reqs = api["total"]
        rtt = gauges(port, ["custsync_http_request_duration_seconds_sum",
                            "custsync_http_request_duration_seconds_count",
                            "custsync_concurrency_cpu_stalled_windows_total"]
                     ) if trace else {}
        rc = w.stop()
        ts = input_timestamps(env, n)
        oc = Outcomes(ts=ts)
        stream_topic(env, RESULTS, n, 120, oc.each_record)
        ends = committed_by_partition(env)
    missing = oc.missing(ends)
    r = summarize(name, n, k, mif, latency_ms, oc, t_start, cpu, smp,
                  {"hwm_kib": hwm, "req_per_event": reqs / max(oc.n, 1),
                   "exit": rc, "produce_s": round(produce_s, 1),
                   "missing": missing, "load": f"{load0} -> {loadavg()}"})
    r["order_ok"] = r["order_ok"] and oc.n == n and missing == 0
    if trace:
        limits.sort()
        r.update({"limit_p10": pct(limits, 10) if limits else None,
                  "limit_p50": pct(limits, 50) if limits else None,
                  "limit_p90": pct(limits, 90) if limits else None,
                  "limit_min": limits[0] if limits else None,
                  "server_ms": api.get("latency_ms", {})})
        cnt = rtt.get("custsync_http_request_duration_seconds_count", 0)
        if cnt:
            r["rtt_mean_ms"] = 1000.0 * rtt[
                "custsync_http_request_duration_seconds_sum"] / cnt
        r["stalled_windows"] = rtt.get(
            "custsync_concurrency_cpu_stalled_windows_total")
    return r


def scenario_c(n, k, seconds, label):
    """A backlog of n events, slow API, custsync's defaults: run
    `seconds`, SIGTERM, check."""
    load0 = loadavg()
    with h.Env(topics=TOPICS, api=dict(no_auth=True)) as env:
        env.api.latency(50)
        produce_s = preload(env, n, uniform_keys(k))
        w = worker_for(env, 64, props=DEFAULTS)
        t_start = time.time()
        w.start()
        smp = Sampler(env, w.pid)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            smp.tick()
            time.sleep(0.5)
        cpu = smp.cpu_used()
        hwm = proc_status_kib(w.pid, "VmHWM")
        t_stop = time.monotonic()
        rc = w.stop()
        stop_s = time.monotonic() - t_stop
        oc = Outcomes()
        # The worker flushed its producer before exiting: everything up to
        # the high watermark is all there is.
        stream_topic(env, RESULTS, 0, 120, oc.each_record)
        ends = committed_by_partition(env)
    # Every event below the committed offset must have its outcome; above
    # it, key order and no duplicates are what can be checked.
    missing = oc.missing(ends)
    r = summarize(f"C{label}", n, k, 64, 50, oc, t_start, cpu, smp,
                  {"hwm_kib": hwm, "exit": rc, "stop_s": round(stop_s, 2),
                   "produce_s": round(produce_s, 1), "missing": missing,
                   "committed": sum(ends.values()),
                   "rss_trace": smp.rss_trace[::max(1, len(
                       smp.rss_trace) // 12)],
                   "load": f"{load0} -> {loadavg()}"})
    r["order_ok"] = r["order_ok"] and missing == 0 and rc == 0
    return r


def scenario_d(n, k, mif, cap_s):
    """Half the events on one key, custsync's defaults: the others' rate,
    the hot key's order."""
    load0 = loadavg()
    n_other = n // 2
    with h.Env(topics=TOPICS, api=dict(no_auth=True)) as env:
        env.api.latency(20)
        preload(env, n, hot_keys(k))
        w = worker_for(env, mif, props=DEFAULTS)
        t_start = time.time()
        w.start()
        smp = Sampler(env, w.pid)
        end = time.monotonic() + cap_s
        hist = []
        while time.monotonic() < end:
            smp.tick()
            # The hot key alone makes at most 50 requests/s (20 ms each):
            # a lower rate once n_other requests were made means the
            # others are done (or starved; other_eps tells which).
            total = env.api._control("GET", "requests?log=0")["total"]
            hist.append((time.monotonic(), total))
            if len(hist) > 4 and total >= n_other and \
                    (total - hist[-5][1]) / (hist[-1][0] - hist[-5][0]) < 150:
                break
            time.sleep(0.5)
        t_stop = time.time()
        cpu = smp.cpu_used()
        hwm = proc_status_kib(w.pid, "VmHWM")
        rc = w.stop()
        ts = input_timestamps(env, n)
        oc = Outcomes(ts=ts, hot=HOT)
        stream_topic(env, RESULTS, 0, 120, oc.each_record)
    others_done = oc.other_n >= n_other
    span = ((oc.other_last if others_done else t_stop) - oc.first) \
        if oc.n else float("nan")
    r = summarize("D", n, k + 1, mif, 20, oc, t_start, cpu, smp,
                  {"hwm_kib": hwm, "exit": rc, "hot_n": oc.hot_n,
                   "other_n": oc.other_n, "others_all_done": others_done,
                   "other_eps": (oc.other_n - 1) / span if span > 0
                   else float("nan"),
                   "hot_eps": oc.hot_n / (t_stop - oc.first)
                   if oc.n else float("nan"),
                   "load": f"{load0} -> {loadavg()}"})
    return r


def repeated(runs, keys):
    """One row from repeated runs of a scenario: the median of each of
    keys, its min-max in <key>_min/<key>_max, the runs' loads, and the
    order / loss check of every run."""
    r = dict(runs[len(runs) // 2])
    r["name"] += f" (median of {len(runs)})" if len(runs) > 1 else ""
    for key in keys:
        vals = [x[key] for x in runs if x[key] == x[key]]
        r[key] = statistics.median(vals) if vals else float("nan")
        r[key + "_min"] = min(vals) if vals else float("nan")
        r[key + "_max"] = max(vals) if vals else float("nan")
    r["runs"] = len(runs)
    r["loads"] = [x["load"] for x in runs]
    r["order_ok"] = all(x["order_ok"] for x in runs)
    r["problems"] = [p for x in runs for p in x["problems"]][:5]
    return r


def spread_of(r, key, d=1):
    return (f"{fmt(r[key], d)} ({fmt(r[key + '_min'], d)}-"
            f"{fmt(r[key + '_max'], d)})")


def scenario_e(n, k, window_s, lead_s, timeout=900):
    """A 503 window with a truthful Retry-After, mid-run."""
    load0 = loadavg()
    with h.Env(topics=TOPICS, api=dict(no_auth=True)) as env:
        env.api.latency(20)
        preload(env, n, uniform_keys(k))
        w = worker_for(env, 64)
        t_start = time.time()
        w.start()
        smp = Sampler(env, w.pid)
        # The window opens lead_s after the first outcome-producing
        # request, so the rate before it is a steady one.
        while env.api._control("GET", "requests?log=0")["total"] == 0:
            smp.tick()
            time.sleep(0.1)
            if time.time() - t_start > 60:
                raise RuntimeError(f"E: no request in 60 s\n{w.tail()}")
        time.sleep(lead_s)
        # No retry_after: the reference API then sends the truthful one
        # (the window's length).
        env.api._control("POST", "disable_writes", {"seconds": window_s})
        t_win = time.time()
        if not wait_done(env, n, timeout, smp.tick):
            raise RuntimeError(f"E: not all {n} events done:\n{w.tail()}")
        cpu = smp.cpu_used()
        hwm = proc_status_kib(w.pid, "VmHWM")
        log_before_stop = w.log()
        reqs = env.api._control("GET", "requests?log=0")
        rc = w.stop()
        oc = Outcomes()
        stream_topic(env, RESULTS, n, 120, oc.each_record)
        ends = committed_by_partition(env)
    t_end = t_win + window_s
    before = [oc.per_sec[s] for s in range(int(oc.first) + 1, int(t_win))]
    base = statistics.mean(before) if before else float("nan")
    recovered = None
    for s in range(int(t_end), int(oc.final) + 1):
        if oc.per_sec[s] >= 0.8 * base:
            recovered = max(0.0, s + 1 - t_end)
            break
    in_window = sum(oc.per_sec[s] for s in range(int(t_win) + 1,
                                                  int(t_end)))
    n503 = sum(v for c, v in reqs["counts"].items() if c.endswith(" 503"))
    missing = oc.missing(ends)
    r = summarize("E", n, k, 64, 20, oc, t_start, cpu, smp,
                  {"hwm_kib": hwm, "exit": rc, "window_s": window_s,
                   "assigned": log_before_stop.count("partition assigned"),
                   "revoked": log_before_stop.count("partition revoked"),
                   "missing": missing, "failed": oc.statuses.get("failed",
                                                                   0),
                   "rate_before": base, "recovered_s": recovered,
                   "outcomes_in_window": in_window, "requests_503": n503,
                   "requests": reqs["total"],
                   "per_sec_around_end": [oc.per_sec[s] for s in range(
                       int(t_end) - 2, int(t_end) + 8)],
                   "load": f"{load0} -> {loadavg()}"})
    r["order_ok"] = r["order_ok"] and oc.n == n and missing == 0
    return r


def callgrind_run(n, k, outdir, avro=None):
    """custsync under callgrind on the 0 ms path -> (Ir, outcomes, file)."""
    out = Path(outdir) / f"callgrind.{n}{'.avro' if avro else ''}.out"
    with h.Env(topics=TOPICS, api=dict(no_auth=True)) as env:
        preload(env, n, uniform_keys(k), avro.line if avro else record_line)
        wrap = Path(env.dir.path) / "custsync-callgrind.sh"
        wrap.write_text("#!/bin/sh\nexec valgrind --tool=callgrind "
                        f"--callgrind-out-file={out} "
                        f"{h.bin_path('custsync')} \"$@\"\n")
        wrap.chmod(0o755)
        w = worker_for(env, 64, props=CG_PROPS, binary=wrap,
                       extra_yaml=avro.extra_yaml if avro else "")
        w.start()
        if not wait_done(env, n, 900, lambda: None):
            raise RuntimeError(f"callgrind: not done\n{w.tail()}")
        rc = w.stop(timeout=120)
        oc = Outcomes()
        stream_topic(env, RESULTS, n, 120, oc.each_record)
    ir = None
    with open(out) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                ir = int(line.split()[1])
    if rc != 0 or ir is None or oc.n != n or not oc.ok():
        raise RuntimeError(f"callgrind run n={n}: rc={rc} ir={ir} "
                           f"outcomes={oc.n} problems={oc.problems[:3]}")
    return ir, oc.n, out


def scenario_cg(n_small, n_big, outdir, reps, avro=None):
    if not shutil.which("valgrind"):
        return {"name": "callgrind", "skipped": "valgrind not installed"}
    runs = []
    for i in range(reps):
        rdir = Path(outdir) / f"run{i + 1}"
        rdir.mkdir(parents=True, exist_ok=True)
        ir1, _, _ = callgrind_run(n_small, max(1, n_small // 10), rdir,
                                  avro)
        ir2, _, f2 = callgrind_run(n_big, max(1, n_big // 10), rdir,
                                   avro)
        runs.append({"ir_small": ir1, "ir_big": ir2,
                     "ir_per_event_total": ir2 / n_big,
                     "ir_per_event_marginal":
                     (ir2 - ir1) / (n_big - n_small), "file": str(f2)})
    # The profile of the last run: what the instructions are spent on.
    ann = subprocess.run(["callgrind_annotate", "--inclusive=yes",
                          runs[-1]["file"]], capture_output=True,
                         text=True, timeout=300).stdout
    top = []
    started = False
    for line in ann.splitlines():
        if line.strip().startswith("Ir") and "file:function" in line:
            started = True
            continue
        if started and line.strip() and len(top) < 40:
            if set(line.strip()) <= {"-"}:
                continue
            ir = int(line.split()[0].replace(",", ""))
            top.append(f"{ir / n_big:9.0f} Ir/event  {line.strip()}")
    return {"name": "callgrind", "n_small": n_small, "n_big": n_big,
            "runs": runs,
            "ir_per_event_total": [r["ir_per_event_total"] for r in runs],
            "ir_per_event_marginal": [r["ir_per_event_marginal"]
                                      for r in runs],
            "top": top}


def free_port():
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        return sk.getsockname()[1]


def threads(pid):
    """-> {tid: (name, CPU ticks, voluntary context switches)}: a thread
    that sleeps and is woken switches out voluntarily once per wake-up."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        base = f"/proc/{pid}/task/{tid}"
        try:
            with open(f"{base}/stat") as f:
                st = f.read()
            with open(f"{base}/status") as f:
                vol = next(int(x.split()[1]) for x in f
                           if x.startswith("voluntary_ctxt_switches"))
        except (OSError, StopIteration):
            continue
        name = st[st.index("(") + 1:st.rindex(")")]
        fields = st[st.rindex(")") + 2:].split()
        out[int(tid)] = (name, int(fields[11]) + int(fields[12]), vol)
    return out


def strace_counts(pid, seconds):
    """-> {syscall: calls} of the loop thread (pid itself) over seconds,
    or None when strace cannot attach. Its polls are its wake-ups, where
    context switches also count waits for a lock. Run apart from the CPU
    window: tracing costs CPU itself."""
    if not shutil.which("strace"):
        return None
    try:
        out = subprocess.run(
            ["timeout", "-s", "INT", str(seconds), "strace", "-c",
             "-p", str(pid)], capture_output=True, text=True,
            timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        return None
    counts = {}
    for line in out.stderr.splitlines():
        c = line.split()
        if len(c) >= 5 and c[0][0].isdigit() and c[-1] != "total":
            counts[c[-1]] = int(c[3])
    return counts or None


def scenario_idle(n_warm, seconds, strace_s):
    """After n_warm events are done, nothing to do: CPU and wake-ups of
    every thread over seconds, then the loop thread's syscalls
    (strace)."""
    load0 = loadavg()
    with h.Env(topics=TOPICS, api=dict(no_auth=True)) as env:
        preload(env, n_warm, uniform_keys(max(1, n_warm // 10)))
        w = env.worker(start=False, group=GROUP, max_in_flight=64,
                       properties=IDLE_PROPS,
                       extra_yaml=f"metrics:\n  listen: 127.0.0.1:"
                       f"{free_port()}\n")
        w.start()
        if not wait_done(env, n_warm, 120, lambda: None):
            raise RuntimeError(f"idle: warm-up not done\n{w.tail()}")
        time.sleep(IDLE_SETTLE_S)
        t0, m0, busy0 = time.monotonic(), threads(w.pid), machine_busy_s()
        time.sleep(seconds)
        t1, m1, busy1 = time.monotonic(), threads(w.pid), machine_busy_s()
        sc = strace_counts(w.pid, strace_s) if strace_s else None
        rc = w.stop()
        # The warm-up's events are checked like every scenario's.
        oc = Outcomes()
        stream_topic(env, RESULTS, n_warm, 120, oc.each_record)
    if oc.n != n_warm or not oc.ok():
        raise RuntimeError(f"idle: outcomes={oc.n} of {n_warm} "
                           f"problems={oc.problems[:3]}")
    wall = t1 - t0
    per = {}
    for tid, (name, cpu, vol) in m1.items():
        if tid in m0:
            per[f"{name}/{tid}"] = {
                "cpu_ms": round((cpu - m0[tid][1]) * 1000 / CLK),
                "wakeups_per_s": round((vol - m0[tid][2]) / wall, 2),
                "main": tid == w.pid}
    main = next(v for v in per.values() if v["main"])
    cpu_s = sum(v["cpu_ms"] for v in per.values()) / 1000.0
    return {"name": "idle", "seconds": round(wall, 1),
            "cpu_pct": round(cpu_s / wall * 100, 3),
            "main_wakeups_per_s": main["wakeups_per_s"],
            "all_wakeups_per_s": round(sum(v["wakeups_per_s"]
                                           for v in per.values()), 2),
            "threads": per, "strace_s": strace_s, "loop_syscalls": sc,
            "loop_polls_per_s": round(sum(sc.get(c, 0) for c in (
                "poll", "ppoll", "epoll_wait", "epoll_pwait")) / strace_s, 2)
            if sc else None,
            "machine_busy_pct": round((busy1[0] - busy0[0]) /
                                      (busy1[1] - busy0[1]) * 100, 1),
            "exit": rc, "order_ok": True,
            "load": f"{load0} -> {loadavg()}"}


def curl_scenario(concurrency, seconds):
    with h.RefApi(no_auth=True) as api:
        t0 = proc_cpu_s(api.proc.pid)
        out = subprocess.run(
            [str(h.bin_path("curlbench")), "--url", api.base_url,
             "--concurrency", str(concurrency), "--duration", str(seconds),
             "--start", str(CURL_START_ID)],
            capture_output=True, text=True, timeout=seconds + 60)
        api_cpu = proc_cpu_s(api.proc.pid) - t0
    if out.returncode != 0:
        raise RuntimeError(f"curlbench rc={out.returncode}: "
                           f"{out.stderr.strip()} {out.stdout.strip()}")
    r = json.loads(out.stdout)
    r["refapi_cpu_s"] = round(api_cpu, 2)
    return r


# ---------------------------------------------------------------------------
# The partner's capacity (issue 14): a quota (F), a server of capacity C
# (G), adaptive concurrency on the A stream (Aad). Each is repeated and
# reported as the median run with the min-max of its key figures.

QUOTA = 200                  # F: requests per second of the partner's quota
CAP_C, CAP_MS, CAP_Q = 16, 20, 32   # G: capacity, base latency, queue bound
GAUGE_RX = r"^%s (\S+)$"


def gauges(port, names):
    """-> {name: value} of the worker's /metrics (missing ones absent)."""
    try:
        status, _, body = h.http("GET", f"http://127.0.0.1:{port}/metrics",
                                 timeout=2)
    except OSError:
        return {}
    out = {}
    for name in names if status == 200 else ():
        m = re.search((GAUGE_RX % name).encode(), body, re.M)
        if m:
            out[name] = float(m.group(1))
    return out


def count_status(reqs, status):
    return sum(v for c, v in reqs["counts"].items()
               if c.endswith(f" {status}"))


def quota_rps(log, window_ms):
    """Requests the quota let through per second, over whole windows.
    The reference API's window starts with the first request after the
    last one ended, so one window's start to the next is a cycle (idle
    tail included), and the last cycle, which nothing ends, is left out:
    a quota used up early in each window is not counted as faster than
    it is."""
    starts, passed = [], []
    for e in sorted(log, key=lambda e: e["t_ms"]):
        if not starts or e["t_ms"] - starts[-1] >= window_ms:
            starts.append(e["t_ms"])
            passed.append(0)
        passed[-1] += e["status"] != 429
    if len(starts) < 2:
        return float("nan")
    return sum(passed[:-1]) / ((starts[-1] - starts[0]) / 1000.0)


def capacity_run(name, n, k, mif, setup, target_yaml="", latency_ms=20,
                 window_ms=None):
    """Preload n events, run custsync to the end with its metrics on, and
    sample its concurrency limit and the API's parked answers meanwhile;
    then the same checks as drain()."""
    load0 = loadavg()
    port = free_port()
    with h.Env(topics=TOPICS, api=dict(no_auth=True)) as env:
        setup(env.api)
        preload(env, n, uniform_keys(k))
        text = env.config(group=GROUP, max_in_flight=mif,
                          properties=dict(PROPERTIES),
                          extra_yaml=f'metrics:\n  listen: '
                                     f'"127.0.0.1:{port}"\n')
        text = text.replace("target:\n", "target:\n" + target_yaml, 1)
        w = env.worker(config=text, start=False)
        t_start = time.time()
        w.start()
        smp = Sampler(env, w.pid)
        trace = []  # (monotonic s, limit, API requests parked, API total)

        def tick():
            smp.tick()
            g = gauges(port, ["custsync_concurrency_limit"])
            r = env.api._control("GET", "requests?log=0")
            if r["total"]:
                trace.append((time.monotonic(),
                              g.get("custsync_concurrency_limit"),
                              r["in_flight"], r["total"]))
        if not wait_done(env, n, 900, tick):
            raise RuntimeError(f"{name}: not all {n} events done:\n"
                               f"{w.tail()}")
        cpu = smp.cpu_used()
        hwm = proc_status_kib(w.pid, "VmHWM")
        reqs = env.api._control("GET", "requests?log=0" if window_ms is
                                None else "requests")
        rc = w.stop()
        oc = Outcomes()
        stream_topic(env, RESULTS, n, 120, oc.each_record)
        ends = committed_by_partition(env)
    missing = oc.missing(ends)
    n429, n503 = count_status(reqs, 429), count_status(reqs, 503)
    accepted = reqs["total"] - n429 - n503
    # The first and last second are the ramp and the tail: the settled
    # limit is what the middle of the run shows.
    t0, t1 = (trace[0][0], trace[-1][0]) if trace else (0, 0)
    mid = [s for s in trace if t0 + 1.0 <= s[0] <= t1 - 1.0] or trace
    limits = sorted(s[1] for s in mid if s[1] is not None)
    parked = sorted(s[2] for s in mid)
    r = summarize(name, n, k, mif, latency_ms, oc, t_start, cpu, smp,
                  {"hwm_kib": hwm, "exit": rc, "missing": missing,
                   "requests": reqs["total"], "n429": n429, "n503": n503,
                   "share_429": n429 / max(reqs["total"], 1),
                   "req_per_event": reqs["total"] / max(oc.n, 1),
                   "server_ms": reqs["latency_ms"],
                   "limit_p10": pct(limits, 10), "limit_p50": pct(limits, 50),
                   "limit_p90": pct(limits, 90),
                   "parked_p50": pct(parked, 50),
                   "load": f"{load0} -> {loadavg()}"})
    # Accepted requests per second: over the quota's whole windows, or
    # else over the span of the events/s column (first to last outcome).
    if window_ms is not None and len(reqs["log"]) == reqs["total"]:
        r["accepted_rps"] = quota_rps(reqs["log"], window_ms)
    else:
        r["accepted_rps"] = r["eps_after_first"] * accepted / max(oc.n, 1)
    r["order_ok"] = r["order_ok"] and oc.n == n and missing == 0 and \
        rc == 0
    return r


def repeated_by(runs, key, fn):
    """fn() `runs` times -> the median run by key, carrying the median
    and min-max of the figures the targets use, and every run's load."""
    rs = sorted((fn() for _ in range(runs)), key=lambda r: r[key])
    med = dict(rs[len(rs) // 2])
    for r in rs:
        if "server_ms" in r:
            r["server_p99"] = r["server_ms"].get("p99", 0)
    for f in ("eps_after_first", "accepted_rps", "share_429", "n429",
              "n503", "limit_p50", "parked_p50", "server_p99"):
        vals = [r[f] for r in rs if f in r]
        if vals:
            med[f + "_spread"] = (statistics.median(vals), min(vals),
                             max(vals))
    med["runs"] = len(rs)
    med["loads"] = [r["load"] for r in rs]
    med["order_ok"] = all(r["order_ok"] for r in rs)
    med["problems"] = [p for r in rs for p in r["problems"]][:5]
    return med


def quota_setup(headers):
    def setup(api):
        api.latency(20)
        api._control("POST", "quota", {"requests": QUOTA,
                                       "window_ms": 1000,
                                       "headers": headers})
    return setup


def scenario_f(n, runs):
    """A quota of QUOTA requests/s (20 ms API), met four ways."""
    cases = [
        ("F rate_limit = quota", 64, "none",
         f"  rate_limit: {{requests: {QUOTA}, per_ms: 1000}}\n",
         lambda r: r["n429_spread"][0] == 0 and
         r["accepted_rps_spread"][0] >= 0.95 * QUOTA,
         "0 x 429, >= 0.95 x quota"),
        ("F RateLimit headers only", 64, "ietf", "",
         lambda r: r["share_429_spread"][0] <= 0.005 and
         r["accepted_rps_spread"][0] >= 0.9 * QUOTA,
         "<= 0.5 % 429, >= 0.9 x quota"),
        ("F adaptive, no headers", "adaptive", "none", "",
         lambda r: r["share_429_spread"][0] <= 0.02 and
         r["accepted_rps_spread"][0] >= 0.85 * QUOTA,
         "<= 2 % 429, >= 0.85 x quota"),
        ("F fixed 64, no headers", 64, "none", "", None, "(comparison)"),
    ]
    out = []
    for name, mif, headers, yaml, goal, desc in cases:
        r = repeated_by(runs, "accepted_rps", lambda: capacity_run(
            name, n, n // 2, mif, quota_setup(headers), yaml,
            window_ms=1000))
        out.append((r, desc, goal(r) and r["order_ok"] if goal else None))
    return out


def scenario_g(n, runs):
    """A server of capacity CAP_C at CAP_MS, queue CAP_Q, then 503."""
    def setup(api):
        api._control("POST", "capacity", {"concurrent": CAP_C,
                                          "latency_ms": CAP_MS,
                                          "queue": CAP_Q})
    ceiling = CAP_C / (CAP_MS / 1000.0)
    out = []
    for name, mif in (("G adaptive", "adaptive"), ("G fixed 64", 64)):
        r = repeated_by(runs, "accepted_rps", lambda: capacity_run(
            name, n, n // 2, mif, setup))
        if mif == "adaptive":
            ok = (0.7 * CAP_C <= r["parked_p50_spread"][0] <= 1.5 * CAP_C and
                  0.7 * CAP_C <= r["limit_p50_spread"][0] <= 1.5 * CAP_C and
                  r["accepted_rps_spread"][0] >= 0.85 * ceiling and
                  r["server_p99_spread"][0] <= 2 * CAP_MS and r["order_ok"])
            desc = (f"in flight {0.7 * CAP_C:.1f}..{1.5 * CAP_C:.0f}, "
                    f">= {0.85 * ceiling:.0f} req/s, p99 <= {2 * CAP_MS} ms")
        else:
            ok, desc = None, "(comparison)"
        out.append((r, desc, ok))
    return out


def scenario_aad(n, k, runs):
    """A(64) and A with max_in_flight: adaptive, alternating, so both see
    the same machine load."""
    fixed, adapt = [], []
    for _ in range(runs):
        fixed.append(drain("A", n, k, 64, 20, trace=True))
        adapt.append(drain("A adaptive", n, k, "adaptive", 20, trace=True))

    # Where the limit went, and the round trip custsync measured beside
    # the time the API itself took: the gap is time an answer waited for
    # custsync's loop (or the kernel), which the limit reads as a queue.
    for r in fixed + adapt:
        print(f"  {r['name']}: {fmt(r['eps_after_first'])} events/s; "
              f"limit min {fmt(r.get('limit_min'), 0)} p10-p50-p90 "
              f"{fmt(r.get('limit_p10'), 0)}-{fmt(r.get('limit_p50'), 0)}-"
              f"{fmt(r.get('limit_p90'), 0)}; custsync's mean RTT "
              f"{fmt(r.get('rtt_mean_ms'))} ms, the API's p50 "
              f"{r.get('server_ms', {}).get('p50')} ms; windows not "
              f"judged for custsync's CPU wait "
              f"{fmt(r.get('stalled_windows'), 0)}; load {r['load']}",
              flush=True)

    def pick(rs):
        it = iter(rs)
        return repeated_by(len(rs), "eps_after_first", lambda: next(it))
    f, a = pick(fixed), pick(adapt)
    ratio = a["eps_after_first_spread"][0] / f["eps_after_first_spread"][0]
    a["ratio"] = ratio
    return [(f, "(comparison)", None),
            (a, f"adaptive / fixed 64 = {ratio:.2f} >= 0.9",
             ratio >= 0.9 and a["order_ok"] and f["order_ok"])]


def spread_rep(r, f, d=1, scale=1):
    """ "median (min-max)" of a repeated_by() figure; "-" when absent."""
    v = r.get(f + "_spread")
    if v is None:
        return "-"
    return " ".join([fmt(v[0] * scale, d), "(" + fmt(v[1] * scale, d) +
                     "-" + fmt(v[2] * scale, d) + ")"])


def capacity_table(rows):
    """F, G and Aad: medians of their runs, min-max in brackets."""
    print("| scenario | max_in_flight | runs | events/s after 1st outcome "
          "| accepted req/s | of quota or C/L | 429 | 429 % | 503 | "
          "limit p50 (p10-p90 of the median run) | API in flight p50 | "
          "API p99 ms | key order | target | met |")
    print("|" + "---|" * 15)
    ceiling = {"F": QUOTA, "G": CAP_C / (CAP_MS / 1000.0)}
    for r in rows:
        c = ceiling.get(r["name"][0]) \
            if r["name"].startswith(("F ", "G ")) else None
        rps = r.get("accepted_rps_spread")
        share = fmt(rps[0] / c, 2) if c and rps else "-"
        lim = (f"{fmt(r['limit_p10'], 0)}-{fmt(r['limit_p90'], 0)}"
               if "limit_p10" in r else "")
        met = "-" if r["target"] == "(comparison)" else \
            "yes" if r["met"] else "no"
        sp = functools.partial(spread_rep, r)
        print(f"| {r['name']} | {r['mif']} | {r['runs']} | "
              f"{sp('eps_after_first')} | {sp('accepted_rps')} "
              f"| {share} | {sp('n429', 0)} | "
              f"{sp('share_429', 2, 100)} | {sp('n503', 0)} | "
              f"{sp('limit_p50', 0)} {lim} | "
              f"{sp('parked_p50', 0)} | {sp('server_p99', 0)} "
              f"| {'ok' if r['order_ok'] else 'BROKEN'} | {r['target']} | "
              f"{met} |")


# ---------------------------------------------------------------------------
# Report

def fmt(v, d=1):
    if v is None or (isinstance(v, float) and v != v):
        return "-"
    return f"{v:.{d}f}"


def table(rows):
    print("| scenario | events/keys | max_in_flight | API ms | events/s | "
          "events/s after 1st outcome | 1st outcome s | p50 ms | p99 ms | "
          "duration_ms p50 | CPU s/1000 ev | peak RSS MiB | "
          "max conns | key order | target | met |")
    print("|" + "---|" * 16)
    for r in rows:
        print(f"| {r['name']} | {r['events']}/{r['keys']} | {r['mif']} | "
              f"{r['latency_ms']} | {fmt(r['eps'])} | "
              f"{fmt(r['eps_after_first'])} | "
              f"{fmt(r['first_outcome_s'], 2)} | {fmt(r['p50_ms'], 0)} | "
              f"{fmt(r['p99_ms'], 0)} | {fmt(r['dur_p50_ms'], 0)} | "
              f"{fmt(r['cpu_s_per_1000'], 3)} | {fmt(r['rss_mib'])} | "
              f"{r['max_conns']} | {'ok' if r['order_ok'] else 'BROKEN'} | "
              f"{r.get('target', '')} | "
              f"{'yes' if r.get('met') else 'no'} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true",
                    help="smaller runs (about 5 min instead of 15)")
    ap.add_argument("--only",
                    default="A,Aseq,conn,B,C,D,E,cg,idle,Bavro,F,G,Aad",
                    help="comma-separated scenarios")
    ap.add_argument("--reps", type=int, default=None,
                    help="runs of A, B, cg and idle (3; --quick 1)")
    ap.add_argument("--keep", default=None,
                    help="directory for callgrind output (default: tmp)")
    ap.add_argument("--hog", type=int, default=0,
                    help="busy-loop processes to run meanwhile, to "
                    "measure on a saturated machine on purpose")
    args = ap.parse_args()
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(args.hog)]
    try:
        return run_main(args)
    finally:
        for p in hogs:
            p.kill()
            p.wait()


def run_main(args):
    q = args.quick
    reps = args.reps or (1 if q else 3)
    only = set(args.only.split(","))
    n, k = (20000, 2000) if q else (100000, 10000)
    selfcheck_order()
    print(f"machine: nproc={os.cpu_count()} cpu={cpu_model()} "
          f"load={loadavg()}; build={h.BUILD_DIR}", flush=True)
    rows, res = [], {}

    def add(key, r, target_desc=None, met=None):
        r["target"] = target_desc or ""
        r["met"] = bool(met)
        rows.append(r)
        res[key] = r
        print(json.dumps(r, default=str), flush=True)

    if "A" in only:
        for mif in (64, 256):
            goal = A_GOAL[mif] * mif / 0.020
            runs = [drain("A", n, k, mif, 20)
                    for _ in range(reps)]
            r = median_run(runs, "eps_after_first")
            r["eps_runs"] = [x["eps_after_first"] for x in runs]
            add(f"A{mif}", r, f">= {goal:.0f} ev/s (after 1st outcome; "
                f"{A_GOAL[mif]} x {mif} / 20 ms)",
                r["eps_after_first"] >= goal and
                all(x["order_ok"] for x in runs))
    if "Aseq" in only:
        n_seq = 300 if q else 600
        r = drain("A-seq (per-partition 1)", n_seq, n_seq // 10, 64, 20,
                  target={"max_in_flight_per_partition": 1})
        base = res.get("A64", {}).get("eps_after_first")
        ratio = base / r["eps_after_first"] if base else None
        r["ratio"] = ratio
        add("Aseq", r, f"A(64)/A-seq = {fmt(ratio)}x >= 15x",
            ratio is not None and ratio >= 15 and r["order_ok"])
    if "conn" in only:
        r = drain("A, max_connections 8", n // 5, k // 5, 64, 20,
                  target={"max_connections": 8})
        add("conn8", r, "<= 8 connections to the API",
            r["max_conns"] <= 8 and r["order_ok"])
    if "B" in only:
        # The bare loop right before each B run: the ratio compares two
        # measurements under the same load.
        runs = []
        for _ in range(reps):
            curl = curl_scenario(64, CURL_SECONDS)
            print("curlbench c=64:", json.dumps(curl), flush=True)
            r = drain("B", n, k, 64, 0)
            r["bare_rps"] = curl["rps"]
            r["curl"] = curl
            r["ratio"] = r["eps_after_first"] / curl["rps"]
            runs.append(r)
        r = median_run(runs, "ratio")
        r["ratio_runs"] = [x["ratio"] for x in runs]
        r["eps_runs"] = [x["eps_after_first"] for x in runs]
        r["bare_runs"] = [x["bare_rps"] for x in runs]
        res["curl"] = r["curl"]
        add("B", r, f">= {B_GOAL} x the bare loop of the same run: "
            f"{fmt(r['ratio'], 3)} x {r['bare_rps']:.0f}",
            r["ratio"] >= B_GOAL and all(x["order_ok"] for x in runs))
    if "C" in only:
        runs, secs = (1, 20) if q else (REPEAT, 30)
        keys = ("rss_mib", "eps_after_first", "cpu_s_per_1000")
        for n_c, key in ((200000, "C"), (1000000, "C1M")):
            r = repeated([scenario_c(n_c, 10000, secs,
                                     f" ({n_c // 1000}k backlog, defaults)")
                          for _ in range(runs)], keys)
            add(key, r, f"peak RSS {spread_of(r, 'rss_mib')} MiB <= 64",
                r["rss_mib_max"] <= 64 and r["order_ok"])
    if "D" in only:
        cap = 30 if q else 90
        runs = 1 if q else REPEAT
        a64 = res.get("A64", {}).get("eps_after_first")
        goal = 0.8 * a64 if a64 else None
        r = repeated([scenario_d(n, k, 64, cap) for _ in range(runs)],
                     ("other_eps", "hot_eps", "rss_mib", "eps_after_first"))
        add("D", r, f"others {spread_of(r, 'other_eps')} ev/s >= 0.8 x "
            f"A(64) = {fmt(goal)}; peak RSS {spread_of(r, 'rss_mib')} MiB "
            f"<= 128",
            goal is not None and r["other_eps"] >= goal and
            r["rss_mib_max"] <= 128 and r["order_ok"])
    if "E" in only:
        window, lead = (10, 3) if q else (30, 5)
        r = scenario_e(n // 2 if not q else n, k, window, lead)
        add("E", r, "no rebalance, none lost, back <= 5 s",
            r["assigned"] == 3 and r["revoked"] == 0 and
            r["missing"] == 0 and r["failed"] == 0 and r["order_ok"] and
            r["recovered_s"] is not None and r["recovered_s"] <= 5)
    if "Bavro" in only:
        bench_avro(args, n, k, add)
    cap_rows = []
    runs = 1 if q else 3
    for key, fn in (("F", lambda: scenario_f(800 if q else 2000, runs)),
                    ("G", lambda: scenario_g(2000 if q else 4000, runs)),
                    ("Aad", lambda: scenario_aad(n // 5 if q else n,
                                                 k // 5 if q else k, runs))):
        if key in only:
            for r, desc, met in fn():
                add(f"{key}:{r['name']}", r, desc, met)
                cap_rows.append(r)
    cg = None
    if "cg" in only:
        outdir = args.keep or h._Workdir("custsync-cg-").path
        cg = scenario_cg(1000, 3000 if q else 6000, outdir, reps)
        print(json.dumps(cg), flush=True)
    idle = None
    if "idle" in only:
        idle = [scenario_idle(200, 10 if q else 30, 5 if q else 10)
                for _ in range(reps)]
        for x in idle:
            print(json.dumps(x), flush=True)

    print()
    table(rows)
    if "curl" in res:
        c = res["curl"]
        print(f"| curlbench (bare libcurl multi, c=64, {CURL_SECONDS} s) | "
              f"{c['requests']} requests | 64 | 0 | {fmt(c['rps'])} req/s "
              f"| | | | | | | | 64 | | refapi CPU {c['refapi_cpu_s']} s "
              f"in {CURL_SECONDS} s | |")
    print(f"\nmedian (min-max) of {reps} run(s):")
    if "B" in res:
        b = res["B"]
        print(f"  B: {spread(b['eps_runs'])} events/s after the 1st "
              f"outcome; bare loop {spread(b['bare_runs'])} req/s; "
              f"ratio {spread(b['ratio_runs'], 3)} (goal >= {B_GOAL})")
    if "A256" in res:
        a = res["A256"]
        print(f"  A(256): {spread(a['eps_runs'])} events/s after the 1st "
              f"outcome = {spread([e / 12800 for e in a['eps_runs']], 3)}"
              f" x 256 / 20 ms (goal >= {A_GOAL[256]})")
    if idle:
        print(f"  idle: CPU {spread([x['cpu_pct'] for x in idle], 3)} % "
              f"of a core; wake-ups/s of the loop thread "
              f"{spread([x['main_wakeups_per_s'] for x in idle], 2)}, of "
              f"all threads {spread([x['all_wakeups_per_s'] for x in idle], 2)}"
              f"; polls/s of the loop thread (strace) "
              f"{spread([x['loop_polls_per_s'] or 0 for x in idle], 2)}"
              f" (goal: < 0.5 %, loop <= 1/s)")
    if cg and "runs" in cg:
        print(f"  callgrind (0 ms, custsync only, {cg['n_big']} events): "
              f"{spread(cg['ir_per_event_total'], 0)} Ir/event over the "
              f"whole process, {spread(cg['ir_per_event_marginal'], 0)} "
              f"marginal ({cg['n_small']} -> {cg['n_big']} events)")
        print("  inclusive profile of the last run:")
        for line in cg["top"]:
            print("   ", line)
    if cap_rows:
        print()
        capacity_table(cap_rows)
    bad = [r["name"] for r in rows if not r["order_ok"]]
    if bad:
        print(f"per-key order / loss check FAILED in: {bad}")
        for r in rows:
            if r["problems"]:
                print(r["name"], r["problems"])
        return 1
    return 0


def median_run(runs, key):
    """The run whose key is the median (the lower middle one of an even
    count): its row stands for all of them."""
    return sorted(runs, key=lambda r: r[key])[(len(runs) - 1) // 2]


def spread(vals, d=1):
    """'median (min-max)', or the one value."""
    if len(vals) == 1:
        return fmt(vals[0], d)
    return (f"{fmt(statistics.median(vals), d)} "
            f"({fmt(min(vals), d)}-{fmt(max(vals), d)})")


def bench_avro(args, n, k, add):
    """B with JSON and with Avro input, alternated in the same run (median
    of 3, 1 with --quick), then callgrind's instructions per event of
    each."""
    runs = 1 if args.quick else 3
    eps = {"JSON": [], "Avro": []}
    last = {}
    with AvroInput() as av:
        for _ in range(runs):
            for fmt_name, a in (("JSON", None), ("Avro", av)):
                r = drain(f"B ({fmt_name} input)", n, k, 64, 0, avro=a)
                if not r["order_ok"]:
                    raise RuntimeError(f"B {fmt_name}: order/loss broken: "
                                       f"{r['problems']}")
                eps[fmt_name].append(r["eps_after_first"])
                last[fmt_name] = r
        med = {f: statistics.median(v) for f, v in eps.items()}
        rng = {f: f"{min(v):.0f}-{max(v):.0f}" for f, v in eps.items()}
        for f in ("JSON", "Avro"):
            last[f]["eps_runs"] = eps[f]
            add("B" + f.lower(), last[f],
                f"median {med[f]:.0f} ev/s ({rng[f]}), Avro/JSON "
                f"{med['Avro'] / med['JSON']:.2f}x (no target)", True)
        if shutil.which("valgrind"):
            outdir = args.keep or h._Workdir("custsync-cg-").path
            n_small, n_big = 1000, 3000 if args.quick else 6000
            cj = scenario_cg(n_small, n_big, outdir, 1)
            ca = scenario_cg(n_small, n_big, outdir, 1, av)
            print(f"callgrind (0 ms, whole process at {n_big} events): "
                  f"JSON {cj['ir_per_event_total'][0]:.0f} Ir/event "
                  f"(marginal {cj['ir_per_event_marginal'][0]:.0f}), Avro "
                  f"{ca['ir_per_event_total'][0]:.0f} Ir/event (marginal "
                  f"{ca['ir_per_event_marginal'][0]:.0f})", flush=True)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    sys.exit(main())
