"""The gates of one instance (module_utils/_health.py's Instance and
wait_for_gates) for the readiness kinds without an HTTP health endpoint:
notify (what the instance told systemd: READY=1 and its STATUS=) and command
(a command run as the service's user). systemctl and runuser are the stand-ins
of tests/unit/plugins/conftest.py; the readiness command runs for real, as the
user running the tests. HTTP health is tested through service_health
(tests/unit/plugins/modules/test_service_health.py), but for what its probe
does when the process it asks dies meanwhile (last section)."""

import http.server
import json
import os
import socket
import subprocess
import threading
import time

import pytest

from ansible_collections.pakashop.infra.plugins.module_utils import _health
from ansible_collections.pakashop.infra.plugins.module_utils._health import Instance, wait_for_gates

COMMIT = "3f4a2761c0ffee0ddba11c0de5ca1ab1e5eed5ed"
UNIT = "pakashop-notifications@1.service"
READY = {"StatusText": f"service=notifications version={COMMIT}"}
# Started, READY=1 not said yet: systemd's start job is pending.
STARTING = {"ActiveState": "activating", "SubState": "start", "Job": "1234", "MainPID": "77"}
# Its process died; systemd waits RestartSec= before it starts it again.
CRASHED = {"ActiveState": "activating", "SubState": "auto-restart", "MainPID": "0", "NRestarts": "1"}


class Failed(Exception):
    pass


class Module:
    """What Instance uses of AnsibleModule: params, run_command, fail_json."""

    def __init__(self, env):
        self.env = env
        self.params = {"address": "127.0.0.1", "since": None, "journal_priority": "warning", "journal_lines": 10}

    def run_command(self, args, cwd=None):
        done = subprocess.run(args, capture_output=True, text=True, env=self.env, cwd=cwd, check=False)
        return done.returncode, done.stdout, done.stderr

    def fail_json(self, msg, **_result):
        raise Failed(msg)


@pytest.fixture
def gate(stand_in, tmp_path):
    """gate(units, timeout=..., **target): the instance, after wait_for_gates waited for it
    (settle 0.3 s), systemd seeing its units as `units` says (systemd_stand_in.py)."""
    def wait(units=None, index=1, timeout=5, settle=0.3, **target):
        module = Module(stand_in(units))
        instance = Instance(module, index, {
            "service": "notifications", "readiness": "notify", "expected_version": COMMIT,
            "identity_field": "service", "version_field": "version", "health_path": None, **target})
        wait_for_gates([instance], timeout, 0.05, settle)
        instance.calls = (tmp_path / "calls").read_text().splitlines()
        return instance
    return wait


def timed(gate, *args, **kwargs):
    started = time.monotonic()
    instance = gate(*args, **kwargs)
    return instance, time.monotonic() - started


# --- notify ------------------------------------------------------------------

def test_a_notify_instance_passes_once_active_with_its_name_and_version_in_its_status(gate):
    instance = gate({UNIT: {"show": [STARTING, STARTING, READY]}})
    assert instance.gate is None, instance.verdict()
    assert (instance.state["identity"], instance.state["version"]) == ("notifications", COMMIT)
    assert instance.verdict().startswith(
        f"{UNIT}: healthy - active/running, status 'service=notifications version={COMMIT}', version 3f4a276")


def test_the_status_is_read_word_by_word_and_the_fields_name_the_keys(gate):
    more = {"StatusText": f"sent=12 service=notifications version={COMMIT} queue=0"}
    assert gate({UNIT: {"show": [more]}}).gate is None
    renamed = {"StatusText": f"name=notifications commit={COMMIT} version=0"}
    assert gate({UNIT: {"show": [renamed]}}, identity_field="name", version_field="commit").gate is None
    assert gate({UNIT: {"show": [renamed]}}).gate == "identity"


def test_a_notify_instance_that_never_says_ready_fails_gate_ready_at_the_timeout(gate):
    instance, seconds = timed(gate, {UNIT: {"show": [STARTING]}}, timeout=1)
    assert instance.gate == "ready"
    assert 1 <= seconds < 5
    assert instance.verdict() == (f"{UNIT}: gate 'ready' failed - it has not told systemd READY=1 (sd_notify) "
                                  "(activating/start, no status, version ?, 0 restarts)")


