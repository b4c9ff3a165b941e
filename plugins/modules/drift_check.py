#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``erpops.odoo.drift_check`` module: desired vs live state of Odoo instances, PostgreSQL, Patroni, Odoo DBs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: drift_check
short_description: Detect (and remediate) drift of Odoo instances, PostgreSQL, Patroni and Odoo databases
version_added: 0.1.0
author: erpops platform team (@erpops)
description:
  - Renders the desired Kubernetes objects of every instance with the same rendering core as
    M(erpops.odoo.odoo_instance) and compares them with the cluster, per resource and field. Every existing
    object is dry-run applied server-side with the deploy field manager, and the result (API defaults filled in)
    is compared with the live object restricted to the fields the desired object sets, so defaulted and
    controller-owned fields are never reported. Lists of named items (containers, env, ports, volumes) compare
    by name, so an item added outside the collection is reported.
  - Reports changed fields, missing objects, orphaned objects (owned, no longer rendered) and unmanaged objects
    (kinds the collection manages, without its ownership labels) in managed namespaces. Reads are one list per
    kind per namespace.
  - Optionally compares PostgreSQL C(pg_settings) (with unit normalisation), the Patroni dynamic configuration
    (C(GET /config)) and, per tenant database, installed Odoo modules and C(ir_config_parameter) keys.
  - With O(remediate=true), re-applies the desired Kubernetes state through the deploy engine (the
    M(erpops.odoo.odoo_instance) code path; a release is recorded), checks again and reports what is left.
extends_documentation_fragment:
  - erpops.odoo.k8s_cluster
attributes:
  check_mode:
    support: full
    description: Detection is read-only; remediation runs as a server-side dry-run and reports what it would fix.
  diff_mode:
    support: full
    description: With O(remediate=true), the per-resource diffs of the re-apply.
  platform:
    platforms: posix
    support: full
    description: Runs on the controller or any POSIX host with the Python requirements.
