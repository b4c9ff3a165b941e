# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the cluster connection options (mirrors CLUSTER_ARGS in module_utils/k8s/args.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path of the kubeconfig file. Without it (and without O(context)) the in-cluster configuration is used
        when running in a pod, else the default kubeconfig (C(KUBECONFIG) or C(~/.kube/config)).
    type: path
  context:
    description: The kubeconfig context to use (default the current context).
    type: str
requirements:
  - kubernetes (Python library) >= 24.2.0
"""

    SPEC = r"""
options:
  spec:
    description:
      - The instance spec (see C(docs/runbooks/deploy.md) for every field and its default).
      - Required keys V(tenant), V(image), V(database.host), V(database.name), V(database.user),
        V(database.password_secret.name).
      - Other top-level keys V(environment), V(instance), V(namespace), V(tenancy) (V(multi_tenant) or
        V(dedicated)), V(create_namespace), V(image_digest), V(image_pull_policy), V(image_pull_secrets),
        V(odoo_version), V(odoo_conf) (validated by the odoo_conf core; secret options refused), V(web),
        V(cron), V(update_job), V(filestore), V(redis), V(hostnames), V(tls), V(ingress), V(quota),
        V(limit_range), V(labels), V(annotations), V(pod_labels), V(pod_annotations), V(env), V(node_selector),
        V(tolerations), V(run_as_user), V(progress_deadline_seconds), V(termination_grace_seconds),
        V(security_context).
      - Holds Secret B(references) only; an invalid field fails the task before anything is applied, naming the
        tenant, the field and the value.
    type: dict
    required: true
"""
