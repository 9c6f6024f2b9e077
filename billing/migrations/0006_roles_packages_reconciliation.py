"""Administrators hold packages, read the settlement's figures on statements, and reconcile bills."""

from django.db import migrations

from console.roles import NUMBER_ADMINISTRATOR, grant, model_permissions, revoke

ADMINISTRATOR_PERMISSIONS = [
    *model_permissions("billing", ["package"]),
    "billing.add_billreconciliation",
    "billing.view_billreconciliation",
]


def forwards(apps, schema_editor):
    grant(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("billing", "0005_packages_settlement_reconciliation")]

    operations = [migrations.RunPython(forwards, backwards)]
