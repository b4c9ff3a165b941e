"""Restore into an attachments bucket (plugins/module_utils/backup/attachments.py) against a fake S3 edge."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.erpops.odoo.plugins.module_utils.backup import args
from ansible_collections.erpops.odoo.plugins.module_utils.backup import attachments as at
from ansible_collections.erpops.odoo.plugins.module_utils.backup.errors import BackupError
from ansible_collections.erpops.odoo.plugins.module_utils.backup.restore import RestoreRequest, run_restore
from ansible_collections.erpops.odoo.plugins.module_utils.backup.streams import tar_dir_to

from .fake_s3 import FakeS3

MiB = 1024 * 1024


@pytest.mark.parametrize(("prefix", "folder"), [
    ("", ""), ("/", ""), ("acme", "acme/"), ("acme/", "acme/"), ("acme//", "acme/"), ("t/acme", "t/acme/"),
])
def test_prefix_is_a_folder(prefix: str, folder: str) -> None:
    assert at.folder(prefix) == folder
    assert at.member_key(prefix, "ab/abcdef") == folder + "ab/abcdef"


@pytest.mark.parametrize("name", ["", "/etc/passwd", "../x", "ab/../../x", "ab//x", "./ab", "ab/"])
def test_member_names_that_are_not_plain_relative_paths_are_refused(name: str) -> None:
    with pytest.raises(BackupError, match="not a relative path") as err:
        at.member_key("acme", name)
    assert err.value.kind == "restore"


def test_aside_folder_is_a_sibling() -> None:
    assert at.aside_folder("t/acme/", "abc123") == "t/acme.old-abc123/"
    assert at.aside_folder("acme").startswith("acme.old-") and at.aside_folder("acme").endswith("/")


def test_listing_mirrors_the_keys_a_restore_writes() -> None:
    """Backup reads exactly the folder: not a sibling tenant, not an aside copy, not folder markers."""
    s3 = FakeS3()
    rels = ["ab/ab01", "ab/ab02", "cd/cd03", "checklist/x"]
    for rel in rels:
        s3.objects[at.member_key("t/acme", rel)] = rel.encode()
    s3.objects["t/acme-staging/ab/ab09"] = b"other tenant"
    s3.objects["t/acme.old-123456/ab/ab01"] = b"aside copy"
    s3.objects["t/acme/ab/"] = b""
    got = at.list_attachments(s3, "b", "t/acme")
    assert [rel for rel, _key, _size in got] == sorted(rels)
    assert all(key == at.member_key("t/acme", rel) and size == len(rel) for rel, key, size in got)
    assert at.list_attachments(s3, "b", "t/acme/") == got


def _filestore(root: Path, big: bool = False) -> Path:
    for i in range(9):
        p = root / ("%02x" % i) / ("%040x" % i)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(os.urandom(100 + 997 * i))
    if big:  # larger than a part: a multipart upload of its own
        (root / "ff" / "big").parent.mkdir(parents=True, exist_ok=True)
        (root / "ff" / "big").write_bytes(os.urandom(11 * MiB + 5))
    return root


def _tar(tmp_path: Path, big: bool = False):
    src = _filestore(tmp_path / "src", big)
    tar = tmp_path / "filestore.tar"
    with open(tar, "wb") as fh:
        tree = tar_dir_to(fh, str(src))
    return str(tar), tree


@pytest.mark.parametrize("big", [False, True])
def test_upload_tar_then_read_back_gives_the_backup_tree(tmp_path: Path, big: bool) -> None:
    tar, tree = _tar(tmp_path, big)
    s3 = FakeS3()
    target = at.AttachmentTarget(s3, "b", "acme", part_size=5 * MiB, concurrency=3)
    uploaded = target.upload_tar(tar)
    assert uploaded.as_manifest() == tree.as_manifest()
    assert sorted(s3.objects) == sorted("acme/" + rel for rel in tree.entries)
    assert target.read_back().entries == tree.entries
    assert not s3.uploads, "no multipart upload left open"


def _old(s3: FakeS3) -> dict[str, bytes]:
    for i in range(5):
        s3.objects["acme/old/%d" % i] = b"old %d" % i
    s3.objects["acme-staging/keep"] = b"neighbour"
    return dict(s3.objects)


def test_overwrite_moves_aside_then_drop_aside_leaves_only_the_restored(tmp_path: Path) -> None:
    tar, tree = _tar(tmp_path)
    s3 = FakeS3()
    before = _old(s3)
    target = at.AttachmentTarget(s3, "b", "acme", part_size=5 * MiB)
    aside = target.move_aside(target.existing())
    assert aside and aside.startswith("acme.old-")
    assert {k[len(aside):]: v for k, v in s3.objects.items() if k.startswith(aside)} == {
        k[len("acme/"):]: v for k, v in before.items() if k.startswith("acme/")}
    assert not [k for k in s3.objects if k.startswith("acme/")], "originals deleted after the copy"
    target.upload_tar(tar)
    assert target.read_back().entries == tree.entries
    target.drop_aside()
    assert sorted(s3.objects) == sorted(["acme-staging/keep", *("acme/" + r for r in tree.entries)])


@pytest.mark.parametrize(("action", "victim"), [
    ("put", "acme/04/"),          # an upload fails half-way through the members
    ("delete", "acme/old/3"),     # deleting an original fails after every copy was made
    ("copy", ".old-"),            # a server-side copy fails: nothing was deleted yet
])
def test_failure_then_rollback_restores_the_old_objects_exactly(tmp_path: Path, action: str, victim: str) -> None:
    tar, _tree = _tar(tmp_path)
    armed = {"on": True}

    def fail(act: str, key: str) -> None:
        if armed["on"] and act == action and victim in key:
            raise ConnectionError("injected %s failure on %s" % (act, key))

    s3 = FakeS3(fail=fail)
    before = _old(s3)
    target = at.AttachmentTarget(s3, "b", "acme", part_size=5 * MiB, concurrency=2)
    with pytest.raises(BackupError) as err:
        target.move_aside(target.existing())
        target.upload_tar(tar)
    assert err.value.kind == "storage" and "injected" in str(err.value)
    armed["on"] = False  # the storage is back for the rollback
    target.rollback()
    assert s3.objects == before, "old objects back, nothing uploaded or aside left over"


def test_rollback_itself_failing_raises(tmp_path: Path) -> None:
    tar, _tree = _tar(tmp_path)
    s3 = FakeS3()
    _old(s3)
    target = at.AttachmentTarget(s3, "b", "acme", part_size=5 * MiB)
    target.move_aside(target.existing())
    target.upload_tar(tar)

    def down(act: str, key: str) -> None:
        raise ConnectionError("storage gone")

    s3.fail = down
    with pytest.raises(BackupError, match="storage gone"):
        target.rollback()
    assert target.aside and any(k.startswith(target.aside) for k in s3.objects), "the aside copy survives"


def test_bad_member_refused_before_any_upload(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in ("ab/good", "ab/../../evil"):
            info = tarfile.TarInfo(name)
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
    (tmp_path / "t.tar").write_bytes(buf.getvalue())
    s3 = FakeS3()
    with pytest.raises(BackupError, match="evil"):
        at.AttachmentTarget(s3, "b", "acme").upload_tar(str(tmp_path / "t.tar"))
    assert s3.objects == {} and "put" not in s3.calls


def test_replace_refused_for_a_whole_bucket_and_huge_objects() -> None:
    t = at.AttachmentTarget(FakeS3(), "b", "")
    with pytest.raises(BackupError, match="attachments_prefix is empty and bucket b holds 1 objects") as err:
        t.check_replaceable([("ab/x", "ab/x", 3)])
    assert err.value.kind == "input"
    t.check_replaceable([])  # an empty bucket can be restored into
    with pytest.raises(BackupError, match=r"over 5 GiB.*acme/ab/huge"):
        at.AttachmentTarget(FakeS3(), "b", "acme").check_replaceable([("ab/huge", "acme/ab/huge", 6 * 1024 ** 3)])


class _Untouchable:
    """Stands in for the database connection and the S3 settings: any use fails the test."""

    def __getattr__(self, name: str):
        raise AssertionError("touched %s before the options were checked" % name)


@pytest.mark.parametrize(("extra", "match"), [
    ({"filestore_dir": "/fs", "attachments_bucket": "att"}, r"filestore_dir \(or data_dir\) and attachments_bucket"),
    ({"attachments_prefix": "acme"}, "attachments_prefix needs attachments_bucket"),
    ({"attachments_bucket": "att", "target_db": "bad name;"}, "invalid database name"),
])
def test_restore_options_refused_before_anything(extra: dict, match: str) -> None:
    req = RestoreRequest(conn=_Untouchable(), s3=_Untouchable(), tenant="acme",  # type: ignore[arg-type]
                         target_db=extra.pop("target_db", "acme"), **extra)
    with pytest.raises(BackupError, match=match) as err:
        run_restore(req)
    assert err.value.kind == "input"


@pytest.mark.parametrize("other", ["filestore_dir", "data_dir"])
def test_module_argument_spec_names_the_exclusive_fields(other: str) -> None:
    spec = args.restore_argument_spec()
    params = {"bucket": "bk", "tenant": "acme", "target_db": "acme", other: "/srv", "attachments_bucket": "att"}
    res = ArgumentSpecValidator(spec, mutually_exclusive=args.FILESTORE_EXCLUSIVE).validate(params)
    assert res.error_messages == ["parameters are mutually exclusive: %s|attachments_bucket" % other]
    ok = ArgumentSpecValidator(spec, mutually_exclusive=args.FILESTORE_EXCLUSIVE).validate(
        {"bucket": "bk", "tenant": "acme", "target_db": "acme", "attachments_bucket": "att"})
    assert ok.error_messages == []
    assert ok.validated_parameters["attachments_prefix"] == ""
