"""Throughput benchmark of custsync (issue 3/4, first slice).

    /usr/bin/python3 tests/bench/bench.py [--events N] [--keys K] [--quick]

Binaries come from $CUSTSYNC_BUILD_DIR (default <repo>/build-bench, a
Release build). Each scenario gets a fresh broker + reference API (alvys,
--no-auth), preloads N create events over K keys into the 3-partition
input topic, then starts custsync and measures until every outcome is on
the results topic. See README "Benchmark" for the columns.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("CUSTSYNC_BUILD_DIR", str(_REPO / "build-bench"))
sys.path.insert(0, str(_REPO / "tests" / "integration"))

import harness as h  # noqa: E402

TOPICS = {"erp.customers": 3, "custsync.results": 3,
          "custsync.dead-letter": 1}
INPUT = "erp.customers"
RESULTS = "custsync.results"
GROUP = "custsync-bench"
PRODUCE_BATCH = 5000
# Fetch more per request than the defaults; commit often so the bench
# notices the end sooner (timing itself comes from finished_at).
PROPERTIES = {"fetch.max.bytes": "52428800",
              "max.partition.fetch.bytes": "4194304",
              "auto.commit.interval.ms": "200"}
CURL_SECONDS = 5
CURL_START_ID = 100000000  # curlbench ExternalIds never meet event keys


def events(n, k):
    """n small create events; event i has key K(i % k)."""
    for i in range(n):
        key = f"K{i % k}"
        yield {"key": key,
               "value": {"op": "create", "key": key,
                         "customer": {"name": f"x {i}", "type": "customer",
                                      "external_id": key}}}


def preload(env, n, k):
    batch = []
    for r in events(n, k):
        batch.append(r)
        if len(batch) == PRODUCE_BATCH:
            env.produce(batch, INPUT)
            batch = []
    if batch:
        env.produce(batch, INPUT)


def proc_cpu_s(pid):
    """utime + stime of pid in seconds (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    fields = text[text.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime, stime are fields 14, 15.
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def proc_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def iso_s(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def check_order(outs):
    """Per key, outcomes in ascending source offset, each source once.
    -> list of problems (empty when fine). outs in results-topic order
    per partition (a key's outcomes share one partition)."""
    problems = []
    last = {}
    seen = set()
    for o in outs:
        src = o.get("source") or {}
        where = (src.get("partition"), src.get("offset"))
        if where in seen:
            problems.append(f"duplicate outcome for {where}")
        seen.add(where)
        key = o.get("key")
        prev = last.get(key)
        if prev is not None and (prev[0] != where[0] or
                                 prev[1] >= where[1]):
            problems.append(f"key {key}: {where} after {prev}")
        last[key] = where
    return problems


def selfcheck_order():
    """The order check must be able to fail."""
    a = {"key": "K1", "source": {"partition": 0, "offset": 1}}
    b = {"key": "K1", "source": {"partition": 0, "offset": 2}}
    assert not check_order([a, b])
    assert check_order([b, a]), "order check cannot fail"
    assert check_order([a, a]), "duplicate check cannot fail"


def wait_all_committed(env, n, timeout):
    """Cheap end detection: the group's committed offsets cover n events
    (a committed offset implies its outcome was acknowledged)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
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


def run_curlbench(api, concurrency, seconds):
    out = subprocess.run(
        [str(h.bin_path("curlbench")), "--url", api.base_url,
         "--concurrency", str(concurrency), "--duration", str(seconds),
         "--start", str(CURL_START_ID)],
        capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError(f"curlbench rc={out.returncode}: "
                           f"{out.stderr.strip()} {out.stdout.strip()}")
    return json.loads(out.stdout)


def scenario(name, n, k, max_in_flight, latency_ms, target=None,
             timeout=600):
    """One fresh Env, preload, run custsync to the last outcome."""
    with h.Env(topics=TOPICS, api=dict(no_auth=True)) as env:
        if latency_ms:
            env.api.latency(latency_ms)
        preload(env, n, k)
        w = env.worker(start=False, group=GROUP,
                       max_in_flight=max_in_flight,
                       properties=PROPERTIES, target=target)
        t_start = time.time()
        w.start()
        pid = w.pid
        if not wait_all_committed(env, n, timeout):
            raise RuntimeError(f"{name}: not all {n} events done in "
                               f"{timeout}s:\n{w.tail()}")
        cpu_s = proc_cpu_s(pid)
        hwm = proc_hwm_kib(pid)
        recs = env.wait_for(RESULTS, n, timeout=60)
        inputs = env.consume(INPUT, min_count=n, timeout=30)
        reqs = env.api.requests()
        rc = w.stop()
    ts = {(r["partition"], r["offset"]): r["timestamp"] / 1000.0
          for r in inputs}
    outs = [r["json"] for r in recs]
    statuses = {}
    for o in outs:
        statuses[o["status"]] = statuses.get(o["status"], 0) + 1
    fin = [iso_s(o["finished_at"]) for o in outs]
    lat = sorted((iso_s(o["finished_at"]) -
                  ts[(o["source"]["partition"], o["source"]["offset"])])
                 * 1000.0 for o in outs)
    first, last = min(fin), max(fin)
    problems = check_order(outs)
    return {
        "name": name, "events": n, "keys": k, "mif": max_in_flight,
        "latency_ms": latency_ms, "outcomes": len(outs),
        "eps": len(outs) / (last - t_start),
        "eps_after_first": ((len(outs) - 1) / (last - first)
                            if last > first else float("nan")),
        "first_outcome_s": first - t_start,
        "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99),
        "dur_p50_ms": statistics.median(o["duration_ms"] for o in outs),
        "cpu_s_per_1000": cpu_s / len(outs) * 1000.0,
        "rss_mib": hwm / 1024.0,
        "req_per_event": reqs["total"] / len(outs),
        "statuses": statuses,
        "order_ok": not problems and len(outs) == n,
        "problems": problems[:5],
        "exit": rc,
    }


def curl_scenario(concurrency, seconds):
    with h.RefApi(no_auth=True) as api:
        return run_curlbench(api, concurrency, seconds)


def fmt(v, d=1):
    return "-" if v is None else f"{v:.{d}f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--keys", type=int, default=2000)
    ap.add_argument("--quick", action="store_true",
                    help="4000 events, skip max_in_flight 256")
    args = ap.parse_args()
    n, k = args.events, args.keys
    if args.quick:
        n = min(n, 4000)
        k = min(k, n // 10 or 1)
    # A-seq: a smaller slice with the same events-per-key mix.
    n_seq = 300 if args.quick else 600
    k_seq = max(1, n_seq * k // n)
    selfcheck_order()
    print(f"machine: nproc={os.cpu_count()} cpu={cpu_model()}; "
          f"build={h.BUILD_DIR}", flush=True)

    rows = []
    results = {}

    def add(key, r, target_desc, target_val, value):
        r["target"] = target_desc
        r["met"] = value is not None and value >= target_val
        rows.append(r)
        results[key] = r
        print(json.dumps(r), flush=True)

    r = scenario("A", n, k, 64, 20)
    add("A64", r, f">= {0.85 * 64 / 0.020:.0f} ev/s",
        0.85 * 64 / 0.020, r["eps"])
    if not args.quick:
        r = scenario("A", n, k, 256, 20)
        add("A256", r, f">= {0.85 * 256 / 0.020:.0f} ev/s",
            0.85 * 256 / 0.020, r["eps"])
    r = scenario("A-seq", n_seq, k_seq, 64, 20,
                 target={"max_in_flight_per_partition": 1})
    ratio = results["A64"]["eps"] / r["eps"]
    r["ratio"] = ratio
    add("Aseq", r, f"A(64)/A-seq = {ratio:.1f}x >= 15x", 15, ratio)

    curl = curl_scenario(64, CURL_SECONDS)
    print("curlbench c=64:", json.dumps(curl), flush=True)
    r = scenario("B", n, k, 64, 0)
    r["bare_rps"] = curl["rps"]
    add("B", r, f">= 0.6 x {curl['rps']:.0f} req/s (bare loop) "
        f"= {0.6 * curl['rps']:.0f} ev/s", 0.6 * curl["rps"], r["eps"])

    print()
    print("| scenario | events/keys | max_in_flight | API ms | events/s | "
          "events/s after 1st outcome | 1st outcome s | p50 ms | p99 ms | "
          "duration_ms p50 | CPU s/1000 ev | peak RSS MiB | requests/event "
          "| key order | target | met |")
    print("|" + "---|" * 16)
    for r in rows:
        name = r["name"] + (" (per-partition 1)" if r["name"] == "A-seq"
                            else "")
        print(f"| {name} | {r['events']}/{r['keys']} | {r['mif']} | "
              f"{r['latency_ms']} | {fmt(r['eps'])} | "
              f"{fmt(r['eps_after_first'])} | {fmt(r['first_outcome_s'], 2)}"
              f" | {fmt(r['p50_ms'], 0)} | {fmt(r['p99_ms'], 0)} | "
              f"{fmt(r['dur_p50_ms'], 0)} | {fmt(r['cpu_s_per_1000'], 3)} | "
              f"{fmt(r['rss_mib'])} | {fmt(r['req_per_event'], 2)} | "
              f"{'ok' if r['order_ok'] else 'BROKEN'} | {r['target']} | "
              f"{'yes' if r['met'] else 'no'} |")
    print(f"| curlbench (bare libcurl multi, c=64, {CURL_SECONDS} s) | "
          f"{curl['requests']} requests | 64 | 0 | {fmt(curl['rps'])} "
          f"req/s | | | | | | | | 1 | | API headroom | |")
    bad = [r["name"] for r in rows if not r["order_ok"]]
    if bad:
        print(f"per-key order BROKEN in: {bad}")
        for r in rows:
            if r["problems"]:
                print(r["name"], r["problems"])
        return 1
    return 0


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
