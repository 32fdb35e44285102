"""The engage profile end to end: the built daemon, the mock broker and
refapi --profile engage (Pexip Engage customers API, seed 003).

Create (after a look-up), the look-up path onto a seeded customer, an
update that resends the whole location while keeping a translation
someone else added, an upsert, a soft delete, the API's 422 business
codes as failed outcomes + dead letters, local validation, not_found,
Accept-Language on every request, 503/429 windows with Retry-After, and
a re-run by a new group that changes nothing."""


import harness as h
from events import (CLIENT, OAUTH, by_event, counts, headers, native,
                    outcomes, validate)
from events import retry_after_window

PROFILE = dict(profile="engage")


def full(**kw):
    c = {"name": "Acme NV", "company": "Acme",
         "contact": {"first_name": "Ann", "last_name": "Lee"},
         "number": "N-1", "email": ["ann@acme.test", "info@acme.test"],
         "phone": ["+3292000000", ""], "language": "nl",
         "billing_address": {"street": ["Veldstraat 1", "Bus 4"],
                             "city": "Ghent", "state": "East Flanders",
                             "country_code": "BE"}}
    c.update(kw)
    return c


def by_ext(api):
    """Live customers by externalId (deleted ones under "<ext>~deleted")."""
    out = {}
    for c in api.state():
        k = c["externalId"] + ("~deleted" if c["deletedAt"] else "")
        out[k] = c
    return out


def api_writes(api):
    return (counts(api, "POST", "/customers") +
            counts(api, "PATCH", "/customers/{id}") +
            counts(api, "DELETE", "/customers/{id}"))


def stream():
    return [
        native("create", "E1", full()),
        # Seeded below with an old email: the look-up finds it.
        native("create", "E2", {"email": "new@beta.test",
                                "contact": {"first_name": "Bo",
                                            "last_name": "Beta"}}),
        native("upsert", "E3", {"phone": "+31200000000",
                                "company": "Gamma BV"}),
        native("delete", "E3", event_id="del-E3"),
        native("delete", "E404"),
        native("update", "E405", {"notes": "nobody"}),
        # 422s: the API's own codes, no retry.
        native("create", "E4", {"notes": "cannot be reached",
                                "company": "Delta"}),
        native("create", "E5", full(billing_address={
            "street": ["Main St 1"], "city": "Nowhere",
            "country_code": "ZZ"})),
        # Refused locally: not a documented language.
        native("create", "E6", {"email": "x@y.test", "language": "pt"}),
    ]


def second_wave():
    return [
        # Only postalCode changes: the whole location is resent.
        native("update", "E1", {"billing_address": {"postal_code": "9000"},
                                "notes": "vip"}, event_id="upd-E1"),
        native("update", "E1", {"billing_address": {"postal_code": "00000"}},
               event_id="geo-E1"),
        # Same as what E2 holds now: unchanged.
        native("upsert", "E2", {"email": ["new@beta.test"]},
               event_id="same-E2"),
    ]


def check(env, outs):
    ev = by_event(outs)
    c1 = ev["create-E1"]
    assert (c1["status"], c1["action"], c1["http_status"]) == \
        ("applied", "create", 201), c1
    c2 = ev["create-E2"]
    assert (c2["status"], c2["action"]) == ("applied", "update"), c2
    assert (ev["upsert-E3"]["status"], ev["upsert-E3"]["action"]) == \
        ("applied", "create"), ev["upsert-E3"]
    assert (ev["del-E3"]["status"], ev["del-E3"]["action"]) == \
        ("applied", "delete"), ev["del-E3"]
    assert ev["delete-E404"]["status"] == "unchanged", ev["delete-E404"]
    nf = ev["update-E405"]
    assert nf["status"] == "failed" and nf["error"]["code"] == "not_found"

    e4 = ev["create-E4"]["error"]
    assert e4["code"] == "customer_not_identifiable", e4
    assert e4["http_status"] == 422
    assert "CUSTOMER_NOT_IDENTIFIABLE: " in e4["message"], e4
    assert ev["create-E4"]["attempts"] == 2, ev["create-E4"]  # GET + POST
    e5 = ev["create-E5"]["error"]
    assert e5["code"] == "location_time_zone_resolution_failed", e5
    e6 = ev["create-E6"]
    assert e6["error"]["code"] == "validation" and e6["attempts"] == 0, e6
    assert "language 'pt'" in e6["error"]["message"], e6

    u1 = ev["upd-E1"]
    assert (u1["status"], u1["action"]) == ("applied", "update"), u1
    g1 = ev["geo-E1"]["error"]
    assert g1["code"] == "location_geocoding_failed", g1
    assert g1["http_status"] == 422, g1
    assert ev["same-E2"]["status"] == "unchanged", ev["same-E2"]

    st = by_ext(env.api)
    assert set(st) == {"E1", "E2", "E3~deleted"}, sorted(st)
    e1 = st["E1"]
    assert (e1["firstName"], e1["lastName"], e1["company"]) == \
        ("Ann", "Lee", "Acme"), e1
    assert (e1["email"], e1["phoneNumber"], e1["customerNumber"]) == \
        ("ann@acme.test", "+3292000000", "N-1"), e1
    assert (e1["language"], e1["notes"]) == ("nl", "vip"), e1
    # Derived by the server from countryCode and the fake geocoder.
    assert e1["timeZone"] == "Europe/Brussels" and not e1["existing"], e1
    loc = e1["location"]
    assert (loc["postalCode"], loc["countryCode"]) == ("9000", "BE"), loc
    assert set(loc["geolocation"]) == {"latitude", "longitude"}, loc
    assert loc["translations"] == {
        "city": [{"language": "en", "value": "Ghent"},
                 {"language": "nl", "value": "Gent"}],
        "state": [{"language": "en", "value": "East Flanders"}],
        "street1": [{"language": "en", "value": "Veldstraat 1"}],
        "street2": [{"language": "en", "value": "Bus 4"}]}, loc
    assert st["E2"]["email"] == "new@beta.test", st["E2"]
    assert st["E2"]["id"] == c2["target_id"]
    assert st["E3~deleted"]["deletedAt"], st["E3~deleted"]

    dl = env.wait_for("custsync.dead-letter", 5)
    assert len(dl) == 5, [r["key"] for r in dl]
    hd = {r["key"] + "/" + headers(r)["custsync.event_id"]: headers(r)
          for r in dl}
    assert set(hd) == {"E405/update-E405", "E4/create-E4",
                       "E5/create-E5", "E6/create-E6", "E1/geo-E1"}, hd
    h4 = hd["E4/create-E4"]
    assert h4["custsync.error.code"] == "customer_not_identifiable", h4
    assert h4["custsync.error.http_status"] == "422", h4
    assert "CUSTOMER_NOT_IDENTIFIABLE" in h4["custsync.error.message"]


