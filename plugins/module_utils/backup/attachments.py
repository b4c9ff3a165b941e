# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Attachments in object storage: the key mapping shared by backup and restore, and the restore's swap.

Mapping (one rule for both directions): ``attachments_prefix`` names a folder. It is normalized to end in ``/``
(``""`` = the whole bucket); the object ``<folder><rel>`` is the filestore file / tar member ``<rel>``. A backup
reads every object under the folder (``/`` after the folder is stripped, folder markers ending in ``/`` skipped);
a restore writes member ``<rel>`` to ``<folder><rel>``. So a backup of what a restore wrote has the same tree
digest, and a sibling such as ``<prefix>.old-<hex>/`` (where a restore moves replaced objects) or another
tenant's ``<prefix>-staging/`` is never part of a backup of ``<prefix>``.

Restoring into a folder that holds objects (only with ``overwrite``): the objects are copied server-side to the
sibling folder ``<prefix>.old-<hex>/``, then deleted; the restored members are uploaded straight from the
verified tar (no extraction to disk); the folder is read back for validation. On failure the uploaded keys are
deleted and the old objects copied back; on success the aside copy is deleted unless it is kept. In a bucket with
versioning every delete leaves a delete marker and the old versions stay as noncurrent versions (expire them with a
lifecycle rule). Object metadata (Content-Type etc.) is not part of a backup; restored objects have none.
"""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import hashlib
import secrets
import tarfile
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Callable  # noqa: UP035 - Python 3.8 on managed hosts

from ansible_collections.erpops.odoo.plugins.module_utils.backup.errors import BackupError
from ansible_collections.erpops.odoo.plugins.module_utils.backup.storage import list_objects
from ansible_collections.erpops.odoo.plugins.module_utils.backup.streams import (
    CHUNK, MultipartWriter, TreeDigest, copy_stream, rehash_object, storage_error,
)

#: largest object a single server-side ``CopyObject`` can copy; bigger ones would need a multipart copy
MAX_COPY_BYTES = 5 * 1024 ** 3
#: keys per ``DeleteObjects`` request (the S3 maximum)
DELETE_BATCH = 1000


def folder(prefix: str) -> str:
    """``attachments_prefix`` as a folder: ``""`` stays ``""``, anything else ends in exactly one ``/``."""
    return prefix.rstrip("/") + "/" if prefix.strip("/") else ""


def list_attachments(client: Any, bucket: str, prefix: str) -> list[tuple[str, str, int]]:
    """``(relpath, key, size)`` of every object under the folder ``prefix``, sorted by relpath."""
    base = folder(prefix)
    out = []
    for o in list_objects(client, bucket, base):
        rel = o["Key"][len(base):].lstrip("/")
        if rel and not o["Key"].endswith("/"):
            out.append((rel, o["Key"], int(o["Size"])))
    return sorted(out)


def member_key(prefix: str, name: str) -> str:
    """The object key of tar member ``name``; refuses names that are not plain relative paths."""
    segments = name.split("/")
    if not name or any(s in ("", ".", "..") for s in segments):
        raise BackupError("refusing tar member %r: not a relative path of plain segments" % name, kind="restore")
    return folder(prefix) + name


def aside_folder(prefix: str, token: str | None = None) -> str:
    """The sibling folder replaced objects move to: ``<prefix>.old-<hex>/``."""
    return "%s.old-%s/" % (prefix.rstrip("/"), token or secrets.token_hex(3))


class _Bounded:
    """At most ``limit`` calls in flight on a thread pool. Leaving the block waits for every call (also on
    failure, so nothing lands after a rollback started) and re-raises the first failure."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._pool = ThreadPoolExecutor(max_workers=self.limit)
        self._inflight: set[Future] = set()

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        while len(self._inflight) >= self.limit:
            done, pending = wait(self._inflight, return_when=FIRST_COMPLETED)
            self._inflight = set(pending)
            for fut in done:
                fut.result()
        self._inflight.add(self._pool.submit(fn, *args))

    def __enter__(self) -> _Bounded:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._pool.shutdown(wait=True)
        if exc_type is None:
            for fut in self._inflight:
                fut.result()