def test_a_notify_instance_that_crashes_at_start_fails_gate_unit_at_once(gate):
    instance, seconds = timed(gate, {UNIT: {"show": [STARTING, CRASHED]}}, timeout=20)
    assert instance.gate == "unit"
    assert seconds < 10  # systemd holds it in auto-restart: waiting cannot help
    assert "the unit is not active/running (activating/auto-restart" in instance.verdict()


def test_an_instance_still_running_with_its_restart_queued_is_not_ready_yet(gate):
    # `systemctl restart --no-block` returned; the old process still runs the same version
    queued = {**READY, "Job": "1235"}
    instance = gate({UNIT: {"show": [queued]}}, timeout=0.5)
    assert instance.gate == "ready"
    assert "gate 'ready' failed - its restart is still queued in systemd" in instance.verdict()


def test_a_restart_while_it_settles_starts_the_settling_again(gate):
    # ready, then restarted by hand (a new PID, same restart count) once, then it holds
    again = {**READY, "MainPID": "43"}
    instance = gate({UNIT: {"show": [READY, STARTING, again]}}, settle=0.5)
    assert instance.gate is None and instance.state["main_pid"] == 43


def test_a_notify_instance_restarted_by_systemd_twice_while_it_settles_is_crash_looping(gate):
    looping = [{**READY, "NRestarts": str(n), "MainPID": str(42 + n)} for n in (0, 1, 2)]
    instance = gate({UNIT: {"show": looping}}, settle=3, timeout=10)
    assert instance.gate == "restarting"


@pytest.mark.parametrize("status, gate_failed, why", [
    (f"service=api version={COMMIT}", "identity", "its status names api, not notifications"),
    (f"version={COMMIT}", "identity", "its status (sd_notify STATUS=) has no 'service=' word to name notifications"),
    ("service=notifications version=0123456789abcdef", "version", "it reports 0123456789ab, expected 3f4a2761c0ff"),
    ("service=notifications", "version", "(its status, sd_notify STATUS=, has no 'version=' word)"),
    ("", "identity", "has no 'service=' word"),
])
def test_a_status_without_the_right_name_or_version_fails_its_gate(gate, status, gate_failed, why):
    instance = gate({UNIT: {"show": [{"StatusText": status}]}}, timeout=0)
    assert instance.gate == gate_failed
    assert why in instance.verdict()


def test_a_notify_start_does_not_block_and_an_http_one_does(gate):
    assert gate(timeout=0).no_block is True
    assert gate(timeout=0, readiness="http", port=8100, health_path="/healthz").no_block is False


# --- command -----------------------------------------------------------------

MAILER = "pakashop-mailer@1.service"


def command(gate, text, units=None, **target):
    return gate(units, service="mailer", readiness="command", readiness_command=text, **target)


def test_a_command_that_exits_0_passes_with_the_version_on_its_last_line(gate):
    instance = command(gate, f"echo warming up; echo {COMMIT}")
    assert instance.gate is None, instance.verdict()
    assert instance.state["version"] == COMMIT and instance.state["command_rc"] == 0
    assert instance.verdict().startswith(f"{MAILER}: healthy - active/running, readiness command exited 0 in ")


def test_a_command_that_fails_fails_gate_ready_with_its_exit_code_and_last_line(gate):
    instance = command(gate, "echo starting; echo 'queue not reachable' >&2; exit 3", timeout=0.5)
    assert instance.gate == "ready"
    assert instance.verdict().startswith(
        f"{MAILER}: gate 'ready' failed - its readiness command exited 3: queue not reachable (active/running, "
        "readiness command exited 3 in ")


def test_a_command_that_prints_another_version_or_none_fails_gate_version(gate):
    other = command(gate, "echo 0123456789abcdef", timeout=0)
    assert other.gate == "version" and "it reports 0123456789ab, expected 3f4a2761c0ff" in other.verdict()
    silent = command(gate, "true", timeout=0)
    assert silent.gate == "version" and "(its readiness command printed nothing)" in silent.verdict()


def test_a_command_that_runs_too_long_fails_gate_ready(gate, monkeypatch):
    monkeypatch.setattr(_health, "COMMAND_TIMEOUT", 1)
    instance, seconds = timed(command, gate, "sleep 20", timeout=0)
    assert instance.gate == "ready" and instance.state["command_rc"] == 124
    assert seconds < 8
    assert "its readiness command did not finish within 1 s" in instance.verdict()


