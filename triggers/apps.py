from django.apps import AppConfig


class TriggersConfig(AppConfig):
    name = "triggers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # django-q2's own scheduler looks at its schedules every 30 s with a one-minute floor, too coarse
        # for a timer that must fire within 2 s: each worker of the cluster offers to run the timer loop
        # (triggers/timer_loop.py), and one of them per host holds it.
        from django_q.signals import post_spawn

        from triggers.timer_loop import start_in_worker

        post_spawn.connect(start_in_worker, dispatch_uid="triggers.timer_loop")
