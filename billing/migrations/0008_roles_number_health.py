"""Number administrators read the number-health figures and enter complaints (issue 16)."""

from django.db import migrations

from console.roles import NUMBER_ADMINISTRATOR, grant, model_permissions, revoke

ADMINISTRATOR_PERMISSIONS = [
    *model_permissions("billing", ["numbercomplaint"]),
    "billing.view_numberhealth",
]


def forwards(apps, schema_editor):
    grant(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("billing", "0007_number_health")]

    operations = [migrations.RunPython(forwards, backwards)]
