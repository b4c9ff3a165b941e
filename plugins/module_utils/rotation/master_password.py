# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Odoo master password (``admin_passwd``) hashing, compatible with passlib's ``pbkdf2_sha512``.

Odoo verifies ``admin_passwd`` with ``passlib.context.CryptContext(['pbkdf2_sha512', 'plaintext'])``,
so a stored value ``$pbkdf2-sha512$<rounds>$<salt>$<checksum>`` is accepted as the hashed form.
passlib encodes salt and checksum in its "adapted base64" (ab64): standard base64 with ``.`` instead of
``+`` and no ``=`` padding. Implemented with :func:`hashlib.pbkdf2_hmac` so no passlib is needed.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import hmac
import os

from ansible_collections.erpops.odoo.plugins.module_utils.rotation.core import RotationError

PREFIX = "$pbkdf2-sha512$"
#: Odoo 17+ configures passlib with 600000 rounds (passlib's own default for pbkdf2_sha512 is 25000).
DEFAULT_ROUNDS = 600000
SALT_SIZE = 16
CHECKSUM_SIZE = 64


def ab64_encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=").replace("+", ".")


def ab64_decode(text: str) -> bytes:
    text = text.replace(".", "+")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def hash_master_password(password: str, rounds: int = DEFAULT_ROUNDS, salt: bytes | None = None) -> str:
    """The passlib ``pbkdf2_sha512`` hash of ``password`` (UTF-8), with a fresh 16-byte salt by default."""
    if not 1 <= rounds <= 0xFFFFFFFF:
        raise RotationError("pbkdf2 rounds must be between 1 and 4294967295")
    salt = os.urandom(SALT_SIZE) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, rounds, CHECKSUM_SIZE)
    return "%s%d$%s$%s" % (PREFIX, rounds, ab64_encode(salt), ab64_encode(digest))


def parse_hash(value: str) -> tuple[int, bytes, bytes]:
    """``(rounds, salt, checksum)`` of a passlib pbkdf2-sha512 hash; :class:`RotationError` if malformed."""
    if not isinstance(value, str) or not value.startswith(PREFIX):
        raise RotationError("not a $pbkdf2-sha512$ hash")
    parts = value[len(PREFIX):].split("$")
    if len(parts) != 3 or not parts[0].isdigit() or parts[0].startswith("0"):
        raise RotationError("malformed $pbkdf2-sha512$ hash")
    try:
        salt, checksum = ab64_decode(parts[1]), ab64_decode(parts[2])
    except (binascii.Error, ValueError):
        raise RotationError("malformed $pbkdf2-sha512$ hash (bad base64)")
    if len(checksum) != CHECKSUM_SIZE:
        raise RotationError("malformed $pbkdf2-sha512$ hash (checksum is not 64 bytes)")
    return int(parts[0]), salt, checksum


def verify_master_password(password: str, value: str) -> bool:
    """True if ``password`` matches the stored hash ``value`` (constant-time comparison)."""
    rounds, salt, checksum = parse_hash(value)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, rounds, CHECKSUM_SIZE)
    return hmac.compare_digest(digest, checksum)
