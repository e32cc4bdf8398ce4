"""``make bench SCALE=1M REPLICA=1``: the desk's operations while coordinators hammer the
indicators, with the indicators on the primary and then on a streaming replica.

The question (issue 18): at 1 M persons, do the reception desk's operations (search, open a
file, record a visit, send an orientation, an orientation's detail, the partner's inbox) keep
their p95 when coordinators read the indicators all day? Without a replica the indicators take
the primary's cores; ``DATABASE_REPLICA_URL`` sends them to a replica.

On one machine a replica would share the primary's cores, which no deployment does. So the run
gives each database server its own core, as two machines would: the primary, the app servers and
both load generators on core 0, the replica on core 1 (``taskset``; PostgreSQL's backends inherit
their postmaster's affinity). Both clusters are scratch ones of this script (the machine's own
cluster allows no replication connection), built with Debian's PostgreSQL binaries:

* the primary: ``initdb`` once, kept between runs in ``/tmp/passerelle-bench-<scale>-replica``
  with its generated database (``demo generate``, like ``make bench``), PostgreSQL's default
  settings (shared_buffers 128 MB, fsync on) plus what streaming needs;
* the replica: ``pg_basebackup -R -X stream`` of it at every run, deleted at the end.

Phases, each ``--runs`` times ``--duration`` seconds, one desk client throughout:

1. ``alone``: the desk client only (the app without ``DATABASE_REPLICA_URL``);
2. ``primary``: plus ``--coordinators`` clients asking for a territory's year of indicators
   without pause, read on the primary;
3. ``replica``: the same, through an app server with ``DATABASE_REPLICA_URL``: the indicators
   read on the replica. The replica's own ``pg_stat_database`` counters show that it answered.

The three phases take turns in each of the ``--runs`` rounds (alone, primary, replica, then again),
so that a machine getting busier or quieter during the run weighs on the three alike.

Each figure is the median of the runs' p95, with the lowest and highest.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg

from bench import run as bench
from scripts.topology import PG_BIN, free_port, wait_for

ROOT = bench.ROOT
DESK = {"search": 25, "open_file": 20, "record_visit": 10, "send_orientation": 5,
        "partner_inbox": 15, "orientation_detail": 10}
COORDINATORS = {"indicators": 1}
PHASES = ("alone", "primary", "replica")


class Clusters:
    """The scratch primary (kept) and replica (made at each run), run as ``postgres``."""

    def __init__(self, scale: str):
        self.base = Path(tempfile.gettempdir()) / f"passerelle-bench-{scale.lower()}-replica"
        self.primary_dir, self.replica_dir = self.base / "primary", self.base / "replica"
        self.ports = {"primary": free_port(), "replica": free_port()}
        self.as_postgres = os.geteuid() == 0

    def _user(self, command: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *command] if self.as_postgres else command

    def _run(self, command: list[str], cpus: str | None = None) -> None:
        if cpus:
            command = ["taskset", "-c", cpus, *command]
        done = subprocess.run(self._user(command), capture_output=True, text=True, cwd=self.base)
        if done.returncode:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")

    def url(self, piece: str, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.ports[piece]}/{database}"

    def init_primary(self) -> None:
        self.base.mkdir(exist_ok=True)
        if self.as_postgres:
            shutil.chown(self.base, "postgres", "postgres")
        if (self.primary_dir / "PG_VERSION").exists():
            return
        self._run([str(PG_BIN / "initdb"), "-D", str(self.primary_dir), "-U", "postgres",
                   "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
        with (self.primary_dir / "postgresql.conf").open("a") as conf:
            conf.write(f"\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = "
                       f"'{self.base}'\nwal_level = replica\nmax_wal_senders = 5\n"
                       "hot_standby = on\nmax_connections = 100\n")
        with (self.primary_dir / "pg_hba.conf").open("a") as hba:
            hba.write("host replication postgres 127.0.0.1/32 trust\n")

    def start(self, piece: str, cpus: str | None = None) -> None:
        folder = self.primary_dir if piece == "primary" else self.replica_dir
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(folder), "-l",
                   str(self.base / f"{piece}.log"), "-o", f"-p {self.ports[piece]}", "-w", "-t",
                   "300", "start"], cpus=cpus)
        wait_for(lambda: psycopg.connect(self.url(piece, "postgres")).close() or True,
                 f"PostgreSQL {piece}", timeout=120)

    def stop(self, piece: str) -> None:
        folder = self.primary_dir if piece == "primary" else self.replica_dir
        if (folder / "postmaster.pid").exists():
            self._run([str(PG_BIN / "pg_ctl"), "-D", str(folder), "-m", "fast", "-w", "stop"])

    def make_replica(self) -> None:
        shutil.rmtree(self.replica_dir, ignore_errors=True)
        started = time.monotonic()
        self._run([str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p",
                   str(self.ports["primary"]), "-U", "postgres", "-D", str(self.replica_dir),
                   "-R", "-X", "stream", "--checkpoint=fast"])
        print(f"replica: pg_basebackup in {time.monotonic() - started:.0f} s")

    def drop_replica(self) -> None:
        self.stop("replica")
        shutil.rmtree(self.replica_dir, ignore_errors=True)


def replica_counters(url: str, database: str) -> tuple[int, int]:
    """(transactions, rows returned) the replica's ``pg_stat_database`` has counted."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT xact_commit + xact_rollback, tup_returned FROM "
                           "pg_stat_database WHERE datname = %s", (database,)).fetchone()
    return int(row[0]), int(row[1])


