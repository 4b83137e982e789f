"""JSON API v1 (bearer tokens) over the same operations as the pages."""
from flask import Blueprint

api_bp = Blueprint("api", __name__)

from services.api import aid, auth, bookings, cases, dorms, parks, spec  # noqa: E402,F401  (routes register on import)
