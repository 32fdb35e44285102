"""Self-check of the integration harness: mockbroker, kafkatool, refapi
and harness.py, without the daemon (a stand-in script plays custsync).

    CUSTSYNC_BUILD_DIR=build /usr/bin/python3 \
        tests/integration/test_harness_selfcheck.py [test_name...]
"""

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness as h  # noqa: E402

TOPIC = "selfcheck.records"


def _gone(pid):
    """True once pid no longer exists (or is a zombie nobody reaps)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True


def test_roundtrip():
    records = [
        {"key": "k-plain", "value": "hello"},
        {"key": "k-json", "value": {"a": 1, "s": "d\u00e9j\u00e0 vu"},
         "headers": [("trace-id", "abc-123"), ("empty", ""),
                     ("nullh", None), ("trace-id", "second")]},
        {"key": "k-binary", "value": b"\x00\x01\xfe\xff\x80"},
        {"key": "k-tombstone", "value": None},
        {"key": "k-pinned", "value": "", "partition": 2},
    ]
    with h.Broker({TOPIC: 3, "selfcheck.empty": 1}) as broker:
        assert broker.bootstrap.startswith("127.0.0.1:"), broker.bootstrap
        assert h.produce(broker.bootstrap, TOPIC, records) == 5

        got = h.consume(broker.bootstrap, TOPIC, min_count=5)
        assert len(got) == 5, got
        by_key = {r["key"]: r for r in got}
        assert set(by_key) == {r["key"] for r in records}, by_key

        r = by_key["k-plain"]
        assert r["value"] == "hello" and r["value_bytes"] == b"hello", r
        assert r["headers"] == [] and r["topic"] == TOPIC, r
        assert isinstance(r["timestamp"], int) and r["timestamp"] > 0, r

        r = by_key["k-json"]
        assert r["json"] == {"a": 1, "s": "d\u00e9j\u00e0 vu"}, r
        # Order, duplicates, empty and null values all survive.
        assert r["headers"] == [["trace-id", "abc-123"], ["empty", ""],
                                ["nullh", None], ["trace-id", "second"]], r

        r = by_key["k-binary"]
        assert r["value"] is None and "value_b64" in r, r
        assert r["value_bytes"] == b"\x00\x01\xfe\xff\x80", r
        assert "json" not in r, r

        r = by_key["k-tombstone"]
        assert r["value"] is None and r["value_bytes"] is None, r
        assert "value_b64" not in r, r

        # An empty value is not a tombstone.
        r = by_key["k-pinned"]
        assert r["partition"] == 2 and r["value"] == "", r
        assert r["value_bytes"] == b"", r

        # Unpinned keys land where the Java client would put them.
        for k in ("k-plain", "k-json", "k-binary", "k-tombstone"):
            assert by_key[k]["partition"] == h.partition_for(k, 3), \
                (k, by_key[k]["partition"])

        # Offsets are per partition, from 0, in produce order.
        for p in range(3):
            offs = [x["offset"] for x in got if x["partition"] == p]
            assert offs == list(range(len(offs))), (p, offs)

        # An empty topic reads back at once.
        h.produce(broker.bootstrap, "selfcheck.empty", [])
        t0 = time.monotonic()
        assert h.consume(broker.bootstrap, "selfcheck.empty") == []
        assert time.monotonic() - t0 < 5, "empty topic read was slow"

        assert h.committed(broker.bootstrap, "no-such-group", TOPIC) == \
            {0: -1001, 1: -1001, 2: -1001}

        # Null and empty keys stay apart.
        more = [{"key": None, "value": "nullkey"},
                {"key": "", "value": "emptykey"}]
        h.produce(broker.bootstrap, TOPIC, more)
        got = h.wait_for(broker.bootstrap, TOPIC, 7, timeout=20)
        vals = {r["value"]: r["key"] for r in got}
        assert vals["nullkey"] is None and vals["emptykey"] == "", vals
        pid = broker.proc.pid
    assert _gone(pid), "mockbroker still running after its context"


def test_wait_for_reports_what_it_saw():
    with h.Broker({TOPIC: 1}) as broker:
        h.produce(broker.bootstrap, TOPIC, [{"key": "only", "value": "1"}])
        t0 = time.monotonic()
        try:
            h.wait_for(broker.bootstrap, TOPIC, 2, timeout=1.5)
        except AssertionError as e:
            msg = str(e)
        else:
            raise AssertionError("wait_for did not time out")
        took = time.monotonic() - t0
        assert "saw 1" in msg and "key='only'" in msg, msg
        assert took < 8, f"wait_for(timeout=1.5) took {took:.1f}s"


def test_produce_rejects_bad_input():
    with h.Broker({TOPIC: 1}) as broker:
        try:
            h.produce(broker.bootstrap, TOPIC,
                      [{"key": "x", "value": "v", "partition": 5}])
        except RuntimeError as e:
            assert "produce" in str(e), e
        else:
            raise AssertionError("produce to partition 5 of 1 succeeded")
        try:
            h.consume(broker.bootstrap, "selfcheck.no-such-topic",
                      timeout=1)
        except RuntimeError as e:
            assert "does not exist" in str(e), e
        else:
            raise AssertionError("consume of a missing topic succeeded")


def test_broker_commands():
    with h.Broker({TOPIC: 2}, brokers=2) as broker:
        assert len(broker.bootstrap.split(",")) == 2, broker.bootstrap
        broker.create_topic("selfcheck.late", 2)
        reply = broker.command("topic selfcheck.late 2", check=False)
        assert reply.startswith("ERR") and "exists" in reply, reply
        assert broker.command("down 7", check=False).startswith("ERR")
        assert broker.command("nonsense", check=False).startswith("ERR")
        assert broker.rtt(1, 0) == "OK"
        assert broker.rtt("all", 0) == "OK"

        h.produce(broker.bootstrap, "selfcheck.late",
                  [{"key": f"k{i}", "value": str(i)} for i in range(6)])
        assert len(h.consume(broker.bootstrap, "selfcheck.late", 6)) == 6

        # With every broker down nothing answers; back up, it all works.
        broker.down("all")
        try:
            h.consume(broker.bootstrap, "selfcheck.late", timeout=0.5)
        except RuntimeError:
            pass
        else:
            raise AssertionError("consume worked with all brokers down")
        broker.up("all")
        h.produce(broker.bootstrap, "selfcheck.late",
                  [{"key": "after", "value": "up"}])
        got = h.wait_for(broker.bootstrap, "selfcheck.late", 7, timeout=30)
        assert got[-1]["value"] in {r["value"] for r in got}

        # Fault injection: the next Produce fails with a retriable error
        # (6 = NOT_LEADER_FOR_PARTITION) and the producer retries.
        broker.push_errors(0, 6)
        h.produce(broker.bootstrap, TOPIC, [{"key": "r", "value": "x"}])
        assert len(h.consume(broker.bootstrap, TOPIC, 1)) == 1

        # EOF on stdin does not stop the broker.
        broker.proc.stdin.close()
        time.sleep(0.3)
        assert broker.alive(), "mockbroker exited on stdin EOF"
        assert broker.stop() == 0


def test_env_without_api():
    topics = {"erp.customers": 3, "custsync.results": 1}
    with h.Env(topics=topics, api=False) as env:
        assert env.api is None
        env.produce([{"key": "c1", "value": {"id": "c1"}},
                     {"key": "c2", "value": {"id": "c2"}}])
        got = env.wait_for("erp.customers", 2, timeout=20)
        assert sorted(r["json"]["id"] for r in got) == ["c1", "c2"], got
        assert env.consume("custsync.results") == []
        assert env.committed() == {0: -1001, 1: -1001, 2: -1001}
        text = env.config()
        assert f'brokers: "{env.bootstrap}"' in text, text
        pid, workdir = env.broker.proc.pid, env.dir.path
    assert _gone(pid), "Env left mockbroker running"
    assert not workdir.exists() or os.environ.get("CUSTSYNC_KEEP_TMP"), \
        f"Env left {workdir} behind"


_FAKE_DAEMON = """#!/usr/bin/python3
# Stands in for custsync: the harness's process handling, not the daemon.
import os, signal, sys, time
cmd, cfg = sys.argv[1], sys.argv[3]
if cmd == "check-config":
    print("configuration OK" if os.path.getsize(cfg) else cfg + ": empty")
    sys.exit(0 if os.path.getsize(cfg) else 1)
