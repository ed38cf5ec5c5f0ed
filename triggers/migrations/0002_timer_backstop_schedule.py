"""A django-q2 schedule that fires due timers every minute (triggers.services.timers_fire_due).

The timer loop in the cluster's workers (triggers/timer_loop.py) fires them within a second; this
schedule only catches up should no loop be running. Both claim each fire conditionally, so a fire
is never taken twice."""

from django.db import migrations
from django.utils import timezone

NAME = "fire due timers (backstop)"
FUNC = "triggers.services.timers_fire_due"
MINUTES = "I"  # Schedule.MINUTES; historical models carry no class constants


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    if Schedule.objects.filter(name=NAME).exists() or Schedule.objects.filter(func=FUNC).exists():
        return
    Schedule.objects.create(
        name=NAME, func=FUNC, schedule_type=MINUTES, minutes=1, repeats=-1, next_run=timezone.now()
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME, func=FUNC).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("triggers", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
