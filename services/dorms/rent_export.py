"""The monthly payroll-deduction export of a park (CSV and XLSX), one row per stay.

Column names are stable identifiers (not translated), so a payroll system can import the file
whatever the manager's language. Money is in yuan with two decimals. Personal data is kept to
what payroll needs: the worker's name and a masked phone number (never a full phone or ID
number). Text cells that a spreadsheet would read as a formula (= + - @, tab, CR) are prefixed
with an apostrophe. The CSV starts with a BOM so Excel reads the Chinese names correctly.
"""
from __future__ import annotations

from decimal import Decimal

from services.core.tabular import csv_text, xlsx_bytes
from services.dorms.rent import StatementRow

COLUMNS = ("month", "employer_code", "employer", "worker", "phone", "bed", "nights",
           "gross_yuan", "subsidy_percent", "subsidy_yuan", "deduction_yuan", "paid_yuan",
           "unpaid_yuan")
NO_EMPLOYER = "-"


def yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def _values(month: str, row: StatementRow) -> list:
    return [month, row.employer_code or NO_EMPLOYER, row.employer_name or NO_EMPLOYER,
            row.worker_name, row.phone_masked, row.bed_label, row.nights, yuan(row.gross_fen),
            row.share_percent, yuan(row.subsidy_fen), yuan(row.deduction_fen), yuan(row.paid_fen),
            yuan(row.unpaid_fen)]


def to_csv(month: str, rows: list[StatementRow]) -> str:
    return csv_text(COLUMNS, (_values(month, row) for row in rows))


def to_xlsx(month: str, rows: list[StatementRow]) -> bytes:
    return xlsx_bytes(COLUMNS, (_values(month, row) for row in rows), title=f"rent {month}")
