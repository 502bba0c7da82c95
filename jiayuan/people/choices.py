from django.db import models
from django.utils.translation import gettext_lazy as _


class Gender(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")
    UNKNOWN = "U", _("未知")


class IdType(models.TextChoices):
    MAINLAND = "mainland", _("居民身份证")
    HK_MACAO = "hk_macao", _("港澳居民来往内地通行证")
    TAIWAN = "taiwan", _("台湾居民来往大陆通行证")
    PASSPORT = "passport", _("护照")
    OTHER = "other", _("其他证件")


class Relation(models.TextChoices):
    HEAD = "head", _("户主")
    SPOUSE = "spouse", _("配偶")
    CHILD = "child", _("子女")
    PARENT = "parent", _("父母")
    GRANDCHILD = "grandchild", _("孙子女")
    GRANDPARENT = "grandparent", _("祖父母")
    SIBLING = "sibling", _("兄弟姐妹")
    IN_LAW = "in_law", _("媳婿")
    OTHER = "other", _("其他")


class Residency(models.TextChoices):
    OWNER = "owner", _("业主")
    TENANT = "tenant", _("租户")
    FAMILY = "family", _("家属")
    OTHER = "other", _("其他")


class Presence(models.TextChoices):
    PRESENT = "present", _("在住")
    AWAY = "away", _("外出")
    NOT_RETURNED = "not_returned", _("未返回")
    MOVED_OUT = "moved_out", _("迁出")
    HOSPITALISED = "hospitalised", _("住院")
    CENTRAL_QUARANTINE = "central_quarantine", _("集中隔离")


class Tag(models.TextChoices):
    ELDERLY_ALONE = "elderly_alone", _("独居老人")
    ELDERLY_NO_FAMILY = "elderly_no_family", _("孤寡老人")
    EMPTY_NEST = "empty_nest", _("空巢老人")
    DISABLED = "disabled", _("残障")
    BEDRIDDEN = "bedridden", _("卧床")
    CHRONIC_ILLNESS = "chronic_illness", _("慢病")
    DIALYSIS = "dialysis", _("透析/化疗")
    PREGNANT = "pregnant", _("孕妇")
    INFANT = "infant", _("婴幼儿")
    NO_SMARTPHONE = "no_smartphone", _("无智能手机")
    PARTY_MEMBER = "party_member", _("党员")
    BUILDING_LEADER = "building_leader", _("楼组长")


class ImportStatus(models.TextChoices):
    PREVIEWING = "previewing", _("正在检查")
    PREVIEWED = "previewed", _("检查完成")
    COMMITTING = "committing", _("正在导入")
    COMMITTED = "committed", _("已导入")
    FAILED = "failed", _("失败")
