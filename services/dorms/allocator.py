"""The dormitory allocation engine: a pure function from an instance to a result.

No Flask, no database, standard library only. ``solve(instance)`` takes the instance JSON of
the design's ``dorms.md`` ("The engine contract") and returns the result JSON; ``flask dorms solve``
and the allocation runs call it. The same input always gives the same output (only
``stats.seconds`` varies): every tie is broken by an id, nothing depends on dict order of the
input, on hash seeds or on the clock, and the result does not depend on the order in which rooms
or applicants are listed.

Algorithm: serial dictatorship over classes of rooms
====================================================

1. **Units and priority.** A single applicant is a unit; the two spouses of a couple are one unit.
   Units are ranked by points descending, then lottery ascending (a couple by the higher points
   and the lower lottery of the two), then applicant id (only to make exact ties deterministic;
   with seed-derived lotteries they do not happen). The lottery is ``lottery_value(seed, id)``
   unless the applicant carries one.
2. **Serial dictatorship.** Units are processed once, in rank order. A unit takes the best room
   (see *Room choice*) among the rooms that are feasible for it *now*, i.e. given the existing
   occupants and the placements already made; if none is feasible it stays unplaced for good.
3. **Room classes.** Rooms are never scanned one by one per applicant. Rooms with free beds are
   filed in sorted lists keyed by ``(bucket, building, state)``: the *bucket* is the static part
   of the hard rules (gender, kind, smoking, reserved_for), the *state* is what placements change
   (empty with its capacity, or occupied with its shift and its single employer). Each list is
   sorted by (rent, room id), so "the dearest room of this class within the applicant's maximum
   rent" is one binary search. An applicant looks at no more than buckets (<= 8) x buildings
   (<= 4) x states lists; a placement moves a room between a few lists. Beds held for group
   members (see *Room choice*) sit in separate lists. 20,000 applicants over 6,000 rooms take
   well under a second (``bench/allocator_bench.py``); nothing is per bed or per pair.

Why the result is priority-stable (proof)
-----------------------------------------

*Monotonicity lemma.* Let S <= S' be two states of the same room (S' holds every person of S,
plus possibly more). If the room is infeasible for unit u in S, it is infeasible in S'.
Rules 2, 4, 5, 6, 7 and "couple rooms take nothing else" depend only on the room and u, not on
the state. Rule 1: S' has no more free beds than S. Rule 3: a couple needs an empty couple room;
if S is not empty, neither is S'. Rule 8: if S already holds someone of another shift than u
(or a mix of shifts), so does S'. Hence infeasibility survives adding people.

Let a be an unplaced unit. At a's turn every room was infeasible for a in the state S_a made of
the existing occupants and the placements of the units ranked above a.

* *Maximal:* the final state of every room contains S_a, so by the lemma a cannot be added
  to any room at the end either.
* *No justified envy:* let b be placed in room r and ranked below a. b was placed after a's
  turn, so the final state of r with b removed still contains S_a restricted to r (everyone in
  S_a was there before b). r was infeasible for a in S_a, so it is infeasible for a in "r
  without b" as well; putting a in b's place breaks a hard rule. This holds in the cases that
  look suspicious: if b was the first occupant of r and fixed its shift, r was *empty* in S_a
  and still infeasible for a, so the reason was static (or capacity 0) and remains; if b is a
  couple, "r without b" is the empty couple room, which was empty at a's turn and infeasible
  then; if a is a couple and b a single (or the reverse), a couple room never takes a single and
  a single room never takes a couple. Group codes change only *which* feasible room a unit picks,
  never *whether* it is placed, so they cannot break the argument.

The engine in fact guarantees the stronger **prefix property** that the tests check: every
unplaced unit is infeasible for every room given only the occupants and the units ranked above
it. Everything below (room choice, groups, preferences) only chooses among feasible rooms, so it
can never cost priority.

Decision: what "priority-stable" allows. The contract's literal definition checks envy one swap
at a time, so it also accepts results that no worker would call fair: one empty 3-bed room, a
(day shift, 90 points) and b1, b2 (night, 50 points) - "b1 and b2 placed, a unplaced" places two
and passes the one-swap test (a in b1's place still shares with night-shift b2). The engine
never does that: it places a. "Place as many as possible" is pursued only among results with the
prefix property, i.e. by choosing well *which* feasible room each unit takes.

Room choice (count first, then preferences)
-------------------------------------------

Which feasible room a unit takes decides how many of the units after it can still be placed and
how well preferences are served. A single applicant x takes the first feasible room by:

1. **Join the group:** if members of x's group are already placed in rooms feasible for x, the
   one with the most of them.
2. **Spare scarce beds** (the bed taken is usable by fewer of the applicants still waiting than
   the alternative, which can only help the count): rooms reserved for x's employer before
   unreserved ones; standard before accessible rooms when x does not need one (accessible
   rooms are allowed, but come last); for smokers, smoking before non-smoking rooms.
3. **Preferred building:** the first, the second, the third, then any building.
4. **Partly filled before empty:** occupied rooms of x's shift and employer, then of x's shift
   (with mix_shifts: then occupied rooms of another shift and x's employer, then any occupied
   room), then empty rooms, smallest capacity first (opening a room commits its beds to one
   shift; big empty rooms stay free for groups).
5. **Dearest rent within the maximum,** then room id. Rent is not a preference in the contract
   and ``max_rent_fen`` is what the applicant accepts; taking the dearest affordable room leaves
   the cheap beds to those who can afford nothing else. On the benchmark instance this placed
   about 9% more applicants than cheapest-first, kept 2.7 times as many groups together and even
   served more first choices.

**Groups.** A group member who cannot join (step 1) but has mates still to come chooses by the
preferred building first, then by *room for the group* - the room where most of those mates can
follow, counting free beds and each mate's own rules and rent - then steps 2, 4 and 5. The beds
those mates can use are *held*: other applicants take a held bed only when no other bed in the
whole instance fits them, so a hold never leaves anybody unplaced, it only sends them elsewhere.
A hold ends when the mate's turn comes. At most ``GROUP_SCAN`` rooms per list are compared.

**Couples** take an empty couple room: reserved for their (shared) employer first, smoking rooms
first when both smoke, then the higher-ranked spouse's preferred buildings (then the other
spouse's), then the dearest rent within the lower of their two maximums, then room id.

Measured on the benchmark instance (``bench/README.md``): sparing scarce beds (step 2) before the
preferred building places about 1% more applicants and costs about 17% of first-choice buildings;
the contract ranks the count first, so sparing stays first. On thousands of random tiny instances
the engine placed as many as the best serial-dictatorship order can in all but about 0.2% of them
(there, one fewer); exact maximisation would need a search over room choices.

Reason codes (``unassigned[].reason``)
--------------------------------------

``outranked``
    Some room could have taken the applicant before this run (judged on the room, the existing
    occupants and the hard rules), but its beds - or its shift, or the couple room - went to
    units ranked higher. The entry carries ``cutoff_points``: the points of the lowest-ranked
    unit placed ahead of this applicant into a room that could have taken them. It is always at
    least the applicant's own points (equal points: the lottery decided).

The other codes all mean *no room of the instance could ever take them*, judged on the rooms,
the existing occupants and the hard rules alone. The code names the one rule whose relaxation
alone would open a room for them (the first in the order below when several would):

``no_room_within_rent``          every otherwise suitable room costs more than ``max_rent_fen``
``no_room_for_shift``            the suitable rooms are occupied by the other shift (or a mix)
``couple_shifts_differ``         the spouses work different shifts and shifts may not be mixed
``no_non_smoking_room``          the suitable rooms are smoking rooms
``reserved_for_other_employers`` the suitable rooms are reserved for other employers
``no_free_bed``                  the suitable rooms are already full (couple rooms: occupied)
``no_accessible_room``           needs an accessible room and none fits (couple rooms are never
                                 accessible, so a couple with such a need is never placed)
``no_room_for_gender``           no room of the applicant's gender fits
``no_couple_room``               a couple, and the instance has no couple room at all
``no_feasible_room``             no single rule explains it: several rules block together

Both spouses of a couple always share the outcome and the reason.

Result
------

``assignments`` and ``unassigned`` are listed in priority order; every entry also carries
``rank`` (1-based queue position of the unit; both spouses share their couple's rank).
``stats`` holds the contract's ``placed``, ``unplaced`` and ``seconds`` (applicants, not units),
and ``engine_version``, ``applicants``, ``rooms``, ``free_beds_before``, ``free_beds_after``,
``couples_placed``, ``first_choice`` (placed in their first preferred building), ``groups`` and
``groups_together`` (groups of two or more non-couple members all placed in one room) and
``reasons`` (unassigned applicants per reason code).

Decisions where the contract is silent
--------------------------------------

* ``policy`` may be omitted; ``policy.mix_shifts`` defaults to false; ``policy.lottery_seed`` is
  required only when some applicant has no ``lottery`` (``null`` counts as absent).
* Optional fields: rooms ``reserved_for`` (null) and ``occupants`` ([]); occupants ``employer``
  (null); applicants ``employer`` (null: never matches a reserved room), ``preferred_buildings``
  ([], at most three, repeats ignored, unknown buildings simply never match), ``group`` (null),
  ``couple`` (false), ``lottery``. Unknown keys are ignored (forward compatibility).
* ``gender: "any"`` is only for couple rooms and couple rooms are ``any`` (as in the inventory).
  Occupants are facts, not checked against the room's gender. A couple room with occupants, or
  with fewer than two beds, takes nobody. Capacity 0 is allowed (a room whose compliant capacity
  is nil); the caller passes the *compliant* capacity (dormitory standards).
* Without mix_shifts, a room whose existing occupants already work both shifts takes nobody new
  (rule 8 could not hold for them).
* Rule 4 for couples: a reserved couple room takes a couple only when both spouses work for the
  employer. Rule 5 for couples: a spouse who needs an accessible room can go only to an
  accessible room, and couples go only to couple rooms, so such a couple is never placed
  (``no_accessible_room``).
* An occupant with no employer, or occupants of several employers, make the room "mixed" for the
  employer preference.
"""
from __future__ import annotations

