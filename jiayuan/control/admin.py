"""Operator views of the control tables. Changes go through the app's pages (services, audit);
the admin is read-mostly, and never shows a contact's phone in clear."""

from django.contrib import admin

from jiayuan.control.models import (
    Case,
    Contact,
    HealthCheck,
    Quarantine,
    QuarantinePolicy,
    Returnee,
    ZoneChange,
    ZoneOverride,
    ZoneSettings,
    ZoneStatus,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ("id", "resident", "building", "detected_on", "source", "type", "status")
    list_filter = ("status", "source", "type")
    list_select_related = ("resident", "building")
    raw_id_fields = ("resident", "household", "building", "compound")


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ("id", "case", "kind", "display_name", "phone_masked")
    exclude = ("phone",)
    readonly_fields = ("phone_masked",)
    raw_id_fields = ("case", "resident", "building")


@admin.register(Quarantine)
class QuarantineAdmin(ReadOnlyAdmin):
    list_display = ("id", "person_name", "kind", "reason", "start_on", "planned_end", "status")
    list_filter = ("status", "kind", "reason")
    raw_id_fields = ("resident", "contact", "household", "building")


@admin.register(HealthCheck)
class HealthCheckAdmin(ReadOnlyAdmin):
    list_display = ("id", "on", "slot", "temperature", "alert", "source")
    list_filter = ("alert", "slot", "source")
    raw_id_fields = ("resident", "quarantine", "building")


@admin.register(Returnee)
class ReturneeAdmin(ReadOnlyAdmin):
    list_display = ("id", "resident", "origin", "origin_risk", "arrival_on", "commitment_signed")
    raw_id_fields = ("resident", "quarantine", "building")


@admin.register(QuarantinePolicy)
class QuarantinePolicyAdmin(ReadOnlyAdmin):
    list_display = ("neighbourhood", "reason", "kind", "days", "followup_kind", "followup_days", "test_days")


@admin.register(ZoneSettings)
class ZoneSettingsAdmin(ReadOnlyAdmin):
    list_display = ("neighbourhood", "unit", "sealed_days", "controlled_days", "preset")


@admin.register(ZoneStatus)
class ZoneStatusAdmin(ReadOnlyAdmin):
    list_display = ("id", "building", "compound", "level", "since", "next_change_on", "last_positive_on")
    list_filter = ("level",)
    raw_id_fields = ("building", "compound")


@admin.register(ZoneChange)
class ZoneChangeAdmin(ReadOnlyAdmin):
    list_display = ("id", "building", "compound", "from_level", "to_level", "on", "cause")
    raw_id_fields = ("building", "compound")


@admin.register(ZoneOverride)
class ZoneOverrideAdmin(ReadOnlyAdmin):
    list_display = ("id", "building", "compound", "level", "reason", "expires_at", "ended_at")
    raw_id_fields = ("building", "compound")
