#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: credential_rotate
short_description: Rotate an integration credential with zero downtime
version_added: 0.1.0
description:
  - Rotates one credential in four steps - create a pending value in the store, set it in the target,
    test it, then promote it to current. On any failure before promotion the current credential stays
    current and valid, and the pending value is discarded.
  - O(backend=postgresql) uses alternating users - an owner role (NOLOGIN) and two login roles
    C(<user_prefix>_a)/C(<user_prefix>_b) that act as the owner role, so object ownership never splits.
    The idle login gets the new password, is tested by logging in, then the store names it current. The
    previous login stays valid until the next rotation.
  - O(backend=redis) adds a second password to a Redis ACL user, tests it, promotes it and then removes the old one.
  - O(backend=odoo_master) stores a pbkdf2-sha512 hash (passlib format, as Odoo accepts for C(admin_passwd))
    under the key C(admin_passwd), and the plaintext only in an optional operator vault.
  - O(backend=api_key) rotates an integration API key (payroll, procurement, document management, ...) that
    its consumers read from the store.
  - Secret values are never returned, logged or written to local files.
author: erpops platform team (@erpops)
extends_documentation_fragment:
  - erpops.odoo.rotation
attributes:
  check_mode:
    support: full
    description: Reads the store and the target and reports what would rotate; changes nothing.
  diff_mode:
    support: full
    description: Shows the version, user and time of the current credential before and after (never the value).
  platform:
    platforms: posix
    support: full
    description: Runs on the controller or any POSIX host with the Python requirements.
options:
  integration:
    description: Name of the integration (from the integration inventory); used in messages and results.
    type: str
    required: true
  backend:
    description: The system that must accept the credential.
    type: str
    required: true
    choices: [postgresql, redis, odoo_master, api_key]
  force:
    description:
      - Rotate even if the current credential is younger than O(rotation_period_days).
      - Without O(rotation_period_days) every run rotates.
    type: bool
    default: false
  rotation_period_days:
    description: Rotate only when the current credential is at least this many days old (unless O(force)).
    type: int
  password_policy:
    description:
      - Policy of the generated password or key (C(secrets) module). Defaults - 32 characters from letters,
        digits and C(-_.~), at least one lower, upper and digit; safe in URLs and config files.
    type: dict
    suboptions:
      length: {description: Length (12-1024)., type: int}
      use_lower: {description: Use lower-case letters., type: bool}
      use_upper: {description: Use upper-case letters., type: bool}
      use_digits: {description: Use digits., type: bool}
      use_symbols: {description: Use O(password_policy.symbols)., type: bool}
      min_lower: {description: Minimum number of lower-case letters., type: int}
      min_upper: {description: Minimum number of upper-case letters., type: int}
      min_digits: {description: Minimum number of digits., type: int}
      min_symbols: {description: Minimum number of symbols., type: int}
      symbols: {description: Symbol characters; characters unsafe in URLs or config files are rejected., type: str}
      exclude: {description: Characters never used (e.g. C(Il1O0))., type: str}
  postgresql:
    description: Target for O(backend=postgresql).
    type: dict
    suboptions:
      host: {description: Server host., type: str, default: localhost}
      port: {description: Server port., type: int, default: 5432}
      db: {description: Database the test login connects to., type: str, default: postgres}
      user_prefix: {description: Login roles are C(<user_prefix>_a) and C(<user_prefix>_b)., type: str, required: true}
      owner_role: {description: NOLOGIN owner role; defaults to O(postgresql.user_prefix)., type: str}
      admin_user: {description: Role allowed to create and alter roles (CREATEROLE or superuser)., type: str}
      admin_password: {description: Password of O(postgresql.admin_user)., type: str}
      admin_db: {description: Database for the admin connection., type: str, default: postgres}
      sslmode:
        description: libpq sslmode.
        type: str
        choices: [disable, allow, prefer, require, verify-ca, verify-full]
      connect_timeout: {description: Connection timeout in seconds., type: int, default: 10}
  redis:
    description: Target for O(backend=redis).
    type: dict
    suboptions:
      host: {description: Server host., type: str, default: localhost}
      port: {description: Server port., type: int, default: 6379}
      username:
        description: ACL user whose password rotates (created on the first rotation).
        type: str
        required: true
      admin_username: {description: ACL user allowed to run C(ACL SETUSER)., type: str, default: default}
      admin_password: {description: Password of O(redis.admin_username)., type: str}
      tls: {description: Connect with TLS., type: bool, default: false}
      acl_rules: {description: ACL rules for a user created by the first rotation., type: str, default: "~* &* +@all"}
      grace_seconds:
        description: Seconds between promotion and removal of the old password (clients that just read it).
        type: float
        default: 2.0
  odoo_master:
    description: Options for O(backend=odoo_master).
    type: dict
    suboptions:
      rounds: {description: pbkdf2-sha512 rounds (Odoo 17+ uses 600000)., type: int, default: 600000}
      vault:
        description:
          - Store for the plaintext master password (the same suboptions as O(store)); omit to keep it unknown.
        type: dict
        suboptions:
          type: {description: Store kind., type: str, required: true, choices: [secretsmanager, kubernetes]}
          secret_id: {description: Secrets Manager secret name or ARN., type: str}
          region: {description: AWS region., type: str}
          endpoint_url: {description: Secrets Manager endpoint., type: str}
          kms_key_id: {description: KMS key for a secret created by the first rotation., type: str}
          namespace: {description: Namespace of the Secret., type: str}
          name: {description: Name of the Secret., type: str}
          kubeconfig: {description: Kubeconfig file., type: path}
          context: {description: Kubeconfig context., type: str}
          keys: {description: Map of credential field to Secret key., type: dict}
          restart_deployments:
            description: Deployments restarted after the Secret changed.
            type: list
            elements: str
            default: []
          rollout_timeout: {description: Seconds to wait for each rollout., type: int, default: 300}
  api_key:
    description: Options for O(backend=api_key).
    type: dict
    suboptions:
      key_name: {description: Field holding the key., type: str, default: api_key}
      attributes: {description: Extra non-secret fields stored with the key (e.g. C(system))., type: dict, default: {}}