import hashlib
import math
import time
from bisect import bisect_left, bisect_right, insort
from typing import Any

ENGINE_VERSION = "1.0.0"

GENDERS = ("M", "F")
ROOM_GENDERS = ("M", "F", "any")
KINDS = ("standard", "couple", "accessible")
SHIFTS = ("day", "night")

#: Reason codes for "no room could ever take them", in the order used when several rules
#: would each, relaxed alone, open a room.
NEVER_FEASIBLE_REASONS = (
    "no_room_within_rent", "no_room_for_shift", "couple_shifts_differ", "no_non_smoking_room",
    "reserved_for_other_employers", "no_free_bed", "no_accessible_room", "no_room_for_gender",
    "no_couple_room", "no_feasible_room",
)
REASONS = ("outranked",) + NEVER_FEASIBLE_REASONS

#: How many rooms of one class a group member looks at for room for the group (bounds the time).
GROUP_SCAN = 64

_MIXED = "\x00mixed"  # a room's shift or employer when its people do not share one
_INF = float("inf")  # "no such room" in the cheapest-rent tables
_ANY_RENT = 1 << 62  # a maximum rent above every rent, yet below _INF


def _pick(lst: list[int], limit: int) -> int:
    """The dearest room of a (rent, idx)-sorted list below limit, or -1."""
    i = bisect_left(lst, limit)
    return lst[i - 1] if i else -1


