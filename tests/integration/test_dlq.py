"""custsync dlq: the real worker writes dead letters (malformed JSON, an
unknown op, a too-long Name, an update of an unknown key), then `dlq`
lists them: rows, filters, --json against the outcomes, --help, exit
codes, SIGINT, and that reading commits nothing."""

import json
import signal
import subprocess
import time

import harness as h
from events import customer, native, outcomes

BIN = h.bin_path("custsync")
DLQ = "custsync.dead-letter"
# An unknown op of 64 bytes (all of it reaches the message): 65
# characters of message, so the column cut lands among the 2-byte é.
LONG_OP = "x" * 40 + "é" * 12
FLAGS = ("-c", "--config", "--code", "--key", "--since", "--json",
         "--help")


def run_dlq(*args, timeout=60, wait_then=None):
    """custsync dlq ARGS -> (rc, stdout, stderr). wait_then=(s, sig):
    send sig after s seconds."""
    return h.run_cli([BIN, "dlq", *args], timeout=timeout,
                     wait_then=wait_then)


def rows(out):
    """The table -> (header line, [row dicts])."""
    lines = out.splitlines()
    if not lines:
        return None, []
    head = lines[0]
    names = head.split()
    assert names[:9] == ["PART", "OFFSET", "TIME", "KEY", "EVENT_ID",
                         "CODE", "HTTP", "ATT", "RPL"], head
    assert names[9] == "MESSAGE", head
    out_rows = []
    for line in lines[1:]:
        cells = line.split(None, 9)
        r = dict(zip(names, cells))
        r["line"] = line
        out_rows.append(r)
    return head, out_rows


def failing_stream():
    return [
        native("create", "K7", customer("Delta", "N-7")),
        {"key": "KB", "value": b'{"event_id": "bad-1", "op": "create"'},
        {"key": "KU", "value": {"event_id": "op-1", "op": LONG_OP,
                                "key": "KU", "customer": {"name": "x"}}},
        native("create", "K6", customer("N" * 201)),
        native("update", "K405", {"name": "Nobody"}),
    ]


EXPECTED = {"KB": "invalid_json", "KU": "unknown_op", "K6": "validation",
            "K405": "not_found"}


def setup_dead_letters(env):
    """Runs the worker over the failing stream and stops it -> (worker,
    failed outcomes by key, dead-letter records by key)."""
    w = env.worker()
    env.produce(failing_stream())
    outs = outcomes(env, 5)
    assert w.stop() == 0, w.tail()
    failed = {o["key"]: o for o in outs if o["status"] == "failed"}
    assert {k: o["error"]["code"] for k, o in failed.items()} == \
        EXPECTED, failed
    dls = env.wait_for(DLQ, 4)
    return w, failed, {r["key"]: r for r in dls}


def test_list_filter_json_and_no_commit():
    with h.Env(api=dict(no_auth=True)) as env:
        w, failed, dls = setup_dead_letters(env)
        # A record that is no dead letter: warned about, passed over.
        env.produce(DLQ, [{"key": "X", "value": "hello"}])
        foreign_offset = max(r["offset"] for r in dls.values()) + 1
        main_before = env.committed()
        cfg = str(w.config_path)

        rc, out, err = run_dlq("-c", cfg)
        assert rc == 0, (rc, out, err)
        head, rs = rows(out)
        assert {r["KEY"]: r["CODE"] for r in rs} == EXPECTED, out
        assert len(rs) == 4, out
        assert "4 dead letters shown, 5 read" in err, err
        assert f"partition 0 offset {foreign_offset} is not a custsync " \
               f"dead letter" in err, err
        # Aligned: every column of every row starts under its header,
        # up to the (variable-width) columns after KEY and EVENT_ID.
        for col in ("OFFSET", "TIME", "KEY", "EVENT_ID", "CODE"):
            at = head.index(col)
            for r in rs:
                assert r["line"][at - 1] == " " and \
                    r["line"][at] != " ", (col, head, r["line"])
        for r in rs:
            dl = dls[r["KEY"]]
            assert int(r["PART"]) == dl["partition"], r
            assert int(r["OFFSET"]) == dl["offset"], r
            assert r["TIME"].endswith("Z") and len(r["TIME"]) == 24, r
            assert r["HTTP"] == "-", r
            assert r["ATT"] == "0" or r["KEY"] == "K405", r
            assert r["RPL"] == "0", r
            assert "\n" not in r["MESSAGE"], r
            assert len(r["MESSAGE"]) <= 60, r
        by = {r["KEY"]: r for r in rs}
        # No readable event_id in a value cut short; the unknown op has.
        assert by["KB"]["EVENT_ID"] == "-", by["KB"]
        assert by["KU"]["EVENT_ID"] == "op-1", by["KU"]
        assert by["K6"]["MESSAGE"].startswith("Name is 201 characters"), \
            by["K6"]
        # The unknown op's message is longer than the column: cut on a
        # character boundary (stdout decoded strictly as UTF-8 above).
        ku = by["KU"]["MESSAGE"]
        assert ku == f"unknown op '{LONG_OP}'"[:57] + "...", ku

        rc, out, _ = run_dlq("-c", cfg, "--code", "validation")
        assert rc == 0 and [r["KEY"] for r in rows(out)[1]] == ["K6"], out
        rc, out, _ = run_dlq("-c", cfg, "--key", "KB")
        assert rc == 0 and [r["CODE"] for r in rows(out)[1]] == \
            ["invalid_json"], out
        rc, out, _ = run_dlq("-c", cfg, "--key", "KB", "--code",
                             "validation")
        assert rc == 0 and rows(out)[1] == [], out
        rc, out, err = run_dlq("-c", cfg, "--since", "2099-01-01")
        assert rc == 0 and rows(out)[1] == [], out
        assert "0 dead letters shown" in err, err
        for since in ("1h", "2020-01-01T00:00:00Z"):
            rc, out, err = run_dlq("-c", cfg, "--since", since)
            assert rc == 0 and len(rows(out)[1]) == 4, (since, out, err)

        rc, out, err = run_dlq("-c", cfg, "--json")
        assert rc == 0, err
        objs = [json.loads(line) for line in out.splitlines()]
        assert len(objs) == 4, out
        for o in objs:
            src = failed[o["key"]]
            dl = dls[o["key"]]
            assert o["code"] == src["error"]["code"], (o, src)
            assert o["message"] == src["error"]["message"], (o, src)
            assert o["http_status"] is None, o
            assert o["attempts"] == src["attempts"], (o, src)
            assert o["source"] == src["source"], (o, src)
            assert o["event_id"] == (src["event_id"] or ""), (o, src)
            assert o["failed_at"] == src["finished_at"], (o, src)
            assert (o["partition"], o["offset"]) == \
                (dl["partition"], dl["offset"]), (o, dl)
            assert o["replay_count"] == 0, o
        ku = [o for o in objs if o["key"] == "KU"][0]
        assert ku["message"] == f"unknown op '{LONG_OP}'", ku  # in full

        # Reading committed nothing, for no group.
        assert env.committed() == main_before
        for group in ("custsync-test", "custsync-test.replay"):
            assert set(env.committed(group, DLQ).values()) == {-1001}, \
                group


