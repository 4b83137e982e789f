"""The monthly payroll-deduction export of a park (CSV and XLSX), one row per stay.

Column names are stable identifiers (not translated), so a payroll system can import the file
whatever the manager's language. Money is in yuan with two decimals. Personal data is kept to
what payroll needs: the worker's name and a masked phone number (never a full phone or ID
number). Text cells that a spreadsheet would read as a formula (= + - @, tab, CR) are prefixed
with an apostrophe. The CSV starts with a BOM so Excel reads the Chinese names correctly.
"""
from __future__ import annotations

import csv
import io
from decimal import Decimal

from services.dorms.rent import StatementRow

COLUMNS = ("month", "employer_code", "employer", "worker", "phone", "bed", "nights",
           "gross_yuan", "subsidy_percent", "subsidy_yuan", "deduction_yuan", "paid_yuan",
           "unpaid_yuan")
NO_EMPLOYER = "-"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def safe_cell(value):
    """Spreadsheet formula injection: text starting with = + - @ or a control is kept as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _values(month: str, row: StatementRow) -> list:
    return [month, row.employer_code or NO_EMPLOYER, row.employer_name or NO_EMPLOYER,
            row.worker_name, row.phone_masked, row.bed_label, row.nights, yuan(row.gross_fen),
            row.share_percent, yuan(row.subsidy_fen), yuan(row.deduction_fen), yuan(row.paid_fen),
            yuan(row.unpaid_fen)]


def _cells(month: str, row: StatementRow) -> list:
    # The placeholder "-" for a missing employer is ours, not user input: leave it as it is.
    return [value if value == NO_EMPLOYER else safe_cell(value) for value in _values(month, row)]


def to_csv(month: str, rows: list[StatementRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(_cells(month, row))
    return "\ufeff" + out.getvalue()


def to_xlsx(month: str, rows: list[StatementRow]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = f"rent {month}"
    sheet.append(list(COLUMNS))
    money = [COLUMNS.index(name) + 1 for name in COLUMNS if name.endswith("_yuan")]
    for row in rows:
        sheet.append(_cells(month, row))
        for column in money:
            sheet.cell(row=sheet.max_row, column=column).number_format = "0.00"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
