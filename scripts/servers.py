"""uvicorn processes and throwaway PostgreSQL databases, for the benchmark, `make fuzz` and the
tests that need a real server. Everything listens on 127.0.0.1 only."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.core.config import Settings

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
STARTUP_SECONDS = 90.0
STOP_SECONDS = 20.0
HTTP_PROTOCOL = "app.api.server:BoundedHttpProtocol"
GRACEFUL_SHUTDOWN_SECONDS = 10  # under STOP_SECONDS: a stop never needs SIGKILL

# Settings the API reads; inherited values are dropped so that the benchmark runs the same
# configuration whatever the calling shell exports (DATABASE_URL only chooses the databases).
_APP_SETTINGS = frozenset(Settings.model_fields)


def new_secret_key() -> str:
    """48 random URL-safe characters, as production requires (32 at least, no known default)."""
    return secrets.token_urlsafe(36)


def app_environment(database_url: str, secret_key: str, *, rate_limits: bool) -> dict[str, str]:
    """Production-like settings: production mode, a random key, warnings-only logging, default
    pool sizes and argon2 costs, and rate limits lifted (off, or so high they never bite)."""
    env = {k: v for k, v in os.environ.items() if k not in _APP_SETTINGS}
    env |= {
        "ENVIRONMENT": "production",
        "SECRET_KEY": secret_key,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "text",
        "METRICS_ENABLED": "false",
    }
    if rate_limits:
        env |= {"RATE_LIMIT_LOGIN": "1000000000/minute", "RATE_LIMIT_DEFAULT": "1000000000/minute"}
    else:
        env["RATE_LIMIT_ENABLED"] = "false"
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    port: int
    workers: int
    process: subprocess.Popen[bytes]
    cpus: frozenset[int] | None
    log: Path  # the server's stdout and stderr

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server and its worker processes (Linux /proc)."""
        return sum(_cpu_seconds(pid) for pid in _group_pids(self.process.pid))


def uvicorn_command(target: str, port: int, workers: int) -> list[str]:
    """The same flags for every server, those of `make run`: one event loop per worker, uvloop
    when installed, httptools with the framing bounds of app.api.server, a bounded graceful
    shutdown, no access log."""
    return [
        sys.executable, "-m", "uvicorn", target,
        "--app-dir", str(ROOT),
        "--host", HOST, "--port", str(port),
        "--workers", str(workers),
        "--loop", "auto", "--http", HTTP_PROTOCOL,
        "--timeout-graceful-shutdown", str(GRACEFUL_SHUTDOWN_SECONDS),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


@contextmanager
def running_server(
    name: str,
    target: str,
    *,
    workers: int,
    env: dict[str, str],
    cwd: Path,
    health_path: str,
    cpus: frozenset[int] | None,
) -> Iterator[Server]:
    """Run uvicorn in its own process group until the block ends; `cwd` is a scratch directory,
    so no `.env` file of the checkout is read."""
    port = free_port()
    log = cwd / f"{name.replace(' ', '-').replace('/', '')}-{port}.log"
    with log.open("wb") as output:  # the child keeps its own descriptor
        process = subprocess.Popen(
            uvicorn_command(target, port, workers),
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    if cpus:
        os.sched_setaffinity(process.pid, cpus)  # workers forked later inherit it
    server = Server(name, port, workers, process, cpus, log)
    try:
        _wait_until_ready(server, health_path)
        yield server
    finally:
        stop(server)


def stop(server: Server) -> None:
    """SIGTERM to the server's process group (the one this module started), SIGKILL if it
    does not stop in time."""
    process = server.process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_SECONDS)


def _wait_until_ready(server: Server, path: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    with httpx.Client(base_url=server.url, timeout=2) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                tail = server.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{server.name} exited ({server.process.returncode}):\n{tail}")
            try:
                if client.get(path).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"{server.name} was not ready within {STARTUP_SECONDS:.0f} s")


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:  # field 5 of stat, the process group
                pids.append(int(entry.name))
    return pids


def database_cpu_seconds() -> float:
    """CPU time used so far by the PostgreSQL server's processes on this machine (0 without)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                name = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if name in ("postgres", "postmaster"):
                total += _cpu_seconds(int(entry.name))
    return total


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy since boot, all cores (Linux /proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def wait_until_idle(servers: list[Server], *, limit: float = 60.0) -> float:
    """Wait until the servers have finished the work a load run left queued (a login run leaves
    hashes in the thread pool): until they use under 5 % of a CPU over 0.3 s. Returns the wait."""
    if not Path("/proc/self/stat").exists():
        time.sleep(1.0)
        return 1.0
    start = time.monotonic()
    window = 0.3
    while time.monotonic() - start < limit:
        before = sum(s.cpu_seconds() for s in servers)
        time.sleep(window)
        if sum(s.cpu_seconds() for s in servers) - before < 0.05 * window:
            break
    return time.monotonic() - start


@contextmanager
def postgres_database(base_url: str, *, prefix: str = "taskapi_bench") -> Iterator[str]:
    """A fresh database on `base_url`'s server, dropped afterwards (with its connections)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def is_postgres(url: str | None) -> bool:
    return url is not None and url.startswith("postgresql")
