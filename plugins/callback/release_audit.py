# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``erpops.odoo.release_audit`` callback: one append-only JSON line per play, never a secret."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: release_audit
type: aggregate
short_description: Append-only JSON-lines audit trail of releases (who, when, what, gate decision, results)
version_added: 0.1.0
author: erpops platform team (@erpops)
description:
  - Writes one JSON object per play, as one line appended to a local file (and optionally one object
    per record to S3) - who ran it (local user, AWX/AAP job user and job id when present), when, the
    change id and tenants, the release gate decision and verified approvals, the status of every task
    per host (task name, host, status only), the release revision before and after, and the backup id.
  - Never records task arguments or results. Tasks with C(no_log) are recorded without their name;
    governance facts from C(no_log) tasks are ignored. Values whose key or shape looks like a
    credential (passwords, tokens, private keys, URL credentials, access keys) are replaced by
    C(<redacted>).
  - A line is written for failed plays and failed runs too (at the start of the next play, at the end
    of the run, and at interpreter exit for an aborted run).
  - Each line carries C(prev_sha256), the SHA-256 of the previous line, so truncation or editing of
    the log is detectable (C(docs/governance.md) shows how to check the chain).
  - "Reads these well-known variables (extra vars, play vars, C(set_fact) facts, or the registered
    result of M(erpops.odoo.release_gate)): C(erpops_change_id), C(erpops_tenants), C(erpops_gate_result),
    C(erpops_release_before), C(erpops_release_after), C(erpops_backup_id)."
requirements:
  - boto3 (only for the S3 copy)
options:
  path:
    description: The JSON-lines file (created with mode 0600; appended under an exclusive lock).
    type: path
    default: ~/.ansible/erpops-audit.jsonl
    env:
      - name: ERPOPS_AUDIT_LOG
    ini:
      - section: callback_release_audit
        key: path
  s3_bucket:
    description: When set, every record is also stored as an S3 object in this bucket.
    type: str
    env:
      - name: ERPOPS_AUDIT_S3_BUCKET
    ini:
      - section: callback_release_audit
        key: s3_bucket
  s3_prefix:
    description: Key prefix of the S3 objects (followed by C(YYYY/MM/DD/<time>-<run>-<play>.json)).
    type: str
    default: erpops-audit/
    env:
      - name: ERPOPS_AUDIT_S3_PREFIX
    ini:
      - section: callback_release_audit
        key: s3_prefix
  s3_endpoint_url:
    description: S3 endpoint URL (for S3-compatible storage); credentials come from the usual boto3 chain.
    type: str
    env:
      - name: ERPOPS_AUDIT_S3_ENDPOINT_URL
    ini:
      - section: callback_release_audit
        key: s3_endpoint_url
  s3_region:
    description: S3 region.
    type: str
    env:
      - name: ERPOPS_AUDIT_S3_REGION
    ini:
      - section: callback_release_audit
        key: s3_region
notes:
  - Enable with C(callbacks_enabled = erpops.odoo.release_audit) in C(ansible.cfg) or
    C(ANSIBLE_CALLBACKS_ENABLED=erpops.odoo.release_audit).
  - A failed S3 upload is reported as a warning and never fails the play; the local line is always written.
