"""tests/chaos/load.py and the cases' verdict: a case whose load ran out
before the case ended fails, so no part of a case can pass without traffic."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest


class Ok(BaseHTTPRequestHandler):
    stall = 0.0  # seconds the first request waits for its answer

    def do_GET(self):  # noqa: N802  (http.server's name)
        if Ok.stall:
            time.sleep(Ok.stall)
            Ok.stall = 0.0
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/healthz"
    server.shutdown()


def test_a_load_past_its_bound_says_it_ran_out(scripts, url):
    load = scripts("chaos", "load").load.Load(url, rate=50, max_seconds=0.3, workers=2).start()
    time.sleep(1.0)
    samples = load.stop()
    assert load.ran_out and 0 < len(samples) <= 17


def test_a_load_stopped_inside_its_bound_did_not_run_out(scripts, url):
    load = scripts("chaos", "load").load.Load(url, rate=50, max_seconds=60, workers=2).start()
    time.sleep(0.3)
    samples = load.stop()
    assert not load.ran_out and samples and not [s for s in samples if s.error]


def test_a_stall_shows_in_the_latency_of_the_requests_it_held_back(scripts, url):
    load_module = scripts("chaos", "load").load
    Ok.stall = 0.5
    load = load_module.Load(url, rate=20, max_seconds=60, workers=1).start()
    time.sleep(1.2)
    samples = load.stop()
    # one worker: requests due at 0.05 s, 0.1 s, ... wait behind the stalled first one
    held_back = [s for s in samples if s.due - load.started < 0.3]
    assert len(held_back) >= 4 and all(s.latency > 0.2 for s in held_back), [round(s.latency, 3) for s in samples]
    assert load_module.summary(samples)["p99_ms"] >= 450


def loaded(ran_out):
    sample = SimpleNamespace(due=1.0, latency=0.01, error="")
    return SimpleNamespace(samples=[sample] * 3, load=SimpleNamespace(ran_out=ran_out, max_seconds=900))


def test_a_case_whose_load_ran_out_fails_and_says_so(scripts):
    cases = scripts("chaos", "cases").cases
    result = cases.verdict("a case", "0 failed", [("10 kills landed", True)], loaded(ran_out=True))
    assert not result.ok
    assert result.happened == "FAILED: the load ran out after 900 s, before the case ended"


def test_a_case_under_load_to_its_end_passes_on_its_checks(scripts):
    cases = scripts("chaos", "cases").cases
    result = cases.verdict("a case", "0 failed", [("10 kills landed", True)], loaded(ran_out=False))
    assert result.ok and result.happened == "10 kills landed"
