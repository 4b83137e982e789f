"""Values the database cannot store are a validation error, not a 500.

Checked at every ORM flush, for new rows and changed columns:

- text with a NUL character (PostgreSQL's text refuses it) or a lone surrogate (a broken UTF-16
  pair that a JSON body can carry; no driver can encode it);
- a string longer than its VARCHAR (PostgreSQL refuses it; SQLite would store it);
- an integer outside the column's range (INTEGER is 32 bits on PostgreSQL).

Operations check their own limits first, with a message for the field; this is the net under
them, so that whatever slips through still ends in a ValidationFailed (a 422 or the form shown
again), with nothing written.
"""
from __future__ import annotations

from services.core.i18n import lazy_gettext as _l
from sqlalchemy import BigInteger, Enum, Integer, SmallInteger, String, event, inspect
from sqlalchemy.orm import Session

from services.core.errors import ValidationFailed

INTEGER_RANGES = ((SmallInteger, 2**15 - 1), (BigInteger, 2**63 - 1), (Integer, 2**31 - 1))


def _problem(column, value):
    """The message for `value` in `column`, or None when the database can store it."""
    if isinstance(column.type, Enum):  # a member, checked by SQLAlchemy itself
        return None
    if isinstance(value, str):
        if is_broken_text(value):
            return _l("The text contains a character that is not allowed.")
        length = getattr(column.type, "length", None)
        if isinstance(column.type, String) and length and len(value) > length:
            return _l("Some fields are not valid.")
    elif isinstance(value, int) and not isinstance(value, bool):
        for kind, largest in INTEGER_RANGES:
            if isinstance(column.type, kind):
                if not -largest - 1 <= value <= largest:
                    return _l("Enter a whole number from %(low)s to %(high)s.",
                              low=-largest - 1, high=largest)
                break
    return None


def is_broken_text(value: str) -> bool:
    """True for text with a NUL character or a lone surrogate (it cannot be encoded)."""
    if "\x00" in value:
        return True
    if value.isascii():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def refuse_unstorable(session, flush_context, instances) -> None:
    """before_flush: raise ValidationFailed, naming the attribute, for a value the database
    would refuse."""
    for obj in list(session.new) + list(session.dirty):
        state = inspect(obj)
        changed = None if obj in session.new else set(state.committed_state)
        for prop in state.mapper.column_attrs:
            if changed is not None and prop.key not in changed:
                continue
            value = state.dict.get(prop.key)
            if value is None:
                continue
            message = _problem(prop.columns[0], value)
            if message is not None:
                raise ValidationFailed(str(message), fields={prop.key: str(message)})


def install() -> None:
    """Check every flush of every session (idempotent: create_app may run many times)."""
    if not event.contains(Session, "before_flush", refuse_unstorable):
        event.listen(Session, "before_flush", refuse_unstorable)
