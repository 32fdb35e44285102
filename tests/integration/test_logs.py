"""log.format: every line written whole and well formed, with fields as
JSON members (text: k=v), also while librdkafka floods the log from its
own threads because the broker is down; under journald (JOURNAL_STREAM)
the "<N>" prefix and no timestamp of our own; in JSON, values are members
and never key=value text inside msg."""

import json
import re
import time

import harness as h
from events import CLIENT, OAUTH, customer, native, outcomes

# A key that needs escaping in both formats.
KEY = 'K"1 \\x'

# A value written into the message text instead of a field.
KV_IN_MSG = re.compile(r"\b[a-z_]+=")


def log_yaml(fmt, level="debug"):
    return f"log:\n  level: {level}\n  format: {fmt}\n"


def lines(w):
    return [ln for ln in w.log().splitlines()
            if ln and not ln.startswith("==== harness:")]


def test_json_lines_stay_whole_while_the_broker_is_down():
    with h.Env(api=dict(no_auth=True)) as env:
        # librdkafka's own debug output, from its threads, on top.
        w = env.worker(extra_yaml=log_yaml("json"),
                       properties={"debug": "broker,protocol,cgrp"})
        env.produce([native("create", KEY, customer("Acme"),
                            event_id="ev-1")])
        w.wait_log(r'"msg":"event applied"', timeout=30)
        env.broker.down()
        w.wait_log(r'"msg":"kafka error"', timeout=30)
        time.sleep(2)  # let the reconnect attempts pile up
        env.broker.up()
        recs = []
        for ln in lines(w):
            try:
                r = json.loads(ln)
            except ValueError:
                raise AssertionError(f"not JSON: {ln!r}")
            assert isinstance(r, dict), ln
            assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$",
                            r["ts"]), ln
            assert r["level"] in ("error", "warning", "notice", "info",
                                  "debug"), ln
            recs.append(r)
        rdk = [r for r in recs if r.get("source") == "librdkafka"]
        assert len(rdk) > 100, len(rdk)
        applied = [r for r in recs if r["msg"] == "event applied"]
        assert len(applied) == 1, applied
        a = applied[0]
        assert a["key"] == KEY and a["event_id"] == "ev-1", a
        assert isinstance(a["partition"], int), a
        assert isinstance(a["offset"], int), a
        errs = [r for r in recs if r["msg"] == "kafka error"]
        assert errs and all(r["code"].startswith("_") for r in errs), errs
        # The failure on_error reports is not also logged as an error or
        # warning by librdkafka's log callback.
        loud = [r for r in rdk if r["level"] in ("error", "warning")
                and r["facility"] in ("FAIL", "ERROR")]
        assert not loud, loud[:3]


def test_text_and_journald_forms():
    with h.Env(api=dict(no_auth=True)) as env:
        env.produce([native("create", KEY, customer("Acme"),
                            event_id="ev-2")])
        w = env.worker(extra_yaml=log_yaml("text", "info"), name="text")
        w.wait_log(r"event applied", timeout=30)
        assert w.stop() == 0, w.tail()
        ln = [x for x in lines(w) if "event applied" in x][0]
        assert re.match(r'^\d\d:\d\d:\d\d\.\d{3} info    event applied '
                        r'topic=erp\.customers event_id=ev-2 '
                        r'partition=\d+ offset=0 key="K\\"1 \\\\x" ', ln), ln

        jenv = {"JOURNAL_STREAM": "8:12345"}
        for fmt in ("text", "json"):
            w = env.worker(extra_yaml=log_yaml(fmt, "debug"),
                           name=f"journal-{fmt}", env=jenv,
                           group=f"custsync-journal-{fmt}")
            w.wait_log(r"event unchanged", timeout=30)
            assert w.stop() == 0, w.tail()
            for x in lines(w):
                m = re.match(r"^<([0-7])>(.*)$", x)
                assert m, x
                body = m.group(2)
                if fmt == "json":
                    r = json.loads(body)
                    assert "ts" not in r, x
                    lvl = ["emerg", "alert", "crit", "error", "warning",
                           "notice", "info", "debug"].index(r["level"])
                    assert int(m.group(1)) == lvl, x
                else:
                    assert not re.match(r"^\d\d:\d\d:\d\d", body), x
            ap = [x for x in lines(w) if "event unchanged" in x]
            assert ap and ap[0].startswith("<7>"), ap
            if fmt == "json":
                assert json.loads(ap[0][3:])["key"] == KEY, ap


def test_json_messages_carry_no_key_value_text():
    # Start-up, a token refused then granted, a 503 + Retry-After hold
    # and its probe, and shutdown: the lines with values of their own.
    wrong = dict(CLIENT, secret="not-the-secret")
    with h.Env(api=dict(clients=[wrong])) as env:
        w = env.worker(auth=OAUTH, extra_yaml=log_yaml("json"))
        env.produce([native("create", "L0", customer("l0"))])
        w.wait_log(r'"msg":"token request failed"', timeout=30)
        env.api.set_client(CLIENT["id"], CLIENT["secret"], CLIENT["tenant"],
                           CLIENT["scopes"])
        outcomes(env, 1)
        env.api.disable_writes(seconds=2, retry_after=1, status=503)
        env.produce([native("create", f"L{i}", customer(f"l{i}"))
                     for i in range(1, 4)])
        outcomes(env, 4, timeout=60)
        w.wait_log(r'"msg":"endpoint available again: resuming"')
        assert w.stop() == 0, w.tail()
        recs = [json.loads(ln) for ln in lines(w)]
        msgs = {}  # the first line of each message
        for r in recs:
            msgs.setdefault(r["msg"], r)
        for m in ("custsync running", "token request failed",
                  "token acquired",
                  "endpoint asked to wait: writes wait, partitions paused",
                  "retry-after elapsed: probing", "consumption paused",
                  "endpoint available again: resuming",
                  "stopping: no new events", "stopped"):
            assert m in msgs, (m, w.tail())
        assert msgs["custsync running"]["group"], msgs
        assert msgs["token request failed"]["status"] == 401, msgs
        assert msgs["endpoint asked to wait: writes wait, partitions "
                    "paused"]["retry_after_s"] == 1, msgs
        assert msgs["consumption paused"]["reason"] == "retry-after", msgs
        assert msgs["stopped"]["events"] == 4, msgs
        # librdkafka's own text is passed on as it comes.
        ours = [r for r in recs if r.get("source") != "librdkafka"]
        bad = [r["msg"] for r in ours if KV_IN_MSG.search(r["msg"])]
        assert not bad, bad
        assert CLIENT["secret"] not in w.log()


if __name__ == "__main__":
    h.run_tests(globals())
