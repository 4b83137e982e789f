"""Home-page panels: each domain registers what a role sees on its home page.

A panel is a template partial plus a function that returns its context for the current user.
The accounts home page renders the panels registered for the user's role, in order, so a
feature adds its panel from its own package without touching the home page.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from services.core.access import Role


@dataclass(frozen=True)
class Panel:
    key: str
    roles: frozenset[Role]
    template: str
    context: Callable[[Any], dict]
    order: int = 100


_PANELS: dict[str, Panel] = {}


def register_panel(
    key: str, *, roles: tuple[Role, ...], template: str,
    context: Callable[[Any], dict] = lambda user: {}, order: int = 100,
) -> None:
    """Add (or replace) the panel `key` for the given roles."""
    _PANELS[key] = Panel(key, frozenset(roles), template, context, order)


def panels_for(user: Any) -> list[tuple[Panel, dict]]:
    chosen = sorted((p for p in _PANELS.values() if user.role in p.roles), key=lambda p: p.order)
    return [(panel, panel.context(user)) for panel in chosen]
