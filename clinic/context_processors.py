from .middleware import idle_timeout_seconds
from .navigation import navigation_for, reports_for
from .roles import user_role


def clinic_context(request):
    user = getattr(request, "user", None)
    clinic = getattr(request, "clinic", None)
    return {
        "clinic": clinic,
        "navigation": navigation_for(user) if user else [],
        "reports_menu": reports_for(user) if user else [],
        "current_role": user_role(user) if user else None,
        "idle_timeout_seconds": idle_timeout_seconds(clinic),
    }
