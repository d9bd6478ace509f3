# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The service catalog (C(pakashop_service_catalog)) as the collection reads it:
each entry with its defaults applied, its instances with their ports and unit
names, and the order of the services by C(after).

The one place for those rules. Private to the collection.
"""

from __future__ import annotations

# Every key a catalog entry may have, with the default of the optional ones
# (roles/service/meta/argument_specs.yml documents them).
REQUIRED_KEYS = ("exec_start", "source_path")
# How a service says it is ready, for its gates (module_utils/_health.py):
#   http     its health endpoint on its port answers 200, naming it and its version
#   notify   it tells systemd READY=1 and its version through sd_notify (Type=notify)
#   command  a command run on the host as its user exits 0 and prints its version last
READINESS = ("http", "notify", "command")
# Only readiness http asks an HTTP health endpoint.
HTTP_ONLY_DEFAULTS = {"health_path": "/healthz"}
DEFAULTS = {
    # The port of instance 1; none for a worker that listens on no port (readiness notify or command).
    "port": None,
    "instances": 1,
    "readiness": "http",
    "readiness_command": None,
    **HTTP_ONLY_DEFAULTS,
    # Keys of the health answer (http) or of the sd_notify STATUS= words (notify) naming the service and its version.
    "identity_field": "service",
    "version_field": "version",
    "build_command": None,
    "install_command": None,
    "env": {},
    "secrets": {},
    "after": [],
    "upstreams": [],
    "limits": {},
    "hardening": {},
    # A listening port belongs to systemd (pakashop-<svc>@<i>.socket), so a restart
    # queues connections instead of refusing them. Unset: whether the service has a port.
    "socket": None,
    # Load balancer target groups (ARNs or names) the host leaves while the service restarts.
    "target_groups": [],
}
KEYS = REQUIRED_KEYS + tuple(DEFAULTS)


def unit_name(service):
    """The name shared by a service's template unit, target and user."""
    return f"pakashop-{service}"


def entry(catalog, service):
    """The catalog entry of `service` with every default applied: the HTTP
    health's only for readiness http, and a socket when it has a port."""
    given = {k: v for k, v in (catalog[service] or {}).items() if v is not None}
    spec = {**{k: (v.copy() if isinstance(v, (dict, list)) else v) for k, v in DEFAULTS.items()}, **given}
    if spec["readiness"] != "http":
        spec.update({k: given.get(k) for k in HTTP_ONLY_DEFAULTS})
    if spec["socket"] is None:
        spec["socket"] = spec["port"] is not None
    return spec


def answers_while_restarting(spec):
    """Whether a host keeps answering for a service (its `entry`) while one of its
    instances restarts: systemd's socket keeps its port listening, or it has no port.
    (A second instance without a socket does not count: that relies on the caller retrying.)"""
    return bool(spec["socket"]) or spec["port"] is None


# What a gate needs to know of a service (release_activate, service_drift, service_health).
GATE_KEYS = ("instances", "port", "readiness", "readiness_command", "health_path", "identity_field",
             "version_field", "socket")


def gates(catalog, service):
    """How the instances of `service` are restarted and gated: its GATE_KEYS, and the
    services it restarts after (`after`) in each wave."""
    spec = entry(catalog, service)
    return {"service": service, **{key: spec[key] for key in GATE_KEYS}, "after": list(spec["after"])}


def instance_port(port, index):
    """The port of instance `index` (from 1) of a service whose instance 1 listens on
    `port`; None for a service without a port."""
    return None if port is None else int(port) + int(index) - 1


def instances(catalog, service):
    """[{index, port, unit}] of the service's template-unit instances (port None without one)."""
    spec = entry(catalog, service)
    return [{"service": service, "index": i, "port": instance_port(spec["port"], i),
             "unit": f"{unit_name(service)}@{i}", "health_path": spec["health_path"]}
            for i in range(1, int(spec["instances"]) + 1)]


class CatalogError(ValueError):
    pass


def order(catalog):
    """The services, each after the services its `after` names (ties kept in
    catalog order). Raises CatalogError on an unknown name or a cycle."""
    result, visiting, done = [], set(), set()

    def visit(name, path):
        if name in done:
            return
        if name in visiting:
            raise CatalogError(f"the catalog's `after` lists form a cycle: {' -> '.join(path + [name])}; "
                               "remove one of these `after` entries")
        visiting.add(name)
        for dep in (catalog[name] or {}).get("after") or []:
            if dep not in catalog:
                raise CatalogError(f"pakashop_service_catalog.{name}.after names {dep!r}, which is not in "
                                   "the catalog; name a service of the catalog or remove it")
            visit(dep, path + [name])
        visiting.discard(name)
        done.add(name)
        result.append(name)

    for name in catalog:
        visit(name, [])
    return result
