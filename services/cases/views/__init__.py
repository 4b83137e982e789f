"""Case pages: one blueprint, `cases`, for the agencies' side of aid requests.

Paths: `/cases…` (queues, a case, its actions, the team, arbitration, phone intake, rules,
dashboard) and `/handoffs/<id>/…` (answering a transfer or co-handling request).
"""
from flask import Blueprint

import services.cases.models  # noqa: F401  (the domain's tables)

cases_bp = Blueprint("cases", __name__)

# one line per page module, so that adding a module touches one line

__all__ = ["cases_bp"]
