"""The wms profile end to end: the built daemon, the mock broker and
refapi --profile wms (the WMS Customer API, seed 001).

Create (GET 404, then POST), the look-up path onto a seeded customer (GET
200, merge, POST of the whole record), an edit made in the WMS kept by a
later update, a clear sent as "", an upsert, a discontinue (DELETE), a
status: inactive update (DELETE), the reactivation refusal, the reserved
shortID "All" (refused for writes, deleted through the list), the API's
400 envelope as a failed outcome + dead letter, not_found, HTTP Basic with
SecurityIDs, short_id: number, 503/429 windows with Retry-After, and a
re-run by a new group that changes nothing."""


import harness as h
from events import by_event, counts, headers, native, outcomes, validate

PROFILE = dict(profile="wms")
from events import retry_after_window
# SecurityID 130 (Customers List) and 131 (Create/Modify Customer).
CLIENT = {"id": "wms-it", "secret": "wms-secret", "tenant": "acme",
          "scopes": ["130", "131"]}
BASIC = {"type": "basic", "username": "wms-it", "password": "wms-secret"}


def full(**kw):
    c = {"name": "Acme Corporation", "number": "N-1",
         "email": ["orders@acme.test", "info@acme.test"],
         "billing_address": {"street": ["123 Industrial Way", "Suite 2",
                                        "Dock 7"],
                             "city": "Springfield", "state": "Illinois",
                             "state_code": "IL", "postal_code": "62701",
                             "country": "United States",
                             "country_code": "US"}}
    c.update(kw)
    return c


def by_short_id(api, tenant=None):
    return {c["shortID"]: c for c in api.state()
            if tenant is None or c["Tenant"] == tenant}


def api_writes(api):
    return (counts(api, "POST", "/Customer") +
            counts(api, "DELETE"))


def stream():
    return [
        native("create", "W1", full()),
        # Seeded below: the look-up finds it, merge, POST.
        native("create", "W2", {"name": "Beta",
                                "email": ["new@beta.test"],
                                "contact": {"first_name": "Bo",
                                            "last_name": "Berg"}}),
        native("upsert", "W3", {"name": "Gamma", "phone": ["555-0300"]}),
        native("delete", "W3", event_id="del-W3"),
        native("delete", "W404"),
        native("update", "W405", {"name": "nobody"}),
        # The API's own 400: not an email address.
        native("create", "W4", {"name": "Delta", "email": "not-an-email"}),
        # Seeded discontinued: the API cannot reactivate it.
        native("update", "W7", {"status": "active"}),
        # GET /Customer/All is the list: refused locally.
        native("create", "All", {"name": "Everyone"}),
        # Seeded as "All": found through the list, DELETE /Customer/All.
        native("delete", "All", event_id="del-All"),
        native("create", "W8", {"name": "Eta"}),
    ]


def second_wave():
    return [
        # Fields the create did not set; the WMS edit (phone) is kept.
        native("update", "W1", {"fax": "555-0109",
                                "contact": {"name": "Jane Smith"}},
               event_id="upd-W1"),
        # A clear: sent as "", since POST keeps what it omits.
        native("update", "W2", {"fax": None}, event_id="clr-W2"),
        # Same as what W2 holds now: unchanged, no POST.
        native("upsert", "W2", {"email": "new@beta.test"},
               event_id="same-W2"),
        # Only the status: DELETE discontinues.
        native("update", "W8", {"status": "inactive"}, event_id="off-W8"),
    ]


