"""The desk's hot functions timed alone, in this process: ``PYTHONPATH=. python bench/functions.py``
(issue 21, fourth round).

A whole request's time drifts on a shared machine more than one change weighs on it; a function
timed alone, in fresh processes of the old tree and the new one run one after the other, shows
the change. For an A/B: ``git worktree add /tmp/old <commit>`` and run this file of each tree
(``PYTHONPATH=/tmp/old python /tmp/old/bench/functions.py``; copy this file there when the old
commit lacks it), alternating a few times.

Runs against the 100 k bench database of ``make bench`` (it must exist), without writing to it
(every call is rolled back). Prints the time per call: the median of ``--passes`` passes of 200 calls.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CALLS = 200


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="100k")
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    from bench.profile import use_bench_database

    dsn = use_bench_database(args.scale, args.pg)
    os.chdir(ROOT)

    from app.accueil import search
    from app.core import ratelimit
    from app.core.db import db, key_ring
    from app.core.names import tokens
    from app.orientation.designated import referents
    from bench import run as bench
    from wsgi import app

    config = bench.fixtures(dsn)
    queries = bench.queries()[:CALLS]
    limits = [("minute", 10**6, timedelta(minutes=1)), ("day", 10**8, timedelta(days=1))]

    with app.app_context():
        ring = key_ring()
        sealed = [ring.encrypt("Dupont-Martin", f"persons:last_name:{i}") for i in range(CALLS)]

        def candidates():
            for q in queries:
                search._candidates(tokens(q)[:search.MAX_WORDS], None)
                db.session.rollback()

        def structure_referents():
            for _ in range(CALLS):
                referents(config["structure"], "logement")
                db.session.rollback()

        def pace():
            for _ in range(CALLS):
                ratelimit.first_exceeded("bench-functions", limits)
                db.session.rollback()

        def decrypt():
            for i, token in enumerate(sealed):
                ring.decrypt(token, f"persons:last_name:{i}")

        print("| function | per call (median) | lowest | highest |")
        print("|---|---:|---:|---:|")
        for name, run, unit in (("a search's candidates", candidates, "ms"),
                                ("a structure's referents for a domain", structure_referents,
                                 "ms"),
                                ("the search's pace", pace, "ms"),
                                ("decrypting one field", decrypt, "µs")):
            run()  # warm: statements compiled and prepared
            times = []
            for _ in range(args.passes):
                started = time.perf_counter()
                run()
                times.append((time.perf_counter() - started) / CALLS
                             * (1000 if unit == "ms" else 10**6))
            print(f"| {name} | {statistics.median(times):.2f} {unit} | {min(times):.2f} | "
                  f"{max(times):.2f} |")


if __name__ == "__main__":
    main()
