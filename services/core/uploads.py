"""Uploads: size-limited (MAX_CONTENT_LENGTH), type checked by content, stored outside static/.

Files get random names under UPLOAD_FOLDER and are served only as attachments, by views that
first check the caller may see the object the file belongs to.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from datetime import datetime
from pathlib import Path

import filetype
from flask import current_app, send_file
from services.core.i18n import lazy_gettext as _l
from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.datastructures import FileStorage

from services.core.audit import record, utcnow
from services.core.errors import ValidationFailed
from services.extensions import db

IMAGES_AND_PDF = frozenset({"image/jpeg", "image/png", "image/webp", "application/pdf"})


class StoredFile(db.Model):
    __tablename__ = "stored_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(80))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def upload_dir() -> Path:
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_upload(
    *, file: FileStorage, uploaded_by: int | None, allowed: frozenset[str] = IMAGES_AND_PDF,
    field: str = "file",
) -> StoredFile:
    """Check the file's real type by its content and store it under a random name."""
    data = file.stream.read(current_app.config["MAX_CONTENT_LENGTH"] + 1)
    if not data:
        raise ValidationFailed(str(_l("The file is empty.")), fields={field: str(_l("The file is empty."))})
    if len(data) > current_app.config["MAX_CONTENT_LENGTH"]:
        message = str(_l("The file is too large."))
        raise ValidationFailed(message, fields={field: message})
    kind = filetype.guess(data)
    if kind is None or kind.mime not in allowed:
        message = str(_l("This type of file is not accepted (photos and PDF only)."))
        raise ValidationFailed(message, fields={field: message})
    stored_name = f"{secrets.token_hex(16)}.{kind.extension}"
    path = upload_dir() / stored_name
    with open(path, "xb") as handle:
        handle.write(data)
    # The name as sent is only shown again: keep what can be printed (no NUL, control
    # characters or broken surrogates, which the database cannot store).
    original = "".join(ch for ch in os.path.basename(file.filename or "") if ch.isprintable())
    stored = StoredFile(stored_name=stored_name, original_name=original[:200] or "upload",
                        content_type=kind.mime, size=len(data),
                        sha256=hashlib.sha256(data).hexdigest(), uploaded_by=uploaded_by)
    db.session.add(stored)
    try:
        db.session.flush()
    except Exception:
        path.unlink(missing_ok=True)  # no file without its row
        raise
    record(action="file.uploaded", object_type="stored_file", object_id=stored.id,
           actor_id=uploaded_by, after={"content_type": kind.mime, "size": len(data)})
    return stored


def send_stored(stored: StoredFile):
    """Serve a stored file as a download (the caller has checked access)."""
    response = send_file(upload_dir() / stored.stored_name, mimetype=stored.content_type,
                         as_attachment=True, download_name=stored.original_name)
    response.headers["Cache-Control"] = "no-store"
    return response
