"""Manifest building and checking (plugins/module_utils/backup/manifest.py)."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.backup import manifest as mf
from ansible_collections.erpops.odoo.plugins.module_utils.backup.errors import BackupError
from hypothesis import given
from hypothesis import strategies as st

T0 = dt.datetime(2026, 12, 3, 2, 0, 0, tzinfo=dt.UTC)
SHA = "a" * 64


def sample() -> dict:
    return mf.build_manifest(
        db_name="acme", base_version="17.0.1.3", pg_version="15.8", modules={"web": "17.0.1.0", "base": "17.0.1.3"},
        backup_id="20261203T020000Z-abcdef", tenant="acme", started_at=T0, finished_at=T0 + dt.timedelta(seconds=42),
        parts={"db": {"key": "p/acme/x/db.dump", "size": 10, "sha256": SHA, "parts": 1}},
        row_counts={"res_partner": 5, "account_move": 3}, filestore={"files": 1, "bytes": 2, "tree_sha256": SHA},
        dump_format="custom", source_revision="r1")


def test_odoo_compatible_top_level() -> None:
    man = sample()
    assert {k: man[k] for k in ("odoo_dump", "db_name", "version", "major_version", "pg_version")} == {
        "odoo_dump": "1", "db_name": "acme", "version": "17.0", "major_version": "17.0", "pg_version": "15.8"}
    assert man["version_info"] == [17, 0, 0, "final", 0, ""]
    assert list(man["modules"]) == ["base", "web"]
    assert mf.odoo_zip_manifest(man).keys() == {"odoo_dump", "db_name", "version", "version_info", "major_version",
                                                "pg_version", "modules"}
    er = man["erpops"]
    assert (er["started_at"], er["finished_at"], er["duration_seconds"]) == (
        "2026-12-03T02:00:00Z", "2026-12-03T02:00:42Z", 42.0)
    assert er["status"] == "complete" and er["source_revision"] == "r1"
    assert json.loads(mf.dumps(man)) == man
    assert mf.validate_manifest(man) is man


@pytest.mark.parametrize(("base", "series"), [
    ("17.0.1.3", "17.0"), ("16.0.1.0", "16.0"), ("saas~17.2.1.0", "saas~17.2"), (None, None)])
def test_versions(base: str | None, series: str | None) -> None:
    assert mf.odoo_versions(base)["version"] == series


def _broken(path: list, value) -> dict:
    man = copy.deepcopy(sample())
    d = man
    for p in path[:-1]:
        d = d[p]
    if value is KeyError:
        del d[path[-1]]
    else:
        d[path[-1]] = value
    return man


@pytest.mark.parametrize(("man", "match"), [
    ({"odoo_dump": "1"}, "not an erpops"),
    (_broken(["erpops", "status"], "running"), "not complete"),
    (_broken(["erpops", "format_version"], 99), "format_version"),
    (_broken(["erpops", "parts", "db", "sha256"], "zz"), "lacks key, size or sha256"),
    (_broken(["erpops", "parts", "db", "size"], "10"), "lacks key, size or sha256"),
    (_broken(["erpops", "parts", "db"], KeyError), "no database part"),
    (_broken(["erpops", "dump_format"], "tar"), "dump_format"),
])
def test_validate_rejects(man: dict, match: str) -> None:
    with pytest.raises(BackupError, match=match):
        mf.validate_manifest(man)


def test_backup_ids_sort_by_time_and_parse() -> None:
    a = mf.new_backup_id(T0)
    b = mf.new_backup_id(T0 + dt.timedelta(seconds=1))
    assert a < b and mf.backup_id_time(a) == T0
    assert mf.backup_id_time("not-an-id") is None
    assert mf.backup_prefix("/odoo-backups/", "acme", a) == "odoo-backups/acme/%s/" % a


@given(st.text(max_size=40))
def test_tenant_segments_never_escape_the_prefix(tenant: str) -> None:
    try:
        p = mf.tenant_prefix("odoo-backups", tenant)
    except BackupError:
        return
    assert p.count("/") == 2 and ".." not in p.split("/") and p.startswith("odoo-backups/")
