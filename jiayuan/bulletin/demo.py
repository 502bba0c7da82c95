"""Demo slice of the bulletin for the demo neighbourhood (``jiayuan demo``, order 90, after every
app's data): the residents' convention (居民公约, eight articles), an appeal to one building that
asks each household to acknowledge it, and the published bulletins of the last 7 days (today's
is left as a draft for the head to publish). Idempotent: a neighbourhood that already has the
convention is left alone."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from jiayuan.bulletin import services
from jiayuan.bulletin.choices import Audience, NoticeKind
from jiayuan.bulletin.models import Notice
from jiayuan.places.models import Building

CONVENTION_TITLE = "居民公约(封控期间)"
CONVENTION = [
    "足不出户,非必要不下楼,不串门、不聚集。",
    "按通知分批下楼核酸,保持两米间距,全程佩戴口罩。",
    "每天按时上报抗原结果,如实报告身体异常。",
    "团购物资在门口消杀、静置后再取,包装统一投放。",
    "垃圾扎紧袋口放在门口,等待统一收运。",
    "邻里互助,关心独居老人,有困难先找楼组长。",
    "不信谣、不传谣,以居委会和业委会发布的日报为准。",
    "感谢每一位志愿者,有余力的居民欢迎报名参与。",
]


def load(*, neighbourhood, stdout) -> None:
    if Notice.objects.filter(neighbourhood=neighbourhood, kind=NoticeKind.CONVENTION).exists():
        stdout.write("bulletin: demo data already there")
        return
    with transaction.atomic():
        services.notice_create(
            actor="demo",
            neighbourhood=neighbourhood,
            kind=NoticeKind.CONVENTION,
            title=CONVENTION_TITLE,
            body="经各楼组长征求意见,全体居民共同约定:",
            articles=CONVENTION,
        )
        building = Building.objects.filter(neighbourhood=neighbourhood).order_by("compound_id", "sort_key").first()
        if building is not None:
            services.notice_create(
                actor="demo",
                neighbourhood=neighbourhood,
                kind=NoticeKind.APPEAL,
                title=f"{building.name}核酸检测倡议书",
                body="请本楼居民明早七点按楼层分批下楼核酸,行动不便的请告诉楼组长,安排上门采样。看完请点开本通知,算作已读。",
                audience=Audience.BUILDINGS,
                buildings=[building],
                requires_ack=True,
            )
        today = timezone.localdate()
        for back in range(7, 0, -1):
            day = today - dt.timedelta(days=back)
            bulletin = services.bulletin_compose(actor="demo", neighbourhood=neighbourhood, date=day)
            if not bulletin.is_published:
                services.bulletin_publish(actor="demo", bulletin=bulletin, note="感谢全体志愿者和居民的配合。")
        services.bulletin_compose(actor="demo", neighbourhood=neighbourhood, date=today)
    stdout.write("bulletin: convention, an appeal and the last 7 days' bulletins published")
