"""``manage.py load_demo``: demo data for `make run` (issue #7, #14). Demo only; idempotent.

One application of each mode (AXB, AX, AXE, AXYB), registered on the simulator, with its X numbers
in five cities, a tariff, and bindings made through the binding services against the simulator (so
calls route and every binding form works). Pools are partly used: staff can bind more of every
mode. Call history runs from the first day of last month to yesterday: generated CDRs ingested
through ``billing.services.ingest_cdrs`` (the simulator cannot place calls in the past; they carry
no recording), answered and failed as the simulator's calls end. Last month's statements are then
closed with real charges and this month's stay open. Today's calls (with recordings) and a few SMS
are placed on the simulator and pushed to the console once it runs.

An application of the demo that exists already is left as it is: a ``var/`` from before a mode
joined the demo gets only the missing applications.
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
from billing import settlement
from billing.models import Package, Tariff
from bindings import services as bindings
from bindings.choices import BindingStatus
from bindings.cities import province_of
from bindings.models import Binding, XNumber
from console.models import Application
from privatenumber.schemas import FeeInfo
from shell import demo
from shell.celery import app as celery_app
from simulator.testing import Control, SimulatorHandle

AXB_BINDINGS = 960
AX_BINDINGS = 24  # of 40 AX numbers (one A per X): the pool is partly used
AXE_BINDINGS = 120  # on 40 numbers of 200 extensions each
AXYB_BINDINGS = 12  # 12 X and a shared Y of 40 numbers
HISTORY_CALLS_PER_DAY = 160  # of the AXB application in the last week; a quarter before
TODAY_CALLS = 40
DEMO_SMS = 8


def _time(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


class Command(BaseCommand):
    help = "Load the demo data of `make run` (four applications, numbers, bindings, calls)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--axb-bindings", type=int, default=AXB_BINDINGS)
        parser.add_argument("--ax-bindings", type=int, default=AX_BINDINGS)
        parser.add_argument("--axe-bindings", type=int, default=AXE_BINDINGS)
        parser.add_argument("--axyb-bindings", type=int, default=AXYB_BINDINGS)
        parser.add_argument("--calls-per-day", type=int, default=HISTORY_CALLS_PER_DAY)
        parser.add_argument(
            "--history-days",
            type=int,
            default=0,
            help="days of call history before today (default: since the first of last month)",
        )
        parser.add_argument("--today-calls", type=int, default=TODAY_CALLS)
        parser.add_argument("--sms", type=int, default=DEMO_SMS)
        parser.add_argument(
            "--simulator", default="", help="base URL of a running simulator (default: start one)"
        )

    def handle(self, *args, **options) -> None:
        present = {app.mode for app in demo.demo_applications()}
        missing = [mode for _name, mode, _n, _prefix in demo.DEMO_APPS if mode not in present]
        if not missing:
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
            self.load(base_url, missing, options)
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

    def load(self, base_url: str, modes: list[str], options) -> None:
        control = Control(base_url)
        creds = demo.credentials()
        rng = random.Random(7)
        days = self.history_days(options["history_days"])
        apps = {}
        for name, mode, _per_city, _prefix in demo.DEMO_APPS:
            if mode not in modes:
                continue
            # Registered on the simulator as well as in its config file: a simulator that was
            # already running (another `make run`, --simulator) learns the new application too.
            control.add_app(demo.simulator_app(mode))
            application = Application(
                name=name,
                mode=mode,
                app_key=creds[mode]["app_key"],
                base_url=base_url,
                recording_enabled=True,
                sms_enabled=True,
                extension_length=demo.AXE_EXTENSION_LENGTH if mode == "AXE" else None,
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
            # In the pool since the history began, so last month's statement rents them too.
            XNumber.objects.filter(application=application).update(created_at=days[0])
            Tariff.objects.create(
                application=application, valid_from=billing.month_start(days[0]), **demo.DEMO_TARIFF
            )
            if mode == "AXB":  # a year's minute package, drawn on first (docs/billing.md)
                Package.objects.create(
                    application=application,
                    name="AXB-10000",
                    minutes=10_000,
                    price="900.00",
                    valid_from=days[0],
                    valid_until=days[0] + timedelta(days=365),
                )
            apps[mode] = application
        numbers = XNumber.objects.filter(application__in=apps.values()).count()
        self.stdout.write(
            f"Demo applications ({', '.join(apps)}) and {numbers} X numbers created, with tariffs."
        )
        made = self.make_bindings(apps, options)
        self.stdout.write(f"{made} demo bindings bound on the simulator.")
        calls = self.history(apps, days, options["calls_per_day"], rng)
        billing.refresh_call_stats(settle=timedelta(0))
        closed = billing.close_statements()
        settlement.settle_due_hours()
        self.stdout.write(
            f"{calls} calls of {len(days)} days ingested (demo CDRs, no recordings); "
            f"{len(closed)} statement(s) of last month closed, this month's open."
        )
        if options["today_calls"]:
            placed = demo.place_demo_calls(max(1, options["today_calls"] // len(apps)))
            self.stdout.write(f"{placed} calls placed today on the simulator (with recordings).")
        if options["sms"] and "AXB" in apps:
            sent = self.send_sms(control, apps["AXB"], options["sms"])
            self.stdout.write(f"{sent} SMS sent through AXB bindings on the simulator.")

    @staticmethod
    def history_days(days: int) -> list:
        """Local midnights of the days with call history, oldest first, yesterday last."""
        today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        if days <= 0:
            first_of_last_month = billing.month_start(today - timedelta(days=today.day))
            days = (today.date() - first_of_last_month).days
        return [today - timedelta(days=n) for n in range(days, 0, -1)]

    def make_bindings(self, apps, options) -> int:
        """Bindings through the real services, bound synchronously on the simulator."""
        always_eager = celery_app.conf.task_always_eager
        celery_app.conf.task_always_eager = True  # bind in this process, on commit
        # Two log lines per binding would bury the sign-in details printed at the end.
        quiet = [logging.getLogger(name) for name in ("privatenumber.client", "celery.app.trace")]
        levels = [logger.level for logger in quiet]
        for logger in quiet:
            logger.setLevel(logging.WARNING)
        cities = demo.CITIES
        try:
            for i in range(options["axb_bindings"] if "AXB" in apps else 0):
                bindings.create_binding(
                    apps["AXB"],
                    {
                        "a_number": f"138{10000000 + i:08d}",
                        "b_number": f"139{20000000 + i:08d}",
                        "area_code": cities[i % len(cities)],
                        "order_ref": f"RIDE-{20261100000 + i}",
                        "record_flag": True,
                    },
                )
            for i in range(options["ax_bindings"] if "AX" in apps else 0):
                bindings.create_binding(
                    apps["AX"],
                    {
                        "a_number": f"137{30000000 + i:08d}",
                        "area_code": cities[i % len(cities)],
                        "order_ref": f"SHOP-{20261100000 + i}",
                        "record_flag": True,
                    },
                )
            for i in range(options["axe_bindings"] if "AXE" in apps else 0):
                bindings.create_binding(
                    apps["AXE"],
                    {
                        "a_number": f"136{40000000 + i:08d}",
                        "area_code": cities[i % len(cities)],
                        "order_ref": f"HOME-{20261100000 + i}",
                        "record_flag": True,
                    },
                )
            for i in range(options["axyb_bindings"] if "AXYB" in apps else 0):
                bindings.create_binding(
                    apps["AXYB"],
                    {
                        "a_number": f"135{50000000 + i:08d}",
                        "b_number": f"133{60000000 + i:08d}",
                        "area_code": cities[i % len(cities)],
                        "area_match_mode": "1",  # X in the city, Y wherever one is free
                        "order_ref": f"MARKET-{20261100000 + i}",
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

    def history(self, apps, days: list, per_day: int, rng: random.Random) -> int:
        """CDRs of the history days (demo only: ingested directly, not pushed)."""
        weights = [w for w, *_ in demo.HISTORY_OUTCOMES]
        last_week = days[-7:]
        created = 0
        for application in apps.values():
            live = list(
                Binding.objects.filter(application=application, status=BindingStatus.ACTIVE)
                .exclude(subscription_id=None)
                .values("subscription_id", "a_number", "b_number", "x_number", "y_number")
            )
            if not live:
                continue
            fees = []
            for day in days:
                share = per_day if application.mode == "AXB" else max(1, per_day // 8)
                if day not in last_week:
                    share = max(1, share // 4)
                for n in range(share):
                    fees.append(self._fee(application, rng.choice(live), day, n, rng, weights))
            for i in range(0, len(fees), 50):
                with transaction.atomic():
                    created += billing.ingest_cdrs(application, fees[i : i + 50])
        return created

    @staticmethod
    def _fee(application, b, day, n: int, rng: random.Random, weights) -> FeeInfo:
        """One generated CDR of a call through binding ``b`` on ``day``."""
        start = day + timedelta(seconds=rng.randint(7 * 3600, 22 * 3600))
        _w, release, q850, sip = rng.choices(demo.HISTORY_OUTCOMES, weights)[0]
        caller, callee = b["a_number"], b["b_number"] or f"136{rng.randint(0, 10**8 - 1):08d}"
        if application.mode in ("AXB", "AXYB") and rng.random() < 0.5:
            caller, callee = callee, caller
        dialled = b["y_number"] if application.mode == "AXYB" and caller == b["a_number"] else None
        dialled = dialled or b["x_number"]
        answered = start + timedelta(seconds=rng.randint(3, 15)) if not release else None
        end = (answered or start) + timedelta(
            seconds=rng.randint(20, 400) if answered else rng.randint(5, 30)
        )
        return FeeInfo.model_validate(
            {
                "direction": 1 if caller == b["a_number"] else 0,
                "spId": "sim_sp",
                "appKey": application.app_key,
                "bindNum": dialled,
                "sessionId": f"demo-{application.mode}-{day:%Y%m%d}-{n}@demo",
                "subscriptionId": b["subscription_id"],
                "callerNum": caller,
                "calleeNum": dialled,
                "fwdDisplayNum": dialled,
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
                "serviceType": demo.SERVICE_TYPES[application.mode],
            }
        )

    @staticmethod
    def send_sms(control, application, count: int) -> int:
        """SMS between the parties of a few AXB bindings, through their X on the simulator."""
        sent = 0
        parties = Binding.objects.filter(
            application=application, status=BindingStatus.ACTIVE
        ).values_list("a_number", "b_number", "x_number")[:count]
        for i, (a, b, x) in enumerate(parties):
            control.send_sms(a if i % 2 == 0 else b, x, demo.DEMO_SMS[i % len(demo.DEMO_SMS)])
            sent += 1
        return sent
