"""Errors keep the partner's words: answers the reference API is scripted
to give (/_control/script), as independently written partner APIs were
seen to give them, end to end through the built daemon.

- portal: an HTTP 200 whose envelope says success 0 (on a create, and on
  a page of the list that the key index is built from) fails rejected with every message, and a dead
  letter, instead of invalid_response without the messages;
- wms: an RFC 9457 problem document (title, detail, errors) reaches the
  outcome and the dead letter with its detail and field errors, not only
  its title;
- alvys and wms: a 2xx create that names no id (an empty one) fails
  invalid_response, saying the create may have been applied, instead of
  applied with an empty target_id."""

import harness as h
from events import (by_event, customer, headers, native, outcomes,
                    validate)


def script(api, status, body=None, **kw):
    """The next count (default 1) writes, or requests with method /
    route, answer status with body (see tests/servers/refapi.c)."""
    req = {"status": status, **kw}
    if body is not None:
        req["body"] = body
    return api._control("POST", "script", req)


def dead_letters(env, n):
    return {r["key"]: headers(r)
            for r in env.wait_for("custsync.dead-letter", n)}


def portal_customer(email, **kw):
    c = {"name": f"Customer {email}", "email": email, "phone": "1",
         "billing_address": {"state_code": "NY", "city": "Albany"}}
    c.update(kw)
    return c


def test_portal_200_with_success_0_is_rejected():
    with h.Env(api=dict(no_auth=True, profile="portal")) as env:
        # At a read: the first page of the list that the key index is
        # built from says success false.
        script(env.api, 200, {"success": False, "error": {"messages": [
            "Listing is suspended for this API key"]}}, method="GET",
            route="/customers")
        w = env.worker()
        env.produce([native("update", "P2", {"phone": "2"})])
        outs = outcomes(env, 1)
        # At a write: the next job scans again (unscripted now), then
        # its POST is refused with HTTP 200.
        script(env.api, 200, {"success": 0, "error": {"messages": [
            "Invalid email address",
            "A delivery address must be specified"]}})
        env.produce([native("create", "P1", portal_customer("p1@x.test"))])
        outs = outcomes(env, 2)
        # Nothing scripted any more: a create goes through.
        env.produce([native("create", "P3", portal_customer("p3@x.test"))])
        outs = outcomes(env, 3)
        validate(outs)
        ev = by_event(outs)

        p1 = ev["create-P1"]
        assert (p1["status"], p1["action"], p1["http_status"]) == \
            ("failed", "none", 200), p1
        assert p1["error"] == {
            "code": "rejected", "http_status": 200,
            "message": "POST create: HTTP 200: Invalid email address; "
                       "A delivery address must be specified"}, p1
        assert p1["target_id"] is None, p1
        p2 = ev["update-P2"]
        assert p2["error"]["code"] == "rejected", p2
        assert p2["error"]["message"] == ("GET list: HTTP 200: Listing "
                                          "is suspended for this API "
                                          "key"), p2
        assert ev["create-P3"]["status"] == "applied", ev["create-P3"]
        assert [c["external_id"] for c in env.api.state()] == ["P3"]

        dl = dead_letters(env, 2)
        assert set(dl) == {"P1", "P2"}, dl
        assert dl["P1"]["custsync.error.code"] == "rejected", dl["P1"]
        assert dl["P1"]["custsync.error.http_status"] == "200", dl["P1"]
        assert dl["P1"]["custsync.error.message"] == \
            p1["error"]["message"], dl["P1"]
        assert w.stop() == 0, w.tail()


VALIDATION_PROBLEM = {
    "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
    "title": "One or more validation errors occurred.",
    "status": 400,
    "detail": "The customer was not saved.",
    "instance": "/wms/Customer",
    "errors": {"zip": ["The zip field is required."],
               "email": ["Not an e-mail address.", "Too long."]},
    "traceId": "00-0af7651916cd43dd8448eb211c80319c-00"}


def test_wms_problem_document_keeps_detail_and_errors():
    with h.Env(api=dict(no_auth=True, profile="wms")) as env:
        w = env.worker()
        script(env.api, 400, VALIDATION_PROBLEM, problem=True)
        env.produce([native("create", "W1", {"name": "Acme"})])
        outcomes(env, 1)
        script(env.api, 405, {
            "type": "about:blank", "title": "Method Not Allowed",
            "status": 405, "detail": "Customer W2 is locked by an import"},
            problem=True)
        env.produce([native("upsert", "W2", {"name": "Beta"})])
        outcomes(env, 2)
        # A create answered 200 with an empty shortID: done, maybe, but
        # not applied to a customer custsync can name.
        script(env.api, 200, {"shortID": "", "name": "Gamma"}, apply=True)
        env.produce([native("create", "W3", {"name": "Gamma"})])
        outs = outcomes(env, 3)
        validate(outs)
        ev = by_event(outs)

        e1 = ev["create-W1"]["error"]
        assert e1["code"] == "rejected" and e1["http_status"] == 400, e1
        assert e1["message"] == (
            "POST create: HTTP 400: One or more validation errors "
            "occurred.: The customer was not saved.; zip: The zip field "
            "is required.; email: Not an e-mail address., Too long."), e1
        e2 = ev["upsert-W2"]["error"]
        assert e2["message"] == ("POST create: HTTP 405: Method Not "
                                 "Allowed: Customer W2 is locked by an "
                                 "import"), e2
        w3 = ev["create-W3"]
        assert (w3["status"], w3["target_id"]) == ("failed", None), w3
        assert w3["error"]["code"] == "invalid_response", w3
        assert "names no customer id" in w3["error"]["message"], w3
        assert "the create may have been applied: check the target for " \
            "key 'W3'" in w3["error"]["message"], w3
        # It was: the operator's check finds it.
        assert [c["shortID"] for c in env.api.state()] == ["W3"]

        dl = dead_letters(env, 3)
        assert set(dl) == {"W1", "W2", "W3"}, dl
        assert dl["W1"]["custsync.error.message"] == e1["message"]
        assert dl["W3"]["custsync.error.code"] == "invalid_response"
        assert w.stop() == 0, w.tail()


def test_create_answered_with_an_empty_id_is_invalid_response():
    with h.Env(api=dict(no_auth=True)) as env:
        w = env.worker()
        script(env.api, 201, {"Id": "", "Name": "Acme",
                              "Type": "Customer"}, apply=True,
               route="/customers")
        env.produce([native("create", "K1", customer("Acme", "N-1"))])
        outcomes(env, 1)
        env.produce([native("create", "K2", customer("Beta", "N-2"))])
        outs = outcomes(env, 2)
        validate(outs)
        ev = by_event(outs)

        k1 = ev["create-K1"]
        assert (k1["status"], k1["action"], k1["target_id"]) == \
            ("failed", "none", None), k1
        assert k1["error"]["code"] == "invalid_response", k1
        assert k1["error"]["http_status"] == 201, k1
        assert k1["error"]["message"] == (
            "POST create: HTTP 201: the answer names no customer id; the "
            "create may have been applied: check the target for key "
            "'K1'"), k1
        k2 = ev["create-K2"]
        assert k2["status"] == "applied" and k2["target_id"], k2
        assert sorted(c["ExternalId"] for c in env.api.state()) == \
            ["K1", "K2"]

        dl = dead_letters(env, 1)
        assert set(dl) == {"K1"}, dl
        assert dl["K1"]["custsync.error.code"] == "invalid_response"
        assert w.stop() == 0, w.tail()


if __name__ == "__main__":
    h.run_tests(globals())
