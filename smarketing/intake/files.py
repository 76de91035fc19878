"""Where an import's uploaded file waits for the worker: somewhere every web and worker
node reaches, never a folder they would have to share.

* In the database (the default, `SMARKETING_IMPORT_STORAGE=database`): the bytes in
  ordered `ImportFileChunk` rows of `CHUNK_BYTES`, written as the upload streams in and
  read back one chunk (one query) at a time, so no node holds the whole file in memory.
* In an S3-compatible bucket (`SMARKETING_IMPORT_STORAGE=s3`): the `imports` storage of
  `settings.STORAGES` (django-storages' S3Storage, configured from the environment), under
  a random key kept in `ImportJob.stored_path`.
* On the web server's disk, at `stored_path`: only jobs uploaded before files moved out
  (migration 0004 marks them so). They are read and removed there as before.

Each job records where its file went (`ImportJob.stored_in`), so changing the setting
leaves waiting jobs readable. Three calls, whatever the place: `file_store` when the file
is uploaded, `file_open` to read it (sniffing, the preview, the run) and `file_remove`
once the import is done or has failed.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages

from smarketing.intake.models import ImportFileChunk, ImportJob, StoredIn

__all__ = ["CHUNK_BYTES", "file_open", "file_remove", "file_store"]

# Bytes per database row: large enough that a 100 MB file is 100 rows (a query each when
# read back), small enough that a node holds one or two of them at a time.
CHUNK_BYTES = 1024 * 1024

IMPORTS_STORAGE = "imports"  # the alias in settings.STORAGES when SMARKETING_IMPORT_STORAGE=s3


def file_store(job: ImportJob, chunks: Iterable[bytes]) -> int:
    """Keep the uploaded file of `job` (saved already) from `chunks`, its bytes in order,
    streaming; return its size. Records where it went on the job. An exception from
    `chunks` (a file over the size limit) stops the copy and propagates; the caller then
    calls `file_remove`."""
    if settings.SMARKETING_IMPORT_STORAGE == "s3":
        job.stored_in, job.stored_path = StoredIn.STORAGE, f"{uuid.uuid4().hex}.csv"
        job.save(update_fields=["stored_in", "stored_path"])
        source = _IterableReader(chunks)
        name = storages[IMPORTS_STORAGE].save(job.stored_path, File(io.BufferedReader(source, CHUNK_BYTES)))
        if name != job.stored_path:
            job.stored_path = name
            job.save(update_fields=["stored_path"])
        return source.size
    job.stored_in, job.stored_path = StoredIn.DATABASE, ""
    job.save(update_fields=["stored_in", "stored_path"])
    size = index = 0
    for piece in _pieces(chunks, CHUNK_BYTES):
        ImportFileChunk.objects.create(job=job, index=index, data=piece)
        size += len(piece)
        index += 1
    if index == 0:  # an empty file is one empty chunk: no chunk at all means removed
        ImportFileChunk.objects.create(job=job, index=0, data=b"")
    return size


def file_open(job: ImportJob, *, local: bool = False) -> IO[bytes]:
    """The uploaded file of `job` as a binary stream (close it, or let `reading.iter_rows`
    close it). Raises FileNotFoundError once it has been removed.

    In the database the stream fetches one chunk at a time, on this thread's connection.
    `local=True` is for a reader in a thread of its own (the run's read-ahead), which must
    not touch the database: the chunks are first copied, one at a time, to a temporary
    file on this node, and that file is returned (deleted when closed)."""
    if job.stored_in == StoredIn.DISK:
        return Path(job.stored_path).open("rb")
    if job.stored_in == StoredIn.STORAGE:
        storage = storages[IMPORTS_STORAGE]
        if not storage.exists(job.stored_path):
            raise FileNotFoundError(f"Import {job.pk}: {job.stored_path} is not in the import storage.")
        return io.BufferedReader(_FileReader(storage.open(job.stored_path, "rb")), CHUNK_BYTES)
    stream = io.BufferedReader(_DatabaseReader(job.pk), CHUNK_BYTES)
    if not local:
        return stream
    copy = tempfile.TemporaryFile(prefix=f"smarketing-import-{job.pk}-")  # noqa: SIM115 (returned open)
    try:
        with stream:
            shutil.copyfileobj(stream, copy, CHUNK_BYTES)
        copy.seek(0)
    except BaseException:
        copy.close()
        raise
    return copy


def file_remove(job: ImportJob) -> None:
    """Remove the uploaded file of `job`; nothing happens if it is gone already. In the
    database the chunks go with the caller's transaction."""
    if job.stored_in == StoredIn.DISK:
        if job.stored_path:
            Path(job.stored_path).unlink(missing_ok=True)
    elif job.stored_in == StoredIn.STORAGE:
        if job.stored_path:
            storages[IMPORTS_STORAGE].delete(job.stored_path)
    else:
        ImportFileChunk.objects.filter(job_id=job.pk).delete()


# --- streams ------------------------------------------------------------------------------------


def _pieces(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """`chunks` regrouped into pieces of `size` bytes (the last one shorter)."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


class _DatabaseReader(io.RawIOBase):
    """The chunks of one job's file read in order, one query per chunk (the unique index on
    job and index finds it), only the current chunk in memory."""

    def __init__(self, job_id: int) -> None:
        super().__init__()
        self.job_id = job_id
        self.index = 0
        self.current = self._fetch(0)
        if self.current is None:
            raise FileNotFoundError(f"Import {job_id}: its file is not in the database (removed).")
        self.offset = 0

    def _fetch(self, index: int) -> memoryview | None:
        found = list(
            ImportFileChunk.objects.filter(job_id=self.job_id, index=index).values_list("data", flat=True)[:1]
        )
        return memoryview(found[0]).cast("B") if found else None  # PostgreSQL's is of chars

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self.current is not None and self.offset >= len(self.current):
            self.index += 1
            self.current, self.offset = self._fetch(self.index), 0
        if self.current is None:
            return 0
        count = min(len(buffer), len(self.current) - self.offset)
        buffer[:count] = self.current[self.offset : self.offset + count]
        self.offset += count
        return count

    def close(self) -> None:
        self.current = None
        super().close()


class _FileReader(io.RawIOBase):
    """A storage's file object (anything with `read(n)`) as a raw stream, so that it can be
    buffered and decoded like a local file."""

    def __init__(self, file: Any) -> None:
        super().__init__()
        self.file = file

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.file.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self.file.close()
        super().close()


class _IterableReader(io.RawIOBase):
    """An iterable of byte chunks as a raw stream (what a storage's `save` reads), counting
    the bytes read."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        super().__init__()
        self.chunks = iter(chunks)
        self.pending = b""
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.pending:
            chunk = next(self.chunks, None)
            if chunk is None:
                return 0
            self.pending = chunk
        count = min(len(buffer), len(self.pending))
        buffer[:count] = self.pending[:count]
        self.pending = self.pending[count:]
        self.size += count
        return count
