"""Customer service views, creates and ends bindings; administrators hold everything in bindings."""

from django.db import migrations

from console.roles import CUSTOMER_SERVICE, NUMBER_ADMINISTRATOR, grant, model_permissions, revoke

CUSTOMER_SERVICE_PERMISSIONS = [
    "bindings.view_binding",
    "bindings.add_binding",
    "bindings.end_binding",
]
ADMINISTRATOR_PERMISSIONS = [
    *model_permissions("bindings", ["binding", "xnumber"]),
    "bindings.view_platformcall",
    "bindings.end_binding",
    "bindings.reveal_number",
]


def forwards(apps, schema_editor):
    grant(apps, CUSTOMER_SERVICE, CUSTOMER_SERVICE_PERMISSIONS)
    grant(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke(apps, CUSTOMER_SERVICE, CUSTOMER_SERVICE_PERMISSIONS)
    revoke(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("bindings", "0001_initial"), ("console", "0003_roles_console_models")]

    operations = [migrations.RunPython(forwards, backwards)]
