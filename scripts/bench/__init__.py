"""The benchmark harness of issue #8 (measurement only): `make bench`, or `python -m scripts.bench`.

Modules: `harness` (what `make bench` runs), `ping_app` (the bare FastAPI baseline),
`seed` (users and tasks through the API; servers come from scripts/servers.py), `loadgen` (wrk with
the scripts in lua/, or the async Python client in `pyload`), `report` (tables, targets, JSON),
`profile` (py-spy under load), `micro` (micro-benchmarks in-process, through `asgi`) and
`slow_upload` (whether a stalled request body blocks other writers).
"""
