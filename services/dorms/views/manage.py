"""The park manager's dormitory pages: overview, rooms, import, policy, runs, queue, assignment."""
from __future__ import annotations

import secrets
from pathlib import Path

from flask import current_app, flash, redirect, render_template, request, session, url_for
from services.core.i18n import current_locale
from services.core.i18n import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from sqlalchemy import select

from services.accounts.models import Organisation, OrgKind
from services.core import cache
from services.core.access import Role, roles_required
from services.core.errors import DomainError, NotFound
from services.core.page_cache import per_user
from services.core.panels import register_panel
from services.core.web import show_errors
from services.dorms import caching, queries
from services.dorms.access import managed_bed_or_404, managed_park_id, managed_room_or_404
from services.dorms.explain import status_label
from services.dorms.forms import (AssignForm, ConfirmImportForm, ImportForm, PolicyForm,
                                  RoomStatusForm, RunForm, SeedForm)
from services.dorms.inventory_file import InventoryFileError, check_rows, read_table
from services.dorms.jobs import queue_allocation
from services.dorms.models import AllocationRun, DormApplication, RoomStatus
from services.dorms.operations import applications as app_ops
from services.dorms.operations import inventory, offers
from services.dorms.points import DEFAULT_WEIGHTS, FACTOR_LABELS
from services.dorms.views import dorms_bp
from services.extensions import db

MANAGER = Role.PARK_MANAGER
ROOMS_PER_PAGE = 20  # a phone screen's worth of rooms with their beds and status forms

register_panel("dorms_manager", roles=(MANAGER,), template="dorms/_panel_manager.html", order=30,
               context=lambda user: {"stats": queries.overview(user.org_id)})


@dorms_bp.route("/manage")
@roles_required(MANAGER)
def manage():
    park_id = managed_park_id()
    return render_template("dorms/manage.html", stats=queries.overview(park_id),
                           park=db.session.get(Organisation, park_id), runs=queries.runs(park_id, 5))


@dorms_bp.route("/manage/rooms")
@per_user
@roles_required(MANAGER)
def rooms():
    park_id = managed_park_id()
    page = queries.rooms_page(park_id=park_id, building=request.args.get("building", ""),
                              vacant=request.args.get("vacant") == "1",
                              page=request.args.get("page", 1), per_page=ROOMS_PER_PAGE)
    return render_template("dorms/rooms.html", page=page, buildings=queries.buildings(park_id),
                           sections=_room_sections(park_id, page, request.args))


_CSRF_MARK = Markup("<csrf-token>")  # data containing it would be escaped: only ours is replaced
_ID_MARK = 4_611_686_018_427_387_904  # 2**62: an id no route is asked for


def _room_sections(park_id: int, page, args) -> Markup:
    """The page's rooms as HTML, rendered once per park, filter, page and language while no
    room, bed, stay or holder's name of the park changes; the session's CSRF token put in."""
    key = (f"dorms:room-sections:{park_id}:{args.get('building', '').upper()[:20]}:"
           f"{int(args.get('vacant') == '1')}:{page.page}:{page.per_page}:{current_locale()}:"
           f"{request.script_root}")

    def render() -> str:  # without the context processors: the page around it has run them
        return current_app.jinja_env.get_template("dorms/_room_sections.html").render(
            rooms=page.items, csrf=_CSRF_MARK, assign_url=_url_pattern("dorms.assign", "bed_id"),
            status_url=_url_pattern("dorms.room_status", "room_id"))

    html = cache.cached(key, render, depends_on=caching.park_namespaces(park_id))
    return Markup(html.replace(_CSRF_MARK, escape(generate_csrf())))


def _url_pattern(endpoint: str, id_name: str) -> str:
    """The endpoint's URL with `{}` where the id goes, built once for a page's many links."""
    return url_for(endpoint, **{id_name: _ID_MARK}).replace(str(_ID_MARK), "{}")


@dorms_bp.route("/manage/rooms/<int:room_id>/status", methods=["POST"])
@roles_required(MANAGER)
def room_status(room_id: int):
    room = managed_room_or_404(room_id)
    form = RoomStatusForm()
    if form.validate_on_submit():
        inventory.set_room_status(actor_id=current_user.id, room=room, status=RoomStatus(form.status.data))
        db.session.commit()
        flash(_("Room %(room)s updated.", room=room.label), "success")
    return redirect(url_for("dorms.rooms"))


def _import_path(token: str) -> Path:
    folder = Path(current_app.config["UPLOAD_FOLDER"]) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{token}.bin"


def _employer_codes() -> set[str]:
    return set(db.session.scalars(select(Organisation.code).where(Organisation.kind == OrgKind.EMPLOYER)))


@dorms_bp.route("/manage/import", methods=["GET", "POST"])
@roles_required(MANAGER)
def import_rooms():
    """Upload → preview (every bad row with its line and reason) → confirm. Nothing is saved before."""
    form, preview, errors, token = ImportForm(), None, [], None
    if form.validate_on_submit():
        data = form.file.data.read()
        try:
            preview, errors = check_rows(read_table(data, form.file.data.filename or ""),
                                         employer_codes=_employer_codes())
        except InventoryFileError as error:
            form.file.errors.append(str(error))
        else:
            token = secrets.token_urlsafe(16)
            _import_path(token).write_bytes(data)
            session["dorm_import"] = {"token": token, "name": form.file.data.filename or ""}
    return render_template("dorms/import.html", form=form, preview=preview, errors=errors,
                           confirm=ConfirmImportForm(token=token) if token and not errors else None)


