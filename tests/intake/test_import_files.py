"""Where an uploaded import file waits for the worker: in the database by default, in an
S3-compatible storage when configured, never in a folder web and worker must share; and
removed once the import is done or has failed."""

from __future__ import annotations

import builtins
import hashlib
import io
import math
import pathlib

import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile

from leads.models import Lead
from smarketing.core.errors import ActionError
from smarketing.intake import files, imports, reading, tasks
from smarketing.intake import run as intake_run
from smarketing.intake.models import ImportFileChunk, ImportJob, ImportStatus, RowOutcome, StoredIn

CSV = "Email,First Name,Company\n" + "".join(f"f{i}@files.example,F{i},Acme\n" for i in range(5))


# A NUL byte past what sniffing looks at (64 KiB), in the second chunk of rows.
BAD_LATER = (
    "Email,First Name,Company\n"
    + "".join(f"l{i}@files.example,L{i},Acme\n" for i in range(3000))
    + "bad@files.example,\x00,Acme\n"
)
assert len(BAD_LATER.split("\x00")[0]) > 64 * 1024


def upload(actor, content: bytes | str, name: str = "contacts.csv") -> ImportJob:
    data = content.encode() if isinstance(content, str) else content
    return imports.import_upload(actor=actor, uploaded=SimpleUploadedFile(name, data))


def start_and_run(job: ImportJob, capture) -> ImportJob:
    """Start the import and run the Celery task it queues, as the worker does."""
    with capture(execute=True):
        imports.import_start(actor=job.created_by, job_id=job.pk)
    return ImportJob.objects.get(pk=job.pk)


def stored_bytes(job: ImportJob) -> bytes:
    return b"".join(bytes(data) for data in job.file_chunks.order_by("index").values_list("data", flat=True))


