"""Unit tests of the allocation engine (services/dorms/allocator.py) on tiny instances."""
from __future__ import annotations

import hashlib
import json

import pytest

from services.dorms.allocator import (ENGINE_VERSION, REASONS, InstanceError, lottery_value, solve,
                                      validate_instance)
from tests.dorms.test_allocator_properties import legal, stable, units_in_order


def room(room_id: str, **fields) -> dict:
    data = {"id": room_id, "building": "A", "gender": "F", "capacity": 2, "kind": "standard",
            "smoking": False, "rent_fen": 30000, "reserved_for": None, "occupants": []}
    data.update(fields)
    return data


def occupant(shift: str = "day", gender: str = "F", employer: str | None = None) -> dict:
    return {"gender": gender, "shift": shift, "employer": employer}


def person(applicant_id: str, **fields) -> dict:
    data = {"id": applicant_id, "gender": "F", "shift": "day", "employer": "E1", "smoker": False,
            "needs_accessible": False, "max_rent_fen": 40000, "points": 10,
            "preferred_buildings": [], "group": None, "couple": False}
    data.update(fields)
    return data


def instance(rooms: list[dict], applicants: list[dict], **policy) -> dict:
    return {"policy": {"mix_shifts": False, "lottery_seed": "2026-12-01 draw", **policy},
            "rooms": rooms, "applicants": applicants}


def run(rooms: list[dict], applicants: list[dict], **policy) -> tuple[dict, dict, dict]:
    """(applicant -> room, applicant -> unassigned entry, result)."""
    result = solve(instance(rooms, applicants, **policy))
    placed = {item["applicant"]: item["room"] for item in result["assignments"]}
    unplaced = {item["applicant"]: item for item in result["unassigned"]}
    assert sorted(list(placed) + list(unplaced)) == sorted(a["id"] for a in applicants)
    return placed, unplaced, result


# -- contract basics ----------------------------------------------------------------------------


def test_empty_instance():
    result = solve({"rooms": [], "applicants": []})
    assert result["assignments"] == [] and result["unassigned"] == []
    assert result["stats"]["placed"] == 0 and result["stats"]["unplaced"] == 0
    assert result["stats"]["engine_version"] == ENGINE_VERSION == "1.0.0"


def test_result_shape_and_stats():
    placed, unplaced, result = run([room("A-101", capacity=1)], [person("w1"), person("w2", points=5)])
    assert result["assignments"] == [{"applicant": "w1", "room": "A-101", "rank": 1}]
    assert result["unassigned"] == [{"applicant": "w2", "reason": "outranked", "cutoff_points": 10, "rank": 2}]
    stats = result["stats"]
    assert (stats["placed"], stats["unplaced"]) == (1, 1)
    assert isinstance(stats["seconds"], float) and stats["seconds"] >= 0
    assert stats["free_beds_before"] == 1 and stats["free_beds_after"] == 0
    assert stats["reasons"] == {"outranked": 1}
    json.dumps(result)  # plain JSON data


def test_every_applicant_exactly_once():
    rooms = [room("r1", capacity=1), room("r2", gender="M", capacity=3, occupants=[occupant("night", "M")]),
             room("c1", gender="any", kind="couple", capacity=2)]
    people = [person("a", points=3), person("b", gender="M"), person("c", gender="M", shift="night"),
              person("d", group="k", couple=True, gender="M"), person("e", group="k", couple=True),
              person("f", needs_accessible=True), person("g", max_rent_fen=100)]
    result = solve(instance(rooms, people))
    ids = [x["applicant"] for x in result["assignments"] + result["unassigned"]]
    assert sorted(ids) == sorted(p["id"] for p in people)
    assert result["stats"]["placed"] + result["stats"]["unplaced"] == len(people)


