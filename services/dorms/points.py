"""Priority points (积分): a park's policy turns facts the platform holds into a score.

Every factor has a documented weight the park manager can see and change. The breakdown is
kept with the application so the worker sees exactly where each point came from.

| factor | fact | default weight |
| --- | --- | --- |
| `model_worker` | honour: model worker (劳模) | 20 |
| `craftsman` | honour: master craftsman (工匠) | 15 |
| `hardship` | registered worker in hardship (困难职工建档) | 15 |
| `skill_grade` | per certified skill grade (0–5) | 3 |
| `years_in_park` | per whole year working in the park, at most 10 | 2 |
| `waiting_months` | per 30 days since the application, at most 12 | 1 |
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.core.i18n import lazy_gettext as _l

DEFAULT_WEIGHTS: dict[str, float] = {
    "model_worker": 20, "craftsman": 15, "hardship": 15, "skill_grade": 3,
    "years_in_park": 2, "waiting_months": 1,
}
FACTOR_LABELS = {
    "model_worker": _l("Model worker"),
    "craftsman": _l("Master craftsman"),
    "hardship": _l("Registered hardship"),
    "skill_grade": _l("Skill grade (per grade)"),
    "years_in_park": _l("Years working in the park (per year, up to 10)"),
    "waiting_months": _l("Months waiting (per 30 days, up to 12)"),
}
CAPS = {"years_in_park": 10, "waiting_months": 12}


@dataclass(frozen=True)
class Facts:
    honour: str = "none"
    hardship_registered: bool = False
    skill_grade: int = 0
    in_park_since: date | None = None


def effective_weights(stored: dict | None) -> dict[str, float]:
    weights = dict(DEFAULT_WEIGHTS)
    for key, value in (stored or {}).items():
        if key in weights:
            weights[key] = float(value)
    return weights


def compute(facts: Facts, *, applied_on: date, today: date, weights: dict | None = None
            ) -> tuple[float, list[dict]]:
    """The points and their breakdown [{factor, count, weight, points}] (factors that count)."""
    w = effective_weights(weights)
    counts = {
        "model_worker": 1 if facts.honour == "model_worker" else 0,
        "craftsman": 1 if facts.honour == "craftsman" else 0,
        "hardship": 1 if facts.hardship_registered else 0,
        "skill_grade": max(0, min(5, facts.skill_grade)),
        "years_in_park": min(CAPS["years_in_park"],
                             max(0, (today - facts.in_park_since).days // 365)
                             if facts.in_park_since else 0),
        "waiting_months": min(CAPS["waiting_months"], max(0, (today - applied_on).days // 30)),
    }
    breakdown = [
        {"factor": key, "count": count, "weight": w[key], "points": round(count * w[key], 2)}
        for key, count in counts.items() if count
    ]
    return round(sum(item["points"] for item in breakdown), 2), breakdown
