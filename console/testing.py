"""Helpers for the test suites of every app (imported by tests, never by running code)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

KNOWN_PASSWORD = "correct horse battery staple"  # noqa: S105 - test users only


def wait_until(condition: Callable[[], object], timeout: float = 10.0, interval: float = 0.05):
    """Poll ``condition`` until it returns something truthy; fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s: {condition}")
