"""Integration-test harness for custsync (Python 3.11 standard library only).

Runs the built daemon against real servers on 127.0.0.1: a Kafka-protocol
broker (tests/servers/mockbroker, librdkafka's mock cluster) and the
reference customer API (tests/servers/refapi), and reads and writes Kafka
with tests/tools/kafkatool.

Binaries come from $CUSTSYNC_BUILD_DIR (default <repo>/build): custsync at
$BUILD/custsync, the others at $BUILD/tests/<name>. The source tree is
$CUSTSYNC_SOURCE_DIR (default: the repository holding this file).

Every process started here is tracked by pid and stopped (SIGTERM, then
SIGKILL after 5 s) when the object or Env that owns it ends, at interpreter
exit, and on SIGTERM/SIGINT. Children also get PR_SET_PDEATHSIG=SIGKILL, so
even a harness killed with SIGKILL leaves nothing behind. Every wait is
bounded.

A test file looks like:

    import harness as h

    def test_create():
        with h.Env(api=dict(no_auth=True)) as env:
            w = env.worker()
            env.produce([{"key": "c1", "value": {...}}])
            out = env.wait_for("custsync.results", 1)
            assert out[0]["json"]["status"] == "created", out

    if __name__ == "__main__":
        h.run_tests(globals())

Set CUSTSYNC_KEEP_TMP=1 to keep every test's temporary directory (configs
and logs); a failing test's directory is always kept and named.
"""

import atexit
import base64
import ctypes
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

SOURCE_DIR = Path(os.environ.get("CUSTSYNC_SOURCE_DIR")
                  or Path(__file__).resolve().parents[2])
BUILD_DIR = Path(os.environ.get("CUSTSYNC_BUILD_DIR")
                 or SOURCE_DIR / "build").resolve()

DEFAULT_TOPICS = {"erp.customers": 3, "custsync.results": 1,
                  "custsync.dead-letter": 1}

# librdkafka properties every test worker gets unless overridden (a value
# of None drops one). The mock cluster waits session.timeout.ms - 1 s
# before it finishes any rebalance after the first, so a short session
# keeps scale-out and restart tests quick; 6000 is also the smallest a
# real broker accepts by default. A short heartbeat lets members notice
# a rebalance sooner.
DEFAULT_TEST_PROPERTIES = {"session.timeout.ms": "6000",
                           "heartbeat.interval.ms": "500"}

DEFAULT_TEST_RETRY = {"initial_backoff_ms": 50, "max_backoff_ms": 1000,
                      "max_retry_after_s": 3600}

# Port 9 (discard) on loopback: connections are refused at once.
NO_API_URL = "http://127.0.0.1:9/api/p/v1.0"

STOP_GRACE_S = 5.0       # SIGTERM -> SIGKILL for processes we clean up
START_TIMEOUT_S = 15.0   # a server must announce itself within this
POLL_STEP_S = 0.05       # the step of every polling wait


def bin_path(name):
    """Path of a built binary: custsync or a tests/ helper."""
    if name == "custsync":
        return BUILD_DIR / "custsync"
    return BUILD_DIR / "tests" / name


def _require_bin(name):
    p = bin_path(name)
    if not os.access(p, os.X_OK):
        raise FileNotFoundError(
            f"{p} is missing: build it (make -C {BUILD_DIR} {name}) or "
            f"set CUSTSYNC_BUILD_DIR")
    return str(p)


# ---------------------------------------------------------------------------
# Process registry

_registry = {}               # pid -> subprocess.Popen, live or not reaped
_registry_lock = threading.Lock()
_handlers_installed = False
_signalled = False

try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:  # not expected on Linux; PDEATHSIG is then skipped
    _libc = None
_PR_SET_PDEATHSIG = 1


def _child_setup(parent_pid):
    """Runs in the child between fork and exec: die with the harness."""
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # The parent may have died before prctl took effect.
    if os.getppid() != parent_pid:
        os._exit(1)


def spawn(argv, **kw):
    """Starts argv as a tracked process (subprocess.Popen keywords).

    The child gets its own process group, so a Ctrl-C reaches only the
    harness, which then stops the children in order. PDEATHSIG fires when
    the *thread* that forked exits, so it is set only for children started
    from the main thread (the only thread tests should start them from).
    """
    _install_handlers()
    argv = [str(a) for a in argv]
    if threading.current_thread() is threading.main_thread():
        parent = os.getpid()
        kw.setdefault("preexec_fn", lambda: _child_setup(parent))
    kw.setdefault("process_group", 0)
    kw.setdefault("close_fds", True)
    proc = subprocess.Popen(argv, **kw)
    with _registry_lock:
        _registry[proc.pid] = proc
    return proc


