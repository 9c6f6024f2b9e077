"""The local demo of `make run` (issue #7): simulator config, credentials and demo settings.

Everything here serves the demo only. The two demo applications' APP_Key/APP_Secret pairs are
generated once and kept in ``var/demo-apps.json``; the simulator's config ``var/simulator.json`` is
written from them with the console's own push receivers, so the simulator (a ``Procfile`` process)
and the console's Application rows always agree.
"""

from __future__ import annotations

import json
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings

from console.models import Application
from simulator.testing import Control

SIMULATOR_PORT = 18080
SIMULATOR_BASE_URL = f"http://127.0.0.1:{SIMULATOR_PORT}"
# 280 X numbers in 5 cities: Shenzhen, Guangzhou, Beijing, Shanghai, Hangzhou.
CITIES = ("0755", "020", "010", "021", "0571")
AXB_NUMBERS_PER_CITY = 32
AX_NUMBERS_PER_CITY = 8
AXE_NUMBERS_PER_CITY = 8
AXYB_NUMBERS_PER_CITY = 8
# One application of each mode (name, mode, numbers per city, number prefix): every binding form
# of the console can be tried on the simulator. 170/171/165/167 are virtual-operator ranges.
DEMO_APPS = (
    ("Demo AXB (ride hailing)", "AXB", AXB_NUMBERS_PER_CITY, "+86170"),
    ("Demo AX (delivery)", "AX", AX_NUMBERS_PER_CITY, "+86171"),
    ("Demo AXE (home services)", "AXE", AXE_NUMBERS_PER_CITY, "+86165"),
    ("Demo AXYB (second-hand market)", "AXYB", AXYB_NUMBERS_PER_CITY, "+86167"),
)
AXE_EXTENSION_LENGTH = 4
# Prices of the demo applications (CNY): per started minute to A, from A, and rent per X a month.
DEMO_TARIFF = {
    "price_to_a": Decimal("0.10"),
    "price_from_a": Decimal("0.12"),
    "price_abnormal": Decimal("0.00"),
    "monthly_rent_per_number": Decimal("5.00"),
}


def var_dir() -> Path:
    path = Path(settings.VAR_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def credentials(directory: Path | None = None) -> dict[str, dict[str, str]]:
    """The demo apps' credentials by mode, generated on first use and kept in var/."""
    path = (directory or var_dir()) / "demo-apps.json"
    creds = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    missing = [mode for _name, mode, _per_city, _prefix in DEMO_APPS if mode not in creds]
    if not missing:
        return creds
    # A var/ from before a mode was part of the demo gets that mode's credentials added.
    for mode in missing:
        creds[mode] = {
            "app_key": f"demo{mode}{secrets.token_hex(12)}",
            "app_secret": secrets.token_hex(16),
        }
    path.write_text(json.dumps(creds, indent=2), encoding="utf-8")
    path.chmod(0o600)
    return creds


def numbers(mode: str) -> list[dict[str, str]]:
    """The demo X numbers of one app: ``per_city`` numbers in each of the five cities."""
    for _name, app_mode, per_city, prefix in DEMO_APPS:
        if app_mode == mode:
            return [
                {"number": f"{prefix}{c:03d}{i:05d}", "city": city}
                for c, city in enumerate(CITIES)
                for i in range(1, per_city + 1)
            ]
    raise ValueError(mode)


def simulator_app(mode: str, directory: Path | None = None) -> dict[str, Any]:
    """One demo application as the simulator's config (and its ``/_sim/apps``) take it."""
    urls = Application.receiver_urls()
    app = {
        **credentials(directory)[mode],
        "mode": mode,
        "status_url": urls["status_url"],
        "fee_url": urls["fee_url"],
        "sms_url": urls["sms_url"],
        "xstatus_url": urls["xstatus_url"],
        "record": True,
        "sms": True,
        "sms_content": True,
        "numbers": numbers(mode),
    }
    if mode == "AXE":
        app["extension_length"] = AXE_EXTENSION_LENGTH
    return app


def simulator_config(directory: Path | None = None) -> dict[str, Any]:
    return {"apps": [simulator_app(mode, directory) for _name, mode, _n, _prefix in DEMO_APPS]}


def write_simulator_config(directory: Path | None = None) -> Path:
    """Write ``var/simulator.json`` (the ``simulator`` process of the Procfile reads it)."""
    directory = directory or var_dir()
    path = directory / "simulator.json"
    path.write_text(json.dumps(simulator_config(directory), indent=2), encoding="utf-8")
    path.chmod(0o600)
    return path


# ---------------------------------------------------------------------------------------------
# Demo data (``manage.py load_demo``)
# ---------------------------------------------------------------------------------------------

# Outcomes of generated history CDRs: (weight, release point §9, Q.850, SIP), as the simulator
# ends its calls (simulator/README.md).
HISTORY_OUTCOMES = (
    (78, 0, 0, 0),  # answered
    (8, 8102, 17, 486),  # busy
    (6, 8101, 19, 480),  # no answer
    (3, 8104, 20, 480),  # power off
    (3, 7503, 21, 603),  # rejected
    (2, 8103, 18, 480),  # unreachable
)
LIVE_OUTCOMES = {"answered": 8, "busy": 1, "no_answer": 1, "power_off": 1}
# The CDR serviceType of each mode (spec §6.2).
SERVICE_TYPES = {"AXB": "004", "AX": "003", "AXE": "005", "AXYB": "007"}
# SMS the demo sends through its AXB bindings (data: what riders and drivers write).
DEMO_SMS = (
    "师傅您好，我在小区北门等您。",
    "Running 5 minutes late, sorry!",
    "好的，马上到。",
    "I am at the east entrance.",
)


def demo_applications() -> list[Application]:
    keys = [c["app_key"] for c in credentials().values()]
    return list(Application.objects.filter(app_key__in=keys).order_by("pk"))


def place_demo_calls(count: int = 6) -> int:
    """Place ``count`` calls on each demo application through the simulator (DEMO_TRAFFIC)."""
    placed = 0
    for application in demo_applications():
        control = Control(application.base_url)
        answer = control.bulk_calls(
            application.app_key, count, outcome=LIVE_OUTCOMES, duration=[15, 240]
        )
        placed += answer.get("placed", 0)
    return placed
