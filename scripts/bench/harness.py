"""`make bench`: throughput and latency of the task API against a bare FastAPI /ping, same run.

For each database (SQLite in a temporary directory, then PostgreSQL, in a fresh database that is
dropped afterwards, when BENCH_POSTGRES_URL's server answers) it starts the real server (uvicorn
app.main:app, one worker, production settings) and the bare /ping app with the same uvicorn flags,
seeds users and tasks through the API, and drives both with wrk (or the Python client) on
127.0.0.1, alternating /ping and each endpoint for several rounds. Then the GET endpoint again
with 1, 2 and 4 workers, and with rate limiting as shipped (on, in-process budgets, the
sliding-window counter, whose cost does not depend on the budget; budgets lifted so that none is
reached) against the same server with limits off. Prints the tables with PASS/MISS against
each database's targets (scripts/bench/report.py) and writes reports/bench.json. Nothing here
is asserted by the test suite.

Every run is bounded (duration, then a hard timeout) and every request goes to 127.0.0.1. Login
runs last at least 10 s (production argon2id makes 32 concurrent logins take seconds), and after
each run the harness waits until the servers are idle, so that queued hashing never spills into
the next /ping. Each run also records how much CPU *other* processes used (a shared machine):
above 0.2 CPU the line and the table carry a warning. BENCH_PIN=1 pins the servers to the first
CPU and the load generator to the second (the default, auto, pins only on 4 CPUs or more: on 2,
the server's threads would lose the second CPU and other people's load lands on the pinned one).

Options (environment variables, or the flags of `python -m scripts.bench --help`):
  BENCH_DURATION=5  BENCH_ROUNDS=3  BENCH_CONNECTIONS=32  BENCH_WARMUP=2  BENCH_WORKERS=1,2,4
  BENCH_SCALE_ROUNDS=1  BENCH_TASKS=200  BENCH_BULK_TASKS=5000
  BENCH_ENDPOINTS=floor,get,get_cold,list,list_5000,create,patch,login
  BENCH_LOADGEN=auto|wrk|python  BENCH_WRK_THREADS=1  BENCH_PIN=auto|0|1  BENCH_RATE_LIMITS=0|1
  BENCH_OUTPUT=reports/bench.json  BENCH_MAX_SECONDS=2700
  BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test ('' for SQLite only)
  BENCH_APP=app.main:app (any ASGI app path that serves the same API)
"""

import argparse
import json
import os
import platform
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import make_url

from scripts.servers import (
    GRACEFUL_SHUTDOWN_SECONDS,
    HTTP_PROTOCOL,
    ROOT,
    Server,
    app_environment,
    busy_cpu_seconds,
    database_cpu_seconds,
    is_postgres,
    new_secret_key,
    postgres_database,
    running_server,
    wait_until_idle,
)

from . import seed as seeding
from .loadgen import Load, LoadGenerator, Result, choose
from .report import (
    ENDPOINTS,
    GET,
    PING,
    TAIL_FACTOR,
    Endpoint,
    LimiterRow,
    Pair,
    ScalingRow,
    Series,
    endpoint_table,
    limiter_table,
    scaling_table,
)

API = "/api/v1"
CREATE_BODY = json.dumps(
    {"title": "Benchmark task", "description": "Created under load.", "priority": "high"},
    separators=(",", ":"),
)
LOGIN_MIN_SECONDS = 10  # 32 concurrent argon2id hashes take seconds before the first answers
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
FOREIGN_CPU_WARNING = 0.2  # CPUs used by other processes during a run
PATCH_BODY = json.dumps({"status": "in_progress"}, separators=(",", ":"))


def env_or(name: str, default: str) -> str:
    return os.environ.get(name, default)


def run_facts() -> dict[str, Any]:
    """When, on what commit and on what machine a benchmark ran (the start of its JSON)."""
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit or None,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