def test_same_input_same_output_whatever_the_order():
    rooms = [room(f"r{i}", building="AB"[i % 2], capacity=1 + i % 3) for i in range(6)]
    people = [person(f"w{i}", points=i % 3, preferred_buildings=["B"] if i % 2 else []) for i in range(12)]
    first = solve(instance(rooms, people))
    second = solve(instance(list(reversed(rooms)), list(reversed(people))))
    for key in ("assignments", "unassigned"):
        assert first[key] == second[key]
    assert {k: v for k, v in first["stats"].items() if k != "seconds"} == \
           {k: v for k, v in second["stats"].items() if k != "seconds"}


# -- priority -----------------------------------------------------------------------------------


def test_lottery_value_is_sha256_of_seed_and_id():
    digest = hashlib.sha256(b"2026-12-01 draw:w1").digest()
    expected = int.from_bytes(digest[:8], "big") / 2**64
    assert lottery_value("2026-12-01 draw", "w1") == expected
    assert 0 <= expected < 1
    assert lottery_value("2026-12-01 draw", "w1") != lottery_value("2026-12-02 draw", "w1")


def test_points_go_first():
    placed, unplaced, _ = run([room("r1", capacity=1)], [person("low", points=55), person("high", points=62)])
    assert placed == {"high": "r1"}
    assert unplaced["low"]["reason"] == "outranked" and unplaced["low"]["cutoff_points"] == 62


def test_lottery_breaks_ties_lower_first():
    seed = "2026-12-01 draw"
    ids = [f"w{i}" for i in range(8)]
    winner = min(ids, key=lambda i: lottery_value(seed, i))
    placed, _, _ = run([room("r1", capacity=1)], [person(i) for i in ids], lottery_seed=seed)
    assert placed == {winner: "r1"}


def test_given_lottery_wins_over_seed_and_ties_fall_to_id():
    people = [person("w2", lottery=0.1), person("w1", lottery=0.7), person("w0", lottery=0.1)]
    placed, unplaced, _ = run([room("r1", capacity=1)], people)
    assert placed == {"w0": "r1"}  # equal lottery: applicant id decides
    assert unplaced["w2"]["rank"] == 2 and unplaced["w1"]["rank"] == 3
    assert validate_instance({"rooms": [], "applicants": [person("x", lottery=0.5)]}) == []  # no seed needed


def test_couple_ranks_by_higher_points():
    rooms = [room("c1", gender="any", kind="couple")]
    people = [person("a1", group="A", couple=True, points=9), person("a2", group="A", couple=True, points=0, gender="M"),
              person("b1", group="B", couple=True, points=5), person("b2", group="B", couple=True, points=5, gender="M")]
    placed, unplaced, result = run(rooms, people)
    assert placed == {"a1": "c1", "a2": "c1"}
    assert unplaced["b1"]["reason"] == unplaced["b2"]["reason"] == "outranked"
    assert unplaced["b1"]["cutoff_points"] == 9
    assert {x["rank"] for x in result["assignments"]} == {1}


def test_couple_ranks_by_lower_lottery():
    rooms = [room("c1", gender="any", kind="couple")]
    people = [person("a1", group="A", couple=True, lottery=0.9), person("a2", group="A", couple=True, lottery=0.1),
              person("b1", group="B", couple=True, lottery=0.2), person("b2", group="B", couple=True, lottery=0.3)]
    placed, _, _ = run(rooms, people)
    assert set(placed) == {"a1", "a2"}


def test_couple_and_singles_share_one_queue():
    rooms = [room("r1", capacity=1), room("c1", gender="any", kind="couple")]
    people = [person("s", points=5), person("p1", group="P", couple=True, points=7),
              person("p2", group="P", couple=True, points=1, gender="M")]
    _, _, result = run(rooms, people)
    ranks = {x["applicant"]: x["rank"] for x in result["assignments"]}
    assert ranks == {"p1": 1, "p2": 1, "s": 2}


# -- hard rules ---------------------------------------------------------------------------------