def run_cli(argv, timeout=60.0, wait_then=None, **kw):
    """Runs argv to the end as a tracked process -> (rc, stdout, stderr),
    text. wait_then=(s, sig): send sig after s seconds. Over timeout it
    is killed and AssertionError raised."""
    proc = spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE, **kw)
    try:
        if wait_then:
            time.sleep(wait_then[0])
            proc.send_signal(wait_then[1])
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"{argv[1:3]} took over {timeout}s: "
                             f"{err[-2000:]!r}")
    finally:
        _forget(proc)
    return (proc.returncode, out.decode("utf-8", "replace"),
            err.decode("utf-8", "replace"))


def terminate(proc, grace=STOP_GRACE_S, sig=signal.SIGTERM):
    """Stops proc: sig, then SIGKILL after grace seconds. -> returncode."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    _forget(proc)
    return proc.returncode


def _forget(proc):
    with _registry_lock:
        _registry.pop(proc.pid, None)


def live_processes():
    """Tracked processes still running (pid -> Popen)."""
    with _registry_lock:
        procs = dict(_registry)
    return {pid: p for pid, p in procs.items() if p.poll() is None}


def terminate_all(grace=STOP_GRACE_S, only=None):
    """Stops every tracked process (or those pids in only) at once."""
    with _registry_lock:
        procs = [p for pid, p in _registry.items()
                 if only is None or pid in only]
    for p in procs:
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        _forget(p)
    return len(procs)


def _on_signal(signum, frame):
    global _signalled
    if _signalled:
        # Second signal: no more polite waiting.
        terminate_all(grace=0.5)
        os._exit(128 + signum)
    _signalled = True
    # Unwind through the tests' with-blocks (which stop what they own);
    # atexit then stops anything left.
    raise SystemExit(128 + signum)


def _install_handlers():
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    # atexit runs this last-registered-first: processes, then their dirs.
    atexit.register(_Workdir.cleanup_pending)
    atexit.register(terminate_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        # Leave a handler the caller installed alone.
        if signal.getsignal(sig) in (signal.SIG_DFL,
                                     signal.default_int_handler):
            signal.signal(sig, _on_signal)


# ---------------------------------------------------------------------------
# Small helpers

def wait_until(pred, timeout=10.0, step=POLL_STEP_S, what="condition"):
    """Polls pred() until it returns a true value, which is returned.

    Raises AssertionError naming `what` (and pred's last value) after
    timeout seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what} "
                f"(last value: {v!r})")
        time.sleep(step)


def _tail(path, lines=60):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])


