"""W3C trace context and input.forward_headers.

A record's traceparent/tracestate and the headers input.forward_headers
names reach the reference API on every request of its event (a create,
and an update's PATCH, re-read and PATCH again after a stale ETag), never
on the token request, and come back as headers of its outcome record; a
malformed event's dead letter keeps them. An invalid traceparent is not
forwarded and takes its tracestate along, and a value a header cannot
carry is dropped, while both events are still applied. A dead letter
replayed hands them on again, to its requests and its new outcome. A
forwarded name custsync sets itself is a config error at its place."""

import re
import tempfile
from pathlib import Path

import harness as h
from events import CLIENT, OAUTH, customer, headers, native, outcomes

DLQ = "custsync.dead-letter"
TP1 = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TP2 = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
TP4 = "01-11111111111111111111111111111111-2222222222222222-01-later"
TP5 = "00-5bf92f3577b34da6a3ce929d0e0e4736-10f067aa0ba902b7-01"
BAD_TP = "00-00000000000000000000000000000000-00f067aa0ba902b7-01"
LOGGED = ("traceparent", "tracestate", "X-Tenant", "X-Other")
FORWARD = "input:\n  forward_headers: [x-tenant]\n"
NO_CREATE = dict(CLIENT, scopes=["customer:read", "customer:update",
                                 "customer:delete"])
API_ARGS = [a for n in LOGGED for a in ("--log-header", n)]


def with_headers(rec, *hdrs):
    return dict(rec, headers=list(hdrs))


def forwarded(rec):
    """The trace and forwarded headers of a Kafka record, lower-cased."""
    return {k.lower(): v for k, v in headers(rec).items()
            if k.lower() in {n.lower() for n in LOGGED}}


def sent(api):
    """correlation id -> [(method, status, {header: value})] of what the
    reference API received for each event; the token requests apart."""
    by_event, token = {}, []
    for r in api.requests()["log"]:
        vals = {n.lower(): v for n, v in r["header_values"]}
        assert len(vals) == len(r["header_values"]), r  # none twice
        assert "x-injected" not in {n.lower() for n in r["header_names"]}
        if r["route"] == "/oauth/token":
            token.append(vals)
        else:
            by_event.setdefault(r["correlation_id"], []).append(
                (r["method"], r["status"], vals))
    return by_event, token


def test_forwarded_to_requests_outcomes_and_dead_letters():
    with h.Env(api=dict(clients=[CLIENT], extra_args=API_ARGS)) as env:
        env.worker(auth=OAUTH, extra_yaml=FORWARD)
        env.produce([with_headers(
            native("create", "T1", customer("Trace 1", "N-T1")),
            ("traceparent", TP1), ("tracestate", "congo=t61rcWkgMzE"),
            ("X-Tenant", "acme"), ("X-Other", "not listed"))])
        first = outcomes(env, 1)[0]
        assert first["status"] == "applied", first
        # A stale ETag: the update is PATCH 412, GET, PATCH.
        env.api.edit(first["target_id"], {"Fax": "999"})
        env.produce([
            with_headers(native("update", "T1", {"name": "Trace 1b"}),
                         ("traceparent", TP2), ("x-tenant", "old"),
                         ("X-TENANT", "acme-2")),
            with_headers(native("create", "T3", customer("Trace 3", "N-T3")),
                         ("traceparent", BAD_TP), ("tracestate", "a=1"),
                         ("X-Tenant", "bad\r\nX-Injected: 1")),
            with_headers({"key": "T4", "value": "{not json"},
                         ("traceparent", TP4), ("tracestate", "b=2"),
                         ("X-Tenant", "acme-4"))])
        recs = env.wait_for("custsync.results", 4)
        outs = {(r["json"]["key"], r["json"]["op"]): r for r in recs}
        assert {k: r["json"]["status"] for k, r in outs.items()} == {
            ("T1", "create"): "applied", ("T1", "update"): "applied",
            ("T3", "create"): "applied", ("T4", None): "failed"}, recs

        one = {"traceparent": TP1, "tracestate": "congo=t61rcWkgMzE",
               "x-tenant": "acme"}
        two = {"traceparent": TP2, "x-tenant": "acme-2"}
        four = {"traceparent": TP4, "tracestate": "b=2", "x-tenant": "acme-4"}
        assert forwarded(outs[("T1", "create")]) == one, recs
        assert forwarded(outs[("T1", "update")]) == two, recs
        assert forwarded(outs[("T3", "create")]) == {}, recs
        assert forwarded(outs[("T4", None)]) == four, recs

        by_ev, token = sent(env.api)
        assert token and all(v == {} for v in token), token
        assert [(m, v) for m, _, v in by_ev["create-T1"]] == \
            [("POST", one)], by_ev
        upd = by_ev["update-T1"]
        assert [(m, s) for m, s, _ in upd] == \
            [("PATCH", 412), ("GET", 200), ("PATCH", 200)], upd
        assert all(v == two for _, _, v in upd), upd
        assert [v for _, _, v in by_ev["create-T3"]] == [{}], by_ev

        # The malformed event's dead letter keeps the record's headers.
        dl = env.wait_for(DLQ, 1)
        assert len(dl) == 1, dl
        assert forwarded(dl[0]) == four, dl
        assert headers(dl[0])["custsync.error.code"] == "invalid_json", dl


def test_replay_hands_them_on_again():
    with h.Env(api=dict(clients=[NO_CREATE], extra_args=API_ARGS)) as env:
        w = env.worker(auth=OAUTH, extra_yaml=FORWARD)
        five = {"traceparent": TP5, "tracestate": "rojo=00f067aa0ba902b7",
                "x-tenant": "acme-5"}
        env.produce([with_headers(
            native("create", "T5", customer("Trace 5", "N-T5")),
            *five.items())])
        live = env.wait_for("custsync.results", 1)[0]
        assert live["json"]["error"]["code"] == "forbidden", live
        assert forwarded(live) == five, live
        dl = env.wait_for(DLQ, 1)[0]
        assert forwarded(dl) == five, dl
        w.stop()
        env.api.set_client(CLIENT["id"], CLIENT["secret"], CLIENT["tenant"],
                           CLIENT["scopes"])
        rc, out, err = w.command("replay")
        assert rc == 0, (out, err)
        recs = env.wait_for("custsync.results", 2)
        again = recs[1]
        assert again["json"]["replay"]["count"] == 1, again
        assert again["json"]["status"] == "applied", again
        assert forwarded(again) == five, again
        by_ev, _ = sent(env.api)
        posts = [(m, s, v) for m, s, v in by_ev["create-T5"]]
        assert posts == [("POST", 403, five), ("POST", 201, five)], posts


def test_own_header_cannot_be_forwarded():
    with tempfile.TemporaryDirectory(prefix="custsync-fwd-") as d:
        text = h.config_text("127.0.0.1:9092", None, extra_yaml=(
            "input:\n"
            "  forward_headers:\n"
            "    - X-Tenant\n"
            "    - If-Match\n"))
        path = Path(d) / "c.yaml"
        path.write_text(text)
        line = text.splitlines().index("    - If-Match") + 1
        for cmd in ("check-config", "run"):
            rc, out, err = h.run_cli([h.bin_path("custsync"), cmd, "-c",
                                      path], timeout=30)
            assert rc == 78, (cmd, rc, out, err)
            assert re.search(
                rf"^{re.escape(str(path))}:{line}:7: "
                r"'input\.forward_headers\[1\]': 'If-Match' is a header "
                r"custsync sets itself", out + err, re.M), out + err


if __name__ == "__main__":
    h.run_tests(globals())
