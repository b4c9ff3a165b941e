# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Targets whose consumer reads the credential straight from the store: Odoo's master password and
integration API keys (payroll, procurement, document management, ...)."""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

from ansible_collections.erpops.odoo.plugins.module_utils.rotation.core import (
    RotationError,
    Store,
    StoredCredential,
    Target,
)
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.master_password import (
    DEFAULT_ROUNDS,
    hash_master_password,
    parse_hash,
    verify_master_password,
)


class OdooMasterPassword(Target):
    """``admin_passwd``: the store consumed by Odoo gets only the pbkdf2-sha512 hash (key ``admin_passwd``).

    The plaintext, which an operator needs for the database manager, goes to an optional *vault* store
    (e.g. a Secrets Manager secret readable only by operators) with its own pending/current versions; without
    one the new master password is known to nobody, which is a valid hardening choice.
    """

    backend = "odoo_master"

    def __init__(self, rounds: int = DEFAULT_ROUNDS, vault: Store | None = None):
        self.rounds = rounds
        self.vault = vault
        self._vault_version = None

    def check(self) -> None:
        if not 1000 <= self.rounds <= 10000000:
            raise RotationError("odoo_master: rounds must be between 1000 and 10000000")
        if self.vault is not None:
            self.vault.check()

    def plan(self, current: StoredCredential | None) -> dict:
        return {"vault": self.vault.describe() if self.vault is not None else None}

    def build_value(self, plan: dict, secret: str) -> dict:
        return {"admin_passwd": hash_master_password(secret, self.rounds)}

    def set(self, plan: dict, value: dict, secret: str, current: StoredCredential | None) -> None:
        if self.vault is not None:
            self._vault_version = self.vault.put_pending({"password": secret})

    def test(self, plan: dict, value: dict, secret: str) -> None:
        rounds, _salt, _digest = parse_hash(value["admin_passwd"])
        if rounds != self.rounds or not verify_master_password(secret, value["admin_passwd"]):
            raise RotationError("the new admin_passwd hash does not verify")

    def rollback(self, plan: dict, value: dict, secret: str, current: StoredCredential | None) -> None:
        if self.vault is not None and self._vault_version is not None:
            self.vault.discard_pending(self._vault_version)

    def retire(self, plan: dict, current: StoredCredential | None, check_mode: bool) -> list[str]:
        if self.vault is None:
            return []
        if check_mode:
            return ["would store the new master password in %s" % self.vault.describe()]
        self.vault.promote(self._vault_version, {}, self.vault.read_current())
        return ["stored the new master password in %s" % self.vault.describe()]


class ApiKey(Target):
    """An integration API key that the integration (payroll, procurement, document management) and Odoo
    both read from the store; ``attributes`` are extra non-secret keys stored alongside (e.g. ``system``).
    """

    backend = "api_key"

    def __init__(self, key_name: str = "api_key", attributes: dict | None = None, policy=None):
        self.key_name = key_name
        self.attributes = dict(attributes or {})
        self.policy = policy

    def check(self) -> None:
        if self.key_name in self.attributes:
            raise RotationError("api_key: attributes must not contain the key name %s" % self.key_name)

    def build_value(self, plan: dict, secret: str) -> dict:
        value = dict(self.attributes)
        value[self.key_name] = secret
        return value

    def set(self, plan: dict, value: dict, secret: str, current: StoredCredential | None) -> None:
        """Nothing to do: the key's consumers read it from the store once it is promoted."""

    def test(self, plan: dict, value: dict, secret: str) -> None:
        from ansible_collections.erpops.odoo.plugins.module_utils.rotation.password import satisfies  # noqa: PLC0415

        if value.get(self.key_name) != secret or (self.policy is not None and not satisfies(secret, self.policy)):
            raise RotationError("the new API key does not satisfy the password policy")