def check(env, outs):
    ev = by_event(outs)
    c1 = ev["create-W1"]
    assert (c1["status"], c1["action"], c1["http_status"],
            c1["target_id"], c1["attempts"]) == \
        ("applied", "create", 200, "W1", 2), c1
    assert c1["etag"] is None, c1
    c2 = ev["create-W2"]
    assert (c2["status"], c2["action"], c2["target_id"]) == \
        ("applied", "update", "W2"), c2
    assert (ev["upsert-W3"]["status"], ev["upsert-W3"]["action"]) == \
        ("applied", "create"), ev["upsert-W3"]
    d3 = ev["del-W3"]
    assert (d3["status"], d3["action"], d3["http_status"]) == \
        ("applied", "delete", 204), d3
    assert ev["delete-W404"]["status"] == "unchanged", ev["delete-W404"]
    nf = ev["update-W405"]
    assert nf["status"] == "failed" and nf["error"]["code"] == "not_found"

    e4 = ev["create-W4"]
    assert e4["error"]["code"] == "invalid_email", e4
    assert e4["error"]["http_status"] == 400, e4
    assert "invalid_email: email 'not-an-email' is not an email address" \
        in e4["error"]["message"], e4
    assert e4["attempts"] == 2, e4  # GET + POST

    r7 = ev["update-W7"]
    assert r7["status"] == "failed", r7
    assert r7["error"]["code"] == "cannot_reactivate", r7
    assert r7["error"]["http_status"] is None and r7["attempts"] == 1, r7
    assert "cannot reactivate" in r7["error"]["message"], r7

    al = ev["create-All"]
    assert al["error"]["code"] == "reserved_short_id", al
    assert al["attempts"] == 0, al
    assert "GET /Customer/All" in al["error"]["message"], al
    da = ev["del-All"]
    assert (da["status"], da["action"], da["target_id"]) == \
        ("applied", "delete", "All"), da

    u1 = ev["upd-W1"]
    assert (u1["status"], u1["action"]) == ("applied", "update"), u1
    assert (ev["clr-W2"]["status"], ev["clr-W2"]["action"]) == \
        ("applied", "update"), ev["clr-W2"]
    assert ev["same-W2"]["status"] == "unchanged", ev["same-W2"]
    o8 = ev["off-W8"]
    assert (o8["status"], o8["action"], o8["http_status"]) == \
        ("applied", "update", 204), o8

    st = by_short_id(env.api, "acme")
    assert set(st) == {"W1", "W2", "W3", "W7", "All", "W8"}, sorted(st)
    w1 = st["W1"]
    assert {k: w1[k] for k in ("name", "address1", "address2", "city",
                               "state", "zip", "country", "email",
                               "phone", "fax", "contact", "active")} == {
        "name": "Acme Corporation", "address1": "123 Industrial Way",
        "address2": "Suite 2, Dock 7", "city": "Springfield",
        "state": "IL", "zip": "62701", "country": "US",
        "email": "orders@acme.test", "phone": "555-0177",
        "fax": "555-0109", "contact": "Jane Smith", "active": True}, w1
    w2 = st["W2"]
    assert (w2["name"], w2["email"], w2["contact"], w2["phone"],
            w2["fax"], w2["city"]) == \
        ("Beta", "new@beta.test", "Bo Berg", "555-0200", "",
         "Rockford"), w2
    assert st["W3"]["active"] is False and st["W3"]["phone"] == "555-0300"
    assert st["W7"]["active"] is False and st["W7"]["name"] == "Gone"
    assert st["All"]["active"] is False
    assert st["W8"]["active"] is False and st["W8"]["name"] == "Eta"

    dl = env.wait_for("custsync.dead-letter", 4)
    assert len(dl) == 4, [r["key"] for r in dl]
    hd = {r["key"] + "/" + headers(r)["custsync.event_id"]: headers(r)
          for r in dl}
    assert set(hd) == {"W405/update-W405", "W4/create-W4",
                       "W7/update-W7", "All/create-All"}, hd
    h4 = hd["W4/create-W4"]
    assert h4["custsync.error.code"] == "invalid_email", h4
    assert h4["custsync.error.http_status"] == "400", h4
    assert "not an email address" in h4["custsync.error.message"], h4
    h7 = hd["W7/update-W7"]
    assert h7["custsync.error.code"] == "cannot_reactivate", h7
    assert h7["custsync.error.http_status"] == "", h7


