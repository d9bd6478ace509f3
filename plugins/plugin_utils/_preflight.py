# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every input of a run, checked on the controller before anything changes:
the playbooks' settings, the environment the hosts belong to, the services a
run names, and the service catalog for the hosts of that environment.

Each check returns problems, one whole sentence each, naming the variable, the
service or host and the fix; the caller reports them all at once. Values of
`env` and `secrets` are never quoted in a problem. Private to the collection.
"""

from __future__ import annotations

import difflib
import re

from ansible_collections.pakashop.infra.plugins.module_utils._catalog import (
    CatalogError, DEFAULTS, KEYS, READINESS, REQUIRED_KEYS, entry, instances, order)

CATALOG = "pakashop_service_catalog"
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
# The service's user is pakashop-<name>, and Linux user names end at 32 characters.
SERVICE_NAME_MAX = 23
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# <UTC time>-<short commit>, and since releases are named by content, -<8 hex digits> of it.
RELEASE_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{7,40}(-[0-9a-f]{8})?$")
REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
TRUE, FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")
# Set by the collection itself; a catalog entry may not change them.
RESERVED_ENV = ("PAKASHOP_SERVICE", "PAKASHOP_ENVIRONMENT", "PAKASHOP_INSTANCE", "LOG_LEVEL", "PORT")
RESERVED_ENV_PREFIX = "PAKASHOP_UPSTREAMS_"
# An unprivileged user without capabilities (the hardened unit) cannot bind below this.
FIRST_UNPRIVILEGED_PORT = 1024

# systemd's resource limits (systemd.resource-control(5), systemd.exec(5) Limit*=).
LIMIT_KEYS = frozenset(
    "CPUWeight StartupCPUWeight CPUQuota CPUQuotaPeriodSec AllowedCPUs StartupAllowedCPUs "
    "AllowedMemoryNodes StartupAllowedMemoryNodes MemoryAccounting MemoryMin MemoryLow MemoryHigh "
    "MemoryMax MemorySwapMax MemoryZSwapMax TasksAccounting TasksMax IOAccounting IOWeight "
    "StartupIOWeight IODeviceWeight IOReadBandwidthMax IOWriteBandwidthMax IOReadIOPSMax "
    "IOWriteIOPSMax IODeviceLatencyTargetSec ManagedOOMSwap ManagedOOMMemoryPressure "
    "ManagedOOMMemoryPressureLimit ManagedOOMPreference OOMPolicy OOMScoreAdjust Nice "
    "CPUSchedulingPolicy CPUSchedulingPriority CPUAffinity IOSchedulingClass IOSchedulingPriority "
    "LimitCPU LimitFSIZE LimitDATA LimitSTACK LimitCORE LimitRSS LimitNOFILE LimitAS LimitNPROC "
    "LimitMEMLOCK LimitLOCKS LimitSIGPENDING LimitMSGQUEUE LimitNICE LimitRTPRIO LimitRTTIME".split())
# systemd's sandboxing and security settings (systemd.exec(5)).
HARDENING_KEYS = frozenset(
    "NoNewPrivileges ProtectSystem ProtectHome PrivateTmp PrivateDevices PrivateNetwork PrivateIPC "
    "PrivateUsers PrivateMounts ProtectKernelTunables ProtectKernelModules ProtectKernelLogs "
    "ProtectControlGroups ProtectClock ProtectHostname ProtectProc ProcSubset "
    "RestrictAddressFamilies RestrictNamespaces RestrictRealtime RestrictSUIDSGID "
    "RestrictFileSystems RestrictNetworkInterfaces LockPersonality MemoryDenyWriteExecute RemoveIPC "
    "CapabilityBoundingSet AmbientCapabilities SystemCallArchitectures SystemCallFilter "
    "SystemCallErrorNumber SystemCallLog DevicePolicy DeviceAllow UMask KeyringMode "
    "ReadWritePaths ReadOnlyPaths InaccessiblePaths ExecPaths NoExecPaths TemporaryFileSystem "
    "BindPaths BindReadOnlyPaths IPAddressAllow IPAddressDeny SocketBindAllow SocketBindDeny "
    "DynamicUser SupplementaryGroups SecureBits PrivateNetwork NetworkNamespacePath "
    "StateDirectory CacheDirectory LogsDirectory RuntimeDirectory ConfigurationDirectory".split())


def _close(word, known):
    match = difflib.get_close_matches(str(word), [str(k) for k in known], n=1)
    return f" (did you mean {match[0]}?)" if match else ""


def _int(value):
    """The whole number `value` is (an int, or a string of digits), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def _kind(value):
    """What a person calls the value's type (Ansible's tagged types have other names)."""
    for kind, name in ((bool, "boolean"), (dict, "mapping"), (list, "list"), (str, "string"),
                       (int, "number"), (float, "number")):
        if isinstance(value, kind):
            return name
    return "null" if value is None else type(value).__name__


