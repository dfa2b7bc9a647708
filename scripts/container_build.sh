#!/usr/bin/env bash
# Builds the API's image (`make image`): the runtime wheels into wheelhouse/, then `docker build`.
#
#   scripts/container_build.sh [docker build options...]
#
# The wheels are the project's runtime dependencies (pyproject.toml's [project].dependencies,
# resolved by pip at requirements.lock's pins, no dev extras) plus what builds the project's
# metadata ([build-system].requires), downloaded on this host for the image's Python and
# platform, whatever the host's own Python is. The Dockerfile then installs from them with no
# package index. A download is redone only when pyproject.toml, requirements.lock or the target
# change.
#
# Settings (environment): IMAGE (taskapi:latest), PYTHON_VERSION (3.11: the base image is
# python:$PYTHON_VERSION-slim), PYTHON (the host's python3, for pip), DOCKER (docker).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-taskapi:latest}
PYTHON_VERSION=${PYTHON_VERSION:-3.11}
PYTHON=${PYTHON:-python3}
DOCKER=${DOCKER:-docker}
WHEELHOUSE=wheelhouse
# The official images are Debian bookworm (glibc 2.36); wheels for any older manylinux run there.
GLIBC_MINOR=36
ARCH=$(uname -m)

platforms=(--platform "manylinux1_$ARCH" --platform "manylinux2010_$ARCH"
    --platform "manylinux2014_$ARCH")
for minor in $(seq 5 "$GLIBC_MINOR"); do
    platforms+=(--platform "manylinux_2_${minor}_$ARCH")
done

key="$(cat pyproject.toml requirements.lock | sha256sum | cut -c1-16) py$PYTHON_VERSION $ARCH"
if [[ -f $WHEELHOUSE/.key && "$(cat "$WHEELHOUSE/.key")" == "$key" ]]; then
    echo "wheelhouse: up to date ($(find "$WHEELHOUSE" -name '*.whl' | wc -l) wheels)"
else
    echo "wheelhouse: downloading the runtime wheels for Python $PYTHON_VERSION on $ARCH"
    rm -rf "$WHEELHOUSE"
    mkdir -p "$WHEELHOUSE"
    mapfile -t build_requires < <("$PYTHON" -c '
import tomllib
with open("pyproject.toml", "rb") as f:
    print("\n".join(tomllib.load(f)["build-system"]["requires"]))')
    log=$(mktemp)
    if ! "$PYTHON" -m pip download --quiet --disable-pip-version-check --dest "$WHEELHOUSE" \
        --only-binary=:all: --implementation cp --python-version "$PYTHON_VERSION" \
        --abi "cp${PYTHON_VERSION/./}" "${platforms[@]}" \
        --constraint requirements.lock . "${build_requires[@]}" >"$log" 2>&1; then
        grep -v "is ignored: it is neither a file nor a directory" "$log" >&2 || true
        rm -f "$log"
        echo "wheelhouse: pip download failed" >&2
        exit 1
    fi
    rm -f "$log"
    # Every runtime package must be pinned by the lock; one that is not means a stale lock.
    "$PYTHON" - "$WHEELHOUSE" "${build_requires[@]}" <<'EOF'
import re
import sys
from pathlib import Path

def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()

wheelhouse, build = Path(sys.argv[1]), {norm(re.split(r"[<>=!~ \[;]", r)[0]) for r in sys.argv[2:]}
pinned = {norm(line.split("==")[0]) for line in Path("requirements.lock").read_text().split()
          if "==" in line}
loose = sorted({norm(w.name.split("-")[0]) for w in wheelhouse.glob("*.whl")} - pinned - build)
if loose:
    sys.exit(f"wheelhouse: requirements.lock pins no {', '.join(loose)}: run `make lock`")
EOF
    echo "$key" >"$WHEELHOUSE/.key"
    echo "wheelhouse: $(find "$WHEELHOUSE" -name '*.whl' | wc -l) wheels," \
        "$(du -sh "$WHEELHOUSE" | cut -f1)"
fi

echo "image: building $IMAGE on python:$PYTHON_VERSION-slim"
"$DOCKER" build --force-rm --build-arg "PYTHON_IMAGE=python:$PYTHON_VERSION-slim" \
    --tag "$IMAGE" "$@" .
# The images this build left untagged (earlier builds of this image), not the build cache.
"$DOCKER" image prune --force --filter label=org.opencontainers.image.title=taskapi >/dev/null
