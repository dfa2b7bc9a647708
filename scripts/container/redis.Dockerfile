# A stand-in for the official redis:7 image, from Debian's Redis 7, for machines that cannot pull
# images (scripts/container_check.sh builds it only when no redis:7 exists). Like the official
# image: redis-server as the redis user in /data, reachable from other containers (the official
# build turns protected mode off; Debian's binary needs the flag).
ARG BASE=debian:bookworm-slim
FROM ${BASE}
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man \
    && mkdir /data && chown redis:redis /data
WORKDIR /data
USER redis
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no"]
