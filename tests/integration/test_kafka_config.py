"""kafka.properties as librdkafka sees them: K_file secrets read at
start and never logged, each property checked by librdkafka in
check-config and at run (FILE:LINE:COL, exit 78), and a warning naming a
secret file that group or others can read."""

import os
import re
import subprocess
import tempfile
from pathlib import Path

import harness as h
from events import customer, native, outcomes

BIN = str(h.BUILD_DIR / "custsync")
SECRET = "s3cr3t-never-logged"


def secret_file(d, name, text, mode=0o600):
    p = Path(d) / name
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(p, mode)  # past the umask
    return str(p)


def base(props):
    return ("kafka:\n"
            "  brokers: 127.0.0.1:1\n"
            "  group_id: g\n"
            "  topics: [a]\n"
            "  results_topic: r\n"
            "  dead_letter_topic: d\n"
            "  properties:\n" +
            "".join(f"    {k}: {v}\n" for k, v in props) +
            "target:\n"
            "  profile: alvys\n"
            "  base_url: http://127.0.0.1:1/api\n")


def check(text, cmd="check-config"):
    d = tempfile.mkdtemp(prefix="custsync-kcfg-")
    path = os.path.join(d, "c.yaml")
    Path(path).write_text(text)
    p = subprocess.run([BIN, cmd, "-c", path], capture_output=True,
                       text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr, path


def test_librdkafka_rejects_are_reported_at_their_place():
    rc, out, path = check(base([
        ("securty.protocol", "ssl"),
        ("security.protocol", "SSSL"),
        ("ssl.ca.location", "/nonexistent/ca.pem"),
        ("session.timeout.ms", "'6000'"),
    ]))
    assert rc == 78, (rc, out)
    p = re.escape(path)
    assert re.search(rf"^{p}:8:5: kafka\.properties\.securty\.protocol: "
                     r"No such configuration property", out, re.M), out
    assert re.search(rf"^{p}:9:5: kafka\.properties\.security\.protocol: "
                     r"Invalid value \"SSSL\"", out, re.M), out
    assert re.search(rf"^{p}:10:5: kafka\.properties\.ssl\.ca\.location: "
                     r"cannot read '/nonexistent/ca\.pem'", out, re.M), out
    assert "session.timeout.ms" not in out, out
    # The same checks stop run before any connection, with the place.
    rc, out, path = check(base([("security.protocol", "SSSL")]), "run")
    assert rc == 78, (rc, out)
    assert re.search(rf"^{re.escape(path)}:8:5: kafka\.properties\."
                     r"security\.protocol: Invalid value", out, re.M), out


def test_file_form_both_forms_and_permissions():
    d = tempfile.mkdtemp(prefix="custsync-kcfg-")
    ok = secret_file(d, "proto", "plaintext\n")  # newline stripped
    loose = secret_file(d, "pw", SECRET + "\n", 0o644)
    rc, out, path = check(base([("security.protocol_file", ok),
                                ("sasl.password_file", loose)]))
    assert rc == 0, (rc, out)
    assert re.search(r"warning secret file is accessible by group or "
                     r"others; make it 0600 or 0400 "
                     r"key=kafka\.properties\.sasl\.password_file "
                     rf"file={re.escape(loose)} mode=0644", out), out
    assert SECRET not in out, out
    os.chmod(loose, 0o600)
    rc, out, path = check(base([("sasl.password_file", loose)]))
    assert rc == 0 and "warning" not in out, (rc, out)
    rc, out, path = check(base([("sasl.password", "x"),
                                ("sasl.password_file", loose)]))
    assert rc == 78, (rc, out)
    assert re.search(rf"^{re.escape(path)}:9:5: kafka\.properties\."
                     r"sasl\.password_file: give sasl\.password or "
                     r"sasl\.password_file, not both", out, re.M), out
    # A value librdkafka refuses is not quoted when it came from a file.
    bad = secret_file(d, "bad", SECRET + "\n")
    rc, out, path = check(base([("security.protocol_file", bad)]))
    assert rc == 78 and SECRET not in out, (rc, out)
    assert "kafka.properties.security.protocol_file" in out, out


def test_run_with_secret_files_against_broker():
    """The file's content reaches librdkafka (a security.protocol with
    its newline left on would be refused) and is never logged, not even
    with librdkafka's conf debugging on."""
    with h.Env(api=dict(no_auth=True)) as env:
        proto = secret_file(env.dir.path, "proto", "plaintext\n")
        pw = secret_file(env.dir.path, "pw", SECRET + "\n")
        w = env.worker(properties={"security.protocol_file": proto,
                                   "sasl.password_file": pw,
                                   "debug": "conf"},
                       extra_yaml="log:\n  level: debug\n")
        env.produce([native("create", "KF1", customer("kf1"))])
        outcomes(env, 1)
        assert w.stop() == 0, w.tail()
        assert SECRET not in w.log(), "the secret was logged"


def test_queue_sizes_derived_unless_set():
    """librdkafka's queue sizes follow worker.max_buffered_events (1600:
    100 pre-fetched messages and KiB), except the one kafka.properties
    sets, here by librdkafka's alias of max.partition.fetch.bytes; the
    run works with them."""
    with h.Env(api=dict(no_auth=True)) as env:
        w = env.worker(properties={"fetch.message.max.bytes": "777777"},
                       extra_yaml="worker:\n  max_buffered_events: 1600\n"
                                  "log:\n  level: debug\n")
        env.produce([native("create", "KQ1", customer("kq1"))])
        outcomes(env, 1)
        assert w.stop() == 0, w.tail()
        derived = dict(re.findall(
            r"kafka property derived property=(\S+) value=(\S+)",
            w.log()))
        assert derived == {
            "queued.min.messages": "100",
            "queued.max.messages.kbytes": "100",
            "fetch.max.bytes": "1000000",
            "queue.buffering.max.messages": "6600",
            "queue.buffering.max.kbytes": "26400"}, derived


if __name__ == "__main__":
    h.run_tests(globals())
