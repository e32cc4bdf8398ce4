"""``make bench SCALE=100k``: Passerelle against the bare stack, on PostgreSQL, same run.

1. a PostgreSQL database ``passerelle_bench_<scale>`` filled by ``demo generate``: generated
   once per scale into the template ``passerelle_bench_<scale>_generated`` (keys under
   /tmp/passerelle-bench-<scale>), copied from it before each run so that no run measures the
   writes of the runs before;
2. Passerelle under gunicorn, then the bare Flask + psycopg app (``bench/bare_app.py``), each
   driven for ``--duration`` seconds by ``bench/load.py`` in a separate process;
3. per operation: throughput, p50 / p95 / p99, and the ratio to the bare stack; the app
   workers' memory; the table is printed and written to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SCALES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000}
# p95 with one client at 100 k persons (issue 21; at 1 M: no more than 1.5 × the 100 k figure)
TARGETS = {"search": 12, "send_orientation": 12, "orientation_detail": 8, "open_file": 10,
           "record_visit": 10, "partner_inbox": 12, "stalled": 100, "indicators": 500}
THROUGHPUT_TARGET = 0.7  # mixed throughput at --clients clients, against the bare stack
DEMO_PASSWORD = "passerelle-demo-2026"
BARE_VISIT, BARE_MOTIVE = "Appel de suivi", "Orientation de test de charge"  # as in bench/load.py
USERS = {"accueil": "accueil@demo.passerelle.local",
         "partenaire": "partenaire@demo.passerelle.local",
         "coordinateur": "coordinateur@demo.passerelle.local"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sh(args, env, **kw):
    return subprocess.run(args, cwd=ROOT, env=env, check=True, **kw)


def _exists(admin_dsn: str, db: str) -> bool:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone() \
            is not None


def copy_generated(env: dict, admin_dsn: str, dsn: str) -> bool:
    """Make the bench database a fresh copy of its generated template, upgraded to the code's
    schema; False (nothing done) when there is no template or no keys yet."""
    db = dsn.rsplit("/", 1)[1]
    template = f"{db}_generated"
    if not (_exists(admin_dsn, template)
            and Path(env["PASSERELLE_INSTANCE_PATH"], "keys.json").exists()):
        return False
    started = time.monotonic()
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}"')
        conn.execute(f'CREATE DATABASE "{db}" TEMPLATE "{template}"')
    print(f"database {db}: copied from {template} in {time.monotonic() - started:.0f} s")
    sh([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], env, stdout=subprocess.DEVNULL,
       stderr=subprocess.DEVNULL)  # the code may be newer
    return True


def prepare(scale: str, env: dict, admin_dsn: str, dsn: str) -> None:
    """The bench database as generated, at every run: generated once into
    ``passerelle_bench_<scale>_generated`` (a template nobody connects to), and copied from it
    before each run. The bench writes (visits, orientations, acknowledgments) land on the same
    500 persons and one partner's inbox: kept from run to run, they made those persons' files
    seven times a typical one and the inbox's count ever longer, and each run slower than the
    last (issue 21)."""
    persons = SCALES[scale]
    db = dsn.rsplit("/", 1)[1]
    template = f"{db}_generated"
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    if copy_generated(env, admin_dsn, dsn):
        return
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}"')
        conn.execute(f'CREATE DATABASE "{db}"')
    sh(flask + ["db", "upgrade"], env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    # A fresh database nobody uses meanwhile: its plain indexes are built once the rows are in.
    sh(flask + ["demo", "generate", "--persons", str(persons), "--seed", "1",
                "--defer-indexes"], env)
    print(f"generated in {time.monotonic() - started:.0f} s")
    # No VACUUM ANALYZE here: the generator vacuums and analyses what it loaded, as a
    # département's own bulk loads do (a bench doing it by itself would hide a generator that
    # did not). The copy keeps the statistics and the visibility map (a file copy).
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{template}" TEMPLATE "{db}"')


def clean_bare_rows(dsn: str) -> None:
    """The bare stack writes plaintext into the same tables: remove what it wrote, which the app
    could not decrypt (its markers are the load generator's fixed texts, never valid ciphertext)."""
    with psycopg.connect(dsn) as conn:
        conn.execute("DELETE FROM needs WHERE visit_id IN (SELECT id FROM visits WHERE summary = "
                     "%s)", (BARE_VISIT,))
        conn.execute("DELETE FROM visits WHERE summary = %s", (BARE_VISIT,))
        conn.execute("DELETE FROM orientation_events WHERE orientation_id IN (SELECT id FROM "
                     "orientations WHERE motive = %s)", (BARE_MOTIVE,))
        conn.execute("DELETE FROM orientations WHERE motive = %s", (BARE_MOTIVE,))


def reset_paces(dsn: str) -> None:
    """Forget the person-search pace's hits of earlier phases. The bench's one reception
    account searches as often in a minute as an agent does in a day: its bucket would otherwise
    hold the day's thousands of hits (10 000 after a few runs), far past the 600 a day a real
    account may reach, and every search would count them (the limits are lifted here, so the
    count's cap at the limit does not apply; issue 21)."""
    with psycopg.connect(dsn) as conn:
        conn.execute("DELETE FROM rate_limit_hits")


def fixtures(dsn: str) -> dict:
    with psycopg.connect(dsn) as conn:
        site, territory = conn.execute(
            "SELECT s.id, s.territory FROM sites s JOIN users u ON u.site_id = s.id "
            "WHERE u.email = %s", (USERS["accueil"],)).fetchone()
        structure = conn.execute("SELECT structure_id FROM users WHERE email = %s",
                                 (USERS["partenaire"],)).fetchone()[0]
        persons = [str(r[0]) for r in conn.execute(
            "SELECT id FROM persons WHERE created_site_id = %s AND anonymous = false "
            "ORDER BY id LIMIT 500", (site,))]
        orientations = [str(r[0]) for r in conn.execute(
            "SELECT id FROM orientations WHERE structure_id = %s ORDER BY id LIMIT 1000",
            (structure,))]
        sent = [str(r[0]) for r in conn.execute(
            "SELECT id FROM orientations WHERE structure_id = %s AND status = 'sent' "
            "ORDER BY id LIMIT 5000", (structure,))]
        for email in USERS.values():
            conn.execute("INSERT INTO charter_acceptances (id, user_id, charter_version_id, "
                         "accepted_at) SELECT gen_random_uuid(), u.id, c.id, now() FROM users u, "
                         "charter_versions c WHERE u.email = %s AND c.version = (SELECT max(version)"
                         " FROM charter_versions) ON CONFLICT DO NOTHING", (email,))
        conn.commit()
    return {"site": str(site), "territory": territory, "structure": str(structure),
            "persons": persons, "orientations": orientations, "sent_orientations": sent}


def queries(count: int = 400) -> list[str]:
    sys.path.insert(0, str(ROOT))
    import random

    from app.demo.generate import Pools, variant

    rng, pools = random.Random(5), Pools.make(1)
    return [variant(rng, rng.choice(pools.last)) if rng.random() < 0.6 else rng.choice(pools.last)
            for _i in range(count)]


def wait_up(url: str, seconds: int = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return  # the server answers, whatever the status
        except requests.RequestException:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


def tokens(base: str) -> dict:
    out = {}
    for role, email in USERS.items():
        answer = requests.post(f"{base}/api/v1/auth/token", timeout=10,
                               json={"email": email, "password": DEMO_PASSWORD})
        answer.raise_for_status()
        out[role] = answer.json()["token"]
    return out


def rss_mb(pid: int) -> list[float]:
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    sizes = []
    for child in children:
        for line in Path(f"/proc/{child}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) / 1024)
    return sizes


PHASES = ("latency", "throughput")  # one client, then --clients clients


def drive(name: str, server_cmd: list[str], env: dict, port: int, config: dict,
          args) -> tuple[dict, list[float]]:
    """Start a stack, warm it up, then measure it alone (latency: one client, no queueing)
    and under load (throughput: ``--clients`` clients). Results per phase."""
    server = subprocess.Popen(server_cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    results: dict = {}
    try:
        base = f"http://127.0.0.1:{port}"
        wait_up(f"{base}/api/v1/auth/token" if name == "bare" else f"{base}/login")
        config = dict(config, base=base, tokens=tokens(base) if name == "passerelle" else {})
        with tempfile.TemporaryDirectory() as tmp:
            steps = [("warmup", args.warmup, args.clients)]
            for _run in range(args.runs):
                steps += [("latency", args.duration, 1), ("throughput", args.duration, args.clients)]
            for phase, seconds, clients in steps:
                reset_paces(env["DATABASE_URL"])
                path = Path(tmp) / "config.json"
                path.write_text(json.dumps(dict(config, duration=seconds, threads=clients)))
                out = Path(tmp) / f"{phase}.json"
                subprocess.run([sys.executable, str(ROOT / "bench" / "load.py"), str(path),
                                str(out)], cwd=ROOT, check=True)
                results.setdefault(phase, []).append(
                    summarise(json.loads(out.read_text()), seconds))
        memory = rss_mb(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return {phase: combine(results[phase]) for phase in PHASES}, memory


def combine(runs: list[dict]) -> dict:
    """Runs of one phase: per operation, the median of each figure and the p95's lowest and
    highest (``p95_low``, ``p95_high``); errors added up."""
    table: dict = {}
    for op in sorted({op for run in runs for op in run}):
        rows = [run[op] for run in runs if op in run]
        merged = {key: statistics.median(row[key] for row in rows)
                  for key in ("rps", "p50", "p95", "p99") if all(key in row for row in rows)}
        merged["errors"] = sum(row.get("errors", 0) for row in rows)
        merged["count"] = sum(row.get("count", 0) for row in rows)
        merged["codes"] = sorted({code for row in rows for code in row.get("codes", [])})
        if "p95" in merged:
            merged["p95_low"] = min(row["p95"] for row in rows)
            merged["p95_high"] = max(row["p95"] for row in rows)
        table[op] = merged
    return table


def failed(status: int) -> bool:
    """409 is the expected answer of an acknowledgment another client won first."""
    return not (200 <= status < 300 or status == 409)


def summarise(results: list, duration: int) -> dict:
    table: dict = {}
    for op in sorted({r[0] for r in results}):
        latencies = sorted(r[1] for r in results if r[0] == op)
        codes = [r[2] for r in results if r[0] == op and failed(r[2])]
        q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 \
            else latencies * 99
        table[op] = {"count": len(latencies), "errors": len(codes), "codes": sorted(set(codes)),
                     "rps": len(latencies) / duration, "p50": q[49], "p95": q[94], "p99": q[98]}
    table["(all)"] = {"count": len(results), "rps": len(results) / duration,
                      "errors": sum(v["errors"] for v in table.values())}
    return table


def _ms(row: dict | None, key: str) -> str:
    return f"{row[key]:.1f}" if row and key in row else "—"


def _p95(row: dict | None) -> str:
    """The median p95 of the runs and their spread: ``12.1 (11.8–12.9)``."""
    if not row or "p95" not in row:
        return "—"
    if row.get("p95_low") is None or row["p95_low"] == row["p95_high"]:
        return f"{row['p95']:.1f}"
    return f"{row['p95']:.1f} ({row['p95_low']:.1f}–{row['p95_high']:.1f})"


def gunicorn_command(args) -> list[str]:
    """gunicorn with the bench's worker settings (``--worker-class``, ``--workers``,
    ``--threads``), for the stacks of ``make bench`` and of its replica run alike."""
    return [str(BIN / "gunicorn"), "--workers", str(args.workers), "--worker-class",
            args.worker_class, "--log-level", "warning",
            # gunicorn turns a sync worker with threads into gthread
            "--threads", str(args.threads if args.worker_class == "gthread" else 1)]


def workers_label(args) -> str:
    if args.worker_class == "sync":
        return f"{args.workers} workers (sync)"
    return f"{args.workers} workers × {args.threads} threads (gthread)"


def report(scale: str, app: dict, bare: dict, memory: list[float], args) -> str:
    alone, loaded = app["latency"], app["throughput"]
    lines = [f"### {scale} persons — {date.today().isoformat()}", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
             f"{platform.python_version()}, PostgreSQL on loopback (same machine as the app and "
             f"the load); gunicorn {workers_label(args)}. "
             f"Each stack: {args.warmup} s warm-up, then {args.runs} runs of {args.duration} s "
             f"with one client (latency) and {args.duration} s with {args.clients} clients "
             "(throughput); each figure is the median of the runs, the p95 with its lowest and "
             "highest.",
             "",
             "| operation | p50 ms | p95 ms | p99 ms | bare p95 ms | ratio | target p95 | "
             f"p95 ms at {args.clients} clients | bare | req/s at {args.clients} | errors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for op, row in alone.items():
        if op == "(all)":
            continue
        b, under, b_under = bare["latency"].get(op), loaded.get(op, {}), \
            bare["throughput"].get(op)
        target = TARGETS.get(op)
        mark = "" if target is None else (" ✅" if row["p95"] <= target else " ❌")
        ratio = f"{row['p95'] / b['p95']:.1f}×" if b and b.get("p95") else "—"
        errors = row["errors"] + under.get("errors", 0)
        codes = sorted(set(row["codes"]) | set(under.get("codes", [])))
        lines.append(
            f"| {op} | {_ms(row, 'p50')} | {_p95(row)} | {_ms(row, 'p99')} | "
            f"{_p95(b)} | {ratio} | {target if target else '—'}{mark} | "
            f"{_p95(under)} | {_p95(b_under)} | {under.get('rps', 0):.1f} | "
            f"{errors}{' (' + ', '.join(map(str, codes)) + ')' if codes else ''} |")
    rps, bare_rps = loaded["(all)"]["rps"], bare["throughput"]["(all)"]["rps"]
    ratio = rps / bare_rps if bare_rps else float("nan")
    lines += ["", f"Mixed throughput at {args.clients} clients: Passerelle {rps:.1f} req/s, bare "
              f"stack {bare_rps:.1f} req/s: ratio {ratio:.2f} (target ≥ {THROUGHPUT_TARGET}). One client: "
              f"{alone['(all)']['rps']:.1f} against {bare['latency']['(all)']['rps']:.1f} req/s.",
              f"App worker RSS after the run: {', '.join(f'{m:.0f} MB' for m in memory)} "
              "(target ≤ 150 MB).", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="100k", choices=sorted(SCALES))
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)  # issue 21: measured, BENCHMARKS.md
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker-class", default="gthread", choices=("gthread", "sync"),
                        help="gunicorn's worker class, for both stacks (sync: one thread)")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument("--prepare-only", action="store_true",
                        help="generate the database of this scale and stop (no measurement)")
    parser.add_argument("--replica", action="store_true",
                        help="the desk under indicator load, indicators on the primary then on a "
                             "streaming replica (bench/replica.py)")
    parser.add_argument("--runs", type=int, default=3,
                        help="runs of each measured phase: figures are their medians")
    parser.add_argument("--coordinators", type=int, default=4,
                        help="--replica: clients asking for the indicators without pause")
    args = parser.parse_args()
    if args.replica:
        from bench import replica
        replica.main(args)
        return
    dsn = f"{args.pg}/passerelle_bench_{args.scale.lower()}"
    instance = Path(tempfile.gettempdir()) / f"passerelle-bench-{args.scale.lower()}"
    instance.mkdir(exist_ok=True)
    env = {**os.environ, "PASSERELLE_ENV": "development", "DATABASE_URL": dsn,
           "PASSERELLE_INSTANCE_PATH": str(instance), "PASSERELLE_MFA_REQUIRED_ROLES": "",
           "PASSERELLE_LOGIN_MAX_FAILURES_PER_ADDRESS": "1000",
           # one account searches for the whole desk: the per-user pace is not what is measured
           "PASSERELLE_SEARCH_MAX_PER_MINUTE": "100000", "PASSERELLE_SEARCH_MAX_PER_DAY": "10000000"}
    prepare(args.scale, env, f"{args.pg}/postgres", dsn)
    if args.prepare_only:
        return
    clean_bare_rows(dsn)
    config = fixtures(dsn)
    config.update(queries=queries(),
                  year_from=(date.today() - timedelta(days=365)).isoformat(),
                  year_to=date.today().isoformat())
    gunicorn = gunicorn_command(args)
    port = free_port()
    app_results, memory = drive("passerelle", gunicorn + ["--bind", f"127.0.0.1:{port}",
                                                          "wsgi:app"], env, port, config, args)
    bare_env = {**env, "BARE_DSN": dsn, "BARE_KEY_FILE": str(instance / "keys.json"),
                "BARE_SITE": config["site"], "BARE_STRUCTURE": config["structure"],
                "BARE_TERRITORY": config["territory"], "PYTHONPATH": str(ROOT)}
    port = free_port()
    bare_results, _ = drive("bare", gunicorn + ["--bind", f"127.0.0.1:{port}",
                                                "bench.bare_app:app"], bare_env, port, config, args)
    clean_bare_rows(dsn)
    text = report(args.scale, app_results, bare_results, memory, args)
    print(text)
    output = Path(args.output)
    existing = output.read_text(encoding="utf-8") if output.exists() else ""
    marker = "## Measurements"
    if marker not in existing:
        existing = existing.rstrip() + f"\n\n{marker}\n"
    output.write_text(existing.rstrip() + "\n\n" + text, encoding="utf-8")


if __name__ == "__main__":
    main()
