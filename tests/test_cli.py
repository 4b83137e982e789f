"""The flask commands of design/interfaces.md."""
from __future__ import annotations

from sqlalchemy import select

from services.accounts.models import Organisation, User
from services.core.access import Role
from services.extensions import db


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_create_org_is_idempotent(app):
    first = run(app, "create-org", "--kind", "park", "--code", "yc-etdz", "--name", "开发区")
    again = run(app, "create-org", "--kind", "park", "--code", "yc-etdz", "--name", "经开区")
    assert first.exit_code == again.exit_code == 0
    assert "created" in first.output and "updated" in again.output
    assert db.session.scalar(select(Organisation.name)) == "经开区"
    employer = run(app, "create-org", "--kind", "employer", "--code", "e1", "--name", "E",
                   "--park", "yc-etdz")
    assert employer.exit_code == 0


def test_create_org_bad_input_exits_nonzero_with_one_line(app):
    result = run(app, "create-org", "--kind", "employer", "--code", "e1", "--name", "E",
                 "--park", "missing")
    assert result.exit_code != 0 and result.output.strip().count("\n") == 0
    assert "missing" in result.output


def test_create_user_prints_id_and_can_sign_in(app, client):
    run(app, "create-org", "--kind", "agency", "--code", "union", "--name", "总工会")
    result = run(app, "create-user", "--role", "caseworker", "--username", "cli-cw",
                 "--password", "cli-password-1", "--org", "union")
    assert result.exit_code == 0, result.output
    user = db.session.get(User, int(result.output.strip()))
    assert user.role is Role.CASEWORKER and user.org.code == "union"
    token = client.post("/api/v1/auth/token", json={"username": "cli-cw",
                                                    "password": "cli-password-1"})
    assert token.status_code == 200


def test_create_user_bad_input(app):
    cases = [
        ["--role", "caseworker", "--username", "nocw", "--password", "cli-password-1"],
        ["--role", "boss", "--username", "boss1", "--password", "cli-password-1"],
        ["--role", "worker", "--username", "w1", "--password", "123"],
        ["--role", "worker", "--username", "w1", "--password", "cli-password-1"],
    ]
    for args in cases:
        result = run(app, "create-user", *args)
        assert result.exit_code != 0 and result.output.startswith("Error:"), result.output
    assert db.session.scalar(select(db.func.count(User.id))) == 0


def test_import_users_all_or_nothing(app, tmp_path):
    run(app, "create-org", "--kind", "agency", "--code", "hrss", "--name", "人社局")
    bad = tmp_path / "bad.csv"
    bad.write_text("role,username,password,phone,org\n"
                   "caseworker,imp-a,import-pass-1,,hrss\n"
                   "worker,imp-b,import-pass-1,,\n", "utf-8")
    result = run(app, "import-users", str(bad))
    assert result.exit_code != 0 and "line 3" in result.output
    assert db.session.scalar(select(db.func.count(User.id))) == 0
    good = tmp_path / "good.csv"
    good.write_text("\ufeffrole,username,password,phone,org\n"
                    "caseworker,imp-a,import-pass-1,,hrss\n"
                    "worker,imp-b,import-pass-1,13700001111,\n", "utf-8")
    result = run(app, "import-users", str(good))
    assert result.exit_code == 0 and "created 2" in result.output
    missing = tmp_path / "missing.csv"
    missing.write_text("role,username\nworker,x\n", "utf-8")
    assert "missing columns" in run(app, "import-users", str(missing)).output


def test_seed_demo_is_idempotent_and_prints_accounts(app):
    from services.demo import ACCOUNTS, DEMO_PASSWORD

    first = run(app, "seed-demo")
    assert first.exit_code == 0 and DEMO_PASSWORD in first.output
    count = db.session.scalar(select(db.func.count(User.id)))
    from services.dorms.demo import RESIDENTS

    assert count == len(ACCOUNTS) + len(RESIDENTS)
    assert {u.role for u in db.session.scalars(select(User))} == set(Role)
    again = run(app, "seed-demo", "--if-empty")
    assert "already" in again.output and "admin" in again.output
    assert run(app, "seed-demo").exit_code == 0
    assert db.session.scalar(select(db.func.count(User.id))) == count
