"""The floor of an authenticated task endpoint: the real app with one more route, first in its
table, `GET /floor/{task_id}`, which takes what GET /tasks/{id} takes before its database work
(the bearer token, checked and counted against the rate limit, and the path parameter), goes
through all of the app's middleware, and answers a constant body.

Its ratio to /ping is the most a task endpoint could reach on this stack with this app's
middleware and auth: what is left between it and an endpoint is the endpoint's own work.
"""

from fastapi.routing import APIRoute

from app.api.routing import endpoint
from app.main import create_app
from scripts.bench.inprocess import authenticated

app = create_app()
floor = APIRoute("/floor/{task_id}", endpoint(authenticated), include_in_schema=False)
app.router.routes.insert(0, floor)
