"""The venues API's JSON shapes (camelCase). Input serializers check shape, types and each
field's own bounds, so the OpenAPI schema states them; venues.services checks the rest (a host's
structure, one FIX session per venue) and is what the admin uses too."""

from rest_framework import serializers

from omsproject.serializer_fields import PlainDecimalField
from omsproject.serializers import StrictSerializer
from sessions.models import SessionState
from venues.models import (
    COMP_ID,
    FEE_DIGITS,
    HEARTBEAT_MAX_SECONDS,
    HOST,
    PORT_MAX,
    THROTTLE_MAX_PER_SECOND,
    FixSessionState,
)

# Help texts both shapes share: what the field is, and what the server enforces.
_HELP = {
    "name": "A name for people. At most 100 characters; may be empty.",
    "fixHost": "The venue's FIX acceptor: an IPv4 or IPv6 address (unbracketed), or a DNS "
    "name of dot-separated labels (letters, digits, - and _, 1-63 each, not starting or "
    "ending with -; 253 at most). No port here: see fixPort.",
    "fixPort": f"The acceptor's TCP port, 1-{PORT_MAX}.",
    "senderCompId": "Our CompID, SenderCompID (49) on every message we send: 1-64 of "
    "letters, digits, _ . - (no spaces, SOH or |).",
    "targetCompId": "The venue's CompID, TargetCompID (56): 1-64 of letters, digits, _ . - "
    "(no spaces, SOH or |). No two venues may share fixHost, fixPort, senderCompId and "
    "targetCompId: that is one FIX session.",
    "heartbeatSeconds": f"HeartBtInt (108), 1-{HEARTBEAT_MAX_SECONDS} seconds: a peer "
    "silent for longer is tested, then dropped.",
    "throttlePerSecond": f"The send limit: at most this many messages to the venue in any "
    f"sliding second, counted across all workers. 1-{THROTTLE_MAX_PER_SECOND}.",
    "resetSeqNumOnLogon": "Log on with ResetSeqNumFlag (141=Y): both sides start again at "
    "sequence number 1. Only for venues that expect it; otherwise sequence numbers continue "
    "across logons, reconnects and restarts.",
    "makerFeePerShare": "What the venue charges per share for adding liquidity (an order "
    "that rests, then fills); negative is a rebate. Routing weighs it.",
    "takerFeePerShare": "What the venue charges per share for taking liquidity (an order "
    "that fills on arrival); negative is a rebate. Routing weighs it.",
}
# What PUT gives a field it was not sent (venues.services.venue_defaults).
_PUT_DEFAULT = {
    "name": "empty",
    "fixHost": "the OMS_FIX_HOST setting",
    "fixPort": "the OMS_FIX_PORT setting",
    "senderCompId": "the OMS_SENDER_COMP_ID setting",
    "targetCompId": "the venue's code",
    "heartbeatSeconds": "the OMS_FIX_HEARTBEAT_SECONDS setting",
    "throttlePerSecond": "the OMS_THROTTLE_PER_SECOND setting",
    "resetSeqNumOnLogon": "false",
    "makerFeePerShare": "0",
    "takerFeePerShare": "0",
}
# Input name -> the services' (and the model's) field name.
EDITABLE = {
    "name": "name",
    "fixHost": "fix_host",
    "fixPort": "fix_port",
    "senderCompId": "sender_comp_id",
    "targetCompId": "target_comp_id",
    "heartbeatSeconds": "heartbeat_seconds",
    "throttlePerSecond": "throttle_per_second",
    "resetSeqNumOnLogon": "reset_seq_num_on_logon",
    "makerFeePerShare": "maker_fee_per_share",
    "takerFeePerShare": "taker_fee_per_share",
}


