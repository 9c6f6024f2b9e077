"""Block answers follow the application's rule and the binding behind the caller."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from billing import services
from bindings.tests.factories import BindingFactory
from console.testing.factories import ApplicationFactory, load_fixture
from privatenumber.schemas import CallEventPush, SmsPush

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

CALLER, X, B = "+8618800000001", "+8617066660001", "+8613300000003"


def callin(caller=CALLER, x=X):
    body = load_fixture("x_callin_block.json")
    body["statusInfo"].update(caller=caller, called=x)
    return CallEventPush.model_validate(body).status_info


def sms(calling=CALLER, x=X, application=None):
    body = load_fixture("sms_block_x.json", application.app_key if application else None)
    body["smsEvent"].update(calling=calling, virtualNumber=x)
    return SmsPush.model_validate(body).sms_event


@pytest.fixture
def application():
    return ApplicationFactory(mode="X")


def test_a_callin_from_either_party_connects_to_the_other(application):
    BindingFactory(application=application, a_number=CALLER, b_number=B, x_number=X)
    to_b = services.decide_callin(application, callin(CALLER))
    to_a = services.decide_callin(application, callin(B))
    assert to_b.connect_info.callee_num == B
    assert to_a.connect_info.callee_num == CALLER
    assert to_b.connect_info.display_callee_num == X  # carrier rule: show the X of this call


def test_a_callin_without_a_live_binding_is_closed(application):
    BindingFactory(application=application, a_number=CALLER, b_number=B, x_number=X, status="ended")
    BindingFactory(
        application=application,
        a_number=CALLER,
        b_number=B,
        x_number="+8617066660009",
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert services.decide_callin(application, callin()).operation == "close"
    assert services.decide_callin(application, callin(x="+8617066660009")).operation == "close"


def test_the_close_rule_closes_even_a_bound_call(application):
    BindingFactory(application=application, a_number=CALLER, b_number=B, x_number=X)
    application.block_call_rule = "close"
    assert services.decide_callin(application, callin()).operation == "close"


def test_recording_is_asked_for_only_when_the_application_records(application):
    BindingFactory(
        application=application, a_number=CALLER, b_number=B, x_number=X, record_flag=True
    )
    assert services.decide_callin(application, callin()).connect_info.record_flag is None
    application.recording_enabled = True
    assert services.decide_callin(application, callin()).connect_info.record_flag == "true"


def test_user_data_the_platform_would_refuse_is_left_out_rather_than_failing_the_call(application):
    BindingFactory(
        application=application, a_number=CALLER, b_number=B, x_number=X, user_data="订单 {42}"
    )
    answer = services.decide_callin(application, callin())
    assert (answer.operation, answer.connect_info.user_data) == ("connect", None)


def test_an_sms_is_forwarded_to_the_other_party_or_discarded(application):
    BindingFactory(application=application, a_number=CALLER, b_number=B, x_number=X)
    forwarded = services.decide_sms(application, sms(application=application))
    assert (forwarded.decision, forwarded.forwarded_to) == ("forward", B)
    assert forwarded.answer.actions[0].message.calling == CALLER
    stranger = services.decide_sms(application, sms("+8613912345678", application=application))
    assert stranger.decision == "discard"


def test_an_ax_sms_goes_to_a_temporary_callee_only_while_it_is_valid():
    application = ApplicationFactory(mode="AX")
    binding = BindingFactory(
        application=application,
        a_number=CALLER,
        b_number="",
        x_number=X,
        temporary_callee=B,
        temporary_callee_expires_at=timezone.now() + timedelta(minutes=1),
    )
    assert services.decide_sms(application, sms(application=application)).forwarded_to == B
    binding.temporary_callee_expires_at = timezone.now() - timedelta(seconds=1)
    binding.save()
    assert services.decide_sms(application, sms(application=application)).decision == "discard"


def test_a_callin_or_sms_with_a_blacklisted_party_is_closed_or_discarded(application):
    # the console's blacklist (issue 16) holds B; A's calls and messages to B never go through
    from bindings.services import safeguards

    BindingFactory(application=application, a_number=CALLER, b_number=B, x_number=X)
    assert services.decide_callin(application, callin(CALLER)).operation == "connect"
    safeguards.blacklist_number(B, "complaints", application=application)
    assert services.decide_callin(application, callin(CALLER)).operation == "close"
    assert services.decide_callin(application, callin(B)).operation == "close"
    assert services.decide_sms(application, sms(CALLER, application=application)).decision == (
        "discard"
    )
