# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: ec2
short_description: Pakashop's staging and production hosts from EC2 tags
version_added: 0.1.0
description:
  - Finds the EC2 instances of a project (tag C(Project=pakashop) by default, running ones only)
    and groups them by environment (tag C(Environment)) and by the microservices they run
    (tag C(Services), a comma list).
  - Options that C(amazon.aws.aws_ec2) also has (O(regions), O(filters), O(include_filters),
    O(exclude_filters), O(hostnames), O(hostvars_prefix), the credentials, O(compose),
    O(keyed_groups), the cache) mean the same here.
  - "Groups: one per environment of O(environments) (for example C(staging), C(production));
    C(pakashop_unmapped) for hosts whose environment O(environments) does not list (one warning
    names them); C(service_<name>) for each service of the C(Services) tag. A service that cannot
    be a group name (say C(image-resizer)) gets no group and a warning."
  - "Host variables: C(ansible_host) (private IP address, else the public one),
    C(pakashop_environment), C(pakashop_branch) (from O(environments), V(null) when unmapped),
    C(pakashop_services) (a list), and C(ec2_instance_id), C(ec2_region), C(ec2_availability_zone),
    C(ec2_instance_state), C(ec2_private_ip_address),
    C(ec2_public_ip_address) (when the instance has one) and C(ec2_tags) (a mapping)."
  - The inventory file name must end in C(ec2.yml) or C(ec2.yaml).
  - Requests use botocore's adaptive retry mode, which slows down on throttling; C(AWS_MAX_ATTEMPTS)
    sets the number of attempts (3 by default). Regions and queries are requested in parallel,
    each through EC2's paginator.
  - Every failure (no credentials, expired or rejected credentials, access denied, unknown region,
    unreachable endpoint, malformed option) ends the run with one sentence naming the cause and
    the option to change. With C(-vvv) the AWS error's traceback is printed too.
notes:
  - A cache hit (O(cache=true), within O(cache_timeout)) makes no AWS request at all, and does not
    even import boto3 unless O(regions) is empty and the default region must be read from a
    profile. C(--flush-cache) (of C(ansible-playbook) or C(ansible-inventory)) refreshes it. The cache
    key covers the file and the options that select instances, so editing O(filters) or
    O(regions) is never answered from a stale cache.
  - With Ansible's default settings a failing inventory source is only a warning; set
    C(any_unparsed_is_failed = True) in the C([inventory]) section of C(ansible.cfg), as this
    collection's checkout does, so that a deploy never runs against fewer hosts than exist.
