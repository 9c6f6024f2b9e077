"""Safeguards checked before the platform is called: tone files from the catalog, the blacklist,
the A-number register (报备), and a resting X never chosen (issue 16)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bindings import modes, services
from bindings import pool as choosing
from bindings.choices import RegistrationPolicy, RegistrationState, ReviewState, VoicePurpose
from bindings.forms import form_for_mode
from bindings.models import ANumberRegistration, ApplicationPolicy, Binding, VoiceFile, XNumber
from bindings.services import safeguards
from bindings.tests.factories import XNumberFactory
from console import teams
from console.choices import AuditAction
from console.models import AuditLog, PlatformCall
from console.testing.factories import ApplicationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db, pytest.mark.embedded]

A = "+8613800000001"
B = "+8613900000002"


@pytest.fixture(params=["sql", "orm"])
def choice_path(request, monkeypatch):
    """Both ways of choosing X: PostgreSQL's statements and the ORM path SQLite uses."""
    if request.param == "orm":
        monkeypatch.setattr(choosing, "_take_postgresql", choosing._take_orm)
    return request.param


@pytest.fixture
def axb():
    application = ApplicationFactory(mode="AXB")
    XNumberFactory.create_batch(2, application=application, city_code="0755")
    return application


def refused(application, django_capture_on_commit_callbacks, **data) -> services.BindingRefused:
    """The refusal of a binding, checking that nothing was saved, counted or queued."""
    data = {"a_number": A, "b_number": B, **data}
    with (
        django_capture_on_commit_callbacks(execute=False) as queued,
        pytest.raises(services.BindingRefused) as caught,
    ):
        services.create_binding(application, data)
    assert queued == []
    assert not Binding.objects.filter(application=application).exists()
    assert list(
        XNumber.objects.filter(application=application).values_list("binding_count", flat=True)
    ) == [0, 0]
    assert not PlatformCall.objects.exists()
    return caught.value


def tone(application, name, purpose=VoicePurpose.WAITING, review=ReviewState.APPROVED, **more):
    return VoiceFile.objects.create(
        application=application, name=name, purpose=purpose, review_state=review, **more
    )


# --- tone files ------------------------------------------------------------------------------


def test_a_tone_file_that_is_not_approved_is_refused_with_a_message_naming_it(
    axb, django_capture_on_commit_callbacks
):
    tone(axb, "wait_pending.wav", review=ReviewState.PENDING)
    refusal = refused(axb, django_capture_on_commit_callbacks, caller_hint_tone="wait_pending.wav")
    assert refusal.rule == "voice_file"
    assert refusal.field == "caller_hint_tone"
    assert "wait_pending.wav" in refusal.message


def test_a_tone_file_missing_from_the_catalog_or_of_another_purpose_is_refused(
    axb, django_capture_on_commit_callbacks
):
    tone(axb, "notice.wav", purpose=VoicePurpose.RECORD_NOTICE)
    misspelt = refused(axb, django_capture_on_commit_callbacks, callee_hint_tone="notcie.wav")
    assert "notcie.wav" in misspelt.message
    wrong = refused(axb, django_capture_on_commit_callbacks, callee_hint_tone="notice.wav")
    assert "notice.wav" in wrong.message
    assert wrong.field == "callee_hint_tone"


def test_an_approved_file_is_used_and_empty_tones_take_the_applications_defaults(axb):
    tone(axb, "wait.wav")
    tone(axb, "wait_default.wav", is_default=True)
    tone(axb, "notice_default.wav", purpose=VoicePurpose.RECORD_NOTICE, is_default=True)
    binding = services.create_binding(
        axb, {"a_number": A, "b_number": B, "caller_hint_tone": "wait.wav", "record_flag": True}
    )
    assert binding.caller_hint_tone == "wait.wav"  # the binding's own choice wins
    assert binding.callee_hint_tone == "wait_default.wav"
    assert binding.record_hint_tone == "notice_default.wav"
    # a default is never put where the platform would refuse it: no recording, no notice
    other = services.create_binding(axb, {"a_number": "+8613800000009", "b_number": B})
    assert other.record_hint_tone == ""


def test_a_changed_tone_of_an_active_binding_is_refused_unless_approved(axb):
    binding = services.create_binding(axb, {"a_number": A, "b_number": B})
    Binding.objects.filter(pk=binding.pk).update(status="active")
    binding.refresh_from_db()
    with pytest.raises(services.BindingRefused) as caught:
        services.modify_binding(binding, {"caller_hint_tone": "rogue.wav"})
    assert "rogue.wav" in caught.value.message