def test_rule_1_capacity_counts_existing_occupants():
    placed, unplaced, _ = run([room("r1", capacity=3, occupants=[occupant(), occupant()])],
                              [person("w1", points=3), person("w2", points=2), person("w3", points=1)])
    assert placed == {"w1": "r1"}
    assert unplaced["w2"]["reason"] == unplaced["w3"]["reason"] == "outranked"


def test_rule_1_full_room_is_no_free_bed():
    _, unplaced, _ = run([room("r1", capacity=1, occupants=[occupant()])], [person("w1")])
    assert unplaced["w1"]["reason"] == "no_free_bed"


def test_rule_2_gender():
    placed, unplaced, _ = run([room("m1", gender="M")], [person("f1", gender="F"), person("m1", gender="M")])
    assert placed == {"m1": "m1"}
    assert unplaced["f1"]["reason"] == "no_room_for_gender"


def test_rule_3_couple_takes_an_empty_couple_room_together():
    rooms = [room("c-used", gender="any", kind="couple", occupants=[occupant()]), room("std", capacity=4),
             room("c-free", gender="any", kind="couple", capacity=3)]
    people = [person("h", group="k", couple=True, gender="M"), person("w", group="k", couple=True),
              person("single", points=0)]
    placed, _, result = run(rooms, people)
    assert placed["h"] == placed["w"] == "c-free"
    assert placed["single"] == "std"  # a couple room takes nothing else, not even its spare bed
    assert result["stats"]["couples_placed"] == 1


def test_rule_3_single_never_in_couple_room_and_couple_never_in_standard_room():
    placed, unplaced, _ = run([room("c1", gender="any", kind="couple"), room("std", capacity=4)],
                              [person("s", points=9)])
    assert placed == {"s": "std"}
    _, unplaced, _ = run([room("c1", gender="any", kind="couple")], [person("s")])
    assert unplaced["s"]["reason"] == "no_feasible_room"
    _, unplaced, _ = run([room("std", capacity=4)],
                         [person("h", group="k", couple=True, gender="M"), person("w", group="k", couple=True)])
    assert unplaced["h"]["reason"] == unplaced["w"]["reason"] == "no_couple_room"


def test_rule_3_occupied_couple_room_is_no_free_bed():
    _, unplaced, _ = run([room("c1", gender="any", kind="couple", capacity=4, occupants=[occupant()])],
                         [person("h", group="k", couple=True, gender="M"), person("w", group="k", couple=True)])
    assert unplaced["h"]["reason"] == "no_free_bed"


def test_rule_4_reserved_rooms():
    rooms = [room("r1", reserved_for="E1", capacity=4)]
    placed, unplaced, _ = run(rooms, [person("e1", employer="E1"), person("e2", employer="E2"),
                                      person("gig", employer=None)])
    assert placed == {"e1": "r1"}
    assert unplaced["e2"]["reason"] == unplaced["gig"]["reason"] == "reserved_for_other_employers"


def test_rule_4_reserved_couple_room_needs_both_spouses_of_the_employer():
    rooms = [room("c1", gender="any", kind="couple", reserved_for="E1")]
    _, unplaced, _ = run(rooms, [person("h", group="k", couple=True, gender="M", employer="E2"),
                                 person("w", group="k", couple=True, employer="E1")])
    assert unplaced["h"]["reason"] == "reserved_for_other_employers"
    placed, _, _ = run(rooms, [person("h", group="k", couple=True, gender="M"), person("w", group="k", couple=True)])
    assert placed == {"h": "c1", "w": "c1"}


def test_rule_5_accessible_need():
    placed, unplaced, _ = run([room("std", capacity=4)], [person("n", needs_accessible=True)])
    assert unplaced["n"]["reason"] == "no_accessible_room"
    placed, _, _ = run([room("std", capacity=4), room("acc", kind="accessible")], [person("n", needs_accessible=True)])
    assert placed == {"n": "acc"}


