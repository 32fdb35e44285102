"""The portal profile end to end: the built daemon, the mock broker and
refapi --profile portal (a manufacturer portal's admin customers API,
seed 002).

Create, an update through GET + merge + PUT of the whole record, an
unchanged upsert against the server's normalised record, a delete that
suspends (default) and one that destroys (delete_mode: hard), the
duplicate email held by another key's customer (failed conflict: a
login is never taken over), a duplicate email held by another
manufacturer (failed conflict), the
API's error envelope with all its messages as a failed outcome + dead
letter, local validation, not_found, 503/429 windows with Retry-After,
and a re-run by a new group that changes nothing."""


import harness as h
from events import (CLIENT, OAUTH, by_event, counts, headers, native,
                    outcomes, validate)
from events import retry_after_window

PROFILE = dict(profile="portal")


def full(**kw):
    c = {"name": "John Doe Kitchens", "email": ["John@Example.com"],
         "phone": ["52 1234 1234"], "type": "customer", "number": "N-1",
         "company": "JDK", "notes": "not mapped",
         "billing_address": {"street": ["123 Summer St"],
                             "city": "Boggy Creek", "state_code": "vic",
                             "postal_code": "3268"},
         "delivery_addresses": [
             {"name": "Shop", "external_id": "Id-123",
              "street": ["123 Summer St"], "city": "Boggy Creek",
              "state": "Victoria", "postal_code": "3268"},
             {"name": "Warehouse", "street": ["9 Back Rd"],
              "city": "Sydney", "state_code": "NSW", "default": True}]}
    c.update(kw)
    return c


def minimal(email, **kw):
    c = {"name": f"Customer {email}", "email": email, "phone": "1",
         "billing_address": {"state_code": "NY", "city": "Albany"}}
    c.update(kw)
    return c


def by_ext(api):
    return {c["external_id"]: c for c in api.state()}


def api_writes(api):
    return (counts(api, "POST", "/customers") +
            counts(api, "PUT", "/customers/{id}") +
            counts(api, "DELETE", "/customers/{id}"))


def stream():
    return [
        native("create", "P1", full()),
        # Fields the create did not set: a re-run of the create keeps
        # them (absent = leave alone).
        native("update", "P1", {"mobile": ["0480 123 456", "x"]},
               event_id="upd-P1"),
        # The create again as an upsert: the server's normalised record
        # (country filled in, codes, defaults) equals it.
        native("upsert", "P1", full(), event_id="same-P1"),
        # Seeded below with this email and another external_id.
        native("create", "P2", minimal("dup@x.test")),
        # Seeded in another manufacturer's tenant.
        native("create", "P3", minimal("foreign@x.test")),
        # The API's own refusals, every message kept.
        native("create", "P4", minimal("not an email", billing_address={
            "state_code": "ZZ"})),
        # Refused locally: no phone.
        native("create", "P5", {"name": "N", "email": "p5@x.test",
                                "billing_address": {"state": "Texas"}}),
        native("delete", "P404"),
        native("update", "P405", {"phone": "2"}),
        native("delete", "P1", event_id="del-P1"),
    ]


def check(env, outs, seeded):
    ev = by_event(outs)
    c1 = ev["create-P1"]
    assert (c1["status"], c1["action"], c1["http_status"]) == \
        ("applied", "create", 200), c1
    u1 = ev["upd-P1"]
    assert (u1["status"], u1["action"]) == ("applied", "update"), u1
    assert ev["same-P1"]["status"] == "unchanged", ev["same-P1"]
    d1 = ev["del-P1"]
    assert (d1["status"], d1["action"]) == ("applied", "delete"), d1

    c2 = ev["create-P2"]
    assert (c2["status"], c2["error"]["code"]) == ("failed", "conflict"), c2
    msg = c2["error"]["message"]
    assert "email" in msg and f"'{seeded['id']}'" in msg and \
        "'LEGACY'" in msg, c2
    assert c2["conflicts"] == [
        {"status": 409, "field": "email",
         "target_id": str(seeded["id"])}], c2

    c3 = ev["create-P3"]
    assert c3["status"] == "failed", c3
    assert c3["error"]["code"] == "conflict", c3
    assert c3["conflicts"][0]["field"] == "email", c3

    e4 = ev["create-P4"]["error"]
    assert e4["code"] == "rejected" and e4["http_status"] == 400, e4
    assert e4["message"] == ("POST create: HTTP 400: Invalid email "
                             "address; Unknown state code 'ZZ'"), e4
    e5 = ev["create-P5"]
    assert e5["error"]["code"] == "validation" and e5["attempts"] == 0, e5
    assert "phone is mandatory" in e5["error"]["message"], e5
    assert ev["delete-P404"]["status"] == "unchanged", ev["delete-P404"]
    nf = ev["update-P405"]
    assert nf["status"] == "failed" and nf["error"]["code"] == "not_found"

    st = by_ext(env.api)
    assert set(st) == {"P1", "LEGACY", "LEGACY-OTHER"}, sorted(st)
    p1 = st["P1"]
    # Suspended, not destroyed (delete_mode suspend is the default).
    assert p1["settings"] == {"is_beta": True, "is_assembly_enabled": False,
                              "is_suspended": True}, p1
    assert (p1["name"], p1["email"], p1["phone"], p1["mobile"]) == \
        ("John Doe Kitchens", "John@Example.com", "52 1234 1234",
         "0480 123 456"), p1
    # Kept through the PUTs: the server's own fields.
    assert (p1["cc_email"], p1["price_adjustment"]) == \
        ("harry@example.com", 5), p1
    assert p1["contact_address"] == {
        "street": ["123 Summer St"], "suburb": "Boggy Creek",
        "state": "Victoria", "state_code": "VIC", "postcode": "3268",
        "country": "Australia", "country_code": "AU"}, p1
    d = p1["delivery_address"]
    assert [(a["name"], a["state_code"], a["country"], a["default"])
            for a in d] == [("Shop", "VIC", "Australia", False),
                            ("Warehouse", "NSW", "Australia", True)], d
    assert d[0]["external_id"] == "Id-123" and d[1]["external_id"] is None
    # The holder of the email is untouched.
    legacy = st["LEGACY"]
    assert legacy == {**seeded, "Tenant": legacy["Tenant"]}, legacy
    assert st["LEGACY-OTHER"]["Tenant"] == "other"

    dl = env.wait_for("custsync.dead-letter", 5)
    assert len(dl) == 5, [r["key"] for r in dl]
    hd = {r["key"]: headers(r) for r in dl}
    assert set(hd) == {"P2", "P3", "P4", "P5", "P405"}, hd
    assert hd["P2"]["custsync.error.code"] == "conflict", hd["P2"]
    h4 = hd["P4"]
    assert h4["custsync.error.code"] == "rejected", h4
    assert h4["custsync.error.http_status"] == "400", h4
    assert "Invalid email address; Unknown state code 'ZZ'" in \
        h4["custsync.error.message"], h4
    assert hd["P3"]["custsync.error.code"] == "conflict", hd["P3"]


