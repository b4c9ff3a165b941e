"""The restore's route check: what counts as healthy, retries, and the error it raises."""

from __future__ import annotations

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.backup.errors import BackupError
from ansible_collections.erpops.odoo.plugins.module_utils.backup.health import HealthCheck, check_health


def answers(*replies):
    """A fetch that returns (or raises) the given replies in order and records the checks it got."""
    seen = []
    it = iter(replies)

    def fetch(check: HealthCheck):
        seen.append(check)
        r = next(it)
        if isinstance(r, Exception):
            raise r
        return r

    fetch.seen = seen
    return fetch


def test_passes_on_200_status_pass_after_retries() -> None:
    fetch = answers(ConnectionRefusedError("refused"), (503, b"upstream"), (200, b'{"status": "pass"}'))
    sleeps = []
    hc = HealthCheck("https://erp.example.com/web/health", headers={"Host": "erp"}, retries=5, delay=1.5)
    out = check_health(hc, fetch=fetch, sleep=sleeps.append)
    assert out == {"url": hc.url, "status": 200, "attempts": 3}
    assert sleeps == [1.5, 1.5] and fetch.seen[0].headers == {"Host": "erp"}


@pytest.mark.parametrize("reply", [(200, b'{"status": "fail"}'), (200, b"<html>ok</html>"), (200, b'["pass"]'),
                                   (500, b'{"status": "pass"}')])
def test_anything_but_200_with_status_pass_fails(reply) -> None:
    fetch = answers(reply, reply, reply)
    with pytest.raises(BackupError, match=r"in 3 attempts \(last: HTTP %d" % reply[0]) as err:
        check_health(HealthCheck("http://127.0.0.1:1/web/health", retries=2, delay=0), fetch=fetch,
                     sleep=lambda _s: None)
    assert err.value.kind == "validation" and len(fetch.seen) == 3


def test_no_answer_names_the_error() -> None:
    with pytest.raises(BackupError, match="ConnectionRefusedError: nope"):
        check_health(HealthCheck("http://127.0.0.1:1/web/health", retries=0),
                     fetch=answers(ConnectionRefusedError("nope")), sleep=lambda _s: None)


@pytest.mark.parametrize(("kwargs", "field"), [({"url": "erp.example.com/web/health"}, "verify_url"),
                                              ({"url": "http://x/web/health", "retries": -1}, "verify_retries")])
def test_bad_input_names_the_option(kwargs, field) -> None:
    with pytest.raises(BackupError, match=field) as err:
        HealthCheck(**kwargs)
    assert err.value.kind == "input"
