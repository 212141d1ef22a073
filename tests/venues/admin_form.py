"""The venue admin's change form as a browser posts it: every editable field, from the venue."""

from venues.models import Venue

_FIELDS = ("name", "throttle_per_second", "fix_host", "fix_port", "sender_comp_id",
           "target_comp_id", "heartbeat_seconds", "maker_fee_per_share", "taker_fee_per_share")


def venue_admin_form(venue: Venue | None = None, **changes) -> dict:
    """POST data for the venue's change form (or, without a venue, the add form's defaults
    plus `changes`). reset_seq_num_on_logon=True/False sets the checkbox."""
    data = {} if venue is None else {field: str(getattr(venue, field)) for field in _FIELDS}
    reset = changes.pop("reset_seq_num_on_logon",
                        venue.reset_seq_num_on_logon if venue is not None else False)
    data.update({field: str(value) for field, value in changes.items()})
    if reset:
        data["reset_seq_num_on_logon"] = "on"  # an unticked checkbox is not posted at all
    return data
