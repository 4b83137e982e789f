"""WTForms' own messages in the request's language, from a catalogue read once per process."""
from __future__ import annotations

from flask import request


def test_wtforms_messages_follow_the_language_and_are_read_once(app):
    seen = []
    for lang in ("zh_CN", "en", "zh_CN"):
        with app.test_request_context("/", headers={"Cookie": f"lang={lang}"}):
            catalogue = request.wtforms_translations
            seen.append(catalogue)
            text = catalogue.ugettext("This field is required.")
            if lang == "en":
                assert text == "This field is required."
            else:
                assert text != "This field is required." and any("\u4e00" <= c <= "\u9fff" for c in text)
    assert seen[0] is seen[2] and seen[0] is not seen[1]
