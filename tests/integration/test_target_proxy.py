"""target.proxy, target.no_proxy and the proxy environment variables,
through a small forward proxy the test starts (absolute-URI requests
for http://, CONNECT for https://, Basic Proxy-Authorization), in front
of the reference API; and target.headers as the reference API sees
them, with their config errors."""

import base64
import os
import socket
import ssl
import tempfile
import threading

import harness as h
from events import CLIENT, OAUTH, by_event, customer, native, outcomes
from test_target_tls import TlsFront, make_pki, relay

# Whatever the machine running the tests has, the worker starts
# without it unless a test sets one.
NO_PROXY_ENV = {k: "" for k in ("http_proxy", "https_proxy", "HTTPS_PROXY",
                                "ALL_PROXY", "all_proxy", "NO_PROXY",
                                "no_proxy")}


def _read_head(conn, buf):
    """(head bytes, rest) once buf plus what conn sends holds a whole
    request or response head; (None, b"") at EOF."""
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None, b""
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest


def _headers(lines):
    out = {}
    for line in lines:
        name, _, value = line.partition(":")
        out[name.strip().lower()] = value.strip()
    return out


class ForwardProxy:
    """An HTTP forward proxy on 127.0.0.1: absolute-URI requests are
    sent on (one upstream connection each), CONNECT is tunnelled. With
    credentials, a request without the right Proxy-Authorization gets
    407. Counts what it saw."""

    def __init__(self, user=None, password=None, pki=None):
        self.ctx = None
        if pki:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(pki["scert"], pki["skey"])
        self.want = None
        if user is not None:
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            self.want = f"Basic {token}"
        self.requests = []  # absolute URIs forwarded
        self.connects = []  # host:port tunnelled
        self.refused = 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def url(self):
        scheme = "https" if self.ctx else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def close(self):
        self.stopping = True
        self.thread.join(timeout=5)
        self.sock.close()

    def _run(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(conn,),
                             daemon=True).start()

    def _serve(self, conn):
        conn.settimeout(15)
        buf = b""
        try:
            if self.ctx:
                conn = self.ctx.wrap_socket(conn, server_side=True)
            while True:
                head, buf = _read_head(conn, buf)
                if head is None:
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                hdrs = _headers(lines[1:])
                if self.want and hdrs.get("proxy-authorization") != \
                        self.want:
                    with self.lock:
                        self.refused += 1
                    conn.sendall(b"HTTP/1.1 407 Proxy Authentication "
                                 b"Required\r\nProxy-Authenticate: Basic "
                                 b"realm=\"test\"\r\nContent-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")
                    return
                if method == "CONNECT":
                    self._tunnel(conn, target, buf)
                    return
                n = int(hdrs.get("content-length", "0"))
                while len(buf) < n:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                body, buf = buf[:n], buf[n:]
                if not self._forward(conn, method, target, lines[1:], body):
                    return
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def _forward(self, conn, method, target, header_lines, body):
        """One absolute-URI request, answered; False: close conn."""
        assert target.startswith("http://"), target
        hostport, _, path = target[len("http://"):].partition("/")
        host, _, port = hostport.partition(":")
        with self.lock:
            self.requests.append(target)
        keep = [l for l in header_lines if l.split(":", 1)[0].strip().lower()
                not in ("proxy-authorization", "proxy-connection",
                        "connection")]
        req = "\r\n".join([f"{method} /{path} HTTP/1.1", *keep,
                           "Connection: close", "", ""]).encode("latin-1")
        up = socket.create_connection((host, int(port or 80)), timeout=15)
        try:
            up.sendall(req + body)
            resp = b""
            while True:
                data = up.recv(65536)
                if not data:
                    break
                resp += data
        finally:
            up.close()
        rhead = resp.split(b"\r\n\r\n", 1)[0].lower()
        conn.sendall(resp)
        # Without a length the answer ends with the connection.
        return b"content-length:" in rhead and b"connection: close" \
            not in rhead

    def _tunnel(self, conn, target, early):
        host, _, port = target.rpartition(":")
        with self.lock:
            self.connects.append(target)
        up = socket.create_connection((host, int(port)), timeout=15)
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if early:
            up.sendall(early)
        conn.settimeout(None)
        up.settimeout(None)

        t = threading.Thread(target=relay, args=(up, conn), daemon=True)
        t.start()
        relay(conn, up)
        t.join(timeout=15)
        up.close()


