"""`flask dorms …` commands."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from services.dorms.models import Room, Stay
from services.extensions import db
from tests.dorms.factories import HEADER, apply, make_park
from tests.factories import make_user


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_import_dry_run_then_real(app, tmp_path):
    park, employer, _ = make_park()
    good = tmp_path / "rooms.csv"
    good.write_text(HEADER + "\nA,101,1,F,4,standard,no,20,300,,\n", "utf-8")
    assert "dry run" in run(app, "dorms", "import", park.code, str(good), "--dry-run").output
    assert db.session.scalar(select(func.count(Room.id))) == 0
    result = run(app, "dorms", "import", park.code, str(good))
    assert result.exit_code == 0 and "1 created" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "\nA,102,1,F,x,standard,no,20,300,,\n", "utf-8")
    result = run(app, "dorms", "import", park.code, str(bad))
    assert result.exit_code != 0 and "line 2" in result.output
    assert run(app, "dorms", "import", "nowhere", str(good)).exit_code != 0


def test_solve_writes_the_result(app, tmp_path):
    instance = {"policy": {"lottery_seed": "s"}, "rooms": [
        {"id": "A-101", "building": "A", "gender": "F", "capacity": 1, "kind": "standard",
         "smoking": False, "rent_fen": 100, "reserved_for": None, "occupants": []}],
        "applicants": [{"id": f"w{n}", "gender": "F", "shift": "day", "employer": None,
                        "smoker": False, "needs_accessible": False, "max_rent_fen": 200,
                        "points": n, "preferred_buildings": [], "group": None, "couple": False}
                       for n in range(2)]}
    source, out = tmp_path / "i.json", tmp_path / "r.json"
    source.write_text(json.dumps(instance), "utf-8")
    result = run(app, "dorms", "solve", str(source), "--out", str(out))
    assert result.exit_code == 0, result.output
    answer = json.loads(out.read_text("utf-8"))
    assert [(a["applicant"], a["room"]) for a in answer["assignments"]] == [("w1", "A-101")]
    stdout = run(app, "dorms", "solve", str(source))
    assert json.loads(stdout.output)["stats"]["placed"] == 1
    source.write_text('{"rooms": 5}', "utf-8")
    broken = run(app, "dorms", "solve", str(source))
    assert broken.exit_code != 0 and broken.output.count("\n") == 1


def test_run_and_sweep(app):
    park, employer, _ = make_park("A,101,1,F,2,standard,no,20,300,,")
    apply(make_user("worker", org=employer), park)
    assert "dry run" in run(app, "dorms", "run", park.code).output
    assert db.session.scalar(select(func.count(Stay.id))) == 0
    assert "1 placed" in run(app, "dorms", "run", park.code, "--commit").output
    assert db.session.scalar(select(func.count(Stay.id))) == 1
    assert "0 offers expired" in run(app, "dorms", "sweep").output
