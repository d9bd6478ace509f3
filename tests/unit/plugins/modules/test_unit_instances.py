"""pakashop.infra.unit_instances run by Ansible's module runner on a temporary
unit folder: ports per instance, scale down, check mode and diff."""

import json
import os
import subprocess
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[4]
MODULE = CHECKOUT / "plugins/modules/unit_instances.py"
MODES = {"--check": "_ansible_check_mode", "--diff": "_ansible_diff"}


def instances(tmp_path, *flags, **args):
    args = {"unit": "pakashop-api", "port": 8101, "unit_dir": str(tmp_path), **args,
            **{MODES[flag]: True for flag in flags}}
    args_file = tmp_path.parent / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    result = subprocess.run(
        [sys.executable, MODULE, args_file], capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": str(CHECKOUT / ".cache/collections")})
    return json.loads(result.stdout)


def port_of(tmp_path, instance):
    text = (tmp_path / f"pakashop-api@{instance}.service.d/port.conf").read_text()
    return [line for line in text.splitlines() if line.startswith("Environment=")]


def test_each_instance_gets_its_port_and_a_rerun_changes_nothing(tmp_path):
    first = instances(tmp_path, count=2)
    assert first["changed"] is True and first["written"] == [1, 2]
    assert port_of(tmp_path, 1) == ["Environment=PORT=8101"]
    assert port_of(tmp_path, 2) == ["Environment=PORT=8102"]
    assert oct((tmp_path / "pakashop-api@2.service.d/port.conf").stat().st_mode & 0o777) == "0o644"
    again = instances(tmp_path, count=2)
    assert again["changed"] is False and again["written"] == [] and again["removed"] == []


def test_scaling_down_removes_only_the_extra_instances(tmp_path):
    instances(tmp_path, count=3)
    (tmp_path / "pakashop-gateway@3.service.d").mkdir()  # another service's: not touched
    result = instances(tmp_path, count=1)
    assert result["changed"] is True and result["removed"] == [2, 3]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "pakashop-api@1.service.d", "pakashop-gateway@3.service.d"]


def test_a_changed_port_or_a_lost_drop_in_is_written_again(tmp_path):
    instances(tmp_path, count=2)
    (tmp_path / "pakashop-api@2.service.d/port.conf").unlink()
    result = instances(tmp_path, count=2, port=9001)
    assert result["written"] == [1, 2]
    assert port_of(tmp_path, 2) == ["Environment=PORT=9002"]


def test_check_mode_changes_nothing_and_diff_shows_the_ports(tmp_path):
    instances(tmp_path, count=2)
    result = instances(tmp_path, "--check", "--diff", count=1, port=8101)
    assert result["changed"] is True and result["removed"] == [2]
    assert (tmp_path / "pakashop-api@2.service.d/port.conf").exists()
    assert result["diff"]["before"] == ("pakashop-api@1.service PORT=8101\n"
                                        "pakashop-api@2.service PORT=8102\n")
    assert result["diff"]["after"] == "pakashop-api@1.service PORT=8101\n"


def test_ports_beyond_the_tcp_range_are_refused_before_writing(tmp_path):
    result = instances(tmp_path, count=3, port=65534)
    assert result["failed"] is True
    assert "65534-65536" in result["msg"]
    assert list(tmp_path.iterdir()) == []


def test_a_worker_without_a_port_gets_an_instance_drop_in_that_sets_nothing(tmp_path):
    result = instances(tmp_path, count=2, port=None)
    assert result["changed"] is True and result["written"] == [1, 2]
    assert result["instances"] == [{"instance": 1, "port": None}, {"instance": 2, "port": None}]
    assert sorted(p.name for p in (tmp_path / "pakashop-api@2.service.d").iterdir()) == ["instance.conf"]
    text = (tmp_path / "pakashop-api@2.service.d/instance.conf").read_text()
    assert [line for line in text.splitlines() if not line.startswith("#")] == []
    assert instances(tmp_path, count=2, port=None)["changed"] is False
    assert instances(tmp_path, count=1, port=None)["removed"] == [2]


def test_a_service_that_loses_its_port_loses_its_port_and_socket_drop_ins(tmp_path):
    instances(tmp_path, count=2, socket=True)
    result = instances(tmp_path, "--diff", count=2, port=None)
    assert result["written"] == [1, 2] and result["sockets_removed"] == [1, 2] and result["removed"] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pakashop-api@1.service.d", "pakashop-api@2.service.d"]
    assert not (tmp_path / "pakashop-api@1.service.d/port.conf").exists()
    assert result["diff"]["after"] == "pakashop-api@1.service no port\npakashop-api@2.service no port\n"
    back = instances(tmp_path, count=2)  # and back: a port again
    assert back["written"] == [1, 2] and port_of(tmp_path, 1) == ["Environment=PORT=8101"]
    assert not (tmp_path / "pakashop-api@1.service.d/instance.conf").exists()


def test_a_socket_without_a_port_is_refused(tmp_path):
    result = instances(tmp_path, count=1, port=None, socket=True)
    assert result["failed"] is True and result["msg"].startswith("socket needs port")
    assert list(tmp_path.iterdir()) == []
