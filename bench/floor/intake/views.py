"""POST /api/v1/orders: validate, then in one transaction the order, its CREATED event and
its NEW request, as our intake writes them; 201 with the order. A repeated clientOrderId
meets the unique key and is answered 409, without looking for the first order."""

import hashlib
import json

from django.conf import settings
from django.db import IntegrityError, transaction
from rest_framework import generics
from rest_framework.exceptions import APIException

from bench.floor.intake.models import OrderEvent, VenueRequest
from bench.floor.intake.serializers import OrderSerializer


class Conflict(APIException):
    status_code = 409
    default_detail = "clientOrderId already used for this account."


class OrderCreateApi(generics.CreateAPIView):
    serializer_class = OrderSerializer

    def perform_create(self, serializer):
        terms = serializer.validated_data
        venue = terms.get("venue_id") or settings.FLOOR_DEFAULT_VENUE
        # The column ours fills with the terms' sha256 (for its replays): filled alike.
        fingerprint = hashlib.sha256(
            json.dumps(terms, sort_keys=True, default=str).encode()).hexdigest()
        try:
            with transaction.atomic():
                order = serializer.save(venue_id=venue, status="QUEUED",
                                        request_fingerprint=fingerprint)
                OrderEvent.objects.create(order=order, type="CREATED", to_status="QUEUED",
                                          actor=self.request.user.get_username())
                VenueRequest.objects.create(order=order, venue_id=venue, kind="NEW")
        except IntegrityError as exc:
            raise Conflict() from exc
