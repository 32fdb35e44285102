"""The command line: check-config with FILE:LINE:COL, --version with the
libraries' versions, every command's --help and the man pages made from
the same texts, a run with a bad config exiting 78 (EX_CONFIG), and a
SIGTERM while a run is still starting ending it with 0."""

import errno
import gzip
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


COMMANDS = ("run", "check-config", "dlq", "replay")


def pkg_version(module):
    p = subprocess.run(["pkg-config", "--modversion", module],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, (module, p.stderr)
    return p.stdout.strip()


def project_version():
    text = (h.SOURCE_DIR / "CMakeLists.txt").read_text()
    return re.search(r"project\(custsync VERSION (\S+)", text).group(1)


def test_version_and_help():
    rc, out = run("--help")
    assert rc == 0 and "check-config" in out and "run -c FILE" in out, out
    rc, out = run("frobnicate")
    assert rc == 64, (rc, out)


def test_version_names_each_library():
    """custsync's version first (scripts read line 1), then each library
    as loaded, as kcat -V does; the versions are the ones this machine
    builds against (pkg-config), not text in the binary."""
    for flag in ("--version", "-V"):
        p = subprocess.run([BIN, flag], capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == 0 and p.stderr == "", p
        lines = p.stdout.splitlines()
        assert lines[0] == "custsync " + project_version(), lines
        libs = {l.split(" ", 1)[0]: l.split(" ", 1)[1] for l in lines[1:]}
        assert set(libs) == {"librdkafka", "libcurl", "cJSON", "libyaml"}, \
            lines
        assert re.fullmatch(re.escape(pkg_version("rdkafka")) +
                            r" \(builtin\.features=[a-z0-9_,]*ssl[a-z0-9_,]*"
                            r"\)", libs["librdkafka"]), libs
        assert "sasl" in libs["librdkafka"], libs
        # The TLS backend, e.g. "(OpenSSL/3.0.11)".
        assert re.fullmatch(re.escape(pkg_version("libcurl")) +
                            r" \([A-Za-z]+[A-Za-z-]*/[0-9][^ )]*\)",
                            libs["libcurl"]), libs
        assert libs["cJSON"] == pkg_version("libcjson"), libs
        assert libs["libyaml"] == pkg_version("yaml-0.1"), libs


def help_of(*cmd):
    p = subprocess.run([BIN, *cmd, "--help"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0 and p.stderr == "", (cmd, p)
    return p.stdout


def options_of(text):
    """The options section of a --help: [(flags, metavar or None)]."""
    sec = text.split("\noptions:\n", 1)[1].split("\n\n", 1)[0]
    opts = []
    for line in sec.splitlines():
        m = re.match(r"  (-\S+(?:, -\S+)*)(?: ([A-Z]+))?(?:  |$)", line)
        if m:
            opts.append((m.group(1).split(", "), m.group(2)))
    return opts


def test_each_command_has_help_describing_its_flags():
    top = help_of()
    for cmd in COMMANDS:
        assert re.search(rf"^  {cmd} -c FILE", top, re.M), (cmd, top)
        out = help_of(cmd)
        assert out.startswith(f"usage: custsync {cmd} -c FILE"), out
        assert max(len(l) for l in out.splitlines()) <= 79, out
        assert "\nexit status:\n  0 " in out, out
        opts = options_of(out)
        flags = [f for names, _ in opts for f in names]
        assert {"-c", "--config", "-h", "--help"} <= set(flags), (cmd, out)
        for names, metavar in opts:
            for flag in names:
                # Every flag described is one the command takes: without
                # -c it gets as far as asking for it (or reads the
                # missing file, or prints its help).
                args = [flag] + (["1h" if flag == "--since" else
                                  "/nonexistent/c.yaml"] if metavar else [])
                rc, text = run(cmd, *args)
                assert "unrecognized" not in text and \
                    "invalid option" not in text, (cmd, flag, text)
                assert (rc, flag in ("-h", "--help")) == (0, True) or \
                    (rc == 64 and "-c FILE is required" in text) or \
                    (rc == 78 and "/nonexistent/c.yaml" in text), \
                    (cmd, flag, rc, text)
    assert [f for names, _ in options_of(top) for f in names] == \
        ["-h", "--help", "-V", "--version"], top


def test_usage_errors_point_at_help():
    for args in (["run", "--bogus"], ["check-config"], ["dlq", "-x"],
                 ["replay", "-c", "f", "extra"]):
        rc, out = run(*args)
        assert rc == 64, (args, rc, out)
        assert f"usage: custsync {args[0]} -c FILE" in out, (args, out)
        assert f"custsync {args[0]} --help" in out, (args, out)
    for args in ([], ["--bogus"], ["--help", "run"]):
        rc, out = run(*args)
        assert rc == 64 and "usage: custsync COMMAND" in out, (args, out)


MAN_DIR = h.BUILD_DIR / "man"


def flat(text):
    """Text as groff or --help lays it out, compared word by word: one
    space, ASCII dashes and quotes, no Markdown code marks."""
    for a, b in (("\u2010", "-"), ("\u2011", "-"), ("\u2212", "-"),
                 ("\u2018", "'"), ("\u2019", "'"), ("\u201c", '"'),
                 ("\u201d", '"'), ("`", "")):
        text = text.replace(a, b)
    # A line broken after a word's hyphen ("at-least-\n once").
    text = re.sub(r"(?<=\w-)\n\s+", "", text)
    return " ".join(text.split())


def render(page):
    """page as text, asserting that neither groff (every warning on) nor
    man-db, called as lintian calls it, has anything to say."""
    env = dict(os.environ, LC_ALL="C.UTF-8", MANROFFSEQ="", MANWIDTH="80")
    p = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(page)],
                       capture_output=True, text=True, timeout=30, env=env)
    assert p.returncode == 0 and p.stderr == "", (page, p.stderr)
    p = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8",
                        "-Z", str(page)], capture_output=True, text=True,
                       timeout=30, env=env)
    assert p.returncode == 0 and p.stderr == "", (page, p.stderr)
    p = subprocess.run(["man", "-l", str(page)], capture_output=True,
                       text=True, timeout=30,
                       env=dict(env, MAN_KEEP_FORMATTING=""))
    assert p.returncode == 0 and p.stderr == "", (page, p.stderr)
    return p.stdout


