"""The reference Schema Registry (tests/servers/schemareg) and the Avro
wire-format helper the Avro input's tests produce records with.

    CUSTSYNC_BUILD_DIR=build /usr/bin/python3 \
        tests/integration/test_schemareg.py [test_name...]
"""

import json
import signal
import sys
import time
import urllib.error
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness as h  # noqa: E402
from schemareg import SchemaRegistry, decode, wire  # noqa: E402

ROW = {"type": "record", "name": "Value", "namespace": "pg.public.c",
       "fields": [{"name": "id", "type": "long"},
                  {"name": "name", "type": ["null", "string"]}]}
OTHER = {"type": "record", "name": "Key", "namespace": "pg.public.c",
         "fields": [{"name": "id", "type": "long"}]}
CT = "application/vnd.schemaregistry.v1+json"


def test_register_fetch_and_unknown_id():
    reg = SchemaRegistry().start()
    try:
        a = reg.register("erp.customers-value", ROW)
        # The same schema, spaced differently and in another subject.
        text = '{ "type":"record", "name":"Value",' \
            ' "namespace":"pg.public.c", "fields":[' \
            '{"name":"id","type":"long"},' \
            '{"name":"name","type":["null","string"]}]}'
        assert reg.register("other-value", text) == a
        b = reg.register("erp.customers-key", OTHER)
        assert b != a, (a, b)
        status, hdrs, body = reg.call("GET", f"/schemas/ids/{a}")
        assert status == 200, (status, body)
        assert hdrs["Content-Type"] == CT, hdrs["Content-Type"]
        assert json.loads(body["schema"]) == ROW, body
        reg.call("GET", f"/schemas/ids/{a}")
        status, hdrs, body = reg.call("GET", "/schemas/ids/999")
        assert status == 404, status
        assert body["error_code"] == 40403, body
        assert hdrs["Content-Type"] == CT, hdrs["Content-Type"]
        status, _, body = reg.call("GET", "/schemas/ids/x1")
        assert status == 404 and body["error_code"] == 40403, body
        counts = reg.requests()
        assert counts["gets"] == {str(a): 2, str(b): 0}, counts
        assert counts["registers"] == 3, counts
        # A record produced with the registered schema reads back.
        rec = {"id": 7, "name": "Acme"}
        payload = wire(a, ROW, rec)
        assert payload[:5] == b"\x00" + a.to_bytes(4, "big"), payload
        assert decode(body_schema(reg, a), payload) == rec
    finally:
        reg.stop()


def body_schema(reg, sid):
    status, _, body = reg.call("GET", f"/schemas/ids/{sid}")
    assert status == 200, (status, body)
    return body["schema"]


def _refused(reg):
    """True: refused; False: answered; None: reset while the server
    closes or opens its socket, which decides nothing yet."""
    try:
        reg.call("GET", "/schemas/ids/1")
    except urllib.error.URLError as e:
        if isinstance(e.reason, ConnectionResetError):
            return None
        return isinstance(e.reason, ConnectionRefusedError)
    except ConnectionRefusedError:
        return True
    except ConnectionResetError:
        return None
    return False


def test_faults():
    reg = SchemaRegistry().start()
    try:
        sid = reg.register("s-value", ROW)
        # The next two calls fail, the third is served.
        reg.fail(2, 503)
        assert reg.call("GET", f"/schemas/ids/{sid}")[0] == 503
        assert reg.call("GET", f"/schemas/ids/{sid}")[0] == 503
        assert reg.call("GET", f"/schemas/ids/{sid}")[0] == 200
        # 500 until told.
        reg.down(0, status=500)
        status, _, body = reg.call("GET", f"/schemas/ids/{sid}")
        assert status == 500 and body["error_code"] == 50001, body
        assert reg.call("POST", "/subjects/s-value/versions",
                        {"schema": "\"long\""})[0] == 500
        reg.up()
        assert reg.call("GET", f"/schemas/ids/{sid}")[0] == 200
        # Not listening for a second, then back on the same port with
        # the same schemas.
        reg.down(1)
        h.wait_until(lambda: _refused(reg) is True, 2, what="registry to refuse")
        h.wait_until(lambda: _refused(reg) is False, 5,
                     what="registry to listen again")
        assert body_schema(reg, sid)
        assert reg.requests()["gets"][str(sid)] >= 4
    finally:
        reg.stop()


def test_refuse_until_signal():
    reg = SchemaRegistry().start()
    try:
        reg.proc.send_signal(signal.SIGUSR1)
        h.wait_until(lambda: _refused(reg) is True, 3, what="registry to refuse")
        time.sleep(0.3)
        assert _refused(reg) is True
        reg.proc.send_signal(signal.SIGUSR2)
        h.wait_until(lambda: _refused(reg) is False, 3,
                     what="registry to listen again")
    finally:
        reg.stop()


def test_basic_auth():
    reg = SchemaRegistry(user="reg:s3cret").start()
    try:
        sid = reg.register("s-value", ROW)
        status, hdrs, body = reg.call("GET", f"/schemas/ids/{sid}")
        assert status == 401, status
        assert "Basic" in hdrs["WWW-Authenticate"], hdrs
        status, _, _ = reg.call("GET", f"/schemas/ids/{sid}",
                                auth="reg:wrong")
        assert status == 401, status
        status, _, body = reg.call("GET", f"/schemas/ids/{sid}",
                                   auth="reg:s3cret")
        assert status == 200, (status, body)
        # Controls need no credentials.
        assert reg.requests()["total"] == 4
    finally:
        reg.stop()


if __name__ == "__main__":
    h.run_tests(globals())
