"""Artifact files on disk: DATA_DIR/artifacts/<first two hex digits>/<uuid>, a key the server chooses."""

import uuid
from pathlib import Path

from django.conf import settings
from django.http import FileResponse
from rest_framework.negotiation import BaseContentNegotiation

from nodeworks_server.errors import NotFound


def artifact_path(artifact_id: uuid.UUID) -> Path:
    return Path(settings.DATA_DIR) / "artifacts" / str(artifact_id)[:2] / str(artifact_id)


def artifact_files_delete(artifact_ids) -> None:
    for artifact_id in artifact_ids:
        artifact_path(artifact_id).unlink(missing_ok=True)


def artifact_response(artifact, *, as_attachment: bool) -> FileResponse:
    try:
        handle = open(artifact_path(artifact.id), "rb")  # noqa: SIM115 (FileResponse closes it)
    except FileNotFoundError:
        raise NotFound(f"the file of artifact {artifact.id} is missing from the data directory") from None
    response = FileResponse(
        handle, as_attachment=as_attachment, filename=artifact.name, content_type=artifact.content_type
    )
    response["X-Content-SHA256"] = artifact.sha256
    return response


class AnyAcceptNegotiation(BaseContentNegotiation):
    """A download is answered whatever the client's Accept header says; errors are JSON."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
