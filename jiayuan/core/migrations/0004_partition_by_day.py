"""On PostgreSQL, audit events and idempotency records partitioned by day (ADR 0015).

Django's model state does not change: the tables keep their columns and Django still sees ``id``
as the primary key. In the database the primary key becomes ``(id, <partition key>)``; the
idempotency record gains a ``day`` column only PostgreSQL knows (the local date of the insert,
its DEFAULT), so its unique ``(scope, key)`` becomes ``(scope, key, day)``. The audit table's
trigger is created again on the partitioned table (PostgreSQL clones it onto every partition):
UPDATE and DELETE stay refused. SQLite keeps plain tables: nothing runs there.
"""

from django.db import migrations

TRIGGER = """
CREATE TRIGGER core_auditevent_append_only
    BEFORE UPDATE OR DELETE ON core_auditevent
    FOR EACH ROW EXECUTE FUNCTION core_auditevent_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from jiayuan.core import partitions

    partitions.convert(schema_editor, partitions.SPECS["core_auditevent"])
    schema_editor.execute(TRIGGER)
    partitions.convert(schema_editor, partitions.SPECS["core_idempotencyrecord"])


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from jiayuan.core import partitions

    partitions.revert(schema_editor, partitions.SPECS["core_idempotencyrecord"])
    partitions.revert(schema_editor, partitions.SPECS["core_auditevent"])
    schema_editor.execute(TRIGGER)


class Migration(migrations.Migration):
    dependencies = [("core", "0003_idempotency_record")]
    operations = [migrations.RunPython(forwards, backwards)]
