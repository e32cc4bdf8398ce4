"""Where one request's time goes: ``make profile SCALE=100k`` (issue 21).

Each desk operation of ``bench/load.py`` is run ``--repeat`` times in this process, through
Flask's test client (no network, no gunicorn: what the app itself costs), against the bench
database of ``make bench`` (``passerelle_bench_<scale>``, which must exist), copied afresh from
its generated template (``passerelle_bench_<scale>_generated``) when there is one. The time of
every request is split into parts by timers wrapped around the functions that do each part; a part
nested in another is counted once, in the innermost (the SQL a token lookup runs counts as SQL,
not as authentication):

* authentication: the bearer token's lookup (``request_loader``), without its SQL;
* guard and gates: the access rule of the endpoint, the charter and second-factor gates;
* SQL: time in the database driver (``cursor.execute`` to its return, rows fetched), and the
  number of statements;
* decryption, encryption, HMAC (blind indexes);
* audit append: the entry chained on the head under the advisory lock, without its SQL;
* serialisation: marshmallow schemas dumping the answer, then JSON encoding;
* garbage collection: Python's cyclic collector, run when enough objects were allocated;
* the rest: Flask, Werkzeug, the ORM's own work (building queries, loading rows into objects),
  the view and service code.

It also times an authenticated trivial route (``GET /api/v1/me``) against a bare Flask route
answering ``{}`` through the same test client: the difference is the floor every request pays.
``--pyinstrument OP`` writes a pyinstrument profile of one operation (text) instead
(``PROFILE_ALL=1`` shows the frames of libraries too); ``--cprofile OP`` the functions of one
operation that take most time, by themselves and with what they call.

Prints one Markdown table: p50, p95 and mean ms per operation, and the mean of each part.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PARTS = ("authentication", "guard and gates", "SQL", "decryption", "encryption", "HMAC",
         "audit append", "serialisation", "JSON encoding", "garbage collection", "the rest")


class Clock:
    """Exclusive time per part: entering a part pauses the part it is nested in."""

    def __init__(self) -> None:
        self.stack: list[tuple[str, float]] = []
        self.totals: dict[str, float] = defaultdict(float)
        self.statements = 0

    def enter(self, part: str) -> None:
        now = time.perf_counter()
        if self.stack:
            outer, since = self.stack[-1]
            self.totals[outer] += now - since
        self.stack.append((part, now))

    def leave(self) -> None:
        now = time.perf_counter()
        part, since = self.stack.pop()
        self.totals[part] += now - since
        if self.stack:
            outer, _ = self.stack[-1]
            self.stack[-1] = (outer, now)

    def reset(self) -> None:
        self.stack.clear()
        self.totals.clear()
        self.statements = 0


CLOCK = Clock()


def timed(part: str, function: Callable) -> Callable:
    def wrapper(*args, **kwargs):
        CLOCK.enter(part)
        try:
            return function(*args, **kwargs)
        finally:
            CLOCK.leave()
    wrapper.__wrapped__ = function
    return wrapper


def instrument(app) -> None:
    import marshmallow
    import sqlalchemy as sa

    from app.core import audit
    from app.core.crypto import KeyRing
    from app.core.db import db

    manager = app.login_manager
    manager._request_callback = timed("authentication", manager._request_callback)
    app.before_request_funcs[None] = [timed("guard and gates", f)
                                      for f in app.before_request_funcs.get(None, [])]
    KeyRing.decrypt = timed("decryption", KeyRing.decrypt)
    KeyRing.encrypt = timed("encryption", KeyRing.encrypt)
    KeyRing.blind_index = timed("HMAC", KeyRing.blind_index)
    audit._append_pending = timed("audit append", audit._append_pending)
    marshmallow.Schema.dump = timed("serialisation", marshmallow.Schema.dump)
    app.json.dumps = timed("JSON encoding", app.json.dumps)

    with app.app_context():
        engine = db.engine

    def _collecting(phase: str, _info: dict) -> None:
        if phase == "start":
            CLOCK.enter("garbage collection")
        elif CLOCK.stack and CLOCK.stack[-1][0] == "garbage collection":
            CLOCK.leave()

    gc.callbacks.append(_collecting)

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _before(*_args):
        CLOCK.statements += 1
        CLOCK.enter("SQL")

    @sa.event.listens_for(engine, "after_cursor_execute")
    def _after(*_args):
        CLOCK.leave()


def operations(config: dict, tokens: dict) -> dict[str, Callable]:
    rng = random.Random(7)

    def auth(role):
        return {"Authorization": f"Bearer {tokens[role]}"}

    def search(client):
        return client.get("/api/v1/persons", query_string={"q": rng.choice(config["queries"]),
                                                           "per_page": 20},
                          headers=auth("accueil"))

    def open_file(client):
        return client.get(f"/api/v1/persons/{rng.choice(config['persons'])}",
                          headers=auth("accueil"))

    def record_visit(client):
        return client.post(f"/api/v1/persons/{rng.choice(config['persons'])}/visits",
                           json={"channel": "phone", "outcome": "pending",
                                 "summary": "Appel de suivi",
                                 "needs": [{"domain": "logement", "urgency": "standard"}]},
                           headers=auth("accueil"))

    def send_orientation(client):
        return client.post("/api/v1/orientations", json={
            "person_id": rng.choice(config["persons"]), "structure_id": config["structure"],
            "domain": "logement", "motive": "Orientation de test de charge",
            "coverage_override": "bench",
            "consent": {"given": True, "shared_fields": ["first_name", "last_name"]}},
            headers=auth("accueil"))

    def orientation_detail(client):
        return client.get(f"/api/v1/orientations/{rng.choice(config['orientations'])}",
                          headers=auth("partenaire"))

    def partner_inbox(client):
        return client.get("/api/v1/orientations", query_string={"status": "sent", "per_page": 20},
                          headers=auth("partenaire"))

    def me(client):
        return client.get("/api/v1/me", headers=auth("accueil"))

    return {"search": search, "open_file": open_file, "record_visit": record_visit,
            "send_orientation": send_orientation, "orientation_detail": orientation_detail,
            "partner_inbox": partner_inbox, "trivial (GET /me)": me}


def print_statements(app, client, run: Callable) -> None:
    """The statements of one request, in order, each with the first lines of its text."""
    import sqlalchemy as sa

    from app.core.db import db

    for _ in range(5):
        run(client)
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _log(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()))

    answer = run(client)
    sa.event.remove(engine, "before_cursor_execute", _log)
    print(f"{answer.status_code}: {len(statements)} statements")
    for number, statement in enumerate(statements, 1):
        print(f"{number:2}. {statement[:700]}")


def print_cprofile(client, run: Callable, repeat: int) -> None:
    """cProfile of ``repeat`` requests of one operation (after warming): the 35 functions with
    the most time of their own, then the 35 with the most time including what they call."""
    # this file's own name hides the standard library's ``profile``, which cProfile imports
    here = Path(__file__).resolve().parent
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != here]
    sys.modules.pop("profile", None)
    import cProfile
    import pstats

    for _ in range(20):
        run(client)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        run(client)
    profiler.disable()
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("tottime").print_stats(35)
    stats.sort_stats("cumulative").print_stats(35)


def bare_trivial(repeat: int) -> list[float]:
    from flask import Flask

    bare = Flask("bare")
    bare.add_url_rule("/", "index", lambda: {})
    client = bare.test_client()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        assert client.get("/").status_code == 200
        times.append((time.perf_counter() - started) * 1000)
    return times


def use_bench_database(scale: str, pg: str) -> str:
    """Point this process's app at the bench database of ``scale`` (its DSN returned), with the
    bench's settings (no second factor, the search's pace lifted); exit when there is none."""
    dsn = f"{pg}/passerelle_bench_{scale.lower()}"
    instance = Path(tempfile.gettempdir()) / f"passerelle-bench-{scale.lower()}"
    if not (instance / "keys.json").exists():
        sys.exit(f"no bench database of scale {scale}: run `make bench SCALE={scale}` "
                 "(or bench/run.py --prepare-only) first")
    os.environ.update(PASSERELLE_ENV="development", DATABASE_URL=dsn,
                      PASSERELLE_INSTANCE_PATH=str(instance), PASSERELLE_MFA_REQUIRED_ROLES="",
                      PASSERELLE_LOGIN_MAX_FAILURES_PER_ADDRESS="1000",
                      PASSERELLE_SEARCH_MAX_PER_MINUTE="1000000",
                      PASSERELLE_SEARCH_MAX_PER_DAY="100000000")
    os.environ.pop("DATABASE_REPLICA_URL", None)
    return dsn


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="100k")
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--pyinstrument", metavar="OP", help="profile one operation instead")
    parser.add_argument("--cprofile", metavar="OP",
                        help="cProfile one operation: the functions taking most time by themselves")
    parser.add_argument("--statements", metavar="OP",
                        help="print the SQL statements of one request of OP (after warming)")
    args = parser.parse_args()

    from bench import run as bench

    dsn = use_bench_database(args.scale, args.pg)
    # A fresh copy of the generated database, as ``make bench`` runs on: the requests profiled
    # write visits and orientations, which piled up from one profile to the next on the same
    # persons and inbox and slowed each profile a little more than the last.
    bench.copy_generated(dict(os.environ), f"{args.pg}/postgres", dsn)
    bench.clean_bare_rows(dsn)
    bench.reset_paces(dsn)
    config = bench.fixtures(dsn)
    config["queries"] = bench.queries()

    from wsgi import app

    client = app.test_client()
    tokens = {}
    for role, email in bench.USERS.items():
        answer = client.post("/api/v1/auth/token",
                             json={"email": email, "password": bench.DEMO_PASSWORD})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        tokens[role] = answer.get_json()["token"]
    ops = operations(config, tokens)

    if args.pyinstrument:
        from pyinstrument import Profiler

        run = ops[args.pyinstrument]
        for _ in range(20):
            run(client)
        profiler = Profiler(interval=0.0002)
        profiler.start()
        for _ in range(args.repeat):
            run(client)
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=bool(os.environ.get("PROFILE_ALL"))))
        return

    if args.cprofile:
        print_cprofile(client, ops[args.cprofile], args.repeat)
        return

    if args.statements:
        print_statements(app, client, ops[args.statements])
        return

    instrument(app)
    rows = {}
    for name, run in ops.items():
        for _ in range(20):  # warm: compiled statements, pools, caches of the ORM
            run(client)
        samples: dict[str, list[float]] = defaultdict(list)
        for _ in range(args.repeat):
            CLOCK.reset()
            started = time.perf_counter()
            CLOCK.enter("the rest")
            answer = run(client)
            CLOCK.leave()
            total = (time.perf_counter() - started) * 1000
            assert answer.status_code < 300, (name, answer.status_code, answer.get_data()[:300])
            samples["total"].append(total)
            samples["statements"].append(CLOCK.statements)
            for part in PARTS:
                samples[part].append(CLOCK.totals.get(part, 0.0) * 1000)
        # parts as means, so that they add up to the mean total; p50 and p95 of the total
        rows[name] = {key: statistics.fmean(values) for key, values in samples.items()}
        rows[name]["p50"] = statistics.median(samples["total"])
        rows[name]["p95"] = statistics.quantiles(samples["total"], n=20)[18]
    bare = bare_trivial(args.repeat)
    header = ["operation", "p50", "p95", "mean", "statements", *PARTS]
    print(f"### One request's parts — {args.scale} persons — in-process, ms; the parts are "
          f"means of {args.repeat} requests and add up to the mean\n")
    print("| " + " | ".join(header) + " |")
    print("|---|" + "---:|" * (len(header) - 1))
    for name, row in rows.items():
        cells = [f"{row['p50']:.2f}", f"{row['p95']:.2f}", f"{row['total']:.2f}",
                 f"{row['statements']:.1f}",
                 *(f"{row[p]:.2f}" for p in PARTS)]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(f"| bare Flask trivial route | {statistics.median(bare):.2f} | "
          f"{statistics.quantiles(bare, n=20)[18]:.2f} | {statistics.fmean(bare):.2f} | 0 |"
          + " — |" * len(PARTS))
    floor = rows["trivial (GET /me)"]["p50"] - statistics.median(bare)
    print(f"\nThe floor every authenticated request pays: {floor:.2f} ms (GET /me less the bare "
          "route).")
    bench.clean_bare_rows(dsn)


if __name__ == "__main__":
    main()
