"""Administrators manage applications and read the audit log; customer service gets neither."""

from django.db import migrations

from console.roles import NUMBER_ADMINISTRATOR, grant, revoke

ADMINISTRATOR = [
    "console.add_application",
    "console.change_application",
    "console.view_application",
    "console.view_auditlog",
]


class Migration(migrations.Migration):
    dependencies = [("console", "0002_application_auditlog")]

    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: grant(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR),
            lambda apps, schema_editor: revoke(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR),
        )
    ]
