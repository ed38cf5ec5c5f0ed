"""The django-q2 schedule that reaps expired leases every minute (runners.services.lease_reap)."""

from django.db import migrations
from django.utils import timezone

NAME = "reap expired leases"
FUNC = "runners.services.lease_reap"
MINUTES = "I"  # Schedule.MINUTES; historical models carry no class constants


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    # Idempotent, and an operator's own schedule of the reaper (under any name) is left as it is.
    if Schedule.objects.filter(name=NAME).exists() or Schedule.objects.filter(func=FUNC).exists():
        return
    Schedule.objects.create(
        name=NAME, func=FUNC, schedule_type=MINUTES, minutes=1, repeats=-1, next_run=timezone.now()
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME, func=FUNC).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("runners", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