def test_the_create_form_offers_the_approved_files_of_each_tones_purpose(axb):
    tone(axb, "wait.wav")
    tone(axb, "wait_rejected.wav", review=ReviewState.REJECTED)
    tone(axb, "last.wav", purpose=VoicePurpose.LAST_MINUTE)
    form = form_for_mode("AXB")(application=axb)
    offered = [value for value, _label in form.fields["caller_hint_tone"].widget.choices]
    assert offered == ["", "wait.wav"]
    assert [v for v, _ in form.fields["last_min_voice"].widget.choices] == ["", "last.wav"]


# --- the blacklist ---------------------------------------------------------------------------


def test_a_blacklisted_b_is_refused_before_any_platform_call(
    axb, django_capture_on_commit_callbacks
):
    safeguards.blacklist_number("139 0000 0002", "complaints", application=axb)
    refusal = refused(axb, django_capture_on_commit_callbacks)
    assert (refusal.rule, refusal.field) == ("blacklisted", "b_number")
    assert "complaints" in refusal.message


def test_an_entry_for_every_application_refuses_a_and_an_expired_one_refuses_nothing(
    axb, django_capture_on_commit_callbacks
):
    entry = safeguards.blacklist_number(A, "fraud")
    assert refused(axb, django_capture_on_commit_callbacks).field == "a_number"
    entry.expires_at = timezone.now() - timedelta(minutes=1)
    entry.save()
    assert services.create_binding(axb, {"a_number": A, "b_number": B}).pk


