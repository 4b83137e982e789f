"""Translation catalogues: every string in the code has a Chinese translation, the committed .mo
files match their .po files, placeholders survive translation, and the pages come out in Chinese
by default and in English on request.

When a test here fails after you added or changed a user-facing string, refresh the catalogues
from /work/main (or the repository root):

    .venv/bin/pybabel extract -F babel.cfg -k _l --ignore-dirs='.* __pycache__' \\
        -o translations/messages.pot --no-location --sort-output .
    .venv/bin/pybabel update -i translations/messages.pot -d translations \\
        --no-fuzzy-matching --ignore-obsolete
    # translate the new entries in translations/zh_Hans_CN/LC_MESSAGES/messages.po, then
    .venv/bin/pybabel compile -d translations

`--ignore-dirs` matters: without it Babel skips every directory whose name starts with "_", so
the strings of templates/_macros/ would be dropped from the catalogues.

The Chinese catalogue lives in translations/zh_Hans_CN/, not zh_CN/: Flask-Babel turns the
configured "zh_CN" into babel.Locale("zh_CN"), whose name is "zh_Hans_CN", and looks for
translations/zh_Hans_CN/ (then translations/zh/) only. test_flask_babel_finds_the_catalogues
guards this.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from tests.conftest import csrf_token

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "translations"
# The directory names Flask-Babel looks up for the app's LANGUAGES ("zh_CN" -> "zh_Hans_CN").
ZH = str(Locale.parse("zh_CN"))
LOCALES = (ZH, "en")
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None}  # the Makefile's `-k _l` (lazy_gettext as _l)
SKIPPED_DIRS = {"__pycache__", "node_modules"}
PLACEHOLDER_RE = re.compile(
    r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]"
)
REFRESH_HINT = ("refresh the catalogues as the docstring of tests/test_translations.py says "
                "(pybabel extract / update / compile)")


def _read_mapping() -> tuple[list[tuple[str, str]], dict[str, dict]]:
    try:
        from babel.messages.frontend import parse_mapping_cfg as parse
    except ImportError:  # Babel < 2.14
        from babel.messages.frontend import parse_mapping as parse
    with open(ROOT / "babel.cfg", encoding="utf-8") as fileobj:
        return parse(fileobj)


def _directory_filter(dirpath: str) -> bool:
    """Skip dot directories (.venv, .git …) but not "_" ones: templates/_macros holds strings."""
    name = os.path.basename(dirpath)
    return not (name.startswith(".") or name in SKIPPED_DIRS)


def _extract_from_code() -> Catalog:
    """The messages of the current code, extracted the way babel.cfg and the Makefile say."""
    method_map, options_map = _read_mapping()
    catalog = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS,
        directory_filter=_directory_filter,
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def _po(locale: str) -> Catalog:
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as fileobj:
        return read_po(fileobj, locale=locale)


def _mo(locale: str) -> Catalog:
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo", "rb") as fileobj:
        return read_mo(fileobj)


def _key(message) -> tuple[str, str | None]:
    msgid = message.id[0] if isinstance(message.id, (list, tuple)) else message.id
    return msgid, message.context


def _strings(message) -> tuple[str, ...]:
    string = message.string
    return tuple(string) if isinstance(string, (list, tuple)) else (string,)


def _placeholders(text: str) -> set[str]:
    return {token for token in PLACEHOLDER_RE.findall(text) if token != "%%"}


def _where(message) -> str:
    return ", ".join(f"{path}:{line}" for path, line in message.locations[:2])


@pytest.fixture(scope="module")
def code_catalog() -> Catalog:
    catalog = _extract_from_code()
    assert len(catalog) > 0, "no messages extracted: is babel.cfg still mapping the sources?"
    return catalog


def test_every_message_in_the_code_has_a_chinese_translation(code_catalog):
    zh = _po(ZH)
    missing = []
    for message in code_catalog:
        if not message.id:
            continue
        entry = zh.get(*_key(message))
        if entry is None:
            missing.append(f"{_key(message)[0]!r} (not in the catalogue; {_where(message)})")
        elif message.pluralizable and not entry.pluralizable:
            missing.append(f"{_key(message)[0]!r} (the code uses a plural form; {_where(message)})")
        elif entry.fuzzy:
            missing.append(f"{_key(message)[0]!r} (marked fuzzy, so not compiled)")
        elif not all(s.strip() for s in _strings(entry)):
            missing.append(f"{_key(message)[0]!r} (empty msgstr)")
    assert not missing, (
        f"{len(missing)} message(s) lack a Chinese translation in "
        f"translations/{ZH}/LC_MESSAGES/messages.po; {REFRESH_HINT}:\n  " + "\n  ".join(missing)
    )


def test_english_catalogue_has_every_message_of_the_code(code_catalog):
    en = _po("en")
    missing = [_key(m)[0] for m in code_catalog if m.id and en.get(*_key(m)) is None]
    assert not missing, (f"{len(missing)} message(s) missing from the en catalogue; "
                         f"{REFRESH_HINT}:\n  " + "\n  ".join(map(repr, missing)))


@pytest.mark.parametrize("locale", LOCALES)
def test_committed_mo_matches_po(locale):
    """The .mo files are committed (the app runs right after a clone): they must be compiled."""
    po, mo = _po(locale), _mo(locale)
    expected = {}
    for message in po:
        if not message.id or message.fuzzy or not message.string:
            continue
        strings = _strings(message)
        if message.pluralizable:  # Babel's compiler falls back to the msgids for empty forms
            strings = tuple(s or message.id[min(i, 1)] for i, s in enumerate(strings))
        expected[_key(message)] = strings
    compiled = {_key(m): _strings(m) for m in mo if m.id}
    stale = sorted(
        f"{key[0]!r}: .po {expected.get(key)!r} / .mo {compiled.get(key)!r}"
        for key in expected.keys() | compiled.keys()
        if expected.get(key) != compiled.get(key)
    )
    assert not stale, (
        f"translations/{locale}/LC_MESSAGES/messages.mo is out of date with its .po "
        f"({len(stale)} difference(s)); run `.venv/bin/pybabel compile -d translations`:\n  "
        + "\n  ".join(stale)
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_are_kept_in_translations(locale):
    wrong = []
    for message in _po(locale):
        if not message.id:
            continue
        ids = message.id if message.pluralizable else (message.id,)
        wanted = set().union(*(_placeholders(i) for i in ids))
        for string in _strings(message):
            if string and _placeholders(string) != wanted:
                wrong.append(f"{ids[0]!r} -> {string!r}: expected {sorted(wanted)}, "
                             f"found {sorted(_placeholders(string))}")
    assert not wrong, f"{locale}: placeholders changed in translation:\n  " + "\n  ".join(wrong)


def test_chinese_catalogue_has_one_plural_form():
    zh = _po(ZH)
    assert zh.num_plurals == 1, zh.plural_forms
    bad = [m.id[0] for m in zh if m.id and m.pluralizable and len(_strings(m)) != 1]
    assert not bad, f"zh_CN plural entries need exactly msgstr[0]: {bad}"


def test_flask_babel_finds_the_catalogues(app):
    """The catalogues sit where Flask-Babel looks for the configured languages."""
    for code in app.config["LANGUAGES"]:
        loaded = Translations.load(app.config["BABEL_TRANSLATION_DIRECTORIES"],
                                   [Locale.parse(code)])
        assert type(loaded) is not NullTranslations, (
            f"no catalogue found for {code!r}: Flask-Babel looks for "
            f"translations/{Locale.parse(code)}/LC_MESSAGES/messages.mo")
    zh = Translations.load(app.config["BABEL_TRANSLATION_DIRECTORIES"], [Locale.parse("zh_CN")])
    assert zh.gettext("Sign in") == "登录"
    assert zh.ngettext("%(num)s account found", "%(num)s accounts found", 3) == "找到 %(num)s 个账号"


def test_login_page_is_chinese_by_default_and_english_on_request(client):
    body = client.get("/login").get_data(as_text=True)
    assert 'lang="zh-CN"' in body
    for text in ("登录", "用户名", "密码", "注册"):
        assert text in body, f"{text!r} not on the Chinese login page"
    assert "Sign in" not in body and "Username" not in body

    token = csrf_token(client, "/login")
    response = client.post("/language", data={"csrf_token": token, "lang": "en", "next": "/login"})
    assert response.status_code == 302
    body = client.get("/login").get_data(as_text=True)
    assert 'lang="en"' in body
    assert "Sign in" in body and "Username" in body
    assert "用户名" not in body
