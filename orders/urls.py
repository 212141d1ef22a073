from django.urls import path

from orders.apis import OrderBatchApi, OrderDetailApi, OrderListCreateApi
from orders.live.stream import events_stream

urlpatterns = [
    path("orders", OrderListCreateApi.as_view(), name="order-list"),
    path("orders/batch", OrderBatchApi.as_view(), name="order-batch"),
    path("orders/<uuid:order_id>", OrderDetailApi.as_view(), name="order-detail"),
    path("events", events_stream, name="event-stream"),
]
