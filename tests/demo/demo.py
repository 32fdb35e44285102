"""custsync demo: a sample ERP change stream through the real daemon, a
local Kafka-protocol broker and the reference Alvys API, printed as the
on-call engineer would read the results topic. With --format avro the
stream is Debezium's Avro envelopes in Confluent's wire format, their
schemas served by the reference Schema Registry."""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

import harness as h  # noqa: E402
from events import customer, native  # noqa: E402
from schemareg import SchemaRegistry, wire  # noqa: E402

CLIENT = {"id": "demo", "secret": "demo-secret", "tenant": "acme",
          "scopes": ["customer:read", "customer:create", "customer:update",
                     "customer:delete"]}


def say(msg):
    print(f"==> {msg}", flush=True)


def wait(env, n):
    return [r["json"] for r in env.wait_for("custsync.results", n, 90)]


def table(outs):
    cols = ["offset", "key", "op", "status", "action", "http", "tries",
            "conflicts / error"]
    rows = []
    for o in outs:
        note = ""
        if o["conflicts"]:
            c = o["conflicts"][0]
            note = (f"409 on {c['field']} -> {c['target_id']}"
                    if c["status"] == 409 else
                    f"{c['status']} stale ETag: re-read, re-applied")
        if o["error"]:
            e = o["error"]
            note = f"{e['code']}: {e['message']}"[:60]
        rows.append([f"{o['source']['partition']}/{o['source']['offset']}",
                     o["key"], o["op"] or "-", o["status"], o["action"],
                     str(o["http_status"] or "-"), str(o["attempts"]), note])
    widths = [max(len(c), *(len(r[i]) for r in rows))
              for i, c in enumerate(cols)]
    line = "  ".join(c.ljust(w) for c, w in zip(cols, widths))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)))


ADDR = {"street": ["1 Harbour Way"], "city": "New York", "state": "New York",
        "state_code": "NY", "postal_code": "10001", "country": "United States",
        "country_code": "US"}


def person(name, number, email, **kw):
    """A customer every profile can take (the portal wants email, phone
    and an address with a state; engage a country code and a street)."""
    return customer(name, number, email=[email], phone=["555-0100"],
                    contact={"first_name": "Pat", "last_name": name},
                    billing_address=ADDR, **kw)


def alvys_story(env):
    """409 on a number entered by hand, and an edit racing the sync."""
    env.api.seed({"Name": "Northwind (entered by hand)", "Type": "Customer",
                  "CompanyNumber": "NW-001"}, tenant="acme")
    env.produce([
        native("create", "ERP-100", person("Acme Logistics", "ACME-1",
                                           "ap@acme.test")),
        native("create", "ERP-101", person("Globex", "GLX-7",
                                           "ap@globex.test", type="broker")),
        native("create", "ERP-102", customer("Northwind", "NW-001")),
        native("update", "ERP-100", {"phone": ["555-0199"]},
               event_id="upd-100"),
    ])
    outs = wait(env, 4)
    say("someone edits Globex in the partner's UI (its ETag changes)")
    env.api.edit(next(o for o in outs if o["key"] == "ERP-101")
                 ["target_id"], {"Fax": "555-0111"})
    env.produce([
        native("update", "ERP-101", {"name": "Globex Corp"},
               event_id="upd-101"),
        native("delete", "ERP-102", event_id="del-102"),
        {"key": "ERP-bad", "value": b'{"op": "create", "key": '},
    ])
    wait(env, 7)
    return 7


def generic_story(env):
    """Creates, an update, a replay that changes nothing, a delete and a
    malformed event, for the profiles without ETags."""
    env.produce([
        native("create", "ERP-100", person("Acme Logistics", "ACME-1",
                                           "ap@acme.test")),
        native("create", "ERP-101", person("Globex", "GLX-7",
                                           "ap@globex.test")),
        native("update", "ERP-100", {"phone": ["555-0199"]},
               event_id="upd-100"),
        native("upsert", "ERP-101", person("Globex", "GLX-7",
                                           "ap@globex.test"),
               event_id="same-101"),
        native("delete", "ERP-101", event_id="del-101"),
        {"key": "ERP-bad", "value": b'{"op": "create", "key": '},
    ])
    wait(env, 6)
    return 6


# The canonical customer as an Avro row, so no mapping is needed; a real
# ERP table would come with a mapping: section instead.
STRINGS = {"type": "array", "items": "string"}
AVRO_ROW = {"type": "record", "name": "Value", "namespace": "erp.customers",
            "fields": [
                {"name": "name", "type": "string"},
                {"name": "type", "type": "string"},
                {"name": "number", "type": "string"},
                {"name": "email", "type": STRINGS},
                {"name": "phone", "type": STRINGS},
                {"name": "contact", "type": {
                    "type": "record", "name": "Contact", "fields": [
                        {"name": "first_name", "type": "string"},
                        {"name": "last_name", "type": "string"}]}},
                {"name": "billing_address", "type": {
                    "type": "record", "name": "Address", "fields": [
                        {"name": "street", "type": STRINGS}] + [
                        {"name": f, "type": "string"} for f in
                        ("city", "state", "state_code", "postal_code",
                         "country", "country_code")]}}]}
