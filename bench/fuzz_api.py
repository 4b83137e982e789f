"""A longer schemathesis run over the JSON API than the suite's (tests/api/test_schema_fuzz.py).

Same harness (tests/fuzzing.py): the app in-process on a database seeded with the small demo set,
every documented operation called by every role allowed to use it, with valid and invalid data
generated from /api/v1/openapi.json (ids in paths and bodies swapped for existing ones three times
in four), plus a few calls per operation by each role that may not use it (must be 401/403, or
404 for an id no row can have).
Checked: no 5xx; status code, content type and body as the document says; invalid data refused;
and, on SQLite, no flush that PostgreSQL would refuse. Findings are collected, not raised: the
run goes on and prints each distinct one (operation, role, check, a curl line to reproduce it,
the exception the app logged), then the answers per operation.

Run from the repository root:

    .venv/bin/python bench/fuzz_api.py --examples 200          # SQLite file in a temp folder
    .venv/bin/python bench/fuzz_api.py --examples 50 --only /cases --roles caseworker,supervisor
    .venv/bin/python bench/fuzz_api.py --examples 50 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/fuzz

A PostgreSQL database given is emptied (all tables dropped) and seeded once; the state the run
builds up stays (no reset between operations). Exit status 1 when anything was found.
Not part of the test suite.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("ANJU_ENV", "testing")

from tests.fuzzing import ROLE_ACCOUNTS, Finding, FuzzEnv, api_operations, like_postgres  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=100,
                        help="examples per operation, role and mode (positive, negative)")
    parser.add_argument("--roles", default=",".join(ROLE_ACCOUNTS),
                        help="comma-separated roles (default: all, and no token)")
    parser.add_argument("--only", default="", help="only operations whose path contains this")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL URL of a database of your own (emptied first)")
    args = parser.parse_args()
    roles = [r for r in args.roles.split(",") if r]
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("anju", "flask-limiter", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.ERROR if noisy == "anju" else logging.WARNING)

    started = time.perf_counter()
    env = FuzzEnv.create(Path(tempfile.mkdtemp(prefix="anju-fuzz-")), args.database_url)
    print(f"database: {args.database_url or 'SQLite file'}; seeded in "
          f"{time.perf_counter() - started:.1f} s; known ids: "
          + ", ".join(f"{name} {len(values)}" for name, values in env.known.items()))
    operations = [op for op in api_operations(env.app) if args.only in op[1]]
    findings: dict[tuple, list[Finding]] = defaultdict(list)

    def keep(finding: Finding) -> None:
        findings[(finding.operation, finding.kinds, finding.cause[:120])].append(finding)

    pairs = 0
    started = time.perf_counter()
    with like_postgres() if args.database_url is None else _nothing():
        for method, path, allowed in operations:
            for role in roles:
                may = role in allowed
                if args.database_url is None:
                    env.reset()  # the pristine seeded file again
                else:
                    env.tokens = env._issue_tokens()  # POST /auth/logout ended the old ones
                env.fuzz(method, path, role, examples=args.examples if may else 3,
                         modes=("positive", "negative") if may else ("positive",),
                         raise_first=False, on_finding=keep,
                         only_statuses=None if may else frozenset({401, 403, 404}))
                pairs += 1
            print(f"  {method:6} {path:42} {env.calls:7} calls so far", flush=True)
    elapsed = time.perf_counter() - started
    env.close()

    print(f"\n{len(operations)} operations x {len(roles)} roles ({pairs} pairs), up to "
          f"{args.examples} examples per mode: {env.calls} calls in {elapsed:.0f} s")
    per_operation: dict[str, Counter] = defaultdict(Counter)
    for (operation, _role, status), count in env.statuses.items():
        per_operation[operation][status] += count
    print("\nanswers per operation (status: count)")
    for operation in sorted(per_operation):
        answers = ", ".join(f"{s}: {n}" for s, n in sorted(per_operation[operation].items()))
        print(f"  {operation:50} {answers}")
    if not findings:
        print("\nfound nothing: no 5xx, no undocumented answer, no accepted invalid data")
        return 0
    print(f"\nFOUND {len(findings)} distinct problem(s):")
    for (operation, kinds, cause), seen in findings.items():
        first = seen[0]
        print(f"\n=== {operation} as {first.role} ({first.mode}), {len(seen)} time(s): "
              f"{', '.join(kinds)}")
        if cause:
            print(f"cause: {cause}")
        print(first.report[:2500])
    return 1


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    sys.exit(main())
