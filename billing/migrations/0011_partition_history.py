"""CDRs, call events and SMS records partitioned by month on PostgreSQL (issue 20).

Each table is rebuilt as a partitioned one with every row, id, constraint and index it had
(``console.partitions.convert``); on SQLite nothing changes. It runs after the natural keys took
the partition key (0010) and after recordings dropped its foreign key to the CDRs.
"""

from django.db import migrations

from console import partitions

# (table, partition key): the tables as this migration knows them, not as the models may later be.
TABLES = (
    ("billing_callrecord", "started_at"),
    ("billing_callevent", "timestamp"),
    ("billing_smsrecord", "time_stamp"),
)


def partition(apps, schema_editor) -> None:
    for table, column in TABLES:
        partitions.convert(partitions.Monthly(table, column), schema_editor.connection)


def unpartition(apps, schema_editor) -> None:
    for table, column in TABLES:
        partitions.revert(partitions.Monthly(table, column), schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0010_history_natural_keys"),
        ("recordings", "0005_call_record_without_constraint"),
    ]

    operations = [migrations.RunPython(partition, unpartition, elidable=False)]
