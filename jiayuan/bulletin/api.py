"""日报与通知 API: bulletins (compose a draft, publish it), notices and their unread households,
the street/district roll-up.

A second bulletin for the same neighbourhood and day is a 409 ``exists``; publishing a published
one a 409 ``published``. Writes accept an ``idempotency_key`` (a retry answers as the first did).
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import Field

from jiayuan.bulletin import dashboards, links, selectors, services
from jiayuan.bulletin.choices import Audience, NoticeKind
from jiayuan.core.api import Day, Id, Pagination, answers
from jiayuan.core.idempotency import run_idempotent
from jiayuan.core.permissions import Action
from jiayuan.core.replicas import replica_reads
from jiayuan.core.scoping import get_scoped_or_404, restrict
from jiayuan.places.models import Building, Compound, Neighbourhood

router = Router(tags=["bulletin"])


class FigureOut(Schema):
    label: str
    place: str = ""
    unit: str = ""
    value: float | None = Field(None, description="今日数值;人数少于阈值时为 null(显示为“少量”)")
    previous: float | None = Field(None, description="昨日数值")
    display: str
    change: str = Field("", description="较昨日变化(+2 / −1 / 持平);不可比时为空")


class SectionOut(Schema):
    key: str
    title: str
    text: str
    figures: dict[str, FigureOut]
    lines: list[str]


class NoticeRefOut(Schema):
    id: int
    kind: str
    kind_label: str
    title: str
    audience: str


class BulletinOut(Schema):
    id: int
    neighbourhood: int
    date: dt.date
    status: str
    note: str
    sections: list[SectionOut]
    notices: list[NoticeRefOut]
    published_at: dt.datetime | None
    public_url: str | None
    image_url: str | None
    print_url: str | None


def _bulletin_out(request, bulletin) -> dict:
    return {
        "id": bulletin.pk,
        "neighbourhood": bulletin.neighbourhood_id,
        "date": bulletin.date.isoformat(),
        "status": bulletin.status,
        "note": bulletin.note,
        "sections": [{**s, "figures": {f["key"]: f for f in s["figures"]}} for s in bulletin.sections],
        "notices": bulletin.notices,
        "published_at": bulletin.published_at.isoformat() if bulletin.published_at else None,
        **links.bulletin_urls(request, bulletin),
    }


def _exists(exc) -> tuple[int, dict]:
    return 409, {"detail": str(exc), "code": exc.code, "errors": []}


class BulletinIn(Schema):
    neighbourhood: Id
    date: Day | None = Field(None, description="默认今天")
    idempotency_key: str = Field("", max_length=200)


@router.post("/bulletins", response=answers({201: BulletinOut}, 403, 404, 409), summary="生成当日日报草稿")
def bulletin_create(request, payload: BulletinIn):
    user = request.auth
    nb = get_scoped_or_404(Neighbourhood.objects.all(), user, Action.EDIT_BULLETIN, pk=payload.neighbourhood)
    day = payload.date or timezone.localdate()

    def run():
        try:
            bulletin = services.bulletin_create(actor=user, neighbourhood=nb, date=day)
        except services.BulletinExists as exc:
            return _exists(exc)
        return 201, _bulletin_out(request, bulletin)

    return Status(*run_idempotent(scope=f"bulletin.create:{user.pk}", key=payload.idempotency_key, fn=run))


class PublishIn(Schema):
    note: str = Field("", max_length=services.MAX_NOTE, description="编者按")
    notices: list[Id] | None = Field(None, max_length=50, description="随日报发布的通知 id;默认当天发布的通知")
    idempotency_key: str = Field("", max_length=200)


@router.post(
    "/bulletins/{bulletin_id}/publish", response=answers({200: BulletinOut}, 403, 404, 409), summary="发布日报"
)
def bulletin_publish(request, bulletin_id: Id, payload: PublishIn):
    user = request.auth
    bulletin = selectors.bulletin_get(user=user, bulletin_id=bulletin_id)

    def run():
        try:
            published = services.bulletin_publish(
                actor=user, bulletin=bulletin, note=payload.note, notice_ids=payload.notices
            )
        except services.BulletinPublished as exc:
            return _exists(exc)
        return 200, _bulletin_out(request, published)

    return Status(*run_idempotent(scope=f"bulletin.publish:{user.pk}", key=payload.idempotency_key, fn=run))


class BulletinFilters(Schema):
    neighbourhood: Id | None = None
    date: Day | None = None


@router.get("/bulletins", response=answers(list[BulletinOut]), summary="日报列表")
@paginate(Pagination)
def bulletin_list(request, filters: Query[BulletinFilters]):
    qs = selectors.bulletin_list(user=request.auth, neighbourhood_id=filters.neighbourhood, date=filters.date)
    return _Mapped(qs, lambda b: _bulletin_out(request, b))


class _Mapped:
    """A queryset sliced by the paginator, each row turned into the answer's dict."""

    def __init__(self, qs, fn):
        self.qs, self.fn = qs, fn

    def count(self) -> int:
        return self.qs.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item):
        return [self.fn(b) for b in self.qs[item]]


# --- Notices -------------------------------------------------------------------------------------


class AudienceIn(Schema):
    neighbourhood: Id | None = Field(None, description="全居民区")
    compounds: list[Id] | None = Field(None, max_length=200, description="指定小区")
    buildings: list[Id] | None = Field(None, max_length=500, description="指定楼栋")


