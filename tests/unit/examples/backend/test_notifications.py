"""The sample notifications worker (examples/backend/notifications/main.py) and
the sd_notify it tells systemd with (examples/backend/common/pakashop_service.py):
stdlib only, as the lab's hosts run them. Under systemd on the lab:
tests/integration/test_readiness.py."""

import importlib.util
import json
import os
import socket
import threading
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parents[4] / "examples/backend"


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def notifications():
    return load("notifications_main", BACKEND / "notifications/main.py")


@pytest.fixture
def listening(tmp_path, monkeypatch, request):
    """A datagram socket where $NOTIFY_SOCKET points (a path, or with param
    'abstract' an abstract name given as '@...'), as systemd's; what it received."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if getattr(request, "param", "path") == "abstract":
        name = f"pakashop-test-{os.getpid()}-{id(sock)}"
        sock.bind("\0" + name)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
    else:
        sock.bind(str(tmp_path / "notify"))
        monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    sock.settimeout(5)
    yield sock
    sock.close()


@pytest.mark.parametrize("listening", ["path", "abstract"], indirect=True)
def test_sd_notify_sends_one_datagram_to_the_notify_socket(notifications, listening):
    assert notifications.sd_notify("READY=1\nSTATUS=service=notifications version=abc") is True
    assert listening.recv(4096) == b"READY=1\nSTATUS=service=notifications version=abc"


def test_sd_notify_outside_systemd_tells_nobody_and_goes_on(notifications, monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notifications.sd_notify("READY=1") is False
    monkeypatch.setenv("NOTIFY_SOCKET", "")
    assert notifications.sd_notify("READY=1") is False


def test_the_worker_says_ready_with_its_commit_then_sends_what_lands_in_its_spool(
        notifications, listening, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(notifications, "release_commit", lambda: "c0ffee" + "0" * 34)
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "1.json").write_text(json.dumps({"to": "ana@example.com", "subject": "Your order shipped"}))
    (spool / "2.json").write_text("not json")
    (spool / "3.tmp").write_text("{}")  # still being written: not read
    notifications.run(spool, threading.Event(), once=True)
    assert listening.recv(4096) == f"READY=1\nSTATUS=service=notifications version=c0ffee{'0' * 34}".encode()
    assert sorted(p.name for p in (spool / "sent").iterdir()) == ["1.json"]
    assert sorted(p.name for p in (spool / "failed").iterdir()) == ["2.json"]
    assert (spool / "3.tmp").exists()
    logged = capsys.readouterr().err.splitlines()
    assert "<6>sent 'Your order shipped' to ana@example.com" in logged
    assert any(line.startswith("<3>could not send 2.json: ") for line in logged)


def test_the_spool_is_under_shared_beside_the_releases(notifications, monkeypatch, tmp_path):
    monkeypatch.setattr(notifications, "RELEASE_ROOT", tmp_path / "notifications/releases/20261126T101500Z-3f4a276")
    assert notifications.default_spool() == tmp_path / "notifications/shared/spool"
    monkeypatch.setattr(notifications, "RELEASE_ROOT", tmp_path / "backend")
    assert notifications.default_spool() == tmp_path / "backend/spool"
