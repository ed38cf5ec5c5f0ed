"""What a runner sends under a lease besides its result: log chunks and artifacts, fenced like everything else."""

import hashlib
import uuid

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Concat

from nodeworks_server.errors import InvalidInput, TooLarge
from nodeworks_server.storable_text import storable_free_text
from workflows.artifact_files import artifact_path
from workflows.lifecycle.fence import lease_current
from workflows.models import Artifact, TaskLog


def _log_append(log: TaskLog, *, offset: int, chunk: bytes) -> int:
    """Idempotent by offset: bytes below the stored size were received before and are skipped."""
    if offset > log.size:
        raise InvalidInput(f"offset {offset} is past the {log.size} bytes received; send the missing bytes first", field="offset")
    fresh = chunk[log.size - offset :]
    if not fresh:
        return log.size
    room = max(0, settings.MAX_LOG_BYTES - len(log.data.encode("utf-8")))
    # A log is read by people: a NUL (which PostgreSQL text cannot hold) is stored as the visible ␀,
    # a lone surrogate is dropped; `size` still counts the bytes received, so offsets stay the runner's.
    kept = storable_free_text(fresh[:room].decode("utf-8", errors="ignore"))
    truncated = len(fresh) > room
    # Conditional on the size we read, so two concurrent retries of one chunk store it once.
    updated = TaskLog.objects.filter(pk=log.pk, size=log.size).update(
        data=Concat(F("data"), Value(kept)) if kept else F("data"),
        size=F("size") + len(fresh),
        truncated=truncated or log.truncated,
    )
    if not updated:
        log.refresh_from_db()
        return _log_append(log, offset=offset, chunk=chunk)
    return log.size + len(fresh)


@transaction.atomic
def log_append(*, runner_id: int, lease_id: uuid.UUID, offset: int, data: str) -> int:
    task = lease_current(runner_id=runner_id, lease_id=lease_id)
    log, _ = TaskLog.objects.get_or_create(task=task, attempt=task.attempt)
    # surrogatepass: a lone surrogate (valid JSON, not valid Unicode) is counted, then dropped from the text.
    return _log_append(log, offset=offset, chunk=data.encode("utf-8", "surrogatepass"))


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