class NoticeIn(Schema):
    kind: NoticeKind = NoticeKind.NOTICE
    title: str = Field(..., min_length=1, max_length=100)
    body: str = Field("", max_length=20000)
    articles: list[str] = Field([], max_length=services.MAX_ARTICLES, description="居民公约的条款")
    audience: AudienceIn
    requires_ack: bool = False
    idempotency_key: str = Field("", max_length=200)


class AudienceOut(Schema):
    neighbourhood: int | None = None
    compounds: list[int] | None = None
    buildings: list[int] | None = None


class NoticeOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    articles: list[str]
    audience: AudienceOut
    requires_ack: bool
    created_at: dt.datetime
    public_url: str | None


def _notice_out(request, notice) -> dict:
    audience = {"neighbourhood": notice.neighbourhood_id}
    if notice.audience == Audience.COMPOUNDS:
        audience = {"compounds": sorted(notice.compounds.values_list("id", flat=True))}
    elif notice.audience == Audience.BUILDINGS:
        audience = {"buildings": sorted(notice.buildings.values_list("id", flat=True))}
    return {
        "id": notice.pk,
        "kind": notice.kind,
        "title": notice.title,
        "body": notice.body,
        "articles": notice.articles,
        "audience": audience,
        "requires_ack": notice.requires_ack,
        "created_at": notice.created_at.isoformat(),
        "public_url": links.notice_public_url(request, notice),
    }


def _audience(user, audience: AudienceIn) -> tuple[Neighbourhood, str, list, list]:
    """The neighbourhood and places the notice goes to, each through the user's MANAGE_NOTICES
    scope (outside it: 404); compounds or buildings of two neighbourhoods are refused (422)."""
    from django.core.exceptions import ValidationError
    from django.http import Http404

    chosen = [k for k in ("neighbourhood", "compounds", "buildings") if getattr(audience, k)]
    if len(chosen) != 1:
        raise ValidationError({"audience": ["请只选择一种对象:neighbourhood、compounds 或 buildings"]})
    if audience.neighbourhood:
        nb = get_scoped_or_404(Neighbourhood.objects.all(), user, Action.MANAGE_NOTICES, pk=audience.neighbourhood)
        return nb, Audience.NEIGHBOURHOOD, [], []
    model, ids = (Compound, audience.compounds) if audience.compounds else (Building, audience.buildings)
    places = list(restrict(model.objects.filter(id__in=set(ids)), user, Action.MANAGE_NOTICES))
    if len(places) != len(set(ids)):
        raise Http404
    nb_ids = {p.neighbourhood_id for p in places}
    if len(nb_ids) != 1:
        raise ValidationError({"audience": ["所选地点须属于同一个居民区"]})
    nb = Neighbourhood.objects.get(pk=nb_ids.pop())
    if model is Compound:
        return nb, Audience.COMPOUNDS, places, []
    return nb, Audience.BUILDINGS, [], places


@router.post("/notices", response=answers({201: NoticeOut}, 403, 404), summary="发布通知、倡议书或居民公约")
def notice_create(request, payload: NoticeIn):
    user = request.auth
    nb, audience, compounds, buildings = _audience(user, payload.audience)

    def run():
        with transaction.atomic():
            notice = services.notice_create(
                actor=user,
                neighbourhood=nb,
                kind=payload.kind,
                title=payload.title,
                body=payload.body,
                articles=payload.articles,
                audience=audience,
                compounds=compounds,
                buildings=buildings,
                requires_ack=payload.requires_ack,
            )
            services.channel_for(nb)
        return 201, _notice_out(request, notice)

    return Status(*run_idempotent(scope=f"bulletin.notice:{user.pk}", key=payload.idempotency_key, fn=run))


class UnreadOut(Schema):
    id: int
    building_id: int
    building: str
    unit: str
    room: str
    label: str


@router.get("/notices/{notice_id}/unread", response=answers(list[UnreadOut], 404), summary="未读住户")
@paginate(Pagination)
def notice_unread(request, notice_id: Id):
    notice = selectors.notice_get(user=request.auth, notice_id=notice_id, action=Action.VIEW_ROSTER)
    qs = selectors.notice_unread_households(user=request.auth, notice=notice)
    return _Mapped(
        qs,
        lambda h: {
            "id": h.pk,
            "building_id": h.building_id,
            "building": h.building.name,
            "unit": h.unit,
            "room": h.room,
            "label": h.label,
        },
    )


# --- Roll-up -------------------------------------------------------------------------------------


class RollupOut(Schema):
    neighbourhood_id: int
    name: str
    street_id: int
    street: str
    residents: int = 0
    present: int = 0
    cases_new: int = 0
    sealed_buildings: int = 0
    sampled_today: int = 0
    antigen_reported_today: int = 0
    columns: dict[str, int] = Field(description="每一列(含后续应用登记的列),键为列名")


class RollupFilters(Schema):
    date: Day | None = Field(None, description="默认今天")


@router.get("/rollup", response=answers(list[RollupOut]), summary="街道/区汇总(仅数字)")
@paginate(Pagination)
def rollup(request, filters: Query[RollupFilters]):
    with replica_reads():
        rows = dashboards.rollup(user=request.auth, day=filters.date)
    return [
        {
            "neighbourhood_id": r.neighbourhood_id,
            "name": r.name,
            "street_id": r.street_id,
            "street": r.street,
            **r.values,
            "columns": r.values,
        }
        for r in rows
    ]
