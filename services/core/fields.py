"""Form fields shared by the domains' forms."""
from __future__ import annotations

from wtforms import IntegerField as _WTFormsIntegerField

MAX_DIGITS = 15  # more than any count, amount in yuan or id a form asks for
NOT_AN_INTEGER = "Not a valid integer value."  # WTForms' own message, in WTForms' catalogues


class IntegerField(_WTFormsIntegerField):
    """WTForms' IntegerField, refusing a number with more than MAX_DIGITS digits as not a valid
    integer: a number beyond a float's range would crash NumberRange (OverflowError, a 500)."""

    def process_formdata(self, valuelist):
        if valuelist and len(str(valuelist[0]).strip().lstrip("+-")) > MAX_DIGITS:
            self.data = None
            raise ValueError(self.gettext(NOT_AN_INTEGER))
        super().process_formdata(valuelist)
