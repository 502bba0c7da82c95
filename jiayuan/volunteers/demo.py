"""Demo slice of volunteers (``jiayuan demo``, order 40, after control's quarantines).

Six teams by task (testing support requires today's antigen), about twenty resident volunteers
from every building plus two party members working elsewhere (双报到) and the demo login
``volunteer`` (小赵, an outsider who leads the gate team), two applications from households
waiting for review; a week of shifts (three days back, today, three ahead), some short of
people, the past ones worked and checked out (hours), today's gate shift running now with
people on duty. Residents under quarantine are among the volunteers (control's demo puts them
there; when there are none, one is put under home quarantine through control's services), so the
health gate is seen refusing them. Everything goes through the services. Idempotent: a
neighbourhood that already has teams is left alone. Once gates' demo has made the gates,
``load_gate_shift`` (order 55) adds today's gate shift placed at a real gate.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from jiayuan.accounts.models import User
from jiayuan.control import services as control_services
from jiayuan.control.choices import QuarantineStatus
from jiayuan.control.models import Quarantine
from jiayuan.core import extensions
from jiayuan.people.models import Resident
from jiayuan.places.models import Building
from jiayuan.volunteers import services
from jiayuan.volunteers.choices import PlaceKind, Skill, TeamKind, VolunteerStatus
from jiayuan.volunteers.models import Shift, Team

TEAMS = [
    ("核酸检测保障队", TeamKind.TESTING, True),
    ("门岗值守队", TeamKind.GATE, False),
    ("物资配送队", TeamKind.SUPPLIES, False),
    ("巡查队", TeamKind.PATROL, False),
    ("消杀队", TeamKind.DISINFECTION, False),
    ("楼栋服务队", TeamKind.BUILDING, False),
]

# (team index, start, end, place kind, place, needed)
SHIFTS = [
    (0, dt.time(7), dt.time(11), PlaceKind.STATION, "小区广场核酸点", 4),
    (1, dt.time(8), dt.time(14), PlaceKind.GATE, "1号门", 2),
    (1, dt.time(14), dt.time(20), PlaceKind.GATE, "1号门", 2),
    (1, dt.time(20), dt.time(8), PlaceKind.GATE, "1号门", 2),
    (2, dt.time(13), dt.time(17), PlaceKind.ROUTE, "分拣点 → 各楼栋", 3),
    (3, dt.time(19), dt.time(21), PlaceKind.ROUTE, "小区一圈", 2),
    (4, dt.time(9), dt.time(11), PlaceKind.OTHER, "垃圾厢房、电梯、楼道", 2),
]

SKILLS = [[Skill.MEDICAL], [Skill.DRIVING], [Skill.IT], [Skill.DIALECT], [], [Skill.PSYCHOLOGY], []]


def _quarantined(neighbourhood) -> list[Resident]:
    ids = Quarantine.objects.filter(
        neighbourhood=neighbourhood, status=QuarantineStatus.ACTIVE, resident__isnull=False
    ).values_list("resident_id", flat=True)[:2]
    return list(Resident.objects.filter(pk__in=list(ids)).select_related("household"))


def _pick_residents(neighbourhood, skip: set[int], per_building: int = 3) -> list[Resident]:
    out: list[Resident] = []
    for b in Building.objects.filter(neighbourhood=neighbourhood).order_by("compound_id", "sort_key"):
        rows = (
            Resident.objects.filter(household__building=b, birth_date__isnull=False)
            .exclude(pk__in=skip)
            .select_related("household")
            .order_by("household_id", "id")[: per_building * 4 : 4]
        )
        out += list(rows)
    return out


def load(*, neighbourhood, stdout) -> None:
    if Team.objects.filter(neighbourhood=neighbourhood).exists():
        stdout.write("volunteers: demo data already there")
        return
    with transaction.atomic():
        _load(neighbourhood, stdout)


def _load(neighbourhood, stdout) -> None:
    head = User.objects.filter(username="head").first()
    staff = User.objects.filter(username="staff").first() or head
    today = timezone.localdate()
    teams = [
        services.team_create(
            actor=head, neighbourhood=neighbourhood, name=name, kind=kind, requires_antigen_today=antigen
        )
        for name, kind, antigen in TEAMS
    ]
    quarantined = _quarantined(neighbourhood)
    if not quarantined:
        someone = _pick_residents(neighbourhood, set(), per_building=1)[:1]
        for r in someone:
            control_services.quarantine_start(actor=staff, reason="close_contact", resident=r, kind="home")
        quarantined = someone
    residents = _pick_residents(neighbourhood, {r.pk for r in quarantined})[:20]
    volunteers = []
    for n, r in enumerate([*quarantined, *residents]):
        v = services.volunteer_create(
            actor=staff,
            neighbourhood=neighbourhood,
            resident=r,
            skills=SKILLS[n % len(SKILLS)],
            party_member=n % 3 == 0,
            availability="工作日晚上、周末" if n % 2 else "全天",
            commitment_signed=True,
        )
        volunteers.append(v)
    for name, phone, org in (("钱志强", "13601710001", "区税务局"), ("孙丽", "13601710002", "街道社区卫生服务中心")):
        volunteers.append(
            services.volunteer_create(
                actor=staff,
                neighbourhood=neighbourhood,
                name=name,
                phone=phone,
                party_member=True,
                dual_registration_org=org,
                dual_registration_date=today - dt.timedelta(days=20),
                commitment_signed=True,
            )
        )
    zhao = services.volunteer_create(
        actor=staff,
        neighbourhood=neighbourhood,
        name="小赵",
        phone="13601710003",
        skills=[Skill.IT],
        commitment_signed=True,
        note="大学生, 放假在家",
    )
    login = User.objects.filter(username="volunteer").first()
    if login is not None:
        services.volunteer_link_user(actor=head, volunteer=zhao, user=login)
    # Two applications from households, waiting for review.
    for r in _pick_residents(neighbourhood, {v.resident_id for v in volunteers if v.resident_id}, 1)[:2]:
        services.volunteer_create(
            actor=f"household-link:{r.household_id}",
            neighbourhood=neighbourhood,
            resident=r,
            status=VolunteerStatus.APPLIED,
            commitment_signed=True,
        )
    # Teams: every volunteer in one or two teams; the first of each team leads it; 小赵 leads the gate.
    for n, v in enumerate(volunteers):
        services.team_add_member(actor=head, team=teams[n % len(teams)], volunteer=v, is_leader=n < len(teams))
        if n % 4 == 0:
            services.team_add_member(actor=head, team=teams[(n + 1) % len(teams)], volunteer=v)
    services.team_add_member(actor=head, team=teams[1], volunteer=zhao, is_leader=True)
    services.team_add_member(actor=head, team=teams[2], volunteer=zhao)

    now = timezone.now()
    made = refused = 0
    for offset in range(-3, 4):
        day = today + dt.timedelta(days=offset)
        for t_index, start, end, kind, place, needed in SHIFTS:
            team = teams[t_index]
            shift = services.shift_create(
                actor=staff, team=team, date=day, start=start, end=end, needed=needed, place=place, place_kind=kind
            )
            members = [m.volunteer for m in team.memberships.select_related("volunteer").order_by("id")]
            members = [m for m in members if m.pk != zhao.pk]
            # Some shifts stay short of people: a third get one person fewer than needed.
            want = needed - 1 if (offset + t_index) % 3 == 0 else needed
            got = 0
            for k in range(len(members)):
                if got >= want:
                    break
                v = members[(offset * 2 + k) % len(members)]
                try:
                    services.shift_assign(actor=staff, shift=shift, volunteer=v)
                except (services.ShiftRefused, ValidationError):
                    refused += 1
                    continue
                got += 1
                made += 1
                if shift.ends_at <= now:
                    _work(staff, shift, v, shift.starts_at, shift.ends_at)
                elif shift.starts_at <= now:
                    _work(staff, shift, v, shift.starts_at, None)
    # 小赵 (the demo login) has claimed a place on one of today's shifts still to come.
    if login is not None:
        for shift in Shift.objects.filter(team__in=[teams[1], teams[2]], date=today, starts_at__gt=now).order_by(
            "starts_at"
        ):
            try:
                services.shift_claim(actor=login, shift=shift)
            except (services.ShiftRefused, ValidationError):
                continue
            break
    stdout.write(f"volunteers: {len(teams)} teams, {len(volunteers) + 1} volunteers, {made} assignments")


def _work(actor, shift, volunteer, start, end) -> None:
    try:
        services.check_in(actor=actor, shift=shift, volunteer=volunteer, at=start + dt.timedelta(minutes=5))
        if end is not None:
            services.check_out(actor=actor, shift=shift, volunteer=volunteer, at=end)
    except (services.ShiftRefused, ValidationError):
        pass


def load_gate_shift(*, neighbourhood, stdout) -> None:
    """Today's shift of the gate team placed at a real gate (order 55, after gates' demo made the
    gates): three people needed, two on it, one checked in once it started, so the gate's page
    shows who is on duty and the place still short. Idempotent."""
    today = timezone.localdate()
    team = Team.objects.filter(neighbourhood=neighbourhood, kind=TeamKind.GATE).order_by("pk").first()
    gates = extensions.place_choices(PlaceKind.GATE, neighbourhood.pk)
    if team is None or not gates:
        stdout.write("volunteers: no gate team or no gate for the gate shift")
        return
    if Shift.objects.filter(team=team, date=today, place_kind=PlaceKind.GATE).exclude(place_ref="").exists():
        stdout.write("volunteers: the gate shift is already there")
        return
    ref = next((ref for ref, label in gates if "南门" in str(label)), gates[0][0])
    staff = User.objects.filter(username="staff").first() or User.objects.filter(username="head").first()
    with transaction.atomic():
        shift = services.shift_create(
            actor=staff,
            team=team,
            date=today,
            start=dt.time(7),
            end=dt.time(19),
            needed=3,
            place_kind=PlaceKind.GATE,
            place_ref=ref,
        )
        on = []
        for m in team.memberships.select_related("volunteer").order_by("-id"):
            if len(on) >= 2:
                break
            try:
                services.shift_assign(actor=staff, shift=shift, volunteer=m.volunteer)
            except (services.ShiftRefused, ValidationError):
                continue
            on.append(m.volunteer)
        if on and shift.starts_at <= timezone.now() < shift.ends_at:
            _work(staff, shift, on[0], shift.starts_at, None)
    stdout.write(f"volunteers: today's gate shift at {shift.place}, {len(on)}/{shift.needed} on it")
