"""Under systemd (Type=notify, WatchdogSec=): READY=1 once running,
STATUS= with events/s, in flight and paused partitions, WATCHDOG=1 from
the loop within half the watchdog interval, STOPPING=1 on SIGTERM; a
Retry-After hold shows in STATUS as paused partitions.

The test plays systemd: it binds the AF_UNIX datagram socket that
NOTIFY_SOCKET names and records every message with its arrival time."""

import os
import re
import socket
import stat
import threading
import time

import harness as h
from events import customer, native, outcomes

WATCHDOG_USEC = 2_000_000
PARTITIONS = h.DEFAULT_TOPICS["erp.customers"]
STATUS_RX = re.compile(r"^STATUS=(\d+\.\d) events/s, (\d+) in flight, "
                       r"(\d+) buffered, (\d+)/(\d+) partitions paused, "
                       r"concurrency limit (\d+)$")


class NotifySocket:
    """What systemd's notify socket would receive: (monotonic time, line)
    for every line of every datagram, in arrival order."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self._lines = []
        self._lock = threading.Lock()
        self._stop = False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            now = time.monotonic()
            with self._lock:
                for line in data.decode("utf-8", "replace").splitlines():
                    self._lines.append((now, line))

    def lines(self, prefix=""):
        with self._lock:
            return [(t, l) for t, l in self._lines if l.startswith(prefix)]

    def statuses(self, since=0.0):
        """Parsed STATUS= lines after `since`: (t, events/s, in flight,
        buffered, paused, assigned). A STATUS= in another shape fails."""
        out = []
        for t, line in self.lines("STATUS="):
            if t < since or line == "STATUS=consuming":
                continue
            m = STATUS_RX.match(line)
            assert m, f"STATUS= not in the expected shape: {line!r}"
            out.append((t, float(m[1]), int(m[2]), int(m[3]), int(m[4]),
                        int(m[5])))
        return out

    def wait_status(self, pred, since, timeout, what):
        return h.wait_until(
            lambda: [s for s in self.statuses(since) if pred(s)],
            timeout=timeout, step=0.1, what=what)[0]

    def close(self):
        self._stop = True
        self._t.join(2)
        self.sock.close()


def notifying_worker(env, notify_path):
    """A worker that believes systemd runs it with WatchdogSec=2s.
    WATCHDOG_PID must be custsync's own pid, so a wrapper sets it to its
    own pid and execs custsync in its place."""
    wrapper = env.dir.path / "custsync-under-systemd"
    wrapper.write_text("#!/bin/sh\nWATCHDOG_PID=$$; export WATCHDOG_PID\n"
                       f"exec '{h.bin_path('custsync')}' \"$@\"\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return env.worker(binary=wrapper, max_in_flight=8,
                      env={"NOTIFY_SOCKET": str(notify_path),
                           "WATCHDOG_USEC": str(WATCHDOG_USEC)})


def check_watchdog(ns, start, end):
    """WATCHDOG=1 all along [start, end], never more than half the
    interval apart, plus scheduling slack on a busy test machine."""
    limit = WATCHDOG_USEC / 2e6 + 0.3
    times = [t for t, _ in ns.lines("WATCHDOG=1") if start <= t <= end]
    edges = [start] + times + [end]
    gaps = [b - a for a, b in zip(edges, edges[1:])]
    assert max(gaps) <= limit, \
        f"WATCHDOG=1 gap of {max(gaps):.2f}s (limit {limit:.2f}s)"


def test_notify_ready_status_watchdog_stopping():
    with h.Env(api=dict(no_auth=True)) as env:
        ns = NotifySocket(env.dir.path / "notify.sock")
        try:
            w = notifying_worker(env, ns.path)
            h.wait_until(lambda: ns.lines("READY=1"), timeout=20,
                         what="READY=1")
            t_ready = ns.lines("READY=1")[0][0]

            # Busy: events/s above zero while they flow.
            env.produce([native("create", f"N{i}", customer(f"n{i}"))
                         for i in range(30)])
            outcomes(env, 30)
            t_done = time.monotonic()
            busy = ns.wait_status(lambda s: s[1] > 0, t_ready, 10,
                                  "a STATUS= with events/s > 0")
            assert busy[5] == PARTITIONS and busy[4] == 0, busy

            # Idle: zero events/s, nothing in flight, nothing paused.
            idle = ns.wait_status(lambda s: s[1] == 0, t_done + 0.1, 10,
                                  "a STATUS= with 0.0 events/s")
            assert idle[2:] == (0, 0, 0, PARTITIONS), idle

            # A Retry-After hold: writes wait 3 s, twice (the first
            # probe meets the window too), every partition paused.
            t_hold = time.monotonic()
            env.api.disable_writes(seconds=5, retry_after=3, status=503)
            env.produce([native("create", f"H{i}", customer(f"h{i}"))
                         for i in range(10)])
            held = ns.wait_status(lambda s: s[4] > 0, t_hold, 10,
                                  "a STATUS= with partitions paused")
            assert held[4] == held[5] == PARTITIONS, held
            assert held[3] > 0, held  # the held events are buffered
            outcomes(env, 40, timeout=60)
            t_resumed = time.monotonic()
            resumed = ns.wait_status(lambda s: s[4] == 0, t_resumed, 10,
                                     "a STATUS= after the hold, unpaused")
            assert resumed[5] == PARTITIONS, resumed
            assert "endpoint asked to wait" in w.log(), w.tail()

            t_stop = time.monotonic()
            check_watchdog(ns, t_ready, t_stop)
            assert w.stop() == 0, w.tail()
            stopping = ns.lines("STOPPING=1")
            assert len(stopping) == 1 and stopping[0][0] >= t_stop, \
                stopping
            assert len(ns.lines("READY=1")) == 1, ns.lines("READY=1")
        finally:
            ns.close()


def test_no_watchdog_for_another_pid():
    """WATCHDOG_PID names the process systemd watches: a child that
    inherits the variables (not the main pid) stays silent."""
    with h.Env(api=dict(no_auth=True)) as env:
        ns = NotifySocket(env.dir.path / "notify.sock")
        try:
            w = env.worker(env={"NOTIFY_SOCKET": ns.path,
                                "WATCHDOG_USEC": str(WATCHDOG_USEC),
                                "WATCHDOG_PID": str(os.getpid())})
            h.wait_until(lambda: ns.lines("READY=1"), timeout=20,
                         what="READY=1")
            time.sleep(2.5)
            assert not ns.lines("WATCHDOG=1"), ns.lines()
            assert w.stop() == 0, w.tail()
        finally:
            ns.close()


if __name__ == "__main__":
    h.run_tests(globals())
