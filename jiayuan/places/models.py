"""Places: street ▸ neighbourhood ▸ compound ▸ building ▸ household.

Every row below the street carries its ``neighbourhood`` (denormalised) so that scoping is one
indexed filter and the data can later be sharded by neighbourhood.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

__all__ = ["Building", "Compound", "Household", "Neighbourhood", "Street"]


class Street(models.Model):
    """A street or town office (街道 / 镇): the level above the residents' committees."""

    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)

    scope_fields = {"street": "id"}

    class Meta:
        verbose_name = _("街道")
        verbose_name_plural = _("街道")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Neighbourhood(models.Model):
    """A neighbourhood (居民区), governed by one residents' committee."""

    street = models.ForeignKey(Street, verbose_name=_("街道"), on_delete=models.PROTECT, related_name="neighbourhoods")
    code = models.CharField(_("编码"), max_length=32, unique=True, error_messages={"unique": _("该居民区编码已存在")})
    name = models.CharField(_("名称"), max_length=100)
    is_demo = models.BooleanField(_("演示数据"), default=False)

    scope_fields = {
        "street": "street_id",
        "neighbourhood": "id",
        "compound": lambda ids: Q(id__in=Compound.objects.filter(id__in=ids).values("neighbourhood_id")),
        "building": lambda ids: Q(id__in=Building.objects.filter(id__in=ids).values("neighbourhood_id")),
    }

    class Meta:
        verbose_name = _("居民区")
        verbose_name_plural = _("居民区")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Compound(models.Model):
    """A compound (小区): a gated estate inside a neighbourhood."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="compounds"
    )
    name = models.CharField(_("名称"), max_length=100)

    scope_fields = {
        "street": "neighbourhood__street_id",
        "neighbourhood": "neighbourhood_id",
        "compound": "id",
        "building": lambda ids: Q(id__in=Building.objects.filter(id__in=ids).values("compound_id")),
    }

    class Meta:
        verbose_name = _("小区")
        verbose_name_plural = _("小区")
        ordering = ["neighbourhood_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["neighbourhood", "name"],
                name="compound_unique_name",
                violation_error_message=_("本居民区已有同名小区"),
            )
        ]

    def __str__(self) -> str:
        return self.name


class Building(models.Model):
    """A building (楼栋 / 幢 / 号楼). ``number`` is what residents say: "3" for 3号楼."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="buildings"
    )
    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.PROTECT, related_name="buildings")
    number = models.CharField(_("楼号"), max_length=16)
    name = models.CharField(_("名称"), max_length=64)
    units = models.PositiveSmallIntegerField(_("单元数"), default=1)
    floors = models.PositiveSmallIntegerField(_("楼层数"), null=True, blank=True)
    # Natural order: 2号楼 before 10号楼.
    sort_key = models.PositiveIntegerField(_("排序"), default=0, editable=False)

    scope_fields = {
        "street": "neighbourhood__street_id",
        "neighbourhood": "neighbourhood_id",
        "compound": "compound_id",
        "building": "id",
    }

    class Meta:
        verbose_name = _("楼栋")
        verbose_name_plural = _("楼栋")
        ordering = ["compound_id", "sort_key", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["compound", "number"],
                name="building_unique_number",
                violation_error_message=_("本小区已有该楼号"),
            )
        ]

    def __str__(self) -> str:
        return self.name


class Household(models.Model):
    """A household (户): one room in a building, optionally in a unit (单元)."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="households"
    )
    building = models.ForeignKey(Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, related_name="households")
    unit = models.CharField(_("单元"), max_length=16, blank=True)
    room = models.CharField(_("室号"), max_length=16)
    floor = models.SmallIntegerField(_("楼层"), null=True, blank=True)
    notes = models.TextField(_("备注"), blank=True)

    scope_fields = {
        "street": "neighbourhood__street_id",
        "neighbourhood": "neighbourhood_id",
        "compound": "building__compound_id",
        "building": "building_id",
    }

    class Meta:
        verbose_name = _("住户")
        verbose_name_plural = _("住户")
        ordering = ["building_id", "unit", "floor", "room"]
        constraints = [
            models.UniqueConstraint(
                fields=["building", "unit", "room"],
                name="household_unique_room",
                violation_error_message=_("该楼栋已有此单元室号"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.building.name} {self.label}"

    @property
    def label(self) -> str:
        """``1单元 301室`` or ``301室``."""
        return f"{self.unit}单元 {self.room}室" if self.unit else f"{self.room}室"
