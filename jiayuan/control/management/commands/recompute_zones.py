"""``jiayuan recompute_zones``: the daily zone-level step-down (run after midnight, or from Celery beat)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from jiayuan.control.zones import zone_recompute


class Command(BaseCommand):
    help = (
        "重新计算所有楼栋和小区的分区等级(每天凌晨运行一次)。"
        " Recompute every building's and compound's zone level (run daily)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--neighbourhood", type=int, action="append", help="居民区 id (可重复; 默认全部)")

    def handle(self, *args, **options) -> None:
        result = zone_recompute(actor="recompute_zones", neighbourhood_ids=options.get("neighbourhood"))
        self.stdout.write(
            f"changed buildings={len(result.building_ids)} compounds={len(result.compound_ids)} "
            f"expired overrides={result.expired_overrides}"
        )