class _LineReader:
    """Reads a child's stdout lines on a thread, for waits with timeouts.

    Each line also goes to log_path, so nothing a server prints is lost
    and its pipe never fills up.
    """

    def __init__(self, stream, log_path=None):
        self._q = queue.Queue()
        self._stream = stream
        self._log_path = log_path
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        log = open(self._log_path, "ab") if self._log_path else None
        try:
            for raw in iter(self._stream.readline, b""):
                if log:
                    log.write(raw)
                    log.flush()
                self._q.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
        except (OSError, ValueError):
            pass
        finally:
            if log:
                log.close()
            self._q.put(None)

    def close(self, timeout=2.0):
        """Waits for EOF (the process has exited), then closes."""
        self._t.join(timeout)
        if not self._t.is_alive():
            self._stream.close()

    def get(self, timeout):
        """Next line, or None at EOF; TimeoutError after timeout s."""
        try:
            return self._q.get(timeout=max(0.0, timeout))
        except queue.Empty:
            raise TimeoutError from None

    def expect(self, prefix, timeout, who, err_path=None):
        """Skips lines until one starts with prefix; -> rest of it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.get(deadline - time.monotonic())
            except TimeoutError:
                raise RuntimeError(
                    f"{who}: no '{prefix}' line within {timeout}s"
                    + _err_note(err_path)) from None
            if line is None:
                raise RuntimeError(f"{who}: exited before '{prefix}'"
                                   + _err_note(err_path))
            if line.startswith(prefix):
                return line[len(prefix):]


def _err_note(path):
    t = _tail(path, 20) if path else ""
    return f"; its stderr ends with:\n{t}" if t else ""


class _Workdir:
    """A temporary directory, removed by cleanup() unless kept, or at
    exit if its owner never got to say (e.g. after a signal)."""

    _pending = []

    def __init__(self, prefix):
        self.path = Path(tempfile.mkdtemp(prefix=prefix))
        self.done = False
        _Workdir._pending.append(self)

    def cleanup(self, keep=False):
        if self.done:
            return
        self.done = True
        if keep or os.environ.get("CUSTSYNC_KEEP_TMP"):
            return
        shutil.rmtree(self.path, ignore_errors=True)

    @staticmethod
    def cleanup_pending():
        for d in _Workdir._pending:
            d.cleanup()


# ---------------------------------------------------------------------------
# Broker

class Broker:
    """mockbroker: Broker({"erp.customers": 3}, brokers=1).start().

    Broker ids are 1..brokers. See tests/servers/mockbroker.c for what
    the mock cluster does and does not do.
    """

    def __init__(self, topics=None, brokers=1, workdir=None, debug=None):
        self.topics = dict(DEFAULT_TOPICS if topics is None else topics)
        self.brokers = brokers
        self.debug = debug
        self._own_dir = None
        if workdir is None:
            self._own_dir = _Workdir("custsync-broker-")
            workdir = self._own_dir.path
        self.workdir = Path(workdir)
        self.log_path = self.workdir / "mockbroker.log"
        self.proc = None
        self._reader = None
        self._bootstrap = None
        self._lock = threading.Lock()

    def start(self, timeout=START_TIMEOUT_S):
        argv = [_require_bin("mockbroker"), "--brokers", self.brokers]
        for name, parts in self.topics.items():
            argv += ["--topic", f"{name}:{parts}"]
        if self.debug:
            argv += ["--debug", self.debug]
        with open(self.log_path, "ab") as err:
            self.proc = spawn(argv, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=err)
        self._reader = _LineReader(self.proc.stdout)
        try:
            self._bootstrap = self._reader.expect(
                "BOOTSTRAP ", timeout, "mockbroker", self.log_path).strip()
        except Exception:
            self.stop()
            raise
        return self

    @property
    def bootstrap(self):
        if self._bootstrap is None:
            raise RuntimeError("Broker not started")
        return self._bootstrap

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def command(self, line, timeout=10.0, check=True):
        """Sends one command ("down 1", "up 1", "topic NAME N",
        "rtt ID MS", "errors APIKEY ERR...") -> reply ("OK" or
        "ERR why"). check=True raises RuntimeError on ERR."""
        if not self.alive():
            raise RuntimeError("mockbroker is not running"
                               + _err_note(self.log_path))
        with self._lock:
            try:
                self.proc.stdin.write((line.strip() + "\n").encode())
                self.proc.stdin.flush()
            except OSError as e:  # it died (EPIPE) or stdin was closed
                raise RuntimeError(f"mockbroker: {line!r}: {e}"
                                   + _err_note(self.log_path)) from None
            try:
                reply = self._reader.get(timeout)
            except TimeoutError:
                raise RuntimeError(
                    f"mockbroker: no reply to {line!r} in {timeout}s"
                ) from None
        if reply is None:
            raise RuntimeError("mockbroker exited"
                               + _err_note(self.log_path))
        if check and reply != "OK":
            raise RuntimeError(f"mockbroker: {line!r}: {reply}")
        return reply

    def down(self, broker_id=1):
        return self.command(f"down {broker_id}")

    def up(self, broker_id=1):
        return self.command(f"up {broker_id}")

    def create_topic(self, name, partitions):
        self.command(f"topic {name} {partitions}")
        self.topics[name] = partitions

    def rtt(self, broker_id, ms):
        return self.command(f"rtt {broker_id} {ms}")

    def push_errors(self, api_key, *errors):
        """The next len(errors) requests of api_key (0 = Produce,
        8 = OffsetCommit, ...) fail with these Kafka error codes."""
        return self.command(
            f"errors {api_key} " + " ".join(str(e) for e in errors))

    def stop(self):
        rc = None
        if self.proc is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            rc = terminate(self.proc)
            self._reader.close()
        if self._own_dir:
            self._own_dir.cleanup()
        return rc

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------------------
# HTTP (urllib, never through a proxy from the environment)

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(method, url, body=None, headers=None, timeout=10.0):
    """One request -> (status, headers, raw body bytes).

    body: dict/list (sent as JSON), str or bytes. HTTP errors are
    returned, not raised; connection errors raise.
    """
    hdrs = dict(headers or {})
    data = None
    if isinstance(body, (dict, list)):
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    elif isinstance(body, str):
        data = body.encode()
    elif body is not None:
        data = bytes(body)
    req = urllib.request.Request(url, data=data, headers=hdrs,
                                 method=method)
    try:
        with _opener.open(req, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers, e.read()


def _json_or_none(data):
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


# Where each profile's API lives on the reference server: target.base_url
# is the server's URL plus this.
PROFILE_BASE = {"alvys": "/api/p/v1.0", "wms": "/wms",
                "portal": "/api/admin", "engage": "/enterprises/acme"}


class RefApi:
    """The reference customer API (tests/servers/refapi).

    clients: [{"id", "secret", "tenant", "scopes": [...]}, ...]
    profile: which partner API it plays (refapi --profile).
    """

    def __init__(self, clients=None, token_ttl=None, no_auth=False,
                 workdir=None, extra_args=(), profile="alvys"):
        self.profile = profile
        self.clients = list(clients or [])
        self._token_ttl = token_ttl
        self.no_auth = no_auth
        self.extra_args = list(extra_args)
        self._own_dir = None
        if workdir is None:
            self._own_dir = _Workdir("custsync-refapi-")
            workdir = self._own_dir.path
        self.workdir = Path(workdir)
        self.log_path = self.workdir / "refapi.log"
        self.proc = None
        self._reader = None
        self._port = None

    def start(self, timeout=START_TIMEOUT_S):
        argv = [_require_bin("refapi")]
        for c in self.clients:
            argv += ["--client", _client_arg(c)]
        if self._token_ttl is not None:
            argv += ["--token-ttl", str(self._token_ttl)]
        if self.no_auth:
            argv.append("--no-auth")
        if self.profile != "alvys":
            argv += ["--profile", self.profile]
        argv += self.extra_args
        with open(self.log_path, "ab") as err:
            self.proc = spawn(argv, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=err)
        # Whatever refapi prints after PORT goes to the log too, so its
        # stdout pipe never fills up and blocks it.
        self._reader = _LineReader(self.proc.stdout, self.log_path)
        try:
            port = self._reader.expect("PORT ", timeout, "refapi",
                                       self.log_path)
            self._port = int(port.strip())
        except Exception:
            self.stop()
            raise
        return self

    @property
    def port(self):
        if self._port is None:
            raise RuntimeError("RefApi not started")
        return self._port

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self):
        return f"{self.url}{PROFILE_BASE[self.profile]}"

    @property
    def token_url(self):
        return f"{self.url}/oauth/token"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    # -- raw access

    def api(self, method, path, body=None, headers=None, token=None,
            timeout=10.0):
        """-> (status, headers, parsed JSON body or None).

        path: "/..." is relative to the server root, anything else to
        base_url ("customers/ID"); a full URL is used as is.
        """
        if path.startswith(("http://", "https://")):
            url = path
        elif path.startswith("/"):
            url = self.url + path
        else:
            url = f"{self.base_url}/{path}"
        hdrs = dict(headers or {})
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        status, rh, data = http(method, url, body, hdrs, timeout)
        return status, rh, _json_or_none(data)

    def token(self, client_id, secret, scopes=None):
        """Client-credentials grant (form body) -> access_token."""
        form = {"grant_type": "client_credentials",
                "client_id": client_id, "client_secret": secret}
        if scopes:
            form["scope"] = " ".join(scopes)
        status, _, data = http(
            "POST", self.token_url, urllib.parse.urlencode(form),
            {"Content-Type": "application/x-www-form-urlencoded"})
        body = _json_or_none(data)
        if status != 200 or not isinstance(body, dict) \
                or "access_token" not in body:
            raise AssertionError(f"token for {client_id}: HTTP {status}: "
                                 f"{data[:300]!r}")
        return body["access_token"]

    # -- control endpoints

    def _control(self, method, name, body=None):
        status, _, data = http(method, f"{self.url}/_control/{name}", body)
        if not 200 <= status < 300:
            raise RuntimeError(f"refapi /_control/{name}: HTTP {status}: "
                               f"{data[:300]!r}")
        return _json_or_none(data)

    def latency(self, ms):
        return self._control("POST", "latency", {"ms": ms})

    def disable_writes(self, seconds, retry_after, status=503):
        return self._control("POST", "disable_writes",
                             {"seconds": seconds, "retry_after": retry_after,
                              "status": status})

    def edit(self, id, patch):
        return self._control("POST", "edit", {"id": id, "patch": patch})

    def seed(self, customer, tenant="default"):
        return self._control("POST", "seed",
                             {"tenant": tenant, "customer": customer})

    def state(self):
        """-> the customers list."""
        return self._control("GET", "state")["customers"]

    def requests(self):
        """-> {"total", "counts", "log"}."""
        return self._control("GET", "requests")

    def reset(self):
        return self._control("POST", "reset")

    def expire_tokens(self):
        return self._control("POST", "expire_tokens")

    def token_ttl(self, seconds):
        return self._control("POST", "token_ttl", {"seconds": seconds})

    def set_client(self, id, secret, tenant, scopes):
        return self._control("POST", "client",
                             {"id": id, "secret": secret, "tenant": tenant,
                              "scopes": list(scopes)})

    def stop(self):
        rc = None
        if self.proc is not None:
            rc = terminate(self.proc)
            self._reader.close()
        if self._own_dir:
            self._own_dir.cleanup()
        return rc

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


def _client_arg(c):
    return "{}:{}:{}:{}".format(c["id"], c["secret"],
                                c.get("tenant", "default"),
                                ",".join(c.get("scopes", [])))


# ---------------------------------------------------------------------------
# Kafka through kafkatool

def _run_tool(args, input_text=None, timeout=60.0):
    """Runs kafkatool -> (returncode, stdout, stderr); tracked, bounded."""
    proc = spawn([_require_bin("kafkatool")] + [str(a) for a in args],
                 stdin=subprocess.PIPE if input_text is not None
                 else subprocess.DEVNULL,
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(
            input_text.encode() if input_text is not None else None,
            timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        _forget(proc)
        raise RuntimeError(f"kafkatool {args[0]} took over {timeout}s: "
                           f"{err.decode('utf-8', 'replace')[-2000:]}")
    _forget(proc)
    return (proc.returncode, out.decode("utf-8", "replace"),
            err.decode("utf-8", "replace"))


def _record_line(r):
    """One kafkatool produce line from a harness record dict."""
    out = {}
    if isinstance(r.get("key"), (bytes, bytearray)):
        out["key_b64"] = base64.b64encode(r["key"]).decode()
    elif "key" in r:
        out["key"] = r["key"]
    if "value_b64" in r:
        out["value_b64"] = r["value_b64"]
    elif "value" in r:
        v = r["value"]
        if isinstance(v, (bytes, bytearray)):
            out["value_b64"] = base64.b64encode(v).decode()
        elif isinstance(v, (dict, list)):
            out["value"] = json.dumps(v)
        elif v is None or isinstance(v, str):
            out["value"] = v
        else:
            raise TypeError(f"record value of type {type(v).__name__}")
    hdrs = r.get("headers")
    if hdrs is not None:
        items = hdrs.items() if isinstance(hdrs, dict) else hdrs
        out["headers"] = [[n, v] for n, v in items]
    if r.get("partition") is not None:
        out["partition"] = r["partition"]
    return json.dumps(out)


def produce(bootstrap, topic, records):
    """Produces records (acks=all) and waits for every delivery.

    Each record is a dict: key (str|None, bytes -> binary), value (dict/list -> JSON,
    str as is, bytes -> binary, None or absent -> tombstone), headers
    ([(name, str|None), ...] or a dict), partition (int; absent ->
    murmur2 on the key, like the Java client). -> number produced.
    """
    records = list(records)
    lines = "".join(_record_line(r) + "\n" for r in records)
    rc, _, err = _run_tool(["produce", "-b", bootstrap, "-t", topic], lines)
    if rc != 0:
        raise RuntimeError(f"produce to {topic} failed (rc={rc}): "
                           f"{err.strip()[-2000:]}")
    return len(records)


def consume(bootstrap, topic, min_count=0, timeout=10.0):
    """Reads topic from the beginning (no group) -> list of records.

    Each record is kafkatool's object ("topic", "partition", "offset",
    "timestamp", "key", "value", "headers", maybe "value_b64") plus
    "value_bytes" (bytes, None for a tombstone) and, when the value parses
    as JSON, "json". Sorted by (partition, offset). Returns what it has
    after timeout seconds, even if fewer than min_count.
    """
    rc, out, err = _run_tool(
        ["consume", "-b", bootstrap, "-t", topic, "--min-count", min_count,
         "--timeout-ms", int(timeout * 1000)],
        timeout=timeout + 40)
    if rc != 0:
        raise RuntimeError(f"consume from {topic} failed (rc={rc}): "
                           f"{err.strip()[-2000:]}")
    recs = []
    for line in out.splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        if "value_b64" in r:
            r["value_bytes"] = base64.b64decode(r["value_b64"])
        elif r.get("value") is not None:
            r["value_bytes"] = r["value"].encode()
            try:
                r["json"] = json.loads(r["value"])
            except ValueError:
                pass
        else:
            r["value_bytes"] = None
        recs.append(r)
    recs.sort(key=lambda r: (r["partition"], r["offset"]))
    return recs


def _summary(recs, n=10):
    def one(r):
        v = r.get("value")
        if v is not None and len(v) > 160:
            v = v[:160] + "..."
        return (f"  [{r['partition']}@{r['offset']}] key={r.get('key')!r} "
                f"value={v!r}")
    shown = recs[-n:]
    more = f"  ({len(recs) - n} earlier not shown)\n" if len(recs) > n \
        else ""
    return more + "\n".join(one(r) for r in shown)


def wait_for(bootstrap, topic, count, timeout=60.0):
    """Polls topic until it holds at least count records -> them all.

    Raises AssertionError with what it saw after timeout seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        recs = consume(bootstrap, topic, min_count=count,
                       timeout=max(0.2, min(left, 10.0)))
        if len(recs) >= count:
            return recs
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"expected at least {count} record(s) on {topic} within "
                f"{timeout}s, saw {len(recs)}:\n{_summary(recs)}")
        time.sleep(POLL_STEP_S)


