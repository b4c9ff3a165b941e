"""odoo.conf rendering: the validating core vs a plain configparser write of the same options."""

from __future__ import annotations

import configparser
import io
import statistics
import time

from ansible_collections.erpops.odoo.plugins.module_utils.odoo_conf import render

OPTIONS = {
    "workers": 9, "max_cron_threads": 0, "proxy_mode": True, "list_db": False, "dbfilter": "^%d$",
    "limit_memory_soft": "640M", "limit_memory_hard": "1.5G", "limit_time_cpu": 600, "limit_time_real": 1200,
    "db_host": "pg.tenant.svc", "db_port": 5432, "db_user": "odoo", "db_maxconn": 16, "gevent_port": 8072,
    "addons_path": ["/opt/odoo/addons", "/mnt/extra-addons"], "data_dir": "/var/lib/odoo",
    "log_level": "info", "server_wide_modules": ["base", "web"],
}


def _baseline() -> str:
    cp = configparser.ConfigParser(interpolation=None)
    cp["options"] = {k: ",".join(v) if isinstance(v, list) else str(v) for k, v in OPTIONS.items()}
    buf = io.StringIO()
    cp.write(buf)
    return buf.getvalue()


def _time(fn, n: int = 2000, repeats: int = 5) -> float:
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t0) / n)
    return statistics.median(samples)


def main() -> dict:
    core = _time(lambda: render(OPTIONS))
    base = _time(_baseline)
    return {
        "description": "render one 18-option odoo.conf: validating core vs unvalidated configparser write",
        "seconds_per_render": {"erpops_core": core, "configparser_baseline": base},
        "ratios": {"core_vs_configparser": round(core / base, 3)},
    }
