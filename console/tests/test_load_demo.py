"""``manage.py load_demo`` against a real simulator (issue #7)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from billing.models import CallRecord
from bindings.choices import BindingStatus
from bindings.models import Binding, XNumber
from console import demo
from console.models import Application
from simulator.testing import run_simulator


@pytest.mark.django_db(transaction=True)
def test_load_demo_binds_on_the_simulator_and_fills_a_week_idempotently(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    with run_simulator(demo.simulator_config(tmp_path), time_scale=60) as sim:
        options = {
            "simulator": sim.base_url,
            "axb_bindings": 12,
            "ax_bindings": 4,
            "calls_per_day": 8,
            "today_calls": 4,
        }
        call_command("load_demo", **options)

        apps = demo.demo_applications()
        assert [a.mode for a in apps] == ["AXB", "AX"]
        assert XNumber.objects.count() == 200
        live = Binding.objects.filter(status=BindingStatus.ACTIVE)
        assert live.count() == 16
        for app in apps:
            on_platform = {b["subscriptionId"] for b in sim.control.bindings(app.app_key)}
            mine = set(live.filter(application=app).values_list("subscription_id", flat=True))
            assert mine == on_platform
        history = CallRecord.objects.all()
        assert history.count() == 7 * 8 + 7 * 1
        assert len({r.call_in_time.date() for r in history}) == 7
        assert history.filter(binding__isnull=False).count() == history.count()
        assert history.filter(fwd_answer_time__isnull=True).exists()  # some failed calls
        assert sim.control.wait_pushes(1, kind="fee")  # today's calls, placed on the simulator

        call_command("load_demo", **options)
        assert Application.objects.count() == 2
        assert Binding.objects.count() == 16
        assert CallRecord.objects.count() == 63
