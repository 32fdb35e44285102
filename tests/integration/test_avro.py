"""Avro input (input.format: avro) end to end: records in Confluent's wire
format, written by python3-avro (an implementation other than the
decoder under test), schemas served by the reference Schema Registry
(tests/servers/schemareg), the built daemon, the mock broker and the
reference API. Debezium envelopes (c/u/r/d + tombstone) into alvys and
wms, flattened rows with __deleted, a decimal and a timestamp column, a
registry that is down for 10 s, and the records that cannot be read:
unknown schema id, a wrong magic byte, a body cut short."""

import base64
import datetime
import decimal
import os

import harness as h
from events import headers, outcomes, validate
from schemareg import SchemaRegistry, wire

DLQ = "custsync.dead-letter"

ROW = {"type": "record", "name": "Value", "namespace": "erp.CUSTOMERS",
       "fields": [
           {"name": "CUSTNO", "type": "string"},
           {"name": "CUSTNAME", "type": "string"},
           {"name": "KIND", "type": "string"},
           {"name": "CREDIT", "type": ["null", {
               "type": "bytes", "logicalType": "decimal",
               "precision": 10, "scale": 2}], "default": None},
           {"name": "SINCE", "type": ["null", {
               "type": "long", "logicalType": "timestamp-millis"}],
            "default": None}]}

# Debezium's envelope as the AvroConverter registers it.
ENVELOPE = {"type": "record", "name": "Envelope",
            "namespace": "erp.CUSTOMERS", "fields": [
                {"name": "before", "type": ["null", ROW], "default": None},
                {"name": "after", "type": ["null", "Value"],
                 "default": None},
                {"name": "source", "type": {
                    "type": "record", "name": "Source",
                    "namespace": "io.debezium.connector.postgresql",
                    "fields": [{"name": "table", "type": "string"},
                               {"name": "ts_ms", "type": "long"}]}},
                {"name": "op", "type": "string"},
                {"name": "ts_ms", "type": ["null", "long"],
                 "default": None}]}

KEY = {"type": "record", "name": "Key", "namespace": "erp.CUSTOMERS",
       "fields": [{"name": "CUSTNO", "type": "string"}]}

# ExtractNewRecordState with add.fields=op and
# delete.handling.mode=rewrite.
FLAT = dict(ROW, name="FlatValue", fields=ROW["fields"] + [
    {"name": "__op", "type": ["null", "string"], "default": None},
    {"name": "__deleted", "type": ["null", "string"], "default": None}])

MAPPING = """mapping:
  name: /CUSTNAME
  type: /KIND
  number: /CREDIT
  fax: /SINCE
"""

SINCE = datetime.datetime(2024, 2, 29, 12, 30, 15, 123000,
                          tzinfo=datetime.timezone.utc)


def row(no, name, credit="30.50"):
    return {"CUSTNO": no, "CUSTNAME": name, "KIND": "customer",
            "CREDIT": decimal.Decimal(credit) if credit else None,
            "SINCE": SINCE}


def config(reg, flat=False, user=None, workdir=None):
    lines = ["input:", "  format: avro",
             f"  flat: {'true' if flat else 'false'}",
             "  schema_registry:", f"    url: {reg.url}"]
    if user:
        name, password = user.split(":", 1)
        path = os.path.join(workdir, "registry-password")
        with open(path, "w") as f:
            f.write(password + "\n")
        os.chmod(path, 0o600)
        lines += [f"    username: {name}", f"    password_file: {path}"]
    return "\n".join(lines) + "\n" + MAPPING


class Ids:
    """The schemas of one topic registered, and records built with them."""

    def __init__(self, reg, value_schema):
        self.reg = reg
        self.value_schema = value_schema
        self.key_id = reg.register("erp.customers-key", KEY)
        self.value_id = reg.register("erp.customers-value", value_schema)

    def key(self, no):
        return wire(self.key_id, KEY, {"CUSTNO": no})

    def value(self, record):
        return wire(self.value_id, self.value_schema, record)


def envelope(op, no, name=None, credit="30.50"):
    after = row(no, name, credit) if name else None
    return {"before": None, "after": after,
            "source": {"table": "CUSTOMERS", "ts_ms": 1795860000000},
            "op": op, "ts_ms": 1795860000123}


def envelope_stream(ids):
    def rec(op, no, name=None, credit="30.50"):
        return {"key": ids.key(no),
                "value": ids.value(envelope(op, no, name, credit))}
    return [
        rec("c", "C100", "Acme"),
        rec("u", "C100", "Acme Renamed", "-0.05"),
        rec("r", "C200", "Beta", "12.00"),
        rec("d", "C200"),
        {"key": ids.key("C200"), "value": None},
        rec("c", "C300", "Gamma", None),
    ]


