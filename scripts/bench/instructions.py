"""Instructions per request, counted by valgrind's callgrind, and their ratio to a bare FastAPI
/ping counted the same way.

    .venv/bin/python -m scripts.bench.instructions [--requests ping,get] [--low 50] [--high 250]

Wall-clock figures on this shared VM move by 2x between hours, which hides a 5 % change.
callgrind counts the instructions executed, the same from run to run whatever else the machine
does. Each kind of request (scripts/bench/inprocess.py) runs in a child process under
`valgrind --tool=callgrind`, twice: LOW and HIGH requests after the same warm-up;
(count(HIGH) - count(LOW)) / (HIGH - LOW) is one request, start-up excluded. An instruction is
not a fixed time (a request that misses the CPU's caches more costs more per instruction), so
this shows whether a change shortened the code path; `make bench` shows what that did to
throughput. Needs valgrind (every machine kind here has it); ~1 minute per run, two at a time.
Writes reports/instructions.json.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from scripts.servers import ROOT

KINDS = (
    "ping", "trivial_bare", "trivial", "authenticated",
    "get", "list", "create", "patch",
)  # fmt: skip
WARM_UP = 100
_COLLECTED = re.compile(rb"Collected : (\d+)")


async def _child(kind: str, count: int) -> None:
    from .inprocess import requests

    async with requests() as prepared:
        request = prepared.by_name[kind]
        for _ in range(WARM_UP + count):
            await request()


def _count(kind: str, requests: int, scratch: Path) -> int:
    """Instructions of a child process that makes `requests` requests of `kind`."""
    command = [
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={scratch}/{kind}.{requests}.out",
        sys.executable, "-m", "scripts.bench.instructions", "--child", kind, str(requests),
    ]  # fmt: skip
    # A fixed hash seed: dict and set layouts, and so the instructions, repeat from run to run.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False)
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        sys.exit(f"{kind}: valgrind failed:\n{done.stderr.decode(errors='replace')[-2000:]}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.instructions")
    parser.add_argument("--requests", default=",".join(KINDS), help="kinds, comma-separated")
    parser.add_argument("--low", type=int, default=50)
    parser.add_argument("--high", type=int, default=250)
    parser.add_argument("--output", default="reports/instructions.json")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import uvloop

        uvloop.run(_child(args.child[0], int(args.child[1])))
        return 0
    kinds = [k.strip() for k in args.requests.split(",") if k.strip()]
    if unknown := set(kinds) - set(KINDS):
        parser.error(f"unknown kinds {sorted(unknown)}; choose from {', '.join(KINDS)}")
    if "ping" not in kinds:
        kinds.insert(0, "ping")  # the baseline of every ratio
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not installed (apt-get install valgrind)")
    if args.high <= args.low:
        parser.error("--high must be above --low")

    start = time.monotonic()
    runs = [(kind, n) for kind in kinds for n in (args.low, args.high)]
    print(f"{len(runs)} runs under callgrind, two at a time (~1 min each)", flush=True)
    totals: dict[tuple[str, int], int] = {}
    with tempfile.TemporaryDirectory() as scratch, ThreadPoolExecutor(2) as pool:
        futures = {run: pool.submit(_count, *run, Path(scratch)) for run in runs}
        for (kind, n), future in futures.items():
            totals[kind, n] = future.result()
            elapsed = time.monotonic() - start
            print(f"[{elapsed:4.0f}s] {kind} x {n}: {totals[kind, n]:,} instructions", flush=True)

    per_request = {
        k: (totals[k, args.high] - totals[k, args.low]) / (args.high - args.low) for k in kinds
    }
    print("\n| request | instructions per request | ratio to /ping |\n|---|--:|--:|")
    for kind in kinds:
        print(
            f"| {kind} | {per_request[kind]:,.0f} | {per_request['ping'] / per_request[kind]:.3f} |"
        )
    output = ROOT / args.output
    output.parent.mkdir(parents=True, exist_ok=True)
    report = {"low": args.low, "high": args.high, "instructions_per_request": per_request}
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {output} in {time.monotonic() - start:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
