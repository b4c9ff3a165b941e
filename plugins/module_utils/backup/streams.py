# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Streaming with checksums: a write-only S3 multipart sink, verified downloads, filestore tar streams.

Nothing here keeps a full local copy of a backup part: bytes flow from a producer (``pg_dump`` stdout, a
tar or zip writer) into fixed-size parts that are uploaded as they fill, while a SHA-256 of the whole
stream is computed on the way.
"""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import contextlib
import hashlib
import os
import tarfile
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator  # noqa: UP035 - Python 3.8 on managed hosts

from ansible_collections.erpops.odoo.plugins.module_utils.backup.errors import BackupError

CHUNK = 1024 * 1024
MIN_PART = 5 * 1024 * 1024

#: called as ``hook(key, part_number)`` before every part upload; raising aborts the upload (tests, drills)
FaultHook = Callable[[str, int], None]


@dataclass
class PartResult:
    """What was stored under one key: size, SHA-256 of the bytes, number of multipart parts."""

    key: str
    size: int
    sha256: str
    parts: int = 1

    def as_manifest(self) -> dict[str, Any]:
        return {"key": self.key, "size": self.size, "sha256": self.sha256, "parts": self.parts}


def storage_error(action: str, key: str, exc: BaseException) -> BackupError:
    return BackupError(
        "S3 %s of %s failed: %s: %s" % (action, key, type(exc).__name__, exc), kind="storage",
        details={"key": key, "action": action},
    )


class MultipartWriter:
    """A file-like sink (``write``/``tell``/``close``) that uploads to one S3 key as a multipart upload.

    Parts of ``part_size`` bytes are uploaded by up to ``concurrency`` threads; memory stays bounded by
    ``(concurrency + 1) * part_size``. ``close()`` completes the upload and returns a :class:`PartResult`;
    on any error the multipart upload is aborted so no partial object ever appears under ``key``.
    It has no ``seek`` on purpose: ``tarfile`` (mode ``w|``) and ``zipfile`` then stream.
    """

    def __init__(self, client: Any, bucket: str, key: str, *, part_size: int = 16 * CHUNK, concurrency: int = 4,
                 fault_hook: FaultHook | None = None, extra_args: dict[str, Any] | None = None) -> None:
        if part_size < MIN_PART:
            raise BackupError("part_size must be at least 5 MiB (S3 minimum), got %d" % part_size, kind="input")
        self.client = client
        self.bucket = bucket
        self.key = key
        self.part_size = part_size
        self.concurrency = max(1, concurrency)
        self.fault_hook = fault_hook
        self.extra_args = extra_args or {}
        self._buf = bytearray()
        self._hash = hashlib.sha256()
        self._size = 0
        self._upload_id: str | None = None
        self._part_no = 0
        self._etags: dict[int, str] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: set = set()
        self._closed = False
        self.result: PartResult | None = None

    # -- file-like ------------------------------------------------------------
    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._size

    def flush(self) -> None:
        """No-op: parts are sent when full (``tarfile``/``zipfile`` call this)."""

    def write(self, data: bytes) -> int:
        if self._closed:
            raise ValueError("write to a closed MultipartWriter")
        n = len(data)
        if not n:
            return 0
        self._hash.update(data)
        self._size += n
        self._buf += data
        while len(self._buf) >= self.part_size:
            chunk = bytes(self._buf[: self.part_size])
            del self._buf[: self.part_size]
            self._send(chunk)
        return n

    # -- parts ------------------------------------------------------------------
    def _start(self) -> None:
        try:
            resp = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.key, **self.extra_args)
        except Exception as exc:  # noqa: BLE001 - botocore raises many unrelated types at the network edge
            raise storage_error("create_multipart_upload", self.key, exc)
        self._upload_id = resp["UploadId"]
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency)

    def _upload_part(self, number: int, chunk: bytes) -> None:
        if self.fault_hook is not None:
            self.fault_hook(self.key, number)
        try:
            resp = self.client.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id,
                                           PartNumber=number, Body=chunk)
        except Exception as exc:  # noqa: BLE001
            raise storage_error("upload_part %d" % number, self.key, exc)
        self._etags[number] = resp["ETag"]

    def _reap(self, block: bool) -> None:
        if not self._inflight:
            return
        done, pending = wait(self._inflight, return_when=FIRST_COMPLETED) if block else (
            {f for f in self._inflight if f.done()}, {f for f in self._inflight if not f.done()})
        self._inflight = set(pending)
        for fut in done:
            fut.result()  # re-raises the first failure

    def _send(self, chunk: bytes) -> None:
        if self._upload_id is None:
            self._start()
        self._part_no += 1
        self._reap(block=False)
        while len(self._inflight) >= self.concurrency:
            self._reap(block=True)
        if self._pool is None:  # pragma: no cover - _start() always sets it
            raise BackupError("internal error: multipart upload not started", kind="storage")
        self._inflight.add(self._pool.submit(self._upload_part, self._part_no, chunk))

    def close(self) -> PartResult:
        if self.result is not None:
            return self.result
        self._closed = True
        try:
            if self._upload_id is None:
                # everything fit into one part: a single PUT
                if self.fault_hook is not None:
                    self.fault_hook(self.key, 1)
                try:
                    self.client.put_object(Bucket=self.bucket, Key=self.key, Body=bytes(self._buf), **self.extra_args)
                except Exception as exc:  # noqa: BLE001
                    raise storage_error("put_object", self.key, exc)
                self.result = PartResult(self.key, self._size, self._hash.hexdigest(), 1)
                return self.result
            if self._buf:
                self._send(bytes(self._buf))
                self._buf = bytearray()
            while self._inflight:
                self._reap(block=True)
            parts = [{"PartNumber": n, "ETag": self._etags[n]} for n in sorted(self._etags)]
            try:
                self.client.complete_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id,
                                                      MultipartUpload={"Parts": parts})
            except Exception as exc:  # noqa: BLE001
                raise storage_error("complete_multipart_upload", self.key, exc)
            self.result = PartResult(self.key, self._size, self._hash.hexdigest(), len(parts))
            return self.result
        except BaseException:
            self.abort()
            raise
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)

    def abort(self) -> None:
        """Abort the multipart upload (best effort: the storage may be the thing that failed)."""
        self._closed = True
        for fut in self._inflight:
            fut.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._inflight = set()
        if self._upload_id is not None:
            # best effort: with the storage unreachable a lifecycle rule cleans stale uploads
            with contextlib.suppress(Exception):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id)
            self._upload_id = None

    def __enter__(self) -> MultipartWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def copy_stream(src: Any, dst: Any, chunk: int = CHUNK) -> int:
    """Copy a readable binary stream into a writable one; returns the byte count."""
    total = 0
    while True:
        data = src.read(chunk)
        if not data:
            return total
        dst.write(data)
        total += len(data)


def rehash_object(client: Any, bucket: str, key: str) -> tuple[int, str]:
    """Read an object back from storage and return ``(size, sha256)`` — independent of ETags."""
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
        h = hashlib.sha256()
        size = 0
        for data in body.iter_chunks(CHUNK):
            h.update(data)
            size += len(data)
    except Exception as exc:  # noqa: BLE001
        raise storage_error("read-back", key, exc)
    return size, h.hexdigest()


def head_size(client: Any, bucket: str, key: str) -> int:
    try:
        return int(client.head_object(Bucket=bucket, Key=key)["ContentLength"])
    except Exception as exc:  # noqa: BLE001
        raise storage_error("head_object", key, exc)


def verify_uploaded(client: Any, bucket: str, part: PartResult, reread: bool = True) -> None:
    """HEAD size must equal what was streamed; with ``reread`` the object is read back and re-hashed."""
    size = head_size(client, bucket, part.key)
    if size != part.size:
        raise BackupError("uploaded %s has %d bytes, streamed %d" % (part.key, size, part.size), kind="checksum")
    if reread:
        size2, digest = rehash_object(client, bucket, part.key)
        if (size2, digest) != (part.size, part.sha256):
            raise BackupError("read-back of %s does not match what was streamed (sha256 %s != %s)"
                              % (part.key, digest, part.sha256), kind="checksum")


def download_verified(client: Any, bucket: str, key: str, dest: str, *, size: int, sha256: str) -> None:
    """Download ``key`` to ``dest`` and check size and SHA-256; on mismatch delete ``dest`` and raise."""
    h = hashlib.sha256()
    got = 0
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
        with open(dest, "wb") as out:
            for data in body.iter_chunks(CHUNK):
                h.update(data)
                got += len(data)
                out.write(data)
    except BackupError:
        raise
    except Exception as exc:  # noqa: BLE001
        _unlink(dest)
        raise storage_error("download", key, exc)
    if got != size or h.hexdigest() != sha256:
        _unlink(dest)
        raise BackupError(
            "checksum mismatch for %s: expected %d bytes sha256 %s, got %d bytes sha256 %s"
            % (key, size, sha256, got, h.hexdigest()),
            kind="checksum", details={"key": key, "expected_size": size, "size": got,
                                      "expected_sha256": sha256, "sha256": h.hexdigest()})


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


# -- filestore ------------------------------------------------------------------------------------
@dataclass
class TreeDigest:
    """An order-independent description of a file tree: count, bytes and a digest over (path, sha256, size)."""

    entries: dict[str, tuple[str, int]] = field(default_factory=dict)

    def add(self, relpath: str, sha256: str, size: int) -> None:
        self.entries[relpath] = (sha256, size)

    @property
    def files(self) -> int:
        return len(self.entries)

    @property
    def bytes(self) -> int:
        return sum(entry[1] for entry in self.entries.values())

    @property
    def digest(self) -> str:
        h = hashlib.sha256()
        for rel in sorted(self.entries):
            sha, size = self.entries[rel]
            h.update(("%s\0%s\0%d\n" % (rel, sha, size)).encode("utf-8"))
        return h.hexdigest()

    def as_manifest(self) -> dict[str, Any]:
        return {"files": self.files, "bytes": self.bytes, "tree_sha256": self.digest}


class _HashingReader:
    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.hash = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.hash.update(data)
        self.size += len(data)
        return data


def walk_files(root: str) -> Iterator[tuple[str, str]]:
    """``(relative posix path, absolute path)`` of every regular file under ``root``, sorted."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            if os.path.isfile(full) and not os.path.islink(full):
                yield os.path.relpath(full, root).replace(os.sep, "/"), full


