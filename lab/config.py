"""The lab's configuration and its hosts: lab/lab.yml with the environment's
overrides, and the hosts it describes. Read by the CLI (lab/__main__.py) and
by the driver (lab/driver.py) alike."""

import os
from pathlib import Path

import yaml

from lab import hosts

CHECKOUT = Path(__file__).resolve().parent.parent
STATE = Path(os.environ.get("LAB_STATE", CHECKOUT / ".lab"))


def load_config():
    """lab/lab.yml, with overrides from the environment (LAB_BRIDGE, LAB_SUBNET,
    PAKASHOP_LAB_EC2_URL, PAKASHOP_LAB_FRONTEND_URL, LAB_<ENV>_HOSTS) so that a second checkout can run a
    lab of its own beside the first."""
    config = yaml.safe_load((CHECKOUT / "lab/lab.yml").read_text())
    config["network"]["bridge"] = os.environ.get("LAB_BRIDGE", config["network"]["bridge"])
    config["network"]["subnet"] = os.environ.get("LAB_SUBNET", config["network"]["subnet"])
    config["ec2"]["endpoint"] = os.environ.get("PAKASHOP_LAB_EC2_URL", config["ec2"]["endpoint"])
    config["frontend"]["endpoint"] = os.environ.get("PAKASHOP_LAB_FRONTEND_URL",
                                                    config["frontend"]["endpoint"])
    for env, spec in config["environments"].items():
        override = os.environ.get(f"LAB_{env.upper()}_HOSTS")
        if override:
            spec["hosts"] = int(override)
    return config


def lab_hosts(config):
    subnet = config["network"]["subnet"]
    prefix = {"staging": "stg", "production": "prd", "preview": "pre"}
    result = []
    for env, spec in config["environments"].items():
        for i in range(1, spec["hosts"] + 1):
            result.append(hosts.Host(
                name=f"{prefix.get(env, env[:3])}-{i}",
                address=f"{subnet}.{spec['first_address'] + i - 1}",
                environment=env,
                services=spec["layout"][(i - 1) % len(spec["layout"])],
                state_dir=STATE, machine_prefix=config["network"]["bridge"]))
    return result
