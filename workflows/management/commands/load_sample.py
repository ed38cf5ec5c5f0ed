from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from workflows.documents import document_from_bytes
from workflows.models import Workflow
from workflows.nodeworks_format import WorkflowFormatError
from workflows.services.publishing import workflow_publish


class Command(BaseCommand):
    help = "Publishes a .nc file as a workflow of a user, unless that user already has a workflow of that name."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--user", default="admin")
        parser.add_argument("--name")

    def handle(self, *args, path: Path, user: str, name: str | None, **options):
        owner = get_user_model().objects.filter(username=user).first()
        if owner is None:
            raise CommandError(f"no user {user!r}")
        name = name or path.stem
        if Workflow.objects.filter(owner=owner, name=name).exists():
            self.stdout.write(f"{user} already has a workflow named {name!r}")
            return
        try:
            document = document_from_bytes(path.read_bytes())
        except (OSError, WorkflowFormatError) as exc:
            raise CommandError(f"{path}: {exc}") from None
        workflow, revision = workflow_publish(user=owner, document=document, name=name, message=f"Sample {path.name}")
        self.stdout.write(f"published {path.name} as workflow {workflow.pk} ({name}) at {revision.sha[:10]}")
