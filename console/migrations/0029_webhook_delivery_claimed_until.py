"""A webhook delivery remembers the lease of the worker that claimed it (``claimed_until``): a
late copy of its task can no longer claim it while that worker is sending it."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0028_delivery_body_lz4"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhookdelivery",
            name="claimed_until",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="claimed until"
            ),
        ),
    ]
