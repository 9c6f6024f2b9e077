"""Fixtures of the recordings tests: storage in a temporary directory, a simulator with a
recording application, and recorded calls whose CDRs go through billing's real ingest."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.db import transaction

from billing import services as billing_services
from billing.models import CallRecord
from console.models import Application
from console.testing.factories import ApplicationFactory
from privatenumber.client import PrivateNumberClient
from privatenumber.schemas import FeeInfo
from recordings.models import Recording
from simulator.testing import SimulatorHandle, run_simulator

APP_KEY = "recTestAppKey".ljust(32, "0")
APP_SECRET = "recTestAppSecret".ljust(32, "0")
X_NUMBERS = [f"+86170009{i:05d}" for i in range(1, 6)]
A = "+8613800000001"
B = "+8613900000002"


def simulator_config() -> dict[str, Any]:
    return {
        "apps": [
            {
                "app_key": APP_KEY,
                "app_secret": APP_SECRET,
                "mode": "AXB",
                "record": True,
                "numbers": [{"number": x, "city": "0755"} for x in X_NUMBERS],
            }
        ]
    }


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Stored recordings and the spool in a temporary directory of each test; an empty cache."""
    cache.clear()
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECORDINGS_SPOOL_DIR = tmp_path / "spool"
    settings.RECORDINGS_STORAGE_BACKEND = "django.core.files.storage.FileSystemStorage"
    return tmp_path


@pytest.fixture(scope="session")
def simulator_process() -> Iterator[SimulatorHandle]:
    with run_simulator(simulator_config()) as handle:
        yield handle


@dataclass
class Platform:
    """A simulator, the console's Application for its recording app, and recorded calls."""

    sim: SimulatorHandle
    application: Application

    @property
    def control(self):
        return self.sim.control

    def client(self) -> PrivateNumberClient:
        return PrivateNumberClient(self.sim.base_url, APP_KEY, APP_SECRET)

    def bind(self, x: str = X_NUMBERS[0], a: str = A, b: str = B, record: bool = True) -> None:
        with self.client() as client:
            client.axb_bind(
                relation_num=x, caller_num=a, callee_num=b, record_flag=str(record).lower()
            )

    def call(self, seconds: int, x: str = X_NUMBERS[0], a: str = A) -> dict[str, Any]:
        """Place an answered call of ``seconds`` and return its CDR (wire names)."""
        return self.control.place_call(a, x, "answered", duration=seconds)["cdr"]

    def ingest(self, *cdrs: dict[str, Any]) -> list[Recording]:
        """Billing's ingest of these CDRs, in one transaction (as the push receiver does)."""
        with transaction.atomic():
            billing_services.ingest_cdrs(
                self.application, [FeeInfo.model_validate(cdr) for cdr in cdrs]
            )
        records = CallRecord.objects.filter(
            application=self.application, session_id__in=[cdr["sessionId"] for cdr in cdrs]
        )
        return list(Recording.objects.filter(call_record__in=records).order_by("id"))

    def recorded(self, seconds: int = 20, **call: Any) -> Recording:
        """One recorded call of ``seconds``, ingested: its Recording."""
        (recording,) = self.ingest(self.call(seconds, **call))
        return recording


def _platform(sim: SimulatorHandle) -> Platform:
    sim.control.clear_faults()
    sim.control.reset()
    application = ApplicationFactory(
        name="Recording app", mode="AXB", app_key=APP_KEY, base_url=sim.base_url, secret=APP_SECRET
    )
    platform = Platform(sim, application)
    platform.bind()
    return platform


@pytest.fixture
def platform(simulator_process, db) -> Iterator[Platform]:
    """The shared simulator, reset, with one recorded AXB binding and the console's app."""
    yield _platform(simulator_process)
    simulator_process.control.clear_faults()


@pytest.fixture
def platform_tx(simulator_process, transactional_db) -> Iterator[Platform]:
    """The same for tests that need real commits (workers, threads)."""
    yield _platform(simulator_process)
    simulator_process.control.clear_faults()