@dataclass(frozen=True)
class Options:
    duration: int
    rounds: int
    connections: int
    warmup: int
    workers: tuple[int, ...]
    scale_rounds: int
    tasks: int
    bulk_tasks: int
    endpoints: tuple[str, ...]
    loadgen: str
    wrk_threads: int
    pin: str
    rate_limits: bool
    output: Path
    max_seconds: int
    postgres_url: str | None
    app: str

    @classmethod
    def parse(cls, argv: list[str]) -> "Options":
        parser = argparse.ArgumentParser(
            prog="python -m scripts.bench",
            description="Benchmark the task API against a bare FastAPI /ping (issue #8).",
        )
        add = parser.add_argument
        add("--duration", type=int, default=int(env_or("BENCH_DURATION", "5")), help="s per run")
        add("--rounds", type=int, default=int(env_or("BENCH_ROUNDS", "3")))
        add("--connections", type=int, default=int(env_or("BENCH_CONNECTIONS", "32")))
        add("--warmup", type=int, default=int(env_or("BENCH_WARMUP", "2")), help="s, 0 for none")
        add("--workers", default=env_or("BENCH_WORKERS", "1,2,4"), help="'' to skip scaling")
        add("--scale-rounds", type=int, default=int(env_or("BENCH_SCALE_ROUNDS", "1")))
        add("--tasks", type=int, default=int(env_or("BENCH_TASKS", "200")), help="reader's tasks")
        add("--bulk-tasks", type=int, default=int(env_or("BENCH_BULK_TASKS", "5000")))
        add("--endpoints", default=env_or("BENCH_ENDPOINTS", ",".join(e.key for e in ENDPOINTS)))
        add("--loadgen", choices=("auto", "wrk", "python"), default=env_or("BENCH_LOADGEN", "auto"))
        add("--wrk-threads", type=int, default=int(env_or("BENCH_WRK_THREADS", "1")))
        add("--pin", choices=("auto", "0", "1"), default=env_or("BENCH_PIN", "auto"))
        add("--rate-limits", choices=("0", "1"), default=env_or("BENCH_RATE_LIMITS", "0"))
        add("--output", default=env_or("BENCH_OUTPUT", "reports/bench.json"))
        add("--max-seconds", type=int, default=int(env_or("BENCH_MAX_SECONDS", "2700")))
        add("--postgres-url", default=env_or("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
        add("--app", default=env_or("BENCH_APP", "app.main:app"), help="the server under test")
        args = parser.parse_args(argv)
        known = {e.key for e in ENDPOINTS}
        endpoints = tuple(k.strip() for k in args.endpoints.split(",") if k.strip())
        if unknown := set(endpoints) - known:
            parser.error(f"unknown endpoints {sorted(unknown)}; choose from {sorted(known)}")
        if min(args.duration, args.rounds, args.connections) < 1 or args.warmup < 0:
            parser.error("duration, rounds and connections must be positive")
        return cls(
            duration=args.duration,
            rounds=args.rounds,
            connections=args.connections,
            warmup=args.warmup,
            workers=tuple(int(w) for w in args.workers.split(",") if w.strip()),
            scale_rounds=max(1, args.scale_rounds),
            tasks=max(1, args.tasks),
            bulk_tasks=max(20, args.bulk_tasks),
            endpoints=endpoints,
            loadgen=args.loadgen,
            wrk_threads=max(1, args.wrk_threads),
            pin=args.pin,
            rate_limits=args.rate_limits == "1",
            output=ROOT / args.output,
            max_seconds=args.max_seconds,
            postgres_url=args.postgres_url if postgres_answers(args.postgres_url) else None,
            app=args.app,
        )


def postgres_answers(url: str) -> bool:
    """Whether a PostgreSQL server listens where `url` says (the default one may not exist)."""
    if not is_postgres(url):
        return False
    parsed = make_url(url)
    try:
        socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 5432), 2).close()
    except OSError:
        print(
            f"PostgreSQL at {parsed.host}:{parsed.port} does not answer: SQLite only",
            file=sys.stderr,
        )
        return False
    return True


