from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from jiayuan.accounts.models import ApiToken, Assignment, HouseholdLink, User


class AssignmentInline(admin.TabularInline):
    model = Assignment
    extra = 0
    raw_id_fields = ("street", "neighbourhood", "compound", "building")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [AssignmentInline]
    fieldsets = (*BaseUserAdmin.fieldsets, (None, {"fields": ("display_name",)}))
    list_display = ("username", "display_name", "is_active", "is_superuser", "last_login")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at")


@admin.register(HouseholdLink)
class HouseholdLinkAdmin(admin.ModelAdmin):
    list_display = ("household", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("nonce",)
    raw_id_fields = ("household",)
