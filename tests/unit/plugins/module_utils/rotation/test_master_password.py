"""Odoo admin_passwd hashing (passlib pbkdf2_sha512 format) against vectors computed independently."""

from __future__ import annotations

import binascii

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.core import RotationError
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.master_password import (
    ab64_decode,
    ab64_encode,
    hash_master_password,
    parse_hash,
    verify_master_password,
)

# Computed with OpenSSL 3 (`openssl kdf -keylen 64 -kdfopt digest:SHA512 -kdfopt pass:... -kdfopt hexsalt:...
# -kdfopt iter:1000 PBKDF2`), then encoded in passlib's ab64 by hand (base64, '+' -> '.', no padding).
KNOWN_PASSWORD = "correct horse battery staple"
KNOWN_SALT = bytes(range(16))
KNOWN_HASH = ("$pbkdf2-sha512$1000$AAECAwQFBgcICQoLDA0ODw$A6AmFIti7CKlYdoPiV9jf1d9llp37o27Wms8Zx8fwMJGCOigJzAth"
              "OW3Pg.XF5PnNiYnsQsIz1N5NtynrEm78w")
# the published PBKDF2-HMAC-SHA512 vector ("password", "salt", 1 iteration, 64 bytes)
RFC_STYLE = ("867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252"
             "c02d470a285a0501bad999bfe943c08f050235d7d68b1da55e63f73b60a57fce")


def test_known_vector():
    assert hash_master_password(KNOWN_PASSWORD, rounds=1000, salt=KNOWN_SALT) == KNOWN_HASH
    assert verify_master_password(KNOWN_PASSWORD, KNOWN_HASH)
    assert not verify_master_password(KNOWN_PASSWORD + "x", KNOWN_HASH)


def test_published_pbkdf2_vector():
    value = hash_master_password("password", rounds=1, salt=b"salt")
    rounds, salt, checksum = parse_hash(value)
    assert (rounds, salt) == (1, b"salt")
    assert binascii.hexlify(checksum).decode() == RFC_STYLE


def test_default_format_matches_odoo():
    value = hash_master_password("secret-master")
    assert value.startswith("$pbkdf2-sha512$600000$")
    rounds, salt, checksum = parse_hash(value)
    assert (rounds, len(salt), len(checksum)) == (600000, 16, 64)
    assert "+" not in value and "=" not in value
    assert verify_master_password("secret-master", value)


def test_salts_are_random():
    assert hash_master_password("x", rounds=1000) != hash_master_password("x", rounds=1000)


@pytest.mark.parametrize("data", [b"", b"\xfb\xff", bytes(range(256))])
def test_ab64_roundtrip(data):
    assert ab64_decode(ab64_encode(data)) == data
    assert "+" not in ab64_encode(data)


@pytest.mark.parametrize("value", [
    "plain", "$pbkdf2-sha256$1000$AAAA$BBBB", "$pbkdf2-sha512$x$AAAA$BBBB", "$pbkdf2-sha512$0100$AA$BB",
    "$pbkdf2-sha512$1000$AAECAwQFBgcICQoLDA0ODw$short", "$pbkdf2-sha512$1000$!!$AAAA",
])
def test_malformed_hashes_are_rejected(value):
    with pytest.raises(RotationError):
        verify_master_password("x", value)
