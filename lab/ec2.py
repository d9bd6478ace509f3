"""The lab's local EC2 endpoint: a moto server on loopback, and one running
instance in it per lab host, tagged as Pakashop's real instances are."""

import sys
from pathlib import Path
from urllib.parse import urlparse

import boto3

from lab.util import Daemon, log

CREDENTIALS = {"aws_access_key_id": "lab", "aws_secret_access_key": "lab"}
LOCK_TABLE = "pakashop-deploy-locks"


class Endpoint(Daemon):
    what = "local EC2 endpoint"

    def __init__(self, state_dir, config):
        self.url = config["endpoint"]
        self.region = config["region"]
        self.project = config["project"]
        super().__init__(Path(state_dir) / "ec2.pid", Path(state_dir) / "ec2.log", self.url + "/moto-api/")

    def client(self):
        return boto3.client("ec2", endpoint_url=self.url, region_name=self.region, **CREDENTIALS)

    def start(self):
        url = urlparse(self.url)
        self.launch([Path(sys.executable).with_name("moto_server"), "-H", url.hostname, "-p", url.port], 30)

    def ensure_lock_table(self, table=LOCK_TABLE):
        """The deploy lock's table (inventories/lab/group_vars/all/lab.yml names it)."""
        dynamodb = boto3.client("dynamodb", endpoint_url=self.url, region_name=self.region, **CREDENTIALS)
        if table not in dynamodb.list_tables()["TableNames"]:
            dynamodb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                                  KeySchema=[{"AttributeName": "lock_id", "KeyType": "HASH"}],
                                  AttributeDefinitions=[{"AttributeName": "lock_id", "AttributeType": "S"}])

    def _instances(self, ec2):
        """{Name tag: instance} of the instances that are running or stopped."""
        return {tag["Value"]: inst
                for page in ec2.get_paginator("describe_instances").paginate(
                    Filters=[{"Name": "instance-state-name", "Values": ["running", "stopped"]}])
                for res in page["Reservations"] for inst in res["Instances"]
                for tag in inst.get("Tags", []) if tag["Key"] == "Name"}

    def set_running(self, name, running):
        """Start or stop a host's instance, as AWS shows a host that was stopped:
        state `stopped`, its private address kept."""
        ec2 = self.client()
        instance = self._instances(ec2)[name]["InstanceId"]
        if running:
            ec2.start_instances(InstanceIds=[instance])
        else:
            ec2.stop_instances(InstanceIds=[instance])

    def register(self, hosts, subnet):
        """One running instance per host (idempotent: matched on the Name tag)."""
        ec2 = self.client()
        known = self._instances(ec2)
        subnet_id = self._subnet(ec2, subnet)
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        for host in hosts:
            tags = {"Name": host.name, "Project": self.project,
                    "Environment": host.environment, "Services": ",".join(host.services)}
            if host.name in known:
                instance = known[host.name]
                if instance.get("PrivateIpAddress") == host.address:
                    if instance["State"]["Name"] == "stopped":  # `lab stop`, then `lab up`
                        ec2.start_instances(InstanceIds=[instance["InstanceId"]])
                    ec2.create_tags(Resources=[instance["InstanceId"]],
                                    Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
                    continue
                ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])
            ec2.run_instances(
                ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.small",
                SubnetId=subnet_id, PrivateIpAddress=host.address,
                TagSpecifications=[{"ResourceType": "instance",
                                    "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}])
        wanted = {h.name for h in hosts}
        stale = [i["InstanceId"] for name, i in known.items() if name not in wanted]
        if stale:
            # Stopped and out of the project, not terminated: the local endpoint (moto) never frees
            # a terminated instance's address, and a later `lab up` may want the host back (it
            # matches it on its Name and address, starts it and tags it again).
            ec2.stop_instances(InstanceIds=stale)
            ec2.create_tags(Resources=stale, Tags=[{"Key": "Project", "Value": f"{self.project}-retired"}])
            self._leave_target_groups(stale)  # as AWS takes a terminated instance out of them
        log(f"local EC2 endpoint {self.url} describes {len(hosts)} lab instances")

    def _leave_target_groups(self, instance_ids):
        elbv2 = boto3.client("elbv2", endpoint_url=self.url, region_name=self.region, **CREDENTIALS)
        for group in elbv2.describe_target_groups()["TargetGroups"]:
            arn = group["TargetGroupArn"]
            members = {d["Target"]["Id"] for d in elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]}
            leaving = [{"Id": i} for i in instance_ids if i in members]
            if leaving:
                elbv2.deregister_targets(TargetGroupArn=arn, Targets=leaving)

    def ensure_target_groups(self, hosts, subnet, service="gateway"):
        """A target group pakashop-<env>-<service> per environment, with the
        running instances of its hosts that run `service` registered, as a load
        balancer in front of them would have (the catalog's target_groups)."""
        ec2 = self.client()
        elbv2 = boto3.client("elbv2", endpoint_url=self.url, region_name=self.region, **CREDENTIALS)
        vpc = ec2.describe_subnets(SubnetIds=[self._subnet(ec2, subnet)])["Subnets"][0]["VpcId"]
        known = self._instances(ec2)
        for environment in sorted({h.environment for h in hosts}):
            name = f"pakashop-{environment}-{service}"
            found = elbv2.describe_target_groups()["TargetGroups"]
            arn = next((g["TargetGroupArn"] for g in found if g["TargetGroupName"] == name), None) or \
                elbv2.create_target_group(Name=name, Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="instance",
                                          HealthCheckPath="/healthz")["TargetGroups"][0]["TargetGroupArn"]
            targets = [{"Id": known[h.name]["InstanceId"]} for h in hosts
                       if h.environment == environment and service in h.services and h.name in known
                       and known[h.name]["State"]["Name"] == "running"]
            if targets:
                elbv2.register_targets(TargetGroupArn=arn, Targets=targets)

    @staticmethod
    def _subnet(ec2, subnet):
        cidr = f"{subnet}.0/24"
        found = ec2.describe_subnets(Filters=[{"Name": "cidr-block", "Values": [cidr]}])["Subnets"]
        if found:
            return found[0]["SubnetId"]
        vpc = ec2.create_vpc(CidrBlock=f"{subnet}.0/24")["Vpc"]["VpcId"]
        return ec2.create_subnet(VpcId=vpc, CidrBlock=cidr)["Subnet"]["SubnetId"]
