"""Administrators read the reconciliation reports; customer service gets nothing new."""

from django.db import migrations

from console.roles import NUMBER_ADMINISTRATOR, grant, revoke

ADMINISTRATOR_PERMISSIONS = ["bindings.view_reconciliation"]


def forwards(apps, schema_editor):
    grant(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("bindings", "0003_pool_state_bulk_reconcile")]

    operations = [migrations.RunPython(forwards, backwards)]