def load(config: dict, weights: dict, threads: int, seconds: int, out: Path) -> subprocess.Popen:
    path = out.with_suffix(".config.json")
    path.write_text(json.dumps(dict(config, weights=weights, threads=threads, duration=seconds)))
    return subprocess.Popen(["taskset", "-c", "0", sys.executable,
                             str(ROOT / "bench" / "load.py"), str(path), str(out)], cwd=ROOT)


def measure(config: dict, args, coordinators: bool, tmp: Path, name: str) -> dict:
    desk_out, coord_out = tmp / f"{name}-desk.json", tmp / f"{name}-coord.json"
    runs = [load(config, DESK, 1, args.duration, desk_out)]
    if coordinators:
        runs.append(load(config, COORDINATORS, args.coordinators, args.duration, coord_out))
    for process in runs:
        if process.wait() != 0:
            raise RuntimeError("the load generator failed")
    table = bench.summarise(json.loads(desk_out.read_text()), args.duration)
    if coordinators:
        table.update({k: v for k, v in bench.summarise(json.loads(coord_out.read_text()),
                                                       args.duration).items() if k != "(all)"})
    return table


def serve(env: dict, port: int, args) -> subprocess.Popen:
    server = subprocess.Popen(
        ["taskset", "-c", "0", *bench.gunicorn_command(args),
         "--bind", f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    bench.wait_up(f"http://127.0.0.1:{port}/login")
    return server


def stop_server(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def spread(values: list[float]) -> str:
    if not values:
        return "—"
    mid = statistics.median(values)
    return f"{mid:.1f} ({min(values):.1f}–{max(values):.1f})" if len(values) > 1 else f"{mid:.1f}"


def report(scale: str, results: dict, served: dict, args) -> str:
    ops = [op for op in DESK if any(op in r for r in results["alone"])]
    lines = [f"### Indicators on a replica — {scale} persons — {date.today().isoformat()}", "",
             f"`make bench SCALE={scale} REPLICA=1`. Primary, app ({bench.workers_label(args)}) "
             "and load generators on core 0, the replica on core 1 "
             f"(`taskset`). One desk client throughout; {args.coordinators} coordinator clients "
             "asking for a territory's year of indicators without pause. Each phase "
             f"{args.runs} × {args.duration} s; p95 in ms, median of the runs (lowest–highest).",
             "",
             "| operation | alone | indicators on the primary | ratio | indicators on the "
             "replica | ratio (target ≤ 1.5×) | errors |",
             "|---|---:|---:|---:|---:|---:|---:|"]

    def p95s(phase: str, op: str) -> list[float]:
        return [r[op]["p95"] for r in results[phase] if op in r]

    for op in ops:
        alone = statistics.median(p95s("alone", op))
        cells = [spread(p95s("alone", op))]
        for phase in ("primary", "replica"):
            values = p95s(phase, op)
            ratio = statistics.median(values) / alone if values and alone else float("nan")
            mark = "" if phase == "primary" else (" ✅" if ratio <= 1.5 else " ❌")
            cells += [spread(values), f"{ratio:.2f}×{mark}"]
        errors = sum(r[op]["errors"] for phase in PHASES for r in results[phase] if op in r)
        lines.append(f"| {op} | " + " | ".join(cells) + f" | {errors} |")
    for phase in ("primary", "replica"):
        rows = [r["indicators"] for r in results[phase] if "indicators" in r]
        lines.append(f"| indicators ({phase}) | — | {spread(p95s(phase, 'indicators'))} | — | "
                     f"{sum(r['count'] for r in rows)} answered | — | "
                     f"{sum(r['errors'] for r in rows)} |")
    transactions, rows = served["replica"]
    before = served["primary"]
    lines += ["", f"The replica's `pg_stat_database` for the bench database: "
              f"{before[0]} transactions and {before[1]:,} rows returned while the indicators "
              f"read the primary, {transactions} transactions and {rows:,} rows returned while "
              "they read the replica (its own counters: the router is not trusted for this).", ""]
    return "\n".join(lines)


def main(args) -> None:
    scale = args.scale
    clusters = Clusters(scale)
    database = f"passerelle_bench_{scale.lower()}"
    instance = clusters.base / "instance"
    env = {**os.environ, "PASSERELLE_ENV": "development",
           "DATABASE_URL": clusters.url("primary", database),
           "PASSERELLE_INSTANCE_PATH": str(instance), "PASSERELLE_MFA_REQUIRED_ROLES": "",
           "PASSERELLE_LOGIN_MAX_FAILURES_PER_ADDRESS": "1000",
           "PASSERELLE_SEARCH_MAX_PER_MINUTE": "100000",
           "PASSERELLE_SEARCH_MAX_PER_DAY": "10000000"}
    env.pop("DATABASE_REPLICA_URL", None)
    clusters.init_primary()
    instance.mkdir(exist_ok=True)
    try:
        clusters.start("primary")
        bench.prepare(scale, env, clusters.url("primary", "postgres"), env["DATABASE_URL"])
        if args.prepare_only:
            return
        clusters.make_replica()
        # both servers again, each on its own core
        clusters.stop("primary")
        clusters.start("primary", cpus="0")
        clusters.start("replica", cpus="1")
        bench.clean_bare_rows(env["DATABASE_URL"])
        config = bench.fixtures(env["DATABASE_URL"])
        config.update(queries=bench.queries(),
                      year_from=(date.today() - timedelta(days=365)).isoformat(),
                      year_to=date.today().isoformat())
        results: dict = {phase: [] for phase in PHASES}
        served: dict = {phase: [0, 0] for phase in PHASES}
        replica_url = clusters.url("replica", database)
        # Two app servers, one without the replica and one with it, both up all along; the
        # phases take turns in every round, so that whatever else the machine does meanwhile
        # falls on the three alike.
        servers, bases = {}, {}
        try:
            for name, server_env in (("primary", env),
                                     ("replica", dict(env, DATABASE_REPLICA_URL=replica_url))):
                port = free_port()
                servers[name] = serve(server_env, port, args)
                bases[name] = f"http://127.0.0.1:{port}"
            tokens = {name: bench.tokens(base) for name, base in bases.items()}
            with tempfile.TemporaryDirectory() as folder:
                tmp = Path(folder)
                for name in ("primary", "replica"):
                    config.update(base=bases[name], tokens=tokens[name])
                    measure(config, dict_args(args, duration=args.warmup), True, tmp,
                            f"{name}-warmup")
                for number in range(args.runs):
                    for phase in PHASES:
                        app = "replica" if phase == "replica" else "primary"
                        config.update(base=bases[app], tokens=tokens[app])
                        start = replica_counters(replica_url, database)
                        results[phase].append(measure(config, args, phase != "alone", tmp,
                                                      f"{phase}-{number}"))
                        end = replica_counters(replica_url, database)
                        served[phase][0] += end[0] - start[0]
                        served[phase][1] += end[1] - start[1]
                        print(f"round {number + 1}, {phase}: " + ", ".join(
                            f"{op} {row['p95']:.1f}" for op, row in results[phase][-1].items()
                            if op != "(all)"), flush=True)
        finally:
            for server in servers.values():
                stop_server(server)
    finally:
        clusters.drop_replica()
        clusters.stop("primary")
    if args.prepare_only:
        return
    text = report(scale, results, served, args)
    print(text)
    output = Path(args.output)
    existing = output.read_text(encoding="utf-8") if output.exists() else ""
    marker = "## Measurements"
    if marker not in existing:
        existing = existing.rstrip() + f"\n\n{marker}\n"
    output.write_text(existing.rstrip() + "\n\n" + text, encoding="utf-8")


def dict_args(args, **changes):
    copy = type(args)(**vars(args))
    for key, value in changes.items():
        setattr(copy, key, value)
    return copy
