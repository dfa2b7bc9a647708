"""The baseline: a bare FastAPI app with one route, `GET /ping`, and nothing else.

It runs on the same Python, FastAPI, Starlette and uvicorn (with the same flags) as the real
server, so the ratio of an endpoint's throughput to this one's is what the task API costs over
the framework's floor. `response_model=None` keeps FastAPI from validating the return value,
which is the least a FastAPI route can do.
"""

from fastapi import FastAPI

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/ping", response_model=None)
async def ping() -> dict[str, str]:
    return {"ping": "pong"}
