"""target.tls against the reference API behind a TLS front that the test
starts (python's ssl module: libmicrohttpd's client-certificate checks
are not needed for this), with a CA and certificates made by openssl:
a private CA by ca_file and by CURL_CA_BUNDLE, none (a TLS failure),
mutual TLS given and missing, and a config key naming a missing file."""

import os
import socket
import ssl
import subprocess
import tempfile
import threading

import harness as h
from events import customer, native


def _openssl(d, *args):
    subprocess.run(["openssl", *args], cwd=d, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=30)


def make_pki(d):
    """ca.pem, server.pem/key (127.0.0.1), client.pem/key, by the CA."""
    _openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
             "2", "-subj", "/CN=test-ca", "-keyout", "ca.key", "-out",
             "ca.pem")
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1"),
                      ("client", "extendedKeyUsage=clientAuth")):
        _openssl(d, "req", "-newkey", "rsa:2048", "-nodes", "-subj",
                 f"/CN={name}", "-keyout", f"{name}.key", "-out",
                 f"{name}.csr")
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(ext + "\n")
        _openssl(d, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem",
                 "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
                 "-extfile", f"{name}.ext", "-out", f"{name}.pem")
    return {k: os.path.join(d, f) for k, f in (
        ("ca", "ca.pem"), ("cert", "client.pem"), ("key", "client.key"),
        ("scert", "server.pem"), ("skey", "server.key"))}


def relay(a, b):
    """Bytes from socket a to b until a ends, then both are shut."""
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class TlsFront:
    """TLS on 127.0.0.1 in front of a plain HTTP port: each connection
    is relayed byte for byte. require_client: the client must show a
    certificate signed by the CA."""

    def __init__(self, pki, upstream_port, require_client=False):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki["scert"], pki["skey"])
        if require_client:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(pki["ca"])
        self.ctx, self.up = ctx, upstream_port
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.handshakes = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                continue
            try:
                raw.settimeout(10)
                tls = self.ctx.wrap_socket(raw, server_side=True)
                tls.settimeout(None)
            except (OSError, ssl.SSLError):
                raw.close()
                continue
            self.handshakes += 1
            up = socket.create_connection(("127.0.0.1", self.up), timeout=10)
            up.settimeout(None)
            for a, b in ((tls, up), (up, tls)):
                threading.Thread(target=relay, args=(a, b),
                                 daemon=True).start()

    def url(self):
        return f"https://127.0.0.1:{self.port}"

    def close(self):
        self.stopping = True
        self.thread.join(timeout=5)
        self.sock.close()


def _config(env, front, tls_lines):
    text = env.config(retry={"max_attempts": 1})
    text = text.replace(env.api.url, front.url(), 1)
    tls = "".join(f"    {k}: {h._y(v)}\n" for k, v in tls_lines.items())
    if tls:
        text = text.replace("target:\n", "target:\n  tls:\n" + tls, 1)
    return text


def _run(pki, tls_lines, require_client=False, wenv=None):
    """The status of one create's outcome and the worker's log."""
    with h.Env(api=dict(no_auth=True)) as env:
        front = TlsFront(pki, env.api.port, require_client)
        try:
            w = env.worker(config=_config(env, front, tls_lines), env=wenv)
            env.produce([native("create", "T1", customer("Tee"))])
            out = env.wait_for("custsync.results", 1, timeout=30)[0]
            w.stop()
            return out["json"], w.log()
        finally:
            front.close()


def test_tls_settings():
    with tempfile.TemporaryDirectory(prefix="custsync-tls-") as d:
        pki = make_pki(d)
        ok, _ = _run(pki, {"ca_file": pki["ca"]})
        assert ok["status"] == "applied", ok

        bad, _ = _run(pki, {})
        assert bad["status"] == "failed", bad
        assert "certificate" in bad["error"]["message"].lower() or \
            "ssl" in bad["error"]["message"].lower(), bad

        env_ok, _ = _run(pki, {}, wenv={"CURL_CA_BUNDLE": pki["ca"]})
        assert env_ok["status"] == "applied", env_ok

        mtls = {"ca_file": pki["ca"], "cert_file": pki["cert"],
                "key_file": pki["key"]}
        m_ok, _ = _run(pki, mtls, require_client=True)
        assert m_ok["status"] == "applied", m_ok
        m_bad, _ = _run(pki, {"ca_file": pki["ca"]}, require_client=True)
        assert m_bad["status"] == "failed", m_bad

        v13, _ = _run(pki, {"ca_file": pki["ca"], "min_version": "1.3"})
        assert v13["status"] == "applied", v13


def test_unreadable_tls_file_is_a_config_error():
    with h.Env(api=dict(no_auth=True)) as env:
        front = TlsFront.__new__(TlsFront)
        front.port = env.api.port
        text = _config(env, front, {"ca_file": "/nonexistent/ca.pem"})
        w = env.worker(config=text, start=False)
        rc, out = w.check_config()
        assert rc == 78, (rc, out)
        assert "'target.tls.ca_file': cannot read '/nonexistent/ca.pem'" \
            in out and ":" in out.split("'")[0], out


if __name__ == "__main__":
    h.run_tests(globals())
