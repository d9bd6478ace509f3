"""A recording HTTP proxy in front of the lab's local AWS endpoint: it forwards
every request as it is and keeps, for each ELBv2 call, the time, the Action,
the target group, the targets given and, for DescribeTargetHealth, the state
of each target in the answer."""

import http.client
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

ELBV2_VERSION = "2015-12-01"


class Recorder:
    def __init__(self, upstream):
        self.upstream = urlparse(upstream)
        self.calls, self._lock = [], threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802  (the name http.server calls)
                recorder.forward(self)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def forward(self, handler):
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        sent = time.time()
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        headers = {k: v for k, v in handler.headers.items() if k.lower() != "host"}
        connection.request(handler.command, handler.path, body=body, headers=headers)
        answer = connection.getresponse()
        data = answer.read()
        handler.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
        self._record(sent, body, data)

    def _record(self, sent, body, answer):
        form = parse_qs(body.decode("utf-8", "replace"))
        if form.get("Version") != [ELBV2_VERSION] or "Action" not in form:
            return
        call = {"time": sent, "action": form["Action"][0], "arn": (form.get("TargetGroupArn") or [""])[0],
                "targets": [v[0] for k, v in form.items() if re.fullmatch(r"Targets\.member\.\d+\.Id", k)]}
        if call["action"] == "DescribeTargetHealth":
            text = answer.decode("utf-8", "replace")
            call["states"] = dict(re.findall(r"<Target>.*?<Id>(.*?)</Id>.*?</Target>.*?<State>(.*?)</State>",
                                             text, re.S))
        with self._lock:
            self.calls.append(call)

    def clear(self):
        with self._lock:
            self.calls.clear()
