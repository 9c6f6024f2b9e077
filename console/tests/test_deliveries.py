"""The push inbox in the admin: failed deliveries listed, re-processed after a fix (audited), raw
bodies for administrators only."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import CallRecord
from billing.tests.factories import fee, fee_push
from console.models import AuditLog, Delivery
from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR
from console.testing import failing, push_handler
from console.testing.factories import ApplicationFactory, post_push
from console.tests.test_list_pages import unbounded_reads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

CHANGELIST = "/admin/console/delivery/"


@pytest.fixture
def application():
    return ApplicationFactory()


@pytest.fixture
def failed_push(client, application):
    """A CDR push whose service failed: kept as failed, nothing applied."""
    body = fee_push(fee(application))
    with push_handler("fee", failing("no_such_service")):
        assert post_push(client, "fee", body, application).status_code == 500
    client.logout()
    return Delivery.objects.get(), body


def test_the_inbox_opens_on_failed_deliveries(client, make_user, application, failed_push):
    # given one processed delivery beside the failed one
    post_push(client, "fee", fee_push(fee(application)), application)
    client.force_login(make_user("boss", NUMBER_ADMINISTRATOR))
    # when
    page = client.get(CHANGELIST)
    everything = client.get(CHANGELIST, {"state": "all"})
    # then
    assert list(page.context["cl"].result_list) == [failed_push[0]]
    assert len(everything.context["cl"].result_list) == 2


def test_the_inbox_never_counts_the_whole_table(client, make_user, failed_push):
    client.force_login(make_user("boss", NUMBER_ADMINISTRATOR))
    with CaptureQueriesContext(connection) as queries:
        client.get(CHANGELIST, {"state": "all"})
    assert unbounded_reads(queries.captured_queries) == []  # counts stop at LIMIT n


def test_the_inbox_finds_a_delivery_by_its_digest_on_the_index(client, make_user, failed_push):
    # given
    delivery, _ = failed_push
    client.force_login(make_user("boss", NUMBER_ADMINISTRATOR))
    # when (typed in capitals, as some tools print it)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(CHANGELIST, {"state": "all", "q": f" {delivery.digest.upper()} "})
    # then
    assert list(page.context["cl"].result_list) == [delivery]
    assert not [q for q in queries.captured_queries if "UPPER(" in q["sql"]]


def test_a_failed_delivery_is_re_processed_after_the_fix_and_audited(
    client, make_user, failed_push
):
    # given
    delivery, _ = failed_push
    admin = make_user("boss", NUMBER_ADMINISTRATOR)
    client.force_login(admin)
    assert not CallRecord.objects.exists()
    # when (the service works again)
    response = client.post(
        CHANGELIST + "?state=failed",
        {"action": "reprocess_selected", "_selected_action": [delivery.pk]},
    )
    # then
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.error) == ("processed", 2, "")
    assert CallRecord.objects.filter(delivery=delivery).count() == 1
    entry = AuditLog.objects.get(action="reprocess")
    assert (entry.user, entry.target_id, entry.details["ok"]) == (admin, str(delivery.pk), True)


def test_a_delivery_that_fails_again_stays_failed_with_the_new_reason(
    client, make_user, failed_push
):
    delivery, _ = failed_push
    client.force_login(make_user("boss", NUMBER_ADMINISTRATOR))
    with push_handler("fee", failing("still_missing")):
        client.post(CHANGELIST, {"action": "reprocess_selected", "_selected_action": [delivery.pk]})
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("failed", 2)
    assert "still_missing" in delivery.error
    assert AuditLog.objects.get(action="reprocess").details["ok"] is False


def test_administrators_download_the_raw_body_and_it_is_audited(client, make_user, failed_push):
    # given
    delivery, body = failed_push
    client.force_login(make_user("boss", NUMBER_ADMINISTRATOR))
    # when
    page = client.get(reverse("admin:console_delivery_change", args=[delivery.pk]))
    download = client.get(reverse("admin:console_delivery_body", args=[delivery.pk]))
    # then
    assert "+8613900007021" not in page.content.decode()  # the body is never on the page
    assert download.status_code == 200
    assert download.content == body
    assert download["Content-Disposition"].startswith("attachment")
    assert AuditLog.objects.filter(action="download", target_id=str(delivery.pk)).exists()


def test_customer_service_never_sees_deliveries_or_their_bodies(client, make_user, failed_push):
    delivery, _ = failed_push
    client.force_login(make_user("kefu", CUSTOMER_SERVICE))
    assert client.get(CHANGELIST).status_code == 403
    body_url = reverse("admin:console_delivery_body", args=[delivery.pk])
    assert client.get(body_url).status_code == 403


def test_viewing_the_inbox_does_not_allow_downloading_bodies(client, make_user, failed_push):
    delivery, _ = failed_push
    viewer = make_user("viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    client.force_login(viewer)
    assert client.get(CHANGELIST).status_code == 200
    body_url = reverse("admin:console_delivery_body", args=[delivery.pk])
    assert client.get(body_url).status_code == 403


def test_the_raw_body_also_takes_the_permission_to_see_real_numbers(client, make_user, failed_push):
    """The body carries full numbers: one rule decides who sees them (console.privacy)."""
    delivery, _ = failed_push
    downloader = make_user("downloader")
    downloader.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_delivery", "download_delivery_body"])
    )
    client.force_login(downloader)
    body_url = reverse("admin:console_delivery_body", args=[delivery.pk])
    assert client.get(body_url).status_code == 403
    downloader.user_permissions.add(Permission.objects.get(codename="view_real_numbers"))
    assert client.get(body_url).status_code == 200


def test_raw_bodies_are_compressed_with_lz4_and_read_back_byte_for_byte(application):
    # given the migrated table (lz4 where the server has it, see console migration 0028)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attcompression FROM pg_attribute WHERE attrelid = %s::regclass "
            "AND attname = 'body'",
            [Delivery._meta.db_table],
        )
        (method,) = cursor.fetchone()
    assert method == "l"
    # when a body large enough to be compressed is stored
    body = b'{"eventType":"fee","feeLst":[' + b",".join([b'{"sessionId":"1"}'] * 3000) + b"]}"
    delivery = Delivery.objects.create(
        application=application, endpoint="fee", state="processed", body=body, digest="0" * 64
    )
    # then it was compressed with lz4 and reads back exactly
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT pg_column_compression(body) FROM {Delivery._meta.db_table} WHERE id = %s",  # noqa: S608
            [delivery.pk],
        )
        assert cursor.fetchone() == ("lz4",)
    assert bytes(Delivery.objects.get(pk=delivery.pk).body) == body