def _editable_fields(*, on_put: bool) -> dict[str, serializers.Field]:
    def help_for(name: str) -> str:
        if on_put:
            return f"{_HELP[name]} Not given: {_PUT_DEFAULT[name]}."
        return _HELP[name]

    def fee(name):
        return PlainDecimalField(**FEE_DIGITS, required=False, help_text=help_for(name))

    def comp_id(name):
        return serializers.CharField(
            max_length=64, validators=[COMP_ID], required=False, help_text=help_for(name)
        )

    return {
        "name": serializers.CharField(
            max_length=100, allow_blank=True, required=False, help_text=help_for("name")
        ),
        "fixHost": serializers.CharField(
            max_length=255, validators=[HOST], required=False, help_text=help_for("fixHost")
        ),
        "fixPort": serializers.IntegerField(
            min_value=1, max_value=PORT_MAX, required=False, help_text=help_for("fixPort")
        ),
        "senderCompId": comp_id("senderCompId"),
        "targetCompId": comp_id("targetCompId"),
        "heartbeatSeconds": serializers.IntegerField(
            min_value=1, max_value=HEARTBEAT_MAX_SECONDS, required=False,
            help_text=help_for("heartbeatSeconds"),
        ),
        "throttlePerSecond": serializers.IntegerField(
            min_value=1, max_value=THROTTLE_MAX_PER_SECOND, required=False,
            help_text=help_for("throttlePerSecond"),
        ),
        "resetSeqNumOnLogon": serializers.BooleanField(
            required=False, help_text=help_for("resetSeqNumOnLogon")
        ),
        "makerFeePerShare": fee("makerFeePerShare"),
        "takerFeePerShare": fee("takerFeePerShare"),
    }


class VenueSessionOutput(serializers.Serializer):
    desired = serializers.ChoiceField(
        choices=SessionState.choices, read_only=True,
        help_text="What the schedule and override want now (LOGGED_ON or LOGGED_OUT).",
    )
    state = serializers.ChoiceField(
        choices=SessionState.choices, read_only=True,
        help_text="The session as its holder last recorded it.",
    )


class FixSessionOutput(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=FixSessionState.choices, read_only=True, help_text="The FIX connection's state."
    )
    nextSenderSeqNum = serializers.IntegerField(
        source="next_sender_seq", read_only=True,
        help_text="The next MsgSeqNum (34) we send, as last recorded.",
    )
    nextTargetSeqNum = serializers.IntegerField(
        source="next_target_seq", read_only=True,
        help_text="The next MsgSeqNum (34) we expect from the venue.",
    )
    owner = serializers.CharField(
        read_only=True, help_text="The process holding the session; empty when none does."
    )
    leaseUntil = serializers.DateTimeField(
        source="lease_until", read_only=True, allow_null=True,
        help_text="When the holder's lease ends unless renewed (it renews it twice a second).",
    )
    lastLogonAt = serializers.DateTimeField(source="last_logon_at", read_only=True,
                                            allow_null=True)
    lastLogoutAt = serializers.DateTimeField(source="last_logout_at", read_only=True,
                                             allow_null=True)
    lastError = serializers.CharField(
        source="last_error", read_only=True, help_text="The latest connection or logon error."
    )


class VenueOutput(serializers.Serializer):
    code = serializers.CharField(
        read_only=True, help_text="The venue's code, from the URL: 2-16 of A-Z, 0-9, _."
    )
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)
    session = VenueSessionOutput(
        source="trading_session", read_only=True, allow_null=True,
        help_text="The venue's trading session (GET /api/v1/sessions/{code}); null if it has "
        "none yet.",
    )
    fixSession = FixSessionOutput(
        source="fix_session", read_only=True, allow_null=True,
        help_text="The FIX session's durable record; null if it has none yet.",
    )

    def get_fields(self):
        # The editable fields as the inputs describe them, after the code.
        declared = super().get_fields()
        fields = {"code": declared.pop("code")}
        for name, field in _editable_fields(on_put=False).items():
            if EDITABLE[name] != name:
                field.source = EDITABLE[name]
            field.required = True
            fields[name] = field
        return fields | declared


# Fields a client may have copied from a GET: refused by name, not as "unknown".
_READ_ONLY = ("code", "createdAt", "updatedAt", "session", "fixSession")


class _VenueInput(StrictSerializer):
    on_put = False

    def get_fields(self):
        return _editable_fields(on_put=self.on_put)

    def to_internal_value(self, data):
        if isinstance(data, dict) and (given := sorted(set(data) & set(_READ_ONLY))):
            raise serializers.ValidationError(
                {name: ["Read-only: set by the server (the code by the URL)."] for name in given}
            )
        return super().to_internal_value(data)

    def changes(self) -> dict:
        """The validated fields under the services' names."""
        return {EDITABLE[name]: value for name, value in self.validated_data.items()}


class VenuePutInput(_VenueInput):
    """Every editable field; each one not given goes back to its default."""

    on_put = True


class VenuePatchInput(_VenueInput):
    """The fields to change; the others keep their values."""

    min_properties = 1  # an empty body changes nothing: 400

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Give at least one field to change.")
        return attrs
