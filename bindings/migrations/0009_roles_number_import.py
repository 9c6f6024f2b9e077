"""Administrators follow and read X-number imports; customer service gets nothing new."""

from django.db import migrations

from console.roles import NUMBER_ADMINISTRATOR, grant, revoke

ADMINISTRATOR_PERMISSIONS = ["bindings.add_numberimport", "bindings.view_numberimport"]


def forwards(apps, schema_editor):
    grant(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("bindings", "0008_number_import")]

    operations = [migrations.RunPython(forwards, backwards)]
