"""billing.services.ingest_cdrs: idempotent, linked, billed by the started minute, quirks marked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction

from billing import services, signals
from billing.models import CallRecord
from billing.tests.factories import fee, unanswered, utc
from bindings.tests.factories import BindingFactory
from console.testing.factories import ApplicationFactory
from privatenumber.schemas import FeeInfo

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def parsed(*bodies):
    return [FeeInfo.model_validate(body) for body in bodies]


@pytest.fixture
def application():
    return ApplicationFactory(mode="AXB")


@pytest.mark.parametrize(
    ("talk", "minutes"),
    [(0, 0), (1, 1), (59, 1), (60, 1), (61, 2), (120, 2), (121, 3), (3600, 60)],
)
def test_billable_minutes_count_every_started_minute(application, talk, minutes):
    services.ingest_cdrs(application, parsed(fee(application, talk=talk)))
    record = CallRecord.objects.get()
    assert (record.talk_seconds, record.billable_minutes) == (talk, minutes)


def test_an_unanswered_call_has_no_billable_minutes_and_its_outcome_is_its_category(application):
    services.ingest_cdrs(application, parsed(unanswered(fee(application), 8102, 17)))
    record = CallRecord.objects.get()
    assert record.billable_minutes == 0
    assert (record.outcome, record.ul_fail_reason, record.fwd_unasw_rsn) == ("callee", 8102, 17)


def test_times_are_stored_in_utc_as_the_platform_sent_them(application):
    started = utc(2026, 1, 31, 16, 30, 0)  # 00:30 on 1 February in Beijing
    services.ingest_cdrs(application, parsed(fee(application, started=started)))
    record = CallRecord.objects.get()
    assert record.call_in_time == started
    assert record.started_at == started
    assert services.month_start(record.started_at).month == 2


def test_a_batch_stored_twice_is_stored_once(application):
    batch = parsed(fee(application), fee(application))
    assert services.ingest_cdrs(application, batch) == 2
    assert services.ingest_cdrs(application, batch) == 0
    assert CallRecord.objects.count() == 2


def test_the_natural_key_is_icid_and_falls_back_to_the_session(application):
    # given two CDRs without icid, one with
    no_icid = fee(application, icid="")
    same_session_again = dict(no_icid)
    with_icid = fee(application)
    # when
    created = services.ingest_cdrs(application, parsed(no_icid, same_session_again, with_icid))
    # then
    assert created == 2
    keys = set(CallRecord.objects.values_list("cdr_key", flat=True))
    assert keys == {f"session:{no_icid['sessionId']}", with_icid["icid"]}


def test_the_same_icid_in_two_applications_is_two_records(application):
    other = ApplicationFactory()
    body = fee(application)
    services.ingest_cdrs(application, parsed(body))
    services.ingest_cdrs(other, parsed({**body, "appKey": other.app_key}))
    assert CallRecord.objects.count() == 2


def test_each_cdr_is_linked_to_its_binding_by_subscription_id(
    application, django_assert_num_queries
):
    # given
    first = BindingFactory(application=application, subscription_id="sub-1")
    second = BindingFactory(application=application, subscription_id="sub-2")
    BindingFactory(subscription_id="sub-1")  # the same id in another application
    batch = parsed(
        fee(application, subscriptionId="sub-1"),
        fee(application, subscriptionId="sub-2"),
        fee(application, subscriptionId="sub-unknown"),
    )
    # when: one statement inserts the batch and links it
    with django_assert_num_queries(1):
        services.ingest_cdrs(application, batch)
    # then
    linked = dict(CallRecord.objects.values_list("subscription_id", "binding_id"))
    assert linked == {"sub-1": first.pk, "sub-2": second.pk, "sub-unknown": None}


def test_a_cdr_without_subscription_id_is_kept_and_marked_no_binding(application):
    services.ingest_cdrs(
        application,
        parsed(unanswered(fee(application, subscriptionId="", direction=2), release_point=8014)),
    )
    record = CallRecord.objects.get()
    assert (record.no_binding, record.outcome, record.binding_id) == (True, "binding", None)


def test_an_x_mode_cdr_has_no_binding_by_design_and_is_not_marked(application):
    x_app = ApplicationFactory(mode="X")
    services.ingest_cdrs(x_app, parsed(fee(x_app, subscriptionId="")))
    assert CallRecord.objects.get().no_binding is False


@pytest.mark.parametrize(
    ("field", "value", "malformed"),
    [
        (None, None, False),
        ("callerNum", "13900007021", True),
        ("calleeNum", "017012340022", True),
        ("bindNum", "+86170123400229", True),
        ("fwdDisplayNum", "+8517012340022", True),
        ("fwdDstNum", "13800000021", True),
        ("fwdDstNum", "", False),  # absent: nothing to judge
        ("bindNum", "", False),
    ],
)
def test_a_number_not_in_the_global_format_marks_the_cdr(application, field, value, malformed):
    # given a CDR whose numbers are all well formed, but for the one named
    body = fee(application) if field is None else fee(application, **{field: value})
    # when
    services.ingest_cdrs(application, parsed(body))
    # then
    assert CallRecord.objects.get().malformed_number is malformed


def test_a_redial_duplicate_is_flagged_and_never_billed(application):
    # given a call, and the duplicate the platform sends on a redial: same binding, no call time
    call = fee(application, subscriptionId="sub-9", talk=125)
    duplicate = fee(application, subscriptionId="sub-9", talk=125, callInTime="")
    # when
    services.ingest_cdrs(application, parsed(call, duplicate))
    # then
    original, redial = CallRecord.objects.order_by("id")
    assert (original.redial_duplicate, original.billable_minutes) == (False, 3)
    assert (redial.redial_duplicate, redial.billable_minutes) == (True, 0)


def test_a_cdr_with_no_time_at_all_sorts_by_when_it_arrived(application):
    bare = fee(
        application,
        callInTime="",
        fwdStartTime="",
        fwdAlertingTime="",
        fwdAnswerTime="",
        callEndTime="",
        subscriptionId="",
    )
    now = utc(2026, 5, 1, 8, 0, 0)
    services.ingest_cdrs(application, parsed(bare), now=now)
    assert CallRecord.objects.get().started_at == now


def test_the_portable_insert_stores_exactly_what_the_postgresql_one_does(application, monkeypatch):
    # given
    bodies = [fee(application), unanswered(fee(application)), fee(application, icid="")]
    services.ingest_cdrs(application, parsed(*bodies))
    fast = list(CallRecord.objects.order_by("cdr_key").values(*services.CDR_FIELDS))
    CallRecord.objects.all().delete()
    # when
    monkeypatch.setattr(services.cdrs, "_insert_postgresql", services._insert_portable)
    assert services.ingest_cdrs(application, parsed(*bodies)) == 3
    assert services.ingest_cdrs(application, parsed(*bodies)) == 0
    # then
    assert list(CallRecord.objects.order_by("cdr_key").values(*services.CDR_FIELDS)) == fast


def test_the_signal_carries_the_created_records_inside_the_transaction(application):
    # given
    received = []

    def receiver(sender, application, call_records, **kwargs):
        received.append(
            (
                application.pk,
                [(r.pk, r.session_id, r.recorded) for r in call_records],
                transaction.get_connection().in_atomic_block,
            )
        )

    recorded = fee(application, recordFlag=1, recordObjectName="call.wav")
    plain = fee(application)
    signals.cdrs_ingested.connect(receiver, sender=CallRecord)
    try:
        with transaction.atomic():
            services.ingest_cdrs(application, parsed(recorded))
        # when the next batch repeats that CDR with a new one
        with transaction.atomic():
            services.ingest_cdrs(application, parsed(recorded, plain))
    finally:
        signals.cdrs_ingested.disconnect(receiver, sender=CallRecord)
    # then: each batch's new records only, with their ids, sent inside the transaction
    first_id = CallRecord.objects.get(session_id=recorded["sessionId"]).pk
    second_id = CallRecord.objects.get(session_id=plain["sessionId"]).pk
    assert received == [
        (application.pk, [(first_id, recorded["sessionId"], True)], True),
        (application.pk, [(second_id, plain["sessionId"], False)], True),
    ]


def test_a_failing_signal_receiver_rolls_the_batch_back(application):
    def receiver(**kwargs):
        raise RuntimeError("recordings broken")

    signals.cdrs_ingested.connect(receiver, sender=CallRecord)
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.ingest_cdrs(application, parsed(fee(application)))
    finally:
        signals.cdrs_ingested.disconnect(receiver, sender=CallRecord)
    assert not CallRecord.objects.exists()


def test_the_started_at_of_an_unanswered_call_is_its_call_in_time(application):
    started = utc(2026, 4, 1, 0, 0, 0)
    services.ingest_cdrs(application, parsed(unanswered(fee(application, started=started))))
    record = CallRecord.objects.get()
    assert record.started_at == started
    assert record.fail_time == started + timedelta(seconds=5 + 61)


def test_the_signals_records_are_the_stored_rows_as_saved_instances(application):
    # given
    binding = BindingFactory(application=application, subscription_id="sub-77")
    body = fee(application, subscriptionId="sub-77", recordFlag=1, recordObjectName="a.wav")
    received = []

    def receiver(call_records, **kwargs):
        received.extend(call_records)

    signals.cdrs_ingested.connect(receiver, sender=CallRecord)
    try:
        services.ingest_cdrs(application, parsed(body))
    finally:
        signals.cdrs_ingested.disconnect(receiver, sender=CallRecord)
    # then
    [record] = received
    stored = CallRecord.objects.get()
    assert record._state.adding is False
    assert record.binding_id == binding.pk
    for field in CallRecord._meta.concrete_fields:
        assert getattr(record, field.attname) == getattr(stored, field.attname), field.name


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_application_deleted_under_a_push_leaves_no_cdr_behind():
    """CDRs keep no database constraint to their application (issue 19: its check ran once per
    CDR); the push's Delivery keeps one, checked in the same transaction. An application deleted
    (even by raw SQL, past PROTECT) while a push is applied takes the whole push with it."""
    from django.db import IntegrityError, connection, connections

    from console.models import Application, Delivery

    if connection.vendor != "postgresql":
        pytest.skip("the constraint check is PostgreSQL's")
    application = ApplicationFactory(mode="AXB")

    def push_while_the_application_is_deleted() -> None:
        with transaction.atomic():
            delivery = Delivery.objects.create(
                application=application, endpoint="fee", kind="fee", state="processed", body=b"{}"
            )
            created = services.ingest_cdrs(application, parsed(fee(application)), delivery=delivery)
            assert created == 1
            # another connection (autocommit) deletes the application before the push commits
            other = connections.create_connection("default")
            try:
                with other.cursor() as cursor:
                    cursor.execute(
                        "DELETE FROM console_application WHERE id = %s", [application.pk]
                    )
            finally:
                other.close()

    with pytest.raises(IntegrityError):
        push_while_the_application_is_deleted()
    assert not Application.objects.filter(pk=application.pk).exists()
    assert not CallRecord.objects.filter(application_id=application.pk).exists()
    assert not Delivery.objects.filter(application_id=application.pk).exists()


@pytest.fixture
def builds(monkeypatch) -> list[int]:
    """Counts how often the signal's CallRecords are built (and still builds them)."""
    from billing.services import cdrs

    counted: list[int] = []
    build = cdrs._saved_records

    def counting(*args, **kwargs):
        counted.append(1)
        return build(*args, **kwargs)

    monkeypatch.setattr(cdrs, "_saved_records", counting)
    return counted


