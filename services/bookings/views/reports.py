"""Booking dashboard (server-rendered bars, no JavaScript) and its CSV/XLSX exports.

Provider staff see their organisation's services; coordinators and administrators see all.
"""
from __future__ import annotations

from flask import Response, render_template
from flask_login import current_user

from services.bookings import reports
from services.bookings.views import bookings_bp
from services.core.tabular import XLSX_MIMETYPE
from services.core.access import Role, roles_required

REPORT_ROLES = (Role.PROVIDER, Role.COORDINATOR, Role.ADMIN)
XLSX = XLSX_MIMETYPE


def _rows():
    scope = current_user.org_id if current_user.role is Role.PROVIDER else None
    return reports.service_stats(provider_id=scope)


@bookings_bp.route("/booking-reports")
@roles_required(*REPORT_ROLES)
def dashboard():
    rows = _rows()
    top = max([max(r.bookings, r.waitlist_demand) for r in rows] + [1])
    return render_template("bookings/dashboard.html", rows=rows, top=top)


@bookings_bp.route("/booking-reports.csv")
@roles_required(*REPORT_ROLES)
def dashboard_csv():
    return Response(reports.to_csv(_rows()), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=bookings.csv"})


@bookings_bp.route("/booking-reports.xlsx")
@roles_required(*REPORT_ROLES)
def dashboard_xlsx():
    return Response(reports.to_xlsx(_rows()), mimetype=XLSX,
                    headers={"Content-Disposition": "attachment; filename=bookings.xlsx"})
