"""The fallback load generator when wrk is not installed: N keep-alive HTTP/1.1 connections on
asyncio (uvloop when it is installed), each sending its next request as soon as the previous
response is read, for a fixed time.

It speaks just enough HTTP for this API (Content-Length bodies, no chunking, no pipelining) so
that it stays cheap per request; it is still several times more expensive per request than wrk,
so on a small machine it can be the bottleneck for /ping (the harness says which generator ran).

Run by the harness as `python -m scripts.bench.pyload` with a JSON spec on standard input; prints
one JSON result on standard output (the same fields as the wrk scripts' summary line).
"""

import asyncio
import json
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

TIMEOUT_SECONDS = 30.0


@dataclass
class Spec:
    port: int
    method: str
    paths: list[str]
    duration: float
    connections: int
    token: str | None = None
    body: str | None = None
    # PATCH with If-Match: (task id, current ETag) pairs; connection i owns every task whose
    # index is i modulo the number of connections, so no task is ever in flight twice.
    patch_tasks: list[tuple[str, str]] | None = None
    patch_prefix: str = "/api/v1/tasks/"
    random_order: bool = False  # each request one of `paths` at random (else they rotate)


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    non_2xx_3xx: int = 0
    read_errors: int = 0
    connect_errors: int = 0
    timeouts: int = 0
    unmatched: int = 0


def _request(spec: Spec, method: str, path: str, extra: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{spec.port}"]
    if spec.token:
        lines.append(f"Authorization: Bearer {spec.token}")
    lines += [f"{name}: {value}" for name, value in extra.items()]
    body = (spec.body or "").encode()
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[bytes, bytes], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head[:-4].split(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    headers: dict[bytes, bytes] = {}
    for line in header_lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get(b"content-length", b"0"))
    body = await reader.readexactly(length) if length else b""
    return status, headers, body


async def _connection(index: int, spec: Spec, deadline: float, tally: Tally) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", spec.port)
    except OSError:
        tally.connect_errors += 1
        return
    owned: list[tuple[str, str]] = []
    if spec.patch_tasks is not None:
        owned = spec.patch_tasks[index :: spec.connections]
    prepared = [_request(spec, spec.method, path, {}) for path in spec.paths]
    pick = random.Random(index).randrange if spec.random_order else None
    turn = index
    try:
        while time.perf_counter() < deadline:
            if owned:
                task_id, etag = owned[turn % len(owned)]
                path = spec.patch_prefix + task_id
                data = _request(spec, "PATCH", path, {"If-Match": etag})
            else:
                data = prepared[pick(len(prepared)) if pick else turn % len(prepared)]
            start = time.perf_counter()
            writer.write(data)
            status, headers, _ = await asyncio.wait_for(_read_response(reader), TIMEOUT_SECONDS)
            tally.latencies.append(time.perf_counter() - start)
            if status >= 400:
                tally.non_2xx_3xx += 1
            if owned:
                new_etag = headers.get(b"etag")
                if new_etag is None:
                    tally.unmatched += 1
                else:
                    owned[turn % len(owned)] = (task_id, new_etag.decode("latin-1"))
            if headers.get(b"connection", b"").lower() == b"close":
                break
            turn += 1
    except TimeoutError:
        tally.timeouts += 1
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
        tally.read_errors += 1
    finally:
        writer.close()


def _percentile(sorted_values: list[float], percent: float) -> float:
    if not sorted_values:
        return 0.0
    rank = min(len(sorted_values) - 1, max(0, round(percent / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


async def run(spec: Spec) -> dict[str, Any]:
    tally = Tally()
    start = time.perf_counter()
    deadline = start + spec.duration
    workers = [_connection(i, spec, deadline, tally) for i in range(spec.connections)]
    await asyncio.wait_for(asyncio.gather(*workers), spec.duration + TIMEOUT_SECONDS + 5)
    elapsed = time.perf_counter() - start
    latencies = sorted(tally.latencies)
    mean = sum(latencies) / len(latencies) if latencies else 0.0
    return {
        "requests": len(latencies),
        "duration_us": int(elapsed * 1e6),
        "connect_errors": tally.connect_errors,
        "read_errors": tally.read_errors,
        "write_errors": 0,
        "timeouts": tally.timeouts,
        "non_2xx_3xx": tally.non_2xx_3xx,
        "p50_us": int(_percentile(latencies, 50) * 1e6),
        "p90_us": int(_percentile(latencies, 90) * 1e6),
        "p99_us": int(_percentile(latencies, 99) * 1e6),
        "mean_us": mean * 1e6,
        "max_us": int((latencies[-1] if latencies else 0.0) * 1e6),
        "starved": 0,
        "unmatched": tally.unmatched,
    }


def main() -> int:
    raw = json.load(sys.stdin)
    tasks = raw.pop("patch_tasks", None)
    spec = Spec(**raw, patch_tasks=[(t[0], t[1]) for t in tasks] if tasks else None)
    try:
        import uvloop  # optional, as it is for uvicorn
    except ImportError:
        result = asyncio.run(run(spec))
    else:
        result = uvloop.run(run(spec))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
