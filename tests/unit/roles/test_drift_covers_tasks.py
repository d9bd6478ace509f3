"""service_drift decides whether a deploy touches a service at all: what it
does not check, a deploy never changes once the release is in place. So every
task of the deploy path (main.yml and what it imports) that makes something
on the host must take what it makes from roles/service/vars/main.yml, and
plan.yml must hand that data on to service_drift. A new task that does not
fails here, naming itself."""

import re
from pathlib import Path

import pytest
import yaml

TASKS = Path(__file__).resolve().parents[3] / "roles/service/tasks"
VARS = Path(__file__).resolve().parents[3] / "roles/service/vars/main.yml"

# Modules that make something on the host, and the option that names it.
MAKES = {"ansible.builtin.file": "path", "ansible.builtin.template": "dest", "ansible.builtin.copy": "dest",
         "ansible.builtin.group": "name", "ansible.builtin.user": "name",
         "ansible.builtin.systemd_service": "name", "ansible.builtin.command": "argv"}
# Modules whose whole effect service_drift checks by logic of its own.
CHECKED = {"pakashop.infra.release_prepare": "the release there, with the configuration it carries",
           "pakashop.infra.release_activate": "current, the host's env file and units against the release's, "
                                              "the ledger, the units enabled, the instances and their gates",
           # the load balancer, not the host: the host leaves it only around a restart and is back after
           "pakashop.infra.target_group_member": "the instances' health gates (it goes with the restart)"}
READS_ONLY = {"ansible.builtin.debug", "ansible.builtin.set_fact", "ansible.builtin.assert",
              "ansible.builtin.fail", "pakashop.infra.release_info", "pakashop.infra.service_drift",
              "pakashop.infra.preflight", "pakashop.infra.release_render", "ansible.builtin.import_tasks",
              "ansible.builtin.include_tasks"}
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def module_of(task):
    return next((key for key in task if "." in key), None)


def deploy_tasks(name="main.yml"):
    """(file, task) for every task of the deploy path (service_state present). A
    rescue puts back what an earlier deploy made and is not followed."""
    def walk(file, nodes):
        for task in nodes or []:
            if "block" in task:
                yield from walk(file, task["block"])
                yield from walk(file, task.get("always"))
                continue
            yield file, task
            module = module_of(task)
            if "absent" in str(task.get("when", "")):  # service_state absent: not the deploy path
                continue
            if module in ("ansible.builtin.import_tasks", "ansible.builtin.include_tasks"):
                included = task[module]
                yield from walk(included, yaml.safe_load((TASKS / included).read_text()))
    yield from walk(name, yaml.safe_load((TASKS / name).read_text()))


def handed_on():
    """The keys of vars/main.yml that plan.yml gives service_drift - in the call's own
    options, or in what each service's call is told (service_calls) - directly or
    through the definitions of those it gives."""
    definitions = yaml.safe_load(VARS.read_text())
    plan = yaml.safe_load((TASKS / "plan.yml").read_text())
    drift = next(t for t in plan if module_of(t) == "pakashop.infra.service_drift")
    calls = next(t for t in plan if "service_calls" in str(t.get("ansible.builtin.set_fact", {}))
                 and "service_call" in t.get("vars", {}))
    text = str(drift["pakashop.infra.service_drift"]) + str(calls["vars"]["service_call"]["drift"])
    found, todo = set(), set(NAME.findall(text)) & set(definitions)
    while todo:
        key = todo.pop()
        found.add(key)
        todo |= (set(NAME.findall(str(definitions[key]))) & set(definitions)) - found
    return found, set(definitions)


def uncovered(tasks, handed=None):
    """One sentence per task that makes something service_drift does not check
    (handed: what handed_on() says, unless given)."""
    given, managed = handed or handed_on()
    checked_results = {task["register"] for _file, task in tasks
                       if module_of(task) in CHECKED and "register" in task}
    found = []
    for file, task in tasks:
        module, where = module_of(task), f"{file}: task {task.get('name')!r}"
        if module in READS_ONLY or module in CHECKED:
            continue
        if module not in MAKES:
            found.append(f"{where} calls {module}, which this test does not know: add it to MAKES, "
                         "CHECKED or READS_ONLY (and what it makes to service_drift)")
            continue
        args = task[module] if isinstance(task[module], dict) else {}
        if MAKES[module] not in args:  # for example a daemon reload: it makes nothing by name
            continue
        text = str(args[MAKES[module]])
        if "item" in NAME.findall(text):
            text += str(task.get("loop", ""))
        if NAME.findall(text) == ["service_name"]:  # the service at hand: made as vars/main.yml says
            continue
        names = set(NAME.findall(text))
        not_given = sorted((names & managed) - given)
        if not_given:
            found.append(f"{where} makes {', '.join(not_given)}, which plan.yml does not hand to service_drift")
        elif not names & (given | checked_results):
            found.append(f"{where} makes something vars/main.yml does not list: list it there and hand it "
                         "to service_drift in plan.yml")
    return found


def test_every_deploy_task_makes_only_what_service_drift_checks():
    assert uncovered(list(deploy_tasks())) == []


def test_the_deploy_path_is_walked_whole():
    files = {file for file, _task in deploy_tasks()}
    assert files == {"main.yml", "prepare.yml", "plan.yml", "host.yml", "layout.yml", "activate.yml",
                     "activate_releases.yml", "activation.yml", "target_groups.yml", "target_group_member.yml"}


@pytest.mark.parametrize("task, said", [
    ({"name": "Write an extra file", "ansible.builtin.copy": {"content": "x", "dest": "/etc/pakashop/extra"}},
     "makes something vars/main.yml does not list"),
    ({"name": "Render the host target elsewhere", "ansible.builtin.template": {
        "src": "{{ service_host_template.src }}", "dest": "/etc/other"}},
     "makes something vars/main.yml does not list"),
    ({"name": "Create the host's folders again", "ansible.builtin.file": {"path": "{{ item.path }}"},
      "loop": "{{ service_host_folders }}"},
     None),
    ({"name": "Install a package", "ansible.builtin.package": {"name": "curl"}},
     "which this test does not know"),
])
def test_a_task_that_makes_something_unchecked_is_named(task, said):
    found = uncovered([("new.yml", task)])
    if said is None:
        assert found == []
    else:
        assert len(found) == 1 and said in found[0] and "'" + task["name"] + "'" in found[0]


def test_data_that_plan_yml_leaves_out_is_named():
    given, managed = handed_on()
    found = uncovered([("layout.yml", {"name": "Create the user", "ansible.builtin.user":
                                       {"name": "{{ service_account.name }}"}})],
                      handed=(given - {"service_account"}, managed))
    assert found == ["layout.yml: task 'Create the user' makes service_account, "
                     "which plan.yml does not hand to service_drift"]
