"""Generate the client SDKs from the contract (`make sdk`), or check them (`make check-sdk`).

- generated/client/: a typed Python client package, made by openapi-python-client (pinned in
  pyproject.toml, configured by openapi/python-client.yaml) and formatted by its ruff hooks.
- generated/typescript/schema.d.ts: TypeScript types, made by openapi-typescript (pinned in
  package.json) and type-checked with tsc --strict.

Both are generated into a temporary directory. With --check that is compared with generated/ and
any difference fails (exit 1: run `make sdk` and commit); the types are not type-checked again
there, since output equal to what `make sdk` wrote and checked passes as it did (and
tests/sdk/test_typescript_client.py compiles them with the client in every `make test`). Without
it, generated/client and generated/typescript are replaced by the fresh output. Never edit them
by hand.

Usage: python scripts/generate_sdk.py [--check]
"""

import argparse
import difflib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "openapi" / "openapi.yaml"
CLIENT_CONFIG = ROOT / "openapi" / "python-client.yaml"
GENERATED = ROOT / "generated"
TARGETS = ("client", "typescript")
NODE_BIN = ROOT / "node_modules" / ".bin"
VENV_BIN = Path(sys.executable).parent
IGNORED = {"__pycache__", ".ruff_cache", ".mypy_cache", ".pytest_cache"}
MAX_DIFF_LINES = 60


class GenerationError(Exception):
    pass


def progress(message: str) -> None:
    print(f"sdk: {message}", file=sys.stderr, flush=True)


def run(command: Sequence[str | Path], cwd: Path = ROOT) -> None:
    # The venv first on PATH: openapi-python-client's hooks call the pinned ruff.
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise GenerationError(f"{Path(command[0]).name} failed:\n{output}")


def generate(out: Path, *, type_check: bool) -> None:
    """Write out/client and out/typescript from the contract."""
    progress("generating the Python client with openapi-python-client")
    run(
        [
            VENV_BIN / "openapi-python-client",
            "generate",
            "--path", CONTRACT,
            "--config", CLIENT_CONFIG,
            "--meta", "pdm",
            "--output-path", out / "client",
            "--fail-on-warning",
        ]
    )  # fmt: skip
    if not (NODE_BIN / "openapi-typescript").exists():
        raise GenerationError("openapi-typescript is not installed: run `make node-install`")
    progress("generating the TypeScript types with openapi-typescript")
    schema = out / "typescript" / "schema.d.ts"
    run([NODE_BIN / "openapi-typescript", CONTRACT, "--output", schema])
    if type_check:
        progress("type-checking them with tsc --strict")
        run([NODE_BIN / "tsc", "--noEmit", "--strict", schema])


def files(tree: Path) -> dict[str, Path]:
    if not tree.is_dir():
        return {}
    return {
        path.relative_to(tree).as_posix(): path
        for path in sorted(tree.rglob("*"))
        if path.is_file() and not IGNORED & set(path.relative_to(tree).parts)
    }


def differences(expected: Path, actual: Path) -> list[str]:
    """What differs between the fresh output and the committed tree, as readable lines."""
    want, have = files(expected), files(actual)
    lines = [f"missing: {name}" for name in sorted(want.keys() - have.keys())]
    lines += [f"not generated (remove it): {name}" for name in sorted(have.keys() - want.keys())]
    for name in sorted(want.keys() & have.keys()):
        new, old = want[name].read_bytes(), have[name].read_bytes()
        if new != old:
            diff = difflib.unified_diff(
                old.decode(errors="replace").splitlines(),
                new.decode(errors="replace").splitlines(),
                f"committed/{name}",
                f"generated/{name}",
                lineterm="",
            )
            lines += [f"differs: {name}", *list(diff)[:MAX_DIFF_LINES]]
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare with generated/")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sdk-") as tmp:
        out = Path(tmp)
        try:
            generate(out, type_check=not args.check)
        except GenerationError as exc:
            progress(f"error: {exc}")
            return 2
        if args.check:
            drift = [
                line for target in TARGETS for line in differences(out / target, GENERATED / target)
            ]
            if drift:
                print("\n".join(drift))
                progress("generated/client or generated/typescript is stale: run `make sdk`")
                return 1
            progress("generated/client and generated/typescript match the contract")
            return 0
        for target in TARGETS:
            shutil.rmtree(GENERATED / target, ignore_errors=True)
            ignore = shutil.ignore_patterns(*IGNORED)
            shutil.copytree(out / target, GENERATED / target, ignore=ignore)
            progress(f"wrote generated/{target}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
