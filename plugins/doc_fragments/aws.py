# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The AWS connection of the controller-side modules (module_utils/_aws.py:
    AWS_ARGUMENT_SPEC, client); the same settings as the inventory plugin's."""

    DOCUMENTATION = r"""
options:
  region:
    description:
      - The AWS region, for a host of the inventory its C(ec2_region).
      - By default C(AWS_REGION), C(AWS_DEFAULT_REGION) or the profile's region.
    type: str
  endpoint_url:
    description: An endpoint to use instead of AWS's, for example the lab's local endpoint (C(PAKASHOP_LAB_EC2_URL)).
    type: str
  aws_profile:
    description: A profile of C(~/.aws/config); by default the boto3 chain (C(AWS_PROFILE), environment, instance role).
    type: str
  aws_access_key:
    description: An access key id, with O(aws_secret_key). Never printed.
    type: str
  aws_secret_key:
    description: The secret of O(aws_access_key). Never printed.
    type: str
  aws_session_token:
    description: A session token of temporary credentials. Never printed.
    type: str
requirements:
  - boto3 on the controller
"""
