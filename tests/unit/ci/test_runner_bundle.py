"""ci/runner_bundle.py: the private data dir survives ansible-runner's own
transmit format (the zip that `ansible-runner transmit` streams and a worker
unpacks) with nothing pointing outside it."""

import importlib.util
import io
import os
from pathlib import Path

import pytest
from ansible_runner.utils.streaming import stream_dir, unstream_dir

CHECKOUT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("runner_bundle", CHECKOUT / "ci" / "runner_bundle.py")
runner_bundle = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runner_bundle)


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    """The bundle as a worker on another machine unpacks it."""
    bundle = runner_bundle.bundle(tmp_path_factory.mktemp("bundle") / "runner")
    stream = io.BytesIO()
    stream.name = "transmit"
    stream_dir(str(bundle), stream)
    stream.seek(0)
    length = int(stream.readline().decode().split(":")[1].strip(" }\n"))
    worker = tmp_path_factory.mktemp("worker")
    unstream_dir(stream, length, str(worker))
    return worker


def test_the_worker_gets_the_playbooks_inventories_and_config(unpacked):
    project = unpacked / "project"
    for playbook in (CHECKOUT / "playbooks").glob("*.yml"):
        assert (project / "playbooks" / playbook.name).read_text() == playbook.read_text()
    assert (project / "inventories/lab/ec2.yml").is_file()
    assert (project / "ansible.cfg").read_text() == (CHECKOUT / "ansible.cfg").read_text()


def test_the_worker_gets_the_collection_where_ansible_cfg_looks(unpacked):
    installed = unpacked / "project/.cache/collections/ansible_collections/pakashop/infra"
    assert (installed / "MANIFEST.json").is_file()
    assert (installed / "plugins/modules/release.py").read_text() == \
        (CHECKOUT / "plugins/modules/release.py").read_text()
    assert (installed / "roles/service/tasks/main.yml").is_file()


def test_the_worker_gets_the_runner_settings_and_never_a_key(unpacked):
    assert sorted(p.name for p in (unpacked / "env").iterdir()) == ["envvars", "extravars", "settings"]


def test_every_link_the_worker_unpacks_points_at_a_file_inside_it(unpacked):
    links = [Path(d, n) for d, dirs, files in os.walk(unpacked) for n in dirs + files if Path(d, n).is_symlink()]
    assert links, "the installed collection's inventories share group_vars by relative links"
    assert all(link.resolve().is_relative_to(unpacked.resolve()) and link.resolve().exists() for link in links)


def test_a_link_out_of_the_folder_is_named(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data/project").symlink_to("../..")
    (tmp_path / "data/env").write_text("")
    (tmp_path / "data/inside").symlink_to("env")
    assert runner_bundle.escaping_links(tmp_path / "data") == [tmp_path / "data/project"]
