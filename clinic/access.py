"""How views declare who may open them.

Every view either carries @permission_required (login + the listed permissions, 403 with the reason
otherwise) or is explicitly public with @login_not_required. The role × URL test in
clinic/tests/test_access_matrix.py walks every URL pattern against each app's expected table.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from .roles import user_role


def permission_required(*perms: str):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request.user.has_perms(perms):
                role = user_role(request.user)
                who = f"The {role.label.lower()} role" if role else "Your account"
                raise PermissionDenied(f"{who} does not give access to this page.")
            return view(request, *args, **kwargs)

        wrapped.required_permissions = perms
        return wrapped

    return decorator
