# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: ec2
short_description: Pakashop's staging and production hosts from EC2 tags
version_added: 0.1.0
description:
  - Finds the running EC2 instances of a project (tag C(Project=pakashop) by default)
    and groups them by environment (tag C(Environment)) and by the microservices
    they run (tag C(Services), a comma list).
  - Each host gets C(pakashop_environment), C(pakashop_branch) (from O(environments)),
    C(pakashop_services) and C(ansible_host).
  - Talks to EC2 with boto3; O(endpoint_url) points it at a local or private endpoint
    such as the lab's.
  - The inventory file name must end in C(ec2.yml) or C(ec2.yaml).
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: The name of this plugin; must be V(pakashop.infra.ec2).
    required: true
    choices: [pakashop.infra.ec2]
    type: str
  regions:
    description:
      - The AWS regions to search.
      - When empty, the region of the profile or of the environment (C(AWS_REGION),
        C(AWS_DEFAULT_REGION)); all regions are never scanned silently.
    type: list
    elements: str
    default: []
  endpoint_url:
    description:
      - The EC2 endpoint to use instead of AWS's, for example the lab's local endpoint.
      - Like the credential options, it may be a template, for example a C(lookup('env', ...)).
    type: str
    env:
      - name: AWS_ENDPOINT_URL_EC2
  aws_profile:
    description: The boto3 profile to take credentials and region from.
    type: str
    aliases: [profile]
    env:
      - name: AWS_PROFILE
  aws_access_key:
    description: The AWS access key id; the standard boto3 chain when unset.
    type: str
    aliases: [access_key]
  aws_secret_key:
    description: The AWS secret access key; the standard boto3 chain when unset.
    type: str
    aliases: [secret_key]
  aws_session_token:
    description: The AWS session token, for temporary credentials.
    type: str
    aliases: [session_token]
  project_tag:
    description: The tag key and value that select the project's instances.
    type: dict
    default: {key: Project, value: pakashop}
  environment_tag:
    description: The tag key whose value is the instance's environment.
    type: str
    default: Environment
  services_tag:
    description: The tag key whose value is the comma list of services the instance runs.
    type: str
    default: Services
  environments:
    description:
      - The environments and the git branch each one deploys.
      - A host whose environment is not listed here is put in group C(pakashop_unmapped) only.
    type: dict
    default:
      staging: {branch: main}
      production: {branch: production}
  hostnames:
    description:
      - Preference list of what names a host; the first one an instance has wins.
      - V(tag:Name) names a host after its C(Name) tag.
    type: list
    elements: str
    default: [private-ip-address]
  filters:
    description: Extra EC2 filters (as in C(amazon.aws.aws_ec2)), ANDed with the project tag.
    type: dict
    default: {}
"""

EXAMPLES = r"""
# inventories/aws/ec2.yml: Pakashop's real hosts
plugin: pakashop.infra.ec2
regions: [eu-west-1]
hostnames: [tag:Name, private-ip-address]

