"""Checksum streaming (plugins/module_utils/backup/streams.py) against a fake S3 edge."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest
from ansible_collections.erpops.odoo.plugins.module_utils.backup import streams as sm
from ansible_collections.erpops.odoo.plugins.module_utils.backup.errors import BackupError
from hypothesis import given, settings
from hypothesis import strategies as st

from .fake_s3 import FakeS3

MiB = 1024 * 1024


@pytest.mark.parametrize(("total", "chunk", "parts"), [
    (0, 1, 1), (100, 7, 1), (5 * MiB, 65536, 1), (5 * MiB + 1, 65536, 2), (17 * MiB + 3, 1_000_003, 4),
])
@pytest.mark.parametrize("concurrency", [1, 3])
def test_multipart_streams_and_hashes(total: int, chunk: int, parts: int, concurrency: int) -> None:
    data = os.urandom(total)
    s3 = FakeS3()
    w = sm.MultipartWriter(s3, "b", "k", part_size=5 * MiB, concurrency=concurrency)
    for i in range(0, total, chunk):
        w.write(data[i:i + chunk])
    res = w.close()
    assert s3.objects["k"] == data
    assert (res.size, res.sha256, res.parts) == (total, hashlib.sha256(data).hexdigest(), parts)
    assert not s3.uploads, "no multipart upload left open"


def test_failed_part_aborts_and_leaves_no_object() -> None:
    s3 = FakeS3(fail_on_part=2)
    w = sm.MultipartWriter(s3, "b", "k", part_size=5 * MiB, concurrency=2)
    with pytest.raises(BackupError, match="upload_part 2 of k failed") as err:
        w.write(os.urandom(12 * MiB))
        w.close()
    assert err.value.kind == "storage"
    assert "k" not in s3.objects and s3.aborted == ["k"] and not s3.uploads


def test_fault_hook_stops_upload() -> None:
    s3 = FakeS3()

    def hook(key: str, part: int) -> None:
        if part == 2:
            raise BackupError("injected", kind="storage")

    with pytest.raises(BackupError, match="injected"), \
            sm.MultipartWriter(s3, "b", "k", part_size=5 * MiB, fault_hook=hook) as w:
        w.write(os.urandom(11 * MiB))
    assert "k" not in s3.objects and s3.aborted == ["k"]


def test_part_size_minimum() -> None:
    with pytest.raises(BackupError, match="5 MiB"):
        sm.MultipartWriter(FakeS3(), "b", "k", part_size=MiB)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=3000), max_size=30))
def test_any_write_pattern_round_trips(chunks: list[bytes]) -> None:
    s3 = FakeS3()
    w = sm.MultipartWriter(s3, "b", "k", part_size=5 * MiB)
    for c in chunks:
        w.write(c)
    res = w.close()
    blob = b"".join(chunks)
    assert s3.objects["k"] == blob and res.sha256 == hashlib.sha256(blob).hexdigest()


@pytest.mark.parametrize(("mutate", "match"), [
    (lambda b: b[:-1], "expected 9 bytes"),                     # truncated
    (lambda b: b[:4] + b"X" + b[5:], "checksum mismatch"),      # corrupted, same size
])
def test_download_verified_refuses_bad_parts(tmp_path: Path, mutate, match: str) -> None:
    good = b"odoo-dump"
    s3 = FakeS3()
    s3.objects["k"] = mutate(good)
    dest = tmp_path / "part"
    with pytest.raises(BackupError, match=match) as err:
        sm.download_verified(s3, "b", "k", str(dest), size=len(good), sha256=hashlib.sha256(good).hexdigest())
    assert err.value.kind == "checksum"
    assert not dest.exists(), "a part that failed verification is not left behind"


def test_verify_uploaded_detects_changed_object() -> None:
    s3 = FakeS3()
    s3.objects["k"] = b"abc"
    part = sm.PartResult("k", 3, hashlib.sha256(b"abc").hexdigest())
    sm.verify_uploaded(s3, "b", part)
    s3.objects["k"] = b"abd"
    with pytest.raises(BackupError, match="read-back"):
        sm.verify_uploaded(s3, "b", part)
    s3.objects["k"] = b"ab"
    with pytest.raises(BackupError, match="has 2 bytes"):
        sm.verify_uploaded(s3, "b", part, reread=False)


def _filestore(root: Path) -> dict[str, bytes]:
    files = {}
    for i in range(12):
        data = os.urandom(100 + i * 1000)
        sha1 = hashlib.sha1(data).hexdigest()  # noqa: S324 - Odoo filestore naming
        p = root / sha1[:2] / sha1
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        files[f"{sha1[:2]}/{sha1}"] = data
    return files


def test_filestore_tar_round_trip_and_digest(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _filestore(src)
    sink = io.BytesIO()
    tree = sm.tar_dir_to(sink, str(src))
    assert tree.files == 12 and tree.digest == sm.tree_digest_of_dir(str(src)).digest
    tar_path = tmp_path / "fs.tar"
    tar_path.write_bytes(sink.getvalue())
    out = sm.safe_extract_tar(str(tar_path), str(tmp_path / "dst"))
    assert out.as_manifest() == tree.as_manifest() == sm.tree_digest_of_dir(str(tmp_path / "dst")).as_manifest()
    # one changed byte changes the digest
    victim = next((tmp_path / "dst").rglob("*/*"))
    victim.write_bytes(b"x" + victim.read_bytes()[1:])
    assert sm.tree_digest_of_dir(str(tmp_path / "dst")).digest != tree.digest


@pytest.mark.parametrize("name", ["../evil", "/etc/evil", "a/../../evil"])
def test_extract_refuses_escaping_members(tmp_path: Path, name: str) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    (tmp_path / "t.tar").write_bytes(buf.getvalue())
    with pytest.raises(BackupError, match="outside the target"):
        sm.safe_extract_tar(str(tmp_path / "t.tar"), str(tmp_path / "dst"))


def test_extract_refuses_links(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("ab/link")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)
    (tmp_path / "t.tar").write_bytes(buf.getvalue())
    with pytest.raises(BackupError, match="not a regular file"):
        sm.safe_extract_tar(str(tmp_path / "t.tar"), str(tmp_path / "dst"))
