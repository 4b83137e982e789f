"""Parks (public list)."""
from __future__ import annotations

from services.accounts import queries
from services.api import api_bp
from services.api.docs import documented
from services.api.schemas import ParkSchema
from services.core.access import public


@api_bp.route("/parks", methods=["GET"])
@public
@documented(summary="Industrial parks with dormitories", tag="parks",
            response={"type": "array", "items": ParkSchema}, public=True)
def parks():
    return [{"id": p.id, "code": p.code, "name": p.name} for p in queries.parks()]