class AttachmentTarget:
    """Restore target ``s3://bucket/<folder>``; the client and settings are those of the backup storage."""

    def __init__(self, client: Any, bucket: str, prefix: str, *, part_size: int = 16 * CHUNK,
                 concurrency: int = 4) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.folder = folder(prefix)
        self.part_size = part_size
        self.concurrency = max(1, concurrency)
        self.aside: str | None = None
        self._aside_written: list[str] = []   # aside keys a copy was attempted for
        self._originals_deleted: list[tuple[str, str]] = []   # (original key, aside key) a delete was attempted for
        self._uploaded: list[str] = []   # keys an upload was attempted for

    @property
    def location(self) -> str:
        return "s3://%s/%s" % (self.bucket, self.folder)

    def existing(self) -> list[tuple[str, str, int]]:
        return list_attachments(self.client, self.bucket, self.prefix)

    def check_replaceable(self, existing: list[tuple[str, str, int]]) -> None:
        """Refuse (before anything changes) what :meth:`move_aside` could not do."""
        if not existing:
            return
        if not self.folder:
            raise BackupError("attachments_prefix is empty and bucket %s holds %d objects: overwrite needs a prefix "
                              "(the replaced objects are moved aside to a sibling prefix)"
                              % (self.bucket, len(existing)), kind="input")
        big = [key for _rel, key, size in existing if size > MAX_COPY_BYTES]
        if big:
            raise BackupError("attachments over 5 GiB cannot be moved aside by a server-side copy: %s; move them "
                              "away by hand first" % ", ".join(big[:5]), kind="input")

    # -- steps of the swap -------------------------------------------------------------------------
    def move_aside(self, existing: list[tuple[str, str, int]]) -> str | None:
        """Copy ``existing`` to a fresh sibling folder, then delete the originals. Returns the sibling folder."""
        if not existing:
            return None
        self.check_replaceable(existing)
        for _attempt in range(5):
            candidate = aside_folder(self.prefix)
            if not list_objects(self.client, self.bucket, candidate):
                break
        else:  # pragma: no cover - five random collisions in a row
            raise BackupError("no free aside prefix next to %s" % self.location, kind="storage")
        self.aside = candidate
        pairs = [(key, candidate + rel) for rel, key, _size in existing]
        with _Bounded(self.concurrency) as pool:
            for src, dst in pairs:
                self._aside_written.append(dst)
                pool.submit(self._copy, src, dst)
        # every object has its copy: only now delete the originals
        self._originals_deleted = pairs
        self._delete([src for src, _dst in pairs])
        return candidate

    def upload_tar(self, tar_path: str) -> TreeDigest:
        """Upload every member of a (verified, local) tar to ``<folder><member>``; returns what was uploaded."""
        tree = TreeDigest()
        with tarfile.open(tar_path, mode="r:") as tar:
            members = [m for m in tar.getmembers() if not m.isdir()]
            for m in members:  # all names checked before the first upload
                if not m.isfile():
                    raise BackupError("refusing tar member %r: not a regular file" % m.name, kind="restore")
                member_key(self.prefix, m.name)
            with _Bounded(self.concurrency) as pool:
                for m in members:
                    key = member_key(self.prefix, m.name)
                    src = tar.extractfile(m)
                    if src is None:  # pragma: no cover - regular files always have a data stream
                        raise BackupError("cannot read tar member %r" % m.name, kind="restore")
                    self._uploaded.append(key)
                    if m.size < self.part_size:  # one PUT, on the pool; memory <= concurrency x part_size
                        data = src.read()
                        pool.submit(self._put, key, data)
                        tree.add(m.name, hashlib.sha256(data).hexdigest(), len(data))
                    else:  # a multipart upload of its own (bounded by its own concurrency)
                        with MultipartWriter(self.client, self.bucket, key, part_size=self.part_size,
                                             concurrency=self.concurrency) as w:
                            copy_stream(src, w)
                        tree.add(m.name, w.result.sha256, w.result.size)  # type: ignore[union-attr]
        return tree

    def read_back(self) -> TreeDigest:
        """The tree digest of what the folder holds now, every object read back and re-hashed.

        Reading back (rather than trusting the hashes of what was sent plus a listing of keys and sizes) also
        catches a store that acknowledged a PUT but keeps other bytes, and any object that appeared under the
        folder from elsewhere — the validation then describes exactly what Odoo will read.
        """
        tree = TreeDigest()
        objs = self.existing()

        def one(rel: str, key: str) -> None:
            size, sha = rehash_object(self.client, self.bucket, key)
            tree.add(rel, sha, size)

        with _Bounded(self.concurrency) as pool:
            for rel, key, _size in objs:
                pool.submit(one, rel, key)
        return tree

    def rollback(self) -> None:
        """Undo: delete what was uploaded, copy the moved objects back, delete the aside copies."""
        if self._uploaded:
            self._delete(self._uploaded)
            self._uploaded = []
        if self._originals_deleted:
            with _Bounded(self.concurrency) as pool:
                for src, dst in self._originals_deleted:
                    pool.submit(self._copy, dst, src)
            self._originals_deleted = []
        self.drop_aside()

    def drop_aside(self) -> None:
        if self._aside_written:
            self._delete(self._aside_written)
            self._aside_written = []

    # -- S3 calls ------------------------------------------------------------------------------------
    def _put(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data)
        except Exception as exc:  # noqa: BLE001 - botocore raises many unrelated types at the network edge
            raise storage_error("put_object (attachments)", key, exc)

    def _copy(self, src: str, dst: str) -> None:
        try:
            self.client.copy_object(Bucket=self.bucket, Key=dst, CopySource={"Bucket": self.bucket, "Key": src})
        except Exception as exc:  # noqa: BLE001
            raise storage_error("copy_object from %s" % src, dst, exc)

    def _delete(self, keys: list[str]) -> None:
        for i in range(0, len(keys), DELETE_BATCH):
            batch = keys[i:i + DELETE_BATCH]
            try:
                resp = self.client.delete_objects(Bucket=self.bucket, Delete={
                    "Objects": [{"Key": k} for k in batch], "Quiet": True})
            except Exception as exc:  # noqa: BLE001
                raise storage_error("delete_objects", batch[0], exc)
            errors = resp.get("Errors") or []
            if errors:
                first = errors[0]
                raise BackupError("S3 delete_objects failed for %d keys, e.g. %s: %s %s" % (
                    len(errors), first.get("Key"), first.get("Code"), first.get("Message")), kind="storage",
                    details={"key": first.get("Key"), "action": "delete_objects"})