@pytest.fixture
def no_paths(monkeypatch):
    """Opening a CSV file by name fails: what runs here reads the upload only from the
    database (the run's temporary copy is opened by descriptor, not by name)."""
    real_open, real_path_open = builtins.open, pathlib.Path.open

    def refuse(what, *args, **kwargs):
        if str(what).endswith(".csv"):
            raise AssertionError(f"a CSV file was opened by name: {what}")
        return real_open(what, *args, **kwargs)

    def refuse_path(self, *args, **kwargs):
        refuse(self)
        return real_path_open(self, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(pathlib.Path, "open", refuse_path)


@pytest.fixture
def fetches(monkeypatch):
    """The sizes of the chunks read back from the database, one entry per query."""
    seen: list[int | None] = []
    real = files._DatabaseReader._fetch

    def counted(self, index):
        chunk = real(self, index)
        seen.append(None if chunk is None else len(chunk))
        return chunk

    monkeypatch.setattr(files._DatabaseReader, "_fetch", counted)
    return seen


# --- in the database (the default) --------------------------------------------------------------


def test_an_upload_needs_no_folder_and_the_worker_reads_it_from_the_database(
    org, settings, django_capture_on_commit_callbacks, request
):
    assert not hasattr(settings, "SMARKETING_IMPORT_DIR")
    assert settings.SMARKETING_IMPORT_STORAGE == "database"

    job = upload(org.marketer, CSV)
    assert (job.stored_in, job.stored_path) == (StoredIn.DATABASE, "")
    assert stored_bytes(job) == CSV.encode()
    assert job.sha256 == hashlib.sha256(CSV.encode()).hexdigest() and job.file_size == len(CSV)
    assert (job.headers, job.rows_estimate) == (["Email", "First Name", "Company"], 5)
    assert imports.import_preview(job).counts == {"create": 5, "update": 0, "skip": 0, "fail": 0}

    request.getfixturevalue("no_paths")
    job = start_and_run(job, django_capture_on_commit_callbacks)

    assert (job.status, job.created_count) == (ImportStatus.DONE, 5)
    assert Lead.objects.filter(email__endswith="@files.example").count() == 5
    assert not ImportFileChunk.objects.filter(job=job).exists()  # removed once done


def test_a_large_file_streams_in_and_out_one_chunk_at_a_time(
    org, django_capture_on_commit_callbacks, fetches, monkeypatch
):
    """A 6 MB file is kept as 1 MB rows, and read back one row per query — by the
    preview, which stops after the first rows, and by the run."""
    notes = "x" * 2000  # a wide column no lead field takes
    rows = 3000
    text = "Email,Notes\n" + "".join(f"big{i}@files.example,{notes}\n" for i in range(rows))
    data = text.encode()
    assert len(data) > 5 * 1024 * 1024

    stored: list[int] = []
    real_create = ImportFileChunk.objects.create

    def create(**kwargs):
        stored.append(len(kwargs["data"]))
        return real_create(**kwargs)

    monkeypatch.setattr(ImportFileChunk.objects, "create", create)
    job = upload(org.marketer, data, name="big.csv")
    count = math.ceil(len(data) / files.CHUNK_BYTES)
    assert stored == [files.CHUNK_BYTES] * (count - 1) + [len(data) - (count - 1) * files.CHUNK_BYTES]
    assert list(job.file_chunks.order_by("index").values_list("index", flat=True)) == list(range(count))
    assert hashlib.sha256(stored_bytes(job)).hexdigest() == job.sha256
    assert max(fetches) <= files.CHUNK_BYTES and len(fetches) <= 2  # sniffing read the start only

    fetches.clear()
    preview = imports.import_preview(job, limit=100)
    assert preview.truncated and len(preview.plans) == 100
    assert len(fetches) == 1  # 100 rows are in the first chunk: the rest was never fetched

    fetches.clear()
    job = start_and_run(job, django_capture_on_commit_callbacks)
    assert (job.status, job.created_count) == (ImportStatus.DONE, rows)
    # One query per chunk, and one that finds no more; never more than a chunk at a time.
    assert fetches == [*stored, None]
    assert not ImportFileChunk.objects.filter(job=job).exists()


def test_the_stream_reads_exactly_the_bytes_stored(org):
    data = bytes(range(256)) * 9000  # not text: the store keeps bytes as they came
    job = ImportJob.objects.create(created_by=org.marketer, file_name="raw.bin")
    pieces = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    assert files.file_store(job, pieces) == len(data)
    with files.file_open(job) as stream:
        assert stream.read() == data
    with files.file_open(job, local=True) as copy:
        assert copy.read() == data


# --- removed when done, failed, or refused ------------------------------------------------------


def test_a_file_that_fails_in_a_later_chunk_is_removed_and_the_rows_before_kept(
    org, settings, django_capture_on_commit_callbacks, monkeypatch
):
    job = upload(org.marketer, BAD_LATER)
    job = start_and_run(job, django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.FAILED and "NUL byte" in job.error
    assert job.rows_done == intake_run.CHUNK_ROWS  # the chunk before the bad row
    assert not ImportFileChunk.objects.filter(job=job).exists()


def test_a_refused_file_leaves_neither_job_nor_chunks(org):
    with pytest.raises(ActionError, match="This Excel workbook is damaged"):
        upload(org.marketer, b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 200)
    assert not ImportJob.objects.exists() and not ImportFileChunk.objects.exists()


def test_a_file_larger_than_the_limit_is_refused_while_it_streams_in(org, settings):
    settings.SMARKETING_IMPORT_MAX_MB = 1
    unsized = io.BytesIO(b"Email\n" + b"a@files.example\n" * 140_000)  # 2.2 MB, size unknown
    unsized.name = "big.csv"
    with pytest.raises(ActionError, match="larger than 1 MB"):
        imports.import_upload(actor=org.marketer, uploaded=unsized)
    assert not ImportJob.objects.exists() and not ImportFileChunk.objects.exists()


def test_a_run_whose_file_is_gone_fails_with_a_message(org, django_capture_on_commit_callbacks):
    job = upload(org.marketer, CSV)
    files.file_remove(job)
    with pytest.raises(FileNotFoundError):
        files.file_open(job)
    assert "no longer here" in imports.import_preview(job).error
    job = start_and_run(job, django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.FAILED and "no longer here" in job.error


def test_the_watchdog_resumes_a_run_from_the_file_in_the_database(
    org, settings, monkeypatch, django_capture_on_commit_callbacks
):
    import datetime as dt

    from django.utils import timezone

    monkeypatch.setattr(intake_run, "CHUNK_ROWS", 2)
    job = upload(org.marketer, CSV)
    imports.import_start(actor=org.marketer, job_id=job.pk)
    real, calls = intake_run._run_chunk, {"n": 0}

    def die_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("SIGKILL")
        return real(*args, **kwargs)

    monkeypatch.setattr(intake_run, "_run_chunk", die_on_second)
    with pytest.raises(SystemExit):
        tasks.import_run(job.pk)
    monkeypatch.setattr(intake_run, "_run_chunk", real)
    assert ImportFileChunk.objects.filter(job=job).exists()  # still running: the file stays
    later = timezone.now() + dt.timedelta(seconds=settings.IMPORT_STALLED_AFTER_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert imports.imports_resume_stalled(now=later) == [job.pk]
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.created_count) == (ImportStatus.DONE, 5, 5)
    assert not ImportFileChunk.objects.filter(job=job).exists()


# --- in an S3-compatible storage ----------------------------------------------------------------


@pytest.fixture
def object_storage(settings):
    """SMARKETING_IMPORT_STORAGE=s3, with Django's in-memory storage standing in for the
    bucket behind the same `imports` alias."""
    settings.SMARKETING_IMPORT_STORAGE = "s3"
    settings.STORAGES = {
        **settings.STORAGES,
        files.IMPORTS_STORAGE: {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    return storages[files.IMPORTS_STORAGE]


def test_with_object_storage_the_file_goes_there_and_is_removed_when_done(
    org, object_storage, django_capture_on_commit_callbacks
):
    job = upload(org.marketer, CSV)
    assert job.stored_in == StoredIn.STORAGE and job.stored_path.endswith(".csv")
    assert not ImportFileChunk.objects.exists()
    with object_storage.open(job.stored_path, "rb") as kept:
        assert kept.read() == CSV.encode()
    assert imports.import_preview(job).counts["create"] == 5

    job = start_and_run(job, django_capture_on_commit_callbacks)
    assert (job.status, job.created_count) == (ImportStatus.DONE, 5)
    assert not object_storage.exists(job.stored_path)


def test_with_object_storage_a_refused_or_failed_file_is_removed(
    org, object_storage, settings, django_capture_on_commit_callbacks
):
    with pytest.raises(ActionError, match="The file is empty"):
        upload(org.marketer, b"  \n")
    settings.SMARKETING_IMPORT_MAX_MB = 1
    unsized = io.BytesIO(b"Email\n" + b"a@files.example\n" * 140_000)
    unsized.name = "big.csv"
    with pytest.raises(ActionError, match="larger than 1 MB"):
        imports.import_upload(actor=org.marketer, uploaded=unsized)
    assert object_storage.listdir("") == ([], [])
    assert not ImportJob.objects.exists()

    job = start_and_run(upload(org.marketer, BAD_LATER), django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.FAILED
    assert not object_storage.exists(job.stored_path)


def test_a_job_keeps_being_read_from_where_it_was_stored(
    org, settings, object_storage, django_capture_on_commit_callbacks
):
    """Switching the setting leaves waiting jobs readable: each job knows its place."""
    in_storage = upload(org.marketer, CSV)
    settings.SMARKETING_IMPORT_STORAGE = "database"
    in_database = upload(org.marketer, CSV.replace("f", "g"))
    assert (in_storage.stored_in, in_database.stored_in) == (StoredIn.STORAGE, StoredIn.DATABASE)
    assert start_and_run(in_storage, django_capture_on_commit_callbacks).created_count == 5
    assert start_and_run(in_database, django_capture_on_commit_callbacks).created_count == 5


# --- a job uploaded before files moved out of the shared folder -----------------------------------


def test_a_job_uploaded_to_disk_before_still_imports_and_its_file_is_removed(
    org, tmp_path, django_capture_on_commit_callbacks
):
    """Migration 0004 marks the jobs already there "disk": their file is read from
    `stored_path` as before (on a node that still has it), then removed."""
    path = tmp_path / "0123abcd.csv"
    path.write_bytes(CSV.encode())
    job = ImportJob.objects.create(
        created_by=org.marketer,
        file_name="old.csv",
        stored_in=StoredIn.DISK,
        stored_path=str(path),
        file_size=len(CSV),
        encoding="utf-8",
        delimiter=",",
        headers=["Email", "First Name", "Company"],
        mapping={"Email": "email", "First Name": "first_name", "Company": "company"},
    )
    assert imports.import_preview(job).counts["create"] == 5
    job = start_and_run(job, django_capture_on_commit_callbacks)
    assert (job.status, job.created_count) == (ImportStatus.DONE, 5)
    assert not job.rows.filter(outcome=RowOutcome.FAILED).exists()
    assert not path.exists()


def test_the_migration_marks_the_jobs_already_there_as_on_disk():
    from importlib import import_module

    migration = import_module("smarketing.intake.migrations.0004_import_files").Migration
    added, altered = migration.operations[0], migration.operations[1]
    assert (added.name, added.field.default) == ("stored_in", StoredIn.DISK)
    assert (altered.name, altered.field.default) == ("stored_in", StoredIn.DATABASE)


# --- reading a stream is reading the file ---------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"\xef\xbb\xbfEmail;Name\r\nann@example.com;Zo\xc3\xab\r\n",
        "email,last_name,note\nann@example.com,Müller,5 €\n".encode("cp1252"),
        b"email,last_name\nann@example.com,M\xfcller\x81\n",
        b'"E\nmail",Notes\n"a@b.io","two\nlines"\n\n\nc@d.io,x\n',
        b"Email\n" + b"row@example.com\n" * 10_000,  # longer than the sample
    ],
)
def test_sniff_and_rows_from_a_stream_equal_those_from_the_path(tmp_path, content):
    path = tmp_path / "same.csv"
    path.write_bytes(content)
    fmt = reading.sniff(path, sample_bytes=4096)
    assert reading.sniff(io.BytesIO(content), sample_bytes=4096) == fmt
    assert reading.sniff(_Unsized(content), sample_bytes=4096, size=len(content)) == fmt
    assert list(reading.iter_rows(io.BytesIO(content), fmt)) == list(reading.iter_rows(path, fmt))


class _Unsized(io.RawIOBase):
    """A stream that gives a few bytes per read and cannot seek (as a network body)."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self.data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self.data.read(min(len(buffer), 7))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_an_empty_or_blank_stream_is_refused_as_the_file_is():
    for content, message in [(b"", "The file is empty."), (b" \n" * 5000 + b"x", "must hold column names")]:
        with pytest.raises(reading.ImportFileError, match=message):
            reading.sniff(_Unsized(content), sample_bytes=1024)
