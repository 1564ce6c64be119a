"""A real PostgreSQL server for the tests: initdb into a temp dir, started on a
free port on 127.0.0.1, stopped at the end of the session.

The server refuses to run as root, and pytest's tmp_path is reachable only by
root, so as root the data directory is a folder of its own under the system's
temp dir, owned by the unprivileged `postgres` user (which Debian's package
creates) and the server runs as that user. The binaries come from Debian's
`postgresql` package (scripts/debian-packages.txt); where it cannot be had the
tests that need it skip with that reason.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from urllib.parse import quote

__all__ = ["PgServer", "find_bindir", "start_pg_server"]

SUPERUSER = "bridge_admin"
SUPERUSER_PASSWORD = "admin-secret-pw"  # a test server's only; on 127.0.0.1 for one session
START_TIMEOUT = 60.0


def find_bindir() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, or Debian's versioned folder (newest)."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(os.path.realpath(found)).parent
    versions = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()]
    versions.sort(key=lambda p: int(p.parent.name))
    return versions[-1] if versions and (versions[-1] / "pg_ctl").exists() else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    """One running server; `database()` hands each test a fresh, empty database."""

    bindir: Path
    datadir: Path
    port: int
    run_as: str | None
    _names: Iterator[int]

    def url(
        self, database: str = "postgres", user: str = SUPERUSER, password: str | None = None
    ) -> str:
        secret = SUPERUSER_PASSWORD if password is None and user == SUPERUSER else password
        auth = quote(user, safe="") + (f":{quote(secret, safe='')}" if secret else "")
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres", *, url: str | None = None) -> str:
        """Run SQL (as the superuser unless `url` says otherwise) with the server's own
        psql; returns its output."""
        result = subprocess.run(
            [str(self.bindir / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
             url or self.url(database), "-c", sql],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"psql failed: {result.stderr.strip()}")
        return result.stdout

    def database(self) -> str:
        """A new empty database; returns its name."""
        name = f"t{os.getpid()}_{next(self._names)}"
        self.psql(f"CREATE DATABASE {name} TEMPLATE template0")
        return name

    def drop(self, name: str) -> None:
        with contextlib.suppress(RuntimeError):
            self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    @property
    def log(self) -> Path:
        """The server's log (pg_ctl -l): readable by root and by the user it runs as."""
        return self.datadir.parent / "log"

    def stop(self) -> None:
        _run(self, [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate",
                    "-w", "-t", "30", "stop"], check=False)  # fmt: skip
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def _run(server_or_user: PgServer | str | None, argv: list[str], *, check: bool = True) -> None:
    user = server_or_user.run_as if isinstance(server_or_user, PgServer) else server_or_user
    if user is not None:
        argv = ["runuser", "-u", user, "--", *argv]
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=START_TIMEOUT, check=False, cwd="/"
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {result.stderr.strip() or result.stdout.strip()}")


def start_pg_server() -> PgServer | str:
    """Start a server; a string says why one cannot be had here (the tests skip with it)."""
    bindir = find_bindir()
    if bindir is None:
        return "PostgreSQL's server binaries (Debian package postgresql) are not installed"
    run_as: str | None = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no unprivileged `postgres` user to run the server"
        run_as = "postgres"
    root = Path(tempfile.mkdtemp(prefix="bridge-pg-"))
    datadir = root / "data"
    pwfile = root / "pw"
    pwfile.write_text(SUPERUSER_PASSWORD + "\n")
    if run_as is not None:
        entry = pwd.getpwnam(run_as)
        for path in (root, pwfile):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    root.chmod(0o700)
    port = _free_port()
    server = PgServer(bindir, datadir, port, run_as, count(1))
    try:
        _run(run_as, [
            str(bindir / "initdb"), "-D", str(datadir), "-U", SUPERUSER, f"--pwfile={pwfile}",
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C",
            "--no-sync",
        ])  # fmt: skip
        # A test server: durability traded for speed (the data is thrown away).
        options = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
            # Who ran each logged statement: a test counts one role's queries.
            "-c log_line_prefix=user=%u, "
        )
        _run(run_as, [
            str(bindir / "pg_ctl"), "-D", str(datadir), "-o", options, "-l", str(root / "log"),
            "-w", "-t", str(int(START_TIMEOUT)), "start",
        ])  # fmt: skip
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        server.stop()
        return f"cannot start a PostgreSQL server: {exc}"
    deadline = time.monotonic() + START_TIMEOUT
    while True:  # pg_ctl -w waited; this only confirms the TCP port answers
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                return "the PostgreSQL server started but its port does not answer"
            time.sleep(0.05)
    return server
