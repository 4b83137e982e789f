"""Column types shared by every domain."""
from __future__ import annotations

import enum

from sqlalchemy import Enum


def str_enum(enum_cls: type[enum.Enum], length: int = 20) -> Enum:
    """A Python Enum stored as its string values, with a CHECK constraint (portable, readable)."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
        create_constraint=True,
    )
