# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One instance C(pakashop-<service>@<i>) of a service as its gates see it:
systemd's state of the unit (and of its socket unit, for a service that takes
its listening socket from systemd), its HTTP health (who answered, and its
version), its journal.

Private to the collection: only its modules import this.
"""

from __future__ import annotations

import json
import time
from urllib.error import HTTPError, URLError

from ansible.module_utils.urls import open_url
from ansible_collections.pakashop.infra.plugins.module_utils._catalog import instance_port

UNIT_PROPERTIES = ("ActiveState", "SubState", "NRestarts", "MainPID", "ActiveEnterTimestamp")


class Instance:
    """Instance `index` of the service `target` names (service, port,
    health_path, identity_field, version_field, expected_version; the
    module's own options by default)."""

    def __init__(self, module, index, target=None):
        target = target or module.params
        self.target = target
        self.module = module
        self.index = index
        self.expected = target["expected_version"]
        self.service = target["service"]
        self.identity_field = target["identity_field"]
        self.version_field = target["version_field"]
        if not self.version_field:
            module.fail_json(msg=f"{self.service}: version_field cannot be empty; it names the key "
                                 "of the health answer that holds the version")
        self.unit = f"pakashop-{self.service}@{index}.service"
        self.socket_unit = f"pakashop-{self.service}@{index}.socket" if target.get("socket") else None
        self.port = instance_port(target["port"], index)
        self.url = f"http://{module.params['address']}:{self.port}{target['health_path']}"
        self.state = {}
        self.gate = "unit"
        self.healthy_since = None  # (monotonic time, pid, restarts) of the first good probe
        self.first_restarts = None

    def hopeless(self):
        """True when waiting longer cannot help: systemd gave up, its process died
        and systemd waits to start it again (auto-restart: it did not stay up), or it crash-loops."""
        return self.state.get("active_state") == "failed" or self.state.get("sub_state") == "auto-restart" or \
            self.state.get("n_restarts", 0) - (self.first_restarts or 0) >= 2

    def probe(self):
        self.state = self.unit_state()
        if self.first_restarts is None:
            self.first_restarts = self.state["n_restarts"]
        # A unit that is not running has nothing to answer; with its socket listening the
        # request would only wait out its timeout in the backlog.
        running = (self.state["active_state"], self.state["sub_state"]) == ("active", "running")
        self.state.update(self.http_health() if running else self.no_answer())
        self.gate = self.failed_gate()
        if self.gate:
            self.healthy_since = None
            return
        marker = (self.state["main_pid"], self.state["n_restarts"])
        if self.healthy_since and self.healthy_since[1:] != marker:
            self.gate, self.healthy_since = "restarting", None
        elif not self.healthy_since:
            self.healthy_since = (time.monotonic(), *marker)

    def settled(self, settle):
        return self.healthy_since is not None and \
            time.monotonic() - self.healthy_since[0] >= settle

    def unit_state(self):
        units = [self.unit] + ([self.socket_unit] if self.socket_unit else [])
        rc, out, err = self.module.run_command(
            ["systemctl", "show", *units, "--timestamp=unix",
             *[f"--property={p}" for p in UNIT_PROPERTIES]])
        blocks = [dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
                  for block in out.split("\n\n")]
        values, socket = (blocks + [{}, {}])[:2]
        state = {"unit": self.unit, "active_state": values.get("ActiveState", "unknown"),
                 "sub_state": values.get("SubState", "unknown"),
                 "n_restarts": _int(values.get("NRestarts")),
                 "main_pid": _int(values.get("MainPID")),
                 "since": values.get("ActiveEnterTimestamp") or None}
        if self.socket_unit:
            # listening, or running while its service runs
            state["socket_state"] = f"{socket.get('ActiveState', 'unknown')}/{socket.get('SubState', 'unknown')}"
        return state

    def http_health(self):
        start = time.monotonic()
        status, answer = None, {}
        try:
            with open_url(self.url, timeout=2, use_proxy=False) as response:
                status = response.status
                answer = json.loads(response.read() or b"{}")
        except HTTPError as exc:
            status = exc.code
        except (URLError, OSError, ValueError):
            pass
        if not isinstance(answer, dict):  # JSON, but not an object: it names nothing
            answer = {}
        return {"url": self.url, "http_status": status, "asked": True,
                "identity": answer.get(self.identity_field) if self.identity_field else None,
                "version": answer.get(self.version_field),
                "latency_ms": round((time.monotonic() - start) * 1000, 1)}

    def no_answer(self):
        return {"url": self.url, "http_status": None, "identity": None, "version": None, "latency_ms": 0.0,
                "asked": False}

    def failed_gate(self):
        s = self.state
        if (s["active_state"], s["sub_state"]) != ("active", "running"):
            return "unit"
        if self.socket_unit and not s["socket_state"].startswith("active/"):
            return "unit"
        if s["http_status"] != 200:
            return "health"
        if self.identity_field and s["identity"] != self.service:
            return "identity"
        if self.expected and s["version"] != self.expected:
            return "version"
        return None

    def read_journal(self):
        params = self.module.params
        since = params["since"] or self.state.get("since")
        command = ["journalctl", "--unit", self.unit, "--priority", params["journal_priority"],
                   "--output", "json", "--no-pager", "--quiet"]
        if since:
            command += ["--since", since]
        rc, out, err = self.module.run_command(command)
        lines = []
        for raw in out.splitlines():
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            message = record.get("MESSAGE")
            if isinstance(message, list):  # journald gives bytes as a list of ints
                message = bytes(message).decode("utf-8", "replace")
            lines.append(message or "")
        self.state["journal_count"] = len(lines)
        self.state["journal"] = lines[-params["journal_lines"]:] if params["journal_lines"] else []

    def verdict(self):
        s = self.state
        facts = (f"{s['active_state']}/{s['sub_state']}, "
                 + (f"socket {s['socket_state']}, " if self.socket_unit else "")
                 + (f"HTTP {s['http_status']} in {s['latency_ms']:.0f} ms" if s["http_status"]
                    else "health not answering" if s.get("asked", True) else "health not asked")
                 + f", version {(s['version'] or '?')[:7]}, {s['n_restarts']} restarts")
        if s.get("journal_count"):
            facts += f", {s['journal_count']} journal lines >= {self.module.params['journal_priority']}"
        if not self.gate:
            return f"{self.unit}: healthy - {facts}"
        unit_down = (s["active_state"], s["sub_state"]) != ("active", "running")
        why = {"unit": "the unit is not active/running" if unit_down
                       else f"its socket {self.socket_unit} is not listening",
               "restarting": "it restarted while being checked",
               "health": "the health endpoint does not answer 200",
               "identity": self.identity_mismatch(),
               "version": f"it reports {(s['version'] or '?')[:12]}, expected {(self.expected or '')[:12]}",
               }[self.gate]
        return f"{self.unit}: gate '{self.gate}' failed - {why} ({facts})"

    def identity_mismatch(self):
        """Why the health answer does not count as this service's."""
        answered = self.state.get("identity")
        if answered is None:
            return (f"the health answer on port {self.port} has no '{self.identity_field}' field to name "
                    f"{self.service} (set identity_field in the service's catalog entry to the field "
                    "that names it, or to an empty string to skip this check)")
        return f"port {self.port} is answered by {answered}, not {self.service} (is another service on this port?)"


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


# One service's health endpoints (doc fragment pakashop.infra.health_endpoint).
ENDPOINT_ARGUMENT_SPEC = {
    "service": {"type": "str", "required": True},
    "port": {"type": "int", "required": True},
    "health_path": {"type": "str", "default": "/healthz"},
    "identity_field": {"type": "str", "default": "service"},
    "version_field": {"type": "str", "default": "version"},
    "socket": {"type": "bool", "default": False},
}

# How a gate waits and reads the journal (pakashop.infra.health_endpoint.gates).
GATE_ARGUMENT_SPEC = {
    "address": {"type": "str", "default": "127.0.0.1"},
    "timeout": {"type": "int", "default": 30},
    "interval": {"type": "float", "default": 0.2},
    "settle": {"type": "float", "default": 1.0},
    "since": {"type": "str"},
    "journal_priority": {"type": "str", "default": "warning",
                         "choices": ["emerg", "alert", "crit", "err", "warning",
                                     "notice", "info", "debug"]},
    "journal_lines": {"type": "int", "default": 10},
    "warn_on_journal": {"type": "bool", "default": True},
}


def wait_for_gates(instances, timeout, interval, settle):
    """Probe until every instance passed its gates (and stayed so `settle`
    seconds), waiting cannot help any more, or `timeout` ran out; then name
    each instance's failed gate and read its journal. timeout 0: one probe."""
    settle = settle if timeout else 0
    deadline = time.monotonic() + timeout
    while True:
        pending = [i for i in instances if not i.settled(settle) and not i.hopeless()]
        for instance in pending:
            instance.probe()
        if all(i.settled(settle) or i.hopeless() for i in instances) \
                or time.monotonic() >= deadline:
            break
        time.sleep(interval)
    for instance in instances:
        if instance.hopeless() and instance.state.get("active_state") != "failed" \
                and instance.state.get("sub_state") != "auto-restart":
            instance.gate = "restarting"  # crash-looping: whatever the last probe caught
        elif not instance.gate and not instance.settled(settle):
            instance.gate = "restarting"
        instance.read_journal()


def warn_on_journal(module, instances):
    for i in instances:
        if i.state.get("journal_count"):
            module.warn(f"{i.unit}: {i.state['journal_count']} journal lines of priority "
                        f"{module.params['journal_priority']} or worse since it started; newest: "
                        + " | ".join(i.state["journal"][-3:]))


def gate_result(instances):
    """What service_health and rolling_restart return about the instances."""
    return {"failed_gates": [{"unit": i.unit, "gate": i.gate} for i in instances if i.gate],
            "verdicts": [i.verdict() for i in instances],
            "instances": [{**i.state, "gate": i.gate} for i in instances]}
