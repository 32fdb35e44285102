"""custsync replay: dead letters back through the sync path, with the
stale-event guard, --force, --dry-run, filters that pass dead letters over
without consuming them, and a SIGTERM in the middle."""

import signal
import subprocess
import time

import harness as h
from events import (CLIENT, OAUTH, by_external_id, counts, customer,
                    headers, native, outcomes, validate)

RESULTS = "custsync.results"
DLQ = "custsync.dead-letter"
NO_CREATE = dict(CLIENT, scopes=["customer:read", "customer:update",
                                 "customer:delete"])
NO_UPDATE = dict(CLIENT, scopes=["customer:read", "customer:create",
                                 "customer:delete"])
WRITES = ("POST", "PATCH", "PUT", "DELETE")


def grant_all(env):
    env.api.set_client(CLIENT["id"], CLIENT["secret"], CLIENT["tenant"],
                       CLIENT["scopes"])


def replay(w, *args, timeout=120):
    """custsync replay ARGS -c <the worker's config> -> stdout."""
    rc, out, err = w.command("replay", *args, timeout=timeout)
    assert rc == 0, f"replay {args} rc={rc}\n{out}\n{err}"
    return out


def summary(out):
    lines = [ln for ln in out.splitlines() if "dead letters replayed" in ln]
    assert len(lines) == 1, out
    return lines[0]


def writes(api):
    return sum(counts(api, m) for m in WRITES) - counts(api, "POST",
                                                        "/oauth/token")


def replayed(outs):
    return [o for o in outs if o.get("replay")]


def failing_run(env, events, limited, n):
    """A worker whose client lacks a scope: n outcomes, then stopped."""
    w = env.worker(auth=OAUTH, name="live")
    env.produce(events)
    outs = outcomes(env, n)
    w.stop()
    return w, outs


def test_scope_granted_then_replay_applies_all_and_a_second_finds_nothing():
    with h.Env(api=dict(clients=[NO_CREATE])) as env:
        evs = [native("create", f"S{i}", customer(f"s{i}", f"N-{i}"))
               for i in range(6)]
        w, outs = failing_run(env, evs, NO_CREATE, 6)
        assert all(o["error"]["code"] == "forbidden" for o in outs), outs
        dls = env.wait_for(DLQ, 6)
        grant_all(env)

        out = replay(w)
        assert "6 dead letters replayed (applied 6, unchanged 0" in \
            summary(out), out
        outs = outcomes(env, 12)
        validate(outs)
        again = replayed(outs)
        assert len(again) == 6, again
        pos = {(r["partition"], r["offset"]) for r in dls}
        assert {(o["replay"]["dead_letter"]["partition"],
                 o["replay"]["dead_letter"]["offset"]) for o in again} == pos
        for o in again:
            assert (o["status"], o["action"]) == ("applied", "create"), o
            assert o["replay"]["count"] == 1, o
            assert o["source"]["topic"] == "erp.customers", o
            assert o["event_id"] == f"create-{o['key']}", o
        assert set(by_external_id(env.api)) == {f"S{i}" for i in range(6)}
        assert len(env.consume(DLQ, 6, timeout=2)) == 6  # none failed again

        before = env.api.requests()["total"]
        out = replay(w)
        assert "0 dead letters replayed" in summary(out), out
        time.sleep(1)
        assert len(env.consume(RESULTS, 12, timeout=2)) == 12
        assert env.api.requests()["total"] == before


def stale_setup(env):
    """K1's name update is dead-lettered (no update scope), then a newer
    update of K1 is applied once the scope is granted."""
    w = env.worker(auth=OAUTH, name="live")
    env.produce([native("create", "K1", customer("One", "N-1")),
                 native("update", "K1", {"name": "Old"}, event_id="old")])
    outs = outcomes(env, 2)
    assert outs[1]["error"]["code"] == "forbidden", outs
    w.stop()
    grant_all(env)
    w.start()
    env.produce([native("update", "K1", {"name": "New"}, event_id="new")])
    outs = outcomes(env, 3)
    assert outs[2]["status"] == "applied", outs
    w.stop()
    assert by_external_id(env.api)["K1"]["Name"] == "New"
    return w


def test_stale_dead_letter_is_skipped_and_force_applies_it():
    with h.Env(api=dict(clients=[NO_UPDATE])) as env:
        w = stale_setup(env)
        out = replay(w)
        assert "of which stale 1" in summary(out), out
        assert "stale, not replayed" in out, out
        outs = outcomes(env, 4)
        validate(outs)
        s = outs[3]
        assert (s["status"], s["action"]) == ("skipped", "none"), s
        assert s["error"]["code"] == "stale", s
        assert s["event_id"] == "old" and s["replay"]["count"] == 1, s
        assert by_external_id(env.api)["K1"]["Name"] == "New"

        # Stale is reported, not consumed: a later replay sees it again,
        # and --force applies it.
        out = replay(w, "--force")
        assert "1 dead letters replayed (applied 1" in summary(out), out
        outs = outcomes(env, 5)
        validate(outs)
        assert (outs[4]["status"], outs[4]["event_id"]) == ("applied",
                                                           "old"), outs[4]
        assert by_external_id(env.api)["K1"]["Name"] == "Old"
        out = replay(w)
        assert "0 dead letters replayed" in summary(out), out


