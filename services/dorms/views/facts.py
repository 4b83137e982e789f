"""The park manager records the facts that give workers priority points."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from services.core.i18n import gettext as _
from flask_login import current_user
from sqlalchemy import exists, or_, select

from services.accounts import operations as accounts
from services.accounts.models import Organisation, User, WorkerFacts
from services.core.access import Role, roles_required
from services.core.errors import DomainError, NotFound
from services.core.pagination import paginate
from services.core.web import show_errors
from services.dorms.access import managed_park_id
from services.dorms.forms import WorkerFactsForm
from services.dorms.models import DormApplication
from services.dorms.views import dorms_bp
from services.extensions import db


def _park_workers(park_id: int):
    """Workers employed in the park or who applied to it."""
    applied = exists().where(DormApplication.worker_id == User.id, DormApplication.park_id == park_id)
    employed = exists().where(Organisation.id == User.org_id, Organisation.park_id == park_id)
    return select(User).where(User.role == Role.WORKER, or_(applied, employed))


@dorms_bp.route("/manage/facts")
@roles_required(Role.PARK_MANAGER)
def facts():
    query = _park_workers(managed_park_id()).order_by(User.username)
    search = request.args.get("q", "").strip().lower()[:40]
    if search:
        like = f"%{search.replace('%', '').replace('_', '')}%"
        query = query.where(or_(User.username.like(like), User.name.like(like)))
    page = paginate(query, page=request.args.get("page", 1))
    known = {f.user_id: f for f in db.session.scalars(
        select(WorkerFacts).where(WorkerFacts.user_id.in_([u.id for u in page.items])))}
    return render_template("dorms/facts.html", page=page, known=known, search=search)


@dorms_bp.route("/manage/facts/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.PARK_MANAGER)
def worker_facts(user_id: int):
    worker = db.session.scalar(_park_workers(managed_park_id()).where(User.id == user_id))
    if worker is None:  # not a worker of this park: no hint that the account exists
        raise NotFound(_("Not found."))
    current = db.session.get(WorkerFacts, worker.id)
    form = WorkerFactsForm(obj=current)
    if current and not form.is_submitted():
        form.honour.data = current.honour.value
    if form.validate_on_submit():
        try:
            accounts.set_worker_facts(actor_id=current_user.id, worker=worker, honour=form.honour.data,
                                      hardship_registered=form.hardship_registered.data,
                                      skill_grade=form.skill_grade.data,
                                      in_park_since=form.in_park_since.data)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Saved. Points change at the next allocation run."), "success")
            return redirect(url_for("dorms.facts"))
    return render_template("dorms/worker_facts.html", worker=worker, form=form)
