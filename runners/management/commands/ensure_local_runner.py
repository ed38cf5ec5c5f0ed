from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.secrets import secret_digest
from runners.models import Runner
from runners.services import runner_register


class Command(BaseCommand):
    help = (
        "Registers a runner for a user once and keeps its token in DATA_DIR/<name>-runner.token (0600), "
        "so that run.sh can start a local nodeworks-runner beside the server."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", default="admin")
        parser.add_argument("--name", default="local")
        parser.add_argument("--executors", default="local,shell")
        parser.add_argument("--tags", default="")

    def handle(self, *args, user: str, name: str, executors: str, tags: str, **options):
        token_file = Path(settings.DATA_DIR) / f"{name}-runner.token"
        if token_file.exists():
            token = token_file.read_text().strip()
            if Runner.objects.filter(token_digest=secret_digest(token)).exists():
                self.stdout.write(str(token_file))
                return
        owner = get_user_model().objects.filter(username=user).first()
        if owner is None:
            raise CommandError(f"no user {user!r}")
        _, token = runner_register(
            user=owner,
            name=name,
            tags=[tag for tag in tags.split(",") if tag],
            executors=[executor for executor in executors.split(",") if executor],
        )
        token_file.unlink(missing_ok=True)
        token_file.touch(mode=0o600)
        token_file.write_text(token + "\n")
        self.stdout.write(str(token_file))
