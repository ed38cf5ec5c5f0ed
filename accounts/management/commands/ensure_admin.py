import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Creates the superuser `admin` once, with a random password saved (0600) under the data directory."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        password_file = Path(settings.DATA_DIR) / f"{username}-password.txt"
        user_model = get_user_model()
        if user_model.objects.filter(username=username).exists():
            self.stdout.write(f"admin user {username!r} exists; its first password is in {password_file}")
            return
        password = secrets.token_urlsafe(12)
        user_model.objects.create_superuser(username=username, email=f"{username}@localhost", password=password)
        password_file.touch(mode=0o600)
        password_file.write_text(password + "\n")
        self.stdout.write(f"created admin user {username!r}, password {password} (saved in {password_file})")