def _with_target(text, lines):
    extra = "".join(f"  {l}\n" for l in lines)
    return text.replace("target:\n", "target:\n" + extra, 1)


def _secret(env, name, value):
    path = os.path.join(env.dir.path, name)
    with open(path, "w") as f:
        f.write(value + "\n")
    os.chmod(path, 0o600)
    return path


def _one(env, config, wenv, key):
    """The outcome of one create through a worker on config, the next
    one of env's results topic; and the stopped worker."""
    env.n_outcomes = getattr(env, "n_outcomes", 0) + 1
    w = env.worker(config=config, env=dict(NO_PROXY_ENV, **(wenv or {})))
    env.produce([native("create", key, customer(key))])
    recs = env.wait_for("custsync.results", env.n_outcomes, timeout=60)
    w.stop()
    return by_event([r["json"] for r in recs])[f"create-{key}"], w


def test_proxy_carries_api_and_token_requests():
    with h.Env(api=dict(clients=[CLIENT])) as env:
        proxy = ForwardProxy("bob", "pr0xy")
        try:
            pw = _secret(env, "proxy_pw", "pr0xy")
            text = _with_target(env.config(auth=OAUTH), [
                f"proxy: {h._y(proxy.url)}",
                "proxy_user: bob",
                f"proxy_password_file: {h._y(pw)}"])
            w = env.worker(config=text, env=NO_PROXY_ENV)
            env.produce([native("create", f"P{i}", customer(f"p{i}"))
                         for i in range(3)])
            outs = outcomes(env, 3)
            assert all(o["status"] == "applied" for o in outs), outs
            paths = [u.split("/", 3)[3] for u in proxy.requests]
            assert any(p.endswith("oauth/token") for p in paths), paths
            assert sum("customers" in p for p in paths) >= 3, paths
            assert proxy.refused == 0
            assert "pr0xy" not in w.log()
        finally:
            proxy.close()


def test_connect_for_https_and_no_proxy():
    with tempfile.TemporaryDirectory(prefix="custsync-proxy-") as d, \
            h.Env(api=dict(no_auth=True)) as env:
        pki = make_pki(d)
        front = TlsFront(pki, env.api.port)
        proxy = ForwardProxy()
        try:
            base = env.config(retry={"max_attempts": 1}).replace(
                env.api.url, front.url(), 1)
            base = base.replace("target:\n", "target:\n  tls:\n    ca_file: "
                                f"{h._y(pki['ca'])}\n", 1)
            via = _with_target(base, [f"proxy: {h._y(proxy.url)}"])
            out, _ = _one(env, via, None, "C1")
            assert out["status"] == "applied", out
            assert proxy.connects and \
                all(c == f"127.0.0.1:{front.port}" for c in proxy.connects), \
                proxy.connects
            assert proxy.requests == [], proxy.requests

            before = len(proxy.connects)
            bypass = _with_target(base, [f"proxy: {h._y(proxy.url)}",
                                         "no_proxy: 127.0.0.1"])
            out, _ = _one(env, bypass, None, "C2")
            assert out["status"] == "applied", out
            assert len(proxy.connects) == before, proxy.connects
        finally:
            proxy.close()
            front.close()


def test_https_proxy_verified_by_the_ca_variables():
    with tempfile.TemporaryDirectory(prefix="custsync-proxy-") as d, \
            h.Env(api=dict(no_auth=True)) as env:
        pki = make_pki(d)
        proxy = ForwardProxy(pki=pki)
        try:
            cfg = _with_target(env.config(retry={"max_attempts": 1}),
                               [f"proxy: {h._y(proxy.url)}"])
            out, _ = _one(env, cfg, {"CURL_CA_BUNDLE": pki["ca"]}, "S1")
            assert out["status"] == "applied", out
            assert len(proxy.requests) >= 1, proxy.requests
            # Without the CA the proxy's certificate is refused.
            before = len(proxy.requests)
            out, _ = _one(env, cfg, None, "S2")
            assert out["status"] == "failed", out
            assert len(proxy.requests) == before, proxy.requests
        finally:
            proxy.close()


