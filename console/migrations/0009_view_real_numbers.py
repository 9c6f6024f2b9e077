"""One rule for full real numbers (console.privacy): ``console.view_real_numbers``, held by the
number administrators only; customer service never sees a full number."""

from django.db import migrations

from console.roles import NUMBER_ADMINISTRATOR, grant, revoke

ADMINISTRATOR = ["console.view_real_numbers"]


class Migration(migrations.Migration):
    dependencies = [("console", "0008_audit_export_and_base_url_help")]

    operations = [
        migrations.AlterModelOptions(
            name="auditlog",
            options={
                "ordering": ["-at"],
                "permissions": [
                    (
                        "view_real_numbers",
                        "Can see full real numbers (every view audited)",
                    )
                ],
                "verbose_name": "audit entry",
                "verbose_name_plural": "audit log",
            },
        ),
        migrations.RunPython(
            lambda apps, schema_editor: grant(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR),
            lambda apps, schema_editor: revoke(apps, NUMBER_ADMINISTRATOR, ADMINISTRATOR),
        ),
    ]