class InstanceError(ValueError):
    """The instance does not follow the engine contract (the message says where and why)."""


def lottery_value(seed: str, applicant_id: str) -> float:
    """The tie-break lottery of an applicant, recomputable by anyone holding the seed."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{applicant_id}".encode()).digest()[:8], "big") / 2**64


# --------------------------------------------------------------------------------------------
# Validation


_MAX_FEN = 2**53  # larger amounts are not money but a bug (and not exact in JSON)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _label(kind: str, i: int, item: Any) -> str:
    if isinstance(item, dict) and isinstance(item.get("id"), str):
        return f"{kind}[{i}] (id {item['id']!r})"
    return f"{kind}[{i}]"


def _check_fields(where: str, item: dict, required: dict, optional: dict, errors: list[str]) -> None:
    for key, (check, what) in required.items():
        if key not in item:
            errors.append(f"{where}: missing '{key}'")
        elif not check(item[key]):
            errors.append(f"{where}: '{key}' must be {what}, got {item[key]!r}")
    for key, (check, what) in optional.items():
        if key in item and not check(item[key]):
            errors.append(f"{where}: '{key}' must be {what}, got {item[key]!r}")


_ROOM_REQUIRED = {
    "id": (_nonempty_str, "a non-empty string"),
    "building": (_nonempty_str, "a non-empty string"),
    "gender": (lambda v: v in ROOM_GENDERS, "'M', 'F' or 'any'"),
    "capacity": (lambda v: _is_int(v) and v >= 0, "a whole number >= 0"),
    "kind": (lambda v: v in KINDS, "'standard', 'couple' or 'accessible'"),
    "smoking": (lambda v: isinstance(v, bool), "true or false"),
    "rent_fen": (lambda v: _is_int(v) and 0 <= v <= _MAX_FEN, "a whole number of fen >= 0"),
}
_ROOM_OPTIONAL = {
    "reserved_for": (lambda v: v is None or _nonempty_str(v), "null or an employer code"),
    "occupants": (lambda v: isinstance(v, list), "a list"),
}
_OCCUPANT_REQUIRED = {
    "gender": (lambda v: v in GENDERS, "'M' or 'F'"),
    "shift": (lambda v: v in SHIFTS, "'day' or 'night'"),
}
_OCCUPANT_OPTIONAL = {"employer": (lambda v: v is None or _nonempty_str(v), "null or an employer code")}
_APPLICANT_REQUIRED = {
    "id": (_nonempty_str, "a non-empty string"),
    "gender": (lambda v: v in GENDERS, "'M' or 'F'"),
    "shift": (lambda v: v in SHIFTS, "'day' or 'night'"),
    "smoker": (lambda v: isinstance(v, bool), "true or false"),
    "needs_accessible": (lambda v: isinstance(v, bool), "true or false"),
    "max_rent_fen": (lambda v: _is_int(v) and 0 <= v <= _MAX_FEN, "a whole number of fen >= 0"),
    "points": (_is_number, "a finite number"),
}
_APPLICANT_OPTIONAL = {
    "employer": (lambda v: v is None or _nonempty_str(v), "null or an employer code"),
    "preferred_buildings": (
        lambda v: isinstance(v, list) and len(v) <= 3 and all(_nonempty_str(b) for b in v),
        "a list of at most three building codes"),
    "group": (lambda v: v is None or _nonempty_str(v), "null or a group code"),
    "couple": (lambda v: isinstance(v, bool), "true or false"),
    "lottery": (lambda v: v is None or (_is_number(v) and 0 <= v < 1), "a number in [0, 1)"),
}


def validate_instance(instance: Any) -> list[str]:
    """Every way the instance breaks the contract, one readable line each ([] when valid)."""
    if not isinstance(instance, dict):
        return ["the instance must be a JSON object with 'rooms' and 'applicants'"]
    errors: list[str] = []
    policy = instance.get("policy")
    if policy is None:
        policy = {}
    elif not isinstance(policy, dict):
        errors.append("'policy' must be an object")
        policy = {}
    if "mix_shifts" in policy and not isinstance(policy["mix_shifts"], bool):
        errors.append(f"policy: 'mix_shifts' must be true or false, got {policy['mix_shifts']!r}")
    seed = policy.get("lottery_seed")
    if seed is not None and not isinstance(seed, str):
        errors.append(f"policy: 'lottery_seed' must be a string, got {seed!r}")
    rooms, applicants = instance.get("rooms"), instance.get("applicants")
    for key, value in (("rooms", rooms), ("applicants", applicants)):
        if not isinstance(value, list):
            errors.append(f"missing '{key}'" if value is None else f"'{key}' must be a list")
    if not isinstance(rooms, list):
        rooms = []
    if not isinstance(applicants, list):
        applicants = []

    room_ids: set[str] = set()
    for i, room in enumerate(rooms):
        where = _label("rooms", i, room)
        if not isinstance(room, dict):
            errors.append(f"{where}: must be an object")
            continue
        before = len(errors)
        _check_fields(where, room, _ROOM_REQUIRED, _ROOM_OPTIONAL, errors)
        if isinstance(room.get("id"), str):
            if room["id"] in room_ids:
                errors.append(f"{where}: duplicate room id")
            room_ids.add(room["id"])
        if len(errors) > before:
            continue
        if room["kind"] == "couple" and room["gender"] != "any":
            errors.append(f"{where}: a couple room has gender 'any', got {room['gender']!r}")
        if room["gender"] == "any" and room["kind"] != "couple":
            errors.append(f"{where}: gender 'any' is only for couple rooms")
        occupants = room.get("occupants", [])
        for j, occupant in enumerate(occupants):
            if not isinstance(occupant, dict):
                errors.append(f"{where}: occupants[{j}] must be an object")
                continue
            _check_fields(f"{where} occupants[{j}]", occupant, _OCCUPANT_REQUIRED, _OCCUPANT_OPTIONAL,
                          errors)
        if len(occupants) > room["capacity"]:
            errors.append(f"{where}: {len(occupants)} occupants exceed capacity {room['capacity']}")

    applicant_ids: set[str] = set()
    groups: dict[str, list[dict]] = {}
    needs_seed = False
    for i, applicant in enumerate(applicants):
        where = _label("applicants", i, applicant)
        if not isinstance(applicant, dict):
            errors.append(f"{where}: must be an object")
            continue
        before = len(errors)
        _check_fields(where, applicant, _APPLICANT_REQUIRED, _APPLICANT_OPTIONAL, errors)
        if isinstance(applicant.get("id"), str):
            if applicant["id"] in applicant_ids:
                errors.append(f"{where}: duplicate applicant id")
            applicant_ids.add(applicant["id"])
        if len(errors) > before:
            continue
        if applicant.get("lottery") is None:
            needs_seed = True
        group = applicant.get("group")
        if applicant.get("couple", False) and group is None:
            errors.append(f"{where}: a couple application needs the group code shared with the spouse")
        if group is not None:
            groups.setdefault(group, []).append(applicant)
    for group, members in groups.items():
        couples = sum(1 for m in members if m.get("couple", False))
        if couples and (couples != 2 or len(members) != 2):
            ids = ", ".join(repr(m["id"]) for m in members)
            errors.append(f"group {group!r}: a couple is exactly two applicants with couple: true "
                          f"and the same group, got {ids}")
    if needs_seed and seed is None:
        errors.append("policy: 'lottery_seed' is required when an applicant has no 'lottery'")
    return errors


# --------------------------------------------------------------------------------------------
# The model: rooms and units in a form the engine can work on quickly


class _Room:
    __slots__ = ("idx", "id", "building", "gender", "kind", "smoking", "rent", "reserved",
                 "capacity", "free", "count", "shift", "employer", "bucket", "sortkey",
                 "held", "initial_free", "initial_count", "initial_shift")

    def __init__(self, idx: int, data: dict, n_rooms: int) -> None:
        self.idx, self.id, self.building = idx, data["id"], data["building"]
        self.gender, self.kind, self.smoking = data["gender"], data["kind"], data["smoking"]
        self.rent, self.reserved = data["rent_fen"], data.get("reserved_for")
        self.capacity = data["capacity"]
        occupants = data.get("occupants") or []
        self.count = len(occupants)
        self.free = self.capacity - self.count
        shifts = {o["shift"] for o in occupants}
        employers = {o.get("employer") for o in occupants}
        self.shift = None if not occupants else (shifts.pop() if len(shifts) == 1 else _MIXED)
        employer = employers.pop() if len(employers) == 1 else _MIXED
        self.employer = None if not occupants else (_MIXED if employer is None else employer)
        if self.kind == "couple":
            self.bucket = ("couple", self.smoking, self.reserved)
        else:
            self.bucket = (self.gender, self.kind, self.smoking, self.reserved)
        self.sortkey = self.rent * n_rooms + idx  # (rent, idx) as one int: fast to compare
        self.held = 0  # free beds that group members still to come could take
        self.initial_free, self.initial_count, self.initial_shift = self.free, self.count, self.shift

    def takes_couple(self, initially: bool = False) -> bool:
        return (self.initial_count if initially else self.count) == 0 and self.capacity >= 2


class _Applicant:
    __slots__ = ("id", "gender", "shift", "employer", "smoker", "needs", "max_rent", "points",
                 "lottery", "prefs", "group", "couple", "unit")

    def __init__(self, data: dict, seed: str | None) -> None:
        self.id, self.gender, self.shift = data["id"], data["gender"], data["shift"]
        self.employer, self.smoker = data.get("employer"), data["smoker"]
        self.needs, self.max_rent = data["needs_accessible"], data["max_rent_fen"]
        self.points = data["points"]
        lottery = data.get("lottery")
        self.lottery = lottery_value(seed, self.id) if lottery is None else float(lottery)
        self.prefs = tuple(dict.fromkeys(data.get("preferred_buildings") or ()))
        self.group, self.couple = data.get("group"), data.get("couple", False)
        self.unit: _Unit | None = None

    @property
    def key(self) -> tuple:
        return (-self.points, self.lottery, self.id)


class _Unit:
    """A single applicant, or the two spouses of a couple, ranked as one."""
    __slots__ = ("members", "is_couple", "points", "key", "rank", "room")

    def __init__(self, members: list[_Applicant]) -> None:
        self.members = sorted(members, key=lambda a: a.key)
        self.is_couple = len(members) == 2
        self.points = max(a.points for a in members)
        self.key = (-self.points, min(a.lottery for a in members), min(a.id for a in members))
        self.rank = -1
        self.room: _Room | None = None
        for member in members:
            member.unit = self


class _Cell:
    """Rooms with free beds of one bucket in one building (or in all, building None)."""
    __slots__ = ("occupied", "empty", "held")

    def __init__(self) -> None:
        self.occupied: dict[tuple, list[int]] = {}  # (shift|None, employer|None) -> sortkeys
        self.empty: list[tuple[int, list[int]]] = []  # (capacity, sortkeys), by capacity
        self.held: dict[str | None, list[int]] = {}  # shift|None -> rooms whose free beds are all held


class _Engine:
    def __init__(self, instance: dict) -> None:
        policy = instance.get("policy") or {}
        self.mix = bool(policy.get("mix_shifts", False))
        seed = policy.get("lottery_seed")
        room_data = sorted(instance["rooms"], key=lambda r: r["id"])
        self.n = max(1, len(room_data))
        self.rooms = [_Room(i, data, self.n) for i, data in enumerate(room_data)]
        self.applicants = [_Applicant(data, seed) for data in instance["applicants"]]
        self.units = self._units()
        self.cells: dict[tuple, _Cell] = {}
        self.couple_cells: dict[tuple, list[int]] = {}
        self.buckets: set[tuple] = set()
        reserved_employers = set()
        for room in self.rooms:
            self.buckets.add(room.bucket)
            if room.reserved is not None:
                reserved_employers.add(room.reserved)
            if room.kind == "couple":
                if room.takes_couple():
                    for building in (room.building, None):
                        insort(self.couple_cells.setdefault((room.bucket, building), []), room.sortkey)
            else:
                for lst in self._lists_of(room):
                    insort(lst, room.sortkey)
        for cell in self.cells.values():
            cell.empty.sort(key=lambda pair: pair[0])
        self.reserved_employers = reserved_employers
        self._tier_cache: dict[tuple, list[tuple]] = {}
        self.placements: list[tuple[int, _Room]] = []  # (unit rank, room) in rank order
        self.holds: dict[str, _Room] = {}  # applicant id -> room holding a bed for them
        self.group_rooms: dict[str, dict[int, int]] = {}  # group -> room idx -> members there
        self.group_members: dict[str, list[_Applicant]] = {}
        for unit in self.units:
            for a in unit.members:
                if a.group is not None and not a.couple:
                    self.group_members.setdefault(a.group, []).append(a)

    def _units(self) -> list[_Unit]:
        couples: dict[str, list[_Applicant]] = {}
        units = []
        for a in self.applicants:
            if a.couple:
                couples.setdefault(a.group, []).append(a)
            else:
                units.append(_Unit([a]))
        units += [_Unit(members) for members in couples.values()]
        units.sort(key=lambda u: u.key)
        for rank, unit in enumerate(units):
            unit.rank = rank
        return units

    # -- room lists -----------------------------------------------------------------------

    def _cell(self, bucket: tuple, building: str | None) -> _Cell:
        cell = self.cells.get((bucket, building))
        if cell is None:
            cell = self.cells[(bucket, building)] = _Cell()
        return cell

    def _lists_of(self, room: _Room) -> list[list[int]]:
        """The sorted lists a (non-couple) room belongs to in its current state."""
        if room.free <= 0:
            return []
        shift, employer = room.shift, room.employer
        if room.count and shift == _MIXED and not self.mix:
            return []
        out = []
        for building in (room.building, None):
            cell = self._cell(room.bucket, building)
            if room.count == 0:
                for capacity, lst in cell.empty:
                    if capacity == room.capacity:
                        break
                else:
                    lst = []
                    cell.empty.append((room.capacity, lst))
                out.append(lst)
                continue
            if room.free <= room.held:
                key = None if self.mix else shift
                lst = cell.held.get(key)
                if lst is None:
                    lst = cell.held[key] = []
                out.append(lst)
                continue
            shifts = (None,) if shift == _MIXED else ((shift, None) if self.mix else (shift,))
            employers = (None,) if employer == _MIXED else (employer, None)
            for s in shifts:
                for e in employers:
                    lst = cell.occupied.get((s, e))
                    if lst is None:
                        lst = cell.occupied[(s, e)] = []
                    out.append(lst)
        return out

    def _unlist(self, room: _Room) -> None:
        for lst in self._lists_of(room):
            del lst[bisect_left(lst, room.sortkey)]

    def _list(self, room: _Room) -> None:
        for lst in self._lists_of(room):
            insort(lst, room.sortkey)

    def _release_hold(self, a: _Applicant) -> None:
        room = self.holds.pop(a.id, None)
        if room is not None:
            self._unlist(room)
            room.held -= 1
            self._list(room)

    def _place_single(self, a: _Applicant, room: _Room, followers: list[_Applicant]) -> None:
        self._unlist(room)
        room.free -= 1
        if room.count == 0:
            room.shift = a.shift
            room.employer = a.employer if a.employer is not None else _MIXED
        else:
            if room.shift != a.shift:
                room.shift = _MIXED
            if room.employer != a.employer:
                room.employer = _MIXED
        room.count += 1
        for mate in followers:
            self.holds[mate.id] = room
        room.held += len(followers)
        self._list(room)
        if a.group is not None:
            rooms = self.group_rooms.setdefault(a.group, {})
            rooms[room.idx] = rooms.get(room.idx, 0) + 1

    def _place_couple(self, unit: _Unit, room: _Room) -> None:
        for building in (room.building, None):
            lst = self.couple_cells[(room.bucket, building)]
            del lst[bisect_left(lst, room.sortkey)]
        room.free -= 2
        room.count += 2
        room.shift = unit.members[0].shift if len({m.shift for m in unit.members}) == 1 else _MIXED

    # -- feasibility ----------------------------------------------------------------------

    def fits(self, a: _Applicant, room: _Room) -> bool:
        """Whether single applicant a may take a bed in room now (hard rules 1-8)."""
        return (room.kind != "couple" and room.free > 0 and room.gender == a.gender
                and (room.kind == "accessible" or not a.needs) and (a.smoker or not room.smoking)
                and (room.reserved is None or room.reserved == a.employer)
                and room.rent <= a.max_rent
                and (self.mix or room.count == 0 or room.shift == a.shift))

    def _tiers(self, a: _Applicant) -> list[tuple]:
        """The buckets a may use, scarce-bed-sparing ones first."""
        signature = (a.gender, a.needs, a.smoker, a.employer)
        tiers = self._tier_cache.get(signature)
        if tiers is None:
            kinds = ("accessible",) if a.needs else ("standard", "accessible")
            reserved = (a.employer, None) if a.employer in self.reserved_employers else (None,)
            smoking = (True, False) if a.smoker else (False,)
            tiers = [(a.gender, k, s, r) for k in kinds for r in reserved for s in smoking]
            tiers = self._tier_cache[signature] = [b for b in tiers if b in self.buckets]
        return tiers

    def _state_keys(self, a: _Applicant) -> list[tuple]:
        keys = []
        for shift in ((a.shift, None) if self.mix else (a.shift,)):
            if a.employer is not None:
                keys.append((shift, a.employer))
            keys.append((shift, None))
        return keys

    # -- the run --------------------------------------------------------------------------

    def run(self) -> None:
        for unit in self.units:
            if unit.is_couple:
                room = self._choose_couple_room(unit)
                if room is not None:
                    self._place_couple(unit, room)
            else:
                a = unit.members[0]
                self._release_hold(a)
                room, followers = self._choose_room(a)
                if room is not None:
                    self._place_single(a, room, followers)
            if room is not None:
                unit.room = room
                self.placements.append((unit.rank, room))

    def _choose_room(self, a: _Applicant) -> tuple[_Room | None, list[_Applicant]]:
        """The room a takes (None: no feasible room) and the group mates to hold beds for."""
        rooms, n = self.rooms, self.n
        if a.group is not None:
            joined = self.group_rooms.get(a.group)
            if joined:
                best = None
                for idx, count in joined.items():
                    room = rooms[idx]
                    if self.fits(a, room) and (best is None or count > best[0]):
                        best = (count, room)
                if best is not None:
                    return best[1], []
            mates = [m for m in self.group_members[a.group]
                     if m.unit.rank > a.unit.rank and m.id not in self.holds]
            if mates:
                return self._choose_room_for_group(a, mates)
        limit = (a.max_rent + 1) * n
        state_keys = self._state_keys(a)
        cells = self.cells
        for bucket in self._tiers(a):
            for building in a.prefs + (None,):
                cell = cells.get((bucket, building))
                if cell is None:
                    continue
                occupied = cell.occupied
                for key in state_keys:
                    lst = occupied.get(key)
                    if lst:
                        k = _pick(lst, limit)
                        if k >= 0:
                            return rooms[k % n], []
                for _capacity, lst in cell.empty:
                    if lst:
                        k = _pick(lst, limit)
                        if k >= 0:
                            return rooms[k % n], []
        return self._choose_held_room(a), []

    def _choose_held_room(self, a: _Applicant) -> _Room | None:
        """Last resort: a bed held for a group member still to come (in the usual order)."""
        limit = (a.max_rent + 1) * self.n
        held_key = None if self.mix else a.shift
        for bucket in self._tiers(a):
            for building in a.prefs + (None,):
                cell = self.cells.get((bucket, building))
                if cell is not None:
                    lst = cell.held.get(held_key)
                    if lst:
                        k = _pick(lst, limit)
                        if k >= 0:
                            return self.rooms[k % self.n]
        return None

    def _can_follow(self, a: _Applicant, mate: _Applicant, bucket: tuple) -> bool:
        """Whether mate may share a room of this bucket with a (rent aside)."""
        _gender, kind, smoking, reserved = bucket
        return (mate.gender == a.gender and (kind == "accessible" or not mate.needs)
                and (mate.smoker or not smoking) and (reserved is None or reserved == mate.employer)
                and (self.mix or mate.shift == a.shift))

    def _choose_room_for_group(self, a: _Applicant,
                               mates: list[_Applicant]) -> tuple[_Room | None, list[_Applicant]]:
        """Like _choose_room for a group member with mates to come: within a building, the room
        where most of them can follow comes first (before sparing scarce beds). Also returns the
        mates to hold beds for."""
        rooms, n = self.rooms, self.n
        limit = (a.max_rent + 1) * n
        state_keys = self._state_keys(a)
        tiers = []
        for bucket in self._tiers(a):
            rents = sorted(m.max_rent for m in mates if self._can_follow(a, m, bucket))
            tiers.append((bucket, rents))
        most = max((len(rents) for _bucket, rents in tiers), default=0)
        for building in a.prefs + (None,):
            best, best_fit = None, -1
            for bucket, mate_rents in tiers:
                cell = self.cells.get((bucket, building))
                if cell is None:
                    continue
                wanted = len(mate_rents)
                lists = [cell.occupied.get(key) for key in state_keys]
                lists += [lst for _capacity, lst in cell.empty]
                for lst in lists:
                    if not lst:
                        continue
                    end = bisect_left(lst, limit)
                    for i in range(end - 1, max(-1, end - 1 - GROUP_SCAN), -1):
                        room = rooms[lst[i] % n]
                        can_follow = wanted - bisect_left(mate_rents, room.rent)
                        fit = min(room.free - 1 - room.held, can_follow)
                        if fit > best_fit:
                            best, best_fit = room, fit
                            if fit == most:
                                break
                    if best_fit == most:
                        break
                if best_fit == most:
                    break
            if best is not None:
                followers = [m for m in mates
                             if self._can_follow(a, m, best.bucket) and best.rent <= m.max_rent]
                return best, followers[:best_fit]
        return self._choose_held_room(a), []

    def _couple_tiers(self, unit: _Unit) -> list[tuple]:
        first, second = unit.members
        shared = first.employer if first.employer == second.employer else None
        reserved = (shared, None) if shared in self.reserved_employers else (None,)
        smoking = (True, False) if first.smoker and second.smoker else (False,)
        return [("couple", s, r) for r in reserved for s in smoking]

    def _choose_couple_room(self, unit: _Unit) -> _Room | None:
        first, second = unit.members
        if first.needs or second.needs or (not self.mix and first.shift != second.shift):
            return None
        limit = (min(first.max_rent, second.max_rent) + 1) * self.n
        buildings = tuple(dict.fromkeys(first.prefs + second.prefs)) + (None,)
        for bucket in self._couple_tiers(unit):
            for building in buildings:
                lst = self.couple_cells.get((bucket, building))
                if lst:
                    k = _pick(lst, limit)
                    if k >= 0:
                        return self.rooms[k % self.n]
        return None

    # -- explaining the unplaced ----------------------------------------------------------

    def reasons(self) -> dict[int, dict]:
        """Reason (and cutoff) per unplaced unit rank."""
        tables = _InitialTables(self)
        out: dict[int, dict] = {}
        outranked: list[_Unit] = []
        for unit in self.units:
            if unit.room is not None:
                continue
            code = tables.never_feasible_reason(unit)
            if code is None:
                outranked.append(unit)
            else:
                out[unit.rank] = {"reason": code}
        cutoffs = _Cutoffs(self)
        for unit in outranked:
            entry = {"reason": "outranked"}
            blocker = cutoffs.lowest_blocker(unit)
            if blocker is not None:
                entry["cutoff_points"] = self.units[blocker].points
            out[unit.rank] = entry
        return out


class _InitialTables:
    """Cheapest rent per room class in the initial state: answers "could a room ever take them"."""

    def __init__(self, engine: _Engine) -> None:
        self.mix = engine.mix
        # (bucket, initial shift or "empty") -> [cheapest with a free bed, cheapest at all]
        self.single: dict[tuple, list[float]] = {}
        self.any_reserved: dict[tuple, list[float]] = {}
        self.couple: dict[tuple, list[float]] = {}
        self.has_couple_rooms = False
        for room in engine.rooms:
            state = "empty" if room.initial_count == 0 else room.initial_shift
            if room.kind == "couple":
                self.has_couple_rooms = True
                self._add(self.couple, (room.bucket, state), room.rent, room.takes_couple(initially=True))
            else:
                gender, kind, smoking, _reserved = room.bucket
                has_bed = room.initial_free > 0
                self._add(self.single, (room.bucket, state), room.rent, has_bed)
                self._add(self.any_reserved, ((gender, kind, smoking), state), room.rent, has_bed)

    @staticmethod
    def _add(table: dict, key: tuple, rent: int, usable: bool) -> None:
        entry = table.setdefault(key, [_INF, _INF])
        if usable:
            entry[0] = min(entry[0], rent)
        entry[1] = min(entry[1], rent)

    def _single_fits(self, a: _Applicant, relax: str | None) -> bool:
        genders = GENDERS if relax == "no_room_for_gender" else (a.gender,)
        any_kind = not a.needs or relax == "no_accessible_room"
        kinds = ("standard", "accessible") if any_kind else ("accessible",)
        smokings = (False, True) if (a.smoker or relax == "no_non_smoking_room") else (False,)
        if self.mix or relax == "no_room_for_shift":
            states = ("empty", "day", "night", _MIXED)
        else:
            states = ("empty", a.shift)
        column = 1 if relax == "no_free_bed" else 0
        max_rent = _ANY_RENT if relax == "no_room_within_rent" else a.max_rent
        any_reserved = relax == "reserved_for_other_employers"
        reserved_values = (None,) if a.employer is None else (None, a.employer)
        for gender in genders:
            for kind in kinds:
                for smoking in smokings:
                    for state in states:
                        if any_reserved:
                            entry = self.any_reserved.get(((gender, kind, smoking), state))
                            if entry is not None and entry[column] <= max_rent:
                                return True
                            continue
                        for reserved in reserved_values:
                            entry = self.single.get(((gender, kind, smoking, reserved), state))
                            if entry is not None and entry[column] <= max_rent:
                                return True
        return False

    def _couple_fits(self, unit: _Unit, relax: str | None) -> bool:
        first, second = unit.members
        if (first.needs or second.needs) and relax != "no_accessible_room":
            return False
        if not self.mix and first.shift != second.shift and relax != "couple_shifts_differ":
            return False
        both_smoke = first.smoker and second.smoker
        smokings = (False, True) if both_smoke or relax == "no_non_smoking_room" else (False,)
        column, states = 0, ("empty",)
        if relax == "no_free_bed":  # occupied couple rooms too, if their occupants' shift allows
            column = 1
            if self.mix:
                states = ("empty", "day", "night", _MIXED)
            elif first.shift == second.shift:
                states = ("empty", first.shift)
        max_rent = _ANY_RENT if relax == "no_room_within_rent" else min(first.max_rent, second.max_rent)
        same_employer = first.employer is not None and first.employer == second.employer
        for ((_couple, smoking, reserved), state), entry in self.couple.items():
            if smoking not in smokings or state not in states:
                continue
            if reserved is not None and relax != "reserved_for_other_employers" and not (
                    same_employer and reserved == first.employer):
                continue
            if entry[column] <= max_rent:
                return True
        return False

    def never_feasible_reason(self, unit: _Unit) -> str | None:
        """None when some room could have taken the unit before the run, else the reason code."""
        if unit.is_couple:
            if not self.has_couple_rooms:
                return "no_couple_room"
            fits = self._couple_fits
        else:
            fits = self._single_fits
            unit = unit.members[0]
        if fits(unit, None):
            return None
        for code in NEVER_FEASIBLE_REASONS[:-2]:
            if fits(unit, code):
                return code
        return "no_feasible_room"


class _Cutoffs:
    """For outranked units: the lowest-ranked unit placed ahead of them in a room they could take.

    Offline sweep in rank order: each room class list (bucket and initial state, sorted by rent)
    has a prefix-maximum Fenwick tree over the rank of the latest placement per room; a unit's
    rooms are a rent-prefix of a few lists.
    """

    def __init__(self, engine: _Engine) -> None:
        self.engine = engine
        lists: dict[tuple, list[_Room]] = {}
        for room in engine.rooms:
            if room.kind == "couple":
                if room.takes_couple(initially=True):
                    lists.setdefault((room.bucket, "couple"), []).append(room)
            elif room.initial_free > 0:
                state = "empty" if room.initial_count == 0 else room.initial_shift
                lists.setdefault((room.bucket, state), []).append(room)
        self.rents: dict[tuple, list[int]] = {}
        self.trees: dict[tuple, list[int]] = {}
        self.where: dict[int, tuple[tuple, int]] = {}
        for key, members in lists.items():
            members.sort(key=lambda r: r.sortkey)
            self.rents[key] = [r.rent for r in members]
            self.trees[key] = [-1] * (len(members) + 1)
            for position, room in enumerate(members):
                self.where[room.idx] = (key, position + 1)
        self.next_placement = 0

    def _update(self, key: tuple, position: int, rank: int) -> None:
        tree = self.trees[key]
        while position < len(tree):
            if tree[position] < rank:
                tree[position] = rank
            position += position & -position

    def _query(self, key: tuple, position: int) -> int:
        tree, best = self.trees[key], -1
        while position > 0:
            if tree[position] > best:
                best = tree[position]
            position -= position & -position
        return best

    def lowest_blocker(self, unit: _Unit) -> int | None:
        engine = self.engine
        placements = engine.placements
        while (self.next_placement < len(placements)
               and placements[self.next_placement][0] < unit.rank):
            rank, room = placements[self.next_placement]
            key, position = self.where[room.idx]
            self._update(key, position, rank)
            self.next_placement += 1
        if unit.is_couple:
            first, second = unit.members
            keys = [(bucket, "couple") for bucket in engine._couple_tiers(unit)]
            max_rent = min(first.max_rent, second.max_rent)
        else:
            a = unit.members[0]
            states = ("empty", "day", "night", _MIXED) if engine.mix else ("empty", a.shift)
            keys = [(bucket, state) for bucket in engine._tiers(a) for state in states]
            max_rent = a.max_rent
        best = -1
        for key in keys:
            rents = self.rents.get(key)
            if rents:
                best = max(best, self._query(key, bisect_right(rents, max_rent)))
        return best if best >= 0 else None


# --------------------------------------------------------------------------------------------
# The entry point


def solve(instance: dict) -> dict:
    """Allocate the instance's applicants to rooms (see the module docstring); pure and deterministic."""
    started = time.perf_counter()
    errors = validate_instance(instance)
    if errors:
        more = ""
        if len(errors) > 1:
            more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        raise InstanceError(errors[0] + more)
    engine = _Engine(instance)
    free_before = sum(max(room.free, 0) for room in engine.rooms)
    engine.run()
    reasons = engine.reasons()

    assignments, unassigned = [], []
    reason_counts: dict[str, int] = {}
    first_choice = couples_placed = 0
    for unit in engine.units:
        if unit.room is not None:
            couples_placed += unit.is_couple
            for a in unit.members:
                assignments.append({"applicant": a.id, "room": unit.room.id, "rank": unit.rank + 1})
                first_choice += bool(a.prefs) and a.prefs[0] == unit.room.building
        else:
            entry = reasons[unit.rank]
            for a in unit.members:
                unassigned.append({"applicant": a.id, **entry, "rank": unit.rank + 1})
                reason_counts[entry["reason"]] = reason_counts.get(entry["reason"], 0) + 1
    groups = together = 0
    for members in engine.group_members.values():
        if len(members) >= 2:
            groups += 1
            rooms = {a.unit.room.idx if a.unit.room is not None else -1 for a in members}
            together += len(rooms) == 1 and -1 not in rooms
    stats = {
        "placed": len(assignments), "unplaced": len(unassigned),
        "seconds": round(time.perf_counter() - started, 3),
        "engine_version": ENGINE_VERSION,
        "applicants": len(engine.applicants), "rooms": len(engine.rooms),
        "free_beds_before": free_before,
        "free_beds_after": free_before - len(assignments),
        "couples_placed": couples_placed, "first_choice": first_choice,
        "groups": groups, "groups_together": together,
        "reasons": dict(sorted(reason_counts.items())),
    }
    return {"assignments": assignments, "unassigned": unassigned, "stats": stats}
