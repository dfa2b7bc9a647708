"""`make fuzz`: Schemathesis against the real server, with every phase and every check.

Starts uvicorn on a free port with SQLite in a temporary directory, runs `schemathesis run` on
openapi/openapi.yaml (settings from schemathesis.toml and the contract, scripts/fuzz_contract.py;
accounts from scripts/fuzz_hooks.py),
writes JUnit and NDJSON reports under reports/, stops the server, prints the contract's dead
corners (scripts/contract_coverage.py) and exits with Schemathesis' status.

Usage: python -m scripts.fuzz [--examples N]    (make fuzz EXAMPLES=500 for a deep run)
"""

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

from scripts.fuzz_contract import config_text
from scripts.servers import ROOT, new_secret_key, running_server

REPORTS = ROOT / "reports"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=25, help="examples per operation")
    args = parser.parse_args()
    REPORTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="taskapi-fuzz-") as data:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{data}/fuzz.db",
            "SECRET_KEY": new_secret_key(),
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_COST_KIB": "8",
            "RATE_LIMIT_ENABLED": "false",  # the fuzzer would spend any login budget at once
            "LOG_LEVEL": "WARNING",
            "FIRST_ADMIN_EMAIL": "fuzz-admin@example.com",
            "FIRST_ADMIN_PASSWORD": secrets.token_urlsafe(16),
        }
        config = Path(data) / "schemathesis.toml"
        config.write_text(config_text(), encoding="utf-8")
        print(f"fuzz: starting the server (SQLite and its log in {data})", flush=True)
        with running_server(
            "api", "app.main:app", workers=1, env=env, cwd=Path(data),
            health_path="/api/v1/health", cpus=None,
        ) as server:  # fmt: skip
            api = f"{server.url}/api/v1"
            command = [
                str(Path(sys.executable).with_name("schemathesis")),
                "--config-file", str(config), "run",
                str(ROOT / "openapi" / "openapi.yaml"), "--url", api,
                "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
                "--max-examples", str(args.examples), "--workers", "1",
                "--report", "junit,ndjson",
                "--report-junit-path", str(REPORTS / "fuzz-junit.xml"),
                "--report-ndjson-path", str(REPORTS / "fuzz-events.ndjson"),
            ]  # fmt: skip
            print(
                f"fuzz: {args.examples} examples per operation, every phase and check", flush=True
            )
            hooks = {
                "SCHEMATHESIS_HOOKS": "scripts.fuzz_hooks",
                "FUZZ_BASE_URL": api,
                "FUZZ_ADMIN_EMAIL": env["FIRST_ADMIN_EMAIL"],
                "FUZZ_ADMIN_PASSWORD": env["FIRST_ADMIN_PASSWORD"],
            }
            status = subprocess.run(command, cwd=ROOT, env={**env, **hooks}, check=False)
    print("fuzz: reports in reports/fuzz-junit.xml and reports/fuzz-events.ndjson", flush=True)
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "contract_coverage.py"),
         str(REPORTS / "fuzz-events.ndjson")],
        check=False,
    )  # fmt: skip
    return status.returncode


if __name__ == "__main__":
    sys.exit(main())