def test_engage_stream_then_rerun_changes_nothing():
    with h.Env(api=dict(clients=[CLIENT], **PROFILE)) as env:
        seeded = env.api.seed({"externalId": "E2",
                               "email": "old@beta.test"}, tenant="acme")
        w = env.worker(auth=OAUTH)
        env.produce(stream())
        outcomes(env, 9)
        # Someone adds a Dutch city name: custsync must keep it.
        e1 = by_ext(env.api)["E1"]
        tr = dict(e1["location"]["translations"])
        tr["city"] = tr["city"] + [{"language": "nl", "value": "Gent"}]
        loc = {k: e1["location"][k] for k in ("countryCode",)}
        loc["translations"] = tr
        env.api.edit(e1["id"], {"location": loc})
        env.produce(second_wave())
        outs = outcomes(env, 12)
        validate(outs)
        check(env, outs)
        assert by_event(outs)["create-E2"]["target_id"] == seeded["id"]

        log = env.api.requests()["log"]
        calls = [r for r in log if r["route"] != "/oauth/token"]
        assert calls and all(r["correlation_id"] for r in calls)
        assert not any(r["if_match"] for r in calls), calls
        assert {r["content_type"] for r in calls
                if r["method"] in ("POST", "PATCH")} == \
            {"application/json"}, calls
        n = env.api.requests()["counts"]
        assert n.get("accept_language:en") == len(calls), n
        assert not any(k.startswith("accept_language:") and
                       k != "accept_language:en" for k in n), n
        assert w.stop() == 0, w.tail()

        before = env.api.state()
        writes = api_writes(env.api)
        env.worker(auth=OAUTH, group="custsync-rerun")
        again = outcomes(env, 24)[12:]
        validate(again)
        for o in again:
            assert o["status"] in ("unchanged", "failed"), o
        assert env.api.state() == before
        # Only the refused writes again (E4, E5 and geo-E1's 422s).
        assert api_writes(env.api) == writes + 3


def test_engage_language_settings():
    """target.language picks the translations' language, accept_language
    the header (and so the language of the API's answers)."""
    with h.Env(api=dict(no_auth=True, **PROFILE)) as env:
        w = env.worker(target={"language": "fr", "accept_language": "de"})
        env.produce([native("create", "L1", {
            "email": "l1@x.test", "billing_address": {
                "street": ["Rue Neuve 1"], "city": "Bruxelles",
                "postal_code": "1000", "country_code": "BE"}})])
        out = outcomes(env, 1)[0]
        assert (out["status"], out["action"]) == ("applied", "create"), out
        loc = env.api.state()[0]["location"]
        assert loc["translations"]["city"] == \
            [{"language": "fr", "value": "Bruxelles"}], loc
        # The state view answers in en: the only city there is French.
        assert loc["city"] == {"language": "fr", "value": "Bruxelles"}
        n = env.api.requests()["counts"]
        assert n.get("accept_language:de") == 2, n  # look-up + POST
        assert not any(k.startswith("accept_language:") and
                       k != "accept_language:de" for k in n), n
        assert w.stop() == 0, w.tail()


def run_window(status):
    retry_after_window(status, "engage", lambda i: {"email": f"w{i}@x.test"},
                       "/customers")


def test_engage_503_with_retry_after():
    run_window(503)


def test_engage_429_with_retry_after():
    run_window(429)


if __name__ == "__main__":
    h.run_tests(globals())
