"""Number administrators keep the tone-file catalog, the blacklist, the A-number register and the
applications' policies (issue 16)."""

from django.db import migrations

from console.roles import NUMBER_ADMINISTRATOR, grant, model_permissions, revoke

ADMINISTRATOR_PERMISSIONS = model_permissions(
    "bindings", ["voicefile", "blacklistentry", "anumberregistration", "applicationpolicy"]
)


def forwards(apps, schema_editor):
    grant(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("bindings", "0017_safeguards_and_resting")]

    operations = [migrations.RunPython(forwards, backwards)]
