#!/bin/sh
# The postgres:15 stand-in's entrypoint: initialises PGDATA on the first start, as the official
# image does for POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB, then runs the server.
set -eu

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
    user=${POSTGRES_USER:-postgres}
    db=${POSTGRES_DB:-$user}
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb --username="$user" --pwfile="$pwfile" --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
    if [ "$db" != postgres ]; then
        # Single-user mode: no socket is open yet, so pg_isready says "no" until the real start.
        quoted=$(printf '%s' "$db" | sed 's/"/""/g')
        echo "CREATE DATABASE \"$quoted\"" | postgres --single -D "$PGDATA" postgres >/dev/null
    fi
    echo "PostgreSQL initialised in $PGDATA: user $user, database $db"
fi
exec "$@"
