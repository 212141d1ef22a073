from django.urls import path

from executions.apis import FillListApi, PositionListApi

urlpatterns = [
    path("executions", FillListApi.as_view(), name="execution-list"),
    path("positions", PositionListApi.as_view(), name="position-list"),
]
