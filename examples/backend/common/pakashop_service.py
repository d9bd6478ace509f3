"""The small stdlib-only HTTP runtime shared by Pakashop's sample services.

Every service answers ``GET /healthz`` with its name and the commit it runs
(read from the ``REVISION`` file that the deploy writes at the release root)
and logs to stderr, which systemd sends to the journal. A ``<3>`` prefix
makes a line priority "err" in the journal. A worker without a port tells
systemd instead, through ``sd_notify()``.

It listens on the socket systemd hands it (``LISTEN_FDS``/``LISTEN_PID``, as
``sd_listen_fds`` reads them: fd 3), and binds ``$PORT`` itself otherwise.
On SIGTERM it stops accepting, finishes the requests in flight and exits 0;
connections that arrive meanwhile wait in systemd's socket for the next
process.
"""

import json
import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SD_LISTEN_FDS_START = 3
# How long the requests in flight may take to finish after SIGTERM (systemd's
# TimeoutStopSec is 15 s).
DRAIN_SECONDS = 10

RELEASE_ROOT = Path(__file__).resolve().parent.parent


def release_commit():
    try:
        return (RELEASE_ROOT / "REVISION").read_text().strip()
    except OSError:
        return "unknown"


def log(message, priority=6):
    print(f"<{priority}>{message}", file=sys.stderr, flush=True)


def sd_notify(state):
    """Tell systemd about this process, as sd_notify(3) does: `state` is lines of
    KEY=VALUE, for example "READY=1\nSTATUS=service=notifications version=3f4a276...",
    sent as one datagram to $NOTIFY_SOCKET (a path, or an abstract socket when it
    starts with '@'). False when there is no such socket: outside systemd, or in a
    unit that is not Type=notify; the caller goes on all the same."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address.startswith(("/", "@")):
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.connect(address)
        notify.sendall(state.encode())
    return True


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
                # no keep-alive once the server stops: this request is its connection's last
                self.close_connection = self.close_connection or self.server.draining
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
                if self.close_connection:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, fmt, *args):  # access log off: the journal is for events
                pass

        server = listen(Handler)
        stopping = threading.Event()

        def stop(_signum, _frame):
            # shutdown() waits for serve_forever, which runs in this thread
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        log(f"{self.name} {self.commit} listening on {server.where}")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        if stopping.is_set():
            server.drain()
            log(f"{self.name} stopped after finishing its requests in flight")


class Server(ThreadingHTTPServer):
    """Counts its open connections, so that it can let them finish when told to stop."""

    daemon_threads = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.open = 0
        self.draining = False
        self.counts = threading.Condition()

    def process_request_thread(self, request, client_address):
        with self.counts:
            self.open += 1
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.counts:
                self.open -= 1
                self.counts.notify_all()

    def drain(self):
        """Let the open connections finish (each closes after its request in flight),
        then close the socket; systemd keeps its own copy listening."""
        with self.counts:
            self.draining = True
            self.counts.wait_for(lambda: self.open == 0, timeout=DRAIN_SECONDS)
        self.socket.close()


def listen(handler):
    """The server on systemd's socket when it passed one to this process, else on $PORT."""
    if os.environ.get("LISTEN_PID") == str(os.getpid()) and int(os.environ.get("LISTEN_FDS", "0")) >= 1:
        server = Server(None, handler, bind_and_activate=False)
        # already bound and listening with systemd's backlog: no bind, no listen again
        server.socket = socket.socket(fileno=SD_LISTEN_FDS_START)
        server.server_address = server.socket.getsockname()[:2]
        server.where = f"{server.server_address[0]}:{server.server_address[1]} (socket from systemd)"
        return server
    port = int(os.environ.get("PORT", "8000"))
    server = Server(("0.0.0.0", port), handler)
    server.where = f":{port}"
    return server
