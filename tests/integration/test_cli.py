"""The command line: check-config with FILE:LINE:COL, --version, --help,
a run with a bad config exiting 78 (EX_CONFIG), and a SIGTERM while a
run is still starting ending it with 0."""

import errno
import os
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import harness as h

BIN = str(h.BUILD_DIR / "custsync")


def run(*args):
    p = subprocess.run([BIN, *args], capture_output=True, text=True,
                       timeout=30)
    return p.returncode, p.stdout + p.stderr


def write(text):
    d = Path(tempfile.mkdtemp(prefix="custsync-cli-"))
    f = d / "c.yaml"
    f.write_text(text)
    return str(f)


def test_version_and_help():
    rc, out = run("--version")
    assert rc == 0 and re.match(r"custsync \d+\.\d+\.\d+", out), out
    rc, out = run("--help")
    assert rc == 0 and "check-config" in out and "run -c FILE" in out, out
    rc, out = run("frobnicate")
    assert rc == 64, (rc, out)


def test_check_config_reports_every_problem_with_position():
    path = write("kafka:\n"
                 "  brokers: 127.0.0.1:9092\n"
                 "  group_id: g\n"
                 "  topics: [a]\n"
                 "  results_topic: r\n"
                 "  dead_letter_topic: d\n"
                 "  bogus: 1\n"
                 "target:\n"
                 "  profile: alvys\n"
                 "  base_url: http://127.0.0.1:1/api\n"
                 "  timeout_ms: soon\n")
    rc, out = run("check-config", "-c", path)
    assert rc == 78, (rc, out)
    lines = [l for l in out.splitlines() if l.startswith(path)]
    assert any(re.match(rf"{re.escape(path)}:7:3: .*bogus", l)
               for l in lines), out
    assert any(re.match(rf"{re.escape(path)}:11:15: .*timeout_ms", l)
               for l in lines), out
    rc, out = run("run", "-c", path)
    assert rc == 78, (rc, out)


def test_check_config_ok_on_examples():
    names = sorted(p.name for p in (h.SOURCE_DIR / "config").glob("*.yaml"))
    assert len(names) >= 5, names  # demo + one example per profile
    for name in names:
        p = subprocess.run(
            [BIN, "check-config", "-c", str(h.SOURCE_DIR / "config" / name)],
            capture_output=True, text=True, timeout=30,
            env={"ALVYS_CLIENT_ID": "x", "INSTANCE": "it", "HOSTNAME": "h",
                 "CREDENTIALS_DIRECTORY": str(h.SOURCE_DIR / "tests" /
                                              "integration" / "creds")})
        assert p.returncode == 0, (name, p.stdout, p.stderr)


# Valid, and never connected to: a run stopped while starting reaches no
# broker and no API.
RUN_CONFIG = ("kafka:\n"
              "  brokers: 127.0.0.1:1\n"
              "  group_id: g\n"
              "  topics: [a]\n"
              "  results_topic: r\n"
              "  dead_letter_topic: d\n"
              "target:\n"
              "  profile: alvys\n"
              "  base_url: http://127.0.0.1:1/api\n")


def catches_sigterm(pid):
    """Whether pid has a SIGTERM handler installed (SigCgt)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    mask = int(line.split()[1], 16)
                    return bool(mask >> (signal.SIGTERM - 1) & 1)
    except OSError:
        pass
    return False


def open_writer(fifo, proc, timeout=10.0):
    """The FIFO's write end, once proc has opened it to read."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno != errno.ENXIO:
                raise
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the config was never opened"
        time.sleep(0.005)


def test_sigterm_while_reading_config_exits_0():
    """run holds its config open (a FIFO that is not written yet) when
    SIGTERM comes: it finishes reading, then stops with 0 instead of
    dying by the signal (-15)."""
    d = Path(tempfile.mkdtemp(prefix="custsync-cli-"))
    fifo = d / "c.yaml"
    os.mkfifo(fifo, 0o600)
    proc = h.spawn([BIN, "run", "-c", str(fifo)],
                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE)
    fd = open_writer(fifo, proc)
    try:
        # The handlers come first: before the config is read. Without
        # them the signal below kills the process.
        try:
            h.wait_until(lambda: catches_sigterm(proc.pid), timeout=2.0,
                         what="a SIGTERM handler")
        except AssertionError:
            pass
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.1)
        try:
            os.write(fd, RUN_CONFIG.encode())
        except BrokenPipeError:
            pass  # it died by the signal: the assertion below says so
    finally:
        os.close(fd)
    out, err = proc.communicate(timeout=60)
    h.terminate(proc)
    assert proc.returncode == 0, (proc.returncode, err.decode()[-2000:])
    assert "stopped while starting" in err.decode(), err


def test_sigterm_right_after_start_exits_0():
    """SIGTERM at a few points of start-up (config read, worker
    created, loop entered): always 0."""
    path = write(RUN_CONFIG)
    for delay in (0, 0.002, 0.01, 0.05):
        proc = h.spawn([BIN, "run", "-c", path],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
        h.wait_until(lambda: catches_sigterm(proc.pid)
                     or proc.poll() is not None,
                     timeout=10.0, step=0.001, what="a SIGTERM handler")
        time.sleep(delay)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        h.terminate(proc)
        assert proc.returncode == 0, (delay, proc.returncode,
                                      err.decode()[-2000:])


if __name__ == "__main__":
    h.run_tests(globals())
