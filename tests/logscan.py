"""Scan the log output of the test run for secrets and personal data.

Every log record of the run (application, werkzeug, alembic, rq…) is kept; at the end of the
session the run fails if any record holds a password used by the tests, a bearer token or
session cookie, a password hash, a full mainland mobile number or a full national ID number.
"""
from __future__ import annotations

import logging
import re

PATTERNS = {
    "mobile number": re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"),
    "national ID number": re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"),
    "signed token": re.compile(r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]{10,}"),
    "password hash": re.compile(r"\$argon2(?:id|i|d)\$"),
}


class KeepAll(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # a broken record must not break the run
            self.lines.append(f"{record.name} unformattable record")


def findings(lines: list[str], passwords: tuple[str, ...]) -> list[str]:
    found = []
    for line in lines:
        for what, pattern in PATTERNS.items():
            if pattern.search(line):
                found.append(f"{what}: {line[:200]}")
        for password in passwords:
            if password and password in line:
                found.append(f"password: {line[:200]}")
    return found
