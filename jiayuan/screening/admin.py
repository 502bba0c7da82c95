"""Operator views of the screening tables. Changes go through the pages and services (audited);
the admin is for looking, so the busy tables are read-only here."""

from django.contrib import admin

from jiayuan.screening.models import AntigenReport, Exemption, PlanSlot, Retest, Round, Sample, Station, Tube


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Round)
class RoundAdmin(ReadOnly):
    list_display = ("date", "kind", "neighbourhood", "pool_size", "status")
    list_filter = ("kind", "status")
    date_hierarchy = "date"


@admin.register(Station)
class StationAdmin(ReadOnly):
    list_display = ("name", "round", "kind", "samplers", "swabs_per_hour")


@admin.register(PlanSlot)
class PlanSlotAdmin(ReadOnly):
    list_display = ("round", "building", "station", "start", "end", "people", "door_to_door")


@admin.register(Tube)
class TubeAdmin(ReadOnly):
    list_display = ("barcode", "round", "fill_count", "pool_size", "status", "result", "is_retest")
    list_filter = ("status", "result", "is_retest")
    search_fields = ("barcode",)


@admin.register(Sample)
class SampleAdmin(ReadOnly):
    list_display = ("id", "round", "tube", "resident", "kind", "is_retest", "sampled_at")
    raw_id_fields = ("resident", "tube", "round")
    exclude = ("person_contact_hash",)


@admin.register(Exemption)
class ExemptionAdmin(ReadOnly):
    list_display = ("round", "resident", "reason")
    raw_id_fields = ("resident",)


@admin.register(Retest)
class RetestAdmin(ReadOnly):
    list_display = ("round", "resident", "source_tube", "status", "home_control")
    list_filter = ("status", "home_control")
    raw_id_fields = ("resident", "sample", "retest_sample")


@admin.register(AntigenReport)
class AntigenReportAdmin(ReadOnly):
    list_display = ("date", "resident", "result", "channel")
    list_filter = ("result", "channel")
    date_hierarchy = "date"
    raw_id_fields = ("resident",)
