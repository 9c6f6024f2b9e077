"""The audit log is a hash chain: an edited or deleted row shows; its own retention keeps the rest
verifiable; it exports as CSV (issue 17). On PostgreSQL and again on SQLite."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from console import audit, audit_chain
from console.choices import AuditAction
from console.models import AuditChainAnchor, AuditLog
from console.testing.factories import ApplicationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.embedded, pytest.mark.django_db]


def _rows(n: int, **details) -> list[AuditLog]:
    application = ApplicationFactory()
    return [
        audit.record(AuditAction.MODIFY, application, details={"step": i, **details})
        for i in range(n)
    ]


def test_sealed_rows_form_a_chain_that_verifies():
    rows = _rows(5)
    assert audit_chain.seal() == 5
    sealed = list(AuditLog.objects.order_by("sealed_seq"))
    assert [r.sealed_seq for r in sealed] == [1, 2, 3, 4, 5]
    assert [r.pk for r in sealed] == [r.pk for r in rows]
    assert len({r.chain_hash for r in sealed}) == 5
    assert audit_chain.verify() == audit_chain.Verdict(True, 5)
    # rows written later continue the chain at the next run
    _rows(2)
    assert audit_chain.seal() == 2
    assert audit_chain.seal() == 0
    assert audit_chain.verify().checked == 7


def test_an_edited_row_breaks_the_chain_at_its_place():
    rows = _rows(4)
    audit_chain.seal()
    AuditLog.objects.filter(pk=rows[2].pk).update(target_repr="somebody else")
    verdict = audit_chain.verify()
    assert (verdict.ok, verdict.broken_at, verdict.reason) == (False, 3, "a row was changed")
    assert verdict.checked == 2


def test_an_edited_detail_or_a_recomputed_hash_of_one_row_shows_too():
    rows = _rows(3)
    audit_chain.seal()
    row = AuditLog.objects.get(pk=rows[1].pk)
    row.details = {"step": 99}
    row.chain_hash = audit_chain.link(AuditLog.objects.get(pk=rows[0].pk).chain_hash, row)
    row.save()  # a forger who recomputes this row's hash still breaks the next link
    verdict = audit_chain.verify()
    assert (verdict.ok, verdict.broken_at) == (False, 3)


def test_a_deleted_row_breaks_the_chain_and_the_command_fails():
    rows = _rows(4)
    audit_chain.seal()
    AuditLog.objects.filter(pk=rows[1].pk).delete()
    verdict = audit_chain.verify()
    assert (verdict.ok, verdict.broken_at, verdict.reason) == (
        False,
        2,
        "a row is missing (deleted)",
    )
    with pytest.raises(CommandError, match="breaks at place 2"):
        call_command("verify_audit_log")


def test_the_audit_retention_deletes_the_oldest_rows_and_the_rest_still_verifies(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    old = _rows(3)
    young = _rows(2)
    audit_chain.seal()
    AuditLog.objects.filter(pk__in=[r.pk for r in old]).update(
        at=timezone.now() - timedelta(days=31)
    )
    assert audit_chain.expire() == 3
    assert set(AuditLog.objects.values_list("pk", flat=True)) == {r.pk for r in young}
    anchor = AuditChainAnchor.objects.get()
    assert anchor.last_deleted_seq == 3
    assert audit_chain.verify() == audit_chain.Verdict(True, 2)
    settings.AUDIT_RETENTION_DAYS = 0
    assert audit_chain.expire() == 0  # 0 keeps the log forever


def test_administrators_export_the_filtered_log_as_csv_audited(boss):
    application = ApplicationFactory(name="=HYPERLINK(evil)")
    audit.record(AuditAction.MODIFY, application, details={"fields": ["name"]})
    audit.record(AuditAction.END, application)
    url = reverse("admin:console_auditlog_export") + "?action__exact=modify"
    answer = boss.get(url)
    assert answer.status_code == 200
    text = answer.content.decode("utf-8")
    assert text.startswith("\ufeffsealed_seq,at,")
    lines = text.strip().splitlines()
    assert len(lines) == 2  # the header and the one "modify" row
    assert "'=HYPERLINK(evil)" in lines[1]  # never a live formula
    assert AuditLog.objects.filter(action=AuditAction.EXPORT).count() == 1


def test_the_verify_button_tells_the_administrator(boss):
    rows = _rows(2)
    changelist = reverse("admin:console_auditlog_changelist")
    intact = boss.post(
        reverse("admin:console_auditlog_verify"), follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "intact: 2 rows verified" in str(next(iter(intact.context["messages"])))
    AuditLog.objects.filter(pk=rows[0].pk).update(username="x")
    broken = boss.post(
        reverse("admin:console_auditlog_verify"), follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "breaks at place 1" in str(next(iter(broken.context["messages"])))
    assert broken.redirect_chain[-1][0] == changelist
