"""gateway: the public entry point; forwards /api/... to its environment's api.

The api instances come from ``PAKASHOP_UPSTREAMS_API`` (host:port, comma
separated), which the deploy renders from the inventory. Requests go round
robin; a refused or reset connection is retried on the next instance, so a
restarting api instance costs no request.
"""

import itertools
import os
import sys
import threading
from http.client import HTTPConnection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "common"))
from pakashop_service import Service, log  # noqa: E402

UPSTREAMS = [u for u in os.environ.get("PAKASHOP_UPSTREAMS_API", "").split(",") if u]
service = Service("gateway", health_details=lambda: {"upstreams": len(UPSTREAMS)})
_next = itertools.count()
_lock = threading.Lock()


def forward(method, path, body):
    if not UPSTREAMS:
        return 503, {"error": "no api upstreams configured"}
    with _lock:
        start = next(_next)
    last_error = None
    for i in range(len(UPSTREAMS)):
        upstream = UPSTREAMS[(start + i) % len(UPSTREAMS)]
        host, port = upstream.rsplit(":", 1)
        conn = HTTPConnection(host, int(port), timeout=5)
        try:
            conn.request(method, path, body=body or None)
            answer = conn.getresponse()
            return answer.status, answer.read()
        except (ConnectionError, OSError) as exc:  # refused/reset: try the next one
            last_error = f"{upstream}: {exc}"
        finally:
            conn.close()
    log(f"every api upstream failed, last: {last_error}", 3)
    return 502, {"error": "api unavailable"}


@service.route("/api/")
def api(request, body):
    return forward(request.command, request.path, body)


if __name__ == "__main__":
    service.serve()
