"""pakashop.infra.release_artifacts against a real bare repository: each artifact holds
its folders at the commit, a build command runs in the exported tree first, and an
artifact already built is not built again."""

import tarfile

from ansible_collections.pakashop.infra.plugins.modules import release_artifacts


def names(path):
    with tarfile.open(path) as tar:
        return sorted(m.name for m in tar.getmembers() if m.isfile())


def test_each_artifact_holds_its_folders_at_the_commit(origin, run_info, tmp_path):
    commit = origin.commit("main", {"common/lib.py": "x = 1\n", "docs/README": "not shipped\n"}, "Shared code")
    api = {"service": "api", "path": str(tmp_path / "cache/api-1.tar.gz"), "folders": ["api", "common"]}
    result = run_info(release_artifacts, mirror=origin.url, commit=commit, artifacts=[api])
    assert (result["changed"], result["built"]) == (True, ["api"])
    assert names(api["path"]) == ["api/main.py", "common/lib.py"]
    again = run_info(release_artifacts, mirror=origin.url, commit=commit, artifacts=[api])
    assert (again["changed"], again["present"]) == (False, ["api"])


def test_a_build_command_runs_in_the_tree_before_its_artifact_is_packed(origin, run_info, tmp_path):
    commit = origin.head("main")
    gateway = {"service": "gateway", "path": str(tmp_path / "cache/gw.tar.gz"), "folders": ["gateway"],
               "build_command": "echo built > gateway/BUILT && test -f api/main.py"}
    result = run_info(release_artifacts, mirror=origin.url, commit=commit, artifacts=[gateway])
    assert result["built"] == ["gateway"], result
    assert names(gateway["path"]) == ["gateway/BUILT", "gateway/main.py"]
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["gw.tar.gz"], "the tree is removed"


def test_a_failed_build_names_the_service_and_leaves_no_artifact(origin, run_info, tmp_path):
    gateway = {"service": "gateway", "path": str(tmp_path / "cache/gw.tar.gz"), "folders": ["gateway"],
               "build_command": "echo npm is missing >&2; exit 127"}
    result = run_info(release_artifacts, mirror=origin.url, commit=origin.head("main"), artifacts=[gateway])
    assert result["failed"]
    assert result["msg"] == ("The build_command of gateway failed on the controller (exit 127): npm is missing; "
                             "fix the build, or pakashop_service_catalog.gateway.build_command.")
    assert not (tmp_path / "cache/gw.tar.gz").exists()
