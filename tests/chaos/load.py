"""A bounded load generator: GET one URL at a fixed rate from a few threads.

Request i is due at start + i / rate; each worker takes the next due request,
waits for its time, sends it on a fresh connection and records when it was
due, how long it took from then and whether it failed. Latency counts from
the due time, not the send, so a stall that holds every worker back shows in
p99 instead of hiding as requests that were sent late (coordinated omission).
It stops at ``max_requests`` or ``max_seconds``, whichever comes first, so a
run can never grow unbounded; ``ran_out`` then says that it stopped before it
was told to.
"""

import http.client
import ipaddress
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Sample:
    due: float        # monotonic time the request was due (scheduled)
    latency: float    # seconds from then until its answer
    error: str        # "" when the answer was a 200


def lab_only(url):
    """Refuse any address that is not loopback or a private lab address."""
    host = urlsplit(url).hostname
    address = ipaddress.ip_address(host)
    if not (address.is_loopback or address.is_private):
        raise ValueError(f"load goes only to the lab's own addresses, not {host}")
    return url


class Load:
    def __init__(self, url, rate=150, max_requests=20000, max_seconds=600, workers=16, timeout=5):
        self.url = lab_only(url)
        self.rate = rate
        self.max_requests = max_requests
        self.max_seconds = max_seconds
        self.workers = workers
        self.timeout = timeout
        self.samples = []
        self._lock = threading.Lock()
        self._next = 0
        self._stop = threading.Event()
        self._threads = []
        self.started = None
        self.ran_out = False

    def start(self):
        self.started = time.monotonic()
        self._threads = [threading.Thread(target=self._work, daemon=True) for worker in range(self.workers)]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)
        return self.samples

    def _due(self):
        with self._lock:
            index = self._next
            self._next += 1
        due = self.started + index / self.rate
        if index >= self.max_requests or due - self.started > self.max_seconds:
            self.ran_out = self.ran_out or not self._stop.is_set()
            return None
        return due

    def _work(self):
        parts = urlsplit(self.url)
        while not self._stop.is_set():
            due = self._due()
            if due is None:
                return
            delay = due - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            error = ""
            try:
                conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=self.timeout)
                try:
                    conn.request("GET", parts.path or "/", headers={"Connection": "close"})
                    answer = conn.getresponse()
                    answer.read()
                    if answer.status != 200:
                        error = f"HTTP {answer.status}"
                finally:
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                error = type(exc).__name__
            sample = Sample(due, time.monotonic() - due, error)
            with self._lock:
                self.samples.append(sample)


def percentile(values, share):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def summary(samples, begin=float("-inf"), end=float("inf")):
    """Counts and p50/p99/max latency (ms) of the samples due in [begin, end)."""
    chosen = [s for s in samples if begin <= s.due < end]
    latencies = [s.latency * 1000 for s in chosen]
    errors = [s.error for s in chosen if s.error]
    return {"requests": len(chosen), "errors": len(errors),
            "error_kinds": sorted(set(errors)),
            "p50_ms": round(percentile(latencies, 0.50), 1) if latencies else None,
            "p99_ms": round(percentile(latencies, 0.99), 1) if latencies else None,
            "max_ms": round(max(latencies), 1) if latencies else None}
