# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to pakashop.infra: the AWS connection options of the controller-side
modules (the C(pakashop.infra.aws) doc fragment documents them), a boto3
client made from them as the inventory plugin makes its own (the same
credentials, endpoint and adaptive retries), and an AWS failure as one sentence."""

from __future__ import annotations

try:
    import boto3
    import botocore.config
    HAS_BOTO3 = True
except ImportError:
    HAS_BOTO3 = False

from ansible_collections.pakashop.infra.plugins.module_utils._ec2_errors import (
    DENIED, EXPIRED, REJECTED, THROTTLED, UNREACHABLE)

AWS_ARGUMENT_SPEC = {
    "region": {"type": "str"},
    "endpoint_url": {"type": "str"},
    "aws_profile": {"type": "str"},
    "aws_access_key": {"type": "str", "no_log": True},
    "aws_secret_key": {"type": "str", "no_log": True},
    "aws_session_token": {"type": "str", "no_log": True},
}


class AwsError(Exception):
    pass


def client(params, service):
    """A boto3 client of `service` from the module's connection options."""
    if not HAS_BOTO3:
        raise AwsError(f"this module needs boto3 on the controller: pip install boto3 (for {service}).")
    session = boto3.session.Session(
        profile_name=params.get("aws_profile") or None,
        aws_access_key_id=params.get("aws_access_key") or None,
        aws_secret_access_key=params.get("aws_secret_key") or None,
        aws_session_token=params.get("aws_session_token") or None,
        region_name=params.get("region") or None)
    if not session.region_name:
        raise AwsError("No AWS region is set: give region (the host's ec2_region), or set AWS_REGION.")
    config = botocore.config.Config(retries={"mode": "adaptive"}, connect_timeout=10, read_timeout=60)
    return session.client(service, config=config, endpoint_url=params.get("endpoint_url") or None)


def explain(exc, service, region=None, endpoint_url=None):
    """One sentence for a botocore failure of a `service` (elasticloadbalancing, ...) call."""
    where = f" in region {region}" if region else ""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        code = response["Error"].get("Code", "")
        message = response["Error"].get("Message", "").rstrip(".")
        operation = getattr(exc, "operation_name", "the request")
        if code in DENIED:
            return (f"Access denied to {service}:{operation}{where} ({code}): grant it to the identity in use "
                    f"(see the README's AWS section), or change aws_profile or the keys.")
        if code in EXPIRED:
            return f"The AWS credentials have expired ({code}: {message}): renew them."
        if code in REJECTED:
            return f"AWS rejected the credentials{where} ({code}): check aws_access_key and aws_secret_key, or aws_profile."
        if code in THROTTLED:
            return f"AWS kept throttling {operation}{where} after every retry ({code}): run again later."
        return f"{service} answered {code} to {operation}{where}: {message}."
    kind = type(exc).__name__
    if kind == "NoCredentialsError":
        return ("No AWS credentials were found: give aws_access_key and aws_secret_key, or aws_profile, "
                "or provide them the standard way (AWS_PROFILE, an instance role).")
    if kind in UNREACHABLE:
        target = endpoint_url or f"AWS {service}"
        return f"Cannot reach {target}{where}: check endpoint_url and the network."
    return f"The AWS request failed{where} ({kind}: {exc})."
