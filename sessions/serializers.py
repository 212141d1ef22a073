"""The sessions API's JSON shapes (camelCase). Input serializers check shape and types; the
schedule rules live in sessions.services."""

from rest_framework import serializers

from omsproject.serializer_fields import WallTimeField
from omsproject.serializers import StrictSerializer
from sessions.models import SessionOverride, SessionState


class ScheduleOutput(serializers.Serializer):
    timeZone = serializers.CharField(source="time_zone")
    openTime = WallTimeField(source="open_time", help_text="Local wall time.")
    closeTime = WallTimeField(
        source="close_time", help_text="Local wall time; before openTime means the next day."
    )
    weekdays = serializers.ListField(
        child=serializers.IntegerField(), help_text="ISO weekdays: 1 = Monday ... 7 = Sunday."
    )
    holidays = serializers.ListField(
        child=serializers.DateField(), help_text="Local dates the window does not open."
    )
    calendar = serializers.CharField(
        allow_blank=True,
        help_text="An exchange calendar (XNYS, XLON, ...) whose sessions, holidays and early "
        "closes replace openTime, closeTime and weekdays; empty: those apply.",
    )


class SessionOutput(serializers.Serializer):
    venue = serializers.CharField(source="venue_id")
    schedule = ScheduleOutput(source="*")
    state = serializers.ChoiceField(
        choices=SessionState.choices,
        help_text="The FIX session as the process holding it last recorded it.",
    )
    stateChangedAt = serializers.DateTimeField(source="state_changed_at")
    # Only the two resting states: reconcile records where the session should be, and the
    # session's holder passes through LOGGING_ON / LOGGING_OFF on its way there.
    desired = serializers.ChoiceField(
        choices=[(s.value, s.label) for s in (SessionState.LOGGED_ON, SessionState.LOGGED_OUT)],
        help_text="What the session should be, as reconcile last recorded it from the "
        "override and the schedule (within a second); the session's holder logs on or off to "
        "match. The kill switch does not log out.",
    )
    override = serializers.ChoiceField(choices=SessionOverride.choices, allow_null=True)
    halted = serializers.BooleanField(help_text="The global kill switch is on.")
    killSwitch = serializers.BooleanField(
        source="kill_switch", help_text="The venue's own kill switch is on: no NewOrderSingle "
        "or replace to it leaves and new orders for it are refused; cancels go out.")
    killSwitchReason = serializers.CharField(source="kill_switch_reason", allow_blank=True)
    isOpen = serializers.BooleanField(
        source="accepting",
        help_text="Orders are accepted now: the window is open or forced open, and trading "
        "is not halted.",
    )
    windowOpen = serializers.BooleanField(
        source="now_desired.schedule.is_open", help_text="The schedule alone says open."
    )
    nextOpen = serializers.DateTimeField(
        source="now_desired.schedule.next_open",
        allow_null=True,
        help_text="The schedule's next opening (UTC); null if none within a year.",
    )
    nextClose = serializers.DateTimeField(
        source="now_desired.schedule.next_close",
        allow_null=True,
        help_text="The close of the schedule's current window, or else of its next one.",
    )


class SessionEventOutput(serializers.Serializer):
    type = serializers.CharField()
    result = serializers.CharField(allow_blank=True)
    actor = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)
    sentAt = serializers.DateTimeField(source="sent_at", allow_null=True)
    acknowledgedAt = serializers.DateTimeField(source="acknowledged_at", allow_null=True)
    data = serializers.JSONField()
    createdAt = serializers.DateTimeField(source="created_at")


class SessionDetailOutput(SessionOutput):
    recentEvents = SessionEventOutput(
        source="recent_events", many=True, help_text="The latest 50 history rows, newest first."
    )


class ScheduleInput(StrictSerializer):
    min_properties = 1  # `"schedule": {}` changes nothing: 400
    timeZone = serializers.CharField(max_length=64, required=False)
    openTime = WallTimeField(required=False)
    closeTime = WallTimeField(required=False)
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=7),
        required=False,
        allow_empty=True,
        max_length=7,
    )
    holidays = serializers.ListField(
        child=serializers.DateField(), required=False, allow_empty=True, max_length=1000
    )
    calendar = serializers.CharField(
        max_length=16, required=False, allow_blank=True,
        help_text='An exchange calendar\'s name (XNYS, XLON, ...), or "" for the hand-typed '
        "window.",
    )


