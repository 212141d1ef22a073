"""QuickFIX's settings for one venue's initiator session."""

import os
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import quickfix as fix
from django.conf import settings

from venues.fix.codec import BEGIN_STRING
from venues.models import Venue


# Values of these fields the OMS must see even when the dictionary does not list them: an
# OrdStatus or ExecType it cannot map is stored and flagged, not rejected by the session
# layer and lost to the books. QuickFIX 1.15 has no switch for this (1.16's
# ValidateFieldsOutOfRange), so their enumerations are left out of the dictionary it uses.
OPEN_ENUMERATIONS = frozenset({
    "OrdStatus", "ExecType", "OrdRejReason", "CxlRejReason", "CxlRejResponseTo",
    "BusinessRejectReason", "SessionRejectReason", "MDReqRejReason",
})
# docs/fix.md has venues mark book levels with MDPriceLevel (1023), a FIX 5.0 field that
# QuickFIX's FIX 4.4 dictionary lacks: inside a W's entries it would end the group and the
# message would be rejected. The dictionary the OMS uses adds it to MDFullGrp.
ADDED_GROUP_FIELDS = {"MDFullGrp": [("MDPriceLevel", 1023, "INT")]}


def installed_dictionary_path() -> str:
    # The quickfix-ssl wheel installs QuickFIX's FIX 4.4 data dictionary beside the venv.
    return os.path.join(sys.prefix, "share", "quickfix", "FIX44.xml")


def data_dictionary_path() -> str:
    """The installed FIX 4.4 dictionary with OPEN_ENUMERATIONS opened and ADDED_GROUP_FIELDS
    added, derived on first use into var/fix/ (generated on each machine, never committed;
    the name changes with what is derived)."""
    source = Path(installed_dictionary_path())
    target = Path(settings.VAR_DIR) / "fix" / "FIX44-oms-2.xml"
    if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
        return str(target)
    tree = ElementTree.parse(source)
    for field in tree.getroot().find("fields"):
        if field.get("name") in OPEN_ENUMERATIONS:
            for value in list(field):
                field.remove(value)
    root = tree.getroot()
    for component in root.find("components"):
        for name, number, kind in ADDED_GROUP_FIELDS.get(component.get("name"), []):
            ElementTree.SubElement(component.find("group"), "field",
                                   {"name": name, "required": "N"})
            ElementTree.SubElement(root.find("fields"), "field",
                                   {"number": str(number), "name": name, "type": kind})
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed: processes starting together never read half a file.
    with tempfile.NamedTemporaryFile("wb", dir=target.parent, delete=False) as out:
        tree.write(out, encoding="utf-8", xml_declaration=True)
    os.replace(out.name, target)
    return str(target)


def session_id(venue: Venue) -> fix.SessionID:
    return fix.SessionID(BEGIN_STRING, venue.sender_comp_id, venue.target_comp_id)


def initiator_settings(venue: Venue) -> fix.SessionSettings:
    defaults = fix.Dictionary()
    for key, value in {
        "ConnectionType": "initiator",
        # The OMS decides when to log on and off (the venue's session row). QuickFIX 1.15.1
        # has no NonStopSession: the nearest is a weekly session always in range, whose
        # sequence numbers QuickFIX resets once a week, at its first touch after Sunday 00:00
        # UTC, on both sides (docs/fix.md); the runner follows it (runner.py).
        "StartDay": "sunday",
        "EndDay": "sunday",
        "StartTime": "00:00:00",
        "EndTime": "00:00:00",
        # Connect attempts while enabled; the holder adds its own back-off on top.
        "ReconnectInterval": "1",
        "LogonTimeout": str(settings.OMS_FIX_LOGON_TIMEOUT_SECONDS),
        "LogoutTimeout": "3",
        "UseDataDictionary": "Y",
        "DataDictionary": data_dictionary_path(),
        "ValidateUserDefinedFields": "N",
        "AllowUnknownMsgFields": "Y",
        # A ResendRequest from the venue is answered with GapFill for every application
        # message: an order is re-sent only through the queue and its gates (docs/fix.md).
        "PersistMessages": "N",
        "MillisecondsInTimeStamp": "Y",
        "ScreenLogShowIncoming": "N",
        "ScreenLogShowOutgoing": "N",
        "ScreenLogShowEvents": "Y" if settings.OMS_FIX_LOG_EVENTS else "N",
    }.items():
        defaults.setString(key, value)
    result = fix.SessionSettings()
    result.set(defaults)
    own = fix.Dictionary()
    own.setString("SocketConnectHost", venue.fix_host)
    own.setString("SocketConnectPort", str(venue.fix_port))
    own.setString("HeartBtInt", str(venue.heartbeat_seconds))
    own.setString("ResetOnLogon", "Y" if venue.reset_seq_num_on_logon else "N")
    result.set(session_id(venue), own)
    return result