def test_every_change_to_the_blacklist_leaves_an_audit_row_and_imports_are_audited_too(axb):
    safeguards.blacklist_number(A, "fraud", application=axb)
    content = b"number,reason,expires\n13900000002,spam,2030-01-01\nnot a number,x,\n"
    imported = safeguards.import_blacklist("csv", content, application=axb)
    assert imported.stored == 1
    assert [line for line, _ in imported.refused] == [3]
    removed = safeguards.unblacklist(safeguards.blacklisted(axb, [A, B]))
    assert removed == 2
    actions = list(
        AuditLog.objects.filter(target_type__model="blacklistentry")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [
        AuditAction.CREATE,
        AuditAction.CREATE,
        AuditAction.DELETE,
        AuditAction.DELETE,
    ]


# --- A-number registration -------------------------------------------------------------------


def test_an_unregistered_a_is_refused_under_the_refuse_policy(
    axb, django_capture_on_commit_callbacks
):
    ApplicationPolicy.objects.create(application=axb, registration_policy=RegistrationPolicy.REFUSE)
    ANumberRegistration.objects.create(application=axb, number=A, state=RegistrationState.PENDING)
    refusal = refused(axb, django_capture_on_commit_callbacks)
    assert (refusal.rule, refusal.field) == ("a_unregistered", "a_number")
    # once registered, it binds
    ANumberRegistration.objects.filter(number=A).update(state=RegistrationState.REGISTERED)
    assert services.create_binding(axb, {"a_number": A, "b_number": B}).warnings == []


def test_the_warn_policy_binds_and_says_why_and_off_says_nothing(axb):
    policy = ApplicationPolicy.objects.create(
        application=axb, registration_policy=RegistrationPolicy.WARN
    )
    warned = services.create_binding(axb, {"a_number": A, "b_number": B})
    assert len(warned.warnings) == 1
    assert "报备" in warned.warnings[0]
    policy.registration_policy = RegistrationPolicy.OFF
    policy.save()
    assert (
        services.create_binding(axb, {"a_number": "+8613800000003", "b_number": B}).warnings == []
    )


def test_registrations_are_imported_from_csv_and_replace_what_was_known(axb):
    ANumberRegistration.objects.create(application=axb, number=A, state=RegistrationState.PENDING)
    content = "number,state,note\n13800000001,registered,ok\n13800000002,rejected,\n1,bogus,\n"
    imported = safeguards.import_registrations("csv", content.encode(), application=axb)
    assert imported.stored == 2
    assert [line for line, _ in imported.refused] == [4]
    assert dict(ANumberRegistration.objects.values_list("number", "state")) == {
        A: "registered",
        "+8613800000002": "rejected",
    }


# --- resting numbers -------------------------------------------------------------------------


def test_a_resting_x_is_never_chosen_until_its_rest_is_over(axb, choice_path):
    first, second = XNumber.objects.filter(application=axb).order_by("number")
    XNumber.objects.filter(pk=first.pk).update(
        resting_until=timezone.now() + timedelta(hours=1), rest_reason="short calls"
    )
    chosen = {
        services.create_binding(
            axb, {"a_number": f"+861380000001{i}", "b_number": f"+861390000001{i}"}
        ).x_id
        for i in range(3)
    }
    assert chosen == {second.pk}
    XNumber.objects.filter(pk=first.pk).update(resting_until=timezone.now() - timedelta(seconds=1))
    chosen = services.create_binding(axb, {"a_number": A, "b_number": "+8613900000009"}).x_id
    assert chosen == first.pk  # least loaded again, and its rest is over


def test_the_create_page_shows_the_registration_warning(axb, client, make_user):
    from console.roles import CUSTOMER_SERVICE

    ApplicationPolicy.objects.create(application=axb, registration_policy=RegistrationPolicy.WARN)
    client.force_login(make_user("kefu", CUSTOMER_SERVICE))
    url = reverse("bindings:add") + f"?application={axb.pk}"
    answer = client.post(url, {"a_number": A, "b_number": B}, follow=True)
    assert "报备" in answer.content.decode()


# --- the pages -------------------------------------------------------------------------------


def test_an_administrator_adds_a_tone_file_and_approves_it_on_the_catalog_page(
    axb, client, make_user
):
    from console.roles import NUMBER_ADMINISTRATOR

    client.force_login(make_user("boss", NUMBER_ADMINISTRATOR))
    url = reverse("bindings:voice-files")
    added = client.post(
        url,
        {
            "application": axb.pk,
            "name": "wait.wav",
            "purpose": "waiting",
            "review_state": "pending",
        },
    )
    assert added.status_code == 302
    file = VoiceFile.objects.get(name="wait.wav")
    assert file.review_state == ReviewState.PENDING
    client.post(url, {"file": file.pk, "review": "approved"})
    file.refresh_from_db()
    assert file.review_state == ReviewState.APPROVED
    assert "wait.wav" in client.get(url).content.decode()
    assert AuditLog.objects.filter(target_type__model="voicefile").count() == 2


def test_customer_service_reads_no_catalog_and_imports_nothing(axb, client, make_user):
    from console.roles import CUSTOMER_SERVICE

    client.force_login(make_user("kefu", CUSTOMER_SERVICE))
    assert client.get(reverse("bindings:voice-files")).status_code == 403
    assert client.get(reverse("bindings:blacklist-import")).status_code == 403


def test_the_registration_import_page_stores_the_rows_and_lists_the_refused(axb, client, make_user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from console.roles import NUMBER_ADMINISTRATOR

    client.force_login(make_user("boss", NUMBER_ADMINISTRATOR))
    upload = SimpleUploadedFile("a.csv", b"number,state\n13800000001,registered\nxx,registered\n")
    page = client.post(
        reverse("bindings:registration-import"),
        {"application": axb.pk, "format": "csv", "import_file": upload},
    ).content.decode()
    assert 'data-stored="1"' in page
    assert ANumberRegistration.objects.get().number == A


def test_a_bulk_row_naming_an_unapproved_tone_is_refused_with_the_file_named(
    axb, django_capture_on_commit_callbacks
):
    content = "a_number,b_number,caller_hint_tone\n13800000001,13900000002,nope.wav\n"
    with django_capture_on_commit_callbacks(execute=False):
        job = services.start_bulk_create(axb, "rows.csv", content, language="en")
        services.run_bulk_create(job.pk)
    job.refresh_from_db()
    assert job.created == 0
    assert "nope.wav" in job.errors[0]["message"]


def test_an_administrator_ends_a_rest_by_hand_and_its_alert_resolves(axb, client, make_user):
    from console import alerts
    from console.choices import AlertKind
    from console.models import Alert
    from console.roles import NUMBER_ADMINISTRATOR

    number = XNumber.objects.filter(application=axb).first()
    XNumber.objects.filter(pk=number.pk).update(
        resting_until=timezone.now() + timedelta(days=3), rest_reason="short calls"
    )
    alerts.raise_alert(AlertKind.X_RESTING, f"xnumber:{number.pk}", title="resting")
    client.force_login(make_user("boss", NUMBER_ADMINISTRATOR))
    answer = client.post(
        reverse("admin:bindings_xnumber_changelist"),
        {"action": "end_rest", "_selected_action": [number.pk]},
    )
    assert answer.status_code == 302
    number.refresh_from_db()
    assert (number.resting_until, number.rest_reason) == (None, "")
    assert Alert.objects.get(kind=AlertKind.X_RESTING).resolved_at is not None
    assert AuditLog.objects.filter(target_type__model="xnumber", details__rest="ended").exists()


def test_the_one_statement_and_the_scoped_managers_decide_alike(axb):
    """Outside a team's scope on PostgreSQL check() reads everything in one prepared statement
    (the ORM on SQLite); under a scope the scoped managers decide. Both must answer every case
    alike, under each registration policy."""
    modes_axb = modes.of("AXB")
    other = ApplicationFactory(mode="AXB")
    tone(axb, "wait.wav")
    tone(axb, "wait_default.wav", is_default=True)
    tone(axb, "pending.wav", review=ReviewState.PENDING)
    tone(other, "others.wav")
    safeguards.blacklist_number("+8613900000666", "complaints", application=axb)
    safeguards.blacklist_number("+8613800000777", "fraud")  # every application
    safeguards.blacklist_number("+8613800000888", "old", expires_at=timezone.now())
    safeguards.blacklist_number("+8613900000999", "elsewhere", application=other)
    safeguards.blacklist_number("+8613900000555", "second", application=axb)
    safeguards.blacklist_number("+8613800000555", "first", application=other)  # not axb's
    safeguards.blacklist_number("+8613800000444", "a and b", application=axb)
    ANumberRegistration.objects.create(
        application=axb, number="+8613800000321", state=RegistrationState.REGISTERED
    )
    ANumberRegistration.objects.create(
        application=other, number="+8613800000322", state=RegistrationState.REGISTERED
    )
    policy = ApplicationPolicy.objects.create(
        application=axb, registration_policy=RegistrationPolicy.WARN
    )
    cases = [
        {"a_number": A, "b_number": B},
        {"a_number": A, "b_number": "+8613900000666"},
        {"a_number": "+8613800000777", "b_number": B},
        {"a_number": "+8613800000888", "b_number": "+8613900000999"},
        {"a_number": A, "b_number": A},
        {"a_number": A, "b_number": ""},
        {"a_number": A, "b_number": B, "caller_hint_tone": "wait.wav"},
        {"a_number": A, "b_number": B, "caller_hint_tone": "pending.wav"},
        {"a_number": A, "b_number": B, "callee_hint_tone": "others.wav"},
        {"a_number": "+8613800000555", "b_number": "+8613900000555"},
        {"a_number": "+8613800000444", "b_number": "+8613900000666"},
        {"a_number": "+8613800000321", "b_number": B},
        {"a_number": "+8613800000322", "b_number": B},
    ]

    def outcome(values):
        values = dict(values)
        try:
            checked = safeguards.check(axb, modes_axb, values)
        except services.BindingRefused as refusal:
            return ("refused", refusal.rule, refusal.field, refusal.message)
        return ("passed", checked.warnings, values)

    at_once = [outcome(case) for case in cases]
    with teams.scoped(frozenset({axb.pk})):
        scoped = [outcome(case) for case in cases]
    assert at_once == scoped
    assert [result[0] for result in at_once] == [
        "passed",
        "refused",
        "refused",
        "passed",
        "passed",
        "passed",
        "passed",
        "refused",
        "refused",
        "refused",
        "refused",
        "passed",
        "passed",
    ]
    assert at_once[0][2]["callee_hint_tone"] == "wait_default.wav"
    assert len(at_once[0][1]) == 1  # the warn policy's warning
    assert at_once[9][2] == "b_number"  # A's entry is another application's
    assert at_once[10][2] == "a_number"  # both listed: the newest entry names the field
    assert at_once[11][1] == []  # registered: no warning
    assert len(at_once[12][1]) == 1  # registered with another application only
    for registration_policy in (RegistrationPolicy.REFUSE, RegistrationPolicy.OFF):
        policy.registration_policy = registration_policy
        policy.save()
        at_once = [outcome(case) for case in cases]
        with teams.scoped(frozenset({axb.pk})):
            assert [outcome(case) for case in cases] == at_once
        refused_unregistered = [result[1] == "a_unregistered" for result in at_once]
        assert any(refused_unregistered) == (registration_policy == RegistrationPolicy.REFUSE)
        assert not any(result[0] == "passed" and result[1] for result in at_once)