def test_portal_stream_then_rerun_changes_nothing():
    with h.Env(api=dict(clients=[CLIENT], **PROFILE)) as env:
        seeded = env.api.seed({**minimal("DUP@x.test"), "name": "Old",
                               "external_id": "LEGACY"}, tenant="acme")
        env.api.seed({**minimal("foreign@x.test"),
                      "external_id": "LEGACY-OTHER"}, tenant="other")
        w = env.worker(auth=OAUTH)
        env.produce(stream()[:1])
        outcomes(env, 1)
        # Someone sets fields custsync does not own: a PUT must keep them.
        p1 = by_ext(env.api)["P1"]
        env.api.edit(p1["id"], {"cc_email": "harry@example.com",
                                "price_adjustment": 5,
                                "settings": {"is_beta": True}})
        env.produce(stream()[1:])
        outs = outcomes(env, len(stream()))
        validate(outs)
        check(env, outs, seeded)

        log = env.api.requests()["log"]
        calls = [r for r in log if r["route"] != "/oauth/token"]
        assert calls and all(r["correlation_id"] for r in calls)
        assert all(r["authorization_present"] for r in calls)
        assert not any(r["if_match"] for r in calls), calls
        assert {r["content_type"] for r in calls
                if r["method"] in ("POST", "PUT")} == \
            {"application/json"}, calls
        # Suspending is a PUT; nothing was destroyed.
        assert counts(env.api, "DELETE") == 0
        assert w.stop() == 0, w.tail()

        before = env.api.state()
        writes = api_writes(env.api)
        env.worker(auth=OAUTH, group="custsync-rerun")
        again = outcomes(env, 2 * len(stream()))[len(stream()):]
        validate(again)
        for o in again:
            assert o["status"] in ("unchanged", "failed"), o
        assert env.api.state() == before
        # Only the refused creates again: P2 (another key's email), P3
        # (foreign email) and P4. P1 is found in the key index: no POST.
        assert api_writes(env.api) == writes + 3
        assert counts(env.api, "PUT") == counts(env.api, "PUT", None, 200)


def test_portal_delete_mode_hard():
    with h.Env(api=dict(no_auth=True, **PROFILE)) as env:
        w = env.worker(target={"delete_mode": "hard"})
        env.produce([native("create", "H1", minimal("h1@x.test")),
                     native("create", "H2", minimal("h2@x.test",
                                                    status="inactive")),
                     native("delete", "H1", event_id="del-H1"),
                     native("delete", "H2", event_id="del-H2"),
                     native("delete", "H1", event_id="again-H1")])
        outs = outcomes(env, 5)
        validate(outs)
        ev = by_event(outs)
        for e in ("del-H1", "del-H2"):
            assert (ev[e]["status"], ev[e]["action"],
                    ev[e]["http_status"]) == ("applied", "delete", 200), \
                ev[e]
        # A suspended customer is destroyed too; a gone one is unchanged.
        assert ev["again-H1"]["status"] == "unchanged", ev["again-H1"]
        assert env.api.state() == []
        assert counts(env.api, "DELETE", "/customers/{id}", 200) == 2
        assert w.stop() == 0, w.tail()


def run_window(status):
    retry_after_window(status, "portal", lambda i: minimal(f"w{i}@x.test"),
                       "/customers")


def test_portal_503_with_retry_after():
    run_window(503)


def test_portal_429_with_retry_after():
    run_window(429)


if __name__ == "__main__":
    h.run_tests(globals())
