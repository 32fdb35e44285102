"""OAuth2 client credentials: a client lacking a scope, and a token that
expires mid-run."""

import harness as h
from events import CLIENT, OAUTH, by_event, counts, customer, headers, native, outcomes


def test_missing_scope_fails_with_its_name():
    limited = dict(CLIENT, scopes=["customer:read", "customer:create"])
    with h.Env(api=dict(clients=[limited])) as env:
        env.worker(auth=dict(OAUTH, scopes=limited["scopes"]))
        env.produce([native("create", "A1", customer("a1")),
                     native("update", "A1", {"fax": "1"}, event_id="u-A1"),
                     native("create", "A2", customer("a2"))])
        ev = by_event(outcomes(env, 3))
        assert ev["create-A1"]["status"] == "applied"
        assert ev["create-A2"]["status"] == "applied"
        f = ev["u-A1"]
        assert f["status"] == "failed", f
        assert f["error"]["code"] == "forbidden", f
        assert f["error"]["http_status"] == 403, f
        assert "customer:update" in f["error"]["message"], f
        dl = env.wait_for("custsync.dead-letter", 1)
        assert headers(dl[0])["custsync.error.code"] == "forbidden"
        assert headers(dl[0])["custsync.error.http_status"] == "403"


def test_token_expiry_mid_run():
    with h.Env(api=dict(clients=[CLIENT])) as env:
        w = env.worker(auth=OAUTH)
        env.produce([native("create", "T1", customer("t1"))])
        outcomes(env, 1)
        tokens = counts(env.api, "POST", "/oauth/token", 200)
        assert tokens == 1, tokens
        env.api.expire_tokens()  # the cached token now answers 401
        env.produce([native("create", f"T{i}", customer(f"t{i}"))
                     for i in range(2, 6)])
        outs = outcomes(env, 5)
        assert all(o["status"] == "applied" for o in outs), outs
        assert counts(env.api, status=401) >= 1
        assert counts(env.api, "POST", "/oauth/token", 200) == 2
        assert "it-secret" not in w.log()
        assert "Bearer" not in w.log()


if __name__ == "__main__":
    h.run_tests(globals())