def test_environment_proxy_and_its_override():
    with h.Env(api=dict(no_auth=True)) as env:
        proxy = ForwardProxy()
        dead = socket.socket()
        dead.bind(("127.0.0.1", 0))  # bound, never listening: refused
        try:
            plain = env.config(retry={"max_attempts": 1})
            out, _ = _one(env, plain, {"http_proxy": proxy.url}, "E1")
            assert out["status"] == "applied", out
            assert len(proxy.requests) >= 1, proxy.requests

            # target.proxy set: neither the environment's proxy nor its
            # NO_PROXY applies.
            before = len(proxy.requests)
            dead_url = f"http://127.0.0.1:{dead.getsockname()[1]}"
            cfg = _with_target(plain, [f"proxy: {h._y(proxy.url)}"])
            out, _ = _one(env, cfg, {"http_proxy": dead_url,
                                     "NO_PROXY": "127.0.0.1"}, "E2")
            assert out["status"] == "applied", out
            assert len(proxy.requests) > before, proxy.requests
        finally:
            dead.close()
            proxy.close()


def test_wrong_proxy_credentials_fail_clearly():
    with tempfile.TemporaryDirectory(prefix="custsync-proxy-") as d, \
            h.Env(api=dict(no_auth=True)) as env:
        proxy = ForwardProxy("bob", "right")
        pki = make_pki(d)
        front = TlsFront(pki, env.api.port)
        try:
            plain = _with_target(env.config(), [
                f"proxy: {h._y(proxy.url)}", "proxy_user: bob",
                "proxy_password: wrong"])
            tls = plain.replace(env.api.url, front.url(), 1).replace(
                "target:\n", "target:\n  tls:\n    ca_file: "
                f"{h._y(pki['ca'])}\n", 1)
            for text, key in ((plain, "W1"), (tls, "W2")):
                out, w = _one(env, text, None, key)
                assert out["status"] == "failed", out
                assert out["error"]["code"] == "proxy_unauthorized", out
                assert out["error"]["http_status"] == 407, out
                assert "proxy" in out["error"]["message"], out
                assert "wrong" not in w.log()
            assert proxy.refused >= 2
        finally:
            proxy.close()
            front.close()


def test_static_headers_reach_the_api_not_the_token_endpoint():
    logged = ["--log-header", "X-Test-Tenant", "--log-header", "X-Test-Key"]
    with h.Env(api=dict(clients=[CLIENT], extra_args=logged)) as env:
        key = _secret(env, "partner_key", "k-from-file")
        text = _with_target(env.config(auth=OAUTH), [
            "headers:",
            "  X-Test-Tenant: ${CUSTSYNC_TEST_TENANT}",
            f"  X-Test-Key_file: {h._y(key)}"])
        env.worker(config=text, env={"CUSTSYNC_TEST_TENANT": "acme-eu"})
        env.produce([native("create", "H1", customer("h1"))])
        out = outcomes(env, 1)[0]
        assert out["status"] == "applied", out
        log = env.api.requests()["log"]
        api = [r for r in log if r["route"] != "/oauth/token"]
        token = [r for r in log if r["route"] == "/oauth/token"]
        assert api and token, log
        for r in api:
            assert sorted(map(tuple, r["header_values"])) == [
                ("X-Test-Key", "k-from-file"), ("X-Test-Tenant", "acme-eu")], r
        for r in token:
            assert r["header_values"] == [], r


def test_static_header_config_errors():
    with h.Env(api=dict(no_auth=True)) as env:
        cases = (
            (["headers:", "  authorization: Bearer x"],
             "'target.headers.authorization': custsync sets authorization "
             "itself"),
            (["headers:", "  X-Trace-Context: x", "  TraceParent: x"],
             "'target.headers.TraceParent': custsync sets TraceParent"),
            (["headers:", '  X-Tenant: "acme\\r\\nX-Evil: 1"'],
             "'target.headers.X-Tenant' contains a control character (CR)"),
            (["proxy: socks5://127.0.0.1:1080"],
             "'target.proxy' must start with http:// or https://"),
            (["proxy: http://bob:pw@127.0.0.1:3128"],
             "'target.proxy' must not hold credentials"),
        )
        for lines, want in cases:
            w = env.worker(config=_with_target(env.config(), lines),
                           start=False)
            rc, out = w.check_config()
            assert rc == 78, (rc, out)
            assert "pw@" not in out, out
            hit = [l for l in out.splitlines() if want in l]
            assert hit, (want, out)
            # FILE:LINE:COL: message
            where = hit[0].split(": ", 1)[0].rsplit(":", 2)
            assert len(where) == 3 and where[1].isdigit() and \
                where[2].isdigit(), hit


if __name__ == "__main__":
    h.run_tests(globals())
