"""City-scale demo data for `flask seed-demo --size city` (benchmarks and load tests).

At `scale=1.0`: 28 parks, 1,000 enterprises, 100,000 beds, 300,000 workers, 50,000 cases and
200,000 bookings, on top of the small demo set (`services.demo.seed_small`, run first when the
database has no accounts).

How it is built, and why:

- Rows go in with SQLAlchemy Core bulk inserts (`insert(Table)` executemany, BATCH rows at a
  time); ids are read back with `RETURNING ... sort_by_parameter_order=True` where later tables
  need them. No ORM objects are created, so memory stays flat and PostgreSQL gets multi-row
  INSERTs.
- Values are deterministic (one seeded `random.Random`); only times are placed relative to the
  day of the run, so the slots, stays and deadlines look current whenever the set is built.
- Every demo worker shares one password hash (DEMO_PASSWORD hashed once): hashing 300,000
  argon2 passwords would take hours and prove nothing.
- Phones go through the `EncryptedString` column type, so each one is encrypted (AES-GCM) with
  the app's DATA_KEY exactly as an account made by the app; `phone_hash` is the blind index.
- No audit events are written for these rows: they are generated demo data, not the actions of
  a person, and a million "created by nobody" events would only drown the real trail. Every
  database invariant is kept: CHECK constraints, one holding stay per bed and per worker, one
  open application per worker and park, `booked_count` = seated bookings of the slot (never
  above capacity), one live booking per worker and slot, unique case numbers with the year's
  `case_counters` row at the last number given out, one lead period per case (by its lead, from
  dispatch; ended at resolution, or at the acknowledgement deadline for a refused or withdrawn
  request; still running for an open case), so the dashboard's "time held" has data.
- Refuses (RuntimeError) when city data exists already (park `city-p01`). Everything is one
  transaction: the caller (`flask seed-demo --size city`) commits it at the end; an error leaves
  nothing behind.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import func, insert, select, update

from services.accounts.models import Organisation, User
from services.bookings.models import Booking, Service, Slot
from services.cases.models import CASE_NO_PREFIX, Case, CaseCounter, CaseLeadPeriod, RoutingRule
from services.dorms.models import Bed, Building, DormApplication, DormPolicy, Room, Stay
from services.extensions import db

SEED = 20260101
BATCH = 5000

BASE_COUNTS = {
    "parks": 28,
    "enterprises": 1000,
    "beds": 100_000,
    "workers": 300_000,
    "cases": 50_000,
    "bookings": 200_000,
}
PROVIDERS = 4
SERVICES_PER_PROVIDER = 5
OCCUPANCY = 0.8  # share of beds with an active stay
QUEUE_SHARE = 0.1  # open applications per bed
PLATFORM_SHARE = 0.02  # share of enterprises that are platform companies (gig workers)

Progress = Callable[[str, int, int], None]

_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
             "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷")
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红梅鑫斌宇浩凯健俊帆帅雪琳晨阳婷慧"
_INDUSTRY = ["汽车零部件", "光伏科技", "纺织", "电子", "机械制造", "食品", "新材料", "物流",
             "医药", "化工", "家具", "服装", "印刷包装", "智能装备", "新能源"]


def counts(scale: float = 1.0) -> dict[str, int]:
    """The number of rows of each kind for a scale (at least one of each)."""
    return {name: max(1, round(base * scale)) for name, base in BASE_COUNTS.items()}


def seed_city(*, scale: float = 1.0, progress: Progress | None = None) -> dict[str, int]:
    """Add the city data set; return the number of rows inserted per table. Commits."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    if db.session.scalar(select(Organisation.id).where(Organisation.code == "city-p01")):
        raise RuntimeError("city demo data already exists (park city-p01); "
                           "start from an empty database to build it again")
    if not db.session.scalar(select(func.count()).select_from(User)):
        from services.demo import seed_small

        seed_small()
        db.session.flush()
    result = _Builder(scale, progress or (lambda step, done, total: None)).run()
    db.session.flush()  # the caller (the CLI) commits once
    return result


