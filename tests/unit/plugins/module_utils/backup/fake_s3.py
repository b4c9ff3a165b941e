"""An in-memory stand-in for the boto3 S3 client (the network edge), for unit tests only."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any


class _Body:
    def __init__(self, data: bytes) -> None:
        self._io = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._io.read(n)

    def iter_chunks(self, size: int):
        while True:
            b = self._io.read(size)
            if not b:
                return
            yield b


class _Paginator:
    def __init__(self, s3: FakeS3) -> None:
        self.s3 = s3

    def paginate(self, Bucket: str, Prefix: str = "") -> Any:
        self.s3._maybe_fail("list", Prefix)
        keys = sorted(k for k in self.s3.objects if k.startswith(Prefix))
        for i in range(0, max(1, len(keys)), 2):  # tiny pages, so callers must follow them
            page = keys[i:i + 2]
            yield {"Contents": [{"Key": k, "Size": len(self.s3.objects[k])} for k in page]} if page else {}


class FakeS3:
    def __init__(self, fail_on_part: int | None = None, fail: Callable[[str, str], None] | None = None) -> None:
        self.objects: dict[str, bytes] = {}
        self.uploads: dict[str, dict[int, bytes]] = {}
        self.aborted: list[str] = []
        self.fail_on_part = fail_on_part
        #: called as ``fail(action, key)`` before every put/copy/delete/list; raise to inject a fault
        self.fail = fail
        self.calls: list[str] = []

    def _maybe_fail(self, action: str, key: str) -> None:
        if self.fail is not None:
            self.fail(action, key)

    def put_object(self, Bucket: str, Key: str, Body: bytes, **_: Any) -> dict:
        self._maybe_fail("put", Key)
        self.calls.append("put")
        self.objects[Key] = bytes(Body)
        return {"ETag": '"x"'}

    def get_paginator(self, name: str) -> _Paginator:
        assert name == "list_objects_v2"
        return _Paginator(self)

    def copy_object(self, Bucket: str, Key: str, CopySource: dict, **_: Any) -> dict:
        self._maybe_fail("copy", Key)
        self.calls.append("copy")
        self.objects[Key] = self.objects[CopySource["Key"]]
        return {}

    def delete_objects(self, Bucket: str, Delete: dict) -> dict:
        errors = []
        for o in Delete["Objects"]:
            try:
                self._maybe_fail("delete", o["Key"])
            except Exception as exc:  # noqa: BLE001 - reported per key, as S3 does
                errors.append({"Key": o["Key"], "Code": "InternalError", "Message": str(exc)})
                continue
            self.calls.append("delete")
            self.objects.pop(o["Key"], None)
        return {"Errors": errors} if errors else {}

    def create_multipart_upload(self, Bucket: str, Key: str, **_: Any) -> dict:
        uid = "u%d" % len(self.uploads)
        self.uploads[uid] = {}
        return {"UploadId": uid}

    def upload_part(self, Bucket: str, Key: str, UploadId: str, PartNumber: int, Body: bytes) -> dict:
        if self.fail_on_part == PartNumber:
            raise ConnectionError("connection reset by peer")
        self.uploads[UploadId][PartNumber] = bytes(Body)
        return {"ETag": '"p%d"' % PartNumber}

    def complete_multipart_upload(self, Bucket: str, Key: str, UploadId: str, MultipartUpload: dict) -> dict:
        parts = self.uploads.pop(UploadId)
        numbers = [p["PartNumber"] for p in MultipartUpload["Parts"]]
        assert numbers == sorted(parts), "parts listed in order"
        self.objects[Key] = b"".join(parts[n] for n in numbers)
        return {}

    def abort_multipart_upload(self, Bucket: str, Key: str, UploadId: str) -> dict:
        self.uploads.pop(UploadId, None)
        self.aborted.append(Key)
        return {}

    def get_object(self, Bucket: str, Key: str, **_: Any) -> dict:
        return {"Body": _Body(self.objects[Key])}

    def head_object(self, Bucket: str, Key: str, **_: Any) -> dict:
        return {"ContentLength": len(self.objects[Key]), "LastModified": dt.datetime.now(dt.UTC)}