options:
  instances:
    description: Instance specs, as given to M(erpops.odoo.odoo_instance) O(erpops.odoo.odoo_instance#module:spec).
    type: list
    elements: dict
    default: []
  ignore:
    description:
      - "Ignore rules: C({kind, paths, name, namespace, reason}); C(paths) are field paths such as
        C(spec.replicas), C(spec.template.spec.containers[*].resources) or
        C(metadata.annotations[\"example.com/x\"]); C(name) and C(namespace) are globs; C(kind) may be C(*)."
    type: list
    elements: dict
    default: []
  ignore_hpa_replicas:
    description: Ignore C(spec.replicas) of a Deployment that a HorizontalPodAutoscaler of the same instance scales.
    type: bool
    default: true
  report_unmanaged:
    description: Report objects of the managed kinds without the ownership labels in managed namespaces.
    type: bool
    default: true
  unmanaged_exclude:
    description:
      - Objects never reported as unmanaged, as C({kind, name, namespace}) globs (added to the built-in
        C(ConfigMap/kube-root-ca.crt) and C(ServiceAccount/default); objects with ownerReferences are skipped).
    type: list
    elements: dict
    default: []
  postgresql:
    description: PostgreSQL server whose C(pg_settings) are compared, and the connection for O(odoo_databases).
    type: dict
    suboptions:
      host:
        description: Host name or socket directory.
        type: str
      port:
        description: Port.
        type: int
        default: 5432
      user:
        description: Login role (read access to C(pg_settings) and the tenant databases).
        type: str
      password:
        description: Password of O(postgresql.user).
        type: str
      dbname:
        description: Database to connect to for C(pg_settings).
        type: str
        default: postgres
      sslmode:
        description: libpq C(sslmode).
        type: str
      name:
        description: Name of this server in the report.
        type: str
        default: postgresql
      settings:
        description: "Desired settings, C({name: value}); values may carry units (V(128MB), V(5min))."
        type: dict
        default: {}
  patroni:
    description: Patroni cluster whose dynamic configuration is compared.
    type: dict
    suboptions:
      api_url:
        description: Patroni REST API URLs (the first that answers is read).
        type: list
        elements: str
        required: true
      username:
        description: REST API user.
        type: str
      password:
        description: REST API password.
        type: str
      validate_certs:
        description: Verify the REST API TLS certificate.
        type: bool
        default: true
      ca_path:
        description: CA bundle for the REST API.
        type: path
      timeout:
        description: Seconds per request.
        type: float
        default: 5.0
      name:
        description: Name of this cluster in the report.
        type: str
        default: patroni
      config:
        description: "Desired dynamic configuration (only the keys given are compared; null means absent)."
        type: dict
        default: {}
  odoo_databases:
    description:
      - Tenant databases to compare, on the O(postgresql) server unless an entry gives its own connection.
    type: list
    elements: dict
    default: []
    suboptions:
      dbname:
        description: Database name.
        type: str
        required: true
      instance:
        description: Instance the database belongs to (for the report).
        type: str
      modules:
        description: "Modules that must be installed, as a list of names or C({name: version or null})."
        type: raw
      absent_modules:
        description: Modules that must not be installed.
        type: list
        elements: str
      parameters:
        description: C(ir_config_parameter) keys and their values (null = must be absent).
        type: dict
      host:
        description: Host, overriding O(postgresql.host).
        type: str
      port:
        description: Port, overriding O(postgresql.port).
        type: int
      user:
        description: User, overriding O(postgresql.user).
        type: str
      password:
        description: Password, overriding O(postgresql.password).
        type: str
  remediate:
    description: Re-apply the desired Kubernetes state of drifted instances, then check again.
    type: bool
    default: false
  delete_unmanaged:
    description: With O(remediate=true), delete unmanaged objects found in managed namespaces.
    type: bool
    default: false
  remediate_wait:
    description: With O(remediate=true), wait for the re-applied Deployments to roll out.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for rollouts when O(remediate_wait=true).
    type: int
    default: 300
  release:
    description: Who and why, recorded with the release a remediation creates.
    type: dict
    suboptions:
      who:
        description: Who remediates.
        type: str
      change_id:
        description: Change or ticket id.
        type: str
      note:
        description: Free text (default V(drift remediation)).
        type: str
  report_formats:
    description: Human reports to return in RV(report).
    type: list
    elements: str
    choices: [markdown, html]
    default: []
notes:
  - Runs where the kubeconfig is, usually the controller. Secret data is never compared or returned.
seealso:
  - module: erpops.odoo.odoo_instance
"""

EXAMPLES = r"""
- name: Check every tenant, fail the CI job on drift
  erpops.odoo.drift_check:
    instances: "{{ groups.odoo_tenants | map('extract', hostvars, '__odoo_spec') | list }}"
    ignore:
      - kind: Deployment
        paths:
          - 'spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]'
    postgresql:
      host: 127.0.0.1
      user: postgres
      password: "{{ pg_password }}"
      settings: {shared_buffers: 128MB, work_mem: 4MB}
    report_formats: [markdown, html]
  register: drift

- name: Re-apply desired Kubernetes state
  erpops.odoo.drift_check:
    instances: "{{ specs }}"
    remediate: true
"""

RETURN = r"""
changed:
  description: Whether remediation changed (in check mode, would change) anything.
  type: bool
  returned: always
diff:
  description: Per-resource diffs of the re-apply (empty without O(remediate)).
  type: list
  elements: dict
  returned: always
drifted:
  description: Whether any drift was found (before remediation).
  type: bool
  returned: always
counts:
  description: Number of items in total and by source, change, kind and tenant; instances checked; ignored fields.
  type: dict
  returned: always
  sample: {total: 2, instances: 3, ignored: 0, by_source: {kubernetes: 2}, by_change: {changed: 1, missing: 1},
           by_kind: {Deployment: 1, Service: 1}, by_tenant: {acme: 2}}
remaining:
  description: The counts after remediation (equal to RV(counts) without it).
  type: dict
  returned: always
items:
  description:
    - "One entry per drift: C(source) (kubernetes, postgresql, patroni, odoo), C(tenant), C(instance),
      C(namespace), C(kind), C(name), C(resource), C(change) (changed, added, removed, missing, orphaned,
      unmanaged, unexpected, unknown, missing_key, pending_restart, error), C(path), C(desired), C(live),
      C(remediable), C(message). Secret data is redacted."
  type: list
  elements: dict
  returned: always
ignored:
  description: Fields skipped by ignore rules, with the rule's reason.
  type: list
  elements: dict
  returned: always
instances:
  description: Instances checked (tenant, instance, namespace, number of rendered objects).
  type: list
  elements: dict
  returned: always
remediated:
  description: Items cleared by the remediation (check mode, that would be), with C(remediation).
  type: list
  elements: dict
  returned: always
unremediated:
  description: Items left after the remediation, each with the C(reason).
  type: list
  elements: dict
  returned: always
actions:
  description: What the remediation did per instance (list resets, re-apply with the resources changed, deletes).
  type: list
  elements: dict
  returned: always
report:
  description: The human reports asked for in O(report_formats), keyed by format.
  type: dict
  returned: always
"""

import datetime

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.erpops.odoo.plugins.module_utils.drift import check, report, sql
from ansible_collections.erpops.odoo.plugins.module_utils.drift.errors import DriftError
from ansible_collections.erpops.odoo.plugins.module_utils.drift.patroni import client_getter
from ansible_collections.erpops.odoo.plugins.module_utils.k8s import apply as k8s_apply
from ansible_collections.erpops.odoo.plugins.module_utils.k8s.args import argspec
from ansible_collections.erpops.odoo.plugins.module_utils.k8s.release import ReleaseError
from ansible_collections.erpops.odoo.plugins.module_utils.k8s.spec import SpecError
from ansible_collections.erpops.odoo.plugins.module_utils.patroni.client import PatroniClient
from ansible_collections.erpops.odoo.plugins.module_utils.patroni.errors import PatroniError

PG_OPTIONS = {
    "host": {"type": "str"}, "port": {"type": "int", "default": 5432}, "user": {"type": "str"},
    "password": {"type": "str", "no_log": True}, "dbname": {"type": "str", "default": "postgres"},
    "sslmode": {"type": "str"}, "name": {"type": "str", "default": "postgresql"},
    "settings": {"type": "dict", "default": {}},
}
PATRONI_OPTIONS = {
    "api_url": {"type": "list", "elements": "str", "required": True}, "username": {"type": "str"},
    "password": {"type": "str", "no_log": True}, "validate_certs": {"type": "bool", "default": True},
    "ca_path": {"type": "path"}, "timeout": {"type": "float", "default": 5.0},
    "name": {"type": "str", "default": "patroni"}, "config": {"type": "dict", "default": {}},
}
ODOO_OPTIONS = {
    "dbname": {"type": "str", "required": True}, "instance": {"type": "str"}, "modules": {"type": "raw"},
    "absent_modules": {"type": "list", "elements": "str"}, "parameters": {"type": "dict"},
    "host": {"type": "str"}, "port": {"type": "int"}, "user": {"type": "str"},
    "password": {"type": "str", "no_log": True},
}


def _odoo_sources(p, readers):
    out = []
    for db in p["odoo_databases"]:
        conn = dict(p["postgresql"] or {})
        conn.update({k: db[k] for k in ("host", "port", "user", "password") if db.get(k) is not None})
        reader = sql.Reader(conn, db["dbname"])
        readers.append(reader)
        desired = {k: db[k] for k in ("dbname", "instance", "modules", "absent_modules", "parameters")
                   if db.get(k) is not None}
        out.append((reader.fetch, desired))
    return out


def main():
    module = AnsibleModule(
        argument_spec=argspec(
            instances={"type": "list", "elements": "dict", "default": []},
            ignore={"type": "list", "elements": "dict", "default": []},
            ignore_hpa_replicas={"type": "bool", "default": True},
            report_unmanaged={"type": "bool", "default": True},
            unmanaged_exclude={"type": "list", "elements": "dict", "default": []},
            postgresql={"type": "dict", "options": PG_OPTIONS},
            patroni={"type": "dict", "options": PATRONI_OPTIONS},
            odoo_databases={"type": "list", "elements": "dict", "default": [], "options": ODOO_OPTIONS},
            remediate={"type": "bool", "default": False},
            delete_unmanaged={"type": "bool", "default": False},
            remediate_wait={"type": "bool", "default": False},
            wait_timeout={"type": "int", "default": 300},
            release={"type": "dict", "options": {"who": {"type": "str"}, "change_id": {"type": "str"},
                                                 "note": {"type": "str"}}},
            report_formats={"type": "list", "elements": "str", "choices": ["markdown", "html"], "default": []},
        ),
        supports_check_mode=True,
    )
    p = module.params
    readers = []
    try:
        engine = None
        if p["instances"]:
            engine = k8s_apply.Engine(k8s_apply.new_client(p["kubeconfig"], p["context"]),
                                      check_mode=module.check_mode)
        sources = {}
        pgp = p["postgresql"]
        if pgp and pgp["settings"]:
            reader = sql.Reader(pgp, pgp["dbname"])
            readers.append(reader)
            sources.update(pg_fetch=reader.fetch, pg_settings=pgp["settings"], pg_target=pgp["name"])
        pat = p["patroni"]
        if pat and pat["config"]:
            client = PatroniClient(pat["api_url"], username=pat["username"], password=pat["password"],
                                   timeout=pat["timeout"], validate_certs=pat["validate_certs"],
                                   ca_path=pat["ca_path"])
            sources.update(patroni_get=client_getter(client), patroni_config=pat["config"],
                           patroni_target=pat["name"])
        sources["odoo"] = _odoo_sources(p, readers)
        drift = check.DriftRun(engine, ignore=p["ignore"], ignore_hpa_replicas=p["ignore_hpa_replicas"],
                               report_unmanaged=p["report_unmanaged"], unmanaged_exclude=p["unmanaged_exclude"])
        release = {k: v for k, v in (p["release"] or {}).items() if v is not None}
        result = check.execute(drift, p["instances"], remediate=p["remediate"], check_mode=module.check_mode,
                               delete_unmanaged=p["delete_unmanaged"], release_info=release,
                               wait=p["remediate_wait"], timeout=p["wait_timeout"], **sources)
    except (DriftError, SpecError, ReleaseError, PatroniError) as exc:
        module.fail_json(msg=str(exc), changed=False)
    except k8s_apply.ApplyError as exc:
        module.fail_json(msg=str(exc), details=exc.details, changed=False)
    finally:
        for reader in readers:
            reader.close()
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    result["report"] = {}
    if "markdown" in p["report_formats"]:
        result["report"]["markdown"] = report.markdown(result, now)
    if "html" in p["report_formats"]:
        result["report"]["html"] = report.html_page(result, now)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
