"""The case dashboard (server-rendered SVG bars, no JavaScript) and its CSV/XLSX exports.

A caseworker or supervisor sees the cases their agency leads now, with the three agencies' time
held side by side; the coordinator and the administrator see every case, broken down by agency.
The figures come from `services.cases.reports`; exports carry the same figures, no case or person.
"""
from __future__ import annotations

from flask import Response, render_template, request
from services.core.i18n import gettext as _
from flask_login import current_user

from services.cases import reports
from services.cases.labels import AGENCY_LABELS, CATEGORY_LABELS, DEADLINE_LABELS, STATUS_LABELS
from services.cases.models import agency_of
from services.cases.views import cases_bp
from services.core.access import Role, roles_required
from services.core.errors import Forbidden
from services.core.tabular import XLSX_MIMETYPE

DASHBOARD_ROLES = (Role.CASEWORKER, Role.SUPERVISOR, Role.COORDINATOR, Role.ADMIN)
LABELS = {"agency": AGENCY_LABELS, "category": CATEGORY_LABELS, "deadline": DEADLINE_LABELS,
          "status": STATUS_LABELS, "figure": reports.FIGURE_LABELS, "held": reports.HELD_LABELS,
          "period": reports.PERIOD_LABELS}


def _figures() -> reports.CaseDashboard:
    """The signed-in user's scope: every case, or the cases their agency leads."""
    if current_user.role in (Role.COORDINATOR, Role.ADMIN):
        agency = None
    else:
        agency = agency_of(current_user)
        if agency is None:
            raise Forbidden(_("Your account does not belong to an agency."))
    return reports.dashboard(agency=agency, period=reports.parse_period(request.args.get("period")))


def _download(body, mimetype: str, data: reports.CaseDashboard, ext: str) -> Response:
    name = f"cases-dashboard-{data.agency or reports.ALL}-{data.period}.{ext}"
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename={name}",
                             "Cache-Control": "no-store"})


@cases_bp.route("/cases/dashboard")
@roles_required(*DASHBOARD_ROLES)
def dashboard():
    return render_template("cases/dashboard.html", data=_figures(), labels=LABELS,
                           periods=list(reports.PERIODS))


@cases_bp.route("/cases/dashboard.csv")
@roles_required(*DASHBOARD_ROLES)
def dashboard_csv():
    data = _figures()
    return _download(reports.to_csv(data), "text/csv", data, "csv")


@cases_bp.route("/cases/dashboard.xlsx")
@roles_required(*DASHBOARD_ROLES)
def dashboard_xlsx():
    data = _figures()
    return _download(reports.to_xlsx(data), XLSX_MIMETYPE, data, "xlsx")
