"""Personal data: retention policies at their boundaries, pseudonyms that keep the figures, and an
erasure request across every model and the recordings' storage (issue 17, PIPL Art. 19 and 47).

Run on PostgreSQL and again on SQLite (the embedded pass): the lookups and the batch updates are
the ORM's, and the raw-body search is one lookup with a clause per database."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from billing.models import CallEvent, CallRecord, SmsRecord
from billing.tests.factories import make_record
from bindings.choices import BindingStatus
from bindings.models import Binding, BulkJob
from bindings.tests.factories import BindingFactory
from console import partitions, retention
from console.choices import AuditAction, DeliveryKind, DeliveryState, HookEndpoint
from console.models import AuditLog, Delivery, RetentionPolicy
from console.roles import CUSTOMER_SERVICE
from console.testing.factories import ApplicationFactory
from recordings import storage
from recordings.choices import RecordingState
from recordings.models import Recording
from recordings.tests.factories import CALLEE, CALLER, make_stored_recording

pytestmark = [pytest.mark.postgres, pytest.mark.embedded, pytest.mark.django_db]

PERSON = CALLER  # the caller of a recorded call of recordings' factories
OTHER = CALLEE  # its callee
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Stored recordings in a temporary directory of each test (as recordings' own tests do)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECORDINGS_SPOOL_DIR = tmp_path / "spool"
    settings.RECORDINGS_STORAGE_BACKEND = "django.core.files.storage.FileSystemStorage"


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


def _policy(application, **days):
    return RetentionPolicy.objects.create(application=application, **days)


def _event(application, at, caller=PERSON):
    return CallEvent.objects.create(
        application=application,
        session_id=f"s-{at.timestamp()}-{caller}",
        event_type="callin",
        timestamp=at,
        caller=caller,
        called="+8617012340022",
    )


def _sms(application, at, calling=PERSON):
    return SmsRecord.objects.create(
        application=application,
        sms_identifier=f"sms-{at.timestamp()}-{calling}",
        notification_mode="1",
        calling=calling,
        called=OTHER,
        virtual_number="+8617012340022",
        event="sms",
        time_stamp=at,
        content="meet me at the gate",
    )


def _delivery(application, processed_at, body=None):
    body = body or f'{{"callerNum": "{PERSON}", "at": "{processed_at}"}}'.encode()
    return Delivery.objects.create(
        application=application,
        endpoint=HookEndpoint.FEE,
        kind=DeliveryKind.FEE,
        state=DeliveryState.PROCESSED,
        body=body,
        size=len(body),
        digest=hashlib.sha256(body).hexdigest(),
        processed_at=processed_at,
    )


# ---------------------------------------------------------------------------------------------
# Pseudonyms
# ---------------------------------------------------------------------------------------------


def test_a_pseudonym_is_stable_keyed_and_never_a_number(settings):
    first = retention.pseudonym(PERSON)
    assert first == retention.pseudonym(PERSON)  # the same number, the same pseudonym
    assert first != retention.pseudonym(OTHER)
    assert first.startswith("~")
    assert len(first) == 21
    assert PERSON[3:] not in first
    assert retention.pseudonym(first) == first  # pseudonymising twice changes nothing
    assert retention.pseudonym("") == ""
    settings.PSEUDONYM_KEY = "another key"
    assert retention.pseudonym(PERSON) != first  # keyed: not a plain hash anyone can recompute


# ---------------------------------------------------------------------------------------------
# Each kind at its boundary: kept a second before, gone a second after
# ---------------------------------------------------------------------------------------------


def test_call_data_is_kept_until_its_time_and_then_goes_keeping_the_figures(now):
    application = ApplicationFactory()
    _policy(application, call_data_days=30)
    cutoff = now - 30 * DAY
    old_event, new_event = (
        _event(application, cutoff - timedelta(seconds=1)),
        _event(application, cutoff + timedelta(seconds=1), caller=OTHER),
    )
    old_cdrs = [
        make_record(
            application,
            started=cutoff - timedelta(seconds=s),
            talk=61 + s,
            callerNum=PERSON,
            fwdDstNum=OTHER,
        )
        for s in (1, 2)
    ]
    new_cdr = make_record(
        application, started=cutoff + timedelta(seconds=1), callerNum=PERSON, fwdDstNum=OTHER
    )
    old_sms, new_sms = (
        _sms(application, cutoff - timedelta(seconds=1)),
        _sms(application, cutoff + timedelta(seconds=1)),
    )
    minutes_before = CallRecord.objects.aggregate(total=Sum("billable_minutes"))["total"]
    # when beat applies the policy
    done = retention.run(now=now)
    # then the old events are deleted, the old CDRs and SMS pseudonymised, the rest untouched
    assert done == {"call_events": 1, "call_records": 2, "sms_records": 1}
    assert not CallEvent.objects.filter(pk=old_event.pk).exists()
    assert CallEvent.objects.get(pk=new_event.pk).caller == OTHER
    pseudonyms = {
        (r.caller_num, r.fwd_dst_num)
        for r in CallRecord.objects.filter(pk__in=[c.pk for c in old_cdrs])
    }
    assert pseudonyms == {(retention.pseudonym(PERSON), retention.pseudonym(OTHER))}
    assert CallRecord.objects.get(pk=new_cdr.pk).caller_num == PERSON
    # the figures still add up: minutes, and calls per caller (one pseudonym for both)
    assert CallRecord.objects.aggregate(total=Sum("billable_minutes"))["total"] == minutes_before
    old_sms.refresh_from_db()
    assert (old_sms.calling, old_sms.content) == (retention.pseudonym(PERSON), "")
    new_sms.refresh_from_db()
    assert (new_sms.calling, new_sms.content) == (PERSON, "meet me at the gate")
    # and a second run finds nothing left to do
    assert retention.run(now=now) == {}


def test_processed_push_bodies_are_emptied_failed_ones_kept(now):
    application = ApplicationFactory()
    _policy(application, push_bodies_days=7)
    cutoff = now - 7 * DAY
    old = _delivery(application, cutoff - timedelta(seconds=1))
    new = _delivery(application, cutoff + timedelta(seconds=1))
    failed = _delivery(application, cutoff - DAY)
    Delivery.objects.filter(pk=failed.pk).update(state=DeliveryState.FAILED)
    assert retention.run(now=now) == {"push_bodies": 1}
    old.refresh_from_db()
    assert (bytes(old.body), old.size) == (b"", 0)
    assert old.digest  # a resent push is still known as a duplicate
    assert bytes(Delivery.objects.get(pk=new.pk).body).startswith(b'{"callerNum"')
    assert bytes(Delivery.objects.get(pk=failed.pk).body)  # kept whole until it is fixed


def test_stored_recordings_are_deleted_from_storage_after_their_days(now):
    application = ApplicationFactory(recording_enabled=True)
    _policy(application, recordings_days=90)
    cutoff = now - 90 * DAY
    old = make_stored_recording(application, stored_at=cutoff - timedelta(seconds=1))
    new = make_stored_recording(application, stored_at=cutoff + timedelta(seconds=1))
    assert storage.exists(old.file.name)
    assert storage.exists(new.file.name)
    assert retention.run(now=now) == {"recordings": 1}
    gone = Recording.objects.get(pk=old.pk)
    assert (gone.state, gone.file) == (RecordingState.DELETED, "")
    assert not storage.exists(old.file.name)
    assert storage.exists(new.file.name)
    assert Recording.objects.get(pk=new.pk).state == RecordingState.STORED


def test_the_numbers_of_ended_bindings_are_pseudonymised_live_ones_never(now):
    application = ApplicationFactory()
    _policy(application, ended_bindings_days=10)
    cutoff = now - 10 * DAY
    old = BindingFactory(
        application=application,
        a_number=PERSON,
        b_number=OTHER,
        status=BindingStatus.ENDED,
        ended_at=cutoff - timedelta(seconds=1),
    )
    new = BindingFactory(
        application=application,
        a_number=PERSON,
        status=BindingStatus.EXPIRED,
        ended_at=cutoff + timedelta(seconds=1),
    )
    live = BindingFactory(application=application, a_number=PERSON, status=BindingStatus.ACTIVE)
    Binding.objects.filter(pk=live.pk).update(created_at=cutoff - 30 * DAY)
    assert retention.run(now=now) == {"ended_bindings": 1}
    old.refresh_from_db()
    assert (old.a_number, old.b_number) == (retention.pseudonym(PERSON), retention.pseudonym(OTHER))
    assert Binding.objects.get(pk=new.pk).a_number == PERSON
    assert Binding.objects.get(pk=live.pk).a_number == PERSON


def test_a_policy_applies_to_its_own_application_only_and_forever_means_forever(now):
    limited, unlimited = ApplicationFactory(), ApplicationFactory()
    _policy(limited, call_data_days=1)
    _policy(unlimited)  # every kind kept forever
    old = now - 400 * DAY
    mine, theirs = _event(limited, old), _event(unlimited, old)
    retention.run(now=now)
    assert not CallEvent.objects.filter(pk=mine.pk).exists()
    assert CallEvent.objects.filter(pk=theirs.pk).exists()


def test_a_run_works_in_bounded_batches_and_the_next_run_carries_on(now, settings):
    settings.RETENTION_BATCH = 2
    settings.RETENTION_MAX_BATCHES = 1
    application = ApplicationFactory()
    _policy(application, call_data_days=1)
    for i in range(5):
        _event(application, now - 2 * DAY - timedelta(seconds=i))
    assert retention.run(now=now) == {"call_events": 2}
    assert retention.run(now=now) == {"call_events": 2}
    assert retention.run(now=now) == {"call_events": 1}
    assert not CallEvent.objects.exists()
    # each run that removed something left one audit row saying what, why and how many
    rows = AuditLog.objects.filter(action=AuditAction.DELETE, details__what="call_events")
    assert sorted(r.details["rows"] for r in rows) == [1, 2, 2]


def test_the_preview_counts_what_the_next_run_removes_before_a_policy_is_saved(now):
    application = ApplicationFactory()
    _event(application, now - 40 * DAY)
    _event(application, now - 20 * DAY)
    unsaved = RetentionPolicy(application=application, call_data_days=30)
    counts = {part.name: count for part, count in retention.preview(unsaved, now=now)}
    assert counts == {"call_events": 1, "call_records": 0, "sms_records": 0}
    assert not RetentionPolicy.objects.exists()


def test_saving_a_policy_in_the_admin_asks_first_with_its_effect(boss, now):
    application = ApplicationFactory()
    _event(application, now - 40 * DAY)
    url = reverse("admin:console_retentionpolicy_add")
    data = {"application": application.pk, "call_data_days": "30", "_save": "Save"}
    asked = boss.post(url, data, HTTP_ACCEPT_LANGUAGE="en")
    # then nothing is saved yet, and the page says what the next run would remove
    assert asked.status_code == 200
    assert not RetentionPolicy.objects.exists()
    assert "call events: 1" in asked.content.decode()
    saved = boss.post(url, {**data, "confirmed": "yes"})
    assert saved.status_code == 302
    assert RetentionPolicy.objects.get().call_data_days == 30
    assert AuditLog.objects.filter(action=AuditAction.CREATE, target_repr=str(application))


def test_the_preview_says_which_months_of_call_history_go_for_everybody(boss, now):
    first, second = ApplicationFactory(), ApplicationFactory()
    url = reverse("admin:console_retentionpolicy_add")
    data = {"application": first.pk, "call_history_months": "3", "_save": "Save"}
    # while another application keeps every month, nothing goes
    waiting = boss.post(url, data, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Call history: nothing yet; 1 other application(s) keep every month" in waiting
    # once it allows 6 months, the longest keep counts
    RetentionPolicy.objects.create(application=second, call_history_months=6)
    asked = boss.post(url, data, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    first_kept = partitions.add_months(partitions.month_start(timezone.now()), -6)
    assert f"every month before {first_kept:%Y-%m} is removed, for all applications" in asked
    assert retention.history_cutoff(now=timezone.now()) is None  # the form saved nothing yet


def test_a_call_history_of_zero_months_is_refused(boss):
    # 0 would drop every month but this one: the form says so and saves nothing
    application = ApplicationFactory()
    url = reverse("admin:console_retentionpolicy_add")
    data = {"application": application.pk, "call_history_months": "0", "_save": "Save"}
    answer = boss.post(url, {**data, "confirmed": "yes"}, HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 200
    assert "Ensure this value is greater than or equal to 1." in answer.content.decode()
    assert not RetentionPolicy.objects.exists()


# ---------------------------------------------------------------------------------------------
# Erasure of one person's number
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def everywhere(now):
    """PERSON in every place the console keeps a number, plus one row of somebody else each."""
    application = ApplicationFactory(recording_enabled=True)
    recording = make_stored_recording(application)  # its CDR: PERSON calls OTHER
    held = {
        "event": _event(application, now),
        "sms": _sms(application, now),
        "delivery": _delivery(application, now, body=f'{{"callerNum":"{PERSON[3:]}"}}'.encode()),
        "binding": BindingFactory(
            application=application, a_number=PERSON, status=BindingStatus.ENDED, ended_at=now
        ),
        "bulk": BulkJob.objects.create(
            application=application, source=f"a_number,b_number\n{PERSON},{OTHER}\n"
        ),
        "recording": recording,
    }
    others = {
        "event": _event(application, now, caller="+8613700000001"),
        "sms": _sms(application, now, calling="+8613700000001"),
        "delivery": _delivery(application, now, body=b'{"callerNum":"+8613700000001"}'),
        "binding": BindingFactory(
            application=application, a_number="+8613700000001", status=BindingStatus.ENDED
        ),
    }
    return held, others


def test_an_erasure_finds_the_number_in_every_place_and_erases_only_it(everywhere):
    held, others = everywhere
    found = {part.name: count for part, count in retention.find("139 1234 5678")}
    assert found == {
        "push_bodies": 1,  # stored in national form inside the raw body
        "call_events": 1,
        "call_records": 1,
        "sms_records": 1,
        "ended_bindings": 1,
        "bulk_uploads": 1,
        "live_bindings": 0,
        "recordings": 1,
    }
    file_name = held["recording"].file.name
    report = retention.erase(PERSON)
    assert report == {name: count for name, count in found.items() if name != "live_bindings"}
    assert all(count == 0 for _part, count in retention.find(PERSON))
    assert not CallEvent.objects.filter(pk=held["event"].pk).exists()
    assert CallRecord.objects.get(pk=held["recording"].call_record_id).caller_num == (
        retention.pseudonym(PERSON)
    )
    assert SmsRecord.objects.get(pk=held["sms"].pk).content == ""
    assert bytes(Delivery.objects.get(pk=held["delivery"].pk).body) == b""
    assert Binding.objects.get(pk=held["binding"].pk).a_number == retention.pseudonym(PERSON)
    assert BulkJob.objects.get(pk=held["bulk"].pk).source == ""
    assert not storage.exists(file_name)
    # somebody else's rows are untouched
    assert CallEvent.objects.get(pk=others["event"].pk).caller == "+8613700000001"
    assert SmsRecord.objects.get(pk=others["sms"].pk).content == "meet me at the gate"
    assert bytes(Delivery.objects.get(pk=others["delivery"].pk).body)
    assert Binding.objects.get(pk=others["binding"].pk).a_number == "+8613700000001"
    # and the audit row is the report, with the number masked
    row = AuditLog.objects.get(details__reason="erasure request")
    assert row.details["erased"] == report
    assert PERSON not in str(row.details)
    assert row.details["pseudonym"] == retention.pseudonym(PERSON)


def test_a_live_binding_blocks_the_erasure_and_nothing_is_erased(everywhere):
    held, _others = everywhere
    BindingFactory(a_number=PERSON, status=BindingStatus.ACTIVE)
    with pytest.raises(retention.ErasureBlocked) as blocked:
        retention.erase(PERSON)
    assert blocked.value.blocking == {"live_bindings": 1}
    assert CallEvent.objects.filter(pk=held["event"].pk).exists()


def test_the_erasure_page_shows_the_counts_then_erases_on_confirmation(boss, everywhere):
    url = reverse("erasure")
    looked = boss.post(url, {"number": "13912345678"})
    page = looked.content.decode()
    assert looked.status_code == 200
    assert 'data-part="call_records"' in page
    assert "erase-confirm" in page
    assert CallEvent.objects.filter(caller=PERSON).exists()  # nothing erased by looking
    done = boss.post(url, {"number": "13912345678", "confirmed": "yes"})
    assert "erasure-report" in done.content.decode()
    assert not CallEvent.objects.filter(caller=PERSON).exists()
    assert boss.post(url, {"number": "not a number"}).context["error"]


def test_customer_service_cannot_open_the_erasure_page_or_the_policies(client, make_user):
    client.force_login(make_user("kefu", CUSTOMER_SERVICE))
    assert client.post(reverse("erasure"), {"number": PERSON}).status_code == 403
    policies = reverse("admin:console_retentionpolicy_changelist")
    assert client.get(policies).status_code == 403
