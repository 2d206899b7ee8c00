"""System checks for settings a production clinic must not run without."""

from django.conf import settings
from django.core.checks import Warning, register


@register(deploy=True)
def second_factor_enforced(app_configs, **kwargs):
    if settings.DEBUG or settings.TWO_FACTOR_REQUIRED:
        return []
    return [
        Warning(
            "TWO_FACTOR_REQUIRED is off: clinicians and clinic admins can read and sign medical "
            "records with a password alone.",
            hint="Remove TWO_FACTOR_REQUIRED=false from the environment.",
            id="mesotrack.W001",
        )
    ]
