"""Roster import benchmark: preview and commit of a generated roster (default 100,000 residents).

    python bench/roster_import.py [--rows N] [--keep]

Uses the database the app is configured for (``DATABASE_URL``; SQLite by default), migrated.
Creates a throwaway neighbourhood ``BENCH-<pid>`` with a CSV roster of N residents with valid,
unique mainland ID numbers in about N/2.7 households across about N/140 buildings in two
compounds; times the preview and the commit separately; then deletes what it created unless
``--keep`` (audit events are append-only and stay). The target is a commit of at least 10,000
rows/s on PostgreSQL. Never run by the test suite.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiayuan.settings")

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红梅志强海燕玉兰文博子涵浩然欣怡"
REGIONS = ("310113", "310104", "310110", "310115")  # Shanghai districts: Baoshan, Xuhui, Yangpu, Pudong
TAGS = ("独居老人", "慢病", "无智能手机", "党员", "孕妇", "婴幼儿")
HEADER = [
    "小区",
    "楼号",
    "单元",
    "室号",
    "姓名",
    "性别",
    "身份证号",
    "手机",
    "与户主关系",
    "人员类型",
    "在住状态",
    "标签",
]


def generate_roster(rows: int, seed: int = 2022) -> bytes:
    """A CSV roster as a committee would keep it, GBK-encoded as Excel in China saves it."""
    from stdnum.cn import ric

    rng = random.Random(seed)
    households = max(1, round(rows / 2.7))
    buildings = max(1, round(rows / 140))
    per_building = -(-households // buildings)
    seen_ids: set[str] = set()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    written = index = 0
    while written < rows:
        building_index, slot = divmod(index, per_building)
        compound = ("泰和苑", "红御苑")[building_index % 2]
        unit, position = divmod(slot, 24)
        room = f"{position // 4 + 1}{position % 4 + 1:02d}"
        size = 2 if index % 10 < 3 else 3  # 2.7 residents a household on average
        index += 1
        for member in range(min(size, rows - written)):
            while True:
                birth = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(33000))
                body = f"{rng.choice(REGIONS)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
                number = body + ric.calc_check_digit(body + "?")  # it ignores the last character
                if number not in seen_ids:
                    seen_ids.add(number)
                    break
            writer.writerow(
                [
                    compound,
                    f"{building_index // 2 + 1}号楼",
                    f"{unit + 1}",
                    room,
                    rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(("", *GIVEN)),
                    "男" if int(number[16]) % 2 else "女",
                    number,
                    f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
                    ("户主", "配偶", "子女")[member],
                    "业主" if rng.random() < 0.8 else "租户",
                    "在住",
                    rng.choice(TAGS) if rng.random() < 0.1 else "",
                ]
            )
            written += 1
    return out.getvalue().encode("gb18030")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the bench neighbourhood and its residents")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from jiayuan.people.importer import roster_import
    from jiayuan.people.models import Resident, ResidentTag
    from jiayuan.places.models import Building, Compound, Household, Neighbourhood, Street

    started = time.perf_counter()
    data = generate_roster(args.rows)
    print(f"generated {args.rows:,} rows ({len(data) / 1e6:.1f} MB CSV) in {time.perf_counter() - started:.1f}s")
    street, _ = Street.objects.get_or_create(code="BENCH", defaults={"name": "基准测试街道"})
    code = f"BENCH-{os.getpid()}"
    neighbourhood, _ = Neighbourhood.objects.get_or_create(
        code=code, defaults={"street": street, "name": f"基准测试居民区{os.getpid()}"}
    )
    print(f"database: {connection.vendor}; neighbourhood {code}")

    timings = {}
    for step, commit in (("preview", False), ("commit", True)):
        started = time.perf_counter()
        report = roster_import(
            actor="bench", neighbourhood=neighbourhood, data=data, filename="bench.csv", commit=commit
        )
        timings[step] = time.perf_counter() - started
        if report.errors:
            sys.exit(f"{step}: {len(report.errors)} errors, first: {report.errors[0]}")
        print(
            f"{step:8} {report.rows:,} rows in {timings[step]:.2f}s = {report.rows / timings[step]:,.0f} rows/s"
            f"  created={report.created} updated={report.updated}"
        )
    total = sum(timings.values())
    print(f"total    {total:.2f}s for preview + commit")

    if args.keep:
        print(f"kept neighbourhood {code}")
        return
    ResidentTag.objects.filter(resident__neighbourhood=neighbourhood).delete()
    Resident.objects.filter(neighbourhood=neighbourhood).delete()
    Household.objects.filter(neighbourhood=neighbourhood).delete()
    Building.objects.filter(neighbourhood=neighbourhood).delete()
    Compound.objects.filter(neighbourhood=neighbourhood).delete()
    neighbourhood.delete()
    if not street.neighbourhoods.exists():
        street.delete()
    print(f"deleted neighbourhood {code} and its residents")


if __name__ == "__main__":
    main()
