"""What a runner sends under a lease besides its result: log chunks and artifacts, fenced like everything else."""

import hashlib
import uuid

from django.conf import settings
from django.db import transaction
from django.db.models import F, Func, IntegerField, Q, Value
from django.db.models.functions import Concat

from nodeworks_server.errors import InvalidInput, TooLarge
from nodeworks_server.storable_text import storable_free_text
from workflows.artifact_files import artifact_path
from workflows.lifecycle.fence import lease_current
from workflows.models import Artifact, TaskLog


class _StoredBytes(Func):
    """The UTF-8 size of a text column, computed by the database (the text itself is never loaded)."""

    function = "octet_length"
    output_field = IntegerField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="length(CAST(%(expressions)s AS BLOB))", **extra_context)


def _log_append(log_id: int, *, offset: int, chunk: bytes) -> int:
    """Idempotent by offset: bytes below the stored size were received before and are skipped.

    Reads the log's size, flag and stored byte count, not its text: a long log is not re-read and
    re-encoded for every chunk; the database appends."""
    while True:
        size, truncated, stored = TaskLog.objects.filter(pk=log_id).values_list("size", "truncated", _StoredBytes("data")).get()
        if offset > size:
            raise InvalidInput(f"offset {offset} is past the {size} bytes received; send the missing bytes first", field="offset")
        fresh = chunk[size - offset :]
        if not fresh:
            return size
        room = max(0, settings.MAX_LOG_BYTES - stored)
        # A log is read by people: a NUL (which PostgreSQL text cannot hold) is stored as the visible ␀,
        # a lone surrogate is dropped; `size` still counts the bytes received, so offsets stay the runner's.
        kept = storable_free_text(fresh[:room].decode("utf-8", errors="ignore"))
        # Conditional on the size we read, so two concurrent retries of one chunk store it once.
        updated = TaskLog.objects.filter(pk=log_id, size=size).update(
            data=Concat(F("data"), Value(kept)) if kept else F("data"),
            size=F("size") + len(fresh),
            truncated=truncated or len(fresh) > room,
        )
        if updated:
            return size + len(fresh)


@transaction.atomic
def log_append(*, runner_id: int, lease_id: uuid.UUID, offset: int, data: str) -> int:
    task = lease_current(runner_id=runner_id, lease_id=lease_id)
    log, _ = TaskLog.objects.only("pk").get_or_create(task=task, attempt=task.attempt)
    # surrogatepass: a lone surrogate (valid JSON, not valid Unicode) is counted, then dropped from the text.
    return _log_append(log.pk, offset=offset, chunk=data.encode("utf-8", "surrogatepass"))


def artifact_store(*, runner_id: int, lease_id: uuid.UUID, name: str, upload, content_type: str) -> Artifact:
    """Streams the upload to a server-chosen path, hashing as it goes; nothing is kept on any failure."""
    task = lease_current(runner_id=runner_id, lease_id=lease_id)
    artifact_id = uuid.uuid4()
    path = artifact_path(artifact_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    try:
        with open(path, "xb") as out:
            for chunk in upload.chunks():
                size += len(chunk)
                if size > settings.MAX_ARTIFACT_BYTES:
                    raise TooLarge(f"artifact exceeds the limit of {settings.MAX_ARTIFACT_BYTES} bytes")
                digest.update(chunk)
                out.write(chunk)
        with transaction.atomic():
            lease_current(runner_id=runner_id, lease_id=lease_id)  # still current after a long upload?
            return Artifact.objects.create(
                id=artifact_id,
                task=task,
                owner_id=task.owner_id,
                attempt=task.attempt,
                runner_id=runner_id,
                name=name,
                size=size,
                sha256=digest.hexdigest(),
                content_type=content_type or "application/octet-stream",
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def artifact_for_runner(*, owner_ids: tuple[int, ...] | None, artifact_id: uuid.UUID) -> Artifact | None:
    """Upstream artifacts a runner may fetch: those of owners whose tasks it may take (None: anyone's)."""
    owners = Q() if owner_ids is None else Q(owner_id__in=owner_ids)
    return Artifact.objects.filter(owners, pk=artifact_id).first()
