"""Profile the real server under load with py-spy, and say where the time goes.

    .venv/bin/python -m scripts.bench.profile [--endpoints get,create] [--seconds 20]

py-spy is not a project dependency: install it anywhere, e.g. in a throwaway venv
(`python3 -m venv /tmp/prof && /tmp/prof/bin/pip install py-spy`), and pass `--py-spy
/tmp/prof/bin/py-spy` (or put it on PATH). It attaches to the uvicorn process from outside, so the
server runs exactly as in `make bench` (one worker, production settings, SQLite in a temporary
directory), driven by wrk (or the Python client) with 32 connections.

By default py-spy samples only the thread holding the GIL (`--gil`): on this machine its idle
detection counts threads blocked in a queue as busy, and what limits one worker is the time the
interpreter is held. For each endpoint it writes reports/profile-<endpoint>.txt (py-spy's raw
collapsed stacks, for flamegraph.pl or speedscope) and reports/profile-<endpoint>.md, which ranks
the layers (each sample goes to the innermost frame that belongs to a known layer), the
operations of the request path (inclusive), and the hottest functions.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from scripts.servers import ROOT, app_environment, new_secret_key, running_server

from . import seed as seeding
from .harness import load_for
from .loadgen import choose

# (layer, path fragment): a frame belongs to the first layer whose fragment is in its file.
LAYERS: list[tuple[str, str]] = [
    ("app middleware (app/api/middleware)", "app/api/middleware/"),
    ("app code (routes, deps, services, repositories, problems)", "app/"),
    ("thread pool hand-off (anyio, starlette.concurrency, queue)", "anyio/"),
    ("thread pool hand-off (anyio, starlette.concurrency, queue)", "starlette/concurrency"),
    ("thread pool hand-off (anyio, starlette.concurrency, queue)", "queue.py"),
    ("threading (locks, conditions: waking threads)", "threading.py"),
    ("SQLAlchemy + SQLModel (ORM, Core, pool, greenlet bridge)", "sqlalchemy/"),
    ("SQLAlchemy + SQLModel (ORM, Core, pool, greenlet bridge)", "sqlmodel/"),
    ("pydantic (validation, serialisation)", "pydantic"),
    ("PyJWT", "jwt/"),
    ("FastAPI (routing, dependency solving, its middleware)", "fastapi/"),
    ("Starlette (requests, responses, CORS, exception middleware)", "starlette/"),
    ("uvicorn + httptools (HTTP parsing, transport)", "uvicorn/"),
    ("generated models", "generated/"),
    ("asyncio / uvloop (event loop, tasks, futures)", "asyncio/"),
    ("asyncio / uvloop (event loop, tasks, futures)", "uvloop/"),
    ("logging", "logging/"),
    ("uuid", "uuid.py"),
    ("enum", "enum.py"),
]
OTHER = "other (stdlib, contextlib, native)"

# (operation, frame fragment): samples whose stack contains the fragment (inclusive).
OPERATIONS: list[tuple[str, str]] = [
    ("token decode + rate limit (access_claims)", "access_claims (app/"),
    ("  token decode (TokenCodec.decode)", "TokenCodec.decode"),
    ("separate caller check (get_caller; /tasks checks in its statements)", "get_caller (app/"),
    ("task lookup with the token check", "get_if_token_current (app/"),
    ("task insert with the token check", "add_if_token_current (app/"),
    ("conditional update (update_if_current)", "update_if_current (app/"),
    ("list page (count with the token check + page)", "list_page_if_token_current (app/"),
    ("unit of work: begin/commit/close (Database.connection)", "connection (app/core/db.py"),
    ("body parsing (json_of)", "json_of (app/api/deps.py"),
    ("response building (_task_response / model_response)", "model_response (app/"),
    ("FastAPI solve_dependencies (incl. the dependencies)", "solve_dependencies (fastapi/"),
    ("sync dependencies run in the thread pool (run_in_threadpool)", "run_in_threadpool ("),
    ("SQLAlchemy statement compile / cache key", "_generate_cache_key"),
    ("ORM row -> object (loading.instances)", "instances (sqlalchemy/orm/loading.py"),
    ("request id, access log, headers (EnvelopeMiddleware)", "EnvelopeMiddleware.__call__"),
    ("CORS (CrossOriginMiddleware)", "CrossOriginMiddleware.__call__"),
    ("uvicorn response write (RequestResponseCycle.send)", "RequestResponseCycle.send"),
]


@dataclass
class Profile:
    samples: int
    layers: Counter[str]
    operations: Counter[str]
    functions: Counter[str]


def _layer(frame: str) -> str | None:
    location = frame.rsplit("(", 1)[-1]
    for name, fragment in LAYERS:
        if fragment in location:
            return name
    return None


def analyse(raw: Path) -> Profile:
    """Aggregate py-spy's collapsed stacks ("frame;frame;... count" per line)."""
    layers: Counter[str] = Counter()
    operations: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if frames:
            functions[frames[-1]] += count
        layer = next((name for f in reversed(frames) if (name := _layer(f))), OTHER)
        layers[layer] += count
        joined = ";".join(frames)
        for name, fragment in OPERATIONS:
            if fragment in joined:
                operations[name] += count
    return Profile(total, layers, operations, functions)


