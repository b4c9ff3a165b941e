# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cryptographically secure password generation with a configurable policy.

Only :mod:`secrets` is used as the randomness source. The default charset is letters, digits and the
RFC 3986 *unreserved* symbols ``-_.~``: such a password needs no escaping in a URL (``postgresql://u:p@h``),
an ``odoo.conf`` / INI value, a shell word, a Redis ``ACL SETUSER u >pass`` rule or a YAML scalar.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import secrets
import string
from dataclasses import dataclass

from ansible_collections.erpops.odoo.plugins.module_utils.rotation.core import RotationError

#: Characters never allowed in a generated password: they need quoting or escaping somewhere a password
#: travels (URL userinfo, INI files, shells, libpq connection strings, Redis ACL rules, YAML).
UNSAFE_CHARACTERS = frozenset(" \t\r\n\"'`\\$%#;:/?@&=<>{}[]|^,")
SAFE_SYMBOLS = "-_.~"
MIN_LENGTH = 12
MAX_LENGTH = 1024


@dataclass(frozen=True)
class PasswordPolicy:
    """What a generated password must look like.

    ``min_*`` give the minimum number of characters from each class (0 disables the requirement but
    keeps the class in the alphabet); a class whose ``use_*`` flag is false is not used at all.
    ``exclude`` removes characters (e.g. the look-alikes ``Il1O0``) from every class.
    """

    length: int = 32
    use_lower: bool = True
    use_upper: bool = True
    use_digits: bool = True
    use_symbols: bool = True
    min_lower: int = 1
    min_upper: int = 1
    min_digits: int = 1
    min_symbols: int = 0
    symbols: str = SAFE_SYMBOLS
    exclude: str = ""

    def classes(self) -> list[tuple[str, str, int]]:
        """``(name, alphabet, minimum)`` of every enabled class, after exclusions."""
        out = []
        for name, use, alphabet, minimum in (
            ("lower", self.use_lower, string.ascii_lowercase, self.min_lower),
            ("upper", self.use_upper, string.ascii_uppercase, self.min_upper),
            ("digits", self.use_digits, string.digits, self.min_digits),
            ("symbols", self.use_symbols, self.symbols, self.min_symbols),
        ):
            if use:
                out.append((name, "".join(sorted({c for c in alphabet if c not in self.exclude})), minimum))
        return out

    def validate(self) -> None:
        """Raise :class:`RotationError` naming the first problem; a valid policy can always be satisfied."""
        if not isinstance(self.length, int) or not MIN_LENGTH <= self.length <= MAX_LENGTH:
            raise RotationError("password policy: length must be an integer from %d to %d, got %r"
                                % (MIN_LENGTH, MAX_LENGTH, self.length))
        bad = sorted(set(self.symbols) & UNSAFE_CHARACTERS) + sorted(c for c in self.symbols if not c.isprintable()
                                                                     or ord(c) > 126)
        if bad:
            raise RotationError("password policy: symbols %r are not safe in URLs and config files"
                                % "".join(bad))
        if any(c.isalnum() for c in self.symbols):
            raise RotationError("password policy: symbols must not contain letters or digits")
        classes = self.classes()
        if not classes:
            raise RotationError("password policy: no character class enabled")
        for name, alphabet, minimum in classes:
            if minimum < 0:
                raise RotationError("password policy: min_%s must not be negative" % name)
            if minimum and not alphabet:
                raise RotationError("password policy: class %s requires %d characters but exclude removes all of it"
                                    % (name, minimum))
        if sum(m for _name, _chars, m in classes) > self.length:
            raise RotationError("password policy: the class minimums add up to more than length %d" % self.length)
        if len(self.alphabet()) < 10:
            raise RotationError("password policy: fewer than 10 usable characters remain after exclusions")

    def alphabet(self) -> str:
        return "".join(sorted({c for _name, a, _min in self.classes() for c in a}))

    @classmethod
    def from_params(cls, params: dict | None) -> PasswordPolicy:
        """Build from a module/inventory dict (unknown keys are rejected); ``None`` means the default."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        unknown = sorted(set(params) - set(cls.__dataclass_fields__))
        if unknown:
            raise RotationError("password policy: unknown option(s) %s" % ", ".join(unknown))
        policy = cls(**params)
        policy.validate()
        return policy


def generate_password(policy: PasswordPolicy | None = None) -> str:
    """A new password satisfying ``policy`` (default: 32 characters, URL and config safe)."""
    policy = policy or PasswordPolicy()
    policy.validate()
    chars = []
    for _name, alphabet, minimum in policy.classes():
        chars.extend(secrets.choice(alphabet) for _i in range(minimum))
    alphabet = policy.alphabet()
    chars.extend(secrets.choice(alphabet) for _i in range(policy.length - len(chars)))
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def satisfies(password: str, policy: PasswordPolicy) -> bool:
    """True if ``password`` could have been produced under ``policy`` (used by tests and the test step)."""
    if len(password) != policy.length or not set(password) <= set(policy.alphabet()):
        return False
    return all(sum(c in alphabet for c in password) >= minimum for _name, alphabet, minimum in policy.classes())
