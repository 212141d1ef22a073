from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "risk"
    verbose_name = "Pre-trade risk"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Orders sits below risk and does not import it: it is given risk's checks here.
        from orders.services import hooks
        from risk.adapters import admit_child, admit_new_order, admit_order_change
        from risk.admission import admissions_forget

        if admit_new_order not in hooks.admission_checks:
            hooks.admission_checks.append(admit_new_order)
        if admit_order_change not in hooks.amend_checks:
            hooks.amend_checks.append(admit_order_change)
        if admit_child not in hooks.child_checks:
            hooks.child_checks.append(admit_child)
        if admissions_forget not in hooks.history_removed:
            hooks.history_removed.append(admissions_forget)
