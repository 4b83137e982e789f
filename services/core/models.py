"""Every model of the shared kernel, imported in one place so the schema (and Alembic) sees them."""
from services.core.audit import AccessLogEntry, AuditEvent
from services.core.calendar import CalendarDay
from services.core.jobs import JobRun
from services.core.notify import Notification
from services.core.uploads import StoredFile

__all__ = ["AccessLogEntry", "AuditEvent", "CalendarDay", "JobRun", "Notification", "StoredFile"]