@pytest.mark.embedded  # the ORM's insert (SQLite) sends the same signal
def test_nobody_reads_the_records_of_unrecorded_calls_without_webhooks(application, builds):
    # given: an application without webhooks, a batch of calls none of which was recorded
    assert application.webhooks_on is False
    # when
    services.ingest_cdrs(application, parsed(fee(application), fee(application)))
    # then: both stored, and no CallRecord instance was built for the signal
    assert CallRecord.objects.count() == 2
    assert builds == []


@pytest.mark.embedded  # the ORM's insert (SQLite) sends the same signal
def test_a_recorded_call_has_its_records_built_and_its_recording_created(application, builds):
    from recordings.models import Recording

    recorded = fee(application, recordFlag=1, recordObjectName="call.wav")
    services.ingest_cdrs(application, parsed(recorded, fee(application)))
    assert builds == [1]  # once, however many receivers read them
    assert Recording.objects.get().call_record.session_id == recorded["sessionId"]


@pytest.mark.embedded  # the ORM's insert (SQLite) sends the same signal
def test_an_application_with_webhooks_has_its_records_built(application, builds):
    application.webhooks_on = True
    services.ingest_cdrs(application, parsed(fee(application)))
    assert builds == [1]


@pytest.mark.embedded  # the ORM's insert (SQLite) sends the same signal
def test_the_signal_says_how_many_of_its_records_are_recorded_calls(application):
    received = []

    def receiver(call_records, recorded, **kwargs):
        received.append((len(call_records), recorded, sum(r.recorded for r in call_records)))

    batch = parsed(
        fee(application, recordFlag=1, recordObjectName="a.wav"),
        fee(application, recordFlag=0),
        fee(application, recordFlag=1, recordObjectName="b.wav"),
    )
    signals.cdrs_ingested.connect(receiver, sender=CallRecord)
    try:
        services.ingest_cdrs(application, batch)
    finally:
        signals.cdrs_ingested.disconnect(receiver, sender=CallRecord)
    assert received == [(3, 2, 2)]
