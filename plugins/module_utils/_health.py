# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One instance C(pakashop-<service>@<i>) of a service as its gates see it:
systemd's state of the unit (and of its socket unit, for a service that takes
its listening socket from systemd), its readiness and version, its journal.

A service says it is ready in one of three ways (its catalog's C(readiness)):
  http     its health endpoint answers 200 with its name and version (JSON)
  notify   it told systemd READY=1, and its name and version in STATUS=
           (Type=notify; systemd keeps the status as the unit's StatusText)
  command  a command run on the host as the service's user exits 0 and
           prints the version on its last line

Private to the collection: only its modules import this.
"""

from __future__ import annotations

import json
import os
import threading
import time
from urllib.error import HTTPError, URLError

from ansible.module_utils.urls import open_url
from ansible_collections.pakashop.infra.plugins.module_utils._catalog import READINESS, instance_port, unit_name

UNIT_PROPERTIES = ("ActiveState", "SubState", "NRestarts", "MainPID", "ActiveEnterTimestamp")
# Of a notify instance too: what it told systemd (sd_notify STATUS=), and the job
# that starts it, pending until it says READY=1.
NOTIFY_PROPERTIES = ("StatusText", "Job")
# Seconds a readiness command may run; past them its probe fails gate 'ready'.
COMMAND_TIMEOUT = 10
# The readiness command's PATH (systemd's default for services).
COMMAND_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Instance:
    """Instance `index` of the service `target` names (service, port,
    health_path, identity_field, version_field, socket, expected_version, and
    readiness with readiness_command; the module's own options by default).
    readiness is http when the target does not say."""

    def __init__(self, module, index, target=None):
        target = target or module.params
        self.target = target
        self.module = module
        self.index = index
        self.expected = target["expected_version"]
        self.service = target["service"]
        self.readiness = target.get("readiness") or "http"
        self.command = target.get("readiness_command")
        # A readiness command's answer names no service: nothing to check it against.
        self.identity_field = target["identity_field"] if self.readiness != "command" else ""
        self.version_field = target["version_field"]
        problem = self.target_problem(target)
        if problem:
            module.fail_json(msg=f"{self.service}: {problem}")
        self.unit = f"{unit_name(self.service)}@{index}.service"
        self.socket_unit = f"{unit_name(self.service)}@{index}.socket" if target.get("socket") else None
        self.port = instance_port(target.get("port"), index)
        self.url = f"http://{module.params['address']}:{self.port}{target['health_path']}" \
            if self.readiness == "http" else None
        # systemctl start and restart of a notify instance return at once: its gate,
        # not systemctl, waits for READY=1 (and gives up at its timeout).
        self.no_block = self.readiness == "notify"
        self.state = {}
        self.gate = "unit"
        self.healthy_since = None  # (monotonic time, pid, restarts) of the first good probe
        self.last_good = None  # monotonic time of the newest good probe with that pid and restart count
        self.first_restarts = None

    def target_problem(self, target):
        """Why the target cannot be gated, or None."""
        if self.readiness not in READINESS:
            return f"readiness is {self.readiness!r}; give one of {', '.join(READINESS)}"
        if self.readiness == "http" and target.get("port") is None:
            return "readiness http needs the port its health endpoint answers on"
        if self.readiness == "command" and not (self.command or "").strip():
            return "readiness command needs readiness_command, the command that says whether an instance is ready"
        if self.readiness != "command" and not self.version_field:
            what = "health answer" if self.readiness == "http" else "sd_notify status"
            return f"version_field cannot be empty; it names the key of the {what} that holds the version"
        return None

    def hopeless(self):
        """True when waiting longer cannot help: systemd gave up, its process died
        and systemd waits to start it again (auto-restart: it did not stay up), or it crash-loops."""
        return self.state.get("active_state") == "failed" or self.state.get("sub_state") == "auto-restart" or \
            self.state.get("n_restarts", 0) - (self.first_restarts or 0) >= 2

    def probe(self, blocks=None):
        self.state = self.unit_state(blocks)
        if self.first_restarts is None:
            self.first_restarts = self.state["n_restarts"]
        # A unit that is not running has nothing to answer; with its socket listening an
        # HTTP request would only wait out its timeout in the backlog.
        running = (self.state["active_state"], self.state["sub_state"]) == ("active", "running")
        ask = {"http": self.http_health, "notify": self.notify_status, "command": self.command_status}[self.readiness]
        self.state.update(ask() if running or self.readiness == "notify" else self.no_answer())
        self.gate = self.failed_gate()
        if self.gate:
            self.healthy_since = None
            return
        marker = (self.state["main_pid"], self.state["n_restarts"])
        if self.healthy_since and self.healthy_since[1:] != marker:
            self.gate, self.healthy_since = "restarting", None
            return
        self.last_good = time.monotonic()
        if not self.healthy_since:
            self.healthy_since = (self.last_good, *marker)

    def settled(self, settle):
        """Whether a probe at least `settle` seconds after the first good one still found it
        good, with the same PID and restart count."""
        return self.healthy_since is not None and self.last_good - self.healthy_since[0] >= settle

    def settles_in(self, settle):
        """Seconds until its stability window ends (0 when it has), or None while it is not healthy."""
        if self.healthy_since is None:
            return None
        return max(0.0, self.healthy_since[0] + settle - time.monotonic())

    @property
    def shown_units(self):
        """The units whose state gate 'unit' reads: the instance's, and its socket's."""
        return [self.unit] + ([self.socket_unit] if self.socket_unit else [])

    def unit_state(self, blocks=None):
        """systemd's state of the instance; `blocks` is what `systemctl show` printed for its
        shown_units, when probe_all asked for several instances at once."""
        if blocks is None:
            blocks = show_units(self.module, self.shown_units, self.readiness == "notify")
        values, socket = (blocks + [{}, {}])[:2]
        state = {"unit": self.unit, "active_state": values.get("ActiveState", "unknown"),
                 "sub_state": values.get("SubState", "unknown"),
                 "n_restarts": _int(values.get("NRestarts")),
                 "main_pid": _int(values.get("MainPID")),
                 "since": values.get("ActiveEnterTimestamp") or None, "readiness": self.readiness}
        if self.readiness == "notify":
            state["status_text"] = values.get("StatusText") or None
            state["job"] = values.get("Job") or None  # its start or restart, until READY=1
        if self.socket_unit:
            # listening, or running while its service runs
            state["socket_state"] = f"{socket.get('ActiveState', 'unknown')}/{socket.get('SubState', 'unknown')}"
        return state

    def http_health(self):
        """Ask the health endpoint (2 s at most). Given up as soon as the process asked dies: its
        socket, which systemd holds, would keep the request in its backlog for the whole 2 s, and
        meanwhile a release that crashes at start sits unseen in systemd's restart delay while the
        connections that reach its socket wait too."""
        start = time.monotonic()
        asked = {}
        thread = threading.Thread(target=self._ask_health, args=(asked,), daemon=True)
        thread.start()
        # (a process that is already gone, or that this host does not show, is not watched)
        pid = self.state.get("main_pid")
        watched = f"/proc/{pid}" if pid and os.path.exists(f"/proc/{pid}") else None
        while thread.is_alive():
            thread.join(0.05)
            if watched and not os.path.exists(watched):
                break
        status, answer = asked.get("status"), asked.get("answer", {})
        if not isinstance(answer, dict):  # JSON, but not an object: it names nothing
            answer = {}
        return {"url": self.url, "http_status": status, "asked": True,
                "identity": answer.get(self.identity_field) if self.identity_field else None,
                "version": answer.get(self.version_field),
                "latency_ms": round((time.monotonic() - start) * 1000, 1)}

    def _ask_health(self, asked):
        """The health request itself, in its own thread (http_health): into `asked`, its
        status and JSON answer."""
        try:
            with open_url(self.url, timeout=2, use_proxy=False) as response:
                asked["status"] = response.status
                asked["answer"] = json.loads(response.read() or b"{}")
        except HTTPError as exc:
            asked["status"] = exc.code
        except (URLError, OSError, ValueError):
            pass

    def no_answer(self):
        """What a probe of a unit that is not running finds: nothing asked."""
        return {"url": self.url, "http_status": None, "identity": None, "version": None, "latency_ms": 0.0,
                "command_rc": None, "command_output": None, "asked": False}

    def notify_status(self):
        """The name and version in what the instance told systemd (STATUS=, read
        by unit_state as StatusText): words key=value, for example
        service=notifications version=3f4a2761c0ff..."""
        words = dict(word.split("=", 1) for word in (self.state.get("status_text") or "").split() if "=" in word)
        return {"identity": words.get(self.identity_field) if self.identity_field else None,
                "version": words.get(self.version_field)}

    def command_status(self):
        """Run the readiness command as the service's user, bounded: its exit code,
        its last line (the version when it exits 0), how long it took. Not run
        while the unit is not active/running."""
        if (self.state["active_state"], self.state["sub_state"]) != ("active", "running"):
            return {"command_rc": None, "command_output": None, "identity": None, "version": None, "latency_ms": None}
        env = [f"PAKASHOP_SERVICE={self.service}", f"PAKASHOP_INSTANCE={self.index}"] + \
            ([f"PORT={self.port}"] if self.port is not None else [])
        start = time.monotonic()
        rc, out, err = self.module.run_command(
            ["runuser", "-u", unit_name(self.service), "--", "timeout", "--kill-after=2", str(COMMAND_TIMEOUT),
             "env", "-i", f"PATH={COMMAND_PATH}", *env, "/bin/sh", "-c", self.command], cwd="/")
        said = out.strip().splitlines()
        last = (said if rc == 0 else err.strip().splitlines() or said) or [""]
        return {"command_rc": rc, "command_output": last[-1].strip()[:200], "identity": None,
                "version": said[-1].strip() if rc == 0 and said else None,
                "latency_ms": round((time.monotonic() - start) * 1000, 1)}

    def waiting_for_ready(self):
        """A notify instance that has not said READY=1: activating (not in systemd's
        restart delay after a crash), or active with a restart still queued."""
        s = self.state
        return self.readiness == "notify" and (
            (s["active_state"] == "activating" and s["sub_state"] != "auto-restart") or bool(s.get("job")))

    def failed_gate(self):
        s = self.state
        if self.waiting_for_ready():
            return "ready"
        if (s["active_state"], s["sub_state"]) != ("active", "running"):
            return "unit"
        if self.socket_unit and not s["socket_state"].startswith("active/"):
            return "unit"
        if self.readiness == "http" and s["http_status"] != 200:
            return "health"
        if self.readiness == "command" and s["command_rc"] != 0:
            return "ready"
        if self.identity_field and s["identity"] != self.service:
            return "identity"
        if self.expected and s["version"] != self.expected:
            return "version"
        return None

    def read_journal(self):
        params = self.module.params
        since = self.target.get("since") or params["since"] or self.state.get("since")
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
                 + self.readiness_facts()
                 + f", version {(s['version'] or '?')[:7]}, {s['n_restarts']} restarts")
        if s.get("journal_count"):
            facts += f", {s['journal_count']} journal lines >= {self.module.params['journal_priority']}"
        if not self.gate:
            return f"{self.unit}: healthy - {facts}"
        unit_down = (s["active_state"], s["sub_state"]) != ("active", "running")
        why = {"unit": lambda: "the unit is not active/running" if unit_down
                               else f"its socket {self.socket_unit} is not listening",
               "restarting": lambda: "it restarted while being checked",
               "health": lambda: "the health endpoint does not answer 200",
               "ready": self.not_ready,
               "identity": self.identity_mismatch,
               "version": self.version_mismatch,
               }[self.gate]()
        return f"{self.unit}: gate '{self.gate}' failed - {why} ({facts})"

    def readiness_facts(self):
        """What the last probe of its readiness found, in a few words."""
        s = self.state
        if self.readiness == "http":
            if s["http_status"]:
                return f"HTTP {s['http_status']} in {s['latency_ms']:.0f} ms"
            return "health not answering" if s.get("asked", True) else "health not asked"
        if self.readiness == "notify":
            return f"status '{s['status_text']}'" if s.get("status_text") else "no status"
        if s.get("command_rc") is None:
            return "readiness command not run"
        return f"readiness command exited {s['command_rc']} in {s['latency_ms']:.0f} ms"

    def not_ready(self):
        """Why gate 'ready' failed."""
        s = self.state
        if self.readiness == "notify":
            if (s["active_state"], s["sub_state"]) == ("active", "running"):
                return "its restart is still queued in systemd"
            return "it has not told systemd READY=1 (sd_notify)"
        if s["command_rc"] == 124:  # timeout(1)'s
            return f"its readiness command did not finish within {COMMAND_TIMEOUT} s"
        return f"its readiness command exited {s['command_rc']}" + \
            (f": {s['command_output']}" if s.get("command_output") else "")

    def identity_mismatch(self):
        """Why the health answer (or the sd_notify status) does not count as this service's."""
        answered = self.state.get("identity")
        if self.readiness == "notify":
            if answered is None:
                return (f"its status (sd_notify STATUS=) has no '{self.identity_field}=' word to name {self.service} "
                        "(set identity_field in the service's catalog entry to the key that names it, or to an "
                        "empty string to skip this check)")
            return f"its status names {answered}, not {self.service}"
        if answered is None:
            return (f"the health answer on port {self.port} has no '{self.identity_field}' field to name "
                    f"{self.service} (set identity_field in the service's catalog entry to the field "
                    "that names it, or to an empty string to skip this check)")
        return f"port {self.port} is answered by {answered}, not {self.service} (is another service on this port?)"

    def version_mismatch(self):
        reported = self.state.get("version")
        why = f"it reports {(reported or '?')[:12]}, expected {(self.expected or '')[:12]}"
        if reported is None and self.readiness == "notify":
            why += f" (its status, sd_notify STATUS=, has no '{self.version_field}=' word)"
        elif reported is None and self.readiness == "command":
            why += " (its readiness command printed nothing)"
        return why


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


# How one service's instances say they are ready (doc fragment pakashop.infra.health_endpoint).
ENDPOINT_ARGUMENT_SPEC = {
    "service": {"type": "str", "required": True},
    "port": {"type": "int"},
    "readiness": {"type": "str", "default": "http", "choices": list(READINESS)},
    "readiness_command": {"type": "str"},
    "health_path": {"type": "str", "default": "/healthz"},
    "identity_field": {"type": "str", "default": "service"},
    "version_field": {"type": "str", "default": "version"},
    "socket": {"type": "bool", "default": False},
}


def gate_target(spec, expected_version, **extra):
    """The target an Instance takes, from a service's options (ENDPOINT_ARGUMENT_SPEC's
    keys, as in a module's services[] entry), expecting `expected_version`."""
    return {**{key: spec[key] for key in ENDPOINT_ARGUMENT_SPEC}, "expected_version": expected_version, **extra}


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


def show_units(module, units, notify=False):
    """What one `systemctl show` says of each unit: a dict of its properties, in the order of `units`."""
    properties = UNIT_PROPERTIES + (NOTIFY_PROPERTIES if notify else ())
    rc, out, err = module.run_command(
        ["systemctl", "show", *units, "--timestamp=unix", *[f"--property={p}" for p in properties]])
    return [dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
            for block in out.split("\n\n")]


def probe_all(instances):
    """Probe every instance, with one `systemctl show` for all of them (a process per
    instance and probe would cost each host CPU that a deploy of many instances feels)."""
    if not instances:
        return
    units = [u for i in instances for u in i.shown_units]
    blocks = show_units(instances[0].module, units, any(i.readiness == "notify" for i in instances))
    blocks += [{}] * (len(units) - len(blocks))
    for instance in instances:
        count = len(instance.shown_units)
        instance.probe(blocks[:count])
        blocks = blocks[count:]


def wait_for_gates(instances, timeout, interval, settle):
    """Probe until every instance passed its gates (and stayed so `settle`
    seconds), waiting cannot help any more, or `timeout` ran out; then name
    each instance's failed gate and read its journal. timeout 0: one probe."""
    settle = settle if timeout else 0
    deadline = time.monotonic() + timeout
    while True:
        pending = [i for i in instances if not i.settled(settle) and not i.hopeless()]
        probe_all(pending)
        if all(i.settled(settle) or i.hopeless() for i in instances) \
                or time.monotonic() >= deadline:
            break
        # The next probe at `interval`, or as a stability window ends if that comes first: a
        # gate passes on the probe that closes its window, not up to an interval later.
        ends = [i.settles_in(settle) for i in pending if not i.gate and not i.settled(settle)]
        pause = min([interval] + [end for end in ends if end is not None])
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
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
