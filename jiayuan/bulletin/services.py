"""Writes of the bulletin app: compose, refresh and publish a day's bulletin; notices and their
read receipts. Each runs in one transaction and writes its audit row."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from jiayuan.bulletin.choices import Audience, BulletinStatus, NoticeKind
from jiayuan.bulletin.models import Bulletin, Notice, NoticeRead, PublicChannel
from jiayuan.bulletin.rendering import BULLETIN_LANGUAGE, compose_sections
from jiayuan.core.actors import acting_user
from jiayuan.core.audit import audit_record
from jiayuan.places.models import Building, Compound, Household, Neighbourhood

__all__ = [
    "BulletinExists",
    "bulletin_compose",
    "bulletin_create",
    "bulletin_publish",
    "channel_for",
    "compose_all",
    "notice_create",
    "notice_mark_read",
]

MAX_ARTICLES = 30
MAX_NOTE = 2000


class BulletinExists(Exception):
    """The neighbourhood already has a bulletin for that day (API: 409 ``exists``)."""

    code = "exists"

    def __init__(self, bulletin: Bulletin):
        super().__init__(_("该居民区这一天已有日报"))
        self.bulletin = bulletin


class BulletinPublished(Exception):
    """A published bulletin is frozen (API: 409 ``published``)."""

    code = "published"

    def __init__(self):
        super().__init__(_("日报已发布,内容不再改变"))


def channel_for(neighbourhood: Neighbourhood) -> PublicChannel:
    """The neighbourhood's public link, created the first time a bulletin needs it."""
    channel, _created = PublicChannel.objects.get_or_create(neighbourhood=neighbourhood)
    return channel


def _day_notices(neighbourhood_id: int, day: dt.date, notice_ids=None) -> list[dict]:
    qs = Notice.objects.filter(neighbourhood_id=neighbourhood_id)
    qs = qs.filter(created_at__date=day) if notice_ids is None else qs.filter(id__in=list(notice_ids))
    with translation.override(BULLETIN_LANGUAGE):
        return [
            {
                "id": n.pk,
                "kind": n.kind,
                "kind_label": str(n.get_kind_display()),
                "title": n.title,
                "audience": _audience_text(n),
            }
            for n in qs.prefetch_related("compounds", "buildings").order_by("created_at", "id")
        ]


def _audience_text(notice: Notice) -> str:
    if notice.audience == Audience.COMPOUNDS:
        return "、".join(c.name for c in notice.compounds.all())
    if notice.audience == Audience.BUILDINGS:
        return "、".join(b.name for b in notice.buildings.all())
    return str(Audience.NEIGHBOURHOOD.label)


def _yesterday(bulletin: Bulletin) -> list[dict]:
    day = bulletin.date - dt.timedelta(days=1)
    row = Bulletin.objects.filter(neighbourhood_id=bulletin.neighbourhood_id, date=day).values_list("sections").first()
    return row[0] if row else []


def _fill(bulletin: Bulletin) -> None:
    bulletin.sections = compose_sections(bulletin.neighbourhood, bulletin.date, _yesterday(bulletin))
    bulletin.notices = _day_notices(bulletin.neighbourhood_id, bulletin.date)
    bulletin.composed_at = timezone.now()


@transaction.atomic
def bulletin_create(*, actor, neighbourhood: Neighbourhood, date: dt.date) -> Bulletin:
    """A new draft for the neighbourhood and day, composed now; a second one is ``BulletinExists``."""
    existing = Bulletin.objects.filter(neighbourhood=neighbourhood, date=date).first()
    if existing is not None:
        raise BulletinExists(existing)
    bulletin = Bulletin(neighbourhood=neighbourhood, date=date)
    _fill(bulletin)
    try:
        with transaction.atomic():
            bulletin.save(force_insert=True)
    except IntegrityError as exc:  # a concurrent create won the unique (neighbourhood, date)
        raise BulletinExists(Bulletin.objects.get(neighbourhood=neighbourhood, date=date)) from exc
    channel_for(neighbourhood)
    audit_record(actor=actor, action="bulletin.compose", obj=bulletin, changes={"date": date.isoformat()})
    return bulletin


@transaction.atomic
def bulletin_compose(*, actor, neighbourhood: Neighbourhood, date: dt.date) -> Bulletin:
    """The day's draft composed again from today's data (created if missing); a published
    bulletin is returned unchanged (scheduled composition and the editor's "刷新" both use this)."""
    bulletin = Bulletin.objects.select_for_update().filter(neighbourhood=neighbourhood, date=date).first()
    if bulletin is None:
        try:
            return bulletin_create(actor=actor, neighbourhood=neighbourhood, date=date)
        except BulletinExists as exc:
            return exc.bulletin
    if bulletin.is_published:
        return bulletin
    _fill(bulletin)
    bulletin.save(update_fields=["sections", "notices", "composed_at"])
    audit_record(actor=actor, action="bulletin.compose", obj=bulletin, changes={"date": date.isoformat()})
    return bulletin


