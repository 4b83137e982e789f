"""The park manager's rent pages: monthly statement per enterprise, payroll exports, subsidies
and payments. Every page is scoped to the manager's own park."""
from __future__ import annotations

from datetime import date

from flask import Response, flash, redirect, render_template, request, url_for
from services.core.i18n import gettext as _
from services.core.i18n import lazy_gettext as _l
from flask_login import current_user

from services.accounts.models import Organisation
from services.core.tabular import XLSX_MIMETYPE
from services.core.access import Role, roles_required
from services.core.errors import DomainError, ValidationFailed
from services.core.pagination import MAX_PER_PAGE, Page
from services.dorms import rent, rent_export
from services.dorms.access import managed_park_id, managed_stay_or_404
from services.dorms.operations import rent as ops
from services.dorms.rent_forms import PaymentForm, SubsidyForm
from services.dorms.views import dorms_bp
from services.extensions import db

PER_PAGE = 50


def _month() -> date:
    raw = request.args.get("month")
    return rent.parse_month(raw) if raw else date.today().replace(day=1)


def _employer_id() -> int | None:
    raw = (request.args.get("employer") or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise ValidationFailed(str(_l("Choose an enterprise from the list.")))
    return int(raw)


def _page_of(rows: list) -> Page:
    try:
        number = max(1, min(int(request.args.get("page", 1)), 10**6))
    except ValueError:
        number = 1
    return Page(items=rows[(number - 1) * PER_PAGE:number * PER_PAGE], page=number,
                per_page=min(PER_PAGE, MAX_PER_PAGE), total=len(rows))


def _subsidy_form(park_id: int) -> SubsidyForm:
    form = SubsidyForm()
    form.employer.choices = [(org.id, org.name) for org in rent.rent_employers(park_id)]
    return form


@dorms_bp.route("/manage/rent")
@roles_required(Role.PARK_MANAGER)
def rent_statement():
    park_id, month, employer_id = managed_park_id(), _month(), _employer_id()
    rows = rent.monthly_statement(park_id, month, employer_id=employer_id)
    totals, grand = rent.totals_by_employer(rows)
    subsidy_form = _subsidy_form(park_id)
    if not subsidy_form.is_submitted():
        subsidy_form.valid_from.data = rent.month_key(month)
    return render_template("dorms/rent.html", month=rent.month_key(month), employer_id=employer_id,
                           page=_page_of(rows), totals=totals, grand=grand,
                           employers=rent.rent_employers(park_id), subsidies=rent.subsidies(park_id),
                           subsidy_form=subsidy_form, payment_form=PaymentForm(formdata=None),
                           today=date.today().isoformat())


def _export(kind: str) -> Response:
    park_id, month, employer_id = managed_park_id(), _month(), _employer_id()
    rows = rent.monthly_statement(park_id, month, employer_id=employer_id)
    key = rent.month_key(month)
    park = db.session.get(Organisation, park_id)
    employer = db.session.get(Organisation, employer_id) if employer_id else None
    name = "-".join(part for part in ("rent", park.code, employer.code if employer else "", key) if part)
    name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
    if kind == "csv":
        body, mimetype = rent_export.to_csv(key, rows), "text/csv; charset=utf-8"
    else:
        body, mimetype = rent_export.to_xlsx(key, rows), XLSX_MIMETYPE
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename={name}.{kind}", "Cache-Control": "no-store"})


@dorms_bp.route("/manage/rent/export.csv")
@roles_required(Role.PARK_MANAGER)
def rent_csv():
    return _export("csv")


@dorms_bp.route("/manage/rent/export.xlsx")
@roles_required(Role.PARK_MANAGER)
def rent_xlsx():
    return _export("xlsx")


@dorms_bp.route("/manage/rent/subsidies", methods=["POST"])
@roles_required(Role.PARK_MANAGER)
def rent_subsidy():
    park_id = managed_park_id()
    form = _subsidy_form(park_id)
    month = form.valid_from.data or ""
    if not form.validate_on_submit():
        flash(_("Check the subsidy: choose an enterprise, a share from 0 to 100 and a month as YYYY-MM."), "error")
        return redirect(url_for("dorms.rent_statement"))
    try:
        ops.set_subsidy(actor_id=current_user.id, park_id=park_id, employer_id=form.employer.data,
                        share_percent=form.share_percent.data, valid_from=rent.parse_month(month))
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("dorms.rent_statement"))
    flash(_("Subsidy saved."), "success")
    return redirect(url_for("dorms.rent_statement", month=month))


@dorms_bp.route("/manage/rent/payments", methods=["POST"])
@roles_required(Role.PARK_MANAGER)
def rent_payment():
    form = PaymentForm()
    if not form.validate_on_submit() or not (form.stay_id.data or "").isdigit():
        flash(_("Check the payment: an amount above zero and the date it was paid."), "error")
        return redirect(url_for("dorms.rent_statement", month=_valid_month_or_none(form.month.data)))
    stay = managed_stay_or_404(int(form.stay_id.data))
    amount = form.amount_yuan.data * 100
    try:
        if amount != amount.to_integral_value():
            raise ValidationFailed(_("Give the amount in yuan with at most two decimals."))
        ops.record_payment(actor_id=current_user.id, stay=stay,
                           month_first_day=rent.parse_month(form.month.data),
                           amount_fen=int(amount), paid_on=form.paid_on.data)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(_("Payment of %(yuan)s yuan recorded for %(name)s.", yuan=f"{amount / 100:.2f}",
                name=stay.worker.display_name), "success")
    return redirect(url_for("dorms.rent_statement", month=_valid_month_or_none(form.month.data)))


def _valid_month_or_none(text: str | None) -> str | None:
    try:
        return rent.month_key(rent.parse_month(text))
    except ValidationFailed:
        return None