@dorms_bp.route("/manage/import/confirm", methods=["POST"])
@roles_required(MANAGER)
def confirm_import():
    form = ConfirmImportForm()
    pending = session.get("dorm_import") or {}
    if not form.validate_on_submit() or form.token.data != pending.get("token"):
        flash(_("The preview expired; upload the file again."), "error")
        return redirect(url_for("dorms.import_rooms"))
    path = _import_path(pending["token"])
    try:
        rows, errors = check_rows(read_table(path.read_bytes(), pending["name"]),
                                  employer_codes=_employer_codes())
        if errors:
            raise InventoryFileError(_("The file has errors; fix them and upload it again."))
        report = inventory.import_inventory(actor_id=current_user.id, park_id=managed_park_id(), rows=rows)
        db.session.commit()
    except (InventoryFileError, DomainError, FileNotFoundError) as error:
        db.session.rollback()
        flash(str(getattr(error, "message", error)), "error")
        return redirect(url_for("dorms.import_rooms"))
    finally:
        session.pop("dorm_import", None)
        path.unlink(missing_ok=True)
    flash(_("Imported: %(new)d new rooms, %(changed)d changed, %(same)d unchanged, %(beds)d new beds.",
            new=report.created_rooms, changed=report.updated_rooms, same=report.unchanged_rooms,
            beds=report.created_beds), "success")
    return redirect(url_for("dorms.rooms"))


@dorms_bp.route("/manage/policy", methods=["GET", "POST"])
@roles_required(MANAGER)
def policy():
    park_id = managed_park_id()
    current = inventory.policy_for(park_id)
    weights = {**DEFAULT_WEIGHTS, **(current.weights or {})}
    form = PolicyForm(obj=current, **({} if request.method == "POST" else weights))
    if form.validate_on_submit():
        try:
            inventory.update_policy(
                actor_id=current_user.id, park_id=park_id,
                min_area_per_person=form.min_area_per_person.data,
                max_beds_per_room=form.max_beds_per_room.data, offer_hours=form.offer_hours.data,
                mix_shifts=form.mix_shifts.data, admits_gig_workers=form.admits_gig_workers.data,
                weights={key: float(getattr(form, key).data) for key in DEFAULT_WEIGHTS})
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Policy saved. Points are recomputed at the next run."), "success")
            return redirect(url_for("dorms.policy"))
    return render_template("dorms/policy.html", form=form, seed_form=SeedForm(),
                           policy=current, factor_labels=FACTOR_LABELS)


@dorms_bp.route("/manage/seed", methods=["POST"])
@roles_required(MANAGER)
def publish_seed():
    form = SeedForm()
    if form.validate_on_submit():
        try:
            count = app_ops.publish_seed(actor_id=current_user.id, park_id=managed_park_id(),
                                         seed=form.seed.data)
            db.session.commit()
            flash(_("Seed published; %(n)d waiting applications reordered.", n=count), "success")
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
    return redirect(url_for("dorms.policy"))


@dorms_bp.route("/manage/runs", methods=["GET", "POST"])
@roles_required(MANAGER)
def runs():
    park_id = managed_park_id()
    form = RunForm()
    if form.validate_on_submit():
        run = queue_allocation(park_id=park_id, actor_id=current_user.id,
                               commit=form.commit.data == "1")
        return redirect(url_for("dorms.run", run_id=run.id))
    return render_template("dorms/runs.html", runs=queries.runs(park_id), form=form)


@dorms_bp.route("/manage/runs/<int:run_id>")
@roles_required(MANAGER)
def run(run_id: int):
    found = db.session.get(AllocationRun, run_id)
    if found is None or found.park_id != managed_park_id():
        raise NotFound(_("Not found."))
    return render_template("dorms/run.html", run=found, form=RunForm(commit="1"),
                           rows=_run_rows(found))


def _run_rows(run: AllocationRun) -> list[dict]:
    if not run.result:
        return []
    rooms = {r["id"]: f'{r["building"]}-{r["id"]}' for r in run.instance["rooms"]}
    numbers = dict(db.session.execute(select(DormApplication.id, DormApplication.points).where(
        DormApplication.park_id == run.park_id)).all())
    rows = [{"applicant": a["applicant"], "room": rooms.get(a["room"], a["room"]), "reason": "placed",
             "points": numbers.get(int(a["applicant"]))} for a in run.result["assignments"]]
    rows += [{"applicant": u["applicant"], "room": None, "reason": u["reason"],
              "points": numbers.get(int(u["applicant"]))} for u in run.result["unassigned"]]
    return sorted(rows, key=lambda r: (-(r["points"] or 0), int(r["applicant"])))[:500]


@dorms_bp.route("/manage/queue")
@roles_required(MANAGER)
def queue():
    page = queries.queue_page(park_id=managed_park_id(), page=request.args.get("page", 1))
    return render_template("dorms/queue.html", page=page, status_label=status_label)


@dorms_bp.route("/manage/beds/<int:bed_id>/assign", methods=["GET", "POST"])
@roles_required(MANAGER)
def assign(bed_id: int):
    bed = managed_bed_or_404(bed_id)
    form = AssignForm()
    if form.validate_on_submit():
        application = db.session.get(DormApplication, form.application_id.data)
        try:
            if application is None or application.park_id != managed_park_id():
                raise NotFound(_("No such application in your park."))
            offers.assign_bed(actor_id=current_user.id, bed=bed, application=application,
                              reason=form.reason.data)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            form.application_id.errors.append(error.message)
        else:
            flash(_("Bed offered to application %(id)d.", id=application.id), "success")
            return redirect(url_for("dorms.rooms"))
    return render_template("dorms/assign.html", bed=bed, form=form)
