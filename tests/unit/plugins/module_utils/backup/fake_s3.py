"""An in-memory stand-in for the boto3 S3 client (the network edge), for unit tests only."""

from __future__ import annotations

import datetime as dt
import io
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


class FakeS3:
    def __init__(self, fail_on_part: int | None = None) -> None:
        self.objects: dict[str, bytes] = {}
        self.uploads: dict[str, dict[int, bytes]] = {}
        self.aborted: list[str] = []
        self.fail_on_part = fail_on_part
        self.calls: list[str] = []

    def put_object(self, Bucket: str, Key: str, Body: bytes, **_: Any) -> dict:
        self.calls.append("put")
        self.objects[Key] = bytes(Body)
        return {"ETag": '"x"'}

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