def test_man_page_custsync_1_is_the_help():
    """custsync(1) renders without a warning, and says what each
    command's --help says: its usage, every paragraph, every option with
    its text and every exit status."""
    page = MAN_DIR / "custsync.1"
    gz = MAN_DIR / "custsync.1.gz"
    assert gzip.decompress(gz.read_bytes()) == page.read_bytes()
    text = render(page)
    assert text.startswith("custsync(1)"), text[:200]
    man = flat(text)
    assert "NAME custsync - sync customer change events" in man, man[:300]
    for cmd in ((),) + tuple((c,) for c in COMMANDS):
        out = help_of(*cmd)
        usage, rest = out.split("\n\n", 1)
        # The SYNOPSIS has each command's usage, not "COMMAND [OPTIONS]".
        lines = usage.replace("usage: ", "").split("\n")
        if not cmd:
            lines = lines[1:]
        assert flat("\n".join(lines)) in man, (cmd, usage)
        for sec in rest.split("\n\n"):
            head = sec.split("\n", 1)[0]
            if head in ("options:", "exit status:", "commands:"):
                items = re.split(r"\n  (?=\S)", "\n" + sec.split("\n", 1)[1])
                for item in filter(None, items):
                    if head == "commands:":
                        continue  # the list of commands is the SYNOPSIS
                    assert flat(item) in man, (cmd, item)
            else:
                assert flat(sec) in man, (cmd, sec)


def readme_rows():
    """(key cell, meaning) of each row of README's configuration table."""
    text = (h.SOURCE_DIR / "README.md").read_text()
    table = text.split("<!-- config-table:begin -->")[1].split(
        "<!-- config-table:end -->")[0]
    rows = []
    for line in table.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        rows.append((cells[0], cells[1], cells[2]))
    return rows


def test_man_page_custsync_yaml_5_is_the_config_table():
    """custsync.yaml(5) renders without a warning and lists each key of
    README's configuration table, with its default and meaning (links
    become the README section's name)."""
    page = MAN_DIR / "custsync.yaml.5"
    gz = MAN_DIR / "custsync.yaml.5.gz"
    assert gzip.decompress(gz.read_bytes()) == page.read_bytes()
    man = flat(render(page))
    rows = readme_rows()
    assert len(rows) > 40, rows
    for key, default, meaning in rows:
        meaning = re.sub(r"\[([^\]]+)\]\(#[^)]+\)", r"\1 in README.md",
                         meaning)
        entry = flat(f"{key} {default} {meaning}")
        assert entry in man, (entry, man[:2000])


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
