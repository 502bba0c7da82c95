"""``jiayuan purge``: delete data past its retention period (run daily, or from Celery beat)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from jiayuan.core.retention import purge


class Command(BaseCommand):
    help = (
        "删除超过保留期限的数据(幂等记录、抗原照片等; 每天运行一次)。"
        " Delete data past its retention period (idempotency records, antigen photos …; run daily)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="只统计, 不删除 / count only, delete nothing")

    def handle(self, *args, **options) -> None:
        dry_run = options["dry_run"]
        removed = purge(actor="purge", dry_run=dry_run)
        verb = "would remove" if dry_run else "removed"
        for name, count in removed.items():
            self.stdout.write(f"{name}: {verb} {count}")
