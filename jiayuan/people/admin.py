from django.contrib import admin

from jiayuan.people.models import Resident


@admin.register(Resident)
class ResidentAdmin(admin.ModelAdmin):
    """Admin never shows ID numbers or phones in clear; use the resident page's audited reveal."""

    list_display = ("name", "household", "id_number_masked", "phone_masked", "presence")
    list_select_related = ("household__building",)
    exclude = ("id_number", "phone")
    readonly_fields = ("id_number_masked", "phone_masked")
    raw_id_fields = ("household",)
    search_fields = ("name",)
