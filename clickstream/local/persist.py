"""Keep the local lake on disk: moto's S3 lives in memory, the data directory does not.

Every object written under raw/ or rejects/ is also written to
``DIR/lake/<bucket>/<key>`` before the PUT returns (write to a temporary
file, fsync, rename), and deletes follow. On start the files are put back
into moto. staged/ is per execution and is not kept: an execution cut off by
a restart is redriven under a new name, which stages again.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from moto.s3.models import S3Backend

KEPT_PREFIXES = ("raw/", "rejects/")


def _path(root: Path, bucket: str, key: str) -> Path:
    path = (root / bucket / key).resolve()
    if not str(path).startswith(str((root / bucket).resolve()) + os.sep):
        raise ValueError(f"key escapes the lake directory: {key!r}")
    return path


def _write_durably(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


def install(root: Path) -> None:
    """Make moto's S3 backend write through to ``root`` (idempotent, process-wide)."""
    root.mkdir(parents=True, exist_ok=True)
    if getattr(S3Backend.put_object, "_clickstream_persist", False):
        S3Backend._clickstream_root = root  # type: ignore[attr-defined]
        return
    S3Backend._clickstream_root = root  # type: ignore[attr-defined]
    original_put: Callable[..., Any] = S3Backend.put_object
    original_delete: Callable[..., Any] = S3Backend.delete_object

    def put_object(self: S3Backend, bucket_name: str, key_name: str, value: bytes, *a: Any, **kw: Any) -> Any:
        if key_name.startswith(KEPT_PREFIXES):
            _write_durably(_path(S3Backend._clickstream_root, bucket_name, key_name), bytes(value))  # type: ignore[attr-defined]
        return original_put(self, bucket_name, key_name, value, *a, **kw)

    def delete_object(self: S3Backend, bucket_name: str, key_name: str, *a: Any, **kw: Any) -> Any:
        result = original_delete(self, bucket_name, key_name, *a, **kw)
        if key_name.startswith(KEPT_PREFIXES):
            _path(S3Backend._clickstream_root, bucket_name, key_name).unlink(missing_ok=True)  # type: ignore[attr-defined]
        return result

    put_object._clickstream_persist = True  # type: ignore[attr-defined]
    put_object._clickstream_original = original_put  # type: ignore[attr-defined]
    S3Backend.put_object = put_object  # type: ignore[method-assign]
    S3Backend.delete_object = delete_object  # type: ignore[method-assign]


def restore(root: Path, bucket: str, backend: S3Backend) -> int:
    """Put every kept object of ``bucket`` back into moto's S3 ``backend``; returns how many.

    Straight into the backend of this process (the server's): no HTTP round trip per object, and
    no write-through (the files are on disk already), so thousands of objects take seconds.
    """
    base = root / bucket
    count = 0
    if not base.exists():
        return 0
    # The files are on disk already: put them with moto's own put_object, not the write-through one
    # (it would rewrite and fsync every file, minutes for a lake of thousands of objects).
    put = getattr(S3Backend.put_object, "_clickstream_original", S3Backend.put_object)
    for path in sorted(base.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        put(backend, bucket, path.relative_to(base).as_posix(), path.read_bytes())
        count += 1
    return count
