"""Summaries of the rounds, the targets (PASS/MISS), the printed tables and the JSON."""

from dataclasses import dataclass, field
from typing import Any

from .loadgen import Result, median

# Median throughput relative to the bare /ping app, one worker, same run, by database.
RATIO_TARGETS = {
    "sqlite": {"get": 0.50, "get_cold": 0.50, "list": 0.30, "list_5000": 0.30, "create": 0.25},
    "postgresql": {"get": 0.35, "get_cold": 0.35, "list": 0.25, "create": 0.20},
}
# ... and the tail at the benchmark's concurrency: p99 below this many times the p50.
TAIL_FACTOR = 4.0


@dataclass(frozen=True)
class Endpoint:
    key: str
    label: str
    note: str = ""

    @property
    def tail_checked(self) -> bool:
        # Queueing behind argon2 is the point of login's cost; the floor is a reference.
        return self.key not in ("login", "floor")


PING = Endpoint("ping", "GET /ping (bare FastAPI)")
LOGIN_NOTE = (
    "slow by design: argon2id (production cost, time_cost=3, 64 MiB) in the thread pool; "
    "its tail is queueing for the hasher, so no tail target"
)
FLOOR_NOTE = (
    "the real app with GET /tasks/{id}'s token and path parameter and no database work "
    "(scripts/bench/floor_app.py): the most a task endpoint could reach here"
)
GET = Endpoint("get", "GET /api/v1/tasks/{id}, the same task again and again")
ENDPOINTS = (
    Endpoint("floor", "GET /floor/{id} (token, middleware, no database)", FLOOR_NOTE),
    GET,
    Endpoint("get_cold", "GET /api/v1/tasks/{id}, a random one of 5,000 tasks"),
    Endpoint("list", "GET /api/v1/tasks?per_page=20, user with 200 tasks"),
    Endpoint("list_5000", "GET /api/v1/tasks?per_page=20, random page (cursor) of 5,000 tasks"),
    Endpoint("create", "POST /api/v1/tasks"),
    Endpoint("patch", "PATCH /api/v1/tasks/{id} (If-Match)"),
    Endpoint("login", "POST /api/v1/auth/login", LOGIN_NOTE),
)


@dataclass
class Pair:
    """One A/B step: the /ping run just before the endpoint's run."""

    ping: Result
    endpoint: Result

    @property
    def ratio(self) -> float:
        return self.endpoint.rps / self.ping.rps if self.ping.rps else 0.0


@dataclass
class Series:
    endpoint: Endpoint
    database: str
    pairs: list[Pair] = field(default_factory=list)

    @property
    def ratio_target(self) -> float | None:
        return RATIO_TARGETS[self.database].get(self.endpoint.key)

    @property
    def valid(self) -> bool:
        return bool(self.pairs) and all(p.endpoint.valid and p.ping.valid for p in self.pairs)

    @property
    def rps(self) -> float:
        return median([p.endpoint.rps for p in self.pairs])

    @property
    def ping_rps(self) -> float:
        return median([p.ping.rps for p in self.pairs])

    @property
    def ratio(self) -> float:
        return median([p.ratio for p in self.pairs])

    @property
    def p50_ms(self) -> float:
        return median([p.endpoint.p50_ms for p in self.pairs])

    @property
    def p99_ms(self) -> float:
        return median([p.endpoint.p99_ms for p in self.pairs])

    @property
    def tail(self) -> float:
        return self.p99_ms / self.p50_ms if self.p50_ms else 0.0

    def ratio_verdict(self) -> str:
        target = self.ratio_target
        if target is None:
            return ""
        if not self.valid:
            return "INVALID"
        return "PASS" if self.ratio >= target else "MISS"

    def tail_verdict(self) -> str:
        if not self.endpoint.tail_checked:
            return "n/a"
        if not self.valid:
            return "INVALID"
        return "PASS" if self.tail < TAIL_FACTOR else "MISS"

    def as_dict(self) -> dict[str, Any]:
        target = self.ratio_target
        return {
            "endpoint": self.endpoint.label,
            "median_rps": round(self.rps, 1),
            "median_ping_rps": round(self.ping_rps, 1),
            "median_ratio_to_ping": round(self.ratio, 4),
            "median_p50_ms": self.p50_ms,
            "median_p99_ms": self.p99_ms,
            "p99_over_p50": round(self.tail, 2),
            "ratio_target": target,
            "ratio_result": self.ratio_verdict() or None,
            "tail_target": f"p99 < {TAIL_FACTOR:g} x p50" if self.endpoint.tail_checked else None,
            "tail_result": self.tail_verdict(),
            "valid": self.valid,
            "note": self.endpoint.note or None,
            "rounds": [
                {"ping": p.ping.as_dict(), "endpoint": p.endpoint.as_dict(), "ratio": p.ratio}
                for p in self.pairs
            ],
        }


