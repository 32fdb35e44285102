"""The reference Schema Registry (tests/servers/schemareg) and Avro records
in Confluent's wire format, for the integration tests of Avro input.

    reg = SchemaRegistry().start()
    sid = reg.register("erp.customers-value", schema)
    payload = wire(sid, schema, {"id": 1, ...})   # 0x00, id, Avro binary

Encoding uses python3-avro (Debian's package), so the bytes the tests feed
come from an Avro implementation other than the decoder under test.
"""

import base64
import io
import json
import struct
import subprocess

import harness as h


class SchemaRegistry:
    """schemareg: SchemaRegistry(user="u:p").start(); .url; .stop()."""

    def __init__(self, user=None, workdir=None):
        self.user = user
        self._own_dir = None
        if workdir is None:
            self._own_dir = h._Workdir("custsync-schemareg-")
            workdir = self._own_dir.path
        self.log_path = workdir / "schemareg.log"
        self.proc = None
        self._port = None

    def start(self, timeout=h.START_TIMEOUT_S):
        argv = [h._require_bin("schemareg")]
        if self.user:
            argv += ["--user", self.user]
        with open(self.log_path, "ab") as err:
            self.proc = h.spawn(argv, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=err)
        self._reader = h._LineReader(self.proc.stdout, self.log_path)
        try:
            self._port = int(self._reader.expect(
                "PORT ", timeout, "schemareg", self.log_path).strip())
        except Exception:
            self.stop()
            raise
        return self

    @property
    def url(self):
        if self._port is None:
            raise RuntimeError("SchemaRegistry not started")
        return f"http://127.0.0.1:{self._port}"

    def stop(self, keep=False):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc is not None:
            self._reader.close()
        if self._own_dir:
            self._own_dir.cleanup(keep)

    def call(self, method, path, body=None, auth=None):
        """-> (status, headers, parsed JSON or None); raises when the
        connection is refused."""
        hdrs = {}
        if auth:
            hdrs["Authorization"] = "Basic " + base64.b64encode(
                auth.encode()).decode()
        if body is not None:
            body = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/vnd.schemaregistry.v1+json"
        status, rh, data = h.http(method, self.url + path, body, hdrs)
        return status, rh, (json.loads(data) if data else None)

    def _control(self, method, name, body=None):
        status, _, out = self.call(method, "/_control/" + name, body)
        if status != 200:
            raise RuntimeError(f"schemareg /_control/{name}: {status} {out}")
        return out

    def register(self, subject, schema, auth=None):
        """schema: dict or JSON text -> its id."""
        text = schema if isinstance(schema, str) else json.dumps(schema)
        status, _, out = self.call("POST", f"/subjects/{subject}/versions",
                                   {"schema": text}, auth or self.user)
        if status != 200:
            raise RuntimeError(f"register {subject}: {status} {out}")
        return out["id"]

    def down(self, seconds, status=None):
        """status None: refuse connections for seconds; else answer it."""
        body = {"seconds": seconds}
        if status is not None:
            body["status"] = status
        return self._control("POST", "down", body)

    def fail(self, count, status=500):
        return self._control("POST", "fail", {"count": count,
                                              "status": status})

    def up(self):
        return self._control("POST", "up")

    def requests(self):
        return self._control("GET", "requests")


def encode(schema, record):
    """record as the Avro binary of schema (dict or JSON text)."""
    import avro.io
    import avro.schema
    text = schema if isinstance(schema, str) else json.dumps(schema)
    out = io.BytesIO()
    avro.io.DatumWriter(avro.schema.parse(text)).write(
        record, avro.io.BinaryEncoder(out))
    return out.getvalue()


def wire(schema_id, schema, record):
    """Confluent's wire format: magic 0, big-endian id, Avro binary."""
    return b"\x00" + struct.pack(">I", schema_id) + encode(schema, record)


def decode(schema, payload):
    """The inverse of wire(), for checking what a test produced."""
    import avro.io
    import avro.schema
    text = schema if isinstance(schema, str) else json.dumps(schema)
    if payload[:1] != b"\x00":
        raise ValueError("not Confluent wire format")
    reader = avro.io.DatumReader(avro.schema.parse(text))
    return reader.read(avro.io.BinaryDecoder(io.BytesIO(payload[5:])))

