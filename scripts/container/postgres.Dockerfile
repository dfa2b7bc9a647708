# A stand-in for the official postgres:15 image, from Debian's PostgreSQL 15, for machines that
# cannot pull images (scripts/container_check.sh builds it only when no postgres:15 exists).
# Like the official image: PGDATA=/var/lib/postgresql/data, initialised on the first start with
# POSTGRES_USER (default postgres) as the superuser, POSTGRES_PASSWORD for connections over TCP
# (scram-sha-256) and POSTGRES_DB (default: the user's name) created; pg_isready on PATH.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
# No cluster from the package: the entrypoint makes one in PGDATA.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
    && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/no-main.conf \
    && apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
RUN mkdir -p "$PGDATA" /var/run/postgresql \
    && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
    && chmod 0700 "$PGDATA"
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
USER postgres
ENTRYPOINT ["docker-entrypoint.sh"]
# SIGINT is PostgreSQL's fast shutdown, as in the official image.
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres"]