def load_for(key: str, app: Server, fixture: seeding.Fixture) -> Load:
    """The requests of one endpoint (`ping` is the bare app's), for this run's users."""
    reader, writer = fixture.reader, fixture.writer
    if key == "ping":
        return Load("GET", ("/ping",))
    if key == "floor":
        paths = tuple(f"/floor/{i}" for i in fixture.read_task_ids)
        return Load("GET", paths, token=reader.access_token)
    if key == "get":
        return Load("GET", (f"{API}/tasks/{fixture.read_task_ids[0]}",), token=reader.access_token)
    if key == "get_cold":
        ids = random.Random(1).sample(fixture.bulk_task_ids, len(fixture.bulk_task_ids))
        return Load("GET", tuple(f"{API}/tasks/{i}" for i in ids), token=fixture.bulk.access_token)
    if key == "list":
        return Load("GET", (f"{API}/tasks?per_page=20",), token=reader.access_token)
    if key == "list_5000":
        paths = tuple(fixture.bulk_page_paths)
        return Load("GET", paths, token=fixture.bulk.access_token, random_order=True)
    if key == "create":
        return Load("POST", (f"{API}/tasks",), token=writer.access_token, body=CREATE_BODY)
    if key == "patch":
        # Fetched before every run: each request must carry the version the server has now.
        tasks = tuple(seeding.current_etags(app.url, fixture))
        first = f"{API}/tasks/{tasks[0][0]}"
        return Load(
            "PATCH", (first,), token=writer.access_token, body=PATCH_BODY, patch_tasks=tasks
        )
    if key == "login":
        body = json.dumps({"email": reader.email, "password": reader.password})
        return Load("POST", (f"{API}/auth/login",), body=body)
    raise ValueError(key)


class OutOfTime(Exception):
    """BENCH_MAX_SECONDS is spent: report what was measured."""


class Progress:
    """Timestamped lines on stderr, with an estimate of the time left."""

    def __init__(self, planned_seconds: float, max_seconds: int) -> None:
        self.start = time.monotonic()
        self.planned = planned_seconds
        self.spent_planned = 0.0
        self.max_seconds = max_seconds

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def say(self, message: str) -> None:
        elapsed = self.elapsed()
        left = max(0.0, self.planned - self.spent_planned)
        # Scale the plan by how much slower than planned (startups, idle waits) it has gone.
        factor = elapsed / self.spent_planned if self.spent_planned > 30 else 1.3
        eta = f", ~{minutes(left * factor)} left" if left else ""
        print(f"[{minutes(elapsed)}{eta}] {message}", file=sys.stderr, flush=True)

    def account(self, seconds: float) -> None:
        self.spent_planned += seconds
        if self.elapsed() > self.max_seconds:
            raise OutOfTime(f"BENCH_MAX_SECONDS={self.max_seconds} reached")