class SessionUpdateInput(StrictSerializer):
    min_properties = 1  # an empty body changes nothing: 400
    override = serializers.ChoiceField(
        choices=SessionOverride.choices,
        allow_null=True,
        required=False,
        help_text='"OPEN", "CLOSED", or null to follow the schedule.',
    )
    schedule = ScheduleInput(required=False)
    killSwitch = serializers.BooleanField(
        required=False, help_text="The venue's own kill switch (operators; halting needs "
        "killSwitchReason).")
    killSwitchReason = serializers.CharField(max_length=200, required=False, allow_blank=True)
    cancelOpenOrders = serializers.BooleanField(
        required=False, default=False,
        help_text="With killSwitch: true, also cancel the venue's open orders.")

    def validate(self, attrs):
        given = {k for k in attrs if k != "cancelOpenOrders"}
        if not given or attrs.get("schedule") == {}:
            raise serializers.ValidationError(
                "Give override, schedule and/or killSwitch fields.")
        if "killSwitchReason" in attrs and "killSwitch" not in attrs:
            raise serializers.ValidationError({"killSwitchReason": ["Only with killSwitch."]})
        if attrs.get("cancelOpenOrders") and not attrs.get("killSwitch"):
            raise serializers.ValidationError(
                {"cancelOpenOrders": ["Only with killSwitch: true."]})
        return attrs

    @classmethod
    def openapi_refine(cls, schema: dict) -> dict:
        # What venue_kill_switch_set and validate() refuse, stated: halting needs a reason
        # with something other than whitespace in it; a reason or cancelOpenOrders only with
        # the kill switch (cancelOpenOrders only when halting); something to change besides.
        return schema | {"allOf": [
            {"anyOf": [{"required": ["override"]}, {"required": ["schedule"]},
                       {"required": ["killSwitch"]}]},
            {"oneOf": [
                {"properties": {"killSwitch": {"enum": [True]},
                                "killSwitchReason": {"minLength": 1, "pattern": r"\S"}},
                 "required": ["killSwitch", "killSwitchReason"]},
                {"properties": {"killSwitch": {"enum": [False]},
                                "cancelOpenOrders": {"enum": [False]}},
                 "required": ["killSwitch"]},
                {"properties": {"cancelOpenOrders": {"enum": [False]}},
                 "not": {"anyOf": [{"required": ["killSwitch"]},
                                   {"required": ["killSwitchReason"]}]}},
            ]},
        ]}


class TradingHaltOutput(serializers.Serializer):
    halted = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True)
    changedBy = serializers.CharField(source="changed_by", allow_blank=True)
    changedAt = serializers.DateTimeField(source="changed_at", allow_null=True)


class TradingHaltInput(StrictSerializer):
    halted = serializers.BooleanField()
    # Not trimmed here: the service strips it and then counts, so the schema's maxLength and
    # the server's limit are the same 200 characters.
    reason = serializers.CharField(max_length=200, allow_blank=True, required=False, default="",
                                   trim_whitespace=False,
                                   help_text="Why; required (not blank) when halting.")
    cancelOpenOrders = serializers.BooleanField(
        required=False, default=False,
        help_text="When halting: also cancel every open order (queued ones here, live ones "
        "at their venues).",
    )

    @classmethod
    def openapi_refine(cls, schema: dict) -> dict:
        # Halting needs a reason with something other than whitespace in it; resuming does not,
        # and cannot cancel open orders (trading_halt_set).
        return schema | {"oneOf": [
            {"properties": {"halted": {"enum": [True]},
                            "reason": {"minLength": 1, "pattern": r"\S"}},
             "required": ["halted", "reason"]},
            {"properties": {"halted": {"enum": [False]}, "cancelOpenOrders": {"enum": [False]}}},
        ]}
