"""Rows of Debezium's ExtractNewRecordState (input.format: debezium_flat),
with and without the JsonConverter's schema wrapper, into the alvys
profile: __op, __deleted and tombstones as ops, and a Decimal and a
Timestamp column arriving as their canonical text."""

import harness as h
from events import outcomes, validate

CONFIG = """input:
  format: debezium_flat
mapping:
  name: /CUSTNAME
  type: /KIND
  number: /CREDIT
  fax: /SINCE
"""

SCHEMA = {"type": "struct", "name": "erp.CUSTOMERS.Value", "fields": [
    {"field": "CUSTNO", "type": "string"},
    {"field": "CUSTNAME", "type": "string"},
    {"field": "KIND", "type": "string"},
    {"field": "CREDIT", "type": "bytes", "optional": True,
     "name": "org.apache.kafka.connect.data.Decimal",
     "parameters": {"scale": "2", "connect.decimal.precision": "10"}},
    {"field": "SINCE", "type": "int64", "optional": True,
     "name": "io.debezium.time.Timestamp"},
    {"field": "__op", "type": "string", "optional": True},
    {"field": "__table", "type": "string", "optional": True},
    {"field": "__source_ts_ms", "type": "int64", "optional": True},
    {"field": "__deleted", "type": "string", "optional": True}]}


def row(no, name, credit, **meta):
    r = {"CUSTNO": no, "CUSTNAME": name, "KIND": "customer",
         "CREDIT": credit, "SINCE": 1709209815123,
         "__table": "CUSTOMERS", "__source_ts_ms": 1795860000000}
    r.update(meta)
    return r


def wrapped(r):
    return {"schema": SCHEMA, "payload": r}


def stream():
    return [
        # 3050 at scale 2, and -5 at scale 2.
        {"key": "C100", "value": wrapped(row("C100", "Acme", "C+o=",
                                             __op="c"))},
        {"key": "C200", "value": wrapped(row("C200", "Beta", "+w=="))},
        {"key": "C200", "value": wrapped(row("C200", "Beta", "+w==",
                                             __op="d", __deleted="true"))},
        {"key": "C200", "value": None},
        {"key": "C300", "value": wrapped(row("C300", "Bad", "C+o",
                                             __op="c"))},
        # No wrapper: nothing says CREDIT is a decimal, so it stays.
        {"key": "C400", "value": row("C400", "Plain", "12.5", __op="r",
                                     SINCE="2024-02-29")},
    ]


def test_flat_rows_decimals_and_times():
    with h.Env(api=dict(no_auth=True, profile="alvys")) as env:
        env.worker(extra_yaml=CONFIG)
        env.produce(stream())
        outs = outcomes(env, 6)
        validate(outs)
        got = {}
        for o in outs:
            got.setdefault(o["key"], []).append((o["op"], o["status"]))
        assert got == {
            "C100": [("create", "applied")],
            "C200": [("upsert", "applied"), ("delete", "applied"),
                     ("delete", "unchanged")],
            "C300": [(None, "failed")],
            "C400": [("upsert", "applied")]}, got
        bad = [o for o in outs if o["key"] == "C300"][0]
        assert bad["error"]["code"] == "invalid_decimal", bad
        assert "CREDIT" in bad["error"]["message"], bad
        dls = env.wait_for("custsync.dead-letter", 1)
        assert [r["key"] for r in dls] == ["C300"], dls

        st = {c["ExternalId"]: c for c in env.api.state()}
        a = st["C100"]
        assert (a["Name"], a["CompanyNumber"], a["Fax"]) == \
            ("Acme", "30.50", "2024-02-29T12:30:15.123Z"), a
        b = st["C200"]
        assert b["CompanyNumber"] == "-0.05" and \
            b["Status"] == "Inactive", b
        assert "C300" not in st, st
        c = st["C400"]
        assert (c["CompanyNumber"], c["Fax"]) == ("12.5", "2024-02-29"), c


if __name__ == "__main__":
    h.run_tests(globals())
