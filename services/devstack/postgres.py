"""PostgreSQL from Debian's packages, as FerretDB's storage (the services never use it).

It runs as the ``postgres`` OS user (PostgreSQL refuses root) on a project-local data
directory, with trust authentication on loopback only: it is a throwaway development store.
"""

from __future__ import annotations

import os
import pwd
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

from services.devstack import process
from services.devstack.config import HOST, Layout, Ports
from services.devstack.errors import DevstackError
from services.devstack.process import say
from services.devstack.server import Status

DATABASE = "ferretdb"
START_TIMEOUT = 60.0
#: FerretDB's pool holds up to 250 connections; leave room for psql and the probe.
SETTINGS = """\
# Written by `python -m services.devstack up` before every start; edits are overwritten.
listen_addresses = '{host}'
port = {port}
max_connections = 300
unix_socket_directories = '{sockets}'
# Plan each statement with its values, so FerretDB's parameterised field names still match
# the expression indexes of containment_indexes.sql.
plan_cache_mode = force_custom_plan
"""
#: The kernel takes Unix socket paths up to 107 bytes; past this, the socket goes to /tmp.
MAX_SOCKET_PATH = 100


class Postgres:
    """The ``postgres`` server: a private cluster in ``.devstack/data/postgres``."""

    name = "postgres"

    def __init__(self, layout: Layout, ports: Ports) -> None:
        self.port = ports.postgres
        self.data = layout.data / "postgres"
        self.log = layout.logs / "postgres.log"
        self.setup_log = layout.logs / "postgres-setup.log"
        self.indexes_sql = layout.deploy / "postgres" / "containment_indexes.sql"

    def missing(self) -> list[str]:
        if _bin_dir() is not None or (os.geteuid() == 0 and shutil.which("apt-get")):
            return []  # present, or `prepare` installs it
        return ["PostgreSQL server (initdb, pg_ctl): as root, apt-get install -y postgresql"]

    def prepare(self) -> None:
        if _bin_dir() is None:
            self._install()
        if not (self.data / "PG_VERSION").exists():
            self._initdb()

    def conflicts(self) -> list[str]:
        if self._pid() is not None or not process.port_open(HOST, self.port):
            return []
        return [_port_conflict(self.port)]

    def start(self) -> int:
        pid = self._pid()
        if pid is not None:
            say(f"postgres: already running (pid {pid})")
            return pid
        if problems := self.conflicts():
            raise DevstackError("\n".join(problems))
        self._write_settings()
        _own_file(self.log)
        say(f"postgres: starting on {HOST}:{self.port}")
        self._pg_ctl("start", "-l", str(self.log), "-t", str(int(START_TIMEOUT)))
        pid = self._pid()
        if pid is None:
            raise DevstackError(
                f"postgres did not start; end of {self.log}:\n{process.tail(self.log)}"
            )
        return pid

    def wait(self, pid: int) -> None:
        process.wait_ready(
            self._probe, name="postgres", timeout=START_TIMEOUT, log=self.log, pid=pid
        )
        self._ensure_database()
        self._ensure_containment_indexes()
        say(f"postgres: ready on {HOST}:{self.port}")

    def stop(self) -> None:
        pid = self._pid()
        if pid is None:
            return
        say(f"postgres: stopping (pid {pid})")
        self._pg_ctl("stop", "-m", "fast", "-t", "60")  # fast: disconnect clients, no waiting

    def status(self) -> Status:
        pid = self._pid()
        ready = pid is not None and self._probe() is None
        return Status(self.name, pid, f"{HOST}:{self.port}", ready)

    def _pid(self) -> int | None:
        """The postmaster's pid from its own pid file, if that process still runs."""
        return process.find_server(self.data / "postmaster.pid", str(self.data))

    def _pg_ctl(self, action: str, *args: str) -> None:
        """``pg_ctl <action>`` on our cluster, waiting (-w) until it is done."""
        cmd = self._pg("pg_ctl", action, "-D", str(self.data), "-w", "-s", *args)
        process.run(cmd, log=self.setup_log, cwd=self.data.parent)

    def _pg(self, tool: str, *args: str) -> list[str]:
        """A server tool's command line (initdb, pg_ctl), run as ``postgres`` when we are root."""
        return _as_postgres(self._tool(tool, *args))

    def _tool(self, tool: str, *args: str) -> list[str]:
        """A client tool's command line (psql, pg_isready), from the data's PostgreSQL version."""
        bin_dir = _bin_dir(_data_version(self.data))
        if bin_dir is None:
            raise DevstackError("PostgreSQL binaries not found: apt-get install -y postgresql")
        return [str(bin_dir / tool), *args]

    def _probe(self) -> str | None:
        """None once pg_isready says the server accepts connections on our TCP port."""
        cmd = self._tool("pg_isready", "-h", HOST, "-p", str(self.port), "-U", "postgres", "-q")
        result = subprocess.run(cmd, cwd=self.data.parent, capture_output=True, check=False)
        return None if result.returncode == 0 else f"pg_isready exit code {result.returncode}"

    def _install(self) -> None:
        """apt-get install postgresql, then stop the system cluster Debian may have started."""
        say("postgres: installing PostgreSQL with apt-get (once; about 30-90 s)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        process.run(["apt-get", "update", "-q"], log=self.setup_log, env=env)
        process.run(["apt-get", "install", "-y", "-q", "postgresql"], log=self.setup_log, env=env)
        for version, cluster, port in _online_system_clusters():
            say(
                f"postgres: stopping Debian's cluster {version}/{cluster} (port {port}) "
                "and setting it to start manually, so ours can run"
            )
            process.run(["pg_ctlcluster", version, cluster, "stop"], log=self.setup_log)
            start_conf = Path("/etc/postgresql") / version / cluster / "start.conf"
            if start_conf.exists():
                start_conf.write_text("manual\n")

    def _initdb(self) -> None:
        """Create the cluster: trust auth (loopback only), owned by ``postgres``."""
        say(f"postgres: creating a new cluster in {self.data}")
        self.data.mkdir(parents=True, exist_ok=True)
        _own_file(self.data)
        self.data.chmod(0o700)
        _check_postgres_can_write(self.data)
        process.run(
            self._pg(
                "initdb",
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-instructions",
            ),
            log=self.setup_log,
            cwd=self.data.parent,
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\ninclude_if_exists = 'devstack.conf'\n")

    def _write_settings(self) -> None:
        """Settings that follow the environment (port) are rewritten before each start."""
        too_long = len(str(self.data)) > MAX_SOCKET_PATH - len("/.s.PGSQL.65535")
        sockets = Path(tempfile.gettempdir()) if too_long else self.data
        settings = self.data / "devstack.conf"
        settings.write_text(SETTINGS.format(host=HOST, port=self.port, sockets=sockets))
        _own_file(settings)

    def _ensure_database(self) -> None:
        """Create FerretDB's database on first start (over TCP, which works as any OS user)."""
        connect = ["-h", HOST, "-p", str(self.port), "-U", "postgres"]
        query = "SELECT datname FROM pg_database"
        found = process.run(
            self._tool("psql", *connect, "-X", "-d", "postgres", "-tAc", query),
            log=self.setup_log,
            cwd=self.data.parent,
        )
        if DATABASE not in found.split():
            say(f"postgres: creating database {DATABASE}")
            process.run(
                self._tool("createdb", *connect, DATABASE), log=self.setup_log, cwd=self.data.parent
            )

    def _ensure_containment_indexes(self) -> None:
        """GIN twins for FerretDB's indexes, so its equality filters are index lookups."""
        connect = ["-h", HOST, "-p", str(self.port), "-U", "postgres", "-d", DATABASE]
        command = self._tool("psql", *connect, "-X", "-q", "-v", "ON_ERROR_STOP=1")
        process.run(
            [*command, "-f", str(self.indexes_sql)], log=self.setup_log, cwd=self.data.parent
        )


def _bin_dir(version: str | None = None) -> Path | None:
    """Debian's ``/usr/lib/postgresql/<v>/bin`` (the data's version, else the newest),
    or the directory of ``pg_ctl`` on PATH on other systems."""
    found = {
        p.parent.parent.name: p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")
    }
    if version in found:
        return found[version]
    if found:
        return found[max(found, key=lambda v: [int(n) for n in re.findall(r"\d+", v)])]
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path and shutil.which("initdb") else None


def _data_version(data: Path) -> str | None:
    try:
        return (data / "PG_VERSION").read_text().strip()
    except OSError:
        return None


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root, so root runs its tools as the ``postgres`` user."""
    if os.geteuid() != 0:
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *cmd]
    return ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(cmd)]


def _own_file(path: Path) -> None:
    """Hand a file or directory to ``postgres`` (root only), creating an empty file if needed."""
    if not path.exists():
        path.touch()
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(path, user.pw_uid, user.pw_gid)


def _check_postgres_can_write(data: Path) -> None:
    """Fail early and clearly when a parent directory is closed to the ``postgres`` user."""
    if os.geteuid() != 0:
        return
    probe = subprocess.run(_as_postgres(["test", "-w", str(data)]), cwd="/", check=False)
    if probe.returncode != 0:
        raise DevstackError(
            f"the postgres user cannot reach {data}: every parent directory needs o+x "
            "(chmod o+x on it), or put the state elsewhere with DEVSTACK_HOME=/some/dir"
        )


def _online_system_clusters() -> list[tuple[str, str, str]]:
    """Debian clusters that are running: (version, name, port) from ``pg_lsclusters``."""
    if shutil.which("pg_lsclusters") is None:
        return []
    result = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=False)
    rows = [line.split() for line in result.stdout.splitlines()]
    return [(row[0], row[1], row[2]) for row in rows if len(row) > 3 and row[3] == "online"]


def _port_conflict(port: int) -> str:
    """Explain who holds the port, naming Debian's own cluster when it is the culprit."""
    for version, cluster, cluster_port in _online_system_clusters():
        if cluster_port == str(port):
            return (
                f"port {port} is taken by Debian's PostgreSQL cluster {version}/{cluster}: "
                f"stop it with `pg_ctlcluster {version} {cluster} stop` (and "
                f"`echo manual > /etc/postgresql/{version}/{cluster}/start.conf`), "
                "or choose another port with POSTGRES_PORT=..."
            )
    return (
        f"port {port} is taken by a program other than this PostgreSQL: stop it, "
        "or choose another port with POSTGRES_PORT=..."
    )
