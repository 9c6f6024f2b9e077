"""The suite's plugin (tests/services.py): a test that needs what this machine lacks is skipped
with the reason, unless CI is set, where it fails; and a skipped one fails a CI run. The
``multihost`` marker (network namespaces) follows the same rule as ``postgres`` and ``redis``."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests import services


def marked(*names: str) -> SimpleNamespace:
    return SimpleNamespace(
        get_closest_marker=lambda name: SimpleNamespace(name=name) if name in names else None
    )


@pytest.fixture
def no_namespaces(monkeypatch):
    monkeypatch.setattr(services, "EMBEDDED", False)
    monkeypatch.setattr(services, "network_namespaces", lambda: "not root")


def test_a_multihost_test_without_namespaces_is_skipped_with_the_reason(no_namespaces, monkeypatch):
    monkeypatch.setattr(services, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match=r"network namespaces \(not root\)"):
        services.pytest_runtest_setup(marked("multihost"))


def test_in_ci_a_multihost_test_without_namespaces_fails(no_namespaces, monkeypatch):
    monkeypatch.setattr(services, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="may not be skipped"):
        services.pytest_runtest_setup(marked("multihost"))


def test_in_ci_a_skipped_multihost_test_fails_the_run(monkeypatch):
    monkeypatch.setattr(services, "IN_CI", True)
    monkeypatch.setattr(services, "EMBEDDED", False)
    monkeypatch.setattr(services, "_skipped_service_tests", [])
    services.pytest_runtest_logreport(
        SimpleNamespace(skipped=True, keywords={"multihost": 1}, nodeid="tests/x.py::test_it")
    )
    session = SimpleNamespace(exitstatus=pytest.ExitCode.OK)
    services.pytest_sessionfinish(session, pytest.ExitCode.OK)
    assert session.exitstatus == pytest.ExitCode.TESTS_FAILED


def test_a_test_without_the_marker_never_probes_for_namespaces(monkeypatch):
    monkeypatch.setattr(services, "EMBEDDED", False)
    monkeypatch.setattr(services, "IN_CI", True)
    monkeypatch.setattr(services, "network_namespaces", lambda: pytest.fail("probed"))
    services.pytest_runtest_setup(marked())
