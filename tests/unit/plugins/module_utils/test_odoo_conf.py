"""Unit tests of the odoo.conf core (plugins/module_utils/odoo_conf.py)."""

from __future__ import annotations

import configparser

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils import odoo_conf as oc
from hypothesis import given
from hypothesis import strategies as st


def test_render_sorted_and_typed() -> None:
    text = oc.render({
        "workers": 4, "max_cron_threads": 0, "proxy_mode": True, "list_db": False,
        "limit_memory_soft": "640M", "limit_memory_hard": 1677721600,
        "addons_path": ["/opt/odoo/addons", "/mnt/extra"], "dbfilter": "^%d$", "db_port": "5432",
    })
    assert text == (
        "[options]\n"
        "addons_path = /opt/odoo/addons,/mnt/extra\n"
        "db_port = 5432\n"
        "dbfilter = ^%d$\n"
        "limit_memory_hard = 1677721600\n"
        "limit_memory_soft = 671088640\n"
        "list_db = False\n"
        "max_cron_threads = 0\n"
        "proxy_mode = True\n"
        "workers = 4\n"
    )


@pytest.mark.parametrize(("value", "expected"), [
    (1024, 1024), ("640M", 640 * 1024**2), ("1.5G", int(1.5 * 1024**3)), ("2GiB", 2 * 1024**3),
    ("512MB", 512 * 1024**2), ("100K", 102400), ("123", 123),
])
def test_sizes(value: object, expected: int) -> None:
    assert oc.parse_size("limit_memory_hard", value) == expected


def test_size_option_is_converted_to_bytes() -> None:
    assert oc.validate({"limit_memory_hard": "1.5G"})["limit_memory_hard"] == int(1.5 * 1024**3)


@pytest.mark.parametrize(("options", "message"), [
    ({"worker": 4}, "unknown odoo.conf option 'worker' with value 4 (did you mean 'workers'?)"),
    ({"totally_unknown": "x"}, "unknown odoo.conf option 'totally_unknown'"),
    ({"workers": "many"}, "option 'workers': expected an integer, got 'many'"),
    ({"workers": True}, "option 'workers': expected an integer, got True"),
    ({"workers": -1}, "option 'workers': expected a value >= 0, got -1"),
    ({"proxy_mode": "maybe"}, "option 'proxy_mode': expected a boolean, got 'maybe'"),
    ({"db_port": 70000}, "option 'db_port': expected a TCP port between 1 and 65535, got 70000"),
    ({"limit_memory_soft": "lots"}, "option 'limit_memory_soft': expected a size"),
    ({"limit_memory_soft": "10M"}, "option 'limit_memory_soft': expected a value >= 67108864"),
    ({"log_level": "verbose"}, "option 'log_level': expected one of info"),
    ({"dbfilter": "^(%d$"}, "option 'dbfilter': expected a valid regular expression"),
    ({"data_dir": "relative/path"}, "option 'data_dir': expected an absolute path"),
    ({"db_host": "a\nb"}, "option 'db_host': expected a single-line string"),
    ({"addons_path": ["/a", "/b,c"]}, "option 'addons_path': expected non-empty strings without commas"),
    ({"addons_path": 3}, "option 'addons_path': expected a list of strings"),
    ({"admin_passwd": "x"}, "option 'admin_passwd' is a secret"),
    ({"db_password": "x"}, "option 'db_password' is a secret"),
    ({"limit_memory_soft": "2G", "limit_memory_hard": "1G"}, "'limit_memory_soft' (2147483648) must not exceed"),
    ({"limit_time_cpu": 600, "limit_time_real": 60}, "'limit_time_cpu' (600) must not exceed 'limit_time_real' (60)"),
    ({"gevent_port": 8069}, "'gevent_port' (8069) must differ from 'http_port' (8069)"),
    ("workers=4", "must be a mapping"),
])
def test_bad_input_names_option_and_value(options: object, message: str) -> None:
    with pytest.raises(oc.OdooConfError) as err:
        oc.render(options)
    assert message in str(err.value)


def test_secrets_allowed_when_asked() -> None:
    assert "admin_passwd = $pbkdf2" in oc.render({"admin_passwd": "$pbkdf2-sha512$x"}, allow_secrets=True)


def test_none_values_are_left_out() -> None:
    assert oc.render({"workers": None, "proxy_mode": True}) == "[options]\nproxy_mode = True\n"


def test_extra_sections() -> None:
    text = oc.render({"workers": 2}, extra_sections={"queue_job": {"channels": "root:2", "jobrunner_db_port": 5432}})
    assert text.endswith("\n[queue_job]\nchannels = root:2\njobrunner_db_port = 5432\n")
    with pytest.raises(oc.OdooConfError, match="extra section name 'options'"):
        oc.render({}, extra_sections={"options": {"x": 1}})
    with pytest.raises(oc.OdooConfError, match="expected a scalar"):
        oc.render({}, extra_sections={"queue_job": {"channels": ["a"]}})


def test_parse_roundtrip_and_errors() -> None:
    text = oc.render({"workers": 3, "proxy_mode": True}, extra_sections={"s": {"k": "v"}})
    assert oc.parse(text) == {"options": {"proxy_mode": "True", "workers": "3"}, "s": {"k": "v"}}
    with pytest.raises(oc.OdooConfError, match="line 1"):
        oc.parse("workers = 3\n")


_int_opts = st.sampled_from(["workers", "max_cron_threads", "db_maxconn", "limit_request"])



@given(name=_int_opts, data=st.data())
def test_rendered_text_is_valid_ini_with_the_value(name: str, data: st.DataObject) -> None:
    value = data.draw(st.integers(min_value=1, max_value=oc.OPTIONS[name].get("max", 10**6)))
    cp = configparser.ConfigParser(interpolation=None)
    cp.read_string(oc.render({name: value}))
    assert cp.getint("options", name) == value


@given(st.text(min_size=1, max_size=20).filter(lambda s: s not in oc.OPTIONS))
def test_any_unknown_name_is_rejected_with_its_name(name: str) -> None:
    with pytest.raises(oc.OdooConfError) as err:
        oc.validate({name: 1})
    assert repr(name)[1:-1] in str(err.value) or name in str(err.value)
