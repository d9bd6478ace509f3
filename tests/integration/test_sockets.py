"""Socket activation on the lab (issue 14): systemd holds every instance's
listening port, the service takes it (LISTEN_FDS), and a restart of an
instance refuses no connection; `socket: false` goes back to binding."""

import http.client
import threading
import time

import yaml

from ansible_collections.pakashop.infra.plugins.module_utils._catalog import instances
from conftest import CATALOG, CHECKOUT


def staging_instances(lab):
    """(host, service, index, port) of every instance in staging that listens on a port."""
    return [(name, service, i["index"], i["port"]) for name in lab.names("staging")
            for service in lab.by_name(name).services for i in instances(CATALOG, service)
            if i["port"] is not None]


def listener(host, port):
    """The processes `ss` says listen on the port ('users:((...))'), or ''."""
    return host.run(f"ss -Hltnp 'sport = :{port}'").stdout


def show(host, unit, prop):
    return host.check_output(f"systemctl show -p {prop} --value {unit}")


def test_every_instance_listens_on_a_socket_systemd_holds(staging):
    lab = staging
    for name, service, index, port in staging_instances(lab):
        host, unit = lab.host(name), f"pakashop-{service}@{index}"
        where = f"{name} {unit}"
        assert show(host, f"{unit}.socket", "ActiveState") == "active", where
        assert show(host, f"{unit}.socket", "Listen") == f"0.0.0.0:{port} (Stream)", where
        assert host.service(f"{unit}.socket").is_enabled, where
        assert f"{unit}.socket" in show(host, f"{unit}.service", "Requires").split(), where
        # systemd (pid 1) holds the port, and the service has the same socket
        pid = show(host, f"{unit}.service", "MainPID")
        owners = listener(host, port)
        assert '"systemd",pid=1,' in owners and f"pid={pid}," in owners, f"{where}: {owners}"
        environ = host.check_output(f"tr '\\0' '\\n' < /proc/{pid}/environ").splitlines()
        assert "LISTEN_FDS=1" in environ and f"LISTEN_PID={pid}" in environ, where


class Stream:
    """Requests one after another from a few threads straight at one address,
    each on a fresh connection; every answer that is not a 200 is a failure."""

    def __init__(self, address, port, path="/api/products", workers=4):
        self.target = (address, port, path)
        self.stop = threading.Event()
        self.answers, self.failures = 0, []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.work, daemon=True) for worker in range(workers)]

    def work(self):
        address, port, path = self.target
        while not self.stop.is_set():
            try:
                conn = http.client.HTTPConnection(address, port, timeout=10)
                conn.request("GET", path, headers={"Connection": "close"})
                answer = conn.getresponse()
                answer.read()
                conn.close()
                failure = None if answer.status == 200 else f"HTTP {answer.status}"
            except (OSError, http.client.HTTPException) as exc:
                failure = repr(exc)
            with self.lock:
                self.answers += 1
                if failure:
                    self.failures.append(failure)
            time.sleep(0.01)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(15)


def test_a_restart_of_an_instance_under_a_stream_of_requests_fails_none(staging):
    lab = staging
    name = lab.names("staging")[0]
    host, unit, port = lab.host(name), "pakashop-api@1", lab.port("api")
    pids = [show(host, f"{unit}.service", "MainPID")]
    with Stream(lab.by_name(name).address, port) as stream:
        for restart in range(3):
            time.sleep(1)
            host.check_output(f"systemctl restart {unit}.service")
            pids.append(show(host, f"{unit}.service", "MainPID"))
        time.sleep(1)
    assert len(set(pids)) == 4, f"{unit} did not restart each time: {pids}"
    assert stream.answers >= 100, stream.answers
    assert stream.failures == [], f"{len(stream.failures)} of {stream.answers} failed: {stream.failures[:5]}"


def test_socket_false_goes_back_to_binding_the_port_itself(staging, tmp_path):
    lab = staging
    services = yaml.safe_load((CHECKOUT / "inventories/group_vars/all/services.yml").read_text())
    services["pakashop_service_catalog"]["moderation"]["socket"] = False
    bound = tmp_path / "bound.yml"
    bound.write_text(yaml.safe_dump(services))
    name = next(n for n in lab.names("staging") if "moderation" in lab.by_name(n).services)
    host, unit, port = lab.host(name), "pakashop-moderation@1", lab.port("moderation")

    run = lab.playbook("deploy.yml", "-l", "staging", "-e", f"@{bound}")
    try:
        assert run.rc == 0, run.output[-3000:]
        assert show(host, f"{unit}.socket", "ActiveState") == "inactive"
        assert not host.file("/etc/systemd/system/pakashop-moderation@.socket").exists
        assert not host.file(f"/etc/systemd/system/{unit}.socket.d").exists
        pid = show(host, f"{unit}.service", "MainPID")
        owners = listener(host, port)
        assert f"pid={pid}," in owners and '"systemd"' not in owners, owners
        assert "LISTEN_FDS" not in host.check_output(f"tr '\\0' '\\n' < /proc/{pid}/environ")
        assert lab.health(name, port)["service"] == "moderation"
        # the other services keep their sockets
        assert show(host, "pakashop-api@1.socket", "ActiveState") == "active"
        # A socket unit left behind (a failed switch can leave one) is drift: the next run removes it.
        leftover = "/etc/systemd/system/pakashop-moderation@.socket"
        host.check_output(f"printf '[Socket]\\nListenStream=%s\\n' {port} > {leftover}")
        again = lab.playbook("deploy.yml", "-l", "staging", "-e", f"@{bound}")
        assert again.rc == 0, again.output[-3000:]
        assert not host.file(leftover).exists
    finally:
        back = lab.playbook("deploy.yml", "-l", "staging")
    assert back.rc == 0, back.output[-3000:]
    assert show(host, f"{unit}.socket", "ActiveState") == "active"
    assert '"systemd",pid=1,' in listener(host, port)
