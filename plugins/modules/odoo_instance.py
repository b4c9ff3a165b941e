#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``erpops.odoo.odoo_instance`` module: deploy, roll back or remove one Odoo instance on Kubernetes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: odoo_instance
short_description: Deploy, roll back or remove an Odoo instance on Kubernetes
version_added: 0.1.0
author: erpops platform team (@erpops)
description:
  - Renders every manifest of one Odoo instance from one structured spec (ServiceAccount, ConfigMap with
    C(odoo.conf), web and cron Deployments, Services, PVC, HPA, PDB, NetworkPolicies, Traefik IngressRoutes and
    Middlewares, cert-manager Certificate, and in multi-tenant mode the Namespace, ResourceQuota and LimitRange).
  - Validates the spec locally and against the cluster (Secret references, hostnames claimed by other
    instances), then dry-runs the whole batch server-side before writing anything.
  - Applies with server-side apply (field manager C(erpops.odoo)), prunes objects the instance owned and no longer
    renders (label-selected; PersistentVolumeClaims are never pruned), waits for the rollouts and reports the
    failing pods and conditions.
  - Records a release (revision, image digest, config hash, who, when, change id, backup id) in the ConfigMap
    C(<instance>-releases) whenever something changed; O(rollback_to) re-applies a recorded release.
extends_documentation_fragment:
  - erpops.odoo.k8s_cluster
  - erpops.odoo.k8s_cluster.SPEC
attributes:
  check_mode:
    support: full
    description: Server-side dry-run (C(dryRun=All)); nothing changes and the diff is still computed.
  diff_mode:
    support: full
    description: One unified diff per resource (Secret values are shown as hashes).
  platform:
    support: full
    platforms: posix
    description: Runs where the kubeconfig is (usually the controller); talks only to the Kubernetes API.
options:
  state:
    description:
      - V(present) makes the instance match the spec; V(absent) deletes what the instance owns.
    type: str
    choices: [present, absent]
    default: present
  secrets:
    description:
      - "Secrets to create with the instance, as C({name: {key: value}}). They are applied in the same batch
        (so the Secret reference check sees them) and never pruned."
    type: dict
  prune:
    description: Delete objects labelled as owned by this instance that the spec no longer renders.
    type: bool
    default: true
  wait:
    description: Wait for the web and cron Deployments to roll out.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the rollouts.
    type: int
    default: 300
  release:
    description: Who and why, recorded with the release.
    type: dict
    suboptions:
      who:
        description: Who deploys (default the controller user).
        type: str
      change_id:
        description: Change or ticket id.
        type: str
      backup_id:
        description: Id of the backup taken before this release.
        type: str
      note:
        description: Free text.
        type: str
  history_limit:
    description: How many releases to keep in the history ConfigMap.
    type: int
    default: 10
  rollback_to:
    description:
      - Re-apply a recorded release instead of O(spec) (O(spec) still names the instance and namespace).
      - A revision number, or V(previous) for the newest successful release before the newest one.
    type: str
  validate_only:
    description: Only validate the spec locally and against the cluster; apply nothing.
    type: bool
    default: false
  delete_filestore:
    description:
      - With O(state=absent), also delete the filestore PVC, the release history and the Namespace the instance
        created.
    type: bool
    default: false
notes:
  - Runs where the kubeconfig is, usually the controller (C(connection=local) or C(delegate_to=localhost)).
seealso:
  - module: erpops.odoo.odoo_release_info
  - module: erpops.odoo.odoo_update_job
"""

EXAMPLES = r"""
- name: Deploy the acme production instance
  erpops.odoo.odoo_instance:
    kubeconfig: ~/.kube/config
    spec:
      tenant: acme
      environment: prod
      image: registry.example.com/odoo:17.0
      hostnames: [erp.acme.example.com]
      database:
        host: pg-rw.databases.svc
        name: acme
        user: acme
        password_secret: {name: acme-db, key: password}
      web: {replicas: 2, workers: 2}
    release:
      change_id: CHG-1234
  register: deployed

- name: Roll back to revision 3
  erpops.odoo.odoo_instance:
    spec: "{{ acme_spec }}"
    rollback_to: "3"
"""

RETURN = r"""
changed:
  description: Whether anything was (or in check mode would be) created, updated or deleted.
  type: bool
  returned: always
diff:
  description: Per-resource diffs (C(before), C(after), headers) of what changed.
  type: list
  elements: dict
  returned: always
resources:
  description: Every resource handled, with its C(kind), C(namespace), C(name) and C(action)
    (V(created), V(updated), V(unchanged), V(deleted), V(validated)).
  type: list
  elements: dict
  returned: always
release:
  description: The release recorded (in check mode, the one that would be), or the current one when nothing changed.
  type: dict
  returned: always
  sample: {revision: 4, status: deployed, image: "odoo:17.0", image_digest: null, config_hash: "9f2c...",
           who: alice, when: "2026-12-03T20:00:00Z", change_id: CHG-1, backup_id: null, rollback_of: null}
instance:
  description: Instance name.
  type: str
  returned: always
namespace:
  description: Namespace of the instance.
  type: str
  returned: always
tenant:
  description: Tenant of the instance.
  type: str
  returned: always
config_hash:
  description: Hash of odoo.conf, image, env and Secret references (the pod-template annotation).
  type: str
  returned: always
rollback_of:
  description: The revision re-applied by O(rollback_to), else null.
  type: int
  returned: always
failed_resources:
  description: On a failed rollout, the Deployment conditions and the failing pods with their container states.
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
            state={"type": "str", "choices": ["present", "absent"], "default": "present"},
            secrets={"type": "dict", "no_log": True},
            prune={"type": "bool", "default": True},
            wait={"type": "bool", "default": True},
            wait_timeout={"type": "int", "default": 300},
            release={"type": "dict", "options": {
                "who": {"type": "str"}, "change_id": {"type": "str"},
                "backup_id": {"type": "str"}, "note": {"type": "str"}}},
            history_limit={"type": "int", "default": 10},
            rollback_to={"type": "str"},
            validate_only={"type": "bool", "default": False},
            delete_filestore={"type": "bool", "default": False},
            **SPEC_ARG),
        supports_check_mode=True,
    )
    p = module.params

    def call(engine):
        if p["state"] == "absent":
            return instance.absent(engine, p["spec"], delete_filestore=p["delete_filestore"])
        return instance.present(
            engine, p["spec"], secrets=p["secrets"], prune=p["prune"], wait=p["wait"],
            timeout=p["wait_timeout"], release_info=p["release"], history_limit=p["history_limit"],
            rollback_to=p["rollback_to"], validate_only=p["validate_only"])

    result = k8s_module.run(module, call, failure_key="failed_resources")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
