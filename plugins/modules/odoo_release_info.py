#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``erpops.odoo.odoo_release_info`` module: read the release history of an Odoo instance."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: odoo_release_info
short_description: Read the release history of an Odoo instance on Kubernetes
version_added: 0.1.0
author: erpops platform team (@erpops)
description:
  - Reads the ConfigMap C(<instance>-releases) written by M(erpops.odoo.odoo_instance) and returns its releases,
    the current one and the last successful one.
  - Give either O(spec) (the instance and namespace are derived from it) or O(instance) and O(namespace).
extends_documentation_fragment:
  - erpops.odoo.k8s_cluster
attributes:
  check_mode:
    support: full
    description: Read-only.
  diff_mode:
    support: none
    description: Read-only.
  platform:
    support: full
    platforms: posix
    description: Runs where the kubeconfig is (usually the controller); talks only to the Kubernetes API.
options:
  spec:
    description: An instance spec, as given to M(erpops.odoo.odoo_instance).
    type: dict
  instance:
    description: Instance name (with O(namespace)).
    type: str
  namespace:
    description: Namespace of the instance.
    type: str
"""

EXAMPLES = r"""
- name: Read the history of acme-prod
  erpops.odoo.odoo_release_info:
    instance: acme-prod
    namespace: acme-prod
  register: history

- name: Show the current revision
  ansible.builtin.debug:
    msg: "{{ history.current.revision }} ({{ history.current.image }})"
"""

RETURN = r"""
releases:
  description: Every recorded release, oldest first (without the stored spec).
  type: list
  elements: dict
  returned: always
current:
  description: The newest release (whatever its status), or null.
  type: dict
  returned: always
last_good:
  description: The newest release with status V(deployed), or null.
  type: dict
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import apply as k8s_apply
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import instance
from ansible_collections.erpops.odoo.plugins.module_utils.k8s.args import argspec
from ansible_collections.erpops.odoo.plugins.module_utils.k8s.release import ReleaseError
from ansible_collections.erpops.odoo.plugins.module_utils.k8s.spec import SpecError, normalize


def main():
    module = AnsibleModule(
        argument_spec=argspec(spec={"type": "dict"}, instance={"type": "str"}, namespace={"type": "str"}),
        required_one_of=[("spec", "instance")],
        mutually_exclusive=[("spec", "instance")],
        required_together=[("instance", "namespace")],
        supports_check_mode=True,
    )
    if not k8s_apply.HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=str(k8s_apply.KUBERNETES_IMPORT_ERROR))
    p = module.params
    try:
        if p["spec"]:
            s = normalize(p["spec"])
            name, namespace = s["instance"], s["namespace"]
        else:
            name, namespace = p["instance"], p["namespace"]
        engine = k8s_apply.Engine(k8s_apply.new_client(p["kubeconfig"], p["context"]), check_mode=True)
        result = instance.release_info(engine, namespace, name)
    except (SpecError, ReleaseError, k8s_apply.ApplyError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
