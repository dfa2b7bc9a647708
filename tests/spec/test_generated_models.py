"""generated/ is exactly what datamodel-code-generator makes of the contract: no drift."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_models_match_the_contract() -> None:
    result = subprocess.run(
        [Path(sys.executable).with_name("datamodel-codegen"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, (
        "generated/ is stale: run `make generate` and commit\n" + result.stdout + result.stderr
    )
