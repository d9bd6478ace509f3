"""What a person reads when AWS fails: one sentence, the cause, the option to fix."""

import botocore.exceptions as bx
import pytest

from ansible_collections.pakashop.infra.plugins.module_utils._ec2_errors import Call, explain

CALL = Call(region="eu-west-1", profile="pakashop", role_arn="arn:aws:iam::1:role/inventory")


def client_error(code, operation="DescribeInstances", message="Something went wrong."):
    return bx.ClientError({"Error": {"Code": code, "Message": message}}, operation)


@pytest.mark.parametrize("exc, call, expected", [
    (bx.NoCredentialsError(), CALL, ["No AWS credentials", "aws_profile", "aws_access_key"]),
    (bx.PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"), CALL,
     ["incomplete", "AWS_SECRET_ACCESS_KEY", "aws_secret_key"]),
    (bx.ProfileNotFound(profile="nope"), CALL, ["'nope'", "aws_profile"]),
    (bx.TokenRetrievalError(provider="sso", error_msg="expired"), CALL, ["expired", "aws sso login --profile pakashop"]),
    (client_error("ExpiredToken", message="The security token included in the request is expired."), CALL,
     ["expired", "aws_session_token"]),
    (client_error("RequestExpired"), CALL, ["expired"]),
    (client_error("AuthFailure"), CALL, ["rejected the credentials in region eu-west-1", "aws_access_key"]),
    (client_error("UnauthorizedOperation"), CALL,
     ["Access denied to ec2:DescribeInstances in region eu-west-1", "aws_profile or assume_role_arn"]),
    (client_error("AccessDenied", operation="AssumeRole"), CALL,
     ["Cannot assume role arn:aws:iam::1:role/inventory", "assume_role_arn"]),
    (client_error("OptInRequired"), CALL, ["not enabled", "regions"]),
    (client_error("RequestLimitExceeded"), CALL, ["throttling", "AWS_MAX_ATTEMPTS"]),
    (client_error("InvalidParameterValue", message="The filter 'tag-kye' is invalid"), CALL,
     ["tag-kye", "filters, include_filters or exclude_filters"]),
    (bx.EndpointConnectionError(endpoint_url="http://127.0.0.1:9/"), Call(region="eu-west-1", endpoint_url="http://127.0.0.1:9"),
     ["Cannot reach the EC2 endpoint http://127.0.0.1:9/", "endpoint_url"]),
    (bx.EndpointConnectionError(endpoint_url="https://ec2.eu-west-1.amazonaws.com/"), CALL,
     ["Cannot reach EC2 at https://ec2.eu-west-1.amazonaws.com/", "regions", "network"]),
    (bx.ConnectTimeoutError(endpoint_url="http://10.0.0.1/"), Call(endpoint_url="http://10.0.0.1"), ["Cannot reach", "endpoint_url"]),
    (client_error("InternalError"), CALL, ["EC2 answered InternalError to DescribeInstances in region eu-west-1"]),
])
def test_an_aws_failure_is_one_sentence_naming_cause_and_option(exc, call, expected):
    sentence = explain(exc, call)
    for part in expected:
        assert part in sentence
    assert "\n" not in sentence and "Traceback" not in sentence
    assert sentence.endswith(".") and sentence.count(". ") == 0
