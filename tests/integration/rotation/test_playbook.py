"""playbooks/rotate_credentials.yml end to end with -vvv: check mode, rotation, idempotence, and no secret
value (old or new) in any output, in the .lab tree or in Ansible's temporary directories."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import redis
from ansible_collections.erpops.odoo.plugins.module_utils.rotation.master_password import verify_master_password
from rotation_helpers import pg_connect, sm_current

REPO = Path(__file__).resolve().parents[3]


def integrations(tag: str, lab_env: dict[str, str]) -> list[dict]:
    return [
        {"name": "db", "owner": "platform", "systems": ["odoo", "postgresql"], "backend": "postgresql",
         "store": {"type": "secretsmanager", "secret_id": tag + "/db"},
         "target": {"host": "127.0.0.1", "port": int(lab_env["PGPORT"]), "user_prefix": tag},
         "admin_credentials": "lab_postgres", "rotation_period_days": 30},
        {"name": "cache", "owner": "platform", "systems": ["odoo", "redis"], "backend": "redis",
         "store": {"type": "secretsmanager", "secret_id": tag + "/cache"},
         "target": {"host": "127.0.0.1", "port": int(lab_env["REDIS_PORT"]), "username": tag, "grace_seconds": 0.5},
         "admin_credentials": "lab_redis", "rotation_period_days": 30},
        {"name": "master", "owner": "platform", "systems": ["odoo"], "backend": "odoo_master",
         "store": {"type": "secretsmanager", "secret_id": tag + "/admin"},
         "target": {"rounds": 1000, "vault": {"type": "secretsmanager", "secret_id": tag + "/vault"}},
         "rotation_period_days": 90},
        {"name": "payroll", "owner": "hr", "systems": ["odoo", "payroll"], "backend": "api_key",
         "store": {"type": "secretsmanager", "secret_id": tag + "/payroll"},
         "target": {"attributes": {"system": "payroll"}}, "rotation_period_days": 60, "last_rotation": "2026-01-01"},
    ]


def secret_values(sm, tag: str) -> list[str]:
    db, cache = sm_current(sm, tag + "/db"), sm_current(sm, tag + "/cache")
    return [db["password"], cache["password"], sm_current(sm, tag + "/vault")["password"],
            sm_current(sm, tag + "/admin")["admin_passwd"], sm_current(sm, tag + "/payroll")["api_key"]]


def files_containing(root: Path, needles: list[bytes]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                data = path.read_bytes()
            except OSError:
                continue
            found.extend("%s contains secret #%d" % (path, i) for i, n in enumerate(needles) if n in data)
    return found


def test_playbook_rotates_without_leaking(run_playbook, lab_env, sm, tag, pg_admin, pg_cleanup,  # noqa: PLR0917
                                          redis_admin, tmp_path):
    pg_cleanup(tag)
    redis_admin["users"].append(tag)
    sm.created_tags.append(tag)
    extra = tmp_path / "integrations.json"
    extra.write_text(json.dumps({"erpops_integrations": integrations(tag, lab_env)}))
    tmp = tmp_path / "ansible-tmp"
    env = {"ANSIBLE_LOCAL_TEMP": str(tmp / "local"), "ANSIBLE_REMOTE_TEMP": str(tmp / "remote"),
           "ANSIBLE_REMOTE_TMP": str(tmp / "remote"), "ANSIBLE_KEEP_REMOTE_FILES": "0"}
    args = ("-vvv", "-e", "@%s" % extra)
    outputs = []

    # check mode: reports, changes nothing
    res = run_playbook("playbooks/rotate_credentials.yml", *args, "-e", "rotate_credentials_select=all", "--check",
                       extra_env=env)
    outputs.append(res.stdout + res.stderr)
    assert "OVERDUE" in res.stdout and "selected for rotation: db, cache, master, payroll" in res.stdout
    assert sm.list_secrets(Filters=[{"Key": "name", "Values": [tag]}])["SecretList"] == []
    with pg_connect(pg_admin) as conn:
        assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname LIKE %s", (tag + "%",)).fetchone() == (0,)

    # first run creates everything, second run rotates everything
    res = run_playbook("playbooks/rotate_credentials.yml", *args, "-e", "rotate_credentials_select=all",
                       extra_env=env)
    outputs.append(res.stdout + res.stderr)
    old = secret_values(sm, tag)
    res = run_playbook("playbooks/rotate_credentials.yml", *args, "-e",
                       "rotate_credentials_select=db,cache,master,payroll", "--diff", extra_env=env)
    outputs.append(res.stdout + res.stderr)
    new = secret_values(sm, tag)
    assert all(o != n for o, n in zip(old, new, strict=True))
    assert sm_current(sm, tag + "/db")["username"] == tag + "_b"

    # the new credentials work
    db = sm_current(sm, tag + "/db")
    with psycopg.connect(host=pg_admin["host"], port=pg_admin["port"], user=db["username"], password=db["password"],
                         dbname="postgres") as conn:
        assert conn.execute("SELECT current_user").fetchone() == (tag,)
    cache = sm_current(sm, tag + "/cache")
    client = redis.Redis(host=redis_admin["host"], port=redis_admin["port"], username=cache["username"],
                         password=cache["password"], retry=None)
    assert client.ping()
    client.close()
    assert verify_master_password(new[2], new[3])

    # idempotent: nothing is overdue now, so the default selection rotates nothing
    versions = {s: sm.describe_secret(SecretId=tag + s)["VersionIdsToStages"] for s in ("/db", "/payroll")}
    res = run_playbook("playbooks/rotate_credentials.yml", *args, extra_env=env)
    outputs.append(res.stdout + res.stderr)
    assert "selected for rotation: none" in res.stdout and "changed=0" in res.stdout
    assert {s: sm.describe_secret(SecretId=tag + s)["VersionIdsToStages"] for s in ("/db", "/payroll")} == versions

    # unknown integration: clear error naming it, nothing rotated
    res = run_playbook("playbooks/rotate_credentials.yml", *args, "-e", "rotate_credentials_select=erp-sync",
                       check=False, extra_env=env)
    outputs.append(res.stdout + res.stderr)
    assert res.returncode != 0 and "unknown integration(s) erp-sync" in res.stdout

    # missing admin credentials: clear error naming the integration and the reference
    res = run_playbook("playbooks/rotate_credentials.yml", *args, "-e", '{"erpops_rotation_admin_credentials": {}}',
                       check=False, extra_env=env)
    outputs.append(res.stdout + res.stderr)
    assert res.returncode != 0
    assert "db: missing admin credentials: reference 'lab_postgres' is not defined" in res.stdout
    assert secret_values(sm, tag) == new

    text = "\n".join(outputs)
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in text  # admin passwords reached the modules masked
    leaks = ["output contains secret #%d (%s)" % (i, "old" if i < len(old) else "new")
             for i, value in enumerate(old + new) if value in text]
    assert leaks == []
    needles = [v.encode() for v in old + new]
    assert files_containing(Path(lab_env["LAB_DIR"]), needles) == []
    assert files_containing(tmp, needles) == []
    assert files_containing(tmp_path, needles) == []
