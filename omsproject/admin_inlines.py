"""The admin's read-only shapes, shared by every app: records the services write and
operators only read (venue requests, execution reports, FIX sessions, risk events)."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record: operators read it, services write it."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyTabularInline(admin.TabularInline):
    """A record shown beside its parent (audit events, venue requests): read, never edited
    here; the services write it."""

    extra = 0
    can_delete = False
    ordering = ["-id"]

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