def _insert(table, rows: list[dict], *, returning: bool = False, step: str | None = None,
            progress: Progress | None = None, done: int = 0, total: int = 0) -> list[int]:
    """Bulk insert in batches; return the new ids in row order when asked."""
    ids: list[int] = []
    for start in range(0, len(rows), BATCH):
        chunk = rows[start:start + BATCH]
        if returning:
            stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            ids.extend(db.session.execute(stmt, chunk).scalars().all())
        else:
            db.session.execute(insert(table), chunk)
        if progress is not None and step is not None:
            progress(step, done + start + len(chunk), total)
    return ids


class _Builder:
    def __init__(self, scale: float, progress: Progress) -> None:
        self.n = counts(scale)
        self.rng = random.Random(SEED)
        self.progress = progress
        self.now = datetime.now(timezone.utc).replace(microsecond=0)
        self.today = self.now.date()
        self.result: dict[str, int] = {}

    def run(self) -> dict[str, int]:
        self.organisations()
        self.workers()
        self.dorms()
        self.stays_and_queue()
        self.bookings()
        self.cases()
        return self.result

    # --- organisations ----------------------------------------------------------------------
    def organisations(self) -> None:
        orgs = Organisation.__table__
        n_parks = self.n["parks"]
        park_rows = [{"kind": "park", "code": f"city-p{i:02d}", "name": f"盐城城市示范园区{i:02d}",
                      "park_id": None, "is_platform": False, "created_at": self.now}
                     for i in range(1, n_parks + 1)]
        self.park_ids = _insert(orgs, park_rows, returning=True)
        n_ent = self.n["enterprises"]
        n_platform = max(1, round(n_ent * PLATFORM_SHARE)) if n_ent > 1 else 0
        rows = []
        self.employers: list[tuple[int | None, bool, str]] = []  # (park, platform, name) by index
        for i in range(1, n_ent + 1):
            platform = i > n_ent - n_platform
            park = None if platform else self.park_ids[(i - 1) % n_parks]
            name = (f"城市即时配送平台{i:04d}有限公司" if platform else
                    f"盐城{self.rng.choice(_INDUSTRY)}示范企业{i:04d}有限公司")
            rows.append({"kind": "employer", "code": f"city-e{i:04d}", "name": name,
                         "park_id": park, "is_platform": platform, "created_at": self.now})
            self.employers.append((park, platform, name))
        self.employer_ids = _insert(orgs, rows, returning=True)
        prov_rows = [{"kind": "provider", "code": f"city-sp{i}", "name": f"城市职工服务中心{i}",
                      "park_id": None, "is_platform": False, "created_at": self.now}
                     for i in range(1, PROVIDERS + 1)]
        self.provider_ids = _insert(orgs, prov_rows, returning=True)
        db.session.execute(insert(DormPolicy.__table__), [
            {"park_id": pid, "min_area_per_person": 4, "max_beds_per_room": 8, "offer_hours": 48,
             "mix_shifts": False, "admits_gig_workers": True, "weights": {}}
            for pid in self.park_ids])
        self.result.update(parks=n_parks, enterprises=n_ent, providers=PROVIDERS,
                           dorm_policies=n_parks)
        self.progress("organisations", 1, 1)

    # --- workers ----------------------------------------------------------------------------
    def workers(self) -> None:
        from services.accounts.passwords import hash_password
        from services.core.pii import lookup_hash
        from services.demo import DEMO_PASSWORD

        password_hash = hash_password(DEMO_PASSWORD)  # once, shared by every demo worker
        rng = self.rng
        total = self.n["workers"]
        # 11-digit numbers `15` + 9 digits, all distinct: a fixed odd stride over 10**9 values.
        offset = rng.randrange(10**9)
        self.worker_gender: list[str] = []
        self.worker_employer: list[int] = []  # employer index
        table = User.__table__
        self.worker_ids: list[int] = []
        n_ent = len(self.employer_ids)
        for start in range(0, total, BATCH):
            rows = []
            for i in range(start, min(total, start + BATCH)):
                phone = f"15{(offset + i * 7_919_113) % 10**9:09d}"
                emp = rng.randrange(n_ent)
                gender = "M" if rng.random() < 0.55 else "F"
                self.worker_gender.append(gender)
                self.worker_employer.append(emp)
                name = rng.choice(_SURNAMES) + rng.choice(_GIVEN) + (
                    rng.choice(_GIVEN) if rng.random() < 0.6 else "")
                rows.append({
                    "username": f"cw{i + 1:06d}", "password_hash": password_hash,
                    "role": "worker", "org_id": self.employer_ids[emp], "name": name,
                    "phone_enc": phone,  # EncryptedString encrypts it on the way in
                    "phone_hash": lookup_hash(phone, purpose="phone"),
                    "employment_form": "platform" if self.employers[emp][1] else "employee",
                    "active": True, "session_version": 1, "created_at": self.now,
                })
            self.worker_ids.extend(_insert(table, rows, returning=True))
            self.progress("workers", len(self.worker_ids), total)
        self.result["workers"] = total

    # --- buildings, rooms, beds -------------------------------------------------------------
    def dorms(self) -> None:
        rng = self.rng
        n_parks = len(self.park_ids)
        total_beds = self.n["beds"]
        per_park = [total_beds // n_parks + (1 if i < total_beds % n_parks else 0)
                    for i in range(n_parks)]
        building_rows, room_specs = [], []  # room_specs: (building index, row dict)
        for p, park_id in enumerate(self.park_ids):
            left, b_no, room_no = per_park[p], 0, 0
            while left > 0:
                if room_no % 120 == 0:  # a new building every 120 rooms
                    b_no += 1
                    code = chr(65 + (b_no - 1) % 26) + str((b_no - 1) // 26 or "")
                    building_rows.append({"park_id": park_id, "code": code,
                                          "name": f"{b_no}号宿舍楼"})
                room_no += 1
                roll = rng.random()
                if roll < 0.06 and left >= 2:
                    kind, gender, cap = "couple", "any", 2
                elif roll < 0.09:
                    kind, gender, cap = "accessible", rng.choice("MF"), 2
                else:
                    kind, gender, cap = "standard", ("M" if rng.random() < 0.55 else "F"), \
                        rng.choice((4, 4, 6, 6, 8))
                cap = min(cap, left) if kind != "couple" else cap
                local = (room_no - 1) % 120
                floor = local // 20 + 1
                area = round(cap * rng.uniform(4.5, 6.5) + (8 if kind == "accessible" else 0), 2)
                rent = {"couple": 60000, "accessible": 30000}.get(kind, 35000 - cap * 2500)
                room_specs.append((len(building_rows) - 1, {
                    "number": f"{floor}{local % 20 + 1:02d}", "floor": floor, "gender": gender,
                    "capacity": cap, "kind": kind,
                    "smoking": kind == "standard" and rng.random() < 0.1,
                    "area_m2": area, "rent_fen": rent, "reserved_for_id": None, "status": "open"}))
                left -= cap
        building_ids = _insert(Building.__table__, building_rows, returning=True)
        building_park = [row["park_id"] for row in building_rows]
        self.building_code = {bid: row["code"] for bid, row in zip(building_ids, building_rows)}
        self.building_park = {bid: row["park_id"] for bid, row in zip(building_ids, building_rows)}
        rows = []
        for b_index, row in room_specs:
            row["building_id"] = building_ids[b_index]
            rows.append(row)
        room_ids = _insert(Room.__table__, rows, returning=True, step="rooms",
                           progress=self.progress, total=len(rows))
        bed_rows, self.bed_info = [], []  # bed_info: (park_id, room index) per bed
        for r, ((b_index, row), room_id) in enumerate(zip(room_specs, room_ids)):
            for k in range(row["capacity"]):
                bed_rows.append({"room_id": room_id, "label": chr(65 + k)})
                self.bed_info.append((building_park[b_index], r))
        self.bed_ids = _insert(Bed.__table__, bed_rows, returning=True, step="beds",
                               progress=self.progress, total=len(bed_rows))
        self.rooms = [row for _, row in room_specs]
        self.result.update(buildings=len(building_rows), rooms=len(rows), beds=len(bed_rows))

    # --- stays and the application queue ----------------------------------------------------
    def stays_and_queue(self) -> None:
        rng = self.rng
        # candidate workers of each park by gender (employees of its enterprises), in random order
        pool: dict[tuple[int, str], list[int]] = {}
        gig: dict[str, list[int]] = {"M": [], "F": []}
        for w, emp in enumerate(self.worker_employer):
            park = self.employers[emp][0]
            if park is None:
                gig[self.worker_gender[w]].append(w)
            else:
                pool.setdefault((park, self.worker_gender[w]), []).append(w)
        for lst in list(pool.values()) + list(gig.values()):
            rng.shuffle(lst)

        def take(park: int, gender: str) -> int | None:
            lst = pool.get((park, gender))
            if lst:
                return lst.pop()
            return gig[gender].pop() if gig[gender] else None

        # fill whole rooms in a random order until OCCUPANCY of the beds is taken
        beds_by_room: dict[int, list[int]] = {}
        for b, (_, r) in enumerate(self.bed_info):
            beds_by_room.setdefault(r, []).append(b)
        target = round(len(self.bed_ids) * OCCUPANCY)
        order = list(beds_by_room)
        rng.shuffle(order)
        rows, housed = [], 0
        for r in order:
            if housed >= target:
                break
            room = self.rooms[r]
            for k, b in enumerate(beds_by_room[r]):
                if housed >= target:
                    break
                park = self.bed_info[b][0]
                gender = room["gender"] if room["gender"] != "any" else "MF"[k % 2]
                w = take(park, gender)
                if w is None:
                    continue
                start = self.today - timedelta(days=rng.randrange(1, 720))
                offered = datetime.combine(start - timedelta(days=3), time(9), timezone.utc)
                rows.append({
                    "worker_id": self.worker_ids[w], "bed_id": self.bed_ids[b],
                    "application_id": None, "run_id": None, "status": "active",
                    "offered_at": offered, "offer_expires_at": offered + timedelta(hours=48),
                    "answered_at": offered + timedelta(hours=5), "assigned_by": None,
                    "assign_reason": "demo data", "start_date": start, "end_date": None,
                    "key_card": f"K{len(rows) + 1:07d}", "deposit_fen": 50000,
                    "damages_fen": 0, "deposit_refund_fen": None,
                })
                housed += 1
        _insert(Stay.__table__, rows, step="stays", progress=self.progress, total=len(rows))
        self.result["stays"] = len(rows)

        # an open queue: applications from workers of the park without a bed
        queue = round(len(self.bed_ids) * QUEUE_SHARE)
        app_rows = []
        buildings_of_park: dict[int, list[str]] = {}
        for bid, code in self.building_code.items():
            buildings_of_park.setdefault(self.building_park[bid], []).append(code)
        for q in range(queue):
            park = self.park_ids[q % len(self.park_ids)]
            gender = "M" if rng.random() < 0.55 else "F"
            w = take(park, gender)
            if w is None:
                continue
            codes = buildings_of_park.get(park, [])
            submitted = self.now - timedelta(days=rng.randrange(0, 60), minutes=rng.randrange(1440))
            app_rows.append({
                "worker_id": self.worker_ids[w], "park_id": park,
                "status": "waitlisted" if rng.random() < 0.7 else "submitted",
                "gender": gender, "move_in_date": self.today + timedelta(days=rng.randrange(1, 45)),
                "shift": "night" if rng.random() < 0.3 else "day",
                "smoker": rng.random() < 0.15, "needs_accessible": rng.random() < 0.02,
                "max_rent_fen": rng.choice((20000, 30000, 40000, 60000)),
                "preferred_buildings": rng.sample(codes, min(len(codes), rng.randrange(0, 4))),
                "group_code": None, "couple_with_id": None,
                "points": round(rng.uniform(0, 100), 1), "lottery": rng.random(),
                "points_breakdown": [], "reason_code": None, "reason_detail": None,
                "expired_offers": 0, "submitted_at": submitted, "updated_at": submitted,
            })
        _insert(DormApplication.__table__, app_rows, step="applications",
                progress=self.progress, total=len(app_rows))
        self.result["applications"] = len(app_rows)

    # --- services, slots and bookings -------------------------------------------------------
    def bookings(self) -> None:
        from services.bookings.operations.booking import CODE_ALPHABET

        rng = self.rng
        categories = ["legal", "training", "health", "counselling", "childcare", "rest_station"]
        service_rows = []
        for p, provider in enumerate(self.provider_ids):
            for s in range(SERVICES_PER_PROVIDER):
                category = categories[(p * SERVICES_PER_PROVIDER + s) % len(categories)]
                service_rows.append({
                    "provider_id": provider, "title": f"城市示范服务 {p + 1}-{s + 1}",
                    "description": "示范数据", "category": category,
                    "location": f"盐城市示范路{p + 1}号", "map_url": None, "online": False,
                    "eligibility": "all", "eligible_park_id": None, "mode": "first_come",
                    "max_active_bookings": 2, "open_days_before": 14, "close_minutes_before": 60,
                    "cancel_hours_before": 12, "lottery_hours_before": 48, "no_show_limit": 3,
                    "no_show_window_days": 90, "suspension_days": 30, "active": True,
                    "created_at": self.now})
        service_ids = _insert(Service.__table__, service_rows, returning=True)
        self.result["services"] = len(service_ids)

        total = self.n["bookings"]
        workers = list(range(len(self.worker_ids)))
        rng.shuffle(workers)
        # plan slots: each gets some bookings; seated ones never exceed capacity
        plans = []  # (service, starts_at, capacity, [statuses])
        planned = 0
        day0 = datetime.combine(self.today, time(1), timezone.utc)  # 09:00 Beijing time
        while planned < total:
            service = service_ids[len(plans) % len(service_ids)]
            capacity = rng.choice((10, 20, 20, 30, 40))
            starts = day0 + timedelta(days=rng.randrange(-60, 15), hours=rng.choice((0, 2, 5, 7)))
            past = starts < self.now
            want = min(total - planned, rng.randrange(capacity // 2, capacity + 5), len(workers))
            statuses = []
            seated = 0
            for _ in range(want):
                if seated < capacity and rng.random() < 0.88:
                    statuses.append(("attended" if rng.random() < 0.85 else "no_show")
                                    if past else "booked")
                    seated += 1
                else:
                    statuses.append("cancelled")
            plans.append((service, starts, capacity, statuses, seated))
            planned += want
        slot_rows = []
        for service, starts, capacity, _, seated in plans:
            opens = starts - timedelta(days=14)
            slot_rows.append({
                "service_id": service, "pattern_id": None, "starts_at": starts,
                "ends_at": starts + timedelta(hours=2), "capacity": capacity,
                "booked_count": seated, "opens_at": opens,
                "closes_at": starts - timedelta(minutes=60),
                "cancel_until": starts - timedelta(hours=12), "draw_at": None,
                "lottery_seed": None, "drawn_at": None, "created_at": opens})
        slot_ids = _insert(Slot.__table__, slot_rows, returning=True)
        self.result["slots"] = len(slot_ids)

        base = len(CODE_ALPHABET)

        def code(n: int) -> str:  # 10 characters: never equal to an 8-character live code
            chars = []
            for _ in range(9):
                n, rem = divmod(n, base)
                chars.append(CODE_ALPHABET[rem])
            return "Z" + "".join(reversed(chars))

        rows, cursor, done = [], 0, 0
        for slot_id, (service, starts, _, statuses, _) in zip(slot_ids, plans):
            for status in statuses:  # consecutive workers of a shuffled list: distinct per slot
                worker = self.worker_ids[workers[cursor % len(workers)]]
                cursor += 1
                created = starts - timedelta(days=rng.randrange(1, 14), minutes=rng.randrange(600))
                seated_at = created if status != "cancelled" else None
                rows.append({
                    "slot_id": slot_id, "service_id": service, "worker_id": worker,
                    "status": status, "idempotency_key": None,
                    "check_in_code": code(cursor * 2_654_435_761 % base ** 9),
                    "late_cancel": False, "created_at": created, "seated_at": seated_at,
                    "cancelled_at": created + timedelta(hours=3) if status == "cancelled" else None,
                    "attended_at": starts + timedelta(minutes=10) if status == "attended" else None,
                    "checked_in_by": None, "reminded_at": None})
            if len(rows) >= BATCH:
                _insert(Booking.__table__, rows)
                done += len(rows)
                rows = []
                self.progress("bookings", done, total)
        _insert(Booking.__table__, rows)
        done += len(rows)
        self.progress("bookings", done, total)
        self.result["bookings"] = done

    # --- cases ------------------------------------------------------------------------------
    def cases(self) -> None:
        from services.cases.operations.intake import normalise_employer
        from services.cases.routing import ACK_DAYS, DEFAULT_RULES

        rng = self.rng
        rules = {r.category: (r.lead_agency, list(r.co_agencies or []), r.resolve_days, r.ack_days)
                 for r in db.session.scalars(select(RoutingRule))}
        if not rules:  # no rows yet: the defaults the rows would hold
            rules = {c: (lead, list(co), days, ACK_DAYS)
                     for c, (lead, co, days, _) in DEFAULT_RULES.items()}
        categories = sorted(rules)
        owners = {}
        for agency in {lead for lead, *_ in rules.values()}:
            owners[agency] = list(db.session.scalars(
                select(User.id).join(Organisation, User.org_id == Organisation.id)
                .where(Organisation.code == agency, User.role == "caseworker")
                .order_by(User.id)))
        year = self.now.year
        last = db.session.scalar(select(CaseCounter.last_no).where(CaseCounter.year == year))
        if last is None:
            db.session.execute(insert(CaseCounter.__table__), [{"year": year, "last_no": 0}])
            last = 0
        total = self.n["cases"]
        weights = [("submitted", 8), ("accepted", 10), ("in_progress", 22), ("on_hold", 5),
                   ("resolved", 25), ("closed", 22), ("not_accepted", 4), ("withdrawn", 4)]
        statuses = [s for s, _ in weights]
        status_weights = [w for _, w in weights]
        outcomes = ["help_given", "money_recovered", "referred_elsewhere", "not_eligible", "other"]
        rows, periods, done = [], [], 0
        for i in range(1, total + 1):
            category = categories[rng.randrange(len(categories))]
            lead, co, resolve_days, ack_days = rules[category]
            status = rng.choices(statuses, status_weights)[0]
            w = rng.randrange(len(self.worker_ids))
            emp_name = self.employers[self.worker_employer[w]][2]
            dispatched = self.now - timedelta(days=rng.randrange(0, 180),
                                              minutes=rng.randrange(1440))
            ack_due = dispatched + timedelta(days=ack_days * 7 / 5)
            resolve_due = dispatched + timedelta(days=resolve_days * 7 / 5)
            working = status not in ("submitted", "not_accepted", "withdrawn")
            accepted_at = (min(self.now, dispatched + timedelta(hours=rng.randrange(1, 30)))
                           if working else None)
            finished = status in ("resolved", "closed")
            resolved_at = None
            if finished:
                resolved_at = min(self.now, accepted_at + timedelta(days=rng.randrange(1, 25)))
            is_open = status in ("submitted", "accepted", "in_progress", "on_hold")
            due_state = "on_track"
            if is_open and resolve_due < self.now:
                due_state = "breached"
            elif is_open and resolve_due - self.now < (resolve_due - dispatched) * 0.2:
                due_state = "at_risk"
            outcome = rng.choice(outcomes) if finished else None
            amount = rng.randrange(100_000, 5_000_000) if category == "wage_arrears" else None
            agency_owners = owners.get(lead) or [None]
            rows.append({
                "case_no": f"{CASE_NO_PREFIX}-{year}-{last + i:06d}", "category": category,
                "description": "示范数据：城市规模演示案件", "amount_fen": amount,
                "employer_name": emp_name, "employer_key": normalise_employer(emp_name),
                "incident_start": (dispatched - timedelta(days=rng.randrange(10, 90))).date(),
                "incident_end": None, "contact_preference": "phone",
                "consented_agencies": [lead, *co], "worker_id": self.worker_ids[w],
                "filed_by": self.worker_ids[w], "lead_agency": lead, "lead_binding": False,
                "owner_id": agency_owners[i % len(agency_owners)] if working else None,
                "status": status,
                "status_reason": "示范数据：不属于受理范围" if status == "not_accepted" else None,
                "dispatched_at": dispatched, "ack_due_at": ack_due, "resolve_due_at": resolve_due,
                "accepted_at": accepted_at,
                "on_hold_since": self.now - timedelta(days=rng.randrange(1, 10))
                if status == "on_hold" else None,
                "paused_seconds": 0, "deadline_state": due_state,
                "ack_breached": False, "escalation_level": 0, "outcome": outcome,
                "outcome_note": "示范数据" if finished else "",
                "recovered_fen": amount // 2 if outcome == "money_recovered" and amount else None,
                "resolved_at": resolved_at,
                "confirmed_at": resolved_at if status == "closed" else None,
                "closed_at": resolved_at if status == "closed" else None,
                "satisfaction": rng.randint(3, 5) if status == "closed" else None,
                "comment": "", "return_count": 0, "reopen_count": 0, "arbitration": False,
                "arbitrated_at": None, "is_collective": False, "collective_case_id": None,
                "created_at": dispatched, "updated_at": resolved_at or accepted_at or dispatched,
            })
            # The lead's period: from dispatch, ended at resolution; a refused or withdrawn
            # request was let go by its acknowledgement deadline; an open case's still runs.
            ended = resolved_at if finished else None if is_open else min(self.now, ack_due)
            periods.append({"agency": lead, "started_at": dispatched, "ended_at": ended})
            if len(rows) >= BATCH:
                done += self._insert_cases(rows, periods)
                rows, periods = [], []
                self.progress("cases", done, total)
        done += self._insert_cases(rows, periods)
        self.progress("cases", done, total)
        db.session.execute(update(CaseCounter.__table__)
                           .where(CaseCounter.__table__.c.year == year)
                           .values(last_no=last + total))
        self.result["cases"] = done
        self.result["lead_periods"] = done

    @staticmethod
    def _insert_cases(rows: list[dict], periods: list[dict]) -> int:
        """Insert a batch of cases and their lead periods (one each); return the count."""
        ids = _insert(Case.__table__, rows, returning=True)
        _insert(CaseLeadPeriod.__table__,
                [{**period, "case_id": case_id} for period, case_id in zip(periods, ids)])
        return len(ids)