def minutes(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"


class Bench:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.generator: LoadGenerator = choose(options.loadgen, options.wrk_threads)
        self.secret_key = new_secret_key()
        self.scratch = Path(tempfile.mkdtemp(prefix="taskapi-bench-"))
        cpus = sorted(os.sched_getaffinity(0))
        # auto: pin only where the server and the load generator can each have a CPU and some
        # are left for the server's threads (the thread pool) and everything else.
        pin = options.pin == "1" or (options.pin == "auto" and len(cpus) >= 4)
        self.server_cpus = frozenset(cpus[:1]) if pin else None
        self.load_cpus = frozenset(cpus[1:2]) if pin else None
        self.endpoints = [e for e in ENDPOINTS if e.key in options.endpoints]
        self.progress = Progress(self._planned_seconds(), options.max_seconds)

    def _planned_seconds(self) -> float:
        o = self.options
        per_backend = o.warmup * (1 + len(self.endpoints) - ("login" in o.endpoints))
        per_backend += o.rounds * 2 * len(self.endpoints) * o.duration
        if "login" in o.endpoints:
            per_backend += (o.rounds + 1) * max(0, LOGIN_MIN_SECONDS - o.duration)
        per_backend += len(o.workers) * (2 * o.warmup + o.scale_rounds * 2 * o.duration)
        per_backend += 2 * o.warmup + o.rounds * 2 * o.duration  # the limiter's cost
        return per_backend * (2 if o.postgres_url else 1)

    # -- servers -----------------------------------------------------------------------------

    @contextmanager
    def servers(
        self, database_url: str, workers: int, cpus: frozenset[int] | None, *, floor: bool = False
    ) -> Iterator[tuple[Server, Server, Server | None]]:
        """The task API and the bare /ping app; with `floor`, also scripts/bench/floor_app.py
        (started after the task API, which has migrated the database by then)."""
        env = app_environment(database_url, self.secret_key, rate_limits=self.options.rate_limits)
        with ExitStack() as stack:
            app = stack.enter_context(
                running_server(
                    "task API", self.options.app, workers=workers, env=env, cwd=self.scratch,
                    health_path=f"{API}/health", cpus=cpus,
                )
            )  # fmt: skip
            ping = stack.enter_context(
                running_server(
                    "bare /ping app", "scripts.bench.ping_app:app", workers=workers,
                    env=env, cwd=self.scratch, health_path="/ping", cpus=cpus,
                )
            )  # fmt: skip
            floor_app = None
            if floor:
                floor_app = stack.enter_context(
                    running_server(
                        "floor app", "scripts.bench.floor_app:app", workers=workers, env=env,
                        cwd=self.scratch, health_path=f"{API}/health", cpus=cpus,
                    )
                )  # fmt: skip
            yield app, ping, floor_app

    # -- loads -------------------------------------------------------------------------------

    def drive(
        self,
        server: Server,
        load: Load,
        seconds: int,
        idle: list[Server],
        cpus: frozenset[int] | None,
    ) -> Result:
        def ours() -> float:  # servers, finished children (the load generator) and this process
            own = resource.getrusage(resource.RUSAGE_SELF)
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            used = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
            return used + sum(s.cpu_seconds() for s in idle)

        busy, mine, start = busy_cpu_seconds(), ours(), time.monotonic()
        database = database_cpu_seconds()
        result = self.generator.run(
            server.port,
            load,
            seconds=seconds,
            connections=self.options.connections,
            cpus=cpus,
        )
        database = database_cpu_seconds() - database
        foreign = (busy_cpu_seconds() - busy) - (ours() - mine) - database
        elapsed = time.monotonic() - start
        result = replace(
            result, foreign_cpu=max(0.0, foreign / elapsed), database_cpu=database / elapsed
        )
        wait_until_idle(idle)
        self.progress.account(seconds)
        return result

    # -- the runs ----------------------------------------------------------------------------

    def backend(self, name: str, database_url: str) -> dict[str, Any]:
        o = self.options
        out: dict[str, Any] = {"database": name}
        floor = "floor" in o.endpoints
        with self.servers(database_url, 1, self.server_cpus, floor=floor) as (app, ping, floor_app):
            self.progress.say(f"{name}: servers up (1 worker each); seeding through the API")
            fixture = seeding.seed(
                app.url,
                read_tasks=o.tasks,
                bulk_tasks=o.bulk_tasks if {"get_cold", "list_5000"} & set(o.endpoints) else 0,
                patch_tasks=max(64, 2 * o.connections),
            )
            every = [s for s in (app, ping, floor_app) if s is not None]
            pinned = self.load_cpus
            by_key = {"ping": ping, "floor": floor_app}

            def run(key: str, seconds: int) -> Result:
                server = by_key.get(key) or app
                if key == "login":  # the first logins finish only after seconds of hashing
                    seconds = max(seconds, LOGIN_MIN_SECONDS)
                return self.drive(server, load_for(key, app, fixture), seconds, every, pinned)

            if o.warmup:
                self.progress.say(f"{name}: warm-up, {o.warmup} s per endpoint")
                for key in ["ping", *(e.key for e in self.endpoints if e.key != "login")]:
                    run(key, o.warmup)
            series = {e.key: Series(e, name) for e in self.endpoints}
            for number in range(1, o.rounds + 1):
                seeding.refresh_tokens(app.url, fixture)
                for endpoint in self.endpoints:
                    pair = Pair(
                        ping=run("ping", o.duration), endpoint=run(endpoint.key, o.duration)
                    )
                    series[endpoint.key].pairs.append(pair)
                    self._report_pair(f"{name} round {number}/{o.rounds}", endpoint, pair)
            out["endpoints"] = {key: s.as_dict() for key, s in series.items()}
            self._print_table(name, list(series.values()))
        if o.workers:
            rows = self.scaling(name, database_url, fixture)
            out["workers"] = [row.as_dict() for row in rows]
            print(
                "\n".join(["", f"{name}: GET /tasks/{{id}} by worker count", *scaling_table(rows)])
            )
        limiter = self.limiter_cost(name, database_url, fixture)
        out["rate_limiting"] = limiter.as_dict()
        print("\n".join(["", f"{name}: GET /tasks/{{id}}, rate limiting", *limiter_table(limiter)]))
        return out

    def limiter_cost(self, name: str, database_url: str, fixture: seeding.Fixture) -> LimiterRow:
        """GET /tasks/{id} on two servers of the same database, one worker each: rate limits
        off, then on as shipped (lifted budgets), A/B for BENCH_ROUNDS rounds."""
        o = self.options
        row = LimiterRow()
        servers = {}
        with ExitStack() as stack:
            for limited in (False, True):
                env = app_environment(database_url, self.secret_key, rate_limits=limited)
                servers[limited] = stack.enter_context(
                    running_server(
                        f"task API, rate limits {'on' if limited else 'off'}", o.app, workers=1,
                        env=env, cwd=self.scratch, health_path=f"{API}/health",
                        cpus=self.server_cpus,
                    )
                )  # fmt: skip
            seeding.refresh_tokens(servers[True].url, fixture)
            every = list(servers.values())
            self.progress.say(f"{name}: rate limits off and on, 1 worker each")

            def run(limited: bool, seconds: int) -> Result:
                load = load_for("get", servers[limited], fixture)
                return self.drive(servers[limited], load, seconds, every, self.load_cpus)

            if o.warmup:
                run(False, o.warmup)
                run(True, o.warmup)
            for number in range(1, o.rounds + 1):
                pair = Pair(ping=run(False, o.duration), endpoint=run(True, o.duration))
                row.pairs.append(pair)
                e, off = pair.endpoint, pair.ping
                self.progress.say(
                    f"{name} rate limits, round {number}/{o.rounds}: on {e.rps:,.0f} req/s, "
                    f"p99 {e.p99_ms:.1f} ms | off {off.rps:,.0f} req/s | ratio {pair.ratio:.3f}"
                )
        return row

    def scaling(self, name: str, database_url: str, fixture: seeding.Fixture) -> list[ScalingRow]:
        """The same database and users, GET /tasks/{id} with 1, 2, 4... workers (unpinned)."""
        o = self.options
        rows = []
        for workers in o.workers:
            row = ScalingRow(workers)
            with self.servers(database_url, workers, None) as (app, ping, _):
                seeding.refresh_tokens(app.url, fixture)
                self.progress.say(f"{name}: {workers} worker(s) each, not pinned")

                def run(key: str, seconds: int, app: Server = app, ping: Server = ping) -> Result:
                    server = ping if key == "ping" else app
                    load = load_for(key, app, fixture)
                    return self.drive(server, load, seconds, [app, ping], None)

                if o.warmup:
                    run("ping", o.warmup)
                    run("get", o.warmup)
                for number in range(1, o.scale_rounds + 1):
                    pair = Pair(ping=run("ping", o.duration), endpoint=run("get", o.duration))
                    row.pairs.append(pair)
                    label = f"{name} {workers} worker(s), round {number}/{o.scale_rounds}"
                    self._report_pair(label, GET, pair)
            rows.append(row)
        return rows

    def _report_pair(self, label: str, endpoint: Endpoint, pair: Pair) -> None:
        e, p = pair.endpoint, pair.ping
        flag = "" if e.valid and p.valid else "  !! errors (see JSON)"
        foreign = max(e.foreign_cpu, p.foreign_cpu)
        if foreign > FOREIGN_CPU_WARNING:
            flag += f"  !! other processes used {foreign:.1f} CPU"
        self.progress.say(
            f"{label}: {endpoint.label}: {e.rps:,.0f} req/s, p50 {e.p50_ms:.1f} ms, "
            f"p99 {e.p99_ms:.1f} ms | {PING.label}: {p.rps:,.0f} req/s | ratio {pair.ratio:.3f}"
            f"{flag}"
        )

    def _print_table(self, name: str, series: list[Series]) -> None:
        o = self.options
        pinning = (
            f"server on CPU {min(self.server_cpus)}, load generator on CPU "
            f"{min(self.load_cpus or {0})}"
            if self.server_cpus
            else "not pinned"
        )
        lines = [
            "",
            f"{name}, {o.app}, 1 worker, {o.connections} connections, median of {o.rounds} "
            f"rounds x {o.duration} s, {self.generator.name} ({pinning})",
            *endpoint_table(series),
            f"ratio = endpoint req/s / bare /ping req/s measured just before it (A/B), median "
            f"over rounds; tail = p99 < {TAIL_FACTOR:g} x p50.",
        ]
        lines += [f"note: {s.endpoint.label}: {s.endpoint.note}" for s in series if s.endpoint.note]
        foreign = max(
            (max(p.ping.foreign_cpu, p.endpoint.foreign_cpu) for s in series for p in s.pairs),
            default=0.0,
        )
        if foreign > FOREIGN_CPU_WARNING:
            lines.append(
                f"WARNING: other processes used up to {foreign:.1f} CPU during these runs; "
                "the numbers are not trustworthy (A/B pairs share the noise, ratios less so)."
            )
        print("\n".join(lines), flush=True)

    def run(self) -> dict[str, Any]:
        o = self.options
        self.progress.say(
            f"load generator: {self.generator.name}; {o.rounds} rounds x {o.duration} s, "
            f"{o.connections} connections; planned ~{minutes(self.progress.planned)} of load"
        )
        result: dict[str, Any] = {"meta": self.meta(), "backends": {}}
        backends: list[tuple[str, Callable[[], Any]]] = [("sqlite", self._sqlite)]
        if o.postgres_url:
            backends.append(("postgresql", self._postgres))
        try:
            for name, runner in backends:
                result["backends"][name] = runner()
        except OutOfTime as exc:
            result["incomplete"] = str(exc)
            self.progress.say(f"stopped early: {exc}")
        result["meta"]["elapsed_seconds"] = round(self.progress.elapsed(), 1)
        return result

    def _sqlite(self) -> dict[str, Any]:
        directory = self.scratch / "sqlite"
        directory.mkdir()
        return self.backend("sqlite", f"sqlite:///{directory}/bench.db")

    def _postgres(self) -> dict[str, Any]:
        assert self.options.postgres_url is not None
        with postgres_database(self.options.postgres_url) as url:
            return self.backend("postgresql", url)

    def meta(self) -> dict[str, Any]:
        o = self.options
        packages = [
            "fastapi", "starlette", "uvicorn", "uvloop", "httptools", "pydantic",
            "sqlalchemy", "asyncpg", "pyjwt", "argon2-cffi",
        ]  # fmt: skip
        versions: dict[str, str | None] = {}
        for package in packages:
            try:
                versions[package] = metadata.version(package)
            except metadata.PackageNotFoundError:
                versions[package] = None
        return {
            **run_facts(),
            "packages": versions,
            "app": o.app,
            "load_generator": self.generator.name,
            "server_cpus": sorted(self.server_cpus) if self.server_cpus else None,
            "load_cpus": sorted(self.load_cpus) if self.load_cpus else None,
            "duration_s": o.duration,
            "rounds": o.rounds,
            "connections": o.connections,
            "warmup_s": o.warmup,
            "workers": list(o.workers),
            "scale_rounds": o.scale_rounds,
            "seeded_tasks": o.tasks,
            "bulk_tasks": o.bulk_tasks,
            "settings": {
                "ENVIRONMENT": "production",
                "LOG_LEVEL": "WARNING",
                "rate limits": "huge limits" if o.rate_limits else "RATE_LIMIT_ENABLED=false",
                "rate limiting run": "shipped limiter (in memory), huge limits, vs off",
                "argon2": "production defaults (time_cost=3, memory 64 MiB)",
                "uvicorn": f"--loop auto --http {HTTP_PROTOCOL} --timeout-graceful-shutdown "
                f"{GRACEFUL_SHUTDOWN_SECONDS} --no-access-log --log-level warning",
            },
        }


def main(argv: list[str]) -> int:
    options = Options.parse(argv)
    # SIGTERM unwinds like Ctrl-C, so the servers are stopped and the databases dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench = Bench(options)
    try:
        result = bench.run()
    finally:
        shutil.rmtree(bench.scratch, ignore_errors=True)
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {options.output} in {minutes(bench.progress.elapsed())}")
    return 0