def test_rule_5_others_may_use_accessible_rooms_but_last():
    placed, _, _ = run([room("acc", kind="accessible", capacity=1)], [person("w")])
    assert placed == {"w": "acc"}
    # even against a building preference, a standard room comes first for someone without the need
    placed, _, _ = run([room("acc", kind="accessible", building="A"), room("std", building="B")],
                       [person("w", preferred_buildings=["A"])])
    assert placed == {"w": "std"}


def test_rule_5_couple_with_accessible_need_is_never_placed():
    _, unplaced, _ = run([room("c1", gender="any", kind="couple")],
                         [person("h", group="k", couple=True, gender="M", needs_accessible=True),
                          person("w", group="k", couple=True)])
    assert unplaced["h"]["reason"] == unplaced["w"]["reason"] == "no_accessible_room"


def test_rule_6_smoking():
    rooms = [room("smoke", smoking=True, capacity=4)]
    placed, unplaced, _ = run(rooms, [person("smoker", smoker=True), person("clean")])
    assert placed == {"smoker": "smoke"}
    assert unplaced["clean"]["reason"] == "no_non_smoking_room"
    placed, _, _ = run([room("clean-room")], [person("smoker", smoker=True)])
    assert placed == {"smoker": "clean-room"}  # smokers may take non-smoking rooms


def test_rule_7_rent():
    rooms = [room("r1", rent_fen=30000, capacity=4)]
    placed, unplaced, _ = run(rooms, [person("exact", max_rent_fen=30000), person("short", max_rent_fen=29999)])
    assert placed == {"exact": "r1"}
    assert unplaced["short"]["reason"] == "no_room_within_rent"


def test_rule_8_one_shift_per_room():
    rooms = [room("r1", capacity=4, occupants=[occupant("night")])]
    placed, unplaced, _ = run(rooms, [person("day"), person("night", shift="night")])
    assert placed == {"night": "r1"}
    assert unplaced["day"]["reason"] == "no_room_for_shift"
    placed, _, _ = run(rooms, [person("day"), person("night", shift="night")], mix_shifts=True)
    assert placed == {"day": "r1", "night": "r1"}


def test_rule_8_first_newcomer_sets_the_shift_of_an_empty_room():
    placed, unplaced, _ = run([room("r1", capacity=3)],
                              [person("d", points=9), person("n1", shift="night", points=1),
                               person("n2", shift="night", points=1)])
    assert placed == {"d": "r1"}
    for late in ("n1", "n2"):
        assert unplaced[late]["reason"] == "outranked" and unplaced[late]["cutoff_points"] == 9


def test_rule_8_room_with_mixed_occupants_takes_nobody_new():
    rooms = [room("r1", capacity=4, occupants=[occupant("day"), occupant("night")])]
    _, unplaced, _ = run(rooms, [person("w")])
    assert unplaced["w"]["reason"] == "no_room_for_shift"
    placed, _, _ = run(rooms, [person("w")], mix_shifts=True)
    assert placed == {"w": "r1"}


def test_couple_spouses_on_different_shifts():
    people = [person("h", group="k", couple=True, gender="M", shift="night"), person("w", group="k", couple=True)]
    _, unplaced, _ = run([room("c1", gender="any", kind="couple")], people)
    assert unplaced["h"]["reason"] == "couple_shifts_differ"
    placed, _, _ = run([room("c1", gender="any", kind="couple")], people, mix_shifts=True)
    assert placed == {"h": "c1", "w": "c1"}


# -- stability ----------------------------------------------------------------------------------


def test_literal_stability_can_place_more_but_the_engine_keeps_priority():
    """The contract's one-swap envy test accepts "b1 and b2 in, a out"; the engine places a."""
    rooms = [room("r1", capacity=3)]
    people = [person("a", points=90), person("b1", shift="night", points=50), person("b2", shift="night", points=50)]
    data = instance(rooms, people)
    order = [unit[0]["id"] for unit in units_in_order(data)]
    unfair = {order.index("a"): None, order.index("b1"): "r1", order.index("b2"): "r1"}
    assert legal(rooms[0], people[1:], mix=False) and stable(data, unfair)
    placed, unplaced, _ = run(rooms, people)
    assert placed == {"a": "r1"}
    assert unplaced["b1"]["reason"] == "outranked" and unplaced["b1"]["cutoff_points"] == 90


