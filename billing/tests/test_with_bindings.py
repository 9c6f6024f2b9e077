"""End to end with the bindings app: X-number status pushes change the pool; the call page's
stop button hangs up a live AXYB call on the platform (the simulator)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from billing.models import CallEvent
from bindings import services as bindings_services
from bindings.choices import BindingStatus
from bindings.models import XNumber
from console.models import AuditLog, Delivery
from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR
from console.testing.factories import ApplicationFactory, post_push, secret_for
from simulator.testing import run_simulator

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

A, B = "+8613800000001", "+8613900000002"


def test_x_number_status_pushes_take_numbers_out_of_the_pool_and_back(client):
    # given
    application = ApplicationFactory()
    XNumber.objects.create(application=application, number="+8617012340022", city_code="0755")
    arrears = {
        "eventType": "numStatus",
        "numInfo": [{"number": "+8617012340022", "status": "10", "cause": "2"}],
    }
    normal = {"eventType": "numStatus", "numInfo": [{"number": "+8617012340022", "status": "5"}]}
    # when it falls into arrears, is paid up, and falls into arrears again
    statuses = []
    for push in (arrears, normal, arrears):
        assert post_push(client, "xstatus", push, application).status_code == 200
        statuses.append(XNumber.objects.values_list("platform_status", "platform_cause").get())
    # then every push was applied, the repeated body included
    assert statuses == [("10", "2"), ("5", ""), ("10", "2")]
    assert Delivery.objects.filter(kind="numStatus", state="processed").count() == 3


@pytest.mark.simulator
def test_the_stop_button_hangs_up_a_live_axyb_call(client, make_user):
    # given an AXYB binding on the platform and a call in progress through it
    x_numbers = [f"+86165000{i:05d}" for i in range(1, 5)]
    app_key = "stopCallKey0000000000000000001"
    config = {
        "apps": [
            {
                "app_key": app_key,
                "app_secret": secret_for(app_key),
                "mode": "AXYB",
                "numbers": [{"number": n, "city": "028"} for n in x_numbers],
            }
        ]
    }
    with run_simulator(config) as sim:
        application = ApplicationFactory(app_key=app_key, mode="AXYB", base_url=sim.base_url)
        XNumber.objects.bulk_create(
            [XNumber(application=application, number=n, city_code="028") for n in x_numbers]
        )
        binding = bindings_services.create_binding(application, {"a_number": A, "b_number": B})
        bindings_services.bind(binding.pk)
        binding.refresh_from_db()
        assert binding.status == BindingStatus.ACTIVE, binding.last_result_desc
        call = sim.control.place_call(B, binding.x_number, live=True, duration=600)
        session = call["sessionId"]
        CallEvent.objects.create(
            application=application,
            session_id=session,
            event_type="callin",
            timestamp="2026-03-01T00:00:00Z",
            caller=B,
            called=binding.x_number,
        )
        url = reverse("billing:call", args=[application.pk, session])
        # customer service sees the call but no button
        client.force_login(make_user("kefu", CUSTOMER_SERVICE))
        assert "stop-call" not in client.get(url).content.decode()
        # when an administrator presses it
        admin = make_user("boss", NUMBER_ADMINISTRATOR)
        client.force_login(admin)
        assert "stop-call" in client.get(url).content.decode()
        stop = reverse("billing:stop_call", args=[application.pk, session])
        asked = client.post(stop)  # without confirmation: the page that asks
        assert "confirmed" in asked.content.decode()
        assert not AuditLog.objects.filter(action="stop_call").exists()
        response = client.post(stop, {"confirmed": "yes"})
        # then
        assert response.status_code == 302
        assert session not in sim.control.request("GET", "calls/live")["sessionIds"]
    entry = AuditLog.objects.get(action="stop_call")
    assert (entry.user, entry.details["result"]) == (admin, "0")
