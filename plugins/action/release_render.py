# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pakashop.infra.release_render: each service's release for the task's host,
rendered on the controller in one task: its configuration from the role's
templates and its id, named by its content (the filter release_config).

It renders as the template lookup does, with the task's variables, the
service at hand (service_name, and service_spec evaluated once) and each
file's template_* variables, but without copying every variable for each file:
that copy was most of the cost of planning a host."""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.template import generate_ansible_template_vars, trust_as_template
from ansible_collections.pakashop.infra.plugins.filter.release_config import release_config
from ansible_collections.pakashop.infra.plugins.filter.service_entry import service_entry

ARGUMENT_SPEC = {
    "services": {"type": "list", "elements": "str", "required": True},
    "catalog": {"type": "dict", "required": True, "no_log": True},
    "sources": {"type": "dict", "required": True},
    "templates": {"type": "dict", "required": True},
}
# What a release carries, each from its template; the socket unit only with a socket.
FILES = ("env", "service", "target", "socket")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        missing = [name for name in FILES if name not in args["templates"]]
        if missing:
            raise AnsibleActionFail(f"templates names no template for {', '.join(missing)}: "
                                    f"give one for each of {', '.join(FILES)}")
        templates = {name: self._template(args["templates"][name], task_vars) for name in FILES}
        releases = {}
        for service in args["services"]:
            spec = service_entry(args["catalog"], service)
            rendered = {name: render(service, spec) if name != "socket" or spec["socket"] else ""
                        for name, render in templates.items()}
            releases[service] = release_config(rendered, service, spec, args["sources"].get(service))
        return {**result, "changed": False, "releases": releases}

    def _template(self, name, task_vars):
        """A function (service, spec) -> the template `name` of the role rendered for that service."""
        path = self._find_needle("templates", name)
        source = trust_as_template(self._loader.get_text_file_contents(path))
        # The lookup's template_* variables; ansible_managed only where the inventory does not set it.
        file_vars = {k: v for k, v in generate_ansible_template_vars(name, path).items()
                     if k != "ansible_managed" or k not in task_vars}
        searchpath = [os.path.dirname(path)]

        def render(service, spec):
            variables = {**task_vars, **file_vars, "service_name": service, "service_spec": spec}
            templar = self._templar.copy_with_new_env(available_variables=variables, searchpath=searchpath)
            return templar.template(source, escape_backslashes=False)
        return render
