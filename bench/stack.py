"""What the benchmark runs on: a PostgreSQL database of its own, a private Redis, real servers.

Servers are started with the system tests' harness (``tests/system/harness.py``): real
``scriptdeck serve`` processes on free ports, tracked and stopped with SIGTERM.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402
from tests.system.harness import (  # noqa: E402
    POSTGRES_HOST,
    POSTGRES_PORT,
    TERMINAL,
    ProcessStack,
    Server,
    TrackedProcess,
    free_port,
    port_answers,
    postgres_role,
    start_serve,
)

__all__ = ["TERMINAL", "TrackedProcess"]

BENCH_DB = "scriptdeck_bench"
EXECUTIONS = "executions_taskexecution"
EVENTS = "executions_executionevent"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- PostgreSQL ------------------------------------------------------------------------------


class Postgres:
    """The bench's own database: dropped if left over, created fresh, dropped at the end."""

    def __init__(self, name: str = BENCH_DB) -> None:
        self.name = name
        self.role = postgres_role()
        self.admin_url = f"postgresql://{self.role}@{POSTGRES_HOST}:{POSTGRES_PORT}/postgres"
        self.url = f"postgres://{self.role}@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"
        self.dsn = f"postgresql://{self.role}@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"

    def _drop(self, conn: Any) -> None:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (self.name,),
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{self.name}"')

    def create(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            self._drop(conn)
            conn.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            self._drop(conn)

    def connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.dsn, autocommit=True)

    def version(self) -> str:
        with self.connect() as conn:
            return conn.execute("SHOW server_version").fetchone()[0]

    def pids(self) -> set[int]:
        """The server processes that work for the bench: its database's backends and the
        background ones (writer, checkpointer, autovacuum), not other users' backends."""
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE (datname = %s OR backend_type <> 'client backend') "
                "AND pid <> pg_backend_pid()",
                (self.name,),
            ).fetchall()
        return {pid for (pid,) in rows}


# --- Redis -----------------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of the bench's own on a free port (nothing saved), as the fault tests do:
    the shared one on 6379 is left alone. Falls back to 6379 db 13 when there is no binary."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 6379
        self.db = 13

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            log("redis-server not found: using 127.0.0.1:6379 db 13")
            return
        self.port, self.db = free_port(), 0
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while not port_answers("127.0.0.1", self.port):
            if time.monotonic() > deadline:
                raise RuntimeError("the private Redis did not start")
            time.sleep(0.05)

    def url(self, db: int | None = None) -> str:
        return f"redis://127.0.0.1:{self.port}/{self.db if db is None else db}"

    def version(self) -> str:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port)
        try:
            return str(client.info("server").get("redis_version"))
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


# --- servers ---------------------------------------------------------------------------------


@contextmanager
def serve(
    base: Path,
    scripts_dir: Path,
    name: str,
    env: dict[str, str],
    *args: str,
    worker: bool = True,
) -> Iterator[Server]:
    """A real ``scriptdeck serve`` on a free port, stopped (SIGTERM) on the way out."""
    folder = base / name
    folder.mkdir(parents=True, exist_ok=True)
    stack = ProcessStack(folder)
    log(f"starting scriptdeck serve ({name})")
    try:
        server = start_serve(stack, scripts_dir, *args, name=name, env=env, worker=worker)
        yield server
    finally:
        try:
            stack.close()
        except BaseException as exc:  # the harness fails a test (pytest's Failed) on leftovers
            log(f"stopping {name}: {str(exc)[:400]}")


def wait_visible(
    api: Any, execution_id: int, interval: float | None, timeout: float = 900.0
) -> dict:
    """Until the execution has ended, as a client sees it: polling every ``interval``
    seconds, or (``None``) asking ``/wait/`` to answer when the run has ended."""
    deadline = time.monotonic() + timeout
    path = f"/api/executions/{execution_id}/"
    params = {}
    if interval is None:
        path, params = f"{path}wait/", {"timeout": 60}
    while True:
        response = api.get(path, params=params)
        response.raise_for_status()
        body = response.json()
        if body["status"] in TERMINAL:
            return body
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution {execution_id} still {body['status']}")
        if interval is not None:
            time.sleep(interval)


def submit(http: httpx.Client, script: str, parameters: dict[str, Any]) -> int:
    response = http.post("/api/executions/", json={"script": script, "parameters": parameters})
    if response.status_code != 202:
        raise RuntimeError(f"submit {script}: {response.status_code} {response.text[:300]}")
    return int(response.json()["id"])


def client(server: Server) -> httpx.Client:
    return httpx.Client(
        base_url=server.api.base_url,
        headers={"Authorization": f"Token {server.api.token}"},
        timeout=60.0,
    )


# --- the machine -----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "python": sys.version.split()[0],
    }


def versions(postgres: Postgres | None, redis: PrivateRedis | None) -> dict[str, str]:
    found: dict[str, str] = {}
    packages = ("scriptdeck", "Django", "djangorestframework", "celery", "kombu", "redis")
    for package in (*packages, "psycopg", "uvicorn", "httpx"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    try:
        found["git_commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "src"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
        found["git_src_modified"] = "yes" if dirty else "no"
    except OSError:
        pass
    for label, source in (("postgresql", postgres), ("redis_server", redis)):
        try:
            found[label] = source.version() if source is not None else "not used"
        except Exception as exc:  # noqa: BLE001
            found[label] = f"unknown ({exc})"
    return found


def warm_start_landed() -> tuple[bool, str]:
    """Whether anything that runs scripts reads the warm-start setting yet.

    ``SCRIPTDECK_WARM_START`` is defined in settings; until the runner or the worker reads
    it, setting it changes nothing, and warm figures would be cold figures under a new name.
    """
    if os.environ.get("BENCH_FORCE_WARM") == "1":
        return True, "forced by BENCH_FORCE_WARM=1"
    src = ROOT / "src" / "scriptdeck"
    readers = []
    for folder in ("runner", "executions"):
        for path in (src / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8", errors="replace").lower()
            if "warm_start" in text or "fork server" in text or "forkserver" in text:
                readers.append(str(path.relative_to(ROOT)))
    if readers:
        return True, "read by " + ", ".join(sorted(readers))
    return False, (
        "SCRIPTDECK_WARM_START is read by nothing in src/scriptdeck/runner or executions "
        "(the warm-start executor has not landed)"
    )


def scratch() -> Path:
    base = ROOT / "var" / "bench"
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="run-", dir=base))


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n"
