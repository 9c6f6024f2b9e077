"""Pytest plugin (loaded with ``-p tests.services``): real PostgreSQL and Redis for the suite.

It runs before Django is configured, so it can choose the database: ``DATABASE_URL`` and
``REDIS_URL`` are used when set, else PostgreSQL and Redis on 127.0.0.1 when they answer. Tests that
need a service carry the ``postgres`` / ``redis`` marker; without the service they are skipped with
the reason, unless ``CI`` is set, where the missing service fails them (and the run). The same
holds for the ``multihost`` marker: the test needs root and Linux network namespaces (``ip netns``).

With ``TEST_EMBEDDED=1`` the run is the *embedded pass* (``make test`` runs it second): the
configuration of ``make run`` on a machine without PostgreSQL and Redis, i.e. SQLite under a
``var/`` of its own, kombu's filesystem broker and a file cache. It runs only the tests marked
``embedded`` (pages, searches, browser journeys, the raw-SQL/ORM twins, a worker on the filesystem
broker) and ``embedded_only`` (the walk of every page on the default configuration), whatever
service markers they also carry: they are written to pass on both configurations (a test of a
PostgreSQL-only behaviour in such a module is marked ``postgres_only``). Under ``CI`` any
test skipped in this pass fails it, so it can never pass by not running; and the first pass, which
runs everything but the ``embedded_only`` tests, keeps its own rule.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from functools import cache
from urllib.parse import urlparse

import pytest

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
EMBEDDED = os.environ.get("TEST_EMBEDDED", "").lower() not in ("", "0", "false", "no")


def _answers(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 1
        ):
            return True
    except OSError:
        return False


# Never let a developer's .env (written by `make run`) change what the suite sees.
os.environ["ENV_FILE"] = ""
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-suite-secret-key-not-for-production-" + "x" * 20)
os.environ.setdefault("HTTPS", "false")
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "3q2-7wDZ9cN0c1XH0GQyT8bSHrYl5J2vKQ8tZp0uW6A=")
os.environ.setdefault("CACHE_URL", "locmemcache://")
# One process serves every request of the suite (the client, the live server's thread), so its
# memory cache counts as shared: sessions and permissions are cached as in production.
os.environ.setdefault("MEMORY_CACHE_SHARED", "true")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault(
    "STATICFILES_BACKEND", "django.contrib.staticfiles.storage.StaticFilesStorage"
)

# whitenoise warns about a missing STATIC_ROOT on every request; the suite serves from finders.
os.makedirs(
    os.path.join(os.path.dirname(os.path.dirname(__file__)), "var", "static"), exist_ok=True
)

if EMBEDDED:
    # What scripts/run.sh chooses when Redis does not answer, under a var/ of this run's own.
    EMBEDDED_VAR = tempfile.mkdtemp(prefix="console-embedded-")
    os.environ["VAR_DIR"] = EMBEDDED_VAR
    os.environ["DATABASE_URL"] = f"sqlite:///{EMBEDDED_VAR}/console.sqlite3"
    os.environ["CELERY_BROKER_URL"] = "filesystem://localhost/"
    os.environ["CACHE_URL"] = f"filecache://{EMBEDDED_VAR}/cache"
    os.makedirs(os.path.join(EMBEDDED_VAR, "static"))

if "DATABASE_URL" not in os.environ and _answers(DEFAULT_DATABASE_URL, 5432):
    os.environ["DATABASE_URL"] = DEFAULT_DATABASE_URL
POSTGRES_URL = os.environ.get("DATABASE_URL", "")
POSTGRES_OK = POSTGRES_URL.startswith(("postgres://", "postgresql://")) and _answers(
    POSTGRES_URL, 5432
)

os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
os.environ.setdefault("CELERY_BROKER_URL", os.environ["REDIS_URL"])
REDIS_OK = _answers(os.environ["REDIS_URL"], 6379)

_skipped_service_tests: list[str] = []
_skipped_embedded_tests: list[str] = []


def pytest_report_header(config) -> list[str]:
    if EMBEDDED:
        return [
            "embedded pass (the `make run` configuration): SQLite, filesystem broker, file cache "
            f"under {os.environ['VAR_DIR']}",
            f"CI: {'yes, any skipped test fails the run' if IN_CI else 'no'}",
        ]
    parsed = urlparse(POSTGRES_URL)
    database = f"PostgreSQL {parsed.hostname}:{parsed.port or 5432}{parsed.path}"
    if not POSTGRES_OK:
        database = "SQLite (PostgreSQL not reachable)"
    return [
        f"database: {database}",
        f"redis: {os.environ['REDIS_URL'] if REDIS_OK else 'not reachable'}",
        f"CI: {'yes, a missing service fails its tests' if IN_CI else 'no'}",
    ]


def pytest_collection_modifyitems(config, items) -> None:
    """The embedded pass keeps the tests marked for it; the first pass leaves out the walk that
    only means something on the embedded configuration."""
    kept, deselected = [], []
    for item in items:
        embedded_only = item.get_closest_marker("embedded_only") is not None
        if EMBEDDED:
            wanted = embedded_only or item.get_closest_marker("embedded") is not None
            wanted = wanted and item.get_closest_marker("postgres_only") is None
        else:
            wanted = not embedded_only
        (kept if wanted else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@cache
def network_namespaces() -> str:
    """Why the multi-host test cannot make network namespaces here ("" when it can): it needs
    root and ``ip netns`` (iproute2). Probed once, by adding and deleting a namespace."""
    if os.geteuid() != 0:
        return "not root"
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2)"
    name = f"pn-probe-{os.getpid()}"
    try:
        added = subprocess.run(
            ["ip", "netns", "add", name], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"`ip netns add` failed: {error}"
    if added.returncode != 0:
        return f"`ip netns add` failed: {added.stderr.strip()}"
    subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=10)
    return ""


def _missing(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} is not reachable and CI is set: this test may not be skipped")
    pytest.skip(f"{what} is not reachable (set DATABASE_URL / REDIS_URL, or start it)")


def pytest_runtest_setup(item) -> None:
    if EMBEDDED:
        return  # the embedded tests run on SQLite and the filesystem broker by design
    if item.get_closest_marker("postgres") and not POSTGRES_OK:
        _missing(f"PostgreSQL ({POSTGRES_URL or DEFAULT_DATABASE_URL})")
    if item.get_closest_marker("redis") and not REDIS_OK:
        _missing(f"Redis ({os.environ['REDIS_URL']})")
    if item.get_closest_marker("multihost") and (why := network_namespaces()):
        _missing(f"Linux network namespaces ({why})")


def pytest_runtest_logreport(report) -> None:
    if not report.skipped:
        return
    if EMBEDDED:
        _skipped_embedded_tests.append(report.nodeid)
    elif {"postgres", "redis", "multihost"} & set(report.keywords):
        _skipped_service_tests.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus) -> None:
    if IN_CI and (_skipped_service_tests or _skipped_embedded_tests):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config) -> None:
    if EMBEDDED:
        shutil.rmtree(EMBEDDED_VAR, ignore_errors=True)


def pytest_terminal_summary(terminalreporter) -> None:
    if _skipped_embedded_tests:
        verdict = "FAILS the run (CI is set)" if IN_CI else "were skipped"
        terminalreporter.write_line(
            f"{len(_skipped_embedded_tests)} test(s) of the embedded pass {verdict}:",
            red=IN_CI,
            yellow=not IN_CI,
        )
        for nodeid in _skipped_embedded_tests:
            terminalreporter.write_line(f"  {nodeid}")
    if _skipped_service_tests:
        verdict = "FAILS the run (CI is set)" if IN_CI else "were skipped"
        terminalreporter.write_line(
            f"{len(_skipped_service_tests)} test(s) needing PostgreSQL, Redis or network "
            f"namespaces {verdict}:",
            red=IN_CI,
            yellow=not IN_CI,
        )
        for nodeid in _skipped_service_tests:
            terminalreporter.write_line(f"  {nodeid}")
