"""Number administrators set the retention policies and answer erasure requests (docs/privacy.md)."""

from django.db import migrations

from console.roles import NUMBER_ADMINISTRATOR, grant, model_permissions, revoke

ADMINISTRATOR_PERMISSIONS = [
    *model_permissions("console", ["retentionpolicy"]),
    "console.erase_personal_data",
]


class Migration(migrations.Migration):
    dependencies = [("console", "0012_retention_policy")]

    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: grant(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR_PERMISSIONS),
            lambda apps, schema_editor: revoke(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR_PERMISSIONS),
        )
    ]