def test_help_usage_and_errors():
    rc, out, _ = run_dlq("--help")
    assert rc == 0, out
    for flag in FLAGS:
        assert flag in out, (flag, out)
    for args in ([], ["-c"], ["-c", "x.yaml", "extra"],
                 ["-c", "x.yaml", "--since", "soon"],
                 ["-c", "x.yaml", "--code", ""],
                 ["-c", "x.yaml", "--bogus"]):
        rc, out, err = run_dlq(*args)
        assert rc == 64, (args, rc, out, err)
    rc, out, err = run_dlq("-c", "/nonexistent/custsync.yaml")
    assert rc == 78, (rc, err)
    # The main usage names the command.
    p = subprocess.run([BIN, "--help"], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0 and "dlq -c FILE" in p.stdout, p.stdout


def test_unreadable_topic_exits_69():
    with h.Env(api=False) as env:
        w = env.worker(start=False, dlq="no.such.topic")
        t0 = time.monotonic()
        rc, out, err = run_dlq("-c", str(w.config_path))
        assert rc == 69, (rc, out, err)
        assert "no.such.topic" in err and "does not exist" in err, err
        assert time.monotonic() - t0 < 8, "a missing topic is no wait"
        assert out == "", out
        w = env.worker(start=False, name="unreachable",
                       config=h.config_text("127.0.0.1:9", None))
        rc, out, err = run_dlq("-c", str(w.config_path), timeout=40)
        assert rc == 69, (rc, out, err)
        assert "custsync dlq:" in err, err


def test_sigint_stops_cleanly():
    with h.Env(api=False) as env:
        env.produce(DLQ, [{"key": f"K{i}", "value": "{}",
                           "headers": [["custsync.error.code", "internal"]]}
                          for i in range(3)])
        w = env.worker(start=False)
        # Every broker answer takes a second: the scan cannot finish
        # before the signal comes.
        env.broker.rtt(1, 1000)
        t0 = time.monotonic()
        rc, out, err = run_dlq("-c", str(w.config_path), timeout=30,
                               wait_then=(1.5, signal.SIGINT))
        took = time.monotonic() - t0
        env.broker.rtt(1, 0)
        assert rc == 0, (rc, out, err)
        assert "(interrupted)" in err, err
        assert took < 15, took
        rc, out, err = run_dlq("-c", str(w.config_path))
        assert rc == 0 and len(rows(out)[1]) == 3, (out, err)
        assert "(interrupted)" not in err, err


def test_dead_letter_that_cannot_be_produced_stops_cleanly():
    """A dead letter the producer refuses at once (larger than its
    message.max.bytes) stops the worker with exit 70 and leaks nothing:
    its headers are freed when kafka_produce does not take them (the
    sanitizer build of the suite fails on a leak)."""
    with h.Env(api=dict(no_auth=True)) as env:
        w = env.worker(properties={"message.max.bytes": "20000"})
        env.produce([{"key": "BIG", "value": "{" + "x" * 40000,
                      "headers": [["trace", "t-1"]]}])
        h.wait_until(lambda: not w.alive(), timeout=30,
                     what="the worker stopping on the refused dead letter")
        log = w.log()
        assert w.returncode == 70, (w.returncode, w.tail())
        assert "cannot produce a dead letter" in log, w.tail()
        assert "LeakSanitizer" not in log, w.tail()


if __name__ == "__main__":
    h.run_tests(globals())
