"""A Retry-After holds the whole endpoint: partitions pause, polling goes
on, one probe when the wait ends, then everything resumes; nothing fails.
(Each profile's test runs the same window through events.py.)"""

import harness as h
from events import customer, retry_after_window


def test_503_endpoint_disabled():
    retry_after_window(503, "alvys", lambda i: customer(f"w{i}"),
                       "/customers", n=20)


def test_429_rate_limited():
    retry_after_window(429, "alvys", lambda i: customer(f"w{i}"),
                       "/customers", n=20)


if __name__ == "__main__":
    h.run_tests(globals())
