"""``manage.py load_demo``: demo data for `make run` (issue #7). Demo only; idempotent.

Creates the two demo applications and their 200 X numbers, 1,000 bindings made through the
binding services against the simulator (so calls route), and a week of call history. The history
before today is generated CDRs ingested through ``billing.services.ingest_cdrs`` directly, the
simulator cannot place calls in the past; these CDRs carry no recording. Today's calls are real
simulator calls (with recordings), pushed to the console once it runs.
"""

from __future__ import annotations

import logging
import random
from datetime import UTC, timedelta
from pathlib import Path

import requests
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from billing import services as billing
from bindings import services as bindings
from bindings.choices import BindingStatus
from bindings.cities import province_of
from bindings.models import Binding, XNumber
from console import demo
from console.celery import app as celery_app
from console.models import Application
from privatenumber.schemas import FeeInfo

AXB_BINDINGS = 960
AX_BINDINGS = 40  # AX: one A per X, 40 AX numbers
HISTORY_CALLS_PER_DAY = 160
TODAY_CALLS = 40


def _time(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


class Command(BaseCommand):
    help = "Load the demo data of `make run` (applications, numbers, bindings, a week of calls)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--axb-bindings", type=int, default=AXB_BINDINGS)
        parser.add_argument("--ax-bindings", type=int, default=AX_BINDINGS)
        parser.add_argument("--calls-per-day", type=int, default=HISTORY_CALLS_PER_DAY)
        parser.add_argument("--today-calls", type=int, default=TODAY_CALLS)
        parser.add_argument(
            "--simulator", default="", help="base URL of a running simulator (default: start one)"
        )

    def handle(self, *args, **options) -> None:
        if demo.demo_applications():
            self.stdout.write("Demo data already loaded.")
            return
        config = demo.write_simulator_config()
        base_url = options["simulator"]
        handle = None
        if not base_url:
            base_url = demo.SIMULATOR_BASE_URL
            if not self._answers(base_url):
                handle = self._start_simulator(config)
        try:
            self.load(base_url, options)
        finally:
            if handle is not None:
                handle.stop()

    @staticmethod
    def _answers(base_url: str) -> bool:
        try:
            return requests.get(f"{base_url}/_sim/health", timeout=1).ok
        except requests.RequestException:
            return False

    @staticmethod
    def _start_simulator(config: Path):
        from simulator.testing import SimulatorHandle

        var = Path(settings.VAR_DIR)
        args = [
            "--port",
            str(demo.SIMULATOR_PORT),
            "--config",
            str(config),
            "--state",
            str(var / "simulator.sqlite3"),
            "--time-scale",
            "60",
        ]
        handle = SimulatorHandle(args, demo.SIMULATOR_PORT, var / "simulator-load-demo.log")
        handle.start()
        return handle

    def load(self, base_url: str, options) -> None:
        creds = demo.credentials()
        rng = random.Random(7)
        apps = {}
        for name, mode, _per_city, _prefix in demo.DEMO_APPS:
            application = Application(
                name=name,
                mode=mode,
                app_key=creds[mode]["app_key"],
                base_url=base_url,
                recording_enabled=True,
                sms_enabled=True,
                **Application.receiver_urls(),
            )
            application.set_secret(creds[mode]["app_secret"])
            application.full_clean()
            application.save()
            XNumber.objects.bulk_create(
                XNumber(
                    application=application,
                    number=n["number"],
                    city_code=n["city"],
                    province=province_of(n["city"]),
                )
                for n in demo.numbers(mode)
            )
            apps[mode] = application
        self.stdout.write("Demo applications and 200 X numbers created.")
        made = self.make_bindings(apps, options, rng)
        self.stdout.write(f"{made} demo bindings bound on the simulator.")
        calls = self.history(apps, options["calls_per_day"], rng)
        self.stdout.write(f"{calls} calls of the past week ingested (demo CDRs, no recordings).")
        if options["today_calls"]:
            placed = demo.place_demo_calls(options["today_calls"] // len(apps))
            self.stdout.write(f"{placed} calls placed today on the simulator (with recordings).")

    def make_bindings(self, apps, options, rng) -> int:
        """Bindings through the real services, bound synchronously on the simulator."""
        always_eager = celery_app.conf.task_always_eager
        celery_app.conf.task_always_eager = True  # bind in this process, on commit
        # Two log lines per binding would bury the sign-in details printed at the end.
        quiet = [logging.getLogger(name) for name in ("privatenumber.client", "celery.app.trace")]
        levels = [logger.level for logger in quiet]
        for logger in quiet:
            logger.setLevel(logging.WARNING)
        try:
            for i in range(options["axb_bindings"]):
                bindings.create_binding(
                    apps["AXB"],
                    {
                        "a_number": f"138{10000000 + i:08d}",
                        "b_number": f"139{20000000 + i:08d}",
                        "area_code": demo.CITIES[i % len(demo.CITIES)],
                        "order_ref": f"RIDE-{20261100000 + i}",
                        "record_flag": True,
                    },
                )
            for i in range(options["ax_bindings"]):
                bindings.create_binding(
                    apps["AX"],
                    {
                        "a_number": f"137{30000000 + i:08d}",
                        "area_code": demo.CITIES[i % len(demo.CITIES)],
                        "order_ref": f"SHOP-{20261100000 + i}",
                        "record_flag": True,
                    },
                )
        finally:
            celery_app.conf.task_always_eager = always_eager
            for logger, level in zip(quiet, levels, strict=True):
                logger.setLevel(level)
        return Binding.objects.filter(
            application__in=apps.values(), status=BindingStatus.ACTIVE
        ).count()

    def history(self, apps, per_day: int, rng: random.Random) -> int:
        """CDRs of the last 7 days before today (demo only: ingested directly)."""
        today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        weights = [w for w, *_ in demo.HISTORY_OUTCOMES]
        created = 0
        for application in apps.values():
            live = list(
                Binding.objects.filter(application=application, status=BindingStatus.ACTIVE)
                .exclude(subscription_id=None)
                .values("subscription_id", "a_number", "b_number", "x_number")
            )
            if not live:
                continue
            share = per_day if application.mode == "AXB" else max(1, per_day // 8)
            fees = []
            for day in range(7, 0, -1):
                for n in range(share):
                    b = rng.choice(live)
                    start = today - timedelta(days=day, seconds=-rng.randint(7 * 3600, 22 * 3600))
                    _w, release, q850, sip = rng.choices(demo.HISTORY_OUTCOMES, weights)[0]
                    caller, callee = (
                        b["a_number"],
                        b["b_number"] or f"136{rng.randint(0, 10**8):08d}",
                    )
                    if application.mode == "AXB" and rng.random() < 0.5:
                        caller, callee = callee, caller
                    answered = (
                        start + timedelta(seconds=rng.randint(3, 15)) if not release else None
                    )
                    end = (answered or start) + timedelta(
                        seconds=rng.randint(20, 400) if answered else rng.randint(5, 30)
                    )
                    fees.append(
                        FeeInfo.model_validate(
                            {
                                "direction": 1 if caller == b["a_number"] else 0,
                                "spId": "sim_sp",
                                "appKey": application.app_key,
                                "bindNum": b["x_number"],
                                "sessionId": f"demo-{application.mode}-{day}-{n}@demo",
                                "subscriptionId": b["subscription_id"],
                                "callerNum": caller,
                                "calleeNum": b["x_number"],
                                "fwdDisplayNum": b["x_number"],
                                "fwdDstNum": callee,
                                "callInTime": _time(start),
                                "fwdStartTime": _time(start + timedelta(seconds=1)),
                                "fwdAlertingTime": _time(start + timedelta(seconds=2)),
                                "fwdAnswerTime": _time(answered) if answered else "",
                                "callEndTime": _time(end),
                                "fwdUnaswRsn": q850,
                                "failTime": "" if answered else _time(end),
                                "ulFailReason": release,
                                "sipStatusCode": sip,
                                "callOutUnaswRsn": 0,
                                "recordFlag": 0,
                                "serviceType": "004",
                            }
                        )
                    )
            for i in range(0, len(fees), 50):
                with transaction.atomic():
                    created += billing.ingest_cdrs(application, fees[i : i + 50])
        return created
