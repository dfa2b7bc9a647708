"""Load generators: wrk when it is installed (`apt-get install wrk`), else the async Python client
in `pyload`. Both keep N connections busy for a fixed time and report requests, errors and
latency percentiles in the same shape."""

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from scripts.servers import HOST, ROOT

LUA_DIR = Path(__file__).resolve().parent / "lua"
WRK_TIMEOUT = "30s"  # login queues for seconds behind argon2; that is latency, not an error
MARGIN_SECONDS = 90  # a load run that overstays its duration by this much is killed


@dataclass(frozen=True)
class Load:
    """What to send. `paths` rotate, or with `random_order` each request takes one at random;
    with `patch_tasks` ((id, ETag) pairs) every request is a PATCH of a task with If-Match set
    to that task's current ETag."""

    method: str
    paths: tuple[str, ...]
    token: str | None = None
    body: str | None = None
    patch_tasks: tuple[tuple[str, str], ...] | None = None
    random_order: bool = False


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    errors: int  # socket errors and timeouts
    non_2xx_3xx: int
    starved: int = 0  # PATCH bookkeeping (see lua/patch.lua); must stay 0
    unmatched: int = 0
    # CPUs' worth of work by processes other than the servers and the load generator during the
    # run: other people's tests on a shared machine. Above ~0.2 the numbers are suspect.
    foreign_cpu: float = 0.0
    database_cpu: float = 0.0  # CPUs' worth used by the PostgreSQL server (not foreign)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def valid(self) -> bool:
        bad = self.errors + self.non_2xx_3xx + self.starved + self.unmatched
        return self.requests > 0 and bad == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "rps": round(self.rps, 1),
            "p50_ms": self.p50_ms,
            "p90_ms": self.p90_ms,
            "p99_ms": self.p99_ms,
            "mean_ms": self.mean_ms,
            "max_ms": self.max_ms,
            "errors": self.errors,
            "non_2xx_3xx": self.non_2xx_3xx,
            "starved": self.starved,
            "unmatched": self.unmatched,
            "foreign_cpu": round(self.foreign_cpu, 2),
            "database_cpu": round(self.database_cpu, 2),
            "valid": self.valid,
        }


def _result(raw: dict[str, Any]) -> Result:
    errors = sum(int(raw[k]) for k in ("connect_errors", "read_errors", "write_errors"))
    return Result(
        requests=int(raw["requests"]),
        seconds=int(raw["duration_us"]) / 1e6,
        p50_ms=round(int(raw["p50_us"]) / 1000, 3),
        p90_ms=round(int(raw["p90_us"]) / 1000, 3),
        p99_ms=round(int(raw["p99_us"]) / 1000, 3),
        mean_ms=round(float(raw["mean_us"]) / 1000, 3),
        max_ms=round(int(raw["max_us"]) / 1000, 3),
        errors=errors + int(raw["timeouts"]),
        non_2xx_3xx=int(raw["non_2xx_3xx"]),
        starved=int(raw.get("starved", 0)),
        unmatched=int(raw.get("unmatched", 0)),
    )


class LoadGenerator(Protocol):
    name: str

    def run(
        self, port: int, load: Load, *, seconds: int, connections: int, cpus: frozenset[int] | None
    ) -> Result: ...


def _pin(process: subprocess.Popen[bytes], cpus: frozenset[int] | None) -> None:
    if cpus:
        os.sched_setaffinity(process.pid, cpus)


def _communicate(process: subprocess.Popen[bytes], stdin: bytes | None, limit: float) -> bytes:
    try:
        out, err = process.communicate(stdin, timeout=limit)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise RuntimeError(f"the load generator overran its time ({limit:.0f} s)") from None
    if process.returncode != 0:
        raise RuntimeError(f"the load generator failed ({process.returncode}): {err.decode()}")
    return out


class Wrk:
    """wrk with the Lua scripts in lua/: requests are prepared once per thread (bench.lua), or
    built per request from a pool of tasks and their current ETags (patch.lua)."""

    def __init__(self, executable: str, threads: int) -> None:
        self.executable = executable
        self.threads = threads
        version = subprocess.run(
            [executable, "--version"], capture_output=True, text=True, check=False
        )
        first = (version.stdout + version.stderr).strip().splitlines()
        self.name = first[0].split(" [")[0] if first else "wrk"

    def run(
        self, port: int, load: Load, *, seconds: int, connections: int, cpus: frozenset[int] | None
    ) -> Result:
        threads = max(1, min(self.threads, connections))
        with tempfile.TemporaryDirectory(prefix="bench-wrk-") as scratch:
            env = {
                **os.environ,
                "BENCH_LUA_DIR": str(LUA_DIR),
                "BENCH_METHOD": load.method,
                "BENCH_TOKEN": load.token or "",
                "BENCH_BODY": load.body or "",
                "BENCH_THREADS": str(threads),
                "BENCH_ORDER": "random" if load.random_order else "rotate",
            }
            paths_file = Path(scratch) / "paths"
            paths_file.write_text("\n".join(load.paths) + "\n")
            env["BENCH_PATHS"] = str(paths_file)
            script = LUA_DIR / "bench.lua"
            if load.patch_tasks is not None:
                tasks_file = Path(scratch) / "tasks"
                tasks_file.write_text("".join(f"{i} {e}\n" for i, e in load.patch_tasks))
                env["BENCH_TASKS"] = str(tasks_file)
                script = LUA_DIR / "patch.lua"
            command = [
                self.executable, f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
                "--timeout", WRK_TIMEOUT, "-s", str(script),
                f"http://{HOST}:{port}{load.paths[0]}",
            ]  # fmt: skip
            process = subprocess.Popen(
                command, cwd=scratch, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            _pin(process, cpus)
            out = _communicate(process, None, seconds + MARGIN_SECONDS).decode()
        match = re.search(r"^BENCH_JSON (\{.*\})$", out, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"wrk printed no summary:\n{out}")
        return _result(json.loads(match.group(1)))


class PythonClient:
    """scripts/bench/pyload.py in its own process (so that it has a CPU of its own)."""

    name = "python asyncio client (scripts/bench/pyload.py)"

    def run(
        self, port: int, load: Load, *, seconds: int, connections: int, cpus: frozenset[int] | None
    ) -> Result:
        spec = {
            "port": port,
            "method": load.method,
            "paths": list(load.paths),
            "duration": seconds,
            "connections": connections,
            "token": load.token,
            "body": load.body,
            "patch_tasks": [list(t) for t in load.patch_tasks] if load.patch_tasks else None,
            "random_order": load.random_order,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "scripts.bench.pyload"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        _pin(process, cpus)
        out = _communicate(process, json.dumps(spec).encode(), seconds + MARGIN_SECONDS)
        return _result(json.loads(out))


def choose(kind: str, wrk_threads: int) -> LoadGenerator:
    """`auto` takes wrk when it is on PATH; `wrk` insists on it; `python` never uses it."""
    executable = shutil.which("wrk")
    if kind == "python" or (kind == "auto" and executable is None):
        return PythonClient()
    if executable is None:
        raise SystemExit("BENCH_LOADGEN=wrk but wrk is not installed (apt-get install wrk)")
    return Wrk(executable, wrk_threads)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0