def test_the_command_runs_as_the_service_s_user_with_the_instance_and_its_port_alone(gate):
    said = 'echo "$PAKASHOP_SERVICE $PAKASHOP_INSTANCE ${PORT:-no-port} ${HOME:-no-home} $(pwd)"'
    with_port = command(gate, said, index=2, port=8100, expected_version="mailer 2 8101 no-home /")
    assert with_port.gate is None, with_port.verdict()
    assert any(c.startswith("runuser -u pakashop-mailer -- ") for c in with_port.calls)
    worker = command(gate, said, index=2, expected_version="mailer 2 no-port no-home /")
    assert worker.gate is None, worker.verdict()


def test_the_command_is_not_run_while_the_unit_is_down(gate):
    failed = {"ActiveState": "failed", "SubState": "failed", "MainPID": "0"}
    instance = command(gate, "echo ran", {MAILER: {"show": [failed]}}, timeout=0)
    assert instance.gate == "unit" and instance.state["command_rc"] is None
    assert not any(c.startswith("runuser") for c in instance.calls)
    assert "readiness command not run" in instance.verdict()


# --- what a target must say --------------------------------------------------

@pytest.mark.parametrize("target, words", [
    ({"readiness": "http"}, "notifications: readiness http needs the port its health endpoint answers on"),
    ({"readiness": "command"}, "notifications: readiness command needs readiness_command"),
    ({"readiness": "systemd"}, "notifications: readiness is 'systemd'; give one of http, notify, command"),
    ({"version_field": ""}, "notifications: version_field cannot be empty; it names the key of the sd_notify status"),
])
def test_a_target_that_cannot_be_gated_fails_naming_what_it_lacks(gate, target, words):
    with pytest.raises(Failed, match="^" + words.replace("(", r"\(").replace(")", r"\)")):
        gate(timeout=0, **target)


def test_a_target_without_readiness_is_gated_on_http(stand_in):
    target = {"service": "api", "port": 8100, "health_path": "/healthz", "identity_field": "service",
              "version_field": "version", "expected_version": COMMIT}
    instance = Instance(Module(stand_in()), 2, target)
    assert (instance.readiness, instance.url) == ("http", "http://127.0.0.1:8101/healthz")


# --- http --------------------------------------------------------------------

def test_an_http_probe_gives_up_as_soon_as_the_process_it_asks_dies():
    """Its socket (systemd's) keeps listening with nobody to accept: the request would wait
    in the backlog for the probe's whole 2 s while the crashed release sits in systemd's
    restart delay, unseen by the gate."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(8)
        instance = Instance(Module({}), 1, {
            "service": "api", "readiness": "http", "port": held.getsockname()[1], "health_path": "/healthz",
            "identity_field": "service", "version_field": "version", "expected_version": COMMIT})
        dying = subprocess.Popen(["sleep", "0.3"])  # pylint: disable=consider-using-with
        threading.Thread(target=dying.wait).start()  # reaped at once, as systemd reaps its services
        instance.state = {"main_pid": dying.pid}
        started = time.monotonic()
        answer = instance.http_health()
    assert time.monotonic() - started < 1.5
    assert answer["http_status"] is None and answer["version"] is None


def test_an_http_probe_of_a_live_process_waits_for_its_answer():
    answers = []

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # pylint: disable=invalid-name
            time.sleep(0.3)  # slower than the probe looks at the process
            body = json.dumps({"service": "api", "version": COMMIT}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            answers.append(self.path)

        def log_message(self, *_args):
            pass

    with http.server.HTTPServer(("127.0.0.1", 0), Health) as server:
        threading.Thread(target=server.handle_request).start()
        instance = Instance(Module({}), 1, {
            "service": "api", "readiness": "http", "port": server.server_address[1], "health_path": "/healthz",
            "identity_field": "service", "version_field": "version", "expected_version": COMMIT})
        instance.state = {"main_pid": os.getpid()}
        answer = instance.http_health()
    assert (answer["http_status"], answer["identity"], answer["version"]) == (200, "api", COMMIT)
    assert answers == ["/healthz"]
