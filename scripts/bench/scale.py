"""`make bench-scale`: list latency at 1,000 tasks and at a million, on each database (issue #20).

For each database (SQLite in a temporary directory, then PostgreSQL, in fresh databases dropped
afterwards, when BENCH_POSTGRES_URL's server answers) and each size, a fresh database migrated
to head, one user inserted with the app's password hasher, and its tasks written straight into
the database (scripts/bench/dataset.py: executemany on SQLite, COPY on PostgreSQL), then
ANALYZE. Then the real server on each (uvicorn app.main:app, one worker, production settings,
rate limits off) and, one request at a time over HTTP on 127.0.0.1, the median and p90 latency
of each list shape (SHAPES), the two sizes in turn, request by request, so that both share
whatever else the machine is doing. Prints the table with each shape's verdict against the
targets (at the big size, the median at most 2x the one at 1,000 tasks on every database, and
at most 5 ms on SQLite) and writes reports/bench-scale.json.

Every run is bounded: BENCH_SCALE_REQUESTS per shape and size or BENCH_SCALE_SHAPE_SECONDS (both
sizes), whichever comes first, and BENCH_SCALE_MAX_SECONDS in all (then what was measured is
reported).

Options (environment variables, or the flags of `python -m scripts.bench.scale --help`):
  BENCH_SCALE_TASKS=1000000 (the big size; the small one is 1,000)  BENCH_SCALE_REQUESTS=200
  BENCH_SCALE_SHAPE_SECONDS=40  BENCH_SCALE_MAX_SECONDS=3600
  BENCH_SCALE_DATABASES=sqlite,postgresql  BENCH_SCALE_OUTPUT=reports/bench-scale.json
  BENCH_APP=app.main:app
  BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test ('' for SQLite only)
"""

import argparse
import asyncio
import json
import resource
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import insert

from app.api.cursors import CursorCodec
from app.api.paging import list_scope
from app.core.config import Settings
from app.core.migrations import create_sync_engine, upgrade_to_head
from app.core.security import PasswordHasher
from app.domain.models import User
from app.repositories.tasks import TaskFilters, order_of, sort_key
from generated.models import TaskSort
from scripts.servers import (
    ROOT,
    Server,
    app_environment,
    busy_cpu_seconds,
    database_cpu_seconds,
    new_secret_key,
    postgres_database,
    running_server,
)

from .dataset import (
    COMMON_WORD,
    RARE_WORD,
    Dataset,
    RowProgress,
    load_postgres,
    load_sqlite,
)
from .harness import (
    DEFAULT_POSTGRES_URL,
    FOREIGN_CPU_WARNING,
    OutOfTime,
    Progress,
    env_or,
    minutes,
    postgres_answers,
    run_facts,
)

API = "/api/v1"
PER_PAGE = 20
SMALL_TASKS = 1_000
WALK_PAGES = 50
WARMUP_REQUESTS = 10
GROWTH_TARGET = 2.0  # the median at the big size over the median at 1,000 tasks
SQLITE_TARGET_MS = 5.0  # the median at the big size, on SQLite
DATABASES = ("sqlite", "postgresql")
LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
TIMEOUT = httpx.Timeout(60.0)
_USER = User.metadata.tables["user"]


