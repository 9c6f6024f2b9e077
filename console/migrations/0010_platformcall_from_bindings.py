"""PlatformCall comes from the bindings app (issue 18): the logged gateway is the kernel's now.

Nothing in the database moves: the model keeps its table (``bindings_platformcall``), its rows
and its indexes. Its content type is renamed to this app, so that its permissions (and the roles
that hold them, and the audit rows that name them) follow it: ``bindings.view_platformcall``
becomes ``console.view_platformcall`` with the same permission row.
"""

import django.db.models.deletion
from django.db import migrations, models


def move_content_type(apps, from_label: str, to_label: str) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    moving = content_type.objects.filter(app_label=from_label, model="platformcall").first()
    if moving is None:
        return  # never migrated with the model in the other app: post_migrate makes a new one
    # One made meanwhile for the new label (by a grant in between) holds no role yet: drop it.
    content_type.objects.filter(app_label=to_label, model="platformcall").delete()
    moving.app_label = to_label
    moving.save(update_fields=["app_label"])


def forwards(apps, schema_editor):
    move_content_type(apps, "bindings", "console")


def backwards(apps, schema_editor):
    move_content_type(apps, "console", "bindings")


class Migration(migrations.Migration):
    dependencies = [
        ("bindings", "0015_platformcall_moves_to_console"),
        ("console", "0009_view_real_numbers"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PlatformCall",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("at", models.DateTimeField(auto_now_add=True, db_index=True, verbose_name="when")),
                        ("interface", models.CharField(db_index=True, max_length=48, verbose_name="interface")),
                        ("method", models.CharField(max_length=8, verbose_name="method")),
                        (
                            "http_status",
                            models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="HTTP status"),
                        ),
                        (
                            "result_code",
                            models.CharField(blank=True, db_index=True, max_length=32, verbose_name="result code"),
                        ),
                        ("result_desc", models.CharField(blank=True, max_length=256, verbose_name="result")),
                        ("latency_ms", models.PositiveIntegerField(blank=True, null=True, verbose_name="latency (ms)")),
                        ("error", models.TextField(blank=True, verbose_name="error")),
                        (
                            "application",
                            models.ForeignKey(
                                db_index=False,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="platform_calls",
                                to="console.application",
                                verbose_name="application",
                            ),
                        ),
                        (
                            "binding",
                            models.ForeignKey(
                                blank=True,
                                db_index=False,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="platform_calls",
                                to="bindings.binding",
                                verbose_name="binding",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "platform call",
                        "verbose_name_plural": "platform calls",
                        "db_table": "bindings_platformcall",
                        "ordering": ["-at"],
                        "indexes": [
                            models.Index(fields=["application", "-at"], name="platformcall_app_recent"),
                            models.Index(fields=["binding", "-at"], name="platformcall_binding"),
                        ],
                    },
                )
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards),
    ]
