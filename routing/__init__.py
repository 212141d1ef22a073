"""Smart order routing's venue choice: which venues get how much of an order.

Pure policies (routing.policies.plan_route) over what routing.inputs reads of each venue
(fees, latency, sessions, queue backlog, quotes). routing sits below orders and imports
neither orders nor risk: intake hands it a RouteRequest and turns the RoutePlan's slices
into child orders.
"""

from importlib import import_module
from typing import TYPE_CHECKING

# Django imports this package while it loads the apps, before models (and DRF, which the
# error types need) can be imported: each name is imported from its module on first use.
_EXPORTS = {
    "ChildSlice": "routing.plans",
    "Policy": "routing.plans",
    "RoutePlan": "routing.plans",
    "RouteRequest": "routing.plans",
    "VenueView": "routing.plans",
    "NoRoute": "routing.errors",
    "plan_route": "routing.policies",
    "route": "routing.inputs",
    "venue_views": "routing.inputs",
}
__all__ = ["ChildSlice", "NoRoute", "Policy", "RoutePlan", "RouteRequest", "VenueView",
           "plan_route", "route", "venue_views"]

if TYPE_CHECKING:
    from routing.errors import NoRoute
    from routing.inputs import route, venue_views
    from routing.plans import ChildSlice, Policy, RoutePlan, RouteRequest, VenueView
    from routing.policies import plan_route


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'routing' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
