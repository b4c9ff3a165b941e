#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``erpops.odoo.odoo_update_job`` module: stop cron and run ``odoo -u`` as a Kubernetes Job."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: odoo_update_job
short_description: Stop cron and run the Odoo module-update Job of an instance
version_added: 0.1.0
author: erpops platform team (@erpops)
description:
  - Scales the instance's cron Deployment to 0 and waits until its pods are gone, so no scheduled action runs
    during the update.
  - Runs C(odoo -u <modules> --stop-after-init) in a Job built from the same spec, image, C(odoo.conf) and
    Secret references as the web pods (the rendering core of M(erpops.odoo.odoo_instance)), and waits for it.
  - On failure the task fails naming the Job, its condition and the failing pods. Cron stays stopped; roll out
    or roll back with M(erpops.odoo.odoo_instance), which restores it.
  - A Job of the same name that already succeeded is not run again (idempotent); a failed one is replaced.
extends_documentation_fragment:
  - erpops.odoo.k8s_cluster
  - erpops.odoo.k8s_cluster.SPEC
attributes:
  check_mode:
    support: full
    description: The cron scale-down and the Job creation are server-side dry-runs; nothing runs.
  diff_mode:
    support: partial
    description: Describes the Job that would run.
  platform:
    support: full
    platforms: posix
    description: Runs where the kubeconfig is (usually the controller); talks only to the Kubernetes API.
options:
  modules:
    description: Technical names of the modules to update (V(all) updates every installed module).
    type: list
    elements: str
    required: true
  suffix:
    description: Job name suffix (C(<instance>-update-<suffix>)), e.g. the target revision or config hash.
    type: str
    required: true
  pod_labels:
    description: Extra labels on the Job's pod only.
    type: dict
    default: {}
  stop_cron:
    description: Scale the cron Deployment to 0 and wait for its pods to terminate first.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the Job.
    type: int
    default: 3600
  cron_timeout:
    description: Seconds to wait for the cron pods to stop.
    type: int
    default: 300
"""

EXAMPLES = r"""
- name: Update sale and stock with the new image
  erpops.odoo.odoo_update_job:
    spec: "{{ acme_spec | combine({'image': 'registry.example.com/odoo:17.0-20261203'}) }}"
    modules: [sale, stock]
    suffix: r5
"""

RETURN = r"""
job:
  description: Name of the Job.
  type: str
  returned: always
namespace:
  description: Namespace of the Job.
  type: str
  returned: always
status:
  description: V(succeeded), V(failed) or V(planned) (check mode).
  type: str
  returned: always
cron_stopped:
  description: Whether the cron Deployment was found and scaled to 0.
  type: bool
  returned: always
failure:
  description: On failure, the Job name, reason and failing pods.
  type: dict
  returned: failure
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import instance
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import module as k8s_module
from ansible_collections.erpops.odoo.plugins.module_utils.k8s.args import SPEC_ARG, argspec


def main():
    module = AnsibleModule(
        argument_spec=argspec(
            modules={"type": "list", "elements": "str", "required": True},
            suffix={"type": "str", "required": True},
            pod_labels={"type": "dict", "default": {}},
            stop_cron={"type": "bool", "default": True},
            timeout={"type": "int", "default": 3600},
            cron_timeout={"type": "int", "default": 300},
            **SPEC_ARG),
        supports_check_mode=True,
    )
    p = module.params
    result = k8s_module.run(module, lambda engine: instance.update_modules(
        engine, p["spec"], p["modules"], p["suffix"], pod_labels=p["pod_labels"], stop_cron=p["stop_cron"],
        timeout=p["timeout"], cron_timeout=p["cron_timeout"]))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
