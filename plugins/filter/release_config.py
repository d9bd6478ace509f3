# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: release_config
short_description: A service's release for one host - its configuration files and its content-named id
version_added: 0.2.0
description:
  - Puts together what a release of O(service) carries besides its code - the rendered env file, the
    template unit, the service's target, the socket unit (with O(spec.socket)) and each instance's port
    drop-ins - and names the release by its content.
  - The release id is the source's C(label) (the UTC time and short sha of the commit that last changed
    the service's folders) and the first 8 hex digits of a SHA-256 over the code's digest, the catalog's
    C(build_command) and C(install_command) and every configuration file. A commit that leaves a
    service's folders and configuration alone leaves its release id alone, so the service is not
    restarted; a change of an env value or a unit setting makes a new release.
  - The env file enters the id only through PBKDF2-HMAC-SHA256 (100,000 rounds), so that a release id,
    which is printed and logged, cannot be used to guess a secret.
positional: _input, service, spec, source
options:
  _input:
    description:
      - The rendered templates - C(env), C(service), C(target) and C(socket) (C(socket) may be empty when the
        service takes no socket from systemd).
    type: dict
    required: true
  service:
    description: The service's name.
    type: str
    required: true
  spec:
    description: The service's catalog entry, defaults applied (P(pakashop.infra.service_entry#filter)).
    type: dict
    required: true
  source:
    description:
      - Where the release's code comes from, as C(deploy_sources) of the playbooks holds it -
        C(commit), C(label), C(digest) (of the code) and C(artifact) (the tar.gz on the controller).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: The api's release for this host
  ansible.builtin.set_fact:
    api_release: >-
      {{ {'env': lookup('ansible.builtin.template', 'service.env.j2'),
          'service': lookup('ansible.builtin.template', 'service@.service.j2'),
          'target': lookup('ansible.builtin.template', 'service.target.j2'),
          'socket': lookup('ansible.builtin.template', 'service@.socket.j2')}
         | pakashop.infra.release_config('api', pakashop_service_catalog | pakashop.infra.service_entry('api'),
                                         deploy_sources.api) }}
  no_log: true
"""

RETURN = r"""
_value:
  description: The release.
  type: dict
  contains:
    release:
      description: Its id, the same on every host that renders the same configuration.
      type: str
      sample: 20261126T104500Z-3f4a276-9c1e2f04
    commit:
      description: The commit it is built from.
      type: str
    artifact:
      description: Its code on the controller.
      type: str
    config:
      description: The files it carries, each content by its name (C(env), C(units/<name>)); holds the secrets.
      type: dict
    env:
      description: Its env file (secret).
      type: str
    units:
      description: Its units and drop-ins, each content by its name C(units/<name>).
      type: dict
    checksums:
      description: The SHA-1 of each file, for M(pakashop.infra.service_drift).
      type: dict
"""

import hashlib

from ansible.errors import AnsibleFilterError
from ansible_collections.pakashop.infra.plugins.module_utils._catalog import instance_port, unit_name
from ansible_collections.pakashop.infra.plugins.plugin_utils._units import dropin_name, dropin_text, socket_dropin_text

SOURCE_KEYS = ("commit", "label", "digest", "artifact")
# Slow on purpose: the id is public, the env file holds secrets.
SECRET_ROUNDS = 100_000


def config_files(rendered, service, spec):
    """{name in the release: content} of everything the release carries besides its code."""
    unit = unit_name(service)
    files = {"env": rendered["env"], f"units/{unit}@.service": rendered["service"],
             f"units/{unit}.target": rendered["target"]}
    if spec.get("socket"):
        files[f"units/{unit}@.socket"] = rendered["socket"]
    for index in range(1, int(spec["instances"]) + 1):
        port = instance_port(spec["port"], index) if spec.get("port") is not None else None
        files[f"units/{unit}@{index}.service.d/{dropin_name(port)}"] = dropin_text(unit, index, port)
        if spec.get("socket") and port is not None:
            files[f"units/{unit}@{index}.socket.d/port.conf"] = socket_dropin_text(unit, index, port)
    return files


def content_digest(source, spec, files):
    digest = hashlib.sha256()
    for part in (source["digest"], spec.get("build_command") or "", spec.get("install_command") or ""):
        digest.update(part.encode("utf-8") + b"\0")
    for name, text in sorted(files.items()):
        if name == "env":
            text = hashlib.pbkdf2_hmac("sha256", text.encode("utf-8"), b"pakashop.infra release id",
                                       SECRET_ROUNDS).hex()
        digest.update(name.encode("utf-8") + b"\0" + text.encode("utf-8") + b"\0")
    return digest.hexdigest()


def release_config(rendered, service, spec, source):
    missing = [key for key in SOURCE_KEYS if not (source or {}).get(key)]
    if missing:
        raise AnsibleFilterError(f"the source of {service}'s release lacks {', '.join(missing)}: give "
                                 f"service_sources.{service} as playbooks/tasks/build.yml makes it")
    files = config_files(rendered, service, spec)
    return {"release": f"{source['label']}-{content_digest(source, spec, files)[:8]}",
            "commit": source["commit"], "artifact": source["artifact"], "config": files, "env": files["env"],
            "units": {name: text for name, text in files.items() if name != "env"},
            "checksums": {name: hashlib.sha1(text.encode("utf-8")).hexdigest()  # nosec: a checksum
                          for name, text in files.items()}}


class FilterModule:
    def filters(self):
        return {"release_config": release_config}
