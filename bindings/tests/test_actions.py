"""Ending, modifying, the AX temporary callee and the AXYB stop-call, against the simulator."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from bindings import services
from bindings.choices import BindingStatus, EndReason
from bindings.models import Binding, XNumber
from console.models import AuditLog, PlatformCall
from privatenumber.errors import PlatformError

pytestmark = [pytest.mark.postgres, pytest.mark.simulator, pytest.mark.django_db]

A, B = "+8613800000001", "+8613900000002"


def active(application, **data) -> Binding:
    data.setdefault("a_number", A)
    if application.mode in ("AXB", "AXYB"):
        data.setdefault("b_number", B)
    binding = services.create_binding(application, data)
    services.bind(binding.pk)
    binding.refresh_from_db()
    assert binding.status == BindingStatus.ACTIVE, binding.last_result_desc
    return binding


def request_from(user, address="10.9.8.7"):
    request = RequestFactory().post("/", REMOTE_ADDR=address)
    request.user = user
    return request


# --- ending ----------------------------------------------------------------------------------


def test_ending_an_active_binding_marks_it_ending_audits_it_and_queues_the_unbind(
    platform, make_user, django_capture_on_commit_callbacks
):
    # given
    binding = active(platform.application("AXB"))
    user = make_user("kefu02")
    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.end_binding(binding, user=user, request=request_from(user))
    # then
    assert binding.status == BindingStatus.ENDING
    assert len(callbacks) == 1
    row = AuditLog.objects.get(action="end")
    assert (row.username, row.ip_address, row.target_id) == ("kefu02", "10.9.8.7", str(binding.pk))


@pytest.mark.parametrize(
    ("status", "rule"), [("pending", "pending"), ("ended", "not_active"), ("failed", "not_active")]
)
def test_only_an_active_binding_can_be_ended(platform, status, rule):
    binding = active(platform.application("AX"))
    Binding.objects.filter(pk=binding.pk).update(status=status)
    with pytest.raises(services.BindingRefused) as refused:
        services.end_binding(binding)
    assert refused.value.rule == rule


def test_unbinding_gives_the_numbers_back_once_even_if_run_twice(platform):
    binding = active(platform.application("AXYB"))
    services.end_binding(binding)
    services.unbind(binding.pk)
    services.unbind(binding.pk)
    binding.refresh_from_db()
    assert binding.status == BindingStatus.ENDED
    counts = XNumber.objects.filter(pk__in=[binding.x_id, binding.y_id]).values_list(
        "binding_count", "y_binding_count"
    )
    assert set(counts) == {(0, 0)}
    assert platform.control.bindings() == []
    assert PlatformCall.objects.filter(interface="axyb_unbind").count() == 1


def test_an_unbind_the_platform_does_not_know_counts_as_done(platform):
    binding = active(platform.application("AXB"))
    platform.control.reset()
    services.end_binding(binding)
    services.unbind(binding.pk)
    binding.refresh_from_db()
    assert (binding.status, binding.last_result_code) == (BindingStatus.ENDED, "1016001")


def test_a_refused_unbind_puts_the_binding_back_with_the_platform_answer(platform):
    binding = active(platform.application("AX"))
    platform.control.set_faults("ax.unbind", error_rate=1, error_code="1010029")
    services.end_binding(binding)
    services.unbind(binding.pk)
    binding.refresh_from_db()
    assert (binding.status, binding.last_result_code) == (BindingStatus.ACTIVE, "1010029")
    assert XNumber.objects.get(pk=binding.x_id).binding_count == 1


def test_ending_in_bulk_ends_the_active_ones_and_reports_the_rest(
    platform, django_capture_on_commit_callbacks
):
    application = platform.application("AXB")
    bindings = [active(application, b_number=f"+861390000000{i}") for i in range(3)]
    Binding.objects.filter(pk=bindings[2].pk).update(status=BindingStatus.EXPIRED)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ending, skipped = services.end_bindings(Binding.objects.all())
    assert (ending, skipped) == (2, 1)
    assert len(callbacks) == 2  # one unbind task each
    assert AuditLog.objects.filter(action="end").count() == 2
    for binding in bindings[:2]:
        services.unbind(binding.pk)
    statuses = dict(Binding.objects.values_list("pk", "status"))
    assert statuses[bindings[0].pk] == statuses[bindings[1].pk] == BindingStatus.ENDED
    assert Binding.objects.get(pk=bindings[0].pk).end_reason == EndReason.BULK


# --- modifying -------------------------------------------------------------------------------


def test_a_console_only_field_changes_at_once_and_nothing_is_sent(
    platform, django_capture_on_commit_callbacks
):
    binding = active(platform.application("AXB"))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.modify_binding(binding, {"order_ref": "SO-42"})
    assert binding.order_ref == "SO-42"
    assert callbacks == []
    assert AuditLog.objects.filter(action="modify").count() == 1


def test_a_platform_field_waits_for_the_platform(platform, django_capture_on_commit_callbacks):
    binding = active(platform.application("AX"))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.modify_binding(binding, {"private_sms": False, "max_duration": 30})
    assert binding.pending_changes == {"private_sms": False, "max_duration": 30}
    assert binding.private_sms is True
    assert len(callbacks) == 1
    services.apply_modification(binding.pk)
    binding.refresh_from_db()
    assert (binding.private_sms, binding.max_duration, binding.pending_changes) == (False, 30, {})
    (on_platform,) = platform.control.bindings()
    assert on_platform["data"]["privateSms"] == "false"


def test_a_refused_modification_keeps_the_old_values_and_shows_why(platform):
    binding = active(platform.application("AXE"))
    platform.control.set_faults("axe.modify", error_rate=1, error_code="1010002")
    services.modify_binding(binding, {"record_flag": True})
    services.apply_modification(binding.pk)
    binding.refresh_from_db()
    assert (binding.record_flag, binding.pending_changes) == (False, {})
    assert binding.last_result_code == "1010002"


def test_axyb_bindings_cannot_be_modified_on_the_platform(platform):
    binding = active(platform.application("AXYB"))
    with pytest.raises(services.BindingRefused) as refused:
        services.modify_binding(binding, {"record_flag": True})
    assert refused.value.rule == "not_modifiable"


# --- AX temporary callee ---------------------------------------------------------------------


def test_setting_the_temporary_callee_is_sent_stored_and_audited_masked(platform, make_user):
    # given
    binding = active(platform.application("AX"))
    admin = make_user("boss")
    # when
    services.set_temporary_callee(
        binding, "139 0000 0077", duration=300, user=admin, request=request_from(admin)
    )
    # then
    assert binding.temporary_callee == "+8613900000077"
    (on_platform,) = platform.control.bindings()
    assert on_platform["data"]["tempCallee"] == "+8613900000077"
    row = AuditLog.objects.get(action="set_callee")
    assert row.details == {"callee": "+86139****0077", "duration": 300, "result": "0"}


def test_the_temporary_callee_must_differ_from_a_and_be_a_real_number(platform):
    binding = active(platform.application("AX"))
    for callee, rule in ((A, "same_number"), ("12345", "number")):
        with pytest.raises(services.BindingRefused) as refused:
            services.set_temporary_callee(binding, callee)
        assert refused.value.rule == rule


def test_only_ax_bindings_have_a_temporary_callee(platform):
    binding = active(platform.application("AXB"))
    with pytest.raises(services.BindingRefused):
        services.set_temporary_callee(binding, "+8613900000077")


def test_a_refused_temporary_callee_is_shown_on_the_binding(platform):
    binding = active(platform.application("AX"))
    platform.control.reset()  # the platform lost the binding
    with pytest.raises(PlatformError):
        services.set_temporary_callee(binding, "+8613900000077")
    binding.refresh_from_db()
    assert binding.last_result_code == "1016001"
    assert binding.temporary_callee == ""


# --- AXYB stop-call --------------------------------------------------------------------------


def test_stop_call_hangs_up_a_live_axyb_call_and_is_audited(platform, make_user):
    # given: B calls X and is connected to A
    binding = active(platform.application("AXYB"))
    call = platform.control.place_call(B, binding.x_number, live=True, duration=600)
    assert call["sessionId"] in platform.control.request("GET", "calls/live")["sessionIds"]
    admin = make_user("boss")
    # when
    services.stop_call(binding.application, call["sessionId"], admin)
    # then
    assert call["sessionId"] not in platform.control.request("GET", "calls/live")["sessionIds"]
    row = AuditLog.objects.get(action="stop_call")
    assert row.username == "boss"
    assert row.details == {"session_id": call["sessionId"], "result": "0"}


def test_stopping_an_unknown_call_raises_the_platform_answer_and_is_audited(platform, make_user):
    application = platform.application("AXYB")
    with pytest.raises(PlatformError) as refused:
        services.stop_call(application, "no-such-session", make_user("boss"))
    assert refused.value.code == "1016001"
    assert AuditLog.objects.get(action="stop_call").details["result"] == "1016001"


def test_stop_call_is_an_axyb_interface_only(platform, make_user):
    with pytest.raises(services.BindingRefused):
        services.stop_call(platform.application("AXB"), "session", make_user("boss"))
