#!/usr/bin/env bash
# The container check (`make container-check`, CI's "containers" stage): builds the image, runs it
# on SQLite and smoke-tests it, then brings up compose.yaml (the API on PostgreSQL and Redis),
# smoke-tests that, restarts the API container and checks that the data survived, and tears
# everything down.
#
# It needs root on a Debian-like machine, or a Docker engine it can already reach. What it lacks
# it takes from Debian's packages: docker.io (when no engine answers), docker-compose (when there
# is no `docker compose`), debootstrap (when it must make the base image). It starts dockerd
# itself when none answers, and stops that daemon (by its pid) when it is done.
#
# Images that cannot be pulled are made here, each only when no image has its tag:
#   python:3.11-slim  debootstrap --variant=minbase bookworm (the machine's Debian mirror), with
#                     Debian's python3 3.11 and its venv module, imported with `docker import`
#   postgres:15, redis:7  stand-ins from Debian's packages (scripts/container/*.Dockerfile)
# With the official images present (`docker pull` them on a normal network), those are used.
# Images stay afterwards, as the build cache; containers, networks and volumes do not.
#
# Settings (environment): DOCKER (the client), DOCKER_BUILDKIT (0: the legacy builder, which
# works with every engine; 1: BuildKit), DEBIAN_MIRROR (default: the machine's own, from
# /etc/apt/sources.list*), CHECK_TIMEOUT (seconds to wait for a container to be healthy, 120).
set -euo pipefail
cd "$(dirname "$0")/.."

START=$SECONDS
step() { printf '[container-check %3ds] %s\n' "$((SECONDS - START))" "$*"; }
fail() {
    printf '[container-check %3ds] FAILED: %s\n' "$((SECONDS - START))" "$*" >&2
    exit 1
}

PROJECT=taskapi-check
IMAGE=taskapi:latest
BASE_IMAGE=python:3.11-slim
SQLITE_CONTAINER=$PROJECT-sqlite
SQLITE_VOLUME=$PROJECT-sqlite-data
CHECK_TIMEOUT=${CHECK_TIMEOUT:-120}
export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0}
# Debian's docker.io client (/usr/bin/docker) matches its daemon; BuildKit needs it.
if [[ -z ${DOCKER:-} ]]; then
    if [[ -x /usr/bin/docker ]]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/$PROJECT.XXXXXX")
DOCKERD_PID=
COMPOSE_UP=
COMPOSE=()

# `command`: with DOCKER=docker, the client on PATH, not this function.
docker() { command "$DOCKER" "$@"; }