@dataclass(frozen=True)
class Options:
    tasks: int
    requests: int
    shape_seconds: float
    max_seconds: int
    databases: tuple[str, ...]
    output: Path
    postgres_url: str | None
    app: str

    @classmethod
    def parse(cls, argv: list[str]) -> "Options":
        parser = argparse.ArgumentParser(
            prog="python -m scripts.bench.scale",
            description="List latency at 1,000 tasks and at a million (issue #20).",
        )
        add = parser.add_argument
        add("--tasks", type=int, default=int(env_or("BENCH_SCALE_TASKS", "1000000")))
        add("--requests", type=int, default=int(env_or("BENCH_SCALE_REQUESTS", "200")))
        add("--shape-seconds", type=float, default=float(env_or("BENCH_SCALE_SHAPE_SECONDS", "40")))
        add("--max-seconds", type=int, default=int(env_or("BENCH_SCALE_MAX_SECONDS", "3600")))
        add("--databases", default=env_or("BENCH_SCALE_DATABASES", ",".join(DATABASES)))
        add("--output", default=env_or("BENCH_SCALE_OUTPUT", "reports/bench-scale.json"))
        add("--postgres-url", default=env_or("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
        add("--app", default=env_or("BENCH_APP", "app.main:app"), help="the server under test")
        args = parser.parse_args(argv)
        databases = tuple(d.strip() for d in args.databases.split(",") if d.strip())
        if unknown := set(databases) - set(DATABASES):
            parser.error(f"unknown databases {sorted(unknown)}; choose from {list(DATABASES)}")
        if args.tasks < SMALL_TASKS or min(args.requests, args.shape_seconds) <= 0:
            parser.error(f"tasks must be at least {SMALL_TASKS:,}; requests and seconds positive")
        postgres = "postgresql" in databases and postgres_answers(args.postgres_url)
        return cls(
            tasks=args.tasks,
            requests=args.requests,
            shape_seconds=args.shape_seconds,
            max_seconds=args.max_seconds,
            databases=tuple(d for d in databases if d == "sqlite" or postgres),
            output=ROOT / args.output,
            postgres_url=args.postgres_url if postgres else None,
            app=args.app,
        )


@dataclass(frozen=True)
class Shape:
    key: str
    label: str


SHAPES = (
    Shape("first", f"first page (`per_page={PER_PAGE}`)"),
    Shape("middle", "a page in the middle (cursor)"),
    Shape("last", "the last page (cursor)"),
    Shape("walk", f"following the cursor {WALK_PAGES} pages deep (per page)"),
    Shape("filtered", "`status=todo&priority=high`"),
    Shape("rare", "`q=` a word in 1 task of 5,000"),
    Shape("common", "`q=` a word in a third of tasks"),
    Shape("title", "`sort=title`"),
    Shape("get", "GET by id"),
)


@dataclass
class Latency:
    """One shape's latencies (ms) on one database at one size."""

    samples: list[float] = field(default_factory=list)
    foreign_cpu: float = 0.0  # see ForeignCpu

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p90(self) -> float:
        if len(self.samples) < 2:
            return self.samples[0]
        return statistics.quantiles(self.samples, n=10, method="inclusive")[8]

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": len(self.samples),
            "median_ms": round(self.median, 3),
            "p90_ms": round(self.p90, 3),
            "max_ms": round(max(self.samples), 3),
            "foreign_cpu": round(self.foreign_cpu, 2),
        }


class ForeignCpu:
    """CPUs' worth of work by other processes (a shared machine) since it was made: the
    machine's busy time less this process's, the server's and PostgreSQL's."""

    def __init__(self, servers: list[Server]) -> None:
        self.servers = servers
        self.start = self._now()

    def _now(self) -> tuple[float, float, float]:
        own = resource.getrusage(resource.RUSAGE_SELF)
        ours = own.ru_utime + own.ru_stime + database_cpu_seconds()
        ours += sum(server.cpu_seconds() for server in self.servers)
        return time.monotonic(), busy_cpu_seconds(), ours

    def cpus(self) -> float:
        (start, busy, ours), (now, busy_now, ours_now) = self.start, self._now()
        return max(0.0, ((busy_now - busy) - (ours_now - ours)) / (now - start))


class ShapeFailed(RuntimeError):
    """A shape cannot be measured (an error status, or no next page): the others still are."""


class Client:
    """GETs one at a time on one keep-alive connection, each timed and checked."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=TIMEOUT)

    def log_in(self, email: str, password: str) -> None:
        response = self.http.post(f"{API}/auth/login", json={"email": email, "password": password})
        if response.status_code != 200:
            raise RuntimeError(f"login failed ({response.status_code}): {response.text[:300]}")
        self.http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def get(self, path: str) -> tuple[float, Any]:
        """The latency in ms and the JSON body of GET `path`, which must answer 200."""
        start = time.perf_counter()
        response = self.http.get(path)
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            raise ShapeFailed(f"GET {path}: {response.status_code}: {response.text[:300]}")
        return elapsed, response.json()


def _list(**query: str) -> str:
    parameters = {"per_page": str(PER_PAGE), **query}
    return f"{API}/tasks?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in parameters.items())


class SizeRun:
    """One database at one size: its seeding, its server, and what was measured on it."""

    def __init__(self, bench: "ScaleBench", database: str, url: str, count: int) -> None:
        self.bench = bench
        self.database = database
        self.url = url
        self.dataset = Dataset(uuid.uuid4(), count)
        self.email = "bench-scale@example.com"
        self.password = secrets.token_urlsafe(18)
        self.problems: list[str] = []
        self.results: dict[str, Latency] = {}
        self.seed_seconds = 0.0

    @property
    def name(self) -> str:
        return f"{LABELS[self.database]} {size_label(self.dataset.count)}"

    def seed(self) -> None:
        """Migrations, the user, the tasks (with a progress line) and the planner statistics."""
        settings = Settings(_env_file=None, DATABASE_URL=self.url, SECRET_KEY=self.bench.secret_key)
        upgrade_to_head(settings)
        hashed = asyncio.run(PasswordHasher(settings).hash(self.password))
        user = User(id=self.dataset.owner_id, email=self.email, hashed_password=hashed)
        engine = create_sync_engine(settings)
        try:
            with engine.begin() as connection:
                connection.execute(insert(_USER).values(user.model_dump()))
            progress = RowProgress(f"seeding {self.name}", self.dataset.count)
            if self.database == "sqlite":
                load_sqlite(engine, self.dataset, progress)
            else:
                load_postgres(self.url, self.dataset, progress)
        finally:
            engine.dispose()
        self.seed_seconds = progress.seconds
        self.bench.progress.say(
            f"{self.name}: seeded in {self.seed_seconds:.1f} s "
            f"({self.dataset.count / self.seed_seconds:,.0f} tasks/s, with ANALYZE)"
        )

    @contextmanager
    def client(self) -> Iterator[tuple[Server, Client]]:
        """The server on this database, and a client logged in as the user."""
        bench = self.bench
        env = app_environment(self.url, bench.secret_key, rate_limits=False)
        with running_server(
            f"task API {self.name}", bench.options.app, workers=1, env=env, cwd=bench.scratch,
            health_path=f"{API}/health", cpus=None,
        ) as server:  # fmt: skip
            client = Client(server.url)
            try:
                client.log_in(self.email, self.password)
                yield server, client
            finally:
                client.http.close()

    def requests(self, key: str, client: Client) -> Callable[[], list[float]]:
        """A function making one sample of the shape `key` (a whole walk for `walk`), whose
        first call also checks what the server answered."""
        count = self.dataset.count
        rare = len(self.dataset.rare_indexes())
        if key == "walk":
            return lambda: self._walk(client)
        if key == "get":
            task = self.dataset.record(count // 2)
            return self._fixed(
                client, f"{API}/tasks/{task.id}", lambda body: body["id"] == str(task.id)
            )
        paths_and_checks: dict[str, tuple[str, Callable[[Any], bool]]] = {
            "first": (_list(), _full_page),
            # The page after the task in the middle (the newest task has the last index).
            "middle": (_list(cursor=self._cursor_after(count // 2)), _full_page),
            # The page after the task of index PER_PAGE: the oldest PER_PAGE tasks.
            "last": (
                _list(cursor=self._cursor_after(PER_PAGE)),
                lambda body: _full_page(body) and body["next_cursor"] is None,
            ),
            "filtered": (
                _list(status="todo", priority="high"),
                lambda body: (
                    _full_page(body)
                    and all(
                        t["status"] == "todo" and t["priority"] == "high" for t in body["tasks"]
                    )
                ),
            ),
            "rare": (
                _list(q=RARE_WORD),
                lambda body: (
                    len(body["tasks"]) == min(rare, PER_PAGE)
                    and all(RARE_WORD in t["title"].lower() for t in body["tasks"])
                ),
            ),
            "common": (
                _list(q=COMMON_WORD),
                lambda body: (
                    _full_page(body)
                    and all(COMMON_WORD in t["title"].lower() for t in body["tasks"])
                ),
            ),
            # The order is the database's collation: not checked here.
            "title": (_list(sort="title"), _full_page),
        }
        path, check = paths_and_checks[key]
        return self._fixed(client, path, check)

    def _fixed(
        self, client: Client, path: str, check: Callable[[Any], bool]
    ) -> Callable[[], list[float]]:
        checked = False

        def request() -> list[float]:
            nonlocal checked
            elapsed, body = client.get(path)
            if not checked:
                checked = True
                if not _holds(check, body):
                    self.problem(f"GET {path}: unexpected answer: {json.dumps(body)[:300]}")
            return [elapsed]

        return request

    def _walk(self, client: Client) -> list[float]:
        """The latencies of the first WALK_PAGES pages, each by the `next_cursor` of the page
        before it (1,000 tasks are 50 pages: the walk reaches the end of the small list)."""
        elapsed, body = client.get(_list())
        latencies = [elapsed]
        for page in range(1, WALK_PAGES):
            cursor = body.get("next_cursor")
            if cursor is None:
                raise ShapeFailed(f"no next_cursor on page {page}: {json.dumps(body)[:300]}")
            elapsed, body = client.get(_list(cursor=cursor))
            latencies.append(elapsed)
        return latencies

    def _cursor_after(self, index: int) -> str:
        """The cursor of the default list's page after task number `index`, as the server
        (app/api/routes/tasks.py) makes it."""
        sort = TaskSort.created_at_desc
        scope = list_scope("tasks", self.dataset.owner_id, TaskFilters(), sort.value)
        key = sort_key(sort, self.dataset.record(index))
        return CursorCodec(self.bench.secret_key).encode(scope, order_of(sort).dump(key))

    def problem(self, message: str) -> None:
        if message not in self.problems:
            self.problems.append(message)
            self.bench.progress.say(f"{self.name}: PROBLEM: {message}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "tasks": self.dataset.count,
            "seed_seconds": round(self.seed_seconds, 1),
            "shapes": {key: stats.as_dict() for key, stats in self.results.items()},
            "problems": self.problems,
        }


def _holds(check: Callable[[Any], bool], body: Any) -> bool:
    try:
        return check(body)
    except (KeyError, TypeError, AttributeError):  # not the shape the contract says
        return False


def _full_page(body: Any) -> bool:
    return len(body["tasks"]) == PER_PAGE


def size_label(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:g}M"
    return f"{count / 1_000:g}k"


class ScaleBench:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.secret_key = new_secret_key()
        self.scratch = Path(tempfile.mkdtemp(prefix="taskapi-bench-scale-"))
        self.progress = Progress(0.0, options.max_seconds)
        self.runs: dict[str, list[SizeRun]] = {}

    @contextmanager
    def database(self, database: str, count: int) -> Iterator[str]:
        """The URL of a fresh, empty database, removed afterwards."""
        if database == "sqlite":
            directory = self.scratch / f"sqlite-{count}"
            directory.mkdir()
            try:
                yield f"sqlite:///{directory}/bench.db"
            finally:
                shutil.rmtree(directory, ignore_errors=True)
        else:
            assert self.options.postgres_url is not None
            with postgres_database(self.options.postgres_url, prefix="taskapi_scale") as url:
                yield url

    def measure(self, database: str) -> None:
        """Both sizes of `database`: seeded, served, and each shape measured on both in turn."""
        runs = self.runs[database] = []
        with ExitStack() as stack:
            for count in (SMALL_TASKS, self.options.tasks):
                url = stack.enter_context(self.database(database, count))
                runs.append(SizeRun(self, database, url, count))
                runs[-1].seed()
            served = [stack.enter_context(size_run.client()) for size_run in runs]
            for shape in SHAPES:
                self.progress.account(0)  # OutOfTime past BENCH_SCALE_MAX_SECONDS
                self.measure_shape(shape, runs, served)

    def measure_shape(
        self, shape: Shape, runs: list[SizeRun], served: list[tuple[Server, Client]]
    ) -> None:
        """Warm-up requests on each size, then one sample of each size in turn, until each has
        BENCH_SCALE_REQUESTS or the shape's seconds are spent. A size whose shape fails (an
        error status, no next page) leaves the others measured."""
        options = self.options
        requests: dict[int, Callable[[], list[float]]] = {}
        for i, (size_run, (_, client)) in enumerate(zip(runs, served, strict=True)):
            requests[i] = size_run.requests(shape.key, client)
        latencies = {i: Latency() for i in requests}

        def sample(i: int, into: list[float]) -> None:
            try:
                into += requests[i]()
            except ShapeFailed as exc:
                runs[i].problem(f"{shape.label}: not measured: {exc}")
                del requests[i], latencies[i]

        for i in list(requests):
            warm: list[float] = []
            while i in requests and len(warm) < WARMUP_REQUESTS:
                sample(i, warm)
        foreign = ForeignCpu([server for server, _ in served])
        deadline = time.monotonic() + options.shape_seconds
        while time.monotonic() < deadline and any(
            len(latency.samples) < options.requests for latency in latencies.values()
        ):
            for i in list(requests):
                sample(i, latencies[i].samples)
        cpus = foreign.cpus()
        for i, latency in latencies.items():
            latency.foreign_cpu = cpus
            runs[i].results[shape.key] = latency
        measured = ", ".join(
            f"{size_label(runs[i].dataset.count)} {latency.median:.2f} ms "
            f"(p90 {latency.p90:.2f}, {len(latency.samples)} requests)"
            for i, latency in latencies.items()
        )
        flag = f"  !! other processes used {cpus:.1f} CPU" if cpus > FOREIGN_CPU_WARNING else ""
        self.progress.say(f"{LABELS[runs[0].database]}: {shape.label}: {measured}{flag}")

    def run(self) -> dict[str, Any]:
        o = self.options
        self.progress.say(
            f"{', '.join(LABELS[d] for d in o.databases)}; {SMALL_TASKS:,} and {o.tasks:,} tasks; "
            f"{o.requests} requests per size or {o.shape_seconds:g} s per shape, one at a time"
        )
        result: dict[str, Any] = {"meta": self.meta()}
        try:
            for database in o.databases:
                self.measure(database)
        except (OutOfTime, RuntimeError, httpx.HTTPError) as exc:
            # Reported with what was measured before it (a server that failed or went away).
            result["incomplete"] = str(exc)
            self.progress.say(f"stopped early: {exc}")
        result["databases"] = {d: [r.as_dict() for r in runs] for d, runs in self.runs.items()}
        result["verdicts"] = self.verdicts()
        result["meta"]["elapsed_seconds"] = round(self.progress.elapsed(), 1)
        return result

    def _pair(self, database: str, key: str) -> tuple[Latency, Latency] | None:
        runs = self.runs.get(database, [])
        if len(runs) == 2 and all(key in r.results for r in runs):
            return runs[0].results[key], runs[1].results[key]
        return None

    def verdicts(self) -> dict[str, dict[str, Any]]:
        """Per shape: PASS when every database measured at both sizes meets the targets."""
        out = {}
        for shape in SHAPES:
            misses = []
            measured = False
            for database in self.options.databases:
                pair = self._pair(database, shape.key)
                if pair is None:
                    continue
                measured = True
                small, big = pair
                growth = big.median / small.median
                if growth > GROWTH_TARGET:
                    misses.append(f"{LABELS[database]} {growth:.1f}x > {GROWTH_TARGET:g}x")
                if database == "sqlite" and big.median > SQLITE_TARGET_MS:
                    misses.append(f"SQLite {big.median:.1f} ms > {SQLITE_TARGET_MS:g} ms")
            result = ("MISS" if misses else "PASS") if measured else "not measured"
            out[shape.key] = {"shape": shape.label, "result": result, "misses": misses}
        return out

    def table(self, verdicts: dict[str, dict[str, Any]]) -> list[str]:
        big = size_label(self.options.tasks)
        small = size_label(SMALL_TASKS)
        header = ["list shape"]
        for database in self.options.databases:
            label = LABELS[database]
            header += [f"{label} {small}", f"{label} {big}", "growth"]
        header.append("result")
        lines = [
            "| " + " | ".join(header) + " |",
            "|---|" + "--:|" * (len(header) - 2) + "---|",
        ]
        for shape in SHAPES:
            cells = [shape.label]
            for database in self.options.databases:
                runs = self.runs.get(database, [])
                for index in range(2):
                    stats = runs[index].results.get(shape.key) if index < len(runs) else None
                    cells.append(f"{stats.median:.2f} ({stats.p90:.2f})" if stats else "-")
                pair = self._pair(database, shape.key)
                cells.append(f"{pair[1].median / pair[0].median:.1f}x" if pair else "-")
            verdict = verdicts[shape.key]
            misses = f": {'; '.join(verdict['misses'])}" if verdict["misses"] else ""
            cells.append(verdict["result"] + misses)
            lines.append("| " + " | ".join(cells) + " |")
        return lines

    def report(self, result: dict[str, Any]) -> str:
        lines = [
            "",
            f"median (p90) ms, one request at a time, {self.options.app}, 1 worker; targets: "
            f"median at {size_label(self.options.tasks)} <= {GROWTH_TARGET:g}x the median at "
            f"{size_label(SMALL_TASKS)}, and <= {SQLITE_TARGET_MS:g} ms on SQLite",
            *self.table(result["verdicts"]),
        ]
        for runs in self.runs.values():
            for size_run in runs:
                lines.append(f"seeding {size_run.name}: {size_run.seed_seconds:.1f} s")
                lines += [f"PROBLEM {size_run.name}: {p}" for p in size_run.problems]
        foreign = max(
            (
                s.foreign_cpu
                for runs in self.runs.values()
                for r in runs
                for s in r.results.values()
            ),
            default=0.0,
        )
        if foreign > FOREIGN_CPU_WARNING:
            lines.append(
                f"WARNING: other processes used up to {foreign:.1f} CPU while shapes were "
                "measured (foreign_cpu in the JSON): those medians are suspect."
            )
        if "incomplete" in result:
            lines.append(f"INCOMPLETE: {result['incomplete']}")
        return "\n".join(lines)

    def meta(self) -> dict[str, Any]:
        o = self.options
        return {
            **run_facts(),
            "app": o.app,
            "sizes": [SMALL_TASKS, o.tasks],
            "per_page": PER_PAGE,
            "requests_per_shape": o.requests,
            "shape_seconds": o.shape_seconds,
            "warmup_requests": WARMUP_REQUESTS,
            "targets": {"growth": GROWTH_TARGET, "sqlite_median_ms": SQLITE_TARGET_MS},
        }


def main(argv: list[str]) -> int:
    options = Options.parse(argv)
    # SIGTERM unwinds like Ctrl-C, so the server is stopped and the databases dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench = ScaleBench(options)
    try:
        result = bench.run()
    finally:
        shutil.rmtree(bench.scratch, ignore_errors=True)
    print(bench.report(result), flush=True)
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {options.output} in {minutes(bench.progress.elapsed())}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