def tree_digest_of_dir(root: str) -> TreeDigest:
    tree = TreeDigest()
    for rel, full in walk_files(root):
        h = hashlib.sha256()
        size = 0
        with open(full, "rb") as fh:
            for data in iter(lambda fh=fh: fh.read(CHUNK), b""):
                h.update(data)
                size += len(data)
        tree.add(rel, h.hexdigest(), size)
    return tree


def tar_dir_to(sink: Any, root: str, arc_prefix: str = "") -> TreeDigest:
    """Write every file under ``root`` as a streamed tar into ``sink``; returns the tree digest."""
    tree = TreeDigest()
    with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for rel, full in walk_files(root):
            st = os.stat(full)
            info = tarfile.TarInfo(arc_prefix + rel)
            info.size = st.st_size
            info.mtime = int(st.st_mtime)
            info.mode = 0o640
            with open(full, "rb") as fh:
                reader = _HashingReader(fh)
                tar.addfile(info, reader)
            if reader.size != st.st_size:
                raise BackupError("%s changed size while being archived" % full, kind="dump")
            tree.add(rel, reader.hash.hexdigest(), reader.size)
    return tree


def tar_objects_to(sink: Any, client: Any, bucket: str, objects: Iterable[tuple[str, str, int]]) -> TreeDigest:
    """Stream objects ``(relpath, key, size)`` of an attachments bucket into a tar written to ``sink``."""
    tree = TreeDigest()
    with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for rel, key, size in objects:
            try:
                body = client.get_object(Bucket=bucket, Key=key)["Body"]
            except Exception as exc:  # noqa: BLE001
                raise storage_error("get_object (attachments)", key, exc)
            info = tarfile.TarInfo(rel)
            info.size = size
            info.mode = 0o640
            reader = _HashingReader(body)
            tar.addfile(info, reader)
            if reader.size != size:
                raise BackupError("attachment %s changed size while being archived" % key, kind="dump")
            tree.add(rel, reader.hash.hexdigest(), reader.size)
    return tree


def safe_extract_tar(path: str, dest: str) -> TreeDigest:
    """Extract regular files of a tar into ``dest`` (no links, no absolute or ``..`` paths); hash as we go."""
    tree = TreeDigest()
    dest_abs = os.path.abspath(dest)
    with tarfile.open(path, mode="r|") as tar:
        for member in tar:
            if member.isdir():
                continue
            if not member.isfile():
                raise BackupError("refusing tar member %r: not a regular file" % member.name, kind="restore")
            target = os.path.abspath(os.path.join(dest_abs, member.name))
            if os.path.isabs(member.name) or not target.startswith(dest_abs + os.sep):
                raise BackupError("refusing tar member %r: outside the target" % member.name, kind="restore")
            os.makedirs(os.path.dirname(target), exist_ok=True)
            src = tar.extractfile(member)
            if src is None:  # pragma: no cover - regular files always have a data stream
                raise BackupError("cannot read tar member %r" % member.name, kind="restore")
            reader = _HashingReader(src)
            with open(target, "wb") as out:
                copy_stream(reader, out)
            os.chmod(target, 0o640)
            tree.add(member.name, reader.hash.hexdigest(), reader.size)
    return tree
