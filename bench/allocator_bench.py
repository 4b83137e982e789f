"""Benchmark of the dormitory allocation engine (services/dorms/allocator.py).

Generates a park-sized instance deterministically (seeded random.Random), solves it, checks the
hard rules and maximality on the result with a fast independent checker, and prints time, memory
and counts. Run from the repository root:

    .venv/bin/python bench/allocator_bench.py                      # 20,000 applicants, 6,000 rooms
    .venv/bin/python bench/allocator_bench.py --applicants 2000 --rooms 600 --seed 7
    .venv/bin/python bench/allocator_bench.py --mix-shifts         # shifts may share rooms
    .venv/bin/python bench/allocator_bench.py --out /tmp/instance.json   # also save the instance
    .venv/bin/python bench/allocator_bench.py --tracemalloc        # Python-heap peak (slower)

Exit status 1 when the checker finds a broken rule or the run misses the 10 s / 1 GB budget.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from services.dorms.allocator import solve  # noqa: E402

BUDGET_SECONDS = 10.0
BUDGET_MB = 1024


def make_instance(applicants: int = 20_000, rooms: int = 6_000, seed: int = 2026,
                  mix_shifts: bool = False) -> dict:
    """A park: ~4.2 beds a room, half the rooms partly occupied, reserved, smoking,
    accessible and couple rooms, groups and couples among the applicants."""
    rng = random.Random(seed)
    buildings = [f"B{i:02d}" for i in range(1, max(2, rooms // 100) + 1)]
    employers = [f"E{i:03d}" for i in range(1, 201)]
    big_employers = employers[:20]
    employer_weights = [1 / (i + 1) for i in range(len(employers))]  # a few large enterprises

    def employer() -> str:
        return rng.choices(employers, employer_weights)[0]

    room_list = []
    for i in range(rooms):
        building = rng.choice(buildings)
        roll = rng.random()
        kind = "couple" if roll < 0.05 else "accessible" if roll < 0.09 else "standard"
        if kind == "couple":
            gender, capacity = "any", 2
        else:
            gender = "M" if rng.random() < 0.55 else "F"
            capacity = rng.choice((2, 3, 4) if kind == "accessible" else (2, 4, 4, 4, 6, 6, 8))
        occupants = []
        if rng.random() < 0.5:
            if kind == "couple":
                shift = rng.choice(("day", "night"))
                occupants = [{"gender": "M", "shift": shift, "employer": None},
                             {"gender": "F", "shift": shift, "employer": None}]
            else:
                shift = rng.choice(("day", "day", "night"))
                occupant_employer = employer()
                for _ in range(rng.randint(1, capacity - 1)):
                    occupants.append({
                        "gender": gender,
                        "shift": shift if rng.random() < 0.98 else rng.choice(("day", "night")),
                        "employer": occupant_employer if rng.random() < 0.7 else employer()})
        room_list.append({
            "id": f"{building}-{i:05d}", "building": building, "gender": gender,
            "capacity": capacity, "kind": kind, "smoking": kind != "couple" and rng.random() < 0.15,
            "rent_fen": rng.randrange(15_000, 60_001, 500) - 2_000 * (capacity >= 6),
            "reserved_for": rng.choice(big_employers) if rng.random() < 0.12 else None,
            "occupants": occupants,
        })

    applicant_list = []
    i = 0
    while len(applicant_list) < applicants:
        i += 1
        roll = rng.random()
        size = 2 if roll < 0.03 and len(applicant_list) + 2 <= applicants else 1
        couple = size == 2
        if not couple and roll < 0.08:
            size = min(rng.randint(2, 4), applicants - len(applicant_list))
        group = f"g{i}" if size > 1 else None
        shared_employer, shared_shift = employer(), rng.choice(("day", "day", "night"))
        shared_prefs = rng.sample(buildings, rng.randint(0, 3))
        shared_gender = "M" if rng.random() < 0.55 else "F"
        for k in range(size):
            if couple:
                gender = ("M", "F")[k]
            else:
                gender = shared_gender if group else ("M" if rng.random() < 0.55 else "F")
            applicant_list.append({
                "id": f"w{len(applicant_list) + 1:06d}", "gender": gender,
                "shift": shared_shift if group else rng.choice(("day", "day", "night")),
                "employer": shared_employer if group and rng.random() < 0.8 else employer(),
                "smoker": rng.random() < 0.25, "needs_accessible": rng.random() < 0.02,
                "max_rent_fen": rng.randrange(20_000, 70_001, 1_000),
                "points": float(rng.randint(0, 100)) if rng.random() < 0.7 else round(rng.uniform(0, 100), 1),
                "preferred_buildings": shared_prefs if group else rng.sample(buildings, rng.randint(0, 3)),
                "group": group, "couple": couple,
            })
    return {"policy": {"mix_shifts": mix_shifts, "lottery_seed": f"bench-{seed}"},
            "rooms": room_list, "applicants": applicant_list}


def check(instance: dict, result: dict) -> list[str]:
    """Hard rules 1-8, every applicant exactly once, and maximality: a fast independent check."""
    problems: list[str] = []
    mix = instance.get("policy", {}).get("mix_shifts", False)
    rooms = {r["id"]: r for r in instance["rooms"]}
    people = {a["id"]: a for a in instance["applicants"]}
    seen = [item["applicant"] for item in result["assignments"]] + [item["applicant"] for item in result["unassigned"]]
    if sorted(seen) != sorted(people):
        problems.append("not every applicant appears exactly once")
    if result["stats"]["placed"] != len(result["assignments"]) or result["stats"]["unplaced"] != len(result["unassigned"]):
        problems.append("stats do not match the lists")
    placed_in: dict[str, list[dict]] = {room_id: [] for room_id in rooms}
    where: dict[str, str] = {}
    for item in result["assignments"]:
        a, room = people[item["applicant"]], rooms[item["room"]]
        placed_in[room["id"]].append(a)
        where[a["id"]] = room["id"]
        if room["kind"] == "couple":
            if not a.get("couple"):
                problems.append(f"rule 3: single {a['id']} in couple room {room['id']}")
        elif a.get("couple"):
            problems.append(f"rule 3: couple member {a['id']} in {room['kind']} room {room['id']}")
        if room["gender"] in ("M", "F") and room["gender"] != a["gender"]:
            problems.append(f"rule 2: {a['id']} in {room['id']}")
        if room.get("reserved_for") is not None and room["reserved_for"] != a.get("employer"):
            problems.append(f"rule 4: {a['id']} in {room['id']}")
        if a["needs_accessible"] and room["kind"] != "accessible":
            problems.append(f"rule 5: {a['id']} in {room['id']}")
        if room["smoking"] and not a["smoker"]:
            problems.append(f"rule 6: {a['id']} in {room['id']}")
        if room["rent_fen"] > a["max_rent_fen"]:
            problems.append(f"rule 7: {a['id']} in {room['id']}")
    couples: dict[str, list[str]] = {}
    for a in instance["applicants"]:
        if a.get("couple"):
            couples.setdefault(a["group"], []).append(a["id"])
    for group, ids in couples.items():
        rooms_of = {where.get(i) for i in ids}
        if len(rooms_of) != 1:
            problems.append(f"rule 3: couple {group} split")
        elif None not in rooms_of:
            room = rooms[rooms_of.pop()]
            if room.get("occupants") or len(placed_in[room["id"]]) != 2:
                problems.append(f"rule 3: couple {group} not alone in an empty room")
    free_classes: dict[tuple, int] = {}  # final state with a free bed -> cheapest rent
    for room_id, room in rooms.items():
        new = placed_in[room_id]
        everyone = room.get("occupants", []) + new
        if len(everyone) > room["capacity"]:
            problems.append(f"rule 1: {room_id} over capacity")
        shifts = {p["shift"] for p in everyone}
        if new and not mix and len(shifts) > 1:
            problems.append(f"rule 8: {room_id} mixes shifts")
        if room["kind"] != "couple" and len(everyone) < room["capacity"]:
            shift = "empty" if not everyone else (shifts.pop() if len(shifts) == 1 else "mixed")
            key = (room["gender"], room["kind"], room["smoking"], room.get("reserved_for"), shift)
            free_classes[key] = min(free_classes.get(key, 1 << 62), room["rent_fen"])
        elif room["kind"] == "couple" and not everyone and room["capacity"] >= 2:
            key = ("couple", room["smoking"], room.get("reserved_for"))
            free_classes[key] = min(free_classes.get(key, 1 << 62), room["rent_fen"])
    for item in result["unassigned"]:  # maximality: nobody unplaced fits a bed left free
        a = people[item["applicant"]]
        if a.get("couple"):
            continue  # checked per couple below
        shifts = ("empty", "day", "night", "mixed") if mix else ("empty", a["shift"])
        for kind in ("standard", "accessible"):
            if a["needs_accessible"] and kind != "accessible":
                continue
            for smoking in (False, True) if a["smoker"] else (False,):
                for reserved in {None, a.get("employer")}:
                    for shift in shifts:
                        rent = free_classes.get((a["gender"], kind, smoking, reserved, shift))
                        if rent is not None and rent <= a["max_rent_fen"]:
                            problems.append(f"maximality: {a['id']} fits a free bed")
    for group, ids in couples.items():
        if where.get(ids[0]) is None:
            one, two = people[ids[0]], people[ids[1]]
            if one["needs_accessible"] or two["needs_accessible"] or (not mix and one["shift"] != two["shift"]):
                continue
            employer = one.get("employer") if one.get("employer") == two.get("employer") else None
            for smoking in (False, True) if one["smoker"] and two["smoker"] else (False,):
                for reserved in {None, employer}:
                    rent = free_classes.get(("couple", smoking, reserved))
                    if rent is not None and rent <= min(one["max_rent_fen"], two["max_rent_fen"]):
                        problems.append(f"maximality: couple {group} fits a free couple room")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applicants", type=int, default=20_000)
    parser.add_argument("--rooms", type=int, default=6_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--mix-shifts", action="store_true", help="policy.mix_shifts = true")
    parser.add_argument("--out", help="also write the instance JSON to this file")
    parser.add_argument("--result", help="also write the result JSON to this file")
    parser.add_argument("--tracemalloc", action="store_true", help="measure the Python-heap peak too")
    args = parser.parse_args(argv)

    instance = make_instance(args.applicants, args.rooms, args.seed, args.mix_shifts)
    beds = sum(r["capacity"] for r in instance["rooms"])
    free = beds - sum(len(r["occupants"]) for r in instance["rooms"])
    print(f"instance: {len(instance['applicants'])} applicants, {len(instance['rooms'])} rooms, "
          f"{beds} beds ({free} free), seed {args.seed}, mix_shifts {args.mix_shifts}")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump(instance, handle)
        print(f"instance written to {args.out}")

    if args.tracemalloc:
        tracemalloc.start()
    started = time.perf_counter()
    result = solve(instance)
    seconds = time.perf_counter() - started
    heap_mb = None
    if args.tracemalloc:
        heap_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux

    stats = result["stats"]
    print(f"solve: {seconds:.2f} s (engine's own figure {stats['seconds']} s)")
    print(f"peak RSS of the process: {rss_mb:.0f} MB" + (f"; Python heap peak {heap_mb:.0f} MB" if heap_mb else ""))
    print(f"placed {stats['placed']}, unplaced {stats['unplaced']}, couples placed {stats['couples_placed']}, "
          f"first choice {stats['first_choice']}, groups together {stats['groups_together']}/{stats['groups']}")
    print("reasons: " + ", ".join(f"{code} {count}" for code, count in stats["reasons"].items()))
    if args.result:
        with open(args.result, "w", encoding="utf-8") as handle:
            json.dump(result, handle)

    started = time.perf_counter()
    problems = check(instance, result)
    print(f"check: {'OK' if not problems else f'{len(problems)} problems'} ({time.perf_counter() - started:.2f} s)")
    for problem in problems[:20]:
        print("  " + problem)
    over_budget = seconds > BUDGET_SECONDS or rss_mb > BUDGET_MB
    if over_budget:
        print(f"over budget: {BUDGET_SECONDS} s / {BUDGET_MB} MB")
    return 1 if problems or over_budget else 0


if __name__ == "__main__":
    sys.exit(main())
