"""Validate openapi/openapi.yaml against the OpenAPI 3.1 schema (part of `make lint`).

Usage: python scripts/validate_spec.py [PATH]
"""

import sys
from pathlib import Path

from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

DEFAULT = Path(__file__).resolve().parents[1] / "openapi" / "openapi.yaml"


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else DEFAULT
    spec, _ = read_from_filename(str(path))
    try:
        validate(spec)
    except Exception as exc:  # the validator raises several unrelated types
        print(f"{path}: invalid: {exc}", file=sys.stderr)
        return 1
    operations = sum(
        1 for item in spec["paths"].values() for key in item if key not in ("parameters",)
    )
    print(f"{path}: valid OpenAPI {spec['openapi']}, {operations} operations")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