@transaction.atomic
def bulletin_publish(*, actor, bulletin: Bulletin, note: str = "", notice_ids=None) -> Bulletin:
    """Freeze the bulletin: its sections composed one last time, the editor's note and the
    chosen notices (the day's by default) stored as they are now; audited."""
    bulletin = Bulletin.objects.select_for_update().select_related("neighbourhood").get(pk=bulletin.pk)
    if bulletin.is_published:
        raise BulletinPublished
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationError({"note": [_("编者按不能超过 %(n)s 字") % {"n": MAX_NOTE}]})
    bulletin.sections = compose_sections(bulletin.neighbourhood, bulletin.date, _yesterday(bulletin))
    bulletin.notices = _day_notices(bulletin.neighbourhood_id, bulletin.date, notice_ids)
    bulletin.note = note
    bulletin.status = BulletinStatus.PUBLISHED
    bulletin.composed_at = bulletin.published_at = timezone.now()
    bulletin.published_by = acting_user(actor)
    bulletin.save()
    channel_for(bulletin.neighbourhood)
    audit_record(
        actor=actor,
        action="bulletin.publish",
        obj=bulletin,
        changes={"date": bulletin.date.isoformat(), "sections": [s["key"] for s in bulletin.sections]},
    )
    return bulletin


def compose_all(*, actor="celery:bulletin_compose", date: dt.date | None = None) -> int:
    """The scheduled composition: every neighbourhood's draft for the day (today by default)."""
    day = date or timezone.localdate()
    n = 0
    for nb in Neighbourhood.objects.order_by("code").iterator():
        bulletin_compose(actor=actor, neighbourhood=nb, date=day)
        n += 1
    return n


def _clean_articles(kind: str, articles) -> list[str]:
    cleaned = [str(a).strip() for a in (articles or []) if str(a).strip()]
    if kind == NoticeKind.CONVENTION and not cleaned:
        raise ValidationError({"articles": [_("居民公约至少要有一条")]})
    if len(cleaned) > MAX_ARTICLES:
        raise ValidationError({"articles": [_("条款不能超过 %(n)s 条") % {"n": MAX_ARTICLES}]})
    if any(len(a) > 500 for a in cleaned):
        raise ValidationError({"articles": [_("每条不能超过 500 字")]})
    return cleaned


@transaction.atomic
def notice_create(
    *,
    actor,
    neighbourhood: Neighbourhood,
    kind: str,
    title: str,
    body: str = "",
    articles=None,
    audience: str = Audience.NEIGHBOURHOOD,
    compounds=(),
    buildings=(),
    requires_ack: bool = False,
) -> Notice:
    """A notice to the neighbourhood, some of its compounds or some of its buildings."""
    if kind not in NoticeKind.values:
        raise ValidationError({"kind": [_("不是可选的类型")]})
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": [_("请填写标题")]})
    articles = _clean_articles(kind, articles)
    if not (body or "").strip() and not articles:
        raise ValidationError({"body": [_("请填写正文")]})
    compounds = list(Compound.objects.filter(neighbourhood=neighbourhood, id__in=[c.pk for c in compounds]))
    buildings = list(Building.objects.filter(neighbourhood=neighbourhood, id__in=[b.pk for b in buildings]))
    if audience == Audience.COMPOUNDS and not compounds:
        raise ValidationError({"audience": [_("请选择小区")]})
    if audience == Audience.BUILDINGS and not buildings:
        raise ValidationError({"audience": [_("请选择楼栋")]})
    notice = Notice(
        neighbourhood=neighbourhood,
        kind=kind,
        title=title,
        body=(body or "").strip(),
        articles=articles,
        audience=audience,
        requires_ack=requires_ack,
        created_by=acting_user(actor),
    )
    notice.full_clean(exclude=["neighbourhood", "created_by"])
    notice.save()
    if audience == Audience.COMPOUNDS:
        notice.compounds.set(compounds)
    elif audience == Audience.BUILDINGS:
        notice.buildings.set(buildings)
    audit_record(
        actor=actor,
        action="bulletin.notice_create",
        obj=notice,
        changes={"kind": kind, "audience": audience, "requires_ack": requires_ack},
    )
    return notice


@transaction.atomic
def notice_mark_read(*, notice: Notice, household: Household) -> bool:
    """The household opened the notice: its receipt, once (True the first time)."""
    _read, created = NoticeRead.objects.get_or_create(notice=notice, household=household)
    if created:
        audit_record(
            actor="household-link",
            action="bulletin.notice_read",
            obj=notice,
            changes={"household": household.pk},
        )
    return created
