# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private helper: one JSON REST call with a bearer token, a timeout and
retries, through ansible.module_utils.urls. Shared by the GitHub and Vercel
clients (_github.py, _vercel.py). The token goes only into the Authorization
header; no message here contains it."""

from __future__ import annotations

import json
import time
from urllib.error import HTTPError, URLError

from ansible.module_utils.urls import open_url

TIMEOUT = 30
RETRIES = 3
# Answers worth asking again: rate limits and the server's own trouble.
RETRIED = (429, 500, 502, 503, 504)


# The options every module of the frontend half takes (doc fragment api_poll).
POLL_ARGUMENT_SPEC = {
    "wait": {"type": "int", "default": 0},
    "wait_interval": {"type": "float", "default": 2},
    "timeout": {"type": "int", "default": TIMEOUT},
    "retries": {"type": "int", "default": RETRIES},
}


def poll(read, done, wait, interval):
    """Call read() until done(its answer) or `wait` seconds have passed; the
    last answer and the whole seconds waited."""
    started = time.monotonic()
    deadline = started + max(0, wait)
    while True:
        answer = read()
        if done(answer) or time.monotonic() >= deadline:
            return answer, int(time.monotonic() - started)
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


class ApiError(Exception):
    """A call that failed, told in one sentence; `status` is the HTTP status, if any."""

    def __init__(self, message, status=None, detail=""):
        super().__init__(message)
        self.status = status
        self.detail = detail


class JsonApi:
    """Subclasses set NAME (for messages) and may override refusal()."""

    NAME = "the API"
    URL_OPTION = "the API's URL"
    USER_AGENT = "pakashop.infra"

    def __init__(self, api_url, token, timeout=TIMEOUT, retries=RETRIES, backoff=0.5):
        self.api_url = api_url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff

    def headers(self):
        return {"Authorization": f"Bearer {self._token}", "Accept": "application/json",
                "User-Agent": self.USER_AGENT}

    def call(self, method, path, body=None):
        headers = self.headers()
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        url = f"{self.api_url}{path}"
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                with open_url(url, data=data, headers=headers, method=method, timeout=self.timeout,
                              follow_redirects="none") as answer:
                    return json.loads(answer.read() or b"null")
            except HTTPError as e:
                if e.code in RETRIED and not last:
                    time.sleep(self.backoff * 2 ** attempt)
                    continue
                detail = _detail(e)
                raise ApiError(self.refusal(e.code, detail), e.code, detail) from None
            except (URLError, OSError) as e:
                if not last:
                    time.sleep(self.backoff * 2 ** attempt)
                    continue
                reason = getattr(e, "reason", e)
                raise ApiError(f"cannot reach {self.NAME} at {self.api_url} ({reason}); "
                               f"check {self.URL_OPTION} and the network") from None
        raise AssertionError("unreachable")

    def refusal(self, status, detail):
        return f"{self.NAME} refused the request: {status} {detail}".rstrip()


def _detail(error):
    """The message of an error answer: GitHub's {"message"}, Vercel's {"error": {"message"}}."""
    try:
        answer = json.loads(error.read())
    except ValueError:
        return ""
    if not isinstance(answer, dict):
        return ""
    inner = answer.get("error")
    if isinstance(inner, dict) and inner.get("message"):
        return str(inner["message"])
    return str(answer.get("message") or "")
