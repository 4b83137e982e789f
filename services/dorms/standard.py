"""The dormitory standard: how many beds a room may hold under a park's policy.

Pure arithmetic over plain values, shared by the operations (allocation, reports) and the
read side (the room list computes it for rows that are not model objects).
"""
from __future__ import annotations

import math
from decimal import Decimal

DEFAULT_MIN_AREA_PER_PERSON = Decimal(4)
DEFAULT_MAX_BEDS_PER_ROOM = 8


def compliant_beds(*, area_m2, capacity: int, min_area_per_person, max_beds_per_room: int) -> int:
    """Beds allowed: at most the capacity, the area over the minimum per person, the room cap."""
    by_area = math.floor(Decimal(area_m2) / Decimal(min_area_per_person))
    return max(0, min(capacity, by_area, max_beds_per_room))
