"""Administration of the business calendar (public holidays and make-up workdays)."""
from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from services.core.i18n import gettext as _
from flask_login import current_user
from sqlalchemy import extract, select

from services.accounts.forms import ActionForm, CalendarDayForm
from services.accounts.views.admin import admin_bp
from services.core.access import Role, roles_required
from services.core.calendar import CalendarDay, DayKind, remove_calendar_day, set_calendar_day
from services.core.errors import DomainError
from services.core.web import show_errors
from services.extensions import db


def _year() -> int:
    year = request.args.get("year", type=int) or date.today().year
    return min(max(year, 2000), 2100)


@admin_bp.route("/calendar", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def calendar():
    year = _year()
    form = CalendarDayForm()
    if form.validate_on_submit():
        try:
            set_calendar_day(actor_id=current_user.id, day=form.day.data,
                             kind=DayKind(form.kind.data), name=form.name.data)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Saved %(day)s.", day=form.day.data.isoformat()), "success")
            return redirect(url_for("admin.calendar", year=form.day.data.year))
    days = db.session.scalars(select(CalendarDay).where(extract("year", CalendarDay.day) == year)
                              .order_by(CalendarDay.day))
    return render_template("accounts/admin_calendar.html", form=form, days=list(days), year=year,
                           delete_form=ActionForm())


@admin_bp.route("/calendar/<day>/delete", methods=["POST"])
@roles_required(Role.ADMIN)
def delete_calendar_day(day: str):
    try:
        when = date.fromisoformat(day)
    except ValueError:
        return redirect(url_for("admin.calendar"))
    if ActionForm().validate_on_submit():
        remove_calendar_day(actor_id=current_user.id, day=when)
        db.session.commit()
        flash(_("Removed %(day)s.", day=when.isoformat()), "success")
    return redirect(url_for("admin.calendar", year=when.year))
