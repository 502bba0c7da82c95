"""Read-mostly admin for operators; all changes go through the pages (services, audit)."""

from django.contrib import admin

from jiayuan.supplies import models


@admin.register(models.GroupBuyLeader)
class LeaderAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "neighbourhood", "status", "created_at")
    list_filter = ("status",)
    exclude = ("phone",)
    readonly_fields = ("status", "reviewed_by", "reviewed_at", "suspended_at")


@admin.register(models.GroupBuy)
class GroupBuyAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "compound", "category", "delivery_date", "status")
    list_filter = ("status", "category")
    exclude = ("driver_phone",)
    readonly_fields = ("status",)


@admin.register(models.StockItem)
class StockItemAdmin(admin.ModelAdmin):
    list_display = ("name", "neighbourhood", "quantity", "low_threshold")
    readonly_fields = ("quantity",)


for model in (models.SuppliesSettings, models.HandoutRound, models.AppointmentCampaign, models.AppointmentWindow):
    admin.site.register(model)
