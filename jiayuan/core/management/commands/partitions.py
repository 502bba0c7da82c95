"""``jiayuan partitions``: the day partitions of the append-only tables on PostgreSQL (ADR 0015)."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import connection

from jiayuan.core import partitions


class Command(BaseCommand):
    help = (
        "列出按天分区的表(PostgreSQL), --create 创建今后几天的分区(每日任务 jiayuan purge 也会创建)。"
        " List the day-partitioned tables (PostgreSQL); --create makes the coming days' partitions"
        " (the daily jiayuan purge does too)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--create", action="store_true", help="创建今后几天的分区 / create the coming days")

    def handle(self, *args, **options) -> None:
        if connection.vendor != "postgresql":
            self.stdout.write("not PostgreSQL: plain tables, no partitions")
            return
        if options["create"]:
            for table, created in partitions.ensure_ahead().items():
                self.stdout.write(f"{table}: created {len(created)}")
        for table, spec in partitions.SPECS.items():
            if not partitions.is_partitioned(table):
                self.stdout.write(f"{table}: not partitioned")
                continue
            days = sorted(partitions.partitions(spec))
            with connection.cursor() as cur:
                cur.execute(f"SELECT count(*) FROM {connection.ops.quote_name(spec.default)}")  # noqa: S608
                stragglers = cur.fetchone()[0]
            span = f"{days[0]} … {days[-1]}" if days else "-"
            self.stdout.write(f"{table}: {len(days)} day partitions {span}; {stragglers} rows in {spec.default}")
