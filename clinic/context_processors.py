from .navigation import navigation_for
from .roles import user_role


def clinic_context(request):
    user = getattr(request, "user", None)
    return {
        "clinic": getattr(request, "clinic", None),
        "navigation": navigation_for(user) if user else [],
        "current_role": user_role(user) if user else None,
    }
