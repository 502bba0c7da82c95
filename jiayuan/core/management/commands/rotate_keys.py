"""``jiayuan rotate-keys``: re-encrypt stored ID numbers and phones under the first key."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from jiayuan.core.crypto import DecryptionError
from jiayuan.core.key_rotation import rotate_stored_values


class Command(BaseCommand):
    help = (
        "用 JIAYUAN_FIELD_KEYS 的第一个密钥重新加密已存的证件号、电话(更换密钥后运行)。"
        " Re-encrypt stored personal data under the first key of JIAYUAN_FIELD_KEYS (after adding a key)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="只统计 / count only")

    def handle(self, *args, **options) -> None:
        dry_run = options["dry_run"]
        try:
            counts = rotate_stored_values(actor="rotate-keys", dry_run=dry_run)
        except DecryptionError as exc:
            raise CommandError(
                "有数据无法用现有任何密钥解密, 请把旧密钥加回 JIAYUAN_FIELD_KEYS 后重试。"
                " A stored value opens with none of the configured keys: put the old key back and run again."
            ) from exc
        verb = "to re-encrypt" if dry_run else "re-encrypted"
        for name, n in counts.items():
            self.stdout.write(f"{name}: {n} {verb}")
        total = sum(counts.values())
        done = "" if dry_run else "; every stored value is now under the first key: the old keys can be removed"
        self.stdout.write(f"total: {total} {verb}{done}")