def test_a_lower_applicant_may_open_a_room_the_higher_one_could_never_take():
    # "a" is unplaced and "b", ranked lower, is placed: with b removed the room is empty again,
    # and still a smoking room, so a in b's place breaks rule 6 - no justified envy
    placed, unplaced, _ = run([room("r1", smoking=True)],
                              [person("a", points=9), person("b", smoker=True, shift="night", points=1)])
    assert placed == {"b": "r1"}
    assert unplaced["a"]["reason"] == "no_non_smoking_room"


# -- preferences --------------------------------------------------------------------------------


def test_first_preferred_building_then_second():
    rooms = [room("a1", building="A", capacity=1), room("b1", building="B", capacity=1), room("c1", building="C", capacity=1)]
    placed, _, _ = run(rooms, [person("x", points=2, preferred_buildings=["B", "C"]),
                               person("y", points=1, preferred_buildings=["B", "C"])])
    assert placed == {"x": "b1", "y": "c1"}


def test_partly_filled_before_empty_and_same_employer_first():
    rooms = [room("empty", capacity=4), room("other-employer", capacity=4, occupants=[occupant(employer="E2")]),
             room("same-employer", capacity=4, occupants=[occupant(employer="E1")])]
    placed, _, _ = run(rooms, [person("w", employer="E1")])
    assert placed == {"w": "same-employer"}
    placed, _, _ = run(rooms[:2], [person("w", employer="E1")])
    assert placed == {"w": "other-employer"}


def test_smallest_empty_room_is_opened_first():
    placed, _, _ = run([room("big", capacity=6), room("small", capacity=2)], [person("w")])
    assert placed == {"w": "small"}


def test_dearest_room_within_budget_leaves_cheap_beds_to_others():
    rooms = [room("cheap", rent_fen=10000, capacity=1), room("dear", rent_fen=30000, capacity=1)]
    placed, _, _ = run(rooms, [person("rich", points=9, max_rent_fen=40000), person("poor", max_rent_fen=10000)])
    assert placed == {"rich": "dear", "poor": "cheap"}


def test_reserved_room_and_smoking_room_come_first_for_those_who_may_use_them():
    rooms = [room("open", building="A", capacity=4), room("e1-only", building="B", reserved_for="E1"),
             room("smoke", building="B", smoking=True)]
    placed, _, _ = run(rooms, [person("e1", employer="E1", preferred_buildings=["A"]),
                               person("smoker", employer="E2", smoker=True, preferred_buildings=["A"])])
    assert placed == {"e1": "e1-only", "smoker": "smoke"}


def test_group_opens_a_room_for_all_and_its_beds_are_held():
    rooms = [room("r2", capacity=2), room("r3", capacity=3), room("r4", capacity=4)]
    people = [person("g1", points=9, group="friends"), person("other", points=5),
              person("g2", points=3, group="friends"), person("g3", points=1, group="friends")]
    placed, _, result = run(rooms, people)
    assert placed["g1"] == placed["g2"] == placed["g3"] == "r3"
    assert placed["other"] != "r3"  # the partly filled r3 is held for the group: other opens a room
    assert result["stats"]["groups"] == 1 and result["stats"]["groups_together"] == 1


def test_held_bed_goes_to_a_higher_ranked_applicant_who_has_nothing_else():
    rooms = [room("r2", capacity=2)]
    people = [person("g1", points=9, group="friends"), person("other", points=5), person("g2", points=3, group="friends")]
    placed, unplaced, _ = run(rooms, people)
    assert placed == {"g1": "r2", "other": "r2"}  # priority beats the group's wish
    assert unplaced["g2"]["reason"] == "outranked" and unplaced["g2"]["cutoff_points"] == 5