notes:
  - A rotation whose last step succeeded but whose follow-up failed (for example a Deployment rollout that does
    not complete) fails with a message saying the new version is already current.
requirements:
  - psycopg >= 3 (postgresql), redis >= 5 (redis), boto3 (secretsmanager), kubernetes (kubernetes)
seealso:
  - module: erpops.odoo.credential_inventory
"""

EXAMPLES = r"""
- name: Rotate the Odoo database login (alternating users), credential in Secrets Manager
  erpops.odoo.credential_rotate:
    integration: odoo-db
    backend: postgresql
    store: {type: secretsmanager, secret_id: prod/odoo/db}
    postgresql:
      host: db.internal
      db: odoo
      user_prefix: odoo
      owner_role: odoo_owner
      admin_user: "{{ pg_admin_user }}"
      admin_password: "{{ pg_admin_password }}"
    rotation_period_days: 30

- name: Rotate a Kubernetes Secret consumed by Odoo and restart Odoo
  erpops.odoo.credential_rotate:
    integration: odoo-db
    backend: postgresql
    store:
      type: kubernetes
      namespace: odoo
      name: odoo-db
      keys: {username: db_user, password: db_password}
      restart_deployments: [odoo-web, odoo-cron]
    postgresql: {host: db.internal, user_prefix: odoo, admin_user: postgres, admin_password: "{{ pg_admin_password }}"}

- name: Rotate the payroll API key
  erpops.odoo.credential_rotate:
    integration: payroll-api
    backend: api_key
    store: {type: secretsmanager, secret_id: prod/integrations/payroll}
    api_key: {attributes: {system: payroll}}
    password_policy: {length: 48, use_symbols: false}
"""

RETURN = r"""
integration:
  description: The integration name.
  returned: always
  type: str
backend:
  description: The target backend.
  returned: always
  type: str
store:
  description: The store, as C(secretsmanager:<id>) or C(kubernetes:<namespace>/<name>).
  returned: always
  type: str
current_version:
  description: Version id of the current credential after the run (in check mode, before it); never the value.
  returned: always
  type: str
current_user:
  description: User name of the current credential, where the credential has one.
  returned: always
  type: str
rotated_at:
  description: When the current credential was created (UTC, ISO 8601).
  returned: always
  type: str
due:
  description: Whether the credential was due for rotation.
  returned: always
  type: bool
steps:
  description: Rotation steps completed (C(create), C(set), C(test), C(finish)).
  returned: always
  type: list
  elements: str
actions:
  description: Follow-up actions done (or, in check mode, that would be done), e.g. rollouts.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.erpops.odoo.plugins.module_utils.rotation.core import RotationError
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.runner import rotate_argument_spec, run


def main():
    module = AnsibleModule(argument_spec=rotate_argument_spec(), supports_check_mode=True)
    try:
        result = run(module.params, check_mode=module.check_mode)
    except RotationError as exc:
        module.fail_json(msg=str(exc), integration=module.params["integration"], backend=module.params["backend"])
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
