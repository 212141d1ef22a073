from django.apps import AppConfig


class FloorIntakeConfig(AppConfig):
    name = "bench.floor.intake"
    label = "floor"  # tables floor_order, floor_orderevent, floor_venuerequest
    default_auto_field = "django.db.models.BigAutoField"
