"""What the cases domain holds about a worker, for their personal-data export (PIPL): their
requests with the feed they see, the updates written to them and their files' names — not the
agencies' internal notes, which are the agencies' working papers."""
from __future__ import annotations

from sqlalchemy import select

from services.cases.feed import feed
from services.cases.models import Case, CaseNote
from services.core.exports import register_section
from services.extensions import db


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def cases_section(user) -> list[dict]:
    cases = list(db.session.scalars(select(Case).where(Case.worker_id == user.id)
                                    .order_by(Case.id)))
    updates: dict[int, list[CaseNote]] = {}
    for note in db.session.scalars(select(CaseNote).where(
            CaseNote.case_id.in_([c.id for c in cases]), CaseNote.worker_visible.is_(True))):
        updates.setdefault(note.case_id, []).append(note)
    return [{
        "case_no": c.case_no, "category": c.category, "status": c.status.value,
        "description": c.description, "amount_fen": c.amount_fen, "employer_name": c.employer_name,
        "incident_start": _iso(c.incident_start), "incident_end": _iso(c.incident_end),
        "contact_preference": c.contact_preference.value, "consented_agencies": c.consented_agencies,
        "lead_agency": c.lead_agency, "filed_at": _iso(c.created_at),
        "outcome": c.outcome.value if c.outcome else None, "outcome_note": c.outcome_note,
        "recovered_fen": c.recovered_fen, "satisfaction": c.satisfaction, "comment": c.comment,
        "files": [f.file.original_name for f in c.files],
        "updates": [{"at": _iso(n.created_at), "text": n.body} for n in updates.get(c.id, [])],
        "feed": [{"at": _iso(item["at"]), "text": item["text"]} for item in feed(c)],
    } for c in cases]


register_section("cases", cases_section)
