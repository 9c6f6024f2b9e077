"""``manage.py verify_audit_log``: seal the new rows, then walk the audit log's hash chain; exit 1
at the first row found deleted or changed (console.audit_chain)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from console import audit_chain


class Command(BaseCommand):
    help = "Verify the audit log's hash chain: a deleted or edited row shows."

    def handle(self, *args, **options) -> None:
        audit_chain.seal()
        verdict = audit_chain.verify()
        if not verdict.ok:
            raise CommandError(
                f"the audit chain breaks at place {verdict.broken_at}: {verdict.reason} "
                f"({verdict.checked} rows verified before it)"
            )
        self.stdout.write(f"audit chain intact: {verdict.checked} rows")
