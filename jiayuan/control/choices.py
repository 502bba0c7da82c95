from django.db import models
from django.utils.translation import gettext_lazy as _


class ZoneLevel(models.TextChoices):
    """The 2022 Shanghai three zones (三区). Read by screening, supplies and gates."""

    SEALED = "sealed", _("封控区")
    CONTROLLED = "controlled", _("管控区")
    PRECAUTION = "precaution", _("防范区")


class ZoneUnit(models.TextChoices):
    """What a zone level is computed for: each building, or the whole compound."""

    BUILDING = "building", _("按楼栋")
    COMPOUND = "compound", _("按小区")


class CaseSource(models.TextChoices):
    PCR_ROUND = "pcr_round", _("核酸筛查结果")
    ANTIGEN = "antigen", _("抗原自测报告")
    DISTRICT_NOTICE = "district_notice", _("区疾控通知")


class CaseType(models.TextChoices):
    CONFIRMED = "confirmed", _("确诊")
    ASYMPTOMATIC = "asymptomatic", _("无症状感染者")


class CaseStatus(models.TextChoices):
    AT_HOME = "at_home", _("居家待转运")
    HOSPITAL = "hospital", _("已转运至定点医院")
    MAKESHIFT_HOSPITAL = "makeshift_hospital", _("已转运至方舱")
    RECOVERED = "recovered", _("已治愈")
    RELEASED = "released", _("已解除管理")
    VOIDED = "voided", _("误登记已作废")


# Allowed status changes; anything else is refused with a Chinese message.
CASE_TRANSITIONS: dict[str, frozenset[str]] = {
    CaseStatus.AT_HOME: frozenset({CaseStatus.HOSPITAL, CaseStatus.MAKESHIFT_HOSPITAL}),
    CaseStatus.HOSPITAL: frozenset({CaseStatus.MAKESHIFT_HOSPITAL, CaseStatus.RECOVERED}),
    CaseStatus.MAKESHIFT_HOSPITAL: frozenset({CaseStatus.HOSPITAL, CaseStatus.RECOVERED}),
    CaseStatus.RECOVERED: frozenset({CaseStatus.RELEASED}),
    CaseStatus.RELEASED: frozenset(),
    # A voided case (entered by mistake) is final; voiding is ``case_void``, not a transition.
    CaseStatus.VOIDED: frozenset(),
}
OPEN_CASE_STATUSES = (CaseStatus.AT_HOME, CaseStatus.HOSPITAL, CaseStatus.MAKESHIFT_HOSPITAL, CaseStatus.RECOVERED)
# Statuses after which a new case may be opened for the same resident.
CLOSED_CASE_STATUSES = (CaseStatus.RELEASED, CaseStatus.VOIDED)


class ContactKind(models.TextChoices):
    CLOSE = "close", _("密切接触者")
    SECONDARY = "secondary", _("次密切接触者")


class QuarantineKind(models.TextChoices):
    HOME = "home", _("居家隔离")
    CENTRALISED = "centralised", _("集中隔离")
    HOME_MONITORING = "home_monitoring", _("居家健康监测")


class QuarantineReason(models.TextChoices):
    CLOSE_CONTACT = "close_contact", _("密切接触者")
    SECONDARY_CONTACT = "secondary_contact", _("次密切接触者")
    RETURNEE_RISK_AREA = "returnee_risk_area", _("中高风险地区返沪")
    ARRIVAL_ABROAD = "arrival_abroad", _("境外回沪")
    POSITIVE_POOL = "positive_pool", _("混管阳性待复核")
    ANTIGEN_POSITIVE = "antigen_positive", _("抗原阳性待核酸复核")
    OTHER = "other", _("其他")


# Temporary home control while a PCR retest is awaited: never a case, never a zone change.
TEMPORARY_REASONS = (QuarantineReason.POSITIVE_POOL, QuarantineReason.ANTIGEN_POSITIVE)


class QuarantineStatus(models.TextChoices):
    ACTIVE = "active", _("隔离中")
    RELEASED = "released", _("已解除")
    TRANSFERRED = "transferred", _("已转运/转为病例")


class LabResult(models.TextChoices):
    NEGATIVE = "negative", _("阴性")
    POSITIVE = "positive", _("阳性")


class Slot(models.TextChoices):
    MORNING = "morning", _("上午")
    AFTERNOON = "afternoon", _("下午")


class Symptom(models.TextChoices):
    FEVER = "fever", _("发热")
    COUGH = "cough", _("咳嗽")
    SORE_THROAT = "sore_throat", _("咽痛")
    FATIGUE = "fatigue", _("乏力")
    SMELL_TASTE = "smell_taste", _("嗅觉味觉减退")
    DIARRHOEA = "diarrhoea", _("腹泻")
    BREATHING = "breathing", _("呼吸困难")


class CheckSource(models.TextChoices):
    HOUSEHOLD = "household", _("住户自报")
    STAFF = "staff", _("工作人员代录")


class RiskLevel(models.TextChoices):
    HIGH = "high", _("高风险地区")
    MEDIUM = "medium", _("中风险地区")
    LOW = "low", _("低风险地区")
    ABROAD = "abroad", _("境外")


class Transport(models.TextChoices):
    TRAIN = "train", _("火车/高铁")
    PLANE = "plane", _("飞机")
    CAR = "car", _("自驾")
    COACH = "coach", _("长途汽车")
    SHIP = "ship", _("轮船")
    OTHER = "other", _("其他")


class HouseholdMark(models.TextChoices):
    """A household's colour on the isolation map, most serious first."""

    POSITIVE = "positive", _("阳性")
    ANTIGEN = "antigen", _("抗原阳性待核酸复核")
    RETEST = "retest", _("混管阳性待复核")
    CONTACT = "contact", _("密接/次密接")
    QUARANTINE = "quarantine", _("隔离")
    MONITORING = "monitoring", _("健康监测")
