# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the credential store options (mirrors STORE_OPTIONS in module_utils/rotation/runner.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  store:
    description:
      - Where consumers read the current credential.
      - C(secretsmanager) keeps versions with the C(AWSPENDING)/C(AWSCURRENT)/C(AWSPREVIOUS) staging labels.
      - C(kubernetes) is a Secret consumed by Odoo; it has no staging labels, so the pending value stays in
        the module's memory until the last step.
    type: dict
    required: true
    suboptions:
      type:
        description: Store kind.
        type: str
        required: true
        choices: [secretsmanager, kubernetes]
      secret_id:
        description: Secrets Manager secret name or ARN (C(type=secretsmanager)); created on the first rotation.
        type: str
      region:
        description: AWS region; defaults to C(AWS_REGION) / C(AWS_DEFAULT_REGION).
        type: str
      endpoint_url:
        description: Secrets Manager endpoint; defaults to C(AWS_ENDPOINT_URL) (e.g. the lab's moto server).
        type: str
      kms_key_id:
        description: KMS key for a secret created by the first rotation.
        type: str
      namespace:
        description: Namespace of the Secret (C(type=kubernetes)).
        type: str
      name:
        description: Name of the Secret (C(type=kubernetes)); created on the first rotation.
        type: str
      kubeconfig:
        description: Kubeconfig file; defaults to C(KUBECONFIG), then the in-cluster configuration.
        type: path
      context:
        description: Kubeconfig context.
        type: str
      keys:
        description:
          - "Map of credential field (C(username), C(password), C(admin_passwd), C(api_key)) to the Secret key
            holding it, for example C({password: db_password}). Unmapped fields use their own name."
        type: dict
      restart_deployments:
        description:
          - Deployments in O(store.namespace) restarted after the Secret changed, by a checksum annotation on
            their pod template; the module waits until each rollout is complete.
        type: list
        elements: str
        default: []
      rollout_timeout:
        description: Seconds to wait for each rollout.
        type: int
        default: 300
"""
