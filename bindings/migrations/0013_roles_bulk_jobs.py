"""Administrators follow every bulk upload; everybody else only their own (services.
may_follow_bulk_job): the progress and refused rows carry the uploaded real numbers."""

from django.db import migrations

from console.roles import NUMBER_ADMINISTRATOR, grant, revoke

ADMINISTRATOR_PERMISSIONS = ["bindings.view_bulkjob"]


class Migration(migrations.Migration):
    dependencies = [("bindings", "0012_reveal_number_is_console_wide")]

    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: grant(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR_PERMISSIONS),
            lambda apps, schema_editor: revoke(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR_PERMISSIONS),
        )
    ]
