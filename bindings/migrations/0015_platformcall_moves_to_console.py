"""PlatformCall moves to the kernel (console 0010, issue 18): gone from this app's state only.

The table ``bindings_platformcall`` and its rows stay where they are: the console app's model
keeps that table name.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("bindings", "0014_job_leases")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="PlatformCall")],
            database_operations=[],
        )
    ]
