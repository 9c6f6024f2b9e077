"""Customer service views and plays recordings; administrators hold everything in recordings."""

from django.db import migrations

from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR, grant, model_permissions, revoke

CUSTOMER_SERVICE_PERMISSIONS = [
    "recordings.view_recording",
    "recordings.play_recording",
]
ADMINISTRATOR_PERMISSIONS = [
    *model_permissions("recordings", ["recording"]),
    "recordings.play_recording",
    "recordings.download_recording",
    "recordings.monitor_recordings",
]


def forwards(apps, schema_editor):
    grant(apps, CUSTOMER_SERVICE, CUSTOMER_SERVICE_PERMISSIONS)
    grant(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke(apps, CUSTOMER_SERVICE, CUSTOMER_SERVICE_PERMISSIONS)
    revoke(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("recordings", "0001_initial"), ("console", "0003_roles_console_models")]

    operations = [migrations.RunPython(forwards, backwards)]
