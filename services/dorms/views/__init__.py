"""Dormitory pages: the worker's side and the park manager's side share one blueprint."""
from flask import Blueprint

dorms_bp = Blueprint("dorms", __name__, url_prefix="/dorms")

from services.dorms.views import facts, manage, rent, reports, stays, transfers, worker  # noqa: E402,F401  (routes register on import)
