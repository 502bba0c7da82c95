"""Samples and antigen reports partitioned by day on PostgreSQL (ADR 0015).

- ``Sample.day``: the round's date, the samples' partition key; the unique ``(round, resident,
  is_retest)`` becomes ``(round, resident, is_retest, day)`` (the same rule: a round has one date).
- ``Retest``'s links into samples and antigen reports lose their database foreign keys (a
  partitioned table's ``id`` alone is not unique in the database): Django's ``on_delete`` still
  applies, and dropping a partition clears them first (``core.partitions``).
- On PostgreSQL only, both tables become partitioned tables (``core.partitions.convert``):
  samples by ``day``, antigen reports by ``date``. SQLite keeps plain tables.
"""

import django.db.models.deletion
from django.db import migrations, models

BACKFILL = (
    "UPDATE screening_sample SET day = "
    "(SELECT r.date FROM screening_round r WHERE r.id = screening_sample.round_id)"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from jiayuan.core import partitions

    partitions.convert(schema_editor, partitions.SPECS["screening_sample"])
    partitions.convert(schema_editor, partitions.SPECS["screening_antigenreport"])


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from jiayuan.core import partitions

    partitions.revert(schema_editor, partitions.SPECS["screening_antigenreport"])
    partitions.revert(schema_editor, partitions.SPECS["screening_sample"])


class Migration(migrations.Migration):

    dependencies = [
        ("screening", "0002_antigen_retests_and_confirmation"),
    ]

    operations = [
        migrations.AlterField(
            model_name="retest",
            name="sample",
            field=models.OneToOneField(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="retest", to="screening.sample"),
        ),
        migrations.AlterField(
            model_name="retest",
            name="retest_sample",
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="screening.sample"),
        ),
        migrations.AlterField(
            model_name="retest",
            name="antigen_report",
            field=models.OneToOneField(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="retest", to="screening.antigenreport"),
        ),
        migrations.AddField(
            model_name="sample",
            name="day",
            field=models.DateField(editable=False, null=True, verbose_name="轮次日期"),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="sample",
            name="day",
            field=models.DateField(editable=False, verbose_name="轮次日期"),
        ),
        migrations.RemoveConstraint(
            model_name="sample",
            name="sample_unique_round_resident",
        ),
        migrations.AddConstraint(
            model_name="sample",
            constraint=models.UniqueConstraint(fields=("round", "resident", "is_retest", "day"), name="sample_unique_round_resident", violation_error_message="该居民本轮已采样"),
        ),
        migrations.RunPython(forwards, backwards),
    ]
