"""Pagination shared by pages and the API: `?page=` and `?per_page=` (at most 100)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from services.extensions import db

MAX_PER_PAGE = 100


def _positive_int(raw: Any, default: int) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return default
    return value if value >= 1 else default


class Paged:
    """What the pager shows, from `page`, `per_page` and `total` (for any page-like class)."""

    __slots__ = ()
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


@dataclass
class Page(Paged):
    items: list
    page: int
    per_page: int
    total: int


def paginate(query: Select, *, page: Any = 1, per_page: Any = 20) -> Page:
    """Run `query` for one page; bad or out-of-range numbers fall back to sensible values."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    return paginate_known(query, total=total, page=page, per_page=per_page)


def paginate_known(query: Select, *, total: int, page: Any = 1, per_page: Any = 20) -> Page:
    """One page of `query` when the caller already knows how many rows it has."""
    page_no = min(_positive_int(page, 1), 10**6)
    size = min(_positive_int(per_page, 20), MAX_PER_PAGE)
    items = list(db.session.scalars(query.limit(size).offset((page_no - 1) * size)))
    return Page(items=items, page=page_no, per_page=size, total=total)
