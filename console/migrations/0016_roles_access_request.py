"""Number administrators answer access requests (docs/privacy.md)."""

from django.db import migrations

from console.roles import NUMBER_ADMINISTRATOR, grant, revoke

ADMINISTRATOR_PERMISSIONS = ["console.add_accessrequest", "console.view_accessrequest"]


class Migration(migrations.Migration):
    dependencies = [("console", "0015_access_request")]

    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: grant(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR_PERMISSIONS),
            lambda apps, schema_editor: revoke(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR_PERMISSIONS),
        )
    ]
