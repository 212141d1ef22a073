from django.urls import path

from bench.floor.intake.views import OrderCreateApi

# The OMS's path, so the same load generator posts to either.
urlpatterns = [path("api/v1/orders", OrderCreateApi.as_view())]
