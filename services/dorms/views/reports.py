"""The park manager's dormitory dashboard (server-rendered SVG bars, no JavaScript) and its
filterable, paginated lists of rooms and waiting applications with CSV/XLSX exports."""
from __future__ import annotations

from flask import Response, render_template, request

from services.core.tabular import XLSX_MIMETYPE
from services.core.access import Role, roles_required
from services.dorms import reports
from services.dorms.access import managed_park_id
from services.dorms.models import (QUEUED_APPLICATION, RoomGender, RoomKind, RoomStatus)
from services.dorms.views import dorms_bp

MANAGER = Role.PARK_MANAGER
XLSX = XLSX_MIMETYPE


def _download(body, mimetype: str, filename: str) -> Response:
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename={filename}",
                             "Cache-Control": "no-store"})


@dorms_bp.route("/manage/dashboard")
@roles_required(MANAGER)
def dashboard():
    return render_template("dorms/dashboard.html", data=reports.dashboard(managed_park_id()))


@dorms_bp.route("/manage/dashboard/rooms")
@roles_required(MANAGER)
def dashboard_rooms():
    filters = reports.RoomFilters.from_args(request.args)
    page = reports.rooms_list(park_id=managed_park_id(), filters=filters,
                              page=request.args.get("page", 1))
    return render_template("dorms/dashboard_rooms.html", page=page, filters=filters,
                           kinds=list(RoomKind), genders=list(RoomGender), statuses=list(RoomStatus))


@dorms_bp.route("/manage/dashboard/rooms.csv")
@roles_required(MANAGER)
def dashboard_rooms_csv():
    rows = reports.rooms_export(park_id=managed_park_id(),
                                filters=reports.RoomFilters.from_args(request.args))
    return _download(reports.to_csv(rows, reports.ROOM_COLUMNS), "text/csv", "dorm-rooms.csv")


@dorms_bp.route("/manage/dashboard/rooms.xlsx")
@roles_required(MANAGER)
def dashboard_rooms_xlsx():
    rows = reports.rooms_export(park_id=managed_park_id(),
                                filters=reports.RoomFilters.from_args(request.args))
    return _download(reports.to_xlsx(rows, reports.ROOM_COLUMNS, "rooms"), XLSX, "dorm-rooms.xlsx")


@dorms_bp.route("/manage/dashboard/queue")
@roles_required(MANAGER)
def dashboard_queue():
    filters = reports.QueueFilters.from_args(request.args)
    page = reports.queue_list(park_id=managed_park_id(), filters=filters,
                              page=request.args.get("page", 1))
    return render_template("dorms/dashboard_queue.html", page=page, filters=filters,
                           statuses=QUEUED_APPLICATION)


@dorms_bp.route("/manage/dashboard/queue.csv")
@roles_required(MANAGER)
def dashboard_queue_csv():
    rows = reports.queue_export(park_id=managed_park_id(),
                                filters=reports.QueueFilters.from_args(request.args))
    return _download(reports.to_csv(rows, reports.QUEUE_COLUMNS), "text/csv", "dorm-queue.csv")


@dorms_bp.route("/manage/dashboard/queue.xlsx")
@roles_required(MANAGER)
def dashboard_queue_xlsx():
    rows = reports.queue_export(park_id=managed_park_id(),
                                filters=reports.QueueFilters.from_args(request.args))
    return _download(reports.to_xlsx(rows, reports.QUEUE_COLUMNS, "queue"), XLSX, "dorm-queue.xlsx")
