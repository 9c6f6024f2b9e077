"""Fixtures of the bindings tests: a simulator with one application of each mode, mirrored here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from bindings.cities import province_of
from bindings.models import XNumber
from console.models import Application
from console.testing.factories import ApplicationFactory, secret_for
from simulator.testing import SimulatorHandle, run_simulator

# Numbers of each simulated application: (number, city).
POOLS: dict[str, list[tuple[str, str]]] = {
    "AXB": [(f"+86170000{i:05d}", "0755") for i in range(1, 31)]
    + [(f"+86170001{i:05d}", "020") for i in range(1, 4)]
    + [(f"+86170002{i:05d}", "010") for i in range(1, 3)],
    "AX": [(f"+86171000{i:05d}", "0755") for i in range(1, 26)]
    + [(f"+86171001{i:05d}", "020") for i in range(1, 3)],
    "AXE": [(f"+86167000{i:05d}", "0571") for i in range(1, 4)],
    "AXYB": [(f"+86165000{i:05d}", "028") for i in range(1, 9)],
}
APP_KEYS = {mode: f"sim{mode}Key{'0' * (24 - len(mode))}1" for mode in POOLS}


def simulator_config() -> dict:
    return {
        "apps": [
            {
                "app_key": APP_KEYS[mode],
                "app_secret": secret_for(APP_KEYS[mode]),
                "mode": mode,
                "record": True,
                "sms": True,
                "extension_length": 4,
                "numbers": [{"number": n, "city": c} for n, c in numbers],
            }
            for mode, numbers in POOLS.items()
        ]
    }


@pytest.fixture(scope="session")
def simulator() -> Iterator[SimulatorHandle]:
    """One simulator subprocess for the session; each test that uses it starts from a reset."""
    with run_simulator(simulator_config()) as sim:
        yield sim


@dataclass
class Platform:
    """The running simulator and a way to get the console's mirror of one of its applications."""

    sim: SimulatorHandle
    application: Callable[[str], Application]
    changed_numbers: set[str] = field(default_factory=set)

    @property
    def control(self):
        return self.sim.control

    def set_number_status(self, number: str, status: str, cause: str | None = None) -> None:
        """Change an X's status on the platform (put back to normal after the test)."""
        self.changed_numbers.add(number)
        self.control.set_number_status(number, status, cause)

    def restore(self) -> None:
        for number in self.changed_numbers:
            self.control.set_number_status(number, "5")
        self.changed_numbers.clear()


@pytest.fixture
def platform(simulator, db) -> Platform:
    """The simulator, reset, and ``platform.application(mode)`` creating the console's side."""
    simulator.control.clear_faults()
    simulator.control.reset()

    def application(mode: str, *, numbers: int | None = None) -> Application:
        app = ApplicationFactory(
            name=f"Sim {mode}",
            mode=mode,
            app_key=APP_KEYS[mode],
            base_url=simulator.base_url,
            extension_length=4 if mode == "AXE" else None,
        )
        pool = POOLS[mode][:numbers] if numbers else POOLS[mode]
        XNumber.objects.bulk_create(
            [
                XNumber(application=app, number=n, city_code=c, province=province_of(c))
                for n, c in pool
            ]
        )
        return app

    handle = Platform(simulator, application)
    yield handle
    simulator.control.clear_faults()
    handle.restore()


@pytest.fixture
def default_language():
    """Run the test in the console's default language (Simplified Chinese)."""
    return "zh-hans"


@pytest.fixture(autouse=True)
def english_messages(request):
    """Messages built outside a request come out in English, so tests can read them.

    Pages requested through the test client still get the default language from
    LocaleMiddleware; tests that check the default language ask for ``default_language``.
    """
    from django.utils import translation

    if "default_language" in request.fixturenames:
        yield
        return
    with translation.override("en"):
        yield
