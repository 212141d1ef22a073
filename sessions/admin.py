from datetime import date

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from omsproject.admin_inlines import ReadOnlyTabularInline
from omsproject.errors import DomainError
from sessions import selectors, services
from sessions.models import (
    SessionEvent,
    SessionOverride,
    TradingHalt,
    TradingHaltEvent,
    VenueSession,
)

_WEEKDAY_CHOICES = [
    (1, "Monday"), (2, "Tuesday"), (3, "Wednesday"), (4, "Thursday"), (5, "Friday"),
    (6, "Saturday"), (7, "Sunday"),
]
_SCHEDULE_FIELDS = (
    "time_zone", "open_time", "close_time", "weekdays", "holidays", "calendar",
)


class SessionEventInline(ReadOnlyTabularInline):
    model = SessionEvent
    fields = [
        "created_at", "type", "result", "actor", "reason", "sent_at", "acknowledged_at", "data",
    ]


class HolidaysField(forms.CharField):
    """Holidays as text, one YYYY-MM-DD per line (or comma-separated)."""

    widget = forms.Textarea(attrs={"rows": 4, "cols": 14})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(str(day) for day in value)
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""
        days = []
        for item in text.replace(",", "\n").split():
            try:
                days.append(date.fromisoformat(item).isoformat())
            except ValueError as exc:
                raise forms.ValidationError(f"{item!r} is not a date (YYYY-MM-DD).") from exc
        return days


class VenueSessionAdminForm(forms.ModelForm):
    """Checks an edit with the rules the API applies; the save goes through the service."""

    weekdays = forms.TypedMultipleChoiceField(
        choices=_WEEKDAY_CHOICES, coerce=int, required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    holidays = HolidaysField(required=False)

    class Meta:
        model = VenueSession
        fields = ["override", *_SCHEDULE_FIELDS]

    def clean(self):
        cleaned = super().clean()
        if any(field in self.errors for field in _SCHEDULE_FIELDS):
            return cleaned
        try:
            cleaned.update(
                services.session_schedule_clean(
                    **{field: cleaned.get(field) for field in _SCHEDULE_FIELDS}
                )
            )
        except DomainError as exc:
            for field, problems in exc.details.items():
                for problem in problems:
                    self.add_error(field if field in self.fields else None, problem)
        return cleaned


@admin.register(VenueSession)
class VenueSessionAdmin(admin.ModelAdmin):
    form = VenueSessionAdminForm
    list_display = [
        "venue", "state", "desired", "override", "accepting_orders", "calendar", "time_zone",
        "open_time", "close_time", "weekdays", "next_open", "next_close", "state_changed_at",
    ]
    list_filter = ["state", "desired", "override", "time_zone"]
    search_fields = ["venue__code", "venue__name"]
    readonly_fields = [
        "venue", "desired", "desired_reason", "state", "state_changed_at", "accepting_orders",
        "next_open", "next_close", "updated_at",
    ]
    fields = ["venue", "override", *_SCHEDULE_FIELDS, *readonly_fields[1:]]
    inlines = [SessionEventInline]
    actions = ["force_open", "force_closed", "follow_schedule"]

    def _desired(self, obj: VenueSession):
        # Cached on the row: three columns show parts of the same answer.
        if not hasattr(obj, "_admin_desired"):
            obj._admin_desired = selectors.session_desired_state(session=obj, now=timezone.now())
        return obj._admin_desired

    @admin.display(boolean=True, description="accepting orders")
    def accepting_orders(self, obj):
        if not obj.pk:
            return None
        return self._desired(obj).logged_on and not selectors.trading_halt_get().halted

    @admin.display(description="next open (UTC)")
    def next_open(self, obj):
        return self._desired(obj).schedule.next_open if obj.pk else None

    @admin.display(description="next close (UTC)")
    def next_close(self, obj):
        return self._desired(obj).schedule.next_close if obj.pk else None

    def has_add_permission(self, request):
        return False  # a session comes into being with its venue

    def has_delete_permission(self, request, obj=None):
        return False  # the history is kept; force the venue closed instead

    def save_model(self, request, obj, form, change):
        # The form only checked; the service locks the row, saves and writes the history.
        try:
            services.session_update(
                venue_code=obj.pk,
                actor=request.user.get_username(),
                override=form.cleaned_data.get("override") or None,
                **{field: form.cleaned_data[field] for field in _SCHEDULE_FIELDS},
            )
        except DomainError as exc:
            self.message_user(request, f"Not changed: {exc.message}", messages.ERROR)

    def _set_override(self, request, queryset, override):
        for venue_code in queryset.order_by("pk").values_list("pk", flat=True):
            services.session_update(
                venue_code=venue_code, actor=request.user.get_username(), override=override
            )
        self.message_user(
            request, "Done; within seconds reconcile records whether each venue should be "
            "logged on, and the FIX session's holder logs it on or off."
        )

    @admin.action(description="Force open", permissions=["change"])
    def force_open(self, request, queryset):
        self._set_override(request, queryset, SessionOverride.OPEN)

    @admin.action(description="Force closed", permissions=["change"])
    def force_closed(self, request, queryset):
        self._set_override(request, queryset, SessionOverride.CLOSED)

    @admin.action(description="Follow the schedule (clear override)", permissions=["change"])
    def follow_schedule(self, request, queryset):
        self._set_override(request, queryset, None)


class TradingHaltEventInline(ReadOnlyTabularInline):
    model = TradingHaltEvent
    fields = ["created_at", "halted", "reason", "actor"]


class TradingHaltAdminForm(forms.ModelForm):
    cancel_open_orders = forms.BooleanField(
        required=False, label="Also cancel every open order",
        help_text="Queued orders are cancelled here; live ones get a cancel at their venue.",
    )

    class Meta:
        model = TradingHalt
        fields = ["halted", "reason"]

    def clean(self):
        cleaned = super().clean()
        halted = cleaned.get("halted", False)
        try:
            cleaned["reason"] = services.trading_halt_reason_clean(
                halted=halted, reason=cleaned.get("reason", "")
            )
        except DomainError as exc:
            for field, problems in exc.details.items():
                for problem in problems:
                    self.add_error(field if field in self.fields else None, problem)
        # The service refuses it too, but only after the admin would have said "changed".
        if cleaned.get("cancel_open_orders") and not halted:
            self.add_error("cancel_open_orders", "Open orders are cancelled only when halting.")
        return cleaned


@admin.register(TradingHalt)
class TradingHaltAdmin(admin.ModelAdmin):
    form = TradingHaltAdminForm
    list_display = ["__str__", "halted", "reason", "changed_by", "changed_at"]
    readonly_fields = ["changed_by", "changed_at"]
    fields = ["halted", "reason", "cancel_open_orders", *readonly_fields]
    inlines = [TradingHaltEventInline]

    def changelist_view(self, request, extra_context=None):
        # One row only: the list is a detour, go straight to the switch.
        halt = selectors.trading_halt_get()
        opts = self.model._meta
        return HttpResponseRedirect(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[halt.pk])
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            services.trading_halt_set(
                halted=form.cleaned_data["halted"],
                reason=form.cleaned_data["reason"],
                actor=request.user.get_username(),
                cancel_open_orders=form.cleaned_data.get("cancel_open_orders", False),
            )
        except DomainError as exc:
            self.message_user(request, f"Not changed: {exc.message}", messages.ERROR)