AVRO_ENVELOPE = {"type": "record", "name": "Envelope",
                 "namespace": "erp.customers", "fields": [
                     {"name": "before", "type": ["null", AVRO_ROW],
                      "default": None},
                     {"name": "after", "type": ["null", "Value"],
                      "default": None},
                     {"name": "op", "type": "string"},
                     {"name": "ts_ms", "type": ["null", "long"],
                      "default": None}]}
AVRO_KEY = {"type": "record", "name": "Key", "namespace": "erp.customers",
            "fields": [{"name": "id", "type": "string"}]}


class AvroStream:
    """Debezium Avro records (key and value in the wire format)."""

    def __init__(self, reg):
        self.key_id = reg.register("erp.customers-key", AVRO_KEY)
        self.value_id = reg.register("erp.customers-value", AVRO_ENVELOPE)

    def record(self, op, key, row=None):
        value = {"before": None, "after": row, "op": op,
                 "ts_ms": 1795860000000}
        return {"key": wire(self.key_id, AVRO_KEY, {"id": key}),
                "value": wire(self.value_id, AVRO_ENVELOPE, value)}

    def tombstone(self, key):
        return {"key": wire(self.key_id, AVRO_KEY, {"id": key}),
                "value": None}


def avro_story(env, avro):
    """Creates, an update, a snapshot read that changes nothing, a delete
    and its tombstone, and a record that is not Avro (a JSON value on the
    Avro topic)."""
    acme = person("Acme Logistics", "ACME-1", "ap@acme.test")
    globex = person("Globex", "GLX-7", "ap@globex.test")
    env.produce([
        avro.record("c", "ERP-100", acme),
        avro.record("c", "ERP-101", globex),
        avro.record("u", "ERP-100", dict(acme, phone=["555-0199"])),
        avro.record("r", "ERP-101", globex),
        avro.record("d", "ERP-101"),
        avro.tombstone("ERP-101"),
        {"key": wire(avro.key_id, AVRO_KEY, {"id": "ERP-bad"}),
         "value": b'{"op": "c", "after": {"name": "JSON"}}'},
    ])
    wait(env, 7)
    return 7


def cli(w, *args):
    """custsync ARGS -c <the demo's config>, in the worker's environment."""
    rc, out, err = w.command(*args, timeout=120)
    print(out.rstrip())
    if rc != 0:
        print(err.rstrip())
        raise SystemExit(f"custsync {args[0]} exited {rc}")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--profile", default="alvys",
                    choices=sorted(h.PROFILE_BASE),
                    help="the partner API to play (default alvys)")
    ap.add_argument("--format", default="json", choices=["json", "avro"],
                    help="the input records: JSON envelopes (default) or "
                         "Debezium's Avro with a Schema Registry")
    args = ap.parse_args()
    config = (h.SOURCE_DIR / "config" / "demo.yaml").read_text()
    reg = None
    if args.format == "avro":
        reg = SchemaRegistry().start()
        config += ("input:\n  format: avro\n  schema_registry:\n"
                   f"    url: {reg.url}\n")
    try:
        return run(args, config, reg)
    finally:
        if reg:
            reg.stop()


def run(args, config, reg):
    avro = None
    with h.Env(api=dict(clients=[CLIENT], profile=args.profile)) as env:
        say(f"broker {env.bootstrap}, reference {args.profile} API "
            f"{env.api.url}")
        w = env.worker(config=config, env={
            "CUSTSYNC_BROKERS": env.bootstrap,
            "CUSTSYNC_PROFILE": args.profile,
            "CUSTSYNC_API_BASE": env.api.base_url,
            "CUSTSYNC_API_URL": env.api.url,
            "CUSTSYNC_CLIENT_ID": "demo",
            "CUSTSYNC_CLIENT_SECRET": "demo-secret"})
        say("custsync running (config/demo.yaml); feeding the ERP stream")
        if reg:
            say(f"Avro input: schemas from the registry at {reg.url}")
            avro = AvroStream(reg)
            n = avro_story(env, avro)
        else:
            n = (alvys_story if args.profile == "alvys"
                 else generic_story)(env)
        say("the partner disables writes for 3 s (503 + Retry-After: 2)")
        env.api.disable_writes(seconds=3, retry_after=2)
        env.produce([(avro.record("c", f"ERP-2{i:02d}", p) if reg
                      else native("create", f"ERP-2{i:02d}", p))
                     for i, p in ((i, person(f"Initech {i}", f"INI-{i}",
                                             f"ap{i}@initech.test"))
                                  for i in range(5))])
        outs = wait(env, n + 5)
        rc = w.stop()
        say(f"custsync stopped with exit code {rc}")
        print()
        table(outs)
        print()
        say("custsync dlq: what is on the dead-letter topic")
        cli(w, "dlq")
        say("custsync replay --dry-run: what a replay would do now")
        cli(w, "replay", "--dry-run")
        refused = sum(v for k, v in env.api.requests()["counts"].items()
                      if k.endswith(" 503"))
        say(f"reference API: {len(env.api.state())} customers, "
            f"{refused} write(s) answered 503 during the window")
        return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
