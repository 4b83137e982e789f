"""Personal-data export (PIPL right of access): everything the platform holds about a person.

Each domain registers a section — a function of the user that returns plain JSON data — so the
export grows with the features without this module knowing them.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

_SECTIONS: dict[str, Callable[[Any], Any]] = {}


def register_section(key: str, collect: Callable[[Any], Any]) -> None:
    """Add (or replace) the export section `key`."""
    _SECTIONS[key] = collect


def collect_all(user: Any) -> dict:
    data = {"exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    for key in sorted(_SECTIONS):
        data[key] = _SECTIONS[key](user)
    return data
