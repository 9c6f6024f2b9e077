"""``bindings.reveal_number`` gives way to the console-wide ``console.view_real_numbers``
(console.privacy), which administrators hold from console 0007: the old permission is removed."""

from django.db import migrations


def remove_reveal_number(apps, schema_editor):
    permission = apps.get_model("auth", "Permission")
    permission.objects.filter(
        content_type__app_label="bindings", codename="reveal_number"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("bindings", "0011_bulkjob_language"),
        ("console", "0009_view_real_numbers"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="binding",
            options={
                "ordering": ["-created_at"],
                "permissions": [("end_binding", "Can end bindings")],
                "verbose_name": "binding",
                "verbose_name_plural": "bindings",
            },
        ),
        migrations.RunPython(remove_reveal_number, migrations.RunPython.noop),
    ]