---
# inventories/lab/ec2.yml: the same against the lab's local EC2 endpoint
plugin: pakashop.infra.ec2
regions: [eu-west-1]
endpoint_url: http://127.0.0.1:5055
aws_access_key: lab
aws_secret_key: lab
hostnames: [tag:Name, private-ip-address]
"""

import re

from ansible.errors import AnsibleError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

try:
    import boto3
    import botocore.exceptions
except ImportError:
    boto3 = None

GROUP_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "pakashop.infra.ec2"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("ec2.yml", "ec2.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        if boto3 is None:
            raise AnsibleError("pakashop.infra.ec2 needs boto3: pip install boto3")
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        instances = None
        if use_cache:
            try:
                instances = self._cache[cache_key]
            except KeyError:
                pass
        if instances is None:
            instances = self._describe_instances()
            if self.get_option("cache"):
                self._cache[cache_key] = instances
        self._populate(instances)

    def _templated(self, name):
        """An option's value, templated: connection options may read the
        environment, e.g. ``"{{ lookup('env', 'MY_ENDPOINT') }}"``."""
        value = self.get_option(name)
        if isinstance(value, str) and self.templar.is_template(value):
            value = self.templar.template(value)
        return value or None

    def _session(self):
        return boto3.session.Session(
            profile_name=self._templated("aws_profile"),
            aws_access_key_id=self._templated("aws_access_key"),
            aws_secret_access_key=self._templated("aws_secret_key"),
            aws_session_token=self._templated("aws_session_token"))

    def _describe_instances(self):
        project = self.get_option("project_tag")
        filters = {f"tag:{project['key']}": project["value"],
                   "instance-state-name": "running", **self.get_option("filters")}
        ec2_filters = [{"Name": k, "Values": v if isinstance(v, list) else [v]}
                       for k, v in filters.items()]
        session = self._session()
        regions = self.get_option("regions") or [session.region_name]
        if not regions[0]:
            raise AnsibleError("pakashop.infra.ec2: no region given; set `regions` in the "
                               "inventory file or AWS_REGION in the environment")
        instances = []
        for region in regions:
            client = session.client("ec2", region_name=region,
                                    endpoint_url=self._templated("endpoint_url"))
            try:
                for page in client.get_paginator("describe_instances").paginate(Filters=ec2_filters):
                    for reservation in page["Reservations"]:
                        instances.extend(_summary(i, region) for i in reservation["Instances"])
            except botocore.exceptions.NoCredentialsError as e:
                raise AnsibleError("pakashop.infra.ec2: no AWS credentials found; set "
                                   "aws_profile or aws_access_key/aws_secret_key") from e
            except botocore.exceptions.EndpointConnectionError as e:
                raise AnsibleError(f"pakashop.infra.ec2: cannot reach the EC2 endpoint "
                                   f"{e.kwargs.get('endpoint_url')}; check endpoint_url and "
                                   f"regions") from e
            except botocore.exceptions.ClientError as e:
                raise AnsibleError(f"pakashop.infra.ec2: EC2 refused DescribeInstances in "
                                   f"{region}: {e.response['Error'].get('Message')}") from e
        return instances

    def _hostname(self, instance):
        for preference in self.get_option("hostnames"):
            if preference.startswith("tag:"):
                name = instance["tags"].get(preference[4:])
            else:
                name = instance.get(preference.replace("-", "_"))
            if name:
                return name
        return instance["instance_id"]

    def _populate(self, instances):
        environments = self.get_option("environments")
        strict = self.get_option("strict")
        for instance in sorted(instances, key=lambda i: i["instance_id"]):
            tags = instance["tags"]
            host = self.inventory.add_host(self._hostname(instance))
            environment = tags.get(self.get_option("environment_tag"), "").strip().lower()
            services = [s.strip().lower() for s in
                        tags.get(self.get_option("services_tag"), "").split(",") if s.strip()]
            hostvars = {
                "ansible_host": instance["private_ip_address"] or instance["ip_address"],
                "pakashop_environment": environment,
                "pakashop_branch": environments.get(environment, {}).get("branch"),
                "pakashop_services": services,
                "ec2_instance_id": instance["instance_id"],
                "ec2_region": instance["region"],
                "ec2_availability_zone": instance["availability_zone"],
                "ec2_private_ip_address": instance["private_ip_address"],
                "ec2_tags": tags,
            }
            for key, value in hostvars.items():
                self.inventory.set_variable(host, key, value)
            if environment in environments:
                self.inventory.add_group(environment)
                self.inventory.add_child(environment, host)
            else:
                self.inventory.add_group("pakashop_unmapped")
                self.inventory.add_child("pakashop_unmapped", host)
                self.display.warning(f"pakashop.infra.ec2: {host} has environment "
                                     f"{environment!r}, which `environments` does not map")
            for service in services:
                group = f"service_{service}"
                if not GROUP_NAME.match(group):
                    self.display.warning(f"pakashop.infra.ec2: {host}: service {service!r} "
                                         f"is not a valid group name; skipped")
                    continue
                self.inventory.add_group(group)
                self.inventory.add_child(group, host)
            self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)


def _summary(instance, region):
    """The part of DescribeInstances a host needs (JSON-safe, so it can be cached)."""
    return {
        "instance_id": instance["InstanceId"],
        "region": region,
        "availability_zone": instance.get("Placement", {}).get("AvailabilityZone"),
        "private_ip_address": instance.get("PrivateIpAddress"),
        "ip_address": instance.get("PublicIpAddress"),
        "dns_name": instance.get("PublicDnsName"),
        "private_dns_name": instance.get("PrivateDnsName"),
        "tags": {t["Key"]: t["Value"] for t in instance.get("Tags", [])},
    }