def committed(bootstrap, group, topic):
    """-> {partition: committed offset}, -1001 where none."""
    rc, out, err = _run_tool(["committed", "-b", bootstrap, "-g", group,
                              "-t", topic], timeout=40)
    if rc != 0:
        raise RuntimeError(f"committed {group}/{topic} failed (rc={rc}): "
                           f"{err.strip()[-2000:]}")
    return {int(p): off for p, off in json.loads(out).items()}


def _murmur2(data):
    """Kafka's murmur2 (the Java client's DefaultPartitioner hash)."""
    m, r = 0x5bd1e995, 24
    h = (0x9747b28c ^ len(data)) & 0xffffffff
    n4 = len(data) // 4
    for i in range(n4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & 0xffffffff
        k ^= k >> r
        k = (k * m) & 0xffffffff
        h = (h * m) & 0xffffffff
        h ^= k
    rest = data[4 * n4:]
    if len(rest) >= 3:
        h ^= rest[2] << 16
    if len(rest) >= 2:
        h ^= rest[1] << 8
    if len(rest) >= 1:
        h ^= rest[0]
        h = (h * m) & 0xffffffff
    h ^= h >> 13
    h = (h * m) & 0xffffffff
    h ^= h >> 15
    return h


def partition_for(key, partitions):
    """The partition produce() (murmur2_random) puts a keyed record in."""
    if isinstance(key, str):
        key = key.encode()
    return (_murmur2(key) & 0x7fffffff) % partitions


# ---------------------------------------------------------------------------
# The daemon

_test_workers = []   # Workers started during the current run_tests test


class Worker:
    """custsync run -c FILE, logging to a file in the work directory."""

    _seq = 0

    def __init__(self, config_text, env=None, workdir=None, name=None,
                 binary=None):
        Worker._seq += 1
        # binary: another executable to run instead of the built custsync
        # (a wrapper script, or a stand-in in the harness's self-check).
        self.binary = str(binary) if binary else None
        self.name = name or f"worker{Worker._seq}"
        self._own_dir = None
        if workdir is None:
            self._own_dir = _Workdir("custsync-worker-")
            workdir = self._own_dir.path
        self.workdir = Path(workdir)
        self.config_path = self.workdir / f"{self.name}.yaml"
        self.log_path = self.workdir / f"{self.name}.log"
        self.extra_env = dict(env or {})
        self.proc = None
        self.starts = 0
        self.write_config(config_text)
        _test_workers.append(self)

    def write_config(self, config_text):
        """Replaces the config file (e.g. before a restart or reload)."""
        self.config_text = config_text
        # The daemon may refuse secrets that others can read.
        fd = os.open(self.config_path, os.O_WRONLY | os.O_CREAT |
                     os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(config_text)

    def _binary(self):
        return self.binary or _require_bin("custsync")

    def _env(self):
        env = dict(os.environ)
        # Never notify the systemd that may be running the test runner.
        for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
            env.pop(k, None)
        env.update(self.extra_env)
        return env

    def start(self):
        if self.alive():
            raise RuntimeError(f"{self.name} is already running")
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"==== harness: start #{self.starts} "
                      f"{time.strftime('%H:%M:%S')} ====\n".encode())
            log.flush()
            self.proc = spawn(
                [self._binary(), "run", "-c", self.config_path],
                stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, env=self._env(),
                cwd=self.workdir)
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def returncode(self):
        return self.proc.poll() if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Sends sig and waits -> returncode. A worker still running
        after timeout seconds is killed and AssertionError raised."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                _forget(self.proc)
                raise AssertionError(
                    f"{self.name} did not exit within {timeout}s of "
                    f"{signal.Signals(sig).name}; killed")
        _forget(self.proc)
        return self.proc.returncode

    def kill(self):
        """SIGKILL (a crash) -> returncode."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        _forget(self.proc)
        return self.proc.returncode

    def log(self):
        try:
            return self.log_path.read_text("utf-8", "replace")
        except OSError:
            return ""

    def tail(self, lines=60):
        return _tail(self.log_path, lines)

    def wait_log(self, pattern, timeout=30.0, count=1):
        """Waits until regex pattern matches count times in the log
        -> the last match. Fails early if the worker exits."""
        rx = re.compile(pattern)

        def check():
            found = list(rx.finditer(self.log()))
            if len(found) >= count:
                return found[count - 1]
            if not self.alive():
                raise AssertionError(
                    f"{self.name} exited (rc={self.returncode}) before "
                    f"logging {pattern!r}")
            return None
        return wait_until(check, timeout, what=f"{pattern!r} in "
                          f"{self.name}'s log")

    def command(self, *args, timeout=60.0, wait_then=None):
        """custsync ARGS -c FILE (dlq, replay, ...) in this worker's
        environment -> (rc, stdout, stderr); see run_cli."""
        return run_cli([self._binary(), *args, "-c", self.config_path],
                       timeout=timeout, wait_then=wait_then,
                       env=self._env(), cwd=self.workdir)

    def check_config(self, timeout=30):
        """custsync check-config -c FILE -> (returncode, output)."""
        rc, out, err = self.command("check-config", timeout=timeout)
        return rc, out + err

    def cleanup(self, keep=False):
        """Stops the worker however needed (owning contexts call this).
        Its own directory (if it made one) goes unless keep."""
        if self.proc is not None and self.proc.poll() is None:
            terminate(self.proc, grace=10.0)
        if self._own_dir:
            self._own_dir.cleanup(keep)

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.cleanup(keep=exc_type is not None)


def _y(v):
    """A YAML scalar: JSON's double-quoted strings are valid YAML."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(str(v))


def _ylist(items):
    return "[" + ", ".join(_y(i) for i in items) + "]"


def config_text(broker, api, group="custsync-test",
                topics=("erp.customers",), results="custsync.results",
                dlq="custsync.dead-letter", auth=None, extra_yaml="",
                max_in_flight=16, properties=None, retry=None,
                profile=None, timeout_ms=10000, target=None):
    """The worker's YAML config.

    broker: a Broker or a bootstrap string. api: a RefApi, a base URL,
    or None (NO_API_URL, where nothing listens).
    auth: None -> type none; a dict -> target.auth fields (type inferred:
    oauth2_client_credentials when client_id is given, bearer when token
    is; token_url defaults to api.token_url). properties are merged over
    DEFAULT_TEST_PROPERTIES (None drops one); retry over
    DEFAULT_TEST_RETRY. extra_yaml is appended as is (top-level sections
    such as worker:, log: or mapping:). profile defaults to the RefApi's;
    target adds profile settings under target: (delete_mode, short_id,
    language, accept_language).
    """
    bootstrap = broker if isinstance(broker, str) else broker.bootstrap
    if profile is None:
        profile = api.profile if isinstance(api, RefApi) else "alvys"
    if api is None:
        # No API in this test: a URL where nothing listens.
        base_url, token_url = NO_API_URL, None
    elif isinstance(api, str):
        base_url, token_url = api, None
    else:
        base_url, token_url = api.base_url, api.token_url
    props = dict(DEFAULT_TEST_PROPERTIES)
    props.update(properties or {})
    props = {k: v for k, v in props.items() if v is not None}
    rt = dict(DEFAULT_TEST_RETRY)
    rt.update(retry or {})

    out = ["kafka:",
           f"  brokers: {_y(bootstrap)}",
           f"  group_id: {_y(group)}",
           f"  topics: {_ylist(topics)}",
           f"  results_topic: {_y(results)}",
           f"  dead_letter_topic: {_y(dlq)}"]
    if props:
        out.append("  properties:")
        out += [f"    {_y(k)}: {_y(str(v))}" for k, v in props.items()]
    else:
        out.append("  properties: {}")
    out += ["target:",
            f"  profile: {_y(profile)}",
            f"  base_url: {_y(base_url)}",
            "  auth:"]
    if auth is None:
        out.append("    type: none")
    else:
        a = dict(auth)
        if "type" not in a:
            a["type"] = ("oauth2_client_credentials" if "client_id" in a
                         else "bearer" if "token" in a
                         else "basic" if "username" in a
                         else "api_key" if "key" in a else "none")
        if a["type"] == "oauth2_client_credentials" and token_url:
            a.setdefault("token_url", token_url)
        out.append(f"    type: {_y(a.pop('type'))}")
        for k, v in a.items():
            if isinstance(v, (list, tuple)):
                out.append(f"    {k}: {_ylist(v)}")
            else:
                out.append(f"    {k}: {_y(v)}")
    # target: profile settings (delete_mode, short_id, language, ...)
    out += [f"  {k}: {_y(v)}" for k, v in (target or {}).items()]
    out += [f"  timeout_ms: {_y(timeout_ms)}",
            f"  max_in_flight: {_y(max_in_flight)}",
            "retry:"]
    out += [f"  {k}: {_y(v)}" for k, v in rt.items()]
    text = "\n".join(out) + "\n"
    if extra_yaml:
        text += extra_yaml.rstrip("\n") + "\n"
    return text


# ---------------------------------------------------------------------------
# Env: broker + reference API (+ workers) for one test

class Env:
    """with Env(topics={...}, api=dict(no_auth=True)) as env: ...

    topics: {name: partitions} (default DEFAULT_TOPICS). api: RefApi
    keyword arguments (default: RefApi()), or False for no API.
    On exit every worker, the API and the broker are stopped; the
    temporary directory is removed unless the block raised or
    CUSTSYNC_KEEP_TMP is set.
    """

    def __init__(self, topics=None, api=None, brokers=1, broker_debug=None):
        self._topics = topics
        self._api_kw = api
        self._brokers = brokers
        self._broker_debug = broker_debug
        self.dir = None
        self.broker = None
        self.api = None
        self.workers = []

    def __enter__(self):
        self.dir = _Workdir("custsync-it-")
        try:
            self.broker = Broker(self._topics, self._brokers,
                                 self.dir.path, self._broker_debug).start()
            if self._api_kw is not False:
                self.api = RefApi(workdir=self.dir.path,
                                  **(self._api_kw or {})).start()
        except BaseException:
            self._close()
            self.dir.cleanup(keep=True)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        broker_died = self.broker is not None and not self.broker.alive()
        self._close()
        failed = exc_type is not None or broker_died
        self.dir.cleanup(keep=failed)
        if failed:
            _kept_dirs.append(self.dir.path)
        if broker_died and exc_type is None:
            raise AssertionError(
                f"mockbroker died during the test (rc="
                f"{self.broker.proc.returncode})"
                + _err_note(self.broker.log_path))
        return False

    def _close(self):
        # Workers first, so they never see their servers vanish.
        for w in self.workers:
            try:
                w.cleanup()
            except Exception as e:
                print(f"harness: stopping {w.name}: {e}", file=sys.stderr)
        if self.api:
            self.api.stop()
        if self.broker:
            self.broker.stop()

    @property
    def bootstrap(self):
        return self.broker.bootstrap

    def config(self, **kw):
        """config_text() for this env's broker and API."""
        return config_text(self.broker, self.api, **kw)

    def worker(self, config=None, env=None, start=True, name=None,
               binary=None, **kw):
        """A Worker on config (default: self.config(**kw)), started
        unless start=False; stopped when the Env ends."""
        if config is None:
            config = self.config(**kw)
        elif kw:
            raise TypeError("pass either config text or config_text() "
                            "keywords, not both")
        w = Worker(config, env=env, workdir=self.dir.path, name=name,
                   binary=binary)
        self.workers.append(w)
        if start:
            w.start()
        return w

    def produce(self, records, topic="erp.customers"):
        """produce() to topic; env.produce(topic, records) works too."""
        if isinstance(records, str):
            records, topic = topic, records
        return produce(self.bootstrap, topic, records)

    def consume(self, topic, min_count=0, timeout=10.0):
        return consume(self.bootstrap, topic, min_count, timeout)

    def wait_for(self, topic, count, timeout=60.0):
        return wait_for(self.bootstrap, topic, count, timeout)

    def committed(self, group="custsync-test", topic="erp.customers"):
        return committed(self.bootstrap, group, topic)


# ---------------------------------------------------------------------------
# Test runner

_kept_dirs = []


def run_tests(namespace, argv=None):
    """Runs every test_* function of namespace in definition order, or
    only those named on the command line. Exits 1 if any failed."""
    argv = sys.argv[1:] if argv is None else list(argv)
    tests = [(n, f) for n, f in namespace.items()
             if n.startswith("test_") and callable(f)]
    if argv:
        known = dict(tests)
        unknown = [n for n in argv if n not in known]
        if unknown:
            print(f"unknown test(s): {', '.join(unknown)}; have: "
                  f"{', '.join(n for n, _ in tests)}", file=sys.stderr)
            sys.exit(2)
        tests = [(n, known[n]) for n in argv]
    _install_handlers()

    passed = failed = 0
    for name, fn in tests:
        del _test_workers[:]
        del _kept_dirs[:]
        before = set(live_processes())
        t0 = time.monotonic()
        try:
            fn()
        except Exception:
            failed += 1
            print(f"FAIL {name}")
            print(traceback.format_exc().rstrip())
            for w in _test_workers:
                print(f"---- {w.name} log ({w.log_path}), last 60 lines "
                      f"----")
                print(w.tail(60) or "(empty)")
            for d in _kept_dirs:
                print(f"---- kept {d}")
        else:
            passed += 1
            print(f"PASS {name} ({time.monotonic() - t0:.1f}s)")
        finally:
            # A test must not leave processes to the next one.
            leftover = set(live_processes()) - before
            if leftover:
                print(f"harness: {name} left {len(leftover)} process(es) "
                      f"running; stopping them", file=sys.stderr)
                terminate_all(only=leftover)
        sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    sys.stdout.flush()
    sys.exit(1 if failed else 0)
