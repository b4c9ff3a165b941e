#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``erpops.odoo.odoo_cron`` module: stop or start an instance's cron Deployment."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: odoo_cron
short_description: Stop or start the cron Deployment of an Odoo instance
version_added: 0.1.0
author: erpops platform team (@erpops)
description:
  - V(stopped) scales the instance's cron Deployment to 0 and waits until its pods are gone, so no scheduled
    action runs while the database is restored, migrated or fixed by hand.
  - V(running) scales it back to the replicas of the spec (the rendering core of M(erpops.odoo.odoo_instance))
    and waits for the rollout. Re-applying the instance with M(erpops.odoo.odoo_instance) starts it as well.
  - Patches the Deployment itself (not its C(scale) subresource), which the tenant deployer Role of the
    C(erpops.odoo.platform) role allows; C(kubernetes.core.k8s_scale) would need C(deployments/scale) too.
  - An instance whose spec has cron disabled is left alone (V(changed=false)).
extends_documentation_fragment:
  - erpops.odoo.k8s_cluster
  - erpops.odoo.k8s_cluster.SPEC
attributes:
  check_mode:
    support: full
    description: The scale patch is a server-side dry-run; nothing waits.
  diff_mode:
    support: full
    description: Replicas before and after.
  platform:
    support: full
    platforms: posix
    description: Runs where the kubeconfig is (usually the controller); talks only to the Kubernetes API.
options:
  state:
    description: V(stopped) (0 replicas, pods gone) or V(running) (the spec's replicas, rolled out).
    type: str
    required: true
    choices: [stopped, running]
  timeout:
    description: Seconds to wait for the pods to go or the rollout.
    type: int
    default: 300
seealso:
  - module: erpops.odoo.odoo_instance
  - module: erpops.odoo.odoo_neutralize_job
"""

EXAMPLES = r"""
- name: No scheduled action during the month-end data fix
  erpops.odoo.odoo_cron:
    spec: "{{ acme_spec }}"
    state: stopped

- name: Scheduled actions again
  erpops.odoo.odoo_cron:
    spec: "{{ acme_spec }}"
    state: running
"""

RETURN = r"""
deployment:
  description: Name of the cron Deployment.
  type: str
  returned: always
namespace:
  description: Namespace of the instance.
  type: str
  returned: always
replicas:
  description: Replicas set (null when the spec has cron disabled).
  type: int
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.erpops.odoo.plugins.module_utils.k8s import instance
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import module as k8s_module
from ansible_collections.erpops.odoo.plugins.module_utils.k8s.args import SPEC_ARG, argspec


def main():
    module = AnsibleModule(
        argument_spec=argspec(
            state={"type": "str", "required": True, "choices": ["stopped", "running"]},
            timeout={"type": "int", "default": 300},
            **SPEC_ARG),
        supports_check_mode=True,
    )
    p = module.params
    result = k8s_module.run(module, lambda engine: instance.cron(engine, p["spec"], p["state"], timeout=p["timeout"]))
    if not module._diff:
        result.pop("diff")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
