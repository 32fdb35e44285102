"""Static membership: group.instance.id passes through kafka.properties,
and a fenced instance (another process with the same id) stops with a
clear message and exit status 78, which the unit does not restart.
librdkafka 2.0.2's mock cluster does not implement static membership, so
the fencing is the mock's injected FENCED_INSTANCE_ID on Heartbeat."""

import re

import harness as h
from events import customer, native, outcomes

HEARTBEAT = 12
FENCED_INSTANCE_ID = 82


def test_fenced_instance_exits_78_with_a_clear_message():
    with h.Env(api=dict(no_auth=True)) as env:
        w = env.worker(properties={"group.instance.id": "custsync-a-host"})
        env.produce([native("create", "F1", customer("f1"))])
        outcomes(env, 1)  # in the group, heartbeating
        env.broker.push_errors(HEARTBEAT, *[FENCED_INSTANCE_ID] * 5)
        h.wait_until(lambda: not w.alive(), timeout=30,
                     what="the fenced worker to exit")
        assert w.returncode == 78, (w.returncode, w.tail())
        assert "fenced: another consumer runs with this " \
               "group.instance.id" in w.log(), w.tail()
        # The one fatal error is reported once, not also by librdkafka's
        # log or the stop that follows it.
        told = [ln for ln in w.log().splitlines()
                if "fenced by other consumer" in ln
                and re.search(r" (error|warning) ", ln)]
        assert len(told) == 1, told


if __name__ == "__main__":
    h.run_tests(globals())
