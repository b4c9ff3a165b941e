# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""odoo.conf from structured data: the one schema, validator, renderer and parser.

Used by the ``odoo_conf`` filter, the Kubernetes rendering core (ConfigMap) and
drift detection, so every path builds odoo.conf the same way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import re

# Types: int, bool, str, port, bytes (int or "640M"/"1.5G"), list (comma-separated), choice, regex, float, path
# Each entry: (type, extra) where extra holds min/max/choices; "secret" marks values that must not
# land in a ConfigMap unless explicitly allowed.
OPTIONS = {
    # server
    "addons_path": {"type": "list"},
    "data_dir": {"type": "path"},
    "server_wide_modules": {"type": "list"},
    "http_enable": {"type": "bool"},
    "http_interface": {"type": "str"},
    "http_port": {"type": "port"},
    "gevent_port": {"type": "port"},
    "longpolling_port": {"type": "port"},
    "proxy_mode": {"type": "bool"},
    "x_sendfile": {"type": "bool"},
    "without_demo": {"type": "str"},
    "unaccent": {"type": "bool"},
    "geoip_database": {"type": "path"},
    "csv_internal_sep": {"type": "str"},
    "reportgz": {"type": "bool"},
    "admin_passwd": {"type": "str", "secret": True},
    # multiprocessing and limits
    "workers": {"type": "int", "min": 0, "max": 256},
    "max_cron_threads": {"type": "int", "min": 0, "max": 64},
    "limit_memory_soft": {"type": "bytes", "min": 64 * 1024 * 1024},
    "limit_memory_hard": {"type": "bytes", "min": 64 * 1024 * 1024},
    "limit_memory_soft_gevent": {"type": "bytes", "min": 64 * 1024 * 1024},
    "limit_memory_hard_gevent": {"type": "bytes", "min": 64 * 1024 * 1024},
    "limit_time_cpu": {"type": "int", "min": 1},
    "limit_time_real": {"type": "int", "min": 1},
    "limit_time_real_cron": {"type": "int", "min": -1},
    "limit_request": {"type": "int", "min": 1},
    "osv_memory_count_limit": {"type": "int", "min": 0},
    "transient_age_limit": {"type": "float", "min": 0},
    # database
    "db_host": {"type": "str"},
    "db_port": {"type": "port"},
    "db_user": {"type": "str"},
    "db_password": {"type": "str", "secret": True},
    "db_name": {"type": "str"},
    "db_template": {"type": "str"},
    "db_sslmode": {"type": "choice",
                   "choices": ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]},
    "db_maxconn": {"type": "int", "min": 1, "max": 10000},
    "db_maxconn_gevent": {"type": "int", "min": 1, "max": 10000},
    "db_replica_host": {"type": "str"},
    "db_replica_port": {"type": "port"},
    "list_db": {"type": "bool"},
    "dbfilter": {"type": "regex"},
    # logging
    "log_level": {"type": "choice",
                  "choices": ["info", "debug_rpc", "warn", "test", "critical", "runbot", "debug_sql",
                              "error", "debug", "debug_rpc_answer", "notset"]},
    "log_handler": {"type": "list"},
    "log_db": {"type": "bool"},
    "log_db_level": {"type": "choice", "choices": ["debug", "info", "warning", "error", "critical"]},
    "logfile": {"type": "path"},
    "syslog": {"type": "bool"},
    # mail
    "email_from": {"type": "str"},
    "from_filter": {"type": "str"},
    "smtp_server": {"type": "str"},
    "smtp_port": {"type": "port"},
    "smtp_ssl": {"type": "bool"},
    "smtp_user": {"type": "str"},
    "smtp_password": {"type": "str", "secret": True},
}

SECRET_OPTIONS = frozenset(k for k, v in OPTIONS.items() if v.get("secret"))

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?\s*$", re.IGNORECASE)
_SIZE_MULT = {"": 1, "B": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}
_SECTION_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


class OdooConfError(ValueError):
    """Invalid odoo.conf input; the message names the option and the value."""


def _fail(name, value, expected):
    raise OdooConfError("odoo.conf option '%s': expected %s, got %r" % (name, expected, value))


def parse_size(name, value):
    """Bytes from an int or a string such as ``640M``, ``1.5G``, ``2GiB``."""
    if isinstance(value, bool):
        _fail(name, value, "a size in bytes (int) or a string like '640M'")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        m = _SIZE_RE.match(value)
        if m:
            unit = (m.group(2) or "").upper().rstrip("B").rstrip("I")
            return int(float(m.group(1)) * _SIZE_MULT[unit])
    return _fail(name, value, "a size in bytes (int) or a string like '640M'")


