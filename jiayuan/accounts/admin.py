from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from jiayuan.accounts.models import ApiToken, Assignment, HouseholdLink, User
from jiayuan.core.audit import audit_record


class AssignmentInline(admin.TabularInline):
    model = Assignment
    extra = 0
    raw_id_fields = ("street", "neighbourhood", "compound", "building")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [AssignmentInline]
    fieldsets = (*BaseUserAdmin.fieldsets, (None, {"fields": ("display_name",)}))
    list_display = ("username", "display_name", "is_active", "is_superuser", "last_login")

    def save_formset(self, request, form, formset, change):
        """Role assignments edited here are audited like those granted through the service."""
        super().save_formset(request, form, formset, change)
        if formset.model is not Assignment:
            return
        for obj in formset.new_objects:
            self._audit(request, "assignment.grant", obj)
        for obj, fields in formset.changed_objects:
            self._audit(request, "assignment.update", obj, {"fields": fields})
        for obj in formset.deleted_objects:
            self._audit(request, "assignment.revoke", obj)

    @staticmethod
    def _audit(request, action: str, obj: Assignment, changes: dict | None = None) -> None:
        audit_record(
            actor=request.user,
            action=action,
            object_type="accounts.assignment",
            object_id=obj.pk or "",
            object_repr=f"{obj.user.username} {obj.role} {obj.level}:{obj.target_id}",
            neighbourhood_id=obj.neighbourhood_id,
            changes=changes,
        )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at")


@admin.register(HouseholdLink)
class HouseholdLinkAdmin(admin.ModelAdmin):
    list_display = ("household", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("nonce",)
    raw_id_fields = ("household",)