def test_wms_stream_then_rerun_changes_nothing():
    with h.Env(api=dict(clients=[CLIENT], **PROFILE)) as env:
        env.api.seed({"shortID": "W2", "name": "Beta old",
                      "email": "old@beta.test", "phone": "555-0200",
                      "fax": "555-0201", "city": "Rockford"},
                     tenant="acme")
        env.api.seed({"shortID": "W7", "name": "Gone", "active": False},
                     tenant="acme")
        env.api.seed({"shortID": "All", "name": "Everyone"}, tenant="acme")
        # Another tenant's W1 must stay invisible and untouched.
        env.api.seed({"shortID": "W1", "name": "Other"}, tenant="other")
        w = env.worker(auth=BASIC)
        env.produce(stream())
        outcomes(env, 11)
        # Someone edits W1 in the WMS: the next update keeps it.
        # Two tenants hold a W1: the edit names its tenant.
        env.api._control("POST", "edit", {"id": "W1", "tenant": "acme",
                                          "patch": {"phone": "555-0177"}})
        env.produce(second_wave())
        outs = outcomes(env, 15)
        validate(outs)
        other = by_short_id(env.api, "other")
        assert {k: (c["name"], c["phone"]) for k, c in other.items()} == \
            {"W1": ("Other", "")}, other
        check(env, outs)

        log = env.api.requests()["log"]
        assert log and all(r["correlation_id"] for r in log), log
        assert all(r["authorization_present"] for r in log), log
        assert not any(r["if_match"] for r in log), log
        assert {r["content_type"] for r in log if r["method"] == "POST"} \
            == {"application/json"}, log
        # Every look-up by shortID; the list only for "All".
        assert counts(env.api, "GET", "/Customer/All") == 1
        # W3, W8 (status: inactive) and All (its route is named
        # /Customer/All whatever the method).
        assert counts(env.api, "DELETE", "/Customer/{id}", 204) == 2
        assert counts(env.api, "DELETE", "/Customer/All", 204) == 1
        assert w.stop() == 0, w.tail()

        before = env.api.state()
        writes = api_writes(env.api)
        env.worker(auth=BASIC, group="custsync-rerun")
        again = outcomes(env, 30)[15:]
        validate(again)
        for o in again:
            assert o["status"] in ("unchanged", "failed"), o
        assert env.api.state() == before
        # Only W4's refused POST again.
        assert api_writes(env.api) == writes + 1
        assert counts(env.api, "POST", "/Customer", 400) == 2


def test_wms_short_id_number_and_bearer():
    """short_id: number names the customer by its number (percent-encoded
    in the path); an update without number cannot name it; a delete
    finds the number in the cache of the key's earlier event. OAuth2
    tokens from /oauth/token work as well as Basic."""
    client = dict(CLIENT, scopes=["customer:read", "customer:create",
                                  "customer:update", "customer:delete"])
    oauth = {"client_id": client["id"], "client_secret": client["secret"]}
    with h.Env(api=dict(clients=[client], **PROFILE)) as env:
        w = env.worker(auth=oauth, target={"short_id": "number"})
        env.produce([
            native("upsert", "ERP-1", {"number": "N 1/2", "name": "Num"}),
            native("update", "ERP-1", {"number": "N 1/2",
                                       "billing_address": {
                                           "city": "Ghent"}},
                   event_id="upd-1"),
            native("update", "ERP-2", {"name": "no number"}),
            native("delete", "ERP-1", event_id="del-1"),
        ])
        outs = outcomes(env, 4)
        validate(outs)
        ev = by_event(outs)
        up = ev["upsert-ERP-1"]
        assert (up["status"], up["action"], up["target_id"]) == \
            ("applied", "create", "N 1/2"), up
        assert ev["upd-1"]["action"] == "update", ev["upd-1"]
        nn = ev["update-ERP-2"]
        assert nn["error"]["code"] == "missing_short_id", nn
        assert "customer.number" in nn["error"]["message"], nn
        d = ev["del-1"]
        assert (d["status"], d["action"]) == ("applied", "delete"), d
        st = by_short_id(env.api)
        assert set(st) == {"N 1/2"}, st
        assert (st["N 1/2"]["city"], st["N 1/2"]["active"]) == \
            ("Ghent", False), st
        paths = {r["path"] for r in env.api.requests()["log"]
                 if r["method"] in ("GET", "DELETE")}
        assert paths == {"/wms/Customer/N 1/2"}, paths  # decoded by MHD
        assert counts(env.api, "POST", "/oauth/token", 200) >= 1
        assert w.stop() == 0, w.tail()


def run_window(status):
    retry_after_window(status, "wms", lambda i: {"name": f"r{i}"},
                       "/Customer")


def test_wms_503_with_retry_after():
    run_window(503)


def test_wms_429_with_retry_after():
    run_window(429)


if __name__ == "__main__":
    h.run_tests(globals())
