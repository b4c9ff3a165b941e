"""Password generator and policy."""

from __future__ import annotations

import string

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.core import RotationError
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.password import (
    SAFE_SYMBOLS,
    UNSAFE_CHARACTERS,
    PasswordPolicy,
    generate_password,
    satisfies,
)
from hypothesis import given, settings
from hypothesis import strategies as st


def test_default_is_32_url_and_conf_safe_characters():
    pw = generate_password()
    assert len(pw) == 32
    assert set(pw) <= set(string.ascii_letters + string.digits + SAFE_SYMBOLS)
    assert not set(pw) & UNSAFE_CHARACTERS
    assert satisfies(pw, PasswordPolicy())


def test_passwords_differ():
    assert len({generate_password() for _ in range(200)}) == 200


@pytest.mark.parametrize("params", [
    {"length": 12},
    {"length": 64, "min_symbols": 5},
    {"length": 48, "use_symbols": False},
    {"length": 20, "exclude": "Il1O0o", "min_digits": 4},
    {"length": 16, "use_upper": False, "min_upper": 0, "use_symbols": False},
])
def test_policies_are_honoured(params):
    policy = PasswordPolicy.from_params(params)
    for _ in range(50):
        pw = generate_password(policy)
        assert satisfies(pw, policy)
        assert not set(pw) & set(params.get("exclude", ""))


@pytest.mark.parametrize(("params", "message"), [
    ({"length": 8}, "length must be"),
    ({"length": 2000}, "length must be"),
    ({"symbols": "-$"}, "not safe"),
    ({"symbols": "-a"}, "letters or digits"),
    ({"symbols": "-é"}, "not safe"),
    ({"use_lower": False, "use_upper": False, "use_digits": False, "use_symbols": False}, "no character class"),
    ({"length": 12, "min_lower": 5, "min_upper": 5, "min_digits": 5}, "add up to more"),
    ({"exclude": string.digits}, "class digits requires"),
    ({"min_lower": -1}, "must not be negative"),
    ({"bogus": 1}, "unknown option"),
])
def test_invalid_policies_are_rejected(params, message):
    with pytest.raises(RotationError, match=message):
        PasswordPolicy.from_params(params)


def test_none_values_mean_default():
    assert PasswordPolicy.from_params({"length": None, "symbols": None}) == PasswordPolicy()


policies = st.builds(
    PasswordPolicy,
    length=st.integers(12, 128),
    use_lower=st.booleans(),
    use_upper=st.booleans(),
    use_digits=st.just(True),
    use_symbols=st.booleans(),
    min_lower=st.integers(0, 3),
    min_upper=st.integers(0, 3),
    min_digits=st.integers(0, 3),
    min_symbols=st.integers(0, 2),
    symbols=st.sampled_from(["-_.~", "-_", "~", "-_.~!*()+"]),
    exclude=st.text(alphabet=string.ascii_letters + string.digits + "-_.~", max_size=8),
)


@settings(max_examples=200, deadline=None)
@given(policies)
def test_any_valid_policy_yields_a_satisfying_password(policy):
    try:
        policy.validate()
    except RotationError:
        return  # an unsatisfiable policy is rejected up front, never looped on
    pw = generate_password(policy)
    assert satisfies(pw, policy)
    assert not set(pw) & set(policy.exclude)
    assert not set(pw) & UNSAFE_CHARACTERS


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=6))
def test_free_text_symbols_never_yield_unsafe_characters(symbols):
    try:
        policy = PasswordPolicy.from_params({"symbols": symbols, "min_symbols": 1})
    except RotationError:
        return
    pw = generate_password(policy)
    assert not set(pw) & UNSAFE_CHARACTERS
    assert all(c.isascii() and c.isprintable() for c in pw)
