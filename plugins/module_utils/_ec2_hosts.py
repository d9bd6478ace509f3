# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Private to pakashop.infra.ec2 (controller side): pure functions that turn
the inventory file's options and EC2's DescribeInstances answers into hosts.
No boto3 here, so that everything can be tested without AWS."""

from __future__ import annotations

import re
from collections import Counter

GROUP_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
INSTANCE_STATES = ("pending", "running", "shutting-down", "terminated", "stopping", "stopped")

# hostnames sources, named as amazon.aws names them, and the summary field each reads
HOSTNAME_SOURCES = {
    "private-ip-address": "private_ip_address",
    "ip-address": "ip_address",
    "dns-name": "dns_name",
    "private-dns-name": "private_dns_name",
    "instance-id": "instance_id",
}


class ConfigError(ValueError):
    """An option of the inventory file is malformed; the message names it."""

    def __init__(self, option, message):
        super().__init__(message)
        self.option = option


def summarize(instance, region):
    """The part of one DescribeInstances instance that a host needs. Plain
    JSON types only, so that the cache can store it as it is."""
    return {
        "instance_id": instance["InstanceId"],
        "region": region,
        "availability_zone": (instance.get("Placement") or {}).get("AvailabilityZone"),
        "state": (instance.get("State") or {}).get("Name"),
        # EC2 answers "" rather than nothing for a missing name
        "private_ip_address": instance.get("PrivateIpAddress") or None,
        "ip_address": instance.get("PublicIpAddress") or None,
        "dns_name": instance.get("PublicDnsName") or None,
        "private_dns_name": instance.get("PrivateDnsName") or None,
        "tags": {tag["Key"]: tag["Value"] for tag in instance.get("Tags") or ()},
    }


def boto_filters(filters):
    """amazon.aws's filter mapping ({name: value or [values]}) as EC2's Filters."""
    return [{"Name": str(name), "Values": [str(v) for v in (values if isinstance(values, list) else [values])]}
            for name, values in filters.items()]


def query_plan(project_tag, instance_states, filters, include_filters, exclude_filters):
    """The DescribeInstances queries, as amazon.aws runs them: `filters` is one
    include query and each `include_filters` entry another, their instances
    united; each `exclude_filters` entry is a query whose instances are removed.

    Every query is narrowed to the project's tag. Include queries also to
    `instance_states`, unless the entry names `instance-state-name` itself;
    exclude queries are not, so that an excluded instance stays excluded
    whatever its state."""
    project = {"tag:" + project_tag["key"]: project_tag["value"]}
    states = {"instance-state-name": list(instance_states)}
    includes = ([filters] if filters else []) + list(include_filters)
    return ([boto_filters({**states, **entry, **project}) for entry in includes or [{}]],
            [boto_filters({**entry, **project}) for entry in exclude_filters])


def check_project_tag(value):
    if not (isinstance(value, dict) and value.get("key") and value.get("value")):
        raise ConfigError("project_tag", f"project_tag must be a mapping with a key and a value, "
                          f"for example {{key: Project, value: pakashop}}; got {value!r}")
    return {"key": str(value["key"]), "value": str(value["value"])}


def check_instance_states(states):
    unknown = [s for s in states if s not in INSTANCE_STATES]
    if unknown or not states:
        raise ConfigError("instance_states", f"instance_states must list states among {', '.join(INSTANCE_STATES)}; "
                          f"got {list(states)!r}")
    return list(states)


def check_filter_list(option, entries):
    if not all(isinstance(entry, dict) for entry in entries):
        raise ConfigError(option, f"{option} must be a list of filter mappings, "
                          f"for example [{{'tag:Name': web-1}}]; got {entries!r}")
    return entries


def check_environments(environments):
    """{name: {branch: ...}} with names normalised like the Environment tag."""
    checked = {}
    for name, spec in (environments or {}).items():
        key = str(name).strip().lower()
        if not GROUP_NAME.match(key):
            raise ConfigError("environments", f"environments: {name!r} cannot be a group name (use lowercase "
                              f"letters, digits and underscores, not starting with a digit)")
        if not (isinstance(spec, dict) and isinstance(spec.get("branch"), str) and spec["branch"]):
            raise ConfigError("environments", f"environments: {name!r} must be a mapping with a branch, "
                              f"for example {{branch: main}}; got {spec!r}")
        checked[key] = spec["branch"]
    return checked


def _is_source(name):
    return name in HOSTNAME_SOURCES or (name.startswith("tag:") and len(name) > 4)


def check_hostnames(entries):
    """`hostnames` as (name, prefix, separator) triples. A prefix that is not a
    source is taken literally, as amazon.aws does."""
    preferences = []
    for entry in entries:
        spec = {"name": entry} if isinstance(entry, str) else entry
        name = spec.get("name") if isinstance(spec, dict) else None
        if not (isinstance(name, str) and _is_source(name)):
            raise ConfigError("hostnames", f"hostnames: {entry!r} is not one of {', '.join(HOSTNAME_SOURCES)}, "
                                           f"tag:<key>, or a mapping with such a name (and a prefix, separator)")
        preferences.append((name, str(spec.get("prefix") or ""), str(spec.get("separator", "_"))))
    return preferences


def _value(summary, source):
    if source.startswith("tag:"):
        return summary["tags"].get(source[4:]) or None
    return summary.get(HOSTNAME_SOURCES[source])


def preferred_hostname(summary, preferences):
    """The first name in the preference list that the instance has; its
    instance id when it has none of them (a host is never dropped)."""
    for name, prefix, separator in preferences:
        value = _value(summary, name)
        if value:
            head = (_value(summary, prefix) if _is_source(prefix) else prefix) if prefix else None
            return f"{head}{separator}{value}" if head else value
    return summary["instance_id"]


def unique_hostnames(names, instance_ids):
    """Names made unique: every name that several instances share becomes
    <name>_<instance id> for each of them, so that no host hides another and a
    name never moves between instances as instances come and go. Returns the
    names and the shared ones ({name: [instance ids]})."""
    counts = Counter(names)
    shared = {}
    unique = []
    for name, instance_id in zip(names, instance_ids):
        if counts[name] > 1:
            shared.setdefault(name, []).append(instance_id)
            name = f"{name}_{instance_id}"
        unique.append(name)
    return unique, shared


def parse_services(value):
    """The Services tag as a list: 'api, Notifications,,api' -> ['api', 'notifications']."""
    names = (part.strip().lower() for part in (value or "").split(","))
    return list(dict.fromkeys(name for name in names if name))


def normalize_environment(value):
    return (value or "").strip().lower()


def host_vars(summary, environment_tag, services_tag, environments, prefix=""):
    """The variables of one host. `prefix` (hostvars_prefix) applies to the
    ec2_* variables only: ansible_host and pakashop_* are what playbooks use."""
    tags = summary["tags"]
    environment = normalize_environment(tags.get(environment_tag))
    hostvars = {
        "pakashop_environment": environment,
        "pakashop_branch": environments.get(environment),
        "pakashop_services": parse_services(tags.get(services_tag)),
    }
    address = (summary["private_ip_address"] or summary["ip_address"]
               or summary["private_dns_name"] or summary["dns_name"])
    if address:
        hostvars["ansible_host"] = address
    ec2 = {
        "instance_id": summary["instance_id"],
        "region": summary["region"],
        "availability_zone": summary["availability_zone"],
        "instance_state": summary["state"],
        "private_ip_address": summary["private_ip_address"],
        "tags": tags,
    }
    if summary["ip_address"]:
        ec2["public_ip_address"] = summary["ip_address"]
    hostvars.update((f"{prefix}ec2_{key}", value) for key, value in ec2.items())
    return hostvars
