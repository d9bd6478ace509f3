# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pakashop.infra.preflight: every input of a run checked on the controller
(plugins/plugin_utils/_preflight.py holds the rules)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible_collections.pakashop.infra.plugins.plugin_utils._preflight import (
    check_catalog, check_environment, check_services, check_settings, report)

ARGUMENT_SPEC = {
    "procedure": {"type": "str", "required": True},
    "catalog": {"type": "raw", "no_log": True},
    "check_catalog": {"type": "bool", "default": True},
    "settings": {"type": "dict", "default": {}},
    "services": {"type": "raw"},
    "one_environment": {"type": "bool", "default": True},
    "limited": {"type": "bool", "default": True},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        hostvars, groups = task_vars["hostvars"], task_vars["groups"]

        def described(names):
            return {h: {"environment": hostvars[h].get("pakashop_environment"),
                        "branch": hostvars[h].get("pakashop_branch"),
                        "services": list(hostvars[h].get("pakashop_services") or [])} for h in names}

        problems = check_settings(args["settings"])
        hosts = described(task_vars["ansible_play_hosts_all"])
        environment = None
        if args["one_environment"]:
            environment, found = check_environment(hosts, args["limited"])
            problems += found
        # The catalog is checked on every host of the environments the run touches.
        environments = [environment] if environment else sorted(
            {v["environment"] for v in hosts.values() if v["environment"]})
        environment_hosts = described(sorted({h for e in environments for h in groups.get(e, [])})) \
            if environments else hosts
        catalog = args["catalog"]
        catalog_problems = check_catalog(catalog, " and ".join(environments) or "the inventory", environment_hosts) \
            if args["check_catalog"] else []
        problems += catalog_problems
        services = []
        if args["check_catalog"] and isinstance(catalog, dict) and not catalog_problems:
            services, found = check_services(args["services"], catalog, " and ".join(environments) or "the inventory",
                                             environment_hosts)
            problems += found
        if problems:
            return {**result, "failed": True, "msg": report(problems, args["procedure"])}
        branch = next((v["branch"] for v in environment_hosts.values() if v["branch"]), None)
        return {**result, "changed": False, "environment": environment, "branch": branch, "services": services,
                "msg": f"{args['procedure']}: every input checked"}
