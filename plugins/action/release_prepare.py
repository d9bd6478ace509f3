# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pakashop.infra.release_prepare: the artifacts of the releases go to the host
as one bundle (one transfer), then the module prepares every release from it
in one call. Give it the releases the host lacks (pakashop.infra.service_drift
says which): a release already complete is left as it is, but its artifact
would still travel."""

from __future__ import annotations

import os
import tarfile
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.pakashop.infra.plugins.modules.release_prepare import ARGUMENT_SPEC, member_name

# The module's own option; never the task's.
ACTION_SPEC = {k: v for k, v in ARGUMENT_SPEC.items() if k != "bundle"}


class ActionModule(ActionBase):
    TRANSFERS_FILES = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ACTION_SPEC)
        module_args = dict(self._task.args)
        if self._task.check_mode:
            result.update(self._execute_module("pakashop.infra.release_prepare", module_args=module_args,
                                               task_vars=task_vars))
            return result
        specs = args["releases"]
        missing = [s["artifact"] for s in specs if not os.path.isfile(s["artifact"])]
        if missing:
            raise AnsibleActionFail(f"the artifacts {', '.join(missing)} are not on the controller: "
                                    "build them first (playbooks/tasks/build.yml)")
        handle, local = tempfile.mkstemp(prefix="pakashop-bundle-", suffix=".tar")
        os.close(handle)
        try:
            with tarfile.open(local, "w") as bundle:
                for spec in specs:
                    bundle.add(spec["artifact"], arcname=member_name(spec), recursive=False)
            remote_tmp = self._make_tmp_path()
            remote = self._connection._shell.join_path(remote_tmp, "bundle.tar")
            self._transfer_file(local, remote)
            self._fixup_perms2((remote_tmp, remote))
            result.update(self._execute_module("pakashop.infra.release_prepare",
                                               module_args={**module_args, "bundle": remote}, task_vars=task_vars))
        finally:
            os.unlink(local)
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
