"""Customer service reads calls, events and SMS; administrators also hold tariffs and statements."""

from django.db import migrations

from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR, grant, model_permissions, revoke

CUSTOMER_SERVICE_PERMISSIONS = [
    "billing.view_callrecord",
    "billing.view_callevent",
    "billing.view_smsrecord",
]
ADMINISTRATOR_PERMISSIONS = [
    *CUSTOMER_SERVICE_PERMISSIONS,
    "billing.stop_call",
    *model_permissions("billing", ["tariff"]),
    "billing.view_statement",
    "billing.close_statement",
]


def forwards(apps, schema_editor):
    grant(apps, CUSTOMER_SERVICE, CUSTOMER_SERVICE_PERMISSIONS)
    grant(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke(apps, CUSTOMER_SERVICE, CUSTOMER_SERVICE_PERMISSIONS)
    revoke(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial"), ("console", "0003_roles_console_models")]

    operations = [migrations.RunPython(forwards, backwards)]
