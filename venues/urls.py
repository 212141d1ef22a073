from django.urls import path

from venues.apis import VenueDetailApi, VenueListApi

urlpatterns = [
    path("venues", VenueListApi.as_view(), name="venue-list"),
    path("venues/<str:code>", VenueDetailApi.as_view(), name="venue-detail"),
]