def test_group_member_joins_the_group_room():
    rooms = [room("a1", building="A", capacity=1, occupants=[]), room("b1", building="B", capacity=3)]
    people = [person("g1", points=9, group="friends", preferred_buildings=["B"]),
              person("g2", points=1, group="friends", preferred_buildings=["A"])]
    placed, _, _ = run(rooms, people)
    assert placed == {"g1": "b1", "g2": "b1"}


def test_couple_prefers_the_higher_ranked_spouses_building():
    rooms = [room("cA", gender="any", kind="couple", building="A"), room("cB", gender="any", kind="couple", building="B")]
    placed, _, _ = run(rooms, [person("h", group="k", couple=True, gender="M", points=1, preferred_buildings=["A"]),
                               person("w", group="k", couple=True, points=5, preferred_buildings=["B"])])
    assert placed == {"h": "cB", "w": "cB"}


# -- reasons ------------------------------------------------------------------------------------


def test_reason_codes_are_documented():
    import services.dorms.allocator as allocator
    for code in REASONS:
        assert f"``{code}``" in allocator.__doc__


def test_no_feasible_room_when_several_rules_block_together():
    _, unplaced, _ = run([room("m1", gender="M", rent_fen=90000)], [person("f", gender="F", max_rent_fen=1000)])
    assert unplaced["f"]["reason"] == "no_feasible_room"
    _, unplaced, _ = run([], [person("w")])
    assert unplaced["w"]["reason"] == "no_feasible_room"


def test_rent_is_named_first_when_several_single_rules_would_open_a_room():
    rooms = [room("dear", rent_fen=90000), room("night", occupants=[occupant("night")])]
    _, unplaced, _ = run(rooms, [person("w", max_rent_fen=1000)])
    assert unplaced["w"]["reason"] == "no_room_within_rent"


def test_cutoff_points_name_the_last_applicant_placed_ahead_in_a_room_one_could_take():
    rooms = [room("cheap", rent_fen=10000, capacity=1), room("dear", rent_fen=50000, capacity=1)]
    people = [person("rich", points=80, max_rent_fen=60000), person("mid", points=62, max_rent_fen=20000),
              person("poor", points=55, max_rent_fen=20000)]
    placed, unplaced, _ = run(rooms, people)
    assert placed == {"rich": "dear", "mid": "cheap"}
    assert unplaced["poor"]["cutoff_points"] == 62  # not 80: "rich" took a room "poor" could not afford


# -- validation ---------------------------------------------------------------------------------


def _valid() -> dict:
    return instance([room("r1", occupants=[occupant()]), room("c1", gender="any", kind="couple")],
                    [person("w1"), person("h", group="k", couple=True, gender="M"), person("w", group="k", couple=True)])


def test_valid_instance_has_no_problems():
    assert validate_instance(_valid()) == []
    assert validate_instance({"rooms": [], "applicants": []}) == []


