"""Case pages: one blueprint, `cases`, for the agencies' side of aid requests.

Paths: `/cases…` (queues, a case, its actions, the team, arbitration, phone intake, rules,
dashboard) and `/handoffs/<id>/…` (answering a transfer or co-handling request).
"""
from flask import Blueprint

import services.cases.export  # noqa: F401  (registers the personal-data export section)
import services.cases.models  # noqa: F401  (the domain's tables)

cases_bp = Blueprint("cases", __name__)


@cases_bp.app_context_processor
def _case_labels() -> dict:
    from services.cases.labels import TemplateLabels

    return {"case_labels": TemplateLabels}


@cases_bp.app_template_global()
def cached_fragment(spec, caller):
    """`{% call cached_fragment(spec) %}…{% endcall %}`: the block rendered once per version of
    the data it shows, per language and timezone. `spec` is `(key, namespaces)` from the view,
    and the key must name everything the block shows; None renders the block every time (a
    block with a CSRF token or anyone's personal data is never cached)."""
    if spec is None:
        return caller()
    from services.core import cache
    from services.core.i18n import current_locale, current_timezone

    key, namespaces = spec
    return cache.cached(f"{key}:html:{current_locale()}:{current_timezone()}", caller,
                        depends_on=namespaces)


@cases_bp.app_template_filter("agency")
def _agency(code) -> str:
    """`codes|map('agency')`: an agency code as its name."""
    from services.cases.labels import agency_label

    return agency_label(code)


# one line per page module, so that adding a module touches one line
from services.cases.views import case  # noqa: E402,F401
from services.cases.views import handoffs  # noqa: E402,F401
from services.cases.views import queue  # noqa: E402,F401
from services.cases.views import rules  # noqa: E402,F401
from services.cases.views import team  # noqa: E402,F401
from services.cases.views import reports  # noqa: E402,F401

__all__ = ["cases_bp"]