# --- teardown: on every exit, whatever failed --------------------------------------------------
on_exit() {
    local status=$?
    set +e
    if [[ $status -ne 0 ]]; then
        for container in "$SQLITE_CONTAINER" "$PROJECT"_api_1 "$PROJECT"_postgres_1 \
            "$PROJECT"-api-1 "$PROJECT"-postgres-1; do
            if docker container inspect "$container" >/dev/null 2>&1; then
                echo "--- last log lines of $container" >&2
                docker logs --tail 40 "$container" 2>&1 | sed 's/^/    /' >&2
            fi
        done
    fi
    if [[ -n $DOCKERD_PID || -n $(docker_reachable && echo yes) ]]; then
        docker rm --force "$SQLITE_CONTAINER" >/dev/null 2>&1
        docker volume rm "$SQLITE_VOLUME" >/dev/null 2>&1
        if [[ -n $COMPOSE_UP ]]; then
            "${COMPOSE[@]}" down --volumes --remove-orphans --timeout 40 >"$WORK/down.log" 2>&1 \
                || cat "$WORK/down.log" >&2
        fi
    fi
    if [[ -n $DOCKERD_PID ]]; then
        kill -TERM "$DOCKERD_PID" 2>/dev/null
        for _ in $(seq 1 30); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
        if kill -0 "$DOCKERD_PID" 2>/dev/null; then
            echo "dockerd ($DOCKERD_PID) did not stop; killing it" >&2
            kill -KILL "$DOCKERD_PID" 2>/dev/null
        fi
        step "dockerd ($DOCKERD_PID) stopped"
    fi
    [[ $status -ne 0 && -s $WORK/dockerd.log ]] && tail -n 20 "$WORK/dockerd.log" >&2
    rm -rf "$WORK"
    if [[ $status -eq 0 ]]; then step "passed"; fi
    exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

docker_reachable() { docker info >/dev/null 2>&1; }

# --- Debian packages -------------------------------------------------------------------------
install_packages() {
    step "installing from Debian's packages: $*"
    [[ $(id -u) -eq 0 ]] || fail "installing $* needs root"
    command -v apt-get >/dev/null || fail "no apt-get to install $* with"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q --no-install-recommends "$@" >"$WORK/apt.log" 2>&1; then
        apt-get update -q >>"$WORK/apt.log" 2>&1 || true
        apt-get install -y -q --no-install-recommends "$@" >>"$WORK/apt.log" 2>&1 \
            || { tail -n 20 "$WORK/apt.log" >&2; fail "apt-get install $*"; }
    fi
}

# --- the engine ------------------------------------------------------------------------------
start_docker() {
    if docker_reachable; then
        step "using the Docker engine that answers ($(docker version -f '{{.Server.Version}}'))"
        return
    fi
    command -v dockerd >/dev/null || install_packages docker.io
    [[ -x /usr/bin/docker && $DOCKER == docker ]] && DOCKER=/usr/bin/docker
    export DOCKER_HOST="unix://$WORK/docker.sock"
    dockerd --host "$DOCKER_HOST" --pidfile "$WORK/dockerd.pid" >"$WORK/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    for _ in $(seq 1 60); do
        docker_reachable && break
        kill -0 "$DOCKERD_PID" 2>/dev/null || fail "dockerd exited: $(tail -n 5 "$WORK/dockerd.log")"
        sleep 0.5
    done
    docker_reachable || fail "dockerd did not answer within 30 s"
    step "dockerd $(docker version -f '{{.Server.Version}}') started (pid $DOCKERD_PID)"
}

ensure_compose() {
    if docker compose version >/dev/null 2>&1; then
        COMPOSE=("$DOCKER" compose)
    else
        command -v docker-compose >/dev/null || install_packages docker-compose
        COMPOSE=(docker-compose)
    fi
    COMPOSE+=(--project-name "$PROJECT" --env-file "$WORK/compose.env" --file compose.yaml)
}

# --- images that cannot be pulled ------------------------------------------------------------
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# The first deb.debian.org-style source for bookworm itself (not -updates or -security), in
# one-line (.list) or deb822 (.sources) form.
debian_mirror() {
    local files=() url
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do [[ -f $f ]] && files+=("$f"); done
    if [[ ${#files[@]} -gt 0 ]]; then
        url=$(sed -E 's/\[[^]]*\]//' "${files[@]}" \
            | awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }')
        [[ -n $url ]] && { echo "$url"; return; }
    fi
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] || continue
        url=$(awk 'BEGIN { RS = ""; FS = "\n" }
            {
                uris = ""; ok = 0; deb = 0
                for (i = 1; i <= NF; i++) {
                    if ($i ~ /^URIs:/) { split($i, u, /[ \t]+/); uris = u[2] }
                    if ($i ~ /^Suites:/ && (" " $i " ") ~ /[ \t]bookworm[ \t]/) ok = 1
                    if ($i ~ /^Types:/ && $i ~ /[ \t]deb([ \t]|$)/) deb = 1
                }
                if (ok && deb && uris != "") { print uris; exit }
            }' "$f")
        [[ -n $url ]] && { echo "$url"; return; }
    done
    echo "http://deb.debian.org/debian"
}

build_base_image() {
    if have_image "$BASE_IMAGE"; then
        step "base image $BASE_IMAGE: present"
        return
    fi
    command -v debootstrap >/dev/null || install_packages debootstrap
    local mirror=${DEBIAN_MIRROR:-$(debian_mirror)} rootfs=$WORK/rootfs
    step "base image $BASE_IMAGE: debootstrap --variant=minbase bookworm from $mirror"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 \
        || { tail -n 20 "$WORK/debootstrap.log" >&2; fail "debootstrap"; }
    # As Debian's own images are: no services started by package scripts, no caches, nothing of
    # this machine's (its resolv.conf and hostname; Docker provides both at run time).
    printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
    chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
        "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* "$rootfs"/tmp/*
    : >"$rootfs/etc/resolv.conf"
    : >"$rootfs/etc/hostname"
    # `python` as in the official image (Debian's is /usr/bin/python3).
    ln -s /usr/bin/python3 "$rootfs/usr/local/bin/python"
    tar --numeric-owner -C "$rootfs" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'LABEL org.opencontainers.image.description="stand-in: debootstrap bookworm + python3"' \
        --change 'CMD ["python3"]' - "$BASE_IMAGE" >/dev/null
    rm -rf "$rootfs"
    step "base image $BASE_IMAGE: imported ($(docker run --rm "$BASE_IMAGE" python3 --version))"
}

build_standin() {  # tag, Dockerfile under scripts/container/
    if have_image "$1"; then
        step "image $1: present"
        return
    fi
    step "image $1: building a stand-in from Debian's packages ($2)"
    docker build --force-rm --quiet --build-arg "BASE=$BASE_IMAGE" --tag "$1" \
        --file "scripts/container/$2" scripts/container >"$WORK/standin.log" 2>&1 \
        || { tail -n 30 "$WORK/standin.log" >&2; fail "building $1"; }
}

# --- running and checking --------------------------------------------------------------------
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_healthy() {  # container
    local status
    for _ in $(seq 1 "$CHECK_TIMEOUT"); do
        status=$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "$1")
        case $status in
            "running healthy") return ;;
            running*) sleep 1 ;;
            *) fail "container $1 is $status" ;;
        esac
    done
    fail "container $1 not healthy within $CHECK_TIMEOUT s ($status)"
}

