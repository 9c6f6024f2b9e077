"""Billing's jobs that wait on a worker, for the sweeper and "retry now" (``console.jobs``).

* a bill reconciliation queued, reading or comparing: run again from its start (a run writes its
  differences in one transaction at its end, so a worker that died left none behind).
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from billing.models import BillReconciliation
from billing.reconcile import RUNNING
from console import jobs


def requeue_reconciliation(job: BillReconciliation) -> bool:
    from billing.tasks import reconcile_bill_task

    queryset = BillReconciliation.objects.filter(pk=job.pk)
    return jobs.renew(job) and jobs.send(reconcile_bill_task, job.pk, job=queryset)


def register() -> None:
    """Called from ``BillingConfig.ready()``."""
    jobs.register(
        jobs.JobKind(
            name="bill_reconciliation",
            label=_("Bill reconciliations"),
            stuck=lambda now: (
                BillReconciliation.objects.filter(state__in=RUNNING, lease_until__lt=now)
                .defer("source")
                .order_by("lease_until")
            ),
            requeue=requeue_reconciliation,
            permission="billing.add_billreconciliation",
            describe=lambda job: f"{job} · {job.get_state_display()}",
            url=lambda job: reverse("billing:reconciliation", args=[job.pk]),
        )
    )