def _coerce(name, value):
    spec = OPTIONS[name]
    kind = spec["type"]
    if kind in ("int", "port"):
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            _fail(name, value, "an integer")
        try:
            out = int(value)
        except ValueError:
            _fail(name, value, "an integer")
        if kind == "port" and not 1 <= out <= 65535:
            _fail(name, value, "a TCP port between 1 and 65535")
    elif kind == "bytes":
        out = parse_size(name, value)
    elif kind == "float":
        if isinstance(value, bool):
            _fail(name, value, "a number")
        try:
            out = float(value)
        except (TypeError, ValueError):
            _fail(name, value, "a number")
    elif kind == "bool":
        if isinstance(value, bool):
            out = value
        elif isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            out = value.strip().lower() in _TRUE
        else:
            _fail(name, value, "a boolean")
    elif kind == "list":
        if isinstance(value, str):
            items = [v.strip() for v in value.split(",")]
        elif isinstance(value, (list, tuple)):
            items = value
        else:
            _fail(name, value, "a list of strings or a comma-separated string")
        out = []
        for item in items:
            if not isinstance(item, str) or not item.strip() or "," in item or "\n" in item:
                _fail(name, value, "non-empty strings without commas or newlines")
            out.append(item.strip())
    elif kind == "choice":
        if not isinstance(value, str) or value not in spec["choices"]:
            _fail(name, value, "one of %s" % ", ".join(spec["choices"]))
        out = value
    elif kind == "regex":
        if not isinstance(value, str):
            _fail(name, value, "a regular expression string")
        try:
            re.compile(value.replace("%d", "x").replace("%h", "x"))
        except re.error as exc:
            _fail(name, value, "a valid regular expression (%s)" % exc)
        out = value
    else:  # str, path
        if not isinstance(value, str) or "\n" in value or "\r" in value:
            _fail(name, value, "a single-line string")
        if kind == "path" and not value.startswith("/"):
            _fail(name, value, "an absolute path")
        out = value
    if "min" in spec and out < spec["min"]:
        _fail(name, value, "a value >= %s" % spec["min"])
    if "max" in spec and out > spec["max"]:
        _fail(name, value, "a value <= %s" % spec["max"])
    return out


def validate(options, allow_secrets=False):
    """Validate and normalise a dict of odoo.conf options; return a new dict of typed values.

    ``None`` values are dropped (option left at Odoo's default). Secret options are refused
    unless ``allow_secrets`` is true, so a ConfigMap never carries one by accident.
    """
    if not isinstance(options, dict):
        raise OdooConfError("odoo.conf options must be a mapping, got %s" % type(options).__name__)
    out = {}
    for name in sorted(options):
        value = options[name]
        if not isinstance(name, str) or name not in OPTIONS:
            close = difflib.get_close_matches(str(name), OPTIONS, n=1)
            hint = " (did you mean '%s'?)" % close[0] if close else ""
            raise OdooConfError("unknown odoo.conf option '%s' with value %r%s" % (name, value, hint))
        if value is None:
            continue
        if name in SECRET_OPTIONS and not allow_secrets:
            raise OdooConfError(
                "odoo.conf option '%s' is a secret: pass it through a Kubernetes Secret or environment "
                "variable, not the rendered file (or set allow_secrets=true for a host file with mode 0600)" % name)
        out[name] = _coerce(name, value)
    _cross_check(out)
    return out


def _cross_check(opts):
    soft, hard = opts.get("limit_memory_soft"), opts.get("limit_memory_hard")
    if soft is not None and hard is not None and soft > hard:
        raise OdooConfError("odoo.conf option 'limit_memory_soft' (%d) must not exceed 'limit_memory_hard' (%d)"
                            % (soft, hard))
    cpu, real = opts.get("limit_time_cpu"), opts.get("limit_time_real")
    if cpu is not None and real is not None and cpu > real:
        raise OdooConfError("odoo.conf option 'limit_time_cpu' (%d) must not exceed 'limit_time_real' (%d)"
                            % (cpu, real))
    http = opts.get("http_port", 8069)
    for other in ("gevent_port", "longpolling_port"):
        if opts.get(other) is not None and opts[other] == http:
            raise OdooConfError("odoo.conf option '%s' (%d) must differ from 'http_port' (%d)"
                                % (other, opts[other], http))


def _format(value):
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, list):
        return ",".join(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def render(options, allow_secrets=False, extra_sections=None):
    """Render odoo.conf text: ``[options]`` with sorted keys, then any extra addon sections."""
    opts = validate(options, allow_secrets=allow_secrets)
    lines = ["[options]"]
    lines.extend("%s = %s" % (k, _format(v)) for k, v in sorted(opts.items()))
    for section, values in sorted((extra_sections or {}).items()):
        if not isinstance(section, str) or not _SECTION_RE.match(section) or section == "options":
            raise OdooConfError("odoo.conf extra section name %r is invalid" % (section,))
        if not isinstance(values, dict):
            raise OdooConfError("odoo.conf extra section '%s' must be a mapping, got %r" % (section, values))
        lines.append("")
        lines.append("[%s]" % section)
        for k in sorted(values):
            v = values[k]
            if not isinstance(k, str) or not _SECTION_RE.match(k):
                raise OdooConfError("odoo.conf option %r in section '%s' is invalid" % (k, section))
            if isinstance(v, (dict, list)) or "\n" in _format(v):
                raise OdooConfError("odoo.conf option '%s' in section '%s': expected a scalar, got %r"
                                    % (k, section, v))
            lines.append("%s = %s" % (k, _format(v)))
    return "\n".join(lines) + "\n"


def parse(text):
    """Parse odoo.conf text back to ``{section: {option: raw string}}`` (for drift detection)."""
    sections = {}
    current = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1].strip(), {})
            continue
        if current is None or "=" not in line:
            raise OdooConfError("odoo.conf line %d is not inside a section or has no '=': %r" % (lineno, raw))
        key, value = line.split("=", 1)
        current[key.strip()] = value.strip()
    return sections