smoke() {  # url email password [--task ID]; the output is indented, the task id kept in TASK_ID
    python3 scripts/container_smoke.py "$@" >"$WORK/smoke.out" 2>&1 \
        || { sed 's/^/    /' "$WORK/smoke.out" >&2; fail "smoke test against $1"; }
    sed 's/^/    /' "$WORK/smoke.out"
    TASK_ID=$(awk '$1 == "task" && NF == 2 { print $2 }' "$WORK/smoke.out")
}

check_sqlite() {
    local port secret start
    port=$(free_port)
    secret=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')
    step "SQLite: docker run $IMAGE (ENVIRONMENT=production, a volume on /app/data)"
    docker rm --force "$SQLITE_CONTAINER" >/dev/null 2>&1 || true
    docker volume rm "$SQLITE_VOLUME" >/dev/null 2>&1 || true
    docker run --detach --name "$SQLITE_CONTAINER" --health-interval 2s \
        --publish "127.0.0.1:$port:8000" --volume "$SQLITE_VOLUME:/app/data" \
        --env ENVIRONMENT=production --env SECRET_KEY="$secret" "$IMAGE" >/dev/null
    wait_healthy "$SQLITE_CONTAINER"
    step "SQLite: healthy; runs as $(docker exec "$SQLITE_CONTAINER" id -un) (uid" \
        "$(docker exec "$SQLITE_CONTAINER" id -u)), PID 1 is" \
        "$(docker exec "$SQLITE_CONTAINER" cat /proc/1/cmdline | tr '\0' ' ')"
    step "SQLite: smoke test on 127.0.0.1:$port"
    smoke "http://127.0.0.1:$port" ada@example.com correct-horse-battery
    start=$(date +%s%N)
    docker stop --time 40 "$SQLITE_CONTAINER" >/dev/null
    local code
    code=$(docker inspect -f '{{.State.ExitCode}}' "$SQLITE_CONTAINER")
    [[ $code -eq 0 ]] || fail "docker stop: the server exited with $code, not 0"
    docker logs "$SQLITE_CONTAINER" 2>&1 | grep -q "Application shutdown complete" \
        || fail "docker stop: no graceful shutdown in the logs"
    step "SQLite: docker stop (SIGTERM): graceful shutdown, exit 0, in" \
        "$((($(date +%s%N) - start) / 1000000)) ms"
    docker rm "$SQLITE_CONTAINER" >/dev/null
    docker volume rm "$SQLITE_VOLUME" >/dev/null
}

