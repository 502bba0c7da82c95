"""Shipped quarantine-policy presets (Shanghai 2020 and 2022) and zone-setting defaults.

A preset is plain data; ``services.policy_apply_preset`` writes it into a neighbourhood's policy
table, which the committee head may then edit row by row. A neighbourhood that never applied a
preset uses ``DEFAULT_PRESET`` (unsaved rows) so quarantines can always be planned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from jiayuan.control.choices import QuarantineKind as K
from jiayuan.control.choices import QuarantineReason as R
from jiayuan.control.choices import ZoneUnit

__all__ = ["DEFAULT_PRESET", "PRESETS", "PolicyRow", "Preset"]


@dataclass(frozen=True)
class PolicyRow:
    reason: str
    kind: str
    days: int
    followup_kind: str = ""
    followup_days: int = 0
    test_days: tuple[int, ...] = ()
    note: str = ""
    whole_household: bool = False


@dataclass(frozen=True)
class Preset:
    code: str
    label: object
    description: object
    rows: tuple[PolicyRow, ...]
    zone_unit: str = ZoneUnit.BUILDING
    sealed_days: int = 7
    controlled_days: int = 14
    extra: dict = field(default_factory=dict)


SHANGHAI_2020 = Preset(
    code="shanghai_2020",
    label=_("上海 2020"),
    description=_("2020年: 中高风险地区返沪居家隔离14天, 境外回沪集中隔离14天, 密接集中隔离医学观察14天。"),
    rows=(
        PolicyRow(R.CLOSE_CONTACT, K.CENTRALISED, 14, test_days=(1, 14), note="集中隔离医学观察14天"),
        PolicyRow(R.SECONDARY_CONTACT, K.HOME, 14, test_days=(14,), note="居家隔离14天"),
        PolicyRow(R.RETURNEE_RISK_AREA, K.HOME, 14, test_days=(14,), note="重点地区返沪居家隔离14天"),
        PolicyRow(R.ARRIVAL_ABROAD, K.CENTRALISED, 14, test_days=(1, 14), note="境外回沪集中隔离14天"),
        PolicyRow(R.POSITIVE_POOL, K.HOME, 2, note="混管阳性, 居家等待单管复核"),
        PolicyRow(
            R.ANTIGEN_POSITIVE,
            K.HOME,
            2,
            note="抗原自测阳性, 本人及同住人居家等待核酸复核",
            whole_household=True,
        ),
        PolicyRow(R.OTHER, K.HOME_MONITORING, 14, note="居家健康监测14天"),
    ),
)

SHANGHAI_2022 = Preset(
    code="shanghai_2022",
    label=_("上海 2022"),
    description=_(
        "2022年(第九版方案): 密接、境外回沪 7天集中隔离 + 3天居家健康监测, 次密接7天居家隔离, "
        "中高风险地区返沪7天居家隔离, 并在规定日完成核酸检测。"
    ),
    rows=(
        PolicyRow(
            R.CLOSE_CONTACT,
            K.CENTRALISED,
            7,
            K.HOME_MONITORING,
            3,
            test_days=(1, 2, 3, 5, 7, 10),
            note="7天集中隔离 + 3天居家健康监测",
        ),
        PolicyRow(R.SECONDARY_CONTACT, K.HOME, 7, test_days=(1, 4, 7), note="7天居家隔离"),
        PolicyRow(R.RETURNEE_RISK_AREA, K.HOME, 7, test_days=(1, 4, 7), note="7天居家隔离"),
        PolicyRow(
            R.ARRIVAL_ABROAD,
            K.CENTRALISED,
            7,
            K.HOME_MONITORING,
            3,
            test_days=(1, 2, 3, 5, 7, 10),
            note="7天集中隔离 + 3天居家健康监测",
        ),
        PolicyRow(R.POSITIVE_POOL, K.HOME, 2, note="混管阳性, 居家等待单管复核"),
        PolicyRow(
            R.ANTIGEN_POSITIVE,
            K.HOME,
            2,
            note="抗原自测阳性, 本人及同住人居家等待核酸复核",
            whole_household=True,
        ),
        PolicyRow(R.OTHER, K.HOME_MONITORING, 7, test_days=(7,), note="7天居家健康监测"),
    ),
)

PRESETS: dict[str, Preset] = {p.code: p for p in (SHANGHAI_2020, SHANGHAI_2022)}
DEFAULT_PRESET = SHANGHAI_2022
