"""pakashop.infra.rolling_restart's order and stops, run by Ansible's module
runner against real HTTP health endpoints on loopback. systemctl and
journalctl are stand-ins on PATH that log each call: the real restarts and
gates run on the lab's hosts in the integration tests and Molecule."""

import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[4]
MODULE = CHECKOUT / "plugins/modules/rolling_restart.py"
COMMIT = "3f4a2761c0ffee0ddba11c0de5ca1ab1e5eed5ed"

# Answers `show` as a running unit, `is-enabled` per a list of disabled units,
# everything else with 0; logs every call.
SYSTEMCTL = """#!/bin/sh
echo "$*" >> "$CALLS"
case "$1" in
  show) printf 'ActiveState=active\\nSubState=running\\nNRestarts=0\\nMainPID=42\\nActiveEnterTimestamp=@1\\n' ;;
  is-enabled) grep -qx "$3" "$DISABLED" && exit 1 || exit 0 ;;
esac
exit 0
"""


class Endpoints:
    """One HTTP server per port; each answers /healthz with its version."""

    def __init__(self, count):
        self.versions, self.servers = {}, []
        self.base = self._free_ports(count)
        for port in range(self.base, self.base + count):
            self.versions[port] = COMMIT
            handler = self._handler(port)
            server = ThreadingHTTPServer(("127.0.0.1", port), handler)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self.servers.append(server)

    def _handler(self, port):
        versions = self.versions

        class Health(BaseHTTPRequestHandler):
            def do_GET(self):
                body = json.dumps({"version": versions[port]}).encode()
                self.send_response(200)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass
        return Health

    @staticmethod
    def _free_ports(count):
        for base in range(41000, 60000, 97):
            sockets = []
            try:
                for port in range(base, base + count):
                    sock = socket.socket()
                    sock.bind(("127.0.0.1", port))
                    sockets.append(sock)
                return base
            except OSError:
                continue
            finally:
                for sock in sockets:
                    sock.close()
        raise RuntimeError("no free ports")

    def close(self):
        for server in self.servers:
            server.shutdown()
            server.server_close()


@pytest.fixture
def endpoints():
    served = Endpoints(3)
    yield served
    served.close()


def restart(tmp_path, services, disabled=(), check=False, **args):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, text in (("systemctl", SYSTEMCTL), ("journalctl", "#!/bin/sh\nexit 0\n")):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    (tmp_path / "disabled").write_text("".join(f"{unit}\n" for unit in disabled))
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {
        "services": services, "settle": 0.2, "interval": 0.05, "timeout": 2,
        **({"_ansible_check_mode": True} if check else {}), **args}}))
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(tmp_path / "calls"),
           "DISABLED": str(tmp_path / "disabled"), "PYTHONPATH": str(CHECKOUT / ".cache/collections")}
    (tmp_path / "calls").write_text("")
    result = subprocess.run([sys.executable, MODULE, args_file], capture_output=True, text=True,
                            env=env, check=False)
    calls = (tmp_path / "calls").read_text().splitlines()
    return json.loads(result.stdout), [c.split()[1] for c in calls if c.startswith("restart ")], calls


def two_services(endpoints):
    """api@1 and api@2 on the first two ports, gateway@1 on the third."""
    return [{"service": "api", "instances": 2, "port": endpoints.base, "expected_version": COMMIT},
            {"service": "gateway", "port": endpoints.base + 2, "expected_version": COMMIT}]


def test_instances_restart_in_waves_instance_1_of_every_service_first(tmp_path, endpoints):
    result, restarts, _calls = restart(tmp_path, two_services(endpoints))
    assert result["changed"] is True, result
    # Service by service would be api@1, api@2, gateway@1.
    assert restarts == ["pakashop-api@1.service", "pakashop-gateway@1.service", "pakashop-api@2.service"]
    assert result["restarted"] == restarts and result["failed_gates"] == []


def test_a_failed_gate_stops_before_the_next_wave(tmp_path, endpoints):
    endpoints.versions[endpoints.base] = "0" * 40  # api@1 keeps answering an old commit
    result, restarts, _calls = restart(tmp_path, two_services(endpoints))
    assert result["failed"] is True
    assert restarts == ["pakashop-api@1.service", "pakashop-gateway@1.service"]  # api@2 untouched
    assert result["failed_gates"] == [{"unit": "pakashop-api@1.service", "gate": "version"}]
    assert "pakashop-api@1.service: gate 'version' failed" in result["msg"]


def test_only_unhealthy_restarts_only_the_instance_on_another_commit(tmp_path, endpoints):
    endpoints.versions[endpoints.base + 1] = "0" * 40
    services = [two_services(endpoints)[0]]
    result, restarts, _calls = restart(tmp_path, services, only_unhealthy=True, timeout=1)
    assert restarts == ["pakashop-api@2.service"]
    assert result["failed_gates"] == [{"unit": "pakashop-api@2.service", "gate": "version"}]


def test_a_healthy_service_is_left_alone_but_a_disabled_instance_is_enabled(tmp_path, endpoints):
    services = [two_services(endpoints)[0]]
    result, restarts, calls = restart(tmp_path, services, disabled=["pakashop-api@2.service"],
                                      only_unhealthy=True)
    assert restarts == [] and result["enabled"] == ["pakashop-api@2.service"]
    assert result["changed"] is True
    assert "enable --quiet pakashop-api@2.service" in calls


def test_check_mode_restarts_and_enables_nothing_and_says_what_it_would(tmp_path, endpoints):
    result, restarts, calls = restart(tmp_path, two_services(endpoints), check=True,
                                      disabled=["pakashop-api@2.service"])
    assert restarts == [] and not any(c.startswith("enable") for c in calls)
    assert result["changed"] is True
    assert result["restarted"] == ["pakashop-api@1.service", "pakashop-gateway@1.service",
                                   "pakashop-api@2.service"]
