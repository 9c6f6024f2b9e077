"""CDRs keep no database constraint to their application (issue 19).

Its check ran once per CDR at the push's commit: fifty lookups and row locks of the same
application a push, about a tenth of PostgreSQL's CPU for it. The push's Delivery, inserted in the
same transaction, keeps its constraint to the same application (see ``CallRecord.application``).
On the partitioned table, dropping it on the parent drops it on every partition.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0011_partition_history"),
        ("console", "0028_delivery_body_lz4"),
    ]

    operations = [
        migrations.AlterField(
            model_name="callrecord",
            name="application",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="call_records",
                to="console.application",
                verbose_name="application",
            ),
        ),
    ]