"""

import atexit
import contextlib
import datetime
import fcntl
import getpass
import hashlib
import json
import os
import re
import socket
import uuid

from ansible import context
from ansible.plugins.callback import CallbackBase

try:
    import boto3
except ImportError:  # pragma: no cover - S3 copy is optional
    boto3 = None

SCHEMA = "erpops.audit/v1"
WELL_KNOWN = ("erpops_change_id", "erpops_tenants", "erpops_gate_result", "erpops_release_before",
              "erpops_release_after", "erpops_backup_id")
GATE_KEYS = ("allowed", "risk_class", "reasons", "break_glass", "break_glass_reason", "post_review_required",
             "next_window", "calendars", "evaluated_at", "error", "required_approvals")
AWX_VARS = ("awx_user_name", "awx_user_email", "awx_user_id", "awx_job_id", "awx_job_template_name",
            "awx_job_launch_type", "tower_user_name", "tower_user_email", "tower_job_id", "tower_job_template_name")
AWX_ENV = ("JOB_ID", "AWX_HOST", "TOWER_HOST", "PROJECT_REVISION", "INVENTORY_ID")
REDACTED = "<redacted>"
_SECRET_KEY = re.compile(r"(?i)(pass(word|wd|phrase)?|pwd|secret|token|api[_-]?key|private[_-]?key|credential"
                         r"|authori[sz]ation|cookie|session[_-]?id|access[_-]?key)")
_SECRET_VALUE = (
    re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----"),
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    re.compile(r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key)\s*[=:]\s*\S+"),
    re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^@\s/]+@"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
    re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|sk-[A-Za-z0-9]{20,})"),
    re.compile(r"\bssh-(ed25519|rsa|dss) AAAA[0-9A-Za-z+/]{20,}"),
)
_OPAQUE = re.compile(r"[A-Za-z0-9+=_-]{32,}")


def _looks_opaque(token):
    """A long mixed-case alphanumeric run (tokens, keys) - but not a hex digest or git revision."""
    return (re.search(r"[A-Z]", token) is not None and re.search(r"[a-z]", token) is not None
            and re.search(r"[0-9]", token) is not None)


def redact(value, key=""):
    """A JSON-safe copy of ``value`` with anything that looks like a credential replaced."""
    if key and _SECRET_KEY.search(str(key)) and value not in (None, "", [], {}) and not isinstance(value, bool):
        return REDACTED
    if isinstance(value, dict):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [redact(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = str(value)
    if any(p.search(text) for p in _SECRET_VALUE):
        return REDACTED
    return _OPAQUE.sub(lambda m: REDACTED if _looks_opaque(m.group(0)) else m.group(0), text)


def _native(value, depth=0):
    """Plain JSON types from Ansible's (possibly tagged or templated) values; templates are dropped."""
    if depth > 20:
        return None
    if isinstance(value, dict):
        return {str(k): _native(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_native(v, depth + 1) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = str(value)
    return None if ("{{" in text or "{%" in text) else text


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")  # noqa: UP017


def _last_line_hash(fh):
    """SHA-256 of the last complete line of the (binary, seekable) file, or ``None`` when empty."""
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    if not size:
        return None
    chunk, data = 65536, b""
    pos = size
    while pos > 0:
        step = min(chunk, pos)
        pos -= step
        fh.seek(pos)
        data = fh.read(step) + data
        body = data.rstrip(b"\n")
        if b"\n" in body or pos == 0:
            last = body.rsplit(b"\n", 1)[-1]
            return hashlib.sha256(last + b"\n").hexdigest()
    return None  # pragma: no cover


def append_record(path, record):
    """Append ``record`` as one JSON line (exclusive lock, fsync); returns the line written."""
    path = os.path.expanduser(path)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            record = dict(record, prev_sha256=_last_line_hash(fh))
            line = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str) + "\n"
            fh.seek(0, os.SEEK_END)
            fh.write(line.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return line


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "erpops.odoo.release_audit"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super(CallbackModule, self).__init__(display=display)
        self.run_id = str(uuid.uuid4())
        self.playbook = None
        self.play = None
        self.play_index = 0
        self.extra_vars = {}
        self._s3 = None
        atexit.register(self._flush_aborted)

    # ---- record building ----------------------------------------------------------------------

    def _who(self):
        try:
            user = getpass.getuser()
        except Exception:  # noqa: BLE001 - no passwd entry in some containers
            user = os.environ.get("USER")
        who = {"user": user, "host": socket.gethostname()}
        actor = os.environ.get("ERPOPS_AUDIT_ACTOR")
        if actor:
            who["actor"] = actor
        awx = {k: self.extra_vars[k] for k in AWX_VARS if self.extra_vars.get(k) not in (None, "")}
        awx.update({k.lower(): os.environ[k] for k in AWX_ENV if os.environ.get(k)})
        if awx:
            who["awx"] = awx
        return who

    def _new_play(self, play):
        vm = None
        try:
            vm = play.get_variable_manager()
        except AttributeError:  # pragma: no cover
            vm = None
        if vm is not None:
            self.extra_vars = _native(dict(getattr(vm, "extra_vars", {}) or {})) or {}
        known = {}
        play_vars = _native(dict(getattr(play, "vars", {}) or {})) or {}
        for source in (play_vars, self.extra_vars):
            known.update({k: v for k, v in source.items() if k in WELL_KNOWN and v is not None})
        try:
            hosts = play.hosts if isinstance(play.hosts, list) else [play.hosts]
        except AttributeError:  # pragma: no cover
            hosts = []
        self.play_index += 1
        self.play = {
            "name": _native(play.get_name()) or "", "hosts": [_native(h) for h in hosts], "index": self.play_index,
            "started_at": _now(), "known": known, "gate_from_module": None, "tasks": [],
        }

    def _note_task(self, result, status):
        if self.play is None:
            return
        task = result.task if hasattr(result, "task") else result._task
        host = result.host if hasattr(result, "host") else result._host
        data = result.result if hasattr(result, "result") else result._result
        no_log = bool(getattr(task, "no_log", False)) or bool(data.get("_ansible_no_log"))
        name = "(no_log task: %s)" % task.action if no_log else (_native(task.get_name()) or task.action)
        self.play["tasks"].append({"task": name, "host": host.get_name(), "status": status,
                                   "action": task.action, "no_log": no_log})
        if no_log:
            return
        facts = data.get("ansible_facts") or {}
        if isinstance(facts, dict):
            for key in WELL_KNOWN:
                if facts.get(key) is not None:
                    self.play["known"][key] = _native(facts[key])
        if task.action.split(".")[-1] == "release_gate" and isinstance(data, dict) and "allowed" in data:
            keys = (*GATE_KEYS, "approvals", "rejected_approvals", "change", "freezes")
            self.play["gate_from_module"] = _native({k: data.get(k) for k in keys})

    def _record(self, outcome):
        play = self.play
        known = play["known"]
        gate = known.get("erpops_gate_result") or play["gate_from_module"]
        gate = gate if isinstance(gate, dict) else None
        change = (gate or {}).get("change") or {}
        failed = any(t["status"] in ("failed", "unreachable") for t in play["tasks"])
        record = {
            "schema": SCHEMA,
            "run_id": self.run_id,
            "recorded_at": _now(),
            "started_at": play["started_at"],
            "who": self._who(),
            "playbook": self.playbook,
            "play": {"name": play["name"], "index": play["index"], "hosts": play["hosts"]},
            "check_mode": bool(context.CLIARGS.get("check", False)) if context.CLIARGS else False,
            "change_id": known.get("erpops_change_id") or change.get("id"),
            "tenants": known.get("erpops_tenants") or change.get("tenants") or [],
            "gate": None,
            "approvals": [],
            "release_before": known.get("erpops_release_before"),
            "release_after": known.get("erpops_release_after"),
            "backup_id": known.get("erpops_backup_id"),
            "tasks": [{k: t[k] for k in ("task", "host", "status")} for t in play["tasks"]],
            "result": outcome if outcome != "ok" else ("failed" if failed else "ok"),
        }
        if gate:
            record["gate"] = {k: gate.get(k) for k in GATE_KEYS if k in gate}
            record["gate"]["freezes"] = [f.get("reason") for f in gate.get("freezes") or [] if isinstance(f, dict)]
            record["gate"]["rejected_approvals"] = [
                {"file": r.get("file"), "approver": r.get("approver"), "reason": r.get("reason")}
                for r in gate.get("rejected_approvals") or [] if isinstance(r, dict)]
            record["approvals"] = [
                {k: a.get(k) for k in ("approver", "roles", "timestamp", "risk_class")}
                for a in gate.get("approvals") or [] if isinstance(a, dict)]
        return redact(record)

    def _emit(self, outcome="ok"):
        if self.play is None:
            return
        record = self._record(outcome)
        self.play = None
        path = self.get_option("path")
        try:
            append_record(path, record)
        except OSError as exc:
            self._display.warning("release_audit: cannot append to %s: %s" % (path, exc))
        self._to_s3(record)

    def _to_s3(self, record):
        bucket = self.get_option("s3_bucket")
        if not bucket:
            return
        if boto3 is None:
            self._display.warning("release_audit: s3_bucket is set but boto3 is not installed")
            return
        try:
            if self._s3 is None:
                self._s3 = boto3.client("s3", endpoint_url=self.get_option("s3_endpoint_url") or None,
                                        region_name=self.get_option("s3_region") or None)
            stamp = record["recorded_at"]
            key = "%s%s/%s-%s-%d.json" % (
                self.get_option("s3_prefix") or "", stamp[:10].replace("-", "/"),
                stamp.replace(":", ""), record["run_id"], record["play"]["index"])
            body = json.dumps(record, sort_keys=True, default=str).encode("utf-8")
            self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
        except Exception as exc:  # noqa: BLE001 - the audit copy must never break a release
            self._display.warning("release_audit: S3 copy to bucket %s failed: %s" % (bucket, exc))

    def _flush_aborted(self):
        if self.play is not None:
            with contextlib.suppress(Exception):  # last resort at interpreter exit
                self._emit("aborted")

    # ---- callback events ----------------------------------------------------------------------

    def v2_playbook_on_start(self, playbook):
        self.playbook = _native(getattr(playbook, "_file_name", None))

    def v2_playbook_on_play_start(self, play):
        self._emit()
        self._new_play(play)

    def v2_runner_on_ok(self, result):
        data = result.result if hasattr(result, "result") else result._result
        self._note_task(result, "changed" if data.get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._note_task(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result):
        self._note_task(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._note_task(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        self._emit()
