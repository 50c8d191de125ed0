"""The system tests' harness: real ``scriptdeck`` processes driven over HTTP.

Every process a test starts is tracked (its whole tree, sampled while it runs) and,
at teardown, stopped with SIGTERM; a process that outlives the stop fails the test.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

SCRIPTDECK = str(Path(sys.executable).with_name("scriptdeck"))
ADMIN_USER = "sysadmin"
ADMIN_PASSWORD = "sys-test-password-1"
READY_DEADLINE = 60.0
STOP_DEADLINE = 40.0
TERMINAL = ("SUCCESS", "FAILURE", "CANCELLED")

POSTGRES_HOST, POSTGRES_PORT = "127.0.0.1", 5432
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
RABBITMQ_HOST, RABBITMQ_PORT = "127.0.0.1", 5672
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"

# Variables of the test process that must not leak into a server under test.
_INHERITED_PREFIXES = ("SCRIPTDECK_", "CELERY_", "DATABASE_URL", "DJANGO_SETTINGS_MODULE")


# --- small helpers ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_answers(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(
    condition: Callable[[], Any], timeout: float, message: str, interval: float = 0.1
) -> Any:
    """Poll ``condition`` until it is truthy; fail with ``message`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"{message} (waited {timeout:g} s)")
        time.sleep(interval)


def tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def server_env(home: Path, scripts_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_PREFIXES)}
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "SCRIPTDECK_HOME": str(home),
            "SCRIPTDECK_SCRIPTS_DIR": str(scripts_dir),
            "SCRIPTDECK_ADMIN_USER": ADMIN_USER,
            "SCRIPTDECK_ADMIN_PASSWORD": ADMIN_PASSWORD,
            # Most system tests talk to their scripts through files of the test's own
            # folders (a pid, a gate, a count of starts), which a sandboxed run can neither
            # see nor write: they run unsandboxed. The sandbox's own tests, and those of what
            # runs inside it (command lines, dependencies, limits), ask for SANDBOXED.
            "SCRIPTDECK_SANDBOX": "off",
        }
    )
    env.update(extra)
    return env


# What a server gives by default: the sandbox when it can (bubblewrap, the run user as root).
SANDBOXED = {"SCRIPTDECK_SANDBOX": "auto"}


def write_scripts(folder: Path, scripts: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in scripts.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


# --- processes -------------------------------------------------------------------------------


class TrackedProcess:
    """A process started in its own session, whose descendants are remembered while it runs."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.popen = subprocess.Popen(
            argv,
            env=env,
            cwd=str(log_path.parent),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.seen: dict[tuple[int, float], psutil.Process] = {}
        self._stop_watching = threading.Event()
        self._remember_tree()
        self._watcher = threading.Thread(target=self._watch, name=f"watch-{name}", daemon=True)
        self._watcher.start()
        self.stop_seconds: float | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def _remember_tree(self) -> None:
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        for proc in procs:
            try:
                self.seen.setdefault((proc.pid, proc.create_time()), proc)
            except psutil.Error:
                continue

    def _watch(self) -> None:
        while not self._stop_watching.wait(0.25):
            if self.popen.poll() is not None:
                return
            self._remember_tree()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = STOP_DEADLINE) -> float:
        """SIGTERM, then wait up to ``timeout`` s. Returns the seconds it took; fails on timeout."""
        if self.stop_seconds is not None:
            return self.stop_seconds
        self._remember_tree()
        began = time.monotonic()
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(self.pid)
            self.popen.wait(timeout=10)
            self.stop_seconds = time.monotonic() - began
            self._finish()
            pytest.fail(
                f"{self.name} (pid {self.pid}) did not exit within {timeout:g} s of SIGTERM; "
                f"killed it.\n--- log tail ---\n{tail(self.log_path)}"
            )
        self.stop_seconds = time.monotonic() - began
        self._finish()
        return self.stop_seconds

    def kill(self) -> None:
        if self.alive():
            _kill_group(self.pid)
            self.popen.wait(timeout=10)
        self._finish()

    def _finish(self) -> None:
        self._stop_watching.set()
        self._log.close()


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _describe(proc: psutil.Process) -> str:
    try:
        return f"pid {proc.pid} [{proc.status()}] {' '.join(proc.cmdline())[:200]}"
    except psutil.Error:
        return f"pid {proc.pid} (gone)"


def _is_live(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class ProcessStack:
    """The processes one test (or module) started, and what identifies their descendants.

    A leftover is a live process that was seen in a tracked tree, or whose command line
    or environment names the test's folder, or whose command line has ``--port`` with one
    of the test's ports, or whose working directory is inside the test's folders (scripts
    run in theirs).
    """

    def __init__(self, base: Path) -> None:
        self.base = base
        self.processes: list[TrackedProcess] = []
        self.needles: list[str] = [f"{base}{os.sep}"]
        self.ports: list[int] = []
        self.roots: list[Path] = [base]

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> TrackedProcess:
        process = TrackedProcess(name, [SCRIPTDECK, *args], env, self.base / f"{name}.log")
        self.processes.append(process)
        return process

    def leftovers(self) -> list[psutil.Process]:
        me = psutil.Process()
        ignored = {me.pid, *(p.pid for p in me.parents())}
        found: dict[int, psutil.Process] = {}
        for process in self.processes:
            for proc in process.seen.values():
                if proc.pid not in ignored and _is_live(proc):
                    found[proc.pid] = proc
        for proc in psutil.process_iter():
            if proc.pid in ignored or proc.pid in found or not _is_live(proc):
                continue
            if self._belongs(proc):
                found[proc.pid] = proc
        return list(found.values())

    def _belongs(self, proc: psutil.Process) -> bool:
        try:
            argv = proc.cmdline()
        except psutil.Error:
            return False
        cmdline = " ".join(argv)
        if any(needle in cmdline for needle in self.needles):
            return True
        for index, arg in enumerate(argv[:-1]):
            if arg == "--port" and argv[index + 1] in {str(port) for port in self.ports}:
                return True
        try:
            cwd = Path(proc.cwd())
            if any(cwd.is_relative_to(root) for root in self.roots):
                return True
        except (psutil.Error, ValueError):
            pass
        try:
            values = proc.environ().values()
        except psutil.Error:
            return False
        return any(needle in value for value in values for needle in self.needles)

    def close(self) -> None:
        """Stop everything (last started first), then fail if any process outlived the stop."""
        problems: list[str] = []
        for process in reversed(self.processes):
            try:
                process.stop()
            except pytest.fail.Exception as exc:
                problems.append(str(exc))
        left = self.leftovers()
        if left:
            problems.append(
                "processes left running after their parent stopped:\n  "
                + "\n  ".join(_describe(p) for p in left)
            )
            for proc in left:
                try:
                    proc.kill()
                except psutil.Error:
                    pass
            psutil.wait_procs(left, timeout=5)
        if problems:
            logs = "\n".join(
                f"--- {p.name} log tail ---\n{tail(p.log_path, 30)}" for p in self.processes
            )
            pytest.fail("\n".join(problems) + "\n" + logs)


# --- HTTP ------------------------------------------------------------------------------------


class Api:
    """An authenticated client of one server, with the waits the tests need."""

    def __init__(self, base_url: str, alive: Callable[[], bool], log_path: Path) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=15.0)
        self._alive = alive
        self._log_path = log_path
        self.token: str | None = None

    def login(self, username: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> str:
        response = self.http.post(
            "/api/auth/token/", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        self.token = response.json()["token"]
        self.http.headers["Authorization"] = f"Token {self.token}"
        return self.token

    def close(self) -> None:
        self.http.close()

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.http.post(url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.http.patch(url, **kwargs)

    def health(self) -> tuple[int, dict[str, Any]] | None:
        try:
            response = self.http.get("/healthz", timeout=5.0)
        except httpx.TransportError:
            return None
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, {}

    def wait_ready(
        self,
        *,
        healthy: bool = True,
        worker: bool | str = True,
        timeout: float = READY_DEADLINE,
        alive: Callable[[], bool] | None = None,
    ) -> dict[str, Any]:
        """Poll ``/healthz`` until it answers as asked.

        ``healthy``: 200 and status ok (else only the database must be ok);
        ``worker``: True for any live worker, a hostname for that one, False for none.
        """
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            for check in (self._alive, alive):
                if check is not None and not check():
                    pytest.fail(
                        f"a process exited while waiting for {self.base_url}/healthz "
                        f"(last answer {last}).\n--- log tail ---\n{tail(self._log_path)}"
                    )
            last = self.health()
            if last is not None:
                status, body = last
                ok = status == 200 and body.get("status") == "ok" if healthy else True
                ok = ok and body.get("database") == "ok"
                hosts = [w.get("hostname") for w in body.get("workers", [])]
                if worker is True:
                    ok = ok and bool(hosts)
                elif isinstance(worker, str):
                    ok = ok and worker in hosts
                if ok:
                    return body
            time.sleep(0.2)
        pytest.fail(
            f"{self.base_url}/healthz was not ready within {timeout:g} s "
            f"(healthy={healthy}, worker={worker!r}); last answer: {last}\n"
            f"--- log tail ---\n{tail(self._log_path)}"
        )

    # -- scripts and executions ---------------------------------------------------------

    def script(self, name: str) -> dict[str, Any]:
        response = self.get("/api/scripts/", params={"name": name})
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert len(results) == 1, f"script {name!r} is not registered: {results}"
        return results[0]

    def set_script(self, name: str, **changes: Any) -> dict[str, Any]:
        script = self.script(name)
        response = self.patch(f"/api/scripts/{script['id']}/", json=changes)
        assert response.status_code == 200, response.text
        return response.json()

    def submit(
        self, script: str | int, parameters: dict[str, Any] | None = None, page_context: str = ""
    ) -> dict[str, Any]:
        response = self.post(
            "/api/executions/",
            json={"script": script, "parameters": parameters or {}, "page_context": page_context},
        )
        assert response.status_code == 202, response.text
        return response.json()

    def execution(self, execution_id: int) -> dict[str, Any]:
        response = self.get(f"/api/executions/{execution_id}/")
        assert response.status_code == 200, response.text
        return response.json()

    def execution_count(self) -> int:
        response = self.get("/api/executions/")
        assert response.status_code == 200, response.text
        return response.json()["count"]

    def wait_status(
        self, execution_id: int, statuses: tuple[str, ...], timeout: float
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            execution = self.execution(execution_id)
            if execution["status"] in statuses:
                return execution
            if time.monotonic() >= deadline:
                pytest.fail(
                    f"execution {execution_id} is {execution['status']} after {timeout:g} s, "
                    f"expected one of {statuses}: {execution}\n"
                    f"--- log tail ---\n{tail(self._log_path)}"
                )
            time.sleep(0.1)

    def wait(self, execution_id: int, timeout: float = 30.0) -> dict[str, Any]:
        """The execution once it has ended (SUCCESS, FAILURE or CANCELLED)."""
        return self.wait_status(execution_id, TERMINAL, timeout)


@dataclass
class Server:
    """A running ``scriptdeck serve`` and an authenticated client of it."""

    process: TrackedProcess
    api: Api
    port: int
    home: Path
    scripts_dir: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def log_path(self) -> Path:
        return self.process.log_path

    def log(self) -> str:
        return self.process.log_path.read_text(encoding="utf-8", errors="replace")


def start_serve(
    stack: ProcessStack,
    scripts_dir: Path,
    *args: str,
    name: str = "serve",
    home: Path | None = None,
    env: dict[str, str] | None = None,
    healthy: bool = True,
    worker: bool | str = True,
) -> Server:
    """Start ``scriptdeck serve`` on a free port and wait until ``/healthz`` says it is ready."""
    port = free_port()
    home = home or stack.base / f"{name}-home"
    stack.ports.append(port)
    stack.roots.append(scripts_dir)
    full_env = server_env(home, scripts_dir, **(env or {}))
    process = stack.spawn(
        name, ["serve", "--host", "127.0.0.1", "--port", str(port), *args], full_env
    )
    api = Api(f"http://127.0.0.1:{port}", process.alive, process.log_path)
    api.wait_ready(healthy=healthy, worker=worker)
    api.login()
    return Server(process, api, port, home, scripts_dir, full_env)


# --- services: reachable, or a failure that says how to fix it ------------------------------


def require_port(host: str, port: int, service: str) -> None:
    if not port_answers(host, port):
        pytest.fail(f"{service} is not answering on {host}:{port}: run `make services`")


def postgres_role() -> str:
    import psycopg

    errors = []
    for role in ("postgres", "root"):
        try:
            with psycopg.connect(
                f"postgresql://{role}@{POSTGRES_HOST}:{POSTGRES_PORT}/postgres", connect_timeout=5
            ):
                return role
        except psycopg.Error as exc:
            errors.append(f"{role}: {exc}")
    pytest.fail(
        f"PostgreSQL on {POSTGRES_HOST}:{POSTGRES_PORT} accepts neither role postgres nor root "
        f"without a password ({'; '.join(errors)}): run `make services`"
    )


class RedisBroker:
    """Redis databases for one module's tests, and the names (queues, workers) they used.

    Teardown removes every key and set member that names one of them, and nothing else:
    a FLUSHDB would also wipe the queues and bindings of another run sharing this Redis.
    """

    def __init__(self) -> None:
        self.databases: set[int] = set()
        self.names: set[str] = set()

    def url(self, number: int) -> str:
        self.databases.add(number)
        return f"redis://{REDIS_HOST}:{REDIS_PORT}/{number}"

    def owns(self, *names: str) -> None:
        self.names.update(names)

    def clean(self) -> None:
        import redis

        names = [name.encode() for name in self.names]
        for number in sorted(self.databases):
            client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=number)
            try:
                for key in list(client.scan_iter("*")):
                    if any(name in key for name in names):
                        client.delete(key)
                        continue
                    kind = client.type(key)
                    if kind == b"set":
                        members = [m for m in client.smembers(key) if any(n in m for n in names)]
                        if members:
                            client.srem(key, *members)
                    elif kind == b"zset":
                        members = [
                            m for m in client.zrange(key, 0, -1) if any(n in m for n in names)
                        ]
                        if members:
                            client.zrem(key, *members)
            finally:
                client.close()
