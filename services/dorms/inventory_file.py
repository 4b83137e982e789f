"""Reading an inventory file (CSV or XLSX) into checked rows, every bad row with its line number.

Columns (header names, any order): building, room, floor, gender (M/F/any), capacity,
kind (standard/couple/accessible), smoking (yes/no), area_m2, rent_yuan (per bed per month),
reserved_for (employer code, optional), status (open/maintenance/closed, optional).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from services.core.i18n import gettext as _

REQUIRED = ("building", "room", "gender", "capacity", "area_m2", "rent_yuan")
OPTIONAL = ("floor", "kind", "smoking", "reserved_for", "status")
TRUE_WORDS = {"yes", "y", "true", "1", "是"}
FALSE_WORDS = {"no", "n", "false", "0", "否", ""}
MAX_ROWS = 20000


class InventoryFileError(ValueError):
    """The file as a whole cannot be read (wrong type, no header, missing columns)."""


@dataclass(frozen=True)
class RoomRow:
    line: int
    building: str
    room: str
    floor: int
    gender: str
    capacity: int
    kind: str
    smoking: bool
    area_m2: Decimal
    rent_fen: int
    reserved_for: str | None
    status: str


def read_table(data: bytes, filename: str) -> list[dict[str, str]]:
    """Rows as dicts of lower-cased header → text, from CSV (UTF-8) or XLSX."""
    if filename.lower().endswith(".xlsx") or data[:2] == b"PK":
        return _read_xlsx(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InventoryFileError(_("The file is neither UTF-8 CSV nor XLSX.")) from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise InventoryFileError(_("The file has no header row."))
    reader.fieldnames = [name.strip().lower() for name in reader.fieldnames]
    return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]


def _read_xlsx(data: bytes) -> list[dict[str, str]]:
    from openpyxl import load_workbook

    try:
        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
    except Exception:  # openpyxl raises many types for a broken file
        raise InventoryFileError(_("The XLSX file cannot be read.")) from None
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    if not header:
        raise InventoryFileError(_("The file has no header row."))
    names = [str(h or "").strip().lower() for h in header]
    table = []
    for values in rows:
        if values is None or all(v is None for v in values):
            continue
        table.append({names[i]: "" if v is None else str(v).strip()
                      for i, v in enumerate(values) if i < len(names) and names[i]})
    return table


def _yes_no(value: str) -> bool | None:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def check_rows(table: list[dict[str, str]], *, employer_codes: set[str]
               ) -> tuple[list[RoomRow], list[tuple[int, str]]]:
    """Valid rows and (line, reason) for each bad one; line 1 is the header."""
    if not table:
        raise InventoryFileError(_("The file has no rooms."))
    missing = [c for c in REQUIRED if c not in table[0]]
    if missing:
        raise InventoryFileError(_("Missing columns: %(cols)s", cols=", ".join(missing)))
    if len(table) > MAX_ROWS:
        raise InventoryFileError(_("At most %(n)d rooms per file.", n=MAX_ROWS))
    rows, errors, seen = [], [], set()
    for line, raw in enumerate(table, start=2):
        problem, row = _check_row(line, raw, employer_codes)
        key = (raw.get("building", "").upper(), raw.get("room", ""))
        if not problem and key in seen:
            problem = _("room %(b)s-%(r)s appears twice", b=key[0], r=key[1])
        seen.add(key)
        if problem:
            errors.append((line, problem))
        else:
            rows.append(row)
    return rows, errors


def _check_row(line: int, raw: dict[str, str], employer_codes: set[str]):
    building = raw.get("building", "").strip().upper()
    room = raw.get("room", "").strip()
    if not building or len(building) > 20 or not room or len(room) > 20:
        return _("building and room are required (up to 20 characters)"), None
    gender = raw.get("gender", "").strip()
    gender = {"m": "M", "f": "F", "男": "M", "女": "F", "any": "any"}.get(gender.lower(), gender)
    if gender not in ("M", "F", "any"):
        return _("gender must be M, F or any"), None
    kind = (raw.get("kind") or "standard").strip().lower()
    if kind not in ("standard", "couple", "accessible"):
        return _("kind must be standard, couple or accessible"), None
    if (gender == "any") != (kind == "couple"):
        return _("couple rooms have gender any, and only they do"), None
    try:
        capacity = int(raw.get("capacity", ""))
        floor = int(raw.get("floor") or 1)
    except ValueError:
        return _("capacity and floor must be whole numbers"), None
    if not 1 <= capacity <= 20 or (kind == "couple" and capacity != 2):
        return _("capacity must be 1–20 (2 for a couple room)"), None
    if not -5 <= floor <= 200:
        return _("floor is out of range"), None
    try:
        area = Decimal(raw.get("area_m2", ""))
        rent = Decimal(raw.get("rent_yuan", ""))
    except InvalidOperation:
        return _("area_m2 and rent_yuan must be numbers"), None
    if not (0 < area < 10000) or not (0 <= rent < 100000) or not area.is_finite():
        return _("area must be positive and rent not negative"), None
    smoking = _yes_no(raw.get("smoking", ""))
    if smoking is None:
        return _("smoking must be yes or no"), None
    reserved = (raw.get("reserved_for") or "").strip().lower() or None
    if reserved and reserved not in employer_codes:
        return _("no employer has the code %(code)s", code=reserved), None
    status = (raw.get("status") or "open").strip().lower()
    if status not in ("open", "maintenance", "closed"):
        return _("status must be open, maintenance or closed"), None
    return None, RoomRow(line, building, room, floor, gender, capacity, kind, smoking,
                         area.quantize(Decimal("0.01")), int(rent * 100), reserved, status)
