"""Nothing from event data or config may break an HTTP header.

An event_id carrying CR LF reaches the reference API percent-encoded in
X-Correlation-Id, as one header line (no header of its own appears), on
the alvys profile (POST) and on engage (look-up GET, then POST), while
its outcome keeps the original event_id. A bearer token carrying CR LF,
inline or from its file, is a config error at its FILE:LINE:COL (exit
78), and the token never shows in the output.

Also at the edge: target.max_response_bytes reaches the HTTP layer, and
an answer longer than it is cut (so not read as a whole record)."""

import re
import tempfile
from pathlib import Path

import harness as h
from events import CLIENT, OAUTH, by_event, customer, native, outcomes

INJECTED = "corr-2\r\nX-Injected: 1"
# Every byte but visible ASCII and (inner) spaces, and '%' itself, is
# percent-encoded, so the value is reversible.
IDS = {
    INJECTED: "corr-2%0D%0AX-Injected: 1",
    "caf\u00e9-7": "caf%C3%A9-7",
    "50%-off\t8": "50%25-off%098",
    "plain-9 ok": "plain-9 ok",
}
# What custsync itself sends (curl adds Host, User-Agent and, with a
# body, Content-Length).
EXPECTED = {"host", "user-agent", "accept", "content-type",
            "content-length", "authorization", "x-correlation-id",
            "accept-language"}


def check_requests(api, want_methods):
    log = [r for r in api.requests()["log"] if r["route"] != "/oauth/token"]
    seen = {}
    for r in log:
        names = {n.lower() for n in r["header_names"]}
        assert not r["header_names_cut"], r
        assert "x-injected" not in names, r
        assert names <= EXPECTED, (names - EXPECTED, r)
        assert "authorization" in names, r
        assert r["correlation_id"] in IDS.values(), r
        seen.setdefault(r["correlation_id"], set()).add(r["method"])
    for sent in IDS.values():
        assert want_methods <= seen.get(sent, set()), (sent, seen)


def check_outcomes(outs):
    ev = by_event(outs)
    assert set(ev) == set(IDS), sorted(ev)
    for o in outs:
        assert o["status"] == "applied", o


def test_alvys_event_id_cannot_add_a_header():
    with h.Env(api=dict(clients=[CLIENT])) as env:
        env.worker(auth=OAUTH)
        env.produce([native("create", f"H{i}",
                            customer(f"Hdr {i}", f"N-H{i}"), event_id=eid)
                     for i, eid in enumerate(IDS)])
        check_outcomes(outcomes(env, len(IDS)))
        check_requests(env.api, {"POST"})


def test_engage_event_id_cannot_add_a_header():
    with h.Env(api=dict(clients=[CLIENT], profile="engage")) as env:
        env.worker(auth=OAUTH)
        env.produce([native("create", f"H{i}",
                            {"email": f"h{i}@hdr.test",
                             "contact": {"first_name": "H",
                                         "last_name": f"Dr{i}"}},
                            event_id=eid)
                     for i, eid in enumerate(IDS)])
        check_outcomes(outcomes(env, len(IDS)))
        check_requests(env.api, {"GET", "POST"})


def check_config(d, auth, secret_text):
    text = h.config_text("127.0.0.1:9092", None, auth=auth)
    path = d / "c.yaml"
    path.write_text(text)
    key = "token_file" if "token_file" in auth else "token"
    lines = text.splitlines()
    line = next(i for i, l in enumerate(lines, 1)
                if l.lstrip().startswith(key + ":"))
    col = lines[line - 1].index('"') + 1
    for cmd in ("check-config", "run"):
        rc, out, err = h.run_cli([h.bin_path("custsync"), cmd, "-c",
                                  path], timeout=30)
        text_out = out + err
        assert rc == 78, (cmd, rc, text_out)
        assert re.search(rf"^{re.escape(str(path))}:{line}:{col}: "
                         rf"'target\.auth\.{key}' .*control character",
                         text_out, re.M), text_out
        assert secret_text not in text_out, text_out
        assert "X-Injected" not in text_out, text_out


def test_bearer_token_with_crlf_is_a_config_error():
    with tempfile.TemporaryDirectory(prefix="custsync-headers-") as d:
        check_config(Path(d), {"type": "bearer",
                               "token": "s3cret\r\nX-Injected: 1"},
                     "s3cret")


def test_bearer_token_file_with_crlf_is_a_config_error():
    with tempfile.TemporaryDirectory(prefix="custsync-headers-") as d:
        token = Path(d) / "token"
        token.write_bytes(b"s3cret\r\nX-Injected: 1\n")
        check_config(Path(d), {"type": "bearer", "token_file": str(token)},
                     "s3cret")


def test_max_response_bytes_cuts_long_answers():
    # alvys answers a create with the record: a 6000-byte Fax makes the
    # answer longer than 4096 bytes.
    long_fax = "5" * 6000
    with h.Env(api=dict(no_auth=True)) as env:
        w = env.worker(target={"max_response_bytes": 4096})
        env.produce([native("create", "S1", customer("Short", "N-S1")),
                     native("create", "L1", customer("Long", "N-L1",
                                                     fax=long_fax))])
        ev = by_event(outcomes(env, 2))
        assert ev["create-S1"]["status"] == "applied", ev
        # Cut, the answer is not a record: the event does not pass as
        # applied although the partner made the customer.
        assert ev["create-L1"]["status"] == "failed", ev
        assert {c["Name"] for c in env.api.state()} == {"Short", "Long"}
        assert w.stop() == 0, w.tail()
        # The default (1 MiB) keeps such an answer whole.
        env.worker(group="custsync-default-cap")
        env.produce([native("create", "L2", customer("Long 2", "N-L2",
                                                     fax=long_fax))])
        ev = by_event(outcomes(env, 5))
        assert ev["create-L2"]["status"] == "applied", ev["create-L2"]


if __name__ == "__main__":
    h.run_tests(globals())
