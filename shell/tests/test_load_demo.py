"""``manage.py load_demo`` against a real simulator (issues #7 and #14)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from billing.models import CallRecord, SmsRecord, Statement
from bindings.choices import BindingStatus
from bindings.models import Binding, XNumber
from console.models import Application, PlatformCall
from shell import demo
from simulator.testing import run_simulator

pytestmark = pytest.mark.embedded
# Where the simulator pushes: nowhere (a developer's own `make run` listens on 127.0.0.1:8000).
NOWHERE = "http://127.0.0.1:9"


@pytest.mark.django_db(transaction=True)
def test_load_demo_makes_every_mode_usable_and_fills_history_idempotently(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.CONSOLE_BASE_URL = NOWHERE
    with run_simulator(demo.simulator_config(tmp_path), time_scale=60) as sim:
        options = {
            "simulator": sim.base_url,
            "axb_bindings": 12,
            "ax_bindings": 4,
            "axe_bindings": 6,
            "axyb_bindings": 2,
            "calls_per_day": 8,
            "history_days": 7,
            "today_calls": 4,
            "sms": 2,
        }
        call_command("load_demo", **options)

        # every mode, with its pool on the simulator, its tariff and live bindings on both sides
        apps = demo.demo_applications()
        assert [a.mode for a in apps] == ["AXB", "AX", "AXE", "AXYB"]
        assert XNumber.objects.count() == 280
        live = Binding.objects.filter(status=BindingStatus.ACTIVE)
        assert live.count() == 24
        for app in apps:
            assert app.tariffs.exists()
            on_platform = {b["subscriptionId"] for b in sim.control.bindings(app.app_key)}
            mine = set(live.filter(application=app).values_list("subscription_id", flat=True))
            assert mine <= on_platform
            assert mine
        # pools partly used: every mode has a free number for a new binding
        for app in apps:
            assert XNumber.objects.filter(application=app, binding_count=0).exists()
        # a week of history with failed calls, billed with real charges
        history = CallRecord.objects.all()
        assert history.count() == 7 * 8 + 3 * 7 * 1
        assert len({r.call_in_time.date() for r in history}) == 7
        assert history.filter(binding__isnull=False).count() == history.count()
        assert history.filter(fwd_answer_time__isnull=True).exists()  # some failed calls
        assert Statement.objects.filter(state="open", call_charges__gt=0).exists()
        # the AXB application's minute package is drawn on first
        assert Statement.objects.filter(application__mode="AXB", package_minutes__gt=0).exists()
        assert sim.control.wait_pushes(1, kind="fee")  # today's calls, placed on the simulator
        assert sim.control.wait_pushes(2, kind="sms")  # and SMS

        call_command("load_demo", **options)
        assert Application.objects.count() == 4
        assert Binding.objects.count() == 24
        assert CallRecord.objects.count() == 77
        assert not SmsRecord.objects.exists()  # pushed once the console runs, not loaded


@pytest.mark.django_db(transaction=True)
def test_an_older_demo_gets_the_modes_it_lacks(settings, tmp_path):
    # given a demo loaded before AXE and AXYB were part of it
    settings.VAR_DIR = tmp_path
    settings.CONSOLE_BASE_URL = NOWHERE
    with run_simulator(demo.simulator_config(tmp_path), time_scale=60) as sim:
        options = {"simulator": sim.base_url, "history_days": 1, "today_calls": 0, "sms": 0}
        small = {"axb_bindings": 2, "ax_bindings": 1, "axe_bindings": 2, "axyb_bindings": 1}
        call_command("load_demo", **options, **small)
        for mode in ("AXE", "AXYB"):
            app = Application.objects.get(mode=mode)
            Statement.objects.filter(application=app).delete()
            CallRecord.objects.filter(application=app).delete()
            PlatformCall.objects.filter(application=app).delete()
            Binding.objects.filter(application=app).delete()
            app.tariffs.all().delete()
            XNumber.objects.filter(application=app).delete()
            app.delete()
        # when it is loaded again
        call_command("load_demo", **options, **small)
        # then the missing modes are there, the others untouched
        assert sorted(Application.objects.values_list("mode", flat=True)) == [
            "AX",
            "AXB",
            "AXE",
            "AXYB",
        ]
        assert Binding.objects.filter(application__mode="AXB").count() == 2