@dataclass
class ScalingRow:
    workers: int
    pairs: list[Pair] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return median([p.endpoint.rps for p in self.pairs])

    @property
    def ping_rps(self) -> float:
        return median([p.ping.rps for p in self.pairs])

    def as_dict(self) -> dict[str, Any]:
        return {
            "workers": self.workers,
            "median_get_rps": round(self.rps, 1),
            "median_ping_rps": round(self.ping_rps, 1),
            "median_ratio_to_ping": round(median([p.ratio for p in self.pairs]), 4),
            "median_get_p50_ms": median([p.endpoint.p50_ms for p in self.pairs]),
            "median_get_p99_ms": median([p.endpoint.p99_ms for p in self.pairs]),
            "valid": all(p.endpoint.valid and p.ping.valid for p in self.pairs),
            "rounds": [
                {"ping": p.ping.as_dict(), "endpoint": p.endpoint.as_dict()} for p in self.pairs
            ],
        }


def _n(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def endpoint_table(series: list[Series]) -> list[str]:
    lines = [
        "| endpoint | req/s | p50 ms | p99 ms | p99/p50 | /ping req/s | ratio | target | result |",
        "|---|--:|--:|--:|--:|--:|--:|---|---|",
    ]
    for s in series:
        target = s.ratio_target
        wanted = f">= {target:.2f}" if target is not None else "-"
        verdicts = [v for v in (s.ratio_verdict(), f"tail {s.tail_verdict()}") if v]
        if not s.valid:
            verdicts.append("(errors: see JSON)")
        lines.append(
            f"| {s.endpoint.label} | {_n(s.rps)} | {s.p50_ms:.2f} | {s.p99_ms:.2f} "
            f"| {s.tail:.1f} | {_n(s.ping_rps)} | {s.ratio:.3f} | {wanted} "
            f"| {', '.join(verdicts)} |"
        )
    return lines


@dataclass
class LimiterRow:
    """GET /tasks/{id} with rate limits on (`endpoint`) against off (`ping`), A/B by round."""

    pairs: list[Pair] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "median_off_rps": round(median([p.ping.rps for p in self.pairs]), 1),
            "median_on_rps": round(median([p.endpoint.rps for p in self.pairs]), 1),
            "median_on_to_off": round(median([p.ratio for p in self.pairs]), 4),
            "valid": all(p.endpoint.valid and p.ping.valid for p in self.pairs),
            "rounds": [{"off": p.ping.as_dict(), "on": p.endpoint.as_dict()} for p in self.pairs],
        }


def limiter_table(row: LimiterRow) -> list[str]:
    lines = ["| rate limiting | req/s | p50 ms | p99 ms | vs off |", "|--|--:|--:|--:|--:|"]
    for label, results in (
        ("off", [p.ping for p in row.pairs]),
        ("on, as shipped", [p.endpoint for p in row.pairs]),
    ):
        rps = median([r.rps for r in results])
        p50 = median([r.p50_ms for r in results])
        p99 = median([r.p99_ms for r in results])
        ratio = 1.0 if label == "off" else median([p.ratio for p in row.pairs])
        lines.append(f"| {label} | {_n(rps)} | {p50:.2f} | {p99:.2f} | {ratio:.3f} |")
    return lines


def scaling_table(rows: list[ScalingRow]) -> list[str]:
    lines = [
        "| workers | GET /ping req/s | GET /tasks/{id} req/s | ratio | GET speed-up vs 1 |",
        "|--:|--:|--:|--:|--:|",
    ]
    base = rows[0].rps if rows else 0.0
    for row in rows:
        ratio = row.rps / row.ping_rps if row.ping_rps else 0.0
        speedup = row.rps / base if base else 0.0
        lines.append(
            f"| {row.workers} | {_n(row.ping_rps)} | {_n(row.rps)} | {ratio:.3f} | {speedup:.2f}x |"
        )
    return lines
