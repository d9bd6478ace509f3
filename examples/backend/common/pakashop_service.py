"""The small stdlib-only HTTP runtime shared by Pakashop's sample services.

Every service answers ``GET /healthz`` with its name and the commit it runs
(read from the ``REVISION`` file that the deploy writes at the release root),
listens on ``$PORT`` and logs to stderr, which systemd sends to the journal.
A ``<3>`` prefix makes a line priority "err" in the journal.
"""

import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

RELEASE_ROOT = Path(__file__).resolve().parent.parent


def release_commit():
    try:
        return (RELEASE_ROOT / "REVISION").read_text().strip()
    except OSError:
        return "unknown"


def log(message, priority=6):
    print(f"<{priority}>{message}", file=sys.stderr, flush=True)


class Service:
    """A named service: register handlers per path prefix, then ``serve()``."""

    def __init__(self, name, health_details=dict):
        self.name = name
        self.health_details = health_details
        self.commit = release_commit()
        self.started = time.time()
        self.handlers = {}

    def route(self, prefix):
        def register(handler):
            self.handlers[prefix] = handler
            return handler
        return register

    def health(self):
        return {"service": self.name, "version": self.commit, "status": "ok",
                "instance": os.environ.get("PAKASHOP_INSTANCE", "1"),
                "uptime_s": round(time.time() - self.started, 1), **self.health_details()}

    def serve(self):
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                self.dispatch()

            def do_POST(self):
                self.dispatch()

            def dispatch(self):
                if self.path == "/healthz":
                    return self.reply(200, service.health())
                for prefix, handler in service.handlers.items():
                    if self.path.startswith(prefix):
                        length = int(self.headers.get("Content-Length") or 0)
                        body = self.rfile.read(length) if length else b""
                        try:
                            return self.reply(*handler(self, body))
                        except Exception as exc:  # report, never kill the server
                            log(f"{self.command} {self.path} failed: {exc!r}", 3)
                            return self.reply(500, {"error": "internal error"})
                self.reply(404, {"error": f"no route for {self.path}"})

            def reply(self, status, payload):
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, fmt, *args):  # access log off: the journal is for events
                pass

        port = int(os.environ.get("PORT", "8000"))
        server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
        server.daemon_threads = True
        log(f"{self.name} {self.commit} listening on :{port}")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
