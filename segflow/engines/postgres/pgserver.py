"""The embedded PostgreSQL cluster: users who configure no database get a private one.

One place that knows how to find the server binaries, initdb a cluster, start it on a free port
on 127.0.0.1 (TCP only: unix socket paths are limited to ~107 chars), stop it cleanly and survive
a stale postmaster.pid. Used by the CLI for end users and by the test suite (tests/pg.py).

PostgreSQL refuses to run as root, so as root the binaries run as an unprivileged account
(`postgres`, else `nobody`). That account must reach the data directory; if the requested
directory is not reachable (e.g. a project under /root, mode 700) the cluster is placed under
/var/lib/segflow/clusters/<hash> (or $SEG_PG_CLUSTERS_DIR) and a pointer file is left at the
requested location. We never loosen the permissions of a user's folders.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from segflow.errors import SegflowError

SUPERUSER = "segflow"
DEFAULT_DB = "segflow"
POINTER_FILE = "cluster-location"
BINARIES = ("initdb", "postgres", "pg_ctl")
SYSTEM_GLOBS = ("/usr/lib/postgresql/*/bin",)  # Debian/Ubuntu layout; highest version first
DEFAULT_RELOCATION_BASE = Path("/var/lib/segflow/clusters")
NOT_FOUND = (
    "PostgreSQL server binaries (initdb, postgres) not found on PATH, in /usr/lib/postgresql/*/bin"
    " or via pg_config; install them, e.g. `apt-get install postgresql` or"
    " `brew install postgresql@15`, or set [database] url in seg.toml"
)
_RETRYABLE = ("could not bind", "Address already in use", "pre-existing shared memory block")


def _has_binaries(d: Path) -> bool:
    return all(os.access(d / b, os.X_OK) for b in BINARIES)


def _version_key(d: str) -> tuple:
    """Sort key for /usr/lib/postgresql/<version>/bin: numeric versions, highest first."""
    ver = Path(d).parent.name
    return tuple(int(p) if p.isdigit() else 0 for p in ver.split("."))


def find_server_binaries(major: str | None = None) -> Path:
    """Directory holding initdb/postgres/pg_ctl.

    $SEG_PG_BINDIR wins (and must be right); then PATH, then /usr/lib/postgresql/*/bin (highest
    version first, or `major` when an existing cluster needs that version), then pg_config.
    """
    override = os.environ.get("SEG_PG_BINDIR")
    if override:
        if _has_binaries(Path(override)):
            return Path(override)
        raise SegflowError(
            f"PostgreSQL server binaries (initdb, postgres, pg_ctl) not found in "
            f"SEG_PG_BINDIR={override}; point it at the directory holding them or unset it"
        )
    candidates: list[Path] = []
    system = sorted((d for g in SYSTEM_GLOBS for d in glob.glob(g)), key=_version_key, reverse=True)
    if major:  # an existing cluster: its own major version first
        candidates += [Path(d) for d in system if Path(d).parent.name == major]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    candidates += [Path(d) for d in system]
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10
            ).stdout.strip()
            if out:
                candidates.append(Path(out))
    for d in candidates:
        if _has_binaries(d):
            return d
    raise SegflowError(NOT_FOUND)


@dataclass(frozen=True)
class Account:
    """The unprivileged account the server runs as when we are root."""

    name: str
    uid: int
    gid: int


def service_account() -> Account | None:
    """None when we are not root (run the binaries directly), else `postgres` or `nobody`."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pw = pwd.getpwnam(name)
            return Account(name, pw.pw_uid, pw.pw_gid)
    raise SegflowError("running as root, but neither a `postgres` nor a `nobody` account exists")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pid_alive(pid: int, pgdata: Path) -> bool:
    """Is `pid` a live postmaster of `pgdata`? (Guards against pid reuse and zombies.)"""
    proc = Path(f"/proc/{pid}")
    if Path("/proc/self").exists():
        try:
            if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                return False  # a killed postmaster nobody reaped (containers)
            return os.readlink(proc / "cwd") == os.path.realpath(pgdata)  # it chdirs there
        except PermissionError:
            return True  # cannot tell: assume it is, never delete a live server's lock
        except (OSError, IndexError):
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class ClusterStatus:
    running: bool
    port: int | None
    data_dir: Path  # the real PGDATA (after any relocation)
    pid: int | None
    version: str | None
    relocated: bool = False
    log_file: Path | None = None


class Cluster:
    """A private PostgreSQL cluster whose state lives in `data_dir` (or where its pointer says).

    Layout of the cluster home: `data/` (PGDATA), `password` (0600, owned by the invoking user),
    `server.log`. `ephemeral=True` trades durability for speed (fsync off etc.), for tests.
    """

    def __init__(self, data_dir: Path, *, port: int | None = None, ephemeral: bool = False):
        self.requested = Path(data_dir).absolute()
        self.port = port
        self.fixed_port = port is not None
        self.ephemeral = ephemeral
        self.account = service_account()
        self._home: Path | None = None
        self._bindir: Path | None = None

    # -- where things are -------------------------------------------------------------------
    @property
    def home(self) -> Path:
        if self._home is None:
            self._home = self._resolve_home()
        return self._home

    @property
    def pgdata(self) -> Path:
        return self.home / "data"

    @property
    def log_file(self) -> Path:
        return self.home / "server.log"

    @property
    def password_file(self) -> Path:
        return self.home / "password"

    @property
    def relocated(self) -> bool:
        return self.home != self.requested

    def _relocation_target(self) -> Path:
        base = Path(os.environ.get("SEG_PG_CLUSTERS_DIR") or DEFAULT_RELOCATION_BASE)
        digest = hashlib.sha256(str(self.requested).encode()).hexdigest()[:16]
        return base / digest

    def _resolve_home(self) -> Path:
        pointer = self.requested / POINTER_FILE
        if pointer.is_file():
            return Path(pointer.read_text().strip())
        if self.account is None or (self.requested / "data").exists():
            return self.requested
        existing = self.requested
        while not existing.exists():
            existing = existing.parent
        return self.requested if self._reachable(existing) else self._relocation_target()

    def _reachable(self, path: Path) -> bool:
        """Can the service account traverse `path` (and all its parents)? Asked of the OS itself."""
        test = shutil.which("test") or "/usr/bin/test"
        r = subprocess.run([test, "-x", str(path)], cwd="/", **self._as_account())
        return r.returncode == 0

    @property
    def bindir(self) -> Path:
        if self._bindir is None:
            version = self.pgdata / "PG_VERSION"
            self._bindir = find_server_binaries(version.read_text().strip()
                                                if version.is_file() else None)
        return self._bindir

    # -- running the binaries ---------------------------------------------------------------
    def _as_account(self) -> dict:
        if self.account is None:
            return {}
        return {"user": self.account.uid, "group": self.account.gid, "extra_groups": []}

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        return subprocess.run([str(self.bindir / args[0]), *args[1:]], capture_output=True,
                              text=True, cwd=self.home, env=env, stdin=subprocess.DEVNULL,
                              **self._as_account())

    def _give(self, path: Path) -> None:
        """Hand a path we created to the service account (only when we are root)."""
        if self.account is not None:
            os.chown(path, self.account.uid, self.account.gid)

    def _write_private(self, path: Path, text: str, *, give: bool = False) -> None:
        """A 0600 file, created so; `give` hands it to the service account."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        if give:
            self._give(path)

    def _mkdirs(self, path: Path) -> None:
        """Create our own directories; as root make them traversable (they are new, ours)."""
        missing = []
        while not path.exists():
            missing.append(path)
            path = path.parent
        try:
            for p in reversed(missing):
                p.mkdir()
                if self.account is not None:
                    p.chmod(0o755)
        except OSError as e:
            raise SegflowError(f"cannot create the database directory {p}: {e.strerror}") from e

    # -- lifecycle --------------------------------------------------------------------------
    def initialized(self) -> bool:
        return (self.pgdata / "PG_VERSION").is_file() and self.password_file.is_file()

    def init(self) -> None:
        """initdb once: UTF8, locale C, scram-sha-256 on 127.0.0.1 for superuser `segflow`."""
        if self.initialized():
            return
        if (self.pgdata / "PG_VERSION").is_file():
            raise SegflowError(
                f"the PostgreSQL cluster in {self.pgdata} has lost its password file "
                f"{self.password_file}; remove {self.home} to start over"
            )
        self._mkdirs(self.home)
        if self.relocated:
            self._mkdirs(self.requested)
            (self.requested / POINTER_FILE).write_text(f"{self.home}\n")
        if self.pgdata.exists():  # leftovers of an interrupted initdb: ours to remove
            shutil.rmtree(self.pgdata)
        password = secrets.token_urlsafe(24)
        self._write_private(self.password_file, password + "\n")
        pwfile = self.password_file
        if self.account is not None:  # the server account must read it once; a private copy
            self.pgdata.mkdir(mode=0o700)
            self._give(self.pgdata)
            pwfile = self.home / ".initdb-pw"
            self._write_private(pwfile, password + "\n", give=True)
        try:
            args = ["initdb", "-D", str(self.pgdata), "-U", SUPERUSER, f"--pwfile={pwfile}",
                    "-E", "UTF8", "--locale=C", "--auth-host=scram-sha-256",
                    "--auth-local=scram-sha-256"]
            if self.ephemeral:
                args.append("--no-sync")
            r = self._run(*args)
        finally:
            if pwfile != self.password_file:
                pwfile.unlink(missing_ok=True)
        if r.returncode != 0:
            tail = "\n".join((r.stdout + r.stderr).strip().splitlines()[-15:])
            with contextlib.suppress(OSError):
                shutil.rmtree(self.pgdata)
            raise SegflowError(f"initdb failed for {self.pgdata}:\n{tail}")
        self._configure()

    def _configure(self) -> None:
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": "''",
            "jit": "off",
            "password_encryption": "'scram-sha-256'",
            "logging_collector": "off",
        }
        if self.ephemeral:
            settings |= {
                "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                "wal_level": "minimal", "max_wal_senders": "0", "shared_buffers": "32MB",
            }
        # Appending/overwriting keeps the files' owner (the service account when we are root).
        with open(self.pgdata / "postgresql.conf", "a") as f:
            f.write("\n# segflow\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))
        with open(self.pgdata / "pg_hba.conf", "w") as f:
            f.write("# segflow: TCP on 127.0.0.1 only, password (scram-sha-256)\n"
                    "host all all 127.0.0.1/32 scram-sha-256\n")

    def _pidfile(self) -> list[str] | None:
        try:
            return (self.pgdata / "postmaster.pid").read_text().splitlines()
        except OSError:
            return None

    def _running(self) -> tuple[int, int] | None:
        """(pid, port) of a live postmaster for this cluster, else None."""
        lines = self._pidfile()
        if not lines or len(lines) < 4 or not lines[0].strip().isdigit():
            return None
        pid = int(lines[0])
        if not _pid_alive(pid, self.pgdata):
            return None
        return pid, int(lines[3]) if lines[3].strip().isdigit() else 0

    def start(self) -> None:
        """Start on a free 127.0.0.1 port (initdb first if needed); reuse a running server."""
        self.init()
        running = self._running()
        if running:
            self.port = running[1]
            self._wait_ready(time.monotonic() + 10)
            return
        lines = self._pidfile()
        if lines and lines[0].strip().isdigit() and not _pid_alive(int(lines[0]), self.pgdata):
            # Stale lock of a killed server. Postgres copes with a dead pid itself, but not with
            # a reused pid or an unreaped zombie; removing it is safe once the pid is not ours.
            with contextlib.suppress(FileNotFoundError):
                (self.pgdata / "postmaster.pid").unlink()
        if not self.log_file.exists():
            self._write_private(self.log_file, "", give=True)
        deadline = time.monotonic() + 30
        while True:
            port = self.port if self.fixed_port else _free_port()
            offset = self.log_file.stat().st_size
            r = self._run("pg_ctl", "start", "-w", "-t", "30", "-D", str(self.pgdata),
                          "-l", str(self.log_file), "-o", f"-p {port}")
            if r.returncode == 0:
                self.port = port
                break
            with open(self.log_file, errors="replace") as f:
                f.seek(offset)
                fresh = f.read()
            retry = any(m in fresh for m in _RETRYABLE) and not (
                self.fixed_port and "could not bind" in fresh)
            if not retry or time.monotonic() > deadline:
                lines = (fresh or r.stdout + r.stderr).strip().splitlines()[-15:]
                raise SegflowError(
                    f"PostgreSQL in {self.pgdata} failed to start (log: {self.log_file}):\n"
                    + "\n".join(lines))
            time.sleep(0.3)
        self._wait_ready(time.monotonic() + 30)

    def _wait_ready(self, deadline: float) -> None:
        """Ready means we can connect; also make sure the default database exists."""
        while True:
            try:
                with self.connect("postgres") as conn:
                    self._ensure(conn, DEFAULT_DB)
                return
            except psycopg.OperationalError as e:
                if time.monotonic() > deadline:
                    raise SegflowError(f"PostgreSQL in {self.pgdata} does not accept "
                                       f"connections on 127.0.0.1:{self.port}: {e}") from e
                time.sleep(0.1)

    def stop(self) -> None:
        """Fast shutdown (roll back open transactions, disconnect clients); no-op if stopped."""
        running = self._running()
        if not running:
            return
        r = self._run("pg_ctl", "stop", "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "60")
        if r.returncode != 0 and self._running():
            self._run("pg_ctl", "stop", "-D", str(self.pgdata), "-m", "immediate", "-w")
            if self._running():
                with contextlib.suppress(OSError):
                    os.kill(running[0], signal.SIGKILL)
                raise SegflowError(f"PostgreSQL in {self.pgdata} did not stop: {r.stderr.strip()}")

    def destroy(self) -> None:
        """Stop and delete everything: the cluster home and any pointer file."""
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
        if self.relocated:
            (self.requested / POINTER_FILE).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                self.requested.rmdir()

    def status(self) -> ClusterStatus:
        running = self._running()
        version = self.pgdata / "PG_VERSION"
        return ClusterStatus(
            running=running is not None,
            port=running[1] if running else None,
            data_dir=self.pgdata,
            pid=running[0] if running else None,
            version=version.read_text().strip() if version.is_file() else None,
            relocated=self.relocated,
            log_file=self.log_file,
        )

    # -- connecting -------------------------------------------------------------------------
    def password(self) -> str:
        return self.password_file.read_text().strip()

    def url(self, dbname: str = DEFAULT_DB) -> str:
        running = self._running()
        if not running:
            raise SegflowError(
                f"the embedded PostgreSQL cluster in {self.pgdata} is not running; start it")
        self.port = running[1]
        return (f"postgresql://{SUPERUSER}:{quote(self.password(), safe='')}"
                f"@127.0.0.1:{self.port}/{quote(dbname, safe='')}")

    def connect(self, dbname: str = "postgres", **kwargs) -> psycopg.Connection:
        kwargs.setdefault("autocommit", True)
        kwargs.setdefault("connect_timeout", 10)
        return psycopg.connect(self.url(dbname), **kwargs)

    @staticmethod
    def _ensure(conn: psycopg.Connection, name: str) -> bool:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        with contextlib.suppress(psycopg.errors.DuplicateDatabase):  # lost a race: fine
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True

    def ensure_database(self, name: str) -> bool:
        """Create `name` unless it exists; True when it was created."""
        with self.connect() as conn:
            return self._ensure(conn, name)

    def create_database(self, name: str, template: str | None = None) -> None:
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        with self.connect() as conn:
            conn.execute(query)

    def drop_database(self, name: str) -> None:
        """Drop `name` if it exists, disconnecting its clients."""
        with self.connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))


def project_cluster(project_dir: Path, **kwargs) -> Cluster:
    """The cluster of a segflow project: `<project_dir>/.segflow/pg` (or where it points)."""
    return Cluster(Path(project_dir) / ".segflow" / "pg", **kwargs)
