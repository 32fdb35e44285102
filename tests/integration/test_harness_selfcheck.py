"""Self-check of the integration harness: mockbroker, kafkatool and
harness.py, without the daemon.

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


def test_no_processes_left_behind():
    # SIGTERM: the harness's handler stops its children.
    pid = _child_broker_pid(signal.SIGTERM)
    h.wait_until(lambda: _gone(pid), 10, what="mockbroker to go (SIGTERM)")
    # SIGKILL: no handler runs; PR_SET_PDEATHSIG does the job.
    pid = _child_broker_pid(signal.SIGKILL)
    h.wait_until(lambda: _gone(pid), 10, what="mockbroker to go (SIGKILL)")


if __name__ == "__main__":
    h.run_tests(globals())
