from django.contrib import admin


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
