"""`make fuzz`: Schemathesis against the real server, with every phase and every check.

Starts uvicorn on a free port with SQLite in a temporary directory, runs `schemathesis run` on
openapi/openapi.yaml (settings from schemathesis.toml; accounts from scripts/fuzz_hooks.py),
writes JUnit and NDJSON reports under reports/, stops the server, prints the contract's dead
corners (scripts/contract_coverage.py) and exits with Schemathesis' status.

Usage: python scripts/fuzz.py [--examples N]    (make fuzz EXAMPLES=500 for a deep run)
"""

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "reports"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_healthy(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"fuzz: the server exited with {server.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("fuzz: the server did not become healthy within 60 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=25, help="examples per operation")
    args = parser.parse_args()
    REPORTS.mkdir(exist_ok=True)
    port = free_port()
    api = f"http://127.0.0.1:{port}/api/v1"
    with tempfile.TemporaryDirectory(prefix="taskapi-fuzz-") as data:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{data}/fuzz.db",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_COST_KIB": "8",
            "RATE_LIMIT_ENABLED": "false",  # the fuzzer would spend any login budget at once
            "LOG_LEVEL": "WARNING",
            "FIRST_ADMIN_EMAIL": "fuzz-admin@example.com",
            "FIRST_ADMIN_PASSWORD": secrets.token_urlsafe(16),
        }
        print(f"fuzz: starting the server on 127.0.0.1:{port} (SQLite in {data})", flush=True)
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
             "--port", str(port), "--no-access-log"],
            cwd=ROOT, env=env,
        )  # fmt: skip
        try:
            wait_until_healthy(api, server)
            command = [
                str(Path(sys.executable).with_name("schemathesis")), "run",
                str(ROOT / "openapi" / "openapi.yaml"), "--url", api,
                "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
                "--max-examples", str(args.examples), "--workers", "1",
                "--report", "junit,ndjson",
                "--report-junit-path", str(REPORTS / "fuzz-junit.xml"),
                "--report-ndjson-path", str(REPORTS / "fuzz-events.ndjson"),
            ]  # fmt: skip
            print(
                f"fuzz: {args.examples} examples per operation, all phases and checks", flush=True
            )
            hooks = {
                "SCHEMATHESIS_HOOKS": "scripts.fuzz_hooks",
                "FUZZ_BASE_URL": api,
                "FUZZ_ADMIN_EMAIL": env["FIRST_ADMIN_EMAIL"],
                "FUZZ_ADMIN_PASSWORD": env["FIRST_ADMIN_PASSWORD"],
            }
            status = subprocess.run(command, cwd=ROOT, env={**env, **hooks}, check=False)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print("fuzz: reports in reports/fuzz-junit.xml and reports/fuzz-events.ndjson", flush=True)
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "contract_coverage.py"),
         str(REPORTS / "fuzz-events.ndjson")],
        check=False,
    )  # fmt: skip
    return status.returncode


if __name__ == "__main__":
    sys.exit(main())