health_of() {  # compose service
    docker inspect -f '{{.State.Health.Status}}' "$("${COMPOSE[@]}" ps -q "$1")"
}

check_compose() {
    local port api workers keys tasks
    port=$(free_port)
    # What a user's .env holds; API_PORT with an address keeps the port on the loopback here.
    {
        echo "SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
        echo "POSTGRES_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"
        echo "API_PORT=127.0.0.1:$port"
    } >"$WORK/compose.env"
    "${COMPOSE[@]}" down --volumes --remove-orphans >/dev/null 2>&1 || true
    step "compose: up (api with 2 workers, postgres:15, redis:7): ${COMPOSE[*]:0:1} up"
    COMPOSE_UP=yes
    "${COMPOSE[@]}" up --detach --no-build >"$WORK/up.log" 2>&1 \
        || { cat "$WORK/up.log" >&2; fail "compose up"; }
    api=$("${COMPOSE[@]}" ps -q api)
    wait_healthy "$api"
    workers=$(docker logs "$api" 2>&1 | grep -c "Started server process" || true)
    step "compose: api healthy, $workers worker processes," \
        "postgres $(health_of postgres), redis $(health_of redis)"
    [[ $workers -eq 2 ]] || fail "compose: expected 2 worker processes, saw $workers"
    step "compose: smoke test on 127.0.0.1:$port (PostgreSQL)"
    smoke "http://127.0.0.1:$port" grace@example.com another-horse-battery
    local task=$TASK_ID
    # shellcheck disable=SC2016  # expanded in the container, from its own environment
    tasks=$("${COMPOSE[@]}" exec -T postgres sh -c \
        'psql -qtA -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "select count(*) from task"')
    keys=$("${COMPOSE[@]}" exec -T redis redis-cli --scan --pattern 'taskapi*' | wc -l)
    step "compose: PostgreSQL holds $tasks task(s); Redis holds $keys rate-limit key(s)"
    [[ $tasks -ge 1 ]] || fail "compose: no task in PostgreSQL"
    [[ $keys -ge 1 ]] || fail "compose: the API wrote no rate-limit key to Redis"
    step "compose: restart api"
    "${COMPOSE[@]}" restart api >"$WORK/restart.log" 2>&1 \
        || { cat "$WORK/restart.log" >&2; fail "compose restart api"; }
    wait_healthy "$api"
    step "compose: api healthy again; smoke test with the same user and task"
    smoke "http://127.0.0.1:$port" grace@example.com another-horse-battery --task "$task"
    step "compose: the user and task $task survived the restart"
    step "compose: down --volumes"
    "${COMPOSE[@]}" down --volumes --remove-orphans --timeout 40 >"$WORK/down.log" 2>&1 \
        || { cat "$WORK/down.log" >&2; fail "compose down"; }
    COMPOSE_UP=
}

start_docker
ensure_compose
build_base_image
build_standin postgres:15 postgres.Dockerfile
build_standin redis:7 redis.Dockerfile
step "image $IMAGE: scripts/container_build.sh"
build_start=$SECONDS
DOCKER=$DOCKER scripts/container_build.sh --quiet >"$WORK/build.log" 2>&1 \
    || { tail -n 40 "$WORK/build.log" >&2; fail "building $IMAGE"; }
grep '^wheelhouse' "$WORK/build.log" | sed 's/^/    /'
step "image $IMAGE: built in $((SECONDS - build_start)) s," \
    "$(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
check_sqlite
check_compose