def render(title: str, profile: Profile, note: str) -> str:
    total = profile.samples or 1
    lines = [f"# {title}", "", note, "", f"{profile.samples} samples.", ""]
    lines += ["## Layers (each sample counted once, innermost known layer)", ""]
    lines += ["| share | layer |", "|--:|---|"]
    lines += [f"| {n / total:.1%} | {name} |" for name, n in profile.layers.most_common()]
    lines += ["", "## Operations of the request path (inclusive; they overlap)", ""]
    lines += [
        "SQLAlchemy runs the ORM in greenlets whose stacks py-spy does not link to the calling "
        "coroutine, so database work is under-counted here; the layers above count it.",
        "",
    ]
    lines += ["| share | operation |", "|--:|---|"]
    lines += [f"| {profile.operations[name] / total:.1%} | {name} |" for name, _ in OPERATIONS]
    lines += ["", "## Hottest functions (self)", "", "| share | function |", "|--:|---|"]
    lines += [f"| {n / total:.1%} | `{name}` |" for name, n in profile.functions.most_common(25)]
    return "\n".join(lines) + "\n"


def find_py_spy(given: str | None) -> str:
    found = given or shutil.which("py-spy")
    if not found or not Path(found).exists():
        raise SystemExit(
            "py-spy not found: python3 -m venv /tmp/prof && /tmp/prof/bin/pip install py-spy, "
            "then --py-spy /tmp/prof/bin/py-spy"
        )
    return found


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.profile")
    parser.add_argument("--endpoints", default="get,create")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rate", type=int, default=100, help="samples per second")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--py-spy", dest="py_spy", default=None)
    parser.add_argument("--all-threads", action="store_true", help="not only the GIL holder")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--output-dir", default="reports")
    args = parser.parse_args()
    py_spy = find_py_spy(args.py_spy)
    out_dir = ROOT / args.output_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    generator = choose(args.loadgen, 1)
    scratch = Path(tempfile.mkdtemp(prefix="taskapi-profile-"))
    env = app_environment(f"sqlite:///{scratch}/profile.db", new_secret_key(), rate_limits=False)
    try:
        with running_server(
            "task API", "app.main:app", workers=1, env=env, cwd=scratch,
            health_path="/api/v1/health", cpus=None,
        ) as app:  # fmt: skip
            fixture = seeding.seed(
                app.url, read_tasks=300, patch_tasks=max(64, 2 * args.connections)
            )
            for key in args.endpoints.split(","):
                key = key.strip()
                generator.run(  # warm-up
                    app.port, load_for(key, app, fixture), seconds=2,
                    connections=args.connections, cpus=None,
                )  # fmt: skip
                raw = out_dir / f"profile-{key}.txt"
                command = [
                    py_spy, "record", "--pid", str(app.process.pid), "--rate", str(args.rate),
                    "--duration", str(args.seconds), "--format", "raw", "--nonblocking",
                    "--output", str(raw),
                ]  # fmt: skip
                if not args.all_threads:
                    command.append("--gil")
                spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                time.sleep(0.5)
                result = generator.run(
                    app.port, load_for(key, app, fixture), seconds=args.seconds + 1,
                    connections=args.connections, cpus=None,
                )  # fmt: skip
                _, err = spy.communicate(timeout=args.seconds + 60)
                if spy.returncode != 0:
                    print(err.decode(), file=sys.stderr)
                    return 1
                behind = (
                    "; py-spy fell behind (a busy machine): shares still hold"
                    if "behind in sampling" in err.decode()
                    else ""
                )
                note = (
                    f"{generator.name}, {args.connections} connections, {args.seconds} s: "
                    f"{result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, p99 "
                    f"{result.p99_ms:.1f} ms (under the profiler). py-spy {args.rate} Hz, "
                    f"{'every thread' if args.all_threads else 'GIL holder only'}"
                    f"{behind}."
                )
                summary = render(f"Profile of {key} under load", analyse(raw), note)
                (out_dir / f"profile-{key}.md").write_text(summary)
                print(summary, flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