def by_key(outs):
    got = {}
    for o in outs:
        got.setdefault(o["key"], []).append((o["op"], o["status"]))
    return got


ENVELOPE_OUTCOMES = {
    "C100": [("create", "applied"), ("upsert", "applied")],
    "C200": [("upsert", "applied"), ("delete", "applied"),
             ("skip", "skipped")],
    "C300": [("create", "applied")]}


def test_debezium_avro_envelopes_into_alvys():
    """c/u/r/d and a tombstone, Avro keys reduced to their one field, a
    decimal and a timestamp as canonical text; the registry behind Basic
    authentication (password_file), and each schema id fetched once."""
    reg = SchemaRegistry(user="reg-user:reg-secret").start()
    try:
        with h.Env(api=dict(no_auth=True, profile="alvys")) as env:
            ids = Ids(reg, ENVELOPE)
            w = env.worker(extra_yaml=config(reg, user="reg-user:reg-secret",
                                             workdir=str(env.dir.path)))
            env.produce(envelope_stream(ids))
            outs = outcomes(env, 6)
            validate(outs)
            assert by_key(outs) == ENVELOPE_OUTCOMES, by_key(outs)
            st = {c["ExternalId"]: c for c in env.api.state()}
            a = st["C100"]
            assert (a["Name"], a["CompanyNumber"], a["Fax"]) == \
                ("Acme Renamed", "-0.05", "2024-02-29T12:30:15.123Z"), a
            assert st["C200"]["Status"] == "Inactive", st["C200"]
            assert st["C300"]["Name"] == "Gamma", st["C300"]
            gets = reg.requests()["gets"]
            assert gets == {str(ids.key_id): 1, str(ids.value_id): 1}, gets
            assert w.stop() == 0, w.tail()
    finally:
        reg.stop()


def test_debezium_avro_envelopes_into_wms():
    """The same stream into another profile: the Avro path ends in the
    same canonical changes whatever the partner."""
    client = {"id": "wms-it", "secret": "wms-secret", "tenant": "acme",
              "scopes": ["130", "131"]}
    basic = {"type": "basic", "username": "wms-it",
             "password": "wms-secret"}
    reg = SchemaRegistry().start()
    try:
        with h.Env(api=dict(clients=[client], profile="wms")) as env:
            ids = Ids(reg, ENVELOPE)
            w = env.worker(auth=basic, extra_yaml=config(reg))
            env.produce(envelope_stream(ids))
            outs = outcomes(env, 6)
            validate(outs)
            assert by_key(outs) == ENVELOPE_OUTCOMES, by_key(outs)
            names = sorted(c.get("name") for c in env.api.state()
                           if c.get("active", True))
            assert "Acme Renamed" in names and "Gamma" in names, \
                env.api.state()
            assert w.stop() == 0, w.tail()
    finally:
        reg.stop()


def test_flattened_avro_rows():
    """input.flat: rows of ExtractNewRecordState; __op as the op,
    __deleted: "true" and a tombstone as deletes, no __op an upsert."""
    reg = SchemaRegistry().start()
    try:
        with h.Env(api=dict(no_auth=True, profile="alvys")) as env:
            ids = Ids(reg, FLAT)

            def rec(no, name, **meta):
                r = dict(row(no, name), __op=None, __deleted=None)
                r.update(meta)
                return {"key": ids.key(no), "value": ids.value(r)}
            w = env.worker(extra_yaml=config(reg, flat=True))
            env.produce([
                rec("F1", "Flat One", __op="c", __deleted="false"),
                rec("F2", "Flat Two", CREDIT=None),
                rec("F2", "Flat Two", CREDIT=None, __op="d",
                    __deleted="true"),
                rec("F3", "Flat Three", CREDIT=None, __op="r"),
                {"key": ids.key("F3"), "value": None},
            ])
            outs = outcomes(env, 5)
            validate(outs)
            assert by_key(outs) == {
                "F1": [("create", "applied")],
                "F2": [("upsert", "applied"), ("delete", "applied")],
                "F3": [("upsert", "applied"), ("delete", "applied")]}, \
                by_key(outs)
            st = {c["ExternalId"]: c for c in env.api.state()}
            assert st["F1"]["CompanyNumber"] == "30.50", st["F1"]
            assert st["F1"]["Status"] != "Inactive", st["F1"]
            assert st["F2"]["Status"] == "Inactive", st["F2"]
            assert st["F3"]["Status"] == "Inactive", st["F3"]
            assert w.stop() == 0, w.tail()
    finally:
        reg.stop()


