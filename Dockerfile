# The API's image: `make image` builds it (scripts/container_build.sh: the wheelhouse, then this).
#
# Two stages on the same base. `build` makes a virtual environment with the runtime dependencies
# only: pyproject.toml's [project].dependencies, at requirements.lock's pins (the lock also pins
# the dev tools; they are not installed). `runtime` copies that environment and the code the
# server reads (app/, generated/models.py, the contract, the migrations) and runs uvicorn as an
# unprivileged user.
#
# Packages come from wheelhouse/ when it holds wheels (scripts/container_build.sh downloads them
# on the host, for this image's Python and platform), with no index at all; without it, a plain
# `docker build .` installs from the package index.
#
# The base is named as the official image is; any Debian-based image whose `python3` is 3.11 or
# newer with the venv module works (ARG PYTHON_IMAGE).
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/venv
# Only what decides the dependencies, so that a code change reuses this layer. setuptools builds
# the project's metadata (an empty project here: the code is copied in the runtime stage), which
# pip resolves against the lock's pins; the project itself is then removed again.
COPY pyproject.toml requirements.lock wheelhous[e] /src/
RUN set -eu; \
    cd /src; \
    mkdir -p wheels; mv ./*.whl wheels/ 2>/dev/null || true; \
    if ls wheels/*.whl >/dev/null 2>&1; then set -- --no-index --find-links /src/wheels; fi; \
    touch README.md; \
    /opt/venv/bin/pip install --quiet "$@" --constraint requirements.lock /src; \
    /opt/venv/bin/pip uninstall --quiet --yes taskapi; \
    /opt/venv/bin/pip uninstall --quiet --yes pip setuptools

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="taskapi" \
      org.opencontainers.image.description="A contract-first task-management API" \
      org.opencontainers.image.licenses="MIT"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    # uvicorn's own variables: worker processes, the proxies whose X-Forwarded-* headers are
    # trusted (set it to your load balancer), and how long in-flight requests get on SIGTERM.
    WEB_CONCURRENCY=1 \
    FORWARDED_ALLOW_IPS=127.0.0.1 \
    UVICORN_TIMEOUT_GRACEFUL_SHUTDOWN=30
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The code belongs to root and is read-only for the server; only data/ is writable (the default
# DATABASE_URL, sqlite:///./data/app.db, is /app/data/app.db: mount a volume there).
COPY alembic.ini ./
COPY alembic/ alembic/
COPY openapi/openapi.yaml openapi/
COPY generated/__init__.py generated/models.py generated/
COPY app/ app/
# Bytecode now (pip compiled the packages'), as the server cannot write it: each worker process
# then starts in half the time.
RUN python3 -m compileall -q app generated alembic \
    && mkdir data && chown app:app data
USER app
EXPOSE 8000
# GET /api/v1/health answers 503 when the database is unreachable; urlopen raises on it.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health', timeout=4)"]
# Exec form: uvicorn is PID 1 and gets SIGTERM itself: it stops accepting connections, lets
# in-flight requests finish (UVICORN_TIMEOUT_GRACEFUL_SHUTDOWN), stops its workers and exits 0.
STOPSIGNAL SIGTERM
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers", "--no-access-log", \
     "--http", "app.api.server:BoundedHttpProtocol"]