def test_dry_run_writes_nothing():
    with h.Env(api=dict(clients=[NO_CREATE])) as env:
        evs = [native("create", f"D{i}", customer(f"d{i}", f"N-{i}"))
               for i in range(3)]
        w, _ = failing_run(env, evs, NO_CREATE, 3)
        env.wait_for(DLQ, 3)
        grant_all(env)
        writes_before = writes(env.api)
        state_before = env.api.state()

        out = replay(w, "--dry-run")
        assert "dry run done: 3 dead letters replayed (would write 3" in \
            summary(out), out
        assert out.count("would create: POST ") == 3, out
        assert '"Name":"d0"' in out or '"Name": "d0"' in out, out
        assert writes(env.api) == writes_before
        assert env.api.state() == state_before
        time.sleep(1)
        assert len(env.consume(RESULTS, 3, timeout=2)) == 3
        assert len(env.consume(DLQ, 3, timeout=2)) == 3
        c = env.committed(group="custsync-test.replay", topic=DLQ)
        assert all(off < 0 for off in c.values()), c

        # Nothing was consumed: the real replay still finds all three.
        out = replay(w)
        assert "3 dead letters replayed (applied 3" in summary(out), out


def test_filters_pass_over_and_failures_go_back_with_a_count():
    with h.Env(api=dict(clients=[NO_CREATE])) as env:
        evs = [native("create", "F1", customer("f1", "N-1")),
               native("create", "F2", customer("N" * 201, "N-2")),
               native("create", "F3", customer("f3", "N-3"))]
        w, outs = failing_run(env, evs, NO_CREATE, 3)
        codes = {o["key"]: o["error"]["code"] for o in outs}
        assert codes == {"F1": "forbidden", "F2": "validation",
                         "F3": "forbidden"}, codes
        grant_all(env)

        out = replay(w, "--code", "forbidden", "--key", "F3")
        assert "1 dead letters replayed (applied 1" in summary(out), out
        assert "2 passed over" in summary(out), out
        # Passed over, not consumed: the next replay sees F1 and F2.
        out = replay(w, "--code", "forbidden")
        assert "1 dead letters replayed (applied 1" in summary(out), out
        out = replay(w)
        assert "1 dead letters replayed (applied 0, unchanged 0, " \
               "skipped 0 of which stale 0, failed 1)" in summary(out), out
        outs = outcomes(env, 6)
        validate(outs)
        f2 = outs[5]
        assert f2["key"] == "F2" and f2["replay"]["count"] == 1, f2
        dls = env.wait_for(DLQ, 4)
        hs = dls[3]["headers"]
        assert headers(dls[3])["custsync.replay.count"] == "1", hs
        # The last occurrence of each custsync.* header is the current one.
        assert [k for k, _ in hs].count("custsync.error.code") == 2, hs
        out = replay(w)
        assert "failed 1" in summary(out), out
        dls = env.wait_for(DLQ, 5)
        assert headers(dls[4])["custsync.replay.count"] == "2", dls[4]
        assert outcomes(env, 7)[6]["replay"]["count"] == 2


def test_sigterm_mid_replay_then_resume_replays_each_exactly_once():
    n = 30
    with h.Env(api=dict(clients=[NO_CREATE])) as env:
        evs = [native("create", f"T{i:02d}", customer(f"t{i}", f"N-{i}"))
               for i in range(n)]
        w = env.worker(auth=OAUTH, name="live", max_in_flight=2)
        env.produce(evs)
        outcomes(env, n)
        w.stop()
        dls = env.wait_for(DLQ, n)
        grant_all(env)
        env.api.latency(150)

        log = w.workdir / "replay1.out"
        with open(log, "wb") as f:
            p = h.spawn([h.bin_path("custsync"), "replay", "-c",
                         w.config_path], stdout=f,
                        stderr=subprocess.DEVNULL, cwd=w.workdir)

        def progressed():
            return log.read_text().count("dead letter ") >= 5
        h.wait_until(progressed, timeout=60, what="5 replayed lines")
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 0
        first = log.read_text()
        assert "interrupted" in first, first
        done_first = first.count("applied create")
        assert 5 <= done_first < n, first
        # What finished was committed: the next replay starts after it.
        c = env.committed(group="custsync-test.replay", topic=DLQ)
        assert 3 <= c[0] <= done_first, (c, done_first)

        env.api.latency(0)
        out = replay(w)
        assert f"{n - done_first} dead letters replayed" in summary(out), \
            (first, out)
        outs = outcomes(env, 2 * n)
        again = replayed(outs)
        pos = [(o["replay"]["dead_letter"]["partition"],
                o["replay"]["dead_letter"]["offset"]) for o in again]
        assert sorted(pos) == sorted((r["partition"], r["offset"])
                                     for r in dls), pos
        assert len(set(pos)) == n
        assert len(by_external_id(env.api)) == n


def test_help_documents_every_flag():
    out = subprocess.run([h.bin_path("custsync"), "replay", "--help"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out
    for flag in ("-c, --config", "--code", "--key", "--since", "--dry-run",
                 "--force", "--from-beginning", "--help"):
        assert flag in out.stdout, (flag, out.stdout)
    bad = subprocess.run([h.bin_path("custsync"), "replay", "-c", "x.yaml",
                          "--since", "yesterday"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 64 and "--since" in bad.stderr, bad


if __name__ == "__main__":
    h.run_tests(globals())
