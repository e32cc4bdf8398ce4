"""Passerelle beyond one machine, on one machine: a PostgreSQL primary, a streaming replica of it,
PgBouncer in transaction mode in front of the primary, two gunicorn app servers and nginx
balancing them. Started by tests/topology (``make test`` on PostgreSQL) and by hand::

    .venv/bin/python scripts/topology.py up      # prints the addresses; Ctrl-C stops everything

Every piece runs from the Debian packages (``make topology-deps`` installs pgbouncer and nginx)
and PostgreSQL's own binaries, each in its own process group, under one scratch folder that is
deleted at the end. As root, PostgreSQL, PgBouncer and nginx run as the ``postgres`` user (the
first two refuse to run as root). The commands each piece is started with are those
docs/deployment.md shows.
"""

from __future__ import annotations

import base64
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
def _server_binaries() -> Path:
    """Debian's PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup): the newest version
    installed, unless PG_BIN names a folder."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _server_binaries()
DATABASE = "passerelle"
SHM = "/dev/shm"  # noqa: S108 - mkdtemp makes a private folder in it


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, what: str, timeout: float = 30.0, every: float = 0.1):
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as error:  # noqa: BLE001 - retried until the deadline
            last = error
        time.sleep(every)
    raise TimeoutError(f"{what} not ready after {timeout:.0f} s" + (f": {last}" if last else ""))


def _scratch_base() -> str | None:
    """Memory (/dev/shm) when there is room: the clusters are thrown away, and creating and
    deleting their thousands of files on a disk mounted with ``discard`` takes seconds."""
    chosen = os.environ.get("PASSERELLE_TOPOLOGY_DIR")
    if chosen:
        return chosen
    try:
        return SHM if shutil.disk_usage(SHM).free > 2 * 1024**3 else None
    except OSError:
        return None


class Stack:
    """The pieces, their ports, and how to start and stop each one."""

    def __init__(self, replica_max_lag: int = 30, login_failures_per_address: int = 5):
        self.as_postgres = os.geteuid() == 0
        self.dir = Path(tempfile.mkdtemp(prefix="passerelle-topology-", dir=_scratch_base()))
        self.dir.chmod(0o755)
        self.ports = {name: free_port() for name in
                      ("primary", "replica", "pgbouncer", "app1", "app2", "balancer")}
        self.processes: dict[str, subprocess.Popen] = {}
        self.secret_key = secrets.token_hex(32)
        self.encryption_keys = "k1:" + base64.b64encode(secrets.token_bytes(32)).decode()
        self.index_key = base64.b64encode(secrets.token_bytes(32)).decode()
        self.replica_max_lag = replica_max_lag
        self.login_failures_per_address = login_failures_per_address
        self.primary_dir, self.replica_dir = self.dir / "primary", self.dir / "replica"
        if self.as_postgres:
            os.chown(self.dir, *self._postgres_ids())

    # -- addresses ------------------------------------------------------------------------------
    def url(self, piece: str, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.ports[piece]}/{database}"

    @property
    def app_database_url(self) -> str:
        # PgBouncer 1.18 (Debian 12) cannot keep server-side prepared statements in transaction
        # mode: psycopg must not prepare any.
        return self.url("pgbouncer") + "?prepare_threshold=none"

    @property
    def balancer(self) -> str:
        return f"http://127.0.0.1:{self.ports['balancer']}"

    def app_address(self, name: str) -> str:
        return f"127.0.0.1:{self.ports[name]}"

    # -- helpers -----------------------------------------------------------------------------------
    @staticmethod
    def _postgres_ids() -> tuple[int, int]:
        entry = pwd.getpwnam("postgres")
        return entry.pw_uid, entry.pw_gid

    def _as_service_user(self, command: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *command] if self.as_postgres else command

    def _run(self, command: list[str], **kwargs) -> str:
        done = subprocess.run(self._as_service_user(command), capture_output=True, text=True,
                              cwd=self.dir, **kwargs)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def _write(self, path: Path, text: str) -> None:
        path.write_text(text)
        if self.as_postgres:
            os.chown(path, *self._postgres_ids())

    def psql(self, piece: str, sql: str, database: str = DATABASE) -> str:
        """One statement through psql (the simple protocol: PgBouncer's console needs it)."""
        return self._run(["psql", "-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-p",
                          str(self.ports[piece]), "-U", "postgres", "-d", database, "-c", sql])

    def _spawn(self, name: str, command: list[str], env: dict | None = None,
               service_user: bool = True, cwd: Path | None = None) -> subprocess.Popen:
        log = open(self.dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            self._as_service_user(command) if service_user else command, cwd=cwd or self.dir,
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        process.log = log  # type: ignore[attr-defined]
        self.processes[name] = process
        return process

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    # -- PostgreSQL --------------------------------------------------------------------------------
    def init_primary(self) -> None:
        self._run([str(PG_BIN / "initdb"), "-D", str(self.primary_dir), "-U", "postgres",
                   "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
        with (self.primary_dir / "postgresql.conf").open("a") as conf:
            conf.write(f"""
listen_addresses = '127.0.0.1'
port = {self.ports['primary']}
unix_socket_directories = '{self.dir}'
wal_level = replica
max_wal_senders = 5
hot_standby = on
autovacuum = off
fsync = off
full_page_writes = off
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
""")
        with (self.primary_dir / "pg_hba.conf").open("a") as hba:
            hba.write("host replication replicator 127.0.0.1/32 trust\n")
        self.start_postgres("primary")
        self.psql("primary", "CREATE ROLE replicator WITH REPLICATION LOGIN", database="postgres")
        self.psql("primary", f"CREATE DATABASE {DATABASE}", database="postgres")
        self.psql("primary", "CREATE EXTENSION pg_stat_statements")

    def start_postgres(self, piece: str) -> None:
        folder = self.primary_dir if piece == "primary" else self.replica_dir
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(folder), "-l", str(self.dir / f"{piece}.log"),
                   "-o", f"-p {self.ports[piece]}", "-w", "-t", "60", "start"])
        wait_for(lambda: self.psql(piece, "SELECT 1", database="postgres"), f"PostgreSQL {piece}")

    def stop_postgres(self, piece: str, mode: str = "fast") -> None:
        folder = self.primary_dir if piece == "primary" else self.replica_dir
        if (folder / "postmaster.pid").exists():
            self._run([str(PG_BIN / "pg_ctl"), "-D", str(folder), "-m", mode, "-w", "stop"])

    def init_replica(self) -> None:
        self._run([str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p",
                   str(self.ports["primary"]), "-U", "replicator", "-D", str(self.replica_dir),
                   "-R", "-X", "stream", "--checkpoint=fast", "--no-sync"])
        self.start_postgres("replica")
        wait_for(lambda: self.psql("replica", "SELECT pg_is_in_recovery()").strip() == "t",
                 "the replica in recovery")

    def promote_replica(self) -> None:
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.replica_dir), "-w", "promote"])

    def wait_replica_caught_up(self, timeout: float = 30.0) -> None:
        flushed = self.psql("primary", "SELECT pg_current_wal_flush_lsn()").strip()
        wait_for(lambda: self.psql(
            "replica", f"SELECT pg_last_wal_replay_lsn() >= '{flushed}'::pg_lsn").strip() == "t",
            "the replica catching up", timeout)

    # -- PgBouncer ---------------------------------------------------------------------------------
    def start_pgbouncer(self, target: str = "primary") -> None:
        self._write(self.dir / "userlist.txt", '"postgres" ""\n')
        self._write(self.dir / "pgbouncer.ini", f"""[databases]
{DATABASE} = host=127.0.0.1 port={self.ports[target]} dbname={DATABASE}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.ports['pgbouncer']}
unix_socket_dir =
auth_type = trust
auth_file = {self.dir / 'userlist.txt'}
admin_users = postgres
pool_mode = transaction
default_pool_size = 10
max_client_conn = 200
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
pidfile = {self.dir / 'pgbouncer.pid'}
""")
        self._spawn("pgbouncer", ["/usr/sbin/pgbouncer", str(self.dir / "pgbouncer.ini")])
        wait_for(lambda: self.psql("pgbouncer", "SELECT 1"), "PgBouncer")

    def repoint_pgbouncer(self, target: str) -> None:
        """Failover: PgBouncer's database now lives on ``target``; RELOAD, no restart."""
        ini = self.dir / "pgbouncer.ini"
        lines = ini.read_text().splitlines()
        lines[1] = f"{DATABASE} = host=127.0.0.1 port={self.ports[target]} dbname={DATABASE}"
        self._write(ini, "\n".join(lines) + "\n")
        self.psql("pgbouncer", "RELOAD", database="pgbouncer")

    # -- app servers and balancer --------------------------------------------------------------------
    def app_environment(self, name: str) -> dict[str, str]:
        instance = self.dir / f"instance-{name}"
        instance.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PASSERELLE_", "DATABASE_", "PYTEST"))}
        env.update(
            PASSERELLE_ENV="production", SECRET_KEY=self.secret_key,
            DATABASE_URL=self.app_database_url, DATABASE_REPLICA_URL=self.url("replica"),
            PASSERELLE_REPLICA_MAX_LAG_SECONDS=str(self.replica_max_lag),
            PASSERELLE_ENCRYPTION_KEYS=self.encryption_keys, PASSERELLE_INDEX_KEY=self.index_key,
            PASSERELLE_BASE_URL=self.balancer, PASSERELLE_INSTANCE_PATH=str(instance),
            PASSERELLE_PROXY_HOPS="1", PASSERELLE_MFA_REQUIRED_ROLES="",
            PASSERELLE_LOGIN_MAX_FAILURES_PER_ADDRESS=str(self.login_failures_per_address),
            HOST="127.0.0.1", PORT=str(self.ports[name]), WEB_CONCURRENCY="1",
            GUNICORN_THREADS="4")
        return env

    def start_app(self, name: str) -> None:
        self.start_apps(name)

    def start_apps(self, *names: str) -> None:
        """Start app servers (together: each spends seconds importing) and wait for them."""
        for name in names:
            self._spawn(name, [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c",
                               str(ROOT / "gunicorn.conf.py"), "--no-control-socket", "wsgi:app"],
                        env=self.app_environment(name), service_user=False, cwd=ROOT)
        for name in names:
            wait_for(lambda name=name: urllib.request.urlopen(  # noqa: S310 - local address
                f"http://{self.app_address(name)}/login", timeout=5).status == 200,
                f"app server {name}", timeout=90, every=0.3)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(name, None)
        if process is None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        process.log.close()  # type: ignore[attr-defined]

    def start_balancer(self) -> None:
        temp = self.dir / "nginx"
        temp.mkdir(exist_ok=True)
        if self.as_postgres:
            os.chown(temp, *self._postgres_ids())
        self._write(self.dir / "nginx.conf", f"""daemon off;
worker_processes 1;
pid {self.dir / 'nginx.pid'};
error_log {self.dir / 'nginx-error.log'} warn;
events {{ worker_connections 512; }}
http {{
  access_log {self.dir / 'nginx-access.log'};
  client_body_temp_path {temp}/body;
  proxy_temp_path {temp}/proxy;
  fastcgi_temp_path {temp}/fastcgi;
  uwsgi_temp_path {temp}/uwsgi;
  scgi_temp_path {temp}/scgi;
  upstream passerelle {{
    server {self.app_address('app1')} max_fails=1 fail_timeout=10s;
    server {self.app_address('app2')} max_fails=1 fail_timeout=10s;
  }}
  server {{
    listen 127.0.0.1:{self.ports['balancer']};
    location / {{
      proxy_pass http://passerelle;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_next_upstream error timeout;
      proxy_connect_timeout 2s;
      add_header X-Upstream $upstream_addr always;
    }}
  }}
}}
""")
        self._spawn("balancer", ["/usr/sbin/nginx", "-p", str(self.dir), "-e",
                                 str(self.dir / "nginx-error.log"), "-c",
                                 str(self.dir / "nginx.conf")])
        wait_for(lambda: urllib.request.urlopen(  # noqa: S310 - our own local address
            self.balancer + "/login", timeout=5).status == 200, "nginx")

    # -- all of it ---------------------------------------------------------------------------------
    def migrate(self) -> None:
        env = self.app_environment("app1")
        env["DATABASE_URL"] = self.url("primary")  # migrations: straight to the primary
        env.pop("DATABASE_REPLICA_URL")
        done = subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "db",
                               "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"migrations failed:\n{done.stdout}\n{done.stderr}")

    def up(self) -> Stack:
        try:
            self.init_primary()
            self.init_replica()  # the migrations stream to it like any other change
            self.migrate()
            self.start_pgbouncer()
            self.start_apps("app1", "app2")
            self.start_balancer()
        except BaseException:
            self.down()
            raise
        return self

    def down(self) -> None:
        for name in list(self.processes):
            self.kill(name)  # thrown away: no graceful stop to wait for
        for piece in ("replica", "primary"):
            try:
                self.stop_postgres(piece, "immediate")
            except Exception as error:  # noqa: BLE001 - keep cleaning up
                print(f"topology: {piece} did not stop: {error}", file=sys.stderr)
        if not os.environ.get("PASSERELLE_TOPOLOGY_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)


def main() -> None:
    if len(sys.argv) != 2 or sys.argv[1] != "up":
        sys.exit("usage: scripts/topology.py up")
    stack = Stack().up()
    print(f"balancer      {stack.balancer}")
    print(f"app servers   http://{stack.app_address('app1')}  http://{stack.app_address('app2')}")
    print(f"PgBouncer     {stack.app_database_url}")
    print(f"primary       {stack.url('primary')}")
    print(f"replica       {stack.url('replica')}")
    print(f"folder        {stack.dir} (logs; deleted on exit)")
    print("Ctrl-C stops everything.")
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        stack.down()


if __name__ == "__main__":
    main()
