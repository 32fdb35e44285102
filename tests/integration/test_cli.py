"""The command line: check-config with FILE:LINE:COL, --version, --help,
and a run with a bad config exiting 78 (EX_CONFIG)."""

import re
import subprocess
import tempfile
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
            env={"KAFKA_PASSWORD": "x", "ALVYS_CLIENT_ID": "x",
                 "CREDENTIALS_DIRECTORY": str(h.SOURCE_DIR / "tests" /
                                              "integration" / "creds")})
        assert p.returncode == 0, (name, p.stdout, p.stderr)


if __name__ == "__main__":
    h.run_tests(globals())