if os.environ.get("FAKE_IGNORE_TERM"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
else:
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(
        print("stopping", flush=True)))
print("running with", cfg, "mode", oct(os.stat(cfg).st_mode & 0o777),
      flush=True)
print("NOTIFY_SOCKET" in os.environ, "to stderr", file=sys.stderr,
      flush=True)
while True:
    time.sleep(0.05)
"""


def test_worker_process_handling():
    with h.Env(topics={"erp.customers": 1}, api=False) as env:
        fake = env.dir.path / "fake-custsync"
        fake.write_text(_FAKE_DAEMON)
        fake.chmod(0o755)

        w = env.worker(binary=fake, env={"NOTIFY_SOCKET": "/nonexistent"})
        w.wait_log(r"running with \S+worker\d+\.yaml mode 0o600", 10)
        w.wait_log(r"True to stderr", 10)
        assert w.alive() and w.returncode is None
        assert w.check_config() == (0, "configuration OK\n")
        assert w.stop() == 0 and not w.alive()
        assert "stopping" in w.log(), w.log()

        # Restart appends to the same log; kill is SIGKILL.
        w.start()
        w.wait_log("running with", 10, count=2)
        assert w.kill() == -signal.SIGKILL
        assert w.log().count("==== harness: start #") == 2, w.log()

        # A worker that ignores SIGTERM fails stop() and is killed.
        stuck = env.worker(binary=fake, env={"FAKE_IGNORE_TERM": "1"})
        stuck.wait_log("running with", 10)
        t0 = time.monotonic()
        try:
            stuck.stop(timeout=0.5)
        except AssertionError as e:
            assert "did not exit" in str(e), e
        else:
            raise AssertionError("stop() of a stuck worker succeeded")
        assert not stuck.alive() and time.monotonic() - t0 < 5

        # A worker still running when the Env ends is stopped by it.
        left = env.worker(binary=fake)
        left.wait_log("running with", 10)
        w.write_config("")
        assert w.check_config()[0] == 1
    assert _gone(left.pid), "Env left a worker running"


def test_refapi():
    with h.RefApi(no_auth=True) as api:
        assert api.url == f"http://127.0.0.1:{api.port}", api.url
        assert api.base_url == api.url + "/api/p/v1.0"
        assert api.token_url == api.url + "/oauth/token"
        seeded = api.seed({"Name": "Acme Logistics", "Type": "Customer",
                           "CompanyNumber": "ACME-1",
                           "ExternalId": "erp-1"})
        state = api.state()
        assert len(state) == 1, state
        c = state[0]
        assert c["Name"] == "Acme Logistics" and c["ExternalId"] == "erp-1"
        assert c["Id"] == seeded["Id"], (c, seeded)

        # The raw helper reads it back the way the daemon would.
        status, hdrs, body = api.api("GET", f"customers/{c['Id']}")
        assert status == 200 and body["CompanyNumber"] == "ACME-1", body
        assert hdrs.get("ETag"), dict(hdrs)
        assert api.requests()["total"] >= 1
        api.reset()
        assert api.state() == []
        pid = api.proc.pid
    assert _gone(pid), "refapi still running after its context"

    client = {"id": "it", "secret": "s3cret", "tenant": "acme",
              "scopes": ["customer:read"]}
    with h.Env(topics={"erp.customers": 1}, api=dict(clients=[client])) \
            as env:
        token = env.api.token("it", "s3cret", ["customer:read"])
        status, _, _ = env.api.api("GET", "customers/c-999999", token=token)
        assert status == 404, status
        status, _, _ = env.api.api("GET", "customers/c-999999")
        assert status == 401, status
        text = env.config(auth={"client_id": "it", "client_secret": "s3cret",
                                "scopes": ["customer:read"]})
        assert f'token_url: "{env.api.token_url}"' in text, text


def test_config_text():
    text = h.config_text(
        "127.0.0.1:1", "http://127.0.0.1:2/api/p/v1.0",
        auth={"client_id": "c", "client_secret": "s",
              "token_url": "http://127.0.0.1:2/oauth/token",
              "scopes": ["customer:read", "customer:create"]},
        properties={"heartbeat.interval.ms": None, "fetch.wait.max.ms": 10},
        retry={"max_backoff_ms": 500}, extra_yaml="log:\n  level: debug\n")
    expect = textwrap.dedent("""\
        kafka:
          brokers: "127.0.0.1:1"
          group_id: "custsync-test"
          topics: ["erp.customers"]
          results_topic: "custsync.results"
          dead_letter_topic: "custsync.dead-letter"
          properties:
            "session.timeout.ms": "6000"
            "fetch.wait.max.ms": "10"
        target:
          profile: "alvys"
          base_url: "http://127.0.0.1:2/api/p/v1.0"
          auth:
            type: "oauth2_client_credentials"
            client_id: "c"
            client_secret: "s"
            token_url: "http://127.0.0.1:2/oauth/token"
            scopes: ["customer:read", "customer:create"]
          timeout_ms: 10000
          max_in_flight: 16
        retry:
          initial_backoff_ms: 50
          max_backoff_ms: 500
          max_retry_after_s: 3600
        log:
          level: debug
        """)
    assert text == expect, text
    assert "    type: none\n" in h.config_text("b:1", "http://x")


_CHILD = """
import sys, time
sys.path.insert(0, {dir!r})
import harness as h
b = h.Broker({{"t": 1}}).start()
print(b.proc.pid, flush=True)
time.sleep(60)
"""


def _child_broker_pid(sig):
    """Runs a harness in a child python, kills it with sig -> the pid of
    the mockbroker it had started."""
    code = _CHILD.format(dir=str(Path(__file__).resolve().parent))
    # A harness killed with SIGKILL cannot remove its temporary
    # directories: give it one of ours.
    with tempfile.TemporaryDirectory(prefix="custsync-selfcheck-") as tmp:
        child = h.spawn([sys.executable, "-c", code],
                        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                        env=dict(os.environ, TMPDIR=tmp))
        reader = h._LineReader(child.stdout)
        try:
            line = reader.get(timeout=20)
            assert line and line.isdigit(), line
            os.kill(child.pid, sig)
            child.wait(timeout=15)
        finally:
            h.terminate(child)
            reader.close()
    return int(line)


def test_scripts_define_each_name_once():
    """A second top-level def of a name replaces the first without a
    word: the benchmark lost its C table that way once, its F/G table
    another time. Python reports neither, so this does."""
    import ast
    import collections
    root = Path(__file__).resolve().parents[1]
    scripts = sorted(root.glob("bench/*.py")) + \
        sorted(root.glob("integration/*.py"))
    assert len(scripts) > 5, scripts
    for path in scripts:
        tree = ast.parse(path.read_text(), str(path))
        names = collections.Counter(
            n.name for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.ClassDef)))
        twice = sorted(k for k, v in names.items() if v > 1)
        assert not twice, f"{path.name} defines {twice} more than once"


def test_no_processes_left_behind():
    # SIGTERM: the harness's handler stops its children.
    pid = _child_broker_pid(signal.SIGTERM)
    h.wait_until(lambda: _gone(pid), 10, what="mockbroker to go (SIGTERM)")
    # SIGKILL: no handler runs; PR_SET_PDEATHSIG does the job.
    pid = _child_broker_pid(signal.SIGKILL)
    h.wait_until(lambda: _gone(pid), 10, what="mockbroker to go (SIGKILL)")


if __name__ == "__main__":
    h.run_tests(globals())
