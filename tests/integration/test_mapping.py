"""A Debezium stream of an ERP table whose columns are not in the
canonical shape, mapped by `mapping:`, synced into several profiles."""

import harness as h
from events import outcomes, validate

MAPPING = """mapping:
  name: /CUSTNAME
  type: /KIND
  number: /CUSTNO
  email: [/EMAIL1, /EMAIL2]
  phone: /PHONE
  company: /CUSTNAME
  contact.first_name: /FIRSTNAME
  contact.last_name: /LASTNAME
  billing_address.street: [/STREET1, /STREET2]
  billing_address.city: /CITY
  billing_address.state_code: /STATE
  billing_address.postal_code: /ZIPCODE
  billing_address.country_code: /COUNTRY
"""


def row(no, name, **kw):
    r = {"CUSTNO": no, "CUSTNAME": name, "KIND": "customer",
         "EMAIL1": f"{no.lower()}@erp.test", "EMAIL2": None,
         "PHONE": "+3292000000", "FIRSTNAME": "Ann", "LASTNAME": "Lee",
         "STREET1": "Veldstraat 1", "STREET2": "", "CITY": "Ghent",
         "STATE": "VOV", "ZIPCODE": "9000", "COUNTRY": "BE",
         "CREDIT_LIMIT": 5000}
    r.update(kw)
    return r


def dbz(op, after, before=None):
    return {"schema": {"type": "struct"},
            "payload": {"op": op, "before": before, "after": after,
                        "ts_ms": 1795860000000,
                        "source": {"table": "CUSTOMERS"}}}


def key(no):
    return '{"schema":{"type":"struct"},"payload":{"CUSTNO":"%s"}}' % no


def stream():
    a = row("C100", "Acme")
    b = row("C200", "Beta", EMAIL2="ap@beta.test")
    return [
        {"key": key("C100"), "value": dbz("r", a)},
        {"key": key("C200"), "value": dbz("c", b)},
        {"key": key("C100"), "value": dbz("u", dict(a, CUSTNAME="Acme NV",
                                                    ZIPCODE="9050"), a)},
        {"key": key("C200"), "value": dbz("d", None, b)},
        {"key": key("C200"), "value": None},
    ]


def run(profile, check):
    with h.Env(api=dict(no_auth=True, profile=profile)) as env:
        env.worker(extra_yaml=MAPPING)
        env.produce(stream())
        outs = outcomes(env, 5)
        validate(outs)
        got = {}
        for o in outs:
            got.setdefault(o["key"], []).append((o["op"], o["status"]))
        assert got == {
            "C100": [("upsert", "applied"), ("upsert", "applied")],
            "C200": [("create", "applied"), ("delete", "applied"),
                     ("skip", "skipped")]}, got
        check(env.api.state())


def test_mapped_rows_into_alvys():
    def check(state):
        st = {c["ExternalId"]: c for c in state}
        a = st["C100"]
        assert (a["Name"], a["CompanyNumber"], a["Type"]) == \
            ("Acme NV", "C100", "Customer"), a
        assert a["Email"] == ["c100@erp.test"], a
        assert a["BillingAddress"] == {"Street": "Veldstraat 1",
                                       "City": "Ghent", "State": "VOV",
                                       "Zip": "9050"}, a
        b = st["C200"]
        assert b["Email"] == ["c200@erp.test", "ap@beta.test"], b
        assert b["Status"] == "Inactive", b
    run("alvys", check)


def test_mapped_rows_into_engage():
    def check(state):
        st = {c["externalId"]: c for c in state}
        a = st["C100"]
        assert (a["company"], a["customerNumber"], a["email"]) == \
            ("Acme NV", "C100", "c100@erp.test"), a
        assert (a["firstName"], a["lastName"]) == ("Ann", "Lee"), a
        assert a["location"]["postalCode"] == "9050", a
        assert a["location"]["translations"]["city"] == \
            [{"language": "en", "value": "Ghent"}], a
        assert st["C200"]["deletedAt"], st["C200"]
    run("engage", check)


def test_mapped_rows_into_wms():
    def check(state):
        st = {c["shortID"]: c for c in state}
        a = st["C100"]
        assert (a["name"], a["zip"], a["email"]) == \
            ("Acme NV", "9050", "c100@erp.test"), a
        assert (a["address1"], a["city"], a["state"], a["country"]) == \
            ("Veldstraat 1", "Ghent", "VOV", "BE"), a
        assert a["contact"] == "Ann Lee" and a["active"], a
        assert st["C200"]["active"] is False, st["C200"]
    run("wms", check)


if __name__ == "__main__":
    h.run_tests(globals())
