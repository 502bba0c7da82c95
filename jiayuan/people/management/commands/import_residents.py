"""``jiayuan import-residents FILE --neighbourhood CODE [--commit] [--json]``: roster import from a shell.

Without ``--commit`` the file is only checked. Exit status: 0 when no row has an error (and,
with ``--commit``, everything was written); 1 when rows have errors (nothing written); 2 for a
usage error (unknown neighbourhood, unreadable file, unsupported format, no header row).
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jiayuan.people import normalize
from jiayuan.people.importer import ImportFileError, ImportReport, roster_import
from jiayuan.places.models import Neighbourhood

USAGE_ERROR = 2


class Command(BaseCommand):
    help = "导入居民名单(.xlsx 或 .csv)。默认只检查、不写入;加 --commit 才写入。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="名单文件(.xlsx 或 .csv)")
        parser.add_argument("--neighbourhood", required=True, help="居民区编码")
        parser.add_argument("--commit", action="store_true", help="检查无误后写入数据库")
        parser.add_argument("--json", action="store_true", dest="as_json", help="以一个 JSON 对象输出结果")

    def handle(self, *args, file: str, neighbourhood: str, commit: bool, as_json: bool, **options) -> None:
        code = normalize.clean_text(neighbourhood).upper()
        target = Neighbourhood.objects.filter(code=code).first()
        if target is None:
            raise CommandError(f"没有编码为 {code} 的居民区", returncode=USAGE_ERROR)
        path = Path(file)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise CommandError(f"找不到文件 {file}", returncode=USAGE_ERROR) from exc
        except OSError as exc:
            raise CommandError(f"无法读取文件 {file}:{exc.strerror}", returncode=USAGE_ERROR) from exc
        try:
            report = roster_import(
                actor=f"cli:{getpass.getuser()}",
                neighbourhood=target,
                data=data,
                filename=path.name,
                commit=commit,
                progress=self._progress if self.stderr.isatty() else None,
            )
        except ImportFileError as exc:
            raise CommandError(str(exc), returncode=USAGE_ERROR) from exc

        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
        else:
            self._summary(report)
        if report.errors:
            # Not a CommandError: that would add a line to the output a script has to parse.
            sys.exit(1)

    def _progress(self, done: int, total: int) -> None:
        self.stderr.write(f"\r已处理 {done * 100 // max(total, 1)}%", ending="\n" if done >= total else "")

    def _summary(self, report: ImportReport) -> None:
        created = report.created
        verb = "已" if report.committed else "将"
        self.stdout.write(f"共 {report.rows} 行:无误 {report.valid} 行,有误 {report.rows - report.valid} 行。")
        self.stdout.write(
            f"{verb}新建小区 {created['compounds']} 个、楼栋 {created['buildings']} 栋、"
            f"住户 {created['households']} 户、居民 {created['residents']} 人;{verb}更新居民 {report.updated} 人。"
        )
        if report.new_buildings:
            self.stdout.write(f"新楼栋:{'、'.join(report.new_buildings)}")
        for error in report.errors:
            column = f"[{error.column}] " if error.column else ""
            self.stdout.write(f"  第{error.row}行 {column}{error.message}")
        if report.errors:
            self.stdout.write(self.style.ERROR("有错误,未写入任何数据。请改正后重新导入。"))
        elif report.committed:
            self.stdout.write(self.style.SUCCESS("导入完成。"))
        else:
            self.stdout.write(self.style.SUCCESS("检查通过。加 --commit 写入数据库。"))
