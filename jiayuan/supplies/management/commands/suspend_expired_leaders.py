"""``jiayuan suspend_expired_leaders``: run daily; records the suspension of every approved
group-buy leader whose permit or licence has expired (audited)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from jiayuan.supplies.services import leaders_suspend_expired


class Command(BaseCommand):
    help = "暂停证件已过期的团长(每天运行)。Suspend group-buy leaders whose documents have expired (run daily)."

    def handle(self, *args, **options) -> None:
        ids = leaders_suspend_expired(actor="system:suspend_expired_leaders")
        self.stdout.write(f"suspended {len(ids)} leader(s)")
