"""Gate passages partitioned by ``day`` on PostgreSQL (ADR 0015, ``core.partitions``).

The passage log is insert-only and already keys its retries by ``(gate, day, idempotency_key)``,
so the partition key is in its unique index; the primary key becomes ``(id, day)`` in the
database (Django still sees ``id``). Nothing points at passages with a foreign key. SQLite keeps
a plain table: nothing runs there, and Django's model state does not change.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from jiayuan.core import partitions

    partitions.convert(schema_editor, partitions.SPECS["gates_gatepassage"])


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from jiayuan.core import partitions

    partitions.revert(schema_editor, partitions.SPECS["gates_gatepassage"])


class Migration(migrations.Migration):
    dependencies = [("gates", "0001_initial"), ("core", "0004_partition_by_day")]
    operations = [migrations.RunPython(forwards, backwards)]
