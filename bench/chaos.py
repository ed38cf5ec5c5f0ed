"""The chaos test, long version (issue 11, item 10): see bench/README.md, "chaos.py".

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/chaos.py --rounds 1000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.chaos.harness import Chaos

MUST = ("kill9", "sigterm", "server_restart", "drop", "dup", "delay")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1000, help="randomized fault actions (default 1000)")
    parser.add_argument("--min-runs", type=int, default=2, help="workflow runs at least (default 2)")
    parser.add_argument("--runners", type=int, default=3, help="runner processes kept alive (default 3)")
    parser.add_argument("--pause", default="0.1,0.9",
                        help="pause between rounds, seconds: a random value in MIN,MAX (default 0.1,0.9)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (printed; replays the same choices)")
    parser.add_argument("--database", default="nodeworks_chaos",
                        help="PostgreSQL database made fresh and dropped at the end (default nodeworks_chaos)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, side effects)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only the summary")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("note: DATABASE_URL names no PostgreSQL server; running on SQLite", file=sys.stderr)
    tmp = Path(tempfile.mkdtemp(prefix="nodeworks-chaos-"))
    chaos = Chaos(tmp, seed=args.seed, runners=args.runners, database_name=args.database, verbose=not args.quiet)
    began = time.monotonic()
    try:
        chaos.start()
        pause = tuple(float(part) for part in args.pause.split(","))
        summary = chaos.session(rounds=args.rounds, min_runs=args.min_runs, must=MUST, round_pause=pause)
    finally:
        chaos.close()
    print(summary.line())
    print(f"chaos: seed {chaos.seed}, {time.monotonic() - began:.0f} s, files in {tmp}")
    for problem in summary.problems:
        print("PROBLEM:", problem)
    if summary.problems:
        print(chaos.diagnostics())
        return 1
    if not args.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
