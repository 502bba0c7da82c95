from django.contrib import admin

from jiayuan.places.models import Building, Compound, Household, Neighbourhood, Street


@admin.register(Street)
class StreetAdmin(admin.ModelAdmin):
    list_display = ("code", "name")


@admin.register(Neighbourhood)
class NeighbourhoodAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "street", "is_demo")


@admin.register(Compound)
class CompoundAdmin(admin.ModelAdmin):
    list_display = ("name", "neighbourhood")


@admin.register(Building)
class BuildingAdmin(admin.ModelAdmin):
    list_display = ("name", "compound", "units", "floors")
    list_filter = ("compound",)


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin):
    list_display = ("building", "unit", "room")
    list_select_related = ("building",)
    raw_id_fields = ("building",)
