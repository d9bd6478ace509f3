"""A local EC2 endpoint for the inventory's integration test and benchmark: a
moto server on a free loopback port, started and stopped by whoever uses it,
and a fast way to fill it with Pakashop-tagged instances."""

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import urlopen

import boto3

CREDENTIALS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}
IMAGE = "ami-12c6146b"  # moto accepts any image id
BATCH = 500  # instances per RunInstances call: one call per batch is what makes 5,000 quick


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MotoServer:
    """`with MotoServer() as ec2:` a moto server process on 127.0.0.1, gone afterwards."""

    def __init__(self, log_path=os.devnull):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process = None

    def __enter__(self):
        server = Path(sys.executable).with_name("moto_server")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(self.port)],
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while not self._answering():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"moto server did not answer on {self.url}")
            time.sleep(0.2)
        return self

    def __exit__(self, *exc):
        self.stop()

    def _answering(self):
        try:
            with urlopen(self.url + "/moto-api/", timeout=1):
                return True
        except OSError:
            return False

    def stop(self):
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def client(self, region, service="ec2"):
        return boto3.client(service, region_name=region, endpoint_url=self.url, **CREDENTIALS)

    def launch(self, region, count, tags, state="running"):
        """`count` instances with the same tags, BATCH per call; their ids."""
        ec2 = self.client(region)
        spec = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
        ids = []
        while len(ids) < count:
            size = min(BATCH, count - len(ids))
            reply = ec2.run_instances(ImageId=IMAGE, MinCount=size, MaxCount=size, TagSpecifications=spec)
            ids += [i["InstanceId"] for i in reply["Instances"]]
        if state == "stopped":
            ec2.stop_instances(InstanceIds=ids)
        return ids


# The fleet the benchmark lists: environments and service sets in turn.
FLEET_MIX = [("staging", "gateway,api"), ("production", "gateway,api"),
             ("production", "api,notifications,moderation"), ("staging", "api,notifications,moderation")]


def fill(server, regions, total, project="pakashop"):
    """`total` running instances spread evenly over regions and FLEET_MIX."""
    shares = [(region, env, services) for region in regions for env, services in FLEET_MIX]
    per_share = total // len(shares)
    for n, (region, env, services) in zip(itertools.count(), shares):
        count = per_share + (1 if n < total % len(shares) else 0)
        server.launch(region, count, {"Project": project, "Environment": env, "Services": services})
