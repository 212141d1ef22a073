from django.dispatch import receiver

from orders import services
from sessions.signals import session_window_closed


@receiver(session_window_closed, dispatch_uid="orders.expire_day_orders")
def expire_day_orders_at_close(sender, *, venue_code: str, closed_at, **kwargs) -> None:
    services.order_expire_day_orders(venue_code=venue_code, closed_at=closed_at)