requirements:
  - boto3 >= 1.28 and botocore (on the controller)
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
      - The AWS regions to search, in parallel.
      - When empty, the region of the profile or of the environment (C(AWS_REGION),
        C(AWS_DEFAULT_REGION)). Unlike C(amazon.aws.aws_ec2), an empty list never means
        every region; without any region the run fails and says so.
      - A name that botocore does not know as a region is refused before any request.
    type: list
    elements: str
    default: []
  project_tag:
    description:
      - The tag key and value that select the project's instances. Every query is narrowed to it.
    type: dict
    default: {key: Project, value: pakashop}
  instance_states:
    description:
      - The instance states to list, among V(pending), V(running), V(shutting-down), V(terminated),
        V(stopping) and V(stopped).
      - A O(filters) or O(include_filters) entry that names C(instance-state-name) overrides it
        for that query, as in C(amazon.aws.aws_ec2).
    type: list
    elements: str
    default: [running]
  filters:
    description:
      - EC2 filters (names as in the DescribeInstances API, for example C(tag:Role) or C(vpc-id)),
        a mapping of filter name to a value or a list of values; all must match.
      - As in C(amazon.aws.aws_ec2), this is one include query beside the O(include_filters) entries.
    type: dict
    default: {}
  include_filters:
    description:
      - A list of filter mappings; each entry is its own query and an instance that matches any
        of them (or O(filters)) is listed.
      - Each entry costs one request per region.
    type: list
    elements: dict
    default: []
  exclude_filters:
    description:
      - A list of filter mappings; each entry is its own query and an instance that matches any
        of them is left out, whatever O(filters) and O(include_filters) say (excludes win).
      - These queries are not narrowed by O(instance_states).
    type: list
    elements: dict
    default: []
  environment_tag:
    description: The tag key whose value is the instance's environment (case and surrounding spaces do not matter).
    type: str
    default: Environment
  services_tag:
    description:
      - The tag key whose value is the comma list of services the instance runs.
      - Each entry is stripped and lowercased, duplicates dropped.
    type: str
    default: Services
  environments:
    description:
      - "The environments and the git branch each one deploys, as C(name: {branch: ...})."
      - Each environment is a group. A branch may be a pattern, such as V(feature/*) for preview
        hosts that take any feature branch; the inventory hands it on as C(pakashop_branch).
      - A host whose environment is not listed is put in group C(pakashop_unmapped) only, and the
        run prints one warning that names such environments and hosts.
    type: dict
    default:
      staging: {branch: main}
      production: {branch: production}
  hostnames:
    description:
      - Preference list of what names a host; the first one an instance has wins.
      - "Each entry is one of V(private-ip-address), V(ip-address) (public), V(dns-name) (public),
        V(private-dns-name), V(instance-id), V(tag:<key>), or a mapping C(name:) (one of those),
        C(prefix:) (one of those, else a literal text) and C(separator:) (default V(_)) that
        gives C(<prefix><separator><name>), as in C(amazon.aws.aws_ec2)."
      - An instance that has none of them is named by its instance id; no instance is dropped.
      - When several instances get the same name, each of them is named
        C(<name>_<instance id>) and a warning lists them. No host hides another, and a name
        never moves to another instance when instances come and go.
      - This names hosts only; C(ansible_host) stays the IP address (use O(compose) to change it).
    type: list
    elements: raw
    default: [private-ip-address]
  hostvars_prefix:
    description:
      - Text put before the names of the C(ec2_*) host variables, for example V(aws_) gives
        C(aws_ec2_instance_id). C(ansible_host) and C(pakashop_*) keep their names.
      - O(compose), O(groups) and O(keyed_groups) see the prefixed names.
    type: str
    default: ''
  endpoint_url:
    description:
      - The EC2 endpoint to use instead of AWS's, for example the lab's local endpoint or a VPC
        endpoint. STS (for O(assume_role_arn)) follows botocore's own settings, such as
        C(AWS_ENDPOINT_URL_STS).
      - Like O(regions) and the credential options, it may be a template, for example a
        C(lookup) of an environment variable, as the lab's inventory does.
    type: str
    env:
      - name: AWS_URL
      - name: AWS_ENDPOINT_URL_EC2
  aws_profile:
    description:
      - The AWS profile (of C(~/.aws/config)) to take credentials and the default region from.
      - When the file does not set it, C(AWS_PROFILE), else C(AWS_DEFAULT_PROFILE), as in C(amazon.aws.aws_ec2).
    type: str
    aliases: [profile]
    env:
      - name: AWS_DEFAULT_PROFILE
      - name: AWS_PROFILE
  aws_access_key:
    description:
      - The AWS access key id. When neither the file nor the environment sets it, the standard
        boto3 chain provides credentials (a profile, an instance or OIDC role).
      - When the file does not set it, C(AWS_ACCESS_KEY_ID), else C(AWS_ACCESS_KEY), as in
        C(amazon.aws.aws_ec2).
    type: str
    aliases: [access_key, aws_access_key_id]
    env:
      - name: AWS_ACCESS_KEY
      - name: AWS_ACCESS_KEY_ID
  aws_secret_key:
    description:
      - The AWS secret access key, with O(aws_access_key).
      - When the file does not set it, C(AWS_SECRET_ACCESS_KEY), else C(AWS_SECRET_KEY).
    type: str
    aliases: [secret_key, aws_secret_access_key]
    env:
      - name: AWS_SECRET_KEY
      - name: AWS_SECRET_ACCESS_KEY
  aws_session_token:
    description:
      - The session token of temporary credentials.
      - When the file does not set it, C(AWS_SESSION_TOKEN), else C(AWS_SECURITY_TOKEN).
    type: str
    aliases: [session_token, security_token]
    env:
      - name: AWS_SECURITY_TOKEN
      - name: AWS_SESSION_TOKEN
  assume_role_arn:
    description:
      - The ARN of an IAM role to assume (through STS) before listing instances; the credentials
        above must be allowed to assume it.
    type: str
    aliases: [iam_role_arn]
"""

EXAMPLES = r"""
# inventories/aws/ec2.yml: Pakashop's real hosts, credentials from the boto3 chain
plugin: pakashop.infra.ec2
regions: [eu-west-1]
hostnames: [tag:Name, private-ip-address]

---
# inventories/lab/ec2.yml: the same against the lab's local EC2 endpoint
plugin: pakashop.infra.ec2
regions: [eu-west-1]
endpoint_url: "{{ lookup('ansible.builtin.env', 'PAKASHOP_LAB_EC2_URL', default='http://127.0.0.1:5055') }}"
aws_access_key: lab
aws_secret_key: lab
hostnames: [tag:Name, private-ip-address]

---
# Two regions through a role in the production account, preview hosts that
# take any feature branch, and a cache of ten minutes.
plugin: pakashop.infra.ec2
regions: [eu-west-1, eu-central-1]
aws_profile: pakashop-ci
assume_role_arn: arn:aws:iam::123456789012:role/pakashop-inventory
environments:
  staging: {branch: main}
  production: {branch: production}
  preview: {branch: "feature/*"}
hostnames:
  - tag:Name
  - name: private-ip-address
    prefix: tag:Environment
    separator: "-"
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/pakashop-inventory
cache_timeout: 600

---
# Selection as in amazon.aws.aws_ec2: stopped hosts too, the web or api
# roles of one VPC, never the instances being retired.
plugin: pakashop.infra.ec2
regions: [eu-west-1]
instance_states: [running, stopped]
filters:
  vpc-id: vpc-0abc1234
include_filters:
  - tag:Role: [web, api]
exclude_filters:
  - tag:Retiring: "true"
# constructed: a group per availability zone, and ssh through the public address
keyed_groups:
  - key: ec2_availability_zone
    prefix: zone
compose:
  ansible_host: ec2_public_ip_address | default(ansible_host)
"""

import difflib
import hashlib
import json
import os
import traceback
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.pakashop.infra.plugins.module_utils._ec2_errors import Call, explain
from ansible_collections.pakashop.infra.plugins.module_utils._ec2_hosts import (
    GROUP_NAME, ConfigError, check_environments, check_filter_list, check_hostnames,
    check_instance_states, check_project_tag, host_vars, preferred_hostname, query_plan,
    summarize, unique_hostnames)

UNMAPPED = "pakashop_unmapped"
PAGE_SIZE = 1000  # the most DescribeInstances returns per page
ROLE_SESSION_NAME = "pakashop-inventory"
CONNECTION_OPTIONS = ("endpoint_url", "aws_profile", "aws_access_key", "aws_secret_key",
                      "aws_session_token", "assume_role_arn")


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "pakashop.infra.ec2"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("ec2.yml", "ec2.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        config = self._read_config_data(path)
        try:
            self._check_option_names(config)
            self._read_settings()
        except ConfigError as e:
            # the option's value in the file: Ansible shows its line
            raise AnsibleError(f"{path}: {e}.", obj=config.get(e.option)) from None
        self._populate(self._instances(path, cache))

    # -- settings ---------------------------------------------------------

    def _check_option_names(self, config):
        """Ansible ignores an unknown key; a misspelt `filters` would then list
        every host of the project, so a name that is no option fails."""
        definitions = C.config.get_configuration_definitions("inventory", self._load_name)
        known = set(definitions).union(*(d.get("aliases") or () for d in definitions.values()))
        for key in config:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise ConfigError(key, f"{key} is not an option of {self.NAME}{hint}; see "
                                       f"ansible-doc -t inventory {self.NAME}")

    def _read_settings(self):
        """Options, checked once: a malformed one fails before any AWS request."""
        connection = {name: self._templated(name) for name in CONNECTION_OPTIONS}
        endpoint = connection["endpoint_url"]
        if endpoint and not endpoint.startswith(("http://", "https://")):
            raise ConfigError("endpoint_url", f"endpoint_url must be an http:// or https:// URL; got {endpoint!r}")
        self._connection = connection
        # plain str: a value from the file carries Ansible's tags, slow to cache
        self._regions = [str(self._templar_value(r)) for r in self.get_option("regions")]
        self._queries = query_plan(
            check_project_tag(self.get_option("project_tag")),
            check_instance_states(self.get_option("instance_states")),
            self.get_option("filters"),
            check_filter_list("include_filters", self.get_option("include_filters")),
            check_filter_list("exclude_filters", self.get_option("exclude_filters")))
        self._environments = check_environments(self.get_option("environments"))
        self._hostnames = check_hostnames(self.get_option("hostnames"))

    def _templated(self, name):
        """An option's value, templated: connection options may read the
        environment, e.g. ``"{{ lookup('env', 'MY_ENDPOINT') }}"``."""
        return self._templar_value(self.get_option(name)) or None

    def _templar_value(self, value):
        if isinstance(value, str) and self.templar.is_template(value):
            value = self.templar.template(value)
        return value

    # -- instances: from the cache, or from EC2 -----------------------------

    def _instances(self, path, cache):
        """Instance summaries, from the cache when it may answer (no AWS call at
        all then), else from EC2; a refresh is written back."""
        use_cache = self.get_option("cache")
        if not use_cache:
            return self._describe()
        key = self._cache_key(path)
        if cache:
            try:
                return self._cache[key]
            except KeyError:
                pass
        instances = self._describe()
        self._cache[key] = instances
        return instances

    def _cache_key(self, path):
        """The file's key plus a digest of what selects the instances, so that
        a changed filter or region is never answered from the cache."""
        # never a secret in the key (it names the cache file): a session token
        # from the environment also changes with every session
        selection = {"regions": self._regions, "queries": self._queries,
                     **{k: v for k, v in self._connection.items()
                        if k not in ("aws_secret_key", "aws_session_token")}}
        if not self._regions:  # the default region may change with the environment
            selection["default_region"] = self._default_region()
        digest = hashlib.sha256(json.dumps(selection, sort_keys=True, default=str).encode())
        return f"{self.get_cache_key(path)}_{digest.hexdigest()[:12]}"

    def _describe(self):
        """Every instance the queries select, from every region, excludes removed."""
        regions = self._regions or [self._default_region()]
        clients = self._clients(regions)
        includes, excludes = self._queries
        jobs = [(region, filters, excluded) for region in regions
                for excluded, queries in ((False, includes), (True, excludes)) for filters in queries]
        found, excluded_ids = {}, set()
        pool = ThreadPoolExecutor(max_workers=min(len(jobs), 8))
        try:
            futures = [(region, excluded, pool.submit(_describe_instances, clients[region], region, filters))
                       for region, filters, excluded in jobs]
            for region, excluded, future in futures:
                with self._aws_errors(Call(region=region)):
                    instances = future.result()
                if excluded:
                    excluded_ids.update(i["instance_id"] for i in instances)
                else:
                    found.update((i["instance_id"], i) for i in instances)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return [found[i] for i in sorted(found) if i not in excluded_ids]

    def _clients(self, regions):
        """One EC2 client per region, with the credentials of the options (and
        of the role, when there is one) and botocore's adaptive retries."""
        boto3, botocore = _import_boto3()
        with self._aws_errors(Call(region=regions[0])):
            session = self._session(boto3)
            self._check_regions(session, regions)
            if self._connection["assume_role_arn"]:
                session = self._assume_role(boto3, session, regions[0])
            config = botocore.config.Config(retries={"mode": "adaptive"}, connect_timeout=10,
                                            read_timeout=120, max_pool_connections=16)
            endpoint = self._connection["endpoint_url"]
            return {region: session.client("ec2", region_name=region, config=config, endpoint_url=endpoint)
                    for region in regions}

    def _check_regions(self, session, regions):
        """Refuse a region botocore does not know, before a request to it fails
        in a less obvious way (a DNS error, or a local endpoint's 500)."""
        known = {region for partition in session.get_available_partitions()
                 for region in session.get_available_regions("ec2", partition_name=partition)}
        unknown = [region for region in regions if region not in known]
        if unknown:
            where = "regions" if self._regions else "AWS_REGION or the profile's region (or set regions)"
            raise AnsibleError(f"Unknown AWS region {', '.join(map(repr, unknown))}: fix {where}; "
                               f"if the region is new, upgrade boto3.")

    def _default_region(self):
        """As the AWS CLI picks it: AWS_REGION (which botocore ignores), then
        AWS_DEFAULT_REGION, then the profile's region."""
        region = os.environ.get("AWS_REGION")
        if not region:
            boto3, _botocore = _import_boto3()
            with self._aws_errors(Call()):
                region = boto3.session.Session(profile_name=self._connection["aws_profile"]).region_name
        if not region:
            raise AnsibleError("No AWS region is set: list regions in the inventory file, or set "
                               "AWS_REGION, or a region for the profile in ~/.aws/config.")
        return region

    def _session(self, boto3):
        c = self._connection
        return boto3.session.Session(
            profile_name=c["aws_profile"], aws_access_key_id=c["aws_access_key"],
            aws_secret_access_key=c["aws_secret_key"], aws_session_token=c["aws_session_token"])

    def _assume_role(self, boto3, session, region):
        role = session.client("sts", region_name=region).assume_role(
            RoleArn=self._connection["assume_role_arn"], RoleSessionName=ROLE_SESSION_NAME)
        credentials = role["Credentials"]
        return boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"], aws_session_token=credentials["SessionToken"],
            aws_secret_access_key=credentials["SecretAccessKey"])

    @contextmanager
    def _aws_errors(self, call):
        """The one AWS error handler: any botocore failure becomes one sentence
        naming the cause and the option to fix; the traceback only with -vvv."""
        import botocore.exceptions

        try:
            yield
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.display.vvv(f"pakashop.infra.ec2: {traceback.format_exc()}")
            c = self._connection
            raise AnsibleError(explain(e, Call(
                region=call.region, endpoint_url=c["endpoint_url"], profile=c["aws_profile"],
                role_arn=c["assume_role_arn"]))) from None

    # -- hosts and groups ---------------------------------------------------

    def _populate(self, instances):
        prefix = self.get_option("hostvars_prefix") or ""
        environment_tag = self.get_option("environment_tag")
        services_tag = self.get_option("services_tag")
        compose, groups, keyed = (self.get_option(o) for o in ("compose", "groups", "keyed_groups"))
        strict = self.get_option("strict")
        names, shared = unique_hostnames([preferred_hostname(i, self._hostnames) for i in instances],
                                         [i["instance_id"] for i in instances])
        unmapped, ungroupable = {}, {}
        for name, instance in zip(names, instances):
            hostvars = host_vars(instance, environment_tag, services_tag, self._environments, prefix)
            environment = hostvars["pakashop_environment"]
            if environment in self._environments:
                group = environment
            else:
                group = UNMAPPED
                unmapped.setdefault(environment, []).append(name)
            self.inventory.add_group(group)
            self.inventory.add_host(name, group=group)
            for key, value in hostvars.items():
                self.inventory.set_variable(name, key, value)
            for service in hostvars["pakashop_services"]:
                if GROUP_NAME.match(service):
                    self.inventory.add_group(f"service_{service}")
                    self.inventory.add_child(f"service_{service}", name)
                else:
                    ungroupable.setdefault(service, []).append(name)
            self._set_composite_vars(compose, hostvars, name, strict=strict)
            self._add_host_to_composed_groups(groups, hostvars, name, strict=strict)
            self._add_host_to_keyed_groups(keyed, hostvars, name, strict=strict)
        self._warn(shared, unmapped, ungroupable, environment_tag, services_tag)

    def _warn(self, shared, unmapped, ungroupable, environment_tag, services_tag):
        """One warning per kind of problem, however many hosts have it."""
        if shared:
            self.display.warning(
                f"pakashop.infra.ec2: several instances share a host name, so each of them is named "
                f"<name>_<instance id>: {_listing(shared)}; add a more specific entry to hostnames.")
        if unmapped:
            count = sum(len(hosts) for hosts in unmapped.values())
            self.display.warning(
                f"pakashop.infra.ec2: {count} host(s) have an environment that environments does not "
                f"map, so they are only in group {UNMAPPED}: {_listing(unmapped)}; add such an "
                f"environment to environments or fix the {environment_tag} tag.")
        if ungroupable:
            self.display.warning(
                f"pakashop.infra.ec2: service names that cannot be group names get no service_ group "
                f"(pakashop_services still lists them): {_listing(ungroupable)}; use lowercase "
                f"letters, digits and underscores in the {services_tag} tag.")


def _describe_instances(client, region, filters):
    """Every instance that matches the filters in one region, page by page."""
    pages = client.get_paginator("describe_instances").paginate(
        Filters=filters, PaginationConfig={"PageSize": PAGE_SIZE})
    return [summarize(instance, region) for page in pages
            for reservation in page["Reservations"] for instance in reservation["Instances"]]


def _listing(names_to_hosts, most=5):
    """"'qa' (qa-1, qa-2), none (web-9 and 7 more)": names, then hosts, for a warning."""
    parts = []
    for name, hosts in sorted(names_to_hosts.items()):
        hosts = sorted(hosts)
        shown = ", ".join(hosts[:most]) + (f" and {len(hosts) - most} more" if len(hosts) > most else "")
        parts.append(f"{name!r} ({shown})" if name else f"none ({shown})")
    return ", ".join(parts)


def _import_boto3():
    """boto3 is imported only when EC2 is asked: a cache hit does without it."""
    try:
        import boto3
        import botocore.config
    except ImportError:
        raise AnsibleError("pakashop.infra.ec2 needs boto3 on the controller: pip install boto3.") from None
    return boto3, botocore