def test_registry_down_for_10s_mid_stream():
    """Records of a schema registered while the registry answers 503
    wait (consumption pauses), nothing fails, and all are applied
    once it is back."""
    reg = SchemaRegistry().start()
    try:
        with h.Env(api=dict(no_auth=True, profile="alvys")) as env:
            ids = Ids(reg, ENVELOPE)
            w = env.worker(extra_yaml=config(reg))
            env.produce([{"key": ids.key("D0"),
                          "value": ids.value(envelope("c", "D0", "Before",
                                                      None))}])
            outcomes(env, 1)
            # Version 2 of the value schema: a new id the worker has not
            # seen, registered just before the registry goes away.
            v2 = dict(ENVELOPE, fields=ENVELOPE["fields"] + [
                {"name": "transaction", "type": ["null", "string"],
                 "default": None}])
            ids2 = Ids(reg, v2)
            assert ids2.value_id != ids.value_id
            # 503 for 10 s: what a registry behind a load balancer
            # answers while its instances restart.
            reg.down(10, status=503)
            batch = []
            for i in range(1, 21):
                e = dict(envelope("c", f"D{i}", f"During {i}", None),
                         transaction=None)
                batch.append({"key": ids.key(f"D{i}"),
                              "value": ids2.value(e)})
            env.produce(batch)
            w.wait_log("consumption paused", timeout=20)
            # Nothing was decided while the registry was away.
            early = env.consume("custsync.results", timeout=2)
            assert len(early) == 1, early
            outs = outcomes(env, 21, timeout=60)
            validate(outs)
            assert all(o["status"] == "applied" for o in outs), outs
            assert env.consume(DLQ, timeout=2) == []
            assert reg.requests()["gets"].get(str(ids2.value_id), 0) >= 1
            assert "schema-registry" in w.log(), w.tail()
            w.wait_log("consumption resumed", timeout=20)
            assert w.stop() == 0, w.tail()
    finally:
        reg.stop()


def test_unreadable_records_fail_with_dead_letters():
    """An unknown schema id, a JSON value (magic byte '{'), and a body cut
    short: each failed with its code and a dead letter holding the
    original bytes; the records around them are applied."""
    reg = SchemaRegistry().start()
    try:
        with h.Env(api=dict(no_auth=True, profile="alvys")) as env:
            ids = Ids(reg, ENVELOPE)
            good = ids.value(envelope("c", "U1", "Good", None))
            unknown = b"\x00\x00\x00\x03\xe7" + good[5:]  # id 999
            json_value = b'{"op": "c", "key": "U3"}'
            short = good[:-4]
            recs = [
                {"key": ids.key("U0"),
                 "value": ids.value(envelope("c", "U0", "First", None))},
                {"key": ids.key("U1"), "value": unknown},
                {"key": ids.key("U2"), "value": json_value},
                {"key": ids.key("U3"), "value": short},
                {"key": ids.key("U4"),
                 "value": ids.value(envelope("c", "U4", "Last", None))},
            ]
            w = env.worker(extra_yaml=config(reg))
            env.produce(recs)
            outs = outcomes(env, 5)
            validate(outs)
            got = {o["key"]: o for o in outs}
            assert set(got) == {"U0", "U1", "U2", "U3", "U4"}, got
            assert got["U0"]["status"] == got["U4"]["status"] == "applied"
            codes = {k: got[k]["error"]["code"] for k in ("U1", "U2", "U3")}
            assert codes == {"U1": "unknown_schema", "U2": "invalid_avro",
                             "U3": "invalid_avro"}, codes
            assert "999" in got["U1"]["error"]["message"], got["U1"]
            dls = env.wait_for(DLQ, 3)
            sent = {r["key"]: r["value"] for r in recs}
            for d in dls:
                hd = headers(d)
                assert d["value_bytes"] in (unknown, json_value, short), d
                assert hd["custsync.error.code"] in ("unknown_schema",
                                                     "invalid_avro"), hd
            assert sorted(d["value_bytes"] for d in dls) == \
                sorted([sent[ids.key("U1")], sent[ids.key("U2")],
                        sent[ids.key("U3")]])
            # The Avro key reaches the dead letter as it came.
            assert sorted(base64.b64decode(d["key_b64"]) for d in dls) == \
                sorted(ids.key(k) for k in ("U1", "U2", "U3")), dls
            assert w.stop() == 0, w.tail()
    finally:
        reg.stop()


if __name__ == "__main__":
    h.run_tests(globals())
