"""Each plugin's own processing of 1,000s of instances, without API time: the
DescribeInstances answers are given (amazon.aws's cache of them), and only the
plugins' work is timed, in process. Run with the benchmark venv's python:
    processing.py COLLECTIONS_PATH AMAZON_CACHE_DIR WORK_DIR
Prints JSON seconds for all the instances."""

import json
import sys
import time
from pathlib import Path

from ansible.inventory.manager import InventoryManager, _InventoryDataWrapper
from ansible._internal._datatag._tags import Origin
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import cache_loader, init_plugin_loader, inventory_loader


def best_of(runs, work):
    best = float("inf")
    for _run in range(runs):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def parse_time(plugin_name, source, answer):
    """Best of 3: the plugin's parse, with `answer` where AWS's answer would be."""
    def parse():
        plugin = inventory_loader.get(plugin_name)
        answer(plugin)
        manager = InventoryManager(loader=DataLoader(), sources=[], parse=False)
        wrapper = _InventoryDataWrapper(manager._inventory, target_plugin=plugin,
                                        origin=Origin(description=f"<bench {plugin_name}>"))
        plugin.parse(wrapper, DataLoader(), str(source), cache=False)
    return best_of(3, parse)


def main(collections, amazon_cache, work):
    init_plugin_loader([collections])
    from ansible_collections.pakashop.infra.plugins.module_utils._ec2_hosts import summarize

    store = cache_loader.get("ansible.builtin.jsonfile", _uri=amazon_cache, _prefix="ansible_inventory_")
    cached = store.get(store.keys()[0])  # {"aws_ec2": [DescribeInstances instances]}
    raw = cached["aws_ec2"]
    summaries = []

    def summarize_all():
        summaries[:] = [summarize(i, i["Placement"]["AvailabilityZone"][:-1]) for i in raw]

    result = {"instances": len(raw), "ours_summarize": best_of(3, summarize_all)}
    result["ours_parse"] = parse_time("pakashop.infra.ec2", Path(work) / "nocache.pakashop.ec2.yml",
                                      lambda plugin: setattr(plugin, "_describe", lambda: summaries))
    result["amazon_parse"] = parse_time("amazon.aws.aws_ec2", Path(work) / "nocache.amazon.aws_ec2.yml",
                                        lambda plugin: setattr(plugin, "_query", lambda *a, **k: cached))
    print(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:])
