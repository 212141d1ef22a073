from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.forms.models import construct_instance
from django.urls import reverse
from django.utils.html import format_html

from omsproject.admin_inlines import ReadOnlyAdmin
from omsproject.decimals import decimal_text
from omsproject.errors import DomainError
from venues import services
from venues.models import FixSession, Venue

_EDITABLE = list(services.EDITABLE_FIELDS)
_FEES = ["maker_fee_per_share", "taker_fee_per_share"]


class VenueAdminForm(forms.ModelForm):
    """Checks an edit with the rules the API applies (venues.services); the save goes through
    the services too."""

    class Meta:
        model = Venue
        fields = ["code", *_EDITABLE]
        help_texts = {
            "fix_host": "An IP address or a DNS name; the port goes below.",
            "target_comp_id": "The venue's CompID (56). Empty: the venue's code.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "target_comp_id" in self.fields:
            self.fields["target_comp_id"].required = False
        # "-0.002", not "-0.002000": the number as the API writes it.
        for field in _FEES:
            if isinstance(self.initial.get(field), Decimal):
                self.initial[field] = decimal_text(self.initial[field])

    def clean(self):
        cleaned = super().clean()
        self._checked = False
        if self.errors:
            return cleaned  # the service would repeat what the fields already said
        adding = self.instance._state.adding
        code = cleaned["code"] if adding else self.instance.pk
        if not cleaned.get("target_comp_id"):
            cleaned["target_comp_id"] = code
        self._checked = True
        try:
            services.venue_clean(
                code=code, adding=adding, **{field: cleaned[field] for field in _EDITABLE}
            )
        except DomainError as exc:
            for field, problems in exc.details.items():
                for problem in problems:
                    self.add_error(field if field in self.fields else None, problem)
        return cleaned

    def _post_clean(self):
        if not getattr(self, "_checked", False):
            super()._post_clean()  # the model's checks of the fields that passed theirs
            return
        # clean() ran the service's checks on these values: the model's validation, its
        # uniqueness and more, with messages naming the venue in the way. The model's own
        # pass would say each again; what is left is putting the values on the instance.
        self.instance = construct_instance(
            self, self.instance, self._meta.fields, self._meta.exclude
        )


class VenueAdmin(admin.ModelAdmin):
    form = VenueAdminForm
    list_display = [
        "code", "name", "throttle_per_second", "maker_fee", "taker_fee", "fix_address",
        "comp_ids", "heartbeat_seconds", "session_desired", "session_state", "fix_state",
        "fix_sequence_numbers",
    ]
    list_select_related = ["trading_session", "fix_session"]
    search_fields = ["code", "name", "fix_host", "sender_comp_id", "target_comp_id"]
    fix_fields = [
        "fix_state", "fix_sequence_numbers", "fix_owner", "fix_lease_until", "fix_last_logon_at",
        "fix_last_logout_at", "fix_last_error",
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": ["code", "name", "throttle_per_second"]}),
            ("Fees per share (negative: a rebate)", {"fields": _FEES}),
            ("FIX 4.4", {"fields": [
                "fix_host", "fix_port", "sender_comp_id", "target_comp_id", "heartbeat_seconds",
                "reset_seq_num_on_logon",
            ]}),
        ]
        if obj is None:
            return fieldsets
        return [
            *fieldsets,
            ("Sessions (read-only)", {"fields": ["session_desired", "session_state",
                                                 *self.fix_fields]}),
            (None, {"fields": ["created_at", "updated_at"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["code", "session_desired", "session_state", *self.fix_fields, "created_at",
                "updated_at"]

    def get_changeform_initial_data(self, request):
        # A new venue starts from what venue_put would give it (the OMS_FIX_* settings).
        initial = services.venue_defaults(code="")
        initial.pop("target_comp_id")
        return initial | super().get_changeform_initial_data(request)

    def has_delete_permission(self, request, obj=None):
        return False  # no service deletes a venue: its orders, queue and sessions refer to it

    def save_model(self, request, obj, form, change):
        # The form only checked; the services lock the row, check again and save.
        fields = {field: form.cleaned_data[field] for field in _EDITABLE}
        actor = request.user.get_username()
        try:
            if change:
                changed = {f: v for f, v in fields.items() if f in form.changed_data}
                if changed:
                    services.venue_update(code=obj.pk, actor=actor, **changed)
            else:
                _, created = services.venue_put(code=obj.pk, actor=actor, replace=False,
                                                **fields)
                if not created:
                    self.message_user(request, f"Not added: venue {obj.pk} already exists.",
                                      messages.ERROR)
        except DomainError as exc:
            problems = "; ".join(
                f"{field}: {' '.join(texts)}" for field, texts in exc.details.items()
            )
            self.message_user(request, f"Not saved: {exc.message} {problems}", messages.ERROR)

    # --- what the list and the page show beside the configuration -----------------------

    @admin.display(description="maker fee", ordering="maker_fee_per_share")
    def maker_fee(self, obj: Venue) -> str:
        return decimal_text(obj.maker_fee_per_share)

    @admin.display(description="taker fee", ordering="taker_fee_per_share")
    def taker_fee(self, obj: Venue) -> str:
        return decimal_text(obj.taker_fee_per_share)

    @admin.display(description="FIX address", ordering="fix_host")
    def fix_address(self, obj: Venue) -> str:
        return f"{obj.fix_host}:{obj.fix_port}"

    @admin.display(description="CompIDs (ours -> venue's)")
    def comp_ids(self, obj: Venue) -> str:
        return f"{obj.sender_comp_id} -> {obj.target_comp_id}"

    @staticmethod
    def _trading_session(obj: Venue):
        return getattr(obj, "trading_session", None) if obj.pk else None

    @staticmethod
    def _fix_session(obj: Venue) -> FixSession | None:
        return getattr(obj, "fix_session", None) if obj.pk else None

    @admin.display(description="session desired", ordering="trading_session__desired")
    def session_desired(self, obj: Venue):
        session = self._trading_session(obj)
        return session.desired if session else "-"

    @admin.display(description="session state", ordering="trading_session__state")
    def session_state(self, obj: Venue):
        session = self._trading_session(obj)
        if session is None:
            return "-"
        url = reverse("admin:trading_sessions_venuesession_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, session.state)

    @admin.display(description="FIX state", ordering="fix_session__state")
    def fix_state(self, obj: Venue):
        record = self._fix_session(obj)
        if record is None:
            return "-"
        url = reverse("admin:venues_fixsession_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, record.state)

    @admin.display(description="next seq out / in")
    def fix_sequence_numbers(self, obj: Venue):
        record = self._fix_session(obj)
        return f"{record.next_sender_seq} / {record.next_target_seq}" if record else "-"

    def _fix_value(self, obj: Venue, field: str):
        record = self._fix_session(obj)
        return getattr(record, field) if record else None

    @admin.display(description="FIX session holder")
    def fix_owner(self, obj):
        return self._fix_value(obj, "owner")

    @admin.display(description="holder's lease until")
    def fix_lease_until(self, obj):
        return self._fix_value(obj, "lease_until")

    @admin.display(description="last logon")
    def fix_last_logon_at(self, obj):
        return self._fix_value(obj, "last_logon_at")

    @admin.display(description="last logout")
    def fix_last_logout_at(self, obj):
        return self._fix_value(obj, "last_logout_at")

    @admin.display(description="last FIX error")
    def fix_last_error(self, obj):
        return self._fix_value(obj, "last_error")


admin.site.register(Venue, VenueAdmin)


@admin.register(FixSession)
class FixSessionAdmin(ReadOnlyAdmin):
    """The FIX session's record, to read: its holder and the FIX layer write it (changing a
    sequence number by hand would desynchronise the session with the venue)."""

    list_display = [
        "venue", "state", "next_sender_seq", "next_target_seq", "sender_seq_reserved",
        "clean_stop", "owner", "lease_until", "last_logon_at", "last_logout_at", "last_error",
    ]
    list_filter = ["state"]
    search_fields = ["venue__code"]
