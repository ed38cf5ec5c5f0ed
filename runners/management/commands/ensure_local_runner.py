from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.secrets import secret_digest
from runners.models import Runner
from runners.services import runner_register, runners_share_with_all


class Command(BaseCommand):
    help = (
        "Registers a runner for a user once and keeps its token in DATA_DIR/<name>-runner.token (0600), "
        "so that run.sh can start a local nodeworks-runner beside the server. With --shared-with-all "
        "the runner (of a staff user) takes every user's tasks."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", default="admin")
        parser.add_argument("--name", default="local")
        parser.add_argument("--executors", default="local,shell")
        parser.add_argument("--tags", default="")
        parser.add_argument(
            "--shared-with-all",
            action="store_true",
            help="serve every user's workflows (honoured only for a staff user's runner, as in the admin action)",
        )

    def handle(self, *args, user: str, name: str, executors: str, tags: str, shared_with_all: bool, **options):
        token_file = Path(settings.DATA_DIR) / f"{name}-runner.token"
        runner = None
        if token_file.exists():
            token = token_file.read_text().strip()
            runner = Runner.objects.filter(token_digest=secret_digest(token)).first()
        if runner is None:
            owner = get_user_model().objects.filter(username=user).first()
            if owner is None:
                raise CommandError(f"no user {user!r}")
            runner, token = runner_register(
                user=owner,
                name=name,
                tags=[tag for tag in tags.split(",") if tag],
                executors=[executor for executor in executors.split(",") if executor],
            )
            token_file.unlink(missing_ok=True)
            token_file.touch(mode=0o600)
            token_file.write_text(token + "\n")
        if shared_with_all and not runner.shared_with_all:
            if not runner.owner.is_staff:
                raise CommandError(f"only runners of staff users can be shared: {runner.owner.username} is not staff")
            runners_share_with_all(runners=Runner.objects.filter(pk=runner.pk))
        self.stdout.write(str(token_file))
