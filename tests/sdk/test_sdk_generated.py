"""generated/client and generated/typescript are exactly what `make sdk` makes of the contract."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_sdks_match_the_contract() -> None:
    result = subprocess.run(
        [sys.executable, ROOT / "scripts" / "generate_sdk.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, (
        "the SDKs are stale: run `make sdk` and commit\n" + result.stdout + result.stderr
    )
