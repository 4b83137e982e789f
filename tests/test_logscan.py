"""The log scanner finds what it is there to find."""
from __future__ import annotations

import logging

from tests.logscan import findings


def test_scanner_finds_secrets_and_personal_data():
    lines = ["user phone 13812345678 saved", "id 11010519491231002X", "pw correct-horse-42",
             "token eyJ1IjoxLCJ2IjoxfQ.awVK7A.EeKLla6HrWZIJLndVVkWOCRkeFo",
             "hash $argon2id$v=19$m=65536"]
    found = findings(lines, ("correct-horse-42",))
    assert [f.split(":")[0] for f in found] == [
        "mobile number", "national ID number", "password", "signed token", "password hash"]


def test_scanner_leaves_ordinary_lines_alone():
    assert findings(["GET /login 200", "user 42 signed in", "masked 138****5678",
                     "case YC-2026-000123"], ("secret-pw",)) == []


def test_app_logs_reach_the_scan(app, client):
    from tests.conftest import _KEEP_ALL

    logging.getLogger("anju.test").info("scan-marker-xyz")
    assert any("scan-marker-xyz" in line for line in _KEEP_ALL.lines)
