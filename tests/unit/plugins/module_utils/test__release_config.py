"""Where a release's configuration goes on the host, and that installing it makes the
host's files exactly the release's: written, removed, never the admin's own."""

import os

from ansible_collections.pakashop.infra.plugins.module_utils._release_config import (
    HostConfig, release_files, validate_names, write_release_files)

FILES = {"env": "A=1\n", "units/pakashop-api@.service": "[Service]\n", "units/pakashop-api.target": "[Unit]\n",
         "units/pakashop-api@1.service.d/port.conf": "[Service]\nEnvironment=PORT=8100\n"}


def host(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "units").mkdir()
    return HostConfig("api", str(tmp_path / "etc"), str(tmp_path / "units"))


def test_installing_writes_what_differs_and_removes_what_the_release_lacks(tmp_path):
    config = host(tmp_path)
    assert config.install(FILES) == (sorted(FILES), [])
    assert config.installed() == FILES
    assert oct(os.stat(tmp_path / "etc/api.env").st_mode & 0o777) == "0o600"
    (tmp_path / "units/pakashop-api@2.service.d").mkdir()
    (tmp_path / "units/pakashop-api@2.service.d/port.conf").write_text("[Service]\n")
    (tmp_path / "units/pakashop-api@2.service.d/override.conf").write_text("# the admin's own\n")
    (tmp_path / "units/pakashop-gateway@.service").write_text("# another service's\n")
    changed = {**FILES, "env": "A=2\n"}
    assert config.install(changed) == (["env"], ["units/pakashop-api@2.service.d/port.conf"])
    assert (tmp_path / "units/pakashop-api@2.service.d/override.conf").exists()
    assert (tmp_path / "units/pakashop-gateway@.service").exists()
    assert config.installed() == changed


def test_check_mode_says_what_would_change_and_writes_nothing(tmp_path):
    config = host(tmp_path)
    assert config.install(FILES, check_mode=True) == (sorted(FILES), [])
    assert config.installed() == {}


def test_a_release_carries_its_files_root_only_and_a_legacy_one_none(tmp_path):
    assert release_files(str(tmp_path)) is None
    write_release_files(str(tmp_path), FILES)
    assert release_files(str(tmp_path)) == FILES
    assert oct(os.stat(tmp_path / ".pakashop").st_mode & 0o777) == "0o700"


def test_carriage_returns_reach_the_host_and_read_back_as_they_are(tmp_path):
    crlf = {**FILES, "env": 'A="line 1\r\nline 2\r\n"\nB="\r"\n'}
    write_release_files(str(tmp_path / "release"), crlf)
    assert release_files(str(tmp_path / "release")) == crlf
    config = host(tmp_path)
    config.install(crlf)
    assert (tmp_path / "etc/api.env").read_bytes() == crlf["env"].encode()
    assert config.installed() == crlf
    assert config.install(crlf) == ([], [])


def test_names_that_are_not_the_services_configuration_are_refused():
    assert validate_names("api", FILES) == []
    found = validate_names("api", {"units/../../etc/passwd": "", "units/pakashop-gateway@.service": "", "other": ""})
    assert len(found) == 3 and all("is not a configuration file of api" in line for line in found)
