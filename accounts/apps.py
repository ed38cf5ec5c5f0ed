from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _create_cache_table(using="default", **kwargs):
    """The database cache's table (settings.CACHES) exists wherever `migrate` ran: run.sh, the test
    databases, a fresh clone. createcachetable skips tables that exist and caches that are not in a database."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        post_migrate.connect(_create_cache_table, sender=self, dispatch_uid="accounts.create_cache_table")
