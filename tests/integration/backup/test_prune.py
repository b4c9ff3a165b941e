"""GFS pruning against the lab S3: a synthetic calendar of backups, versioning and object lock."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.backup import manifest as mf
from ansible_collections.erpops.odoo.plugins.module_utils.backup import storage
from ansible_collections.erpops.odoo.plugins.module_utils.backup.retention import Policy, run_prune

from .conftest import make_bucket

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
POLICY = Policy(daily=3, weekly=2, monthly=3, keep_last=1, incomplete_after_hours=24)
EXPECTED_KEPT_DAYS = {"2026-12-03", "2026-12-02", "2026-12-01", "2026-11-29", "2026-11-30", "2026-10-31"}


def _put_backup(client, s3: storage.S3Settings, tenant: str, when: dt.datetime, complete: bool = True,
                **put_kw) -> str:
    bid = mf.new_backup_id(when)
    base = mf.backup_prefix(s3.prefix, tenant, bid)
    client.put_object(Bucket=s3.bucket, Key=base + mf.STARTED, Body=b"{}", **put_kw)
    client.put_object(Bucket=s3.bucket, Key=base + "db.dump", Body=b"dump", **put_kw)
    if complete:
        man = mf.build_manifest(db_name="acme", base_version="17.0.1.3", pg_version="15.8", modules={},
                                backup_id=bid, tenant=tenant, started_at=when, finished_at=when,
                                parts={"db": {"key": base + "db.dump", "size": 4, "sha256": "0" * 64}},
                                row_counts={}, filestore=None, dump_format="custom")
        client.put_object(Bucket=s3.bucket, Key=base + mf.MANIFEST, Body=mf.dumps(man), **put_kw)
    return bid


def _calendar(client, s3: storage.S3Settings, tenant: str) -> dict[str, str]:
    """Daily backups at 02:00 from 2026-10-20 to 2026-12-03, plus two incomplete ones."""
    ids = {}
    d = dt.date(2026, 10, 20)
    while d <= NOW.date():
        ids[d.isoformat()] = _put_backup(client, s3, tenant, dt.datetime(d.year, d.month, d.day, 2, tzinfo=dt.UTC))
        d += dt.timedelta(days=1)
    ids["incomplete-old"] = _put_backup(client, s3, tenant, NOW - dt.timedelta(days=3), complete=False)
    ids["incomplete-running"] = _put_backup(client, s3, tenant, NOW - dt.timedelta(minutes=5), complete=False)
    return ids


def _remaining(s3: storage.S3Settings, tenant: str) -> set[str]:
    return {e.backup_id for e in storage.catalogue(s3.client(), s3, tenant, read_manifests=False)}


def test_gfs_prune_keeps_exactly_the_expected_set(s3: storage.S3Settings) -> None:
    tenant = "gfs-" + secrets.token_hex(2)
    ids = _calendar(s3.client(), s3, tenant)
    # incomplete backups are aged by their objects' LastModified (real upload time, i.e. just now): both recent
    incomplete = {ids["incomplete-old"], ids["incomplete-running"]}
    expected = {ids[d] for d in EXPECTED_KEPT_DAYS} | incomplete
    newest = ids["2026-12-03"]

    plan = run_prune(s3, tenant, POLICY, check_mode=True, now=NOW)
    assert {k["backup_id"] for k in plan["keep"]} == expected
    assert {d["backup_id"] for d in plan["delete"]} == set(ids.values()) - expected
    assert plan["deleted"] == [] and _remaining(s3, tenant) == set(ids.values()), "the dry run deletes nothing"

    res = run_prune(s3, tenant, POLICY, now=NOW)
    assert res["changed"] and not res["locked"] and {d["reason"] for d in res["deleted"]} == {"retention"}
    assert _remaining(s3, tenant) == expected
    reasons = {k["backup_id"]: k["reasons"] for k in res["keep"]}
    assert reasons[newest] == ["newest", "last", "daily", "weekly", "monthly"]
    assert reasons[ids["2026-11-29"]] == ["weekly"] and reasons[ids["2026-10-31"]] == ["monthly"]
    again = run_prune(s3, tenant, POLICY, now=NOW)
    assert not again["changed"] and again["deleted"] == [], "idempotent"
    # stale incomplete backups go; the newest complete one never does, even with an all-zero policy
    res = run_prune(s3, tenant, Policy(daily=0, weekly=0, monthly=0, keep_last=0, incomplete_after_hours=0),
                    now=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5))
    assert {d["backup_id"] for d in res["deleted"] if d["reason"] == "incomplete"} == incomplete
    assert _remaining(s3, tenant) == {newest}


def test_prune_never_deletes_locked_backups(lab_env: dict[str, str]) -> None:
    s3 = make_bucket(lab_env, "erpops-bk-lock-" + secrets.token_hex(3), ObjectLockEnabledForBucket=True)
    client = s3.client()
    tenant = "locked"
    old_locked = _put_backup(client, s3, tenant, dt.datetime(2026, 11, 1, 2, tzinfo=dt.UTC),
                             ObjectLockMode="GOVERNANCE",
                             ObjectLockRetainUntilDate=dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    old_free = _put_backup(client, s3, tenant, dt.datetime(2026, 11, 2, 2, tzinfo=dt.UTC))
    newest = _put_backup(client, s3, tenant, dt.datetime(2026, 12, 3, 2, tzinfo=dt.UTC))
    policy = Policy(daily=1, weekly=0, monthly=0, keep_last=0)
    plan = run_prune(s3, tenant, policy, check_mode=True, now=NOW)
    assert plan["protection"] == {"versioning": "Enabled", "object_lock": True}
    assert {d["backup_id"] for d in plan["delete"]} == {old_locked, old_free}
    res = run_prune(s3, tenant, policy, now=NOW)
    assert [x["backup_id"] for x in res["locked"]] == [old_locked]
    assert "GOVERNANCE retention until" in next(iter(res["locked"][0]["objects"].values()))
    assert [d["backup_id"] for d in res["deleted"]] == [old_free]
    remaining = storage.catalogue(client, s3, tenant)
    assert {e.backup_id: e.complete for e in remaining} == {old_locked: True, newest: True}


@pytest.mark.parametrize("purge", [False, True])
def test_versioned_bucket(lab_env: dict[str, str], purge: bool) -> None:
    s3 = make_bucket(lab_env, "erpops-bk-ver-" + secrets.token_hex(3))
    client = s3.client()
    client.put_bucket_versioning(Bucket=s3.bucket, VersioningConfiguration={"Status": "Enabled"})
    tenant = "ver"
    old = _put_backup(client, s3, tenant, dt.datetime(2026, 11, 1, 2, tzinfo=dt.UTC))
    newest = _put_backup(client, s3, tenant, dt.datetime(2026, 12, 3, 2, tzinfo=dt.UTC))
    res = run_prune(s3, tenant, Policy(daily=1, weekly=0, monthly=0, keep_last=0), purge_versions=purge, now=NOW)
    assert [d["backup_id"] for d in res["deleted"]] == [old]
    assert _remaining(s3, tenant) == {newest}
    versions = client.list_object_versions(Bucket=s3.bucket, Prefix=mf.backup_prefix(s3.prefix, tenant, old))
    left = versions.get("Versions", [])
    assert (len(left) == 0) if purge else (len(left) == 3), "noncurrent versions stay unless purged"
