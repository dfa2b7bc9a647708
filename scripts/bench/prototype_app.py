"""The real app with GET /api/v1/tasks/{task_id} and POST /api/v1/tasks served by the prototypes
of scripts/bench/prototype.py (the levers of docs/performance.md applied), everything else as is.
For measurement only:

    BENCH_APP=scripts.bench.prototype_app:app BENCH_ENDPOINTS=get,create make bench
"""

from app.core.config import get_settings
from app.main import create_app

from . import prototype

settings = get_settings()
app = create_app(settings)
# The engine connects lazily, on the server's event loop, after the app's startup has migrated.
prototype.install(app, prototype.prototype_database(settings), prefix="/api/v1/tasks", first=True)
