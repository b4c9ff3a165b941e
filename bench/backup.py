#!/usr/bin/env python3
"""Backup and restore throughput of erpops.odoo vs the plain tools, on the same generated data, same run.

Baselines:
- backup: ``pg_dump -Fc`` piped into boto3's ``upload_fileobj`` (managed multipart transfer), nothing else;
- restore: plain ``pg_restore -d NEW dump`` from a local file (no download, no checks, one job).

Ours: ``run_backup`` (snapshot, streamed multipart upload with SHA-256, read-back verification, manifest) and
``run_restore`` (download + checksum, restore with -j 2, validation of counts and table readability).
Throughput is database size (``pg_database_size``) per second; ratios > 1 mean ours is faster.
Each measurement is taken ``ERPOPS_BENCH_ROUNDS`` times (default 2, alternating) and the best is kept.

    python bench/backup.py          # or: make bench (bench/run.py runs every bench/*.py main())
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "build" / "collections"))
sys.path.insert(0, str(REPO))

PGBIN = os.environ.get("ERPOPS_PGBIN", "/usr/lib/postgresql/15/bin")
SIZE_MB = float(os.environ.get("ERPOPS_BENCH_BACKUP_MB", os.environ.get("ERPOPS_BACKUP_FIXTURE_MB", "240")))
ROUNDS = int(os.environ.get("ERPOPS_BENCH_ROUNDS", "2"))


def _lab_env() -> dict[str, str]:
    from lab.framework import read_env  # noqa: PLC0415

    path = Path(os.environ.get("ERPOPS_LAB_DIR", REPO / ".lab")) / "env"
    if not path.exists():
        raise SystemExit(f"{path} not found: start the lab with `make lab-up LAB_SERVICES=\"postgres s3\"`")
    return read_env(path)


def _timed(fn) -> float:
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


def main() -> dict:
    import psycopg  # noqa: PLC0415
    from ansible_collections.erpops.odoo.plugins.module_utils.backup import pg, storage  # noqa: PLC0415
    from ansible_collections.erpops.odoo.plugins.module_utils.backup.backup import (  # noqa: PLC0415
        BackupRequest,
        run_backup,
    )
    from ansible_collections.erpops.odoo.plugins.module_utils.backup.restore import (  # noqa: PLC0415
        RestoreRequest,
        run_restore,
    )

    from tests.support import odoo_fixture  # noqa: PLC0415

    env = _lab_env()
    os.environ.update({k: v for k, v in env.items() if k.startswith(("PG", "AWS_"))})
    conninfo = "host=%s port=%s user=%s password=%s" % (env["PGHOST"], env["PGPORT"], env["PGUSER"],
                                                       env["PGPASSWORD"])
    conn = pg.PgConn(host=env["PGHOST"], port=int(env["PGPORT"]), user=env["PGUSER"], password=env["PGPASSWORD"],
                     bin_dir=PGBIN)
    s3 = storage.S3Settings(bucket="erpops-bench-" + secrets.token_hex(3), endpoint_url=env["AWS_ENDPOINT_URL"],
                            region=env["AWS_REGION"])
    client = s3.client()
    client.create_bucket(Bucket=s3.bucket, CreateBucketConfiguration={"LocationConstraint": env["AWS_REGION"]})
    tag = secrets.token_hex(3)
    src = "bench_src_" + tag
    created: list[str] = [src]
    work = Path(tempfile.mkdtemp(prefix="erpops-bench-backup-"))
    try:
        info = odoo_fixture.create(src, work, SIZE_MB, conninfo=conninfo)
        db_bytes = info["db_bytes"]
        mb = db_bytes / 1e6
        pg_env = conn.env()
        times: dict[str, list[float]] = {"ours_backup": [], "base_backup": [], "ours_restore": [],
                                         "base_restore": []}
        dump_file = work / "base.dump"
        last_backup = None
        for r in range(ROUNDS):
            # backup baseline: pg_dump -Fc | upload_fileobj
            def base_backup(r: int = r) -> None:
                proc = subprocess.Popen([f"{PGBIN}/pg_dump", "-Fc", "-Z", "6", "-d", src], stdout=subprocess.PIPE,
                                        env=pg_env)
                client.upload_fileobj(proc.stdout, s3.bucket, "baseline/%d.dump" % r)
                if proc.wait() != 0:
                    raise RuntimeError("baseline pg_dump failed")

            times["base_backup"].append(_timed(base_backup))

            def ours_backup() -> None:
                nonlocal last_backup
                last_backup = run_backup(BackupRequest(conn=conn, db_name=src, tenant="bench", s3=s3))

            times["ours_backup"].append(_timed(ours_backup))

            # restore baseline: plain pg_restore of a local dump into a new database
            if not dump_file.exists():
                subprocess.run([f"{PGBIN}/pg_dump", "-Fc", "-Z", "6", "-d", src, "-f", str(dump_file)], env=pg_env,
                               check=True)
            base_db = "bench_base_%s_%d" % (tag, r)
            created.append(base_db)

            def base_restore(base_db: str = base_db) -> None:
                with psycopg.connect(conninfo, dbname="postgres", autocommit=True) as c:
                    c.execute('CREATE DATABASE "%s" TEMPLATE template0' % base_db)
                subprocess.run([f"{PGBIN}/pg_restore", "--no-owner", "-d", base_db, str(dump_file)], env=pg_env,
                               check=True)

            times["base_restore"].append(_timed(base_restore))
            ours_db = "bench_ours_%s_%d" % (tag, r)
            created.append(ours_db)
            times["ours_restore"].append(_timed(lambda ours_db=ours_db: run_restore(RestoreRequest(
                conn=conn, s3=s3, tenant="bench", target_db=ours_db, jobs=2))))
            for d in (base_db, ours_db):
                odoo_fixture.drop(d, conninfo)
        best = {k: min(v) for k, v in times.items()}
        thr = {k: round(mb / v, 2) for k, v in best.items()}
        dump_size = last_backup["manifest"]["erpops"]["parts"]["db"]["size"] if last_backup else None
        return {
            "benchmark": "backup",
            "data": {"db_bytes": db_bytes, "dump_bytes": dump_size, "generated": info["sizes"]},
            "rounds": ROUNDS,
            "seconds": {k: [round(x, 3) for x in v] for k, v in times.items()},
            "throughput_mb_per_s": thr,
            "ratios": {
                "backup_throughput_vs_pg_dump_pipe_upload": round(thr["ours_backup"] / thr["base_backup"], 3),
                "restore_throughput_vs_plain_pg_restore": round(thr["ours_restore"] / thr["base_restore"], 3),
            },
            "notes": [
                "ours backup = pg_dump -Fc in an exported snapshot + row counts + streamed multipart upload with "
                "SHA-256 + full read-back verification + manifest; baseline = pg_dump -Fc | boto3 upload_fileobj",
                "ours restore = download + SHA-256 check + pg_restore -j 2 + row-count/readability validation; "
                "baseline = pg_restore (one job) from a local file, no download, no checks",
                "database only (the filestore is not part of either side); S3 is the lab's moto_server on loopback",
            ],
        }
    finally:
        for d in created:
            try:
                odoo_fixture.drop(d, conninfo)
            except Exception as exc:  # noqa: BLE001
                print("cleanup of %s failed: %s" % (d, exc), file=sys.stderr)
        subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    result = main()
    out = REPO / "bench" / "results" / "backup.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(json.dumps(result["ratios"], indent=2))