def _scalar(value):
    return isinstance(value, (str, int, float, bool))


# --- the playbooks' settings -------------------------------------------------

def _batch(name, value):
    """A play's serial: a count of hosts >= 1 or a percentage 1-100 %, or a list of them."""
    for part in value if isinstance(value, list) and value else [value]:
        text = str(part).strip()
        count = _int(part)
        percent = _int(text[:-1]) if text.endswith("%") else None
        if not ((count is not None and count >= 1) or (percent is not None and 1 <= percent <= 100)):
            return (f"{name} is {value!r}, which is not a batch size: give a number of hosts per batch "
                    f"(1 or more) or a percentage of the environment's hosts from 1% to 100%, "
                    f"for example -e {name}=1 or -e {name}=25%.")
    return None


def _percent(name, value):
    number = _int(value)
    if number is None:
        try:
            number = float(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
    if number is None or not 0 <= number <= 100:
        return (f"{name} is {value!r}: give a number from 0 to 100 without a % sign "
                f"(0 stops at the first failed host), for example -e {name}=0.")
    return None


def _whole(minimum, example):
    def check(name, value):
        number = _int(value)
        if number is None or number < minimum:
            return (f"{name} is {value!r}: give a whole number of {minimum} or more, "
                    f"for example -e {name}={example}.")
        return None
    return check


def _boolean(name, value):
    if isinstance(value, bool) or str(value).strip().lower() in TRUE + FALSE:
        return None
    return f"{name} is {value!r}, which is not a boolean: give true or false, for example -e {name}=true."


def _ref(name, value):
    text = str(value)
    if not re.fullmatch(r"[A-Za-z0-9][\w./~^+-]*", text) or ".." in text or text.endswith((".", "/", ".lock")):
        return (f"{name} is {value!r}, which git cannot take as a commit, tag or branch: give a commit id, "
                f"a tag or a branch name, for example -e {name}=main.")
    return None


def _release_id(name, value):
    if value in (None, "") or RELEASE_ID.match(str(value)):
        return None
    return (f"{name} is {value!r}, which is not a release id: give one as the ledger and status.yml show it "
            f"(UTC time, short commit and content digest, for example "
            f"-e {name}=20261201T101500Z-3f4a276-9c1e2f04), "
            f"or leave it out to go back to the previous good release.")


def _choice(*choices):
    def check(name, value):
        if value in choices:
            return None
        return f"{name} is {value!r}: give {' or '.join(choices)}, for example -e {name}={choices[0]}."
    return check


def _absolute_path(name, value):
    text = str(value)
    if not text.startswith("/") or "/../" in text + "/" or "\n" in text:
        return f"{name} is {value!r}: give an absolute path without '..', for example -e {name}=/opt/pakashop."
    return None


def _text(name, value):
    if not isinstance(value, str) or not value.strip() or "\n" in value:
        return f"{name} is {value!r}: give a non-empty value on one line."
    return None


def _optional_text(name, value):
    """Empty means not configured; otherwise one line."""
    return None if value == "" else _text(name, value)


def _repository(name, value):
    if value in (None, "") or REPOSITORY.match(str(value)):
        return None
    return f"{name} is {value!r}: give the GitHub repository as owner/name, for example -e {name}=pakashop/backend."


def _lock_store(name, value):
    kind = value.get("type", "dynamodb") if isinstance(value, dict) else None
    if kind == "hosts":
        return None
    if kind not in (None, "dynamodb"):
        return (f"{name} has type {kind!r}: give type dynamodb (a DynamoDB table, the default) or hosts "
                f"(the environment's hosts, held on a majority of them).")
    if isinstance(value, dict) and isinstance(value.get("table"), str) and value["table"].strip():
        return None
    return (f"{name} names no lock table: set it in the inventory's group_vars to the DynamoDB table "
            f"every runner of the environment shares, for example {name}: {{table: pakashop-deploy-locks, "
            f"region: eu-west-1}} (see inventories/aws/group_vars/all/aws.yml), or {{type: hosts}} to hold it "
            f"on a majority of the environment's hosts.")


def _url(name, value):
    text = str(value)
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", text):
        return (f"{name} is {value!r}, which is not an API's base URL: give one starting with https:// "
                f"(or http:// on loopback), for example -e {name}=https://api.github.com.")
    return None


# The rule for each setting a playbook takes; the playbooks pass theirs by name.
SETTINGS = {
    "deploy_serial": _batch,
    "rollback_serial": _batch,
    "deploy_max_fail_percentage": _percent,
    "deploy_lock_timeout": _whole(0, 600),
    "deploy_lock_retry_delay": _whole(1, 5),
    "deploy_lock_lease": _whole(10, 60),
    "deploy_lock_break": _boolean,
    "deploy_on_failure": _choice("go_back", "stop"),
    "deploy_staging": _boolean,
    "deploy_service_root": _absolute_path,
    "deploy_cache_dir": _text,
    "service_health_timeout": _whole(1, 30),
    "service_keep_releases": _whole(2, 5),
    "release_ref": _ref,
    "revert": _ref,
    "revert_parent": _whole(1, 1),
    "to_release": _release_id,
    "github_repository": _repository,
    "github_merge": _boolean,
    "github_api_url": _url,
    "vercel_api_url": _url,
    "pakashop_github_repository": _repository,
    "pakashop_vercel_project": _optional_text,
    "promote_wait": _whole(0, 300),
    "promote_frontend_timeout": _whole(0, 300),
    "verify_frontend": _boolean,
    "status_output_dir": _text,
    "pakashop_strategy": _text,
    "pakashop_lock_store": _lock_store,
}


def check_settings(settings):
    """Problems of the given {name: value} settings; a value of None is unset."""
    problems = []
    for name, value in settings.items():
        if name not in SETTINGS:
            raise KeyError(f"preflight has no rule for the setting {name!r}")
        if value is not None:
            problem = SETTINGS[name](name, value)
            if problem:
                problems.append(problem)
    return problems


# --- the environment and the services a run names ---------------------------

def check_environment(hosts, limited):
    """(environment, problems) of the run's hosts {host: {environment, services}}."""
    missing = sorted(h for h, v in hosts.items() if not v.get("environment"))
    if missing:
        return None, [f"{', '.join(missing[:5])}{' and others' if len(missing) > 5 else ''} "
                      f"{'has' if len(missing) == 1 else 'have'} no pakashop_environment: use the "
                      f"collection's inventory (plugin pakashop.infra.ec2, see inventories/) or set "
                      f"pakashop_environment, pakashop_branch and pakashop_services for each host."]
    environments = sorted({v["environment"] for v in hosts.values()})
    if not hosts:
        return None, ["The limit selects no host: run with -l staging or -l production "
                      "(or -l preview -e release_ref=<feature branch>)."]
    if not limited or len(environments) != 1:
        selects = f"hosts of {' and '.join(environments)}" if limited else "every host (no --limit)"
        return None, [f"This playbook changes one environment at a time, and this run selects {selects}: "
                      f"run it with -l staging or -l production (or -l preview -e release_ref=<feature branch>)."]
    return environments[0], []


def check_services(requested, catalog, environment, environment_hosts):
    """(the selected services in catalog order by `after`, problems) of -e services."""
    try:
        ordered = order(catalog) if isinstance(catalog, dict) else []
    except CatalogError:
        ordered = list(catalog)  # check_catalog names the problem
    if requested in (None, "", []):
        return ordered, []
    names = requested if isinstance(requested, list) else str(requested).split(",")
    names = [str(n).strip() for n in names]
    problems = []
    if any(not n for n in names):
        problems.append(f"services is {requested!r}, which has an empty name: list services separated by "
                        f"single commas, for example -e services=api,gateway.")
    running = {s for v in environment_hosts.values() for s in v.get("services", [])}
    for name in (n for n in names if n):
        if name not in catalog:
            problems.append(f"services names {name!r}, which the catalog ({CATALOG}) does not have"
                            f"{_close(name, catalog)}; known services: {', '.join(catalog)}.")
        elif name not in running:
            problems.append(f"services names {name!r}, which no host of {environment} runs (EC2 tag Services): "
                            f"leave it out, or tag a host of {environment} with it.")
    return [s for s in ordered if s in names], problems


# --- the catalog -------------------------------------------------------------

def check_catalog(catalog, environment, environment_hosts):
    """Problems of the catalog for the environment's hosts {host: {services}}."""
    if not isinstance(catalog, dict) or not catalog:
        return [f"{CATALOG} is {_kind(catalog) if catalog else 'empty'}: define it as a mapping of "
                f"service name to its entry (see inventories/group_vars/all/services.yml)."]
    problems = []
    for name, given in catalog.items():
        problems += _check_entry(catalog, name, given, environment, environment_hosts)
    try:
        order(catalog)
    except CatalogError as exc:
        if "cycle" in str(exc):  # an unknown name is reported with its entry
            problems.append(str(exc)[0].upper() + str(exc)[1:] + ".")
    return problems + _check_hosts(catalog, environment, environment_hosts)


def _check_entry(catalog, name, given, environment, environment_hosts):
    where = f"{CATALOG}.{name}"
    if not isinstance(name, str) or not SERVICE_NAME.match(name) or len(name) > SERVICE_NAME_MAX:
        return [f"{CATALOG} has a service named {name!r}: a service name is lower-case letters, digits and "
                f"'-', starts with a letter and has at most {SERVICE_NAME_MAX} characters (it names the "
                f"service's unit and user), for example 'api' or 'email-sender'."]
    if not isinstance(given, dict):
        return [f"{where} is {_kind(given)}, not a mapping: give the service's exec_start, source_path and, "
                f"when it listens, its port (see roles/service/meta/argument_specs.yml)."]
    problems = [f"{where} has no {key}: every service needs exec_start and source_path."
                for key in REQUIRED_KEYS if given.get(key) is None]
    problems += [f"{where} has an unknown key {key!r}{_close(key, KEYS)}: the keys a service takes are "
                 f"{', '.join(KEYS)}." for key in given if key not in KEYS]
    spec = entry(catalog, name)
    port, count = _int(spec.get("port")), _int(spec["instances"])
    port_ok = port is not None and FIRST_UNPRIVILEGED_PORT <= port <= 65535
    if given.get("port") is not None and not port_ok:
        problems.append(f"{where}.port is {given['port']!r}: give a port from {FIRST_UNPRIVILEGED_PORT} to 65535 "
                        f"(the service runs unprivileged and cannot bind a lower one).")
    if count is None or count < 1:
        problems.append(f"{where}.instances is {spec['instances']!r}: a service runs 1 instance or more per "
                        f"host; to stop it everywhere, take it out of the hosts' Services tag instead.")
    elif port_ok and port + count - 1 > 65535:
        problems.append(f"{where} runs {count} instances from port {port}, past 65535: "
                        f"lower the port or the instances.")
    problems += _check_readiness(where, given, spec)
    problems += _check_text(where, spec, "exec_start", lambda v: v.strip().lstrip("-@:+!").startswith("/"),
                            "give the command with the absolute path of its program first, for example "
                            "/usr/bin/python3 api/main.py")
    problems += _check_text(where, spec, "source_path",
                            lambda v: not v.startswith("/") and ".." not in v.split("/") and v.strip() == v,
                            "give the service's folder relative to the backend repository's root, "
                            "for example api")
    if not isinstance(spec["socket"], bool):
        problems.append(f"{where}.socket is {spec['socket']!r}: give true (systemd holds the instances' ports, "
                        f"so a restart refuses no connection) or false (the service binds $PORT itself).")
    elif spec["socket"] and given.get("port") is None:
        problems.append(f"{where}.socket is true, but {name} has no port for systemd to listen on: give the port "
                        f"of instance 1, or remove socket (a service without a port has no socket).")
    for key in ("build_command", "install_command"):
        problems += _check_text(where, spec, key, lambda v: bool(v.strip()), "give a command, or leave it out")
    problems += _check_env(where, spec)
    groups = spec["target_groups"]
    if not isinstance(groups, list) or not all(isinstance(g, str) and g.strip() == g and g for g in groups):
        problems.append(f"{where}.target_groups is {groups!r}: give a list of target group names or ARNs, "
                        f"for example [pakashop-staging-gateway], or leave it out.")
    for key in ("after", "upstreams"):
        problems += _check_names(catalog, where, name, key, spec[key])
    for upstream in spec["upstreams"] if isinstance(spec["upstreams"], list) else []:
        if _is_worker(catalog, upstream):
            problems.append(f"{where}.upstreams names {upstream}, a worker with no port to send requests to: take "
                            f"it out of upstreams, or give {upstream} a port.")
        elif upstream in catalog and environment_hosts and \
                not any(upstream in h.get("services", []) for h in environment_hosts.values()):
            problems.append(f"{where}.upstreams names {upstream}, which no host of {environment} runs, so "
                            f"{name} would have no upstream: tag a host of {environment} with {upstream}, "
                            f"or take it out of upstreams.")
    problems += _check_directives(where, spec, "limits", LIMIT_KEYS, "systemd resource limits")
    problems += _check_directives(where, spec, "hardening", HARDENING_KEYS, "systemd sandboxing settings")
    return problems


def _is_worker(catalog, name):
    """A service of the catalog without a port that needs none (readiness notify or command)."""
    given = catalog.get(name)
    return isinstance(given, dict) and given.get("port") is None and given.get("readiness") not in (None, "http")


# What each readiness other than http does instead of a key it leaves no sense to.
NOT_READ = {
    "health_path": {"notify": "the service tells systemd it is ready through sd_notify",
                    "command": "its readiness_command says whether it is ready"},
    "identity_field": {"command": "the readiness_command's output names no service"},
    "version_field": {"command": "the version is the last line the readiness_command prints"},
}


def _check_readiness(where, given, spec):
    """readiness, readiness_command, and the keys a readiness needs or does not read."""
    readiness = spec["readiness"]
    if readiness not in READINESS:
        return [f"{where}.readiness is {readiness!r}{_close(readiness, READINESS)}: give http (its health endpoint "
                f"answers on its port), notify (it tells systemd READY=1 through sd_notify) or command (a "
                f"readiness_command run on the host)."]
    problems = []
    if readiness == "http" and given.get("port") is None:
        problems.append(f"{where} has no port, which readiness http needs to ask its health endpoint: give the "
                        f"port of instance 1, or set readiness to notify or command for a worker without a port.")
    if readiness == "command" and spec["readiness_command"] is None:
        problems.append(f"{where} has readiness command but no readiness_command: give the shell command that "
                        f"exits 0 when an instance is ready and prints its version last, or choose another readiness.")
    elif readiness == "command":
        problems += _check_text(where, spec, "readiness_command", lambda v: bool(v.strip()),
                                "give a shell command on one line, for example "
                                "/usr/local/bin/app-ready --instance $PAKASHOP_INSTANCE")
    elif spec["readiness_command"] is not None:
        problems.append(f"{where}.readiness_command is set, but readiness is {readiness}, which does not run it: "
                        f"set readiness to command, or remove readiness_command.")
    for key, why in NOT_READ.items():
        if readiness in why and key in given:
            problems.append(f"{where}.{key} is set, but readiness is {readiness}: {why[readiness]}; remove "
                            f"{key}, or set readiness to http.")
    if readiness == "http":
        problems += _check_text(where, spec, "health_path", lambda v: v.startswith("/") and not re.search(r"\s", v),
                                "give a path that starts with '/', for example /healthz")
    if readiness != "command":
        answer = "health answer" if readiness == "http" else "sd_notify STATUS= words"
        problems += _check_text(where, spec, "version_field", lambda v: bool(re.fullmatch(r"\S+", v)),
                                f"give the key of the {answer} that holds the version, for example version")
        if not isinstance(spec["identity_field"], str) or "\n" in spec["identity_field"]:
            problems.append(f"{where}.identity_field is {spec['identity_field']!r}: give the key of the {answer} "
                            f"that names the service, for example service, or an empty string to skip that check.")
    return problems


def _check_text(where, spec, key, valid, fix):
    """A one-line string that `valid` accepts; an unset key is fine (or named as missing)."""
    value = spec.get(key)
    if value is not None and (not isinstance(value, str) or "\n" in value or not value.strip() or not valid(value)):
        return [f"{where}.{key} is {value!r}: {fix}."]
    return []


def _check_env(where, spec):
    problems = []
    for key in ("env", "secrets"):
        values = spec[key]
        if not isinstance(values, dict):
            problems.append(f"{where}.{key} is {_kind(values)}: give a mapping of variable names to values.")
            continue
        for var, value in values.items():
            name = f"{where}.{key}.{var}"
            if not isinstance(var, str) or not ENV_NAME.match(var):
                problems.append(f"{where}.{key} has the variable name {var!r}: a name is letters, digits and "
                                f"'_', and does not start with a digit.")
            elif var in RESERVED_ENV or var.startswith(RESERVED_ENV_PREFIX):
                problems.append(f"{name} is set by the collection itself: rename it.")
            # The value is never quoted: it may be a secret.
            if not _scalar(value):
                problems.append(f"{name} is a {_kind(value)}: give a string (quote a JSON value in YAML).")
            elif isinstance(value, str) and "\x00" in value:
                problems.append(f"{name} holds a NUL character, which no process environment can carry: "
                                f"remove it (encode binary values, for example in base64).")
    if isinstance(spec["env"], dict) and isinstance(spec["secrets"], dict):
        problems += [f"{where} sets {var} in both env and secrets: keep it in one of them."
                     for var in sorted(set(spec["env"]) & set(spec["secrets"]), key=str)]
    return problems


def _check_names(catalog, where, name, key, names):
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return [f"{where}.{key} is {names!r}: give a list of service names, for example [api]."]
    problems = [f"{where}.{key} names {n!r}, which is not in the catalog{_close(n, catalog)}: "
                f"name a service of the catalog or remove it." for n in names if n not in catalog]
    if name in names and key == "upstreams":  # in `after`, a cycle
        problems.append(f"{where}.{key} names {name} itself: remove it.")
    return problems


def _check_directives(where, spec, key, known, what):
    values = spec[key]
    if not isinstance(values, dict):
        return [f"{where}.{key} is {_kind(values)}: give a mapping of {what} to values."]
    problems = []
    for directive, value in values.items():
        if directive not in known:
            problems.append(f"{where}.{key} has {directive!r}, which is not one of the {what} the unit takes"
                            f"{_close(directive, known)}.")
        lines = value if isinstance(value, list) else [value]
        if not all(_scalar(v) and "\n" not in str(v) for v in lines):
            problems.append(f"{where}.{key}.{directive} is {value!r}: give a value on one line "
                            f"(or a list of such values).")
    return problems


def _ports_valid(given):
    """The entry has a port and instances that make ports (a worker has no port to clash)."""
    if not isinstance(given, dict):
        return False
    port, count = _int(given.get("port")), _int(given.get("instances", 1))
    return port is not None and count is not None and count >= 1 and 0 < port <= 65535


def _check_hosts(catalog, environment, environment_hosts):
    """Every instance's port free of every other service's on the same host,
    and every service a host is tagged with in the catalog."""
    problems = []
    for host in sorted(environment_hosts):
        services = environment_hosts[host].get("services", [])
        unknown = [s for s in services if s not in catalog]
        problems += [f"{host} in {environment} is tagged to run {s} (EC2 tag Services), which the catalog does "
                     f"not have{_close(s, catalog)}: add it to {CATALOG} or take it out of the tag."
                     for s in unknown]
        taken = {}
        for service in (s for s in services if s in catalog and _ports_valid(catalog[s])):
            ports = [i["port"] for i in instances(catalog, service)]
            clash = next((p for p in ports if taken.get(p, service) != service), None)
            if clash:
                problems.append(f"{CATALOG}.{service} and {taken[clash]} both listen on port {clash} of {host} "
                                f"({service} uses {ports[0]}-{ports[-1]}): give each service on a host its own ports.")
            taken.update({p: service for p in ports if p not in taken})
    return problems


def report(problems, what):
    """The one failure message of all the problems found."""
    head = f"The {what} was refused before anything was changed"
    if len(problems) == 1:
        return f"{head}: {problems[0]}"
    return "\n".join([f"{head}: {len(problems)} problems to fix."] + [f"- {p}" for p in problems])


__all__ = ["check_settings", "check_environment", "check_services", "check_catalog", "report",
           "SETTINGS", "DEFAULTS"]
