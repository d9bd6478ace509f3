# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Private to pakashop.infra.ec2: what an AWS failure means for the person who
runs the inventory, in one sentence that names the cause and the option that
fixes it. The plugin's single AWS error handler calls `explain`."""

from __future__ import annotations

from dataclasses import dataclass

EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
REJECTED = {"AuthFailure", "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch",
            "InvalidAccessKeyId", "IncompleteSignature", "MissingAuthenticationToken"}
DENIED = {"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"}
THROTTLED = {"RequestLimitExceeded", "Throttling", "ThrottlingException", "TooManyRequestsException"}
# botocore's exceptions for an expired SSO login, matched by name so that this
# module imports without botocore
EXPIRED_LOGIN = {"TokenRetrievalError", "SSOTokenLoadError", "UnauthorizedSSOTokenError"}
UNREACHABLE = {"EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError",
               "ConnectionClosedError", "ProxyConnectionError", "SSLError"}


@dataclass(frozen=True)
class Call:
    """What was being done when AWS failed, and with which settings."""

    region: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    role_arn: str | None = None


def explain(exc, call):
    """One sentence: the cause, then what to change."""
    kind = type(exc).__name__
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        return _explain_client_error(exc, response["Error"], call)
    where = f" (region {call.region})" if call.region else ""
    if kind == "NoCredentialsError":
        return ("No AWS credentials were found: set aws_profile, or aws_access_key and aws_secret_key, "
                "in the inventory file, or provide them the standard way (AWS_PROFILE, "
                "AWS_ACCESS_KEY_ID, an instance role).")
    if kind == "PartialCredentialsError":
        return (f"The AWS credentials are incomplete ({getattr(exc, 'kwargs', {}).get('cred_var')} is "
                f"missing): set both aws_access_key and aws_secret_key, or use aws_profile.")
    if kind == "ProfileNotFound":
        profile = getattr(exc, "kwargs", {}).get("profile") or call.profile
        return (f"The AWS profile {profile!r} is not in ~/.aws/config or ~/.aws/credentials: "
                f"fix aws_profile (or AWS_PROFILE).")
    if kind in EXPIRED_LOGIN:
        return (f"The AWS login of profile {call.profile!r} has expired: log in again "
                f"(aws sso login --profile {call.profile}) or change aws_profile.")
    if kind in UNREACHABLE:
        url = getattr(exc, "kwargs", {}).get("endpoint_url") or call.endpoint_url
        if call.endpoint_url:
            return (f"Cannot reach the EC2 endpoint {url}{where}: check endpoint_url and that "
                    f"the endpoint is running.")
        return (f"Cannot reach EC2 at {url}{where}: check regions and this machine's network "
                f"(proxy, DNS, VPC endpoint), or set endpoint_url.")
    return f"The AWS request failed{where} ({kind}: {exc}): check the AWS settings of the inventory file."


def _explain_client_error(exc, error, call):
    code = error.get("Code", "")
    message = error.get("Message", "").rstrip(".")
    operation = getattr(exc, "operation_name", "the request")
    where = f" in region {call.region}" if call.region else ""
    if code in EXPIRED:
        return (f"The AWS credentials have expired ({code}: {message}): renew them (a fresh "
                f"aws_session_token, or log in again for aws_profile).")
    if code in REJECTED:
        return (f"AWS rejected the credentials{where} ({code}): check aws_access_key and "
                f"aws_secret_key, or aws_profile.")
    if operation == "AssumeRole":
        return (f"Cannot assume role {call.role_arn} ({code}: {message}): check assume_role_arn "
                f"and that the role trusts the calling identity.")
    if code in DENIED:
        return (f"Access denied to ec2:{operation}{where} ({code}): grant it to the identity in "
                f"use, or change aws_profile or assume_role_arn.")
    if code == "OptInRequired":
        return f"Region {call.region} is not enabled for this AWS account: enable it or remove it from regions."
    if code in THROTTLED:
        return (f"EC2 kept throttling {operation}{where} after every retry ({code}): run again later, "
                f"or raise AWS_MAX_ATTEMPTS.")
    if code.startswith("Invalid") and operation == "DescribeInstances":
        return (f"EC2 rejected the query{where} ({code}: {message}): fix filters, include_filters "
                f"or exclude_filters.")
    return f"EC2 answered {code} to {operation}{where}: {message}."