def _break(path: str, value) -> dict:
    data = _valid()
    target = data
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(("path", "value", "message"), [
    ("rooms", _DELETE, "missing 'rooms'"),
    ("applicants", _DELETE, "missing 'applicants'"),
    ("rooms", {}, "'rooms' must be a list"),
    ("policy", [], "'policy' must be an object"),
    ("policy.mix_shifts", "no", "'mix_shifts' must be true or false"),
    ("policy.lottery_seed", 7, "'lottery_seed' must be a string"),
    ("policy.lottery_seed", _DELETE, "'lottery_seed' is required"),
    ("rooms.0.building", _DELETE, "rooms[0] (id 'r1'): missing 'building'"),
    ("rooms.0.capacity", "4", "'capacity' must be a whole number"),
    ("rooms.0.capacity", True, "'capacity' must be a whole number"),
    ("rooms.0.capacity", 0, "1 occupants exceed capacity 0"),
    ("rooms.0.gender", "X", "'gender' must be 'M', 'F' or 'any'"),
    ("rooms.0.gender", "any", "gender 'any' is only for couple rooms"),
    ("rooms.1.gender", "M", "a couple room has gender 'any'"),
    ("rooms.0.kind", "suite", "'kind' must be 'standard', 'couple' or 'accessible'"),
    ("rooms.0.smoking", "yes", "'smoking' must be true or false"),
    ("rooms.0.rent_fen", 300.5, "'rent_fen' must be a whole number of fen"),
    ("rooms.0.rent_fen", -1, "'rent_fen' must be a whole number of fen"),
    ("rooms.0.reserved_for", 5, "'reserved_for' must be null or an employer code"),
    ("rooms.0.occupants", {}, "'occupants' must be a list"),
    ("rooms.0.occupants.0.shift", "evening", "occupants[0]: 'shift' must be 'day' or 'night'"),
    ("rooms.0.occupants.0.gender", _DELETE, "occupants[0]: missing 'gender'"),
    ("rooms.1.id", "r1", "duplicate room id"),
    ("applicants.0.id", "h", "duplicate applicant id"),
    ("applicants.0.id", "", "'id' must be a non-empty string"),
    ("applicants.0.gender", "any", "'gender' must be 'M' or 'F'"),
    ("applicants.0.shift", "both", "'shift' must be 'day' or 'night'"),
    ("applicants.0.smoker", None, "'smoker' must be true or false"),
    ("applicants.0.needs_accessible", _DELETE, "missing 'needs_accessible'"),
    ("applicants.0.max_rent_fen", "40000", "'max_rent_fen' must be a whole number of fen"),
    ("applicants.0.points", float("nan"), "'points' must be a finite number"),
    ("applicants.0.points", False, "'points' must be a finite number"),
    ("applicants.0.preferred_buildings", ["A", "B", "C", "D"], "at most three building codes"),
    ("applicants.0.preferred_buildings", "A", "at most three building codes"),
    ("applicants.0.lottery", 1.0, "'lottery' must be a number in [0, 1)"),
    ("applicants.0.lottery", -0.1, "'lottery' must be a number in [0, 1)"),
    ("applicants.0.couple", True, "a couple application needs the group code"),
    ("applicants.0.group", "k", "a couple is exactly two applicants"),
    ("applicants.2.couple", False, "a couple is exactly two applicants"),
    ("applicants.2.group", "other", "a couple is exactly two applicants"),
])
def test_malformed_instances_are_refused(path, value, message):
    data = _break(path, value)
    problems = validate_instance(data)
    assert any(message in problem for problem in problems), problems
    with pytest.raises(InstanceError) as caught:
        solve(data)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_instance_must_be_an_object():
    assert validate_instance([]) == ["the instance must be a JSON object with 'rooms' and 'applicants'"]
    with pytest.raises(InstanceError, match="JSON object"):
        solve("rooms")


def test_one_line_message_counts_the_other_problems():
    data = _break("rooms.0.kind", "suite")
    data["applicants"][0]["gender"] = "X"
    with pytest.raises(InstanceError, match=r"^rooms\[0\] \(id 'r1'\): 'kind' .* \(and 1 more problem\)$"):
        solve(data)


def test_optional_fields_default():
    minimal_room = {"id": "r1", "building": "A", "gender": "F", "capacity": 1, "kind": "standard",
                    "smoking": False, "rent_fen": 100}
    minimal_person = {"id": "w1", "gender": "F", "shift": "day", "smoker": False,
                      "needs_accessible": False, "max_rent_fen": 100, "points": 1}
    result = solve({"policy": {"lottery_seed": "s"}, "rooms": [minimal_room], "applicants": [minimal_person]})
    assert result["assignments"] == [{"applicant": "w1", "room": "r1", "rank": 1}]
