"""CSV/XLSX downloads: formula injection, BOM, two-decimal money."""
from __future__ import annotations

import io
from decimal import Decimal

from services.core.tabular import csv_text, safe_cell, xlsx_bytes


def test_formulas_become_text_but_plain_values_stay():
    assert [safe_cell(v) for v in ("=1+1", "+86", "-5", "@SUM(A1)", "\tx", "-", "张伟", 5, True)] == \
        ["'=1+1", "'+86", "'-5", "'@SUM(A1)", "'\tx", "-", "张伟", 5, "yes"]


def test_csv_has_bom_header_and_escaped_cells():
    text = csv_text(["name", "amount"], [["=cmd()", 3], ["李娜", 4]])
    assert text.startswith("\ufeffname,amount\r\n")
    assert "'=cmd()" in text and "李娜,4" in text


def test_xlsx_round_trip():
    from openpyxl import load_workbook

    data = xlsx_bytes(["name", "yuan"], [["=evil", Decimal("12.50")]], title="a" * 40)
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet.title == "a" * 31
    assert [c.value for c in sheet[1]] == ["name", "yuan"]
    assert sheet["A2"].value == "'=evil" and sheet["B2"].value == 12.5
    assert sheet["B2"].number_format == "0.00"
